#!/usr/bin/env bash
# Installs the Debian packages otad needs to build and test, if any is missing.
# Usage: contrib/debian-deps.sh [extra-package ...]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libevent-dev libmbedtls-dev libinih-dev
      libgtest-dev nlohmann-json3-dev libcurl4-openssl-dev python3 util-linux procps curl openssl "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
