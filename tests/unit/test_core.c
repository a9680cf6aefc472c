/*
 * Core: error codes and messages, severities, logging callback.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "fangs/fangs.h"

START_TEST(test_errors)
{
	ck_assert_str_eq(fangs_strerror(FANGS_ENOTFOUND), "not found");
	ck_assert_str_eq(fangs_strerror(-9999), "unknown error");
	ck_assert_int_eq(fangs_error_set(FANGS_EINVAL, "bad %s", "thing"), FANGS_EINVAL);
	ck_assert_str_eq(fangs_error_last(), "bad thing");
	ck_assert_int_eq(fangs_error_last_code(), FANGS_EINVAL);
	fangs_error_clear();
	ck_assert_str_eq(fangs_error_last(), "");
	ck_assert_int_eq(fangs_error_last_code(), 0);
}
END_TEST

/* What a cleanup between capture and restore sets is forgotten; a code
 * given to capture wins over the thread's; the state crosses threads. */
static void *restore_elsewhere(void *arg)
{
	fangs_error_clear();
	return (void *)(intptr_t)fangs_error_state_restore(arg);
}

START_TEST(test_error_state)
{
	fangs_error_state keep;
	pthread_t t;
	void *got;
	char lng[1500];

	fangs_error_set(FANGS_ENOTFOUND, "run %s not found", "r1");
	ck_assert_int_eq(fangs_error_state_capture(&keep, 0), FANGS_ENOTFOUND);
	fangs_error_set(FANGS_ESTORAGE, "rolling back: database is locked");
	ck_assert_int_eq(fangs_error_state_restore(&keep), FANGS_ENOTFOUND);
	ck_assert_str_eq(fangs_error_last(), "run r1 not found");
	ck_assert_int_eq(fangs_error_last_code(), FANGS_ENOTFOUND);

	ck_assert_int_eq(fangs_error_state_capture(&keep, FANGS_ESANDBOX), FANGS_ESANDBOX);
	fangs_error_clear();
	ck_assert_int_eq(fangs_error_state_restore(&keep), FANGS_ESANDBOX);
	ck_assert_str_eq(fangs_error_last(), "run r1 not found");

	ck_assert_int_eq(pthread_create(&t, NULL, restore_elsewhere, &keep), 0);
	ck_assert_int_eq(pthread_join(t, &got), 0);
	ck_assert_int_eq((int)(intptr_t)got, FANGS_ESANDBOX);

	/* the longest message the thread keeps survives whole */
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	fangs_error_set(FANGS_EIO, "%s", lng);
	ck_assert_uint_eq(strlen(fangs_error_last()), FANGS_ERROR_MESSAGE_MAX - 1);
	fangs_error_state_capture(&keep, 0);
	fangs_error_clear();
	fangs_error_state_restore(&keep);
	ck_assert_uint_eq(strlen(fangs_error_last()), FANGS_ERROR_MESSAGE_MAX - 1);
	fangs_error_clear();
}
END_TEST

START_TEST(test_severity)
{
	fangs_severity s;
	ck_assert_int_eq(fangs_severity_parse("HIGH", &s), 0);
	ck_assert_int_eq(s, FANGS_SEV_HIGH);
	ck_assert_int_eq(fangs_severity_parse("severe", &s), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "severe"));
	ck_assert_str_eq(fangs_severity_name(FANGS_SEV_CRITICAL), "critical");
	ck_assert(FANGS_SEV_INFO < FANGS_SEV_LOW && FANGS_SEV_LOW < FANGS_SEV_MEDIUM &&
		  FANGS_SEV_MEDIUM < FANGS_SEV_HIGH && FANGS_SEV_HIGH < FANGS_SEV_CRITICAL);
}
END_TEST

static int log_calls;
static char log_last[256];
static void capture(fangs_log_level level, const char *msg, void *user)
{
	(void)level;
	*(int *)user += 1;
	snprintf(log_last, sizeof(log_last), "%s", msg);
	log_calls++;
}

START_TEST(test_logging)
{
	int user = 0;
	log_calls = 0;
	fangs_warn("not delivered %d", 1);
	ck_assert_int_eq(log_calls, 0);
	fangs_log_set(capture, FANGS_LOG_INFO, &user);
	fangs_debug("too verbose");
	ck_assert_int_eq(log_calls, 0);
	fangs_info("hello %s", "world");
	ck_assert_int_eq(log_calls, 1);
	ck_assert_int_eq(user, 1);
	ck_assert_str_eq(log_last, "hello world");
	fangs_log_set(NULL, FANGS_LOG_DEBUG, NULL);
	fangs_err("gone");
	ck_assert_int_eq(log_calls, 1);
}
END_TEST

START_TEST(test_buf_json_escape)
{
	fangs_buf b = FANGS_BUF_INIT;
	char *s;
	fangs_buf_json_strn(&b, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
	s = fangs_buf_steal(&b, NULL);
	ck_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_error_state);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_logging);
	tcase_add_test(tc, test_buf_json_escape);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
