/*
 * tests/storage/test_reads.c - pages and aggregates for readers: runs
 * with filters and a keyset cursor, a run's events page after page, a
 * run's process tree; every backend of backends.c.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fangs/fangs.h>

#include "fixture.h"

static char *xs(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	ck_assert(!s || d);
	return d;
}

static void make_run(fangs_storage *st, fangs_run *run, const char *pkg, const char *ver, fangs_run_state state,
		     fangs_review review, int64_t created_ns)
{
	memset(run, 0, sizeof(*run));
	run->package = xs(pkg);
	run->version = xs(ver);
	run->state = state;
	run->review = review;
	run->created_ns = created_ns;
	OK(fangs_storage_run_create(st, run));
}

static void put_deviation(fangs_storage *st, const char *run_id, const char *pkg, fangs_severity sev, int64_t ev)
{
	fangs_deviation d = {0};
	d.run_id = xs(run_id);
	d.package = xs(pkg);
	d.kind = xs("net_new_dns");
	d.severity = sev;
	d.value = xs("v");
	if (ev) {
		d.evidence = calloc(1, sizeof(int64_t));
		ck_assert(d.evidence);
		d.evidence[0] = ev;
		d.n_evidence = 1;
	}
	OK(fangs_storage_deviations_put(st, &d, 1));
	fangs_deviation_clear(&d);
}

#define N_RUNS 23

/* The runs made by seed_runs, as (created_ns, id), in page order. */
typedef struct seeded {
	char id[FANGS_RUN_ID_MAX];
	int64_t created;
	const char *pkg;
	fangs_run_state state;
	fangs_review review;
	int sev; /* worst deviation, -1 = none */
} seeded;

/* 23 runs of two packages; several share a created_ns (the id breaks the tie). */
static void seed_runs(fangs_storage *st, seeded *s)
{
	for (int i = 0; i < N_RUNS; i++) {
		fangs_run r;
		char ver[32];
		s[i].created = 1000 + (i / 3) * 10; /* three runs a timestamp */
		s[i].pkg = i % 2 ? "beta" : "alpha";
		s[i].state = i % 5 == 4 ? FANGS_RUN_FAILED : FANGS_RUN_SUCCEEDED;
		s[i].review = i % 4 == 1 ? FANGS_REVIEW_PENDING : FANGS_REVIEW_NONE;
		s[i].sev = i % 6 == 0 ? FANGS_SEV_HIGH : i % 6 == 3 ? FANGS_SEV_LOW : -1;
		snprintf(ver, sizeof(ver), "1.0.%d", i);
		make_run(st, &r, s[i].pkg, ver, s[i].state, s[i].review, s[i].created);
		memcpy(s[i].id, r.id, sizeof(s[i].id));
		if (s[i].sev >= 0)
			put_deviation(st, r.id, s[i].pkg, (fangs_severity)s[i].sev, 0);
		fangs_run_clear(&r);
	}
}

/* Walks the pages of q (limit per page) and checks each run is seen once,
 * newest first, and that exactly the runs `want` accepts are seen. */
static void walk(fangs_storage *st, fangs_run_query q, size_t limit, const seeded *s, int (*want)(const seeded *))
{
	char after[FANGS_RUN_ID_MAX];
	int seen[N_RUNS] = {0};
	size_t total = 0, expected = 0, pages = 0;
	int64_t last_created = INT64_MAX;
	char last_id[FANGS_RUN_ID_MAX] = "\x7f";

	q.limit = limit;
	for (;;) {
		fangs_run_list rl = {0};
		OK(fangs_storage_run_page(st, &q, &rl));
		pages++;
		ck_assert_int_le(rl.count, limit);
		for (size_t i = 0; i < rl.count; i++) {
			const fangs_run *r = &rl.items[i];
			int k = -1;
			for (int j = 0; j < N_RUNS; j++)
				if (!strcmp(s[j].id, r->id))
					k = j;
			ck_assert_int_ge(k, 0);
			ck_assert_msg(!seen[k], "run %s seen twice", r->id);
			seen[k] = 1;
			ck_assert(want(&s[k]));
			/* (created_ns, id) strictly descending */
			ck_assert(r->created_ns < last_created ||
				  (r->created_ns == last_created && strcmp(r->id, last_id) < 0));
			last_created = r->created_ns;
			snprintf(last_id, sizeof(last_id), "%s", r->id);
			total++;
		}
		if (rl.count < limit) {
			fangs_run_list_free(&rl);
			break;
		}
		snprintf(after, sizeof(after), "%s", rl.items[rl.count - 1].id);
		q.after_created_ns = rl.items[rl.count - 1].created_ns;
		q.after_id = after;
		fangs_run_list_free(&rl);
		ck_assert_int_lt(pages, 100);
	}
	for (int j = 0; j < N_RUNS; j++)
		if (want(&s[j]))
			expected++;
	ck_assert_int_eq(total, expected);
}

