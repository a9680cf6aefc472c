/*
 * storage/queue.c - the job queue and runner registry: argument checks in
 * front of the backends, and the records they hand out.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "storage/internal.h"

static int nonempty(const char *s)
{
	return s && *s;
}

const char *fangs_job_state_name(fangs_job_state s)
{
	static const char *const names[] = {"queued", "running", "done", "failed"};
	_Static_assert(FANGS_ARRAY_SIZE(names) == FANGS_JOB_FAILED + 1, "a name per job state");
	return (unsigned)s < FANGS_ARRAY_SIZE(names) ? names[s] : "unknown";
}

int fangs__job_state_parse(const char *name, fangs_job_state *out)
{
	for (int i = FANGS_JOB_QUEUED; i <= FANGS_JOB_FAILED; i++)
		if (name && strcmp(name, fangs_job_state_name((fangs_job_state)i)) == 0) {
			*out = (fangs_job_state)i;
			return 0;
		}
	return fangs_error_set(FANGS_EPARSE, "unknown job state '%s'", name ? name : "(null)");
}

void fangs__job_run(const fangs_job *job, fangs_run *run)
{
	memset(run, 0, sizeof(*run));
	memcpy(run->id, job->run_id, sizeof(run->id));
	run->package = job->package;
	run->version = job->version;
	run->state = FANGS_RUN_QUEUED;
	run->created_ns = job->created_ns;
}

void fangs_job_clear(fangs_job *j)
{
	if (!j)
		return;
	free(j->package);
	free(j->version);
	free(j->target_runner);
	free(j->runner);
	memset(j, 0, sizeof(*j));
}

void fangs_job_list_free(fangs_job_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_job_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void fangs_runner_clear(fangs_runner *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->cn);
	free(r->hostname);
	free(r->state);
	memset(r, 0, sizeof(*r));
}

void fangs_runner_list_free(fangs_runner_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_runner_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

/* A new job's run id (made unless given), state and times. */
static int job_defaults(fangs_job *job)
{
	if (!job->run_id[0]) {
		int rc = fangs_storage_new_run_id(job->run_id, sizeof(job->run_id));
		if (rc)
			return rc;
	}
	job->state = FANGS_JOB_QUEUED;
	job->attempts = 0;
	if (!job->created_ns)
		job->created_ns = fangs__now_ns();
	job->updated_ns = job->created_ns;
	return 0;
}

int fangs_storage_job_enqueue(fangs_storage *st, fangs_job *job)
{
	NEED(job, "job_enqueue", "job is NULL");
	NEED(nonempty(job->package), "job_enqueue", "package is NULL or empty");
	NEED(nonempty(job->version), "job_enqueue", "version is NULL or empty");
	NEED_PACKAGE(job->package, "job_enqueue");
	NEED_VERSION(job->version, "job_enqueue");
	NEED(!job->target_runner || *job->target_runner, "job_enqueue", "target runner is empty (use NULL)");
	{
		int rc = job_defaults(job);
		if (rc)
			return rc;
	}
	CALL(st, job_enqueue, "job_enqueue", job);
}

int fangs_storage_job_enqueue_release(fangs_storage *st, fangs_job *job)
{
	int rc;
	NEED(st, "job_enqueue_release", "storage handle is NULL");
	NEED(job, "job_enqueue_release", "job is NULL");
	NEED(nonempty(job->package), "job_enqueue_release", "package is NULL or empty");
	NEED(nonempty(job->version), "job_enqueue_release", "version is NULL or empty");
	NEED_PACKAGE(job->package, "job_enqueue_release");
	NEED_VERSION(job->version, "job_enqueue_release");
	NEED(!job->target_runner || *job->target_runner, "job_enqueue_release", "target runner is empty (use NULL)");
	/* a member a backend of an older version does not have */
	if (fangs__storage_backend_of(st)->version < 4)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_job_enqueue_release: the %s backend does"
				       " not support it",
				       fangs__storage_backend_of(st)->name);
	if ((rc = job_defaults(job)))
		return rc;
	CALL(st, job_enqueue_release, "job_enqueue_release", job);
}

