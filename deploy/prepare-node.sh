#!/usr/bin/env bash
# Prepares this machine to run pods, idempotently, and says plainly what is missing:
#   the kernel (overlayfs, namespaces, cgroups), the OCI runtimes and CNI plugins (installed
#   with --install), the pod network's CNI config, iptables for hostPorts, and the cgroup fix
#   crun needs on hybrid machines (a controller on v2 while v1 is in use: docs/design.md).
# Usage: prepare-node.sh [--install] [--with-registry] [--no-cni-config] [--quiet]
#   --install        apt-get install what is missing (crun, runc, CNI plugins, iptables)
#   --with-registry  also install and start Debian's docker-registry on 127.0.0.1:5000
#   --no-cni-config  write no pod network config (a cluster's CNI add-on brings its own)
set -euo pipefail
install=0 registry=0 quiet=0 cni_config=1
for a in "$@"; do
        case $a in
        --install) install=1 ;;
        --with-registry) registry=1 install=1 ;;
        --quiet) quiet=1 ;;
        --no-cni-config) cni_config=0 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "prepare-node.sh: unknown option $a" >&2; exit 2 ;;
        esac
done
say() { [ $quiet = 1 ] || echo "prepare-node: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "prepare-node: run as root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)

# The kernel
problems=()
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || problems+=("overlayfs (CONFIG_OVERLAY_FS)")
for ns in net ipc uts pid mnt; do
        [ -e "/proc/self/ns/$ns" ] || problems+=("$ns namespaces")
done
grep -q cgroup /proc/mounts || problems+=("a mounted cgroup file system")
if [ "${#problems[@]}" -gt 0 ]; then
        echo "prepare-node: this kernel lacks: ${problems[*]}" >&2
        exit 1
fi

# The tools
if [ $install = 1 ]; then
        pkgs="crun runc containernetworking-plugins iptables"
        [ $registry = 1 ] && pkgs="$pkgs docker-registry"
        missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
        if [ -n "$missing" ]; then
                say "installing $(echo $missing)"
                export DEBIAN_FRONTEND=noninteractive
                apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
        fi
fi
missing=()
command -v crun >/dev/null || command -v runc >/dev/null || missing+=("an OCI runtime (crun or runc)")
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=("the CNI plugins (containernetworking-plugins)")
command -v iptables >/dev/null || missing+=("iptables (hostPort needs it)")
if [ "${#missing[@]}" -gt 0 ]; then
        echo "prepare-node: missing: ${missing[*]}; run with --install" >&2
        exit 1
fi

# The pod network: bridge nodelet0, 10.88.0.0/16, with hostPort support
if [ $cni_config = 1 ] && ! ls /etc/cni/net.d/*.conf* >/dev/null 2>&1; then
        for conf in "$here/cni/10-nodelet.conflist" "$here/../share/nodelet/cni/10-nodelet.conflist"; do
                if [ -f "$conf" ]; then
                        install -D -m 0644 "$conf" /etc/cni/net.d/10-nodelet.conflist
                        say "installed /etc/cni/net.d/10-nodelet.conflist"
                        break
                fi
        done
fi

# Hybrid cgroups: crun 1.8 refuses to run while a controller sits on the cgroup2 hierarchy and
# v1 is in use; mounting the controller as v1 moves it off v2. cgroupfs files report size 0,
# so read the file: its content says which controllers are there.
unified=/sys/fs/cgroup/unified
if [ "$(stat -f -c %T "$unified" 2>/dev/null)" = cgroup2fs ] && [ -r "$unified/cgroup.controllers" ]; then
        for ctl in $(cat "$unified/cgroup.controllers"); do
                if mountpoint -q "/sys/fs/cgroup/$ctl"; then
                        echo "prepare-node: /sys/fs/cgroup/$ctl is mounted, yet $ctl stays on the cgroup2 hierarchy; crun will refuse this node" >&2
                        exit 1
                fi
                mkdir -p "/sys/fs/cgroup/$ctl"
                if ! mount -t cgroup -o "$ctl" cgroup "/sys/fs/cgroup/$ctl"; then
                        echo "prepare-node: could not mount the $ctl cgroup controller as v1 (hybrid cgroup fix); crun will refuse this node" >&2
                        exit 1
                fi
                say "mounted the $ctl cgroup controller as v1 at /sys/fs/cgroup/$ctl: crun refuses a hybrid node with controllers on cgroup v2"
        done
fi

# A local registry, when asked for: Debian's docker-registry on 127.0.0.1:5000
if [ $registry = 1 ]; then
        if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
                if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                        systemctl enable --now docker-registry >/dev/null
                else
                        nohup docker-registry serve /etc/docker/registry/config.yml >/var/log/docker-registry.log 2>&1 &
                fi
                say "started docker-registry on 127.0.0.1:5000"
        fi
fi
say "node ready"
