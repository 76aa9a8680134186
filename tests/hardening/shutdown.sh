#!/usr/bin/env bash
# Graceful node shutdown without rebooting: a private system bus (dbus-daemon) with a stand-in
# for systemd-logind (build/tests/fake-logind) that hands out delay inhibitor locks, says when
# they are released, and emits PrepareForShutdown on SIGUSR1 (true) and SIGUSR2 (false). The
# daemon runs static pods with shutdownGracePeriod 20s and shutdownGracePeriodCriticalPods 8s.
# What must hold, as the kubelet's node shutdown manager:
# - bad settings are refused naming the key (the kubelet's validation messages);
# - no system bus, no logind, or a logind whose InhibitDelayMaxSec cannot be raised: one
#   warning, the feature is off, pods run;
# - InhibitDelayMaxUSec (5 s) below the period: the logind.conf.d drop-in is written, logind
#   reloaded (systemd's KillUnit SIGHUP), then the delay lock is taken;
# - on PrepareForShutdown(true): regular pods get SIGTERM first with their grace capped at
#   20s - 8s = 12s (a pod ignoring SIGTERM is killed ~12 s later, not after its own 60 s), then
#   the critical pod (system-node-critical) only after the regular group is stopped; each is
#   Failed, reason Terminated, message "Pod was terminated in response to imminent node
#   shutdown.", condition DisruptionTarget True TerminationByKubelet; a pod that had Succeeded
#   stays Succeeded; a pod added meanwhile is rejected (NodeShutdown); the lock is released
#   after the last pod stopped; systemd's STATUS says the node is shutting down;
# - on PrepareForShutdown(false): the lock is taken again, new pods run, the stopped ones stay
#   stopped, also across a restart of the daemon;
# - the system bus restarting: the daemon connects again and takes a new lock.
SUITE=hard-shutdown BRIDGE=nlshut SUBNET=10.99.26.0/24
. "$(dirname "$0")/lib.sh"
FAKE_LOGIND=$(cd "$(dirname "$NODELET")" && pwd)/tests/fake-logind
if ! command -v dbus-daemon >/dev/null || [ ! -x "$FAKE_LOGIND" ]; then
        echo "$SUITE: needs dbus-daemon (tests/fixtures/deps.sh) and $FAKE_LOGIND (make test-hardening); skipped"
        echo "$SUITE: 0 passed, 0 failed"
        exit 0
fi
. tests/fixtures/logind.sh
SUITE_CLEANUP=bus_stop
# the daemon's log since the last mark
mark_log() { LOG_FROM=$(( $(cat "$T/daemon.log" 2>/dev/null | wc -l) + 1 )); }
log_since() { tail -n +"${LOG_FROM:-1}" "$T/daemon.log" 2>/dev/null; }
wait_since() { # TIMEOUT PATTERN: in the daemon's log since the mark
        for _ in $(seq $(($1 * 5))); do log_since | grep -q -- "$2" && return 0; sleep 0.2; done
        return 1
}
locks() { grep -c 'inhibit who=nodelet' "$T/logind.log"; }
wait_locks() { # N: at least N locks taken so far
        for _ in $(seq 150); do [ "$(locks)" -ge "$1" ] && return 0; sleep 0.2; done
        return 1
}
epoch() { date -d "$1" +%s 2>/dev/null || echo 0; }

# ---- bad settings ------------------------------------------------------------------------------
refused() { # DESCRIPTION WANT ARGS...
        local what=$1 want=$2; shift 2
        local out
        out=$(timeout 20 "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" "$@" 2>&1)
        local rc=$?
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && printf '%s' "$out" | grep -qF -- "$want"; then ok; else
                bad "$what: exit $rc, want an error with: $want"; printf '%s\n' "$out" | head -5 | sed 's/^/    /'
        fi
}
refused "critical part above the period" "shutdownGracePeriodCriticalPods 10s must be <= shutdownGracePeriod 5s" \
        --shutdown-grace-period 5s --shutdown-grace-period-critical-pods 10s
refused "sub-second period" "shutdownGracePeriod 500ms must be either zero or otherwise >= 1 sec" \
        --shutdown-grace-period 500ms
refused "negative period" "--shutdown-grace-period: \"-5s\" must be a duration >= 0" --shutdown-grace-period=-5s
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nshutdownGracePeriod: 30s\nshutdownGracePeriodByPodPriority:\n- {priority: 0, shutdownGracePeriodSeconds: 10}\n' >"$T/both.yaml"
refused "both forms" "Cannot specify both shutdownGracePeriodByPodPriority and shutdownGracePeriod at the same time" \
        --config "$T/both.yaml"
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nshutdownGracePeriodByPodPriority:\n- {priority: 0, shutdownGracePeriodSecond: 10}\n' >"$T/typo.yaml"
refused "unknown key in the priority list" "shutdownGracePeriodByPodPriority[0].shutdownGracePeriodSecond: unknown key" \
        --config "$T/typo.yaml"

