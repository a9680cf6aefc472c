/*
 * storage/sqlite/sqlite.c - the SQLite backend: connection, pragmas, lock waits,
 * the statement cache and transactions. The tables are handled in
 * sqlite_<area>.c; the schema lives in sqlite_migrations.c.
 *
 * A handle is used by one thread at a time (the statement cache is not
 * shared), so the connection is opened without sqlite's own mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/sqlite/sqlite_internal.h"

sqlite3_stmt *fangs__sq_stmt(fangs__sq *b, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (size_t i = 0; i < b->n_cache; i++) {
		if (b->cache[i].sql == sql) {
			st = b->cache[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (fangs__grow((void **)&b->cache, &b->cap_cache, b->n_cache, sizeof(*b->cache)))
		return NULL;
	rc = sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		fangs__sq_fail(b, rc, "preparing a statement");
		sqlite3_finalize(st);
		return NULL;
	}
	b->cache[b->n_cache].sql = sql;
	b->cache[b->n_cache].stmt = st;
	b->n_cache++;
	return st;
}

int fangs__sq_fail(fangs__sq *b, int rc, const char *what)
{
	const char *msg = b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc);
	int code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = FANGS_EBUSY;
		break;
	case SQLITE_NOMEM:
		code = FANGS_ENOMEM;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		code = FANGS_EPERM;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		code = FANGS_EIO;
		break;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			code = FANGS_ENOTFOUND;
		else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			code = FANGS_EEXISTS;
		else
			code = FANGS_ESTORAGE;
		break;
	default:
		code = FANGS_ESTORAGE;
		break;
	}
	return fangs_error_set(code, "sqlite %s: %s: %s", b->path ? b->path : "", what, msg);
}

int fangs__sq_step_done(fangs__sq *b, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fangs__sq_fail(b, rc, what);
	return 0;
}

int fangs__sq_run(fangs__sq *b, const char *sql, const char *text, int64_t *changes)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, sql);
	int rc;
	if (!st)
		return fangs_error_last_code();
	if (text && sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC) != SQLITE_OK)
		return fangs__sq_fail(b, SQLITE_ERROR, "binding");
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fangs__sq_fail(b, rc, sql);
	if (changes)
		*changes = sqlite3_changes64(b->db);
	return 0;
}

int fangs__sq_write_begin(fangs__sq *b, int *outer)
{
	*outer = sqlite3_get_autocommit(b->db);
	return fangs__sq_run(b, *outer ? "BEGIN IMMEDIATE" : "SAVEPOINT fangs_op", NULL, NULL);
}

int fangs__sq_write_end(fangs__sq *b, int outer, int rc)
{
	if (rc == 0) {
		int c = fangs__sq_run(b, outer ? "COMMIT" : "RELEASE fangs_op", NULL, NULL);
		if (c == 0)
			return 0;
		rc = c;
	}
	/* Keep the first error's message: the rollback must not overwrite it. */
	{
		fangs_error_state keep;
		fangs_error_state_capture(&keep, fangs_error_last_code() ? 0 : rc);
		if (outer) {
			if (!sqlite3_get_autocommit(b->db))
				fangs__sq_run(b, "ROLLBACK", NULL, NULL);
		} else {
			fangs__sq_run(b, "ROLLBACK TO fangs_op", NULL, NULL);
			fangs__sq_run(b, "RELEASE fangs_op", NULL, NULL);
		}
		fangs_error_state_restore(&keep);
	}
	return rc;
}

int fangs__sq_bind_str(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int fangs__sq_col_str(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	*out = NULL;
	if (!t)
		return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : fangs__error_oom();
	*out = fangs__strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
	return *out ? 0 : FANGS_ENOMEM;
}

int fangs__sq_exists(fangs__sq *b, const char *sql, const char *key)
{
	sqlite3_stmt *st = fangs__sq_stmt(b, sql);
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fangs__sq_fail(b, rc, "looking up a row");
}

int fangs__sq_run_exists(fangs__sq *b, const char *run_id)
{
	int rc = fangs__sq_exists(b, "SELECT 1 FROM runs WHERE id = ?1", run_id);
	if (rc == 0)
		return fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run_id);
	return rc < 0 ? rc : 0;
}

/* Waits for another connection's lock with a growing sleep, up to the
 * configured timeout per locking attempt. */
