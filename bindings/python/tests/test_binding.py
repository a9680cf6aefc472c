"""The Python binding against the real library and the bundled recordings,
and against the CLI: the same database read through both must give the same
records (FANGS_CLI, set by meson, is the fangs command of the build)."""

import dataclasses
import http.server
import hmac
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import fangs  # noqa: E402

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REC = pathlib.Path(ROOT) / "examples" / "recordings"
CLI = os.environ.get("FANGS_CLI")


def rec(version):
    return REC / ("example-banner-%s.ndjson" % version)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")
        self.saved_env = dict(os.environ)
        for var in ("FANGS_DB", "FANGS_SQLITE_PATH", "FANGS_CONFIG", "FANGS_POSTGRES_DSN"):
            os.environ.pop(var, None)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved_env)
        self.tmp.cleanup()

    def cli(self, *args, code=0):
        p = subprocess.run([CLI, "--sqlite-path", self.db, "--json"] + list(args), capture_output=True, text=True,
                           env=dict(os.environ, FANGS_CONFIG=""))
        self.assertEqual(p.returncode, code, p.stderr)
        return json.loads(p.stdout)


def record(obj):
    """A dataclass as the CLI's JSON shapes it (origin as an object)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def by_records(findings):
    """Findings as JSON, in an order of their own: findings of one severity,
    and a finding's records (of one severity) and labels after its main one,
    follow the order of the records grouped (so do its values), and a judgement returns its records in
    another order than storage lists them (the CLI's `run analyze --json`
    and `run show --json` differ so too)."""
    out = []
    for f in findings:
        f = dict(f if isinstance(f, dict) else record(f))
        f["labels"] = f["labels"][:1] + sorted(f["labels"][1:])
        f["deviation_ids"] = sorted(f["deviation_ids"])
        f["values"] = sorted(f["values"])
        out.append(f)
    return sorted(out, key=lambda f: f["deviation_ids"])


class BindingTest(Base):
    def test_version(self):
        self.assertRegex(fangs.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(fangs.version().split(".")[:2], fangs.__version__.split(".")[:2])

    def test_parse_events_and_errors(self):
        evs = fangs.parse_events('{"kind":"tls_sni","pid":3,"sni":"x.example"}\n')
        self.assertEqual(len(evs), 1)
        self.assertIsInstance(evs[0], fangs.Event)
        self.assertEqual((evs[0].kind, evs[0].pid, evs[0].sni), ("tls_sni", 3, "x.example"))
        self.assertEqual(evs[0].to_dict(), {"kind": "tls_sni", "pid": 3, "sni": "x.example"})
        # events are read through the binding's copy of the event struct: every member must line up
        line = {"kind": "proxy_request", "pid": 4, "host": "github.com", "port": 443, "method": "CONNECT",
                "sni": "github.com", "bytes_out": 517, "bytes_in": 9000, "status": 200, "allowed": True}
        evs = fangs.parse_events(json.dumps(line) + "\n" + json.dumps(line) + "\n")
        self.assertEqual([e.to_dict() for e in evs], [line, line])
        self.assertEqual((evs[0].bytes_in, evs[0].allowed, evs[0].status), (9000, True, 200))
        with self.assertRaises(fangs.ParseError) as cm:
            fangs.parse_events('{"kind":"tls_sni","pid":3,"sni":"x"}\n{"kind":"nope"}\n', source="rec")
        self.assertIn("rec:line 2", str(cm.exception))
        self.assertEqual(cm.exception.code, -7)
        self.assertIsInstance(cm.exception, fangs.Error)
        self.assertIsInstance(cm.exception, ValueError)

    def test_import_and_diff(self):
        with fangs.Storage(self.db) as st:
            first = st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            self.assertEqual(first.baseline, "seeded")
            self.assertEqual(first.deviations, [])
            self.assertEqual(first.run.version, "1.0.0")
            self.assertGreater(first.fingerprints, 0)
            noise = st.import_events(str(rec("1.0.1")), "example-banner", "1.0.1")
            self.assertEqual(noise.deviations, [])
            self.assertEqual(noise.baseline, "joined")
            bad = st.import_events(rec("1.1.0").read_bytes(), "example-banner", "1.1.0")
            self.assertEqual(bad.baseline, "pending")
            kinds = {d.kind for d in bad.deviations}
            for k in ("fs_cred_read", "proc_new_exec", "net_new_dns", "net_new_destination", "net_new_https_host"):
                self.assertIn(k, kinds)
            cred = [d for d in bad.deviations if d.kind == "fs_cred_read"]
            self.assertEqual(cred[0].severity, "critical")
            self.assertEqual(cred[0].origin.script, "postinstall")
            self.assertEqual(cred[0].origin.package, "example-banner")
            self.assertTrue(cred[0].evidence)
            self.assertEqual([e.id for e in st.evidence(cred[0])], cred[0].evidence)
            self.assertEqual(len(st.runs(package="example-banner")), 3)
            self.assertEqual([r.id for r in st.pending()], [bad.run_id])
            self.assertEqual(len(st.events(bad.run_id)), 36)
            critical = [d for d in bad.deviations if d.severity == "critical"]
            self.assertIn("rule:cred-read-by-script", {d.kind for d in critical})
            self.assertEqual(len(st.deviations(run_id=bad.run_id, min_severity="critical")), len(critical))
            promoted = st.promote(bad.run_id)
            self.assertEqual(st.deviations(run_id=bad.run_id), [])
            self.assertTrue(promoted.is_baseline)
            self.assertEqual(promoted.review, "promoted")
            # promote adds: the earlier baseline runs stay in it
            self.assertEqual(len(st.baselines("example-banner")), 3)
            st.promote(bad.run_id, replace=True)
            self.assertEqual([r.id for r in st.baselines("example-banner")], [bad.run_id])
            fps = st.fingerprints("example-banner")
            self.assertIn(fangs.Fingerprint("fs_read", "script", "~/.npmrc"), fps)

    def test_events_as_recording(self):
        events = fangs.read_events(rec("1.0.0"))
        with fangs.Storage(self.db) as st:
            a = st.import_events(events, "example-banner", "1.0.0")
            self.assertEqual(a.run.event_count, len(events))
            stored = st.events(a.run_id)
            self.assertEqual([e.path for e in stored], [e.path for e in events])

    def test_events_made_in_python(self):
        made = [fangs.Event("exec", pid=10, ppid=1, path="/usr/bin/curl", argv=["curl", "https://x.example/"],
                            origin=fangs.Origin("evil", "1.0.0", "postinstall", None)),
                fangs.Event("dns_query", pid=10, qname="x.example", qtype="A")]
        self.assertEqual(made[0].to_dict()["origin"], {"package": "evil", "version": "1.0.0", "script": "postinstall"})
        with fangs.Storage(self.db) as st:
            a = st.import_events(made, "evil", "1.0.0")
            stored = st.events(a.run_id)
        self.assertEqual([(e.kind, e.path, e.qname) for e in stored],
                         [("exec", "/usr/bin/curl", None), ("dns_query", None, "x.example")])
        self.assertEqual(stored[0].origin.script, "postinstall")

    def test_paths_and_missing_files(self):
        with fangs.Storage(pathlib.Path(self.db)) as st:
            self.assertEqual(st.path, self.db)
            for typo in ("examples/recordings/exmaple-banner-1.0.0.ndjson", REC / "nope.ndjson"):
                with self.assertRaises(fangs.FileNotFound) as cm:
                    st.import_events(typo, "example-banner", "1.0.0")
                self.assertIsInstance(cm.exception, FileNotFoundError)
                self.assertIsInstance(cm.exception, fangs.NotFoundError)
                self.assertIn("nope.ndjson" if isinstance(typo, pathlib.Path) else "exmaple", str(cm.exception))
            # NDJSON text given where a path goes is a missing file too, never parsed
            with self.assertRaises(fangs.FileNotFound):
                st.import_events('{"kind":"tls_sni","pid":3,"sni":"x"}', "x", "1")
            self.assertEqual(st.runs(), [])
        with self.assertRaises(FileNotFoundError):
            fangs.Config(pathlib.Path(self.tmp.name) / "missing.yaml")
        with self.assertRaises(FileNotFoundError):
            fangs.Rules(files=[pathlib.Path(self.tmp.name) / "missing-rules.yaml"])

    def test_severities(self):
        with fangs.Storage(self.db) as st:
            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            st.import_events(rec("1.1.0"), "example-banner", "1.1.0")
            high = st.deviations(min_severity="high")
            self.assertTrue(high)
            for s in ("HIGH", "High", fangs.Severity.HIGH, 3):
                self.assertEqual(st.deviations(min_severity=s), high)
            self.assertTrue(all(fangs.Severity.parse(d.severity) >= fangs.Severity.HIGH for d in high))
            self.assertLess(len(high), len(st.deviations()))
            with self.assertRaises(fangs.InvalidError) as cm:
                st.deviations(min_severity="severe")
            self.assertIsInstance(cm.exception, ValueError)
            self.assertIn("severe", str(cm.exception))
        self.assertEqual(str(fangs.Severity.parse("CRITICAL")), "critical")
        self.assertEqual(fangs.severity_names(), ["info", "low", "medium", "high", "critical"])

    def test_errors_carry_the_library_message(self):
        with fangs.Storage(self.db) as st:
            with self.assertRaises(fangs.NotFoundError) as cm:
                st.run("does-not-exist")
            self.assertEqual(cm.exception.code, -4)
            self.assertIn("does-not-exist", str(cm.exception))
            self.assertIsInstance(cm.exception, LookupError)
            with self.assertRaises(fangs.NotFoundError):
                st.events("does-not-exist")
            st.add_notifier("n", "https://hooks.example/x")
            with self.assertRaises(fangs.ExistsError) as cm:
                st.add_notifier("n", "https://hooks.example/y")
            self.assertEqual(cm.exception.code, -5)
        st.close()
        with self.assertRaises(fangs.InvalidError):
            st.runs()
        with self.assertRaises(fangs.ConfigError) as cm:
            fangs.Config(text="differ:\n  no_such_key: 1\n")
        self.assertIn("no_such_key", str(cm.exception))
        self.assertIn("<string>:2", str(cm.exception))

    def test_log(self):
        got = []
        fangs.set_log(lambda level, msg: got.append((level, msg)), level="INFO")
        try:
            fangs.Storage(self.db).close()
        finally:
            fangs.set_log(None)
        self.assertTrue(any(level == "info" and "migrating schema" in msg for level, msg in got), got)
        got.clear()
        fangs.Storage(os.path.join(self.tmp.name, "quiet.db")).close()
        self.assertEqual(got, [])
        with self.assertRaises(fangs.InvalidError):
            fangs.set_log(print, level="loud")

    def test_default_database(self):
        state = os.path.join(self.tmp.name, "state")
        os.environ["XDG_STATE_HOME"] = state
        with fangs.Storage() as st:
            self.assertEqual(st.path, os.path.join(state, "fangs", "fangs.db"))
        self.assertTrue(os.path.exists(os.path.join(state, "fangs", "fangs.db")))
        cfg = os.path.join(self.tmp.name, "fangs.yaml")
        with open(cfg, "w") as f:
            f.write("storage:\n  sqlite_path: %s\n" % os.path.join(self.tmp.name, "from-config.db"))
        os.environ["FANGS_CONFIG"] = cfg
        self.assertEqual(fangs.default_database(fangs.Config()), os.path.join(self.tmp.name, "from-config.db"))
        with fangs.Storage() as st:
            self.assertEqual(st.path, os.path.join(self.tmp.name, "from-config.db"))
        os.environ["FANGS_DB"] = self.db
        with fangs.Storage() as st:
            self.assertEqual(st.path, self.db)
        with fangs.Storage(os.path.join(self.tmp.name, "explicit.db")) as st:
            self.assertEqual(st.path, os.path.join(self.tmp.name, "explicit.db"))

    def test_packages_releases_allowlists_prune(self):
        with fangs.Storage(self.db) as st:
            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            pkg = st.add_package("left-pad")
            self.assertEqual((pkg.name, pkg.watched, pkg.run_count), ("left-pad", True, 0))
            self.assertEqual([p.name for p in st.packages(watched_only=True)], ["left-pad"])
            self.assertEqual({p.name for p in st.packages()}, {"left-pad", "example-banner"})
            self.assertEqual([(r.package, r.version) for r in st.releases("example-banner")],
                             [("example-banner", "1.0.0")])
            st.reset_package("example-banner")
            self.assertEqual(st.runs(package="example-banner"), [])
            st.remove_package("left-pad")
            with self.assertRaises(fangs.NotFoundError):
                st.package("left-pad")

            # a global DNS allowance hides the new lookup of 1.1.0
            e = st.allow("dns", "evil.example", note="known")
            self.assertEqual((e.kind, e.value, e.package, e.note), ("dns", "evil.example", None, "known"))
            st.allow("path", "/opt/x/", package="example-banner")
            self.assertEqual(len(st.allowlist()), 2)
            with self.assertRaises(fangs.InvalidError):
                st.allow("cidr", "nonsense")
            with self.assertRaises(fangs.InvalidError):
                st.allow("colour", "blue")
            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            bad = st.import_events(rec("1.1.0"), "example-banner", "1.1.0")
            self.assertNotIn("net_new_dns", {d.kind for d in bad.deviations})
            st.remove_allow(e)
            self.assertEqual([a.value for a in st.allowlist()], ["/opt/x/"])
            stats = st.prune(days=1)
            self.assertEqual(stats.runs_deleted, 0)

    def test_queue_and_fail_run(self):
        with fangs.Storage(self.db) as st:
            job = st.queue_scan("left-pad", "1.3.0", runner="r1")
            self.assertEqual((job.state, job.package, job.version, job.target_runner), ("queued", "left-pad", "1.3.0", "r1"))
            run = st.run(job.run_id)
            self.assertEqual(run.state, "queued")
            failed = st.fail_run(job.run_id, reason="given up")
            self.assertEqual((failed.state, failed.error), ("failed", "given up"))
            self.assertGreater(failed.finished_ns, 0)
            self.assertEqual(st.job(job.run_id).state, "failed")
            with self.assertRaises(fangs.InvalidError) as cm:
                st.fail_run(job.run_id)
            self.assertIn("already failed", str(cm.exception))
            self.assertEqual(st.runners(), [])
        if CLI:
            self.assertEqual(self.cli("runner", "list"), [])
            self.assertEqual(self.cli("run", "show", job.run_id)["error"], "given up")

    def test_queue_only_new_release(self):
        with fangs.Storage(self.db) as st:
            job = st.queue_scan("left-pad", "1.3.0", only_new=True)
            self.assertEqual((job.state, job.package, job.version), ("queued", "left-pad", "1.3.0"))
            with self.assertRaises(fangs.ExistsError):
                st.queue_scan("left-pad", "1.3.0", only_new=True)
            st.fail_run(job.run_id, reason="given up")
            # a release with a run in any state is not queued again
            with self.assertRaises(fangs.ExistsError):
                st.queue_scan("left-pad", "1.3.0", only_new=True)
            self.assertEqual([r.id for r in st.runs()], [job.run_id])
            other = st.queue_scan("left-pad", "1.3.1", only_new=True)
            self.assertNotEqual(other.run_id, job.run_id)
            # without only_new a release is queued again on demand
            again = st.queue_scan("left-pad", "1.3.0")
            self.assertEqual(len(st.runs(package="left-pad", version="1.3.0")), 2)
            self.assertNotEqual(again.run_id, job.run_id)

    def test_rules(self):
        with fangs.Rules() as rules:
            ids = [r.id for r in rules]
            self.assertIn("cred-read-by-script", ids)
            self.assertEqual(len(rules), len(ids))
            r = rules.show("cred-read-by-script")
            self.assertEqual((r.severity, r.enabled, r.source), ("critical", True, "builtin"))
            with self.assertRaises(fangs.NotFoundError):
                rules.show("no-such-rule")
            hits = rules.test(rec("1.1.0"))
            self.assertIn(("rule:cred-read-by-script", "~/.npmrc"), {(h.kind, h.value) for h in hits})
            self.assertEqual(rules.test(rec("1.0.0")), [])
        path = pathlib.Path(self.tmp.name) / "rules.yaml"
        path.write_text("- id: reads-hostname\n  description: reads /etc/hostname\n  severity: low\n"
                        "  match:\n    kind: file_open\n    path: /etc/hostname\n")
        with fangs.Rules(files=[path], builtin=False) as rules:
            self.assertEqual([r.id for r in rules], ["reads-hostname"])
            rec_file = pathlib.Path(self.tmp.name) / "r.ndjson"
            rec_file.write_text('{"kind":"file_open","pid":7,"path":"/etc/hostname","flags":"r"}\n')
            hits = rules.test(rec_file)
            self.assertEqual([(h.kind, h.severity, h.evidence) for h in hits], [("rule:reads-hostname", "low", [1])])
        path.write_text("- id: broken\n  severity: nope\n")
        with self.assertRaises(fangs.ConfigError) as cm:
            fangs.Rules(files=[path])
        self.assertIn("rules.yaml", str(cm.exception))


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.got.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class NotifierTest(Base):
    def setUp(self):
        super().setUp()
        Receiver.got = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        super().tearDown()

    def test_targets_test_and_delivery(self):
        os.environ["PY_HOOK_SECRET"] = "s3cret"
        with fangs.Storage(self.db) as st:
            t = st.add_notifier("hook", self.url, "generic", min_severity="HIGH", secret_env="PY_HOOK_SECRET",
                                headers={"X-Team": "sec"})
            self.assertEqual((t.name, t.template, t.min_severity, t.headers, t.enabled),
                             ("hook", "generic", "high", ["X-Team"], True))
            self.assertEqual([n.name for n in st.notifiers()], ["hook"])
            with self.assertRaises(fangs.InvalidError):
                st.add_notifier("plain", "http://hooks.example/x")  # http only to loopback
            res = st.test_notifier("hook")
            self.assertTrue(res.ok)
            self.assertEqual(res.http_status, 200)
            self.assertEqual(len(Receiver.got), 1)

            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            bad = st.import_events(rec("1.1.0"), "example-banner", "1.1.0")
            self.assertEqual(st.notify_run(bad.run_id), 1)
            self.assertEqual(st.notify_run(bad.run_id), 0)  # once per run and target
            self.assertEqual(len(Receiver.got), 2)
            headers, body = Receiver.got[1]
            self.assertEqual(headers["X-Team"], "sec")
            sig = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
            self.assertEqual(headers["X-FANGS-Signature"], sig)
            self.assertEqual(json.loads(body)["run_id"], bad.run_id)
            hist = st.notifications(run_id=bad.run_id)
            self.assertEqual([(n.notifier, n.status, n.http_status, n.attempt) for n in hist],
                             [("hook", "sent", 200, 1)])
            self.assertEqual(st.deliver(), fangs.DeliveryStats(0, 0, 0, 0))
            st.remove_notifier("hook")
            self.assertEqual(st.notifiers(), [])


@unittest.skipUnless(CLI, "FANGS_CLI names the fangs command of the build (meson sets it)")
class SameAsCliTest(Base):
    """The dataclasses carry the fields of the CLI's --json output, with the same values."""

    def test_records_match_the_cli(self):
        with fangs.Storage(self.db) as st:
            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            bad = st.import_events(rec("1.1.0"), "example-banner", "1.1.0")
            st.allow("sni", "cdn.example", package="example-banner", note="n")
            st.add_notifier("hook", "https://hooks.example/x", headers={"X-A": "1"})
            runs = st.runs()
            devs = st.deviations()
            pkgs = st.packages()
            allow = st.allowlist()
            rels = st.releases()
            targets = st.notifiers()
            fps = st.fingerprints("example-banner")
        cli_runs = self.cli("run", "list")
        # (the CLI writes analysis_error only when a run has one)
        self.assertEqual([record(r) for r in runs],
                         [{"analysis_error": None, **c, "install_output": None} for c in cli_runs])
        show = self.cli("run", "show", bad.run_id)
        self.assertEqual(set(record(bad.run)) - {"install_output", "analysis_error"},
                         set(show) - {"deviations", "install_output", "findings", "counts"})
        # findings: one per behaviour, as the CLI groups the run's records
        with fangs.Storage(self.db) as st:
            report = st.show_run(bad.run_id)
            listed = st.findings(bad.run_id)
        self.assertTrue(show["findings"])
        self.assertLess(show["counts"]["findings"], show["counts"]["deviations"] + show["counts"]["rule_hits"])
        self.assertEqual([record(f) for f in report.findings], show["findings"])
        self.assertEqual(record(report.counts), show["counts"])
        self.assertEqual(by_records(bad.findings), by_records(show["findings"]))
        self.assertEqual(record(bad.counts), show["counts"])
        self.assertEqual(listed, report.findings)
        run_fields = record(report.run)
        self.assertEqual({k: show.get(k) for k in run_fields}, run_fields)
        self.assertEqual(sorted((record(d) for d in report.deviations), key=lambda d: d["id"]),
                         sorted(show["deviations"], key=lambda d: d["id"]))
        self.assertEqual([record(f) for f in listed],
                         self.cli("deviation", "list", "--run", bad.run_id, "--findings"))
        self.assertEqual([record(d) for d in devs], self.cli("deviation", "list"))
        self.assertEqual(sorted((record(d) for d in bad.deviations), key=lambda d: d["id"]),
                         sorted(show["deviations"], key=lambda d: d["id"]))
        self.assertEqual([record(p) for p in pkgs], self.cli("package", "list"))
        self.assertEqual([record(a) for a in allow], self.cli("allow", "list"))
        self.assertEqual([record(r) for r in rels], self.cli("release", "list"))
        self.assertEqual([record(f) for f in fps],
                         sorted(self.cli("baseline", "list", "--package", "example-banner", "--fingerprints"),
                                key=lambda f: (f["kind"], f["actor"], f["value"])))
        cli_targets = self.cli("notifier", "list")
        self.assertEqual([{**record(t), "headers": {h: "(hidden)" for h in t.headers}} for t in targets],
                         cli_targets)
        with fangs.Rules() as rules:
            self.assertEqual([record(r) for r in rules], self.cli("rules", "list"))
            hits = rules.test(rec("1.1.0"))
        # (created_ns: when each was evaluated)
        self.assertEqual([{**record(h), "created_ns": 0} for h in hits],
                         [{**h, "created_ns": 0} for h in self.cli("rules", "test", str(rec("1.1.0")), code=3)])
        imported = subprocess.run([CLI, "--sqlite-path", self.db, "--json", "events", "import", str(rec("1.0.1")),
                                   "--package", "example-banner", "--version", "1.0.1"],
                                  capture_output=True, text=True, env=dict(os.environ, FANGS_CONFIG=""))
        out = json.loads(imported.stdout)
        with fangs.Storage(self.db) as st:
            again = st.analyze(out["run"]["id"])
        self.assertEqual(set(out) - {"run"}, {"baseline", "fingerprints", "deviations", "findings", "counts"})
        self.assertEqual((again.baseline, again.fingerprints), (out["baseline"], out["fingerprints"]))
        self.assertEqual(set(record(again.run)) - {"install_output", "analysis_error"}, set(out["run"]))
        # judged again: the same findings (none: 1.0.1 does what 1.0.0 did)
        self.assertEqual(record(again.counts), out["counts"])
        self.assertEqual([{**f, "deviation_ids": len(f["deviation_ids"])} for f in by_records(again.findings)],
                         [{**f, "deviation_ids": len(f["deviation_ids"])} for f in by_records(out["findings"])])


