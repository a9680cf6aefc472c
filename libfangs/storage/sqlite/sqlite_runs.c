/*
 * storage/sqlite/sqlite_runs.c - runs in SQLite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

static int read_run(sqlite3_stmt *st, fangs_run *r)
{
	const unsigned char *id = sqlite3_column_text(st, 0);
	int rc;

	memset(r, 0, sizeof(*r));
	if (id)
		snprintf(r->id, sizeof(r->id), "%s", (const char *)id);
	if ((rc = fangs__sq_col_str(st, 1, &r->package)) || (rc = fangs__sq_col_str(st, 2, &r->version)) ||
	    (rc = fangs__sq_col_str(st, 9, &r->runner)) || (rc = fangs__sq_col_str(st, 11, &r->error)) ||
	    (rc = fangs__sq_col_str(st, 12, &r->install_output)) || (rc = fangs__sq_col_str(st, 13, &r->sandbox)) ||
	    (rc = fangs__sq_col_str(st, 14, &r->network)) || (rc = fangs__sq_col_str(st, 21, &r->analysis_error))) {
		fangs_run_clear(r);
		return rc;
	}
	r->state = (fangs_run_state)sqlite3_column_int(st, 3);
	r->is_baseline = sqlite3_column_int(st, 4);
	r->review = (fangs_review)sqlite3_column_int(st, 5);
	r->events_emitted = sqlite3_column_int64(st, 6);
	r->events_dropped = sqlite3_column_int64(st, 7);
	r->duration_ns = sqlite3_column_int64(st, 8);
	r->has_exit_code = sqlite3_column_type(st, 10) != SQLITE_NULL;
	r->exit_code = r->has_exit_code ? sqlite3_column_int(st, 10) : 0;
	r->created_ns = sqlite3_column_int64(st, 15);
	r->started_ns = sqlite3_column_int64(st, 16);
	r->finished_ns = sqlite3_column_int64(st, 17);
	r->event_count = sqlite3_column_int64(st, 18);
	r->deviation_count = sqlite3_column_int64(st, 19);
	r->max_severity = (fangs_severity)sqlite3_column_int(st, 20);
	return 0;
}

/* Binds the mutable fields to ?3..?17 and ?19 in the order of both statements below. */
static void bind_mutable(sqlite3_stmt *st, const fangs_run *run)
{
	sqlite3_bind_int(st, 3, (int)run->state);
	sqlite3_bind_int(st, 4, run->is_baseline ? 1 : 0);
	sqlite3_bind_int(st, 5, (int)run->review);
	sqlite3_bind_int64(st, 6, run->events_emitted);
	sqlite3_bind_int64(st, 7, run->events_dropped);
	sqlite3_bind_int64(st, 8, run->duration_ns);
	fangs__sq_bind_str(st, 9, run->runner);
	if (run->has_exit_code)
		sqlite3_bind_int(st, 10, run->exit_code);
	else
		sqlite3_bind_null(st, 10);
	fangs__sq_bind_str(st, 11, run->error);
	fangs__sq_bind_str(st, 12, run->install_output);
	fangs__sq_bind_str(st, 13, run->sandbox);
	fangs__sq_bind_str(st, 14, run->network);
	sqlite3_bind_int64(st, 15, run->started_ns);
	sqlite3_bind_int64(st, 16, run->finished_ns);
	sqlite3_bind_int64(st, 17, run->created_ns);
	fangs__sq_bind_str(st, 19, run->analysis_error);
}

int fangs__sq_run_create(fangs_storage_backend *bb, fangs_run *run)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if ((rc = fangs__sq_release_ensure(b, run->package, run->version)))
		goto out;
	st = fangs__sq_stmt(
		b, "INSERT INTO runs (id, package, version, state, is_baseline, review,"
		   " events_emitted, events_dropped, duration_ns, runner, exit_code, error,"
		   " install_output, sandbox, network, started_ns, finished_ns, created_ns, analysis_error)"
		   " VALUES (?1, ?2, ?18, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?19)");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, run->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 18, run->version, -1, SQLITE_STATIC);
	bind_mutable(st, run);
	rc = fangs__sq_step_done(b, st, "creating a run");
	if (rc == FANGS_EEXISTS)
		rc = fangs_error_set(FANGS_EEXISTS, "run '%s' already exists", run->id);
