"""ctypes mirrors of the public structs of include/fangs/*.h.

Every class here names its C struct in MIRRORS; tests/test_layout.py
compares each one's size and the offset of every field with what the C
compiler says (a probe program generated from this table and built by
meson), so a header change that is not followed here fails the tests.
"""

import ctypes
from ctypes import (CFUNCTYPE, POINTER, c_char, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint, c_uint16,
                    c_uint32, c_uint64, c_void_p)

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


class WatchedPath(ctypes.Structure):
    _fields_ = [("prefix", c_char_p), ("cred", c_int)]


class AllowEntry(ctypes.Structure):
    _fields_ = [("id", c_int64), ("kind", c_int), ("value", c_char_p), ("package", c_char_p),
                ("note", c_char_p), ("created_ns", c_int64)]


class AllowList(ctypes.Structure):
    _fields_ = [("items", POINTER(AllowEntry)), ("count", c_size_t), ("capacity", c_size_t)]


class ConfigHead(ctypes.Structure):
    """The leading fields of fangs_config (read only, through a pointer the
    library allocated): what opening storage and the notifier need."""
    _fields_ = [
        ("source", c_char_p), ("watched_paths", POINTER(WatchedPath)), ("n_watched_paths", c_size_t),
        ("builtin_cred_paths", c_int), ("allow", AllowList), ("severity", c_void_p), ("n_severity", c_size_t),
        ("promote_after_clean_runs", c_uint), ("storage_backend", c_char_p), ("sqlite_path", c_char_p),
        ("postgres_dsn", c_char_p), ("retention_days", c_uint), ("registry", c_char_p),
        ("rule_files", POINTER(c_char_p)), ("n_rule_files", c_size_t), ("rules_disabled", POINTER(c_char_p)),
        ("n_rules_disabled", c_size_t), ("n_rules_inline", c_size_t), ("rules_inline_text", c_char_p),
        ("notifier_public_url", c_char_p), ("notifier_ca_file", c_char_p), ("notifier_max_attempts", c_uint),
        ("notifier_retry_base_ms", c_uint), ("notifier_timeout_ms", c_uint),
    ]


class DifferOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("config", c_void_p), ("infra", POINTER(c_char_p)), ("n_infra", c_size_t)]


class StorageOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("backend", c_char_p), ("sqlite_path", c_char_p),
                ("postgres_dsn", c_char_p), ("busy_timeout_ms", c_int), ("read_only", c_int)]


class Package(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("watched", c_int), ("last_seen_version", c_char_p), ("created_ns", c_int64),
                ("run_count", c_int64), ("baseline_size", c_int64)]


class PackageList(ctypes.Structure):
    _fields_ = [("items", POINTER(Package)), ("count", c_size_t), ("capacity", c_size_t)]


class Release(ctypes.Structure):
    _fields_ = [("package", c_char_p), ("version", c_char_p), ("first_seen_ns", c_int64), ("run_count", c_int64)]


class ReleaseList(ctypes.Structure):
    _fields_ = [("items", POINTER(Release)), ("count", c_size_t), ("capacity", c_size_t)]


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


class Fingerprint(ctypes.Structure):
    _fields_ = [("kind", c_int), ("actor", c_int), ("value", c_char_p)]


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


class PruneStats(ctypes.Structure):
    _fields_ = [("runs_deleted", c_int64), ("events_deleted", c_int64), ("events_kept_as_evidence", c_int64)]


class NotifierHeader(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("value", c_char_p)]


class NotifierTarget(ctypes.Structure):
    _fields_ = [("id", c_int64), ("name", c_char_p), ("url", c_char_p), ("template_name", c_char_p),
                ("enabled", c_int), ("min_severity", c_int), ("headers", POINTER(NotifierHeader)),
                ("n_headers", c_size_t), ("secret_env", c_char_p), ("created_ns", c_int64)]


class NotifierTargetList(ctypes.Structure):
    _fields_ = [("items", POINTER(NotifierTarget)), ("count", c_size_t), ("capacity", c_size_t)]


class Notification(ctypes.Structure):
    _fields_ = [("id", c_int64), ("notifier_id", c_int64), ("notifier_name", c_char_p), ("run_id", c_char_p),
                ("attempt", c_int), ("status", c_int), ("http_status", c_int), ("error", c_char_p),
                ("next_attempt_ns", c_int64), ("body", c_char_p), ("created_ns", c_int64)]


class NotificationList(ctypes.Structure):
    _fields_ = [("items", POINTER(Notification)), ("count", c_size_t), ("capacity", c_size_t)]


class NotificationFilter(ctypes.Structure):
    _fields_ = [("run_id", c_char_p), ("notifier", c_char_p), ("notifier_id", c_int64), ("limit", c_size_t)]


class NotifierOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("storage", c_void_p), ("storage_options", POINTER(StorageOptions)),
                ("public_url", c_char_p), ("ca_file", c_char_p), ("max_attempts", c_uint),
                ("base_delay_ms", c_int64), ("max_delay_ms", c_int64), ("timeout_ms", ctypes.c_long),
                ("max_deviations", c_uint)]


