/*
 * tools/fangs/cmdtab.h - the one table of `fangs` commands: what each
 * takes and means. Parsing, --help, usage errors, the manual pages and the
 * shell completions all come from it (cmdtab.c).
 */
#ifndef FANGS_TOOLS_CMDTAB_H
#define FANGS_TOOLS_CMDTAB_H

#include <stdio.h>

#include "cli.h"

/* What an option's value (or a positional argument) is: checked when
 * parsing, completed by the shells. */
typedef enum cli_kind {
	CLI_FLAG,     /* no value */
	CLI_STR,      /* any text */
	CLI_NUM,      /* a whole number >= 0 */
	CLI_SECONDS,  /* seconds, > 0 and <= 86400 */
	CLI_SEVERITY, /* info|low|medium|high|critical */
	CLI_CHOICE,   /* one of cli_opt.choices ("a|b|c") */
	CLI_FILE,     /* a file path */
	CLI_DIR,      /* a directory */
	CLI_URL,      /* http:// or https:// */
	CLI_RUN,      /* a run id or a unique prefix of one */
	CLI_PACKAGE,  /* an npm package name */
	CLI_COMMAND,  /* a program and its arguments */
} cli_kind;

typedef struct cli_opt {
	const char *name; /* long name without dashes */
	char short_name;  /* 0: none */
	cli_kind kind;
	const char *meta;    /* the value's name in help ("P", "SEVERITY") */
	const char *choices; /* CLI_CHOICE: "a|b|c" */
	unsigned flags;      /* CLI_OPT_* */
	const char *help;
} cli_opt;

#define CLI_OPT_REPEAT 0x1u   /* may be given more than once */
#define CLI_OPT_REQUIRED 0x2u /* must be given */

struct cli_args;
typedef int (*cli_handler)(cli_ctx *ctx, const struct cli_args *a);

/* cli_cmd.flags */
#define CLI_CREATES_DB 0x1u  /* opens storage and creates the database when there is none */
#define CLI_STOP_AT_ARG 0x2u /* options end at the first positional argument (trace) */
#define CLI_HIDDEN 0x4u      /* not listed, not documented (generators) */

typedef struct cli_cmd {
	const char *name;       /* "run" */
	const char *sub;        /* "list"; NULL: the command itself (a group when fn is NULL) */
	const char *args;       /* positional synopsis: "RUN", "SPEC...", NULL = none */
	int min_args, max_args; /* max -1 = any number */
	cli_kind arg_kind;      /* what the positional arguments are */
	unsigned flags;
	cli_handler fn;          /* NULL for a group: it only holds subcommands */
	const cli_opt *opts;     /* terminated by an entry with name NULL; may be NULL */
	const char *summary;     /* one line, no period */
	const char *description; /* paragraphs, may be NULL */
} cli_cmd;

#define CLI_MAX_GIVEN 64

/* A parsed command line. */
typedef struct cli_args {
	const cli_cmd *cmd;
	size_t n_given;
	struct {
		const cli_opt *opt;
		const char *val; /* NULL for a flag */
	} given[CLI_MAX_GIVEN];
	char **pos; /* positional arguments, in order */
	int npos;
} cli_args;

/* The last value given for option `name` (NULL when absent). */
const char *cli_get(const cli_args *a, const char *name);
/* Was option (flag) `name` given? */
int cli_has(const cli_args *a, const char *name);
/* The i-th value of a repeated option, NULL past the last. */
const char *cli_get_nth(const cli_args *a, const char *name, size_t i);
/* A CLI_NUM option's value, `def` when absent. */
unsigned long cli_get_num(const cli_args *a, const char *name, unsigned long def);

/* Runs the command argv[1..] names (after the global options were taken
 * out): --help anywhere prints its help and touches nothing. Returns the
 * exit code. `load` prepares ctx (configuration) once the command line is
 * valid; nonzero stops with that exit code. */
int cli_run(cli_ctx *ctx, int argc, char **argv, int (*load)(cli_ctx *ctx));

/* For main's global options: does command `name` end its options at its
 * first argument (trace CMD...), and does its option `arg` take a value? */
int cli_stops_at_arg(const char *name);
int cli_opt_takes_value(const char *name, const char *arg);

/* The top-level help (fangs --help). */
void cli_print_main_help(FILE *f);

#endif
