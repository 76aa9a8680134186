#!/usr/bin/env bash
# What the benchmarks share: a throw-away node under one temp dir (a CNI config with its own
# bridge and subnet, the busybox fixture image imported offline), the daemon's start and stop,
# cleanup through the daemon (an empty manifest dir removes every pod), statistics, and the
# results file the report is made from. Source it from the repository's top directory.
#
# Every benchmark appends its figures to $RESULTS (one tab-separated line each):
#   KEY  MEDIAN  P99  UNIT  RUNS  COMMAND
# KEY names the figure (bench/report.sh knows the keys); COMMAND is what produced it.
set -uo pipefail
export LC_ALL=C
NODELET=${NODELET:-build/nodelet}
BENCH_BRIDGE=${BENCH_BRIDGE:-nlbench}       # bridge names start with this (nlbench0, nlbenchp0)
BENCH_SUBNET=${BENCH_SUBNET:-10.231.0.0/17} # the nodelet's pods; podman's get 10.231.128.0/17
PODMAN_SUBNET=${PODMAN_SUBNET:-10.231.128.0/17}
BENCH_NODE=benchnode
IMG=busybox:1.35

say() { printf 'bench: %s\n' "$*" >&2; }

# bench_tmpdir: a new /tmp/nlbench-* dir, lower case only (podman names an image pulled from
# oci:DIR after DIR, and refuses upper case)
bench_tmpdir() {
        local d
        for _ in $(seq 20); do
                d=/tmp/nlbench-$(tr -dc 'a-z0-9' </dev/urandom | head -c 8)
                mkdir -m 0700 "$d" 2>/dev/null && { echo "$d"; return 0; }
        done
        return 1
}

# bench_setup: T, the node's dirs and CNI config, the fixture images (made once per T)
bench_setup() {
        if [ -z "${T:-}" ]; then
                T=$(bench_tmpdir) || return 1
                BENCH_OWN_T=1
        fi
        export T
        M=$T/manifests
        STAGE=$T/stage
        ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")
        RESULTS=${RESULTS:-$T/results.tsv}
        mkdir -p "$M" "$STAGE" "$T/cni"
        cat >"$T/cni/10-bench.conflist" <<J
{"cniVersion": "1.0.0", "name": "${BENCH_BRIDGE}", "plugins": [
 {"type": "bridge", "bridge": "${BENCH_BRIDGE}0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$BENCH_SUBNET"}]], "dataDir": "$T/ipam"}}]}
J
        if [ ! -f "$T/img/layout/index.json" ]; then
                tests/fixtures/make-images.sh "$T/img" >/dev/null 2>&1 || { say "make-images.sh failed"; return 1; }
        fi
        "$NODELET" images --root-dir "$T/root" import "$T/img/layout" >/dev/null || return 1
        deploy/prepare-node.sh --quiet || { say "deploy/prepare-node.sh failed"; return 1; }
        PODWATCH=build/bench/podwatch
        if [ ! -x "$PODWATCH" ] || [ bench/podwatch.c -nt "$PODWATCH" ]; then
                mkdir -p build/bench
                cc -O2 -Wall -Wno-format-truncation -o "$PODWATCH" bench/podwatch.c -ljansson || return 1
        fi
}

