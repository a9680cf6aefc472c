/*
 * tools/common/webapi.c - the /v1 read and review API (webapi.h,
 * docs/api.md). Every parameter is checked before storage is asked; a bad
 * one is a 400 naming it. Records are encoded by fangs/encode.h, so an
 * answer has the shapes of `fangs ... --json`.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "webapi.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 1000
#define EVENTS_DEFAULT 100
#define PENDING_SHOWN 50
#define RECENT_DAYS 7
/* Evidence events sent with one run (the rest by /events). */
#define EVIDENCE_SHOWN 200
/* Runs listed under a package's releases. */
#define PACKAGE_RUNS_MAX 1000

/* What a write changed, for the caller's log. */
static void change_note(webapi_response *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void change_note(webapi_response *rs, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rs->change, sizeof(rs->change), fmt, ap);
	va_end(ap);
}

static void reply_obj(webapi_response *rs, unsigned status, json_object *obj)
{
	const char *s =
		obj ? json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
		    : NULL;
	rs->status = status;
	/* json-c copies a string's bytes as they are: every answer is valid UTF-8 */
	rs->body = s ? fangs_utf8_clean(s, strlen(s), &rs->len) : NULL;
	if (!rs->body) {
		rs->status = 500;
		rs->body = strdup("{\"error\":\"out of memory\"}");
		rs->len = rs->body ? strlen(rs->body) : 0;
	}
	json_object_put(obj);
}

static void fail(webapi_response *rs, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(webapi_response *rs, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	json_object *o = json_object_new_object();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	reply_obj(rs, status, o);
}

/* A storage failure: 404 for a missing thing, 400 for what the caller
 * gave, 503 while the database is away, else 500. */
static void fail_storage(webapi_response *rs, int rc)
{
	if (rc == FANGS_ENOTFOUND)
		fail(rs, 404, "%s", fangs_error_last());
	else if (rc == FANGS_EINVAL)
		fail(rs, 400, "%s", fangs_error_last());
	else if (rc == FANGS_ENETWORK)
		fail(rs, 503, "storage unavailable: %s", fangs_error_last());
	else
		fail(rs, 500, "storage: %s", fangs_error_last());
}

static const char *arg(const webapi_request *rq, const char *name)
{
	const char *v = rq->arg ? rq->arg(rq->arg_ctx, name) : NULL;
	return v && *v ? v : NULL;
}

/* An integer parameter in [lo, hi]: 0 absent (*out = def), 1 set, -1
 * answered 400. */
static int arg_int(const webapi_request *rq, webapi_response *rs, const char *name, int64_t lo, int64_t hi, int64_t def,
		   int64_t *out)
{
	const char *v = arg(rq, name);
	char *end;
	long long n;
	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*end || errno || (*v != '-' && (*v < '0' || *v > '9')) || n < lo || n > hi) {
		fail(rs, 400, "parameter \"%s\": expected an integer from %lld to %lld, got \"%s\"", name,
		     (long long)lo, (long long)hi, v);
		return -1;
	}
	*out = n;
	return 1;
}

/* A time parameter: nanoseconds since the epoch, or an RFC 3339 UTC time
 * ("2026-11-23", "2026-11-23T15:04:05Z"). 0 absent, 1 set, -1 answered. */
static int arg_time(const webapi_request *rq, webapi_response *rs, const char *name, int64_t *out)
{
	const char *v = arg(rq, name);
	struct tm tm;
	const char *end;
	*out = 0;
	if (!v)
		return 0;
	if (strspn(v, "0123456789") == strlen(v)) {
		errno = 0;
		*out = strtoll(v, NULL, 10);
		if (!errno)
			return 1;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end && *end == 'Z')
		end++;
	if (!end || *end) {
		fail(rs, 400,
		     "parameter \"%s\": expected nanoseconds since the epoch or a UTC time (2026-11-23 or "
		     "2026-11-23T15:04:05Z), got \"%s\"",
		     name, v);
		return -1;
	}
	*out = (int64_t)timegm(&tm) * 1000000000LL;
	return 1;
}

/* A limit parameter. 0 ok, -1 answered. */
static int arg_limit(const webapi_request *rq, webapi_response *rs, int64_t def, size_t *out)
{
	int64_t n;
	if (arg_int(rq, rs, "limit", 1, PAGE_MAX, def, &n) < 0)
		return -1;
	*out = (size_t)n;
	return 0;
}

static int review_parse(const char *s, int *out)
{
	for (int r = FANGS_REVIEW_NONE; r <= FANGS_REVIEW_PROMOTED; r++)
		if (!strcmp(s, fangs_review_name((fangs_review)r))) {
			*out = r;
			return 0;
		}
	return -1;
}

