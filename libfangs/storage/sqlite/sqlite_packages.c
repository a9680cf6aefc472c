/*
 * storage/sqlite/sqlite_packages.c - packages and releases in SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sqlite/sqlite_internal.h"

static int read_package(sqlite3_stmt *st, fangs_package *p)
{
	int rc;
	memset(p, 0, sizeof(*p));
	if ((rc = fangs__sq_col_str(st, 0, &p->name)) || (rc = fangs__sq_col_str(st, 2, &p->last_seen_version))) {
		fangs_package_clear(p);
		return rc;
	}
	p->watched = sqlite3_column_int(st, 1);
	p->created_ns = sqlite3_column_int64(st, 3);
	p->run_count = sqlite3_column_int64(st, 4);
	p->baseline_size = sqlite3_column_int64(st, 5);
	return 0;
}

static int ensure_package(fangs__sq *b, const char *name)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, "INSERT INTO packages (name, watched, created_ns) VALUES (?1, 0, ?2)"
					     " ON CONFLICT (name) DO NOTHING");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, fangs__now_ns());
	return fangs__sq_step_done(b, st, "adding a package");
}

int fangs__sq_package_upsert(fangs_storage_backend *bb, const char *name, int watched)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "INSERT INTO packages (name, watched, created_ns)"
					     " VALUES (?1, MAX(?2, 0), ?3)"
					     " ON CONFLICT (name) DO UPDATE SET"
					     " watched = CASE WHEN ?2 >= 0 THEN ?2 ELSE watched END");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, watched);
	sqlite3_bind_int64(st, 3, fangs__now_ns());
	return fangs__sq_step_done(b, st, "upserting a package");
}

int fangs__sq_package_get(fangs_storage_backend *bb, const char *name, fangs_package *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st =
		fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_PACKAGE_COLS " FROM packages p WHERE p.name = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_package(st, out);
	else if (rc == SQLITE_DONE)
		rc = fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
	else
		rc = fangs__sq_fail(b, rc, "reading a package");
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_package_list(fangs_storage_backend *bb, int watched_only, fangs_package_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT " FANGS__STORAGE_PACKAGE_COLS " FROM packages p"
					     " WHERE ?1 = 0 OR p.watched = 1 ORDER BY p.name");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_int(st, 1, watched_only ? 1 : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		if ((rc = read_package(st, &out->items[out->count])))
			goto out;
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing packages");
out:
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_package_set_last_seen(fangs_storage_backend *bb, const char *name, const char *version)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "UPDATE packages SET last_seen_version = ?2 WHERE name = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	if ((rc = fangs__sq_step_done(b, st, "setting the last seen version")))
		return rc;
	if (sqlite3_changes64(b->db) == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
	return 0;
}

/* Children before parents, so that the foreign keys hold at every step. */
static const char *const reset_sql[] = {
	("DELETE FROM deviation_evidence WHERE deviation_id IN"
	 " (SELECT d.id FROM deviations d JOIN runs r ON r.id = d.run_id WHERE r.package = ?1)"),
	"DELETE FROM deviations WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM notifications WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM run_fingerprints WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM events WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM run_processes WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM event_batches WHERE run_id IN (SELECT id FROM runs WHERE package = ?1)",
	"DELETE FROM jobs WHERE package = ?1",
	"DELETE FROM runs WHERE package = ?1",
	"DELETE FROM baseline_fingerprints WHERE package = ?1",
	"DELETE FROM releases WHERE package = ?1",
};

static const char *const remove_sql[] = {
	"DELETE FROM allowlists WHERE package = ?1",
	"DELETE FROM packages WHERE name = ?1",
};

static int reset_or_remove(fangs__sq *b, const char *name, int remove)
{
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	rc = fangs__sq_exists(b, "SELECT 1 FROM packages WHERE name = ?1", name);
	if (rc == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
	else if (rc > 0)
		rc = 0;
	for (size_t i = 0; rc == 0 && i < FANGS_ARRAY_SIZE(reset_sql); i++)
		rc = fangs__sq_run(b, reset_sql[i], name, NULL);
	for (size_t i = 0; rc == 0 && remove && i < FANGS_ARRAY_SIZE(remove_sql); i++)
		rc = fangs__sq_run(b, remove_sql[i], name, NULL);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_package_reset(fangs_storage_backend *bb, const char *name)
{
	return reset_or_remove(fangs__sq_of(bb), name, 0);
}

int fangs__sq_package_remove(fangs_storage_backend *bb, const char *name)
{
	return reset_or_remove(fangs__sq_of(bb), name, 1);
}

int fangs__sq_release_ensure(fangs__sq *b, const char *package, const char *version)
{
	sqlite3_stmt *st;
	int rc;
	if ((rc = ensure_package(b, package)))
		return rc;
	st = fangs__sq_stmt(b, "INSERT INTO releases (package, version, first_seen_ns) VALUES (?1, ?2, ?3)"
			       " ON CONFLICT (package, version) DO NOTHING");
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, fangs__now_ns());
	return fangs__sq_step_done(b, st, "adding a release");
}

int fangs__sq_release_add(fangs_storage_backend *bb, const char *package, const char *version)
{
	fangs__sq *b = fangs__sq_of(bb);
	int outer, rc;
	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	rc = fangs__sq_release_ensure(b, package, version);
	return fangs__sq_write_end(b, outer, rc);
}

int fangs__sq_release_list(fangs_storage_backend *bb, const char *package, fangs_release_list *out)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st =
		fangs__sq_stmt(b, "SELECT l.package, l.version, l.first_seen_ns,"
				  " (SELECT COUNT(*) FROM runs r WHERE r.package = l.package AND r.version = l.version)"
				  " FROM releases l WHERE ?1 IS NULL OR l.package = ?1"
				  " ORDER BY l.first_seen_ns DESC, l.package, l.version DESC");
	int rc;
	if (!st)
		return fangs_error_last_code();
	fangs__sq_bind_str(st, 1, package);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fangs_release *r;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		r = &out->items[out->count];
		memset(r, 0, sizeof(*r));
		if ((rc = fangs__sq_col_str(st, 0, &r->package)) || (rc = fangs__sq_col_str(st, 1, &r->version))) {
			free(r->package);
			r->package = NULL;
			goto out;
		}
		r->first_seen_ns = sqlite3_column_int64(st, 2);
		r->run_count = sqlite3_column_int64(st, 3);
		out->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : fangs__sq_fail(b, rc, "listing releases");
out:
	sqlite3_reset(st);
	return rc;
}
