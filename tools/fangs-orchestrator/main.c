/*
 * fangs-orchestrator - watches packages, queues scans, hands them to
 * runners, stores what they report and judges every finished run.
 *
 * Settings come from, strongest first: flags, environment variables
 * (FANGS_*), the YAML file (--config or FANGS_CONFIG), built-in defaults.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "settings.h"
#include "orchestrator.h"
#include "server.h"
#include "auth.h"

/* How often the leader checks that it still holds the lock. */
#define LEADER_CHECK_MS 250

static void usage(FILE *f)
{
	fprintf(f, "usage: fangs-orchestrator [--listen HOST:PORT] [--sqlite-path PATH | --postgres-dsn DSN]\n"
		   "                          [--registry URL] [--config FILE]\n"
		   "                          [--tls-cert F --tls-key F [--client-ca F] [--revoked F]] [--tokens F]\n"
		   "                          [--insecure-no-auth] [--public-reads] [--allow-insecure-remote]\n"
		   "                          [--heartbeat-timeout-ms N]\n"
		   "                          [--watch-interval-ms N] [--poll-max-ms N] [--rejudge-interval-ms N] "
		   "[--no-watch] [--verbose]\n"
		   "                          [--threads N] [--max-connections N] [--max-connections-per-ip N]\n"
		   "                          [--header-timeout-s N] [--body-timeout-s N] [--body-memory-mb N]\n"
		   "                          [--leader-interval-ms N] [--follow URL [--follow-since SEQ]\n"
		   "                           [--follow-interval-ms N] [--follow-limit N] [--follow-scope @S]...\n"
		   "                           [--follow-name GLOB]... [--follow-install-scripts] [--follow-popular "
		   "FILE]]\n"
		   "Environment: FANGS_CONFIG, FANGS_ORCHESTRATOR_LISTEN, FANGS_SQLITE_PATH, FANGS_POSTGRES_DSN,\n"
		   "FANGS_REGISTRY, FANGS_FOLLOW_URL, FANGS_TLS_CERT, FANGS_TLS_KEY, FANGS_CLIENT_CA, "
		   "FANGS_TOKENS_FILE; registry token\n"
		   "in the variable named by orchestrator.registry_token_env (default FANGS_REGISTRY_TOKEN).\n"
		   "Clients authenticate with a certificate of --client-ca or a token of --tokens (docs/security.md);\n"
		   "--insecure-no-auth lets anyone who can connect do everything; --public-reads lets anyone read\n"
		   "packages, runs, events and findings (docs/api.md) without a credential.\n");
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1))) {
		if (fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else {
			data[n] = '\0';
		}
	}
	fclose(f);
	return data;
}

/* A positive number at most `max`, or exit 2. */
static int64_t bounded_arg(const char *v, const char *flag, int64_t max)
{
	int64_t n = positive_arg(v, flag);
	if (n > max) {
		fprintf(stderr, "%s: at most %lld\n", flag, (long long)max);
		exit(2);
	}
	return n;
}

/* Every connection is a descriptor: raise the soft limit to the hard one,
 * and keep the connection limit below it (storage, logs, the listening
 * socket and the workers' epoll need some). */
static int fit_connections(server_options *sv)
{
	struct rlimit rl;
	unsigned want = sv->max_connections ? sv->max_connections : SERVER_MAX_CONNECTIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + 128 > rl.rlim_cur) {
		if (rl.rlim_cur <= 256) {
			log_error("the descriptor limit (%llu) is too low to serve", (unsigned long long)rl.rlim_cur);
			return -1;
		}
		log_warn("at most %llu connections: the descriptor limit is %llu",
			 (unsigned long long)(rl.rlim_cur - 128), (unsigned long long)rl.rlim_cur);
		sv->max_connections = (unsigned)(rl.rlim_cur - 128);
	}
	return 0;
}

