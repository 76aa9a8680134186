#!/usr/bin/env bash
# The kubelet's admission in static mode (agent/admission.c): pods the node cannot or must not
# run are Failed at once with the kubelet's reason and message and never get a container, while
# a good pod with a host port keeps running: a node selector and a required node affinity that
# do not match the node's labels (its own and --node-labels), a host port a running pod holds,
# cpu, memory, ephemeral-storage and hugepages past allocatable (capacity less --kube-reserved
# and --system-reserved), a pod labelled for another OS. The allocatable a pod sees through the
# downward API (no limits: the node's allocatable) is capacity less the reservations.
# Needs root, jq, socat and the runtime packages (deploy/install-deps.sh, tests/fixtures/deps.sh).
SUITE=admission BRIDGE=nladm SUBNET=10.99.22.0/24
. "$(dirname "$0")/lib/node.sh"
HP=$(( 20000 + RANDOM % 20000 ))
EXTRA_ARGS=(--node-labels disk=hdd,gen=5 --kube-reserved "cpu=500m, memory=1Gi" --system-reserved cpu=300m,memory=512Mi
        --kube-reserved ephemeral-storage=1Gi)
cores=$(nproc)
alloc_cpu=$(( cores * 1000 - 800 ))
# memory also less the default hard eviction threshold, memory.available<100Mi
alloc_mem=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 - 1024 * 1024 * 1024 - 512 * 1024 * 1024 - 100 * 1024 * 1024 ))
# the downward API rounds cpu up to whole cores
alloc_cores=$(( (alloc_cpu + 999) / 1000 ))

manifest web "  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo CPU=\$CPU MEM=\$MEM; exec httpd -f -p 8080']
    ports: [{containerPort: 8080, hostPort: $HP}]
    env:
    - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory}}}"
start_daemon
check "a pod with a host port runs" web 60 '.status.phase == "Running" and .status.containerStatuses[0].state.running != null'

# the limits a pod without limits sees are the node's allocatable: capacity less both reservations
# and the hard eviction threshold
want="CPU=$alloc_cores MEM=$alloc_mem"
got=""
for _ in $(seq 50); do got=$("$NODELET" logs "web-$NODE" "${ARGS[@]}" 2>/dev/null | head -1); [ -n "$got" ] && break; sleep 0.2; done
[ "$got" = "$want" ] && ok || bad "the downward API's node allocatable is capacity - kubeReserved - systemReserved (got '$got', want '$want')"

manifest clash "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    ports: [{containerPort: 80, hostPort: $HP}]"
manifest clash-udp "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    ports: [{containerPort: 80, hostPort: $HP, protocol: UDP}]"
manifest selector "  nodeSelector: {disk: ssd}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest selector-ok "  nodeSelector: {disk: hdd, kubernetes.io/hostname: $NODE, kubernetes.io/os: linux}
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest affinity "  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: gen, operator: Gt, values: ['7']}]
        - matchFields: [{key: metadata.name, operator: NotIn, values: [$NODE]}]
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest affinity-ok "  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: gen, operator: Gt, values: ['7']}]
        - matchExpressions: [{key: gen, operator: Lt, values: ['6']}, {key: kubernetes.io/arch, operator: Exists}]
  containers:
  - {name: c, image: $IMG, command: [sleep, '3600']}"
manifest cpu "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    resources: {requests: {cpu: $(( alloc_cpu + 1 ))m}}"
manifest memory "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    resources: {requests: {memory: '$(( alloc_mem + 1 ))'}}"
manifest storage "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    resources: {requests: {ephemeral-storage: 1Pi}}"
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: os-label\n  labels: {kubernetes.io/os: windows}\nspec:\n  containers:\n  - {name: c, image: %s, command: [sleep, "3600"]}\n' "$IMG" >"$M/os-label.yaml"
hugepages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null || echo 0)
if [ "$hugepages" = 0 ]; then
        manifest hugepages "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    resources: {requests: {hugepages-2Mi: 4Mi, memory: 8Mi}, limits: {hugepages-2Mi: 4Mi, memory: 8Mi}}"
fi

