/*
 * storage/sqlite/sqlite_baseline.c - run fingerprints and package baselines in SQLite.
 */
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

typedef struct put_ctx {
	fangs__sq *b;
	sqlite3_stmt *st;
} put_ctx;

static int put_one(const fangs_fingerprint *fp, void *user)
{
	put_ctx *c = user;
	sqlite3_bind_int(c->st, 2, (int)fp->kind);
	sqlite3_bind_int(c->st, 3, (int)fp->actor);
	sqlite3_bind_text(c->st, 4, fp->value, -1, SQLITE_STATIC);
	return fangs__sq_step_done(c->b, c->st, "storing fingerprints");
}

int fangs__sq_run_fingerprints_put(fangs_storage_backend *bb, const char *run_id, const fangs_fpset *fps)
{
	fangs__sq *b = fangs__sq_of(bb);
	put_ctx c = {b, NULL};
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if ((rc = fangs__sq_run_exists(b, run_id)) ||
	    (rc = fangs__sq_run(b, "DELETE FROM run_fingerprints WHERE run_id = ?1", run_id, NULL)))
		goto out;
	if (!(c.st = fangs__sq_stmt(b, "INSERT INTO run_fingerprints (run_id, kind, actor, value)"
				       " VALUES (?1, ?2, ?3, ?4)"))) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(c.st, 1, run_id, -1, SQLITE_STATIC);
	rc = fangs_fpset_foreach(fps, put_one, &c);
out:
	return fangs__sq_write_end(b, outer, rc);
}

/* Adds the (kind, actor, value) rows of a statement bound to ?1 = key. */
static int read_set(fangs__sq *b, const char *sql, const char *key, fangs_fpset *out)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, sql);
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 2);
		if (!v) {
			rc = fangs__error_oom();
			goto out;
		}
		rc = fangs_fpset_add(out, (fangs_fp_kind)sqlite3_column_int(st, 0),
				     (fangs_actor)sqlite3_column_int(st, 1), v);
		if (rc < 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "reading fingerprints");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_run_fingerprints_get(fangs_storage_backend *bb, const char *run_id, fangs_fpset *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	int rc;
	if ((rc = fangs__sq_run_exists(b, run_id)))
		return rc;
	return read_set(b, "SELECT kind, actor, value FROM run_fingerprints WHERE run_id = ?1", run_id, out);
}

int fangs__sq_baseline_get(fangs_storage_backend *bb, const char *package, fangs_fpset *out)
{
	return read_set(fangs__sq_of(bb), "SELECT kind, actor, value FROM baseline_fingerprints WHERE package = ?1",
			package, out);
}

/* The run must exist and belong to the package. */
static int check_run_of(fangs__sq *b, const char *package, const char *run_id)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT package FROM runs WHERE id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		rc = p && strcmp(p, package) == 0
			     ? 0
			     : fangs_error_set(FANGS_EINVAL, "run '%s' belongs to package '%s', not '%s'", run_id,
					       p ? p : "", package);
	} else if (rc == SQLITE_DONE) {
		rc = fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run_id);
	} else {
		rc = fangs__sq_fail(b, rc, "reading a run");
	}
	sqlite3_reset(st);
	return rc;
}

static int copy_into_baseline(fangs__sq *b, const char *package, const char *run_id)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, "INSERT INTO baseline_fingerprints (package, kind, actor, value, run_id)"
					     " SELECT ?1, kind, actor, value, run_id FROM run_fingerprints"
					     " WHERE run_id = ?2 ON CONFLICT DO NOTHING");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
	return fangs__sq_step_done(b, st, "adding to the baseline");
}

int fangs__sq_baseline_add_run(fangs_storage_backend *bb, const char *package, const char *run_id)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;
	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if (!(rc = check_run_of(b, package, run_id)) && !(rc = copy_into_baseline(b, package, run_id)))
		rc = fangs__sq_run(b, "UPDATE runs SET is_baseline = 1 WHERE id = ?1", run_id, NULL);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_baseline_rebuild(fangs_storage_backend *bb, const char *package, const char *run_id)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if ((rc = check_run_of(b, package, run_id)) ||
	    (rc = fangs__sq_run(b, "DELETE FROM baseline_fingerprints WHERE package = ?1", package, NULL)) ||
	    (rc = copy_into_baseline(b, package, run_id)) || (rc = fangs__sq_deviations_delete(b, run_id)))
		goto out;
	st = fangs__sq_stmt(b, "UPDATE runs SET is_baseline = (id = ?2),"
			       " review = CASE WHEN id = ?2 THEN ?3 ELSE review END WHERE package = ?1");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, FANGS_REVIEW_PROMOTED);
	rc = fangs__sq_step_done(b, st, "promoting a run");
out:
	return fangs__sq_write_end(b, outer, rc);
}