static int all(const seeded *s)
{
	(void)s;
	return 1;
}
static int is_alpha(const seeded *s)
{
	return !strcmp(s->pkg, "alpha");
}
static int is_failed(const seeded *s)
{
	return s->state == FANGS_RUN_FAILED;
}
static int is_pending(const seeded *s)
{
	return s->review == FANGS_REVIEW_PENDING;
}
static int sev_medium(const seeded *s)
{
	return s->sev >= FANGS_SEV_MEDIUM;
}
static int sev_low(const seeded *s)
{
	return s->sev >= FANGS_SEV_LOW;
}
static int in_window(const seeded *s)
{
	return s->created >= 1020 && s->created < 1050;
}
static int beta_pending_low(const seeded *s)
{
	return !strcmp(s->pkg, "beta") && is_pending(s) && sev_low(s);
}

START_TEST(test_run_page)
{
	fangs_storage *st = fx_open(_i);
	seeded s[N_RUNS];
	fangs_run_query q = FANGS_RUN_QUERY_INIT;
	fangs_run_list rl = {0};

	seed_runs(st, s);
	/* every page size walks every run once, ties included */
	walk(st, q, 1, s, all);
	walk(st, q, 3, s, all);
	walk(st, q, 4, s, all);
	walk(st, q, 100, s, all);
	q.package = "alpha";
	walk(st, q, 5, s, is_alpha);
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.state = FANGS_RUN_FAILED;
	walk(st, q, 2, s, is_failed);
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.review = FANGS_REVIEW_PENDING;
	walk(st, q, 2, s, is_pending);
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.min_severity = FANGS_SEV_MEDIUM;
	walk(st, q, 2, s, sev_medium);
	q.min_severity = FANGS_SEV_LOW;
	walk(st, q, 3, s, sev_low);
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.since_ns = 1020;
	q.until_ns = 1050;
	walk(st, q, 4, s, in_window);
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.package = "beta";
	q.review = FANGS_REVIEW_PENDING;
	q.min_severity = FANGS_SEV_LOW;
	walk(st, q, 1, s, beta_pending_low);

	/* deviations by severity, from a time on */
	{
		int64_t counts[FANGS_SEV_CRITICAL + 1];
		OK(fangs_storage_deviation_counts(st, 0, counts));
		ck_assert_int_eq(counts[FANGS_SEV_HIGH], 4);
		ck_assert_int_eq(counts[FANGS_SEV_LOW], 4);
		ck_assert_int_eq(counts[FANGS_SEV_CRITICAL] + counts[FANGS_SEV_MEDIUM] + counts[FANGS_SEV_INFO], 0);
		OK(fangs_storage_deviation_counts(st, INT64_MAX, counts));
		ck_assert_int_eq(counts[FANGS_SEV_HIGH] + counts[FANGS_SEV_LOW], 0);
	}

	/* the page carries what run_get does */
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.limit = 1;
	OK(fangs_storage_run_page(st, &q, &rl));
	ck_assert_int_eq(rl.count, 1);
	ck_assert_int_eq(rl.items[0].created_ns, s[N_RUNS - 1].created);
	fangs_run_list_free(&rl);

	/* bad queries */
	q.state = 99;
	FAILS(FANGS_EINVAL, fangs_storage_run_page(st, &q, &rl));
	q = (fangs_run_query)FANGS_RUN_QUERY_INIT;
	q.version = 99;
	FAILS(FANGS_EVERSION, fangs_storage_run_page(st, &q, &rl));
	fangs_storage_free(st);
}
END_TEST

