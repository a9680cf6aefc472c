"""What the binding returns: dataclasses with the fields of the CLI's --json
output (docs/cli.md), built from the library's structs."""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import _types as T
from ._lib import InvalidError, lib, libc


def _s(b: Optional[bytes]) -> Optional[str]:
    return b.decode("utf-8", "replace") if b is not None else None


class Severity(enum.IntEnum):
    """info < low < medium < high < critical. Compare, sort, or str() it."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: Union["Severity", str, int]) -> "Severity":
        """A Severity from itself, its number, or its name in any case ("HIGH")."""
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                raise InvalidError("severity %d out of range (0..4)" % value, -3) from None
        if not isinstance(value, str):
            raise InvalidError("severity must be a name or a number, not %r" % type(value).__name__, -3)
        out = ctypes.c_int()
        lib.fangs_severity_parse(value.encode(), ctypes.byref(out))
        return cls(out.value)


def _sev(v: int) -> str:
    return lib.fangs_severity_name(v).decode()


@dataclass(frozen=True)
class Origin:
    """Which package's lifecycle script acted."""
    package: Optional[str]
    version: Optional[str]
    script: Optional[str]
    command: Optional[str]

    @classmethod
    def _from_c(cls, o: T.Origin) -> Optional["Origin"]:
        if not o.package and not o.script:
            return None
        return cls(_s(o.package), _s(o.version), _s(o.script), _s(o.command))

    @classmethod
    def _from_json(cls, d: Optional[Dict[str, Any]]) -> Optional["Origin"]:
        if not d:
            return None
        return cls(d.get("package"), d.get("version"), d.get("script"), d.get("command"))


@dataclass(frozen=True)
class Ancestor:
    pid: int
    comm: Optional[str] = None
    exe: Optional[str] = None


@dataclass(frozen=True)
class Event:
    """One observed action (docs/events.md). The fields are those of the
    event's JSON line; fields a kind does not use are None. to_dict() gives
    the JSON object itself (what `fangs trace --json` prints)."""
    kind: str
    id: Optional[int] = None
    ts_ns: Optional[int] = None
    pid: Optional[int] = None
    ppid: Optional[int] = None
    uid: Optional[int] = None
    comm: Optional[str] = None
    path: Optional[str] = None
    flags: Optional[str] = None
    argv: Optional[List[str]] = None
    family: Optional[str] = None
    addr: Optional[str] = None
    port: Optional[int] = None
    proto: Optional[str] = None
    qname: Optional[str] = None
    qtype: Optional[Union[str, int]] = None
    sni: Optional[str] = None
    exit_code: Optional[int] = None
    ancestry: List[Ancestor] = field(default_factory=list)
    origin: Optional[Origin] = None
    run: Optional[str] = None
    host: Optional[str] = None
    method: Optional[str] = None
    bytes_out: Optional[int] = None
    bytes_in: Optional[int] = None
    status: Optional[int] = None
    allowed: Optional[bool] = None
    real_path: Optional[str] = None
    ino: Optional[int] = None
    dev: Optional[int] = None
    decoy: Optional[str] = None
    env_package: Optional[str] = None
    phase: Optional[str] = None
    op: Optional[str] = None
    detail: Optional[str] = None
    target: Optional[int] = None
    arg: Optional[int] = None
    summary: str = field(default="", compare=False)
    _json: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> Dict[str, Any]:
        """The event as the library encodes it (one NDJSON line, parsed); for
        an Event made in Python, its fields that are set."""
        if self._json:
            return json.loads(json.dumps(self._json))
        out: Dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if name.startswith("_") or name == "summary" or v is None or v == []:
                continue
            if name == "ancestry":
                v = [{k: x for k, x in dataclasses.asdict(a).items() if x is not None} for a in v]
            elif name == "origin":
                v = {k: x for k, x in dataclasses.asdict(v).items() if x is not None}
            out[name] = v
        return out

    @classmethod
    def _from_c(cls, ev: T.Event) -> "Event":
        out = ctypes.c_void_p()
        n = ctypes.c_size_t()
        lib.fangs_event_to_json(ctypes.byref(ev), ctypes.byref(out), ctypes.byref(n))
        try:
            d = json.loads(ctypes.string_at(out, n.value).decode("utf-8"))
        finally:
            libc.free(out)
        buf = ctypes.create_string_buffer(512)
        summary = lib.fangs_event_summary(ctypes.byref(ev), buf, len(buf)).decode("utf-8", "replace")
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_") and f not in ("ancestry", "origin")}
        kw = {k: v for k, v in d.items() if k in known}
        return cls(ancestry=[Ancestor(a.get("pid", 0), a.get("comm"), a.get("exe")) for a in d.get("ancestry", [])],
                   origin=Origin._from_json(d.get("origin")), summary=summary, _json=d, **kw)


