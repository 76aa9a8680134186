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
        echo "run-example.sh: stopped; state is in $BASE"
}

if [ "${1:-}" = stop ]; then
        stop
        exit 0
fi

[ -x "$NODELET" ] || { echo "run-example.sh: build first (make)" >&2; exit 1; }
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
for _ in $(seq 30); do
        sleep 1
        n=$("$NODELET" pods "${ARGS[@]}" | grep -c -E ' (Running|Completed) ' || true)
        [ "$n" -ge 4 ] && break
done
"$NODELET" pods "${ARGS[@]}"
echo
echo "Try:  $NODELET logs web-$(hostname | tr 'A-Z' 'a-z') ${ARGS[*]}"
echo "      curl http://127.0.0.1:18080/   (the web pod's hostPort)"
echo "      deploy/run-example.sh stop"
