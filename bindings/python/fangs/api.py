"""Configuration, storage (runs, findings, baselines, packages, allowlists,
notifiers), recordings and rules."""

from __future__ import annotations

import ctypes
import json
import os
import time
from typing import Callable, Iterable, List, Optional, Sequence, Union

from . import _types as T
from ._lib import FileNotFound, InvalidError, error_from, lib, name_list
from .model import (AllowEntry, Analysis, DeliveryStats, Deviation, Event, Finding, Fingerprint, Job, Notification,
                    NotifierTarget, NotifierTestResult, Package, PruneStats, Release, Rule, Run, Runner, RunReport,
                    Severity, _deviations, _events, _group)

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
SeverityArg = Union[Severity, str, int]

# fangs_baseline_promote() flags (fangs/analyze.h)
PROMOTE_REPLACE = 1
PROMOTE_UNFINISHED = 2
_RUN_SUCCEEDED = 2


def _b(s: Optional[str]) -> Optional[bytes]:
    return s.encode("utf-8") if s is not None else None


def _checked(fn, what: str, value) -> None:
    if not isinstance(value, str):
        raise InvalidError("%s must be a str, not %s" % (what, type(value).__name__))
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidError("%s %r is not valid UTF-8" % (what, value)) from None
    if b"\0" in raw:
        raise InvalidError("%s %r holds a NUL byte" % (what, value))
    rc = fn(raw, None)
    if rc < 0:
        raise error_from(rc)


def check_package_name(name: str, *, new: bool = False) -> None:
    """Raises InvalidError unless `name` is an npm package name by npm's
    rules (fangs_package_name_check, what `fangs package add` and `fangs
    events import` check; new=True: also npm's rules for names published
    today, no capitals and none of ~'!()*). The message says why."""
    _checked(lib.fangs_package_name_check_new if new else lib.fangs_package_name_check, "package name", name)


def check_package_version(version: str) -> None:
    """Raises InvalidError unless `version` is what may follow "name@" for a
    registry install: a version, a range or a dist-tag
    (fangs_package_version_check)."""
    _checked(lib.fangs_package_version_check, "version", version)


def _s(b: Optional[bytes]) -> Optional[str]:
    return b.decode("utf-8", "replace") if b is not None else None


def _existing(path: PathArg) -> bytes:
    """The path as bytes for the library, after checking that it exists: a
    mistyped name is a FileNotFound, never read as something else."""
    p = os.fsencode(os.fspath(path))
    if not os.path.exists(p):
        raise FileNotFound(os.fsdecode(p))
    return p


class Config:
    """A configuration (docs/configuration.md): the defaults, a YAML file,
    or YAML text. Config() with no argument reads $FANGS_CONFIG when set,
    like the CLI."""

    def __init__(self, path: Optional[PathArg] = None, *, text: Optional[str] = None):
        self._cfg = ctypes.c_void_p()
        if text is not None:
            raw = text.encode("utf-8")
            lib.fangs_config_load_string(ctypes.byref(self._cfg), raw, len(raw), b"<string>")
            return
        if path is None and os.environ.get("FANGS_CONFIG"):
            path = os.environ["FANGS_CONFIG"]
        if path is not None:
            lib.fangs_config_load(ctypes.byref(self._cfg), _existing(path))
        else:
            lib.fangs_config_new(ctypes.byref(self._cfg))

    @property
    def _head(self) -> T.ConfigHead:
        return ctypes.cast(self._cfg, ctypes.POINTER(T.ConfigHead)).contents

    @property
    def source(self) -> Optional[str]:
        """The file it was read from (None: defaults or text)."""
        return _s(self._head.source)

    @property
    def storage_backend(self) -> Optional[str]:
        return _s(self._head.storage_backend)

    @property
    def sqlite_path(self) -> Optional[str]:
        return _s(self._head.sqlite_path)

    @property
    def postgres_dsn(self) -> Optional[str]:
        return _s(self._head.postgres_dsn)

    @property
    def registry(self) -> Optional[str]:
        return _s(self._head.registry)

    @property
    def retention_days(self) -> int:
        return self._head.retention_days

    def close(self) -> None:
        if getattr(self, "_cfg", None):
            lib.fangs_config_free(self._cfg)
            self._cfg = None

    def __del__(self):
        self.close()


