"""Lists of names kept outside the library, against the library: event
kinds (docs, the web UI, error messages), sandbox and storage backends (the
CLI's choices, the Python binding). A name added to the library and not to
one of these lists, or the other way round, fails here; docs/contributing.md
says which file holds each list."""

import ctypes
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import fangs  # noqa: E402
from fangs import scan as fangs_scan  # noqa: E402
from fangs._lib import lib, name_list  # noqa: E402

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(HERE, "..", "..", ".."))


def source(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def c_enum(header, prefix):
    """{enumerator: value} of the enumerators named prefix* with an explicit value."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(%s\w+)\s*=\s*(\d+)" % prefix, source(*header))}


def c_define(header, name):
    return int(re.search(r"#define %s (\d+)" % name, source(*header)).group(1))


lib.fangs_event_kind_name.restype = ctypes.c_char_p
lib.fangs_event_kind_name.argtypes = [ctypes.c_int]
lib.fangs_event_kind_parse.restype = ctypes.c_int
lib.fangs_event_kind_parse.argtypes = [ctypes.c_char_p]
lib.fangs_allow_kind_name.restype = ctypes.c_char_p
lib.fangs_allow_kind_name.argtypes = [ctypes.c_int]


def kind_name(k):
    return lib.fangs_event_kind_name(k).decode()


class EventKinds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        header = ("include", "fangs", "event.h")
        cls.max = c_define(header, "FANGS_EV_KIND_MAX")
        cls.enum = c_enum(header, "FANGS_EV_")
        cls.kinds = [kind_name(k) for k in range(1, cls.max + 1)]

    def test_max_is_the_last_kind(self):
        self.assertEqual(max(self.enum.values()), self.max, "FANGS_EV_KIND_MAX is not the last fangs_event_kind")
        self.assertEqual(sorted(self.enum.values()), list(range(self.max + 1)), "kinds are numbered without holes")

    def test_library_names_every_kind_and_no_more(self):
        self.assertEqual(len(set(self.kinds)), self.max)
        self.assertNotIn("none", self.kinds)
        for k, name in enumerate(self.kinds, 1):
            self.assertEqual(lib.fangs_event_kind_parse(name.encode()), k)
        # a kind named by the library beyond FANGS_EV_KIND_MAX: the macro was not moved
        self.assertEqual(kind_name(self.max + 1), "none")

    def test_docs_events(self):
        text = source("docs", "events.md")
        table = text[text.index("\n## Kinds"):]
        table = table[:table.index("\n#", 1)]
        self.assertEqual(sorted(re.findall(r"^\| `(\w+)` \|", table, re.M)), sorted(self.kinds))

    def test_docs_rules(self):
        line = next(l for l in source("docs", "rules.md").splitlines() if l.startswith("| `kind` |"))
        self.assertEqual(sorted(re.findall(r"`(\w+)`", line.split("(", 1)[1])), sorted(self.kinds))

    def test_web_ui(self):
        m = re.search(r"const KINDS = \[(.*?)\];", source("tools", "ui", "assets", "app.js"), re.S)
        self.assertEqual(sorted(re.findall(r'"(\w+)"', m.group(1))), sorted(self.kinds))

    def test_messages_that_list_the_kinds(self):
        for parts, start in ((("libfangs", "rules", "parse.c"), "unknown event kind"),
                             (("tools", "common", "webapi.c"), 'parameter \\"kind\\": expected')):
            text = source(*parts)
            i = text.rindex('"', 0, text.index(start))
            msg = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text[i:text.index(";", i)]))
            listed = re.findall(r"\b([a-z]+_[a-z_]+|exec|syscall)\b", msg.split("expected", 1)[1])
            self.assertEqual(sorted(listed), sorted(self.kinds), "/".join(parts))


def public_enums():
    """{typedef name: {enumerator: value}} of every public enum with a
    fangs_<type>_name() function, parsed from include/fangs/."""
    out, names = {}, set()
    inc = os.path.join(ROOT, "include", "fangs")
    texts = [source("include", "fangs", f) for f in sorted(os.listdir(inc)) if f.endswith(".h")]
    for text in texts:
        names.update(re.findall(r"\) (fangs_\w+)_name\((fangs_\w+) \w+\);", text))
    named = {t for fn, t in names if fn == t}
    for text in texts:
        for m in re.finditer(r"typedef enum (fangs_\w+) \{(.*?)\} \1;", text, re.S):
            if m.group(1) in named:
                body = re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S)
                out[m.group(1)] = {k: int(v) for k, v in re.findall(r"\b(FANGS_\w+)\s*=\s*(-?\d+)", body)}
    return out


class EnumNames(unittest.TestCase):
    """Every value of a public enum has a name, and the names end with the
    enum: a value appended to the enum and not to its name table, or a
    table longer than the enum, fails."""

    def test_every_enum_value_is_named(self):
        enums = public_enums()
        self.assertGreaterEqual(len(enums), 15, sorted(enums))
        for t, values in enums.items():
            fn = getattr(lib, t + "_name")
            fn.restype, fn.argtypes = ctypes.c_char_p, [ctypes.c_int]
            unknown = fn(1000)
            last = max(values.values())
            self.assertEqual(fn(last + 1), unknown, "%s_name names a value past the enum's last" % t)
            named = {}
            for k, v in values.items():
                if t == "fangs_event_kind" and v == 0:
                    continue  # FANGS_EV_NONE is named as the fallback, "none"
                self.assertNotEqual(fn(v), unknown, "%s_name(%s) has no name" % (t, k))
                named[fn(v)] = k
            self.assertEqual(len(named), len(values) - (t == "fangs_event_kind"), "%s: two values, one name" % t)


class AllowKinds(unittest.TestCase):
    def test_web_ui(self):
        n = max(c_enum(("include", "fangs", "config.h"), "FANGS_ALLOW_").values())
        names = [lib.fangs_allow_kind_name(k).decode() for k in range(n + 1)]
        m = re.search(r"const ALLOW_KINDS = \[(.*?)\];", source("tools", "ui", "assets", "app.js"), re.S)
        self.assertEqual(re.findall(r'"(\w+)"', m.group(1)), names)


class Backends(unittest.TestCase):
    def cli_choices(self, option):
        return sorted(set(re.findall(r'\{"%s", 0, CLI_CHOICE, "\w+", "([\w|]+)"' % option,
                                     source("tools", "fangs", "cmdtab.c"))))

    def test_sandbox(self):
        names = name_list(lib.fangs_sandbox_backend_names)
        self.assertEqual(names, ("ns", "docker"))
        self.assertEqual(fangs_scan._SANDBOXES, names)
        self.assertEqual(self.cli_choices("sandbox"), ["|".join(names)])

    def test_storage(self):
        names = name_list(lib.fangs_storage_backend_names)
        self.assertEqual(names, ("sqlite", "postgres"))
        self.assertEqual(self.cli_choices("storage"), ["|".join(names)])
        with self.assertRaisesRegex(fangs.InvalidError, "backend must be sqlite or postgres, not 'mysql'"):
            fangs.Storage(":memory:", backend="mysql")


class StorageHooks(unittest.TestCase):
    """A storage operation is a hook of fangs_storage_backend: each built-in
    backend sets every hook the header does not call optional (a NULL hook
    answers FANGS_EUNSUPPORTED at run time, which no compiler sees)."""

    def test_every_backend_sets_every_mandatory_hook(self):
        h = source("include", "fangs", "sys", "storage_backend.h")
        body = h[h.index("struct fangs_storage_backend {"):]
        body = body[:body.index("\n};")]
        mandatory, optional = set(), set()
        for m in re.finditer(r"\(\*(\w+)\)\(", body):
            before = body[:m.start()]
            decl = before[max(before.rfind(";"), before.rfind("{")) + 1:]
            (optional if "Optional" in decl else mandatory).add(m.group(1))
        self.assertGreater(len(mandatory), 40)
        for d, f in (("sqlite", "sqlite.c"), ("postgres", "postgres.c")):
            text = source("libfangs", "storage", d, f)
            got = set(re.findall(r"^\t\.(\w+) = ", text, re.M))
            self.assertEqual(sorted(mandatory - got), [], "hooks %s leaves NULL" % f)
            self.assertEqual(sorted(got - mandatory - optional - {"name", "version"}), [], f)


class BuiltinRules(unittest.TestCase):
    def test_docs_list_every_builtin_rule(self):
        ids = re.findall(r"^  - id: ([\w.-]+)", source("libfangs", "rules", "builtin.yaml"), re.M)
        text = source("docs", "rules.md")
        table = text[text.index("\n## Built-in rules"):]
        table = table[:table.index("\n### ")]
        self.assertEqual(sorted(re.findall(r"^\| `([\w.-]+)` \|", table, re.M)), sorted(ids))


if __name__ == "__main__":
    unittest.main()
