/*
 * tools/fangs/main.c - the `fangs` command line: global options, which
 * storage, then the command table (cmdtab.c) runs the command.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdtab.h"
#include "commands.h"
#include "output.h"
#include "fangs-build-config.h"

int cli_fail(const char *what, int rc)
{
	const char *msg = fangs_error_last();
	print_error("%s: %s", what, msg && *msg ? msg : fangs_strerror(rc));
	return CLI_EXIT_ERROR;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* the arguments it names came from the command line, as typed or pasted */
	print_error("%s", msg ? msg : "usage error");
	free(msg);
	return CLI_EXIT_USAGE;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The database when nothing names one: $XDG_STATE_HOME/fangs/fangs.db,
 * /var/lib/fangs/fangs.db for root, ~/.local/state/fangs/fangs.db. */
static int default_sqlite_path(char *out, size_t cap)
{
	const char *state = env("XDG_STATE_HOME"), *home = env("HOME");
	struct passwd *pw;
	if (state && state[0] == '/')
		return snprintf(out, cap, "%s/fangs/fangs.db", state) >= (int)cap;
	if (geteuid() == 0)
		return snprintf(out, cap, "/var/lib/fangs/fangs.db") >= (int)cap;
	if (!home && (pw = getpwuid(geteuid())))
		home = pw->pw_dir;
	if (!home)
		return 1;
	return snprintf(out, cap, "%s/.local/state/fangs/fangs.db", home) >= (int)cap;
}

