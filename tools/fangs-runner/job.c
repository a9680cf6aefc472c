/*
 * fangs-runner/job.c - one job: the scan with its events streamed, then
 * the result, delivered even if the orchestrator restarts meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runner.h"
#include "stream.h"

/* Posts the result until the orchestrator takes or refuses it. */
/* Posts a result until it is delivered or refused: 0 delivered, 1 refused
 * as malformed or too large (400, 413; why in `why`), -1 otherwise (not this runner's run any
 * more, or the runner stops). */
static int post_once(runner *r, const char *run_id, const fangs_wire_result *res, char *why, size_t why_size)
{
	fangs_wire_client *c = NULL;
	char path[128], *body = NULL;
	int64_t delay = 200;
	int out = -1;

	snprintf(path, sizeof(path), "/v1/runs/%s/result", run_id);
	if (fangs_wire_result_encode(res, &body)) {
		snprintf(why, why_size, "cannot encode it: %s", fangs_error_last());
		log_error("run %s: cannot post the result: %s", run_id, why);
		return 1;
	}
	if (fangs_wire_client_new(&c, &r->wire)) {
		log_error("run %s: cannot post the result: %s", run_id, fangs_error_last());
		free(body);
		return -1;
	}
	for (;;) {
		fangs_wire_response rs;
		int rc = fangs_wire_request(c, "POST", path, "application/json", body, strlen(body), 300000, &rs);
		if (rc == 0 && rs.status == 200) {
			log_info("run %s: result %s delivered", run_id, fangs_run_state_name(res->state));
			fangs_wire_response_clear(&rs);
			out = 0;
			break;
		}
		if (rc == 0 && rs.status >= 400 && rs.status < 500) {
			snprintf(why, why_size, "%s", fangs_wire_response_error(&rs));
			log_warn("run %s: result refused: %s", run_id, why);
			/* malformed or too large: the caller sends less */
			out = rs.status == 400 || rs.status == 413 ? 1 : -1;
			fangs_wire_response_clear(&rs);
			break;
		}
		log_warn("run %s: posting the result: %s; retrying", run_id,
			 rc ? fangs_error_last() : fangs_wire_response_error(&rs));
		fangs_wire_response_clear(&rs);
		if (r->stopping > 1)
			break;
		nap(r, delay);
		delay = backoff_next(delay);
	}
	fangs_wire_client_free(c);
	free(body);
	return out;
}

/* A result the orchestrator refuses as malformed or too large would leave
 * the run unjudged for good: it goes again without the install's output,
 * then with only the run's state, exit status and counters (still judged)
 * and why it was refused, so that the run always ends. */
static void post_result(runner *r, const char *run_id, const fangs_wire_result *res)
{
	fangs_wire_result less = *res;
	char why[512] = "", error[1024];
	if (post_once(r, run_id, res, why, sizeof(why)) != 1)
		return;
	less.install_output = NULL;
	if (res->install_output && post_once(r, run_id, &less, why, sizeof(why)) != 1)
		return;
	less.decoys = NULL;
	less.n_decoys = 0;
	snprintf(error, sizeof(error), "the orchestrator refused the runner's result: %s", why);
	less.error = error;
	post_once(r, run_id, &less, why, sizeof(why));
}

/* The run's decoys, kept for its result. */
typedef struct kept_decoys {
	fangs_decoy *items;
	size_t n;
} kept_decoys;

static void keep_decoys(const fangs_decoy *d, size_t n, void *user)
{
	kept_decoys *k = user;
	if (!n || !(k->items = calloc(n, sizeof(*k->items))))
		return;
	for (size_t i = 0; i < n; i++, k->n++)
		if (!(k->items[i].place = strdup(d[i].place)) || !(k->items[i].what = strdup(d[i].what)) ||
		    !(k->items[i].value = strdup(d[i].value))) {
			k->n++;
			return;
		}
}

static void free_decoys(kept_decoys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free((char *)k->items[i].place);
		free((char *)k->items[i].what);
		free((char *)k->items[i].value);
	}
	free(k->items);
}

/* Bytes the wire's JSON takes for `c` (json-c's escapes). */
static size_t json_cost(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '/' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 ? 6 : 1; /* \u00XX */
}

/* What the install's output may take of a result's body once escaped: the
 * rest (error, decoys) stays well inside FANGS_WIRE_MAX_JSON_BODY. */
#define OUTPUT_JSON_BUDGET (FANGS_WIRE_MAX_JSON_BODY / 2)