def _events(lst: T.EventList) -> List[Event]:
    return [Event._from_c(lst.items[i]) for i in range(lst.count)]


@dataclass(frozen=True)
class Run:
    """One install of one release (`fangs run show --json`, without the lists)."""
    id: str
    package: Optional[str]
    version: Optional[str]
    state: str
    review: str
    is_baseline: bool
    events_emitted: int
    events_dropped: int
    event_count: int
    deviation_count: int
    max_severity: Optional[str]
    duration_ns: int
    exit_code: Optional[int]
    runner: Optional[str]
    sandbox: Optional[str]
    network: Optional[str]
    error: Optional[str]
    created_ns: int
    started_ns: int
    finished_ns: int
    install_output: Optional[str] = field(default=None, repr=False)
    # set when the run's events are stored but judging them failed: the run
    # has no findings yet (Storage.analyze_run, `fangs run analyze`)
    analysis_error: Optional[str] = None

    @classmethod
    def _from_c(cls, r: T.Run) -> "Run":
        return cls(
            id=r.id.decode(), package=_s(r.package), version=_s(r.version),
            state=lib.fangs_run_state_name(r.state).decode(), review=lib.fangs_review_name(r.review).decode(),
            is_baseline=bool(r.is_baseline), events_emitted=r.events_emitted, events_dropped=r.events_dropped,
            event_count=r.event_count, deviation_count=r.deviation_count,
            max_severity=_sev(r.max_severity) if r.deviation_count else None, duration_ns=r.duration_ns,
            exit_code=r.exit_code if r.has_exit_code else None, runner=_s(r.runner), sandbox=_s(r.sandbox),
            network=_s(r.network), error=_s(r.error), created_ns=r.created_ns, started_ns=r.started_ns,
            finished_ns=r.finished_ns, install_output=_s(r.install_output), analysis_error=_s(r.analysis_error))


@dataclass(frozen=True)
class Deviation:
    """A finding: something the baseline lacks, or (kind "rule:<id>") a rule hit."""
    id: int
    run_id: Optional[str]
    package: Optional[str]
    kind: str
    severity: str
    value: Optional[str]
    actor: str
    description: Optional[str]
    origin: Optional[Origin]
    command: Optional[str]
    evidence: List[int]
    created_ns: int

    @property
    def is_rule(self) -> bool:
        return self.kind.startswith("rule:")

    @classmethod
    def _from_c(cls, d: T.Deviation) -> "Deviation":
        return cls(id=d.id, run_id=_s(d.run_id), package=_s(d.package), kind=_s(d.kind) or "",
                   severity=_sev(d.severity), value=_s(d.value), actor=lib.fangs_actor_name(d.actor).decode(),
                   description=_s(d.description), origin=Origin._from_c(d.origin), command=_s(d.command),
                   evidence=[d.evidence[i] for i in range(d.n_evidence)], created_ns=d.created_ns)


def _deviations(lst: T.DeviationList) -> List[Deviation]:
    return [Deviation._from_c(lst.items[i]) for i in range(lst.count)]


def _strs(arr, n: int) -> List[str]:
    return [arr[i].decode("utf-8", "replace") for i in range(n)]


