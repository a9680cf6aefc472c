/*
 * tools/fangs/cmd_findings.c - `fangs deviation list|show`, `fangs baseline list|promote`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static const char deviation_usage[] =
	"usage: fangs deviation list [--run RUN] [--package P] [--min-severity S] [--limit N] [--findings]\n"
	"       fangs deviation show ID\n"
	"\n"
	"list: the stored records, newest first: deviations from the baseline and rule hits.\n"
	"  --findings   one line per behaviour instead (needs --run): the records on the same\n"
	"               events, and network records of one registrable domain, grouped\n"
	"show: one record, its evidence events, and the other records of its finding.\n";

static int deviation_list(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"run", required_argument, NULL, 'r'},          {"package", required_argument, NULL, 'p'},
		{"min-severity", required_argument, NULL, 's'}, {"limit", required_argument, NULL, 'n'},
		{"findings", no_argument, NULL, 'F'},           {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list devs = {0};
	fangs_storage *st;
	char *end, ob[512];
	int c, rc, grouped = 0;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': f.run_id = optarg; break;
		case 'p': f.package = optarg; break;
		case 's':
			if (fangs_severity_parse(optarg, &f.min_severity))
				return cli_usage_error("--min-severity: %s", fangs_error_last());
			break;
		case 'n':
			f.limit = strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				return cli_usage_error("--limit needs a number");
			break;
		case 'F': grouped = 1; break;
		case 'h': fputs(deviation_usage, stdout); return CLI_EXIT_OK;
		default: fputs(deviation_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (grouped && (!f.run_id || f.limit))
		return cli_usage_error("--findings needs --run and no --limit: a finding is grouped from all of a run's records");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_deviations_list(st, &f, &devs))) {
		fangs_storage_free(st);
		return cli_fail("deviations", rc);
	}
	if (grouped) {
		fangs_finding_list fl = {0};
		if ((rc = group_findings(st, NULL, &devs, &fl))) {
			fangs_deviation_list_free(&devs);
			fangs_storage_free(st);
			return cli_fail("findings", rc);
		}
		if (ctx->json) {
			json_object *arr = json_object_new_array();
			for (size_t i = 0; i < fl.count; i++)
				json_object_array_add(arr, json_finding(&fl.items[i]));
			json_print(arr);
		} else if (fl.count == 0) {
			printf("no findings\n");
		} else {
			print_findings(stdout, st, NULL, &devs, &fl);
		}
		fangs_finding_list_free(&fl);
	} else if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < devs.count; i++)
			json_object_array_add(arr, json_deviation(&devs.items[i]));
		json_print(arr);
	} else if (devs.count == 0) {
		printf("no deviations\n");
	} else {
		table *tb = table_new(7, "ID", "RUN", "PACKAGE", "SEVERITY", "KIND", "VALUE", "BY");
		for (size_t i = 0; i < devs.count; i++) {
			const fangs_deviation *d = &devs.items[i];
			char id[24];
			snprintf(id, sizeof(id), "%lld", (long long)d->id);
			table_row(tb, id, d->run_id, d->package, fangs_severity_name(d->severity), d->kind, d->value,
				  fmt_origin(&d->origin, ob, sizeof(ob)));
		}
		table_print(tb, stdout);
	}
	fangs_deviation_list_free(&devs);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

static int deviation_show(cli_ctx *ctx, int argc, char **argv)
{
	fangs_deviation d = {0};
	fangs_event_list evs = {0};
	fangs_deviation_filter rf = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list run_devs = {0};
	fangs_finding_list fl = {0};
	const fangs_finding *fi = NULL;
	fangs_storage *st;
	char *end, eb[2048], ob[512];
	long long id;
	int rc;

	if (argc != 2 || cli_is_help(argv[1]))
		return cli_usage_error("usage: fangs deviation show ID");
	id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error("deviation id must be a positive number, not '%s'", argv[1]);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_deviation_get(st, id, &d)) ||
	    (rc = fangs_storage_events_get(st, d.evidence, d.n_evidence, &evs))) {
		fangs_event_list_free(&evs);
		fangs_deviation_clear(&d);
		fangs_storage_free(st);
		return cli_fail("deviation", rc);
	}
	/* the finding it is part of: the other records of its run on the same behaviour */
	rf.run_id = d.run_id;
	if (fangs_storage_deviations_list(st, &rf, &run_devs) == 0 && group_findings(st, NULL, &run_devs, &fl) == 0) {
		for (size_t i = 0; i < run_devs.count && !fi; i++) {
			long k = run_devs.items[i].id == d.id ? fangs_finding_list_find(&fl, i) : -1;
			if (k >= 0)
				fi = &fl.items[k];
		}
	}
	if (ctx->json) {
		json_object *o = json_deviation(&d);
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < evs.count; i++)
			json_object_array_add(arr, json_event(&evs.items[i]));
		json_object_object_add(o, "evidence_events", arr);
		json_object_object_add(o, "finding", fi ? json_finding(fi) : NULL);
		json_print(o);
	} else {
		printf("deviation %lld of run %s (%s)\n", (long long)d.id, tx(d.run_id), tx(d.package));
		printf("kind:     %s\nseverity: %s\nvalue:    %s\nactor:    %s\n", tx(d.kind),
		       fangs_severity_name(d.severity), txd(d.value, ""), fangs_actor_name(d.actor));
		if (d.description)
			print_lines(stdout, "meaning:  ", "          ", d.description);
		printf("origin:   %s\n", fmt_origin(&d.origin, ob, sizeof(ob)));
		if (d.command)
			printf("command:  %s\n", tx(d.command));
		if (fi && fi->n_records > 1) {
			printf("finding:  one behaviour with");
			for (size_t i = 0; i < fi->n_records; i++)
				if (fi->record_ids[i] != d.id)
					printf(" #%lld %s", (long long)fi->record_ids[i],
					       run_devs.items[fi->records[i]].kind);
			printf("\n");
		}
		printf("evidence:\n");
		for (size_t i = 0; i < evs.count; i++) {
			const fangs_event *ev = &evs.items[i];
			printf("  #%lld pid %d (%s) %s\n", (long long)ev->id, ev->pid, txd(ev->comm, "?"),
			       fmt_event(ev, eb, sizeof(eb)));
			for (size_t a = 0; a < ev->n_ancestry; a++)
				printf("      %*s<- pid %d %s %s\n", (int)(2 * a), "", ev->ancestry[a].pid,
				       txd(ev->ancestry[a].comm, "?"), txd(ev->ancestry[a].exe, ""));
		}
	}
	fangs_finding_list_free(&fl);
	fangs_deviation_list_free(&run_devs);
	fangs_event_list_free(&evs);
	fangs_deviation_clear(&d);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