/* The tail of an install's output that the orchestrator takes: made UTF-8
 * first (as the wire encoder would, a bad byte growing to three), then at
 * most FANGS_WIRE_MAX_OUTPUT bytes and OUTPUT_JSON_BUDGET bytes once
 * escaped (an output of control characters grows six times), cut at a
 * character's start: the tail tells why an install failed. Without these
 * bounds the orchestrator would refuse the result and the run would stay
 * unjudged. `*whole` is the caller's to free. */
static char *output_tail(const char *output, char **whole)
{
	size_t n, start, cost = 0;
	if (!output || !(*whole = fangs_utf8_clean(output, strlen(output), &n)))
		return NULL; /* none, or out of memory: the result goes without it */
	for (start = n; start > 0 && n - start < FANGS_WIRE_MAX_OUTPUT; start--) {
		cost += json_cost((unsigned char)(*whole)[start - 1]);
		if (cost > OUTPUT_JSON_BUDGET)
			break;
	}
	while (start < n && ((unsigned char)(*whole)[start] & 0xC0) == 0x80)
		start++;
	return *whole + start;
}

/* Why a run failed, as a result may carry it: made UTF-8 and cut at a
 * character's start to FANGS_WIRE_MAX_ERROR bytes, the head (the reason
 * comes first, the install's last lines after it). The caller frees it. */
static char *error_head(const char *error)
{
	size_t n;
	char *e;
	if (!error || !*error || !(e = fangs_utf8_clean(error, strlen(error), &n)))
		return NULL;
	if (n > FANGS_WIRE_MAX_ERROR) {
		n = FANGS_WIRE_MAX_ERROR;
		while (n > 0 && ((unsigned char)e[n] & 0xC0) == 0x80)
			n--;
		e[n] = '\0';
	}
	return e;
}

void *job_thread(void *arg)
{
	job *j = arg;
	runner *r = j->r;
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	fangs_scan_result out = {0};
	fangs_wire_result res = {0};
	kept_decoys decoys = {NULL, 0};
	stream *st = NULL;
	char spec[512], err[1024] = "", *output = NULL, *error = NULL;
	uint64_t dropped = 0;
	int rc, lost = 0;

	snprintf(spec, sizeof(spec), "%s@%s", j->scan.package, j->scan.version);
	log_info("run %s: scanning %s", j->scan.run_id, spec);
	if (stream_open(&st, r, j->scan.run_id, j->scan.attempt)) {
		rc = FANGS_ERROR;
		snprintf(err, sizeof(err), "cannot start streaming: %s", fangs_error_last());
	} else {
		so.config = r->cfg;
		so.sandbox = r->sandbox;
		so.network = r->network;
		so.duration_ms = r->duration_ms;
		so.grace_ms = r->grace_ms;
		so.registry = r->registry;
		so.work_root = r->work_root;
		so.cache_dir = r->cache_dir;
		so.runner = r->id;
		so.on_event = stream_sink;
		so.event_user = st;
		so.run_id = j->scan.run_id;
		so.on_decoys = keep_decoys;
		so.decoys_user = &decoys;
		rc = fangs_scan(&so, spec, &out);
		if (rc)
			snprintf(err, sizeof(err), "%s", fangs_error_last());
		lost = stream_close(st, &dropped);
	}
	if (lost) {
		log_warn("run %s: the orchestrator gave it to another runner or ended it: result not sent",
			 j->scan.run_id);
	} else {
		/* an install that failed in the sandbox ran all the same: its
		 * exit status and reason go with it, and it is judged */
		res.state = rc ? FANGS_RUN_FAILED : out.state;
		res.has_exit_code = rc == 0;
		res.exit_code = out.exit_code;
		res.events_emitted = (int64_t)out.events_emitted;
		res.events_dropped = (int64_t)(out.events_dropped + dropped);
		res.duration_ns = out.duration_ns;
		res.install_output = output_tail(out.install_output, &output);
		res.error = error = error_head(rc ? err : out.reason);
		/* the orchestrator looks for them in what left the sandbox */
		res.decoys = decoys.items;
		res.n_decoys = decoys.n;
		if (rc)
			log_warn("run %s: failed: %s", j->scan.run_id, err);
		post_result(r, j->scan.run_id, &res);
	}
	stream_free(st);
	free(output);
	free(error);
	fangs_scan_result_clear(&out);
	free_decoys(&decoys);
	pthread_mutex_lock(&r->lock);
	r->active--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	fangs_wire_scan_clear(&j->scan);
	free(j);
	return NULL;
}
