"""examples/deploy/systemd: the units pass `systemd-analyze verify`
(offline, in a scratch root holding this build's daemons where the units
expect them), the orchestrator's sandboxing rates "OK" with `systemd-analyze
security`, the runner keeps the capabilities docs/deploy.md lists and none
of the options that would blind its sensor, and the environment files name
only variables the daemons read."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("FANGS_BUILD_ROOT", os.path.join(ROOT, "build"))
UNITS = os.path.join(ROOT, "examples", "deploy", "systemd")
ORCH = os.environ.get("FANGS_ORCHESTRATOR_BIN", os.path.join(BUILD, "tools", "fangs-orchestrator", "fangs-orchestrator"))
RUNNER = os.environ.get("FANGS_RUNNER_BIN", os.path.join(BUILD, "tools", "fangs-runner", "fangs-runner"))
SYSTEM_UNITS = "/usr/lib/systemd/system"

# what docs/deploy.md says a runner needs, and tests/deploy/test_images.py
# gives the runner's container (from the unit)
RUNNER_CAPS = {"CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER",
               "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_PTRACE", "CAP_NET_ADMIN", "CAP_NET_RAW"}
# a seccomp filter is inherited by the sandbox and refuses calls before the
# syscall tracepoints see them; some hide parts of /proc or /dev, after which
# the sandbox may not mount its own /proc; a user namespace of the service's
# own (DynamicUser, PrivateUsers) takes BPF away
BLINDING = ["SystemCallFilter", "SystemCallArchitectures", "RestrictNamespaces", "RestrictAddressFamilies",
            "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "ProtectClock",
            "ProtectKernelModules", "ProtectHostname", "PrivateDevices", "ProtectKernelTunables",
            "ProtectKernelLogs", "ProtectProc", "ProcSubset", "DynamicUser", "PrivateUsers"]


def directives(path):
    """[(key, value)] of a unit file, comments and blank lines left out."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            out.append((k.strip(), v.strip()))
    return out


def env_names(binary):
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"FANGS_[A-Z_]+", p.stdout))


class Units(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("systemd-analyze"):
            raise AssertionError("systemd-analyze is missing (scripts/setup installs systemd)")
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-units-")
        cls.root = cls.tmpd.name
        # the scratch root: the system's own units (targets the ours order
        # against), ours, and this build's daemons where ExecStart finds them
        os.makedirs(os.path.join(cls.root, "usr", "lib", "systemd"))
        shutil.copytree(SYSTEM_UNITS, os.path.join(cls.root, "usr", "lib", "systemd", "system"), symlinks=True)
        os.makedirs(os.path.join(cls.root, "etc", "systemd", "system"))
        for name, binary in (("fangs-orchestrator.service", ORCH), ("fangs-runner.service", RUNNER)):
            shutil.copy(os.path.join(UNITS, name), os.path.join(cls.root, "etc", "systemd", "system", name))
            exe = [v for k, v in directives(os.path.join(UNITS, name)) if k == "ExecStart"][0].split()[0]
            dest = os.path.join(cls.root, exe.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(binary, dest)

    @classmethod
    def tearDownClass(cls):
        cls.tmpd.cleanup()

    def verify(self, *units):
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=" + self.root] + list(units),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, (p.stdout + p.stderr).strip()

    def test_units_verify_clean(self):
        rc, out = self.verify("fangs-orchestrator.service", "fangs-runner.service")
        self.assertEqual((rc, out), (0, ""))

    def test_verify_sees_a_mistake(self):
        """What systemd would ignore with a warning fails here."""
        path = os.path.join(self.root, "etc", "systemd", "system", "fangs-broken.service")
        with open(os.path.join(UNITS, "fangs-orchestrator.service")) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("ProtectSystem=strict", "ProtectSytem=strict"))
        try:
            rc, out = self.verify("fangs-broken.service")
        finally:
            os.unlink(path)
        self.assertIn("Unknown key", out)

    def exposure(self, unit):
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--root=" + self.root, "--no-pager",
                            unit], capture_output=True, text=True, timeout=120)
        m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), p.stdout + p.stderr)
        self.assertTrue(m, p.stdout + p.stderr)
        return float(m.group(1))

    def test_orchestrator_is_sandboxed(self):
        d = dict(directives(os.path.join(UNITS, "fangs-orchestrator.service")))
        self.assertEqual(d["DynamicUser"], "yes")
        self.assertEqual(d["CapabilityBoundingSet"], "")
        self.assertEqual(d["ProtectSystem"], "strict")
        e = self.exposure("fangs-orchestrator.service")
        print("orchestrator exposure %.1f, runner exposure %.1f" % (e, self.exposure("fangs-runner.service")))
        self.assertLessEqual(e, 2.0)

    def test_runner_keeps_what_it_needs(self):
        d = directives(os.path.join(UNITS, "fangs-runner.service"))
        caps = [v for k, v in d if k == "CapabilityBoundingSet"]
        self.assertEqual(len(caps), 1)
        self.assertEqual(set(caps[0].split()), RUNNER_CAPS)
        keys = {k for k, _ in d}
        self.assertEqual(sorted(keys & set(BLINDING)), [])
        self.assertIn(("User", "root"), d)

    def test_environment_files_name_what_the_daemons_read(self):
        for env, binary, unit in (("orchestrator.env.example", ORCH, "fangs-orchestrator.service"),
                                  ("runner.env.example", RUNNER, "fangs-runner.service")):
            known = env_names(binary)
            with open(os.path.join(UNITS, unit)) as f:
                unit_text = f.read()
            names = []
            with open(os.path.join(UNITS, env)) as f:
                for line in f:
                    m = re.match(r"#?(FANGS_[A-Z_]+)=", line.strip())
                    if m:
                        names.append(m.group(1))
            self.assertTrue(names)
            for n in names:
                with self.subTest(env=env, name=n):
                    # the *_ARGS are the unit's own, expanded in ExecStart
                    self.assertTrue(n in known or ("$" + n) in unit_text, n)
            self.assertIn("EnvironmentFile=/etc/fangs/" + env.replace(".example", ""), unit_text)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + ["-v"] + sys.argv[1:])