/* Creates the missing directories above `path` (0700). */
static int make_parents(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			print_error("cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Which storage: the command line, then the environment, then the
 * configuration file, then the default file (docs/cli.md). --sqlite-path
 * and FANGS_DB imply sqlite, --postgres-dsn and FANGS_POSTGRES_DSN postgres;
 * naming both at one level is a usage error. */
static int storage_conflicts(const cli_ctx *ctx)
{
	const char *backend = ctx->storage_backend;
	if (ctx->sqlite_path && ctx->postgres_dsn)
		return cli_usage_error("--sqlite-path and --postgres-dsn name two databases: give one");
	if (backend && !strcmp(backend, "sqlite") && ctx->postgres_dsn)
		return cli_usage_error("--storage sqlite does not take --postgres-dsn");
	if (backend && !strcmp(backend, "postgres") && ctx->sqlite_path)
		return cli_usage_error("--storage postgres does not take --sqlite-path");
	if (!backend && !ctx->sqlite_path && !ctx->postgres_dsn && (env("FANGS_DB") || env("FANGS_SQLITE_PATH")) &&
	    env("FANGS_POSTGRES_DSN"))
		return cli_usage_error("FANGS_DB (or FANGS_SQLITE_PATH) and FANGS_POSTGRES_DSN name two databases: "
				       "unset one, or choose with --storage");
	return 0;
}

static int choose_storage(cli_ctx *ctx, fangs_storage_options *o, const char **why, char *buf, size_t cap)
{
	const fangs_config *cfg = ctx->config;
	const char *env_path = env("FANGS_DB") ? env("FANGS_DB") : env("FANGS_SQLITE_PATH");
	const char *env_dsn = env("FANGS_POSTGRES_DSN");
	const char *backend = ctx->storage_backend;

	if (storage_conflicts(ctx))
		return CLI_EXIT_USAGE;
	if (!backend && ctx->postgres_dsn)
		backend = "postgres";
	if (!backend && ctx->sqlite_path)
		backend = "sqlite";
	if (!backend && env_path)
		backend = "sqlite";
	if (!backend && env_dsn)
		backend = "postgres";
	if (!backend && (cfg->storage_set & FANGS_CONFIG_SET_BACKEND))
		backend = cfg->storage_backend;
	if (!backend && (cfg->storage_set & FANGS_CONFIG_SET_POSTGRES_DSN) &&
	    !(cfg->storage_set & FANGS_CONFIG_SET_SQLITE_PATH))
		backend = "postgres";
	if (!backend)
		backend = "sqlite";
	o->backend = backend;
	if (!strcmp(backend, "postgres")) {
		o->postgres_dsn = ctx->postgres_dsn ? ctx->postgres_dsn : env_dsn ? env_dsn : cfg->postgres_dsn;
		if (!o->postgres_dsn || !*o->postgres_dsn)
			return cli_usage_error("postgres storage needs --postgres-dsn, FANGS_POSTGRES_DSN or "
					       "storage.postgres_dsn");
		return 0;
	}
	if (ctx->sqlite_path) {
		o->sqlite_path = ctx->sqlite_path;
		*why = "--sqlite-path";
	} else if (env_path) {
		o->sqlite_path = env_path;
		*why = env("FANGS_DB") ? "$FANGS_DB" : "$FANGS_SQLITE_PATH";
	} else if (cfg->storage_set & FANGS_CONFIG_SET_SQLITE_PATH) {
		o->sqlite_path = cfg->sqlite_path;
		*why = "storage.sqlite_path of the configuration";
	} else {
		if (default_sqlite_path(buf, cap))
			return cli_usage_error(
				"no database named and no home directory: give --sqlite-path or FANGS_DB");
		o->sqlite_path = buf;
		*why = "the default location";
	}
	return 0;
}

fangs_storage *cli_open_storage(cli_ctx *ctx)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st = NULL;
	const char *why = NULL;
	char buf[4096];
	struct stat sb;
	int rc;

	if (choose_storage(ctx, &o, &why, buf, sizeof(buf)))
		return NULL;
	if (o.sqlite_path && strcmp(o.sqlite_path, ":memory:")) {
		int creates = ctx->cmd && (ctx->cmd->flags & CLI_CREATES_DB);
		if (stat(o.sqlite_path, &sb) && errno == ENOENT) {
			if (!creates) {
				print_error("no database at %s (%s); nothing recorded yet. `fangs scan`, `fangs events "
					    "import`, `fangs package add` create it; --sqlite-path, FANGS_DB or "
					    "storage.sqlite_path name another",
					    o.sqlite_path, why);
				return NULL;
			}
			if (make_parents(o.sqlite_path))
				return NULL;
		}
	}
	rc = fangs_storage_open(&st, &o);
	if (rc) {
		cli_fail("cannot open storage", rc);
		return NULL;
	}
	return st;
}

int cli_resolve_run(fangs_storage *st, const char *arg, char *out, size_t cap)
{
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	fangs_run r = {0};
	size_t n = 0, len = strlen(arg), first = 0;
	int rc = fangs_storage_run_get(st, arg, &r);

	if (rc == 0) {
		snprintf(out, cap, "%s", r.id);
		fangs_run_clear(&r);
		return 0;
	}
	if (rc != FANGS_ENOTFOUND)
		return cli_fail("run", rc);
	/* a unique prefix of an id */
	if (len && (rc = fangs_storage_run_list(st, &f, &runs)))
		return cli_fail("run", rc);
	for (size_t i = 0; i < runs.count; i++)
		if (!strncmp(runs.items[i].id, arg, len) && n++ == 0)
			first = i;
	if (n == 1)
		snprintf(out, cap, "%s", runs.items[first].id);
	else if (n == 0)
		print_error("no run '%s'", arg);
	else {
		print_error("'%s' is the start of %zu run ids; give more of one:", arg, n);
		for (size_t i = 0, shown = 0; i < runs.count && shown < 20; i++)
			if (!strncmp(runs.items[i].id, arg, len)) {
				fprintf(stderr, "  %s  %s@%s\n", tx(runs.items[i].id), tx(runs.items[i].package),
					txd(runs.items[i].version, "-"));
				shown++;
			}
	}
	fangs_run_list_free(&runs);
	return n == 1 ? 0 : CLI_EXIT_ERROR;
}

fangs_storage *cli_open_run_id(cli_ctx *ctx, const char *arg, char *id, size_t cap)
{
	fangs_storage *st = cli_open_storage(ctx);

	if (st && cli_resolve_run(st, arg, id, cap)) {
		fangs_storage_free(st);
		return NULL;
	}
	return st;
}

fangs_storage *cli_open_run(cli_ctx *ctx, const char *arg, const char *what, fangs_run *r)
{
	char id[FANGS_RUN_ID_MAX];
	fangs_storage *st = cli_open_run_id(ctx, arg, id, sizeof(id));
	int rc;

	if (!st)
		return NULL;
	if ((rc = fangs_storage_run_get(st, id, r))) {
		cli_fail(what, rc);
		fangs_storage_free(st);
		return NULL;
	}
	return st;
}

static int is_help_word(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-help") || !strcmp(a, "-h");
}

/* Global options may stand anywhere before "--" (and before the CMD of
 * trace, whose arguments are CMD's own); they are removed from argv. */
static int take_globals(cli_ctx *ctx, int *argc, char **argv)
{
	const char *command = NULL;
	int out = 1, stop_at_arg = 0;
	for (int i = 1; i < *argc; i++) {
		char *a = argv[i];
		const char *name = a;
		char *val = NULL;
		if (!strcmp(a, "--") || (stop_at_arg && (a[0] != '-' || a[1] == '\0'))) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			argv[out++] = a;
			if (!command)
				stop_at_arg = cli_stops_at_arg(command = a);
			continue;
		}
		if (stop_at_arg && cli_opt_takes_value(command, a) && i + 1 < *argc) {
			argv[out++] = a; /* trace --output FILE: FILE is no CMD */
			argv[out++] = argv[++i];
			continue;
		}
		name += (a[1] == '-') ? 2 : 1;
		char key[32];
		size_t kl = strcspn(name, "=");
		if (kl >= sizeof(key)) {
			argv[out++] = a;
			continue;
		}
		memcpy(key, name, kl);
		key[kl] = '\0';
		if (name[kl] == '=')
			val = (char *)name + kl + 1;
		const char **slot = NULL;
		if (!strcmp(key, "json") && !val) {
			ctx->json = 1;
			continue;
		}
		if ((!strcmp(key, "v") || !strcmp(key, "verbose")) && !val) {
			ctx->verbose++;
			continue;
		}
		if (!strcmp(key, "storage"))
			slot = &ctx->storage_backend;
		else if (!strcmp(key, "sqlite-path"))
			slot = &ctx->sqlite_path;
		else if (!strcmp(key, "postgres-dsn"))
			slot = &ctx->postgres_dsn;
		else if (!strcmp(key, "config"))
			slot = &ctx->config_path;
		if (!slot) {
			argv[out++] = a;
			continue;
		}
		if (!val) {
			if (i + 1 >= *argc)
				return cli_usage_error("option '%s' needs a value", a);
			if (is_help_word(argv[i + 1]))
				continue; /* fangs --config --help: the help, not a file named --help */
			val = argv[++i];
		}
		*slot = val;
	}
	argv[out] = NULL;
	*argc = out;
	if (ctx->storage_backend && fangs_storage_backend_check(ctx->storage_backend))
		return cli_usage_error("--storage must be sqlite or postgres, not '%s'", ctx->storage_backend);
	return 0;
}

