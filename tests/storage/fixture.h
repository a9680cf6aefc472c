/*
 * tests/storage/fixture.h - what the storage contract suites share: one
 * fresh database per test on the backend the loop index selects, the
 * assertion macros, and the runner that prepares every backend first.
 */
#ifndef FANGS_TESTS_STORAGE_FIXTURE_H
#define FANGS_TESTS_STORAGE_FIXTURE_H

#include <check.h>
#include <string.h>

#include <fangs/fangs.h>

#include "backends.h"

extern const test_backend *fx_backend;
extern void *fx_ctx;
extern fangs_storage_options fx_opts;

/* Throws the database away (a checked teardown, and atexit for forked
 * tests that end on a failed check). */
void fx_cleanup(void);
/* Creates an empty database of backend `i` (not opened yet). */
void fx_create(int i);
/* Creates the database of backend `i` and opens a first handle on it. */
fangs_storage *fx_open(int i);
/* Another handle on the same database. */
fangs_storage *fx_reopen(void);

/* Prepares every backend, runs the suite, tears the backends down; returns
 * the process exit status. `what` names the suite in messages. */
int fx_run_suite(Suite *s, const char *what);

#define OK(call) \
	do { \
		int ok_rc_ = (call); \
		ck_assert_msg(ok_rc_ == 0, "%s -> %d: %s", #call, ok_rc_, fangs_error_last()); \
	} while (0)

#define FAILS(code, call) \
	do { \
		int f_rc_ = (call); \
		ck_assert_msg(f_rc_ == (code), "%s -> %d (expected %d): %s", #call, f_rc_, (code), \
			      fangs_error_last()); \
	} while (0)

#define MSG_HAS(s) ck_assert_msg(strstr(fangs_error_last(), (s)), "message '%s' lacks '%s'", fangs_error_last(), (s))

#endif
