#!/usr/bin/env bash
# Install everything skiff needs to build, test, demo and benchmark, from
# Debian packages only. Idempotent: when every package is already present it
# does nothing (no apt-get update), so `make test` stays fast on a warm machine.
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libev-dev libmsgpack-dev
  libssl-dev libpcre2-dev zlib1g-dev libcmocka-dev"
TEST_PKGS="nginx-light logrotate tinyproxy python3 valgrind clang curl openssl procps"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts packaged daemons on install; the tests start their own.
for svc in nginx tinyproxy; do
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
        $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
    $SUDO pkill -x "$svc" >/dev/null 2>&1 || true
done
