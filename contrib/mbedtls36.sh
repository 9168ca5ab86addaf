#!/usr/bin/env bash
# Unpacks Debian trixie's mbedTLS 3.6 (libmbedtls-dev and its three
# libraries, by package name from Debian's own archive) into a private
# prefix, leaving the system's mbedTLS 2.28 alone. Prints the prefix; build
# with cmake -DOTAD_MBEDTLS_PREFIX=<prefix>.
# Usage: contrib/mbedtls36.sh [PREFIX]   (default: .deps/mbedtls36)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(realpath -m "${1:-.deps/mbedtls36}")
if [ -f "$prefix/usr/include/mbedtls/version.h" ]; then echo "$prefix"; exit 0; fi
arch=$(dpkg --print-architecture)
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$prefix"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  >"$apt_dir/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Architecture=$arch"
      -o APT::Sandbox::User=root)
apt-get -qq "${opts[@]}" update >&2
(cd "$apt_dir" && apt-get -qq "${opts[@]}" download libmbedtls-dev libmbedcrypto16 libmbedtls21 libmbedx509-7 >&2)
for deb in "$apt_dir"/*.deb; do dpkg -x "$deb" "$prefix"; done
grep -q 'MBEDTLS_VERSION_STRING *"3\.6' "$prefix/usr/include/mbedtls/build_info.h" ||
  { echo "mbedtls36.sh: $prefix does not hold mbedTLS 3.6" >&2; exit 1; }
echo "$prefix"
