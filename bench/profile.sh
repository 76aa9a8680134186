#!/usr/bin/env bash
# Where one pod start's time goes, two ways (bench/run.sh puts both in docs/performance.md):
#   1. a timeline: `strace -f` attached to the daemon, tracing process creation, exec, exit
#      and renames (every syscall still stops under ptrace: the figures stretch, the order and
#      the proportions are what to read);
#      one pod goes through podwatch start/stop and every child (CNI plugin, shim, crun
#      create/start/kill/delete) is listed with its start offset from the manifest's rename and
#      its duration, with the daemon's pod.json writes;
#   2. the daemon's own CPU: `valgrind --tool=callgrind` on the daemon over one pod start and
#      teardown (children not followed), summarised with callgrind_annotate. perf would be the
#      first choice, but `perf stat -e instructions true` reports "not supported" on this VM
#      (no PMU); perf is used instead when it works.
#   bench/profile.sh OUTDIR [RUNTIME]
# Writes OUTDIR/timeline.txt, OUTDIR/callgrind.txt (or perf.txt) and OUTDIR/*.raw.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
OUT=${1:?usage: profile.sh OUTDIR [RUNTIME]}
RUNTIME=${2:-crun}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
bench_setup || exit 1
trap bench_cleanup EXIT
drain_pods

# ---- 1. the timeline ------------------------------------------------------------------------
if command -v strace >/dev/null; then
        # strace attaches to the running daemon after a warm-up pod (started under strace, with
        # --seccomp-bpf, the daemon never saw its children's exits: ptrace and pidfds)
        RUNTIME=$RUNTIME start_daemon
        pod_yaml p1 >"$STAGE/p1.yaml" # warm-up
        "$PODWATCH" start "$T/root" "$M" "$STAGE" >/dev/null && "$PODWATCH" stop "$T/root" "$M" >/dev/null
        strace -f -q -ttt -s 300 -e trace=execve,clone,clone3,fork,vfork,rename,renameat,renameat2 \
                -o "$OUT/strace.raw" -p "$DAEMON" 2>/dev/null &
        STRACE=$!
        sleep 1
        pod_yaml p1 >"$STAGE/p1.yaml"
        PODWATCH_TIMEOUT=60 "$PODWATCH" start "$T/root" "$M" "$STAGE" >"$OUT/start.raw"
        sleep 0.3
        PODWATCH_TIMEOUT=60 "$PODWATCH" stop "$T/root" "$M" >"$OUT/stop.raw"
        sleep 0.3
        kill "$STRACE"; wait "$STRACE"
        DAEMON_PID=$DAEMON
        stop_daemon
        t_start=$(awk '$1 == "t0" {print $2}' "$OUT/start.raw")
        d_start=$(awk '$1 == "total" {print $2}' "$OUT/start.raw")
        t_stop=$(awk '$1 == "t0" {print $2}' "$OUT/stop.raw")
        d_stop=$(awk '$1 == "total" {print $2}' "$OUT/stop.raw")
        {
                printf 'One pod, %s, strace -f attached to the daemon (execve, clone, rename shown).\n' "$RUNTIME"
                printf 'Offsets in ms from the manifest rename (start) or unlink (teardown); "dur" is the process\n'
                printf 'lifetime (fork to exit). Start took %.1f ms, teardown %.1f ms under strace.\n' \
                        "$(awk -v d="$d_start" 'BEGIN {print d * 1000}')" "$(awk -v d="$d_stop" 'BEGIN {print d * 1000}')"
                for phase in start stop; do
                        if [ $phase = start ]; then a=$t_start b=$(awk -v t="$t_start" -v d="$d_start" 'BEGIN {printf "%.6f", t + d + 0.05}')
                        else a=$t_stop b=$(awk -v t="$t_stop" -v d="$d_stop" 'BEGIN {printf "%.6f", t + d + 0.05}'); fi
                        printf '\n%s\n%8s %8s  %s\n' "$([ $phase = start ] && echo 'pod start' || echo 'pod teardown')" "+ms" "dur ms" "what"
                        awk -v a="$a" -v b="$b" -v daemon="$DAEMON_PID" -f bench/timeline.awk "$OUT/strace.raw"
                        printf '%8.1f %8s  %s\n' "$(awk -v d="$([ $phase = start ] && echo "$d_start" || echo "$d_stop")" 'BEGIN {print d * 1000}')" "" \
                                "$([ $phase = start ] && echo 'podwatch: every container running in pod.json' || echo 'podwatch: the pod folder is gone')"
                done
        } >"$OUT/timeline.txt"
        cat "$OUT/timeline.txt" >&2
else
        echo "strace is not installed: no timeline" >"$OUT/timeline.txt"
fi

# ---- 2. the daemon's CPU ---------------------------------------------------------------------
drain_pods
if perf stat -e instructions true >/dev/null 2>&1 && ! perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
        perf record -g -o "$OUT/perf.raw" -- "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$BENCH_NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>&1 &
        DAEMON=$!
        sleep 2
        pod_yaml p1 >"$STAGE/p1.yaml"
        "$PODWATCH" start "$T/root" "$M" "$STAGE" >/dev/null && "$PODWATCH" stop "$T/root" "$M" >/dev/null
        kill -INT "$DAEMON"; wait "$DAEMON"; DAEMON=
        perf report -i "$OUT/perf.raw" --no-children --stdio 2>/dev/null | grep -v '^#' | grep . | head -60 >"$OUT/perf.txt"
elif command -v valgrind >/dev/null; then
        # instrumentation off during the daemon's own start (dynamic linking, config), switched on
        # with callgrind_control right before the manifest lands
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.raw" "$NODELET" run "${ARGS[@]}" \
                --pod-manifest-path "$M" --node-name "$BENCH_NODE" --cni-conf-dir "$T/cni" \
                --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>"$OUT/valgrind.log" &
        DAEMON=$!
        sleep 5 # valgrind's start
        callgrind_control -i on "$DAEMON" >/dev/null
        pod_yaml p1 >"$STAGE/p1.yaml"
        PODWATCH_TIMEOUT=120 "$PODWATCH" start "$T/root" "$M" "$STAGE" >"$OUT/callgrind-start.raw"
        PODWATCH_TIMEOUT=120 "$PODWATCH" stop "$T/root" "$M" >"$OUT/callgrind-stop.raw"
        stop_daemon
        {
                printf 'callgrind, the daemon alone (%s; children not followed), over one pod start and teardown\n' "$RUNTIME"
                printf '(under valgrind: start %.0f ms, teardown %.0f ms).\n\n' \
                        "$(awk '$1 == "total" {print $2 * 1000}' "$OUT/callgrind-start.raw")" "$(awk '$1 == "total" {print $2 * 1000}' "$OUT/callgrind-stop.raw")"
                printf 'Self cost (instructions executed in the function itself), top 25:\n'
                callgrind_annotate --threshold=99 "$OUT/callgrind.raw" 2>/dev/null |
                        awk '/^-+$/ {s++; next} s >= 3 && NF' | sed 's|/[^ ]*/\([^/ ]*:\)|\1|' | head -27
                printf '\nInclusive cost (the function and what it calls), top 30:\n'
                callgrind_annotate --inclusive=yes --threshold=99 "$OUT/callgrind.raw" 2>/dev/null |
                        awk '/^-+$/ {s++; next} s >= 3 && NF' | sed 's|/[^ ]*/\([^/ ]*:\)|\1|' | head -32
        } >"$OUT/callgrind.txt"
        head -40 "$OUT/callgrind.txt" >&2
fi
