"""How a run ends, for real (ns sandbox, eBPF sensor, fake registry on
loopback, as root): an install that fails inside the sandbox is a failed run
with its reason, judged but kept out of the baseline, and `fangs scan` says
so with exit status 4; the out-of-memory killer is named; promote adds a run
to the baseline; a rule hit is not hidden by what the baseline took in by
itself.

Fixtures (tests/fixtures/packages): relay 1.0.0 (builds nothing), 1.1.0 (its
preinstall runs uname and exits 1), 1.2.0 (runs uname and passes); lingerer
1.0.0 (waits for `sleep 1`), 1.1.0 (leaves the same `sleep 1` detached); hog
1.0.0 (its install script takes memory past the sandbox's limit).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))

from fake_registry import FakeRegistry  # noqa: E402

SCAN_TIMEOUT = 240
EXIT_FINDINGS = 3
EXIT_INSTALL_FAILED = 4


class ScanOutcome(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF): run the e2e tests as root")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-")
        cls.registry = FakeRegistry().start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.db = os.path.join(self.tmp.name, "%s.db" % self._testMethodName)

    def fangs(self, *args, timeout=60):
        return subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def jfangs(self, *args):
        p = self.fangs("--json", *args)
        self.assertEqual(p.returncode, 0, "fangs %s: %s" % (" ".join(args), p.stderr))
        return json.loads(p.stdout)

    def scan(self, spec, code, json_out=True):
        p = self.fangs(*((["--json"] if json_out else []) +
                         ["scan", "--quiet", "--sandbox", "ns", "--registry", self.registry.url, spec]),
                       timeout=SCAN_TIMEOUT)
        self.assertEqual(p.returncode, code, "fangs scan %s\nstdout: %s\nstderr: %s" %
                         (spec, p.stdout[-4000:], p.stderr[-4000:]))
        if not json_out:
            return p.stdout
        out = json.loads(p.stdout)
        self.assertEqual(len(out), 1)
        self.assertNotIn("error", out[0])
        return out[0]

    def baseline_versions(self, package):
        return sorted(r["version"] for r in self.jfangs("baseline", "list", "--package", package))

    def test_failed_install(self):
        good = self.scan("relay@1.0.0", 0)
        self.assertEqual((good["baseline"], good["run"]["state"]), ("seeded", "succeeded"))

        # the preinstall exits 1: failed, with npm's status and its last lines
        bad = self.scan("relay@1.1.0", EXIT_INSTALL_FAILED)
        run = bad["run"]
        self.assertEqual(run["state"], "failed")
        self.assertEqual(run["exit_code"], 1)
        self.assertTrue(run["error"].startswith("npm exited with status 1: "), run["error"])
        self.assertIn("relay: cannot build the native addon", run["error"])
        self.assertNotIn("A complete log of this run", run["error"])
        self.assertEqual(bad["baseline"], "excluded")
        self.assertFalse(run["is_baseline"])
        # still judged: what it did before failing is a finding
        self.assertIn(("proc_new_exec", "/usr/bin/uname"), [(d["kind"], d["value"]) for d in bad["deviations"]])
        self.assertGreater(run["event_count"], 100)
        self.assertEqual(self.baseline_versions("relay"), ["1.0.0"])

        # what a person reads
        shown = self.fangs("run", "show", run["id"]).stdout
        self.assertIn("state:      failed: npm exited with status 1: ", shown)
        listed = self.jfangs("run", "list", "--state", "failed")
        self.assertEqual([r["id"] for r in listed], [run["id"]])
        row = [line for line in self.fangs("run", "list").stdout.splitlines() if line.startswith(run["id"])]
        self.assertEqual(row[0].split()[3:6], ["failed", "excluded,", "findings"], row)
        self.assertIn(run["id"], [r["id"] for r in self.jfangs("pending")])
        human = self.scan("relay@1.1.0", EXIT_INSTALL_FAILED, json_out=False)
        self.assertIn("install failed: npm exited with status 1: ", human)
        self.assertIn("verdict: the install failed in the sandbox: kept out of the baseline", human)

        # the next good release is compared with the good baseline: the
        # failed runs' uname is new to it
        nxt = self.scan("relay@1.2.0", 0)
        self.assertEqual(nxt["run"]["state"], "succeeded")
        self.assertEqual(nxt["baseline"], "pending")
        self.assertIn(("proc_new_exec", "/usr/bin/uname", "medium"),
                      [(d["kind"], d["value"], d["severity"]) for d in nxt["deviations"]])

        # promote adds the run to the baseline, the seed stays in it
        self.assertEqual(self.jfangs("baseline", "promote", nxt["run"]["id"])["replaced"], False)
        self.assertEqual(self.baseline_versions("relay"), ["1.0.0", "1.2.0"])
        # a failed install is promoted only on purpose
        p = self.fangs("baseline", "promote", run["id"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("failed (npm exited with status 1", p.stderr)
        self.assertEqual(self.baseline_versions("relay"), ["1.0.0", "1.2.0"])
        self.jfangs("baseline", "promote", "--force", run["id"])
        self.assertEqual(self.baseline_versions("relay"), ["1.0.0", "1.1.0", "1.2.0"])

    def test_findings_win_over_a_failed_install(self):
        self.scan("relay@1.0.0", 0)
        p = self.fangs("--json", "scan", "--quiet", "--registry", self.registry.url, "--fail-on", "medium",
                       "relay@1.1.0", timeout=SCAN_TIMEOUT)
        self.assertEqual(p.returncode, EXIT_FINDINGS, p.stderr)
        self.assertEqual(json.loads(p.stdout)[0]["run"]["state"], "failed")

    def test_out_of_memory(self):
        out = self.scan("hog@1.0.0", EXIT_INSTALL_FAILED)
        run = out["run"]
        self.assertEqual(run["state"], "failed")
        self.assertIn("the out-of-memory killer ended 1 process (memory limit 512 MiB)", run["error"])
        self.assertEqual(out["baseline"], "excluded")
        self.assertEqual(self.jfangs("baseline", "list", "--package", "hog"), [])

    def test_rule_hit_under_an_automatic_baseline(self):
        seed = self.scan("lingerer@1.0.0", 0)
        self.assertEqual((seed["baseline"], seed["deviations"]), ("seeded", []))
        # the same `sleep 1`, detached: the baseline holds its exec, yet the
        # rule hit is reported, as nobody accepted it
        warm = self.scan("lingerer@1.1.0", EXIT_FINDINGS)
        hits = [d for d in warm["deviations"] if d["kind"] == "rule:detached-process"]
        self.assertEqual(len(hits), 1, warm["deviations"])
        self.assertIn("sleep 1", hits[0]["value"])
        self.assertEqual(hits[0]["severity"], "high")
        self.assertEqual(warm["baseline"], "pending")
        # a person accepts it: not reported again
        self.jfangs("baseline", "promote", warm["run"]["id"])
        again = self.scan("lingerer@1.1.0", 0)
        self.assertEqual(again["deviations"], [])
        self.assertEqual(again["baseline"], "joined")


if __name__ == "__main__":
    unittest.main()
