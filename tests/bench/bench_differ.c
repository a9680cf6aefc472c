/*
 * tests/bench/bench_differ.c - how long one analysis takes.
 *
 * Builds a 10,000-fingerprint baseline from synthetic install history and
 * times fangs_differ_analyze() on 1000-event runs of the same shape as a
 * real install (npm reading its cache and node_modules, lifecycle scripts
 * running sh -c and node, connects, DNS, SNI), with fresh noise in every
 * run (pids, tmp names, cache hashes, log names) and a few new behaviours.
 * The built-in behaviour rules (fangs_rules_evaluate) are timed on the same
 * runs, so their cost per event stands next to the differ's.
 *
 *   bench-differ [iterations]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fangs/fangs.h"

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
	/* xorshift64*: reproducible runs without libc's rand() */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 32);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return d;
}

static fangs_event *push(fangs_event_list *l, fangs_event_kind kind, int script)
{
	fangs_event *ev = fangs_event_list_push(l);
	if (!ev) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	ev->kind = kind;
	ev->id = (int64_t)l->count;
	ev->pid = 1000 + (int32_t)(rnd() % 30000);
	if (script) {
		ev->origin.package = xstrdup("bench-pkg");
		ev->origin.version = xstrdup("1.0.0");
		ev->origin.script = xstrdup("postinstall");
		ev->origin.command = xstrdup("node scripts/install.js");
	}
	return ev;
}

static void add_open(fangs_event_list *l, int script, unsigned flags, const char *path)
{
	fangs_event *ev = push(l, FANGS_EV_FILE_OPEN, script);
	ev->path = xstrdup(path);
	ev->flags = flags;
}

static void add_exec(fangs_event_list *l, const char *bin, const char *a0, const char *a1, const char *a2)
{
	fangs_event *ev = push(l, FANGS_EV_EXEC, 1);
	ev->path = xstrdup(bin);
	ev->argv = calloc(3, sizeof(char *));
	if (!ev->argv)
		exit(1);
	ev->argv[ev->argc++] = xstrdup(a0);
	if (a1)
		ev->argv[ev->argc++] = xstrdup(a1);
	if (a2)
		ev->argv[ev->argc++] = xstrdup(a2);
}

static void add_net(fangs_event_list *l, fangs_event_kind kind, const char *v)
{
	fangs_event *ev = push(l, kind, 1);
	if (kind == FANGS_EV_NET_CONNECT) {
		ev->addr = xstrdup(v);
		ev->family = strchr(v, ':') ? FANGS_FAMILY_IPV6 : FANGS_FAMILY_IPV4;
		ev->port = 443;
		ev->proto = FANGS_PROTO_TCP;
	} else if (kind == FANGS_EV_DNS_QUERY) {
		ev->qname = xstrdup(v);
	} else {
		ev->sni = xstrdup(v);
	}
}

/* One event of an install; `k` picks which of the package's known behaviours,
 * the noise is fresh every call. */
