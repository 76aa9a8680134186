#!/usr/bin/env bash
# The daemon SIGKILLed while its operations run (issue 19, item 6): an operation child (a
# sandbox being made, a container being created) outlives the daemon and finishes after the
# next daemon has read the node's state. Made deterministic with slow tools: a CNI bridge
# wrapper that takes 4 s for ADD and a runtime wrapper that takes 4 s for create. What must
# hold once things settle: one sandbox, one container, one pod IP per pod; no leaked
# namespace, veth or IP reservation after the pods are removed.
SUITE=hard-op-orphans BRIDGE=nlhardo SUBNET=10.232.12.0/24
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/cnibin" "$T/rtbin"
for p in /usr/lib/cni/* /opt/cni/bin/*; do [ -x "$p" ] && ln -sf "$p" "$T/cnibin/"; done
REALBRIDGE=$(readlink -f "$T/cnibin/bridge")
rm -f "$T/cnibin/bridge"
cat >"$T/cnibin/bridge" <<W
#!/bin/sh
[ "\$CNI_COMMAND" = ADD ] && [ -e "$T/slow" ] && sleep 4
exec "$REALBRIDGE" "\$@"
W
chmod +x "$T/cnibin/bridge"
REAL=$(command -v crun)
cat >"$T/rtbin/crun" <<W
#!/bin/sh
for a in "\$@"; do case \$a in create) [ -e "$T/slow" ] && sleep 4; break ;; esac; done
exec "$REAL" "\$@"
W
chmod +x "$T/rtbin/crun"
RUNTIME=$T/rtbin/crun
DAEMON_EXTRA=(--cni-bin-dir "$T/cnibin")
touch "$T/slow"

for i in 1 2 3; do
        manifest "p$i" "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
done
# SIGKILL while the sandboxes are made (CNI ADD in flight), restart at once
start_daemon
sleep 1.5
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
start_daemon
for i in 1 2 3; do check "p$i runs after a SIGKILL during its sandbox" "p$i" 90 '.status.phase == "Running"'; done
# SIGKILL while the containers are created (runtime create in flight)
manifest p4 "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
sleep 6 # past p4's sandbox (4 s), into its create (4 s)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
start_daemon
check "p4 runs after a SIGKILL during its create" p4 90 '.status.phase == "Running"'
rm -f "$T/slow"
sleep 8 # anything still in flight ends
for i in 1 2 3 4; do
        uid=$(pod_json "p$i" | jq -r .metadata.uid)
        n=$(grep -l "\"podUID\": \"$uid\"" "$T"/run/sandboxes/*/sandbox.json 2>/dev/null | wc -l)
        [ "$n" = 1 ] && ok || bad "p$i: $n sandboxes, want 1"
        n=$(grep -l "\"podUid\": \"$uid\"" "$T"/root/containers/*/container.json 2>/dev/null | wc -l)
        [ "$n" = 1 ] && ok || bad "p$i: $n containers, want 1"
done
n=$(runtime_list | wc -l)
[ "$n" = 4 ] && ok || bad "the runtime knows $n containers, want 4"
n=$(ls "$T/ipam/$BRIDGE" 2>/dev/null | grep -c '^10\.')
[ "$n" = 4 ] && ok || bad "$n pod IPs reserved, want 4: $(ls "$T/ipam/$BRIDGE" 2>/dev/null | tr '\n' ' ')"
n=$(ls /sys/class/net/${BRIDGE}0/brif 2>/dev/null | wc -l)
[ "$n" = 4 ] && ok || bad "$n veths on the bridge, want 4"
grep -q 'waiting for the operations of the previous daemon to end' "$T/daemon.log" && ok || bad "the daemon waited for the previous one's operations"
# removal leaves nothing
rm -f "$M"/*.yaml
for _ in $(seq 60); do [ -z "$(ls -A "$T/root/pods")" ] && break; sleep 0.5; done
[ -z "$(ls -A "$T/root/pods")" ] && ok || bad "pods left after removal"
[ -z "$(ls -A "$T/run/sandboxes" 2>/dev/null)" ] && ok || bad "sandboxes left: $(ls "$T/run/sandboxes")"
n=$(ls "$T/ipam/$BRIDGE" 2>/dev/null | grep -c '^10\.')
[ "$n" = 0 ] && ok || bad "$n pod IPs still reserved after removal"
n=$(ls /sys/class/net/${BRIDGE}0/brif 2>/dev/null | wc -l)
[ "$n" = 0 ] && ok || bad "$n veths left on the bridge"
finish
