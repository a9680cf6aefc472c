/*
 * tools/fangs/commands.h - the subcommands of `fangs`, as the command table
 * (cmdtab.c) calls them: each gets its parsed command line.
 */
#ifndef FANGS_TOOLS_COMMANDS_H
#define FANGS_TOOLS_COMMANDS_H

#include "cli.h"
#include "cmdtab.h"

#define CLI_HANDLER(name) int name(cli_ctx *ctx, const cli_args *a)

CLI_HANDLER(cmd_scan);
CLI_HANDLER(cmd_scan_project);
CLI_HANDLER(cmd_review);
CLI_HANDLER(cmd_scan_submit);
CLI_HANDLER(cmd_events_import);
CLI_HANDLER(cmd_events_list);
CLI_HANDLER(cmd_run_list);
CLI_HANDLER(cmd_run_show);
CLI_HANDLER(cmd_run_fail);
CLI_HANDLER(cmd_run_analyze);
CLI_HANDLER(cmd_pending);
CLI_HANDLER(cmd_deviation_list);
CLI_HANDLER(cmd_deviation_show);
CLI_HANDLER(cmd_baseline_list);
CLI_HANDLER(cmd_baseline_promote);
CLI_HANDLER(cmd_baseline_export);
CLI_HANDLER(cmd_package_list);
CLI_HANDLER(cmd_package_change);
CLI_HANDLER(cmd_release_list);
CLI_HANDLER(cmd_allow_list);
CLI_HANDLER(cmd_allow_add);
CLI_HANDLER(cmd_allow_remove);
CLI_HANDLER(cmd_rules_list);
CLI_HANDLER(cmd_rules_show);
CLI_HANDLER(cmd_rules_test);
CLI_HANDLER(cmd_prune);
CLI_HANDLER(cmd_gc);
CLI_HANDLER(cmd_notifier_add);
CLI_HANDLER(cmd_notifier_list);
CLI_HANDLER(cmd_notifier_remove);
CLI_HANDLER(cmd_notifier_test);
CLI_HANDLER(cmd_notifier_history);
CLI_HANDLER(cmd_notifier_deliver);
CLI_HANDLER(cmd_runner_list);
CLI_HANDLER(cmd_ca_init);
CLI_HANDLER(cmd_ca_issue);
CLI_HANDLER(cmd_ca_revoke);
CLI_HANDLER(cmd_token_create);
CLI_HANDLER(cmd_token_list);
CLI_HANDLER(cmd_token_revoke);
CLI_HANDLER(cmd_sensor_probes);
CLI_HANDLER(cmd_trace);
CLI_HANDLER(cmd_ui);
CLI_HANDLER(cmd_version);
CLI_HANDLER(cmd_gen_commands);
CLI_HANDLER(cmd_gen_man);
CLI_HANDLER(cmd_gen_complete);

/* Schedules and sends a run's messages when notifier targets want them;
 * failures are reported on stderr and stay scheduled in storage. */
void cli_notify_run(cli_ctx *ctx, fangs_storage *st, const char *run_id);

#endif
