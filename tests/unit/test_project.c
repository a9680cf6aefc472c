/*
 * tests/unit/test_project.c - lockfiles (fangs/project.h): packages,
 * dependency paths, the diff of two lockfiles, errors that name the file
 * and the key; npm's install-script approvals.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fangs/fangs.h>

#define NONE ((size_t)-1)

static char fixture[4096];

static const char *lockfile(const char *name)
{
	const char *root = getenv("FANGS_SOURCE_ROOT");
	snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/lockfiles/%s", root ? root : ".", name);
	return fixture;
}

static size_t at(const fangs_lockfile *lf, const char *path)
{
	const fangs_lock_package *p = fangs_lockfile_at(lf, path);
	ck_assert_msg(p, "no %s", path);
	return (size_t)(p - lf->packages);
}

START_TEST(test_parse_v3)
{
	fangs_lockfile lf;
	const fangs_lock_package *p;
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("deep-v3.json")), 0);
	ck_assert_str_eq(lf.name, "shop");
	ck_assert_str_eq(lf.version, "2.0.0");
	ck_assert_int_eq(lf.lockfile_version, 3);
	ck_assert_uint_eq(lf.count, 8);
	ck_assert_uint_eq(lf.n_root_deps, 3);
	ck_assert_str_eq(lf.root_deps[2], "tester");
	p = fangs_lockfile_at(&lf, "node_modules/logger/node_modules/tinylog");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "tinylog");
	ck_assert_str_eq(p->version, "0.9.0");
	ck_assert_int_eq(p->has_install_script, 1);
	p = fangs_lockfile_at(&lf, "node_modules/@scope/native");
	ck_assert_str_eq(p->name, "@scope/native");
	ck_assert(p->dev && p->optional && p->has_install_script);
	ck_assert_ptr_null(p->resolved);
	p = fangs_lockfile_at(&lf, "node_modules/tinylog");
	ck_assert_str_eq(p->integrity, "sha1-Q2hhbmdlZCBieXRlcyBoZXJlIQ==");
	ck_assert_str_eq(p->resolved, "https://registry.example.invalid/tinylog/-/tinylog-1.0.0.tgz");
	p = fangs_lockfile_at(&lf, "node_modules/tester");
	ck_assert_uint_eq(p->n_deps, 2);
	ck_assert_ptr_null(fangs_lockfile_at(&lf, "node_modules/nothere"));
	fangs_lockfile_clear(&lf);
	fangs_lockfile_clear(&lf); /* twice is fine */
}
END_TEST

