/*
 * tests/storage/backend_sqlite.c - SQLite databases for the contract suite:
 * a fresh file in a private temporary directory.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"

typedef struct sqlite_ctx {
	char dir[256];
	char path[300];
} sqlite_ctx;

static int sq_create(void **out, fangs_storage_options *opts)
{
	const char *tmp = getenv("TMPDIR");
	sqlite_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s/fangs-storage-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s/fangs.db", c->dir);
	opts->backend = "sqlite";
	opts->sqlite_path = c->path;
	*out = c;
	return 0;
}

static int sq_add_schema_version(void *ctx, int version)
{
	sqlite_ctx *c = ctx;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, applied_ns) VALUES (?1, 0)", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int(st, 1, version);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
out:
	if (rc)
		fprintf(stderr, "sqlite test backend: %s\n", db ? sqlite3_errmsg(db) : "open failed");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int sq_exec(void *ctx, const char *sql)
{
	sqlite_ctx *c = ctx;
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc = -1;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 5000) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		rc = 0;
	if (rc)
		fprintf(stderr, "sqlite test backend: %s: %s\n", sql,
			err  ? err
			: db ? sqlite3_errmsg(db)
			     : "open failed");
	sqlite3_free(err);
	sqlite3_close(db);
	return rc;
}

static int sq_query_i64(void *ctx, const char *sql, long long *out)
{
	sqlite_ctx *c = ctx;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 5000) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	if (rc)
		fprintf(stderr, "sqlite test backend: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "open failed");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static void sq_destroy(void *ctx)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	sqlite_ctx *c = ctx;
	char p[320];
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", c->path, suffixes[i]);
		unlink(p);
	}
	rmdir(c->dir);
	free(c);
}

const test_backend test_backend_sqlite = {
	.name = "sqlite",
	.create = sq_create,
	.add_schema_version = sq_add_schema_version,
	.destroy = sq_destroy,
	.exec = sq_exec,
	.query_i64 = sq_query_i64,
};
