"""The OpenAPI document: served, complete (every route documented, every documented route
answered) and true (real responses validate against its schemas)."""
import json
import os
import re
import time
import unittest

from harness import AuthgateServer, totp

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


class SchemaError(AssertionError):
    pass


def validate(value, schema, root, where="$"):
    """A small JSON Schema (OpenAPI 3.0 subset) validator: $ref, type, nullable, enum, required,
    properties, additionalProperties: false, items, minItems, maxItems."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return validate(value, root["components"]["schemas"][name], root, where)
    if value is None:
        if schema.get("nullable"):
            return
        raise SchemaError("%s: null not allowed" % where)
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError("%s: %r not in %r" % (where, value, schema["enum"]))
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError("%s: %r is not an integer" % (where, value))
    elif kind in checks and not isinstance(value, checks[kind]):
        raise SchemaError("%s: %r is not %s" % (where, value, kind))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError("%s: missing %s" % (where, key))
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], root, "%s.%s" % (where, key))
            elif schema.get("additionalProperties") is False:
                raise SchemaError("%s: unexpected %s" % (where, key))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            raise SchemaError("%s: %d items" % (where, len(value)))
        for index, item in enumerate(value):
            validate(item, schema.get("items", {}), root, "%s[%d]" % (where, index))


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AuthgateServer()
        with open(os.path.join(REPO, "docs/openapi.json")) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def documented(self):
        methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
        return {(path, method.upper()) for path, ops in self.doc["paths"].items()
                for method in ops if method in methods}

    def assertMatches(self, response, path, method):
        operation = self.doc["paths"][path][method.lower()]
        self.assertIn(str(response.status), operation["responses"], (path, method, response))
        spec = operation["responses"][str(response.status)]
        for media, content in spec.get("content", {}).items():
            if media == "application/json":
                self.assertEqual(response.header("Content-Type"), "application/json")
                validate(response.json, content["schema"], self.doc)
        for header in spec.get("headers", {}):
            self.assertIsNotNone(response.header(header), (path, response.status, header))

    def test_served_document_is_the_one_in_the_repo(self):
        response = self.server.request("GET", "/openapi.json")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json, self.doc)
        self.assertEqual(self.doc["openapi"][:2], "3.")

    def test_every_route_is_documented_and_every_documented_route_answers(self):
        with open(os.path.join(REPO, "src/http/router.cc")) as f:
            source = f.read()
        routes = set(re.findall(r'\{"(/[^"]*)", Route::\w+, http::verb::(\w+), "\w+"\}', source))
        served = {(path, verb.rstrip("_").upper()) for path, verb in routes}  # delete_
        self.assertTrue(served)
        self.assertEqual(served, self.documented())
        for path, method in self.documented():
            # A path with servers of its own (/metrics) is served on the management listener.
            port = self.server.management_port if "servers" in self.doc["paths"][path] else None
            response = self.server.request(method, path, port=port)
            self.assertNotIn(response.status, (404, 405), (path, method))
            self.assertMatches(response, path, method)

    def test_real_responses_validate(self):
        user = self.server.add_user("alice")
        login = self.server.login(user)
        self.assertMatches(login, "/api/v1/public/auth/login", "POST")
        self.assertMatches(self.server.login(user, password="wrong"), "/api/v1/public/auth/login", "POST")
        self.assertMatches(self.server.post_json("/api/v1/public/auth/login", {}, content_type="text/plain"),
                           "/api/v1/public/auth/login", "POST")
        tokens = login.json["details"]
        code = totp(user["totpSecret"])
        self.assertMatches(self.server.verify(tokens["accessToken"], code), "/api/v1/auth/verify", "GET")
        self.assertMatches(self.server.verify("bad", code), "/api/v1/auth/verify", "GET")
        refreshed = self.server.refresh(tokens["refreshToken"])
        self.assertMatches(refreshed, "/api/v1/public/auth/refresh", "POST")
        self.assertMatches(self.server.refresh("nope"), "/api/v1/public/auth/refresh", "POST")
        self.server.cli("user", "set-status", "alice", "suppressed")
        time.sleep(0.2)
        access = refreshed.json["details"]["accessToken"]
        self.assertMatches(self.server.verify(access, code), "/api/v1/auth/verify", "GET")
        self.server.cli("user", "set-status", "alice", "active")
        time.sleep(0.2)
        private = {"Authorization": "Bearer " + access, "otp": code}
        listed = self.server.request("GET", "/api/v1/auth/sessions", headers=private)
        self.assertEqual(listed.status, 200, listed)
        self.assertMatches(listed, "/api/v1/auth/sessions", "GET")
        one = "/api/v1/auth/sessions/{sessionId}"
        for session_id in ("0" * 32, "nope"):
            self.assertMatches(self.server.request("DELETE", "/api/v1/auth/sessions/" + session_id,
                                                   headers=private), one, "DELETE")
        self.assertMatches(self.server.request("GET", "/api/v1/auth/sessions"),
                           "/api/v1/auth/sessions", "GET")
        self.assertMatches(self.server.logout(access, code), "/api/v1/auth/logout", "POST")
        for path in ("/.well-known/jwks.json", "/healthz", "/readyz"):
            self.assertMatches(self.server.request("GET", path), path, "GET")
        self.assertMatches(self.server.request("DELETE", "/healthz"), "/healthz", "GET")


if __name__ == "__main__":
    unittest.main()
