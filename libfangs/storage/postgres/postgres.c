/*
 * storage/postgres/postgres.c - the PostgreSQL backend: connection, errors,
 * transactions. Tables are handled in postgres_<area>.c; the schema lives
 * in postgres_migrations.c.
 *
 * Statements go through PQexecParams with text parameters; events go in
 * with COPY. A handle is used by one thread at a time.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/postgres/postgres_internal.h"

/* A lost connection is made again at the next statement outside a
 * transaction: at once and then with backoff for up to this long when the
 * loss is new; once the server stays away, one attempt per call at most
 * every RECONNECT_MAX_BACKOFF_MS, so that callers fail fast meanwhile. */
#define RECONNECT_FIRST_BUDGET_MS 2000
#define RECONNECT_MAX_BACKOFF_MS 2000
/* libpq waits for a connection forever unless told */
#define CONNECT_TIMEOUT_S "5"

static int session_setup(fangs__pg *b, int busy_timeout_ms);

/* Below this many events a batch is inserted row by row. */
#define COPY_MIN_DEFAULT 8

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of libpq's message about the connection. */
static void conn_message(fangs__pg *b, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQerrorMessage(b->conn));
	out[strcspn(out, "\n")] = '\0';
	if (!out[0])
		snprintf(out, cap, "no connection");
}

/* Did the statement fail because the connection is gone (the server went
 * away, was restarted, or refuses connections for now)? */
static int connection_lost(fangs__pg *b, const char *state)
{
	if (PQstatus(b->conn) == CONNECTION_BAD)
		return 1;
	return state && (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
			 !strcmp(state, "57P03"));
}

static int reconnect(fangs__pg *b)
{
	char msg[512];
	int64_t now = mono_ms(), deadline;

	conn_message(b, msg, sizeof(msg));
	if (b->down_since_ms && now < b->next_try_ms)
		return fangs_error_set(FANGS_ENETWORK, "postgres %s: not connected (%s); next attempt in %lld ms",
				       b->where, msg, (long long)(b->next_try_ms - now));
	if (!b->down_since_ms) {
		fangs_warn("postgres %s: connection lost (%s): reconnecting", b->where, msg);
		b->down_since_ms = now;
		b->backoff_ms = 100;
		deadline = now + RECONNECT_FIRST_BUDGET_MS;
	} else {
		deadline = now;
	}
	for (;;) {
		PQreset(b->conn);
		if (PQstatus(b->conn) == CONNECTION_OK) {
			/* the session's settings went with the old connection (there
			 * are no prepared statements: every statement is sent whole) */
			if (session_setup(b, b->busy_timeout_ms) == 0) {
				fangs_warn("postgres %s: reconnected after %lld ms", b->where,
					   (long long)(mono_ms() - b->down_since_ms));
				b->down_since_ms = 0;
				b->backoff_ms = 100;
				return 0;
			}
			snprintf(msg, sizeof(msg), "%s", fangs_error_last());
		} else {
			conn_message(b, msg, sizeof(msg));
		}
		if (mono_ms() + b->backoff_ms > deadline)
			break;
		usleep((useconds_t)b->backoff_ms * 1000);
		b->backoff_ms =
			b->backoff_ms * 2 > RECONNECT_MAX_BACKOFF_MS ? RECONNECT_MAX_BACKOFF_MS : b->backoff_ms * 2;
	}
	b->next_try_ms = mono_ms() + b->backoff_ms;
	b->backoff_ms = b->backoff_ms * 2 > RECONNECT_MAX_BACKOFF_MS ? RECONNECT_MAX_BACKOFF_MS : b->backoff_ms * 2;
	if (deadline > now)
		fangs_warn("postgres %s: cannot reconnect (%s): trying again at the next call, at most every %d ms",
			   b->where, msg, RECONNECT_MAX_BACKOFF_MS);
	return fangs_error_set(FANGS_ENETWORK, "postgres %s: cannot reconnect: %s", b->where, msg);
}

