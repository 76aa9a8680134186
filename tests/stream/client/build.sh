#!/usr/bin/env bash
# Build the interop client (main.go here: client-go's remotecommand executors and
# port-forward dialers, as kubectl builds them) from the Go module proxy at the client-go release
# pinned below. The binary is cached outside the checkout, keyed by the release and the source's
# hash, so a machine builds it once per change (like tests/cluster/build-control-plane.sh).
#
# Usage: tests/stream/client/build.sh        prints the path of the binary
# Env:   CLIENT_GO_VERSION (default below), NODELET_STREAM_CLIENT_CACHE
#        (default /var/cache/nodelet-stream-client)
set -euo pipefail
cd "$(dirname "$0")"

VERSION=${CLIENT_GO_VERSION:-v0.37.2}
CACHE=${NODELET_STREAM_CLIENT_CACHE:-/var/cache/nodelet-stream-client}
src=$PWD/main.go
hash=$(sha256sum "$src" | cut -c1-12)
out="$CACHE/$VERSION-$hash"

if [ -x "$out/stream-client" ]; then
        echo "$out/stream-client"
        exit 0
fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "build-client: go not found" >&2; exit 1; }
[ -n "${HOME:-}" ] || export HOME=/root
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/nodelet-stream-client.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src" "$work/main.go"
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
go mod init nodelet.test/stream-client >/dev/null 2>&1
# client-go and the staging modules it imports, all at the same release
go get "k8s.io/client-go@$VERSION" "k8s.io/apimachinery@$VERSION" "k8s.io/streaming@$VERSION" >&2
go mod tidy >&2
mkdir -p "$out.tmp"
go build -ldflags "-s -w" -o "$out.tmp/stream-client" .
go list -m k8s.io/client-go k8s.io/apimachinery k8s.io/streaming github.com/moby/spdystream \
        github.com/gorilla/websocket >"$out.tmp/modules.txt"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-client: built in $(( $(date +%s) - start )) s into $out" >&2
echo "$out/stream-client"
