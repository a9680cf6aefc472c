/*
 * tests/bench/bench_storage.c - how fast events go into storage, against
 * a raw sqlite3 bulk insert of the same rows into the same table.
 *
 *   bench-storage [N] [DIR]     N events (default 100000), files in DIR (default /tmp)
 *
 * With FANGS_BENCH_POSTGRES_DSN set, also times the postgres backend on
 * that database (its package "bench" is removed before and after).
 *
 * Both sides write a fresh database file created by fangs (same schema,
 * same indices, WAL, synchronous=NORMAL) in one transaction. The raw side
 * gets the rows already encoded; fangs encodes them itself.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#define ROUNDS 7

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-storage: %s: %s (%s)\n", what, fangs_error_last(), fangs_strerror(rc));
	exit(1);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return strdup(buf);
}

/* A plausible install: mostly file opens, some execs and network. */
static void make_event(fangs_event *e, int i)
{
	int k = i % 20;
	memset(e, 0, sizeof(*e));
	e->ts_ns = 1700000000000000000ULL + (uint64_t)i * 1000;
	e->pid = 1000 + i % 50;
	e->ppid = 999;
	e->comm = strdup(k < 14 ? "node" : "sh");
	if (k < 12) {
		e->kind = FANGS_EV_FILE_OPEN;
		e->path = dupf("/tmp/project/node_modules/pkg-%d/lib/file-%d.js", i % 300, i);
		e->flags = k == 11 ? FANGS_OPEN_WRITE : FANGS_OPEN_READ;
	} else if (k < 15) {
		e->kind = FANGS_EV_EXEC;
		e->path = strdup("/usr/bin/node");
		e->argc = 3;
		e->argv = calloc(3, sizeof(char *));
		e->argv[0] = strdup("node");
		e->argv[1] = strdup("scripts/install.js");
		e->argv[2] = dupf("--n=%d", i);
	} else if (k < 17) {
		e->kind = FANGS_EV_NET_CONNECT;
		e->family = FANGS_FAMILY_IPV4;
		e->addr = dupf("203.0.%d.%d", i % 200, i % 250);
		e->port = 443;
		e->proto = FANGS_PROTO_TCP;
	} else if (k < 18) {
		e->kind = FANGS_EV_DNS_QUERY;
		e->qname = dupf("h%d.example", i);
		e->qtype = 1;
	} else if (k < 19) {
		e->kind = FANGS_EV_TLS_SNI;
		e->sni = strdup("registry.example");
	} else {
		e->kind = FANGS_EV_PROC_EXIT;
	}
	if (i % 2) {
		e->origin.package = strdup("left-pad");
		e->origin.version = strdup("1.3.0");
		e->origin.script = strdup("postinstall");
	}
	e->n_ancestry = 2;
	e->ancestry[0].pid = 998;
	e->ancestry[0].comm = strdup("sh");
	e->ancestry[1].pid = 997;
	e->ancestry[1].comm = strdup("npm");
}

static const char *value_of(const fangs_event *e)
{
	switch (e->kind) {
	case FANGS_EV_FILE_OPEN:
	case FANGS_EV_EXEC:
		return e->path;
	case FANGS_EV_NET_CONNECT:
		return e->addr;
	case FANGS_EV_DNS_QUERY:
		return e->qname;
	case FANGS_EV_TLS_SNI:
		return e->sni;
	default:
		return NULL;
	}
}

/* A fresh fangs database in `path` holding one run; returns the run id. */
static fangs_storage *fresh(const char *path, fangs_run *run)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st;
	int rc;
	o.sqlite_path = path;
	if ((rc = fangs_storage_open(&st, &o)))
		die("open", rc);
	memset(run, 0, sizeof(*run));
	run->package = "bench";
	run->version = "1.0.0";
	run->state = FANGS_RUN_RUNNING;
	if ((rc = fangs_storage_run_create(st, run)))
		die("run_create", rc);
	return st;
}

static void remove_db(const char *path)
{
	char p[600];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void sq_check(sqlite3 *db, int rc, int want, const char *what)
{
	if (rc != want) {
		fprintf(stderr, "bench-storage: raw %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static double bench_raw(const char *path, const fangs_event *evs, char **json, size_t n)
{
	fangs_run run;
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0, t1;

	fangs_storage_free(fresh(path, &run));
	sq_check(NULL, sqlite3_open(path, &db), SQLITE_OK, "open");
	sq_check(db, sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL), SQLITE_OK, "pragma");
	sq_check(db,
		 sqlite3_prepare_v2(db,
				    "INSERT INTO events (run_id, kind, ts_ns, pid, ppid, comm, value, data)"
				    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				    -1, &st, NULL),
		 SQLITE_OK, "prepare");
	t0 = now_s();
	sq_check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK, "begin");
	for (size_t i = 0; i < n; i++) {
		const fangs_event *e = &evs[i];
		const char *v = value_of(e);
		sqlite3_bind_text(st, 1, run.id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)e->kind);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)e->ts_ns);
		sqlite3_bind_int(st, 4, e->pid);
		sqlite3_bind_int(st, 5, e->ppid);
		sqlite3_bind_text(st, 6, e->comm, -1, SQLITE_STATIC);
		if (v)
			sqlite3_bind_text(st, 7, v, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 7);
		sqlite3_bind_text(st, 8, json[i], -1, SQLITE_STATIC);
		sq_check(db, sqlite3_step(st), SQLITE_DONE, "insert");
		sqlite3_reset(st);
	}
	sq_check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "commit");
	t1 = now_s();
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t1 - t0;
}

