#!/usr/bin/env bash
# Prepares this machine to run pods: the pod network's CNI config and the cgroup fix crun needs
# on hybrid cgroup machines (a controller on v2 while v1 is in use, see docs/design.md).
# Idempotent; says what it did and what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "prepare-node.sh: run as root" >&2; exit 1; }

missing=()
for tool in crun runc iptables; do
        command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=("CNI plugins (containernetworking-plugins)")
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || missing+=("overlayfs")
if [ "${#missing[@]}" -gt 0 ]; then
        echo "prepare-node.sh: missing: ${missing[*]} (deploy/install-deps.sh installs them)" >&2
        exit 1
fi

# The pod network: bridge nodelet0, 10.88.0.0/16, with hostPort support.
if ! ls /etc/cni/net.d/*.conf* >/dev/null 2>&1; then
        install -D -m 0644 deploy/cni/10-nodelet.conflist /etc/cni/net.d/10-nodelet.conflist
        echo "prepare-node.sh: installed /etc/cni/net.d/10-nodelet.conflist"
fi

# Hybrid cgroups: crun 1.8 refuses to run while a controller (hugetlb here) sits on the v2
# hierarchy and v1 is in use; mounting it as v1 moves it off v2.
if [ -d /sys/fs/cgroup/unified ] && [ -s /sys/fs/cgroup/unified/cgroup.controllers ]; then
        for ctl in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
                mountpoint -q "/sys/fs/cgroup/$ctl" && continue
                mkdir -p "/sys/fs/cgroup/$ctl"
                mount -t cgroup -o "$ctl" cgroup "/sys/fs/cgroup/$ctl"
                echo "prepare-node.sh: mounted the $ctl cgroup controller as v1 (hybrid cgroup fix)"
        done
fi
echo "prepare-node.sh: node ready"