/* Once the command line is valid: the configuration. */
static int load(cli_ctx *ctx)
{
	int rc;
	if (storage_conflicts(ctx))
		return CLI_EXIT_USAGE;
	rc = ctx->config_path ? fangs_config_load(&ctx->config, ctx->config_path) : fangs_config_new(&ctx->config);
	return rc ? cli_fail("configuration", rc) : 0;
}

int main(int argc, char **argv)
{
	cli_ctx ctx = {0};
	const char *e;
	int rc;

	ctx.prog = "fangs";
	if ((rc = take_globals(&ctx, &argc, argv)))
		return rc;
	if (!ctx.config_path && (e = getenv("FANGS_CONFIG")) && *e)
		ctx.config_path = e;
	fangs_log_set(fangs_log_stderr,
		      ctx.verbose >= 2 ? FANGS_LOG_DEBUG
		      : ctx.verbose    ? FANGS_LOG_INFO
				       : FANGS_LOG_WARN,
		      NULL);
	rc = cli_run(&ctx, argc, argv, load);
	/* A command's eBPF sensor (scan) stays loaded until now: detached here
	 * its probes go side by side, where the exit would release them one
	 * after the other (each uprobe waits for a grace period). */
	fangs_sensor_unload_idle();
	fangs_config_free(ctx.config);
	return rc;
}
