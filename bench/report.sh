#!/usr/bin/env bash
# Turns a bench run's results into the table it prints and docs/performance.md with its chart:
#   bench/report.sh RESULTS.tsv OUT.md [PNG]
# RESULTS.tsv lines: KEY MEDIAN P99 UNIT RUNS COMMAND (bench/lib.sh), beside it RESULTS.notes
# (KEY TEXT), machine.txt (the machine and versions), profile/ (bench/profile.sh) and
# bench/analysis.md (hand-written: where the time goes), all included as they are.
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.." || exit 1
RES=${1:?usage: report.sh RESULTS.tsv OUT.md [PNG]}
OUT=${2:?usage: report.sh RESULTS.tsv OUT.md [PNG]}
PNG=${3:-}
DIR=$(dirname "$RES")
NOTES=${RES%.tsv}.notes
touch "$NOTES"

# get KEY FIELD (2 median, 3 p99, 4 unit, 5 runs, 6 command); empty when not measured
get() { awk -F'\t' -v k="$1" -v f="$2" '$1 == k {v = $f} END {print v}' "$RES"; }
notes() { awk -F'\t' -v k="$1" '$1 == k {print $2}' "$NOTES"; }
# a latency: ms under 1 s, else s
lat() {
        [ -n "$1" ] || { echo "-"; return; }
        awk -v v="$1" 'BEGIN {if (v < 1) printf "%.0f ms", v * 1000; else if (v < 10) printf "%.2f s", v; else printf "%.1f s", v}'
}
# a figure "median / p99 (runs)" of KEY, formatted by FMT (lat, kib, pct, num)
kib() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.1f MiB", v / 1024}' || echo "-"; }
pct() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.2f %%", v}' || echo "-"; }
num() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.1f", v}' || echo "-"; }
fig() { # KEY FMT
        local m p n
        m=$(get "$1" 2) p=$(get "$1" 3) n=$(get "$1" 5)
        [ -n "$m" ] && [ "$m" != - ] || { echo "not measured"; return; }
        printf '%s / %s (%s)' "$($2 "$m")" "$($2 "$p")" "$n"
}
cmd_of() { get "$1" 6; }
# tput_of2 KEY: MiB/s of stream.bytes at the median time (KEY: seconds)
tput_of2() {
        local b m
        b=$(get stream.bytes 2) m=$(get "$1" 2)
        [ -n "$b" ] && [ -n "$m" ] && [ "$m" != - ] || { echo "not measured"; return; }
        awk -v b="$b" -v m="$m" 'BEGIN {printf "%.0f MiB/s", b / 1048576 / m}'
}

PULLS=(pull.nodelet.big pull.podman.big pull.skopeo.big import.nodelet.big import.podman.big pull.nodelet.busybox pull.podman.busybox import.nodelet.busybox)
# tput_of KEY: MiB/s at the median time / at the p99 time (the slow tail)
tput_of() {
        local b m p
        b=$(get "$1.bytes" 2) m=$(get "$1.s" 2) p=$(get "$1.s" 3)
        [ -n "$b" ] && [ -n "$m" ] || { echo "-"; return; }
        awk -v b="$b" -v m="$m" -v p="$p" 'BEGIN {printf "%.1f / %.1f MiB/s", b / 1048576 / m, b / 1048576 / p}'
}
IMPLS=(nodelet-crun nodelet-runc floor-crun floor-runc podman)
name_of() {
        case $1 in
        nodelet-crun) echo "nodelet + crun" ;; nodelet-runc) echo "nodelet + runc" ;;
        floor-crun) echo "crun run (floor)" ;; floor-runc) echo "runc run (floor)" ;;
        podman) echo "podman kube play" ;;
        esac
}
COUNTS=(1 10 100)

