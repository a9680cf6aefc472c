/*
 * tests/storage/test_storage.c - the storage contract: what every backend
 * must do, written against the public API only. Each test runs once per
 * backend of backends.c (the loop index selects it).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fangs/fangs.h>
#include <fangs/sys/storage_backend.h>

#include "fangs-build-config.h"
#include "fixture.h"

#if FANGS_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

/* ---- builders ---- */

static char *xs(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	ck_assert(!s || d);
	return d;
}

static void make_run(fangs_storage *st, fangs_run *run, const char *pkg, const char *ver, fangs_run_state state,
		     int64_t created_ns)
{
	memset(run, 0, sizeof(*run));
	run->package = xs(pkg);
	run->version = xs(ver);
	run->state = state;
	run->created_ns = created_ns;
	OK(fangs_storage_run_create(st, run));
	ck_assert(run->id[0]);
}

static void set_origin(fangs_origin *o, const char *pkg, const char *ver, const char *script, const char *cmd)
{
	o->package = xs(pkg);
	o->version = xs(ver);
	o->script = xs(script);
	o->command = xs(cmd);
}

static void set_ancestry(fangs_event *ev, size_t n)
{
	static const char *const comms[] = {"sh", "node", "npm", "bash", "sudo"};
	static const char *const exes[] = {"/bin/sh", "/usr/bin/node", "/usr/bin/npm", "/bin/bash", "/usr/bin/sudo"};
	ev->n_ancestry = n;
	for (size_t i = 0; i < n; i++) {
		ev->ancestry[i].pid = 100 + (int32_t)i;
		ev->ancestry[i].comm = xs(comms[i]);
		ev->ancestry[i].exe = xs(exes[i]);
	}
}

/* One event of every kind, with every field a kind carries. */
static void make_events(fangs_event_list *l)
{
	fangs_event *e;
	static const char *const argv[] = {"node", "-e", "console.log(\"h\u00e9 \u2713 'q' \\\\ \\n\")",
					   "\u65e5\u672c\u8a9e", ""};

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_FILE_OPEN;
	e->ts_ns = 1700000000123456789ULL;
	e->pid = 4242;
	e->ppid = 4241;
	e->uid = 1000;
	e->comm = xs("node");
	e->path = xs("/home/u/.npmrc");
	e->flags = FANGS_OPEN_READ | FANGS_OPEN_WRITE;
	set_ancestry(e, FANGS_ANCESTRY_MAX);
	set_origin(&e->origin, "left-pad", "1.3.0", "postinstall", "node install.js --x=\"y\"");

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_EXEC;
	e->ts_ns = 2;
	e->pid = 4243;
	e->ppid = 4242;
	e->comm = xs("sh");
	e->path = xs("/usr/bin/node");
	e->argc = sizeof(argv) / sizeof(argv[0]);
	e->argv = calloc(e->argc, sizeof(char *));
	for (size_t i = 0; i < e->argc; i++)
		e->argv[i] = xs(argv[i]);
	set_ancestry(e, 2);
	set_origin(&e->origin, "@scope/p\u00e4ck", "2.0.0-rc.1", "install", NULL);

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_NET_CONNECT;
	e->ts_ns = 3;
	e->pid = 4244;
	e->comm = xs("curl");
	e->family = FANGS_FAMILY_IPV6;
	e->addr = xs("2001:db8::7");
	e->port = 443;
	e->proto = FANGS_PROTO_TCP;
	set_ancestry(e, 1);

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_DNS_QUERY;
	e->ts_ns = 4;
	e->pid = 4245;
	e->comm = xs("node");
	e->qname = xs("evil.example");
	e->qtype = 28;
	e->family = FANGS_FAMILY_IPV4;
	e->addr = xs("127.0.0.53");
	e->port = 53;
	e->proto = FANGS_PROTO_UDP;
	set_origin(&e->origin, "left-pad", "1.3.0", "preinstall", "node -e x");

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_TLS_SNI;
	e->ts_ns = 5;
	e->pid = 4246;
	e->comm = xs("node");
	e->sni = xs("registry.example");
	e->family = FANGS_FAMILY_IPV4;
	e->addr = xs("203.0.113.7");
	e->port = 443;
	e->proto = FANGS_PROTO_TCP;

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_PROC_FORK;
	e->ts_ns = 6;
	e->pid = 4247;
	e->ppid = 4246;
	e->comm = xs("node");

	e = fangs_event_list_push(l);
	e->kind = FANGS_EV_PROC_EXIT;
	e->ts_ns = 7;
	e->pid = 4247;
	e->exit_code = 137;
	e->comm = xs("node");
}

static char *to_json(const fangs_event *ev)
{
	char *s = NULL;
	OK(fangs_event_to_json(ev, &s, NULL));
	return s;
}

/* The stored form of `ev`: the same event with its id and run. */
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

static void add_fp(fangs_fpset *s, fangs_fp_kind k, fangs_actor a, const char *v)
{
	ck_assert_int_ge(fangs_fpset_add(s, k, a, v), 0);
}

static fangs_fpset *new_set(void)
{
	fangs_fpset *s = NULL;
	OK(fangs_fpset_new(&s));
	return s;
}

/* Stores one deviation of `run` citing `ev` (may be 0 = no evidence). */
static int64_t put_deviation(fangs_storage *st, const fangs_run *run, const char *kind, fangs_severity sev, int64_t ev)
{
	fangs_deviation d = {0};
	int64_t id;
	d.run_id = xs(run->id);
	d.package = xs(run->package);
	d.kind = xs(kind);
	d.severity = sev;
	d.value = xs("v");
	if (ev) {
		d.evidence = calloc(1, sizeof(int64_t));
		d.evidence[0] = ev;
		d.n_evidence = 1;
	}
	OK(fangs_storage_deviations_put(st, &d, 1));
	id = d.id;
	fangs_deviation_clear(&d);
	return id;
}

/* ---- the contract ---- */

START_TEST(test_open_version)
{
	fangs_storage *st = fx_open(_i), *again;
	int db = -1, code = -1;
	OK(fangs_storage_schema_version(st, &db, &code));
	ck_assert_int_eq(code, fangs_storage_code_schema_version());
	ck_assert_int_eq(db, code);
	ck_assert_int_ge(code, 1);
	fangs_storage_free(st);
	/* reopening an up-to-date database changes nothing */
	again = fx_reopen();
	OK(fangs_storage_schema_version(again, &db, NULL));
	ck_assert_int_eq(db, code);
	fangs_storage_free(again);
}
END_TEST

/* Several processes opening a new database at once: one migrates, the
 * others wait for it and find the schema in place. */
START_TEST(test_concurrent_first_open)
{
	enum {
		N = 4
	};
	pid_t pids[N];
	fangs_storage *st;
	int db = 0;

	fx_create(_i);
	for (int k = 0; k < N; k++) {
		pids[k] = fork();
		ck_assert_int_ge(pids[k], 0);
		if (pids[k] == 0) {
			fangs_storage *mine = NULL;
			int rc = fangs_storage_open(&mine, &fx_opts);
			if (rc)
				fprintf(stderr, "concurrent open: %s\n", fangs_error_last());
			else
				rc = fangs_storage_package_upsert(mine, "p", 1);
			fangs_storage_free(mine);
			_exit(rc ? 1 : 0);
		}
	}
	for (int k = 0; k < N; k++) {
		int status = 0;
		ck_assert_int_eq(waitpid(pids[k], &status, 0), pids[k]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "opener %d failed", k);
	}
	st = fx_reopen();
	OK(fangs_storage_schema_version(st, &db, NULL));
	ck_assert_int_eq(db, fangs_storage_code_schema_version());
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_schema_newer_refused)
{
	fangs_storage *st = fx_open(_i), *again = NULL;
	int code = fangs_storage_code_schema_version();
	fangs_storage_options ro;
	OK(fangs_storage_package_upsert(st, "kept", 1));
	fangs_storage_free(st);

	ck_assert_int_eq(fx_backend->add_schema_version(fx_ctx, code + 1), 0);
	FAILS(FANGS_EVERSION, fangs_storage_open(&again, &fx_opts));
	ck_assert_ptr_null(again);
	MSG_HAS("newer");
	ro = fx_opts;
	ro.read_only = 1;
	FAILS(FANGS_EVERSION, fangs_storage_open(&again, &ro));
	ck_assert_ptr_null(again);
}
END_TEST

