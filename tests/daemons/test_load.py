"""The orchestrator under hostile load, real processes on loopback: slow
clients (partial headers, partial TLS handshakes) and oversized bodies do
not lock out health checks or runners nor blow up its memory; parked long
polls cost nothing per submission."""

import http.client
import json
import os
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakereg  # noqa: E402
from daemons import FANGS, ORCH, Orchestrator, Runner, fangs, run_of, wait_for  # noqa: E402

SLOW_CLIENTS = 2000
BIG = 8 * 1024 * 1024
RSS_BOUND_KB = 200 * 1024
# AddressSanitizer's shadow memory, redzones and quarantine (256 MB) come on top
ASAN_RSS_BOUND_KB = 800 * 1024
PER_IP = 64
# how long a client waits for a refusal on its headers before it sends the body
ANSWER_WAIT_S = 5.0


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def rss_bound_kb(binary):
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return ASAN_RSS_BOUND_KB if "libasan" in p.stdout else RSS_BOUND_KB


def vm_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field + " not in /proc/%d/status" % pid)


class SlowClients(threading.Thread):
    """Keeps `count` connections open from the loopback addresses in
    `sources`, each having sent only `partial`; a connection the server
    drops is opened again. Counts the drops."""

    def __init__(self, port, count, sources, partial):
        super().__init__(daemon=True)
        self.port, self.count, self.sources, self.partial = port, count, sources, partial
        self.sel = selectors.DefaultSelector()
        self.stop_ev = threading.Event()
        self.opened = self.dropped = 0
        self.n = 0

    def open_one(self):
        s = socket.socket()
        s.setblocking(False)
        s.bind((self.sources[self.opened % len(self.sources)], 0))
        self.opened += 1
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.sel.register(s, selectors.EVENT_WRITE, "connecting")
        self.n += 1

    def close_one(self, s):
        self.sel.unregister(s)
        s.close()
        self.n -= 1

    def run(self):
        while not self.stop_ev.is_set():
            while self.n < self.count:
                try:
                    self.open_one()
                except OSError:
                    break
            for key, ev in self.sel.select(0.2):
                s = key.fileobj
                if key.data == "connecting":
                    try:
                        s.send(self.partial)
                        self.sel.modify(s, selectors.EVENT_READ, "held")
                    except OSError:
                        self.dropped += 1
                        self.close_one(s)
                else:
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        self.dropped += 1
                        self.close_one(s)
            time.sleep(0.05)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()

    def stop(self):
        self.stop_ev.set()
        self.join(30)