@dataclass(frozen=True)
class Finding:
    """One behaviour (`fangs run show --json` "findings"): the records
    (deviations and rule hits) that one thing the run did made, grouped
    (fangs/findings.h). deviation_ids are the records' ids, the main one
    first; rule_hits how many of them are rule hits."""
    kind: Optional[str]
    labels: List[str]
    severity: str
    value: Optional[str]
    domain: Optional[str]
    network: bool
    values: List[str]
    actor: str
    description: Optional[str]
    origin: Optional[Origin]
    command: Optional[str]
    deviation_ids: List[int]
    rule_hits: int
    evidence: List[int]

    @classmethod
    def _from_c(cls, f: T.Finding) -> "Finding":
        return cls(kind=_s(f.kind), labels=_strs(f.labels, f.n_labels), severity=_sev(f.severity),
                   value=_s(f.value), domain=_s(f.domain), network=bool(f.network),
                   values=_strs(f.values, f.n_values), actor=lib.fangs_actor_name(f.actor).decode(),
                   description=_s(f.description), origin=Origin._from_c(f.origin), command=_s(f.command),
                   deviation_ids=[f.record_ids[i] for i in range(f.n_records)], rule_hits=f.n_rule_hits,
                   evidence=[f.evidence[i] for i in range(f.n_evidence)])


@dataclass(frozen=True)
class Counts:
    """How many findings (behaviours) and raw records a run has (`"counts"`
    in the CLI's --json)."""
    findings: int = 0
    deviations: int = 0
    rule_hits: int = 0


def _findings(lst: T.FindingList):
    return ([Finding._from_c(lst.items[i]) for i in range(lst.count)],
            Counts(lst.count, lst.n_deviations, lst.n_rule_hits))


def _group(storage_handle, devs: T.DeviationList):
    """Groups C records into (findings, counts), their evidence read from storage."""
    fl = T.FindingList()
    lib.fangs_findings_load(storage_handle, ctypes.byref(devs), None, ctypes.byref(fl))
    try:
        return _findings(fl)
    finally:
        lib.fangs_finding_list_free(ctypes.byref(fl))


@dataclass(frozen=True)
class RunReport:
    """One run with its records and findings (`fangs run show --json`)."""
    run: Run
    deviations: List[Deviation]
    findings: List[Finding]
    counts: Counts
    events: Optional[List[Event]] = field(default=None, repr=False)


@dataclass(frozen=True)
class Analysis:
    """How a run was judged (`fangs events import --json`, `fangs run
    analyze --json`): the run, what happened to the baseline, the number of
    fingerprints, the records and the findings they group into."""
    run: Run
    baseline: str
    fingerprints: int
    deviations: List[Deviation]
    n_events: int = 0
    baseline_size: int = 0
    findings: List[Finding] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def action(self) -> str:
        return self.baseline


@dataclass(frozen=True)
class Runner:
    """A scan host known to the orchestrator (`fangs runner list --json`)."""
    id: str
    state: Optional[str]
    hostname: Optional[str]
    cn: Optional[str]
    max_scans: int
    running: int
    registered_ns: int
    last_heartbeat_ns: int


@dataclass(frozen=True)
class Job:
    """A queued scan: the run it made and where it stands."""
    id: int
    run_id: str
    package: Optional[str]
    version: Optional[str]
    target_runner: Optional[str]
    state: str
    attempts: int
    runner: Optional[str]
    created_ns: int
    updated_ns: int


@dataclass(frozen=True)
class Fingerprint:
    kind: str
    actor: str
    value: str


@dataclass(frozen=True)
class Package:
    name: str
    watched: bool
    last_seen_version: Optional[str]
    run_count: int
    baseline_size: int
    created_ns: int

    @classmethod
    def _from_c(cls, p: T.Package) -> "Package":
        return cls(_s(p.name) or "", bool(p.watched), _s(p.last_seen_version), p.run_count, p.baseline_size,
                   p.created_ns)


