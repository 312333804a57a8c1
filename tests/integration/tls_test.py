"""Native TLS (server.tls_cert_file / server.tls_key_file): a self-signed certificate made here
with openssl, checked with curl --cacert and Python's ssl module against a running authgate."""
import json
import math
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import BIN, AuthgateServer, totp, wait_until


def make_certificate(directory, name, subject_alt="IP:127.0.0.1,DNS:localhost"):
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=" + subject_alt,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class HandshakeLogTest(unittest.TestCase):
    """Failed handshakes (here: plain HTTP on the TLS port) are logged at debug, one line a
    second per cause, however many come (issue 16)."""

    def test_many_failed_handshakes_log_a_handful_of_lines(self):
        certs = tempfile.mkdtemp(prefix="authgate-tls-")
        self.addCleanup(shutil.rmtree, certs, ignore_errors=True)
        cert, key = make_certificate(certs, "server")
        server = AuthgateServer({"AUTHGATE_SERVER_TLS_CERT_FILE": cert,
                                 "AUTHGATE_SERVER_TLS_KEY_FILE": key, "AUTHGATE_LOG_LEVEL": "debug"})
        self.addCleanup(server.close)
        started = time.monotonic()
        for _ in range(300):
            server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        elapsed = time.monotonic() - started
        time.sleep(1.1)
        server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(wait_until(lambda: "suppressed=" in "".join(server.stderr_lines[-1:]), 5))
        lines = [line for line in server.stderr_lines if "tls handshake failure" in line]
        log = "".join(server.stderr_lines)
        self.assertGreaterEqual(len(lines), 2, log)
        self.assertLessEqual(len(lines), math.ceil(elapsed) + 2, log)
        for line in lines:
            self.assertRegex(line, r'\[debug\] tls handshake failure: op="handshake" '
                                   r'cause="asio\.ssl:\d+" suppressed=\d+: .*\(peer 127\.0\.0\.1\)')
        reported = sum(int(re.search(r"suppressed=(\d+)", line).group(1)) for line in lines)
        self.assertEqual(reported + len(lines), 301, log)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="authgate-tls-")
        cls.cert, cls.key = make_certificate(cls.certs, "server")
        cls.server = AuthgateServer({"AUTHGATE_SERVER_TLS_CERT_FILE": cls.cert,
                                     "AUTHGATE_SERVER_TLS_KEY_FILE": cls.key})
        cls.server.tls_context = ssl.create_default_context(cafile=cls.cert)
        cls.url = "https://127.0.0.1:%d" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "10", *args],
                              capture_output=True, text=True, timeout=30)

    def test_curl_with_the_ca_certificate(self):
        result = self.curl("--cacert", self.cert, "-w", "\n%{http_code}", self.url + "/healthz")
        self.assertEqual(result.returncode, 0, result.stderr)
        body, code = result.stdout.rsplit("\n", 1)
        self.assertEqual(code, "200")
        self.assertEqual(json.loads(body)["status"], "1")
        self.assertIn("https://", "".join(self.server.stderr_lines))

    def test_login_and_verify_over_tls(self):
        user = self.server.add_user("alice")
        body = json.dumps({"username": "alice", "password": user["password"],
                           "otp": totp(user["totpSecret"])})
        result = self.curl("--cacert", self.cert, "-H", "Content-Type: application/json",
                           "-d", body, self.url + "/api/v1/public/auth/login")
        self.assertEqual(result.returncode, 0, result.stderr)
        tokens = json.loads(result.stdout)["details"]
        result = self.curl("--cacert", self.cert, "-D", "-",
                           "-H", "Authorization: Bearer " + tokens["accessToken"],
                           "-H", "otp: " + totp(user["totpSecret"]), self.url + "/api/v1/auth/verify")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("HTTP/1.1 200", result.stdout)
        self.assertIn("x-auth-username: alice", result.stdout.lower())
        # Keep-alive works over TLS: two requests on one connection.
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_authgate_client_over_https(self):
        user = self.server.add_user("bob")
        token_file = os.path.join(self.server.dir, "bob.json")
        secrets = "%s\n%s\n" % (user["password"], user["totpSecret"])
        # The server's certificate is not trusted by the system: refused without --cacert.
        refused = self.server.cli("client", "login", "--url", self.url, "--username", "bob",
                                  "--token-file", token_file, stdin=secrets, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("certificate verify failed", refused.stderr)
        self.assertFalse(os.path.exists(token_file))
        self.server.cli("client", "login", "--url", self.url, "--username", "bob", "--cacert", self.cert,
                        "--token-file", token_file, stdin=secrets)
        # `client call` reuses the CA file given at login.
        called = self.server.cli("client", "call", "--token-file", token_file,
                                 self.url + "/api/v1/auth/verify")
        self.assertEqual(json.loads(called.stdout)["details"]["username"], "bob")
        # The host name is checked: localhost is in the certificate too...
        called = self.server.cli("client", "call", "--token-file", token_file,
                                 "https://localhost:%d/api/v1/auth/verify" % self.server.port)
        self.assertEqual(json.loads(called.stdout)["status"], "1")
        # ...but a certificate for another name is refused even when it is the trusted one.
        other_cert, other_key = make_certificate(self.certs, "wrong-name", subject_alt="DNS:example.com")
        other = AuthgateServer({"AUTHGATE_SERVER_TLS_CERT_FILE": other_cert,
                                "AUTHGATE_SERVER_TLS_KEY_FILE": other_key})
        try:
            wrong = other.cli("client", "call", "--token-file", token_file, "--cacert", other_cert,
                              "https://127.0.0.1:%d/healthz" % other.port, check=False)
            self.assertNotEqual(wrong.returncode, 0)
            self.assertIn("certificate verify failed", wrong.stderr)
            self.assertEqual(len(wrong.stderr.strip().splitlines()), 1, wrong.stderr)
        finally:
            other.close()

    def test_an_unknown_certificate_is_refused_by_the_client(self):
        result = self.curl(self.url + "/healthz")  # the system's CAs do not know it
        self.assertEqual(result.returncode, 60, result.stderr)  # CURLE_PEER_FAILED_VERIFICATION
        other_cert, _ = make_certificate(self.certs, "other")
        result = self.curl("--cacert", other_cert, self.url + "/healthz")
        self.assertEqual(result.returncode, 60, result.stderr)

    def handshake(self, minimum, maximum):
        context = ssl.create_default_context(cafile=self.cert)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions
        context.minimum_version = minimum
        context.maximum_version = maximum
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()

    def test_tls_1_2_and_1_3_only(self):
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3), "TLSv1.3")
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                self.handshake(old, old)

    def test_plain_http_on_the_tls_port_is_closed(self):
        answer = self.server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", read_timeout=3)
        self.assertFalse(answer.startswith(b"HTTP/1.1 200"), answer[:100])
        # A client that connects and never starts the handshake is closed at the deadline,
        # and neither stops the server from serving.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5):
            self.assertEqual(self.server.request("GET", "/healthz").status, 200)


