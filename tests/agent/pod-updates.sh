#!/usr/bin/env bash
# Pods change in place (issue 17), in static-pod mode: a manifest with its own metadata.uid keeps
# its pod across edits (the kubelet's config merge sends an UPDATE), and the pod worker acts as
# the kubelet's computePodActions: a container whose image changed restarts alone, the sandbox,
# the pod IP, the emptyDir and the other container stay; a pod-level change makes a new pod;
# activeDeadlineSeconds applies to the running pod, its clock surviving a daemon restart.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=pod-updates BRIDGE=nlpodupd SUBNET=10.99.17.0/24
. "$(dirname "$0")/lib/node.sh"

# NAME UID IMAGE-OF-change COMMAND-OF-keep [EXTRA-SPEC]
two() {
        cat >"$M/$1.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, uid: $2}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: keep
    image: busybox:1.35
    imagePullPolicy: IfNotPresent
    command: [sh, -c, '$4']
    volumeMounts: [{name: d, mountPath: /data}]
  - name: change
    image: $3
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'if [ -e /data/first ]; then echo again >> /data/log; else echo \$\$ > /data/first; fi; exec sleep 3600']
    volumeMounts: [{name: d, mountPath: /data}]
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo prestop >> /data/prestop']}}}
  volumes: [{name: d, emptyDir: {}}]
${5:-}
Y
}
KEEP='exec sleep 3600'
field() { pod_json "$1" | jq -r "$2"; }
ctr() { # POD NAME JQ -> the container status field
        field "$1" ".status.containerStatuses[] | select(.name == \"$2\") | $3"
}
events() { cat "$T/root/pods/$1/events.json" 2>/dev/null; }

two upd podupd-1 busybox:1.35 "$KEEP"
two whole podupd-2 busybox:1.35 "$KEEP"
two restart podupd-3 busybox:1.35 "$KEEP"
cat >"$M/deadline.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: deadline, uid: podupd-4}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}
Y
start_daemon

RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
for p in upd whole restart deadline; do check "$p runs" $p 60 "$RUNNING"; done

# ---- an image change restarts that container alone ---------------------------------------
keep_id=$(ctr upd keep .containerID); keep_start=$(ctr upd keep .state.running.startedAt)
change_id=$(ctr upd change .containerID); ip=$(field upd .status.podIP); start=$(field upd .status.startTime)
first=$("$NODELET" exec "upd-$NODE" "${ARGS[@]}" -c keep -- cat /data/first 2>&1)
[ -n "$first" ] && ok || bad "the emptyDir file was not written"
two upd podupd-1 busybox:latest "$KEEP"
check "the changed container restarts, restartCount 1" upd 40 \
        "$RUNNING and (.status.containerStatuses[] | select(.name == \"change\") | .restartCount == 1 and .image == \"busybox:latest\" and .containerID != \"$change_id\" and .lastState.terminated != null)"
check "the other container is untouched" upd 5 \
        ".status.containerStatuses[] | select(.name == \"keep\") | .restartCount == 0 and .containerID == \"$keep_id\" and .state.running.startedAt == \"$keep_start\""
