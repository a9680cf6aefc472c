/*
 * fangs-orchestrator/api.c - the endpoints of docs/api.md.
 *
 * Every handler validates all it is given before it changes anything; a
 * refusal is a 4xx with {"error": "..."}. Storage calls hold o->st_lock.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "orchestrator.h"
#include "webapi.h"

/* Largest batch, in events, taken in one request. */
#define MAX_BATCH_EVENTS 100000

static void reply(response *rs, unsigned status, char *json)
{
	rs->status = status;
	rs->body = json;
	rs->len = json ? strlen(json) : 0;
	rs->content_type = "application/json";
}

static void fail(response *rs, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(response *rs, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	char *json = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fangs_wire_error_encode(msg, &json);
	reply(rs, status, json);
}

static void reply_obj(response *rs, unsigned status, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	/* json-c copies a string's bytes as they are: every answer is valid UTF-8 */
	reply(rs, status, s ? fangs_utf8_clean(s, strlen(s), NULL) : NULL);
	json_object_put(obj);
}

/* A storage failure that is not the client's doing: 503 while the
 * database cannot be reached (the client tries again later). */
static void fail_storage(response *rs, int rc)
{
	if (rc == FANGS_ENOTFOUND)
		fail(rs, 404, "%s", fangs_error_last());
	else if (rc == FANGS_ENETWORK)
		fail(rs, 503, "storage unavailable: %s", fangs_error_last());
	else
		fail(rs, 500, "storage: %s", fangs_error_last());
}

/* Forgets the answer of an attempt that is made again. */
static void response_reset(response *rs)
{
	enum route r = rs->route;
	free(rs->body);
	memset(rs, 0, sizeof(*rs));
	rs->route = r;
}

/* How often a transaction lost with its database connection is run again
 * (the storage reconnects first; see fangs_storage_ping). */
#define STORAGE_TRIES 3

/* Splits "/v1/a/b/c?x" into at most `max` segments (copied into buf). */
static int split_path(const char *url, char *buf, size_t cap, char **seg, int max)
{
	size_t n = strcspn(url, "?");
	int count = 0;
	char *p, *save = NULL;
	if (n >= cap)
		return -1;
	memcpy(buf, url, n);
	buf[n] = '\0';
	for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (count == max)
			return -1;
		seg[count++] = p;
	}
	return count;
}

/* A query parameter's value, or NULL. */
static const char *query(const request *rq, const char *name)
{
	return rq->arg ? rq->arg(rq, name) : NULL;
}

/* A query parameter as a number, or `def`. */
static int64_t query_int(const request *rq, const char *name, int64_t def)
{
	const char *v = query(rq, name);
	char *end;
	long long n;
	if (!v || !*v)
		return def;
	n = strtoll(v, &end, 10);
	return *end == '\0' ? n : def;
}

/* A query parameter that must be a positive integer when given: 0 when
 * absent, 1 with *out set, -1 when malformed. */
static int query_positive(const request *rq, const char *name, int64_t *out)
{
	const char *v = query(rq, name);
	char *end;
	long long n;
	if (!v)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 1 || n == LLONG_MAX)
		return -1;
	*out = n;
	return 1;
}

/* Who is calling as a runner: the runner its credential is bound to (the
 * certificate's name, the token's runner); only with --insecure-no-auth the
 * Fangs-Runner header. */
static const char *caller(const request *rq)
{
	return rq->who->role == ROLE_ALL ? rq->runner_hdr : rq->who->runner;
}

/* A runner acts only as itself (auth.c checked the role). */
static int may_act_as(const request *rq, response *rs, const char *id)
{
	if (rq->who->role != ROLE_ALL && strcmp(rq->who->runner, id) != 0) {
		fail(rs, 403, "%s '%s' may not act as runner '%s'", rq->who->via, rq->who->name, id);
		return 0;
	}
	return 1;
}

/* ok only when storage answers: a load balancer or a supervisor sees a
 * database that went away (503) and sees it come back. */
