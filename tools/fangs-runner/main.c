/*
 * fangs-runner - takes scans from an orchestrator, runs each in the
 * sandbox under the sensor, streams the events back and reports the result.
 *
 * It outlives orchestrator restarts: every request is retried with backoff,
 * and when the orchestrator no longer knows it the runner registers again.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "settings.h"
#include "runner.h"

void nap(runner *r, int64_t ms)
{
	int64_t until = now_wall_ns() + ms * 1000000LL;
	while (!r->stopping && now_wall_ns() < until)
		usleep(20 * 1000);
}

int64_t backoff_next(int64_t ms)
{
	return ms * 2 > 5000 ? 5000 : ms * 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fangs-runner --orchestrator URL [--runner-id NAME] [--registry URL] [--max-scans N]\n"
		   "                    [--tls-cert F --tls-key F] [--ca F] [--token-file F] [--config FILE]\n"
		   "                    [--sandbox ns|docker] [--network none|proxy|bridge] [--duration-ms N] "
		   "[--grace-ms N]\n"
		   "                    [--work-root DIR] [--cache-dir DIR] [--verbose]\n"
		   "Environment: FANGS_CONFIG, FANGS_ORCHESTRATOR, FANGS_RUNNER_ID, FANGS_REGISTRY, FANGS_TLS_CERT,\n"
		   "FANGS_TLS_KEY, FANGS_CA, FANGS_TOKEN (the token itself), FANGS_TOKEN_FILE.\n");
}

/* Registers until the orchestrator answers (or we are stopped). */
static int do_register(runner *r, fangs_wire_client *c)
{
	fangs_wire_register reg = {0};
	char *body = NULL;
	int64_t delay = 200;

	reg.runner_id = (char *)r->id;
	reg.hostname = (char *)r->hostname;
	reg.max_scans = r->max_scans;
	if (fangs_wire_register_encode(&reg, &body))
		return -1;
	while (!r->stopping) {
		fangs_wire_response rs;
		int rc = fangs_wire_request(c, "POST", "/v1/runners/register", "application/json", body, strlen(body),
					    10000, &rs);
		if (rc == 0 && rs.status == 200) {
			json_object *o = json_tokener_parse(rs.body), *v;
			if (o && json_object_object_get_ex(o, "heartbeat_interval_ms", &v) &&
			    json_object_get_int64(v) > 0)
				r->heartbeat_ms = json_object_get_int64(v);
			json_object_put(o);
			fangs_wire_response_clear(&rs);
			log_info("registered with %s as %s (heartbeat every %lld ms)", r->wire.url, r->id,
				 (long long)r->heartbeat_ms);
			free(body);
			return 0;
		}
		if (rc == 0 && (rs.status == 400 || rs.status == 401 || rs.status == 403)) {
			log_error("registration refused: %s", fangs_wire_response_error(&rs));
			fangs_wire_response_clear(&rs);
			free(body);
			return -1;
		}
		log_warn("registering: %s; retrying", rc ? fangs_error_last() : fangs_wire_response_error(&rs));
		fangs_wire_response_clear(&rs);
		nap(r, delay);
		delay = backoff_next(delay);
	}
	free(body);
	return -1;
}

static void *heartbeat_thread(void *arg)
{
	runner *r = arg;
	fangs_wire_client *c = NULL;
	char path[300];

	snprintf(path, sizeof(path), "/v1/runners/%s/heartbeat", r->id);
	if (fangs_wire_client_new(&c, &r->wire))
		return NULL;
	while (!r->stopping) {
		fangs_wire_response rs;
		nap(r, r->heartbeat_ms);
		if (r->stopping)
			break;
		if (fangs_wire_request(c, "POST", path, NULL, "{}", 2, 10000, &rs)) {
			log_warn("heartbeat: %s", fangs_error_last());
			continue;
		}
		if (rs.status == 404) {
			pthread_mutex_lock(&r->lock);
			r->need_register = 1;
			pthread_mutex_unlock(&r->lock);
		}
		fangs_wire_response_clear(&rs);
	}
	fangs_wire_client_free(c);
	return NULL;
}

