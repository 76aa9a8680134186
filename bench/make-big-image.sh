#!/usr/bin/env bash
# A bigger test image for the pull and unpack figures, as an OCI layout, made the way
# tests/fixtures/make-images.sh makes the fixtures (reproducible tar, gzip -n, jq; no image
# tooling): random content, so compression gains nothing and the bytes on the wire are the
# bytes unpacked.
#   bench/make-big-image.sh OUTDIR [MIB]
# Writes OUTDIR/layout with one tag, big:latest, of three layers (MIB in all, default 64):
#   1. two large files, three quarters of MIB: streaming throughput
#   2. 4 KiB files, a quarter of MIB (256 a directory): the per-file cost (create, write,
#      chown, chmod, utimes)
#   3. a busybox-static /bin (the fixture's binary), so the image could run
# and OUTDIR/big.env: BIG_REF_TAG, BIG_LAYER_BYTES (compressed, the bytes pulled),
# BIG_UNPACKED_BYTES, BIG_FILES.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
OUT=${1:?usage: make-big-image.sh OUTDIR [MIB]}
MIB=${2:-64}
BUSYBOX=${BUSYBOX:-/bin/busybox}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$W"' EXIT
L=$OUT/layout
rm -rf "$L"
mkdir -p "$L/blobs/sha256"

sha() { sha256sum "$1" | cut -d' ' -f1; }
put() { # FILE -> DIGEST, SIZE
        local h
        h=$(sha "$1")
        SIZE=$(stat -c %s "$1")
        DIGEST=sha256:$h
        mv -f "$1" "$L/blobs/sha256/$h"
}
# shellcheck disable=SC2054 # the commas belong to --pax-option
TAR_OPTS=(--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
        --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 --no-xattrs --no-acls --no-selinux)
LAYERS='[]' DIFF_IDS='[]' LAYER_BYTES=0 UNPACKED=0 FILES=0
layer() { # DIR
        local t=$W/layer.tar
        tar -C "$1" "${TAR_OPTS[@]}" -cf "$t" .
        local diff
        diff=sha256:$(sha "$t")
        UNPACKED=$((UNPACKED + $(du -sb --apparent-size "$1" | cut -f1)))
        FILES=$((FILES + $(find "$1" -mindepth 1 | wc -l)))
        gzip -n -1 -c "$t" >"$W/layer.tgz"
        rm -f "$t"
        put "$W/layer.tgz"
        LAYER_BYTES=$((LAYER_BYTES + SIZE))
        LAYERS=$(jq -c --arg d "$DIGEST" --argjson s "$SIZE" '. + [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s}]' <<<"$LAYERS")
        DIFF_IDS=$(jq -c --arg d "$diff" '. + [$d]' <<<"$DIFF_IDS")
        rm -rf "$1"
}

big=$((MIB * 1024 * 1024 * 3 / 4 / 2)) # 1: two files, three quarters of MIB
mkdir -p "$W/l1/data"
head -c "$big" /dev/urandom >"$W/l1/data/a.bin"
head -c "$big" /dev/urandom >"$W/l1/data/b.bin"
layer "$W/l1"

n=$((MIB / 4)) # 2: a quarter of MIB in 4 KiB files, 256 (1 MiB) a directory
[ "$n" -ge 1 ] || n=1
for d in $(seq -f 'd%03g' 1 "$n"); do
        mkdir -p "$W/l2/small/$d"
        head -c 1048576 /dev/urandom | (cd "$W/l2/small/$d" && split -a 3 -d -b 4096 - f)
done
layer "$W/l2"

mkdir -p "$W/l3/bin" # 3: busybox
install -m 0755 "$BUSYBOX" "$W/l3/bin/busybox"
ln -s busybox "$W/l3/bin/sh"
layer "$W/l3"

case $(uname -m) in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;; esac
jq -cnj --arg a "$ARCH" --argjson d "$DIFF_IDS" '{created: "1970-01-01T00:00:00Z", architecture: $a, os: "linux",
        config: {Env: ["PATH=/bin"], Cmd: ["sh"]}, rootfs: {type: "layers", diff_ids: $d}}' >"$W/config"
put "$W/config"
jq -cnj --arg c "$DIGEST" --argjson cs "$SIZE" --argjson l "$LAYERS" '{schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: $l}' >"$W/manifest"
put "$W/manifest"
jq -cn --arg d "$DIGEST" --argjson s "$SIZE" '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "big:latest"}}]}' >"$L/index.json"
echo '{"imageLayoutVersion": "1.0.0"}' >"$L/oci-layout"
cat >"$OUT/big.env" <<E
BIG_REF_TAG=big:latest
BIG_LAYER_BYTES=$LAYER_BYTES
BIG_UNPACKED_BYTES=$UNPACKED
BIG_FILES=$FILES
E
cat "$OUT/big.env"
