"""Native TLS (server.tls_cert_file / server.tls_key_file): self-signed certificates made here
with openssl, checked with curl --cacert and Python's ssl module against a running authgate,
and replaced under a running server with SIGHUP."""
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import BIN, AuthgateServer, totp, wait_until

NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
LOOPBACK_NAMES = "IP:127.0.0.1,DNS:localhost"


def make_certificate(directory, name, subject_alt=LOOPBACK_NAMES, serial=None,
                     subject="/CN=localhost"):
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    serial_args = ["-set_serial", str(serial)] if serial is not None else []
    subprocess.run(["openssl", "req", "-x509", *NEW_KEY, "-days", "2", "-subj", subject,
                    "-addext", "subjectAltName=" + subject_alt, *serial_args,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def make_expired_certificate(directory, name, serial):
    """A self-signed pair whose certificate expired in 2020. `openssl req -x509` takes only a
    positive number of days; `openssl ca -selfsign` takes explicit dates."""
    work = os.path.join(directory, name + "-ca")
    os.makedirs(os.path.join(work, "issued"))
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        digits = "%X" % serial
        f.write("0" * (len(digits) % 2) + digits + "\n")  # openssl reads whole bytes
    with open(os.path.join(work, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = expired\n[expired]\ndatabase = index.txt\n"
                "new_certs_dir = issued\nserial = serial\ndefault_md = sha256\npolicy = any\n"
                "copy_extensions = copy\n[any]\ncommonName = supplied\n")
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-new", *NEW_KEY, "-subj", "/CN=authgate expired",
                    "-addext", "subjectAltName=" + LOOPBACK_NAMES,
                    "-keyout", key, "-out", "request.csr"],
                   cwd=work, check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", key,
                    "-in", "request.csr", "-out", cert, "-notext",
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
                   cwd=work, check=True, capture_output=True)
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

    def test_an_expired_certificate(self):
        cert, key = make_expired_certificate(self.server.dir, "expired", serial=7)
        self.assertStartupError({"AUTHGATE_SERVER_TLS_CERT_FILE": cert,
                                 "AUTHGATE_SERVER_TLS_KEY_FILE": key}, "expired on 2020-01-02")


class TlsReloadTest(unittest.TestCase):
    """SIGHUP re-reads the configured files: new handshakes get the new pair at once, open
    connections stay, and a pair that cannot be used is refused with one error line while the
    last good one stays in use."""

    def setUp(self):
        self.server = AuthgateServer(start=False)
        directory = self.server.dir
        self.first = make_certificate(directory, "first", serial=1001, subject="/CN=authgate first")
        self.second = make_certificate(directory, "second", serial=1002,
                                       subject="/CN=authgate second")
        self.cert = os.path.join(directory, "cert.pem")
        self.key = os.path.join(directory, "key.pem")
        self.install(*self.first)
        trusted = os.path.join(directory, "trusted.pem")
        with open(trusted, "w") as bundle:
            for cert, _ in (self.first, self.second):
                with open(cert) as f:
                    bundle.write(f.read())
        self.server.env.update({"AUTHGATE_SERVER_TLS_CERT_FILE": self.cert,
                                "AUTHGATE_SERVER_TLS_KEY_FILE": self.key})
        self.server.start()
        self.server.tls_context = ssl.create_default_context(cafile=trusted)

    def tearDown(self):
        self.server.close()

    def install(self, cert, key):
        shutil.copyfile(cert, self.cert)
        shutil.copyfile(key, self.key)

    def served_serial(self):
        """The serial number of the certificate a new handshake gets."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with self.server.tls_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return int(tls.getpeercert()["serialNumber"], 16)

    def hang_up(self, server=None):
        """Sends SIGHUP and returns the log lines about it, once there is one; checks that the
        same process (no restart, no new process id) goes on running."""
        server = server or self.server
        before = len(server.stderr_lines)
        server.process.send_signal(signal.SIGHUP)
        def answered():
            return [line for line in server.stderr_lines[before:] if "SIGHUP" in line]
        died = lambda: server.process.poll() is not None
        wait_until(lambda: answered() or died(), timeout=10)
        self.assertFalse(died(), "".join(server.stderr_lines))
        self.assertTrue(answered(), "".join(server.stderr_lines))
        return answered()

    def error_lines(self):
        return [line for line in self.server.stderr_lines if "[error]" in line]

    def test_new_handshakes_get_the_new_pair_and_open_connections_stay(self):
        self.assertEqual(self.served_serial(), 1001)
        kept = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=10,
                                           context=self.server.tls_context)
        kept.request("GET", "/healthz")
        kept.getresponse().read()
        kept_socket = kept.sock

        self.install(*self.second)
        reloaded = self.hang_up()
        self.assertEqual(len(reloaded), 1, reloaded)
        self.assertIn("[info]", reloaded[0])
        self.assertIn("authgate second", reloaded[0])
        self.assertIn("%X" % 1002, reloaded[0])
        self.assertEqual(self.served_serial(), 1002)
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

        # The connection opened before the reload answers on the same socket, with its pair.
        kept.request("GET", "/healthz")
        response = kept.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        self.assertIs(kept.sock, kept_socket)
        self.assertEqual(int(kept.sock.getpeercert()["serialNumber"], 16), 1001)
        kept.close()
        self.assertEqual(self.error_lines(), [])

    def test_a_pair_that_cannot_be_used_is_refused_and_the_last_good_one_stays(self):
        self.install(*self.second)
        self.hang_up()
        expired = make_expired_certificate(self.server.dir, "expired", serial=1003)
        refusals = [
            ("a key that does not match", (self.first[0], self.second[1]),
             ("server.tls_key_file", "key.pem", "mismatch")),
            ("a missing certificate file", None,
             ("server.tls_cert_file", "cert.pem", "No such file")),
            ("an expired certificate", expired,
             ("server.tls_cert_file", "cert.pem", "expired on 2020-01-02")),
        ]
        for case, pair, needles in refusals:
            with self.subTest(case):
                if pair is None:
                    os.remove(self.cert)
                else:
                    self.install(*pair)
                refused = self.hang_up()
                self.assertEqual(len(refused), 1, refused)
                self.assertIn("[error]", refused[0])
                for needle in needles:
                    self.assertIn(needle, refused[0])
                self.assertNotIn("PRIVATE KEY", refused[0])
                self.assertEqual(self.served_serial(), 1002)
                self.assertEqual(self.server.request("GET", "/healthz").status, 200)
        # One line per refusal, none late; a good pair is taken again afterwards.
        self.install(*self.first)
        self.assertIn("[info]", self.hang_up()[0])
        self.assertEqual(self.served_serial(), 1001)
        self.assertEqual(len(self.error_lines()), len(refusals), self.error_lines())

    def test_sighup_without_tls_has_nothing_to_reload(self):
        plain = AuthgateServer()
        try:
            answer = self.hang_up(plain)
            self.assertEqual(len(answer), 1, answer)
            self.assertIn("nothing to reload", answer[0])
            self.assertEqual(plain.request("GET", "/healthz").status, 200)
        finally:
            plain.close()


if __name__ == "__main__":
    unittest.main()
