"""Sessions on the command line (SPEC §10.4, issue 15.3): the operator's `user sessions` and
`user revoke`, and the customer's `client sessions` and `client revoke`, against a running server.
An ended session must be refused by that server within a second (it learns of it through the
store's change log).
"""
import contextlib
import json
import os
import sqlite3
import subprocess
import time
import unittest

from harness import AuthgateServer, empty_postgres, totp, wait_until

LOGIN = "/api/v1/public/auth/login"
FIELDS = {"sessionId", "createdAt", "refreshedAt", "expiresAt", "address", "userAgent"}


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class UserSessionsCli:
    """Mixed into a TestCase whose server_env() names the store and whose sql() runs a statement
    on it."""

    def setUp(self):
        # A wider otp window: each login of a test uses a step of its own, up to six of them.
        self.server = AuthgateServer({"AUTHGATE_OTP_SKEW_STEPS": "3", **self.server_env()})
        self.alice = self.server.add_user("alice")
        self.logins = 0

    def tearDown(self):
        self.server.close()

    # --- helpers -------------------------------------------------------------------------
    def login(self, user=None, user_agent="sessions-cli-test"):
        """Logs in (each time with a step of its own) and returns the tokens and session id."""
        user = user or self.alice
        otp = totp(user["totpSecret"], step_offset=self.logins - 2)
        self.logins += 1
        response = self.server.post_json(LOGIN, {"username": user["username"],
                                                 "password": user["password"], "otp": otp},
                                          headers={"User-Agent": user_agent})
        self.assertEqual(response.status, 200, response)
        tokens = response.json["details"]
        tokens["sessionId"] = self.verify(tokens, user).json["details"]["sessionId"]
        return tokens

    def verify(self, tokens, user=None):
        return self.server.verify(tokens["accessToken"], totp((user or self.alice)["totpSecret"]))

    def sessions(self, name="alice"):
        result = self.server.cli("user", "sessions", name, "--json")
        document = json.loads(result.stdout)
        self.assertEqual(list(document), ["sessions"])
        return document["sessions"]

    def fails_with_one_line(self, *args):
        result = self.server.cli(*args, check=False)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertEqual(result.stdout, "")
        return result.stderr

    def revocations(self):
        return [e for e in self.server.audit_events() if e["event"] == "revocation"]

    # --- user sessions -------------------------------------------------------------------
    def test_sessions_are_listed_newest_first_with_the_login_address_and_user_agent(self):
        older = self.login(user_agent="phone/1.0 (test)")
        time.sleep(1.1)  # one second apart: newest first is by creation time
        newer = self.login(user_agent="laptop/2.0")
        listed = self.sessions()
        self.assertEqual([s["sessionId"] for s in listed], [newer["sessionId"], older["sessionId"]])
        for session in listed:
            self.assertEqual(set(session), FIELDS)
            self.assertIsNone(session["refreshedAt"])
            self.assertEqual(session["address"], "127.0.0.1")
            self.assertIsInstance(session["createdAt"], int)
            self.assertGreater(session["expiresAt"], session["createdAt"])
        self.assertEqual([s["userAgent"] for s in listed], ["laptop/2.0", "phone/1.0 (test)"])
        self.assertGreater(listed[0]["createdAt"], listed[1]["createdAt"])
        self.assertLessEqual(abs(listed[0]["createdAt"] - time.time()), 5)

        time.sleep(1.1)  # the refresh a second after the login
        refreshed = self.server.refresh(older["refreshToken"])
        self.assertEqual(refreshed.status, 200, refreshed)
        by_id = {s["sessionId"]: s for s in self.sessions()}
        self.assertIsNone(by_id[newer["sessionId"]]["refreshedAt"])
        again = by_id[older["sessionId"]]
        self.assertIsInstance(again["refreshedAt"], int)
        self.assertGreater(again["refreshedAt"], again["createdAt"])
        self.assertGreaterEqual(again["expiresAt"], listed[1]["expiresAt"])

        text = self.server.cli("user", "sessions", "alice").stdout.splitlines()
        self.assertEqual(len(text), 3, text)
        self.assertEqual(text[0].split(), ["SESSION", "CREATED", "REFRESHED", "EXPIRES", "ADDRESS",
                                           "USER-AGENT"])
        self.assertEqual(text[1].split(), [newer["sessionId"], iso(listed[0]["createdAt"]), "-",
                                           iso(listed[0]["expiresAt"]), "127.0.0.1", "laptop/2.0"])
        self.assertEqual(text[2].split(), [older["sessionId"], iso(again["createdAt"]),
                                           iso(again["refreshedAt"]), iso(again["expiresAt"]),
                                           "127.0.0.1", "phone/1.0", "(test)"])

    def test_a_user_without_sessions_lists_none_and_odd_user_agents_stay_json(self):
        self.assertEqual(self.sessions(), [])
        self.assertEqual(self.server.cli("user", "sessions", "alice").stdout.splitlines()[1:], [])
        self.login(user_agent="caf\u00e9-agent/1".encode())  # UTF-8 on the wire
        [session] = self.sessions()
        self.assertEqual(session["userAgent"], "caf\u00e9-agent/1")
        line = self.server.cli("user", "sessions", "alice").stdout.splitlines()[1]
        self.assertIn("caf\\xc3\\xa9-agent/1", line)  # the table escapes what is not ASCII

    def test_only_live_sessions_are_listed(self):
        ended = self.login()
        live = self.login()
        logout = self.server.logout(ended["accessToken"], totp(self.alice["totpSecret"]))
        self.assertEqual(logout.status, 200, logout)
        self.assertEqual([s["sessionId"] for s in self.sessions()], [live["sessionId"]])

    # --- user revoke ---------------------------------------------------------------------
    def test_revoke_one_session_is_refused_by_the_running_server_within_a_second(self):
        first = self.login()
        second = self.login()
        self.assertEqual(self.verify(first).status, 200)  # now in the server's cache
        result = self.server.cli("user", "revoke", "alice", "--session", first["sessionId"])
        self.assertEqual(result.stdout.strip(), "ended session %s of alice" % first["sessionId"])
        self.assertEqual(result.stderr, "")
        self.assertTrue(wait_until(lambda: self.verify(first).status == 401, timeout=1.0))
        self.assertEqual(self.verify(first).codes, [("Authorization", "Token_Invalid")])
        self.assertEqual(self.server.refresh(first["refreshToken"]).status, 401)
        self.assertEqual(self.verify(second).status, 200)
        self.assertEqual([s["sessionId"] for s in self.sessions()], [second["sessionId"]])
        [audit] = self.revocations()
        self.assertEqual((audit["username"], audit["by"]), ("alice", "cli"))
        self.assertIn(first["sessionId"], audit["detail"])
        # Ended already: no longer one of alice's live sessions.
        message = self.fails_with_one_line("user", "revoke", "alice", "--session", first["sessionId"])
        self.assertIn(first["sessionId"], message)
        self.assertEqual(len(self.revocations()), 1)

    def test_revoke_all_ends_every_session(self):
        tokens = [self.login() for _ in range(3)]
        for t in tokens:
            self.assertEqual(self.verify(t).status, 200)
        result = self.server.cli("user", "revoke", "alice", "--all")
        self.assertEqual(result.stdout.strip(), "ended 3 sessions of alice")
        self.assertTrue(wait_until(
            lambda: all(self.verify(t).status == 401 for t in tokens), timeout=1.0))
        self.assertEqual(self.sessions(), [])
        self.assertEqual(self.revocations()[-1]["detail"], "3 sessions ended")
        self.assertEqual(self.server.cli("user", "revoke", "alice", "--all").stdout.strip(),
                         "ended 0 sessions of alice")
        fresh = self.login()  # a new login is a new session, untouched by the earlier revoke
        self.assertEqual(self.verify(fresh).status, 200)
        self.assertEqual(self.server.cli("user", "revoke", "alice", "--all").stdout.strip(),
                         "ended 1 session of alice")

    def test_usage_errors_and_unknown_names_are_one_line_and_a_failure(self):
        bob = self.server.add_user("bob")
        bobs = self.login(user=bob)
        mine = self.login()
        self.fails_with_one_line("user", "revoke", "alice")
        self.fails_with_one_line("user", "revoke", "alice", "--all", "--session", mine["sessionId"])
        self.fails_with_one_line("user", "revoke", "--all")
        self.fails_with_one_line("user", "sessions")
        self.assertIn("nobody", self.fails_with_one_line("user", "sessions", "nobody"))
        self.assertIn("nobody", self.fails_with_one_line("user", "sessions", "nobody", "--json"))
        self.assertIn("nobody", self.fails_with_one_line("user", "revoke", "nobody", "--all"))
        self.fails_with_one_line("user", "revoke", "alice", "--session", "no-such-session")
        self.fails_with_one_line("user", "revoke", "alice", "--session", "")
        # Another user's session is not alice's to end: it lives on.
        self.fails_with_one_line("user", "revoke", "alice", "--session", bobs["sessionId"])
        self.assertEqual(self.verify(bobs, bob).status, 200)
        self.assertEqual(len(self.sessions("bob")), 1)
        self.assertEqual(len(self.sessions()), 1)
        self.assertEqual(self.revocations(), [])

    def seed_sessions(self, count):
        """`count` live sessions of alice, one a second, ids seeded10000 (the oldest) and up,
        all older than a login now; in one statement that both engines take."""
        now = int(time.time())
        self.sql("INSERT INTO sessions(id, user_id, created_at, expires_at, address, user_agent) "
                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                 "SELECT 'seeded' || (10000 + i), %d, %d + i, %d, '192.0.2.1', 'seeder' FROM n"
                 % (count - 1, self.alice["id"], now - 20000, now + 3600))

    def test_ten_thousand_sessions_are_listed_and_ended(self):
        self.seed_sessions(10000)
        listed = self.sessions()
        self.assertEqual(len(listed), 10000)
        self.assertEqual(listed[0]["sessionId"], "seeded19999")
        created = [s["createdAt"] for s in listed]
        self.assertEqual(created, sorted(created, reverse=True))
        text = self.server.cli("user", "sessions", "alice").stdout.splitlines()
        self.assertEqual(len(text), 10001)
        self.assertEqual(self.server.cli("user", "revoke", "alice", "--all").stdout.strip(),
                         "ended 10000 sessions of alice")
        self.assertEqual(self.sessions(), [])


    def test_the_api_lists_the_newest_thousand_and_the_operator_every_one(self):
        self.seed_sessions(1005)
        tokens = self.login()  # the newest: the caller's own is listed
        response = self.server.request("GET", "/api/v1/auth/sessions", headers={
            "Authorization": "Bearer " + tokens["accessToken"],
            "otp": totp(self.alice["totpSecret"])})
        self.assertEqual(response.status, 200, response)
        listed = response.json["details"]["sessions"]
        self.assertEqual(len(listed), 1000)
        self.assertEqual((listed[0]["sessionId"], listed[0]["current"]),
                         (tokens["sessionId"], True))
        self.assertEqual([s["sessionId"] for s in listed[1:]],
                         ["seeded%d" % i for i in range(11004, 10005, -1)])
        self.assertEqual(len(self.sessions()), 1006)