/* pid, ppid, kind, comm, value, (exec argv0 argv1), origin script */
static fangs_event *ev(fangs_event_list *l, fangs_event_kind kind, int32_t pid, int32_t ppid, const char *comm,
		       const char *value)
{
	fangs_event *e = fangs_event_list_push(l);
	static uint64_t ts = 5000;
	ck_assert(e);
	e->kind = kind;
	e->pid = pid;
	e->ppid = ppid;
	e->ts_ns = ts++;
	e->comm = xs(comm);
	switch (kind) {
	case FANGS_EV_FILE_OPEN:
		e->path = xs(value);
		e->flags = FANGS_OPEN_READ;
		break;
	case FANGS_EV_EXEC:
		e->path = xs(value);
		break;
	case FANGS_EV_NET_CONNECT:
		e->addr = xs(value);
		e->family = FANGS_FAMILY_IPV4;
		e->port = 443;
		e->proto = FANGS_PROTO_TCP;
		break;
	case FANGS_EV_DNS_QUERY:
		e->qname = xs(value);
		e->qtype = 1;
		break;
	case FANGS_EV_TLS_SNI:
		e->sni = xs(value);
		break;
	case FANGS_EV_PROXY_REQUEST:
		e->host = xs(value);
		break;
	case FANGS_EV_SYSCALL:
		e->op = xs(value);
		break;
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_NONE:
		break;
	}
	return e;
}

static void set_argv(fangs_event *e, const char *a0, const char *a1, const char *a2)
{
	e->argc = 3;
	e->argv = calloc(3, sizeof(char *));
	ck_assert(e->argv);
	e->argv[0] = xs(a0);
	e->argv[1] = xs(a1);
	e->argv[2] = xs(a2);
}

static void set_origin(fangs_event *e, const char *pkg, const char *script)
{
	e->origin.package = xs(pkg);
	e->origin.version = xs("2.0.0");
	e->origin.script = xs(script);
	e->origin.command = xs("node install.js");
}

/*
 * npm (10, parent 1) forks 11 (sh, postinstall of evil) and 13 (node, npm's
 * own); 11 forks 12 (node install.js) which reads /etc/passwd and connects
 * to 203.0.113.7; 13 opens /tmp/cache-x. Exits for 12 (code 3) and 11.
 */
static void tree_events(fangs_event_list *l)
{
	fangs_event *e;
	e = ev(l, FANGS_EV_EXEC, 10, 1, "node", "/usr/bin/node");
	set_argv(e, "node", "npm-cli.js", "install");
	ev(l, FANGS_EV_FILE_OPEN, 10, 1, "node", "/usr/lib/npmrc");
	ev(l, FANGS_EV_PROC_FORK, 11, 10, "node", NULL);
	e = ev(l, FANGS_EV_EXEC, 11, 10, "sh", "/bin/sh");
	set_argv(e, "sh", "-c", "node install.js");
	set_origin(e, "evil", "postinstall");
	ev(l, FANGS_EV_PROC_FORK, 12, 11, "sh", NULL);
	e = ev(l, FANGS_EV_EXEC, 12, 11, "node", "/usr/bin/node");
	set_argv(e, "node", "install.js", "--quiet");
	set_origin(e, "evil", "postinstall");
	e = ev(l, FANGS_EV_FILE_OPEN, 12, 11, "node", "/etc/passwd");
	set_origin(e, "evil", "postinstall");
	e = ev(l, FANGS_EV_NET_CONNECT, 12, 11, "node", "203.0.113.7");
	set_origin(e, "evil", "postinstall");
	e = ev(l, FANGS_EV_PROC_EXIT, 12, 11, "node", NULL);
	e->exit_code = 3;
	ev(l, FANGS_EV_PROC_EXIT, 11, 10, "sh", NULL);
	ev(l, FANGS_EV_PROC_FORK, 13, 10, "node", NULL);
	ev(l, FANGS_EV_FILE_OPEN, 13, 10, "node", "/tmp/cache-x");
}

static const fangs_proc_node *node(const fangs_proc_tree *t, int32_t pid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->items[i].pid == pid)
			return &t->items[i];
	return NULL;
}

/* The pids of the tree, in order, as "10,11,12". */
static void pids(const fangs_proc_tree *t, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->count && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%d", i ? "," : "", t->items[i].pid);
}

