#!/usr/bin/env bash
# kubectl exec, attach, cp and port-forward through the real API server to the node server
# (issue 16): with kubectl's defaults (WebSocket to the API server, which speaks SPDY to the
# node) and again with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false and
# KUBECTL_PORT_FORWARD_WEBSOCKETS=false (SPDY end to end); and straight to the node port.
# Needs root, Go (the control plane), jq, curl, script (util-linux), openssl.
SUITE=streaming BRIDGE=nlstrm SUBNET=10.99.15.0/24 NODE=nodelet-stream
. "$(dirname "$0")/lib.sh"

pod shell "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'mkdir -p /w && echo served-by-pod > /w/index.html && exec httpd -f -p 8080 -h /w']
  - name: side
    image: $IMG
    command: [sleep, '3600']"
pod reader "  containers:
  - name: c
    image: $IMG
    stdin: true
    command: [sh, -c, 'while read l; do echo got:\$l; echo err:\$l >&2; done']"
start_daemon
kwait "node Ready" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
kwait "pod shell runs" 60 '.status.phase == "Running"' pod shell
kwait "pod reader runs" 60 '.status.phase == "Running"' pod reader

big_md5=$(head -c 10485760 /dev/zero | tr '\0' x | md5sum | cut -d' ' -f1)
head -c 1048576 /dev/urandom >"$T/in.bin"
in_md5=$(md5sum <"$T/in.bin" | cut -d' ' -f1)

exec_checks() { # LABEL: the same checks for one transport
        local l=$1 out rc
        out=$(k exec shell -c c -- echo hello 2>&1); rc=$?
        [ "$out" = hello ] && [ $rc = 0 ] && ok || bad "$l: kubectl exec echo (rc $rc: $out)"
        k exec shell -c c -- sh -c 'echo to-stderr >&2; exit 7' >"$T/o" 2>"$T/e"; rc=$?
        [ $rc = 7 ] && grep -q to-stderr "$T/e" && ok || bad "$l: exit code 7 and stderr (rc $rc: $(cat "$T/e"))"
        k exec shell -c c -- /no/such/binary >/dev/null 2>"$T/e"; rc=$?
        [ $rc != 0 ] && ok || bad "$l: a missing binary fails (rc $rc)"
        out=$(k exec shell -c c -- sh -c 'head -c 10485760 /dev/zero | tr "\0" x' | md5sum | cut -d' ' -f1)
        [ "$out" = "$big_md5" ] && ok || bad "$l: 10 MiB of output intact"
        out=$(k exec -i shell -c c -- md5sum <"$T/in.bin" | cut -d' ' -f1)
        [ "$out" = "$in_md5" ] && ok || bad "$l: 1 MiB of stdin intact through exec -i ($out)"
        # a terminal: kubectl sends its size (40x100 here) on the resize stream
        out=$(script -qec "stty rows 40 cols 100; $KUBECTL --kubeconfig $ADMIN_KUBECONFIG exec -it shell -c c -- sh -c 'stty size; tty'" /dev/null 2>&1 | tr -d '\r')
        # (through the API server's WebSocket translation a NUL byte reaches the terminal first)
        printf '%s' "$out" | grep -q '40 100$' && printf '%s' "$out" | grep -q '^/dev/pts/' && ok || bad "$l: exec -it under a pty with its size ($out)"
}

