#!/usr/bin/env bash
# Containers' stdin and attach in static-pod mode (issue 16): `stdin: true` gives the container a
# real stdin held by nodelet-shim, `nodelet attach` reaches it and the live output through the
# shim's attach socket (the code kubectl attach uses through the node server), `stdinOnce`
# closes stdin after the first attach, a tty container's terminal gets the attach's size, and
# attach keeps working after the daemon restarts. `nodelet exec` beside it.
# `nodelet port-forward` beside them. Needs root, crun, jq, socat, curl, script (util-linux).
SUITE=attach BRIDGE=nlattach SUBNET=10.99.16.0/24
. "$(dirname "$0")/lib/node.sh"
cli() { "$NODELET" "$@" "${ARGS[@]}"; }

manifest reader "  containers:
  - name: c
    image: $IMG
    stdin: true
    command: [sh, -c, 'while read l; do echo \"got:\$l\"; echo \"err:\$l\" >&2; done; echo stdin-ended']"
manifest once "  restartPolicy: Never
  containers:
  - name: c
    image: $IMG
    stdin: true
    stdinOnce: true
    command: [sh, -c, 'cat >/tmp/in; echo \"read \$(wc -c </tmp/in) bytes\"']"
manifest ticker "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'i=0; while true; do i=\$((i+1)); echo tick-\$i; sleep 0.2; done']"
manifest term "  containers:
  - name: c
    image: $IMG
    stdin: true
    tty: true
    command: [sh]"
manifest web "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'mkdir -p /w && echo served-by-pod > /w/index.html && exec httpd -f -p 8080 -h /w']"
manifest nostdin "  containers:
  - name: c
    image: $IMG
    command: [sh, -c, 'if read l; then echo \"unexpected:\$l\"; else echo no-stdin; fi; sleep 3600']"
start_daemon
for p in reader once ticker term nostdin web; do check "$p runs" "$p" 60 '.status.phase == "Running"'; done
name() { echo "$1-$NODE"; }

# live output: what the container writes while attached, never what it wrote before
out=$(timeout 2 "$NODELET" attach "$(name ticker)" "${ARGS[@]}" 2>&1)
n=$(printf '%s\n' "$out" | grep -c '^tick-')
first=$(printf '%s\n' "$out" | grep -m1 '^tick-' | cut -d- -f2)
[ "$n" -ge 3 ] && [ "${first:-0}" -gt 2 ] && ok || bad "attach shows the live output ($n lines, first tick ${first:-none})"

# stdin: true: what we send reaches the container, its answers on stdout and stderr come back
out=$(printf 'one\ntwo\n' | timeout 3 "$NODELET" attach -i "$(name reader)" "${ARGS[@]}" 2>"$T/err"); rc=$?
printf '%s\n' "$out" | grep -qx 'got:one' && printf '%s\n' "$out" | grep -qx 'got:two' && grep -qx 'err:two' "$T/err" \
        && ok || bad "attach -i: stdin in, stdout and stderr out (rc $rc, out: $out, err: $(cat "$T/err"))"
# without stdinOnce the container's stdin stays open after the client's ends: it still reads
out=$(printf 'three\n' | timeout 3 "$NODELET" attach -i "$(name reader)" "${ARGS[@]}" 2>/dev/null)
printf '%s\n' "$out" | grep -qx 'got:three' && ok || bad "a second attach still reaches stdin ($out)"
"$NODELET" logs "$(name reader)" "${ARGS[@]}" | grep -q stdin-ended && bad "stdin closed without stdinOnce" || ok

# stdinOnce: the first attach's end is stdin's end; the container sees EOF and finishes
head -c 100000 /dev/urandom >"$T/blob"
out=$(timeout 10 "$NODELET" attach -i "$(name once)" "${ARGS[@]}" <"$T/blob" 2>&1)
check "stdinOnce: the container read all of stdin and ended" once 30 \
        '.status.containerStatuses[0].state.terminated.exitCode == 0'
