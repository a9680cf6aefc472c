/*
 * storage/postgres/postgres_queue.c - the job queue and runner registry in
 * PostgreSQL.
 *
 * A claim locks the chosen row with FOR UPDATE SKIP LOCKED: several
 * orchestrators sharing the database hand out each job once and do not
 * wait on each other's claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

static int read_job(const PGresult *res, int i, fangs_job *j)
{
	int rc;
	memset(j, 0, sizeof(*j));
	j->id = fangs__pg_col_i64(res, i, 0);
	snprintf(j->run_id, sizeof(j->run_id), "%s", PQgetvalue(res, i, 1));
	if ((rc = fangs__pg_col_str(res, i, 2, &j->package)) || (rc = fangs__pg_col_str(res, i, 3, &j->version)) ||
	    (rc = fangs__pg_col_str(res, i, 4, &j->target_runner)) || (rc = fangs__pg_col_str(res, i, 7, &j->runner)) ||
	    (rc = fangs__job_state_parse(PQgetvalue(res, i, 5), &j->state))) {
		fangs_job_clear(j);
		return rc;
	}
	j->attempts = (int)fangs__pg_col_i64(res, i, 6);
	j->created_ns = fangs__pg_col_i64(res, i, 8);
	j->updated_ns = fangs__pg_col_i64(res, i, 9);
	return 0;
}

int fangs__pg_job_enqueue(fangs_storage_backend *bb, fangs_job *job)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	fangs_run run;
	PGresult *res;
	int outer, rc;

	fangs__job_run(job, &run);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if ((rc = fangs__pg_run_create(bb, &run)))
		return fangs__pg_write_end(b, outer, rc);
	fangs__pg_str(&p, job->run_id);
	fangs__pg_str(&p, job->package);
	fangs__pg_str(&p, job->version);
	fangs__pg_str(&p, job->target_runner);
	fangs__pg_i64(&p, job->created_ns);
	res = fangs__pg_query(b,
			      "INSERT INTO jobs (run_id, package, version, target_runner, state, attempts, created_ns,"
			      " updated_ns) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5) RETURNING id",
			      &p, "queueing a job");
	if (!res)
		rc = fangs_error_last_code();
	else {
		job->id = fangs__pg_col_i64(res, 0, 0);
		PQclear(res);
	}
	return fangs__pg_write_end(b, outer, rc);
}

/* The first key of a release's lock (pg_advisory_xact_lock(int, int)):
 * "fanh", beside the leader's "fang" (postgres_feed.c); the second is a
 * hash of package@version (two releases sharing one only wait on each
 * other). */
#define RELEASE_LOCK_KEY1 "1717661288"

/* Under READ COMMITTED two transactions could both find no run and both
 * insert one: a lock on the release, held to the end of the (caller's)
 * transaction, makes the second wait for the first to end, and its check,
 * a statement of its own, then sees the first one's run. */
int fangs__pg_job_enqueue_release(fangs_storage_backend *bb, fangs_job *job)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params lock = {0}, q = {0};
	uint64_t h = fangs__hash64(job->package, strlen(job->package), 0);
	PGresult *res;
	int outer, rc;

	h = fangs__hash64("@", 1, h);
	h = fangs__hash64(job->version, strlen(job->version), h);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	fangs__pg_i64(&lock, (int32_t)(uint32_t)h);
	rc = fangs__pg_run(b, "SELECT pg_advisory_xact_lock(" RELEASE_LOCK_KEY1 ", $1::int4)", &lock,
			   "locking the release", NULL);
	if (rc == 0) {
		fangs__pg_str(&q, job->package);
		fangs__pg_str(&q, job->version);
		res = fangs__pg_query(b, "SELECT 1 FROM runs WHERE package = $1 AND version = $2 LIMIT 1", &q,
				      "looking for a run of the release");
		if (!res)
			rc = fangs_error_last_code();
		else if (PQntuples(res) > 0)
			rc = fangs_error_set(FANGS_EEXISTS, "%s@%s has a run already", job->package, job->version);
		PQclear(res);
	}
	if (rc == 0)
		rc = fangs__pg_job_enqueue(bb, job);
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_job_claim(fangs_storage_backend *bb, const char *runner, int64_t now_ns, fangs_job *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	PGresult *res;
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	fangs__pg_str(&p, runner);
	fangs__pg_i64(&p, now_ns);
	res = fangs__pg_query(
		b,
		"UPDATE jobs j SET state = 'running', attempts = attempts + 1, runner = $1, updated_ns = $2"
		" WHERE j.id = (SELECT id FROM jobs WHERE state = 'queued'"
		" AND (target_runner IS NULL OR target_runner = $1)"
		" ORDER BY created_ns, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING " FANGS__STORAGE_JOB_COLS,
		&p, "claiming a job");
	if (!res) {
		rc = fangs_error_last_code();
	} else if (PQntuples(res) == 0) {
		rc = fangs_error_set(FANGS_ENOTFOUND, "no queued job for runner '%s'", runner);
	} else if (!(rc = read_job(res, 0, out))) {
		fangs__pg_params q = {0};
		fangs__pg_str(&q, out->run_id);
		fangs__pg_i64(&q, FANGS_RUN_RUNNING);
		fangs__pg_str(&q, runner);
		fangs__pg_i64(&q, now_ns);
		rc = fangs__pg_run(
			b, "UPDATE runs SET state = $2, runner = $3, started_ns = $4, error = NULL WHERE id = $1", &q,
			"starting the run of a job", NULL);
	}
	PQclear(res);
	rc = fangs__pg_write_end(b, outer, rc);
	if (rc)
		fangs_job_clear(out);
	return rc;
}

