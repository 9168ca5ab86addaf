#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs every test under CTest:
# unit tests, fuzz-corpus replays and loopback tests of the real binaries.
# Then the same tests again on a build with AddressSanitizer and UBSan, where
# any report fails its test (OTAD_TEST_SANITIZE=0 leaves that pass out), and
# on a build against mbedTLS 3.6 with TLS 1.3 (Debian trixie's packages,
# unpacked into .deps/ by contrib/mbedtls36.sh; OTAD_TEST_MBEDTLS36=0 leaves
# it out), and cross-built for the architectures in OTAD_TEST_CROSS (default
# "armhf mipsel s390x", as CI runs it; empty leaves them out), each run under qemu
# by contrib/cross.sh. Last, every fuzz target under libFuzzer for
# OTAD_TEST_FUZZ seconds each (default 30; 0 leaves it out), by tests/fuzz/run.sh.
# Extra arguments go to both ctest runs (e.g. -R https).
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/debian-deps.sh gnutls-bin shellcheck systemd hostapd eapoltest  # a third TLS client; the packaging checks; a RADIUS server and its test client
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAD_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
if [ "${OTAD_TEST_SANITIZE:-1}" != 0 ]; then
  echo "== again under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOTAD_WERROR=ON \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" >/dev/null
  cmake --build build-asan -j"$(nproc)"
  (cd build-asan && ctest --output-on-failure -j"$(nproc)" "$@")
fi
if [ "${OTAD_TEST_MBEDTLS36:-1}" != 0 ]; then
  echo "== again against mbedTLS 3.6, TLS 1.3 on (build-mbedtls36)"
  prefix=$(contrib/mbedtls36.sh)
  cmake -S . -B build-mbedtls36 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAD_WERROR=ON -DOTAD_MBEDTLS_PREFIX="$prefix" >/dev/null
  cmake --build build-mbedtls36 -j"$(nproc)"
  (cd build-mbedtls36 && ctest --output-on-failure -j"$(nproc)" "$@")
fi
for arch in ${OTAD_TEST_CROSS-armhf mipsel s390x}; do
  echo "== cross-built for $arch, run under qemu-$arch-static (build-$arch)"
  contrib/cross.sh "$arch" "$@"
done
if [ "${OTAD_TEST_FUZZ:-30}" != 0 ]; then
  echo "== every fuzz target under libFuzzer, ${OTAD_TEST_FUZZ:-30} s each (build-fuzz)"
  tests/fuzz/run.sh "${OTAD_TEST_FUZZ:-30}"
fi
