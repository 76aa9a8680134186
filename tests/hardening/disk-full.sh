#!/usr/bin/env bash
# Disk full, on small tmpfs mounts: the image store while a pull downloads and while it
# unpacks; the pod log dir while containers write; the daemon's root dir while pods start and
# pull. What must hold: a pull fails cleanly (an error saying so, no image record, every blob
# whole and verified, no temp files, no half layer) and works once space returns; containers
# writing to a full log never block (a writer finishes, a ticker keeps ticking, the lost bytes
# are counted); the daemon stays up and every pod runs once space returns.
SUITE=hard-disk-full BRIDGE=nlhardd SUBNET=10.232.5.0/24
. "$(dirname "$0")/lib.sh"
command -v docker-registry >/dev/null && command -v skopeo >/dev/null || {
        echo "$SUITE: needs docker-registry and skopeo (tests/fixtures/deps.sh); skipped"
        echo "$SUITE: 0 passed, 0 failed"; exit 0; }
MK=${BUILD:-build}/tests/hard-mkimage
[ -x "$MK" ] || MK=build/tests/hard-mkimage
PORT=${HARD_REGISTRY_PORT:-15761}
"$MK" "$T/mk" "$T/mk-outside" >/dev/null 2>&1 || { bad "hard-mkimage failed"; finish; exit 1; }
tests/fixtures/registry.sh start --port "$PORT" --dir "$T/registry" >"$T/reg.log" 2>&1 || { cat "$T/reg.log"; bad "registry"; finish; exit 1; }
EXTRA_CLEANUP="tests/fixtures/registry.sh stop --dir $T/registry"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/policy.json"
skopeo --policy "$T/policy.json" copy --quiet --dest-tls-verify=false --dest-no-creds \
        "oci-archive:$T/mk/big.tar:big" "docker://127.0.0.1:$PORT/big:latest" >>"$T/reg.log" 2>&1 \
        || { cat "$T/reg.log"; bad "push"; finish; exit 1; }
BIG=127.0.0.1:$PORT/big:latest

