/*
 * fangs/storage.h - the single source of truth: packages, releases, runs,
 * events, fingerprints, baselines, deviations, allowlists.
 *
 * One API over pluggable backends (sqlite built in, postgres when built
 * with libpq); see fangs/sys/storage_backend.h to write one. Records
 * returned to the caller are owned by the caller and released with the
 * matching *_clear / *_list_free function. A handle is used by one thread
 * at a time; open one handle per thread (they may share a database).
 */
#ifndef FANGS_STORAGE_H
#define FANGS_STORAGE_H

#include "common.h"
#include "config.h"
#include "fingerprint.h"
#include "event.h"

FANGS_BEGIN_DECL

typedef struct fangs_storage fangs_storage;

typedef struct fangs_storage_options {
	unsigned int version;
	const char *backend;      /**< "sqlite" (default) or "postgres" */
	const char *sqlite_path;  /**< file path; ":memory:" works for tests */
	const char *postgres_dsn; /**< libpq connection string */
	int busy_timeout_ms;      /**< sqlite lock wait; 0 = 5000 */
	int read_only;            /**< open without migrating or writing */
} fangs_storage_options;

#define FANGS_STORAGE_OPTIONS_VERSION 1
#define FANGS_STORAGE_OPTIONS_INIT {FANGS_STORAGE_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_storage_options_init(fangs_storage_options *opts, unsigned int version);
/** Opens (creating and migrating when needed). Refuses with FANGS_EVERSION a
 * database whose schema is newer than this code. */
FANGS_EXTERN(int) fangs_storage_open(fangs_storage **out, const fangs_storage_options *opts);
FANGS_EXTERN(void) fangs_storage_free(fangs_storage *st);

/** "sqlite", "postgres". */
FANGS_EXTERN(const char *) fangs_storage_backend_name(const fangs_storage *st);

/** The storage backend names fangs_storage_open() knows ("sqlite",
 * "postgres"), NULL-terminated, whether or not this build has PostgreSQL. */
FANGS_EXTERN(const char *const *) fangs_storage_backend_names(void);

/** 0 when `name` is a storage backend (fangs_storage_backend_names()), else
 * FANGS_EINVAL with "unknown storage backend 'x' (expected sqlite or postgres)". */
FANGS_EXTERN(int) fangs_storage_backend_check(const char *name);
/** Newest migration applied to the database, and the newest this code knows. */
FANGS_EXTERN(int) fangs_storage_schema_version(fangs_storage *st, int *db_version, int *code_version);

/** Checks that the database answers (for a server: that the connection is
 * up, connecting again when it was lost). 0, or FANGS_ENETWORK with the
 * reason when the server cannot be reached.
 *
 * A server backend whose connection is lost reconnects by itself (with
 * backoff, bounded) at the next call; a call made outside a transaction is
 * tried again once on the new connection. In a transaction the loss is
 * FANGS_ENETWORK for every call up to the rollback: the caller runs the
 * transaction again. */
FANGS_EXTERN(int) fangs_storage_ping(fangs_storage *st);

/** Leadership among the processes sharing one database: at most one holds
 * it at a time. Takes it when free, or checks that this handle still holds
 * it (a server connection that was lost and made again has lost it, and
 * tries again): *leader is 1 when the handle holds it after the call. Call
 * it again at an interval: a holder that died (its connection ended)
 * frees it for the next caller. PostgreSQL: a session advisory lock, so a
 * handle used for this should do nothing else. SQLite (one process per
 * database file): always the leader. */
FANGS_EXTERN(int) fangs_storage_leader_try(fangs_storage *st, int *leader);
/** Gives leadership up (no-op when not held). */
FANGS_EXTERN(int) fangs_storage_leader_release(fangs_storage *st);

/** The stored position of the change feed named `feed` (e.g. its URL), a
 * string the feed gave; *seq (free it) is NULL when none is stored. */
