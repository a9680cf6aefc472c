/*
 * tools/fangs/cmd_scan.c - `fangs scan`: the whole job on this machine.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fangs/scan.h>
#include <fangs/sensor.h>

#include "commands.h"
#include "output.h"

static const char scan_usage[] =
	"usage: fangs scan [--sandbox ns|docker] [--network none|proxy|bridge] [--duration S]\n"
	"                  [--registry URL] [--fail-on SEVERITY] [--no-import] [--json] SPEC...\n"
	"\n"
	"Installs each SPEC inside the sandbox with every lifecycle script allowed, watches\n"
	"it with the eBPF sensor, stores the run and prints what it did that the package's\n"
	"earlier releases never did. SPEC: name@version, name (latest), a .tgz file or a\n"
	"package directory. With --network none (the default) the dependency tree is\n"
	"fetched on the host with scripts disabled and installed offline in the sandbox;\n"
	"connection, DNS and TLS attempts inside are still observed. With --network proxy\n"
	"the sandbox also gets an HTTP(S) proxy run by this process that lets downloads\n"
	"from the registry and known binary hosts through (config: proxy.allow_hosts) and\n"
	"records every request.\n"
	"\n"
	"  --sandbox ns|docker   sandbox backend (default ns: namespaces, no daemon)\n"
	"  --network MODE        none = loopback only (default); proxy = loopback and a\n"
	"                        recording proxy to allowed download hosts; bridge = real\n"
	"                        egress via NAT\n"
	"  --duration S          kill everything after S seconds (default 180)\n"
	"  --grace S             linger at least S seconds after the install exits (default 0:\n"
	"                        the run ends once no process of it is left)\n"
	"  --registry URL        npm registry (default: config, else npm's own configuration)\n"
	"  --image REF           docker image (default fangs-sandbox:latest); DOCKER_HOST=unix://PATH\n"
	"                        selects the daemon as for the docker CLI\n"
	"  --fail-on SEVERITY    exit 3 when a finding is at or above SEVERITY (default high)\n"
	"  --no-import           no import phase: do not require the package after the install\n"
	"  --quiet               no progress on stderr\n"
	"\n"
	"After a successful install the package is required (or import()ed) by node in the\n"
	"same sandbox, and what that does is recorded as the run's import phase (config\n"
	"scan.import: false turns it off too). A package that fails to load is no failure.\n"
	"\n"
	"An install that fails or times out inside the sandbox is stored and judged all the\n"
	"same (state failed or timed_out, with the reason), but kept out of the baseline.\n"
	"\n"
	"Exit: 0 done, 3 findings at or above --fail-on, 4 an install failed or timed out in\n"
	"the sandbox (3 wins over 4), 1 error (wins over both), 2 usage.\n";

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
	       tx(r->version),
	       fmt_duration(r->duration_ns, dur, sizeof(dur)), r->exit_code, r->timed_out ? ", timed out" : "",
	       (unsigned long long)r->events_emitted, (unsigned long long)r->events_dropped);
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
			printf("; %s, highest %s%s", counts, fangs_severity_name(max), max >= fail_on ? " (fails)" : "");
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
	default:
		printf("verdict: nothing new since the baseline\n");
	}
}

int cmd_scan(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sandbox", required_argument, NULL, 's'}, {"network", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'}, {"grace", required_argument, NULL, 'g'},
		{"registry", required_argument, NULL, 'r'}, {"image", required_argument, NULL, 'i'},
		{"fail-on", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
		{"no-import", no_argument, NULL, 'I'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	fangs_severity fail_on = FANGS_SEV_HIGH;
	progress_state ps = {0};
	fangs_storage *st = NULL;
	fangs_sensor *sensor = NULL;
	fangs_sensor_options seo = FANGS_SENSOR_OPTIONS_INIT;
	json_object *all = NULL;
	char *end;
	const char *docker_host;
	int c, rc, exit_code = CLI_EXIT_OK;
	double secs;

	/* `fangs scan submit -package ...` queues remotely; a package named
	 * "submit" is still scanned here (`fangs scan submit`) */
	if (argc >= 3 && !strcmp(argv[1], "submit") && argv[2][0] == '-')
		return cmd_scan_submit(ctx, argc - 1, argv + 1);
	while ((c = getopt_long_only(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "ns") && strcmp(optarg, "docker"))
				return cli_usage_error("--sandbox must be ns or docker");
			so.sandbox = optarg;
			break;
		case 'n':
			if (strcmp(optarg, "none") && strcmp(optarg, "bridge") && strcmp(optarg, "proxy"))
				return cli_usage_error("--network must be none, proxy or bridge");
			so.network = optarg;
			break;
		case 'd':
		case 'g':
			secs = strtod(optarg, &end);
			if (*end || !*optarg || secs <= 0 || secs > 86400)
				return cli_usage_error("--%s needs a number of seconds", c == 'd' ? "duration" : "grace");
			if (c == 'd')
				so.duration_ms = (int64_t)(secs * 1000);
			else
				so.grace_ms = (int64_t)(secs * 1000);
			break;
		case 'r':
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				return cli_usage_error("--registry must be an http:// or https:// URL");
			so.registry = optarg;
			break;
		case 'i': so.image = optarg; break;
		case 'f':
			if (fangs_severity_parse(optarg, &fail_on))
				return cli_usage_error("--fail-on: %s", fangs_error_last());
			break;
		case 'q': ps.quiet = 1; break;
		case 'I': so.no_import = 1; break;
		case 'h': fputs(scan_usage, stdout); return CLI_EXIT_OK;
		default: fputs(scan_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("scan needs at least one SPEC (see fangs scan --help)");
	if ((docker_host = getenv("DOCKER_HOST")) && *docker_host) {
		if (strncmp(docker_host, "unix://", 7) || !docker_host[7])
			return cli_usage_error("DOCKER_HOST must be unix://PATH (the daemon's socket)");
		so.docker_socket = docker_host + 7;
	}
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	/* what killed scans left (a run directory, a cgroup) goes first */
	{
		int removed = 0;
		if (fangs_scan_gc(&so, &removed))
			fprintf(stderr, "fangs: warning: removing leftovers of killed scans: %s\n", fangs_error_last());
		else if (removed && !ps.quiet)
			fprintf(stderr, "fangs: removed %d leftover%s of killed scans\n", removed, removed == 1 ? "" : "s");
	}
	if ((rc = fangs_sensor_new(&sensor, &seo))) {
		fangs_storage_free(st);
		return cli_fail("cannot start the eBPF sensor", rc);
	}
	ps.tty = isatty(STDERR_FILENO);
	so.storage = st;
	so.config = ctx->config;
	so.sensor = sensor;
	so.progress = on_progress;
	so.user = &ps;
	if (ctx->json)
		all = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		fangs_scan_result r = {0};
		fangs_finding_list fl = {0};
		ps.spec = argv[i];
		rc = fangs_scan(&so, argv[i], &r);
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
			continue;
		}
		if ((rc = group_findings(st, NULL, &r.analysis.deviations, &fl))) {
			fprintf(stderr, "fangs: findings of %s: %s\n", argv[i], fangs_error_last());
			exit_code = CLI_EXIT_ERROR;
		}
		if (all) {
			fangs_run run = {0};
			json_object *o = json_object_new_object(), *devs = json_object_new_array();
			json_object_object_add(o, "spec", json_object_new_string(argv[i]));
			if (fangs_storage_run_get(st, r.run_id, &run) == 0)
				json_object_object_add(o, "run", json_run(&run));
			fangs_run_clear(&run);
			json_object_object_add(o, "baseline",
					       json_object_new_string(fangs_baseline_action_name(r.analysis.action)));
			for (size_t j = 0; j < r.analysis.deviations.count; j++)
				json_object_array_add(devs, json_deviation(&r.analysis.deviations.items[j]));
			json_object_object_add(o, "deviations", devs);
			json_add_findings(o, &fl);
			json_object_array_add(all, o);
		} else {
			print_human(st, &r, &fl, fail_on);
		}
		fangs_finding_list_free(&fl);
		if (r.analysis.deviations.count)
			cli_notify_run(ctx, st, r.run_id);
		if (r.analysis.deviations.count && fangs_deviation_list_max_severity(&r.analysis.deviations) >= fail_on &&
		    (exit_code == CLI_EXIT_OK || exit_code == CLI_EXIT_INSTALL_FAILED))
			exit_code = CLI_EXIT_FINDINGS;
		else if (r.state != FANGS_RUN_SUCCEEDED && exit_code == CLI_EXIT_OK)
			exit_code = CLI_EXIT_INSTALL_FAILED;
		fangs_scan_result_clear(&r);
	}
	if (all)
		json_print(all);
	fangs_sensor_free(sensor);
	fangs_storage_free(st);
	return exit_code;
}

