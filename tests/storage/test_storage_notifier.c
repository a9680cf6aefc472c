/*
 * tests/storage/test_storage_notifier.c - the storage contract for notifier
 * targets and their delivery history, run against every backend of
 * backends.c (the loop index selects it).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fangs/fangs.h>

#include "fixture.h"

static void make_target(fangs_notifier_target *t, const char *name, const char *tpl)
{
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->url = strdup("https://hooks.example/x");
	t->template_name = strdup(tpl);
	t->enabled = 1;
	t->min_severity = FANGS_SEV_MEDIUM;
	ck_assert(t->name && t->url && t->template_name);
}

START_TEST(test_targets)
{
	fangs_storage *st = fx_open(_i);
	fangs_notifier_target a, b, got;
	fangs_notifier_target_list list = {0};

	make_target(&a, "ops", "generic");
	OK(fangs_notifier_target_add_header(&a, "Authorization", "Bearer t0k3n"));
	OK(fangs_notifier_target_add_header(&a, "X-Team", "sec"));
	a.secret_env = strdup("FANGS_HOOK_SECRET");
	OK(fangs_storage_notifier_add(st, &a));
	ck_assert_int_gt(a.id, 0);
	ck_assert_int_gt(a.created_ns, 0);

	make_target(&b, "chat", "slack");
	b.enabled = 0;
	b.min_severity = FANGS_SEV_CRITICAL;
	OK(fangs_storage_notifier_add(st, &b));

	/* names are unique */
	fangs_notifier_target_clear(&b);
	make_target(&b, "ops", "discord");
	FAILS(FANGS_EEXISTS, fangs_storage_notifier_add(st, &b));
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "ops"));
	fangs_notifier_target_clear(&b);

	OK(fangs_storage_notifier_get(st, "ops", &got));
	ck_assert_int_eq(got.id, a.id);
	ck_assert_str_eq(got.url, "https://hooks.example/x");
	ck_assert_str_eq(got.template_name, "generic");
	ck_assert_str_eq(got.secret_env, "FANGS_HOOK_SECRET");
	ck_assert_int_eq(got.enabled, 1);
	ck_assert_int_eq(got.min_severity, FANGS_SEV_MEDIUM);
	ck_assert_uint_eq(got.n_headers, 2);
	for (size_t i = 0; i < 2; i++) {
		if (!strcmp(got.headers[i].name, "Authorization"))
			ck_assert_str_eq(got.headers[i].value, "Bearer t0k3n");
		else
			ck_assert_str_eq(got.headers[i].value, "sec");
	}
	fangs_notifier_target_clear(&got);

	OK(fangs_storage_notifier_list(st, &list));
	ck_assert_uint_eq(list.count, 2);
	ck_assert_str_eq(list.items[0].name, "chat"); /* by name */
	ck_assert_int_eq(list.items[0].enabled, 0);
	ck_assert_int_eq(list.items[0].min_severity, FANGS_SEV_CRITICAL);
	ck_assert_ptr_null(list.items[0].secret_env);
	ck_assert_uint_eq(list.items[0].n_headers, 0);
	fangs_notifier_target_list_free(&list);

	FAILS(FANGS_ENOTFOUND, fangs_storage_notifier_get(st, "nope", &got));
	FAILS(FANGS_ENOTFOUND, fangs_storage_notifier_remove(st, "nope"));
	OK(fangs_storage_notifier_remove(st, "chat"));
	OK(fangs_storage_notifier_list(st, &list));
	ck_assert_uint_eq(list.count, 1);
	fangs_notifier_target_list_free(&list);
	fangs_notifier_target_clear(&a);
	fangs_storage_free(st);
}
END_TEST

static int64_t add_row(fangs_storage *st, int64_t notifier_id, const char *run, int attempt,
		       fangs_notification_status s, int64_t next_ns)
{
	fangs_notification n = {0};
	n.notifier_id = notifier_id;
	n.run_id = (char *)run;
	n.attempt = attempt;
	n.status = s;
	n.next_attempt_ns = next_ns;
	n.body = (char *)"{\"source\":\"fangs\"}";
	OK(fangs_storage_notification_insert(st, &n));
	ck_assert_int_gt(n.id, 0);
	ck_assert_int_gt(n.created_ns, 0);
	return n.id;
}

