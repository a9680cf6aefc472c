"""Every command of the fangs command table, as a user meets it: --help and
-h print the command's help on stdout and exit 0, a bad option is a usage
error on stderr (exit 2), and neither touches the database or makes one in
the working directory. Storage selection, the default database location,
manual pages, shell completions and docs/cli.md come from the same table."""

import glob
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.environ["FANGS_SOURCE_ROOT"]
MAN_DIR = os.environ.get("FANGS_MAN_DIR")
COMPLETIONS_DIR = os.environ.get("FANGS_COMPLETIONS_DIR")
REC = os.path.join(ROOT, "examples", "recordings", "example-banner-%s.ndjson")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listing(d):
    out = []
    for base, dirs, files in os.walk(d):
        out += [os.path.relpath(os.path.join(base, n), d) for n in dirs + files]
    return sorted(out)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fangs-cmds-")
        self.cwd = os.path.join(self.tmp.name, "cwd")
        self.home = os.path.join(self.tmp.name, "home")
        os.mkdir(self.cwd)
        os.mkdir(self.home)
        # no database but the ones a test names
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("FANGS_DB", "FANGS_SQLITE_PATH", "FANGS_POSTGRES_DSN", "FANGS_CONFIG",
                                 "XDG_STATE_HOME")}
        self.env["HOME"] = self.home
        self.env["XDG_STATE_HOME"] = os.path.join(self.home, "state")

    def tearDown(self):
        self.tmp.cleanup()

    def run_fangs(self, *args, env=None, stdin=None):
        return subprocess.run([FANGS] + list(args), capture_output=True, text=True, cwd=self.cwd, timeout=60,
                              env=dict(self.env, **(env or {})), input=stdin)

    def fangs(self, *args, code=0, env=None):
        p = self.run_fangs(*args, env=env)
        self.assertEqual(p.returncode, code, "fangs %s -> %d\nstdout: %s\nstderr: %s" %
                         (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def commands(self):
        out = self.fangs("__commands").stdout.splitlines()
        return [(line.split("\t")[0].split(" "), line.split("\t")[1] == "creates") for line in out]


class EveryCommandTest(Base):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(self.tmp.name, "data", "fangs.db")
        os.mkdir(os.path.dirname(self.db))
        self.fangs("--sqlite-path", self.db, "events", "import", REC % "1.0.0", "--package", "p", "--version", "1")
        self.fangs("--sqlite-path", self.db, "allow", "add", "--kind", "dns", "--value", "example")
        self.fangs("--sqlite-path", self.db, "package", "add", "watched-one")
        self.digest = sha(self.db)
        self.data_files = listing(os.path.dirname(self.db))

    def assert_untouched(self, what):
        self.assertEqual(sha(self.db), self.digest, "%s changed the database" % what)
        self.assertEqual(listing(os.path.dirname(self.db)), self.data_files, "%s left files by the database" % what)
        self.assertEqual(os.listdir(self.cwd), [], "%s wrote into the working directory" % what)
        self.assertEqual(os.listdir(self.home), [], "%s wrote into the home directory" % what)

    def test_the_table_lists_the_commands(self):
        names = [" ".join(c) for c, _ in self.commands()]
        for must in ("scan", "scan submit", "events import", "events list", "run list", "run show", "run fail",
                     "pending", "deviation list", "deviation show", "baseline list", "baseline promote",
                     "package list", "package add", "package remove", "package reset", "release list",
                     "allow list", "allow add", "allow remove", "rules list", "rules show", "rules test", "prune",
                     "notifier add", "notifier list", "notifier remove", "notifier test", "notifier history",
                     "notifier deliver", "runner list", "ca init", "ca issue", "ca revoke", "version"):
            self.assertIn(must, names)
        self.assertEqual(len(names), len(set(names)))
        self.assertFalse([n for n in names if n.startswith("__")], "generators are hidden")

    def test_help_everywhere(self):
        for words, _ in self.commands():
            # alone, as -h, after an argument, and after another option
            variants = [words + ["--help"], words + ["-h"], words + ["NAME", "--help"],
                        words[:1] + ["--help"] + words[1:], words + ["--json", "-help"]]
            if words == ["trace"]:  # trace CMD --help: CMD's own
                variants.remove(words + ["NAME", "--help"])
            for args in variants:
                p = self.fangs("--sqlite-path", self.db, *args)
                self.assertTrue(p.stdout.startswith("usage: fangs %s" % " ".join(words)),
                                "fangs %s: %r" % (" ".join(args), p.stdout[:200]))
                self.assertEqual(p.stderr, "", " ".join(args))
                self.assert_untouched(" ".join(args))
        # the groups: help of the group on stdout; without a subcommand, on stderr
        leaves = {c[0] for c, _ in self.commands() if len(c) == 1}
        for group in sorted({c[0] for c, _ in self.commands() if len(c) == 2} - leaves):
            p = self.fangs(group, "--help")
            self.assertIn("usage: fangs %s COMMAND" % group, p.stdout)
            p = self.fangs(group, code=2)
            self.assertEqual(p.stdout, "")
            self.assertIn("usage: fangs %s COMMAND" % group, p.stderr)
            p = self.fangs(group, "no-such-subcommand", code=2)
            self.assertIn("unknown %s command" % group, p.stderr)
        self.assertIn("Commands:", self.fangs("--help").stdout)
        self.assertIn("Commands:", self.fangs("help").stdout)
        self.assertIn("usage: fangs run list", self.fangs("help", "run", "list").stdout)
        self.assertIn("usage: fangs run list", self.fangs("--sqlite-path", "--help", "run", "list").stdout)
        self.assertIn("usage: fangs run list", self.fangs("--config", "-h", "run", "list").stdout)
        self.assert_untouched("help")

    def test_help_does_nothing(self):
        # what users met: help that watched or removed a package named --help
        for verb in ("add", "remove", "reset"):
            p = self.fangs("--sqlite-path", self.db, "package", verb, "--help")
            self.assertIn("usage: fangs package %s NAME" % verb, p.stdout)
            p = self.fangs("--sqlite-path", self.db, "package", verb, "watched-one", "-h")
            self.assertIn("usage: fangs package %s NAME" % verb, p.stdout)
        self.assert_untouched("package --help")
        listed = self.fangs("--sqlite-path", self.db, "--json", "package", "list").stdout
        self.assertIn("watched-one", listed)
        self.assertNotIn("--help", listed)
        self.assertIn("usage: fangs pending", self.fangs("pending", "--help").stdout)
        self.assertIn("usage: fangs rules show ID", self.fangs("rules", "show", "--help").stdout)

    def test_trace_keeps_its_commands_arguments(self):
        if ["trace"] not in [c for c, _ in self.commands()]:
            self.skipTest("built without the sensor")  # -Dsensor=disabled: no trace command at all
        out = os.path.join(self.tmp.name, "trace.out")
        p = self.fangs("trace", "--output", out, "sh", "-c", 'echo "$@"', "x", "--help", "-v", "--json",
                       "--sqlite-path", "y")
        self.assertEqual(p.stdout, "--help -v --json --sqlite-path y\n")
        with open(out) as f:
            self.assertIn("exec", f.read())
        self.assertIn("usage: fangs trace", self.fangs("trace", "--output", out, "--help").stdout)

    def test_bad_option_everywhere(self):
        for words, _ in self.commands():
            for bad in ("--no-such-option", "-no-such-option", "--no-such-option=1"):
                p = self.fangs("--sqlite-path", self.db, *(words + [bad]), code=2)
                self.assertEqual(p.stdout, "", " ".join(words))
                self.assertIn("unknown option '%s'" % bad, p.stderr)
                self.assertIn("usage: fangs %s" % " ".join(words), p.stderr)
                self.assert_untouched(" ".join(words + [bad]))

    def test_usage_errors(self):
        db = ["--sqlite-path", self.db]
        cases = [
            (["run", "show"], "missing RUN"),
            (["run", "show", "a", "b"], "unexpected argument 'b'"),
            (["run", "list", "--limit", "x"], "--limit needs a number"),
            (["run", "list", "--limit"], "--limit needs a value"),
            (["run", "list", "--state", "sleeping"], "--state must be one of"),
            (["run", "list", "--baseline=yes"], "--baseline takes no value"),
            (["run", "list", "--package", "a", "--package", "b"], "--package given twice"),
            (["deviation", "list", "--min-severity", "loud"], "--min-severity"),
            (["scan", "--sandbox", "vm", "x"], "--sandbox must be one of ns|docker"),
            (["scan", "--duration", "0", "x"], "--duration needs a number of seconds"),
            (["scan"], "missing SPEC..."),
            (["events", "import", REC % "1.0.0"], "--package P is required"),
            (["events", "import", REC % "1.0.0", "--package", "p"], "--version V is required"),
            (["notifier", "add", "--name", "n", "--url", "https://h.example/"], "--template T is required"),
            (["allow", "add", "--kind", "color", "--value", "x"], "--kind must be one of"),
            (["rules", "test"], "missing FILE"),
            (["baseline", "list", "--fingerprints"], "--fingerprints needs --package"),
        ]
        for args, msg in cases:
            p = self.fangs(*(db + args), code=2)
            self.assertIn(msg, p.stderr, args)
            self.assertEqual(p.stdout, "", args)
            self.assert_untouched(" ".join(args))
        # a unique prefix of an option, as before
        self.fangs(*(db + ["run", "list", "--lim", "1"]))
        self.fangs(*(db + ["unknown-command"]), code=2)

    def test_run_id_prefixes_and_pending_state(self):
        db = ["--sqlite-path", self.db]
        self.fangs(*(db + ["events", "import", REC % "1.0.1", "--package", "p", "--version", "2"]))
        held = self.fangs(*(db + ["--json", "events", "import", REC % "1.1.0", "--package", "p", "--version", "3"]),
                          code=3)
        runs = json.loads(self.fangs(*(db + ["--json", "run", "list"])).stdout)
        held_id = json.loads(held.stdout)["run"]["id"]
        ids = [r["id"] for r in runs]
        self.assertEqual(len(ids), 3)
        # the shortest prefix that names one run
        for n in range(1, len(held_id) + 1):
            if sum(i.startswith(held_id[:n]) for i in ids) == 1:
                break
        prefix = held_id[:n]
        shown = json.loads(self.fangs(*(db + ["--json", "run", "show", prefix])).stdout)
        self.assertEqual(shown["id"], held_id)
        self.assertIn(held_id, self.fangs(*(db + ["events", "list", prefix])).stdout + held_id)
        devs = json.loads(self.fangs(*(db + ["--json", "deviation", "list", "--run", prefix])).stdout)
        self.assertTrue(devs and all(d["run_id"] == held_id for d in devs))
        # ambiguous: every candidate listed, exit 1
        common = os.path.commonprefix(ids)
        p = self.fangs(*(db + ["run", "show", common]), code=1)
        self.assertIn("is the start of 3 run ids", p.stderr)
        for i in ids:
            self.assertIn(i, p.stderr)
        p = self.fangs(*(db + ["run", "show", "zz-none"]), code=1)
        self.assertIn("no run 'zz-none'", p.stderr)
        # pending is the word the tool uses for runs that wait for review
        pend = json.loads(self.fangs(*(db + ["--json", "run", "list", "--state", "pending"])).stdout)
        self.assertEqual([r["id"] for r in pend], [held_id])
        self.assertEqual(pend, json.loads(self.fangs(*(db + ["--json", "pending"])).stdout))
        # promote by prefix
        self.fangs(*(db + ["baseline", "promote", prefix]))
        self.assertEqual(json.loads(self.fangs(*(db + ["--json", "pending"])).stdout), [])


class StorageTest(Base):
    def test_read_commands_never_create_a_database(self):
        default = os.path.join(self.home, "state", "fangs", "fangs.db")
        reads = [c for c, creates in self.commands() if not creates]
        for args in (["run", "list"], ["pending"], ["deviation", "list"], ["baseline", "list"],
                     ["package", "list"], ["release", "list"], ["allow", "list"], ["runner", "list"],
                     ["notifier", "list"], ["notifier", "history"], ["run", "show", "r1"], ["events", "list", "r1"],
                     ["package", "remove", "x"], ["prune"]):
            self.assertIn(args[:2] if len(args) > 1 and args[1] not in ("r1", "x") else args[:1] if
                          args[0] in ("pending", "prune") else args[:2], reads)
            p = self.fangs(*args, code=1)
            self.assertIn("no database at %s (the default location)" % default, p.stderr)
            self.assertEqual(p.stdout, "")
        self.assertEqual(os.listdir(self.home), [])
        self.assertEqual(os.listdir(self.cwd), [], "no ./fangs.db")
        # the environment and the configuration say where to look, and the message says which
        p = self.fangs("run", "list", code=1, env={"FANGS_DB": os.path.join(self.tmp.name, "e.db")})
        self.assertIn("e.db ($FANGS_DB)", p.stderr)
        cfg = os.path.join(self.tmp.name, "c.yaml")
        with open(cfg, "w") as f:
            f.write("storage:\n  sqlite_path: %s\n" % os.path.join(self.tmp.name, "c.db"))
        p = self.fangs("--config", cfg, "run", "list", code=1)
        self.assertIn("c.db (storage.sqlite_path of the configuration)", p.stderr)
        p = self.fangs("--sqlite-path", "x.db", "run", "list", code=1)
        self.assertIn("no database at x.db (--sqlite-path)", p.stderr)
        self.assertFalse(os.listdir(self.cwd))

    def test_write_commands_create_it_at_the_default_location(self):
        default = os.path.join(self.home, "state", "fangs", "fangs.db")
        self.fangs("events", "import", REC % "1.0.0", "--package", "p", "--version", "1")
        self.assertTrue(os.path.isfile(default))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(default)).st_mode), 0o700)
        self.assertEqual(os.listdir(self.cwd), [])
        self.assertIn("p", self.fangs("run", "list").stdout)
        # without XDG_STATE_HOME: ~/.local/state, or /var/lib/fangs for root
        env = dict(self.env)
        del env["XDG_STATE_HOME"]
        p = subprocess.run([FANGS, "run", "list"], capture_output=True, text=True, cwd=self.cwd, env=env)
        want = "/var/lib/fangs/fangs.db" if os.geteuid() == 0 else os.path.join(self.home, ".local", "state",
                                                                                  "fangs", "fangs.db")
        if os.path.exists(want):  # a real installation on this machine: then it is read
            self.assertEqual(p.returncode, 0, p.stderr)
        else:
            self.assertEqual(p.returncode, 1)
            self.assertIn("no database at %s (the default location)" % want, p.stderr)
        # FANGS_DB wins over the configuration and the default, --sqlite-path over FANGS_DB
        other = os.path.join(self.tmp.name, "other", "f.db")
        self.fangs("package", "add", "only-in-other", env={"FANGS_DB": other})
        self.assertIn("only-in-other", self.fangs("package", "list", env={"FANGS_DB": other}).stdout)
        self.assertNotIn("only-in-other", self.fangs("package", "list").stdout)
        self.assertNotIn("only-in-other", self.fangs("--sqlite-path", default, "package", "list",
                                                     env={"FANGS_DB": other}).stdout)

    def test_postgres_dsn_implies_postgres(self):
        dsn = "host=127.0.0.1 port=1 dbname=none connect_timeout=2"
        p = self.fangs("--postgres-dsn", dsn, "run", "list", code=1)
        self.assertNotIn("no runs", p.stdout)
        self.assertIn("storage", p.stderr)
        self.assertNotIn("no database at", p.stderr, "it must not read an SQLite file")
        p = self.fangs("run", "list", code=1, env={"FANGS_POSTGRES_DSN": dsn})
        self.assertNotIn("no database at", p.stderr)
        # two databases named at once
        p = self.fangs("--postgres-dsn", dsn, "--sqlite-path", "x.db", "run", "list", code=2)
        self.assertIn("--sqlite-path and --postgres-dsn", p.stderr)
        self.fangs("--storage", "sqlite", "--postgres-dsn", dsn, "run", "list", code=2)
        self.fangs("--storage", "postgres", "--sqlite-path", "x.db", "run", "list", code=2)
        p = self.fangs("run", "list", code=2, env={"FANGS_DB": "a.db", "FANGS_POSTGRES_DSN": dsn})
        self.assertIn("name two databases", p.stderr)
        # --storage chooses between the two in the environment
        p = self.fangs("--storage", "sqlite", "run", "list", code=1,
                       env={"FANGS_DB": os.path.join(self.tmp.name, "a.db"), "FANGS_POSTGRES_DSN": dsn})
        self.assertIn("a.db ($FANGS_DB)", p.stderr)
        self.assertEqual(os.listdir(self.cwd), [])


