/*
 * tools/fangs/cmd_baseline.c - `fangs baseline list|promote` (`baseline export`:
 * cmd_baseline_export.c).
 */
#include "commands.h"
#include "output.h"

static int fp_print(const fangs_fingerprint *fp, void *user)
{
	json_object *arr = user;
	if (arr) {
		json_object_array_add(arr, fangs_json_fingerprint(fp));
	} else {
		printf("%-8s %-6s %s\n", fangs_fp_kind_name(fp->kind), fangs_actor_name(fp->actor), tx(fp->value));
	}
	return 0;
}

CLI_HANDLER(cmd_baseline_list)
{
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	fangs_storage *st;
	int rc, fps = cli_has(a, "fingerprints");

	f.package = cli_get(a, "package");
	if (fps && !f.package)
		return cli_usage_error("--fingerprints needs --package");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (fps) {
		fangs_fpset *set = NULL;
		json_object *arr = ctx->json ? json_object_new_array() : NULL;
		if ((rc = fangs_fpset_new(&set)) || (rc = fangs_storage_baseline_get(st, f.package, set))) {
			fangs_fpset_free(set);
			json_object_put(arr);
			fangs_storage_free(st);
			return cli_fail("baseline", rc);
		}
		fangs_fpset_foreach(set, fp_print, arr);
		if (arr)
			json_print(arr);
		else if (fangs_fpset_size(set) == 0)
			printf("%s has no baseline\n", tx(f.package));
		fangs_fpset_free(set);
		fangs_storage_free(st);
		return CLI_EXIT_OK;
	}
	f.baseline_only = 1;
	if ((rc = fangs_storage_run_list(st, &f, &runs))) {
		fangs_storage_free(st);
		return cli_fail("baseline", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < runs.count; i++)
			json_object_array_add(arr, fangs_json_run(&runs.items[i]));
		json_print(arr);
	} else if (runs.count == 0) {
		printf("no baseline yet\n");
	} else {
		table *tb = table_new(4, "PACKAGE", "VERSION", "RUN", "CREATED");
		char t[32];
		for (size_t i = 0; i < runs.count; i++)
			table_row(tb, runs.items[i].package, runs.items[i].version, runs.items[i].id,
				  fmt_time(runs.items[i].created_ns, t, sizeof(t)));
		table_print(tb, stdout);
	}
	fangs_run_list_free(&runs);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_baseline_promote)
{
	fangs_run r = {0};
	fangs_storage *st;
	unsigned flags = (cli_has(a, "replace") ? FANGS_PROMOTE_REPLACE : 0) |
			 (cli_has(a, "force") ? FANGS_PROMOTE_UNFINISHED : 0);
	char id[FANGS_RUN_ID_MAX];
	int rc;

	if (!(st = cli_open_run_id(ctx, a->pos[0], id, sizeof(id))))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_baseline_promote(st, id, flags)) || (rc = fangs_storage_run_get(st, id, &r))) {
		fangs_run_clear(&r);
		fangs_storage_free(st);
		return cli_fail("promote", rc);
	}
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "promoted", json_object_new_string(r.id));
		json_object_object_add(o, "package", json_object_new_string(r.package));
		json_object_object_add(o, "replaced", json_object_new_boolean(flags & FANGS_PROMOTE_REPLACE));
		json_print(o);
	} else if (flags & FANGS_PROMOTE_REPLACE) {
		printf("baseline of %s replaced by run %s (%s); its findings are cleared\n", tx(r.package), tx(r.id),
		       tx(r.version));
	} else {
		printf("run %s (%s@%s) added to the baseline; its findings are cleared\n", tx(r.id), tx(r.package),
		       tx(r.version));
	}
	fangs_run_clear(&r);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}
