#!/usr/bin/env bash
# Cross-builds otad for ARCH (armhf, mipsel: 32-bit little-endian; s390x:
# 64-bit big-endian) with Debian's cross toolchain and the :ARCH -dev
# packages, then runs the whole CTest suite with every target binary under
# qemu-user (the test harness and the real clients, curl and openssl, run
# natively on loopback). Extra arguments go to ctest.
# Usage: contrib/cross.sh ARCH [ctest args...]
# OTAD_CROSS_TYPE (default RelWithDebInfo) and OTAD_CROSS_TESTS=0 (build
# otad and otactl only, no tests: bench/footprint.sh) change the build.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: contrib/cross.sh armhf|mipsel|s390x [ctest args]}
shift
case "$arch" in
  armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm-static ;;
  mipsel) triplet=mipsel-linux-gnu qemu=qemu-mipsel-static ;;
  s390x) triplet=s390x-linux-gnu qemu=qemu-s390x-static ;;
  *) echo "cross.sh: unknown architecture $arch (armhf, mipsel, s390x)" >&2; exit 2 ;;
esac
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo dpkg --add-architecture "$arch"
  $sudo apt-get update -qq
fi
contrib/debian-deps.sh "crossbuild-essential-$arch" qemu-user-static \
  "libmbedtls-dev:$arch" "libinih-dev:$arch" "libgtest-dev:$arch"
# otactl's libcurl pulls in libssl3, which must be the host's very version;
# where the archive lags for this architecture (Debian's registry here serves
# no bookworm-security for s390x) otactl is left out and the tests drive the
# host's otactl instead: the files it writes are the same on every host.
host_ctl=()
# Debian bookworm's qemu-s390x (7.2) aborts in the start-up of any
# dynamically linked s390x program ("stack smashing detected" before main,
# a C hello world included); static ones run. So s390x is linked statically.
static=()
[ "$arch" = s390x ] && static=(-DOTAD_STATIC=ON)
if ! contrib/debian-deps.sh "libcurl4-openssl-dev:$arch" 2>/dev/null; then
  echo "cross.sh: libcurl4-openssl-dev:$arch cannot sit beside the host's; the tests use the host's otactl" >&2
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target otactl >/dev/null
  host_ctl=(-DOTAD_HOST_OTACTL="$PWD/build/otactl")
fi
# libevent-dev cannot sit beside the build machine's own (its event-config.h
# differs by architecture): the target's is unpacked into .deps/ instead,
# with its library, and found through its .pc file and the build's RPATH.
deps=$PWD/.deps/cross-$arch
if [ ! -f "$deps/usr/include/event2/event.h" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get -qq -o APT::Sandbox::User=root download "libevent-dev:$arch" "libevent-core-2.1-7:$arch")
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$deps"; done
  rm -rf "$tmp"
  sed -i "s|^prefix=/usr|prefix=$deps/usr|" "$deps/usr/lib/$triplet/pkgconfig/"*.pc
fi
type=${OTAD_CROSS_TYPE:-RelWithDebInfo}
tests=${OTAD_CROSS_TESTS:-1}
build="build-$arch"
[ "$tests" = 0 ] && build="build-$arch-$type"
export PKG_CONFIG_LIBDIR="$deps/usr/lib/$triplet/pkgconfig:/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig" PKG_CONFIG_PATH=
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="$type" -DOTAD_WERROR=ON -DOTAD_TESTS="$([ "$tests" = 0 ] && echo OFF || echo ON)" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/contrib/cross/toolchain.cmake" -DOTAD_TRIPLET="$triplet" -DOTAD_QEMU="$qemu" \
  "${host_ctl[@]}" "${static[@]}" >/dev/null
if [ "$tests" = 0 ]; then
  cmake --build "$build" -j"$(nproc)" --target otad
  exit 0
fi
cmake --build "$build" -j"$(nproc)"
if command -v file >/dev/null; then file "$build/otad"; fi
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")