static double append_all(fangs_storage *st, const char *run_id, fangs_event *evs, size_t n, size_t batch)
{
	double t0 = now_s();
	for (size_t i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;
		int rc = fangs_storage_events_append(st, run_id, evs + i, m);
		if (rc)
			die("events_append", rc);
	}
	return now_s() - t0;
}

/* The postgres backend, best of `rounds`, on a fresh package each time. */
static double bench_postgres(const char *dsn, fangs_event *evs, size_t n, size_t batch, int rounds)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st;
	double best = 1e30;
	int rc;

	o.backend = "postgres";
	o.postgres_dsn = dsn;
	if ((rc = fangs_storage_open(&st, &o)))
		die("postgres open", rc);
	for (int r = 0; r < rounds; r++) {
		fangs_run run = {0};
		double t;
		fangs_storage_package_remove(st, "bench");
		run.package = "bench";
		run.version = "1.0.0";
		if ((rc = fangs_storage_run_create(st, &run)))
			die("postgres run_create", rc);
		if ((t = append_all(st, run.id, evs, n, batch)) < best)
			best = t;
	}
	fangs_storage_package_remove(st, "bench");
	fangs_storage_free(st);
	return best;
}

static double bench_fangs(const char *path, fangs_event *evs, size_t n, size_t batch)
{
	fangs_run run;
	fangs_storage *st = fresh(path, &run);
	double t = append_all(st, run.id, evs, n, batch);
	fangs_storage_free(st);
	return t;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char fpath[512], rpath[512];
	fangs_event *evs;
	char **json;
	double t_raw, t_fangs, t_batched;

	if (n == 0) {
		fprintf(stderr, "usage: bench-storage [N] [DIR]\n");
		return 2;
	}
	snprintf(fpath, sizeof(fpath), "%s/bench-fangs-%d.db", dir, (int)getpid());
	snprintf(rpath, sizeof(rpath), "%s/bench-raw-%d.db", dir, (int)getpid());
	evs = calloc(n, sizeof(*evs));
	json = calloc(n, sizeof(*json));
	if (!evs || !json) {
		free(evs);
		free(json);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		make_event(&evs[i], (int)i);
		if (fangs_event_to_json(&evs[i], &json[i], NULL))
			die("encode", -1);
	}

	/* Best of a few rounds, interleaved, so that a busy machine skews both
	 * sides alike. */
	t_raw = t_fangs = t_batched = 1e30;
	for (int round = 0; round < ROUNDS; round++) {
		double t;
		remove_db(rpath);
		if ((t = bench_raw(rpath, evs, json, n)) < t_raw)
			t_raw = t;
		remove_db(fpath);
		if ((t = bench_fangs(fpath, evs, n, 1000)) < t_batched)
			t_batched = t;
		remove_db(fpath);
		if ((t = bench_fangs(fpath, evs, n, n)) < t_fangs)
			t_fangs = t;
	}

	printf("events:                       %zu (best of %d rounds)\n", n, ROUNDS);
	printf("raw sqlite3 bulk insert:      %10.0f events/s (%.3f s)\n", (double)n / t_raw, t_raw);
	printf("fangs_storage_events_append:  %10.0f events/s (%.3f s, one call)\n", (double)n / t_fangs, t_fangs);
	printf("  in batches of 1000:         %10.0f events/s (%.3f s)\n", (double)n / t_batched, t_batched);
	printf("ratio fangs/raw:              %10.2f (one call), %.2f (batches)\n", t_raw / t_fangs, t_raw / t_batched);

	if (getenv("FANGS_BENCH_POSTGRES_DSN") && *getenv("FANGS_BENCH_POSTGRES_DSN")) {
		const char *dsn = getenv("FANGS_BENCH_POSTGRES_DSN");
		double tp = bench_postgres(dsn, evs, n, n, 3), tpb = bench_postgres(dsn, evs, n, 1000, 3);
		printf("postgres events_append:       %10.0f events/s (%.3f s, one call)\n", (double)n / tp, tp);
		printf("  in batches of 1000:         %10.0f events/s (%.3f s)\n", (double)n / tpb, tpb);
	}

	remove_db(fpath);
	remove_db(rpath);
	for (size_t i = 0; i < n; i++) {
		fangs_event_clear(&evs[i]);
		free(json[i]);
	}
	free(evs);
	free(json);
	return 0;
}