Q="'"
rejected() { # DESCRIPTION POD REASON MESSAGE
        check "$1" "$2" 40 ".status.phase == \"Failed\" and .status.reason == \"$3\" and .status.message == \"$4\" and .status.containerStatuses == null"
}
rejected "a host port a running pod holds: NodePorts" clash NodePorts "Predicate NodePorts failed: node(s) didn${Q}t have free ports for the requested pod ports"
check "the same host port over UDP runs" clash-udp 60 '.status.phase == "Running"'
rejected "a node selector the node's labels do not match: NodeAffinity" selector NodeAffinity "Predicate NodeAffinity failed: node(s) didn${Q}t match Pod${Q}s node affinity/selector"
check "a node selector on --node-labels and the node's own labels runs" selector-ok 60 '.status.phase == "Running"'
rejected "a required node affinity no term of which matches: NodeAffinity" affinity NodeAffinity "Predicate NodeAffinity failed: node(s) didn${Q}t match Pod${Q}s node affinity/selector"
check "a required node affinity with one matching term (Lt, Exists) runs" affinity-ok 60 '.status.phase == "Running"'
rejected "cpu past allocatable: OutOfcpu" cpu OutOfcpu "Node didn${Q}t have enough resource: cpu, requested: $(( alloc_cpu + 1 )), used: 0, capacity: $alloc_cpu"
rejected "memory past allocatable: OutOfmemory" memory OutOfmemory "Node didn${Q}t have enough resource: memory, requested: $(( alloc_mem + 1 )), used: 0, capacity: $alloc_mem"
check "ephemeral-storage past allocatable: OutOfephemeral-storage" storage 40 '.status.phase == "Failed" and .status.reason == "OutOfephemeral-storage" and (.status.message | test("^Node didn.t have enough resource: ephemeral-storage, requested: 1125899906842624, used: 0, capacity: [0-9]+$"))'
rejected "a pod labelled kubernetes.io/os: windows" os-label PodOSSelectorNodeLabelDoesNotMatch 'Failed to admit pod as the `kubernetes.io/os` label doesn'"${Q}"'t match node label'
if [ "$hugepages" = 0 ]; then
        rejected "hugepages the node has not: OutOfhugepages-2Mi" hugepages OutOfhugepages-2Mi "Node didn${Q}t have enough resource: hugepages-2Mi, requested: 4194304, used: 0, capacity: 0"
fi
check "the good pod is still running, never restarted" web 5 '.status.phase == "Running" and .status.containerStatuses[0].restartCount == 0'
n=$(ls "$T/root/containers" 2>/dev/null | wc -l)
# web, clash-udp, selector-ok, affinity-ok: one container each (no sandbox container: pinned namespaces)
[ "$n" = 4 ] && ok || bad "no container for a rejected pod (got $n container dirs, want 4)"

# a pod being terminated still holds its port until it is gone (the kubelet's
# filterOutInactivePods): a pod asking for it meanwhile is rejected
manifest holder "  terminationGracePeriodSeconds: 30
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'while true; do sleep 1; done']
    ports: [{containerPort: 81, hostPort: $(( HP + 1 ))}]"
check "a pod that ignores SIGTERM runs" holder 60 '.status.phase == "Running" and .status.containerStatuses[0].state.running != null'
rm -f "$M/holder.yaml"
for _ in $(seq 50); do grep -q "pod holder-$NODE: terminating" "$T/daemon.log" && break; sleep 0.2; done
manifest successor "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    ports: [{containerPort: 81, hostPort: $(( HP + 1 ))}]"
rejected "the port of a pod still terminating: NodePorts" successor NodePorts "Predicate NodePorts failed: node(s) didn${Q}t have free ports for the requested pod ports"

# a pod that was rejected stays rejected when its port is free again: admission is once, as
# the kubelet's (a new pod, here a changed manifest, is admitted anew)
rm -f "$M/web.yaml"
for _ in $(seq 100); do pod_json web >/dev/null || break; sleep 0.2; done
pod_json web >/dev/null && bad "the web pod is removed with its manifest"
check "the rejected pod stays rejected once the port is free" clash 5 '.status.phase == "Failed" and .status.reason == "NodePorts"'
manifest clash "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3601']
    ports: [{containerPort: 80, hostPort: $HP}]"
check "a new clash pod is admitted once the port is free" clash 60 '.status.phase == "Running" and .status.containerStatuses[0].state.running != null'

# bad reservations are errors naming the flag or key, with the kubelet's words
err=$("$NODELET" run "${ARGS[@]}" --kube-reserved gpu=1 2>&1)
[ "$err" = 'nodelet run: --kube-reserved: cannot reserve "gpu" resource' ] && ok || bad "--kube-reserved gpu=1 (got: $err)"
err=$("$NODELET" run "${ARGS[@]}" --system-reserved memory=-1Mi 2>&1)
[ "$err" = 'nodelet run: --system-reserved: resource quantity for "memory" cannot be negative: -1Mi' ] && ok || bad "negative --system-reserved (got: $err)"
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nsystemReserved: {cpu: lots}\n' >"$T/bad.yaml"
err=$("$NODELET" run "${ARGS[@]}" --config "$T/bad.yaml" 2>&1)
[ "$err" = "nodelet run: $T/bad.yaml: systemReserved: failed to parse quantity \"lots\" for \"cpu\" resource" ] && ok || bad "systemReserved cpu: lots (got: $err)"

echo "$SUITE: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