static int job_state_parse(const char *s, int *out)
{
	for (int j = FANGS_JOB_QUEUED; j <= FANGS_JOB_FAILED; j++)
		if (!strcmp(s, fangs_job_state_name((fangs_job_state)j))) {
			*out = j;
			return 0;
		}
	return -1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the path ---- */

#define MAX_SEGS 8

typedef struct route_path {
	char buf[1024];
	char *seg[MAX_SEGS];
	int n;
} route_path;

static int split(const char *path, route_path *p)
{
	size_t len = strcspn(path, "?");
	char *s, *save = NULL;
	p->n = 0;
	if (len >= sizeof(p->buf))
		return -1;
	memcpy(p->buf, path, len);
	p->buf[len] = '\0';
	for (s = strtok_r(p->buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (p->n == MAX_SEGS)
			return -1;
		p->seg[p->n++] = s;
	}
	return 0;
}

/* The package name in segments [from, from+1 (scoped)]: "@scope/name" is
 * two segments once the path is decoded. Writes it to buf; returns how
 * many segments it took, 0 when there is none. */
static int package_segs(const route_path *p, int from, char *buf, size_t cap)
{
	if (from >= p->n)
		return 0;
	if (p->seg[from][0] == '@' && from + 1 < p->n) {
		snprintf(buf, cap, "%s/%s", p->seg[from], p->seg[from + 1]);
		return 2;
	}
	snprintf(buf, cap, "%s", p->seg[from]);
	return 1;
}

enum route_id {
	R_NONE,
	R_CSRF,
	R_OVERVIEW,
	R_PACKAGES,
	R_PACKAGE,
	R_WATCH,
	R_RUNS,
	R_RUN,
	R_RUN_EVENTS,
	R_RUN_TREE,
	R_RUN_PROMOTE,
	R_BASELINE,
	R_ALLOWLIST,
	R_ALLOW_ENTRY,
	R_NOTIFIERS,
	R_NOTIFICATIONS,
	R_RUNNERS,
	R_JOBS
};

typedef struct route {
	enum route_id id;
	const char *methods; /* "GET", "POST", "PUT DELETE"... */
	char name[300];      /* package, run id or allowlist id */
} route;

static void match(const char *path, route *r)
{
	route_path p;
	int k;
	memset(r, 0, sizeof(*r));
	if (split(path, &p) || p.n < 2 || strcmp(p.seg[0], "v1"))
		return;
	const char *s1 = p.seg[1];
	if (p.n == 2) {
		static const struct {
			const char *name;
			enum route_id id;
			const char *methods;
		} top[] = {
			{"csrf", R_CSRF, "GET"},
			{"overview", R_OVERVIEW, "GET"},
			{"packages", R_PACKAGES, "GET"},
			{"runs", R_RUNS, "GET"},
			{"allowlist", R_ALLOWLIST, "GET POST"},
			{"notifiers", R_NOTIFIERS, "GET"},
			{"notifications", R_NOTIFICATIONS, "GET"},
			{"runners", R_RUNNERS, "GET"},
			{"jobs", R_JOBS, "GET"},
		};
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
			if (!strcmp(s1, top[i].name)) {
				r->id = top[i].id;
				r->methods = top[i].methods;
			}
		return;
	}
	if (!strcmp(s1, "packages")) {
		k = package_segs(&p, 2, r->name, sizeof(r->name));
		if (2 + k == p.n) {
			r->id = R_PACKAGE;
			r->methods = "GET";
		} else if (2 + k + 1 == p.n && !strcmp(p.seg[p.n - 1], "watch")) {
			r->id = R_WATCH;
			r->methods = "PUT DELETE";
		}
	} else if (!strcmp(s1, "baselines")) {
		k = package_segs(&p, 2, r->name, sizeof(r->name));
		if (2 + k == p.n) {
			r->id = R_BASELINE;
			r->methods = "GET";
		}
	} else if (!strcmp(s1, "runs")) {
		snprintf(r->name, sizeof(r->name), "%s", p.seg[2]);
		if (p.n == 3) {
			r->id = R_RUN;
			r->methods = "GET";
		} else if (p.n == 4 && !strcmp(p.seg[3], "events")) {
			r->id = R_RUN_EVENTS;
			r->methods = "GET";
		} else if (p.n == 4 && !strcmp(p.seg[3], "tree")) {
			r->id = R_RUN_TREE;
			r->methods = "GET";
		} else if (p.n == 4 && !strcmp(p.seg[3], "promote")) {
			r->id = R_RUN_PROMOTE;
			r->methods = "POST";
		}
	} else if (!strcmp(s1, "allowlist") && p.n == 3) {
		snprintf(r->name, sizeof(r->name), "%s", p.seg[2]);
		r->id = R_ALLOW_ENTRY;
		r->methods = "DELETE";
	}
}

static int method_in(const char *method, const char *methods)
{
	size_t n = strlen(method);
	for (const char *m = methods; m && *m;) {
		size_t l = strcspn(m, " ");
		if (l == n && !strncmp(m, method, n))
			return 1;
		m += l;
		while (*m == ' ')
			m++;
	}
	return 0;
}

enum webapi_access webapi_route(const char *method, const char *path)
{
	route r;
	match(path, &r);
	if (r.id == R_NONE)
		return WEBAPI_NONE;
	/* POST /v1/runs/{id}/events is a runner's, not ours */
	if (!method_in(method, r.methods)) {
		if ((r.id == R_RUN_EVENTS || r.id == R_RUN_PROMOTE || r.id == R_RUN) && strcmp(method, "GET"))
			return r.id == R_RUN_PROMOTE ? WEBAPI_WRITE : WEBAPI_NONE;
		return WEBAPI_READ;
	}
	if (r.id == R_CSRF)
		return WEBAPI_OPEN;
	return strcmp(method, "GET") ? WEBAPI_WRITE : WEBAPI_READ;
}

/* ---- cursors ---- */

/* A run cursor: "CREATED_NS.ID" (opaque to clients). */
static void run_cursor(const fangs_run *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%lld.%s", (long long)r->created_ns, r->id);
}

static int run_cursor_parse(const char *s, int64_t *created, char *id, size_t cap)
{
	char *end;
	long long n;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end != '.' || !fangs_wire_valid_id(end + 1) || strlen(end + 1) >= cap)
		return -1;
	*created = n;
	snprintf(id, cap, "%s", end + 1);
	return 0;
}

/* ---- handlers ---- */

static json_object *runs_array(const fangs_run_list *rl, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < rl->count && i < n; i++)
		json_object_array_add(arr, fangs_json_run(&rl->items[i]));
	return arr;
}

