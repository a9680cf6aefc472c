/*
 * storage/sqlite/sqlite_allow.c - allowlist entries in SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

int fangs__sq_allow_add(fangs_storage_backend *bb, fangs_allow_entry *entry)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "INSERT INTO allowlists (kind, value, package, note, created_ns)"
					     " VALUES (?1, ?2, ?3, ?4, ?5)");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int(st, 1, (int)entry->kind);
	sqlite3_bind_text(st, 2, entry->value, -1, SQLITE_STATIC);
	fangs__sq_bind_str(st, 3, entry->package);
	fangs__sq_bind_str(st, 4, entry->note);
	sqlite3_bind_int64(st, 5, entry->created_ns);
	if ((rc = fangs__sq_step_done(b, st, "adding an allowlist entry")))
		return rc;
	entry->id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

int fangs__sq_allow_list(fangs_storage_backend *bb, const char *package, fangs_allow_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT id, kind, value, package, note, created_ns FROM allowlists"
					     " WHERE ?1 IS NULL OR package IS NULL OR package = ?1 ORDER BY id");
	int rc;
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, package);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_allow_entry *e;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		e = &out->items[out->count];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->kind = (fangs_allow_kind)sqlite3_column_int(st, 1);
		e->created_ns = sqlite3_column_int64(st, 5);
		if ((rc = fangs__sq_col_str(st, 2, &e->value)) || (rc = fangs__sq_col_str(st, 3, &e->package)) ||
		    (rc = fangs__sq_col_str(st, 4, &e->note))) {
			free(e->value);
			free(e->package);
			memset(e, 0, sizeof(*e));
			goto out;
		}
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing allowlist entries");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_allow_remove(fangs_storage_backend *bb, int64_t id)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "DELETE FROM allowlists WHERE id = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int64(st, 1, id);
	if ((rc = fangs__sq_step_done(b, st, "removing an allowlist entry")))
		return rc;
	if (sqlite3_changes64(b->db) == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "allowlist entry %lld does not exist", (long long)id);
	return 0;
}
