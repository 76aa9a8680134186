#!/usr/bin/env bash
# Pod start and teardown latency, for N pods at once (image already present), repeated:
#   bench/start-latency.sh nodelet crun|runc N RUNS
#       static mode: from the manifests' atomic rename into --pod-manifest-path to every
#       container running in the daemon's status (pod.json, followed with inotify by
#       bench/podwatch.c); teardown: manifests unlinked -> pod folders gone.
#   bench/start-latency.sh floor crun|runc N RUNS
#       the floor: `crun run -d` (or runc) of the same container, same rootfs (the nodelet
#       store's unpacked busybox layer, read-only), N at once; teardown: `delete -f`.
#   bench/start-latency.sh podman - N RUNS
#       the peer: `podman kube play --network nlbenchp` of the same YAML (N pods in one file,
#       the same CNI chain as the nodelet's, its own bridge nlbenchp0) to every container
#       running (kube play returns once they run; checked with podman ps); teardown:
#       `podman kube down`. Own storage, network config and tmp dir under $T/podman.
# Appends figures to $RESULTS (bench/lib.sh); run by bench/run.sh. Never judges the figures.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
INV="bench/start-latency.sh $*"
WHAT=${1:?usage: start-latency.sh nodelet|floor|podman RUNTIME N RUNS}
RT=${2:-crun}
N=${3:-1}
RUNS=${4:-3}
bench_setup || exit 1
trap bench_cleanup EXIT

