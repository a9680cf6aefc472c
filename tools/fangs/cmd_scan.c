/*
 * tools/fangs/cmd_scan.c - `fangs scan`: the whole job on this machine; `fangs
 * scan submit`: queue one on the orchestrator.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fangs/scan.h>
#include <fangs/sensor.h>

#include "commands.h"
#include "output.h"
#include "remote.h"
#include "report.h"

typedef struct progress_state {
	int tty;
	int quiet;
	const char *spec;
} progress_state;

static void on_progress(fangs_scan_phase phase, uint64_t events, const char *detail, void *user)
{
	progress_state *p = user;
	if (p->quiet)
		return;
	if (p->tty) {
		fprintf(stderr, "\r\033[K%s: %-8s %llu events%s%s", tx(p->spec), fangs_scan_phase_name(phase),
			(unsigned long long)events, detail ? "  " : "", txd(detail, ""));
		if (phase == FANGS_SCAN_DONE)
			fputc('\n', stderr);
	} else if (phase != FANGS_SCAN_INSTALL || detail) {
		static int last = -1;
		if ((int)phase != last)
			fprintf(stderr, "%s: %s%s%s\n", tx(p->spec), fangs_scan_phase_name(phase), detail ? ": " : "",
				txd(detail, ""));
		last = (int)phase;
	}
}

/* How the import phase ended: the sandbox's last "[fangs] import:" line. */
static void print_import(const char *output)
{
	static const char mark[] = "[fangs] import: ";
	const char *p = output, *last = NULL;
	while (p && (p = strstr(p, mark))) {
		if (p == output || p[-1] == '\n')
			last = p + sizeof(mark) - 1;
		p += sizeof(mark) - 1;
	}
	if (last) {
		char line[1024];
		fangs_text_escape(line, sizeof(line), last, strcspn(last, "\n"));
		printf("import: %s\n", line);
	}
}

static void print_human(fangs_storage *st, const fangs_scan_result *r, const fangs_finding_list *fl,
			fangs_severity fail_on)
{
	const fangs_deviation_list *d = &r->analysis.deviations;
	fangs_severity max = findings_max_severity(fl);
	char dur[32], counts[128];
	printf("run %s: %s@%s  (%s, exit %d%s, %llu events, %llu dropped)\n", tx(r->run_id), tx(r->package),
	       tx(r->version), fmt_duration(r->duration_ns, dur, sizeof(dur)), r->exit_code,
	       r->timed_out ? ", timed out" : "", (unsigned long long)r->events_emitted,
	       (unsigned long long)r->events_dropped);
	if (r->state != FANGS_RUN_SUCCEEDED)
		printf("install %s: %s\n", r->state == FANGS_RUN_TIMED_OUT ? "timed out" : "failed",
		       txd(r->reason, "-"));
	print_import(r->install_output);
	print_findings(stdout, st, NULL, d, fl);
	/* the verdict counts behaviours: findings, not their records */
	fmt_counts(fl, counts, sizeof(counts));
	switch (r->analysis.action) {
	case FANGS_BASELINE_EXCLUDED:
		printf("verdict: the install %s in the sandbox: kept out of the baseline",
		       r->state == FANGS_RUN_TIMED_OUT ? "timed out" : "failed");
		if (fl->count)
			printf("; %s, highest %s%s", counts, fangs_severity_name(max),
			       max >= fail_on ? " (fails)" : "");
		printf("\n");
		break;
	case FANGS_BASELINE_SEEDED:
		printf("verdict: first run of %s: baseline seeded (%zu fingerprints)%s\n", tx(r->package),
		       r->analysis.n_fingerprints, fl->count ? "" : ", nothing flagged");
		break;
	case FANGS_BASELINE_PENDING:
		printf("verdict: %s, highest %s%s: waits for review (fangs baseline promote %s)\n", counts,
		       fl->count ? fangs_severity_name(max) : "-", fl->count && max >= fail_on ? " (fails)" : "",
		       tx(r->run_id));
		break;
	case FANGS_BASELINE_NONE:
	case FANGS_BASELINE_JOINED:
		printf("verdict: nothing new since the baseline\n");
		break;
	}
}

/* A SPEC the command line gave as a relative path to a package directory
 * or tarball that exists (`pkgs/banner-1.0.0`, `x.tgz`) is scanned as that
 * path, as "./SPEC": the library takes paths only in the forms npm reads as
 * paths. A bare name, a scoped name or name@version is never a path, even
 * when a file of that name exists here. */
