#!/usr/bin/env bash
# Runs test binaries and sums their "N passed, N failed" lines into one closing line.
#   run-tests.sh unit BIN...                 unit tests
#   run-tests.sh fuzz BIN...                 fuzz corpus replays
#   run-tests.sh all UNIT... -- FUZZ... -- NODELET   everything `make test` runs
#   run-tests.sh hardening BIN... -- NODELET        `make test-hardening`: C tests, then
#                                                    tests/hardening/*.sh (HARD_ONLY=a,b: those)
#   run-tests.sh stream SERVER                       client-go against stream/ (tests/stream/)
set -u
cd "$(dirname "$0")/.."
mode=$1; shift
total_pass=0; total_fail=0; broken=0

run_one() { # bin [args...]
        local out rc line
        out=$("$@" 2>&1); rc=$?
        line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
        if [ -z "$line" ]; then
                printf '%s\n' "$out"
                echo "BROKEN $1 (exit $rc, no summary line)"
                broken=$((broken + 1)); total_fail=$((total_fail + 1)); return
        fi
        [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -v -E '[0-9]+ passed, [0-9]+ failed' | tail -n 60
        echo "$line"
        local p f
        p=$(printf '%s' "$line" | grep -oE '[0-9]+ passed' | tail -n 1 | cut -d' ' -f1)
        f=$(printf '%s' "$line" | grep -oE '[0-9]+ failed' | tail -n 1 | cut -d' ' -f1)
        total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                total_fail=$((total_fail + 1))
        fi
}

case $mode in
unit|fuzz)
        for b in "$@"; do run_one "$b"; done ;;
all)
        section=unit
        for a in "$@"; do
                if [ "$a" = "--" ]; then
                        case $section in unit) section=fuzz ;; fuzz) section=cli ;; esac
                        continue
                fi
                case $section in
                unit|fuzz) run_one "$a" ;;
                cli) for script in tests/cli/*.sh tests/agent/*.sh tests/deploy/*.sh tests/stream/*.sh; do run_one env NODELET="$a" BUILD="$(dirname "$a")" "$script"; done ;;
                esac
        done ;;
hardening)
        section=bin
        for a in "$@"; do
                if [ "$a" = "--" ]; then section=cli; continue; fi
                case $section in
                bin) run_one "$a" ;;
                cli) for script in tests/hardening/*.sh; do
                             name=$(basename "$script" .sh)
                             [ "$name" = lib ] && continue
                             if [ -n "${HARD_ONLY:-}" ] && ! printf ',%s,' "$HARD_ONLY" | grep -q ",$name,"; then continue; fi
                             echo "== $name"
                             run_one env NODELET="$a" BUILD="$(dirname "$a")" "$script"
                     done ;;
                esac
        done ;;
stream)
        for script in tests/stream/*.sh; do run_one env STREAM_SERVER="$1" "$script"; done ;;
*) echo "usage: $0 unit|fuzz|all|hardening|stream ..." >&2; exit 2 ;;
esac

echo "== total"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