stage_pods() { # N: N manifests into $STAGE
        rm -f "$STAGE"/*.yaml
        for i in $(seq "$1"); do pod_yaml "p$i" >"$STAGE/p$i.yaml"; done
}

# ---- nodelet ----------------------------------------------------------------------------------
run_nodelet() {
        RUNTIME=$RT
        drain_pods
        start_daemon
        local cmd="bench/podwatch start ROOT MANIFESTS STAGE (daemon: nodelet run --container-runtime-path $RT ...)"
        local starts=() stops=() perpod=() cpu_self=() cpu_kids=() r out c0 c1
        # one unmeasured run first: the page cache, the CNI plugins' first exec, the cgroup tree
        stage_pods 1
        "$PODWATCH" start "$T/root" "$M" "$STAGE" >/dev/null && "$PODWATCH" stop "$T/root" "$M" >/dev/null
        for r in $(seq "$RUNS"); do
                stage_pods "$N"
                c0=$(proc_cpu "$DAEMON")
                out=$("$PODWATCH" start "$T/root" "$M" "$STAGE") || { say "nodelet/$RT $N pods: run $r did not finish: $(tail -1 <<<"$out")"; break; }
                c1=$(proc_cpu "$DAEMON")
                cpu_self+=("$(cpu_ms "$c0" "$c1" self "$N")")
                cpu_kids+=("$(cpu_ms "$c0" "$c1" kids "$N")")
                starts+=("$(awk '$1 == "total" {print $2}' <<<"$out")")
                mapfile -t -O "${#perpod[@]}" perpod < <(awk '$1 == "pod" {print $3}' <<<"$out")
                out=$("$PODWATCH" stop "$T/root" "$M") || { say "nodelet/$RT $N pods: teardown $r did not finish"; break; }
                stops+=("$(awk '$1 == "total" {print $2}' <<<"$out")")
                sleep 0.2
        done
        printf '%s\n' "${starts[@]}" | record "start.nodelet-$RT.$N" s "$cmd"
        printf '%s\n' "${stops[@]}" | record "stop.nodelet-$RT.$N" s "bench/podwatch stop ROOT MANIFESTS (daemon: nodelet run --container-runtime-path $RT ...)"
        [ "$N" -gt 1 ] && printf '%s\n' "${perpod[@]}" | record "perpod.nodelet-$RT.$N" s "$cmd: each pod, from the rename to its containers running"
        printf '%s\n' "${cpu_self[@]}" | record "cpu.nodelet-$RT.$N.self" ms "/proc/DAEMON/stat utime+stime over each start, per pod"
        printf '%s\n' "${cpu_kids[@]}" | record "cpu.nodelet-$RT.$N.kids" ms "/proc/DAEMON/stat cutime+cstime (children it reaped: CNI plugins, runtime calls; not the detached shims' crun create) over each start, per pod"
        stop_daemon
        drain_pods
}

# ---- the floor: the OCI runtime alone ------------------------------------------------------
floor_bundle() {
        local layer
        layer=$("$NODELET" images --root-dir "$T/root" inspect "$IMG" | jq -r '.[0].layers[-1]')
        layer=${layer#sha256:}
        B=$T/floor/bundle
        mkdir -p "$B"
        [ -d "$T/root/images/layers/$layer/rootfs" ] || { say "floor: no unpacked layer $layer"; return 1; }
        (cd "$B" && rm -f config.json && crun spec)
        jq --arg r "$T/root/images/layers/$layer/rootfs" \
                '.process.terminal = false | .process.args = ["sh", "-c", "trap \"exit 0\" TERM; sleep 3600 & wait"]
                 | .root = {path: $r, readonly: true} | .hostname = "floor"' "$B/config.json" >"$B/config.json.new" &&
                mv "$B/config.json.new" "$B/config.json"
}
run_floor() {
        floor_bundle || return 1
        local S=$T/floor/state-$RT starts=() stops=() cpus=() r i t0 t1 running c0 c1
        mkdir -p "$S"
        for r in $(seq 0 "$RUNS"); do # run 0 is the unmeasured warm-up
                c0=$(proc_cpu $$)
                t0=$(now)
                for i in $(seq "$N"); do
                        "$RT" --root "$S" run -d --bundle "$B" "nlbench-floor-$i" </dev/null >/dev/null 2>&1 &
                done
                wait
                t1=$(now)
                c1=$(proc_cpu $$)
                [ "$r" -gt 0 ] && cpus+=("$(cpu_ms "$c0" "$c1" kids "$N")")
                running=$("$RT" --root "$S" list 2>/dev/null | grep -c ' running ' || true)
                [ "$running" = "$N" ] || say "floor/$RT: $running of $N running after run -d"
                [ "$r" -gt 0 ] && starts+=("$(elapsed "$t0" "$t1")")
                t0=$(now)
                for i in $(seq "$N"); do "$RT" --root "$S" delete -f "nlbench-floor-$i" >/dev/null 2>&1 & done
                wait
                t1=$(now)
                [ "$r" -gt 0 ] && stops+=("$(elapsed "$t0" "$t1")")
                sleep 0.2
        done
        printf '%s\n' "${starts[@]}" | record "start.floor-$RT.$N" s "$RT --root STATE run -d --bundle BUNDLE ID (N at once, each with </dev/null >/dev/null)"
        printf '%s\n' "${stops[@]}" | record "stop.floor-$RT.$N" s "$RT --root STATE delete -f ID (N at once)"
        printf '%s\n' "${cpus[@]}" | record "cpu.floor-$RT.$N.kids" ms "/proc/SELF/stat cutime+cstime of the shell that ran and reaped the $RT run -d processes, per container"
}

# ---- the peer: podman kube play -----------------------------------------------------------
PODMAN=()
podman_setup() {
        command -v podman >/dev/null || { note podman "podman is not installed"; return 1; }
        local P=$T/podman
        mkdir -p "$P/net" "$P/tmp" "$P/ipam"
        # podman's default rlimits ask for more than this sandbox's hard limits: lower ones (see
        # docs/performance.md); its own storage, state, tmp dir and network config, so nothing
        # of the system's podman is touched. CONTAINERS_CONF replaces /etc/containers/containers.conf.
        cat >"$P/containers.conf" <<C
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
tmp_dir = "$P/tmp"
events_logger = "file"
cgroup_manager = "cgroupfs"
[network]
network_config_dir = "$P/net"
default_network = "${BENCH_BRIDGE}p"
C
        # the same CNI chain as the nodelet's (bridge + host-local), its own bridge and subnet;
        # kube play is given it with --network (without, it makes "podman-default-kube-network"
        # with a bridge cni-podmanN of its own)
        cat >"$P/net/${BENCH_BRIDGE}p.conflist" <<J
{"cniVersion": "0.4.0", "name": "${BENCH_BRIDGE}p", "plugins": [
 {"type": "bridge", "bridge": "${BENCH_BRIDGE}p0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$PODMAN_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$P/ipam"}}]}
J
        export CONTAINERS_CONF=$P/containers.conf
        PODMAN=(podman --root "$P/root" --runroot "$P/runroot")
        local err
        local id
        id=$("${PODMAN[@]}" pull -q "oci:$T/img/layout:$IMG" 2>"$P/pull.err") || { note podman "podman pull oci:LAYOUT:$IMG failed: $(tail -1 "$P/pull.err")"; return 1; }
        "${PODMAN[@]}" tag "$id" "docker.io/library/$IMG" || return 1
        # the first kube play builds podman's pause image: do it before measuring
        pod_yaml warm >"$P/warm.yaml"
        err=$("${PODMAN[@]}" kube play --network "${BENCH_BRIDGE}p" "$P/warm.yaml" 2>&1) || { note podman "podman kube play failed: $(tail -1 <<<"$err")"; return 1; }
        "${PODMAN[@]}" kube down "$P/warm.yaml" >/dev/null 2>&1
        note podman-version "$(podman --version), conmon $(conmon --version 2>/dev/null | head -1 | awk '{print $3}'), OCI runtime $("${PODMAN[@]}" info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null), storage $("${PODMAN[@]}" info --format '{{.Store.GraphDriverName}}' 2>/dev/null), network backend $("${PODMAN[@]}" info --format '{{.Host.NetworkBackend}}' 2>/dev/null)"
}
podman_running() { "${PODMAN[@]}" ps --filter status=running --format '{{.Names}}' | grep -vc -- '-infra$' || true; }
run_podman() {
        podman_setup || { say "podman: $(tail -1 "${RESULTS%.tsv}.notes" 2>/dev/null)"; return 1; }
        local P=$T/podman Y=$T/podman/pods-$N.yaml starts=() stops=() r i t0 t1 out running
        : >"$Y"
        for i in $(seq "$N"); do pod_yaml "p$i" >>"$Y"; [ "$i" -lt "$N" ] && echo --- >>"$Y"; done
        for r in $(seq "$RUNS"); do
                t0=$(now)
                out=$("${PODMAN[@]}" kube play --network "${BENCH_BRIDGE}p" "$Y" 2>&1) || { note podman "podman kube play ($N pods) failed: $(tail -1 <<<"$out")"; break; }
                t1=$(now)
                running=$(podman_running)
                if [ "$running" -lt "$N" ]; then # not seen so far: poll until they run
                        for _ in $(seq 600); do running=$(podman_running); [ "$running" -ge "$N" ] && break; sleep 0.05; done
                        t1=$(now)
                fi
                starts+=("$(elapsed "$t0" "$t1")")
                if [ "$N" = 10 ] && [ "$r" = "$RUNS" ]; then # the peer's per-container monitor
                        for pid in $(pgrep -f "^[^ ]*conmon .*$T/"); do awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; done |
                                record "rss.conmon" KiB "ps: conmon VmRSS, $N pods running under podman kube play (one conmon per container, infra included)"
                fi
                t0=$(now)
                "${PODMAN[@]}" kube down "$Y" >/dev/null 2>&1
                t1=$(now)
                stops+=("$(elapsed "$t0" "$t1")")
                sleep 0.2
        done
        printf '%s\n' "${starts[@]}" | record "start.podman.$N" s "podman kube play --network ${BENCH_BRIDGE}p pods-$N.yaml ($N pods in one file)"
        printf '%s\n' "${stops[@]}" | record "stop.podman.$N" s "podman kube down pods-$N.yaml"
        "${PODMAN[@]}" pod rm -af >/dev/null 2>&1
        ip link del "${BENCH_BRIDGE}p0" 2>/dev/null || true
}

case $WHAT in
nodelet) run_nodelet ;;
floor) run_floor ;;
podman) run_podman ;;
*) echo "usage: start-latency.sh nodelet|floor|podman RUNTIME N RUNS" >&2; exit 2 ;;
esac
