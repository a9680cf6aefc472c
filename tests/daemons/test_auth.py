"""Who may talk to the orchestrator (docs/security.md): every endpoint but
/v1/health needs a credential, a client certificate with a role or a bearer
token; each role does only its part; a runner's credential acts for its
runner only; revocation by serial; tokens rotated without a restart; no
token and no secret kept in clear."""

import hashlib
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemons import (FANGS, ORCH, Orchestrator, Proc, bearer, csrf, fangs, forget_token, free_port,  # noqa: E402
                     make_token, run_of, wait_for)

EVENT = {"kind": "exec", "ts_ns": 1, "pid": 10, "path": "/bin/sh", "argv": ["sh", "-c", "true"]}
NDJSON = (json.dumps(EVENT) + "\n").encode()


def cli(*args, env=None, code=0):
    p = subprocess.run([FANGS] + list(args), capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    assert p.returncode == code, "fangs %s -> %d: %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr)
    return p


def start_fails(tmp, args, name):
    """The orchestrator with `args` exits at once, non-zero: its log."""
    log = os.path.join(tmp, name + ".log")
    with open(log, "wb") as f:
        p = subprocess.run([ORCH, "--no-watch", "--sqlite-path", os.path.join(tmp, name + ".db")] + args,
                           stdout=f, stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode != 0, "orchestrator %s started" % args
    with open(log) as f:
        return f.read()


class TokenTest(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-auth-")
        self.tmp = self.tmpd.name
        self.db = os.path.join(self.tmp, "fangs.db")
        self.o = Orchestrator(self.tmp, self.db, extra=["--no-watch", "--poll-max-ms", "300"])
        self.tf = self.o.tokens_file
        self.tok = {role: make_token(self.tf, role, role + "-1") for role in ("submitter", "reader")}
        self.tok["operator"] = self.o.token

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0)
        for k in list(daemons_tokens()):
            if k[0] == self.tf:
                forget_token(*k)
        self.tmpd.cleanup()

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h.update(bearer(token))
        st, raw = self.o.request(method, path, body, headers=h, auth=False)
        return st, (json.loads(raw) if raw.startswith(b"{") else raw)

    def held_run(self, rid="r1", hostname="h1"):
        """rid registered and holding a run: the run id."""
        t = self.o.runner_token(rid)
        self.assertEqual(self.call("POST", "/v1/runners/register", {"runner_id": rid, "hostname": hostname},
                                   t)[0], 200)
        run = self.o.submit("pkg", "1.0.0", runner=rid)
        st, job = self.call("GET", "/v1/runners/%s/jobs?wait_ms=2000" % rid, token=t)
        self.assertEqual((st, job["run_id"]), (200, run))
        return run

    def runners(self):
        return {r["id"]: r for r in fangs(self.db, "runner", "list")}

    def test_no_credential_no_access(self):
        run = self.held_run()
        endpoints = [("POST", "/v1/runners/register", {"runner_id": "r1", "hostname": "evil"}),
                     ("POST", "/v1/runners/r1/heartbeat", b"{}"), ("GET", "/v1/runners/r1/jobs?wait_ms=0", None),
                     ("POST", "/v1/scans", {"package": "p", "version": "1"}),
                     ("POST", "/v1/runs/%s/events" % run, NDJSON),
                     ("POST", "/v1/runs/%s/result" % run, {"state": "succeeded"}),
                     ("GET", "/v1/runners", None), ("POST", "/v1/runs/%s/fail" % run, b"{}"),
                     ("GET", "/metrics", None), ("GET", "/", None), ("POST", "/v1/health", b"{}")]
        for method, path, body in endpoints:
            # nothing, a header naming the runner, a token nobody issued, not a bearer token
            for headers in ({}, {"Fangs-Runner": "r1"}, bearer("fangs_" + "0" * 64),
                            {"Authorization": "Basic cjE6cjE="}):
                st, err = self.call(method, path, body, headers=headers)
                self.assertEqual(st, 401, "%s %s %s -> %s %s" % (method, path, headers, st, err))
                self.assertTrue(err["error"])
        self.assertEqual(self.call("GET", "/v1/health")[0], 200)
        # nothing changed: the runner keeps its host, the run is running with no events
        self.assertEqual(self.runners()["r1"]["hostname"], "h1")
        self.assertEqual(run_of(self.db, run)["state"], "running")
        self.assertFalse(fangs(self.db, "events", "list", run))
        self.assertEqual(len(fangs(self.db, "run", "list")), 1)
        self.assertIn("refused POST /v1/runs/%s/result" % run, self.o.text())

    def test_roles(self):
        rt = self.o.runner_token("r1")
        scan = {"package": "p", "version": "1"}
        for role, want in (("submitter", 201), ("operator", 201), ("reader", 403)):
            self.assertEqual(self.call("POST", "/v1/scans", scan, self.tok[role])[0], want, role)
        st, err = self.call("POST", "/v1/scans", scan, rt)
        self.assertEqual(st, 403)
        self.assertIn("runner role", err["error"])
        for role in ("submitter", "operator", "reader"):
            st, err = self.call("POST", "/v1/runners/register", {"runner_id": "r1"}, self.tok[role])
            self.assertEqual(st, 403, role)
            self.assertIn("needs the runner role", err["error"])
            self.assertEqual(self.call("POST", "/v1/runners/r1/heartbeat", b"{}", self.tok[role])[0], 403)
            self.assertEqual(self.call("GET", "/metrics", token=self.tok[role])[0], 200, role)
        self.assertEqual(self.call("GET", "/metrics", token=rt)[0], 403)
        self.assertEqual(self.runners(), {})
        self.assertEqual(len(fangs(self.db, "run", "list")), 2)

    def test_runner_acts_as_itself(self):
        run_b = self.held_run("rb", "host-b")
        ta = self.o.runner_token("ra")
        self.assertEqual(self.call("POST", "/v1/runners/register", {"runner_id": "ra"}, ta)[0], 200)
        st, err = self.call("POST", "/v1/runners/register", {"runner_id": "rb", "hostname": "evil"}, ta)
        self.assertEqual(st, 403)
        self.assertIn("may not act as runner 'rb'", err["error"])
        self.assertEqual(self.call("POST", "/v1/runners/rb/heartbeat", b"{}", ta)[0], 403)
        self.assertEqual(self.call("GET", "/v1/runners/rb/jobs?wait_ms=0", token=ta)[0], 403)
        # rb's run: ra may neither add events nor end it; a Fangs-Runner header changes nothing
        for h in ({}, {"Fangs-Runner": "rb"}):
            st, err = self.call("POST", "/v1/runs/%s/events" % run_b, NDJSON, ta, headers=h)
            self.assertEqual(st, 409)
            self.assertIn("another runner", err["error"])
            self.assertEqual(self.call("POST", "/v1/runs/%s/result" % run_b, {"state": "succeeded"}, ta, h)[0], 409)
        self.assertEqual(self.runners()["rb"]["hostname"], "host-b")
        self.assertEqual(run_of(self.db, run_b)["state"], "running")
        self.assertFalse(fangs(self.db, "events", "list", run_b))
        # rb itself may
        tb = self.o.runner_token("rb")
        self.assertEqual(self.call("POST", "/v1/runs/%s/events" % run_b, NDJSON, tb)[0], 200)
        self.assertEqual(self.runners()["rb"]["cn"], "token:runner-rb")

    def test_operator_endpoints(self):
        run = self.held_run()
        rt = self.o.runner_token("r1")
        self.assertEqual(self.call("GET", "/v1/runners")[0], 401)
        self.assertEqual(self.call("GET", "/v1/runners", token=rt)[0], 403)
        st, runners = self.call("GET", "/v1/runners", token=self.tok["reader"])
        self.assertEqual(st, 200)
        self.assertEqual([(r["id"], r["hostname"], r["running"]) for r in json.loads(runners)], [("r1", "h1", 1)])
        # from the command line, through the orchestrator
        env = {"FANGS_TOKEN": self.tok["reader"]}
        p = cli("--json", "runner", "list", "--orchestrator", self.o.url, env=env)
        self.assertEqual([r["cn"] for r in json.loads(p.stdout)], ["token:runner-r1"])
        # failing a run is the operator's
        for who in (None, rt, self.tok["reader"], self.tok["submitter"]):
            self.assertIn(self.call("POST", "/v1/runs/%s/fail" % run, b"{}", who)[0], (401, 403))
        self.assertEqual(run_of(self.db, run)["state"], "running")
        tf = os.path.join(self.tmp, "submitter.token")
        with open(tf, "w") as f:
            f.write(self.tok["submitter"])
        p = cli("run", "fail", run, "--orchestrator", self.o.url, "--token-file", tf, code=1)
        self.assertIn("operator role", p.stderr)
        p = cli("run", "fail", run, "--orchestrator", self.o.url, env={"FANGS_TOKEN": self.tok["operator"]})
        self.assertIn("marked failed", p.stdout)
        r = run_of(self.db, run)
        self.assertEqual(r["state"], "failed")
        self.assertIn("by hand (token test-operator)", r["error"])
        self.assertEqual(self.call("POST", "/v1/runs/%s/fail" % run, b"{}", self.tok["operator"])[0], 409)
        self.assertEqual(self.call("POST", "/v1/runs/%s/result" % run, {"state": "succeeded"}, rt)[0], 409)

    def test_rotation(self):
        old = make_token(self.tf, "runner", "r1-2025", runner="r1")
        self.assertEqual(self.call("POST", "/v1/runners/register", {"runner_id": "r1"}, old)[0], 200)
        new = make_token(self.tf, "runner", "r1-2026", runner="r1")
        self.assertNotEqual(old, new)
        self.assertEqual(self.call("POST", "/v1/runners/r1/heartbeat", b"{}", new)[0], 200)
        self.assertEqual(self.call("POST", "/v1/runners/r1/heartbeat", b"{}", old)[0], 200)
        cli("token", "revoke", "r1-2025", "--file", self.tf)
        forget_token(self.tf, "r1-2025")
        # at once, without a restart
        st, err = self.call("POST", "/v1/runners/r1/heartbeat", b"{}", old)
        self.assertEqual((st, err["error"]), (401, "unknown or revoked token"))
        self.assertEqual(self.call("POST", "/v1/runners/r1/heartbeat", b"{}", new)[0], 200)
        names = [t["name"] for t in json.loads(cli("--json", "token", "list", "--file", self.tf).stdout)]
        self.assertIn("r1-2026", names)
        self.assertNotIn("r1-2025", names)
        cli("token", "revoke", "r1-2025", "--file", self.tf, code=1)
        # a tokens file gone: no token gets in until it is back
        os.rename(self.tf, self.tf + ".away")
        st, err = self.call("POST", "/v1/runners/r1/heartbeat", b"{}", new)
        self.assertEqual(st, 503)
        self.assertIn("tokens file", err["error"])
        os.rename(self.tf + ".away", self.tf)
        self.assertEqual(self.call("POST", "/v1/runners/r1/heartbeat", b"{}", new)[0], 200)
        # a name is taken once; roles are the four
        cli("token", "create", "--role", "runner", "--name", "r1-2026", "--file", self.tf, code=1)
        cli("token", "create", "--role", "admin", "--name", "x", "--file", self.tf, code=2)

    def test_secrets_at_rest(self):
        self.held_run()
        tokens = list(self.tok.values()) + [self.o.runner_token("r1")]
        for t in tokens:
            self.assertTrue(t.startswith("fangs_") and len(t) == 6 + 64, t)
        with open(self.tf) as f:
            text = f.read()
        for t in tokens:
            self.assertNotIn(t, text)
            self.assertIn("sha256:" + hashlib.sha256(t.encode()).hexdigest(), text)
        self.assertEqual(stat.S_IMODE(os.stat(self.tf).st_mode), 0o600)
        # the database, its WAL and shared memory: created 0600, no token in them
        for suffix in ("", "-wal", "-shm"):
            path = self.db + suffix
            self.assertTrue(os.path.exists(path), path)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
            with open(path, "rb") as f:
                data = f.read()
            for t in tokens:
                self.assertNotIn(t.encode(), data)


def daemons_tokens():
    import daemons
    return list(daemons._tokens)


class StartTest(unittest.TestCase):
    """What the orchestrator refuses to start with."""

    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-authstart-")
        self.tmp = self.tmpd.name

    def tearDown(self):
        self.tmpd.cleanup()

    def listen(self, host="127.0.0.1"):
        return ["--listen", "%s:%d" % (host, free_port())]

    def test_refusals(self):
        log = start_fails(self.tmp, self.listen(), "noauth")
        self.assertIn("no client authentication", log)
        log = start_fails(self.tmp, self.listen() + ["--tokens", os.path.join(self.tmp, "missing")], "notokens")
        self.assertIn("cannot read the tokens file", log)
        os.mkdir(os.path.join(self.tmp, "adir"))
        log = start_fails(self.tmp, self.listen() + ["--tokens", os.path.join(self.tmp, "adir")], "dirtokens")
        self.assertIn("tokens file", log)
        with open(os.path.join(self.tmp, "bad-tokens"), "w") as f:
            f.write("name role\n")
        log = start_fails(self.tmp, self.listen() + ["--tokens", os.path.join(self.tmp, "bad-tokens")], "badtokens")
        self.assertIn("bad-tokens:1", log)
        log = start_fails(self.tmp, self.listen("0.0.0.0") + ["--insecure-no-auth"], "remote-noauth")
        self.assertIn("refusing --insecure-no-auth", log)
        tf = os.path.join(self.tmp, "tokens")
        make_token(tf, "operator", "op")
        # tokens in clear over the network
        log = start_fails(self.tmp, self.listen("0.0.0.0") + ["--tokens", tf], "remote-plain")
        self.assertIn("plain HTTP", log)
        # TLS but no client authentication
        ca = os.path.join(self.tmp, "ca")
        cli("ca", "init", "--dir", ca)
        cli("ca", "issue", "orch", "--host", "127.0.0.1", "--dir", ca)
        tls = ["--tls-cert", os.path.join(ca, "orch.pem"), "--tls-key", os.path.join(ca, "orch-key.pem")]
        log = start_fails(self.tmp, self.listen("0.0.0.0") + tls, "remote-tls")
        self.assertIn("no client authentication", log)
        # a revocation list named but not there
        log = start_fails(self.tmp, self.listen() + tls + ["--client-ca", os.path.join(ca, "ca.pem"), "--revoked",
                                                             os.path.join(self.tmp, "nope.txt")], "norevoked")
        self.assertIn("revocation list", log)
        self.assertIn("nope.txt", log)

    def test_insecure_no_auth_warns(self):
        o = Orchestrator(self.tmp, os.path.join(self.tmp, "db"), extra=["--no-watch"], auth="none")
        try:
            st, _ = o.post("/v1/runners/register", {"runner_id": "anyone"}, headers={"Fangs-Runner": "anyone"})
            self.assertEqual(st, 200)
            self.assertIn("WARNING: --insecure-no-auth", o.text())
        finally:
            self.assertEqual(o.stop(), 0)


class CertTest(unittest.TestCase):
    """Roles in certificates (the subject's OU), revocation by serial."""

    @classmethod
    def setUpClass(cls):
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-authcert-")
        cls.tmp = cls.tmpd.name
        cls.ca = os.path.join(cls.tmp, "ca")
        cli("ca", "init", "--dir", cls.ca)
        cli("ca", "issue", "orchestrator", "--host", "127.0.0.1", "--dir", cls.ca)
        for name, role in (("ra", "runner"), ("rb", "runner"), ("op", "operator"), ("sub", "submitter"),
                           ("rd", "reader"), ("gone", "runner")):
            cli("ca", "issue", name, "--role", role, "--dir", cls.ca)
        # a certificate without a role cannot be made by mistake
        cli("ca", "issue", "norole", "--dir", cls.ca, code=2)
        # gone: revoked, then issued again under the same name (a new serial)
        shutil.copy(cls.pem("gone"), os.path.join(cls.tmp, "gone-old.pem"))
        shutil.copy(cls.key("gone"), os.path.join(cls.tmp, "gone-old-key.pem"))
        out = json.loads(cli("--json", "ca", "revoke", "gone", "--dir", cls.ca).stdout)
        cls.gone_serial = out["serial"]
        cli("ca", "issue", "gone", "--role", "runner", "--dir", cls.ca)
        cls.tf = os.path.join(cls.tmp, "tokens")
        cls.op_token = make_token(cls.tf, "operator", "op-token")
        cls.db = os.path.join(cls.tmp, "fangs.db")
        cls.o = Orchestrator(cls.tmp, cls.db, scheme="https", auth="extra", extra=[
            "--no-watch", "--poll-max-ms", "300", "--tls-cert", cls.pem("orchestrator"),
            "--tls-key", cls.key("orchestrator"), "--client-ca", cls.pem("ca"), "--tokens", cls.tf])
        def up():
            try:
                return cls.call("GET", "/v1/health")[0] == 200
            except OSError:
                return False
        wait_for(up, 10, "the orchestrator over TLS")

    @classmethod
    def tearDownClass(cls):
        rc = cls.o.stop()
        cls.tmpd.cleanup()
        assert rc == 0

    @classmethod
    def pem(cls, name):
        return os.path.join(cls.ca, name + ".pem")

    @classmethod
    def key(cls, name):
        return os.path.join(cls.ca, name + "-key.pem")

    @classmethod
    def call(cls, method, path, body=None, cert=None, headers=None):
        ctx = ssl.create_default_context(cafile=cls.pem("ca"))
        if cert:
            ctx.load_cert_chain(*cert) if isinstance(cert, tuple) else ctx.load_cert_chain(cls.pem(cert), cls.key(cert))
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(cls.o.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw.startswith(b"{") else raw)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_roles_in_certificates(self):
        scan = {"package": "p", "version": "1"}
        self.assertEqual(self.call("POST", "/v1/scans", scan, "ra")[0], 403)
        self.assertEqual(self.call("POST", "/v1/scans", scan, "rd")[0], 403)
        self.assertEqual(self.call("POST", "/v1/scans", scan, "sub", headers=csrf())[0], 201)
        self.assertEqual(self.call("GET", "/metrics", cert="rd")[0], 200)
        st, err = self.call("POST", "/v1/runners/register", {"runner_id": "op"}, "op")
        self.assertEqual(st, 403)
        self.assertIn("operator role", err["error"])
        # the orchestrator's own certificate has no client role
        for method, path, body in (("POST", "/v1/runners/register", {"runner_id": "orchestrator"}),
                                   ("POST", "/v1/scans", scan), ("GET", "/metrics", None)):
            st, err = self.call(method, path, body, "orchestrator")
            self.assertEqual(st, 403, path)
            self.assertIn("no fangs role", err["error"])
        # a runner acts as itself only
        st, _ = self.call("POST", "/v1/runners/register", {"runner_id": "ra"}, "ra", {"Fangs-Runner": "ra"})
        self.assertEqual(st, 200)
        st, err = self.call("POST", "/v1/runners/register", {"runner_id": "rb"}, "ra")
        self.assertEqual(st, 403)
        self.assertEqual(self.call("POST", "/v1/runners/rb/heartbeat", b"{}", "ra")[0], 403)
        # a token works beside certificates
        self.assertEqual(self.call("GET", "/metrics", headers=bearer(self.op_token))[0], 200)
        self.assertEqual(self.call("GET", "/metrics")[0], 401)
        ids = [r["id"] for r in fangs(self.db, "runner", "list")]
        self.assertIn("ra", ids)
        for refused in ("rb", "op", "orchestrator"):
            self.assertNotIn(refused, ids)

    def test_revoked_serial(self):
        old = (os.path.join(self.tmp, "gone-old.pem"), os.path.join(self.tmp, "gone-old-key.pem"))
        st, err = self.call("POST", "/v1/runners/register", {"runner_id": "gone"}, old)
        self.assertEqual(st, 403)
        self.assertIn("revoked", err["error"])
        with open(os.path.join(self.ca, "revoked.txt")) as f:
            self.assertIn("serial:" + self.gone_serial, f.read())
        # the certificate issued again under the same name is another serial: accepted
        self.assertEqual(self.call("POST", "/v1/runners/register", {"runner_id": "gone"}, "gone",
                                   {"Fangs-Runner": "gone"})[0], 200)
        # and revoked by serial from the command line, it is refused at once
        p = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", self.pem("gone")], capture_output=True,
                           text=True)
        serial = p.stdout.strip().split("=")[1] if p.returncode == 0 else None
        if serial is None:
            serial = json.loads(cli("--json", "ca", "revoke", "gone", "--dir", self.ca).stdout)["serial"]
        else:
            cli("ca", "revoke", "--serial", serial, "--dir", self.ca)
        st, err = self.call("POST", "/v1/runners/gone/heartbeat", b"{}", "gone")
        self.assertEqual(st, 403)
        self.assertIn("revoked", err["error"])

    def test_unreadable_revocation_list_refuses(self):
        path = os.path.join(self.ca, "revoked.txt")
        os.rename(path, path + ".away")
        try:
            # the list next to the CA may be absent (a CA that never revoked), but once
            # it cannot be read as a file, no certificate gets in
            os.mkdir(path)
            try:
                st, err = self.call("GET", "/metrics", cert="op")
                self.assertEqual(st, 503)
                self.assertIn("revocation list", err["error"])
            finally:
                os.rmdir(path)
        finally:
            os.rename(path + ".away", path)
        self.assertEqual(self.call("GET", "/metrics", cert="op")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
