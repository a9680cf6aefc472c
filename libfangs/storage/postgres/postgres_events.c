/*
 * storage/postgres/postgres_events.c - events in PostgreSQL: one partition per day of
 * the run (made on demand), large batches sent with COPY under ids reserved
 * from the sequence, small ones inserted; reads also see the events kept
 * as evidence when their day was dropped (postgres_prune.c).
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

/* Flush COPY data in chunks of about this size. */
#define COPY_CHUNK (256 * 1024)

/* Appends s[0..n) to out with every byte that does not start a valid UTF-8
 * sequence replaced by U+FFFD (the server refuses such text); with `copy`,
 * escaped for COPY's text format as well. */
static void put_text(fangs_buf *out, const char *s, size_t n, int copy)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t run = i, len;
		uint32_t cp;
		while (run < n && p[run] < 0x80 &&
		       (!copy || (p[run] != '\\' && p[run] != '\n' && p[run] != '\r' && p[run] != '\t')))
			run++;
		fangs_buf_put(out, s + i, run - i);
		if ((i = run) == n)
			break;
		if (p[i] < 0x80) {
			fangs_buf_putc(out, '\\');
			fangs_buf_putc(out, p[i] == '\\' ? '\\' : p[i] == '\n' ? 'n' : p[i] == '\r' ? 'r' : 't');
			i++;
		} else if ((len = fangs__utf8_seq(p + i, n - i, &cp))) {
			fangs_buf_put(out, s + i, len);
			i += len;
		} else {
			fangs_buf_put(out, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

/* One field of COPY's text format: \N for NULL, backslash escapes. */
static void copy_field(fangs_buf *out, const char *s, size_t n, int last)
{
	if (!s)
		fangs_buf_put(out, "\\N", 2);
	else
		put_text(out, s, n, 1);
	fangs_buf_putc(out, last ? '\n' : '\t');
}

static void copy_str(fangs_buf *out, const char *s)
{
	copy_field(out, s, s ? strlen(s) : 0, 0);
}

static void copy_num(fangs_buf *out, int64_t v)
{
	fangs_buf_i64(out, v);
	fangs_buf_putc(out, '\t');
}

static int copy_row(fangs__pg *b, int64_t id, const char *run_id, int day, const fangs_event *ev)
{
	int rc;

	if ((rc = fangs__storage_event_encode(&b->enc, ev)))
		return rc;
	copy_num(&b->copy, id);
	copy_str(&b->copy, run_id);
	copy_num(&b->copy, ev->kind);
	copy_num(&b->copy, (int64_t)ev->ts_ns);
	copy_num(&b->copy, ev->pid);
	copy_num(&b->copy, ev->ppid);
	copy_str(&b->copy, ev->comm);
	copy_str(&b->copy, fangs__storage_event_value(ev));
	copy_field(&b->copy, b->enc.data, b->enc.len, 0);
	fangs_buf_i64(&b->copy, day);
	fangs_buf_putc(&b->copy, '\n');
	return b->copy.oom ? FANGS_ENOMEM : 0;
}

static int send_copy(fangs__pg *b)
{
	if (b->copy.len && PQputCopyData(b->conn, b->copy.data, (int)b->copy.len) != 1)
		return fangs__pg_fail(b, NULL, "sending events");
	fangs_buf_reset(&b->copy);
	return 0;
}

static int copy_events(fangs__pg *b, const char *run_id, int day, fangs_event *events, const int64_t *ids, size_t n)
{
	PGresult *res =
		PQexec(b->conn, "COPY events (id, run_id, kind, ts_ns, pid, ppid, comm, value, data, day) FROM STDIN");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = fangs__pg_fail(b, res, "starting COPY");
		PQclear(res);
		return rc;
	}
	PQclear(res);
	fangs_buf_reset(&b->copy);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = copy_row(b, ids[i], run_id, day, &events[i]);
		if (rc == 0 && b->copy.len >= COPY_CHUNK)
			rc = send_copy(b);
	}
	if (rc == 0)
		rc = send_copy(b);
	if (PQputCopyEnd(b->conn, rc ? "aborted by fangs" : NULL) != 1 && rc == 0)
		rc = fangs__pg_fail(b, NULL, "ending COPY");
	while ((res = PQgetResult(b->conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = fangs__pg_fail(b, res, "appending events");
		PQclear(res);
	}
	return rc;
}

/* Takes n ids from the sequence: ids must be known to the caller, and
 * COPY cannot return them. */
static int reserve_ids(fangs__pg *b, size_t n, int64_t *ids)
{
	fangs__pg_params p = {0};
	PGresult *res;
	fangs__pg_i64(&p, (int64_t)n);
	res = fangs__pg_query(b, "SELECT nextval('events_id_seq') FROM generate_series(1, $1::bigint) ORDER BY 1", &p,
			      "reserving event ids");
	if (!res)
		return fangs_error_last_code();
	if ((size_t)PQntuples(res) != n) {
		PQclear(res);
		return fangs_error_set(FANGS_ESTORAGE, "postgres %s: reserving event ids: got fewer than %zu", b->where,
				       n);
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = fangs__pg_col_i64(res, (int)i, 0);
	PQclear(res);
	return 0;
}

/* Small batches: one INSERT per event (COPY's set-up costs more round trips
 * than it saves). Strings are repaired like COPY's. */
static int insert_events(fangs__pg *b, const char *run_id, int day, fangs_event *events, int64_t *ids, size_t n)
{
	fangs_buf comm = {0}, value = {0};
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const fangs_event *ev = &events[i];
		const char *v = fangs__storage_event_value(ev);
		fangs__pg_params p = {0};
		PGresult *res;

		if ((rc = fangs__storage_event_encode(&b->enc, ev)))
			break;
		fangs_buf_reset(&comm);
		fangs_buf_reset(&value);
		if (ev->comm)
			put_text(&comm, ev->comm, strlen(ev->comm), 0);
		if (v)
			put_text(&value, v, strlen(v), 0);
		fangs_buf_putc(&comm, '\0');
		fangs_buf_putc(&value, '\0');
		fangs_buf_putc(&b->enc, '\0');
		if (comm.oom || value.oom || b->enc.oom) {
			rc = FANGS_ENOMEM;
			break;
		}
		fangs__pg_str(&p, run_id);
		fangs__pg_i64(&p, ev->kind);
		fangs__pg_i64(&p, (int64_t)ev->ts_ns);
		fangs__pg_i64(&p, ev->pid);
		fangs__pg_i64(&p, ev->ppid);
		fangs__pg_str(&p, ev->comm ? comm.data : NULL);
		fangs__pg_str(&p, v ? value.data : NULL);
		fangs__pg_str(&p, b->enc.data);
		fangs__pg_i64(&p, day);
		res = fangs__pg_query(b,
				      "INSERT INTO events (run_id, kind, ts_ns, pid, ppid, comm, value, data, day)"
				      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
				      &p, "appending events");
		if (!res) {
			rc = fangs_error_last_code();
			break;
		}
		ids[i] = fangs__pg_col_i64(res, 0, 0);
		PQclear(res);
	}
	fangs_buf_free(&comm);
	fangs_buf_free(&value);
	return rc;
}

/* A serialising lock for making partitions (two ingests of a new day). */
#define PARTITION_LOCK "SELECT pg_advisory_xact_lock(7306034113)"
#define DAY_NAME(X) "'events_' || to_char(date '1970-01-01' + " X ", 'YYYYMMDD')"

static int make_partition(fangs__pg *b, int day, const char *name)
{
	char sql[256];
	int rc;
	if ((rc = fangs__pg_run(b, PARTITION_LOCK, NULL, "making a partition of events", NULL)))
		return rc;
	snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS \"%s\" PARTITION OF events FOR VALUES FROM (%d) TO (%d)",
		 name, day, day + 1);
	return fangs__pg_run(b, sql, NULL, "making a partition of events", NULL);
}

int fangs__pg_events_day_ensure(fangs__pg *b, int day)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;
	fangs__pg_i64(&p, day);
	res = fangs__pg_query(
		b, "SELECT " DAY_NAME("$1::integer") ", to_regclass(" DAY_NAME("$1::integer") ") IS NOT NULL", &p,
		"looking up a partition of events");
	if (!res)
		return fangs_error_last_code();
	if (PQgetvalue(res, 0, 1)[0] != 't')
		rc = make_partition(b, day, PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* The run's day (with `make`, its partition of events is made when
 * missing); ENOTFOUND without the run. One round trip when the partition
 * exists. */
static int run_day(fangs__pg *b, const char *run_id, int *day, int make)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;
	fangs__pg_str(&p, run_id);
	res = fangs__pg_query(
		b,
		"SELECT d, " DAY_NAME("d") ", to_regclass(" DAY_NAME(
			"d") ") IS NOT NULL FROM"
			     " (SELECT floor(created_ns / 86400000000000.0)::integer AS d FROM runs WHERE id = $1) r",
		&p, "looking up a run");
	if (!res)
		return fangs_error_last_code();
	if (PQntuples(res) == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run_id);
	else {
		*day = (int)fangs__pg_col_i64(res, 0, 0);
		if (make && PQgetvalue(res, 0, 2)[0] != 't')
			rc = make_partition(b, *day, PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return rc;
}

int fangs__pg_events_move(fangs__pg *b, const char *run_id, int from, int to)
{
	fangs__pg_params p = {0};
	int rc;
	if ((rc = fangs__pg_events_day_ensure(b, to)))
		return rc;
	fangs__pg_i64(&p, to);
	fangs__pg_str(&p, run_id);
	fangs__pg_i64(&p, from);
	return fangs__pg_run(b, "UPDATE events SET day = $1 WHERE run_id = $2 AND day = $3", &p,
			     "moving a run's events to its day", NULL);
}

/* One column of the groups as an array literal ("{1,2,3}"). */
static void group_array(fangs_buf *a, const fangs_proc_group_list *g, int col)
{
	fangs_buf_reset(a);
	fangs_buf_putc(a, '{');
	for (size_t i = 0; i < g->count; i++) {
		const fangs_proc_group *r = &g->items[i];
		int64_t v = col == 0   ? r->pid
			    : col == 1 ? r->ppid
			    : col == 2 ? r->kind
			    : col == 3 ? r->count
			    : col == 4 ? r->first_id
				       : r->last_id;
		fangs_buf_printf(a, "%s%lld", i ? "," : "", (long long)v);
	}
	fangs_buf_putc(a, '}');
	fangs_buf_putc(a, '\0');
}

/* Adds the stored events (ids set) to the run's rows of run_processes, in
 * one statement. */
static int add_processes(fangs__pg *b, const char *run_id, const fangs_event *events, const int64_t *ids, size_t n)
{
	fangs_proc_group_list g = {0};
	fangs_event *withids = calloc(n ? n : 1, sizeof(*withids));
	fangs_buf a[6] = {{0}};
	fangs__pg_params p = {0};
	int rc = 0, oom = 0;

	if (!withids)
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		withids[i].pid = events[i].pid;
		withids[i].ppid = events[i].ppid;
		withids[i].kind = events[i].kind;
		withids[i].id = ids[i];
	}
	rc = fangs__storage_proc_summary(withids, n, &g);
	free(withids);
	if (rc)
		return rc;
	fangs__pg_str(&p, run_id);
	for (int c = 0; c < 6; c++) {
		group_array(&a[c], &g, c);
		oom |= a[c].oom;
		fangs__pg_str(&p, a[c].data);
	}
	if (oom)
		rc = fangs__error_oom();
	else
		rc = fangs__pg_run(
			b,
			"INSERT INTO run_processes (run_id, pid, ppid, kind, events, first_id, last_id)"
			" SELECT $1::text, * FROM unnest($2::int[], $3::int[], $4::int[], $5::bigint[], $6::bigint[],"
			" $7::bigint[]) ON CONFLICT (run_id, pid, ppid, kind) DO UPDATE"
			" SET events = run_processes.events + excluded.events,"
			" first_id = LEAST(run_processes.first_id, excluded.first_id),"
			" last_id = GREATEST(run_processes.last_id, excluded.last_id)",
			&p, "summing up processes", NULL);
	for (int c = 0; c < 6; c++)
		fangs_buf_free(&a[c]);
	free(g.items);
	return rc;
}

/* Stores the events of a run (whose row the count update then locks
 * until the end of the transaction), counts them in runs.event_count and
 * adds them to run_processes. */
static int store(fangs__pg *b, const char *run_id, int day, fangs_event *events, int64_t *ids, size_t n)
{
	fangs__pg_params p = {0};
	int rc;
	fangs__pg_str(&p, run_id);
	fangs__pg_i64(&p, (int64_t)n);
	if ((rc = fangs__pg_run(b, "UPDATE runs SET event_count = event_count + $2 WHERE id = $1", &p,
				"counting events", NULL)))
		return rc;
	if (n < b->copy_min)
		rc = insert_events(b, run_id, day, events, ids, n);
	else if (!(rc = reserve_ids(b, n, ids)))
		rc = copy_events(b, run_id, day, events, ids, n);
	return rc ? rc : add_processes(b, run_id, events, ids, n);
}

int fangs__pg_events_append(fangs_storage_backend *bb, const char *run_id, fangs_event *events, size_t n)
{
	fangs__pg *b = fangs__pg_of(bb);
	int64_t *ids = calloc(n, sizeof(*ids));
	int outer, rc, day = 0;

	if (!ids)
		return fangs__error_oom();
	if ((rc = fangs__pg_write_begin(b, &outer))) {
		free(ids);
		return rc;
	}
	if (!(rc = run_day(b, run_id, &day, 1)))
		rc = store(b, run_id, day, events, ids, n);
	if ((rc = fangs__pg_write_end(b, outer, rc)) == 0)
		for (size_t i = 0; i < n; i++)
			events[i].id = ids[i];
	free(ids);
	return rc;
}

int fangs__pg_events_append_batch(fangs_storage_backend *bb, const char *run_id, int64_t seq, fangs_event *events,
				  size_t n, int *duplicate)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	int64_t *ids = calloc(n ? n : 1, sizeof(*ids)), added = 0;
	int outer, rc, day = 0;

	if (!ids)
		return fangs__error_oom();
	if ((rc = fangs__pg_write_begin(b, &outer))) {
		free(ids);
		return rc;
	}
	fangs__pg_str(&p, run_id);
	fangs__pg_i64(&p, seq);
	fangs__pg_i64(&p, (int64_t)n);
	fangs__pg_i64(&p, fangs__now_ns());
	/* the number first: a batch seen before stops here */
	if (!(rc = run_day(b, run_id, &day, 1)) &&
	    !(rc = fangs__pg_run(b,
				 "INSERT INTO event_batches (run_id, seq, events, received_ns) VALUES ($1, $2, $3, $4)"
				 " ON CONFLICT (run_id, seq) DO NOTHING",
				 &p, "recording an event batch", &added))) {
		if (added == 0)
			*duplicate = 1;
		else if (n)
			rc = store(b, run_id, day, events, ids, n);
	}
	if ((rc = fangs__pg_write_end(b, outer, rc)) == 0 && !*duplicate)
		for (size_t i = 0; i < n; i++)
			events[i].id = ids[i];
	free(ids);
	return rc;
}