int cmd_deviation(cli_ctx *ctx, int argc, char **argv)
{
	static const cli_sub subs[] = {{"list", deviation_list}, {"show", deviation_show}};
	return CLI_DISPATCH(ctx, argc, argv, deviation_usage, subs);
}

static const char baseline_usage[] =
	"usage: fangs baseline list [--package P] [--fingerprints]\n"
	"       fangs baseline promote [--replace] [--force] RUN\n"
	"\n"
	"list: the runs that make up each package's baseline; with --package and\n"
	"--fingerprints, the baseline's fingerprints (kind, actor, value).\n"
	"promote: a person accepts RUN: its fingerprints are added to its package's\n"
	"baseline, its findings are cleared, and later rule hits that do only what it\n"
	"did are not reported again.\n"
	"  --replace   the baseline becomes RUN's fingerprints alone (the other runs leave it)\n"
	"  --force     also accept a run whose install failed or timed out\n";

static int fp_print(const fangs_fingerprint *fp, void *user)
{
	json_object *arr = user;
	if (arr) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(fangs_fp_kind_name(fp->kind)));
		json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(fp->actor)));
		json_object_object_add(o, "value", json_object_new_string(fp->value));
		json_object_array_add(arr, o);
	} else {
		printf("%-8s %-6s %s\n", fangs_fp_kind_name(fp->kind), fangs_actor_name(fp->actor), tx(fp->value));
	}
	return 0;
}

static int baseline_list(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"package", required_argument, NULL, 'p'}, {"fingerprints", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	fangs_storage *st;
	int c, rc, fps = 0;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': f.package = optarg; break;
		case 'f': fps = 1; break;
		case 'h': fputs(baseline_usage, stdout); return CLI_EXIT_OK;
		default: fputs(baseline_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
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
			json_object_array_add(arr, json_run(&runs.items[i]));
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

static int baseline_promote(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"replace", no_argument, NULL, 'r'}, {"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0},
	};
	fangs_run r = {0};
	fangs_storage *st;
	unsigned flags = 0;
	int c, rc;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': flags |= FANGS_PROMOTE_REPLACE; break;
		case 'f': flags |= FANGS_PROMOTE_UNFINISHED; break;
		case 'h': fputs(baseline_usage, stdout); return CLI_EXIT_OK;
		default: fputs(baseline_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("usage: fangs baseline promote [--replace] [--force] RUN");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_baseline_promote(st, argv[optind], flags)) ||
	    (rc = fangs_storage_run_get(st, argv[optind], &r))) {
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

int cmd_baseline(cli_ctx *ctx, int argc, char **argv)
{
	static const cli_sub subs[] = {{"list", baseline_list}, {"promote", baseline_promote}};
	return CLI_DISPATCH(ctx, argc, argv, baseline_usage, subs);
}
