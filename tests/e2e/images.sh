#!/usr/bin/env bash
# The container images the upstream e2e [NodeConformance] tests run, built offline and kept as
# one OCI image layout in a cache outside the checkout; `push` copies them into a local registry
# (tests/fixtures/registry.sh) under the names KUBE_TEST_REPO_LIST maps the tests to.
#
# The images must behave like upstream's, not only carry their names (issue 18):
# - busybox: upstream's busybox image is the busybox 1.37 project build. Debian's binaries (1.35
#   in bookworm, 1.37 in trixie) carry Debian's patch revert-9c143ce..., whose ash drops
#   environment variables with '-' in their names before `env` prints them; the ConfigMap and
#   Secret env tests read exactly such names. So busybox is built here from Debian's source
#   package (trixie's orig tarball = the busybox.net 1.37.0 release) without Debian's patches,
#   with busybox's own defconfig, static.
# - agnhost: the agnhost binary of the release (tests/cluster/build-control-plane.sh agnhost) on
#   a minimal Debian root file system made with mmdebstrap from Debian's packages, so the
#   tests' `curl`, `/bin/bash`, `ip`, `nc` exist; the upstream image's extra files (the
#   agnhost-2 link, /uploads, the user and group "defined in image", /var/registry holding
#   pause:testing for `agnhost fake-registry-server`) are made the same way.
# - pause: a static /pause (tests/e2e/pause.c), USER 65535:65535 as upstream's.
# - nonroot (busybox, USER 1234), nonewprivs (busybox + setuid-root /usr/local/bin/nnp built
#   from the release), glibc-dns-testing (the Debian root file system with dnsutils).
# Not built (no test of the default focus runs them; listed in docs/conformance.md): nginx,
# perl, kitten, nautilus, the node-perf, volume and sample-* images, etcd, the CSI images.
#
# Usage: tests/e2e/images.sh build                         prints the layout directory
#        tests/e2e/images.sh push LAYOUT HOST [USER:PASS]  push the plain (or, with
#                                                          credentials, the private) images
#        tests/e2e/images.sh refs LAYOUT                   the references in the layout
# Env:   K8S_VERSION, NODELET_CP_CACHE (build-control-plane.sh); NODELET_E2E_CACHE (default
#        /var/cache/nodelet-e2e)
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_VERSION=${K8S_VERSION:-v1.37.2}
CACHE=${NODELET_E2E_CACHE:-/var/cache/nodelet-e2e}
BB_VERSION=1.37.0

log() { echo "e2e-images: $*" >&2; }
die() { log "$*"; exit 1; }

case $(uname -m) in
x86_64) ARCH=amd64 ;;
aarch64) ARCH=arm64 ;;
*) die "unsupported machine $(uname -m)" ;;
esac

M_INDEX=application/vnd.oci.image.index.v1+json
M_MANIFEST=application/vnd.oci.image.manifest.v1+json
M_CONFIG=application/vnd.oci.image.config.v1+json
M_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
PATHENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- busybox from Debian's source package -------------------------------------------------------

# A private apt configuration for trixie's source index: the machine's own apt state (bookworm)
# is left untouched.
apt_trixie() {
	local d=$CACHE/apt-trixie
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$d/sources.list"
	APT_OPTS=(-o "Dir::Etc::sourcelist=$d/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::State::lists=$d/lists" -o "Dir::Cache=$d/cache" -o "APT::Sandbox::User=root")
	apt-get "${APT_OPTS[@]}" -qq update >/dev/null
}

build_busybox() {
	local out=$CACHE/busybox-$BB_VERSION
	[ -x "$out/busybox" ] && return 0
	local t0 src
	t0=$(date +%s)
	log "busybox $BB_VERSION: Debian's source package (orig tarball, no Debian patches), defconfig, static"
	src=$(mktemp -d "${TMPDIR:-/tmp}/nodelet-busybox.XXXXXX")
	apt_trixie
	(cd "$src" && apt-get "${APT_OPTS[@]}" -qq source --download-only busybox >/dev/null 2>&1) ||
		die "apt-get source busybox (trixie) failed"
	[ -f "$src/busybox_$BB_VERSION.orig.tar.bz2" ] || die "trixie's busybox source is not $BB_VERSION: $(ls "$src")"
	tar -C "$src" -xjf "$src/busybox_$BB_VERSION.orig.tar.bz2"
	(
		cd "$src/busybox-$BB_VERSION"
		make -s defconfig >/dev/null
		# static as upstream's image; tc needs CBQ from kernel headers that bookworm's no
		# longer have (Debian patches it out too)
		sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' \
			-e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' \
			-e 's/^CONFIG_FEATURE_TC_INGRESS=y/# CONFIG_FEATURE_TC_INGRESS is not set/' .config
		yes '' | make -s oldconfig >/dev/null
		make -s -j"$(nproc)" busybox >"$src/build.log" 2>&1 || { tail -20 "$src/build.log" >&2; exit 1; }
	) || die "busybox build failed"
	mkdir -p "$out.tmp"
	cp "$src/busybox-$BB_VERSION/busybox" "$out.tmp/busybox"
	rm -rf "$src" "$out"
	mv "$out.tmp" "$out"
	log "busybox built in $(($(date +%s) - t0)) s"
}

