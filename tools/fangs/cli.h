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

/* Opens the storage the global options name (prints the error and returns
 * NULL on failure). */
fangs_storage *cli_open_storage(cli_ctx *ctx);

/* Prints "fangs: <what>: <last error>" to stderr and returns CLI_EXIT_ERROR. */
int cli_fail(const char *what, int rc);
/* Prints a usage error to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
