#!/usr/bin/env python3
"""A/B of the event loops' yield (server.yield_after_us): the default, a loop that has been busy
for 250 µs without waiting for I/O yields its core once, against never yielding (0).

Alternates A and B servers on one seeded store, each running (a) (verify, HS256, 64
connections, as bench/run_bench.py) --rounds times with an nginx run before each round; prints
each server's median p99, median req/s and ratio to nginx, then the means per mode. Needs a
Release build (bench/run.sh builds one). Usage: python3 bench/ab_yield.py [--pairs N]
"""
import argparse
import os
import time

import run_bench

MODES = {"yield 250us": "250", "never": "0"}


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="verify runs per server")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    options = parser.parse_args()
    bench = run_bench.Bench(argparse.Namespace(accounts=1200, sessions=1000, duration=options.duration,
                                               rounds=options.rounds, quick=True))
    runs = {mode: [] for mode in MODES}
    try:
        bench.seed()
        bench.start_nginx()
        sessions = None
        for pair in range(options.pairs):
            order = list(MODES) if pair % 2 == 0 else list(reversed(MODES))
            for mode in order:
                bench.env["AUTHGATE_SERVER_YIELD_AFTER_US"] = MODES[mode]
                bench.start_authgate("HS256")
                try:
                    time.sleep(0.5)
                    if sessions is None:  # the tokens stay valid across restarts (same store)
                        sessions = bench.login_all(bench.take_accounts(1000))
                    result = bench.paired(lambda: run_bench.wrk(
                        bench.port, os.path.join(run_bench.HERE, "wrk/verify.lua"),
                        [bench.verify_file(sessions)], duration=options.duration))
                finally:
                    bench.stop_authgate()
                runs[mode].append(result)
                print("%-12s p99 %5.2f ms (rounds %s)  %7.0f req/s  %.2f x nginx%s" % (
                    mode, result["p99_ms"], result["p99_rounds"], result["rps"], result["ratio"],
                    "  NON-2xx: %d" % result["non2xx"] if result["non2xx"] else ""), flush=True)
        for mode, results in runs.items():
            print("%-12s mean p99 %5.2f ms, median of all rounds %5.2f ms; mean %.2f x nginx" % (
                mode, sum(r["p99_ms"] for r in results) / len(results),
                median([p for r in results for p in r["p99_rounds"]]),
                sum(r["ratio"] for r in results) / len(results)))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
