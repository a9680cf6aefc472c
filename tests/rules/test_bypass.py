"""`fangs scan` for real (ns sandbox, eBPF sensor, fake registry on loopback,
as root) against releases written by someone who read the rules: each
fixture's 1.0.0 is harmless and its 1.1.0 does one thing the rules once
missed. Every 1.1.0 must be a finding on its own (the package's first run)
and after 1.0.0 seeded the baseline.

Fixtures (tests/fixtures/packages/bp-*): bp-registry (asks for the
registry's name, then connects to a TEST-NET address), bp-rename (a program
written under one name, renamed into a shipped directory and run, then moved
to ~/.local/bin and run), bp-loader
(run through ld.so), bp-interp (sh FILE, node FILE), bp-memfd (a program run
from a memfd), bp-compile (compiled into the package and run), bp-inline (an
inline postinstall whose code is hex: 1.0.1 the same code, 1.1.0 new code).
Payloads aim only at TEST-NET addresses and run only in the sandbox.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))

from fake_registry import FakeRegistry  # noqa: E402

SCAN_TIMEOUT = 240
EXIT_FINDINGS = 3


def home(path):
    """The sandbox's user has a person's name: its home as "~"."""
    return re.sub(r"^(/root|/home/[^/]+)/", "~/", path)


class Bypasses(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF): run the e2e tests as root")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-bypass-")
        cls.registry = FakeRegistry().start()

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()

    def scan(self, db, spec, code, registry=None):
        p = subprocess.run([FANGS, "--sqlite-path", os.path.join(self.tmp.name, db), "--json", "scan", "--quiet",
                            "--sandbox", "ns", "--registry", registry or self.registry.url, spec],
                           capture_output=True, text=True, timeout=SCAN_TIMEOUT)
        self.assertEqual(p.returncode, code, "fangs scan %s\nstdout: %s\nstderr: %s" %
                         (spec, p.stdout[-4000:], p.stderr[-4000:]))
        out = json.loads(p.stdout)[0]
        self.assertEqual(out["run"]["state"], "succeeded", out["run"])
        return out

    def hits(self, out, rule):
        return [d for d in out["deviations"] if d["kind"] == "rule:" + rule]

    def caught(self, package, rule, severity, check, registry=None):
        """1.1.0 hits `rule` cold and after 1.0.0 seeded the baseline;
        `check(values)` looks at what the hits say."""
        name = package + ".db"
        seed = self.scan("warm-" + name, package + "@1.0.0", 0, registry)
        self.assertEqual(seed["baseline"], "seeded")
        self.assertEqual(self.hits(seed, rule), [])
        for db in ("cold-" + name, "warm-" + name):
            out = self.scan(db, package + "@1.1.0", EXIT_FINDINGS, registry)
            hits = self.hits(out, rule)
            self.assertTrue(hits, "%s in %s: no %s in %s" % (package, db, rule, out["deviations"]))
            self.assertEqual({h["severity"] for h in hits}, {severity})
            self.assertEqual({h["origin"]["script"] for h in hits}, {"postinstall"})
            check([h["value"] for h in hits])
            self.assertEqual(out["baseline"], "pending")

    def test_registry_name_then_elsewhere(self):
        # the registry is "localhost": the script asks for that name, and
        # the connection after it is still judged by its address
        url = self.registry.url.replace("127.0.0.1", "localhost")
        self.caught("bp-registry", "script-network-not-registry", "high",
                    lambda v: self.assertEqual(v, ["203.0.113.9:443/tcp"]), registry=url)

    def test_renamed_program(self):
        self.caught("bp-rename", "dropped-binary-exec", "high",
                    lambda v: self.assertEqual(sorted(home(x) for x in v), ["~/.local/bin/bp-helper",
                                                                          "~/app/node_modules/bp-rename/lib/helper"]))

    def test_dynamic_loader(self):
        self.caught("bp-loader", "dropped-binary-exec", "high",
                    lambda v: self.assertEqual(v, ["/lib64/ld-linux-x86-64.so.2 ./payload"]))

    def test_interpreters(self):
        self.caught("bp-interp", "dropped-binary-exec", "high",
                    lambda v: self.assertEqual(sorted(v), ["/usr/bin/node /tmp/bp-interp.js",
                                                           "sh /tmp/bp-interp.sh"]))

    def test_memfd(self):
        def check(v):
            self.assertEqual(len(v), 1, v)
            self.assertTrue(v[0].startswith("/memfd:bp (deleted)") or v[0].startswith("/proc/self/fd/"), v)
        self.caught("bp-memfd", "fileless-exec", "critical", check)

    def test_compiled_program(self):
        self.caught("bp-compile", "dropped-binary-exec", "high",
                    lambda v: self.assertEqual([home(x) for x in v], ["~/app/node_modules/bp-compile/prog"]))

    def test_inline_payload(self):
        seed = self.scan("inline.db", "bp-inline@1.0.0", 0)
        self.assertEqual(seed["baseline"], "seeded")
        # the same code in the next release: nothing new
        bump = self.scan("inline.db", "bp-inline@1.0.1", 0)
        self.assertEqual(bump["deviations"], [])
        self.assertEqual(bump["baseline"], "joined")
        # new code behind the same <hex>: new exec fingerprints (medium:
        # held for review, below scan's default --fail-on high)
        new = self.scan("inline.db", "bp-inline@1.1.0", 0)
        execs = {d["value"].split(" ")[0]: d for d in new["deviations"] if d["kind"] == "proc_new_exec"}
        self.assertEqual(sorted(execs), ["/usr/bin/node", "/usr/bin/sh"], new["deviations"])
        for d in execs.values():
            self.assertIn("eval(Buffer.from('<hex>','hex').toString())", d["value"])
            self.assertRegex(d["value"], r" code#[0-9a-f]{12}$")
            self.assertEqual(d["severity"], "medium")
        self.assertEqual(new["baseline"], "pending")


if __name__ == "__main__":
    unittest.main()
