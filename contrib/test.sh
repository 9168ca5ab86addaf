#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs every test under CTest:
# unit tests, fuzz-corpus replays and loopback tests of the real binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/debian-deps.sh gnutls-bin  # a third TLS client for the HTTPS tests
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAD_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
