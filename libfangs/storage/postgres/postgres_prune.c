/*
 * storage/postgres/postgres_prune.c - retention in PostgreSQL (rules in sqlite_prune.c).
 *
 * Events live in one partition per day of their run (postgres_events.c).
 * A day that ends before the cutoff and holds only events of finished runs
 * older than the cutoff is dropped whole, after the events that findings
 * cite are copied to evidence_events; this costs a scan of the day instead
 * of a deletion per row. What is left older than the cutoff (the day the
 * cutoff falls in, a day with a run still going) is deleted row by row as
 * in SQLite, so the result is the same whatever the cutoff: the speed comes
 * with cutoffs at day boundaries. The pass also makes the partitions of
 * today and tomorrow, so that ingest rarely has to.
 */
#include <stdlib.h>

#include "storage/postgres/postgres_internal.h"

#define NS_PER_DAY 86400000000000LL

/* $1 = cutoff, $2..$4 = the finished states, $5 = pending review or the
 * cutoff's day. A run's events are in its day's partition (kept so by
 * run updates, postgres_events.c): "day <= $5" leaves the newer days out
 * of the plan. */
#define OLD_FINISHED_RUNS "SELECT id FROM runs WHERE created_ns < $1 AND state IN ($2, $3, $4)"
#define COUNT_LEFT FANGS__PG_RUN_ROWS("runs")
#define CITED(T) "EXISTS (SELECT 1 FROM deviation_evidence x WHERE x.event_id = " T ".id)"
/* A run without events left: probed per run through each day's index (a
 * subquery the planner cannot turn into a scan of every day). */
#define NO_EVENTS(R) "(SELECT COUNT(*) FROM (SELECT 1 FROM events e WHERE e.run_id = " R ".id LIMIT 1) z) = 0"
/* old finished runs whose rows of run_processes do not add up to their
 * rows in events (none left: no rows) */
#define STALE_PROCESSES \
	"SELECT r.id FROM runs r WHERE r.created_ns < $1 AND r.state IN ($2, $3, $4)" \
	" AND (SELECT COALESCE(SUM(p.events), 0) FROM run_processes p WHERE p.run_id = r.id)" \
	" <> (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id" \
	" AND e.day = floor(r.created_ns / 86400000000000.0)::integer)"
#define PRUNABLE_RUNS \
	"SELECT r.id FROM runs r WHERE r.created_ns < $1 AND r.state IN ($2, $3, $4)" \
	" AND r.is_baseline = 0 AND r.review <> $5" \
	" AND NOT EXISTS (SELECT 1 FROM deviations d WHERE d.run_id = r.id)" \
	" AND " NO_EVENTS("r") " AND NOT EXISTS (SELECT 1 FROM evidence_events k WHERE k.run_id = r.id)"

enum {
	DELETED_ROWS,
	DELETED_KEPT,
	KEPT,
	RUNS,
	N_COUNTS
};
enum {
	CUTOFF_DAY = 1,
	REVIEW = 2
};

static const struct {
	const char *sql;
	int fifth; /* what $5 is, if any */
	int count; /* which count it adds to, or -1 */
} steps[] = {
	{"DELETE FROM events WHERE day <= $5 AND run_id IN (" OLD_FINISHED_RUNS ") AND NOT " CITED("events"),
	 CUTOFF_DAY, DELETED_ROWS},
	/* the processes of the runs whose events went (rows or days), summed
	 * up again */
	{"DELETE FROM run_processes WHERE run_id IN (" STALE_PROCESSES ")", 0, -1},
	{"INSERT INTO run_processes (run_id, pid, ppid, kind, events, first_id, last_id)"
	 " SELECT run_id, pid, ppid, kind, COUNT(*), MIN(id), MAX(id) FROM events"
	 " WHERE run_id IN (" STALE_PROCESSES ") GROUP BY run_id, pid, ppid, kind",
	 0, -1},
	/* kept when a finding cited them, and the finding is gone since */
	{"DELETE FROM evidence_events WHERE run_id IN (" OLD_FINISHED_RUNS ") AND NOT " CITED("evidence_events"), 0,
	 DELETED_KEPT},
	{"SELECT (SELECT COUNT(*) FROM events WHERE day <= $5 AND run_id IN (" OLD_FINISHED_RUNS
	 ") AND " CITED("events") ") + (SELECT COUNT(*) FROM evidence_events WHERE run_id IN (" OLD_FINISHED_RUNS "))",
	 CUTOFF_DAY, KEPT},
	{"DELETE FROM run_fingerprints WHERE run_id IN (" PRUNABLE_RUNS ")", REVIEW, -1},
	{"DELETE FROM notifications WHERE run_id IN (" PRUNABLE_RUNS ")", REVIEW, -1},
	{"DELETE FROM event_batches WHERE run_id IN (" PRUNABLE_RUNS ")", REVIEW, -1},
	{"DELETE FROM runs WHERE id IN (" PRUNABLE_RUNS ")", REVIEW, RUNS},
	/* the event counts of the runs whose events went (rows or days) */
	{"UPDATE runs SET event_count = " COUNT_LEFT " WHERE id IN (" OLD_FINISHED_RUNS
	 ") AND event_count <> " COUNT_LEFT,
	 0, -1},
};

