#!/usr/bin/env bash
# Probes and lifecycle hooks through the daemon: real containers serving HTTP and TCP (busybox
# httpd, nc), exec probes, hooks observed from outside through a hostPath directory.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=probes BRIDGE=nlprobe SUBNET=10.99.10.0/24
. "$(dirname "$0")/lib/node.sh"
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

# sidecars stop after the app, one by one in reverse order (the kubelet's; issue 18's e2e run)
manifest side-order "  activeDeadlineSeconds: 5
  terminationGracePeriodSeconds: 20
  initContainers:
  - name: s1
    image: $IMG
    restartPolicy: Always
    command: [sh, -c, 'trap \"echo s1-exit >> /h/order; exit 0\" TERM; while true; do sleep 1; done']
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo s1-prestop >> /h/order']}}}
    volumeMounts: [{name: h, mountPath: /h}]
  - name: s2
    image: $IMG
    restartPolicy: Always
    command: [sh, -c, 'trap \"sleep 1; echo s2-exit >> /h/order; exit 0\" TERM; while true; do sleep 1; done']
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo s2-prestop >> /h/order']}}}
    volumeMounts: [{name: h, mountPath: /h}]
  containers:
  - name: app
    image: $IMG
    command: [sh, -c, 'trap \"sleep 1; echo app-exit >> /h/order; exit 0\" TERM; while true; do sleep 1; done']
    volumeMounts: [{name: h, mountPath: /h}]
  volumes: [{name: h, hostPath: {path: $H, type: Directory}}]"
# liveness stops when the pod terminates: the probe fails once termination began, and must not
# kill (the container ends by itself 4 s after its TERM)
manifest live-term "  activeDeadlineSeconds: 5
  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"touch /tmp/terminating; sleep 4; exit 0\" TERM; while true; do sleep 1; done']
    livenessProbe: {exec: {command: [sh, -c, '! test -e /tmp/terminating']}, periodSeconds: 1, failureThreshold: 1}"
start_daemon

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

check "side-order: ended by its deadline" side-order 60 '.status.phase == "Failed" and (.status.initContainerStatuses | all(.state.terminated != null))'
order=$(tr '\n' ' ' <"$H/order" 2>/dev/null)
[ "$order" = "app-exit s2-prestop s2-exit s1-prestop s1-exit " ] && ok || bad "sidecars stop after the app, in reverse order, one after the other (got: $order)"
check "live-term: ended by its deadline" live-term 60 '.status.phase == "Failed" and .status.containerStatuses[0].state.terminated != null'
check "live-term: the container exited by itself (0), not killed by a liveness probe" live-term 5 '.status.containerStatuses[0].state.terminated.exitCode == 0 and .status.containerStatuses[0].restartCount == 0'
grep -q 'failed liveness probe' "$T/root/pods/$(pod_json live-term | jq -r .metadata.uid)/events.json" && bad "a liveness probe killed a terminating pod's container" || ok

stop_daemon
echo "probes: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "--- daemon log (tail)"; tail -40 "$T/daemon.log"; }
[ "$fail" -eq 0 ]