START_TEST(test_events_page_and_tree)
{
	fangs_storage *st = fx_open(_i);
	fangs_event_list l = {0}, page = {0};
	fangs_event_query eq = FANGS_EVENT_QUERY_INIT;
	fangs_tree_query tq = FANGS_TREE_QUERY_INIT;
	fangs_proc_tree t = {0};
	const fangs_proc_node *n;
	fangs_run run, other;
	int64_t after = 0, seen = 0;
	char buf[128];

	make_run(st, &run, "evil", "2.0.0", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_PENDING, 0);
	make_run(st, &other, "evil", "1.0.0", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_NONE, 0);
	tree_events(&l);
	/* another run's events never show (appended first: appending sets ids) */
	OK(fangs_storage_events_append(st, other.id, l.items, 3));
	OK(fangs_storage_events_append(st, run.id, l.items, l.count));
	put_deviation(st, run.id, "evil", FANGS_SEV_HIGH, l.items[7].id);   /* the connect */
	put_deviation(st, run.id, "evil", FANGS_SEV_MEDIUM, l.items[6].id); /* /etc/passwd */

	/* pages of 4 walk all events once, in id order */
	eq.run_id = run.id;
	eq.limit = 4;
	for (;;) {
		fangs_event_list_free(&page);
		eq.after_id = after;
		OK(fangs_storage_events_page(st, &eq, &page));
		for (size_t i = 0; i < page.count; i++) {
			ck_assert_int_gt(page.items[i].id, after);
			ck_assert_str_eq(page.items[i].run_id, run.id);
			ck_assert_int_eq(page.items[i].id, l.items[seen].id);
			after = page.items[i].id;
			seen++;
		}
		if (page.count < 4)
			break;
	}
	ck_assert_int_eq(seen, (int64_t)l.count);
	/* filters: kind, pid, text (value, comm, an exec's command line) */
	eq = (fangs_event_query)FANGS_EVENT_QUERY_INIT;
	eq.run_id = run.id;
	eq.kind = FANGS_EV_EXEC;
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, 3);
	eq.kind = 0;
	eq.pid = 12;
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, 5);
	eq.pid = 12;
	eq.text = "passwd";
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, 1);
	ck_assert_str_eq(page.items[0].path, "/etc/passwd");
	eq.pid = -1;
	eq.text = "--quiet"; /* only in an argv */
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, 1);
	ck_assert_int_eq(page.items[0].pid, 12);
	eq.text = "sh"; /* comm of 11's events, /bin/sh */
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, 3);
	eq.text = "";
	fangs_event_list_free(&page);
	OK(fangs_storage_events_page(st, &eq, &page));
	ck_assert_int_eq(page.count, l.count);
	fangs_event_list_free(&page);
	eq.run_id = "r-no-such-run";
	FAILS(FANGS_ENOTFOUND, fangs_storage_events_page(st, &eq, &page));
	eq.run_id = run.id;
	eq.kind = 42;
	FAILS(FANGS_EINVAL, fangs_storage_events_page(st, &eq, &page));

	/* the whole tree */
	tq.run_id = run.id;
	OK(fangs_storage_process_tree(st, &tq, &t));
	pids(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10,11,12,13");
	ck_assert_int_eq(t.total_processes, 4);
	ck_assert_int_eq(t.truncated, 0);
	ck_assert_int_eq(t.n_roots, 1);
	ck_assert_int_eq(t.roots[0], 10);
	n = node(&t, 10);
	ck_assert_int_eq(n->ppid, 1);
	ck_assert_str_eq(n->cmdline, "node npm-cli.js install");
	ck_assert_str_eq(n->exe, "/usr/bin/node");
	ck_assert_ptr_null(n->origin.package);
	ck_assert_int_eq(n->n_children, 2);
	ck_assert_int_eq(n->children[0], 11);
	ck_assert_int_eq(n->children[1], 13);
	ck_assert_int_eq(n->counts[FANGS_EV_EXEC], 1);
	ck_assert_int_eq(n->counts[FANGS_EV_FILE_OPEN], 1);
	ck_assert_int_eq(n->has_exit, 0);
	n = node(&t, 11);
	ck_assert_str_eq(n->cmdline, "sh -c node install.js");
	ck_assert_str_eq(n->origin.package, "evil");
	ck_assert_str_eq(n->origin.script, "postinstall");
	ck_assert_int_eq(n->counts[FANGS_EV_PROC_FORK], 1);
	ck_assert_int_eq(n->has_exit, 1);
	ck_assert_int_eq(n->deviating, 0);
	n = node(&t, 12);
	ck_assert_int_eq(n->ppid, 11);
	ck_assert_str_eq(n->comm, "node");
	ck_assert_int_eq(n->events, 5);
	ck_assert_int_eq(n->counts[FANGS_EV_NET_CONNECT], 1);
	ck_assert_int_eq(n->deviating, 2);
	ck_assert_int_eq(n->has_exit, 1);
	ck_assert_int_eq(n->exit_code, 3);
	ck_assert_int_eq(n->start_ns, (int64_t)l.items[4].ts_ns); /* its fork */
	ck_assert_int_eq(n->n_children, 0);
	n = node(&t, 13);
	ck_assert_ptr_null(n->cmdline);
	ck_assert_int_eq(n->events, 2);
	fangs_proc_tree_free(&t);

	/* a filter keeps the matching processes and their ancestors */
	tq.kind = FANGS_EV_NET_CONNECT;
	OK(fangs_storage_process_tree(st, &tq, &t));
	pids(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10,11,12");
	ck_assert_int_eq(node(&t, 12)->matched, 1);
	ck_assert_int_eq(node(&t, 10)->matched, 0);
	ck_assert_int_eq(node(&t, 10)->n_children, 1);
	fangs_proc_tree_free(&t);
	tq.kind = 0;
	tq.text = "/tmp/cache";
	OK(fangs_storage_process_tree(st, &tq, &t));
	pids(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10,13");
	fangs_proc_tree_free(&t);
	tq.kind = FANGS_EV_FILE_OPEN;
	tq.text = "203.0.113"; /* an address, but not a file */
	OK(fangs_storage_process_tree(st, &tq, &t));
	ck_assert_int_eq(t.count, 0);
	ck_assert_int_eq(t.n_roots, 0);
	fangs_proc_tree_free(&t);

	/* bounded: the earliest that fit with their ancestors, and said so */
	tq.kind = 0;
	tq.text = NULL;
	tq.max_nodes = 2;
	OK(fangs_storage_process_tree(st, &tq, &t));
	pids(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10,11");
	ck_assert_int_eq(t.truncated, 1);
	ck_assert_int_eq(t.total_processes, 4);
	fangs_proc_tree_free(&t);
	tq.max_nodes = 0;
	tq.text = "/tmp/cache";
	tq.max_nodes = 1; /* 13 needs 10 too: nothing fits */
	OK(fangs_storage_process_tree(st, &tq, &t));
	ck_assert_int_eq(t.count, 0);
	ck_assert_int_eq(t.truncated, 1);
	fangs_proc_tree_free(&t);

	tq = (fangs_tree_query)FANGS_TREE_QUERY_INIT;
	tq.run_id = "r-no-such-run";
	FAILS(FANGS_ENOTFOUND, fangs_storage_process_tree(st, &tq, &t));
	tq.run_id = run.id;
	tq.kind = -1;
	FAILS(FANGS_EINVAL, fangs_storage_process_tree(st, &tq, &t));

	fangs_event_list_free(&l);
	fangs_run_clear(&run);
	fangs_run_clear(&other);
	fangs_storage_free(st);
}
END_TEST

/* ---- runs.event_count (schema 6) ---- */

#define NS_DAY 86400000000000LL
#define DAY0 20000 /* 2024-10-04 */

/* The events of `run_id`, counted behind the library's back: its rows in
 * events (and in PostgreSQL's evidence_events, where the events findings
 * cite go when their day is dropped). */
static long long rows_of_run(const char *run_id)
{
	char sql[320];
	long long n = -1;
	if (strcmp(fx_backend->name, "postgres") == 0)
		snprintf(sql, sizeof(sql),
			 "SELECT (SELECT COUNT(*) FROM events WHERE run_id = '%s')"
			 " + (SELECT COUNT(*) FROM evidence_events WHERE run_id = '%s')",
			 run_id, run_id);
	else
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events WHERE run_id = '%s'", run_id);
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, sql, &n), 0);
	return n;
}

/* The run's rows of run_processes are its events grouped by (pid, ppid,
 * kind) with their number, first and last id, grouped here behind the
 * library's back. */
static void processes_match(const char *run_id, int line)
{
	char sql[768];
	long long groups = -1, rows = -1, same = -1;
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE run_id = '%s' GROUP BY pid, ppid, kind) g", run_id);
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, sql, &groups), 0);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM run_processes WHERE run_id = '%s'", run_id);
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, sql, &rows), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM (SELECT pid, ppid, kind, COUNT(*) AS c, MIN(id) AS f, MAX(id) AS l FROM events"
		 " WHERE run_id = '%s' GROUP BY pid, ppid, kind) g JOIN run_processes p ON p.run_id = '%s'"
		 " AND p.pid = g.pid AND p.ppid = g.ppid AND p.kind = g.kind AND p.events = g.c"
		 " AND p.first_id = g.f AND p.last_id = g.l",
		 run_id, run_id);
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, sql, &same), 0);
	ck_assert_msg(groups == rows && rows == same, "line %d: run %s: %lld groups, %lld rows, %lld the same", line,
		      run_id, groups, rows, same);
}

