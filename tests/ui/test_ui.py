"""The web UI in a real browser: headless chromium (Debian's) driven by
puppeteer-core (pinned in package-lock.json, installed by scripts/setup)
against fangs-orchestrator on loopback and against `fangs ui`, both on a
fixture database. Screenshots go to meson-logs/ui-screenshots."""

import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemons"))
sys.path.insert(0, HERE)

import daemons  # noqa: E402
import fixtures  # noqa: E402

BUILD = os.environ.get("FANGS_BUILD_ROOT", "build")
SHOTS = os.path.join(BUILD, "meson-logs", "ui-screenshots")


def browser(case):
    env = dict(os.environ, FANGS_UI_CASE=json.dumps(case))
    p = subprocess.run(["node", os.path.join(HERE, "browser.js")], env=env, capture_output=True, text=True,
                       timeout=600)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    return p.returncode == 0


class Receiver:
    """A webhook receiver on loopback: the bodies of the POSTs it got."""

    def __init__(self):
        got = self.got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def stopped(proc):
    """Stops a daemon; 1 when it exited 0 (under ASan: no leak, no error)."""
    rc = proc.stop()
    if rc != 0:
        print("%s exited %s:\n%s" % (proc.log_path, rc, proc.text()[-4000:]))
    return rc == 0


class FangsUI(daemons.Proc):
    def __init__(self, tmp, db):
        super().__init__([daemons.FANGS, "ui", "--db", db], os.path.join(tmp, "fangs-ui.log"))
        m = daemons.wait_for(lambda: re.search(r"(http://127\.0\.0\.1:\d+)/ui/#token=(\S+)", self.text()), 10,
                             "fangs ui to print its address")
        self.base, self.token = m.group(1), m.group(2)


def main():
    chromium = shutil.which("chromium")
    if not chromium or not os.path.isdir(os.path.join(HERE, "node_modules", "puppeteer-core")):
        print("FAIL: the browser test needs Debian's chromium and tests/ui/node_modules (run scripts/setup)")
        return 1
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    ok = True
    tmp = tempfile.mkdtemp(prefix="fangs-ui-")
    try:
        db = os.path.join(tmp, "fangs.db")
        t0 = time.time()
        # notifier messages link to <public_url>/runs/ID: here, the orchestrator's address
        port = daemons.free_port()
        cfg = os.path.join(tmp, "fangs.yaml")
        with open(cfg, "w") as f:
            f.write("notifier:\n  public_url: http://127.0.0.1:%d/\n" % port)
        fixtures.CONFIG[:] = ["--config", cfg]
        hook = Receiver()
        try:
            ids = fixtures.populate(db, tmp, hook=hook.url)
        finally:
            hook.close()
        print("fixture: %s (%.1fs)" % (ids, time.time() - t0))
        links = {m.get("version"): m.get("url") for m in hook.got}
        print("notifier messages: %d, links %s" % (len(hook.got), links))
        ok &= bool(links.get("1.1.0"))

        orch = daemons.Orchestrator(tmp, db, port=port)
        try:
            reader = daemons.make_token(orch.tokens_file, "reader", "ui-reader")
            # a runner that registered, and a job queued for a runner that never comes
            st, _ = orch.post("/v1/runners/register", {"runner_id": "ui-runner"}, headers=orch.as_runner("ui-runner"))
            ok &= st in (200, 201)
            orch.submit("ui-queued", "1.0.0", runner="absent-runner")
            ok &= browser({"mode": "orchestrator", "base": orch.url, "operator": orch.token, "reader": reader,
                           "run": ids["demo-1.1.0"], "pending": ids["demo-1.2.0"], "deviating": 2,
                           "link": links.get("1.1.0"),
                           "shots": SHOTS, "chromium": chromium})
            # a page's own files need no credential; they say so to caches
            st, raw = orch.get("/ui/runs/" + ids["demo-1.1.0"], auth=False)
            ok &= st == 200 and b"/ui/assets/app.js" in raw
            # a notifier's link, <public_url>/runs/ID, leads to the run's page
            c = http.client.HTTPConnection("127.0.0.1", orch.port, timeout=30)
            c.request("GET", "/runs/" + ids["demo-1.1.0"])
            r = c.getresponse()
            print("GET /runs/ID: %d Location %s" % (r.status, r.getheader("Location")))
            ok &= r.status == 302 and r.getheader("Location") == "/ui/runs/" + ids["demo-1.1.0"]
            c.close()
        finally:
            ok &= stopped(orch)

        # fangs ui never creates a database
        missing = os.path.join(tmp, "none.db")
        p = subprocess.run([daemons.FANGS, "ui", "--db", missing], capture_output=True, text=True, timeout=30)
        print("fangs ui --db missing: exit %d: %s" % (p.returncode, p.stderr.strip()))
        ok &= p.returncode == 1 and not os.path.exists(missing)
        p = subprocess.run([daemons.FANGS, "ui", "--listen", "0.0.0.0:0", "--db", db], capture_output=True,
                           text=True, timeout=30)
        print("fangs ui --listen 0.0.0.0:0: exit %d: %s" % (p.returncode, p.stderr.strip()))
        ok &= p.returncode == 2

        ui = FangsUI(tmp, db)
        try:
            ok &= browser({"mode": "fangs-ui", "base": ui.base, "operator": ui.token, "reader": None,
                           "run": ids["demo-1.2.0"], "pending": ids["demo-1.2.0"], "deviating": 1, "shots": SHOTS,
                           "chromium": chromium})
        finally:
            rc = ui.stop(sig=2)
            print("fangs ui stopped by SIGINT: exit %s" % rc)
            ok &= rc == 0

        # no authentication: the browser's writes go with the CSRF cookie and header
        ids["demo-1.3.0"] = fixtures.import_run(db, tmp, fixtures.recording("ui-demo", "1.3.0", evil=2))
        orch = daemons.Orchestrator(tmp, db, auth="none", name="orchestrator-noauth")
        try:
            ok &= browser({"mode": "no-auth", "csrf": True, "base": orch.url, "run": ids["demo-1.3.0"],
                           "shots": SHOTS, "chromium": chromium})
        finally:
            ok &= stopped(orch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


sys.exit(main())
