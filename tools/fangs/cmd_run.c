/*
 * tools/fangs/cmd_run.c - `fangs run list|show|analyze|fail`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "remote.h"
#include "run_list.h"

CLI_HANDLER(cmd_run_show)
{
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list devs = {0};
	fangs_finding_list fl = {0};
	fangs_event_list evs = {0};
	fangs_run r = {0};
	fangs_storage *st;
	int rc, with_events = cli_has(a, "events");
	char b1[32], b2[32], b3[32], eb[2048], ob[512], counts[128];

	if (!(st = cli_open_run(ctx, a->pos[0], "run", &r)))
		return CLI_EXIT_ERROR;
	df.run_id = r.id;
	if ((rc = fangs_storage_deviations_list(st, &df, &devs)) || (rc = group_findings(st, NULL, &devs, &fl)) ||
	    (with_events && (rc = fangs_storage_events_list(st, r.id, &evs)))) {
		fangs_finding_list_free(&fl);
		fangs_deviation_list_free(&devs);
		fangs_run_clear(&r);
		fangs_storage_free(st);
		return cli_fail("run", rc);
	}
	if (ctx->json) {
		json_object *o = fangs_json_run(&r);
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < devs.count; i++)
			json_object_array_add(arr, fangs_json_deviation(&devs.items[i]));
		json_object_object_add(o, "deviations", arr);
		fangs_json_add_findings(o, &fl);
		json_object_object_add(o, "install_output", json_str_or_null(r.install_output));
		if (with_events) {
			arr = json_object_new_array();
			for (size_t i = 0; i < evs.count; i++)
				json_object_array_add(arr, fangs_json_event(&evs.items[i]));
			json_object_object_add(o, "events", arr);
		}
		json_print(o);
	} else {
		printf("run:        %s\n", tx(r.id));
		printf("package:    %s@%s\n", tx(r.package), tx(r.version));
		printf("state:      %s%s%s\n", fangs_run_state_name(r.state), r.error ? ": " : "", txd(r.error, ""));
		printf("baseline:   %s\n",
		       !strcmp(baseline_word(&r), "pending") ? "pending review" : baseline_word(&r));
		printf("created:    %s  started: %s  finished: %s\n", fmt_time(r.created_ns, b1, sizeof(b1)),
		       fmt_time(r.started_ns, b2, sizeof(b2)), fmt_time(r.finished_ns, b3, sizeof(b3)));
		printf("duration:   %s\n", fmt_duration(r.duration_ns, b1, sizeof(b1)));
		printf("sandbox:    %s  network: %s  runner: %s\n", txd(r.sandbox, "-"), txd(r.network, "-"),
		       txd(r.runner, "-"));
		if (r.has_exit_code)
			printf("exit code:  %d\n", r.exit_code);
		printf("events:     %lld stored, %lld emitted, %lld dropped\n", (long long)r.event_count,
		       (long long)r.events_emitted, (long long)r.events_dropped);
		if (r.analysis_error)
			printf("analysis:   not judged: %s (fangs run analyze %s)\n", r.analysis_error, r.id);
		fmt_counts(&fl, counts, sizeof(counts));
		printf("findings:   %s\n", counts);
		print_findings(stdout, st, NULL, &devs, &fl);
		if (with_events) {
			printf("events:\n");
			for (size_t i = 0; i < evs.count; i++)
				printf("  #%-6lld pid %-6d %-15s %s  [%s]\n", (long long)evs.items[i].id,
				       evs.items[i].pid, txd(evs.items[i].comm, "?"),
				       fmt_event(&evs.items[i], eb, sizeof(eb)),
				       fmt_origin(&evs.items[i].origin, ob, sizeof(ob)));
		}
		if (r.install_output && *r.install_output) {
			/* what the package printed: its lines, never its escape sequences */
			printf("install output (tail):\n");
			print_lines(stdout, "", "", r.install_output);
		}
	}
	fangs_event_list_free(&evs);
	fangs_finding_list_free(&fl);
	fangs_deviation_list_free(&devs);
	fangs_run_clear(&r);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_run_analyze)
{
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	fangs_analysis an = {0};
	fangs_finding_list fl = {0};
	fangs_differ *d = NULL;
	fangs_run r = {0};
	fangs_storage *st;
	int rc;

	if (!(st = cli_open_run(ctx, a->pos[0], "run", &r)))
		return CLI_EXIT_ERROR;
	if (r.state == FANGS_RUN_QUEUED || r.state == FANGS_RUN_RUNNING) {
		print_error("run %s is %s: only a finished run is judged", r.id, fangs_run_state_name(r.state));
		fangs_run_clear(&r);
		fangs_storage_free(st);
		return CLI_EXIT_ERROR;
	}
	dopts.config = ctx->config;
	if ((rc = fangs_differ_new(&d, &dopts)) || (rc = fangs_analyze_run_opts(st, d, ctx->config, r.id, &ao, &an))) {
		fangs_error_state keep;
		fangs_error_state_capture(&keep, rc);
		fangs_differ_free(d);
		fangs_run_clear(&r);
		fangs_storage_free(st);
		fangs_error_state_restore(&keep);
		return cli_fail("analysis", rc);
	}
	group_findings(st, NULL, &an.deviations, &fl);
	if (ctx->json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();
		json_object_object_add(o, "run_id", json_object_new_string(r.id));
		json_object_object_add(o, "baseline", json_object_new_string(fangs_baseline_action_name(an.action)));
		for (size_t i = 0; i < an.deviations.count; i++)
			json_object_array_add(arr, fangs_json_deviation(&an.deviations.items[i]));
		json_object_object_add(o, "deviations", arr);
		fangs_json_add_findings(o, &fl);
		json_print(o);
	} else {
		char counts[160];
		fmt_counts(&fl, counts, sizeof(counts));
		printf("run %s judged: %s, baseline %s\n", r.id, counts, fangs_baseline_action_name(an.action));
		print_findings(stdout, st, NULL, &an.deviations, &fl);
	}
	fangs_finding_list_free(&fl);
	if (an.deviations.count)
		cli_notify_run(ctx, st, r.id);
	fangs_analysis_clear(&an);
	fangs_differ_free(d);
	fangs_run_clear(&r);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_run_list)
{
	return run_list(ctx, a, 0);
}

