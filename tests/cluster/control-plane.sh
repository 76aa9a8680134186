#!/usr/bin/env bash
# Variables written to DIR/env are read through ${!name}.
# shellcheck disable=SC2034
# The real control plane for cluster-mode tests: etcd + kube-apiserver on loopback, with a
# throw-away PKI, kubeconfigs for an admin and for the node, and the few objects that
# kube-controller-manager would normally create (there is none here, nor a scheduler: tests
# bind pods by setting spec.nodeName).
#
# Usage: tests/cluster/control-plane.sh start DIR            build/reuse binaries, certs; start; wait ready
#        tests/cluster/control-plane.sh stop DIR             stop kube-apiserver and etcd, keep DIR
#        tests/cluster/control-plane.sh stop-apiserver DIR   stop only kube-apiserver (outage tests)
#        tests/cluster/control-plane.sh start-apiserver DIR  start it again, same flags and data
#        tests/cluster/control-plane.sh bootstrap-token DIR  a kubeadm-style bootstrap token (see below)
#
# start writes DIR/env, a shell file for tests to source (see tests/cluster/README.md), and
# DIR/etcd.pid, DIR/apiserver.pid. Logs: DIR/etcd.log, DIR/apiserver.log. Nothing goes to
# stdout; progress goes to stderr.
#
# Env: NODE_NAME (default nodelet-test); APISERVER_PORT, ETCD_PORT, ETCD_PEER_PORT (used as given;
#      unset: first free port from 16443, 12379 and the port after etcd's); CP_START_TIMEOUT
#      (seconds, default 120); K8S_VERSION, NODELET_CP_CACHE (see build-control-plane.sh);
#      CP_CONTROLLERS=1 also starts kube-controller-manager and kube-scheduler (the upstream e2e
#      suite needs namespaces deleted, service account tokens, workload controllers and
#      scheduling: tests/e2e/run.sh). Off by default: cluster.sh's tests bind pods themselves
#      and check what the node does alone. CP_SIGNING_DURATION: kube-controller-manager's
#      --cluster-signing-duration (default 8760h, as upstream), short for rotation tests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { echo "control-plane: $*" >&2; }
die() { log "$*"; exit 1; }

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() {
	echo "usage: $0 {start|stop|stop-apiserver|start-apiserver|bootstrap-token} DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
PKI=$DIR/pki

# --- helpers -------------------------------------------------------------------------------

# port_busy PORT: something listens on 127.0.0.1:PORT (or any address) already.
port_busy() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# pick_port START [EXCLUDE...]: first free port from START on, skipping EXCLUDEs.
pick_port() {
	local p=$1 ex
	shift
	for _ in $(seq 200); do
		local skip=
		for ex in "$@"; do [ "$p" = "$ex" ] && skip=1; done
		if [ -z "$skip" ] && ! port_busy "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	die "no free port found from $1"
}

# alive NAME: DIR/NAME.pid names a live process whose command line is ours (pid not reused).
alive() {
	local pidf=$DIR/$1.pid pid cmd state
	[ -f "$pidf" ] || return 1
	pid=$(cat "$pidf")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	# empty while the process is inside execve (seen under load): it is ours and starting
	[ -z "$cmd" ] && return 0
	grep -qF -- "$DIR" <<<"$cmd"
}

# stop_proc NAME: SIGTERM, then SIGKILL after 10 s.
stop_proc() {
	local name=$1 pid
	if ! alive "$name"; then
		rm -f "$DIR/$name.pid"
		return 0
	fi
	pid=$(cat "$DIR/$name.pid")
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name did not exit in 10 s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$DIR/$name.pid"
}

# spawn NAME CMD...: run detached (own session, no stdin, output to DIR/NAME.log).
spawn() {
	local name=$1
	shift
	echo "=== $(date -u +%FT%TZ) $name start" >>"$DIR/$name.log"
	setsid "$@" </dev/null >>"$DIR/$name.log" 2>&1 &
	echo $! >"$DIR/$name.pid"
}

fail_with_log() {
	local name=$1
	shift
	log "$*"
	log "last lines of $DIR/$name.log:"
	tail -n 40 "$DIR/$name.log" >&2 || true
	exit 1
}

# on_exit NAME...: EXIT trap; after a failure, stop what was started.
on_exit() {
	local rc=$? n
	if [ "$rc" -ne 0 ]; then
		for n in "$@"; do stop_proc "$n"; done
	fi
	return "$rc"
}

load_state() {
	[ -f "$DIR/env" ] || die "$DIR/env not found: run '$0 start $DIR' first"
	# shellcheck disable=SC1091
	. "$DIR/env"
}

# --- PKI -----------------------------------------------------------------------------------

# sign NAME SUBJ EXT: key + cert NAME.{key,crt} in PKI, signed by the CA, with extensions EXT
# (openssl x509 extension lines; newline separated).
sign() {
	local name=$1 subj=$2 ext=$3
	openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
	chmod 600 "$PKI/$name.key"
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	printf '%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$ext" >"$PKI/$name.ext"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
		-extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# need NAME CN: the cert is missing, does not chain to the CA, or has another CN.
need() {
	[ -f "$PKI/$1.crt" ] && [ -f "$PKI/$1.key" ] || return 0
	openssl verify -CAfile "$PKI/ca.crt" "$PKI/$1.crt" >/dev/null 2>&1 || return 0
	openssl x509 -in "$PKI/$1.crt" -noout -subject -nameopt RFC2253 | grep -q "CN=$2\(,\|$\)" || return 0
	return 1
}

make_pki() {
	mkdir -p "$PKI"
	local client="basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth"
	local server="basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth"
	local made=

	if [ ! -f "$PKI/ca.crt" ] || [ ! -f "$PKI/ca.key" ]; then
		openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
		chmod 600 "$PKI/ca.key"
		openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=nodelet-test-ca" -days 3650 -sha256 \
			-addext "basicConstraints = critical, CA:TRUE" \
			-addext "keyUsage = critical, keyCertSign, cRLSign, digitalSignature" \
			-out "$PKI/ca.crt" 2>/dev/null
		made+=" ca"
	fi
	if need apiserver kube-apiserver; then
		sign apiserver "/CN=kube-apiserver" "$server
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP:10.96.0.1"
		made+=" apiserver"
	fi
	if need admin admin; then
		sign admin "/O=system:masters/CN=admin" "$client"
		made+=" admin"
	fi
	if need node "system:node:$NODE_NAME"; then
		sign node "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
		made+=" node"
	fi
	if need kubelet "$NODE_NAME"; then
		sign kubelet "/CN=$NODE_NAME" "$server
subjectAltName = IP:127.0.0.1, DNS:$NODE_NAME, DNS:localhost"
		made+=" kubelet"
	fi
	if [ "$CP_CONTROLLERS" = 1 ] && need controller-manager system:kube-controller-manager; then
		sign controller-manager "/CN=system:kube-controller-manager" "$client"
		made+=" controller-manager"
	fi
	if [ "$CP_CONTROLLERS" = 1 ] && need scheduler system:kube-scheduler; then
		sign scheduler "/CN=system:kube-scheduler" "$client"
		made+=" scheduler"
	fi
	if need apiserver-kubelet-client kube-apiserver-kubelet-client; then
		sign apiserver-kubelet-client "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" "$client"
		made+=" apiserver-kubelet-client"
	fi
	if [ ! -f "$PKI/sa.key" ] || [ ! -f "$PKI/sa.pub" ]; then
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		chmod 600 "$PKI/sa.key"
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
		made+=" sa"
	fi
	if [ -n "$made" ]; then log "certificates made:$made"; else log "certificates reused"; fi
}

b64() { base64 -w0 <"$1"; }

# Two forms on purpose: admin.kubeconfig embeds everything (*-data), node.kubeconfig points at
# files. node-embedded.kubeconfig is the node identity in the embedded form.
# embedded_kubeconfig FILE USER CERT-NAME: the cluster and the user's certificate as *-data
embedded_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: nodelet-test
  cluster:
    server: $url
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$PKI/$3.crt")
    client-key-data: $(b64 "$PKI/$3.key")
contexts:
- name: $3@nodelet-test
  context:
    cluster: nodelet-test
    user: $2
current-context: $3@nodelet-test
EOF
}

make_kubeconfigs() {
	local url=$1
	embedded_kubeconfig "$DIR/admin.kubeconfig" admin admin
	cat >"$DIR/node.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: nodelet-test
  cluster:
    server: $url
    certificate-authority: $PKI/ca.crt
users:
- name: system:node:$NODE_NAME
  user:
    client-certificate: $PKI/node.crt
    client-key: $PKI/node.key
contexts:
- name: node@nodelet-test
  context:
    cluster: nodelet-test
    user: system:node:$NODE_NAME
current-context: node@nodelet-test
EOF
	embedded_kubeconfig "$DIR/node-embedded.kubeconfig" "system:node:$NODE_NAME" node
	if [ "$CP_CONTROLLERS" = 1 ]; then
		embedded_kubeconfig "$DIR/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
		embedded_kubeconfig "$DIR/scheduler.kubeconfig" system:kube-scheduler scheduler
	fi
	chmod 600 "$DIR"/*.kubeconfig
}

write_env() {
	{
		echo "# written by tests/cluster/control-plane.sh start; source it"
		local v
		for v in CP_DIR CP_BIN KUBECTL ADMIN_KUBECONFIG NODE_KUBECONFIG NODE_KUBECONFIG_EMBEDDED \
			APISERVER_URL APISERVER_PORT CA_CERT KUBELET_CERT KUBELET_KEY NODE_CERT NODE_KEY \
			ADMIN_CERT ADMIN_KEY NODE_NAME ETCD_URL ETCD_PORT ETCD_PEER_PORT CP_CONTROLLERS; do
			printf '%s=%q\n' "$v" "${!v}"
		done
	} >"$DIR/env.tmp"
	mv "$DIR/env.tmp" "$DIR/env"
}

# --- processes -----------------------------------------------------------------------------

start_etcd() {
	mkdir -p "$DIR/etcd"
	chmod 700 "$DIR/etcd"
	local peer=http://127.0.0.1:$ETCD_PEER_PORT
	spawn etcd "$CP_BIN/etcd" \
		--name default \
		--data-dir "$DIR/etcd" \
		--listen-client-urls "$ETCD_URL" \
		--advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "$peer" \
		--initial-advertise-peer-urls "$peer" \
		--initial-cluster "default=$peer" \
		--initial-cluster-state new \
		--quota-backend-bytes $((256 * 1024 * 1024)) \
		--unsafe-no-fsync=true \
		--log-level warn
	local i
	for i in $(seq $((CP_START_TIMEOUT * 5))); do
		alive etcd || fail_with_log etcd "etcd exited during start"
		if curl -fsS --max-time 2 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; then
			return 0
		fi
		sleep 0.2
	done
	fail_with_log etcd "etcd not healthy after ${CP_START_TIMEOUT}s"
}

apiserver_args() {
	local ca=$PKI/ca.crt
	printf '%s\n' \
		--etcd-servers="$ETCD_URL" \
		--bind-address=127.0.0.1 \
		--secure-port="$APISERVER_PORT" \
		--advertise-address=127.0.0.1 \
		--endpoint-reconciler-type=none \
		--tls-cert-file="$PKI/apiserver.crt" \
		--tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$ca" \
		--authorization-mode=Node,RBAC \
		--enable-admission-plugins=NodeRestriction \
		--service-cluster-ip-range=10.96.0.0/16 \
		--allow-privileged=true \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$ca" \
		--service-account-key-file="$PKI/sa.pub" \
		--service-account-signing-key-file="$PKI/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--api-audiences=https://kubernetes.default.svc.cluster.local \
		--enable-bootstrap-token-auth=true \
		--enable-priority-and-fairness=false \
		--profiling=false \
		--cert-dir="$DIR/apiserver-certs"
}

readyz() {
	curl -fsS --max-time 2 --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
		"$APISERVER_URL/readyz" 2>/dev/null
}

start_apiserver() {
	local args
	mapfile -t args < <(apiserver_args)
	spawn apiserver "$CP_BIN/kube-apiserver" "${args[@]}"
	local i
	for i in $(seq $((CP_START_TIMEOUT * 5))); do
		alive apiserver || fail_with_log apiserver "kube-apiserver exited during start"
		if [ "$(readyz)" = ok ]; then
			return 0
		fi
		sleep 0.2
	done
	fail_with_log apiserver "kube-apiserver not ready after ${CP_START_TIMEOUT}s"
}

# start_controllers (CP_CONTROLLERS=1): kube-controller-manager and kube-scheduler with their own
# client certificates. Both run with --secure-port=0: no port of theirs competes with other
# suites on this machine; readiness is the service account controller's first account.
start_controllers() {
	# kube-controller-manager: the release's default controllers (no cloud ones live there any
	# more); no node CIDRs (the node's CNI config has its own subnet); service account tokens
	# signed with the API server's key; one instance, no election
	spawn controller-manager "$CP_BIN/kube-controller-manager" \
		--kubeconfig="$DIR/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
		--authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
		--secure-port=0 \
		--leader-elect=false \
		--use-service-account-credentials=true \
		--service-account-private-key-file="$PKI/sa.key" \
		--root-ca-file="$PKI/ca.crt" \
		--cluster-signing-cert-file="$PKI/ca.crt" \
		--cluster-signing-key-file="$PKI/ca.key" \
		--cluster-signing-duration="$CP_SIGNING_DURATION" \
		--controllers='*,bootstrapsigner,tokencleaner' \
		--allocate-node-cidrs=false \
		--profiling=false
	spawn scheduler "$CP_BIN/kube-scheduler" \
		--kubeconfig="$DIR/scheduler.kubeconfig" \
		--authentication-kubeconfig="$DIR/scheduler.kubeconfig" \
		--authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
		--secure-port=0 \
		--leader-elect=false \
		--profiling=false
	local i
	for i in $(seq $((CP_START_TIMEOUT * 5))); do
		alive controller-manager || fail_with_log controller-manager "kube-controller-manager exited during start"
		alive scheduler || fail_with_log scheduler "kube-scheduler exited during start"
		# the service account controller has made namespace default's account
		if "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout 5s get serviceaccount default \
			-n kube-system >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	fail_with_log controller-manager "kube-controller-manager made no service account in ${CP_START_TIMEOUT}s"
}

# What kube-controller-manager would create: the default ServiceAccount (ServiceAccount
# admission rejects pods without it) and the kube-root-ca.crt ConfigMap (projected into pods);
# and what kubeadm would: the API server's kubelet client may use the node API (logs, exec,
# proxy) through the bootstrap role system:kubelet-api-admin, which the node server's
# SubjectAccessReview checks.
bootstrap() {
	local k=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout 10s)
	local i
	for i in $(seq $((CP_START_TIMEOUT * 5))); do
		"${k[@]}" get namespace default >/dev/null 2>&1 && break
		[ "$i" -lt $((CP_START_TIMEOUT * 5)) ] || die "namespace default did not appear"
		sleep 0.2
	done
	{
		cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: default
---
EOF
		"${k[@]}" create configmap kube-root-ca.crt --namespace default \
			--from-file=ca.crt="$CA_CERT" --dry-run=client -o yaml
		echo ---
		"${k[@]}" create clusterrolebinding kube-apiserver-kubelet-api-admin \
			--clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client \
			--dry-run=client -o yaml
	} | "${k[@]}" apply -f - >/dev/null
}

# bootstrap-token: what `kubeadm token create` and `kubeadm init phase bootstrap-token` make
# (cmd/kubeadm/app/phases/bootstraptoken): a token Secret kube-system/bootstrap-token-<id>
# (24 h, authentication and signing usages, the group system:bootstrappers:kubeadm:default-node-token),
# that group bound to system:node-bootstrapper (create CSRs) and to the nodeclient auto-approval,
# system:nodes to selfnodeclient (rotation), and kubeadm:get-nodes; then the kubelet's
# bootstrap kubeconfig as `kubeadm join` writes it, DIR/bootstrap-kubelet.conf (the token in
# DIR/bootstrap-token).
do_bootstrap_token() {
	load_state
	local k=("$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout 10s)
	local id secret group=system:bootstrappers:kubeadm:default-node-token
	# [a-z0-9]{6}.[a-z0-9]{16}, as kubeadm's token format
	id=$(openssl rand -hex 3)
	secret=$(openssl rand -hex 8)
	[ ${#id} = 6 ] && [ ${#secret} = 16 ] || die "no random token"
	"${k[@]}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-$id
  namespace: kube-system
type: bootstrap.kubernetes.io/token
stringData:
  description: "nodelet test bootstrap token"
  token-id: "$id"
  token-secret: "$secret"
  expiration: "$(date -u -d '+24 hours' +%Y-%m-%dT%H:%M:%SZ)"
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: "$group"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:kubelet-bootstrap
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-bootstrapper}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: $group}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:node-autoapprove-bootstrap
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: $group}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:node-autoapprove-certificate-rotation
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:nodes"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubeadm:get-nodes
rules:
- {apiGroups: [""], resources: [nodes], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:get-nodes
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kubeadm:get-nodes"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: $group}
EOF
	echo "$id.$secret" >"$DIR/bootstrap-token"
	cat >"$DIR/bootstrap-kubelet.conf" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$CA_CERT")
contexts:
- name: tls-bootstrap-token-user@kubernetes
  context:
    cluster: kubernetes
    user: tls-bootstrap-token-user
current-context: tls-bootstrap-token-user@kubernetes
users:
- name: tls-bootstrap-token-user
  user:
    token: $id.$secret
EOF
	chmod 600 "$DIR/bootstrap-kubelet.conf" "$DIR/bootstrap-token"
	log "bootstrap token $id; kubeconfig $DIR/bootstrap-kubelet.conf"
}

# --- commands ------------------------------------------------------------------------------

CP_START_TIMEOUT=${CP_START_TIMEOUT:-120}
CP_CONTROLLERS=${CP_CONTROLLERS:-0}
CP_SIGNING_DURATION=${CP_SIGNING_DURATION:-8760h}

do_start() {
	local t0
	t0=$(now)
	NODE_NAME=${NODE_NAME:-nodelet-test}
	if [ -f "$DIR/env" ] && alive etcd && alive apiserver &&
		{ [ "$CP_CONTROLLERS" != 1 ] || { alive controller-manager && alive scheduler; }; }; then
		# Already up: keep it if it answers and is for the same node.
		local want=$NODE_NAME
		load_state
		if [ "$NODE_NAME" = "$want" ] && [ "$(readyz)" = ok ]; then
			log "already running in $DIR ($APISERVER_URL)"
			return 0
		fi
		NODE_NAME=$want
	fi
	stop_proc scheduler
	stop_proc controller-manager
	stop_proc apiserver
	stop_proc etcd

	local bins=(kube-apiserver etcd kubectl)
	[ "$CP_CONTROLLERS" = 1 ] && bins+=(kube-controller-manager kube-scheduler)
	CP_BIN=$("$here/build-control-plane.sh" "${bins[@]}")
	local b
	for b in "${bins[@]}"; do
		[ -x "$CP_BIN/$b" ] || die "$b missing in $CP_BIN"
	done

	# Ports: as given; else the previous run's if still free (keeps etcd's member URLs); else
	# the first free ones from the defaults.
	local old_api='' old_etcd='' old_peer=''
	if [ -f "$DIR/env" ]; then
		old_api=$(sed -n 's/^APISERVER_PORT=//p' "$DIR/env")
		old_etcd=$(sed -n 's/^ETCD_PORT=//p' "$DIR/env")
		old_peer=$(sed -n 's/^ETCD_PEER_PORT=//p' "$DIR/env")
	fi
	APISERVER_PORT=${APISERVER_PORT:-$(pick_port "${old_api:-16443}")}
	ETCD_PORT=${ETCD_PORT:-$(pick_port "${old_etcd:-12379}" "$APISERVER_PORT")}
	ETCD_PEER_PORT=${ETCD_PEER_PORT:-$(pick_port "${old_peer:-$((ETCD_PORT + 1))}" "$APISERVER_PORT" "$ETCD_PORT")}
	local p
	for p in "$APISERVER_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT"; do
		port_busy "$p" && die "port $p is in use"
	done
	if [ -d "$DIR/etcd" ] && [ "$ETCD_PEER_PORT" != "$old_peer" ]; then
		log "etcd ports changed; discarding old etcd data"
		rm -rf "$DIR/etcd"
	fi

	# Written to DIR/env by write_env (through ${!name}).
	CP_DIR=$DIR
	KUBECTL=$CP_BIN/kubectl
	ADMIN_KUBECONFIG=$DIR/admin.kubeconfig
	NODE_KUBECONFIG=$DIR/node.kubeconfig
	NODE_KUBECONFIG_EMBEDDED=$DIR/node-embedded.kubeconfig
	APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
	CA_CERT=$PKI/ca.crt
	KUBELET_CERT=$PKI/kubelet.crt
	KUBELET_KEY=$PKI/kubelet.key
	NODE_CERT=$PKI/node.crt
	NODE_KEY=$PKI/node.key
	ADMIN_CERT=$PKI/admin.crt
	ADMIN_KEY=$PKI/admin.key
	ETCD_URL=http://127.0.0.1:$ETCD_PORT

	make_pki
	make_kubeconfigs "$APISERVER_URL"
	write_env

	# A failed start leaves nothing running.
	trap 'on_exit scheduler controller-manager apiserver etcd' EXIT
	log "starting etcd on $ETCD_URL"
	start_etcd
	log "etcd healthy after $(since "$t0")s; starting kube-apiserver on $APISERVER_URL"
	start_apiserver
	log "kube-apiserver ready after $(since "$t0")s; bootstrapping"
	bootstrap
	if [ "$CP_CONTROLLERS" = 1 ]; then
		start_controllers
		log "kube-controller-manager and kube-scheduler up after $(since "$t0")s"
	fi
	log "started in $(since "$t0")s; env in $DIR/env"
}

do_stop() {
	stop_proc scheduler
	stop_proc controller-manager
	stop_proc apiserver
	stop_proc etcd
}

do_start_apiserver() {
	load_state
	if alive apiserver; then
		log "kube-apiserver already running"
		return 0
	fi
	alive etcd || die "etcd is not running in $DIR: use '$0 start $DIR'"
	local t0
	t0=$(now)
	port_busy "$APISERVER_PORT" && die "port $APISERVER_PORT is in use"
	trap 'on_exit apiserver' EXIT
	start_apiserver
	log "kube-apiserver ready after $(since "$t0")s"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
stop-apiserver) stop_proc apiserver ;;
start-apiserver) do_start_apiserver ;;
bootstrap-token) do_bootstrap_token ;;
*) usage ;;
esac
