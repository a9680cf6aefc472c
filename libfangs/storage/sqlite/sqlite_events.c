/*
 * storage/sqlite/sqlite_events.c - events in SQLite: batched appends, reads that
 * decode the stored JSON back into events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

static int insert_all(fangs__sq *b, sqlite3_stmt *st, fangs_event *events, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const fangs_event *ev = &events[i];
		int rc;

		if ((rc = fangs__storage_event_encode(&b->enc, ev)))
			return rc;
		sqlite3_bind_int(st, 2, (int)ev->kind);
		sqlite3_bind_int64(st, 3, (int64_t)ev->ts_ns);
		sqlite3_bind_int(st, 4, ev->pid);
		sqlite3_bind_int(st, 5, ev->ppid);
		fangs__sq_bind_str(st, 6, ev->comm);
		fangs__sq_bind_str(st, 7, fangs__storage_event_value(ev));
		sqlite3_bind_text(st, 8, b->enc.data, (int)b->enc.len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return fangs__sq_fail(b, rc, "appending events");
		events[i].id = sqlite3_last_insert_rowid(b->db);
	}
	return 0;
}

/* Adds the inserted `events` to the run's rows of run_processes. */
static int add_processes(fangs__sq *b, const char *run_id, const fangs_event *events, size_t n)
{
	fangs_proc_group_list g = {0};
	sqlite3_stmt *st;
	int rc;

	if ((rc = fangs__storage_proc_summary(events, n, &g)))
		return rc;
	st = fangs__sq_stmt(b, "INSERT INTO run_processes (run_id, pid, ppid, kind, events, first_id, last_id)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run_id, pid, ppid, kind) DO UPDATE"
			       " SET events = events + excluded.events, first_id = min(first_id, excluded.first_id),"
			       " last_id = max(last_id, excluded.last_id)");
	if (!st)
		rc = fangs_error_last_code();
	else
		sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	for (size_t i = 0; i < g.count && !rc; i++) {
		sqlite3_bind_int(st, 2, g.items[i].pid);
		sqlite3_bind_int(st, 3, g.items[i].ppid);
		sqlite3_bind_int(st, 4, g.items[i].kind);
		sqlite3_bind_int64(st, 5, g.items[i].count);
		sqlite3_bind_int64(st, 6, g.items[i].first_id);
		sqlite3_bind_int64(st, 7, g.items[i].last_id);
		rc = fangs__sq_step_done(b, st, "summing up processes");
	}
	free(g.items);
	return rc;
}

/* Inserts `events` of `run_id` (ids filled in), in the open transaction;
 * the run's event count and processes (schema 6) go up with them. */
static int insert_run_events(fangs__sq *b, const char *run_id, fangs_event *events, size_t n)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, "UPDATE runs SET event_count = event_count + ?2 WHERE id = ?1");
	int rc;

	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)n);
	if ((rc = fangs__sq_step_done(b, st, "counting events")))
		return rc;
	st = fangs__sq_stmt(b, "INSERT INTO events (run_id, kind, ts_ns, pid, ppid, comm, value, data)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (!st)
		return fangs_error_last_code();
	/* bindings survive sqlite3_reset: the run is bound once for the batch */
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if ((rc = insert_all(b, st, events, n)))
		return rc;
	return add_processes(b, run_id, events, n);
}

int fangs__sq_events_append(fangs_storage_backend *bb, const char *run_id, fangs_event *events, size_t n)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__sq_run_exists(b, run_id)))
		rc = insert_run_events(b, run_id, events, n);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_events_append_batch(fangs_storage_backend *bb, const char *run_id, int64_t seq, fangs_event *events,
				  size_t n, int *duplicate)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if ((rc = fangs__sq_run_exists(b, run_id)))
		goto out;
	/* the number first: a batch seen before stops here */
	st = fangs__sq_stmt(b, "INSERT INTO event_batches (run_id, seq, events, received_ns) VALUES (?1, ?2, ?3, ?4)"
			       " ON CONFLICT (run_id, seq) DO NOTHING");
	if (!st) {
		rc = fangs_error_last_code();
		goto out;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int64(st, 3, (int64_t)n);
	sqlite3_bind_int64(st, 4, fangs__now_ns());
	if ((rc = fangs__sq_step_done(b, st, "recording an event batch")))
		goto out;
	if (sqlite3_changes64(b->db) == 0) {
		*duplicate = 1;
		goto out;
	}
	if (n == 0)
		goto out;
	rc = insert_run_events(b, run_id, events, n);
out:
	return fangs__sq_write_end(b, outer, rc);
}

/* Decodes the row (id, run_id, data) into a new slot of `out`. */
static int read_event(fangs__sq *b, sqlite3_stmt *st, fangs_event_list *out)
{
	const char *data = (const char *)sqlite3_column_text(st, 2);
	int64_t id = sqlite3_column_int64(st, 0);
	fangs_event ev = {0};
	int rc;

	if (!data)
		return fangs_error_set(FANGS_ESTORAGE, "sqlite %s: event %lld has no data", b->path, (long long)id);
	if ((rc = fangs_event_from_json(&ev, data, (size_t)sqlite3_column_bytes(st, 2))))
		return fangs_error_set(rc, "sqlite %s: stored event %lld: %s", b->path, (long long)id,
				       fangs_error_last());
	ev.id = id;
	if ((rc = fangs__sq_col_str(st, 1, &ev.run_id)) || (rc = fangs_event_list_append(out, &ev))) {
		fangs_event_clear(&ev);
		return rc;
	}
	return 0;
}

