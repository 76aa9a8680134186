#!/usr/bin/env bash
# Ephemeral containers (issue 17), what `kubectl debug` does against a real API server: one added
# through pods/ephemeralcontainers starts in the running pod's sandbox, with --target in the
# target container's PID namespace, and nothing else restarts; one that exits stays terminated
# and the pod stays Running and Ready; `kubectl debug -i` attaches through the node server.
# Needs root, Go (first run builds the control plane), jq, socat, openssl and the runtime packages.
SUITE=ephemeral-cluster BRIDGE=nlephem SUBNET=10.99.19.0/24 NODE=nodelet-ephem
. "$(dirname "$0")/lib.sh"

pod target "  containers:
  - {name: app, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
start_daemon
kwait "node Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
READY='(.status.conditions[] | select(.type == "Ready") | .status == "True")'
kwait "the pod runs" 60 "$RUNNING and $READY" pod target
cs() { k get pod target -o json | jq -r ".status.containerStatuses[] | select(.name == \"$1\") | $2"; }
ES() { echo ".status.ephemeralContainerStatuses[]? | select(.name == \"$1\")"; }
app_id=$(cs app .containerID); app_start=$(cs app .state.running.startedAt)
ip=$(k get pod target -o jsonpath='{.status.podIP}')
[ -n "$app_id" ] && [ -n "$app_start" ] && [ -n "$ip" ] && ok || bad "the pod's container ID, start and IP ($app_id $app_start $ip)"

# ---- kubectl debug --target: the target's PID namespace, nothing else restarts -------------
k debug target --image="$IMG" --target=app -c dbg -- sh -c 'ps; sleep 3600' >/dev/null 2>&1 || bad "kubectl debug --target"
kwait "dbg runs, never ready, restartCount 0" 60 \
        "$(ES dbg) | .state.running.startedAt != null and .ready == false and .restartCount == 0 and (.containerID | startswith(\"crun://\"))" pod target
# PID 1 of the namespace dbg runs in is the target's `sleep 3600` (without --target it would be
# dbg's own shell; busybox ps: PID USER COMMAND)
for _ in $(seq 20); do logs=$(k logs target -c dbg 2>&1); [ -n "$logs" ] && break; sleep 0.5; done
pid1=$(printf '%s\n' "$logs" | awk '$1 == 1 { $1 = $2 = ""; sub(/^ +/, ""); print }')
[ "$pid1" = "sleep 3600" ] && ok || bad "dbg's ps lists the target's sleep 3600 as PID 1: got [$logs]"
kwait "the app container, the sandbox and Ready are untouched" 10 \
        "$RUNNING and $READY and .status.podIP == \"$ip\" and (.status.containerStatuses[0] | .containerID == \"$app_id\" and .state.running.startedAt == \"$app_start\" and .restartCount == 0)" pod target
# the debug container shares the pod's network namespace: it sees the pod's IP
out=$(k exec target -c dbg -- ip -4 addr show 2>&1)
printf '%s\n' "$out" | grep -q "inet $ip/" && ok || bad "dbg in the pod's network namespace ($out)"

# ---- an ephemeral container that exits stays terminated -----------------------------------
k debug target --image="$IMG" -c quit -- sh -c 'exit 3' >/dev/null 2>&1 || bad "kubectl debug (exits)"
kwait "quit terminated with its exit code" 60 \
        "$(ES quit) | .state.terminated.exitCode == 3 and .state.terminated.reason == \"Error\" and .restartCount == 0" pod target
quit_id=$(k get pod target -o json | jq -r "$(ES quit) | .containerID")
sleep 12 # past the first restart back-off (10 s) and two resyncs
kwait "quit not restarted; the pod still Running and Ready" 5 \
        "($(ES quit) | .state.terminated.exitCode == 3 and .restartCount == 0 and .containerID == \"$quit_id\") and $RUNNING and $READY and (.status.containerStatuses[0].containerID == \"$app_id\")" pod target

# ---- kubectl debug -i: stdin through the node server's attach ------------------------------
out=$( (echo hello-ephemeral; sleep 5) | timeout 90 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" debug -i target \
        --image="$IMG" -c dbg2 -- sh -c 'read l; echo got:$l' 2>&1)
printf '%s\n' "$out" | grep -qx "got:hello-ephemeral" && ok || bad "kubectl debug -i: got [$out]"
kwait "dbg2 ran to its end" 30 "$(ES dbg2) | .state.terminated.exitCode == 0 and .restartCount == 0" pod target
kwait "after three debug containers the app is still the same" 5 \
        "$RUNNING and $READY and .status.podIP == \"$ip\" and .status.containerStatuses[0].containerID == \"$app_id\" and ([.status.ephemeralContainerStatuses[].name] | sort == [\"dbg\", \"dbg2\", \"quit\"])" pod target

k delete pod target --wait=false >/dev/null 2>&1
finish_suite
