"""Text from outside at the orchestrator: a runner's hostname with escape
sequences is refused at register, package names and versions by npm's
rules at submit and in the watcher, every answer is valid UTF-8, and the
log never holds a byte a terminal would act on."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakereg  # noqa: E402
from daemons import FANGS, Orchestrator, fangs, wait_for  # noqa: E402
import subprocess  # noqa: E402

ESC = "\x1b"
EVIL = ESC + "]0;pwned" + "\x07" + ESC + "[2J" + ESC + "[31m"


def raw_log(o):
    with open(o.log_path, "rb") as f:
        return f.read()


def assert_clean_log(testcase, o):
    data = raw_log(o)
    text = data.decode("utf-8")  # strictly
    for ch in text:
        n = ord(ch)
        testcase.assertFalse((n < 0x20 and ch != "\n") or 0x7f <= n <= 0x9f or 0x202a <= n <= 0x202e,
                             "the log holds %r" % ch)


class TextAtTheOrchestrator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-text-")
        cls.db = os.path.join(cls.tmpd.name, "fangs.db")
        cls.reg = fakereg.FakeRegistry()
        cls.o = Orchestrator(cls.tmpd.name, cls.db, extra=["--registry", cls.reg.url, "--watch-interval-ms", "200",
                                                             "--poll-max-ms", "300"])

    @classmethod
    def tearDownClass(cls):
        rc = cls.o.stop()
        cls.reg.close()
        cls.tmpd.cleanup()
        assert rc == 0, "orchestrator exit status %s" % rc

    def answer(self, method, path, body, headers=None):
        st, raw = self.o.request(method, path, body, headers=headers)
        return st, json.loads(raw.decode("utf-8", errors="strict")) if raw else None

    def runner_ids(self):
        return [r["id"] for r in fangs(self.db, "runner", "list")]

    def test_register_hostname(self):
        for rid, host in (("r-esc", "evil" + EVIL), ("r-nl", "host\nINFO: forged line"), ("r-bidi", "a\u202eexe"),
                          ("r-c1", "h\u009b31m"), ("r-del", "h\x7f"), ("r-empty", ""), ("r-long", "h" * 256)):
            # as that runner, with its own token: the hostname is all that is wrong
            st, err = self.answer("POST", "/v1/runners/register", {"runner_id": rid, "hostname": host},
                                  self.o.as_runner(rid))
            self.assertEqual(st, 400, (rid, err))
            self.assertIn("hostname", err["error"])
        # bytes that are not UTF-8 are no JSON text: refused
        st, err = self.answer("POST", "/v1/runners/register", b'{"runner_id": "r-bytes", "hostname": "h\xff\xfe"}',
                              self.o.as_runner("r-bytes"))
        self.assertEqual(st, 400, err)
        ids = self.runner_ids()
        for rid in ("r-esc", "r-nl", "r-bidi", "r-c1", "r-del", "r-empty", "r-long", "r-bytes"):
            self.assertNotIn(rid, ids)
        # a printable name, any script, is taken and shown as it is
        st, _ = self.answer("POST", "/v1/runners/register", {"runner_id": "r-ok", "hostname": "h\u00f4te-1.example"},
                            self.o.as_runner("r-ok"))
        self.assertEqual(st, 200)
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "runner", "list"], capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        line = [l for l in p.stdout.decode("utf-8").splitlines() if l.startswith("r-ok ")]
        self.assertEqual(len(line), 1, p.stdout)
        self.assertIn("h\u00f4te-1.example", line[0])
        assert_clean_log(self, self.o)

    def test_submit_names(self):
        before = self.o.metrics()['fangs_runs{state="queued"}']
        for package, version, why in (("-x", "1.0.0", "hyphen"), ("../../etc", "1.0.0", "period"),
                                      ("evil" + EVIL, "1.0.0", "URL-friendly"), ("ok", "../../x", "'..'"),
                                      ("ok", "file:../x", "file:"), ("ok", "git+https://example.invalid/x", "git"),
                                      ("ok", "1.0" + ESC + "[2J", "control"), ("ok", "-1", "hyphen")):
            st, err = self.answer("POST", "/v1/scans", {"package": package, "version": version})
            self.assertEqual(st, 400, (package, version, err))
            self.assertIn(why, err["error"], (package, version))
            self.assertNotIn(ESC, err["error"])
        st, _ = self.answer("POST", "/v1/scans", b'{"package": "ok\xc3", "version": "1.0.0"}')
        self.assertEqual(st, 400)
        self.assertEqual(self.o.metrics()['fangs_runs{state="queued"}'], before)
        # a scoped name and a range are npm's too
        st, ok = self.answer("POST", "/v1/scans", {"package": "@scope/ok-name", "version": "^1.2.0"})
        self.assertEqual(st, 201, ok)
        assert_clean_log(self, self.o)

    def test_watcher_skips_bad_versions(self):
        self.reg.publish("wtext", "9.9.9" + EVIL)
        fangs(self.db, "package", "add", "wtext")
        wait_for(lambda: b"wtext: skipping a version from the registry" in raw_log(self.o), 30,
                 "the watcher to skip the version")
        self.assertEqual(fangs(self.db, "run", "list", "--package", "wtext"), [])
        assert_clean_log(self, self.o)


if __name__ == "__main__":
    unittest.main(verbosity=2)
