#!/usr/bin/env bash
# `make bench`: every benchmark in one run, then the summary table and docs/performance.md
# with its chart (docs/performance-latency.png). Root; installs what it needs with apt-get.
#   BENCH_QUICK=1   a short smoke run (3/1 repeats, 1 and 10 pods, 10 s density windows,
#                   no profile): writes build/bench/performance.md instead of docs/
#   BENCH_OUT=FILE  where to write the page (its chart goes beside it)
#   BENCH_KEEP=1    keep the run's temp dir (/tmp/nlbench-*) with the raw results
# Figures never pass or fail: the exit status says only whether the run itself worked.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
QUICK=${BENCH_QUICK:-0}
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (containers, namespaces, cgroups)" >&2; exit 1; }

# ---- what it needs ----------------------------------------------------------------------------
tests/fixtures/deps.sh >/dev/null || exit 1
deploy/prepare-node.sh --install --quiet >/dev/null || exit 1
need=()
for p in podman catatonit gnuplot-nox strace valgrind jq; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
        echo "bench: installing ${need[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
                { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
                echo "bench: apt-get install ${need[*]} failed; going on without" >&2
fi

# ---- the build, copied: other work may rebuild build/ while this runs ---------------------------
if [ -z "${MAKELEVEL:-}" ]; then # under `make bench` the binaries are already made
        make -j2 >/dev/null || { echo "bench: make failed" >&2; exit 1; }
fi
. bench/lib.sh
T=$(bench_tmpdir) || exit 1
export T RESULTS=$T/results.tsv
mkdir -p "$T/bin"
cp build/nodelet build/nodelet-shim "$T/bin/"
export NODELET=$T/bin/nodelet
finish() {
        tests/fixtures/registry.sh stop --dir "$T/registry" >/dev/null 2>&1
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del nlbench0 2>/dev/null
        ip link del nlbenchp0 2>/dev/null
        if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: raw results kept in $T" >&2; else rm -rf "$T"; fi
}
trap finish EXIT
: >"$RESULTS"

if [ "$QUICK" = 1 ]; then
        COUNTS=(1 10) REPEATS=(3 1) WINDOW=10 DENSITY=(0 10) PULL_RUNS=1
        OUT=${BENCH_OUT:-build/bench/performance.md}
else
        COUNTS=(1 10 100) REPEATS=(20 5 3) WINDOW=60 DENSITY=(0 10 100) PULL_RUNS=5
        OUT=${BENCH_OUT:-docs/performance.md}
fi
mkdir -p "$(dirname "$OUT")"
PNG=$(dirname "$OUT")/performance-latency.png

# ---- the machine -------------------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
{
        printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
        printf 'machine\tmachine: %s, %s cores (%s), %s GiB RAM; kernel %s; %s; cgroups: %s\n' "$(uname -m)" "$(nproc)" \
                "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
                "$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" "$(uname -r)" \
                "$(. /etc/os-release && echo "$PRETTY_NAME")" \
                "$(if [ -d /sys/fs/cgroup/unified ]; then echo "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)"; elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo v2; else echo v1; fi)"
        printf 'versions\tversions: nodelet %s (%s); %s; runc %s; containernetworking-plugins %s; podman %s, conmon %s; docker-registry %s; skopeo %s\n' \
                "$(git describe --always --dirty 2>/dev/null || echo '?')" "$("$NODELET" version 2>/dev/null | head -1)" \
                "$(crun --version | head -1)" "$(runc --version | head -1 | awk '{print $3}')" "$(ver containernetworking-plugins)" \
                "$(ver podman)" "$(ver conmon)" "$(ver docker-registry)" "$(ver skopeo)"
        printf 'repeats\t'
        for i in "${!COUNTS[@]}"; do printf '%s runs of %s pod(s)%s' "${REPEATS[$i]}" "${COUNTS[$i]}" "$([ "$i" -lt $((${#COUNTS[@]} - 1)) ] && echo ', ')"; done
        printf '\n'
} >"$T/machine.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the benchmarks -----------------------------------------------------------------------------
t_all=$(date +%s)
for i in "${!COUNTS[@]}"; do
        n=${COUNTS[$i]} r=${REPEATS[$i]}
        for rt in crun runc; do
                echo "bench: start/teardown, nodelet + $rt, $n pods x $r" >&2
                bench/start-latency.sh nodelet "$rt" "$n" "$r"
                echo "bench: start/teardown, $rt run (floor), $n x $r" >&2
                bench/start-latency.sh floor "$rt" "$n" "$r"
        done
        echo "bench: start/teardown, podman kube play, $n pods x $r" >&2
        bench/start-latency.sh podman - "$n" "$r"
done
for n in "${DENSITY[@]}"; do
        echo "bench: density, $n probed pods, ${WINDOW} s window" >&2
        bench/probe-density.sh "$n" "$WINDOW" >"$T/density-$n.txt"
done
echo "bench: image pull and import, $PULL_RUNS runs each" >&2
bench/pull.sh "$PULL_RUNS"
echo "bench: cluster mode, kubectl apply to running (real kube-apiserver)" >&2
if [ "$QUICK" = 1 ]; then bench/cluster-latency.sh 1 2; else bench/cluster-latency.sh 1 10; bench/cluster-latency.sh 10 3; fi
echo "bench: streams, kubectl exec round trip and port-forward throughput" >&2
if [ "$QUICK" = 1 ]; then bench/stream.sh 5 64; else bench/stream.sh 20 256; fi
if [ "$QUICK" != 1 ]; then
        echo "bench: profile of one pod start (strace timeline, callgrind)" >&2
        bench/profile.sh "$T/profile" crun 2>/dev/null
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)
{
        printf 'load\tload average (1, 5, 15 min) %s at the start, %s at the end; the run took %s min\n' "$load0" "$load1" \
                "$(( ($(date +%s) - t_all + 30) / 60 ))"
        printf 'caveat\t%s\n' "${BENCH_CAVEAT:-"This run shared the machine with other work (builds, test suites of the same project); figures taken while other work ran are noisier than on a quiet machine, the p99 most of all. Re-run \`make bench\` on a quiet machine for cleaner figures."}"
} >>"$T/machine.txt"

echo >&2
bench/report.sh "$RESULTS" "$OUT" "$PNG"
