#!/usr/bin/env bash
# Operation results larger than a pipe (issue 19, item 2): the daemon reads an op child's
# result while the child runs, and caps what a result may carry, so a failing hook whose
# command and output are large, or an exec probe that floods both streams, can neither block
# the child forever nor stop the pod: the container is still killed, the pod still terminates,
# the probe runs again.
SUITE=hard-big-results BRIDGE=nlhardb SUBNET=10.232.11.0/24
. "$(dirname "$0")/lib.sh"

# 20 KiB of control bytes on each stream (JSON-escaped they grow sixfold), and a 70,000
# character padding that makes the command itself long
FLOOD='i=0; while [ $i -lt 20480 ]; do printf "\001"; printf "\002" >&2; i=$((i+1)); done'
PAD=$(head -c 70000 /dev/zero | tr '\0' '#')
# a preStop hook that floods, with a 70,000-character command, and fails
manifest prestop "  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'trap \"\" TERM; sleep 100000']
    lifecycle:
      preStop:
        exec:
          command:
          - sh
          - -c
          - '$FLOOD; exit 3 $PAD'"
# a postStart hook whose command (70,000 characters) does not exist: the container is killed
manifest poststart "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sleep, '100000']
    lifecycle:
      postStart:
        exec:
          command:
          - '/$PAD'"
# an exec liveness probe that floods and fails: the container restarts, again and again
manifest probe "  containers:
  - name: c
    image: $IMG
    command: [sleep, '100000']
    livenessProbe:
      exec:
        command:
        - sh
        - -c
        - '$FLOOD; exit 1 $PAD'
      periodSeconds: 2
      failureThreshold: 1
      timeoutSeconds: 10"
start_daemon
check "the preStop pod runs" prestop 60 '.status.phase == "Running"'
check "a postStart hook that cannot exec kills its container" poststart 60 '.status.containerStatuses[0].state.terminated != null'
check "an exec probe that floods keeps running and restarting the container" probe 90 '.status.containerStatuses[0].restartCount >= 2'
grep -q 'FailedPostStartHook' "$T/root/pods/$(pod_json poststart | jq -r .metadata.uid)/events.json" && ok || bad "FailedPostStartHook event"
uid=$(pod_json prestop | jq -r .metadata.uid)
start=$(date +%s)
rm -f "$M/prestop.yaml"
gone=0 reported=0
for _ in $(seq 120); do
        grep -q '"FailedPreStopHook"' "$T/root/pods/$uid/events.json" 2>/dev/null && reported=1
        [ -e "$T/root/pods/$uid" ] || { gone=1; break; }
        sleep 0.5
done
[ $gone = 1 ] && ok || bad "the pod whose preStop hook floods terminates within its 20 s grace period (still there after 60 s)"
echo "    preStop pod gone after $(( $(date +%s) - start )) s"
[ $reported = 1 ] && ok || bad "the failed preStop hook is reported (FailedPreStopHook event)"
kill -0 "$DAEMON_PID" && ok || bad "the daemon died"
# no op child is left blocked on a full pipe
left=$(pgrep -P "$DAEMON_PID" | wc -l)
[ "$left" -le 2 ] && ok || bad "$left children of the daemon left (blocked op children?)"
finish