int fangs__sq_events_list(fangs_storage_backend *bb, const char *run_id, fangs_event_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int rc;

	if ((rc = fangs__sq_run_exists(b, run_id)))
		return rc;
	st = fangs__sq_stmt(b, "SELECT id, run_id, data FROM events WHERE run_id = ?1 ORDER BY id");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = read_event(b, st, out)))
			goto out;
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing events");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_events_get(fangs_storage_backend *bb, const int64_t *ids, size_t n, fangs_event_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT id, run_id, data FROM events WHERE id = ?1");
	int rc = 0;

	if (!st)
		return fangs_error_last_code();
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = read_event(b, st, out);
		else if (rc == SQLITE_DONE)
			rc = 0;
		else
			rc = fangs__sq_fail(b, rc, "reading events");
		sqlite3_reset(st);
	}
	return rc;
}

int fangs__sq_events_page(fangs_storage_backend *bb, const fangs_event_query *q, fangs_event_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int rc;

	if ((rc = fangs__sq_run_exists(b, q->run_id)))
		return rc;
	st = fangs__sq_stmt(b, "SELECT id, run_id, data FROM events WHERE run_id = ?1 AND id > ?2"
			       " AND (?3 = 0 OR kind = ?3) AND (?4 < 0 OR pid = ?4)"
			       " AND (?5 IS NULL OR instr(value, ?5) > 0 OR instr(comm, ?5) > 0"
			       " OR (kind = 2 AND instr(data, ?5) > 0))"
			       " ORDER BY id LIMIT ?6");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, q->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, q->after_id);
	sqlite3_bind_int(st, 3, q->kind);
	sqlite3_bind_int64(st, 4, q->pid);
	fangs__sq_bind_str(st, 5, q->text);
	sqlite3_bind_int64(st, 6, q->limit ? (int64_t)q->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = read_event(b, st, out)))
			goto out;
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing events");
out:
	sqlite3_reset(st);
	return rc;
}

/* The events of the run cited by its deviations (the set is built once). */
#define CITED_BY_RUN \
	"e.id IN (SELECT de.event_id FROM deviation_evidence de" \
	" JOIN deviations d ON d.id = de.deviation_id WHERE d.run_id = ?1)"

/* Looking for text: one pass over the run's events. */
#define GROUPS_SCAN \
	"SELECT e.pid, e.ppid, e.kind, COUNT(*), MIN(e.id), MAX(e.id)," \
	" SUM(CASE WHEN " CITED_BY_RUN " THEN 1 ELSE 0 END)," \
	" SUM(CASE WHEN (?2 = 0 OR e.kind = ?2) AND (instr(e.value, ?3) > 0" \
	"  OR instr(e.comm, ?3) > 0 OR (e.kind = 2 AND instr(e.data, ?3) > 0)) THEN 1 ELSE 0 END)" \
	" FROM events e WHERE e.run_id = ?1 GROUP BY e.pid, e.ppid, e.kind"

/* Otherwise the run's rows of run_processes, and the cited events grouped
 * the same way, each looked up by id (SQLite keeps the left side of a
 * CROSS JOIN outside: never a scan of the run's events). */
#define GROUPS_SUMMARY \
	"SELECT p.pid, p.ppid, p.kind, p.events, p.first_id, p.last_id, COALESCE(x.n, 0)," \
	" CASE WHEN ?2 = 0 OR p.kind = ?2 THEN p.events ELSE 0 END" \
	" FROM run_processes p LEFT JOIN (SELECT e.pid, e.ppid, e.kind, COUNT(*) AS n" \
	"  FROM (SELECT DISTINCT de.event_id FROM deviation_evidence de" \
	"  JOIN deviations d ON d.id = de.deviation_id WHERE d.run_id = ?1) c" \
	"  CROSS JOIN events e ON e.id = c.event_id AND e.run_id = ?1 GROUP BY e.pid, e.ppid, e.kind) x" \
	" ON x.pid = p.pid AND x.ppid = p.ppid AND x.kind = p.kind WHERE p.run_id = ?1"

int fangs__sq_proc_groups(fangs_storage_backend *bb, const fangs_tree_query *q, fangs_proc_group_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int rc;

	if ((rc = fangs__sq_run_exists(b, q->run_id)))
		return rc;
	if (!(st = fangs__sq_stmt(b, q->text ? GROUPS_SCAN : GROUPS_SUMMARY)))
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, q->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, q->kind);
	if (q->text)
		sqlite3_bind_text(st, 3, q->text, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_proc_group *g;
		if (FANGS_GROW(out)) {
			rc = fangs_error_set(FANGS_ENOMEM, "out of memory");
			goto out;
		}
		g = &out->items[out->count++];
		g->pid = sqlite3_column_int(st, 0);
		g->ppid = sqlite3_column_int(st, 1);
		g->kind = sqlite3_column_int(st, 2);
		g->count = sqlite3_column_int64(st, 3);
		g->first_id = sqlite3_column_int64(st, 4);
		g->last_id = sqlite3_column_int64(st, 5);
		g->deviating = sqlite3_column_int64(st, 6);
		g->matched = sqlite3_column_int64(st, 7);
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "grouping events by process");
out:
	sqlite3_reset(st);
	return rc;
}
