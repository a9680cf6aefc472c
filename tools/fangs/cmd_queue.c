/*
 * tools/fangs/cmd_queue.c - the distributed side from the command line:
 * `fangs scan submit` (to the orchestrator, over HTTP), `fangs runner
 * list` and `fangs run fail` (in the database the orchestrator uses).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

static const char submit_usage[] =
	"usage: fangs scan submit -package P -version V [-runner R] [--orchestrator URL]\n"
	"                         [--tls-cert F --tls-key F] [--ca F]\n"
	"Queues a scan on the orchestrator (URL from --orchestrator, FANGS_ORCHESTRATOR or the\n"
	"config's runner.orchestrator); -runner pins it to one runner. Prints the run id.\n";

static int opt_is(const char *a, const char *name)
{
	return a[0] == '-' && (!strcmp(a + 1, name) || (a[1] == '-' && !strcmp(a + 2, name)));
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

int cmd_scan_submit(cli_ctx *ctx, int argc, char **argv)
{
	fangs_wire_client_options wo = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	fangs_wire_client *c = NULL;
	fangs_wire_response rs = {0};
	fangs_wire_scan scan = {0};
	char *body = NULL;
	const char *runner = NULL;
	int rc, exit_code = CLI_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			fputs(submit_usage, stdout);
			return CLI_EXIT_OK;
		}
		if (i + 1 >= argc)
			return cli_usage_error("scan submit: '%s' needs a value", a);
		if (opt_is(a, "package"))
			scan.package = argv[++i];
		else if (opt_is(a, "version"))
			scan.version = argv[++i];
		else if (opt_is(a, "runner"))
			runner = argv[++i];
		else if (opt_is(a, "orchestrator"))
			wo.url = argv[++i];
		else if (opt_is(a, "tls-cert"))
			wo.tls_cert = argv[++i];
		else if (opt_is(a, "tls-key"))
			wo.tls_key = argv[++i];
		else if (opt_is(a, "ca"))
			wo.ca = argv[++i];
		else
			return cli_usage_error("scan submit: unknown option '%s'", a);
	}
	if (!scan.package || !scan.version)
		return cli_usage_error("scan submit: -package and -version are required");
	if (fangs_package_name_check(scan.package, NULL) || fangs_package_version_check(scan.version, NULL))
		return cli_usage_error("scan submit: %s", fangs_error_last());
	scan.runner = (char *)runner;
	if (!wo.url)
		wo.url = env_or("FANGS_ORCHESTRATOR", ctx->config->runner.orchestrator);
	if (!wo.url)
		return cli_usage_error("scan submit: give --orchestrator URL (or set FANGS_ORCHESTRATOR)");
	if (!wo.tls_cert)
		wo.tls_cert = env_or("FANGS_TLS_CERT", NULL);
	if (!wo.tls_key)
		wo.tls_key = env_or("FANGS_TLS_KEY", NULL);
	if (!wo.ca)
		wo.ca = env_or("FANGS_CA", NULL);
	if ((rc = fangs_wire_scan_encode(&scan, &body)) || (rc = fangs_wire_client_new(&c, &wo)) ||
	    (rc = fangs_wire_request(c, "POST", "/v1/scans", "application/json", body, strlen(body), 30000, &rs))) {
		cli_fail("scan submit", rc);
		goto out;
	}
	if (rs.status != 201) {
		print_error("scan submit: %s (HTTP %ld)", fangs_wire_response_error(&rs), rs.status);
		goto out;
	}
	if (ctx->json) {
		char *clean = fangs_utf8_clean(rs.body, rs.len, NULL);
		if (clean)
			puts(clean);
		free(clean);
	} else {
		json_object *o = json_tokener_parse(rs.body), *id = NULL;
		json_object_object_get_ex(o, "run_id", &id);
		printf("queued %s@%s as run %s\n", tx(scan.package), tx(scan.version),
		       id ? tx(json_object_get_string(id)) : "?");
		json_object_put(o);
	}
	exit_code = CLI_EXIT_OK;
out:
	fangs_wire_response_clear(&rs);
	fangs_wire_client_free(c);
	free(body);
	return exit_code;
}

int cmd_runner(cli_ctx *ctx, int argc, char **argv)
{
	fangs_runner_list rl = {0};
	fangs_storage *st;
	int rc;

	if (argc != 2 || strcmp(argv[1], "list")) {
		if (argc == 2 && cli_is_help(argv[1])) {
			puts("usage: fangs runner list\nRunners registered with the orchestrator, with their running scans.");
			return CLI_EXIT_OK;
		}
		return cli_usage_error("usage: fangs runner list");
	}
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_runner_list(st, &rl);
	fangs_storage_free(st);
	if (rc)
		return cli_fail("runner list", rc);
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < rl.count; i++) {
			const fangs_runner *r = &rl.items[i];
			json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(r->id));
			json_object_object_add(o, "state", json_str_or_null(r->state));
			json_object_object_add(o, "hostname", json_str_or_null(r->hostname));
			json_object_object_add(o, "cn", json_str_or_null(r->cn));
			json_object_object_add(o, "max_scans", json_object_new_int(r->max_scans));
			json_object_object_add(o, "running", json_object_new_int64(r->running));
			json_object_object_add(o, "registered_ns", json_object_new_int64(r->registered_ns));
			json_object_object_add(o, "last_heartbeat_ns", json_object_new_int64(r->last_heartbeat_ns));
			json_object_array_add(arr, o);
		}
		json_print(arr);
	} else {
		table *t = table_new(6, "RUNNER", "STATE", "SCANS", "HOST", "CERTIFICATE", "LAST HEARTBEAT");
		for (size_t i = 0; i < rl.count; i++) {
			const fangs_runner *r = &rl.items[i];
			char scans[48], seen[64];
			snprintf(scans, sizeof(scans), "%lld/%d", (long long)r->running, r->max_scans);
			table_row(t, r->id, r->state, scans, r->hostname, r->cn, fmt_time(r->last_heartbeat_ns, seen, sizeof(seen)));
		}
		table_print(t, stdout);
	}
	fangs_runner_list_free(&rl);
	return CLI_EXIT_OK;
}

int cmd_run_fail(cli_ctx *ctx, int argc, char **argv)
{
	fangs_storage *st;
	fangs_run run = {0};
	struct timespec ts;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("usage: fangs run fail RUN");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_run_get(st, argv[1], &run))) {
		fangs_storage_free(st);
		return cli_fail("run fail", rc);
	}
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
		json_print(json_run(&run));
	} else {
		printf("run %s (%s@%s) marked failed\n", tx(run.id), tx(run.package), tx(run.version));
	}
	fangs_run_clear(&run);
	return CLI_EXIT_OK;
}
