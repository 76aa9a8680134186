#!/usr/bin/env bash
# nodelet in the kubelet's place on a kubeadm node (issue 23): the real kubeadm (v1.37.2, built
# into the control-plane cache by build-control-plane.sh) writes /var/lib/kubelet/config.yaml
# and kubeadm-flags.env for this node (`kubeadm init phase kubelet-start --dry-run`, into a
# directory of the test: the same files kubeadm writes on a node; the join path writes the same
# config.yaml from the kubelet-config ConfigMap), and nodelet starts as kubeadm's drop-in starts
# the kubelet: --bootstrap-kubeconfig bootstrap-kubelet.conf --kubeconfig kubelet.conf --config
# config.yaml $KUBELET_KUBEADM_ARGS, with only the bootstrap token's kubeconfig (the fixture's
# kube-controller-manager signs and auto-approves the CSR, as on a kubeadm cluster; the
# certificates' own checks are bootstrap.sh's). It must load every key (one warning lists those it does
# not act on), take the flags (--hostname-override names the node, the others it has no use for
# are warned about), honour what it acts on (clusterDNS, the client CA for kubectl logs), and
# run pods with kubeadm's cgroupDriver: systemd under the unit's delegated cgroup.
#
# systemd is not PID 1 on the machines this runs on: the test makes the cgroup systemd would
# give a unit with Delegate=yes (the same path, /nlkadm.slice/kubelet.service, in every
# hierarchy) and starts nodelet in it, as systemd would start the unit's main process.
# Needs root, Go (first run builds the control plane and kubeadm), jq, socat, openssl.
SUITE=kubeadm-cluster BRIDGE=nlkadm SUBNET=10.99.32.0/24 NODE=nodelet-kadm
# kube-controller-manager signs and approves the bootstrap CSR
export CP_CONTROLLERS=1
. "$(dirname "$0")/lib.sh"
if tests/cluster/control-plane.sh bootstrap-token "$CP" >>"$CP/start.log" 2>&1 && [ -f "$CP/bootstrap-kubelet.conf" ]; then ok; else
        bad "bootstrap token"; tail -5 "$CP/start.log"; finish_suite; exit 1; fi

# ports of this suite's own (lib.sh's two free_port picks can land on the same port when the
# ones below are busy with other suites)
PORT=$(free_port 11510)
HEALTHZ=$(free_port 11530 "$PORT")

KUBEADM=$(tests/cluster/build-control-plane.sh kubeadm 2>"$T/kubeadm-build.log")/kubeadm
if [ ! -x "$KUBEADM" ]; then
        tail -20 "$T/kubeadm-build.log"; bad "kubeadm built into the control-plane cache"; finish_suite; exit 1
fi

# ---- the files kubeadm writes for this node -------------------------------------------------
# certificatesDir is where kubeadm's config.yaml takes the client CA from (clientCAFile); the
# fixture's CA goes there once kubeadm has written its files, as `kubeadm join` writes
# /etc/kubernetes/pki/ca.crt (a ca.crt without its key there makes kubeadm's init phases look
# for an external CA's certificates)
mkdir -p "$T/pki" "$T/kubeadm"
cat >"$T/kubeadm-init.yaml" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  name: $NODE
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - {name: node-ip, value: 127.0.0.1}
  - {name: fail-swap-on, value: "false"}
  - {name: pod-infra-container-image, value: registry.k8s.io/pause:3.10}
  - {name: register-with-taints, value: "nodelet.test/kubeadm=yes:NoSchedule"}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
certificatesDir: $T/pki
networking: {serviceSubnet: 10.96.0.0/12, dnsDomain: cluster.local}
EOF
if ! KUBEADM_INIT_DRYRUN_DIR=$T/kubeadm "$KUBEADM" init phase kubelet-start --config "$T/kubeadm-init.yaml" \
        --dry-run >"$T/kubeadm.log" 2>&1 || [ ! -s "$T/kubeadm/config.yaml" ] || [ ! -s "$T/kubeadm/kubeadm-flags.env" ]; then
        cat "$T/kubeadm.log"; bad "kubeadm wrote config.yaml and kubeadm-flags.env"; finish_suite; exit 1
fi
ok
cp "$CA_CERT" "$T/pki/ca.crt"
grep -qx 'cgroupDriver: systemd' "$T/kubeadm/config.yaml" && ok || bad "kubeadm's config.yaml has its default cgroupDriver systemd"
# systemd reads KUBELET_KUBEADM_ARGS from the file and splits $KUBELET_KUBEADM_ARGS at spaces
. "$T/kubeadm/kubeadm-flags.env"
read -ra KADM_ARGS <<<"$KUBELET_KUBEADM_ARGS"
for want in --hostname-override=$NODE --node-ip=127.0.0.1; do
        case " ${KADM_ARGS[*]} " in
        *" $want "*) ok ;;
        *) bad "kubeadm-flags.env has $want: $KUBELET_KUBEADM_ARGS" ;;
        esac
