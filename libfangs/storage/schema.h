/*
 * storage/schema.h - the tables of every storage backend, one definition
 * for all dialects.
 *
 * Each backend instantiates a migration with its own spelling of the few
 * things SQL dialects disagree on; everything else is the same SQL, so a
 * schema version means the same tables whatever the engine.
 *
 * Enumerations are stored as their numeric value from the public headers
 * (which are append-only too): runs.state fangs_run_state, runs.review
 * fangs_review, events.kind fangs_event_kind, fingerprint kind and actor
 * fangs_fp_kind and fangs_actor, severities fangs_severity, allowlists.kind
 * fangs_allow_kind.
 */
#ifndef FANGS_STORAGE_SCHEMA_H
#define FANGS_STORAGE_SCHEMA_H

/*
 * Migration 1: every table of the product.
 *   ID        an auto-increment 64-bit primary key column type
 *   BIG       a 64-bit integer type
 *   NO_ROWID  a table option for tables with a natural primary key, or ""
 *
 * Notes on the tables:
 * - runs.exit_code NULL: the install has no exit status.
 * - events.data is the whole event as JSON (without id and run, which are
 *   columns) so that every field round-trips; the other columns are for
 *   queries (value: the path, address, query name or server name).
 *   events.run_id has no foreign key: appends check the run once per batch
 *   instead of once per row, and every delete of runs removes their events
 *   first.
 * - baseline_fingerprints.run_id: the run that brought the fingerprint in.
 * - allowlists.package NULL: applies to every package.
 * - notifiers.headers is a JSON object; secret_env names the variable
 *   holding the HMAC secret.
 * - notifications: one row per delivery attempt.
 * - jobs: the queue where scans wait until a runner takes them.
 */
