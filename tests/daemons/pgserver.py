"""A private PostgreSQL server for daemon tests: initdb in a temporary
directory (trust authentication, loopback, a free port), started and
stopped with pg_ctl as the postgres user when run as root."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from daemons import free_port


def _bindir():
    env = os.environ.get("FANGS_TEST_PG_BINDIR")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server programs under /usr/lib/postgresql (install postgresql)")
    return os.path.dirname(found[-1])


class PgServer:
    def __init__(self):
        self.bindir = _bindir()
        self.dir = tempfile.mkdtemp(prefix="fangs-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "fangs", "-E", "UTF8", "--locale=C", "-N")
        self.start()
        self.dsn = "host=127.0.0.1 port=%d user=fangs dbname=postgres" % self.port

    def _demote(self):
        if self.user:
            os.setgroups([])
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)

    def _run(self, prog, *args):
        with open(os.path.join(self.dir, "setup.log"), "ab") as log:
            subprocess.run([os.path.join(self.bindir, prog)] + list(args), stdout=log, stderr=subprocess.STDOUT,
                           preexec_fn=self._demote, check=True, timeout=120)

    def start(self):
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" % (self.port,
                                                                                                  self.dir)
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", opts, "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def close(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
