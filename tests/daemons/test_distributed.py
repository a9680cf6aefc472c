"""Several orchestrators on one PostgreSQL, as real processes on loopback:
two orchestrators, three runners (ns sandbox, sensor), one database. The
leader follows the fake registry's change feed and runs the watcher; scans
queued through one orchestrator are handed to runners parked on the other;
the leader is killed and the standby takes over; a runner is killed
mid-scan and its job finishes elsewhere; PostgreSQL restarts; every
release is scanned exactly once. And the follower's filters, alone."""

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakereg  # noqa: E402
import test_daemons as td  # noqa: E402
from daemons import FANGS, Orchestrator, Runner, wait_for  # noqa: E402
from pgserver import PgServer  # noqa: E402

LEADER_MS = 1000
# scans under ASan take several times longer: so do the waits for them
SLOW = 4 if "ASAN_OPTIONS" in os.environ else 1
SUCCEEDED = "2"  # fangs_run_state, as stored
HB = ["--heartbeat-timeout-ms", "3000", "--poll-max-ms", "2000"]


def scripted(postinstall="require('fs').writeFileSync('done.txt', 'ok');\n"):
    return td.benign_files(postinstall)


def plain():
    """A package without install scripts."""
    return {"package.json": json.dumps({"name": "x", "version": "0.0.0", "main": "index.js"}).encode(),
            "index.js": b"module.exports = 1;\n"}