static int read_events(fangs__pg *b, PGresult *res, fangs_event_list *out)
{
	for (int i = 0; i < PQntuples(res); i++) {
		fangs_event ev = {0};
		int64_t id = fangs__pg_col_i64(res, i, 0);
		int rc = fangs_event_from_json(&ev, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
		if (rc)
			return fangs_error_set(rc, "postgres %s: stored event %lld: %s", b->where, (long long)id,
					       fangs_error_last());
		ev.id = id;
		if ((rc = fangs__pg_col_str(res, i, 1, &ev.run_id)) || (rc = fangs_event_list_append(out, &ev))) {
			fangs_event_clear(&ev);
			return rc;
		}
	}
	return 0;
}

int fangs__pg_events_list(fangs_storage_backend *bb, const char *run_id, fangs_event_list *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	PGresult *res;
	int rc, day = 0;
	if ((rc = run_day(b, run_id, &day, 0)))
		return rc;
	fangs__pg_str(&p, run_id);
	fangs__pg_i64(&p, day);
	res = fangs__pg_query(b,
			      "SELECT id, run_id, data FROM events WHERE run_id = $1 AND day = $2 UNION ALL"
			      " SELECT id, run_id, data FROM evidence_events WHERE run_id = $1 ORDER BY 1",
			      &p, "listing events");
	if (!res)
		return fangs_error_last_code();
	rc = read_events(b, res, out);
	PQclear(res);
	return rc;
}

/* Ids a query asks for at once (one array parameter). */
#define GET_CHUNK 1000

static int cmp_event_id(const void *a, const void *b)
{
	int64_t x = ((const fangs_event *)a)->id, y = ((const fangs_event *)b)->id;
	return x < y ? -1 : x > y;
}

/* One round trip for up to GET_CHUNK ids (`= ANY`), then the events in the
 * order asked for. */
static int get_chunk(fangs__pg *b, const int64_t *ids, size_t n, fangs_event_list *out)
{
	fangs__pg_params p = {0};
	fangs_event_list got = {0};
	fangs_buf arr = {0};
	PGresult *res;
	int rc = 0;

	fangs_buf_putc(&arr, '{');
	for (size_t i = 0; i < n; i++)
		fangs_buf_printf(&arr, "%s%lld", i ? "," : "", (long long)ids[i]);
	fangs_buf_putc(&arr, '}');
	fangs_buf_putc(&arr, '\0');
	if (arr.oom) {
		fangs_buf_free(&arr);
		return fangs__error_oom();
	}
	fangs__pg_str(&p, arr.data);
	res = fangs__pg_query(b,
			      "SELECT id, run_id, data FROM events WHERE id = ANY($1::bigint[]) UNION ALL"
			      " SELECT id, run_id, data FROM evidence_events WHERE id = ANY($1::bigint[])",
			      &p, "reading events");
	fangs_buf_free(&arr);
	if (!res)
		return fangs_error_last_code();
	rc = read_events(b, res, &got);
	PQclear(res);
	if (rc)
		goto out;
	qsort(got.items, got.count, sizeof(*got.items), cmp_event_id);
	for (size_t i = 0; i < n && !rc; i++) {
		fangs_event key = {0}, *hit, *e;
		key.id = ids[i];
		hit = bsearch(&key, got.items, got.count, sizeof(*got.items), cmp_event_id);
		if (!hit)
			continue;
		if (!(e = fangs_event_list_push(out)) || fangs_event_copy(e, hit))
			rc = fangs__error_oom();
	}
out:
	fangs_event_list_free(&got);
	return rc;
}

int fangs__pg_events_get(fangs_storage_backend *bb, const int64_t *ids, size_t n, fangs_event_list *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += GET_CHUNK)
		rc = get_chunk(b, ids + i, n - i < GET_CHUNK ? n - i : GET_CHUNK, out);
	return rc;
}

