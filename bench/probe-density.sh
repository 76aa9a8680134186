#!/usr/bin/env bash
# The daemon's cost with many probed pods: N static pods (default 100; 0 measures the idle
# daemon), each a busybox httpd with a startup, a liveness and a readiness probe at a 1 s period
# (httpGet, tcpSocket, httpGet), then the daemon's CPU (per cent of one core, from
# /proc/PID/stat utime+stime) and RSS sampled every second over a window, and the shims' RSS.
# Prints figures; never passes or fails on them.
#   bench/probe-density.sh [PODS] [SECONDS]
# With RESULTS set (bench/run.sh), also appends the figures to it (bench/lib.sh).
# Needs root and what the tests need (deploy/install-deps.sh, tests/fixtures/deps.sh), and a
# build (make).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
PODS=${1:-100}
WINDOW=${2:-60}
TO_RESULTS=${RESULTS:+1}
bench_setup || exit 1
trap bench_cleanup EXIT
drain_pods

for i in $(seq "$PODS"); do
        cat >"$M/d$i.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: d$i}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $IMG
    command: [sh, -c, 'mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 8080 -h /w']
    startupProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1, failureThreshold: 30}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
Y
done

start=$(now)
RUNTIME=crun start_daemon
ready=0
for _ in $(seq 1200); do
        ready=$("$NODELET" pods "${ARGS[@]}" 2>/dev/null | awk 'NR > 1 && $3 == "1/1"' | wc -l)
        [ "$ready" -ge "$PODS" ] && break
        sleep 0.5
done
up=$(elapsed "$start" "$(now)")
sleep 2 # let the start-up work (the last status writes) settle before the window

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status"; }
c0=$(cpu) t0=$(now)
cprev=$c0 tprev=$t0
cpu_samples=() rss_samples=()
for _ in $(seq "$WINDOW"); do
        sleep 1
        c=$(cpu) t=$(now)
        cpu_samples+=("$(awk -v c="$((c - cprev))" -v k="$ticks" -v a="$tprev" -v b="$t" 'BEGIN {printf "%.2f", 100 * c / k / (b - a)}')")
        rss_samples+=("$(rss)")
        cprev=$c tprev=$t
done
c1=$(cpu) t1=$(now)
cpu_pct=$(awk -v c="$((c1 - c0))" -v k="$ticks" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", 100 * c / k / (b - a)}')
rss_kb=$(rss)
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON/status")
shim_rss=$(for p in $(pgrep -f "[n]odelet-shim.*$T/"); do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | sort -n)
n_shims=$(printf '%s\n' "$shim_rss" | grep -c . || true)
shim_median=$(printf '%s\n' "$shim_rss" | grep . | stats | awk '{print $1}')
unhealthy=$(cat "$T"/root/pods/*/events.json 2>/dev/null | grep -c '"Unhealthy"' || true)

printf 'probe density: %s pods, 3 probes each at 1 s (httpGet startup, tcpSocket liveness, httpGet readiness)\n' "$PODS"
printf '  pods ready:                 %s of %s, %.1f s after the daemon started\n' "$ready" "$PODS" "$up"
printf '  daemon CPU over %ss:        %s %% of one core (per second: median, p99 %s)\n' "$WINDOW" "$cpu_pct" "$(printf '%s\n' "${cpu_samples[@]}" | stats)"
printf '  daemon RSS:                 %s KiB (peak %s KiB)\n' "$rss_kb" "$hwm_kb"
printf '  shim RSS, median of %s:     %s KiB\n' "$n_shims" "$shim_median"
printf '  Unhealthy events recorded:  %s\n' "$unhealthy"
printf '  machine: %s, %s cores, kernel %s; runtime %s\n' "$(uname -m)" "$(nproc)" "$(uname -r)" "$(crun --version | head -1)"

if [ -n "$TO_RESULTS" ]; then
        cmd="bench/probe-density.sh $PODS $WINDOW"
        printf '%s\n' "${cpu_samples[@]}" | record "density.cpu.$PODS" "% of one core" "$cmd: /proc/PID/stat utime+stime, per 1 s over ${WINDOW} s"
        echo "$cpu_pct" | record "density.cpumean.$PODS" "% of one core" "$cmd: /proc/PID/stat utime+stime over the whole ${WINDOW} s"
        printf '%s\n' "${rss_samples[@]}" | record "density.rss.$PODS" KiB "$cmd: VmRSS each second over ${WINDOW} s"
        [ "$PODS" -gt 0 ] && printf '%s\n' "$shim_rss" | record "density.shimrss.$PODS" KiB "$cmd: VmRSS of each nodelet-shim"
        [ "$PODS" -gt 0 ] && echo "$up" | record "density.ready.$PODS" s "$cmd: daemon started with the manifests in place -> all pods ready (nodelet pods, polled every 0.5 s)"
        note "density.$PODS" "$ready of $PODS pods ready; $unhealthy Unhealthy events; daemon peak RSS $hwm_kb KiB"
fi
