/*
 * storage/postgres_prune.c - retention in PostgreSQL (rules in sqlite_prune.c).
 */
#include <stdlib.h>

#include "storage/postgres_internal.h"

#define OLD_FINISHED_RUNS "SELECT id FROM runs WHERE created_ns < $1 AND state IN ($2, $3, $4)"
#define CITED "EXISTS (SELECT 1 FROM deviation_evidence x WHERE x.event_id = events.id)"
#define PRUNABLE_RUNS                                                                             \
	"SELECT r.id FROM runs r WHERE r.created_ns < $1 AND r.state IN ($2, $3, $4)"              \
	" AND r.is_baseline = 0 AND r.review <> $5"                                                \
	" AND NOT EXISTS (SELECT 1 FROM deviations d WHERE d.run_id = r.id)"                       \
	" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id)"

static const struct {
	const char *sql;
	int uses_review;
} steps[] = {
	{"SELECT COUNT(*) FROM events WHERE run_id IN (" OLD_FINISHED_RUNS ") AND " CITED, 0},
	{"DELETE FROM events WHERE run_id IN (" OLD_FINISHED_RUNS ") AND NOT " CITED, 0},
	{"DELETE FROM run_fingerprints WHERE run_id IN (" PRUNABLE_RUNS ")", 1},
	{"DELETE FROM notifications WHERE run_id IN (" PRUNABLE_RUNS ")", 1},
	{"DELETE FROM event_batches WHERE run_id IN (" PRUNABLE_RUNS ")", 1},
	{"DELETE FROM runs WHERE id IN (" PRUNABLE_RUNS ")", 1},
};

int fangs__pg_prune(fangs_storage_backend *bb, int64_t older_than_ns, fangs_prune_stats *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	int64_t n[FANGS_ARRAY_SIZE(steps)] = {0};
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(steps) && rc == 0; i++) {
		fangs__pg_params p = {0};
		PGresult *res;
		fangs__pg_i64(&p, older_than_ns);
		fangs__pg_i64(&p, FANGS_RUN_SUCCEEDED);
		fangs__pg_i64(&p, FANGS_RUN_FAILED);
		fangs__pg_i64(&p, FANGS_RUN_TIMED_OUT);
		if (steps[i].uses_review)
			fangs__pg_i64(&p, FANGS_REVIEW_PENDING);
		if (!(res = fangs__pg_query(b, steps[i].sql, &p, "pruning"))) {
			rc = fangs_error_last_code();
			break;
		}
		n[i] = PQresultStatus(res) == PGRES_TUPLES_OK ? fangs__pg_col_i64(res, 0, 0)
							      : strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	if ((rc = fangs__pg_write_end(b, outer, rc)))
		return rc;
	out->events_kept_as_evidence = n[0];
	out->events_deleted = n[1];
	out->runs_deleted = n[5];
	return 0;
}