/* The count a run is read with (alone and in a page of its package's
 * runs) is its rows in events, and `want`. */
static void count_is_at(fangs_storage *st, const char *run_id, long long want, int line)
{
	fangs_run r = {0};
	fangs_run_query q = FANGS_RUN_QUERY_INIT;
	fangs_run_list l = {0};
	size_t i;

	ck_assert_msg(fangs_storage_run_get(st, run_id, &r) == 0, "line %d: %s", line, fangs_error_last());
	ck_assert_msg(r.event_count == rows_of_run(run_id), "line %d: run %s: count %lld, rows %lld", line, run_id,
		      (long long)r.event_count, rows_of_run(run_id));
	ck_assert_int_eq(r.event_count, want);
	processes_match(run_id, line);
	q.package = r.package;
	OK(fangs_storage_run_page(st, &q, &l));
	for (i = 0; i < l.count && strcmp(l.items[i].id, run_id); i++)
		;
	ck_assert_uint_lt(i, l.count);
	ck_assert_int_eq(l.items[i].event_count, want);
	fangs_run_list_free(&l);
	fangs_run_clear(&r);
}

#define count_is(st, run_id, want) count_is_at(st, run_id, want, __LINE__)

/* n events of pids 20 to 22: file opens and connects. */
static void opens(fangs_event_list *l, size_t n)
{
	fangs_event_list_free(l);
	for (size_t i = 0; i < n; i++)
		ev(l, i % 2 ? FANGS_EV_FILE_OPEN : FANGS_EV_NET_CONNECT, 20 + (int32_t)(i % 3), 1, "node",
		   i % 2 ? "/a" : "192.0.2.1");
}