def _default_config_sqlite_path() -> Optional[str]:
    cfg = Config.__new__(Config)
    cfg._cfg = ctypes.c_void_p()
    lib.fangs_config_new(ctypes.byref(cfg._cfg))
    try:
        return cfg.sqlite_path
    finally:
        cfg.close()


def default_database(config: Optional[Config] = None) -> str:
    """Where the SQLite database is when none is named, as the CLI decides:
    $FANGS_DB, then the configuration's storage.sqlite_path (when the file
    sets one), then $XDG_STATE_HOME/fangs/fangs.db (~/.local/state/...)."""
    env = os.environ.get("FANGS_DB") or os.environ.get("FANGS_SQLITE_PATH")
    if env:
        return env
    if config is not None and config.source and config.sqlite_path \
            and config.sqlite_path != _default_config_sqlite_path():
        return config.sqlite_path
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "fangs", "fangs.db")


def _event_list_from(source) -> T.EventList:
    """A recording as the library's event list: a path (str or PathLike),
    NDJSON bytes, or Events."""
    lst = T.EventList()
    try:
        if isinstance(source, (str, os.PathLike)):
            lib.fangs_events_read_file(ctypes.byref(lst), _existing(source))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            raw = bytes(source)
            lib.fangs_events_parse_ndjson(ctypes.byref(lst), raw, len(raw), b"<bytes>")
        else:
            raw = "".join(json.dumps(e.to_dict() if isinstance(e, Event) else e) + "\n" for e in source).encode()
            lib.fangs_events_parse_ndjson(ctypes.byref(lst), raw, len(raw), b"<events>")
    except BaseException:
        lib.fangs_event_list_free(ctypes.byref(lst))
        raise
    return lst


