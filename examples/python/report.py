#!/usr/bin/env python3
"""Imports NDJSON recordings of successive releases and prints what is new.

    PYTHONPATH=bindings/python python3 examples/python/report.py fangs.db example-banner \\
        examples/recordings/example-banner-1.0.0.ndjson:1.0.0 \\
        examples/recordings/example-banner-1.1.0.ndjson:1.1.0
"""
import sys

import fangs


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    db, package, recordings = argv[1], argv[2], argv[3:]
    with fangs.Storage(db) as st:
        for item in recordings:
            path, _, version = item.rpartition(":")
            try:
                result = st.import_events(path, package, version)
            except fangs.Error as e:
                print("%s: %s" % (path, e), file=sys.stderr)
                return 1
            print("%s@%s: %s, %d deviations" % (package, version, result.baseline, len(result.deviations)))
            for d in result.deviations:
                origin = d.origin
                print("  %-8s %-20s %s  (%s %s)" % (d.severity, d.kind, d.value,
                                                    origin.package if origin else "npm",
                                                    origin.script if origin else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