static void do_csrf(webapi_response *rs)
{
	unsigned char raw[32];
	json_object *o;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		fail(rs, 500, "no random bytes for a CSRF token");
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(rs->csrf + 2 * i, 3, "%02x", raw[i]);
	o = json_object_new_object();
	json_object_object_add(o, "csrf", json_object_new_string(rs->csrf));
	json_object_object_add(o, "header", json_object_new_string("X-Fangs-CSRF"));
	json_object_object_add(o, "cookie", json_object_new_string("fangs_csrf"));
	reply_obj(rs, 200, o);
}

static void do_overview(fangs_storage *st, webapi_response *rs)
{
	static const char *const job_keys[4] = {"queued", "running", "done", "failed"};
	fangs_package_list pl = {0};
	fangs_runner_list rl = {0};
	fangs_run_list pending = {0};
	fangs_run_query pq = FANGS_RUN_QUERY_INIT;
	int64_t jobs[4] = {0}, sev[FANGS_SEV_CRITICAL + 1] = {0},
		since = now_ns() - RECENT_DAYS * 86400LL * 1000000000LL;
	json_object *o, *q, *arr, *f;
	int rc;

	pq.review = FANGS_REVIEW_PENDING;
	pq.limit = PENDING_SHOWN;
	if ((rc = fangs_storage_package_list(st, 1, &pl)) || (rc = fangs_storage_job_counts(st, jobs)) ||
	    (rc = fangs_storage_runner_list(st, &rl)) || (rc = fangs_storage_run_page(st, &pq, &pending)) ||
	    (rc = fangs_storage_deviation_counts(st, since, sev))) {
		fail_storage(rs, rc);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "packages_watched", json_object_new_int64((int64_t)pl.count));
	q = json_object_new_object();
	for (int i = 0; i < 4; i++)
		json_object_object_add(q, job_keys[i], json_object_new_int64(jobs[i]));
	json_object_object_add(o, "queue", q);
	arr = json_object_new_array();
	for (size_t i = 0; i < rl.count; i++)
		json_object_array_add(arr, fangs_json_runner(&rl.items[i]));
	json_object_object_add(o, "runners", arr);
	f = json_object_new_object();
	for (int s = FANGS_SEV_CRITICAL; s >= FANGS_SEV_INFO; s--)
		json_object_object_add(f, fangs_severity_name((fangs_severity)s), json_object_new_int64(sev[s]));
	json_object_object_add(o, "recent_findings", f);
	json_object_object_add(o, "recent_since_ns", json_object_new_int64(since));
	json_object_object_add(o, "pending", runs_array(&pending, pending.count));
	reply_obj(rs, 200, o);
out:
	fangs_package_list_free(&pl);
	fangs_runner_list_free(&rl);
	fangs_run_list_free(&pending);
}

static void do_packages(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	fangs_package_list pl = {0};
	json_object *o, *arr;
	int64_t watched;
	int rc;
	if (arg_int(rq, rs, "watched", 0, 1, 0, &watched) < 0)
		return;
	if ((rc = fangs_storage_package_list(st, (int)watched, &pl))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < pl.count; i++)
		json_object_array_add(arr, fangs_json_package(&pl.items[i]));
	json_object_object_add(o, "packages", arr);
	reply_obj(rs, 200, o);
	fangs_package_list_free(&pl);
}

static void do_package(fangs_storage *st, const char *name, webapi_response *rs)
{
	fangs_package pkg = {0};
	fangs_release_list rels = {0};
	fangs_run_list runs = {0};
	fangs_run_query q = FANGS_RUN_QUERY_INIT;
	json_object *o, *arr, *b, *bruns;
	int rc;

	if ((rc = fangs_storage_package_get(st, name, &pkg))) {
		fail_storage(rs, rc);
		return;
	}
	q.package = name;
	q.limit = PACKAGE_RUNS_MAX;
	if ((rc = fangs_storage_release_list(st, name, &rels)) || (rc = fangs_storage_run_page(st, &q, &runs))) {
		fail_storage(rs, rc);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "package", fangs_json_package(&pkg));
	arr = json_object_new_array();
	for (size_t i = 0; i < rels.count; i++) {
		json_object *r = fangs_json_release(&rels.items[i]), *ra = json_object_new_array();
		for (size_t j = 0; j < runs.count; j++)
			if (runs.items[j].version && !strcmp(runs.items[j].version, rels.items[i].version))
				json_object_array_add(ra, fangs_json_run(&runs.items[j]));
		json_object_object_add(r, "runs", ra);
		json_object_array_add(arr, r);
	}
	json_object_object_add(o, "releases", arr);
	b = json_object_new_object();
	json_object_object_add(b, "fingerprints", json_object_new_int64(pkg.baseline_size));
	bruns = json_object_new_array();
	for (size_t j = 0; j < runs.count; j++)
		if (runs.items[j].is_baseline)
			json_object_array_add(bruns, json_object_new_string(runs.items[j].id));
	json_object_object_add(b, "runs", bruns);
	json_object_object_add(o, "baseline", b);
	json_object_object_add(o, "runs_truncated", json_object_new_boolean(runs.count >= PACKAGE_RUNS_MAX));
	reply_obj(rs, 200, o);
out:
	fangs_package_clear(&pkg);
	fangs_release_list_free(&rels);
	fangs_run_list_free(&runs);
}

