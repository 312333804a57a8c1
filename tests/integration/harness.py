"""Test harness: runs the real authgate binary on a free loopback port and speaks HTTP to it.

Each AuthgateServer lives in its own temporary directory (SQLite file, master key, audit log).
The TOTP codes are computed here independently (RFC 6238 with Python's hmac), so the tests
also check authgate's TOTP against a second implementation.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("AUTHGATE_BIN", os.path.join(os.path.dirname(__file__), "../../build/authgate"))


def leave_room_in_step(seconds):
    """Waits, if needed, until the next `seconds` seconds end before the last 4 s of a 30 s
    step: totp() called in them then never waits. For tests that time calls which compute
    codes inside the timed part."""
    into_step = time.time() % 30
    if into_step > 26 - seconds:
        time.sleep(30 - into_step + 0.05)


def totp(secret_b32, at=None, step_offset=0):
    """The code of `secret_b32` for the current step (+ step_offset).

    Tests that log one user in twice use offset 0 and then +1: "+1 from now" never names the
    step already used, even when a step boundary passes between the two logins. Near the end of
    a 30 s step this waits for the next one, so a code is never checked in a later step than
    the one it was computed in by more than the skew.
    """
    if at is None:
        into_step = time.time() % 30
        if into_step > 26:
            time.sleep(30 - into_step + 0.05)
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % code


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def codes(self):
        return [(e["fieldName"], e["messageCode"]) for e in (self.json or {}).get("errors", [])]

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class AuthgateServer:
    # Defaults for tests: no per-address rate limit (the tests send bursts from one address)
    # and cheap Argon2id parameters where a test does not need the real ones.
    BASE_ENV = {
        "AUTHGATE_RATELIMIT_PER_ADDRESS_PER_S": "0",
        "AUTHGATE_PASSWORD_MEMORY_KIB": "1024",
        "AUTHGATE_PASSWORD_ITERATIONS": "1",
        # Each server its own management port (the default 127.0.0.1:9464 is one per host).
        "AUTHGATE_SERVER_MANAGEMENT_LISTEN": "127.0.0.1:0",
    }

    tls_context = None  # an ssl.SSLContext: requests go over HTTPS

    def __init__(self, env=None, start=True, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="authgate-it-")
        self.owns_dir = directory is None
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith("AUTHGATE_") and key != "AUTHGATE_BIN":
                del self.env[key]
        self.env.update(self.BASE_ENV)
        self.env["AUTHGATE_LOG_AUDIT_FILE"] = os.path.join(self.dir, "audit.log")
        self.env.update(env or {})
        self.process = None
        self.port = None
        self.stderr_lines = []
        if start:
            self.start()

    # --- process -------------------------------------------------------------------------
    def start(self, extra_args=()):
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", *extra_args], cwd=self.dir, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = self.management_port = None
        want_management = self.env.get("AUTHGATE_SERVER_MANAGEMENT_LISTEN", "127.0.0.1:9464") != ""
        deadline = time.time() + 30
        public = re.compile(r"authgate listening on https?://127\.0\.0\.1:(\d+)")
        management = re.compile(r"management listening on http://127\.0\.0\.1:(\d+)")
        while time.time() < deadline:
            line = self.process.stderr.readline()
            if not line:
                raise RuntimeError("authgate exited: %s" % "".join(self.stderr_lines))
            self.stderr_lines.append(line)
            for pattern, attribute in ((public, "port"), (management, "management_port")):
                match = pattern.search(line)
                if match:
                    setattr(self, attribute, int(match.group(1)))
            if self.port and (self.management_port or not want_management):
                break
        else:
            raise RuntimeError("authgate did not start")
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        stream = self.process.stderr
        try:
            for line in stream:
                self.stderr_lines.append(line)
        except ValueError:  # closed by stop()
            pass

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process is None:
            return None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.process.stderr.close()
        self.process = None
        return code

    def close(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stderr.close()
            self.process = None
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- command line --------------------------------------------------------------------
    def cli(self, *args, stdin=None, check=True):
        result = subprocess.run([BIN, *args], cwd=self.dir, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError("authgate %s failed: %s" % (" ".join(args), result.stderr))
        return result

    def add_user(self, name, status="active", password=None):
        args = ["user", "add", name, "--json", "--status", status]
        if password is not None:
            args.append("--password-stdin")
        out = json.loads(self.cli(*args, stdin=(password + "\n") if password else None).stdout)
        out.setdefault("password", password)
        return out

    # --- HTTP ----------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30, port=None):
        if port is not None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        elif self.tls_context is not None:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                                     context=self.tls_context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            connection.putrequest(method, path, skip_accept_encoding=True)
            header_list = list(headers.items()) if isinstance(headers, dict) else (headers or [])
            for key, value in header_list:
                connection.putheader(key, value)
            if body is not None:
                data = body.encode() if isinstance(body, str) else body
                connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data if body is not None else None)
            response = connection.getresponse()
            return Response(response.status, response.getheaders(), response.read().decode("utf-8", "replace"))
        finally:
            connection.close()

    def management(self, method, path, **kwargs):
        """A request to the management listener (plain HTTP, SPEC §10.5)."""
        return self.request(method, path, port=self.management_port, **kwargs)

    def metrics(self):
        """The Prometheus text of /metrics on the management listener."""
        response = self.management("GET", "/metrics")
        assert response.status == 200, response
        return response.body

    def post_json(self, path, payload, content_type="application/json", headers=None):
        merged = {"Content-Type": content_type} if content_type else {}
        merged.update(headers or {})
        return self.request("POST", path, payload, merged)

    def login(self, user, otp=None, password=None, username=None):
        return self.post_json("/api/v1/public/auth/login", {
            "username": username or user["username"],
            "password": password or user["password"],
            "otp": otp or totp(user["totpSecret"]),
        })

    def refresh(self, token):
        return self.post_json("/api/v1/public/auth/refresh", {"refreshToken": token})

    def verify(self, access_token, otp, method="GET"):
        headers = {}
        if access_token is not None:
            headers["Authorization"] = "Bearer " + access_token
        if otp is not None:
            headers["otp"] = otp
        return self.request(method, "/api/v1/auth/verify", headers=headers)

    def logout(self, access_token, otp):
        return self.request("POST", "/api/v1/auth/logout",
                            headers={"Authorization": "Bearer " + access_token, "otp": otp})

    def audit_events(self):
        path = self.env["AUTHGATE_LOG_AUDIT_FILE"]
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def raw(self, data, read_timeout=5):
        """Sends raw bytes and returns whatever the server answers before closing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except socket.timeout:
                pass
            return b"".join(chunks)


