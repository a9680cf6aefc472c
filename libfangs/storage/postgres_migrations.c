/*
 * storage/postgres_migrations.c - the PostgreSQL schema, as an append-only
 * list of migrations. Entry N means the same schema as entry N of
 * sqlite_migrations.c, in this engine's dialect.
 */
#include <stdlib.h>

#include "storage/postgres_internal.h"

/* Append only. Do not reorder or remove entries, nor edit one that has
 * shipped. */
static const char *const migrations[] = {
	/* 1: every table of the product (see sqlite_migrations.c for the notes) */
	"CREATE TABLE packages ("
	" name TEXT PRIMARY KEY,"
	" watched INTEGER NOT NULL DEFAULT 0,"
	" last_seen_version TEXT,"
	" created_ns BIGINT NOT NULL);"

	"CREATE TABLE releases ("
	" package TEXT NOT NULL REFERENCES packages(name),"
	" version TEXT NOT NULL,"
	" first_seen_ns BIGINT NOT NULL,"
	" PRIMARY KEY (package, version));"

	"CREATE TABLE runs ("
	" id TEXT PRIMARY KEY,"
	" package TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" state INTEGER NOT NULL,"
	" is_baseline INTEGER NOT NULL DEFAULT 0,"
	" review INTEGER NOT NULL DEFAULT 0,"
	" events_emitted BIGINT NOT NULL DEFAULT 0,"
	" events_dropped BIGINT NOT NULL DEFAULT 0,"
	" duration_ns BIGINT NOT NULL DEFAULT 0,"
	" runner TEXT,"
	" exit_code INTEGER,"
	" error TEXT,"
	" install_output TEXT,"
	" sandbox TEXT,"
	" network TEXT,"
	" created_ns BIGINT NOT NULL,"
	" started_ns BIGINT NOT NULL DEFAULT 0,"
	" finished_ns BIGINT NOT NULL DEFAULT 0,"
	" FOREIGN KEY (package, version) REFERENCES releases(package, version));"
	"CREATE INDEX runs_package ON runs(package, version);"
	"CREATE INDEX runs_created ON runs(created_ns);"

	"CREATE TABLE events ("
	" id BIGSERIAL PRIMARY KEY,"
	" run_id TEXT NOT NULL,"
	" kind INTEGER NOT NULL,"
	" ts_ns BIGINT NOT NULL,"
	" pid INTEGER NOT NULL,"
	" ppid INTEGER NOT NULL,"
	" comm TEXT,"
	" value TEXT,"
	" data TEXT NOT NULL);"
	"CREATE INDEX events_run ON events(run_id, id);"

	"CREATE TABLE run_fingerprints ("
	" run_id TEXT NOT NULL REFERENCES runs(id),"
	" kind INTEGER NOT NULL,"
	" actor INTEGER NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (run_id, kind, actor, value));"

	"CREATE TABLE baseline_fingerprints ("
	" package TEXT NOT NULL REFERENCES packages(name),"
	" kind INTEGER NOT NULL,"
	" actor INTEGER NOT NULL,"
	" value TEXT NOT NULL,"
	" run_id TEXT,"
	" PRIMARY KEY (package, kind, actor, value));"

	"CREATE TABLE deviations ("
	" id BIGSERIAL PRIMARY KEY,"
	" run_id TEXT NOT NULL REFERENCES runs(id),"
	" package TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" severity INTEGER NOT NULL,"
	" value TEXT,"
	" actor INTEGER NOT NULL DEFAULT 0,"
	" description TEXT,"
	" origin_package TEXT,"
	" origin_version TEXT,"
	" origin_script TEXT,"
	" origin_command TEXT,"
	" command TEXT,"
	" created_ns BIGINT NOT NULL);"
	"CREATE INDEX deviations_run ON deviations(run_id, severity);"
	"CREATE INDEX deviations_package ON deviations(package, severity);"

	"CREATE TABLE deviation_evidence ("
	" deviation_id BIGINT NOT NULL REFERENCES deviations(id),"
	" position INTEGER NOT NULL,"
	" event_id BIGINT NOT NULL REFERENCES events(id),"
	" PRIMARY KEY (deviation_id, position));"
	"CREATE INDEX deviation_evidence_event ON deviation_evidence(event_id);"

	"CREATE TABLE allowlists ("
	" id BIGSERIAL PRIMARY KEY,"
	" kind INTEGER NOT NULL,"
	" value TEXT NOT NULL,"
	" package TEXT,"
	" note TEXT,"
	" created_ns BIGINT NOT NULL);"
	"CREATE INDEX allowlists_package ON allowlists(package);"

	"CREATE TABLE notifiers ("
	" id BIGSERIAL PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" url TEXT NOT NULL,"
	" template TEXT NOT NULL DEFAULT 'generic',"
	" enabled INTEGER NOT NULL DEFAULT 1,"
	" min_severity INTEGER NOT NULL DEFAULT 0,"
	" headers TEXT,"
	" secret_env TEXT,"
	" created_ns BIGINT NOT NULL);"

	"CREATE TABLE notifications ("
	" id BIGSERIAL PRIMARY KEY,"
	" notifier_id BIGINT NOT NULL REFERENCES notifiers(id),"
	" run_id TEXT NOT NULL,"
	" attempt INTEGER NOT NULL,"
	" status TEXT NOT NULL,"
	" http_status INTEGER,"
	" error TEXT,"
	" next_attempt_ns BIGINT,"
	" body TEXT,"
	" created_ns BIGINT NOT NULL);"
	"CREATE INDEX notifications_run ON notifications(run_id);"
	"CREATE INDEX notifications_due ON notifications(status, next_attempt_ns);"

	"CREATE TABLE jobs ("
	" id BIGSERIAL PRIMARY KEY,"
	" run_id TEXT,"
	" package TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" target_runner TEXT,"
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" runner TEXT,"
	" created_ns BIGINT NOT NULL,"
	" updated_ns BIGINT NOT NULL);"
	"CREATE INDEX jobs_state ON jobs(state, created_ns);"
	"CREATE INDEX jobs_package ON jobs(package);"

	"CREATE TABLE runners ("
	" id TEXT PRIMARY KEY,"
	" cn TEXT,"
	" hostname TEXT,"
	" registered_ns BIGINT NOT NULL,"
	" last_heartbeat_ns BIGINT,"
	" max_scans INTEGER NOT NULL DEFAULT 1,"
	" state TEXT NOT NULL);",
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