int fangs__pg_events_page(fangs_storage_backend *bb, const fangs_event_query *q, fangs_event_list *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	PGresult *res;
	int rc, day = 0;
	if ((rc = run_day(b, q->run_id, &day, 0)))
		return rc;
	fangs__pg_str(&p, q->run_id);
	fangs__pg_i64(&p, q->after_id);
	fangs__pg_i64(&p, q->kind);
	fangs__pg_i64(&p, q->pid);
	fangs__pg_str(&p, q->text);
	if (q->limit)
		fangs__pg_i64(&p, (int64_t)q->limit);
	else
		fangs__pg_str(&p, NULL);
	fangs__pg_i64(&p, day);
	res = fangs__pg_query(b,
			      "SELECT id, run_id, data FROM events WHERE run_id = $1 AND day = $7 AND id > $2::bigint"
			      " AND ($3::int = 0 OR kind = $3) AND ($4::bigint < 0 OR pid = $4)"
			      " AND ($5::text IS NULL OR strpos(value, $5) > 0 OR strpos(comm, $5) > 0"
			      "  OR (kind = 2 AND strpos(data, $5) > 0))"
			      " ORDER BY id LIMIT $6::bigint",
			      &p, "listing events");
	if (!res)
		return fangs_error_last_code();
	rc = read_events(b, res, out);
	PQclear(res);
	return rc;
}

