"""Scans (fangs/scan.h) and the eBPF sensor (fangs/sensor.h): both need root."""

from __future__ import annotations

import ctypes
import os
import queue
import subprocess
import threading
import time
from typing import Iterator, List, Optional, Sequence, Union

from . import _types as T
from ._lib import Error, InvalidError, lib, name_list
from .model import Counts, Event, Probe, Run, ScanResult, SensorStats, _deviations, _group

_USER_ABORT = -17
_SANDBOXES = name_list(lib.fangs_sandbox_backend_names)
_NETWORKS = ("none", "proxy", "bridge")


def _b(s):
    return s.encode("utf-8") if s is not None else None


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _scan_options(config_ptr, spec, sandbox, network, duration, grace, registry, image, import_phase):
    if sandbox is not None and sandbox not in _SANDBOXES:
        raise InvalidError("sandbox must be %s, not %r" % (" or ".join(_SANDBOXES), sandbox), -3)
    if network is not None and network not in _NETWORKS:
        raise InvalidError("network must be none, proxy or bridge, not %r" % network, -3)
    for name, v in (("duration", duration), ("grace", grace)):
        if v is not None and not 0 < v <= 86400:
            raise InvalidError("%s must be a number of seconds in (0, 86400]" % name, -3)
    if registry is not None and not registry.startswith(("http://", "https://")):
        raise InvalidError("registry must be an http:// or https:// URL", -3)
    spec = os.fspath(spec)
    # a path (a .tgz, a package directory), not "name@version" nor "@scope/name"
    if spec.startswith(("/", "./", "../", "~")) or spec.endswith(".tgz"):
        if not os.path.exists(os.path.expanduser(spec)):
            from ._lib import FileNotFound
            raise FileNotFound(spec)
    o = T.ScanOptions()
    o.version = T.SCAN_OPTIONS_VERSION
    o.config = config_ptr
    o.sandbox, o.network, o.registry, o.image = _b(sandbox), _b(network), _b(registry), _b(image)
    o.duration_ms = int(duration * 1000) if duration else 0
    o.grace_ms = int(grace * 1000) if grace else 0
    o.no_import = int(not import_phase)
    docker_host = os.environ.get("DOCKER_HOST")
    if docker_host:
        if not docker_host.startswith("unix://") or len(docker_host) == 7:
            raise InvalidError("DOCKER_HOST must be unix://PATH (the daemon's socket)", -3)
        o.docker_socket = _b(docker_host[7:])
    return o, spec


def _progress_cb(progress, failures):
    if progress is None:
        return T.SCAN_PROGRESS_FN()

    def cb(phase, events, detail, _user):
        try:
            progress(lib.fangs_scan_phase_name(phase).decode(), events, _s(detail))
        except BaseException as e:  # raised again once the scan returns
            failures.append(e)
    return T.SCAN_PROGRESS_FN(cb)


def _result(spec, r: T.ScanResult, run: Optional[Run], storage_handle=None) -> ScanResult:
    # findings need the records' evidence events: only a stored run has them
    findings, counts = _group(storage_handle, r.analysis.deviations) if storage_handle else ([], Counts())
    return ScanResult(spec=spec, run=run, baseline=lib.fangs_baseline_action_name(r.analysis.action).decode(),
                      deviations=_deviations(r.analysis.deviations),
                      state=lib.fangs_run_state_name(r.state).decode(), reason=_s(r.reason), exit_code=r.exit_code,
                      timed_out=bool(r.timed_out), events_emitted=r.events_emitted,
                      events_dropped=r.events_dropped, duration_ns=r.duration_ns,
                      install_output=_s(r.install_output), findings=findings, counts=counts)


def scan(storage, spec, *, sandbox=None, network=None, duration=None, grace=None, registry=None, image=None,
         import_phase=True, progress=None) -> ScanResult:
    o, spec = _scan_options(storage.config._cfg, spec, sandbox, network, duration, grace, registry, image,
                            import_phase)
    o.storage = storage._handle
    failures: List[BaseException] = []
    o.progress = _progress_cb(progress, failures)
    r = T.ScanResult()
    try:
        lib.fangs_scan(ctypes.byref(o), _b(spec), ctypes.byref(r))
        if failures:
            raise failures[0]
        return _result(spec, r, storage.run(r.run_id.decode()), storage._handle)
    finally:
        lib.fangs_scan_result_clear(ctypes.byref(r))


