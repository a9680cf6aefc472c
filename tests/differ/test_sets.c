/*
 * tests/differ/test_sets.c - the fingerprint set and allowlist entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

START_TEST(fpset_basics)
{
	fangs_fpset *s = NULL;
	ck_assert_int_eq(fangs_fpset_new(&s), 0);
	ck_assert_uint_eq(fangs_fpset_size(s), 0);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "~/.npmrc"), 1);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "~/.npmrc"), 0);
	/* kind and actor are part of the key */
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "~/.npmrc"), 1);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, "~/.npmrc"), 1);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_DNS, FANGS_ACTOR_NPM, ""), 1);
	ck_assert_uint_eq(fangs_fpset_size(s), 4);
	ck_assert_int_eq(fangs_fpset_contains(s, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "~/.npmrc"), 1);
	ck_assert_int_eq(fangs_fpset_contains(s, FANGS_FP_EXEC, FANGS_ACTOR_NPM, "~/.npmrc"), 0);
	ck_assert_int_eq(fangs_fpset_contains(s, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "~/.npmrc2"), 0);
	ck_assert_int_eq(fangs_fpset_contains(s, FANGS_FP_DNS, FANGS_ACTOR_NPM, ""), 1);
	ck_assert_int_eq(fangs_fpset_add(s, (fangs_fp_kind)9, FANGS_ACTOR_NPM, "x"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_DNS, (fangs_actor)7, "x"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_fpset_add(s, FANGS_FP_DNS, FANGS_ACTOR_NPM, NULL), FANGS_EINVAL);
	ck_assert_int_eq(fangs_fpset_contains(NULL, FANGS_FP_DNS, FANGS_ACTOR_NPM, "x"), 0);
	ck_assert_uint_eq(fangs_fpset_size(NULL), 0);
	fangs_fpset_free(s);
	fangs_fpset_free(NULL);
}
END_TEST

struct walk {
	size_t n;
	size_t scripts;
	size_t stop_after;
};

static int count_fp(const fangs_fingerprint *fp, void *user)
{
	struct walk *w = user;
	w->n++;
	if (fp->actor == FANGS_ACTOR_SCRIPT)
		w->scripts++;
	return w->stop_after && w->n == w->stop_after ? 42 : 0;
}

START_TEST(fpset_grow_merge_foreach)
{
	fangs_fpset *a = NULL, *b = NULL;
	char v[64];
	struct walk w = {0, 0, 0};
	ck_assert_int_eq(fangs_fpset_new(&a), 0);
	ck_assert_int_eq(fangs_fpset_new(&b), 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(v, sizeof(v), "/work/node_modules/pkg%d/index.js", i);
		ck_assert_int_eq(fangs_fpset_add(a, FANGS_FP_FS_READ, (fangs_actor)(i & 1), v), 1);
	}
	ck_assert_uint_eq(fangs_fpset_size(a), 100000);
	for (int i = 0; i < 100000; i += 997) {
		snprintf(v, sizeof(v), "/work/node_modules/pkg%d/index.js", i);
		ck_assert(fangs_fpset_contains(a, FANGS_FP_FS_READ, (fangs_actor)(i & 1), v));
		ck_assert(!fangs_fpset_contains(a, FANGS_FP_FS_READ, (fangs_actor) !(i & 1), v));
	}
	/* a value larger than the arena's blocks */
	{
		char *big = malloc(200000);
		ck_assert_ptr_nonnull(big);
		memset(big, 'q', 199999);
		big[199999] = '\0';
		ck_assert_int_eq(fangs_fpset_add(b, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, big), 1);
		ck_assert_int_eq(fangs_fpset_contains(b, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, big), 1);
		free(big);
	}
	ck_assert_int_eq(fangs_fpset_add(b, FANGS_FP_SNI, FANGS_ACTOR_NPM, "registry.example"), 1);
	ck_assert_int_eq(fangs_fpset_add(b, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/work/node_modules/pkg0/index.js"), 1);
	ck_assert_int_eq(fangs_fpset_merge(a, b), 0);
	ck_assert_uint_eq(fangs_fpset_size(a), 100002);
	ck_assert(fangs_fpset_contains(a, FANGS_FP_SNI, FANGS_ACTOR_NPM, "registry.example"));
	ck_assert_int_eq(fangs_fpset_foreach(a, count_fp, &w), 0);
	ck_assert_uint_eq(w.n, 100002);
	ck_assert_uint_eq(w.scripts, 50001);
	w = (struct walk){0, 0, 10};
	ck_assert_int_eq(fangs_fpset_foreach(a, count_fp, &w), 42);
	ck_assert_uint_eq(w.n, 10);
	fangs_fpset_free(a);
	fangs_fpset_free(b);
}
END_TEST

START_TEST(severity_defaults)
{
	ck_assert_int_eq(fangs_deviation_kind_default_severity("fs_cred_read"), FANGS_SEV_CRITICAL);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("net_new_destination"), FANGS_SEV_HIGH);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("net_new_https_host"), FANGS_SEV_HIGH);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("proc_new_exec"), FANGS_SEV_MEDIUM);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("net_new_dns"), FANGS_SEV_MEDIUM);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("fs_new_path_write"), FANGS_SEV_MEDIUM);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("fs_new_path_read"), FANGS_SEV_LOW);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("rule:curl-pipe-sh"), FANGS_SEV_MEDIUM);
	ck_assert_int_eq(fangs_deviation_kind_default_severity("something_else"), FANGS_SEV_MEDIUM);
	ck_assert_int_eq(fangs_deviation_kind_default_severity(NULL), FANGS_SEV_MEDIUM);
}
END_TEST

