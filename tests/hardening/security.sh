#!/usr/bin/env bash
# Pod security settings a hostile manifest can abuse, through `nodelet validate` and the daemon:
# - sysctl value injection (CVE-2022-0811): "+" / "=" / newline smuggling a second sysctl
#   (kernel.core_pattern) into a safe one: refused by validation, the host's core_pattern
#   unchanged; a plain safe sysctl still applies inside the pod only.
# - an unsafe sysctl (kernel.msgmax, vm.swappiness, kernel.core_pattern): SysctlForbidden, no
#   container runs.
# - procMount: Unmasked without hostUsers: false: refused by validation; with it, the pod's root
#   is not the node's and /proc/sys stays the node's to write.
# - workingDir pointing out of the rootfs through a leaked fd (CVE-2024-21626, /proc/self/fd/N)
#   and through "..": with crun and with runc (when installed), the container never sees the
#   host's files: it is refused or lands inside its rootfs.
SUITE=hard-security BRIDGE=nlhardc SUBNET=10.232.9.0/24
. "$(dirname "$0")/lib.sh"
core_before=$(cat /proc/sys/kernel/core_pattern)
shm_before=$(cat /proc/sys/kernel/shm_rmid_forced)
MARK="HOST-MARK-$$"
echo "$MARK" >"$T/marker"

pod_file() { # NAME SPEC -> $T/NAME.yaml
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2" >"$T/$1.yaml"
}
expect_invalid() { # NAME NEEDLE
        "$NODELET" validate "$T/$1.yaml" >"$T/v.out" 2>&1
        local rc=$?
        if [ $rc -eq 1 ] && grep -qF -- "$2" "$T/v.out"; then ok; else bad "validate $1: exit $rc, want \"$2\""; sed 's/^/    /' "$T/v.out"; fi
        echo "    validate $1: $(grep -v 'documents invalid' "$T/v.out" | head -n 1 | sed "s|$T/||" | cut -c1-200)"
}

# ---- sysctl injection -------------------------------------------------------------------------
i=0
for v in '1+kernel.core_pattern=|/tmp/pwn %p' '1 kernel.core_pattern=|/tmp/pwn' "1\nkernel.core_pattern=|/tmp/pwn"; do
        i=$((i + 1))
        pod_file "inject$i" "  securityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: \"$v\"}]}
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
        expect_invalid "inject$i" "spec.securityContext.sysctls[0].value: Invalid value"
        cp "$T/inject$i.yaml" "$M/"
done
# ---- unsafe sysctls ---------------------------------------------------------------------------
for s in kernel.msgmax vm.swappiness kernel.core_pattern; do
        manifest "unsafe-$(echo "$s" | tr ._ --)" "  securityContext: {sysctls: [{name: $s, value: '1'}]}
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
done
manifest safe-sysctl "  restartPolicy: Never
  securityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: '1'}]}
  containers:
  - {name: c, image: $IMG, command: [cat, /proc/sys/kernel/shm_rmid_forced]}"
# ---- procMount ----------------------------------------------------------------------------------
pod_file unmasked "  containers:
  - {name: c, image: $IMG, command: [sleep, '100000'], securityContext: {procMount: Unmasked}}"
expect_invalid unmasked "procMount"
cp "$T/unmasked.yaml" "$M/"
# with hostUsers: false, Unmasked is allowed; the pod's root is then not the node's and cannot
# write the node's sysctls (before user namespaces existed here, this pod ran as real root with
# /proc/sys writable). The write puts back the value read: harmless even where it works.
manifest userns-unmasked "  hostUsers: false
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'if cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern; then echo WROTE; else echo denied; fi; grep -c . /proc/self/uid_map; sleep 100000'], securityContext: {procMount: Unmasked}}"
manifest default-proc "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo keys=\$(cat /proc/keys 2>/dev/null | wc -c) timer_list=\$(cat /proc/timer_list 2>/dev/null | wc -c) acpi=\$(ls /proc/acpi 2>/dev/null | wc -l); echo 3 > /proc/sys/vm/drop_caches']}"

start_daemon
for s in kernel.msgmax vm.swappiness kernel.core_pattern; do
        check "unsafe sysctl $s: SysctlForbidden" "unsafe-$(echo "$s" | tr ._ --)" 30 ".status.phase == \"Failed\" and .status.reason == \"SysctlForbidden\" and (.status.message | contains(\"$s\")) and .status.containerStatuses == null"
