"""ctypes mirrors of the public structs of include/fangs/*.h (keep in step)."""

import ctypes
from ctypes import POINTER, c_char, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint, c_uint16, c_uint32, c_uint64

ANCESTRY_MAX = 5
RUN_ID_MAX = 64


class Ancestor(ctypes.Structure):
    _fields_ = [("pid", c_int32), ("comm", c_char_p), ("exe", c_char_p)]


class Origin(ctypes.Structure):
    _fields_ = [("package", c_char_p), ("version", c_char_p), ("script", c_char_p), ("command", c_char_p)]


class Event(ctypes.Structure):
    _fields_ = [
        ("kind", c_int), ("id", c_int64), ("ts_ns", c_uint64), ("pid", c_int32), ("ppid", c_int32),
        ("uid", c_uint32), ("comm", c_char_p), ("path", c_char_p), ("flags", c_uint32),
        ("argv", POINTER(c_char_p)), ("argc", c_size_t), ("family", c_int), ("addr", c_char_p),
        ("port", c_uint16), ("proto", c_int), ("qname", c_char_p), ("qtype", c_uint16), ("sni", c_char_p),
        ("exit_code", c_int32), ("n_ancestry", c_size_t), ("ancestry", Ancestor * ANCESTRY_MAX),
        ("origin", Origin), ("run_id", c_char_p),
        ("host", c_char_p), ("method", c_char_p), ("bytes_out", c_uint64), ("bytes_in", c_uint64),
        ("status", c_int32), ("allowed", c_int32),
        ("real_path", c_char_p), ("ino", c_uint64),
        ("dev", c_uint64), ("decoy", c_char_p), ("env_package", c_char_p),
        ("phase", c_int),
        ("op", c_char_p), ("detail", c_char_p), ("target", c_int32), ("arg", c_uint64),
    ]


class EventList(ctypes.Structure):
    _fields_ = [("items", POINTER(Event)), ("count", c_size_t), ("capacity", c_size_t)]


class DifferOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("config", ctypes.c_void_p)]


class StorageOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("backend", c_char_p), ("sqlite_path", c_char_p),
                ("postgres_dsn", c_char_p), ("busy_timeout_ms", c_int), ("read_only", c_int)]


class Run(ctypes.Structure):
    _fields_ = [
        ("id", c_char * RUN_ID_MAX), ("package", c_char_p), ("version", c_char_p), ("state", c_int),
        ("is_baseline", c_int), ("review", c_int), ("events_emitted", c_int64), ("events_dropped", c_int64),
        ("duration_ns", c_int64), ("runner", c_char_p), ("has_exit_code", c_int), ("exit_code", c_int),
        ("error", c_char_p), ("install_output", c_char_p), ("sandbox", c_char_p), ("network", c_char_p),
        ("created_ns", c_int64), ("started_ns", c_int64), ("finished_ns", c_int64),
        ("event_count", c_int64), ("deviation_count", c_int64), ("max_severity", c_int),
        ("analysis_error", c_char_p),
    ]


class RunList(ctypes.Structure):
    _fields_ = [("items", POINTER(Run)), ("count", c_size_t), ("capacity", c_size_t)]


class RunFilter(ctypes.Structure):
    _fields_ = [("package", c_char_p), ("version", c_char_p), ("state", c_int), ("pending_only", c_int),
                ("baseline_only", c_int), ("limit", c_size_t)]


class Deviation(ctypes.Structure):
    _fields_ = [
        ("id", c_int64), ("run_id", c_char_p), ("package", c_char_p), ("kind", c_char_p), ("severity", c_int),
        ("value", c_char_p), ("actor", c_int), ("description", c_char_p), ("origin", Origin),
        ("command", c_char_p), ("evidence", POINTER(c_int64)), ("n_evidence", c_size_t), ("created_ns", c_int64),
    ]


class DeviationList(ctypes.Structure):
    _fields_ = [("items", POINTER(Deviation)), ("count", c_size_t), ("capacity", c_size_t)]


class DeviationFilter(ctypes.Structure):
    _fields_ = [("run_id", c_char_p), ("package", c_char_p), ("min_severity", c_int), ("limit", c_size_t)]


class Analysis(ctypes.Structure):
    _fields_ = [("deviations", DeviationList), ("action", c_int), ("n_events", c_size_t),
                ("n_fingerprints", c_size_t), ("baseline_size", c_size_t), ("elapsed_ns", c_int64)]
