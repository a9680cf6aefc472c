/*
 * tests/storage/test_pg_events.c - events at volume in PostgreSQL: one
 * partition per day of the run, COPY and INSERT ingest of awkward text,
 * batches sent again, retention that drops days and keeps the evidence of
 * findings, and the migration of a database written before partitions.
 * What the user sees goes through the public API; the tables are looked at
 * with libpq.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fangs/fangs.h>

#include "fixture.h"
#include "libfangs/storage/schema.h"

#define NS_DAY 86400000000000LL
#define DAY0 20000 /* 2024-10-04 */

static int pg_index(void)
{
	for (size_t i = 0; i < n_test_backends; i++)
		if (strcmp(test_backends[i]->name, "postgres") == 0)
			return (int)i;
	ck_abort_msg("no postgres backend");
	return -1;
}

/* ---- libpq on the test database ---- */

static PGconn *db(void)
{
	PGconn *c = PQconnectdb(fx_opts.postgres_dsn);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(c));
	PQclear(r);
}

/* The first column of the first row of a query with up to 2 text
 * parameters, as a new string ("(null)" for NULL, "(none)" without rows). */
static char *scalar(PGconn *c, const char *sql, const char *p1, const char *p2)
{
	const char *params[2] = {p1, p2};
	PGresult *r = PQexecParams(c, sql, p2 ? 2 : p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
	char *s;
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	s = strdup(PQntuples(r) == 0 ? "(none)" : PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
	PQclear(r);
	ck_assert(s);
	return s;
}

static long long scalar_ll(PGconn *c, const char *sql, const char *p1)
{
	char *s = scalar(c, sql, p1, NULL);
	long long v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

static void day_name(int day, char *out, size_t cap)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "events_%Y%m%d", &tm);
}

/* Is `day`'s partition of events there? */
static int has_day(PGconn *c, int day)
{
	char name[32];
	day_name(day, name, sizeof(name));
	return (int)scalar_ll(c,
			      "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid"
			      " WHERE i.inhparent = 'events'::regclass AND k.relname = $1",
			      name);
}

static long long rows_of_day(PGconn *c, int day)
{
	char name[32], sql[96];
	day_name(day, name, sizeof(name));
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\"", name);
	return scalar_ll(c, sql, NULL);
}

/* ---- builders ---- */

static char *xs(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	ck_assert(!s || d);
	return d;
}

static void make_run(fangs_storage *st, fangs_run *run, const char *ver, fangs_run_state state, int64_t created_ns)
{
	memset(run, 0, sizeof(*run));
	run->package = xs("pkg");
	run->version = xs(ver);
	run->state = state;
	run->created_ns = created_ns;
	OK(fangs_storage_run_create(st, run));
}

static void file_events(fangs_event_list *l, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++) {
		fangs_event *e = fangs_event_list_push(l);
		char path[64];
		ck_assert_ptr_nonnull(e);
		snprintf(path, sizeof(path), "/tmp/%s/%zu", tag, i);
		e->kind = FANGS_EV_FILE_OPEN;
		e->ts_ns = 1000 + i;
		e->pid = 100 + (int32_t)i;
		e->ppid = 99;
		e->comm = xs("node");
		e->path = xs(path);
		e->flags = FANGS_OPEN_READ;
	}
}

static char *to_json(const fangs_event *ev)
{
	char *s = NULL;
	OK(fangs_event_to_json(ev, &s, NULL));
	return s;
}

static void assert_same_event(const fangs_event *orig, const char *run_id, const fangs_event *got)
{
	fangs_event want;
	char *a, *b;
	OK(fangs_event_copy(&want, orig));
	free(want.run_id);
	want.run_id = xs(run_id);
	a = to_json(&want);
	b = to_json(got);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	fangs_event_clear(&want);
}

/* ---- tests ---- */

