"""Starting and talking to fangs-orchestrator and fangs-runner in tests."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("FANGS_BUILD_ROOT", "build")
ORCH = os.environ.get("FANGS_ORCHESTRATOR_BIN", os.path.join(BUILD, "tools/fangs-orchestrator/fangs-orchestrator"))
RUNNER = os.environ.get("FANGS_RUNNER_BIN", os.path.join(BUILD, "tools/fangs-runner/fangs-runner"))
FANGS = os.environ.get("FANGS_CLI", os.path.join(BUILD, "tools/fangs/fangs"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, what, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Proc:
    def __init__(self, args, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=e)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


_tokens = {}


def make_token(tokens_file, role, name, runner=None):
    """A token of `role` named `name` in the tokens file (made once)."""
    key = (tokens_file, name)
    if key not in _tokens:
        args = [FANGS, "--json", "token", "create", "--role", role, "--name", name, "--file", tokens_file]
        if runner:
            args += ["--runner", runner]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("fangs token create: " + p.stderr)
        _tokens[key] = json.loads(p.stdout)["token"]
    return _tokens[key]


def forget_token(tokens_file, name):
    _tokens.pop((tokens_file, name), None)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def csrf(value="a1" * 32):
    """What a program (or the UI's script) adds to a write made on a client
    certificate or without authentication: the same value as the
    fangs_csrf cookie and the X-Fangs-CSRF header."""
    return {"Cookie": "fangs_csrf=" + value, "X-Fangs-CSRF": value}


class Orchestrator(Proc):
    """auth: "tokens" (a tokens file in tmp, an operator token for the
    test's own requests), "none" (--insecure-no-auth) or "extra" (the
    credentials are in `extra`)."""

    def __init__(self, tmp, db, port=None, extra=(), name="orchestrator", scheme="http", env=None, auth="tokens", postgres=None):
        self.port = port or free_port()
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.tokens_file = None
        self.token = None
        storage = ["--postgres-dsn", postgres] if postgres else ["--sqlite-path", db]
        args = [ORCH, "--listen", "127.0.0.1:%d" % self.port] + storage + list(extra)
        if auth == "tokens":
            self.tokens_file = os.path.join(tmp, "tokens")
            self.token = make_token(self.tokens_file, "operator", "test-operator")
            args += ["--tokens", self.tokens_file]
        elif auth == "none":
            args += ["--insecure-no-auth"]
        super().__init__(args, os.path.join(tmp, name + ".log"), env=env)
        if scheme == "http":
            wait_for(self.healthy, 10, "the orchestrator to answer")

    def runner_token(self, rid):
        return make_token(self.tokens_file, "runner", "runner-" + rid, runner=rid)

    def as_runner(self, rid):
        return bearer(self.runner_token(rid))

    def healthy(self):
        try:
            return self.get("/v1/health")[0] == 200
        except OSError:
            if not self.alive():
                raise AssertionError("orchestrator exited:\n" + self.text())
            return False

    def request(self, method, path, body=None, headers=None, timeout=30, auth=True):
        """With the test's operator token unless `headers` carry another
        credential or auth is False."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = dict(headers or {})
        if auth and self.token and "Authorization" not in headers:
            headers.update(bearer(self.token))
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, raw
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def submit(self, package, version, runner=None):
        body = {"package": package, "version": version}
        if runner:
            body["runner"] = runner
        st, raw = self.post("/v1/scans", body)
        assert st == 201, (st, raw)
        return json.loads(raw)["run_id"]

    def metrics(self):
        st, raw = self.get("/metrics")
        assert st == 200
        out = {}
        for line in raw.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out


class Runner(Proc):
    """token: its bearer token, in a 0600 file given to --token-file (or,
    token_env, in FANGS_TOKEN)."""

    def __init__(self, tmp, orch_url, runner_id, registry, extra=(), max_scans=1, token=None, token_env=False):
        args = [RUNNER, "--orchestrator", orch_url, "--runner-id", runner_id, "--registry", registry,
                "--max-scans", str(max_scans), "--cache-dir", os.path.join(tmp, "cache-" + runner_id),
                "--duration-ms", "30000"] + list(extra)
        env = {}
        if token and token_env:
            env["FANGS_TOKEN"] = token
        elif token:
            path = os.path.join(tmp, "token-" + runner_id)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, (token + "\n").encode())
            os.close(fd)
            args += ["--token-file", path]
        self.id = runner_id
        super().__init__(args, os.path.join(tmp, "runner-%s.log" % runner_id), env=env)


def fangs(db, *args):
    p = subprocess.run([FANGS, "--sqlite-path", db, "--json"] + list(args), capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("fangs %s -> %d: %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return json.loads(p.stdout) if p.stdout.strip() else None


def run_of(db, run_id):
    return fangs(db, "run", "show", run_id)
