#!/usr/bin/env bash
# Builds every fuzz target with clang's libFuzzer (plus ASan and UBSan) and
# runs each for SECONDS (default 30), one after the other, each from a copy of
# its seed corpus (the repository's corpus is never written). Prints one line
# per target: executions, corpus size, and ok or the crash file. Exits 1 if
# any target crashed, leaked or trapped.
# Usage: tests/fuzz/run.sh [SECONDS] [target ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
shift || true
contrib/debian-deps.sh clang >/dev/null
build=${OTAD_FUZZ_BUILD:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAD_FUZZ=ON >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^set(FUZZ_TARGETS \(.*\))$/\1/p' tests/CMakeLists.txt | tr ' ' '\n')
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/crash"
  cp -r "tests/fuzz/corpus/$t/." "$work/$t/corpus/" 2>/dev/null || true
  seeds=()
  [ "$t" = fuzz_inspect ] && [ -d ../shared/fixtures/firmware ] && seeds=(../shared/fixtures/firmware)
  if "$build/tests/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="$work/$t/crash/" "$work/$t/corpus" "${seeds[@]}" >"$work/$t/log" 2>&1; then
    verdict=ok
  else
    verdict="FAILED: $(ls "$work/$t/crash" | head -1)"
    failed=1
    mkdir -p fuzz-crashes && cp -r "$work/$t/crash/." fuzz-crashes/ 2>/dev/null || true
    tail -40 "$work/$t/log" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log" | tail -1)
  printf '%-18s %8s s  %12s executions  %6s inputs in corpus  %s\n' "$t" "$secs" "${runs:-?}" \
    "$(ls "$work/$t/corpus" | wc -l)" "$verdict"
done
exit $failed
