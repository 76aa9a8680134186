#!/usr/bin/env bash
# What the cluster-mode suites share: a real control plane (tests/cluster/control-plane.sh) on a
# throw-away node (tests/agent/lib/node.sh), the daemon's flags to join it as the node, and
# kubectl helpers. Source it after setting SUITE, BRIDGE, SUBNET and NODE; it leaves the daemon
# to start.
cd "$(dirname "$0")/../.."
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
if [ "$(id -u)" -ne 0 ] || ! command -v go >/dev/null; then
        # in CI a skip would hide that nothing ran
        if [ "${CI:-}" = true ]; then echo "$SUITE: needs root and go"; echo "$SUITE: 0 passed, 1 failed"; exit 1; fi
        echo "$SUITE: needs root and go; skipped"; echo "$SUITE: 0 passed, 0 failed"; exit 0
fi
CP=$(mktemp -d /tmp/nodelet-cp-XXXXXX)
stop_cp() { tests/cluster/control-plane.sh stop "$CP" >/dev/null 2>&1; rm -rf "$CP"; }
if ! NODE_NAME=$NODE tests/cluster/control-plane.sh start "$CP" >"$CP/start.log" 2>&1; then
        tail -30 "$CP/start.log"; stop_cp
        echo "$SUITE: control plane did not start"; echo "$SUITE: 0 passed, 1 failed"; exit 1
fi
SUITE_CLEANUP=stop_cp
. tests/agent/lib/node.sh
. "$CP/env"
k() { "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
free_port() { # FROM [TAKEN]: the first port from FROM nothing listens on, other than TAKEN
        local p=$1
        while [ "$p" = "${2:-}" ] || ss -Htln "sport = :$p" | grep -q .; do p=$((p + 1)); done
        echo "$p"
}
PORT=$(free_port 11250)
# not PORT, which nothing listens on yet (with 11248-11251 taken both would get the same)
HEALTHZ=$(free_port 11248 "$PORT")
EXTRA_ARGS=(--kubeconfig "$NODE_KUBECONFIG" --node-ip 127.0.0.1 --port "$PORT" --healthz-port "$HEALTHZ"
        --tls-cert-file "$KUBELET_CERT" --tls-private-key-file "$KUBELET_KEY" --client-ca-file "$CA_CERT"
        --sync-frequency 5s)

kwait() { # DESCRIPTION TIMEOUT JQ-EXPR KUBECTL-GET-ARGS...
        local what=$1 timeout=$2 expr=$3 out; shift 3
        for _ in $(seq $((timeout * 4))); do
                # jq -e on no input succeeds: an object that does not exist must not pass
                if out=$(k get "$@" -o json 2>/dev/null) && [ -n "$out" ] &&
                        printf '%s' "$out" | jq -e "$expr" >/dev/null 2>&1; then ok; return 0; fi
                sleep 0.25
        done
        bad "$what"; echo "    want: $expr"
        k get "$@" -o json 2>&1 | jq -c '.status // .' 2>/dev/null | cut -c1-1500 | sed 's/^/    /'
        return 1
}
apply() { k apply -f - >/dev/null; }
# The suite's end: the daemon stopped, its sanitizer reports (make test SANITIZE=1 builds) are
# failures, the summary line and the exit status.
finish_suite() {
        stop_daemon
        if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$T/daemon.log"; then
                bad "sanitizer reports in the daemon's log"; grep -A12 "ERROR: \|runtime error:" "$T/daemon.log" | head -40
        else ok; fi
        echo "$SUITE: $pass passed, $fail failed"
        [ "$fail" = 0 ]
}
pod() { # NAME SPEC-YAML: a pod bound to our node
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n  nodeName: %s\n  automountServiceAccountToken: false\n  terminationGracePeriodSeconds: 5\n%s\n' "$1" "$NODE" "$2" | apply
}

