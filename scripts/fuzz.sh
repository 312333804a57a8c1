#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for a
# bounded time on a copy of its seed corpus (tests/fuzz/corpus/<target>).
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Exits non-zero on the first crash, leak or sanitizer report; the reproducer is kept in
# build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAUTHGATE_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_requests fuzz_jwt fuzz_base32 fuzz_config fuzz_http
mkdir -p build-fuzz/findings
total=0
for target in requests jwt base32 config http; do
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$target/." "$work/"
  echo "fuzz_$target: ${seconds}s"
  (cd build-fuzz/findings &&
    ASAN_OPTIONS=detect_leaks=1 ../tests/fuzz/fuzz_$target -max_total_time="$seconds" \
      -max_len=20000 -print_final_stats=1 "$work" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY|Done" || true)
  rm -rf "$work"
  if ls build-fuzz/findings/crash-* build-fuzz/findings/leak-* build-fuzz/findings/timeout-* >/dev/null 2>&1; then
    echo "fuzz_$target found a problem: see build-fuzz/findings/" >&2
    exit 1
  fi
  total=$((total + seconds))
done
echo "fuzzing: 5 targets, ${total}s in total, no findings"
echo "fuzz: 5 passed, 0 failed"