class DistBase(unittest.TestCase):
    def setUp(self):
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-dist-")
        self.tmp = self.tmpd.name
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.reg = fakereg.FakeRegistry()
        self.pg = None

    def tearDown(self):
        for p in reversed(self.procs):
            if p.alive():
                p.stop(signal.SIGKILL if isinstance(p, Runner) else signal.SIGTERM)
        self.reg.close()
        # runners killed mid-scan leave their sandboxes (mounts included): gc, as on a host
        for work in glob.glob(os.path.join(self.tmp, "work-*")):
            subprocess.run([FANGS, "gc", "--work-root", work], capture_output=True, timeout=120)
        if td.DaemonTest._outcome_failed(self) or os.environ.get("FANGS_TEST_LOGS"):
            for p in self.procs:
                sys.stderr.write("---- %s\n%s\n" % (p.log_path, p.text()[-5000:]))
            if self.pg:
                sys.stderr.write("---- postgres\n%s\n" % self.pg.text()[-3000:])
        if self.pg:
            self.pg.close()
        self.tmpd.cleanup()

    def orchestrator(self, name, extra=(), port=None):
        o = Orchestrator(self.tmp, os.path.join(self.tmp, "fangs.db"), extra=list(extra), name=name, port=port,
                         postgres=self.pg.dsn if self.pg else None)
        self.procs.append(o)
        return o

    def runner(self, o, rid):
        r = Runner(self.tmp, o.url, rid, self.reg.url, token=o.runner_token(rid),
                   extra=["--work-root", os.path.join(self.tmp, "work-" + rid)])
        self.procs.append(r)
        return r

    def sql(self, query):
        """Rows of a query, straight from the database."""
        p = subprocess.run([os.path.join(self.pg.bindir, "psql"), "-h", "127.0.0.1", "-p", str(self.pg.port), "-U",
                            "fangs", "-d", "postgres", "-At", "-F", "|", "-c", query],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [line.split("|") for line in p.stdout.splitlines() if line]

    def health(self, o):
        st, raw = o.get("/v1/health")
        return json.loads(raw) if raw else {}


class FollowerTest(DistBase):
    """The follower on its own (SQLite: always the leader): filters,
    deduplication, the position kept across a restart."""

    def runs(self):
        p = subprocess.run([FANGS, "--sqlite-path", os.path.join(self.tmp, "fangs.db"), "--json", "run", "list"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted((r["package"], r["version"]) for r in json.loads(p.stdout))

    def test_filters_dedup_and_position(self):
        pop = os.path.join(self.tmp, "popular.txt")
        with open(pop, "w") as f:
            f.write("# the names we care about\n@corp/a\n@corp/b\n@corp/plain\ntool-cli\nnot-in-feed\n")
        for name in ("@corp/a", "@corp/b", "@other/c", "tool-cli", "tool-lib", "unpopular-cli"):
            self.reg.publish(name, "1.0.0", scripted())
        self.reg.publish("@corp/plain", "1.0.0", plain())
        self.reg.touch("@corp/a")  # a metadata change: same name twice in the feed
        flags = ["--no-watch", "--follow", self.reg.url, "--follow-since", "0", "--follow-interval-ms", "200",
                 "--follow-limit", "3", "--follow-scope", "@corp", "--follow-name", "*-cli",
                 "--follow-install-scripts", "--follow-popular", pop, "--registry", self.reg.url]
        # --no-watch turns the follower off too: it is a watcher
        o = self.orchestrator("orchestrator", flags)
        time.sleep(1)
        self.assertEqual(self.runs(), [])
        self.assertIn("follower: off: --no-watch", o.text())
        self.assertEqual(o.stop(), 0)
        flags.remove("--no-watch")
        o = self.orchestrator("orchestrator2", flags)
        self.assertTrue(self.health(o)["leader"])
        want = [("@corp/a", "1.0.0"), ("@corp/b", "1.0.0"), ("tool-cli", "1.0.0")]
        wait_for(lambda: self.runs() == want, 20, "the followed releases queued")
        wait_for(lambda: o.metrics()["fangs_follow_changes_total"] == 8, 10, "every change read")
        # counted as each page is read, then as it is judged
        wait_for(lambda: o.metrics()["fangs_follow_skipped_total"] >= 4, 10, "the filters applied")
        m = o.metrics()
        # @other/c and tool-lib (no name filter), unpopular-cli (not popular), @corp/plain (no scripts)
        self.assertEqual(m["fangs_follow_skipped_total"], 4)
        self.assertEqual(m["fangs_follow_queued_total"], 3)
        self.assertEqual(m["fangs_leader"], 1)
        # pages of 3: 8 changes in three pages, then the empty page polls
        wait_for(lambda: self.reg.feed_count() >= 4, 10, "the feed polled on")
        # a new version of a followed package; an unpublished one; a version already queued by hand
        self.reg.publish("@corp/a", "1.1.0", scripted())
        self.reg.touch("tool-cli", deleted=True)
        st, raw = o.post("/v1/scans", {"package": "@corp/b", "version": "2.0.0"})
        self.assertEqual(st, 201, raw)
        self.reg.publish("@corp/b", "2.0.0", scripted())
        want = sorted(want + [("@corp/a", "1.1.0"), ("@corp/b", "2.0.0")])
        wait_for(lambda: o.metrics()["fangs_follow_changes_total"] == 11, 10, "the new changes read")
        wait_for(lambda: o.metrics()["fangs_follow_duplicate_total"] == 1, 10, "the version queued by hand seen")
        self.assertEqual(self.runs(), want)
        self.assertEqual(o.stop(), 0)
        # the position is stored: a restart reads on from it, queues nothing again
        self.reg.publish("@corp/a", "1.2.0", scripted())
        before = self.reg.feed_count()
        # this time with the same settings in the configuration file
        conf = os.path.join(self.tmp, "fangs.yaml")
        with open(conf, "w") as f:
            f.write("orchestrator:\n  follow_url: %s\n  follow_since: '0'\n  follow_interval_s: 1\n"
                    "  follow_limit: 3\n  follow_scopes: ['@corp']\n  follow_names: ['*-cli']\n"
                    "  follow_install_scripts: true\n  follow_popular: %s\n" % (self.reg.url, pop))
        o = self.orchestrator("orchestrator3", ["--config", conf, "--registry", self.reg.url])
        self.assertIn("scopes, name patterns, install scripts only, popular list", o.text())
        want = sorted(want + [("@corp/a", "1.2.0")])
        wait_for(lambda: self.runs() == want, 20, "the release published while stopped")
        wait_for(lambda: self.reg.feed_count() > before + 1, 10, "the feed read again")
        self.assertEqual(self.runs(), want)
        self.assertEqual(o.metrics()["fangs_follow_changes_total"], 1)
        # a feed that fails is counted and tried again
        self.reg.feed_down = True
        wait_for(lambda: o.metrics()["fangs_follow_errors_total"] >= 1, 10, "a failed feed read")
        self.reg.feed_down = False
        self.reg.publish("tool-cli", "3.0.0", scripted())
        want = sorted(want + [("tool-cli", "3.0.0")])
        wait_for(lambda: self.runs() == want, 20, "the feed followed again")
        self.assertEqual(o.stop(), 0)


class DistributedTest(DistBase):
    def leader_of(self, orchs):
        leaders = [o for o in orchs if o.alive() and self.health(o).get("leader")]
        return leaders[0] if len(leaders) == 1 else None

    def jobs(self):
        return self.sql("SELECT package, version, state, attempts, runner FROM jobs ORDER BY package, version")

    def all_done(self, n):
        rows = self.jobs()
        return len(rows) == n and all(r[2] == "done" for r in rows)

    def test_two_orchestrators_three_runners(self):
        self.pg = PgServer()
        t0 = time.time()
        names = ["dist-%02d" % i for i in range(30)]
        for n in names:
            self.reg.publish(n, "1.0.0", scripted())
        flags = ["--registry", self.reg.url, "--follow", self.reg.url, "--follow-since", "0",
                 "--follow-interval-ms", "300", "--follow-limit", "10", "--watch-interval-ms", "300",
                 "--leader-interval-ms", str(LEADER_MS)] + HB
        a = self.orchestrator("orch-a", flags)
        wait_for(lambda: self.health(a).get("leader"), 5, "the first orchestrator to lead")
        b = self.orchestrator("orch-b", flags)
        time.sleep(LEADER_MS / 1000.0 * 1.5)
        self.assertFalse(self.health(b)["leader"], "two leaders")
        self.assertTrue(self.health(a)["following"])
        # a package of the watch list (private registries), watched through the standby's database
        p = subprocess.run([FANGS, "--storage", "postgres", "--postgres-dsn", self.pg.dsn, "package", "add", "watched"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        # runners on both: r1, r2 poll the standby, r3 the leader
        runners = {"r1": self.runner(b, "r1"), "r2": self.runner(b, "r2"), "r3": self.runner(a, "r3")}

        # 30 releases from the feed, each scanned once, by runners of both orchestrators
        wait_for(lambda: self.all_done(30), 150 * SLOW, "30 followed releases scanned", step=1)
        rows = self.jobs()
        self.assertEqual(sorted(r[0] for r in rows), names)
        self.assertEqual({r[3] for r in rows}, {"1"}, "a job claimed twice")
        self.assertEqual({r[1] for r in rows}, {"1.0.0"})
        by = {r[4] for r in rows}
        self.assertIn("r3", by)
        self.assertTrue(by & {"r1", "r2"}, "the standby's runners got no job queued by the leader")
        runs = self.sql("SELECT package, state FROM runs")
        self.assertEqual(len(runs), 30)
        self.assertEqual({r[1] for r in runs}, {SUCCEEDED}, runs)
        self.assertEqual(b.metrics()["fangs_follow_queued_total"], 0, "the standby followed")
        self.assertEqual(a.metrics()["fangs_follow_queued_total"], 30)
        t_scans = time.time() - t0

        # a runner killed mid-scan: its job finishes on another, its leftovers go
        self.reg.publish("slowish", "1.0.0", scripted("setTimeout(() => {}, 5000);\n"))
        wait_for(lambda: self.sql("SELECT runner FROM jobs WHERE package = 'slowish' AND state = 'running'"), 60 * SLOW,
                 "the slow scan to start")
        victim = self.sql("SELECT runner FROM jobs WHERE package = 'slowish'")[0][0]
        work = os.path.join(self.tmp, "work-" + victim)
        wait_for(lambda: glob.glob(os.path.join(work, "r*")), 30, "its sandbox")
        time.sleep(1.5)
        runners[victim].stop(signal.SIGKILL)
        leftovers = glob.glob(os.path.join(work, "r*"))
        self.assertTrue(leftovers, "a killed runner leaves its sandbox")
        wait_for(lambda: self.all_done(31), 90 * SLOW, "the killed runner's job done elsewhere", step=0.5)
        slow = self.sql("SELECT attempts, runner FROM jobs WHERE package = 'slowish'")[0]
        self.assertEqual(slow[0], "2")
        self.assertNotEqual(slow[1], victim)
        # the runner back on its host removes what the killed one left
        home = a if victim == "r3" else b
        runners[victim] = self.runner(home, victim)
        wait_for(lambda: "leftover" in runners[victim].text(), 30 * SLOW, "the leftovers removed")
        self.assertRegex(runners[victim].text(), r"removed \d+ leftovers? of killed scans")
        self.assertEqual(glob.glob(os.path.join(work, "r*")), [])
        self.assertEqual(self.sql("SELECT state FROM runs WHERE package = 'slowish'"), [[SUCCEEDED]])

        # kill -9 the leader: the standby leads within one interval, and follows and watches
        a.stop(signal.SIGKILL)
        t_kill = time.time()
        wait_for(lambda: self.health(b).get("leader"), LEADER_MS / 1000.0 + 2, "the standby to lead", step=0.05)
        t_takeover = time.time() - t_kill
        self.assertIn("is the leader now", b.text())
        self.assertTrue(self.health(b)["following"])
        # the killed leader's runner polls it no more: the orchestrator comes back on its port, as standby
        a2 = self.orchestrator("orch-a2", flags, port=a.port)
        self.reg.publish("after-failover", "1.0.0", scripted())
        self.reg.publish("watched", "2.0.0", scripted())
        wait_for(lambda: self.all_done(33), 90 * SLOW, "the releases published after the failover", step=0.5)
        # watched@2.0.0 is both watched and in the feed: whichever of the
        # watcher and the follower comes first queues it, the other finds it
        self.assertEqual(self.sql("SELECT COUNT(*) FROM jobs WHERE package = 'watched' AND version = '2.0.0'"),
                         [["1"]])
        by_watcher = "watcher: watched@2.0.0 is new" in b.text()
        self.assertNotEqual(by_watcher, "follower: watched@2.0.0 is new" in b.text(), b.text())
        self.assertEqual(b.metrics()["fangs_follow_queued_total"], 1 if by_watcher else 2)
        self.assertFalse(self.health(a2)["leader"])

        # PostgreSQL restarts under scans in flight: nothing lost, nothing twice
        for n in ("pg-1", "pg-2", "pg-3"):
            self.reg.publish(n, "1.0.0", scripted("setTimeout(() => {}, 1500);\n"))
        wait_for(lambda: self.sql("SELECT 1 FROM jobs WHERE package LIKE 'pg-%' AND state = 'running'"), 60 * SLOW,
                 "a scan running")
        self.pg.stop("fast")
        self.reg.publish("pg-4", "1.0.0", scripted())  # published while the database is away
        time.sleep(2)
        self.pg.start()
        wait_for(lambda: self.all_done(37), 120 * SLOW, "every scan done after the restart", step=1)
        rows = self.jobs()
        self.assertEqual(len({(r[0], r[1]) for r in rows}), 37)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM runs WHERE state <> " + SUCCEEDED), [["0"]])
        for o in (b, a2):
            self.assertTrue(o.healthy())
        wait_for(lambda: self.leader_of([b, a2]) is not None, 10, "exactly one leader after the restart")
        self.assertTrue(any("reconnected" in o.text() for o in (b, a2)))
        # every run has its events, every batch once
        self.assertEqual(self.sql("SELECT COUNT(*) FROM runs r WHERE NOT EXISTS"
                                  " (SELECT 1 FROM events e WHERE e.run_id = r.id)"), [["0"]])
        sys.stderr.write("distributed: 30 scans in %.1f s; takeover %.2f s after kill -9 (interval %d ms);"
                         " whole test %.1f s\n" % (t_scans, t_takeover, LEADER_MS, time.time() - t0))
        for o in (b, a2):
            self.assertEqual(o.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
