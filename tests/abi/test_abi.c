/*
 * tests/abi/test_abi.c - every versioned options struct, as a caller built
 * against each of its older versions would pass it (docs/abi.md).
 *
 * The layout of version N is the struct up to the first field version N+1
 * added: the sizes below are written from the "since version N" notes of
 * the headers, not taken from the library. For every struct and version:
 *
 *  - fangs_<x>_init(buf, N) writes exactly that many bytes (a heap block of
 *    that size: ASan fails an overrun) and the _INIT defaults in them;
 *  - the entry point accepts a block of exactly that size (ASan fails a
 *    read past it), and a full struct whose later fields hold garbage
 *    behaves as with their defaults (garbage read would crash or fail);
 *  - version 0 and current+1 are refused with FANGS_EVERSION and a message
 *    naming the struct and the versions accepted.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fangs/fangs.h>
#include <fangs/proxy.h>
#include <fangs/registry.h>
#include <fangs/wire.h>

#define POISON 0xA5
#define MAXV 8

typedef struct abi_case abi_case;
struct abi_case {
	const char *name;
	unsigned current;
	size_t size[MAXV];    /* size[v]: the struct in version v; size[current] = sizeof */
	const void *defaults; /* the _INIT of the current version */
	int (*init)(void *opts, unsigned version);
	/* Calls the entry point with `opts` (of opts->version); checks that
	 * it behaved as the defaults say; returns its code. */
	int (*call)(void *opts);
};

static char tmpdir[256];
static fangs_storage *st;

/* ---- per-struct: defaults, init wrappers, entry points ---- */

#define INIT_WRAP(fn, type) \
	static int fn##_w(void *o, unsigned v) \
	{ \
		return fn((type *)o, v); \
	}

static const fangs_scan_options scan_def = FANGS_SCAN_OPTIONS_INIT;
INIT_WRAP(fangs_scan_options_init, fangs_scan_options)
static int scan_call(void *p)
{
	fangs_scan_options *o = p;
	fangs_scan_result r;
	int rc;
	o->storage = st;
	rc = fangs_scan(o, "left-pad@../../x", &r);
	if (rc == FANGS_EVERSION)
		return rc;
	/* past the options: the spec is refused; run_id (version 3) was not
	 * read from an older caller, so the run got a new id */
	ck_assert_int_eq(rc, FANGS_EINVAL);
	ck_assert_ptr_null(strstr(fangs_error_last(), "run id"));
	ck_assert_uint_gt(strlen(r.run_id), 0);
	ck_assert_int_ne((unsigned char)r.run_id[0], POISON);
	return 0;
}

static const fangs_project_scan_options pscan_def = FANGS_PROJECT_SCAN_OPTIONS_INIT;
INIT_WRAP(fangs_project_scan_options_init, fangs_project_scan_options)
static int pscan_call(void *p)
{
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	fangs_project_scan_result r;
	int rc;
	so.storage = st;
	rc = fangs_scan_project(&so, p, &r);
	if (rc == FANGS_EVERSION)
		return rc;
	ck_assert_int_eq(rc, FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "project directory"));
	return 0;
}

static const fangs_analyze_options analyze_def = FANGS_ANALYZE_OPTIONS_INIT;
INIT_WRAP(fangs_analyze_options_init, fangs_analyze_options)
static int analyze_call(void *p)
{
	fangs_differ *d = NULL;
	fangs_analysis a;
	int rc;
	ck_assert_int_eq(fangs_differ_new(&d, NULL), 0);
	rc = fangs_analyze_run_opts(st, d, NULL, "no-such-run", p, &a);
	fangs_differ_free(d);
	if (rc == FANGS_EVERSION)
		return rc;
	ck_assert_int_eq(rc, FANGS_ENOTFOUND);
	return 0;
}

static const fangs_differ_options differ_def = FANGS_DIFFER_OPTIONS_INIT;
INIT_WRAP(fangs_differ_options_init, fangs_differ_options)
static int differ_call(void *p)
{
	fangs_differ *d = NULL;
	int rc = fangs_differ_new(&d, p);
	fangs_differ_free(d);
	return rc;
}

