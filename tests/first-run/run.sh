#!/usr/bin/env bash
# The README's first command, run as a newcomer runs it on a fresh clone (CI runs this first,
# before anything is built or installed): it must install, build, and run the four example
# pods; the web pod answers on its hostPort; `deploy/run-example.sh stop` leaves nothing
# behind (pods, mounts, veths, shims, cgroups, the daemon).
# Usage: tests/first-run/run.sh        (root; ports 18080 and 10248 must be free)
set -uo pipefail
cd "$(dirname "$0")/../.."
BASE=/tmp/nodelet-example
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "first-run: run as root"; exit 1; }

# The command, read from the README itself so the two cannot drift apart: the first line of
# the first sh block under "## Try it".
cmd=$(awk '/^## Try it/ {on = 1} on && /^```sh/ {getline; print; exit}' README.md)
[ -n "$cmd" ] || { echo "first-run: no command under '## Try it' in README.md"; echo "first-run: 0 passed, 1 failed"; exit 1; }
echo "first-run: $cmd"
# root needs no sudo, and a fresh machine may not have it
sudo() { "$@"; }
export -f sudo
start=$(date +%s)
if bash -c "$cmd" >/tmp/nodelet-first-run.log 2>&1; then ok; else
        bad "the README's first command failed (exit $?); its output:"
        tail -n 30 /tmp/nodelet-first-run.log | sed 's/^/    /'
fi
echo "first-run: took $(( $(date +%s) - start )) s"

# what this script itself reads with (not what the command needs: it must bring its own)
for tool in jq curl; do
        command -v $tool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool >/dev/null
done
node=$(hostname | tr 'A-Z' 'a-z')
pods=$(build/nodelet pods --run-dir "$BASE/run" -o json 2>/dev/null)
phase() { printf '%s' "$pods" | jq -r --arg n "$1-$node" '.items[] | select(.metadata.name == $n) | .status.phase'; }
for want in web:Running init-sidecar:Running volumes:Running job:Succeeded; do
        got=$(phase "${want%%:*}")
        if [ "$got" = "${want#*:}" ]; then ok; else bad "pod ${want%%:*}-$node is ${got:-missing}, want ${want#*:}"; fi
done
body=$(curl -s --max-time 5 http://127.0.0.1:18080/)
if [ "$body" = "hello from web-$node" ]; then ok; else bad "curl 127.0.0.1:18080 got '$body'"; fi

# Stop, and nothing of the example stays on the node.
uids=$(printf '%s' "$pods" | jq -r '.items[].metadata.uid')
if deploy/run-example.sh stop >/tmp/nodelet-first-run-stop.log 2>&1; then ok; else bad "run-example.sh stop failed: $(tail -3 /tmp/nodelet-first-run-stop.log)"; fi
[ -z "$(ls -A "$BASE/root/pods" 2>/dev/null)" ] && ok || bad "pods left: $(ls "$BASE/root/pods")"
[ -z "$(ls -A "$BASE/root/containers" 2>/dev/null)" ] && ok || bad "containers left: $(ls "$BASE/root/containers")"
mounts=$(awk '{print $5}' /proc/self/mountinfo | grep "^$BASE/")
[ -z "$mounts" ] && ok || bad "mounts left: $mounts"
veths=$(ls /sys/class/net/nodelet0/brif 2>/dev/null)
[ -z "$veths" ] && ok || bad "veths left on nodelet0: $veths"
shims=$(pgrep -af "[n]odelet-shim.*$BASE")
[ -z "$shims" ] && ok || bad "shims left: $shims"
daemon=$(pgrep -af "[n]odelet run .*$BASE")
[ -z "$daemon" ] && ok || bad "daemon left: $daemon"
left=""
for u in $uids; do left+=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pod$u" 2>/dev/null); done
[ -z "$left" ] && ok || bad "pod cgroups left: $left"
ips=$(ls /var/lib/nodelet/cni/networks/nodelet 2>/dev/null | grep -v -e lock -e last_reserved)
[ -z "$ips" ] && ok || bad "pod IPs still reserved: $ips"

echo "first-run: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