static const char *local_spec(const char *spec, char *buf, size_t cap)
{
	struct stat sb;
	size_t n = strlen(spec);
	int tarball = n > 4 && !strcmp(spec + n - 4, ".tgz");
	if (fangs_package_spec_is_path(spec) || spec[0] == '@' || (!strchr(spec, '/') && !tarball) ||
	    stat(spec, &sb) != 0 || !(S_ISDIR(sb.st_mode) || (tarball && S_ISREG(sb.st_mode))) ||
	    (size_t)snprintf(buf, cap, "./%s", spec) >= cap)
		return spec;
	return buf;
}

/* The project's lockfile, when it has one: package-lock.json, else
 * npm-shrinkwrap.json (in report.project_dir, else here). */
static void project_lockfile(report *rep)
{
	static const char *const names[] = {"package-lock.json", "npm-shrinkwrap.json"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", rep->project_dir ? rep->project_dir : ".", names[i]);
		if (access(path, R_OK) == 0) {
			report_set(&rep->lockfile, names[i]);
			return;
		}
	}
}

/* The install-time lifecycle scripts a package directory's package.json
 * declares (npm runs these on install), each once. */
static void manifest_scripts(const char *dir, report_item *it)
{
	static const char *const lifecycle[] = {"preinstall", "install", "postinstall", "prepare"};
	char path[PATH_MAX];
	json_object *m, *scripts;
	if ((size_t)snprintf(path, sizeof(path), "%s/package.json", dir) >= sizeof(path) ||
	    !(m = json_object_from_file(path)))
		return;
	if (json_object_object_get_ex(m, "scripts", &scripts) && json_object_is_type(scripts, json_type_object))
		for (size_t i = 0; i < sizeof(lifecycle) / sizeof(lifecycle[0]); i++) {
			int seen = 0;
			if (!json_object_object_get_ex(scripts, lifecycle[i], NULL))
				continue;
			for (size_t j = 0; j < it->n_scripts; j++)
				seen |= !strcmp(it->scripts[j], lifecycle[i]);
			if (!seen)
				report_item_add_script(it, lifecycle[i]);
		}
	json_object_put(m);
}

