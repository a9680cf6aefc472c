"""`pip install ./bindings/python` works offline: pip's isolated build
environment needs nothing (the backend is in the tree), the installed
package is typed, and it works against the library from FANGS_LIB.
(`meson install` of the package is examples/c/check-install.sh.)"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(PKG, "..", ".."))


class PipInstallTest(unittest.TestCase):
    def test_offline_install(self):
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "site")
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                       PIP_CACHE_DIR=os.path.join(tmp, "cache"), PYTHONDONTWRITEBYTECODE="1")
            # an unreachable index as well: nothing may be downloaded
            env["PIP_INDEX_URL"] = "http://192.0.2.1:9/simple"
            p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--target", target, PKG],
                               env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            installed = sorted(os.listdir(os.path.join(target, "fangs")))
            for f in ("__init__.py", "_lib.py", "_types.py", "api.py", "model.py", "scan.py", "py.typed"):
                self.assertIn(f, installed)
            self.assertTrue([d for d in os.listdir(target) if d.startswith("fangs-0.1.0.dist-info")])
            # the installed copy, not the source tree, from a neutral directory
            code = ("import fangs, sys; assert fangs.__file__.startswith(sys.argv[1]), fangs.__file__; "
                    "st = fangs.Storage(':memory:'); "
                    "a = st.import_events(sys.argv[2], 'example-banner', '1.0.0'); print(a.baseline)")
            p = subprocess.run([sys.executable, "-c", code, target,
                                os.path.join(ROOT, "examples", "recordings", "example-banner-1.0.0.ndjson")],
                               env=dict(env, PYTHONPATH=target), cwd=tmp, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip(), "seeded")

    def test_versions_agree(self):
        # pyproject.toml, the package and the library of the same tree are one release
        import re
        sys.path.insert(0, PKG)
        import fangs
        text = open(os.path.join(PKG, "pyproject.toml")).read()
        self.assertEqual(re.search(r'^version = "([^"]+)"', text, re.M).group(1), fangs.__version__)
        self.assertEqual(fangs.__version__, fangs.version())

    def test_wrong_library_is_refused(self):
        # a path that is not libfangs: a clear ImportError naming FANGS_LIB's value
        p = subprocess.run([sys.executable, "-c", "import fangs"], env=dict(os.environ, PYTHONPATH=PKG,
                           FANGS_LIB="/nonexistent/libfangs.so.0"), capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ImportError: cannot load libfangs", p.stderr)
        self.assertIn("/nonexistent/libfangs.so.0", p.stderr)

    def test_other_release_is_refused(self):
        # a library of another major.minor: refused at import, naming both versions
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "v.c")
            with open(src, "w") as f:
                f.write('const char *fangs_version(void) { return "9.4.2"; }\n')
            so = os.path.join(tmp, "libfangs.so.0")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", so, src], check=True)
            p = subprocess.run([sys.executable, "-c", "import fangs"],
                               env=dict(os.environ, PYTHONPATH=PKG, FANGS_LIB=so), capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("libfangs 9.4.2 was loaded", p.stderr)
            self.assertIn("this binding is for libfangs 0.1.x", p.stderr)


if __name__ == "__main__":
    unittest.main()