/* Appends a copy of `s` to a NULL-terminated list; -1 when out of memory. */
static int list_add(char ***list, size_t *n, const char *s)
{
	char **nl = realloc(*list, (*n + 2) * sizeof(*nl));
	if (!nl)
		return -1;
	*list = nl;
	if (!(nl[*n] = strdup(s)))
		return -1;
	nl[++*n] = NULL;
	return 0;
}

/* Tries to be (or stay) the leader; logs every change. */
static void leadership(orch *o, const fangs_storage_options *so)
{
	int now = 1, was = is_leader(o);
	if (o->leader_st == NULL && so && strcmp(fangs_storage_backend_name(o->st), "sqlite") != 0) {
		/* its own session: the lock lives and dies with it */
		if (fangs_storage_open(&o->leader_st, so)) {
			log_warn("leader: cannot open its session: %s", fangs_error_last());
			now = 0;
		}
	}
	if (o->leader_st && fangs_storage_leader_try(o->leader_st, &now)) {
		/* no answer: another may have taken it meanwhile */
		log_warn("leader: %s", fangs_error_last());
		now = 0;
	}
	if (now == was)
		return;
	__atomic_store_n(&o->leader, now, __ATOMIC_RELEASE);
	metrics_add(o, &o->m.leader_changes, 1);
	if (now) {
		o->leader_since_ns = now_wall_ns();
		log_info("leader: this orchestrator is the leader now (watcher, follower, eviction, retention)");
	} else {
		log_warn("leader: this orchestrator is no longer the leader (another took over or the database is "
			 "away)");
	}
}