class FindingsTest(Base):
    """Findings, runs not judged and `run analyze`, name checks: as the CLI."""

    def test_analysis_error_and_analyze_run(self):
        import sqlite3
        with fangs.Storage(self.db) as st:
            st.import_events(rec("1.0.0"), "example-banner", "1.0.0")
            bad = st.import_events(rec("1.1.0"), "example-banner", "1.1.0")
            self.assertIsNone(bad.run.analysis_error)
        # what the orchestrator stores when judging a finished run failed
        db = sqlite3.connect(self.db)
        db.execute("UPDATE runs SET analysis_error = 'analysis failed: database or disk is full' WHERE id = ?",
                   (bad.run_id,))
        db.execute("CREATE TRIGGER full BEFORE INSERT ON run_fingerprints"
                   " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        db.commit()
        with fangs.Storage(self.db) as st:
            run = st.run(bad.run_id)
            self.assertEqual(run.analysis_error, "analysis failed: database or disk is full")
            shown = self.cli("run", "show", bad.run_id)
            self.assertEqual(shown["analysis_error"], run.analysis_error)
            self.assertEqual({**{k: shown.get(k) for k in record(run)}, "install_output": None},
                             {**record(run), "install_output": None})
            self.assertEqual([r for r in st.pending() if r.id == bad.run_id][0].analysis_error, run.analysis_error)
            # still failing: an error, and the run stays not judged
            with self.assertRaises(fangs.StorageError) as cm:
                st.analyze_run(bad.run_id)
            self.assertIn("disk is full", str(cm.exception))
            self.assertIsNotNone(st.run(bad.run_id).analysis_error)
        db.execute("DROP TRIGGER full")
        db.commit()
        db.close()
        with fangs.Storage(self.db) as st:
            again = st.analyze_run(bad.run_id)
        self.assertIsNone(again.run.analysis_error)
        self.assertEqual(again.baseline, bad.baseline)
        show = self.cli("run", "show", bad.run_id)
        self.assertNotIn("analysis_error", show)
        self.assertEqual(by_records(again.findings), by_records(show["findings"]))
        self.assertEqual(record(again.counts), show["counts"])
        self.assertEqual(again.counts.findings, len(again.findings))
        self.assertEqual(again.counts.deviations + again.counts.rule_hits, len(again.deviations))
        # the CLI judges it once more: the binding reads the same findings
        cli = self.cli("run", "analyze", bad.run_id)
        with fangs.Storage(self.db) as st:
            report = st.show_run(bad.run_id)
        self.assertEqual(cli["baseline"], again.baseline)
        self.assertEqual(by_records(report.findings), by_records(cli["findings"]))
        self.assertEqual(record(report.counts), cli["counts"])
        crit = [f for f in report.findings if f.severity == "critical"]
        # a read of ~/.npmrc: a deviation and a rule hit, one finding
        cred = [f for f in crit if f.value == "~/.npmrc"]
        self.assertEqual(len(cred), 1, crit)
        self.assertEqual((cred[0].labels, cred[0].rule_hits, cred[0].actor, cred[0].origin.script),
                         (["rule:cred-read-by-script", "fs_cred_read"], 1, "script", "postinstall"))
        self.assertEqual(len(cred[0].deviation_ids), 2)
        self.assertTrue(set(cred[0].deviation_ids) <= {d.id for d in report.deviations})
        self.assertEqual(sum(len(f.deviation_ids) for f in report.findings), len(report.deviations))

    def test_only_finished_runs_are_judged(self):
        with fangs.Storage(self.db) as st:
            job = st.queue_scan("left-pad", "1.3.0")
            with self.assertRaises(fangs.InvalidError) as cm:
                st.analyze_run(job.run_id)
            self.assertIn("only a finished run is judged", str(cm.exception))
            with self.assertRaises(fangs.NotFoundError):
                st.analyze_run("nope")
        p = subprocess.run([CLI, "--sqlite-path", self.db, "run", "analyze", job.run_id], capture_output=True,
                           text=True, env=dict(os.environ, FANGS_CONFIG=""))
        self.assertEqual(p.returncode, 1)
        self.assertIn("only a finished run is judged", p.stderr)

    def test_package_names_checked_as_the_cli(self):
        fangs.check_package_name("left-pad")
        fangs.check_package_name("@scope/name")
        fangs.check_package_name("JSONStream")  # installable, no longer publishable
        with self.assertRaises(fangs.InvalidError):
            fangs.check_package_name("JSONStream", new=True)
        fangs.check_package_version("^1.2")
        fangs.check_package_version("latest")
        for bad in ("", "../evil", "-x", "node_modules", "a b", "evil\x1b[2J", "@a/b/c"):
            with self.assertRaises(fangs.InvalidError, msg=repr(bad)):
                fangs.check_package_name(bad)
        for bad in ("file:../x", "git+https://x.invalid/y", "npm:other@1", "1.0.0/../x"):
            with self.assertRaises(fangs.InvalidError, msg=repr(bad)):
                fangs.check_package_version(bad)
        with self.assertRaises(fangs.InvalidError):
            fangs.check_package_name(b"left-pad")  # type: ignore[arg-type]
        with fangs.Storage(self.db) as st:
            with self.assertRaises(fangs.InvalidError) as cm:
                st.add_package("../evil")
            p = subprocess.run([CLI, "--sqlite-path", self.db, "package", "add", "../evil"], capture_output=True,
                               text=True, env=dict(os.environ, FANGS_CONFIG=""))
            self.assertEqual(p.returncode, 2)
            self.assertIn(str(cm.exception), p.stderr)
            with self.assertRaises(fangs.InvalidError):
                st.import_events(rec("1.0.0"), "evil\x1b]0;x\x07", "1.0.0")
            with self.assertRaises(fangs.InvalidError):
                st.import_events(rec("1.0.0"), "example-banner", "file:../x")
            with self.assertRaises(fangs.InvalidError):
                st.queue_scan("left-pad", "git+https://x.invalid/y")
            # nothing was stored
            self.assertEqual((st.packages(), st.runs()), ([], []))
            self.assertEqual(st.add_package("left-pad").name, "left-pad")


class ExampleTest(Base):
    def test_report_example(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "report.py"), self.db,
                            "example-banner", "%s:1.0.0" % rec("1.0.0"), "%s:1.1.0" % rec("1.1.0")],
                           env=dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..")),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("example-banner@1.0.0: seeded, 0 deviations", p.stdout)
        self.assertRegex(p.stdout, r"critical +fs_cred_read +~/.npmrc +\(example-banner postinstall\)")


class TypedTest(unittest.TestCase):
    def test_py_typed_and_annotations(self):
        pkg = os.path.dirname(fangs.__file__)
        self.assertTrue(os.path.exists(os.path.join(pkg, "py.typed")))
        for cls in (fangs.Run, fangs.Deviation, fangs.Event, fangs.Package, fangs.AllowEntry, fangs.Rule,
                    fangs.NotifierTarget, fangs.Notification, fangs.ScanResult, fangs.Analysis):
            self.assertTrue(dataclasses.is_dataclass(cls))
            for f in dataclasses.fields(cls):
                self.assertTrue(f.type, "%s.%s has no type" % (cls.__name__, f.name))


if __name__ == "__main__":
    unittest.main()