/* Before a statement: a transaction whose connection was lost can only be
 * rolled back; outside one, a connection the server closed meanwhile is
 * noticed (the socket reads EOF) and made again before anything is sent. */
static int ready(fangs__pg *b)
{
	if (b->tx_lost)
		return fangs_error_set(FANGS_ENETWORK,
				       "postgres %s: the connection was lost in the middle of the transaction "
				       "(the server rolled it back)",
				       b->where);
	if (b->in_tx)
		return 0;
	if (PQstatus(b->conn) == CONNECTION_OK) {
		PQconsumeInput(b->conn);
		if (PQstatus(b->conn) == CONNECTION_OK)
			return 0;
	}
	return reconnect(b);
}

int fangs__pg_fail(fangs__pg *b, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = FANGS_ESTORAGE;

	if (!msg)
		msg = PQerrorMessage(b->conn);
	if (connection_lost(b, state)) {
		char line[512];
		snprintf(line, sizeof(line), "%s", msg);
		line[strcspn(line, "\n")] = '\0';
		if (b->in_tx)
			b->tx_lost = 1;
		return fangs_error_set(FANGS_ENETWORK, "postgres %s: %s: connection lost: %s", b->where ? b->where : "",
				       what, line);
	}
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
	PGresult *res;
	const char *v[FANGS__PG_MAX_PARAMS];
	char *made[FANGS__PG_MAX_PARAMS] = {0};
	int n = p ? p->n : 0;
	if (ready(b))
		return NULL;
	/* PostgreSQL refuses text that is not UTF-8 (an install's output, a
	 * reason quoting it, a file name): such a value is stored with U+FFFD
	 * for each bad byte, as every JSON answer would show it anyway */
	for (int i = 0; i < n; i++) {
		v[i] = p->v[i];
		if (v[i] && !fangs_utf8_valid(v[i], strlen(v[i]))) {
			if (!(made[i] = fangs_utf8_clean(v[i], strlen(v[i]), NULL))) {
				for (int k = 0; k < i; k++)
					free(made[k]);
				return NULL;
			}
			v[i] = made[i];
		}
	}
	res = PQexecParams(b->conn, sql, n, NULL, n ? v : NULL, NULL, NULL, 0);
	for (int i = 0; i < n; i++)
		free(made[i]);
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
	int rc;
	*outer = !b->in_tx;
	rc = fangs__pg_run(b, *outer ? "BEGIN" : "SAVEPOINT fangs_op", NULL, "starting a transaction", NULL);
	if (rc == 0 && *outer)
		b->in_tx = 1;
	return rc;
}

