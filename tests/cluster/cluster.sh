#!/usr/bin/env bash
# Cluster mode end to end: a real kube-apiserver (tests/cluster/control-plane.sh), the daemon
# joined to it with the node's own certificate (Node authorizer + NodeRestriction), real
# containers, and kubectl as a user runs it. Needs root, Go (first run builds the control plane),
# jq, socat, openssl and the runtime packages.
SUITE=cluster BRIDGE=nlclus SUBNET=10.99.12.0/24 NODE=nodelet-test
. "$(dirname "$0")/lib.sh"

# a registry that wants credentials, for imagePullSecrets
REG_PORT=$(free_port 15101)
if tests/fixtures/registry.sh start --auth basic --port "$REG_PORT" --dir "$T/reg" >"$T/reg.log" 2>&1 &&
        tests/fixtures/registry.sh push "$T/img" --dir "$T/reg" >>"$T/reg.log" 2>&1; then ok; else bad "registry fixture"; tail -5 "$T/reg.log"; fi
stop_reg() { tests/fixtures/registry.sh stop --dir "$T/reg" >/dev/null 2>&1; stop_cp; }
SUITE_CLEANUP=stop_reg
EXTRA_ARGS+=(--insecure-registry "127.0.0.1:$REG_PORT")

manifest static-web "  containers:
  - name: web
    image: $IMG
    command: [sh, -c, 'echo static up; sleep 3600']"
start_daemon

# --- the node -----------------------------------------------------------------------------------
kwait "node registers and is Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True" and .reason == "KubeletReady"' node "$NODE"
kwait "node capacity, addresses, nodeInfo" 10 '(.status.capacity.cpu | tonumber) >= 1 and (.status.capacity.pods == "110") and (.status.capacity.memory | endswith("Ki")) and ([.status.addresses[] | .type] | index("InternalIP") != null) and (.status.nodeInfo.containerRuntimeVersion | startswith("crun://")) and .status.daemonEndpoints.kubeletEndpoint.Port == '"$PORT"' and .metadata.labels["kubernetes.io/hostname"] == "'"$NODE"'"' node "$NODE"
kwait "node advertises user namespaces for its runtime handler" 10 '.status.runtimeHandlers == [{"name": "", "features": {"recursiveReadOnlyMounts": false, "userNamespaces": true}}]' node "$NODE"
kwait "node pressure conditions with the kubelet's reasons" 10 '[.status.conditions[] | select(.type != "Ready") | .reason] | sort == ["KubeletHasNoDiskPressure","KubeletHasSufficientMemory","KubeletHasSufficientPID"]' node "$NODE"
if k get node "$NODE" 2>/dev/null | grep -q " Ready "; then ok; else bad "kubectl get node shows Ready"; k get node "$NODE"; fi
kwait "lease kube-node-lease/$NODE held by the node, 40 s" 30 '.spec.holderIdentity == "'"$NODE"'" and .spec.leaseDurationSeconds == 40' lease -n kube-node-lease "$NODE"
r1=
for _ in $(seq 20); do
        r1=$(k get lease -n kube-node-lease "$NODE" -o jsonpath='{.spec.renewTime}' 2>/dev/null) && [ -n "$r1" ] && break
        sleep 0.5
done
sleep 12
r2=$(k get lease -n kube-node-lease "$NODE" -o jsonpath='{.spec.renewTime}' 2>/dev/null)
if [ -n "$r1" ] && [ "$r1" != "$r2" ]; then ok; else bad "the lease renews ($r1 -> $r2)"; fi

# --- a pod through kubectl ----------------------------------------------------------------------
pod hello "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo hello from the cluster; echo line2; sleep 3600']
    readinessProbe:
      exec: {command: [/bin/true]}
      periodSeconds: 1"
