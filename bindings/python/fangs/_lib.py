"""Loading libfangs and declaring its prototypes (one table, applied at load)."""

import ctypes
import ctypes.util
import os

from . import _types as T

SONAME = "libfangs.so.0"
MIN_VERSION = (0, 1)


class FangsError(Exception):
    """A libfangs call failed: .code is the FANGS_E* code, str() the message."""

    def __init__(self, code, message):
        super().__init__(message or "fangs error %d" % code)
        self.code = code


def _load():
    explicit = os.environ.get("FANGS_LIBRARY")
    candidates = [explicit] if explicit else [SONAME, ctypes.util.find_library("fangs")]
    errors = []
    for name in candidates:
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    raise ImportError("cannot load libfangs (set FANGS_LIBRARY to its path): " + "; ".join(errors))


lib = _load()


def _check(rc, func, args):
    if isinstance(rc, int) and rc < 0:
        raise FangsError(rc, lib.fangs_error_last().decode("utf-8", "replace"))
    return rc


c_int, c_char_p, c_void_p, c_size_t = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t
c_uint = ctypes.c_uint
P = ctypes.POINTER

# (name, argtypes, restype, errcheck)
_PROTOTYPES = [
    ("fangs_version", [], c_char_p, None),
    ("fangs_strerror", [c_int], c_char_p, None),
    ("fangs_error_last", [], c_char_p, None),
    ("fangs_severity_name", [c_int], c_char_p, None),
    ("fangs_event_to_json", [P(T.Event), P(c_void_p), P(c_size_t)], c_int, _check),
    ("fangs_event_list_free", [P(T.EventList)], None, None),
    ("fangs_events_parse_ndjson", [P(T.EventList), c_char_p, c_size_t, c_char_p], c_int, _check),
    ("fangs_events_read_file", [P(T.EventList), c_char_p], c_int, _check),
    ("fangs_config_new", [P(c_void_p)], c_int, _check),
    ("fangs_config_load", [P(c_void_p), c_char_p], c_int, _check),
    ("fangs_config_free", [c_void_p], None, None),
    ("fangs_differ_new", [P(c_void_p), P(T.DifferOptions)], c_int, _check),
    ("fangs_differ_free", [c_void_p], None, None),
    ("fangs_storage_open", [P(c_void_p), P(T.StorageOptions)], c_int, _check),
    ("fangs_storage_free", [c_void_p], None, None),
    ("fangs_storage_begin", [c_void_p], c_int, _check),
    ("fangs_storage_commit", [c_void_p], c_int, _check),
    ("fangs_storage_rollback", [c_void_p], c_int, None),
    ("fangs_storage_run_create", [c_void_p, P(T.Run)], c_int, _check),
    ("fangs_storage_run_get", [c_void_p, c_char_p, P(T.Run)], c_int, _check),
    ("fangs_storage_run_list", [c_void_p, P(T.RunFilter), P(T.RunList)], c_int, _check),
    ("fangs_run_clear", [P(T.Run)], None, None),
    ("fangs_run_list_free", [P(T.RunList)], None, None),
    ("fangs_run_state_name", [c_int], c_char_p, None),
    ("fangs_review_name", [c_int], c_char_p, None),
    ("fangs_storage_events_append", [c_void_p, c_char_p, P(T.Event), c_size_t], c_int, _check),
    ("fangs_storage_events_list", [c_void_p, c_char_p, P(T.EventList)], c_int, _check),
    ("fangs_storage_deviations_list", [c_void_p, P(T.DeviationFilter), P(T.DeviationList)], c_int, _check),
    ("fangs_deviation_list_free", [P(T.DeviationList)], None, None),
    ("fangs_storage_baseline_rebuild", [c_void_p, c_char_p, c_char_p], c_int, _check),
    ("fangs_actor_name", [c_int], c_char_p, None),
    ("fangs_analyze_run", [c_void_p, c_void_p, c_void_p, c_char_p, P(T.Analysis)], c_int, _check),
    ("fangs_analysis_clear", [P(T.Analysis)], None, None),
    ("fangs_baseline_action_name", [c_int], c_char_p, None),
    ("fangs_baseline_promote", [c_void_p, c_char_p, c_uint], c_int, _check),
]

for _name, _args, _res, _errcheck in _PROTOTYPES:
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        raise ImportError("libfangs is older than this binding: %s is missing" % _name) from None
    _f.argtypes = _args
    _f.restype = _res
    if _errcheck:
        _f.errcheck = _errcheck

lib.free = ctypes.CDLL(None).free
lib.free.argtypes = [c_void_p]
lib.free.restype = None


def version():
    return lib.fangs_version().decode()


_v = tuple(int(x) for x in version().split(".")[:2])
if _v < MIN_VERSION:
    raise ImportError("libfangs %s is older than this binding needs (%d.%d)" % ((version(),) + MIN_VERSION))
