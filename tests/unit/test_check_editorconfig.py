#!/usr/bin/env python3
"""scripts/check-editorconfig finds each kind of breach in a scratch tree and
passes a clean one."""
import os
import subprocess
import sys
import tempfile

SRC = os.environ["FANGS_SOURCE_ROOT"]
TOOL = os.path.join(SRC, "scripts", "check-editorconfig")

CLEAN = {
    "a.c": "int f(void)\n{\n\treturn 0; /* ok */\n}\n",
    "b.py": "def f():\n    return 1\n",
    "meson.build": "project('x',\n  'c')\n",
    "c.md": "line with a break  \nnext\n",
    "d.bin": "\0\1\2 trailing \r\n",
}
BREACHES = [
    ("e.c", "int x;", "no newline at the end"),
    ("f.c", "int x; \n", "trailing whitespace"),
    ("g.c", "int f(void)\n{\n    return 0;\n}\n", "spaces in the indentation"),
    ("h.py", "def f():\n\treturn 1\n", "tab in the indentation"),
    ("i.txt", "dos\r\n", "CR line ends"),
    ("j.txt", b"\xff\xfe bad\n", "not UTF-8"),
]


def tree(files):
    d = tempfile.mkdtemp()
    for name, body in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode())
    subprocess.run(["git", "init", "-q", d], check=True)
    subprocess.run(["git", "-C", d, "add", "."], check=True)
    return d


def run(d):
    return subprocess.run([sys.executable, TOOL, "--root", d], capture_output=True, text=True)


def main():
    failures = 0
    r = run(tree(CLEAN))
    if r.returncode != 0:
        print("clean tree refused:", r.stdout, r.stderr)
        failures += 1
    for name, body, want in BREACHES:
        files = dict(CLEAN)
        files[name] = body
        r = run(tree(files))
        if r.returncode != 1 or name not in r.stdout or want not in r.stdout:
            print("%s: want exit 1 and '%s', got %d: %s" % (name, want, r.returncode, r.stdout))
            failures += 1
        else:
            print("ok: %s: %s" % (name, want))
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