START_TEST(test_paths)
{
	fangs_lockfile lf;
	size_t **paths, n;
	char text[256];
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("deep-v3.json")), 0);
	/* three levels down, by two shortest ways (a dependency and a dev one) */
	size_t tl = at(&lf, "node_modules/tinylog");
	ck_assert_int_eq(fangs_lockfile_paths(&lf, tl, 0, &paths, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(paths[0][0], at(&lf, "node_modules/toolkit"));
	ck_assert_uint_eq(paths[0][1], at(&lf, "node_modules/helpers"));
	ck_assert_uint_eq(paths[0][2], tl);
	ck_assert_uint_eq(paths[0][3], NONE);
	ck_assert_uint_eq(paths[1][0], at(&lf, "node_modules/tester"));
	fangs_lock_paths_free(paths, n);
	ck_assert_int_eq(fangs_lockfile_paths(&lf, tl, 1, &paths, &n), 0);
	ck_assert_uint_eq(n, 1);
	fangs_lock_paths_free(paths, n);
	ck_assert_int_eq(fangs_lockfile_path_text(&lf, tl, text, sizeof(text)),
			 (int)strlen("toolkit@1.1.0 > helpers@1.1.0 > tinylog@1.0.0"));
	ck_assert_str_eq(text, "toolkit@1.1.0 > helpers@1.1.0 > tinylog@1.0.0");
	/* the nested copy is logger's: require() finds its own node_modules first */
	fangs_lockfile_path_text(&lf, at(&lf, "node_modules/logger/node_modules/tinylog"), text, sizeof(text));
	ck_assert_str_eq(text, "logger@2.0.0 > tinylog@0.9.0");
	fangs_lockfile_path_text(&lf, at(&lf, "node_modules/@scope/native"), text, sizeof(text));
	ck_assert_str_eq(text, "tester@1.0.0 > @scope/native@3.0.0");
	/* an extraneous entry is reached by nothing */
	ck_assert_int_eq(fangs_lockfile_paths(&lf, at(&lf, "node_modules/orphan"), 0, &paths, &n), 0);
	ck_assert_uint_eq(n, 0);
	fangs_lock_paths_free(paths, n);
	ck_assert_int_eq(fangs_lockfile_path_text(&lf, at(&lf, "node_modules/orphan"), text, sizeof(text)), 0);
	ck_assert_str_eq(text, "");
	/* a short buffer is cut, and says how much it needed */
	ck_assert_int_eq(fangs_lockfile_path_text(&lf, tl, text, 8),
			 (int)strlen("toolkit@1.1.0 > helpers@1.1.0 > tinylog@1.0.0"));
	ck_assert_uint_eq(strlen(text), 7);
	ck_assert_int_eq(fangs_lockfile_paths(&lf, lf.count, 0, &paths, &n), FANGS_EINVAL);
	fangs_lockfile_clear(&lf);
}
END_TEST

START_TEST(test_diff)
{
	fangs_lockfile o, n;
	fangs_lock_diff d;
	static const struct {
		fangs_lock_change_kind kind;
		const char *name, *old_version, *new_version;
		int scripts;
	} want[] = {
		{FANGS_LOCK_ADDED, "@scope/native", NULL, "3.0.0", 1},
		{FANGS_LOCK_REMOVED, "gone", "1.0.0", NULL, 0},
		{FANGS_LOCK_CHANGED, "helpers", "1.0.0", "1.1.0", 0},
		{FANGS_LOCK_ADDED, "orphan", NULL, "0.0.1", 0},
		{FANGS_LOCK_CHANGED, "tinylog", "0.9.0", "0.9.0", 1}, /* the same version, other bytes */
		{FANGS_LOCK_CHANGED, "tinylog", "0.9.0", "1.0.0", 1},
		{FANGS_LOCK_CHANGED, "toolkit", "1.0.0", "1.1.0", 0},
	};
	ck_assert_int_eq(fangs_lockfile_load(&o, lockfile("base-v2.json")), 0);
	ck_assert_int_eq(fangs_lockfile_load(&n, lockfile("deep-v3.json")), 0);
	ck_assert_int_eq(fangs_lockfile_diff(&o, &n, &d), 0);
	ck_assert_uint_eq(d.count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < d.count; i++) {
		const fangs_lock_change *c = &d.items[i];
		ck_assert_int_eq(c->kind, want[i].kind);
		ck_assert_str_eq(c->name, want[i].name);
		if (want[i].old_version)
			ck_assert_str_eq(c->old_version, want[i].old_version);
		else
			ck_assert_ptr_null(c->old_version);
		if (want[i].new_version) {
			ck_assert_str_eq(c->new_version, want[i].new_version);
			ck_assert_str_eq(n.packages[c->index].name, c->name);
			ck_assert_str_eq(n.packages[c->index].version, c->new_version);
		} else {
			ck_assert_ptr_null(c->new_version);
		}
		ck_assert_int_eq(c->has_install_script, want[i].scripts);
	}
	ck_assert_str_eq(fangs_lock_change_kind_name(FANGS_LOCK_REMOVED), "removed");
	fangs_lock_diff_clear(&d);
	/* a lockfile against itself: nothing */
	ck_assert_int_eq(fangs_lockfile_diff(&n, &n, &d), 0);
	ck_assert_uint_eq(d.count, 0);
	fangs_lock_diff_clear(&d);
	fangs_lockfile_clear(&o);
	fangs_lockfile_clear(&n);
}
END_TEST

static void expect_error(const char *text, const char *needle)
{
	fangs_lockfile lf;
	int rc = fangs_lockfile_parse(&lf, text, strlen(text), "x/package-lock.json");
	ck_assert_msg(rc == FANGS_EPARSE, "%s -> %d", text, rc);
	ck_assert_msg(strstr(fangs_error_last(), "x/package-lock.json"), "%s: no file in: %s", text,
		      fangs_error_last());
	ck_assert_msg(strstr(fangs_error_last(), needle), "%s: no %s in: %s", text, needle, fangs_error_last());
	ck_assert_ptr_null(lf.packages);
}

START_TEST(test_errors)
{
	fangs_lockfile lf;
	expect_error("", "not JSON");
	expect_error("{\"lockfileVersion\":3,", "not JSON");
	expect_error("[1]", "not a JSON object");
	expect_error("{} trailing", "not JSON");
	expect_error("{}", "lockfileVersion");
	expect_error("{\"lockfileVersion\":\"3\"}", "lockfileVersion");
	expect_error("{\"lockfileVersion\":3}", "packages");
	expect_error("{\"lockfileVersion\":3,\"packages\":[]}", "packages");
	expect_error("{\"lockfileVersion\":3,\"packages\":{}}", "project's own entry");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/a\":7}}", "\"node_modules/a\"");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/a\":{}}}", "no version");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/a\":{\"version\":1}}}",
		     "node_modules/a.version");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/A B\":{\"version\":\"1.0.0\"}}}",
		     "not a valid package name");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/a\":{\"version\":\"1.0.0\","
		     "\"dependencies\":[]}}}",
		     "node_modules/a.dependencies");
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{\"dependencies\":{\"../x\":\"1\"}}}}",
		     "not a package name");
	/* a key with terminal escapes is shown escaped */
	expect_error("{\"lockfileVersion\":3,\"packages\":{\"\":{},\"node_modules/\\u001b[31m\":{}}}", "\\x1b");
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("v1.json")), FANGS_EPARSE);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "lockfileVersion 1"));
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("bad-version.json")), FANGS_EPARSE);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "bad-version.json: \"node_modules/left-pad\": version"));
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("bad-integrity.json")), FANGS_EPARSE);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "integrity"));
	ck_assert_int_eq(fangs_lockfile_load(&lf, lockfile("missing.json")), FANGS_ENOTFOUND);
	ck_assert_int_eq(fangs_lockfile_find_in("/nonexistent-dir", NULL, 0), FANGS_ENOTFOUND);
	/* deep nesting is refused, not recursed into */
	{
		char deep[4096] = "{\"lockfileVersion\":3,\"packages\":{\"\":{\"x\":";
		size_t l = strlen(deep);
		for (int i = 0; i < 1000 && l < sizeof(deep) - 8; i++)
			deep[l++] = '[';
		deep[l] = '\0';
		ck_assert_int_eq(fangs_lockfile_parse(&lf, deep, strlen(deep), NULL), FANGS_EPARSE);
	}
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_approvals)
{
	char dir[] = "/tmp/fangs-approvals-XXXXXX", path[4200];
	const char *specs[] = {"palette@1.0.0", "banner@2.0.0", "@scope/native@3.0.0", "denied@1.0.0", "nover@1.0.0"};
	size_t n;
	char *text;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "package.json",
		   "{\"name\":\"app\",\"allowScripts\":{\"banner\":true,\"denied\":false,\"nover@1.0.0\":false,"
		   "\"palette@0.9.0\":true,\"@scope/native@3.0.0\":true}}\n");
	ck_assert_int_eq(fangs_project_script_approved(dir, "banner", "2.0.0"), 1);        /* by name */
	ck_assert_int_eq(fangs_project_script_approved(dir, "@scope/native", "3.0.0"), 1); /* pinned */
	ck_assert_int_eq(fangs_project_script_approved(dir, "@scope/native", "3.0.1"), 0);
	ck_assert_int_eq(fangs_project_script_approved(dir, "palette", "1.0.0"), 0); /* another version's pin */
	ck_assert_int_eq(fangs_project_script_approved(dir, "denied", "1.0.0"), 0);
	ck_assert_int_eq(fangs_project_script_approved(dir, "other", "1.0.0"), 0);
	/* .npmrc's allow-scripts; a denial in package.json still wins */
	write_file(dir, ".npmrc", "registry=https://registry.example.invalid/\nallow-scripts = other@1.0.0, denied\n");
	ck_assert_int_eq(fangs_project_script_approved(dir, "other", "1.0.0"), 1);
	ck_assert_int_eq(fangs_project_script_approved(dir, "other", "1.0.1"), 0);
	ck_assert_int_eq(fangs_project_script_approved(dir, "denied", "1.0.0"), 0);
	/* pinned approvals, never over a denial, each once */
	ck_assert_int_eq(fangs_project_approve(dir, specs, 5, &n), 0);
	ck_assert_uint_eq(n, 2); /* palette@1.0.0, banner@2.0.0; @scope/native@3.0.0 was there */
	ck_assert_int_eq(fangs_project_script_approved(dir, "palette", "1.0.0"), 1);
	ck_assert_int_eq(fangs_project_script_approved(dir, "denied", "1.0.0"), 0);
	ck_assert_int_eq(fangs_project_script_approved(dir, "nover", "1.0.0"), 0);
	snprintf(path, sizeof(path), "%s/package.json", dir);
	{
		FILE *f = fopen(path, "r");
		static char buf[4096];
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		text = buf;
	}
	ck_assert_ptr_nonnull(strstr(text, "\"palette@1.0.0\": true"));
	ck_assert_ptr_nonnull(strstr(text, "\"@scope/native@3.0.0\": true")); /* no escaped slash */
	ck_assert_ptr_nonnull(strstr(text, "\"name\": \"app\""));
	ck_assert_int_eq(fangs_project_approve(dir, specs, 2, &n), 0);
	ck_assert_uint_eq(n, 0);
	{
		const char *bad[] = {"palette"};
		ck_assert_int_eq(fangs_project_approve(dir, bad, 1, &n), FANGS_EINVAL);
	}
	write_file(dir, "package.json", "{\"allowScripts\":[]}");
	ck_assert_int_eq(fangs_project_script_approved(dir, "a", "1.0.0"), FANGS_EPARSE);
	write_file(dir, "package.json", "not json");
	ck_assert_int_eq(fangs_project_approve(dir, specs, 1, &n), FANGS_EPARSE);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("project");
	TCase *tc = tcase_create("lockfile");
	SRunner *sr;
	int failed;
	tcase_add_test(tc, test_parse_v3);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_approvals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
