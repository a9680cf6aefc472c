"""Text from outside as the CLI shows it: names, hostnames, paths and
command lines with terminal escape sequences are printed escaped, --json is
valid UTF-8 whatever the stored bytes, and package names and versions are
checked by npm's rules before anything is stored or handed to npm."""

import json
import os
import sqlite3
import stat
import subprocess
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ["FANGS_SOURCE_ROOT"]
REC = os.path.join(ROOT, "examples", "recordings", "example-banner-1.0.0.ndjson")

ESC = "\x1b"
EVIL = ESC + "]0;pwned" + "\x07" + ESC + "[2J" + ESC + "[31mred" + ESC + "[0m"


def no_controls(testcase, text, what):
    """Nothing a terminal acts on: no C0 control but newline, no DEL, no C1,
    no bidirectional override."""
    for ch in text:
        o = ord(ch)
        testcase.assertFalse((o < 0x20 and ch != "\n") or 0x7f <= o <= 0x9f or 0x202a <= o <= 0x202e
                             or 0x2066 <= o <= 0x2069, "%s holds %r: %r" % (what, ch, text))


class TextTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def run_fangs(self, *args, code=0, env=None):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, timeout=120,
                           env=dict(os.environ, **(env or {})))
        self.assertEqual(p.returncode, code, "fangs %r -> %d\nstdout: %r\nstderr: %r" %
                         (args, p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
        return p

    def human(self, *args, code=0, env=None):
        """Output bytes decoded strictly, with no control characters."""
        p = self.run_fangs(*args, code=code, env=env)
        out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
        no_controls(self, out, "stdout")
        no_controls(self, err, "stderr")
        return out, err

    def json_out(self, *args, code=0):
        p = self.run_fangs("--json", *args, code=code)
        # strictly: an invalid byte raises here
        return json.loads(p.stdout.decode("utf-8", errors="strict"))

    def db_exec(self, sql, params=()):
        con = sqlite3.connect(self.db)
        with con:
            con.execute(sql, params)
        con.close()

    def stored_runs(self):
        return self.json_out("run", "list")

    def make_db(self):
        """An empty database (commands that only read do not create one)."""
        self.run_fangs("package", "add", "placeholder")
        self.run_fangs("package", "remove", "placeholder")
        self.assertEqual(self.json_out("package", "list"), [])

    # ---- hostnames (stored before register checked them) ----

    def add_runner(self, rid, hostname_bytes):
        self.make_db()
        self.db_exec("INSERT INTO runners (id, hostname, registered_ns, last_heartbeat_ns, max_scans, state) "
                     "VALUES (?, CAST(? AS TEXT), 1, 1, 1, 'up')", (rid, hostname_bytes))

    def test_runner_hostname_escaped(self):
        self.add_runner("r1", ("evil" + EVIL + "\u202e" + "txt.exe").encode())
        out, _ = self.human("runner", "list")
        line = [l for l in out.splitlines() if l.startswith("r1 ")]
        self.assertEqual(len(line), 1, out)
        self.assertIn("evil\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\x1b[0m\\u{202e}txt.exe", line[0])
        # --json keeps the text itself, as valid JSON
        runners = self.json_out("runner", "list")
        self.assertEqual(runners[0]["hostname"], "evil" + EVIL + "\u202e" + "txt.exe")

    def test_runner_hostname_invalid_utf8(self):
        self.add_runner("r2", b"host\xff\xfe-\xc3")
        out, _ = self.human("runner", "list")
        self.assertIn("host\\xff\\xfe-\\xc3", out)
        runners = self.json_out("runner", "list")
        self.assertEqual(runners[0]["hostname"], "host\ufffd\ufffd-\ufffd")

    # ---- paths and command lines from a recording ----

    def write_recording(self):
        path = os.path.join(self.tmp.name, "evil.ndjson")
        events = [
            {"kind": "exec", "pid": 10, "ppid": 1, "comm": "sh" + ESC + "[8m", "path": "/bin/sh",
             "argv": ["sh", "-c", "echo " + EVIL]},
            {"kind": "file_open", "pid": 10, "comm": "node", "path": "/tmp/" + EVIL + "\u202egpj.exe",
             "flags": "r"},
        ]
        with open(path, "w") as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
        return path

    def test_recording_text_escaped(self):
        rec = self.write_recording()
        out, _ = self.human("events", "import", rec, "--package", "evil-pkg", "--version", "1.0.0")
        run = out.split()[1].rstrip(":")
        # (human() checked that no control character is left)
        out, _ = self.human("events", "list", run)
        self.assertIn("sh\\x1b[8m", out)
        self.assertIn("]0;pwned", out)
        self.assertIn("\\u{202e}gpj.exe", out)
        out, _ = self.human("run", "show", run, "--events")
        self.assertIn("sh\\x1b[8m", out)
        self.assertIn("\\u{202e}gpj.exe", out)
        # NDJSON export: each line valid UTF-8 JSON, the text intact
        p = self.run_fangs("--json", "events", "list", run)
        evs = [json.loads(l) for l in p.stdout.decode("utf-8", errors="strict").splitlines()]
        self.assertIn("echo " + EVIL, evs[0]["argv"])
        self.assertEqual(evs[1]["path"], "/tmp/" + EVIL + "\u202egpj.exe")

    def test_stored_invalid_utf8_json(self):
        rec = self.write_recording()
        self.run_fangs("events", "import", rec, "--package", "evil-pkg", "--version", "1.0.0")
        # bytes that no check let in (an older version's rows): still valid JSON out
        self.db_exec("UPDATE runs SET error = CAST(? AS TEXT)", (b"bad \xff\xc0\xaf " + EVIL.encode(),))
        runs = self.stored_runs()
        self.assertEqual(runs[0]["error"], "bad \ufffd\ufffd\ufffd " + EVIL)
        out, _ = self.human("run", "show", runs[0]["id"])
        self.assertIn("bad \\xff\\xc0\\xaf \\x1b]0;pwned", out)

    # ---- names and versions at the door ----

    def test_import_refuses_bad_names(self):
        for package, version, why in (("../../etc", "1.0.0", "cannot start with a period"),
                                      ("-x", "1.0.0", "cannot start with a hyphen"),
                                      ("evil" + EVIL, "1.0.0", "URL-friendly"),
                                      ("a/b", "1.0.0", "URL-friendly"),
                                      ("Node_Modules", "1.0.0", "not a valid package name"),
                                      ("x" * 215, "1.0.0", "214"),
                                      ("ok-name", "../../x", "'..'"),
                                      ("ok-name", "file:x", "file:"),
                                      ("ok-name", "1.0" + ESC + "[2J", "control")):
            _, err = self.human("events", "import", REC, "--package=" + package, "--version=" + version, code=2)
            self.assertIn(why, err, (package, version))
        # nothing stored: not even a database is made
        self.assertFalse(os.path.exists(self.db))

    def test_package_add_refuses_bad_names(self):
        for name in ("../../etc", "-x", "UPPER/case", "sp ace", "evil" + EVIL, "@scope/.x"):
            _, err = self.human("package", "add", "--", name, code=2)
            self.assertIn("invalid package name", err)
        self.assertFalse(os.path.exists(self.db), "nothing stored")
        self.human("package", "add", "@scope/ok-name")
        self.assertEqual([p["name"] for p in self.json_out("package", "list")], ["@scope/ok-name"])

    def test_stored_bad_name_shown_escaped_and_removable(self):
        # a name stored before names were checked
        self.make_db()
        self.db_exec("INSERT INTO packages (name, watched, created_ns) VALUES (?, 1, 1)", ("old" + EVIL,))
        out, _ = self.human("package", "list")
        self.assertIn("old\\x1b]0;pwned\\x07", out)
        out, _ = self.human("package", "remove", "old" + EVIL)
        self.assertIn("removed old\\x1b]0;pwned", out)
        self.assertEqual(self.json_out("package", "list"), [])


class NpmNeverReadsAnOption(unittest.TestCase):
    """`fangs scan` hands npm nothing it could read as an option, a path or
    a URL: a fake npm first on PATH records every call."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan loads the eBPF sensor: run the e2e tests as root")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")
        self.bin = os.path.join(self.tmp.name, "bin")
        self.calls = os.path.join(self.tmp.name, "npm-calls")
        os.mkdir(self.bin)
        npm = os.path.join(self.bin, "npm")
        with open(npm, "w") as f:
            f.write("#!/usr/bin/env python3\nimport json, sys\n"
                    "open(%r, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                    "print('npm error code E404'); print('npm error 404 Not Found'); sys.exit(1)\n" % self.calls)
        os.chmod(npm, stat.S_IRWXU)

    def tearDown(self):
        self.tmp.cleanup()

    def scan(self, spec, code):
        env = dict(os.environ, PATH=self.bin + ":" + os.environ["PATH"])
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "--json", "scan", "--quiet",
                            "--registry", "http://127.0.0.1:9/", "--", spec],
                           capture_output=True, timeout=120, env=env)
        self.assertEqual(p.returncode, code, "stdout: %r\nstderr: %r" % (p.stdout, p.stderr))
        no_controls(self, p.stderr.decode("utf-8"), "stderr")
        return json.loads(p.stdout.decode("utf-8", errors="strict"))

    def npm_calls(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return [json.loads(l) for l in f]

    def runs(self):
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "--json", "run", "list"], capture_output=True,
                           timeout=60)
        return json.loads(p.stdout)

    def test_refused_before_npm(self):
        for spec, why in (("-x", "cannot start with a hyphen"),
                          ("-x@1.0.0", "cannot start with a hyphen"),
                          ("--registry=http://203.0.113.7/", "cannot start with a hyphen"),
                          ("left-pad@../../x", "'..'"),
                          ("left-pad@file:../x", "file:"),
                          ("left-pad@https://203.0.113.7/x.tgz", "URL"),
                          ("left-pad@github:u/r", "URL"),
                          ("user/repo", "URL-friendly"),
                          ("evil" + EVIL + "@1.0.0", "URL-friendly")):
            out = self.scan(spec, 1)
            self.assertIn(why, out[0]["error"], spec)
            self.assertIn("not a registry spec", out[0]["error"], spec)
        # `npm --version` (asked by the sandbox's clean-up at start) reads no spec
        self.assertEqual([c for c in self.npm_calls() if c != ["--version"]], [], "npm ran for a refused spec")
        self.assertEqual(self.runs(), [])

    def test_specs_follow_double_dash(self):
        self.scan("left-pad@1.3.0", 1)
        self.scan("left-pad", 1)
        installs = [c for c in self.npm_calls() if c and c[0] == "install"]
        self.assertEqual(len(installs), 2, self.npm_calls())
        for call, spec in zip(installs, ("left-pad@1.3.0", "left-pad@latest")):
            self.assertEqual(call[-2:], ["--", spec], call)
        self.assertEqual(self.runs(), [])

    def test_relative_path_that_exists(self):
        # pkgs/p exists here: the command line scans it as ./pkgs/p; a path
        # that does not exist, or a bare name that does, stays a registry spec
        pkg = os.path.join(self.tmp.name, "pkgs", "p")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "package.json"), "w") as f:
            json.dump({"name": "p", "version": "1.0.0"}, f)
        os.makedirs(os.path.join(self.tmp.name, "left-pad"))
        env = dict(os.environ, PATH=self.bin + ":" + os.environ["PATH"])
        for spec, local in (("pkgs/p", True), ("pkgs/missing", False), ("left-pad", False)):
            p = subprocess.run([FANGS, "--sqlite-path", self.db, "--json", "scan", "--quiet",
                                "--registry", "http://127.0.0.1:9/", "--", spec],
                               capture_output=True, timeout=120, env=env, cwd=self.tmp.name)
            out = json.loads(p.stdout.decode("utf-8", errors="strict"))
            err = out[0].get("error") or ""
            if local:
                self.assertNotIn("not a registry spec", err, spec)
            elif spec == "left-pad":
                self.assertNotIn("not a registry spec", err, spec)
                self.assertIn(["install"], [c[:1] for c in self.npm_calls()])
                self.assertTrue(all("./left-pad" not in c for c in self.npm_calls()), self.npm_calls())
            else:
                self.assertIn("not a registry spec", err, spec)


class InstallOutputEscaped(unittest.TestCase):
    """A real scan of a package that prints escape sequences from its
    postinstall and when required: `fangs -v scan` and `run show` print them
    escaped, --json keeps valid UTF-8."""

    POST = ("process.stdout.write('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mpost\\u202e\\n');"
            "process.stdout.write(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a]));\n")
    INDEX = "console.log('\\x1b[8mimported\\x1b]0;t\\x07');\n"

    def setUp(self):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF)")
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")
        d = os.path.join(self.tmp.name, "loud-pkg")
        os.makedirs(d)
        with open(os.path.join(d, "package.json"), "w") as f:
            json.dump({"name": "loud-pkg", "version": "1.0.0", "license": "MIT", "main": "index.js",
                       "scripts": {"postinstall": "node post.js"}}, f)
        with open(os.path.join(d, "post.js"), "w") as f:
            f.write(self.POST)
        with open(os.path.join(d, "index.js"), "w") as f:
            f.write(self.INDEX)
        self.pkg = d

    def tearDown(self):
        self.tmp.cleanup()

    def fangs(self, *args):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, timeout=300)
        return p

    def test_scan_output(self):
        p = self.fangs("-v", "scan", "--quiet", "--fail-on", "critical", self.pkg)
        self.assertIn(p.returncode, (0, 3), p.stderr[-3000:])
        out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
        no_controls(self, out, "scan stdout")
        no_controls(self, err, "scan stderr")
        self.assertIn("import: ", out)
        run = json.loads(self.fangs("--json", "run", "list").stdout)[0]
        self.assertEqual((run["package"], run["version"]), ("loud-pkg", "1.0.0"))
        p = self.fangs("run", "show", run["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode("utf-8")
        no_controls(self, out, "run show")
        self.assertIn("\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mpost\\u{202e}", out)
        self.assertIn("bad\\xff\\xfe", out)
        self.assertIn("\\x1b[8mimported\\x1b]0;t\\x07", out)  # what the package printed when required
        p = self.fangs("--json", "run", "show", run["id"])
        shown = json.loads(p.stdout.decode("utf-8", errors="strict"))
        self.assertIn("\x1b]0;pwned\x07\x1b[2J", shown["install_output"])
        self.assertIn("bad\ufffd\ufffd", shown["install_output"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