FANGS_EXTERN(int) fangs_storage_feed_get(fangs_storage *st, const char *feed, char **seq);
/** Moves the feed's position from `from` (NULL: none stored yet) to `to`:
 * FANGS_EBUSY when the stored position is not `from` (another process
 * moved it first). Called in the transaction that queues what the feed
 * brought, the position moves only with those jobs. */
FANGS_EXTERN(int) fangs_storage_feed_advance(fangs_storage *st, const char *feed, const char *from, const char *to);

/** Transactions group several calls so that they land together or not at all.
 * Not nestable. */
FANGS_EXTERN(int) fangs_storage_begin(fangs_storage *st);
FANGS_EXTERN(int) fangs_storage_commit(fangs_storage *st);
FANGS_EXTERN(int) fangs_storage_rollback(fangs_storage *st);

/* ---- packages and releases ---- */

typedef struct fangs_package {
	char *name;
	int watched;
	char *last_seen_version; /**< NULL until one was seen */
	int64_t created_ns;
	int64_t run_count;     /**< filled by list/get */
	int64_t baseline_size; /**< baseline fingerprints, filled by list/get */
} fangs_package;

typedef struct fangs_package_list {
	fangs_package *items;
	size_t count;
	size_t capacity;
} fangs_package_list;

FANGS_EXTERN(void) fangs_package_clear(fangs_package *p);
FANGS_EXTERN(void) fangs_package_list_free(fangs_package_list *list);

/** Creates the package if missing; sets `watched` when watched >= 0. */
FANGS_EXTERN(int) fangs_storage_package_upsert(fangs_storage *st, const char *name, int watched);
FANGS_EXTERN(int) fangs_storage_package_get(fangs_storage *st, const char *name, fangs_package *out);
FANGS_EXTERN(int) fangs_storage_package_list(fangs_storage *st, int watched_only, fangs_package_list *out);
FANGS_EXTERN(int) fangs_storage_package_set_last_seen(fangs_storage *st, const char *name, const char *version);
/** Deletes the package and, with it, everything of it (as reset, then the row). */
FANGS_EXTERN(int) fangs_storage_package_remove(fangs_storage *st, const char *name);
/** Deletes all runs, events, fingerprints, baseline, deviations and releases of a
 * package; keeps the package row (and whether it is watched). */
FANGS_EXTERN(int) fangs_storage_package_reset(fangs_storage *st, const char *name);

typedef struct fangs_release {
	char *package;
	char *version;
	int64_t first_seen_ns;
	int64_t run_count;
} fangs_release;

typedef struct fangs_release_list {
	fangs_release *items;
	size_t count;
	size_t capacity;
} fangs_release_list;

FANGS_EXTERN(void) fangs_release_list_free(fangs_release_list *list);
/** Records a release (idempotent; creates the package unwatched if needed). */
FANGS_EXTERN(int) fangs_storage_release_add(fangs_storage *st, const char *package, const char *version);
/** package NULL = every package. Newest first. */
FANGS_EXTERN(int) fangs_storage_release_list(fangs_storage *st, const char *package, fangs_release_list *out);

/* ---- runs ---- */

typedef enum fangs_run_state {
	FANGS_RUN_QUEUED = 0,
	FANGS_RUN_RUNNING = 1,
	FANGS_RUN_SUCCEEDED = 2,
	FANGS_RUN_FAILED = 3,
	FANGS_RUN_TIMED_OUT = 4
} fangs_run_state;

FANGS_EXTERN(const char *) fangs_run_state_name(fangs_run_state s);
FANGS_EXTERN(int) fangs_run_state_parse(const char *name, fangs_run_state *out);

/** Review state of a finished run. */
typedef enum fangs_review {
	FANGS_REVIEW_NONE = 0,    /**< nothing to review (clean, or joined the baseline) */
	FANGS_REVIEW_PENDING = 1, /**< has findings, or waits for a person before seeding */
	FANGS_REVIEW_PROMOTED = 2 /**< a person promoted it */
} fangs_review;

