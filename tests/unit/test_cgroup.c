/*
 * The cgroup layout, from mountinfo text: where cgroup v2 is, whether the
 * limits go through v1 controllers (hybrid) or v2, and which mount wins
 * when there are several. Then this host's, which the public call and the
 * sandbox's cgroups must agree on.
 */
#include <check.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "core/cgroup.h"
#include "core/internal.h"
#include "fangs/cgroup.h"

/* Debian 12 with systemd.unified_cgroup_hierarchy=0: v1 controllers, v2 without. */
static const char hybrid[] =
	"22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";

/* A pure-v2 host (systemd's default). */
static const char pure[] = "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
			   "rw,nsdelegate,memory_recursiveprot\n"
			   "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";

static int parse(const char *text, const char *root, fangs__cg_mounts *m)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;
	ck_assert_ptr_nonnull(f);
	rc = fangs__cgroup_mounts_parse(f, root, m);
	fclose(f);
	return rc;
}

static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

START_TEST(test_hybrid)
{
	fangs__cg_mounts m;
	ck_assert_int_eq(parse(hybrid, NULL, &m), 0);
	ck_assert_int_eq(m.layout, FANGS__CG_HYBRID);
	ck_assert_str_eq(m.v2, "/sys/fs/cgroup/unified");
	ck_assert_str_eq(fangs__cgroup_v1_controller(0), "memory");
	ck_assert_str_eq(m.v1[0], "/sys/fs/cgroup/memory");
	ck_assert_str_eq(m.v1[1], "/sys/fs/cgroup/pids");
	ck_assert_str_eq(m.v1[2], "/sys/fs/cgroup/cpu"); /* not cpuacct, not cpuset */
	ck_assert_ptr_null(fangs__cgroup_v1_controller(FANGS__CG_V1_MAX));
	/* every v1 hierarchy (runc makes the container's cgroups in each) */
	ck_assert_uint_eq(count(m.v1_all), 7);
	ck_assert_str_eq(m.v1_all[6], "/sys/fs/cgroup/systemd");
	fangs__cgroup_mounts_free(&m);
	ck_assert_ptr_null(m.v2);
	ck_assert_ptr_null(m.v1_all);
}
END_TEST

START_TEST(test_pure_v2)
{
	fangs__cg_mounts m;
	ck_assert_int_eq(parse(pure, NULL, &m), 0);
	ck_assert_int_eq(m.layout, FANGS__CG_V2);
	ck_assert_str_eq(m.v2, "/sys/fs/cgroup");
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++)
		ck_assert_ptr_null(m.v1[i]);
	ck_assert_uint_eq(count(m.v1_all), 0);
	fangs__cgroup_mounts_free(&m);
}
END_TEST

/* What the old statfs() look-up at <root> and <root>/unified missed, and
 * which of several mounts wins. */
