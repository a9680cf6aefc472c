/*
 * storage/postgres/postgres_runs.c - runs in PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

static int read_run(const PGresult *res, int i, fangs_run *r)
{
	int rc;
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, i, 0));
	if ((rc = fangs__pg_col_str(res, i, 1, &r->package)) || (rc = fangs__pg_col_str(res, i, 2, &r->version)) ||
	    (rc = fangs__pg_col_str(res, i, 9, &r->runner)) || (rc = fangs__pg_col_str(res, i, 11, &r->error)) ||
	    (rc = fangs__pg_col_str(res, i, 12, &r->install_output)) ||
	    (rc = fangs__pg_col_str(res, i, 13, &r->sandbox)) || (rc = fangs__pg_col_str(res, i, 14, &r->network)) ||
	    (rc = fangs__pg_col_str(res, i, 21, &r->analysis_error))) {
		fangs_run_clear(r);
		return rc;
	}
	r->state = (fangs_run_state)fangs__pg_col_i64(res, i, 3);
	r->is_baseline = (int)fangs__pg_col_i64(res, i, 4);
	r->review = (fangs_review)fangs__pg_col_i64(res, i, 5);
	r->events_emitted = fangs__pg_col_i64(res, i, 6);
	r->events_dropped = fangs__pg_col_i64(res, i, 7);
	r->duration_ns = fangs__pg_col_i64(res, i, 8);
	r->has_exit_code = !PQgetisnull(res, i, 10);
	r->exit_code = (int)fangs__pg_col_i64(res, i, 10);
	r->created_ns = fangs__pg_col_i64(res, i, 15);
	r->started_ns = fangs__pg_col_i64(res, i, 16);
	r->finished_ns = fangs__pg_col_i64(res, i, 17);
	r->event_count = fangs__pg_col_i64(res, i, 18);
	r->deviation_count = fangs__pg_col_i64(res, i, 19);
	r->max_severity = (fangs_severity)fangs__pg_col_i64(res, i, 20);
	return 0;
}

/* $1 id, [package, version,] then the mutable fields, created_ns and analysis_error. */
static void run_params(fangs__pg_params *p, const fangs_run *run, int keys)
{
	fangs__pg_str(p, run->id);
	if (keys) {
		fangs__pg_str(p, run->package);
		fangs__pg_str(p, run->version);
	}
	fangs__pg_i64(p, run->state);
	fangs__pg_i64(p, run->is_baseline ? 1 : 0);
	fangs__pg_i64(p, run->review);
	fangs__pg_i64(p, run->events_emitted);
	fangs__pg_i64(p, run->events_dropped);
	fangs__pg_i64(p, run->duration_ns);
	fangs__pg_str(p, run->runner);
	if (run->has_exit_code)
		fangs__pg_i64(p, run->exit_code);
	else
		fangs__pg_str(p, NULL);
	fangs__pg_str(p, run->error);
	fangs__pg_str(p, run->install_output);
	fangs__pg_str(p, run->sandbox);
	fangs__pg_str(p, run->network);
	fangs__pg_i64(p, run->started_ns);
	fangs__pg_i64(p, run->finished_ns);
	fangs__pg_i64(p, run->created_ns);
	fangs__pg_str(p, run->analysis_error);
}

int fangs__pg_run_create(fangs_storage_backend *bb, fangs_run *run)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__pg_release_ensure(b, run->package, run->version))) {
		run_params(&p, run, 1);
		rc = fangs__pg_run(b,
				   "INSERT INTO runs (id, package, version, state, is_baseline, review, events_emitted,"
				   " events_dropped, duration_ns, runner, exit_code, error, install_output, sandbox,"
				   " network, started_ns, finished_ns, created_ns, analysis_error)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
				   "$17, $18, $19)",
				   &p, "creating a run", NULL);
		if (rc == FANGS_EEXISTS)
			rc = fangs_error_set(FANGS_EEXISTS, "run '%s' already exists", run->id);
	}
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_run_update(fangs_storage_backend *bb, const fangs_run *run)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	PGresult *res;
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	run_params(&p, run, 0);
	/* the days before and after: a run that changes day takes its events along */
	res = fangs__pg_query(
		b,
		"UPDATE runs r SET state = $2, is_baseline = $3, review = $4, events_emitted = $5,"
		" events_dropped = $6, duration_ns = $7, runner = $8, exit_code = $9, error = $10,"
		" install_output = $11, sandbox = $12, network = $13, started_ns = $14, finished_ns = $15,"
		" created_ns = CASE WHEN $16::bigint = 0 THEN r.created_ns ELSE $16::bigint END,"
		" analysis_error = $17 FROM (SELECT id, created_ns FROM runs WHERE id = $1) old"
		" WHERE r.id = old.id RETURNING floor(old.created_ns / 86400000000000.0)::integer,"
		" floor(r.created_ns / 86400000000000.0)::integer",
		&p, "updating a run");
	if (!res)
		rc = fangs_error_last_code();
	else if (PQntuples(res) == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run->id);
	else if (strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0)
		rc = fangs__pg_events_move(b, run->id, (int)fangs__pg_col_i64(res, 0, 0),
					   (int)fangs__pg_col_i64(res, 0, 1));
	PQclear(res);
	return fangs__pg_write_end(b, outer, rc);
}