START_TEST(test_read_only)
{
	fangs_storage *st = fx_open(_i), *ro = NULL;
	fangs_storage_options o = fx_opts;
	fangs_package p;
	OK(fangs_storage_package_upsert(st, "a", 1));
	o.read_only = 1;
	OK(fangs_storage_open(&ro, &o));
	OK(fangs_storage_package_get(ro, "a", &p));
	ck_assert_int_eq(p.watched, 1);
	fangs_package_clear(&p);
	ck_assert_int_lt(fangs_storage_package_upsert(ro, "b", 1), 0);
	fangs_storage_free(ro);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_packages)
{
	fangs_storage *st = fx_open(_i);
	fangs_package p;
	fangs_package_list l = {0};

	OK(fangs_storage_package_upsert(st, "b-pkg", 1));
	OK(fangs_storage_package_upsert(st, "a-pkg", 0));
	OK(fangs_storage_package_get(st, "b-pkg", &p));
	ck_assert_str_eq(p.name, "b-pkg");
	ck_assert_int_eq(p.watched, 1);
	ck_assert_ptr_null(p.last_seen_version);
	ck_assert_int_gt(p.created_ns, 0);
	ck_assert_int_eq(p.run_count, 0);
	ck_assert_int_eq(p.baseline_size, 0);
	fangs_package_clear(&p);

	/* -1 keeps the flag, 0/1 set it */
	OK(fangs_storage_package_upsert(st, "b-pkg", -1));
	OK(fangs_storage_package_get(st, "b-pkg", &p));
	ck_assert_int_eq(p.watched, 1);
	fangs_package_clear(&p);
	OK(fangs_storage_package_set_last_seen(st, "b-pkg", "1.2.3"));
	OK(fangs_storage_package_get(st, "b-pkg", &p));
	ck_assert_str_eq(p.last_seen_version, "1.2.3");
	fangs_package_clear(&p);

	OK(fangs_storage_package_list(st, 0, &l));
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].name, "a-pkg");
	ck_assert_str_eq(l.items[1].name, "b-pkg");
	fangs_package_list_free(&l);
	OK(fangs_storage_package_list(st, 1, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].name, "b-pkg");
	fangs_package_list_free(&l);

	OK(fangs_storage_package_upsert(st, "b-pkg", 0));
	OK(fangs_storage_package_list(st, 1, &l));
	ck_assert_uint_eq(l.count, 0);
	fangs_package_list_free(&l);

	FAILS(FANGS_ENOTFOUND, fangs_storage_package_get(st, "nope", &p));
	MSG_HAS("nope");
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_set_last_seen(st, "nope", "1.0.0"));
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_reset(st, "nope"));
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_remove(st, "nope"));
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_releases)
{
	fangs_storage *st = fx_open(_i);
	fangs_release_list l = {0};
	fangs_package p;
	fangs_run run;

	OK(fangs_storage_release_add(st, "pkg", "1.0.0"));
	OK(fangs_storage_release_add(st, "pkg", "1.1.0"));
	OK(fangs_storage_release_add(st, "pkg", "1.0.0")); /* idempotent */
	OK(fangs_storage_release_add(st, "other", "9.0.0"));
	OK(fangs_storage_package_get(st, "pkg", &p)); /* created, unwatched */
	ck_assert_int_eq(p.watched, 0);
	fangs_package_clear(&p);

	make_run(st, &run, "pkg", "1.1.0", FANGS_RUN_SUCCEEDED, 0);
	fangs_run_clear(&run);

	OK(fangs_storage_release_list(st, "pkg", &l));
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].version, "1.1.0"); /* newest first */
	ck_assert_str_eq(l.items[0].package, "pkg");
	ck_assert_int_eq(l.items[0].run_count, 1);
	ck_assert_str_eq(l.items[1].version, "1.0.0");
	ck_assert_int_eq(l.items[1].run_count, 0);
	ck_assert_int_gt(l.items[1].first_seen_ns, 0);
	ck_assert_int_le(l.items[1].first_seen_ns, l.items[0].first_seen_ns);
	fangs_release_list_free(&l);

	OK(fangs_storage_release_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 3);
	ck_assert_str_eq(l.items[0].package, "other");
	fangs_release_list_free(&l);
	fangs_storage_free(st);
}
END_TEST

static void fill_run_fields(fangs_run *r, int variant)
{
	free(r->runner);
	free(r->error);
	free(r->install_output);
	free(r->sandbox);
	free(r->network);
	r->state = variant ? FANGS_RUN_FAILED : FANGS_RUN_RUNNING;
	r->is_baseline = variant;
	r->review = variant ? FANGS_REVIEW_PENDING : FANGS_REVIEW_NONE;
	r->events_emitted = 1000 + variant;
	r->events_dropped = 3 + variant;
	r->duration_ns = 123456789 + variant;
	r->runner = xs(variant ? "runner-2" : "local");
	r->has_exit_code = 1;
	r->exit_code = variant ? 0 : -2;
	r->error = variant ? xs("npm ERR! code E404 \u2013 \"not found\"") : NULL;
	r->install_output = xs(variant ? "line1\nline2 \u00e9\n" : "");
	r->sandbox = xs(variant ? "docker" : "ns");
	r->network = xs(variant ? "bridge" : "none");
	r->started_ns = 1700000000000000000LL + variant;
	r->finished_ns = 1700000000500000000LL + variant;
}

