#!/usr/bin/env bash
# TLS bootstrap and certificate rotation (issue 23), against a real control plane with
# kube-controller-manager (csrsigning with the fixture's CA, csrapproving) and a short
# --cluster-signing-duration: nodelet starts with only a kubeadm-style bootstrap kubeconfig
# (token), sends its CSR, gets it auto-approved and signed, writes the pair into --cert-dir and
# the kubeconfig, registers and runs a pod; its client certificate rotates (a new
# kubelet-client-*.pem, the symlink moved) and after the first certificate has expired the node
# still renews its lease and runs new pods, the old pod undisturbed; the serving certificate
# comes through a CSR the test approves, and `kubectl logs` (the API server checking the
# kubelet's certificate against the CA) works with it, before which it does not.
# Needs root, Go (first run builds the control plane), jq, socat, openssl and the runtime packages.
SUITE=bootstrap-cluster BRIDGE=nlboot SUBNET=10.99.30.0/24 NODE=nodelet-boot
export APISERVER_PORT=${APISERVER_PORT:-16500} ETCD_PORT=${ETCD_PORT:-12500} ETCD_PEER_PORT=${ETCD_PEER_PORT:-12501}
# 3 min: the signer backdates notBefore by 5 min, so rotation comes 36-132 s after issue (70-90 %
# of 8 min) and the first certificate expires 3 min after it
export CP_CONTROLLERS=1 CP_SIGNING_DURATION=${CP_SIGNING_DURATION:-3m}
. "$(dirname "$0")/lib.sh"

if tests/cluster/control-plane.sh bootstrap-token "$CP" >>"$CP/start.log" 2>&1 && [ -f "$CP/bootstrap-kubelet.conf" ]; then ok; else
        bad "bootstrap token"; tail -5 "$CP/start.log"; echo "$SUITE: $pass passed, $fail failed"; exit 1; fi
# ports of this suite's own range, away from the other suites' 11250 and up
PORT=$(free_port 16510)
HEALTHZ=$(free_port 16520 "$PORT")
TOKEN_ID=$(cut -d. -f1 "$CP/bootstrap-token")
PKI=$T/pki
KC=$T/kubelet.conf
cat >"$T/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
rotateCertificates: true
serverTLSBootstrap: true
EOF

# ---- bad input: named --------------------------------------------------------------------------
out=$("$NODELET" run "${ARGS[@]}" --node-name "$NODE" --bootstrap-kubeconfig "$T/none.conf" --kubeconfig "$KC" \
        --cert-dir "$PKI" --port 0 --healthz-port 0 2>&1)
case "$out" in *"--bootstrap-kubeconfig: kubeconfig $T/none.conf: No such file or directory"*) ok ;;
*) bad "a missing bootstrap kubeconfig is named: $out" ;; esac
out=$("$NODELET" run "${ARGS[@]}" --node-name "$NODE" --bootstrap-kubeconfig "$CP/bootstrap-kubelet.conf" 2>&1)
case "$out" in *"--bootstrap-kubeconfig needs --kubeconfig"*) ok ;; *) bad "--bootstrap-kubeconfig alone: $out" ;; esac
out=$("$NODELET" run "${ARGS[@]}" --node-name "$NODE" --rotate-certificates=maybe 2>&1)
case "$out" in *'--rotate-certificates: "maybe" is not true or false'*) ok ;; *) bad "--rotate-certificates=maybe: $out" ;; esac

# ---- the bootstrap --------------------------------------------------------------------------------
pod before "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo first pod; sleep 3600']}"
EXTRA_ARGS=(--config "$T/config.yaml" --bootstrap-kubeconfig "$CP/bootstrap-kubelet.conf" --kubeconfig "$KC"
        --cert-dir "$PKI" --node-ip 127.0.0.1 --port "$PORT" --healthz-port "$HEALTHZ" --client-ca-file "$CA_CERT"
        --sync-frequency 5s)
start_daemon
kwait "the bootstrap CSR: the kubelet's name, signer, usages, from the token's user; approved and issued" 60 \
        "[.items[] | select(.metadata.name | startswith(\"node-csr-\")) | select(.spec.username == \"system:bootstrap:$TOKEN_ID\" and .spec.signerName == \"kubernetes.io/kube-apiserver-client-kubelet\" and .spec.usages == [\"digital signature\", \"key encipherment\", \"client auth\"] and (.status.conditions[0].type == \"Approved\") and (.status.certificate | length > 0))] | length == 1" csr
csr_subject=$(k get csr -o json | jq -r '.items[] | select(.metadata.name | startswith("node-csr-")) | .spec.request' | base64 -d |
        openssl req -noout -subject -nameopt RFC2253 2>/dev/null)
