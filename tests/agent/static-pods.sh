#!/usr/bin/env bash
# The daemon end to end in static-pod mode: `nodelet run` on a manifest directory, real
# containers (crun), status read back through `nodelet get pod -o json` as a user would.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=static-pods BRIDGE=nlagent SUBNET=10.99.9.0/24
. "$(dirname "$0")/lib/node.sh"

# sd_notify: READY=1 once the first scan is done
socat -u UNIX-RECV:"$T/notify.sock" - >"$T/notify.log" 2>/dev/null &
SOCAT_PID=$!
sleep 0.2

manifest hello "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo Hello World']"
manifest never-fail "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [/bin/false]"
manifest onfailure "  restartPolicy: OnFailure
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'exit 1']"
manifest always "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'sleep 1; exit 0']"
manifest init-ok "  restartPolicy: Never
  initContainers:
  - {name: init1, image: $IMG, command: [/bin/true]}
  - {name: init2, image: $IMG, command: [/bin/true]}
  containers:
  - {name: run1, image: $IMG, command: [/bin/true]}"
manifest init-fail-never "  restartPolicy: Never
  initContainers:
  - {name: init1, image: $IMG, command: [/bin/true]}
  - {name: init2, image: $IMG, command: [/bin/false]}
  containers:
  - {name: run1, image: $IMG, command: [/bin/true]}"
manifest init-fail-always "  initContainers:
  - {name: init1, image: $IMG, command: [/bin/false]}
  - {name: init2, image: $IMG, command: [/bin/true]}
  containers:
  - {name: run1, image: $IMG, command: [/bin/true]}"
manifest sidecar "  initContainers:
  - {name: side, image: $IMG, restartPolicy: Always, command: [sh, -c, 'echo side > /shared/side; sleep 3600'], volumeMounts: [{name: s, mountPath: /shared}]}
  containers:
  - {name: app, image: $IMG, command: [sh, -c, 'cat /shared/side; sleep 3600'], volumeMounts: [{name: s, mountPath: /shared}]}
  volumes: [{name: s, emptyDir: {}}]"
manifest deadline "  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest term "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    terminationMessagePolicy: FallbackToLogsOnError
    command: [sh, -c, 'printf DONE; exit 1']"
manifest toobig "  containers:
  - {name: c, image: $IMG, command: [sleep, '3600'], resources: {requests: {cpu: '1000'}}}"
# two requests near the int64 limit: their sum must not wrap around to a small one (issue 19)
manifest wraps "  containers:
  - {name: a, image: $IMG, command: [sleep, '3600'], resources: {requests: {memory: '9223372036854775807'}}}
  - {name: b, image: $IMG, command: [sleep, '3600'], resources: {requests: {memory: '9223372036854775807'}}}"
# an AppArmor profile that cannot be enforced is refused, not dropped (issue 19 item 7)
manifest apparmor "  securityContext: {appArmorProfile: {type: RuntimeDefault}}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: apparmor-beta\n  annotations: {container.apparmor.security.beta.kubernetes.io/c: runtime/default}\nspec:\n  containers:\n  - {name: c, image: %s, command: [sleep, "3600"]}\n' "$IMG" >"$M/apparmor-beta.yaml"
# a privileged container gets the host's devices, as containerd gives them (issue 19 item 10)
HOSTDEV=
for d in $(find /dev -maxdepth 1 -type b | sort); do # one with data to read (not an empty zram or loop)
        [ "$(cat "/sys/class/block/$(basename "$d")/size" 2>/dev/null)" -gt 0 ] 2>/dev/null && { HOSTDEV=$d; break; }
done
manifest privdev "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, securityContext: {privileged: true}, command: [sh, -c, 'stat -c \"%F %t:%T %n\" $HOSTDEV']}"
manifest unprivdev "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'ls $HOSTDEV 2>&1; true']}"
# a sidecar's readiness counts in the pod's (the kubelet's ContainersReady; issue 18's e2e run)
manifest sidecar-unready "  initContainers:
  - name: side
    image: $IMG
    restartPolicy: Always
    command: [sleep, '3600']
    readinessProbe: {exec: {command: ['false']}, periodSeconds: 1}
  containers:
  - {name: app, image: $IMG, command: [sleep, '3600']}"
