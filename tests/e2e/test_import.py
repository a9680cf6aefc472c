"""The import phase, for real (ns sandbox, eBPF sensor, fake registry on
loopback, as root): after a successful install the package is required in
the same sandbox, and what its code does at require time, with no lifecycle
script at all, is recorded as phase "import" and judged.

Fixtures (tests/fixtures/packages): greeter 1.0.0 (a greeting, nothing else
when required), 1.0.1 (reads its own package.json at require time: a benign
bump), 1.1.0 (when required: reads ~/.npmrc, resolves beacon.greeter.invalid
and connects to 203.0.113.77:443). None has an install script.
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
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from docker_daemon import DockerDaemon  # noqa: E402
from fake_registry import FakeRegistry  # noqa: E402

SCAN_TIMEOUT = 240
EXIT_FINDINGS = 3
ORIGIN = {"package": "greeter", "script": "import", "command": "require('greeter')"}
# what greeter 1.1.0 does when required: (kind, value, severity)
PAYLOAD = [("rule:cred-read-by-script", "~/.npmrc", "critical"),
           ("rule:script-network-not-registry", "beacon.greeter.invalid", "high"),
           ("rule:script-network-not-registry", "203.0.113.77:443/tcp", "high")]
PAYLOAD_DIFF = [("fs_cred_read", "~/.npmrc", "critical"),
                ("net_new_dns", "beacon.greeter.invalid", "medium"),
                ("net_new_destination", "203.0.113.77:443/tcp", "high")]


class ImportBase:
    """What every sandbox backend must show; subclasses set SANDBOX."""

    SANDBOX = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF): run the e2e tests as root")
        cls.env = dict(os.environ)
        cls.env.pop("DOCKER_HOST", None)
        cls.start_backend()
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-")
        cls.registry = FakeRegistry().start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()
        cls.stop_backend()

    @classmethod
    def start_backend(cls):
        pass

    @classmethod
    def stop_backend(cls):
        pass

    def setUp(self):
        self.db = os.path.join(self.tmp.name, "%s.db" % self._testMethodName)

    def fangs(self, *args, timeout=60):
        return subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def jfangs(self, *args):
        p = self.fangs("--json", *args)
        self.assertEqual(p.returncode, 0, "fangs %s: %s" % (" ".join(args), p.stderr))
        return json.loads(p.stdout)

    def scan(self, spec, code, *extra):
        p = self.fangs("--json", "scan", "--quiet", "--sandbox", self.SANDBOX, "--registry", self.registry.url,
                       *(list(extra) + [spec]), timeout=SCAN_TIMEOUT)
        self.assertEqual(p.returncode, code, "fangs scan %s\nstdout: %s\nstderr: %s" %
                         (spec, p.stdout[-4000:], p.stderr[-4000:]))
        out = json.loads(p.stdout)
        self.assertEqual(len(out), 1)
        self.assertNotIn("error", out[0])
        self.assertEqual(out[0]["run"]["state"], "succeeded", out[0]["run"]["error"])
        return out[0]

    def events(self, run_id):
        p = self.fangs("--json", "events", "list", run_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def output(self, run_id):
        return self.fangs("run", "show", run_id).stdout

    def assert_payload(self, out, expected, version):
        got = {(d["kind"], d["value"]): d for d in out["deviations"]}
        for kind, value, severity in expected:
            self.assertIn((kind, value), got, "missing %s %s in %s" % (kind, value, sorted(got)))
            d = got[(kind, value)]
            self.assertEqual(d["severity"], severity, d)
            self.assertEqual(d["actor"], "import", d)
            self.assertEqual(d["origin"], dict(ORIGIN, version=version), d)
        # everything found is the import's: the install itself did nothing new
        for d in out["deviations"]:
            self.assertEqual(d["actor"], "import", d)

    def assert_phases(self, run_id, imported):
        evs = self.events(run_id)
        phases = {e.get("phase", "install") for e in evs}
        self.assertIn("install", phases)
        imp = [e for e in evs if e.get("phase") == "import"]
        if not imported:
            self.assertEqual(imp, [], "an import phase although it was turned off")
            return evs
        execs = [e for e in imp if e["kind"] == "exec"]
        nodes = [e for e in execs if e["argv"][:2] == ["node", "-e"]]
        self.assertEqual(len(nodes), 1, execs)
        self.assertEqual(nodes[0]["argv"][-1], "greeter")
        # besides node, only what the sandbox runs it under (docker: bash and the sleep of its time limit)
        self.assertEqual(sorted(os.path.basename(e["path"]) for e in execs if e is not nodes[0]),
                         [] if self.SANDBOX == "ns" else ["bash", "sleep"], execs)
        # npm's own work stays in the install phase
        self.assertFalse([e for e in imp if e["kind"] == "exec" and "npm" in e.get("path", "")])
        for e in imp:
            self.assertEqual(e["origin"]["script"], "import", e)
        return evs

    def test_cold(self):
        # no baseline: the rules see the require-time payload
        out = self.scan("greeter@1.1.0", EXIT_FINDINGS)
        self.assertEqual(out["baseline"], "pending")
        self.assert_payload(out, PAYLOAD, "1.1.0")
        evs = self.assert_phases(out["run"]["id"], True)
        opens = [e for e in evs if e["kind"] == "file_open" and e["path"].endswith("/.npmrc")
                 and e.get("phase") == "import"]
        self.assertTrue(opens, "the import's read of ~/.npmrc is not in the events")
        shown = self.output(out["run"]["id"])
        self.assertIn("[fangs] import: started", shown)
        self.assertIn("[fangs] import: exited with status 0", shown)

    def test_failing_require_is_no_install_failure(self):
        # brokenmain's main file is missing: require() throws, the install stands
        out = self.scan("brokenmain@1.0.0", 0)
        self.assertEqual((out["run"]["exit_code"], out["run"]["error"]), (0, None))
        self.assertEqual(out["baseline"], "seeded")
        shown = self.output(out["run"]["id"])
        self.assertIn('[fangs] import: "brokenmain" failed: ', shown)
        self.assertIn("[fangs] import: exited with status 1", shown)
        human = self.fangs("scan", "--quiet", "--sandbox", self.SANDBOX, "--registry", self.registry.url,
                           "brokenmain@1.0.0",
                           timeout=SCAN_TIMEOUT)
        self.assertEqual(human.returncode, 0, human.stderr)
        self.assertIn("import: exited with status 1", human.stdout)

    def test_esm_only_package_is_imported(self):
        out = self.scan("esmonly@1.0.0", 0)
        shown = self.output(out["run"]["id"])
        self.assertIn("esmonly: loaded as an ES module", shown)
        self.assertIn('[fangs] import: import("esmonly") done', shown)
        self.assertIn("[fangs] import: exited with status 0", shown)



class ImportPhaseNs(ImportBase, unittest.TestCase):
    SANDBOX = "ns"

    def test_after_a_baseline(self):
        seed = self.scan("greeter@1.0.0", 0)
        self.assertEqual((seed["baseline"], seed["deviations"]), ("seeded", []))
        self.assert_phases(seed["run"]["id"], True)
        fps = self.jfangs("baseline", "list", "--package", "greeter", "--fingerprints")
        self.assertTrue(any(f["actor"] == "import" for f in fps), "the import phase is not in the baseline")

        # a benign bump: nothing new, at install or at require time
        bump = self.scan("greeter@1.0.1", 0)
        self.assertEqual((bump["baseline"], bump["deviations"]), ("joined", []))

        out = self.scan("greeter@1.1.0", EXIT_FINDINGS)
        self.assertEqual(out["baseline"], "pending")
        self.assert_payload(out, PAYLOAD + PAYLOAD_DIFF, "1.1.0")
        self.assertEqual(out["run"]["max_severity"], "critical")

    def test_no_import(self):
        out = self.scan("greeter@1.1.0", 0, "--no-import")
        self.assertEqual(out["deviations"], [], "nothing runs at install time")
        self.assert_phases(out["run"]["id"], False)
        self.assertNotIn("[fangs] import:", self.output(out["run"]["id"]))

    def test_config_turns_it_off(self):
        cfg = os.path.join(self.tmp.name, "noimport.yaml")
        with open(cfg, "w") as f:
            f.write("scan:\n  import: false\n")
        p = subprocess.run([FANGS, "--config", cfg, "--sqlite-path", self.db, "--json", "scan", "--quiet",
                            "--registry", self.registry.url, "greeter@1.1.0"], capture_output=True, text=True,
                           timeout=SCAN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)[0]
        self.assertEqual(out["deviations"], [])
        self.assert_phases(out["run"]["id"], False)


class ImportPhaseDocker(ImportBase, unittest.TestCase):
    SANDBOX = "docker"
    docker = None

    @classmethod
    def start_backend(cls):
        cls.docker = DockerDaemon(ROOT).start()
        cls.env["DOCKER_HOST"] = cls.docker.host

    @classmethod
    def stop_backend(cls):
        if cls.docker:
            cls.docker.stop()

if __name__ == "__main__":
    unittest.main()