static void do_watch(fangs_storage *st, const webapi_request *rq, const char *name, webapi_response *rs)
{
	int watch = !strcmp(rq->method, "PUT"), rc;
	fangs_package pkg = {0};
	json_object *o;

	/* unwatching a package never seen is a mistake; watching creates it */
	if (!watch && (rc = fangs_storage_package_get(st, name, &pkg))) {
		fail_storage(rs, rc);
		return;
	}
	fangs_package_clear(&pkg);
	if ((rc = fangs_storage_package_upsert(st, name, watch))) {
		fail_storage(rs, rc);
		return;
	}
	change_note(rs, "package %s %s by %s", name, watch ? "watched" : "unwatched",
		    rq->actor ? rq->actor : "a caller");
	o = json_object_new_object();
	json_object_object_add(o, "package", json_object_new_string(name));
	json_object_object_add(o, "watched", json_object_new_boolean(watch));
	reply_obj(rs, 200, o);
}

static void do_runs(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	fangs_run_query q = FANGS_RUN_QUERY_INIT;
	fangs_run_list rl = {0};
	char after[FANGS_RUN_ID_MAX], cur[FANGS_RUN_ID_MAX + 32];
	const char *v;
	json_object *o;
	fangs_severity sev;
	size_t limit;
	int rc;

	q.package = arg(rq, "package");
	if ((v = arg(rq, "state"))) {
		fangs_run_state s;
		if (fangs_run_state_parse(v, &s)) {
			fail(rs, 400,
			     "parameter \"state\": expected queued, running, succeeded, failed or timed_out, got "
			     "\"%s\"",
			     v);
			return;
		}
		q.state = (int)s;
	}
	if ((v = arg(rq, "review")) && review_parse(v, &q.review)) {
		fail(rs, 400, "parameter \"review\": expected none, pending or promoted, got \"%s\"", v);
		return;
	}
	if ((v = arg(rq, "min_severity"))) {
		if (fangs_severity_parse(v, &sev)) {
			fail(rs, 400,
			     "parameter \"min_severity\": expected info, low, medium, high or critical, got \"%s\"", v);
			return;
		}
		q.min_severity = (int)sev;
	}
	if (arg_time(rq, rs, "since", &q.since_ns) < 0 || arg_time(rq, rs, "until", &q.until_ns) < 0 ||
	    arg_limit(rq, rs, PAGE_DEFAULT, &limit) < 0)
		return;
	if ((v = arg(rq, "cursor"))) {
		if (run_cursor_parse(v, &q.after_created_ns, after, sizeof(after))) {
			fail(rs, 400, "parameter \"cursor\": not a cursor of this API (\"%s\")", v);
			return;
		}
		q.after_id = after;
	}
	/* one more than asked: is there a next page? */
	q.limit = limit + 1;
	if ((rc = fangs_storage_run_page(st, &q, &rl))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "runs", runs_array(&rl, limit));
	if (rl.count > limit) {
		run_cursor(&rl.items[limit - 1], cur, sizeof(cur));
		json_object_object_add(o, "next_cursor", json_object_new_string(cur));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	reply_obj(rs, 200, o);
	fangs_run_list_free(&rl);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void do_run(fangs_storage *st, const char *id, webapi_response *rs)
{
	fangs_run run = {0};
	fangs_deviation_list devs = {0};
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	fangs_finding_list fl = {0};
	fangs_event_list evs = {0};
	int64_t *ids = NULL;
	size_t nids = 0, cap = 0;
	json_object *o, *arr, *stats;
	int rc;

	if ((rc = fangs_storage_run_get(st, id, &run))) {
		fail_storage(rs, rc);
		return;
	}
	df.run_id = id;
	if ((rc = fangs_storage_deviations_list(st, &df, &devs)) || (rc = fangs_findings_load(st, &devs, NULL, &fl))) {
		fail_storage(rs, rc);
		goto out;
	}
	/* the findings' evidence, each event once, up to a bound */
	for (size_t i = 0; i < fl.count; i++)
		for (size_t j = 0; j < fl.items[i].n_evidence; j++) {
			if (nids == cap) {
				int64_t *n = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof(*ids));
				if (!n) {
					fail(rs, 500, "out of memory");
					goto out;
				}
				ids = n;
			}
			ids[nids++] = fl.items[i].evidence[j];
		}
	if (nids) {
		size_t w = 1;
		qsort(ids, nids, sizeof(*ids), cmp_i64);
		for (size_t i = 1; i < nids; i++)
			if (ids[i] != ids[w - 1])
				ids[w++] = ids[i];
		nids = w < EVIDENCE_SHOWN ? w : EVIDENCE_SHOWN;
		if ((rc = fangs_storage_events_get(st, ids, nids, &evs))) {
			fail_storage(rs, rc);
			goto out;
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "run", fangs_json_run(&run));
	fangs_json_add_findings(o, &fl);
	arr = json_object_new_array();
	for (size_t i = 0; i < devs.count; i++)
		json_object_array_add(arr, fangs_json_deviation(&devs.items[i]));
	json_object_object_add(o, "deviations", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < evs.count; i++)
		json_object_array_add(arr, fangs_json_event(&evs.items[i]));
	json_object_object_add(o, "evidence_events", arr);
	json_object_object_add(o, "install_output",
			       run.install_output ? json_object_new_string(run.install_output) : NULL);
	stats = json_object_new_object();
	json_object_object_add(stats, "events", json_object_new_int64(run.event_count));
	json_object_object_add(stats, "events_emitted", json_object_new_int64(run.events_emitted));
	json_object_object_add(stats, "events_dropped", json_object_new_int64(run.events_dropped));
	json_object_object_add(stats, "duration_ns", json_object_new_int64(run.duration_ns));
	json_object_object_add(stats, "deviations", json_object_new_int64(run.deviation_count));
	json_object_object_add(o, "stats", stats);
	reply_obj(rs, 200, o);
out:
	free(ids);
	fangs_event_list_free(&evs);
	fangs_finding_list_free(&fl);
	fangs_deviation_list_free(&devs);
	fangs_run_clear(&run);
}

static int kind_arg(const webapi_request *rq, webapi_response *rs, int *out)
{
	const char *v = arg(rq, "kind");
	fangs_event_kind k;
	*out = 0;
	if (!v)
		return 0;
	if ((k = fangs_event_kind_parse(v)) == FANGS_EV_NONE) {
		fail(rs, 400,
		     "parameter \"kind\": expected file_open, exec, net_connect, dns_query, tls_sni, process_fork,"
		     " process_exit, proxy_request or syscall, got \"%s\"",
		     v);
		return -1;
	}
	*out = (int)k;
	return 0;
}

static void do_events(fangs_storage *st, const webapi_request *rq, const char *id, webapi_response *rs)
{
	fangs_event_query q = FANGS_EVENT_QUERY_INIT;
	fangs_event_list evs = {0};
	json_object *o, *arr;
	size_t limit;
	char cur[32];
	int rc;

	q.run_id = id;
	q.text = arg(rq, "q");
	if (kind_arg(rq, rs, &q.kind) < 0 || arg_int(rq, rs, "pid", 0, INT32_MAX, -1, &q.pid) < 0 ||
	    arg_limit(rq, rs, EVENTS_DEFAULT, &limit) < 0)
		return;
	if (arg(rq, "cursor") && arg_int(rq, rs, "cursor", 1, INT64_MAX - 1, 0, &q.after_id) < 0) {
		free(rs->body);
		rs->body = NULL;
		fail(rs, 400, "parameter \"cursor\": not a cursor of this API (\"%s\")", arg(rq, "cursor"));
		return;
	}
	q.limit = limit + 1;
	if ((rc = fangs_storage_events_page(st, &q, &evs))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < evs.count && i < limit; i++)
		json_object_array_add(arr, fangs_json_event(&evs.items[i]));
	json_object_object_add(o, "events", arr);
	if (evs.count > limit) {
		snprintf(cur, sizeof(cur), "%lld", (long long)evs.items[limit - 1].id);
		json_object_object_add(o, "next_cursor", json_object_new_string(cur));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	reply_obj(rs, 200, o);
	fangs_event_list_free(&evs);
}

static void do_tree(fangs_storage *st, const webapi_request *rq, const char *id, webapi_response *rs)
{
	fangs_tree_query q = FANGS_TREE_QUERY_INIT;
	fangs_proc_tree t = {0};
	json_object *o, *arr;
	int64_t max;
	int rc;

	q.run_id = id;
	q.text = arg(rq, "q");
	if (kind_arg(rq, rs, &q.kind) < 0 || arg_int(rq, rs, "max", 1, 100000, FANGS_TREE_MAX_NODES, &max) < 0)
		return;
	q.max_nodes = (size_t)max;
	if ((rc = fangs_storage_process_tree(st, &q, &t))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "run_id", json_object_new_string(id));
	arr = json_object_new_array();
	for (size_t i = 0; i < t.count; i++)
		json_object_array_add(arr, fangs_json_proc_node(&t.items[i]));
	json_object_object_add(o, "nodes", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < t.n_roots; i++)
		json_object_array_add(arr, json_object_new_int(t.roots[i]));
	json_object_object_add(o, "roots", arr);
	json_object_object_add(o, "truncated", json_object_new_boolean(t.truncated));
	json_object_object_add(o, "total_processes", json_object_new_int64(t.total_processes));
	reply_obj(rs, 200, o);
	fangs_proc_tree_free(&t);
}

static void do_promote(fangs_storage *st, const webapi_request *rq, const char *id, webapi_response *rs)
{
	unsigned flags = 0;
	fangs_run run = {0};
	json_object *body = NULL, *v, *o;
	int rc;

	if (rq->body && rq->len) {
		body = json_tokener_parse(rq->body);
		if (!body || !json_object_is_type(body, json_type_object)) {
			json_object_put(body);
			fail(rs, 400, "the body must be a JSON object ({\"replace\": false, \"force\": false})");
			return;
		}
		if (json_object_object_get_ex(body, "replace", &v) && json_object_get_boolean(v))
			flags |= FANGS_PROMOTE_REPLACE;
		if (json_object_object_get_ex(body, "force", &v) && json_object_get_boolean(v))
			flags |= FANGS_PROMOTE_UNFINISHED;
		json_object_put(body);
	}
	if ((rc = fangs_baseline_promote(st, id, flags)) || (rc = fangs_storage_run_get(st, id, &run))) {
		fail_storage(rs, rc);
		fangs_run_clear(&run);
		return;
	}
	change_note(rs, "run %s (%s@%s) promoted by %s%s", id, run.package, run.version,
		    rq->actor ? rq->actor : "a caller", flags & FANGS_PROMOTE_REPLACE ? " (baseline replaced)" : "");
	o = json_object_new_object();
	json_object_object_add(o, "promoted", json_object_new_string(run.id));
	json_object_object_add(o, "package", json_object_new_string(run.package));
	json_object_object_add(o, "replaced", json_object_new_boolean(flags & FANGS_PROMOTE_REPLACE));
	json_object_object_add(o, "run", fangs_json_run(&run));
	reply_obj(rs, 200, o);
	fangs_run_clear(&run);
}

typedef struct fp_rows {
	fangs_fingerprint *items;
	size_t count, cap;
} fp_rows;

static int fp_collect(const fangs_fingerprint *fp, void *user)
{
	fp_rows *r = user;
	if (r->count == r->cap) {
		fangs_fingerprint *n = realloc(r->items, (r->cap = r->cap ? r->cap * 2 : 256) * sizeof(*n));
		if (!n)
			return FANGS_ENOMEM;
		r->items = n;
	}
	/* borrowed: the set outlives the rows */
	r->items[r->count++] = *fp;
	return 0;
}

static int cmp_fp(const void *a, const void *b)
{
	const fangs_fingerprint *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->actor != y->actor)
		return x->actor < y->actor ? -1 : 1;
	return strcmp(x->value, y->value);
}

static void do_baseline(fangs_storage *st, const webapi_request *rq, const char *name, webapi_response *rs)
{
	fangs_package pkg = {0};
	fangs_fpset *set = NULL;
	fp_rows rows = {0};
	json_object *o, *arr;
	int64_t off = 0;
	size_t limit;
	char cur[32];
	int rc;

	if (arg_limit(rq, rs, PAGE_MAX, &limit) < 0)
		return;
	if (arg(rq, "cursor") && arg_int(rq, rs, "cursor", 1, INT64_MAX, 0, &off) < 0) {
		free(rs->body);
		rs->body = NULL;
		fail(rs, 400, "parameter \"cursor\": not a cursor of this API (\"%s\")", arg(rq, "cursor"));
		return;
	}
	if ((rc = fangs_storage_package_get(st, name, &pkg))) {
		fail_storage(rs, rc);
		return;
	}
	if ((rc = fangs_fpset_new(&set)) || (rc = fangs_storage_baseline_get(st, name, set)) ||
	    (rc = fangs_fpset_foreach(set, fp_collect, &rows))) {
		fail_storage(rs, rc);
		goto out;
	}
	/* a stable order, so that an offset is a cursor */
	qsort(rows.items, rows.count, sizeof(*rows.items), cmp_fp);
	o = json_object_new_object();
	json_object_object_add(o, "package", json_object_new_string(name));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)rows.count));
	arr = json_object_new_array();
	for (size_t i = (size_t)off; i < rows.count && i < (size_t)off + limit; i++)
		json_object_array_add(arr, fangs_json_fingerprint(&rows.items[i]));
	json_object_object_add(o, "fingerprints", arr);
	if ((size_t)off + limit < rows.count) {
		snprintf(cur, sizeof(cur), "%lld", (long long)((size_t)off + limit));
		json_object_object_add(o, "next_cursor", json_object_new_string(cur));
	} else {
		json_object_object_add(o, "next_cursor", NULL);
	}
	reply_obj(rs, 200, o);
