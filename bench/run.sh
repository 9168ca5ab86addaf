#!/usr/bin/env bash
# Side-by-side benchmark: otad (tcpboot) and nginx (HTTP, sendfile) serving the
# same 1 MiB image to N concurrent devices, in one run. Prints a table and the
# ratios otad/nginx. Usage: bench/run.sh [tcpboot] [--reps R] [N ...]  (default 100 500 1000)
#                        bench/run.sh https [--reps R] [--n N ...]     (HTTP/HTTPS vs nginx, lighttpd)
#                        bench/run.sh fleet [--reps R] [--devices N]   (fleet reboot: max_downloads 50 vs no cap)
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/debian-deps.sh nginx-light lighttpd lighttpd-mod-mbedtls
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DOTAD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target otad otactl otad-sim otad-cipher-speed otad-decide-cost >/dev/null
case "${1:-tcpboot}" in
  https) shift; exec python3 bench/bench_https.py --build build-bench "$@" ;;
  fleet) shift; exec python3 bench/fleet_reboot.py --build build-bench "$@" ;;
  tcpboot) [ $# -gt 0 ] && shift; exec python3 bench/bench.py --build build-bench "$@" ;;
  *) exec python3 bench/bench.py --build build-bench "$@" ;;
esac
