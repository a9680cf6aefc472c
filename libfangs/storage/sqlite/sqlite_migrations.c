/*
 * storage/sqlite/sqlite_migrations.c - the SQLite schema, as an append-only list
 * of migrations.
 *
 * The schema version of a database is the number of migrations applied to
 * it, recorded in schema_migrations. Pending migrations run together in
 * one transaction, so a database is always at one known version. A
 * database newer than this code is refused: it may hold data this code
 * would misread or drop.
 */
#include <stdio.h>

#include "storage/schema.h"
#include "storage/sqlite/sqlite_internal.h"

typedef struct sq_migration {
	const char *sql;
	/* Data changes SQL alone cannot express; runs after `sql`. */
	int (*fn)(fangs__sq *b);
} sq_migration;

/* Append only. Do not reorder or remove entries, nor edit one that has
 * shipped: entry N is what version N means on every existing database. */
static const sq_migration migrations[] = {
	{FANGS__SCHEMA_1("INTEGER PRIMARY KEY", "INTEGER", " WITHOUT ROWID"), NULL},
	{FANGS__SCHEMA_2, NULL},
	{FANGS__SCHEMA_3("INTEGER", " WITHOUT ROWID"), NULL},
	{FANGS__SCHEMA_4("INTEGER", " WITHOUT ROWID"), NULL},
	{FANGS__SCHEMA_5_NONE, NULL},
	{FANGS__SCHEMA_6("INTEGER", " WITHOUT ROWID", FANGS__SQ_RUN_ROWS, ""), NULL},
};

_Static_assert(FANGS_ARRAY_SIZE(migrations) == FANGS__STORAGE_SCHEMA_VERSION,
	       "the sqlite migrations must match FANGS__STORAGE_SCHEMA_VERSION");

static int has_version_table(fangs__sq *b)
{
	return fangs__sq_exists(b, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
				"schema_migrations");
}

int fangs__sq_db_version(fangs__sq *b, int *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if ((rc = has_version_table(b)) <= 0)
		return rc;
	if (!(st = fangs__sq_stmt(b, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")))
		return fangs_error_last_code();
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : fangs__sq_fail(b, rc, "reading the schema version");
}

static int apply(fangs__sq *b, int from)
{
	for (int v = from + 1; v <= (int)FANGS_ARRAY_SIZE(migrations); v++) {
		const sq_migration *m = &migrations[v - 1];
		char what[64];
		sqlite3_stmt *st;
		int rc;

		snprintf(what, sizeof(what), "migration %d", v);
		rc = sqlite3_exec(b->db, m->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return fangs__sq_fail(b, rc, what);
		if (m->fn && (rc = m->fn(b)))
			return rc;
		if (!(st = fangs__sq_stmt(b, "INSERT INTO schema_migrations (version, applied_ns) VALUES (?1, ?2)")))
			return fangs_error_last_code();
		sqlite3_bind_int(st, 1, v);
		sqlite3_bind_int64(st, 2, fangs__now_ns());
		if ((rc = fangs__sq_step_done(b, st, what)))
			return rc;
	}
	return 0;
}

int fangs__sq_migrate(fangs__sq *b)
{
	int outer, v, rc;

	/* Read first without locking: the common case is an up-to-date database. */
	if ((rc = fangs__sq_db_version(b, &v)))
		return rc;
	if (v == FANGS__STORAGE_SCHEMA_VERSION)
		return 0;
	if (v > FANGS__STORAGE_SCHEMA_VERSION)
		goto newer;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	rc = sqlite3_exec(b->db,
			  "CREATE TABLE IF NOT EXISTS schema_migrations ("
			  " version INTEGER PRIMARY KEY,"
			  " applied_ns INTEGER NOT NULL)",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		rc = fangs__sq_fail(b, rc, "creating schema_migrations");
	else if ((rc = fangs__sq_db_version(b, &v)) == 0 && v < FANGS__STORAGE_SCHEMA_VERSION) {
		fangs_info("sqlite %s: migrating schema from version %d to %d", b->path, v,
			   FANGS__STORAGE_SCHEMA_VERSION);
		rc = apply(b, v);
	}
	if ((rc = fangs__sq_write_end(b, outer, rc)))
		return rc;
	if (v <= FANGS__STORAGE_SCHEMA_VERSION)
		return 0;
newer:
	return fangs_error_set(FANGS_EVERSION,
			       "sqlite %s: database schema version %d is newer than this fangs knows (%d); "
			       "upgrade fangs to use this database",
			       b->path, v, FANGS__STORAGE_SCHEMA_VERSION);
}