static const char gc_usage[] =
	"usage: fangs gc [--sandbox ns|docker] [--work-root DIR]\n"
	"\n"
	"Removes what scans killed on this host left behind: their sandboxes' run\n"
	"directories (and the filesystems mounted in them), cgroups and processes, and\n"
	"containers. Scans still running, here or in another process (a runner), are\n"
	"left alone. fangs scan and fangs-runner do this when they start. Needs root.\n"
	"\n"
	"  --sandbox ns|docker   sandbox backend whose leftovers to remove (default ns)\n"
	"  --work-root DIR       where run directories are (default /var/lib/fangs/sandbox)\n"
	"\n"
	"Prints how many things were removed ({\"removed\": N} with --json).\n";

int cmd_gc(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sandbox", required_argument, NULL, 's'}, {"work-root", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	const char *docker_host;
	int c, rc, removed = 0;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "ns") && strcmp(optarg, "docker"))
				return cli_usage_error("--sandbox must be ns or docker");
			so.sandbox = optarg;
			break;
		case 'w':
			if (optarg[0] != '/')
				return cli_usage_error("--work-root must be an absolute path");
			so.work_root = optarg;
			break;
		case 'h': fputs(gc_usage, stdout); return CLI_EXIT_OK;
		default: fputs(gc_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if ((docker_host = getenv("DOCKER_HOST")) && *docker_host && !strncmp(docker_host, "unix://", 7))
		so.docker_socket = docker_host + 7;
	if ((rc = fangs_scan_gc(&so, &removed)))
		return cli_fail("gc", rc);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "removed", json_object_new_int(removed));
		json_print(o);
	} else {
		printf("%d leftover%s of killed scans removed\n", removed, removed == 1 ? "" : "s");
	}
	return CLI_EXIT_OK;
}
