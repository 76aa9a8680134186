#!/usr/bin/env bash
# Cluster mode: from `kubectl apply` of N pods bound to the node (spec.nodeName) to every pod
# Running with its containers started *as the API server reports it* (the agent's watch event,
# sandbox, container start, status PATCH back); and from `kubectl delete` to the pods gone
# from the API (graceful termination, then the agent's final DELETE). The real kube-apiserver
# and etcd (tests/cluster/control-plane.sh, built once) on loopback; the API side is one raw
# watch stream whose lines are stamped on arrival, so the resolution is the stream's, not a poll.
#   bench/cluster-latency.sh N REPEATS
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-1} R=${2:-5}
bench_setup || exit 1
bench_cluster cluster "cluster mode" 12350 || exit 0
finish() {
        pkill -f "curl -sN --cacert $CA_CERT" 2>/dev/null
        bench_cluster_stop
        bench_cleanup
}
trap finish EXIT
for _ in $(seq 120); do
        k get node "$BENCH_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True && break
        sleep 0.5
done

pods_yaml() { # RUN
        for i in $(seq "$N"); do
                cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: b$1-$i, namespace: default}
spec:
  nodeName: $BENCH_NODE
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: $IMG
    command: [sh, -c, 'trap "exit 0" TERM; sleep 3600 & wait']
---
Y
        done
}
# The API side: one raw watch stream (curl, the admin's certificate), each event line stamped
# with the time it arrived; figures come from the stamps, so how often we look does not matter.
start_watch() { # FILE
        local rv
        rv=$(k get pods -o jsonpath='{.metadata.resourceVersion}')
        curl -sN --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
                "$APISERVER_URL/api/v1/namespaces/default/pods?watch=true&resourceVersion=$rv" |
                while IFS= read -r l; do printf '%s\t%s\n' "$EPOCHREALTIME" "$l"; done >"$1" &
        WATCH=$!
}
# when_all FILE JQ-SELECT: the stamp at which N distinct pods (of this run) matched, or nothing
when_all() {
        paste <(cut -f1 "$1") <(cut -f2- "$1" | jq -c -r "if ($2) then .object.metadata.name else \"-\" end" 2>/dev/null) |
                awk -v n="$N" '$2 != "-" && !($2 in seen) {seen[$2] = 1; c++; if (c >= n) {print $1; exit}}'
}
wait_all() { # FILE JQ-SELECT -> stamp (up to 120 s)
        local t
        for _ in $(seq 1200); do
                t=$(when_all "$1" "$2")
                [ -n "$t" ] && { echo "$t"; return 0; }
                sleep 0.1
        done
        return 1
}
starts=() stops=()
for run in $(seq "$R"); do
        pods_yaml "$run" >"$T/pods-$run.yaml"
        w=$T/watch-$run.log
        start_watch "$w"
        sleep 0.3
        t0=$(now)
        k apply -f "$T/pods-$run.yaml" >/dev/null
        t1=$(wait_all "$w" '(.object.metadata.name | startswith("b'"$run"'-")) and .object.status.phase == "Running" and ((.object.status.containerStatuses // []) | length > 0) and ([.object.status.containerStatuses[].state.running != null] | all)')
        [ -n "$t1" ] && starts+=("$(elapsed "$t0" "$t1")")
        t2=$(now)
        k delete -f "$T/pods-$run.yaml" --wait=false >/dev/null 2>&1
        t3=$(wait_all "$w" '.type == "DELETED" and (.object.metadata.name | startswith("b'"$run"'-"))')
        [ -n "$t3" ] && stops+=("$(elapsed "$t2" "$t3")")
        kill "$WATCH" 2>/dev/null
        pkill -f "curl -sN --cacert $CA_CERT" 2>/dev/null
        wait "$WATCH" 2>/dev/null
done
printf '%s\n' "${starts[@]}" | record "cluster.start.$N" s "kubectl apply -f N pods (spec.nodeName) -> all Running with containers started, as stamped on arrival in a raw API watch stream (curl); daemon: nodelet run --kubeconfig ..."
printf '%s\n' "${stops[@]}" | record "cluster.stop.$N" s "kubectl delete -f (grace 5 s, the container exits on SIGTERM) -> all gone from the API (DELETED events)"