# a RestartNever pod whose first init container fails: the second waits PodInitializing
manifest init-never-waits "  restartPolicy: Never
  initContainers:
  - {name: init1, image: $IMG, command: [sh, -c, 'exit 1']}
  - {name: init2, image: $IMG, command: ['true']}
  containers:
  - {name: app, image: $IMG, command: ['true']}"
# a hostNetwork pod's IPs are the node's IP, one per family (issue 18's e2e run: every host
# address was reported, which the API server refuses)
manifest hostnet-ips "  hostNetwork: true
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo \$POD_IP; sleep 3600'], env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]}"
# the pod's OS against the node's (issue 18's e2e run: a windows pod ran)
manifest windows "  os: {name: windows}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest os-selector "  nodeSelector: {kubernetes.io/os: windows}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest unsafe-sysctl "  securityContext: {sysctls: [{name: kernel.msgmax, value: '65536'}]}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: Broken_Name}\nspec: {containers: [{name: c, image: x}]}\n' >"$M/broken.yaml"
printf 'not: [valid' >"$M/.hidden.yaml"

start_daemon
for _ in $(seq 50); do grep -q READY=1 "$T/notify.log" 2>/dev/null && break; sleep 0.1; done
grep -q READY=1 "$T/notify.log" && ok || bad "sd_notify READY=1"

# kubelet.go: the log holds exactly "Hello World\n"; Succeeded; static pod naming and rules
check "hello succeeds" hello 30 '.status.phase == "Succeeded" and .status.containerStatuses[0].state.terminated.exitCode == 0 and .status.containerStatuses[0].state.terminated.reason == "Completed"'
out=$("$NODELET" logs "hello-$NODE" "${ARGS[@]}")
[ "$out" = "Hello World" ] && ok || bad "logs: got [$out]"
check "static pod identity" hello 5 '.metadata.namespace == "default" and .spec.nodeName == "testnode" and (.metadata.annotations["kubernetes.io/config.hash"] == .metadata.uid) and .metadata.annotations["kubernetes.io/config.source"] == "file"'
check "conditions of a finished pod" hello 5 '[.status.conditions[] | select(.type == "Ready")][0] | .status == "False" and .reason == "PodCompleted"'
check "status has IPs and times" hello 5 '(.status.podIP | startswith("10.99.9.")) and .status.hostIP != "" and .status.startTime != null and .status.qosClass == "BestEffort"'

# runtime.go restart counts: Never -> 0 Failed; OnFailure -> restarts; Always -> restarts, Running
check "never: failed, no restart" never-fail 30 '.status.phase == "Failed" and .status.containerStatuses[0].restartCount == 0 and .status.containerStatuses[0].state.terminated.exitCode == 1 and .status.containerStatuses[0].state.terminated.reason == "Error"'
check "onfailure: restarts with back-off" onfailure 40 '.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated.exitCode == 1'
check "onfailure: CrashLoopBackOff" onfailure 40 '.status.containerStatuses[0].state.waiting.reason == "CrashLoopBackOff" and (.status.containerStatuses[0].state.waiting.message | test("^back-off [0-9]+s restarting failed container=c pod=onfailure-testnode_default\\("))'
check "always: restarts, phase Running" always 40 '.status.phase == "Running" and .status.containerStatuses[0].restartCount >= 2'
prev=$("$NODELET" logs -p "always-$NODE" "${ARGS[@]}" 2>&1 >/dev/null; echo $?)
[ "$prev" = 0 ] && ok || bad "logs --previous"

# init_container.go 32, 35, 34
check "inits then app: Succeeded, Initialized" init-ok 30 '.status.phase == "Succeeded" and ([.status.conditions[] | select(.type == "Initialized")][0].status == "True") and ([.status.initContainerStatuses[].state.terminated.exitCode] == [0, 0])'
check "init fails with Never: Failed, app waits" init-fail-never 30 '.status.phase == "Failed" and .status.containerStatuses[0].state.waiting.reason == "PodInitializing" and .status.initContainerStatuses[1].state.terminated.exitCode == 1'
check "init fails with Always: retried, Pending" init-fail-always 60 '.status.phase == "Pending" and .status.initContainerStatuses[0].restartCount >= 1 and ([.status.conditions[] | select(.type == "Initialized")][0] | .status == "False" and .reason == "ContainersNotInitialized" and .message == "containers with incomplete status: [init1 init2]")'