# --- a minimal Debian root file system ----------------------------------------------------------

DEBIAN_PKGS=bash,curl,ca-certificates,iproute2,iputils-ping,netcat-openbsd,socat,bind9-dnsutils,util-linux,procps
build_debian_rootfs() {
	local out=$CACHE/debian-rootfs
	[ -f "$out/done" ] && return 0
	command -v mmdebstrap >/dev/null || die "mmdebstrap missing (tests/e2e/deps.sh)"
	local t0
	t0=$(date +%s)
	log "Debian bookworm root file system (mmdebstrap minbase + $DEBIAN_PKGS)"
	rm -rf "$out"
	mkdir -p "$out"
	# docs, man pages and apt lists are dead weight in a test image
	mmdebstrap --quiet --variant=minbase --include="$DEBIAN_PKGS" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
		bookworm "$out/root" >&2 || die "mmdebstrap failed"
	# device nodes are the runtime's to make; removed once mmdebstrap has unmounted its /dev
	# (inside its hooks they are still in use)
	rm -rf "${out:?}/root/dev/"*
	touch "$out/done"
	log "Debian root file system made in $(($(date +%s) - t0)) s ($(du -sh "$out/root" | cut -f1))"
}

# --- OCI layout writing -------------------------------------------------------------------------

# blob_put FILE: into the layout's blob store; sets DIGEST and SIZE
blob_put() {
	local h
	h=$(sha "$1")
	SIZE=$(stat -c %s "$1")
	DIGEST=sha256:$h
	mv -f "$1" "$BLOBS/$h"
	chmod 0644 "$BLOBS/$h"
}
blob_json() { printf '%s' "$1" >"$WORK/json.tmp" && blob_put "$WORK/json.tmp"; }

# layer DIR: a gzip'd tar of DIR's contents, owners as on disk (numeric); sets LAYER (a JSON
# descriptor) and DIFF_ID
layer() {
	local dir=$1 top=()
	mapfile -t top < <(cd "$dir" && ls -A | sort)
	tar -C "$dir" --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		--sort=name --mtime=@0 --numeric-owner --no-xattrs --no-acls --no-selinux \
		-cf "$WORK/layer.tar" "${top[@]}"
	DIFF_ID=sha256:$(sha "$WORK/layer.tar")
	gzip -n -6 -c "$WORK/layer.tar" >"$WORK/layer.tgz"
	rm -f "$WORK/layer.tar"
	blob_put "$WORK/layer.tgz"
	LAYER=$(jq -cn --arg m "$M_LAYER" --arg d "$DIGEST" --argjson s "$SIZE" --arg id "$DIFF_ID" \
		'{mediaType: $m, digest: $d, size: $s, diffID: $id}')
}

# image REF CONFIG-JSON LAYER-JSON...: config (the image config's "config" object) and layers
# into a manifest; REF is added to the index. Sets MANIFEST (a descriptor).
image() {
	local ref=$1 cfg=$2
	shift 2
	local layers
	layers=$(printf '%s\n' "$@" | jq -cs .)
	blob_json "$(jq -cnj --arg a "$ARCH" --argjson c "$cfg" --argjson l "$layers" \
		'{created: "1970-01-01T00:00:00Z", architecture: $a, os: "linux", config: $c,
		  rootfs: {type: "layers", diff_ids: [$l[].diffID]}}')"
	local cd=$DIGEST cs=$SIZE
	blob_json "$(jq -cnj --arg m "$M_MANIFEST" --arg cm "$M_CONFIG" --arg cd "$cd" --argjson cs "$cs" \
		--argjson l "$layers" '{schemaVersion: 2, mediaType: $m, config: {mediaType: $cm, digest: $cd, size: $cs},
		  layers: [$l[] | {mediaType, digest, size}]}')"
	MANIFEST=$(jq -cn --arg m "$M_MANIFEST" --arg d "$DIGEST" --argjson s "$SIZE" --arg a "$ARCH" \
		'{mediaType: $m, digest: $d, size: $s, platform: {architecture: $a, os: "linux"}}')
	INDEX=$(jq -cn --argjson i "$INDEX" --argjson m "$MANIFEST" --arg r "$ref" \
		'$i + [$m + {annotations: {"org.opencontainers.image.ref.name": $r}}]')
	log "  $ref ($DIGEST)"
}

