/*
 * storage/sqlite/sqlite_internal.h - what the files of the SQLite backend share.
 */
#ifndef FANGS_STORAGE_SQLITE_INTERNAL_H
#define FANGS_STORAGE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "core/buf.h"
#include "core/internal.h"
#include "storage/internal.h"

/* The events of the run `runs`: runs.event_count holds it (schema 6);
 * this recounts. */
#define FANGS__SQ_RUN_ROWS "(SELECT COUNT(*) FROM events e WHERE e.run_id = runs.id)"

typedef struct fangs__sq_cached {
	const char *sql; /* a static string: its address is the key */
	sqlite3_stmt *stmt;
} fangs__sq_cached;

typedef struct fangs__sq {
	fangs_storage_backend base; /* first: the vtable callbacks cast back */
	sqlite3 *db;
	char *path;
	int read_only;
	int busy_timeout_ms;
	int64_t busy_start_ns;
	fangs__sq_cached *cache;
	size_t n_cache, cap_cache;
	fangs_buf enc; /* reused by event encoding */
} fangs__sq;

static inline fangs__sq *fangs__sq_of(fangs_storage_backend *b)
{
	return (fangs__sq *)b;
}

/* The prepared statement for `sql` (a string with static storage), reset
 * and with cleared bindings; NULL with the error set on failure. */
sqlite3_stmt *fangs__sq_stmt(fangs__sq *b, const char *sql);

/* Turns an sqlite result code into a FANGS_E* code with a message naming
 * what was being done. */
int fangs__sq_fail(fangs__sq *b, int rc, const char *what);

/* Runs a cached statement that returns no rows; binds ?1 to `text` when
 * non-NULL. Returns 0 or an error; `changes` (optional) gets the row count. */
int fangs__sq_run(fangs__sq *b, const char *sql, const char *text, int64_t *changes);

/* Steps a statement expecting SQLITE_DONE, then resets it. */
int fangs__sq_step_done(fangs__sq *b, sqlite3_stmt *st, const char *what);

/* Write transactions that nest inside a user transaction: BEGIN IMMEDIATE
 * when none is open (so that the write lock is taken up front and the busy
 * handler applies), a savepoint otherwise. */
int fangs__sq_write_begin(fangs__sq *b, int *outer);
/* Commits (rc == 0) or rolls back the work begun above; returns rc or the
 * commit's error. */
int fangs__sq_write_end(fangs__sq *b, int outer, int rc);

/* Binds a string or NULL. */
int fangs__sq_bind_str(sqlite3_stmt *st, int i, const char *s);
/* Copies a text column (NULL stays NULL); 0 or FANGS_ENOMEM. */
int fangs__sq_col_str(sqlite3_stmt *st, int i, char **out);
/* Does `sql` (a SELECT taking ?1 = key) return a row? 1, 0, or <0 on error. */
int fangs__sq_exists(fangs__sq *b, const char *sql, const char *key);
/* 0 when the run exists, FANGS_ENOTFOUND naming it otherwise. */
int fangs__sq_run_exists(fangs__sq *b, const char *run_id);

/* Records the package (unwatched) and release when missing; inside a write
 * transaction. */
int fangs__sq_release_ensure(fangs__sq *b, const char *package, const char *version);

/* Deletes a run's deviations and their evidence links; inside a write
 * transaction. */
int fangs__sq_deviations_delete(fangs__sq *b, const char *run_id);

/* Migrations (sqlite_migrations.c). */
int fangs__sq_db_version(fangs__sq *b, int *out);
int fangs__sq_migrate(fangs__sq *b);

/* The vtable members, one file per area. */
int fangs__sq_feed_get(fangs_storage_backend *b, const char *feed, char **seq);
int fangs__sq_feed_advance(fangs_storage_backend *b, const char *feed, const char *from, const char *to);
int fangs__sq_package_upsert(fangs_storage_backend *b, const char *name, int watched);
int fangs__sq_package_get(fangs_storage_backend *b, const char *name, fangs_package *out);
int fangs__sq_package_list(fangs_storage_backend *b, int watched_only, fangs_package_list *out);
int fangs__sq_package_set_last_seen(fangs_storage_backend *b, const char *name, const char *version);
int fangs__sq_package_remove(fangs_storage_backend *b, const char *name);
int fangs__sq_package_reset(fangs_storage_backend *b, const char *name);
int fangs__sq_release_add(fangs_storage_backend *b, const char *package, const char *version);
int fangs__sq_release_list(fangs_storage_backend *b, const char *package, fangs_release_list *out);

int fangs__sq_run_create(fangs_storage_backend *b, fangs_run *run);
int fangs__sq_run_update(fangs_storage_backend *b, const fangs_run *run);
int fangs__sq_run_get(fangs_storage_backend *b, const char *id, fangs_run *out);
int fangs__sq_run_list(fangs_storage_backend *b, const fangs_run_filter *f, fangs_run_list *out);

