/*
 * tools/fangs/cmd_packages.c - `fangs package|release|allow|prune`.
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

CLI_HANDLER(cmd_prune)
{
	unsigned long days = cli_get_num(a, "days", ctx->config->retention_days);
	fangs_prune_stats stats = {0};
	fangs_storage *st;
	int rc;
	if (days == 0)
		return cli_usage_error("--days needs a positive number");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		rc = fangs_storage_prune(st, now - (int64_t)days * 86400LL * 1000000000LL, &stats);
	}
	fangs_storage_free(st);
	if (rc)
		return cli_fail("prune", rc);
	if (ctx->json)
		printf("{\"runs_deleted\": %lld, \"events_deleted\": %lld, \"events_kept_as_evidence\": %lld}\n",
		       (long long)stats.runs_deleted, (long long)stats.events_deleted,
		       (long long)stats.events_kept_as_evidence);
	else
		printf("pruned older than %lu days: %lld runs, %lld events deleted; %lld events kept as evidence\n", days,
		       (long long)stats.runs_deleted, (long long)stats.events_deleted,
		       (long long)stats.events_kept_as_evidence);
	return CLI_EXIT_OK;
}
