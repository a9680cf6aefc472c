"""What the daemons do when they cannot start: each says why on its log and
exits with its status at once, leaving nothing behind (built with
-Db_sanitize=address the leak checker runs at exit: a report, or its abort,
fails the test)."""

import os
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemons import ORCH, RUNNER, Proc, free_port, make_token, wait_for  # noqa: E402

# the sanitizers' own reports: none may appear on a daemon's log
SANITIZER_MARKS = ("LeakSanitizer", "AddressSanitizer", "runtime error:")


def env():
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("FANGS_") and k not in ("FANGS_SOURCE_ROOT", "FANGS_BUILD_ROOT"):
            del e[k]
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    return e


class StartupFailures(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-startup-")
        self.tmp = self.tmpd.name
        self.tokens = os.path.join(self.tmp, "tokens")
        make_token(self.tokens, "operator", "op")
        self.pem = os.path.join(self.tmp, "some.pem")
        with open(self.pem, "w") as f:
            f.write("not read as a certificate before the server starts\n")

    def tearDown(self):
        self.tmpd.cleanup()

    def fails(self, prog, args, code, message):
        p = subprocess.run([prog] + args, capture_output=True, text=True, timeout=60, env=env())
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, code, "%s %s:\n%s" % (os.path.basename(prog), args, out))
        self.assertIn(message, out)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, out)
        return out

    def orch(self, args, code, message, sqlite=True):
        base = ["--no-watch", "--listen", "127.0.0.1:%d" % free_port()]
        if sqlite:
            base += ["--sqlite-path", os.path.join(self.tmp, "o.db")]
        return self.fails(ORCH, base + args, code, message)

    def test_orchestrator(self):
        tokens = ["--tokens", self.tokens]
        self.orch(["--config", os.path.join(self.tmp, "none.yaml")], 2, "none.yaml")
        self.orch(["--threads", "0"], 2, "--threads")
        # the follower's lists are held from the first flag on
        self.orch(["--follow-scope", "@a", "--follow-name", "b*", "--follow-scope", "c"], 2,
                  "--follow-scope: a scope is @name (got 'c')")
        self.orch(tokens + ["--follow-scope", "@a", "--follow-name", "b*", "--follow", "ftp://x.invalid"], 1,
                  "--follow: not an http(s) URL: ftp://x.invalid")
        self.orch(tokens + ["--follow-scope", "@a", "--follow", "http://x.invalid",
                            "--follow-popular", os.path.join(self.tmp, "none.txt")], 1, "cannot read it")
        self.orch(tokens + ["--tls-cert", os.path.join(self.tmp, "none.pem"), "--tls-key", self.pem], 1,
                  "cannot read %s or %s" % (os.path.join(self.tmp, "none.pem"), self.pem))
        self.orch(tokens + ["--tls-cert", self.pem], 1, "TLS needs --tls-cert and --tls-key together")
        none_ca = os.path.join(self.tmp, "none-ca.pem")
        self.orch(tokens + ["--tls-cert", self.pem, "--tls-key", self.pem, "--client-ca", none_ca], 1,
                  "cannot read %s" % none_ca)
        self.orch(["--postgres-dsn", "host=%s dbname=none connect_timeout=2" % self.tmp] + tokens, 1, "storage: ",
                  sqlite=False)
        self.orch(["--sqlite-path", os.path.join(self.tmp, "none", "o.db")] + tokens, 1, "storage: ", sqlite=False)
        self.orch(["--tokens", os.path.join(self.tmp, "none-tokens")], 1, "cannot read the tokens file")
        self.orch(["--insecure-no-auth"] + tokens, 1, "--insecure-no-auth cannot go with --client-ca or --tokens")
        self.orch(tokens + ["--listen", "bogus"], 1, "--listen bogus: expected HOST:PORT")
        self.orch([], 1, "no client authentication")

    def test_runner(self):
        work = ["--work-root", os.path.join(self.tmp, "work")]
        self.fails(RUNNER, ["--bogus"], 2, "usage: fangs-runner")
        self.fails(RUNNER, ["--max-scans", "0"], 2, "--max-scans")
        self.fails(RUNNER, ["--config", os.path.join(self.tmp, "none.yaml")], 2, "none.yaml")
        self.fails(RUNNER, work, 1, "--orchestrator URL is required")
        self.fails(RUNNER, work + ["--orchestrator", "http://127.0.0.1:1", "--sandbox", "bogus"], 2, "--sandbox: ")
        self.fails(RUNNER, work + ["--orchestrator", "http://127.0.0.1:1", "--token-file",
                                   os.path.join(self.tmp, "none")], 1, "none")
        self.fails(RUNNER, work + ["--orchestrator", "ftp://127.0.0.1:1"], 1, "must start with http:// or https://")

    def test_runner_unreachable(self):
        # nothing listens there: it retries until told to stop, then exits 1
        port = free_port()
        r = Proc([RUNNER, "--orchestrator", "http://127.0.0.1:%d" % port, "--runner-id", "r1", "--work-root",
                  os.path.join(self.tmp, "work")], os.path.join(self.tmp, "runner.log"), env=env())
        try:
            wait_for(lambda: "registering: " in r.text(), 60, "a failed registration")
        finally:
            rc = r.stop(signal.SIGTERM)
        out = r.text()
        self.assertEqual(rc, 1, out)
        self.assertIn("stopped", out)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, out)


if __name__ == "__main__":
    unittest.main()
