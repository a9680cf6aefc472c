/*
 * fangs-orchestrator/dispatch.c - who gets which job.
 *
 * Runners long-poll; every change of the queue (a scan queued, a result,
 * a runner lost or registered) wakes them and each decides whether the
 * next job it may take is its own: a job aimed at it is; an open job goes
 * to the least-loaded waiting runner with room for it. The claim itself is
 * a storage transaction, so a job is handed out once whatever happens here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator.h"
#include "log.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dispatch_notify(orch *o)
{
	pthread_mutex_lock(&o->q_lock);
	o->q_generation++;
	pthread_cond_broadcast(&o->q_cond);
	pthread_mutex_unlock(&o->q_lock);
}

static const fangs_runner *find_runner(const fangs_runner_list *rl, const char *id)
{
	for (size_t i = 0; i < rl->count; i++)
		if (!strcmp(rl->items[i].id, id))
			return &rl->items[i];
	return NULL;
}

static int has_room(const fangs_runner *r)
{
	return r && r->state && !strcmp(r->state, "up") && r->running < r->max_scans;
}

/* 1 when `runner` should claim now, 0 when not (no job for it, no room, or
 * a less-loaded runner is waiting), <0 on a storage error. */
static int my_turn(orch *o, const char *runner, char (*waiting)[FANGS_WIRE_MAX_NAME + 1], size_t n_waiting)
{
	fangs_runner_list rl = {0};
	fangs_job_list jl = {0};
	const fangs_runner *me;
	const fangs_job *next = NULL;
	int rc, turn = 0;

	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_runner_list(o->st, &rl);
	if (rc == 0)
		rc = fangs_storage_job_list(o->st, FANGS_JOB_QUEUED, &jl);
	pthread_mutex_unlock(&o->st_lock);
	if (rc)
		goto out;
	me = find_runner(&rl, runner);
	if (!has_room(me))
		goto out;
	for (size_t i = 0; i < jl.count && !next; i++)
		if (!jl.items[i].target_runner || !strcmp(jl.items[i].target_runner, runner))
			next = &jl.items[i];
	if (!next)
		goto out;
	turn = 1;
	if (next->target_runner)
		goto out;
	for (size_t i = 0; i < n_waiting; i++) {
		const fangs_runner *w = find_runner(&rl, waiting[i]);
		if (w && w != me && has_room(w) && w->running < me->running) {
			turn = 0;
			break;
		}
	}
out:
	fangs_runner_list_free(&rl);
	fangs_job_list_free(&jl);
	return rc ? rc : turn;
}

/* The ids of the runners waiting right now (q_lock held). */
static size_t snapshot_waiters(orch *o, char (*out)[FANGS_WIRE_MAX_NAME + 1], size_t cap)
{
	size_t n = 0;
	for (waiter *w = o->waiters; w && n < cap; w = w->next)
		memcpy(out[n++], w->id, sizeof(w->id));
	return n;
}

int dispatch_wait_job(orch *o, const char *runner, int64_t wait_ms, fangs_job *out)
{
	enum { MAX_SEEN = 256 };
	static __thread char seen[MAX_SEEN][FANGS_WIRE_MAX_NAME + 1];
	int64_t deadline = mono_ms() + wait_ms;
	waiter me = {0}, **pp;
	int result = 0;

	snprintf(me.id, sizeof(me.id), "%s", runner);
	pthread_mutex_lock(&o->q_lock);
	me.next = o->waiters;
	o->waiters = &me;
	pthread_mutex_unlock(&o->q_lock);

	for (;;) {
		uint64_t gen;
		size_t n;
		int turn, rc;

		pthread_mutex_lock(&o->q_lock);
		gen = o->q_generation;
		n = snapshot_waiters(o, seen, MAX_SEEN);
		pthread_mutex_unlock(&o->q_lock);
		if (o->stopping)
			break;
		turn = my_turn(o, runner, seen, n);
		if (turn < 0) {
			result = turn;
			break;
		}
		if (turn) {
			pthread_mutex_lock(&o->st_lock);
			rc = fangs_storage_job_claim(o->st, runner, out);
			pthread_mutex_unlock(&o->st_lock);
			if (rc == 0) {
				result = 1;
				dispatch_notify(o); /* the others look again */
				break;
			}
			if (rc != FANGS_ENOTFOUND) {
				result = rc;
				break;
			}
		}
		pthread_mutex_lock(&o->q_lock);
		while (o->q_generation == gen && !o->stopping && mono_ms() < deadline) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			/* wake at least every 500 ms: a runner elsewhere may have freed room */
			ts.tv_nsec += 500 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&o->q_cond, &o->q_lock, &ts))
				break;
		}
		pthread_mutex_unlock(&o->q_lock);
		if (mono_ms() >= deadline)
			break;
	}

	pthread_mutex_lock(&o->q_lock);
	for (pp = &o->waiters; *pp; pp = &(*pp)->next)
		if (*pp == &me) {
			*pp = me.next;
			break;
		}
	pthread_mutex_unlock(&o->q_lock);
	return result;
}

