#!/usr/bin/env bash
# In-place pod resize (issue 17) through `kubectl patch --subresource resize`, against a real API
# server: NotRequired containers get their new cgroup values through the runtime's update (same
# container, no restart), RestartContainer ones restart, the pod cgroup follows; a resize that
# does not fit the node's allocatable is Deferred (v1.37 defers one beyond the node's capacity
# too), kept across a restart of the daemon (the allocation checkpoint) and allocated once room
# is made; a pod-level resize is refused by the API server for a node that does not declare it. The cgroup values are read on the node. Needs root,
# Go (first run builds the control plane), jq, socat, openssl and the runtime packages.
SUITE=resize-cluster BRIDGE=nlrsz SUBNET=10.99.20.0/24 NODE=nodelet-resize
. "$(dirname "$0")/lib.sh"

pod rs "  containers:
  - name: c
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}
  - name: r
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    resizePolicy: [{resourceName: memory, restartPolicy: RestartContainer}]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}"
start_daemon
kwait "node Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
kwait "rs runs" 60 "$RUNNING" pod rs
cs() { k get pod "$1" -o json | jq -r ".status.containerStatuses[] | select(.name == \"$2\") | $3"; }
uid=$(k get pod rs -o jsonpath='{.metadata.uid}')

# The cgroup files on the node, v1 (and hybrid) or v2, for the pod (CTR empty) or a container.
cg() { # CTR-ID FILE: cpu.shares cpu.quota memory.limit
        local dir=kubepods/burstable/pod$uid${1:+/$1}
        if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
                case $2 in
                cpu.quota) awk '{print $1}' "/sys/fs/cgroup/$dir/cpu.max" ;;
                memory.limit) cat "/sys/fs/cgroup/$dir/memory.max" ;;
                cpu.shares) cat "/sys/fs/cgroup/$dir/cpu.weight" ;;
                esac
        else
                case $2 in
                cpu.quota) cat "/sys/fs/cgroup/cpu/$dir/cpu.cfs_quota_us" ;;
                memory.limit) cat "/sys/fs/cgroup/memory/$dir/memory.limit_in_bytes" ;;
                cpu.shares) cat "/sys/fs/cgroup/cpu/$dir/cpu.shares" ;;
                esac
        fi
}
V2=false; [ -f /sys/fs/cgroup/cgroup.controllers ] && V2=true
shares() { if $V2; then echo $((1 + (($1 - 2) * 9999) / 262142)); else echo "$1"; fi; } # runc's weight formula
cid() { cs rs "$1" .containerID | sed 's|.*://||'; }
cgwait() { # DESCRIPTION CTR-ID FILE WANT
        local got
        for _ in $(seq 120); do got=$(cg "$2" "$3" 2>/dev/null); [ "$got" = "$4" ] && { ok; return 0; }; sleep 0.25; done
        bad "$1: $3 is [$got], want [$4]"; return 1
}
c_id=$(cid c); r_id=$(cid r)
cgwait "c made with its limits" "$c_id" cpu.quota 20000
cgwait "c's memory limit" "$c_id" memory.limit $((128 << 20))
cgwait "the pod's cpu quota is the sum of the limits" "" cpu.quota 30000
kwait "status resources and allocatedResources before any resize" 10 \
        ".status.containerStatuses[] | select(.name == \"c\") | .resources == {\"limits\": {\"cpu\": \"200m\", \"memory\": \"128Mi\"}, \"requests\": {\"cpu\": \"100m\", \"memory\": \"64Mi\"}} and .allocatedResources == {\"cpu\": \"100m\", \"memory\": \"64Mi\"}" pod rs
kwait "observedGeneration 1 on the status and the conditions" 10 \
        '.metadata.generation == 1 and .status.observedGeneration == 1 and ([.status.conditions[].observedGeneration] | all(. == 1))' pod rs

# ---- NotRequired: new cgroup values, same container -----------------------------------------
k patch pod rs --subresource resize -p '{"spec": {"containers": [{"name": "c", "resources":
        {"requests": {"cpu": "300m", "memory": "96Mi"}, "limits": {"cpu": "400m", "memory": "192Mi"}}}]}}' >/dev/null ||
        bad "kubectl patch --subresource resize (c)"
cgwait "c's cpu quota updated in place" "$c_id" cpu.quota 40000
cgwait "c's cpu shares updated in place" "$c_id" cpu.shares "$(shares 307)"
cgwait "c's memory limit updated in place" "$c_id" memory.limit $((192 << 20))
cgwait "the pod cgroup grew with it" "" cpu.quota 50000
kwait "same container, no restart, status shows the new resources, the resize done" 30 \
        "$RUNNING and .metadata.generation == 2 and .status.observedGeneration == 2 and ([.status.conditions[].type] | index(\"PodResizeInProgress\") | not) and ([.status.conditions[].type] | index(\"PodResizePending\") | not) and (.status.containerStatuses[] | select(.name == \"c\") | .containerID == \"crun://$c_id\" and .restartCount == 0 and .allocatedResources == {\"cpu\": \"300m\", \"memory\": \"96Mi\"} and .resources.limits == {\"cpu\": \"400m\", \"memory\": \"192Mi\"}) and (.status.containerStatuses[] | select(.name == \"r\") | .containerID == \"crun://$r_id\" and .restartCount == 0)" pod rs
evs() { k get events -o json | jq -r ".items[] | select(.involvedObject.uid == \"$uid\" and .reason == \"$1\") | .message"; }
[ "$(evs ResizeStarted | head -1)" = 'Pod resize started: {"containers":[{"name":"c","resources":{"limits":{"cpu":"400m","memory":"192Mi"},"requests":{"cpu":"300m","memory":"96Mi"}}},{"name":"r","resources":{"limits":{"cpu":"100m","memory":"64Mi"},"requests":{"cpu":"100m","memory":"32Mi"}}}],"generation":2}' ] &&
        ok || bad "ResizeStarted event (got: $(evs ResizeStarted))"
