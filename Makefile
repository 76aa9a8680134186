# nodelet: a Kubernetes node agent in C.
#   make                 build/nodelet
#   make test            build and run every test (unit, manifest corpus, fuzz corpus replay, CLI)
#   make test SANITIZE=1 the same under -fsanitize=address,undefined (build goes to build-san/)
#   make fuzz            bounded libFuzzer runs (clang), FUZZ_SECONDS each (default 60)
#   make check           what CI runs: `make test`, then `make test SANITIZE=1`
#   make test-hardening  faults, hostile input, CVE regressions (tests/hardening/, root, slow)
#   make WERROR=1        warnings are errors (on when CI=true)

CC ?= gcc
PKGS := libcurl yaml-0.1 jansson libsystemd libseccomp libssl libcrypto libarchive zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lm

BUILD ?= build
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wmissing-prototypes \
          -Wstrict-prototypes -fno-strict-aliasing -D_GNU_SOURCE $(PKG_CFLAGS)
ifeq ($(CI),true)
WERROR := 1
endif
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
# The usual hardening of a root daemon: stack protector, fortified libc calls, a PIE with full
# RELRO (tests/cli/hardening-flags.sh checks the binaries). Not under the sanitizers, which
# replace what fortify checks.
HARDEN_CFLAGS := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),1)
BUILD := build-san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fstack-protector-strong
LDFLAGS += -fsanitize=address,undefined
else
CFLAGS += $(HARDEN_CFLAGS)
LDFLAGS += $(HARDEN_LDFLAGS)
endif
CPPFLAGS += -I.
DEPFLAGS = -MMD -MP

PREFIX ?= /usr/local

