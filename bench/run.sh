#!/usr/bin/env bash
# Side-by-side benchmark: otad (tcpboot) and nginx (HTTP, sendfile) serving the
# same 1 MiB image to N concurrent devices, in one run. Prints a table and the
# ratios otad/nginx. Usage: bench/run.sh [N ...]   (default 100 500 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/debian-deps.sh nginx-light
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DOTAD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target otad otactl otad-sim >/dev/null
exec python3 bench/bench.py --build build-bench "$@"