# registry_dir DIR NAME TAG MANIFEST-DESCRIPTOR: agnhost fake-registry-server's layout
# (/var/registry/NAME/{manifests,blobs}/sha256/XX/HASH/data, the tag a file holding the digest
# of a manifest list), from this layout's blobs
registry_dir() {
	local dir=$1 name=$2 tag=$3 desc=$4 d
	local mdir=$dir/$name/manifests bdir=$dir/$name/blobs
	put() { # BASE DIGEST
		local h=${2#sha256:}
		mkdir -p "$1/sha256/${h:0:2}/$h"
		cp "$BLOBS/$h" "$1/sha256/${h:0:2}/$h/data"
	}
	local mdigest=${desc#*\"digest\":\"}
	mdigest=${mdigest%%\"*}
	put "$mdir" "$mdigest"
	for d in $(jq -r '.config.digest, .layers[].digest' "$BLOBS/${mdigest#sha256:}"); do put "$bdir" "$d"; done
	jq -cnj --arg m "$M_INDEX" --argjson d "$desc" '{schemaVersion: 2, mediaType: $m, manifests: [$d]}' >"$WORK/list.json"
	local lh
	lh=$(sha "$WORK/list.json")
	mkdir -p "$mdir/sha256/${lh:0:2}/$lh"
	mv "$WORK/list.json" "$mdir/sha256/${lh:0:2}/$lh/data"
	echo "sha256:$lh" >"$mdir/$tag"
}

build_images() {
	local cp_bin
	cp_bin=$("$here/../cluster/build-control-plane.sh" agnhost nnp)
	build_busybox
	build_debian_rootfs
	local bb=$CACHE/busybox-$BB_VERSION/busybox
	# the layout is rebuilt when an input changed
	local stamp
	stamp=$(cat "${BASH_SOURCE[0]}" "$here/pause.c" "$bb" "$cp_bin/agnhost" "$cp_bin/nnp" | sha256sum | cut -c1-16)
	OUT=$CACHE/$K8S_VERSION/images
	if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ]; then
		return 0
	fi
	local t0
	t0=$(date +%s)
	log "building the image layout in $OUT"
	mkdir -p "$CACHE/$K8S_VERSION"
	WORK=$(mktemp -d "$CACHE/$K8S_VERSION/.build.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	LAYOUT=$WORK/layout
	BLOBS=$LAYOUT/blobs/sha256
	mkdir -p "$BLOBS"
	INDEX='[]'
	local r=$WORK/root

	# busybox: /bin/busybox and a link per applet, the usual /etc files
	mkdir -p "$r/bb/bin" "$r/bb/etc" "$r/bb/root" "$r/bb/tmp" "$r/bb/home" "$r/bb/var/spool/mail" "$r/bb/var/www" \
		"$r/bb/usr/bin" "$r/bb/usr/sbin" "$r/bb/sbin" "$r/bb/dev" "$r/bb/proc" "$r/bb/sys"
	cp "$bb" "$r/bb/bin/busybox"
	local a
	for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bb/bin/$a"; done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
		'bin:x:2:2:bin:/bin:/bin/false' 'sys:x:3:3:sys:/dev:/bin/false' 'sync:x:4:100:sync:/bin:/bin/sync' \
		'mail:x:8:8:mail:/var/spool/mail:/bin/false' 'www-data:x:33:33:www-data:/var/www:/bin/false' \
		'operator:x:37:37:Operator:/var:/bin/false' 'nobody:x:65534:65534:nobody:/home:/bin/false' >"$r/bb/etc/passwd"
	printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'bin:x:2:' 'sys:x:3:' 'adm:x:4:' 'tty:x:5:' 'disk:x:6:' 'wheel:x:10:root' \
		'mail:x:8:' 'www-data:x:33:' 'operator:x:37:' 'staff:x:50:' 'users:x:100:' 'nogroup:x:65534:' >"$r/bb/etc/group"
	chmod 0700 "$r/bb/root"
	chmod 1777 "$r/bb/tmp"
	layer "$r/bb"
	local bb_layer=$LAYER
	local bb_cfg
	bb_cfg=$(jq -cn --arg p "$PATHENV" '{Env: [$p], Cmd: ["sh"]}')
	image e2e-test-images/busybox:1.37.0-2 "$bb_cfg" "$bb_layer"
	image e2e-test-images/nonroot:1.5 "$(jq -cn --arg p "$PATHENV" '{Env: [$p], Cmd: ["sh"], User: "1234"}')" "$bb_layer"
	mkdir -p "$r/nnp/usr/local/bin"
	cp "$cp_bin/nnp" "$r/nnp/usr/local/bin/nnp"
	chmod 4755 "$r/nnp/usr/local/bin/nnp"
	layer "$r/nnp"
	image e2e-test-images/nonewprivs:1.4 "$(jq -cn --arg p "$PATHENV" '{Env: [$p], Cmd: ["nnp"]}')" "$bb_layer" "$LAYER"

	# pause
	mkdir -p "$r/pause"
	gcc -O2 -static -s -o "$r/pause/pause" "$here/pause.c"
	layer "$r/pause"
	image pause:3.10.2 "$(jq -cn --arg p "$PATHENV" '{Env: [$p], Entrypoint: ["/pause"], User: "65535:65535"}')" "$LAYER"
	local pause_manifest=$MANIFEST

	# Debian base: glibc-dns-testing as it is, agnhost on top
	layer "$CACHE/debian-rootfs/root"
	local deb_layer=$LAYER
	image e2e-test-images/glibc-dns-testing:2.1.1 "$(jq -cn --arg p "$PATHENV" '{Env: [$p], Cmd: ["bash"]}')" "$deb_layer"
	local ag=$r/agnhost k8s
	mkdir -p "$ag/uploads" "$ag/etc" "$ag/var/registry" "$ag/home/user-defined-in-image"
	cp "$cp_bin/agnhost" "$ag/agnhost"
	ln -s agnhost "$ag/agnhost-2"
	# the porter's test certificate ships in the release's source, as upstream's image adds it
	k8s=$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION
	if [ -f "$k8s/test/images/agnhost/porter/localhost.crt" ]; then
		install -m 0644 "$k8s/test/images/agnhost/porter/localhost.crt" "$k8s/test/images/agnhost/porter/localhost.key" "$ag/"
	fi
	cp "$CACHE/debian-rootfs/root/etc/passwd" "$CACHE/debian-rootfs/root/etc/group" "$ag/etc/"
	echo 'user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh' >>"$ag/etc/passwd"
	printf '%s\n' 'user-defined-in-image:x:1000:' 'group-defined-in-image:x:50000:user-defined-in-image' >>"$ag/etc/group"
	chown 1000:1000 "$ag/home/user-defined-in-image"
	registry_dir "$ag/var/registry" pause testing "$pause_manifest"
	layer "$ag"
	local ag_cfg
	ag_cfg=$(jq -cn --arg p "$PATHENV" '{Env: [$p], Entrypoint: ["/agnhost"], Cmd: ["pause"],
		ExposedPorts: {"80/tcp": {}, "8080/tcp": {}, "8081/tcp": {}, "9376/tcp": {}, "5000/tcp": {}}}')
	image e2e-test-images/agnhost:2.66.1 "$ag_cfg" "$deb_layer" "$LAYER"
	image e2e-test-images/agnhost:2.55 "$ag_cfg" "$deb_layer" "$LAYER"
	# the private registry's image (imagePullSecrets tests)
	image k8s-authenticated-test/agnhost:2.6 "$ag_cfg" "$deb_layer" "$LAYER"

	printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
	jq -cnj --arg m "$M_INDEX" --argjson i "$INDEX" '{schemaVersion: 2, mediaType: $m, manifests: $i}' >"$LAYOUT/index.json"
	echo "$stamp" >"$LAYOUT/stamp"
	rm -rf "$OUT"
	mv "$LAYOUT" "$OUT"
	log "image layout built in $(($(date +%s) - t0)) s"
}

refs() { jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$1/index.json"; }

# push LAYOUT HOST [USER:PASS]: with credentials the private registry's images
# (k8s-authenticated-test/...), without the rest
push() {
	local layout=$1 host=$2 creds=${3:-} ref n=0 args=(--dest-tls-verify=false)
	[ -z "$creds" ] || args+=(--dest-creds "$creds")
	for ref in $(refs "$layout"); do
		case $ref in
		k8s-authenticated-test/*) [ -n "$creds" ] || continue ;;
		*) [ -z "$creds" ] || continue ;;
		esac
		skopeo copy -q --preserve-digests "${args[@]}" "oci:$layout:$ref" "docker://$host/$ref" >&2
		n=$((n + 1))
	done
	log "pushed $n images to $host"
}

case ${1:-} in
build)
	[ "$(id -u)" = 0 ] || die "build needs root (mmdebstrap, image file ownership)"
	command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
	# one build at a time: the cache is the machine's
	mkdir -p "$(dirname "$CACHE")"
	exec 9>"$CACHE.lock"
	flock 9
	mkdir -p "$CACHE"
	build_images
	echo "$OUT"
	;;
push)
	[ $# -ge 3 ] || die "usage: $0 push LAYOUT HOST [USER:PASS]"
	push "$2" "$3" "${4:-}"
	;;
refs) refs "$2" ;;
*) die "usage: $0 {build|push LAYOUT HOST [USER:PASS]|refs LAYOUT}" ;;
esac