# ---- no bus, no logind ---------------------------------------------------------------------------
manifest plain "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-such-bus
DAEMON_EXTRA=(--shutdown-grace-period 20s --shutdown-grace-period-critical-pods 8s)
mark_log
start_daemon
check "no bus: pods run" plain 60 '.status.phase == "Running"'
wait_since 30 "graceful node shutdown off"
sleep 2 # nothing more comes
n=$(log_since | grep -c "graceful node shutdown off")
[ "$n" = 1 ] && ok || bad "no bus: want one warning that graceful node shutdown is off, got $n"
stop_daemon

bus_start

mark_log
start_daemon
wait_since 30 "graceful node shutdown off" && ok || bad "no logind: no warning"
sleep 2 # nothing more comes
n=$(log_since | grep -c "graceful node shutdown off")
[ "$n" = 1 ] && ok || bad "no logind: want one warning, got $n"
stop_daemon

# ---- a logind that keeps its 5 s limit ------------------------------------------------------------
: >"$T/logind.log"
logind_start --delay-max-sec 5 --conf-dir "$T/elsewhere"
cat >"$T/kubelet.yaml" <<X
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
shutdownGracePeriod: 20s
shutdownGracePeriodCriticalPods: 8s
nodelet:
  logindConfDir: $T/logind.conf.d
X
DAEMON_EXTRA=(--config "$T/kubelet.yaml")
mark_log
start_daemon
want="node shutdown manager was unable to update logind InhibitDelayMaxSec to 20s (ShutdownGracePeriod), current value of InhibitDelayMaxSec (5s) is less than requested ShutdownGracePeriod"
wait_since 30 "graceful node shutdown off" && ok || bad "limit kept: no warning"
log_since | grep -qF "$want" && ok || { bad "limit kept: want the kubelet's message: $want"; log_since | grep "graceful" | sed 's/^/    /'; }
grep -q "InhibitDelayMaxSec=20" "$T/logind.conf.d/99-nodelet.conf" 2>/dev/null && ok || bad "no drop-in with InhibitDelayMaxSec=20"
grep -q "inhibit who=nodelet" "$T/logind.log" && bad "limit kept: a lock was taken anyway" || ok
stop_daemon
logind_stop

# ---- the shutdown -----------------------------------------------------------------------------------
: >"$T/logind.log"
rm -rf "$T/logind.conf.d"
logind_start --delay-max-sec 5 --conf-dir "$T/logind.conf.d"
mkdir -p "$T/out"
rm -f "$M/plain.yaml"
VOL="  volumes: [{name: out, hostPath: {path: $T/out, type: Directory}}]"
# SIGTERM: note the time, take 2 s, exit 0
manifest reg "  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"date +%s > /out/reg.term; sleep 2; exit 0\" TERM; while true; do sleep 0.2; done']
    volumeMounts: [{name: out, mountPath: /out}]
$VOL"
# SIGTERM noted and ignored: only SIGKILL ends it
manifest stubborn "  terminationGracePeriodSeconds: 60
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"date +%s > /out/stubborn.term\" TERM; while true; do sleep 0.2; done']
    volumeMounts: [{name: out, mountPath: /out}]
$VOL"
manifest crit "  priorityClassName: system-node-critical
  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"date +%s > /out/crit.term; exit 0\" TERM; while true; do sleep 0.2; done']
    volumeMounts: [{name: out, mountPath: /out}]
$VOL"
manifest done "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'exit 0']}"
: >"$T/notify.log"
listen_notify
mark_log
start_daemon
for p in reg stubborn crit; do check "$p running" "$p" 60 '.status.phase == "Running"'; done
check "done completed" done 60 '.status.phase == "Succeeded"'
wait_log "$T/logind.log" 30 "inhibit who=nodelet what=shutdown why=Nodelet needs time to handle node shutdown mode=delay held=1" \
        && ok || { bad "no delay lock taken"; cat "$T/logind.log" | sed 's/^/    /'; }
grep -q "reload delay=20000000" "$T/logind.log" && ok || bad "logind not reloaded with the 20 s limit"
grep -qx "InhibitDelayMaxSec=20" "$T/logind.conf.d/99-nodelet.conf" 2>/dev/null && ok || bad "drop-in missing"

