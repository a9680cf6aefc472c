/*
 * tools/fangs/cmd_packages.c - `fangs package|release|allow|prune`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

static const char package_usage[] =
	"usage: fangs package list [--watched]\n"
	"       fangs package watched          the watched packages (as list --watched)\n"
	"       fangs package add NAME         watch a package\n"
	"       fangs package remove NAME      forget a package and everything recorded of it\n"
	"       fangs package reset NAME       delete its runs, events, baseline and deviations; keep watching\n";

static int package_list(cli_ctx *ctx, int argc, char **argv)
{
	fangs_package_list pkgs = {0};
	fangs_storage *st;
	int rc, watched = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--watched") || !strcmp(argv[i], "-watched"))
			watched = 1;
		else
			return cli_usage_error("unexpected argument '%s'", argv[i]);
	}
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_package_list(st, watched, &pkgs))) {
		fangs_storage_free(st);
		return cli_fail("packages", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < pkgs.count; i++)
			json_object_array_add(arr, json_package(&pkgs.items[i]));
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

int cmd_package(cli_ctx *ctx, int argc, char **argv)
{
	fangs_storage *st;
	const char *verb, *name;
	int rc;
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(package_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	verb = argv[1];
	if (!strcmp(verb, "list"))
		return package_list(ctx, argc - 1, argv + 1);
	if (!strcmp(verb, "watched") && argc == 2) {
		char *list_watched[] = {(char *)"list", (char *)"--watched", NULL};
		return package_list(ctx, 2, list_watched);
	}
	if (strcmp(verb, "add") && strcmp(verb, "remove") && strcmp(verb, "reset"))
		return cli_usage_error("unknown package subcommand '%s' (list, add, remove, reset)", verb);
	if (argc != 3)
		return cli_usage_error("usage: fangs package %s NAME", verb);
	name = argv[2];
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

int cmd_release(cli_ctx *ctx, int argc, char **argv)
{
	const char *package = NULL;
	fangs_release_list rels = {0};
	fangs_storage *st;
	int rc;
	if (argc < 2 || strcmp(argv[1], "list")) {
		if (argc >= 2 && cli_is_help(argv[1])) {
			puts("usage: fangs release list [--package P]");
			return CLI_EXIT_OK;
		}
		return cli_usage_error("usage: fangs release list [--package P]");
	}
	for (int i = 2; i < argc; i++) {
		if ((!strcmp(argv[i], "--package") || !strcmp(argv[i], "-package")) && i + 1 < argc)
			package = argv[++i];
		else
			return cli_usage_error("unexpected argument '%s'", argv[i]);
	}
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_release_list(st, package, &rels))) {
		fangs_storage_free(st);
		return cli_fail("releases", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < rels.count; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "package", json_object_new_string(rels.items[i].package));
			json_object_object_add(o, "version", json_object_new_string(rels.items[i].version));
			json_object_object_add(o, "first_seen_ns", json_object_new_int64(rels.items[i].first_seen_ns));
			json_object_object_add(o, "run_count", json_object_new_int64(rels.items[i].run_count));
			json_object_array_add(arr, o);
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

static const char allow_usage[] =
	"usage: fangs allow list [--package P]\n"
	"       fangs allow add -kind KIND -value V [-package P] [-note TEXT]\n"
	"       fangs allow remove ID\n"
	"\n"
	"KIND: path (prefix), cidr, sni (exact), dns (suffix), exec (exact binary).\n"
	"Without -package an entry is global. Entries from the config file are listed too.\n";

static int allow_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kind", required_argument, NULL, 'k'}, {"value", required_argument, NULL, 'v'},
		{"package", required_argument, NULL, 'p'}, {"note", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	fangs_allow_entry e = {0};
	const char *kind = NULL;
	fangs_storage *st;
	int c, rc;
	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kind = optarg; break;
		case 'v': e.value = optarg; break;
		case 'p': e.package = optarg; break;
		case 'n': e.note = optarg; break;
		case 'h': fputs(allow_usage, stdout); return CLI_EXIT_OK;
		default: fputs(allow_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
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
		json_print(json_allow(&e));
	else
		printf("allowed %s %s%s%s (id %lld)\n", fangs_allow_kind_name(e.kind), tx(e.value),
		       e.package ? " for " : " globally", txd(e.package, ""), (long long)e.id);
	return CLI_EXIT_OK;
}

static int allow_list(cli_ctx *ctx, int argc, char **argv)
{
	fangs_allow_list l = {0};
	const char *package = NULL;
	fangs_storage *st;
	int rc;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--package") || !strcmp(argv[i], "-package")) && i + 1 < argc)
			package = argv[++i];
		else
			return cli_usage_error("unexpected argument '%s'", argv[i]);
	}
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
			json_object_array_add(arr, json_allow(&l.items[i]));
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

static int allow_remove(cli_ctx *ctx, int argc, char **argv)
{
	fangs_storage *st;
	char *end;
	long long id;
	int rc;
	if (argc != 2)
		return cli_usage_error("usage: fangs allow remove ID");
	id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error("allowlist id must be a positive number, not '%s'", argv[1]);
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

int cmd_allow(cli_ctx *ctx, int argc, char **argv)
{
	static const cli_sub subs[] = {{"list", allow_list}, {"add", allow_add}, {"remove", allow_remove}};
	return CLI_DISPATCH(ctx, argc, argv, allow_usage, subs);
}

int cmd_prune(cli_ctx *ctx, int argc, char **argv)
{
	unsigned long days = ctx->config->retention_days;
	fangs_prune_stats stats = {0};
	fangs_storage *st;
	char *end;
	int rc;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--days") || !strcmp(argv[i], "-days")) && i + 1 < argc) {
			days = strtoul(argv[++i], &end, 10);
			if (*end || days == 0)
				return cli_usage_error("--days needs a positive number");
		} else if (cli_is_help(argv[i])) {
			puts("usage: fangs prune [--days N]\n\nDeletes events and clean non-baseline runs older than N days\n"
			     "(default: storage.retention_days, 90). Events a deviation points to are kept.");
			return CLI_EXIT_OK;
		} else {
			return cli_usage_error("unexpected argument '%s'", argv[i]);
		}
	}
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
