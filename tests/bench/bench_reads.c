/*
 * tests/bench/bench_reads.c - what a person reading a large run costs: the
 * process tree (whole and filtered), an events page at the start and at
 * the end of the run, a page of runs; with the size of the tree as JSON
 * (what GET /v1/runs/{id}/tree sends).
 *
 *   bench-reads [N] [PROCS] [DIR]   N events (default 100000) over PROCS
 *                                   processes (default 400), files in DIR
 *
 * With FANGS_BENCH_POSTGRES_DSN set, also on that database (its package
 * "bench-reads" is removed before and after).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-reads: %s: %s (%s)\n", what, fangs_error_last(), fangs_strerror(rc));
	exit(1);
}

#define CHECK(what, call) \
	do { \
		int rc_ = (call); \
		if (rc_) \
			die(what, rc_); \
	} while (0)

/* A run of n events: process i is forked by process i/4 (a tree four
 * wide), execs once, then opens files, resolves and connects. */
static void fill(fangs_storage *st, const char *run_id, size_t n, int procs)
{
	fangs_event_list l = {0};
	char buf[256];
	size_t done = 0;
	while (done < n) {
		size_t batch = n - done < 10000 ? n - done : 10000;
		for (size_t k = 0; k < batch; k++) {
			size_t i = done + k;
			int p = (int)(i % (size_t)procs);
			fangs_event *e = fangs_event_list_push(&l);
			if (!e)
				die("out of memory", FANGS_ENOMEM);
			e->pid = 1000 + p;
			e->ppid = p ? 1000 + p / 4 : 999;
			e->ts_ns = 1700000000000000000ULL + i;
			e->comm = strdup(p % 3 ? "node" : "sh");
			if (i < (size_t)procs) {
				e->kind = FANGS_EV_EXEC;
				e->path = strdup("/usr/bin/node");
				e->argc = 2;
				e->argv = calloc(2, sizeof(char *));
				e->argv[0] = strdup("node");
				snprintf(buf, sizeof(buf), "script-%d.js", p);
				e->argv[1] = strdup(buf);
				if (p % 5 == 1) {
					e->origin.package = strdup("bench-reads");
					e->origin.version = strdup("1.0.0");
					e->origin.script = strdup("postinstall");
				}
			} else if (i % 50 == 7) {
				e->kind = FANGS_EV_NET_CONNECT;
				snprintf(buf, sizeof(buf), "203.0.113.%d", (int)(i % 200));
				e->addr = strdup(buf);
				e->family = FANGS_FAMILY_IPV4;
				e->port = 443;
				e->proto = FANGS_PROTO_TCP;
			} else if (i % 50 == 8) {
				e->kind = FANGS_EV_DNS_QUERY;
				snprintf(buf, sizeof(buf), "h%d.example.invalid", (int)(i % 300));
				e->qname = strdup(buf);
				e->qtype = 1;
			} else {
				e->kind = FANGS_EV_FILE_OPEN;
				snprintf(buf, sizeof(buf), "/usr/lib/node_modules/pkg%d/lib/file%d.js", p,
					 (int)(i % 97));
				e->path = strdup(buf);
				e->flags = FANGS_OPEN_READ;
			}
		}
		CHECK("append", fangs_storage_events_append(st, run_id, l.items, l.count));
		/* a deviation citing a connect of each batch */
		for (size_t k = 0; k < l.count; k++)
			if (l.items[k].kind == FANGS_EV_NET_CONNECT) {
				fangs_deviation d = {0};
				int64_t ev = l.items[k].id;
				d.run_id = (char *)run_id;
				d.package = (char *)"bench-reads";
				d.kind = (char *)"net_new_destination";
				d.severity = FANGS_SEV_HIGH;
				d.value = l.items[k].addr;
				d.evidence = &ev;
				d.n_evidence = 1;
				CHECK("deviation", fangs_storage_deviations_put(st, &d, 1));
				break;
			}
		fangs_event_list_free(&l);
		done += batch;
	}
}

/* Best of ROUNDS, in ms; the last tree's JSON size in *bytes. */
static double time_tree(fangs_storage *st, const char *run_id, int kind, const char *text, size_t *nodes, size_t *bytes)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		fangs_tree_query q = FANGS_TREE_QUERY_INIT;
		fangs_proc_tree t = {0};
		json_object *arr;
		double t0 = now_s(), dt;
		q.run_id = run_id;
		q.kind = kind;
		q.text = text;
		CHECK("process tree", fangs_storage_process_tree(st, &q, &t));
		arr = json_object_new_array();
		for (size_t i = 0; i < t.count; i++)
			json_object_array_add(arr, fangs_json_proc_node(&t.items[i]));
		*bytes = strlen(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		dt = (now_s() - t0) * 1e3;
		if (dt < best)
			best = dt;
		*nodes = t.count;
		json_object_put(arr);
		fangs_proc_tree_free(&t);
	}
	return best;
}