kwait "kubectl apply -> Running and Ready" 60 '.status.phase == "Running" and (.status.conditions[] | select(.type=="Ready") | .status == "True") and .status.containerStatuses[0].ready == true and (.status.containerStatuses[0].state.running.startedAt | length > 0) and (.status.podIP | length > 0) and .status.hostIP == "127.0.0.1" and .status.qosClass == "BestEffort"' pod hello
kwait "pod conditions all there" 5 '[.status.conditions[].type] | sort == ["ContainersReady","Initialized","PodReadyToStartContainers","PodScheduled","Ready"]' pod hello
out=$(k logs hello 2>&1)
if [ "$out" = "hello from the cluster
line2" ]; then ok; else bad "kubectl logs: got '$out'"; fi
out=$(k logs hello --tail=1 2>&1)
if [ "$out" = "line2" ]; then ok; else bad "kubectl logs --tail=1: got '$out'"; fi
out=$(timeout 5 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" logs -f hello 2>&1 | head -1)
if [ "$out" = "hello from the cluster" ]; then ok; else bad "kubectl logs -f: got '$out'"; fi
ev=$(k get events --field-selector involvedObject.name=hello -o json 2>/dev/null | jq -r '[.items[].reason] | join(",")')
case "$ev" in *Pulled*Created*Started* | *Created*Started*) ok ;; *) bad "events Created/Started posted to the API (got: $ev)" ;; esac

# --- restarts and --previous ---------------------------------------------------------------------
pod crasher "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo run at \$(date +%s%N); exit 3']"
kwait "a crashing container restarts with back-off" 40 '.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated.exitCode == 3' pod crasher
out=$(k logs crasher --previous 2>&1)
case "$out" in "run at "*) ok ;; *) bad "kubectl logs --previous: got '$out'" ;; esac

# --- configMap and secret data -------------------------------------------------------------------
k create configmap app-config --from-literal=greeting=hello-v1 --from-literal=color=blue >/dev/null
k create secret generic app-secret --from-literal=password=s3cr3t >/dev/null
pod data "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'echo PASSWORD=\$PASSWORD color=\$color; while true; do cat /etc/config/greeting; echo; sleep 1; done']
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: app-secret, key: password}}
    envFrom:
    - configMapRef: {name: app-config}
    volumeMounts:
    - {name: cfg, mountPath: /etc/config}
  volumes:
  - name: cfg
    configMap: {name: app-config}"
kwait "pod with configMap volume and secret env runs" 60 '.status.phase == "Running"' pod data
sleep 2
out=$(k logs data 2>&1 | head -2)
case "$out" in "PASSWORD=s3cr3t color=blue"*hello-v1*) ok ;; *) bad "secret env, envFrom and configMap file: got '$out'" ;; esac
k create configmap app-config --from-literal=greeting=hello-v2 --from-literal=color=blue --dry-run=client -o yaml | k replace -f - >/dev/null
found=0
for _ in $(seq 120); do
        if k logs data --tail=1 2>/dev/null | grep -q hello-v2; then found=1; break; fi
        sleep 0.5
done
if [ $found = 1 ]; then ok; else bad "a configMap change reaches the mounted file"; k logs data --tail=3; fi
pod missing-cm "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']
    env:
    - name: X
      valueFrom: {configMapKeyRef: {name: no-such-config, key: x}}"
kwait "a missing configMap for env is CreateContainerConfigError" 40 '.status.containerStatuses[0].state.waiting.reason == "CreateContainerConfigError" and (.status.containerStatuses[0].state.waiting.message | contains("no-such-config"))' pod missing-cm

# --- labels reach the downward API volume without a restart ------------------------------------------
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: labels\n  labels: {tier: one}\nspec:\n  nodeName: %s\n  automountServiceAccountToken: false\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: c\n    image: %s\n    command: [sh, -c, "while true; do cat /etc/podinfo/labels; echo; sleep 1; done"]\n    volumeMounts: [{name: podinfo, mountPath: /etc/podinfo}]\n  volumes:\n  - name: podinfo\n    downwardAPI:\n      items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]\n' "$NODE" "$IMG" | apply
kwait "a pod with a downwardAPI labels volume runs" 60 '.status.phase == "Running"' pod labels
cid=$(k get pod labels -o jsonpath='{.status.containerStatuses[0].containerID}')
k label pod labels tier=two --overwrite >/dev/null
found=0
for _ in $(seq 60); do k logs labels --tail=1 2>/dev/null | grep -q 'tier="two"' && { found=1; break; }; sleep 0.5; done
if [ $found = 1 ] && [ "$(k get pod labels -o jsonpath='{.status.containerStatuses[0].containerID}')" = "$cid" ]; then ok; else bad "a label change reaches the downward API file, container kept"; k logs labels --tail=2; fi

