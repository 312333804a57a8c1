#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds Release and runs every test through
# CTest, then builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit,
# store and integration tests again there. Set AUTHGATE_SKIP_SANITIZERS=1 to skip that pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
(cd build && ctest --output-on-failure --timeout 900)
if [ "${AUTHGATE_SKIP_SANITIZERS:-0}" != "1" ]; then
  scripts/build.sh asan
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure --timeout 1200 -E peers)
fi