static void finished_params(fangs__pg_params *p, int64_t cutoff)
{
	fangs__pg_i64(p, cutoff);
	fangs__pg_i64(p, FANGS_RUN_SUCCEEDED);
	fangs__pg_i64(p, FANGS_RUN_FAILED);
	fangs__pg_i64(p, FANGS_RUN_TIMED_OUT);
}

/* Drops the partition `name` when every run with events in it is finished
 * and older than the cutoff, after copying out the events findings cite.
 * Adds to *deleted and *dropped. */
static int drop_day(fangs__pg *b, const char *name, int64_t cutoff, int64_t *deleted, int *dropped)
{
	fangs__pg_params p = {0};
	char sql[1024];
	PGresult *res;
	int64_t total, blockers, kept = 0;
	int rc;

	/* first the lock: evidence stored meanwhile waits, then sees the day gone */
	snprintf(sql, sizeof(sql), "LOCK TABLE \"%s\" IN ACCESS EXCLUSIVE MODE", name);
	if ((rc = fangs__pg_run(b, sql, NULL, "pruning", NULL)))
		return rc;
	finished_params(&p, cutoff);
	snprintf(sql, sizeof(sql),
		 "SELECT COALESCE(SUM(per.n), 0), COUNT(r.id) FILTER (WHERE NOT (r.created_ns < $1"
		 " AND r.state IN ($2, $3, $4))) FROM (SELECT run_id, COUNT(*) AS n FROM \"%s\" GROUP BY run_id) per"
		 " LEFT JOIN runs r ON r.id = per.run_id",
		 name);
	if (!(res = fangs__pg_query(b, sql, &p, "pruning")))
		return fangs_error_last_code();
	total = fangs__pg_col_i64(res, 0, 0);
	blockers = fangs__pg_col_i64(res, 0, 1);
	PQclear(res);
	if (blockers) {
		fangs_info("postgres %s: retention: %s holds %lld runs not finished or newer than the cutoff: "
			   "its old events are deleted one by one",
			   b->where, name, (long long)blockers);
		return 0;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO evidence_events (id, run_id, kind, ts_ns, pid, ppid, comm, value, data, day)"
		 " SELECT id, run_id, kind, ts_ns, pid, ppid, comm, value, data, day FROM \"%s\" e"
		 " WHERE " CITED("e") " ON CONFLICT (id) DO NOTHING",
		 name);
	if ((rc = fangs__pg_run(b, sql, NULL, "keeping evidence", &kept)))
		return rc;
	snprintf(sql, sizeof(sql), "DROP TABLE \"%s\"", name);
	if ((rc = fangs__pg_run(b, sql, NULL, "dropping a day of events", NULL)))
		return rc;
	*deleted += total - kept;
	(*dropped)++;
	return 0;
}

static int drop_days(fangs__pg *b, int64_t cutoff, int64_t *deleted, int *dropped)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;

	/* the days that end at or before the cutoff, oldest first */
	fangs__pg_i64(&p, cutoff >= 0 ? cutoff / NS_PER_DAY : 0);
	res = fangs__pg_query(b,
			      "SELECT name FROM (SELECT c.relname AS name,"
			      " to_date(substr(c.relname, 8), 'YYYYMMDD') - date '1970-01-01' AS day"
			      " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
			      " WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{8}$') d"
			      " WHERE d.day + 1 <= $1::bigint ORDER BY d.day",
			      &p, "listing the days of events");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = drop_day(b, PQgetvalue(res, i, 0), cutoff, deleted, dropped);
	PQclear(res);
	return rc;
}

int fangs__pg_prune(fangs_storage_backend *bb, int64_t older_than_ns, fangs_prune_stats *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	int64_t n[N_COUNTS] = {0}, dropped_events = 0, today = fangs__now_ns() / NS_PER_DAY;
	int outer, rc, dropped = 0;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__pg_events_day_ensure(b, (int)today)) &&
	    !(rc = fangs__pg_events_day_ensure(b, (int)today + 1)))
		rc = drop_days(b, older_than_ns, &dropped_events, &dropped);
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(steps) && rc == 0; i++) {
		fangs__pg_params p = {0};
		PGresult *res;
		finished_params(&p, older_than_ns);
		if (steps[i].fifth == REVIEW)
			fangs__pg_i64(&p, FANGS_REVIEW_PENDING);
		else if (steps[i].fifth == CUTOFF_DAY)
			fangs__pg_i64(&p, older_than_ns / NS_PER_DAY);
		if (!(res = fangs__pg_query(b, steps[i].sql, &p, "pruning"))) {
			rc = fangs_error_last_code();
			break;
		}
		if (steps[i].count >= 0)
			n[steps[i].count] = PQresultStatus(res) == PGRES_TUPLES_OK
						    ? fangs__pg_col_i64(res, 0, 0)
						    : strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	if ((rc = fangs__pg_write_end(b, outer, rc)))
		return rc;
	if (dropped)
		fangs_info("postgres %s: retention: %d days of events dropped", b->where, dropped);
	out->events_kept_as_evidence = n[KEPT];
	out->events_deleted = dropped_events + n[DELETED_ROWS] + n[DELETED_KEPT];
	out->runs_deleted = n[RUNS];
	return 0;
}
