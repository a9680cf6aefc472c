#!/usr/bin/env python3
"""Writes a C program that prints, as JSON, the size of every struct the
binding mirrors (fangs/_types.py MIRRORS), the offset of each of the
mirror's fields in the C struct, and the C value of the binding's
constants. A field the C struct lacks is a compile error.

    gen_layout.py TYPES_PY OUT_C
"""
import importlib.util
import sys


def load_types(path):
    spec = importlib.util.spec_from_file_location("fangs_types_probe", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    T = load_types(argv[1])
    out = ['#include <fangs/fangs.h>', '#include <stddef.h>', '#include <stdio.h>', '',
           'int main(void)', '{', '\tprintf("{\\"structs\\": {\\n");']
    n = len(T.MIRRORS)
    for i, (cls, (cname, _whole)) in enumerate(T.MIRRORS.items()):
        out.append('\tprintf("\\"%s\\": {\\"size\\": %%zu, \\"fields\\": {", sizeof(%s));' % (cname, cname))
        names = [f[0] for f in cls._fields_]
        for j, name in enumerate(names):
            out.append('\tprintf("\\"%s\\": %%zu%s", offsetof(%s, %s));' % (name, ", " if j + 1 < len(names) else "",
                                                                         cname, name))
        out.append('\tprintf("}}%s\\n");' % ("," if i + 1 < n else ""))
    out.append('\tprintf("}, \\"constants\\": {\\n");')
    items = list(T.CONSTANTS.items())
    for i, (name, _value) in enumerate(items):
        out.append('\tprintf("\\"%s\\": %%lld%s\\n", (long long)(%s));' % (name, "," if i + 1 < len(items) else "",
                                                                         name))
    out.append('\tprintf("}}\\n");')
    out.append('\treturn 0;')
    out.append('}')
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
