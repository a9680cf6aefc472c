"""The orchestrator's HTTP API against bad input, and mTLS: every refusal is
a 4xx with a JSON error, changes nothing, and the server stays up."""

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemons  # noqa: E402
import fakereg  # noqa: E402
from daemons import FANGS, Orchestrator, Runner, bearer, fangs, run_of, wait_for  # noqa: E402

EVENT = {"kind": "exec", "ts_ns": 1, "pid": 10, "path": "/bin/sh", "argv": ["sh", "-c", "true"]}


class ApiInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-api-")
        cls.db = os.path.join(cls.tmpd.name, "fangs.db")
        cls.o = Orchestrator(cls.tmpd.name, cls.db, extra=["--no-watch", "--poll-max-ms", "300"])
        st, _ = cls.o.post("/v1/runners/register", {"runner_id": "r1"}, headers=cls.o.as_runner("r1"))
        assert st == 200
        st, _ = cls.o.post("/v1/runners/register", {"runner_id": "r2"}, headers=cls.o.as_runner("r2"))
        assert st == 200
        cls.run_id = cls.o.submit("pkg", "1.0.0")
        st, raw = cls.o.get("/v1/runners/r1/jobs?wait_ms=2000", headers=cls.o.as_runner("r1"))
        assert st == 200, (st, raw)
        assert json.loads(raw)["run_id"] == cls.run_id

    @classmethod
    def tearDownClass(cls):
        rc = cls.o.stop()
        cls.tmpd.cleanup()
        assert rc == 0, "orchestrator exit status %s" % rc

    def refused(self, status, method, path, body=None, headers=None, auth=True):
        st, raw = self.o.request(method, path, body, headers=headers, auth=auth)
        self.assertEqual(st, status, "%s %s -> %d %s" % (method, path, st, raw[:200]))
        err = json.loads(raw)
        self.assertIsInstance(err.get("error"), str)
        self.assertTrue(err["error"])
        return err["error"]

    def too_large(self, path, size, headers=None):
        """A body announced too large is refused before it is sent; one sent
        in chunks (no length up front) is read up to the limit, then refused."""
        headers = headers or bearer(self.o.token)
        hdrs = "".join("%s: %s\r\n" % kv for kv in headers.items())
        s = socket.create_connection(("127.0.0.1", self.o.port), timeout=10)
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (path, size, hdrs)).encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:100])
        conn = http.client.HTTPConnection("127.0.0.1", self.o.port, timeout=30)
        piece = b"x" * 65536
        conn.request("POST", path, body=iter([piece] * (size // len(piece) + 1)), headers=headers,
                     encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual(r.status, 413)
        self.assertIn("too large", json.loads(r.read())["error"])
        conn.close()

    def as_r1(self):
        return self.o.as_runner("r1")

    def assert_unchanged(self):
        self.assertTrue(self.o.healthy())
        m = self.o.metrics()
        self.assertEqual(m['fangs_runs{state="queued"}'] + m['fangs_runs{state="running"}'], 1)
        self.assertEqual(m["fangs_events_received_total"], 0)
        self.assertEqual(run_of(self.db, self.run_id)["state"], "running")

    def test_register(self):
        for body in (b"{", b"[]", b'"x"', b"", b'{"runner_id": 5}', b'{"hostname": "h"}',
                     b'{"runner_id": "a b"}', b'{"runner_id": "../x"}', b'{"runner_id": "r", "max_scans": 0}',
                     b'{"runner_id": "r", "max_scans": 1e3}', b'{"runner_id": "r"} trailing',
                     b'{"runner_id": "r\\u0000x"}', b'{"runner_id": "' + b"a" * 300 + b'"}'):
            self.refused(400, "POST", "/v1/runners/register", body, self.as_r1())
        self.too_large("/v1/runners/register", 300000, self.as_r1())
        self.assertNotIn("r", [r["id"] for r in fangs(self.db, "runner", "list")])
        self.assert_unchanged()

    def test_heartbeat_and_jobs(self):
        ghost = self.o.as_runner("ghost")
        self.assertIn("not registered", self.refused(404, "POST", "/v1/runners/ghost/heartbeat", b"{}", ghost))
        self.refused(404, "GET", "/v1/runners/ghost/jobs", headers=ghost)
        # a runner's credential names its runner: any other id in the path is refused
        self.refused(403, "GET", "/v1/runners/..%2f/jobs", headers=self.as_r1())
        self.refused(403, "POST", "/v1/runners/a%20b/heartbeat", b"{}", self.as_r1())
        self.refused(405, "GET", "/v1/runners/r1/heartbeat", headers=self.as_r1())
        self.refused(405, "POST", "/v1/runners/r1/jobs", b"{}", self.as_r1())
        st, _ = self.o.post("/v1/runners/r1/heartbeat", b"{}", headers=self.as_r1())
        self.assertEqual(st, 200)
        # nothing for r2: the one job is r1's
        st, _ = self.o.get("/v1/runners/r2/jobs?wait_ms=100", headers=self.o.as_runner("r2"))
        self.assertEqual(st, 204)
        self.assert_unchanged()

    def test_scans(self):
        for body in (b"not json", b"{}", b'{"package": "p"}', b'{"version": "1"}',
                     b'{"package": "a b", "version": "1"}', b'{"package": "p", "version": "1/2"}',
                     b'{"package": "../p", "version": "1"}', b'{"package": "p", "version": 1}',
                     b'{"package": "p", "version": "1", "runner": "x y"}',
                     b'{"package": "p", "version": "1", "run_id": "mine"}', b'{"package": ["p"], "version": "1"}'):
            self.refused(400, "POST", "/v1/scans", body)
        self.too_large("/v1/scans", 300000)
        self.refused(405, "GET", "/v1/scans")
        self.assert_unchanged()

    def test_events(self):
        good = (json.dumps(EVENT) + "\n").encode()
        self.refused(404, "POST", "/v1/runs/nope/events", good, self.as_r1())
        self.assertIn("another runner", self.refused(409, "POST", "/v1/runs/%s/events" % self.run_id, good,
                                                     self.o.as_runner("r2")))
        # no credential; a header naming the runner is no credential; not a runner's credential
        self.refused(401, "POST", "/v1/runs/%s/events" % self.run_id, good, auth=False)
        self.refused(401, "POST", "/v1/runs/%s/events" % self.run_id, good, {"Fangs-Runner": "r1"}, auth=False)
        self.refused(403, "POST", "/v1/runs/%s/events" % self.run_id, good)
        for bad in (b"{", b'{"kind": "nope"}\n', good + b"garbage\n", b'{"kind": "exec"}\n', b"\x00\xff\n"):
            self.refused(400, "POST", "/v1/runs/%s/events" % self.run_id, bad, self.as_r1())
        self.too_large("/v1/runs/%s/events" % self.run_id, 9 * 1024 * 1024, self.as_r1())
        self.refused(400, "POST", "/v1/runs/bad%20id/events", good, self.as_r1())
        self.assert_unchanged()

    def test_result(self):
        ok = {"state": "succeeded", "exit_code": 0}
        self.refused(404, "POST", "/v1/runs/nope/result", ok, self.as_r1())
        self.refused(409, "POST", "/v1/runs/%s/result" % self.run_id, ok, self.o.as_runner("r2"))
        self.refused(401, "POST", "/v1/runs/%s/result" % self.run_id, ok, {"Fangs-Runner": "r1"}, auth=False)
        for bad in ({"state": "queued"}, {"state": "running"}, {}, {"state": "succeeded", "exit_code": "0"},
                    {"state": "succeeded", "events_emitted": -1}, {"state": "failed", "exit_code": 99999}):
            self.refused(400, "POST", "/v1/runs/%s/result" % self.run_id, bad, self.as_r1())
        self.too_large("/v1/runs/%s/result" % self.run_id, 300000, self.as_r1())
        self.assert_unchanged()

    def test_other_paths_and_garbage(self):
        self.refused(404, "GET", "/")
        self.refused(404, "GET", "/v2/health")
        self.refused(404, "POST", "/v1/runs/x/other", b"{}")
        self.refused(405, "POST", "/v1/health", b"{}")
        self.refused(405, "POST", "/metrics", b"{}")
        self.refused(404, "GET", "/v1/" + "a/" * 500)
        # not HTTP at all, a slow client, a connection cut mid-body
        for payload in (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", b"GET\r\n\r\n",
                        b"POST /v1/scans HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pack"):
            s = socket.create_connection(("127.0.0.1", self.o.port), timeout=5)
            s.sendall(payload)
            try:
                s.recv(1024)
            except OSError:
                pass
            s.close()
        self.assert_unchanged()


class CliOpsTest(unittest.TestCase):
    """fangs scan submit, runner list, run fail, package watched against a
    live orchestrator and its database."""

    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-cliops-")
        self.db = os.path.join(self.tmpd.name, "fangs.db")
        self.o = Orchestrator(self.tmpd.name, self.db, extra=["--no-watch", "--poll-max-ms", "300"])
        # scan submit asks the registry first: this one knows left-pad 1.3.0 and x 1
        self.reg = fakereg.FakeRegistry()
        self.reg.publish("left-pad", "1.3.0")
        self.reg.publish("x", "1")

    def tearDown(self):
        self.reg.close()
        self.assertEqual(self.o.stop(), 0)
        self.tmpd.cleanup()

    def cli(self, *args, code=0, env=None):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, **(env or {})))
        self.assertEqual(p.returncode, code, p.stderr)
        return p

    def test_submit_list_fail(self):
        tok = {"FANGS_TOKEN": self.o.token}
        p = self.cli("--json", "scan", "submit", "-package", "left-pad", "-version", "1.3.0", "-runner", "r1",
                     "--registry", self.reg.url, env=dict(tok, FANGS_ORCHESTRATOR=self.o.url))
        run = json.loads(p.stdout)["run_id"]
        self.assertEqual(run_of(self.db, run)["state"], "queued")
        # the token from a file
        tf = os.path.join(self.tmpd.name, "op.token")
        with open(tf, "w") as f:
            f.write(self.o.token + "\n")
        p = self.cli("scan", "submit", "--package", "x", "--version", "1", "--orchestrator", self.o.url,
                     "--registry", self.reg.url, "--token-file", tf)
        self.assertIn("queued x@1 as run", p.stdout)
        self.assertIn("scan submit", self.cli("scan", "submit", "-package", "x", code=2).stderr)
        # without a token: the orchestrator's 401, shown as an error
        p = self.cli("scan", "submit", "-package", "x", "-version", "1", "--orchestrator", self.o.url,
                     "--registry", self.reg.url, code=1)
        self.assertIn("token is required", p.stderr)
        # a release the registry does not have is not queued: it would only fail on a runner
        p = self.cli("scan", "submit", "-package", "x", "-version", "9.9.9", "--orchestrator", self.o.url,
                     "--registry", self.reg.url, code=1, env=tok)
        self.assertIn("x has no version 9.9.9", p.stderr)
        p = self.cli("scan", "submit", "-package", "no-such-pkg", "-version", "1", "--orchestrator", self.o.url,
                     "--registry", self.reg.url, code=1, env=tok)
        self.assertIn("no package no-such-pkg", p.stderr)
        self.assertEqual(len(fangs(self.db, "run", "list")), 2, "nothing queued for a missing release")
        # a bad package name is a usage error, checked by npm's rules before anything is sent
        p = self.cli("scan", "submit", "-package", "a b", "-version", "1", "--orchestrator", self.o.url, code=2,
                     env=tok)
        self.assertIn("invalid package name", p.stderr)

        r1 = self.o.as_runner("r1")
        st, _ = self.o.post("/v1/runners/register", {"runner_id": "r1", "hostname": "h1", "max_scans": 3}, headers=r1)
        self.assertEqual(st, 200)
        st, raw = self.o.get("/v1/runners/r1/jobs?wait_ms=2000", headers=r1)
        self.assertEqual(json.loads(raw)["run_id"], run)
        runners = fangs(self.db, "runner", "list")
        self.assertEqual([(r["id"], r["state"], r["running"], r["max_scans"], r["hostname"]) for r in runners],
                         [("r1", "up", 1, 3, "h1")])
        self.assertIn("1/3", self.cli("runner", "list").stdout)

        self.assertIn("marked failed", self.cli("run", "fail", run).stdout)
        r = run_of(self.db, run)
        self.assertEqual(r["state"], "failed")
        self.assertIn("by hand", r["error"])
        self.cli("run", "fail", run, code=1)
        # the runner that held it is told it is no longer its run
        ev = (json.dumps(EVENT) + "\n").encode()
        st, _ = self.o.post("/v1/runs/%s/events" % run, ev, headers=r1)
        self.assertEqual(st, 409)
        st, _ = self.o.post("/v1/runs/%s/result" % run, {"state": "succeeded"}, headers=r1)
        self.assertEqual(st, 409)
        self.assertEqual(self.o.metrics()['fangs_runs{state="failed"}'], 1)
        self.assertEqual(fangs(self.db, "runner", "list")[0]["running"], 0)

    def test_package_watched(self):
        self.cli("package", "add", "wanted")
        names = [p["name"] for p in fangs(self.db, "package", "watched")]
        self.assertEqual(names, ["wanted"])


def ca(d, *args):
    p = subprocess.run([FANGS, "ca"] + list(args) + ["--dir", d], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


class MtlsTest(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-mtls-")
        self.tmp = self.tmpd.name
        os.chmod(self.tmp, 0o755)
        self.db = os.path.join(self.tmp, "fangs.db")
        self.ca = os.path.join(self.tmp, "ca")
        self.other = os.path.join(self.tmp, "other-ca")
        ca(self.ca, "init")
        ca(self.ca, "issue", "orchestrator", "--host", "127.0.0.1")
        for name in ("good", "gone"):
            ca(self.ca, "issue", name, "--role", "runner")
        ca(self.ca, "issue", "operator", "--role", "operator")
        ca(self.other, "init")
        ca(self.other, "issue", "good", "--role", "runner")
        ca(self.ca, "revoke", "gone")
        self.reg = fakereg.FakeRegistry()
        self.procs = []
        self.o = Orchestrator(self.tmp, self.db, scheme="https", auth="extra", extra=[
            "--no-watch", "--poll-max-ms", "2000", "--tls-cert", self.pem("orchestrator"),
            "--tls-key", self.key("orchestrator"), "--client-ca", self.pem("ca")])
        self.procs.append(self.o)
        wait_for(lambda: self.get("/v1/health", "operator")[0] == 200, 10, "the orchestrator over TLS")

    def tearDown(self):
        for p in self.procs:
            p.stop()
        self.reg.close()
        self.tmpd.cleanup()

    def pem(self, name, d=None):
        return os.path.join(d or self.ca, name + ".pem")

    def key(self, name, d=None):
        return os.path.join(d or self.ca, name + "-key.pem")

    def get(self, path, cert=None, d=None):
        ctx = ssl.create_default_context(cafile=self.pem("ca"))
        if cert:
            ctx.load_cert_chain(self.pem(cert, d), self.key(cert, d))
        try:
            with urllib.request.urlopen(self.o.url + path, context=ctx, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (ssl.SSLError, ConnectionError, urllib.error.URLError) as e:
            return 0, str(e).encode()

    def runner(self, rid, cert_dir=None, cert=None):
        extra = ["--ca", self.pem("ca")]
        if cert:
            extra += ["--tls-cert", self.pem(cert, cert_dir), "--tls-key", self.key(cert, cert_dir)]
        r = Runner(self.tmp, self.o.url, rid, self.reg.url, extra=extra)
        self.procs.append(r)
        return r

    def test_refused_clients(self):
        # health needs no credential; everything else a certificate of the CA, not revoked
        self.assertEqual(self.get("/v1/health")[0], 200)
        st, raw = self.get("/metrics")
        self.assertEqual(st, 403, raw)
        self.assertIn("certificate is required", json.loads(raw)["error"])
        st, raw = self.get("/metrics", "good", self.other)
        self.assertEqual(st, 403, raw)
        self.assertIn("not signed", json.loads(raw)["error"])
        st, raw = self.get("/metrics", "gone")
        self.assertEqual(st, 403, raw)
        self.assertIn("revoked", json.loads(raw)["error"])
        st, _ = self.get("/metrics", "operator")
        self.assertEqual(st, 200)
        # runners with no certificate, another CA's, a revoked one, or another's name: refused, and they stop
        for rid, d, cert in (("bare", None, None), ("good", self.other, "good"), ("gone", None, "gone"),
                             ("impostor", None, "good")):
            r = self.runner(rid, d, cert)
            wait_for(lambda: not r.alive(), 20, "runner %s to give up" % rid)
            self.assertEqual(r.stop(), 1)
            self.assertIn("registration refused", r.text())
        self.assertEqual(fangs(self.db, "runner", "list"), [])

    def test_good_runner_scans(self):
        src = os.path.join(os.path.dirname(__file__), "..", "fixtures", "packages", "benign-1.0.0")
        files = {}
        for name in ("package.json", "index.js", "postinstall.js"):
            with open(os.path.join(src, name), "rb") as f:
                files[name] = f.read()
        self.reg.publish("benign", "1.0.0", files)
        r = self.runner("good", None, "good")
        wait_for(lambda: [x["id"] for x in fangs(self.db, "runner", "list")] == ["good"], 20, "registration")
        self.assertEqual(fangs(self.db, "runner", "list")[0]["cn"], "good")
        env = dict(os.environ, FANGS_ORCHESTRATOR=self.o.url, FANGS_CA=self.pem("ca"),
                   FANGS_TLS_CERT=self.pem("operator"), FANGS_TLS_KEY=self.key("operator"))
        p = subprocess.run([FANGS, "--json", "scan", "submit", "-package", "benign", "-version", "1.0.0",
                            "--registry", self.reg.url],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        run = json.loads(p.stdout)["run_id"]
        wait_for(lambda: run_of(self.db, run)["state"] in ("succeeded", "failed"), 120, "the scan")
        self.assertEqual(run_of(self.db, run)["state"], "succeeded", r.text())
        self.assertEqual(run_of(self.db, run)["runner"], "good")


if __name__ == "__main__":
    unittest.main(verbosity=2)
