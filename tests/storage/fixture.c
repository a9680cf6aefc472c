/*
 * tests/storage/fixture.c - one fresh database per test, and the runner of
 * the storage contract suites.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

const test_backend *fx_backend;
void *fx_ctx;
fangs_storage_options fx_opts;

void fx_cleanup(void)
{
	if (fx_backend && fx_ctx)
		fx_backend->destroy(fx_ctx);
	fx_ctx = NULL;
}

void fx_create(int i)
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

fangs_storage *fx_open(int i)
{
	fangs_storage *st = NULL;
	int rc;

	fx_create(i);
	rc = fangs_storage_open(&st, &fx_opts);
	ck_assert_msg(rc == 0, "%s: open: %s", fx_backend->name, fangs_error_last());
	ck_assert_str_eq(fangs_storage_backend_name(st), fx_backend->name);
	return st;
}

fangs_storage *fx_reopen(void)
{
	fangs_storage *st = NULL;
	int rc = fangs_storage_open(&st, &fx_opts);
	ck_assert_msg(rc == 0, "reopen: %s", fangs_error_last());
	return st;
}

/* A suite not run is not freed: check has no way to, and the process ends. */
int fx_run_suite(Suite *s, const char *what)
{
	SRunner *sr;
	size_t ready = 0;
	int failed = 0, has_pg = 0;

	for (size_t i = 0; i < n_test_backends; i++)
		has_pg |= strcmp(test_backends[i]->name, "postgres") == 0;
	if (getenv("FANGS_TEST_POSTGRES_DSN") && !has_pg) {
		fprintf(stderr, "%s: FANGS_TEST_POSTGRES_DSN is set but this build has no postgres backend\n", what);
		return EXIT_FAILURE;
	}
	for (; ready < n_test_backends; ready++) {
		const test_backend *b = test_backends[ready];
		fprintf(stderr, "%s: backend %s\n", what, b->name);
		if (b->setup_all && b->setup_all() != 0) {
			fprintf(stderr, "%s: cannot prepare the %s backend\n", what, b->name);
			failed = 1;
			break;
		}
	}
	if (!failed) {
		sr = srunner_create(s);
		srunner_run_all(sr, CK_NORMAL);
		failed = srunner_ntests_failed(sr);
		srunner_free(sr);
	}
	while (ready-- > 0)
		if (test_backends[ready]->teardown_all)
			test_backends[ready]->teardown_all();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