static int read_runs(PGresult *res, fangs_run_list *out)
{
	for (int i = 0; i < PQntuples(res); i++) {
		int rc;
		if (FANGS_GROW(out))
			return FANGS_ENOMEM;
		if ((rc = read_run(res, i, &out->items[out->count])))
			return rc;
		out->count++;
	}
	return 0;
}

int fangs__pg_run_get(fangs_storage_backend *bb, const char *id, fangs_run *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, id);
	res = fangs__pg_query(fangs__pg_of(bb), "SELECT " FANGS__PG_RUN_COLS " FROM runs r WHERE r.id = $1", &p,
			      "reading a run");
	if (!res)
		return fangs_error_last_code();
	rc = PQntuples(res) ? read_run(res, 0, out) : fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", id);
	PQclear(res);
	return rc;
}

int fangs__pg_run_list(fangs_storage_backend *bb, const fangs_run_filter *f, fangs_run_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, f->package);
	fangs__pg_str(&p, f->version);
	fangs__pg_i64(&p, f->state);
	fangs__pg_i64(&p, f->pending_only ? 1 : 0);
	fangs__pg_i64(&p, f->baseline_only ? 1 : 0);
	if (f->limit)
		fangs__pg_i64(&p, (int64_t)f->limit);
	else
		fangs__pg_str(&p, NULL); /* LIMIT NULL = no limit */
	fangs__pg_i64(&p, FANGS_REVIEW_PENDING);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " FANGS__PG_RUN_COLS " FROM runs r"
			      " WHERE ($1::text IS NULL OR r.package = $1)"
			      " AND ($2::text IS NULL OR r.version = $2)"
			      " AND ($3::int < 0 OR r.state = $3)"
			      " AND ($4::int = 0 OR r.review = $7)"
			      " AND ($5::int = 0 OR r.is_baseline = 1)"
			      " ORDER BY r.created_ns DESC, r.id DESC LIMIT $6::bigint",
			      &p, "listing runs");
	if (!res)
		return fangs_error_last_code();
	rc = read_runs(res, out);
	PQclear(res);
	return rc;
}

int fangs__pg_run_page(fangs_storage_backend *bb, const fangs_run_query *q, fangs_run_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, q->package);
	fangs__pg_i64(&p, q->state);
	fangs__pg_i64(&p, q->review);
	fangs__pg_i64(&p, q->min_severity);
	fangs__pg_i64(&p, q->since_ns);
	fangs__pg_i64(&p, q->until_ns);
	fangs__pg_str(&p, q->after_id);
	fangs__pg_i64(&p, q->after_created_ns);
	if (q->limit)
		fangs__pg_i64(&p, (int64_t)q->limit);
	else
		fangs__pg_str(&p, NULL);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " FANGS__STORAGE_RUN_COLS " FROM runs r"
			      " WHERE ($1::text IS NULL OR r.package = $1)"
			      " AND ($2::int < 0 OR r.state = $2)"
			      " AND ($3::int < 0 OR r.review = $3)"
			      " AND ($4::int < 0 OR EXISTS (SELECT 1 FROM deviations d WHERE d.run_id = r.id"
			      "  AND d.severity >= $4))"
			      " AND ($5::bigint = 0 OR r.created_ns >= $5)"
			      " AND ($6::bigint = 0 OR r.created_ns < $6)"
			      " AND ($7::text IS NULL OR r.created_ns < $8::bigint"
			      "  OR (r.created_ns = $8::bigint AND r.id < $7))"
			      " ORDER BY r.created_ns DESC, r.id DESC LIMIT $9::bigint",
			      &p, "listing runs");
	if (!res)
		return fangs_error_last_code();
	rc = read_runs(res, out);
	PQclear(res);
	return rc;
}
