/*
 * storage/sqlite/sqlite_deviations.c - deviations and their evidence in SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

static int put_one(fangs__sq *b, fangs_deviation *d, size_t index)
{
	sqlite3_stmt *st =
		fangs__sq_stmt(b, "INSERT INTO deviations (run_id, package, kind, severity, value, actor, description,"
				  " origin_package, origin_version, origin_script, origin_command, command, created_ns)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
	int rc;

	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, d->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)d->severity);
	fangs__sq_bind_str(st, 5, d->value);
	sqlite3_bind_int(st, 6, (int)d->actor);
	fangs__sq_bind_str(st, 7, d->description);
	fangs__sq_bind_str(st, 8, d->origin.package);
	fangs__sq_bind_str(st, 9, d->origin.version);
	fangs__sq_bind_str(st, 10, d->origin.script);
	fangs__sq_bind_str(st, 11, d->origin.command);
	fangs__sq_bind_str(st, 12, d->command);
	sqlite3_bind_int64(st, 13, d->created_ns);
	rc = fangs__sq_step_done(b, st, "storing a deviation");
	if (rc == FANGS_ENOTFOUND)
		return fangs_error_set(rc, "deviation %zu: run '%s' does not exist", index, d->run_id);
	if (rc)
		return rc;
	d->id = sqlite3_last_insert_rowid(b->db);

	st = fangs__sq_stmt(b, "INSERT INTO deviation_evidence (deviation_id, position, event_id)"
			       " VALUES (?1, ?2, ?3)");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, d->id);
	for (size_t i = 0; i < d->n_evidence; i++) {
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_int64(st, 3, d->evidence[i]);
		rc = fangs__sq_step_done(b, st, "storing evidence");
		if (rc == FANGS_ENOTFOUND)
			return fangs_error_set(rc, "deviation %zu: evidence event %lld does not exist", index,
					       (long long)d->evidence[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int fangs__sq_deviations_put(fangs_storage_backend *bb, fangs_deviation *devs, size_t n)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_one(b, &devs[i], i);
	return fangs__sq_write_end(b, outer, rc);
}

#define DEV_COLS \
	"id, run_id, package, kind, severity, value, actor, description, origin_package," \
	" origin_version, origin_script, origin_command, command, created_ns"

static int read_evidence(fangs__sq *b, fangs_deviation *d)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT event_id FROM deviation_evidence WHERE deviation_id = ?1"
					     " ORDER BY position");
	size_t cap = 0;
	int rc;

	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, d->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fangs__grow((void **)&d->evidence, &cap, d->n_evidence, sizeof(*d->evidence))) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		d->evidence[d->n_evidence++] = sqlite3_column_int64(st, 0);
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "reading evidence");
out:
	sqlite3_reset(st);
	return rc;
}

static int read_deviation(fangs__sq *b, sqlite3_stmt *st, fangs_deviation *d)
{
	int rc;
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	d->severity = (fangs_severity)sqlite3_column_int(st, 4);
	d->actor = (fangs_actor)sqlite3_column_int(st, 6);
	d->created_ns = sqlite3_column_int64(st, 13);
	if ((rc = fangs__sq_col_str(st, 1, &d->run_id)) || (rc = fangs__sq_col_str(st, 2, &d->package)) ||
	    (rc = fangs__sq_col_str(st, 3, &d->kind)) || (rc = fangs__sq_col_str(st, 5, &d->value)) ||
	    (rc = fangs__sq_col_str(st, 7, &d->description)) || (rc = fangs__sq_col_str(st, 8, &d->origin.package)) ||
	    (rc = fangs__sq_col_str(st, 9, &d->origin.version)) ||
	    (rc = fangs__sq_col_str(st, 10, &d->origin.script)) ||
	    (rc = fangs__sq_col_str(st, 11, &d->origin.command)) || (rc = fangs__sq_col_str(st, 12, &d->command)) ||
	    (rc = read_evidence(b, d))) {
		fangs_deviation_clear(d);
		return rc;
	}
	return 0;
}

int fangs__sq_deviations_list(fangs_storage_backend *bb, const fangs_deviation_filter *f, fangs_deviation_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " DEV_COLS " FROM deviations"
					     " WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR package = ?2)"
					     " AND severity >= ?3 ORDER BY id DESC LIMIT ?4");
	int rc;

	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, f->run_id);
	fangs__sq_bind_str(st, 2, f->package);
	sqlite3_bind_int(st, 3, (int)f->min_severity);
	sqlite3_bind_int64(st, 4, f->limit ? (int64_t)f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_deviation *d = fangs_deviation_list_push(out);
		if (!d) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		if ((rc = read_deviation(b, st, d))) {
			out->count--;
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing deviations");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_deviation_get(fangs_storage_backend *bb, int64_t id, fangs_deviation *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " DEV_COLS " FROM deviations WHERE id = ?1");
	int rc;

	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_deviation(b, st, out);
	else if (rc == SQLITE_DONE)
		rc = fangs_error_set(FANGS_ENOTFOUND, "deviation %lld does not exist", (long long)id);
	else
		rc = fangs__sq_fail(b, rc, "reading a deviation");
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_deviations_delete(fangs__sq *b, const char *run_id)
{
	int rc = fangs__sq_run(b,
			       "DELETE FROM deviation_evidence WHERE deviation_id IN"
			       " (SELECT id FROM deviations WHERE run_id = ?1)",
			       run_id, NULL);
	return rc ? rc : fangs__sq_run(b, "DELETE FROM deviations WHERE run_id = ?1", run_id, NULL);
}

int fangs__sq_deviations_clear(fangs_storage_backend *bb, const char *run_id)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;
	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__sq_run_exists(b, run_id)))
		rc = fangs__sq_deviations_delete(b, run_id);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_deviation_counts(fangs_storage_backend *bb, int64_t since_ns, int64_t *counts)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT severity, COUNT(*) FROM deviations WHERE created_ns >= ?1"
					     " GROUP BY severity");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int sev = sqlite3_column_int(st, 0);
		if (sev >= FANGS_SEV_INFO && sev <= FANGS_SEV_CRITICAL)
			counts[sev] += sqlite3_column_int64(st, 1);
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "counting deviations");
	sqlite3_reset(st);
	return rc;
}