void seen_note(orch *o, const char *id)
{
	seen_entry *s;
	if (!id || !fangs_wire_valid_id(id))
		return;
	pthread_mutex_lock(&o->seen_lock);
	for (s = o->seen; s; s = s->next)
		if (!strcmp(s->id, id))
			break;
	if (!s && (s = calloc(1, sizeof(*s)))) {
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->next = o->seen;
		o->seen = s;
	}
	if (s)
		s->ns = now_wall_ns();
	pthread_mutex_unlock(&o->seen_lock);
}

static int64_t seen_get(orch *o, const char *id)
{
	int64_t ns = 0;
	pthread_mutex_lock(&o->seen_lock);
	for (seen_entry *s = o->seen; s; s = s->next)
		if (!strcmp(s->id, id)) {
			ns = s->ns;
			break;
		}
	pthread_mutex_unlock(&o->seen_lock);
	return ns;
}

void seen_free(orch *o)
{
	pthread_mutex_lock(&o->seen_lock);
	while (o->seen) {
		seen_entry *s = o->seen;
		o->seen = s->next;
		free(s);
	}
	pthread_mutex_unlock(&o->seen_lock);
}

void dispatch_evict_stale(orch *o)
{
	fangs_runner_list rl = {0};
	int64_t now = now_wall_ns(), cutoff = now - o->heartbeat_timeout_ms * 1000000LL;
	int changed = 0;

	pthread_mutex_lock(&o->st_lock);
	if (fangs_storage_runner_list(o->st, &rl)) {
		log_warn("listing runners: %s", fangs_error_last());
		pthread_mutex_unlock(&o->st_lock);
		return;
	}
	for (size_t i = 0; i < rl.count; i++) {
		const fangs_runner *r = &rl.items[i];
		/* runners get a full period after our own start to show up again;
		 * any request of a runner (events, results, polls) is a heartbeat,
		 * counted when it arrived even if it still waits for storage */
		int64_t seen = r->last_heartbeat_ns > o->started_ns ? r->last_heartbeat_ns : o->started_ns;
		int64_t heard = seen_get(o, r->id);
		int64_t requeued = 0, failed = 0;
		if (heard > seen)
			seen = heard;
		if (!r->state || strcmp(r->state, "up") != 0 || seen >= cutoff)
			continue;
		if (fangs_storage_runner_evict(o->st, r->id) ||
		    fangs_storage_job_requeue_runner(o->st, r->id, o->max_attempts, &requeued, &failed)) {
			log_warn("evicting runner %s: %s", r->id, fangs_error_last());
			continue;
		}
		log_warn("runner %s missed its heartbeats for %lld ms: evicted; %lld job(s) queued again, %lld failed",
			 r->id, (long long)((now - seen) / 1000000), (long long)requeued, (long long)failed);
		metrics_add(o, &o->m.runners_evicted, 1);
		metrics_add(o, &o->m.jobs_requeued, (uint64_t)requeued);
		metrics_add(o, &o->m.jobs_failed_lost, (uint64_t)failed);
		changed = 1;
	}
	pthread_mutex_unlock(&o->st_lock);
	fangs_runner_list_free(&rl);
	if (changed)
		dispatch_notify(o);
}
