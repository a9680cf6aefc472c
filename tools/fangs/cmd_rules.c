/*
 * tools/fangs/cmd_rules.c - `fangs rules list|show|test`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static const char rules_usage[] =
	"usage: fangs rules list\n"
	"       fangs rules show ID\n"
	"       fangs rules test FILE.ndjson [--package P] [--version V] [--registry URL] [--fail-on SEVERITY]\n"
	"\n"
	"Behaviour rules judge every run, the first one too (docs/rules.md): the built-in set\n"
	"plus the configuration's rules: section.\n"
	"list: every rule with its severity and whether it is on.\n"
	"show: one rule: what it means and what it matches.\n"
	"test: evaluates the rules on a recording (docs/events.md) without storing anything and\n"
	"prints the hits with their evidence (evidence #N = line N of FILE). Exits 3 when a hit\n"
	"is at or above --fail-on (default high).\n";

static int rules_list(cli_ctx *ctx, const fangs_rules *rs)
{
	fangs_rule_info r;
	if (ctx->json) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; fangs_rules_get(rs, i, &r) == 0; i++)
			json_object_array_add(a, json_rule(&r));
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
		json_print(json_rule(&r));
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

static int rules_test(cli_ctx *ctx, const fangs_rules *rs, int argc, char **argv)
{
	static const struct option opts[] = {
		{"package", required_argument, NULL, 'p'}, {"version", required_argument, NULL, 'V'},
		{"registry", required_argument, NULL, 'r'}, {"fail-on", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	fangs_severity fail_on = FANGS_SEV_HIGH;
	fangs_event_list events = {0};
	fangs_deviation_list hits = {0};
	const char *registry = ctx->config->registry;
	char host[256];
	char **addrs = NULL;
	size_t n_addrs = 0;
	int c, rc, exit_code = CLI_EXIT_OK;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': in.package = optarg; break;
		case 'V': in.version = optarg; break;
		case 'r': registry = optarg; break;
		case 'f':
			if (fangs_severity_parse(optarg, &fail_on))
				return cli_usage_error("--fail-on: %s", fangs_error_last());
			break;
		case 'h': fputs(rules_usage, stdout); return CLI_EXIT_OK;
		default: fputs(rules_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("rules test needs exactly one FILE (see fangs rules --help)");
	if (registry && fangs_registry_host(registry, host, sizeof(host)))
		return cli_usage_error("--registry: %s", fangs_error_last());
	if ((rc = fangs_events_read_file(&events, argv[optind]))) {
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
			json_object_array_add(a, json_deviation(&hits.items[i]));
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

int cmd_rules(cli_ctx *ctx, int argc, char **argv)
{
	fangs_rules_options ro = FANGS_RULES_OPTIONS_INIT;
	fangs_rules *rs = NULL;
	const char *sub;
	int rc;

	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(rules_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	ro.config = ctx->config;
	if ((rc = fangs_rules_new(&rs, &ro)))
		return cli_fail("rules", rc);
	if (!strcmp(sub, "list") && argc == 2)
		rc = rules_list(ctx, rs);
	else if (!strcmp(sub, "show") && argc == 3)
		rc = rules_show(ctx, rs, argv[2]);
	else if (!strcmp(sub, "test"))
		rc = rules_test(ctx, rs, argc - 1, argv + 1);
	else
		rc = cli_usage_error("usage: fangs rules list | show ID | test FILE.ndjson (see fangs rules --help)");
	fangs_rules_free(rs);
	return rc;
}
