/*
 * storage/postgres/postgres_internal.h - what the files of the PostgreSQL backend share.
 */
#ifndef FANGS_STORAGE_POSTGRES_INTERNAL_H
#define FANGS_STORAGE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/internal.h"
#include "storage/internal.h"

typedef struct fangs__pg {
	fangs_storage_backend base; /* first: the vtable callbacks cast back */
	PGconn *conn;
	char *where; /* "host:port/db" for messages (never the password) */
	int read_only;
	fangs_buf enc;   /* event encoding */
	fangs_buf copy;  /* COPY data */
	size_t copy_min; /* batches of this many events or more go with COPY */
	/* the connection's health: a lost connection is made again (postgres.c) */
	int busy_timeout_ms;
	int in_tx;             /* a transaction of ours is open */
	int tx_lost;           /* ... and its connection was lost: only a rollback helps */
	int64_t down_since_ms; /* monotonic; 0 = connected */
	int64_t next_try_ms;   /* no reconnect attempt before this */
	int64_t backoff_ms;
} fangs__pg;

static inline fangs__pg *fangs__pg_of(fangs_storage_backend *b)
{
	return (fangs__pg *)b;
}

/* Text parameters of one statement. */
#define FANGS__PG_MAX_PARAMS 24
typedef struct fangs__pg_params {
	const char *v[FANGS__PG_MAX_PARAMS];
	char num[FANGS__PG_MAX_PARAMS][24];
	int n;
} fangs__pg_params;

static inline void fangs__pg_str(fangs__pg_params *p, const char *s)
{
	p->v[p->n++] = s;
}

static inline void fangs__pg_i64(fangs__pg_params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)x);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

/* Runs a statement; returns its result (free with PQclear) or NULL with
 * the error set, naming `what`. */
PGresult *fangs__pg_query(fangs__pg *b, const char *sql, const fangs__pg_params *p, const char *what);
/* Same for statements whose result is not needed; `changes` (optional)
 * gets the affected row count. */
int fangs__pg_run(fangs__pg *b, const char *sql, const fangs__pg_params *p, const char *what, int64_t *changes);
/* Sets the error of a failed result (or of the connection when NULL). */
int fangs__pg_fail(fangs__pg *b, const PGresult *res, const char *what);

/* Write transactions that nest in a user transaction (see sqlite_internal.h). */
int fangs__pg_write_begin(fangs__pg *b, int *outer);
int fangs__pg_write_end(fangs__pg *b, int outer, int rc);

/* Column helpers: NULL stays NULL. */
int fangs__pg_col_str(const PGresult *r, int row, int col, char **out);
int64_t fangs__pg_col_i64(const PGresult *r, int row, int col);

int fangs__pg_run_exists(fangs__pg *b, const char *run_id);
int fangs__pg_release_ensure(fangs__pg *b, const char *package, const char *version);
int fangs__pg_deviations_delete(fangs__pg *b, const char *run_id);
/* Makes the partition of events for `day` (days since 1970-01-01, UTC)
 * unless it exists. */
int fangs__pg_events_day_ensure(fangs__pg *b, int day);
/* Moves a run's events from one day to another (its created_ns changed):
 * a run's events are always in its day's partition. */
int fangs__pg_events_move(fangs__pg *b, const char *run_id, int from, int to);

/* The events of run R (a row of runs) as SQLite counts them: its rows in
 * its day's partition (the others are not even opened) and the events kept
 * as evidence after their day was dropped. runs.event_count holds it
 * (schema 6); this recounts. */
#define FANGS__PG_RUN_ROWS(R) \
	"((SELECT COUNT(*) FROM events e WHERE e.run_id = " R ".id" \
	" AND e.day = floor(" R ".created_ns / 86400000000000.0)::integer)" \
	" + (SELECT COUNT(*) FROM evidence_events k WHERE k.run_id = " R ".id))"

/* FANGS__STORAGE_RUN_COLS. */
#define FANGS__PG_RUN_COLS FANGS__STORAGE_RUN_COLS

int fangs__pg_db_version(fangs__pg *b, int *out);
int fangs__pg_migrate(fangs__pg *b);

int fangs__pg_package_upsert(fangs_storage_backend *b, const char *name, int watched);
int fangs__pg_package_get(fangs_storage_backend *b, const char *name, fangs_package *out);
int fangs__pg_package_list(fangs_storage_backend *b, int watched_only, fangs_package_list *out);
int fangs__pg_package_set_last_seen(fangs_storage_backend *b, const char *name, const char *version);
int fangs__pg_package_remove(fangs_storage_backend *b, const char *name);
int fangs__pg_package_reset(fangs_storage_backend *b, const char *name);
int fangs__pg_release_add(fangs_storage_backend *b, const char *package, const char *version);
int fangs__pg_release_list(fangs_storage_backend *b, const char *package, fangs_release_list *out);

int fangs__pg_run_create(fangs_storage_backend *b, fangs_run *run);
int fangs__pg_run_update(fangs_storage_backend *b, const fangs_run *run);
int fangs__pg_run_get(fangs_storage_backend *b, const char *id, fangs_run *out);
int fangs__pg_run_list(fangs_storage_backend *b, const fangs_run_filter *f, fangs_run_list *out);

