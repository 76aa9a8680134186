#!/usr/bin/env bash
# Probes and lifecycle hooks through the daemon: real containers serving HTTP and TCP (busybox
# httpd, nc), exec probes, hooks observed from outside through a hostPath directory.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
set -u
NODELET=${NODELET:-build/nodelet}
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ "$(id -u)" -ne 0 ] || ! command -v crun >/dev/null || ! command -v jq >/dev/null || ! command -v socat >/dev/null; then
        echo "probes: needs root, crun, jq and socat; skipped"
        echo "probes: 0 passed, 0 failed"
        exit 0
fi

T=$(mktemp -d /tmp/nodelet-probes-XXXXXX)
M=$T/manifests
NODE=testnode
ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")
RUNTIME=${RUNTIME:-crun}
mkdir -p "$M" "$T/cni"
cat >"$T/cni/10-test.conflist" <<J
{"cniVersion": "1.0.0", "name": "nlprobe", "plugins": [
 {"type": "bridge", "bridge": "nlprobe0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.10.0/24"}]], "dataDir": "$T/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
DAEMON_PID=
start_daemon() {
        NOTIFY_SOCKET=$T/notify.sock "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}
stop_daemon() {
        [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}
cleanup() {
        stop_daemon
        rm -f "$M"/*.yaml
        # a last run with no manifests removes every pod (orphan cleanup), then teardown checks
        if [ -d "$T/root/pods" ] && [ -n "$(ls -A "$T/root/pods" 2>/dev/null)" ]; then
                start_daemon
                for _ in $(seq 90); do [ -z "$(ls -A "$T/root/pods")" ] && break; sleep 1; done
                stop_daemon
        fi
        [ -n "${SOCAT_PID:-}" ] && kill "$SOCAT_PID" 2>/dev/null
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del nlprobe0 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT

# Several processes wait on what `nodelet get pod` says; each check polls up to a timeout.
pod_json() { "$NODELET" get pod "$1-$NODE" "${ARGS[@]}" -o json 2>/dev/null; }
wait_for() { # NAME TIMEOUT JQ-EXPR -> true when the expression is true
        local name=$1 timeout=$2 expr=$3
        for _ in $(seq $((timeout * 5))); do
                if pod_json "$name" | jq -e "$expr" >/dev/null 2>&1; then return 0; fi
                sleep 0.2
        done
        return 1
}
check() { # DESCRIPTION POD TIMEOUT JQ-EXPR
        if wait_for "$2" "$3" "$4"; then ok; else
                bad "$1"
                echo "    want: $4"
                pod_json "$2" | jq -c '.status | {phase, reason, conditions: [.conditions[]? | {type, status, reason, message}], initContainerStatuses, containerStatuses}' 2>/dev/null | sed 's/^/    /' | cut -c1-2000
        fi
}
manifest() { # NAME YAML-SPEC
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2" >"$M/$1.yaml"
}
IMG=busybox:1.35


tests/fixtures/make-images.sh "$T/img" >/dev/null 2>&1 && "$NODELET" images --root-dir "$T/root" import "$T/img/layout" >/dev/null \
        || { echo "probes: fixture images failed"; echo "probes: 0 passed, 1 failed"; exit 1; }
deploy/prepare-node.sh >/dev/null 2>&1 || true
H=$T/host
mkdir -p "$H"
WEB="mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 8080 -h /w"

# readiness with an initial delay: not ready before it, ready after, no restarts
manifest ready-delay "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, '$WEB']
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: http}, initialDelaySeconds: 4, periodSeconds: 1}"
# readiness on a closed port: never ready, never restarted
manifest ready-closed "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, '$WEB']
    readinessProbe: {tcpSocket: {port: 9999}, periodSeconds: 1}"
# readiness that flaps: /w/ready comes and goes every 4 s; the ready flag follows it
manifest ready-flap "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'mkdir -p /w; (while true; do echo ok > /w/ready; sleep 4; rm -f /w/ready; sleep 4; done) & exec httpd -f -p 8080 -h /w']
    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1, failureThreshold: 1}"
# exec liveness: healthy while /tmp/health exists (removed after 3 s) -> restarted
manifest live-exec "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'touch /tmp/health; sleep 3; rm -f /tmp/health; sleep 600']
    livenessProbe: {exec: {command: [cat, /tmp/health]}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1}"
# exec liveness that keeps passing: no restarts
manifest live-ok "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'touch /tmp/health; sleep 600']
    livenessProbe: {exec: {command: [cat, /tmp/health]}, periodSeconds: 1}"
# http liveness against a path that is not there: 404 -> restarted, Unhealthy event
manifest live-http "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, '$WEB']
    livenessProbe: {httpGet: {path: /missing, port: 8080}, periodSeconds: 1, failureThreshold: 2}"
# tcp liveness on the open port: no restarts
manifest live-tcp "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, '$WEB']
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}"
# the startup probe gates the others: started only once /tmp/up exists
manifest startup "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'sleep 8; touch /tmp/up; sleep 600']
    startupProbe: {exec: {command: [test, -f, /tmp/up]}, periodSeconds: 1, failureThreshold: 30}
    livenessProbe: {exec: {command: [test, -f, /tmp/up]}, periodSeconds: 1, failureThreshold: 1}"
# hooks, seen from outside through a hostPath directory
manifest hooks "  terminationGracePeriodSeconds: 10
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'sleep 600']
    volumeMounts: [{name: h, mountPath: /host}]
    lifecycle:
      postStart: {exec: {command: [sh, -c, 'echo poststart > /host/poststart']}}
      preStop: {exec: {command: [sh, -c, 'echo prestop > /host/prestop']}}
  volumes: [{name: h, hostPath: {path: $H, type: Directory}}]"
manifest hook-fail "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'sleep 600']
    lifecycle:
      postStart: {exec: {command: [sh, -c, 'exit 3']}}"
manifest hook-sleep "  terminationGracePeriodSeconds: 10
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"echo term > /host/term-after-sleep; exit 0\" TERM; while true; do sleep 0.2; done']
    volumeMounts: [{name: h, mountPath: /host}]
    lifecycle:
      preStop: {sleep: {seconds: 2}}
  volumes: [{name: h, hostPath: {path: $H, type: Directory}}]"

start_daemon

# (checked first: these look at the first seconds of the containers)
check "startup gates: not started, not ready at first" startup 10 '.status.containerStatuses[0].state.running != null and .status.containerStatuses[0].started == false and .status.containerStatuses[0].ready == false'

# readiness: not ready at first (the delay), ready later, zero restarts
check "readiness delay: not ready early" ready-delay 10 '.status.containerStatuses[0].state.running != null and .status.containerStatuses[0].ready == false'
t0=$(date +%s)
check "readiness delay: ready later" ready-delay 30 '.status.containerStatuses[0].ready == true and ([.status.conditions[] | select(.type == "Ready")][0].status == "True")'
check "readiness delay: no restarts" ready-delay 5 '.status.containerStatuses[0].restartCount == 0'
check "readiness closed port: not ready" ready-closed 15 '.status.containerStatuses[0].state.running != null and .status.containerStatuses[0].ready == false and ([.status.conditions[] | select(.type == "ContainersReady")][0] | .status == "False" and .message == "containers with unready status: [c]")'
sleep 3
check "readiness closed port: still not ready, no restarts" ready-closed 5 '.status.containerStatuses[0].ready == false and .status.containerStatuses[0].restartCount == 0'

check "readiness flapping: ready" ready-flap 20 '.status.containerStatuses[0].ready == true'
check "readiness flapping: not ready" ready-flap 20 '.status.containerStatuses[0].ready == false and ([.status.conditions[] | select(.type == "Ready")][0].status == "False")'
check "readiness flapping: ready again, never restarted" ready-flap 20 '.status.containerStatuses[0].ready == true and .status.containerStatuses[0].restartCount == 0'

check "exec liveness: restarted after the file goes" live-exec 40 '.status.containerStatuses[0].restartCount >= 1'
check "exec liveness ok: no restarts" live-ok 5 '.status.containerStatuses[0].ready == true'
sleep 3
check "exec liveness ok: still no restarts" live-ok 5 '.status.containerStatuses[0].restartCount == 0'
check "http liveness 404: restarted" live-http 40 '.status.containerStatuses[0].restartCount >= 1'
desc=$("$NODELET" describe "live-http-$NODE" "${ARGS[@]}")
printf '%s' "$desc" | grep -qF "Liveness probe failed: HTTP probe failed with statuscode: 404" && ok || { bad "Unhealthy event"; printf '%s\n' "$desc" | tail -12 | sed 's/^/    /'; }
printf '%s' "$desc" | grep -qF "Container c failed liveness probe, will be restarted" && ok || bad "Killing event for liveness"
check "tcp liveness open port: no restarts" live-tcp 10 '.status.containerStatuses[0].ready == true and .status.containerStatuses[0].restartCount == 0'

check "startup gates: started later, no restart" startup 30 '.status.containerStatuses[0].started == true and .status.containerStatuses[0].ready == true and .status.containerStatuses[0].restartCount == 0'

# postStart ran (a file on the host), failed postStart restarts the container
check "postStart: running after the hook" hooks 20 '.status.containerStatuses[0].state.running != null'
[ "$(cat "$H/poststart" 2>/dev/null)" = poststart ] && ok || bad "postStart did not run"
check "postStart failure: restarted" hook-fail 40 '.status.containerStatuses[0].restartCount >= 1'
"$NODELET" describe "hook-fail-$NODE" "${ARGS[@]}" | grep -qF "FailedPostStartHook" && ok || bad "FailedPostStartHook event"

# preStop runs before the stop signal when the pod goes
check "hook-sleep running" hook-sleep 20 '.status.containerStatuses[0].state.running != null'
rm -f "$M/hooks.yaml" "$M/hook-sleep.yaml"
for _ in $(seq 100); do [ -f "$H/prestop" ] && [ -f "$H/term-after-sleep" ] && break; sleep 0.2; done
[ "$(cat "$H/prestop" 2>/dev/null)" = prestop ] && ok || bad "preStop did not run"
[ -f "$H/term-after-sleep" ] && ok || bad "preStop sleep then SIGTERM: the container did not see TERM"

stop_daemon
echo "probes: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "--- daemon log (tail)"; tail -40 "$T/daemon.log"; }
[ "$fail" -eq 0 ]