static const fangs_findings_options findings_def = FANGS_FINDINGS_OPTIONS_INIT;
INIT_WRAP(fangs_findings_options_init, fangs_findings_options)
static int findings_call(void *p)
{
	fangs_deviation_list recs = {0};
	fangs_finding_list out;
	int rc = fangs_findings_group(&recs, p, &out);
	if (rc == 0) {
		ck_assert_uint_eq(out.count, 0);
		fangs_finding_list_free(&out);
	}
	return rc;
}

static const fangs_notifier_options notifier_def = FANGS_NOTIFIER_OPTIONS_INIT;
INIT_WRAP(fangs_notifier_options_init, fangs_notifier_options)
static int notifier_call(void *p)
{
	fangs_notifier_options *o = p;
	fangs_notifier *n = NULL;
	int rc;
	o->storage = st;
	rc = fangs_notifier_new(&n, o);
	fangs_notifier_free(n);
	return rc;
}

static const fangs_proxy_options proxy_def = FANGS_PROXY_OPTIONS_INIT;
INIT_WRAP(fangs_proxy_options_init, fangs_proxy_options)
static int proxy_call(void *p)
{
	fangs_proxy *px = NULL;
	int rc = fangs_proxy_new(&px, p);
	fangs_proxy_free(px);
	return rc;
}

static const fangs_prefetch_options prefetch_def = FANGS_PREFETCH_OPTIONS_INIT;
INIT_WRAP(fangs_prefetch_options_init, fangs_prefetch_options)
static int prefetch_call(void *p)
{
	fangs_prefetch_options *o = p;
	fangs_prefetch_result r;
	int rc;
	memset(&r, POISON, sizeof(r));
	rc = fangs_prefetch(o, &r);
	if (rc == FANGS_EVERSION)
		return rc;
	/* no specs: refused as a specs prefetch, not a project one (project
	 * came with version 2) */
	ck_assert_int_eq(rc, FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "needs specs"));
	if (o->version < 2) /* a version 1 result ends before `resolved` */
		ck_assert_int_eq((unsigned char)((char *)&r.resolved)[0], POISON);
	else
		ck_assert_int_eq(r.resolved, 0);
	r.output = NULL;
	return 0;
}

static const fangs_rules_options rules_def = FANGS_RULES_OPTIONS_INIT;
INIT_WRAP(fangs_rules_options_init, fangs_rules_options)
static int rules_call(void *p)
{
	fangs_rules *r = NULL;
	int rc = fangs_rules_new(&r, p);
	fangs_rules_free(r);
	return rc;
}

static const fangs_sandbox_options sandbox_def = FANGS_SANDBOX_OPTIONS_INIT;
INIT_WRAP(fangs_sandbox_options_init, fangs_sandbox_options)
static int sandbox_call(void *p)
{
	fangs_sandbox_options *o = p;
	fangs_sandbox *sb = NULL;
	int rc;
	o->work_root = tmpdir;
	o->npm_major = 11;
	rc = fangs_sandbox_new(&sb, o);
	fangs_sandbox_free(sb);
	return rc;
}

static const fangs_sandbox_spec spec_def = FANGS_SANDBOX_SPEC_INIT;
INIT_WRAP(fangs_sandbox_spec_init, fangs_sandbox_spec)
static int spec_call(void *p)
{
	static const char *const argv[] = {"true", NULL};
	fangs_sandbox_options so = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox_spec *spec = p;
	fangs_sandbox *sb = NULL;
	fangs_sandbox_run *run = NULL;
	int rc;
	so.work_root = tmpdir;
	so.npm_major = 11;
	ck_assert_int_eq(fangs_sandbox_new(&sb, &so), 0);
	spec->run_id = "abi-run";
	spec->argv = argv;
	rc = fangs_sandbox_prepare(sb, spec, &run);
	fangs_sandbox_run_free(run);
	fangs_sandbox_free(sb);
	return rc;
}