static void do_health(orch *o, response *rs)
{
	json_object *obj = json_object_new_object();
	struct timespec ts;
	char err[1024] = "";
	int rc = 0, locked;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	/* a long transaction holds the lock: then storage is busy, not down */
	locked = pthread_mutex_timedlock(&o->st_lock, &ts) == 0;
	if (locked) {
		if ((rc = fangs_storage_ping(o->st)))
			snprintf(err, sizeof(err), "%s", fangs_error_last());
		pthread_mutex_unlock(&o->st_lock);
	}
	json_object_object_add(obj, "status",
			       json_object_new_string(o->stopping ? "stopping"
						      : rc        ? "unavailable"
								  : "ok"));
	json_object_object_add(obj, "storage", json_object_new_string(fangs_storage_backend_name(o->st)));
	json_object_object_add(obj, "storage_status",
			       json_object_new_string(!locked ? "busy"
						      : rc    ? "unavailable"
							      : "ok"));
	if (rc)
		json_object_object_add(obj, "storage_error", json_object_new_string(err));
	/* several orchestrators on one database: which one runs the watcher,
	 * the follower, eviction and retention */
	json_object_object_add(obj, "leader", json_object_new_boolean(is_leader(o)));
	if (is_leader(o))
		json_object_object_add(obj, "leader_since_ns", json_object_new_int64(o->leader_since_ns));
	json_object_object_add(obj, "following", json_object_new_boolean(o->follow_on && is_leader(o)));
	json_object_object_add(obj, "mtls", json_object_new_boolean(o->mtls));
	json_object_object_add(obj, "tokens", json_object_new_boolean(o->tokens_path != NULL));
	json_object_object_add(obj, "auth", json_object_new_boolean(!o->no_auth));
	reply_obj(rs, rc ? 503 : 200, obj);
}

static void do_register(orch *o, const request *rq, response *rs)
{
	fangs_wire_register reg;
	fangs_runner r = {0};
	json_object *obj;
	char cn[300];
	int rc;

	if (fangs_wire_register_decode(&reg, rq->body, rq->len)) {
		fail(rs, 400, "%s", fangs_error_last());
		return;
	}
	if (!may_act_as(rq, rs, reg.runner_id)) {
		fangs_wire_register_clear(&reg);
		return;
	}
	r.id = reg.runner_id;
	/* the credential it registered with: a certificate's name, or token:NAME */
	snprintf(cn, sizeof(cn), "%s%s", strcmp(rq->who->via, "token") ? "" : "token:", rq->who->name);
	r.cn = rq->who->role == ROLE_ALL ? NULL : cn;
	r.hostname = reg.hostname;
	r.max_scans = reg.max_scans;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_runner_register(o->st, &r);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		fail_storage(rs, rc);
		fangs_wire_register_clear(&reg);
		return;
	}
	log_info("runner %s registered (%d scans at once%s%s)", reg.runner_id, reg.max_scans,
		 reg.hostname ? ", host " : "", reg.hostname ? reg.hostname : "");
	obj = json_object_new_object();
	json_object_object_add(obj, "runner_id", json_object_new_string(reg.runner_id));
	json_object_object_add(obj, "heartbeat_interval_ms", json_object_new_int64(o->heartbeat_timeout_ms / 3));
	json_object_object_add(obj, "poll_max_ms", json_object_new_int64(o->poll_max_ms));
	reply_obj(rs, 200, obj);
	fangs_wire_register_clear(&reg);
	dispatch_notify(o);
}

static void do_heartbeat(orch *o, const request *rq, response *rs, const char *id)
{
	int rc;
	if (!may_act_as(rq, rs, id))
		return;
	seen_note(o, id);
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_runner_heartbeat(o->st, id, 0);
	pthread_mutex_unlock(&o->st_lock);
	if (rc == FANGS_ENOTFOUND)
		fail(rs, 404, "runner '%s' is not registered (register again)", id);
	else if (rc)
		fail_storage(rs, rc);
	else
		reply(rs, 200, strdup("{}"));
}

static void do_jobs(orch *o, const request *rq, response *rs, const char *id)
{
	int64_t wait_ms = query_int(rq, "wait_ms", o->poll_max_ms);
	int rc;

	if (!may_act_as(rq, rs, id))
		return;
	if (wait_ms < 0 || wait_ms > o->poll_max_ms)
		wait_ms = o->poll_max_ms;
	seen_note(o, id);
	/* a poll is a sign of life too; an unknown or evicted runner must register */
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_runner_heartbeat(o->st, id, 0);
	pthread_mutex_unlock(&o->st_lock);
	if (rc == FANGS_ENOTFOUND) {
		fail(rs, 404, "runner '%s' is not registered (register again)", id);
		return;
	}
	if (rc) {
		fail_storage(rs, rc);
		return;
	}
	/* the dispatcher answers: the connection waits without a thread */
	rs->park = 1;
	rs->park_ms = wait_ms;
	snprintf(rs->park_runner, sizeof(rs->park_runner), "%s", id);
}

