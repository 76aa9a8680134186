#!/usr/bin/env bash
# Graceful node shutdown against a real API server (issue 20), with the systemd-logind stand-in
# on a private bus (tests/fixtures/logind.sh): with shutdownGracePeriod 10s and
# shutdownGracePeriodCriticalPods 4s, PrepareForShutdown(true) turns the Node's Ready condition
# False (KubeletNotReady, "node is shutting down", as the kubelet's ReadyCondition with the
# shutdown manager's error); a regular API pod and then a system-node-critical one (its
# spec.priority set by the API server) are stopped and reported Failed / Terminated with the
# kubelet's message and DisruptionTarget condition, and stay in the API (the kubelet does not
# delete them); a pod bound meanwhile is rejected (NodeShutdown); the lock is released; and
# PrepareForShutdown(false) brings Ready back and takes the lock again.
SUITE=shutdown-cluster BRIDGE=nlshut2 SUBNET=10.99.27.0/24 NODE=nodelet-shut
export APISERVER_PORT=${APISERVER_PORT:-16490} ETCD_PORT=${ETCD_PORT:-12490} ETCD_PEER_PORT=${ETCD_PEER_PORT:-12491}
. "$(dirname "$0")/lib.sh"
FAKE_LOGIND=$(cd "$(dirname "$NODELET")" && pwd)/tests/fake-logind
if ! command -v dbus-daemon >/dev/null || [ ! -x "$FAKE_LOGIND" ]; then
        bad "needs dbus-daemon (tests/fixtures/deps.sh) and $FAKE_LOGIND (make $FAKE_LOGIND)"
        finish_suite; exit 1
fi
. tests/fixtures/logind.sh
cleanup_all() { bus_stop; stop_cp; }
SUITE_CLEANUP=cleanup_all
bus_start
logind_start --delay-max-sec 30 --conf-dir "$T/logind.conf.d"
cat >"$T/kubelet.yaml" <<X
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
shutdownGracePeriod: 10s
shutdownGracePeriodCriticalPods: 4s
nodelet:
  logindConfDir: $T/logind.conf.d
X
EXTRA_ARGS+=(--config "$T/kubelet.yaml")

TERM_HANDLER='trap "sleep 1; exit 0" TERM; while true; do sleep 0.2; done'
pod reg "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sh, -c, '$TERM_HANDLER']}"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: crit, namespace: default}\nspec:\n  nodeName: %s\n  automountServiceAccountToken: false\n  priorityClassName: system-node-critical\n  containers:\n  - {name: c, image: %s, imagePullPolicy: IfNotPresent, command: [sh, -c, '"'"'%s'"'"']}\n' \
        "$NODE" "$IMG" "$TERM_HANDLER" | apply
start_daemon
READY='.status.conditions[] | select(.type=="Ready")'
kwait "node Ready" 60 "$READY | .status == \"True\" and .reason == \"KubeletReady\"" node "$NODE"
kwait "reg runs" 60 '.status.phase == "Running"' pod reg
kwait "crit runs, priority from the API server" 60 '.status.phase == "Running" and .spec.priority == 2000001000' pod crit
wait_log "$T/logind.log" 30 "inhibit who=nodelet.*mode=delay held=1" && ok || bad "no delay lock"

kill -USR1 "$LOGIND_PID"
kwait "node not Ready during the shutdown, the kubelet's reason and message" 30 \
        "$READY | .status == \"False\" and .reason == \"KubeletNotReady\" and .message == \"node is shutting down\"" node "$NODE"
SHUT='.status.phase == "Failed" and .status.reason == "Terminated" and .status.message == "Pod was terminated in response to imminent node shutdown." and ([.status.conditions[] | select(.type == "DisruptionTarget" and .status == "True" and .reason == "TerminationByKubelet")] | length == 1) and .status.containerStatuses[0].state.terminated.exitCode == 0'
kwait "reg: Failed, Terminated, DisruptionTarget" 60 "$SHUT" pod reg
kwait "crit: Failed, Terminated, DisruptionTarget" 60 "$SHUT" pod crit
reg_end=$(k get pod reg -o json | jq -r '.status.containerStatuses[0].state.terminated.finishedAt')
crit_end=$(k get pod crit -o json | jq -r '.status.containerStatuses[0].state.terminated.finishedAt')
[ "$(date -d "$crit_end" +%s)" -ge "$(date -d "$reg_end" +%s)" ] && ok || bad "crit ended ($crit_end) before reg ($reg_end)"
pod late "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
kwait "late: rejected" 30 '.status.phase == "Failed" and .status.reason == "NodeShutdown" and .status.message == "Pod was rejected as the node is shutting down."' pod late
wait_log "$T/logind.log" 60 "released who=nodelet held=0" && ok || bad "the lock was not released"

kill -USR2 "$LOGIND_PID"
kwait "node Ready again after the cancellation" 30 "$READY | .status == \"True\" and .reason == \"KubeletReady\"" node "$NODE"
for _ in $(seq 150); do [ "$(grep -c 'inhibit who=nodelet' "$T/logind.log")" -ge 2 ] && break; sleep 0.2; done
[ "$(grep -c 'inhibit who=nodelet' "$T/logind.log")" = 2 ] && ok || bad "the lock was not taken again"
kwait "reg stays stopped" 5 "$SHUT" pod reg

k delete pod reg late --wait=false >/dev/null 2>&1
k delete pod crit --wait=false >/dev/null 2>&1
finish_suite
