/*
 * storage/postgres.c - the PostgreSQL backend: connection, errors,
 * transactions. Tables are handled in postgres_<area>.c; the schema lives
 * in postgres_migrations.c.
 *
 * Statements go through PQexecParams with text parameters; events go in
 * with COPY. A handle is used by one thread at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres_internal.h"

int fangs__pg_fail(fangs__pg *b, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = FANGS_ESTORAGE;

	if (!msg)
		msg = PQerrorMessage(b->conn);
	if (state) {
		if (strcmp(state, "23505") == 0)
			code = FANGS_EEXISTS;
		else if (strcmp(state, "23503") == 0)
			code = FANGS_ENOTFOUND;
		else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
			code = FANGS_EBUSY;
		else if (strcmp(state, "25006") == 0 || strcmp(state, "42501") == 0)
			code = FANGS_EPERM;
		else if (strcmp(state, "57014") == 0)
			code = FANGS_ETIMEOUT;
	}
	return fangs_error_set(code, "postgres %s: %s: %s%s%s", b->where ? b->where : "", what, msg,
			       state ? " SQLSTATE " : "", state ? state : "");
}

PGresult *fangs__pg_query(fangs__pg *b, const char *sql, const fangs__pg_params *p, const char *what)
{
	PGresult *res = PQexecParams(b->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return res;
	fangs__pg_fail(b, res, what);
	PQclear(res);
	return NULL;
}

int fangs__pg_run(fangs__pg *b, const char *sql, const fangs__pg_params *p, const char *what, int64_t *changes)
{
	PGresult *res = fangs__pg_query(b, sql, p, what);
	if (!res)
		return fangs_error_last_code();
	if (changes)
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

int fangs__pg_write_begin(fangs__pg *b, int *outer)
{
	*outer = PQtransactionStatus(b->conn) == PQTRANS_IDLE;
	return fangs__pg_run(b, *outer ? "BEGIN" : "SAVEPOINT fangs_op", NULL, "starting a transaction", NULL);
}

int fangs__pg_write_end(fangs__pg *b, int outer, int rc)
{
	char msg[1024];
	int code;

	if (rc == 0) {
		rc = fangs__pg_run(b, outer ? "COMMIT" : "RELEASE fangs_op", NULL, "committing", NULL);
		if (rc == 0)
			return 0;
	}
	/* Keep the first error's message: the rollback must not overwrite it. */
	code = fangs_error_last_code();
	snprintf(msg, sizeof(msg), "%s", fangs_error_last());
	if (outer) {
		if (PQtransactionStatus(b->conn) != PQTRANS_IDLE)
			fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
	} else {
		fangs__pg_run(b, "ROLLBACK TO fangs_op", NULL, "rolling back", NULL);
		fangs__pg_run(b, "RELEASE fangs_op", NULL, "rolling back", NULL);
	}
	fangs_error_set(code ? code : rc, "%s", msg);
	return rc;
}

int fangs__pg_col_str(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	*out = fangs__strndup(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
	return *out ? 0 : FANGS_ENOMEM;
}

int64_t fangs__pg_col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int fangs__pg_run_exists(fangs__pg *b, const char *run_id)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int n;
	fangs__pg_str(&p, run_id);
	if (!(res = fangs__pg_query(b, "SELECT 1 FROM runs WHERE id = $1", &p, "looking up a run")))
		return fangs_error_last_code();
	n = PQntuples(res);
	PQclear(res);
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "run '%s' does not exist", run_id);
}

static int pg_schema_version(fangs_storage_backend *bb, int *db_version)
{
	return fangs__pg_db_version(fangs__pg_of(bb), db_version);
}

static int pg_begin(fangs_storage_backend *bb)
{
	return fangs__pg_run(fangs__pg_of(bb), "BEGIN", NULL, "starting a transaction", NULL);
}

static int pg_commit(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	PGresult *res;
	int failed;
	/* COMMIT of a transaction that hit an error "succeeds" as a rollback. */
	if (PQtransactionStatus(b->conn) == PQTRANS_INERROR) {
		fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
		return fangs_error_set(FANGS_ESTORAGE, "postgres %s: commit: the transaction had failed and was rolled back",
				       b->where);
	}
	if (!(res = fangs__pg_query(b, "COMMIT", NULL, "committing")))
		return fangs_error_last_code();
	failed = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
	PQclear(res);
	return failed ? fangs_error_set(FANGS_ESTORAGE, "postgres %s: commit: rolled back by the server", b->where) : 0;
}

static int pg_rollback(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	if (PQtransactionStatus(b->conn) == PQTRANS_IDLE)
		return 0;
	return fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
}

static void pg_free(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	if (!b)
		return;
	PQfinish(b->conn);
	fangs_buf_free(&b->enc);
	fangs_buf_free(&b->copy);
	free(b->where);
	free(b);
}

static void notice(void *arg, const char *message)
{
	(void)arg;
	fangs_debug("postgres: %s", message);
}

