/*
 * tools/fangs/commands.h - the subcommands of `fangs`.
 */
#ifndef FANGS_TOOLS_COMMANDS_H
#define FANGS_TOOLS_COMMANDS_H

#include "cli.h"

int cmd_events(cli_ctx *ctx, int argc, char **argv);
int cmd_run(cli_ctx *ctx, int argc, char **argv);
int cmd_pending(cli_ctx *ctx, int argc, char **argv);
int cmd_deviation(cli_ctx *ctx, int argc, char **argv);
int cmd_baseline(cli_ctx *ctx, int argc, char **argv);
int cmd_package(cli_ctx *ctx, int argc, char **argv);
int cmd_release(cli_ctx *ctx, int argc, char **argv);
int cmd_allow(cli_ctx *ctx, int argc, char **argv);
int cmd_prune(cli_ctx *ctx, int argc, char **argv);
int cmd_scan(cli_ctx *ctx, int argc, char **argv);
int cmd_gc(cli_ctx *ctx, int argc, char **argv);
int cmd_rules(cli_ctx *ctx, int argc, char **argv);
int cmd_sensor(cli_ctx *ctx, int argc, char **argv);
int cmd_trace(cli_ctx *ctx, int argc, char **argv);
int cmd_notifier(cli_ctx *ctx, int argc, char **argv);

/* Schedules and sends a run's messages when notifier targets want them;
 * failures are reported on stderr and stay scheduled in storage. */
void cli_notify_run(cli_ctx *ctx, fangs_storage *st, const char *run_id);
int cmd_ca(cli_ctx *ctx, int argc, char **argv);
int cmd_runner(cli_ctx *ctx, int argc, char **argv);
int cmd_token(cli_ctx *ctx, int argc, char **argv);
int cmd_scan_submit(cli_ctx *ctx, int argc, char **argv);
int cmd_run_fail(cli_ctx *ctx, int argc, char **argv);

/* Is argv[i] a request for help (--help, -help, -h)? */
int cli_is_help(const char *arg);

#endif
