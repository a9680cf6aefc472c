/*
 * tools/fangs/cmd_project.c - `fangs scan --project DIR` and `fangs review`:
 * an npm project as its lockfile pins it, each dependency with install
 * scripts judged against its own baseline.
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
#include "report.h"

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

static int dep_has_findings(const fangs_scan_dependency *d, fangs_severity at)
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

static json_object *json_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d,
			     const char *name, const char *version, size_t index, int has_scripts)
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

static void print_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d, const char *name,
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
static void report_dep(report *rp, fangs_storage *st, const fangs_project_scan_result *r, const fangs_lockfile *lf,
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
static int report_wanted(cli_ctx *ctx, const cli_args *a, report_format *fmt)
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

static void report_start(report *rp, const char *command, const char *dir, const char *lockpath, fangs_storage *st,
			 fangs_severity fail_on)
{
	report_init(rp);
	report_set(&rp->command, command);
	report_set(&rp->project_dir, dir);
	report_set(&rp->lockfile, lockpath && strrchr(lockpath, '/') ? strrchr(lockpath, '/') + 1 : lockpath);
	rp->storage = st;
	rp->fail_on = fail_on;
}

/* Scanner set-up shared by scan --project and review. */
typedef struct scanner {
	fangs_scan_options so;
	fangs_storage *st;
	fangs_sensor *sensor;
	fangs_severity fail_on;
} scanner;

static int scanner_open(cli_ctx *ctx, const cli_args *a, scanner *sc, const char *dir)
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

static void scanner_close(scanner *sc)
{
	fangs_sensor_free(sc->sensor);
	fangs_storage_free(sc->st);
}

/* A project error that is the project's (no lockfile, a stale one, one
 * that does not parse) is a usage error: exit 2. A scan's FANGS_EPARSE is
 * a corrupt tarball (integrity): an error. */
static int project_error(const char *what, int rc, int parse_is_usage)
{
	print_error("%s: %s", what, fangs_error_last());
	return rc == FANGS_ENOTFOUND || rc == FANGS_EINVAL || (parse_is_usage && rc == FANGS_EPARSE) ? CLI_EXIT_USAGE
												     : CLI_EXIT_ERROR;
}

static int install_exit(const fangs_project_scan_result *r, int findings_fail)
{
	if (findings_fail)
		return CLI_EXIT_FINDINGS;
	if (r->install.state != FANGS_RUN_SUCCEEDED)
		return CLI_EXIT_INSTALL_FAILED;
	return CLI_EXIT_OK;
}

static void print_install(const fangs_project_scan_result *r, const char *dir)
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

static json_object *json_install(const fangs_project_scan_result *r)
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

static json_object *json_project(const fangs_project_scan_result *r)
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

/* ---- review ---------------------------------------------------------------- */

/* Runs argv, its standard output into *out (at most `max` bytes). Returns
 * its exit status, or -1. */