class NotifierStats(ctypes.Structure):
    _fields_ = [("attempted", c_size_t), ("sent", c_size_t), ("retrying", c_size_t), ("failed", c_size_t)]


class NotifierResult(ctypes.Structure):
    _fields_ = [("http_status", c_int), ("error", c_char_p), ("body", c_char_p), ("request", c_char_p)]


class Job(ctypes.Structure):
    _fields_ = [("id", c_int64), ("run_id", c_char * RUN_ID_MAX), ("package", c_char_p), ("version", c_char_p),
                ("target_runner", c_char_p), ("state", c_int), ("attempts", c_int), ("runner", c_char_p),
                ("created_ns", c_int64), ("updated_ns", c_int64)]


class Runner(ctypes.Structure):
    _fields_ = [("id", c_char_p), ("cn", c_char_p), ("hostname", c_char_p), ("max_scans", c_int),
                ("state", c_char_p), ("registered_ns", c_int64), ("last_heartbeat_ns", c_int64),
                ("running", c_int64)]


class RunnerList(ctypes.Structure):
    _fields_ = [("items", POINTER(Runner)), ("count", c_size_t), ("capacity", c_size_t)]


class Analysis(ctypes.Structure):
    _fields_ = [("deviations", DeviationList), ("action", c_int), ("n_events", c_size_t),
                ("n_fingerprints", c_size_t), ("baseline_size", c_size_t), ("elapsed_ns", c_int64)]


class Finding(ctypes.Structure):
    _fields_ = [("severity", c_int), ("kind", c_char_p), ("labels", POINTER(c_char_p)), ("n_labels", c_size_t),
                ("value", c_char_p), ("domain", c_char_p), ("network", c_int), ("values", POINTER(c_char_p)),
                ("n_values", c_size_t), ("actor", c_int), ("description", c_char_p), ("origin", Origin),
                ("command", c_char_p), ("records", POINTER(c_size_t)), ("n_records", c_size_t),
                ("record_ids", POINTER(c_int64)), ("n_rule_hits", c_size_t), ("evidence", POINTER(c_int64)),
                ("n_evidence", c_size_t)]


class FindingList(ctypes.Structure):
    _fields_ = [("items", POINTER(Finding)), ("count", c_size_t), ("capacity", c_size_t),
                ("n_deviations", c_size_t), ("n_rule_hits", c_size_t)]


class FindingsOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("suffix_list", c_char_p), ("events", POINTER(Event)), ("n_events", c_size_t)]


class RulesOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("config", c_void_p), ("no_builtin", c_int)]


class RuleInfo(ctypes.Structure):
    _fields_ = [("id", c_char_p), ("description", c_char_p), ("severity", c_int), ("enabled", c_int),
                ("source", c_char_p), ("line", c_uint), ("match", c_char_p)]


class RulesInput(ctypes.Structure):
    _fields_ = [("run_id", c_char_p), ("package", c_char_p), ("version", c_char_p), ("events", POINTER(Event)),
                ("n_events", c_size_t), ("registry_host", c_char_p), ("processes_left", c_int),
                ("infra", POINTER(c_char_p)), ("n_infra", c_size_t), ("registry_addrs", POINTER(c_char_p)),
                ("n_registry_addrs", c_size_t), ("events_lost", c_int64)]


class Decoy(ctypes.Structure):
    _fields_ = [("place", c_char_p), ("what", c_char_p), ("value", c_char_p)]


EVENT_FN = CFUNCTYPE(c_int, POINTER(Event), c_void_p)
SCAN_PROGRESS_FN = CFUNCTYPE(None, c_int, c_uint64, c_char_p, c_void_p)
DECOYS_FN = CFUNCTYPE(None, POINTER(Decoy), c_size_t, c_void_p)
FPSET_FN = CFUNCTYPE(c_int, POINTER(Fingerprint), c_void_p)
LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class ScanOptions(ctypes.Structure):
    _fields_ = [
        ("version", c_uint), ("storage", c_void_p), ("config", c_void_p), ("sandbox", c_char_p),
        ("network", c_char_p), ("duration_ms", c_int64), ("grace_ms", c_int64), ("registry", c_char_p),
        ("work_root", c_char_p), ("image", c_char_p), ("runner", c_char_p), ("cache_dir", c_char_p),
        ("sensor", c_void_p), ("progress", SCAN_PROGRESS_FN), ("user", c_void_p), ("docker_socket", c_char_p),
        ("on_event", EVENT_FN), ("event_user", c_void_p), ("run_id", c_char_p), ("on_decoys", DECOYS_FN),
        ("decoys_user", c_void_p), ("no_import", c_int), ("import_timeout_ms", c_int64),
    ]


