#!/usr/bin/env bash
# Volumes and logs against a hostile pod, end to end through the daemon:
# - subPath through a symlink an earlier container planted in a shared emptyDir
#   (CVE-2017-1002101): absolute, relative-escaping, to a host file, nested, and a container
#   swapping a directory and a symlink while its neighbour restarts on the subPath
#   (CVE-2021-25741). Must hold: the container never sees the host's files: the mount is
#   refused with an error naming the subPath, or lands inside the volume.
# - downwardAPI volumes are read-only (CVE-2017-1002102): writes, new files, removing or
#   swapping ..data fail.
# - symlinks planted in the pod log directory (through a hostPath mount of it): `nodelet logs`
#   does not follow them out, and the shim does not write through one.
SUITE=hard-volumes BRIDGE=nlhardv SUBNET=10.232.8.0/24
. "$(dirname "$0")/lib.sh"
SECRET=$T/host-secret
mkdir -p "$SECRET"
echo "HOST-SECRET-$$" >"$SECRET/secret"
touch "$SECRET/hostonly-$$" # a name only the host's directory has: listing it means escaping
echo "HOST-TARGET-KEEP" >"$T/target"
mkdir -p "$T/log"

# init plants the link, the app mounts the subPath and prints what it sees
subpath_pod() { # NAME LINK-COMMAND SUBPATH
        manifest "$1" "  restartPolicy: Never
  initContainers:
  - {name: plant, image: $IMG, command: [sh, -c, '$2'], volumeMounts: [{name: s, mountPath: /s}]}
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'ls /mnt; cat /mnt/secret /mnt 2>&1; true'], volumeMounts: [{name: s, mountPath: /mnt, subPath: '$3'}]}
  volumes: [{name: s, emptyDir: {}}]"
}
subpath_pod sp-abs "ln -s $SECRET /s/link" link
subpath_pod sp-rel "ln -s ../../../../../../../../..$SECRET /s/link" link
subpath_pod sp-file "ln -s $SECRET/secret /s/link" link
subpath_pod sp-nested "mkdir -p /s/a && ln -s $SECRET /s/a/b" a/b
subpath_pod sp-inside "mkdir -p /s/real && echo inside > /s/real/secret && ln -s real /s/link" link
# the swap race: a sidecar flips /s/x between a directory and a symlink to the host dir (fast
# swaps, and short rests in each state so that some mounts succeed); six victims mount subPath x
# and are retried (CreateContainerConfigError) or restarted, each about every 10 s
victims=""
for i in 1 2 3 4 5 6; do
        victims+="
  - name: v$i
    image: $IMG
    command: [sh, -c, 'cat /mnt/secret 2>/dev/null; ls /mnt 2>/dev/null; exit 1']
    volumeMounts: [{name: s, mountPath: /mnt, subPath: x}]"
done
manifest sp-race "  terminationGracePeriodSeconds: 1
  containers:
  - name: flipper
    image: $IMG
    command: [sh, -c, 'while true; do for k in 1 2 3 4 5 6 7 8 9 10; do rm -rf /s/x; mkdir /s/x; rm -rf /s/x; ln -s $SECRET /s/x; done; rm -f /s/x; mkdir /s/x; echo in-volume > /s/x/file; sleep 0.2; rm -rf /s/x; ln -s $SECRET /s/x; sleep 0.2; done']
    volumeMounts: [{name: s, mountPath: /s}]$victims
  volumes: [{name: s, emptyDir: {}}]"
# subPathExpr that expands to a path leaving the volume
manifest sp-expr "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'ls /mnt']
    env: [{name: P, value: ../../..}]
    volumeMounts: [{name: s, mountPath: /mnt, subPathExpr: \$(P)}]
  volumes: [{name: s, emptyDir: {}}]"

