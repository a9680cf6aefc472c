/*
 * tools/fangs/cli.h - what every `fangs` subcommand gets from main.
 */
#ifndef FANGS_TOOLS_CLI_H
#define FANGS_TOOLS_CLI_H

#include <fangs/fangs.h>
#include <stdio.h>

/* Exit codes (docs/cli.md). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_FINDINGS 3
#define CLI_EXIT_INSTALL_FAILED 4 /* fangs scan: an install failed or timed out in the sandbox */

typedef struct cli_ctx {
	int json;                    /* --json */
	int verbose;                 /* -v */
	const char *config_path;     /* --config */
	fangs_config *config;        /* loaded (defaults when no --config) */
	const char *storage_backend; /* --storage */
	const char *sqlite_path;     /* --sqlite-path */
	const char *postgres_dsn;    /* --postgres-dsn */
	const char *prog;            /* "fangs" */
} cli_ctx;

/* A subcommand: argv[0] is its own name; options may be given as --opt,
 * -opt (single-dash long) or -o. Returns an exit code. */
typedef int (*cli_cmd_fn)(cli_ctx *ctx, int argc, char **argv);

/* A table of subcommands ("run list", "run show"...). */
typedef struct cli_sub {
	const char *name;
	cli_cmd_fn fn;
} cli_sub;

/* Runs argv[1] of `subs` with argv shifted by one; prints `usage` for no
 * argument (to stderr, exit 2) or --help (to stdout, exit 0). */
int cli_dispatch(cli_ctx *ctx, int argc, char **argv, const char *usage, const cli_sub *subs, size_t n);
#define CLI_DISPATCH(ctx, argc, argv, usage, subs) \
	cli_dispatch(ctx, argc, argv, usage, subs, sizeof(subs) / sizeof((subs)[0]))

/* Opens the storage the global options name (prints the error and returns
 * NULL on failure). */
fangs_storage *cli_open_storage(cli_ctx *ctx);

/* Prints "fangs: <what>: <last error>" to stderr and returns CLI_EXIT_ERROR. */
int cli_fail(const char *what, int rc);
/* Prints a usage error to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
