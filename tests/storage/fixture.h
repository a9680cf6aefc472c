/*
 * tests/storage/fixture.h - what the storage contract suites share: one
 * fresh database per test on the backend the loop index selects, and
 * assertion macros that show the library's message. Included once by
 * each suite's file.
 */
#ifndef FANGS_TESTS_STORAGE_FIXTURE_H
#define FANGS_TESTS_STORAGE_FIXTURE_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <fangs/fangs.h>

#include "backends.h"

static const test_backend *fx_backend;
static void *fx_ctx;
static fangs_storage_options fx_opts;

static inline void fx_cleanup(void)
{
	if (fx_backend && fx_ctx)
		fx_backend->destroy(fx_ctx);
	fx_ctx = NULL;
}

/* Creates an empty database of backend `i` (not opened yet). */
static inline void fx_create(int i)
{
	static int registered;
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;

	fx_backend = test_backends[i];
	fx_opts = o;
	ck_assert_int_eq(fx_backend->create(&fx_ctx, &fx_opts), 0);
	/* a failing check ends a forked test without its teardown */
	if (!registered++)
		atexit(fx_cleanup);
}

/* Creates the database of backend `i` and opens a first handle on it. */
static inline fangs_storage *fx_open(int i)
{
	fangs_storage *st = NULL;
	int rc;

	fx_create(i);
	rc = fangs_storage_open(&st, &fx_opts);
	ck_assert_msg(rc == 0, "%s: open: %s", fx_backend->name, fangs_error_last());
	ck_assert_str_eq(fangs_storage_backend_name(st), fx_backend->name);
	return st;
}

/* Another handle on the same database. */
static inline fangs_storage *fx_reopen(void)
{
	fangs_storage *st = NULL;
	int rc = fangs_storage_open(&st, &fx_opts);
	ck_assert_msg(rc == 0, "reopen: %s", fangs_error_last());
	return st;
}

#define OK(call)                                                                         \
	do {                                                                             \
		int ok_rc_ = (call);                                                     \
		ck_assert_msg(ok_rc_ == 0, "%s -> %d: %s", #call, ok_rc_, fangs_error_last()); \
	} while (0)

#define FAILS(code, call)                                                                    \
	do {                                                                                 \
		int f_rc_ = (call);                                                          \
		ck_assert_msg(f_rc_ == (code), "%s -> %d (expected %d): %s", #call, f_rc_, (code), \
			      fangs_error_last());                                            \
	} while (0)

#define MSG_HAS(s) ck_assert_msg(strstr(fangs_error_last(), (s)), "message '%s' lacks '%s'", fangs_error_last(), (s))

#endif