void api_jobs_answer(orch *o, waiter *w, response *rs)
{
	fangs_wire_scan scan = {0};
	char *json = NULL;

	(void)o;
	memset(rs, 0, sizeof(*rs));
	rs->route = ROUTE_JOBS;
	if (w->rc) {
		fail(rs, 500, "storage: claiming a job failed");
		return;
	}
	if (!w->got_job) {
		rs->status = 204;
		return;
	}
	memcpy(scan.run_id, w->job.run_id, sizeof(scan.run_id));
	scan.package = w->job.package;
	scan.version = w->job.version;
	scan.attempt = w->job.attempts;
	if (fangs_wire_scan_encode(&scan, &json) == 0)
		reply(rs, 200, json);
	else
		fail(rs, 500, "%s", fangs_error_last());
	log_info("run %s (%s@%s) handed to runner %s, attempt %d", w->job.run_id, w->job.package, w->job.version, w->id,
		 w->job.attempts);
	fangs_job_clear(&w->job);
	w->got_job = 0;
}

static void do_submit(orch *o, const request *rq, response *rs)
{
	fangs_wire_scan scan;
	fangs_job job = {0};
	json_object *obj;
	int rc;

	if (fangs_wire_scan_decode(&scan, rq->body, rq->len)) {
		fail(rs, 400, "%s", fangs_error_last());
		return;
	}
	if (scan.run_id[0]) {
		fail(rs, 400, "\"run_id\" is assigned by the orchestrator");
		fangs_wire_scan_clear(&scan);
		return;
	}
	job.package = scan.package;
	job.version = scan.version;
	job.target_runner = scan.runner;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_job_enqueue(o->st, &job);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		fail_storage(rs, rc);
	} else {
		log_info("queued run %s: %s@%s%s%s", job.run_id, scan.package, scan.version,
			 scan.runner ? " on runner " : "", scan.runner ? scan.runner : "");
		obj = json_object_new_object();
		json_object_object_add(obj, "run_id", json_object_new_string(job.run_id));
		json_object_object_add(obj, "job_id", json_object_new_int64(job.id));
		json_object_object_add(obj, "state", json_object_new_string("queued"));
		reply_obj(rs, 201, obj);
		dispatch_job_queued(o, scan.runner);
	}
	fangs_wire_scan_clear(&scan);
}

/* The job of `run_id` when the caller holds it and it is running; else a
 * refusal is in `rs`. Called with st_lock held. */
static int owned_job(orch *o, const request *rq, response *rs, const char *run_id, fangs_job *job)
{
	const char *who = caller(rq);
	int rc;
	if (!who || !fangs_wire_valid_id(who)) {
		fail(rs, 400, "the Fangs-Runner header must name the runner (or the credential has no runner)");
		return 0;
	}
	rc = fangs_storage_job_get(o->st, run_id, job);
	if (rc == FANGS_ENOTFOUND) {
		fail(rs, 404, "unknown run '%s'", run_id);
		return 0;
	}
	if (rc) {
		fail_storage(rs, rc);
		return 0;
	}
	if (job->state != FANGS_JOB_RUNNING || !job->runner || strcmp(job->runner, who) != 0) {
		if (job->runner && strcmp(job->runner, who) != 0)
			fail(rs, 409, "run '%s' belongs to another runner", run_id);
		else
			fail(rs, 409, "run '%s' is %s, not running", run_id, fangs_job_state_name(job->state));
		fangs_job_clear(job);
		return 0;
	}
	return 1;
}

/* A runner's post is a heartbeat of it (an evicted runner stays evicted:
 * it registers again). Called with st_lock held. */
static void note_heartbeat(orch *o, const request *rq)
{
	const char *who = caller(rq);
	if (who && fangs_storage_runner_heartbeat(o->st, who, 0) == FANGS_ENETWORK)
		log_warn("heartbeat of %s: %s", who, fangs_error_last());
}

/* One try at storing a group: FANGS_ENETWORK when the connection was lost
 * on the way (nothing of the group is stored then), else 0 with each
 * item's outcome in it. */