class PostgresTest(Base):
    """--postgres-dsn alone reads and writes PostgreSQL, on a private server."""

    def setUp(self):
        super().setUp()
        if os.environ.get("FANGS_HAVE_POSTGRES") != "1":
            self.skipTest("built without the postgres backend (-Dpostgres=disabled)")
        dsn = os.environ.get("FANGS_TEST_POSTGRES_DSN")
        if dsn:
            self.dsn = dsn
            return
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.assertTrue(bins, "PostgreSQL server programs are needed (scripts/setup installs them)")
        bindir = os.path.dirname(bins[-1])
        self.server = tempfile.mkdtemp(prefix="fangs-cli-pg-")
        demote = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.server, pw.pw_uid, pw.pw_gid)

            def demote():
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            port = sk.getsockname()[1]
        data = os.path.join(self.server, "data")
        self.ctl = [os.path.join(bindir, "pg_ctl"), "-D", data]
        self.demote = demote
        subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "fangs", "-E", "UTF8",
                        "--locale=C", "-N"], check=True, capture_output=True, preexec_fn=demote, cwd=self.server)
        subprocess.run(self.ctl + ["-l", os.path.join(self.server, "log"), "-w", "-t", "60", "-o",
                                   "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, self.server),
                                   "start"], check=True, capture_output=True, preexec_fn=demote, cwd=self.server)
        self.dsn = "host=127.0.0.1 port=%d user=fangs dbname=postgres" % port

    def tearDown(self):
        if getattr(self, "ctl", None):
            subprocess.run(self.ctl + ["-m", "immediate", "stop"], capture_output=True, preexec_fn=self.demote,
                           cwd=self.server)
            shutil.rmtree(self.server, ignore_errors=True)
        super().tearDown()

    def test_dsn_alone_is_postgres(self):
        self.fangs("--postgres-dsn", self.dsn, "events", "import", REC % "1.0.0", "--package", "pg-only",
                   "--version", "1")
        runs = json.loads(self.fangs("--postgres-dsn", self.dsn, "--json", "run", "list").stdout)
        self.assertIn("pg-only", [r["package"] for r in runs])
        # the run's stored event count is what the import stored
        run = [r for r in runs if r["package"] == "pg-only"][0]
        evs = self.fangs("--postgres-dsn", self.dsn, "--json", "events", "list", run["id"]).stdout
        evs = [line for line in evs.splitlines() if line.strip()]
        self.assertTrue(evs)
        self.assertEqual(run["event_count"], len(evs))
        runs = json.loads(self.fangs("--json", "run", "list", env={"FANGS_POSTGRES_DSN": self.dsn}).stdout)
        self.assertIn("pg-only", [r["package"] for r in runs])
        self.assertEqual(os.listdir(self.cwd), [])
        self.assertEqual(os.listdir(self.home), [], "no SQLite file was made on the side")