/* Every statement that adds or removes events keeps the run's count: appends
 * (INSERT, and COPY for PostgreSQL batches of 8 or more), numbered batches
 * (sent again: counted once), a runner's run started again, retention by
 * rows and (PostgreSQL) by whole days. */
START_TEST(test_event_count_exact)
{
	fangs_storage *st = fx_open(_i);
	fangs_event_list l = {0};
	fangs_run run, old, cut, late;
	fangs_job j = {0}, claimed = {0};
	fangs_prune_stats ps;
	int64_t rq, fl;
	long long orphans = -1;
	int dup = 0;

	make_run(st, &run, "counted", "1.0.0", FANGS_RUN_RUNNING, FANGS_REVIEW_NONE, 0);
	count_is(st, run.id, 0);
	opens(&l, 3);
	OK(fangs_storage_events_append(st, run.id, l.items, l.count)); /* scans, `fangs events import` */
	count_is(st, run.id, 3);
	opens(&l, 40); /* COPY */
	OK(fangs_storage_events_append(st, run.id, l.items, l.count));
	count_is(st, run.id, 43);
	opens(&l, 20);
	OK(fangs_storage_events_append_batch(st, run.id, 1, l.items, l.count, &dup));
	ck_assert_int_eq(dup, 0);
	count_is(st, run.id, 63);
	OK(fangs_storage_events_append_batch(st, run.id, 1, l.items, l.count, &dup));
	ck_assert_int_eq(dup, 1);
	count_is(st, run.id, 63);
	dup = 0;
	opens(&l, 2);
	OK(fangs_storage_events_append_batch(st, run.id, 2, l.items, l.count, &dup));
	OK(fangs_storage_events_append_batch(st, run.id, 3, l.items, 0, &dup));
	ck_assert_int_eq(dup, 0);
	count_is(st, run.id, 65);
	FAILS(FANGS_ENOTFOUND, fangs_storage_events_append(st, "r-no-such-run", l.items, l.count));
	count_is(st, run.id, 65);

	/* a runner lost: its run's events go, the count with them */
	j.package = (char *)"counted";
	j.version = (char *)"1.0.1";
	OK(fangs_storage_job_enqueue(st, &j));
	OK(fangs_storage_job_claim(st, "r1", &claimed));
	fangs_job_clear(&claimed);
	opens(&l, 9);
	OK(fangs_storage_events_append_batch(st, j.run_id, 1, l.items, l.count, &dup));
	count_is(st, j.run_id, 9);
	OK(fangs_storage_job_requeue_runner(st, "r1", 3, &rq, &fl));
	ck_assert_int_eq(rq, 1);
	count_is(st, j.run_id, 0);
	count_is(st, run.id, 65);

	/* retention: `old` in a day that ends before the cutoff (PostgreSQL
	 * drops the day, keeping what a finding cites), `cut` before the
	 * cutoff in the day it falls in (rows deleted), `late` after it */
	make_run(st, &old, "counted", "1.0.2", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_NONE, (int64_t)DAY0 * NS_DAY + 5);
	make_run(st, &cut, "counted", "1.0.3", FANGS_RUN_FAILED, FANGS_REVIEW_PENDING,
		 (int64_t)(DAY0 + 2) * NS_DAY + 5);
	make_run(st, &late, "counted", "1.0.4", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_NONE,
		 (int64_t)(DAY0 + 2) * NS_DAY + NS_DAY / 2 + 5);
	opens(&l, 12);
	OK(fangs_storage_events_append(st, old.id, l.items, l.count));
	put_deviation(st, old.id, "counted", FANGS_SEV_HIGH, l.items[4].id);
	opens(&l, 10);
	OK(fangs_storage_events_append(st, cut.id, l.items, l.count));
	opens(&l, 4);
	OK(fangs_storage_events_append(st, late.id, l.items, l.count));
	count_is(st, old.id, 12);
	count_is(st, cut.id, 10);
	count_is(st, late.id, 4);
	OK(fangs_storage_prune(st, (int64_t)(DAY0 + 2) * NS_DAY + NS_DAY / 2, &ps));
	ck_assert_int_eq(ps.events_kept_as_evidence, 1);
	/* the cited event stays (PostgreSQL moved it out with its day) */
	count_is(st, old.id, 1);
	count_is(st, cut.id, 0);
	count_is(st, late.id, 4);
	count_is(st, run.id, 65);
	if (strcmp(fx_backend->name, "postgres") == 0) { /* the day went whole */
		long long days = -1;
		ck_assert_int_eq(
			fx_backend->query_i64(fx_ctx, "SELECT COUNT(*) FROM pg_class WHERE relname = 'events_20241004'",
					      &days),
			0);
		ck_assert_int_eq(days, 0);
	}
	/* a second pass changes nothing */
	OK(fangs_storage_prune(st, (int64_t)(DAY0 + 2) * NS_DAY + NS_DAY / 2, &ps));
	count_is(st, old.id, 1);
	count_is(st, late.id, 4);
	/* a package removed takes its runs' processes along */
	OK(fangs_storage_package_remove(st, "counted"));
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, "SELECT COUNT(*) FROM run_processes", &orphans), 0);
	ck_assert_int_eq(orphans, 0);

	fangs_event_list_free(&l);
	fangs_run_clear(&run);
	fangs_run_clear(&old);
	fangs_run_clear(&cut);
	fangs_run_clear(&late);
	fangs_storage_free(st);
}
END_TEST

