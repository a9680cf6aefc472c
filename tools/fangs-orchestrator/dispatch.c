/*
 * fangs-orchestrator/dispatch.c - who gets which job.
 *
 * Runners long-poll; a poll that finds nothing is parked (its connection
 * suspended, no thread held) and one dispatcher thread hands out jobs:
 * for a job just queued it picks the parked runner directly (the one it
 * is aimed at, or the least-loaded with room) and makes one claim; a
 * newly parked runner gets one claim attempt; when room may have changed
 * (a result, a runner registered or lost, and once a second for changes
 * made elsewhere, e.g. `fangs run fail`) the queue is listed once and each
 * parked runner with room that has a job waiting claims, least-loaded
 * first. The claim itself is a storage transaction, so a job is handed out
 * once whatever happens here.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator.h"
#include "log.h"

/* How often parked runners are looked at again without being told. */
#define RESCAN_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dispatch_notify(orch *o)
{
	pthread_mutex_lock(&o->q_lock);
	o->q_full = 1;
	pthread_cond_signal(&o->q_cond);
	pthread_mutex_unlock(&o->q_lock);
}

void dispatch_job_queued(orch *o, const char *target)
{
	job_hint *h = calloc(1, sizeof(*h));
	pthread_mutex_lock(&o->q_lock);
	if (!h) {
		o->q_full = 1;
	} else {
		h->open = target == NULL;
		if (target)
			snprintf(h->target, sizeof(h->target), "%s", target);
		*o->hints_tail = h;
		o->hints_tail = &h->next;
	}
	pthread_cond_signal(&o->q_cond);
	pthread_mutex_unlock(&o->q_lock);
}

int dispatch_park(orch *o, waiter *w, struct MHD_Connection *c, const char *runner, int64_t wait_ms)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", runner);
	w->conn = c;
	w->deadline_ms = mono_ms() + wait_ms;
	w->fresh = 1;
	pthread_mutex_lock(&o->q_lock);
	if (o->stopping || !o->q_thread_on) {
		pthread_mutex_unlock(&o->q_lock);
		return -1;
	}
	/* suspended before the dispatcher can see it, so its resume follows */
	MHD_suspend_connection(c);
	w->next = o->waiters;
	o->waiters = w;
	pthread_cond_signal(&o->q_cond);
	pthread_mutex_unlock(&o->q_lock);
	return 0;
}

/* A parked runner as this pass sees it. */
typedef struct slot {
	waiter *w;
	int64_t running;
	int max_scans;
	int up;
	int targeted; /* queued jobs aimed at it (full pass) */
} slot;

static int has_room(const slot *s)
{
	return s->up && !s->w->done && s->running < s->max_scans;
}

static int by_load(const void *a, const void *b)
{
	const slot *x = a, *y = b;
	return (x->running > y->running) - (x->running < y->running);
}

/* One claim for the slot's runner; 1 when it got a job. */
static int claim(orch *o, slot *s)
{
	int rc;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_job_claim(o->st, s->w->id, &s->w->job);
	pthread_mutex_unlock(&o->st_lock);
	if (rc == FANGS_ENOTFOUND)
		return 0;
	s->w->done = 1;
	if (rc) {
		log_warn("dispatch: claiming for runner %s: %s", s->w->id, fangs_error_last());
		s->w->rc = rc;
		return 0;
	}
	s->w->got_job = 1;
	s->running++;
	return 1;
}

/* The parked runner to take a job aimed at `target` (NULL: any). */
static slot *pick(slot *sl, size_t n, const char *target)
{
	slot *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!has_room(&sl[i]))
			continue;
		if (target) {
			if (!strcmp(sl[i].w->id, target))
				return &sl[i];
		} else if (!best || sl[i].running < best->running) {
			best = &sl[i];
		}
	}
	return best;
}

/* Every parked runner with room and a job waiting for it claims, the
 * least-loaded first; one storage listing of the queue. */
static void full_pass(orch *o, slot *sl, size_t n)
{
	fangs_job_list jl = {0};
	size_t open = 0, with_room = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		with_room += has_room(&sl[i]);
	if (!with_room)
		return;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_job_list(o->st, FANGS_JOB_QUEUED, &jl);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		log_warn("dispatch: listing the queue: %s", fangs_error_last());
		return;
	}
	for (size_t j = 0; j < jl.count; j++) {
		slot *s;
		if (!jl.items[j].target_runner)
			open++;
		else if ((s = pick(sl, n, jl.items[j].target_runner)))
			s->targeted++;
	}
	fangs_job_list_free(&jl);
	qsort(sl, n, sizeof(*sl), by_load);
	for (size_t i = 0; i < n; i++) {
		slot *s = &sl[i];
		if (!has_room(s) || (!s->targeted && !open))
			continue;
		if (claim(o, s)) {
			if (s->w->job.target_runner)
				s->targeted--;
			else
				open--;
		}
	}
}

/* One pass over the parked runners from `head` (the list as it was when
 * the pass began: only this thread unlinks, so it stays valid). */
