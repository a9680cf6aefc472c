/*
 * test_main.c - the sandbox suites' runner. Needs root.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

Suite *cgroup_suite(void);
Suite *sandbox_suite(void);
Suite *sandbox_bridge_suite(void);
Suite *npm_suite(void);
Suite *realism_suite(void);

int main(void)
{
	SRunner *sr;
	int failed;
	if (geteuid() != 0) {
		fprintf(stderr, "the sandbox tests need root (cgroups, namespaces)\n");
		return 1;
	}
	sr = srunner_create(cgroup_suite());
	srunner_add_suite(sr, sandbox_suite());
	srunner_add_suite(sr, sandbox_bridge_suite());
	srunner_add_suite(sr, npm_suite());
	srunner_add_suite(sr, realism_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
