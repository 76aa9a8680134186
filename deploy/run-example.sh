#!/usr/bin/env bash
# Runs nodelet on the example static pods of deploy/examples, offline: the busybox image the
# examples use is built from Debian's busybox-static and imported (no registry needed).
#   deploy/run-example.sh          start the daemon, wait for the pods, show them
#   deploy/run-example.sh stop     stop the daemon and remove the example pods
# State lives under /tmp/nodelet-example (root dir, run dir, logs); the daemon's log is
# /tmp/nodelet-example/nodelet.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=/tmp/nodelet-example
NODELET=${NODELET:-build/nodelet}
ARGS=(--root-dir "$BASE/root" --run-dir "$BASE/run" --pod-log-dir "$BASE/log")
[ "$(id -u)" -eq 0 ] || { echo "run-example.sh: run as root" >&2; exit 1; }

stop() {
        if [ -f "$BASE/nodelet.pid" ] && kill -0 "$(cat "$BASE/nodelet.pid")" 2>/dev/null; then
                kill "$(cat "$BASE/nodelet.pid")"
                sleep 1
        fi
        # the daemon leaves pods running (as the kubelet); an empty manifest dir stops them
        if [ -d "$BASE/manifests" ]; then
                rm -f "$BASE/manifests"/*.yaml
                "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$BASE/manifests" >>"$BASE/nodelet.log" 2>&1 &
                local pid=$!
                for _ in $(seq 60); do
                        [ -z "$(ls -A "$BASE/root/pods" 2>/dev/null)" ] && break
                        sleep 1
                done
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        if [ -n "$(ls -A "$BASE/root/pods" 2>/dev/null)" ]; then
                echo "run-example.sh: pods are left in $BASE/root/pods; see $BASE/nodelet.log" >&2
                exit 1
        fi
        # the run dir's own private mount (pinned namespace files live under it) goes with the node
        awk '{print $5}' /proc/self/mountinfo | grep "^$BASE/" | sort -r | while read -r mnt; do
                umount "$mnt" 2>/dev/null || umount -l "$mnt"
        done
        echo "run-example.sh: stopped; state is in $BASE"
}

if [ "${1:-}" = stop ]; then
        stop
        exit 0
fi

[ -x "$NODELET" ] || { echo "run-example.sh: build first (make)" >&2; exit 1; }
if [ -f "$BASE/nodelet.pid" ] && kill -0 "$(cat "$BASE/nodelet.pid")" 2>/dev/null; then
        # a second daemon on the same dirs would fight the first: this run replaces it
        kill "$(cat "$BASE/nodelet.pid")"
        sleep 1
fi
deploy/prepare-node.sh
mkdir -p "$BASE/manifests"
if ! "$NODELET" images --root-dir "$BASE/root" inspect busybox:1.35 >/dev/null 2>&1; then
        # the image builder needs Debian's busybox-static and jq
        need=""
        command -v busybox >/dev/null || need="$need busybox-static"
        command -v jq >/dev/null || need="$need jq"
        [ -z "$need" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
        tests/fixtures/make-images.sh "$BASE/images" >/dev/null
        "$NODELET" images --root-dir "$BASE/root" import "$BASE/images/layout"
fi
cp deploy/examples/*.yaml "$BASE/manifests/"
"$NODELET" run "${ARGS[@]}" --pod-manifest-path "$BASE/manifests" >"$BASE/nodelet.log" 2>&1 &
echo $! >"$BASE/nodelet.pid"
echo "run-example.sh: nodelet started (pid $(cat "$BASE/nodelet.pid")), log in $BASE/nodelet.log"
# The CLI finds the daemon's dirs from its run dir (RUN/nodelet.json)
nodelet=$(cd "$(dirname "$NODELET")" && pwd)/$(basename "$NODELET")
RUN=(--run-dir "$BASE/run")
want=$(ls deploy/examples/*.yaml | wc -l)
up=0 not_ready=0
for _ in $(seq 60); do
        sleep 1
        kill -0 "$(cat "$BASE/nodelet.pid")" 2>/dev/null || break
        out=$("$nodelet" pods "${RUN[@]}" 2>&1) || true
        n=$(printf '%s\n' "$out" | grep -c -E ' (Running|Completed) ' || true)
        if [ "$n" -ge "$want" ]; then up=1; break; fi
        # the daemon says its runtime cannot run pods: no point waiting the full minute
        if printf '%s\n' "$out" | grep -q '^nodelet: pods cannot start'; then
                not_ready=$((not_ready + 1))
                [ "$not_ready" -ge 10 ] && break
        fi
done
"$nodelet" pods "${RUN[@]}" || true
echo
if [ "$up" != 1 ]; then
        echo "run-example.sh: the example pods did not all run (want $want Running or Completed); the daemon's last lines:" >&2
        grep -v ' debug: ' "$BASE/nodelet.log" | tail -n 15 | sed 's/^/    /' >&2
        echo "run-example.sh: the daemon keeps running so you can look ($nodelet describe POD ${RUN[*]});" \
                "$(pwd)/deploy/run-example.sh stop removes it" >&2
        exit 1
fi
node=$(hostname | tr 'A-Z' 'a-z')
echo "Try:  $nodelet logs web-$node ${RUN[*]}"
echo "      $nodelet describe init-sidecar-$node ${RUN[*]}"
echo "      curl http://127.0.0.1:18080/"
echo "      $(pwd)/deploy/run-example.sh stop"
