/*
 * storage/sqlite/sqlite_queue.c - the job queue and runner registry in SQLite.
 *
 * A claim is one BEGIN IMMEDIATE transaction: the write lock is taken
 * before the oldest job is chosen, so two claimers (threads or processes)
 * cannot pick the same row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

static int read_job(sqlite3_stmt *st, fangs_job *j)
{
	const unsigned char *run = sqlite3_column_text(st, 1);
	const unsigned char *state = sqlite3_column_text(st, 5);
	int rc;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	if (run)
		snprintf(j->run_id, sizeof(j->run_id), "%s", (const char *)run);
	if ((rc = fangs__sq_col_str(st, 2, &j->package)) || (rc = fangs__sq_col_str(st, 3, &j->version)) ||
	    (rc = fangs__sq_col_str(st, 4, &j->target_runner)) || (rc = fangs__sq_col_str(st, 7, &j->runner)) ||
	    (rc = fangs__job_state_parse((const char *)state, &j->state))) {
		fangs_job_clear(j);
		return rc;
	}
	j->attempts = sqlite3_column_int(st, 6);
	j->created_ns = sqlite3_column_int64(st, 8);
	j->updated_ns = sqlite3_column_int64(st, 9);
	return 0;
}

/* Steps a statement whose rows are jobs into `out` (or the first into `one`). */
static int read_jobs(fangs__sq *b, sqlite3_stmt *st, fangs_job_list *out, fangs_job *one)
{
	int rc, step, found = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (one) {
			rc = read_job(st, one);
			sqlite3_reset(st);
			return rc ? rc : 1;
		}
		if (FANGS_GROW(out)) {
			sqlite3_reset(st);
			return FANGS_ENOMEM;
		}
		if ((rc = read_job(st, &out->items[out->count]))) {
			sqlite3_reset(st);
			return rc;
		}
		out->count++;
		found = 1;
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return fangs__sq_fail(b, step, "reading jobs");
	return found;
}

int fangs__sq_job_enqueue(fangs_storage_backend *bb, fangs_job *job)
{
	fangs__sq *b = fangs__sq_of(bb);
	fangs_run run;
	sqlite3_stmt *st;
	int outer, rc;

	fangs__job_run(job, &run);
	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if ((rc = fangs__sq_run_create(bb, &run)))
		goto out;
	st = fangs__sq_stmt(b, "INSERT INTO jobs (run_id, package, version, target_runner, state, attempts,"
			       " created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?5)");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, job->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, job->version, -1, SQLITE_STATIC);
	fangs__sq_bind_str(st, 4, job->target_runner);
	sqlite3_bind_int64(st, 5, job->created_ns);
	if ((rc = fangs__sq_step_done(b, st, "queueing a job")) == 0)
		job->id = sqlite3_last_insert_rowid(b->db);
out:
	return fangs__sq_write_end(b, outer, rc);
}

/* The write lock (BEGIN IMMEDIATE, or the caller's transaction, which is
 * one) is held from the check to the insert: no other connection writes in
 * between. */
int fangs__sq_job_enqueue_release(fangs_storage_backend *bb, fangs_job *job)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc, step;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if (!(st = fangs__sq_stmt(b, "SELECT 1 FROM runs WHERE package = ?1 AND version = ?2 LIMIT 1"))) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, job->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job->version, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step == SQLITE_ROW)
		rc = fangs_error_set(FANGS_EEXISTS, "%s@%s has a run already", job->package, job->version);
	else if (step != SQLITE_DONE)
		rc = fangs__sq_fail(b, step, "looking for a run of the release");
	else
		rc = fangs__sq_job_enqueue(bb, job);