FANGS_EXTERN(const char *) fangs_review_name(fangs_review r);

#define FANGS_RUN_ID_MAX 64

typedef struct fangs_run {
	char id[FANGS_RUN_ID_MAX]; /**< empty on create = assigned by storage */
	char *package;
	char *version;
	fangs_run_state state;
	int is_baseline;
	fangs_review review;
	int64_t events_emitted;
	int64_t events_dropped;
	int64_t duration_ns;
	char *runner; /**< runner id, "local" for fangs scan */
	int has_exit_code;
	int exit_code;        /**< install's exit status */
	char *error;          /**< why it failed */
	char *install_output; /**< bounded tail of the install's output */
	char *sandbox;        /**< "ns", "docker", "import" */
	char *network;        /**< "none", "bridge" */
	int64_t created_ns;
	int64_t started_ns;
	int64_t finished_ns;
	/* filled by get/list, ignored on write: */
	int64_t event_count;
	int64_t deviation_count;
	fangs_severity max_severity;
	/** Why the last analysis of the run failed (the run is then held for
	 * review, not judged: judge it again with fangs_analyze_run); NULL once
	 * an analysis succeeded. Written by run_update. */
	char *analysis_error;
} fangs_run;

typedef struct fangs_run_list {
	fangs_run *items;
	size_t count;
	size_t capacity;
} fangs_run_list;

FANGS_EXTERN(void) fangs_run_clear(fangs_run *r);
FANGS_EXTERN(void) fangs_run_list_free(fangs_run_list *list);

typedef struct fangs_run_filter {
	const char *package; /**< NULL = any */
	const char *version; /**< NULL = any */
	int state;           /**< fangs_run_state, or -1 = any */
	int pending_only;    /**< review == PENDING */
	int baseline_only;
	size_t limit; /**< 0 = no limit */
} fangs_run_filter;

#define FANGS_RUN_FILTER_INIT {NULL, NULL, -1, 0, 0, 0}

/** Inserts a run (and its package and release when missing); assigns
 * run->id when empty and run->created_ns when 0. */
FANGS_EXTERN(int) fangs_storage_run_create(fangs_storage *st, fangs_run *run);
/** Writes every mutable field of the run with this id. */
FANGS_EXTERN(int) fangs_storage_run_update(fangs_storage *st, const fangs_run *run);
FANGS_EXTERN(int) fangs_storage_run_get(fangs_storage *st, const char *id, fangs_run *out);
/** Newest first. */
FANGS_EXTERN(int) fangs_storage_run_list(fangs_storage *st, const fangs_run_filter *f, fangs_run_list *out);

/** A page of runs for readers (a UI, an API): filters, and a keyset
 * cursor over (created_ns, id) so that a walk page after page sees every
 * row once even while runs are added. */
typedef struct fangs_run_query {
	unsigned int version;
	const char *package; /**< NULL = any */
	int state;           /**< fangs_run_state, or -1 = any */
	int review;          /**< fangs_review, or -1 = any */
	int min_severity;    /**< fangs_severity: runs with a deviation at least this severe; -1 = any */
	int64_t since_ns;    /**< created at or after; 0 = no bound */
	int64_t until_ns;    /**< created before; 0 = no bound */
	/** Cursor: only runs after this one in the order (newest first), that
	 * is (created_ns, id) below (after_created_ns, after_id). after_id
	 * NULL = from the newest. */
	int64_t after_created_ns;
	const char *after_id;
	size_t limit; /**< 0 = no limit */
} fangs_run_query;

#define FANGS_RUN_QUERY_VERSION 1
#define FANGS_RUN_QUERY_INIT {FANGS_RUN_QUERY_VERSION, NULL, -1, -1, -1, 0, 0, 0, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_run_query_init(fangs_run_query *opts, unsigned int version);
/** Newest first, (created_ns, id) descending. */
FANGS_EXTERN(int) fangs_storage_run_page(fangs_storage *st, const fangs_run_query *q, fangs_run_list *out);