/* The tree of a run as text: pid, parent, events, deviating and counts by
 * kind of each node. */
static void tree_text(fangs_storage *st, const char *run_id, int kind, const char *text, char *buf, size_t cap)
{
	fangs_tree_query q = FANGS_TREE_QUERY_INIT;
	fangs_proc_tree t = {0};
	size_t used = 0;
	q.run_id = run_id;
	q.kind = kind;
	q.text = text;
	OK(fangs_storage_process_tree(st, &q, &t));
	buf[0] = '\0';
	for (size_t i = 0; i < t.count && used < cap; i++) {
		const fangs_proc_node *n = &t.items[i];
		used += (size_t)snprintf(buf + used, cap - used, "%d<%d:%lld/%lld/%lld:%s", n->pid, n->ppid,
					 (long long)n->events, (long long)n->deviating, (long long)n->matched,
					 n->cmdline ? n->cmdline : "-");
		for (int k = 1; k <= FANGS_EV_KIND_MAX && used < cap; k++)
			if (n->counts[k])
				used += (size_t)snprintf(buf + used, cap - used, ",%d=%lld", k,
							 (long long)n->counts[k]);
		if (used < cap)
			used += (size_t)snprintf(buf + used, cap - used, ";");
	}
	fangs_proc_tree_free(&t);
}