START_TEST(test_elsewhere)
{
	fangs__cg_mounts m;
	char text[2048];

	/* only elsewhere: found there; no v1 controller, so v2 has them */
	ck_assert_int_eq(parse("50 1 0:40 / /mnt/cg2 rw - cgroup2 none rw\n", NULL, &m), 0);
	ck_assert_int_eq(m.layout, FANGS__CG_V2);
	ck_assert_str_eq(m.v2, "/mnt/cg2");
	fangs__cgroup_mounts_free(&m);

	/* elsewhere first, then the conventional place: the conventional wins */
	snprintf(text, sizeof(text), "50 1 0:40 / /mnt/cg2 rw - cgroup2 none rw\n%s", hybrid);
	ck_assert_int_eq(parse(text, NULL, &m), 0);
	ck_assert_str_eq(m.v2, "/sys/fs/cgroup/unified");
	ck_assert_int_eq(m.layout, FANGS__CG_HYBRID);
	fangs__cgroup_mounts_free(&m);

	/* <root> itself before <root>/unified, whatever the order */
	ck_assert_int_eq(parse("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
			       "42 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			       NULL, &m),
			 0);
	ck_assert_str_eq(m.v2, "/sys/fs/cgroup");
	fangs__cgroup_mounts_free(&m);

	/* a root of one's own (fangs_sandbox_options.cgroup_root) wins */
	ck_assert_int_eq(parse("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
			       "60 1 0:38 / /srv/cg rw - cgroup2 cgroup2 rw\n"
			       "61 1 0:39 / /srv/cg-memory rw - cgroup cgroup rw,memory\n"
			       "62 1 0:41 / /srv/cg/pids rw - cgroup cgroup rw,pids\n"
			       "63 1 0:39 / /elsewhere/memory rw - cgroup cgroup rw,memory\n",
			       "/srv/cg", &m),
			 0);
	ck_assert_str_eq(m.v2, "/srv/cg");
	ck_assert_int_eq(m.layout, FANGS__CG_HYBRID);
	ck_assert_str_eq(m.v1[0], "/srv/cg-memory"); /* the first when none is below the root */
	ck_assert_str_eq(m.v1[1], "/srv/cg/pids");
	ck_assert_ptr_null(m.v1[2]);
	fangs__cgroup_mounts_free(&m);
}
END_TEST

/* Controllers named exactly, co-mounted ones, escaped paths, lines that
 * are not mountinfo. */
START_TEST(test_details)
{
	fangs__cg_mounts m;
	char *lng;
	size_t n;

	ck_assert_int_eq(parse("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
			       "35 31 0:32 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n"
			       "garbage\n"
			       "1 2 3\n"
			       "1 2 3 4 - \n"
			       "36 31 0:33 / /sys/fs/cgroup/pidsx rw - cgroup cgroup rw,name=pidsx\n"
			       "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,memory_recursiveprot\n",
			       NULL, &m),
			 0);
	ck_assert_int_eq(m.layout, FANGS__CG_HYBRID);
	ck_assert_str_eq(m.v1[0], "/sys/fs/cgroup/my memory");
	ck_assert_ptr_null(m.v1[1]); /* name=pidsx is not pids */
	ck_assert_str_eq(m.v1[2], "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_uint_eq(count(m.v1_all), 3);
	fangs__cgroup_mounts_free(&m);

	/* a line longer than any fixed buffer (many mount options) */
	n = 20000;
	lng = malloc(n + 200);
	ck_assert_ptr_nonnull(lng);
	strcpy(lng, "70 1 0:50 / /sys/fs/cgroup rw,");
	memset(lng + strlen(lng), 'o', n);
	strcpy(lng + strlen("70 1 0:50 / /sys/fs/cgroup rw,") + n, " - cgroup2 cgroup2 rw\n");
	ck_assert_int_eq(parse(lng, NULL, &m), 0);
	ck_assert_str_eq(m.v2, "/sys/fs/cgroup");
	fangs__cgroup_mounts_free(&m);
	free(lng);
}
END_TEST

START_TEST(test_no_v2)
{
	fangs__cg_mounts m;
	ck_assert_int_eq(parse("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", NULL, &m),
			 FANGS_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "no cgroup2 file system is mounted"));
	ck_assert_ptr_null(m.v2);
	ck_assert_ptr_null(m.v1[0]);
	ck_assert_ptr_null(m.v1_all);
	ck_assert_int_eq(parse("", NULL, &m), FANGS_EUNSUPPORTED);
}
END_TEST

/* This host: the mounts found are the file systems they claim, and the
 * public call answers the same. */
START_TEST(test_this_host)
{
	fangs__cg_mounts m;
	struct statfs sf;
	char root[4096], tiny[4];

	ck_assert_msg(fangs__cgroup_detect(NULL, &m) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(statfs(m.v2, &sf), 0);
	ck_assert_int_eq((long)sf.f_type, (long)CGROUP2_SUPER_MAGIC);
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++)
		if (m.v1[i]) {
			ck_assert_int_eq(statfs(m.v1[i], &sf), 0);
			ck_assert_int_eq((long)sf.f_type, (long)CGROUP_SUPER_MAGIC);
		}
	if (m.layout == FANGS__CG_HYBRID) {
		ck_assert_ptr_nonnull(m.v1[0]);
		ck_assert_ptr_nonnull(m.v1[1]);
	}
	ck_assert_int_eq(fangs_cgroup_v2_root(root, sizeof(root)), 0);
	ck_assert_str_eq(root, m.v2);
	ck_assert_int_eq(fangs_cgroup_v2_root(tiny, sizeof(tiny)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_cgroup_v2_root(NULL, 10), FANGS_EINVAL);
	fangs__cgroup_mounts_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hybrid);
	tcase_add_test(tc, test_pure_v2);
	tcase_add_test(tc, test_elsewhere);
	tcase_add_test(tc, test_details);
	tcase_add_test(tc, test_no_v2);
	tcase_add_test(tc, test_this_host);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