# ---- the printed table ----------------------------------------------------------------------
print_table() {
        printf '%-34s %-28s %-28s\n' "figure (median / p99 (runs))" "start" "teardown"
        local i n
        for n in "${COUNTS[@]}"; do
                for i in "${IMPLS[@]}"; do
                        [ -n "$(get "start.$i.$n" 2)" ] || continue
                        printf '%-34s %-28s %-28s\n' "$(name_of "$i"), $n pod$([ "$n" = 1 ] || echo s)" \
                                "$(fig "start.$i.$n" lat)" "$(fig "stop.$i.$n" lat)"
                done
        done
        for n in 0 10 100; do
                [ -n "$(get "density.rss.$n" 2)" ] || continue
                printf '%-34s CPU %s (mean %s), RSS %s\n' "density, $n probed pods" "$(fig "density.cpu.$n" pct)" \
                        "$(pct "$(get "density.cpumean.$n" 2)")" "$(fig "density.rss.$n" kib)"
        done
        for n in 10 100; do
                [ -n "$(get "density.shimrss.$n" 2)" ] && printf '%-34s %s\n' "nodelet-shim RSS ($n pods)" "$(fig "density.shimrss.$n" kib)"
        done
        [ -n "$(get rss.conmon 2)" ] && printf '%-34s %s\n' "conmon RSS (podman, 10 pods)" "$(fig rss.conmon kib)"
        for n in 1 10; do
                [ -n "$(get "cluster.start.$n" 2)" ] && printf '%-34s %-28s %-28s\n' "cluster mode (kubectl), $n pod$([ "$n" = 1 ] || echo s)" \
                        "$(fig "cluster.start.$n" lat)" "$(fig "cluster.stop.$n" lat)"
        done
        local k
        for k in "${PULLS[@]}"; do
                [ -n "$(get "$k.s" 2)" ] && printf '%-34s %s; %s\n' "$k" "$(fig "$k.s" lat)" "$(tput_of "$k")"
        done
}

# ---- the chart --------------------------------------------------------------------------------
chart() {
        [ -n "$PNG" ] && command -v gnuplot >/dev/null || return 1
        local dat=$DIR/chart.dat n i
        {
                printf '# pods'
                for i in "${IMPLS[@]}"; do printf ' %s-start-median %s-start-p99 %s-stop-median %s-stop-p99' "$i" "$i" "$i" "$i"; done
                printf '\n'
                for n in "${COUNTS[@]}"; do
                        printf '%s' "$n"
                        for i in "${IMPLS[@]}"; do
                                for k in "start.$i.$n 2" "start.$i.$n 3" "stop.$i.$n 2" "stop.$i.$n 3"; do
                                        set -- $k
                                        v=$(get "$1" "$2")
                                        printf ' %s' "${v:-NaN}"
                                done
                        done
                        printf '\n'
                done
        } >"$dat"
        local starts=() stops=() col=2 title
        local style
        for i in "${IMPLS[@]}"; do
                title=$(name_of "$i")
                case $i in
                nodelet-crun) style="lc rgb '#1f4e9c' lw 2 pt 7" ;;
                nodelet-runc) style="lc rgb '#5b9bd5' lw 2 pt 5 dt 2" ;;
                floor-crun) style="lc rgb '#606060' lw 1 pt 6" ;;
                floor-runc) style="lc rgb '#a0a0a0' lw 1 pt 4 dt 2" ;;
                podman) style="lc rgb '#d9541e' lw 2 pt 9" ;;
                esac
                starts+=("'$dat' using 1:$col:$col:$((col + 1)) with yerrorlines $style title '$title'")
                stops+=("'$dat' using 1:$((col + 2)):$((col + 2)):$((col + 3)) with yerrorlines $style title '$title'")
                col=$((col + 4))
        done
        local start_plot stop_plot
        start_plot=$(IFS=,; echo "${starts[*]}")
        stop_plot=$(IFS=,; echo "${stops[*]}")
        gnuplot <<G 2>"$DIR/gnuplot.err" || return 1
set terminal pngcairo size 1200,520 font "sans,10" noenhanced
set output '$PNG'
set datafile missing 'NaN'
set multiplot layout 1,2 title "Static pod latency by pod count: median, bar up to p99 (log-log; $(date -u +%F), $(nproc) cores, shared machine)"
set logscale xy
set xrange [0.7:150]
set xtics ("1" 1, "10" 10, "100" 100)
set xlabel 'pods at once'
set ylabel 'seconds'
set grid
set key top left
set title 'start: manifest in -> all containers running'
plot $start_plot
set title 'teardown: manifest removed -> pods gone'
plot $stop_plot
unset multiplot
G
}