static int busy_handler(void *user, int count)
{
	fangs__sq *b = user;
	int64_t now = fangs__monotonic_ns();
	struct timespec ts;
	int ms;

	if (count == 0)
		b->busy_start_ns = now;
	if ((now - b->busy_start_ns) / 1000000 >= b->busy_timeout_ms) {
		fangs_debug("sqlite %s: still locked after %d ms, giving up", b->path, b->busy_timeout_ms);
		return 0;
	}
	ms = count < 5 ? 1 << count : 25;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
	return 1;
}

static int sq_schema_version(fangs_storage_backend *bb, int *db_version)
{
	return fangs__sq_db_version(fangs__sq_of(bb), db_version);
}

static int sq_begin(fangs_storage_backend *bb)
{
	return fangs__sq_run(fangs__sq_of(bb), "BEGIN IMMEDIATE", NULL, NULL);
}

static int sq_commit(fangs_storage_backend *bb)
{
	return fangs__sq_run(fangs__sq_of(bb), "COMMIT", NULL, NULL);
}

static int sq_rollback(fangs_storage_backend *bb)
{
	fangs__sq *b = fangs__sq_of(bb);
	/* sqlite may already have rolled back on its own (e.g. after SQLITE_FULL). */
	if (sqlite3_get_autocommit(b->db))
		return 0;
	return fangs__sq_run(b, "ROLLBACK", NULL, NULL);
}

static void sq_free(fangs_storage_backend *bb)
{
	fangs__sq *b = fangs__sq_of(bb);
	if (!b)
		return;
	for (size_t i = 0; i < b->n_cache; i++)
		sqlite3_finalize(b->cache[i].stmt);
	free(b->cache);
	if (b->db && sqlite3_close(b->db) != SQLITE_OK)
		fangs_warn("sqlite %s: close: %s", b->path, sqlite3_errmsg(b->db));
	fangs_buf_free(&b->enc);
	free(b->path);
	free(b);
}

static const fangs_storage_backend sq_vtable = {
	.version = FANGS_STORAGE_BACKEND_VERSION,
	.name = "sqlite",
	.free = sq_free,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.package_upsert = fangs__sq_package_upsert,
	.package_get = fangs__sq_package_get,
	.package_list = fangs__sq_package_list,
	.package_set_last_seen = fangs__sq_package_set_last_seen,
	.package_remove = fangs__sq_package_remove,
	.package_reset = fangs__sq_package_reset,
	.release_add = fangs__sq_release_add,
	.release_list = fangs__sq_release_list,
	.run_create = fangs__sq_run_create,
	.run_update = fangs__sq_run_update,
	.run_get = fangs__sq_run_get,
	.run_list = fangs__sq_run_list,
	.events_append = fangs__sq_events_append,
	.events_list = fangs__sq_events_list,
	.events_get = fangs__sq_events_get,
	.run_fingerprints_put = fangs__sq_run_fingerprints_put,
	.run_fingerprints_get = fangs__sq_run_fingerprints_get,
	.baseline_get = fangs__sq_baseline_get,
	.baseline_add_run = fangs__sq_baseline_add_run,
	.baseline_rebuild = fangs__sq_baseline_rebuild,
	.deviations_put = fangs__sq_deviations_put,
	.deviations_list = fangs__sq_deviations_list,
	.deviation_get = fangs__sq_deviation_get,
	.deviations_clear = fangs__sq_deviations_clear,
	.allow_add = fangs__sq_allow_add,
	.allow_list = fangs__sq_allow_list,
	.allow_remove = fangs__sq_allow_remove,
	.prune = fangs__sq_prune,
	.notifier_add = fangs__sq_notifier_add,
	.notifier_list = fangs__sq_notifier_list,
	.notifier_get = fangs__sq_notifier_get,
	.notifier_remove = fangs__sq_notifier_remove,
	.notification_insert = fangs__sq_notification_insert,
	.notification_update = fangs__sq_notification_update,
	.notification_list = fangs__sq_notification_list,
	.notification_due = fangs__sq_notification_due,
	.notification_claim = fangs__sq_notification_claim,
	.job_enqueue = fangs__sq_job_enqueue,
	.job_claim = fangs__sq_job_claim,
	.job_get = fangs__sq_job_get,
	.job_finish = fangs__sq_job_finish,
	.job_requeue_runner = fangs__sq_job_requeue_runner,
	.job_list = fangs__sq_job_list,
	.runner_register = fangs__sq_runner_register,
	.runner_heartbeat = fangs__sq_runner_heartbeat,
	.runner_list = fangs__sq_runner_list,
	.runner_evict = fangs__sq_runner_evict,
	.job_counts = fangs__sq_job_counts,
	.job_prune = fangs__sq_job_prune,
	.events_append_batch = fangs__sq_events_append_batch,
	.run_page = fangs__sq_run_page,
	.events_page = fangs__sq_events_page,
	.proc_groups = fangs__sq_proc_groups,
	.deviation_counts = fangs__sq_deviation_counts,
	.feed_get = fangs__sq_feed_get,
	.feed_advance = fangs__sq_feed_advance,
	.job_enqueue_release = fangs__sq_job_enqueue_release,
};

