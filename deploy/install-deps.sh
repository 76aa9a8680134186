#!/usr/bin/env bash
# Installs what building, running and testing nodelet needs on Debian 12 (bookworm): the
# build libraries, the OCI runtimes (crun, runc), the CNI plugins and iptables. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: run as root (apt-get)" >&2
        exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
        build-essential pkg-config git ca-certificates \
        libcurl4-openssl-dev libyaml-dev libjansson-dev libsystemd-dev libseccomp-dev libssl-dev libarchive-dev \
        crun runc containernetworking-plugins iptables \
        >/dev/null
# Optional: clang and its runtime for `make fuzz` (libFuzzer); not needed by `make check`.
if [ "${WITH_FUZZ:-0}" = 1 ]; then
        apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
echo "install-deps.sh: build and runtime dependencies installed"