# sidecars run beside the app and are ready
check "sidecar and app running" sidecar 30 '.status.phase == "Running" and .status.initContainerStatuses[0].state.running != null and .status.containerStatuses[0].ready == true and ([.status.conditions[] | select(.type == "Ready")][0].status == "True")'
out=$("$NODELET" logs "sidecar-$NODE" app "${ARGS[@]}")
[ "$out" = "side" ] && ok || bad "sidecar wrote before the app started: [$out]"

# pods.go 45: activeDeadlineSeconds
check "deadline exceeded" deadline 30 '.status.phase == "Failed" and .status.reason == "DeadlineExceeded" and .status.message == "Pod was active on the node longer than the specified deadline"'

# runtime.go 29: FallbackToLogsOnError on failure
check "termination message from the log" term 30 '.status.containerStatuses[0].state.terminated.message == "DONE"'

# the kubelet's sysctl admission: an unsafe sysctl fails the pod, nothing runs
check "unsafe sysctl rejected" unsafe-sysctl 20 '.status.phase == "Failed" and .status.reason == "SysctlForbidden" and .status.message == "forbidden sysctl: \"kernel.msgmax\" not allowlisted" and (.status.containerStatuses == null)'

# admission against the node's allocatable
check "requests that add up past int64: OutOfmemory, not a wrapped-around admit" wraps 20 '.status.phase == "Failed" and .status.reason == "OutOfmemory"'
check "OutOfcpu" toobig 20 '.status.phase == "Failed" and .status.reason == "OutOfcpu" and (.status.message | startswith("Node didn'"'"'t have enough resource: cpu, requested: 1000000, used: "))'

aa_msg="Cannot enforce AppArmor: AppArmor is not enabled on the host"
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && aa_msg="Cannot enforce AppArmor: nodelet does not apply AppArmor profiles yet"
check "an AppArmor profile that cannot be enforced: AppArmor" apparmor 20 '.status.phase == "Failed" and .status.reason == "AppArmor" and .status.message == "'"$aa_msg"'" and .status.containerStatuses == null'
check "the beta AppArmor annotation is refused the same way" apparmor-beta 20 '.status.phase == "Failed" and .status.reason == "AppArmor"'
if [ -n "$HOSTDEV" ]; then
        check "privileged pod ran" privdev 30 '.status.phase == "Succeeded"'
        out=$("$NODELET" logs "privdev-$NODE" "${ARGS[@]}" 2>&1)
        want=$(stat -c '%F %t:%T %n' "$HOSTDEV")
        [ "$out" = "$want" ] && ok || bad "a privileged container has the host's $HOSTDEV ($want): $out"
        check "unprivileged pod ran" unprivdev 30 '.status.phase == "Succeeded"'
        "$NODELET" logs "unprivdev-$NODE" "${ARGS[@]}" 2>&1 | grep -q 'No such file' && ok || bad "an unprivileged container does not see $HOSTDEV"
fi
check "an unready sidecar keeps the pod unready, named first" sidecar-unready 30 '.status.containerStatuses[0].ready == true and ([.status.conditions[] | select(.type == "Ready")][0] | .status == "False" and .message == "containers with unready status: [side]")'
check "init2 of a failed RestartNever pod waits PodInitializing" init-never-waits 30 '.status.phase == "Failed" and .status.initContainerStatuses[1].state.waiting.reason == "PodInitializing"'
check "a hostNetwork pod reports the node's IP, once" hostnet-ips 30 '.status.podIP == .status.hostIP and (.status.podIPs | length) == 1 and .status.podIPs[0].ip == .status.hostIP'
hip=$(pod_json hostnet-ips | jq -r .status.hostIP)
[ "$("$NODELET" logs "hostnet-ips-$NODE" "${ARGS[@]}" 2>/dev/null)" = "$hip" ] && ok || bad "a hostNetwork pod's POD_IP is the node's IP ($hip)"
check "os.name windows: PodOSNotSupported" windows 20 '.status.phase == "Failed" and .status.reason == "PodOSNotSupported" and .status.message == "Failed to admit pod as the OS field doesn'"'"'t match node OS" and .status.containerStatuses == null'
# a node selector is node affinity's (upstream's OS check reads the pod's kubernetes.io/os label)
check "a windows node selector: NodeAffinity" os-selector 20 '.status.phase == "Failed" and .status.reason == "NodeAffinity" and .status.message == "Predicate NodeAffinity failed: node(s) didn'"'"'t match Pod'"'"'s node affinity/selector" and .status.containerStatuses == null'