/* ---- events ---- */

/** Appends events to a run in one transaction, setting each event's id. */
FANGS_EXTERN(int) fangs_storage_events_append(fangs_storage *st, const char *run_id, fangs_event *events, size_t n);
/** Appends one numbered batch of a run's events (a runner numbers its
 * batches 1, 2, ... per attempt and sends a batch again with the same
 * number when it did not hear back): the batch number is recorded with
 * the events in one transaction, and a batch whose number is already
 * recorded for the run stores nothing and sets *duplicate (0 otherwise).
 * seq >= 1; duplicate may be NULL. */
FANGS_EXTERN(int) fangs_storage_events_append_batch(fangs_storage *st, const char *run_id, int64_t seq,
						    fangs_event *events, size_t n, int *duplicate);
/** All events of a run, in id order, with their id and run_id set. */
FANGS_EXTERN(int) fangs_storage_events_list(fangs_storage *st, const char *run_id, fangs_event_list *out);
/** The events with these ids (in the given order; missing ones are skipped). */
FANGS_EXTERN(int) fangs_storage_events_get(fangs_storage *st, const int64_t *ids, size_t n, fangs_event_list *out);

/** A page of a run's events for readers. */
typedef struct fangs_event_query {
	unsigned int version;
	const char *run_id; /**< required */
	int kind;           /**< fangs_event_kind, 0 = any */
	int64_t pid;        /**< -1 = any */
	/** Substring (case-sensitive) of the event's value (path, address,
	 * query name, server name, host, syscall), its command name, or an
	 * exec's command line; NULL or "" = any. */
	const char *text;
	int64_t after_id; /**< cursor: events with a larger id; 0 = from the first */
	size_t limit;     /**< 0 = no limit */
} fangs_event_query;

#define FANGS_EVENT_QUERY_VERSION 1
#define FANGS_EVENT_QUERY_INIT {FANGS_EVENT_QUERY_VERSION, NULL, 0, -1, NULL, 0, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_event_query_init(fangs_event_query *opts, unsigned int version);
/** In id order, with id and run_id set. FANGS_ENOTFOUND for an unknown run. */
FANGS_EXTERN(int) fangs_storage_events_page(fangs_storage *st, const fangs_event_query *q, fangs_event_list *out);

/** One process of a run, aggregated from its events by the database (the
 * events themselves are not read, bar a few per process). */
typedef struct fangs_proc_node {
	int32_t pid;
	int32_t ppid;        /**< as its first event says */
	char *comm;          /**< of its last event */
	char *exe;           /**< the binary of its last exec; NULL = none seen */
	char *cmdline;       /**< its last exec's argv joined by spaces; NULL = none */
	fangs_origin origin; /**< the lifecycle script it belongs to (package NULL = npm's own) */
	int64_t start_ns;    /**< ts_ns of its first event */
	int64_t exit_ns;     /**< ts_ns of its process_exit; 0 = not seen */
	int has_exit;
	int32_t exit_code;
	int64_t counts[FANGS_EV_KIND_MAX + 1]; /**< events by fangs_event_kind */
	int64_t events;                        /**< all its events */
	int64_t deviating;                     /**< its events that are evidence of a deviation of the run */
	int64_t matched;                       /**< its events that match the query's filter (= events without one) */
	int64_t first_event_id;
	int32_t *children; /**< pids of its children in the tree, by first event */
	size_t n_children;
} fangs_proc_node;

typedef struct fangs_proc_tree {
	fangs_proc_node *items; /**< by first event */
	size_t count;
	size_t capacity;
	int32_t *roots; /**< pids whose parent is not in the tree */
	size_t n_roots;
	int truncated;           /**< more processes matched than max_nodes */
	int64_t total_processes; /**< processes of the run (before filter and cap) */
} fangs_proc_tree;

