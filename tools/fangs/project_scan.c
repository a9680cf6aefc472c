/*
 * tools/fangs/project_scan.c - what `fangs scan --project DIR` (cmd_scan_project.c)
 * and `fangs review` (cmd_review.c) share: the scanner, and a judged
 * dependency of an npm project as text, JSON and a report item.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fangs/encode.h>
#include <fangs/project.h>
#include <fangs/scan.h>
#include <fangs/sensor.h>

#include "commands.h"
#include "output.h"
#include "project_scan.h"

#define NONE ((size_t)-1)

static void on_progress(fangs_scan_phase phase, uint64_t events, const char *detail, void *user)
{
	static int last = -1;
	const char *dir = user;
	(void)events;
	if (!dir || (phase == FANGS_SCAN_INSTALL && !detail) || (int)phase == last)
		return;
	last = (int)phase;
	fprintf(stderr, "%s: %s%s%s\n", tx(dir), fangs_scan_phase_name(phase), detail ? ": " : "", txd(detail, ""));
}

/* What a judged dependency's run says: the verdict's word. */
typedef enum dep_verdict {
	V_NO_SCRIPTS = 0, /* no install scripts: nothing ran */
	V_NOT_RUN,        /* it has install scripts, none ran in the sandbox */
	V_UNCHANGED,      /* matches its baseline */
	V_NEW,            /* findings against its baseline */
	V_FIRST_SIGHT,    /* no baseline: the rules' verdict */
} dep_verdict;

static const char *verdict_name(dep_verdict v)
{
	static const char *const names[] = {"no_install_scripts", "scripts_not_run", "unchanged_behaviour",
					    "new_behaviour", "first_sight"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == V_FIRST_SIGHT + 1, "a name per verdict");
	return names[v];
}

static dep_verdict verdict_of(const fangs_scan_dependency *d, int has_scripts)
{
	if (!d || !d->ran)
		return has_scripts ? V_NOT_RUN : V_NO_SCRIPTS;
	if (d->first_sight)
		return V_FIRST_SIGHT;
	for (size_t i = 0; i < d->analysis.deviations.count; i++)
		if (d->analysis.deviations.items[i].severity > FANGS_SEV_INFO)
			return V_NEW;
	return V_UNCHANGED;
}

static fangs_severity dep_max(const fangs_scan_dependency *d)
{
	return d && d->analysis.deviations.count ? fangs_deviation_list_max_severity(&d->analysis.deviations)
						 : FANGS_SEV_INFO;
}

int dep_has_findings(const fangs_scan_dependency *d, fangs_severity at)
{
	return d && d->analysis.deviations.count && dep_max(d) >= at;
}

static json_object *json_paths(const fangs_lockfile *lf, size_t index)
{
	json_object *arr = json_object_new_array();
	size_t **paths = NULL, n = 0;
	if (index == NONE || fangs_lockfile_paths(lf, index, 0, &paths, &n))
		return arr;
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_new_array();
		for (size_t k = 0; paths[i][k] != NONE; k++) {
			const fangs_lock_package *pk = &lf->packages[paths[i][k]];
			char buf[600];
			snprintf(buf, sizeof(buf), "%s@%s", pk->name, pk->version ? pk->version : "link");
			json_object_array_add(p, json_object_new_string(buf));
		}
		json_object_array_add(arr, p);
	}
	fangs_lock_paths_free(paths, n);
	return arr;
}

static const char *path_text(const fangs_lockfile *lf, size_t index, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (index != NONE)
		fangs_lockfile_path_text(lf, index, buf, cap);
	return buf[0] ? buf : "(not reached from the project)";
}

/* The scripts that ran, as their deviations name them ("install: node build.js"). */
static void print_scripts(const fangs_scan_dependency *d)
{
	const char *seen[8];
	size_t n = 0;
	for (size_t i = 0; i < d->analysis.deviations.count && n < 8; i++) {
		const fangs_origin *o = &d->analysis.deviations.items[i].origin;
		int dup = 0;
		if (!o->script)
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(seen[k], o->script);
		if (dup)
			continue;
		seen[n++] = o->script;
		printf("    script %s: %s\n", tx(o->script), txd(o->command, "-"));
	}
}