kill -USR1 "$LOGIND_PID"
start=$(date +%s)
SHUT='.status.phase == "Failed" and .status.reason == "Terminated" and .status.message == "Pod was terminated in response to imminent node shutdown." and ([.status.conditions[] | select(.type == "DisruptionTarget" and .status == "True" and .reason == "TerminationByKubelet" and .message == "Pod was terminated in response to imminent node shutdown.")] | length == 1)'
check "reg: the shutdown status" reg 30 "$SHUT"
# a pod that comes now is refused
manifest late "  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
check "late: rejected" late 30 '.status.phase == "Failed" and .status.reason == "NodeShutdown" and .status.message == "Pod was rejected as the node is shutting down."'
wait_log "$T/notify.log" 10 "node is shutting down" && ok || bad "systemd STATUS does not say the node is shutting down"
check "reg: exited 0 after its SIGTERM handler" reg 30 '.status.containerStatuses[0].state.terminated.exitCode == 0'
check "stubborn: the shutdown status" stubborn 60 "$SHUT"
check "stubborn: SIGKILLed" stubborn 60 '.status.containerStatuses[0].state.terminated.exitCode == 137'
check "crit: the shutdown status" crit 60 "$SHUT and .status.containerStatuses[0].state.terminated.exitCode == 0"
wait_log "$T/logind.log" 60 "released who=nodelet held=0" && ok || bad "the lock was not released"
grep -q "shutdown-may-proceed" "$T/logind.log" && ok || bad "logind was not let to proceed"
check "done: still Succeeded, untouched" done 5 '.status.phase == "Succeeded" and .status.reason == null and ([.status.conditions[] | select(.type == "DisruptionTarget")] | length == 0)'
# the order and the times
reg_t=$(cat "$T/out/reg.term" 2>/dev/null || echo 0)
stub_t=$(cat "$T/out/stubborn.term" 2>/dev/null || echo 0)
crit_t=$(cat "$T/out/crit.term" 2>/dev/null || echo 0)
stub_end=$(epoch "$(pod_json stubborn | jq -r '.status.containerStatuses[0].state.terminated.finishedAt')")
rel_t=$(grep "released who=nodelet held=0" "$T/logind.log" | head -1 | cut -d. -f1)
echo "    shutdown at $start: reg TERM $reg_t, stubborn TERM $stub_t killed $stub_end, crit TERM $crit_t, lock released $rel_t"
[ "$reg_t" -ge "$start" ] && [ "$stub_t" -ge "$start" ] && [ "$reg_t" -le $((start + 10)) ] && ok \
        || bad "the regular pods did not get SIGTERM at once"
# the 12 s cap (20s - 8s), not the pod's own 60 s; 1 s of rounding either way
d=$((stub_end - stub_t))
[ "$d" -ge 10 ] && [ "$d" -le 25 ] && ok || bad "stubborn: killed $d s after SIGTERM, want about 12"
[ "$crit_t" -ge $((stub_end - 1)) ] && ok || bad "crit got SIGTERM ($crit_t) before the regular group ended ($stub_end)"
[ -n "$rel_t" ] && [ "$rel_t" -ge "$crit_t" ] && ok || bad "the lock was released ($rel_t) before crit stopped ($crit_t)"

# ---- the shutdown is cancelled ----------------------------------------------------------------------
kill -USR2 "$LOGIND_PID"
wait_locks 2 && [ "$(locks)" = 2 ] && grep -q "inhibit who=nodelet.*held=1" "$T/logind.log" && ok \
        || bad "the lock was not taken again"
manifest after "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
check "after: a new pod runs" after 60 '.status.phase == "Running"'
check "reg: still stopped" reg 5 "$SHUT"
# and across a restart of the daemon
stop_daemon
start_daemon
check "after: running after a restart" after 60 '.status.phase == "Running"'
sleep 3
check "reg: still stopped after a restart" reg 10 "$SHUT and .status.containerStatuses[0].restartCount == 0 and .status.containerStatuses[0].state.terminated != null"
wait_locks 3 && ok || bad "no lock after the restart"
# the system bus restarts (and logind with it): the daemon connects again and takes a new lock
n=$(locks)
bus_stop
sleep 2
bus_start
logind_start --delay-max-sec 30 --conf-dir "$T/logind.conf.d"
wait_locks $((n + 1)) && ok || bad "no lock after the bus came back"
grep -q "graceful node shutdown: the system bus connection ended; reconnecting" "$T/daemon.log" && ok || bad "the lost bus not logged"
check "after: still running after the bus restart" after 10 '.status.phase == "Running"'
stop_daemon
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T/daemon.log"; then
        bad "sanitizer reports in the daemon's log"; grep -A12 "ERROR: \|runtime error:" "$T/daemon.log" | head -40
else ok; fi
finish