typedef struct fangs_tree_query {
	unsigned int version;
	const char *run_id; /**< required */
	int kind;           /**< keep processes with events of this kind (and their ancestors); 0 = any */
	const char *text;   /**< ... whose value or command name holds this; NULL = any */
	size_t max_nodes;   /**< 0 = FANGS_TREE_MAX_NODES */
} fangs_tree_query;

#define FANGS_TREE_MAX_NODES 2000
#define FANGS_TREE_QUERY_VERSION 1
#define FANGS_TREE_QUERY_INIT {FANGS_TREE_QUERY_VERSION, NULL, 0, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_tree_query_init(fangs_tree_query *opts, unsigned int version);
FANGS_EXTERN(void) fangs_proc_tree_free(fangs_proc_tree *t);
/** The process tree of a run: one grouped query over its events (counts by
 * process and kind, deviating events, matches of the filter), then the
 * first, last exec and exit event of each process kept. With a filter,
 * the processes with a matching event and their ancestors. At most
 * max_nodes processes (the earliest; `truncated` says more were).
 * FANGS_ENOTFOUND for an unknown run. */
FANGS_EXTERN(int) fangs_storage_process_tree(fangs_storage *st, const fangs_tree_query *q, fangs_proc_tree *out);

/* ---- fingerprints and baselines ---- */

/** Stores the fingerprints of a run (replacing earlier ones). */
FANGS_EXTERN(int) fangs_storage_run_fingerprints_put(fangs_storage *st, const char *run_id, const fangs_fpset *fps);
/** Adds the run's stored fingerprints to `out`. */
FANGS_EXTERN(int) fangs_storage_run_fingerprints_get(fangs_storage *st, const char *run_id, fangs_fpset *out);

/** Adds the package's baseline (union of its baseline runs' fingerprints) to `out`. */
FANGS_EXTERN(int) fangs_storage_baseline_get(fangs_storage *st, const char *package, fangs_fpset *out);
/** Adds the run's stored fingerprints to the baseline and marks it is_baseline. */
FANGS_EXTERN(int) fangs_storage_baseline_add_run(fangs_storage *st, const char *package, const char *run_id);
/** Replaces the baseline with the run's fingerprints, marks only that run as
 * baseline, and clears its deviations (manual promote). */
FANGS_EXTERN(int) fangs_storage_baseline_rebuild(fangs_storage *st, const char *package, const char *run_id);

/* ---- deviations ---- */

typedef struct fangs_deviation_filter {
	const char *run_id;
	const char *package;
	fangs_severity min_severity;
	size_t limit;
} fangs_deviation_filter;

#define FANGS_DEVIATION_FILTER_INIT {NULL, NULL, FANGS_SEV_INFO, 0}

/** Stores the deviations, setting their ids (and created_ns when 0); run_id
 * and package are taken from each. All or none are stored. */
FANGS_EXTERN(int) fangs_storage_deviations_put(fangs_storage *st, fangs_deviation *devs, size_t n);
/** Newest first. */
FANGS_EXTERN(int) fangs_storage_deviations_list(fangs_storage *st, const fangs_deviation_filter *f,
						fangs_deviation_list *out);
FANGS_EXTERN(int) fangs_storage_deviation_get(fangs_storage *st, int64_t id, fangs_deviation *out);
FANGS_EXTERN(int) fangs_storage_deviations_clear(fangs_storage *st, const char *run_id);
/** How many deviations (and rule hits) were stored at or after `since_ns`,
 * by severity (indexed by fangs_severity): one grouped query. */
FANGS_EXTERN(int) fangs_storage_deviation_counts(fangs_storage *st, int64_t since_ns,
						 int64_t counts[FANGS_SEV_CRITICAL + 1]);

/* ---- allowlists ---- */

/** Adds an entry (entry->package NULL = global); sets entry->id. */
FANGS_EXTERN(int) fangs_storage_allow_add(fangs_storage *st, fangs_allow_entry *entry);
/** package NULL: every entry; otherwise global ones and that package's. */
FANGS_EXTERN(int) fangs_storage_allow_list(fangs_storage *st, const char *package, fangs_allow_list *out);
FANGS_EXTERN(int) fangs_storage_allow_remove(fangs_storage *st, int64_t id);

