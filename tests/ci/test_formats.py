"""CI outputs as the tools that read them would: every --format document
validated against the schema vendored in tests/ci/schemas (SARIF 2.1.0,
GitLab dependency scanning, JUnit with xmllint), GitHub Actions workflow
commands parsed as the runner parses them; for a clean run, a run with
findings of several severities, attacker text in what a package did, and
an install that failed with hostile output. Plus `fangs baseline export`."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import jsonschema

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.path.abspath(os.environ["FANGS_SOURCE_ROOT"])
SCHEMAS = os.path.join(ROOT, "tests", "ci", "schemas")
REC = os.path.join(ROOT, "examples", "recordings")

# what GitHub's runner turns back into text (actions/toolkit command.ts)
GH_PROP_UNESCAPE = [("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")]
GH_DATA_UNESCAPE = [("%0A", "\n"), ("%0D", "\r"), ("%25", "%")]

EVIL = '/tmp/a"b\n::error file=evil.js,line=1::pwned\r%0A,c:d<x>&\'\u202e\x1b[31m\uffff\ufffe'


def rec(v):
    return os.path.join(REC, "example-banner-%s.ndjson" % v)


def load_schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER), schema


SARIF, _ = load_schema("sarif-schema-2.1.0.json")
GITLAB, GITLAB_SCHEMA = load_schema("gitlab-dependency-scanning-report-format-14.0.3.json")


def unescape(s, table):
    out, i = [], 0
    while i < len(s):
        for enc, dec in table:
            if s.startswith(enc, i):
                out.append(dec)
                i += len(enc)
                break
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_github(testcase, text):
    """Each line one workflow command, parsed as the runner does:
    [(command, {property: value}, message)]."""
    cmds = []
    for line in text.split("\n"):
        if not line:
            continue
        testcase.assertNotIn("\r", line)
        m = re.fullmatch(r"::(error|warning|notice)( [^:]*)?::(.*)", line)
        testcase.assertTrue(m, "not a workflow command: %r" % line)
        props = {}
        for kv in (m.group(2) or "").strip().split(","):
            if kv:
                k, _, v = kv.partition("=")
                props[k] = unescape(v, GH_PROP_UNESCAPE)
        cmds.append((m.group(1), props, unescape(m.group(3), GH_DATA_UNESCAPE)))
    return cmds


def no_controls(testcase, text, what):
    for ch in text:
        if ch in "\n\t":
            continue
        testcase.assertFalse(ord(ch) < 0x20 or ord(ch) == 0x7f or 0x80 <= ord(ch) < 0xa0 or ch == "\u202e",
                             "%s: control character %r" % (what, ch))


LOCK = """{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "version": "1.0.0",
      "dependencies": {
        "example-banner": "^1.0.0"
      }
    },
    "node_modules/example-banner": {
      "version": "1.1.0",
      "hasInstallScript": true
    }
  }
}
"""
LOCK_LINE = 14  # "node_modules/example-banner"
MANIFEST = """{
  "name": "app",
  "version": "1.0.0",
  "dependencies": {
    "example-banner": "^1.0.0"
  }
}
"""
MANIFEST_LINE = 5


class Formats(unittest.TestCase):
    """Reports of imported recordings (no sandbox): same judging as a scan."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.db = os.path.join(self.dir, "fangs.db")
        with open(os.path.join(self.dir, "package.json"), "w") as f:
            f.write(MANIFEST)
        with open(os.path.join(self.dir, "package-lock.json"), "w") as f:
            f.write(LOCK)

    def tearDown(self):
        self.tmp.cleanup()

    def fangs(self, *args, code=0):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, cwd=self.dir,
                           timeout=120)
        self.assertEqual(p.returncode, code, "fangs %s -> %d\n%s" % (" ".join(args), p.returncode,
                                                                    p.stderr.decode(errors="replace")))
        return p.stdout.decode("utf-8", errors="strict")

    def report(self, fmt, recording, version, code=0, *extra):
        return self.fangs("events", "import", recording, "--package", "example-banner", "--version", version,
                          "--format", fmt, *extra, code=code)

    def seed(self):
        self.fangs("events", "import", rec("1.0.0"), "--package", "example-banner", "--version", "1.0.0")
        self.fangs("events", "import", rec("1.0.1"), "--package", "example-banner", "--version", "1.0.1")

    # ---- validators ----

    def sarif(self, text):
        doc = json.loads(text)
        errors = [e.message for e in SARIF.iter_errors(doc)]
        self.assertEqual(errors, [], "SARIF invalid")
        run = doc["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        for res in run["results"]:
            # every result names a rule the driver describes, at its index
            self.assertEqual(rules[res["ruleIndex"]]["id"], res["ruleId"])
            self.assertTrue(res["partialFingerprints"]["fangsFinding/v1"])
            self.assertEqual(len(res["locations"]), 1)
        for r in rules:
            self.assertTrue(r["help"]["text"])
            self.assertRegex(r["properties"]["security-severity"], r"^\d+\.\d$")
        return doc

    def gitlab(self, text):
        doc = json.loads(text)
        errors = [e.message for e in GITLAB.iter_errors(doc)]
        self.assertEqual(errors, [], "GitLab report invalid")
        self.assertEqual(doc["version"], GITLAB_SCHEMA["self"]["version"])
        self.assertEqual(doc["scan"]["type"], "dependency_scanning")
        return doc

    def junit(self, text):
        path = os.path.join(self.dir, "junit.xml")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(SCHEMAS, "junit.xsd"), path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, "JUnit invalid: " + p.stderr)
        return ET.fromstring(text.encode())

    def all_formats(self, recording, version, code):
        out = {}
        for fmt in ("json", "sarif", "gitlab", "junit", "github"):
            out[fmt] = self.report(fmt, recording, version, code)
        return self.sarif(out["sarif"]), self.gitlab(out["gitlab"]), self.junit(out["junit"]), \
            parse_github(self, out["github"]), json.loads(out["json"])

    # ---- tests ----

    def test_clean_run(self):
        sarif, gl, junit, gh, js = self.all_formats(rec("1.0.0"), "1.0.0", 0)
        self.assertEqual(sarif["runs"][0]["results"], [])
        # the rules are described even with nothing to show: every kind, the same in every report
        ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
        self.assertTrue({"fs_cred_read", "net_new_dns", "rule:cred-read-by-script", "install-failed"} <= set(ids))
        self.assertEqual(gl["vulnerabilities"], [])
        self.assertEqual([d["package"]["name"] for d in gl["dependency_files"][0]["dependencies"]],
                         ["example-banner"])
        self.assertEqual(gl["dependency_files"][0]["path"], "package-lock.json")
        suite = junit.find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("1", "0"))
        self.assertIsNone(suite.find("testcase/failure"))
        self.assertEqual([c[0] for c in gh], ["notice"])
        self.assertIn("0 findings", gh[0][2])
        self.assertEqual(js["items"][0]["status"], "first_sight")
        self.assertFalse(js["fails"])

    def test_findings_of_several_severities(self):
        self.seed()
        sarif, gl, junit, gh, js = self.all_formats(rec("1.1.0"), "1.1.0", 3)
        findings = js["items"][0]["findings"]
        sevs = {f["severity"] for f in findings}
        self.assertTrue({"critical", "medium"} <= sevs, sevs)
        self.assertEqual(js["items"][0]["status"], "new_behaviour")
        self.assertTrue(js["fails"])
        # SARIF: one result per finding, levels from severity and --fail-on (high)
        results = sarif["runs"][0]["results"]
        self.assertEqual(len(results), len(findings))
        level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
        for res, fi in zip(results, findings):
            self.assertEqual(res["ruleId"], fi["kind"])
            self.assertEqual(res["level"], level[fi["severity"]])
            self.assertEqual(res["properties"]["severity"], fi["severity"])
            loc = res["locations"][0]["physicalLocation"]
            self.assertEqual(loc["artifactLocation"]["uri"], "package-lock.json")
            self.assertEqual(loc["region"]["startLine"], LOCK_LINE)
            self.assertIn("example-banner@1.1.0", res["message"]["text"])
            self.assertIn("postinstall", res["message"]["text"])
        ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertIn("fs_cred_read", ids + [l for f in findings for l in f["labels"]])
        # the same behaviour in a later run is the same alert
        again = self.sarif(self.report("sarif", rec("1.1.0"), "1.1.0", 3))
        self.assertEqual([r["partialFingerprints"] for r in results],
                         [r["partialFingerprints"] for r in again["runs"][0]["results"]])
        self.assertEqual(len({r["partialFingerprints"]["fangsFinding/v1"] for r in results}), len(results))
        # --fail-on critical: a high finding is a warning, no longer an error
        crit = self.sarif(self.report("sarif", rec("1.1.0"), "1.1.0", 3, "--fail-on", "critical"))
        for res in crit["runs"][0]["results"]:
            self.assertEqual(res["level"] == "error", res["properties"]["severity"] == "critical")
        # GitLab: a vulnerability per finding on the lockfile, with the dependency
        vulns = gl["vulnerabilities"]
        self.assertEqual(len(vulns), len(findings))
        titles = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}
        for v, fi in zip(vulns, findings):
            self.assertEqual(v["severity"], titles[fi["severity"]])
            self.assertEqual(v["location"]["file"], "package-lock.json")
            self.assertEqual(v["location"]["dependency"]["package"]["name"], "example-banner")
            self.assertEqual(v["location"]["dependency"]["version"], "1.1.0")
            self.assertEqual(v["identifiers"][0]["value"], fi["kind"])
        self.assertEqual(len({v["id"] for v in vulns}), len(vulns))
        # JUnit: the dependency's test case fails, naming the highest severity
        suite = junit.find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("1", "1"))
        fail = suite.find("testcase/failure")
        self.assertEqual(fail.get("type"), "critical")
        self.assertEqual(fail.text.count("[critical]") + fail.text.count("[medium]") +
                         fail.text.count("[high]") + fail.text.count("[low]") + fail.text.count("[info]"),
                         len(findings))
        # GitHub: an annotation per finding on the lockfile line, then the summary
        self.assertEqual(len(gh), len(findings) + 1)
        for (cmd, props, msg), fi in zip(gh, findings):
            self.assertEqual(cmd, {"critical": "error", "high": "error", "medium": "warning"}.get(fi["severity"],
                                                                                                 "notice"))
            self.assertEqual(props["file"], "package-lock.json")
            self.assertEqual(props["line"], str(LOCK_LINE))
            self.assertIn(fi["severity"], props["title"])
        self.assertEqual(gh[-1][0], "notice")
        self.assertIn("(fails)", gh[-1][2])

    def test_attacker_text(self):
        self.seed()
        path = os.path.join(self.dir, "evil.ndjson")
        origin = {"package": "example-banner", "version": "1.2.0", "script": "postinstall\n::warning::x"}
        with open(path, "w") as f:
            f.write(json.dumps({"kind": "exec", "pid": 10, "ppid": 1, "comm": "sh", "path": "/bin/sh",
                                "argv": ["sh", "-c", "node " + EVIL], "origin": origin}) + "\n")
            f.write(json.dumps({"kind": "file_open", "pid": 11, "comm": "node\n::error::y", "path": EVIL,
                                "flags": "w", "origin": origin}) + "\n")
            f.write(json.dumps({"kind": "file_open", "pid": 11, "comm": "node", "path": "/root/.npmrc",
                                "flags": "r", "origin": origin}) + "\n")
        sarif, gl, junit, gh, js = self.all_formats(path, "1.2.0", 3)
        values = [f["value"] for f in js["items"][0]["findings"]]
        self.assertIn(EVIL, values)  # JSON keeps the text as it was
        # every other format shows it escaped: no control character, on one line
        for res in sarif["runs"][0]["results"]:
            no_controls(self, res["message"]["text"], "SARIF message")
            self.assertNotIn("\n", res["message"]["text"])
        self.assertTrue(any('a"b\\n::error file=evil.js' in r["message"]["text"] for r in sarif["runs"][0]["results"]))
        for v in gl["vulnerabilities"]:
            no_controls(self, v["message"] + v["description"], "GitLab text")
        # JUnit: the text stays text (xmllint and the parser saw one failure, no injected element)
        fail = junit.find("testsuite/testcase/failure")
        self.assertIn("<x>&'", fail.text)
        self.assertEqual(len(list(junit.iter("failure"))), 1)
        # GitHub: one command a line, nothing smuggled: the runner sees our commands only
        self.assertEqual(len(gh), len(values) + 1)
        self.assertTrue(any("::error file=evil.js,line=1::pwned\\r%0A,c:d" in m for _, _, m in gh), gh)
        for cmd, props, msg in gh:
            self.assertEqual(set(props) - {"file", "line", "title"}, set())
            no_controls(self, msg, "GitHub message")
        # the terminal report too
        human = self.report("human", path, "1.2.0", 3)
        no_controls(self, human, "human report")
        self.assertIn("example-banner@1.2.0  new behaviour", human)
        self.assertIn("scripts: postinstall\\n::warning::x", human)
        self.assertRegex(human, r"1 dependency, %d findings, highest critical \(fails\)\n$" % len(values))

    def test_json_report_and_usage(self):
        self.seed()
        js = json.loads(self.report("json", rec("1.1.0"), "1.1.0", 3))
        it = js["items"][0]
        self.assertEqual((it["name"], it["version"], it["path"]), ("example-banner", "1.1.0", ["example-banner"]))
        self.assertEqual(it["scripts"], ["postinstall"])
        self.assertEqual(it["location"], {"file": "package-lock.json", "line": LOCK_LINE})
        self.assertEqual((js["lockfile"], js["fail_on"], js["max_severity"]), ("package-lock.json", "high",
                                                                              "critical"))
        # --output writes the file; --json with another format is refused
        out = os.path.join(self.dir, "r.sarif")
        self.assertEqual(self.report("sarif", rec("1.1.0"), "1.1.0", 3, "--output", out), "")
        with open(out) as f:
            self.sarif(f.read())
        self.fangs("--json", "events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.0",
                   "--format", "sarif", code=2)
        self.fangs("events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.0",
                   "--format", "xml", code=2)

    def test_manifest_location_without_lockfile(self):
        os.unlink(os.path.join(self.dir, "package-lock.json"))
        self.seed()
        sarif = self.sarif(self.report("sarif", rec("1.1.0"), "1.1.0", 3))
        for res in sarif["runs"][0]["results"]:
            loc = res["locations"][0]["physicalLocation"]
            self.assertEqual((loc["artifactLocation"]["uri"], loc["region"]["startLine"]),
                             ("package.json", MANIFEST_LINE))
        gl = self.gitlab(self.report("gitlab", rec("1.1.0"), "1.1.0", 3))
        self.assertEqual({v["location"]["file"] for v in gl["vulnerabilities"]}, {"package.json"})


