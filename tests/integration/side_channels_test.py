"""Side channels (SPEC §10.5, issue 12): whoever holds a leaked password learns nothing without
the second factor, and no anonymous input grows the server.

Issue 12's findings and their regression tests:
  1. a NUL (any impossible name) as a password oracle   -> *SideChannelTest here (both stores)
  2. /metrics as an oracle                               -> ManagementListenerTest here
  3. unbounded growth from anonymous names               -> test_impossible_names_*, test_failure_counts_expire_*
  4. the per-session otp limit under concurrency        -> RequestOtpLimitTest here
  5. HTTP framing leniency (smuggling)                  -> framing_test.py (and fuzz_http)
  6. rate-limit keys behind trusted proxies             -> integration_test.py
     test_forwarded_junk_ports_and_rotating_ipv6_reach_429, tests/http/client_address_test.cc
  7. operations (export, key file mode, wrong key, control bytes, short passwords)
                                                         -> integration_test.py CommandLineTest
docs/security.md's threat table has a row for each.

With AUTHGATE_TEST_PG_URL_FILE set (the CTest fixture), the login-name tests run on PostgreSQL
too: that is where a NUL byte used to find "alice".
"""
import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import BIN, AuthgateServer, empty_postgres, totp, wait_until

LOGIN = "/api/v1/public/auth/login"


def comparable(response):
    """What a client sees of a login answer, minus what differs between any two answers."""
    headers = sorted((k.lower(), v) for k, v in response.headers if k.lower() not in ("date",))
    return response.status, headers, response.body