/* ---- retention ---- */

typedef struct fangs_prune_stats {
	int64_t runs_deleted;
	int64_t events_deleted;
	int64_t events_kept_as_evidence;
} fangs_prune_stats;

/** Deletes events (and finished non-baseline runs with no deviations) older
 * than `older_than_ns` (absolute, ns since the epoch). Never deletes an event
 * a deviation points to, nor a baseline run. */
FANGS_EXTERN(int) fangs_storage_prune(fangs_storage *st, int64_t older_than_ns, fangs_prune_stats *out);

/* ---- notifier targets and their delivery history ---- */

/** An extra HTTP header sent with every message of a target. */
typedef struct fangs_notifier_header {
	char *name;
	char *value;
} fangs_notifier_header;

/** Where findings are sent. The HMAC secret is never stored: `secret_env`
 * names the environment variable that holds it. */
typedef struct fangs_notifier_target {
	int64_t id; /**< storage id; 0 until stored */
	char *name; /**< unique */
	char *url;
	char *template_name; /**< "generic", "slack", "discord" */
	int enabled;
	fangs_severity min_severity; /**< findings below it are not sent */
	fangs_notifier_header *headers;
	size_t n_headers;
	char *secret_env; /**< NULL: messages are not signed */
	int64_t created_ns;
} fangs_notifier_target;

typedef struct fangs_notifier_target_list {
	fangs_notifier_target *items;
	size_t count;
	size_t capacity;
} fangs_notifier_target_list;

FANGS_EXTERN(void) fangs_notifier_target_clear(fangs_notifier_target *t);
FANGS_EXTERN(void) fangs_notifier_target_list_free(fangs_notifier_target_list *list);
/** Appends a copy of the header to the target. 0 or FANGS_ENOMEM. */
FANGS_EXTERN(int) fangs_notifier_target_add_header(fangs_notifier_target *t, const char *name, const char *value);

/** Stores a target (name, url and template required); sets id and, when 0,
 * created_ns. FANGS_EEXISTS when the name is taken. */
FANGS_EXTERN(int) fangs_storage_notifier_add(fangs_storage *st, fangs_notifier_target *t);
/** Every target, by name. */
FANGS_EXTERN(int) fangs_storage_notifier_list(fangs_storage *st, fangs_notifier_target_list *out);
FANGS_EXTERN(int) fangs_storage_notifier_get(fangs_storage *st, const char *name, fangs_notifier_target *out);
/** Deletes the target and its delivery history. */
FANGS_EXTERN(int) fangs_storage_notifier_remove(fangs_storage *st, const char *name);

/** State of one notification row: a scheduled attempt (pending), one being
 * made (sending, with a lease in next_attempt_ns), or a made attempt and its
 * outcome (sent; retry = failed, another attempt is scheduled; failed =
 * failed for good). */
typedef enum fangs_notification_status {
	FANGS_NOTIFICATION_PENDING = 0,
	FANGS_NOTIFICATION_SENDING = 1,
	FANGS_NOTIFICATION_SENT = 2,
	FANGS_NOTIFICATION_RETRY = 3,
	FANGS_NOTIFICATION_FAILED = 4
} fangs_notification_status;

/** "pending", "sending", "sent", "retry", "failed". */
FANGS_EXTERN(const char *) fangs_notification_status_name(fangs_notification_status s);
FANGS_EXTERN(int) fangs_notification_status_parse(const char *name, fangs_notification_status *out);

/** One delivery attempt of one run's message to one target. */
typedef struct fangs_notification {
	int64_t id;
	int64_t notifier_id;
	char *notifier_name; /**< filled by list/due, ignored on write */
	char *run_id;
	int attempt; /**< 1, 2, ... */
	fangs_notification_status status;
	int http_status;         /**< the receiver's answer; 0 = none */
	char *error;             /**< why the attempt failed */
	int64_t next_attempt_ns; /**< pending: when it is due; sending: end of the lease */
	char *body;              /**< the message as stored at enqueue time */
	int64_t created_ns;      /**< when scheduled; once made, when the attempt was made */
} fangs_notification;

