/*
 * tools/fangs/run_list.c - what `fangs run list` and `fangs pending` share:
 * the runs a filter selects, as a table or JSON.
 */
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "run_list.h"

/* A run's place in its package's baseline, in a word. */
const char *baseline_word(const fangs_run *r)
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
			json_object_array_add(arr, fangs_json_run(&runs->items[i]));
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
	for (size_t i = 0; i < runs->count; i++)
		if (runs->items[i].analysis_error)
			printf("%s: not judged: %s (fangs run analyze %s)\n", runs->items[i].id,
			       runs->items[i].analysis_error, runs->items[i].id);
	return CLI_EXIT_OK;
}

int run_list(cli_ctx *ctx, const cli_args *a, int pending_only)
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