/* The events of the run cited by its deviations (the set is built once). */
#define CITED_BY_RUN \
	"e.id IN (SELECT de.event_id FROM deviation_evidence de" \
	" JOIN deviations d ON d.id = de.deviation_id WHERE d.run_id = $1)"

/* $1 run, $2 its day, $3 kind, $4 text. Looking for text: one pass over
 * the run's events. */
#define GROUPS_SCAN \
	"SELECT e.pid, e.ppid, e.kind, COUNT(*), MIN(e.id), MAX(e.id)," \
	" SUM(CASE WHEN " CITED_BY_RUN " THEN 1 ELSE 0 END)," \
	" SUM(CASE WHEN ($3::int = 0 OR e.kind = $3) AND (strpos(e.value, $4) > 0" \
	"  OR strpos(e.comm, $4) > 0 OR (e.kind = 2 AND strpos(e.data, $4) > 0)) THEN 1 ELSE 0 END)" \
	" FROM events e WHERE e.run_id = $1 AND e.day = $2 GROUP BY e.pid, e.ppid, e.kind"

/* Otherwise the run's rows of run_processes, and the cited events grouped
 * the same way, each looked up by id (LATERAL ... LIMIT 1: never a scan
 * of the run's events, whatever the statistics). */
#define GROUPS_SUMMARY \
	"SELECT p.pid, p.ppid, p.kind, p.events, p.first_id, p.last_id, COALESCE(x.n, 0)," \
	" CASE WHEN $3::int = 0 OR p.kind = $3 THEN p.events ELSE 0 END" \
	" FROM run_processes p LEFT JOIN (SELECT e.pid, e.ppid, e.kind, COUNT(*) AS n" \
	"  FROM (SELECT DISTINCT de.event_id FROM deviation_evidence de" \
	"  JOIN deviations d ON d.id = de.deviation_id WHERE d.run_id = $1) c CROSS JOIN LATERAL" \
	"  (SELECT e.pid, e.ppid, e.kind FROM events e WHERE e.id = c.event_id AND e.day = $2" \
	"  AND e.run_id = $1 LIMIT 1) e GROUP BY e.pid, e.ppid, e.kind) x" \
	" ON x.pid = p.pid AND x.ppid = p.ppid AND x.kind = p.kind WHERE p.run_id = $1"