static void assert_run_eq(const fangs_run *a, const fangs_run *b)
{
#define SEQ(f) \
	ck_assert_msg((a->f == NULL && b->f == NULL) || (a->f && b->f && strcmp(a->f, b->f) == 0), \
		      #f ": '%s' vs '%s'", a->f ? a->f : "(null)", b->f ? b->f : "(null)")
	ck_assert_str_eq(a->id, b->id);
	SEQ(package);
	SEQ(version);
	SEQ(runner);
	SEQ(error);
	SEQ(install_output);
	SEQ(sandbox);
	SEQ(network);
#undef SEQ
	ck_assert_int_eq(a->state, b->state);
	ck_assert_int_eq(a->is_baseline, b->is_baseline);
	ck_assert_int_eq(a->review, b->review);
	ck_assert_int_eq(a->events_emitted, b->events_emitted);
	ck_assert_int_eq(a->events_dropped, b->events_dropped);
	ck_assert_int_eq(a->duration_ns, b->duration_ns);
	ck_assert_int_eq(a->has_exit_code, b->has_exit_code);
	ck_assert_int_eq(a->exit_code, b->exit_code);
	ck_assert_int_eq(a->created_ns, b->created_ns);
	ck_assert_int_eq(a->started_ns, b->started_ns);
	ck_assert_int_eq(a->finished_ns, b->finished_ns);
}

START_TEST(test_runs)
{
	fangs_storage *st = fx_open(_i);
	fangs_run run = {0}, got, dup;
	fangs_package p;

	run.package = xs("pkg");
	run.version = xs("1.0.0");
	fill_run_fields(&run, 0);
	run.has_exit_code = 0;
	run.exit_code = 0;
	OK(fangs_storage_run_create(st, &run));
	ck_assert(run.id[0] == 'r');
	ck_assert_int_gt(run.created_ns, 0);

	OK(fangs_storage_run_get(st, run.id, &got));
	assert_run_eq(&run, &got);
	ck_assert_int_eq(got.has_exit_code, 0);
	ck_assert_int_eq(got.event_count, 0);
	ck_assert_int_eq(got.deviation_count, 0);
	fangs_run_clear(&got);

	/* the run created its package (unwatched) and release */
	OK(fangs_storage_package_get(st, "pkg", &p));
	ck_assert_int_eq(p.watched, 0);
	ck_assert_int_eq(p.run_count, 1);
	fangs_package_clear(&p);

	/* every mutable field is written */
	fill_run_fields(&run, 1);
	OK(fangs_storage_run_update(st, &run));
	OK(fangs_storage_run_get(st, run.id, &got));
	assert_run_eq(&run, &got);
	ck_assert_int_eq(got.exit_code, 0);
	ck_assert_int_eq(got.has_exit_code, 1);
	fangs_run_clear(&got);

	/* ids given by the caller are kept; taken ones are refused */
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.id, sizeof(dup.id), "%s", run.id);
	dup.package = xs("pkg");
	dup.version = xs("1.0.0");
	FAILS(FANGS_EEXISTS, fangs_storage_run_create(st, &dup));
	MSG_HAS(run.id);
	snprintf(dup.id, sizeof(dup.id), "my-run-1");
	dup.created_ns = 42;
	OK(fangs_storage_run_create(st, &dup));
	OK(fangs_storage_run_get(st, "my-run-1", &got));
	ck_assert_int_eq(got.created_ns, 42);
	fangs_run_clear(&got);
	fangs_run_clear(&dup);

	/* an install's output and a reason quoting it may hold bytes that are
	 * not UTF-8: the run is stored all the same (PostgreSQL refuses such
	 * text) and reads back as the same text once made UTF-8 */
	free(run.install_output);
	free(run.error);
	run.install_output = xs("out \xff\xfe done");
	run.error = xs("npm exited with status 1: \xc0\xa3");
	OK(fangs_storage_run_update(st, &run));
	OK(fangs_storage_run_get(st, run.id, &got));
	{
		char *out = fangs_utf8_clean(got.install_output, strlen(got.install_output), NULL);
		char *err = fangs_utf8_clean(got.error, strlen(got.error), NULL);
		ck_assert_str_eq(out, "out \xef\xbf\xbd\xef\xbf\xbd done");
		ck_assert_str_eq(err, "npm exited with status 1: \xef\xbf\xbd\xef\xbf\xbd");
		free(out);
		free(err);
	}
	fangs_run_clear(&got);

	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, "r-unknown", &got));
	MSG_HAS("r-unknown");
	snprintf(run.id, sizeof(run.id), "r-unknown");
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_update(st, &run));
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_run_list)
{
	fangs_storage *st = fx_open(_i);
	fangs_run r[4];
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list l = {0};

	make_run(st, &r[0], "a", "1.0.0", FANGS_RUN_SUCCEEDED, 1000);
	make_run(st, &r[1], "a", "1.1.0", FANGS_RUN_FAILED, 2000);
	make_run(st, &r[2], "b", "1.0.0", FANGS_RUN_SUCCEEDED, 3000);
	make_run(st, &r[3], "a", "1.1.0", FANGS_RUN_SUCCEEDED, 4000);
	r[1].review = FANGS_REVIEW_PENDING;
	OK(fangs_storage_run_update(st, &r[1]));
	OK(fangs_storage_baseline_add_run(st, "a", r[0].id));

	OK(fangs_storage_run_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 4);
	ck_assert_str_eq(l.items[0].id, r[3].id); /* newest first */
	ck_assert_str_eq(l.items[3].id, r[0].id);
	fangs_run_list_free(&l);

	f.package = "a";
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 3);
	fangs_run_list_free(&l);
	f.version = "1.1.0";
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 2);
	fangs_run_list_free(&l);
	f.state = FANGS_RUN_FAILED;
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].id, r[1].id);
	fangs_run_list_free(&l);

	f = (fangs_run_filter)FANGS_RUN_FILTER_INIT;
	f.pending_only = 1;
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].id, r[1].id);
	fangs_run_list_free(&l);

	f = (fangs_run_filter)FANGS_RUN_FILTER_INIT;
	f.baseline_only = 1;
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].id, r[0].id);
	ck_assert_int_eq(l.items[0].is_baseline, 1);
	fangs_run_list_free(&l);

	f = (fangs_run_filter)FANGS_RUN_FILTER_INIT;
	f.limit = 2;
	OK(fangs_storage_run_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[1].id, r[2].id);
	fangs_run_list_free(&l);

	for (int i = 0; i < 4; i++)
		fangs_run_clear(&r[i]);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_events)
{
	fangs_storage *st = fx_open(_i);
	fangs_event_list in = {0}, out = {0}, some = {0};
	fangs_run run, got;
	int64_t ids[4];

	make_run(st, &run, "pkg", "1.0.0", FANGS_RUN_RUNNING, 0);
	make_events(&in);
	OK(fangs_storage_events_append(st, run.id, in.items, in.count));
	for (size_t i = 0; i < in.count; i++) {
		ck_assert_int_gt(in.items[i].id, 0);
		if (i)
			ck_assert_int_gt(in.items[i].id, in.items[i - 1].id);
	}
	/* a second batch goes after the first */
	OK(fangs_storage_events_append(st, run.id, in.items, 2));
	ck_assert_int_gt(in.items[0].id, in.items[in.count - 1].id);

	OK(fangs_storage_events_list(st, run.id, &out));
	ck_assert_uint_eq(out.count, in.count + 2);
	for (size_t i = 2; i < in.count; i++) {
		ck_assert_int_eq(out.items[i].id, in.items[i].id);
		assert_same_event(&in.items[i], run.id, &out.items[i]);
	}
	assert_same_event(&in.items[0], run.id, &out.items[in.count]);
	ck_assert_str_eq(out.items[1].argv[2], "console.log(\"h\u00e9 \u2713 'q' \\\\ \\n\")");
	ck_assert_str_eq(out.items[1].argv[3], "\u65e5\u672c\u8a9e");
	ck_assert_str_eq(out.items[0].origin.command, "node install.js --x=\"y\"");
	ck_assert_uint_eq(out.items[0].n_ancestry, FANGS_ANCESTRY_MAX);
	ck_assert_str_eq(out.items[0].ancestry[4].exe, "/usr/bin/sudo");

	/* by id, in the asked order, skipping unknown ids */
	ids[0] = in.items[3].id;
	ids[1] = 999999;
	ids[2] = out.items[2].id;
	ids[3] = out.items[0].id;
	OK(fangs_storage_events_get(st, ids, 4, &some));
	ck_assert_uint_eq(some.count, 3);
	ck_assert_int_eq(some.items[0].id, ids[0]);
	ck_assert_int_eq(some.items[1].id, ids[2]);
	ck_assert_int_eq(some.items[2].id, ids[3]);
	assert_same_event(&in.items[3], run.id, &some.items[0]);
	fangs_event_list_free(&some);

	OK(fangs_storage_run_get(st, run.id, &got));
	ck_assert_int_eq(got.event_count, (int64_t)in.count + 2);
	fangs_run_clear(&got);

	FAILS(FANGS_ENOTFOUND, fangs_storage_events_append(st, "r-nope", in.items, 1));
	MSG_HAS("r-nope");
	FAILS(FANGS_ENOTFOUND, fangs_storage_events_list(st, "r-nope", &some));
	in.items[1].kind = FANGS_EV_NONE;
	FAILS(FANGS_EINVAL, fangs_storage_events_append(st, run.id, in.items, in.count));
	MSG_HAS("event 1");

	fangs_event_list_free(&in);
	fangs_event_list_free(&out);
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_event_batches)
{
	fangs_storage *st = fx_open(_i);
	fangs_event_list in = {0};
	fangs_run run, got;
	int dup = -1;

	make_run(st, &run, "pkg", "1.0.0", FANGS_RUN_RUNNING, 0);
	make_events(&in);
	OK(fangs_storage_ping(st));
	OK(fangs_storage_events_append_batch(st, run.id, 1, in.items, in.count, &dup));
	ck_assert_int_eq(dup, 0);
	ck_assert_int_gt(in.items[0].id, 0);
	/* the same number again: nothing stored, no ids */
	OK(fangs_storage_events_append_batch(st, run.id, 1, in.items, in.count, &dup));
	ck_assert_int_eq(dup, 1);
	ck_assert_int_eq(in.items[0].id, 0);
	OK(fangs_storage_events_append_batch(st, run.id, 2, in.items, 2, &dup));
	ck_assert_int_eq(dup, 0);
	/* a batch rolled back with its transaction was not received */
	OK(fangs_storage_begin(st));
	OK(fangs_storage_events_append_batch(st, run.id, 3, in.items, 1, &dup));
	ck_assert_int_eq(dup, 0);
	OK(fangs_storage_events_append_batch(st, run.id, 3, in.items, 1, &dup));
	ck_assert_int_eq(dup, 1);
	OK(fangs_storage_rollback(st));
	OK(fangs_storage_events_append_batch(st, run.id, 3, in.items, 1, NULL));
	OK(fangs_storage_run_get(st, run.id, &got));
	ck_assert_int_eq(got.event_count, (int64_t)in.count + 3);
	ck_assert_ptr_null(got.analysis_error);
	/* a run whose analysis failed says why, until it is judged */
	got.analysis_error = strdup("analysis failed: disk full");
	OK(fangs_storage_run_update(st, &got));
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, run.id, &got));
	ck_assert_str_eq(got.analysis_error, "analysis failed: disk full");
	free(got.analysis_error);
	got.analysis_error = NULL;
	OK(fangs_storage_run_update(st, &got));
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, run.id, &got));
	ck_assert_ptr_null(got.analysis_error);
	fangs_run_clear(&got);

	FAILS(FANGS_ENOTFOUND, fangs_storage_events_append_batch(st, "r-nope", 1, in.items, 1, &dup));
	FAILS(FANGS_EINVAL, fangs_storage_events_append_batch(st, run.id, 0, in.items, 1, &dup));
	/* a package reset forgets its batches with its runs: a run made again
	 * under the same id starts over */
	OK(fangs_storage_package_reset(st, "pkg"));
	{
		fangs_run again = {0};
		memcpy(again.id, run.id, sizeof(again.id));
		again.package = "pkg";
		again.version = "1.0.0";
		again.state = FANGS_RUN_RUNNING;
		OK(fangs_storage_run_create(st, &again));
	}
	OK(fangs_storage_events_append_batch(st, run.id, 1, in.items, 1, &dup));
	ck_assert_int_eq(dup, 0);
	fangs_event_list_free(&in);
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

