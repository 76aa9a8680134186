#!/usr/bin/env bash
# Hostile manifests through `nodelet validate` and through the daemon's manifest dir: a file
# over the 3 MiB cap, 100,000-deep flow nesting in YAML and JSON, 200-deep block nesting, a
# YAML alias bomb (9^9 nodes), invalid UTF-8, a NUL byte, duplicate keys, 12,000 containers,
# 12,000 env entries, 1,100 documents, a Deployment; in the manifest dir also a FIFO, a symlink
# to /dev/zero and a symlink loop. What must hold: each is refused with an error naming the
# file and the line or field, within 10 s and 64 MiB; the daemon keeps running the good pods
# of the same dir (and its peak RSS stays bounded); pods at the edge of the caps (3,000
# containers, 9,000 env entries) are valid, as for the API server.
SUITE=hard-manifests BRIDGE=nlhardm SUBNET=10.232.7.0/24
. "$(dirname "$0")/lib.sh"
H=$T/hostile
mkdir -p "$H"
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; } # CHAR COUNT
HDR='apiVersion: v1
kind: Pod
metadata:
  name: NAME
spec:
  containers:
  - name: c
    image: busybox:1.35'
hdr() { printf '%s\n' "${HDR/NAME/$1}"; }

{ hdr huge; printf '    command: ["'; rep a 4000000; printf '"]\n'; } >"$H/huge.yaml"
{ hdr deep; printf '    args: '; rep '[' 100000; rep ']' 100000; echo; } >"$H/deep-flow.yaml"
{ printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep-json"},"spec":{"containers":[{"name":"c","image":"b","args":'
  rep '[' 100000; rep ']' 100000; echo '}]}}'; } >"$H/deep.json"
{ hdr deep-block; printf '    env:\n'; for i in $(seq 200); do printf '%*s- a:\n' $((4 + i * 2)) ''; done; } >"$H/deep-block.yaml"
{ printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
  prev=a
  for n in b c d e f g h i; do printf '    %s: &%s [%s]\n' $n $n "$(printf '*%s,' $prev $prev $prev $prev $prev $prev $prev $prev)*$prev"; prev=$n; done
  printf 'spec:\n  containers:\n  - {name: c, image: busybox:1.35}\n'; } >"$H/alias-bomb.yaml"
{ hdr badutf8; printf '    env: [{name: A, value: "\xff\xfe\xc3"}]\n'; } >"$H/bad-utf8.yaml"
{ hdr nul; printf '    env: [{name: A, value: ok}]\n\x00junk\n'; } >"$H/nul.yaml"
{ printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\n  name: dup2\nspec:\n  containers:\n  - {name: c, image: busybox:1.35}\n'; } >"$H/dup-key.yaml"
{ printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: many-containers}\nspec:\n  containers:\n'
  for i in $(seq 12000); do printf '  - {name: c%d, image: busybox:1.35}\n' "$i"; done; } >"$H/many-containers.yaml"
{ hdr many-env; printf '    env:\n'; for i in $(seq 12000); do printf '    - {name: E%d, value: v}\n' "$i"; done; } >"$H/many-env.yaml"
{ for i in $(seq 1100); do printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: doc%d}\nspec: {containers: [{name: c, image: busybox:1.35}]}\n' "$i"; done; } >"$H/many-docs.yaml"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n' >"$H/deployment.yaml"
# what each error must say (besides the file's name)
declare -A WANT=(
        [huge.yaml]="larger than"
        [deep-flow.yaml]="nesting is deeper than 64 levels"
        [deep.json]="depth"
        [deep-block.yaml]="nesting is deeper than 64 levels"
        [alias-bomb.yaml]="aliases expand the document to more than"
        [bad-utf8.yaml]="not valid UTF-8"
        [nul.yaml]="control characters are not allowed"
        [dup-key.yaml]="duplicate key \"name\""
        [many-containers.yaml]="spec.containers: Too many: 12000"
        [many-env.yaml]="spec.containers[0].env: Too many: 12000"
        [many-docs.yaml]="more than 1024 documents"
        [deployment.yaml]="spec.template.spec: Required value" # a kind static mode runs (issue 22), checked as one
)

