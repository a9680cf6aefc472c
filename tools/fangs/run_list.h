/*
 * tools/fangs/run_list.h - what `fangs run` and `fangs pending` share.
 */
#ifndef FANGS_CLI_RUN_LIST_H
#define FANGS_CLI_RUN_LIST_H

#include "commands.h"

/* A run's place in its package's baseline, in a word. */
const char *baseline_word(const fangs_run *r);
/* The runs the options select (--package, --version, --state, --baseline,
 * --limit), printed; pending_only: only the runs waiting for review. */
int run_list(cli_ctx *ctx, const cli_args *a, int pending_only);

#endif
