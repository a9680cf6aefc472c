/*
 * tools/fangs/cmd_queue.c - the distributed side from the command line:
 * `fangs scan submit` (to the orchestrator, over HTTP), `fangs runner
 * list` and `fangs run fail` (in the database the orchestrator uses, or
 * through the orchestrator with --orchestrator URL).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* Is package@version in the registry (--registry, the configuration's, else
 * npm's own)? 0 yes; prints why not and returns an exit code. */
static int check_release(cli_ctx *ctx, const cli_args *a, const char *package, const char *version)
{
	const char *registry = cli_get(a, "registry");
	char npm_registry[1024];
	int rc;
	if (!registry)
		registry = ctx->config->registry;
	if (!registry) {
		if (fangs_registry_configured(NULL, npm_registry, sizeof(npm_registry)))
			return cli_usage_error("scan submit: no registry to check %s@%s in: give --registry URL (or "
					       "--no-registry-check)",
					       package, version);
		registry = npm_registry;
	}
	rc = fangs_registry_release_exists(registry, package, version);
	if (rc == FANGS_ENOTFOUND) {
		print_error("scan submit: %s (nothing queued)", fangs_error_last());
		return CLI_EXIT_ERROR;
	}
	if (rc)
		return cli_fail("scan submit: cannot check the release (--no-registry-check queues without)", rc);
	return 0;
}

