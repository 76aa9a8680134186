#!/usr/bin/env bash
# A node whose runtime cannot run containers says so once and recovers by itself (the
# kubelet's runtime and network readiness): the runtime binary missing, then failing, then
# working; the CNI plugins missing, then installed. Pods wait with the runtime's words in
# their status, `nodelet pods` (given only the run dir) says why, /healthz fails with the
# cause, and nothing is retried in a loop of log lines.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=runtime-ready BRIDGE=nlrtready SUBNET=10.99.13.0/24
. "$(dirname "$0")/lib/node.sh"
BIN=$T/bin CNIBIN=$T/cnibin
mkdir -p "$BIN" "$CNIBIN"
HZ=$(( 20000 + RANDOM % 20000 ))
healthz() { curl -s -o "$T/healthz.out" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HZ/healthz"; }
real_crun=$(command -v crun)
RUNTIME=$BIN/crun # missing for now: RuntimeNotFound
EXTRA_ARGS=(--healthz-port "$HZ" --cni-bin-dir "$CNIBIN")

manifest web "  containers:
  - name: c
    image: $IMG
    command: [sleep, '600']"
manifest hostnet "  hostNetwork: true
  containers:
  - name: c
    image: $IMG
    command: [sleep, '600']"
start_daemon

# 1. the binary is missing: pods wait, and every place a user looks names the cause
check "a pod waits in ContainerCreating with the runtime's words" web 10 \
        '.status.containerStatuses[0].state.waiting | .reason == "ContainerCreating" and (.message | test("RuntimeReady=false reason:RuntimeNotFound"))'
check "a hostNetwork pod waits for the runtime too" hostnet 10 \
        '.status.containerStatuses[0].state.waiting.message | test("RuntimeNotFound")'
err=$("$NODELET" pods --run-dir "$T/run" 2>&1 >/dev/null)
if printf '%s' "$err" | grep -q "pods cannot start on this node: the OCI runtime \"$BIN/crun\" was not found"; then ok; else bad "nodelet pods --run-dir says why pods wait (got: $err)"; fi
if "$NODELET" pods --run-dir "$T/run" 2>/dev/null | grep -q "^default  *web-$NODE "; then ok; else bad "nodelet pods finds the daemon's pods from its run dir alone"; fi
if "$NODELET" describe "web-$NODE" --run-dir "$T/run" 2>/dev/null | grep -q "Message: .*RuntimeNotFound"; then ok; else bad "describe shows the waiting message"; fi
code=$(healthz)
if [ "$code" = 500 ] && grep -q '^\[-\]runtime failed: container runtime not ready: RuntimeReady=false reason:RuntimeNotFound' "$T/healthz.out"; then ok; else bad "/healthz fails naming the runtime (got $code: $(cat "$T/healthz.out"))"; fi
sleep 11 # two re-checks: the cause is logged once, not per pod and per check
n=$(grep -c 'container runtime not ready' "$T/daemon.log")
if [ "$n" = 1 ]; then ok; else bad "the cause is logged once (got $n lines)"; fi
if grep -q "started, but 2 of 2 pods wait for the container runtime" "$T/daemon.log" && ! grep -q "info: ready: " "$T/daemon.log"; then ok; else bad "the daemon does not call itself ready while its pods cannot start"; fi
if [ ! -e "$T/root/containers" ] || [ -z "$(ls -A "$T/root/containers")" ]; then ok; else bad "no container was attempted"; fi

# 2. a binary that fails: RuntimeFailed with its own words
printf '#!/bin/sh\necho "crun: cannot load libfoo.so" >&2\nexit 3\n' >"$BIN/crun"
chmod +x "$BIN/crun"
check "a failing runtime binary is named with its output" web 15 \
        '.status.containerStatuses[0].state.waiting.message | test("reason:RuntimeFailed.*exited with status 3: crun: cannot load libfoo.so")'

# 3. a working binary: the node recovers without a restart; the pod network is still missing
printf '#!/bin/sh\nexec %s "$@"\n' "$real_crun" >"$BIN/crun.new"
chmod +x "$BIN/crun.new"
mv "$BIN/crun.new" "$BIN/crun"
check "a hostNetwork pod runs once the runtime works (it needs no pod network)" hostnet 15 \
        '.status.containerStatuses[0].state.running != null'
check "a pod-network pod waits for the CNI plugins" web 10 \
        '.status.containerStatuses[0].state.waiting.message | test("NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: .*plugin \"bridge\" not found")'
code=$(healthz)
if [ "$code" = 200 ]; then ok; else bad "/healthz is ok once the runtime works, the network aside (got $code)"; fi
if grep -q 'container runtime is ready again' "$T/daemon.log"; then ok; else bad "the recovery is logged"; fi

# 4. the CNI plugins arrive: the pod starts
for p in /usr/lib/cni/* /opt/cni/bin/*; do [ -x "$p" ] && ln -sf "$p" "$CNIBIN/"; done
check "the pod runs once the network is ready" web 15 '.status.containerStatuses[0].state.running != null'
err=$("$NODELET" pods --run-dir "$T/run" 2>&1 >/dev/null)
if [ -z "$err" ]; then ok; else bad "nodelet pods says nothing once the node is ready (got: $err)"; fi
if grep -q 'container runtime network is ready again' "$T/daemon.log"; then ok; else bad "the network's recovery is logged"; fi

echo "$SUITE: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
