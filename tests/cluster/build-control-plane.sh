#!/usr/bin/env bash
# Build the real Kubernetes pieces the cluster-mode tests run against or with, from the Go
# module proxy, at the release pinned below: by default the control plane of
# tests/cluster/cluster.sh (kube-apiserver, kubectl, etcd); named on the command line, also
# kube-controller-manager, kube-scheduler, the upstream e2e suite (e2e.test) and its agnhost
# image's binary (tests/e2e/). Binaries are cached outside the checkout, keyed by version, so a
# machine builds each once.
#
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every staging module with a
# local directory), so a throw-away wrapper module requires it and pins each staging module
# (every k8s.io/* that the release requires at v0.0.0) to the matching v0.x tag. etcd's server
# is already in that module graph (kube-apiserver's tests depend on it), so the same wrapper
# builds it at the version the release itself uses.
#
# Usage: tests/cluster/build-control-plane.sh [BINARY...]   prints the directory holding them
#        BINARY: kube-apiserver kubectl etcd (the default set) kube-controller-manager
#                kube-scheduler kubeadm e2e.test agnhost nnp (the nonewprivs image's binary) ginkgo
#                (the CLI that runs e2e.test in parallel, at the version the release uses)
# Env:   K8S_VERSION (default below), NODELET_CP_CACHE (default /var/cache/nodelet-control-plane)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
CACHE=${NODELET_CP_CACHE:-/var/cache/nodelet-control-plane}
out="$CACHE/$K8S_VERSION"

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(kube-apiserver kubectl etcd)
for b in "${want[@]}"; do
        case $b in
        kube-apiserver | kubectl | etcd | kube-controller-manager | kube-scheduler | kubeadm | e2e.test | agnhost | nnp | ginkgo) ;;
        *) echo "build-control-plane: unknown binary $b" >&2; exit 2 ;;
        esac
done
# missing: the wanted binaries not in the cache yet
missing() {
        local b
        for b in "${want[@]}"; do [ -x "$out/$b" ] || echo "$b"; done
}
if [ -z "$(missing)" ]; then
        echo "$out"
        exit 0
fi
# One build at a time per version: the cache is the machine's, and two suites started together
# (make test-cluster beside make e2e) would otherwise both spend many minutes on the same build.
mkdir -p "$CACHE"
exec 9>"$CACHE/$K8S_VERSION.lock"
flock 9
mapfile -t todo < <(missing)
if [ ${#todo[@]} -eq 0 ]; then
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
# pkg_of BINARY: the Go package it is built from
pkg_of() {
        case $1 in
        etcd) echo go.etcd.io/etcd/server/v3 ;;
        e2e.test) echo k8s.io/kubernetes/test/e2e ;;
        agnhost) echo k8s.io/kubernetes/test/images/agnhost ;;
        nnp) echo k8s.io/kubernetes/test/images/nonewprivs ;;
        ginkgo) echo github.com/onsi/ginkgo/v2/ginkgo ;;
        *) echo "k8s.io/kubernetes/cmd/$1" ;;
        esac
}
{
        printf '//go:build tools\n\npackage tools\n\nimport (\n'
        for b in "${todo[@]}"; do printf '\t_ "%s"\n' "$(pkg_of "$b")"; done
        printf ')\n'
} >tools.go
echo "build-control-plane: resolving ${todo[*]} from k8s.io/kubernetes $K8S_VERSION (staging $staging_ver, etcd $etcd_ver)" >&2
go mod tidy -e >/dev/null 2>&1 || true
go get "k8s.io/kubernetes@$K8S_VERSION" "go.etcd.io/etcd/server/v3@$etcd_ver" >&2

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
tmp="$out.tmp.$$"
mkdir -p "$tmp" "$out"
trap 'rm -rf "$work" "$tmp"' EXIT
for b in "${todo[@]}"; do
        t0=$(date +%s)
        case $b in
        etcd | ginkgo) go build -ldflags "-s -w" -o "$tmp/$b" "$(pkg_of "$b")" ;;
        # the e2e suite is a test binary; upstream builds it the same way (go test -c)
        e2e.test) go test -c -tags selinux,notest -ldflags "$ldflags" -o "$tmp/$b" "$(pkg_of "$b")" ;;
        # these run inside test images (tests/e2e/images.sh): static, no cgo
        agnhost | nnp) go build -ldflags "$ldflags" -o "$tmp/$b" "$(pkg_of "$b")" ;;
        *) go build -tags selinux,notest -ldflags "$ldflags" -o "$tmp/$b" "$(pkg_of "$b")" ;;
        esac
        # each binary lands whole (rename), so a cut build never leaves a half file in the cache
        mv "$tmp/$b" "$out/$b"
        echo "build-control-plane: $b built in $(( $(date +%s) - t0 )) s" >&2
done
echo "build-control-plane: built ${todo[*]} in $(( $(date +%s) - start )) s into $out" >&2
echo "$out"