START_TEST(deviation_list)
{
	fangs_deviation_list l = {0};
	fangs_deviation *d;
	ck_assert_int_eq(fangs_deviation_list_max_severity(&l), FANGS_SEV_INFO);
	for (int i = 0; i < 40; i++) {
		d = fangs_deviation_list_push(&l);
		ck_assert_ptr_nonnull(d);
		d->kind = strdup("net_new_dns");
		d->value = strdup("x.example");
		d->evidence = malloc(sizeof(int64_t));
		d->evidence[0] = i;
		d->n_evidence = 1;
		d->severity = i == 17 ? FANGS_SEV_HIGH : FANGS_SEV_LOW;
	}
	ck_assert_uint_eq(l.count, 40);
	ck_assert_int_eq(fangs_deviation_list_max_severity(&l), FANGS_SEV_HIGH);
	fangs_deviation_clear(&l.items[0]);
	ck_assert_ptr_null(l.items[0].kind);
	fangs_deviation_list_free(&l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.items);
}
END_TEST

START_TEST(allow_kinds)
{
	fangs_allow_kind k;
	static const char *const singular[] = {"path", "cidr", "sni", "dns", "exec"};
	static const char *const plural[] = {"paths", "cidrs", "snis", "dns", "execs"};
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(fangs_allow_kind_name((fangs_allow_kind)i), singular[i]);
		ck_assert_int_eq(fangs_allow_kind_parse(singular[i], &k), 0);
		ck_assert_int_eq(k, i);
		ck_assert_int_eq(fangs_allow_kind_parse(plural[i], &k), 0);
		ck_assert_int_eq(k, i);
	}
	ck_assert_int_eq(fangs_allow_kind_parse("CIDR", &k), 0);
	ck_assert_int_eq(k, FANGS_ALLOW_CIDR);
	ck_assert_int_eq(fangs_allow_kind_parse("host", &k), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_kind_parse(NULL, &k), FANGS_EINVAL);
}
END_TEST

START_TEST(allow_validate)
{
	/* good */
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_PATH, "/usr/share/zoneinfo/"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_EXEC, "/usr/bin/git"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0.0/8"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "0.0.0.0/0"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "203.0.113.7"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "2001:db8::/32"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "::1/128"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "registry.example"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "Registry.Example."), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, "example.org"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, ".example.org"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, "*.example.org"), 0);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, "_dmarc.example.org"), 0);
	/* bad */
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_PATH, "usr/share"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_PATH, ""), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_PATH, NULL), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_EXEC, "git"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0.0/33"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "2001:db8::/129"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0.0/"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0.0/-1"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0.0/8x"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "10.0.0/8"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_CIDR, "example.org/8"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "*.example.org"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "exa mple.org"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "a..b"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_SNI, "-a.example"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, "a-.example"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate(FANGS_ALLOW_DNS, "."), FANGS_EINVAL);
	ck_assert_int_eq(
		fangs_allow_entry_validate(FANGS_ALLOW_DNS,
					   "a234567890123456789012345678901234567890123456789012345678901234.example"),
		FANGS_EINVAL);
	ck_assert_int_eq(fangs_allow_entry_validate((fangs_allow_kind)17, "/x"), FANGS_EINVAL);
}
END_TEST

START_TEST(allow_list)
{
	fangs_allow_list l = {0};
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(fangs_allow_list_add(&l, FANGS_ALLOW_DNS, "example.org", i & 1 ? "left-pad" : NULL,
						      i & 2 ? "cdn" : NULL),
				 0);
	ck_assert_uint_eq(l.count, 20);
	ck_assert_str_eq(l.items[3].value, "example.org");
	ck_assert_str_eq(l.items[3].package, "left-pad");
	ck_assert_str_eq(l.items[3].note, "cdn");
	ck_assert_ptr_null(l.items[0].package);
	ck_assert_int_eq(l.items[0].kind, FANGS_ALLOW_DNS);
	ck_assert_int_eq(fangs_allow_list_add(&l, FANGS_ALLOW_DNS, NULL, NULL, NULL), FANGS_EINVAL);
	fangs_allow_list_free(&l);
	ck_assert_uint_eq(l.count, 0);
	fangs_allow_list_free(NULL);
}
END_TEST

TCase *tcase_fpset(void)
{
	TCase *tc = tcase_create("fpset");
	tcase_add_test(tc, fpset_basics);
	tcase_add_test(tc, fpset_grow_merge_foreach);
	tcase_add_test(tc, severity_defaults);
	tcase_add_test(tc, deviation_list);
	return tc;
}

TCase *tcase_allow(void)
{
	TCase *tc = tcase_create("allow");
	tcase_add_test(tc, allow_kinds);
	tcase_add_test(tc, allow_validate);
	tcase_add_test(tc, allow_list);
	return tc;
}
