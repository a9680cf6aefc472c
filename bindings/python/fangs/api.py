"""Pythonic wrappers: Storage (runs, events, deviations, baselines) and parsing."""

import ctypes
import json
import os

from . import _types as T
from ._lib import lib

_STORAGE_OPTIONS_VERSION = 1
_DIFFER_OPTIONS_VERSION = 1
_RUN_SUCCEEDED = 2
# fangs_baseline_promote() flags (fangs/analyze.h)
PROMOTE_REPLACE = 1
PROMOTE_UNFINISHED = 2


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _b(s):
    return s.encode("utf-8") if s is not None else None


def severity_names():
    return [lib.fangs_severity_name(i).decode() for i in range(5)]


def _event_to_dict(ev):
    out = ctypes.c_void_p()
    n = ctypes.c_size_t()
    lib.fangs_event_to_json(ctypes.byref(ev), ctypes.byref(out), ctypes.byref(n))
    try:
        return json.loads(ctypes.string_at(out, n.value).decode("utf-8"))
    finally:
        lib.free(out)


def _event_list_to_dicts(lst):
    return [_event_to_dict(lst.items[i]) for i in range(lst.count)]


def parse_events(data, source="<python>"):
    """Decodes NDJSON text (str or bytes) into a list of event dicts.
    Raises FangsError naming the bad line."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    lst = T.EventList()
    try:
        lib.fangs_events_parse_ndjson(ctypes.byref(lst), raw, len(raw), _b(source))
        return _event_list_to_dicts(lst)
    finally:
        lib.fangs_event_list_free(ctypes.byref(lst))


def _origin(o):
    if not o.package and not o.script:
        return None
    return {"package": _s(o.package), "version": _s(o.version), "script": _s(o.script), "command": _s(o.command)}


def _deviation_to_dict(d):
    return {
        "id": d.id,
        "run_id": _s(d.run_id),
        "package": _s(d.package),
        "kind": _s(d.kind),
        "severity": lib.fangs_severity_name(d.severity).decode(),
        "value": _s(d.value),
        "actor": lib.fangs_actor_name(d.actor).decode(),
        "description": _s(d.description),
        "origin": _origin(d.origin),
        "command": _s(d.command),
        "evidence": [d.evidence[i] for i in range(d.n_evidence)],
    }


def _run_to_dict(r):
    return {
        "id": r.id.decode(),
        "package": _s(r.package),
        "version": _s(r.version),
        "state": lib.fangs_run_state_name(r.state).decode(),
        "review": lib.fangs_review_name(r.review).decode(),
        "is_baseline": bool(r.is_baseline),
        "events_emitted": r.events_emitted,
        "events_dropped": r.events_dropped,
        "event_count": r.event_count,
        "deviation_count": r.deviation_count,
        "max_severity": lib.fangs_severity_name(r.max_severity).decode() if r.deviation_count else None,
        "duration_ns": r.duration_ns,
        "exit_code": r.exit_code if r.has_exit_code else None,
        "runner": _s(r.runner),
        "sandbox": _s(r.sandbox),
        "error": _s(r.error),
        "created_ns": r.created_ns,
    }


class Analysis:
    """The outcome of judging a run: run id, baseline action, deviations."""

    def __init__(self, run_id, action, deviations, n_events, n_fingerprints):
        self.run_id = run_id
        self.action = action
        self.deviations = deviations
        self.n_events = n_events
        self.n_fingerprints = n_fingerprints

    def __repr__(self):
        return "Analysis(run_id=%r, action=%r, %d deviations)" % (self.run_id, self.action, len(self.deviations))


class Storage:
    """A fangs database (SQLite by default). Use as a context manager or call close()."""

    def __init__(self, sqlite_path=None, backend="sqlite", postgres_dsn=None, config=None):
        self._st = ctypes.c_void_p()
        self._differ = ctypes.c_void_p()
        self._config = ctypes.c_void_p()
        opts = T.StorageOptions(_STORAGE_OPTIONS_VERSION, _b(backend), _b(sqlite_path), _b(postgres_dsn), 0, 0)
        if config:
            lib.fangs_config_load(ctypes.byref(self._config), _b(os.fspath(config)))
        else:
            lib.fangs_config_new(ctypes.byref(self._config))
        try:
            lib.fangs_storage_open(ctypes.byref(self._st), ctypes.byref(opts))
            dopts = T.DifferOptions(_DIFFER_OPTIONS_VERSION, self._config)
            lib.fangs_differ_new(ctypes.byref(self._differ), ctypes.byref(dopts))
        except Exception:
            self.close()
            raise

    def close(self):
        if getattr(self, "_differ", None):
            lib.fangs_differ_free(self._differ)
            self._differ = None
        if getattr(self, "_st", None):
            lib.fangs_storage_free(self._st)
            self._st = None
        if getattr(self, "_config", None):
            lib.fangs_config_free(self._config)
            self._config = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def import_events(self, source, package, version):
        """Stores a recording (a path, or NDJSON text/bytes) as a finished run of
        package@version, runs the differ and the baseline policy. Returns Analysis."""
        lst = T.EventList()
        try:
            if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
                lib.fangs_events_read_file(ctypes.byref(lst), _b(os.fspath(source)))
            else:
                raw = source.encode("utf-8") if isinstance(source, str) else bytes(source)
                lib.fangs_events_parse_ndjson(ctypes.byref(lst), raw, len(raw), b"<python>")
            run = T.Run()
            run.package = _b(package)
            run.version = _b(version)
            run.state = _RUN_SUCCEEDED
            run.sandbox = b"import"
            run.runner = b"python"
            run.events_emitted = lst.count
            lib.fangs_storage_begin(self._st)
            try:
                lib.fangs_storage_run_create(self._st, ctypes.byref(run))
                lib.fangs_storage_events_append(self._st, run.id, lst.items, lst.count)
                lib.fangs_storage_commit(self._st)
            except Exception:
                lib.fangs_storage_rollback(self._st)
                raise
            run_id = run.id.decode()
        finally:
            lib.fangs_event_list_free(ctypes.byref(lst))
        return self.analyze(run_id)

    def analyze(self, run_id):
        an = T.Analysis()
        lib.fangs_analyze_run(self._st, self._differ, self._config, _b(run_id), ctypes.byref(an))
        try:
            devs = [_deviation_to_dict(an.deviations.items[i]) for i in range(an.deviations.count)]
            return Analysis(run_id, lib.fangs_baseline_action_name(an.action).decode(), devs, an.n_events,
                            an.n_fingerprints)
        finally:
            lib.fangs_analysis_clear(ctypes.byref(an))

    def run(self, run_id):
        r = T.Run()
        lib.fangs_storage_run_get(self._st, _b(run_id), ctypes.byref(r))
        try:
            return _run_to_dict(r)
        finally:
            lib.fangs_run_clear(ctypes.byref(r))

    def runs(self, package=None, pending_only=False, limit=0, baseline_only=False):
        f = T.RunFilter(_b(package), None, -1, int(pending_only), int(baseline_only), limit)
        lst = T.RunList()
        lib.fangs_storage_run_list(self._st, ctypes.byref(f), ctypes.byref(lst))
        try:
            return [_run_to_dict(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_run_list_free(ctypes.byref(lst))

    def events(self, run_id):
        lst = T.EventList()
        lib.fangs_storage_events_list(self._st, _b(run_id), ctypes.byref(lst))
        try:
            return _event_list_to_dicts(lst)
        finally:
            lib.fangs_event_list_free(ctypes.byref(lst))

    def deviations(self, run_id=None, package=None, min_severity="info", limit=0):
        f = T.DeviationFilter(_b(run_id), _b(package), severity_names().index(min_severity), limit)
        lst = T.DeviationList()
        lib.fangs_storage_deviations_list(self._st, ctypes.byref(f), ctypes.byref(lst))
        try:
            return [_deviation_to_dict(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_deviation_list_free(ctypes.byref(lst))

    def promote(self, run_id, replace=False, unfinished=False):
        """A person accepts the run: its fingerprints are added to its package's
        baseline (replace=True: they become the whole baseline), its deviations
        are cleared. unfinished=True also accepts a run whose install failed or
        timed out."""
        flags = (PROMOTE_REPLACE if replace else 0) | (PROMOTE_UNFINISHED if unfinished else 0)
        lib.fangs_baseline_promote(self._st, _b(run_id), flags)