static void *signal_thread(void *arg)
{
	runner *r = arg;
	sigset_t sigs;
	int sig = 0;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	while (sigwait(&sigs, &sig) == 0) {
		if (!r->stopping) {
			log_info("%s: taking no new scans; finishing the running ones",
				 sig == SIGTERM ? "SIGTERM" : "SIGINT");
			r->stopping = 1;
		} else {
			log_info("stopping now");
			r->stopping = 2;
		}
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/* Asks for work and starts it; returns when stopping. */
static void work_loop(runner *r, fangs_wire_client *c)
{
	char path[300];
	int64_t delay = 200;

	snprintf(path, sizeof(path), "/v1/runners/%s/jobs?wait_ms=20000", r->id);
	while (!r->stopping) {
		fangs_wire_response rs;
		job *j = NULL;
		int rc, again;

		pthread_mutex_lock(&r->lock);
		while (r->active >= r->max_scans && !r->stopping)
			pthread_cond_wait(&r->cond, &r->lock);
		again = r->need_register;
		r->need_register = 0;
		pthread_mutex_unlock(&r->lock);
		if (r->stopping)
			break;
		if (again && do_register(r, c))
			break;
		rc = fangs_wire_request(c, "GET", path, NULL, NULL, 0, 60000, &rs);
		if (rc == FANGS_ECANCELED)
			break;
		if (rc) {
			log_warn("asking for work: %s; retrying", fangs_error_last());
			nap(r, delay);
			delay = backoff_next(delay);
			continue;
		}
		delay = 200;
		if (rs.status == 204) {
			fangs_wire_response_clear(&rs);
			continue;
		}
		if (rs.status == 404) {
			log_warn("the orchestrator does not know this runner: registering again");
			pthread_mutex_lock(&r->lock);
			r->need_register = 1;
			pthread_mutex_unlock(&r->lock);
			fangs_wire_response_clear(&rs);
			continue;
		}
		if (rs.status != 200 || !(j = calloc(1, sizeof(*j))) ||
		    fangs_wire_scan_decode(&j->scan, rs.body, rs.len) || !j->scan.run_id[0]) {
			log_warn("asking for work: HTTP %ld: %s", rs.status,
				 rs.status == 200 ? "a job the runner cannot read" : fangs_wire_response_error(&rs));
			if (j)
				fangs_wire_scan_clear(&j->scan);
			free(j);
			fangs_wire_response_clear(&rs);
			nap(r, 1000);
			continue;
		}
		fangs_wire_response_clear(&rs);
		j->r = r;
		pthread_mutex_lock(&r->lock);
		r->active++;
		pthread_mutex_unlock(&r->lock);
		if (pthread_create(&j->thread, NULL, job_thread, j)) {
			log_error("cannot start a thread for run %s", j->scan.run_id);
			pthread_mutex_lock(&r->lock);
			r->active--;
			pthread_mutex_unlock(&r->lock);
			fangs_wire_scan_clear(&j->scan);
			free(j);
			continue;
		}
		pthread_detach(j->thread);
	}
}

int main(int argc, char **argv)
{
	enum {
		O_ORCH = 256,
		O_ID,
		O_REGISTRY,
		O_MAX,
		O_CERT,
		O_KEY,
		O_CA,
		O_TOKEN_FILE,
		O_CONFIG,
		O_SANDBOX,
		O_NETWORK,
		O_DURATION,
		O_GRACE,
		O_WORK,
		O_CACHE,
		O_VERBOSE,
		O_HELP
	};
	static const struct option longopts[] = {
		{"orchestrator", required_argument, NULL, O_ORCH},
		{"runner-id", required_argument, NULL, O_ID},
		{"registry", required_argument, NULL, O_REGISTRY},
		{"max-scans", required_argument, NULL, O_MAX},
		{"tls-cert", required_argument, NULL, O_CERT},
		{"tls-key", required_argument, NULL, O_KEY},
		{"ca", required_argument, NULL, O_CA},
		{"token-file", required_argument, NULL, O_TOKEN_FILE},
		{"config", required_argument, NULL, O_CONFIG},
		{"sandbox", required_argument, NULL, O_SANDBOX},
		{"network", required_argument, NULL, O_NETWORK},
		{"duration-ms", required_argument, NULL, O_DURATION},
		{"grace-ms", required_argument, NULL, O_GRACE},
		{"work-root", required_argument, NULL, O_WORK},
		{"cache-dir", required_argument, NULL, O_CACHE},
		{"verbose", no_argument, NULL, O_VERBOSE},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *f_orch = NULL, *f_id = NULL, *f_registry = NULL, *f_cert = NULL, *f_key = NULL, *f_ca = NULL;
	const char *f_config = NULL, *f_token = NULL;
	char *token = NULL;
	int64_t f_max = 0;
	int opt, verbose = 0, rc = 1;
	runner r;
	fangs_config *cfg = NULL;
	fangs_wire_client *c = NULL;
	char host[256] = "";
	sigset_t sigs;
	pthread_t hb, sg;

	memset(&r, 0, sizeof(r));
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_ORCH:
			f_orch = optarg;
			break;
		case O_ID:
			f_id = optarg;
			break;
		case O_REGISTRY:
			f_registry = optarg;
			break;
		case O_MAX:
			f_max = positive_arg(optarg, "--max-scans");
			break;
		case O_CERT:
			f_cert = optarg;
			break;
		case O_KEY:
			f_key = optarg;
			break;
		case O_CA:
			f_ca = optarg;
			break;
		case O_TOKEN_FILE:
			f_token = optarg;
			break;
		case O_CONFIG:
			f_config = optarg;
			break;
		case O_SANDBOX:
			r.sandbox = optarg;
			break;
		case O_NETWORK:
			r.network = optarg;
			break;
		case O_DURATION:
			r.duration_ms = positive_arg(optarg, "--duration-ms");
			break;
		case O_GRACE:
			r.grace_ms = positive_arg(optarg, "--grace-ms");
			break;
		case O_WORK:
			r.work_root = optarg;
			break;
		case O_CACHE:
			r.cache_dir = optarg;
			break;
		case O_VERBOSE:
			verbose = 1;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	log_route_library(verbose);
	if (load_config(f_config, &cfg))
		return 2;
	gethostname(host, sizeof(host) - 1);
	r.cfg = cfg;
	/* the orchestrator takes only printable hostnames: another is not sent */
	r.hostname = host[0] && fangs_text_is_clean(host, strlen(host), 255) ? host : NULL;
	if (!r.hostname)
		log_warn("the hostname is not printable text: registering without it");
	r.id = setting(f_id, "FANGS_RUNNER_ID", cfg->runner.id ? cfg->runner.id : host);
	r.max_scans = f_max ? (int)f_max : (int)cfg->runner.max_scans;
	r.registry = setting(f_registry, "FANGS_REGISTRY", cfg->registry);
	if (!r.sandbox)
		r.sandbox = cfg->runner.sandbox;
	if (r.sandbox && fangs_sandbox_backend_check(r.sandbox)) {
		log_error("--sandbox: %s", fangs_error_last());
		fangs_config_free(cfg);
		return 2;
	}
	if (!r.duration_ms && cfg->runner.duration_s)
		r.duration_ms = (int64_t)cfg->runner.duration_s * 1000;
	r.heartbeat_ms = 30000;
	r.wire = (fangs_wire_client_options)FANGS_WIRE_CLIENT_OPTIONS_INIT;
	r.wire.url = setting(f_orch, "FANGS_ORCHESTRATOR", cfg->runner.orchestrator);
	r.wire.tls_cert = setting(f_cert, "FANGS_TLS_CERT", cfg->runner.tls_cert);
	r.wire.tls_key = setting(f_key, "FANGS_TLS_KEY", cfg->runner.tls_key);
	r.wire.ca = setting(f_ca, "FANGS_CA", cfg->runner.ca);
	r.wire.runner_id = r.id;
	if (fangs_wire_token_load(setting(f_token, "FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN", &token)) {
		log_error("%s", fangs_error_last());
		fangs_config_free(cfg);
		return 1;
	}
	r.wire.token = token;
	unsetenv("FANGS_TOKEN"); /* nothing started from here inherits it */
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (!r.wire.url) {
		log_error("--orchestrator URL is required");
		usage(stderr);
		goto out;
	}
	{
		/* the poll ends at the first SIGTERM; results and events go on until the second */
		fangs_wire_client_options poll = r.wire;
		poll.cancel = &r.stopping;
		if (fangs_wire_client_new(&c, &poll)) {
			log_error("%s", fangs_error_last());
			goto out;
		}
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&sg, NULL, signal_thread, &r);
	pthread_detach(sg);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	log_info("runner %s: %d scan(s) at once, sandbox %s, registry %s", r.id, r.max_scans,
		 r.sandbox ? r.sandbox : "ns", r.registry ? r.registry : "from npm's configuration");
	{
		/* a runner that cannot scan here takes no jobs (it would fail every
		 * one): it says what is missing and stops */
		char why[512];
		if (fangs_sensor_check(why, sizeof(why))) {
			log_error("this machine cannot run the sensor: %s (docs/deploy.md lists what a runner needs)",
				  why);
			goto out;
		}
	}
	{
		/* a runner killed mid-scan left its sandbox (run directory, mounts,
		 * cgroups): gone before anything new starts. Making the sandbox
		 * checks it can work here (cgroups, user namespaces). */
		fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
		int removed = 0, grc;
		so.sandbox = r.sandbox;
		so.work_root = r.work_root;
		grc = fangs_scan_gc(&so, &removed);
		if (grc == FANGS_EUNSUPPORTED || grc == FANGS_EPERM) {
			log_error(
				"this machine cannot run the %s sandbox: %s (docs/deploy.md lists what a runner needs)",
				r.sandbox ? r.sandbox : "ns", fangs_error_last());
			goto out;
		}
		if (grc)
			log_warn("removing leftovers of killed scans: %s", fangs_error_last());
		else if (removed)
			log_info("removed %d leftover%s of killed scans", removed, removed == 1 ? "" : "s");
	}
	/* the sensor is loaded once for the runner's life, ahead of the first
	 * scan; its scans, side by side, share it (routed by cgroup) */
	if (fangs_sensor_preload(NULL))
		log_warn("the eBPF sensor cannot load here: %s", fangs_error_last());
	if (do_register(&r, c) == 0) {
		pthread_create(&hb, NULL, heartbeat_thread, &r);
		work_loop(&r, c);
		/* the running scans finish and report before we go */
		pthread_mutex_lock(&r.lock);
		while (r.active > 0)
			pthread_cond_wait(&r.cond, &r.lock);
		pthread_mutex_unlock(&r.lock);
		r.stopping = r.stopping ? r.stopping : 1;
		pthread_join(hb, NULL);
		rc = 0;
	}
	log_info("stopped");
out:
	fangs_wire_client_free(c);
	fangs_config_free(cfg);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}
