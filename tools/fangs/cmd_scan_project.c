/*
 * tools/fangs/cmd_scan_project.c - `fangs scan --project DIR` (a mode of
 * `fangs scan`, which hands it over): an npm project as its lockfile pins it,
 * each dependency with install scripts judged against its own baseline.
 */
#include "commands.h"
#include "output.h"
#include "project_scan.h"

CLI_HANDLER(cmd_scan_project)
{
	fangs_project_scan_options po = FANGS_PROJECT_SCAN_OPTIONS_INIT;
	fangs_project_scan_result r;
	scanner sc;
	report rp;
	report_format fmt;
	int rc, fail = 0, use_report;
	const char *dir = cli_get(a, "project");

	if (a->npos)
		return cli_usage_error("--project DIR scans a project: give no SPEC");
	if ((use_report = report_wanted(ctx, a, &fmt)) < 0)
		return CLI_EXIT_USAGE;
	if ((rc = scanner_open(ctx, a, &sc, dir)))
		return rc;
	po.dir = dir;
	po.resolve = cli_has(a, "resolve");
	rc = fangs_scan_project(&sc.so, &po, &r);
	if (rc) {
		rc = project_error(dir, rc, 0);
		scanner_close(&sc);
		return rc;
	}
	for (size_t i = 0; i < r.n_deps; i++)
		fail |= dep_has_findings(&r.deps[i], sc.fail_on);
	if (use_report) {
		report_start(&rp, "scan", dir, r.lock.file, sc.st, sc.fail_on);
		for (size_t i = 0; i < r.n_deps; i++) {
			const fangs_scan_dependency *d = &r.deps[i];
			int ok = fangs_project_script_approved(dir, d->name, d->version);
			report_dep(&rp, sc.st, &r, &r.lock, d, d->name, d->version, NULL, d->index, 1,
				   ok < 0 ? -1 : ok);
		}
		if (report_emit(cli_get(a, "output"), fmt, &rp))
			fail = -1;
		report_clear(&rp);
	} else if (ctx->json) {
		json_object *o = json_object_new_object(), *deps = json_object_new_array();
		json_object_object_add(o, "project", json_project(&r));
		json_object_object_add(o, "install", json_install(&r));
		for (size_t i = 0; i < r.n_deps; i++)
			json_object_array_add(deps, json_dep(sc.st, &r.lock, &r.deps[i], r.deps[i].name,
							     r.deps[i].version, r.deps[i].index, 1));
		json_object_object_add(o, "dependencies", deps);
		json_print(o);
	} else {
		size_t ran = 0;
		print_install(&r, dir);
		for (size_t i = 0; i < r.n_deps; i++)
			ran += r.deps[i].ran;
		printf("%zu dependenc%s with install scripts, %zu ran:\n", r.n_deps, r.n_deps == 1 ? "y" : "ies", ran);
		for (size_t i = 0; i < r.n_deps; i++)
			print_dep(sc.st, &r.lock, &r.deps[i], r.deps[i].name, r.deps[i].version, r.deps[i].index, 1,
				  sc.fail_on);
		printf("verdict: %s\n",
		       fail ? "findings at or above --fail-on (fails)" : "nothing at or above --fail-on");
	}
	for (size_t i = 0; i < r.n_deps; i++)
		if (r.deps[i].ran && r.deps[i].analysis.deviations.count)
			cli_notify_run(ctx, sc.st, r.deps[i].run_id);
	rc = fail < 0 ? CLI_EXIT_ERROR : install_exit(&r, fail);
	fangs_project_scan_result_clear(&r);
	scanner_close(&sc);
	return rc;
}
