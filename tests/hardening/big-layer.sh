#!/usr/bin/env bash
# Big layers do not stop the daemon's loop (issue 19, item 3). A pod with an exec readiness
# probe every second runs while the daemon pulls an image with a layer of ~a million empty
# files, then one with a layer of 1.5 GiB of incompressible bytes, from a local registry.
# Downloading, verifying (fsync + sha256 of the blob), unpacking and syncing those take tens
# of seconds to minutes here; all of it must happen off the event loop. What must hold during
# each pull, as correctness checks that the loop is not blocked (not a benchmark):
#   - the probe keeps running: no gap between two runs longer than PROBE_GAP_MAX s (period 1 s);
#   - the watchdog (WATCHDOG_USEC=4 s, as systemd passes it) gets WATCHDOG=1 with no gap as long
#     as WATCHDOG_USEC: such a gap is what gets a Type=notify daemon killed and restarted;
#   - the node server's /healthz answers every poll (twice a second) within 2 s;
#   - the daemon is the same process throughout, and the big pods run in the end.
# BIG_LAYER_FILES and BIG_LAYER_BYTES scale the layers down on a small machine.
SUITE=hard-big-layer BRIDGE=nlhardu SUBNET=10.232.19.0/24
. "$(dirname "$0")/lib.sh"
command -v docker-registry >/dev/null && command -v skopeo >/dev/null && command -v python3 >/dev/null \
        && command -v curl >/dev/null || {
        echo "$SUITE: needs docker-registry, skopeo, python3 and curl (tests/fixtures/deps.sh); skipped"
        echo "$SUITE: 0 passed, 0 failed"; exit 0; }
FILES=${BIG_LAYER_FILES:-990000} # the unpacker's cap is 1,000,000 entries, directories included
BYTES=${BIG_LAYER_BYTES:-$((1536 * 1024 * 1024))}
PORT=${HARD_REGISTRY_PORT_BIG:-15779}
HZ=${HARD_HEALTHZ_PORT_BIG:-15780}
PROBE_GAP_MAX=5 # seconds between two probe runs: a few periods of 1 s
WATCHDOG_USEC=4000000
uptime_now() { cut -d' ' -f1 /proc/uptime; } # CLOCK_BOOTTIME, as the probe and the listener read it

# ---- the images, the registry ------------------------------------------------------------
tests/fixtures/registry.sh start --port "$PORT" --dir "$T/registry" >"$T/reg.log" 2>&1 || { cat "$T/reg.log"; bad "registry"; finish; exit 1; }
EXTRA_CLEANUP="tests/fixtures/registry.sh stop --dir $T/registry"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/policy.json"
for spec in many:files:$FILES big:bytes:$BYTES; do
        IFS=: read -r name kind n <<<"$spec"
        start=$(date +%s)
        python3 tests/hardening/big-layer-image.py "$T/img/layout" "$T/$name" "$kind" "$n" \
                && skopeo --policy "$T/policy.json" copy --quiet --dest-tls-verify=false --dest-no-creds \
                        "oci:$T/$name:latest" "docker://127.0.0.1:$PORT/$name:latest" >>"$T/reg.log" 2>&1 \
                || { cat "$T/reg.log"; bad "build and push the $name image"; finish; exit 1; }
        echo "    image $name ($kind $n) built and pushed in $(( $(date +%s) - start )) s"
        rm -rf "${T:?}/$name"
done

# ---- the daemon, watched as systemd would ------------------------------------------------
# The notify socket's messages, each with the time it came (CLOCK_BOOTTIME, seconds).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        d = s.recv(65536)
        t = time.clock_gettime(time.CLOCK_BOOTTIME)
        for line in d.decode(errors="replace").split("\n"):
            if line:
                f.write("%.3f %s\n" % (t, line))
' "$T/notify.sock" "$T/notify.log" &
SOCAT_PID=$!
# the listener bound before the daemon starts (python takes its time on a loaded machine)
for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
mkdir -p "$T/out"
# The probe appends the time it ran; readiness, so a slow run under I/O does not restart it.
manifest probed "  terminationGracePeriodSeconds: 1
  volumes:
  - {name: out, hostPath: {path: $T/out}}
  containers:
  - name: c
    image: $IMG
    command: [sleep, '100000']
    volumeMounts: [{name: out, mountPath: /out}]
    readinessProbe:
      exec:
        command: [sh, -c, 'cut -d\" \" -f1 /proc/uptime >> /out/probe.log']
      periodSeconds: 1
      timeoutSeconds: 10"
