"""nginx auth_request in front of an upstream, as docs/nginx.md configures it."""
import http.server
import json
import os
import threading
import unittest

from harness import AuthgateServer, Nginx, totp, wait_until


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """The protected API: answers with the headers it received."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


class NginxAuthRequestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.authgate = AuthgateServer()
        cls.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        doc = open(os.path.join(os.path.dirname(__file__), "../../docs/nginx.md")).read()
        server_block = doc.split("```nginx\n")[1].split("```")[0]
        cls.nginx = Nginx(server_block
                          .replace("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % cls.authgate.port)
                          .replace("server 127.0.0.1:9000;", "server 127.0.0.1:%d;" % cls.upstream.server_port)
                          .replace("listen 443 ssl;", "listen 127.0.0.1:%(port)d;"))
        cls.port = cls.nginx.port
        cls.front = AuthgateServer.__new__(AuthgateServer)
        cls.front.port = cls.port

    @classmethod
    def tearDownClass(cls):
        cls.nginx.close()
        cls.upstream.shutdown()
        cls.authgate.close()

    def get(self, path, token=None, otp=None):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if otp is not None:
            headers["otp"] = otp
        return self.front.request("GET", path, headers=headers)

    def test_a_valid_request_reaches_the_upstream_with_the_user(self):
        user = self.authgate.add_user("alice")
        login = self.front.login(user)  # through nginx, to authgate's public endpoint
        self.assertEqual(login.status, 200, login)
        token = login.json["details"]["accessToken"]
        response = self.get("/orders?page=2", token, totp(user["totpSecret"]))
        self.assertEqual(response.status, 200, response)
        seen = response.json["headers"]
        self.assertEqual(response.json["path"], "/orders?page=2")
        self.assertEqual(seen["x-auth-user-id"], str(user["id"]))
        self.assertEqual(seen["x-auth-username"], "alice")
        self.assertNotIn("otp", seen)

    def test_failures_get_the_envelope_from_nginx(self):
        user = self.authgate.add_user("bob")
        token = self.front.login(user).json["details"]["accessToken"]
        cases = [
            (None, None, 401, [("Authorization", "Required")]),
            ("garbage", totp(user["totpSecret"]), 401, [("Authorization", "Token_Invalid")]),
            (token, None, 401, [("otp", "Required")]),
            (token, "000000" if totp(user["totpSecret"]) != "000000" else "111111", 401, [("otp", "Otp_Incorrect")]),
        ]
        for token_value, otp, status, codes in cases:
            response = self.get("/orders", token_value, otp)
            self.assertEqual(response.status, status, response)
            self.assertEqual(response.header("Content-Type"), "application/json")
            self.assertEqual(response.header("WWW-Authenticate"), 'Bearer realm="authgate"')
            self.assertEqual(response.json, {"id": 0, "details": None, "status": "0",
                                             "errors": [{"fieldName": f, "messageCode": c} for f, c in codes]})
        self.authgate.cli("user", "set-status", "bob", "suppressed")
        self.assertTrue(wait_until(lambda: self.get("/orders", token, totp(user["totpSecret"])).status == 403, 1.0))
        response = self.get("/orders", token, totp(user["totpSecret"]))
        self.assertEqual(response.json["errors"], [{"fieldName": "", "messageCode": "Account_Suppressed"}])


if __name__ == "__main__":
    unittest.main()