done
check "a safe sysctl applies in the pod" safe-sysctl 30 '.status.phase == "Succeeded"'
[ "$("$NODELET" logs "safe-sysctl-$NODE" "${ARGS[@]}" 2>&1)" = 1 ] && ok || bad "safe sysctl not applied in the pod"
for n in inject1 inject2 inject3 unmasked; do
        grep "$n.yaml" "$T/daemon.log" | grep -q "Invalid value\|procMount" && ok || bad "daemon log: $n.yaml not reported"
        "$NODELET" get pod "$n-$NODE" "${ARGS[@]}" >/dev/null 2>&1 && bad "$n: the pod exists" || ok
done
check "hostUsers: false with procMount Unmasked runs" userns-unmasked 30 '.status.containerStatuses[0].state.running != null'
sleep 1
out=$("$NODELET" logs "userns-unmasked-$NODE" "${ARGS[@]}" 2>&1)
[ "$(printf '%s' "$out" | head -1)" = denied ] && ok || bad "hostUsers: false + Unmasked: the node's core_pattern is out of reach (got: $out)"
check "default procMount masks /proc" default-proc 30 '.status.phase == "Failed" or .status.phase == "Succeeded"'
out=$("$NODELET" logs "default-proc-$NODE" "${ARGS[@]}" 2>&1)
printf '%s\n' "$out" | sed 's/^/    default-proc: /'
printf '%s' "$out" | grep -q "keys=0 timer_list=0 acpi=0" && printf '%s' "$out" | grep -q "Read-only file system" && ok \
        || bad "/proc is not masked (/proc/keys, /proc/timer_list, /proc/acpi readable or /proc/sys writable)"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$core_before" ] && ok || bad "the host's core_pattern changed: $(cat /proc/sys/kernel/core_pattern)"
[ "$(cat /proc/sys/kernel/shm_rmid_forced)" = "$shm_before" ] && ok || bad "the host's kernel.shm_rmid_forced changed"

# ---- workingDir out of the rootfs (CVE-2024-21626) ------------------------------------------
# the escape, if it worked: from a host directory (the leaked cgroup fd), climb to / and read
# the marker; from anywhere inside, the same path only finds the container's own (absent) file
ESCAPE="cat ../../../../../../../../..$T/marker 2>&1; pwd; true"
cve_pods() { # PREFIX
        for fd in 3 4 5 6 7 8 9; do
                manifest "$1-fd$fd" "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, workingDir: /proc/self/fd/$fd, command: [sh, -c, '$ESCAPE']}"
        done
        manifest "$1-dotdot" "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, workingDir: '/../../../../..$T', command: [sh, -c, 'cat marker 2>&1; pwd; true']}"
}
cve_check() { # PREFIX RUNTIME
        local p st out leaked=0 refused=0 ran=0
        for p in $(cd "$M" && ls "$1"-*.yaml | sed 's/\.yaml$//'); do
                wait_for "$p" 40 '.status.phase == "Succeeded" or .status.phase == "Failed" or ((.status.containerStatuses[0].state.waiting.reason // "") | test("Error"))' || true
                st=$(pod_json "$p" | jq -c '.status.containerStatuses[0].state')
                out=$("$NODELET" logs "$p-$NODE" "${ARGS[@]}" 2>/dev/null)
                if printf '%s' "$out" | grep -q "$MARK"; then leaked=$((leaked + 1)); echo "    $2 $p: LEAKED: $out"
                elif printf '%s' "$st" | grep -q waiting; then refused=$((refused + 1))
                else ran=$((ran + 1)); fi
                echo "    $2 $p: $(printf '%s' "$st" | cut -c1-160) $(printf '%s' "$out" | tail -n 1 | cut -c1-60)"
        done
        [ $leaked -eq 0 ] && ok || bad "CVE-2024-21626 with $2: $leaked containers read the host's file"
        echo "    $2: $refused refused, $ran ran inside their rootfs, $leaked leaked"
}
# positive control: from a host directory, which is what a leaked fd would give the container
# (the cgroup fd of CVE-2024-21626 is a /sys/fs/cgroup directory), the same command does read
# the marker; so a container that got one would be seen by cve_check
for d in /sys/fs/cgroup/memory /sys/fs/cgroup "$T/root"; do
        [ -d "$d" ] || continue
        out=$(cd "$d" && sh -c "$ESCAPE" 2>&1)
        printf '%s' "$out" | grep -q "$MARK" && ok || bad "positive control: the escape from host dir $d does not read the marker ($out): the CVE check would prove nothing"
done
cve_pods crun
cve_check crun crun
if command -v runc >/dev/null; then
        # the pods go (an empty dir), then a daemon on runc
        rm -f "$M"/*.yaml
        for _ in $(seq 60); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
        stop_daemon
        RUNTIME=runc
        cve_pods runc
        start_daemon
        cve_check runc "runc $(runc --version | head -n 1 | awk '{print $3}')"
fi
finish