export WATCHDOG_USEC
DAEMON_EXTRA=(--insecure-registry "127.0.0.1:$PORT" --port 0 --healthz-port "$HZ")
start_daemon
PID0=$DAEMON_PID
wait_ready && ok || bad "READY=1 on the notify socket"
check "the probed pod runs and is ready" probed 60 '.status.conditions[]? | select(.type == "Ready") | .status == "True"'

# /healthz twice a second: "TIME HTTP-CODE SECONDS"
( while :; do
        t=$(uptime_now)
        r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 2 "http://127.0.0.1:$HZ/healthz")
        echo "$t ${r:-000 2}"
        sleep 0.5
done >>"$T/healthz.log" 2>/dev/null ) &
HZ_PID=$!
SUITE_CLEANUP="kill $HZ_PID"

# Largest gap between consecutive times (first column of FILE, lines matching PATTERN) that
# overlaps [FROM, TO]; also the count inside.
max_gap() { # FILE PATTERN FROM TO -> "GAP COUNT"
        grep -- "$2" "$1" | awk -v from="$3" -v to="$4" '
                { t = $1 + 0 }
                t >= from && t <= to { n++ }
                prev != "" && t >= from && prev <= to && t - prev > gap { gap = t - prev }
                { prev = t }
                END { if (prev != "" && to - prev > gap) gap = to - prev; printf "%.1f %d\n", gap, n }'
}

for name in many big; do
        from=$(uptime_now)
        manifest "$name" "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: 127.0.0.1:$PORT/$name:latest, command: [sleep, '100000']}"
        check "the pod of the $name image runs" "$name" 900 '.status.phase == "Running"'
        to=$(uptime_now)
        read -r pgap pn < <(max_gap "$T/out/probe.log" . "$from" "$to")
        read -r wgap wn < <(max_gap "$T/notify.log" ' WATCHDOG=1$' "$from" "$to")
        hz_bad=$(awk -v from="$from" -v to="$to" '$1 >= from && $1 <= to && ($2 != 200 || $3 > 2) {n++} END {print n + 0}' "$T/healthz.log")
        hz_n=$(awk -v from="$from" -v to="$to" '$1 >= from && $1 <= to {n++} END {print n + 0}' "$T/healthz.log")
        hz_max=$(awk -v from="$from" -v to="$to" '$1 >= from && $1 <= to && $3 > m {m = $3} END {printf "%.2f", m}' "$T/healthz.log")
        echo "    $name: pulled and running in $(awk -v a="$from" -v b="$to" 'BEGIN {printf "%.0f", b - a}') s;" \
                "probe runs $pn, max gap $pgap s; WATCHDOG=1 $wn, max gap $wgap s; /healthz $hz_n polls, $hz_bad failed or slow, slowest $hz_max s"
        awk -v g="$pgap" -v m="$PROBE_GAP_MAX" 'BEGIN {exit !(g < m)}' && [ "$pn" -gt 0 ] && ok \
                || bad "$name: the loop stopped: no probe ran for $pgap s during the pull (period 1 s, allowed $PROBE_GAP_MAX s)"
        awk -v g="$wgap" -v m="$WATCHDOG_USEC" 'BEGIN {exit !(g * 1000000 < m)}' && [ "$wn" -gt 0 ] && ok \
                || bad "$name: the loop stopped: no WATCHDOG=1 for $wgap s during the pull (WATCHDOG_USEC=$WATCHDOG_USEC: systemd would have killed the daemon)"
        [ "$hz_bad" -eq 0 ] && [ "$hz_n" -gt 0 ] && ok \
                || bad "$name: the loop stopped: /healthz failed or took over 2 s $hz_bad times of $hz_n during the pull"
        [ "$DAEMON_PID" = "$PID0" ] && kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "$name: the daemon died"
done
# the layers are whole: every file of the million-file layer is there
n=$(find "$ROOT"/images/layers/*/rootfs/many -type f 2>/dev/null | wc -l)
[ "$n" -eq "$FILES" ] && ok || bad "the unpacked layer has $n of $FILES files"
size=$(stat -c %s "$ROOT"/images/layers/*/rootfs/big/data 2>/dev/null)
[ "${size:-0}" -eq "$BYTES" ] && ok || bad "the unpacked big file has ${size:-no} bytes, not $BYTES"
finish