static void pass(orch *o, waiter *head, job_hint *hints, int full)
{
	fangs_runner_list rl = {0};
	slot *sl = NULL;
	size_t n = 0, cap = 0;
	int rc;

	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_runner_list(o->st, &rl);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		log_warn("dispatch: listing runners: %s", fangs_error_last());
		return;
	}
	for (waiter *w = head; w; w = w->next)
		cap++;
	if (cap && !(sl = calloc(cap, sizeof(*sl)))) {
		fangs_runner_list_free(&rl);
		return;
	}
	for (waiter *w = head; w; w = w->next) {
		slot *s = &sl[n++];
		s->w = w;
		for (size_t i = 0; i < rl.count; i++)
			if (!strcmp(rl.items[i].id, w->id)) {
				s->running = rl.items[i].running;
				s->max_scans = rl.items[i].max_scans;
				s->up = rl.items[i].state && !strcmp(rl.items[i].state, "up");
				break;
			}
	}
	fangs_runner_list_free(&rl);

	/* each job just queued: one claim by the runner that should take it */
	for (job_hint *h = hints; h; h = h->next) {
		slot *s = pick(sl, n, h->open ? NULL : h->target);
		if (s)
			claim(o, s);
	}
	/* each runner just parked: one claim */
	for (size_t i = 0; i < n; i++)
		if (sl[i].w->fresh) {
			sl[i].w->fresh = 0;
			if (has_room(&sl[i]))
				claim(o, &sl[i]);
		}
	if (full)
		full_pass(o, sl, n);
	free(sl);
}

/* Unlinks the answered (or expired, or all when stopping) waiters into
 * `*done`; q_lock held. The next deadline, or -1. */
static int64_t take_done(orch *o, int64_t now, waiter **done)
{
	int64_t next = -1;
	*done = NULL;
	for (waiter **pp = &o->waiters; *pp;) {
		waiter *w = *pp;
		if (w->done || o->stopping || (!w->fresh && w->deadline_ms <= now)) {
			*pp = w->next;
			w->done = 1;
			w->next = *done;
			*done = w;
			continue;
		}
		if (next < 0 || w->deadline_ms < next)
			next = w->deadline_ms;
		pp = &w->next;
	}
	return next;
}

/* Resumes the connections of unlinked waiters (q_lock not held): from
 * then on each connection owns its waiter and may free it at once. */
static void resume_all(waiter *done)
{
	while (done) {
		waiter *next = done->next;
		MHD_resume_connection(done->conn);
		done = next;
	}
}

static void *dispatcher(void *arg)
{
	orch *o = arg;
	int64_t next_full = mono_ms() + RESCAN_MS;

	pthread_mutex_lock(&o->q_lock);
	for (;;) {
		int64_t now = mono_ms(), next;
		waiter *done;
		job_hint *hints;
		int full, fresh = 0;

		next = take_done(o, now, &done);
		if (done) {
			pthread_mutex_unlock(&o->q_lock);
			resume_all(done);
			pthread_mutex_lock(&o->q_lock);
			continue;
		}
		if (o->q_exit)
			break;
		if (!o->waiters) {
			/* nobody to hand a job to: a runner that parks claims itself */
			o->q_full = 0;
			while (o->hints) {
				job_hint *h = o->hints;
				o->hints = h->next;
				free(h);
			}
			o->hints_tail = &o->hints;
		} else if (now >= next_full) {
			o->q_full = 1;
		}
		for (waiter *w = o->waiters; w && !fresh; w = w->next)
			fresh = w->fresh;
		if (!o->hints && !o->q_full && !fresh) {
			struct timespec ts;
			int64_t until = o->waiters ? (next_full < next ? next_full : next) : now + RESCAN_MS;
			clock_gettime(CLOCK_REALTIME, &ts);
			until = until > now ? until - now : 0;
			ts.tv_sec += (time_t)(until / 1000);
			ts.tv_nsec += (long)(until % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&o->q_cond, &o->q_lock, &ts);
			continue;
		}
		hints = o->hints;
		o->hints = NULL;
		o->hints_tail = &o->hints;
		full = o->q_full;
		o->q_full = 0;
		if (full)
			next_full = now + RESCAN_MS;
		{
			waiter *head = o->waiters;
			pthread_mutex_unlock(&o->q_lock);
			pass(o, head, hints, full);
			while (hints) {
				job_hint *h = hints;
				hints = h->next;
				free(h);
			}
			pthread_mutex_lock(&o->q_lock);
		}
	}
	pthread_mutex_unlock(&o->q_lock);
	return NULL;
}

int dispatch_start(orch *o)
{
	o->hints_tail = &o->hints;
	if (pthread_create(&o->q_thread, NULL, dispatcher, o)) {
		log_error("cannot start the dispatcher thread");
		return -1;
	}
	o->q_thread_on = 1;
	return 0;
}

void dispatch_stop(orch *o)
{
	if (!o->q_thread_on)
		return;
	/* the thread answers every parked poll (stopping), then ends */
	pthread_mutex_lock(&o->q_lock);
	o->stopping = 1;
	o->q_exit = 1;
	pthread_cond_signal(&o->q_cond);
	pthread_mutex_unlock(&o->q_lock);
	pthread_join(o->q_thread, NULL);
	pthread_mutex_lock(&o->q_lock);
	o->q_thread_on = 0;
	while (o->hints) {
		job_hint *h = o->hints;
		o->hints = h->next;
		free(h);
	}
	o->hints_tail = &o->hints;
	pthread_mutex_unlock(&o->q_lock);
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
