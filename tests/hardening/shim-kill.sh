#!/usr/bin/env bash
# A container's shim (nodelet-shim, its monitor and parent) killed with SIGKILL, with the
# daemon up and with the daemon down. What must hold afterwards: the container is not left
# running unmonitored (its processes are killed, as containerd does after a dead shim), the
# status says it terminated with exit code 137 and why, the restart policy applies (Never:
# Failed; Always/OnFailure: restarted once), and the runtime holds one container per spec.
SUITE=hard-shim-kill BRIDGE=nlhards SUBNET=10.232.2.0/24
. "$(dirname "$0")/lib.sh"

LOOP="while true; do echo tick; sleep 1; done"
for p in never always onfailure down-never down-always; do
        pol=Always
        case $p in *never) pol=Never ;; onfailure) pol=OnFailure ;; esac
        manifest "$p" "  restartPolicy: $pol
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, '$LOOP']}"
done
start_daemon
for p in never always onfailure down-never down-always; do check "$p running" "$p" 30 '.status.phase == "Running"'; done

cid_of() { pod_json "$1" | jq -r '.status.containerStatuses[0].containerID' | sed 's|.*://||'; }
kill_shim() { # POD -> prints the container's init pid
        local id shim cpid
        id=$(cid_of "$1")
        shim=$(cut -d' ' -f1 "$T/root/containers/$id/state/shim.pid")
        cpid=$(cat "$T/root/containers/$id/state/container.pid")
        kill -9 "$shim"
        echo "$cpid"
}
gone() { # PID: the process is gone (or a zombie) within 10 s
        for _ in $(seq 50); do
                [ -e "/proc/$1" ] || return 0
                [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
                sleep 0.2
        done
        return 1
}
LOST='.state.terminated.exitCode == 137 and .state.terminated.reason == "ContainerStatusUnknown" and (.state.terminated.message | test("nodelet-shim"))'
LOST_LAST='.lastState.terminated.exitCode == 137 and .lastState.terminated.reason == "ContainerStatusUnknown"'
one_container_each() {
        local n
        n=$(runtime_list | grep -c ' running$')
        # never and down-never are over: 3 running (always, onfailure, down-always) at most
        [ "$n" -eq "$1" ] && ok || { bad "runtime: $n running containers, want $1"; runtime_list; }
}

# ---- the daemon up ----------------------------------------------------------------------
declare -A PID
for p in never always onfailure; do PID[$p]=$(kill_shim "$p"); done
for p in never always onfailure; do gone "${PID[$p]}" && ok || bad "$p: the container's process ${PID[$p]} still runs after its shim died"; done
check "never: Failed with exit 137 and a reason" never 30 ".status.phase == \"Failed\" and (.status.containerStatuses[0] | $LOST and .restartCount == 0)"
check "always: restarted, lastState says why" always 30 ".status.phase == \"Running\" and (.status.containerStatuses[0] | .restartCount == 1 and .state.running != null and $LOST_LAST)"
check "onfailure: restarted (137 is a failure)" onfailure 30 ".status.containerStatuses[0] | .restartCount == 1 and .state.running != null and $LOST_LAST"
describe=$("$NODELET" describe "never-$NODE" "${ARGS[@]}")
printf '%s' "$describe" | grep -q ContainerStatusUnknown && ok || bad "describe does not show the reason"

# ---- the daemon down ----------------------------------------------------------------------
stop_daemon
for p in down-never down-always; do PID[$p]=$(kill_shim "$p"); done
sleep 2
start_daemon
for p in down-never down-always; do gone "${PID[$p]}" && ok || bad "$p: the container's process ${PID[$p]} still runs after the restart"; done
check "down-never: Failed with exit 137" down-never 30 ".status.phase == \"Failed\" and (.status.containerStatuses[0] | $LOST and .restartCount == 0)"
check "down-always: restarted once" down-always 30 ".status.containerStatuses[0] | .restartCount == 1 and .state.running != null and $LOST_LAST"
sleep 1
one_container_each 3

# ---- removal leaves nothing -------------------------------------------------------------
rm -f "$M"/*.yaml
for _ in $(seq 90); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
[ -z "$(runtime_list)" ] && ok || { bad "runtime containers left after removal"; runtime_list; }
[ -z "$(ls -A "$T/root/containers" 2>/dev/null)" ] && ok || bad "container dirs left after removal"
finish