/* Migration 6 on a database at schema 5 with runs and events: counts
 * filled from the rows, the index made, the same trees. */
START_TEST(test_migrate_6)
{
	fangs_storage *st = fx_open(_i);
	int pg = strcmp(fx_backend->name, "postgres") == 0, dbv = 0, codev = 0;
	fangs_event_list l = {0};
	fangs_run a, b, none;
	char before[3][2048], after[2048];
	long long n = -1;

	make_run(st, &a, "evil", "2.0.0", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_PENDING, 0);
	make_run(st, &b, "evil", "1.0.0", FANGS_RUN_SUCCEEDED, FANGS_REVIEW_NONE, (int64_t)DAY0 * NS_DAY);
	make_run(st, &none, "evil", "1.0.1", FANGS_RUN_FAILED, FANGS_REVIEW_NONE, 0);
	tree_events(&l);
	OK(fangs_storage_events_append(st, b.id, l.items, 5));
	OK(fangs_storage_events_append(st, a.id, l.items, l.count));
	put_deviation(st, a.id, "evil", FANGS_SEV_HIGH, l.items[7].id);
	tree_text(st, a.id, 0, NULL, before[0], sizeof(before[0]));
	tree_text(st, a.id, FANGS_EV_FILE_OPEN, NULL, before[1], sizeof(before[1]));
	tree_text(st, a.id, 0, "passwd", before[2], sizeof(before[2]));
	fangs_storage_free(st);

	/* back to schema 5 as that release left it */
	ck_assert_int_eq(
		fx_backend->exec(fx_ctx, pg ? "DROP TABLE run_processes; DROP INDEX events_run_id;"
					      " CREATE INDEX events_run ON events(run_id, day);"
					      " ALTER TABLE runs DROP COLUMN event_count;"
					      " DELETE FROM schema_migrations WHERE version = 6"
					    : "DROP TABLE run_processes; ALTER TABLE runs DROP COLUMN event_count;"
					      " DELETE FROM schema_migrations WHERE version = 6"),
		0);
	ck_assert_int_eq(fx_backend->query_i64(fx_ctx, "SELECT MAX(version) FROM schema_migrations", &n), 0);
	ck_assert_int_eq(n, 5);

	st = fx_reopen();
	OK(fangs_storage_schema_version(st, &dbv, &codev));
	ck_assert_int_eq(dbv, 6);
	ck_assert_int_eq(codev, 6);
	if (pg) {
		ck_assert_int_eq(
			fx_backend->query_i64(fx_ctx,
					      "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'events_run_id'"
					      " AND tablename = 'events'",
					      &n),
			0);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(fx_backend->query_i64(
					 fx_ctx, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'events_run'", &n),
				 0);
		ck_assert_int_eq(n, 0);
	}
	count_is(st, a.id, (long long)l.count);
	count_is(st, b.id, 5);
	count_is(st, none.id, 0);
	tree_text(st, a.id, 0, NULL, after, sizeof(after));
	ck_assert_str_eq(after, before[0]);
	tree_text(st, a.id, FANGS_EV_FILE_OPEN, NULL, after, sizeof(after));
	ck_assert_str_eq(after, before[1]);
	tree_text(st, a.id, 0, "passwd", after, sizeof(after));
	ck_assert_str_eq(after, before[2]);
	/* and counted from there on */
	OK(fangs_storage_events_append(st, b.id, l.items, 2));
	count_is(st, b.id, 7);

	fangs_event_list_free(&l);
	fangs_run_clear(&a);
	fangs_run_clear(&b);
	fangs_run_clear(&none);
	fangs_storage_free(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("storage-reads");
	TCase *c = tcase_create("contract");
	int n = (int)n_test_backends;

	tcase_set_timeout(c, 120);
	tcase_add_checked_fixture(c, NULL, fx_cleanup);
	tcase_add_loop_test(c, test_run_page, 0, n);
	tcase_add_loop_test(c, test_events_page_and_tree, 0, n);
	tcase_add_loop_test(c, test_event_count_exact, 0, n);
	tcase_add_loop_test(c, test_migrate_6, 0, n);
	suite_add_tcase(s, c);
	return fx_run_suite(s, "storage reads");
}
