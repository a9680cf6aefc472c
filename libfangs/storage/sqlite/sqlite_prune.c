/*
 * storage/sqlite/sqlite_prune.c - retention in SQLite.
 *
 * Only finished runs are touched: a queued or running run may still get
 * events. Events cited as evidence stay (a finding must keep its proof);
 * runs stay when they are baseline, carry findings, wait for review, or
 * still hold such events.
 */
#include "storage/sqlite/sqlite_internal.h"

/* ?1 = cutoff, ?2..?4 = the finished states, ?5 = pending review */
#define OLD_FINISHED_RUNS "SELECT id FROM runs WHERE created_ns < ?1 AND state IN (?2, ?3, ?4)"
#define COUNT_LEFT FANGS__SQ_RUN_ROWS
#define CITED "EXISTS (SELECT 1 FROM deviation_evidence x WHERE x.event_id = events.id)"
/* old finished runs whose rows of run_processes do not add up to their
 * events (none left: no rows) */
#define STALE_PROCESSES \
	"SELECT r.id FROM runs r WHERE r.created_ns < ?1 AND r.state IN (?2, ?3, ?4)" \
	" AND (SELECT COALESCE(SUM(p.events), 0) FROM run_processes p WHERE p.run_id = r.id)" \
	" <> (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id)"
#define PRUNABLE_RUNS \
	"SELECT r.id FROM runs r WHERE r.created_ns < ?1 AND r.state IN (?2, ?3, ?4)" \
	" AND r.is_baseline = 0 AND r.review <> ?5" \
	" AND NOT EXISTS (SELECT 1 FROM deviations d WHERE d.run_id = r.id)" \
	" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id)"

static const char *const steps[] = {
	"SELECT COUNT(*) FROM events WHERE run_id IN (" OLD_FINISHED_RUNS ") AND " CITED,
	"DELETE FROM events WHERE run_id IN (" OLD_FINISHED_RUNS ") AND NOT " CITED,
	/* the processes of the runs whose events went, summed up again */
	"DELETE FROM run_processes WHERE run_id IN (" STALE_PROCESSES ")",
	"INSERT INTO run_processes (run_id, pid, ppid, kind, events, first_id, last_id)"
	" SELECT run_id, pid, ppid, kind, COUNT(*), MIN(id), MAX(id) FROM events"
	" WHERE run_id IN (" STALE_PROCESSES ") GROUP BY run_id, pid, ppid, kind",
	"DELETE FROM run_fingerprints WHERE run_id IN (" PRUNABLE_RUNS ")",
	"DELETE FROM notifications WHERE run_id IN (" PRUNABLE_RUNS ")",
	"DELETE FROM event_batches WHERE run_id IN (" PRUNABLE_RUNS ")",
	"DELETE FROM runs WHERE id IN (" PRUNABLE_RUNS ")",
	/* the event counts of the runs whose events went */
	"UPDATE runs SET event_count = " COUNT_LEFT " WHERE id IN (" OLD_FINISHED_RUNS
	") AND event_count <> " COUNT_LEFT,
};

static int step(fangs__sq *b, const char *sql, int64_t cutoff, int64_t *result)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, sql);
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int(st, 2, FANGS_RUN_SUCCEEDED);
	sqlite3_bind_int(st, 3, FANGS_RUN_FAILED);
	sqlite3_bind_int(st, 4, FANGS_RUN_TIMED_OUT);
	if (sqlite3_bind_parameter_count(st) >= 5)
		sqlite3_bind_int(st, 5, FANGS_REVIEW_PENDING);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*result = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*result = sqlite3_changes64(b->db);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "pruning");
}

int fangs__sq_prune(fangs_storage_backend *bb, int64_t older_than_ns, fangs_prune_stats *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	int64_t n[FANGS_ARRAY_SIZE(steps)] = {0};
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(steps) && rc == 0; i++)
		rc = step(b, steps[i], older_than_ns, &n[i]);
	if ((rc = fangs__sq_write_end(b, outer, rc)))
		return rc;
	out->events_kept_as_evidence = n[0];
	out->events_deleted = n[1];
	out->runs_deleted = n[7];
	return 0;
}
