#!/usr/bin/env bash
# The upstream Kubernetes e2e suite's [NodeConformance] tests against one nodelet node
# (`make e2e`; docs/conformance.md). Builds what it needs once (tests/cluster/
# build-control-plane.sh: e2e.test, ginkgo, the control plane with kube-controller-manager
# and kube-scheduler; tests/e2e/images.sh: the test images), starts the control plane on
# loopback (tests/cluster/control-plane.sh, CP_CONTROLLERS=1), local registries with the test
# images, joins build/nodelet as node nodelet-e2e with the node's own credentials, and runs
# e2e.test. Everything it starts is stopped and removed at the end, also on failure.
#
# Env: E2E_FOCUS  ginkgo focus regexp          [\[NodeConformance\]]
#      E2E_SKIP   ginkgo skip regexp           [\[Serial\]|\[Slow\]|\[Disruptive\]|\[Flaky\]|
#                                               \[Feature:|\[Alpha\]|\[Beta\]]
#                 tests/e2e/skip.txt is always added (E2E_NO_SKIPLIST=1: not)
#      E2E_SUBSET=ci  the focus is tests/e2e/ci-focus.txt (`make e2e-ci`)
#      E2E_PROCS  ginkgo processes             [the machine's cores]
#      E2E_OUT    reports and logs             [build/e2e; the CI subset: build/e2e/ci]
#      E2E_DRY_RUN=1  list the tests of the focus, run nothing
#      NODELET    the daemon                   [build/nodelet]
# Output: a line per finished test; E2E_OUT/junit_01.xml (ginkgo's JUnit), E2E_OUT/e2e.log
# (ginkgo's verbose output), E2E_OUT/nodelet.log (the daemon), E2E_OUT/summary.txt; the last
# line is "e2e: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
here=$top/tests/e2e