class GeneratedTest(Base):
    def test_man_pages(self):
        self.assertTrue(MAN_DIR and os.path.isdir(MAN_DIR), "FANGS_MAN_DIR")
        cmds = self.commands()
        tops = sorted({c[0] for c, _ in cmds})
        pages = sorted(n for n in os.listdir(MAN_DIR) if n.endswith(".1"))
        self.assertEqual(pages, sorted(["fangs.1"] + ["fangs-%s.1" % t for t in tops]))
        main = open(os.path.join(MAN_DIR, "fangs.1")).read()
        for t in tops:
            self.assertIn("fangs\\-%s" % t, main)
        for words, _ in cmds:
            page = open(os.path.join(MAN_DIR, "fangs-%s.1" % words[0])).read()
            self.assertIn('.SS "fangs %s"' % " ".join(words), page)
        if shutil.which("groff"):
            for n in pages:
                p = subprocess.run(["groff", "-ww", "-z", "-man", os.path.join(MAN_DIR, n)], capture_output=True,
                                   text=True)
                self.assertEqual((p.returncode, p.stderr), (0, ""), n)
        # the build's pages are what the table makes now
        out = os.path.join(self.tmp.name, "man")
        os.mkdir(out)
        self.fangs("__man", out, *pages)
        for n in pages:
            with open(os.path.join(out, n)) as a, open(os.path.join(MAN_DIR, n)) as b:
                self.assertEqual(a.read(), b.read(), n)
        # a page list that misses a command fails
        p = self.fangs("__man", out, *[n for n in pages if n != "fangs-run.1"], code=1)
        self.assertIn("fangs-run.1 is not in the build's list", p.stderr)

    def test_completions(self):
        self.assertTrue(COMPLETIONS_DIR and os.path.isdir(COMPLETIONS_DIR), "FANGS_COMPLETIONS_DIR")
        for sh, name in (("bash", "fangs"), ("zsh", "_fangs"), ("fish", "fangs.fish")):
            path = os.path.join(COMPLETIONS_DIR, name)
            with open(path) as f:
                self.assertEqual(f.read(), self.fangs("__complete", sh).stdout, name)
            exe = shutil.which(sh)
            self.assertTrue(exe, "%s is needed to check its completion (scripts/setup installs it)" % sh)
            p = subprocess.run([exe, "-n", path], capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), name)
        self.fangs("__complete", "tcsh", code=2)

        def complete(*words):
            script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _fangs; printf "%%s\\n" "${COMPREPLY[@]}"' %
                      (os.path.join(COMPLETIONS_DIR, "fangs"), " ".join("'%s'" % w for w in words),
                       len(words) - 1))
            return subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout.split()

        cmds = self.commands()
        tops = sorted({c[0] for c, _ in cmds})
        self.assertEqual(sorted(w for w in complete("fangs", "") if not w.startswith("-")), tops)
        for words, _ in cmds:
            if len(words) == 2:
                self.assertIn(words[1], complete("fangs", words[0], ""))
        self.assertEqual(complete("fangs", "scan", "--sandbox", ""), ["ns", "docker"])
        self.assertEqual(complete("fangs", "deviation", "list", "--min-severity", "c"), ["critical"])
        self.assertIn("--fail-on", complete("fangs", "events", "import", "--"))
        self.assertIn("--state", complete("fangs", "run", "list", "--s"))
        fish = subprocess.run(["fish", "-c", "source %s; complete -C 'fangs run '" %
                               os.path.join(COMPLETIONS_DIR, "fangs.fish")], capture_output=True, text=True)
        self.assertEqual(sorted(line.split("\t")[0] for line in fish.stdout.splitlines()), ["analyze", "fail", "list", "show"])


