"""Loading libfangs, its errors, and the prototypes of the functions used."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Dict, Optional, Type

from . import _types as T

SONAME = "libfangs.so.0"
# The library's major.minor this binding is written for (fangs/common.h).
BINDING_VERSION = (T.CONSTANTS["FANGS_VERSION_MAJOR"], T.CONSTANTS["FANGS_VERSION_MINOR"])


class Error(Exception):
    """A libfangs call failed. .code is the FANGS_E* code (negative),
    .message the library's message (fangs_error_last())."""

    code = -1

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class OutOfMemoryError(Error, MemoryError):
    code = -2


class InvalidError(Error, ValueError):
    code = -3


class NotFoundError(Error, LookupError):
    code = -4


class FileNotFound(NotFoundError, FileNotFoundError):
    """A path given to the binding does not exist (nothing was read)."""

    def __init__(self, path: str):
        NotFoundError.__init__(self, "%s: no such file or directory" % path)
        self.filename = path
        self.errno = 2
        self.strerror = "No such file or directory"

    def __str__(self) -> str:
        return self.message


class ExistsError(Error):
    code = -5


class IOFailure(Error):
    code = -6


class ParseError(Error, ValueError):
    code = -7


class StorageError(Error):
    code = -8


class VersionError(Error):
    code = -9


class PermissionDenied(Error, PermissionError):
    code = -10

    def __str__(self) -> str:
        return self.message


class UnsupportedError(Error):
    code = -11


class TimeoutFailure(Error, TimeoutError):
    code = -12

    def __str__(self) -> str:
        return self.message


class BusyError(Error):
    code = -13


class NetworkError(Error):
    code = -14


class SandboxError(Error):
    code = -15


class SensorError(Error):
    code = -16


class UserAbort(Error):
    code = -17


class ConfigError(Error):
    code = -18


class CanceledError(Error):
    code = -19


for _c in list(globals().values()):
    if isinstance(_c, type) and issubclass(_c, Error):
        _c.__module__ = "fangs"  # as users name them: fangs.NotFoundError

ERRORS: Dict[int, Type[Error]] = {c.code: c for c in (
    OutOfMemoryError, InvalidError, NotFoundError, ExistsError, IOFailure, ParseError, StorageError, VersionError,
    PermissionDenied, UnsupportedError, TimeoutFailure, BusyError, NetworkError, SandboxError, SensorError,
    UserAbort, ConfigError, CanceledError)}


def _candidates():
    for var in ("FANGS_LIB", "FANGS_LIBRARY"):
        v = os.environ.get(var)
        if v:
            return [v], True
    names = []
    here = os.path.dirname(os.path.abspath(__file__))
    try:  # written by meson install: the libdir the library went to
        from ._paths import LIBDIR  # type: ignore
        names.append(os.path.join(LIBDIR, SONAME))
    except ImportError:
        pass
    names.append(SONAME)
    # a source checkout: bindings/python/fangs -> <root>/build*/libfangs/
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if os.path.isdir(os.path.join(root, "libfangs")):
        for entry in sorted(os.listdir(root)):
            p = os.path.join(root, entry, "libfangs", SONAME)
            if entry.startswith("build") and os.path.exists(p):
                names.append(p)
    found = ctypes.util.find_library("fangs")
    if found:
        names.append(found)
    return names, False


def _load() -> ctypes.CDLL:
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    hint = "" if explicit else " (set FANGS_LIB to the path of libfangs.so.0)"
    raise ImportError("cannot load libfangs%s: %s" % (hint, "; ".join(errors)))


lib = _load()
lib.fangs_version.restype = ctypes.c_char_p
lib.fangs_version.argtypes = []


def library_version() -> str:
    """The loaded library's version string."""
    return lib.fangs_version().decode()


def _check_version() -> None:
    v = library_version()
    try:
        major, minor = (int(x) for x in v.split(".")[:2])
    except ValueError:
        raise ImportError("libfangs reports an unreadable version %r" % v) from None
    if (major, minor) != BINDING_VERSION:
        raise ImportError("libfangs %s was loaded (%s) but this binding is for libfangs %d.%d.x: install the "
                          "matching library, or point FANGS_LIB at it" % (v, lib._name, *BINDING_VERSION))


_check_version()


def error_from(rc: int) -> Error:
    """The exception for a FANGS_E* code, with the thread's last message."""
    msg = lib.fangs_error_last()
    text = msg.decode("utf-8", "replace") if msg else ""
    if not text:
        text = lib.fangs_strerror(rc).decode()
    return ERRORS.get(rc, Error)(text, rc)