def net_recording(path, version, hosts, conns):
    origin = {"package": "dl-pkg", "version": version, "script": "postinstall"}
    with open(path, "w") as f:
        f.write(json.dumps({"kind": "exec", "pid": 10, "ppid": 1, "comm": "sh", "path": "/bin/sh",
                            "argv": ["sh", "-c", "node install.js"], "origin": origin}) + "\n")
        for h in hosts:
            f.write(json.dumps({"kind": "dns_query", "pid": 11, "comm": "node", "qname": h, "qtype": "A",
                                "family": "ipv4", "addr": "127.0.0.53", "port": 53, "proto": "udp",
                                "origin": origin}) + "\n")
            f.write(json.dumps({"kind": "tls_sni", "pid": 11, "comm": "node", "sni": h, "family": "ipv4",
                                "addr": "203.0.113.7", "port": 443, "origin": origin}) + "\n")
        for fam, addr, port, proto in conns:
            f.write(json.dumps({"kind": "net_connect", "pid": 11, "comm": "node", "family": fam, "addr": addr,
                                "port": port, "proto": proto, "origin": origin}) + "\n")


class BaselineExport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def fangs(self, *args, code=0):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, code, p.stderr)
        return p.stdout

    def test_egress_and_json(self):
        a = os.path.join(self.tmp.name, "a.ndjson")
        net_recording(a, "1.0.0", ["downloads.example.invalid", "Mirror.Example.invalid"],
                      [("ipv4", "203.0.113.7", 443, "tcp"), ("ipv6", "2001:db8::5", 8443, "tcp"),
                       ("ipv4", "127.0.0.1", 9000, "tcp")])
        # a first run that talks to the network waits for review (the rules): nothing is legitimate yet
        first = json.loads(self.fangs("--json", "events", "import", a, "--package", "dl-pkg", "--version", "1.0.0",
                                      code=3))
        self.fangs("baseline", "export", "dl-pkg", code=1)
        self.fangs("baseline", "promote", first["run"]["id"])
        # a later release contacting somewhere new waits for review: not legitimate yet
        b = os.path.join(self.tmp.name, "b.ndjson")
        net_recording(b, "1.1.0", ["downloads.example.invalid", "exfil.evil.invalid"],
                      [("ipv4", "198.51.100.9", 53, "udp")])
        out = json.loads(self.fangs("--json", "events", "import", b, "--package", "dl-pkg", "--version", "1.1.0",
                                    code=3))
        pending = out["run"]["id"]
        text = self.fangs("baseline", "export", "dl-pkg")
        entries = [l.split("#")[0].strip() for l in text.splitlines() if l.split("#")[0].strip()]
        self.assertEqual(entries, ["downloads.example.invalid", "mirror.example.invalid", "203.0.113.7:443",
                                   "[2001:db8::5]:8443"])
        lines = text.splitlines()
        for i, l in enumerate(lines):
            if not l.startswith("#"):
                self.assertTrue(lines[i - 1].startswith("# dl-pkg: "), l)  # each entry names the package
                self.assertNotIn(" ", l)  # a filter reads the line as it is
        self.assertIn("left out: 1 connection to this machine", text)
        self.assertNotIn("evil", text)
        js = json.loads(self.fangs("baseline", "export", "dl-pkg", "--format", "json"))
        self.assertEqual(js["package"], "dl-pkg")
        self.assertEqual(js["baseline_versions"], ["1.0.0"])
        self.assertEqual([h["name"] for h in js["hosts"]], ["downloads.example.invalid", "mirror.example.invalid"])
        self.assertEqual(js["hosts"][0]["seen_as"], ["dns", "sni"])
        self.assertEqual(js["hosts"][0]["actors"], ["script"])
        self.assertEqual([(x["address"], x["ports"]) for x in js["addresses"]],
                         [("203.0.113.7", [{"port": 443, "proto": "tcp"}]),
                          ("2001:db8::5", [{"port": 8443, "proto": "tcp"}])])
        self.assertEqual(js["loopback_skipped"], 1)
        # accepted by a person: now part of what the package contacts
        self.fangs("baseline", "promote", pending)
        text = self.fangs("baseline", "export", "dl-pkg")
        self.assertIn("# dl-pkg: dns,sni by script\nexfil.evil.invalid\n", text)
        self.assertIn("# dl-pkg: net 53/udp by script\n198.51.100.9:53\n", text)

    def test_no_baseline(self):
        net_recording(os.path.join(self.tmp.name, "a.ndjson"), "1.0.0", [], [])
        self.fangs("events", "import", os.path.join(self.tmp.name, "a.ndjson"), "--package", "dl-pkg",
                   "--version", "1.0.0")
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "baseline", "export", "never-seen"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("never-seen has no baseline", p.stderr)
        self.fangs("baseline", "export", "../x", code=2)  # not a package name