#define FANGS__SCHEMA_1(ID, BIG, NO_ROWID) \
	"CREATE TABLE packages (" \
	" name TEXT PRIMARY KEY," \
	" watched INTEGER NOT NULL DEFAULT 0," \
	" last_seen_version TEXT," \
	" created_ns " BIG " NOT NULL);" \
	"CREATE TABLE releases (" \
	" package TEXT NOT NULL REFERENCES packages(name)," \
	" version TEXT NOT NULL," \
	" first_seen_ns " BIG " NOT NULL," \
	" PRIMARY KEY (package, version));" \
	"CREATE TABLE runs (" \
	" id TEXT PRIMARY KEY," \
	" package TEXT NOT NULL," \
	" version TEXT NOT NULL," \
	" state INTEGER NOT NULL," \
	" is_baseline INTEGER NOT NULL DEFAULT 0," \
	" review INTEGER NOT NULL DEFAULT 0," \
	" events_emitted " BIG " NOT NULL DEFAULT 0," \
	" events_dropped " BIG " NOT NULL DEFAULT 0," \
	" duration_ns " BIG " NOT NULL DEFAULT 0," \
	" runner TEXT," \
	" exit_code INTEGER," \
	" error TEXT," \
	" install_output TEXT," \
	" sandbox TEXT," \
	" network TEXT," \
	" created_ns " BIG " NOT NULL," \
	" started_ns " BIG " NOT NULL DEFAULT 0," \
	" finished_ns " BIG " NOT NULL DEFAULT 0," \
	" FOREIGN KEY (package, version) REFERENCES releases(package, version));" \
	"CREATE INDEX runs_package ON runs(package, version);" \
	"CREATE INDEX runs_created ON runs(created_ns);" \
	"CREATE TABLE events (" \
	" id " ID "," \
	" run_id TEXT NOT NULL," \
	" kind INTEGER NOT NULL," \
	" ts_ns " BIG " NOT NULL," \
	" pid INTEGER NOT NULL," \
	" ppid INTEGER NOT NULL," \
	" comm TEXT," \
	" value TEXT," \
	" data TEXT NOT NULL);" \
	"CREATE INDEX events_run ON events(run_id);" \
	"CREATE TABLE run_fingerprints (" \
	" run_id TEXT NOT NULL REFERENCES runs(id)," \
	" kind INTEGER NOT NULL," \
	" actor INTEGER NOT NULL," \
	" value TEXT NOT NULL," \
	" PRIMARY KEY (run_id, kind, actor, value))" NO_ROWID ";" \
	"CREATE TABLE baseline_fingerprints (" \
	" package TEXT NOT NULL REFERENCES packages(name)," \
	" kind INTEGER NOT NULL," \
	" actor INTEGER NOT NULL," \
	" value TEXT NOT NULL," \
	" run_id TEXT," \
	" PRIMARY KEY (package, kind, actor, value))" NO_ROWID ";" \
	"CREATE TABLE deviations (" \
	" id " ID "," \
	" run_id TEXT NOT NULL REFERENCES runs(id)," \
	" package TEXT NOT NULL," \
	" kind TEXT NOT NULL," \
	" severity INTEGER NOT NULL," \
	" value TEXT," \
	" actor INTEGER NOT NULL DEFAULT 0," \
	" description TEXT," \
	" origin_package TEXT," \
	" origin_version TEXT," \
	" origin_script TEXT," \
	" origin_command TEXT," \
	" command TEXT," \
	" created_ns " BIG " NOT NULL);" \
	"CREATE INDEX deviations_run ON deviations(run_id, severity);" \
	"CREATE INDEX deviations_package ON deviations(package, severity);" \
	"CREATE TABLE deviation_evidence (" \
	" deviation_id " BIG " NOT NULL REFERENCES deviations(id)," \
	" position INTEGER NOT NULL," \
	" event_id " BIG " NOT NULL REFERENCES events(id)," \
	" PRIMARY KEY (deviation_id, position));" \
	"CREATE INDEX deviation_evidence_event ON deviation_evidence(event_id);" \
	"CREATE TABLE allowlists (" \
	" id " ID "," \
	" kind INTEGER NOT NULL," \
	" value TEXT NOT NULL," \
	" package TEXT," \
	" note TEXT," \
	" created_ns " BIG " NOT NULL);" \
	"CREATE INDEX allowlists_package ON allowlists(package);" \
	"CREATE TABLE notifiers (" \
	" id " ID "," \
	" name TEXT NOT NULL UNIQUE," \
	" url TEXT NOT NULL," \
	" template TEXT NOT NULL DEFAULT 'generic'," \
	" enabled INTEGER NOT NULL DEFAULT 1," \
	" min_severity INTEGER NOT NULL DEFAULT 0," \
	" headers TEXT," \
	" secret_env TEXT," \
	" created_ns " BIG " NOT NULL);" \
	"CREATE TABLE notifications (" \
	" id " ID "," \
	" notifier_id " BIG " NOT NULL REFERENCES notifiers(id)," \
	" run_id TEXT NOT NULL," \
	" attempt INTEGER NOT NULL," \
	" status TEXT NOT NULL," \
	" http_status INTEGER," \
	" error TEXT," \
	" next_attempt_ns " BIG "," \
	" body TEXT," \
	" created_ns " BIG " NOT NULL);" \
	"CREATE INDEX notifications_run ON notifications(run_id);" \
	"CREATE INDEX notifications_due ON notifications(status, next_attempt_ns);" \
	"CREATE TABLE jobs (" \
	" id " ID "," \
	" run_id TEXT," \
	" package TEXT NOT NULL," \
	" version TEXT NOT NULL," \
	" target_runner TEXT," \
	" state TEXT NOT NULL," \
	" attempts INTEGER NOT NULL DEFAULT 0," \
	" runner TEXT," \
	" created_ns " BIG " NOT NULL," \
	" updated_ns " BIG " NOT NULL);" \
	"CREATE INDEX jobs_state ON jobs(state, created_ns);" \
	"CREATE INDEX jobs_package ON jobs(package);" \
	"CREATE TABLE runners (" \
	" id TEXT PRIMARY KEY," \
	" cn TEXT," \
	" hostname TEXT," \
	" registered_ns " BIG " NOT NULL," \
	" last_heartbeat_ns " BIG "," \
	" max_scans INTEGER NOT NULL DEFAULT 1," \
	" state TEXT NOT NULL);"