typedef struct fangs_notification_list {
	fangs_notification *items;
	size_t count;
	size_t capacity;
} fangs_notification_list;

FANGS_EXTERN(void) fangs_notification_clear(fangs_notification *n);
FANGS_EXTERN(void) fangs_notification_list_free(fangs_notification_list *list);

typedef struct fangs_notification_filter {
	const char *run_id;   /**< NULL = any */
	const char *notifier; /**< target name, NULL = any */
	int64_t notifier_id;  /**< 0 = any */
	size_t limit;         /**< 0 = no limit */
} fangs_notification_filter;

#define FANGS_NOTIFICATION_FILTER_INIT {NULL, NULL, 0, 0}

/** Inserts a row (notifier_id, run_id, attempt >= 1 required); sets id. */
FANGS_EXTERN(int) fangs_storage_notification_insert(fangs_storage *st, fangs_notification *n);
/** Writes status, http_status, error, next_attempt_ns, body and created_ns
 * of the row with this id. */
FANGS_EXTERN(int) fangs_storage_notification_update(fangs_storage *st, const fangs_notification *n);
/** Oldest first. */
FANGS_EXTERN(int) fangs_storage_notification_list(fangs_storage *st, const fangs_notification_filter *f,
						  fangs_notification_list *out);
/** Pending rows, and sending rows whose lease ran out, due at `now_ns`
 * (next_attempt_ns <= now_ns), soonest first; limit 0 = all. */
FANGS_EXTERN(int) fangs_storage_notification_due(fangs_storage *st, int64_t now_ns, size_t limit,
						 fangs_notification_list *out);
/** Takes a due row for one sender: sets it to sending with a lease until
 * `lease_until_ns`, only if its status and next_attempt_ns are still those
 * given (what `due` returned). FANGS_EBUSY when another sender took it. */
FANGS_EXTERN(int) fangs_storage_notification_claim(fangs_storage *st, int64_t id, fangs_notification_status status,
						   int64_t next_attempt_ns, int64_t lease_until_ns);
/* ---- job queue and runners ---- */

/** Where a queued scan stands. */
typedef enum fangs_job_state {
	FANGS_JOB_QUEUED = 0,  /**< waits for a runner */
	FANGS_JOB_RUNNING = 1, /**< a runner claimed it */
	FANGS_JOB_DONE = 2,    /**< the runner posted the result */
	FANGS_JOB_FAILED = 3   /**< given up (runner lost too often, or failed by hand) */
} fangs_job_state;

FANGS_EXTERN(const char *) fangs_job_state_name(fangs_job_state s);

typedef struct fangs_job {
	int64_t id;
	char run_id[FANGS_RUN_ID_MAX]; /**< the run row created with the job */
	char *package;
	char *version;
	char *target_runner; /**< NULL = any runner */
	fangs_job_state state;
	int attempts; /**< how many times a runner claimed it */
	char *runner; /**< the runner holding it (RUNNING) or the last one */
	int64_t created_ns;
	int64_t updated_ns;
} fangs_job;

typedef struct fangs_job_list {
	fangs_job *items;
	size_t count;
	size_t capacity;
} fangs_job_list;

FANGS_EXTERN(void) fangs_job_clear(fangs_job *j);
FANGS_EXTERN(void) fangs_job_list_free(fangs_job_list *list);

/** Queues a scan: creates a QUEUED run (and its package and release) and the
 * job pointing at it, together. Sets job->id, job->run_id and job->created_ns. */
