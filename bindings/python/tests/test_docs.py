"""Runs every ```python block of docs/python.md, in order, in one scratch
directory (where examples/ is the source tree's). A block after
`<!-- needs: sensor -->` needs root and the eBPF sensor: it runs when the
build has the sensor (FANGS_HAVE_SENSOR=1, set by meson), with a registry
on loopback (tests/fixtures/registry) named in the configuration."""

import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(HERE, "..", "..", ".."))
DOC = os.path.join(ROOT, "docs", "python.md")

BLOCK = re.compile(r"(<!-- needs: (\w+) -->\n)?```python\n(.*?)```", re.S)


def blocks():
    text = open(DOC, encoding="utf-8").read()
    out = []
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start(3)) + 1
        out.append((line, m.group(2), m.group(3)))
    return out


class DocsTest(unittest.TestCase):
    def test_blocks(self):
        found = blocks()
        self.assertGreaterEqual(len(found), 8, "docs/python.md lost its examples")
        sensor = os.environ.get("FANGS_HAVE_SENSOR") == "1"
        tmp = tempfile.mkdtemp(prefix="fangs-pydocs-")
        cwd = os.getcwd()
        registry = None
        try:
            os.symlink(os.path.join(ROOT, "examples"), os.path.join(tmp, "examples"))
            os.chdir(tmp)
            for line, needs, code in found:
                if needs == "sensor":
                    if not sensor:
                        continue
                    if registry is None:
                        sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))
                        from fake_registry import FakeRegistry
                        registry = FakeRegistry().start()
                        with open("fangs.yaml", "w") as f:
                            f.write("registry: %s\n" % registry.url)
                        os.environ["FANGS_CONFIG"] = os.path.join(tmp, "fangs.yaml")
                with self.subTest(line=line):
                    try:
                        exec(compile(code, "%s:%d" % (DOC, line), "exec"), {"__name__": "__doc_example__"})
                    except Exception as e:
                        raise AssertionError("docs/python.md block at line %d: %r" % (line, e)) from e
        finally:
            os.chdir(cwd)
            os.environ.pop("FANGS_CONFIG", None)
            if registry is not None:
                registry.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
