/*
 * storage/postgres/postgres_migrations.c - the PostgreSQL schema (storage/schema.h
 * in this engine's spelling), as an append-only list of migrations.
 */
#include <stdlib.h>

#include "storage/postgres/postgres_internal.h"
#include "storage/schema.h"

/* 5 (schema.h): events partitioned by the day of their run. The rows of
 * the single table move into one partition per day (events of a run that
 * no longer exists go to the day of the migration); the id sequence moves
 * with them, so new ids continue after the old ones. */
#define EVENTS_BY_DAY \
	"ALTER TABLE deviation_evidence DROP CONSTRAINT IF EXISTS deviation_evidence_event_id_fkey;" \
	"ALTER TABLE events RENAME TO events_unpartitioned;" \
	"ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey;" \
	"ALTER INDEX events_run RENAME TO events_unpartitioned_run;" \
	"CREATE TABLE events (" \
	" id BIGINT NOT NULL DEFAULT nextval('events_id_seq')," \
	" run_id TEXT NOT NULL," \
	" kind INTEGER NOT NULL," \
	" ts_ns BIGINT NOT NULL," \
	" pid INTEGER NOT NULL," \
	" ppid INTEGER NOT NULL," \
	" comm TEXT," \
	" value TEXT," \
	" data TEXT NOT NULL," \
	" day INTEGER NOT NULL," \
	" PRIMARY KEY (id, day)) PARTITION BY RANGE (day);" \
	"ALTER SEQUENCE events_id_seq OWNED BY events.id;" \
	"CREATE INDEX events_run ON events(run_id, day);" \
	"CREATE TABLE evidence_events (" \
	" id BIGINT PRIMARY KEY," \
	" run_id TEXT NOT NULL," \
	" kind INTEGER NOT NULL," \
	" ts_ns BIGINT NOT NULL," \
	" pid INTEGER NOT NULL," \
	" ppid INTEGER NOT NULL," \
	" comm TEXT," \
	" value TEXT," \
	" data TEXT NOT NULL," \
	" day INTEGER NOT NULL);" \
	"CREATE INDEX evidence_events_run ON evidence_events(run_id);" \
	"CREATE TEMPORARY TABLE events_days ON COMMIT DROP AS" \
	" SELECT e.id, COALESCE(floor(r.created_ns / 86400000000000.0)," \
	" floor(extract(epoch FROM now()) / 86400))::integer AS day" \
	" FROM events_unpartitioned e LEFT JOIN runs r ON r.id = e.run_id;" \
	"DO $$ DECLARE d integer; BEGIN" \
	" FOR d IN SELECT DISTINCT day FROM events_days LOOP" \
	" EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%s) TO (%s)'," \
	" 'events_' || to_char(date '1970-01-01' + d, 'YYYYMMDD'), d, d + 1);" \
	" END LOOP; END $$;" \
	"INSERT INTO events (id, run_id, kind, ts_ns, pid, ppid, comm, value, data, day)" \
	" SELECT e.id, e.run_id, e.kind, e.ts_ns, e.pid, e.ppid, e.comm, e.value, e.data, d.day" \
	" FROM events_unpartitioned e JOIN events_days d ON d.id = e.id;" \
	"DROP TABLE events_unpartitioned;"

/* 6 (schema.h): pages of a run's events walk (run_id, id) in its day;
 * that index also finds a run's events, so (run_id, day) goes (the day is
 * the same for every row of a partition). */
#define EVENTS_RUN_ID \
	"CREATE INDEX events_run_id ON events(run_id, id);" \
	"DROP INDEX events_run;"

/* Append only. Do not reorder or remove entries, nor edit one that has
 * shipped. */
static const char *const migrations[] = {
	FANGS__SCHEMA_1("BIGSERIAL PRIMARY KEY", "BIGINT", ""),
	FANGS__SCHEMA_2,
	FANGS__SCHEMA_3("BIGINT", ""),
	FANGS__SCHEMA_4("BIGINT", ""),
	EVENTS_BY_DAY,
	FANGS__SCHEMA_6("BIGINT", "", FANGS__PG_RUN_ROWS("runs"), EVENTS_RUN_ID),
};

_Static_assert(FANGS_ARRAY_SIZE(migrations) == FANGS__STORAGE_SCHEMA_VERSION,
	       "the postgres migrations must match FANGS__STORAGE_SCHEMA_VERSION");

/* Serialises migrations of several orchestrators starting together. */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7306034112)"

int fangs__pg_db_version(fangs__pg *b, int *out)
{
	PGresult *res;
	*out = 0;
	res = fangs__pg_query(b, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL,
			      "reading the schema version");
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
		/* an empty entry: a version with nothing to do in this engine */
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_EMPTY_QUERY) {
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
