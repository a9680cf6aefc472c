/*
 * storage/postgres/postgres_notifier.c - notifier targets and their delivery history
 * in PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

int fangs__pg_notifier_add(fangs_storage_backend *bb, fangs_notifier_target *t)
{
	fangs__pg_params p = {0};
	PGresult *res;
	char *headers = NULL;
	int rc;
	if ((rc = fangs__storage_headers_encode(t, &headers)))
		return rc;
	fangs__pg_str(&p, t->name);
	fangs__pg_str(&p, t->url);
	fangs__pg_str(&p, t->template_name);
	fangs__pg_i64(&p, t->enabled ? 1 : 0);
	fangs__pg_i64(&p, t->min_severity);
	fangs__pg_str(&p, headers);
	fangs__pg_str(&p, t->secret_env);
	fangs__pg_i64(&p, t->created_ns);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "INSERT INTO notifiers (name, url, template, enabled, min_severity, headers, secret_env,"
			      " created_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
			      &p, "adding a notifier");
	free(headers);
	if (!res) {
		rc = fangs_error_last_code();
		return rc == FANGS_EEXISTS ? fangs_error_set(rc, "a notifier named '%s' already exists", t->name) : rc;
	}
	t->id = fangs__pg_col_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

static int read_targets(PGresult *res, fangs_notifier_target_list *out)
{
	for (int i = 0; i < PQntuples(res); i++) {
		fangs_notifier_target *t;
		char *headers = NULL;
		int rc;
		if (FANGS_GROW(out))
			return FANGS_ENOMEM;
		t = &out->items[out->count];
		memset(t, 0, sizeof(*t));
		t->id = fangs__pg_col_i64(res, i, 0);
		t->enabled = (int)fangs__pg_col_i64(res, i, 4);
		t->min_severity = (fangs_severity)fangs__pg_col_i64(res, i, 5);
		t->created_ns = fangs__pg_col_i64(res, i, 8);
		if ((rc = fangs__pg_col_str(res, i, 1, &t->name)) || (rc = fangs__pg_col_str(res, i, 2, &t->url)) ||
		    (rc = fangs__pg_col_str(res, i, 3, &t->template_name)) ||
		    (rc = fangs__pg_col_str(res, i, 6, &headers)) ||
		    (rc = fangs__pg_col_str(res, i, 7, &t->secret_env)) ||
		    (rc = fangs__storage_headers_decode(headers, t))) {
			free(headers);
			fangs_notifier_target_clear(t);
			return rc;
		}
		free(headers);
		out->count++;
	}
	return 0;
}

int fangs__pg_notifier_list(fangs_storage_backend *bb, fangs_notifier_target_list *out)
{
	PGresult *res = fangs__pg_query(fangs__pg_of(bb),
					"SELECT " FANGS__STORAGE_NOTIFIER_COLS " FROM notifiers ORDER BY name", NULL,
					"listing notifiers");
	int rc;
	if (!res)
		return fangs_error_last_code();
	rc = read_targets(res, out);
	PQclear(res);
	return rc;
}

int fangs__pg_notifier_get(fangs_storage_backend *bb, const char *name, fangs_notifier_target *out)
{
	fangs_notifier_target_list list = {0};
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, name);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " FANGS__STORAGE_NOTIFIER_COLS " FROM notifiers WHERE name = $1", &p,
			      "reading a notifier");
	if (!res)
		return fangs_error_last_code();
	rc = read_targets(res, &list);
	PQclear(res);
	if (rc == 0 && list.count == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "no notifier named '%s'", name);
	if (rc == 0) {
		*out = list.items[0];
		list.count = 0;
	}
	fangs_notifier_target_list_free(&list);
	return rc;
}

int fangs__pg_notifier_remove(fangs_storage_backend *bb, const char *name)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	int64_t n = 0;
	int outer, rc;
	fangs__pg_str(&p, name);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__pg_run(
		      b, "DELETE FROM notifications WHERE notifier_id IN (SELECT id FROM notifiers WHERE name = $1)",
		      &p, "removing a notifier's history", NULL)) &&
	    !(rc = fangs__pg_run(b, "DELETE FROM notifiers WHERE name = $1", &p, "removing a notifier", &n)) && n == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "no notifier named '%s'", name);
	return fangs__pg_write_end(b, outer, rc);
}

/* $2.. of an insert or update: status, http_status, error, next_attempt_ns,
 * body, created_ns. */
static void put_mutable(fangs__pg_params *p, const fangs_notification *n)
{
	fangs__pg_str(p, fangs_notification_status_name(n->status));
	if (n->http_status)
		fangs__pg_i64(p, n->http_status);
	else
		fangs__pg_str(p, NULL);
	fangs__pg_str(p, n->error);
	fangs__pg_i64(p, n->next_attempt_ns);
	fangs__pg_str(p, n->body);
	fangs__pg_i64(p, n->created_ns);
}