#if FANGS_HAVE_POSTGRES
/* Ends every other connection to the test database, as a server restart
 * does to the storage handle's. */
static void drop_other_connections(void)
{
	PGconn *c = PQconnectdb(fx_opts.postgres_dsn);
	PGresult *r;
	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		      " WHERE datname = current_database() AND pid <> pg_backend_pid()");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_ge(PQntuples(r), 1);
	PQclear(r);
	PQfinish(c);
}
#endif

START_TEST(test_connection_lost)
{
	fangs_storage *st = fx_open(_i);
	fangs_package p;

	if (strcmp(fangs_storage_backend_name(st), "postgres") != 0) {
		/* a file has no connection to lose */
		OK(fangs_storage_ping(st));
		fangs_storage_free(st);
		return;
	}
#if FANGS_HAVE_POSTGRES
	OK(fangs_storage_package_upsert(st, "a", 1));
	/* outside a transaction: connected again before the next call */
	drop_other_connections();
	OK(fangs_storage_package_get(st, "a", &p));
	fangs_package_clear(&p);
	drop_other_connections();
	OK(fangs_storage_ping(st));
	/* inside one: lost, every call fails until the rollback */
	OK(fangs_storage_begin(st));
	OK(fangs_storage_package_upsert(st, "b", 1));
	drop_other_connections();
	FAILS(FANGS_ENETWORK, fangs_storage_package_upsert(st, "c", 1));
	MSG_HAS("connection");
	FAILS(FANGS_ENETWORK, fangs_storage_package_get(st, "a", &p));
	FAILS(FANGS_ENETWORK, fangs_storage_commit(st));
	OK(fangs_storage_rollback(st));
	/* nothing of it was stored; the handle works again */
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_get(st, "b", &p));
	OK(fangs_storage_begin(st));
	OK(fangs_storage_package_upsert(st, "d", 1));
	OK(fangs_storage_commit(st));
	OK(fangs_storage_package_get(st, "d", &p));
	fangs_package_clear(&p);
#endif
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_transactions)
{
	fangs_storage *st = fx_open(_i);
	fangs_event_list evs = {0};
	fangs_run run, kept, got;
	fangs_package p;
	fangs_deviation bad = {0};
	fangs_deviation_list dl = {0};
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	int64_t missing = 987654;

	/* rolled back: nothing remains, not even the implied package */
	OK(fangs_storage_begin(st));
	FAILS(FANGS_EINVAL, fangs_storage_begin(st));
	make_run(st, &run, "ghost", "1.0.0", FANGS_RUN_RUNNING, 0);
	make_events(&evs);
	OK(fangs_storage_events_append(st, run.id, evs.items, evs.count));
	OK(fangs_storage_rollback(st));
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, run.id, &got));
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_get(st, "ghost", &p));
	FAILS(FANGS_EINVAL, fangs_storage_commit(st));
	FAILS(FANGS_EINVAL, fangs_storage_rollback(st));
	fangs_run_clear(&run);

	/* committed: everything lands; a failed call inside leaves no trace
	 * and does not undo the calls before it */
	OK(fangs_storage_begin(st));
	make_run(st, &kept, "real", "1.0.0", FANGS_RUN_RUNNING, 0);
	bad.run_id = xs(kept.id);
	bad.package = xs("real");
	bad.kind = xs("net_new_dns");
	bad.evidence = &missing;
	bad.n_evidence = 1;
	FAILS(FANGS_ENOTFOUND, fangs_storage_deviations_put(st, &bad, 1));
	ck_assert_int_eq(bad.id, 0);
	bad.evidence = NULL;
	bad.n_evidence = 0;
	OK(fangs_storage_events_append(st, kept.id, evs.items, 2));
	OK(fangs_storage_commit(st));
	OK(fangs_storage_run_get(st, kept.id, &got));
	ck_assert_int_eq(got.event_count, 2);
	ck_assert_int_eq(got.deviation_count, 0);
	fangs_run_clear(&got);
	df.run_id = kept.id;
	OK(fangs_storage_deviations_list(st, &df, &dl));
	ck_assert_uint_eq(dl.count, 0);

	/* a failing call outside a transaction leaves no partial batch */
	evs.items[0].id = 0;
	FAILS(FANGS_ENOTFOUND, fangs_storage_deviations_put(st,
							    &(fangs_deviation){.run_id = kept.id,
									       .package = kept.package,
									       .kind = "k",
									       .evidence = &missing,
									       .n_evidence = 1},
							    1));
	OK(fangs_storage_deviations_list(st, &df, &dl));
	ck_assert_uint_eq(dl.count, 0);

	fangs_deviation_clear(&bad);
	fangs_event_list_free(&evs);
	fangs_run_clear(&kept);
	fangs_storage_free(st);
}
END_TEST

static int count_fp(const fangs_fingerprint *fp, void *user)
{
	(void)fp;
	(*(int *)user)++;
	return 0;
}

