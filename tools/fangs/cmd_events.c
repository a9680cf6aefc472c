/*
 * tools/fangs/cmd_events.c - `fangs events import|list`.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"
#include "report.h"

static int print_outcome(cli_ctx *ctx, fangs_storage *st, const char *run_id, const fangs_analysis *an)
{
	fangs_run run = {0};
	fangs_finding_list fl = {0};
	char counts[128];
	int rc = fangs_storage_run_get(st, run_id, &run);
	if (rc)
		return cli_fail("run", rc);
	if ((rc = group_findings(st, NULL, &an->deviations, &fl))) {
		fangs_run_clear(&run);
		return cli_fail("findings", rc);
	}
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object *devs = json_object_new_array();
		json_object_object_add(o, "run", fangs_json_run(&run));
		json_object_object_add(o, "baseline", json_object_new_string(fangs_baseline_action_name(an->action)));
		json_object_object_add(o, "fingerprints", json_object_new_int64((int64_t)an->n_fingerprints));
		for (size_t i = 0; i < an->deviations.count; i++)
			json_object_array_add(devs, fangs_json_deviation(&an->deviations.items[i]));
		json_object_object_add(o, "deviations", devs);
		fangs_json_add_findings(o, &fl);
		json_print(o);
	} else {
		printf("run %s: %s@%s, %zu events, %zu fingerprints\n", tx(run.id), tx(run.package), tx(run.version),
		       an->n_events, an->n_fingerprints);
		switch (an->action) {
		case FANGS_BASELINE_SEEDED:
			printf("baseline: seeded from this run (%zu fingerprints)\n", an->n_fingerprints);
			break;
		case FANGS_BASELINE_JOINED:
			printf("baseline: clean run joined the baseline\n");
			break;
		case FANGS_BASELINE_PENDING:
			printf("baseline: run waits for review (fangs baseline promote %s)\n", tx(run.id));
			break;
		case FANGS_BASELINE_NONE:
			printf("baseline: clean run (not yet promoted)\n");
			break;
		case FANGS_BASELINE_EXCLUDED:
			printf("baseline: the install failed or timed out: kept out of the baseline\n");
			break;
		}
		if (fl.count) {
			/* the verdict counts behaviours: findings, not their records */
			print_findings(stdout, st, NULL, &an->deviations, &fl);
			fmt_counts(&fl, counts, sizeof(counts));
			printf("verdict: %s, highest severity %s\n", counts,
			       fangs_severity_name(findings_max_severity(&fl)));
		} else {
			printf("verdict: nothing new\n");
		}
	}
	fangs_finding_list_free(&fl);
	fangs_run_clear(&run);
	return CLI_EXIT_OK;
}

/* The run as a report of one item (--format, --output). */
static void report_outcome(cli_ctx *ctx, fangs_storage *st, const fangs_run *run, const fangs_analysis *an,
			   fangs_severity fail_on, report_format fmt, const cli_args *a, int *exit_code)
{
	fangs_finding_list fl = {0};
	report rep;
	int rc;
	if (cli_get(a, "format"))
		report_format_parse(cli_get(a, "format"), &fmt); /* checked when parsed */
	if (ctx->json && fmt != REPORT_JSON) {
		*exit_code = cli_usage_error("--json and --format %s: give one", report_format_name(fmt));
		return;
	}
	if ((rc = group_findings(st, NULL, &an->deviations, &fl))) {
		*exit_code = cli_fail("findings", rc);
		return;
	}
	report_init(&rep);
	rep.fail_on = fail_on;
	rep.storage = st;
	report_set(&rep.command, "import");
	/* findings point at this directory's lockfile when there is one */
	if (access("package-lock.json", R_OK) == 0)
		report_set(&rep.lockfile, "package-lock.json");
	else if (access("npm-shrinkwrap.json", R_OK) == 0)
		report_set(&rep.lockfile, "npm-shrinkwrap.json");
	report_add_run(&rep, run->package, run->version, run->id, an->action, NULL, &fl);
	if (report_emit(cli_get(a, "output"), fmt, &rep))
		*exit_code = CLI_EXIT_ERROR;
	report_clear(&rep);
}