CLI_HANDLER(cmd_scan)
{
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	fangs_severity fail_on = FANGS_SEV_HIGH;
	progress_state ps = {0};
	fangs_storage *st = NULL;
	fangs_sensor_options seo = FANGS_SENSOR_OPTIONS_INIT;
	json_object *all = NULL;
	report rep;
	report_format fmt = REPORT_HUMAN;
	int use_report;
	const char *docker_host;
	char *const *argv = a->pos; /* the SPECs */
	int argc = a->npos, rc, exit_code = CLI_EXIT_OK;

	if (cli_get(a, "project"))
		return cmd_scan_project(ctx, a);
	if (cli_has(a, "resolve"))
		return cli_usage_error("--resolve goes with --project DIR");
	if (argc < 1)
		return cli_usage_error("missing SPEC... (or --project DIR)");
	/* values were checked when parsed (cmdtab.c) */
	so.sandbox = cli_get(a, "sandbox");
	so.network = cli_get(a, "network");
	if (cli_get(a, "duration"))
		so.duration_ms = (int64_t)(strtod(cli_get(a, "duration"), NULL) * 1000);
	if (cli_get(a, "grace"))
		so.grace_ms = (int64_t)(strtod(cli_get(a, "grace"), NULL) * 1000);
	so.registry = cli_get(a, "registry");
	so.image = cli_get(a, "image");
	if (cli_get(a, "fail-on"))
		fangs_severity_parse(cli_get(a, "fail-on"), &fail_on);
	ps.quiet = cli_has(a, "quiet");
	if (cli_get(a, "format"))
		report_format_parse(cli_get(a, "format"), &fmt); /* checked when parsed */
	/* --format human is today's output, and --json without --format today's JSON */
	use_report = fmt != REPORT_HUMAN || cli_get(a, "output");
	if (use_report && ctx->json && fmt != REPORT_JSON)
		return cli_usage_error("--json and --format %s: give one", report_format_name(fmt));
	so.no_import = cli_has(a, "no-import");
	if ((docker_host = getenv("DOCKER_HOST")) && *docker_host) {
		if (strncmp(docker_host, "unix://", 7) || !docker_host[7])
			return cli_usage_error("DOCKER_HOST must be unix://PATH (the daemon's socket)");
		so.docker_socket = docker_host + 7;
	}
	/* The sensor loads (verifier, attach) while the storage opens and the
	 * first prefetch runs; each scan takes a handle on it, and the BPF
	 * object stays loaded for the next (it is the process's, see
	 * fangs/sensor.h). A sensor that cannot load fails each scan. */
	if ((rc = fangs_sensor_preload(&seo)))
		return cli_fail("cannot start the eBPF sensor", rc);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	/* what killed scans left (a run directory, a cgroup) goes first */
	{
		int removed = 0;
		if (fangs_scan_gc(&so, &removed))
			print_error("warning: removing leftovers of killed scans: %s", fangs_error_last());
		else if (removed && !ps.quiet)
			fprintf(stderr, "fangs: removed %d leftover%s of killed scans\n", removed,
				removed == 1 ? "" : "s");
	}
	ps.tty = isatty(STDERR_FILENO);
	so.storage = st;
	so.config = ctx->config;
	so.progress = on_progress;
	so.user = &ps;
	report_init(&rep);
	rep.fail_on = fail_on;
	rep.storage = st;
	if (ctx->json && !use_report)
		all = json_object_new_array();
	for (int i = 0; i < argc; i++) {
		fangs_scan_result r = {0};
		fangs_finding_list fl = {0};
		char local[PATH_MAX + 3];
		ps.spec = argv[i];
		rc = fangs_scan(&so, local_spec(argv[i], local, sizeof(local)), &r);
		if (rc) {
			if (ps.tty && !ps.quiet)
				fputc('\n', stderr);
			print_error("scan of %s failed: %s", argv[i], fangs_error_last());
			exit_code = CLI_EXIT_ERROR;
			if (all) {
				json_object *o = json_object_new_object();
				json_object_object_add(o, "spec", json_object_new_string(argv[i]));
				json_object_object_add(o, "error", json_object_new_string(fangs_error_last()));
				json_object_array_add(all, o);
			}
			if (use_report) {
				/* nothing ran, but the report does not drop what was asked for */
				char *name = NULL, *version = NULL;
				report_item *it;
				if (fangs_package_spec_parse(argv[i], &name, &version))
					it = report_add(&rep, argv[i], NULL);
				else
					it = report_add(&rep, name, version);
				free(name);
				free(version);
				it->status = REPORT_INSTALL_FAILED;
				report_set(&it->reason, fangs_error_last());
			}
			continue;
		}
		if (group_findings(st, NULL, &r.analysis.deviations, &fl)) {
			print_error("findings of %s: %s", argv[i], fangs_error_last());
			exit_code = CLI_EXIT_ERROR;
		}
		if (use_report) {
			report_item *it;
			const char *spec = local_spec(argv[i], local, sizeof(local));
			struct stat sb;
			if (fangs_package_spec_is_path(spec) && stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode) &&
			    !rep.project_dir) {
				/* a package directory: the project is that directory */
				report_set(&rep.project_dir, argv[i]);
				project_lockfile(&rep);
				it = report_add_run(&rep, r.package, r.version, r.run_id, r.analysis.action, r.reason,
						    &fl);
				report_item_set_path(it, NULL, 0);
				manifest_scripts(spec, it);
			} else {
				report_add_run(&rep, r.package, r.version, r.run_id, r.analysis.action, r.reason, &fl);
			}
		} else if (all) {
			fangs_run run = {0};
			json_object *o = json_object_new_object(), *devs = json_object_new_array();
			json_object_object_add(o, "spec", json_object_new_string(argv[i]));
			if (fangs_storage_run_get(st, r.run_id, &run) == 0)
				json_object_object_add(o, "run", fangs_json_run(&run));
			fangs_run_clear(&run);
			json_object_object_add(o, "baseline",
					       json_object_new_string(fangs_baseline_action_name(r.analysis.action)));
			for (size_t j = 0; j < r.analysis.deviations.count; j++)
				json_object_array_add(devs, fangs_json_deviation(&r.analysis.deviations.items[j]));
			json_object_object_add(o, "deviations", devs);
			fangs_json_add_findings(o, &fl);
			json_object_array_add(all, o);
		} else {
			print_human(st, &r, &fl, fail_on);
		}
		fangs_finding_list_free(&fl);
		if (r.analysis.deviations.count)
			cli_notify_run(ctx, st, r.run_id);
		if (r.analysis.deviations.count &&
		    fangs_deviation_list_max_severity(&r.analysis.deviations) >= fail_on &&
		    (exit_code == CLI_EXIT_OK || exit_code == CLI_EXIT_INSTALL_FAILED))
			exit_code = CLI_EXIT_FINDINGS;
		else if (r.state != FANGS_RUN_SUCCEEDED && exit_code == CLI_EXIT_OK)
			exit_code = CLI_EXIT_INSTALL_FAILED;
		fangs_scan_result_clear(&r);
	}
	if (all)
		json_print(all);
	if (use_report) {
		if (!rep.project_dir)
			project_lockfile(&rep);
		if (report_emit(cli_get(a, "output"), fmt, &rep))
			exit_code = CLI_EXIT_ERROR;
	}
	report_clear(&rep);
	fangs_storage_free(st);
	return exit_code;
}

