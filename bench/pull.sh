#!/usr/bin/env bash
# Image pull and unpack throughput from a local registry (Debian's docker-registry on
# 127.0.0.1, tests/fixtures/registry.sh), and import time, each into an empty store, repeated:
#   bench/pull.sh RUNS [MIB]
# The image: bench/make-big-image.sh (MIB of random-content layers, default 64) and the busybox
# fixture. Throughput is the compressed layer bytes (what crosses the wire; random content
# makes them the unpacked bytes too) over the wall time of the whole command. Side by side:
# `podman pull` into an empty store (download + unpack), and `skopeo copy` to a dir: (download
# and verify, no unpack: the floor). Appends figures to $RESULTS (bench/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
INV="bench/pull.sh $*"
RUNS=${1:-3}
MIB=${2:-64}
PORT=${BENCH_REGISTRY_PORT:-5791}
bench_setup || exit 1
R=$T/registry
empty_pull() { # podman's overlay store may leave its home mounted: unmount, then empty
        local mnt
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/pull/" | sort -r); do umount -l "$mnt"; done
        rm -rf "$T/pull"
}
cleanup_pull() {
        tests/fixtures/registry.sh stop --dir "$R" >/dev/null 2>&1
        empty_pull
        bench_cleanup
}
trap cleanup_pull EXIT

[ -f "$T/big/big.env" ] || bench/make-big-image.sh "$T/big" "$MIB" >/dev/null || { note pull "make-big-image.sh failed"; exit 1; }
. "$T/big/big.env"
tests/fixtures/registry.sh start --port "$PORT" --dir "$R" >/dev/null || { note pull "registry.sh start --port $PORT failed"; exit 1; }
tests/fixtures/registry.sh push "$T/img" --dir "$R" --no-docker-format >/dev/null || { note pull "registry.sh push failed"; exit 1; }
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/policy.json"
skopeo --policy "$T/policy.json" copy -q --dest-tls-verify=false --dest-no-creds --preserve-digests \
        "oci:$T/big/layout:$BIG_REF_TAG" "docker://127.0.0.1:$PORT/big:latest" || { note pull "skopeo push of the big image failed"; exit 1; }
BB_BYTES=$(jq -r '[.layers[].size] | add' "$T/img/layout/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "busybox:1.35") | .digest' "$T/img/layout/index.json" | cut -d: -f2)")
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
note pull-image "big:latest: 3 layers, $(mib "$BIG_LAYER_BYTES") MiB compressed, $(mib "$BIG_UNPACKED_BYTES") MiB unpacked, $BIG_FILES files (bench/make-big-image.sh); busybox:1.35: 1 layer, $(mib "$BB_BYTES") MiB compressed"

