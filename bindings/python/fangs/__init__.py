"""Python binding of libfangs (ctypes): the library behind the `fangs` CLI.

    import fangs
    with fangs.Storage("fangs.db") as st:
        result = st.import_events("rec.ndjson", package="left-pad", version="1.3.0")
        for d in result.deviations:
            print(d.severity, d.kind, d.value, d.origin)

See docs/python.md. The shared library is found through $FANGS_LIB (a
path), then where `meson install` put it, then the soname libfangs.so.0,
then a build directory of the source tree this package sits in.
"""

from ._lib import (BusyError, CanceledError, ConfigError, Error, ExistsError, FileNotFound, InvalidError,
                   IOFailure, NetworkError, NotFoundError, OutOfMemoryError, ParseError, PermissionDenied,
                   SandboxError, SensorError, StorageError, TimeoutFailure, UnsupportedError, VersionError, lib,
                   library_version)
from .api import (Config, Rules, Storage, check_package_name, check_package_version, default_database, parse_events,
                  read_events, set_log, severity_names)
from .model import (AllowEntry, Analysis, Ancestor, Counts, DeliveryStats, Deviation, Event, Finding, Fingerprint, Job,
                    Notification, NotifierTarget, NotifierTestResult, Origin, Package, Probe, PruneStats, Release,
                    Rule, Run, RunReport, Runner, ScanResult, SensorStats, Severity)
from .scan import ScanStream, Sensor, Trace, check_sensor, scan_stream, trace

__version__ = "0.1.0"

# the name of the first versions of this binding
FangsError = Error


def version() -> str:
    """The loaded library's version (fangs_version())."""
    return library_version()


__all__ = [
    "AllowEntry", "Analysis", "Ancestor", "BusyError", "CanceledError", "Config", "ConfigError", "Counts",
    "DeliveryStats", "Deviation", "Error", "Event", "ExistsError", "FangsError", "FileNotFound", "Finding",
    "Fingerprint", "IOFailure",
    "InvalidError", "Job", "NetworkError", "NotFoundError", "Notification", "NotifierTarget", "NotifierTestResult",
    "Origin", "OutOfMemoryError", "Package", "ParseError", "PermissionDenied", "Probe", "PruneStats", "Release",
    "Rule", "Rules", "Run", "RunReport", "Runner", "SandboxError", "ScanResult", "ScanStream", "Sensor", "SensorError", "SensorStats",
    "Severity", "Storage", "StorageError", "TimeoutFailure", "Trace", "UnsupportedError", "VersionError",
    "check_package_name", "check_package_version", "check_sensor", "default_database", "lib", "library_version", "parse_events", "read_events", "scan_stream",
    "set_log", "severity_names", "trace", "version",
]
