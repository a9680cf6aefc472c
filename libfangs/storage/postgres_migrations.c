/*
 * storage/postgres_migrations.c - the PostgreSQL schema (storage/schema.h
 * in this engine's spelling), as an append-only list of migrations.
 */
#include <stdlib.h>

#include "storage/postgres_internal.h"
#include "storage/schema.h"

/* Append only. Do not reorder or remove entries, nor edit one that has
 * shipped. */
static const char *const migrations[] = {
	FANGS__SCHEMA_1("BIGSERIAL PRIMARY KEY", "BIGINT", ""),
	FANGS__SCHEMA_2,
	FANGS__SCHEMA_3("BIGINT", ""),
	FANGS__SCHEMA_4("BIGINT", ""),
};

_Static_assert(FANGS_ARRAY_SIZE(migrations) == FANGS__STORAGE_SCHEMA_VERSION,
	       "the postgres migrations must match FANGS__STORAGE_SCHEMA_VERSION");

/* Serialises migrations of several orchestrators starting together. */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7306034112)"

int fangs__pg_db_version(fangs__pg *b, int *out)
{
	PGresult *res;
	*out = 0;
	res = fangs__pg_query(b, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, "reading the schema version");
	if (!res)
		return fangs_error_last_code();
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = fangs__pg_query(b, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL,
			      "reading the schema version");
	if (!res)
		return fangs_error_last_code();
	*out = (int)fangs__pg_col_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

static int apply(fangs__pg *b, int from)
{
	for (int v = from + 1; v <= (int)FANGS_ARRAY_SIZE(migrations); v++) {
		fangs__pg_params p = {0};
		PGresult *res = PQexec(b->conn, migrations[v - 1]);
		char what[64];
		int rc;

		snprintf(what, sizeof(what), "migration %d", v);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = fangs__pg_fail(b, res, what);
			PQclear(res);
			return rc;
		}
		PQclear(res);
		fangs__pg_i64(&p, v);
		fangs__pg_i64(&p, fangs__now_ns());
		if ((rc = fangs__pg_run(b, "INSERT INTO schema_migrations (version, applied_ns) VALUES ($1, $2)", &p,
					what, NULL)))
			return rc;
	}
	return 0;
}

int fangs__pg_migrate(fangs__pg *b)
{
	int outer, v, rc;

	if ((rc = fangs__pg_db_version(b, &v)))
		return rc;
	if (v < FANGS__STORAGE_SCHEMA_VERSION) {
		if ((rc = fangs__pg_write_begin(b, &outer)))
			return rc;
		if (!(rc = fangs__pg_run(b, MIGRATION_LOCK, NULL, "locking for migration", NULL)) &&
		    !(rc = fangs__pg_run(b,
					 "CREATE TABLE IF NOT EXISTS schema_migrations ("
					 " version INTEGER PRIMARY KEY,"
					 " applied_ns BIGINT NOT NULL)",
					 NULL, "creating schema_migrations", NULL)) &&
		    !(rc = fangs__pg_db_version(b, &v)) && v < FANGS__STORAGE_SCHEMA_VERSION) {
			fangs_info("postgres %s: migrating schema from version %d to %d", b->where, v,
				   FANGS__STORAGE_SCHEMA_VERSION);
			rc = apply(b, v);
		}
		if ((rc = fangs__pg_write_end(b, outer, rc)))
			return rc;
	}
	if (v > FANGS__STORAGE_SCHEMA_VERSION)
		return fangs_error_set(FANGS_EVERSION,
				       "postgres %s: database schema version %d is newer than this fangs knows (%d); "
				       "upgrade fangs to use this database",
				       b->where, v, FANGS__STORAGE_SCHEMA_VERSION);
	return 0;
}
