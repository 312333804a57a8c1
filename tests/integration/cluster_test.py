"""Many instances on one PostgreSQL: three `authgate serve` behind a real nginx (round robin).

Needs the PostgreSQL server of the CTest fixture (AUTHGATE_TEST_PG_URL_FILE, AUTHGATE_PG_DIR)
and Debian's nginx.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import AuthgateServer, Nginx, empty_postgres, leave_room_in_step, totp, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
PG_DIR = os.environ.get("AUTHGATE_PG_DIR", "")
LOGIN = "/api/v1/public/auth/login"


def pg_control(action):
    subprocess.run(["bash", os.path.join(REPO, "scripts/pg-test-server.sh"), action, PG_DIR],
                   check=True, capture_output=True, timeout=60)


class Front(AuthgateServer):
    """Speaks to nginx with the harness's HTTP helpers."""

    def __init__(self, port, cli_server):
        self.port = port
        self.cli_server = cli_server
        self.process = None

    def cli(self, *args, **kwargs):
        return self.cli_server.cli(*args, **kwargs)

    def add_user(self, *args, **kwargs):
        return self.cli_server.add_user(*args, **kwargs)


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        url = empty_postgres()
        cls.shared = tempfile.mkdtemp(prefix="authgate-cluster-")
        env = {"AUTHGATE_DB": url,
               "AUTHGATE_SECRETS_MASTER_KEY_FILE": os.path.join(cls.shared, "master.key")}
        cls.env = env
        cls.instances = [AuthgateServer(env) for _ in range(3)]
        upstreams = "".join("    server 127.0.0.1:%d max_fails=0;\n" % i.port for i in cls.instances)
        cls.nginx = Nginx("""
  upstream authgate {
%s  }
  server {
    listen 127.0.0.1:%%(port)d;
    location / {
      proxy_pass http://authgate;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_connect_timeout 2s;
    }
  }
""" % upstreams)
        cls.front = Front(cls.nginx.port, cls.instances[0])

    @classmethod
    def tearDownClass(cls):
        cls.nginx.close()
        for instance in cls.instances:
            instance.close()
        shutil.rmtree(cls.shared, ignore_errors=True)

    def user(self):
        import uuid
        return self.front.add_user("c" + uuid.uuid4().hex[:10])

    def live(self):
        return [i for i in self.instances if i.process is not None]

    def test_01_requests_spread_over_instances(self):
        user = self.user()
        for _ in range(6):
            self.assertEqual(self.front.login(user, password="wrong").status, 400)
        served = [i for i in self.instances
                  if any(e.get("username") == user["username"] for e in i.audit_events())]
        self.assertEqual(len(served), 3)

    def test_02_lockout_is_exact_across_instances(self):
        user = self.user()
        answers = [self.front.login(user, password="wrong").codes[0][1] for _ in range(5)]
        self.assertEqual(answers, ["Username_Or_Password_Incorrect"] * 5)
        self.assertEqual(self.front.login(user).codes, [("", "Account_Locked")])
        # Concurrent failures on all instances at once: at most five password checks.
        other = self.user()
        results = []
        lock = threading.Lock()

        def attempt(target):
            code = target.login(other, password="wrong").codes[0][1]
            with lock:
                results.append(code)

        threads = [threading.Thread(target=attempt, args=(self.instances[n % 3],)) for n in range(30)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertLessEqual(results.count("Username_Or_Password_Incorrect"), 5, results)
        self.assertEqual(len(results), 30)
        # An unlock by the CLI is seen by every instance.
        self.front.cli("user", "unlock", user["username"])
        for n, instance in enumerate(self.instances):
            response = instance.login(user, otp=totp(user["totpSecret"], step_offset=n - 1))
            self.assertEqual(response.status, 200, (n, response))

    def test_03_refresh_rotation_across_instances(self):
        user = self.user()
        a, b, c = self.instances
        tokens = a.login(user).json["details"]
        rotated = b.refresh(tokens["refreshToken"])
        self.assertEqual(rotated.status, 200)
        self.assertEqual(c.refresh(tokens["refreshToken"]).codes, [("refreshToken", "Token_Invalid")])
        new = rotated.json["details"]
        self.assertEqual(a.refresh(new["refreshToken"]).status, 401)  # the session was revoked
        self.assertTrue(wait_until(lambda: all(
            i.verify(new["accessToken"], totp(user["totpSecret"])).status == 401 for i in self.instances), 1.0))
        # Two concurrent refreshes of one token on two instances: exactly one 200.
        for _ in range(3):
            tokens = a.login(self.user()).json["details"]
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(i.refresh(tokens["refreshToken"]).status))
                       for i in (b, c)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            self.assertEqual(sorted(results), [200, 401])

    def test_08_refresh_replay_window_across_instances(self):
        """SPEC §10.2: 10 concurrent refreshes of one token over 3 instances with a window get
        one rotation and 10 identical answers; the session lives on."""
        windowed = [AuthgateServer(dict(self.env, AUTHGATE_TOKENS_REFRESH_REUSE_WINDOW_S="30"))
                    for _ in range(3)]
        try:
            user = self.user()
            tokens = windowed[0].login(user).json["details"]
            answers = [None] * 10

            def refresh(k):
                answers[k] = windowed[k % 3].refresh(tokens["refreshToken"])

            threads = [threading.Thread(target=refresh, args=(k,)) for k in range(10)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            self.assertEqual([a.status for a in answers], [200] * 10, answers)
            details = [a.json["details"] for a in answers]
            self.assertTrue(all(d == details[0] for d in details), details)
            rotations = [e for i in windowed for e in i.audit_events()
                         if e["event"] == "refresh" and e.get("result") == "success"]
            self.assertEqual(sorted(e["replayed"] for e in rotations), [False] + [True] * 9)
            code = totp(user["totpSecret"])
            for instance in windowed:
                self.assertEqual(instance.verify(details[0]["accessToken"], code).status, 200)
            # The answer's refresh token is the current one: it rotates, once.
            following = windowed[1].refresh(details[0]["refreshToken"])
            self.assertEqual(following.status, 200)
            self.assertNotEqual(following.json["details"]["refreshToken"], details[0]["refreshToken"])
            # The first token is two generations old now: reuse, the session ends everywhere.
            self.assertEqual(windowed[2].refresh(tokens["refreshToken"]).codes,
                             [("refreshToken", "Token_Invalid")])
            access = following.json["details"]["accessToken"]
            self.assertTrue(wait_until(lambda: all(
                i.verify(access, totp(user["totpSecret"])).status == 401 for i in windowed), 1.0))
        finally:
            for instance in windowed:
                instance.close()

    def propagation(self, change, answered):
        """Makes `change`, then asks each instance until `answered(instance)` holds: returns
        whether every instance had answered so within a second, and the timeline of the calls
        (start offset, instance, status, duration) for the failure message."""
        leave_room_in_step(8)  # totp() waits near a step's end: never inside the timed second
        change()
        started = time.time()
        pending = list(self.instances)
        timeline = []
        while pending and time.time() - started < 1.0:
            for instance in list(pending):
                before = time.time()
                ok, status = answered(instance)
                timeline.append((round(before - started, 3), self.instances.index(instance), status,
                                 round(time.time() - before, 3)))
                if ok and time.time() - started < 1.0:
                    pending.remove(instance)
            time.sleep(0.02)
        return not pending, timeline

    def assert_seen_everywhere_within_a_second(self, change, answered, undo=None):
        # Measured twice at most (after `undo`): the machines are shared and noisy. (The 3 s
        # "stall" CI once saw was totp() waiting for the next step inside the timed second;
        # propagation() now leaves room in the step first.) A change that takes over a second
        # to reach an instance fails both attempts; the first timeline goes to stderr.
        ok, first = self.propagation(change, answered)
        if ok:
            return
        print("propagation over 1 s, measured again; timeline:", first, file=sys.stderr)
        if undo:
            undo()
        ok, second = self.propagation(change, answered)
        self.assertTrue(ok, (first, second))

    def test_04_logout_and_status_are_seen_everywhere_within_a_second(self):
        user = self.user()
        tokens = self.instances[0].login(user).json["details"]
        code = lambda: totp(user["totpSecret"])

        def warm(tokens, user=user):
            for instance in self.instances * 4:  # every instance (each event loop) has it cached
                self.assertEqual(instance.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)

        def status_is(status):
            def answered(instance):
                response = instance.verify(tokens["accessToken"], code())
                return response.status == status, response.status
            return answered

        def set_status(status):
            def change():
                self.front.cli("user", "set-status", user["username"], status)
            return change

        def back_to(status, seen):
            def undo():
                set_status(status)()
                self.assertTrue(wait_until(lambda: all(seen(i)[0] for i in self.instances), 5))
            return undo

        warm(tokens)
        self.assert_seen_everywhere_within_a_second(set_status("suppressed"), status_is(403),
                                                    undo=back_to("active", status_is(200)))
        self.assert_seen_everywhere_within_a_second(set_status("active"), status_is(200),
                                                    undo=back_to("suppressed", status_is(403)))

        session = {}

        def log_in_and_out():  # a new user each time: each login needs an unused otp step
            session["user"] = self.user()
            session["tokens"] = self.instances[0].login(session["user"]).json["details"]
            warm(session["tokens"], session["user"])
            self.assertEqual(self.instances[1].logout(session["tokens"]["accessToken"],
                                                      totp(session["user"]["totpSecret"])).status, 200)

        def logged_out(instance):
            response = instance.verify(session["tokens"]["accessToken"], totp(session["user"]["totpSecret"]))
            return response.codes == [("Authorization", "Token_Invalid")], response.status

        self.assert_seen_everywhere_within_a_second(log_in_and_out, logged_out)

    def test_09_an_ended_session_is_refused_everywhere_within_a_second(self):
        """SPEC §10.4: DELETE /api/v1/auth/sessions/{id} on one instance, seen by all."""
        ended = {}

        def end_from_another_session():  # a new user each time: logins need unused otp steps
            user = ended["user"] = self.user()
            phone = self.instances[0].login(user, otp=totp(user["totpSecret"], step_offset=-1))
            laptop = self.instances[2].login(user)
            ended["tokens"] = phone.json["details"]
            for instance in self.instances * 4:  # cached on every instance and event loop
                self.assertEqual(instance.verify(ended["tokens"]["accessToken"],
                                                 totp(user["totpSecret"])).status, 200)
            private = {"Authorization": "Bearer " + laptop.json["details"]["accessToken"],
                       "otp": totp(user["totpSecret"])}
            sessions = self.instances[1].request("GET", "/api/v1/auth/sessions", headers=private)
            [target] = [s["sessionId"] for s in sessions.json["details"]["sessions"]
                        if not s["current"]]
            response = self.instances[1].request("DELETE", "/api/v1/auth/sessions/" + target,
                                                 headers=private)
            self.assertEqual(response.status, 200, response)

        def refused(instance):
            response = instance.verify(ended["tokens"]["accessToken"],
                                       totp(ended["user"]["totpSecret"]))
            return response.codes == [("Authorization", "Token_Invalid")], response.status

        self.assert_seen_everywhere_within_a_second(end_from_another_session, refused)
        for instance in self.instances:
            self.assertEqual(instance.refresh(ended["tokens"]["refreshToken"]).status, 401)

    def test_05_key_rotation(self):
        user = self.user()
        old = self.front.login(user).json["details"]
        self.front.cli("keys", "rotate")
        time.sleep(0.3)
        new = self.instances[2].login(user, otp=totp(user["totpSecret"], step_offset=1)).json["details"]
        kid = lambda t: json.loads(__import__("base64").urlsafe_b64decode(t.split(".")[0] + "=="))["kid"]
        self.assertNotEqual(kid(old["accessToken"]), kid(new["accessToken"]))
        for instance in self.instances:
            for token in (old, new):
                self.assertEqual(instance.verify(token["accessToken"], totp(user["totpSecret"])).status, 200)

    def test_06_postgres_down_and_back(self):
        user = self.user()
        spare = self.user()
        tokens = self.instances[0].login(user).json["details"]
        for instance in self.instances:
            self.assertEqual(instance.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
        pg_control("stop")
        try:
            for instance in self.instances:
                self.assertEqual(instance.request("GET", "/readyz").status, 503)
                response = instance.login(spare, otp=totp(spare["totpSecret"], step_offset=-1))
                self.assertEqual(response.status, 503, response)
                self.assertEqual(response.codes, [("", "Service_Unavailable")])
                self.assertIsNotNone(response.header("Retry-After"))
                self.assertEqual(instance.refresh(tokens["refreshToken"]).status, 503)
                # Documented choice (docs/deploy.md): cached sessions keep verifying.
                self.assertEqual(instance.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
            self.assertEqual(self.instances[0].logout(tokens["accessToken"], totp(user["totpSecret"])).status, 503)
        finally:
            pg_control("restart")
        for instance in self.instances:
            self.assertTrue(wait_until(lambda: instance.request("GET", "/readyz").status == 200, 10))
        self.assertEqual(self.front.login(spare).status, 200)
        self.assertEqual(self.front.refresh(tokens["refreshToken"]).status, 200)

    def test_07_an_instance_killed_with_sigkill(self):
        user = self.user()
        tokens = self.front.login(user).json["details"]
        for _ in range(2):
            self.front.login(user, password="wrong")
        victim = self.instances[1]
        victim.process.kill()
        victim.process.wait()
        victim.process.stderr.close()
        victim.process = None
        try:
            for _ in range(6):  # nginx passes over the dead instance
                self.assertEqual(self.front.verify(tokens["accessToken"], totp(user["totpSecret"])).status, 200)
            state = json.loads(self.front.cli("user", "show", user["username"], "--json").stdout)
            self.assertEqual(state["failedAttempts"], 2)
            refreshed = self.front.refresh(tokens["refreshToken"])
            self.assertEqual(refreshed.status, 200)
        finally:
            victim.start()


if __name__ == "__main__":
    unittest.main()