static int exec(fangs__sq *b, const char *sql)
{
	int rc = sqlite3_exec(b->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fangs__sq_fail(b, rc, sql);
}

/* Switching a new database to WAL takes an exclusive lock, and sqlite
 * reports a conflict there without calling the busy handler (several
 * processes opening a new file at once): wait for it here instead. */
static int enable_wal(fangs__sq *b)
{
	int64_t deadline = fangs__monotonic_ns() + (int64_t)b->busy_timeout_ms * 1000000;
	struct timespec ts = {0, 2000000};
	for (;;) {
		int rc = sqlite3_exec(b->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || fangs__monotonic_ns() > deadline)
			return fangs__sq_fail(b, rc, "switching to WAL");
		nanosleep(&ts, NULL);
	}
}

/* A new database is created 0600: it holds what the scanned packages did
 * and the notifiers' settings. SQLite gives its -wal and -shm files the
 * database's mode. An existing file keeps its mode. */
static int create_private(const char *path)
{
	int fd;
	if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : fangs__error_errno(FANGS_EIO, path);
	close(fd);
	return 0;
}

int fangs_storage_backend_sqlite_new(fangs_storage_backend **out, const fangs_storage_options *opts)
{
	fangs__sq *b;
	int flags, rc;

	if (!out || !opts)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_backend_sqlite_new: NULL argument");
	*out = NULL;
	if (!opts->sqlite_path || !*opts->sqlite_path)
		return fangs_error_set(FANGS_EINVAL, "sqlite storage: no database path (sqlite_path)");
	b = calloc(1, sizeof(*b));
	if (!b)
		return fangs__error_oom();
	b->base = sq_vtable;
	b->read_only = opts->read_only;
	b->busy_timeout_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : FANGS__STORAGE_BUSY_TIMEOUT_MS;
	if (!(b->path = fangs__strdup(opts->sqlite_path))) {
		free(b);
		return FANGS_ENOMEM;
	}
	flags = (b->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
		SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (!b->read_only && (rc = create_private(b->path))) {
		sq_free(&b->base);
		return rc;
	}
	rc = sqlite3_open_v2(b->path, &b->db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = fangs__sq_fail(b, rc, "open");
		sq_free(&b->base);
		return rc;
	}
	sqlite3_extended_result_codes(b->db, 1);
	sqlite3_busy_handler(b->db, busy_handler, b);

	/* WAL lets readers (CLI, UI) run while a scan writes; NORMAL sync is
	 * durable across process crashes and only risks the last commits on
	 * power loss, which a rescan recovers. */
	if ((!b->read_only && (rc = enable_wal(b))) || (rc = exec(b, "PRAGMA synchronous=NORMAL")) ||
	    (rc = exec(b, "PRAGMA foreign_keys=ON")) || (!b->read_only && (rc = fangs__sq_migrate(b)))) {
		sq_free(&b->base);
		return rc;
	}
	if (b->read_only) {
		int v;
		if ((rc = fangs__sq_db_version(b, &v))) {
			sq_free(&b->base);
			return rc;
		}
		if (v != FANGS__STORAGE_SCHEMA_VERSION) {
			rc = fangs_error_set(FANGS_EVERSION, "sqlite %s: schema version %d, this fangs needs %d; %s",
					     b->path, v, FANGS__STORAGE_SCHEMA_VERSION,
					     v > FANGS__STORAGE_SCHEMA_VERSION
						     ? "the database was written by a newer fangs: upgrade fangs"
						     : "open it once read-write to migrate it");
			sq_free(&b->base);
			return rc;
		}
	}
	*out = &b->base;
	return 0;
}
