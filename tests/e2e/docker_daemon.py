"""A docker daemon for the docker-backend tests and benchmarks, with the
sandbox image in it.

The daemon named by DOCKER_HOST, or the machine's own at /var/run/docker.sock,
is used when it answers. Otherwise a private dockerd is started on its own
socket, data root and exec root (so that it meets no other daemon of this
machine), with no bridge and no iptables rules (scans use network none), and
it is stopped again by stop(). Its data root is kept between runs so that
the image is built once.

    d = DockerDaemon(source_root)
    d.start()              # raises RuntimeError naming what failed
    env["DOCKER_HOST"] = d.host
    ...
    d.stop()
"""

import ctypes
import os
import signal
import socket
import subprocess
import time

PRIVATE_ROOT = "/var/lib/fangs-test-docker"
PRIVATE_RUN = "/run/fangs-test-docker"
IMAGE = "fangs-sandbox:latest"


def _answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False
    finally:
        s.close()


def _die_with_parent():
    # PR_SET_PDEATHSIG: a test runner killed at its timeout takes the daemon along
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    os.setsid()


class DockerDaemon:
    def __init__(self, source_root, image=IMAGE):
        self.source_root = source_root
        self.image = image
        self.proc = None
        self.socket = None
        self.log_path = os.path.join(PRIVATE_ROOT, "dockerd.log")

    @property
    def host(self):
        return "unix://" + self.socket

    def env(self):
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        return e

    def start(self, wait_s=60):
        given = os.environ.get("DOCKER_HOST", "")
        if given.startswith("unix://") and _answers(given[7:]):
            self.socket = given[7:]
        elif _answers("/var/run/docker.sock"):
            self.socket = "/var/run/docker.sock"
        else:
            self._start_private(wait_s)
        self._ensure_image()
        return self

    def _start_private(self, wait_s):
        os.makedirs(PRIVATE_ROOT, exist_ok=True)
        os.makedirs(PRIVATE_RUN, exist_ok=True)
        self.socket = os.path.join(PRIVATE_RUN, "docker.sock")
        pidfile = os.path.join(PRIVATE_RUN, "dockerd.pid")
        if _answers(self.socket):
            return  # left running by an earlier, killed run: use it
        if os.path.exists(pidfile):
            os.unlink(pidfile)  # its daemon is gone (the socket does not answer)
        try:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    ["dockerd", "--data-root", os.path.join(PRIVATE_ROOT, "root"), "--exec-root",
                     os.path.join(PRIVATE_RUN, "exec"), "--pidfile", pidfile, "-H", "unix://" + self.socket,
                     "--bridge", "none", "--iptables=false", "--ip6tables=false",
                     "--exec-opt", "native.cgroupdriver=cgroupfs"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
        except FileNotFoundError:
            raise RuntimeError("dockerd is not installed (scripts/setup installs docker.io)")
        deadline = time.monotonic() + wait_s
        while not _answers(self.socket):
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited with %d; see %s" % (self.proc.returncode, self.log_path))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dockerd did not answer within %d s; see %s" % (wait_s, self.log_path))
            time.sleep(0.1)

    def _ensure_image(self):
        env = self.env()
        if subprocess.run(["docker", "image", "inspect", self.image], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            return
        p = subprocess.run([os.path.join(self.source_root, "scripts", "build-sandbox-image"), self.image],
                           env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("scripts/build-sandbox-image failed: %s" % p.stderr.strip()[-2000:])

    def containers(self):
        """Names of the containers the daemon holds (running or not)."""
        p = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], env=self.env(), capture_output=True,
                           text=True, check=True)
        return p.stdout.split()

    def stop(self):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
