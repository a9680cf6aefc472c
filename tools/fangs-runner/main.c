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
#include <stddef.h>
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

/* The settings: first what the flags say, then (configure) each one the
 * flags left out from the environment, the file or the default. */
typedef struct settings {
	const char *orch, *id, *registry, *cert, *key, *ca, *token_file, *config;
	const char *sandbox, *network, *work_root, *cache_dir;
	int64_t max, duration, grace;
	int verbose, help;
} settings;

/* The flags: each sets one field of `settings` (checked to be of its kind's type). */
enum flag_kind {
	FLAG_TEXT,
	FLAG_ON,
	FLAG_NUMBER,
	FLAG_HELP
};
typedef struct flag {
	const char *name;
	enum flag_kind kind;
	size_t off;
} flag;
#define FIELD(f, type) (offsetof(settings, f) + 0 * sizeof(_Generic(((settings *)0)->f, type: 1)))
#define TEXT(n, f) {n, FLAG_TEXT, FIELD(f, const char *)}
#define ON(n, f) {n, FLAG_ON, FIELD(f, int)}
#define NUMBER(n, f) {n, FLAG_NUMBER, FIELD(f, int64_t)}
static const flag flags[] = {
	TEXT("orchestrator", orch),
	TEXT("runner-id", id),
	TEXT("registry", registry),
	NUMBER("max-scans", max),
	TEXT("tls-cert", cert),
	TEXT("tls-key", key),
	TEXT("ca", ca),
	TEXT("token-file", token_file),
	TEXT("config", config),
	TEXT("sandbox", sandbox),
	TEXT("network", network),
	NUMBER("duration-ms", duration),
	NUMBER("grace-ms", grace),
	TEXT("work-root", work_root),
	TEXT("cache-dir", cache_dir),
	ON("verbose", verbose),
	{"help", FLAG_HELP, 0},
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

/* Everything the runner holds from start to exit: teardown() frees it
 * whatever step start-up stopped at. */
typedef struct runner_main {
	settings s;
	fangs_config *cfg;
	runner r;
	char host[256];
	char *token;
	fangs_wire_client *c; /* the work loop's */
	int curl_on;
} runner_main;

/* One flag into `s`. */
static void take_flag(settings *s, const flag *f, const char *v)
{
	char name[64];
	void *field = (char *)s + f->off;

	switch (f->kind) {
	case FLAG_TEXT:
		*(const char **)field = v;
		break;
	case FLAG_ON:
		*(int *)field = 1;
		break;
	case FLAG_NUMBER:
		snprintf(name, sizeof(name), "--%s", f->name);
		*(int64_t *)field = positive_arg(v, name);
		break;
	case FLAG_HELP:
		s->help = 1;
		break;
	}
}

/* The flags into `s`: 0 (s->help set after --help printed the usage), or
 * the exit status after saying why. */
static int parse_flags(settings *s, int argc, char **argv)
{
	struct option longopts[N_FLAGS + 1];
	int opt;

	memset(longopts, 0, sizeof(longopts));
	for (size_t i = 0; i < N_FLAGS; i++) {
		longopts[i].name = flags[i].name;
		longopts[i].has_arg =
			flags[i].kind == FLAG_ON || flags[i].kind == FLAG_HELP ? no_argument : required_argument;
		longopts[i].val = 256 + (int)i;
	}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt < 256 || opt >= 256 + (int)N_FLAGS) {
			usage(stderr);
			return 2;
		}
		take_flag(s, &flags[opt - 256], optarg);
		if (s->help) {
			usage(stdout);
			return 0;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The configuration file and every setting into the runner: 0, or the
 * exit status after saying why. */
static int configure(runner_main *m)
{
	const settings *s = &m->s;
	runner *r = &m->r;
	const fangs_config *cfg;

	log_route_library(s->verbose);
	if (load_config(s->config, &m->cfg))
		return 2;
	cfg = m->cfg;
	gethostname(m->host, sizeof(m->host) - 1);
	r->cfg = cfg;
	/* the orchestrator takes only printable hostnames: another is not sent */
	r->hostname = m->host[0] && fangs_text_is_clean(m->host, strlen(m->host), 255) ? m->host : NULL;
	if (!r->hostname)
		log_warn("the hostname is not printable text: registering without it");
	r->id = setting(s->id, "FANGS_RUNNER_ID", cfg->runner.id ? cfg->runner.id : m->host);
	r->max_scans = s->max ? (int)s->max : (int)cfg->runner.max_scans;
	r->registry = setting(s->registry, "FANGS_REGISTRY", cfg->registry);
	r->sandbox = s->sandbox ? s->sandbox : cfg->runner.sandbox;
	r->network = s->network;
	r->work_root = s->work_root;
	r->cache_dir = s->cache_dir;
	r->grace_ms = s->grace;
	r->duration_ms = s->duration ? s->duration : (int64_t)cfg->runner.duration_s * 1000;
	r->heartbeat_ms = 30000;
	r->wire = (fangs_wire_client_options)FANGS_WIRE_CLIENT_OPTIONS_INIT;
	r->wire.url = setting(s->orch, "FANGS_ORCHESTRATOR", cfg->runner.orchestrator);
	r->wire.tls_cert = setting(s->cert, "FANGS_TLS_CERT", cfg->runner.tls_cert);
	r->wire.tls_key = setting(s->key, "FANGS_TLS_KEY", cfg->runner.tls_key);
	r->wire.ca = setting(s->ca, "FANGS_CA", cfg->runner.ca);
	r->wire.runner_id = r->id;
	if (r->sandbox && fangs_sandbox_backend_check(r->sandbox)) {
		log_error("--sandbox: %s", fangs_error_last());
		return 2;
	}
	if (!r->wire.url) {
		log_error("--orchestrator URL is required");
		usage(stderr);
		return 1;
	}
	return 0;
}

/* The token (then gone from the environment) and the work loop's client:
 * 0, or -1 after saying why. */
static int open_client(runner_main *m)
{
	runner *r = &m->r;
	/* the poll ends at the first SIGTERM; results and events go on until the second */
	fangs_wire_client_options poll;

	if (fangs_wire_token_load(setting(m->s.token_file, "FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN", &m->token)) {
		log_error("%s", fangs_error_last());
		return -1;
	}
	r->wire.token = m->token;
	unsetenv("FANGS_TOKEN"); /* nothing started from here inherits it */
	poll = r->wire;
	poll.cancel = &r->stopping;
	if (fangs_wire_client_new(&m->c, &poll)) {
		log_error("%s", fangs_error_last());
		return -1;
	}
	return 0;
}

/* Whether this machine can scan: the sensor, then the sandbox (removing
 * what killed scans left). 0, or -1 after saying what is missing. */
static int check_machine(const runner *r)
{
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	char why[512];
	int removed = 0, grc;

	/* a runner that cannot scan here takes no jobs (it would fail every
	 * one): it says what is missing and stops */
	if (fangs_sensor_check(why, sizeof(why))) {
		log_error("this machine cannot run the sensor: %s (docs/deploy.md lists what a runner needs)", why);
		return -1;
	}
	/* a runner killed mid-scan left its sandbox (run directory, mounts,
	 * cgroups): gone before anything new starts. Making the sandbox
	 * checks it can work here (cgroups, user namespaces). */
	so.sandbox = r->sandbox;
	so.work_root = r->work_root;
	grc = fangs_scan_gc(&so, &removed);
	if (grc == FANGS_EUNSUPPORTED || grc == FANGS_EPERM) {
		log_error("this machine cannot run the %s sandbox: %s (docs/deploy.md lists what a runner needs)",
			  r->sandbox ? r->sandbox : "ns", fangs_error_last());
		return -1;
	}
	if (grc)
		log_warn("removing leftovers of killed scans: %s", fangs_error_last());
	else if (removed)
		log_info("removed %d leftover%s of killed scans", removed, removed == 1 ? "" : "s");
	return 0;
}

/* Signals (to their own thread) and libcurl, then the machine's check. */
static int start(runner_main *m)
{
	runner *r = &m->r;
	sigset_t sigs;
	pthread_t sg;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&sg, NULL, signal_thread, r);
	pthread_detach(sg);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m->curl_on = 1;
	log_info("runner %s: %d scan(s) at once, sandbox %s, registry %s", r->id, r->max_scans,
		 r->sandbox ? r->sandbox : "ns", r->registry ? r->registry : "from npm's configuration");
	return check_machine(r);
}

/* Everything from the flags to a runner ready to register: 0, or the exit
 * status (0 too after --help, with m->s.help set). */
static int start_up(runner_main *m, int argc, char **argv)
{
	int rc = parse_flags(&m->s, argc, argv);
	if (rc || m->s.help)
		return rc;
	if ((rc = configure(m)) != 0)
		return rc;
	if (open_client(m) || start(m))
		return 1;
	return 0;
}

/* Registers, takes work until stopped, then waits for the running scans
 * to finish and report: 0, or 1 when registration failed. */
static int run(runner_main *m)
{
	runner *r = &m->r;
	pthread_t hb;

	/* the sensor is loaded once for the runner's life, ahead of the first
	 * scan; its scans, side by side, share it (routed by cgroup) */
	if (fangs_sensor_preload(NULL))
		log_warn("the eBPF sensor cannot load here: %s", fangs_error_last());
	if (do_register(r, m->c)) {
		log_info("stopped");
		return 1;
	}
	pthread_create(&hb, NULL, heartbeat_thread, r);
	work_loop(r, m->c);
	/* the running scans finish and report before we go */
	pthread_mutex_lock(&r->lock);
	while (r->active > 0)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	r->stopping = r->stopping ? r->stopping : 1;
	pthread_join(hb, NULL);
	log_info("stopped");
	return 0;
}

/* Frees whatever start-up got to. */
static void teardown(runner_main *m)
{
	fangs_wire_client_free(m->c);
	fangs_config_free(m->cfg);
	if (m->token) {
		explicit_bzero(m->token, strlen(m->token));
		free(m->token);
	}
	if (m->curl_on)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	static runner_main m; /* zero: nothing held yet */
	int rc;

	pthread_mutex_init(&m.r.lock, NULL);
	pthread_cond_init(&m.r.cond, NULL);
	rc = start_up(&m, argc, argv);
	if (rc == 0 && !m.s.help)
		rc = run(&m);
	teardown(&m);
	return rc;
}