done

# ---- the unit's delegated cgroup, as systemd makes it -----------------------------------------
UNIT_CG=/nlkadm.slice/kubelet.service
mapfile -t CG_MOUNTS < <(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSROOT | awk '$2 == "/" { print $1 }')
cg_setup() {
        local mp dir sub
        for mp in "${CG_MOUNTS[@]}"; do
                dir=$mp
                for sub in nlkadm.slice kubelet.service; do
                        # cgroup2: the parent hands its controllers down, as systemd does for a
                        # delegated unit; v1 cpuset: a new cgroup starts with no cpus and mems
                        if [ -f "$dir/cgroup.subtree_control" ]; then
                                for c in $(cat "$dir/cgroup.controllers"); do echo "+$c" >"$dir/cgroup.subtree_control" 2>/dev/null; done
                        fi
                        mkdir -p "$dir/$sub"
                        [ -f "$dir/cpuset.cpus" ] && cat "$dir/cpuset.cpus" >"$dir/$sub/cpuset.cpus" && cat "$dir/cpuset.mems" >"$dir/$sub/cpuset.mems"
                        dir=$dir/$sub
                done
        done
}
cg_cleanup() {
        local mp
        for mp in "${CG_MOUNTS[@]}"; do
                [ -d "$mp/nlkadm.slice" ] || continue
                # deepest first; only empty cgroups go (rmdir)
                find "$mp/nlkadm.slice" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
}
cg_cleanup
cg_setup
trap 'stop_cp; cleanup; cg_cleanup' EXIT

# ---- nodelet as kubeadm's drop-in starts the kubelet -----------------------------------------
# deploy/kubeadm/20-nodelet.conf.in's ExecStart, expanded as systemd expands it ($VAR: the
# value split at whitespace) with the variables kubeadm's 10-kubeadm.conf and its files set:
# KUBELET_KUBECONFIG_ARGS (the bootstrap kubeconfig, and where the kubeconfig it leads to goes),
# KUBELET_CONFIG_ARGS, KUBELET_KUBEADM_ARGS from kubeadm-flags.env, and
# KUBELET_EXTRA_ARGS (/etc/default/kubelet) with the test's own places: dirs, CNI, ports, the
# fixture's serving certificate. The node's name, IP, cgroup driver, cluster DNS and client CA
# come from kubeadm's files.
KUBELET_KUBECONFIG_ARGS="--bootstrap-kubeconfig=$CP/bootstrap-kubelet.conf --kubeconfig=$T/kubelet.conf"
KUBELET_CONFIG_ARGS="--config=$T/kubeadm/config.yaml"
KUBELET_EXTRA_ARGS="${ARGS[*]} --pod-manifest-path $M --cni-conf-dir $T/cni --container-runtime-path $RUNTIME \
--cert-dir $T/kubelet-pki --port $PORT --healthz-port $HEALTHZ --tls-cert-file $KUBELET_CERT --tls-private-key-file $KUBELET_KEY --sync-frequency 5s"
execstart=$(sed -n 's/^ExecStart=\(..*\)$/\1/p' deploy/kubeadm/20-nodelet.conf.in | tail -1)
UNIT_CMD=()
read -ra words <<<"$execstart"
for w in "${words[@]}"; do
        case $w in
        @BINDIR@/nodelet) UNIT_CMD+=("$NODELET") ;;
        \$*) v=${w#\$}; read -ra parts <<<"${!v}"; UNIT_CMD+=("${parts[@]}") ;;
        *) UNIT_CMD+=("$w") ;;
        esac
done
[ "${UNIT_CMD[0]}" = "$NODELET" ] && [ "${UNIT_CMD[1]}" = run ] && ok || bad "the drop-in's ExecStart runs nodelet run: $execstart"
# the unit's main process, started in the unit's cgroup as systemd starts it
start_kubeadm_node() {
        NOTIFY_SOCKET=$T/notify.sock bash -c 'for mp in $CG; do echo $$ >"$mp'"$UNIT_CG"'/cgroup.procs" || exit 1; done; exec "$@"' \
                nodelet "${UNIT_CMD[@]}" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}
export CG="${CG_MOUNTS[*]}"
start_kubeadm_node
kwait "the node registers under kubeadm's --hostname-override and is Ready" 90 \
        '(.status.conditions[] | select(.type=="Ready") | .status == "True") and ([.status.addresses[] | select(.type=="InternalIP") | .address] == ["127.0.0.1"])' node "$NODE"
# it joined through the TLS bootstrap, as a kubeadm node does
[ -s "$T/kubelet.conf" ] && [ -L "$T/kubelet-pki/kubelet-client-current.pem" ] && ok ||
        bad "the bootstrap wrote kubelet.conf and kubelet-client-current.pem ($(ls "$T/kubelet-pki" 2>&1))"
