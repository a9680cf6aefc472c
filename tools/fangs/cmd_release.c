/*
 * tools/fangs/cmd_release.c - `fangs release`.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_release_list)
{
	const char *package = cli_get(a, "package");
	fangs_release_list rels = {0};
	fangs_storage *st;
	int rc;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_release_list(st, package, &rels))) {
		fangs_storage_free(st);
		return cli_fail("releases", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < rels.count; i++) {
			json_object_array_add(arr, fangs_json_release(&rels.items[i]));
		}
		json_print(arr);
	} else if (rels.count == 0) {
		printf("no releases\n");
	} else {
		table *tb = table_new(4, "PACKAGE", "VERSION", "FIRST SEEN", "RUNS");
		for (size_t i = 0; i < rels.count; i++) {
			char t[32], n[24];
			snprintf(n, sizeof(n), "%lld", (long long)rels.items[i].run_count);
			table_row(tb, rels.items[i].package, rels.items[i].version,
				  fmt_time(rels.items[i].first_seen_ns, t, sizeof(t)), n);
		}
		table_print(tb, stdout);
	}
	fangs_release_list_free(&rels);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}
