#!/usr/bin/env bash
# Pods change in place (issue 17), against a real API server: `kubectl set image` restarts that
# container alone (the kubelet's computePodActions), a readiness gate's condition set through
# the status subresource decides Ready and survives the node's own status patches, and a
# shortened activeDeadlineSeconds fails the running pod. Needs root, Go (first run builds the
# control plane), jq, socat, openssl and the runtime packages.
SUITE=pod-updates-cluster BRIDGE=nlpupd SUBNET=10.99.18.0/24 NODE=nodelet-podupd
. "$(dirname "$0")/lib.sh"

pod two "  containers:
  - name: keep
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'exec sleep 3600']
    volumeMounts: [{name: d, mountPath: /data}]
  - name: change
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'if [ -e /data/first ]; then echo again >> /data/log; else echo \$\$ > /data/first; fi; exec sleep 3600']
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, emptyDir: {}}]"
pod gated "  readinessGates: [{conditionType: example.com/gate}]
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
pod deadline "  activeDeadlineSeconds: 3600
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
start_daemon
kwait "node Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
for p in two gated deadline; do kwait "$p runs" 60 "$RUNNING" pod $p; done
cs() { k get pod "$1" -o json | jq -r ".status.containerStatuses[] | select(.name == \"$2\") | $3"; }

# ---- kubectl set image: only that container restarts -----------------------------------
keep_id=$(cs two keep .containerID); keep_start=$(cs two keep .state.running.startedAt)
change_id=$(cs two change .containerID)
ip=$(k get pod two -o jsonpath='{.status.podIP}'); uid=$(k get pod two -o jsonpath='{.metadata.uid}')
first=$(k exec two -c keep -- cat /data/first 2>&1)
[ -n "$first" ] && ok || bad "the emptyDir file was written"
k set image pod/two change=busybox:latest >/dev/null || bad "kubectl set image"
kwait "the changed container restarts with the new image, restartCount 1" 60 \
        "$RUNNING and (.status.containerStatuses[] | select(.name == \"change\") | .restartCount == 1 and .image == \"busybox:latest\" and .containerID != \"$change_id\" and .lastState.terminated != null)" pod two
kwait "the other container is untouched" 5 \
        ".status.containerStatuses[] | select(.name == \"keep\") | .restartCount == 0 and .containerID == \"$keep_id\" and .state.running.startedAt == \"$keep_start\"" pod two
kwait "same pod IP" 5 ".status.podIP == \"$ip\"" pod two
out=$(k exec two -c keep -- cat /data/first /data/log 2>&1)
[ "$out" = "$first
again" ] && ok || bad "the emptyDir kept its file and the new container saw it: got [$out]"
msgs=$(k get events -o json | jq -r '.items[] | select(.involvedObject.uid == "'"$uid"'" and .reason == "Killing") | .message')
[ "$msgs" = "Container change definition changed, will be restarted" ] && ok || bad "Killing event (got: $msgs)"

# ---- readiness gates -----------------------------------------------------------------------
GATE='.status.conditions[] | select(.type == "example.com/gate")'
READY='.status.conditions[] | select(.type == "Ready")'
kwait "gate missing: ContainersReady True, Ready False" 20 \
        "(.status.conditions[] | select(.type == \"ContainersReady\") | .status == \"True\") and ($READY | .status == \"False\" and .reason == \"ReadinessGatesNotReady\" and .message == \"corresponding condition of pod readiness gate \\\"example.com/gate\\\" does not exist.\")" pod gated
k patch pod gated --subresource status --type=json \
        -p '[{"op": "add", "path": "/status/conditions/-", "value": {"type": "example.com/gate", "status": "False"}}]' >/dev/null || bad "status patch (json)"
kwait "gate False: Ready False, the kubelet's message" 20 \
        "$READY | .status == \"False\" and .reason == \"ReadinessGatesNotReady\" and .message == \"the status of pod readiness gate \\\"example.com/gate\\\" is not \\\"True\\\", but False\"" pod gated
k patch pod gated --subresource status --type=strategic \
        -p '{"status": {"conditions": [{"type": "example.com/gate", "status": "True"}]}}' >/dev/null || bad "status patch (strategic)"
kwait "gate True: Ready True, no stale reason or message" 20 "$READY | .status == \"True\" and .reason == null and .message == null" pod gated
# the node's own patch (Ready True) came after the gate's: the gate's condition is still there
sleep 6 # a resync or two (--sync-frequency 5s)
kwait "the gate's condition survives the node's status updates" 5 \
        "($GATE | .status == \"True\") and ($READY | .status == \"True\") and ([.status.conditions[].type] | sort == [\"ContainersReady\", \"Initialized\", \"PodReadyToStartContainers\", \"PodScheduled\", \"Ready\", \"example.com/gate\"])" pod gated

# ---- activeDeadlineSeconds shortened on a running pod -------------------------------------
sleep 2
dl_id=$(cs deadline c .containerID)
k patch pod deadline -p '{"spec": {"activeDeadlineSeconds": 2}}' >/dev/null || bad "patch activeDeadlineSeconds"
kwait "a shortened deadline fails the running pod" 30 \
        ".status.phase == \"Failed\" and .status.reason == \"DeadlineExceeded\" and .status.message == \"Pod was active on the node longer than the specified deadline\" and .status.containerStatuses[0].containerID == \"$dl_id\"" pod deadline

k delete pod two gated deadline --wait=false >/dev/null 2>&1
finish_suite