# ---- the document ----------------------------------------------------------------------------
doc() {
        local n i k
        cat <<H
# Performance

Figures from \`make bench\` (bench/run.sh), taken $(awk -F'\t' '$1 == "date" {print $2}' "$DIR/machine.txt") on the machine
below. They are measurements of one run on one machine, not promises: benchmarks never pass or
fail on them. Every figure is **median / p99 (runs)** over repeated runs; with fewer than 100
runs the p99 is the largest run. Each figure's command is listed below its table.

$(awk -F'\t' '$1 == "machine" || $1 == "versions" || $1 == "load" {print "- " $2}' "$DIR/machine.txt")
$(notes podman-version | head -1 | sed 's/^/- podman: /')

$(awk -F'\t' '$1 == "caveat" {print $2}' "$DIR/machine.txt")

## Summary

\`\`\`
$(print_table)
\`\`\`

## Pod start latency, static mode

From the manifest landing in \`--pod-manifest-path\` (written elsewhere on the same file system,
then renamed in: atomic, as a manifest should land) to every container running as the daemon
reports it in its status: bench/podwatch.c reads \`<root>/pods/<uid>/pod.json\` directly, woken by
inotify (pod.json is written by rename), so the resolution is the kernel's, not a poll interval.
N pods land at once (one rename each, back to back); the figure is the time until the last one
runs. The image is present (imported before). The pod is one busybox container
(\`sh -c 'trap "exit 0" TERM; sleep 3600 & wait'\`); podman plays the same YAML (N pods as one
multi-document file). The floor is the OCI runtime alone: \`crun run -d\` / \`runc run -d\` of
the same process on the same rootfs (the nodelet store's unpacked busybox layer, read-only, no
overlay), with the runtime's default namespaces (a new network namespace, no CNI), N at once.
One unmeasured run precedes each series.

![start and teardown latency by pod count]($(basename "${PNG:-none}"))

| pods | $(for i in "${IMPLS[@]}"; do printf '%s | ' "$(name_of "$i")"; done)
|---|$(for i in "${IMPLS[@]}"; do printf -- '---|'; done)
$(for n in "${COUNTS[@]}"; do printf '| %s | ' "$n"; for i in "${IMPLS[@]}"; do printf '%s | ' "$(fig "start.$i.$n" lat)"; done; printf '\n'; done)

For N > 1, each nodelet pod's own latency (rename to its containers running), over all runs:

| pods | nodelet + crun, each pod | nodelet + runc, each pod |
|---|---|---|
$(for n in 10 100; do printf '| %s | %s | %s |\n' "$n" "$(fig "perpod.nodelet-crun.$n" lat)" "$(fig "perpod.nodelet-runc.$n" lat)"; done)

CPU per pod start, in ms of one core (median / p99 over the runs): the daemon's own, and its
reaped children's (the CNI plugins, the runtime calls it makes, its helper children; not the
\`crun create\` each detached nodelet-shim runs). For the floor, the runtime processes' own.
With 2 cores, N pods at once cannot start faster than N x (all CPU per pod) / 2. /proc counts
in clock ticks (10 ms), so the 1-pod figures are coarse.

| pods | nodelet + crun: daemon | nodelet + crun: children | nodelet + runc: daemon | nodelet + runc: children | crun run (floor) | runc run (floor) |
|---|---|---|---|---|---|---|
$(for n in "${COUNTS[@]}"; do printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(fig "cpu.nodelet-crun.$n.self" num)" "$(fig "cpu.nodelet-crun.$n.kids" num)" "$(fig "cpu.nodelet-runc.$n.self" num)" "$(fig "cpu.nodelet-runc.$n.kids" num)" "$(fig "cpu.floor-crun.$n.kids" num)" "$(fig "cpu.floor-runc.$n.kids" num)"; done)

## Teardown latency

Manifests unlinked -> every pod's folder gone (the daemon removes it once the containers, the
sandbox and its network are gone; the container exits on SIGTERM at once, so no grace period is
waited out). podman: \`podman kube down\` of the same file. Floor: \`crun delete -f\` (SIGKILL and
delete; no network to tear down).

| pods | $(for i in "${IMPLS[@]}"; do printf '%s | ' "$(name_of "$i")"; done)
|---|$(for i in "${IMPLS[@]}"; do printf -- '---|'; done)
$(for n in "${COUNTS[@]}"; do printf '| %s | ' "$n"; for i in "${IMPLS[@]}"; do printf '%s | ' "$(fig "stop.$i.$n" lat)"; done; printf '\n'; done)

Commands (start, then teardown):

$(for n in "${COUNTS[@]}"; do for i in "${IMPLS[@]}"; do
        c=$(cmd_of "start.$i.$n"); d=$(cmd_of "stop.$i.$n")
        [ -n "$c" ] && printf -- '- %s, %s: `%s`, which times `%s` and then `%s`\n' "$(name_of "$i")" "$n" "${c%%: *}" "${c#*: }" "${d#*: }"
done; done)
$(c=$(cmd_of cpu.nodelet-crun.1.kids); [ -n "$c" ] && printf -- '- CPU, nodelet: `%s`\n' "${c#*: }")
$(c=$(cmd_of cpu.floor-crun.1.kids); [ -n "$c" ] && printf -- '- CPU, floor: `%s`\n' "${c#*: }")
$(notes podman | sed 's/^/- podman: /')

## Density: the daemon's cost with probed pods

Each pod is a busybox httpd with a startup (httpGet), a liveness (tcpSocket) and a readiness
(httpGet) probe, all at a 1 s period (so N pods make 3N probes a second once started; the startup
probe stops after its first success, leaving 2N). The daemon's CPU comes from
\`/proc/PID/stat\` utime+stime, per second and over the whole window, as per cent of one core;
its RSS is VmRSS sampled each second. Shim RSS is each \`nodelet-shim\`'s VmRSS (one per
container). podman has no daemon; its per-container monitor, conmon, is the peer of the shim.

| pods | daemon CPU per second | daemon CPU, whole window | daemon RSS | shim RSS per container | all ready after daemon start |
|---|---|---|---|---|---|
$(for n in 0 10 100; do printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$(fig "density.cpu.$n" pct)" "$(pct "$(get "density.cpumean.$n" 2)")" "$(fig "density.rss.$n" kib)" "$([ "$n" = 0 ] && echo "-" || fig "density.shimrss.$n" kib)" "$([ "$n" = 0 ] && echo "-" || fig "density.ready.$n" lat)"; done)
| conmon (podman), 10 pods | | | | $(fig rss.conmon kib) | |

$(for n in 10 100; do notes "density.$n" | sed "s/^/- $n pods: /"; done)

Commands:

$(for n in 0 10 100; do for k in density.cpu density.rss density.shimrss; do c=$(cmd_of "$k.$n"); [ -n "$c" ] && printf -- '- `%s`\n' "$c"; done; done)
$([ -n "$(cmd_of rss.conmon)" ] && printf -- '- conmon: `%s`\n' "$(cmd_of rss.conmon)")

## Image pull, unpack and import

From Debian's docker-registry on 127.0.0.1 (tests/fixtures/registry.sh), each run into an empty
store, wall time of the whole command (pull = manifest, config, layers downloaded, verified and
unpacked). MiB/s is the image's compressed layer bytes over that time. skopeo copying to a
\`dir:\` (download and verify, no unpack) is the floor; podman pull (download and unpack into its
overlay store) the peer. The jobs are interleaved (each run runs every job once), so a change of
load on the shared machine hits them alike.

$(notes pull-image | sed 's/^/- /')

| figure | time, median / p99 (runs) | throughput at the median / p99 time |
|---|---|---|
$(for k in "${PULLS[@]}"; do
        [ -n "$(get "$k.s" 2)" ] && printf '| %s | %s | %s |\n' "$k" "$(fig "$k.s" lat)" "$(tput_of "$k")"
done)

Commands:

$(for k in "${PULLS[@]}"; do
        c=$(cmd_of "$k.s"); [ -n "$c" ] && printf -- '- %s: `%s`\n' "$k" "$c"
done)
$(notes pull | sed 's/^/- not measured: /')
$(for k in "${PULLS[@]}"; do notes "$k" | sed "s/^/- $k: /"; done)

## Cluster mode: kubectl apply to containers running in the API

Pods bound to the node (\`spec.nodeName\`) through the real kube-apiserver (v1.37.2, etcd v3.7.0
on loopback, tests/cluster/control-plane.sh), the daemon joined with the node's certificate. The
clock starts before \`kubectl apply\` (its own start-up, about 50 ms, is inside the figure) and
stops when the API server's watch stream shows every pod Running with its containers started:
the agent's watch event, sandbox, containers, and its status PATCH back through the API server.
Teardown: \`kubectl delete\` to every pod's DELETED event (graceful termination, then the agent's
final DELETE).

| pods | start | teardown |
|---|---|---|
$(for n in 1 10; do printf '| %s | %s | %s |\n' "$n" "$(fig "cluster.start.$n" lat)" "$(fig "cluster.stop.$n" lat)"; done)

Commands:

$(for n in 1 10; do c=$(cmd_of "cluster.start.$n"); [ -n "$c" ] && printf -- '- %s pod(s): `bench/cluster-latency.sh %s REPEATS`: %s\n' "$n" "$n" "$c"; done)
$(notes cluster | sed 's/^/- /')

## Streams: kubectl exec and port-forward

Through the same control plane: \`kubectl exec web -- true\` (kubectl's WebSocket to the API
server, which speaks SPDY to the node server; the node server runs the runtime's exec) beside
the runtime's own exec of the same command in the same container; and a file downloaded with
curl through \`kubectl port-forward\` beside the same download straight to the pod's IP.

| | kubectl / port-forward | floor / direct |
|---|---|---|
| exec round trip | $(fig stream.exec lat) | $(fig stream.exec.floor lat) |
| download of $(awk -v b="$(get stream.bytes 2)" 'BEGIN {if (b) printf "%d MiB", b / 1048576; else printf "-"}') | $(tput_of2 stream.pf.s) | $(tput_of2 stream.direct.s) |

$(notes stream | sed 's/^/- /')

## Where the time goes

H
        if [ -f "$DIR/profile/timeline.txt" ]; then
                printf '### One pod start, process by process (bench/profile.sh)\n\n```\n'
                cat "$DIR/profile/timeline.txt"
                printf '```\n\n'
        fi
        if [ -f "$DIR/profile/callgrind.txt" ]; then
                printf '### The daemon'"'"'s own CPU over one pod start and teardown (callgrind)\n\n```\n'
                cat "$DIR/profile/callgrind.txt"
                printf '```\n\n'
        elif [ -f "$DIR/profile/perf.txt" ]; then
                printf '### The daemon'"'"'s own CPU over one pod start and teardown (perf)\n\n```\n'
                cat "$DIR/profile/perf.txt"
                printf '```\n\n'
        fi
        if [ -f "$DIR/profile/pull-timeline.txt" ]; then
                printf '### A small pull, request by request (bench/pull.sh)\n\n```\n'
                cat "$DIR/profile/pull-timeline.txt"
                printf '```\n\n'
        fi
        [ -f bench/analysis.md ] && cat bench/analysis.md
        cat <<F

## Running the benchmarks

\`make bench\` (root; installs what it needs with apt-get: podman, catatonit, gnuplot-nox, strace,
valgrind, and the test fixtures' packages) runs bench/run.sh: the start and teardown series
(1, 10 and 100 pods; $(awk -F'\t' '$1 == "repeats" {print $2}' "$DIR/machine.txt")), the density windows, the pull series and
the profile, then prints the summary and writes this page and its chart. \`BENCH_QUICK=1 make
bench\` is a short smoke run (fewer repeats, no 100-pod series, 10 s density windows) that
writes to build/bench/ instead of docs/. \`make bench\` is not part of \`make test\`. The pieces
run alone too: \`bench/start-latency.sh nodelet crun 10 5\`, \`bench/probe-density.sh 100 60\`,
\`bench/pull.sh 5\`, \`bench/profile.sh OUTDIR\`. Each uses its own throw-away node under
/tmp/nlbench-*, the bridges nlbench0 (pods, 10.231.0.0/17) and nlbenchp0 (podman,
10.231.128.0/17), and podman with its own storage, state and network config (CONTAINERS_CONF),
leaving the system's podman alone.
F
}

print_table
chart || echo "bench: no chart (gnuplot missing or failed: $(cat "$DIR/gnuplot.err" 2>/dev/null | tail -1))" >&2
doc >"$OUT"
echo "bench: wrote $OUT${PNG:+ and $PNG}" >&2
