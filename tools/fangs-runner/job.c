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
static void post_result(runner *r, const char *run_id, const fangs_wire_result *res)
{
	fangs_wire_client *c = NULL;
	char path[128], *body = NULL;
	int64_t delay = 200;

	snprintf(path, sizeof(path), "/v1/runs/%s/result", run_id);
	if (fangs_wire_result_encode(res, &body) || fangs_wire_client_new(&c, &r->wire)) {
		log_error("run %s: cannot post the result: %s", run_id, fangs_error_last());
		free(body);
		return;
	}
	for (;;) {
		fangs_wire_response rs;
		int rc = fangs_wire_request(c, "POST", path, "application/json", body, strlen(body), 300000, &rs);
		if (rc == 0 && rs.status == 200) {
			log_info("run %s: result %s delivered", run_id, fangs_run_state_name(res->state));
			fangs_wire_response_clear(&rs);
			break;
		}
		if (rc == 0 && rs.status >= 400 && rs.status < 500) {
			log_warn("run %s: result refused: %s", run_id, fangs_wire_response_error(&rs));
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

void *job_thread(void *arg)
{
	job *j = arg;
	runner *r = j->r;
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	fangs_scan_result out = {0};
	fangs_wire_result res = {0};
	kept_decoys decoys = {NULL, 0};
	stream *st = NULL;
	char spec[512], err[1024] = "";
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
		if (out.install_output) {
			size_t n = strlen(out.install_output);
			/* the tail is what tells why an install failed */
			res.install_output = n > FANGS_WIRE_MAX_OUTPUT ? out.install_output + n - FANGS_WIRE_MAX_OUTPUT
								       : out.install_output;
		}
		res.error = rc ? err : out.reason;
		/* the orchestrator looks for them in what left the sandbox */
		res.decoys = decoys.items;
		res.n_decoys = decoys.n;
		if (rc)
			log_warn("run %s: failed: %s", j->scan.run_id, err);
		post_result(r, j->scan.run_id, &res);
	}
	stream_free(st);
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