START_TEST(test_partition_days)
{
	fangs_storage *st = fx_open(pg_index());
	fangs_run r[3];
	fangs_prune_stats ps;
	PGconn *c = db();
	int today = (int)(time(NULL) / 86400);

	for (int i = 0; i < 3; i++) {
		fangs_event_list evs = {0}, got = {0};
		char ver[16];
		snprintf(ver, sizeof(ver), "1.0.%d", i);
		/* each run on its own day, at another hour of it */
		make_run(st, &r[i], ver, FANGS_RUN_RUNNING,
			 (int64_t)(DAY0 + i) * NS_DAY + (int64_t)i * 3600000000000LL);
		ck_assert(!has_day(c, DAY0 + i));
		file_events(&evs, 3 + (size_t)i * 10, ver); /* 3 inserted, 13 and 23 copied */
		OK(fangs_storage_events_append(st, r[i].id, evs.items, evs.count));
		ck_assert(has_day(c, DAY0 + i));
		ck_assert_int_eq(rows_of_day(c, DAY0 + i), (long long)evs.count);
		/* a second batch of the same day goes to the same partition */
		OK(fangs_storage_events_append(st, r[i].id, evs.items, 2));
		ck_assert_int_eq(rows_of_day(c, DAY0 + i), (long long)evs.count + 2);
		OK(fangs_storage_events_list(st, r[i].id, &got));
		ck_assert_uint_eq(got.count, evs.count + 2);
		assert_same_event(&evs.items[2], r[i].id, &got.items[2]);
		fangs_event_list_free(&got);
		fangs_event_list_free(&evs);
	}
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'events'::regclass", NULL),
			 3);
	/* a run moved to another day takes its events along */
	{
		fangs_event_list got = {0};
		fangs_run now;
		r[0].created_ns = (int64_t)(DAY0 + 7) * NS_DAY;
		OK(fangs_storage_run_update(st, &r[0]));
		ck_assert_int_eq(rows_of_day(c, DAY0), 0);
		ck_assert_int_eq(rows_of_day(c, DAY0 + 7), 5);
		OK(fangs_storage_events_list(st, r[0].id, &got));
		ck_assert_uint_eq(got.count, 5);
		fangs_event_list_free(&got);
		OK(fangs_storage_run_get(st, r[0].id, &now));
		ck_assert_int_eq(now.event_count, 5);
		ck_assert_int_eq(now.created_ns, (int64_t)(DAY0 + 7) * NS_DAY);
		fangs_run_clear(&now);
	}
	/* the maintenance pass makes today's and tomorrow's ahead of ingest */
	OK(fangs_storage_prune(st, 0, &ps));
	ck_assert(has_day(c, today));
	ck_assert(has_day(c, today + 1));
	ck_assert_int_eq(ps.events_deleted, 0);

	PQfinish(c);
	for (int i = 0; i < 3; i++)
		fangs_run_clear(&r[i]);
	fangs_storage_free(st);
}
END_TEST

/* Awkward text, stored as given (with bytes that are not UTF-8 replaced by
 * U+FFFD) whether the batch goes with COPY or with INSERT. */
static const char *const awkward[] = {
	"tab\there",
	"new\nline and\r\nCRLF",
	"back\\slash \\N \\. \\\\",
	"\\.",
	"bad \xff\xfe bytes \xc3",
	"\xe6\x97\xa5\xe6\x9c\xac \xc3\xa9",
	"ctl \x01\x1f\x7f",
	"end\\",
};
static const char *const repaired[] = {
	"tab\there",
	"new\nline and\r\nCRLF",
	"back\\slash \\N \\. \\\\",
	"\\.",
	"bad \xef\xbf\xbd\xef\xbf\xbd bytes \xef\xbf\xbd",
	"\xe6\x97\xa5\xe6\x9c\xac \xc3\xa9",
	"ctl \x01\x1f\x7f",
	"end\\",
};
_Static_assert(sizeof(awkward) == sizeof(repaired), "one repaired form per awkward string");
#define N_AWKWARD (sizeof(awkward) / sizeof(awkward[0]))
#define LONG_LEN (600 * 1024) /* more than one COPY chunk */

static void awkward_events(fangs_event_list *l, char *longv)
{
	for (size_t i = 0; i < N_AWKWARD + 2; i++) {
		fangs_event *e = fangs_event_list_push(l);
		ck_assert_ptr_nonnull(e);
		e->kind = i == N_AWKWARD + 1 ? FANGS_EV_DNS_QUERY : FANGS_EV_FILE_OPEN;
		e->ts_ns = 7 + i;
		e->pid = 5;
		e->comm = i < N_AWKWARD ? xs(awkward[i]) : NULL;
		if (i < N_AWKWARD)
			e->path = xs(awkward[i]);
		else if (i == N_AWKWARD)
			e->path = xs(longv);
		else
			e->qname = xs("q\tname\n.example");
	}
}