class DocsTest(Base):
    def test_cli_md_covers_every_command(self):
        with open(os.path.join(ROOT, "docs", "cli.md")) as f:
            doc = f.read()
        missing = [" ".join(c) for c, _ in self.commands() if "`%s" % " ".join(c) not in doc]
        self.assertEqual(missing, [], "commands of the table missing from docs/cli.md")

    def test_offline_examples(self):
        """The README's and docs/cli.md's example blocks tagged `sh offline`:
        each line runs from the source tree and exits as its `# exit N`
        comment says (0 when none)."""
        bindir = os.path.join(self.tmp.name, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(FANGS), os.path.join(bindir, "fangs"))
        env = dict(self.env, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                   FANGS_DB=os.path.join(self.tmp.name, "examples.db"),
                   FANGS_CA_DIR=os.path.join(self.tmp.name, "ca"))
        ran = 0
        for doc in ("README.md", os.path.join("docs", "cli.md")):
            with open(os.path.join(ROOT, doc)) as f:
                text = f.read()
            blocks = re.findall(r"```sh offline\n(.*?)```", text, re.S)
            self.assertTrue(blocks, "%s has no `sh offline` example block" % doc)
            for block in blocks:
                for line in block.splitlines():
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    m = re.search(r"#\s*exit (\d+)", line)
                    want = int(m.group(1)) if m else 0
                    cmd = line.split(" #")[0].strip()
                    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, cwd=ROOT, env=env,
                                       timeout=120)
                    self.assertEqual(p.returncode, want, "%s: %s\nstdout: %s\nstderr: %s" %
                                     (doc, cmd, p.stdout[-2000:], p.stderr[-2000:]))
                    ran += 1
        self.assertGreater(ran, 5)
        self.assertFalse(os.path.exists(os.path.join(ROOT, "fangs.db")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
