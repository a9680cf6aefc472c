/*
 * tools/fangs/cmd_rules.c - `fangs rules list|show|test`.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static int rules_list(cli_ctx *ctx, const fangs_rules *rs)
{
	fangs_rule_info r;
	if (ctx->json) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; fangs_rules_get(rs, i, &r) == 0; i++)
			json_object_array_add(a, fangs_json_rule(&r));
		json_print(a);
	} else {
		table *t = table_new(4, "RULE", "SEVERITY", "STATE", "SOURCE");
		char src[512];
		for (size_t i = 0; fangs_rules_get(rs, i, &r) == 0; i++) {
			snprintf(src, sizeof(src), "%s:%u", r.source, r.line);
			table_row(t, r.id, fangs_severity_name(r.severity), r.enabled ? "on" : "off", src);
		}
		table_print(t, stdout);
	}
	return CLI_EXIT_OK;
}

static int rules_show(cli_ctx *ctx, const fangs_rules *rs, const char *id)
{
	fangs_rule_info r;
	int rc = fangs_rules_find(rs, id, &r);
	if (rc)
		return cli_fail("rules show", rc);
	if (ctx->json) {
		json_print(fangs_json_rule(&r));
		return CLI_EXIT_OK;
	}
	printf("rule:        %s\n", tx(r.id));
	printf("severity:    %s%s\n", fangs_severity_name(r.severity), r.enabled ? "" : " (disabled)");
	printf("source:      %s:%u\n", txd(r.source, "?"), r.line);
	print_lines(stdout, "meaning:     ", "             ", r.description);
	printf("matches:\n");
	print_lines(stdout, "  ", "  ", r.match);
	return CLI_EXIT_OK;
}

static int rules_test(cli_ctx *ctx, const fangs_rules *rs, const cli_args *args)
{
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	fangs_severity fail_on = FANGS_SEV_HIGH;
	fangs_event_list events = {0};
	fangs_deviation_list hits = {0};
	const char *registry = ctx->config->registry;
	char host[256];
	char **addrs = NULL;
	size_t n_addrs = 0;
	int rc, exit_code = CLI_EXIT_OK;

	in.package = cli_get(args, "package");
	in.version = cli_get(args, "version");
	if (cli_get(args, "registry"))
		registry = cli_get(args, "registry");
	if (cli_get(args, "fail-on"))
		fangs_severity_parse(cli_get(args, "fail-on"), &fail_on); /* checked when parsed */
	if (registry && fangs_registry_host(registry, host, sizeof(host)))
		return cli_usage_error("--registry: %s", fangs_error_last());
	if ((rc = fangs_events_read_file(&events, args->pos[0]))) {
		fangs_event_list_free(&events);
		return cli_fail("cannot read the recording", rc);
	}
	/* unstored events have no ids: number them by line so evidence can be found */
	for (size_t i = 0; i < events.count; i++)
		events.items[i].id = (int64_t)i + 1;
	in.events = events.items;
	in.n_events = events.count;
	in.registry_host = registry ? host : NULL;
	/* the registry's addresses as this machine resolves them (none when
	 * it does not resolve: then every connection counts) */
	if (registry && fangs_registry_addrs(host, &addrs, &n_addrs) == FANGS_ENOMEM) {
		exit_code = cli_fail("rules test", FANGS_ENOMEM);
		goto out;
	}
	in.registry_addrs = (const char *const *)addrs;
	in.n_registry_addrs = n_addrs;
	if ((rc = fangs_rules_evaluate(rs, &in, &hits))) {
		exit_code = cli_fail("rules test", rc);
		goto out;
	}
	if (ctx->json) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < hits.count; i++)
			json_object_array_add(a, fangs_json_deviation(&hits.items[i]));
		json_print(a);
	} else if (hits.count) {
		fangs_finding_list fl = {0};
		if ((rc = group_findings(NULL, &events, &hits, &fl))) {
			exit_code = cli_fail("rules test", rc);
			goto out;
		}
		print_findings(stdout, NULL, &events, &hits, &fl);
		fangs_finding_list_free(&fl);
	} else {
		printf("no rule hits in %zu events\n", events.count);
	}
	if (hits.count && fangs_deviation_list_max_severity(&hits) >= fail_on)
		exit_code = CLI_EXIT_FINDINGS;
out:
	fangs_registry_addrs_free(addrs, n_addrs);
	fangs_deviation_list_free(&hits);
	fangs_event_list_free(&events);
	return exit_code;
}

/* rules list|show|test: the rules of the configuration, then the verb */
static int with_rules(cli_ctx *ctx, const cli_args *a)
{
	fangs_rules_options ro = FANGS_RULES_OPTIONS_INIT;
	fangs_rules *rs = NULL;
	const char *sub = a->cmd->sub;
	int rc;

	ro.config = ctx->config;
	if ((rc = fangs_rules_new(&rs, &ro)))
		return cli_fail("rules", rc);
	if (!strcmp(sub, "list"))
		rc = rules_list(ctx, rs);
	else if (!strcmp(sub, "show"))
		rc = rules_show(ctx, rs, a->pos[0]);
	else
		rc = rules_test(ctx, rs, a);
	fangs_rules_free(rs);
	return rc;
}

CLI_HANDLER(cmd_rules_list)
{
	return with_rules(ctx, a);
}

CLI_HANDLER(cmd_rules_show)
{
	return with_rules(ctx, a);
}

CLI_HANDLER(cmd_rules_test)
{
	return with_rules(ctx, a);
}