class SqliteUserSessionsTest(UserSessionsCli, unittest.TestCase):
    def server_env(self):
        return {}

    def sql(self, statement, parameters=()):
        database = os.path.join(self.server.dir, "authgate-data", "authgate.db")
        with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
            db.execute(statement, parameters)
            db.commit()

    def test_bytes_that_are_not_utf8_are_replaced_never_a_crash(self):
        self.login()
        self.sql("UPDATE sessions SET user_agent = CAST(? AS TEXT)", (b"bad\xff\xfe",))
        [session] = self.sessions()
        self.assertEqual(session["userAgent"], "bad\ufffd\ufffd")
        self.assertIn("bad\\xff\\xfe", self.server.cli("user", "sessions", "alice").stdout)


@unittest.skipUnless(os.environ.get("AUTHGATE_TEST_PG_URL_FILE"), "needs the PostgreSQL fixture")
class PostgresUserSessionsTest(UserSessionsCli, unittest.TestCase):
    def server_env(self):
        self.url = empty_postgres()
        return {"AUTHGATE_DB": self.url}

    def sql(self, statement):
        subprocess.run(["psql", self.url, "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
                       check=True, capture_output=True)


class ClientSessionsTest(unittest.TestCase):
    """The customer's side: `client sessions` and `client revoke` over the stored login."""

    def setUp(self):
        self.server = AuthgateServer()
        self.user = self.server.add_user("carol")
        self.base = "http://127.0.0.1:%d" % self.server.port
        self.token_file = os.path.join(self.server.dir, "carol.json")

    def tearDown(self):
        self.server.close()

    def client(self, *args, check=True):
        return self.server.cli("client", *args, "--token-file", self.token_file, check=check)

    def test_client_lists_and_ends_its_sessions(self):
        other = self.server.login(self.user, otp=totp(self.user["totpSecret"], step_offset=-1))
        self.assertEqual(other.status, 200, other)
        other = other.json["details"]
        other_id = self.server.verify(other["accessToken"], totp(self.user["totpSecret"])) \
            .json["details"]["sessionId"]
        time.sleep(1.1)  # the client's login is the newest
        self.server.cli("client", "login", "--url", self.base, "--username", "carol",
                        "--token-file", self.token_file,
                        stdin="%s\n%s\n" % (self.user["password"], self.user["totpSecret"]))

        details = json.loads(self.client("sessions", "--json").stdout)
        sessions = details["sessions"]
        self.assertEqual(len(sessions), 2)
        mine, theirs = sessions
        self.assertEqual((mine["current"], theirs["current"]), (True, False))
        self.assertEqual(theirs["sessionId"], other_id)
        self.assertEqual(mine["userAgent"], "authgate-client")

        table = self.client("sessions").stdout.splitlines()
        self.assertEqual(len(table), 3, table)
        self.assertEqual(table[1].split()[:2], ["*", mine["sessionId"]])
        self.assertEqual(table[2].split()[0], other_id)

        ended = self.client("revoke", other_id)
        self.assertEqual(ended.stdout.strip(), "ended session %s" % other_id)
        self.assertTrue(wait_until(lambda: self.server.verify(
            other["accessToken"], totp(self.user["totpSecret"])).status == 401, timeout=1.0))
        self.assertEqual([s["sessionId"] for s in json.loads(
            self.client("sessions", "--json").stdout)["sessions"]], [mine["sessionId"]])

        again = self.client("revoke", other_id, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertEqual(again.stdout, "")
        self.assertEqual(again.stderr.strip().splitlines(), ["authgate: HTTP 404 Not_Found"])

    def test_without_a_stored_login_the_client_fails_in_one_line(self):
        for args in (("sessions",), ("revoke", "abc")):
            result = self.client(*args, check=False)
            self.assertEqual(result.returncode, 1)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn("client login", result.stderr)


if __name__ == "__main__":
    unittest.main()
