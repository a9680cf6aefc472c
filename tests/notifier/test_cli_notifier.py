"""`fangs notifier` as a user drives it, against a webhook receiver on
loopback: add (with URL validation), list, test, messages sent after an
import with findings (signature checked the way docs/notifier.md tells
receivers to), history, retries through `notifier deliver`, remove."""

import hashlib
import hmac
import http.server
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ["FANGS_SOURCE_ROOT"]
REC = os.path.join(ROOT, "examples", "recordings")
SECRET = "cli-test-secret"


class Receiver:
    """Answers POSTs with the scripted (status, body) pairs, then 200."""

    def __init__(self, script=()):
        self.script = list(script)
        self.got = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), body))
                status, text = outer.script.pop(0) if outer.script else (200, "ok")
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify(headers, body, secret, max_age=300):
    """The receiver-side check of docs/notifier.md."""
    sig = headers.get("X-FANGS-Signature", "")
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, want):
        return False
    sent = json.loads(body)["time_unix_nano"] / 1e9
    return abs(time.time() - sent) <= max_age


class NotifierCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "fangs.db")
        self.cfg = os.path.join(self.tmp.name, "fangs.yaml")
        with open(self.cfg, "w") as f:
            f.write("notifier:\n  public_url: https://fangs.example/\n  retry_base_ms: 100\n"
                    "  max_attempts: 3\n  timeout_ms: 5000\n")
        self.env = dict(os.environ, FANGS_HOOK_SECRET=SECRET)
        self.receivers = []

    def tearDown(self):
        for r in self.receivers:
            r.close()
        self.tmp.cleanup()

    def receiver(self, script=()):
        r = Receiver(script)
        self.receivers.append(r)
        return r

    def fangs(self, *args, code=0):
        p = subprocess.run([FANGS, "--sqlite-path", self.db, "--config", self.cfg] + list(args),
                           capture_output=True, text=True, timeout=60, env=self.env)
        self.assertEqual(p.returncode, code, "fangs %s -> %d\nstdout: %s\nstderr: %s" %
                         (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def jfangs(self, *args, code=0):
        return json.loads(self.fangs("--json", *args, code=code).stdout)

    def import_release(self, version):
        # 1.1.0 steals: exit 3 under the default --fail-on high
        return self.fangs("--json", "events", "import", os.path.join(REC, "example-banner-%s.ndjson" % version),
                          "--package", "example-banner", "--version", version, code=3 if version == "1.1.0" else 0)

    def test_add_validates(self):
        p = self.fangs("notifier", "add", "-name", "x", "-url", "http://example.com/hook", "-template", "generic",
                       code=2)
        self.assertIn("only allowed to loopback", p.stderr)
        p = self.fangs("notifier", "add", "-name", "x", "-url", "ftp://127.0.0.1/", "-template", "generic", code=2)
        self.assertIn("scheme must be https://", p.stderr)
        p = self.fangs("notifier", "add", "-name", "x", "-url", "https://h.example/", "-template", "teams", code=2)
        self.assertIn("--template must be one of generic|slack|discord", p.stderr)
        p = self.fangs("notifier", "add", "-name", "x", "-url", "https://h.example/", "-template", "generic",
                       "-header", "X-FANGS-Signature: forged", code=2)
        self.assertIn("cannot be overridden", p.stderr)
        self.assertFalse(os.path.exists(self.db), "refused targets leave no database behind")
        self.fangs("notifier", "add", "-name", "x", "-url", "https://h.example/", "-template", "generic")
        p = self.fangs("notifier", "add", "-name", "x", "-url", "https://h.example/", "-template", "generic", code=1)
        self.assertIn("already exists", p.stderr)

    def test_header_secrets_not_stored(self):
        """A header given as env:NAME or file:/path is read when a message is
        sent and never stored; a credential in clear is refused unless
        -allow-literal-secret."""
        r = self.receiver([(200, "ok"), (200, "ok"), (200, "ok")])
        token = "hook-token-" + os.urandom(8).hex()
        p = self.fangs("notifier", "add", "-name", "lit", "-url", r.url, "-template", "generic",
                       "-header", "Authorization: Bearer " + token, code=2)
        self.assertIn("looks like a credential", p.stderr)
        self.fangs("notifier", "add", "-name", "lit2", "-url", r.url, "-template", "generic",
                   "-header", "X-Api-Key: " + token, code=2)
        self.fangs("notifier", "add", "-name", "bad", "-url", r.url, "-template", "generic",
                   "-header", "Authorization: env:1X", code=2)
        self.fangs("notifier", "add", "-name", "bad2", "-url", r.url, "-template", "generic",
                   "-header", "Authorization: file:relative", code=2)
        keyfile = os.path.join(self.tmp.name, "team-key")
        with open(keyfile, "w") as f:
            f.write("team-" + token + "\n")
        self.fangs("notifier", "add", "-name", "ops", "-url", r.url, "-template", "generic",
                   "-header", "Authorization: env:HOOK_AUTH", "-header", "X-Team-Key: file:" + keyfile)
        self.env["HOOK_AUTH"] = "Bearer " + token
        self.assertIn("HTTP 200", self.fangs("notifier", "test", "ops").stdout)
        headers, _ = r.got[0]
        self.assertEqual(headers["Authorization"], "Bearer " + token)
        self.assertEqual(headers["X-Team-Key"], "team-" + token)
        # the value changes: the next message carries the new one
        self.env["HOOK_AUTH"] = "Bearer rotated"
        self.fangs("notifier", "test", "ops")
        self.assertEqual(r.got[1][0]["Authorization"], "Bearer rotated")
        # unset: not sent with a stale or empty value
        del self.env["HOOK_AUTH"]
        p = self.fangs("notifier", "test", "ops", code=1)
        self.assertIn("HOOK_AUTH is not set", p.stdout + p.stderr)
        self.assertEqual(len(r.got), 2)
        # stored in clear only when asked, with a warning
        p = self.fangs("notifier", "add", "-name", "lit3", "-url", r.url, "-template", "generic",
                       "-header", "X-Note: " + token + "-plain", "-header", "Authorization: Basic eA==",
                       "-allow-literal-secret")
        self.assertIn("stored in clear", p.stderr)
        # neither the token nor the file's content is in the database; it is 0600
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                self.assertEqual(os.stat(self.db + suffix).st_mode & 0o777, 0o600, suffix)
                with open(self.db + suffix, "rb") as f:
                    data = f.read()
                self.assertNotIn(b"Bearer " + token.encode(), data)
                self.assertNotIn(b"team-" + token.encode(), data)

    def test_flow(self):
        r = self.receiver([(201, "thanks from the receiver")])
        t = self.jfangs("notifier", "add", "-name", "ops", "-url", r.url, "-template", "generic",
                        "-min-severity", "high", "-secret-env", "FANGS_HOOK_SECRET", "-header", "X-Team: sec")
        self.assertEqual(t["name"], "ops")
        self.assertEqual(t["headers"], {"X-Team": "(hidden)"})
        [listed] = self.jfangs("notifier", "list")
        self.assertEqual(listed["min_severity"], "high")
        self.assertEqual(listed["template"], "generic")

        p = self.fangs("notifier", "test", "ops")
        self.assertIn("HTTP 201", p.stdout)
        self.assertIn("thanks from the receiver", p.stdout)
        headers, body = r.got[0]
        self.assertTrue(verify(headers, body, SECRET))
        self.assertFalse(verify(headers, body, "wrong secret"))
        self.assertEqual(headers["X-Team"], "sec")
        self.assertTrue(json.loads(body)["test"])

        self.import_release("1.0.0")
        self.import_release("1.0.1")
        self.assertEqual(len(r.got), 1, "clean releases send nothing")
        run = json.loads(self.import_release("1.1.0").stdout)["run"]["id"]
        self.assertEqual(len(r.got), 2)
        headers, body = r.got[1]
        self.assertTrue(verify(headers, body, SECRET))
        self.assertEqual(int(headers["X-FANGS-Timestamp"]), json.loads(body)["time_unix_nano"] // 10**9)
        msg = json.loads(body)
        self.assertEqual(msg["source"], "fangs")
        self.assertEqual(msg["run_id"], run)
        self.assertEqual(msg["package_name"], "example-banner")
        self.assertEqual(msg["version"], "1.1.0")
        self.assertEqual(msg["max_severity"], "critical")
        self.assertEqual(msg["url"], "https://fangs.example/runs/" + run)
        self.assertTrue(all(d["severity"] in ("high", "critical") for d in msg["deviations"]))
        self.assertEqual(msg["deviation_count"], len(msg["deviations"]))
        cred = [d for d in msg["deviations"] if d["kind"] == "fs_cred_read"]
        self.assertTrue(cred)
        self.assertEqual(cred[0]["origin"]["script"], "postinstall")
        self.assertTrue(cred[0]["evidence"] and cred[0]["evidence"][0].startswith("pid "))
        # one finding per behaviour: two secrets read, curl | sh, evil.example
        self.assertEqual(msg["finding_count"], 4)
        self.assertEqual((len(msg["findings"]), msg["findings_omitted"]), (4, 0))
        self.assertEqual(sum(f["deviation_count"] for f in msg["findings"]), msg["deviation_count"])
        npmrc = [f for f in msg["findings"] if f["value"] == "~/.npmrc"][0]
        self.assertEqual(set(npmrc["labels"]), {"fs_cred_read", "rule:cred-read-by-script"})
        self.assertEqual(npmrc["severity"], "critical")
        net = [f for f in msg["findings"] if f["domain"] == "evil.example"][0]
        self.assertIn("net_new_https_host", net["labels"])

        [h] = self.jfangs("notifier", "history", "-run", run)
        self.assertEqual((h["notifier"], h["status"], h["http_status"], h["attempt"]), ("ops", "sent", 200, 1))
        self.assertEqual(self.jfangs("notifier", "history", "-name", "nobody"), [])
        self.assertIn("sent", self.fangs("notifier", "history").stdout)

        self.fangs("notifier", "remove", "ops")
        self.assertEqual(self.jfangs("notifier", "list"), [])
        self.assertEqual(self.jfangs("notifier", "history"), [])
        self.fangs("notifier", "remove", "ops", code=1)

    def test_retries_through_deliver(self):
        r = self.receiver([(503, "busy"), (200, "ok")])
        self.fangs("notifier", "add", "-name", "chat", "-url", r.url, "-template", "slack")
        self.import_release("1.0.0")
        run = json.loads(self.import_release("1.1.0").stdout)["run"]["id"]
        hist = self.jfangs("notifier", "history", "-run", run)
        self.assertEqual([(x["attempt"], x["status"]) for x in hist], [(1, "retry"), (2, "pending")])
        self.assertEqual(hist[0]["http_status"], 503)
        time.sleep(0.3)
        d = self.jfangs("notifier", "deliver")
        self.assertEqual((d["attempted"], d["sent"]), (1, 1))
        hist = self.jfangs("notifier", "history", "-run", run)
        self.assertEqual([x["status"] for x in hist], ["retry", "sent"])
        headers, body = r.got[1]
        self.assertNotIn("X-FANGS-Signature", headers)
        msg = json.loads(body)
        self.assertIn("example-banner@1.1.0", msg["text"])
        self.assertIn("fs_cred_read", msg["blocks"][1]["text"]["text"])
        # the chat message counts behaviours, each with all its labels
        self.assertIn("did 5 new things", msg["text"])
        self.assertIn("`rule:cred-read-by-script` + `fs_cred_read`", msg["blocks"][1]["text"]["text"])

    def test_test_reports_failure(self):
        r = self.receiver([(404, "no such hook")])
        self.fangs("notifier", "add", "-name", "gone", "-url", r.url, "-template", "discord")
        out = self.jfangs("notifier", "test", "gone", code=1)
        self.assertEqual((out["ok"], out["http_status"], out["body"]), (False, 404, "no such hook"))
        p = self.fangs("notifier", "test", "nope", code=1)
        self.assertIn("no notifier named 'nope'", p.stderr)


if __name__ == "__main__":
    unittest.main()