static double time_events(fangs_storage *st, const char *run_id, int64_t after, int kind, const char *text)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		fangs_event_query q = FANGS_EVENT_QUERY_INIT;
		fangs_event_list l = {0};
		double t0 = now_s(), dt;
		q.run_id = run_id;
		q.after_id = after;
		q.kind = kind;
		q.text = text;
		q.limit = 100;
		CHECK("events page", fangs_storage_events_page(st, &q, &l));
		dt = (now_s() - t0) * 1e3;
		if (dt < best)
			best = dt;
		fangs_event_list_free(&l);
	}
	return best;
}

static void bench(fangs_storage *st, size_t n, int procs)
{
	fangs_run run = {0};
	fangs_event_query last = FANGS_EVENT_QUERY_INIT;
	fangs_event_list tail = {0};
	fangs_run_query rq = FANGS_RUN_QUERY_INIT;
	fangs_run_list rl = {0};
	size_t nodes, bytes;
	double t0, ms;

	run.package = (char *)"bench-reads";
	run.version = (char *)"1.0.0";
	run.state = FANGS_RUN_SUCCEEDED;
	CHECK("run", fangs_storage_run_create(st, &run));
	t0 = now_s();
	fill(st, run.id, n, procs);
	printf("%s: %zu events over %d processes stored in %.1f s\n", fangs_storage_backend_name(st), n, procs,
	       now_s() - t0);
	ms = time_tree(st, run.id, 0, NULL, &nodes, &bytes);
	printf("  tree, whole:                 %8.1f ms  %5zu nodes  %8zu bytes of JSON\n", ms, nodes, bytes);
	ms = time_tree(st, run.id, FANGS_EV_NET_CONNECT, NULL, &nodes, &bytes);
	printf("  tree, kind=net_connect:      %8.1f ms  %5zu nodes  %8zu bytes of JSON\n", ms, nodes, bytes);
	ms = time_tree(st, run.id, 0, "h8.example", &nodes, &bytes);
	printf("  tree, q=h8.example:          %8.1f ms  %5zu nodes  %8zu bytes of JSON\n", ms, nodes, bytes);
	printf("  events page (100), first:    %8.1f ms\n", time_events(st, run.id, 0, 0, NULL));
	last.run_id = run.id;
	CHECK("events", fangs_storage_events_page(st, &last, &tail));
	printf("  events page (100), last:     %8.1f ms\n",
	       time_events(st, run.id, tail.items[tail.count > 100 ? tail.count - 100 : 0].id, 0, NULL));
	fangs_event_list_free(&tail);
	printf("  events page, kind=dns_query: %8.1f ms\n", time_events(st, run.id, 0, FANGS_EV_DNS_QUERY, NULL));
	printf("  events page, q=file9.js:     %8.1f ms\n", time_events(st, run.id, 0, 0, "file9.js"));
	rq.limit = 50;
	t0 = now_s();
	CHECK("run page", fangs_storage_run_page(st, &rq, &rl));
	printf("  runs page (50):              %8.1f ms\n", (now_s() - t0) * 1e3);
	fangs_run_list_free(&rl);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	int procs = argc > 2 ? atoi(argv[2]) : 400;
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	const char *dsn = getenv("FANGS_BENCH_POSTGRES_DSN");
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st;
	char path[4096];

	if (n < (size_t)procs || procs < 1) {
		fprintf(stderr, "usage: bench-reads [N] [PROCS] [DIR] (N >= PROCS >= 1)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bench-reads-%d.db", dir, (int)getpid());
	o.sqlite_path = path;
	CHECK("open", fangs_storage_open(&st, &o));
	bench(st, n, procs);
	fangs_storage_free(st);
	unlink(path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-shm");
	unlink(path);
	if (dsn) {
		fangs_storage_options po = FANGS_STORAGE_OPTIONS_INIT;
		po.backend = "postgres";
		po.postgres_dsn = dsn;
		CHECK("open postgres", fangs_storage_open(&st, &po));
		fangs_storage_package_remove(st, "bench-reads");
		bench(st, n, procs);
		fangs_storage_package_remove(st, "bench-reads");
		fangs_storage_free(st);
	}
	return 0;
}