small() { # DIR SIZE: a fresh tmpfs
        mkdir -p "$1"
        mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1"
}
fill() { # DIR KIB-TO-LEAVE: a filler file taking all but that much
        local avail
        avail=$(df --output=avail -k "$1" | tail -n 1)
        rm -f "$1/filler"
        [ "$avail" -gt "$2" ] && fallocate -l $(((avail - $2) * 1024)) "$1/filler"
}
store_consistent() { # STORE WHAT
        local s=$1/images f n=0
        for f in "$s"/blobs/sha256/*; do
                [ -e "$f" ] || continue
                [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || n=$((n + 1))
        done
        [ $n -eq 0 ] && ok || bad "$2: $n blobs do not match their digest"
        local tmp half
        tmp=$(find "$s/tmp" -type f ! -name .lock 2>/dev/null)
        [ -z "$tmp" ] && ok || bad "$2: temp files left: $tmp"
        half=$(for l in "$s"/layers/*; do [ -e "$l" ] || continue; [ -e "$l/diff_id" ] && [ -d "$l/rootfs" ] || echo "$l"; done)
        [ -z "$half" ] && ok || bad "$2: half layers: $half"
        [ -z "$(ls -A "$s/images" 2>/dev/null)" ] && ok || bad "$2: an image record was written"
}

# ---- 1: the CLI's pull on a full store: while downloading, then while unpacking -----------
for case in download:6M unpack:14M; do
        what=${case%%:*} size=${case#*:}
        st=$T/pull-$what
        small "$st" "$size"
        read -r rss secs rc < <(measure "$NODELET" images --root-dir "$st" pull "$BIG")
        echo "    pull with a full disk ($what, tmpfs $size): exit $rc, ${rss} KiB, ${secs} s: $(tail -n 1 "$T/cmd.err" | cut -c1-200)"
        if [ "$rc" -ne 0 ] && grep -q "No space left on device" "$T/cmd.err"; then ok; else
                bad "pull on a full disk ($what): exit $rc, want a \"No space left on device\" error"; sed 's/^/    /' "$T/cmd.out" "$T/cmd.err"; fi
        store_consistent "$st" "pull on a full disk ($what)"
        "$NODELET" images --root-dir "$st" ls 2>&1 | grep -q big && bad "$what: ls shows the image" || ok
        mount -o remount,size=64M "$st"
        if "$NODELET" images --root-dir "$st" pull "$BIG" >"$T/pull.out" 2>&1; then ok; else bad "pull after space returned ($what): $(cat "$T/pull.out")"; fi
        "$NODELET" images --root-dir "$st" inspect "$BIG" >/dev/null 2>&1 && ok || bad "$what: inspect after the pull"
        [ -z "$(find "$st/images/tmp" -type f ! -name .lock)" ] && ok || bad "$what: temp files after the good pull"
done

# ---- 2: the daemon on a small root dir and a small log dir -----------------------------------
ROOT=$T/small/root
small "$T/small" 48M
small "$T/logs" 3M
ARGS=(--root-dir "$ROOT" --run-dir "$T/run" --pod-log-dir "$T/logs")
"$NODELET" images --root-dir "$ROOT" import "$T/img/layout" >/dev/null 2>&1 || bad "import into the small root"
DAEMON_EXTRA=(--insecure-registry "127.0.0.1:$PORT")

# a writer of ~6 MB into a 3 MB log fs must finish; a ticker keeps ticking through it
LINE=$(printf 'x%.0s' $(seq 100))
manifest writer "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'i=0; while [ \$i -lt 60000 ]; do echo \"\$i $LINE\"; i=\$((i+1)); done; printf finished > /dev/termination-log']}"
manifest ticker "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'i=0; while true; do i=\$((i+1)); echo \"tick \$i\"; echo \$i > /tmp/n; sleep 0.1; done']}"
start_daemon
check "writer finishes with the log fs full" writer 120 '.status.phase == "Succeeded" and .status.containerStatuses[0].state.terminated.message == "finished"'
wid=$(pod_json writer | jq -r '.status.containerStatuses[0].containerID' | sed 's|.*://||')
dropped=$(jq -r '.logDroppedBytes // 0' "$ROOT/containers/$wid/state/exit.json" 2>/dev/null)
echo "    writer: $(df --output=used,size -k "$T/logs" | tail -n 1) KiB of the log fs used, $dropped bytes dropped"
[ "${dropped:-0}" -gt 0 ] && ok || bad "the shim does not count the bytes it dropped (${dropped:-none})"
check "ticker running" ticker 30 '.status.phase == "Running"'
n1=$("$NODELET" exec "ticker-$NODE" "${ARGS[@]}" -- cat /tmp/n 2>/dev/null)
sleep 3
n2=$("$NODELET" exec "ticker-$NODE" "${ARGS[@]}" -- cat /tmp/n 2>/dev/null)
[ -n "$n1" ] && [ -n "$n2" ] && [ "$n2" -gt "$n1" ] && ok || bad "the ticker is blocked on its full log: $n1 -> $n2"
# space returns: the writer's pod goes (its logs with it), the ticker's log grows again
wuid=$(pod_json writer | jq -r .metadata.uid)
rm -f "$M/writer.yaml"
for _ in $(seq 60); do pod_json writer >/dev/null || break; sleep 0.5; done
sleep 2
[ -z "$(ls -d "$T/logs/"*"_$wuid" 2>/dev/null)" ] && ok || bad "the removed pod's log dir is still there"
[ -z "$(ls /var/log/containers/writer-${NODE}_default_c-"$wid".log 2>/dev/null)" ] && ok || bad "the removed container's /var/log/containers link is still there"
last=$("$NODELET" logs "ticker-$NODE" "${ARGS[@]}" --tail 1 2>/dev/null | awk '{print $2}')
now=$("$NODELET" exec "ticker-$NODE" "${ARGS[@]}" -- cat /tmp/n 2>/dev/null)
[ -n "$last" ] && [ -n "$now" ] && [ $((now - last)) -lt 30 ] && ok || bad "the ticker's log did not resume: last logged $last, counter $now"

# the root dir full while pods start and pull: errors, no crash; all runs once space returns
fill "$T/small" 512
manifest late "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo late']}"
manifest bigpod "  restartPolicy: Never
  containers:
  - {name: c, image: $BIG, imagePullPolicy: IfNotPresent, command: [sh, -c, 'head -c 10 /random | wc -c']}"
sleep 15
kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "the daemon died with its root dir full"
grep -q "No space left on device" "$T/daemon.log" && ok || bad "the daemon log does not say the disk is full"
check "ticker still running on a full root" ticker 5 '.status.phase == "Running"'
pod_json bigpod | jq -c '.status.containerStatuses[0].state' 2>/dev/null | sed 's/^/    bigpod while full: /'
rm -f "$T/small/filler"
check "late runs once space returns" late 90 '.status.phase == "Succeeded"'
check "bigpod pulls and runs once space returns" bigpod 120 '.status.phase == "Succeeded"'
out=$("$NODELET" logs "bigpod-$NODE" "${ARGS[@]}" 2>&1)
[ "$out" = 10 ] && ok || bad "bigpod output: $out"
store_consistent_after() {
        local s=$ROOT/images f n=0
        for f in "$s"/blobs/sha256/*; do
                [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || n=$((n + 1))
        done
        [ $n -eq 0 ] && ok || bad "root store: $n blobs do not match their digest"
}
store_consistent_after
# imagePullPolicy Always (the default for :latest): pulled, then run
manifest always-pull "  restartPolicy: Never
  containers:
  - {name: c, image: $BIG, imagePullPolicy: Always, command: [sh, -c, 'echo pulled and ran']}"
if wait_for always-pull 30 '.status.phase == "Succeeded"'; then ok; else
        known_failure "imagePullPolicy Always: the container is never created" \
                "agent/pod-worker.c ensure_image() pulls again at every sync after a successful pull ($(grep -c 'pod always-pull-.*: pulled' "$T/daemon.log") pulls so far)"
fi
kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "the daemon is gone"
echo "    daemon peak RSS: $(daemon_hwm) KiB"
finish
