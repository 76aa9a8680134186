#!/usr/bin/env bash
# Pods in user namespaces of their own (hostUsers: false), through the daemon: the kubelet's
# per-pod range of host IDs (65536 from 65536 up, kept in the pod's dir across restarts),
# idmapped image layers and volumes (IDs on disk stay, and look the same inside), a network
# namespace the pod's root owns (port 80 binds), procMount Unmasked that cannot touch the
# node's /proc/sys, and a refusal in the kubelet's words where the root dir cannot be idmapped.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=userns BRIDGE=nluserns SUBNET=10.99.14.0/24
. "$(dirname "$0")/lib/node.sh"
H=$T/host
mkdir -p "$H/dir"
echo host-secret >"$H/dir/rootfile"
chmod 0644 "$H/dir/rootfile"

# the container's root is not the host's: its IDs map from a range of its own
manifest un "  hostUsers: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'cat /proc/self/uid_map /proc/self/gid_map; id; touch /etc/written-by-root && echo rootfs-writable; stat -c \"%u:%g %n\" /bin/busybox /etc/written-by-root; echo hi > /data/from-container; stat -c \"%u:%g %n\" /host/rootfile; echo via-host > /host/from-container && echo hostpath-writable; exec sleep 3601']
    volumeMounts: [{name: data, mountPath: /data}, {name: host, mountPath: /host}]
  volumes:
  - {name: data, emptyDir: {}}
  - {name: host, hostPath: {path: $H/dir, type: Directory}}"
# a second pod gets another range
manifest un2 "  hostUsers: false
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'cat /proc/self/uid_map; exec sleep 3602']"
# procMount Unmasked: /proc unmasked, but the node's sysctls stay out of reach; the write puts
# back the value read, so it would change nothing even where it is allowed
manifest unmasked "  hostUsers: false
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'if cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern; then echo WROTE-CORE-PATTERN; else echo core-pattern-denied; fi; if echo 0 > /proc/sysrq-trigger; then echo WROTE-SYSRQ; else echo sysrq-denied; fi; exec sleep 3603']
    securityContext: {procMount: Unmasked}"
# port 80 binds: the pod's root owns its network namespace; a shared pid namespace too
manifest web80 "  hostUsers: false
  shareProcessNamespace: true
  containers:
  - name: web
    image: $IMG
    command: [sh, -c, 'mkdir -p /w && echo userns-web > /w/index.html && exec httpd -f -p 80 -h /w']
  - name: side
    image: $IMG
    command: [sh, -c, 'sleep 2; ps; exec sleep 3604']"
start_daemon

logs() { "$NODELET" logs "$1-$NODE" ${2:+"$2"} "${ARGS[@]}" 2>/dev/null; }
check "the userns pod runs" un 60 '.status.containerStatuses[0].state.running != null'
check "the second userns pod runs" un2 60 '.status.containerStatuses[0].state.running != null'
sleep 1
out=$(logs un)
map=$(printf '%s\n' "$out" | head -1 | awk '{print $1, $2, $3}')
base=$(printf '%s' "$map" | awk '{print $2}')
if [ "$(printf '%s' "$map" | awk '{print $1, $3}')" = "0 65536" ] && [ "$base" -ge 65536 ] && [ $((base % 65536)) = 0 ]; then ok; else bad "uid_map is one range of 65536 from a multiple of 65536 (got '$map')"; fi
gmap=$(printf '%s\n' "$out" | sed -n 2p | awk '{print $1, $2, $3}')
if [ "$gmap" = "$map" ]; then ok; else bad "gid_map is the same as uid_map (got '$gmap')"; fi
if printf '%s' "$out" | grep -q '^uid=0(root) gid=0(root)'; then ok; else bad "the container's user is root inside: $(printf '%s' "$out" | grep uid=)"; fi
if printf '%s' "$out" | grep -q '^rootfs-writable$'; then ok; else bad "root writes the image's root-owned /etc (idmapped layers)"; fi
if printf '%s' "$out" | grep -q '^0:0 /bin/busybox$' && printf '%s' "$out" | grep -q '^0:0 /etc/written-by-root$'; then ok; else bad "image files and new files are root's inside: $(printf '%s' "$out" | grep ' /')"; fi
if printf '%s' "$out" | grep -q '^0:0 /host/rootfile$' && printf '%s' "$out" | grep -q '^hostpath-writable$'; then ok; else bad "a hostPath volume keeps its owners (idmapped): $(printf '%s' "$out" | grep host)"; fi
uid=$(pod_json un | jq -r .metadata.uid)
f=$(find "$T/root/pods/$uid/volumes" -name from-container 2>/dev/null | head -1)
if [ -n "$f" ] && [ "$(stat -c %u:%g "$f")" = "0:0" ]; then ok; else bad "an emptyDir file the container's root wrote is 0:0 on disk (got $( [ -n "$f" ] && stat -c %u:%g "$f"))"; fi
if [ "$(stat -c %u:%g "$H/dir/from-container" 2>/dev/null)" = "0:0" ]; then ok; else bad "a hostPath file the container's root wrote is 0:0 on the host"; fi
# from the host, the container's processes run as the pod's host IDs
pid=$(pgrep -f '^sleep 3601$' | head -1)
if [ -n "$pid" ] && [ "$(ps -o uid= -p "$pid" | tr -d ' ')" = "$base" ]; then ok; else bad "the container's process is host uid $base (got $( [ -n "$pid" ] && ps -o uid= -p "$pid"))"; fi
m=$(jq -c '.uidMappings' "$T/root/pods/$uid/userns" 2>/dev/null)
if [ "$m" = "[{\"hostId\":$base,\"containerId\":0,\"length\":65536}]" ] && [ "$(jq -c .gidMappings "$T/root/pods/$uid/userns")" = "$m" ]; then ok; else bad "the mapping is kept in the pod's dir (got $m)"; fi
base2=$(logs un2 | head -1 | awk '{print $2}')
if [ -n "$base2" ] && [ "$base2" != "$base" ]; then ok; else bad "two pods get different ranges ($base, $base2)"; fi