START_TEST(test_fingerprints)
{
	fangs_storage *st = fx_open(_i);
	fangs_fpset *a = new_set(), *got = new_set();
	fangs_run run;
	int n = 0;

	make_run(st, &run, "pkg", "1.0.0", FANGS_RUN_SUCCEEDED, 0);
	add_fp(a, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/etc/passwd");
	add_fp(a, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "/etc/passwd");
	add_fp(a, FANGS_FP_DNS, FANGS_ACTOR_SCRIPT, "evil.example");
	add_fp(a, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "203.0.113.7:443/tcp");
	add_fp(a, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/\u00e9\"x'");
	OK(fangs_storage_run_fingerprints_put(st, run.id, a));
	OK(fangs_storage_run_fingerprints_get(st, run.id, got));
	ck_assert_uint_eq(fangs_fpset_size(got), 5);
	ck_assert(fangs_fpset_contains(got, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/etc/passwd"));
	ck_assert(fangs_fpset_contains(got, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "/etc/passwd"));
	ck_assert(fangs_fpset_contains(got, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/\u00e9\"x'"));
	ck_assert(!fangs_fpset_contains(got, FANGS_FP_DNS, FANGS_ACTOR_NPM, "evil.example"));
	OK(fangs_fpset_foreach(got, count_fp, &n));
	ck_assert_int_eq(n, 5);
	fangs_fpset_free(got);

	/* put replaces */
	fangs_fpset_free(a);
	a = new_set();
	add_fp(a, FANGS_FP_SNI, FANGS_ACTOR_NPM, "registry.example");
	OK(fangs_storage_run_fingerprints_put(st, run.id, a));
	got = new_set();
	OK(fangs_storage_run_fingerprints_get(st, run.id, got));
	ck_assert_uint_eq(fangs_fpset_size(got), 1);
	ck_assert(fangs_fpset_contains(got, FANGS_FP_SNI, FANGS_ACTOR_NPM, "registry.example"));

	FAILS(FANGS_ENOTFOUND, fangs_storage_run_fingerprints_put(st, "r-nope", a));
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_fingerprints_get(st, "r-nope", got));
	fangs_fpset_free(a);
	fangs_fpset_free(got);
	fangs_run_clear(&run);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_baseline)
{
	fangs_storage *st = fx_open(_i);
	fangs_fpset *s1 = new_set(), *s2 = new_set(), *s3 = new_set(), *base = new_set();
	fangs_run r1, r2, r3, other, got;
	fangs_package p;
	fangs_event_list evs = {0};
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list dl = {0};

	make_run(st, &r1, "pkg", "1.0.0", FANGS_RUN_SUCCEEDED, 1);
	make_run(st, &r2, "pkg", "1.1.0", FANGS_RUN_SUCCEEDED, 2);
	make_run(st, &r3, "pkg", "1.2.0", FANGS_RUN_SUCCEEDED, 3);
	make_run(st, &other, "other", "1.0.0", FANGS_RUN_SUCCEEDED, 4);
	add_fp(s1, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/a");
	add_fp(s1, FANGS_FP_DNS, FANGS_ACTOR_SCRIPT, "x.example");
	add_fp(s2, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/a");
	add_fp(s2, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, "/b");
	add_fp(s3, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "198.51.100.1:80/tcp");
	OK(fangs_storage_run_fingerprints_put(st, r1.id, s1));
	OK(fangs_storage_run_fingerprints_put(st, r2.id, s2));
	OK(fangs_storage_run_fingerprints_put(st, r3.id, s3));

	OK(fangs_storage_baseline_get(st, "pkg", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 0);

	/* add: union */
	OK(fangs_storage_baseline_add_run(st, "pkg", r1.id));
	OK(fangs_storage_baseline_add_run(st, "pkg", r2.id));
	OK(fangs_storage_baseline_get(st, "pkg", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 3);
	ck_assert(fangs_fpset_contains(base, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, "/b"));
	ck_assert(fangs_fpset_contains(base, FANGS_FP_DNS, FANGS_ACTOR_SCRIPT, "x.example"));
	OK(fangs_storage_run_get(st, r2.id, &got));
	ck_assert_int_eq(got.is_baseline, 1);
	fangs_run_clear(&got);
	OK(fangs_storage_package_get(st, "pkg", &p));
	ck_assert_int_eq(p.baseline_size, 3);
	ck_assert_int_eq(p.run_count, 3);
	fangs_package_clear(&p);

	FAILS(FANGS_EINVAL, fangs_storage_baseline_add_run(st, "pkg", other.id));
	MSG_HAS("other");
	FAILS(FANGS_ENOTFOUND, fangs_storage_baseline_add_run(st, "pkg", "r-nope"));
	FAILS(FANGS_EINVAL, fangs_storage_baseline_rebuild(st, "other", r3.id));

	/* rebuild: the run's fingerprints only, it alone is baseline, its
	 * findings are gone, it is marked promoted */
	make_events(&evs);
	OK(fangs_storage_events_append(st, r3.id, evs.items, evs.count));
	put_deviation(st, &r3, "net_new_connect", FANGS_SEV_HIGH, evs.items[2].id);
	r3.review = FANGS_REVIEW_PENDING;
	OK(fangs_storage_run_update(st, &r3));
	OK(fangs_storage_baseline_rebuild(st, "pkg", r3.id));
	fangs_fpset_free(base);
	base = new_set();
	OK(fangs_storage_baseline_get(st, "pkg", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 1);
	ck_assert(fangs_fpset_contains(base, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "198.51.100.1:80/tcp"));
	OK(fangs_storage_run_get(st, r3.id, &got));
	ck_assert_int_eq(got.is_baseline, 1);
	ck_assert_int_eq(got.review, FANGS_REVIEW_PROMOTED);
	ck_assert_int_eq(got.deviation_count, 0);
	ck_assert_int_eq(got.event_count, (int64_t)evs.count);
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, r1.id, &got));
	ck_assert_int_eq(got.is_baseline, 0);
	fangs_run_clear(&got);
	df.run_id = r3.id;
	OK(fangs_storage_deviations_list(st, &df, &dl));
	ck_assert_uint_eq(dl.count, 0);

	/* other packages are untouched */
	fangs_fpset_free(base);
	base = new_set();
	OK(fangs_storage_baseline_get(st, "other", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 0);

	fangs_event_list_free(&evs);
	fangs_fpset_free(s1);
	fangs_fpset_free(s2);
	fangs_fpset_free(s3);
	fangs_fpset_free(base);
	fangs_run_clear(&r1);
	fangs_run_clear(&r2);
	fangs_run_clear(&r3);
	fangs_run_clear(&other);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_deviations)
{
	fangs_storage *st = fx_open(_i);
	fangs_run ra, rb, got;
	fangs_event_list evs = {0};
	fangs_deviation d[3];
	fangs_deviation one;
	fangs_deviation_list l = {0};
	fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;

	make_run(st, &ra, "pkg", "2.0.0", FANGS_RUN_SUCCEEDED, 0);
	make_run(st, &rb, "zzz", "1.0.0", FANGS_RUN_SUCCEEDED, 0);
	make_events(&evs);
	OK(fangs_storage_events_append(st, ra.id, evs.items, evs.count));

	memset(d, 0, sizeof(d));
	d[0].run_id = xs(ra.id);
	d[0].package = xs("pkg");
	d[0].kind = xs("fs_cred_read");
	d[0].severity = FANGS_SEV_CRITICAL;
	d[0].value = xs("~/.npmrc");
	d[0].actor = FANGS_ACTOR_SCRIPT;
	d[0].description = xs("reads \"credentials\" \u26a0");
	set_origin(&d[0].origin, "left-pad", "1.3.0", "postinstall", "node install.js");
	d[0].command = xs("node install.js --steal");
	d[0].evidence = calloc(2, sizeof(int64_t));
	d[0].evidence[0] = evs.items[3].id;
	d[0].evidence[1] = evs.items[0].id;
	d[0].n_evidence = 2;
	d[1].run_id = xs(ra.id);
	d[1].package = xs("pkg");
	d[1].kind = xs("rule:curl-pipe-sh");
	d[1].severity = FANGS_SEV_LOW;
	d[1].created_ns = 77;
	d[2].run_id = xs(rb.id);
	d[2].package = xs("zzz");
	d[2].kind = xs("net_new_dns");
	d[2].severity = FANGS_SEV_MEDIUM;
	OK(fangs_storage_deviations_put(st, d, 3));
	ck_assert_int_gt(d[0].id, 0);
	ck_assert_int_gt(d[1].id, d[0].id);
	ck_assert_int_gt(d[0].created_ns, 0);

	OK(fangs_storage_deviation_get(st, d[0].id, &one));
	ck_assert_int_eq(one.id, d[0].id);
	ck_assert_str_eq(one.run_id, ra.id);
	ck_assert_str_eq(one.package, "pkg");
	ck_assert_str_eq(one.kind, "fs_cred_read");
	ck_assert_int_eq(one.severity, FANGS_SEV_CRITICAL);
	ck_assert_str_eq(one.value, "~/.npmrc");
	ck_assert_int_eq(one.actor, FANGS_ACTOR_SCRIPT);
	ck_assert_str_eq(one.description, "reads \"credentials\" \u26a0");
	ck_assert_str_eq(one.origin.package, "left-pad");
	ck_assert_str_eq(one.origin.version, "1.3.0");
	ck_assert_str_eq(one.origin.script, "postinstall");
	ck_assert_str_eq(one.origin.command, "node install.js");
	ck_assert_str_eq(one.command, "node install.js --steal");
	ck_assert_int_eq(one.created_ns, d[0].created_ns);
	ck_assert_uint_eq(one.n_evidence, 2);
	ck_assert_int_eq(one.evidence[0], evs.items[3].id); /* order kept */
	ck_assert_int_eq(one.evidence[1], evs.items[0].id);
	fangs_deviation_clear(&one);
	OK(fangs_storage_deviation_get(st, d[1].id, &one));
	ck_assert_ptr_null(one.value);
	ck_assert_ptr_null(one.origin.package);
	ck_assert_uint_eq(one.n_evidence, 0);
	ck_assert_int_eq(one.created_ns, 77);
	fangs_deviation_clear(&one);
	FAILS(FANGS_ENOTFOUND, fangs_storage_deviation_get(st, 424242, &one));

	OK(fangs_storage_deviations_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 3);
	ck_assert_int_eq(l.items[0].id, d[2].id); /* newest first */
	ck_assert_int_eq(l.items[2].id, d[0].id);
	ck_assert_uint_eq(l.items[2].n_evidence, 2);
	fangs_deviation_list_free(&l);
	f.run_id = ra.id;
	OK(fangs_storage_deviations_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 2);
	fangs_deviation_list_free(&l);
	f.min_severity = FANGS_SEV_MEDIUM;
	OK(fangs_storage_deviations_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].kind, "fs_cred_read");
	fangs_deviation_list_free(&l);
	f = (fangs_deviation_filter)FANGS_DEVIATION_FILTER_INIT;
	f.package = "zzz";
	OK(fangs_storage_deviations_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].run_id, rb.id);
	fangs_deviation_list_free(&l);
	f = (fangs_deviation_filter)FANGS_DEVIATION_FILTER_INIT;
	f.limit = 1;
	OK(fangs_storage_deviations_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	fangs_deviation_list_free(&l);

	OK(fangs_storage_run_get(st, ra.id, &got));
	ck_assert_int_eq(got.deviation_count, 2);
	ck_assert_int_eq(got.max_severity, FANGS_SEV_CRITICAL);
	fangs_run_clear(&got);

	OK(fangs_storage_deviations_clear(st, ra.id));
	OK(fangs_storage_run_get(st, ra.id, &got));
	ck_assert_int_eq(got.deviation_count, 0);
	ck_assert_int_eq(got.max_severity, FANGS_SEV_INFO);
	fangs_run_clear(&got);
	OK(fangs_storage_deviations_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 1);
	fangs_deviation_list_free(&l);
	FAILS(FANGS_ENOTFOUND, fangs_storage_deviations_clear(st, "r-nope"));

	/* deviations of an unknown run are refused */
	fangs_deviation_clear(&d[2]);
	d[2].run_id = xs("r-nope");
	d[2].package = xs("zzz");
	d[2].kind = xs("x");
	FAILS(FANGS_ENOTFOUND, fangs_storage_deviations_put(st, &d[2], 1));
	MSG_HAS("r-nope");

	for (int i = 0; i < 3; i++)
		fangs_deviation_clear(&d[i]);
	fangs_event_list_free(&evs);
	fangs_run_clear(&ra);
	fangs_run_clear(&rb);
	fangs_storage_free(st);
}
END_TEST

static void allow(fangs_storage *st, fangs_allow_kind k, const char *v, const char *pkg, const char *note, int64_t *id)
{
	fangs_allow_entry e = {0};
	e.kind = k;
	e.value = (char *)v;
	e.package = (char *)pkg;
	e.note = (char *)note;
	OK(fangs_storage_allow_add(st, &e));
	ck_assert_int_gt(e.id, 0);
	ck_assert_int_gt(e.created_ns, 0);
	if (id)
		*id = e.id;
}

START_TEST(test_allowlists)
{
	fangs_storage *st = fx_open(_i);
	fangs_allow_list l = {0};
	fangs_allow_entry bad = {0};
	int64_t g, p;

	allow(st, FANGS_ALLOW_CIDR, "10.0.0.0/8", NULL, "internal mirror", &g);
	allow(st, FANGS_ALLOW_PATH, "/usr/share/zoneinfo/", "pkg", NULL, &p);
	allow(st, FANGS_ALLOW_SNI, "registry.example", "other", "n", NULL);
	allow(st, FANGS_ALLOW_DNS, ".example.org", NULL, NULL, NULL);
	allow(st, FANGS_ALLOW_EXEC, "/usr/bin/git", "pkg", NULL, NULL);

	OK(fangs_storage_allow_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 5);
	ck_assert_int_eq(l.items[0].id, g);
	ck_assert_int_eq(l.items[0].kind, FANGS_ALLOW_CIDR);
	ck_assert_str_eq(l.items[0].value, "10.0.0.0/8");
	ck_assert_ptr_null(l.items[0].package);
	ck_assert_str_eq(l.items[0].note, "internal mirror");
	ck_assert_str_eq(l.items[1].package, "pkg");
	ck_assert_ptr_null(l.items[1].note);
	fangs_allow_list_free(&l);

	OK(fangs_storage_allow_list(st, "pkg", &l)); /* global + pkg's own */
	ck_assert_uint_eq(l.count, 4);
	for (size_t i = 0; i < l.count; i++)
		ck_assert(!l.items[i].package || strcmp(l.items[i].package, "pkg") == 0);
	fangs_allow_list_free(&l);

	OK(fangs_storage_allow_remove(st, p));
	FAILS(FANGS_ENOTFOUND, fangs_storage_allow_remove(st, p));
	OK(fangs_storage_allow_list(st, "pkg", &l));
	ck_assert_uint_eq(l.count, 3);
	fangs_allow_list_free(&l);

	bad.kind = FANGS_ALLOW_CIDR;
	bad.value = "10.0.0.0/33";
	FAILS(FANGS_EINVAL, fangs_storage_allow_add(st, &bad));
	MSG_HAS("10.0.0.0/33");
	bad.kind = FANGS_ALLOW_PATH;
	bad.value = "relative/path";
	FAILS(FANGS_EINVAL, fangs_storage_allow_add(st, &bad));
	MSG_HAS("absolute");
	ck_assert_int_eq(bad.id, 0);
	fangs_storage_free(st);
}
END_TEST

/* A package with everything a scan leaves behind. */
static void populate(fangs_storage *st, const char *pkg, fangs_run *run)
{
	fangs_event_list evs = {0};
	fangs_fpset *s = new_set();
	make_run(st, run, pkg, "1.0.0", FANGS_RUN_SUCCEEDED, 0);
	make_events(&evs);
	OK(fangs_storage_events_append(st, run->id, evs.items, evs.count));
	add_fp(s, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/x");
	OK(fangs_storage_run_fingerprints_put(st, run->id, s));
	OK(fangs_storage_baseline_add_run(st, pkg, run->id));
	put_deviation(st, run, "fs_new_read", FANGS_SEV_MEDIUM, evs.items[0].id);
	allow(st, FANGS_ALLOW_PATH, "/opt/", pkg, NULL, NULL);
	fangs_fpset_free(s);
	fangs_event_list_free(&evs);
}

START_TEST(test_reset_remove)
{
	fangs_storage *st = fx_open(_i);
	fangs_run a, b, got;
	fangs_package p;
	fangs_release_list rl = {0};
	fangs_fpset *base = new_set();
	fangs_allow_list al = {0};
	fangs_event_list el = {0};
	fangs_deviation_list dl = {0};

	OK(fangs_storage_package_upsert(st, "pkg", 1));
	OK(fangs_storage_package_set_last_seen(st, "pkg", "1.0.0"));
	populate(st, "pkg", &a);
	populate(st, "keep", &b);
	allow(st, FANGS_ALLOW_DNS, "example.org", NULL, NULL, NULL);

	OK(fangs_storage_package_reset(st, "pkg"));
	OK(fangs_storage_package_get(st, "pkg", &p));
	ck_assert_int_eq(p.watched, 1);
	ck_assert_int_eq(p.run_count, 0);
	ck_assert_int_eq(p.baseline_size, 0);
	fangs_package_clear(&p);
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, a.id, &got));
	OK(fangs_storage_release_list(st, "pkg", &rl));
	ck_assert_uint_eq(rl.count, 0);
	fangs_release_list_free(&rl);
	OK(fangs_storage_baseline_get(st, "pkg", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 0);
	OK(fangs_storage_deviations_list(st, NULL, &dl));
	ck_assert_uint_eq(dl.count, 1);
	ck_assert_str_eq(dl.items[0].package, "keep");
	fangs_deviation_list_free(&dl);
	OK(fangs_storage_allow_list(st, "pkg", &al)); /* allowlists are the user's: kept */
	ck_assert_uint_eq(al.count, 2);
	fangs_allow_list_free(&al);

	/* the other package is whole */
	OK(fangs_storage_events_list(st, b.id, &el));
	ck_assert_uint_ne(el.count, 0);
	fangs_event_list_free(&el);
	OK(fangs_storage_baseline_get(st, "keep", base));
	ck_assert_uint_eq(fangs_fpset_size(base), 1);

	/* a reset package can be scanned again */
	fangs_run_clear(&a);
	populate(st, "pkg", &a);
	OK(fangs_storage_package_remove(st, "pkg"));
	FAILS(FANGS_ENOTFOUND, fangs_storage_package_get(st, "pkg", &p));
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, a.id, &got));
	OK(fangs_storage_allow_list(st, NULL, &al));
	ck_assert_uint_eq(al.count, 2); /* keep's and the global one */
	for (size_t i = 0; i < al.count; i++)
		ck_assert(!al.items[i].package || strcmp(al.items[i].package, "keep") == 0);
	fangs_allow_list_free(&al);
	OK(fangs_storage_package_get(st, "keep", &p));
	ck_assert_int_eq(p.run_count, 1);
	fangs_package_clear(&p);

	fangs_fpset_free(base);
	fangs_run_clear(&a);
	fangs_run_clear(&b);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_prune)
{
	fangs_storage *st = fx_open(_i);
	const int64_t cutoff = 1000000;
	fangs_run finding, clean, base, pending, running, recent, got;
	fangs_event_list evs = {0}, left = {0};
	fangs_prune_stats ps;
	fangs_fpset *s = new_set();
	size_t n;

	make_events(&evs);
	n = evs.count;
	make_run(st, &finding, "pkg", "1.0.0", FANGS_RUN_SUCCEEDED, cutoff - 10);
	make_run(st, &clean, "pkg", "1.0.1", FANGS_RUN_FAILED, cutoff - 9);
	make_run(st, &base, "pkg", "0.9.0", FANGS_RUN_SUCCEEDED, cutoff - 8);
	make_run(st, &pending, "pkg", "0.9.1", FANGS_RUN_TIMED_OUT, cutoff - 7);
	make_run(st, &running, "pkg", "1.0.2", FANGS_RUN_RUNNING, cutoff - 6);
	make_run(st, &recent, "pkg", "1.1.0", FANGS_RUN_SUCCEEDED, cutoff + 1);
	OK(fangs_storage_events_append(st, finding.id, evs.items, n));
	put_deviation(st, &finding, "net_new_dns", FANGS_SEV_HIGH, evs.items[3].id);
	put_deviation(st, &finding, "fs_new_read", FANGS_SEV_LOW, evs.items[0].id);
	OK(fangs_storage_events_append(st, clean.id, evs.items, n));
	add_fp(s, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/x");
	OK(fangs_storage_run_fingerprints_put(st, clean.id, s));
	OK(fangs_storage_events_append(st, base.id, evs.items, n));
	OK(fangs_storage_run_fingerprints_put(st, base.id, s));
	OK(fangs_storage_baseline_add_run(st, "pkg", base.id));
	pending.review = FANGS_REVIEW_PENDING;
	OK(fangs_storage_run_update(st, &pending));
	OK(fangs_storage_events_append(st, running.id, evs.items, n));
	OK(fangs_storage_events_append(st, recent.id, evs.items, n));

	OK(fangs_storage_prune(st, cutoff, &ps));
	ck_assert_int_eq(ps.events_kept_as_evidence, 2);
	ck_assert_int_eq(ps.events_deleted, (int64_t)(3 * n - 2)); /* finding's uncited, clean's, base's */
	ck_assert_int_eq(ps.runs_deleted, 1);                      /* clean */

	OK(fangs_storage_events_list(st, finding.id, &left));
	ck_assert_uint_eq(left.count, 2);
	ck_assert_int_eq(left.items[0].kind, FANGS_EV_FILE_OPEN);
	ck_assert_int_eq(left.items[1].kind, FANGS_EV_DNS_QUERY);
	fangs_event_list_free(&left);
	OK(fangs_storage_run_get(st, finding.id, &got));
	ck_assert_int_eq(got.deviation_count, 2);
	fangs_run_clear(&got);
	FAILS(FANGS_ENOTFOUND, fangs_storage_run_get(st, clean.id, &got));
	OK(fangs_storage_run_get(st, base.id, &got));
	ck_assert_int_eq(got.is_baseline, 1);
	ck_assert_int_eq(got.event_count, 0);
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, pending.id, &got));
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, running.id, &got));
	ck_assert_int_eq(got.event_count, (int64_t)n);
	fangs_run_clear(&got);
	OK(fangs_storage_run_get(st, recent.id, &got));
	ck_assert_int_eq(got.event_count, (int64_t)n);
	fangs_run_clear(&got);
	fangs_fpset_free(s);
	s = new_set();
	OK(fangs_storage_baseline_get(st, "pkg", s));
	ck_assert_uint_eq(fangs_fpset_size(s), 1);

	/* a second pass finds nothing more */
	OK(fangs_storage_prune(st, cutoff, &ps));
	ck_assert_int_eq(ps.events_deleted, 0);
	ck_assert_int_eq(ps.runs_deleted, 0);
	ck_assert_int_eq(ps.events_kept_as_evidence, 2);

	fangs_fpset_free(s);
	fangs_event_list_free(&evs);
	fangs_run_clear(&finding);
	fangs_run_clear(&clean);
	fangs_run_clear(&base);
	fangs_run_clear(&pending);
	fangs_run_clear(&running);
	fangs_run_clear(&recent);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_two_handles)
{
	fangs_storage *a = fx_open(_i), *b = fx_reopen();
	fangs_storage_options quick = fx_opts;
	fangs_storage *c;
	fangs_package p;
	fangs_package_list l = {0};

	OK(fangs_storage_package_upsert(a, "one", 1));
	OK(fangs_storage_package_get(b, "one", &p)); /* b sees a's commit */
	fangs_package_clear(&p);

	/* while a writes in a transaction, b still reads the last commit */
	OK(fangs_storage_begin(a));
	OK(fangs_storage_package_upsert(a, "two", 1));
	OK(fangs_storage_package_list(b, 0, &l));
	ck_assert_uint_eq(l.count, 1);
	fangs_package_list_free(&l);

	/* a writer that cannot get the lock in time says so */
	quick.busy_timeout_ms = 100;
	OK(fangs_storage_open(&c, &quick));
	FAILS(FANGS_EBUSY, fangs_storage_package_upsert(c, "two", 0));

	OK(fangs_storage_commit(a));
	OK(fangs_storage_package_list(b, 0, &l));
	ck_assert_uint_eq(l.count, 2);
	fangs_package_list_free(&l);
	OK(fangs_storage_package_upsert(c, "two", 0));
	OK(fangs_storage_package_upsert(c, "three", 1));
	OK(fangs_storage_package_list(a, 1, &l));
	ck_assert_uint_eq(l.count, 2); /* one, three */
	fangs_package_list_free(&l);

	fangs_storage_free(c);
	fangs_storage_free(b);
	fangs_storage_free(a);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	fangs_storage *st = fx_open(_i);
	fangs_run run = {0};
	fangs_package p;
	fangs_event ev = {0};
	fangs_deviation d = {0};

	FAILS(FANGS_EINVAL, fangs_storage_package_upsert(NULL, "x", 1));
	MSG_HAS("package_upsert");
	FAILS(FANGS_EINVAL, fangs_storage_package_upsert(st, "", 1));
	MSG_HAS("package name");
	FAILS(FANGS_EINVAL, fangs_storage_package_get(st, "x", NULL));
	FAILS(FANGS_EINVAL, fangs_storage_run_get(st, NULL, &run));
	FAILS(FANGS_EINVAL, fangs_storage_run_create(st, &run));
	MSG_HAS("package");
	run.package = "p";
	run.version = "1";
	run.state = (fangs_run_state)9;
	FAILS(FANGS_EINVAL, fangs_storage_run_create(st, &run));
	MSG_HAS("state");
	FAILS(FANGS_EINVAL, fangs_storage_events_append(st, "r", NULL, 1));
	ev.kind = (fangs_event_kind)99;
	FAILS(FANGS_EINVAL, fangs_storage_events_append(st, "r", &ev, 1));
	FAILS(FANGS_EINVAL, fangs_storage_deviations_put(st, &d, 1));
	MSG_HAS("deviation 0");
	FAILS(FANGS_EINVAL, fangs_storage_deviation_get(st, 0, &d));
	FAILS(FANGS_EINVAL, fangs_storage_allow_remove(st, -1));
	FAILS(FANGS_EINVAL, fangs_storage_prune(st, -5, NULL));
	FAILS(FANGS_EINVAL, fangs_storage_baseline_rebuild(st, "p", ""));
	FAILS(FANGS_EINVAL, fangs_storage_package_get(st, NULL, &p));
	/* empty batches are fine */
	OK(fangs_storage_events_append(st, "r-any", NULL, 0));
	OK(fangs_storage_deviations_put(st, NULL, 0));
	fangs_storage_free(st);
}
END_TEST

