"""`fangs scan` for real (sandbox + eBPF sensor, needs root): the first run
of a package that reads a key and leaves a process behind is held with rule
findings; the first run of an ordinary package seeds its baseline."""

import json
import os
import subprocess
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")

STEALER = r"""
const fs = require('fs'), os = require('os');
try { fs.readFileSync(os.homedir() + '/.ssh/id_rsa'); } catch (e) {}
require('child_process').spawn('sleep', ['2'], { detached: true, stdio: 'ignore' }).unref();
"""

ORDINARY = r"""
const fs = require('fs'), path = require('path');
fs.writeFileSync(path.join(__dirname, '.installed'), 'ok\n');
console.log('thank you for installing');
"""


def package(root, name, script):
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": name, "version": "1.0.0", "license": "MIT",
                   "scripts": {"postinstall": "node post.js"}}, f)
    with open(os.path.join(d, "post.js"), "w") as f:
        f.write(script)
    return d


class ScanRulesTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("fangs scan needs root (cgroups, namespaces, eBPF)")
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")

    def tearDown(self):
        self.tmp.cleanup()

    def scan(self, spec, code):
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "--json", "scan", "--duration", "60000", spec],
                           capture_output=True, text=True, timeout=240)
        self.assertEqual(p.returncode, code, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr))
        return json.loads(p.stdout)[0]

    def test_first_run_judged(self):
        bad = self.scan(package(self.tmp.name, "first-stealer", STEALER), 3)
        kinds = {d["kind"]: d for d in bad["deviations"] if d["kind"].startswith("rule:")}
        self.assertIn("rule:cred-read-by-script", kinds, bad)
        self.assertEqual(kinds["rule:cred-read-by-script"]["value"], "~/.ssh/id_rsa")
        self.assertEqual(kinds["rule:cred-read-by-script"]["origin"]["script"], "postinstall")
        self.assertIn("rule:detached-process", kinds, bad)
        self.assertIn("sleep 2", kinds["rule:detached-process"]["value"])
        self.assertEqual(bad["baseline"], "pending")

        good = self.scan(package(self.tmp.name, "first-ordinary", ORDINARY), 0)
        self.assertEqual([d for d in good["deviations"] if d["severity"] not in ("info", "low")], [], good)
        self.assertEqual(good["baseline"], "seeded")


if __name__ == "__main__":
    unittest.main()
