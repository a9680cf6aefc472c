/*
 * fangs/sys/storage_backend.h - the API for storage implementers.
 *
 * A backend is a struct of function pointers that starts with a version.
 * fangs_storage_* (fangs/storage.h) validates arguments and calls these; a
 * backend may therefore assume non-NULL pointers where the user API
 * documents them as required. Every function returns 0 or a negative
 * FANGS_E* code and sets the last error (fangs_error_set) on failure.
 * SQL dialect differences stay inside the backend.
 *
 * New members are only ever appended; a backend built against an older
 * version leaves them NULL (= FANGS_EUNSUPPORTED).
 */
#ifndef FANGS_SYS_STORAGE_BACKEND_H
#define FANGS_SYS_STORAGE_BACKEND_H

#include "../storage.h"

FANGS_BEGIN_DECL

#define FANGS_STORAGE_BACKEND_VERSION 4

typedef struct fangs_storage_backend fangs_storage_backend;

/** One row of a run's events grouped by process and kind (proc_groups). */
typedef struct fangs_proc_group {
	int32_t pid;
	int32_t ppid; /**< rows are grouped by (pid, ppid, kind) */
	int kind;     /**< fangs_event_kind */
	int64_t count;
	int64_t first_id;  /**< smallest event id */
	int64_t last_id;   /**< largest event id */
	int64_t deviating; /**< events that are evidence of a deviation of the run */
	int64_t matched;   /**< events matching the query's kind and text (= count without them) */
} fangs_proc_group;

typedef struct fangs_proc_group_list {
	fangs_proc_group *items;
	size_t count;
	size_t capacity;
} fangs_proc_group_list;

struct fangs_storage_backend {
	unsigned int version;
	const char *name;

	/* mandatory */
	void (*free)(fangs_storage_backend *b);
	int (*schema_version)(fangs_storage_backend *b, int *db_version);

	int (*begin)(fangs_storage_backend *b);
	int (*commit)(fangs_storage_backend *b);
	int (*rollback)(fangs_storage_backend *b);

	int (*package_upsert)(fangs_storage_backend *b, const char *name, int watched);
	int (*package_get)(fangs_storage_backend *b, const char *name, fangs_package *out);
	int (*package_list)(fangs_storage_backend *b, int watched_only, fangs_package_list *out);
	int (*package_set_last_seen)(fangs_storage_backend *b, const char *name, const char *version);
	int (*package_remove)(fangs_storage_backend *b, const char *name);
	int (*package_reset)(fangs_storage_backend *b, const char *name);

	int (*release_add)(fangs_storage_backend *b, const char *package, const char *version);
	int (*release_list)(fangs_storage_backend *b, const char *package, fangs_release_list *out);

	int (*run_create)(fangs_storage_backend *b, fangs_run *run);
	int (*run_update)(fangs_storage_backend *b, const fangs_run *run);
	int (*run_get)(fangs_storage_backend *b, const char *id, fangs_run *out);
	int (*run_list)(fangs_storage_backend *b, const fangs_run_filter *f, fangs_run_list *out);

	int (*events_append)(fangs_storage_backend *b, const char *run_id, fangs_event *events, size_t n);
	int (*events_list)(fangs_storage_backend *b, const char *run_id, fangs_event_list *out);
	int (*events_get)(fangs_storage_backend *b, const int64_t *ids, size_t n, fangs_event_list *out);

	int (*run_fingerprints_put)(fangs_storage_backend *b, const char *run_id, const fangs_fpset *fps);
	int (*run_fingerprints_get)(fangs_storage_backend *b, const char *run_id, fangs_fpset *out);
	int (*baseline_get)(fangs_storage_backend *b, const char *package, fangs_fpset *out);
	int (*baseline_add_run)(fangs_storage_backend *b, const char *package, const char *run_id);
	int (*baseline_rebuild)(fangs_storage_backend *b, const char *package, const char *run_id);

	int (*deviations_put)(fangs_storage_backend *b, fangs_deviation *devs, size_t n);
	int (*deviations_list)(fangs_storage_backend *b, const fangs_deviation_filter *f, fangs_deviation_list *out);
	int (*deviation_get)(fangs_storage_backend *b, int64_t id, fangs_deviation *out);
	int (*deviations_clear)(fangs_storage_backend *b, const char *run_id);

	int (*allow_add)(fangs_storage_backend *b, fangs_allow_entry *entry);
	int (*allow_list)(fangs_storage_backend *b, const char *package, fangs_allow_list *out);
	int (*allow_remove)(fangs_storage_backend *b, int64_t id);

	int (*prune)(fangs_storage_backend *b, int64_t older_than_ns, fangs_prune_stats *out);

