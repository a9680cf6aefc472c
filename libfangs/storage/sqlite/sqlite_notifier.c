/*
 * storage/sqlite/sqlite_notifier.c - notifier targets and their delivery history
 * in SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

int fangs__sq_notifier_add(fangs_storage_backend *bb, fangs_notifier_target *t)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st =
		fangs__sq_stmt(b, "INSERT INTO notifiers (name, url, template, enabled, min_severity,"
				  " headers, secret_env, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	char *headers = NULL;
	int rc;
	if (!st)
		return fangs_error_last_code();
	if ((rc = fangs__storage_headers_encode(t, &headers)))
		return rc;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->template_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, t->enabled ? 1 : 0);
	sqlite3_bind_int(st, 5, (int)t->min_severity);
	fangs__sq_bind_str(st, 6, headers);
	fangs__sq_bind_str(st, 7, t->secret_env);
	sqlite3_bind_int64(st, 8, t->created_ns);
	rc = fangs__sq_step_done(b, st, "adding a notifier");
	free(headers);
	if (rc == FANGS_EEXISTS)
		return fangs_error_set(rc, "a notifier named '%s' already exists", t->name);
	if (rc)
		return rc;
	t->id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

static int read_target(sqlite3_stmt *st, fangs_notifier_target *t)
{
	char *headers = NULL;
	int rc;
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	t->enabled = sqlite3_column_int(st, 4);
	t->min_severity = (fangs_severity)sqlite3_column_int(st, 5);
	t->created_ns = sqlite3_column_int64(st, 8);
	if ((rc = fangs__sq_col_str(st, 1, &t->name)) || (rc = fangs__sq_col_str(st, 2, &t->url)) ||
	    (rc = fangs__sq_col_str(st, 3, &t->template_name)) || (rc = fangs__sq_col_str(st, 6, &headers)) ||
	    (rc = fangs__sq_col_str(st, 7, &t->secret_env)) || (rc = fangs__storage_headers_decode(headers, t)))
		fangs_notifier_target_clear(t);
	free(headers);
	return rc;
}

int fangs__sq_notifier_list(fangs_storage_backend *bb, fangs_notifier_target_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_NOTIFIER_COLS " FROM notifiers ORDER BY name");
	int rc;
	if (!st)
		return fangs_error_last_code();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		if ((rc = read_target(st, &out->items[out->count])))
			goto out;
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing notifiers");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_notifier_get(fangs_storage_backend *bb, const char *name, fangs_notifier_target *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_NOTIFIER_COLS " FROM notifiers WHERE name = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_target(st, out);
	else if (rc == SQLITE_DONE)
		rc = fangs_error_set(FANGS_ENOTFOUND, "no notifier named '%s'", name);
	else
		rc = fangs__sq_fail(b, rc, "reading a notifier");
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_notifier_remove(fangs_storage_backend *bb, const char *name)
{
	fangs__sq *b = fangs__sq_of(bb);
	int64_t n = 0;
	int outer, rc;
	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__sq_run(
		      b, "DELETE FROM notifications WHERE notifier_id IN (SELECT id FROM notifiers WHERE name = ?1)",
		      name, NULL)) &&
	    !(rc = fangs__sq_run(b, "DELETE FROM notifiers WHERE name = ?1", name, &n)) && n == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "no notifier named '%s'", name);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_notification_insert(fangs_storage_backend *bb, fangs_notification *n)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "INSERT INTO notifications (notifier_id, run_id, attempt, status,"
					     " http_status, error, next_attempt_ns, body, created_ns)"
					     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, n->notifier_id);
	sqlite3_bind_text(st, 2, n->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, n->attempt);
	sqlite3_bind_text(st, 4, fangs_notification_status_name(n->status), -1, SQLITE_STATIC);
	if (n->http_status)
		sqlite3_bind_int(st, 5, n->http_status);
	fangs__sq_bind_str(st, 6, n->error);
	sqlite3_bind_int64(st, 7, n->next_attempt_ns);
	fangs__sq_bind_str(st, 8, n->body);
	sqlite3_bind_int64(st, 9, n->created_ns);
	if ((rc = fangs__sq_step_done(b, st, "recording a notification")))
		return rc == FANGS_ENOTFOUND
			       ? fangs_error_set(rc, "notifier %lld does not exist", (long long)n->notifier_id)
			       : rc;
	n->id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

int fangs__sq_notification_update(fangs_storage_backend *bb, const fangs_notification *n)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "UPDATE notifications SET status = ?2, http_status = ?3, error = ?4,"
					     " next_attempt_ns = ?5, body = ?6, created_ns = ?7 WHERE id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, n->id);
	sqlite3_bind_text(st, 2, fangs_notification_status_name(n->status), -1, SQLITE_STATIC);
	if (n->http_status)
		sqlite3_bind_int(st, 3, n->http_status);
	fangs__sq_bind_str(st, 4, n->error);
	sqlite3_bind_int64(st, 5, n->next_attempt_ns);
	fangs__sq_bind_str(st, 6, n->body);
	sqlite3_bind_int64(st, 7, n->created_ns);
	if ((rc = fangs__sq_step_done(b, st, "updating a notification")))
		return rc;
	if (sqlite3_changes64(b->db) == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "notification %lld does not exist", (long long)n->id);
	return 0;
}

static int read_notifications(fangs__sq *b, sqlite3_stmt *st, fangs_notification_list *out, const char *what)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_notification *n;
		char *status = NULL;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		n = &out->items[out->count];
		memset(n, 0, sizeof(*n));
		n->id = sqlite3_column_int64(st, 0);
		n->notifier_id = sqlite3_column_int64(st, 1);
		n->attempt = sqlite3_column_int(st, 4);
		n->http_status = sqlite3_column_int(st, 6);
		n->next_attempt_ns = sqlite3_column_int64(st, 8);
		n->created_ns = sqlite3_column_int64(st, 10);
		if ((rc = fangs__sq_col_str(st, 2, &n->notifier_name)) || (rc = fangs__sq_col_str(st, 3, &n->run_id)) ||
		    (rc = fangs__sq_col_str(st, 5, &status)) || (rc = fangs__sq_col_str(st, 7, &n->error)) ||
		    (rc = fangs__sq_col_str(st, 9, &n->body)) ||
		    (rc = fangs_notification_status_parse(status, &n->status))) {
			free(status);
			fangs_notification_clear(n);
			goto out;
		}
		free(status);
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, what);
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_notification_list(fangs_storage_backend *bb, const fangs_notification_filter *f,
				fangs_notification_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_NOTIFICATION_COLS
					     " FROM notifications n JOIN notifiers t ON t.id = n.notifier_id"
					     " WHERE (?1 IS NULL OR n.run_id = ?1) AND (?2 IS NULL OR t.name = ?2)"
					     " AND (?3 = 0 OR n.notifier_id = ?3) ORDER BY n.id LIMIT ?4");
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, f->run_id);
	fangs__sq_bind_str(st, 2, f->notifier);
	sqlite3_bind_int64(st, 3, f->notifier_id);
	sqlite3_bind_int64(st, 4, f->limit ? (int64_t)f->limit : -1);
	return read_notifications(b, st, out, "listing notifications");
}

int fangs__sq_notification_due(fangs_storage_backend *bb, int64_t now_ns, size_t limit, fangs_notification_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_NOTIFICATION_COLS
					     " FROM notifications n JOIN notifiers t ON t.id = n.notifier_id"
					     " WHERE n.status IN ('pending', 'sending') AND n.next_attempt_ns <= ?1"
					     " ORDER BY n.next_attempt_ns, n.id LIMIT ?2");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, now_ns);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	return read_notifications(b, st, out, "listing due notifications");
}

int fangs__sq_notification_claim(fangs_storage_backend *bb, int64_t id, fangs_notification_status status,
				 int64_t next_attempt_ns, int64_t lease_until_ns)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "UPDATE notifications SET status = 'sending', next_attempt_ns = ?4"
					     " WHERE id = ?1 AND status = ?2 AND next_attempt_ns = ?3");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, fangs_notification_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, next_attempt_ns);
	sqlite3_bind_int64(st, 4, lease_until_ns);
	if ((rc = fangs__sq_step_done(b, st, "claiming a notification")))
		return rc;
	if (sqlite3_changes64(b->db) == 0)
		return fangs_error_set(FANGS_EBUSY, "notification %lld was taken by another sender", (long long)id);
	return 0;
}
