#!/usr/bin/env bash
# The daemon's start and stop path under valgrind (memcheck, --leak-check=full): start with a
# pod that runs and one that completes, restart on the running pod (adoption), add and
# remove a pod, stop with SIGTERM. What must hold: no invalid read or write, no use of
# uninitialised values, no definitely or indirectly lost block, in the daemon process
# (--error-exitcode=1). The daemon's forked operation children run the same code under
# valgrind too, silenced (--child-silent-after-fork=yes): their work is checked by the
# sanitizer build (make test SANITIZE=1); exec'd programs (crun, the shim) are not traced.
SUITE=hard-valgrind BRIDGE=nlhardg SUBNET=10.232.10.0/24
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || { echo "$SUITE: valgrind not installed; skipped"; echo "$SUITE: 0 passed, 0 failed"; exit 0; }
VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --error-exitcode=1 --trace-children=no --child-silent-after-fork=yes --track-fds=no --num-callers=30)
start_daemon() {
        NOTIFY_SOCKET=$T/notify.sock "${VG[@]}" --log-file="$T/vg.%p.log" "$NODELET" run "${ARGS[@]}" \
                --pod-manifest-path "$M" --node-name "$NODE" --cni-conf-dir "$T/cni" \
                --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}
stop_checked() { # WHAT: SIGTERM, then the exit code and the leak summary
        kill -TERM "$DAEMON_PID"
        wait "$DAEMON_PID"
        local rc=$? log
        log=$(ls -t "$T"/vg.*.log | head -n 1)
        DAEMON_PID=
        if [ $rc -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$log"; then ok; else
                bad "$1: valgrind exit $rc"
                grep -A25 "Invalid\|uninitialised\|definitely lost in\|indirectly lost in" "$log" | head -80 | sed 's/^/    /'
        fi
        echo "    $1: $(grep -E 'definitely lost:|indirectly lost:|ERROR SUMMARY' "$log" | sed 's/==[0-9]*== *//' | tr '\n' ';' | tr -s ' ')"
}

manifest web "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 8080 -h /w'],
     readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1},
     livenessProbe: {exec: {command: [/bin/true]}, periodSeconds: 2}}"
manifest once "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo done']}"
start_daemon
check "web ready under valgrind" web 120 '.status.phase == "Running" and .status.containerStatuses[0].ready == true'
check "once completed under valgrind" once 120 '.status.phase == "Succeeded"'
sleep 3
stop_checked "first run"

# again: adoption of a running pod, a pod added and one removed while it runs
start_daemon
check "adopted" web 120 '.status.phase == "Running" and .status.containerStatuses[0].restartCount == 0'
manifest added "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo added']}"
check "added pod completes" added 120 '.status.phase == "Succeeded"'
rm -f "$M/once.yaml"
for _ in $(seq 120); do pod_json once >/dev/null || break; sleep 0.5; done
pod_json once >/dev/null && bad "the removed pod is still there" || ok
stop_checked "second run (adoption, add, remove)"
finish