evs ResizeCompleted | grep -q '^Pod resize completed: .*"generation":2}$' && ok || bad "ResizeCompleted event (got: $(evs ResizeCompleted))"

# ---- RestartContainer for memory: that container restarts with its new limit ---------------
k patch pod rs --subresource resize -p '{"spec": {"containers": [{"name": "r", "resources":
        {"requests": {"memory": "48Mi"}, "limits": {"memory": "96Mi"}}}]}}' >/dev/null || bad "kubectl patch --subresource resize (r)"
kwait "r restarted (restartCount 1, a new container), c untouched" 60 \
        "$RUNNING and (.status.containerStatuses[] | select(.name == \"r\") | .restartCount == 1 and .containerID != \"crun://$r_id\" and .resources.limits.memory == \"96Mi\") and (.status.containerStatuses[] | select(.name == \"c\") | .containerID == \"crun://$c_id\" and .restartCount == 0) and ([.status.conditions[].type] | index(\"PodResizeInProgress\") | not)" pod rs
cgwait "the new r has the new memory limit" "$(cid r)" memory.limit $((96 << 20))
[ "$(evs Killing)" = "Container r resize requires restart" ] && ok || bad "Killing event (got: $(evs Killing))"

# ---- Deferred: not within the node's allocatable (2 CPUs: nproc) beside another pod --------
alloc_cpu=$(k get node "$NODE" -o jsonpath='{.status.allocatable.cpu}')
if [[ $alloc_cpu == *m ]]; then alloc_milli=${alloc_cpu%m}; else alloc_milli=$((alloc_cpu * 1000)); fi
big=$((alloc_milli / 2))
pod big "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600'], resources: {requests: {cpu: ${big}m}}}"
kwait "big runs" 60 "$RUNNING" pod big
want=$((alloc_milli - big))
want_q=${want}m; [ $((want % 1000)) = 0 ] && want_q=$((want / 1000)) # the API's canonical quantity
k patch pod rs --subresource resize -p "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\":
        {\"requests\": {\"cpu\": \"${want}m\"}, \"limits\": {\"cpu\": \"${want}m\"}}}]}}" >/dev/null || bad "kubectl patch --subresource resize (deferred)"
DEFERRED="(.status.conditions[] | select(.type == \"PodResizePending\") | .status == \"True\" and .reason == \"Deferred\" and .message == \"Node didn't have enough resource: cpu, requested: $((want + 100)), used: $big, capacity: $alloc_milli\" and .observedGeneration == 4) and (.status.containerStatuses[] | select(.name == \"c\") | .containerID == \"crun://$c_id\" and .allocatedResources.cpu == \"300m\" and .resources.limits.cpu == \"400m\")"
kwait "Deferred with the kubelet's message, the allocation kept" 30 "$DEFERRED" pod rs
cgwait "a deferred resize leaves the cgroup alone" "$c_id" cpu.quota 40000
evs ResizeDeferred | grep -q "^Pod resize Deferred: .*\"generation\":4,\"error\":\"Node didn't have enough resource: cpu" && ok ||
        bad "ResizeDeferred event (got: $(evs ResizeDeferred))"

# the allocation checkpoint: a restart of the daemon does not take the deferred resize as allocated
stop_daemon
start_daemon
sleep 8 # the resync after the restart (--sync-frequency 5s)
kwait "still Deferred after a restart of the daemon" 30 "$DEFERRED" pod rs
cgwait "and the cgroup still has the allocation" "$c_id" cpu.quota 40000

# room made: the kubelet retries pending resizes when a pod goes
k delete pod big --wait=false >/dev/null
kwait "big is gone" 60 '.items | map(select(.metadata.name == "big")) | length == 0' pods
cgwait "the deferred resize is applied once it fits" "$c_id" cpu.quota $((want * 100))
kwait "allocated and done: the pending condition removed, same container" 30 \
        "([.status.conditions[].type] | (index(\"PodResizePending\") or index(\"PodResizeInProgress\")) | not) and (.status.containerStatuses[] | select(.name == \"c\") | .containerID == \"crun://$c_id\" and .restartCount == 0 and .allocatedResources.cpu == \"$want_q\") and .status.observedGeneration == 4" pod rs

# ---- pod-level resources: nodelet does not resize them. The v1.37 API server lets a pod-level
# resize through only to a node that declares InPlacePodLevelResourcesVerticalScaling; if one
# came, nodelet says Infeasible as a kubelet without that gate does ----
pod plr "  resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 64Mi}}
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
kwait "plr runs" 60 "$RUNNING" pod plr
plr_id=$(cs plr c .containerID)
if out=$(k patch pod plr --subresource resize -p '{"spec": {"resources": {"requests": {"cpu": "150m"}, "limits": {"cpu": "300m"}}}}' 2>&1); then
        kwait "a pod-level resize is Infeasible, the pod kept" 30 \
                "(.status.conditions[] | select(.type == \"PodResizePending\") | .reason == \"Infeasible\" and .message == \"InPlacePodLevelResourcesVerticalScaling is disabled\") and .status.containerStatuses[0].containerID == \"$plr_id\" and $RUNNING" pod plr
else
        # nodelet declares no node features (status.declaredFeatures): the API server refuses it
        case $out in *"requires features InPlacePodLevelResourcesVerticalScaling which are not available on node"*) ok ;;
        *) bad "pod-level resize: $out" ;; esac
fi

k delete pod rs plr --wait=false >/dev/null 2>&1
finish_suite