int fangs__pg_proc_groups(fangs_storage_backend *bb, const fangs_tree_query *q, fangs_proc_group_list *out)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0, day = 0;
	if ((rc = run_day(b, q->run_id, &day, 0)))
		return rc;
	fangs__pg_str(&p, q->run_id);
	fangs__pg_i64(&p, day);
	fangs__pg_i64(&p, q->kind);
	if (q->text)
		fangs__pg_str(&p, q->text);
	res = fangs__pg_query(b, q->text ? GROUPS_SCAN : GROUPS_SUMMARY, &p, "grouping events by process");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res); i++) {
		fangs_proc_group *g;
		if (FANGS_GROW(out)) {
			rc = fangs_error_set(FANGS_ENOMEM, "out of memory");
			break;
		}
		g = &out->items[out->count++];
		g->pid = (int32_t)fangs__pg_col_i64(res, i, 0);
		g->ppid = (int32_t)fangs__pg_col_i64(res, i, 1);
		g->kind = (int)fangs__pg_col_i64(res, i, 2);
		g->count = fangs__pg_col_i64(res, i, 3);
		g->first_id = fangs__pg_col_i64(res, i, 4);
		g->last_id = fangs__pg_col_i64(res, i, 5);
		g->deviating = fangs__pg_col_i64(res, i, 6);
		g->matched = fangs__pg_col_i64(res, i, 7);
	}
	PQclear(res);
	return rc;
}