# ---- nodelet validate ------------------------------------------------------------------------
for f in "${!WANT[@]}"; do
        read -r rss secs rc < <(measure timeout 10 "$NODELET" validate "$H/$f")
        if [ "$rc" -eq 1 ] && grep -qF -- "${WANT[$f]}" "$T/cmd.out" "$T/cmd.err" && grep -qF "$H/$f" "$T/cmd.out" "$T/cmd.err"; then ok; else
                bad "validate $f: exit $rc, want the error \"${WANT[$f]}\" naming the file"; cat "$T/cmd.out" "$T/cmd.err" | cut -c1-300 | head -5; fi
        [ "$rss" -lt 65536 ] && ok || bad "validate $f: peak RSS $rss KiB"
        echo "    validate $f: ${rss} KiB, ${secs} s: $(cat "$T/cmd.out" "$T/cmd.err" | grep -v "documents invalid" | head -n 1 | cut -c1-150)"
done
# the edges of the caps are valid pods
{ printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: edge-containers}\nspec:\n  containers:\n'
  for i in $(seq 3000); do printf '  - {name: c%d, image: busybox:1.35}\n' "$i"; done; } >"$T/edge-containers.yaml"
{ hdr edge-env; printf '    env:\n'; for i in $(seq 9000); do printf '    - {name: E%d, value: v}\n' "$i"; done; } >"$T/edge-env.yaml"
for f in edge-containers.yaml edge-env.yaml; do
        read -r rss secs rc < <(measure timeout 10 "$NODELET" validate "$T/$f")
        [ "$rc" -eq 0 ] && ok || { bad "validate $f: exit $rc"; head -3 "$T/cmd.out" "$T/cmd.err"; }
        echo "    validate $f: ${rss} KiB, ${secs} s, exit $rc"
done

# ---- the daemon: the same files beside good pods ------------------------------------------
cp "$H"/* "$M"/
cp "$T/edge-env.yaml" "$M/"
mkfifo "$M/fifo.yaml"
ln -s /dev/zero "$M/zero.yaml"
ln -s loop.yaml "$M/loop.yaml"
manifest good1 "  containers:
  - {name: c, image: $IMG, command: [sleep, '100000']}"
manifest good2 "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo fine']}"
listen_notify
start_daemon
wait_ready && ok || bad "no READY=1 with hostile files in the dir"
check "a good pod runs beside them" good1 60 '.status.phase == "Running"'
check "another good pod completes" good2 60 '.status.phase == "Succeeded"'
check "the 9,000-env pod is valid and runs" edge-env 60 '.status.phase == "Running" or .status.phase == "Succeeded" or .status.phase == "Failed"'
for f in "${!WANT[@]}"; do
        grep -F "$f" "$T/daemon.log" | grep -qF -- "${WANT[$f]}" && ok || bad "daemon log: $f not reported with \"${WANT[$f]}\""
done
kill -0 "$DAEMON_PID" && ok || bad "the daemon died"
hwm=$(daemon_hwm)
echo "    daemon peak RSS with every hostile file read: $hwm KiB"
[ "$hwm" -lt 131072 ] && ok || bad "daemon peak RSS $hwm KiB"
n=$("$NODELET" pods "${ARGS[@]}" | tail -n +2 | wc -l)
[ "$n" -eq 3 ] && ok || { bad "$n pods run, want 3 (good1, good2, edge-env)"; "$NODELET" pods "${ARGS[@]}"; }
# the periodic rescan (20 s) reads them all again: the daemon still answers and is still up
touch "$M"/*.yaml 2>/dev/null
manifest good3 "  restartPolicy: Never
  containers:
  - {name: c, image: $IMG, command: [sh, -c, 'echo fine']}"
check "a pod added after the rescan runs" good3 60 '.status.phase == "Succeeded"'
kill -0 "$DAEMON_PID" && ok || bad "the daemon died on the rescan"

# ---- a manifest's own metadata.uid names directories (issue 19): ".." once made removing the
# pod remove the whole root dir. Refused, naming the field; the node's state survives its removal.
declare -A UIDS=([uiddots]='..' [uidclimb]='../../tmp' [uiddot]='.')
for name in "${!UIDS[@]}"; do
        printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, uid: "%s"}\nspec:\n  containers:\n  - {name: c, image: %s, command: [sleep, "100000"]}\n' \
                "$name" "${UIDS[$name]}" "$IMG" >"$M/$name.yaml"
done
sleep 3
for name in "${!UIDS[@]}"; do
        grep -F "$name.yaml" "$T/daemon.log" | grep -qF 'metadata.uid: Invalid value' && ok || bad "daemon log: $name.yaml not refused for its metadata.uid"
done
rm -f "$M"/uid*.yaml
sleep 3
[ -d "$T/root/images" ] && [ -d "$T/root/pods" ] && ok || bad "the root dir survived the removal of a pod with uid \"..\""
check "good1 still runs after them" good1 10 '.status.phase == "Running"'
finish
