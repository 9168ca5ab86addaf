#!/usr/bin/env bash
# The attacks of tests/integration/test_hardening.py, each run for SECONDS
# (default 60) while devices of another address download over tcpboot, HTTP
# and HTTPS; prints, per attack, the legitimate downloads' count, p50, p99
# and max. The attacker is 127.0.0.2 (or 127.0.1.x for the attacks from many
# addresses), the devices 127.0.0.1.
# Usage: bench/attack.sh [SECONDS] [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=$(cd "${2:-build}" && pwd)
cd tests/integration
OTAD_ATTACK_SECONDS=$secs OTAD_BIN=$build/otad OTACTL_BIN=$build/otactl OTAD_SIM_BIN=$build/otad-sim \
  python3 -m unittest -v test_hardening.Attacks 2>&1 | grep -E "legitimate downloads|slow readers:|401 in|^(OK|FAILED)"
