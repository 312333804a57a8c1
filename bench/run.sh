#!/usr/bin/env bash
# The benchmark in one command: installs what is missing (wrk, nginx, ...), builds Release
# with the benchmarks, and prints the table (see bench/run_bench.py --help for options).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec python3 bench/run_bench.py "$@"