int fangs__pg_notification_insert(fangs_storage_backend *bb, fangs_notification *n)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_i64(&p, n->notifier_id);
	put_mutable(&p, n);
	fangs__pg_str(&p, n->run_id);
	fangs__pg_i64(&p, n->attempt);
	res = fangs__pg_query(
		fangs__pg_of(bb),
		"INSERT INTO notifications (notifier_id, status, http_status, error, next_attempt_ns, body,"
		" created_ns, run_id, attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
		&p, "recording a notification");
	if (!res) {
		rc = fangs_error_last_code();
		return rc == FANGS_ENOTFOUND
			       ? fangs_error_set(rc, "notifier %lld does not exist", (long long)n->notifier_id)
			       : rc;
	}
	n->id = fangs__pg_col_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

int fangs__pg_notification_update(fangs_storage_backend *bb, const fangs_notification *n)
{
	fangs__pg_params p = {0};
	int64_t changed = 0;
	int rc;
	fangs__pg_i64(&p, n->id);
	put_mutable(&p, n);
	rc = fangs__pg_run(fangs__pg_of(bb),
			   "UPDATE notifications SET status = $2, http_status = $3, error = $4, next_attempt_ns = $5,"
			   " body = $6, created_ns = $7 WHERE id = $1",
			   &p, "updating a notification", &changed);
	if (rc)
		return rc;
	return changed ? 0 : fangs_error_set(FANGS_ENOTFOUND, "notification %lld does not exist", (long long)n->id);
}

static int read_notifications(fangs__pg *b, const char *sql, const fangs__pg_params *p, fangs_notification_list *out,
			      const char *what)
{
	PGresult *res = fangs__pg_query(b, sql, p, what);
	int rc = 0;
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		fangs_notification *n;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			break;
		}
		n = &out->items[out->count];
		memset(n, 0, sizeof(*n));
		n->id = fangs__pg_col_i64(res, i, 0);
		n->notifier_id = fangs__pg_col_i64(res, i, 1);
		n->attempt = (int)fangs__pg_col_i64(res, i, 4);
		n->http_status = (int)fangs__pg_col_i64(res, i, 6);
		n->next_attempt_ns = fangs__pg_col_i64(res, i, 8);
		n->created_ns = fangs__pg_col_i64(res, i, 10);
		if ((rc = fangs__pg_col_str(res, i, 2, &n->notifier_name)) ||
		    (rc = fangs__pg_col_str(res, i, 3, &n->run_id)) || (rc = fangs__pg_col_str(res, i, 7, &n->error)) ||
		    (rc = fangs__pg_col_str(res, i, 9, &n->body)) ||
		    (rc = fangs_notification_status_parse(PQgetvalue(res, i, 5), &n->status))) {
			fangs_notification_clear(n);
			break;
		}
		out->count++;
	}
	PQclear(res);
	return rc;
}

int fangs__pg_notification_list(fangs_storage_backend *bb, const fangs_notification_filter *f,
				fangs_notification_list *out)
{
	fangs__pg_params p = {0};
	fangs__pg_str(&p, f->run_id);
	fangs__pg_str(&p, f->notifier);
	fangs__pg_i64(&p, f->notifier_id);
	if (f->limit)
		fangs__pg_i64(&p, (int64_t)f->limit);
	else
		fangs__pg_str(&p, NULL);
	return read_notifications(fangs__pg_of(bb),
				  "SELECT " FANGS__STORAGE_NOTIFICATION_COLS
				  " FROM notifications n JOIN notifiers t ON t.id = n.notifier_id"
				  " WHERE ($1::text IS NULL OR n.run_id = $1) AND ($2::text IS NULL OR t.name = $2)"
				  " AND ($3::bigint = 0 OR n.notifier_id = $3) ORDER BY n.id LIMIT $4::bigint",
				  &p, out, "listing notifications");
}

int fangs__pg_notification_due(fangs_storage_backend *bb, int64_t now_ns, size_t limit, fangs_notification_list *out)
{
	fangs__pg_params p = {0};
	fangs__pg_i64(&p, now_ns);
	if (limit)
		fangs__pg_i64(&p, (int64_t)limit);
	else
		fangs__pg_str(&p, NULL);
	return read_notifications(fangs__pg_of(bb),
				  "SELECT " FANGS__STORAGE_NOTIFICATION_COLS
				  " FROM notifications n JOIN notifiers t ON t.id = n.notifier_id"
				  " WHERE n.status IN ('pending', 'sending') AND n.next_attempt_ns <= $1"
				  " ORDER BY n.next_attempt_ns, n.id LIMIT $2::bigint",
				  &p, out, "listing due notifications");
}

int fangs__pg_notification_claim(fangs_storage_backend *bb, int64_t id, fangs_notification_status status,
				 int64_t next_attempt_ns, int64_t lease_until_ns)
{
	fangs__pg_params p = {0};
	int64_t changed = 0;
	int rc;
	fangs__pg_i64(&p, id);
	fangs__pg_str(&p, fangs_notification_status_name(status));
	fangs__pg_i64(&p, next_attempt_ns);
	fangs__pg_i64(&p, lease_until_ns);
	rc = fangs__pg_run(fangs__pg_of(bb),
			   "UPDATE notifications SET status = 'sending', next_attempt_ns = $4"
			   " WHERE id = $1 AND status = $2 AND next_attempt_ns = $3",
			   &p, "claiming a notification", &changed);
	if (rc)
		return rc;
	return changed ? 0
		       : fangs_error_set(FANGS_EBUSY, "notification %lld was taken by another sender", (long long)id);
}