int fangs__pg_write_end(fangs__pg *b, int outer, int rc)
{
	fangs_error_state keep;

	if (rc == 0) {
		rc = fangs__pg_run(b, outer ? "COMMIT" : "RELEASE fangs_op", NULL, "committing", NULL);
		if (rc == 0) {
			if (outer)
				b->in_tx = 0;
			return 0;
		}
	}
	/* Keep the first error's message: the rollback must not overwrite it. */
	fangs_error_state_capture(&keep, fangs_error_last_code() ? 0 : rc);
	if (outer) {
		if (!b->tx_lost && PQtransactionStatus(b->conn) != PQTRANS_IDLE)
			fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
		b->in_tx = 0;
		b->tx_lost = 0;
	} else {
		fangs__pg_run(b, "ROLLBACK TO fangs_op", NULL, "rolling back", NULL);
		fangs__pg_run(b, "RELEASE fangs_op", NULL, "rolling back", NULL);
	}
	fangs_error_state_restore(&keep);
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

static int pg_ping(fangs_storage_backend *bb)
{
	return fangs__pg_run(fangs__pg_of(bb), "SELECT 1", NULL, "checking the connection", NULL);
}

static int pg_begin(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	int rc = fangs__pg_run(b, "BEGIN", NULL, "starting a transaction", NULL);
	if (rc == 0)
		b->in_tx = 1;
	return rc;
}

static int pg_commit(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	PGresult *res;
	int failed;
	/* COMMIT of a transaction that hit an error "succeeds" as a rollback. */
	if (!b->tx_lost && PQtransactionStatus(b->conn) == PQTRANS_INERROR) {
		fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
		b->in_tx = 0;
		return fangs_error_set(FANGS_ESTORAGE,
				       "postgres %s: commit: the transaction had failed and was rolled back", b->where);
	}
	/* lost on the way: the caller rolls back (and may run it again) */
	if (!(res = fangs__pg_query(b, "COMMIT", NULL, "committing")))
		return fangs_error_last_code();
	b->in_tx = 0;
	failed = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
	PQclear(res);
	return failed ? fangs_error_set(FANGS_ESTORAGE, "postgres %s: commit: rolled back by the server", b->where) : 0;
}

static int pg_rollback(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	int lost = b->tx_lost, rc = 0;
	b->tx_lost = 0;
	if (!lost && PQtransactionStatus(b->conn) != PQTRANS_IDLE)
		rc = fangs__pg_run(b, "ROLLBACK", NULL, "rolling back", NULL);
	b->in_tx = 0;
	b->tx_lost = 0;
	/* a transaction lost with its connection was rolled back by the server */
	return rc == FANGS_ENETWORK ? 0 : rc;
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
	.ping = pg_ping,
	.events_append_batch = fangs__pg_events_append_batch,
	.run_page = fangs__pg_run_page,
	.events_page = fangs__pg_events_page,
	.proc_groups = fangs__pg_proc_groups,
	.deviation_counts = fangs__pg_deviation_counts,
	.leader_try = fangs__pg_leader_try,
	.leader_release = fangs__pg_leader_release,
	.feed_get = fangs__pg_feed_get,
	.feed_advance = fangs__pg_feed_advance,
	.job_enqueue_release = fangs__pg_job_enqueue_release,
};

static int session_setup(fangs__pg *b, int busy_timeout_ms)
{
	char sql[128];
	int rc;
	/* Lock waits give up like sqlite's busy timeout does. */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", busy_timeout_ms);
	if ((rc = fangs__pg_run(b, "SET client_min_messages = warning", NULL, "session setup", NULL)) ||
	    (rc = fangs__pg_run(b, "SET client_encoding = 'UTF8'", NULL, "session setup", NULL)) ||
	    /* short queries over many partitions: compiling them (seconds) costs
	     * more than it saves */
	    (rc = fangs__pg_run(b, "SET jit = off", NULL, "session setup", NULL)) ||
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
	b->copy_min = COPY_MIN_DEFAULT;
	{
		/* for measurements: FANGS_PG_COPY_MIN=N sends batches of N events or
		 * more with COPY (a huge N: every event with INSERT) */
		const char *env = getenv("FANGS_PG_COPY_MIN");
		if (env && *env)
			b->copy_min = (size_t)strtoull(env, NULL, 10);
	}
	b->busy_timeout_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : FANGS__STORAGE_BUSY_TIMEOUT_MS;
	{
		/* the DSN's own connect_timeout, when it has one, wins (it comes later) */
		const char *const keys[] = {"connect_timeout", "dbname", NULL};
		const char *const values[] = {CONNECT_TIMEOUT_S, opts->postgres_dsn, NULL};
		b->conn = PQconnectdbParams(keys, values, 1);
	}
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
	if ((rc = session_setup(b, b->busy_timeout_ms)) || (!b->read_only && (rc = fangs__pg_migrate(b))) ||
	    (rc = fangs__pg_db_version(b, &v))) {
		pg_free(&b->base);
		return rc;
	}
	if (b->read_only && v != FANGS__STORAGE_SCHEMA_VERSION) {
		rc = fangs_error_set(FANGS_EVERSION, "postgres %s: schema version %d, this fangs needs %d; %s",
				     b->where, v, FANGS__STORAGE_SCHEMA_VERSION,
				     v > FANGS__STORAGE_SCHEMA_VERSION
					     ? "the database was written by a newer fangs: upgrade fangs"
					     : "open it once read-write to migrate it");
		pg_free(&b->base);
		return rc;
	}
	*out = &b->base;
	return 0;
}
