#!/usr/bin/env python3
"""Where the verify path's time goes: runs workload (a) of run_bench.py (verify, HS256, 64
connections, distinct sessions) — or with --workload refresh, (e) (refresh, 64 connections) —
while `perf record` samples the authgate process, then prints the split between kernel and user
space and the hottest user-space symbols.

Needs perf (Debian: linux-perf) and a Release build (bench/run.sh builds one).
"""
import argparse
import os
import subprocess
import threading

from run_bench import HERE, Bench, wrk


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=15, help="seconds sampled")
    parser.add_argument("--workload", choices=("verify", "refresh"), default="verify")
    parser.add_argument("--kernel", action="store_true", help="list kernel symbols too")
    parser.add_argument("--top", type=int, default=40, help="user-space symbols listed")
    parser.add_argument("--callers", action="append", default=[], metavar="SYMBOL",
                        help="also print the call chains into SYMBOL (repeatable)")
    args = parser.parse_args()
    bench = Bench(argparse.Namespace(accounts=args.accounts, sessions=args.sessions,
                                     duration=args.duration, rounds=1, quick=True))
    try:
        bench.seed()
        bench.start_authgate("HS256")
        sessions = bench.login_all(bench.take_accounts(args.sessions))
        data = os.path.join(bench.work, "perf.data")
        if args.workload == "verify":
            script, script_args = "wrk/verify.lua", [bench.verify_file(sessions)]
        else:
            refresh = os.path.join(bench.work, "refresh.txt")
            with open(refresh, "w") as f:
                f.writelines(details["refreshToken"] + "\n" for _, details in sessions[:200])
            script, script_args = "wrk/refresh.lua", [refresh, "2"]
        result = {}
        load = threading.Thread(target=lambda: result.update(wrk(
            bench.port, os.path.join(HERE, script), script_args, duration=args.duration + 2)))
        load.start()
        graph = ["--call-graph", "dwarf,8192", "-F", "1000"] if args.callers else []
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", *graph, "-p",
                        str(bench.server.pid), "-o", data, "--", "sleep", str(args.duration)],
                       check=True)
        load.join()
        print("%s: %.0f req/s, p99 %.2f ms, non-2xx %d" % (
            args.workload, result["rps"], result["p99_ms"], result["non2xx"]))
        report = ["perf", "report", "-i", data, "--no-children", "-g", "none", "--percent-limit",
                  "0.2"]
        for sort in ("dso", "sym"):
            out = subprocess.run(report + ["--sort", sort], capture_output=True, text=True,
                                 check=True).stdout
            lines = [line for line in out.splitlines() if line.strip() and not line.startswith("#")]
            if sort == "sym":
                lines = [line for line in lines if args.kernel or "[k]" not in line][:args.top]
            print("\n".join(line[:150] for line in lines))
            print()
        for symbol in args.callers:
            out = subprocess.run(["perf", "report", "-i", data, "--no-children", "-G",
                                  "--symbol-filter", symbol, "--percent-limit", "0.2"],
                                 capture_output=True, text=True, check=True).stdout
            print("\n".join(line[:150] for line in out.splitlines()
                            if line.strip() and not line.startswith("#"))[:6000])
        bench.stop_authgate()
    finally:
        bench.close()


if __name__ == "__main__":
    main()