/* ---- independent of any backend ---- */

START_TEST(test_open_errors)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_storage *st = (fangs_storage *)&o;
	o.backend = "oracle";
	FAILS(FANGS_EINVAL, fangs_storage_open(&st, &o));
	ck_assert_ptr_null(st);
	MSG_HAS("oracle");
	o.backend = NULL;
	FAILS(FANGS_EINVAL, fangs_storage_open(&st, &o)); /* sqlite without a path */
	MSG_HAS("sqlite_path");
	o.version = 99;
	FAILS(FANGS_EVERSION, fangs_storage_open(&st, &o));
	o.version = FANGS_STORAGE_OPTIONS_VERSION;
	o.sqlite_path = "/nonexistent-dir/x/fangs.db";
	ck_assert_int_lt(fangs_storage_open(&st, &o), 0);
	MSG_HAS("/nonexistent-dir/x/fangs.db");
	fangs_storage_free(NULL);
}
END_TEST

START_TEST(test_names_and_ids)
{
	char a[FANGS_RUN_ID_MAX], b[FANGS_RUN_ID_MAX], small[8];
	fangs_run_state s;

	for (int i = FANGS_RUN_QUEUED; i <= FANGS_RUN_TIMED_OUT; i++) {
		OK(fangs_run_state_parse(fangs_run_state_name((fangs_run_state)i), &s));
		ck_assert_int_eq(s, i);
	}
	ck_assert_str_eq(fangs_run_state_name(FANGS_RUN_TIMED_OUT), "timed_out");
	FAILS(FANGS_EINVAL, fangs_run_state_parse("done", &s));
	MSG_HAS("done");
	ck_assert_str_eq(fangs_review_name(FANGS_REVIEW_PENDING), "pending");
	ck_assert_str_eq(fangs_review_name(FANGS_REVIEW_PROMOTED), "promoted");
	ck_assert_str_eq(fangs_review_name((fangs_review)7), "unknown");

	OK(fangs_storage_new_run_id(a, sizeof(a)));
	OK(fangs_storage_new_run_id(b, sizeof(b)));
	ck_assert(a[0] == 'r');
	ck_assert_str_ne(a, b);
	ck_assert_uint_lt(strlen(a), FANGS_RUN_ID_MAX);
	FAILS(FANGS_EINVAL, fangs_storage_new_run_id(small, sizeof(small)));
}
END_TEST

