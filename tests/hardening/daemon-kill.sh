#!/usr/bin/env bash
# The daemon SIGKILLed with many pods (HARD_PODS, 100 by default): once while the pods are
# still being created, once while they all run and, while it is down, a third of them exit
# with known codes. What must hold after each restart: nothing that ran was restarted (same
# container ID, restartCount 0, same startedAt), every exit that happened meanwhile is in the
# status with its exit code, and the runtime holds exactly one container per container of the
# spec (`crun --root <run-dir>/runtime/crun list`), none orphaned, none doubled.
SUITE=hard-daemon-kill BRIDGE=nlhardk SUBNET=10.232.1.0/24
. "$(dirname "$0")/lib.sh"
N=${HARD_PODS:-100}
TRIG=$T/trigger
mkdir -p "$TRIG"

# Pod i: every third an "exiter" that waits for $TRIG/go and exits with code i % 4 (0..3),
# restartPolicy Never or OnFailure (code 0: no restart under either); the others sleep, with
# restartPolicy Always, OnFailure and Never in turn.
declare -A KIND CODE
for i in $(seq -w 1 "$N"); do
        n=$((10#$i))
        if [ $((n % 3)) -eq 0 ]; then
                code=$((n % 4))
                pol=Never
                [ $code -eq 0 ] && [ $((n % 2)) -eq 0 ] && pol=OnFailure
                KIND[p$i]=exit CODE[p$i]=$code
                manifest "p$i" "  restartPolicy: $pol
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'while [ ! -e /t/go ]; do sleep 0.5; done; exit $code']
    volumeMounts: [{name: t, mountPath: /t}]
  volumes: [{name: t, hostPath: {path: $TRIG}}]"
        else
                pols=(Always OnFailure Never)
                KIND[p$i]=run
                manifest "p$i" "  restartPolicy: ${pols[$((n % 3))]}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
        fi
done

all_running() { # TIMEOUT: every pod Running
        local deadline=$((SECONDS + $1)) count
        while [ $SECONDS -lt $deadline ]; do
                count=$("$NODELET" pods "${ARGS[@]}" 2>/dev/null | awk '$4 == "Running"' | wc -l)
                [ "$count" -ge "$N" ] && return 0
                sleep 2
        done
        echo "    only $count of $N pods running"
        return 1
}
GET_RETRIES=0
snapshot() { # FILE: "pod containerID restartCount startedAt" for every pod
        : >"$1"
        local p j
        for p in "${!KIND[@]}"; do
                # `nodelet get pod` reads what the daemon writes meanwhile: count the reads
                # that came back empty (they should not: every write is atomic)
                for _ in 1 2 3 4 5; do
                        j=$(pod_json "$p") && [ -n "$j" ] && break
                        GET_RETRIES=$((GET_RETRIES + 1))
                        sleep 0.2
                done
                printf '%s' "$j" | jq -r --arg p "$p" '[$p, (.status.containerStatuses[0] | .containerID, .restartCount,
                        (.state.running.startedAt // .state.terminated.startedAt // "-"))] | join(" ")' >>"$1"
        done
        sort -o "$1" "$1"
}
# Exactly one runtime container per pod (the containers the daemon knows, no orphan).
check_runtime() { # WHAT
        local ids dirs
        ids=$(runtime_list | awk '{print $1}' | sort)
        local n_rt n_want dup
        n_rt=$(printf '%s\n' "$ids" | grep -c .)
        # the runtime's containers, by pod and container name from their container.json
        dup=$(for id in $ids; do jq -r '"\(.podUid)/\(.name)"' "$T/root/containers/$id/container.json" 2>/dev/null || echo "unknown/$id"; done | sort | uniq -d)
        n_want=$(cut -d' ' -f2 "$T/snap.now" | sed 's|.*://||' | sort -u | grep -c .)
        if [ "$n_rt" -eq "$N" ] && [ -z "$dup" ]; then ok; else
                bad "$1: the runtime has $n_rt containers for $N pods (duplicates: ${dup:-none}, status names $n_want)"
        fi
        # every runtime container is one the status names
        local missing
        missing=$(comm -23 <(printf '%s\n' "$ids") <(cut -d' ' -f2 "$T/snap.now" | sed 's|.*://||' | sort -u))
        if [ -z "$missing" ]; then ok; else
                bad "$1: runtime containers no status names: $(echo $missing)"
                for id in $missing; do
                        p=$(jq -r '"\(.podName) \(.name) restart \(.restartCount)"' "$T/root/containers/$id/container.json" 2>/dev/null)
                        echo "    $id: $p, runtime: $(runtime_list | grep "^$id" | cut -d' ' -f2), exit: $(cat "$T/root/containers/$id/state/exit.json" 2>/dev/null)"
                        pod_json "${p%%-$NODE*}" | jq -c '.status.containerStatuses[0] | {containerID, restartCount, state, lastState}' | cut -c1-400 | sed 's/^/        status: /'
                done
        fi
        # and no container process left outside its shim: every container's parent is a nodelet-shim
        local orphans=0
        for id in $ids; do
                pid=$(cat "$T/root/containers/$id/state/container.pid" 2>/dev/null) || continue
                ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || continue
                [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = nodelet-shim ] || orphans=$((orphans + 1))
        done
        [ $orphans -eq 0 ] && ok || bad "$1: $orphans container processes without their shim"
}

# ---- 1: killed while the pods are being created ---------------------------------------------
t0=$SECONDS
start_daemon
for _ in $(seq 120); do
        up=$("$NODELET" pods "${ARGS[@]}" 2>/dev/null | awk '$4 == "Running"' | wc -l)
        [ "$up" -ge $((N / 3)) ] && break
        sleep 0.5
done
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
echo "    killed during creation with $up of $N pods running ($((SECONDS - t0)) s)"
start_daemon
all_running 300 && ok || bad "after the kill during creation: every pod running"
echo "    $N pods running after $((SECONDS - t0)) s"
sleep 3
snapshot "$T/snap.now"
check_runtime "after the kill during creation"
# nothing restarted: the restart counts are all 0
r=$(awk '$3 != 0' "$T/snap.now" | wc -l)
[ "$r" -eq 0 ] && ok || { bad "after the kill during creation: $r pods with restarts"; awk '$3 != 0' "$T/snap.now" | head; }

# ---- 2: killed while every pod runs; a third exit while it is down ---------------------------
cp "$T/snap.now" "$T/snap.before"
rss_before=$(daemon_hwm)
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
touch "$TRIG/go"
# the exiters are gone before the daemon comes back
for _ in $(seq 60); do
        left=$(for p in "${!KIND[@]}"; do [ "${KIND[$p]}" = exit ] && echo "$p"; done | while read -r p; do
                id=$(awk -v p="$p" '$1 == p {print $2}' "$T/snap.before" | sed 's|.*://||')
                [ -e "$T/root/containers/$id/state/exit.json" ] || echo "$p"; done | wc -l)
        [ "$left" -eq 0 ] && break
        sleep 1
done
[ "$left" -eq 0 ] && ok || bad "$left exiters did not exit while the daemon was down"
start_daemon
wait_ready || true
sleep 1
# every exit is in the status, with its code and the same container, and no restart
for p in "${!KIND[@]}"; do
        before=$(awk -v p="$p" '$1 == p' "$T/snap.before")
        cid=$(echo "$before" | cut -d' ' -f2) started=$(echo "$before" | cut -d' ' -f4)
        if [ "${KIND[$p]}" = exit ]; then
                check "$p: exit ${CODE[$p]} recorded" "$p" 30 ".status.containerStatuses[0] | .containerID == \"$cid\" and .restartCount == 0 and .state.terminated.exitCode == ${CODE[$p]} and .state.terminated.startedAt == \"$started\""
        else
                check "$p: untouched" "$p" 30 ".status.containerStatuses[0] | .containerID == \"$cid\" and .restartCount == 0 and .state.running.startedAt == \"$started\""
        fi
done
# the phases the exits lead to
for p in "${!KIND[@]}"; do
        [ "${KIND[$p]}" = exit ] || continue
        want=Succeeded
        [ "${CODE[$p]}" -ne 0 ] && want=Failed
        check "$p: phase $want" "$p" 30 ".status.phase == \"$want\""
done
snapshot "$T/snap.now"
check_runtime "after the kill while running"
echo "    daemon peak RSS before the kill: ${rss_before:-?} KiB, after adopting $N pods: $(daemon_hwm) KiB"
grep -c "adopted what was running" "$T/daemon.log" >/dev/null || true

# ---- the pods go away cleanly: nothing of them left in the runtime -------------------------
rm -f "$M"/*.yaml
for _ in $(seq 180); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
[ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && ok || bad "pods left after their manifests went: $(ls "$T/root/pods" | wc -l)"
[ -z "$(runtime_list)" ] && ok || bad "runtime containers left: $(runtime_list | wc -l)"
[ -z "$(ls -A "$T/root/containers" 2>/dev/null)" ] && ok || bad "container dirs left: $(ls "$T/root/containers" | wc -l)"
echo "    total $((SECONDS - t0)) s; \`nodelet get pod\` came back empty $GET_RETRIES times"
[ "$GET_RETRIES" -eq 0 ] && ok || bad "\`nodelet get pod\` failed $GET_RETRIES times while the daemon wrote"
finish