def parse_events(text: Union[str, bytes], source: str = "<python>") -> List[Event]:
    """Decodes NDJSON text into Events. A bad line raises ParseError naming
    `source` and the line."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    lst = T.EventList()
    try:
        lib.fangs_events_parse_ndjson(ctypes.byref(lst), raw, len(raw), _b(source))
        return _events(lst)
    finally:
        lib.fangs_event_list_free(ctypes.byref(lst))


def read_events(path: PathArg) -> List[Event]:
    """The events of an NDJSON recording file."""
    lst = _event_list_from(path if not isinstance(path, bytes) else os.fsdecode(path))
    try:
        return _events(lst)
    finally:
        lib.fangs_event_list_free(ctypes.byref(lst))


_LOG_LEVELS = {"error": 0, "warn": 1, "warning": 1, "info": 2, "debug": 3}
_log_callback = None


def set_log(handler: Optional[Callable[[str, str], None]], level: str = "warn") -> None:
    """Receives the library's log messages (it prints nothing by itself):
    handler(level, message) for messages at `level` ("error", "warn",
    "info", "debug") or above; None turns logging off. Messages may come
    from the library's threads (the notifier's worker)."""
    global _log_callback
    if level.lower() not in _LOG_LEVELS:
        raise InvalidError("log level must be error, warn, info or debug, not %r" % level, -3)
    if handler is None:
        lib.fangs_log_set(T.LOG_FN(), 0, None)
        _log_callback = None
        return
    names = ["error", "warn", "info", "debug"]

    def cb(lvl, msg, _user):
        try:
            handler(names[lvl] if 0 <= lvl < 4 else str(lvl), msg.decode("utf-8", "replace"))
        except Exception:  # a handler's failure must not unwind through C
            pass

    new = T.LOG_FN(cb)
    lib.fangs_log_set(new, _LOG_LEVELS[level.lower()], None)
    _log_callback = new  # kept alive while the library may call it


def severity_names() -> List[str]:
    return [str(s) for s in Severity]


class Storage:
    """A fangs database. Storage() opens the one the CLI would use (see
    default_database()); Storage("x.db") a given SQLite file;
    Storage(backend="postgres", postgres_dsn=...) PostgreSQL. Use it as a
    context manager, or call close()."""

    def __init__(self, path: Optional[PathArg] = None, *, backend: Optional[str] = None,
                 postgres_dsn: Optional[str] = None, config: Union[Config, PathArg, None] = None,
                 read_only: bool = False, sqlite_path: Optional[PathArg] = None):
        self._st = ctypes.c_void_p()
        self._differ = ctypes.c_void_p()
        self.config = config if isinstance(config, Config) else Config(config)
        if path is None:
            path = sqlite_path
        backend = backend or self.config.storage_backend or "sqlite"
        backends = name_list(lib.fangs_storage_backend_names)
        if backend not in backends:
            raise InvalidError("backend must be %s, not %r" % (" or ".join(backends), backend), -3)
        self.backend = backend
        self.path: Optional[str] = None
        if backend == "sqlite":
            self.path = os.fsdecode(os.fspath(path)) if path is not None else default_database(self.config)
            if path is None and self.path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        dsn = postgres_dsn or os.environ.get("FANGS_POSTGRES_DSN") or self.config.postgres_dsn
        opts = T.StorageOptions(T.STORAGE_OPTIONS_VERSION, _b(backend), os.fsencode(self.path) if self.path else None,
                                _b(dsn), 0, int(read_only))
        try:
            lib.fangs_storage_open(ctypes.byref(self._st), ctypes.byref(opts))
            dopts = T.DifferOptions(T.DIFFER_OPTIONS_VERSION, self.config._cfg, None, 0)
            lib.fangs_differ_new(ctypes.byref(self._differ), ctypes.byref(dopts))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if getattr(self, "_differ", None):
            lib.fangs_differ_free(self._differ)
            self._differ = None
        if getattr(self, "_st", None):
            lib.fangs_storage_free(self._st)
            self._st = None

    def __enter__(self) -> "Storage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        self.close()

    @property
    def _handle(self) -> ctypes.c_void_p:
        if not self._st:
            raise InvalidError("the storage is closed", -3)
        return self._st

    def schema_version(self) -> int:
        db, code = ctypes.c_int(), ctypes.c_int()
        lib.fangs_storage_schema_version(self._handle, ctypes.byref(db), ctypes.byref(code))
        return db.value

    # ---- recordings and analysis ----

    def import_events(self, recording: Union[PathArg, Iterable[Event]], package: str, version: str) -> Analysis:
        """Stores a recording (an NDJSON file's path as str or PathLike, NDJSON bytes, or Events)
        as a finished run of package@version and judges it, like `fangs
        events import`. A path that does not exist raises FileNotFound."""
        check_package_name(package)
        check_package_version(version)
        lst = _event_list_from(recording)
        try:
            run = T.Run()
            run.package = _b(package)
            run.version = _b(version)
            run.state = _RUN_SUCCEEDED
            run.sandbox = b"import"
            run.runner = b"python"
            run.events_emitted = lst.count
            lib.fangs_storage_begin(self._handle)
            try:
                lib.fangs_storage_run_create(self._st, ctypes.byref(run))
                lib.fangs_storage_events_append(self._st, run.id, lst.items, lst.count)
                lib.fangs_storage_commit(self._st)
            except BaseException:
                lib.fangs_storage_rollback(self._st)
                raise
            run_id = run.id.decode()
        finally:
            lib.fangs_event_list_free(ctypes.byref(lst))
        return self.analyze(run_id)

    def analyze(self, run_id: str) -> Analysis:
        """Judges a stored run again (replaces its fingerprints and findings)."""
        an = T.Analysis()
        lib.fangs_analyze_run(self._handle, self._differ, self.config._cfg, _b(run_id), ctypes.byref(an))
        try:
            devs = _deviations(an.deviations)
            findings, counts = _group(self._handle, an.deviations)
            action = lib.fangs_baseline_action_name(an.action).decode()
            n_fps, n_events, size = an.n_fingerprints, an.n_events, an.baseline_size
        finally:
            lib.fangs_analysis_clear(ctypes.byref(an))
        return Analysis(self.run(run_id), action, n_fps, devs, n_events, size, findings, counts)

    def analyze_run(self, run_id: str) -> Analysis:
        """Judges a finished run again (`fangs run analyze RUN`): a run whose
        analysis failed (Run.analysis_error) gets its findings, and the error
        is cleared. A queued or running run raises InvalidError: only a
        finished run is judged. Notifiers are not called (notify_run)."""
        run = self.run(run_id)
        if run.state in ("queued", "running"):
            raise InvalidError("run %s is %s: only a finished run is judged" % (run.id, run.state))
        return self.analyze(run.id)

    # ---- runs and events ----

    def show_run(self, run_id: str, *, events: bool = False) -> RunReport:
        """A run with its records, its findings and their counts (`fangs run
        show --json`; events=True: with its events, as --events)."""
        run = self.run(run_id)
        f = T.DeviationFilter(_b(run.id), None, int(Severity.INFO), 0)
        lst = T.DeviationList()
        lib.fangs_storage_deviations_list(self._handle, ctypes.byref(f), ctypes.byref(lst))
        try:
            devs = _deviations(lst)
            findings, counts = _group(self._handle, lst)
        finally:
            lib.fangs_deviation_list_free(ctypes.byref(lst))
        return RunReport(run, devs, findings, counts, self.events(run.id) if events else None)

    def findings(self, run_id: str) -> List[Finding]:
        """A run's findings, one per behaviour, most severe first (`fangs
        deviation list --run RUN --findings`)."""
        return self.show_run(run_id).findings

    def run(self, run_id: str) -> Run:
        r = T.Run()
        lib.fangs_storage_run_get(self._handle, _b(run_id), ctypes.byref(r))
        try:
            return Run._from_c(r)
        finally:
            lib.fangs_run_clear(ctypes.byref(r))

    def runs(self, package: Optional[str] = None, *, version: Optional[str] = None, state: Optional[str] = None,
             pending_only: bool = False, baseline_only: bool = False, limit: int = 0) -> List[Run]:
        """Runs, newest first."""
        st = -1
        if state is not None:
            v = ctypes.c_int()
            lib.fangs_run_state_parse(_b(state), ctypes.byref(v))
            st = v.value
        f = T.RunFilter(_b(package), _b(version), st, int(pending_only), int(baseline_only), limit)
        lst = T.RunList()
        lib.fangs_storage_run_list(self._handle, ctypes.byref(f), ctypes.byref(lst))
        try:
            return [Run._from_c(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_run_list_free(ctypes.byref(lst))

    def pending(self) -> List[Run]:
        """Runs waiting for a person (`fangs pending`)."""
        return self.runs(pending_only=True)

    def fail_run(self, run_id: str, reason: str = "failed by hand (fangs run fail)") -> Run:
        """Marks a queued or running run failed and ends its job, if it has
        one (`fangs run fail`). InvalidError when the run already ended."""
        r = T.Run()
        lib.fangs_storage_run_get(self._handle, _b(run_id), ctypes.byref(r))
        try:
            if r.state not in (0, 1):
                raise InvalidError("run %s is already %s" % (run_id, lib.fangs_run_state_name(r.state).decode()), -3)
            # the error string is the library's (freed by fangs_run_clear): lend ours for the update
            slot = ctypes.c_void_p.from_buffer(r, T.Run.error.offset)
            own_error = slot.value
            reason_buf = ctypes.create_string_buffer(reason.encode("utf-8"))
            slot.value = ctypes.addressof(reason_buf)
            r.state = 3  # FANGS_RUN_FAILED
            r.finished_ns = time.time_ns()
            lib.fangs_storage_begin(self._st)
            try:
                lib.fangs_storage_run_update(self._st, ctypes.byref(r))
                rc = lib.fangs_storage_job_finish(self._st, r.id, 3)  # FANGS_JOB_FAILED
                if rc < 0 and rc != -4:  # a run without a job (fangs scan) just ends
                    raise error_from(rc)
                lib.fangs_storage_commit(self._st)
            except BaseException:
                lib.fangs_storage_rollback(self._st)
                raise
            finally:
                slot.value = own_error
        finally:
            lib.fangs_run_clear(ctypes.byref(r))
        return self.run(run_id)

    def queue_scan(self, package: str, version: str, *, runner: Optional[str] = None,
                   only_new: bool = False) -> Job:
        """Queues a scan for the orchestrator's runners (as `fangs scan
        submit` asks the orchestrator to): a queued run and its job.
        only_new=True queues it only if the release has no run yet (as the
        orchestrator's watcher does), ExistsError otherwise, nothing changed;
        several processes doing so at once queue it once."""
        check_package_name(package)
        check_package_version(version)
        j = T.Job()
        j.package, j.version, j.target_runner = _b(package), _b(version), _b(runner)
        if only_new:
            lib.fangs_storage_job_enqueue_release(self._handle, ctypes.byref(j))
        else:
            lib.fangs_storage_job_enqueue(self._handle, ctypes.byref(j))
        return self.job(j.run_id.decode())

    def job(self, run_id: str) -> Job:
        """The job of a queued run; NotFoundError when the run has none."""
        j = T.Job()
        lib.fangs_storage_job_get(self._handle, _b(run_id), ctypes.byref(j))
        try:
            return Job(j.id, j.run_id.decode(), _s(j.package), _s(j.version), _s(j.target_runner),
                       lib.fangs_job_state_name(j.state).decode(), j.attempts, _s(j.runner), j.created_ns,
                       j.updated_ns)
        finally:
            lib.fangs_job_clear(ctypes.byref(j))

    def runners(self) -> List[Runner]:
        """Runners known to the orchestrator, by id (`fangs runner list`)."""
        lst = T.RunnerList()
        lib.fangs_storage_runner_list(self._handle, ctypes.byref(lst))
        try:
            return [Runner(_s(r.id) or "", _s(r.state), _s(r.hostname), _s(r.cn), r.max_scans, r.running,
                           r.registered_ns, r.last_heartbeat_ns) for r in (lst.items[i] for i in range(lst.count))]
        finally:
            lib.fangs_runner_list_free(ctypes.byref(lst))

    def events(self, run_id: str) -> List[Event]:
        """Every event of a run, in order."""
        self.run(run_id)  # an unknown run is NotFoundError, not an empty list
        lst = T.EventList()
        lib.fangs_storage_events_list(self._handle, _b(run_id), ctypes.byref(lst))
        try:
            return _events(lst)
        finally:
            lib.fangs_event_list_free(ctypes.byref(lst))

    def events_by_id(self, ids: Sequence[int]) -> List[Event]:
        arr = (ctypes.c_int64 * len(ids))(*ids)
        lst = T.EventList()
        lib.fangs_storage_events_get(self._handle, arr, len(ids), ctypes.byref(lst))
        try:
            return _events(lst)
        finally:
            lib.fangs_event_list_free(ctypes.byref(lst))

    # ---- findings ----

    def deviations(self, run_id: Optional[str] = None, *, package: Optional[str] = None,
                   min_severity: SeverityArg = Severity.INFO, limit: int = 0) -> List[Deviation]:
        """Findings, newest first; min_severity is a Severity, a number or a
        name in any case."""
        f = T.DeviationFilter(_b(run_id), _b(package), int(Severity.parse(min_severity)), limit)
        lst = T.DeviationList()
        lib.fangs_storage_deviations_list(self._handle, ctypes.byref(f), ctypes.byref(lst))
        try:
            return _deviations(lst)
        finally:
            lib.fangs_deviation_list_free(ctypes.byref(lst))

    def deviation(self, deviation_id: int) -> Deviation:
        d = T.Deviation()
        lib.fangs_storage_deviation_get(self._handle, deviation_id, ctypes.byref(d))
        try:
            return Deviation._from_c(d)
        finally:
            lib.fangs_deviation_clear(ctypes.byref(d))

    def evidence(self, deviation: Union[Deviation, int]) -> List[Event]:
        """The events a finding points to (`fangs deviation show`)."""
        d = deviation if isinstance(deviation, Deviation) else self.deviation(deviation)
        return self.events_by_id(d.evidence) if d.evidence else []

    # ---- baselines ----

    def baselines(self, package: Optional[str] = None) -> List[Run]:
        """The runs that make up each package's baseline (`fangs baseline list`)."""
        return self.runs(package, baseline_only=True)

    def fingerprints(self, package: str) -> List[Fingerprint]:
        """The fingerprints of a package's baseline, sorted."""
        fps: List[Fingerprint] = []

        def each(fp, _user):
            f = fp.contents
            fps.append(Fingerprint(lib.fangs_fp_kind_name(f.kind).decode(), lib.fangs_actor_name(f.actor).decode(),
                                   f.value.decode("utf-8", "replace")))
            return 0

        cb = T.FPSET_FN(each)
        s = ctypes.c_void_p()
        lib.fangs_fpset_new(ctypes.byref(s))
        try:
            lib.fangs_storage_baseline_get(self._handle, _b(package), s)
            lib.fangs_fpset_foreach(s, cb, None)
        finally:
            lib.fangs_fpset_free(s)
        return sorted(fps, key=lambda f: (f.kind, f.actor, f.value))

    def promote(self, run_id: str, *, replace: bool = False, force: bool = False) -> Run:
        """A person accepts a run: its fingerprints join its package's
        baseline (replace=True: they become the whole baseline), its findings
        are cleared. force=True also accepts a run whose install failed or
        timed out. Returns the run as it is now."""
        flags = (PROMOTE_REPLACE if replace else 0) | (PROMOTE_UNFINISHED if force else 0)
        lib.fangs_baseline_promote(self._handle, _b(run_id), flags)
        return self.run(run_id)

    # ---- packages and releases ----

    def packages(self, *, watched_only: bool = False) -> List[Package]:
        lst = T.PackageList()
        lib.fangs_storage_package_list(self._handle, int(watched_only), ctypes.byref(lst))
        try:
            return [Package._from_c(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_package_list_free(ctypes.byref(lst))

    def package(self, name: str) -> Package:
        p = T.Package()
        lib.fangs_storage_package_get(self._handle, _b(name), ctypes.byref(p))
        try:
            return Package._from_c(p)
        finally:
            lib.fangs_package_clear(ctypes.byref(p))

    def add_package(self, name: str, *, watched: bool = True) -> Package:
        """Creates the package (`fangs package add`: watched by the orchestrator).
        A name npm would refuse raises InvalidError (check_package_name)."""
        check_package_name(name)
        lib.fangs_storage_package_upsert(self._handle, _b(name), int(watched))
        return self.package(name)

    def remove_package(self, name: str) -> None:
        """Deletes the package and everything of it."""
        lib.fangs_storage_package_remove(self._handle, _b(name))

    def reset_package(self, name: str) -> None:
        """Deletes the package's runs, events, baseline and findings; keeps the package."""
        lib.fangs_storage_package_reset(self._handle, _b(name))

    def releases(self, package: Optional[str] = None) -> List[Release]:
        lst = T.ReleaseList()
        lib.fangs_storage_release_list(self._handle, _b(package), ctypes.byref(lst))
        try:
            return [Release(_s(r.package) or "", _s(r.version) or "", r.first_seen_ns, r.run_count)
                    for r in (lst.items[i] for i in range(lst.count))]
        finally:
            lib.fangs_release_list_free(ctypes.byref(lst))

    # ---- allowlists ----

    def allowlist(self, package: Optional[str] = None) -> List[AllowEntry]:
        """Every stored entry; with a package, the global ones and its own."""
        lst = T.AllowList()
        lib.fangs_storage_allow_list(self._handle, _b(package), ctypes.byref(lst))
        try:
            return [AllowEntry._from_c(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_allow_list_free(ctypes.byref(lst))

    def allow(self, kind: str, value: str, *, package: Optional[str] = None,
              note: Optional[str] = None) -> AllowEntry:
        """Adds an entry (kind: path, cidr, sni, dns, exec); the value is
        checked for its kind (an absolute path, a CIDR that parses...)."""
        k = ctypes.c_int()
        lib.fangs_allow_kind_parse(_b(kind), ctypes.byref(k))
        lib.fangs_allow_entry_validate(k.value, _b(value))
        e = T.AllowEntry(0, k.value, _b(value), _b(package), _b(note), 0)
        lib.fangs_storage_allow_add(self._handle, ctypes.byref(e))
        return next(a for a in self.allowlist(package) if a.id == e.id)

    def remove_allow(self, entry: Union[AllowEntry, int]) -> None:
        lib.fangs_storage_allow_remove(self._handle, entry.id if isinstance(entry, AllowEntry) else entry)

    # ---- retention ----

    def prune(self, days: Optional[int] = None) -> PruneStats:
        """Deletes what is older than `days` (default: the configuration's
        retention_days), keeping baselines and evidence (`fangs prune`)."""
        days = self.config.retention_days if days is None else days
        if days <= 0:
            raise InvalidError("days must be positive", -3)
        out = T.PruneStats()
        lib.fangs_storage_prune(self._handle, time.time_ns() - days * 86400 * 10**9, ctypes.byref(out))
        return PruneStats(out.runs_deleted, out.events_deleted, out.events_kept_as_evidence)

    # ---- notifiers ----

    def notifiers(self) -> List[NotifierTarget]:
        lst = T.NotifierTargetList()
        lib.fangs_storage_notifier_list(self._handle, ctypes.byref(lst))
        try:
            return [NotifierTarget._from_c(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_notifier_target_list_free(ctypes.byref(lst))

    def notifier(self, name: str) -> NotifierTarget:
        t = T.NotifierTarget()
        lib.fangs_storage_notifier_get(self._handle, _b(name), ctypes.byref(t))
        try:
            return NotifierTarget._from_c(t)
        finally:
            lib.fangs_notifier_target_clear(ctypes.byref(t))

    def add_notifier(self, name: str, url: str, template: str = "generic", *, min_severity: SeverityArg = "low",
                     secret_env: Optional[str] = None, headers: Optional[dict] = None,
                     enabled: bool = True) -> NotifierTarget:
        """Adds a target (`fangs notifier add`): template generic, slack or
        discord; secret_env names the variable holding the HMAC secret."""
        t = T.NotifierTarget()
        t.name, t.url, t.template_name, t.secret_env = _b(name), _b(url), _b(template), _b(secret_env)
        t.enabled = int(enabled)
        t.min_severity = int(Severity.parse(min_severity))
        keep = [t.name, t.url, t.template_name, t.secret_env]  # noqa: F841 (the C side borrows them)
        try:
            for k, v in (headers or {}).items():
                lib.fangs_notifier_target_add_header(ctypes.byref(t), _b(k), _b(v))
            lib.fangs_notifier_target_check(ctypes.byref(t))
            lib.fangs_storage_notifier_add(self._handle, ctypes.byref(t))
        finally:
            # the strings are Python's; the header array is the library's
            t.name = t.url = t.template_name = t.secret_env = None
            lib.fangs_notifier_target_clear(ctypes.byref(t))
        return self.notifier(name)

    def remove_notifier(self, name: str) -> None:
        lib.fangs_storage_notifier_remove(self._handle, _b(name))

    def notifications(self, *, run_id: Optional[str] = None, notifier: Optional[str] = None,
                      limit: int = 0) -> List[Notification]:
        """The delivery history, oldest first (`fangs notifier history`)."""
        f = T.NotificationFilter(_b(run_id), _b(notifier), 0, limit)
        lst = T.NotificationList()
        lib.fangs_storage_notification_list(self._handle, ctypes.byref(f), ctypes.byref(lst))
        try:
            return [Notification._from_c(lst.items[i]) for i in range(lst.count)]
        finally:
            lib.fangs_notification_list_free(ctypes.byref(lst))

    def _notifier(self) -> ctypes.c_void_p:
        h = self.config._head
        o = T.NotifierOptions(T.NOTIFIER_OPTIONS_VERSION, self._handle, None, h.notifier_public_url,
                              h.notifier_ca_file, h.notifier_max_attempts, h.notifier_retry_base_ms, 0,
                              h.notifier_timeout_ms, 0)
        n = ctypes.c_void_p()
        lib.fangs_notifier_new(ctypes.byref(n), ctypes.byref(o))
        return n

    def notify_run(self, run_id: str, *, deliver: bool = True) -> int:
        """Schedules the messages of a run's findings (one per target whose
        minimum severity they reach, once per run) and, with deliver=True,
        sends what is due, as `fangs scan` does. Returns how many were scheduled."""
        n = self._notifier()
        try:
            queued = ctypes.c_size_t()
            lib.fangs_notifier_enqueue_run(n, _b(run_id), ctypes.byref(queued))
            if deliver and queued.value:
                lib.fangs_notifier_deliver_due(n, 0, None)
            return queued.value
        finally:
            lib.fangs_notifier_free(n)

    def deliver(self) -> DeliveryStats:
        """Makes every delivery attempt that is due (`fangs notifier deliver`)."""
        n = self._notifier()
        try:
            s = T.NotifierStats()
            lib.fangs_notifier_deliver_due(n, 0, ctypes.byref(s))
            return DeliveryStats(s.attempted, s.sent, s.retrying, s.failed)
        finally:
            lib.fangs_notifier_free(n)

    def test_notifier(self, name: str) -> NotifierTestResult:
        """Sends a synthetic finding to a target now, without recording it."""
        n = self._notifier()
        r = T.NotifierResult()
        try:
            rc = lib.fangs_notifier_send_test(n, _b(name), ctypes.byref(r))
            if rc < 0 and rc != -14:  # a receiver's refusal is an answer, not an error
                raise error_from(rc)
            return NotifierTestResult(name, rc == 0, r.http_status or None, _s(r.error), _s(r.body))
        finally:
            lib.fangs_notifier_result_clear(ctypes.byref(r))
            lib.fangs_notifier_free(n)

    # ---- scans (root, the sensor and a sandbox) ----

    def scan(self, spec: Union[str, "os.PathLike[str]"], *, sandbox: Optional[str] = None,
             network: Optional[str] = None, duration: Optional[float] = None, grace: Optional[float] = None,
             registry: Optional[str] = None, image: Optional[str] = None, import_phase: bool = True,
             progress: Optional[Callable[[str, int, Optional[str]], None]] = None):
        """Scans one package (`fangs scan SPEC`): "name@version", "name", a
        .tgz or a package directory. The run is stored and judged; the result
        carries the run, the baseline action and the findings. Needs root."""
        from .scan import scan as _scan
        return _scan(self, spec, sandbox=sandbox, network=network, duration=duration, grace=grace,
                     registry=registry, image=image, import_phase=import_phase, progress=progress)


class Rules:
    """A behaviour rule set (docs/rules.md): the built-in rules, then the
    configuration's rules: section, then `files`."""

    def __init__(self, config: Union[Config, PathArg, None] = None, *, files: Iterable[PathArg] = (),
                 builtin: bool = True):
        self._rs = ctypes.c_void_p()
        self.config = config if isinstance(config, Config) else Config(config)
        o = T.RulesOptions(T.RULES_OPTIONS_VERSION, self.config._cfg, int(not builtin))
        lib.fangs_rules_new(ctypes.byref(self._rs), ctypes.byref(o))
        try:
            for f in files:
                lib.fangs_rules_load_file(self._rs, _existing(f))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if getattr(self, "_rs", None):
            lib.fangs_rules_free(self._rs)
            self._rs = None

    def __del__(self):
        self.close()

    def __enter__(self) -> "Rules":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return lib.fangs_rules_count(self._rs)

    def list(self) -> List[Rule]:
        """Every rule, in definition order (`fangs rules list`)."""
        out = []
        for i in range(len(self)):
            r = T.RuleInfo()
            lib.fangs_rules_get(self._rs, i, ctypes.byref(r))
            out.append(Rule._from_c(r))
        return out

    def __iter__(self):
        return iter(self.list())

    def show(self, rule_id: str) -> Rule:
        """One rule (`fangs rules show ID`); NotFoundError when unknown."""
        r = T.RuleInfo()
        lib.fangs_rules_find(self._rs, _b(rule_id), ctypes.byref(r))
        return Rule._from_c(r)

    def test(self, recording: Union[PathArg, Iterable[Event]], *, package: Optional[str] = None,
             version: Optional[str] = None, registry: Optional[str] = None) -> List[Deviation]:
        """The rule hits on a recording (`fangs rules test FILE`); evidence
        ids are line numbers. registry: the registry URL (default: the
        configuration's), whose host and addresses scripts may reach."""
        lst = _event_list_from(recording)
        addrs = ctypes.POINTER(ctypes.c_char_p)()
        n_addrs = ctypes.c_size_t()
        hits = T.DeviationList()
        try:
            for i in range(lst.count):
                lst.items[i].id = i + 1
            registry = registry or self.config.registry
            host = ctypes.create_string_buffer(256)
            if registry:
                lib.fangs_registry_host(_b(registry), host, len(host))
                rc = lib.fangs_registry_addrs(host.value, ctypes.byref(addrs), ctypes.byref(n_addrs))
                if rc == -2:
                    raise error_from(rc)
            inp = T.RulesInput(None, _b(package), _b(version), lst.items, lst.count,
                               host.value if registry else None, -1, None, 0, addrs, n_addrs.value, 0)
            lib.fangs_rules_evaluate(self._rs, ctypes.byref(inp), ctypes.byref(hits))
            return _deviations(hits)
        finally:
            lib.fangs_deviation_list_free(ctypes.byref(hits))
            if addrs:
                lib.fangs_registry_addrs_free(addrs, n_addrs.value)
            lib.fangs_event_list_free(ctypes.byref(lst))