# --- service account token (the API server's kube-api-access projected volume) and service env ---
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: sa\nspec:\n  nodeName: %s\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: c\n    image: %s\n    command: [sh, -c, "cut -d. -f1 /var/run/secrets/kubernetes.io/serviceaccount/token | head -c 20; echo; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; head -1 /var/run/secrets/kubernetes.io/serviceaccount/ca.crt; echo KUBERNETES_SERVICE_HOST=$KUBERNETES_SERVICE_HOST; sleep 3600"]\n' "$NODE" "$IMG" | apply
kwait "a pod with the default service account token volume runs" 60 '.status.phase == "Running" and ([.spec.volumes[].name | startswith("kube-api-access")] | any)' pod sa
sleep 1
out=$(k logs sa 2>&1 | tr '\n' '|')
case "$out" in "eyJ"*"|default|-----BEGIN CERTIFICATE-----|KUBERNETES_SERVICE_HOST=10.96.0.1|") ok ;; *) bad "token, namespace, ca.crt and service env in the container: got '$out'" ;; esac

# --- imagePullSecrets ---------------------------------------------------------------------------
k create secret docker-registry regcred --docker-server="127.0.0.1:$REG_PORT" --docker-username=nodelet --docker-password=s3cret >/dev/null
pod private "  imagePullSecrets: [{name: regcred}]
  containers:
  - name: c
    image: 127.0.0.1:$REG_PORT/busybox:latest
    command: [sleep, '3600']"
kwait "an image from a registry that wants credentials, with imagePullSecrets" 60 '.status.phase == "Running" and (.status.containerStatuses[0].imageID | contains("sha256:"))' pod private
pod no-creds "  containers:
  - name: c
    image: 127.0.0.1:$REG_PORT/layered:latest
    command: [sleep, '3600']"
kwait "the same registry without the secret: ErrImagePull / ImagePullBackOff" 60 '.status.containerStatuses[0].state.waiting.reason | test("ErrImagePull|ImagePullBackOff")' pod no-creds

# --- the static pod's mirror ----------------------------------------------------------------------
kwait "a mirror pod for the static pod" 60 '.metadata.annotations["kubernetes.io/config.mirror"] != null and .metadata.ownerReferences[0].kind == "Node" and .status.phase == "Running"' pod "static-web-$NODE"
old=$(k get pod "static-web-$NODE" -o jsonpath='{.metadata.uid}' 2>/dev/null)
k delete pod "static-web-$NODE" --wait=false >/dev/null 2>&1
kwait "a deleted mirror pod is recreated" 60 '.metadata.uid != "'"$old"'" and .metadata.deletionTimestamp == null and .status.phase == "Running"' pod "static-web-$NODE"
cid=$(pod_json static-web | jq -r '.status.containerStatuses[0].containerID')
if [ "$(pod_json static-web | jq -r '.status.containerStatuses[0].restartCount')" = 0 ]; then ok; else bad "deleting the mirror pod left the static pod's container alone"; fi

# --- the API server goes away ---------------------------------------------------------------------
hello_cid=$(k get pod hello -o jsonpath='{.status.containerStatuses[0].containerID}')
pod short "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'sleep 8; exit 7']"
kwait "pod short runs" 40 '.status.phase == "Running"' pod short
tests/cluster/control-plane.sh stop-apiserver "$CP" >/dev/null 2>&1
sleep 15
if kill -0 "$DAEMON_PID" 2>/dev/null; then ok; else bad "the daemon survives the API server's outage"; fi
tests/cluster/control-plane.sh start-apiserver "$CP" >/dev/null 2>&1 || bad "API server restart"
kwait "after the outage the exit that happened meanwhile is reported" 60 '.status.phase == "Failed" and .status.containerStatuses[0].state.terminated.exitCode == 7' pod short
kwait "pods were not disturbed by the outage" 30 '.status.containerStatuses[0].containerID == "'"$hello_cid"'" and .status.containerStatuses[0].restartCount == 0 and .status.phase == "Running"' pod hello
kwait "node Ready again after the outage" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
kwait "the lease renews again after the outage" 30 '(.spec.renewTime | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) > (now - 15)' lease -n kube-node-lease "$NODE"