out:
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_job_claim(fangs_storage_backend *bb, const char *runner, int64_t now_ns, fangs_job *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_JOB_COLS " FROM jobs j WHERE j.state = 'queued'"
			       " AND (j.target_runner IS NULL OR j.target_runner = ?1)"
			       " ORDER BY j.created_ns, j.id LIMIT 1");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, runner, -1, SQLITE_STATIC);
	rc = read_jobs(b, st, NULL, out);
	if (rc == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "no queued job for runner '%s'", runner);
	if (rc < 0)
		goto out;
	out->state = FANGS_JOB_RUNNING;
	out->attempts++;
	out->updated_ns = now_ns;
	free(out->runner);
	if (!(out->runner = fangs__strdup(runner))) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	st = fangs__sq_stmt(b, "UPDATE jobs SET state = 'running', attempts = attempts + 1, runner = ?2,"
			       " updated_ns = ?3 WHERE id = ?1");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_int64(st, 1, out->id);
	sqlite3_bind_text(st, 2, runner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ns);
	if ((rc = fangs__sq_step_done(b, st, "claiming a job")))
		goto out;
	st = fangs__sq_stmt(b, "UPDATE runs SET state = ?2, runner = ?3, started_ns = ?4, error = NULL WHERE id = ?1");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, out->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, FANGS_RUN_RUNNING);
	sqlite3_bind_text(st, 3, runner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ns);
	rc = fangs__sq_step_done(b, st, "starting the run of a job");
out:
	rc = fangs__sq_write_end(b, outer, rc);
	if (rc)
		fangs_job_clear(out);
	return rc;
}

int fangs__sq_job_get(fangs_storage_backend *bb, const char *run_id, fangs_job *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_JOB_COLS " FROM jobs j WHERE j.run_id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	rc = read_jobs(b, st, NULL, out);
	if (rc == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "run '%s' has no job", run_id);
	return rc < 0 ? rc : 0;
}

int fangs__sq_job_finish(fangs_storage_backend *bb, const char *run_id, fangs_job_state state, int64_t now_ns)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "UPDATE jobs SET state = ?2, updated_ns = ?3 WHERE run_id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fangs_job_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ns);
	if ((rc = fangs__sq_step_done(b, st, "finishing a job")))
		return rc;
	return sqlite3_changes64(b->db) ? 0 : fangs_error_set(FANGS_ENOTFOUND, "run '%s' has no job", run_id);
}

static int requeue_step(fangs__sq *b, const char *sql, const char *runner, int max_attempts, int64_t now_ns,
			int64_t *changes)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, sql);
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, runner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, max_attempts);
	sqlite3_bind_int64(st, 3, now_ns);
	sqlite3_bind_int(st, 4, FANGS_RUN_QUEUED);
	sqlite3_bind_int(st, 5, FANGS_RUN_FAILED);
	if ((rc = fangs__sq_step_done(b, st, "taking back the jobs of a runner")))
		return rc;
	if (changes)
		*changes = sqlite3_changes64(b->db);
	return 0;
}

/* The runs first (they are found through their jobs' state), then the jobs.
 * ?1 runner, ?2 max attempts, ?3 now, ?4 QUEUED, ?5 FAILED; a statement
 * ignores the bindings it has no parameter for. */
static const char *const requeue_sql[] = {
	/* a partial attempt's events would mix with the next attempt's */
	"DELETE FROM events WHERE run_id IN (SELECT run_id FROM jobs"
	" WHERE runner = ?1 AND state = 'running' AND attempts < ?2)",
	"DELETE FROM run_processes WHERE run_id IN (SELECT run_id FROM jobs"
	" WHERE runner = ?1 AND state = 'running' AND attempts < ?2)",
	/* the next attempt numbers its batches from 1 again */
	"DELETE FROM event_batches WHERE run_id IN (SELECT run_id FROM jobs"
	" WHERE runner = ?1 AND state = 'running' AND attempts < ?2)",
	"UPDATE runs SET state = ?4, runner = NULL, started_ns = 0, event_count = 0 WHERE id IN (SELECT run_id FROM "
	"jobs"
	" WHERE runner = ?1 AND state = 'running' AND attempts < ?2)",
	"UPDATE runs SET state = ?5, finished_ns = ?3, error = 'runner ' || ?1 || ' was lost while running it'"
	" WHERE id IN (SELECT run_id FROM jobs WHERE runner = ?1 AND state = 'running' AND attempts >= ?2)",
	"UPDATE jobs SET state = 'queued', updated_ns = ?3 WHERE runner = ?1 AND state = 'running'"
	" AND attempts < ?2",
	"UPDATE jobs SET state = 'failed', updated_ns = ?3 WHERE runner = ?1 AND state = 'running'"
	" AND attempts >= ?2",
};

