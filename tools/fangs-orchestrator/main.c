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

static void list_free(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
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

int main(int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_SQLITE,
		O_PG,
		O_REGISTRY,
		O_CONFIG,
		O_CERT,
		O_KEY,
		O_CA,
		O_REVOKED,
		O_INSECURE,
		O_TOKENS,
		O_NOAUTH,
		O_HB,
		O_WATCH,
		O_POLL,
		O_NOWATCH,
		O_VERBOSE,
		O_HELP,
		O_THREADS,
		O_MAXCONN,
		O_PERIP,
		O_HDRTO,
		O_BODYTO,
		O_BODYMEM,
		O_REJUDGE,
		O_PUBLIC,
		O_LEADER,
		O_FOLLOW,
		O_FSINCE,
		O_FINTERVAL,
		O_FLIMIT,
		O_FSCOPE,
		O_FNAME,
		O_FSCRIPTS,
		O_FPOPULAR
	};
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"sqlite-path", required_argument, NULL, O_SQLITE},
		{"postgres-dsn", required_argument, NULL, O_PG},
		{"registry", required_argument, NULL, O_REGISTRY},
		{"config", required_argument, NULL, O_CONFIG},
		{"tls-cert", required_argument, NULL, O_CERT},
		{"tls-key", required_argument, NULL, O_KEY},
		{"client-ca", required_argument, NULL, O_CA},
		{"revoked", required_argument, NULL, O_REVOKED},
		{"allow-insecure-remote", no_argument, NULL, O_INSECURE},
		{"tokens", required_argument, NULL, O_TOKENS},
		{"insecure-no-auth", no_argument, NULL, O_NOAUTH},
		{"public-reads", no_argument, NULL, O_PUBLIC},
		{"heartbeat-timeout-ms", required_argument, NULL, O_HB},
		{"watch-interval-ms", required_argument, NULL, O_WATCH},
		{"poll-max-ms", required_argument, NULL, O_POLL},
		{"rejudge-interval-ms", required_argument, NULL, O_REJUDGE},
		{"no-watch", no_argument, NULL, O_NOWATCH},
		{"verbose", no_argument, NULL, O_VERBOSE},
		{"help", no_argument, NULL, O_HELP},
		{"threads", required_argument, NULL, O_THREADS},
		{"max-connections", required_argument, NULL, O_MAXCONN},
		{"max-connections-per-ip", required_argument, NULL, O_PERIP},
		{"header-timeout-s", required_argument, NULL, O_HDRTO},
		{"body-timeout-s", required_argument, NULL, O_BODYTO},
		{"body-memory-mb", required_argument, NULL, O_BODYMEM},
		{"leader-interval-ms", required_argument, NULL, O_LEADER},
		{"follow", required_argument, NULL, O_FOLLOW},
		{"follow-since", required_argument, NULL, O_FSINCE},
		{"follow-interval-ms", required_argument, NULL, O_FINTERVAL},
		{"follow-limit", required_argument, NULL, O_FLIMIT},
		{"follow-scope", required_argument, NULL, O_FSCOPE},
		{"follow-name", required_argument, NULL, O_FNAME},
		{"follow-install-scripts", no_argument, NULL, O_FSCRIPTS},
		{"follow-popular", required_argument, NULL, O_FPOPULAR},
		{NULL, 0, NULL, 0},
	};
	const char *f_listen = NULL, *f_sqlite = NULL, *f_pg = NULL, *f_registry = NULL, *f_config = NULL;
	const char *f_cert = NULL, *f_key = NULL, *f_ca = NULL, *f_revoked = NULL, *f_tokens = NULL;
	int64_t f_hb = 0, f_watch = 0, f_poll = 0, f_bodymem = SERVER_BODY_BUDGET_MB, f_rejudge = 0;
	int insecure = 0, no_auth = 0, public_reads = 0, no_watch = 0, verbose = 0, opt, rc = 1;
	fangs_config *cfg = NULL;
	fangs_storage_options so = FANGS_STORAGE_OPTIONS_INIT;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	server_options sv = {0};
	struct MHD_Daemon *daemon = NULL;
	orch o;
	const char *token_env, *token;
	char *cert_pem = NULL, *key_pem = NULL, *revoked_default = NULL;
	pthread_t watcher;
	int watcher_on = 0;
	sigset_t sigs;
	int64_t next_evict = 0, next_prune = 0, next_rejudge = 0, rejudge_ms, next_leader = 0;
	int64_t f_leader = 0, f_finterval = 0, f_flimit = 0;
	const char *f_follow = NULL, *f_fsince = NULL, *f_fpopular = NULL;
	char **f_scopes = NULL, **f_names = NULL;
	size_t n_scopes = 0, n_names = 0;
	int f_fscripts = 0, follower_on = 0;
	pthread_t follower;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN:
			f_listen = optarg;
			break;
		case O_SQLITE:
			f_sqlite = optarg;
			break;
		case O_PG:
			f_pg = optarg;
			break;
		case O_REGISTRY:
			f_registry = optarg;
			break;
		case O_CONFIG:
			f_config = optarg;
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
		case O_REVOKED:
			f_revoked = optarg;
			break;
		case O_INSECURE:
			insecure = 1;
			break;
		case O_TOKENS:
			f_tokens = optarg;
			break;
		case O_NOAUTH:
			no_auth = 1;
			break;
		case O_PUBLIC:
			public_reads = 1;
			break;
		case O_HB:
			f_hb = positive_arg(optarg, "--heartbeat-timeout-ms");
			break;
		case O_WATCH:
			f_watch = positive_arg(optarg, "--watch-interval-ms");
			break;
		case O_POLL:
			f_poll = positive_arg(optarg, "--poll-max-ms");
			break;
		case O_REJUDGE:
			f_rejudge = positive_arg(optarg, "--rejudge-interval-ms");
			break;
		case O_NOWATCH:
			no_watch = 1;
			break;
		case O_VERBOSE:
			verbose = 1;
			break;
		case O_HELP:
			usage(stdout);
			rc = 0;
			goto out_flags;
		case O_THREADS:
			sv.threads = (unsigned)bounded_arg(optarg, "--threads", 256);
			break;
		case O_MAXCONN:
			sv.max_connections = (unsigned)bounded_arg(optarg, "--max-connections", 1000000);
			break;
		case O_PERIP:
			sv.max_per_ip = (unsigned)bounded_arg(optarg, "--max-connections-per-ip", 1000000);
			break;
		case O_HDRTO:
			sv.header_timeout_s = (unsigned)bounded_arg(optarg, "--header-timeout-s", 3600);
			break;
		case O_BODYTO:
			sv.body_timeout_s = (unsigned)bounded_arg(optarg, "--body-timeout-s", 3600);
			break;
		case O_BODYMEM:
			f_bodymem = bounded_arg(optarg, "--body-memory-mb", 1 << 20);
			break;
		case O_LEADER:
			f_leader = bounded_arg(optarg, "--leader-interval-ms", 3600000);
			break;
		case O_FOLLOW:
			f_follow = optarg;
			break;
		case O_FSINCE:
			f_fsince = optarg;
			break;
		case O_FINTERVAL:
			f_finterval = bounded_arg(optarg, "--follow-interval-ms", 86400000);
			break;
		case O_FLIMIT:
			f_flimit = bounded_arg(optarg, "--follow-limit", 10000);
			break;
		case O_FSCOPE:
			if (optarg[0] != '@' || !optarg[1] || strchr(optarg, '/')) {
				fprintf(stderr, "--follow-scope: a scope is @name (got '%s')\n", optarg);
				rc = 2;
				goto out_flags;
			}
			if (list_add(&f_scopes, &n_scopes, optarg))
				goto out_flags;
			break;
		case O_FNAME:
			if (list_add(&f_names, &n_names, optarg))
				goto out_flags;
			break;
		case O_FSCRIPTS:
			f_fscripts = 1;
			break;
		case O_FPOPULAR:
			f_fpopular = optarg;
			break;
		default:
			usage(stderr);
			rc = 2;
			goto out_flags;
		}
	}
	if (optind < argc) {
		usage(stderr);
		rc = 2;
		goto out_flags;
	}
	log_route_library(verbose);
	if (load_config(f_config, &cfg)) {
		rc = 2;
		goto out_flags;
	}

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.heartbeat_timeout_ms = f_hb ? f_hb : (int64_t)cfg->orchestrator.heartbeat_timeout_s * 1000;
	o.poll_max_ms = f_poll ? f_poll : 25000;
	o.max_attempts = 2;
	o.watch_interval_ms = f_watch ? f_watch : (int64_t)cfg->orchestrator.watch_interval_s * 1000;
	o.watch_concurrency = cfg->orchestrator.watch_concurrency;
	o.prune_interval_ms = (int64_t)cfg->orchestrator.prune_interval_s * 1000;
	o.started_ns = now_wall_ns();
	o.body_budget = (size_t)f_bodymem << 20;
	pthread_mutex_init(&o.st_lock, NULL);
	pthread_mutex_init(&o.q_lock, NULL);
	pthread_cond_init(&o.q_cond, NULL);
	pthread_mutex_init(&o.in_lock, NULL);
	pthread_cond_init(&o.in_cond, NULL);
	pthread_mutex_init(&o.seen_lock, NULL);
	metrics_init(&o.m);
	o.leader_interval_ms = f_leader ? f_leader : 5000;
	/* the follower: flags, then the environment (its URL), then the file */
	{
		const fangs_orchestrator_config *c = &cfg->orchestrator;
		/* a list given by flags replaces the file's */
		size_t file_scopes = n_scopes ? 0 : c->n_follow_scopes, file_names = n_names ? 0 : c->n_follow_names;
		for (size_t i = 0; i < file_scopes; i++)
			if (list_add(&f_scopes, &n_scopes, c->follow_scopes[i]))
				goto out;
		for (size_t i = 0; i < file_names; i++)
			if (list_add(&f_names, &n_names, c->follow_names[i]))
				goto out;
		o.follow_install_scripts = f_fscripts || c->follow_install_scripts;
		o.follow_since = f_fsince ? f_fsince : c->follow_since ? c->follow_since : "now";
		o.follow_interval_ms = f_finterval            ? f_finterval
				       : c->follow_interval_s ? (int64_t)c->follow_interval_s * 1000
							      : 60000;
		o.follow_limit = f_flimit ? (int)f_flimit : c->follow_limit ? (int)c->follow_limit : 100;
		if (!f_fpopular)
			f_fpopular = c->follow_popular;
		f_follow = setting(f_follow, "FANGS_FOLLOW_URL", c->follow_url);
	}
	o.follow_scopes = f_scopes;
	o.follow_names = f_names;
	f_scopes = f_names = NULL;
	if (f_follow) {
		size_t n;
		if (strncmp(f_follow, "http://", 7) && strncmp(f_follow, "https://", 8)) {
			log_error("--follow: not an http(s) URL: %s", f_follow);
			goto out;
		}
		if (!(o.follow_url = strdup(f_follow)))
			goto out;
		n = strlen(o.follow_url);
		while (n && o.follow_url[n - 1] == '/')
			o.follow_url[--n] = '\0';
	}
	if (f_fpopular && follower_load_popular(&o, f_fpopular))
		goto out;
	/* runs whose analysis failed are judged again this often */
	rejudge_ms = f_rejudge ? f_rejudge : 60000;

	/* storage */
	f_pg = setting(f_pg, "FANGS_POSTGRES_DSN", f_sqlite ? NULL : cfg->postgres_dsn);
	so.backend = f_pg ? "postgres" : cfg->storage_backend;
	if (f_pg && !f_sqlite)
		so.postgres_dsn = f_pg;
	so.sqlite_path = setting(f_sqlite, "FANGS_SQLITE_PATH", cfg->sqlite_path);
	if (f_sqlite)
		so.backend = "sqlite";
	if (fangs_storage_open(&o.st, &so)) {
		log_error("storage: %s", fangs_error_last());
		goto out;
	}
	dopts.config = cfg;
	if (fangs_differ_new(&o.differ, &dopts)) {
		log_error("differ: %s", fangs_error_last());
		goto out;
	}

	/* registry for the watcher: never a built-in host */
	{
		const char *r = setting(f_registry, "FANGS_REGISTRY", cfg->registry);
		o.registry = r ? strdup(r) : npm_registry();
		if (o.registry) {
			size_t n = strlen(o.registry);
			while (n && o.registry[n - 1] == '/')
				o.registry[--n] = '\0';
		}
		token_env = cfg->orchestrator.registry_token_env;
		token = token_env ? getenv(token_env) : NULL;
		if (token && *token)
			o.registry_token = strdup(token);
	}

	/* TLS */
	f_cert = setting(f_cert, "FANGS_TLS_CERT", cfg->orchestrator.tls_cert);
	f_key = setting(f_key, "FANGS_TLS_KEY", cfg->orchestrator.tls_key);
	f_ca = setting(f_ca, "FANGS_CLIENT_CA", cfg->orchestrator.client_ca);
	f_revoked = setting(f_revoked, NULL, cfg->orchestrator.revoked);
	if (!f_cert != !f_key || (f_ca && !f_cert)) {
		log_error("TLS needs --tls-cert and --tls-key together; --client-ca needs both");
		goto out;
	}
	if (f_cert) {
		if (!(cert_pem = read_text(f_cert)) || !(key_pem = read_text(f_key))) {
			log_error("cannot read %s or %s", f_cert, f_key);
			goto out;
		}
		sv.cert_pem = cert_pem;
		sv.key_pem = key_pem;
	}
	if (f_ca) {
		char *dir = strdup(f_ca);
		if (!(o.client_ca_pem = read_text(f_ca))) {
			log_error("cannot read %s", f_ca);
			free(dir);
			goto out;
		}
		o.mtls = 1;
		/* a list named is required; the one next to the CA (where `fangs ca
		 * revoke` writes) may not exist yet */
		o.revoked_required = f_revoked != NULL;
		if (!f_revoked && dir && asprintf(&revoked_default, "%s/revoked.txt", dirname(dir)) > 0)
			f_revoked = revoked_default;
		free(dir);
		o.revoked_path = f_revoked ? strdup(f_revoked) : NULL;
	}
	f_tokens = setting(f_tokens, "FANGS_TOKENS_FILE", NULL);
	o.tokens_path = f_tokens ? strdup(f_tokens) : NULL;
	o.no_auth = no_auth;
	o.public_reads = public_reads || cfg->orchestrator_public_reads;
	o.tls = sv.cert_pem != NULL;
	if (no_auth && (o.mtls || o.tokens_path)) {
		log_error("--insecure-no-auth cannot go with --client-ca or --tokens");
		goto out;
	}
	if (auth_preflight(&o))
		goto out;
	sv.listen = setting(f_listen, "FANGS_ORCHESTRATOR_LISTEN", cfg->orchestrator.listen);
	sv.allow_insecure_remote = insecure;

	/* signals are taken by this thread only */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (fit_connections(&sv))
		goto out;
	if (server_start(&o, &sv, &daemon))
		goto out;
	log_info("storage: %s; heartbeat timeout %lld ms", fangs_storage_backend_name(o.st),
		 (long long)o.heartbeat_timeout_ms);
	/* leadership first: the threads below work only while it is ours */
	leadership(&o, &so);
	next_leader = 0;
	if (!o.leader_st)
		log_info("leader: always (%s storage serves one orchestrator)", fangs_storage_backend_name(o.st));
	if (o.follow_url && (!o.registry || no_watch)) {
		log_warn("follower: off: %s", no_watch ? "--no-watch" : "no registry to fetch packuments from");
	} else if (o.follow_url && follower_start(&o, &follower) == 0) {
		follower_on = o.follow_on = 1;
		log_info("follower: %s/_changes every %lld ms, %d at a time%s%s%s%s, packuments from %s", o.follow_url,
			 (long long)o.follow_interval_ms, o.follow_limit, o.follow_scopes ? ", scopes" : "",
			 o.follow_names ? ", name patterns" : "",
			 o.follow_install_scripts ? ", install scripts only" : "", o.popular ? ", popular list" : "",
			 o.registry);
	}
	if (no_watch) {
		log_info("watcher: off (--no-watch)");
	} else if (!o.registry) {
		log_warn("watcher: off: no registry configured and `npm config get registry` gave none");
	} else if (watcher_start(&o, &watcher) == 0) {
		watcher_on = 1;
		log_info("watcher: %s every %lld ms, %u at once%s", o.registry, (long long)o.watch_interval_ms,
			 o.watch_concurrency, o.registry_token ? ", with a token" : "");
	}

	for (;;) {
		struct timespec ts = {0, 200 * 1000000L};
		int64_t now;
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: finishing the requests in flight, then stopping",
				 sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		server_reap();
		now = now_wall_ns();
		if (now >= next_leader) {
			int64_t every;
			leadership(&o, &so);
			/* the leader checks its hold more often than a standby tries:
			 * a lost session (the database restarted) ends its work
			 * before another can have taken over */
			every = is_leader(&o) && o.leader_interval_ms > LEADER_CHECK_MS ? LEADER_CHECK_MS
											: o.leader_interval_ms;
			next_leader = now_wall_ns() + every * 1000000LL;
		}
		/* the work that runs once for all orchestrators: the leader's */
		if (!is_leader(&o)) {
			next_evict = next_prune = next_rejudge = 0;
			continue;
		}
		if (now >= next_evict) {
			dispatch_evict_stale(&o);
			next_evict = now + o.heartbeat_timeout_ms * 1000000LL / 4;
		}
		if (now >= next_prune) {
			fangs_prune_stats ps;
			if (next_prune) {
				pthread_mutex_lock(&o.st_lock);
				int64_t cutoff = now - (int64_t)cfg->retention_days * 86400LL * 1000000000LL, jobs = 0;
				/* whole UTC days: PostgreSQL then drops days instead of deleting rows */
				cutoff -= cutoff % (86400LL * 1000000000LL);
				if (fangs_storage_prune(o.st, cutoff, &ps) ||
				    fangs_storage_job_prune(o.st, cutoff, &jobs))
					log_warn("retention: %s", fangs_error_last());
				else if (ps.runs_deleted || ps.events_deleted || jobs)
					log_info("retention: %lld runs, %lld events and %lld finished jobs deleted",
						 (long long)ps.runs_deleted, (long long)ps.events_deleted,
						 (long long)jobs);
				pthread_mutex_unlock(&o.st_lock);
			}
			next_prune = now + o.prune_interval_ms * 1000000LL;
		}
		if (now >= next_rejudge) {
			if (next_rejudge)
				api_rejudge_failed(&o, 8);
			next_rejudge = now + rejudge_ms * 1000000LL;
		}
	}
	server_stop(&o, daemon);
	daemon = NULL;
	o.stopping = 1;
	if (watcher_on)
		pthread_join(watcher, NULL);
	if (follower_on)
		pthread_join(follower, NULL);
	/* the standby need not wait for our session to end */
	if (o.leader_st && is_leader(&o) && fangs_storage_leader_release(o.leader_st) == 0)
		log_info("leader: given up");
	log_info("stopped");
	rc = 0;
out:
	if (daemon)
		server_stop(&o, daemon);
	fangs_differ_free(o.differ);
	fangs_storage_free(o.st);
	fangs_storage_free(o.leader_st);
	follower_free(&o);
	for (size_t i = 0; f_scopes && f_scopes[i]; i++)
		free(f_scopes[i]);
	free(f_scopes);
	for (size_t i = 0; f_names && f_names[i]; i++)
		free(f_names[i]);
	free(f_names);
	seen_free(&o);
	fangs_config_free(cfg);
	free(o.registry);
	free(o.registry_token);
	free(o.client_ca_pem);
	free(o.revoked_path);
	free(o.tokens_path);
	auth_cleanup();
	free(revoked_default);
	free(cert_pem);
	free(key_pem);
	curl_global_cleanup();
	return rc;

out_flags: /* before the set-up: only the flags' lists to free */
	list_free(f_scopes);
	list_free(f_names);
	return rc;
}
