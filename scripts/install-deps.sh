#!/usr/bin/env bash
# Installs every Debian 12 package authgate needs to build, test and benchmark. Idempotent:
# packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache pkg-config python3
  libboost-dev nlohmann-json3-dev libssl-dev libsodium-dev liboath-dev libsqlite3-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libqrencode-dev libpng-dev libpq-dev libargon2-dev libgcrypt20-dev libbotan-2-dev
  libgtest-dev libbenchmark-dev clang libclang-rt-14-dev
  curl oathtool openssl sqlite3 postgresql nginx wrk
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