# (the API server's TaintNodesByCondition admission adds node.kubernetes.io/not-ready beside it)
taints=$(k get node "$NODE" -o json | jq -c '[.spec.taints[] | select(.key | startswith("nodelet.test/"))]')
[ "$taints" = '[{"effect":"NoSchedule","key":"nodelet.test/kubeadm","value":"yes"}]' ] && ok || bad "the node registered with kubeadm's --register-with-taints: $taints ($(cat "$T/kubeadm/kubeadm-flags.env"))"

# one warning lists the keys nodelet does not act on; one per ignored flag; no unknown keys
w=$(grep -c "KubeletConfiguration keys that nodelet does not act on" "$T/daemon.log")
[ "$w" = 1 ] && ok || bad "one warning lists the ignored keys (got $w)"
line=$(grep "KubeletConfiguration keys that nodelet does not act on" "$T/daemon.log")
for key in containerRuntimeEndpoint runtimeRequestTimeout logging memorySwap crashLoopBackOff; do
        case $line in *" $key,"* | *" $key") ok ;; *) bad "the warning lists $key: $line" ;; esac
done
grep -q "unknown key" "$T/daemon.log" && bad "no unknown keys in kubeadm's file: $(grep 'unknown key' "$T/daemon.log")" || ok
for f in --fail-swap-on=false --pod-infra-container-image=registry.k8s.io/pause:3.10; do
        n=$(grep -c -- "warning: $f: ignored: " "$T/daemon.log")
        [ "$n" = 1 ] && ok || bad "one warning for $f (got $n)"
done
grep -q "cgroupDriver systemd: pods go under $UNIT_CG/kubepods" "$T/daemon.log" && ok || bad "nodelet uses the unit's delegated cgroup"

# ---- a pod runs, under the unit's cgroup, with kubeadm's cluster DNS --------------------------
pod web "  containers:
  - {name: app, image: $IMG, imagePullPolicy: IfNotPresent, command: [sh, -c, 'cat /etc/resolv.conf; echo kubeadm-node-ok; sleep 3600']}"
kwait "the pod runs" 90 '.status.phase == "Running" and ([.status.containerStatuses[].ready] | all)' pod web
uid=$(k get pod web -o jsonpath='{.metadata.uid}')
# kubectl logs: the API server's client certificate, checked against kubeadm's clientCAFile
logs=""
for _ in $(seq 40); do logs=$(k logs web 2>&1); case $logs in *kubeadm-node-ok*) break ;; esac; sleep 0.5; done
case $logs in *kubeadm-node-ok*) ok ;; *) bad "kubectl logs through the node server: $logs" ;; esac
printf '%s\n' "$logs" | grep -qx "nameserver 10.96.0.10" && ok || bad "the pod's resolv.conf has kubeadm's clusterDNS: $logs"
found=0
for mp in "${CG_MOUNTS[@]}"; do
        [ "$mp" = /sys/fs/cgroup/unified ] && continue # hybrid: the runtime uses v1
        d=$(ls -d "$mp$UNIT_CG"/kubepods/*/pod"$uid" "$mp$UNIT_CG"/kubepods/pod"$uid" 2>/dev/null | head -1)
        if [ -n "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q .; then found=$((found + 1)); fi
        for d in "$mp"/kubepods/pod"$uid" "$mp"/kubepods/*/pod"$uid"; do
                [ -d "$d" ] && bad "the pod's cgroup at the hierarchy's root: $d"
        done
done
[ "$found" -ge 1 ] && ok || bad "the pod's processes under $UNIT_CG/kubepods ($(ls -d /sys/fs/cgroup/*"$UNIT_CG"/kubepods/* 2>&1 | head -5))"

# ---- a restart (systemctl restart: KillMode=process keeps the pods) adopts the pod ---------------
cid=$(k get pod web -o jsonpath='{.status.containerStatuses[0].containerID}')
stop_daemon
start_kubeadm_node
sleep 8 # a few syncs of the restarted daemon before looking
kwait "after a restart the pod is the same container, still Running" 60 \
        ".status.phase == \"Running\" and .status.containerStatuses[0].containerID == \"$cid\" and .status.containerStatuses[0].restartCount == 0" pod web

# ---- nodelet outside a delegated cgroup with cgroupDriver systemd: a clear error ---------------
out=$(timeout 20 "$NODELET" run --config "$T/kubeadm/config.yaml" "${KADM_ARGS[@]}" --root-dir "$T/root2" \
        --run-dir "$T/run2" --pod-log-dir "$T/log2" --port 0 --healthz-port 0 --pod-manifest-path "$M" 2>&1)
case $out in
*"cgroupDriver systemd: "*"Delegate=yes"*) ok ;;
*) bad "cgroupDriver systemd outside a unit's cgroup is refused, saying why: $(printf '%s' "$out" | tail -3)" ;;
esac

k delete pod web --wait=false >/dev/null 2>&1
finish_suite
