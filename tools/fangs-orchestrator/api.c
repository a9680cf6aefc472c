/*
 * fangs-orchestrator/api.c - the endpoints of docs/api.md.
 *
 * Every handler validates all it is given before it changes anything; a
 * refusal is a 4xx with {"error": "..."}. Storage calls hold o->st_lock.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "orchestrator.h"

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

/* A storage failure that is not the client's doing. */
static void fail_storage(response *rs, int rc)
{
	if (rc == FANGS_ENOTFOUND)
		fail(rs, 404, "%s", fangs_error_last());
	else
		fail(rs, 500, "storage: %s", fangs_error_last());
}

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

/* A query parameter as a number, or `def`. */
static int64_t query_int(const char *url, const char *name, int64_t def)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(name);
	while (q && *q) {
		q++;
		if (!strncmp(q, name, n) && q[n] == '=') {
			char *end;
			long long v = strtoll(q + n + 1, &end, 10);
			return (end != q + n + 1 && (*end == '\0' || *end == '&')) ? v : def;
		}
		q = strchr(q, '&');
	}
	return def;
}

/* Who is calling as a runner: the certificate name under mTLS (the only
 * identity that counts there), otherwise the Fangs-Runner header. */
static const char *caller(const request *rq)
{
	return rq->peer_cn ? rq->peer_cn : rq->runner_hdr;
}

/* Under mTLS a runner acts only as itself. */
static int may_act_as(const request *rq, response *rs, const char *id)
{
	if (rq->peer_cn && strcmp(rq->peer_cn, id) != 0) {
		fail(rs, 403, "certificate '%s' may not act as runner '%s'", rq->peer_cn, id);
		return 0;
	}
	return 1;
}

static void do_health(orch *o, response *rs)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "status", json_object_new_string(o->stopping ? "stopping" : "ok"));
	json_object_object_add(obj, "storage", json_object_new_string(fangs_storage_backend_name(o->st)));
	json_object_object_add(obj, "mtls", json_object_new_boolean(o->mtls));
	reply_obj(rs, 200, obj);
}