def wrong_code(secret):
    good = {totp(secret, step_offset=k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


class WrongCredentialsLookAlike:
    """Mixed into a TestCase with self.server: one answer for every wrong credential."""

    def attempts(self, user):
        name, password, secret = user["username"], user["password"], user["totpSecret"]
        good_otp = totp(secret)
        # Use the code once, so the same code is "reused" below.
        self.assertEqual(self.server.login(user, otp=good_otp).status, 200)
        return {
            "unknown user": (name + "x", password, good_otp),
            "wrong password": (name, password + "x", good_otp),
            "right password, wrong otp": (name, password, wrong_code(secret)),
            "right password, reused otp": (name, password, good_otp),
            "NUL after the name, right password": (name + "\u0000x", password, good_otp),
            "NUL after the name, wrong password": (name + "\u0000x", password + "x", good_otp),
            "control byte in the name": (name + "\u001b[2J", password, good_otp),
            "name over 64 bytes": (name + "a" * 64, password, good_otp),
            "16,000-byte name": ("n" * 16000, password, good_otp),
        }

    def test_every_wrong_credential_gets_the_same_answer(self):
        user = self.server.add_user("alice", password="correct horse battery")
        answers = {}
        for label, (name, password, otp) in self.attempts(user).items():
            response = self.server.post_json(LOGIN, {"username": name, "password": password,
                                                     "otp": otp})
            answers[label] = comparable(response)
        reference = answers["unknown user"]
        self.assertEqual(reference[0], 400)
        self.assertIn('"Username_Or_Password_Incorrect"', reference[2])
        for label, answer in answers.items():
            self.assertEqual(answer, reference, label)


class SqliteSideChannelTest(WrongCredentialsLookAlike, unittest.TestCase):
    def setUp(self):
        self.server = AuthgateServer()

    def tearDown(self):
        self.server.close()

    def database(self):
        return sqlite3.connect(os.path.join(self.server.dir, "authgate-data", "authgate.db"))

    def test_impossible_names_are_never_stored_and_audited_short(self):
        self.server.add_user("alice")
        for name in ("n" * 16000, "alice\u0000x", "bob\u0007", "x" * 65):
            response = self.server.post_json(LOGIN, {"username": name, "password": "p", "otp": "1"})
            self.assertEqual(response.codes, [("", "Username_Or_Password_Incorrect")])
        with self.database() as db:
            names = [row[0] for row in db.execute("SELECT username FROM login_attempts")]
        self.assertEqual(names, [])
        events = [e for e in self.server.audit_events() if e["event"] == "login"]
        self.assertEqual(len(events), 4)
        for event in events:
            self.assertEqual(event["reason"], "invalid_username")
            self.assertLessEqual(len(event["username"].encode()), 64)
        with open(self.server.env["AUTHGATE_LOG_AUDIT_FILE"], "rb") as f:
            self.assertLess(max(len(line) for line in f), 400)

    def test_an_unreadable_secret_answers_as_a_wrong_credential_and_is_logged(self):
        user = self.server.add_user("alice")
        with self.database() as db:
            db.execute("UPDATE users SET totp_secret = zeroblob(60) WHERE username = 'alice'")
        response = self.server.login(user)
        self.assertEqual(response.status, 400, response)
        self.assertEqual(response.codes, [("", "Username_Or_Password_Incorrect")])
        reasons = [e.get("reason") for e in self.server.audit_events() if e["event"] == "login"]
        self.assertEqual(reasons, ["secret_unreadable"])
        self.assertTrue(wait_until(lambda: any("cannot be unsealed" in line
                                               for line in self.server.stderr_lines), 5))

    def test_failure_counts_expire_after_the_lockout_duration(self):
        self.server.close()
        self.server = AuthgateServer({"AUTHGATE_LOCKOUT_DURATION_S": "2"})
        user = self.server.add_user("alice")
        for _ in range(4):
            self.assertEqual(self.server.login(user, password="wrong").status, 400)
        time.sleep(2.5)
        shown = json.loads(self.server.cli("user", "show", "alice", "--json").stdout)
        self.assertEqual(shown["failedAttempts"], 0)  # expired: counts as nothing
        for _ in range(4):
            self.assertEqual(self.server.login(user, password="wrong").codes,
                             [("", "Username_Or_Password_Incorrect")])
        # Eight failures, but never five within 2 s: not locked.
        self.assertEqual(self.server.login(user).status, 200)


class ManagementListenerTest(unittest.TestCase):
    def setUp(self):
        self.server = AuthgateServer()

    def tearDown(self):
        self.server.close()

    def test_metrics_only_on_the_management_listener(self):
        public = self.server.request("GET", "/metrics")
        self.assertEqual(public.status, 404)
        self.assertEqual(public.codes, [("", "Not_Found")])
        self.assertNotIn("authgate_", public.body)
        self.assertIn('authgate_logins_total', self.server.metrics())
        for path in ("/healthz", "/readyz"):
            self.assertEqual(self.server.request("GET", path).status, 200, path)
            self.assertEqual(self.server.management("GET", path).status, 200, path)
        # The management listener serves nothing of the API.
        for method, path in (("POST", LOGIN), ("GET", "/api/v1/auth/verify"),
                             ("GET", "/.well-known/jwks.json"), ("GET", "/openapi.json")):
            self.assertEqual(self.server.management(method, path).status, 404, path)

    def test_login_results_are_counted_for_the_operator(self):
        user = self.server.add_user("alice")
        self.server.login(user, password="wrong")
        self.server.login(user, otp=wrong_code(user["totpSecret"]))
        metrics = self.server.metrics()
        self.assertIn('authgate_logins_total{result="wrong_password"} 1\n', metrics)
        self.assertIn('authgate_logins_total{result="wrong_otp"} 1\n', metrics)

    def test_off_and_busy_addresses(self):
        off = AuthgateServer({"AUTHGATE_SERVER_MANAGEMENT_LISTEN": ""})
        try:
            self.assertIsNone(off.management_port)
            self.assertEqual(off.request("GET", "/metrics").status, 404)
        finally:
            off.close()
        # An address set explicitly that cannot be bound is a startup error naming the key.
        busy = "127.0.0.1:%d" % self.server.management_port
        clash = AuthgateServer({"AUTHGATE_SERVER_MANAGEMENT_LISTEN": busy}, start=False)
        try:
            result = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0"],
                                    cwd=clash.dir, env=clash.env, capture_output=True, text=True,
                                    timeout=30)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("server.management_listen", result.stderr)
        finally:
            clash.close()


class RequestOtpLimitTest(unittest.TestCase):
    """SPEC §10.5: exactly max_failed_attempts wrong request otps are answered per session."""

    def concurrent_wrong_otps(self, threads, count):
        server = AuthgateServer({"AUTHGATE_SERVER_THREADS": str(threads)})
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            wrong = wrong_code(user["totpSecret"])
            barrier = threading.Barrier(count)
            codes = []

            def guess():
                barrier.wait()
                codes.extend(server.verify(tokens["accessToken"], wrong).codes)

            workers = [threading.Thread(target=guess) for _ in range(count)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            self.assertEqual(codes.count(("otp", "Otp_Incorrect")), 5, codes)
            self.assertEqual(codes.count(("Authorization", "Token_Invalid")), count - 5, codes)
            # And the session is gone, for the right code too.
            self.assertEqual(server.verify(tokens["accessToken"], totp(user["totpSecret"])).codes,
                             [("Authorization", "Token_Invalid")])
        finally:
            server.close()

    def test_30_concurrent_wrong_otps_on_2_threads(self):
        self.concurrent_wrong_otps(2, 30)

    def test_60_concurrent_wrong_otps_on_8_threads(self):
        self.concurrent_wrong_otps(8, 60)

    def test_a_window_not_a_streak(self):
        server = AuthgateServer()
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            wrong = wrong_code(user["totpSecret"])
            for _ in range(2):
                for _ in range(2):
                    self.assertEqual(server.verify(tokens["accessToken"], wrong).codes,
                                     [("otp", "Otp_Incorrect")])
                self.assertEqual(server.verify(tokens["accessToken"],
                                               totp(user["totpSecret"])).status, 200)
            self.assertEqual(server.verify(tokens["accessToken"], wrong).codes,
                             [("otp", "Otp_Incorrect")])
            self.assertEqual(server.verify(tokens["accessToken"], totp(user["totpSecret"])).codes,
                             [("Authorization", "Token_Invalid")])
        finally:
            server.close()


@unittest.skipUnless(os.environ.get("AUTHGATE_TEST_PG_URL_FILE"), "needs the PostgreSQL fixture")
class PostgresSideChannelTest(WrongCredentialsLookAlike, unittest.TestCase):
    def setUp(self):
        self.url = empty_postgres()
        self.server = AuthgateServer({"AUTHGATE_DB": self.url})

    def tearDown(self):
        self.server.close()

    def test_impossible_names_are_never_stored(self):
        self.server.add_user("alice")
        for name in ("n" * 3000, "alice\u0000x"):
            response = self.server.post_json(LOGIN, {"username": name, "password": "p", "otp": "1"})
            self.assertEqual(response.codes, [("", "Username_Or_Password_Incorrect")])
        rows = subprocess.run(["psql", self.url, "-tA", "-c", "SELECT count(*) FROM login_attempts"],
                              check=True, capture_output=True, text=True).stdout.strip()
        self.assertEqual(rows, "0")
        self.assertFalse(any("store" in line.lower() for line in self.server.stderr_lines),
                         self.server.stderr_lines)


if __name__ == "__main__":
    unittest.main()
