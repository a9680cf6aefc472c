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
	/* Creates an empty database; fills `opts` (whose strings point into
	 * *ctx) so that fangs_storage_open() reaches it. 0 or -1. */
	int (*create)(void **ctx, fangs_storage_options *opts);
	/* Records `version` as applied, behind the library's back. 0 or -1. */
	int (*add_schema_version)(void *ctx, int version);
	void (*destroy)(void *ctx);
} test_backend;

extern const test_backend test_backend_sqlite;

/* Every backend the suite runs against (backends.c). */
extern const test_backend *const test_backends[];
extern const size_t n_test_backends;

#endif
