/*
 * tests/differ/test_differ.c - the differ suite: normalization,
 * fingerprints, sets, allowlists, analysis.
 */
#include <stdlib.h>

#include "helpers.h"

int main(void)
{
	Suite *s = suite_create("differ");
	SRunner *sr;
	int failed;

	suite_add_tcase(s, tcase_normalize());
	suite_add_tcase(s, tcase_fingerprint());
	suite_add_tcase(s, tcase_fpset());
	suite_add_tcase(s, tcase_allow());
	suite_add_tcase(s, tcase_analyze());
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