START_TEST(test_history_and_due)
{
	fangs_storage *st = fx_open(_i);
	fangs_notifier_target a, b;
	fangs_notification_list l = {0};
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	int64_t r1, r2, r3;

	make_target(&a, "a", "generic");
	make_target(&b, "b", "discord");
	OK(fangs_storage_notifier_add(st, &a));
	OK(fangs_storage_notifier_add(st, &b));

	r1 = add_row(st, a.id, "run1", 1, FANGS_NOTIFICATION_PENDING, 1000);
	r2 = add_row(st, b.id, "run1", 1, FANGS_NOTIFICATION_PENDING, 500);
	r3 = add_row(st, a.id, "run2", 1, FANGS_NOTIFICATION_PENDING, 5000);

	/* due: soonest first, only those due */
	OK(fangs_storage_notification_due(st, 1000, 0, &l));
	ck_assert_uint_eq(l.count, 2);
	ck_assert_int_eq(l.items[0].id, r2);
	ck_assert_str_eq(l.items[0].notifier_name, "b");
	ck_assert_int_eq(l.items[1].id, r1);
	ck_assert_str_eq(l.items[1].body, "{\"source\":\"fangs\"}");
	fangs_notification_list_free(&l);
	OK(fangs_storage_notification_due(st, INT64_MAX, 1, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_int_eq(l.items[0].next_attempt_ns, 500);
	fangs_notification_list_free(&l);

	/* claim is a compare-and-set: the second sender loses */
	OK(fangs_storage_notification_claim(st, r1, FANGS_NOTIFICATION_PENDING, 1000, 90000));
	FAILS(FANGS_EBUSY, fangs_storage_notification_claim(st, r1, FANGS_NOTIFICATION_PENDING, 1000, 90000));
	/* a claimed row is due again only when its lease ran out */
	OK(fangs_storage_notification_due(st, 80000, 0, &l));
	ck_assert_uint_eq(l.count, 2); /* r2, r3 */
	fangs_notification_list_free(&l);
	OK(fangs_storage_notification_due(st, 90000, 0, &l));
	ck_assert_uint_eq(l.count, 3);
	ck_assert_int_eq(l.items[2].id, r1);
	ck_assert_int_eq(l.items[2].status, FANGS_NOTIFICATION_SENDING);
	fangs_notification_list_free(&l);

	/* the outcome of an attempt */
	{
		fangs_notification n = {0};
		n.id = r1;
		n.status = FANGS_NOTIFICATION_RETRY;
		n.http_status = 503;
		n.error = (char *)"the receiver answered HTTP 503";
		n.body = (char *)"{}";
		n.created_ns = 4242;
		OK(fangs_storage_notification_update(st, &n));
		n.id = 999999;
		FAILS(FANGS_ENOTFOUND, fangs_storage_notification_update(st, &n));
	}
	add_row(st, a.id, "run1", 2, FANGS_NOTIFICATION_PENDING, 7000);

	f.run_id = "run1";
	OK(fangs_storage_notification_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 3);
	ck_assert_int_eq(l.items[0].id, r1);
	ck_assert_int_eq(l.items[0].status, FANGS_NOTIFICATION_RETRY);
	ck_assert_int_eq(l.items[0].http_status, 503);
	ck_assert_str_eq(l.items[0].error, "the receiver answered HTTP 503");
	ck_assert_int_eq(l.items[0].created_ns, 4242);
	ck_assert_int_eq(l.items[0].next_attempt_ns, 0);
	ck_assert_int_eq(l.items[1].http_status, 0); /* none yet */
	ck_assert_ptr_null(l.items[1].error);
	ck_assert_int_eq(l.items[2].attempt, 2);
	fangs_notification_list_free(&l);

	f.run_id = NULL;
	f.notifier = "a";
	OK(fangs_storage_notification_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 3);
	fangs_notification_list_free(&l);
	f.notifier = NULL;
	f.notifier_id = b.id;
	OK(fangs_storage_notification_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_int_eq(l.items[0].id, r2);
	fangs_notification_list_free(&l);
	f.notifier_id = 0;
	f.limit = 2;
	OK(fangs_storage_notification_list(st, &f, &l));
	ck_assert_uint_eq(l.count, 2);
	fangs_notification_list_free(&l);

	/* a target's removal takes its history along */
	OK(fangs_storage_notifier_remove(st, "a"));
	OK(fangs_storage_notification_list(st, NULL, &l));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].notifier_name, "b");
	fangs_notification_list_free(&l);
	(void)r3;

	/* rows need an existing target */
	{
		fangs_notification n = {0};
		n.notifier_id = a.id;
		n.run_id = (char *)"run1";
		n.attempt = 1;
		ck_assert_int_ne(fangs_storage_notification_insert(st, &n), 0);
		n.attempt = 0;
		FAILS(FANGS_EINVAL, fangs_storage_notification_insert(st, &n));
	}
	fangs_notifier_target_clear(&a);
	fangs_notifier_target_clear(&b);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_status_names)
{
	fangs_notification_status s;
	for (int i = 0; i <= FANGS_NOTIFICATION_FAILED; i++) {
		OK(fangs_notification_status_parse(fangs_notification_status_name((fangs_notification_status)i), &s));
		ck_assert_int_eq(s, i);
	}
	FAILS(FANGS_EINVAL, fangs_notification_status_parse("bogus", &s));
	ck_assert_str_eq(fangs_notification_status_name((fangs_notification_status)77), "unknown");
}
END_TEST

static Suite *notifier_storage_suite(void)
{
	Suite *s = suite_create("storage-notifier");
	TCase *c = tcase_create("contract");
	int n = (int)n_test_backends;
	tcase_set_timeout(c, 120);
	tcase_add_checked_fixture(c, NULL, fx_cleanup);
	tcase_add_loop_test(c, test_targets, 0, n);
	tcase_add_loop_test(c, test_history_and_due, 0, n);
	tcase_add_test(c, test_status_names);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return fx_run_suite(notifier_storage_suite(), "storage-notifier");
}