[ "$csr_subject" = "subject=CN=system:node:$NODE,O=system:nodes" ] && ok || bad "the bootstrap CSR's subject: $csr_subject"
for _ in $(seq 60); do [ -f "$KC" ] && break; sleep 0.5; done
link1=$(readlink "$PKI/kubelet-client-current.pem")
case "$link1" in kubelet-client-20??-??-??-??-??-??.pem) ok ;; *) bad "kubelet-client-current.pem -> a dated file: [$link1]" ;; esac
subj=$(openssl x509 -in "$PKI/kubelet-client-current.pem" -noout -subject -nameopt RFC2253 2>&1)
[ "$subj" = "subject=CN=system:node:$NODE,O=system:nodes" ] && ok || bad "the client certificate's subject: $subj"
openssl verify -CAfile "$CA_CERT" "$PKI/kubelet-client-current.pem" >/dev/null 2>&1 && ok || bad "the client certificate chains to the CA"
[ "$(stat -c %a "$PKI/$link1")" = 600 ] && [ "$(stat -c %a "$KC")" = 600 ] && ok || bad "key files 0600"
grep -q "BEGIN EC PRIVATE KEY" "$PKI/$link1" && ok || bad "an EC key beside the certificate"
[ ! -e "$PKI/kubelet-client.key.tmp" ] && ok || bad "the bootstrap's temporary key removed"
kc_cert=$(KUBECONFIG=$KC "$KUBECTL" config view -o jsonpath='{.users[0].user.client-certificate}')
kc_server=$(KUBECONFIG=$KC "$KUBECTL" config view -o jsonpath='{.clusters[0].cluster.server}')
[ "$kc_cert" = "$PKI/kubelet-client-current.pem" ] && [ "$kc_server" = "$APISERVER_URL" ] && ok ||
        bad "the written kubeconfig names the current pair and the server: [$kc_cert] [$kc_server]"
"$KUBECTL" --kubeconfig "$KC" auth whoami -o jsonpath='{.status.userInfo.username}' 2>/dev/null | grep -qx "system:node:$NODE" && ok ||
        bad "the written kubeconfig authenticates as system:node:$NODE"

kwait "node registers and is Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True" and .reason == "KubeletReady"' node "$NODE"
RUNNING='.status.phase == "Running" and ([.status.containerStatuses[].state.running] | all)'
kwait "the pod runs" 60 "$RUNNING" pod before
cid=$(k get pod before -o jsonpath='{.status.containerStatuses[0].containerID}')
issued=$(openssl x509 -in "$PKI/kubelet-client-current.pem" -noout -enddate | cut -d= -f2)

# ---- the serving certificate: a CSR the test approves ---------------------------------------------
SERVING='[.items[] | select(.spec.signerName == "kubernetes.io/kubelet-serving" and .spec.username == "system:node:'"$NODE"'")]'
kwait "a serving CSR, pending: the node's name, its addresses, server auth" 30 \
        "$SERVING | length >= 1 and (.[0].spec.usages == [\"digital signature\", \"server auth\"]) and (.[0].status.conditions == null)" csr
serving_csr=$(k get csr -o json | jq -r "$SERVING | .[0].metadata.name")
san=$(k get csr "$serving_csr" -o jsonpath='{.spec.request}' | base64 -d | openssl req -noout -text 2>/dev/null | grep -A1 "Subject Alternative Name" | tail -1 | tr -d ' ')
[ "$san" = "DNS:$NODE,IPAddress:127.0.0.1" ] && ok || bad "the serving CSR's SANs: [$san]"
# until it is signed the node serves a self-signed certificate, which the API server refuses
out=$(k logs before 2>&1)
case "$out" in *"x509"* | *"certificate"*) ok ;; *) bad "kubectl logs before the serving CSR is approved fails on the certificate: [$out]" ;; esac
k certificate approve "$serving_csr" >/dev/null && ok || bad "kubectl certificate approve"
for _ in $(seq 60); do [ -L "$PKI/kubelet-server-current.pem" ] && break; sleep 0.5; done
openssl verify -CAfile "$CA_CERT" "$PKI/kubelet-server-current.pem" >/dev/null 2>&1 && ok || bad "the serving certificate is in place and chains to the CA"
for _ in $(seq 20); do out=$(k logs before 2>&1); [ "$out" = "first pod" ] && break; sleep 0.5; done
[ "$out" = "first pod" ] && ok || bad "kubectl logs with the issued serving certificate: [$out]"
served=$(echo | openssl s_client -connect "127.0.0.1:$PORT" 2>/dev/null | openssl x509 -noout -subject -nameopt RFC2253 2>/dev/null)
[ "$served" = "subject=CN=system:node:$NODE,O=system:nodes" ] && ok || bad "port $PORT serves the issued certificate without a restart: [$served]"
# its rotations need approval too: approve them as they come, as an operator's approver would
( while :; do
        for c in $(k get csr -o json 2>/dev/null | jq -r "$SERVING | .[] | select(.status.conditions == null) | .metadata.name"); do
                k certificate approve "$c" >/dev/null 2>&1
        done
        sleep 2
done ) &
APPROVER=$!
stop_all() { kill "$APPROVER" 2>/dev/null; stop_cp; }
SUITE_CLEANUP=stop_all

