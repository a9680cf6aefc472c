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
	const struct cli_cmd *cmd;   /* the command being run (cmdtab.h) */
} cli_ctx;

/* Opens the storage the global options, the environment or the
 * configuration name (docs/cli.md, "Where the data lives"). Only a command
 * marked CLI_CREATES_DB creates a missing SQLite database; the others say
 * where they looked. Prints the error and returns NULL on failure. */
fangs_storage *cli_open_storage(cli_ctx *ctx);

/* Resolves a run id or a unique prefix of one into `out`; prints the error
 * (no such run, or the candidates of an ambiguous prefix) and returns
 * nonzero when it cannot. */
int cli_resolve_run(fangs_storage *st, const char *arg, char *out, size_t cap);

/* Opens storage and resolves `arg` (an id or a unique prefix) into `id`.
 * Prints the error and returns NULL when it cannot; otherwise the caller
 * frees the storage. */
fangs_storage *cli_open_run_id(cli_ctx *ctx, const char *arg, char *id, size_t cap);

/* Opens storage and reads the run `arg` names (an id or a unique prefix)
 * into `r`. Prints the error (under `what` when reading fails) and returns
 * NULL when it cannot; otherwise the caller frees the storage and clears `r`. */
fangs_storage *cli_open_run(cli_ctx *ctx, const char *arg, const char *what, fangs_run *r);

/* Prints "fangs: <what>: <last error>" to stderr and returns CLI_EXIT_ERROR. */
int cli_fail(const char *what, int rc);
/* Prints a usage error to stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