check "the Unmasked pod runs" unmasked 60 '.status.containerStatuses[0].state.running != null'
sleep 1
out=$(logs unmasked)
if printf '%s' "$out" | grep -q '^core-pattern-denied$' && ! printf '%s' "$out" | grep -q WROTE; then ok; else bad "procMount Unmasked in a user namespace cannot write the node's sysctls or sysrq: $out"; fi

check "a userns pod serves on port 80" web80 60 '.status.containerStatuses | all(.state.running != null)'
ip=$(pod_json web80 | jq -r .status.podIP)
body=""
for _ in $(seq 20); do body=$(curl -s --max-time 2 "http://$ip:80/"); [ -n "$body" ] && break; sleep 0.5; done
if [ "$body" = userns-web ]; then ok; else bad "port 80 in the pod's network namespace answers (got '$body')"; fi
sleep 2
if logs web80 side | grep -q 'httpd -f -p 80'; then ok; else bad "the shared pid namespace shows the other container's process"; fi

# a restart of the daemon keeps the ranges: the pods keep theirs, a new pod gets a free one
stop_daemon
manifest un3 "  hostUsers: false
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'cat /proc/self/uid_map; exec sleep 3605']"
start_daemon
check "a userns pod made after a restart runs" un3 60 '.status.containerStatuses[0].state.running != null'
sleep 1
base3=$(logs un3 | head -1 | awk '{print $2}')
used=$(cat "$T"/root/pods/*/userns | jq -r '.uidMappings[0].hostId' | sort | uniq -d)
if [ -n "$base3" ] && [ "$base3" != "$base" ] && [ "$base3" != "$base2" ] && [ -z "$used" ]; then ok; else bad "after a restart a new pod's range is not one in use ($base3 vs $base $base2; duplicates: $used)"; fi
if [ "$(jq -c .uidMappings "$T/root/pods/$uid/userns")" = "$m" ]; then ok; else bad "the running pod's mapping is unchanged after the restart"; fi
# removing a pod frees its range and leaves no mount behind
cids=$(pod_json un | jq -r '.status.containerStatuses[].containerID | sub("^[a-z]+://"; "")')
rm -f "$M/un.yaml"
for _ in $(seq 60); do [ -e "$T/root/pods/$uid" ] || break; sleep 0.5; done
if [ ! -e "$T/root/pods/$uid" ]; then ok; else bad "the pod is removed"; fi
left=""
for c in $cids; do left+=$(awk '{print $5}' /proc/self/mountinfo | grep "^$T/root/containers/$c"); done
if [ -n "$cids" ] && [ -z "$left" ]; then ok; else bad "no idmapped mount of the removed pod's containers is left ($cids): $left"; fi
if [ "$(cat "$H/dir/rootfile")" = host-secret ]; then ok; else bad "the hostPath volume's files survive the pod"; fi
# the first root's pods go before the suite moves to another root (the exit's cleanup only
# knows the last one): every container and the shared pid namespace's holder with them
rm -f "$M"/*.yaml
for _ in $(seq 90); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 0.5; done
sleep 1
# (the pid namespace's holder is a fork of the daemon: the daemon's command line, another pid)
others=$(pgrep -f "^sleep 360[2-5]$|nodelet run --root-dir $T/root " | grep -vx "$DAEMON_PID")
if [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && [ -z "$others" ]; then ok; else
        bad "removing the userns pods leaves nothing running ($(ls "$T/root/pods" 2>/dev/null | wc -l) pods; left: $others)"; fi
stop_daemon

# a root dir whose file system cannot be idmapped (ramfs): the kubelet's refusal, retried;
# a pod with the host's users runs as usual
RAMROOT=$T/ramroot
mkdir -p "$RAMROOT"
mount -t ramfs ramfs "$RAMROOT"
ARGS=(--root-dir "$RAMROOT" --run-dir "$T/run2" --pod-log-dir "$T/log2")
"$NODELET" images --root-dir "$RAMROOT" import "$T/img/layout" >/dev/null 2>&1
rm -f "$M"/*.yaml
manifest refused "  hostUsers: false
  containers:
  - name: c
    image: $IMG
    command: [sleep, '3606']"
manifest plain "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3607']"
start_daemon
check "a host-users pod runs on the ramfs root" plain 60 '.status.containerStatuses[0].state.running != null'
check "the userns pod waits, never started" refused 10 '.status.containerStatuses[0].state.waiting.reason == "ContainerCreating"'
sleep 2
ev=$(jq -r '.[] | select(.reason == "FailedCreatePodSandBox") | .message' "$RAMROOT"/pods/*/events.json 2>/dev/null | head -1)
if printf '%s' "$ev" | grep -q "can't set \`spec.hostUsers: false\`, runtime does not support user namespaces: the file system of $RAMROOT cannot be idmapped"; then ok; else bad "the kubelet's refusal names the cause (got '$ev')"; fi
if ! pgrep -f '^sleep 3606$' >/dev/null; then ok; else bad "the refused pod never runs"; fi
rm -f "$M"/*.yaml
for _ in $(seq 60); do [ -z "$(ls -A "$RAMROOT/pods" 2>/dev/null)" ] && break; sleep 0.5; done
stop_daemon
umount -l "$RAMROOT"

echo "$SUITE: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
