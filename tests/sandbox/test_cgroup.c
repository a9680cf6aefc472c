/*
 * test_cgroup.c - the run's cgroups without a sandbox around them: both ways
 * of killing (cgroup.kill and freeze + SIGKILL) against a process tree that
 * keeps forking.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fangs/errors.h"
#include "core/cgroup.h"
#include "probe.h"

/* A child in the cgroup that keeps spawning short-lived children. */
static pid_t spawner(const fangs__cgroup *cg)
{
	int p[2];
	char c;
	pid_t pid;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		execl("/bin/sh", "sh", "-c", "while :; do sleep 5 & sleep 0.01; done", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	ck_assert_int_eq(fangs__cgroup_join(cg->v2, (const char *const *)cg->v1, pid), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	close(p[1]);
	return pid;
}

static void kill_tree(int use_cgroup_kill)
{
	fangs_sandbox_limits l = {64 << 20, 64, 1000, 1024, 64, 1 << 20, 1 << 20};
	fangs__cgroup cg;
	char id[64];
	int st;
	pid_t pid;

	snprintf(id, sizeof(id), "t-kill%d-%d", use_cgroup_kill, (int)getpid());
	ck_assert_msg(fangs__cgroup_create(&cg, "/sys/fs/cgroup", id, &l) == 0, "%s", fangs_error_last());
	pid = spawner(&cg);
	for (int i = 0; i < 100 && fangs__cgroup_count(&cg) < 5; i++)
		usleep(20000);
	ck_assert_int_ge(fangs__cgroup_count(&cg), 5);
	ck_assert_int_eq(fangs__cgroup_kill_with(&cg, use_cgroup_kill), 0);
	ck_assert_int_eq(fangs__cgroup_count(&cg), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	fangs__cgroup_destroy(&cg);
	ck_assert_int_eq(sb_cgroup_exists(id), 0);
}

START_TEST(test_kill_with_cgroup_kill)
{
	kill_tree(1);
}
END_TEST

START_TEST(test_kill_with_signals)
{
	kill_tree(0);
}
END_TEST

START_TEST(test_create_refuses_existing)
{
	fangs_sandbox_limits l = {64 << 20, 64, 1000, 1024, 64, 1 << 20, 1 << 20};
	fangs__cgroup a, b;
	char id[64];
	snprintf(id, sizeof(id), "t-twice-%d", (int)getpid());
	ck_assert_int_eq(fangs__cgroup_create(&a, "/sys/fs/cgroup", id, &l), 0);
	ck_assert_int_eq(fangs__cgroup_create(&b, "/sys/fs/cgroup", id, &l), FANGS_EEXISTS);
	ck_assert_int_eq(sb_cgroup_exists(id), 1);
	fangs__cgroup_destroy(&a);
	ck_assert_int_eq(sb_cgroup_exists(id), 0);
}
END_TEST

Suite *cgroup_suite(void);
Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("kill");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_kill_with_cgroup_kill);
	tcase_add_test(tc, test_kill_with_signals);
	tcase_add_test(tc, test_create_refuses_existing);
	suite_add_tcase(s, tc);
	return s;
}