# ---- rotation ----------------------------------------------------------------------------------------
# the daemon's connections to the API server (socket inodes): the pod watch's among them
conns() { ss -Htnpe "dport = :$APISERVER_PORT" 2>/dev/null | grep "pid=$DAEMON_PID," | grep -o 'ino:[0-9]*' | sort -u; }
conns >"$T/conns.before"
[ -s "$T/conns.before" ] && ok || bad "the daemon's connections to the API server are listed"
link2=$link1
for _ in $(seq 200); do
        link2=$(readlink "$PKI/kubelet-client-current.pem")
        [ "$link2" != "$link1" ] && break
        sleep 1
done
[ "$link2" != "$link1" ] && [ -f "$PKI/$link1" ] && ok || bad "the client certificate rotated: kubelet-client-current.pem -> $link2 (was $link1)"
openssl x509 -in "$PKI/kubelet-client-current.pem" -noout -subject -nameopt RFC2253 2>&1 | grep -qx "subject=CN=system:node:$NODE,O=system:nodes" && ok || bad "the rotated certificate's subject"
kwait "the rotation CSR: generateName csr-, the node's own, without key encipherment, auto-approved" 10 \
        "[.items[] | select((.metadata.name | startswith(\"csr-\")) and .spec.username == \"system:node:$NODE\" and .spec.signerName == \"kubernetes.io/kube-apiserver-client-kubelet\" and .spec.usages == [\"digital signature\", \"client auth\"] and .status.conditions[0].type == \"Approved\")] | length >= 1" csr
grep -q "client certificate rotated: closing the API connections" "$T/daemon.log" && ok || bad "the daemon says it rotated"
# as the kubelet after a rotation: no connection made with the old certificate stays open (the
# watch comes back on a new one)
for _ in $(seq 20); do conns >"$T/conns.after"; [ -z "$(comm -12 "$T/conns.before" "$T/conns.after")" ] && break; sleep 1; done
[ -z "$(comm -12 "$T/conns.before" "$T/conns.after")" ] && [ -s "$T/conns.after" ] && ok ||
        { bad "connections from before the rotation closed: still open $(comm -12 "$T/conns.before" "$T/conns.after" | tr '\n' ' ')"
          ss -tnpeio "dport = :$APISERVER_PORT" | grep -A1 "pid=$DAEMON_PID," | sed 's/^/    /'; }
# past the first certificate's end: only the new one can talk to the API server now
now=$(date +%s); end=$(date -d "$issued" +%s)
[ "$end" -gt "$now" ] && sleep $((end - now + 5))
r1=$(k get lease -n kube-node-lease "$NODE" -o jsonpath='{.spec.renewTime}')
sleep 12
r2=$(k get lease -n kube-node-lease "$NODE" -o jsonpath='{.spec.renewTime}')
[ -n "$r1" ] && [ "$r1" != "$r2" ] && ok || bad "the lease renews after the first certificate expired ($r1 -> $r2)"
kwait "the node stays Ready" 5 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
pod after "  containers:
  - {name: c, image: $IMG, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo second pod; sleep 3600']}"
kwait "a pod created after the rotation runs (the pod watch came back with the new certificate)" 60 "$RUNNING" pod after
kwait "the first pod undisturbed (same container)" 5 "$RUNNING and .status.containerStatuses[0].containerID == \"$cid\" and .status.containerStatuses[0].restartCount == 0" pod before
for _ in $(seq 20); do out=$(k logs after 2>&1); [ "$out" = "second pod" ] && break; sleep 1; done
[ "$out" = "second pod" ] && ok || bad "kubectl logs after the serving certificate's rotation: [$out]"

# ---- a restart keeps the pair: no new bootstrap ------------------------------------------------------
stop_daemon
n_boot=$(k get csr -o json | jq '[.items[] | select(.metadata.name | startswith("node-csr-"))] | length')
before_log=$(wc -l <"$T/daemon.log")
start_daemon
sleep 5
kwait "after a restart the node is Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
tail -n +"$((before_log + 1))" "$T/daemon.log" | grep -q "TLS bootstrap" && bad "a restart with a valid kubeconfig bootstrapped again" || ok
[ "$(k get csr -o json | jq '[.items[] | select(.metadata.name | startswith("node-csr-"))] | length')" = "$n_boot" ] && ok || bad "no new bootstrap CSR after a restart"
kwait "the pod survived the restart" 30 "$RUNNING and .status.containerStatuses[0].containerID == \"$cid\"" pod before

k delete pod before after --wait=false >/dev/null 2>&1
finish_suite