# The jobs, KEY BYTES LABEL and a command (job_KEY); every run runs each job once, into an empty
# $T/pull, the jobs interleaved so that a change of load on a shared machine hits them alike.
REF=127.0.0.1:$PORT/big:latest
BB=127.0.0.1:$PORT/busybox:1.35
export CONTAINERS_CONF=$T/pull-containers.conf
printf '[engine]\ntmp_dir = "%s"\nevents_logger = "file"\n' "$T/pull/tmp" >"$CONTAINERS_CONF"
PM=(podman --root "$T/pull/proot" --runroot "$T/pull/prun" --storage-driver overlay)
JOBS=(
        "pull.nodelet.big|$BIG_LAYER_BYTES|nodelet images --root-dir EMPTY pull $REF"
        "pull.podman.big|$BIG_LAYER_BYTES|podman --root EMPTY pull --tls-verify=false docker://$REF"
        "pull.skopeo.big|$BIG_LAYER_BYTES|skopeo copy docker://$REF dir:EMPTY (download and verify, no unpack)"
        "import.nodelet.big|$BIG_LAYER_BYTES|nodelet images --root-dir EMPTY import big/layout (OCI layout dir)"
        "import.podman.big|$BIG_LAYER_BYTES|podman --root EMPTY pull oci:big/layout:big:latest"
        "pull.nodelet.busybox|$BB_BYTES|nodelet images --root-dir EMPTY pull $BB"
        "pull.podman.busybox|$BB_BYTES|podman --root EMPTY pull --tls-verify=false docker://$BB"
        "import.nodelet.busybox|$BB_BYTES|nodelet images --root-dir EMPTY import img/busybox-oci.tar (oci-archive)"
)
job() {
        case $1 in
        pull.nodelet.big) "$NODELET" images --root-dir "$T/pull/root" pull "$REF" ;;
        pull.podman.big) "${PM[@]}" pull -q --tls-verify=false "docker://$REF" ;;
        pull.skopeo.big) skopeo --policy "$T/policy.json" copy -q --src-tls-verify=false "docker://$REF" "dir:$T/pull/dir" ;;
        import.nodelet.big) "$NODELET" images --root-dir "$T/pull/root" import "$T/big/layout" ;;
        import.podman.big) "${PM[@]}" pull -q "oci:$T/big/layout:$BIG_REF_TAG" ;;
        pull.nodelet.busybox) "$NODELET" images --root-dir "$T/pull/root" pull "$BB" ;;
        pull.podman.busybox) "${PM[@]}" pull -q --tls-verify=false "docker://$BB" ;;
        import.nodelet.busybox) "$NODELET" images --root-dir "$T/pull/root" import "$T/img/busybox-oci.tar" ;;
        esac
}
declare -A SECS FAILED
for _ in $(seq "$RUNS"); do
        for j in "${JOBS[@]}"; do
                IFS='|' read -r key bytes label <<<"$j"
                [ -n "${FAILED[$key]:-}" ] && continue
                case $key in *podman*) command -v podman >/dev/null || { FAILED[$key]=1; note "$key" "podman is not installed"; continue; } ;; esac
                empty_pull
                mkdir -p "$T/pull"
                sync
                t0=$(now)
                if ! out=$(job "$key" 2>&1 >/dev/null); then
                        FAILED[$key]=1
                        note "$key" "$label failed: $(tail -1 <<<"$out")"
                        say "$label failed: $out"
                        continue
                fi
                t1=$(now)
                SECS[$key]+="$(elapsed "$t0" "$t1") "
        done
done
for j in "${JOBS[@]}"; do
        IFS='|' read -r key bytes label <<<"$j"
        [ -n "${SECS[$key]:-}" ] || continue
        tr ' ' '\n' <<<"${SECS[$key]}" | record "$key.s" s "$label"
        echo "$bytes" | record "$key.bytes" B "$label: compressed layer bytes"
done
empty_pull

# Where a small pull's time goes: one busybox pull under strace -T (time in each call), its
# requests and every wait of the event loop longer than 20 ms
if command -v strace >/dev/null; then
        mkdir -p "$T/profile"
        empty_pull
        mkdir -p "$T/pull"
        strace -f -q -ttt -T -s 200 -e trace=epoll_wait,sendto,connect,clone,clone3,wait4,waitid \
                -o "$T/profile/pull.strace" "$NODELET" images --root-dir "$T/pull/root" pull "$BB" >/dev/null 2>&1
        awk '
                NR == 1 { t0 = $2 }
                { t = $2 - t0 }
                /sendto\(.*"(GET|HEAD) / { match($0, /"(GET|HEAD) [^ "]*/); printf "%8.1f           request %s\n", t * 1000, substr($0, RSTART + 1, RLENGTH - 1); next }
                /connect\(/ { printf "%8.1f           connect\n", t * 1000; next }
                /epoll_wait\(/ && match($0, /<[0-9.]+>$/) {
                        d = substr($0, RSTART + 1, RLENGTH - 2)
                        if (d > 0.02) printf "%8.1f %8.1f  the event loop waits (epoll_wait)\n", t * 1000, d * 1000
                }
                END { printf "%8.1f           exit\n", t * 1000 }' "$T/profile/pull.strace" >"$T/profile/pull-timeline.body"
        {
                printf 'nodelet images pull %s into an empty store, under strace -f -T (ms from the exec;\n' "$BB"
                printf 'second column: how long the loop slept):\n\n'
                printf '%8s %8s  %s\n' "+ms" "wait ms" "what"
                cat "$T/profile/pull-timeline.body"
        } >"$T/profile/pull-timeline.txt"
fi