static void check_stored(PGconn *c, const fangs_event *ev, size_t i, const char *longv)
{
	char id[32], *comm, *value;
	snprintf(id, sizeof(id), "%lld", (long long)ev->id);
	comm = scalar(c, "SELECT comm FROM events WHERE id = $1::bigint", id, NULL);
	value = scalar(c, "SELECT value FROM events WHERE id = $1::bigint", id, NULL);
	if (i < N_AWKWARD) {
		ck_assert_str_eq(comm, repaired[i]);
		ck_assert_str_eq(value, repaired[i]);
	} else {
		ck_assert_str_eq(comm, "(null)");
		ck_assert_str_eq(value, i == N_AWKWARD ? longv : "q\tname\n.example");
	}
	free(comm);
	free(value);
}

START_TEST(test_copy_awkward_text)
{
	fangs_storage *st = fx_open(pg_index());
	fangs_event_list evs = {0}, got = {0};
	fangs_run run;
	PGconn *c = db();
	char *longv = malloc(LONG_LEN + 1);
	size_t n;

	ck_assert_ptr_nonnull(longv);
	for (size_t i = 0; i < LONG_LEN; i++)
		longv[i] = "ab\t\\\nc\xe2\x9c\x93"[i % 9];
	longv[LONG_LEN] = '\0';
	make_run(st, &run, "1.0.0", FANGS_RUN_RUNNING, (int64_t)DAY0 * NS_DAY);
	awkward_events(&evs, longv);
	n = evs.count;
	/* all together (COPY), then one by one (INSERT) */
	OK(fangs_storage_events_append(st, run.id, evs.items, n));
	for (size_t i = 0; i < n; i++)
		check_stored(c, &evs.items[i], i, longv);
	for (size_t i = 0; i < n; i++) {
		OK(fangs_storage_events_append(st, run.id, &evs.items[i], 1));
		check_stored(c, &evs.items[i], i, longv);
	}
	OK(fangs_storage_events_list(st, run.id, &got));
	ck_assert_uint_eq(got.count, 2 * n);
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < n; i++) {
			const fangs_event *e = &got.items[k * n + i];
			if (i == 4) { /* read back repaired, like every JSON of it */
				ck_assert_str_eq(e->path, repaired[4]);
				ck_assert_str_eq(e->comm, repaired[4]);
			} else {
				fangs_event same = evs.items[i]; /* its id is the second copy's */
				same.id = e->id;
				assert_same_event(&same, run.id, e);
			}
		}
	ck_assert_uint_eq(strlen(got.items[N_AWKWARD].path), LONG_LEN);

	free(longv);
	PQfinish(c);
	fangs_event_list_free(&evs);
	fangs_event_list_free(&got);
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_batch_resent)
{
	fangs_storage *st = fx_open(pg_index());
	fangs_event_list evs = {0};
	fangs_run run, got;
	PGconn *c = db();
	int dup = -1;

	make_run(st, &run, "1.0.0", FANGS_RUN_RUNNING, (int64_t)DAY0 * NS_DAY);
	file_events(&evs, 300, "b");
	OK(fangs_storage_events_append_batch(st, run.id, 1, evs.items, evs.count, &dup));
	ck_assert_int_eq(dup, 0);
	ck_assert_int_gt(evs.items[299].id, evs.items[0].id);
	/* its answer was lost: the runner sends it again */
	OK(fangs_storage_events_append_batch(st, run.id, 1, evs.items, evs.count, &dup));
	ck_assert_int_eq(dup, 1);
	OK(fangs_storage_events_append_batch(st, run.id, 2, evs.items, 3, &dup));
	ck_assert_int_eq(dup, 0);
	OK(fangs_storage_events_append_batch(st, run.id, 2, evs.items, 3, &dup));
	ck_assert_int_eq(dup, 1);
	/* a batch whose transaction is rolled back was not received, and its
	 * day may be made again */
	OK(fangs_storage_begin(st));
	{
		fangs_run late;
		make_run(st, &late, "2.0.0", FANGS_RUN_RUNNING, (int64_t)(DAY0 + 5) * NS_DAY);
		OK(fangs_storage_events_append_batch(st, late.id, 1, evs.items, 20, &dup));
		ck_assert_int_eq(dup, 0);
		fangs_run_clear(&late);
	}
	OK(fangs_storage_rollback(st));
	ck_assert(!has_day(c, DAY0 + 5));
	OK(fangs_storage_run_get(st, run.id, &got));
	ck_assert_int_eq(got.event_count, 303);
	fangs_run_clear(&got);
	ck_assert_int_eq(rows_of_day(c, DAY0), 303);
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM event_batches WHERE run_id = $1", run.id), 2);

	PQfinish(c);
	fangs_event_list_free(&evs);
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

static int64_t put_finding(fangs_storage *st, const fangs_run *run, int64_t ev1, int64_t ev2)
{
	fangs_deviation d = {0};
	int64_t id;
	d.run_id = xs(run->id);
	d.package = xs(run->package);
	d.kind = xs("fs_cred_read");
	d.severity = FANGS_SEV_HIGH;
	d.evidence = calloc(2, sizeof(int64_t));
	ck_assert_ptr_nonnull(d.evidence);
	d.evidence[0] = ev1;
	d.evidence[1] = ev2;
	d.n_evidence = 2;
	OK(fangs_storage_deviations_put(st, &d, 1));
	id = d.id;
	fangs_deviation_clear(&d);
	return id;
}

START_TEST(test_prune_drops_days)
{
	fangs_storage *st = fx_open(pg_index());
	fangs_run a, b, c2, d, e, got;
	fangs_event_list ea = {0}, ev = {0}, left = {0};
	fangs_deviation dev;
	fangs_prune_stats ps;
	PGconn *c = db();
	int64_t dev_id, ids[2];

	file_events(&ea, 10, "a");
	file_events(&ev, 10, "x");
	make_run(st, &a, "1.0.0", FANGS_RUN_SUCCEEDED, (int64_t)DAY0 * NS_DAY + 5);
	make_run(st, &b, "1.0.1", FANGS_RUN_FAILED, (int64_t)DAY0 * NS_DAY + 6);
	make_run(st, &c2, "1.0.2", FANGS_RUN_SUCCEEDED, (int64_t)(DAY0 + 1) * NS_DAY + 5);
	make_run(st, &d, "1.0.3", FANGS_RUN_RUNNING, (int64_t)(DAY0 + 1) * NS_DAY + 6);
	make_run(st, &e, "1.0.4", FANGS_RUN_SUCCEEDED, (int64_t)(DAY0 + 2) * NS_DAY + 7);
	OK(fangs_storage_events_append(st, a.id, ea.items, ea.count));
	OK(fangs_storage_events_append(st, b.id, ev.items, ev.count));
	OK(fangs_storage_events_append(st, c2.id, ev.items, ev.count));
	OK(fangs_storage_events_append(st, d.id, ev.items, ev.count));
	OK(fangs_storage_events_append(st, e.id, ev.items, ev.count));
	dev_id = put_finding(st, &a, ea.items[5].id, ea.items[2].id);
	/* no evidence that is not stored */
	{
		fangs_deviation bad = {0};
		int64_t bogus = 999999999;
		bad.run_id = a.id;
		bad.package = a.package;
		bad.kind = "fs_cred_read";
		bad.evidence = &bogus;
		bad.n_evidence = 1;
		FAILS(FANGS_ENOTFOUND, fangs_storage_deviations_put(st, &bad, 1));
		MSG_HAS("999999999");
	}

	/* the cutoff at the start of the third day: the first is dropped; the
	 * second has a run still going, so its finished run's events go one by
	 * one */
	OK(fangs_storage_prune(st, (int64_t)(DAY0 + 2) * NS_DAY, &ps));
	ck_assert_int_eq(ps.events_kept_as_evidence, 2);
	ck_assert_int_eq(ps.events_deleted, 8 + 10 + 10); /* a's uncited, b's, c2's */
	ck_assert_int_eq(ps.runs_deleted, 2);             /* b, c2 */
	ck_assert(!has_day(c, DAY0));
	ck_assert(has_day(c, DAY0 + 1));
	ck_assert(has_day(c, DAY0 + 2));
	ck_assert_int_eq(rows_of_day(c, DAY0 + 1), 10);

	/* the finding still shows its proof */
	OK(fangs_storage_deviation_get(st, dev_id, &dev));
	ck_assert_uint_eq(dev.n_evidence, 2);
	ck_assert_int_eq(dev.evidence[0], ea.items[5].id);
	OK(fangs_storage_events_get(st, dev.evidence, dev.n_evidence, &left));
	ck_assert_uint_eq(left.count, 2);
	assert_same_event(&ea.items[5], a.id, &left.items[0]);
	assert_same_event(&ea.items[2], a.id, &left.items[1]);
	fangs_event_list_free(&left);
	fangs_deviation_clear(&dev);
	OK(fangs_storage_events_list(st, a.id, &left));
	ck_assert_uint_eq(left.count, 2);
	ck_assert_int_eq(left.items[0].id, ea.items[2].id);
	fangs_event_list_free(&left);
	OK(fangs_storage_run_get(st, a.id, &got));
	ck_assert_int_eq(got.deviation_count, 1);
	ck_assert_int_eq(got.event_count, 2); /* the kept ones, as SQLite counts */
	fangs_run_clear(&got);
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, b.id, &got));
	/* evidence kept out of a dropped day can be cited again */
	ids[0] = ea.items[5].id;
	ids[1] = ea.items[2].id;
	put_finding(st, &a, ids[0], ids[1]);

	/* a second pass finds nothing more */
	OK(fangs_storage_prune(st, (int64_t)(DAY0 + 2) * NS_DAY, &ps));
	ck_assert_int_eq(ps.events_deleted, 0);
	ck_assert_int_eq(ps.runs_deleted, 0);
	ck_assert_int_eq(ps.events_kept_as_evidence, 2);

	/* once the run of the second day is over, the day goes whole */
	d.state = FANGS_RUN_SUCCEEDED;
	OK(fangs_storage_run_update(st, &d));
	OK(fangs_storage_prune(st, (int64_t)(DAY0 + 2) * NS_DAY, &ps));
	ck_assert_int_eq(ps.events_deleted, 10);
	ck_assert_int_eq(ps.runs_deleted, 1);
	ck_assert(!has_day(c, DAY0 + 1));
	OK(fangs_storage_run_get(st, e.id, &got));
	ck_assert_int_eq(got.event_count, 10);
	fangs_run_clear(&got);

	/* a reset forgets the kept events with the runs */
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM evidence_events", NULL), 2);
	OK(fangs_storage_package_reset(st, "pkg"));
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM evidence_events", NULL), 0);

	PQfinish(c);
	fangs_event_list_free(&ea);
	fangs_event_list_free(&ev);
	fangs_run_clear(&a);
	fangs_run_clear(&b);
	fangs_run_clear(&c2);
	fangs_run_clear(&d);
	fangs_run_clear(&e);
	fangs_storage_free(st);
}
END_TEST

