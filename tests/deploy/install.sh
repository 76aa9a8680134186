#!/usr/bin/env bash
# `make install` into a DESTDIR, then the installed daemon started the way its systemd unit
# starts it (systemd is not PID 1 here: the unit's ExecStart and environment, run by hand),
# with the installed configuration and the installed example pods; they must run.
set -u
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ "$(id -u)" -ne 0 ] || ! command -v crun >/dev/null || ! command -v jq >/dev/null; then
        echo "install: needs root, crun and jq; skipped"
        echo "install: 0 passed, 0 failed"
        exit 0
fi
T=$(mktemp -d /tmp/nodelet-install-XXXXXX)
D=$T/dest
BUILD=${BUILD:-build}
DAEMON=
cleanup() {
        [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
        if [ -x "$D/usr/bin/nodelet" ] && [ -d "$T/root/pods" ]; then
                rm -f "$D/etc/nodelet/manifests"/*.yaml
                "$D/usr/bin/nodelet" run "${ARGS[@]}" --config "$D/etc/nodelet/config.yaml" \
                        --pod-manifest-path "$D/etc/nodelet/manifests" >>"$T/daemon.log" 2>&1 &
                local pid=$!
                for _ in $(seq 60); do [ -z "$(ls -A "$T/root/pods" 2>/dev/null)" ] && break; sleep 1; done
                kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        fi
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        rm -rf "$T"
}
trap cleanup EXIT
ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")

make -s install DESTDIR="$D" PREFIX=/usr BUILD="$BUILD" >"$T/install.log" 2>&1 && ok || { bad "make install"; cat "$T/install.log"; }
for f in usr/bin/nodelet usr/bin/nodelet-shim usr/sbin/nodelet-prepare-node usr/lib/systemd/system/nodelet.service \
        usr/share/man/man8/nodelet.8 etc/nodelet/config.yaml etc/default/nodelet usr/share/nodelet/examples/web.yaml \
        usr/share/nodelet/cni/10-nodelet.conflist; do
        [ -e "$D/$f" ] && ok || bad "not installed: $f"
done
unit=$D/usr/lib/systemd/system/nodelet.service
for want in "Type=notify" "KillMode=process" "Delegate=yes" "Restart=always" "WatchdogSec=" \
        "ExecStart=/usr/bin/nodelet run --config /etc/nodelet/config.yaml \$NODELET_ARGS"; do
        grep -qF -- "$want" "$unit" && ok || bad "unit lacks $want"
done
"$D/usr/bin/nodelet" run --help | grep -q -- "--pod-manifest-path" && ok || bad "run --help"
for cmd in validate images pods logs exec describe; do
        "$D/usr/bin/nodelet" $cmd --help >/dev/null 2>&1 && ok || bad "$cmd --help"
done

# The unit's way: its EnvironmentFile, its ExecStart, the installed config; paths under the
# test dir through the flags a unit's NODELET_ARGS would carry.
"$D/usr/sbin/nodelet-prepare-node" --quiet || bad "prepare-node"
set -a; . "$D/etc/default/nodelet"; set +a
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" | sed "s|/usr/bin/nodelet|$D/usr/bin/nodelet|; s|/etc/nodelet|$D/etc/nodelet|")
cp "$D"/usr/share/nodelet/examples/*.yaml "$D/etc/nodelet/manifests/"
tests/fixtures/make-images.sh "$T/img" >/dev/null 2>&1 && "$D/usr/bin/nodelet" images --root-dir "$T/root" import "$T/img/layout" >/dev/null \
        || bad "image import"
NODELET_ARGS="${ARGS[*]} --pod-manifest-path $D/etc/nodelet/manifests"
# exec: $! must be the daemon itself, not a subshell whose kill would leave the daemon orphaned
eval "exec $exec_start" >"$T/daemon.log" 2>&1 &
DAEMON=$!
running=0
for _ in $(seq 60); do
        running=$("$D/usr/bin/nodelet" pods "${ARGS[@]}" | grep -c -E ' (Running|Completed) ' || true)
        [ "$running" -ge 4 ] && break
        sleep 1
done
[ "$running" -ge 4 ] && ok || { bad "example pods not running ($running of 4)"; "$D/usr/bin/nodelet" pods "${ARGS[@]}"; tail -20 "$T/daemon.log"; }
for p in web init-sidecar volumes; do
        "$D/usr/bin/nodelet" get pod "$p-$(hostname | tr 'A-Z' 'a-z')" "${ARGS[@]}" -o json | jq -e '.status.phase == "Running"' >/dev/null \
                && ok || bad "$p not Running"
done
"$D/usr/bin/nodelet" get pod "job-$(hostname | tr 'A-Z' 'a-z')" "${ARGS[@]}" -o json | jq -e '.status.phase == "Succeeded"' >/dev/null \
        && ok || bad "job not Succeeded"
curl -fsS --max-time 5 http://127.0.0.1:18080/ | grep -q "hello from web" && ok || bad "web pod's hostPort"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
