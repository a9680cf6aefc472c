#!/usr/bin/env python3
"""scripts/check-command-files on this tree and on copies of tools/fangs with
a handler misplaced: the tree passes, each breach of "a command in the file
named after it" fails and is named."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("FANGS_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "scripts", "check-command-files")
FANGS = os.path.join(ROOT, "tools", "fangs")


def run(root):
    return subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def cut_handler(text, header):
    """text without the definition that starts at `header`, and that definition."""
    start = text.index(header)
    end = text.index("\n}\n", start) + 3
    return text[:start] + text[end:], text[start:end]


class CheckCommandFiles(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="fangs-cmdfiles-")
        self.dir = os.path.join(self.root, "tools", "fangs")
        shutil.copytree(FANGS, self.dir, ignore=shutil.ignore_patterns("completions", "meson.build"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def path(self, name):
        return os.path.join(self.dir, name)

    def move(self, header, src, dst):
        rest, fn = cut_handler(read(self.path(src)), header)
        write(self.path(src), rest)
        write(self.path(dst), read(self.path(dst)) + "\n" + fn)

    def fails(self, *expected):
        r = run(self.root)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for e in expected:
            self.assertIn(e, r.stdout)
        return r.stdout

    def test_this_tree_passes(self):
        r = run(ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        r = run(self.root)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_command_in_another_commands_file(self):
        # `pending` back beside `run`, as it once was
        self.move("CLI_HANDLER(cmd_pending)", "cmd_pending.c", "cmd_run.c")
        out = self.fails("tools/fangs/cmd_run.c: defines cmd_pending (`pending`): belongs in cmd_pending.c",
                         "tools/fangs/cmd_pending.c: defines no command handler")
        self.assertNotIn("cmd_run_list", out)

    def test_subcommand_in_another_commands_file(self):
        self.move("CLI_HANDLER(cmd_baseline_promote)", "cmd_baseline.c", "cmd_deviation.c")
        self.fails("tools/fangs/cmd_deviation.c: defines cmd_baseline_promote (`baseline promote`): belongs in "
                   "cmd_baseline.c or cmd_baseline_promote.c")

    def test_mode_in_a_shared_file(self):
        self.move("CLI_HANDLER(cmd_scan_project)", "cmd_scan_project.c", "project_scan.c")
        self.fails("tools/fangs/project_scan.c: defines cmd_scan_project (`scan --project`): belongs in "
                   "cmd_scan.c or cmd_scan_project.c")

    def test_handler_in_main(self):
        self.move("CLI_HANDLER(cmd_version)", "cmd_version.c", "main.c")
        self.fails("tools/fangs/main.c: defines cmd_version (`version`)")

    def test_handler_with_its_parameters_spelt_out(self):
        text = read(self.path("cmd_allow.c"))
        self.assertIn("int cmd_allow_list(cli_ctx *ctx, const cli_args *args)\n{", text)
        self.move("int cmd_allow_list(cli_ctx *ctx, const cli_args *args)", "cmd_allow.c", "cmd_rules.c")
        self.fails("tools/fangs/cmd_rules.c: defines cmd_allow_list (`allow list`)")

    def test_file_named_after_no_command(self):
        os.rename(self.path("cmd_deviation.c"), self.path("cmd_findings.c"))
        self.fails("tools/fangs/cmd_findings.c: names no command",
                   "defines cmd_deviation_list (`deviation list`): belongs in cmd_deviation.c")

    def test_handler_defined_nowhere_or_twice(self):
        rest, fn = cut_handler(read(self.path("cmd_gc.c")), "CLI_HANDLER(cmd_gc)")
        write(self.path("cmd_gc.c"), rest)
        self.fails("cmd_gc (`gc`): not defined in tools/fangs/")
        write(self.path("cmd_gc.c"), rest + fn)
        write(self.path("cmd_gc_copy.c"), fn)
        self.fails("cmd_gc (`gc`): defined in 2 files")

    def test_handler_outside_the_table(self):
        h = read(self.path("commands.h")).replace("CLI_HANDLER(cmd_gc);", "CLI_HANDLER(cmd_gc);\nCLI_HANDLER(cmd_gc_all);")
        write(self.path("commands.h"), h)
        self.fails("tools/fangs/commands.h: cmd_gc_all is in no row of the command table")


if __name__ == "__main__":
    unittest.main(verbosity=2)