class ScanFormats(unittest.TestCase):
    """`fangs scan DIR --format ...` for real, in the sandbox: the project's
    own package.json line, and an install that fails with hostile output."""

    def setUp(self):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF)")
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.db = os.path.join(self.dir, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def project(self, name, post):
        d = os.path.join(self.dir, name)
        os.makedirs(d)
        with open(os.path.join(d, "package.json"), "w") as f:
            f.write('{\n  "license": "MIT",\n  "name": "%s",\n  "version": "1.0.0",\n'
                    '  "scripts": {"postinstall": "node post.js"}\n}\n' % name)
        with open(os.path.join(d, "post.js"), "w") as f:
            f.write(post)
        with open(os.path.join(d, "package-lock.json"), "w") as f:
            json.dump({"name": name, "version": "1.0.0", "lockfileVersion": 3, "requires": True,
                       "packages": {"": {"name": name, "version": "1.0.0", "hasInstallScript": True}}}, f,
                      indent=2)
        return d

    def scan(self, spec, fmt, code):
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "scan", "--quiet", "--format", fmt, spec],
                           capture_output=True, cwd=self.dir, timeout=300)
        self.assertEqual(p.returncode, code, p.stderr.decode(errors="replace")[-3000:])
        return p.stdout.decode("utf-8", errors="strict")

    def test_scan_dir(self):
        self.project("ci-demo", "require('fs').writeFileSync('/tmp/ci-demo-out', 'x');\n")
        doc = json.loads(self.scan("./ci-demo", "sarif", 0))
        self.assertEqual([e.message for e in SARIF.iter_errors(doc)], [])
        self.assertEqual(doc["runs"][0]["results"], [])
        self.assertEqual(doc["runs"][0]["automationDetails"]["id"], "fangs/scan/")
        js = json.loads(self.scan("./ci-demo", "json", 0))
        self.assertEqual((js["project"], js["lockfile"]), ("./ci-demo", "package-lock.json"))
        it = js["items"][0]
        self.assertEqual((it["name"], it["path"], it["scripts"]), ("ci-demo", [], ["postinstall"]))
        self.assertEqual(it["location"], {"file": "ci-demo/package.json", "line": 3})  # its "name"

    def test_install_failed_hostile_output(self):
        post = ("process.stdout.write('\\x1b]0;pwned\\x07::error file=x::y\\r\\n%0A<a>&\"');"
                "process.stdout.write(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a]));"
                "process.exit(1);\n")
        self.project("broken-pkg", post)
        fmts = {}
        for fmt in ("sarif", "gitlab", "junit", "github"):
            fmts[fmt] = self.scan("./broken-pkg", fmt, 4)
        sarif = json.loads(fmts["sarif"])
        self.assertEqual([e.message for e in SARIF.iter_errors(sarif)], [])
        res = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "install-failed"]
        self.assertEqual(len(res), 1)
        no_controls(self, res[0]["message"]["text"], "SARIF")
        self.assertIn("bad\\xff\\xfe", res[0]["message"]["text"])
        gl = json.loads(fmts["gitlab"])
        self.assertEqual([e.message for e in GITLAB.iter_errors(gl)], [])
        self.assertEqual(gl["scan"]["messages"][0]["level"], "warn")
        path = os.path.join(self.dir, "j.xml")
        with open(path, "w") as f:
            f.write(fmts["junit"])
        p = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(SCHEMAS, "junit.xsd"), path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        err = ET.parse(path).getroot().find("testsuite/testcase/error")
        self.assertEqual(err.get("type"), "install_failed")
        gh = parse_github(self, fmts["github"])
        self.assertEqual([c for c, _, _ in gh][-2:], ["warning", "notice"])
        # the reason holds npm's last lines: the hostile ones, escaped, on one line
        self.assertIn('%0A<a>&"bad\\xff\\xfe', gh[-2][2])
        no_controls(self, gh[-2][2], "GitHub message")


if __name__ == "__main__":
    unittest.main(verbosity=2)
