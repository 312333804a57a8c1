"""Sessions a customer can see and end (SPEC §10.4, issue 15.3): GET /api/v1/auth/sessions and
DELETE /api/v1/auth/sessions/{sessionId}, by the caller, under the private endpoints' rules (§3).

Each test runs on SQLite and, with AUTHGATE_TEST_PG_URL_FILE set (the CTest fixture), on
PostgreSQL.
"""
import os
import time
import unittest

from harness import AuthgateServer, empty_postgres, leave_room_in_step, totp

SESSIONS = "/api/v1/auth/sessions"
FIELDS = {"sessionId", "createdAt", "refreshedAt", "expiresAt", "address", "userAgent", "current"}


class Sessions:
    """Mixed into a TestCase whose server_env() names the store."""

    def setUp(self):
        leave_room_in_step(5)  # the otp offsets below stay in one step while a test logs in
        self.server = AuthgateServer(self.server_env())
        self.alice = self.server.add_user("alice")
        self.bob = self.server.add_user("bob")

    def tearDown(self):
        self.server.close()

    def login(self, user, offset=0, user_agent=None):
        """A new session of `user` (each login of a user needs an otp step of its own: offsets
        -1, 0 and 1 give three per 30 s)."""
        headers = {"Content-Type": "application/json"}
        if user_agent is not None:
            headers["User-Agent"] = user_agent
        response = self.server.request("POST", "/api/v1/public/auth/login", {
            "username": user["username"], "password": user["password"],
            "otp": totp(user["totpSecret"], step_offset=offset)}, headers)
        self.assertEqual(response.status, 200, response)
        details = response.json["details"]
        details["sessionId"] = self.verify(user, details["accessToken"]).json["details"]["sessionId"]
        return details

    def call(self, method, path, user, token, otp=None, body=None):
        return self.server.request(method, path, body, {
            "Authorization": "Bearer " + token,
            "otp": otp if otp is not None else totp(user["totpSecret"])})

    def verify(self, user, token):
        return self.call("GET", "/api/v1/auth/verify", user, token)

    def listed(self, user, grant):
        response = self.call("GET", SESSIONS, user, grant["accessToken"])
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json["id"], user["id"])
        return response.json["details"]["sessions"]

    def end(self, user, grant, session_id, body=None):
        return self.call("DELETE", SESSIONS + "/" + session_id, user, grant["accessToken"],
                         body=body)

    def test_the_callers_live_sessions_are_listed_newest_first(self):
        first = self.login(self.alice, -1, user_agent="bank-app/1.0 (iPhone)")
        time.sleep(1.1)  # creation times a second apart: the order is theirs
        second = self.login(self.alice, 0, user_agent="curl/8.1.2")
        self.login(self.bob)  # never in alice's list
        sessions = self.listed(self.alice, first)
        self.assertEqual([s["sessionId"] for s in sessions],
                         [second["sessionId"], first["sessionId"]])
        for session in sessions:
            self.assertEqual(set(session), FIELDS)
            self.assertIsNone(session["refreshedAt"])
            self.assertEqual(session["address"], "127.0.0.1")
            self.assertAlmostEqual(session["expiresAt"] - session["createdAt"], 86400, delta=1)
            self.assertAlmostEqual(session["createdAt"], time.time(), delta=10)
        self.assertEqual([s["userAgent"] for s in sessions], ["curl/8.1.2", "bank-app/1.0 (iPhone)"])
        self.assertEqual([s["current"] for s in sessions], [False, True])
        self.assertEqual([s["current"] for s in self.listed(self.alice, second)], [True, False])

    def test_a_refresh_is_shown_and_moves_the_expiry(self):
        grant = self.login(self.alice)
        before = self.listed(self.alice, grant)[0]
        time.sleep(1.1)
        refreshed = self.server.refresh(grant["refreshToken"])
        self.assertEqual(refreshed.status, 200, refreshed)
        after = self.listed(self.alice, refreshed.json["details"])
        self.assertEqual(len(after), 1)
        self.assertEqual(after[0]["sessionId"], before["sessionId"])
        self.assertTrue(after[0]["current"])
        self.assertGreater(after[0]["refreshedAt"], before["createdAt"])
        self.assertGreater(after[0]["expiresAt"], before["expiresAt"])

    def test_the_user_agent_is_kept_safe_and_cut(self):
        long_agent = "A" * 300
        grant = self.login(self.alice, -1, user_agent=long_agent)
        self.assertEqual(self.listed(self.alice, grant)[0]["userAgent"], "A" * 256)
        # A control byte is not allowed in a header; a byte of malformed UTF-8 is, as obs-text.
        response = self.server.raw(
            b"POST /api/v1/public/auth/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nUser-Agent: odd \xff\xfe agent\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % self.login_body(self.alice, 0))
        self.assertIn(b" 200 ", response.split(b"\r\n", 1)[0])
        agents = sorted(s["userAgent"] for s in self.listed(self.alice, grant))
        self.assertEqual(agents, ["A" * 256, "odd ?? agent"])

    def login_body(self, user, offset):
        body = ('{"username":"%s","password":"%s","otp":"%s"}' % (
            user["username"], user["password"], totp(user["totpSecret"], step_offset=offset)))
        return len(body), body.encode()

    def test_a_customer_ends_one_of_their_sessions(self):
        phone = self.login(self.alice, -1)
        laptop = self.login(self.alice, 0)
        response = self.end(self.alice, laptop, phone["sessionId"], body='{"ignored": true}')
        self.assertEqual(response.status, 200, response)
        self.assertIsNone(response.json["details"])
        self.assertEqual(response.json["status"], "1")
        self.assertEqual(self.verify(self.alice, phone["accessToken"]).status, 401)
        self.assertEqual(self.server.refresh(phone["refreshToken"]).status, 401)
        self.assertEqual([s["sessionId"] for s in self.listed(self.alice, laptop)],
                         [laptop["sessionId"]])
        again = self.end(self.alice, laptop, phone["sessionId"])
        self.assertEqual((again.status, again.codes), (404, [("", "Not_Found")]))
        self.assertIn('authgate_revocations_total{reason="self"} 1', self.server.metrics())
        [event] = [e for e in self.server.audit_events() if e["event"] == "session_ended"]
        self.assertEqual((event["sessionId"], event["by"], event["userId"]),
                         (phone["sessionId"], "self", self.alice["id"]))

    def test_ending_the_current_session_is_a_logout(self):
        grant = self.login(self.alice)
        self.assertEqual(self.end(self.alice, grant, grant["sessionId"]).status, 200)
        self.assertEqual(self.verify(self.alice, grant["accessToken"]).status, 401)
        self.assertEqual(self.call("GET", SESSIONS, self.alice, grant["accessToken"]).status, 401)

    def test_another_users_session_is_not_found_and_untouched(self):
        mine = self.login(self.alice)
        theirs = self.login(self.bob)
        unknown = "0" * 32
        for session_id in (theirs["sessionId"], unknown, "not-a-session", "A" * 2000,
                           theirs["sessionId"].upper(), "%2e%2e"):
            response = self.end(self.alice, mine, session_id)
            self.assertEqual((response.status, response.codes), (404, [("", "Not_Found")]),
                             session_id)
        self.assertEqual(self.verify(self.bob, theirs["accessToken"]).status, 200)
        self.assertEqual(len(self.listed(self.bob, theirs)), 1)
        # Counted under the route's template, never the id (no label per attacker's guess),
        # on the management listener; each refusal audited with the caller, the id cut short.
        metrics = self.server.metrics()
        self.assertIn('authgate_http_requests_total{endpoint="/api/v1/auth/sessions/{sessionId}",'
                      'status="404"} 6\n', metrics)
        self.assertNotIn(unknown, metrics)
        self.assertNotIn("not-a-session", metrics)
        refused = [e for e in self.server.audit_events() if e["event"] == "session_end_refused"]
        self.assertEqual(len(refused), 6)
        for event in refused:
            self.assertEqual((event["userId"], event["reason"]), (self.alice["id"], "not_found"))
            self.assertLessEqual(len(event["sessionId"].encode()), 64)
        self.assertEqual(refused[3]["sessionId"], "A" * 64)

    def test_paths_and_methods(self):
        grant = self.login(self.alice)
        session = SESSIONS + "/" + grant["sessionId"]
        for method, path, status in (("DELETE", SESSIONS + "/", 404), ("GET", SESSIONS + "/", 404),
                                     ("DELETE", session + "/", 404), ("DELETE", session + "/x", 404),
                                     ("POST", SESSIONS, 405), ("DELETE", SESSIONS, 405),
                                     ("GET", session, 405), ("POST", session, 405)):
            response = self.call(method, path, self.alice, grant["accessToken"])
            self.assertEqual(response.status, status, (method, path, response))
        self.assertEqual(self.call("POST", SESSIONS, self.alice, grant["accessToken"]).header("Allow"),
                         "GET")
        self.assertEqual(self.call("GET", session, self.alice, grant["accessToken"]).header("Allow"),
                         "DELETE")
        self.assertEqual(self.call("GET", SESSIONS + "?page=2", self.alice,
                                   grant["accessToken"]).status, 200)
        self.assertEqual(self.verify(self.alice, grant["accessToken"]).status, 200)

    def test_the_private_rules_hold(self):
        """As every private endpoint: the same answers as a verify for the same credentials."""
        grant = self.login(self.alice)
        token, secret = grant["accessToken"], self.alice["totpSecret"]
        wrong = next(c for c in ("000000", "111111") if c not in
                     {totp(secret, step_offset=k) for k in (-1, 0, 1)})
        cases = [{}, {"Authorization": "Bearer " + token}, {"otp": totp(secret)},
                 {"Authorization": "Bearer x.y.z", "otp": totp(secret)},
                 {"Authorization": "Basic abc", "otp": totp(secret)},
                 {"Authorization": "Bearer " + token, "otp": wrong}]
        for headers in cases:
            expected = self.server.request("GET", "/api/v1/auth/verify", headers=headers)
            for method, path in (("GET", SESSIONS), ("DELETE", SESSIONS + "/" + grant["sessionId"])):
                response = self.server.request(method, path, headers=headers)
                self.assertEqual((response.status, response.codes),
                                 (expected.status, expected.codes), (headers, method))
        self.assertEqual(self.verify(self.alice, token).status, 200)


class SqliteSessionsTest(Sessions, unittest.TestCase):
    def server_env(self):
        return {}

    def test_ended_sessions_stay_ended_after_a_restart(self):
        keep = self.login(self.alice, -1)
        gone = self.login(self.alice, 0)
        self.assertEqual(self.end(self.alice, keep, gone["sessionId"]).status, 200)
        self.server.stop()
        self.server.start()
        self.assertEqual(self.verify(self.alice, gone["accessToken"]).status, 401)
        self.assertEqual([s["sessionId"] for s in self.listed(self.alice, keep)],
                         [keep["sessionId"]])


@unittest.skipUnless(os.environ.get("AUTHGATE_TEST_PG_URL_FILE"), "needs the PostgreSQL fixture")
class PostgresSessionsTest(Sessions, unittest.TestCase):
    def server_env(self):
        return {"AUTHGATE_DB": empty_postgres()}


if __name__ == "__main__":
    unittest.main()
