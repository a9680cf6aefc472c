"""The daemons under faults, as real processes: a PostgreSQL restart under a
running orchestrator, an orchestrator killed after storing a batch, runners
busy posting events, a runner killed mid-scan, an analysis that fails."""

import glob
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemons  # noqa: E402
import fakereg  # noqa: E402
import test_daemons as td  # noqa: E402
from daemons import FANGS, Orchestrator, Runner, fangs, run_of, wait_for  # noqa: E402
from pgserver import PgServer  # noqa: E402

ND = {"Content-Type": "application/x-ndjson"}


def batch(n, start=0):
    lines = [json.dumps({"kind": "exec", "ts_ns": start + i + 1, "pid": 100 + i, "path": "/bin/sh",
                         "argv": ["sh", "-c", "echo %d" % (start + i)]}) for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def post_batch(o, run, runner, body, seq=None, attempt=None):
    q = []
    if seq is not None:
        q.append("seq=%s" % seq)
    if attempt is not None:
        q.append("attempt=%s" % attempt)
    path = "/v1/runs/%s/events%s" % (run, "?" + "&".join(q) if q else "")
    # as the runner: its token, bound to its id, names it
    st, raw = o.post(path, body, headers=dict(ND, **o.as_runner(runner)))
    return st, json.loads(raw) if raw else None


def take_job(o, runner, max_scans=4):
    st, raw = o.post("/v1/runners/register", {"runner_id": runner, "max_scans": max_scans},
                     headers=o.as_runner(runner))
    assert st == 200, (st, raw)
    st, raw = o.get("/v1/runners/%s/jobs?wait_ms=3000" % runner, headers=o.as_runner(runner))
    assert st == 200, (st, raw)
    return json.loads(raw)


class HealBase(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-heal-")
        self.tmp = self.tmpd.name
        os.chmod(self.tmp, 0o755)
        self.db = os.path.join(self.tmp, "fangs.db")
        self.procs = []
        self.reg = None
        self.pg = None

    def tearDown(self):
        for p in reversed(self.procs):
            if p.alive():
                p.stop(signal.SIGKILL if isinstance(p, Runner) else signal.SIGTERM)
        if self.reg:
            self.reg.close()
        failed = td.DaemonTest._outcome_failed(self)
        if failed:
            for p in self.procs:
                sys.stderr.write("---- %s\n%s\n" % (p.log_path, p.text()[-6000:]))
            if self.pg:
                sys.stderr.write("---- postgres\n%s\n" % self.pg.text()[-3000:])
        if self.pg:
            self.pg.close()
        self.tmpd.cleanup()

    def orchestrator(self, extra=(), **kw):
        o = Orchestrator(self.tmp, self.db, extra=list(extra), **kw)
        self.procs.append(o)
        return o

    def runner(self, o, rid, extra=(), **kw):
        r = Runner(self.tmp, o.url, rid, self.reg.url, extra=list(extra), token=o.runner_token(rid), **kw)
        self.procs.append(r)
        return r

    def cli(self, *args, storage=None):
        p = subprocess.run([FANGS] + (storage or ["--sqlite-path", self.db]) + ["--json"] + list(args),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "fangs %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None


class BatchOnceTest(HealBase):
    def test_resent_batch_stored_once_across_a_crash(self):
        o = self.orchestrator(["--no-watch", "--poll-max-ms", "1000"])
        run = o.submit("pkg", "1.0.0")
        job = take_job(o, "r1")
        self.assertEqual(job["run_id"], run)
        self.assertEqual(job["attempt"], 1)
        st, ans = post_batch(o, run, "r1", batch(5), seq=1, attempt=1)
        self.assertEqual((st, ans), (200, {"accepted": 5, "seq": 1}))
        # its answer lost: the same batch again is acknowledged, not stored
        st, ans = post_batch(o, run, "r1", batch(5), seq=1, attempt=1)
        self.assertEqual((st, ans), (200, {"accepted": 5, "seq": 1, "duplicate": True}))
        self.assertEqual(run_of(self.db, run)["event_count"], 5)
        # the orchestrator dies right after storing batch 2; the runner sends it again to the next one
        st, _ = post_batch(o, run, "r1", batch(3, 5), seq=2, attempt=1)
        self.assertEqual(st, 200)
        o.stop(signal.SIGKILL)
        o2 = self.orchestrator(["--no-watch", "--poll-max-ms", "1000"], port=o.port, name="orchestrator2")
        st, ans = post_batch(o2, run, "r1", batch(3, 5), seq=2, attempt=1)
        self.assertEqual((st, ans["duplicate"]), (200, True))
        st, ans = post_batch(o2, run, "r1", batch(2, 8), seq=3, attempt=1)
        self.assertEqual((st, ans), (200, {"accepted": 2, "seq": 3}))
        self.assertEqual(run_of(self.db, run)["event_count"], 10)
        m = o2.metrics()
        self.assertEqual(m["fangs_event_batches_duplicate_total"], 1)
        self.assertEqual(m["fangs_events_received_total"], 2)
        # batches of another attempt, or with a bad number, are refused
        st, ans = post_batch(o2, run, "r1", batch(1), seq=4, attempt=2)
        self.assertEqual(st, 409, ans)
        for bad in ("0", "-1", "x", "1x"):
            st, ans = post_batch(o2, run, "r1", batch(1), seq=bad)
            self.assertEqual(st, 400, ans)
        # a batch without a number is stored as it comes (clients that do not number)
        self.assertEqual(post_batch(o2, run, "r1", batch(1, 20))[0], 200)
        self.assertEqual(run_of(self.db, run)["event_count"], 11)


class BusyRunnerTest(HealBase):
    def test_runner_posting_events_is_not_evicted(self):
        o = self.orchestrator(["--no-watch", "--poll-max-ms", "500", "--heartbeat-timeout-ms", "1500"])
        run = o.submit("pkg", "1.0.0")
        take_job(o, "busy")
        # no heartbeats for four timeouts, only events
        end, seq = time.time() + 6, 0
        while time.time() < end:
            seq += 1
            st, _ = post_batch(o, run, "busy", batch(20, seq * 20), seq=seq)
            self.assertEqual(st, 200)
            time.sleep(0.25)
        runners = {r["id"]: r for r in fangs(self.db, "runner", "list")}
        self.assertEqual(runners["busy"]["state"], "up")
        self.assertEqual(run_of(self.db, run)["state"], "running")
        self.assertEqual(run_of(self.db, run)["event_count"], seq * 20)
        self.assertEqual(o.metrics()["fangs_runners_evicted_total"], 0)
        # then silence evicts it
        wait_for(lambda: {r["id"]: r for r in fangs(self.db, "runner", "list")}["busy"]["state"] == "evicted", 10,
                 "the silent runner evicted")


class AnalysisFailureTest(HealBase):
    def finish(self, o, run, runner):
        st, raw = o.post("/v1/runs/%s/result" % run, {"state": "succeeded", "exit_code": 0, "events_emitted": 4},
                         headers=o.as_runner(runner))
        self.assertEqual(st, 200, raw)
        return json.loads(raw)

    def test_failed_analysis_is_pending_and_judged_again(self):
        o = self.orchestrator(["--no-watch", "--poll-max-ms", "500", "--rejudge-interval-ms", "500"])
        runs = [o.submit("pkg", v) for v in ("1.0.0", "2.0.0")]
        for run in runs:
            job = take_job(o, "r1")
            self.assertEqual(post_batch(o, job["run_id"], "r1", batch(4), seq=1)[0], 200)
        # storage refuses the analysis's writes, as a full disk would
        db = sqlite3.connect(self.db)
        db.execute("CREATE TRIGGER full BEFORE INSERT ON run_fingerprints"
                   " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        db.commit()
        for run in runs:
            ans = self.finish(o, run, "r1")
            self.assertIn("disk is full", ans["analysis_error"])
            self.assertNotIn("deviations", ans)
        pending = {r["id"]: r for r in self.cli("pending")}
        for run in runs:
            self.assertIn(run, pending)
            self.assertIn("analysis failed", pending[run]["analysis_error"])
            self.assertEqual(pending[run]["state"], "succeeded")
            self.assertFalse(pending[run]["is_baseline"])
        text = subprocess.run([FANGS, "--sqlite-path", self.db, "pending"], capture_output=True, text=True).stdout
        self.assertIn("%s: not judged: analysis failed" % runs[0], text)
        # still full: the maintenance pass tries and the runs stay pending
        wait_for(lambda: o.metrics()["fangs_analysis_failed_total"] >= 4, 10, "the maintenance pass to try")
        # by hand, once there is room
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "run", "analyze", runs[0]], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("disk is full", p.stderr)
        db.execute("DROP TRIGGER full")
        db.commit()
        db.close()
        o.stop()
        ans = self.cli("run", "analyze", runs[0])
        self.assertEqual(ans["baseline"], "seeded")
        r0 = run_of(self.db, runs[0])
        self.assertNotIn("analysis_error", r0)
        self.assertTrue(r0["is_baseline"])
        self.assertNotIn(runs[0], [r["id"] for r in self.cli("pending")])
        # the other by the orchestrator's maintenance pass
        o2 = self.orchestrator(["--no-watch", "--poll-max-ms", "500", "--rejudge-interval-ms", "300"],
                               name="orchestrator2")
        wait_for(lambda: "analysis_error" not in run_of(self.db, runs[1]), 15, "the run judged again")
        self.assertIn("run %s analysed" % runs[1], o2.text())
        self.assertEqual(o2.metrics()["fangs_analysis_rejudged_total"], 1)
        self.assertEqual(self.cli("pending"), [])
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "run", "analyze", "nope"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)


class PostgresRestartTest(HealBase):
    def test_orchestrator_outlives_a_postgres_restart(self):
        self.pg = PgServer()
        store = ["--storage", "postgres", "--postgres-dsn", self.pg.dsn]
        o = self.orchestrator(["--no-watch", "--poll-max-ms", "500", "--heartbeat-timeout-ms", "6000"],
                              postgres=self.pg.dsn)
        st, raw = o.get("/v1/health")
        self.assertEqual((st, json.loads(raw)["storage_status"]), (200, "ok"))
        run = o.submit("pkg", "1.0.0")
        take_job(o, "r1")
        self.assertEqual(post_batch(o, run, "r1", batch(5), seq=1)[0], 200)

        self.pg.stop("fast")
        st, raw = o.get("/v1/health")
        health = json.loads(raw)
        self.assertEqual(st, 503, health)
        self.assertEqual((health["status"], health["storage_status"]), ("unavailable", "unavailable"))
        self.assertTrue(health["storage_error"])
        # a batch posted meanwhile: 503, the runner keeps it and sends it again
        st, ans = post_batch(o, run, "r1", batch(3, 5), seq=2)
        self.assertEqual(st, 503, ans)
        self.assertIn("storage unavailable", ans["error"])
        # and one that keeps being sent, as a runner does, across the restart
        results = []

        def sender():
            while True:
                s, a = post_batch(o, run, "r1", batch(4, 8), seq=3)
                if s == 200:
                    results.append(a)
                    return
                time.sleep(0.2)

        t = threading.Thread(target=sender)
        t.start()
        time.sleep(1)
        self.pg.start()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(results, [{"accepted": 4, "seq": 3}])
        wait_for(lambda: o.get("/v1/health")[0] == 200, 15, "health back to 200")
        self.assertEqual(post_batch(o, run, "r1", batch(3, 5), seq=2)[0], 200)
        self.assertTrue(post_batch(o, run, "r1", batch(3, 5), seq=2)[1]["duplicate"])
        self.assertTrue(post_batch(o, run, "r1", batch(4, 8), seq=3)[1]["duplicate"])
        shown = self.cli("run", "show", run, storage=store)
        self.assertEqual(shown["event_count"], 12)
        self.assertIn("connection lost", o.text())
        self.assertIn("reconnected", o.text())
        # the runner never missed a heartbeat that counted
        runners = {r["id"]: r for r in self.cli("runner", "list", storage=store)}
        self.assertEqual(runners["r1"]["state"], "up")
        # the result, and its judgement, on the new connection
        st, raw = o.post("/v1/runs/%s/result" % run, {"state": "succeeded", "exit_code": 0},
                         headers=o.as_runner("r1"))
        self.assertEqual(st, 200, raw)
        self.assertEqual(json.loads(raw)["baseline_action"], "seeded")
        self.assertEqual(o.stop(), 0)


class OrchestratorAwayTest(HealBase):
    def test_events_piled_up_while_away_are_all_stored(self):
        # the install writes 30000 files while the orchestrator is stopped:
        # the runner keeps their events (well over the 8 MiB an events body
        # may hold) and sends them in batches the orchestrator takes
        self.reg = fakereg.FakeRegistry()
        self.reg.publish("many", "1.0.0", td.benign_files(
            "const fs = require('fs'), path = require('path');\n"
            "const d = path.join(__dirname, 'out'); fs.mkdirSync(d);\n"
            "for (let i = 0; i < 30000; i++) fs.writeFileSync(path.join(d, 'file-' + i + '-' + 'x'.repeat(150)), '');\n"
            "console.log('wrote them all');\n"))
        o = self.orchestrator(["--no-watch", "--poll-max-ms", "500"])
        self.runner(o, "ra", extra=["--duration-ms", "60000"])
        run = o.submit("many", "1.0.0")
        wait_for(lambda: run_of(self.db, run)["state"] == "running", 60, "the run to start")
        os.kill(o.p.pid, signal.SIGSTOP)
        try:
            time.sleep(12)
        finally:
            os.kill(o.p.pid, signal.SIGCONT)
        r = td.DaemonTest.wait_finished(self, run, timeout=240)
        self.assertEqual(r["state"], "succeeded", r)
        self.assertIn("wrote them all", r["install_output"])
        self.assertEqual(r["event_count"], r["events_emitted"] - r["events_dropped"], r)
        written = subprocess.run([FANGS, "--sqlite-path", self.db, "--json", "events", "list", run],
                                 capture_output=True, text=True, timeout=120).stdout.count("/out/file-")
        self.assertGreater(r["event_count"], 30000, r)
        self.assertNotIn("batch refused", "".join(p.text() for p in self.procs))
        self.assertGreater(written, 29000)

    state = td.DaemonTest.state


class KilledRunnerTest(HealBase):
    def test_killed_runner_job_completes_and_leftovers_go(self):
        self.reg = fakereg.FakeRegistry()
        # long enough to be killed in, short enough to finish the second time
        self.reg.publish("slowish", "1.0.0", td.benign_files("setTimeout(() => {}, 4000);\n"))
        work = os.path.join(self.tmp, "work")
        o = self.orchestrator(["--no-watch"] + td.HB)
        ra = self.runner(o, "ra", extra=["--work-root", work])
        run = o.submit("slowish", "1.0.0")
        first = wait_for(lambda: glob.glob(os.path.join(work, run + ".*")), 60, "the first attempt's sandbox")
        wait_for(lambda: run_of(self.db, run)["state"] == "running", 30, "the run to start")
        time.sleep(1.5)
        ra.stop(signal.SIGKILL)
        time.sleep(0.5)
        self.assertTrue(os.path.isdir(first[0]), "a killed runner leaves its sandbox")
        # the next runner on this host removes it when it starts, then takes the job again
        rb = self.runner(o, "rb", extra=["--work-root", work])
        r = td.DaemonTest.wait_finished(self, run, timeout=120)
        self.assertEqual(r["state"], "succeeded", r)
        self.assertEqual(r["runner"], "rb")
        self.assertFalse(os.path.exists(first[0]), "the first attempt's sandbox is left")
        self.assertRegex(rb.text(), r"removed \d+ leftovers? of killed scans")
        self.assertEqual(glob.glob(os.path.join(work, run + "*")), [])
        self.assertEqual([p for p in glob.glob("/sys/fs/cgroup/fangs/*") + glob.glob("/sys/fs/cgroup/*/fangs/*")
                          if os.path.basename(p).startswith(run)], [], "cgroups of the run are left")
        self.assertEqual(o.metrics()["fangs_jobs_requeued_total"], 1)
        # fangs gc: a leftover run directory (no live scan holds it) is removed; --help and --json
        stale = os.path.join(work, "r-stale.0a0b0c0d")
        os.makedirs(os.path.join(stale, "home"))
        open(os.path.join(stale, ".fangs-run"), "w").close()
        # and a prefetch directory of a killed scan, untouched for a while (no scan locks it)
        old_prefetch = "/var/lib/fangs/prefetch/%s-heal.a1b2c3" % run
        os.makedirs(os.path.join(old_prefetch, "project"))
        os.utime(old_prefetch, (time.time() - 3600, time.time() - 3600))
        fresh_prefetch = "/var/lib/fangs/prefetch/%s-heal.d4e5f6" % run
        os.makedirs(fresh_prefetch)
        try:
            self.assertGreaterEqual(self.cli("gc", "--work-root", work)["removed"], 2)
            self.assertFalse(os.path.exists(stale))
            self.assertFalse(os.path.exists(old_prefetch))
            self.assertTrue(os.path.exists(fresh_prefetch), "a recent prefetch directory may be a live scan's")
        finally:
            subprocess.run(["rm", "-rf", old_prefetch, fresh_prefetch])
        self.assertIn("removed", self.cli("gc", "--work-root", work))
        p = subprocess.run([FANGS, "gc", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--work-root", p.stdout)

    # DaemonTest's helpers, for wait_finished
    state = td.DaemonTest.state


if __name__ == "__main__":
    unittest.main(verbosity=2)