class TlsStartupTest(unittest.TestCase):
    def setUp(self):
        self.server = AuthgateServer(start=False)
        self.cert, self.key = make_certificate(self.server.dir, "server")

    def tearDown(self):
        self.server.close()

    def serve(self, env):
        return subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0"], cwd=self.server.dir,
                              env=dict(self.server.env, **env), capture_output=True, text=True,
                              timeout=30)

    def assertStartupError(self, env, needle):
        result = self.serve(env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(needle, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_both_files_are_needed(self):
        self.assertStartupError({"AUTHGATE_SERVER_TLS_CERT_FILE": self.cert}, "set both")
        self.assertStartupError({"AUTHGATE_SERVER_TLS_KEY_FILE": self.key}, "set both")

    def test_unreadable_or_mismatched_files(self):
        missing = os.path.join(self.server.dir, "missing.pem")
        self.assertStartupError({"AUTHGATE_SERVER_TLS_CERT_FILE": missing,
                                 "AUTHGATE_SERVER_TLS_KEY_FILE": self.key}, "server.tls_cert_file")
        self.assertStartupError({"AUTHGATE_SERVER_TLS_CERT_FILE": self.cert,
                                 "AUTHGATE_SERVER_TLS_KEY_FILE": missing}, "server.tls_key_file")
        _, other_key = make_certificate(self.server.dir, "other")
        self.assertStartupError({"AUTHGATE_SERVER_TLS_CERT_FILE": self.cert,
                                 "AUTHGATE_SERVER_TLS_KEY_FILE": other_key}, "mismatch")


if __name__ == "__main__":
    unittest.main()
