"""A store that stops answering (SPEC §10.1, issue 13): PostgreSQL behind a TCP proxy that the
test freezes (a silent network: nothing forwarded, nothing closed), delays or resets.

Needs the PostgreSQL server of the CTest fixture (AUTHGATE_TEST_PG_URL_FILE).
"""
import os
import subprocess
import threading
import unittest
import urllib.parse

from harness import AuthgateServer, TcpProxy, totp


def pg_url():
    with open(os.environ["AUTHGATE_TEST_PG_URL_FILE"]) as f:
        return f.read().strip()


def through(proxy, url):
    """`url` with its host and port replaced by the proxy's."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = "127.0.0.1:%d" % proxy.port
    netloc = netloc[0] + "@" + host if len(netloc) == 2 else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@unittest.skipUnless(os.environ.get("AUTHGATE_TEST_PG_URL_FILE"), "needs the PostgreSQL fixture")
class SilentStoreTest(unittest.TestCase):
    def setUp(self):
        url = pg_url()
        subprocess.run(["psql", url, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                       check=True, capture_output=True)
        parts = urllib.parse.urlsplit(url)
        self.proxy = TcpProxy(parts.hostname, parts.port)
        # One I/O thread: anything that waited on the store there would hold every request.
        self.server = AuthgateServer({"AUTHGATE_DB": through(self.proxy, url),
                                      "AUTHGATE_SERVER_THREADS": "1"})

    def tearDown(self):
        self.proxy.thaw()
        self.server.close()
        self.proxy.close()

    def test_a_cold_verify_waiting_on_the_store_does_not_hold_a_cached_one(self):
        alice = self.server.add_user("alice")
        bob = self.server.add_user("bob")
        warm = self.server.login(alice).json["details"]["accessToken"]
        cold = self.server.login(bob).json["details"]["accessToken"]
        self.assertEqual(self.server.verify(warm, totp(alice["totpSecret"])).status, 200)

        self.proxy.freeze()
        answers = []
        waiting = threading.Thread(
            target=lambda: answers.append(self.server.verify(cold, totp(bob["totpSecret"]), )))
        waiting.start()
        try:
            # Bob's session is not cached: its verify needs the store, which says nothing. On
            # the same (only) event loop, Alice's cached session is answered meanwhile, and so
            # are the probes.
            for _ in range(5):
                self.assertEqual(self.server.verify(warm, totp(alice["totpSecret"])).status, 200)
                self.assertEqual(self.server.request("GET", "/healthz").status, 200)
                self.assertIn(self.server.request("GET", "/readyz").status, (200, 503))
            self.assertTrue(waiting.is_alive() or answers[0].status == 503, answers)
        finally:
            self.proxy.thaw()
            waiting.join(60)
        self.assertFalse(waiting.is_alive())


if __name__ == "__main__":
    unittest.main()