static int store_group(orch *o, ingest_item *items)
{
	int rc = fangs_storage_begin(o->st);
	/* nothing begun (the database stays away): 503, the runners send again */
	for (ingest_item *it = items; it; it = it->next) {
		fangs_job job;
		int64_t n;
		if (rc) {
			fail_storage(it->rs, rc);
			continue;
		}
		if (!owned_job(o, it->rq, it->rs, it->run_id, &job)) {
			if (it->rs->status == 503)
				goto lost;
			continue;
		}
		n = job.attempts;
		fangs_job_clear(&job);
		if (it->attempt && it->attempt != n) {
			fail(it->rs, 409, "attempt %d of run '%s' is over (attempt %lld runs now)", it->attempt,
			     it->run_id, (long long)n);
			continue;
		}
		note_heartbeat(o, it->rq);
		if (it->seq)
			rc = fangs_storage_events_append_batch(o->st, it->run_id, it->seq, it->evs->items,
							       it->evs->count, &it->duplicate);
		else if (it->evs->count)
			rc = fangs_storage_events_append(o->st, it->run_id, it->evs->items, it->evs->count);
		if (rc == FANGS_ENETWORK)
			goto lost;
		if (rc) {
			fail_storage(it->rs, rc);
			rc = 0;
			continue;
		}
		it->stored = 1;
	}
	if (rc)
		return 0; /* begin failed: every item has its refusal */
	if ((rc = fangs_storage_commit(o->st))) {
		int code = rc;
		fangs_storage_rollback(o->st);
		if (code == FANGS_ENETWORK)
			return code;
		for (ingest_item *it = items; it; it = it->next)
			if (it->stored) {
				it->stored = 0;
				it->duplicate = 0;
				fail_storage(it->rs, code);
			}
	}
	return 0;
lost:
	fangs_storage_rollback(o->st);
	return FANGS_ENETWORK;
}

/* Stores the batches of one group in one transaction (ingest.c calls this
 * with st_lock held): each is checked against its run's owner first, and a
 * batch that fails is refused alone. A batch numbered by its runner is
 * stored once: sent again, it is acknowledged as a duplicate. When the
 * database connection is lost the whole group is stored again on the new
 * one (a batch number stored with a lost transaction was not stored). */
void api_store_batches(orch *o, ingest_item *items)
{
	for (int try = 1;; try++) {
		int rc = store_group(o, items);
		if (rc == 0)
			return;
		for (ingest_item *it = items; it; it = it->next) {
			response_reset(it->rs);
			it->stored = it->duplicate = 0;
		}
		if (try == STORAGE_TRIES) {
			for (ingest_item *it = items; it; it = it->next)
				fail_storage(it->rs, rc);
			return;
		}
		log_warn("storing event batches: %s; storing them again", fangs_error_last());
		metrics_add(o, &o->m.storage_retries, 1);
	}
}

static void do_events(orch *o, const request *rq, response *rs, const char *run_id)
{
	fangs_event_list evs = {0};
	ingest_item item = {0};
	int64_t attempt = 0;
	char *json;
	int rc;

	seen_note(o, caller(rq));
	if (query_positive(rq, "seq", &item.seq) < 0) {
		fail(rs, 400, "\"seq\" must be a positive integer");
		return;
	}
	if (query_positive(rq, "attempt", &attempt) < 0 || attempt > INT32_MAX) {
		fail(rs, 400, "\"attempt\" must be a positive integer");
		return;
	}
	item.attempt = (int)attempt;
	/* decode first, outside any lock: a bad batch changes nothing */
	rc = fangs_events_parse_ndjson(&evs, rq->body ? rq->body : "", rq->len, "batch");
	if (rc) {
		fail(rs, 400, "%s", fangs_error_last());
		fangs_event_list_free(&evs);
		return;
	}
	if (evs.count > MAX_BATCH_EVENTS) {
		fail(rs, 413, "a batch holds at most %d events", MAX_BATCH_EVENTS);
		fangs_event_list_free(&evs);
		return;
	}
	item.rq = rq;
	item.rs = rs;
	item.run_id = run_id;
	item.evs = &evs;
	ingest_submit(o, &item);
	if (item.stored && item.duplicate) {
		metrics_add(o, &o->m.batches_duplicate, 1);
		if (asprintf(&json, "{\"accepted\":%zu,\"seq\":%lld,\"duplicate\":true}", evs.count,
			     (long long)item.seq) < 0)
			json = NULL;
		reply(rs, 200, json);
	} else if (item.stored) {
		metrics_add(o, &o->m.events_received, evs.count);
		metrics_add(o, &o->m.batches_received, 1);
		if (item.seq ? asprintf(&json, "{\"accepted\":%zu,\"seq\":%lld}", evs.count, (long long)item.seq) < 0
			     : asprintf(&json, "{\"accepted\":%zu}", evs.count) < 0)
			json = NULL;
		reply(rs, 200, json);
	}
	fangs_event_list_free(&evs);
}