check "same pod: UID, IP, startTime" upd 5 ".metadata.uid == \"podupd-1\" and .status.podIP == \"$ip\" and .status.startTime == \"$start\""
out=$("$NODELET" exec "upd-$NODE" "${ARGS[@]}" -c keep -- cat /data/first /data/log /data/prestop 2>&1)
[ "$out" = "$first
again
prestop" ] && ok || bad "the emptyDir kept its file, the new container saw it, preStop ran: got [$out]"
events podupd-1 | jq -e '[.[] | select(.reason == "Killing" and .message == "Container change definition changed, will be restarted")] | length == 1' >/dev/null \
        && ok || bad "Killing event: $(events podupd-1 | jq -c '[.[] | select(.reason == "Killing")]')"

# ---- a command change alone restarts nothing (the kubelet hashes only name and image) -----
keep_id=$(ctr upd keep .containerID); change_id=$(ctr upd change .containerID)
two upd podupd-1 busybox:latest 'echo edited; exec sleep 3600'
check "the new command is the spec" upd 20 '.spec.containers[0].command[2] == "echo edited; exec sleep 3600"'
sleep 3
check "no container restarted for a command change" upd 5 \
        "[.status.containerStatuses[] | .containerID] == [\"$keep_id\", \"$change_id\"] and (.status.containerStatuses[0].restartCount == 0)"

# ---- resources edited in a static manifest: no in-place resize ----------------------------
# (a static pod's edit is a new pod for the kubelet; one with its own UID keeps today's
# per-container rule: the hash is name and image, so nothing restarts and the new resources
# apply at the container's next start; the cgroup is not touched, no resize conditions)
cg_quota() { # POD-UID CONTAINER-ID
        if [ -f /sys/fs/cgroup/cgroup.controllers ]; then awk '{print $1}' "/sys/fs/cgroup/kubepods/burstable/pod$1/$2/cpu.max"
        else cat "/sys/fs/cgroup/cpu/kubepods/burstable/pod$1/$2/cpu.cfs_quota_us"; fi
}
rsz() {
        printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: rsz, uid: podupd-5}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: c, image: %s, command: [sleep, "3600"], resources: {requests: {cpu: 100m}, limits: {cpu: %s}}}\n' \
                "$IMG" "$1" >"$M/rsz.yaml"
}
rsz 200m
check "rsz runs" rsz 60 "$RUNNING"
rsz_id=$(field rsz '.status.containerStatuses[0].containerID' | sed 's|.*://||')
[ "$(cg_quota podupd-5 "$rsz_id")" = 20000 ] && ok || bad "rsz's cpu quota: $(cg_quota podupd-5 "$rsz_id")"
rsz 400m
check "the new limit is the spec" rsz 20 '.spec.containers[0].resources.limits.cpu == "400m"'
sleep 3
check "no restart, no resize conditions, the status says what the container has" rsz 5 \
        "$RUNNING and .metadata.uid == \"podupd-5\" and .status.containerStatuses[0].containerID == \"crun://$rsz_id\" and .status.containerStatuses[0].restartCount == 0 and .status.containerStatuses[0].resources.limits.cpu == \"200m\" and ([.status.conditions[].type | select(startswith(\"PodResize\"))] | length == 0)"
[ "$(cg_quota podupd-5 "$rsz_id")" = 20000 ] && ok || bad "a static edit resized the cgroup: $(cg_quota podupd-5 "$rsz_id")"

# ---- a pod-level change (a new volume) makes a new pod -----------------------------------
old_ids=$(field whole '[.status.containerStatuses[].containerID] | join(" ")')
two whole podupd-2 busybox:1.35 "$KEEP" "  hostname: renamed"
check "a pod-level change restarts the whole pod" whole 60 \
        "$RUNNING and .spec.hostname == \"renamed\" and ([.status.containerStatuses[] | .containerID] | map(inside(\"$old_ids\") | not) | all) and ([.status.containerStatuses[].restartCount] == [0, 0])"

# ---- activeDeadlineSeconds set on a running pod (older than it): it fails ----------------
sleep 2
deadline_id=$(field deadline '.status.containerStatuses[0].containerID')
sed -i 's/^spec:$/spec:\n  activeDeadlineSeconds: 2/' "$M/deadline.yaml"
check "a deadline set on a running pod that is older fails it" deadline 20 \
        ".metadata.uid == \"podupd-4\" and .status.phase == \"Failed\" and .status.reason == \"DeadlineExceeded\" and .status.message == \"Pod was active on the node longer than the specified deadline\" and .status.containerStatuses[0].containerID == \"$deadline_id\""

# ---- a daemon restart: hashes and startTime survive it ----------------------------------
manifest clock "  activeDeadlineSeconds: 10
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
check "clock runs" clock 60 "$RUNNING"
keep_id=$(ctr restart keep .containerID); change_id=$(ctr restart change .containerID)
start=$(field restart .status.startTime)
stop_daemon
# changed while the daemon was down
two restart podupd-3 busybox:latest "$KEEP"
sleep 10 # the clock pod's deadline (10 s from its start) passes while the daemon is down
start_daemon
check "after a restart only the changed container restarts" restart 60 \
        "$RUNNING and (.status.containerStatuses[] | select(.name == \"change\") | .restartCount == 1 and .containerID != \"$change_id\") and (.status.containerStatuses[] | select(.name == \"keep\") | .restartCount == 0 and .containerID == \"$keep_id\")"
check "startTime survives the restart" restart 5 ".status.startTime == \"$start\""
check "the deadline clock survives the restart" clock 4 '.status.phase == "Failed" and .status.reason == "DeadlineExceeded"'
stop_daemon

echo "$SUITE: $pass passed, $fail failed"
[ "$fail" = 0 ]