/* Is package@version in the registry (--registry, the configuration's, else
 * npm's own)? 0 yes; prints why not and returns an exit code. */
static int check_release(cli_ctx *ctx, const cli_args *a, const char *package, const char *version)
{
	const char *registry = cli_get(a, "registry");
	char npm_registry[1024];
	int rc;
	if (!registry)
		registry = ctx->config->registry;
	if (!registry) {
		if (fangs_registry_configured(NULL, npm_registry, sizeof(npm_registry)))
			return cli_usage_error("scan submit: no registry to check %s@%s in: give --registry URL (or "
					       "--no-registry-check)",
					       package, version);
		registry = npm_registry;
	}
	rc = fangs_registry_release_exists(registry, package, version);
	if (rc == FANGS_ENOTFOUND) {
		print_error("scan submit: %s (nothing queued)", fangs_error_last());
		return CLI_EXIT_ERROR;
	}
	if (rc)
		return cli_fail("scan submit: cannot check the release (--no-registry-check queues without)", rc);
	return 0;
}

CLI_HANDLER(cmd_scan_submit)
{
	fangs_wire_client_options wo = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	fangs_wire_client *c = NULL;
	fangs_wire_response rs = {0};
	fangs_wire_scan scan = {0};
	char *body = NULL;
	const char *runner = cli_get(a, "runner"), *token_file = cli_get(a, "token-file");
	char *token = NULL;
	int rc, exit_code = CLI_EXIT_ERROR;

	scan.package = (char *)cli_get(a, "package");
	scan.version = (char *)cli_get(a, "version");
	wo.url = cli_get(a, "orchestrator");
	wo.tls_cert = cli_get(a, "tls-cert");
	wo.tls_key = cli_get(a, "tls-key");
	wo.ca = cli_get(a, "ca");
	if (!scan.package || !scan.version)
		return cli_usage_error("scan submit: -package and -version are required");
	if (fangs_package_name_check(scan.package, NULL) || fangs_package_version_check(scan.version, NULL))
		return cli_usage_error("scan submit: %s", fangs_error_last());
	scan.runner = (char *)runner;
	if (!wo.url)
		wo.url = env_or("FANGS_ORCHESTRATOR", ctx->config->runner.orchestrator);
	if (!wo.url)
		return cli_usage_error("scan submit: give --orchestrator URL (or set FANGS_ORCHESTRATOR)");
	if (!wo.tls_cert)
		wo.tls_cert = env_or("FANGS_TLS_CERT", NULL);
	if (!wo.tls_key)
		wo.tls_key = env_or("FANGS_TLS_KEY", NULL);
	if (!wo.ca)
		wo.ca = env_or("FANGS_CA", NULL);
	/* a release that does not exist would only fail later, on a runner */
	if (!cli_has(a, "no-registry-check") && (rc = check_release(ctx, a, scan.package, scan.version)))
		return rc;
	if ((rc = fangs_wire_token_load(token_file ? token_file : env_or("FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN",
					&token))) {
		cli_fail("scan submit", rc);
		goto out;
	}
	wo.token = token;
	if ((rc = fangs_wire_scan_encode(&scan, &body)) || (rc = fangs_wire_client_new(&c, &wo)) ||
	    (rc = fangs_wire_request(c, "POST", "/v1/scans", "application/json", body, strlen(body), 30000, &rs))) {
		cli_fail("scan submit", rc);
		goto out;
	}
	if (rs.status != 201) {
		print_error("scan submit: %s (HTTP %ld)", fangs_wire_response_error(&rs), rs.status);
		goto out;
	}
	if (ctx->json) {
		char *clean = fangs_utf8_clean(rs.body, rs.len, NULL);
		if (clean)
			puts(clean);
		free(clean);
	} else {
		json_object *o = json_tokener_parse(rs.body), *id = NULL;
		json_object_object_get_ex(o, "run_id", &id);
		printf("queued %s@%s as run %s\n", tx(scan.package), tx(scan.version),
		       id ? tx(json_object_get_string(id)) : "?");
		json_object_put(o);
	}
	exit_code = CLI_EXIT_OK;
out:
	fangs_wire_response_clear(&rs);
	fangs_wire_client_free(c);
	free(body);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return exit_code;
}
