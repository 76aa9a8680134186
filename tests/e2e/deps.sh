#!/bin/sh
# What tests/e2e needs beyond the fixtures' packages (tests/fixtures/deps.sh: docker-registry,
# skopeo, jq, ...): mmdebstrap for the agnhost image's Debian root file system, bzip2 and make
# for the busybox build, python3 for the report. Idempotent: apt-get runs only when something
# is missing.
set -eu
cd "$(dirname "$0")/../.."
tests/fixtures/deps.sh
missing=""
for p in mmdebstrap bzip2 make gcc libc6-dev python3 iproute2 openssl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "e2e deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