out:
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_run_update(fangs_storage_backend *bb, const fangs_run *run)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(
		b, "UPDATE runs SET state = ?3, is_baseline = ?4, review = ?5, events_emitted = ?6,"
		   " events_dropped = ?7, duration_ns = ?8, runner = ?9, exit_code = ?10, error = ?11,"
		   " install_output = ?12, sandbox = ?13, network = ?14, started_ns = ?15, finished_ns = ?16,"
		   " created_ns = CASE WHEN ?17 = 0 THEN created_ns ELSE ?17 END, analysis_error = ?19"
		   " WHERE id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	bind_mutable(st, run);
	if ((rc = fangs__sq_step_done(b, st, "updating a run")))
		return rc;
	if (sqlite3_changes64(b->db) == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run->id);
	return 0;
}

int fangs__sq_run_get(fangs_storage_backend *bb, const char *id, fangs_run *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_RUN_COLS " FROM runs r WHERE r.id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_run(st, out);
	else if (rc == SQLITE_DONE)
		rc = fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", id);
	else
		rc = fangs__sq_fail(b, rc, "reading a run");
	sqlite3_reset(st);
	return rc;
}

/* Steps a prepared run listing into out and resets the statement. */
static int read_runs(fangs__sq *b, sqlite3_stmt *st, fangs_run_list *out)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		if ((rc = read_run(st, &out->items[out->count])))
			goto out;
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing runs");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_run_list(fangs_storage_backend *bb, const fangs_run_filter *f, fangs_run_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_RUN_COLS " FROM runs r"
					     " WHERE (?1 IS NULL OR r.package = ?1)"
					     " AND (?2 IS NULL OR r.version = ?2)"
					     " AND (?3 < 0 OR r.state = ?3)"
					     " AND (?4 = 0 OR r.review = ?7)"
					     " AND (?5 = 0 OR r.is_baseline = 1)"
					     " ORDER BY r.created_ns DESC, r.id DESC LIMIT ?6");
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, f->package);
	fangs__sq_bind_str(st, 2, f->version);
	sqlite3_bind_int(st, 3, f->state);
	sqlite3_bind_int(st, 4, f->pending_only ? 1 : 0);
	sqlite3_bind_int(st, 5, f->baseline_only ? 1 : 0);
	sqlite3_bind_int64(st, 6, f->limit ? (int64_t)f->limit : -1);
	sqlite3_bind_int(st, 7, FANGS_REVIEW_PENDING);
	return read_runs(b, st, out);
}

int fangs__sq_run_page(fangs_storage_backend *bb, const fangs_run_query *q, fangs_run_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(
		b, "SELECT " FANGS__STORAGE_RUN_COLS " FROM runs r"
		   " WHERE (?1 IS NULL OR r.package = ?1)"
		   " AND (?2 < 0 OR r.state = ?2)"
		   " AND (?3 < 0 OR r.review = ?3)"
		   " AND (?4 < 0 OR EXISTS (SELECT 1 FROM deviations d WHERE d.run_id = r.id AND d.severity >= ?4))"
		   " AND (?5 = 0 OR r.created_ns >= ?5)"
		   " AND (?6 = 0 OR r.created_ns < ?6)"
		   " AND (?7 IS NULL OR r.created_ns < ?8 OR (r.created_ns = ?8 AND r.id < ?7))"
		   " ORDER BY r.created_ns DESC, r.id DESC LIMIT ?9");
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, q->package);
	sqlite3_bind_int(st, 2, q->state);
	sqlite3_bind_int(st, 3, q->review);
	sqlite3_bind_int(st, 4, q->min_severity);
	sqlite3_bind_int64(st, 5, q->since_ns);
	sqlite3_bind_int64(st, 6, q->until_ns);
	fangs__sq_bind_str(st, 7, q->after_id);
	sqlite3_bind_int64(st, 8, q->after_created_ns);
	sqlite3_bind_int64(st, 9, q->limit ? (int64_t)q->limit : -1);
	return read_runs(b, st, out);
}