/* What a run waiting for its analysis says until it is judged: if the
 * orchestrator stops before, the maintenance pass finds it so. */
/* How long a run stored not judged yet is left to the orchestrator that
 * stored it before the maintenance pass judges it. */
#define REJUDGE_GRACE_NS (120 * 1000000000LL)
#define NOT_JUDGED_YET "not judged yet: the analysis had not run when the orchestrator stopped"

/* Marks a run not judged, with why: held for review (fangs pending lists
 * it) until an analysis succeeds (fangs run analyze, or the maintenance
 * pass). st_lock held. */
static int mark_unjudged(orch *o, const char *run_id, const char *why)
{
	fangs_run run = {0};
	int rc = fangs_storage_run_get(o->st, run_id, &run);
	if (rc == 0) {
		free(run.analysis_error);
		run.analysis_error = strdup(why);
		run.review = FANGS_REVIEW_PENDING;
		rc = run.analysis_error ? fangs_storage_run_update(o->st, &run) : FANGS_ENOMEM;
	}
	fangs_run_clear(&run);
	return rc;
}

/* Judges a finished run (decoys may be NULL: what a runner sent is used
 * for the judgement it came with, not stored). A failure marks the run not
 * judged. st_lock held. 0 or the analysis's error. */
static int analyze(orch *o, const char *run_id, const fangs_decoy *decoys, size_t n_decoys, json_object *obj)
{
	fangs_analysis an = {0};
	fangs_finding_list fl = {0};
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	char why[1200];
	int rc;
	/* the runner's sandbox planted these: finding one in what left is critical */
	ao.decoys = decoys;
	ao.n_decoys = n_decoys;
	for (int try = 1;; try++) {
		rc = fangs_analyze_run_opts(o->st, o->differ, o->cfg, run_id, &ao, &an);
		if (rc != FANGS_ENETWORK || try == STORAGE_TRIES)
			break;
		log_warn("run %s: analysis: %s; judging it again", run_id, fangs_error_last());
		metrics_add(o, &o->m.storage_retries, 1);
	}
	if (rc) {
		snprintf(why, sizeof(why), "analysis failed: %s", fangs_error_last());
		log_warn("run %s: %s", run_id, why);
		metrics_add(o, &o->m.analysis_failed, 1);
		if (obj)
			json_object_object_add(obj, "analysis_error", json_object_new_string(why));
		if (mark_unjudged(o, run_id, why))
			log_warn("run %s: cannot mark it not judged: %s", run_id, fangs_error_last());
		return rc;
	}
	if (obj) {
		json_object_object_add(obj, "deviations", json_object_new_int64((int64_t)an.deviations.count));
		json_object_object_add(obj, "baseline_action",
				       json_object_new_string(fangs_baseline_action_name(an.action)));
	}
	if (fangs_findings_load(o->st, &an.deviations, NULL, &fl) == 0) {
		if (obj)
			json_object_object_add(obj, "findings", json_object_new_int64((int64_t)fl.count));
	} else
		log_warn("run %s: findings: %s", run_id, fangs_error_last());
	log_info("run %s analysed: %zu findings (%zu deviations and rule hits), baseline %s", run_id, fl.count,
		 an.deviations.count, fangs_baseline_action_name(an.action));
	fangs_finding_list_free(&fl);
	fangs_analysis_clear(&an);
	return 0;
}