int fangs_storage_job_claim(fangs_storage *st, const char *runner, fangs_job *out)
{
	NEED(nonempty(runner), "job_claim", "runner is NULL or empty");
	NEED(out, "job_claim", "out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, job_claim, "job_claim", runner, fangs__now_ns(), out);
}

int fangs_storage_job_get(fangs_storage *st, const char *run_id, fangs_job *out)
{
	NEED(nonempty(run_id), "job_get", "run id is NULL or empty");
	NEED(out, "job_get", "out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, job_get, "job_get", run_id, out);
}

int fangs_storage_job_finish(fangs_storage *st, const char *run_id, fangs_job_state state)
{
	NEED(nonempty(run_id), "job_finish", "run id is NULL or empty");
	NEED(state == FANGS_JOB_DONE || state == FANGS_JOB_FAILED, "job_finish", "state must be done or failed");
	CALL(st, job_finish, "job_finish", run_id, state, fangs__now_ns());
}

int fangs_storage_job_requeue_runner(fangs_storage *st, const char *runner, int max_attempts, int64_t *requeued,
				     int64_t *failed)
{
	int64_t a, b;
	NEED(nonempty(runner), "job_requeue_runner", "runner is NULL or empty");
	NEED(max_attempts >= 1, "job_requeue_runner", "max_attempts must be at least 1");
	if (!requeued)
		requeued = &a;
	if (!failed)
		failed = &b;
	*requeued = *failed = 0;
	CALL(st, job_requeue_runner, "job_requeue_runner", runner, max_attempts, fangs__now_ns(), requeued, failed);
}

int fangs_storage_job_list(fangs_storage *st, int state, fangs_job_list *out)
{
	NEED(out, "job_list", "out is NULL");
	NEED(state >= -1 && state <= FANGS_JOB_FAILED, "job_list", "state is out of range");
	CALL(st, job_list, "job_list", state, out);
}

int fangs_storage_job_counts(fangs_storage *st, int64_t counts[4])
{
	NEED(counts, "job_counts", "counts is NULL");
	memset(counts, 0, 4 * sizeof(*counts));
	CALL(st, job_counts, "job_counts", counts);
}

int fangs_storage_job_prune(fangs_storage *st, int64_t older_than_ns, int64_t *deleted)
{
	int64_t dummy;
	NEED(older_than_ns >= 0, "job_prune", "cutoff is negative");
	if (!deleted)
		deleted = &dummy;
	*deleted = 0;
	CALL(st, job_prune, "job_prune", older_than_ns, deleted);
}

int fangs_storage_runner_register(fangs_storage *st, const fangs_runner *r)
{
	NEED(r, "runner_register", "runner is NULL");
	NEED(nonempty(r->id), "runner_register", "runner id is NULL or empty");
	NEED(r->max_scans >= 1, "runner_register", "max_scans must be at least 1");
	CALL(st, runner_register, "runner_register", r, fangs__now_ns());
}

int fangs_storage_runner_heartbeat(fangs_storage *st, const char *id, int64_t now_ns)
{
	NEED(nonempty(id), "runner_heartbeat", "runner id is NULL or empty");
	CALL(st, runner_heartbeat, "runner_heartbeat", id, now_ns ? now_ns : fangs__now_ns());
}

int fangs_storage_runner_list(fangs_storage *st, fangs_runner_list *out)
{
	NEED(out, "runner_list", "out is NULL");
	CALL(st, runner_list, "runner_list", out);
}

int fangs_storage_runner_evict(fangs_storage *st, const char *id)
{
	NEED(nonempty(id), "runner_evict", "runner id is NULL or empty");
	CALL(st, runner_evict, "runner_evict", id);
}
