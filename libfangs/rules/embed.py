#!/usr/bin/env python3
"""Writes a C file defining one string with the contents of a text file:
the built-in rules travel inside the library, wherever it is installed."""
import sys

src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
with open(dst, "w") as out:
    out.write("/* generated from %s: do not edit */\n" % src.split("/")[-1])
    out.write("const char %s[] = {\n" % name)
    for i in range(0, len(data), 16):
        out.write("".join("%d," % b for b in data[i:i + 16]) + "\n")
    out.write("0};\n")