static const fangs_storage_options storage_def = FANGS_STORAGE_OPTIONS_INIT;
INIT_WRAP(fangs_storage_options_init, fangs_storage_options)
static int storage_call(void *p)
{
	fangs_storage_options *o = p;
	fangs_storage *s = NULL;
	int rc;
	o->sqlite_path = ":memory:";
	rc = fangs_storage_open(&s, o);
	fangs_storage_free(s);
	return rc;
}

static const fangs_run_query runq_def = FANGS_RUN_QUERY_INIT;
INIT_WRAP(fangs_run_query_init, fangs_run_query)
static int runq_call(void *p)
{
	fangs_run_list l = {0};
	int rc = fangs_storage_run_page(st, p, &l);
	if (rc == 0) {
		ck_assert_uint_eq(l.count, 0);
		fangs_run_list_free(&l);
	}
	return rc;
}

static const fangs_event_query evq_def = FANGS_EVENT_QUERY_INIT;
INIT_WRAP(fangs_event_query_init, fangs_event_query)
static int evq_call(void *p)
{
	fangs_event_query *q = p;
	fangs_event_list l = {0};
	int rc;
	q->run_id = "no-such-run";
	rc = fangs_storage_events_page(st, q, &l);
	fangs_event_list_free(&l);
	return rc == FANGS_ENOTFOUND ? 0 : rc;
}

static const fangs_tree_query treeq_def = FANGS_TREE_QUERY_INIT;
INIT_WRAP(fangs_tree_query_init, fangs_tree_query)
static int treeq_call(void *p)
{
	fangs_tree_query *q = p;
	fangs_proc_tree t;
	int rc;
	q->run_id = "no-such-run";
	rc = fangs_storage_process_tree(st, q, &t);
	if (rc == 0)
		fangs_proc_tree_free(&t);
	return rc == FANGS_ENOTFOUND ? 0 : rc;
}

static const fangs_wire_client_options wire_def = FANGS_WIRE_CLIENT_OPTIONS_INIT;
INIT_WRAP(fangs_wire_client_options_init, fangs_wire_client_options)
static int wire_call(void *p)
{
	fangs_wire_client_options *o = p;
	fangs_wire_client *c = NULL;
	int rc;
	o->url = "http://127.0.0.1:9";
	rc = fangs_wire_client_new(&c, o);
	fangs_wire_client_free(c);
	return rc;
}

static const fangs_sensor_options sensor_def = FANGS_SENSOR_OPTIONS_INIT;
INIT_WRAP(fangs_sensor_options_init, fangs_sensor_options)
static int sensor_call(void *p)
{
	fangs_sensor_options *o = p;
	int rc;
	/* an invalid ring buffer size fails right after the options are
	 * read, before anything is loaded: what the check reports tells
	 * which fields were read (syscalls, version 3, is checked after the
	 * size; max_events_per_run is not checked) */
	o->ringbuf_size = 3;
	rc = fangs_sensor_new(&(fangs_sensor *){NULL}, o);
	if (rc == FANGS_EVERSION)
		return rc;
	ck_assert_int_eq(rc, FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "ring buffer"));
	return 0;
}

/* ---- the table: sizes from the headers' "since version N" notes ---- */

#define CASE(nm, T, cur, def, fn, call, ...) {nm, cur, {0, __VA_ARGS__}, &def, fn##_w, call}

