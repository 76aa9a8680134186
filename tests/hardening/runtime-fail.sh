#!/usr/bin/env bash
# The OCI runtime failing on demand: a wrapper named crun (so the daemon treats it as crun)
# fails `create` or `start` while a flag file exists, else runs the real crun. What must hold:
# the container is reported waiting with CreateContainerError / RunContainerError and the
# runtime's message, it is retried with a back-off (not in a tight loop), it runs once the
# runtime works again, and after the pods are removed nothing is left: no container dirs,
# runtime state, mounts, sandboxes, veths, IP reservations, cgroups or shims.
SUITE=hard-runtime-fail BRIDGE=nlhardr SUBNET=10.232.3.0/24
. "$(dirname "$0")/lib.sh"
FLAGS=$T/flags
mkdir -p "$FLAGS" "$T/rtbin"
REAL=$(command -v crun)
cat >"$T/rtbin/crun" <<W
#!/bin/sh
# the first argument that is not an option (or an option's value) is the command
cmd= skip=
for a in "\$@"; do
        if [ -n "\$skip" ]; then skip=; continue; fi
        case \$a in --root|--log|--log-format) skip=1 ;; -*) ;; *) cmd=\$a; break ;; esac
done
echo "\$(date +%s.%N) \$cmd" >>"$FLAGS/calls"
if [ -e "$FLAGS/fail-\$cmd" ]; then
        echo "injected \$cmd failure" >&2
        exit 1
fi
exec "$REAL" "\$@"
W
chmod +x "$T/rtbin/crun"
RUNTIME=$T/rtbin/crun
DAEMON_EXTRA=(-v 2)

attempts() { grep -c " $1\$" "$FLAGS/calls" 2>/dev/null || echo 0; }
# the gaps between consecutive calls of one command, in whole seconds
gaps() { grep " $1\$" "$FLAGS/calls" | awk 'NR > 1 {printf "%d ", $1 - prev} {prev = $1}'; }

# ---- create fails ---------------------------------------------------------------------------
touch "$FLAGS/fail-create"
manifest cfail "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
start_daemon
check "create failing: CreateContainerError with the runtime's message" cfail 30 '.status.phase == "Pending" and (.status.containerStatuses[0].state.waiting | .reason == "CreateContainerError" and (.message | test("injected create failure")))'
sleep 25
n=$(attempts create)
g=$(gaps create)
echo "    create attempts in ~27 s: $n, gaps: $g"
[ "$n" -ge 2 ] && [ "$n" -le 4 ] && ok || bad "create retried $n times in ~27 s (want 2-4: every ~10 s)"
short=$(for x in $g; do [ "$x" -lt 8 ] && echo "$x"; done)
[ -z "$short" ] && ok || bad "create retried after only $short s"
grep -q "Failed.*injected create failure\|injected create failure" "$T/root/pods/"*/events.json && ok || bad "no Failed event with the message"
[ -z "$(ls -A "$T/root/containers" 2>/dev/null)" ] && ok || bad "failed creates left container dirs: $(ls "$T/root/containers")"
[ -z "$(runtime_list)" ] && ok || bad "failed creates left runtime state: $(runtime_list)"
rm -f "$FLAGS/fail-create"
check "create works again: running, no restart counted" cfail 30 '.status.phase == "Running" and .status.containerStatuses[0].restartCount == 0'

# ---- start fails ----------------------------------------------------------------------------
touch "$FLAGS/fail-start"
manifest sfail "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
check "start failing: RunContainerError" sfail 30 '(.status.containerStatuses[0].state.waiting | .reason == "RunContainerError" and (.message | test("injected start failure")))'
sleep 12
n=$(attempts start)
[ "$n" -ge 2 ] && ok || bad "start not retried ($n attempts)"
# a created container that would not start is deleted, not kept: only cfail's is there
[ "$(runtime_list | wc -l)" -eq 1 ] && ok || { bad "containers that failed to start were kept"; runtime_list; }
[ "$(ls "$T/root/containers" | wc -l)" -eq 1 ] && ok || bad "container dirs of failed starts left: $(ls "$T/root/containers" | wc -l)"
rm -f "$FLAGS/fail-start"
check "start works again" sfail 30 '.status.phase == "Running" and .status.containerStatuses[0].restartCount == 0'

# ---- a restart that fails: CrashLoopBackOff grows while create fails ----------------------
manifest crash "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'sleep 2; exit 1']}"
check "crash: ran once" crash 30 '.status.containerStatuses[0].lastState.terminated.exitCode == 1 or .status.containerStatuses[0].state.terminated.exitCode == 1'
touch "$FLAGS/fail-create"
# the failed restart: an event with the runtime's message, the container waiting (the status
# shows CreateContainerError only until the next sync puts CrashLoopBackOff back: see
# docs/reliability.md)
cuid=$(pod_json crash | jq -r .metadata.uid)
for _ in $(seq 60); do grep -q "injected create failure" "$T/root/pods/$cuid/events.json" 2>/dev/null && break; sleep 1; done
grep -q "injected create failure" "$T/root/pods/$cuid/events.json" 2>/dev/null && ok || bad "crash: no event for the failed restart"
check "crash: waiting while create fails" crash 10 '.status.containerStatuses[0].state.waiting.reason == "CreateContainerError" or .status.containerStatuses[0].state.waiting.reason == "CrashLoopBackOff"'
rm -f "$FLAGS/fail-create"
check "crash: restarts again once create works" crash 60 '.status.containerStatuses[0].restartCount >= 1'

# ---- removal: nothing left --------------------------------------------------------------
uids="$(pod_json cfail | jq -r .metadata.uid) $(pod_json sfail | jq -r .metadata.uid) $(pod_json crash | jq -r .metadata.uid)"
# one failure more while removing: delete still works (the wrapper only fails create/start)
touch "$FLAGS/fail-create" "$FLAGS/fail-start"
rm -f "$M"/*.yaml
for _ in $(seq 60); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
[ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && ok || bad "pods not removed"
leak_check "after removal" $uids
rm -f "$FLAGS"/fail-*
finish
