/*
 * report: imports an NDJSON recording into a fangs database and prints what
 * the release did that the package's earlier releases never did.
 *
 *   cc report.c $(pkg-config --cflags --libs libfangs) -o report
 *   ./report fangs.db rec.ndjson left-pad 1.3.0
 */
#include <fangs/fangs.h>
#include <stdio.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "report: %s: %s (%s)\n", what, fangs_error_last(), fangs_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	fangs_storage_options sopts = FANGS_STORAGE_OPTIONS_INIT;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_storage *st = NULL;
	fangs_differ *differ = NULL;
	fangs_event_list events = {0};
	fangs_run run = {0};
	fangs_analysis result = {0};
	fangs_finding_list findings = {0};
	int rc, status = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DB RECORDING.ndjson PACKAGE VERSION\n", argv[0]);
		return 2;
	}
	sopts.sqlite_path = argv[1];
	if ((rc = fangs_events_read_file(&events, argv[2])))
		return fail("read", rc);
	if ((rc = fangs_storage_open(&st, &sopts))) {
		fail("open", rc);
		goto out;
	}
	if ((rc = fangs_differ_new(&differ, &dopts))) {
		fail("differ", rc);
		goto out;
	}
	run.package = argv[3];
	run.version = argv[4];
	run.state = FANGS_RUN_SUCCEEDED;
	if ((rc = fangs_storage_run_create(st, &run)) ||
	    (rc = fangs_storage_events_append(st, run.id, events.items, events.count))) {
		fail("store", rc);
		goto out;
	}
	if ((rc = fangs_analyze_run(st, differ, NULL, run.id, &result))) {
		fail("analyze", rc);
		goto out;
	}
	/* one finding per behaviour: the deviations and rule hits grouped */
	if ((rc = fangs_findings_load(st, &result.deviations, NULL, &findings))) {
		fail("findings", rc);
		goto out;
	}
	printf("run %s of %s@%s: %s, %zu deviations, %zu findings\n", run.id, argv[3], argv[4],
	       fangs_baseline_action_name(result.action), result.deviations.count, findings.count);
	for (size_t i = 0; i < findings.count; i++) {
		const fangs_finding *f = &findings.items[i];
		printf("  %-8s %s (%s %s)\n", fangs_severity_name(f->severity), f->value ? f->value : "",
		       f->origin.package ? f->origin.package : "npm", f->origin.script ? f->origin.script : "");
		for (size_t j = 0; j < f->n_labels; j++)
			printf("           %s\n", f->labels[j]);
	}
	status = 0;
out:
	fangs_finding_list_free(&findings);
	fangs_analysis_clear(&result);
	fangs_differ_free(differ);
	fangs_storage_free(st);
	fangs_event_list_free(&events);
	return status;
}