static int capture(char *const argv[], char **out, size_t *len, size_t max)
{
	int fds[2], status;
	pid_t pid;
	size_t cap = 65536;
	*out = NULL;
	*len = 0;
	if (pipe(fds) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (*len + 1 >= cap) {
			if (cap >= max)
				break;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fds[0], buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !buf) {
		free(buf);
		return -1;
	}
	buf[*len] = '\0';
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The old lockfile: a file, else REF:path in DIR's git repository. */
static int load_base(const char *base, const char *dir, const char *lockpath, fangs_lockfile *out)
{
	struct stat sb;
	char *prefix = NULL, *text = NULL, spec[PATH_MAX + 256], what[PATH_MAX + 300];
	size_t len = 0;
	int rc;
	if (stat(base, &sb) == 0 && S_ISREG(sb.st_mode))
		return fangs_lockfile_load(out, base);
	if (base[0] == '-')
		return fangs_error_set(FANGS_EINVAL, "--base %s: neither a lockfile nor a git revision", base);
	char *const top[] = {"git", "-C", (char *)dir, "rev-parse", "--show-prefix", NULL};
	if (capture(top, &prefix, &len, 1 << 16) != 0) {
		free(prefix);
		return fangs_error_set(
			FANGS_ENOTFOUND,
			"--base %s: not a file, and %s is not in a git repository (git rev-parse failed)", base, dir);
	}
	prefix[strcspn(prefix, "\n")] = '\0';
	snprintf(spec, sizeof(spec), "%s:%s%s", base, prefix, strrchr(lockpath, '/') + 1);
	free(prefix);
	char *const show[] = {"git", "-C", (char *)dir, "show", "--end-of-options", spec, NULL};
	if (capture(show, &text, &len, 256u << 20) != 0) {
		free(text);
		return fangs_error_set(FANGS_ENOTFOUND,
				       "--base %s: git show %s failed (no such revision, or no lockfile "
				       "there)",
				       base, spec);
	}
	snprintf(what, sizeof(what), "%s (git show)", spec);
	rc = fangs_lockfile_parse(out, text, len, what);
	free(text);
	return rc;
}

static const fangs_scan_dependency *find_dep(const fangs_project_scan_result *r, const char *name, const char *version)
{
	for (size_t i = 0; r && i < r->n_deps; i++)
		if (!strcmp(r->deps[i].name, name) && !strcmp(r->deps[i].version, version))
			return &r->deps[i];
	return NULL;
}

typedef struct spec_list {
	char **items;
	size_t count, cap;
} spec_list;

static int spec_add(spec_list *l, const char *name, const char *version)
{
	char *s;
	for (size_t i = 0; i < l->count; i++) {
		size_t n = strlen(name);
		if (!strncmp(l->items[i], name, n) && l->items[i][n] == '@' && !strcmp(l->items[i] + n + 1, version))
			return 0;
	}
	if (l->count == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **ni = realloc(l->items, nc * sizeof(*ni));
		if (!ni)
			return -1;
		l->items = ni;
		l->cap = nc;
	}
	if (asprintf(&s, "%s@%s", name, version) < 0)
		return -1;
	l->items[l->count++] = s;
	return 0;
}

static void spec_free(spec_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
}

CLI_HANDLER(cmd_review)
{
	const char *dir = a->npos ? a->pos[0] : ".";
	const char *base = cli_get(a, "base");
	char lockpath[PATH_MAX];
	fangs_lockfile old_lf = {0}, new_lf = {0};
	fangs_lock_diff diff = {0};
	fangs_project_scan_result r;
	fangs_project_scan_options po = FANGS_PROJECT_SCAN_OPTIONS_INIT;
	fangs_severity threshold = FANGS_SEV_LOW;
	spec_list judge = {0}, unapproved = {0}, approve = {0}, refused = {0};
	int *unapp = NULL; /* per new-lockfile package: 1 = scripts not approved */
	int rc, exit_code = CLI_EXIT_OK, scanned = 0, fail = 0, use_report;
	scanner sc = {0};
	report_format fmt;

	memset(&r, 0, sizeof(r));
	if ((use_report = report_wanted(ctx, a, &fmt)) < 0)
		return CLI_EXIT_USAGE;
	if (cli_get(a, "approve-threshold"))
		fangs_severity_parse(cli_get(a, "approve-threshold"), &threshold);
	if ((rc = fangs_lockfile_find_in(dir, lockpath, sizeof(lockpath))) ||
	    (rc = fangs_lockfile_load(&new_lf, lockpath))) {
		exit_code = project_error(dir, rc, 1);
		goto out;
	}
	if ((rc = load_base(base, dir, lockpath, &old_lf))) {
		exit_code = project_error("review", rc, 1);
		goto out;
	}
	if ((rc = fangs_lockfile_diff(&old_lf, &new_lf, &diff))) {
		exit_code = cli_fail("comparing the lockfiles", rc);
		goto out;
	}
	/* what runs: the added and changed releases with install scripts, and
	 * every release whose scripts the project has not approved yet */
	if (!(unapp = calloc(new_lf.count + 1, sizeof(*unapp)))) {
		exit_code = cli_fail("review", FANGS_ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < diff.count; i++)
		if (diff.items[i].kind != FANGS_LOCK_REMOVED && diff.items[i].has_install_script &&
		    spec_add(&judge, diff.items[i].name, diff.items[i].new_version)) {
			exit_code = cli_fail("review", FANGS_ENOMEM);
			goto out;
		}
	for (size_t i = 0; i < new_lf.count; i++) {
		const fangs_lock_package *p = &new_lf.packages[i];
		int ok;
		if (p->link || !p->has_install_script)
			continue;
		if ((ok = fangs_project_script_approved(dir, p->name, p->version)) < 0) {
			exit_code = project_error(dir, ok, 1);
			goto out;
		}
		if (!ok) {
			unapp[i] = 1;
			if (spec_add(&judge, p->name, p->version) || spec_add(&unapproved, p->name, p->version)) {
				exit_code = cli_fail("review", FANGS_ENOMEM);
				goto out;
			}
		}
	}
	if (judge.count) {
		if ((rc = scanner_open(ctx, a, &sc, dir))) {
			exit_code = rc;
			goto out;
		}
		po.dir = dir;
		po.judge = (const char *const *)judge.items;
		po.n_judge = judge.count;
		po.judged_scripts_only = 1;
		if ((rc = fangs_scan_project(&sc.so, &po, &r))) {
			exit_code = project_error(dir, rc, 0);
			goto out;
		}
		scanned = 1;
	}
	for (size_t i = 0; i < r.n_deps; i++)
		fail |= dep_has_findings(&r.deps[i], sc.fail_on);

	/* approvals: only what ran and left nothing at or above the threshold */
	if (cli_has(a, "approve-clean")) {
		for (size_t i = 0; i < unapproved.count; i++) {
			const char *spec = unapproved.items[i], *at = strrchr(spec + 1, '@');
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)(at - spec), spec);
			const fangs_scan_dependency *d = find_dep(&r, name, at + 1);
			/* an install cut short may have cut its scripts short too */
			int clean = d && d->ran && !dep_has_findings(d, threshold) &&
				    r.install.state == FANGS_RUN_SUCCEEDED;
			if (spec_add(clean ? &approve : &refused, name, at + 1)) {
				exit_code = cli_fail("review", FANGS_ENOMEM);
				goto out;
			}
		}
		if (approve.count &&
		    (rc = fangs_project_approve(dir, (const char *const *)approve.items, approve.count, NULL))) {
			exit_code = cli_fail("writing the approvals", rc);
			goto out;
		}
	}

	if (use_report) {
		report rp;
		report_start(&rp, "review", dir, lockpath, sc.st, sc.fail_on);
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			if (c->kind == FANGS_LOCK_REMOVED)
				continue;
			int ok = c->has_install_script ? !unapp[c->index] : -1;
			report_dep(&rp, sc.st, scanned ? &r : NULL, &new_lf, find_dep(&r, c->name, c->new_version),
				   c->name, c->new_version, c->kind == FANGS_LOCK_CHANGED ? c->old_version : NULL,
				   c->index, c->has_install_script, ok);
		}
		for (size_t i = 0; i < new_lf.count; i++) {
			const fangs_lock_package *p = &new_lf.packages[i];
			int listed = 0;
			if (!unapp[i])
				continue;
			for (size_t k = 0; k < rp.count && !listed; k++)
				listed = !strcmp(rp.items[k].name, p->name) && !strcmp(rp.items[k].version, p->version);
			if (!listed)
				report_dep(&rp, sc.st, scanned ? &r : NULL, &new_lf, find_dep(&r, p->name, p->version),
					   p->name, p->version, NULL, i, 1, 0);
		}
		if (report_emit(cli_get(a, "output"), fmt, &rp))
			exit_code = CLI_EXIT_ERROR;
		report_clear(&rp);
	} else if (ctx->json) {
		json_object *o = json_object_new_object(), *changes = json_object_new_array(),
			    *unapp_arr = json_object_new_array();
		json_object_object_add(o, "base", json_object_new_string(old_lf.file));
		json_object_object_add(o, "lockfile", json_object_new_string(lockpath));
		if (scanned) {
			json_object_object_add(o, "project", json_project(&r));
			json_object_object_add(o, "install", json_install(&r));
		}
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			json_object *co;
			if (c->kind == FANGS_LOCK_REMOVED) {
				co = json_object_new_object();
				json_object_object_add(co, "name", json_object_new_string(c->name));
			} else {
				co = json_dep(sc.st, &new_lf, find_dep(&r, c->name, c->new_version), c->name,
					      c->new_version, c->index, c->has_install_script);
			}
			json_object_object_add(co, "change",
					       json_object_new_string(fangs_lock_change_kind_name(c->kind)));
			json_object_object_add(co, "old_version", json_str_or_null(c->old_version));
			json_object_object_add(co, "new_version", json_str_or_null(c->new_version));
			json_object_array_add(changes, co);
		}
		json_object_object_add(o, "changes", changes);
		for (size_t i = 0; i < new_lf.count; i++) {
			if (!unapp[i] || find_dep(&r, new_lf.packages[i].name, new_lf.packages[i].version) == NULL)
				continue;
			/* each release once */
			int first = 1;
			for (size_t k = 0; k < i && first; k++)
				first = !(unapp[k] && !strcmp(new_lf.packages[k].name, new_lf.packages[i].name) &&
					  !strcmp(new_lf.packages[k].version, new_lf.packages[i].version));
			if (first)
				json_object_array_add(
					unapp_arr,
					json_dep(sc.st, &new_lf,
						 find_dep(&r, new_lf.packages[i].name, new_lf.packages[i].version),
						 new_lf.packages[i].name, new_lf.packages[i].version, i, 1));
		}
		json_object_object_add(o, "unapproved", unapp_arr);
		if (cli_has(a, "approve-clean")) {
			json_object *ap = json_object_new_array(), *no = json_object_new_array();
			for (size_t i = 0; i < approve.count; i++)
				json_object_array_add(ap, json_object_new_string(approve.items[i]));
			for (size_t i = 0; i < refused.count; i++)
				json_object_array_add(no, json_object_new_string(refused.items[i]));
			json_object_object_add(o, "approved", ap);
			json_object_object_add(o, "not_approved", no);
		}
		json_print(o);
	} else {
		size_t n_changed = 0;
		printf("review of %s against %s: %zu change%s\n", tx(lockpath), tx(old_lf.file), diff.count,
		       diff.count == 1 ? "" : "s");
		if (scanned)
			print_install(&r, dir);
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			if (c->kind == FANGS_LOCK_REMOVED) {
				printf("removed %s@%s\n", tx(c->name), tx(c->old_version));
				continue;
			}
			n_changed++;
			if (c->kind == FANGS_LOCK_ADDED)
				printf("added:\n");
			else
				printf("changed (was %s):\n", tx(c->old_version));
			print_dep(sc.st, &new_lf, find_dep(&r, c->name, c->new_version), c->name, c->new_version,
				  c->index, c->has_install_script, sc.fail_on);
		}
		if (unapproved.count) {
			printf("install scripts not approved yet (allowScripts), and what they did in the sandbox:\n");
			for (size_t i = 0; i < new_lf.count; i++) {
				const fangs_lock_package *p = &new_lf.packages[i];
				if (!unapp[i])
					continue;
				int first = 1;
				for (size_t k = 0; k < i && first; k++)
					first = !(unapp[k] && !strcmp(new_lf.packages[k].name, p->name) &&
						  !strcmp(new_lf.packages[k].version, p->version));
				if (first)
					print_dep(sc.st, &new_lf, find_dep(&r, p->name, p->version), p->name,
						  p->version, i, 1, sc.fail_on);
			}
		}
		if (cli_has(a, "approve-clean")) {
			for (size_t i = 0; i < approve.count; i++)
				printf("approved %s (allowScripts in %s/package.json)\n", tx(approve.items[i]),
				       tx(dir));
			for (size_t i = 0; i < refused.count; i++)
				printf("not approved %s: a finding at or above %s, or its scripts did not run (to the "
				       "end)\n",
				       tx(refused.items[i]), fangs_severity_name(threshold));
		}
		printf("verdict: %zu added or changed, %s\n", n_changed,
		       fail ? "findings at or above --fail-on (fails)" : "nothing at or above --fail-on");
	}
	for (size_t i = 0; i < r.n_deps; i++)
		if (r.deps[i].ran && r.deps[i].analysis.deviations.count)
			cli_notify_run(ctx, sc.st, r.deps[i].run_id);
	if (exit_code == CLI_EXIT_OK)
		exit_code = scanned ? install_exit(&r, fail) : CLI_EXIT_OK;
out:
	free(unapp);
	spec_free(&judge);
	spec_free(&unapproved);
	spec_free(&approve);
	spec_free(&refused);
	fangs_project_scan_result_clear(&r);
	fangs_lock_diff_clear(&diff);
	fangs_lockfile_clear(&old_lf);
	fangs_lockfile_clear(&new_lf);
	if (sc.st || sc.sensor)
		scanner_close(&sc);
	return exit_code;
}
