/*
 * tests/bench/bench_pgvolume.c - a month of scans in PostgreSQL: ingest
 * rate (COPY against row-by-row INSERT), retention (dropping days against
 * deleting rows), and the latency of the listings at that volume.
 *
 *   bench-pgvolume [DAYS [RUNS_PER_DAY [EVENTS_PER_RUN]]]   (default 30 40 2000)
 *
 * Runs on the server FANGS_TEST_POSTGRES_DSN names, or else on a private
 * one started in a temporary directory (as tests/storage does: fsync off,
 * so the figures are of the engine's work, not of this machine's disk).
 *
 * The month: DAYS days ending 10 days ago, RUNS_PER_DAY runs a day of
 * EVENTS_PER_RUN events each, sent in numbered batches of 500 as runners
 * do; one run in 20 gets a finding citing 2 of its events. In days 10..19
 * one run a day is left running: retention must keep its events, so those
 * days are deleted row by row (the path every day took before partitions)
 * while days 0..9 are dropped whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fangs/fangs.h>

#include "backends.h"

#define NS_DAY 86400000000000LL
#define BATCH 500
#define SAMPLES 300

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-pgvolume: %s: %s (%s)\n", what, fangs_error_last(), fangs_strerror(rc));
	exit(1);
}

#define CHECK(what, call) \
	do { \
		int rc_ = (call); \
		if (rc_) \
			die((what), rc_); \
	} while (0)

static char *xdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "bench-pgvolume: out of memory\n");
		exit(1);
	}
	return d;
}

/* A run's events: mostly file opens, some execs, DNS queries and connects. */
static void make_events(fangs_event_list *l, size_t n, unsigned seed)
{
	static const char *const dirs[] = {"/usr/lib/node_modules/npm/lib", "/tmp/fangs-scan/node_modules",
					   "/home/u/.npm/_cacache/index-v5", "/etc", "/proc/self"};
	for (size_t i = 0; i < n; i++) {
		fangs_event *e = fangs_event_list_push(l);
		char buf[192];
		if (!e)
			die("events", FANGS_ENOMEM);
		e->ts_ns = 1000000ULL * i;
		e->pid = 1000 + (int32_t)(i % 37);
		e->ppid = 999;
		e->uid = 1000;
		e->comm = xdup(i % 3 ? "node" : "sh");
		if (i % 50 == 7) {
			e->kind = FANGS_EV_EXEC;
			e->path = xdup("/usr/bin/node");
			e->argc = 3;
			e->argv = calloc(3, sizeof(char *));
			if (!e->argv)
				die("events", FANGS_ENOMEM);
			e->argv[0] = xdup("node");
			e->argv[1] = xdup("install.js");
			snprintf(buf, sizeof(buf), "--seed=%u", seed);
			e->argv[2] = xdup(buf);
		} else if (i % 100 == 11) {
			e->kind = FANGS_EV_DNS_QUERY;
			snprintf(buf, sizeof(buf), "host%u.example", seed % 97);
			e->qname = xdup(buf);
			e->qtype = 1;
			e->family = FANGS_FAMILY_IPV4;
			e->addr = xdup("127.0.0.53");
			e->port = 53;
			e->proto = FANGS_PROTO_UDP;
		} else if (i % 100 == 12) {
			e->kind = FANGS_EV_NET_CONNECT;
			e->family = FANGS_FAMILY_IPV4;
			e->addr = xdup("203.0.113.9");
			e->port = 443;
			e->proto = FANGS_PROTO_TCP;
		} else {
			e->kind = FANGS_EV_FILE_OPEN;
			snprintf(buf, sizeof(buf), "%s/pkg-%u/file-%zu.js", dirs[i % 5], seed % 211, i);
			e->path = xdup(buf);
			e->flags = FANGS_OPEN_READ;
		}
		e->origin.package = xdup("left-pad");
		e->origin.version = xdup("1.3.0");
		e->origin.script = xdup("postinstall");
	}
}

typedef struct ingest {
	double seconds;
	long long events;
} ingest;