json_object *json_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d, const char *name,
		      const char *version, size_t index, int has_scripts)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	fangs_finding_list fl = {0};
	dep_verdict v = verdict_of(d, has_scripts);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "version", json_object_new_string(version));
	json_object_object_add(o, "paths", json_paths(lf, index));
	json_object_object_add(o, "has_install_script", json_object_new_boolean(has_scripts));
	json_object_object_add(o, "verdict", json_object_new_string(verdict_name(v)));
	json_object_object_add(o, "run_id", json_str_or_null(d && d->ran ? d->run_id : NULL));
	json_object_object_add(o, "events", json_object_new_int64(d ? (int64_t)d->n_events : 0));
	if (d && d->ran) {
		json_object_object_add(o, "baseline",
				       json_object_new_string(fangs_baseline_action_name(d->analysis.action)));
		for (size_t j = 0; j < d->analysis.deviations.count; j++)
			json_object_array_add(devs, fangs_json_deviation(&d->analysis.deviations.items[j]));
		group_findings(st, NULL, &d->analysis.deviations, &fl);
	}
	json_object_object_add(o, "deviations", devs);
	fangs_json_add_findings(o, &fl);
	fangs_finding_list_free(&fl);
	return o;
}

void print_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d, const char *name,
	       const char *version, size_t index, int has_scripts, fangs_severity fail_on)
{
	char path[2048], counts[128];
	fangs_finding_list fl = {0};
	dep_verdict v = verdict_of(d, has_scripts);
	printf("  %s@%s  [%s]\n", tx(name), tx(version), path_text(lf, index, path, sizeof(path)));
	switch (v) {
	case V_NO_SCRIPTS:
		printf("    no install scripts: nothing of it ran\n");
		return;
	case V_NOT_RUN:
		printf("    has install scripts, none ran in the sandbox\n");
		return;
	case V_UNCHANGED:
	case V_NEW:
	case V_FIRST_SIGHT:
		break;
	}
	print_scripts(d);
	group_findings(st, NULL, &d->analysis.deviations, &fl);
	fmt_counts(&fl, counts, sizeof(counts));
	switch (v) {
	case V_UNCHANGED:
		printf("    unchanged behaviour: matches its baseline (run %s, %zu events)\n", tx(d->run_id),
		       d->n_events);
		break;
	case V_NEW:
		printf("    new behaviour: %s, highest %s%s (run %s)\n", counts,
		       fangs_severity_name(findings_max_severity(&fl)),
		       findings_max_severity(&fl) >= fail_on ? " (fails)" : "", tx(d->run_id));
		break;
	case V_FIRST_SIGHT:
		if (fl.count)
			printf("    first sight (no baseline): the rules: %s, highest %s%s (run %s)\n", counts,
			       fangs_severity_name(findings_max_severity(&fl)),
			       findings_max_severity(&fl) >= fail_on ? " (fails)" : "", tx(d->run_id));
		else
			printf("    first sight (no baseline): the rules flag nothing; baseline %s (run %s)\n",
			       fangs_baseline_action_name(d->analysis.action), tx(d->run_id));
		break;
	case V_NO_SCRIPTS:
	case V_NOT_RUN:
		break;
	}
	if (fl.count)
		print_findings(stdout, st, NULL, &d->analysis.deviations, &fl);
	fangs_finding_list_free(&fl);
}

/* The report's item of a dependency (--format): its path, lockfile key,
 * status, the scripts its findings name, approval (-1 unknown). */