/* 2: the job of a run is looked up for every event batch; a runner's
 * jobs when it is lost. */
#define FANGS__SCHEMA_2 \
	"CREATE INDEX jobs_run ON jobs(run_id);" \
	"CREATE INDEX jobs_runner ON jobs(runner, state);"

/* 3: event batches a runner numbered, so that one sent again (its answer
 * was lost) is stored once; why the analysis of a run failed (the run
 * waits to be judged again). */
#define FANGS__SCHEMA_3(BIG, NO_ROWID) \
	"CREATE TABLE event_batches (" \
	" run_id TEXT NOT NULL," \
	" seq " BIG " NOT NULL," \
	" events " BIG " NOT NULL," \
	" received_ns " BIG " NOT NULL," \
	" PRIMARY KEY (run_id, seq))" NO_ROWID ";" \
	"ALTER TABLE runs ADD COLUMN analysis_error TEXT;"

/* 4: where each followed change feed is (its last sequence, as the feed
 * wrote it), moved in the transaction that queues what it brought. */
#define FANGS__SCHEMA_4(BIG, NO_ROWID) \
	"CREATE TABLE feeds (" \
	" name TEXT PRIMARY KEY," \
	" seq TEXT NOT NULL," \
	" updated_ns " BIG " NOT NULL)" NO_ROWID ";"
/* 5: events by day (PostgreSQL only; other engines keep one table).
 * PostgreSQL partitions events by events.day, the UTC day of the run's
 * created_ns (days since 1970-01-01), one partition per day named
 * events_YYYYMMDD, so that retention drops whole days. The primary key is
 * (id, day) (a partitioned table's unique keys hold its partition key);
 * ids still come from one sequence, so an id names one event. Evidence no
 * longer references events by foreign key: events cited by findings are
 * copied to evidence_events before their day is dropped, and reads of
 * events look in both tables (postgres_migrations.c, postgres_prune.c). */
#define FANGS__SCHEMA_5_NONE ""

/* 6: reads of large runs, from summaries kept by every statement that adds
 * or removes events (appends, a runner's run started again, retention,
 * removing a package):
 * - runs.event_count: the number of events of the run, so that listing
 *   runs does not count each run's events;
 * - run_processes: the run's events grouped by (pid, ppid, kind) with their
 *   number, smallest and largest id, so that the process tree does not
 *   group the run's events each time (only a search by text does).
 *   BIG       a 64-bit integer type
 *   NO_ROWID  a table option for tables with a natural primary key, or ""
 *   ROWS      the number of events of the run `runs` (SQL expression)
 *   EXTRA     the engine's own statements after the common ones, or "" */
#define FANGS__SCHEMA_6(BIG, NO_ROWID, ROWS, EXTRA) \
	"ALTER TABLE runs ADD COLUMN event_count " BIG " NOT NULL DEFAULT 0;" \
	"UPDATE runs SET event_count = " ROWS ";" \
	"CREATE TABLE run_processes (" \
	" run_id TEXT NOT NULL," \
	" pid INTEGER NOT NULL," \
	" ppid INTEGER NOT NULL," \
	" kind INTEGER NOT NULL," \
	" events " BIG " NOT NULL," \
	" first_id " BIG " NOT NULL," \
	" last_id " BIG " NOT NULL," \
	" PRIMARY KEY (run_id, pid, ppid, kind))" NO_ROWID ";" \
	"INSERT INTO run_processes (run_id, pid, ppid, kind, events, first_id, last_id)" \
	" SELECT run_id, pid, ppid, kind, COUNT(*), MIN(id), MAX(id) FROM events" \
	" WHERE run_id IN (SELECT id FROM runs) GROUP BY run_id, pid, ppid, kind;" EXTRA

#endif