/* POST /v1/runs/RUN/fail. */
static int remote_fail(cli_ctx *ctx, fangs_wire_client_options *wo, const char *token_file, const char *run_id)
{
	fangs_wire_response rs = {0};
	char path[300];
	json_object *o;
	if (!fangs_wire_valid_id(run_id))
		return cli_usage_error("run fail: '%s' is not a run id", run_id);
	snprintf(path, sizeof(path), "/v1/runs/%s/fail", run_id);
	if (remote_call(wo, token_file, "POST", path, 200, &rs, "run fail"))
		return CLI_EXIT_ERROR;
	if (ctx->json) {
		fwrite(rs.body, 1, rs.len, stdout);
		fputc('\n', stdout);
	} else {
		o = json_tokener_parse(rs.body);
		char *pkg = o ? dup_json_str(o, "package") : NULL, *ver = o ? dup_json_str(o, "version") : NULL;
		printf("run %s (%s@%s) marked failed\n", tx(run_id), txd(pkg, "?"), txd(ver, "?"));
		free(pkg);
		free(ver);
		json_object_put(o);
	}
	fangs_wire_response_clear(&rs);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_run_fail)
{
	fangs_wire_client_options wo = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	const char *token_file = NULL;
	fangs_storage *st;
	fangs_run run = {0};
	struct timespec ts;
	int rc;

	if ((rc = remote_opts(a, &wo, &token_file, "run fail")))
		return rc;
	if (wo.url)
		return remote_fail(ctx, &wo, token_file, a->pos[0]);
	if (!(st = cli_open_run(ctx, a->pos[0], "run fail", &run)))
		return CLI_EXIT_ERROR;
	if (run.state != FANGS_RUN_QUEUED && run.state != FANGS_RUN_RUNNING) {
		print_error("run fail: run %s is already %s", run.id, fangs_run_state_name(run.state));
		fangs_run_clear(&run);
		fangs_storage_free(st);
		return CLI_EXIT_ERROR;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	run.state = FANGS_RUN_FAILED;
	run.finished_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	free(run.error);
	run.error = strdup("failed by hand (fangs run fail)");
	/* the run and its job end together; a run without a job (fangs scan) just ends */
	if (!(rc = fangs_storage_begin(st))) {
		rc = fangs_storage_run_update(st, &run);
		if (!rc && (rc = fangs_storage_job_finish(st, run.id, FANGS_JOB_FAILED)) == FANGS_ENOTFOUND)
			rc = 0;
		rc = rc ? (fangs_storage_rollback(st), rc) : fangs_storage_commit(st);
	}
	fangs_storage_free(st);
	if (rc) {
		fangs_run_clear(&run);
		return cli_fail("run fail", rc);
	}
	if (ctx->json) {
		json_print(fangs_json_run(&run));
	} else {
		printf("run %s (%s@%s) marked failed\n", tx(run.id), tx(run.package), tx(run.version));
	}
	fangs_run_clear(&run);
	return CLI_EXIT_OK;
}