	/* notifier targets and delivery history */
	int (*notifier_add)(fangs_storage_backend *b, fangs_notifier_target *t);
	int (*notifier_list)(fangs_storage_backend *b, fangs_notifier_target_list *out);
	int (*notifier_get)(fangs_storage_backend *b, const char *name, fangs_notifier_target *out);
	int (*notifier_remove)(fangs_storage_backend *b, const char *name);
	int (*notification_insert)(fangs_storage_backend *b, fangs_notification *n);
	int (*notification_update)(fangs_storage_backend *b, const fangs_notification *n);
	int (*notification_list)(fangs_storage_backend *b, const fangs_notification_filter *f,
				 fangs_notification_list *out);
	int (*notification_due)(fangs_storage_backend *b, int64_t now_ns, size_t limit, fangs_notification_list *out);
	int (*notification_claim)(fangs_storage_backend *b, int64_t id, fangs_notification_status status,
				  int64_t next_attempt_ns, int64_t lease_until_ns);
	/* job queue and runners (fangs/storage.h) */
	int (*job_enqueue)(fangs_storage_backend *b, fangs_job *job);
	int (*job_claim)(fangs_storage_backend *b, const char *runner, int64_t now_ns, fangs_job *out);
	int (*job_get)(fangs_storage_backend *b, const char *run_id, fangs_job *out);
	int (*job_finish)(fangs_storage_backend *b, const char *run_id, fangs_job_state state, int64_t now_ns);
	int (*job_requeue_runner)(fangs_storage_backend *b, const char *runner, int max_attempts, int64_t now_ns,
				  int64_t *requeued, int64_t *failed);
	int (*job_list)(fangs_storage_backend *b, int state, fangs_job_list *out);
	int (*runner_register)(fangs_storage_backend *b, const fangs_runner *r, int64_t now_ns);
	int (*runner_heartbeat)(fangs_storage_backend *b, const char *id, int64_t now_ns);
	int (*runner_list)(fangs_storage_backend *b, fangs_runner_list *out);
	int (*runner_evict)(fangs_storage_backend *b, const char *id);
	int (*job_counts)(fangs_storage_backend *b, int64_t counts[4]);
	int (*job_prune)(fangs_storage_backend *b, int64_t older_than_ns, int64_t *deleted);

	/* version 2 */
	/** Optional: is the database there (reconnecting when needed)? NULL = always. */
	int (*ping)(fangs_storage_backend *b);
	int (*events_append_batch)(fangs_storage_backend *b, const char *run_id, int64_t seq, fangs_event *events,
				   size_t n, int *duplicate);
	/* version 3: reads for a UI (fangs/storage.h); NULL = FANGS_EUNSUPPORTED */
	int (*run_page)(fangs_storage_backend *b, const fangs_run_query *q, fangs_run_list *out);
	/** q->text is NULL when empty. FANGS_ENOTFOUND for an unknown run. */
	int (*events_page)(fangs_storage_backend *b, const fangs_event_query *q, fangs_event_list *out);
	/** One grouped query: the run's events by (pid, ppid, kind). FANGS_ENOTFOUND for an unknown run. */
	int (*proc_groups)(fangs_storage_backend *b, const fangs_tree_query *q, fangs_proc_group_list *out);
	/** Deviations stored at or after since_ns by severity; counts are zeroed by the caller. */
	int (*deviation_counts)(fangs_storage_backend *b, int64_t since_ns, int64_t *counts);
	/* version 3 also: several processes on one database (fangs/storage.h) */
	/** Optional: NULL = the process is always the leader. */
	int (*leader_try)(fangs_storage_backend *b, int *leader);
	/** Optional, with leader_try. */
	int (*leader_release)(fangs_storage_backend *b);
	int (*feed_get)(fangs_storage_backend *b, const char *feed, char **seq);
	int (*feed_advance)(fangs_storage_backend *b, const char *feed, const char *from, const char *to);
	/* version 4 */
	/** job_enqueue unless a run of job->package@job->version exists
	 * (FANGS_EEXISTS), atomic against every other handle on the database. */
	int (*job_enqueue_release)(fangs_storage_backend *b, fangs_job *job);
};

/** Wraps a backend in a storage handle; the handle owns it (calls b->free). */
FANGS_EXTERN(int) fangs_storage_wrap(fangs_storage **out, fangs_storage_backend *backend);

/** The built-in SQLite backend. */
FANGS_EXTERN(int) fangs_storage_backend_sqlite_new(fangs_storage_backend **out, const fangs_storage_options *opts);

/** The PostgreSQL backend (FANGS_EUNSUPPORTED when built without libpq). */
FANGS_EXTERN(int) fangs_storage_backend_postgres_new(fangs_storage_backend **out, const fangs_storage_options *opts);

/** The newest schema migration this code knows (shared by every backend). */
FANGS_EXTERN(int) fangs_storage_code_schema_version(void);

/** Generates a new run id ("r" + time + random hex), at most FANGS_RUN_ID_MAX-1 chars. */
FANGS_EXTERN(int) fangs_storage_new_run_id(char *buf, size_t cap);

FANGS_END_DECL

#endif