def _check(rc, func, args):
    if rc < 0:
        raise error_from(rc)
    return rc


c_int, c_char_p, c_void_p, c_size_t = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t
c_uint, c_int64, c_uint64 = ctypes.c_uint, ctypes.c_int64, ctypes.c_uint64
P = ctypes.POINTER
CHECK = "check"

# (name, argtypes, restype, errcheck)
_PROTOTYPES = [
    ("fangs_strerror", [c_int], c_char_p, None),
    ("fangs_error_last", [], c_char_p, None),
    ("fangs_error_clear", [], None, None),
    ("fangs_severity_name", [c_int], c_char_p, None),
    ("fangs_log_set", [T.LOG_FN, c_int, c_void_p], None, None),
    ("fangs_severity_parse", [c_char_p, P(c_int)], c_int, CHECK),
    # events
    ("fangs_event_to_json", [P(T.Event), P(c_void_p), P(c_size_t)], c_int, CHECK),
    ("fangs_event_from_json", [P(T.Event), c_char_p, c_size_t], c_int, CHECK),
    ("fangs_event_clear", [P(T.Event)], None, None),
    ("fangs_event_summary", [P(T.Event), c_char_p, c_size_t], c_char_p, None),
    ("fangs_event_list_free", [P(T.EventList)], None, None),
    ("fangs_events_parse_ndjson", [P(T.EventList), c_char_p, c_size_t, c_char_p], c_int, CHECK),
    ("fangs_events_read_file", [P(T.EventList), c_char_p], c_int, CHECK),
    # configuration
    ("fangs_config_new", [P(c_void_p)], c_int, CHECK),
    ("fangs_config_load", [P(c_void_p), c_char_p], c_int, CHECK),
    ("fangs_config_load_string", [P(c_void_p), c_char_p, c_size_t, c_char_p], c_int, CHECK),
    ("fangs_config_free", [c_void_p], None, None),
    ("fangs_allow_kind_name", [c_int], c_char_p, None),
    ("fangs_allow_kind_parse", [c_char_p, P(c_int)], c_int, CHECK),
    ("fangs_allow_entry_validate", [c_int, c_char_p], c_int, CHECK),
    ("fangs_allow_list_free", [P(T.AllowList)], None, None),
    # differ
    ("fangs_differ_new", [P(c_void_p), P(T.DifferOptions)], c_int, CHECK),
    ("fangs_differ_free", [c_void_p], None, None),
    ("fangs_actor_name", [c_int], c_char_p, None),
    ("fangs_fp_kind_name", [c_int], c_char_p, None),
    ("fangs_fpset_new", [P(c_void_p)], c_int, CHECK),
    ("fangs_fpset_free", [c_void_p], None, None),
    ("fangs_fpset_foreach", [c_void_p, T.FPSET_FN, c_void_p], c_int, CHECK),
    ("fangs_deviation_clear", [P(T.Deviation)], None, None),
    ("fangs_deviation_list_free", [P(T.DeviationList)], None, None),
    # storage
    ("fangs_storage_open", [P(c_void_p), P(T.StorageOptions)], c_int, CHECK),
    ("fangs_storage_free", [c_void_p], None, None),
    ("fangs_storage_backend_name", [c_void_p], c_char_p, None),
    ("fangs_storage_backend_names", [], P(c_char_p), None),
    ("fangs_sandbox_backend_names", [], P(c_char_p), None),
    ("fangs_storage_schema_version", [c_void_p, P(c_int), P(c_int)], c_int, CHECK),
    ("fangs_storage_begin", [c_void_p], c_int, CHECK),
    ("fangs_storage_commit", [c_void_p], c_int, CHECK),
    ("fangs_storage_rollback", [c_void_p], c_int, None),
    ("fangs_package_clear", [P(T.Package)], None, None),
    ("fangs_package_list_free", [P(T.PackageList)], None, None),
    ("fangs_storage_package_upsert", [c_void_p, c_char_p, c_int], c_int, CHECK),
    ("fangs_storage_package_get", [c_void_p, c_char_p, P(T.Package)], c_int, CHECK),
    ("fangs_storage_package_list", [c_void_p, c_int, P(T.PackageList)], c_int, CHECK),
    ("fangs_storage_package_remove", [c_void_p, c_char_p], c_int, CHECK),
    ("fangs_storage_package_reset", [c_void_p, c_char_p], c_int, CHECK),
    ("fangs_release_list_free", [P(T.ReleaseList)], None, None),
    ("fangs_storage_release_list", [c_void_p, c_char_p, P(T.ReleaseList)], c_int, CHECK),
    ("fangs_storage_run_create", [c_void_p, P(T.Run)], c_int, CHECK),
    ("fangs_storage_run_get", [c_void_p, c_char_p, P(T.Run)], c_int, CHECK),
    ("fangs_storage_run_list", [c_void_p, P(T.RunFilter), P(T.RunList)], c_int, CHECK),
    ("fangs_run_clear", [P(T.Run)], None, None),
    ("fangs_run_list_free", [P(T.RunList)], None, None),
    ("fangs_run_state_name", [c_int], c_char_p, None),
    ("fangs_run_state_parse", [c_char_p, P(c_int)], c_int, CHECK),
    ("fangs_review_name", [c_int], c_char_p, None),
    ("fangs_storage_events_append", [c_void_p, c_char_p, P(T.Event), c_size_t], c_int, CHECK),
    ("fangs_storage_events_list", [c_void_p, c_char_p, P(T.EventList)], c_int, CHECK),
    ("fangs_storage_events_get", [c_void_p, P(c_int64), c_size_t, P(T.EventList)], c_int, CHECK),
    ("fangs_storage_baseline_get", [c_void_p, c_char_p, c_void_p], c_int, CHECK),
    ("fangs_storage_deviations_list", [c_void_p, P(T.DeviationFilter), P(T.DeviationList)], c_int, CHECK),
    ("fangs_storage_deviation_get", [c_void_p, c_int64, P(T.Deviation)], c_int, CHECK),
    ("fangs_storage_allow_add", [c_void_p, P(T.AllowEntry)], c_int, CHECK),
    ("fangs_storage_allow_list", [c_void_p, c_char_p, P(T.AllowList)], c_int, CHECK),
    ("fangs_storage_allow_remove", [c_void_p, c_int64], c_int, CHECK),
    ("fangs_storage_prune", [c_void_p, c_int64, P(T.PruneStats)], c_int, CHECK),
    ("fangs_notifier_target_clear", [P(T.NotifierTarget)], None, None),
    ("fangs_notifier_target_list_free", [P(T.NotifierTargetList)], None, None),
    ("fangs_notifier_target_add_header", [P(T.NotifierTarget), c_char_p, c_char_p], c_int, CHECK),
    ("fangs_storage_notifier_add", [c_void_p, P(T.NotifierTarget)], c_int, CHECK),
    ("fangs_storage_notifier_list", [c_void_p, P(T.NotifierTargetList)], c_int, CHECK),
    ("fangs_storage_notifier_get", [c_void_p, c_char_p, P(T.NotifierTarget)], c_int, CHECK),
    ("fangs_storage_notifier_remove", [c_void_p, c_char_p], c_int, CHECK),
    ("fangs_notification_status_name", [c_int], c_char_p, None),
    ("fangs_notification_list_free", [P(T.NotificationList)], None, None),
    ("fangs_storage_notification_list", [c_void_p, P(T.NotificationFilter), P(T.NotificationList)], c_int, CHECK),
    ("fangs_storage_run_update", [c_void_p, P(T.Run)], c_int, CHECK),
    ("fangs_storage_job_enqueue", [c_void_p, P(T.Job)], c_int, CHECK),
    ("fangs_storage_job_enqueue_release", [c_void_p, P(T.Job)], c_int, CHECK),
    ("fangs_storage_job_finish", [c_void_p, c_char_p, c_int], c_int, None),
    ("fangs_storage_job_get", [c_void_p, c_char_p, P(T.Job)], c_int, CHECK),
    ("fangs_job_clear", [P(T.Job)], None, None),
    ("fangs_job_state_name", [c_int], c_char_p, None),
    ("fangs_storage_runner_list", [c_void_p, P(T.RunnerList)], c_int, CHECK),
    ("fangs_runner_list_free", [P(T.RunnerList)], None, None),
    # analysis
    ("fangs_analyze_run", [c_void_p, c_void_p, c_void_p, c_char_p, P(T.Analysis)], c_int, CHECK),
    ("fangs_analysis_clear", [P(T.Analysis)], None, None),
    ("fangs_baseline_action_name", [c_int], c_char_p, None),
    ("fangs_baseline_promote", [c_void_p, c_char_p, c_uint], c_int, CHECK),
    # findings
    ("fangs_findings_group", [P(T.DeviationList), P(T.FindingsOptions), P(T.FindingList)], c_int, CHECK),
    ("fangs_findings_load", [c_void_p, P(T.DeviationList), P(T.FindingsOptions), P(T.FindingList)], c_int, CHECK),
    ("fangs_finding_list_free", [P(T.FindingList)], None, None),
    # npm names
    ("fangs_package_name_check", [c_char_p, P(c_char_p)], c_int, None),
    ("fangs_package_name_check_new", [c_char_p, P(c_char_p)], c_int, None),
    ("fangs_package_version_check", [c_char_p, P(c_char_p)], c_int, None),
    # rules
    ("fangs_rules_new", [P(c_void_p), P(T.RulesOptions)], c_int, CHECK),
    ("fangs_rules_free", [c_void_p], None, None),
    ("fangs_rules_load_file", [c_void_p, c_char_p], c_int, CHECK),
    ("fangs_rules_count", [c_void_p], c_size_t, None),
    ("fangs_rules_get", [c_void_p, c_size_t, P(T.RuleInfo)], c_int, CHECK),
    ("fangs_rules_find", [c_void_p, c_char_p, P(T.RuleInfo)], c_int, CHECK),
    ("fangs_rules_evaluate", [c_void_p, P(T.RulesInput), P(T.DeviationList)], c_int, CHECK),
    ("fangs_registry_host", [c_char_p, c_char_p, c_size_t], c_int, CHECK),
    ("fangs_registry_addrs", [c_char_p, P(P(c_char_p)), P(c_size_t)], c_int, None),
    ("fangs_registry_addrs_free", [P(c_char_p), c_size_t], None, None),
    # notifier
    ("fangs_notifier_template_parse", [c_char_p, P(c_int)], c_int, CHECK),
    ("fangs_notifier_target_check", [P(T.NotifierTarget)], c_int, CHECK),
    ("fangs_notifier_new", [P(c_void_p), P(T.NotifierOptions)], c_int, CHECK),
    ("fangs_notifier_free", [c_void_p], None, None),
    ("fangs_notifier_enqueue_run", [c_void_p, c_char_p, P(c_size_t)], c_int, CHECK),
    ("fangs_notifier_deliver_due", [c_void_p, c_int64, P(T.NotifierStats)], c_int, CHECK),
    ("fangs_notifier_result_clear", [P(T.NotifierResult)], None, None),
    ("fangs_notifier_send_test", [c_void_p, c_char_p, P(T.NotifierResult)], c_int, None),
    # scan, sensor, cgroups
    ("fangs_scan", [P(T.ScanOptions), c_char_p, P(T.ScanResult)], c_int, CHECK),
    ("fangs_scan_result_clear", [P(T.ScanResult)], None, None),
    ("fangs_scan_phase_name", [c_int], c_char_p, None),
    ("fangs_sensor_check", [c_char_p, c_size_t], c_int, CHECK),
    ("fangs_sensor_new", [P(c_void_p), P(T.SensorOptions)], c_int, CHECK),
    ("fangs_sensor_free", [c_void_p], None, None),
    ("fangs_sensor_watch_cgroup", [c_void_p, c_char_p, c_char_p], c_int, CHECK),
    ("fangs_sensor_unwatch", [c_void_p, c_char_p], c_int, CHECK),
    ("fangs_sensor_poll", [c_void_p, c_int], c_int, CHECK),
    ("fangs_sensor_drain", [c_void_p, c_int], c_int, CHECK),
    ("fangs_sensor_stats", [c_void_p, c_char_p, P(T.SensorRunStats)], c_int, CHECK),
    ("fangs_sensor_probes", [c_void_p, P(P(T.SensorProbe)), P(c_size_t)], c_int, CHECK),
    ("fangs_cgroup_create_run", [c_char_p, c_char_p, c_size_t], c_int, CHECK),
    ("fangs_cgroup_remove", [c_char_p], c_int, None),
    ("fangs_cgroup_attach", [c_char_p, c_int], c_int, None),
    ("fangs_cgroup_kill", [c_char_p], c_int, None),
    ("fangs_cgroup_populated", [c_char_p], c_int, None),
]

for _name, _args, _res, _errcheck in _PROTOTYPES:
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError("libfangs %s lacks %s, which this binding needs" % (library_version(), _name)) from None
    _f.argtypes = _args
    _f.restype = _res
    if _errcheck:
        _f.errcheck = _check

libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None


def name_list(func) -> tuple:
    """A NULL-terminated `const char *const *` of the library as a tuple of
    str (fangs_storage_backend_names(), fangs_sandbox_backend_names())."""
    arr = func()
    out = []
    while arr[len(out)] is not None:
        out.append(arr[len(out)].decode("utf-8"))
    return tuple(out)
