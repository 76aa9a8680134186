#!/usr/bin/env bash
# The kubelet's admission and honest node conditions against a real API server (issue 20):
# the Node's allocatable is capacity less --kube-reserved and --system-reserved; pods bound to
# the node that it cannot or must not run are Failed with the kubelet's reason and message (a
# node selector and a required node affinity that do not match, a host port a running pod
# holds, cpu and memory past allocatable, a NoExecute taint set with kubectl taint) while a
# good pod keeps running; labels set with kubectl label count; Ready is False with the
# kubelet's KubeletNotReady and the runtime's words while the CNI config is missing, and True
# again once it is back. Needs root, Go (first run builds the control plane), jq, socat,
# openssl and the runtime packages.
SUITE=admission-cluster BRIDGE=nladm2 SUBNET=10.99.23.0/24 NODE=nodelet-adm
. "$(dirname "$0")/lib.sh"
EXTRA_ARGS+=(--kube-reserved cpu=500m,memory=1Gi,ephemeral-storage=2Gi --system-reserved cpu=250m,memory=256Mi
        --node-labels disk=hdd --eviction-hard 'memory.available<100Mi,nodefs.available<1Gi')
HP=$(free_port $(( 21000 + RANDOM % 9000 )))
Q="'"
start_daemon
kwait "node Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"

# allocatable = capacity - kubeReserved - systemReserved - the hard eviction thresholds of
# memory.available and nodefs.available, in bytes / millicores whatever form the API server prints
BYTES='def bytes: capture("^(?<n>[0-9]+)(?<s>[KMGTPE]i|[kMGTPE]|m)?$") | (.n | tonumber) * ({"":1, "Ki":1024, "Mi":1048576, "Gi":1073741824, "Ti":1099511627776, "k":1000, "M":1000000, "G":1000000000, "T":1000000000000, "m":0.001}[.s // ""]);
def milli: if test("m$") then (.[:-1] | tonumber) else (tonumber * 1000) end;'
kwait "allocatable cpu is capacity less 750m" 10 "$BYTES"' .status | (.allocatable.cpu | milli) == (.capacity.cpu | milli) - 750' node "$NODE"
kwait "allocatable memory is capacity less 1Gi + 256Mi + 100Mi" 10 "$BYTES"' .status | (.allocatable.memory | bytes) == (.capacity.memory | bytes) - 1447034880' node "$NODE"
kwait "allocatable ephemeral-storage is capacity less 2Gi + 1Gi" 10 "$BYTES"' .status | (.allocatable["ephemeral-storage"] | bytes) == (.capacity["ephemeral-storage"] | bytes) - 3221225472' node "$NODE"
alloc_cpu=$(k get node "$NODE" -o json | jq -r "$BYTES"' .status.allocatable.cpu | milli')
alloc_mem=$(k get node "$NODE" -o json | jq -r "$BYTES"' .status.allocatable.memory | bytes')

pod web "  containers:
  - name: c
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [httpd, -f, -p, '8080']
    ports: [{containerPort: 8080, hostPort: $HP}]"
kwait "a pod with a host port runs" 60 '.status.phase == "Running" and .status.containerStatuses[0].ready' pod web

rejected() { # DESCRIPTION POD REASON MESSAGE
        kwait "$1" 40 ".status.phase == \"Failed\" and .status.reason == \"$3\" and .status.message == \"$4\" and (.status.containerStatuses == null)" pod "$2"
}
pod clash "  containers:
  - name: c
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    ports: [{containerPort: 80, hostPort: $HP}]"
rejected "a host port the running pod holds: NodePorts" clash NodePorts "Predicate NodePorts failed: node(s) didn${Q}t have free ports for the requested pod ports"
pod selector "  nodeSelector: {disk: ssd}
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
rejected "a node selector the node's labels do not match: NodeAffinity" selector NodeAffinity "Predicate NodeAffinity failed: node(s) didn${Q}t match Pod${Q}s node affinity/selector"
pod affinity "  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/hostname, operator: NotIn, values: [$NODE]}]
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
rejected "a required node affinity that does not match: NodeAffinity" affinity NodeAffinity "Predicate NodeAffinity failed: node(s) didn${Q}t match Pod${Q}s node affinity/selector"
pod cpu "  containers:
  - name: c
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    resources: {requests: {cpu: $(( alloc_cpu + 1 ))m}}"
rejected "cpu past allocatable: OutOfcpu" cpu OutOfcpu "Node didn${Q}t have enough resource: cpu, requested: $(( alloc_cpu + 1 )), used: 0, capacity: $alloc_cpu"
pod memory "  containers:
  - name: c
    image: $IMG
    imagePullPolicy: IfNotPresent
    command: [sleep, '3600']
    resources: {requests: {memory: '$(( alloc_mem + 1 ))'}}"
rejected "memory past allocatable: OutOfmemory" memory OutOfmemory "Node didn${Q}t have enough resource: memory, requested: $(( alloc_mem + 1 )), used: 0, capacity: $alloc_mem"

# the Node as the API server has it: a label set with kubectl counts, a NoExecute taint too
k label node "$NODE" zone=lab >/dev/null
k taint node "$NODE" maint=now:NoExecute >/dev/null
sleep 12 # the node's next read (every nodeStatusUpdateFrequency, 10 s)
pod zoned "  nodeSelector: {zone: lab, disk: hdd}
  tolerations: [{key: maint, operator: Exists, effect: NoExecute}]
  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
kwait "a node selector on a label set with kubectl label, the taint tolerated: runs" 60 '.status.phase == "Running"' pod zoned
pod tainted "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sleep, '3600']}"
rejected "a NoExecute taint the pod does not tolerate: TaintToleration" tainted TaintToleration "Predicate TaintToleration failed: node(s) had taints that the pod didn${Q}t tolerate"
k taint node "$NODE" maint- >/dev/null
kwait "the good pod is still running, never restarted" 5 '.status.phase == "Running" and .status.containerStatuses[0].restartCount == 0' pod web

# Ready tells the truth: no CNI config, no pod network, Ready False with the kubelet's words
mv "$T/cni/10-test.conflist" "$T/10-test.conflist.away"
kwait "Ready False with KubeletNotReady while the CNI config is missing" 40 \
        '.status.conditions[] | select(.type=="Ready") | .status == "False" and .reason == "KubeletNotReady" and (.message | startswith("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: "))' node "$NODE"
k get node "$NODE" 2>/dev/null | grep -q " NotReady " && ok || bad "kubectl get node shows NotReady"
mv "$T/10-test.conflist.away" "$T/cni/10-test.conflist"
kwait "Ready True again once the CNI config is back" 40 \
        '.status.conditions[] | select(.type=="Ready") | .status == "True" and .reason == "KubeletReady" and .message == "kubelet is posting ready status"' node "$NODE"

k delete pod --all --grace-period=1 --wait=false >/dev/null 2>&1
for _ in $(seq 120); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 0.5; done
finish_suite
