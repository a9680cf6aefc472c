/*
 * tools/fangs/cmd_package.c - `fangs package`.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_package_list)
{
	fangs_package_list pkgs = {0};
	fangs_storage *st;
	int rc, watched = cli_has(a, "watched") || !strcmp(a->cmd->sub, "watched");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_package_list(st, watched, &pkgs))) {
		fangs_storage_free(st);
		return cli_fail("packages", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < pkgs.count; i++)
			json_object_array_add(arr, fangs_json_package(&pkgs.items[i]));
		json_print(arr);
	} else if (pkgs.count == 0) {
		printf("no packages\n");
	} else {
		table *tb = table_new(5, "PACKAGE", "WATCHED", "LAST SEEN", "RUNS", "BASELINE");
		for (size_t i = 0; i < pkgs.count; i++) {
			char runs[24], base[24];
			snprintf(runs, sizeof(runs), "%lld", (long long)pkgs.items[i].run_count);
			snprintf(base, sizeof(base), "%lld", (long long)pkgs.items[i].baseline_size);
			table_row(tb, pkgs.items[i].name, pkgs.items[i].watched ? "yes" : "no",
				  pkgs.items[i].last_seen_version, runs, base);
		}
		table_print(tb, stdout);
	}
	fangs_package_list_free(&pkgs);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

/* package add|remove|reset NAME */
CLI_HANDLER(cmd_package_change)
{
	fangs_storage *st;
	const char *verb = a->cmd->sub, *name = a->pos[0];
	int rc;
	/* what is watched is named by npm's rules; a name stored before they
	 * were checked can still be removed or reset */
	if (!strcmp(verb, "add") && fangs_package_name_check(name, NULL))
		return cli_usage_error("%s", fangs_error_last());
	if (!*name)
		return cli_usage_error("usage: fangs package %s NAME", verb);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (!strcmp(verb, "add"))
		rc = fangs_storage_package_upsert(st, name, 1);
	else if (!strcmp(verb, "remove"))
		rc = fangs_storage_package_remove(st, name);
	else
		rc = fangs_storage_package_reset(st, name);
	fangs_storage_free(st);
	if (rc)
		return cli_fail(verb, rc);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "package", json_object_new_string(name));
		json_object_object_add(o, "action", json_object_new_string(verb));
		json_print(o);
	} else if (!strcmp(verb, "add")) {
		printf("watching %s\n", tx(name));
	} else if (!strcmp(verb, "remove")) {
		printf("removed %s and everything recorded of it\n", tx(name));
	} else {
		printf("reset %s: runs, events, baseline and deviations deleted\n", tx(name));
	}
	return CLI_EXIT_OK;
}