static int query_jobs(fangs__pg *b, const char *sql, const fangs__pg_params *p, fangs_job_list *out, fangs_job *one)
{
	PGresult *res = fangs__pg_query(b, sql, p, "reading jobs");
	int rc = 0, n;
	if (!res)
		return fangs_error_last_code();
	n = PQntuples(res);
	if (one) {
		rc = n ? read_job(res, 0, one) : 1;
		PQclear(res);
		return rc;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		if (FANGS_GROW(out))
			rc = FANGS_ENOMEM;
		else if (!(rc = read_job(res, i, &out->items[out->count])))
			out->count++;
	}
	PQclear(res);
	return rc;
}

int fangs__pg_job_get(fangs_storage_backend *bb, const char *run_id, fangs_job *out)
{
	fangs__pg_params p = {0};
	int rc;
	fangs__pg_str(&p, run_id);
	rc = query_jobs(fangs__pg_of(bb), "SELECT " FANGS__STORAGE_JOB_COLS " FROM jobs j WHERE j.run_id = $1", &p,
			NULL, out);
	if (rc == 1)
		return fangs_error_set(FANGS_ENOTFOUND, "run '%s' has no job", run_id);
	return rc;
}

int fangs__pg_job_finish(fangs_storage_backend *bb, const char *run_id, fangs_job_state state, int64_t now_ns)
{
	fangs__pg_params p = {0};
	int64_t n = 0;
	int rc;
	fangs__pg_str(&p, run_id);
	fangs__pg_str(&p, fangs_job_state_name(state));
	fangs__pg_i64(&p, now_ns);
	rc = fangs__pg_run(fangs__pg_of(bb), "UPDATE jobs SET state = $2, updated_ns = $3 WHERE run_id = $1", &p,
			   "finishing a job", &n);
	if (rc)
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "run '%s' has no job", run_id);
}

/* $1 runner, $2 max attempts, then `extra` values. */
static void requeue_params(fangs__pg_params *p, const char *runner, int max_attempts, const int64_t *extra, int n_extra)
{
	memset(p, 0, sizeof(*p));
	fangs__pg_str(p, runner);
	fangs__pg_i64(p, max_attempts);
	for (int i = 0; i < n_extra; i++)
		fangs__pg_i64(p, extra[i]);
}

/* Same steps and order as the sqlite backend's. */
int fangs__pg_job_requeue_runner(fangs_storage_backend *bb, const char *runner, int max_attempts, int64_t now_ns,
				 int64_t *requeued, int64_t *failed)
{
	static const char *const sql[] = {
		"DELETE FROM events WHERE run_id IN (SELECT run_id FROM jobs"
		" WHERE runner = $1 AND state = 'running' AND attempts < $2)",
		"DELETE FROM event_batches WHERE run_id IN (SELECT run_id FROM jobs"
		" WHERE runner = $1 AND state = 'running' AND attempts < $2)",
		"DELETE FROM run_processes WHERE run_id IN (SELECT run_id FROM jobs"
		" WHERE runner = $1 AND state = 'running' AND attempts < $2)",
		"UPDATE runs SET state = $3, runner = NULL, started_ns = 0, event_count = " FANGS__PG_RUN_ROWS(
			"runs") " WHERE id IN (SELECT run_id"
				" FROM jobs WHERE runner = $1 AND state = 'running' AND attempts < $2)",
		"UPDATE runs SET state = $4, finished_ns = $3,"
		" error = 'runner ' || $1 || ' was lost while running it' WHERE id IN (SELECT run_id"
		" FROM jobs WHERE runner = $1 AND state = 'running' AND attempts >= $2)",
		"UPDATE jobs SET state = 'queued', updated_ns = $3 WHERE runner = $1"
		" AND state = 'running' AND attempts < $2",
		"UPDATE jobs SET state = 'failed', updated_ns = $3 WHERE runner = $1"
		" AND state = 'running' AND attempts >= $2",
	};
	const int64_t queued[] = {FANGS_RUN_QUEUED}, lost[] = {now_ns, FANGS_RUN_FAILED}, now[] = {now_ns};
	const int64_t *extra[] = {NULL, NULL, NULL, queued, lost, now, now};
	const int n_extra[] = {0, 0, 0, 1, 2, 1, 1};
	int64_t *counts[] = {NULL, NULL, NULL, NULL, NULL, requeued, failed};
	_Static_assert(FANGS_ARRAY_SIZE(extra) == FANGS_ARRAY_SIZE(sql) &&
			       FANGS_ARRAY_SIZE(n_extra) == FANGS_ARRAY_SIZE(sql) &&
			       FANGS_ARRAY_SIZE(counts) == FANGS_ARRAY_SIZE(sql),
		       "one entry a statement");
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p;
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(sql) && rc == 0; i++) {
		requeue_params(&p, runner, max_attempts, extra[i], n_extra[i]);
		rc = fangs__pg_run(b, sql[i], &p, "taking back the jobs of a runner", counts[i]);
	}
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_job_list(fangs_storage_backend *bb, int state, fangs_job_list *out)
{
	fangs__pg_params p = {0};
	int rc;
	fangs__pg_str(&p, state < 0 ? NULL : fangs_job_state_name((fangs_job_state)state));
	rc = query_jobs(fangs__pg_of(bb),
			"SELECT " FANGS__STORAGE_JOB_COLS " FROM jobs j WHERE $1::text IS NULL OR j.state = $1"
			" ORDER BY j.created_ns, j.id",
			&p, out, NULL);
	return rc;
}