"$NODELET" logs "$(name once)" "${ARGS[@]}" | grep -qx 'read 100000 bytes' && ok || bad "stdinOnce: 100000 bytes reached the container ($("$NODELET" logs "$(name once)" "${ARGS[@]}"))"

# a container without stdin reads EOF at once (its stdin is /dev/null)
for _ in $(seq 20); do "$NODELET" logs "$(name nostdin)" "${ARGS[@]}" | grep -q . && break; sleep 0.25; done
[ "$("$NODELET" logs "$(name nostdin)" "${ARGS[@]}")" = no-stdin ] && ok || bad "stdin: false is /dev/null"

# tty: the attach's terminal size reaches the container's terminal; keys typed arrive
out=$(script -qec "stty rows 33 cols 77; (sleep 1; echo 'stty size; tty'; sleep 1) | timeout 5 $NODELET attach -i -t $(name term) ${ARGS[*]}" /dev/null 2>&1 | tr -d '\r')
printf '%s' "$out" | grep -q '^33 77$' && printf '%s' "$out" | grep -q '/dev/pts/' && ok || bad "attach -t: size and terminal ($out)"

# the shim holds stdin and the attach socket: a daemon restart changes nothing for attach
stop_daemon
start_daemon
sleep 1
out=$(printf 'after-restart\n' | timeout 3 "$NODELET" attach -i "$(name reader)" "${ARGS[@]}" 2>/dev/null)
printf '%s\n' "$out" | grep -qx 'got:after-restart' && ok || bad "attach after a daemon restart ($out)"

# port-forward: a local port to the pod's, connections made inside the pod's network namespace
lp=18600; while ss -Htln "sport = :$lp" | grep -q .; do lp=$((lp + 1)); done
"$NODELET" port-forward "$(name web)" "$lp:8080" "$((lp + 1)):9999" "${ARGS[@]}" >"$T/pf.out" 2>"$T/pf.err" &
pf=$!
for _ in $(seq 40); do curl -s --max-time 1 "http://127.0.0.1:$lp/" >/dev/null && break; sleep 0.25; done
out=$(curl -s --max-time 5 "http://127.0.0.1:$lp/")
[ "$out" = served-by-pod ] && ok || bad "port-forward: curl through it ($out; $(cat "$T/pf.err"))"
curl -s --max-time 5 "http://127.0.0.1:$lp/" >"$T/pf1" & c1=$!
curl -s --max-time 5 "http://127.0.0.1:$lp/" >"$T/pf2" & c2=$!
wait $c1 $c2
[ "$(cat "$T/pf1")" = served-by-pod ] && [ "$(cat "$T/pf2")" = served-by-pod ] && ok || bad "port-forward: two connections at once"
# the pod's loopback, not the node's: nothing listens on 9999 in the pod
out=$(curl -s --max-time 5 "http://127.0.0.1:$((lp + 1))/" 2>&1); sleep 0.5
[ -z "$out" ] && grep -q "error forwarding port 9999" "$T/pf.err" && ok || bad "port-forward: a closed port is reported ($(cat "$T/pf.err"))"
grep -q "^Forwarding from 127.0.0.1:$lp -> 8080$" "$T/pf.out" && ok || bad "port-forward says what it forwards ($(cat "$T/pf.out"))"
kill $pf 2>/dev/null; wait $pf 2>/dev/null

# exec beside it: exit code and output
out=$("$NODELET" exec "$(name reader)" "${ARGS[@]}" -- sh -c 'echo in-container; exit 3'); rc=$?
[ "$out" = in-container ] && [ $rc = 3 ] && ok || bad "nodelet exec: output and exit code (rc $rc: $out)"
# errors name what is wrong
out=$("$NODELET" attach nosuchpod "${ARGS[@]}" 2>&1); rc=$?
[ $rc != 0 ] && printf '%s' "$out" | grep -q "pod not found" && ok || bad "attach to a missing pod says so ($out)"

echo "$SUITE: $pass passed, $fail failed"
[ "$fail" = 0 ]
