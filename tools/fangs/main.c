/*
 * tools/fangs/main.c - the `fangs` command line: global options and dispatch.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "fangs-build-config.h"

static const char usage_text[] =
	"usage: fangs [global options] COMMAND [ARGS...]\n"
	"\n"
	"Watches what npm package releases do when installed and reports what is new.\n"
	"\n"
	"Commands:\n"
	"  scan [--sandbox ns|docker] [--network none|proxy|bridge] SPEC...\n"
	"                                                install SPEC in the sandbox under the sensor, report what is new\n"
	"  events import FILE --package P --version V   import an NDJSON recording as a run, diff it\n"
	"  run list|show                                 runs and their outcome\n"
	"  pending                                       runs waiting for a person to review\n"
	"  deviation list|show                           findings\n"
	"  baseline list|promote RUN                     what each package normally does\n"
	"  package list|add|remove|reset                 packages\n"
	"  release list                                  releases seen\n"
	"  allow list|add|remove                         allowlists (-kind -value -package -note)\n"
	"  rules list|show ID|test FILE.ndjson           behaviour rules; try them on a recording\n"
	"  prune [--days N]                              retention pruning\n"
	"  gc [--sandbox ns|docker] [--work-root DIR]    remove what killed scans left (run directories, cgroups)\n"
	"  notifier add|list|remove|test|history|deliver where findings are sent (webhooks, Slack, Discord)\n"
	"  scan submit -package P -version V [-runner R] [--orchestrator URL]\n"
	"                                                queue a scan on the orchestrator (FANGS_ORCHESTRATOR)\n"
	"  runner list                                   runners and their jobs\n"
	"  run fail RUN                                  mark a stuck run failed and end its job\n"
	"  ca init|issue NAME --role R|revoke NAME       certificates for mTLS between the daemons\n"
	"  token create|list|revoke                      bearer tokens for the orchestrator\n"
#if FANGS_HAVE_SENSOR
	"  sensor probes                                 which eBPF probes are live here\n"
	"  trace [--json] -- CMD ARGS...                 run CMD under the sensor, print its events\n"
#endif
	"  version                                       print the version\n"
	"\n"
	"Global options (also accepted after the command; single-dash long options work too):\n"
	"  --storage sqlite|postgres   storage backend (default: config, else sqlite)\n"
	"  --sqlite-path PATH          SQLite database file (default: config, else ./fangs.db)\n"
	"  --postgres-dsn DSN          PostgreSQL connection string\n"
	"  --config FILE               YAML configuration\n"
	"  --json                      machine-readable output (docs/cli.md)\n"
	"  -v, --verbose               log more to stderr\n"
	"  -h, --help                  this help; `fangs COMMAND --help` for a command\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage, 3 findings at or above --fail-on.\n";

struct command {
	const char *name;
	cli_cmd_fn fn;
};

static const struct command commands[] = {
	{"events", cmd_events},   {"run", cmd_run},         {"runs", cmd_run},
	{"pending", cmd_pending}, {"deviation", cmd_deviation}, {"deviations", cmd_deviation},
	{"baseline", cmd_baseline}, {"package", cmd_package}, {"packages", cmd_package},
	{"release", cmd_release}, {"releases", cmd_release}, {"allow", cmd_allow},
	{"prune", cmd_prune},     {"scan", cmd_scan},       {"rules", cmd_rules},
	{"notifier", cmd_notifier}, {"notifiers", cmd_notifier}, {"ca", cmd_ca},
	{"runner", cmd_runner},   {"runners", cmd_runner},  {"token", cmd_token},
	{"gc", cmd_gc},
#if FANGS_HAVE_SENSOR
	{"sensor", cmd_sensor},   {"trace", cmd_trace},
#endif
};

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-help") || !strcmp(arg, "-h");
}

int cli_dispatch(cli_ctx *ctx, int argc, char **argv, const char *usage, const cli_sub *subs, size_t n)
{
	char names[256] = "";
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(ctx, argc - 1, argv + 1);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "", subs[i].name);
	}
	return cli_usage_error("unknown %s subcommand '%s' (%s)", argv[0], argv[1], names);
}

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

fangs_storage *cli_open_storage(cli_ctx *ctx)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st = NULL;
	const char *env;
	int rc;

	o.backend = ctx->storage_backend ? ctx->storage_backend : ctx->config->storage_backend;
	o.sqlite_path = ctx->sqlite_path;
	if (!o.sqlite_path && (env = getenv("FANGS_SQLITE_PATH")) && *env)
		o.sqlite_path = env;
	if (!o.sqlite_path)
		o.sqlite_path = ctx->config->sqlite_path;
	o.postgres_dsn = ctx->postgres_dsn;
	if (!o.postgres_dsn && (env = getenv("FANGS_POSTGRES_DSN")) && *env)
		o.postgres_dsn = env;
	if (!o.postgres_dsn)
		o.postgres_dsn = ctx->config->postgres_dsn;
	rc = fangs_storage_open(&st, &o);
	if (rc) {
		cli_fail("cannot open storage", rc);
		return NULL;
	}
	return st;
}

/* Global options may stand anywhere before "--"; they are removed from argv. */
static int take_globals(cli_ctx *ctx, int *argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		char *a = argv[i];
		const char *name = a;
		char *val = NULL;
		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			argv[out++] = a;
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
			val = argv[++i];
		}
		*slot = val;
	}
	argv[out] = NULL;
	*argc = out;
	if (ctx->storage_backend && strcmp(ctx->storage_backend, "sqlite") && strcmp(ctx->storage_backend, "postgres"))
		return cli_usage_error("--storage must be sqlite or postgres, not '%s'", ctx->storage_backend);
	return 0;
}

int main(int argc, char **argv)
{
	cli_ctx ctx = {0};
	const char *env;
	int rc;

	ctx.prog = "fangs";
	if ((rc = take_globals(&ctx, &argc, argv)))
		return rc;
	if (!ctx.config_path && (env = getenv("FANGS_CONFIG")) && *env)
		ctx.config_path = env;
	fangs_log_set(fangs_log_stderr, ctx.verbose >= 2 ? FANGS_LOG_DEBUG : ctx.verbose ? FANGS_LOG_INFO : FANGS_LOG_WARN,
		      NULL);

	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("fangs %s\n", fangs_version());
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		rc = ctx.config_path ? fangs_config_load(&ctx.config, ctx.config_path) : fangs_config_new(&ctx.config);
		if (rc)
			return cli_fail("configuration", rc);
		optind = 0;
		rc = commands[i].fn(&ctx, argc - 1, argv + 1);
		fangs_config_free(ctx.config);
		return rc;
	}
	return cli_usage_error("unknown command '%s' (see fangs --help)", argv[1]);
}
