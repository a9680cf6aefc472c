"""A tiny npm registry on loopback for the daemon tests: packuments with
publication times and ETags, tarballs made from package directories, and
the CouchDB-style change feed npm's replication endpoint serves
(GET /_changes?since=SEQ&limit=N)."""

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import time


def make_tarball(files):
    """files: {relative path: bytes}; npm wants everything under package/."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo("package/" + name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class FakeRegistry:
    def __init__(self):
        self.packages = {}  # name -> {"versions": {v: (manifest, tgz)}, "time": {v: iso}}
        self.lock = threading.Lock()
        self.requests = []  # (path, if-none-match, status)
        self.token = None  # when set, packuments need "Authorization: Bearer <token>"
        self.changes = []  # (seq, name, deleted): one per publication or unpublication
        self.feed_down = False  # when set, the feed answers 503
        reg = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                reg._get(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def publish(self, name, version, files=None, when=None):
        files = dict(files or {})
        manifest = {"name": name, "version": version, "license": "MIT"}
        if "package.json" in files:
            manifest = json.loads(files["package.json"])
            manifest["name"], manifest["version"] = name, version
        files["package.json"] = json.dumps(manifest).encode()
        tgz = make_tarball(files)
        base = name.split("/")[-1]
        manifest = dict(manifest)
        manifest["dist"] = {
            "tarball": "%s/%s/-/%s-%s.tgz" % (self.url, name, base, version),
            "shasum": hashlib.sha1(tgz).hexdigest(),
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
        }
        with self.lock:
            p = self.packages.setdefault(name, {"versions": {}, "time": {}})
            p["versions"][version] = (manifest, tgz)
            stamp = when or time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime()) + "%03dZ" % (
                int(time.time() * 1000) % 1000)
            p["time"][version] = stamp
            self.changes.append((len(self.changes) + 1, name, False))
            time.sleep(0.002)

    def touch(self, name, deleted=False):
        """A change of `name` in the feed with nothing published (a
        metadata edit, or deleted: the package unpublished)."""
        with self.lock:
            if deleted:
                self.packages.pop(name, None)
            self.changes.append((len(self.changes) + 1, name, deleted))

    def feed_count(self):
        """How many times the change feed was read."""
        return self.count("/_changes")

    def packument(self, name):
        p = self.packages[name]
        latest = max(p["versions"], key=lambda v: p["time"][v])
        times = dict(p["time"])
        times["created"] = min(p["time"].values())
        times["modified"] = max(p["time"].values())
        return {
            "name": name,
            "dist-tags": {"latest": latest},
            "versions": {v: m for v, (m, _) in p["versions"].items()},
            "time": times,
        }

    def count(self, path_prefix, status=None):
        with self.lock:
            return sum(1 for p, _, s in self.requests if p.startswith(path_prefix) and (status is None or s == status))

    def _send(self, h, status, body=b"", headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def _changes(self, query):
        """CouchDB's answer: the changes after `since` ("now": none, the
        current position), at most `limit`, and the last seq given."""
        args = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
        limit = int(args.get("limit", "1000"))
        since = args.get("since", "0")
        last = len(self.changes)
        if since == "now":
            return {"results": [], "last_seq": last}
        start = int(since)
        page = [c for c in self.changes if c[0] > start][:limit]
        results = []
        for seq, name, deleted in page:
            r = {"seq": seq, "id": name, "changes": [{"rev": "%d-%08x" % (seq, seq)}]}
            if deleted:
                r["deleted"] = True
            results.append(r)
        return {"results": results, "last_seq": page[-1][0] if page else start}

    def _get(self, h):
        path = h.path.split("?")[0]
        query = h.path.split("?", 1)[1] if "?" in h.path else ""
        inm = h.headers.get("If-None-Match")
        with self.lock:
            if path == "/_changes":
                status, body = (503, b'{"error":"unavailable"}') if self.feed_down else (
                    200, json.dumps(self._changes(query)).encode())
                self.requests.append((path, None, status))
                headers = [("Content-Type", "application/json")]
        if path == "/_changes":
            self._send(h, status, body, headers)
            return
        with self.lock:
            status = 404
            body, headers = b'{"error":"not found"}', [("Content-Type", "application/json")]
            if "/-/" in path:
                name, fname = path[1:].split("/-/", 1)
                name = name.replace("%2f", "/").replace("%2F", "/")
                p = self.packages.get(name)
                if p:
                    for v, (m, tgz) in p["versions"].items():
                        if fname == "%s-%s.tgz" % (name.split("/")[-1], v):
                            status, body = 200, tgz
                            headers = [("Content-Type", "application/octet-stream")]
            elif self.token and h.headers.get("Authorization") != "Bearer " + self.token:
                status, body = 401, b'{"error":"authentication required"}'
            else:
                name = path[1:].replace("%2f", "/").replace("%2F", "/")
                if name in self.packages:
                    body = json.dumps(self.packument(name)).encode()
                    etag = '"%s"' % hashlib.sha1(body).hexdigest()
                    if inm == etag:
                        status, body, headers = 304, b"", [("ETag", etag)]
                    else:
                        status = 200
                        headers = [("Content-Type", "application/json"), ("ETag", etag)]
            self.requests.append((path, inm, status))
        self._send(h, status, body, headers)
