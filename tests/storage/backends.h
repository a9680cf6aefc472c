/*
 * tests/storage/backends.h - how the storage contract suite reaches each
 * backend: make an empty database, open it, tamper with its schema
 * version, throw it away.
 */
#ifndef FANGS_TESTS_STORAGE_BACKENDS_H
#define FANGS_TESTS_STORAGE_BACKENDS_H

#include <fangs/fangs.h>

typedef struct test_backend {
	const char *name; /* as fangs_storage_backend_name() reports it */
	/* Optional: once per test program, before any test and after all of
	 * them (e.g. to run a private server). 0 or -1 with a message on stderr. */
	int (*setup_all)(void);
	void (*teardown_all)(void);
	/* Creates an empty database; fills `opts` (whose strings point into
	 * *ctx) so that fangs_storage_open() reaches it. 0 or -1. */
	int (*create)(void **ctx, fangs_storage_options *opts);
	/* Records `version` as applied, behind the library's back. 0 or -1. */
	int (*add_schema_version)(void *ctx, int version);
	void (*destroy)(void *ctx);
	/* Runs SQL statements behind the library's back. 0 or -1. */
	int (*exec)(void *ctx, const char *sql);
	/* The first column of the first row of a query, as an integer. 0 or -1. */
	int (*query_i64)(void *ctx, const char *sql, long long *out);
} test_backend;

extern const test_backend test_backend_sqlite;
extern const test_backend test_backend_postgres;

/* Every backend the suite runs against (backends.c). */
extern const test_backend *const test_backends[];
extern const size_t n_test_backends;

#endif
