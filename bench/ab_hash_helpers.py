#!/usr/bin/env python3
"""A/B of where a login's Argon2id runs: authgate-hasher helper processes (the default) against
hashing on the server's own worker threads (what `serve` falls back to when the helper binary
is missing, which this script arranges by moving it aside for the B runs).

Alternates A and B runs of (c), logins at saturation, each with its bound measured just before
(as bench/run_bench.py does), on one seeded store; prints each run and the means. Needs a
Release build (bench/run.sh builds one). Usage: python3 bench/ab_hash_helpers.py [--pairs N]
"""
import argparse
import os
import time

import run_bench


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    options = parser.parse_args()
    bench = run_bench.Bench(argparse.Namespace(accounts=10000, sessions=10, duration=options.duration,
                                               rounds=1, quick=False))
    hasher = os.path.join(run_bench.REPO, "build", "authgate-hasher")
    runs = {"helpers": [], "threads": []}
    try:
        bench.seed()
        for pair in range(options.pairs):
            order = ("helpers", "threads") if pair % 2 == 0 else ("threads", "helpers")
            for mode in order:
                if mode == "threads":
                    os.rename(hasher, hasher + ".aside")
                try:
                    bench.start_authgate("HS256")
                    time.sleep(0.5)
                    result = bench.login_rounds(16)
                finally:
                    bench.stop_authgate()
                    if mode == "threads":
                        os.rename(hasher + ".aside", hasher)
                runs[mode].append(result)
                print("%-8s %5.1f logins/s  %.2f of the bound" % (mode, result["rps"], result["ratio_bound"]),
                      flush=True)
        for mode, results in runs.items():
            print("%-8s mean %5.1f logins/s, %.2f of the bound" % (
                mode, sum(r["rps"] for r in results) / len(results),
                sum(r["ratio_bound"] for r in results) / len(results)))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
