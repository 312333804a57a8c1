#!/usr/bin/env python3
"""Bounded soak: mixed login / verify / refresh / logout at a steady rate for --minutes.

Reports every unexpected response and authgate's RSS over time; passes (exit 0) when there
were no unexpected responses and the RSS at the end is within 10% of the RSS at minute 2.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_bench  # noqa: E402
from run_bench import totp, rss_kib  # noqa: E402
import http.client  # noqa: E402


def call(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    c.request(method, path, body, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--logins-per-s", type=int, default=4)
    parser.add_argument("--verifies-per-s", type=int, default=200)
    args = parser.parse_args()

    class Options:
        accounts = 600
        sessions = 0
        duration = 0
    bench = run_bench.Bench(Options())
    unexpected = []
    rss = []
    counts = {"login": 0, "verify": 0, "refresh": 0, "logout": 0}
    try:
        bench.seed()
        bench.start_authgate("HS256")
        port = bench.port
        sessions = []  # (account, details)
        next_account = 0
        started = time.time()
        end = started + args.minutes * 60
        last_rss = 0
        while time.time() < end:
            tick = time.time()
            for _ in range(args.logins_per_s):
                name, secret = bench.accounts[next_account % len(bench.accounts)]
                next_account += 1
                status, body = call(port, "POST", "/api/v1/public/auth/login",
                                    {"username": name, "password": "bench-password", "otp": totp(secret)})
                counts["login"] += 1
                if status != 200:
                    unexpected.append(("login", status, body))
                else:
                    sessions.append(((name, secret), body["details"]))
            for i in range(args.verifies_per_s):
                if not sessions:
                    break
                (name, secret), details = sessions[i % len(sessions)]
                status, body = call(port, "GET", "/api/v1/auth/verify", headers={
                    "Authorization": "Bearer " + details["accessToken"], "otp": totp(secret)})
                counts["verify"] += 1
                if status != 200:
                    unexpected.append(("verify", status, body))
            for index in range(min(2, len(sessions))):
                account, details = sessions[index]
                status, body = call(port, "POST", "/api/v1/public/auth/refresh",
                                    {"refreshToken": details["refreshToken"]})
                counts["refresh"] += 1
                if status != 200:
                    unexpected.append(("refresh", status, body))
                else:
                    sessions[index] = (account, body["details"])
            while len(sessions) > 40:  # log the oldest sessions out
                (name, secret), details = sessions.pop(0)
                status, body = call(port, "POST", "/api/v1/auth/logout", headers={
                    "Authorization": "Bearer " + details["accessToken"], "otp": totp(secret)})
                counts["logout"] += 1
                if status != 200:
                    unexpected.append(("logout", status, body))
            now = time.time()
            if now - last_rss >= 10:
                rss.append((now - started, rss_kib(bench.server.pid)))
                last_rss = now
            time.sleep(max(0, 1 - (time.time() - tick)))
        bench.stop_authgate()
    finally:
        bench.close()

    at_two = next((kib for t, kib in rss if t >= 120), rss[0][1])
    final = rss[-1][1]
    drift = (final - at_two) / at_two
    print("soak: %.1f min, requests %s" % (args.minutes, counts))
    print("unexpected responses: %d %s" % (len(unexpected), unexpected[:5]))
    print("RSS (MB) every 10 s: %s" % " ".join("%.1f" % (k / 1024) for _, k in rss))
    print("RSS at minute 2: %.1f MB, at the end: %.1f MB, drift %+.1f%%" % (at_two / 1024, final / 1024, drift * 100))
    ok = not unexpected and abs(drift) <= 0.10
    print("soak:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
