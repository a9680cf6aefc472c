/*
 * tools/fangs/cmd_runs.c - `fangs run list|show` and `fangs pending`.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

/* A run's place in its package's baseline, in a word. */
static const char *baseline_word(const fangs_run *r)
{
	if (r->is_baseline)
		return "yes";
	/* a failed install is kept out whatever its review says */
	if (r->state == FANGS_RUN_FAILED || r->state == FANGS_RUN_TIMED_OUT)
		return r->review == FANGS_REVIEW_PENDING ? "excluded, findings" : "excluded";
	return r->review == FANGS_REVIEW_PENDING ? "pending" : "no";
}

static int print_runs(cli_ctx *ctx, const fangs_run_list *runs)
{
	char t[32], n[32], dv[48];
	table *tb;
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < runs->count; i++)
			json_object_array_add(arr, json_run(&runs->items[i]));
		json_print(arr);
		return CLI_EXIT_OK;
	}
	if (runs->count == 0) {
		printf("no runs\n");
		return CLI_EXIT_OK;
	}
	tb = table_new(8, "RUN", "PACKAGE", "VERSION", "STATE", "BASELINE", "EVENTS", "DEVIATIONS", "CREATED");
	for (size_t i = 0; i < runs->count; i++) {
		const fangs_run *r = &runs->items[i];
		snprintf(n, sizeof(n), "%lld", (long long)r->event_count);
		if (r->deviation_count)
			snprintf(dv, sizeof(dv), "%lld (%s)", (long long)r->deviation_count,
				 fangs_severity_name(r->max_severity));
		else
			snprintf(dv, sizeof(dv), "0");
		table_row(tb, r->id, r->package, r->version, fangs_run_state_name(r->state), baseline_word(r), n, dv,
			  fmt_time(r->created_ns, t, sizeof(t)));
	}
	table_print(tb, stdout);
	return CLI_EXIT_OK;
}

static int run_list(cli_ctx *ctx, const cli_args *a, int pending_only)
{
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	fangs_storage *st;
	fangs_run_state s;
	const char *state = cli_get(a, "state");
	int rc;

	f.pending_only = pending_only;
	f.package = cli_get(a, "package");
	f.version = cli_get(a, "version");
	f.limit = cli_get_num(a, "limit", 0);
	f.baseline_only = cli_has(a, "baseline");
	/* "pending" is a review state: the runs that wait for a person */
	if (state && !strcmp(state, "pending"))
		f.pending_only = pending_only = 1;
	else if (state && fangs_run_state_parse(state, &s))
		return cli_usage_error("--state: %s", fangs_error_last());
	else if (state)
		f.state = (int)s;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_run_list(st, &f, &runs);
	if (rc) {
		fangs_storage_free(st);
		return cli_fail("runs", rc);
	}
	if (pending_only && !ctx->json && runs.count == 0)
		printf("nothing waits for review\n");
	else
		print_runs(ctx, &runs);
	fangs_run_list_free(&runs);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_run_show)
{
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list devs = {0};
	fangs_event_list evs = {0};
	fangs_run r = {0};
	fangs_storage *st;
	int rc, with_events = cli_has(a, "events");
	char b1[32], b2[32], b3[32], eb[2048], ob[512], id[FANGS_RUN_ID_MAX];

	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (cli_resolve_run(st, a->pos[0], id, sizeof(id))) {
		fangs_storage_free(st);
		return CLI_EXIT_ERROR;
	}
	if ((rc = fangs_storage_run_get(st, id, &r))) {
		fangs_storage_free(st);
		return cli_fail("run", rc);
	}
	df.run_id = r.id;
	if ((rc = fangs_storage_deviations_list(st, &df, &devs)) ||
	    (with_events && (rc = fangs_storage_events_list(st, r.id, &evs)))) {
		fangs_run_clear(&r);
		fangs_storage_free(st);
		return cli_fail("run", rc);
	}
	if (ctx->json) {
		json_object *o = json_run(&r);
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < devs.count; i++)
			json_object_array_add(arr, json_deviation(&devs.items[i]));
		json_object_object_add(o, "deviations", arr);
		json_object_object_add(o, "install_output", json_str_or_null(r.install_output));
		if (with_events) {
			arr = json_object_new_array();
			for (size_t i = 0; i < evs.count; i++)
				json_object_array_add(arr, json_event(&evs.items[i]));
			json_object_object_add(o, "events", arr);
		}
		json_print(o);
	} else {
		printf("run:        %s\n", r.id);
		printf("package:    %s@%s\n", r.package, r.version);
		printf("state:      %s%s%s\n", fangs_run_state_name(r.state), r.error ? ": " : "", r.error ? r.error : "");
		printf("baseline:   %s\n", !strcmp(baseline_word(&r), "pending") ? "pending review" : baseline_word(&r));
		printf("created:    %s  started: %s  finished: %s\n", fmt_time(r.created_ns, b1, sizeof(b1)),
		       fmt_time(r.started_ns, b2, sizeof(b2)), fmt_time(r.finished_ns, b3, sizeof(b3)));
		printf("duration:   %s\n", fmt_duration(r.duration_ns, b1, sizeof(b1)));
		printf("sandbox:    %s  network: %s  runner: %s\n", r.sandbox ? r.sandbox : "-",
		       r.network ? r.network : "-", r.runner ? r.runner : "-");
		if (r.has_exit_code)
			printf("exit code:  %d\n", r.exit_code);
		printf("events:     %lld stored, %lld emitted, %lld dropped\n", (long long)r.event_count,
		       (long long)r.events_emitted, (long long)r.events_dropped);
		printf("deviations: %zu\n", devs.count);
		print_deviations(stdout, st, &devs, 1);
		if (with_events) {
			printf("events:\n");
			for (size_t i = 0; i < evs.count; i++)
				printf("  #%-6lld pid %-6d %-15s %s  [%s]\n", (long long)evs.items[i].id, evs.items[i].pid,
				       evs.items[i].comm ? evs.items[i].comm : "?", fmt_event(&evs.items[i], eb, sizeof(eb)),
				       fmt_origin(&evs.items[i].origin, ob, sizeof(ob)));
		}
		if (r.install_output && *r.install_output)
			printf("install output (tail):\n%s\n", r.install_output);
	}
	fangs_event_list_free(&evs);
	fangs_deviation_list_free(&devs);
	fangs_run_clear(&r);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_run_list)
{
	return run_list(ctx, a, 0);
}

CLI_HANDLER(cmd_pending)
{
	return run_list(ctx, a, 1);
}
