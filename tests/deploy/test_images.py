"""The daemons' container images, built from this build by
scripts/build-images and run with dockerd as docs/deploy.md says: an
orchestrator container (unprivileged, PostgreSQL outside it) and a runner
container with the capabilities of examples/deploy/systemd/fangs-runner.service
and the host paths of the Kubernetes DaemonSet. The runner registers, scans
two releases of a package from a registry on loopback, the events reach the
database and the second release's new behaviour is found and attributed. A
runner container missing one of the things a runner needs stops at once and
says which.

The images are cached by content: a second build of an unchanged tree
imports nothing."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("FANGS_BUILD_ROOT", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemons"))
import docker_daemon  # noqa: E402
import fakereg  # noqa: E402
import pgserver  # noqa: E402
from daemons import FANGS, free_port, make_token, wait_for  # noqa: E402
from test_daemons import NEW_EXEC, benign_files  # noqa: E402

# one tag per build directory: an ASan build's images do not replace the others'
TAG = "deploy-test-" + "".join(c if c.isalnum() or c in "_.-" else "-" for c in os.path.basename(
    os.path.abspath(BUILD)))
NAME = "fangs-deploy-test-%d" % os.getpid()
UNIT = os.path.join(ROOT, "examples", "deploy", "systemd", "fangs-runner.service")
FINISHED = ("succeeded", "failed", "timed_out")


class Docker(docker_daemon.DockerDaemon):
    """The test dockerd; these tests need no sandbox image."""

    def _ensure_image(self):
        pass


def daemonset_kernel_mounts():
    """(host path, container path) of the runner DaemonSet's hostPath
    volumes under /sys: what the kernel side needs from the node."""
    import yaml
    with open(os.path.join(ROOT, "examples", "deploy", "kubernetes", "runner.yaml")) as f:
        ds = [d for d in yaml.safe_load_all(f) if d and d["kind"] == "DaemonSet"][0]
    spec = ds["spec"]["template"]["spec"]
    host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    out = [(host[m["name"]], m["mountPath"]) for m in spec["containers"][0]["volumeMounts"]
           if m["name"] in host and host[m["name"]].startswith("/sys/")]
    assert ("/sys/fs/cgroup", "/sys/fs/cgroup") in out, out
    return out


def unit_capabilities():
    with open(UNIT) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return [c[len("CAP_"):] for c in line.split("=", 1)[1].split()]
    raise AssertionError("no CapabilityBoundingSet in " + UNIT)


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cleanup = []
        try:
            cls._set_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _set_up(cls):
        cls.docker = Docker(ROOT).start()
        cls.cleanup.append(cls.docker.stop)
        cls.env = cls.docker.env()
        cls.build_lines, cls.build_s = cls.build_images()
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-deploy-")
        cls.cleanup.append(cls.tmpd.cleanup)
        cls.tmp = cls.tmpd.name
        os.chmod(cls.tmp, 0o755)
        cls.reg = fakereg.FakeRegistry()
        cls.cleanup.append(cls.reg.close)
        cls.reg.publish("benign", "1.0.0", benign_files())
        cls.reg.publish("benign", "1.0.1", benign_files(postinstall=NEW_EXEC))
        cls.pg = pgserver.PgServer()
        cls.cleanup.append(cls.pg.close)
        # the tokens file goes to the orchestrator's user, as an operator would give it
        cls.tokens = os.path.join(cls.tmp, "tokens")
        cls.op = make_token(cls.tokens, "operator", "deploy-operator")
        # every runner's token before the orchestrator starts: its container
        # holds the file it was started with (a bind mount of that inode)
        cls.runner_tokens = {rid: cls.token_file(rid) for rid in (
            "deploy-r1", "deploy-nocg", "deploy-nocap", "deploy-proc", "deploy-seccomp")}
        os.chown(cls.tokens, 65532, 65532)
        cls.port = free_port()
        cls.url = "http://127.0.0.1:%d" % cls.port
        cls.run_container("orch", [
            "--network", "host",
            "-v", "%s:/etc/fangs/tokens:ro" % cls.tokens,
            "-e", "FANGS_ORCHESTRATOR_LISTEN=127.0.0.1:%d" % cls.port,
            "-e", "FANGS_POSTGRES_DSN=" + cls.pg.dsn,
            "-e", "FANGS_TOKENS_FILE=/etc/fangs/tokens",
            "-e", "FANGS_REGISTRY=" + cls.reg.url,
        ], "fangs-orchestrator:" + TAG, ["--no-watch", "--heartbeat-timeout-ms", "20000"])
        wait_for(cls.healthy, 30, "the orchestrator container to answer")

    @classmethod
    def tearDownClass(cls):
        for name in getattr(cls, "containers", []):
            subprocess.run(["docker", "rm", "-f", name], env=cls.env, capture_output=True, timeout=60)
        for fn in reversed(cls.cleanup):
            try:
                fn()
            except Exception as e:  # keep cleaning up
                sys.stderr.write("cleanup: %s\n" % e)
        cls.cleanup = []

    # ---- helpers ----------------------------------------------------------

    @classmethod
    def build_images(cls):
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(ROOT, "scripts", "build-images"), "--build-dir", BUILD, "--tag", TAG],
                           env=cls.env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise AssertionError("scripts/build-images failed:\n" + p.stdout + p.stderr)
        lines = p.stdout.split("\n")
        return [line.split() for line in lines if line.strip()], time.monotonic() - t0

    @classmethod
    def token_file(cls, rid):
        token = make_token(cls.tokens, "runner", "runner-" + rid, runner=rid)
        path = os.path.join(cls.tmp, "token-" + rid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (token + "\n").encode())
        os.close(fd)
        return path

    @classmethod
    def run_container(cls, suffix, opts, image, args):
        name = "%s-%s" % (NAME, suffix)
        cls.containers = getattr(cls, "containers", []) + [name]
        asan = ["-e", "ASAN_OPTIONS=" + os.environ["ASAN_OPTIONS"]] if os.environ.get("ASAN_OPTIONS") else []
        p = subprocess.run(["docker", "run", "-d", "--name", name] + asan + opts + [image] + args, env=cls.env,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("docker run %s: %s" % (name, p.stderr))
        return name

    @classmethod
    def logs(cls, name):
        p = subprocess.run(["docker", "logs", name], env=cls.env, capture_output=True, text=True, timeout=60)
        return p.stdout + p.stderr

    @classmethod
    def inspect(cls, name, fmt):
        p = subprocess.run(["docker", "inspect", "-f", fmt, name], env=cls.env, capture_output=True, text=True,
                           timeout=60)
        return p.stdout.strip()

    @classmethod
    def request(cls, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(cls.url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + cls.op})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    @classmethod
    def healthy(cls):
        try:
            return cls.request("GET", "/v1/health")[0] == 200
        except OSError:
            if cls.inspect("%s-orch" % NAME, "{{.State.Running}}") != "true":
                raise AssertionError("the orchestrator container stopped:\n" + cls.logs("%s-orch" % NAME))
            return False

    def runners(self):
        st, body = self.request("GET", "/v1/runners")
        self.assertEqual(st, 200)
        return {r["id"]: r for r in body}

    def fangs(self, *args):
        p = subprocess.run([FANGS, "--postgres-dsn", self.pg.dsn, "--json"] + list(args), capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def scan(self, version):
        st, body = self.request("POST", "/v1/scans", {"package": "benign", "version": version})
        self.assertEqual(st, 201, body)
        run_id = body["run_id"]
        orch = "%s-orch" % NAME

        def judged():
            if self.fangs("run", "show", run_id)["state"] not in FINISHED:
                return False
            return ("run %s analysed" % run_id) in self.logs(orch)
        wait_for(judged, 120, "run %s of benign@%s" % (run_id, version), step=0.5)
        return self.fangs("run", "show", run_id)

    def runner_opts(self, rid, token, caps=None, seccomp=True, cgroup=True, proc=True):
        """docker run options of a runner container as docs/deploy.md gives
        them; the arguments take one of them away."""
        opts = ["--network", "host", "--pid", "host", "--cap-drop", "ALL"]
        for c in (self.capabilities() if caps is None else caps):
            opts += ["--cap-add", c]
        if proc:
            opts += ["--security-opt", "systempaths=unconfined"]
        if seccomp:
            opts += ["--security-opt", "seccomp=unconfined"]
        for host, inside in daemonset_kernel_mounts():
            if cgroup or host != "/sys/fs/cgroup":
                opts += ["-v", "%s:%s" % (host, inside)]
        opts += ["-v", "%s:/etc/fangs/runner.token:ro" % token,
                 "-e", "FANGS_TOKEN_FILE=/etc/fangs/runner.token",
                 "-e", "FANGS_ORCHESTRATOR=" + self.url,
                 "-e", "FANGS_RUNNER_ID=" + rid,
                 "-e", "FANGS_REGISTRY=" + self.reg.url]
        return opts

    @classmethod
    def capabilities(cls):
        """The unit's capabilities. A dockerd that predates CAP_BPF and
        CAP_PERFMON refuses their names: CAP_SYS_ADMIN, in the set too,
        grants what they grant."""
        if not hasattr(cls, "_caps"):
            caps = unit_capabilities()
            p = subprocess.run(["docker", "run", "--rm", "--network", "none", "--cap-drop", "ALL", "--cap-add", "BPF",
                                "--entrypoint", "/usr/bin/true", "fangs-runner:" + TAG], env=cls.env,
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0 and "unknown capability" in p.stderr:
                caps = [c for c in caps if c not in ("BPF", "PERFMON")]
                sys.stderr.write("dockerd does not know CAP_BPF and CAP_PERFMON: given CAP_SYS_ADMIN only\n")
            cls._caps = caps
        return cls._caps

    # ---- tests ------------------------------------------------------------

    def test_images_are_built_and_cached(self):
        p = subprocess.run([os.path.join(ROOT, "scripts", "build-images"), "--help"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0)
        self.assertIn("scripts/build-images [--build-dir DIR]", p.stdout)
        names = {line[0]: line for line in self.build_lines}
        self.assertEqual(set(names), {"fangs-orchestrator:" + TAG, "fangs-runner:" + TAG})
        for line in self.build_lines:
            self.assertIn(line[2], ("built", "cached"))
        again, again_s = self.build_images()
        print("images: first build %.1f s (%s), again %.1f s" % (
            self.build_s, ", ".join("%s %s" % (n[0], n[2]) for n in self.build_lines), again_s))
        self.assertEqual([(n[0], n[1], n[2]) for n in again],
                         [(n[0], n[1], "cached") for n in self.build_lines])
        for image in names:
            p = subprocess.run(["docker", "image", "inspect", "-f", "{{json .Config}}", image], env=self.env,
                               capture_output=True, text=True, timeout=60)
            cfg = json.loads(p.stdout)
            self.assertIn("fangs.content", cfg["Labels"])
        p = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", "fangs-orchestrator:" + TAG,
                            "fangs-runner:" + TAG], env=self.env, capture_output=True, text=True, timeout=60)
        print("image sizes (bytes): orchestrator %s, runner %s" % tuple(p.stdout.split()))

    def test_orchestrator_container_is_unprivileged(self):
        orch = "%s-orch" % NAME
        self.assertEqual(self.inspect(orch, "{{.Config.User}}"), "65532:65532")
        pid = self.inspect(orch, "{{.State.Pid}}")
        with open("/proc/%s/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        self.assertEqual(status["Uid"].split()[:2], ["65532", "65532"])
        self.assertEqual(int(status["CapEff"].strip(), 16), 0)
        st, health = self.request("GET", "/v1/health")
        self.assertEqual((st, health["storage"], health["storage_status"]), (200, "postgres", "ok"))

    def test_runner_container_scans(self):
        name = self.run_container("r1", self.runner_opts("deploy-r1", self.runner_tokens["deploy-r1"]),
                                  "fangs-runner:" + TAG,
                                  ["--duration-ms", "60000"])
        try:
            wait_for(lambda: "deploy-r1" in self.runners(), 60, "the runner container to register")
            r = self.runners()["deploy-r1"]
            self.assertEqual((r["state"], r["cn"]), ("up", "token:runner-deploy-r1"))
            first = self.scan("1.0.0")
            self.assertEqual(first["state"], "succeeded", first.get("error"))
            self.assertEqual(first["runner"], "deploy-r1")
            self.assertGreater(first["event_count"], 100)
            self.assertEqual(first["events_dropped"], 0)
            self.assertTrue(first["is_baseline"])
            second = self.scan("1.0.1")
            self.assertEqual(second["state"], "succeeded", second.get("error"))
            execs = [f for f in second["findings"] if f["kind"] == "proc_new_exec"]
            self.assertEqual([f["value"] for f in execs], ["/usr/bin/id"], second["findings"])
            # attributed by the sensor to the package's lifecycle script
            origin = execs[0]["origin"]
            self.assertEqual((origin["package"], origin["version"], origin["script"]),
                             ("benign", "1.0.1", "postinstall"))
            self.assertEqual(execs[0]["actor"], "script")
            p = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}",
                                name, "%s-orch" % NAME], env=self.env, capture_output=True, text=True, timeout=60)
            print("scans in the runner container: %.1f s and %.1f s (install + import, in the sandbox); "
                  "%d and %d events; memory after them: %s" % (
                      first["duration_ns"] / 1e9, second["duration_ns"] / 1e9, first["event_count"],
                      second["event_count"], "; ".join(p.stdout.strip().split("\n"))))
            # SIGTERM: it stops, status 0 (and, built with ASan, leaks nothing)
            self.stop_cleanly(name)
        except BaseException:
            sys.stderr.write("---- runner container\n%s\n---- orchestrator container\n%s\n" % (
                self.logs(name)[-6000:], self.logs("%s-orch" % NAME)[-4000:]))
            raise

    def stop_cleanly(self, name):
        subprocess.run(["docker", "stop", "-t", "60", name], env=self.env, capture_output=True, timeout=120)
        log = self.logs(name)
        self.assertEqual(self.inspect(name, "{{.State.ExitCode}}"), "0", log[-3000:])
        self.assertNotIn("Sanitizer", log)

    def test_z_orchestrator_stops_cleanly(self):
        """Last (tests run in name order): SIGTERM, status 0."""
        orch = "%s-orch" % NAME
        self.stop_cleanly(orch)
        self.assertIn("info: stopped", self.logs(orch))

    def refused(self, suffix, rid, opts_kw, message):
        name = self.run_container(suffix, self.runner_opts(rid, self.runner_tokens[rid], **opts_kw),
                                  "fangs-runner:" + TAG, [])
        wait_for(lambda: self.inspect(name, "{{.State.Running}}") == "false", 60, "runner %s to stop" % rid)
        self.assertEqual(self.inspect(name, "{{.State.ExitCode}}"), "1")
        log = self.logs(name)
        self.assertIn(message, log)
        self.assertNotIn("registered", log)
        self.assertNotIn(rid, self.runners())
        return log

    def test_runner_without_what_it_needs_says_so(self):
        # no cgroup hierarchy of the host (docker's own has no cgroup2 on a v1/hybrid host)
        self.refused("nocg", "deploy-nocg", {"cgroup": False},
                     "this machine cannot run the sensor: no cgroup2 file system is mounted")
        # no CAP_SYS_ADMIN (nor CAP_BPF): no BPF map
        self.refused("nocap", "deploy-nocap",
                     {"caps": [c for c in self.capabilities() if c not in ("SYS_ADMIN", "BPF", "PERFMON")]},
                     "this machine cannot run the sensor: creating a BPF map was refused")
        # docker's masked /proc paths: no proc mount in a user namespace
        self.refused("proc", "deploy-proc", {"proc": False},
                     "this machine cannot run the ns sandbox: a user namespace made here may not mount /proc")
        # docker's default seccomp profile refuses pivot_root
        self.refused("seccomp", "deploy-seccomp", {"seccomp": False},
                     "this machine cannot run the ns sandbox: pivot_root is refused here")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + ["-v"] + sys.argv[1:])