static void add_known(fangs_event_list *l, unsigned k)
{
	static const char *const homes[] = {"/root", "/home/node"};
	char cmd[128], p[512];
	unsigned r = rnd();
	switch (k % 20) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 7:
	case 8:
	case 9:
	case 10:
		snprintf(p, sizeof(p), "/work/node_modules/pkg%u/lib/file%u.js", k % 700, k % 10);
		add_open(l, 0, FANGS_OPEN_READ, p);
		break;
	case 11:
		snprintf(p, sizeof(p), "/work/node_modules/pkg%u/dist/out%u.js", k % 500, k % 2);
		add_open(l, 0, FANGS_OPEN_WRITE, p);
		break;
	case 12:
		snprintf(p, sizeof(p), "%s/.npm/_cacache/content-v2/sha512/%02x/%02x/3f9a%08x1c2d3e4f5a6b7c8d9e0f",
			 homes[r & 1], r & 0xff, (r >> 8) & 0xff, rnd());
		add_open(l, 0, FANGS_OPEN_READ, p);
		break;
	case 13:
		snprintf(p, sizeof(p), "/proc/%u/task/%u/stat", 1000 + r % 30000, 1000 + (r >> 3) % 30000);
		add_open(l, 0, FANGS_OPEN_READ, p);
		break;
	case 14:
		snprintf(p, sizeof(p), "/tmp/npm-%u-%08x/build/out.o", 100 + r % 30000, rnd());
		add_open(l, 1, FANGS_OPEN_WRITE, p);
		break;
	case 15:
		snprintf(cmd, sizeof(cmd), "node scripts/step%u.js --out /tmp/tmp-%u%x", k % 300, r % 30000, rnd());
		add_exec(l, "/bin/sh", "sh", "-c", cmd);
		break;
	case 16:
		add_exec(l, "/usr/bin/node", "node", "scripts/install.js", NULL);
		break;
	case 17:
		snprintf(p, sizeof(p), "%s10.0.%u.%u", (r & 1) ? "::ffff:" : "", (k / 20) % 250, 1 + k % 25);
		add_net(l, FANGS_EV_NET_CONNECT, p);
		break;
	case 18:
		snprintf(p, sizeof(p), (r & 1) ? "Host%u.Example." : "host%u.example", k % 400);
		add_net(l, FANGS_EV_DNS_QUERY, p);
		break;
	default:
		snprintf(p, sizeof(p), "cdn%u.example", k % 300);
		add_net(l, FANGS_EV_TLS_SNI, p);
		break;
	}
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int iterations = argc > 1 ? atoi(argv[1]) : 2000;
	fangs_differ *d = NULL;
	fangs_fpset *base = NULL;
	fangs_event_list history = {0};
	fangs_event_list runs[8];
	fangs_deviation_list devs = {0};
	int status = 1;
	fangs_differ_input in = {0};
	double *t_plain, *t_fps, *t_rules, *times[3];
	fangs_rules *rules = NULL;
	fangs_rules_input rin = FANGS_RULES_INPUT_INIT;
	size_t n_hits = 0;
	size_t n_devs = 0;

	if (iterations < 10)
		iterations = 10;
	t_plain = calloc((size_t)iterations, sizeof(double));
	t_fps = calloc((size_t)iterations, sizeof(double));
	t_rules = calloc((size_t)iterations, sizeof(double));
	times[0] = t_plain;
	times[1] = t_fps;
	times[2] = t_rules;
	memset(runs, 0, sizeof(runs));
	if (!t_plain || !t_fps || !t_rules || fangs_differ_new(&d, NULL) < 0 || fangs_fpset_new(&base) < 0 ||
	    fangs_rules_new(&rules, NULL) < 0)
		goto out;

	/* the baseline: earlier installs until it holds 10,000 fingerprints */
	for (unsigned k = 0; fangs_fpset_size(base) < 10000; k++) {
		fangs_event_list_free(&history);
		for (unsigned j = 0; j < 1000; j++)
			add_known(&history, k * 1000 + j);
		in.package = "bench-pkg";
		in.version = "1.0.0";
		in.events = history.items;
		in.n_events = history.count;
		in.baseline = NULL;
		if (fangs_differ_analyze(d, &in, base, &devs) < 0) {
			fprintf(stderr, "analyze: %s\n", fangs_error_last());
			goto out;
		}
		/* wider spread than one run: more packages, more files */
		for (unsigned j = 0; j < 200 && fangs_fpset_size(base) < 10000; j++) {
			char v[128];
			snprintf(v, sizeof(v), "/work/node_modules/dep%u/index.js", k * 200 + j);
			fangs_fpset_add(base, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, v);
		}
	}
	fangs_event_list_free(&history);

	/* runs to analyze: same behaviours, new noise, about 1% new things */
	for (int r = 0; r < 8; r++) {
		memset(&runs[r], 0, sizeof(runs[r]));
		for (unsigned j = 0; j < 1000; j++) {
			char v[64];
			if (rnd() % 100 == 0) {
				snprintf(v, sizeof(v), "new%u.exfil%d.example", rnd() % 5, r);
				add_net(&runs[r], FANGS_EV_DNS_QUERY, v);
			} else {
				add_known(&runs[r], rnd() % 20000);
			}
		}
	}

	for (int pass = 0; pass < 2; pass++) {
		double *t = times[pass];
		for (int i = -20; i < iterations; i++) {
			fangs_fpset *run_fps = NULL;
			const fangs_event_list *run = &runs[(i + 20) % 8];
			double t0;
			int rc;
			if (pass && fangs_fpset_new(&run_fps) < 0)
				goto out;
			in.package = "bench-pkg";
			in.version = "1.0.1";
			in.events = run->items;
			in.n_events = run->count;
			in.baseline = base;
			t0 = now_us();
			rc = fangs_differ_analyze(d, &in, run_fps, &devs);
			if (i >= 0)
				t[i] = now_us() - t0;
			if (rc < 0) {
				fprintf(stderr, "analyze: %s\n", fangs_error_last());
				fangs_fpset_free(run_fps);
				goto out;
			}
			n_devs = devs.count;
			fangs_deviation_list_free(&devs);
			fangs_fpset_free(run_fps);
		}
	}

	/* the rules on the same runs: no baseline, every event judged */
	rin.package = "bench-pkg";
	rin.version = "1.0.1";
	rin.registry_host = "registry.example";
	for (int i = -20; i < iterations; i++) {
		const fangs_event_list *run = &runs[(i + 20) % 8];
		double t0;
		int rc;
		rin.events = run->items;
		rin.n_events = run->count;
		t0 = now_us();
		rc = fangs_rules_evaluate(rules, &rin, &devs);
		if (i >= 0)
			t_rules[i] = now_us() - t0;
		if (rc < 0) {
			fprintf(stderr, "rules: %s\n", fangs_error_last());
			goto out;
		}
		n_hits = devs.count;
		fangs_deviation_list_free(&devs);
	}

	printf("baseline: %zu fingerprints; run: %zu events; deviations per run: about %zu; rule hits: %zu "
	       "(%zu built-in rules)\n",
	       fangs_fpset_size(base), runs[0].count, n_devs, n_hits, fangs_rules_count(rules));
	for (int pass = 0; pass < 3; pass++) {
		static const char *const names[] = {
			"analyze:", "analyze, collecting run fingerprints:", "rules (built-in set):"};
		double *t = times[pass];
		double sum = 0, median;
		for (int i = 0; i < iterations; i++)
			sum += t[i];
		qsort(t, (size_t)iterations, sizeof(double), cmp_double);
		median = t[iterations / 2];
		printf("%-38s mean %7.1f us  median %7.1f us  p99 %7.1f us  %6.0f ns/event  %.2f M events/s\n",
		       names[pass], sum / iterations, median, t[(iterations * 99) / 100],
		       median * 1000.0 / (double)runs[0].count, (double)runs[0].count / median);
	}
	status = 0;

out:
	for (int r = 0; r < 8; r++)
		fangs_event_list_free(&runs[r]);
	fangs_event_list_free(&history);
	fangs_deviation_list_free(&devs);
	fangs_fpset_free(base);
	fangs_differ_free(d);
	fangs_rules_free(rules);
	free(t_plain);
	free(t_fps);
	free(t_rules);
	return status;
}