CLI_HANDLER(cmd_scan_submit)
{
	fangs_wire_client_options wo = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	fangs_wire_client *c = NULL;
	fangs_wire_response rs = {0};
	fangs_wire_scan scan = {0};
	char *body = NULL;
	const char *runner = cli_get(a, "runner"), *token_file = cli_get(a, "token-file");
	char *token = NULL;
	int rc, exit_code = CLI_EXIT_ERROR;

	scan.package = (char *)cli_get(a, "package");
	scan.version = (char *)cli_get(a, "version");
	wo.url = cli_get(a, "orchestrator");
	wo.tls_cert = cli_get(a, "tls-cert");
	wo.tls_key = cli_get(a, "tls-key");
	wo.ca = cli_get(a, "ca");
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
	/* a release that does not exist would only fail later, on a runner */
	if (!cli_has(a, "no-registry-check") && (rc = check_release(ctx, a, scan.package, scan.version)))
		return rc;
	if ((rc = fangs_wire_token_load(token_file ? token_file : env_or("FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN",
					&token))) {
		cli_fail("scan submit", rc);
		goto out;
	}
	wo.token = token;
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
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return exit_code;
}

/* The orchestrator options of `runner list` and `run fail`: --orchestrator
 * URL, --tls-cert, --tls-key, --ca, --token-file. 0, or a usage error's
 * exit code; `wo->url` stays NULL without --orchestrator. */
static int remote_opts(const cli_args *a, fangs_wire_client_options *wo, const char **token_file, const char *what)
{
	wo->url = cli_get(a, "orchestrator");
	wo->tls_cert = cli_get(a, "tls-cert");
	wo->tls_key = cli_get(a, "tls-key");
	wo->ca = cli_get(a, "ca");
	*token_file = cli_get(a, "token-file");
	if (!wo->url && (wo->tls_cert || wo->tls_key || wo->ca || *token_file))
		return cli_usage_error("%s: credentials go with --orchestrator URL", what);
	return 0;
}

/* One request to the orchestrator with the credentials of the options and
 * environment; the answer in `rs` when it has status `want`, else 1 after
 * saying why. */
static int remote_call(fangs_wire_client_options *wo, const char *token_file, const char *method, const char *path,
		       long want, fangs_wire_response *rs, const char *what)
{
	fangs_wire_client *c = NULL;
	char *token = NULL;
	int rc;
	if (!wo->tls_cert)
		wo->tls_cert = env_or("FANGS_TLS_CERT", NULL);
	if (!wo->tls_key)
		wo->tls_key = env_or("FANGS_TLS_KEY", NULL);
	if (!wo->ca)
		wo->ca = env_or("FANGS_CA", NULL);
	if (!(rc = fangs_wire_token_load(token_file ? token_file : env_or("FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN",
					 &token))) {
		wo->token = token;
		if (!(rc = fangs_wire_client_new(&c, wo)))
			rc = fangs_wire_request(c, method, path, "application/json", strcmp(method, "POST") ? NULL : "{}",
						strcmp(method, "POST") ? 0 : 2, 30000, rs);
	}
	fangs_wire_client_free(c);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	wo->token = NULL;
	if (rc) {
		cli_fail(what, rc);
		return 1;
	}
	if (rs->status != want) {
		print_error("%s: %s (HTTP %ld)", what, fangs_wire_response_error(rs), rs->status);
		fangs_wire_response_clear(rs);
		return 1;
	}
	return 0;
}

static char *dup_json_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? strdup(json_object_get_string(v))
		       : NULL;
}

static int64_t json_int(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* GET /v1/runners into `rl`. */
static int remote_runners(fangs_wire_client_options *wo, const char *token_file, fangs_runner_list *rl)
{
	fangs_wire_response rs = {0};
	json_object *arr;
	size_t n;
	if (remote_call(wo, token_file, "GET", "/v1/runners", 200, &rs, "runner list"))
		return 1;
	arr = json_tokener_parse(rs.body);
	fangs_wire_response_clear(&rs);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		fprintf(stderr, "fangs: runner list: the orchestrator's answer is not a list\n");
		return 1;
	}
	n = json_object_array_length(arr);
	rl->items = calloc(n ? n : 1, sizeof(*rl->items));
	for (size_t i = 0; rl->items && i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		fangs_runner *r = &rl->items[rl->count++];
		r->id = dup_json_str(o, "id");
		r->state = dup_json_str(o, "state");
		r->hostname = dup_json_str(o, "hostname");
		r->cn = dup_json_str(o, "cn");
		r->max_scans = (int)json_int(o, "max_scans");
		r->running = json_int(o, "running");
		r->registered_ns = json_int(o, "registered_ns");
		r->last_heartbeat_ns = json_int(o, "last_heartbeat_ns");
		if (!r->id)
			r->id = strdup("?");
	}
	json_object_put(arr);
	return rl->items ? 0 : (fprintf(stderr, "fangs: runner list: out of memory\n"), 1);
}

CLI_HANDLER(cmd_runner_list)
{
	fangs_wire_client_options wo = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	const char *token_file = NULL;
	fangs_runner_list rl = {0};
	fangs_storage *st;
	int rc;

	if ((rc = remote_opts(a, &wo, &token_file, "runner list")))
		return rc;
	if (wo.url) {
		if (remote_runners(&wo, token_file, &rl))
			return CLI_EXIT_ERROR;
	} else {
		if (!(st = cli_open_storage(ctx)))
			return CLI_EXIT_ERROR;
		rc = fangs_storage_runner_list(st, &rl);
		fangs_storage_free(st);
		if (rc)
			return cli_fail("runner list", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < rl.count; i++) {
			const fangs_runner *r = &rl.items[i];
			json_object_array_add(arr, fangs_json_runner(r));
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
	char id[FANGS_RUN_ID_MAX];
	int rc;

	if ((rc = remote_opts(a, &wo, &token_file, "run fail")))
		return rc;
	if (wo.url)
		return remote_fail(ctx, &wo, token_file, a->pos[0]);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (cli_resolve_run(st, a->pos[0], id, sizeof(id))) {
		fangs_storage_free(st);
		return CLI_EXIT_ERROR;
	}
	if ((rc = fangs_storage_run_get(st, id, &run))) {
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
		json_print(fangs_json_run(&run));
	} else {
		printf("run %s (%s@%s) marked failed\n", tx(run.id), tx(run.package), tx(run.version));
	}
	fangs_run_clear(&run);
	return CLI_EXIT_OK;
}