int fangs__sq_job_requeue_runner(fangs_storage_backend *bb, const char *runner, int max_attempts, int64_t now_ns,
				 int64_t *requeued, int64_t *failed)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(requeue_sql) && rc == 0; i++)
		rc = requeue_step(b, requeue_sql[i], runner, max_attempts, now_ns,
				  i == 5   ? requeued
				  : i == 6 ? failed
					   : NULL);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_job_list(fangs_storage_backend *bb, int state, fangs_job_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_JOB_COLS " FROM jobs j"
					     " WHERE ?1 IS NULL OR j.state = ?1 ORDER BY j.created_ns, j.id");
	int rc;
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, state < 0 ? NULL : fangs_job_state_name((fangs_job_state)state));
	rc = read_jobs(b, st, out, NULL);
	return rc < 0 ? rc : 0;
}

int fangs__sq_job_counts(fangs_storage_backend *bb, int64_t counts[4])
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
	int step;
	if (!st)
		return fangs_error_last_code();
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_job_state s;
		if (fangs__job_state_parse((const char *)sqlite3_column_text(st, 0), &s) == 0)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : fangs__sq_fail(b, step, "counting jobs");
}

int fangs__sq_job_prune(fangs_storage_backend *bb, int64_t older_than_ns, int64_t *deleted)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated_ns < ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, older_than_ns);
	if ((rc = fangs__sq_step_done(b, st, "pruning jobs")))
		return rc;
	*deleted = sqlite3_changes64(b->db);
	return 0;
}

int fangs__sq_runner_register(fangs_storage_backend *bb, const fangs_runner *r, int64_t now_ns)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(
		b, "INSERT INTO runners (id, cn, hostname, registered_ns, last_heartbeat_ns,"
		   " max_scans, state) VALUES (?1, ?2, ?3, ?4, ?4, ?5, 'up')"
		   " ON CONFLICT (id) DO UPDATE SET cn = excluded.cn, hostname = excluded.hostname,"
		   " registered_ns = excluded.registered_ns, last_heartbeat_ns = excluded.last_heartbeat_ns,"
		   " max_scans = excluded.max_scans, state = 'up'");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	fangs__sq_bind_str(st, 2, r->cn);
	fangs__sq_bind_str(st, 3, r->hostname);
	sqlite3_bind_int64(st, 4, now_ns);
	sqlite3_bind_int(st, 5, r->max_scans);
	return fangs__sq_step_done(b, st, "registering a runner");
}

int fangs__sq_runner_heartbeat(fangs_storage_backend *bb, const char *id, int64_t now_ns)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st =
		fangs__sq_stmt(b, "UPDATE runners SET last_heartbeat_ns = ?2 WHERE id = ?1 AND state = 'up'");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ns);
	if ((rc = fangs__sq_step_done(b, st, "noting a heartbeat")))
		return rc;
	return sqlite3_changes64(b->db) ? 0 : fangs_error_set(FANGS_ENOTFOUND, "runner '%s' is not registered", id);
}

int fangs__sq_runner_list(fangs_storage_backend *bb, fangs_runner_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_RUNNER_COLS " FROM runners w ORDER BY w.id");
	int step, rc = 0;
	if (!st)
		return fangs_error_last_code();
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_runner *r;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			break;
		}
		r = &out->items[out->count];
		memset(r, 0, sizeof(*r));
		if ((rc = fangs__sq_col_str(st, 0, &r->id)) || (rc = fangs__sq_col_str(st, 1, &r->cn)) ||
		    (rc = fangs__sq_col_str(st, 2, &r->hostname)) || (rc = fangs__sq_col_str(st, 4, &r->state))) {
			fangs_runner_clear(r);
			break;
		}
		r->max_scans = sqlite3_column_int(st, 3);
		r->registered_ns = sqlite3_column_int64(st, 5);
		r->last_heartbeat_ns = sqlite3_column_int64(st, 6);
		r->running = sqlite3_column_int64(st, 7);
		out->count++;
	}
	sqlite3_reset(st);
	if (rc == 0 && step != SQLITE_DONE)
		rc = fangs__sq_fail(b, step, "listing runners");
	return rc;
}

int fangs__sq_runner_evict(fangs_storage_backend *bb, const char *id)
{
	int64_t n = 0;
	int rc = fangs__sq_run(fangs__sq_of(bb), "UPDATE runners SET state = 'evicted' WHERE id = ?1", id, &n);
	if (rc)
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "runner '%s' is not registered", id);
}