static void do_register(orch *o, const request *rq, response *rs)
{
	fangs_wire_register reg;
	fangs_runner r = {0};
	json_object *obj;
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
	r.cn = (char *)rq->peer_cn;
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
	fangs_job job;
	fangs_wire_scan scan = {0};
	int64_t wait_ms = query_int(rq->url, "wait_ms", o->poll_max_ms);
	char *json = NULL;
	int rc;

	if (!may_act_as(rq, rs, id))
		return;
	if (wait_ms < 0 || wait_ms > o->poll_max_ms)
		wait_ms = o->poll_max_ms;
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
	rc = dispatch_wait_job(o, id, wait_ms, &job);
	if (rc < 0) {
		fail_storage(rs, rc);
		return;
	}
	if (rc == 0) {
		rs->status = 204;
		return;
	}
	memcpy(scan.run_id, job.run_id, sizeof(scan.run_id));
	scan.package = job.package;
	scan.version = job.version;
	if (fangs_wire_scan_encode(&scan, &json) == 0)
		reply(rs, 200, json);
	else
		fail(rs, 500, "%s", fangs_error_last());
	log_info("run %s (%s@%s) handed to runner %s, attempt %d", job.run_id, job.package, job.version, id,
		   job.attempts);
	fangs_job_clear(&job);
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
		dispatch_notify(o);
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
		fail(rs, 400, "the Fangs-Runner header must name the runner");
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

/* Stores the batches of one group in one transaction (ingest.c calls this
 * with st_lock held): each is checked against its run's owner first, and a
 * batch that fails is rolled back alone. */
void api_store_batches(orch *o, ingest_item *items)
{
	int rc = fangs_storage_begin(o->st);
	for (ingest_item *it = items; it; it = it->next) {
		fangs_job job;
		if (rc) {
			fail_storage(it->rs, rc);
			continue;
		}
		if (!owned_job(o, it->rq, it->rs, it->run_id, &job))
			continue;
		fangs_job_clear(&job);
		if (it->evs->count && fangs_storage_events_append(o->st, it->run_id, it->evs->items, it->evs->count)) {
			fail_storage(it->rs, fangs_error_last_code());
			continue;
		}
		it->stored = 1;
	}
	if (rc == 0 && (rc = fangs_storage_commit(o->st))) {
		fangs_storage_rollback(o->st);
		for (ingest_item *it = items; it; it = it->next)
			if (it->stored) {
				it->stored = 0;
				fail_storage(it->rs, rc);
			}
	}
}

static void do_events(orch *o, const request *rq, response *rs, const char *run_id)
{
	fangs_event_list evs = {0};
	ingest_item item = {0};
	char *json;
	int rc;

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
	if (item.stored) {
		metrics_add(o, &o->m.events_received, evs.count);
		metrics_add(o, &o->m.batches_received, 1);
		if (asprintf(&json, "{\"accepted\":%zu}", evs.count) < 0)
			json = NULL;
		reply(rs, 200, json);
	}
	fangs_event_list_free(&evs);
}

/* Judges a finished run; a failure here leaves the run stored as it is. */
static void analyze(orch *o, const char *run_id, const fangs_wire_result *res, json_object *obj)
{
	fangs_analysis an = {0};
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	int rc;
	/* the runner's sandbox planted these: finding one in what left is critical */
	ao.decoys = res->decoys;
	ao.n_decoys = res->n_decoys;
	rc = fangs_analyze_run_opts(o->st, o->differ, o->cfg, run_id, &ao, &an);
	if (rc) {
		log_warn("run %s: analysis failed: %s", run_id, fangs_error_last());
		json_object_object_add(obj, "analysis_error", json_object_new_string(fangs_error_last()));
		return;
	}
	json_object_object_add(obj, "deviations", json_object_new_int64((int64_t)an.deviations.count));
	json_object_object_add(obj, "baseline_action", json_object_new_string(fangs_baseline_action_name(an.action)));
	log_info("run %s analysed: %zu deviations, baseline %s", run_id, an.deviations.count,
		   fangs_baseline_action_name(an.action));
	fangs_analysis_clear(&an);
}

static void do_result(orch *o, const request *rq, response *rs, const char *run_id)
{
	fangs_wire_result res;
	fangs_run run = {0};
	fangs_job job;
	json_object *obj;
	int rc;

	if (fangs_wire_result_decode(&res, rq->body, rq->len)) {
		fail(rs, 400, "%s", fangs_error_last());
		return;
	}
	pthread_mutex_lock(&o->st_lock);
	if (!owned_job(o, rq, rs, run_id, &job))
		goto out;
	if ((rc = fangs_storage_run_get(o->st, run_id, &run))) {
		fail_storage(rs, rc);
		goto out;
	}
	run.state = res.state;
	run.has_exit_code = res.has_exit_code;
	run.exit_code = res.exit_code;
	run.events_emitted = res.events_emitted;
	run.events_dropped = res.events_dropped;
	run.duration_ns = res.duration_ns;
	run.finished_ns = now_wall_ns();
	free(run.install_output);
	run.install_output = res.install_output;
	res.install_output = NULL;
	free(run.error);
	run.error = res.error;
	res.error = NULL;
	if (!run.sandbox)
		run.sandbox = strdup("ns");
	if (!run.network)
		run.network = strdup("none");
	if ((rc = fangs_storage_begin(o->st)) == 0) {
		if ((rc = fangs_storage_run_update(o->st, &run)) == 0)
			rc = fangs_storage_job_finish(o->st, run_id,
						      res.state == FANGS_RUN_FAILED ? FANGS_JOB_FAILED : FANGS_JOB_DONE);
		rc = rc ? (fangs_storage_rollback(o->st), rc) : fangs_storage_commit(o->st);
	}
	if (rc) {
		fail_storage(rs, rc);
		goto out_job;
	}
	metrics_add(o, &o->m.results[res.state], 1);
	obj = json_object_new_object();
	json_object_object_add(obj, "run_id", json_object_new_string(run_id));
	json_object_object_add(obj, "state", json_object_new_string(fangs_run_state_name(res.state)));
	/* an install that failed in the sandbox is judged too (it has an exit
	 * status); a scan that failed around it has no events worth judging */
	if (res.state != FANGS_RUN_FAILED || res.has_exit_code)
		analyze(o, run_id, &res, obj);
	reply_obj(rs, 200, obj);
	log_info("run %s %s on runner %s", run_id, fangs_run_state_name(res.state), job.runner);
out_job:
	fangs_job_clear(&job);
out:
	pthread_mutex_unlock(&o->st_lock);
	fangs_run_clear(&run);
	fangs_wire_result_clear(&res);
	dispatch_notify(o);
}

static void do_metrics(orch *o, response *rs)
{
	rs->body = metrics_render(o, &rs->len);
	rs->status = rs->body ? 200 : 500;
	rs->content_type = "text/plain; version=0.0.4";
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
	} else {
		fail(rs, 404, "no such endpoint");
	}
}