# downwardAPI: every kind of write must fail
manifest dapi "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'for t in \"echo x > /info/labels\" \"echo x > /info/new\" \"rm -f /info/..data\" \"ln -sfn / /info/..data\" \"mkdir /info/d\" \"rm -rf /info/labels\"; do if sh -c \"\$t\" 2>/dev/null; then echo \"WROTE: \$t\"; else echo \"refused: \$t\"; fi; done; cat /info/labels']
    volumeMounts: [{name: info, mountPath: /info}]
  volumes:
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]"

start_daemon
LEAK="HOST-SECRET-$$"
for p in sp-abs sp-rel sp-file sp-nested; do
        check "$p: settled" "$p" 60 '.status.phase == "Failed" or .status.phase == "Succeeded" or (.status.containerStatuses[0].state.waiting.reason // "" | test("Error"))'
        out=$("$NODELET" logs "$p-$NODE" "${ARGS[@]}" 2>&1)
        st=$(pod_json "$p" | jq -c '.status.containerStatuses[0].state')
        if printf '%s' "$out" | grep -q "$LEAK"; then bad "$p: the container read the host's file through the subPath (CVE-2017-1002101)"; else ok; fi
        echo "    $p: $(printf '%s' "$st" | cut -c1-220)"
        # the refusal names the subPath, or the container ran (and printed what it saw) with
        # the mount inside the volume: a container that never ran proves nothing
        if printf '%s' "$st" | grep -q '"waiting"'; then
                printf '%s' "$st" | grep -q 'subPath\|subpath\|symlink\|outside' && ok || bad "$p: the error does not say why: $st"
        elif printf '%s' "$st" | grep -q '"terminated"' && [ -n "$out" ]; then ok
        else bad "$p: neither refused nor run: $st"; fi
done
check "sp-inside: a symlink inside the volume still works" sp-inside 60 '.status.phase == "Succeeded"'
out=$("$NODELET" logs "sp-inside-$NODE" "${ARGS[@]}" 2>&1)
printf '%s' "$out" | grep -q "^inside" && ok || bad "sp-inside: $out"
check "sp-expr: refused" sp-expr 60 '(.status.containerStatuses[0].state.waiting.reason // "") | test("Error")'
pod_json sp-expr | jq -c '.status.containerStatuses[0].state' | cut -c1-250 | sed 's/^/    sp-expr: /'

check "dapi ran" dapi 60 '.status.phase == "Succeeded"'
out=$("$NODELET" logs "dapi-$NODE" "${ARGS[@]}" 2>&1)
printf '%s\n' "$out" | sed 's/^/    dapi: /'
[ "$(printf '%s\n' "$out" | grep -c '^refused')" -eq 6 ] && ! printf '%s' "$out" | grep -q WROTE && ok \
        || bad "a downwardAPI volume was writable (CVE-2017-1002102)"

# the race: let it run until the victims made at least 10 attempts (their back-off grows, so how
# long that takes depends on the machine's load: up to 3 minutes), then look at everything they
# printed
uid=$(pod_json sp-race | jq -r .metadata.uid)
for _ in $(seq 36); do
        sleep 5
        starts=$(pod_json sp-race | jq '[.status.containerStatuses[] | select(.name != "flipper") | .restartCount + (if .lastState.terminated or .state.terminated then 1 else 0 end)] | add')
        refused=$(grep "sp-race" "$T/daemon.log" | grep -c 'subPath')
        [ "$((${starts:-0} + refused))" -ge 10 ] && break
done
# (a victim may list "host-secret": the flipper's `ln -s` lands inside x when x is still a
# directory; a link to a host path inside the volume is harmless, the container resolves it
# in its own root)
if cat "$T"/log/*_"$uid"/v*/*.log 2>/dev/null | grep -q "$LEAK\|hostonly-$$"; then
        bad "sp-race: a victim saw the host's files (CVE-2021-25741)"
        grep -H "$LEAK\|hostonly-$$" "$T"/log/*_"$uid"/v*/*.log | sed 's/^/    /'
        grep -h "sp-race" "$T/daemon.log" | grep -v "started\|exited" | tail -n 12 | cut -c1-300 | sed 's/^/    /'
