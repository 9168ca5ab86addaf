#!/usr/bin/env bash
# Sets up, builds and runs otad on the shipped conf/otad.ini with a demo
# catalog: every ESP32 network bootloader that connects to port 8123 gets
# the demo image. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/debian-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target otad otactl otad-sim
if [ ! -s var/catalog/manifest.ini ]; then
  mkdir -p var
  # A generated, well-formed ESP32 app image (valid header, app description,
  # checksum and SHA-256): the project ships no third-party firmware.
  build/otactl image make -o var/demo-1.0.0.bin --chip esp32 --project demo --version 1.0.0 --size 1048576
  build/otactl --config conf/otad.ini image add var/demo-1.0.0.bin
fi
if [ ! -s var/tls/server.crt ]; then
  # The demo gateway's own CA and server certificate (devices trust var/tls/ca.crt).
  build/otactl --config conf/otad.ini ca init
fi
if [ ! -s var/admin-tokens ]; then
  # An admin API token for the demo, shown this once (the file keeps a salted hash).
  token=$(build/otactl --config conf/otad.ini admin token add demo 2>/dev/null | head -1)
  echo "otad: admin API on 127.0.0.1:8090; token (shown once): export OTAD_TOKEN=$token"
fi
echo "otad: demo catalog on tcpboot port 8123, HTTP 8080, HTTPS 8443 (try: build/otad-sim tcpboot --port 8123 --devices 10;"
echo "      curl -o app.bin http://127.0.0.1:8080/firmware/demo.bin)"
exec build/otad --config conf/otad.ini