/* The schema as the releases before partitions wrote it. */
static const char *const before_partitions[] = {
	FANGS__SCHEMA_1("BIGSERIAL PRIMARY KEY", "BIGINT", ""),
	FANGS__SCHEMA_2,
	FANGS__SCHEMA_3("BIGINT", ""),
	FANGS__SCHEMA_4("BIGINT", ""),
};

START_TEST(test_migrate_rows)
{
	fangs_storage *st;
	fangs_event_list got = {0};
	fangs_deviation dev;
	fangs_event one = {0};
	char *json, sql[4096];
	int dbv = 0, codev = 0;
	int64_t ids[2];
	PGconn *c;

	fx_create(pg_index());
	c = db();
	exec_ok(c, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL)");
	for (size_t v = 0; v < sizeof(before_partitions) / sizeof(before_partitions[0]); v++) {
		if (*before_partitions[v])
			exec_ok(c, before_partitions[v]);
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES (%zu, 0)", v + 1);
		exec_ok(c, sql);
	}
	one.kind = FANGS_EV_FILE_OPEN;
	one.ts_ns = 42;
	one.pid = 7;
	one.comm = "node";
	one.path = "/home/u/.npmrc";
	json = to_json(&one);
	exec_ok(c, "INSERT INTO packages VALUES ('pkg', 1, NULL, 0)");
	exec_ok(c, "INSERT INTO releases VALUES ('pkg', '1.0.0', 0), ('pkg', '1.0.1', 0)");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, package, version, state, created_ns) VALUES"
		 " ('r-old1', 'pkg', '1.0.0', %d, %lld), ('r-old2', 'pkg', '1.0.1', %d, %lld)",
		 FANGS_RUN_SUCCEEDED, (long long)DAY0 * NS_DAY + 1, FANGS_RUN_SUCCEEDED,
		 (long long)(DAY0 + 1) * NS_DAY + 1);
	exec_ok(c, sql);
	for (int i = 0; i < 3; i++) {
		const char *params[2] = {i == 2 ? "r-gone" : i ? "r-old2" : "r-old1", json};
		PGresult *r = PQexecParams(c,
					   "INSERT INTO events (run_id, kind, ts_ns, pid, ppid, comm, value, data)"
					   " VALUES ($1, 1, 42, 7, 0, 'node', '/home/u/.npmrc', $2)",
					   2, NULL, params, NULL, NULL, 0);
		ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	exec_ok(c, "INSERT INTO deviations (run_id, package, kind, severity, created_ns)"
		   " VALUES ('r-old1', 'pkg', 'fs_cred_read', 3, 0)");
	exec_ok(c, "INSERT INTO deviation_evidence VALUES (1, 0, 1)");
	PQfinish(c);
	free(json);

	st = fx_reopen();
	OK(fangs_storage_schema_version(st, &dbv, &codev));
	ck_assert_int_eq(dbv, codev);
	c = db();
	json = scalar(c, "SELECT relkind::text FROM pg_class WHERE relname = 'events'", NULL, NULL);
	ck_assert_str_eq(json, "p"); /* partitioned */
	free(json);
	ck_assert(has_day(c, DAY0));
	ck_assert(has_day(c, DAY0 + 1));
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM events", NULL), 3);
	ck_assert_int_eq(scalar_ll(c, "SELECT COUNT(*) FROM pg_class WHERE relname = 'events_unpartitioned'", NULL), 0);

	OK(fangs_storage_events_list(st, "r-old2", &got));
	ck_assert_uint_eq(got.count, 1);
	ck_assert_int_eq(got.items[0].id, 2);
	ck_assert_str_eq(got.items[0].path, "/home/u/.npmrc");
	fangs_event_list_free(&got);
	/* the event of a run that is gone moved too */
	ids[0] = 3;
	ids[1] = 1;
	OK(fangs_storage_events_get(st, ids, 2, &got));
	ck_assert_uint_eq(got.count, 2);
	ck_assert_str_eq(got.items[0].run_id, "r-gone");
	fangs_event_list_free(&got);
	OK(fangs_storage_deviation_get(st, 1, &dev));
	ck_assert_uint_eq(dev.n_evidence, 1);
	ck_assert_int_eq(dev.evidence[0], 1);
	fangs_deviation_clear(&dev);
	/* new ids go on after the old ones */
	one.comm = xs("node");
	one.path = xs("/x");
	OK(fangs_storage_events_append(st, "r-old1", &one, 1));
	ck_assert_int_eq(one.id, 4);
	fangs_event_clear(&one);
	/* the runs' event counts (schema 6) came from the moved rows */
	{
		fangs_run r = {0};
		OK(fangs_storage_run_get(st, "r-old1", &r));
		ck_assert_int_eq(r.event_count, 2);
		fangs_run_clear(&r);
		OK(fangs_storage_run_get(st, "r-old2", &r));
		ck_assert_int_eq(r.event_count, 1);
		fangs_run_clear(&r);
	}

	PQfinish(c);
	fangs_storage_free(st);
}
END_TEST

static Suite *pg_events_suite(void)
{
	Suite *s = suite_create("storage-pg-events");
	TCase *c = tcase_create("events");

	tcase_set_timeout(c, 120);
	tcase_add_checked_fixture(c, NULL, fx_cleanup);
	tcase_add_test(c, test_partition_days);
	tcase_add_test(c, test_copy_awkward_text);
	tcase_add_test(c, test_batch_resent);
	tcase_add_test(c, test_prune_drops_days);
	tcase_add_test(c, test_migrate_rows);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return fx_run_suite(pg_events_suite(), "storage pg events");
}
