#!/usr/bin/env bash
# The include graph of the product code (agent/, cri/, common/, podspec/, probes/, stream/)
# against the rules docs/design.md writes down (its ```include-rules block): a file may include
# headers of the folders and the headers its folder's rule names, and an internal header
# (internal.h, *-internal.h) only from its own folder. One test per file; the last line is "include-graph: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0

declare -A allowed
while read -r module targets; do
        allowed[$module]=$targets
done < <(awk '/^```include-rules/ { on = 1; next } /^```/ { on = 0 } on && NF && $1 !~ /^#/' docs/design.md)
if [ "${#allowed[@]}" -eq 0 ]; then
        echo "include-graph: no include-rules block in docs/design.md"
        echo "include-graph: 0 passed, 1 failed"
        exit 1
fi

# may MODULE include HEADER?
may() {
        local module=$1 header=$2 dir t
        dir=$(dirname "$header")
        case $header in
        internal.h | */internal.h | *-internal.h) [ "$dir" = "$module" ]; return ;;
        esac
        for t in ${allowed[$module]}; do
                [ "$t" = "$dir" ] || [ "$t" = "$header" ] && return 0
        done
        return 1
}

while read -r file; do
        module=$(dirname "$file")
        if [ -z "${allowed[$module]+set}" ]; then
                echo "FAIL $file: its folder $module has no rule in docs/design.md"
                fail=$((fail + 1))
                continue
        fi
        bad=0
        while read -r inc; do
                if [ -e "$module/$inc" ]; then
                        header=$(realpath -m --relative-to=. "$module/$inc")
                elif [ -e "$inc" ]; then
                        header=$inc
                else
                        echo "FAIL $file: #include \"$inc\" is not a file of the tree"
                        bad=1
                        continue
                fi
                if ! may "$module" "$header"; then
                        echo "FAIL $file: includes $header, which $module may not"
                        bad=1
                fi
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
        if [ "$bad" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done < <(find agent cri common podspec probes stream -name '*.[ch]' | sort)

echo "include-graph: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
