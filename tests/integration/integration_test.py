"""Integration tests: the real binary over real HTTP, against SPEC.md §1–§9."""
import base64
import contextlib
import json
import socket
import sqlite3
import http.client
import re
import os
import signal
import subprocess
import threading
import time
import unittest
import uuid

from harness import BIN, AuthgateServer, Response, totp, wait_until

LOGIN = "/api/v1/public/auth/login"
REFRESH = "/api/v1/public/auth/refresh"
VERIFY = "/api/v1/auth/verify"
LOGOUT = "/api/v1/auth/logout"


def alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped, is not alive)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def open_files(pid):
    """fd number -> what it refers to, for a process."""
    files = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            files[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            pass
    return files


def hash_helpers(server_pid):
    """The live authgate-hasher children of the server."""
    children = []
    for task in os.listdir("/proc/%d/task" % server_pid):
        with open("/proc/%d/task/%s/children" % (server_pid, task)) as f:
            children += [int(pid) for pid in f.read().split()]
    return sorted(pid for pid in set(children)
                  if alive(pid) and os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "authgate-hasher")


def unique(prefix="u"):
    return "%s%s" % (prefix, uuid.uuid4().hex[:10])


class SharedServerTest(unittest.TestCase):
    """Tests that can share one server with the default (test) configuration."""

    @classmethod
    def setUpClass(cls):
        cls.server = AuthgateServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def new_user(self, status="active"):
        return self.server.add_user(unique(), status=status)

    def logged_in(self, user=None):
        user = user or self.new_user()
        response = self.server.login(user)
        self.assertEqual(response.status, 200, response)
        return user, response.json["details"]

    def warm(self, user, tokens):
        """Verifies a few times, on fresh connections spread over the server's event loops, so the
        token is in every loop's verify memo before the test changes the state behind it."""
        for _ in range(4):
            self.assertEqual(self.server.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)

    def assertEnvelopeError(self, response, status, codes):
        self.assertEqual(response.status, status, response)
        self.assertEqual(response.header("Content-Type"), "application/json")
        self.assertEqual(response.json["status"], "0")
        self.assertEqual(response.json["id"], 0)
        self.assertIsNone(response.json["details"])
        self.assertEqual(response.codes, codes)


class LoginTest(SharedServerTest):
    def test_success_envelope(self):
        user = self.new_user()
        response = self.server.login(user)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.header("Content-Type"), "application/json")
        body = response.json
        self.assertEqual(body["status"], "1")
        self.assertEqual(body["errors"], [])
        self.assertEqual(body["id"], user["id"])
        details = body["details"]
        self.assertEqual(details["expiresIn"], 3600)
        self.assertEqual(details["refreshTokenExpiresIn"], 86400)
        self.assertEqual(details["accessToken"].count("."), 2)
        self.assertGreaterEqual(len(details["refreshToken"]), 43)  # >= 256 bits, base64url

    def test_content_types(self):
        for content_type in ["application/json", "application/json; charset=utf-8",
                             "application/json-patch+json", "application/vnd.x+json"]:
            user = self.new_user()
            response = self.server.post_json(LOGIN, {"username": user["username"],
                                                     "password": user["password"],
                                                     "otp": totp(user["totpSecret"])},
                                             content_type=content_type)
            self.assertEqual(response.status, 200, (content_type, response))
        for content_type in [None, "text/plain", "application/xml", "application/x-www-form-urlencoded"]:
            response = self.server.post_json(LOGIN, {"username": "a", "password": "b", "otp": "1"},
                                             content_type=content_type)
            self.assertEnvelopeError(response, 415, [("", "Unsupported_Media_Type")])

    def test_invalid_json(self):
        for body in ["", "{", "not json", "[]", "[1,2]", "\"text\"", "42", "null", "{\"a\":}",
                     b"{\"username\":\"\xff\xfe\"}"]:
            response = self.server.post_json(LOGIN, body)
            self.assertEnvelopeError(response, 400, [("", "Invalid_Json")])

    def test_field_errors_in_order(self):
        cases = [
            ({}, [("username", "Required"), ("password", "Required"), ("otp", "Required")]),
            ({"username": None, "password": "", "otp": "1"}, [("username", "Required"), ("password", "Required")]),
            ({"username": 1, "password": True, "otp": {}},
             [("username", "Invalid_Value"), ("password", "Invalid_Value"), ("otp", "Invalid_Value")]),
            ({"otp": 123456, "username": "x", "password": "y"}, [("otp", "Invalid_Value")]),
            ({"username": "x", "password": ["y"]}, [("password", "Invalid_Value"), ("otp", "Required")]),
        ]
        for payload, codes in cases:
            self.assertEnvelopeError(self.server.post_json(LOGIN, payload), 400, codes)

    def test_wrong_credentials(self):
        user = self.new_user()
        incorrect = [("", "Username_Or_Password_Incorrect")]
        self.assertEnvelopeError(self.server.login(user, password="wrong-password"), 400, incorrect)
        self.assertEnvelopeError(self.server.login(user, otp="000000" if totp(user["totpSecret"]) != "000000" else "111111"), 400, incorrect)
        self.assertEnvelopeError(self.server.login(user, otp=totp(user["totpSecret"], step_offset=-3)), 400, incorrect)
        self.assertEnvelopeError(self.server.login(user, username=unique("ghost")), 400, incorrect)
        self.assertEnvelopeError(self.server.login(user, otp="12345"), 400, incorrect)
        self.assertEqual(self.server.login(user).status, 200)

    def test_otp_within_skew_and_single_use(self):
        user = self.new_user()
        code = totp(user["totpSecret"], step_offset=-1)
        self.assertEqual(self.server.login(user, otp=code).status, 200)
        self.assertEnvelopeError(self.server.login(user, otp=code), 400,
                                 [("", "Username_Or_Password_Incorrect")])
        # Another step's code still works.
        self.assertEqual(self.server.login(user, otp=totp(user["totpSecret"], step_offset=1)).status, 200)

    def test_concurrent_logins_with_one_otp_have_one_winner(self):
        user = self.new_user()
        code = totp(user["totpSecret"])
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.server.login(user, otp=code).status))
                   for _ in range(6)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(sorted(results), [200] + [400] * 5)

    def test_account_statuses(self):
        for status, code in [("unverified", "Account_Not_Verified"), ("suppressed", "Account_Suppressed")]:
            user = self.new_user(status=status)
            self.assertEnvelopeError(self.server.login(user), 400, [("", code)])
            # Wrong credentials still answer as wrong credentials (status is not revealed).
            self.assertEnvelopeError(self.server.login(user, password="nope"), 400,
                                     [("", "Username_Or_Password_Incorrect")])

    def test_lockout_after_five_failures_and_unlock(self):
        user = self.new_user()
        for _ in range(5):
            self.assertEnvelopeError(self.server.login(user, password="bad"), 400,
                                     [("", "Username_Or_Password_Incorrect")])
        # Locked: even the right credentials are refused without a check.
        self.assertEnvelopeError(self.server.login(user), 400, [("", "Account_Locked")])
        shown = json.loads(self.server.cli("user", "show", user["username"], "--json").stdout)
        self.assertTrue(shown["locked"])
        self.server.cli("user", "unlock", user["username"])
        self.assertEqual(self.server.login(user, otp=totp(user["totpSecret"], step_offset=-1)).status, 200)
        events = [e for e in self.server.audit_events() if e.get("username") == user["username"]]
        self.assertTrue(any(e["event"] == "lock" for e in events), events)

    def test_success_resets_failure_count(self):
        user = self.new_user()
        for _ in range(4):
            self.server.login(user, password="bad")
        self.assertEqual(self.server.login(user).status, 200)
        for _ in range(4):
            self.server.login(user, password="bad")
        self.assertEqual(self.server.login(user, otp=totp(user["totpSecret"], step_offset=1)).status, 200)

    def test_concurrent_failures_check_at_most_max_passwords(self):
        user = self.new_user()
        results = []
        lock = threading.Lock()

        def attempt():
            response = self.server.login(user, password="wrong")
            with lock:
                results.append(response.codes[0][1])

        threads = [threading.Thread(target=attempt) for _ in range(30)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(len(results), 30)
        self.assertLessEqual(results.count("Username_Or_Password_Incorrect"), 5, results)
        self.assertEqual(results.count("Username_Or_Password_Incorrect") + results.count("Account_Locked"), 30)
        checks = [e for e in self.server.audit_events()
                  if e.get("username") == user["username"] and e.get("reason") == "wrong_password"]
        self.assertLessEqual(len(checks), 5)
        self.assertEnvelopeError(self.server.login(user), 400, [("", "Account_Locked")])

    def test_unknown_usernames_lock_the_same_way(self):
        ghost = {"username": unique("ghost"), "password": "x", "totpSecret": "JBSWY3DPEHPK3PXP"}
        answers = [self.server.login(ghost).codes for _ in range(7)]
        self.assertEqual(answers[:5], [[("", "Username_Or_Password_Incorrect")]] * 5)
        self.assertEqual(answers[5:], [[("", "Account_Locked")]] * 2)


class RefreshTest(SharedServerTest):
    def test_rotation(self):
        user, tokens = self.logged_in()
        response = self.server.refresh(tokens["refreshToken"])
        self.assertEqual(response.status, 200, response)
        details = response.json["details"]
        self.assertEqual(response.json["id"], user["id"])
        self.assertNotEqual(details["refreshToken"], tokens["refreshToken"])
        self.assertNotEqual(details["accessToken"], tokens["accessToken"])
        self.assertEqual(self.server.verify(details["accessToken"], totp(user["totpSecret"])).status, 200)
        self.assertEqual(self.server.refresh(details["refreshToken"]).status, 200)

    def test_reuse_of_a_rotated_token_revokes_the_session(self):
        user, tokens = self.logged_in()
        rotated = self.server.refresh(tokens["refreshToken"]).json["details"]
        self.assertEnvelopeError(self.server.refresh(tokens["refreshToken"]), 401,
                                 [("refreshToken", "Token_Invalid")])
        # Every token of the session is dead now.
        self.assertEnvelopeError(self.server.refresh(rotated["refreshToken"]), 401,
                                 [("refreshToken", "Token_Invalid")])
        self.assertEnvelopeError(self.server.verify(rotated["accessToken"], totp(user["totpSecret"])),
                                 401, [("Authorization", "Token_Invalid")])

    def test_tokens_are_an_id_and_a_secret_stored_as_its_hash(self):
        """docs/decisions.md: "<id>.<secret>"; the id finds the row, only the secret proves it."""
        user, tokens = self.logged_in()
        first = tokens["refreshToken"]
        self.assertRegex(first, r"^[1-9][0-9]*\.[A-Za-z0-9_-]{43}$")
        row, secret = first.split(".")
        other = self.logged_in()[1]["refreshToken"].split(".")[1]
        for forged in (row + "." + other, row + "." + secret[:-1], str(int(row) + 1) + "." + secret,
                       "0" + first, row + ".." + secret, secret):
            self.assertEnvelopeError(self.server.refresh(forged), 401, [("refreshToken", "Token_Invalid")])
        second = self.server.refresh(first).json["details"]["refreshToken"]  # nothing was revoked
        self.assertRegex(second, r"^[1-9][0-9]*\.[A-Za-z0-9_-]{43}$")
        self.assertEnvelopeError(self.server.refresh(row + "." + other), 401, [("refreshToken", "Token_Invalid")])
        self.assertEqual(self.server.refresh(second).status, 200)  # a rotated row's id: no reuse
        db = os.path.join(self.server.dir, "authgate-data", "authgate.db")
        dump = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True).stdout
        self.assertIn("INSERT INTO refresh_tokens", dump)
        for token in (first, second):
            self.assertNotIn(token.split(".")[1], dump)

    def test_concurrent_refreshes_have_one_winner(self):
        for _ in range(3):
            _, tokens = self.logged_in()
            results = []
            threads = [threading.Thread(target=lambda: results.append(self.server.refresh(tokens["refreshToken"]).status))
                       for _ in range(2)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            self.assertEqual(sorted(results), [200, 401])

    def test_errors(self):
        self.assertEnvelopeError(self.server.refresh("no-such-token"), 401, [("refreshToken", "Token_Invalid")])
        self.assertEnvelopeError(self.server.post_json(REFRESH, {}), 400, [("refreshToken", "Required")])
        self.assertEnvelopeError(self.server.post_json(REFRESH, {"refreshToken": ""}), 400, [("refreshToken", "Required")])
        self.assertEnvelopeError(self.server.post_json(REFRESH, {"refreshToken": 5}), 400, [("refreshToken", "Invalid_Value")])
        self.assertEnvelopeError(self.server.post_json(REFRESH, "[]"), 400, [("", "Invalid_Json")])
        self.assertEnvelopeError(self.server.post_json(REFRESH, {"refreshToken": "x"}, content_type="text/plain"),
                                 415, [("", "Unsupported_Media_Type")])

    def test_status_change_blocks_refresh(self):
        user, tokens = self.logged_in()
        self.server.cli("user", "set-status", user["username"], "suppressed")
        self.assertEnvelopeError(self.server.refresh(tokens["refreshToken"]), 400, [("", "Account_Suppressed")])
        self.server.cli("user", "set-status", user["username"], "unverified")
        self.assertEnvelopeError(self.server.refresh(tokens["refreshToken"]), 400, [("", "Account_Not_Verified")])
        self.server.cli("user", "set-status", user["username"], "active")
        self.assertEqual(self.server.refresh(tokens["refreshToken"]).status, 200)


class VerifyTest(SharedServerTest):
    def assertAuthError(self, response, status, codes):
        self.assertEnvelopeError(response, status, codes)
        self.assertEqual(response.header("WWW-Authenticate"), 'Bearer realm="authgate"')
        self.assertEqual((response.header("X-Auth-Error-Field"), response.header("X-Auth-Error-Code")), codes[0])

    def test_success(self):
        user, tokens = self.logged_in()
        response = self.server.verify(tokens["accessToken"], totp(user["totpSecret"]))
        self.assertEqual(response.status, 200, response)
        details = response.json["details"]
        self.assertEqual(response.json["id"], user["id"])
        self.assertEqual(details["userId"], user["id"])
        self.assertEqual(details["username"], user["username"])
        self.assertIsInstance(details["sessionId"], str)
        self.assertGreater(details["expiresAt"], time.time())
        self.assertEqual(response.header("X-Auth-User-Id"), str(user["id"]))
        self.assertEqual(response.header("X-Auth-Username"), user["username"])
        # The request otp may be reused within its window, and neighbours are accepted.
        for offset in (0, -1, 1, 0):
            self.assertEqual(self.server.verify(tokens["accessToken"], totp(user["totpSecret"], step_offset=offset)).status, 200)

    def test_check_order(self):
        user, tokens = self.logged_in()
        good_otp = totp(user["totpSecret"])
        self.assertAuthError(self.server.verify(None, None), 401, [("Authorization", "Required")])
        self.assertAuthError(self.server.verify(None, good_otp), 401, [("Authorization", "Required")])
        for header in ["Basic abc", "Bearer", "Bearer ", tokens["accessToken"], "Bearer a.b.c",
                       "Bearer " + tokens["accessToken"] + "x", "Bearer " + tokens["accessToken"] + " extra",
                       "Bearer " + "A" * 5000]:
            response = self.server.request("GET", VERIFY, headers={"Authorization": header, "otp": good_otp})
            self.assertAuthError(response, 401, [("Authorization", "Token_Invalid")])
        self.assertAuthError(self.server.verify(tokens["accessToken"], None), 401, [("otp", "Required")])
        self.assertAuthError(self.server.verify(tokens["accessToken"], ""), 401, [("otp", "Required")])
        wrong = "000000" if good_otp != "000000" else "111111"
        self.assertAuthError(self.server.verify(tokens["accessToken"], wrong), 401, [("otp", "Otp_Incorrect")])
        self.assertAuthError(self.server.verify(tokens["accessToken"], "abc"), 401, [("otp", "Otp_Incorrect")])

    def test_tampered_tokens_are_refused_after_the_original_was_cached(self):
        user, tokens = self.logged_in()
        victim, _ = self.logged_in()
        otp = totp(user["totpSecret"])
        self.assertEqual(self.server.verify(tokens["accessToken"], otp).status, 200)  # now cached
        header, payload, signature = tokens["accessToken"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = str(victim["id"])
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        for token in [header + "." + forged_payload + "." + signature,  # payload changed
                      header + "." + payload + "." + flipped,          # signature changed
                      header + "." + payload + "." + signature + "="]:  # a trailing byte
            with self.subTest(token=token):
                self.assertAuthError(self.server.verify(token, otp), 401, [("Authorization", "Token_Invalid")])
        self.assertEqual(self.server.verify(tokens["accessToken"], otp).status, 200)

    def test_scheme_is_case_insensitive(self):
        user, tokens = self.logged_in()
        response = self.server.request("GET", VERIFY, headers={"Authorization": "bearer " + tokens["accessToken"],
                                                               "otp": totp(user["totpSecret"])})
        self.assertEqual(response.status, 200)

    def test_doubled_headers(self):
        user, tokens = self.logged_in()
        good = "Bearer " + tokens["accessToken"]
        response = self.server.request("GET", VERIFY, headers=[("Authorization", good), ("Authorization", good),
                                                               ("otp", totp(user["totpSecret"]))])
        self.assertAuthError(response, 401, [("Authorization", "Token_Invalid")])
        code = totp(user["totpSecret"])
        response = self.server.request("GET", VERIFY, headers=[("Authorization", good), ("otp", code), ("otp", code)])
        self.assertAuthError(response, 401, [("otp", "Otp_Incorrect")])

    def test_another_users_otp_is_refused(self):
        user, tokens = self.logged_in()
        other = self.new_user()
        self.assertAuthError(self.server.verify(tokens["accessToken"], totp(other["totpSecret"])), 401,
                             [("otp", "Otp_Incorrect")])

    def test_status_change_is_seen_and_reversible(self):
        user, tokens = self.logged_in()
        code = lambda: totp(user["totpSecret"])
        self.warm(user, tokens)
        self.server.cli("user", "set-status", user["username"], "suppressed")
        response = wait_until(lambda: (lambda r: r if r.status == 403 else None)(self.server.verify(tokens["accessToken"], code())), 1.0)
        self.assertIsNotNone(response, "status change not seen within 1 s")
        self.assertAuthError(response, 403, [("", "Account_Suppressed")])
        self.server.cli("user", "set-status", user["username"], "unverified")
        response = wait_until(lambda: (lambda r: r if r.codes == [("", "Account_Not_Verified")] else None)(self.server.verify(tokens["accessToken"], code())), 1.0)
        self.assertIsNotNone(response)
        self.assertAuthError(response, 403, [("", "Account_Not_Verified")])
        self.server.cli("user", "set-status", user["username"], "active")
        self.assertTrue(wait_until(lambda: self.server.verify(tokens["accessToken"], code()).status == 200, 1.0))

    def test_wrong_otps_revoke_the_session(self):
        user, tokens = self.logged_in()
        good = totp(user["totpSecret"])
        wrong = "000000" if good not in ("000000",) else "111111"
        for _ in range(4):
            self.assertEqual(self.server.verify(tokens["accessToken"], wrong).codes, [("otp", "Otp_Incorrect")])
        # A success in between resets nothing (SPEC §10.5: a window, not a streak): the fifth
        # wrong code within lockout.duration_s revokes the session.
        self.assertEqual(self.server.verify(tokens["accessToken"], good).status, 200)
        self.assertEqual(self.server.verify(tokens["accessToken"], wrong).codes, [("otp", "Otp_Incorrect")])
        self.assertAuthError(self.server.verify(tokens["accessToken"], totp(user["totpSecret"])), 401,
                             [("Authorization", "Token_Invalid")])
        self.assertEqual(self.server.refresh(tokens["refreshToken"]).status, 401)

    def test_logout_revokes_access_and_refresh_at_once(self):
        user, tokens = self.logged_in()
        self.warm(user, tokens)
        code = totp(user["totpSecret"])
        response = self.server.logout(tokens["accessToken"], code)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json, {"id": user["id"], "details": None, "status": "1", "errors": []})
        self.assertAuthError(self.server.verify(tokens["accessToken"], code), 401, [("Authorization", "Token_Invalid")])
        self.assertEnvelopeError(self.server.refresh(tokens["refreshToken"]), 401, [("refreshToken", "Token_Invalid")])
        self.assertAuthError(self.server.logout(tokens["accessToken"], code), 401, [("Authorization", "Token_Invalid")])

    def test_logout_requires_credentials(self):
        response = self.server.request("POST", LOGOUT)
        self.assertAuthError(response, 401, [("Authorization", "Required")])

    def test_other_sessions_survive_a_logout(self):
        user = self.new_user()
        first = self.server.login(user).json["details"]
        second = self.server.login(user, otp=totp(user["totpSecret"], step_offset=1)).json["details"]
        code = totp(user["totpSecret"])
        self.assertEqual(self.server.logout(first["accessToken"], code).status, 200)
        self.assertEqual(self.server.verify(second["accessToken"], code).status, 200)

    def test_passwd_and_reset_totp_end_every_session(self):
        user, tokens = self.logged_in()
        self.warm(user, tokens)
        self.server.cli("user", "passwd", user["username"], "--password-stdin", stdin="new-password-1\n")
        self.assertTrue(wait_until(lambda: self.server.verify(tokens["accessToken"], totp(user["totpSecret"])).status == 401, 1.0))
        self.assertEqual(self.server.refresh(tokens["refreshToken"]).status, 401)
        user["password"] = "new-password-1"
        fresh = self.server.login(user, otp=totp(user["totpSecret"], step_offset=1))
        self.assertEqual(fresh.status, 200, fresh)
        reset = json.loads(self.server.cli("user", "reset-totp", user["username"], "--json").stdout)
        self.assertEqual(set(reset), {"username", "totpSecret", "otpauthUri"})
        self.assertNotEqual(reset["totpSecret"], user["totpSecret"])
        self.assertTrue(wait_until(lambda: self.server.verify(fresh.json["details"]["accessToken"],
                                                              totp(reset["totpSecret"])).status == 401, 1.0))
        user["totpSecret"] = reset["totpSecret"]
        self.assertEqual(self.server.login(user).status, 200)
        revocations = [e for e in self.server.audit_events()
                       if e["event"] == "revocation" and e.get("username") == user["username"]]
        self.assertEqual(len(revocations), 2, revocations)


class HttpBehaviourTest(SharedServerTest):
    def test_unknown_paths_and_methods(self):
        for path in ["/", "/api/v1/unknown", "/api/v1/public/auth/login/x", "/API/V1/AUTH/VERIFY"]:
            self.assertEnvelopeError(self.server.request("GET", path), 404, [("", "Not_Found")])
        for method, path in [("GET", LOGIN), ("PUT", REFRESH), ("POST", VERIFY), ("DELETE", VERIFY),
                             ("GET", LOGOUT), ("POST", "/healthz")]:
            response = self.server.request(method, path)
            self.assertEnvelopeError(response, 405, [("", "Method_Not_Allowed")])
            self.assertIsNotNone(response.header("Allow"))

    def test_body_limit(self):
        limit = 16384
        prefix = '{"username":"x","password":"y","otp":"123456","pad":"'
        exact = prefix + "a" * (limit - len(prefix) - 2) + '"}'
        self.assertEqual(len(exact), limit)
        response = self.server.post_json(LOGIN, exact)
        self.assertEnvelopeError(response, 400, [("", "Username_Or_Password_Incorrect")])
        response = self.server.post_json(LOGIN, exact[:-2] + 'a"}')
        self.assertEnvelopeError(response, 413, [("", "Payload_Too_Large")])
        # A declared length over the limit is refused before the body is read.
        answer = self.server.raw(b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:100])
        self.assertIn(b'"Payload_Too_Large"', answer)

    def test_operations_endpoints(self):
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)
        self.assertEqual(self.server.request("GET", "/readyz").status, 200)
        jwks = self.server.request("GET", "/.well-known/jwks.json")
        self.assertEqual(jwks.status, 200)
        self.assertEqual(jwks.json, {"keys": []})
        user, tokens = self.logged_in()
        self.server.verify(tokens["accessToken"], totp(user["totpSecret"]))
        self.assertEqual(self.server.verify(tokens["accessToken"], None).status, 401)
        metrics = self.server.management("GET", "/metrics")
        self.assertEqual(metrics.status, 200)
        for name in ["authgate_logins_total", "authgate_verifications_total",
                     "authgate_request_duration_seconds_bucket", "authgate_locks_total",
                     "authgate_hash_queue_depth"]:
            self.assertIn(name, metrics.body)
        self.assertIn('authgate_logins_total{result="success"}', metrics.body)
        self.assertIn('authgate_verifications_total{result="success"}', metrics.body)
        # Prometheus text format: HELP/TYPE comments, then `name{labels} value` samples whose
        # family was declared by a TYPE line.
        import re
        sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_]+="[^"\\]*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|\+Inf|NaN)$')
        declared = set()
        for line in metrics.body.splitlines():
            if line.startswith("# TYPE "):
                name, kind = line.split()[2:4]
                self.assertIn(kind, ("counter", "gauge", "histogram"))
                declared.add(name)
            elif line.startswith("# HELP "):
                continue
            else:
                match = sample.match(line)
                self.assertIsNotNone(match, line)
                family = re.sub(r"_(bucket|sum|count)$", "", match.group(1))
                self.assertTrue(match.group(1) in declared or family in declared, line)
        self.assertEqual(metrics.header("Content-Type").split(";")[0], "text/plain")
        # Requests are counted and timed per endpoint and result (status).
        values = {}
        for line in metrics.body.splitlines():
            if not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                values[key] = float(value)
        for status in ("200", "401"):
            labels = 'endpoint="/api/v1/auth/verify",status="%s"' % status
            self.assertGreaterEqual(values["authgate_http_requests_total{%s}" % labels], 1)
            self.assertGreaterEqual(values["authgate_request_duration_seconds_count{%s}" % labels], 1)
            self.assertEqual(values["authgate_request_duration_seconds_bucket{%s,le=\"+Inf\"}" % labels],
                             values["authgate_request_duration_seconds_count{%s}" % labels])
        self.assertGreaterEqual(
            values['authgate_http_requests_total{endpoint="/api/v1/public/auth/login",status="200"}'], 1)
        self.assertEqual(values["authgate_requests_in_progress"], 0)

    def test_malformed_http_keeps_the_server_serving(self):
        garbage = [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                   b"POST " + LOGIN.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
                   b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n",
                   b"\x00\x01\x02\xff" * 100]
        for data in garbage:
            answer = self.server.raw(data, read_timeout=3)
            if answer:
                self.assertTrue(answer.startswith(b"HTTP/1.1 4"), answer[:100])
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_pipelined_requests_are_answered_in_order(self):
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        last = b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        answer = self.server.raw(request * 3 + last)
        self.assertEqual(answer.count(b"HTTP/1.1 200"), 3)
        self.assertTrue(answer.rstrip().endswith(b'"Not_Found"}],"id":0,"status":"0"}') or b"Not_Found" in answer)

    def test_audit_lines_carry_no_secrets(self):
        user, tokens = self.logged_in()
        self.server.refresh(tokens["refreshToken"])
        with open(self.server.env["AUTHGATE_LOG_AUDIT_FILE"]) as f:
            text = f.read()
        for secret in [user["password"], user["totpSecret"], tokens["refreshToken"], tokens["accessToken"]]:
            self.assertNotIn(secret, text)
        events = {e["event"] for e in self.server.audit_events()}
        self.assertTrue({"login", "refresh"} <= events, events)


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self.server = AuthgateServer(start=False)

    def tearDown(self):
        self.server.close()

    def assertFailsWithOneLine(self, *args, stdin=None):
        result = self.server.cli(*args, stdin=stdin, check=False)
        self.assertNotEqual(result.returncode, 0, args)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertTrue(result.stderr.startswith("authgate: "), result.stderr)
        return result

    def test_user_add_outputs(self):
        created = json.loads(self.server.cli("user", "add", "alice", "--json").stdout)
        self.assertEqual(set(created), {"id", "username", "status", "password", "totpSecret", "otpauthUri"})
        self.assertEqual(created["status"], "active")
        self.assertRegex(created["totpSecret"], r"^[A-Z2-7]{32}$")
        self.assertTrue(created["otpauthUri"].startswith("otpauth://totp/authgate:alice?secret=" + created["totpSecret"]))
        given = json.loads(self.server.cli("user", "add", "bob", "--json", "--password-stdin", "--status", "suppressed",
                                           stdin="s3cret passphrase\n").stdout)
        self.assertNotIn("password", given)
        self.assertEqual(given["status"], "suppressed")
        text = self.server.cli("user", "add", "carol").stdout
        self.assertIn("TOTP secret:", text)
        self.assertIn("otpauth://totp/", text)
        self.assertIn("Password:", text)

    def test_qr_png(self):
        import struct
        created = json.loads(self.server.cli("user", "add", "alice", "--json", "--qr-png", "alice.png").stdout)
        path = os.path.join(self.server.dir, "alice.png")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)  # it encodes the TOTP secret
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", data[16:24])
        self.assertEqual(width, height)
        # 8-pixel modules with a 4-module quiet zone around a QR code of version 1-40.
        self.assertEqual(width % 8, 0)
        self.assertTrue(21 + 8 <= width // 8 <= 177 + 8, width)
        self.assertIn("alice", created["otpauthUri"])
        # A failed add leaves no PNG behind.
        self.server.cli("user", "add", "alice", "--qr-png", "again.png", check=False)
        self.assertFalse(os.path.exists(os.path.join(self.server.dir, "again.png")))

    def test_show_and_list_never_print_secrets(self):
        created = json.loads(self.server.cli("user", "add", "alice", "--json").stdout)
        outputs = [self.server.cli("user", "show", "alice", "--json").stdout,
                   self.server.cli("user", "show", "alice").stdout,
                   self.server.cli("user", "list", "--json").stdout,
                   self.server.cli("user", "list").stdout]
        for output in outputs:
            self.assertNotIn(created["password"], output)
            self.assertNotIn(created["totpSecret"], output)
            self.assertNotIn("argon2", output)
        shown = json.loads(outputs[0])
        self.assertEqual(shown["username"], "alice")
        self.assertEqual(shown["status"], "active")
        self.assertEqual(json.loads(outputs[2])[0]["username"], "alice")

    def test_misuse_is_one_line_and_changes_nothing(self):
        self.server.cli("user", "add", "alice", "--json")
        before = self.server.cli("user", "list", "--json").stdout
        self.assertFailsWithOneLine("user", "add", "alice")
        self.assertFailsWithOneLine("user", "add", "bad name")
        self.assertFailsWithOneLine("user", "add", "x", "--status", "gone")
        self.assertFailsWithOneLine("user", "add", "y", "--password-stdin", stdin="")
        self.assertFailsWithOneLine("user", "set-status", "alice", "frozen")
        self.assertFailsWithOneLine("user", "set-status", "nobody", "active")
        self.assertFailsWithOneLine("user", "unlock", "nobody")
        self.assertFailsWithOneLine("user", "show", "nobody")
        self.assertFailsWithOneLine("user", "passwd", "nobody", "--password-stdin", stdin="pw\n")
        self.assertFailsWithOneLine("user", "reset-totp", "nobody")
        self.assertFailsWithOneLine("user", "list", "--db", "mysql://localhost/x")
        self.assertFailsWithOneLine("user", "list", "--config", "/nonexistent/authgate.toml")
        self.assertFailsWithOneLine("totp", "not-base32!")
        self.assertFailsWithOneLine("user", "frobnicate")
        self.assertFailsWithOneLine("user")
        self.assertEqual(self.server.cli("user", "list", "--json").stdout, before)

    def test_config_errors_name_the_key(self):
        path = os.path.join(self.server.dir, "bad.toml")
        with open(path, "w") as f:
            f.write("[lockout]\nmax_attempts = 3\n")
        result = self.assertFailsWithOneLine("user", "list", "--config", path)
        self.assertIn("lockout.max_attempts", result.stderr)
        with open(path, "w") as f:
            f.write("[lockout]\nduration_s = \"long\"\n")
        self.assertIn("lockout.duration_s", self.assertFailsWithOneLine("user", "list", "--config", path).stderr)
        self.server.env["AUTHGATE_LOCKOUT_DURATION_S"] = "-3"
        self.assertIn("lockout.duration_s", self.assertFailsWithOneLine("user", "list").stderr)

    def test_db_selection_precedence(self):
        other = os.path.join(self.server.dir, "other.db")
        self.server.cli("user", "add", "viaflag", "--db", "sqlite:" + other)
        self.server.env["AUTHGATE_DB"] = "sqlite:" + other
        names = [u["username"] for u in json.loads(self.server.cli("user", "list", "--json").stdout)]
        self.assertEqual(names, ["viaflag"])
        del self.server.env["AUTHGATE_DB"]
        self.server.env["AUTHGATE_STORAGE_URL"] = "sqlite:" + other
        names = [u["username"] for u in json.loads(self.server.cli("user", "list", "--json").stdout)]
        self.assertEqual(names, ["viaflag"])
        del self.server.env["AUTHGATE_STORAGE_URL"]
        self.assertEqual(json.loads(self.server.cli("user", "list", "--json").stdout), [])

    def test_data_at_rest(self):
        created = json.loads(self.server.cli("user", "add", "alice", "--json").stdout)
        key = os.path.join(self.server.dir, "authgate-data", "master.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.path.getsize(key), 32)
        db = os.path.join(self.server.dir, "authgate-data", "authgate.db")
        dump = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True).stdout
        self.assertIn("$argon2id$", dump)
        self.assertNotIn(created["password"], dump)
        self.assertNotIn(created["totpSecret"], dump)

    def test_bulk_import_is_all_or_nothing_and_export_has_no_secrets(self):
        d = self.server.dir
        with open(os.path.join(d, "bad.csv"), "w") as f:
            f.write("username,status\nann\nben,suppressed\nbad name\n")
        result = self.assertFailsWithOneLine("user", "import", "bad.csv", "--out", "x.csv")
        self.assertIn("bad.csv:4:", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "x.csv")))
        self.server.cli("user", "add", "taken")
        with open(os.path.join(d, "clash.csv"), "w") as f:
            f.write("new1\ntaken\n")
        result = self.assertFailsWithOneLine("user", "import", "clash.csv", "--out", "x.csv")
        self.assertIn("clash.csv:2:", result.stderr)
        self.assertEqual([u["username"] for u in json.loads(self.server.cli("user", "list", "--json").stdout)], ["taken"])
        with open(os.path.join(d, "good.csv"), "w") as f:
            f.write("username,status\nann\nben,suppressed\n")
        self.server.cli("user", "import", "good.csv", "--out", "secrets.csv")
        secrets_path = os.path.join(d, "secrets.csv")
        self.assertEqual(os.stat(secrets_path).st_mode & 0o777, 0o600)
        with open(secrets_path) as f:
            rows = [line.strip().split(",") for line in f][1:]
        self.assertEqual([r[0] for r in rows], ["ann", "ben"])
        exported = self.server.cli("user", "export").stdout
        self.assertIn("ben,suppressed", exported)
        for row in rows:
            self.assertNotIn(row[1], exported)
            self.assertNotIn(row[2], exported)
        self.server.start()
        ann = {"username": "ann", "password": rows[0][1], "totpSecret": rows[0][2]}
        self.assertEqual(self.server.login(ann).status, 200)

    def test_export_neutralises_formula_names(self):
        # `user add` accepts names starting with + - @ (not =: no path creates such a name).
        self.server.cli("user", "add", "+cmd")
        with open(os.path.join(self.server.dir, "formulas.csv"), "w") as f:
            f.write("-2+3\n@SUM\nplain\n")
        self.server.cli("user", "import", "formulas.csv", "--out", "secrets.csv")
        rows = [line.split(",") for line in self.server.cli("user", "export").stdout.splitlines()[1:]]
        self.assertEqual([row[1] for row in rows], ["'+cmd", "'-2+3", "'@SUM", "plain"])
        self.assertEqual([row[2] for row in rows], ["active"] * 4)

    def master_key(self):
        return os.path.join(self.server.dir, "authgate-data", "master.key")

    def test_unsafe_master_key_files_are_refused(self):
        self.server.cli("user", "add", "alice")
        key = self.master_key()
        for mode in (0o644, 0o640, 0o620, 0o604, 0o660):
            os.chmod(key, mode)
            result = self.assertFailsWithOneLine("user", "list")
            self.assertIn("master key file authgate-data/master.key has mode %04o; it must be 0600 or stricter" % mode,
                          result.stderr)
        result = self.server.cli("serve", "--listen", "127.0.0.1:0", check=False)  # refused at once
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("has mode 0660", result.stderr)
        os.chmod(key, 0o400)
        self.server.cli("user", "list")
        # A symlink is judged by the file it leads to.
        os.chmod(key, 0o600)
        link = os.path.join(self.server.dir, "link.key")
        os.symlink(key, link)
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = link
        self.server.cli("user", "list")
        os.chmod(key, 0o644)
        self.assertIn("has mode 0644", self.assertFailsWithOneLine("user", "list").stderr)
        os.chmod(key, 0o600)
        # Not a regular file, or not 32 bytes: refused too.
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = self.server.dir
        self.assertIn("not a regular file", self.assertFailsWithOneLine("user", "list").stderr)
        short = os.path.join(self.server.dir, "short.key")
        with open(short, "wb") as f:
            f.write(b"x" * 31)
        os.chmod(short, 0o600)
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = short
        self.assertIn("exactly 32 bytes", self.assertFailsWithOneLine("user", "list").stderr)

    def other_master_key(self):
        path = os.path.join(self.server.dir, "other.key")
        with open(path, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(path, 0o600)
        return path

    def store_dump(self):
        db = os.path.join(self.server.dir, "authgate-data", "authgate.db")
        return subprocess.run(["sqlite3", db, ".dump"], capture_output=True, text=True, check=True).stdout

    def test_wrong_master_key_is_refused_and_writes_nothing(self):
        self.server.cli("user", "add", "alice")
        before = self.store_dump()
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = self.other_master_key()
        for args in (("user", "add", "mallory"), ("user", "reset-totp", "alice"), ("keys", "rotate"),
                     ("user", "list")):
            result = self.assertFailsWithOneLine(*args)
            self.assertIn("the master key does not match this store", result.stderr)
        result = self.server.cli("serve", "--listen", "127.0.0.1:0", check=False)
        self.assertIn("the master key does not match this store", result.stderr)
        # A store that has a key gets no new one: a missing key file is an error.
        missing = os.path.join(self.server.dir, "nokey", "master.key")
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = missing
        self.assertIn("cannot read master key", self.assertFailsWithOneLine("user", "add", "mallory").stderr)
        self.assertFalse(os.path.exists(missing))
        del self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"]
        self.assertEqual(self.store_dump(), before)
        self.assertEqual([u["username"] for u in json.loads(self.server.cli("user", "list", "--json").stdout)],
                         ["alice"])

    def test_a_store_without_a_check_value_is_checked_against_its_signing_keys(self):
        # A store made before the check existed: its signing keys tell the right key from another.
        self.server.cli("user", "add", "alice")
        self.server.cli("keys", "rotate")
        db = os.path.join(self.server.dir, "authgate-data", "authgate.db")
        subprocess.run(["sqlite3", db, "DELETE FROM settings"], check=True)
        self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"] = self.other_master_key()
        self.assertIn("does not match", self.assertFailsWithOneLine("user", "add", "mallory").stderr)
        del self.server.env["AUTHGATE_SECRETS_MASTER_KEY_FILE"]
        self.server.cli("user", "add", "bob")  # the right key: the check value is written now
        self.assertIn("master_key_check", self.store_dump())

    def test_error_lines_escape_control_bytes(self):
        result = self.assertFailsWithOneLine("user", "show", "\x1b[31mevil\x07")
        self.assertNotIn("\x1b", result.stderr)
        self.assertIn("no such user '\\x1b[31mevil\\x07'", result.stderr)
        with open(os.path.join(self.server.dir, "escape.csv"), "w") as f:
            f.write("ok\n\x1b]0;pwned\x07\n")
        result = self.assertFailsWithOneLine("user", "import", "escape.csv", "--out", "x.csv")
        self.assertIn("invalid username '\\x1b]0;pwned\\x07'", result.stderr)
        result = self.server.cli("user", "list", "--bogus\x1b[2J", check=False)  # CLI11 echoes it
        self.assertNotEqual(result.returncode, 0)
        self.assertNotIn("\x1b", result.stderr)
        self.assertIn("\\x1b[2J", result.stderr)

    def test_short_stdin_passwords_are_refused(self):
        result = self.assertFailsWithOneLine("user", "add", "bob", "--password-stdin", stdin="12345\n")
        self.assertIn("shorter than 12 bytes", result.stderr)
        self.assertEqual(json.loads(self.server.cli("user", "list", "--json").stdout), [])
        self.server.cli("user", "add", "bob", "--password-stdin", stdin="twelve bytes\n")
        self.assertFailsWithOneLine("user", "passwd", "bob", "--password-stdin", stdin="elevenbytes\n")
        self.server.cli("user", "passwd", "bob", "--password-stdin", stdin="another-good-one\n")

    def test_keys_rotate_keeps_old_tokens_valid(self):
        self.server.start()
        user = self.server.add_user("alice")
        old = self.server.login(user).json["details"]
        listing = self.server.cli("keys", "list").stdout
        self.assertIn("current", listing)
        self.server.cli("keys", "rotate")
        self.assertIn("retired", self.server.cli("keys", "list").stdout)
        time.sleep(0.5)
        new = self.server.login(user, otp=totp(user["totpSecret"], step_offset=1)).json["details"]
        kid = lambda token: json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
        self.assertNotEqual(kid(old["accessToken"]), kid(new["accessToken"]))
        code = totp(user["totpSecret"])
        self.assertEqual(self.server.verify(old["accessToken"], code).status, 200)
        self.assertEqual(self.server.verify(new["accessToken"], code).status, 200)


class ConfiguredServerTest(unittest.TestCase):
    """Tests that need a server of their own."""

    def test_expired_access_token(self):
        server = AuthgateServer({"AUTHGATE_TOKENS_ACCESS_TTL_S": "2"})
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            self.assertEqual(tokens["expiresIn"], 2)
            # Verified once (now in the verified-token cache): expiry must still be seen.
            self.assertEqual(server.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
            time.sleep(3.1)
            response = server.verify(tokens["accessToken"], totp(user["totpSecret"]))
            self.assertEqual(response.status, 401)
            self.assertEqual(response.codes, [("Authorization", "Token_Expired")])
            self.assertEqual(server.refresh(tokens["refreshToken"]).status, 200)
        finally:
            server.close()

    def test_ended_sessions_are_pruned(self):
        server = AuthgateServer({"AUTHGATE_TOKENS_ACCESS_TTL_S": "1",
                                 "AUTHGATE_TOKENS_REFRESH_TTL_S": "5"})
        database = os.path.join(server.dir, "authgate-data", "authgate.db")

        def sessions():
            with contextlib.closing(sqlite3.connect(database)) as db:
                return db.execute("SELECT count(*) FROM sessions").fetchone()[0]
        try:
            user = server.add_user("alice")
            ended = server.login(user).json["details"]
            self.assertEqual(sessions(), 1)
            time.sleep(5.1)  # both of its tokens have expired; the next login's live 5 s
            live = server.login(user, otp=totp(user["totpSecret"], step_offset=1)).json["details"]
            # The store is pruned at start, then every minute.
            server.stop()
            server.start()
            self.assertTrue(wait_until(lambda: sessions() == 1, timeout=10))
            response = server.verify(ended["accessToken"], totp(user["totpSecret"]))
            self.assertEqual(response.codes, [("Authorization", "Token_Expired")])
            response = server.refresh(ended["refreshToken"])
            self.assertEqual(response.codes, [("refreshToken", "Token_Invalid")])
            self.assertEqual(server.refresh(live["refreshToken"]).status, 200)
        finally:
            server.close()

    def test_event_loops_serve_and_drain_whether_or_not_they_yield(self):
        # never yield, kernel's slice; yield after (almost) every handler, the shortest slice
        for yield_after_us, slice_us in (("0", "0"), ("1", "100")):
            server = AuthgateServer({"AUTHGATE_SERVER_YIELD_AFTER_US": yield_after_us,
                                     "AUTHGATE_SERVER_SLICE_US": slice_us})
            try:
                user = server.add_user("alice")
                tokens = server.login(user).json["details"]
                code = totp(user["totpSecret"])
                for _ in range(20):
                    self.assertEqual(server.verify(tokens["accessToken"], code).status, 200)
                self.assertEqual(server.stop(), 0)
            finally:
                server.close()

    def test_refresh_replay_window(self):
        """SPEC §10.2: within the window the same answer, byte for byte; after it, reuse."""
        server = AuthgateServer({"AUTHGATE_TOKENS_REFRESH_REUSE_WINDOW_S": "2"})
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            first = server.refresh(tokens["refreshToken"])
            again = server.refresh(tokens["refreshToken"])
            self.assertEqual(first.status, 200)
            self.assertEqual(again.body, first.body)
            details = first.json["details"]
            self.assertEqual(server.verify(details["accessToken"], totp(user["totpSecret"])).status, 200)
            time.sleep(3.1)
            self.assertEqual(server.refresh(tokens["refreshToken"]).codes,
                             [("refreshToken", "Token_Invalid")])
            self.assertEqual(server.refresh(details["refreshToken"]).codes,
                             [("refreshToken", "Token_Invalid")])  # the session was revoked
            for value in ("-1", "61"):
                bad = AuthgateServer({"AUTHGATE_TOKENS_REFRESH_REUSE_WINDOW_S": value}, start=False)
                try:
                    result = bad.cli("user", "list", check=False)
                    self.assertNotEqual(result.returncode, 0)
                    self.assertIn("refresh_reuse_window_s", result.stderr)
                finally:
                    bad.close()
        finally:
            server.close()

    def test_lock_expires(self):
        server = AuthgateServer({"AUTHGATE_LOCKOUT_DURATION_S": "2", "AUTHGATE_LOCKOUT_MAX_FAILED_ATTEMPTS": "2"})
        try:
            user = server.add_user("alice")
            server.login(user, password="x")
            server.login(user, password="x")
            self.assertEqual(server.login(user).codes, [("", "Account_Locked")])
            time.sleep(3.1)
            self.assertEqual(server.login(user).status, 200)
        finally:
            server.close()

    def test_eddsa_tokens_and_jwks(self):
        server = AuthgateServer({"AUTHGATE_TOKENS_ALG": "EdDSA"})
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            header = json.loads(__import__("base64").urlsafe_b64decode(tokens["accessToken"].split(".")[0] + "=="))
            self.assertEqual(header["alg"], "EdDSA")
            keys = server.request("GET", "/.well-known/jwks.json").json["keys"]
            self.assertEqual(len(keys), 1)
            self.assertEqual(keys[0]["kid"], header["kid"])
            self.assertEqual((keys[0]["kty"], keys[0]["crv"], keys[0]["alg"]), ("OKP", "Ed25519", "EdDSA"))
            self.assertEqual(server.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
            server.cli("keys", "rotate")
            self.assertTrue(wait_until(lambda: len(server.request("GET", "/.well-known/jwks.json").json["keys"]) == 2, 1.0))
        finally:
            server.close()

    def test_hs256_server_refuses_eddsa_tokens(self):
        ed = AuthgateServer({"AUTHGATE_TOKENS_ALG": "EdDSA"})
        try:
            user = ed.add_user("alice")
            tokens = ed.login(user).json["details"]
            ed.stop()
            hs = AuthgateServer(directory=ed.dir)  # same store and keys, configured for HS256
            try:
                response = hs.verify(tokens["accessToken"], totp(user["totpSecret"]))
                self.assertEqual(response.codes, [("Authorization", "Token_Invalid")])
            finally:
                hs.close()
        finally:
            ed.close()

    def test_rate_limit(self):
        server = AuthgateServer({"AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S": "1", "AUTHGATE_RATELIMIT_BURST": "3"})
        try:
            answers = [server.post_json(LOGIN, {}) for _ in range(5)]
            self.assertEqual([a.status for a in answers[:3]], [400] * 3)
            self.assertEqual(answers[4].status, 429)
            self.assertEqual(answers[4].codes, [("", "Too_Many_Requests")])
            self.assertGreaterEqual(int(answers[4].header("Retry-After")), 1)
            self.assertEqual(server.request("GET", "/healthz").status, 200)  # not rate limited
        finally:
            server.close()

    def test_client_login_and_call_with_refresh(self):
        server = AuthgateServer({"AUTHGATE_TOKENS_ACCESS_TTL_S": "6"})
        try:
            user = server.add_user("carol")
            base = "http://127.0.0.1:%d" % server.port
            token_file = os.path.join(server.dir, "session.json")
            login = server.cli("client", "login", "--url", base, "--username", "carol", "--token-file", token_file,
                               stdin="%s\n%s\n" % (user["password"], user["totpSecret"]))
            self.assertIn("Logged in", login.stdout)
            self.assertEqual(os.stat(token_file).st_mode & 0o777, 0o600)
            first = json.load(open(token_file))
            called = server.cli("client", "call", "--token-file", token_file, base + VERIFY)
            self.assertEqual(json.loads(called.stdout)["details"]["username"], "carol")
            time.sleep(2)  # the access token now expires within 5 s: the client refreshes first
            called = server.cli("client", "call", "--token-file", token_file, base + VERIFY)
            self.assertEqual(json.loads(called.stdout)["status"], "1")
            self.assertNotEqual(json.load(open(token_file))["refreshToken"], first["refreshToken"])
            refused = server.cli("client", "call", "--token-file", token_file, "-X", "POST", base + VERIFY, check=False)
            self.assertEqual(refused.returncode, 1)
            self.assertIn("Method_Not_Allowed", refused.stdout)
            wrong = server.cli("client", "login", "--url", base, "--username", "carol", "--token-file", token_file + "2",
                               stdin="wrong\n%s\n" % user["totpSecret"], check=False)
            self.assertNotEqual(wrong.returncode, 0)
            self.assertFalse(os.path.exists(token_file + "2"))
        finally:
            server.close()

    def test_rate_limit_behind_a_trusted_proxy(self):
        server = AuthgateServer({"AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S": "0.1", "AUTHGATE_RATELIMIT_BURST": "2",
                                 "AUTHGATE_RATELIMIT_TRUSTED_PROXIES": "127.0.0.1"})
        try:
            via = lambda client: server.post_json(LOGIN, {}, headers={"X-Forwarded-For": client}).status
            # Each client behind the proxy has its own bucket...
            self.assertEqual([via("203.0.113.%d" % i) for i in range(1, 6)], [400] * 5)
            # ...and one client spraying is throttled, whatever it puts before the proxy's entry.
            self.assertEqual([via("198.51.100.7") for _ in range(3)], [400, 400, 429])
            self.assertEqual(via("1.2.3.4, 198.51.100.7"), 429)
        finally:
            server.close()

    def test_forwarded_junk_ports_and_rotating_ipv6_reach_429(self):
        # SPEC §10.5: a hop that is not an IP address is not believed; IPv6 is limited per /64.
        server = AuthgateServer({"AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S": "0.1", "AUTHGATE_RATELIMIT_BURST": "2",
                                 "AUTHGATE_RATELIMIT_TRUSTED_PROXIES": "127.0.0.1"})
        try:
            via = lambda client: server.post_json(LOGIN, {}, headers={"X-Forwarded-For": client}).status
            # Junk and ip:port hops all count against the proxy's own address.
            self.assertEqual([via("junk-%d" % i) for i in range(2)], [400, 400])
            self.assertEqual(via("1.2.3.4:5555"), 429)
            self.assertEqual(via("1.2.3.4:5556"), 429)
            self.assertEqual(via("[2001:db8::1]"), 429)
            # Every address of one /64 is one client.
            self.assertEqual([via("2001:db8:7:7::%x" % i) for i in range(1, 4)], [400, 400, 429])
            self.assertEqual(via("2001:db8:7:7:ffff:ffff:ffff:ffff"), 429)
            self.assertEqual(via("2001:db8:7:8::1"), 400)  # the next /64 is another client
            # An IPv4 client is one client however it is written.
            self.assertEqual([via("198.51.100.9"), via("::ffff:198.51.100.9")], [400, 400])
            self.assertEqual(via("::FFFF:198.51.100.9"), 429)
        finally:
            server.close()

    def test_untrusted_peers_cannot_choose_their_address(self):
        server = AuthgateServer({"AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S": "0.1", "AUTHGATE_RATELIMIT_BURST": "2"})
        try:
            statuses = [server.post_json(LOGIN, {}, headers={"X-Forwarded-For": "203.0.113.%d" % i}).status
                        for i in range(3)]
            self.assertEqual(statuses, [400, 400, 429])  # X-Forwarded-For ignored: one bucket
        finally:
            server.close()

    def test_hash_queue_full_answers_503(self):
        server = AuthgateServer({"AUTHGATE_SERVER_HASH_WORKERS": "1", "AUTHGATE_SERVER_HASH_QUEUE_MAX": "1",
                                 "AUTHGATE_PASSWORD_MEMORY_KIB": "65536", "AUTHGATE_PASSWORD_ITERATIONS": "3"})
        try:
            results = []
            lock = threading.Lock()

            def attempt(i):
                response = server.post_json(LOGIN, {"username": "u%d" % i, "password": "p", "otp": "123456"})
                with lock:
                    results.append(response)

            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            busy = [r for r in results if r.status == 503]
            self.assertTrue(busy, [r.status for r in results])
            self.assertEqual(busy[0].codes, [("", "Service_Unavailable")])
            self.assertIsNotNone(busy[0].header("Retry-After"))
            self.assertTrue(all(r.status in (400, 503) for r in results))
        finally:
            server.close()

    def test_sigterm_drains_in_flight_requests(self):
        server = AuthgateServer({"AUTHGATE_PASSWORD_MEMORY_KIB": "262144", "AUTHGATE_PASSWORD_ITERATIONS": "8"})
        try:
            user = server.add_user("alice")
            results = []
            thread = threading.Thread(target=lambda: results.append(server.login(user)))
            thread.start()
            # The login's hash takes seconds: wait until the server has it in progress.
            deadline = time.time() + 20
            while time.time() < deadline:
                metrics = server.metrics()
                if re.search(r"^authgate_requests_in_progress 1$", metrics, re.M):
                    break
                time.sleep(0.01)
            else:
                self.fail("the login never showed as in progress")
            self.assertEqual(results, [])
            code = server.stop(signal.SIGTERM)
            thread.join()
            self.assertEqual(code, 0)
            self.assertEqual(results[0].status, 200, results)
        finally:
            server.close()

    def test_sigterm_with_idle_and_silent_connections(self):
        server = AuthgateServer()
        try:
            idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            idle.request("GET", "/healthz")
            self.assertEqual(idle.getresponse().read()[:1], b"{")  # keep-alive, now idle
            silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            time.sleep(0.3)  # both accepted
            started = time.time()
            self.assertEqual(server.stop(signal.SIGTERM), 0)
            # The idle one is closed at once; the silent one gets its one-second grace, not the
            # 10 s request deadline.
            self.assertLess(time.time() - started, 5)
            self.assertEqual(silent.recv(10), b"")
            silent.close()
            idle.close()
        finally:
            server.close()

    def test_restart_keeps_state(self):
        server = AuthgateServer()
        try:
            user = server.add_user("alice")
            tokens = server.login(user).json["details"]
            for _ in range(2):
                server.login(user, password="bad")
            self.assertEqual(server.stop(), 0)
            server.start()
            self.assertEqual(server.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
            self.assertEqual(json.loads(server.cli("user", "show", "alice", "--json").stdout)["failedAttempts"], 2)
            self.assertEqual(server.refresh(tokens["refreshToken"]).status, 200)
        finally:
            server.close()

    def test_hash_helpers(self):
        # Passwords are verified by authgate-hasher processes, one per hash worker
        # (src/service/hasher_processes.h): low priority, nothing inherited, replaced when they
        # die, gone with the server.
        server = AuthgateServer({"AUTHGATE_SERVER_HASH_WORKERS": "3"})
        try:
            user = server.add_user("alice")
            helpers = hash_helpers(server.process.pid)
            self.assertEqual(len(helpers), 3)
            hasher = os.path.join(os.path.dirname(os.path.realpath(BIN)), "authgate-hasher")
            server_files = set(open_files(server.process.pid).values()) - {"/dev/null"}
            for pid in helpers:
                self.assertEqual(os.path.realpath("/proc/%d/exe" % pid), hasher)
                files = open_files(pid)
                self.assertTrue(files.pop("0").startswith("socket:"))
                self.assertEqual(files.pop("1"), "/dev/null")
                files.pop("2")  # the server's stderr
                # Nothing else of the server's (its listening socket, the store, the audit log);
                # a sanitizer's runtime may hold a file of its own.
                self.assertFalse(set(files.values()) & server_files, files)
                self.assertEqual(os.getpriority(os.PRIO_PROCESS, pid), 10)
            for pid in helpers:
                os.kill(pid, signal.SIGKILL)
            for offset in (-1, 0, 1):  # each login needs an unused otp step
                response = server.login(user, otp=totp(user["totpSecret"], step_offset=offset))
                self.assertEqual(response.status, 200, response)
                self.assertEqual(server.login(user, password="wrong").codes,
                                 [("", "Username_Or_Password_Incorrect")])
            replaced = hash_helpers(server.process.pid)
            self.assertEqual(len(replaced), 3)
            self.assertFalse(set(replaced) & set(helpers))
            metrics = server.metrics()
            self.assertIn('authgate_hash_helper_events_total{event="replaced"} 3\n', metrics)
            self.assertNotIn('event="in_process"', metrics)
            server.stop()
            self.assertTrue(wait_until(lambda: not any(alive(pid) for pid in replaced), 5))
            # Run by hand, the helper refuses: one line on stderr, exit code 2.
            result = subprocess.run([hasher], capture_output=True, text=True, timeout=10)
            self.assertEqual(result.returncode, 2)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1)
        finally:
            server.close()

    def test_startup_errors(self):
        server = AuthgateServer(start=False)
        try:
            path = os.path.join(server.dir, "c.toml")
            with open(path, "w") as f:
                f.write("[server]\nthreads = \"two\"\n")
            result = server.cli("serve", "--config", path, check=False)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("server.threads", result.stderr)
            result = server.cli("serve", "--listen", "nonsense", check=False)
            self.assertNotEqual(result.returncode, 0)
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main()
