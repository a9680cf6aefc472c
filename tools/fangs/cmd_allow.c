/*
 * tools/fangs/cmd_allow.c - `fangs allow`.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_allow_add)
{
	fangs_allow_entry e = {0};
	const char *kind = cli_get(a, "kind");
	fangs_storage *st;
	int rc;
	e.value = (char *)cli_get(a, "value");
	e.package = (char *)cli_get(a, "package");
	e.note = (char *)cli_get(a, "note");
	if (!kind || !e.value)
		return cli_usage_error("allow add needs -kind and -value");
	if (fangs_allow_kind_parse(kind, &e.kind))
		return cli_usage_error("-kind: %s", fangs_error_last());
	if (fangs_allow_entry_validate(e.kind, e.value))
		return cli_usage_error("-value: %s", fangs_error_last());
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_allow_add(st, &e);
	fangs_storage_free(st);
	if (rc)
		return cli_fail("allow add", rc);
	if (ctx->json)
		json_print(fangs_json_allow(&e));
	else
		printf("allowed %s %s%s%s (id %lld)\n", fangs_allow_kind_name(e.kind), tx(e.value),
		       e.package ? " for " : " globally", txd(e.package, ""), (long long)e.id);
	return CLI_EXIT_OK;
}

int cmd_allow_list(cli_ctx *ctx, const cli_args *args)
{
	fangs_allow_list l = {0};
	const char *package = cli_get(args, "package");
	fangs_storage *st;
	int rc;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_allow_list(st, package, &l))) {
		fangs_storage_free(st);
		return cli_fail("allow list", rc);
	}
	/* entries of the config file are global too */
	for (size_t i = 0; i < ctx->config->allow.count; i++) {
		const fangs_allow_entry *a = &ctx->config->allow.items[i];
		if (fangs_allow_list_add(&l, a->kind, a->value, NULL, a->note)) {
			fangs_allow_list_free(&l);
			fangs_storage_free(st);
			return cli_fail("allow list", FANGS_ENOMEM);
		}
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < l.count; i++)
			json_object_array_add(arr, fangs_json_allow(&l.items[i]));
		json_print(arr);
	} else if (l.count == 0) {
		printf("no allowlist entries\n");
	} else {
		table *tb = table_new(5, "ID", "KIND", "VALUE", "PACKAGE", "NOTE");
		for (size_t i = 0; i < l.count; i++) {
			char id[24];
			if (l.items[i].id)
				snprintf(id, sizeof(id), "%lld", (long long)l.items[i].id);
			else
				snprintf(id, sizeof(id), "config");
			table_row(tb, id, fangs_allow_kind_name(l.items[i].kind), l.items[i].value,
				  l.items[i].package ? l.items[i].package : "(global)", l.items[i].note);
		}
		table_print(tb, stdout);
	}
	fangs_allow_list_free(&l);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_allow_remove)
{
	fangs_storage *st;
	char *end;
	long long id;
	int rc;
	id = strtoll(a->pos[0], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error("allowlist id must be a positive number, not '%s'", a->pos[0]);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_allow_remove(st, id);
	fangs_storage_free(st);
	if (rc)
		return cli_fail("allow remove", rc);
	if (!ctx->json)
		printf("removed allowlist entry %lld\n", id);
	else
		printf("{\"removed\": %lld}\n", id);
	return CLI_EXIT_OK;
}
