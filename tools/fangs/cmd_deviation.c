/*
 * tools/fangs/cmd_deviation.c - `fangs deviation list|show`.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_deviation_list)
{
	fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list devs = {0};
	fangs_storage *st;
	char ob[512], run_id[FANGS_RUN_ID_MAX];
	int rc, grouped = cli_has(a, "findings");

	f.package = cli_get(a, "package");
	f.limit = cli_get_num(a, "limit", 0);
	if (cli_get(a, "min-severity"))
		fangs_severity_parse(cli_get(a, "min-severity"), &f.min_severity); /* checked when parsed */
	if (grouped && (!cli_get(a, "run") || f.limit))
		return cli_usage_error(
			"--findings needs --run and no --limit: a finding is grouped from all of a run's records");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (cli_get(a, "run")) {
		if (cli_resolve_run(st, cli_get(a, "run"), run_id, sizeof(run_id))) {
			fangs_storage_free(st);
			return CLI_EXIT_ERROR;
		}
		f.run_id = run_id;
	}
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
				json_object_array_add(arr, fangs_json_finding(&fl.items[i]));
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
			json_object_array_add(arr, fangs_json_deviation(&devs.items[i]));
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

int cmd_deviation_show(cli_ctx *ctx, const cli_args *args)
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

	id = strtoll(args->pos[0], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error("deviation id must be a positive number, not '%s'", args->pos[0]);
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
		json_object *o = fangs_json_deviation(&d);
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < evs.count; i++)
			json_object_array_add(arr, fangs_json_event(&evs.items[i]));
		json_object_object_add(o, "evidence_events", arr);
		json_object_object_add(o, "finding", fi ? fangs_json_finding(fi) : NULL);
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