# --- 410 Gone: compact etcd under the watch, restart the API server: the agent relists ------------
rev=$(curl -s -X POST "$ETCD_URL/v3/kv/range" -d '{"key":"AA=="}' | jq -r '.header.revision')
tests/cluster/control-plane.sh stop-apiserver "$CP" >/dev/null 2>&1
curl -s -X POST "$ETCD_URL/v3/kv/compaction" -d "{\"revision\": \"$rev\", \"physical\": true}" >/dev/null
tests/cluster/control-plane.sh start-apiserver "$CP" >/dev/null 2>&1
pod after-relist "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']"
kwait "after a relist new pods still arrive" 60 '.status.phase == "Running"' pod after-relist
if [ "$(grep -c 'listed (resourceVersion' "$T/daemon.log")" -ge 2 ]; then ok; else bad "the agent relisted after losing its watch"; grep -i "watch\|list" "$T/daemon.log" | tail -5; fi

# --- a node whose runtime cannot run pods says so: Ready False, the kubelet's KubeletNotReady ----------
stop_daemon
saved_runtime=$RUNTIME
RUNTIME=$T/no-runtime/crun
start_daemon
kwait "node NotReady while its runtime is missing, with the kubelet's reason and the runtime's words" 40 \
        '.status.conditions[] | select(.type=="Ready") | .status == "False" and .reason == "KubeletNotReady" and (.message | startswith("container runtime not ready: RuntimeReady=false reason:RuntimeNotFound message:"))' node "$NODE"
stop_daemon
RUNTIME=$saved_runtime
start_daemon
kwait "node Ready again once its runtime is back" 40 \
        '.status.conditions[] | select(.type=="Ready") | .status == "True" and .reason == "KubeletReady"' node "$NODE"

# --- pods created and deleted while the agent was down ---------------------------------------------
pod doomed "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']"
kwait "pod doomed runs" 40 '.status.phase == "Running"' pod doomed
doomed_uid=$(k get pod doomed -o jsonpath='{.metadata.uid}')
stop_daemon
# the restart uses the node's kubeconfig in its embedded form (certificate and key as *-data)
EXTRA_ARGS[1]=$NODE_KUBECONFIG_EMBEDDED
k delete pod doomed --wait=false >/dev/null
pod born-offline "  containers:
  - name: c
    image: $IMG
    command: [sleep, '3600']"
start_daemon
kwait "a pod created while the agent was down runs after its start" 60 '.status.phase == "Running"' pod born-offline
gone=0
for _ in $(seq 120); do k get pod doomed >/dev/null 2>&1 || [ -e "$T/root/pods/$doomed_uid" ] || { gone=1; break; }; sleep 0.25; done
if [ $gone = 1 ] && [ ! -e "$T/root/pods/$doomed_uid" ]; then ok; else bad "a pod deleted while the agent was down is stopped and goes"; fi

# --- a delete with a shorter grace period cuts a long preStop sleep (issue 18's e2e run) -----------------
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: sleepy, namespace: default}\nspec:\n  nodeName: %s\n  automountServiceAccountToken: false\n  terminationGracePeriodSeconds: 100\n  containers:\n  - name: c\n    image: %s\n    command: [sh, -c, "trap \\"\\" TERM; while true; do sleep 1; done"]\n    lifecycle: {preStop: {sleep: {seconds: 50}}}\n' "$NODE" "$IMG" | apply
kwait "pod sleepy runs" 40 '.status.phase == "Running"' pod sleepy
t0=$(date +%s)
k delete pod sleepy --grace-period=5 --wait=false >/dev/null
gone=0
for _ in $(seq 160); do k get pod sleepy >/dev/null 2>&1 || { gone=1; break; }; sleep 0.25; done
secs=$(( $(date +%s) - t0 ))
if [ $gone = 1 ] && [ $secs -le 20 ]; then ok; else bad "a 5 s delete grace cuts the 50 s preStop sleep (pod gone after $secs s, gone=$gone)"; fi
echo "    sleepy: gone $secs s after a delete with a 5 s grace period"

# --- a pod held by a finalizer shows its containers terminated (issue 18's e2e run: the DELETE
# went out with the final status patch still in flight, which it cancelled, so the API kept the
# Running status of a pod whose containers were gone) ---------------------------------------------
for i in 1 2 3 4; do
        printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: held-%s, namespace: default, finalizers: [example.com/hold]}\nspec:\n  nodeName: %s\n  automountServiceAccountToken: false\n  containers:\n  - name: c\n    image: %s\n    command: [sh, -c, "trap \\"exit 0\\" TERM; while true; do sleep 1; done"]\n' "$i" "$NODE" "$IMG" | apply
