#!/usr/bin/env bash
# otad's footprint per architecture: the stripped binary built -Os
# (MinSizeRel, shared libraries), the libraries it needs and their sizes,
# and its memory (bench/footprint.py): natively for the build machine, under
# qemu-user for the others (there the per-connection slopes are the guest's;
# absolute figures include the emulator).
# Usage: bench/footprint.sh [native] [armhf] [mipsel] [s390x]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
archs=("$@")
[ ${#archs[@]} -eq 0 ] && archs=(native armhf mipsel s390x)
# The host's build: its otad is "native", its otactl prepares every run.
cmake -S . -B build-fp -DCMAKE_BUILD_TYPE=MinSizeRel -DOTAD_TESTS=OFF >/dev/null
cmake --build build-fp -j"$(nproc)" --target otad otactl >/dev/null
for arch in "${archs[@]}"; do
  echo "== $arch"
  if [ "$arch" = native ]; then
    triplet=$(gcc -dumpmachine)
    dir=build-fp strip=strip prefix="" libdir=/usr/lib/$triplet
  else
    OTAD_CROSS_TESTS=0 OTAD_CROSS_TYPE=MinSizeRel contrib/cross.sh "$arch" >/dev/null
    case "$arch" in
      armhf) triplet=arm-linux-gnueabihf q=qemu-arm-static ;;
      mipsel) triplet=mipsel-linux-gnu q=qemu-mipsel-static ;;
      s390x) triplet=s390x-linux-gnu q=qemu-s390x-static ;;
    esac
    dir=build-$arch-MinSizeRel strip=$triplet-strip prefix="$q -L /usr/$triplet" libdir=/usr/lib/$triplet
  fi
  "$strip" -o "$dir/otad.stripped" "$dir/otad"
  size=$(stat -c %s "$dir/otad.stripped")
  echo "stripped otad: $size bytes ($((size / 1024)) KiB), $( (file -b "$dir/otad" 2>/dev/null || echo "file(1) not installed") | cut -d, -f1-2)"
  echo "shared libraries it needs (stripped sizes as Debian ships them):"
  for lib in $(readelf -d "$dir/otad" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    path=$(find "$libdir" "/usr/$triplet/lib" .deps -name "$lib" 2>/dev/null | head -1 || true)
    [ -n "$path" ] && printf '  %-28s %8d bytes\n' "$lib" "$(stat -L -c %s "$path")" || printf '  %-28s (not found)\n' "$lib"
  done
  python3 bench/footprint.py --otad "$dir/otad" --otactl build-fp/otactl --run-prefix "$prefix"
done