CLI_HANDLER(cmd_events_import)
{
	const char *package = cli_get(a, "package"), *version = cli_get(a, "version"), *file = a->pos[0];
	int rc, exit_code = CLI_EXIT_OK;
	/* the same gate as scan and rules test */
	fangs_severity fail_on = FANGS_SEV_HIGH;
	fangs_event_list events = {0};
	fangs_storage *st = NULL;
	fangs_differ *d = NULL;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_run run = {0};
	fangs_analysis an = {0};

	if (cli_get(a, "fail-on"))
		fangs_severity_parse(cli_get(a, "fail-on"), &fail_on); /* checked when parsed */
	if (!package || !*package || !version || !*version)
		return cli_usage_error("events import needs --package and --version");
	/* what a run is stored under is checked by npm's rules: nothing is stored otherwise */
	if (fangs_package_name_check(package, NULL) || fangs_package_version_check(version, NULL))
		return cli_usage_error("events import: %s", fangs_error_last());

	if ((rc = fangs_events_read_file(&events, file))) {
		fangs_event_list_free(&events);
		return cli_fail("cannot import", rc);
	}
	if (!(st = cli_open_storage(ctx))) {
		fangs_event_list_free(&events);
		return CLI_EXIT_ERROR;
	}
	dopts.config = ctx->config;
	if ((rc = fangs_differ_new(&d, &dopts))) {
		exit_code = cli_fail("differ", rc);
		goto out;
	}

	run.package = (char *)package;
	run.version = (char *)version;
	run.state = FANGS_RUN_SUCCEEDED;
	run.sandbox = (char *)"import";
	run.runner = (char *)"import";
	run.events_emitted = (int64_t)events.count;
	if ((rc = fangs_storage_begin(st)) || (rc = fangs_storage_run_create(st, &run)) ||
	    (rc = fangs_storage_events_append(st, run.id, events.items, events.count)) ||
	    (rc = fangs_storage_commit(st))) {
		fangs_storage_rollback(st);
		exit_code = cli_fail("cannot store the recording", rc);
		goto out;
	}
	if ((rc = fangs_analyze_run(st, d, ctx->config, run.id, &an))) {
		char msg[600];
		snprintf(msg, sizeof(msg), "analysis failed: %s", fangs_error_last());
		exit_code = cli_fail("cannot analyze the run", rc);
		run.state = FANGS_RUN_FAILED;
		run.error = msg;
		fangs_storage_run_update(st, &run);
		goto out;
	}
	if (cli_get(a, "format") || cli_get(a, "output")) {
		report_format fmt = REPORT_HUMAN;
		report_outcome(ctx, st, &run, &an, fail_on, fmt, a, &exit_code);
	} else {
		exit_code = print_outcome(ctx, st, run.id, &an);
	}
	if (an.deviations.count)
		cli_notify_run(ctx, st, run.id);
	if (exit_code == CLI_EXIT_OK && an.deviations.count &&
	    fangs_deviation_list_max_severity(&an.deviations) >= fail_on)
		exit_code = CLI_EXIT_FINDINGS;
out:
	fangs_analysis_clear(&an);
	fangs_differ_free(d);
	fangs_storage_free(st);
	fangs_event_list_free(&events);
	return exit_code;
}

CLI_HANDLER(cmd_events_list)
{
	fangs_storage *st;
	fangs_event_list evs = {0};
	char buf[2048], ob[512], id[FANGS_RUN_ID_MAX];
	int rc;
	if (!(st = cli_open_run_id(ctx, a->pos[0], id, sizeof(id))))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_events_list(st, id, &evs);
	if (rc) {
		fangs_storage_free(st);
		return cli_fail("events", rc);
	}
	for (size_t i = 0; i < evs.count; i++) {
		const fangs_event *ev = &evs.items[i];
		if (ctx->json) {
			char *s = NULL;
			if (fangs_event_to_json(ev, &s, NULL) == 0)
				puts(s);
			free(s);
		} else {
			printf("#%-6lld pid %-6d %-15s %s  [%s]\n", (long long)ev->id, ev->pid, txd(ev->comm, "?"),
			       fmt_event(ev, buf, sizeof(buf)), fmt_origin(&ev->origin, ob, sizeof(ob)));
		}
	}
	fangs_event_list_free(&evs);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}
