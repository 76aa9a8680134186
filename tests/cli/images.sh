#!/usr/bin/env bash
# CLI tests for `nodelet images`: pull, ls, inspect, rm, prune, import against a local
# registry and image files built by tests/fixtures. Needs root and tests/fixtures/deps.sh.
set -u
NODELET=${NODELET:-build/nodelet}
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ "$(id -u)" -ne 0 ] || ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
        echo "images-cli: needs root and tests/fixtures/deps.sh; skipped"
        echo "images-cli: 0 passed, 0 failed"
        exit 0
fi

PORT=${IMAGES_CLI_PORT:-15700}
T=$(mktemp -d)
ROOT=$T/root
cleanup() { tests/fixtures/registry.sh stop --port "$PORT" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
tests/fixtures/make-images.sh "$T/img" >"$T/make.log" 2>&1 || { cat "$T/make.log"; exit 1; }
tests/fixtures/registry.sh start --port "$PORT" >"$T/reg.log" 2>&1 || { cat "$T/reg.log"; exit 1; }
tests/fixtures/registry.sh push "$T/img" --port "$PORT" >>"$T/reg.log" 2>&1 || { cat "$T/reg.log"; exit 1; }
. "$T/img/images.env"
REG=127.0.0.1:$PORT
N() { "$NODELET" images --root-dir "$ROOT" "$@"; }

expect() { # NAME WANT_RC CMD...
        local name=$1 want=$2; shift 2
        "$@" >"$T/out" 2>"$T/err"; local rc=$?
        if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit $rc, want $want"; sed 's/^/    /' "$T/out" "$T/err"; fi
}
has() { # NAME FILE FIXED-STRING
        if grep -qF -- "$3" "$2"; then ok; else bad "$1: missing \"$3\""; sed 's/^/    /' "$2"; fi
}

# pull by tag: prints the canonical name and the image id
expect pull 0 N pull "$REG/busybox"
has pull "$T/out" "$REG/busybox:latest sha256:"
ID=$(awk '{print $2}' "$T/out")

# pull by digest, -o json
expect pull-digest 0 N pull -o json "$REG/layered@$DIGEST_LAYERED_LATEST"
has pull-digest "$T/out" "\"id\": \"sha256:"

# an index: this node's platform is chosen
expect pull-index 0 N pull "$REG/multi:latest"

# errors: unknown tag, bad name, registry down
expect pull-unknown 1 N pull "$REG/busybox:nope"
has pull-unknown "$T/err" "manifest unknown"
expect pull-badname 1 N pull "$REG/BusyBox"
has pull-badname "$T/err" "repository name must be lowercase"
expect pull-down 1 N pull "127.0.0.1:1/busybox:latest"

# ls shows names; -o json parses back through `nodelet validate`? no: check fields
expect ls 0 N ls
has ls "$T/out" "$REG/busybox:latest"
has ls "$T/out" "$REG/multi:latest"
expect ls-json 0 N ls -o json
has ls-json "$T/out" "\"repoDigests\""

# inspect: config and layers, by name and by id prefix
expect inspect 0 N inspect "$REG/layered@$DIGEST_LAYERED_LATEST"
has inspect "$T/out" "\"StopSignal\": \"SIGQUIT\""
has inspect "$T/out" "\"WorkingDir\": \"/work\""
has inspect "$T/out" "\"8080/tcp\""
SHORT=$(echo "$ID" | cut -c8-19)
expect inspect-id 0 N inspect "$SHORT"
has inspect-id "$T/out" "$ID"
expect inspect-missing 1 N inspect "$REG/nothing:here"

# rm: the name goes; the image goes with its last name; shared layers stay for others
expect rm 0 N rm "$REG/multi:latest"
expect ls-after-rm 0 N ls
if grep -qF "$REG/multi:latest" "$T/out"; then bad "rm: multi still listed"; else ok; fi
expect rm-missing 1 N rm "$REG/multi:latest"

# import: docker-archive and oci-archive into a fresh store
ROOT=$T/root2
expect import-docker 0 N import "$T/img/busybox-docker.tar"
has import-docker "$T/out" "Imported 1 image"
expect import-oci 0 N import --repo example.com/fixtures "$T/img/busybox-oci.tar"
expect ls-imported 0 N ls
has ls-imported "$T/out" "busybox"
expect import-bad 1 N import "$T/img/images.txt"

# prune removes every image (no containers use them yet)
expect prune 0 N prune
has prune "$T/out" "Removed"
expect ls-empty 0 N ls -o json
has ls-empty "$T/out" "[]"

echo "images-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
