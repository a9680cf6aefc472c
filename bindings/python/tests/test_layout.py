"""Every ctypes mirror of a C struct (fangs/_types.py) against the C compiler:
the struct's size and each field's offset, and the binding's constants
against the headers' macros. The probe program is generated from the
mirrors and built by meson (FANGS_LAYOUT_PROBE); without meson, give its
path in that variable."""

import ctypes
import importlib.util
import json
import os
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("fangs_types_probe", os.path.join(HERE, "..", "fangs", "_types.py"))
T = importlib.util.module_from_spec(spec)
spec.loader.exec_module(T)


class LayoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        probe = os.environ["FANGS_LAYOUT_PROBE"]
        cls.c = json.loads(subprocess.run([probe], check=True, capture_output=True, text=True).stdout)

    def test_every_mirror_is_probed(self):
        self.assertEqual(set(self.c["structs"]), {cname for cname, _ in T.MIRRORS.values()})

    def test_sizes_and_offsets(self):
        for cls, (cname, whole) in T.MIRRORS.items():
            with self.subTest(struct=cname):
                c = self.c["structs"][cname]
                for name, *_ in cls._fields_:
                    self.assertEqual(getattr(cls, name).offset, c["fields"][name],
                                     "%s.%s: offset in C %d, in the binding %d" %
                                     (cname, name, c["fields"][name], getattr(cls, name).offset))
                if whole:
                    self.assertEqual(ctypes.sizeof(cls), c["size"],
                                     "%s: %d bytes in C, %d in the binding (a field is missing?)" %
                                     (cname, c["size"], ctypes.sizeof(cls)))
                else:
                    self.assertLessEqual(ctypes.sizeof(cls), c["size"])

    def test_constants(self):
        for name, value in T.CONSTANTS.items():
            with self.subTest(constant=name):
                self.assertEqual(self.c["constants"][name], value)

    def test_probe_sees_a_wrong_mirror(self):
        # the comparison itself: a mirror missing its last field is caught by the size
        class Short(ctypes.Structure):
            _fields_ = T.Run._fields_[:-1]
        self.assertNotEqual(ctypes.sizeof(Short), self.c["structs"]["fangs_run"]["size"])


if __name__ == "__main__":
    unittest.main()