def pg_url():
    """The URL of the CTest fixture's PostgreSQL server (AUTHGATE_TEST_PG_URL_FILE)."""
    with open(os.environ["AUTHGATE_TEST_PG_URL_FILE"]) as f:
        return f.read().strip()


def empty_postgres():
    """The fixture's PostgreSQL with an empty public schema; returns its URL."""
    url = pg_url()
    subprocess.run(["psql", url, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                   check=True, capture_output=True)
    return url


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Nginx:
    """A real nginx (Debian's) in a prefix of its own, stopped by its PID, never the service.

    `http_config` is the body of the http block; "%(port)d" in it is the port nginx listens on.
    """

    def __init__(self, http_config, workers=1):
        self.prefix = tempfile.mkdtemp(prefix="authgate-nginx-")
        self.port = free_port()
        p = self.prefix
        conf = os.path.join(p, "nginx.conf")
        with open(conf, "w") as f:
            f.write("worker_processes %d;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "events { worker_connections 4096; }\nhttp {\n  access_log off;\n"
                    "  client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
                    "  fastcgi_temp_path %s/fastcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
                    % (workers, p, p, p, p, p, p, p))
            f.write(http_config.replace("%(port)d", str(self.port)))
            f.write("\n}\n")
        self.process = subprocess.Popen(["nginx", "-p", p, "-c", conf, "-e", os.path.join(p, "error.log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(lambda: port_open(self.port), 10):
            with open(os.path.join(p, "error.log")) as log:
                raise RuntimeError("nginx did not start: " + log.read())

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)


def wait_until(predicate, timeout=2.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class TcpProxy:
    """A TCP proxy on loopback between authgate and a server (PostgreSQL), for fault tests.

    Modes (set with the methods, any time):
    - pass: bytes flow both ways;
    - freeze(): a silent network — nothing is forwarded and nothing is closed (new connections
      are accepted and then ignored too), like a pulled cable or a firewall dropping packets;
    - delay(seconds): every chunk is held that long before it is forwarded;
    - reset(): every open connection is closed with an RST (SO_LINGER 0); new ones pass.
    Held bytes are forwarded when the proxy passes again (TCP does not lose them either).
    """

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Condition()
        self.frozen = False
        self.delay_s = 0.0
        self.closed = False
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self):
        with self.lock:
            self.frozen = True

    def thaw(self):
        with self.lock:
            self.frozen = False
            self.delay_s = 0.0
            self.lock.notify_all()

    def delay(self, seconds):
        with self.lock:
            self.delay_s = seconds

    def reset(self):
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.thaw()
        self.listener.close()
        self.reset()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        self._wait_while_frozen()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _wait_while_frozen(self):
        with self.lock:
            while self.frozen and not self.closed:
                self.lock.wait(0.5)
            return self.delay_s

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                delay = self._wait_while_frozen()
                if delay:
                    time.sleep(delay)
                    self._wait_while_frozen()
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
