"""The read and review API of docs/api.md against a real orchestrator on
loopback: every endpoint on imported recordings, paging, filters, bad
parameters, roles, --public-reads and CSRF."""

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemons import FANGS, Orchestrator, bearer, csrf, fangs, free_port, make_token, run_of, wait_for  # noqa: E402
import fakereg  # noqa: E402

ROOT = os.environ["FANGS_SOURCE_ROOT"]
REC = os.path.join(ROOT, "examples", "recordings")


def rec(v):
    return os.path.join(REC, "example-banner-%s.ndjson" % v)


def wait_tls_up(o, health):
    """Until `health()` (the status of GET /v1/health) is 200; an
    orchestrator that exited meanwhile fails with its log."""
    def up():
        try:
            return health() == 200
        except OSError:
            if not o.alive():
                raise AssertionError("orchestrator exited:\n" + o.text())
            return False
    wait_for(up, 10, "the orchestrator over TLS")


def cli(*args, code=0):
    p = subprocess.run([FANGS] + list(args), capture_output=True, text=True, timeout=60)
    assert p.returncode == code, "fangs %s -> %d: %s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr)
    return p


def seed(db):
    """example-banner 1.0.0, 1.0.1 (baseline), 1.1.0 (critical, pending);
    other 1..8 (1 seeds, the rest alternate clean and critical); a
    notifier whose receiver is down, so that deliveries fail; allowlist
    entries. Returns the run ids by (package, version)."""
    runs = {}
    fangs(db, "notifier", "add", "--name", "chat", "--url", "http://127.0.0.1:%d/hook" % free_port(),
          "--template", "generic", "--header", "X-Team: s3cr3t-value", "--min-severity", "high")

    def imp(path, pkg, ver, code=0):
        p = subprocess.run([FANGS, "--sqlite-path", db, "--json", "events", "import", path, "--package", pkg,
                            "--version", ver], capture_output=True, text=True, timeout=60)
        assert p.returncode == code, p.stderr
        runs[(pkg, ver)] = json.loads(p.stdout)["run"]["id"]

    imp(rec("1.0.0"), "example-banner", "1.0.0")
    imp(rec("1.0.1"), "example-banner", "1.0.1")
    imp(rec("1.1.0"), "example-banner", "1.1.0", code=3)
    for i in range(1, 9):
        bad = i > 1 and i % 2 == 0
        imp(rec("1.1.0" if bad else "1.0.0"), "other", "%d.0.0" % i, code=3 if bad else 0)
    fangs(db, "allow", "add", "--kind", "dns", "--value", "example.invalid", "--package", "other", "--note", "ok")
    fangs(db, "allow", "add", "--kind", "path", "--value", "/tmp/", "--note", "global")
    fangs(db, "package", "add", "example-banner")
    p = subprocess.run([FANGS, "--sqlite-path", db, "--json", "notifier", "deliver"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode in (0, 1), p.stderr
    return runs


class WebApiTest(unittest.TestCase):
    """One orchestrator with tokens (operator, reader, runner) on seeded data."""

    @classmethod
    def setUpClass(cls):
        cls.tmpd = tempfile.TemporaryDirectory(prefix="fangs-webapi-")
        cls.tmp = cls.tmpd.name
        cls.db = os.path.join(cls.tmp, "fangs.db")
        cls.runs = seed(cls.db)
        cls.o = Orchestrator(cls.tmp, cls.db, extra=["--no-watch"])
        cls.reader = make_token(cls.o.tokens_file, "reader", "reader-1")
        cls.runner = make_token(cls.o.tokens_file, "runner", "runner-1", runner="runner-1")

    @classmethod
    def tearDownClass(cls):
        rc = cls.o.stop()
        log = cls.o.text()
        cls.tmpd.cleanup()
        assert rc == 0, log

    def get(self, path, token=None, code=200, **params):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = bearer(token) if token else None
        st, raw = self.o.get(path, headers=headers)
        self.assertEqual(st, code, "%s -> %d: %s" % (path, st, raw[:500]))
        return json.loads(raw) if raw else None

    def call(self, method, path, body=None, token=None, code=200, headers=None):
        h = dict(headers or {})
        if token:
            h.update(bearer(token))
        st, raw = self.o.request(method, path, body, headers=h)
        self.assertEqual(st, code, "%s %s -> %d: %s" % (method, path, st, raw[:500]))
        return json.loads(raw) if raw else None

    def bad(self, path, param, **params):
        """400 naming the parameter."""
        d = self.get(path, code=400, **params)
        self.assertIn('"%s"' % param, d["error"])

    def test_run_same_as_cli(self):
        rid = self.runs[("example-banner", "1.1.0")]
        cli_run = fangs(self.db, "run", "show", rid)
        d = self.get("/v1/runs/" + rid)
        for key, value in d["run"].items():
            self.assertEqual(cli_run[key], value, key)
        self.assertEqual(set(d["run"]), set(cli_run) - {"deviations", "findings", "counts", "install_output",
                                                         "events"})
        self.assertEqual(d["findings"], cli_run["findings"])
        self.assertEqual(d["counts"], cli_run["counts"])
        self.assertEqual(d["deviations"], cli_run["deviations"])
        self.assertEqual(d["install_output"], cli_run["install_output"])
        self.assertEqual(d["run"]["max_severity"], "critical")
        self.assertEqual(d["stats"]["events"], d["run"]["event_count"])
        # the findings' evidence comes along
        wanted = {e for f in d["findings"] for e in f["evidence"]}
        self.assertTrue(wanted)
        self.assertEqual({e["id"] for e in d["evidence_events"]}, wanted)
        self.get("/v1/runs/r-no-such-run", code=404)
        self.get("/v1/runs/bad%20id", code=400)

    def test_overview(self):
        d = self.get("/v1/overview")
        self.assertEqual(d["packages_watched"], 1)
        self.assertEqual(set(d["queue"]), {"queued", "running", "done", "failed"})
        self.assertIsInstance(d["runners"], list)
        self.assertEqual(set(d["recent_findings"]), {"critical", "high", "medium", "low", "info"})
        self.assertGreater(d["recent_findings"]["critical"], 0)
        pending = {r["id"] for r in d["pending"]}
        self.assertIn(self.runs[("example-banner", "1.1.0")], pending)
        self.assertTrue(all(r["review"] == "pending" for r in d["pending"]))

    def test_packages(self):
        d = self.get("/v1/packages")
        self.assertEqual({p["name"] for p in d["packages"]}, {"example-banner", "other"})
        d = self.get("/v1/packages", watched="1")
        self.assertEqual([p["name"] for p in d["packages"]], ["example-banner"])
        self.bad("/v1/packages", "watched", watched="yes")
        d = self.get("/v1/packages/other")
        self.assertEqual(d["package"]["name"], "other")
        self.assertEqual(d["package"]["run_count"], 8)
        self.assertEqual(len(d["releases"]), 8)
        for rel in d["releases"]:
            self.assertEqual(len(rel["runs"]), 1)
            self.assertEqual(rel["runs"][0]["version"], rel["version"])
            self.assertEqual(rel["runs"][0]["id"], self.runs[("other", rel["version"])])
        self.assertGreater(d["baseline"]["fingerprints"], 0)
        self.assertIn(self.runs[("other", "1.0.0")], d["baseline"]["runs"])
        self.get("/v1/packages/never-seen", code=404)
        self.get("/v1/packages/Bad%20Name", code=400)

    def test_runs_paging(self):
        everything = self.get("/v1/runs", limit="1000")["runs"]
        self.assertTrue(set(self.runs.values()) <= {r["id"] for r in everything})
        n = len(everything)
        for limit in (1, 3, 4, n, 50):
            seen, cursor, pages = [], None, 0
            while True:
                params = {"limit": str(limit)}
                if cursor:
                    params["cursor"] = cursor
                d = self.get("/v1/runs", **params)
                self.assertLessEqual(len(d["runs"]), limit)
                seen += [r["id"] for r in d["runs"]]
                cursor = d["next_cursor"]
                pages += 1
                if cursor is None:
                    break
            self.assertEqual(seen, [r["id"] for r in everything], limit)
            self.assertEqual(len(set(seen)), len(seen))
            self.assertEqual(pages, max(1, -(-n // limit)))
        created = [(r["created_ns"], r["id"]) for r in everything]
        self.assertEqual(created, sorted(created, reverse=True))

    def test_runs_filters(self):
        seeded = set(self.runs.values())

        def ids(**params):
            # the runs seeded (another test queues one more)
            return {r["id"] for r in self.get("/v1/runs", limit="1000", **params)["runs"]} & seeded
        other = {v for (p, _), v in self.runs.items() if p == "other"}
        self.assertEqual(ids(package="other"), other)
        self.assertEqual(ids(package="nobody"), set())
        self.assertEqual(ids(state="succeeded"), set(self.runs.values()))
        self.assertEqual(ids(state="failed"), set())
        pending = {self.runs[("other", "%d.0.0" % i)] for i in (2, 4, 6, 8)} | {self.runs[("example-banner", "1.1.0")]}
        self.assertEqual(ids(review="pending"), pending)
        self.assertEqual(ids(min_severity="critical"), pending)
        self.assertEqual(ids(min_severity="info"), pending)
        self.assertEqual(ids(review="pending", package="example-banner"), {self.runs[("example-banner", "1.1.0")]})
        everything = self.get("/v1/runs", limit="1000")["runs"]
        mid = sorted(r["created_ns"] for r in everything)[5]
        self.assertEqual(ids(since=str(mid)), {r["id"] for r in everything if r["created_ns"] >= mid} & seeded)
        self.assertEqual(ids(until=str(mid)), {r["id"] for r in everything if r["created_ns"] < mid} & seeded)
        self.assertEqual(ids(since="2000-01-01"), set(self.runs.values()))
        self.assertEqual(ids(since="0"), set(self.runs.values()))
        self.assertEqual(ids(until="2000-01-01T00:00:00Z"), set())
        for param, value in (("state", "done-ish"), ("review", "maybe"), ("min_severity", "severe"),
                             ("since", "yesterday"), ("until", "2026-13-45"), ("since", "99999999999999999999"), ("limit", "0"), ("limit", "1001"),
                             ("limit", "ten"), ("cursor", "garbage")):
            self.bad("/v1/runs", param, **{param: value})

    def test_events(self):
        rid = self.runs[("example-banner", "1.1.0")]
        run = self.get("/v1/runs/" + rid)["run"]
        seen, cursor = [], None
        while True:
            params = {"limit": "7"}
            if cursor:
                params["cursor"] = cursor
            d = self.get("/v1/runs/%s/events" % rid, **params)
            seen += d["events"]
            cursor = d["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), run["event_count"])
        self.assertEqual([e["id"] for e in seen], sorted({e["id"] for e in seen}))
        self.assertTrue(all(e["run"] == rid for e in seen))
        execs = self.get("/v1/runs/%s/events" % rid, kind="exec")["events"]
        self.assertEqual([e["id"] for e in execs], [e["id"] for e in seen if e["kind"] == "exec"])
        pid = execs[-1]["pid"]
        mine = self.get("/v1/runs/%s/events" % rid, pid=str(pid))["events"]
        self.assertEqual([e["id"] for e in mine], [e["id"] for e in seen if e["pid"] == pid])
        conn = [e for e in seen if e["kind"] == "net_connect"][0]
        hits = self.get("/v1/runs/%s/events" % rid, q=conn["addr"])["events"]
        self.assertIn(conn["id"], [e["id"] for e in hits])
        self.assertTrue(all(conn["addr"] in json.dumps(e) for e in hits))
        self.assertEqual(self.get("/v1/runs/%s/events" % rid, q="no-such-text-anywhere")["events"], [])
        self.bad("/v1/runs/%s/events" % rid, "kind", kind="teleport")
        self.bad("/v1/runs/%s/events" % rid, "pid", pid="-3")
        self.bad("/v1/runs/%s/events" % rid, "limit", limit="5000")
        self.bad("/v1/runs/%s/events" % rid, "cursor", cursor="abc")
        self.get("/v1/runs/r-no-such-run/events", code=404)

    def test_tree(self):
        rid = self.runs[("example-banner", "1.1.0")]
        d = self.get("/v1/runs/%s/tree" % rid)
        self.assertFalse(d["truncated"])
        nodes = {n["pid"]: n for n in d["nodes"]}
        self.assertEqual(len(d["roots"]), 1)
        root = nodes[d["roots"][0]]
        self.assertIn("npm-cli.js", root["cmdline"])
        self.assertIsNone(root["origin"])
        # every child is a node whose ppid is its parent
        for n in d["nodes"]:
            for c in n["children"]:
                self.assertEqual(nodes[c]["ppid"], n["pid"])
        scripts = [n for n in d["nodes"] if n["origin"]]
        self.assertTrue(scripts)
        self.assertTrue(all(n["origin"]["package"] == "example-banner" and n["origin"]["script"] == "postinstall"
                            for n in scripts))
        # counts add up to the run's events; deviating processes are marked
        events = self.get("/v1/runs/%s/events" % rid, limit="1000")["events"]
        self.assertEqual(sum(sum(n["counts"].values()) for n in d["nodes"]), len(events))
        for n in d["nodes"]:
            self.assertEqual(n["counts"].get("exec", 0),
                             len([e for e in events if e["pid"] == n["pid"] and e["kind"] == "exec"]))
        self.assertTrue(any(n["deviates"] for n in d["nodes"]))
        self.assertTrue(all(n["deviates"] == (n["deviations"] > 0) for n in d["nodes"]))
        # the filter keeps matching processes and their ancestors, no other
        def with_ancestors(pids):
            out = set()
            for p in pids:
                while p in nodes and p not in out:
                    out.add(p)
                    p = nodes[p]["ppid"]
            return out
        sizes = {}
        for kind in ("net_connect", "file_open", "exec"):
            f = self.get("/v1/runs/%s/tree" % rid, kind=kind)
            matching = {e["pid"] for e in events if e["kind"] == kind}
            self.assertEqual({n["pid"] for n in f["nodes"]}, with_ancestors(matching), kind)
            self.assertEqual({n["pid"] for n in f["nodes"] if n["matched"]}, matching, kind)
            sizes[kind] = len(f["nodes"])
        self.assertLess(sizes["file_open"], len(nodes))
        host = [e for e in events if e["kind"] == "dns_query"][0]["qname"]
        q = self.get("/v1/runs/%s/tree" % rid, q=host)
        self.assertTrue(any(n["matched"] for n in q["nodes"]))
        self.assertEqual(self.get("/v1/runs/%s/tree" % rid, q="nothing-matches-this")["nodes"], [])
        capped = self.get("/v1/runs/%s/tree" % rid, max="1")
        self.assertEqual(len(capped["nodes"]), 1)
        self.assertTrue(capped["truncated"])
        self.bad("/v1/runs/%s/tree" % rid, "kind", kind="teleport")
        self.bad("/v1/runs/%s/tree" % rid, "max", max="0")
        self.get("/v1/runs/r-no-such-run/tree", code=404)

    def test_baselines(self):
        total = self.get("/v1/baselines/other")["total"]
        self.assertGreater(total, 3)
        seen, cursor = [], None
        while True:
            params = {"limit": "3"}
            if cursor:
                params["cursor"] = cursor
            d = self.get("/v1/baselines/other", **params)
            seen += [(f["kind"], f["actor"], f["value"]) for f in d["fingerprints"]]
            cursor = d["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), total)
        self.assertEqual(len(set(seen)), total)
        self.get("/v1/baselines/never-seen", code=404)
        self.bad("/v1/baselines/other", "cursor", cursor="x")

    def test_notifiers_and_history(self):
        d = self.get("/v1/notifiers")
        self.assertEqual([n["name"] for n in d["notifiers"]], ["chat"])
        self.assertEqual(d["notifiers"][0]["headers"], {"X-Team": "(hidden)"})
        self.assertNotIn("s3cr3t", json.dumps(d))
        h = self.get("/v1/notifications")["notifications"]
        self.assertTrue(h)
        self.assertTrue(all(n["notifier"] == "chat" for n in h))
        statuses = {n["status"] for n in h}
        one = sorted(statuses)[0]
        only = self.get("/v1/notifications", status=one)["notifications"]
        self.assertTrue(only and all(n["status"] == one for n in only))
        self.assertEqual(len(self.get("/v1/notifications", limit="1")["notifications"]), 1)
        self.get("/v1/notifications", notifier="nobody", code=404)
        self.bad("/v1/notifications", "status", status="lost")

    def test_runners_and_jobs(self):
        self.assertEqual(self.get("/v1/runners"), [])
        st, raw = self.o.post("/v1/scans", {"package": "example-banner", "version": "9.9.9"})
        self.assertEqual(st, 201, raw)
        job = json.loads(raw)
        q = self.get("/v1/jobs", state="queued")["jobs"]
        self.assertIn(job["run_id"], [j["run_id"] for j in q])
        self.assertEqual(self.get("/v1/jobs", state="done")["jobs"], [])
        self.assertIn(job["run_id"], [j["run_id"] for j in self.get("/v1/jobs")["jobs"]])
        self.bad("/v1/jobs", "state", state="stuck")
        # the queued run fails by hand, so that other tests see a steady set
        st, raw = self.o.post("/v1/runs/%s/fail" % job["run_id"], {})
        self.assertEqual(st, 200, raw)

    def test_allowlist_writes(self):
        d = self.get("/v1/allowlist")
        self.assertEqual({e["value"] for e in d["entries"]}, {"example.invalid", "/tmp/"})
        d = self.get("/v1/allowlist", package="example-banner")
        self.assertEqual({e["value"] for e in d["entries"]}, {"/tmp/"})  # global ones only
        new = self.call("POST", "/v1/allowlist", {"kind": "sni", "value": "cdn.example.invalid",
                                                    "package": "example-banner", "note": "from the UI"},
                        code=201)["entry"]
        self.assertEqual((new["kind"], new["package"], new["note"]), ("sni", "example-banner", "from the UI"))
        got = {e["id"]: e for e in self.get("/v1/allowlist", package="example-banner")["entries"]}
        self.assertEqual(got[new["id"]]["value"], "cdn.example.invalid")
        self.call("DELETE", "/v1/allowlist/%d" % new["id"])
        self.call("DELETE", "/v1/allowlist/%d" % new["id"], code=404)
        self.call("DELETE", "/v1/allowlist/abc", code=400)
        for body, word in (({"kind": "teleport", "value": "x"}, "kind"), ({"kind": "dns"}, "value"),
                           ({"kind": "dns", "value": 3}, "value"), (b"not json", "JSON"),
                           ({"kind": "dns", "value": "x", "package": "Bad Name"}, "package")):
            d = self.call("POST", "/v1/allowlist", body, code=400)
            self.assertIn(word, d["error"])
        # readers read, and may not write
        self.get("/v1/allowlist", token=self.reader)
        d = self.call("POST", "/v1/allowlist", {"kind": "dns", "value": "x.invalid"}, token=self.reader, code=403)
        self.assertIn("operator", d["error"])

    def test_watch_and_promote(self):
        self.call("PUT", "/v1/packages/other/watch")
        self.assertEqual({p["name"] for p in self.get("/v1/packages", watched="1")["packages"]},
                         {"example-banner", "other"})
        self.call("DELETE", "/v1/packages/other/watch")
        self.assertEqual([p["name"] for p in self.get("/v1/packages", watched="1")["packages"]], ["example-banner"])
        self.call("DELETE", "/v1/packages/never-seen/watch", code=404)
        self.call("PUT", "/v1/packages/Bad%20Name/watch", code=400)
        self.call("PUT", "/v1/packages/other/watch", token=self.reader, code=403)
        self.call("POST", "/v1/packages/other/watch", code=405)

        rid = self.runs[("other", "8.0.0")]
        self.call("POST", "/v1/runs/%s/promote" % rid, token=self.reader, code=403)
        self.call("POST", "/v1/runs/%s/promote" % rid, token=self.runner, code=403)
        st, raw = self.o.request("POST", "/v1/runs/%s/promote" % rid, auth=False)
        self.assertEqual(st, 401, raw)
        self.assertEqual(self.get("/v1/runs/" + rid)["run"]["review"], "pending")
        d = self.call("POST", "/v1/runs/%s/promote" % rid)
        self.assertEqual(d["promoted"], rid)
        self.assertEqual(d["run"]["review"], "promoted")
        run = self.get("/v1/runs/" + rid)
        self.assertEqual(run["run"]["review"], "promoted")
        self.assertEqual(run["findings"], [])
        self.assertNotIn(rid, {r["id"] for r in self.get("/v1/runs", review="pending")["runs"]})
        self.call("POST", "/v1/runs/r-no-such-run/promote", code=404)
        self.call("POST", "/v1/runs/%s/promote" % rid, b"[1]", code=400)
        self.assertIn("promoted by token test-operator", self.o.text())

    def test_authorization(self):
        for path in ("/v1/overview", "/v1/runs", "/v1/packages", "/v1/runners", "/v1/jobs", "/v1/notifiers"):
            st, _ = self.o.get(path, auth=False)
            self.assertEqual(st, 401, path)
            self.get(path, token=self.reader)
            st, _ = self.o.get(path, headers=bearer(self.runner))
            self.assertEqual(st, 403, path)
        # CSRF needs nothing; the unknown and the wrong method are told apart
        self.assertEqual(self.o.get("/v1/csrf", auth=False)[0], 200)
        self.get("/v1/nothing-here", code=404)
        self.call("DELETE", "/v1/runs", code=405)
        # a bearer token is never attached by a browser: no CSRF token needed,
        # but a foreign Origin is refused whatever the credential
        d = self.call("PUT", "/v1/packages/other/watch", headers={"Origin": "https://evil.example"}, code=403)
        self.assertIn("Origin", d["error"])
        self.call("DELETE", "/v1/packages/other/watch", headers={"Origin": self.o.url})


class PublicReadsTest(unittest.TestCase):
    def test_public_reads(self):
        with tempfile.TemporaryDirectory(prefix="fangs-webapi-pub-") as tmp:
            db = os.path.join(tmp, "fangs.db")
            subprocess.run([FANGS, "--sqlite-path", db, "events", "import", rec("1.0.0"), "--package", "p",
                            "--version", "1.0.0"], check=True, capture_output=True, timeout=60)
            o = Orchestrator(tmp, db, extra=["--no-watch", "--public-reads"])
            try:
                st, raw = o.get("/v1/runs", auth=False)
                self.assertEqual(st, 200, raw)
                rid = json.loads(raw)["runs"][0]["id"]
                for path in ("/v1/overview", "/v1/runs/" + rid, "/v1/runs/%s/tree" % rid, "/v1/packages/p"):
                    self.assertEqual(o.get(path, auth=False)[0], 200, path)
                # writes still need the operator, and the older endpoints a credential
                self.assertEqual(o.request("PUT", "/v1/packages/p/watch", auth=False)[0], 401)
                self.assertEqual(o.request("POST", "/v1/runs/%s/promote" % rid, auth=False)[0], 401)
                self.assertEqual(o.get("/metrics", auth=False)[0], 401)
                self.assertEqual(o.request("PUT", "/v1/packages/p/watch")[0], 200)
                self.assertIn("--public-reads", o.text())
            finally:
                self.assertEqual(o.stop(), 0)
            # the same from the configuration file; without either, reads need a credential
            cfg = os.path.join(tmp, "fangs.yaml")
            with open(cfg, "w") as f:
                f.write("orchestrator:\n  public_reads: true\n")
            o = Orchestrator(tmp, db, extra=["--no-watch", "--config", cfg], name="orch-config")
            try:
                self.assertEqual(o.get("/v1/runs", auth=False)[0], 200)
                self.assertEqual(o.request("PUT", "/v1/packages/p/watch", auth=False)[0], 401)
            finally:
                self.assertEqual(o.stop(), 0)
            o = Orchestrator(tmp, db, extra=["--no-watch"], name="orch-closed")
            try:
                self.assertEqual(o.get("/v1/runs", auth=False)[0], 401)
            finally:
                self.assertEqual(o.stop(), 0)


class CsrfNoAuthTest(unittest.TestCase):
    """--insecure-no-auth: anyone may write, but a browser page of another
    site must not, so writes carry the double-submitted token."""

    def test_double_submit(self):
        with tempfile.TemporaryDirectory(prefix="fangs-webapi-csrf-") as tmp:
            db = os.path.join(tmp, "fangs.db")
            subprocess.run([FANGS, "--sqlite-path", db, "events", "import", rec("1.0.0"), "--package", "p",
                            "--version", "1.0.0"], check=True, capture_output=True, timeout=60)
            o = Orchestrator(tmp, db, extra=["--no-watch"], auth="none")
            try:
                req = urllib.request.Request(o.url + "/v1/csrf")
                with urllib.request.urlopen(req, timeout=10) as r:
                    cookie = r.headers["Set-Cookie"]
                    token = json.loads(r.read())["csrf"]
                self.assertRegex(cookie, r"^fangs_csrf=[0-9a-f]{64}; Path=/; SameSite=Strict$")
                self.assertEqual(cookie.split(";")[0], "fangs_csrf=" + token)
                jar = {"Cookie": "theme=dark; fangs_csrf=" + token}
                st, raw = o.request("PUT", "/v1/packages/p/watch")
                self.assertEqual(st, 403, raw)
                self.assertIn("X-Fangs-CSRF", json.loads(raw)["error"])
                st, _ = o.request("PUT", "/v1/packages/p/watch", headers=dict(jar, **{"X-Fangs-CSRF": "0" * 64}))
                self.assertEqual(st, 403)
                st, _ = o.request("PUT", "/v1/packages/p/watch", headers={"X-Fangs-CSRF": token})
                self.assertEqual(st, 403)
                st, _ = o.request("PUT", "/v1/packages/p/watch",
                                  headers=dict(jar, **{"X-Fangs-CSRF": token, "Origin": "http://evil.example"}))
                self.assertEqual(st, 403)
                st, raw = o.request("PUT", "/v1/packages/p/watch",
                                    headers=dict(jar, **{"X-Fangs-CSRF": token, "Origin": o.url}))
                self.assertEqual(st, 200, raw)
                st, raw = o.request("PUT", "/v1/packages/p/watch", headers=dict(jar, **{"X-Fangs-CSRF": token}))
                self.assertEqual(st, 200, raw)
                # reads need no token
                self.assertEqual(o.get("/v1/runs")[0], 200)
            finally:
                self.assertEqual(o.stop(), 0)


class CsrfCertificateTest(unittest.TestCase):
    """Under mTLS a browser presents the operator's certificate by itself:
    a write on a certificate needs the CSRF token, one on a token does not."""

    def test_certificate_writes(self):
        with tempfile.TemporaryDirectory(prefix="fangs-webapi-cert-") as tmp:
            ca = os.path.join(tmp, "ca")
            cli("ca", "init", "--dir", ca)
            cli("ca", "issue", "orchestrator", "--host", "127.0.0.1", "--dir", ca)
            cli("ca", "issue", "op", "--role", "operator", "--dir", ca)
            cli("ca", "issue", "rd", "--role", "reader", "--dir", ca)
            tf = os.path.join(tmp, "tokens")
            op_token = make_token(tf, "operator", "op-token")
            db = os.path.join(tmp, "fangs.db")
            subprocess.run([FANGS, "--sqlite-path", db, "events", "import", rec("1.0.0"), "--package", "p",
                            "--version", "1.0.0"], check=True, capture_output=True, timeout=60)
            o = Orchestrator(tmp, db, scheme="https", auth="extra", extra=[
                "--no-watch", "--tls-cert", os.path.join(ca, "orchestrator.pem"),
                "--tls-key", os.path.join(ca, "orchestrator-key.pem"), "--client-ca", os.path.join(ca, "ca.pem"),
                "--tokens", tf])

            def call(method, path, cert=None, headers=None):
                ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
                if cert:
                    ctx.load_cert_chain(os.path.join(ca, cert + ".pem"), os.path.join(ca, cert + "-key.pem"))
                req = urllib.request.Request(o.url + path, method=method, headers=headers or {},
                                             data=b"" if method != "GET" else None)
                try:
                    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                        return r.status, r.read(), r.headers
                except urllib.error.HTTPError as e:
                    return e.code, e.read(), e.headers

            try:
                wait_tls_up(o, lambda: call("GET", "/v1/health")[0])
                self.assertEqual(call("GET", "/v1/runs", cert="rd")[0], 200)
                self.assertEqual(call("PUT", "/v1/packages/p/watch", cert="rd")[0], 403)
                st, raw, _ = call("PUT", "/v1/packages/p/watch", cert="op")
                self.assertEqual(st, 403, raw)
                self.assertIn(b"X-Fangs-CSRF", raw)
                st, raw, hdrs = call("GET", "/v1/csrf", cert="op")
                self.assertEqual(st, 200)
                self.assertTrue(hdrs["Set-Cookie"].endswith("; Secure"), hdrs["Set-Cookie"])
                token = json.loads(raw)["csrf"]
                st, raw, _ = call("PUT", "/v1/packages/p/watch", cert="op",
                                  headers={"Cookie": "fangs_csrf=" + token, "X-Fangs-CSRF": token})
                self.assertEqual(st, 200, raw)
                st, raw, _ = call("DELETE", "/v1/packages/p/watch", headers=bearer(op_token))
                self.assertEqual(st, 200, raw)
            finally:
                self.assertEqual(o.stop(), 0)


class ForgeryEveryWriteTest(unittest.TestCase):
    """Every route that changes something, on a client certificate and
    without authentication: refused (403, nothing changed) without the
    proof that no page of another site made it, done with it. The
    operator's, the submitter's and the read and review API's writes need
    the CSRF token; the runners' routes the Fangs-Runner header; a bearer
    token needs neither."""

    EVENT = {"kind": "exec", "ts_ns": 1, "pid": 10, "path": "/bin/sh", "argv": ["sh", "-c", "true"]}

    def check_every_write(self, o, db, call, op, sub, runner):
        """call(method, path, body, headers, cert) -> (status, raw); op, sub
        and runner: the certificates (None without authentication)."""
        def refused(method, path, body=None, headers=None, cert=op, want="X-Fangs-CSRF"):
            st, raw = call(method, path, body, headers, cert)
            self.assertEqual(st, 403, "%s %s: %s" % (method, path, raw))
            self.assertIn(want, json.loads(raw)["error"], path)

        def done(code, method, path, body=None, headers=None, cert=op):
            st, raw = call(method, path, body, headers, cert)
            self.assertEqual(st, code, "%s %s: %s" % (method, path, raw))
            return json.loads(raw) if raw.startswith(b"{") else None

        rid = fangs(db, "run", "list")[0]["id"]
        def read(path, key):
            return json.loads(call("GET", path, None, None, op)[1])[key]

        def watched():
            return [p["name"] for p in read("/v1/packages?watched=1", "packages")]

        def allow():
            return [e["id"] for e in read("/v1/allowlist", "entries")]
        forged = {"Cookie": "fangs_csrf=" + "b2" * 32, "X-Fangs-CSRF": "c3" * 32}

        # the read and review API's writes
        for h in (None, forged, {"Cookie": "fangs_csrf=" + "b2" * 32}, {"X-Fangs-CSRF": "b2" * 32}):
            refused("PUT", "/v1/packages/q/watch", headers=h)
        self.assertNotIn("q", watched())
        done(200, "PUT", "/v1/packages/q/watch", headers=csrf())
        self.assertIn("q", watched())
        refused("DELETE", "/v1/packages/q/watch")
        self.assertIn("q", watched())
        done(200, "DELETE", "/v1/packages/q/watch", headers=csrf())
        self.assertNotIn("q", watched())
        entry = {"kind": "dns", "value": "forged.invalid", "note": "x"}
        refused("POST", "/v1/allowlist", entry)
        self.assertEqual(allow(), [])
        new = done(201, "POST", "/v1/allowlist", entry, csrf())["entry"]
        refused("DELETE", "/v1/allowlist/%d" % new["id"])
        self.assertEqual(allow(), [new["id"]])
        done(200, "DELETE", "/v1/allowlist/%d" % new["id"], headers=csrf())
        self.assertEqual(allow(), [])
        refused("POST", "/v1/runs/%s/promote" % rid)
        self.assertNotEqual(run_of(db, rid).get("review"), "promoted")
        self.assertEqual(done(200, "POST", "/v1/runs/%s/promote" % rid, headers=csrf())["promoted"], rid)

        # the orchestrator's own: queue a scan (submitter), fail a run (operator)
        scan = {"package": "q", "version": "1.0.0"}
        refused("POST", "/v1/scans", scan, cert=sub)
        refused("POST", "/v1/scans", scan, forged, cert=sub)
        self.assertEqual([r for r in fangs(db, "run", "list") if r["package"] == "q"], [])
        queued = done(201, "POST", "/v1/scans", scan, csrf(), cert=sub)["run_id"]
        refused("POST", "/v1/runs/%s/fail" % queued, {})
        self.assertEqual(run_of(db, queued)["state"], "queued")
        self.assertEqual(done(200, "POST", "/v1/runs/%s/fail" % queued, {}, csrf())["state"], "failed")
        self.assertEqual(run_of(db, queued)["state"], "failed")
        # a path that is no route is covered too: a new route cannot forget it
        refused("POST", "/v1/nothing-here", {})
        done(404, "POST", "/v1/nothing-here", {}, csrf())
        # another site's Origin is refused even with the token
        refused("POST", "/v1/scans", scan, dict(csrf(), Origin="https://evil.example"), cert=sub, want="another site")

        # the runners' routes: the Fangs-Runner header (fangs-runner always sends it)
        rh = {"Fangs-Runner": "r1"}
        refused("POST", "/v1/runners/register", {"runner_id": "r1"}, cert=runner, want="Fangs-Runner")
        self.assertNotIn("r1", [r["id"] for r in fangs(db, "runner", "list")])
        done(200, "POST", "/v1/runners/register", {"runner_id": "r1"}, rh, cert=runner)
        refused("POST", "/v1/runners/r1/heartbeat", {}, cert=runner, want="Fangs-Runner")
        done(200, "POST", "/v1/runners/r1/heartbeat", {}, rh, cert=runner)
        job = done(201, "POST", "/v1/scans", {"package": "q", "version": "2.0.0"}, csrf(), cert=sub)["run_id"]
        # a GET that claims a job is a write: an <img> of another site must not take it
        refused("GET", "/v1/runners/r1/jobs?wait_ms=100", cert=runner, want="Fangs-Runner")
        self.assertEqual(run_of(db, job)["state"], "queued")
        self.assertEqual(done(200, "GET", "/v1/runners/r1/jobs?wait_ms=100", headers=rh, cert=runner)["run_id"],
                         job)
        batch = (json.dumps(self.EVENT) + "\n").encode()
        nd = {"Content-Type": "application/x-ndjson"}
        refused("POST", "/v1/runs/%s/events" % job, batch, nd, cert=runner, want="Fangs-Runner")
        self.assertEqual(run_of(db, job)["event_count"], 0)
        done(200, "POST", "/v1/runs/%s/events" % job, batch, dict(nd, **rh), cert=runner)
        result = {"state": "succeeded", "exit_code": 0}
        refused("POST", "/v1/runs/%s/result" % job, result, cert=runner, want="Fangs-Runner")
        self.assertEqual(run_of(db, job)["state"], "running")
        done(200, "POST", "/v1/runs/%s/result" % job, result, rh, cert=runner)
        self.assertNotEqual(run_of(db, job)["state"], "running")

    def check_cli(self, o, db, creds):
        """fangs scan submit and fangs run fail through the orchestrator,
        without a token: the CLI sends a CSRF value of its own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FANGS_TOKEN")}
        reg = fakereg.FakeRegistry()
        try:
            reg.publish("q", "4.0.0")
            p = subprocess.run([FANGS, "--json", "scan", "submit", "--package", "q", "--version", "4.0.0",
                                "--orchestrator", o.url, "--registry", reg.url] + creds, capture_output=True,
                               text=True, timeout=60, env=env)
        finally:
            reg.close()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        run = json.loads(p.stdout)["run_id"]
        self.assertEqual(run_of(db, run)["state"], "queued")
        p = subprocess.run([FANGS, "run", "fail", run, "--orchestrator", o.url] + creds, capture_output=True,
                           text=True, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(run_of(db, run)["state"], "failed")

    @staticmethod
    def seed(tmp):
        db = os.path.join(tmp, "fangs.db")
        subprocess.run([FANGS, "--sqlite-path", db, "events", "import", rec("1.0.0"), "--package", "p",
                        "--version", "1.0.0"], check=True, capture_output=True, timeout=60)
        return db

    def test_without_authentication(self):
        with tempfile.TemporaryDirectory(prefix="fangs-webapi-forge-") as tmp:
            db = self.seed(tmp)
            o = Orchestrator(tmp, db, extra=["--no-watch", "--poll-max-ms", "300"], auth="none")
            try:
                def call(method, path, body, headers, cert):
                    return o.request(method, path, body, headers=headers)
                self.check_every_write(o, db, call, None, None, None)
                self.check_cli(o, db, [])
            finally:
                self.assertEqual(o.stop(), 0)

    def test_on_certificates(self):
        with tempfile.TemporaryDirectory(prefix="fangs-webapi-forgecert-") as tmp:
            ca = os.path.join(tmp, "ca")
            cli("ca", "init", "--dir", ca)
            cli("ca", "issue", "orchestrator", "--host", "127.0.0.1", "--dir", ca)
            for name, role in (("op", "operator"), ("sub", "submitter"), ("r1", "runner")):
                cli("ca", "issue", name, "--role", role, "--dir", ca)
            tf = os.path.join(tmp, "tokens")
            op_token = make_token(tf, "operator", "op-token")
            db = self.seed(tmp)
            o = Orchestrator(tmp, db, scheme="https", auth="extra", extra=[
                "--no-watch", "--poll-max-ms", "300", "--tls-cert", os.path.join(ca, "orchestrator.pem"),
                "--tls-key", os.path.join(ca, "orchestrator-key.pem"), "--client-ca", os.path.join(ca, "ca.pem"),
                "--tokens", tf])

            def call(method, path, body, headers, cert):
                ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
                if cert:
                    ctx.load_cert_chain(os.path.join(ca, cert + ".pem"), os.path.join(ca, cert + "-key.pem"))
                data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
                if data is None and method != "GET":
                    data = b""
                req = urllib.request.Request(o.url + path, method=method, headers=headers or {}, data=data)
                try:
                    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            try:
                wait_tls_up(o, lambda: call("GET", "/v1/health", None, None, None)[0])
                self.check_every_write(o, db, call, "op", "sub", "r1")
                self.check_cli(o, db, ["--ca", os.path.join(ca, "ca.pem"), "--tls-cert", os.path.join(ca, "op.pem"),
                                       "--tls-key", os.path.join(ca, "op-key.pem")])
                # a bearer token needs no CSRF token, beside certificates
                st, raw = call("PUT", "/v1/packages/q/watch", None, bearer(op_token), None)
                self.assertEqual(st, 200, raw)
                st, raw = call("POST", "/v1/scans", {"package": "q", "version": "3.0.0"}, bearer(op_token), None)
                self.assertEqual(st, 201, raw)
            finally:
                self.assertEqual(o.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