int fangs__pg_job_counts(fangs_storage_backend *bb, int64_t counts[4])
{
	PGresult *res = fangs__pg_query(fangs__pg_of(bb), "SELECT state, COUNT(*) FROM jobs GROUP BY state", NULL,
					"counting jobs");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res); i++) {
		fangs_job_state s;
		if (fangs__job_state_parse(PQgetvalue(res, i, 0), &s) == 0)
			counts[s] = fangs__pg_col_i64(res, i, 1);
	}
	PQclear(res);
	return 0;
}

int fangs__pg_job_prune(fangs_storage_backend *bb, int64_t older_than_ns, int64_t *deleted)
{
	fangs__pg_params p = {0};
	fangs__pg_i64(&p, older_than_ns);
	return fangs__pg_run(fangs__pg_of(bb), "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_ns < $1",
			     &p, "pruning jobs", deleted);
}

int fangs__pg_runner_register(fangs_storage_backend *bb, const fangs_runner *r, int64_t now_ns)
{
	fangs__pg_params p = {0};
	fangs__pg_str(&p, r->id);
	fangs__pg_str(&p, r->cn);
	fangs__pg_str(&p, r->hostname);
	fangs__pg_i64(&p, now_ns);
	fangs__pg_i64(&p, r->max_scans);
	return fangs__pg_run(
		fangs__pg_of(bb),
		"INSERT INTO runners (id, cn, hostname, registered_ns, last_heartbeat_ns, max_scans, state)"
		" VALUES ($1, $2, $3, $4, $4, $5, 'up') ON CONFLICT (id) DO UPDATE SET cn = excluded.cn,"
		" hostname = excluded.hostname, registered_ns = excluded.registered_ns,"
		" last_heartbeat_ns = excluded.last_heartbeat_ns, max_scans = excluded.max_scans, state = 'up'",
		&p, "registering a runner", NULL);
}

int fangs__pg_runner_heartbeat(fangs_storage_backend *bb, const char *id, int64_t now_ns)
{
	fangs__pg_params p = {0};
	int64_t n = 0;
	int rc;
	fangs__pg_str(&p, id);
	fangs__pg_i64(&p, now_ns);
	rc = fangs__pg_run(fangs__pg_of(bb), "UPDATE runners SET last_heartbeat_ns = $2 WHERE id = $1 AND state = 'up'",
			   &p, "noting a heartbeat", &n);
	if (rc)
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "runner '%s' is not registered", id);
}

int fangs__pg_runner_list(fangs_storage_backend *bb, fangs_runner_list *out)
{
	PGresult *res =
		fangs__pg_query(fangs__pg_of(bb), "SELECT " FANGS__STORAGE_RUNNER_COLS " FROM runners w ORDER BY w.id",
				NULL, "listing runners");
	int rc = 0;
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		fangs_runner *r;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			break;
		}
		r = &out->items[out->count];
		memset(r, 0, sizeof(*r));
		if ((rc = fangs__pg_col_str(res, i, 0, &r->id)) || (rc = fangs__pg_col_str(res, i, 1, &r->cn)) ||
		    (rc = fangs__pg_col_str(res, i, 2, &r->hostname)) ||
		    (rc = fangs__pg_col_str(res, i, 4, &r->state))) {
			fangs_runner_clear(r);
			break;
		}
		r->max_scans = (int)fangs__pg_col_i64(res, i, 3);
		r->registered_ns = fangs__pg_col_i64(res, i, 5);
		r->last_heartbeat_ns = fangs__pg_col_i64(res, i, 6);
		r->running = fangs__pg_col_i64(res, i, 7);
		out->count++;
	}
	PQclear(res);
	return rc;
}

int fangs__pg_runner_evict(fangs_storage_backend *bb, const char *id)
{
	fangs__pg_params p = {0};
	int64_t n = 0;
	int rc;
	fangs__pg_str(&p, id);
	rc = fangs__pg_run(fangs__pg_of(bb), "UPDATE runners SET state = 'evicted' WHERE id = $1", &p,
			   "evicting a runner", &n);
	if (rc)
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "runner '%s' is not registered", id);
}
