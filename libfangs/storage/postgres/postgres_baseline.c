/*
 * storage/postgres/postgres_baseline.c - run fingerprints and package baselines in PostgreSQL.
 */
#include <string.h>

#include "storage/postgres/postgres_internal.h"

typedef struct put_ctx {
	fangs__pg *b;
	const char *run_id;
} put_ctx;

static int put_one(const fangs_fingerprint *fp, void *user)
{
	put_ctx *c = user;
	fangs__pg_params p = {0};
	fangs__pg_str(&p, c->run_id);
	fangs__pg_i64(&p, fp->kind);
	fangs__pg_i64(&p, fp->actor);
	fangs__pg_str(&p, fp->value);
	return fangs__pg_run(c->b, "INSERT INTO run_fingerprints (run_id, kind, actor, value) VALUES ($1, $2, $3, $4)",
			     &p, "storing fingerprints", NULL);
}

int fangs__pg_run_fingerprints_put(fangs_storage_backend *bb, const char *run_id, const fangs_fpset *fps)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	put_ctx c = {b, run_id};
	int outer, rc;

	fangs__pg_str(&p, run_id);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__pg_run_exists(b, run_id)) &&
	    !(rc = fangs__pg_run(b, "DELETE FROM run_fingerprints WHERE run_id = $1", &p, "storing fingerprints",
				 NULL)))
		rc = fangs_fpset_foreach(fps, put_one, &c);
	return fangs__pg_write_end(b, outer, rc);
}

static int read_set(fangs__pg *b, const char *sql, const char *key, fangs_fpset *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;
	fangs__pg_str(&p, key);
	if (!(res = fangs__pg_query(b, sql, &p, "reading fingerprints")))
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc >= 0; i++)
		rc = fangs_fpset_add(out, (fangs_fp_kind)fangs__pg_col_i64(res, i, 0),
				     (fangs_actor)fangs__pg_col_i64(res, i, 1), PQgetvalue(res, i, 2));
	PQclear(res);
	return rc < 0 ? rc : 0;
}

int fangs__pg_run_fingerprints_get(fangs_storage_backend *bb, const char *run_id, fangs_fpset *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	int rc;
	if ((rc = fangs__pg_run_exists(b, run_id)))
		return rc;
	return read_set(b, "SELECT kind, actor, value FROM run_fingerprints WHERE run_id = $1", run_id, out);
}

int fangs__pg_baseline_get(fangs_storage_backend *bb, const char *package, fangs_fpset *out)
{
	return read_set(fangs__pg_of(bb), "SELECT kind, actor, value FROM baseline_fingerprints WHERE package = $1",
			package, out);
}

static int check_run_of(fangs__pg *b, const char *package, const char *run_id)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, run_id);
	if (!(res = fangs__pg_query(b, "SELECT package FROM runs WHERE id = $1", &p, "reading a run")))
		return fangs_error_last_code();
	if (PQntuples(res) == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run_id);
	else if (strcmp(PQgetvalue(res, 0, 0), package) != 0)
		rc = fangs_error_set(FANGS_EINVAL, "run '%s' belongs to package '%s', not '%s'", run_id,
				     PQgetvalue(res, 0, 0), package);
	else
		rc = 0;
	PQclear(res);
	return rc;
}

static int copy_into_baseline(fangs__pg *b, const fangs__pg_params *p)
{
	return fangs__pg_run(b,
			     "INSERT INTO baseline_fingerprints (package, kind, actor, value, run_id)"
			     " SELECT $1, kind, actor, value, run_id FROM run_fingerprints WHERE run_id = $2"
			     " ON CONFLICT DO NOTHING",
			     p, "adding to the baseline", NULL);
}

int fangs__pg_baseline_add_run(fangs_storage_backend *bb, const char *package, const char *run_id)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0}, r = {0};
	int outer, rc;
	fangs__pg_str(&p, package);
	fangs__pg_str(&p, run_id);
	fangs__pg_str(&r, run_id);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = check_run_of(b, package, run_id)) && !(rc = copy_into_baseline(b, &p)))
		rc = fangs__pg_run(b, "UPDATE runs SET is_baseline = 1 WHERE id = $1", &r, "adding to the baseline",
				   NULL);
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_baseline_rebuild(fangs_storage_backend *bb, const char *package, const char *run_id)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0}, k = {0}, u = {0};
	int outer, rc;

	fangs__pg_str(&p, package);
	fangs__pg_str(&p, run_id);
	fangs__pg_str(&k, package);
	u = p;
	u.v[0] = package;
	u.v[1] = run_id;
	fangs__pg_i64(&u, FANGS_REVIEW_PROMOTED);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = check_run_of(b, package, run_id)) &&
	    !(rc = fangs__pg_run(b, "DELETE FROM baseline_fingerprints WHERE package = $1", &k,
				 "rebuilding the baseline", NULL)) &&
	    !(rc = copy_into_baseline(b, &p)) && !(rc = fangs__pg_deviations_delete(b, run_id)))
		rc = fangs__pg_run(b,
				   "UPDATE runs SET is_baseline = CASE WHEN id = $2 THEN 1 ELSE 0 END,"
				   " review = CASE WHEN id = $2 THEN $3::int ELSE review END WHERE package = $1",
				   &u, "promoting a run", NULL);
	return fangs__pg_write_end(b, outer, rc);
}