int fangs__sq_events_append(fangs_storage_backend *b, const char *run_id, fangs_event *events, size_t n);
int fangs__sq_events_append_batch(fangs_storage_backend *b, const char *run_id, int64_t seq, fangs_event *events,
				  size_t n, int *duplicate);
int fangs__sq_events_list(fangs_storage_backend *b, const char *run_id, fangs_event_list *out);
int fangs__sq_events_get(fangs_storage_backend *b, const int64_t *ids, size_t n, fangs_event_list *out);

int fangs__sq_run_fingerprints_put(fangs_storage_backend *b, const char *run_id, const fangs_fpset *fps);
int fangs__sq_run_fingerprints_get(fangs_storage_backend *b, const char *run_id, fangs_fpset *out);
int fangs__sq_baseline_get(fangs_storage_backend *b, const char *package, fangs_fpset *out);
int fangs__sq_baseline_add_run(fangs_storage_backend *b, const char *package, const char *run_id);
int fangs__sq_baseline_rebuild(fangs_storage_backend *b, const char *package, const char *run_id);

int fangs__sq_deviations_put(fangs_storage_backend *b, fangs_deviation *devs, size_t n);
int fangs__sq_deviations_list(fangs_storage_backend *b, const fangs_deviation_filter *f, fangs_deviation_list *out);
int fangs__sq_deviation_get(fangs_storage_backend *b, int64_t id, fangs_deviation *out);
int fangs__sq_deviations_clear(fangs_storage_backend *b, const char *run_id);

int fangs__sq_allow_add(fangs_storage_backend *b, fangs_allow_entry *entry);
int fangs__sq_allow_list(fangs_storage_backend *b, const char *package, fangs_allow_list *out);
int fangs__sq_allow_remove(fangs_storage_backend *b, int64_t id);

int fangs__sq_prune(fangs_storage_backend *b, int64_t older_than_ns, fangs_prune_stats *out);

int fangs__sq_notifier_add(fangs_storage_backend *b, fangs_notifier_target *t);
int fangs__sq_notifier_list(fangs_storage_backend *b, fangs_notifier_target_list *out);
int fangs__sq_notifier_get(fangs_storage_backend *b, const char *name, fangs_notifier_target *out);
int fangs__sq_notifier_remove(fangs_storage_backend *b, const char *name);
int fangs__sq_notification_insert(fangs_storage_backend *b, fangs_notification *n);
int fangs__sq_notification_update(fangs_storage_backend *b, const fangs_notification *n);
int fangs__sq_notification_list(fangs_storage_backend *b, const fangs_notification_filter *f,
				fangs_notification_list *out);
int fangs__sq_notification_due(fangs_storage_backend *b, int64_t now_ns, size_t limit, fangs_notification_list *out);
int fangs__sq_notification_claim(fangs_storage_backend *b, int64_t id, fangs_notification_status status,
				 int64_t next_attempt_ns, int64_t lease_until_ns);
int fangs__sq_job_enqueue(fangs_storage_backend *b, fangs_job *job);
int fangs__sq_job_enqueue_release(fangs_storage_backend *b, fangs_job *job);
int fangs__sq_job_claim(fangs_storage_backend *b, const char *runner, int64_t now_ns, fangs_job *out);
int fangs__sq_job_get(fangs_storage_backend *b, const char *run_id, fangs_job *out);
int fangs__sq_job_finish(fangs_storage_backend *b, const char *run_id, fangs_job_state state, int64_t now_ns);
int fangs__sq_job_requeue_runner(fangs_storage_backend *b, const char *runner, int max_attempts, int64_t now_ns,
				 int64_t *requeued, int64_t *failed);
int fangs__sq_job_list(fangs_storage_backend *b, int state, fangs_job_list *out);
int fangs__sq_runner_register(fangs_storage_backend *b, const fangs_runner *r, int64_t now_ns);
int fangs__sq_runner_heartbeat(fangs_storage_backend *b, const char *id, int64_t now_ns);
int fangs__sq_runner_list(fangs_storage_backend *b, fangs_runner_list *out);
int fangs__sq_runner_evict(fangs_storage_backend *b, const char *id);
int fangs__sq_job_counts(fangs_storage_backend *b, int64_t counts[4]);
int fangs__sq_job_prune(fangs_storage_backend *b, int64_t older_than_ns, int64_t *deleted);

int fangs__sq_run_page(fangs_storage_backend *b, const fangs_run_query *q, fangs_run_list *out);
int fangs__sq_events_page(fangs_storage_backend *b, const fangs_event_query *q, fangs_event_list *out);
int fangs__sq_proc_groups(fangs_storage_backend *b, const fangs_tree_query *q, fangs_proc_group_list *out);
int fangs__sq_deviation_counts(fangs_storage_backend *b, int64_t since_ns, int64_t *counts);

#endif