out:
	free(rows.items);
	fangs_fpset_free(set);
	fangs_package_clear(&pkg);
}

static void do_allowlist(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	fangs_allow_list al = {0};
	json_object *o, *arr;
	int rc;
	if ((rc = fangs_storage_allow_list(st, arg(rq, "package"), &al))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < al.count; i++)
		json_object_array_add(arr, fangs_json_allow(&al.items[i]));
	json_object_object_add(o, "entries", arr);
	reply_obj(rs, 200, o);
	fangs_allow_list_free(&al);
}

/* A string member of the body, NULL when absent; -1 when not a string. */
static int body_str(json_object *body, const char *key, const char **out)
{
	json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

static void do_allow_add(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	json_object *body = rq->body && rq->len ? json_tokener_parse(rq->body) : NULL;
	const char *kind, *value, *package, *note, *bad = NULL;
	fangs_allow_entry e = {0};
	int rc;

	if (!body || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		fail(rs, 400, "the body must be a JSON object {\"kind\", \"value\", \"package\", \"note\"}");
		return;
	}
	if (body_str(body, "kind", &kind))
		bad = "kind";
	else if (body_str(body, "value", &value))
		bad = "value";
	else if (body_str(body, "package", &package))
		bad = "package";
	else if (body_str(body, "note", &note))
		bad = "note";
	if (bad) {
		fail(rs, 400, "\"%s\" must be a string", bad);
		goto out;
	}
	if (!kind || fangs_allow_kind_parse(kind, &e.kind)) {
		fail(rs, 400, "\"kind\": expected path, cidr, sni, dns or exec, got %s%s%s", kind ? "\"" : "",
		     kind ? kind : "nothing", kind ? "\"" : "");
		goto out;
	}
	if (!value || !*value) {
		fail(rs, 400, "\"value\" is required");
		goto out;
	}
	if (package && fangs_package_name_check(package, NULL)) {
		fail(rs, 400, "\"package\": %s", fangs_error_last());
		goto out;
	}
	e.value = (char *)value;
	e.package = package && *package ? (char *)package : NULL;
	e.note = note ? (char *)note : NULL;
	if ((rc = fangs_storage_allow_add(st, &e))) {
		fail_storage(rs, rc);
		goto out;
	}
	change_note(rs, "allowlist entry %lld (%s %s%s%s) added by %s", (long long)e.id, kind, value,
		    e.package ? " for " : "", e.package ? e.package : "", rq->actor ? rq->actor : "a caller");
	{
		json_object *o = json_object_new_object();
		json_object_object_add(o, "entry", fangs_json_allow(&e));
		reply_obj(rs, 201, o);
	}
out:
	json_object_put(body);
}

static void do_allow_remove(fangs_storage *st, const webapi_request *rq, const char *idtext, webapi_response *rs)
{
	char *end;
	long long id;
	json_object *o;
	int rc;
	errno = 0;
	id = strtoll(idtext, &end, 10);
	if (errno || *end || id < 1 || *idtext < '0' || *idtext > '9') {
		fail(rs, 400, "allowlist entry id: expected a positive integer, got \"%s\"", idtext);
		return;
	}
	if ((rc = fangs_storage_allow_remove(st, id))) {
		fail_storage(rs, rc);
		return;
	}
	change_note(rs, "allowlist entry %lld removed by %s", id, rq->actor ? rq->actor : "a caller");
	o = json_object_new_object();
	json_object_object_add(o, "removed", json_object_new_int64(id));
	reply_obj(rs, 200, o);
}

static void do_notifiers(fangs_storage *st, webapi_response *rs)
{
	fangs_notifier_target_list tl = {0};
	json_object *o, *arr;
	int rc;
	if ((rc = fangs_storage_notifier_list(st, &tl))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < tl.count; i++)
		json_object_array_add(arr, fangs_json_notifier(&tl.items[i]));
	json_object_object_add(o, "notifiers", arr);
	reply_obj(rs, 200, o);
	fangs_notifier_target_list_free(&tl);
}

static void do_notifications(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	fangs_notification_list nl = {0};
	fangs_notifier_target t = {0};
	fangs_notification_status status = FANGS_NOTIFICATION_PENDING;
	const char *sv = arg(rq, "status");
	json_object *o, *arr;
	size_t limit, shown = 0;
	int rc;

	if (arg_limit(rq, rs, EVENTS_DEFAULT, &limit) < 0)
		return;
	if (sv && fangs_notification_status_parse(sv, &status)) {
		fail(rs, 400, "parameter \"status\": expected pending, sending, sent, retry or failed, got \"%s\"", sv);
		return;
	}
	f.notifier = arg(rq, "notifier");
	f.run_id = arg(rq, "run");
	if (f.notifier) {
		if ((rc = fangs_storage_notifier_get(st, f.notifier, &t))) {
			fail_storage(rs, rc);
			return;
		}
		fangs_notifier_target_clear(&t);
	}
	if ((rc = fangs_storage_notification_list(st, &f, &nl))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	/* newest first */
	for (size_t i = nl.count; i-- > 0 && shown < limit;) {
		if (sv && nl.items[i].status != status)
			continue;
		json_object_array_add(arr, fangs_json_notification(&nl.items[i]));
		shown++;
	}
	json_object_object_add(o, "notifications", arr);
	reply_obj(rs, 200, o);
	fangs_notification_list_free(&nl);
}

static void do_runners(fangs_storage *st, webapi_response *rs)
{
	fangs_runner_list rl = {0};
	json_object *arr;
	int rc;
	if ((rc = fangs_storage_runner_list(st, &rl))) {
		fail_storage(rs, rc);
		return;
	}
	/* a bare array: what `fangs runner list --json` reads */
	arr = json_object_new_array();
	for (size_t i = 0; i < rl.count; i++)
		json_object_array_add(arr, fangs_json_runner(&rl.items[i]));
	reply_obj(rs, 200, arr);
	fangs_runner_list_free(&rl);
}

static void do_jobs(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	fangs_job_list jl = {0};
	const char *v = arg(rq, "state");
	int state = -1, rc;
	size_t limit;
	json_object *o, *arr;

	if (v && job_state_parse(v, &state)) {
		fail(rs, 400, "parameter \"state\": expected queued, running, done or failed, got \"%s\"", v);
		return;
	}
	if (arg_limit(rq, rs, PAGE_MAX, &limit) < 0)
		return;
	if ((rc = fangs_storage_job_list(st, state, &jl))) {
		fail_storage(rs, rc);
		return;
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	/* newest first */
	for (size_t i = jl.count, n = 0; i-- > 0 && n < limit; n++)
		json_object_array_add(arr, fangs_json_job(&jl.items[i]));
	json_object_object_add(o, "jobs", arr);
	reply_obj(rs, 200, o);
	fangs_job_list_free(&jl);
}

void webapi_handle(fangs_storage *st, const webapi_request *rq, webapi_response *rs)
{
	route r;
	memset(rs, 0, sizeof(*rs));
	match(rq->path, &r);
	if (r.id == R_NONE) {
		fail(rs, 404, "no such endpoint");
		return;
	}
	if (!method_in(rq->method, r.methods)) {
		fail(rs, 405, "use %s", r.methods);
		return;
	}
	if (strcmp(rq->method, "GET") && !rq->may_write) {
		fail(rs, 403, "this needs the operator role");
		return;
	}
	if ((r.id == R_RUN || r.id == R_RUN_EVENTS || r.id == R_RUN_TREE || r.id == R_RUN_PROMOTE) &&
	    !fangs_wire_valid_id(r.name)) {
		fail(rs, 400, "invalid run id");
		return;
	}
	if ((r.id == R_PACKAGE || r.id == R_WATCH || r.id == R_BASELINE) && fangs_package_name_check(r.name, NULL)) {
		fail(rs, 400, "package name: %s", fangs_error_last());
		return;
	}
	switch (r.id) {
	case R_CSRF:
		do_csrf(rs);
		break;
	case R_OVERVIEW:
		do_overview(st, rs);
		break;
	case R_PACKAGES:
		do_packages(st, rq, rs);
		break;
	case R_PACKAGE:
		do_package(st, r.name, rs);
		break;
	case R_WATCH:
		do_watch(st, rq, r.name, rs);
		break;
	case R_RUNS:
		do_runs(st, rq, rs);
		break;
	case R_RUN:
		do_run(st, r.name, rs);
		break;
	case R_RUN_EVENTS:
		do_events(st, rq, r.name, rs);
		break;
	case R_RUN_TREE:
		do_tree(st, rq, r.name, rs);
		break;
	case R_RUN_PROMOTE:
		do_promote(st, rq, r.name, rs);
		break;
	case R_BASELINE:
		do_baseline(st, rq, r.name, rs);
		break;
	case R_ALLOWLIST:
		if (!strcmp(rq->method, "POST"))
			do_allow_add(st, rq, rs);
		else
			do_allowlist(st, rq, rs);
		break;
	case R_ALLOW_ENTRY:
		do_allow_remove(st, rq, r.name, rs);
		break;
	case R_NOTIFIERS:
		do_notifiers(st, rs);
		break;
	case R_NOTIFICATIONS:
		do_notifications(st, rq, rs);
		break;
	case R_RUNNERS:
		do_runners(st, rs);
		break;
	case R_JOBS:
		do_jobs(st, rq, rs);
		break;
	case R_NONE:
		break;
	}
}

/* ---- CSRF ---- */

void webapi_csrf_cookie(const char *token, int secure, char *buf, size_t cap)
{
	snprintf(buf, cap, "fangs_csrf=%s; Path=/; SameSite=Strict%s", token, secure ? "; Secure" : "");
}

/* The value of cookie `name` in a Cookie header, into buf; 0 when found. */
static int cookie_value(const char *hdr, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = hdr; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t l = strcspn(p, ";");
		if (l > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			size_t vl = l - nl - 1;
			if (vl >= cap)
				return -1;
			memcpy(buf, p + nl + 1, vl);
			buf[vl] = '\0';
			return 0;
		}
		p += l;
	}
	return -1;
}

int webapi_origin_check(const char *origin, const char *host, const char **why)
{
	const char *o;
	if (!origin)
		return 1;
	/* "null" (a sandboxed frame, a redirect across sites) is no origin of ours */
	o = strstr(origin, "://");
	if (!o || !host || strcasecmp(o + 3, host) != 0) {
		*why = "the request comes from another site (its Origin is not this server)";
		return 0;
	}
	return 1;
}

int webapi_csrf_check(const char *cookie_header, const char *csrf_header, const char *origin, const char *host,
		      const char **why)
{
	char cookie[128];
	size_t n;
	unsigned char diff = 0;
	if (!webapi_origin_check(origin, host, why))
		return 0;
	if (!csrf_header || !*csrf_header || !cookie_header ||
	    cookie_value(cookie_header, "fangs_csrf", cookie, sizeof(cookie)) || !cookie[0]) {
		*why = "a write from a browser needs the X-Fangs-CSRF header equal to the fangs_csrf cookie"
		       " (GET /v1/csrf sets it)";
		return 0;
	}
	n = strlen(cookie);
	if (strlen(csrf_header) != n) {
		*why = "the X-Fangs-CSRF header does not match the fangs_csrf cookie";
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(cookie[i] ^ csrf_header[i]);
	if (diff) {
		*why = "the X-Fangs-CSRF header does not match the fangs_csrf cookie";
		return 0;
	}
	return 1;
}