class ScanResult(ctypes.Structure):
    _fields_ = [("run_id", c_char * 64), ("package", c_char_p), ("version", c_char_p), ("analysis", Analysis),
                ("events_emitted", c_uint64), ("events_dropped", c_uint64), ("exit_code", c_int),
                ("timed_out", c_int), ("duration_ns", c_int64), ("install_output", c_char_p), ("state", c_int),
                ("reason", c_char_p)]


class SensorOptions(ctypes.Structure):
    _fields_ = [("version", c_uint), ("ringbuf_size", c_size_t), ("on_event", EVENT_FN), ("user", c_void_p),
                ("probes", c_uint), ("tls_binaries", POINTER(c_char_p)), ("wakeup_ms", c_uint),
                ("max_events_per_run", c_uint64), ("syscalls", c_uint)]


class SensorProbe(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("group", c_char_p), ("live", c_int), ("reason", c_char_p)]


class SensorRunStats(ctypes.Structure):
    _fields_ = [("emitted", c_uint64), ("dropped", c_uint64), ("folded", c_uint64), ("capped", c_uint64)]


# ctypes class -> (C type name, whole struct mirrored: compare sizes too)
MIRRORS = {
    Ancestor: ("fangs_ancestor", True),
    Origin: ("fangs_origin", True),
    Event: ("fangs_event", True),
    EventList: ("fangs_event_list", True),
    WatchedPath: ("fangs_watched_path", True),
    AllowEntry: ("fangs_allow_entry", True),
    AllowList: ("fangs_allow_list", True),
    ConfigHead: ("fangs_config", False),
    DifferOptions: ("fangs_differ_options", True),
    StorageOptions: ("fangs_storage_options", True),
    Package: ("fangs_package", True),
    PackageList: ("fangs_package_list", True),
    Release: ("fangs_release", True),
    ReleaseList: ("fangs_release_list", True),
    Run: ("fangs_run", True),
    RunList: ("fangs_run_list", True),
    RunFilter: ("fangs_run_filter", True),
    Fingerprint: ("fangs_fingerprint", True),
    Deviation: ("fangs_deviation", True),
    DeviationList: ("fangs_deviation_list", True),
    DeviationFilter: ("fangs_deviation_filter", True),
    PruneStats: ("fangs_prune_stats", True),
    NotifierHeader: ("fangs_notifier_header", True),
    NotifierTarget: ("fangs_notifier_target", True),
    NotifierTargetList: ("fangs_notifier_target_list", True),
    Notification: ("fangs_notification", True),
    NotificationList: ("fangs_notification_list", True),
    NotificationFilter: ("fangs_notification_filter", True),
    NotifierOptions: ("fangs_notifier_options", True),
    NotifierStats: ("fangs_notifier_stats", True),
    NotifierResult: ("fangs_notifier_result", True),
    Job: ("fangs_job", True),
    Runner: ("fangs_runner", True),
    RunnerList: ("fangs_runner_list", True),
    Analysis: ("fangs_analysis", True),
    Finding: ("fangs_finding", True),
    FindingList: ("fangs_finding_list", True),
    FindingsOptions: ("fangs_findings_options", True),
    RulesOptions: ("fangs_rules_options", True),
    RuleInfo: ("fangs_rule_info", True),
    RulesInput: ("fangs_rules_input", True),
    Decoy: ("fangs_decoy", True),
    ScanOptions: ("fangs_scan_options", True),
    ScanResult: ("fangs_scan_result", True),
    SensorOptions: ("fangs_sensor_options", True),
    SensorProbe: ("fangs_sensor_probe", True),
    SensorRunStats: ("fangs_sensor_run_stats", True),
}

# Options struct versions this binding fills in (the C headers' *_VERSION).
STORAGE_OPTIONS_VERSION = 1
DIFFER_OPTIONS_VERSION = 2
RULES_OPTIONS_VERSION = 1
NOTIFIER_OPTIONS_VERSION = 1
SCAN_OPTIONS_VERSION = 4
SENSOR_OPTIONS_VERSION = 3
FINDINGS_OPTIONS_VERSION = 1

# C macros the binding relies on, checked by the layout probe too.
CONSTANTS = {
    "FANGS_STORAGE_OPTIONS_VERSION": STORAGE_OPTIONS_VERSION,
    "FANGS_DIFFER_OPTIONS_VERSION": DIFFER_OPTIONS_VERSION,
    "FANGS_RULES_OPTIONS_VERSION": RULES_OPTIONS_VERSION,
    "FANGS_NOTIFIER_OPTIONS_VERSION": NOTIFIER_OPTIONS_VERSION,
    "FANGS_SCAN_OPTIONS_VERSION": SCAN_OPTIONS_VERSION,
    "FANGS_SENSOR_OPTIONS_VERSION": SENSOR_OPTIONS_VERSION,
    "FANGS_FINDINGS_OPTIONS_VERSION": FINDINGS_OPTIONS_VERSION,
    "FANGS_ANCESTRY_MAX": ANCESTRY_MAX,
    "FANGS_RUN_ID_MAX": RUN_ID_MAX,
    "FANGS_VERSION_MAJOR": 0,
    "FANGS_VERSION_MINOR": 1,
}