void api_rejudge_failed(orch *o, size_t max)
{
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	size_t done = 0;
	int64_t now = now_wall_ns();

	f.pending_only = 1;
	/* the newest pending runs: a backlog of findings is not read each pass */
	f.limit = 1000;
	pthread_mutex_lock(&o->st_lock);
	if (fangs_storage_run_list(o->st, &f, &runs)) {
		log_warn("judging again: %s", fangs_error_last());
		goto out;
	}
	/* oldest first: they waited longest */
	for (size_t i = runs.count; i-- > 0 && done < max && !o->stopping;) {
		const fangs_run *r = &runs.items[i];
		if (!r->analysis_error || r->state == FANGS_RUN_QUEUED || r->state == FANGS_RUN_RUNNING)
			continue;
		/* a result stored moments ago is being judged right now by the
		 * orchestrator that took it (several may share the database):
		 * it is this pass's only if that one stopped before judging */
		if (!strcmp(r->analysis_error, NOT_JUDGED_YET) && now - r->finished_ns < REJUDGE_GRACE_NS)
			continue;
		done++;
		log_info("run %s was not judged (%s): judging it again", r->id, r->analysis_error);
		if (analyze(o, r->id, NULL, 0, NULL) == 0)
			metrics_add(o, &o->m.analysis_rejudged, 1);
	}
out:
	pthread_mutex_unlock(&o->st_lock);
	fangs_run_list_free(&runs);
}

/* Stores a result: the run and its job together; a run to be judged is
 * marked not judged until its analysis ends. st_lock held. */
static int store_result(orch *o, const char *run_id, const fangs_wire_result *res, int judge, int *began)
{
	fangs_run run = {0};
	int rc;
	*began = 0;
	if ((rc = fangs_storage_run_get(o->st, run_id, &run)))
		return rc;
	run.state = res->state;
	run.has_exit_code = res->has_exit_code;
	run.exit_code = res->exit_code;
	run.events_emitted = res->events_emitted;
	run.events_dropped = res->events_dropped;
	run.duration_ns = res->duration_ns;
	run.finished_ns = now_wall_ns();
	free(run.install_output);
	run.install_output = res->install_output ? strdup(res->install_output) : NULL;
	free(run.error);
	run.error = res->error ? strdup(res->error) : NULL;
	free(run.analysis_error);
	run.analysis_error = judge ? strdup(NOT_JUDGED_YET) : NULL;
	if (judge)
		run.review = FANGS_REVIEW_PENDING;
	if (!run.sandbox)
		run.sandbox = strdup("ns");
	if (!run.network)
		run.network = strdup("none");
	if ((res->install_output && !run.install_output) || (res->error && !run.error) ||
	    (judge && !run.analysis_error) || !run.sandbox || !run.network) {
		fangs_run_clear(&run);
		return FANGS_ENOMEM;
	}
	if ((rc = fangs_storage_begin(o->st)) == 0) {
		*began = 1;
		if ((rc = fangs_storage_run_update(o->st, &run)) == 0)
			rc = fangs_storage_job_finish(
				o->st, run_id, res->state == FANGS_RUN_FAILED ? FANGS_JOB_FAILED : FANGS_JOB_DONE);
		if (rc == 0)
			rc = fangs_storage_commit(o->st);
		if (rc) {
			fangs_error_state keep;
			fangs_error_state_capture(&keep, rc);
			fangs_storage_rollback(o->st);
			fangs_error_state_restore(&keep);
		}
	}
	fangs_run_clear(&run);
	return rc;
}

static void do_result(orch *o, const request *rq, response *rs, const char *run_id)
{
	fangs_wire_result res;
	fangs_job job = {0};
	json_object *obj;
	int rc, judge;

	seen_note(o, caller(rq));
	if (fangs_wire_result_decode(&res, rq->body, rq->len)) {
		fail(rs, 400, "%s", fangs_error_last());
		return;
	}
	/* an install that failed in the sandbox is judged too (it has an exit
	 * status); a scan that failed around it has no events worth judging */
	judge = res.state != FANGS_RUN_FAILED || res.has_exit_code;
	pthread_mutex_lock(&o->st_lock);
	if (!owned_job(o, rq, rs, run_id, &job))
		goto out;
	note_heartbeat(o, rq);
	for (int try = 1;; try++) {
		int began;
		rc = store_result(o, run_id, &res, judge, &began);
		/* run again only what the loss of the connection undid */
		if (rc != FANGS_ENETWORK || try == STORAGE_TRIES || !began)
			break;
		log_warn("run %s: storing the result: %s; storing it again", run_id, fangs_error_last());
		metrics_add(o, &o->m.storage_retries, 1);
	}
	if (rc) {
		fail_storage(rs, rc);
		goto out_job;
	}
	metrics_add(o, &o->m.results[res.state], 1);
	obj = json_object_new_object();
	json_object_object_add(obj, "run_id", json_object_new_string(run_id));
	json_object_object_add(obj, "state", json_object_new_string(fangs_run_state_name(res.state)));
	if (judge)
		analyze(o, run_id, res.decoys, res.n_decoys, obj);
	reply_obj(rs, 200, obj);
	log_info("run %s %s on runner %s", run_id, fangs_run_state_name(res.state), job.runner);
out_job:
	fangs_job_clear(&job);
out:
	pthread_mutex_unlock(&o->st_lock);
	fangs_wire_result_clear(&res);
	dispatch_notify(o);
}

