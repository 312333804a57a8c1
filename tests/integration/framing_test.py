"""HTTP framing (SPEC.md §10.5): request smuggling behind a lenient proxy.

A header whose framing a proxy in front could read differently (a Transfer-Encoding other than
exactly "chunked", Content-Length with Transfer-Encoding, obsolete line folding, a missing or
repeated Host) is answered 400 Invalid_Value with "Connection: close", and the connection is
closed: the bytes after it, here always a second request, are never answered.
"Expect: 100-continue" gets "100 Continue" before the body is read, unless the request is
refused at once.
"""
import itertools
import json
import socket
import unittest

from harness import AuthgateServer, totp

LOGIN = b"/api/v1/public/auth/login"
VERIFY = b"/api/v1/auth/verify"
# Smuggled after each refused request: answered 200 if it were ever parsed.
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
# A login the server must read to answer: 400 Username_Or_Password_Incorrect (not Invalid_Value).
# Each names another unknown user, so that none is locked out by the earlier ones.
_logins = itertools.count()


def login_body():
    return b'{"username":"nobody%d","password":"not-the-password","otp":"123456"}' % next(_logins)


def split_answer(data):
    """The first answer in `data`: (status, {lowercase name: value}, body, rest)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return status, headers, rest[:length], rest[length:]


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AuthgateServer()
        cls.user = cls.server.add_user("alice")
        cls.access_token = cls.server.login(cls.user).json["details"]["accessToken"].encode()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=timeout)
        self.addCleanup(s.close)
        return s

    def exchange(self, data, timeout=3):
        """Sends `data`; returns (everything answered, whether the server closed the connection)."""
        s = self.connect(timeout)
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)

    def assertRefused(self, data):
        answer, closed = self.exchange(data)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), (data, answer[:200]))
        status, headers, body, rest = split_answer(answer)
        self.assertEqual(headers.get("connection", "").lower(), "close", answer)
        self.assertEqual(headers.get("content-type"), "application/json")
        envelope = json.loads(body)
        self.assertEqual(envelope, {"id": 0, "details": None, "status": "0",
                                    "errors": [{"fieldName": "", "messageCode": "Invalid_Value"}]})
        self.assertEqual(rest, b"", "the bytes after a refused request were answered: %r" % data)
        self.assertTrue(closed, "the connection stayed open after %r" % data)

    def assertAnswered(self, data, status, version=b"1.1"):
        answer, _ = self.exchange(data)
        self.assertTrue(answer.startswith(b"HTTP/%s %d " % (version, status)), (data, answer[:200]))
        return split_answer(answer)

    def assertLoginBodyRead(self, status, body):
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["errors"][0]["messageCode"],
                         "Username_Or_Password_Incorrect")

    def login_header(self, *fields):
        return (b"POST " + LOGIN + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                b"".join(field + b"\r\n" for field in fields) + b"\r\n")

    def verify_header(self, authorization, otp):
        return (b"GET " + VERIFY + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + authorization +
                b"\r\notp: " + otp + b"\r\n\r\n")

    def test_transfer_encoding_other_than_chunked(self):
        for value in [b"xchunked", b"chunked, identity", b"identity", b"gzip", b"gzip, chunked",
                      b"chunked;x=1", b""]:
            with self.subTest(value=value):
                self.assertRefused(self.login_header(b"Transfer-Encoding: " + value) + SMUGGLED)
        # Two fields make one list.
        self.assertRefused(self.login_header(b"Transfer-Encoding: gzip",
                                             b"Transfer-Encoding: chunked") + b"0\r\n\r\n" + SMUGGLED)

    def test_whitespace_before_the_colon_is_refused(self):
        self.assertRefused(self.login_header(b"Transfer-Encoding : chunked", b"Content-Length: 3") +
                           b"abc" + SMUGGLED)

    def test_transfer_encoding_with_content_length(self):
        body = login_body()
        self.assertRefused(self.login_header(b"Transfer-Encoding: gzip",
                                             b"Content-Length: %d" % len(body)) + body + SMUGGLED)
        self.assertRefused(self.login_header(b"Content-Length: 5", b"Transfer-Encoding: chunked") +
                           b"0\r\n\r\n" + SMUGGLED)
        self.assertRefused(self.login_header(b"Transfer-Encoding: chunked", b"Content-Length: 5") +
                           b"0\r\n\r\n" + SMUGGLED)

    def test_chunked_in_any_case_is_read(self):
        for value in [b"chunked", b"CHUNKED", b"Chunked   "]:
            with self.subTest(value=value):
                body = login_body()
                chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
                status, _, body, _ = self.assertAnswered(
                    self.login_header(b"Transfer-Encoding: " + value, b"Connection: close") +
                    chunked, 400)
                self.assertLoginBodyRead(status, body)

    def test_obsolete_line_folding_in_authorization_and_otp(self):
        code = totp(self.user["totpSecret"]).encode()
        # Unfolded, the same credentials pass: the fold is the only reason for the 400.
        self.assertAnswered(self.verify_header(b"Bearer " + self.access_token, code), 200)
        self.assertRefused(self.verify_header(b"Bearer\r\n " + self.access_token, code) + SMUGGLED)
        self.assertRefused(self.verify_header(b"Bearer " + self.access_token, b"\r\n\t" + code) +
                           SMUGGLED)
        self.assertRefused(self.verify_header(b"Bearer " + self.access_token, code[:3] + b"\r\n " +
                                              code[3:]) + SMUGGLED)

    def test_missing_or_repeated_host_in_http11(self):
        self.assertRefused(b"GET /healthz HTTP/1.1\r\n\r\n" + SMUGGLED)
        self.assertRefused(b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n" + SMUGGLED)
        self.assertRefused(b"GET /healthz HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n" + SMUGGLED)

    def test_http10_without_host_is_answered(self):
        self.assertAnswered(b"GET /healthz HTTP/1.0\r\n\r\n", 200, version=b"1.0")
        # An empty Host names no authority, which RFC 9112 §3.2 allows.
        self.assertAnswered(b"GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n", 200)

    def test_pipelined_requests_after_a_good_one_are_still_answered(self):
        answer, _ = self.exchange(SMUGGLED + SMUGGLED +
                                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(answer.count(b"HTTP/1.1 200 "), 3, answer)

    def read_answer(self, s):
        """Reads one whole answer (an interim 100 is one too); times out (fails) when none comes."""
        data = b""
        while True:
            if b"\r\n\r\n" in data:
                status, headers, body, rest = split_answer(data)
                if len(body) == int(headers.get("content-length", "0")):
                    self.assertEqual(rest, b"")
                    return data, status, body
            chunk = s.recv(65536)
            self.assertTrue(chunk, data)
            data += chunk

    def test_expect_continue_gets_100_before_the_body(self):
        s = self.connect()
        body = login_body()
        s.sendall(self.login_header(b"Content-Length: %d" % len(body), b"Expect: 100-continue"))
        interim, _, _ = self.read_answer(s)  # sent before the body is
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        _, status, body = self.read_answer(s)
        self.assertLoginBodyRead(status, body)
        # The next request on the connection asks again, and gets its own 100.
        s.sendall(self.login_header(b"Content-Length: 10", b"Expect: 100-continue"))
        interim, _, _ = self.read_answer(s)
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")

    def test_expect_continue_with_chunked_body(self):
        s = self.connect()
        s.sendall(self.login_header(b"Transfer-Encoding: chunked", b"Expect: 100-Continue"))
        interim, _, _ = self.read_answer(s)
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        body = login_body()
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        _, status, body = self.read_answer(s)
        self.assertLoginBodyRead(status, body)

    def test_oversized_declared_body_gets_413_without_100(self):
        answer, closed = self.exchange(
            self.login_header(b"Content-Length: 100000", b"Expect: 100-continue"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:200])
        self.assertNotIn(b"100 Continue", answer)
        self.assertTrue(closed)

    def test_refused_framing_gets_no_100(self):
        answer, _ = self.exchange(self.login_header(b"Transfer-Encoding: xchunked",
                                                    b"Expect: 100-continue"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        self.assertNotIn(b"100 Continue", answer)

    def test_http10_expect_gets_no_100(self):
        s = self.connect(timeout=1)
        body = login_body()
        s.sendall(b"POST " + LOGIN + b" HTTP/1.0\r\nContent-Type: application/json\r\n" +
                  b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
        with self.assertRaises(socket.timeout):
            s.recv(4096)  # an HTTP/1.0 client cannot understand a 100: none is sent
        s.sendall(body)
        s.settimeout(5)
        _, status, body = self.read_answer(s)
        self.assertLoginBodyRead(status, body)


if __name__ == "__main__":
    unittest.main()