int fangs__pg_events_append(fangs_storage_backend *b, const char *run_id, fangs_event *events, size_t n);
int fangs__pg_events_append_batch(fangs_storage_backend *b, const char *run_id, int64_t seq, fangs_event *events,
				  size_t n, int *duplicate);
int fangs__pg_events_list(fangs_storage_backend *b, const char *run_id, fangs_event_list *out);
int fangs__pg_events_get(fangs_storage_backend *b, const int64_t *ids, size_t n, fangs_event_list *out);

int fangs__pg_run_fingerprints_put(fangs_storage_backend *b, const char *run_id, const fangs_fpset *fps);
int fangs__pg_run_fingerprints_get(fangs_storage_backend *b, const char *run_id, fangs_fpset *out);
int fangs__pg_baseline_get(fangs_storage_backend *b, const char *package, fangs_fpset *out);
int fangs__pg_baseline_add_run(fangs_storage_backend *b, const char *package, const char *run_id);
int fangs__pg_baseline_rebuild(fangs_storage_backend *b, const char *package, const char *run_id);

int fangs__pg_deviations_put(fangs_storage_backend *b, fangs_deviation *devs, size_t n);
int fangs__pg_deviations_list(fangs_storage_backend *b, const fangs_deviation_filter *f, fangs_deviation_list *out);
int fangs__pg_deviation_get(fangs_storage_backend *b, int64_t id, fangs_deviation *out);
int fangs__pg_deviations_clear(fangs_storage_backend *b, const char *run_id);

int fangs__pg_allow_add(fangs_storage_backend *b, fangs_allow_entry *entry);
int fangs__pg_allow_list(fangs_storage_backend *b, const char *package, fangs_allow_list *out);
int fangs__pg_allow_remove(fangs_storage_backend *b, int64_t id);

int fangs__pg_prune(fangs_storage_backend *b, int64_t older_than_ns, fangs_prune_stats *out);

int fangs__pg_notifier_add(fangs_storage_backend *b, fangs_notifier_target *t);
int fangs__pg_notifier_list(fangs_storage_backend *b, fangs_notifier_target_list *out);
int fangs__pg_notifier_get(fangs_storage_backend *b, const char *name, fangs_notifier_target *out);
int fangs__pg_notifier_remove(fangs_storage_backend *b, const char *name);
int fangs__pg_notification_insert(fangs_storage_backend *b, fangs_notification *n);
int fangs__pg_notification_update(fangs_storage_backend *b, const fangs_notification *n);
int fangs__pg_notification_list(fangs_storage_backend *b, const fangs_notification_filter *f,
				fangs_notification_list *out);
int fangs__pg_notification_due(fangs_storage_backend *b, int64_t now_ns, size_t limit, fangs_notification_list *out);
int fangs__pg_notification_claim(fangs_storage_backend *b, int64_t id, fangs_notification_status status,
				 int64_t next_attempt_ns, int64_t lease_until_ns);
int fangs__pg_job_enqueue(fangs_storage_backend *b, fangs_job *job);
int fangs__pg_job_enqueue_release(fangs_storage_backend *b, fangs_job *job);
int fangs__pg_job_claim(fangs_storage_backend *b, const char *runner, int64_t now_ns, fangs_job *out);
int fangs__pg_job_get(fangs_storage_backend *b, const char *run_id, fangs_job *out);
int fangs__pg_job_finish(fangs_storage_backend *b, const char *run_id, fangs_job_state state, int64_t now_ns);
int fangs__pg_job_requeue_runner(fangs_storage_backend *b, const char *runner, int max_attempts, int64_t now_ns,
				 int64_t *requeued, int64_t *failed);
int fangs__pg_job_list(fangs_storage_backend *b, int state, fangs_job_list *out);
int fangs__pg_runner_register(fangs_storage_backend *b, const fangs_runner *r, int64_t now_ns);
int fangs__pg_runner_heartbeat(fangs_storage_backend *b, const char *id, int64_t now_ns);
int fangs__pg_runner_list(fangs_storage_backend *b, fangs_runner_list *out);
int fangs__pg_runner_evict(fangs_storage_backend *b, const char *id);
int fangs__pg_job_counts(fangs_storage_backend *b, int64_t counts[4]);
int fangs__pg_job_prune(fangs_storage_backend *b, int64_t older_than_ns, int64_t *deleted);
int fangs__pg_leader_try(fangs_storage_backend *b, int *leader);
int fangs__pg_leader_release(fangs_storage_backend *b);
int fangs__pg_feed_get(fangs_storage_backend *b, const char *feed, char **seq);
int fangs__pg_feed_advance(fangs_storage_backend *b, const char *feed, const char *from, const char *to);

int fangs__pg_run_page(fangs_storage_backend *b, const fangs_run_query *q, fangs_run_list *out);
int fangs__pg_events_page(fangs_storage_backend *b, const fangs_event_query *q, fangs_event_list *out);
int fangs__pg_proc_groups(fangs_storage_backend *b, const fangs_tree_query *q, fangs_proc_group_list *out);
int fangs__pg_deviation_counts(fangs_storage_backend *b, int64_t since_ns, int64_t *counts);

#endif