FANGS_EXTERN(int) fangs_storage_job_enqueue(fangs_storage *st, fangs_job *job);
/** Queues a scan of a release unless the release has a run already (in any
 * state, made by anyone): as fangs_storage_job_enqueue, or FANGS_EEXISTS
 * with nothing changed. The check and the insert are one step for every
 * handle on the database, inside the caller's transaction if any: several
 * processes queueing one release at once (two orchestrators, during a
 * change of leader) queue it once. PostgreSQL takes a lock on the release
 * held to the end of the transaction; SQLite holds its write lock. */
FANGS_EXTERN(int) fangs_storage_job_enqueue_release(fangs_storage *st, fangs_job *job);
/** Hands the oldest queued job that `runner` may take (no target, or this
 * runner as target) to it: the job becomes RUNNING with attempts + 1 and its
 * run RUNNING on that runner. FANGS_ENOTFOUND when there is none. Two
 * callers never get the same job. */
FANGS_EXTERN(int) fangs_storage_job_claim(fangs_storage *st, const char *runner, fangs_job *out);
/** The job of a run. FANGS_ENOTFOUND when the run has none. */
FANGS_EXTERN(int) fangs_storage_job_get(fangs_storage *st, const char *run_id, fangs_job *out);
/** Ends the job of a run as DONE or FAILED (the run row itself is the
 * caller's to update). FANGS_ENOTFOUND when the run has no job. */
FANGS_EXTERN(int) fangs_storage_job_finish(fangs_storage *st, const char *run_id, fangs_job_state state);
/** Takes back the RUNNING jobs of a runner that went away: a job claimed
 * fewer than `max_attempts` times is QUEUED again (its run too, with no
 * runner); the others become FAILED with their run FAILED ("runner lost").
 * Counts go to `requeued` and `failed` (both optional). */
FANGS_EXTERN(int) fangs_storage_job_requeue_runner(fangs_storage *st, const char *runner, int max_attempts,
						   int64_t *requeued, int64_t *failed);
/** Jobs in a state (-1 = every state), oldest first. */
FANGS_EXTERN(int) fangs_storage_job_list(fangs_storage *st, int state, fangs_job_list *out);
/** How many jobs are in each state (indexed by fangs_job_state). */
FANGS_EXTERN(int) fangs_storage_job_counts(fangs_storage *st, int64_t counts[4]);
/** Deletes DONE and FAILED jobs last changed before `older_than_ns` (their
 * runs stay: runs have their own retention, fangs_storage_prune). */
FANGS_EXTERN(int) fangs_storage_job_prune(fangs_storage *st, int64_t older_than_ns, int64_t *deleted);

typedef struct fangs_runner {
	char *id;
	char *cn; /**< client certificate name when it came over mTLS */
	char *hostname;
	int max_scans;
	char *state; /**< "up" or "evicted" */
	int64_t registered_ns;
	int64_t last_heartbeat_ns;
	int64_t running; /**< RUNNING jobs it holds, filled by list */
} fangs_runner;

typedef struct fangs_runner_list {
	fangs_runner *items;
	size_t count;
	size_t capacity;
} fangs_runner_list;

FANGS_EXTERN(void) fangs_runner_clear(fangs_runner *r);
FANGS_EXTERN(void) fangs_runner_list_free(fangs_runner_list *list);

/** Records a runner as "up" (again), with a heartbeat now. */
FANGS_EXTERN(int) fangs_storage_runner_register(fangs_storage *st, const fangs_runner *r);
/** Notes a heartbeat. FANGS_ENOTFOUND when the runner is unknown or evicted
 * (it must register again). */
FANGS_EXTERN(int) fangs_storage_runner_heartbeat(fangs_storage *st, const char *id, int64_t now_ns);
/** Every runner, by id. */
FANGS_EXTERN(int) fangs_storage_runner_list(fangs_storage *st, fangs_runner_list *out);
/** Marks a runner "evicted". FANGS_ENOTFOUND when unknown. */
FANGS_EXTERN(int) fangs_storage_runner_evict(fangs_storage *st, const char *id);

FANGS_END_DECL

#endif