# events, as kubectl describe shows them
desc=$("$NODELET" describe "onfailure-$NODE" "${ARGS[@]}")
for want in "Started container c" "Back-off restarting failed container c in pod onfailure-$NODE" "Container image \"$IMG\" already present on machine" "Restart Count:" "Exit Code:   1"; do
        printf '%s' "$desc" | grep -qF -- "$want" && ok || { bad "describe lacks: $want"; printf '%s\n' "$desc" | sed 's/^/    /' | head -60; }
done

# an image a container uses is not removed (nor pruned)
"$NODELET" images --root-dir "$T/root" rm "$IMG" >"$T/rm.out" 2>&1 && bad "images rm of a used image succeeded" || ok
grep -q "is used by container" "$T/rm.out" && ok || { bad "images rm message"; cat "$T/rm.out"; }
"$NODELET" images --root-dir "$T/root" prune >/dev/null 2>&1
"$NODELET" images --root-dir "$T/root" inspect "$IMG" >/dev/null 2>&1 && ok || bad "prune removed a used image"

# a broken manifest is reported and skipped; a dot-file is ignored
grep -q "broken.yaml" "$T/daemon.log" && ok || bad "broken manifest not reported"
"$NODELET" pods "${ARGS[@]}" | grep -q -i broken && bad "broken manifest ran" || ok

# editing a file replaces its pod (new UID); removing it removes the pod
old_uid=$(pod_json always | jq -r .metadata.uid)
manifest always "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo edited; sleep 3600']"
check "edited file: new pod" always 60 ".metadata.uid != \"$old_uid\" and .status.phase == \"Running\" and .status.containerStatuses[0].restartCount == 0"
rm -f "$M/onfailure.yaml"
gone=1
for _ in $(seq 150); do pod_json onfailure >/dev/null || { gone=0; break; }; sleep 0.2; done
[ $gone = 0 ] && ok || bad "removed file: pod still there"

# a daemon restart leaves running containers alone and picks up what they did meanwhile
cid=$(pod_json sidecar | jq -r '.status.containerStatuses[0].containerID')
stop_daemon
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: late}\nspec: {restartPolicy: Never, containers: [{name: c, image: %s, command: [/bin/true]}]}\n' "$IMG" >"$M/late.yaml"
sleep 1
start_daemon
check "restart: same container, no restart" sidecar 30 ".status.containerStatuses[0].containerID == \"$cid\" and .status.containerStatuses[0].restartCount == 0 and .status.phase == \"Running\""
check "restart: pods added while down run" late 30 '.status.phase == "Succeeded"'

# the daemon killed with SIGKILL: containers go on, an exit while it is down is in the
# status afterwards, and nothing was restarted
manifest exiter "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'sleep 4; exit 3']}"
check "exiter running" exiter 30 '.status.phase == "Running"'
cid=$(pod_json sidecar | jq -r '.status.containerStatuses[0].containerID')
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
sleep 6
start_daemon
check "after SIGKILL: the exit is recorded" exiter 30 '.status.phase == "Failed" and .status.containerStatuses[0].state.terminated.exitCode == 3 and .status.containerStatuses[0].restartCount == 0'
check "after SIGKILL: running containers untouched" sidecar 30 ".status.containerStatuses[0].containerID == \"$cid\" and .status.containerStatuses[0].restartCount == 0"

stop_daemon
echo "static-pods: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "--- daemon log (tail)"; tail -40 "$T/daemon.log"; }
[ "$fail" -eq 0 ]