def read_answer(s):
    """(status, Retry-After, body) of one HTTP answer on socket `s`."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            hdrs = {}
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                hdrs[k.strip().lower().decode()] = v.strip().decode()
            length = int(hdrs.get("content-length", "0"))
            if len(body) >= length:
                return int(head.split()[1]), hdrs.get("retry-after"), body[:length]
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed before an answer: %r" % data[:200])
        data += chunk


def post_big(port, path, headers, size, results, chunked=False):
    """POSTs `size` bytes. A server that refuses on the headers answers
    before the body is sent (we wait a moment for that, as a client with
    Expect: 100-continue would); otherwise the body follows. Appends
    (status, Retry-After, body, whether the body was sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = False
    try:
        hdrs = "".join("%s: %s\r\n" % kv for kv in headers.items())
        length = "Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % size
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n\r\n" % (path, hdrs, length)).encode())
        if not select_readable(s, ANSWER_WAIT_S):
            sent = True
            piece = b"x" * 65536
            for _ in range(size // len(piece)):
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        results.append(read_answer(s) + (sent,))
    except OSError as e:
        results.append(("hung up", None, str(e), sent))
    finally:
        s.close()


def select_readable(s, timeout):
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    ready = sel.select(timeout)
    sel.close()
    return bool(ready)


def parallel_big(port, path, headers, n, size=BIG, chunked=False):
    results = []
    threads = [threading.Thread(target=post_big, args=(port, path, headers, size, results, chunked))
               for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def benign_files():
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "packages", "benign-1.0.0")
    files = {}
    for name in ("package.json", "index.js", "postinstall.js"):
        with open(os.path.join(src, name), "rb") as f:
            files[name] = f.read()
    return files


class HostileLoadTest(unittest.TestCase):
    def setUp(self):
        raise_nofile(SLOW_CLIENTS + 1000)
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-load-")
        self.tmp = self.tmpd.name
        os.chmod(self.tmp, 0o755)
        self.db = os.path.join(self.tmp, "fangs.db")
        self.reg = fakereg.FakeRegistry()
        self.reg.publish("benign", "1.0.0", benign_files())
        self.procs = []
        self.bound_kb = rss_bound_kb(ORCH)

    def tearDown(self):
        rcs = [p.stop() for p in self.procs]
        self.reg.close()
        self.tmpd.cleanup()
        # the orchestrator comes first: it stops cleanly (no sanitizer report)
        self.assertEqual(rcs[:1], [0])

    def test_slow_clients_and_big_bodies(self):
        o = Orchestrator(self.tmp, self.db, extra=[
            "--no-watch", "--poll-max-ms", "2000", "--header-timeout-s", "3",
            "--max-connections-per-ip", str(PER_IP), "--max-connections", "1000"])
        self.procs.append(o)
        pid = o.p.pid
        base_kb = vm_kb(pid, "VmRSS")

        # one address alone: connections beyond its limit are closed at once
        socks = []
        for _ in range(3 * PER_IP):
            s = socket.socket()
            s.bind(("127.0.0.60", 0))
            s.connect(("127.0.0.1", o.port))
            s.sendall(b"GET /v1/hea")
            socks.append(s)
        time.sleep(1)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                closed += s.recv(100) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        self.assertGreaterEqual(closed, 2 * PER_IP, "connections over the per-address limit stay open")
        # and the ones it kept are dropped when their headers do not come
        time.sleep(4)
        for s in socks:
            s.setblocking(True)
            s.settimeout(5)
            try:
                self.assertEqual(s.recv(100), b"", "a client that never finished its headers was answered")
            except OSError:
                pass
            s.close()

        # a client trickling its headers a byte a second (never silent for
        # the 3 s timeout) is dropped all the same, long before it is done
        s = socket.socket()
        s.bind(("127.0.0.61", 0))
        s.connect(("127.0.0.1", o.port))
        sent = 0
        try:
            for b in b"GET /v1/health HTTP/1.1\r\nHost: trickle.invalid\r\n":
                s.send(bytes([b]))
                sent += 1
                if select_readable(s, 1.0) and s.recv(100) == b"":
                    break
        except OSError:
            pass
        s.close()
        self.assertLess(sent, 10, "a trickling client kept its connection for %d s" % sent)

        # 2000 slow clients from eight addresses, reconnecting when dropped
        slow = SlowClients(o.port, SLOW_CLIENTS, ["127.0.0.%d" % i for i in range(2, 10)],
                           b"POST /v1/scans HTTP/1.1\r\nHost: x\r\nContent-Le")
        slow.start()
        self.addCleanup(slow.stop)
        wait_for(lambda: slow.opened >= SLOW_CLIENTS, 60, "the slow clients to connect")

        # health answers meanwhile
        for _ in range(5):
            st, raw = o.get("/v1/health", timeout=10)
            self.assertEqual(st, 200, raw)
            time.sleep(0.5)

        # 40 parallel 8 MiB batches, with a valid runner token, for a run
        # that does not exist: refused before the body is sent
        for chunked in (False, True):
            bad = parallel_big(o.port, "/v1/runs/nope/events", o.as_runner("r1"), 40, chunked=chunked)
            self.assertEqual(len(bad), 40)
            for st, _, raw, sent in bad:
                self.assertEqual(st, 404, raw)
                self.assertIn(b"unknown run", raw)
                self.assertFalse(sent, "the body was needed for a 404")
        # the same batches without a credential (a header naming the runner
        # is none): 401, before the body is sent
        for chunked in (False, True):
            bad = parallel_big(o.port, "/v1/runs/nope/events", {"Fangs-Runner": "r1"}, 40, chunked=chunked)
            self.assertEqual(len(bad), 40)
            for st, _, raw, sent in bad:
                self.assertEqual(st, 401, raw)
                self.assertFalse(sent, "the body was needed for a 401")

        # 40 parallel 8 MiB bodies for a run the caller does hold: the body
        # budget lets some in (they do not decode), the rest wait (503)
        bulk = o.as_runner("bulk")
        st, _ = o.post("/v1/runners/register", {"runner_id": "bulk", "max_scans": 1}, headers=bulk)
        self.assertEqual(st, 200)
        run = o.submit("bulkpkg", "1.0.0", runner="bulk")
        st, raw = o.get("/v1/runners/bulk/jobs?wait_ms=2000", headers=bulk)
        self.assertEqual((st, json.loads(raw)["run_id"]), (200, run))
        held = parallel_big(o.port, "/v1/runs/%s/events" % run, bulk, 40)
        statuses = [st for st, _, _, _ in held]
        self.assertEqual(len(held), 40)
        self.assertTrue(set(statuses) <= {400, 503}, statuses)
        self.assertIn(503, statuses)
        self.assertIn(400, statuses)
        for st, retry, _, sent in held:
            if st == 503:
                self.assertEqual(retry, "1")
            else:
                self.assertTrue(sent, "a batch was decoded with no body")
        self.assertGreater(o.metrics()["fangs_http_busy_total"], 0)
        wait_for(lambda: o.metrics()["fangs_http_body_bytes_held"] == 0, 10, "the bodies' bytes to be given back")
        m = o.metrics()
        self.assertEqual(m["fangs_events_received_total"], 0)

        # a real runner registers, takes a job and posts its result
        r = Runner(self.tmp, o.url, "real", self.reg.url, token=o.runner_token("real"))
        self.procs.append(r)
        run = o.submit("benign", "1.0.0", runner="real")
        wait_for(lambda: run_of(self.db, run)["state"] in ("succeeded", "failed"), 180, "the scan")
        self.assertEqual(run_of(self.db, run)["state"], "succeeded", r.text())
        self.assertEqual(run_of(self.db, run)["runner"], "real")
        st, raw = o.get("/v1/health", timeout=10)
        self.assertEqual(st, 200, raw)

        self.assertGreater(slow.dropped, SLOW_CLIENTS // 2, "slow clients were not dropped")
        slow.stop()
        hwm = vm_kb(pid, "VmHWM")
        print("\norchestrator RSS at start %d KiB, peak %d KiB (bound %d KiB); slow connections opened %d,"
              " dropped by the server %d" % (base_kb, hwm, self.bound_kb, slow.opened, slow.dropped),
              file=sys.stderr)
        self.assertLess(hwm, self.bound_kb)
        self.assertTrue(o.alive())

    def test_slow_tls_handshakes(self):
        ca = os.path.join(self.tmp, "ca")
        for args in (["init"], ["issue", "orchestrator", "--host", "127.0.0.1"],
                     ["issue", "ops", "--role", "operator"]):
            p = subprocess.run([FANGS, "ca"] + args + ["--dir", ca], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        o = Orchestrator(self.tmp, self.db, scheme="https", auth="extra", extra=[
            "--no-watch", "--header-timeout-s", "3", "--max-connections-per-ip", str(PER_IP),
            "--tls-cert", os.path.join(ca, "orchestrator.pem"), "--tls-key", os.path.join(ca, "orchestrator-key.pem"),
            "--client-ca", os.path.join(ca, "ca.pem")])
        self.procs.append(o)
        anon = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
        ctx.load_cert_chain(os.path.join(ca, "ops.pem"), os.path.join(ca, "ops-key.pem"))

        def status(path, context):
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", o.port, context=context, timeout=10)
                conn.request("GET", path)
                st = conn.getresponse().status
                conn.close()
                return st
            except OSError:
                return 0

        def health():
            return status("/v1/health", ctx)
        wait_for(lambda: health() == 200, 10, "the orchestrator over TLS")
        # a TLS record header announcing a ClientHello that never comes whole
        slow = SlowClients(o.port, SLOW_CLIENTS, ["127.0.0.%d" % i for i in range(2, 10)],
                           b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        slow.start()
        self.addCleanup(slow.stop)
        wait_for(lambda: slow.opened >= SLOW_CLIENTS, 60, "the slow clients to connect")
        for _ in range(5):
            self.assertEqual(health(), 200)
            time.sleep(0.5)
        # the operator's certificate is still checked and honoured; no certificate, no metrics
        self.assertEqual(status("/metrics", ctx), 200)
        self.assertEqual(status("/metrics", anon), 403)
        wait_for(lambda: slow.dropped > SLOW_CLIENTS // 2, 30, "the server to drop stalled handshakes")
        self.assertEqual(health(), 200)
        hwm = vm_kb(o.p.pid, "VmHWM")
        print("\norchestrator (TLS) RSS peak %d KiB (bound %d KiB); stalled handshakes opened %d, dropped %d" %
              (hwm, self.bound_kb, slow.opened, slow.dropped), file=sys.stderr)
        self.assertLess(hwm, self.bound_kb)


class ParkedPollsTest(unittest.TestCase):
    """300 parked long polls and 2,000 jobs queued for an absent runner:
    every submission is answered, each new job goes to exactly one waiter,
    and none of the absent runner's jobs to anyone else."""

    WAITERS = 300
    QUEUED = 2000

    def setUp(self):
        raise_nofile(4096)
        self.tmpd = tempfile.TemporaryDirectory(prefix="fangs-parked-")
        self.db = os.path.join(self.tmpd.name, "fangs.db")
        self.o = Orchestrator(self.tmpd.name, self.db, extra=[
            "--no-watch", "--poll-max-ms", "120000", "--max-connections-per-ip", "1000"])

    def tearDown(self):
        self.assertEqual(self.o.stop(), 0)
        self.tmpd.cleanup()

    def register(self, rid):
        st, raw = self.o.post("/v1/runners/register", {"runner_id": rid}, headers=self.o.as_runner(rid))
        self.assertEqual(st, 200, raw)

    def poll(self, rid, wait_ms):
        s = socket.create_connection(("127.0.0.1", self.o.port))
        s.sendall(("GET /v1/runners/%s/jobs?wait_ms=%d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" %
                   (rid, wait_ms, self.o.runner_token(rid))).encode())
        return s

    @staticmethod
    def answer(s, timeout):
        s.settimeout(timeout)
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                if len(body) >= length:
                    return int(head.split()[1]), body[:length]
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed: %r" % data)
            data += chunk

    def test_parked_polls_do_not_starve_submissions(self):
        o = self.o
        self.register("away")
        for i in range(self.QUEUED):
            o.submit("queued", "1.0.%d" % i, runner="away")
        ids = ["w%03d" % i for i in range(self.WAITERS)]
        for rid in ids:
            self.register(rid)
        # ?wait_ms= is honoured (the maximum is 120 s here)
        t0 = time.time()
        s = self.poll("w000", 200)
        self.assertEqual(self.answer(s, 20)[0], 204)
        s.close()
        self.assertLess(time.time() - t0, 20)

        socks = {rid: self.poll(rid, 110000) for rid in ids}
        wait_for(lambda: o.metrics()["fangs_parked_polls"] == self.WAITERS, 30, "the polls to park")
        submitted = [o.submit("fresh", "2.0.%d" % i) for i in range(200)]
        self.assertEqual(len(set(submitted)), 200)
        got = {}
        wait_for(lambda: o.metrics()["fangs_parked_polls"] == self.WAITERS - 200, 30, "200 hand-overs")
        sel = selectors.DefaultSelector()
        for rid, s in socks.items():
            sel.register(s, selectors.EVENT_READ, rid)
        end = time.time() + 30
        while len(got) < 200 and time.time() < end:
            for key, _ in sel.select(1):
                st, body = self.answer(key.fileobj, 10)
                self.assertEqual(st, 200)
                got[key.data] = json.loads(body)["run_id"]
                sel.unregister(key.fileobj)
        self.assertEqual(len(got), 200)
        self.assertEqual(sorted(got.values()), sorted(submitted))
        # the rest still wait, and take the next 100
        more = [o.submit("fresh", "3.0.%d" % i) for i in range(self.WAITERS - 200)]
        rest = [rid for rid in ids if rid not in got]
        for rid in rest:
            st, body = self.answer(socks[rid], 30)
            self.assertEqual(st, 200)
            got[rid] = json.loads(body)["run_id"]
        sel.close()
        for s in socks.values():
            s.close()
        self.assertEqual(sorted(got.values()), sorted(submitted + more))
        self.assertEqual(len(set(got.values())), self.WAITERS)
        m = o.metrics()
        self.assertEqual(m["fangs_queue_depth"], self.QUEUED)
        self.assertEqual(m['fangs_runs{state="running"}'], self.WAITERS)
        for r in fangs(self.db, "runner", "list"):
            self.assertEqual(r["running"], 0 if r["id"] == "away" else 1, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