static const abi_case cases[] = {
	CASE("fangs_scan_options", fangs_scan_options, 4, scan_def, fangs_scan_options_init, scan_call,
	     offsetof(fangs_scan_options, docker_socket), offsetof(fangs_scan_options, on_event),
	     offsetof(fangs_scan_options, on_decoys), sizeof(fangs_scan_options)),
	CASE("fangs_project_scan_options", fangs_project_scan_options, 1, pscan_def, fangs_project_scan_options_init,
	     pscan_call, sizeof(fangs_project_scan_options)),
	CASE("fangs_analyze_options", fangs_analyze_options, 2, analyze_def, fangs_analyze_options_init, analyze_call,
	     offsetof(fangs_analyze_options, infra), sizeof(fangs_analyze_options)),
	CASE("fangs_differ_options", fangs_differ_options, 2, differ_def, fangs_differ_options_init, differ_call,
	     offsetof(fangs_differ_options, infra), sizeof(fangs_differ_options)),
	CASE("fangs_findings_options", fangs_findings_options, 1, findings_def, fangs_findings_options_init,
	     findings_call, sizeof(fangs_findings_options)),
	CASE("fangs_notifier_options", fangs_notifier_options, 1, notifier_def, fangs_notifier_options_init,
	     notifier_call, sizeof(fangs_notifier_options)),
	CASE("fangs_proxy_options", fangs_proxy_options, 1, proxy_def, fangs_proxy_options_init, proxy_call,
	     sizeof(fangs_proxy_options)),
	CASE("fangs_prefetch_options", fangs_prefetch_options, 2, prefetch_def, fangs_prefetch_options_init,
	     prefetch_call, offsetof(fangs_prefetch_options, project), sizeof(fangs_prefetch_options)),
	CASE("fangs_rules_options", fangs_rules_options, 1, rules_def, fangs_rules_options_init, rules_call,
	     sizeof(fangs_rules_options)),
	CASE("fangs_sandbox_options", fangs_sandbox_options, 2, sandbox_def, fangs_sandbox_options_init, sandbox_call,
	     offsetof(fangs_sandbox_options, disk_bytes), sizeof(fangs_sandbox_options)),
	CASE("fangs_sandbox_spec", fangs_sandbox_spec, 3, spec_def, fangs_sandbox_spec_init, spec_call,
	     offsetof(fangs_sandbox_spec, proxy), offsetof(fangs_sandbox_spec, lockfile_exact),
	     sizeof(fangs_sandbox_spec)),
	CASE("fangs_sensor_options", fangs_sensor_options, 3, sensor_def, fangs_sensor_options_init, sensor_call,
	     offsetof(fangs_sensor_options, max_events_per_run), offsetof(fangs_sensor_options, syscalls),
	     sizeof(fangs_sensor_options)),
	CASE("fangs_storage_options", fangs_storage_options, 1, storage_def, fangs_storage_options_init, storage_call,
	     sizeof(fangs_storage_options)),
	CASE("fangs_run_query", fangs_run_query, 1, runq_def, fangs_run_query_init, runq_call, sizeof(fangs_run_query)),
	CASE("fangs_event_query", fangs_event_query, 1, evq_def, fangs_event_query_init, evq_call,
	     sizeof(fangs_event_query)),
	CASE("fangs_tree_query", fangs_tree_query, 1, treeq_def, fangs_tree_query_init, treeq_call,
	     sizeof(fangs_tree_query)),
	CASE("fangs_wire_client_options", fangs_wire_client_options, 2, wire_def, fangs_wire_client_options_init,
	     wire_call, offsetof(fangs_wire_client_options, token), sizeof(fangs_wire_client_options)),
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* The current versions the table was written for: a bump without a new
 * row here fails to compile. */
_Static_assert(FANGS_SCAN_OPTIONS_VERSION == 4, "fangs_scan_options: add the new version's size above");
_Static_assert(FANGS_PROJECT_SCAN_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_ANALYZE_OPTIONS_VERSION == 2, "add the new version's size above");
_Static_assert(FANGS_DIFFER_OPTIONS_VERSION == 2, "add the new version's size above");
_Static_assert(FANGS_FINDINGS_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_NOTIFIER_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_PROXY_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_PREFETCH_OPTIONS_VERSION == 2, "add the new version's size above");
_Static_assert(FANGS_RULES_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_SANDBOX_OPTIONS_VERSION == 2, "add the new version's size above");
_Static_assert(FANGS_SANDBOX_SPEC_VERSION == 3, "add the new version's size above");
_Static_assert(FANGS_SENSOR_OPTIONS_VERSION == 3, "add the new version's size above");
_Static_assert(FANGS_STORAGE_OPTIONS_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_RUN_QUERY_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_EVENT_QUERY_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_TREE_QUERY_VERSION == 1, "add the new version's size above");
_Static_assert(FANGS_WIRE_CLIENT_OPTIONS_VERSION == 2, "add the new version's size above");

static void setup(void)
{
	fangs_storage_options so = FANGS_STORAGE_OPTIONS_INIT;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fangs-abi-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	so.sqlite_path = ":memory:";
	ck_assert_int_eq(fangs_storage_open(&st, &so), 0);
}

static void teardown(void)
{
	char cmd[300];
	fangs_storage_free(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A fresh block of exactly `size` bytes, so that ASan fails any access past it. */
static unsigned char *block(size_t size)
{
	unsigned char *p = malloc(size);
	ck_assert_ptr_nonnull(p);
	memset(p, POISON, size);
	return p;
}

START_TEST(init_writes_its_version_only)
{
	const abi_case *c = &cases[_i];
	for (unsigned v = 1; v <= c->current; v++) {
		size_t full = c->size[c->current], n = c->size[v];
		unsigned char *exact = block(n), *whole = block(full);
		unsigned got;
		ck_assert_int_eq(c->init(exact, v), 0);
		ck_assert_int_eq(c->init(whole, v), 0);
		memcpy(&got, whole, sizeof(got));
		ck_assert_uint_eq(got, v);
		/* the defaults of that version, the rest untouched */
		ck_assert_int_eq(memcmp(whole + sizeof(unsigned), (const unsigned char *)c->defaults + sizeof(unsigned),
					n - sizeof(unsigned)),
				 0);
		ck_assert_int_eq(memcmp(exact, whole, n), 0);
		for (size_t i = n; i < full; i++)
			ck_assert_msg(whole[i] == POISON, "%s_init(%u) wrote byte %zu of a later version", c->name, v,
				      i);
		free(exact);
		free(whole);
	}
	for (unsigned v = 0; v <= c->current + 1; v += c->current + 1) {
		unsigned char *whole = block(c->size[c->current]);
		ck_assert_int_eq(c->init(whole, v), FANGS_EVERSION);
		ck_assert_ptr_nonnull(strstr(fangs_error_last(), c->name));
		free(whole);
	}
	ck_assert_int_eq(c->init(NULL, c->current), FANGS_EINVAL);
}
END_TEST

START_TEST(older_versions_accepted)
{
	const abi_case *c = &cases[_i];
	for (unsigned v = 1; v <= c->current; v++) {
		size_t full = c->size[c->current], n = c->size[v];
		unsigned char *exact = block(n), *whole = block(full);
		int rc;
		/* a caller of version v: its struct ends at size[v] */
		ck_assert_int_eq(c->init(exact, v), 0);
		rc = c->call(exact);
		ck_assert_msg(rc == 0, "%s version %u (%zu bytes): %d %s", c->name, v, n, rc, fangs_error_last());
		/* the same with garbage where later versions have fields */
		ck_assert_int_eq(c->init(whole, v), 0);
		rc = c->call(whole);
		ck_assert_msg(rc == 0, "%s version %u with later fields garbage: %d %s", c->name, v, rc,
			      fangs_error_last());
		free(exact);
		free(whole);
	}
}
END_TEST

START_TEST(unknown_versions_refused)
{
	const abi_case *c = &cases[_i];
	char want[64];
	if (c->current == 1)
		snprintf(want, sizeof(want), "accepts version 1");
	else
		snprintf(want, sizeof(want), "accepts versions 1 to %u", c->current);
	for (unsigned v = 0; v <= c->current + 1; v += c->current + 1) {
		unsigned char *whole = block(c->size[c->current]);
		ck_assert_int_eq(c->init(whole, c->current), 0);
		memcpy(whole, &v, sizeof(v));
		ck_assert_int_eq(c->call(whole), FANGS_EVERSION);
		ck_assert_msg(strstr(fangs_error_last(), c->name) && strstr(fangs_error_last(), want),
			      "%s version %u: '%s'", c->name, v, fangs_error_last());
		free(whole);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("options");
	SRunner *sr;
	int failed;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, init_writes_its_version_only, 0, (int)N_CASES);
	tcase_add_loop_test(tc, older_versions_accepted, 0, (int)N_CASES);
	tcase_add_loop_test(tc, unknown_versions_refused, 0, (int)N_CASES);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