static void list_free(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

/* The settings: first what the flags say, then (resolve_settings) each one
 * the flags left out from the environment, the file or the default. */
typedef struct settings {
	const char *listen, *sqlite, *pg, *registry, *config, *cert, *key, *ca, *revoked, *tokens;
	const char *follow, *fsince, *fpopular;
	int64_t hb, watch, poll, rejudge, leader, finterval, flimit;
	int64_t threads, maxconn, perip, hdrto, bodyto, bodymem;
	int insecure, no_auth, public_reads, no_watch, verbose, fscripts, help;
	int sqlite_flag;        /* --sqlite-path given: SQLite, whatever the DSN */
	char **scopes, **names; /* NULL-terminated; the flags' replace the file's */
	size_t n_scopes, n_names;
} settings;

/* The flags: each sets one field of `settings` (checked to be of its kind's
 * type); `max` bounds a number (0: any positive). */
enum flag_kind {
	FLAG_TEXT,
	FLAG_ON,
	FLAG_NUMBER,
	FLAG_SCOPE,
	FLAG_NAME,
	FLAG_HELP
};
typedef struct flag {
	const char *name;
	enum flag_kind kind;
	size_t off;
	int64_t max;
} flag;
#define FIELD(f, type) (offsetof(settings, f) + 0 * sizeof(_Generic(((settings *)0)->f, type: 1)))
#define TEXT(n, f) {n, FLAG_TEXT, FIELD(f, const char *), 0}
#define ON(n, f) {n, FLAG_ON, FIELD(f, int), 0}
#define NUMBER(n, f, max) {n, FLAG_NUMBER, FIELD(f, int64_t), max}
static const flag flags[] = {
	TEXT("listen", listen),
	TEXT("sqlite-path", sqlite),
	TEXT("postgres-dsn", pg),
	TEXT("registry", registry),
	TEXT("config", config),
	TEXT("tls-cert", cert),
	TEXT("tls-key", key),
	TEXT("client-ca", ca),
	TEXT("revoked", revoked),
	ON("allow-insecure-remote", insecure),
	TEXT("tokens", tokens),
	ON("insecure-no-auth", no_auth),
	ON("public-reads", public_reads),
	NUMBER("heartbeat-timeout-ms", hb, 0),
	NUMBER("watch-interval-ms", watch, 0),
	NUMBER("poll-max-ms", poll, 0),
	NUMBER("rejudge-interval-ms", rejudge, 0),
	ON("no-watch", no_watch),
	ON("verbose", verbose),
	{"help", FLAG_HELP, 0, 0},
	NUMBER("threads", threads, 256),
	NUMBER("max-connections", maxconn, 1000000),
	NUMBER("max-connections-per-ip", perip, 1000000),
	NUMBER("header-timeout-s", hdrto, 3600),
	NUMBER("body-timeout-s", bodyto, 3600),
	NUMBER("body-memory-mb", bodymem, 1 << 20),
	NUMBER("leader-interval-ms", leader, 3600000),
	TEXT("follow", follow),
	TEXT("follow-since", fsince),
	NUMBER("follow-interval-ms", finterval, 86400000),
	NUMBER("follow-limit", flimit, 10000),
	{"follow-scope", FLAG_SCOPE, 0, 0},
	{"follow-name", FLAG_NAME, 0, 0},
	ON("follow-install-scripts", fscripts),
	TEXT("follow-popular", fpopular),
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

/* Everything the orchestrator holds from start to exit: teardown() frees
 * it whatever step start-up stopped at. */
typedef struct orchestrator {
	settings s;
	fangs_config *cfg;
	fangs_storage_options so;
	server_options sv;
	orch o;
	struct MHD_Daemon *http;
	char *cert_pem, *key_pem, *revoked_default;
	sigset_t sigs;
	int curl_on;
	pthread_t watcher, follower;
	int watcher_on, follower_on;
} orchestrator;

/* One flag into `s`: 0, or the exit status. */
static int take_flag(settings *s, const flag *f, const char *v)
{
	char name[64];
	void *field = (char *)s + f->off;

	snprintf(name, sizeof(name), "--%s", f->name);
	switch (f->kind) {
	case FLAG_TEXT:
		*(const char **)field = v;
		return 0;
	case FLAG_ON:
		*(int *)field = 1;
		return 0;
	case FLAG_NUMBER:
		*(int64_t *)field = f->max ? bounded_arg(v, name, f->max) : positive_arg(v, name);
		return 0;
	case FLAG_SCOPE:
		if (v[0] != '@' || !v[1] || strchr(v, '/')) {
			fprintf(stderr, "--follow-scope: a scope is @name (got '%s')\n", v);
			return 2;
		}
		return list_add(&s->scopes, &s->n_scopes, v) ? 1 : 0;
	case FLAG_NAME:
		return list_add(&s->names, &s->n_names, v) ? 1 : 0;
	case FLAG_HELP:
		s->help = 1;
		return 0;
	}
	return 2;
}

/* The flags into `s`: 0 (s->help set after --help printed the usage), or
 * the exit status after saying why. */
static int parse_flags(settings *s, int argc, char **argv)
{
	struct option longopts[N_FLAGS + 1];
	int opt, rc;

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
		if ((rc = take_flag(s, &flags[opt - 256], optarg)) != 0)
			return rc;
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

/* The follower's settings the flags left out: the environment (its URL),
 * then the file, then the defaults. 0, or -1 when out of memory. */
static int resolve_follower(settings *s, const fangs_orchestrator_config *c)
{
	/* a list given by flags replaces the file's */
	size_t file_scopes = s->n_scopes ? 0 : c->n_follow_scopes, file_names = s->n_names ? 0 : c->n_follow_names;
	for (size_t i = 0; i < file_scopes; i++)
		if (list_add(&s->scopes, &s->n_scopes, c->follow_scopes[i]))
			return -1;
	for (size_t i = 0; i < file_names; i++)
		if (list_add(&s->names, &s->n_names, c->follow_names[i]))
			return -1;
	s->fscripts = s->fscripts || c->follow_install_scripts;
	if (!s->fsince)
		s->fsince = c->follow_since ? c->follow_since : "now";
	if (!s->finterval)
		s->finterval = c->follow_interval_s ? (int64_t)c->follow_interval_s * 1000 : 60000;
	if (!s->flimit)
		s->flimit = c->follow_limit ? (int64_t)c->follow_limit : 100;
	if (!s->fpopular)
		s->fpopular = c->follow_popular;
	s->follow = setting(s->follow, "FANGS_FOLLOW_URL", c->follow_url);
	return 0;
}

/* Every setting the flags left out: from the environment, the file or the
 * default. 0, or -1 when out of memory. */
static int resolve_settings(settings *s, const fangs_config *cfg)
{
	const fangs_orchestrator_config *c = &cfg->orchestrator;

	if (resolve_follower(s, c))
		return -1;
	if (!s->hb)
		s->hb = (int64_t)c->heartbeat_timeout_s * 1000;
	if (!s->poll)
		s->poll = 25000;
	if (!s->watch)
		s->watch = (int64_t)c->watch_interval_s * 1000;
	if (!s->leader)
		s->leader = 5000;
	/* runs whose analysis failed are judged again this often */
	if (!s->rejudge)
		s->rejudge = 60000;
	/* --sqlite-path wins over any DSN; a DSN flag or variable over the file's backend */
	s->sqlite_flag = s->sqlite != NULL;
	s->pg = setting(s->pg, "FANGS_POSTGRES_DSN", s->sqlite ? NULL : cfg->postgres_dsn);
	s->sqlite = setting(s->sqlite, "FANGS_SQLITE_PATH", cfg->sqlite_path);
	s->registry = setting(s->registry, "FANGS_REGISTRY", cfg->registry);
	s->cert = setting(s->cert, "FANGS_TLS_CERT", c->tls_cert);
	s->key = setting(s->key, "FANGS_TLS_KEY", c->tls_key);
	s->ca = setting(s->ca, "FANGS_CLIENT_CA", c->client_ca);
	s->revoked = setting(s->revoked, NULL, c->revoked);
	s->tokens = setting(s->tokens, "FANGS_TOKENS_FILE", NULL);
	s->listen = setting(s->listen, "FANGS_ORCHESTRATOR_LISTEN", c->listen);
	s->public_reads = s->public_reads || cfg->orchestrator_public_reads;
	return 0;
}

/* Settings that cannot go together: 0, or -1 after saying why. */
static int check_settings(const settings *s)
{
	if (s->follow && strncmp(s->follow, "http://", 7) && strncmp(s->follow, "https://", 8)) {
		log_error("--follow: not an http(s) URL: %s", s->follow);
		return -1;
	}
	if (!s->cert != !s->key || (s->ca && !s->cert)) {
		log_error("TLS needs --tls-cert and --tls-key together; --client-ca needs both");
		return -1;
	}
	if (s->no_auth && (s->ca || s->tokens)) {
		log_error("--insecure-no-auth cannot go with --client-ca or --tokens");
		return -1;
	}
	return 0;
}

/* The settings into the orchestrator's state and the server's options. */
static void apply_settings(orchestrator *d)
{
	settings *s = &d->s;
	orch *o = &d->o;

	o->cfg = d->cfg;
	o->heartbeat_timeout_ms = s->hb;
	o->poll_max_ms = s->poll;
	o->max_attempts = 2;
	o->watch_interval_ms = s->watch;
	o->watch_concurrency = d->cfg->orchestrator.watch_concurrency;
	o->prune_interval_ms = (int64_t)d->cfg->orchestrator.prune_interval_s * 1000;
	o->started_ns = now_wall_ns();
	o->body_budget = (size_t)s->bodymem << 20;
	o->leader_interval_ms = s->leader;
	o->follow_install_scripts = s->fscripts;
	o->follow_since = s->fsince;
	o->follow_interval_ms = s->finterval;
	o->follow_limit = (int)s->flimit;
	o->follow_scopes = s->scopes;
	o->follow_names = s->names;
	s->scopes = s->names = NULL;
	o->no_auth = s->no_auth;
	o->public_reads = s->public_reads;
	d->sv.threads = (unsigned)s->threads;
	d->sv.max_connections = (unsigned)s->maxconn;
	d->sv.max_per_ip = (unsigned)s->perip;
	d->sv.header_timeout_s = (unsigned)s->hdrto;
	d->sv.body_timeout_s = (unsigned)s->bodyto;
	d->sv.listen = s->listen;
	d->sv.allow_insecure_remote = s->insecure;
}

/* The configuration file, then every setting: 0, or the exit status. */
static int configure(orchestrator *d)
{
	log_route_library(d->s.verbose);
	if (load_config(d->s.config, &d->cfg))
		return 2;
	if (resolve_settings(&d->s, d->cfg) || check_settings(&d->s))
		return 1;
	apply_settings(d);
	return 0;
}

/* The change feed's URL (without trailing slashes) and popularity list: 0, or -1. */
static int open_follower(orchestrator *d)
{
	orch *o = &d->o;
	if (d->s.follow) {
		size_t n;
		if (!(o->follow_url = strdup(d->s.follow)))
			return -1;
		n = strlen(o->follow_url);
		while (n && o->follow_url[n - 1] == '/')
			o->follow_url[--n] = '\0';
	}
	if (d->s.fpopular && follower_load_popular(o, d->s.fpopular))
		return -1;
	return 0;
}

/* The storage, the differ and the watcher's registry: 0, or -1 after saying why. */
static int open_storage(orchestrator *d)
{
	const settings *s = &d->s;
	orch *o = &d->o;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	const char *token_env = d->cfg->orchestrator.registry_token_env, *token;

	d->so.backend = s->pg ? "postgres" : d->cfg->storage_backend;
	if (s->pg && !s->sqlite_flag)
		d->so.postgres_dsn = s->pg;
	d->so.sqlite_path = s->sqlite;
	if (s->sqlite_flag)
		d->so.backend = "sqlite";
	if (fangs_storage_open(&o->st, &d->so)) {
		log_error("storage: %s", fangs_error_last());
		return -1;
	}
	dopts.config = d->cfg;
	if (fangs_differ_new(&o->differ, &dopts)) {
		log_error("differ: %s", fangs_error_last());
		return -1;
	}
	/* registry for the watcher: never a built-in host */
	o->registry = s->registry ? strdup(s->registry) : npm_registry();
	if (o->registry) {
		size_t n = strlen(o->registry);
		while (n && o->registry[n - 1] == '/')
			o->registry[--n] = '\0';
	}
	token = token_env ? getenv(token_env) : NULL;
	if (token && *token)
		o->registry_token = strdup(token);
	return 0;
}

/* The server's certificate and key, the client CA and its revocation
 * list, the tokens file: 0, or -1 after saying why. */
static int open_credentials(orchestrator *d)
{
	const settings *s = &d->s;
	orch *o = &d->o;

	if (s->cert) {
		if (!(d->cert_pem = read_text(s->cert)) || !(d->key_pem = read_text(s->key))) {
			log_error("cannot read %s or %s", s->cert, s->key);
			return -1;
		}
		d->sv.cert_pem = d->cert_pem;
		d->sv.key_pem = d->key_pem;
	}
	if (s->ca) {
		const char *revoked = s->revoked;
		char *dir;
		if (!(o->client_ca_pem = read_text(s->ca))) {
			log_error("cannot read %s", s->ca);
			return -1;
		}
		o->mtls = 1;
		/* a list named is required; the one next to the CA (where `fangs ca
		 * revoke` writes) may not exist yet */
		o->revoked_required = revoked != NULL;
		if (!revoked && (dir = strdup(s->ca))) {
			if (asprintf(&d->revoked_default, "%s/revoked.txt", dirname(dir)) > 0)
				revoked = d->revoked_default;
			else
				d->revoked_default = NULL;
			free(dir);
		}
		o->revoked_path = revoked ? strdup(revoked) : NULL;
	}
	o->tokens_path = s->tokens ? strdup(s->tokens) : NULL;
	o->tls = d->sv.cert_pem != NULL;
	return auth_preflight(o);
}

/* The follower and the watcher, each when it is to run. */
static void start_threads(orchestrator *d)
{
	orch *o = &d->o;
	int no_watch = d->s.no_watch;

	if (o->follow_url && (!o->registry || no_watch)) {
		log_warn("follower: off: %s", no_watch ? "--no-watch" : "no registry to fetch packuments from");
	} else if (o->follow_url && follower_start(o, &d->follower) == 0) {
		d->follower_on = o->follow_on = 1;
		log_info("follower: %s/_changes every %lld ms, %d at a time%s%s%s%s, packuments from %s", o->follow_url,
			 (long long)o->follow_interval_ms, o->follow_limit, o->follow_scopes ? ", scopes" : "",
			 o->follow_names ? ", name patterns" : "",
			 o->follow_install_scripts ? ", install scripts only" : "", o->popular ? ", popular list" : "",
			 o->registry);
	}
	if (no_watch) {
		log_info("watcher: off (--no-watch)");
	} else if (!o->registry) {
		log_warn("watcher: off: no registry configured and `npm config get registry` gave none");
	} else if (watcher_start(o, &d->watcher) == 0) {
		d->watcher_on = 1;
		log_info("watcher: %s every %lld ms, %u at once%s", o->registry, (long long)o->watch_interval_ms,
			 o->watch_concurrency, o->registry_token ? ", with a token" : "");
	}
}

/* Signals, the server, leadership and the threads: 0, or -1 after saying why. */
static int start(orchestrator *d)
{
	orch *o = &d->o;

	/* signals are taken by this thread only */
	sigemptyset(&d->sigs);
	sigaddset(&d->sigs, SIGTERM);
	sigaddset(&d->sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &d->sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	d->curl_on = 1;

	if (fit_connections(&d->sv))
		return -1;
	if (server_start(o, &d->sv, &d->http))
		return -1;
	log_info("storage: %s; heartbeat timeout %lld ms", fangs_storage_backend_name(o->st),
		 (long long)o->heartbeat_timeout_ms);
	/* leadership first: the threads below work only while it is ours */
	leadership(o, &d->so);
	if (!o->leader_st)
		log_info("leader: always (%s storage serves one orchestrator)", fangs_storage_backend_name(o->st));
	start_threads(d);
	return 0;
}

/* Everything from the flags to the running threads: 0, or the exit status
 * (0 too after --help, with d->s.help set). */
static int start_up(orchestrator *d, int argc, char **argv)
{
	int rc = parse_flags(&d->s, argc, argv);
	if (rc || d->s.help)
		return rc;
	if ((rc = configure(d)) != 0)
		return rc;
	if (open_follower(d) || open_storage(d) || open_credentials(d) || start(d))
		return 1;
	return 0;
}

/* The retention pass: runs, events and finished jobs past the configured days. */
static void retention(orchestrator *d, int64_t now)
{
	fangs_prune_stats ps;
	int64_t cutoff = now - (int64_t)d->cfg->retention_days * 86400LL * 1000000000LL, jobs = 0;

	/* whole UTC days: PostgreSQL then drops days instead of deleting rows */
	cutoff -= cutoff % (86400LL * 1000000000LL);
	pthread_mutex_lock(&d->o.st_lock);
	if (fangs_storage_prune(d->o.st, cutoff, &ps) || fangs_storage_job_prune(d->o.st, cutoff, &jobs))
		log_warn("retention: %s", fangs_error_last());
	else if (ps.runs_deleted || ps.events_deleted || jobs)
		log_info("retention: %lld runs, %lld events and %lld finished jobs deleted", (long long)ps.runs_deleted,
			 (long long)ps.events_deleted, (long long)jobs);
	pthread_mutex_unlock(&d->o.st_lock);
}

/* When the leader's periodic work is next due; 0 = at once. */
typedef struct chores {
	int64_t evict, prune, rejudge;
} chores;

/* The work that runs once for all orchestrators: the leader's. */
static void leader_chores(orchestrator *d, int64_t now, chores *next)
{
	orch *o = &d->o;

	if (now >= next->evict) {
		dispatch_evict_stale(o);
		next->evict = now + o->heartbeat_timeout_ms * 1000000LL / 4;
	}
	if (now >= next->prune) {
		if (next->prune)
			retention(d, now);
		next->prune = now + o->prune_interval_ms * 1000000LL;
	}
	if (now >= next->rejudge) {
		if (next->rejudge)
			api_rejudge_failed(o, 8);
		next->rejudge = now + d->s.rejudge * 1000000LL;
	}
}

/* Until SIGTERM or SIGINT: leadership, reaping, the leader's chores. */
static void run(orchestrator *d)
{
	orch *o = &d->o;
	chores next = {0, 0, 0};
	int64_t next_leader = 0;

	for (;;) {
		struct timespec ts = {0, 200 * 1000000L};
		int64_t now;
		int sig = sigtimedwait(&d->sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: finishing the requests in flight, then stopping",
				 sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return;
		}
		server_reap();
		now = now_wall_ns();
		if (now >= next_leader) {
			int64_t every;
			leadership(o, &d->so);
			/* the leader checks its hold more often than a standby tries:
			 * a lost session (the database restarted) ends its work
			 * before another can have taken over */
			every = is_leader(o) && o->leader_interval_ms > LEADER_CHECK_MS ? LEADER_CHECK_MS
											: o->leader_interval_ms;
			next_leader = now_wall_ns() + every * 1000000LL;
		}
		if (!is_leader(o)) {
			next.evict = next.prune = next.rejudge = 0;
			continue;
		}
		leader_chores(d, now, &next);
	}
}

/* The orderly stop: the server, then the threads, then leadership. */
static void stop(orchestrator *d)
{
	orch *o = &d->o;

	server_stop(o, d->http);
	d->http = NULL;
	o->stopping = 1;
	if (d->watcher_on)
		pthread_join(d->watcher, NULL);
	if (d->follower_on)
		pthread_join(d->follower, NULL);
	/* the standby need not wait for our session to end */
	if (o->leader_st && is_leader(o) && fangs_storage_leader_release(o->leader_st) == 0)
		log_info("leader: given up");
	log_info("stopped");
}

/* Frees whatever start-up got to (all of it after stop()). */
static void teardown(orchestrator *d)
{
	orch *o = &d->o;

	if (d->http)
		server_stop(o, d->http);
	fangs_differ_free(o->differ);
	fangs_storage_free(o->st);
	fangs_storage_free(o->leader_st);
	follower_free(o);
	list_free(d->s.scopes);
	list_free(d->s.names);
	seen_free(o);
	fangs_config_free(d->cfg);
	free(o->registry);
	free(o->registry_token);
	free(o->client_ca_pem);
	free(o->revoked_path);
	free(o->tokens_path);
	auth_cleanup();
	free(d->revoked_default);
	free(d->cert_pem);
	free(d->key_pem);
	if (d->curl_on)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
	static orchestrator d; /* zero: nothing held yet */
	int rc;

	d.so = (fangs_storage_options)FANGS_STORAGE_OPTIONS_INIT;
	d.s.bodymem = SERVER_BODY_BUDGET_MB;
	pthread_mutex_init(&d.o.st_lock, NULL);
	pthread_mutex_init(&d.o.q_lock, NULL);
	pthread_cond_init(&d.o.q_cond, NULL);
	pthread_mutex_init(&d.o.in_lock, NULL);
	pthread_cond_init(&d.o.in_cond, NULL);
	pthread_mutex_init(&d.o.seen_lock, NULL);
	metrics_init(&d.o.m);
	rc = start_up(&d, argc, argv);
	if (rc == 0 && !d.s.help) {
		run(&d);
		stop(&d);
	}
	teardown(&d);
	return rc;
}
