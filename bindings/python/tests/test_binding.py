"""The Python binding against the real library and the bundled recordings."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import fangs  # noqa: E402

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REC = os.path.join(ROOT, "examples", "recordings")


class BindingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def test_version(self):
        self.assertRegex(fangs.version(), r"^\d+\.\d+\.\d+$")

    def test_parse_events_and_errors(self):
        evs = fangs.parse_events('{"kind":"tls_sni","pid":3,"sni":"x.example"}\n')
        self.assertEqual(evs, [{"kind": "tls_sni", "pid": 3, "sni": "x.example"}])
        # events are read through the binding's copy of the event struct: every member must line up
        line = {"kind": "proxy_request", "pid": 4, "host": "github.com", "port": 443, "method": "CONNECT",
                "sni": "github.com", "bytes_out": 517, "bytes_in": 9000, "status": 200, "allowed": True}
        evs = fangs.parse_events(json.dumps(line) + "\n" + json.dumps(line) + "\n")
        self.assertEqual(evs, [line, line])
        with self.assertRaises(fangs.FangsError) as cm:
            fangs.parse_events('{"kind":"tls_sni","pid":3,"sni":"x"}\n{"kind":"nope"}\n', source="rec")
        self.assertIn("rec:line 2", str(cm.exception))
        self.assertEqual(cm.exception.code, -7)

    def test_import_and_diff(self):
        with fangs.Storage(sqlite_path=self.db) as st:
            first = st.import_events(os.path.join(REC, "example-banner-1.0.0.ndjson"), "example-banner", "1.0.0")
            self.assertEqual(first.action, "seeded")
            self.assertEqual(first.deviations, [])
            noise = st.import_events(os.path.join(REC, "example-banner-1.0.1.ndjson"), "example-banner", "1.0.1")
            self.assertEqual(noise.deviations, [])
            self.assertEqual(noise.action, "joined")
            bad = st.import_events(os.path.join(REC, "example-banner-1.1.0.ndjson"), "example-banner", "1.1.0")
            self.assertEqual(bad.action, "pending")
            kinds = {d["kind"] for d in bad.deviations}
            self.assertIn("fs_cred_read", kinds)
            self.assertIn("proc_new_exec", kinds)
            self.assertIn("net_new_dns", kinds)
            self.assertIn("net_new_destination", kinds)
            self.assertIn("net_new_https_host", kinds)
            cred = [d for d in bad.deviations if d["kind"] == "fs_cred_read"]
            self.assertEqual(cred[0]["severity"], "critical")
            self.assertEqual(cred[0]["origin"]["script"], "postinstall")
            self.assertEqual(cred[0]["origin"]["package"], "example-banner")
            self.assertTrue(cred[0]["evidence"])
            runs = st.runs(package="example-banner")
            self.assertEqual(len(runs), 3)
            pending = st.runs(pending_only=True)
            self.assertEqual([r["id"] for r in pending], [bad.run_id])
            self.assertEqual(len(st.events(bad.run_id)), 36)
            critical = [d for d in bad.deviations if d["severity"] == "critical"]
            self.assertIn("rule:cred-read-by-script", {d["kind"] for d in critical})
            self.assertEqual(len(st.deviations(run_id=bad.run_id, min_severity="critical")), len(critical))
            st.promote(bad.run_id)
            self.assertEqual(st.deviations(run_id=bad.run_id), [])
            self.assertTrue(st.run(bad.run_id)["is_baseline"])
            self.assertEqual(st.run(bad.run_id)["review"], "promoted")
            # promote adds: the earlier baseline runs stay in it
            self.assertEqual(len(st.runs(package="example-banner", baseline_only=True)), 3)
            st.promote(bad.run_id, replace=True)
            self.assertEqual([r["id"] for r in st.runs(package="example-banner", baseline_only=True)],
                             [bad.run_id])

    def test_missing_run_raises(self):
        with fangs.Storage(sqlite_path=self.db) as st:
            with self.assertRaises(fangs.FangsError) as cm:
                st.run("does-not-exist")
            self.assertEqual(cm.exception.code, -4)


if __name__ == "__main__":
    unittest.main()