class ScanStream:
    """The events of a scan as they happen (iterate it). The run is neither
    stored nor judged: that is for whoever receives the events (as a runner
    sends them to the orchestrator); use Storage.scan() for a stored, judged
    run. After the iteration, .result tells how the install ended."""

    def __init__(self, spec, *, config=None, sandbox=None, network=None, duration=None, grace=None,
                 registry=None, image=None, import_phase=True, run_id=None):
        from .api import Config
        self.config = config if isinstance(config, Config) else Config(config)
        self._opts, self.spec = _scan_options(self.config._cfg, spec, sandbox, network, duration, grace,
                                              registry, image, import_phase)
        self._opts.run_id = _b(run_id)
        self._queue: "queue.Queue" = queue.Queue()
        self._stop = False
        self.result: Optional[ScanResult] = None
        self.run_id: Optional[str] = None
        self.decoys: List[dict] = []
        self._error: Optional[BaseException] = None

        def on_event(ev, _user):
            if self._stop:
                return _USER_ABORT
            try:
                self._queue.put(Event._from_c(ev.contents))
            except BaseException as e:
                self._error = e
                return _USER_ABORT
            return 0

        def on_decoys(decoys, n, _user):
            self.decoys = [{"place": _s(decoys[i].place), "what": _s(decoys[i].what)} for i in range(n)]

        self._cb = T.EVENT_FN(on_event)
        self._dcb = T.DECOYS_FN(on_decoys)
        self._opts.on_event = self._cb
        self._opts.on_decoys = self._dcb
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        r = T.ScanResult()
        try:
            lib.fangs_scan(ctypes.byref(self._opts), _b(self.spec), ctypes.byref(r))
            self.result = _result(self.spec, r, None)
            self.run_id = r.run_id.decode()
        except Error as e:
            if self._error is None and not (self._stop and e.code == _USER_ABORT):
                self._error = e
        finally:
            lib.fangs_scan_result_clear(ctypes.byref(r))
            self._queue.put(None)

    def __iter__(self) -> Iterator[Event]:
        while True:
            ev = self._queue.get()
            if ev is None:
                break
            yield ev
        self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Ends the scan early (it stops at its next event) and waits for it."""
        self._stop = True
        self._thread.join()

    def __enter__(self) -> "ScanStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scan_stream(spec: Union[str, "os.PathLike[str]"], **kw) -> ScanStream:
    """A scan whose events are yielded as they happen; see ScanStream."""
    return ScanStream(spec, **kw)


def check_sensor() -> None:
    """Raises PermissionDenied or UnsupportedError saying what this machine
    lacks to run the sensor; returns None when it can."""
    why = ctypes.create_string_buffer(512)
    lib.fangs_sensor_check(why, len(why))


class Sensor:
    """The eBPF sensor, loaded (root). Mostly for probes(); trace() loads its own."""

    def __init__(self, *, on_event=None, ringbuf_size: int = 0, max_events_per_run: int = 0):
        self._s = ctypes.c_void_p()
        self._cb = on_event or T.EVENT_FN()  # kept alive as long as the sensor
        o = T.SensorOptions(T.SENSOR_OPTIONS_VERSION, ringbuf_size, self._cb, None, 0, None, 0, max_events_per_run)
        lib.fangs_sensor_new(ctypes.byref(self._s), ctypes.byref(o))

    def probes(self) -> List[Probe]:
        """Every probe the sensor knows and whether it is attached (`fangs sensor probes`)."""
        arr = ctypes.POINTER(T.SensorProbe)()
        n = ctypes.c_size_t()
        lib.fangs_sensor_probes(self._s, ctypes.byref(arr), ctypes.byref(n))
        return [Probe(_s(arr[i].name) or "", _s(arr[i].group) or "", bool(arr[i].live), _s(arr[i].reason) or "")
                for i in range(n.value)]

    def close(self) -> None:
        if getattr(self, "_s", None):
            lib.fangs_sensor_free(self._s)
            self._s = None

    def __enter__(self) -> "Sensor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        self.close()


class Trace:
    """Runs a command in a fresh cgroup under the sensor (`fangs trace`);
    iterating yields what it and its descendants do, as it happens. The
    iteration ends when every process of the cgroup has exited; then
    .returncode is the command's status and .stats the sensor's counters.
    Breaking out early (or close()) kills what is left of the cgroup."""

    def __init__(self, argv: Sequence[Union[str, "os.PathLike[str]"]], *, cwd=None, env=None, stdin=None,
                 stdout=None, stderr=None, ringbuf_size: int = 0):
        if not argv:
            raise InvalidError("trace needs a command", -3)
        self.argv = [os.fspath(a) for a in argv]
        self.returncode: Optional[int] = None
        self.stats: Optional[SensorStats] = None
        self._pending: List[Event] = []
        self._cgroup = None
        self._proc = None
        self._sensor = None
        self.run_id = "trace-%d-%d" % (os.getpid(), time.time_ns())

        def on_event(ev, _user):
            try:
                self._pending.append(Event._from_c(ev.contents))
            except BaseException:
                return _USER_ABORT
            return 0

        self._sensor = Sensor(on_event=T.EVENT_FN(on_event), ringbuf_size=ringbuf_size)
        try:
            path = ctypes.create_string_buffer(4096)
            lib.fangs_cgroup_create_run(_b(self.run_id), path, len(path))
            self._cgroup = path.value
            lib.fangs_sensor_watch_cgroup(self._sensor._s, self._cgroup, _b(self.run_id))
            procs = os.path.join(os.fsdecode(self._cgroup), "cgroup.procs")

            def join_cgroup():
                with open(procs, "w") as f:
                    f.write("0")

            self._proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                                          preexec_fn=join_cgroup)
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[Event]:
        try:
            while True:
                lib.fangs_sensor_poll(self._sensor._s, 100)
                yield from self._take()
                done = self._proc.poll() is not None
                if done and lib.fangs_cgroup_populated(self._cgroup) <= 0:
                    break
            # what the kernel wrote before the last process left, to the end
            lib.fangs_sensor_drain(self._sensor._s, 10)
            yield from self._take()
            self.returncode = self._proc.returncode
            st = T.SensorRunStats()
            lib.fangs_sensor_stats(self._sensor._s, _b(self.run_id), ctypes.byref(st))
            self.stats = SensorStats(st.emitted, st.dropped, st.folded, st.capped)
        finally:
            self.close()

    def _take(self) -> List[Event]:
        out, self._pending = self._pending, []
        return out

    def close(self) -> None:
        if getattr(self, "_cgroup", None) is not None:
            if lib.fangs_cgroup_populated(self._cgroup) > 0:
                lib.fangs_cgroup_kill(self._cgroup)
                for _ in range(100):
                    if lib.fangs_cgroup_populated(self._cgroup) <= 0:
                        break
                    time.sleep(0.02)
            if self._proc is not None and self._proc.returncode is None:
                self._proc.wait()
                self.returncode = self._proc.returncode
            if self._sensor is not None:
                try:
                    lib.fangs_sensor_unwatch(self._sensor._s, _b(self.run_id))
                except Error:
                    pass
            lib.fangs_cgroup_remove(self._cgroup)
            self._cgroup = None
        if getattr(self, "_sensor", None) is not None:
            self._sensor.close()
            self._sensor = None

    def __enter__(self) -> "Trace":
        return self

    def __del__(self):
        self.close()

    def __exit__(self, *exc) -> None:
        self.close()


def trace(argv: Sequence[Union[str, "os.PathLike[str]"]], **kw) -> Trace:
    """Runs argv under the sensor; iterate the result for its events. See Trace."""
    return Trace(argv, **kw)
