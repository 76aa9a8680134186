#!/usr/bin/env bash
# A reboot-like restart: the daemon SIGKILLed, every container process and shim killed, every
# mount of the node's dirs gone, the run dir (--run-dir: runtime state, namespace files) wiped,
# pod cgroups and the bridge gone; the root dir (--root-dir, as /var/lib) and the IPAM store
# (as /var/lib/cni) kept. What must hold, as the kubelet after a node reboot: the daemon comes
# up without crashing; each pod gets a new sandbox; containers that were running are reported
# terminated (exit 137, ContainerStatusUnknown), restarted with restartCount 1 under Always and
# OnFailure and left terminated under Never (the pod Failed); a pod that had completed stays
# completed and is not run again; removing the pods afterwards leaves nothing behind.
SUITE=hard-reboot BRIDGE=nlhardb SUBNET=10.232.6.0/24
. "$(dirname "$0")/lib.sh"

manifest always "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
manifest onfailure "  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
manifest never "  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
manifest done "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo ran >> /data/runs; echo done'], volumeMounts: [{name: d, mountPath: /data}]}
  volumes: [{name: d, hostPath: {path: $T/done-data, type: DirectoryOrCreate}}]"
manifest mem "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo hi > /cache/x; sleep 100000'], volumeMounts: [{name: m, mountPath: /cache}]}
  volumes: [{name: m, emptyDir: {medium: Memory}}]"
start_daemon
for p in always onfailure never mem; do check "$p running" "$p" 30 '.status.phase == "Running"'; done
check "done completed" done 30 '.status.phase == "Succeeded"'
declare -A CID SB
for p in always onfailure never done mem; do
        CID[$p]=$(pod_json "$p" | jq -r '.status.containerStatuses[0].containerID')
        SB[$p]=$(cat "$T/root/pods/$(pod_json "$p" | jq -r .metadata.uid)/sandbox.id" 2>/dev/null)
done

# ---- the "reboot" ---------------------------------------------------------------------------
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
for st in "$T"/root/containers/*/state; do
        shim=$(cut -d' ' -f1 "$st/shim.pid" 2>/dev/null) && kill -9 "$shim" 2>/dev/null
        ctr=$(cat "$st/container.pid" 2>/dev/null) && kill -9 "$ctr" 2>/dev/null
done
sleep 1
# every process left in the pods' cgroups, then the cgroups
for cg in $(find /sys/fs/cgroup -type d -path '*kubepods*' -name 'pod*' 2>/dev/null); do
        for u in $(for p in always onfailure never done mem; do pod_json "$p" | jq -r .metadata.uid; done); do
                case $cg in *pod$u*) cat "$cg/cgroup.procs" 2>/dev/null | xargs -r kill -9 2>/dev/null ;; esac
        done
done
sleep 1
for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt" 2>/dev/null; done
rm -rf "$T/run"
for u in $(for p in always onfailure never done mem; do pod_json "$p" | jq -r .metadata.uid; done); do
        find /sys/fs/cgroup -depth -type d -path "*pod$u*" -exec rmdir {} \; 2>/dev/null
done
ip link del "${BRIDGE}0" 2>/dev/null
left=$(pgrep -f "nodelet-shim.*$T/" | wc -l)
[ "$left" -eq 0 ] && ok || bad "shims survived the reboot simulation"

start_daemon
sleep 2
kill -0 "$DAEMON_PID" 2>/dev/null && ok || bad "the daemon died starting after the reboot"
LOST='.lastState.terminated.exitCode == 137 and .lastState.terminated.reason == "ContainerStatusUnknown"'
for p in always onfailure mem; do
        check "$p: restarted after the reboot" "$p" 60 ".status.phase == \"Running\" and (.status.containerStatuses[0] | .restartCount == 1 and .state.running != null and .containerID != \"${CID[$p]}\" and $LOST)"
done
check "never: Failed, not restarted" never 60 ".status.phase == \"Failed\" and (.status.containerStatuses[0] | .restartCount == 0 and .containerID == \"${CID[never]}\" and .state.terminated.exitCode == 137 and .state.terminated.reason == \"ContainerStatusUnknown\")"
check "done: still Succeeded, not run again" done 30 ".status.phase == \"Succeeded\" and (.status.containerStatuses[0] | .restartCount == 0 and .containerID == \"${CID[done]}\" and .state.terminated.exitCode == 0)"
[ "$(grep -c ran "$T/done-data/runs" 2>/dev/null)" = 1 ] && ok || bad "the completed pod ran again ($(cat "$T/done-data/runs" 2>/dev/null | wc -l) runs)"
for p in always onfailure mem; do
        sb=$(cat "$T/root/pods/$(pod_json "$p" | jq -r .metadata.uid)/sandbox.id" 2>/dev/null)
        [ -n "$sb" ] && [ "$sb" != "${SB[$p]}" ] && ok || bad "$p: no new sandbox after the reboot ($sb)"
done
check "mem: the new sandbox has an IP" mem 5 '.status.podIP | startswith("10.232.6.")'
out=$("$NODELET" exec "mem-$NODE" "${ARGS[@]}" -- cat /cache/x 2>&1)
[ "$out" = hi ] && ok || bad "mem: the emptyDir (medium Memory) is not mounted again: $out"
# the runtime knows exactly the new containers
n=$(runtime_list | grep -c ' running$')
[ "$n" -eq 3 ] && ok || { bad "runtime: $n running containers, want 3"; runtime_list; }

uids=$(for p in always onfailure never done mem; do pod_json "$p" | jq -r .metadata.uid; done)
rm -f "$M"/*.yaml
for _ in $(seq 90); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
[ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && ok || bad "pods not removed after the reboot"
# The sandboxes of before the reboot had their CNI state (the ADD results) in the wiped run
# dir: nothing runs CNI DEL for them, and host-local keeps their addresses reserved.
IPAM_LEAK_KNOWN="the pre-reboot sandboxes' IPs stay reserved: their CNI results were kept in the run dir only (cri/sandbox.c), so no CNI DEL runs for them" \
        leak_check "removal after the reboot" $uids
finish