void report_dep(report *rp, fangs_storage *st, const fangs_project_scan_result *r, const fangs_lockfile *lf,
		const fangs_scan_dependency *d, const char *name, const char *version, const char *previous,
		size_t index, int has_scripts, int approval)
{
	report_item *it = report_add(rp, name, version);
	fangs_finding_list fl = {0};
	size_t **paths = NULL, n = 0;
	report_set(&it->previous_version, previous);
	if (index != NONE) {
		report_set(&it->lock_key, lf->packages[index].path);
		if (fangs_lockfile_paths(lf, index, 1, &paths, &n) == 0 && n) {
			const char *names[64];
			size_t k = 0;
			for (; paths[0][k] != NONE && k < 64; k++)
				names[k] = lf->packages[paths[0][k]].name;
			report_item_set_path(it, names, k);
		}
		fangs_lock_paths_free(paths, n);
	}
	if (!it->n_path) {
		const char *one[1] = {name};
		report_item_set_path(it, one, 1);
	}
	it->approval = approval < 0 ? REPORT_APPROVAL_UNKNOWN : approval ? REPORT_APPROVED : REPORT_NOT_APPROVED;
	switch (verdict_of(d, has_scripts)) {
	case V_NO_SCRIPTS:
		it->status = REPORT_SCANNED;
		report_set(&it->reason, "no install scripts: nothing of it ran");
		return;
	case V_NOT_RUN:
		it->status = REPORT_SCANNED;
		report_set(&it->reason, "has install scripts, none ran in the sandbox");
		return;
	case V_UNCHANGED:
		it->status = REPORT_UNCHANGED;
		break;
	case V_NEW:
		it->status = REPORT_NEW_BEHAVIOUR;
		break;
	case V_FIRST_SIGHT:
		it->status = REPORT_FIRST_SIGHT;
		break;
	}
	if (r && r->install.state != FANGS_RUN_SUCCEEDED) {
		it->status = REPORT_INSTALL_FAILED;
		report_set(&it->reason, r->install.reason);
	}
	report_set(&it->run_id, d->run_id);
	group_findings(st, NULL, &d->analysis.deviations, &fl);
	for (size_t i = 0; i < fl.count; i++) {
		const fangs_origin *o = &fl.items[i].origin;
		int seen = 0;
		if (!o->script || (o->package && strcmp(o->package, name)))
			continue;
		for (size_t j = 0; j < it->n_scripts; j++)
			seen |= !strcmp(it->scripts[j], o->script);
		if (!seen)
			report_item_add_script(it, o->script);
	}
	report_item_take_findings(it, &fl);
}

/* --format and --output: 1 = the report is written instead of fangs' own
 * output; -1 = a usage error (printed). */
int report_wanted(cli_ctx *ctx, const cli_args *a, report_format *fmt)
{
	*fmt = REPORT_HUMAN;
	if (cli_get(a, "format"))
		report_format_parse(cli_get(a, "format"), fmt); /* checked when parsed */
	if (*fmt == REPORT_HUMAN && !cli_get(a, "output"))
		return 0;
	if (ctx->json && *fmt != REPORT_JSON) {
		cli_usage_error("--json and --format %s: give one", report_format_name(*fmt));
		return -1;
	}
	return 1;
}

void report_start(report *rp, const char *command, const char *dir, const char *lockpath, fangs_storage *st,
		  fangs_severity fail_on)
{
	report_init(rp);
	report_set(&rp->command, command);
	report_set(&rp->project_dir, dir);
	report_set(&rp->lockfile, lockpath && strrchr(lockpath, '/') ? strrchr(lockpath, '/') + 1 : lockpath);
	rp->storage = st;
	rp->fail_on = fail_on;
}