static const fangs_storage_backend pg_vtable = {
	.version = FANGS_STORAGE_BACKEND_VERSION,
	.name = "postgres",
	.free = pg_free,
	.schema_version = pg_schema_version,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.package_upsert = fangs__pg_package_upsert,
	.package_get = fangs__pg_package_get,
	.package_list = fangs__pg_package_list,
	.package_set_last_seen = fangs__pg_package_set_last_seen,
	.package_remove = fangs__pg_package_remove,
	.package_reset = fangs__pg_package_reset,
	.release_add = fangs__pg_release_add,
	.release_list = fangs__pg_release_list,
	.run_create = fangs__pg_run_create,
	.run_update = fangs__pg_run_update,
	.run_get = fangs__pg_run_get,
	.run_list = fangs__pg_run_list,
	.events_append = fangs__pg_events_append,
	.events_list = fangs__pg_events_list,
	.events_get = fangs__pg_events_get,
	.run_fingerprints_put = fangs__pg_run_fingerprints_put,
	.run_fingerprints_get = fangs__pg_run_fingerprints_get,
	.baseline_get = fangs__pg_baseline_get,
	.baseline_add_run = fangs__pg_baseline_add_run,
	.baseline_rebuild = fangs__pg_baseline_rebuild,
	.deviations_put = fangs__pg_deviations_put,
	.deviations_list = fangs__pg_deviations_list,
	.deviation_get = fangs__pg_deviation_get,
	.deviations_clear = fangs__pg_deviations_clear,
	.allow_add = fangs__pg_allow_add,
	.allow_list = fangs__pg_allow_list,
	.allow_remove = fangs__pg_allow_remove,
	.prune = fangs__pg_prune,
	.notifier_add = fangs__pg_notifier_add,
	.notifier_list = fangs__pg_notifier_list,
	.notifier_get = fangs__pg_notifier_get,
	.notifier_remove = fangs__pg_notifier_remove,
	.notification_insert = fangs__pg_notification_insert,
	.notification_update = fangs__pg_notification_update,
	.notification_list = fangs__pg_notification_list,
	.notification_due = fangs__pg_notification_due,
	.notification_claim = fangs__pg_notification_claim,
	.job_enqueue = fangs__pg_job_enqueue,
	.job_claim = fangs__pg_job_claim,
	.job_get = fangs__pg_job_get,
	.job_finish = fangs__pg_job_finish,
	.job_requeue_runner = fangs__pg_job_requeue_runner,
	.job_list = fangs__pg_job_list,
	.runner_register = fangs__pg_runner_register,
	.runner_heartbeat = fangs__pg_runner_heartbeat,
	.runner_list = fangs__pg_runner_list,
	.runner_evict = fangs__pg_runner_evict,
	.job_counts = fangs__pg_job_counts,
	.job_prune = fangs__pg_job_prune,
};

static int session_setup(fangs__pg *b, int busy_timeout_ms)
{
	char sql[128];
	int rc;
	/* Lock waits give up like sqlite's busy timeout does. */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", busy_timeout_ms);
	if ((rc = fangs__pg_run(b, "SET client_min_messages = warning", NULL, "session setup", NULL)) ||
	    (rc = fangs__pg_run(b, "SET client_encoding = 'UTF8'", NULL, "session setup", NULL)) ||
	    (rc = fangs__pg_run(b, sql, NULL, "session setup", NULL)))
		return rc;
	if (b->read_only)
		return fangs__pg_run(b, "SET default_transaction_read_only = on", NULL, "session setup", NULL);
	return 0;
}

int fangs_storage_backend_postgres_new(fangs_storage_backend **out, const fangs_storage_options *opts)
{
	fangs__pg *b;
	int rc, v;

	if (!out || !opts)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_backend_postgres_new: NULL argument");
	*out = NULL;
	if (!opts->postgres_dsn || !*opts->postgres_dsn)
		return fangs_error_set(FANGS_EINVAL, "postgres storage: no connection string (postgres_dsn)");
	if (!(b = calloc(1, sizeof(*b))))
		return fangs__error_oom();
	b->base = pg_vtable;
	b->read_only = opts->read_only;
	b->conn = PQconnectdb(opts->postgres_dsn);
	if (!b->conn) {
		free(b);
		return fangs__error_oom();
	}
	if (PQstatus(b->conn) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(b->conn));
		msg[strcspn(msg, "\n")] = '\0';
		pg_free(&b->base);
		return fangs_error_set(FANGS_ESTORAGE, "postgres storage: cannot connect: %s", msg);
	}
	b->where = fangs__asprintf("%s:%s/%s", PQhost(b->conn), PQport(b->conn), PQdb(b->conn));
	if (!b->where) {
		pg_free(&b->base);
		return FANGS_ENOMEM;
	}
	PQsetNoticeProcessor(b->conn, notice, NULL);
	if ((rc = session_setup(b, opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms
							     : FANGS__STORAGE_BUSY_TIMEOUT_MS)) ||
	    (!b->read_only && (rc = fangs__pg_migrate(b))) || (rc = fangs__pg_db_version(b, &v))) {
		pg_free(&b->base);
		return rc;
	}
	if (b->read_only && v != FANGS__STORAGE_SCHEMA_VERSION) {
		rc = fangs_error_set(FANGS_EVERSION, "postgres %s: schema version %d, this fangs needs %d; %s", b->where,
				     v, FANGS__STORAGE_SCHEMA_VERSION,
				     v > FANGS__STORAGE_SCHEMA_VERSION
					     ? "the database was written by a newer fangs: upgrade fangs"
					     : "open it once read-write to migrate it");
		pg_free(&b->base);
		return rc;
	}
	*out = &b->base;
	return 0;
}