COMMON_SRC := $(wildcard common/*.c)
PODSPEC_SRC := $(wildcard podspec/*.c)
CRI_SRC := $(wildcard cri/*.c)
IMAGE_SRC := $(wildcard cri/image/*.c)
PROBES_SRC := $(wildcard probes/*.c)
AGENT_SRC := $(wildcard agent/*.c agent/*/*.c)
SHIM_SRC := $(wildcard cri/shim/*.c)
STREAM_SRC := $(wildcard stream/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_COMMON := $(BUILD)/libnlcommon.a
LIB_PODSPEC := $(BUILD)/libpodspec.a
LIB_CRI := $(if $(CRI_SRC),$(BUILD)/libcri.a)
# The image service (cri/image/): needs only common/, so it links on its own, after libcri.
LIB_IMAGE := $(BUILD)/libimage.a
LIB_PROBES := $(if $(PROBES_SRC),$(BUILD)/libprobes.a)
# kubectl exec/attach/port-forward wire protocols (SPDY, WebSocket): pure, on common/ only.
LIB_STREAM := $(BUILD)/libstream.a
# The daemon's and CLI's code but main(), so tests can link it.
LIB_AGENT := $(BUILD)/libagent.a
# Link order: dependents first (agent -> probes -> cri -> cri/image, podspec -> common;
# stream -> common).
LIBS := $(LIB_AGENT) $(LIB_PROBES) $(LIB_CRI) $(LIB_IMAGE) $(LIB_PODSPEC) $(LIB_STREAM) $(LIB_COMMON)

NODELET := $(BUILD)/nodelet
SHIM := $(BUILD)/nodelet-shim

# What test files share (tests/lib/): linked into the test binaries, never into the product.
TESTLIB_SRC := $(wildcard tests/lib/*.c)
LIB_TEST := $(BUILD)/libnltest.a
UNIT_SRC := $(filter-out tests/unit/test-main.c,$(wildcard tests/unit/test-*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Integration tests: real registries, real containers; need root and tests/fixtures/deps.sh.
INTEG_SRC := $(wildcard tests/image/test-*.c tests/runtime/test-*.c)
INTEG_BIN := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(INTEG_SRC)))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%-replay,$(FUZZ_SRC))

.PHONY: all check test unit-test fuzz-replay cli-test fuzz clean install format
all: $(NODELET) $(SHIM)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB_COMMON): $(call obj,$(COMMON_SRC))
$(LIB_PODSPEC): $(call obj,$(PODSPEC_SRC))
$(BUILD)/libcri.a: $(call obj,$(CRI_SRC))
$(LIB_IMAGE): $(call obj,$(IMAGE_SRC))
$(LIB_AGENT): $(call obj,$(filter-out agent/cli/main.c,$(AGENT_SRC)))
$(LIB_TEST): $(call obj,$(TESTLIB_SRC))
$(BUILD)/libprobes.a: $(call obj,$(PROBES_SRC))
$(LIB_STREAM): $(call obj,$(STREAM_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(NODELET): $(BUILD)/agent/cli/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The per-container monitor: its own files, the log writer and common/ only (no curl, no
# libsystemd...), so each running container costs little memory.
$(SHIM): $(call obj,$(SHIM_SRC) cri/log-writer.c cri/console.c) $(LIB_COMMON)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/test-%: $(BUILD)/tests/unit/test-%.o $(BUILD)/tests/unit/test-main.o $(LIB_TEST) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/test-%: $(BUILD)/tests/image/test-%.o $(BUILD)/tests/unit/test-main.o $(LIB_TEST) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Runtime tests run real containers through the shim next to them ($(BUILD)/nodelet-shim).
$(BUILD)/tests/test-%: $(BUILD)/tests/runtime/test-%.o $(BUILD)/tests/unit/test-main.o $(LIB_TEST) $(LIBS) | $(SHIM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The probe tests' gRPC health server (HTTP/2 over libnghttp2, tests/fixtures/deps.sh); only it
# links nghttp2.
$(BUILD)/tests/grpc-health-server: tests/fixtures/grpc-health-server.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lnghttp2
$(BUILD)/tests/test-probes: | $(BUILD)/tests/grpc-health-server

# The streaming fixture: the kubelet's exec/attach/portForward endpoints over plain TCP through
# stream/, with a fake container, for client-go in tests/stream/interop.sh.
STREAM_SERVER := $(BUILD)/tests/stream-test-server
$(STREAM_SERVER): $(BUILD)/tests/fixtures/stream-test-server.o $(LIB_STREAM) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# A systemd-logind stand-in on a private bus for the graceful node shutdown test
# (tests/hardening/shutdown.sh): Inhibit, InhibitDelayMaxUSec, PrepareForShutdown on a signal.
FAKE_LOGIND := $(BUILD)/tests/fake-logind
$(FAKE_LOGIND): tests/fixtures/fake-logind.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) $(PKG_LIBS)

# Fuzz targets replay their committed corpus through a plain main() (tests/fuzz/replay.c).
$(BUILD)/tests/fuzz-%-replay: $(BUILD)/tests/fuzz/fuzz-%.o $(BUILD)/tests/fuzz/replay.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The include graph against docs/design.md's rules runs with the unit tests.
INCLUDE_CHECK := tests/include-graph.sh

unit-test: $(UNIT_BIN)
	@tests/run-tests.sh unit $(UNIT_BIN) $(INCLUDE_CHECK)

fuzz-replay: $(FUZZ_REPLAY)
	@tests/run-tests.sh fuzz $(FUZZ_REPLAY)

cli-test: $(NODELET)
	@for t in tests/cli/*.sh; do NODELET=$(abspath $(NODELET)) $$t || exit 1; done

test: $(NODELET) $(SHIM) $(UNIT_BIN) $(INTEG_BIN) $(FUZZ_REPLAY) $(STREAM_SERVER)
	@tests/run-tests.sh all $(UNIT_BIN) $(INCLUDE_CHECK) $(INTEG_BIN) -- $(FUZZ_REPLAY) -- $(abspath $(NODELET))

# client-go against stream/ (tests/stream/interop.sh; `make test` runs it too, skipping without Go)
.PHONY: stream-interop
stream-interop: $(STREAM_SERVER)
	@tests/run-tests.sh stream $(abspath $(STREAM_SERVER))

check:
	$(MAKE) test
	$(MAKE) test SANITIZE=1

# The node conformance scenarios (docs/conformance.md) in static-pod mode, through one daemon on
# a throw-away node: reports in build/conformance/. SLOW=1 adds the long probe observations,
# RUNTIME=runc runs them through runc. Needs root.
.PHONY: conformance
conformance: $(NODELET) $(SHIM)
	tests/conformance/run.sh --nodelet $(abspath $(NODELET)) $(if $(filter 1,$(SLOW)),,--skip-slow) $(if $(RUNTIME),--runtime $(RUNTIME))

# Faults, hostile input and CVE regressions through the daemon and the CLI (docs/reliability.md):
# tests/hardening/*.sh on throw-away nodes, and tests/hardening/test-*.c if any. Needs root;
# not part of `make test` (it takes minutes). HARD_PODS sets the pods of the SIGKILL test (100).
HARD_SRC := $(wildcard tests/hardening/test-*.c)
HARD_BIN := $(patsubst tests/hardening/%.c,$(BUILD)/tests/hard-%,$(HARD_SRC))
$(BUILD)/tests/hard-%: $(BUILD)/tests/hardening/%.o $(LIB_TEST) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
.PHONY: test-hardening
test-hardening: $(NODELET) $(SHIM) $(BUILD)/tests/hard-mkimage $(HARD_BIN) $(FAKE_LOGIND)
	@tests/run-tests.sh hardening $(HARD_BIN) -- $(abspath $(NODELET))

# Benchmarks (bench/run.sh): pod start/teardown latency beside crun/runc run and podman kube
# play, density, pull throughput, a profile; prints a table and writes docs/performance.md and
# its chart. Root, ~20 minutes, installs what it needs (apt-get). Figures never fail a build;
# not part of `make test`. BENCH_QUICK=1 is a short smoke run writing build/bench/ instead.
.PHONY: bench
bench: $(NODELET) $(SHIM)
	bench/run.sh

# Cluster mode end to end (tests/cluster/cluster.sh; streaming.sh: exec, attach, cp,
# port-forward through kubectl; pod-updates.sh, ephemeral.sh, resize.sh, shutdown.sh,
# admission.sh, eviction.sh, bootstrap.sh; kubeadm.sh: the files the real kubeadm writes for a
# node, and cgroupDriver systemd): builds or reuses the real kube-apiserver, etcd and kubectl
# (tests/cluster/build-control-plane.sh, cached in /var/cache), starts them on loopback and runs
# the daemon as a node against them. Root, Go.
.PHONY: test-cluster
test-cluster: $(NODELET) $(SHIM) $(FAKE_LOGIND)
	NODELET=$(abspath $(NODELET)) tests/cluster/cluster.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/streaming.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/pod-updates.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/ephemeral.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/resize.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/shutdown.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/admission.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/eviction.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/bootstrap.sh
	NODELET=$(abspath $(NODELET)) tests/cluster/kubeadm.sh

# The upstream Kubernetes e2e suite's [NodeConformance] tests against one nodelet node
# (tests/e2e/run.sh, docs/conformance.md): builds e2e.test, the control plane with
# kube-controller-manager and kube-scheduler, and the test images once (cached in /var/cache),
# then runs the focus; reports in build/e2e/. E2E_FOCUS / E2E_SKIP change the focus. Root.
# `make e2e-ci` runs the subset of tests/e2e/ci-focus.txt (about 10 minutes here).
.PHONY: e2e e2e-ci
e2e: $(NODELET) $(SHIM)
	tests/e2e/deps.sh
	NODELET=$(abspath $(NODELET)) tests/e2e/run.sh
e2e-ci: $(NODELET) $(SHIM)
	tests/e2e/deps.sh
	NODELET=$(abspath $(NODELET)) E2E_SUBSET=ci tests/e2e/run.sh

# Bounded coverage-guided fuzzing with clang's libFuzzer; findings land in build-fuzz/.
FUZZ_SECONDS ?= 60
fuzz:
	@tests/fuzz/run-libfuzzer.sh $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=]: the binaries, the systemd unit, the man page,
# the node preparation script, a documented config (kept if one is there), the examples.
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: $(NODELET) $(SHIM)
	install -D -m 0755 $(NODELET) $(DESTDIR)$(PREFIX)/bin/nodelet
	install -D -m 0755 $(SHIM) $(DESTDIR)$(PREFIX)/bin/nodelet-shim
	install -D -m 0755 deploy/prepare-node.sh $(DESTDIR)$(PREFIX)/sbin/nodelet-prepare-node
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SBINDIR@|$(PREFIX)/sbin|g' deploy/nodelet.service.in \
		>$(DESTDIR)$(UNITDIR)/nodelet.service
	install -d $(DESTDIR)$(PREFIX)/share/nodelet/kubeadm
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SBINDIR@|$(PREFIX)/sbin|g' deploy/kubeadm/20-nodelet.conf.in \
		>$(DESTDIR)$(PREFIX)/share/nodelet/kubeadm/20-nodelet.conf
	install -D -m 0644 docs/nodelet.8 $(DESTDIR)$(PREFIX)/share/man/man8/nodelet.8
	install -D -m 0644 deploy/cni/10-nodelet.conflist $(DESTDIR)$(PREFIX)/share/nodelet/cni/10-nodelet.conflist
	install -d $(DESTDIR)$(PREFIX)/share/nodelet/examples $(DESTDIR)$(SYSCONFDIR)/nodelet/manifests
	install -m 0644 deploy/examples/*.yaml $(DESTDIR)$(PREFIX)/share/nodelet/examples/
	[ -e $(DESTDIR)$(SYSCONFDIR)/nodelet/config.yaml ] || \
		install -D -m 0644 deploy/config.yaml $(DESTDIR)$(SYSCONFDIR)/nodelet/config.yaml
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/nodelet ] || \
		install -D -m 0644 deploy/nodelet.env $(DESTDIR)$(SYSCONFDIR)/default/nodelet

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
.SECONDARY:
