"""Download hosts on this machine's loopback for the proxy network tests:
an HTTPS server (a self-signed certificate made at start, for "localhost")
and a plain HTTP server, serving made-up binaries under /fetcher/. The
fixture package `fetcher` downloads from them (ports fixed in the fixture:
47843 https, 47880 http). Each server remembers the paths it served."""

import hashlib
import http.server
import os
import ssl
import subprocess
import tempfile
import threading

HTTPS_PORT = 47843
HTTP_PORT = 47880
TOOL = b"\x7fELF" + bytes(range(256)) * 64  # 16 KiB of made-up binary
FILES = {
    "/fetcher/v1/tool-linux-x64": TOOL,
    "/fetcher/v1/tool-linux-x64.sha256": (hashlib.sha256(TOOL).hexdigest() + "  tool-linux-x64\n").encode(),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.served.append(self.path)
        body = FILES.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr):
        super().__init__(addr, _Handler)
        self.served = []


class DownloadHosts:
    def __init__(self):
        self.tmp = None
        self.servers = []

    def start(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fangs-dl-")
        cert = os.path.join(self.tmp.name, "cert.pem")
        key = os.path.join(self.tmp.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", key, "-out", cert], check=True, capture_output=True)
        self.https = _Server(("127.0.0.1", HTTPS_PORT))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        self.http = _Server(("127.0.0.1", HTTP_PORT))
        for s in (self.https, self.http):
            threading.Thread(target=s.serve_forever, daemon=True).start()
            self.servers.append(s)
        return self

    def served(self):
        return {"https": list(self.https.served), "http": list(self.http.served)}

    def clear(self):
        for s in self.servers:
            s.served.clear()

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []
        if self.tmp:
            self.tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