int scanner_open(cli_ctx *ctx, const cli_args *a, scanner *sc, const char *dir)
{
	fangs_scan_options init = FANGS_SCAN_OPTIONS_INIT;
	fangs_sensor_options seo = FANGS_SENSOR_OPTIONS_INIT;
	const char *docker_host;
	int rc, removed = 0;
	sc->so = init;
	sc->fail_on = FANGS_SEV_HIGH;
	sc->so.sandbox = cli_get(a, "sandbox");
	sc->so.network = cli_get(a, "network");
	if (cli_get(a, "duration"))
		sc->so.duration_ms = (int64_t)(strtod(cli_get(a, "duration"), NULL) * 1000);
	sc->so.registry = cli_get(a, "registry");
	sc->so.image = cli_get(a, "image");
	if (cli_get(a, "fail-on"))
		fangs_severity_parse(cli_get(a, "fail-on"), &sc->fail_on);
	if ((docker_host = getenv("DOCKER_HOST")) && *docker_host) {
		if (strncmp(docker_host, "unix://", 7) || !docker_host[7])
			return cli_usage_error("DOCKER_HOST must be unix://PATH (the daemon's socket)");
		sc->so.docker_socket = docker_host + 7;
	}
	if (!(sc->st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (fangs_scan_gc(&sc->so, &removed))
		print_error("warning: removing leftovers of killed scans: %s", fangs_error_last());
	if ((rc = fangs_sensor_new(&sc->sensor, &seo))) {
		fangs_storage_free(sc->st);
		sc->st = NULL;
		return cli_fail("cannot start the eBPF sensor", rc);
	}
	sc->so.storage = sc->st;
	sc->so.config = ctx->config;
	sc->so.sensor = sc->sensor;
	sc->so.no_import = 1;
	if (!cli_has(a, "quiet")) {
		sc->so.progress = on_progress;
		sc->so.user = (void *)dir;
	}
	return 0;
}

void scanner_close(scanner *sc)
{
	fangs_sensor_free(sc->sensor);
	fangs_storage_free(sc->st);
}

/* A project error that is the project's (no lockfile, a stale one, one
 * that does not parse) is a usage error: exit 2. A scan's FANGS_EPARSE is
 * a corrupt tarball (integrity): an error. */
int project_error(const char *what, int rc, int parse_is_usage)
{
	print_error("%s: %s", what, fangs_error_last());
	return rc == FANGS_ENOTFOUND || rc == FANGS_EINVAL || (parse_is_usage && rc == FANGS_EPARSE) ? CLI_EXIT_USAGE
												     : CLI_EXIT_ERROR;
}

int install_exit(const fangs_project_scan_result *r, int findings_fail)
{
	if (findings_fail)
		return CLI_EXIT_FINDINGS;
	if (r->install.state != FANGS_RUN_SUCCEEDED)
		return CLI_EXIT_INSTALL_FAILED;
	return CLI_EXIT_OK;
}

void print_install(const fangs_project_scan_result *r, const char *dir)
{
	char dur[32];
	printf("project %s@%s (%s, lockfileVersion %d, %zu packages)\n", tx(r->install.package), tx(r->install.version),
	       tx(r->lock.file), r->lock.lockfile_version, r->lock.count);
	if (r->resolved) {
		printf("resolved (no lockfile, or one out of sync with package.json): npm resolved\n");
		for (size_t i = 0; i < r->lock.count; i++)
			if (!r->lock.packages[i].link)
				printf("  %s@%s\n", tx(r->lock.packages[i].name), tx(r->lock.packages[i].version));
	}
	printf("install %s: npm ci, %s, exit %d%s, %llu events, %llu dropped\n", tx(r->install.run_id),
	       fmt_duration(r->install.duration_ns, dur, sizeof(dur)), r->install.exit_code,
	       r->install.timed_out ? ", timed out" : "", (unsigned long long)r->install.events_emitted,
	       (unsigned long long)r->install.events_dropped);
	if (r->install.state != FANGS_RUN_SUCCEEDED)
		printf("install %s: %s\n", r->install.state == FANGS_RUN_TIMED_OUT ? "timed out" : "failed",
		       txd(r->install.reason, "-"));
	(void)dir;
}

json_object *json_install(const fangs_project_scan_result *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "run_id", json_object_new_string(r->install.run_id));
	json_object_object_add(o, "state", json_object_new_string(fangs_run_state_name(r->install.state)));
	json_object_object_add(o, "exit_code", json_object_new_int(r->install.exit_code));
	json_object_object_add(o, "reason", json_str_or_null(r->install.reason));
	json_object_object_add(o, "events_emitted", json_object_new_int64((int64_t)r->install.events_emitted));
	json_object_object_add(o, "events_dropped", json_object_new_int64((int64_t)r->install.events_dropped));
	json_object_object_add(o, "duration_ns", json_object_new_int64(r->install.duration_ns));
	return o;
}

json_object *json_project(const fangs_project_scan_result *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(r->install.package));
	json_object_object_add(o, "version", json_object_new_string(r->install.version));
	json_object_object_add(o, "lockfile", json_object_new_string(r->lock.file));
	json_object_object_add(o, "lockfile_version", json_object_new_int(r->lock.lockfile_version));
	json_object_object_add(o, "packages", json_object_new_int64((int64_t)r->lock.count));
	json_object_object_add(o, "resolved", json_object_new_boolean(r->resolved));
	if (r->resolved) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < r->lock.count; i++)
			if (!r->lock.packages[i].link) {
				char buf[600];
				snprintf(buf, sizeof(buf), "%s@%s", r->lock.packages[i].name,
					 r->lock.packages[i].version);
				json_object_array_add(arr, json_object_new_string(buf));
			}
		json_object_object_add(o, "resolved_packages", arr);
	}
	return o;
}
