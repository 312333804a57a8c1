#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds Release and runs every test through
# CTest; then builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs them again
# (all but the oathtool/curl peers test); then the concurrency-heavy suites under
# ThreadSanitizer; then every libFuzzer target (60 s each in CI, 10 s elsewhere). Set AUTHGATE_SKIP_SANITIZERS=1 to skip the sanitizer and fuzzing passes.
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
  scripts/build.sh tsan
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
     ctest --output-on-failure --timeout 1200 -R 'pg_server|store|service|integration|cluster|hardening|side_channels|store_faults|framing|tls')
  scripts/fuzz.sh "$([ "${CI:-}" = true ] && echo 60 || echo 10)"
fi
