"""The credential hold (SPEC §10.3, issue 15.2): a right password with too many wrong otps holds
the account until an operator unlocks it, so a leaked password buys at most
`otp_failures_before_hold` guesses at the second factor over the account's life.

Each test runs on SQLite and, with AUTHGATE_TEST_PG_URL_FILE set (the CTest fixture), on
PostgreSQL: the count is the store's, exact under concurrency on either.
"""
import json
import os
import threading
import unittest

from harness import AuthgateServer, empty_postgres, totp

LOGIN = "/api/v1/public/auth/login"
HOLD = 20  # the default of lockout.otp_failures_before_hold


def wrong_code(secret):
    good = {totp(secret, step_offset=k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


class CredentialHold:
    """Mixed into a TestCase whose server_env() names the store."""

    def setUp(self):
        # §2's lock is set far away so that only the hold is seen.
        self.server = AuthgateServer({"AUTHGATE_LOCKOUT_MAX_FAILED_ATTEMPTS": "1000",
                                      **self.server_env()})
        self.user = self.server.add_user("alice")
        self.wrong = wrong_code(self.user["totpSecret"])

    def tearDown(self):
        self.server.close()

    def login(self, password=None, otp=None):
        return self.server.login(self.user, password=password, otp=otp)

    def reasons(self):
        return [e.get("reason") for e in self.server.audit_events() if e["event"] == "login"]

    def holds(self):
        return [e for e in self.server.audit_events() if e["event"] == "credential_hold"]

    def shown(self):
        return json.loads(self.server.cli("user", "show", "alice", "--json").stdout)

    def test_a_known_password_buys_exactly_the_budget_of_otp_guesses(self):
        for _ in range(HOLD):
            self.assertEqual(self.login(otp=self.wrong).codes,
                             [("", "Username_Or_Password_Incorrect")])
        self.assertEqual(self.reasons(), ["wrong_otp"] * HOLD)
        [hold] = self.holds()
        self.assertEqual((hold["username"], hold["reason"]), ("alice", "otp_failures"))
        self.assertIn('authgate_credential_holds_total{reason="otp_failures"} 1',
                      self.server.metrics())
        # Held: the right otp, and any password, get Account_Locked; nothing is checked.
        self.assertEqual(self.login().codes, [("", "Account_Locked")])
        self.assertEqual(self.login(password="wrong-password").codes, [("", "Account_Locked")])
        self.assertEqual(self.reasons()[HOLD:], ["held", "held"])
        self.assertTrue(self.shown()["held"])
        self.assertIn("held: true", self.server.cli("user", "show", "alice").stdout)
        # The operator's unlock releases it.
        unlocked = self.server.cli("user", "unlock", "alice").stdout
        self.assertIn("hold", unlocked)
        self.assertFalse(self.shown()["held"])
        self.assertEqual(self.login().status, 200)

    def test_a_user_who_mistypes_now_and_then_is_never_held(self):
        for round_ in range(3):
            for _ in range(HOLD - 1):
                self.assertEqual(self.login(otp=self.wrong).status, 400)
            code = totp(self.user["totpSecret"], step_offset=round_ - 1)  # an unused step each time
            self.assertEqual(self.login(otp=code).status, 200, round_)
        self.assertEqual(self.holds(), [])
        self.assertFalse(self.shown()["held"])

    def test_wrong_passwords_never_hold(self):
        for _ in range(HOLD + 5):
            self.assertEqual(self.login(password="not-the-password", otp=self.wrong).status, 400)
        self.assertEqual(self.holds(), [])
        self.assertEqual(self.login().status, 200)

    def test_concurrent_guesses_around_the_threshold_check_no_more_than_the_budget(self):
        for _ in range(HOLD - 5):
            self.assertEqual(self.login(otp=self.wrong).status, 400)
        answers = []
        lock = threading.Lock()

        def guess():
            response = self.login(otp=self.wrong)
            with lock:
                answers.append(response.codes)

        threads = [threading.Thread(target=guess) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(answers), 30)
        self.assertTrue(all(codes in ([("", "Username_Or_Password_Incorrect")],
                                      [("", "Account_Locked")]) for codes in answers), answers)
        self.assertEqual(self.reasons().count("wrong_otp"), HOLD)  # no 21st otp was checked
        self.assertEqual(len(self.holds()), 1)
        self.assertEqual(self.login().codes, [("", "Account_Locked")])


class SqliteCredentialHoldTest(CredentialHold, unittest.TestCase):
    def server_env(self):
        return {}

    def test_the_hold_can_be_turned_off_and_configured(self):
        self.server.close()
        self.server = AuthgateServer({"AUTHGATE_LOCKOUT_MAX_FAILED_ATTEMPTS": "1000",
                                      "AUTHGATE_LOCKOUT_OTP_FAILURES_BEFORE_HOLD": "0"})
        self.user = self.server.add_user("alice")
        for _ in range(HOLD + 5):
            self.assertEqual(self.login(otp=self.wrong).status, 400)
        self.assertEqual(self.login().status, 200)
        for value in ("-1", "1001", "x"):
            bad = AuthgateServer({"AUTHGATE_LOCKOUT_OTP_FAILURES_BEFORE_HOLD": value}, start=False)
            try:
                result = bad.cli("user", "list", check=False)
                self.assertNotEqual(result.returncode, 0, value)
                self.assertIn("otp_failures_before_hold", result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            finally:
                bad.close()


@unittest.skipUnless(os.environ.get("AUTHGATE_TEST_PG_URL_FILE"), "needs the PostgreSQL fixture")
class PostgresCredentialHoldTest(CredentialHold, unittest.TestCase):
    def server_env(self):
        return {"AUTHGATE_DB": empty_postgres()}


if __name__ == "__main__":
    unittest.main()
