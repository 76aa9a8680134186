#!/usr/bin/env bash
# The daemon's cost with many probed pods: N static pods (default 100), each a busybox httpd
# with a startup, a liveness and a readiness probe at a 1 s period (httpGet, tcpSocket,
# httpGet), then the daemon's CPU (per cent of one core) and RSS over a window, and the
# shims' RSS. Prints figures; never passes or fails on them.
#   bench/probe-density.sh [PODS] [SECONDS]
# Needs root and what the tests need (deploy/install-deps.sh, tests/fixtures/deps.sh), and a
# build (make).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100}
WINDOW=${2:-60}
NODELET=${NODELET:-build/nodelet}
T=$(mktemp -d /tmp/nodelet-bench-XXXXXX)
M=$T/manifests
ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")
mkdir -p "$M" "$T/cni"
cat >"$T/cni/10-bench.conflist" <<J
{"cniVersion": "1.0.0", "name": "nlbench", "plugins": [
 {"type": "bridge", "bridge": "nlbench0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.32.0/20"}]], "dataDir": "$T/ipam"}}]}
J
DAEMON=
cleanup() {
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        rm -f "$M"/*.yaml
        "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --cni-conf-dir "$T/cni" >>"$T/daemon.log" 2>&1 &
        local pid=$!
        for _ in $(seq 300); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
        kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del nlbench0 2>/dev/null || true
        rm -rf "$T"
}
trap cleanup EXIT

tests/fixtures/make-images.sh "$T/img" >/dev/null 2>&1
"$NODELET" images --root-dir "$T/root" import "$T/img/layout" >/dev/null
deploy/prepare-node.sh >/dev/null

for i in $(seq "$PODS"); do
        cat >"$M/p$i.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: p$i}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.35
    command: [sh, -c, 'mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 8080 -h /w']
    startupProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1, failureThreshold: 30}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
Y
done

start=$(date +%s.%N)
"$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --cni-conf-dir "$T/cni" >"$T/daemon.log" 2>&1 &
DAEMON=$!
ready=0
for _ in $(seq 600); do
        ready=$("$NODELET" pods "${ARGS[@]}" | awk 'NR > 1 && $3 == "1/1"' | wc -l)
        [ "$ready" -ge "$PODS" ] && break
        sleep 1
done
up=$(echo "$(date +%s.%N) - $start" | bc)

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$WINDOW"
c1=$(cpu); t1=$(date +%s.%N)
cpu_pct=$(echo "scale=2; 100 * ($c1 - $c0) / $ticks / ($t1 - $t0)" | bc)
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON/status")
shim_rss=$(for p in $(pgrep -f "[n]odelet-shim.*$T"); do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | sort -n)
n_shims=$(printf '%s\n' "$shim_rss" | grep -c . || true)
shim_median=$(printf '%s\n' "$shim_rss" | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}')
unhealthy=$(cat "$T"/root/pods/*/events.json 2>/dev/null | grep -c '"Unhealthy"' || true)

printf 'probe density: %s pods, 3 probes each at 1 s (httpGet startup, tcpSocket liveness, httpGet readiness)\n' "$PODS"
printf '  pods ready:                 %s of %s, %.1f s after the daemon started\n' "$ready" "$PODS" "$up"
printf '  daemon CPU over %ss:        %s %% of one core\n' "$WINDOW" "$cpu_pct"
printf '  daemon RSS:                 %s KiB (peak %s KiB)\n' "$rss_kb" "$hwm_kb"
printf '  shim RSS, median of %s:     %s KiB\n' "$n_shims" "$shim_median"
printf '  Unhealthy events recorded:  %s\n' "$unhealthy"
printf '  machine: %s, %s cores, kernel %s; runtime %s\n' "$(uname -m)" "$(nproc)" "$(uname -r)" "$(crun --version | head -1)"