@dataclass(frozen=True)
class Release:
    package: str
    version: str
    first_seen_ns: int
    run_count: int


@dataclass(frozen=True)
class AllowEntry:
    """An allowlist entry (kind: path, cidr, sni, dns or exec)."""
    id: int
    kind: str
    value: str
    package: Optional[str]
    note: Optional[str]
    created_ns: int

    @classmethod
    def _from_c(cls, a: T.AllowEntry) -> "AllowEntry":
        return cls(a.id, lib.fangs_allow_kind_name(a.kind).decode(), _s(a.value) or "", _s(a.package),
                   _s(a.note), a.created_ns)


@dataclass(frozen=True)
class Rule:
    """A behaviour rule (`fangs rules show --json`)."""
    id: str
    description: Optional[str]
    severity: str
    enabled: bool
    source: Optional[str]
    line: int
    match: Optional[str]

    @classmethod
    def _from_c(cls, r: T.RuleInfo) -> "Rule":
        return cls(_s(r.id) or "", _s(r.description), _sev(r.severity), bool(r.enabled), _s(r.source), r.line,
                   _s(r.match))


@dataclass(frozen=True)
class NotifierTarget:
    """Where findings are sent. Header values are not returned (as the CLI
    shows them "(hidden)"): only their names."""
    id: int
    name: str
    url: str
    template: str
    enabled: bool
    min_severity: str
    secret_env: Optional[str]
    headers: List[str]
    created_ns: int

    @classmethod
    def _from_c(cls, t: T.NotifierTarget) -> "NotifierTarget":
        return cls(t.id, _s(t.name) or "", _s(t.url) or "", _s(t.template_name) or "", bool(t.enabled),
                   _sev(t.min_severity), _s(t.secret_env),
                   [_s(t.headers[i].name) or "" for i in range(t.n_headers)], t.created_ns)


@dataclass(frozen=True)
class Notification:
    """One delivery attempt (`fangs notifier history --json`)."""
    id: int
    notifier: Optional[str]
    run_id: Optional[str]
    attempt: int
    status: str
    http_status: Optional[int]
    error: Optional[str]
    next_attempt_ns: Optional[int]
    time_ns: int
    body: Optional[str] = field(default=None, repr=False)

    @classmethod
    def _from_c(cls, n: T.Notification) -> "Notification":
        return cls(n.id, _s(n.notifier_name), _s(n.run_id), n.attempt,
                   lib.fangs_notification_status_name(n.status).decode(), n.http_status or None, _s(n.error),
                   n.next_attempt_ns or None, n.created_ns, _s(n.body))


@dataclass(frozen=True)
class DeliveryStats:
    attempted: int
    sent: int
    retrying: int
    failed: int


@dataclass(frozen=True)
class NotifierTestResult:
    """What a receiver answered to `Storage.test_notifier()`."""
    notifier: str
    ok: bool
    http_status: Optional[int]
    error: Optional[str]
    body: Optional[str]


@dataclass(frozen=True)
class PruneStats:
    runs_deleted: int
    events_deleted: int
    events_kept_as_evidence: int


@dataclass(frozen=True)
class ScanResult:
    """One scan (`fangs scan --json`: spec, run, baseline, deviations,
    findings, counts), plus how the install ended."""
    spec: str
    run: Optional[Run]
    baseline: str
    deviations: List[Deviation]
    state: str
    reason: Optional[str]
    exit_code: int
    timed_out: bool
    events_emitted: int
    events_dropped: int
    duration_ns: int
    install_output: Optional[str] = field(default=None, repr=False)
    findings: List[Finding] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def run_id(self) -> Optional[str]:
        return self.run.id if self.run else None


@dataclass(frozen=True)
class SensorStats:
    """The kernel side's counters of one traced run."""
    emitted: int
    dropped: int
    folded: int
    capped: int


@dataclass(frozen=True)
class Probe:
    name: str
    group: str
    live: bool
    reason: str
