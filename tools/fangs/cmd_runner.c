/*
 * tools/fangs/cmd_runner.c - `fangs runner list`: the runners in the
 * database the orchestrator uses, or through the orchestrator with
 * --orchestrator URL.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "remote.h"

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
			table_row(t, r->id, r->state, scans, r->hostname, r->cn,
				  fmt_time(r->last_heartbeat_ns, seen, sizeof(seen)));
		}
		table_print(t, stdout);
	}
	fangs_runner_list_free(&rl);
	return CLI_EXIT_OK;
}