/* POST /v1/runs/{run_id}/fail: an operator ends a queued or running run and
 * its job (a run stuck on a runner that will never report). */
static void do_fail(orch *o, const request *rq, response *rs, const char *run_id)
{
	fangs_run run = {0};
	json_object *obj;
	int rc;

	pthread_mutex_lock(&o->st_lock);
	if ((rc = fangs_storage_run_get(o->st, run_id, &run))) {
		pthread_mutex_unlock(&o->st_lock);
		fail_storage(rs, rc);
		return;
	}
	if (run.state != FANGS_RUN_QUEUED && run.state != FANGS_RUN_RUNNING) {
		pthread_mutex_unlock(&o->st_lock);
		fail(rs, 409, "run '%s' is already %s", run_id, fangs_run_state_name(run.state));
		fangs_run_clear(&run);
		return;
	}
	run.state = FANGS_RUN_FAILED;
	run.finished_ns = now_wall_ns();
	free(run.error);
	run.error = NULL;
	if (asprintf(&run.error, "failed by hand (%s%s%s)", rq->who->name[0] ? rq->who->via : "over HTTP",
		     rq->who->name[0] ? " " : "", rq->who->name) < 0)
		run.error = NULL;
	if (!(rc = fangs_storage_begin(o->st))) {
		rc = fangs_storage_run_update(o->st, &run);
		if (!rc && (rc = fangs_storage_job_finish(o->st, run_id, FANGS_JOB_FAILED)) == FANGS_ENOTFOUND)
			rc = 0;
		rc = rc ? (fangs_storage_rollback(o->st), rc) : fangs_storage_commit(o->st);
	}
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		fail_storage(rs, rc);
	} else {
		log_info("run %s (%s@%s) failed by %s %s", run_id, run.package, run.version, rq->who->via,
			 rq->who->name);
		obj = json_object_new_object();
		json_object_object_add(obj, "run_id", json_object_new_string(run_id));
		json_object_object_add(obj, "package", json_object_new_string(run.package));
		json_object_object_add(obj, "version", json_object_new_string(run.version));
		json_object_object_add(obj, "state", json_object_new_string("failed"));
		reply_obj(rs, 200, obj);
		dispatch_notify(o);
	}
	fangs_run_clear(&run);
}

static void do_metrics(orch *o, response *rs)
{
	rs->body = metrics_render(o, &rs->len);
	rs->status = rs->body ? 200 : 500;
	rs->content_type = "text/plain; version=0.0.4";
}

/* The query parameter of a request for webapi. */
static const char *webapi_arg(void *ctx, const char *name)
{
	const request *rq = ctx;
	return query(rq, name);
}

/* The read and review API (tools/common/webapi.c), on the storage handle
 * under its lock. */
static void do_webapi(orch *o, const request *rq, response *rs)
{
	webapi_request wq = {0};
	webapi_response wr;
	char actor[300];
	snprintf(actor, sizeof(actor), "%s%s%s", rq->who->via, rq->who->name[0] ? " " : "", rq->who->name);
	wq.method = rq->method;
	wq.path = rq->url;
	wq.arg = webapi_arg;
	wq.arg_ctx = (void *)rq;
	wq.body = rq->body;
	wq.len = rq->len;
	wq.may_write = rq->who->role == ROLE_OPERATOR || rq->who->role == ROLE_ALL;
	wq.actor = actor;
	pthread_mutex_lock(&o->st_lock);
	webapi_handle(o->st, &wq, &wr);
	pthread_mutex_unlock(&o->st_lock);
	if (wr.change[0])
		log_info("%s", wr.change);
	reply(rs, wr.status, wr.body);
	rs->len = wr.len;
	if (wr.csrf[0])
		webapi_csrf_cookie(wr.csrf, o->tls, rs->set_cookie, sizeof(rs->set_cookie));
}

