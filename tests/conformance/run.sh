#!/usr/bin/env bash
# The node conformance harness, static-pod mode: the upstream node conformance behaviours that
# need no API server, as data (tests/conformance/scenarios/*.yaml), run against one
# `nodelet run` daemon on a throw-away node (temp dirs, its own CNI bridge, the offline
# busybox image). See docs/conformance.md.
#
# Usage: tests/conformance/run.sh [OPTIONS]
#   --nodelet PATH     the nodelet binary (default $NODELET or build/nodelet)
#   --runtime NAME     crun or runc (default $RUNTIME or crun)
#   --only REGEX       only the scenarios whose name matches REGEX (grep -E)
#   --skip-slow        leave out the scenarios marked slow: true
#   --junit FILE       JUnit XML report (default build/conformance/junit.xml)
#   --markdown FILE    markdown report (default build/conformance/report.md)
#   --keep             keep the temp dir (daemon log, scenario results, pod status and logs)
#
# Prints one line per scenario (PASS, FAIL, XFAIL for a known_failure that failed, XPASS for
# one that passed) and ends with "conformance: N passed, N failed". Exit status: 0 when
# nothing failed, 1 when something did, 2 on bad usage, 77 when this machine cannot run it
# (not root, no runtime, no jq...).
#
# Needs root, jq, ip, the OCI runtime, the CNI plugins, a C compiler with libyaml and jansson
# (the scenario reader, tests/conformance/yaml2json.c), and tests/fixtures/deps.sh's
# busybox-static for the image.
set -u
main() {
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
now() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$t"; }           # microseconds
secs_since() { echo $((($(now) - $1) / 1000000)); }
elapsed() { local d=$(($(now) - $1)); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }
abspath() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }

NODELET=${NODELET:-$top/build/nodelet}
RUNTIME=${RUNTIME:-crun}
ONLY=
SKIP_SLOW=0
JUNIT=$top/build/conformance/junit.xml
MARKDOWN=$top/build/conformance/report.md
KEEP=0
usage() { sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
        case $1 in
        --nodelet) NODELET=$(abspath "${2:?--nodelet needs a path}"); shift ;;
        --nodelet=*) NODELET=$(abspath "${1#*=}") ;;
        --runtime) RUNTIME=${2:?--runtime needs crun or runc}; shift ;;
        --runtime=*) RUNTIME=${1#*=} ;;
        --only) ONLY=${2:?--only needs a regex}; shift ;;
        --only=*) ONLY=${1#*=} ;;
        --skip-slow) SKIP_SLOW=1 ;;
        --junit) JUNIT=$(abspath "${2:?--junit needs a file}"); shift ;;
        --junit=*) JUNIT=$(abspath "${1#*=}") ;;
        --markdown) MARKDOWN=$(abspath "${2:?--markdown needs a file}"); shift ;;
        --markdown=*) MARKDOWN=$(abspath "${1#*=}") ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "conformance: unknown option $1" >&2; usage >&2; exit 2 ;;
        esac
        shift
done
NODELET=$(abspath "$NODELET")
case $RUNTIME in crun|runc) ;; *) echo "conformance: --runtime is crun or runc" >&2; exit 2 ;; esac

