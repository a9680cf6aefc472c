"""Python binding of libfangs (ctypes).

    import fangs
    with fangs.Storage(sqlite_path="fangs.db") as st:
        result = st.import_events("rec.ndjson", package="left-pad", version="1.3.0")
        for dev in result.deviations:
            print(dev["severity"], dev["kind"], dev["value"], dev["origin"])

The shared library is found through FANGS_LIBRARY (a path), then the soname
libfangs.so.0, then ctypes.util.find_library("fangs").
"""

from ._lib import FangsError, lib, version
from .api import Analysis, Storage, parse_events, severity_names

__all__ = ["Analysis", "FangsError", "Storage", "lib", "parse_events", "severity_names", "version"]
