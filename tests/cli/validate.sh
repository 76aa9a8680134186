#!/usr/bin/env bash
# CLI tests for `nodelet validate`: exit codes, error line format, --strict, -o json|yaml.
set -u
NODELET=${NODELET:-build/nodelet}
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_rc NAME WANT CMD... : runs CMD, captures stdout/stderr into $T/out and $T/err
expect_rc() {
        local name=$1 want=$2; shift 2
        "$@" >"$T/out" 2>"$T/err"; local rc=$?
        if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit $rc, want $want"; sed 's/^/    /' "$T/out" "$T/err"; fi
}
# expect_line NAME FILE LINE : FILE has LINE exactly
expect_line() {
        if grep -qxF -- "$3" "$2"; then ok; else bad "$1: missing line: $3"; sed 's/^/    /' "$2"; fi
}
expect_no() {
        if grep -qF -- "$3" "$2"; then bad "$1: unexpected: $3"; else ok; fi
}

cat >"$T/good.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  hostNetwork: true
  containers:
  - name: web
    image: busybox
    ports:
    - containerPort: 8080
    resources:
      limits: {cpu: "1.5", memory: 1024Mi}
  volumes:
  - name: cfg
    configMap: {name: cfg, defaultMode: 0600}
Y
cat >"$T/bad.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: c
    image: busybox
    ports:
    - containerPort: 70000
Y
cat >"$T/stream.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: one}
spec: {containers: [{name: a, image: busybox}]}
---
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec: {containers: [{name: a, image: ""}]}
Y
cat >"$T/unknown.json" <<'Y'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "u"},
 "spec": {"containers": [{"name": "a", "image": "busybox", "imagePolicy": "Always"}]}}
Y
cat >"$T/list.yaml" <<'Y'
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec: {containers: [{name: a, image: busybox}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec: {restartPolicy: Sometimes, containers: [{name: a, image: busybox}]}
Y
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n' >"$T/syntax.yaml"

# valid file: exit 0, nothing on stdout
expect_rc valid 0 "$NODELET" validate "$T/good.yaml"
[ -s "$T/out" ] && bad "valid: unexpected output" || ok

# invalid: exit 1, error line with file name and field path
expect_rc invalid 1 "$NODELET" validate "$T/bad.yaml"
expect_line invalid "$T/out" "$T/bad.yaml: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"

# one bad file does not hide the others' results; exit 1
expect_rc mixed 1 "$NODELET" validate "$T/good.yaml" "$T/bad.yaml"

# streams: the document index names the document, empty documents skipped
expect_rc stream 1 "$NODELET" validate "$T/stream.yaml"
expect_line stream "$T/out" "$T/stream.yaml[1]: spec.containers[0].image: Required value"
expect_no stream "$T/out" "[0]:"

# List items carry their items[N] prefix
expect_rc list 1 "$NODELET" validate "$T/list.yaml"
expect_line list "$T/out" "$T/list.yaml: items[1].spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""

# unknown fields: ignored normally, reported with --strict
expect_rc nonstrict 0 "$NODELET" validate "$T/unknown.json"
expect_rc strict 1 "$NODELET" validate --strict "$T/unknown.json"
expect_line strict "$T/out" "$T/unknown.json: unknown field \"spec.containers[0].imagePolicy\""

# YAML syntax error names the line
expect_rc syntax 1 "$NODELET" validate "$T/syntax.yaml"
grep -q "$T/syntax.yaml: .*line" "$T/out" && ok || { bad "syntax: no line in error"; cat "$T/out"; }

# usage and I/O errors: exit 2
expect_rc nofile 2 "$NODELET" validate
expect_rc missing 2 "$NODELET" validate "$T/does-not-exist.yaml"
grep -q "does-not-exist.yaml: No such file or directory" "$T/err" && ok || bad "missing: message"
expect_rc badfmt 2 "$NODELET" validate -o xml "$T/good.yaml"
expect_rc help 0 "$NODELET" validate --help

# -o json prints the defaulted pod; it validates again (round trip) and shows defaults
expect_rc json 0 "$NODELET" validate -o json "$T/good.yaml"
cp "$T/out" "$T/good.json"
for want in '"restartPolicy": "Always"' '"imagePullPolicy": "Always"' '"hostPort": 8080' '"protocol": "TCP"' \
        '"defaultMode": 384' '"cpu": "1500m"' '"memory": "1Gi"' '"terminationGracePeriodSeconds": 30' \
        '"namespace": "default"'; do
        grep -qF -- "$want" "$T/good.json" && ok || bad "json: missing $want"
done
expect_rc roundtrip 0 "$NODELET" validate --strict "$T/good.json"

# -o yaml reads back to the same JSON
expect_rc yaml 0 "$NODELET" validate -o yaml "$T/good.yaml"
cp "$T/out" "$T/good.out.yaml"
expect_rc yaml-roundtrip 0 "$NODELET" validate -o json "$T/good.out.yaml"
cmp -s "$T/out" "$T/good.json" && ok || { bad "yaml round trip differs"; diff "$T/good.json" "$T/out" | head; }

# several pods print as a v1 List
expect_rc jsonlist 0 "$NODELET" validate -o json "$T/good.yaml" "$T/good.json"
grep -qF '"kind": "List"' "$T/out" && ok || bad "jsonlist: no List"

# stdin
expect_rc stdin 1 sh -c "\"$NODELET\" validate - < \"$T/bad.yaml\""
expect_line stdin "$T/out" "-: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"

# oversized file: rejected with a clear message, exit 1
head -c $((3 * 1024 * 1024 + 10)) /dev/zero | tr '\0' '#' >"$T/huge.yaml"
expect_rc huge 1 "$NODELET" validate "$T/huge.yaml"
grep -qF "larger than the 3145728 bytes" "$T/out" && ok || bad "huge: message"

# a Helm-style stream: data kinds validated, kinds static mode does not run named as skipped
cat >"$T/kinds.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: web, image: busybox}]}
Y
expect_rc kinds 0 "$NODELET" validate "$T/kinds.yaml"
expect_line kinds "$T/out" "$T/kinds.yaml[0]: skipped Service \"web\" (v1): static mode runs no such kind"
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {"a b": "%%%%"}\n' >"$T/secret.yaml"
expect_rc bad-secret 1 "$NODELET" validate "$T/secret.yaml"
expect_line bad-secret "$T/out" "$T/secret.yaml: data[a b]: Invalid type: expected a base64 string"

# the examples shipped in deploy/examples are valid
for f in deploy/examples/*.yaml; do
        [ -e "$f" ] || continue
        expect_rc "example $f" 0 "$NODELET" validate --strict "$f"
done

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
