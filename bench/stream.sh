#!/usr/bin/env bash
# Streams through the real API server (issue 16): `kubectl exec POD -- true` round trip beside
# the runtime's own `exec` of the same command in the same container (the floor: what any
# node agent must spend), and `kubectl port-forward` throughput beside a direct connection to
# the pod's IP, both downloading the same file from a web server in the pod.
#   bench/stream.sh EXECS MIB
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
E=${1:-20} MIB=${2:-256}
bench_setup || exit 1
bench_cluster stream streams 12450 || exit 0
PF=
finish() {
        [ -n "$PF" ] && kill "$PF" 2>/dev/null
        bench_cluster_stop
        bench_cleanup
}
trap finish EXIT
k apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: $BENCH_NODE
  automountServiceAccountToken: false
  containers:
  - name: main
    image: $IMG
    command: [sh, -c, 'mkdir -p /w && head -c $((MIB * 1048576)) /dev/zero >/w/big && exec httpd -f -p 8080 -h /w']
Y
for _ in $(seq 240); do
        k get pod web -o jsonpath='{.status.phase}' 2>/dev/null | grep -q Running && break
        sleep 0.5
done
sleep 2 # the file written
cid=$(k get pod web -o jsonpath='{.status.containerStatuses[0].containerID}' | sed 's|.*://||')
ip=$(k get pod web -o jsonpath='{.status.podIP}')
rt=${RUNTIME:-crun}
rtroot=$(ls -d "$T"/run/runtime/"$rt" 2>/dev/null)
if [ -z "$cid" ] || [ -z "$rtroot" ]; then
        note stream "streams not measured: the pod did not run"
        exit 0
fi

# exec round trip: kubectl through the API server and the node server, and the runtime alone
execs=() floor=()
for _ in $(seq "$E"); do
        t0=$(now); k exec web -- true >/dev/null 2>&1; t1=$(now)
        execs+=("$(elapsed "$t0" "$t1")")
        t0=$(now); "$rt" --root "$rtroot" exec "$cid" true >/dev/null 2>&1; t1=$(now)
        floor+=("$(elapsed "$t0" "$t1")")
done
printf '%s\n' "${execs[@]}" | record stream.exec s "kubectl exec web -- true (WebSocket to the API server, SPDY to the node, the runtime's exec), kubectl's own start-up included"
printf '%s\n' "${floor[@]}" | record stream.exec.floor s "$rt exec CONTAINER true: the runtime alone"

# port-forward throughput: the same file, through kubectl port-forward and straight to the pod
lp=18500
while ss -Htln "sport = :$lp" | grep -q .; do lp=$((lp + 1)); done
k port-forward pod/web "$lp:8080" >"$T/pf.log" 2>&1 &
PF=$!
for _ in $(seq 40); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$lp/" && break; sleep 0.25; done
pf=() direct=()
for _ in 1 2 3; do
        pf+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$lp/big")")
        direct+=("$(curl -s -o /dev/null -w '%{time_total}' "http://$ip:8080/big")")
done
printf '%s\n' "${pf[@]}" | record stream.pf.s s "curl of a $MIB MiB file through kubectl port-forward (WebSocket to the API server, SPDY to the node, a socket in the pod's network namespace)"
printf '%s\n' "${direct[@]}" | record stream.direct.s s "curl of the same file straight to the pod's IP over the CNI bridge"
printf '%s\n' "$((MIB * 1048576))" | record stream.bytes B "bytes per download"