int api_precheck(orch *o, const request *rq, response *rs)
{
	char buf[1024];
	char *seg[6];
	int n = split_path(rq->url, buf, sizeof(buf), seg, 6), ok;
	fangs_job job;

	memset(rs, 0, sizeof(*rs));
	rs->route = ROUTE_OTHER;
	if (strcmp(rq->method, "POST") != 0 || n != 4 || strcmp(seg[0], "v1") != 0 || strcmp(seg[1], "runs") != 0)
		return 1;
	if (!strcmp(seg[3], "events"))
		rs->route = ROUTE_EVENTS;
	else if (!strcmp(seg[3], "result"))
		rs->route = ROUTE_RESULT;
	else
		return 1;
	if (!fangs_wire_valid_id(seg[2])) {
		fail(rs, 400, "invalid run id");
		return 0;
	}
	/* a batch for a run that is not the caller's is refused unread */
	pthread_mutex_lock(&o->st_lock);
	ok = owned_job(o, rq, rs, seg[2], &job);
	pthread_mutex_unlock(&o->st_lock);
	if (ok)
		fangs_job_clear(&job);
	return ok;
}

size_t api_body_limit(const char *method, const char *url)
{
	if (strcmp(method, "POST") != 0)
		return 0;
	if (!strncmp(url, "/v1/runs/", 9) && strstr(url, "/events"))
		return FANGS_WIRE_MAX_EVENTS_BODY;
	return FANGS_WIRE_MAX_JSON_BODY;
}

void api_handle(orch *o, const request *rq, response *rs)
{
	char buf[1024];
	char *seg[6];
	int n = split_path(rq->url, buf, sizeof(buf), seg, 6);
	int get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");

	memset(rs, 0, sizeof(*rs));
	rs->route = ROUTE_OTHER;
	if (n == 1 && !strcmp(seg[0], "metrics")) {
		rs->route = ROUTE_METRICS;
		if (get)
			do_metrics(o, rs);
		else
			fail(rs, 405, "use GET");
		return;
	}
	if (n < 2 || strcmp(seg[0], "v1") != 0) {
		fail(rs, 404, "no such endpoint");
		return;
	}
	if (webapi_route(rq->method, rq->url) != WEBAPI_NONE) {
		do_webapi(o, rq, rs);
		return;
	}
	if (n == 2 && !strcmp(seg[1], "health")) {
		rs->route = ROUTE_HEALTH;
		get ? do_health(o, rs) : fail(rs, 405, "use GET");
	} else if (n == 3 && !strcmp(seg[1], "runners") && !strcmp(seg[2], "register")) {
		rs->route = ROUTE_REGISTER;
		post ? do_register(o, rq, rs) : fail(rs, 405, "use POST");
	} else if (n == 4 && !strcmp(seg[1], "runners") && !fangs_wire_valid_id(seg[2])) {
		fail(rs, 400, "invalid runner id");
	} else if (n == 4 && !strcmp(seg[1], "runners") && !strcmp(seg[3], "heartbeat")) {
		rs->route = ROUTE_HEARTBEAT;
		post ? do_heartbeat(o, rq, rs, seg[2]) : fail(rs, 405, "use POST");
	} else if (n == 4 && !strcmp(seg[1], "runners") && !strcmp(seg[3], "jobs")) {
		rs->route = ROUTE_JOBS;
		get ? do_jobs(o, rq, rs, seg[2]) : fail(rs, 405, "use GET");
	} else if (n == 2 && !strcmp(seg[1], "scans")) {
		rs->route = ROUTE_SCANS;
		post ? do_submit(o, rq, rs) : fail(rs, 405, "use POST");
	} else if (n == 4 && !strcmp(seg[1], "runs") && !fangs_wire_valid_id(seg[2])) {
		fail(rs, 400, "invalid run id");
	} else if (n == 4 && !strcmp(seg[1], "runs") && !strcmp(seg[3], "events")) {
		rs->route = ROUTE_EVENTS;
		post ? do_events(o, rq, rs, seg[2]) : fail(rs, 405, "use POST");
	} else if (n == 4 && !strcmp(seg[1], "runs") && !strcmp(seg[3], "result")) {
		rs->route = ROUTE_RESULT;
		post ? do_result(o, rq, rs, seg[2]) : fail(rs, 405, "use POST");
	} else if (n == 4 && !strcmp(seg[1], "runs") && !strcmp(seg[3], "fail")) {
		post ? do_fail(o, rq, rs, seg[2]) : fail(rs, 405, "use POST");
	} else {
		fail(rs, 404, "no such endpoint");
	}
}