/* One run: created, its events sent in batches, finished (or left running). */
static void scan(fangs_storage *st, int64_t created_ns, int n, int finish, int finding, fangs_event_list *evs,
		 ingest *in)
{
	fangs_run run = {0};
	char ver[32];
	int64_t seq = 1;
	double t;

	snprintf(ver, sizeof(ver), "1.%lld.%d", (long long)(created_ns / NS_DAY), n);
	run.package = xdup(n % 4 ? "left-pad" : "is-odd");
	run.version = xdup(ver);
	run.state = FANGS_RUN_RUNNING;
	run.created_ns = created_ns;
	CHECK("run_create", fangs_storage_run_create(st, &run));
	t = now_s();
	for (size_t off = 0; off < evs->count; off += BATCH) {
		size_t k = evs->count - off < BATCH ? evs->count - off : BATCH;
		int dupl = 0;
		CHECK("events_append_batch",
		      fangs_storage_events_append_batch(st, run.id, seq++, evs->items + off, k, &dupl));
	}
	in->seconds += now_s() - t;
	in->events += (long long)evs->count;
	if (finding) {
		fangs_deviation d = {0};
		int64_t ev[2] = {evs->items[3].id, evs->items[evs->count / 2].id};
		d.run_id = run.id;
		d.package = run.package;
		d.kind = "fs_cred_read";
		d.severity = FANGS_SEV_HIGH;
		d.value = "~/.npmrc";
		d.evidence = ev;
		d.n_evidence = 2;
		CHECK("deviations_put", fangs_storage_deviations_put(st, &d, 1));
	}
	if (finish) {
		run.state = FANGS_RUN_SUCCEEDED;
		run.finished_ns = created_ns + 30000000000LL;
		CHECK("run_update", fangs_storage_run_update(st, &run));
	}
	fangs_run_clear(&run);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void latency(const char *what, double *ms, size_t n)
{
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("  %-34s p50 %7.2f ms   p99 %7.2f ms   (%zu calls)\n", what, ms[n / 2], ms[n * 99 / 100], n);
}

/* the private server stops however the program ends */
static void stop_server(void)
{
	test_backend_postgres.teardown_all();
}

static fangs_storage *open_db(const test_backend *be, void **ctx, fangs_storage_options *o)
{
	fangs_storage_options init = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st = NULL;
	*o = init;
	if (be->create(ctx, o))
		die("creating a database", FANGS_ESTORAGE);
	CHECK("open", fangs_storage_open(&st, o));
	return st;
}

int main(int argc, char **argv)
{
	const test_backend *be = &test_backend_postgres;
	int days = argc > 1 ? atoi(argv[1]) : 30, runs = argc > 2 ? atoi(argv[2]) : 40;
	int per_run = argc > 3 ? atoi(argv[3]) : 2000;
	int64_t first_day = (int64_t)time(NULL) / 86400 - 10 - days;
	fangs_storage_options o, oi;
	fangs_storage *st, *sti;
	fangs_event_list evs = {0};
	ingest copy = {0}, copy_day0 = {0}, insert = {0};
	fangs_prune_stats drop = {0}, del = {0};
	double t, t_drop, t_delete, *ms;
	void *ctx = NULL, *ctxi = NULL;
	char *prev_env;

	if (days < 21 || runs < 4 || per_run < 10) {
		fprintf(stderr, "usage: bench-pgvolume [DAYS>=21 [RUNS_PER_DAY>=4 [EVENTS_PER_RUN>=10]]]\n");
		return 2;
	}
	if (!(ms = calloc(SAMPLES, sizeof(*ms))))
		die("memory", FANGS_ENOMEM);
	if (be->setup_all()) {
		free(ms);
		return 1;
	}
	atexit(stop_server);
	make_events(&evs, (size_t)per_run, 7);

	/* row-by-row INSERT: one day of the same scans, on a database of its own */
	prev_env = getenv("FANGS_PG_COPY_MIN");
	setenv("FANGS_PG_COPY_MIN", "1000000000", 1);
	sti = open_db(be, &ctxi, &oi);
	if (prev_env)
		setenv("FANGS_PG_COPY_MIN", prev_env, 1);
	else
		unsetenv("FANGS_PG_COPY_MIN");
	for (int r = 0; r < runs; r++)
		scan(sti, first_day * NS_DAY + (int64_t)r * 60000000000LL, r, 1, 0, &evs, &insert);
	fangs_storage_free(sti);
	be->destroy(ctxi);

	/* the month, with COPY */
	st = open_db(be, &ctx, &o);
	printf("bench-pgvolume: %d days x %d runs x %d events = %lld events (batches of %d)\n", days, runs, per_run,
	       (long long)days * runs * per_run, BATCH);
	fflush(stdout);
	for (int d = 0; d < days; d++) {
		ingest *in = d == 0 ? &copy_day0 : &copy;
		for (int r = 0; r < runs; r++) {
			int keep_running = d >= 10 && d < 20 && r == runs - 1;
			scan(st, (first_day + d) * NS_DAY + (int64_t)r * 60000000000LL, r, !keep_running, r % 20 == 3,
			     &evs, in);
		}
		if (d == days - 1 || d % 10 == 9) {
			fprintf(stderr, "  ... %d days in\n", d + 1);
		}
	}
	copy.seconds += copy_day0.seconds;
	copy.events += copy_day0.events;
	printf("ingest (append_batch, %d events a batch, one transaction each):\n", BATCH);
	printf("  COPY,   first day   %9.0f events/s  (%lld events in %.1f s)\n", copy_day0.events / copy_day0.seconds,
	       copy_day0.events, copy_day0.seconds);
	printf("  COPY,   whole month %9.0f events/s  (%lld events in %.1f s)\n", copy.events / copy.seconds,
	       copy.events, copy.seconds);
	printf("  INSERT, one day     %9.0f events/s  (%lld events in %.1f s)\n", insert.events / insert.seconds,
	       insert.events, insert.seconds);

	/* the listings at a month's volume */
	printf("latency at %lld events, %d runs:\n", copy.events, days * runs);
	for (int i = 0; i < SAMPLES; i++) {
		fangs_run_filter f = FANGS_RUN_FILTER_INIT;
		fangs_run_list l = {0};
		f.limit = 50;
		t = now_s();
		CHECK("run_list", fangs_storage_run_list(st, &f, &l));
		ms[i] = (now_s() - t) * 1000;
		fangs_run_list_free(&l);
	}
	latency("runs, newest 50", ms, SAMPLES);
	for (int i = 0; i < SAMPLES; i++) {
		fangs_run_filter f = FANGS_RUN_FILTER_INIT;
		fangs_run_list l = {0};
		f.package = "is-odd";
		f.limit = 50;
		t = now_s();
		CHECK("run_list", fangs_storage_run_list(st, &f, &l));
		ms[i] = (now_s() - t) * 1000;
		fangs_run_list_free(&l);
	}
	latency("runs of one package, newest 50", ms, SAMPLES);
	for (int i = 0; i < SAMPLES; i++) {
		fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;
		fangs_deviation_list l = {0};
		f.limit = 50;
		f.min_severity = FANGS_SEV_MEDIUM;
		t = now_s();
		CHECK("deviations_list", fangs_storage_deviations_list(st, &f, &l));
		ms[i] = (now_s() - t) * 1000;
		fangs_deviation_list_free(&l);
	}
	latency("findings, newest 50", ms, SAMPLES);
	for (int i = 0; i < SAMPLES / 10; i++) {
		fangs_run_filter f = FANGS_RUN_FILTER_INIT;
		fangs_run_list l = {0};
		fangs_event_list el = {0};
		f.limit = 1;
		CHECK("run_list", fangs_storage_run_list(st, &f, &l));
		t = now_s();
		CHECK("events_list", fangs_storage_events_list(st, l.items[0].id, &el));
		ms[i] = (now_s() - t) * 1000;
		fangs_event_list_free(&el);
		fangs_run_list_free(&l);
	}
	latency("one run's events (all of them)", ms, SAMPLES / 10);

	/* retention: days 0..9 dropped, then days 10..19 deleted row by row */
	t = now_s();
	CHECK("prune", fangs_storage_prune(st, (first_day + 10) * NS_DAY, &drop));
	t_drop = now_s() - t;
	t = now_s();
	CHECK("prune", fangs_storage_prune(st, (first_day + 20) * NS_DAY, &del));
	t_delete = now_s() - t;
	printf("retention (10 days each):\n");
	printf("  drop days    %7.2f s  %9lld events deleted  %9.0f events/s  (%lld kept as evidence, %lld runs)\n",
	       t_drop, (long long)drop.events_deleted, drop.events_deleted / t_drop,
	       (long long)drop.events_kept_as_evidence, (long long)drop.runs_deleted);
	printf("  DELETE rows  %7.2f s  %9lld events deleted  %9.0f events/s  (%lld kept as evidence, %lld runs)\n",
	       t_delete, (long long)del.events_deleted, del.events_deleted / t_delete,
	       (long long)del.events_kept_as_evidence, (long long)del.runs_deleted);

	/* what is left still answers */
	{
		fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;
		fangs_deviation_list l = {0};
		fangs_event_list el = {0};
		CHECK("deviations_list", fangs_storage_deviations_list(st, &f, &l));
		if (l.count == 0)
			die("no findings were made (RUNS_PER_DAY below 4)", FANGS_ENOTFOUND);
		CHECK("events_get", fangs_storage_events_get(st, l.items[l.count - 1].evidence,
							     l.items[l.count - 1].n_evidence, &el));
		printf("oldest finding's evidence after retention: %zu of %zu events readable\n", el.count,
		       l.items[l.count - 1].n_evidence);
		fangs_event_list_free(&el);
		fangs_deviation_list_free(&l);
	}

	fangs_storage_free(st);
	be->destroy(ctx);
	fangs_event_list_free(&evs);
	free(ms);
	return 0;
}
