#!/usr/bin/env bash
# What the hardening suites share on top of tests/agent/lib/node.sh (a throw-away node, the
# daemon's start and stop, pod checks with jq): daemon flags per suite, the runtime's own view
# of the containers, resource measurements and a known-failure skip.
# Source it after setting SUITE, BRIDGE (nlhard...) and SUBNET (inside 10.232.0.0/16).
. "$(dirname "${BASH_SOURCE[0]}")/../agent/lib/node.sh"

# The root dir the suite's daemon uses ($T/root unless a suite moves it, e.g. onto a small
# tmpfs); cleanup removes the pods through it, as node.sh's does for $T/root.
ROOT=$T/root
EXTRA_CLEANUP=:
cleanup() {
        stop_daemon
        rm -f "$M"/*.yaml
        $EXTRA_CLEANUP
        if [ -d "$ROOT/pods" ] && [ -n "$(ls -A "$ROOT/pods" 2>/dev/null)" ]; then
                start_daemon
                for _ in $(seq 90); do [ -z "$(ls -A "$ROOT/pods")" ] && break; sleep 1; done
                stop_daemon
        fi
        [ -n "${SOCAT_PID:-}" ] && kill "$SOCAT_PID" 2>/dev/null
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del "${BRIDGE}0" 2>/dev/null
        rm -rf "$T"
}

# Extra flags for the daemon (a wrapper runtime, -v 2, ...): set DAEMON_EXTRA=(...) before
# start_daemon.
DAEMON_EXTRA=()
start_daemon() {
        NOTIFY_SOCKET=$T/notify.sock "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" "${DAEMON_EXTRA[@]}" \
                >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}

# The runtime's state root as the daemon passes it (cri/runtime.c: <run-dir>/runtime/<name>).
runtime_root() { echo "$T/run/runtime/$(basename "$RUNTIME")"; }
# Container ids the OCI runtime knows, one a line, with their status: "ID STATUS".
runtime_list() {
        case $(basename "$RUNTIME") in
        runc) runc --root "$(runtime_root)" list -f json 2>/dev/null | jq -r '.[]? | "\(.id) \(.status)"' ;;
        *) crun --root "$(runtime_root)" list 2>/dev/null | awk 'NR > 1 {print $1, $3}' ;;
        esac
}

# A test we cannot pass because of a known bug: counted as neither, said loudly.
skipped=0
known_failure() { # DESCRIPTION BUG
        skipped=$((skipped + 1))
        echo "SKIP (known failure, docs/reliability.md): $1 -- $2"
}

# Peak RSS in KiB and wall seconds of a command: "RSS SECONDS RC" (stdout and stderr of the
# command go to $T/cmd.out and $T/cmd.err).
measure() {
        /usr/bin/time -f '%M %e' -o "$T/time.out" "$@" >"$T/cmd.out" 2>"$T/cmd.err"
        local rc=$?
        echo "$(cat "$T/time.out" | tail -n 1) $rc"
}

# The daemon's peak RSS so far (VmHWM, KiB).
daemon_hwm() { awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null; }

wait_ready() {
        for _ in $(seq 100); do grep -q READY=1 "$T/notify.log" 2>/dev/null && return 0; sleep 0.1; done
        return 1
}
listen_notify() {
        socat -u UNIX-RECV:"$T/notify.sock" - >>"$T/notify.log" 2>/dev/null &
        SOCAT_PID=$!
        # bound before the daemon starts, however loaded the machine is
        for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
}

finish() {
        stop_daemon
        local extra=""
        [ "$skipped" -gt 0 ] && extra=" ($skipped known failures skipped)"
        echo "$SUITE: $pass passed, $fail failed$extra"
        [ "$fail" -eq 0 ] || { echo "--- daemon log (tail)"; tail -40 "$T/daemon.log"; }
        [ "$fail" -eq 0 ]
}

# After every pod is removed: nothing of them may be left. UIDS are the pods' UIDs (for their
# cgroups). Counts a failure per kind of leftover, naming it.
leak_check() { # WHAT UID...
        local what=$1; shift
        local left
        left=$(ls -A "$ROOT/containers" 2>/dev/null)
        [ -z "$left" ] && ok || bad "$what: container dirs left: $left"
        left=$(runtime_list)
        [ -z "$left" ] && ok || bad "$what: the runtime still knows: $left"
        left=$(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | grep -v "^$ROOT$\|^$T/run$\|^$T/run/sandboxes$\|^$T/small$\|^$T/logs$")
        [ -z "$left" ] && ok || bad "$what: mounts left: $left"
        left=$(ls -A "$T/run/sandboxes" 2>/dev/null)
        [ -z "$left" ] && ok || bad "$what: sandbox dirs left: $left"
        left=$(ip -o link show master "${BRIDGE}0" 2>/dev/null | awk -F': ' '{print $2}')
        [ -z "$left" ] && ok || bad "$what: veths left on ${BRIDGE}0: $left"
        left=$(find "$T/ipam" -type f ! -name 'last_reserved_ip*' ! -name lock 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
        if [ -z "$left" ]; then ok
        elif [ -n "${IPAM_LEAK_KNOWN:-}" ]; then known_failure "$what: IP reservations left: $left" "$IPAM_LEAK_KNOWN"
        else bad "$what: IP reservations left: $left"; fi
        local u
        left=
        for u in "$@"; do
                left+=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pod$u*" 2>/dev/null)
        done
        [ -z "$left" ] && ok || bad "$what: cgroups left: $left"
        left=$(pgrep -f "nodelet-shim.*$T/" 2>/dev/null)
        [ -z "$left" ] && ok || bad "$what: shims left: $left"
}