START_TEST(test_allow_validate)
{
	fangs_allow_kind k;
	static const struct {
		fangs_allow_kind kind;
		const char *value;
		int ok;
	} cases[] = {
		{FANGS_ALLOW_PATH, "/usr/share/", 1},
		{FANGS_ALLOW_PATH, "usr/share", 0},
		{FANGS_ALLOW_CIDR, "10.0.0.0/8", 1},
		{FANGS_ALLOW_CIDR, "192.0.2.1", 1},
		{FANGS_ALLOW_CIDR, "2001:db8::/32", 1},
		{FANGS_ALLOW_CIDR, "::1/128", 1},
		{FANGS_ALLOW_CIDR, "::1/129", 0},
		{FANGS_ALLOW_CIDR, "10.0.0.0/", 0},
		{FANGS_ALLOW_CIDR, "10.0.0/8", 0},
		{FANGS_ALLOW_CIDR, "example.org/8", 0},
		{FANGS_ALLOW_SNI, "registry.example", 1},
		{FANGS_ALLOW_SNI, "bad host", 0},
		{FANGS_ALLOW_SNI, "a..b", 0},
		{FANGS_ALLOW_DNS, ".example.org", 1},
		{FANGS_ALLOW_DNS, "_dmarc.example.org", 1},
		{FANGS_ALLOW_DNS, "exa$mple", 0},
		{FANGS_ALLOW_EXEC, "/usr/bin/git", 1},
		{FANGS_ALLOW_EXEC, "git", 0},
		{FANGS_ALLOW_EXEC, "", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = fangs_allow_entry_validate(cases[i].kind, cases[i].value);
		ck_assert_msg(cases[i].ok ? rc == 0 : rc == FANGS_EINVAL, "%s '%s' -> %d",
			      fangs_allow_kind_name(cases[i].kind), cases[i].value, rc);
	}
	OK(fangs_allow_kind_parse("cidrs", &k));
	ck_assert_int_eq(k, FANGS_ALLOW_CIDR);
	OK(fangs_allow_kind_parse("EXEC", &k));
	ck_assert_int_eq(k, FANGS_ALLOW_EXEC);
	FAILS(FANGS_EINVAL, fangs_allow_kind_parse("url", &k));
}
END_TEST

START_TEST(test_fpset)
{
	fangs_fpset *a = new_set(), *b = new_set();
	char v[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "/p/%d", i);
		ck_assert_int_eq(fangs_fpset_add(a, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, v), 1);
		ck_assert_int_eq(fangs_fpset_add(a, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, v), 0);
	}
	ck_assert_uint_eq(fangs_fpset_size(a), 1000);
	ck_assert(fangs_fpset_contains(a, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/p/999"));
	ck_assert(!fangs_fpset_contains(a, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, "/p/999"));
	ck_assert(!fangs_fpset_contains(a, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "/p/999"));
	add_fp(b, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/p/1");
	add_fp(b, FANGS_FP_DNS, FANGS_ACTOR_NPM, "x.example");
	OK(fangs_fpset_merge(b, a));
	ck_assert_uint_eq(fangs_fpset_size(b), 1001);
	fangs_fpset_free(a);
	fangs_fpset_free(b);
	fangs_fpset_free(NULL);
}
END_TEST

START_TEST(test_lists)
{
	fangs_deviation_list dl = {0};
	fangs_allow_list al = {0};
	fangs_deviation *d;

	ck_assert_int_eq(fangs_deviation_list_max_severity(&dl), FANGS_SEV_INFO);
	for (int i = 0; i < 40; i++) {
		d = fangs_deviation_list_push(&dl);
		ck_assert_ptr_nonnull(d);
		d->kind = xs("k");
		d->severity = i == 17 ? FANGS_SEV_HIGH : FANGS_SEV_LOW;
	}
	ck_assert_uint_eq(dl.count, 40);
	ck_assert_int_eq(fangs_deviation_list_max_severity(&dl), FANGS_SEV_HIGH);
	fangs_deviation_list_free(&dl);
	ck_assert_uint_eq(dl.count, 0);

	OK(fangs_allow_list_add(&al, FANGS_ALLOW_SNI, "a.example", NULL, NULL));
	OK(fangs_allow_list_add(&al, FANGS_ALLOW_PATH, "/x/", "pkg", "why"));
	ck_assert_uint_eq(al.count, 2);
	ck_assert_ptr_null(al.items[0].package);
	ck_assert_str_eq(al.items[1].package, "pkg");
	ck_assert_str_eq(al.items[1].note, "why");
	fangs_allow_list_free(&al);
	ck_assert_uint_eq(al.count, 0);
}
END_TEST

static Suite *storage_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *c = tcase_create("contract");
	TCase *o = tcase_create("records");
	int n = (int)n_test_backends;

	tcase_set_timeout(c, 120);
	tcase_add_checked_fixture(c, NULL, fx_cleanup);
	tcase_add_loop_test(c, test_open_version, 0, n);
	tcase_add_loop_test(c, test_concurrent_first_open, 0, n);
	tcase_add_loop_test(c, test_schema_newer_refused, 0, n);
	tcase_add_loop_test(c, test_read_only, 0, n);
	tcase_add_loop_test(c, test_packages, 0, n);
	tcase_add_loop_test(c, test_releases, 0, n);
	tcase_add_loop_test(c, test_runs, 0, n);
	tcase_add_loop_test(c, test_run_list, 0, n);
	tcase_add_loop_test(c, test_events, 0, n);
	tcase_add_loop_test(c, test_event_batches, 0, n);
	tcase_add_loop_test(c, test_connection_lost, 0, n);
	tcase_add_loop_test(c, test_transactions, 0, n);
	tcase_add_loop_test(c, test_fingerprints, 0, n);
	tcase_add_loop_test(c, test_baseline, 0, n);
	tcase_add_loop_test(c, test_deviations, 0, n);
	tcase_add_loop_test(c, test_allowlists, 0, n);
	tcase_add_loop_test(c, test_reset_remove, 0, n);
	tcase_add_loop_test(c, test_prune, 0, n);
	tcase_add_loop_test(c, test_two_handles, 0, n);
	tcase_add_loop_test(c, test_invalid_arguments, 0, n);
	suite_add_tcase(s, c);

	tcase_add_test(o, test_open_errors);
	tcase_add_test(o, test_names_and_ids);
	tcase_add_test(o, test_allow_validate);
	tcase_add_test(o, test_fpset);
	tcase_add_test(o, test_lists);
	suite_add_tcase(s, o);
	return s;
}

int main(void)
{
	return fx_run_suite(storage_suite(), "storage contract");
}