else ok; fi
grep -H "secret" "$T"/log/*_"$uid"/v*/*.log 2>/dev/null | sed 's/^/    sp-race (harmless name of a link inside the volume): /' | head -n 3
seen=$(cat "$T"/log/*_"$uid"/v*/*.log 2>/dev/null | grep -c "file")
echo "    sp-race: ~$starts victim runs ($seen saw the volume's own dir), $refused subPath refusals, no host file seen"
[ "$((starts + refused))" -ge 10 ] && ok || bad "sp-race: too few attempts to mean anything ($starts runs, $refused refusals)"
rm -f "$M/sp-race.yaml"

# ---- the log directory ------------------------------------------------------------------------
manifest talker "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo talker-line; sleep 3; exit 1']}"
manifest talker2 "  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo talker2-line; sleep 3; exit 1']}"
check "talker ran once" talker 60 '.status.containerStatuses[0].restartCount >= 1'
check "talker2 ran once" talker2 60 '.status.containerStatuses[0].restartCount >= 1'
uid=$(pod_json talker | jq -r .metadata.uid)
ldir=$(ls -d "$T"/log/*_"$uid")/c
uid2=$(pod_json talker2 | jq -r .metadata.uid)
ldir2=$(ls -d "$T"/log/*_"$uid2")
mkdir -p "$T/hostdir"
# a pod with the log dir as a hostPath plants links: the current log -> a host file, the next
# restarts' logs -> a host file the shim must not truncate or write
manifest planter "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'cd /hostlogs/$(basename "$(dirname "$ldir")")/c && for f in *.log; do rm -f \$f; ln -s $SECRET/secret \$f; done; for i in 2 3 4 5 6 7 8 9; do ln -s $T/target \$i.log; done; ls -l; cd /hostlogs/$(basename "$ldir2") && mv c c.gone && ln -s $T/hostdir c && ls -l']
    volumeMounts: [{name: l, mountPath: /hostlogs}]
  volumes: [{name: l, hostPath: {path: $T/log}}]"
r0=$(pod_json talker | jq '.status.containerStatuses[0].restartCount')
check "planter ran" planter 60 '.status.phase == "Succeeded"'
out=$("$NODELET" logs "talker-$NODE" "${ARGS[@]}" 2>&1)
printf '%s' "$out" | grep -q "$LEAK" && bad "nodelet logs followed a planted symlink to a host file" || ok
out=$("$NODELET" logs -p "talker-$NODE" "${ARGS[@]}" 2>&1)
printf '%s' "$out" | grep -q "$LEAK" && bad "nodelet logs --previous followed a planted symlink" || ok
out=$(timeout 3 "$NODELET" logs -f "talker-$NODE" "${ARGS[@]}" 2>&1)
printf '%s' "$out" | grep -q "$LEAK" && bad "nodelet logs -f followed a planted symlink" || ok
echo "    logs of the talker with its files replaced by links: $(printf '%s' "$out" | head -n 2 | tr '\n' ' ' | cut -c1-200)"
# the talker keeps restarting; its next logs are links to $T/target. Wait for a restart after
# the planting (its back-off may be 40 s by now): without one the check below proves nothing.
restarted=0
for _ in $(seq 60); do
        [ "$(pod_json talker | jq '.status.containerStatuses[0].restartCount')" -gt "${r0:-0}" ] 2>/dev/null && { restarted=1; break; }
        sleep 2
done
[ $restarted = 1 ] && ok || bad "the talker did not restart after the links were planted (restartCount still $r0)"
sleep 4 # its new instance writes its line
[ "$(cat "$T/target")" = HOST-TARGET-KEEP ] && ok || bad "the shim wrote through a planted log symlink: $(head -c 200 "$T/target")"
# talker2's container log dir is now a link to a host dir: its next logs must not land there
[ -z "$(ls -A "$T/hostdir")" ] && ok || bad "the shim wrote through a planted log dir link into $T/hostdir: $(ls "$T/hostdir")"
pod_json talker | jq -c '.status.containerStatuses[0] | {restartCount, state}' | cut -c1-300 | sed 's/^/    talker after the links: /'
finish
