#!/usr/bin/env bash
# client-go against stream/: the real Kubernetes client (k8s.io/client-go v0.37.2, built by
# client/build.sh from the Go module proxy and cached outside the checkout) drives exec,
# attach and port-forward on tests/fixtures/stream-test-server, which serves them through
# stream/ with a fake container (fork/exec, a pty for tty sessions).
#
# Executors as kubectl builds them: remotecommand.NewSPDYExecutor (v5 down to channel.k8s.io,
# and forced single versions), NewWebSocketExecutor (v5.channel.k8s.io, and v4), the fallback
# executor (WebSocket first, SPDY when the upgrade is refused); port-forward over SPDY, over
# WebSocket (SPDY tunnelled, NewSPDYOverWebsocketDialer) and the fallback dialer; a bare
# gorilla/websocket client for base64.channel.k8s.io and the kubelet's v4 port-forward channels.
#
# Needs Go (/usr/local/go/bin) or a cached client; says so and passes nothing otherwise.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SERVER=${STREAM_SERVER:-$BUILD/tests/stream-test-server}
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
summary() { echo "stream-interop: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }

if [ ! -x "$SERVER" ]; then
        echo "stream-interop: $SERVER not built (make $SERVER)"
        fail=1; summary; exit 1
fi
T=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT

if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ] && \
   ! ls /var/cache/nodelet-stream-client/*/stream-client >/dev/null 2>&1; then
        echo "stream-interop: no Go toolchain and no cached client-go client; skipped"
        summary; exit 0
fi
if ! CLIENT=$(tests/stream/client/build.sh 2>"$T/build.log"); then
        cat "$T/build.log"
        bad "building the client-go client"
        summary; exit 1
fi

start_server() { # NAME ARGS...: sets PORT_<NAME>, and ECHO when --echo-port
        local name=$1; shift
        "$SERVER" "$@" >"$T/$name.out" 2>"$T/$name.log" &
        pids+=($!)
        for _ in $(seq 50); do grep -q '^listening on' "$T/$name.out" 2>/dev/null && break; sleep 0.1; done
        eval "PORT_$name=$(awk '/^listening on/ {print $3}' "$T/$name.out")"
        local e; e=$(awk '/^echo on/ {print $3}' "$T/$name.out")
        [ -n "$e" ] && ECHO=$e
}
start_server main --echo-port 0
start_server nows --refuse-websocket
BASE="http://127.0.0.1:$PORT_main"
NOWS="http://127.0.0.1:$PORT_nows"

urlq() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# exec URL for a shell command: exec_url BASE 'CMD' [PARAMS]
exec_url() { echo "$1/exec/ns/pod/c?command=sh&command=-c&command=$(urlq "$2")&${3:-output=1&error=1}"; }

# run NAME WANT_RC -- CLIENT-ARGS...: stdout in $T/out, stderr in $T/err
run() {
        local name=$1 want=$2; shift 3
        timeout 120 "$CLIENT" "$@" >"$T/out" 2>"$T/err" <"${STDIN:-/dev/null}"
        local rc=$?
        if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit $rc, want $want"; sed 's/^/    /' "$T/out" "$T/err" | head -20; fi
}
has() { # NAME FILE FIXED-STRING
        if grep -qF -- "$3" "$2"; then ok; else bad "$1: missing \"$3\""; sed 's/^/    /' "$2" | head -20; fi
}
same() { # NAME FILE-A FILE-B
        if cmp -s "$2" "$3"; then ok; else bad "$1: $2 and $3 differ ($(wc -c <"$2") vs $(wc -c <"$3") bytes)"; fi
}
logged() { # NAME SERVER FIXED-STRING: the server's last session line has it
        sleep 0.2
        if grep 'session ' "$T/$2.log" | tail -n 1 | grep -qF -- "$3"; then ok; else
                bad "$1: server's last session line lacks \"$3\""; grep 'session ' "$T/$2.log" | tail -n 2 | sed 's/^/    /'
        fi
}

HELLO=$(exec_url "$BASE" 'echo out; echo err >&2')
EXIT7=$(exec_url "$BASE" 'echo before; exit 7')

# ---- exec: output, exit codes, each subprotocol --------------------------------------------------
for case in "spdy::v5.channel.k8s.io" "spdy:v4.channel.k8s.io:v4.channel.k8s.io" \
            "websocket::v5.channel.k8s.io" "websocket:v4.channel.k8s.io:v4.channel.k8s.io" \
            "fallback::v5.channel.k8s.io"; do
        IFS=: read -r tr proto want <<<"$case"
        n="exec $tr ${proto:-default}"
        run "$n" 0 -- exec -url "$HELLO" -transport "$tr" -protocols "$proto"
        has "$n stdout" "$T/out" "out"
        has "$n stderr" "$T/err" "err"
        logged "$n" main "protocol=$want: 0"
        run "$n exit 7" 7 -- exec -url "$EXIT7" -transport "$tr" -protocols "$proto"
        has "$n exit 7" "$T/err" "command terminated with exit code 7"
        has "$n exit 7 stdout" "$T/out" "before"
done
# before v4 the error stream carries the failure's text
# (client-go's v1 words it "Error executing ...")
for proto in v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io; do
        run "exec spdy $proto exit 7" 100 -- exec -url "$EXIT7" -transport spdy -protocols "$proto"
        has "exec spdy $proto exit 7" "$T/err" \
                "rror executing remote command: command terminated with non-zero exit code: error executing command [sh -c echo before; exit 7], exit code 7"
        logged "exec spdy $proto" main "protocol=$proto: 0"
done
# a binary that does not exist: the runtime's error as an InternalError Status
run "exec missing binary" 100 -- exec -url "$BASE/exec/ns/pod/c?command=nope&output=1&error=1" -transport spdy
has "exec missing binary" "$T/err" \
        "Internal error occurred: error executing command in container: OCI runtime exec failed"

# ---- stdin, its end (FIN on SPDY, the v5 close signal on WebSocket) ------------------------------
printf 'line one\nline two\n' >"$T/small"
for tr in spdy websocket; do
        STDIN=$T/small run "stdin $tr" 0 -- exec -url "$BASE/exec/ns/pod/c?command=cat&input=1&output=1&error=1" \
                -transport "$tr" -stdin
        same "stdin $tr" "$T/small" "$T/out"
done
# v4 over WebSocket has no close signal: the process never sees the end of stdin (as with the
# kubelet); a command that stops reading by itself works
STDIN=$T/small run "stdin websocket v4" 0 -- exec -url "$(exec_url "$BASE" 'head -n 2' 'input=1&output=1')" \
        -transport websocket -protocols v4.channel.k8s.io -stdin
same "stdin websocket v4" "$T/small" "$T/out"

# ---- large transfers both ways: 8 MiB through cat, 10 MB of output ------------------------------
head -c 8388608 /dev/urandom >"$T/big"
seq 1 1400000 >"$T/seq"
for tr in spdy websocket; do
        STDIN=$T/big run "8 MiB through cat, $tr" 0 -- exec -url "$BASE/exec/ns/pod/c?command=cat&input=1&output=1" \
                -transport "$tr" -stdin
        same "8 MiB through cat, $tr" "$T/big" "$T/out"
        run "10 MB of output, $tr" 0 -- exec -url "$(exec_url "$BASE" 'seq 1 1400000')" -transport "$tr"
        same "10 MB of output, $tr" "$T/seq" "$T/out"
done

# ---- tty: a pty, its size from the resize stream, exit codes -----------------------------------
for tr in spdy websocket; do
        run "tty $tr" 0 -- exec -url "$(exec_url "$BASE" 'sleep 1; stty size' 'input=1&output=1&tty=1')" \
                -transport "$tr" -stdin -tty -resize 100x40
        has "tty $tr resize" "$T/out" "40 100"
        run "tty $tr exit 4" 4 -- exec -url "$(exec_url "$BASE" 'exit 4' 'output=1&tty=1')" -transport "$tr" -tty
done
grep -q 'resize 100x40' "$T/main.log" && ok || bad "the server never saw the resize"

# ---- attach ------------------------------------------------------------------------------------
for tr in spdy websocket; do
        STDIN=$T/small run "attach $tr" 0 -- exec -url "$BASE/attach/ns/pod/c?input=1&output=1&error=1" \
                -transport "$tr" -stdin
        same "attach $tr" "$T/small" "$T/out"
        logged "attach $tr" main "session attach"
done

# ---- the fallback executor when WebSockets are refused -----------------------------------------
run "fallback to spdy" 7 -- exec -url "$(exec_url "$NOWS" 'echo before; exit 7')" -transport fallback
has "fallback to spdy" "$T/nows.log" "refused a websocket upgrade"
logged "fallback to spdy" nows "transport=spdy protocol=v5.channel.k8s.io: 0"

# ---- a client killed mid-exec: the process goes too ---------------------------------------------
"$CLIENT" exec -url "$(exec_url "$BASE" 'sleep 37.25')" -transport spdy >/dev/null 2>&1 &
cpid=$!
sleep 1
pgrep -f 'sleep 37.25' >/dev/null && ok || bad "the exec'd process did not start"
kill -9 "$cpid"; wait "$cpid" 2>/dev/null
sleep 1
pgrep -f 'sleep 37.25' >/dev/null && bad "the process outlived its client" || ok
has "client killed" "$T/main.log" "killed the process of a session that ended early"

# ---- raw WebSocket framings client-go has no client for ---------------------------------------
run "base64.channel.k8s.io" 0 -- ws-raw -url "$(exec_url "$BASE" 'echo hi; echo oops >&2')" \
        -protocol base64.channel.k8s.io
has "base64 protocol" "$T/out" 'protocol "base64.channel.k8s.io"'
has "base64 stdout" "$T/out" '1:"hi\n"'
has "base64 stderr" "$T/out" '2:"oops\n"'
has "base64 close" "$T/out" "close 1000"
run "v5 close signal" 0 -- ws-raw -url "$BASE/exec/ns/pod/c?command=cat&input=1&output=1" \
        -protocol v5.channel.k8s.io -send '0:abc' -send 'close:0'
has "v5 close signal" "$T/out" '1:"abc"'
has "v5 status" "$T/out" '3:"{\"metadata\":{},\"status\":\"Success\"}"'
run "port-forward v4 channels" 0 -- ws-raw -url "$BASE/portForward/ns/pod?port=$ECHO" -protocol v4.channel.k8s.io \
        -send "0:ping over channel 0" -messages 3
le=$(printf '%02x%02x' $((ECHO % 256)) $((ECHO / 256)))
grep -q "^0:.* hex=$le\$" "$T/out" && ok || bad "v4 channels: no port on the data channel"
grep -q "^1:.* hex=$le\$" "$T/out" && ok || bad "v4 channels: no port on the error channel"
has "v4 channels echo" "$T/out" '0:"ping over channel 0"'

# ---- port-forward: concurrent connections through each transport -------------------------------
for tr in spdy websocket fallback; do
        run "port-forward $tr" 0 -- portforward -url "$BASE/portForward/ns/pod" -transport "$tr" -remote "$ECHO" \
                -conns 8 -bytes 1048576
        has "port-forward $tr" "$T/out" "portforward: 9 connections ok"
done
logged "port-forward tunnel" main "transport=spdy-over-websocket protocol=SPDY/3.1+portforward.k8s.io: 0"
run "port-forward fallback to spdy" 0 -- portforward -url "$NOWS/portForward/ns/pod" -transport fallback \
        -remote "$ECHO" -conns 2 -bytes 100000
logged "port-forward fallback to spdy" nows "transport=spdy protocol=portforward.k8s.io: 0"
for tr in spdy websocket; do
        run "port-forward $tr refused" 0 -- pf-refused -url "$BASE/portForward/ns/pod" -transport "$tr" -remote 1
        has "port-forward $tr refused" "$T/err" "error forwarding port 1 to pod test-pod, uid : failed to connect"
        has "port-forward $tr refused ends" "$T/out" "forwarder ended: lost connection to pod"
done

# the fixture's sessions under the sanitizers (make test SANITIZE=1): their reports fail the suite
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/main.log" "$T/nows.log"; then
        bad "sanitizer reports in the server's log"
        grep -E -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/main.log" "$T/nows.log" | head -40
else
        ok
fi

summary
