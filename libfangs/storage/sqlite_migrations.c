/*
 * storage/sqlite_migrations.c - the SQLite schema, as an append-only list
 * of migrations.
 *
 * The schema version of a database is the number of migrations applied to
 * it, recorded in schema_migrations. Pending migrations run together in
 * one transaction, so a database is always at one known version. A
 * database newer than this code is refused: it may hold data this code
 * would misread or drop.
 */
#include <stdio.h>

#include "storage/sqlite_internal.h"

typedef struct sq_migration {
	const char *sql;
	/* Data changes SQL alone cannot express; runs after `sql`. */
	int (*fn)(fangs__sq *b);
} sq_migration;

/* Append only. Do not reorder or remove entries, nor edit one that has
 * shipped: entry N is what version N means on every existing database.
 * Enumerations are stored as their numeric value from the public headers
 * (which are append-only too). */
static const sq_migration migrations[] = {
	/* 1: every table of the product */
	{"CREATE TABLE packages ("
	 " name TEXT PRIMARY KEY,"
	 " watched INTEGER NOT NULL DEFAULT 0,"
	 " last_seen_version TEXT,"
	 " created_ns INTEGER NOT NULL);"

	 "CREATE TABLE releases ("
	 " package TEXT NOT NULL REFERENCES packages(name),"
	 " version TEXT NOT NULL,"
	 " first_seen_ns INTEGER NOT NULL,"
	 " PRIMARY KEY (package, version));"

	 "CREATE TABLE runs ("
	 " id TEXT PRIMARY KEY,"
	 " package TEXT NOT NULL,"
	 " version TEXT NOT NULL,"
	 " state INTEGER NOT NULL,"        /* fangs_run_state */
	 " is_baseline INTEGER NOT NULL DEFAULT 0,"
	 " review INTEGER NOT NULL DEFAULT 0," /* fangs_review */
	 " events_emitted INTEGER NOT NULL DEFAULT 0,"
	 " events_dropped INTEGER NOT NULL DEFAULT 0,"
	 " duration_ns INTEGER NOT NULL DEFAULT 0,"
	 " runner TEXT,"
	 " exit_code INTEGER," /* NULL: the install has no exit status */
	 " error TEXT,"
	 " install_output TEXT,"
	 " sandbox TEXT,"
	 " network TEXT,"
	 " created_ns INTEGER NOT NULL,"
	 " started_ns INTEGER NOT NULL DEFAULT 0,"
	 " finished_ns INTEGER NOT NULL DEFAULT 0,"
	 " FOREIGN KEY (package, version) REFERENCES releases(package, version));"
	 "CREATE INDEX runs_package ON runs(package, version);"
	 "CREATE INDEX runs_created ON runs(created_ns);"

	 /* `data` is the whole event as JSON (without id and run, which are
	  * columns) so that every field round-trips; the other columns are for
	  * queries. run_id has no foreign key: appends check the run once per
	  * batch instead of once per row, and every delete of runs removes
	  * their events first. */
	 "CREATE TABLE events ("
	 " id INTEGER PRIMARY KEY,"
	 " run_id TEXT NOT NULL,"
	 " kind INTEGER NOT NULL," /* fangs_event_kind */
	 " ts_ns INTEGER NOT NULL,"
	 " pid INTEGER NOT NULL,"
	 " ppid INTEGER NOT NULL,"
	 " comm TEXT,"
	 " value TEXT," /* path, address, query name or server name */
	 " data TEXT NOT NULL);"
	 "CREATE INDEX events_run ON events(run_id);"

	 /* kind: fangs_fp_kind, actor: fangs_actor */
	 "CREATE TABLE run_fingerprints ("
	 " run_id TEXT NOT NULL REFERENCES runs(id),"
	 " kind INTEGER NOT NULL,"
	 " actor INTEGER NOT NULL,"
	 " value TEXT NOT NULL,"
	 " PRIMARY KEY (run_id, kind, actor, value)) WITHOUT ROWID;"

	 /* run_id: the run that brought the fingerprint in */
	 "CREATE TABLE baseline_fingerprints ("
	 " package TEXT NOT NULL REFERENCES packages(name),"
	 " kind INTEGER NOT NULL,"
	 " actor INTEGER NOT NULL,"
	 " value TEXT NOT NULL,"
	 " run_id TEXT,"
	 " PRIMARY KEY (package, kind, actor, value)) WITHOUT ROWID;"

	 "CREATE TABLE deviations ("
	 " id INTEGER PRIMARY KEY,"
	 " run_id TEXT NOT NULL REFERENCES runs(id),"
	 " package TEXT NOT NULL,"
	 " kind TEXT NOT NULL,"
	 " severity INTEGER NOT NULL," /* fangs_severity */
	 " value TEXT,"
	 " actor INTEGER NOT NULL DEFAULT 0,"
	 " description TEXT,"
	 " origin_package TEXT,"
	 " origin_version TEXT,"
	 " origin_script TEXT,"
	 " origin_command TEXT,"
	 " command TEXT,"
	 " created_ns INTEGER NOT NULL);"
	 "CREATE INDEX deviations_run ON deviations(run_id, severity);"
	 "CREATE INDEX deviations_package ON deviations(package, severity);"

	 "CREATE TABLE deviation_evidence ("
	 " deviation_id INTEGER NOT NULL REFERENCES deviations(id),"
	 " position INTEGER NOT NULL,"
	 " event_id INTEGER NOT NULL REFERENCES events(id),"
	 " PRIMARY KEY (deviation_id, position));"
	 "CREATE INDEX deviation_evidence_event ON deviation_evidence(event_id);"

	 /* package NULL: applies to every package. kind: fangs_allow_kind */
	 "CREATE TABLE allowlists ("
	 " id INTEGER PRIMARY KEY,"
	 " kind INTEGER NOT NULL,"
	 " value TEXT NOT NULL,"
	 " package TEXT,"
	 " note TEXT,"
	 " created_ns INTEGER NOT NULL);"
	 "CREATE INDEX allowlists_package ON allowlists(package);"

	 "CREATE TABLE notifiers ("
	 " id INTEGER PRIMARY KEY,"
	 " name TEXT NOT NULL UNIQUE,"
	 " url TEXT NOT NULL,"
	 " template TEXT NOT NULL DEFAULT 'generic',"
	 " enabled INTEGER NOT NULL DEFAULT 1,"
	 " min_severity INTEGER NOT NULL DEFAULT 0,"
	 " headers TEXT," /* JSON object */
	 " secret_env TEXT," /* name of the variable holding the HMAC secret */
	 " created_ns INTEGER NOT NULL);"

	 /* One row per delivery attempt. */
	 "CREATE TABLE notifications ("
	 " id INTEGER PRIMARY KEY,"
	 " notifier_id INTEGER NOT NULL REFERENCES notifiers(id),"
	 " run_id TEXT NOT NULL,"
	 " attempt INTEGER NOT NULL,"
	 " status TEXT NOT NULL,"
	 " http_status INTEGER,"
	 " error TEXT,"
	 " next_attempt_ns INTEGER,"
	 " body TEXT,"
	 " created_ns INTEGER NOT NULL);"
	 "CREATE INDEX notifications_run ON notifications(run_id);"
	 "CREATE INDEX notifications_due ON notifications(status, next_attempt_ns);"

	 /* The job queue: scans wait here until a runner takes them. */
	 "CREATE TABLE jobs ("
	 " id INTEGER PRIMARY KEY,"
	 " run_id TEXT,"
	 " package TEXT NOT NULL,"
	 " version TEXT NOT NULL,"
	 " target_runner TEXT,"
	 " state TEXT NOT NULL,"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " runner TEXT,"
	 " created_ns INTEGER NOT NULL,"
	 " updated_ns INTEGER NOT NULL);"
	 "CREATE INDEX jobs_state ON jobs(state, created_ns);"
	 "CREATE INDEX jobs_package ON jobs(package);"

	 "CREATE TABLE runners ("
	 " id TEXT PRIMARY KEY,"
	 " cn TEXT,"
	 " hostname TEXT,"
	 " registered_ns INTEGER NOT NULL,"
	 " last_heartbeat_ns INTEGER,"
	 " max_scans INTEGER NOT NULL DEFAULT 1,"
	 " state TEXT NOT NULL);",
	 NULL},
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
