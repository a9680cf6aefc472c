#!/usr/bin/env python3
"""scripts/check-includes on scratch trees: a clean tree passes, each way of
reaching into another module's internals fails and is named."""
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.environ.get("FANGS_SOURCE_ROOT",
                                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                      "scripts", "check-includes")


def tree(files):
    root = tempfile.mkdtemp(prefix="fangs-includes-")
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    return root


def run(root):
    return subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)


BASE = {
    "libfangs/core/internal.h": "#include \"fangs/errors.h\"\n",
    "libfangs/core/fsutil.h": "#include <sys/types.h>\n",
    "libfangs/differ/internal.h": "#include \"core/internal.h\"\n",
    "libfangs/differ/differ.c": "#include \"differ/internal.h\"\n#include \"internal.h\"\n",
    "libfangs/storage/internal.h": "#include \"core/fsutil.h\"\n",
    "libfangs/storage/sqlite/sqlite.c": ("#include <stdio.h>\n#include \"fangs/storage.h\"\n"
                                         "#include \"storage/internal.h\"\n#include \"../internal.h\"\n"
                                         "#include \"generated.skel.h\"\n"),
}


class CheckIncludes(unittest.TestCase):
    def test_clean_tree_passes(self):
        r = run(tree(BASE))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")

    def check_fails(self, path, text, module):
        files = dict(BASE)
        files[path] = text
        r = run(tree(files))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(path + ":2:", r.stdout)
        self.assertIn(module, r.stdout)

    def test_other_module_internal_fails(self):
        self.check_fails("libfangs/rules/eval.c", "#include \"core/internal.h\"\n#include \"differ/internal.h\"\n",
                         "differ")

    def test_submodule_reaching_out_fails(self):
        self.check_fails("libfangs/storage/sqlite/rows.c", "#include \"fangs/event.h\"\n#include \"differ/internal.h\"\n",
                         "differ")

    def test_relative_path_into_other_module_fails(self):
        self.check_fails("libfangs/core/config.c", "#include \"core/internal.h\"\n#include \"../differ/internal.h\"\n",
                         "differ")

    def test_bare_name_of_other_module_fails(self):
        files = dict(BASE)
        files["libfangs/differ/chars.h"] = "\n"
        files["libfangs/rules/eval.c"] = "#include \"core/internal.h\"\n#include \"chars.h\"\n"
        r = run(tree(files))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("libfangs/rules/eval.c:2:", r.stdout)

    def test_core_may_not_reach_into_modules(self):
        self.check_fails("libfangs/core/config.c", "#include \"core/internal.h\"\n#include \"differ/internal.h\"\n",
                         "differ")

    def test_source_tree_passes(self):
        root = os.path.dirname(os.path.dirname(SCRIPT))
        r = run(root)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