skip() { echo "conformance: $*; skipped"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in jq ip "$RUNTIME" cc pkg-config; do command -v "$t" >/dev/null || skip "needs $t"; done
[ -x "$NODELET" ] || skip "no nodelet binary at $NODELET (make)"
pkg-config --exists yaml-0.1 jansson || skip "needs libyaml and jansson (pkg-config yaml-0.1 jansson)"

cd "$top"
NODE=confnode
BRIDGE=nlconf0
SUBNET=10.99.11.0/24
DEFAULT_WITHIN=60
DEFAULT_GRACE=2   # terminationGracePeriodSeconds for pods that set none (the end-of-run cleanup)

# One run at a time: the bridge and subnet are fixed.
lockdir=/run/lock; [ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/nodelet-conformance.lock"
flock -w 900 9 || { echo "conformance: another run holds the lock"; exit 1; }

T=$(mktemp -d /tmp/nodelet-conformance-XXXXXX)
M=$T/manifests
R=$T/results
ARGS=(--root-dir "$T/root" --run-dir "$T/run" --pod-log-dir "$T/log")
mkdir -p "$M" "$R" "$T/cni" "$T/host" "$T/scenarios"
DAEMON_PID=

start_daemon() {
        "$NODELET" run "${ARGS[@]}" --pod-manifest-path "$M" --node-name "$NODE" \
                --cni-conf-dir "$T/cni" --container-runtime-path "$RUNTIME" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
}
stop_daemon() {
        [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
}
cleanup() {
        local p
        for p in $(jobs -p); do [ "$p" = "$DAEMON_PID" ] || kill "$p" 2>/dev/null; done
        # Pods go the way a user removes them: their manifests go, the daemon terminates them
        # and removes their containers, volumes and sandboxes.
        rm -f "$M"/*
        if [ -d "$T/root/pods" ] && [ -n "$(ls -A "$T/root/pods" 2>/dev/null)" ]; then
                if [ -z "$DAEMON_PID" ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then start_daemon; fi
                for _ in $(seq 180); do [ -z "$(ls -A "$T/root/pods")" ] && break; sleep 0.5; done
                [ -n "$(ls -A "$T/root/pods")" ] && echo "conformance: cleanup: pods left after 90 s: $(ls "$T/root/pods")"
        fi
        stop_daemon
        for mnt in $(awk '{print $5}' /proc/self/mountinfo | grep "^$T/" | sort -r); do umount -l "$mnt"; done
        ip link del "$BRIDGE" 2>/dev/null
        if [ "$KEEP" = 1 ]; then
                echo "conformance: kept $T (daemon.log, results/, scenarios/)"
        else
                rm -rf "$T"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The binaries under test are copied first, so that a rebuild during the run changes nothing
# (nodelet takes nodelet-shim from its own directory).
mkdir -p "$T/bin"
cp "$NODELET" "$T/bin/nodelet" || { echo "conformance: cannot copy $NODELET"; exit 1; }
if [ -x "$(dirname "$NODELET")/nodelet-shim" ]; then
        cp "$(dirname "$NODELET")/nodelet-shim" "$T/bin/nodelet-shim"
else
        echo "conformance: warning: no nodelet-shim next to $NODELET"
fi
NODELET_SRC=$NODELET
NODELET=$T/bin/nodelet

# ---- the scenarios, read as data ------------------------------------------------------------
cc -O2 -o "$T/yaml2json" "$here/yaml2json.c" $(pkg-config --cflags --libs yaml-0.1 jansson) \
        || { echo "conformance: cannot build the scenario reader"; echo "conformance: 0 passed, 1 failed"; exit 1; }
IDS=()
SKIPPED_SLOW=()
for f in "$here"/scenarios/*.yaml; do
        id=$(basename "$f" .yaml)
        if ! "$T/yaml2json" "$f" >"$T/scenarios/$id.raw.json"; then
                echo "conformance: $f: unreadable"; echo "conformance: 0 passed, 1 failed"; exit 1
        fi
        err=$(jq -r --arg id "$id" '
                (if .name != $id then "name must be the file name (\($id))" else empty end),
                (if (.upstream | type) != "string" or .upstream == "" then "upstream missing" else empty end),
                (if (.manifest | type) != "object" or .manifest.kind != "Pod" then "manifest must be a Pod" else empty end),
                (if (.expect | type) != "array" or (.expect | length) == 0 then "expect must be a list" else empty end),
                (.expect[]? | select(([keys[] | select(IN("jq", "log", "log_contains", "log_not_contains",
                        "log_matches", "file", "delete", "gone", "monotonic"))] | length) != 1)
                        | "each expectation needs exactly one kind: \(tojson)")' "$T/scenarios/$id.raw.json")
        if [ -n "$err" ]; then
                echo "conformance: $f: $err"; echo "conformance: 0 passed, 1 failed"; exit 1
        fi
        if [ -n "$ONLY" ] && ! printf '%s' "$id" | grep -qE -- "$ONLY"; then continue; fi
        if [ "$SKIP_SLOW" = 1 ] && [ "$(jq -r '.slow // false' "$T/scenarios/$id.raw.json")" = true ]; then
                SKIPPED_SLOW+=("$id"); continue
        fi
        IDS+=("$id")
done
if [ ${#IDS[@]} -eq 0 ]; then
        echo "conformance: no scenario selected"; echo "conformance: 0 passed, 0 failed"; exit 0
fi

# Placeholders: @POD@ (the static pod's name), @NODE@, @HOSTDIR@ (a host directory of the
# scenario's own, for hostPath volumes); @UID@ in an expectation is the pod's UID, read when
# the expectation is checked.
for id in "${IDS[@]}"; do
        mkdir -p "$T/host/$id"
        jq --arg pod "$id-$NODE" --arg node "$NODE" --arg hostdir "$T/host/$id" '
                walk(if type == "string" then gsub("@POD@"; $pod) | gsub("@NODE@"; $node) | gsub("@HOSTDIR@"; $hostdir) else . end)' \
                "$T/scenarios/$id.raw.json" >"$T/scenarios/$id.json"
done

# ---- the node -------------------------------------------------------------------------------
cat >"$T/cni/10-conformance.conflist" <<J
{"cniVersion": "1.0.0", "name": "nlconformance", "plugins": [
 {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "dataDir": "$T/ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
deploy/prepare-node.sh --quiet || { echo "conformance: deploy/prepare-node.sh failed"; echo "conformance: 0 passed, 1 failed"; exit 1; }
if ! tests/fixtures/make-images.sh "$T/img" >"$T/images.log" 2>&1 ||
   ! "$NODELET" images --root-dir "$T/root" import "$T/img/layout" >>"$T/images.log" 2>&1; then
        echo "conformance: the offline images could not be made or imported:"; tail -5 "$T/images.log"
        echo "conformance: 0 passed, 1 failed"; exit 1
fi

echo "conformance: ${#IDS[@]} scenarios, $RUNTIME, $("$NODELET" version 2>/dev/null | head -1) ($NODELET_SRC, $(sha256sum "$NODELET" | cut -c1-12))"
for id in "${IDS[@]}"; do
        jq --arg name "$id" --argjson grace "$DEFAULT_GRACE" '.manifest
                | .metadata = ((.metadata // {}) + {name: $name})
                | .spec.terminationGracePeriodSeconds //= $grace' "$T/scenarios/$id.json" >"$M/$id.json"
done
RUN_START=$(now)
start_daemon

# ---- evaluation -----------------------------------------------------------------------------
# jq helpers every expression can use.
JQDEFS='def cond($t): ([.status.conditions[]? | select(.type == $t)][0] // {});
def ctr($n): ([.status.containerStatuses[]? | select(.name == $n)][0] // {});
def initctr($n): ([.status.initContainerStatuses[]? | select(.name == $n)][0] // {});
def ts: sub("\\.[0-9]+"; "") | fromdateiso8601;
'
pod_json() { "$NODELET" get pod "$1" "${ARGS[@]}" -o json 2>/dev/null; }
pod_log() { # POD [CONTAINER]: the log exactly (trailing newlines kept); fails when there is none
        local out
        out=$("$NODELET" logs "$@" "${ARGS[@]}" 2>/dev/null && printf x) || return 1
        printf '%s' "${out%x}"
}
status_summary() {
        pod_json "$1" | jq -c '.status | {phase, reason, message, conditions: [.conditions[]? | {type, status, reason, message}],
                initContainerStatuses: [.initContainerStatuses[]? | {name, state, lastState, restartCount, ready}],
                containerStatuses: [.containerStatuses[]? | {name, state, lastState, restartCount, ready, started}]}' 2>/dev/null \
                | cut -c1-3000
}

# check POD: one look at expectation $kind; sets $seen (what was observed) for messages.
check() {
        local pod=$1 out v arg=$arg
        seen=
        if [[ "$arg" == *@UID@* ]]; then
                # the pod's UID, known once the daemon has the pod
                [ -n "$pod_uid" ] || pod_uid=$(pod_json "$pod" | jq -r '.metadata.uid // empty')
                [ -n "$pod_uid" ] || { seen="(no pod)"; return 1; }
                arg=${arg//@UID@/$pod_uid}
        fi
        case $kind in
        jq)
                out=$(pod_json "$pod") || { seen="(no pod)"; return 1; }
                seen=$(printf '%s' "$out" | jq -c '.status | {phase, reason, c: [.conditions[]? | "\(.type)=\(.status)"],
                        i: [.initContainerStatuses[]? | {ready, restartCount, state: (.state | keys)}],
                        s: [.containerStatuses[]? | {ready, restartCount, state: (.state | keys)}]}' 2>/dev/null)
                printf '%s' "$out" | jq -e "$JQDEFS$arg" >/dev/null 2>&1 ;;
        log|log_contains|log_not_contains|log_matches)
                out=$(pod_log "$pod" ${container:+"$container"} && printf x) || { seen="(no log)"; return 1; }
                out=${out%x}
                seen=$out
                case $kind in
                log) [ "$out" = "$arg" ] ;;
                log_contains) [[ "$out" == *"$arg"* ]] ;;
                log_not_contains) [[ "$out" != *"$arg"* ]] ;;
                log_matches) printf '%s' "$out" | jq -Rse --arg re "$arg" 'test($re)' >/dev/null 2>&1 ;;
                esac ;;
        file)
                local f=$T/host/$id/$arg
                [ -f "$f" ] || { seen="(no file)"; return 1; }
                out=$(cat "$f" && printf x); out=${out%x}
                seen=$out
                if [ -n "$content_set" ]; then [ "$out" = "$content" ]; else [[ "$out" == *"$contains"* ]]; fi ;;
        delete)
                rm -f "$M/$id.json" ;;
        gone)
                ! pod_json "$pod" >/dev/null ;;
        monotonic)
                v=$(pod_json "$pod" | jq -e "$JQDEFS$arg" 2>/dev/null) || return 1
                seen=$v
                if [ -n "$last" ] && [ "$v" -lt "$last" ] 2>/dev/null; then
                        decreased="$last -> $v"
                fi
                last=$v
                [ "$v" -ge "$until" ] 2>/dev/null ;;
        esac
}

# evaluate ID: every expectation in order; writes $R/ID.{status,time,msg}
evaluate() {
        id=$1
        local sj=$T/scenarios/$id.json pod=$1-$NODE n i desc t0 ok
        pod_uid=
        n=$(jq '.expect | length' "$sj")
        for ((i = 0; i < n; i++)); do
                # kind, arg, within, hold, container, content(_set), contains, until
                eval "$(jq -r --argjson i "$i" --argjson w "$DEFAULT_WITHIN" '.expect[$i]
                        | (to_entries | map(select(.key | IN("jq", "log", "log_contains", "log_not_contains",
                                "log_matches", "file", "delete", "gone", "monotonic")))[0]) as $k
                        | @sh "kind=\($k.key) arg=\($k.value | if type == "string" then . else tojson end)",
                          @sh "within=\(.within // $w) hold=\(.for // 0) container=\(.container // "")",
                          @sh "content=\(.content // "") content_set=\(if has("content") then "1" else "" end)",
                          @sh "contains=\(.contains // "") until=\(.until // 0)"' "$sj")"
                desc="expect[$i] $kind${container:+ ($container)}: $arg"
                last= decreased=
                t0=$(now) ok=0
                echo "$(elapsed "$RUN_START") $desc: checking" >>"$R/$id.trace"
                while :; do
                        if check "$pod"; then ok=1; break; fi
                        [ -n "$decreased" ] && break
                        [ "$(secs_since "$t0")" -ge "$within" ] && break
                        sleep 0.5
                done
                echo "$(elapsed "$RUN_START") $desc: ok=$ok seen=${seen:0:200}" >>"$R/$id.trace"
                if [ -n "$decreased" ]; then
                        fail_with "$desc: decreased ($decreased)"; return
                fi
                if [ $ok = 0 ]; then
                        fail_with "$desc: not true within ${within}s" "$seen"; return
                fi
                if [ "$hold" != 0 ]; then
                        t0=$(now)
                        while [ "$(secs_since "$t0")" -lt "$hold" ]; do
                                sleep 1
                                if ! check "$pod"; then
                                        fail_with "$desc: true, then false after $(elapsed "$t0")s of the ${hold}s it must hold" "$seen"
                                        return
                                fi
                        done
                fi
        done
        echo PASS >"$R/$id.status"
        elapsed "$RUN_START" >"$R/$id.time"
}
fail_with() { # MESSAGE [OBSERVED]
        {
                echo "$1"
                case $kind in
                log*|file) [ -n "${2:-}" ] && printf 'observed: %q\n' "$2" | cut -c1-2000 ;;
                esac
                echo "status: $(status_summary "$id-$NODE")"
        } >"$R/$id.msg"
        echo FAIL >"$R/$id.status"
        elapsed "$RUN_START" >"$R/$id.time"
}

declare -A PIDS
for id in "${IDS[@]}"; do
        ( evaluate "$id" ) &
        PIDS[$id]=$!
done

pass=0 fail=0 xfail=0
XFAILS=() FAILS=()
: >"$R/results.jsonl"
for id in "${IDS[@]}"; do
        wait "${PIDS[$id]}" 2>/dev/null
        st=$(cat "$R/$id.status" 2>/dev/null || echo FAIL)
        tm=$(cat "$R/$id.time" 2>/dev/null || elapsed "$RUN_START")
        msg=$(cat "$R/$id.msg" 2>/dev/null || { [ "$st" = FAIL ] && echo "the evaluation died"; })
        up=$(jq -r .upstream "$T/scenarios/$id.json")
        known=$(jq -r '.known_failure // ""' "$T/scenarios/$id.json")
        short=${up#test/e2e/}
        short=${short#common/}
        short=${short#node/}
        case $st in
        PASS)
                if [ -n "$known" ]; then st=XPASS; fi
                pass=$((pass + 1))
                echo "$st $id ($short) ${tm}s${known:+ [marked known_failure: it passed, drop the mark?]}" ;;
        FAIL)
                if [ -n "$known" ]; then
                        st=XFAIL; xfail=$((xfail + 1)); XFAILS+=("$id: $known")
                        echo "XFAIL $id ($short) ${tm}s: known failure: $known"
                        printf '%s\n' "$msg" | head -1 | sed 's/^/    /'
                else
                        fail=$((fail + 1)); FAILS+=("$id")
                        echo "FAIL $id ($short) ${tm}s: $(printf '%s\n' "$msg" | head -1)"
                        printf '%s\n' "$msg" | tail -n +2 | sed 's/^/    /'
                fi
                # what a user would look at, kept with --keep
                mkdir -p "$R/$id"
                pod_json "$id-$NODE" >"$R/$id/pod.json"
                "$NODELET" describe "$id-$NODE" "${ARGS[@]}" >"$R/$id/describe.txt" 2>&1 ;;
        esac
        jq -cn --arg id "$id" --arg up "$up" --arg st "$st" --arg tm "$tm" --arg msg "$msg" --arg known "$known" \
                '{id: $id, upstream: $up, result: $st, time: $tm, message: $msg, known_failure: $known}' \
                >>"$R/results.jsonl"
done
TOTAL=$(elapsed "$RUN_START")

# ---- reports --------------------------------------------------------------------------------
mkdir -p "$(dirname "$JUNIT")" "$(dirname "$MARKDOWN")"
jq -rs --arg runtime "$RUNTIME" --arg total "$TOTAL" --arg host "$(hostname)" \
        --arg stamp "$(date -u +%Y-%m-%dT%H:%M:%S)" --arg slow "${SKIPPED_SLOW[*]}" '
        def x: tostring | @html;
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        ($slow | split(" ") | map(select(. != "")) | length) as $nslow
        | "<testsuite name=\"nodelet-conformance-static-\($runtime)\" tests=\"\(length + $nslow)\""
          + " failures=\"\(map(select(.result == "FAIL")) | length)\""
          + " skipped=\"\(map(select(.result == "XFAIL")) | length + $nslow)\""
          + " errors=\"0\" time=\"\($total)\" timestamp=\"\($stamp)\" hostname=\"\($host | x)\">",
        "  <properties><property name=\"runtime\" value=\"\($runtime | x)\"/><property name=\"mode\" value=\"static\"/></properties>",
        (.[] | "  <testcase classname=\"conformance.static\" name=\"\(.id | x)\" time=\"\(.time)\">"
          + "<system-out>\(.upstream | x)</system-out>"
          + (if .result == "FAIL" then "<failure message=\"\(.message | split("\n")[0] | x)\">\(.message | x)</failure>"
             elif .result == "XFAIL" then "<skipped message=\"known failure: \(.known_failure | x)\">\(.message | x)</skipped>"
             else "" end)
          + "</testcase>"),
        ($slow | split(" ")[] | select(. != "")
          | "  <testcase classname=\"conformance.static\" name=\"\(. | x)\" time=\"0\"><skipped message=\"slow (--skip-slow)\"/></testcase>"),
        "</testsuite>"' "$R/results.jsonl" >"$JUNIT"
jq -rs --arg runtime "$RUNTIME" --arg total "$TOTAL" --arg slow "${SKIPPED_SLOW[*]}" '
        def cell: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");
        "# nodelet node conformance (static mode, \($runtime))",
        "",
        "\(map(select(.result == "PASS" or .result == "XPASS")) | length) passed, \(map(select(.result == "FAIL")) | length) failed, \(map(select(.result == "XFAIL")) | length) known failures; \($total) s.",
        "",
        "| Scenario | Upstream test | Result | Time |",
        "| --- | --- | --- | --- |",
        (.[] | "| \(.id | cell) | \(.upstream | cell) | \(.result)\(if .result == "XFAIL" then ": " + (.known_failure | cell) elif .result == "FAIL" then ": " + (.message | split("\n")[0] | cell) else "" end) | \(.time) s |"),
        ($slow | split(" ")[] | select(. != "") | "| \(.) | (slow) | skipped | |")' "$R/results.jsonl" >"$MARKDOWN"

[ ${#SKIPPED_SLOW[@]} -gt 0 ] && echo "skipped (slow, --skip-slow): ${SKIPPED_SLOW[*]}"
for x in "${XFAILS[@]}"; do echo "known failure: $x"; done
if [ "$fail" -gt 0 ]; then
        echo "--- daemon log (tail)"; tail -30 "$T/daemon.log"
fi
echo "reports: $JUNIT, $MARKDOWN; ${TOTAL}s"
echo "conformance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
}
main "$@"