DAEMON=
RUNTIME=${RUNTIME:-crun}
start_daemon() {
        "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$BENCH_NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>&1 &
        DAEMON=$!
        # ready when it has opened the manifest dir's watch: give it a moment, it has no pods
        sleep 0.5
}
stop_daemon() {
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        DAEMON=
}
# bench_cluster KEY WHAT PORT: a real control plane (tests/cluster/control-plane.sh) in $T/cp,
# its env sourced, and the daemon (DAEMON) joined to it as $BENCH_NODE with its node port the
# first free one from PORT. When the control plane does not start: a note under KEY that WHAT
# was not measured, and 1. bench_cluster_stop undoes it.
bench_cluster() {
        local key=$1 what=$2 port=$3
        CP=$T/cp
        if ! NODE_NAME=$BENCH_NODE tests/cluster/control-plane.sh start "$CP" >"$T/cp.log" 2>&1; then
                note "$key" "$what not measured: the control plane did not start (tests/cluster/control-plane.sh; go needed the first time)"
                tail -5 "$T/cp.log" >&2
                return 1
        fi
        . "$CP/env"
        while ss -Htln "sport = :$port" | grep -q .; do port=$((port + 1)); done
        "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$BENCH_NODE" --cni-conf-dir "$T/cni" \
                --container-runtime-path "$RUNTIME" --kubeconfig "$NODE_KUBECONFIG" --node-ip 127.0.0.1 \
                --port "$port" --healthz-port 0 --tls-cert-file "$KUBELET_CERT" --tls-private-key-file "$KUBELET_KEY" \
                --client-ca-file "$CA_CERT" >>"$T/daemon.log" 2>&1 &
        DAEMON=$!
}
bench_cluster_stop() {
        stop_daemon
        [ -n "${CP:-}" ] && tests/cluster/control-plane.sh stop "$CP" >/dev/null 2>&1
}
k() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# remove every pod through the daemon: an empty manifest dir, then wait for ROOT/pods to empty;
# the running daemon does it if there is one (a new one would first adopt the pods)
drain_pods() {
        rm -f "$M"/*.yaml
        [ -d "$T/root/pods" ] && [ -n "$(ls -A "$T/root/pods" 2>/dev/null)" ] || return 0
        local started=0
        if [ -z "$DAEMON" ] || ! kill -0 "$DAEMON" 2>/dev/null; then start_daemon; started=1; fi
        for _ in $(seq 300); do [ -z "$(ls -A "$T/root/pods")" ] && break; sleep 0.5; done
        [ $started = 1 ] && stop_daemon
        return 0
}
bench_cleanup() {
        [ -d "${T:-}" ] || { stop_daemon; return 0; }
        drain_pods
        stop_daemon
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del "${BENCH_BRIDGE}0" 2>/dev/null || true
        if [ "${BENCH_OWN_T:-0}" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$T"; fi
}

# The pod every start-latency figure runs: one busybox container that exits at once on SIGTERM
# (the trap runs as soon as the signal interrupts `wait`), so teardown measures the agent, not a
# grace period. The same YAML goes to podman kube play.
pod_yaml() { # NAME
        cat <<Y
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: $IMG
    command: [sh, -c, 'trap "exit 0" TERM; sleep 3600 & wait']
Y
}

# stats: reads numbers (one a line) on stdin, prints "MEDIAN P99" (nearest rank; with fewer
# than 100 samples p99 is the largest)
stats() {
        sort -g | awk '{a[NR] = $1} END {
                if (NR == 0) { print "- -"; exit }
                m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                r = int(0.99 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
                printf "%.6g %.6g\n", m, a[r] }'
}

# record KEY UNIT COMMAND < samples: appends the figure's line to $RESULTS
record() {
        local key=$1 unit=$2 cmd=$3 samples n med p99
        samples=$(cat)
        n=$(printf '%s\n' "$samples" | grep -c . || true)
        read -r med p99 < <(printf '%s\n' "$samples" | grep . | stats)
        [ -n "${INV:-}" ] && cmd="$INV: $cmd"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$med" "$p99" "$unit" "$n" "$cmd" >>"$RESULTS"
        say "$(printf '%-34s median %-10s p99 %-10s %s (%s runs)' "$key" "$med" "$p99" "$unit" "$n")"
}

# note KEY TEXT: a line of text for the report (why a figure is missing, versions, ...)
note() {
        printf '%s\t%s\n' "$1" "$2" >>"${RESULTS%.tsv}.notes"
}

now() { echo "$EPOCHREALTIME"; }
# proc_cpu PID: "utime+stime cutime+cstime" in clock ticks (children: those it has reaped)
proc_cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$1/stat"; }
# cpu_ms "BEFORE" "AFTER" self|kids N: CPU ms per item between two proc_cpu readings
cpu_ms() {
        awk -v a="$1" -v b="$2" -v w="$3" -v n="$4" -v k="$(getconf CLK_TCK)" 'BEGIN {
                split(a, x, " "); split(b, y, " "); i = (w == "self") ? 1 : 2
                printf "%.2f\n", (y[i] - x[i]) * 1000 / k / n }'
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f\n", b - a}'; }