log() { echo "e2e: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (containers, the node's network)"
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || die "needs go (/usr/local/go/bin) to build e2e.test"

NODELET=${NODELET:-$top/build/nodelet}
OUT=${E2E_OUT:-$top/build/e2e}
[ "${E2E_SUBSET:-}" != ci ] || OUT=${E2E_OUT:-$top/build/e2e/ci}
FOCUS=${E2E_FOCUS:-'\[NodeConformance\]'}
LABELS=
if [ "${E2E_SUBSET:-}" = ci ] && [ -z "${E2E_FOCUS:-}" ]; then
	# one regexp per line, joined; ginkgo's NodeConformance label keeps them inside the focus
	FOCUS=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$here/ci-focus.txt" | paste -sd'|')
	LABELS=NodeConformance
fi
SKIP=${E2E_SKIP:-'\[Serial\]|\[Slow\]|\[Disruptive\]|\[Flaky\]|\[Feature:|\[Alpha\]|\[Beta\]'}
PROCS=${E2E_PROCS:-$(nproc)}
# our own node name, bridge and subnet: other suites (cluster.sh: nlclus, 10.99.12.0/24) may
# run on this machine at the same time
NODE=nodelet-e2e
BRIDGE=nle2e0
SUBNET=10.99.18.0/24
# The node's InternalIP: the host side of its pod bridge. The API server refuses to proxy to a
# loopback node address (logs, exec, proxy go through it), and this address is on a network
# this script makes and removes.
NODE_IP=10.99.18.1

if [ -n "${E2E_NO_SKIPLIST:-}" ]; then
	skiplist=
else
	skiplist=$(sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]\+#.*$//' "$here/skip.txt" | paste -sd'|')
fi
BASE_SKIP=$SKIP
[ -z "$skiplist" ] || SKIP="$SKIP|$skiplist"

t_build=$(date +%s)
CP_BIN=$(tests/cluster/build-control-plane.sh kube-apiserver kubectl etcd kube-controller-manager kube-scheduler e2e.test ginkgo)
E2E_TEST=$CP_BIN/e2e.test
GINKGO=$CP_BIN/ginkgo
mkdir -p "$OUT"

# list_tests SKIP: the names of the tests the focus selects, SKIP left out
list_tests() {
	"$E2E_TEST" --ginkgo.dry-run --ginkgo.v --ginkgo.no-color --ginkgo.silence-skips --ginkgo.focus="$FOCUS" \
		--ginkgo.skip="$1" --ginkgo.label-filter="$LABELS" --provider=local 2>/dev/null |
		awk '/^------------------------------$/ { getline; print }' | grep -v '^\[Report\|^\[Synchronized\|^$' | sort
}
if [ -n "${E2E_DRY_RUN:-}" ]; then
	list_tests "$SKIP"
	exit 0
fi
# "in focus": what the focus and the label skips select, before tests/e2e/skip.txt
in_focus=$(list_tests "$BASE_SKIP" | wc -l)
LAYOUT=$(tests/e2e/images.sh build)
[ -x "$NODELET" ] || die "$NODELET missing: make -j2 first"
log "built or found everything in $(($(date +%s) - t_build)) s"

T=$(mktemp -d /tmp/nodelet-e2e-XXXXXX)
CP=$T/cp
DAEMON_PID=
E2E_PID=
NODE_ARGS=()

# --- cleanup: everything this run started ---------------------------------------------------
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$E2E_PID" ] && kill -TERM -- "-$E2E_PID" 2>/dev/null && sleep 2 && kill -KILL -- "-$E2E_PID" 2>/dev/null
	stop_daemon
	# the daemon, without the API server, takes every pod down (orphan cleanup) and its
	# containers, mounts and network with them
	if [ ${#NODE_ARGS[@]} -gt 0 ] && [ -d "$T/root/pods" ] && [ -n "$(ls -A "$T/root/pods" 2>/dev/null)" ]; then
		"$NODELET" run "${NODE_ARGS[@]}" >>"$T/cleanup.log" 2>&1 &
		DAEMON_PID=$!
		for _ in $(seq 120); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
		stop_daemon
	fi
	[ -f "$T/daemon.log" ] && cp "$T/daemon.log" "$OUT/nodelet.log"
	for f in apiserver controller-manager scheduler etcd; do
		[ -f "$CP/$f.log" ] && cp "$CP/$f.log" "$OUT/$f.log"
	done
	local m
	for m in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$m"; done
	ip link del "$BRIDGE" 2>/dev/null
	tests/fixtures/registry.sh stop --dir "$T/reg" >/dev/null 2>&1
	tests/fixtures/registry.sh stop --dir "$T/reg-auth" >/dev/null 2>&1
	tests/cluster/control-plane.sh stop "$CP" >/dev/null 2>&1
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

free_port() { local p=$1; while [ -n "$(ss -Htln "sport = :$p")" ]; do p=$((p + 1)); done; echo "$p"; }

# --- control plane ----------------------------------------------------------------------------
t0=$(date +%s)
log "control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)"
CP_CONTROLLERS=1 NODE_NAME=$NODE tests/cluster/control-plane.sh start "$CP" 2>"$T/cp-start.log" ||
	{ tail -30 "$T/cp-start.log" >&2; die "control plane did not start"; }
# shellcheck disable=SC1091
. "$CP/env"
k() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# --- registries with the test images ----------------------------------------------------------
REG_PORT=$(free_port 15610)
tests/fixtures/registry.sh start --port "$REG_PORT" --dir "$T/reg" >"$T/reg.log" 2>&1 ||
	{ cat "$T/reg.log" >&2; die "registry did not start"; }
REG_AUTH_PORT=$(free_port $((REG_PORT + 1)))
tests/fixtures/registry.sh start --auth basic --port "$REG_AUTH_PORT" --dir "$T/reg-auth" >>"$T/reg.log" 2>&1 ||
	{ cat "$T/reg.log" >&2; die "registry with auth did not start"; }
tests/e2e/images.sh push "$LAYOUT" "127.0.0.1:$REG_PORT"
tests/e2e/images.sh push "$LAYOUT" "127.0.0.1:$REG_AUTH_PORT" nodelet:s3cret
# The registries of test/utils/image/manifest.go, mapped to ours. privateRegistry is the one
# with auth; invalidRegistry a repository nothing was pushed to (pulls fail, as the tests
# want); the rest the plain one. Images the tests name that were not built fail to pull.
cat >"$T/repo-list.yaml" <<EOF
promoterE2eRegistry: 127.0.0.1:$REG_PORT/e2e-test-images
buildImageRegistry: 127.0.0.1:$REG_PORT/build-image
invalidRegistry: 127.0.0.1:$REG_PORT/invalid
gcEtcdRegistry: 127.0.0.1:$REG_PORT
gcRegistry: 127.0.0.1:$REG_PORT
sigStorageRegistry: 127.0.0.1:$REG_PORT/sig-storage
privateRegistry: 127.0.0.1:$REG_AUTH_PORT/k8s-authenticated-test
dockerLibraryRegistry: 127.0.0.1:$REG_PORT/library
cloudProviderGcpRegistry: 127.0.0.1:$REG_PORT/cloud-provider-gcp
EOF

# --- the node ---------------------------------------------------------------------------------
deploy/prepare-node.sh --quiet >"$T/prepare-node.log" 2>&1 || { cat "$T/prepare-node.log" >&2; die "deploy/prepare-node.sh failed"; }
ip link del "$BRIDGE" 2>/dev/null || true
ip link add "$BRIDGE" type bridge
ip addr add "$NODE_IP/${SUBNET#*/}" dev "$BRIDGE"
ip link set "$BRIDGE" up
mkdir -p "$T/cni" "$T/manifests"
cat >"$T/cni/10-e2e.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "nle2e", "plugins": [
 {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET", "gateway": "$NODE_IP"}]], "dataDir": "$T/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
# the node server's certificate, for the address the API server dials
openssl genrsa -out "$T/kubelet.key" 2048 2>/dev/null
openssl req -new -key "$T/kubelet.key" -subj "/CN=$NODE" 2>/dev/null |
	openssl x509 -req -CA "$CA_CERT" -CAkey "$CP_DIR/pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" -days 2 -sha256 \
		-extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:%s,IP:127.0.0.1,DNS:%s\n' "$NODE_IP" "$NODE") \
		-out "$T/kubelet.crt" 2>/dev/null
# 10250 as a kubelet's when it is free: the e2e framework's failure dumps ask the node through
# the API server's proxy at NODE:10250 whatever the node says its port is
if [ -z "$(ss -Htln "sport = :10250")" ]; then PORT=10250; else PORT=$(free_port 11350); fi
HEALTHZ=$(free_port 11348)
# NODE_ARGS: what the cleanup's run uses too (no API server: every pod is an orphan then)
NODE_ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log" --pod-manifest-path "$T/manifests"
	--node-name "$NODE" --cni-conf-dir "$T/cni" --container-runtime-path crun --port "$PORT" --healthz-port "$HEALTHZ"
	--insecure-registry "127.0.0.1:$REG_PORT" --insecure-registry "127.0.0.1:$REG_AUTH_PORT"
	# the private-registry tests run agnhost fake-registry-server as a hostNetwork pod on
	# localhost:5000 and pull from there (plain HTTP, as containerd's default for localhost)
	--insecure-registry localhost:5000)
"$NODELET" run "${NODE_ARGS[@]}" --kubeconfig "$NODE_KUBECONFIG" --node-ip "$NODE_IP" \
	--tls-cert-file "$T/kubelet.crt" --tls-private-key-file "$T/kubelet.key" --client-ca-file "$CA_CERT" \
	>>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 240); do
	if k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; then break; fi
	kill -0 "$DAEMON_PID" 2>/dev/null || { tail -20 "$T/daemon.log" >&2; die "nodelet exited"; }
	sleep 0.5
done
k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True ||
	{ tail -20 "$T/daemon.log" >&2; die "node $NODE not Ready after 120 s"; }
log "node $NODE Ready ($NODE_IP, node server :$PORT) after $(($(date +%s) - t0)) s; registries 127.0.0.1:$REG_PORT, :$REG_AUTH_PORT (auth)"

# --- e2e.test -----------------------------------------------------------------------------------
rm -f "$OUT"/junit*.xml "$OUT"/e2e.log "$OUT"/summary.txt
log "running e2e.test ${K8S_VERSION:-v1.37.2} with $PROCS ginkgo process(es)"
log "focus: $FOCUS"
log "skip:  $SKIP"
t_run=$(date +%s)
set +e
# ginkgo prints each finished test as one block (parallel processes never interleave inside a
# block): progress.awk turns each into one line. --timeout: ginkgo's default of 1 h is for the
# whole suite.
setsid env KUBE_TEST_REPO_LIST="$T/repo-list.yaml" "$GINKGO" --procs="$PROCS" --timeout=6h -v --no-color --silence-skips \
	--focus="$FOCUS" --skip="$SKIP" --label-filter="$LABELS" --junit-report=junit_01.xml --output-dir="$OUT" \
	"$E2E_TEST" -- --kubeconfig="$ADMIN_KUBECONFIG" --provider=local \
	--disable-log-dump --minStartupPods=0 --node-os-distro=debian \
	>"$OUT/e2e.log" 2>&1 &
E2E_PID=$!
tail -n +1 -F --pid="$E2E_PID" "$OUT/e2e.log" 2>/dev/null | awk -f "$here/progress.awk" &
tail_pid=$!
wait "$E2E_PID"
rc=$?
E2E_PID=
wait "$tail_pid" 2>/dev/null
set -e
secs=$(($(date +%s) - t_run))

# --- summary ------------------------------------------------------------------------------------
junit=$OUT/junit_01.xml
if [ ! -f "$junit" ]; then
	tail -30 "$OUT/e2e.log" >&2
	die "no JUnit report (ginkgo exited $rc)"
fi
# testcases without a skipped/failure element passed; skipped ones with a message of their own
# were skipped at run time (e2eskipper), the plain "skipped" ones are outside the focus; the
# suite's own setup/teardown nodes are counted only as failures
read -r passed failed rtskipped < <(python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    name = tc.get("name", "")
    bad = tc.find("failure") is not None or tc.find("error") is not None
    if name.startswith(("[SynchronizedBeforeSuite]", "[SynchronizedAfterSuite]", "[ReportAfterSuite]", "[ReportBeforeSuite]")):
        f += bad
        continue
    sk = tc.find("skipped")
    if sk is not None:
        s += sk.get("message", "") != "skipped"
    elif bad:
        f += 1
    else:
        p += 1
print(p, f, s)
PY
)
skipped=$((in_focus - passed - failed))
{
	echo "release: $("$E2E_TEST" --version 2>/dev/null | head -1 || echo unknown)"
	echo "focus: $FOCUS"
	echo "skip: $SKIP"
	echo "procs: $PROCS"
	echo "duration: ${secs} s"
	echo "in focus: $in_focus"
	echo "passed: $passed"
	echo "failed: $failed"
	echo "skipped: $skipped (tests/e2e/skip.txt: $((in_focus - $(list_tests "$SKIP" | wc -l))), at run time: $rtskipped)"
	echo "failures:"
	python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    if tc.find("failure") is not None or tc.find("error") is not None:
        print("  " + tc.get("name", ""))
PY
} >"$OUT/summary.txt"
grep -A1000 '^failures:' "$OUT/summary.txt" >&2
log "ran in ${secs} s; JUnit $junit, log $OUT/e2e.log, daemon log $OUT/nodelet.log"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
