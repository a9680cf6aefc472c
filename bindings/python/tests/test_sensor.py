"""The binding's scan and trace, for real: as root, with the eBPF sensor,
the sandbox, and a registry on loopback (tests/fixtures/registry).

    python3 test_sensor.py TraceTest     (a few seconds)
    python3 test_sensor.py ScanTest      (scans in the ns sandbox)
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))

import fangs  # noqa: E402
from fake_registry import FakeRegistry  # noqa: E402


def need_root():
    if os.geteuid() != 0:
        raise RuntimeError("the sensor needs root: run these tests as root")


class TraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_root()
        fangs.check_sensor()

    def test_events_of_a_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            marker = os.path.join(tmp, "written-by-child")
            t = fangs.trace([pathlib.Path("/bin/sh"), "-c", "cat /etc/hostname >/dev/null; echo x > %s; exit 3" % marker],
                            stdout=subprocess.DEVNULL)
            events = list(t)
        self.assertEqual(t.returncode, 3)
        self.assertTrue(events)
        self.assertTrue(all(isinstance(e, fangs.Event) for e in events))
        self.assertEqual({e.run for e in events}, {t.run_id})
        execs = [e for e in events if e.kind == "exec"]
        self.assertIn("/usr/bin/cat", [e.path for e in execs])
        cat = next(e for e in execs if e.path == "/usr/bin/cat")
        self.assertEqual(cat.argv, ["cat", "/etc/hostname"])
        opens = [e for e in events if e.kind == "file_open"]
        self.assertIn("/etc/hostname", [e.path for e in opens if e.flags == "r"])
        self.assertIn(marker, [e.path for e in opens if e.flags and "w" in e.flags])
        exits = [e for e in events if e.kind == "process_exit"]
        self.assertIn(3, [e.exit_code for e in exits])
        # the dataclass and the library's JSON line say the same
        d = cat.to_dict()
        self.assertEqual((d["kind"], d["path"], d["pid"], d["argv"]), ("exec", cat.path, cat.pid, cat.argv))
        self.assertIn("/usr/bin/cat", cat.summary)
        self.assertIsNotNone(t.stats)
        self.assertGreaterEqual(t.stats.emitted, len(events))
        self.assertEqual(t.stats.dropped, 0)

    def test_leaving_early_ends_the_command(self):
        start = time.monotonic()
        t = fangs.trace(["sh", "-c", "sleep 0.2; exec sleep 60"])
        for ev in t:
            if ev.kind == "exec" and ev.path and ev.path.endswith("/sleep"):
                break
        t.close()
        self.assertLess(time.monotonic() - start, 30, "the traced command outlived the loop")
        self.assertIsNotNone(t.returncode)
        self.assertNotEqual(t.returncode, 0)

    def test_missing_command(self):
        with self.assertRaises(FileNotFoundError):
            fangs.trace(["/nonexistent/tool"])

    def test_probes(self):
        with fangs.Sensor() as s:
            probes = s.probes()
        self.assertTrue(probes)
        live = {p.name for p in probes if p.live}
        self.assertIn("raw_tp/sched_process_exec", live)
        self.assertTrue(any("openat" in n for n in live), live)


class ScanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_root()
        cls.registry = FakeRegistry().start()
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-pyscan-")
        cls.db = os.path.join(cls.tmp.name, "fangs.db")
        cls.config = fangs.Config(text="registry: %s\n" % cls.registry.url)

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()

    def test_scan_stores_and_judges(self):
        phases = []
        with fangs.Storage(self.db, config=self.config) as st:
            seed = st.scan("banner@1.0.0", progress=lambda phase, n, detail: phases.append(phase))
            self.assertIsInstance(seed, fangs.ScanResult)
            self.assertEqual((seed.state, seed.baseline, seed.exit_code), ("succeeded", "seeded", 0))
            self.assertEqual(seed.run.package, "banner")
            self.assertEqual(seed.run.version, "1.0.0")
            self.assertEqual(seed.run.sandbox, "ns")
            self.assertTrue(seed.run.is_baseline)
            for p in ("prefetch", "prepare", "install", "store", "analyze"):
                self.assertIn(p, phases)
            self.assertLess(phases.index("install"), phases.index("analyze"))
            events = st.events(seed.run_id)
            self.assertTrue(any(e.kind == "exec" and e.origin and e.origin.script == "postinstall" for e in events))

            bad = st.scan("banner@2.0.0")
            self.assertEqual(bad.baseline, "pending")
            found = {(d.kind, d.value, d.severity) for d in bad.deviations}
            self.assertIn(("fs_cred_read", "~/.npmrc", "critical"), found)
            self.assertIn(("rule:cred-read-by-script", "~/.npmrc", "critical"), found)
            cred = next(d for d in bad.deviations if d.kind == "fs_cred_read")
            self.assertEqual(cred.origin.package, "banner")
            self.assertEqual(cred.origin.script, "postinstall")
            ev = st.evidence(cred)
            self.assertTrue(ev and ev[0].decoy and ev[0].decoy.endswith("/.npmrc"), ev)
            self.assertEqual([r.id for r in st.pending()], [bad.run_id])

    def test_missing_package_directory(self):
        with fangs.Storage(":memory:", config=self.config) as st:
            with self.assertRaises(fangs.FileNotFound):
                st.scan("./no-such-package-dir")
            with self.assertRaises(fangs.Error) as cm:
                st.scan("no-such-package-anywhere@1.0.0")
            self.assertIn("no-such-package-anywhere", str(cm.exception))
            self.assertEqual(st.runs(), [], "a scan that failed before the install left a run")

    def test_stream(self):
        stream = fangs.scan_stream("benign@1.0.0", config=self.config)
        seen = []
        for ev in stream:
            seen.append(ev)
        self.assertTrue(seen)
        self.assertTrue(any(e.kind == "exec" and e.origin and e.origin.package == "benign" for e in seen))
        self.assertEqual(stream.result.state, "succeeded")
        self.assertIsNone(stream.result.run)
        self.assertEqual({e.run for e in seen}, {stream.run_id})


if __name__ == "__main__":
    unittest.main()
