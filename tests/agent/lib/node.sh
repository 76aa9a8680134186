#!/usr/bin/env bash
# What the daemon's end-to-end suites share: a throw-away node (dirs, a CNI config with its own
# bridge and subnet, the busybox image imported offline), the daemon's start and stop, cleanup
# through the daemon (an empty manifest dir removes every pod), and pod checks with jq.
# Source it after setting SUITE (name), BRIDGE (bridge name prefix) and SUBNET.
set -u
NODELET=${NODELET:-build/nodelet}
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ "$(id -u)" -ne 0 ] || ! command -v crun >/dev/null || ! command -v jq >/dev/null || ! command -v socat >/dev/null; then
        echo "$SUITE: needs root, crun, jq and socat; skipped"
        echo "$SUITE: 0 passed, 0 failed"
        exit 0
fi

T=$(mktemp -d /tmp/nodelet-$SUITE-XXXXXX)
# as a node's /var/lib is: searchable by others (mktemp makes it 0700); containers in user
# namespaces reach their root through it
chmod 0711 "$T"
M=$T/manifests
NODE=${NODE:-testnode}
ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")
RUNTIME=${RUNTIME:-crun}
mkdir -p "$M" "$T/cni"
cat >"$T/cni/10-test.conflist" <<J
{"cniVersion": "1.0.0", "name": "$BRIDGE", "plugins": [
 {"type": "bridge", "bridge": "${BRIDGE}0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "dataDir": "$T/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
DAEMON_PID=
EXTRA_ARGS=() # a suite's own flags for the daemon (cluster mode: --kubeconfig ...)
start_daemon() {
        NOTIFY_SOCKET=$T/notify.sock "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" "${EXTRA_ARGS[@]}" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}
stop_daemon() {
        [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}
cleanup() {
        stop_daemon
        # a failing run leaves the daemon's log behind for whoever looks next (CI prints its tail)
        if [ "$fail" != 0 ] && [ -f "$T/daemon.log" ]; then
                cp "$T/daemon.log" "/tmp/nodelet-$SUITE.failed.log"
                echo "$SUITE: daemon log kept in /tmp/nodelet-$SUITE.failed.log; its last lines:"
                grep -v ' debug: ' "$T/daemon.log" | tail -15 | sed 's/^/    /'
        fi
        rm -f "$M"/*.yaml
        # a last run with no manifests removes every pod (orphan cleanup), then teardown checks
        if [ -d "$T/root/pods" ] && [ -n "$(ls -A "$T/root/pods" 2>/dev/null)" ]; then
                EXTRA_ARGS=() # without the API server, its pods are orphans too
                start_daemon
                for _ in $(seq 90); do [ -z "$(ls -A "$T/root/pods")" ] && break; sleep 1; done
                stop_daemon
        fi
        [ -n "${SOCAT_PID:-}" ] && kill "$SOCAT_PID" 2>/dev/null
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del "${BRIDGE}0" 2>/dev/null
        rm -rf "$T"
}
SUITE_CLEANUP=${SUITE_CLEANUP:-}
trap '[ -n "$SUITE_CLEANUP" ] && $SUITE_CLEANUP; cleanup' EXIT

# Several processes wait on what `nodelet get pod` says; each check polls up to a timeout.
pod_json() { "$NODELET" get pod "$1-$NODE" "${ARGS[@]}" -o json 2>/dev/null; }
wait_for() { # NAME TIMEOUT JQ-EXPR -> true when the expression is true
        local name=$1 timeout=$2 expr=$3
        local out
        for _ in $(seq $((timeout * 5))); do
                # jq 1.6 -e exits 0 on empty input: a pod not written yet must not pass
                if out=$(pod_json "$name") && [ -n "$out" ] && printf '%s' "$out" | jq -e "$expr" >/dev/null 2>&1; then
                        return 0
                fi
                sleep 0.2
        done
        return 1
}
check() { # DESCRIPTION POD TIMEOUT JQ-EXPR
        if wait_for "$2" "$3" "$4"; then ok; else
                bad "$1"
                echo "    want: $4"
                pod_json "$2" | jq -c '.status | {phase, reason, conditions: [.conditions[]? | {type, status, reason, message}], initContainerStatuses, containerStatuses}' 2>/dev/null | sed 's/^/    /' | cut -c1-2000
        fi
}
manifest() { # NAME YAML-SPEC
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s\n' "$1" "$2" >"$M/$1.yaml"
}
IMG=busybox:1.35

# The image, imported offline from the fixture layout.
tests/fixtures/make-images.sh "$T/img" >/dev/null 2>&1 && "$NODELET" images --root-dir "$T/root" import "$T/img/layout" >/dev/null \
        || { echo "$SUITE: fixture images failed"; echo "$SUITE: 0 passed, 1 failed"; exit 1; }
# the node prepared as users prepare it: a bug there fails the suite instead of hiding
deploy/prepare-node.sh --quiet || { echo "$SUITE: deploy/prepare-node.sh failed"; echo "$SUITE: 0 passed, 1 failed"; exit 1; }