attach_checks() { # LABEL
        local l=$1 out
        # stdin: true: our line reaches the container, its answers on both streams come back
        out=$( (printf '%s-line\n' "$l"; sleep 3) | timeout 10 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" attach -i reader -c c 2>&1)
        printf '%s\n' "$out" | grep -qx "got:$l-line" && printf '%s\n' "$out" | grep -qx "err:$l-line" && ok || bad "$l: kubectl attach -i ($out)"
        # kubectl run -i --rm: a pod with stdin and stdinOnce, attached as soon as it runs,
        # removed after; the container sees our input and then its end
        out=$(echo "$l-run" | timeout 60 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" run "run-$l" -i --rm --restart=Never --image="$IMG" \
                --overrides="{\"spec\":{\"nodeName\":\"$NODE\",\"automountServiceAccountToken\":false}}" -- sh -c 'read l; echo got:$l; cat; echo stdin-ended' 2>&1)
        printf '%s\n' "$out" | grep -qx "got:$l-run" && printf '%s\n' "$out" | grep -qx stdin-ended && ok || bad "$l: kubectl run -i --rm ($out)"
        kwait "$l: kubectl run --rm removed its pod" 30 '.items | map(select(.metadata.name == "run-'"$l"'")) | length == 0' pods
}

exec_checks websocket
attach_checks websocket
export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
exec_checks spdy
attach_checks spdy
unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS

# kubectl cp both ways (tar through exec)
head -c 300000 /dev/urandom >"$T/cp.bin"
k cp "$T/cp.bin" default/shell:/tmp/cp.bin -c c >/dev/null 2>&1
out=$(k exec shell -c c -- md5sum /tmp/cp.bin | cut -d' ' -f1)
[ "$out" = "$(md5sum <"$T/cp.bin" | cut -d' ' -f1)" ] && ok || bad "kubectl cp into the pod"
k cp default/shell:/tmp/cp.bin "$T/cp.back" -c c >/dev/null 2>&1
cmp -s "$T/cp.bin" "$T/cp.back" && ok || bad "kubectl cp out of the pod"

# a client killed mid-exec leaves no process behind: with SPDY end to end the API server's proxy
# closes the node's connection when kubectl's goes; through the WebSocket translation it does so
# once the command's output finds the client gone (docs/cluster.md), so that command talks
killed_check() { # LABEL MARKER COMMAND...
        local l=$1 marker=$2; shift 2
        # kubectl itself in the background (a function would leave $! a subshell's)
        "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" exec shell -c c -- "$@" >/dev/null 2>&1 &
        local kpid=$! gone=0
        for _ in $(seq 40); do pgrep -f "$marker" >/dev/null && break; sleep 0.25; done
        pgrep -f "$marker" >/dev/null && ok || bad "$l: the exec'd command runs"
        kill -9 $kpid 2>/dev/null; wait $kpid 2>/dev/null
        for _ in $(seq 60); do pgrep -f "$marker" >/dev/null || { gone=1; break; }; sleep 0.5; done
        [ $gone = 1 ] && ok || { bad "$l: a client killed mid-exec leaves its process behind"; ps -eo pid,ppid,args | grep -E "$marker|[n]odelet run .*streaming" | grep -v grep | cut -c1-200 | sed 's/^/    /'; pkill -f "$marker"; }
}
KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false killed_check spdy '^sleep 4711$' sleep 4711
killed_check websocket 'echo tick-4712' sh -c 'while :; do echo tick-4712; sleep 0.2; done'

# port-forward: curl through it, two at once, and a port nobody listens on
pf_checks() { # LABEL
        local l=$1 lp out
        lp=$(free_port 18300)
        k port-forward pod/shell "$lp:8080" >"$T/pf.log" 2>&1 &
        local pf=$!
        for _ in $(seq 40); do curl -s --max-time 1 "http://127.0.0.1:$lp/" >/dev/null && break; sleep 0.25; done
        out=$(curl -s --max-time 5 "http://127.0.0.1:$lp/")
        [ "$out" = served-by-pod ] && ok || bad "$l: curl through port-forward ($out)"
        curl -s --max-time 5 "http://127.0.0.1:$lp/" >"$T/pf1" & local c1=$!
        curl -s --max-time 5 "http://127.0.0.1:$lp/" >"$T/pf2" & local c2=$!
        wait $c1 $c2
        [ "$(cat "$T/pf1")" = served-by-pod ] && [ "$(cat "$T/pf2")" = served-by-pod ] && ok || bad "$l: two connections at once"
        kill $pf 2>/dev/null; wait $pf 2>/dev/null
        lp=$(free_port 18400)
        k port-forward pod/shell "$lp:9999" >"$T/pf.log" 2>&1 &
        pf=$!
        sleep 2
        out=$(curl -s --max-time 5 "http://127.0.0.1:$lp/" 2>&1)
        sleep 1
        [ -z "$out" ] && grep -q "error forwarding port 9999" "$T/pf.log" && ok || bad "$l: a port nobody listens on is reported ($(tail -2 "$T/pf.log"))"
        kill $pf 2>/dev/null; wait $pf 2>/dev/null
}
pf_checks websocket
export KUBECTL_PORT_FORWARD_WEBSOCKETS=false
pf_checks spdy
unset KUBECTL_PORT_FORWARD_WEBSOCKETS

# straight to the node port: authorization as for the other paths
n10250() { curl -s --max-time 10 --cacert "$CA_CERT" "$@"; }
code=$(n10250 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(k create token default 2>/dev/null)" "https://127.0.0.1:$PORT/exec/default/shell/c?command=id&output=1")
[ "$code" = 403 ] && ok || bad "exec on the node port without nodes/proxy: 403 (got $code)"
out=$(n10250 -X POST --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "https://127.0.0.1:$PORT/run/default/shell/c?cmd=echo+run-output")
[ "$out" = run-output ] && ok || bad "/run returns the command's output (got '$out')"
code=$(n10250 -o /dev/null -w '%{http_code}' -X POST --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "https://127.0.0.1:$PORT/exec/default/nosuchpod/c?command=id&output=1")
[ "$code" = 404 ] && ok || bad "exec in a pod that does not exist: 404 (got $code)"

# streamingConnectionIdleTimeout: a session with no traffic either way ends (and its command
# with it), the connection closed as the kubelet closes it (kubectl may exit 0); the daemon
# restarted with 2 s (pods keep running)
stop_daemon
EXTRA_ARGS+=(--streaming-connection-idle-timeout 2s)
start_daemon
kwait "node Ready after the restart" 60 '.status.conditions[] | select(.type=="Ready") | .status == "True"' node "$NODE"
start=$(date +%s)
timeout 60 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" exec shell -c c -- sleep 4713 >/dev/null 2>&1; rc=$?
took=$(($(date +%s) - start))
gone=0
for _ in $(seq 20); do pgrep -f '^sleep 4713$' >/dev/null || { gone=1; break; }; sleep 0.5; done
[ $rc != 124 ] && [ $took -lt 30 ] && [ $gone = 1 ] && ok || bad "an idle exec ends after the idle timeout (rc $rc after ${took}s, process gone: $gone)"

finish_suite
