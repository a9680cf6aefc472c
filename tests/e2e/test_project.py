"""`fangs scan --project DIR` and `fangs review` end to end, for real, as
root: fixture projects whose lockfiles npm resolves against the registry on
loopback (tests/fixtures/registry), installed exactly as locked in the ns
sandbox under the eBPF sensor; each dependency with install scripts judged
against its own baseline.

Run with `python3 test_project.py`. Needs root, node, npm and git.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))

from fake_registry import FakeRegistry  # noqa: E402

TIMEOUT = 240
SEVERITIES = ["info", "low", "medium", "high", "critical"]


class Project(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF): run the e2e tests as root")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-project-")
        cls.db = os.path.join(cls.tmp.name, "fangs.db")
        cls.cache = os.path.join(cls.tmp.name, "npm-cache")
        cls.registry = FakeRegistry().start()
        cls.env = dict(os.environ)
        cls.env.pop("DOCKER_HOST", None)

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()

    # ---- helpers -------------------------------------------------------------

    def project(self, name, deps, lock=True):
        d = os.path.join(self.tmp.name, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        self.write_manifest(d, deps)
        if lock:
            self.lock(d)
        return d

    def write_manifest(self, d, deps, extra=None):
        m = {"name": os.path.basename(d), "version": "1.0.0", "private": True, "dependencies": deps}
        m.update(extra or {})
        with open(os.path.join(d, "package.json"), "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")

    def npm(self, d, *args):
        p = subprocess.run(["npm"] + list(args) + ["--registry", self.registry.url, "--cache", self.cache,
                                                   "--omit-lockfile-registry-resolved=false", "--no-audit",
                                                   "--no-fund"],
                           cwd=d, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "npm %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    def lock(self, d):
        self.npm(d, "install", "--package-lock-only", "--ignore-scripts")

    def fangs(self, *args):
        return subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                              env=self.env, timeout=TIMEOUT)

    def fangs_json(self, args, code=0):
        p = self.fangs("--json", *args)
        self.assertEqual(p.returncode, code, "fangs %s -> %d\nstdout: %s\nstderr: %s" %
                         (" ".join(args), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
        return json.loads(p.stdout)

    def scan_project(self, d, *extra, code=0):
        return self.fangs_json(["scan", "--quiet", "--registry", self.registry.url, "--project", d] + list(extra),
                               code=code)

    def review(self, d, base, *extra, code=0):
        return self.fangs_json(["review", "--quiet", "--registry", self.registry.url, "--base", base] + list(extra)
                               + [d], code=code)

    def git(self, d, *args):
        p = subprocess.run(["git", "-C", d, "-c", "user.name=t", "-c", "user.email=t@example.invalid"] + list(args),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    @staticmethod
    def dep(doc, name, key="dependencies"):
        got = [d for d in doc[key] if d["name"] == name]
        if len(got) != 1:
            raise AssertionError("%s: no single entry in %s" % (name, [d["name"] for d in doc[key]]))
        return got[0]

    # ---- scan --project ---------------------------------------------------------

    def test_lockfile_pins_palette(self):
        """The lock pins palette 1.0.0; the registry's latest is 1.1.0 and
        package.json allows it (^1.0.0): 1.0.0 is what is installed and judged."""
        d = self.project("pinned", {"palette": "1.0.0"})
        self.write_manifest(d, {"palette": "^1.0.0"})
        out = self.scan_project(d)
        self.assertEqual(out["project"]["resolved"], False)
        self.assertEqual(out["install"]["state"], "succeeded", out["install"]["reason"])
        pal = self.dep(out, "palette")
        self.assertEqual(pal["version"], "1.0.0")
        self.assertEqual(pal["paths"], [["palette@1.0.0"]])
        self.assertTrue(pal["run_id"] and pal["events"] > 0, pal)
        run = self.fangs_json(["run", "show", pal["run_id"]])
        self.assertEqual((run["package"], run["version"]), ("palette", "1.0.0"))
        # 1.1.0 reads ~/.npmrc; 1.0.0 does not
        self.assertFalse([f for f in pal["findings"] if SEVERITIES.index(f["severity"]) >= 3], pal["findings"])
        # the dependency's run is its baseline: a single-package scan of it has nothing new
        single = self.fangs_json(["scan", "--quiet", "--no-import", "--registry", self.registry.url, "palette@1.0.0"])
        self.assertEqual([dv for dv in single[0]["deviations"] if dv["severity"] != "info" and dv["actor"] == "script"],
                         [], "palette's own scripts did something its project-scan baseline lacks")

    def test_integrity_checked_before_the_sandbox(self):
        """A lockfile whose integrity does not match the registry's bytes:
        the host's fetch refuses the tarball, nothing runs in the sandbox."""
        d = self.project("tampered", {"greeter": "1.0.0"})
        with open(os.path.join(d, "package-lock.json")) as f:
            lock = json.load(f)
        entry = lock["packages"]["node_modules/greeter"]
        self.assertTrue(entry["integrity"].startswith("sha512-"))
        entry["integrity"] = "sha512-" + "A" * 86 + "=="
        with open(os.path.join(d, "package-lock.json"), "w") as f:
            json.dump(lock, f, indent=2)
        p = self.fangs("scan", "--quiet", "--registry", self.registry.url, "--project", d)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("integrity", p.stderr)
        self.assertEqual(self.fangs_json(["run", "list", "--package", "greeter"]), [])

    def test_missing_and_stale_lockfile(self):
        d = self.project("nolock", {"benign": "1.0.0"}, lock=False)
        p = self.fangs("scan", "--quiet", "--registry", self.registry.url, "--project", d)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no package-lock.json", p.stderr)
        d = self.project("stale", {"palette": "1.0.0"})
        self.write_manifest(d, {"palette": "1.0.0", "benign": "1.0.0"})
        p = self.fangs("scan", "--quiet", "--registry", self.registry.url, "--project", d)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("out of sync with package.json", p.stderr)
        # --resolve: npm resolves, and fangs says what
        out = self.scan_project(d, "--resolve")
        self.assertTrue(out["project"]["resolved"])
        self.assertEqual(sorted(out["project"]["resolved_packages"]), ["benign@1.0.0", "palette@1.0.0"])
        self.assertEqual(sorted(x["name"] for x in out["dependencies"]), ["benign", "palette"])

    # ---- review -----------------------------------------------------------------

    def test_review_deep_malicious_dependency(self):
        """A bump of toolkit brings in tinylog three levels down, whose
        postinstall reads the decoy ~/.npmrc and connects to TEST-NET."""
        d = self.project("deep", {"toolkit": "1.0.0"})
        self.git(d, "init", "-q")
        self.git(d, "add", "package.json", "package-lock.json")
        self.git(d, "commit", "-qm", "base")
        self.write_manifest(d, {"toolkit": "1.1.0"})
        self.lock(d)
        out = self.review(d, "HEAD", code=3)
        changes = {c["name"]: c for c in out["changes"]}
        self.assertEqual(sorted(changes), ["helpers", "tinylog", "toolkit"])
        self.assertEqual((changes["toolkit"]["change"], changes["toolkit"]["old_version"]), ("changed", "1.0.0"))
        self.assertEqual(changes["toolkit"]["verdict"], "no_install_scripts")
        tl = changes["tinylog"]
        self.assertEqual(tl["change"], "added")
        self.assertEqual(tl["paths"], [["toolkit@1.1.0", "helpers@1.1.0", "tinylog@1.0.0"]])
        self.assertEqual(tl["verdict"], "first_sight")
        worst = max(SEVERITIES.index(f["severity"]) for f in tl["findings"])
        self.assertGreaterEqual(worst, SEVERITIES.index("high"), tl["findings"])
        values = " ".join(v for f in tl["findings"] for v in f["values"])
        self.assertIn("~/.npmrc", values)
        self.assertIn("198.51.100.77", values)
        for dv in tl["deviations"]:
            self.assertEqual(dv["package"], "tinylog")
            self.assertEqual(dv["origin"]["script"], "postinstall")
        # tinylog's scripts are not approved: listed with what they did
        self.assertEqual([u["name"] for u in out["unapproved"]], ["tinylog"])
        # the human verdict names the path and the script
        p = self.fangs("review", "--quiet", "--registry", self.registry.url, "--base", "HEAD", d)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("tinylog@1.0.0  [toolkit@1.1.0 > helpers@1.1.0 > tinylog@1.0.0]", p.stdout)
        self.assertIn("postinstall", p.stdout)
        # the CI report: SARIF results on the lockfile's line of tinylog
        sarif = os.path.join(self.tmp.name, "deep.sarif")
        p = self.fangs("review", "--quiet", "--registry", self.registry.url, "--base", "HEAD", "--format", "sarif",
                       "--output", sarif, d)
        self.assertEqual(p.returncode, 3, p.stderr)
        with open(sarif) as f:
            results = json.load(f)["runs"][0]["results"]
        stolen = [r for r in results if "~/.npmrc" in r["message"]["text"]]
        self.assertTrue(stolen, results)
        loc = stolen[0]["locations"][0]["physicalLocation"]
        self.assertTrue(loc["artifactLocation"]["uri"].endswith("package-lock.json"), loc)
        with open(os.path.join(d, "package-lock.json")) as f:
            line = f.read().splitlines()[loc["region"]["startLine"] - 1]
        self.assertIn('"node_modules/tinylog"', line)

    def test_review_benign_bump_is_unchanged(self):
        d = self.project("bump", {"banner": "1.0.0"}, )
        self.write_manifest(d, {"banner": "1.0.0"}, {"allowScripts": {"banner@1.0.0": True}})
        # the project's scan gives banner its baseline
        first = self.scan_project(d)
        self.assertIn(self.dep(first, "banner")["verdict"], ("first_sight", "unchanged_behaviour"))
        old = os.path.join(self.tmp.name, "bump-old-lock.json")
        shutil.copy(os.path.join(d, "package-lock.json"), old)
        self.write_manifest(d, {"banner": "1.0.1"}, {"allowScripts": {"banner@1.0.0": True}})
        self.lock(d)
        out = self.review(d, old, code=0)
        self.assertEqual([(c["name"], c["change"], c["old_version"], c["new_version"]) for c in out["changes"]],
                         [("banner", "changed", "1.0.0", "1.0.1")])
        ban = out["changes"][0]
        self.assertEqual(ban["verdict"], "unchanged_behaviour", ban["findings"])
        self.assertEqual(ban["paths"], [["banner@1.0.1"]])

    def test_approve_clean(self):
        d = self.project("approve", {"benign": "1.0.0", "tinylog": "1.0.0"})
        lock = os.path.join(d, "package-lock.json")
        out = self.review(d, lock, "--approve-clean", code=3)
        self.assertEqual(out["changes"], [])
        self.assertEqual(sorted(u["name"] for u in out["unapproved"]), ["benign", "tinylog"])
        self.assertEqual(out["approved"], ["benign@1.0.0"])
        self.assertEqual(out["not_approved"], ["tinylog@1.0.0"])
        with open(os.path.join(d, "package.json")) as f:
            self.assertEqual(json.load(f)["allowScripts"], {"benign@1.0.0": True})
        # npm reads them as its own approvals
        self.npm(d, "ci", "--ignore-scripts")
        ls = json.loads(self.npm(d, "install-scripts", "ls", "--json"))
        self.assertEqual([e["name"] for e in ls["allowScripts"]], ["tinylog"])
        # again: nothing left to approve but tinylog, which is never approved
        out = self.review(d, lock, "--approve-clean", code=3)
        self.assertEqual(out["approved"], [])
        self.assertEqual(out["not_approved"], ["tinylog@1.0.0"])


if __name__ == "__main__":
    unittest.main()
