#!/usr/bin/env bash
# Build the real control plane the cluster-mode tests run against: kube-apiserver, kubectl and
# etcd, from the Go module proxy, at the release pinned below. Binaries are cached outside the
# checkout, keyed by version, so a machine builds them once.
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every staging module with a
# local directory), so a throw-away wrapper module requires it and pins each staging module
# (every k8s.io/* that the release requires at v0.0.0) to the matching v0.x tag. etcd's server
# is already in that module graph (kube-apiserver's tests depend on it), so the same wrapper
# builds it at the version the release itself uses.
#
# Usage: tests/cluster/build-control-plane.sh        prints the directory holding the binaries
# Env:   K8S_VERSION (default below), NODELET_CP_CACHE (default /var/cache/nodelet-control-plane)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
CACHE=${NODELET_CP_CACHE:-/var/cache/nodelet-control-plane}
out="$CACHE/$K8S_VERSION"

if [ -x "$out/kube-apiserver" ] && [ -x "$out/kubectl" ] && [ -x "$out/etcd" ]; then
        echo "$out"
        exit 0
fi
# Go lives in /usr/local/go on these machines, not always on a service's PATH
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "build-control-plane: go not found (needed to build kube-apiserver)" >&2; exit 1; }

# go keeps its module and build caches under $HOME; a CI job may run without one
[ -n "${HOME:-}" ] || export HOME=/root
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/nodelet-cp.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0

go mod init nodelet.test/control-plane >/dev/null 2>&1
# The release's own go.mod names its staging modules: each k8s.io/* required at v0.0.0.
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -f "$gomod" ] || { echo "build-control-plane: no go.mod for k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
staging_ver="v0.${K8S_VERSION#v1.}"
staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u)
[ -n "$staging" ] || { echo "build-control-plane: no staging modules found in $gomod" >&2; exit 1; }
for m in $staging; do
        go mod edit -replace "$m=$m@$staging_ver"
done
go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
etcd_ver=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$gomod")
go mod edit -require "go.etcd.io/etcd/server/v3@$etcd_ver"
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
echo "build-control-plane: resolving k8s.io/kubernetes $K8S_VERSION (staging $staging_ver, etcd $etcd_ver)" >&2
go mod tidy -e >/dev/null 2>&1 || true
go get "k8s.io/kubernetes@$K8S_VERSION" "go.etcd.io/etcd/server/v3@$etcd_ver" >&2

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
mkdir -p "$out.tmp"
echo "build-control-plane: building kube-apiserver, kubectl (tags selinux,notest) and etcd $etcd_ver" >&2
go build -tags selinux,notest -ldflags "$ldflags" -o "$out.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -tags selinux,notest -ldflags "$ldflags" -o "$out.tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-control-plane: built in $(( $(date +%s) - start )) s into $out" >&2
echo "$out"