done
for i in 1 2 3 4; do kwait "pod held-$i runs" 40 '.status.phase == "Running"' pod held-$i; done
k delete pod held-1 held-2 held-3 held-4 --wait=false >/dev/null
for i in 1 2 3 4; do
        kwait "held-$i (finalizer): the API shows its container terminated" 30 \
                '.metadata.deletionTimestamp != null and .status.containerStatuses[0].state.terminated.exitCode == 0 and .status.containerStatuses[0].ready == false' pod held-$i
done
for i in 1 2 3 4; do k patch pod held-$i --type=json -p '[{"op": "remove", "path": "/metadata/finalizers"}]' >/dev/null 2>&1; done

# --- kubectl delete ---------------------------------------------------------------------------------
uid=$(k get pod hello -o jsonpath='{.metadata.uid}')
k delete pod hello --wait=false >/dev/null
gone=0
for _ in $(seq 120); do
        if ! k get pod hello >/dev/null 2>&1; then gone=1; break; fi
        sleep 0.25
done
if [ $gone = 1 ]; then ok; else bad "kubectl delete: the pod leaves the API"; k get pod hello -o yaml | tail -20; fi
if [ ! -e "$T/root/pods/$uid" ] && ! "$RUNTIME" --root "$T/run/runtime" list 2>/dev/null | grep -q "$uid"; then ok; else bad "kubectl delete: containers and state gone"; fi
if grep -q "Stopping container c" <(k get events -o json | jq -r '.items[] | select(.involvedObject.uid=="'"$uid"'") | .message'); then ok; else bad "Killing event posted"; fi

# --- node server through the API server --------------------------------------------------------------
if curl -s --max-time 5 "http://127.0.0.1:$HEALTHZ/healthz" | grep -q ok; then ok; else bad "healthz on 127.0.0.1:$HEALTHZ"; fi
# 10250 as the kubelet's: client certificates from the cluster CA, bearer tokens through a
# TokenReview, every request through a SubjectAccessReview
n10250() { curl -s --max-time 10 --cacert "$CA_CERT" "$@"; }
out=$(n10250 --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "https://127.0.0.1:$PORT/pods" | jq -r '.kind' 2>/dev/null)
if [ "$out" = PodList ]; then ok; else bad "/pods with the admin's client certificate (got '$out')"; fi
code=$(n10250 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/pods")
if [ "$code" = 401 ]; then ok; else bad "/pods without credentials: 401 (got $code)"; fi
out=$(n10250 --cert "$NODE_CERT" --key "$NODE_KEY" "https://127.0.0.1:$PORT/pods")
if [ "$out" = "Forbidden (user=system:node:$NODE, verb=get, resource=nodes, subresource=proxy)" ]; then ok; else bad "a user RBAC does not allow gets 403 (got '$out')"; fi
k create serviceaccount node-reader >/dev/null 2>&1
k create clusterrolebinding node-reader --clusterrole=system:kubelet-api-admin --serviceaccount=default:node-reader >/dev/null 2>&1
tok=$(k create token node-reader 2>/dev/null)
out=$(n10250 -H "Authorization: Bearer $tok" "https://127.0.0.1:$PORT/pods" | jq -r '.kind' 2>/dev/null)
if [ -n "$tok" ] && [ "$out" = PodList ]; then ok; else bad "a bearer token accepted by TokenReview and allowed (got '$out')"; fi
code=$(n10250 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(k create token default 2>/dev/null)" "https://127.0.0.1:$PORT/pods")
if [ "$code" = 403 ]; then ok; else bad "a valid token without the right: 403 (got $code)"; fi
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=admin/O=system:masters" -keyout "$T/evil.key" -out "$T/evil.crt" >/dev/null 2>&1
code=$(n10250 -o /dev/null -w '%{http_code}' --cert "$T/evil.crt" --key "$T/evil.key" "https://127.0.0.1:$PORT/pods")
if [ "$code" = 401 ] || [ "$code" = 000 ]; then ok; else bad "a client certificate from another CA claiming system:masters is refused (got $code)"; fi
code=$(n10250 -o /dev/null -w '%{http_code}' --path-as-is --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "https://127.0.0.1:$PORT/containerLogs/default/../../../etc/passwd")
if [ "$code" = 400 ] || [ "$code" = 404 ]; then ok; else bad "a traversal path is refused (got $code)"; fi
code=$(n10250 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer not-a-token" "https://127.0.0.1:$PORT/pods")
if [ "$code" = 401 ]; then ok; else bad "a token TokenReview rejects: 401 (got $code)"; fi

finish_suite
