/*
 * Text from outside: npm package names and versions by npm's rules, the
 * terminal escaper, UTF-8 repair.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/json.h"
#include "fangs/fangs.h"

/* validate-npm-package-name 7 (npm 11's): `old` = validForOldPackages,
 * `new` = validForNewPackages (core module names aside). */
static const struct {
	const char *name;
	int old, new_;
	const char *why;
} names[] = {
	{"some-package", 1, 1, NULL},
	{"example.com", 1, 1, NULL},
	{"under_score", 1, 1, NULL},
	{"period.js", 1, 1, NULL},
	{"123numeric", 1, 1, NULL},
	{"crazy!", 1, 0, "special characters"},
	{"@npm/thingy", 1, 1, NULL},
	{"@npm-zors/money!time.js", 1, 0, "special characters"},
	{"@scope/_under", 1, 1, NULL},
	{"@Scope/x", 1, 0, "capital letters"},
	{"JSONStream", 1, 0, "capital letters"},
	{"a~b", 1, 0, "special characters"},
	{"", 0, 0, "greater than zero"},
	{".start-with-period", 0, 0, "start with a period"},
	{"_start-with-underscore", 0, 0, "start with an underscore"},
	{"-x", 0, 0, "start with a hyphen"},
	{"--registry=http://203.0.113.1/", 0, 0, "start with a hyphen"},
	{"contain:colons", 0, 0, "URL-friendly"},
	{" leading-space", 0, 0, "leading or trailing spaces"},
	{"trailing-space ", 0, 0, "leading or trailing spaces"},
	{"s/l/a/s/h/e/s", 0, 0, "URL-friendly"},
	{"../../etc", 0, 0, "start with a period"},
	{"a/../../etc", 0, 0, "URL-friendly"},
	{"node_modules", 0, 0, "not a valid package name"},
	{"NODE_MODULES", 0, 0, "not a valid package name"},
	{"favicon.ico", 0, 0, "not a valid package name"},
	{"esc\x1b[31mred", 0, 0, "URL-friendly"},
	{"bell\a", 0, 0, "URL-friendly"},
	{"caf\xc3\xa9", 0, 0, "URL-friendly"},
	{"bad\xff", 0, 0, "URL-friendly"},
	{"rtl\xe2\x80\xae"
	 "evil",
	 0, 0, "URL-friendly"},
	{"@scope/.x", 0, 0, "start with a period"},
	{"@/x", 0, 0, "URL-friendly"},
	{"@scope/", 0, 0, "URL-friendly"},
	{"@scope/a/b", 0, 0, "URL-friendly"},
	{"a@b", 0, 0, "URL-friendly"},
	{"@scope", 0, 0, "URL-friendly"},
	{"percent%20", 0, 0, "URL-friendly"},
	{"semi;rm", 0, 0, "URL-friendly"},
};

START_TEST(test_package_names)
{
	const char *why;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(names); i++) {
		int rc = fangs_package_name_check(names[i].name, &why);
		ck_assert_msg((rc == 0) == names[i].old, "%s: old %d, expected %d", names[i].name, rc, names[i].old);
		rc = fangs_package_name_check_new(names[i].name, &why);
		ck_assert_msg((rc == 0) == names[i].new_, "%s: new %d, expected %d", names[i].name, rc, names[i].new_);
		if (names[i].why) {
			ck_assert_ptr_nonnull(why);
			ck_assert_msg(strstr(why, names[i].why), "%s: '%s' lacks '%s'", names[i].name, why,
				      names[i].why);
			ck_assert_int_eq(fangs_error_last_code(), FANGS_EINVAL);
		} else {
			ck_assert_ptr_null(why);
		}
	}
	ck_assert_int_eq(fangs_package_name_check(NULL, NULL), FANGS_EINVAL);
}
END_TEST

START_TEST(test_package_name_length)
{
	char name[300];
	memset(name, 'a', sizeof(name));
	name[214] = '\0';
	ck_assert_int_eq(fangs_package_name_check(name, NULL), 0);
	name[214] = 'a';
	name[215] = '\0';
	ck_assert_int_eq(fangs_package_name_check(name, NULL), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "214"));
}
END_TEST

START_TEST(test_error_message_escaped)
{
	ck_assert_int_eq(fangs_package_name_check("x\x1b]0;pwned\a", NULL), FANGS_EINVAL);
	ck_assert_ptr_null(strchr(fangs_error_last(), 0x1b));
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "x\\x1b]0;pwned\\x07"));
}
END_TEST

static const struct {
	const char *v;
	int ok;
} versions[] = {
	{"1.2.3", 1},
	{"v1.2.3", 1},
	{"1.2.3-beta.1+build.5", 1},
	{"0.0.0-0", 1},
	{"latest", 1},
	{"next", 1},
	{"beta-2", 1},
	{"^1.2.0", 1},
	{"~1.2", 1},
	{"~>1.2", 1},
	{">=1.0.0 <2.0.0", 1},
	{"1.x || >=2.5.0 || 5.0.0 - 7.2.3", 1},
	{"*", 1},
	{"x", 1},
	{"1", 1},
	{"<=1.2.3", 1},
	{"= 1.2.3", 1},
	{"", 0},
	{"../../x", 0},
	{"..", 0},
	{"./x", 0},
	{".", 0},
	{"/etc/passwd", 0},
	{"~/x", 0},
	{"a/b", 0},
	{"file:../x", 0},
	{"file:x", 0},
	{"https://203.0.113.1/x.tgz", 0},
	{"git+ssh://git@example.invalid/x.git", 0},
	{"github:user/repo", 0},
	{"user/repo#main", 0},
	{"#abc123", 0},
	{"npm:other@1.0.0", 0},
	{"x@1", 0},
	{"-1", 0},
	{"--registry=x", 0},
	{" 1.0.0", 0},
	{"1.0.0 ", 0},
	{"1.0\x1b[2J", 0},
	{"1.0\n", 0},
	{"1.0.0\xc3\xa9", 0},
	{"1.0.0;rm", 0},
	{"$(id)", 0},
	{"1.0.0 foo bar", 0},
	{">>1", 0},
	{"a b", 0},
	{"C:\\x", 0},
};

START_TEST(test_versions)
{
	const char *why;
	char longv[300];
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(versions); i++) {
		int rc = fangs_package_version_check(versions[i].v, &why);
		ck_assert_msg((rc == 0) == versions[i].ok, "'%s': %d (%s), expected %s", versions[i].v, rc,
			      why ? why : "-", versions[i].ok ? "valid" : "invalid");
		if (!versions[i].ok)
			ck_assert_ptr_nonnull(why);
	}
	memset(longv, '1', sizeof(longv));
	longv[257] = '\0';
	ck_assert_int_eq(fangs_package_version_check(longv, NULL), FANGS_EINVAL);
	ck_assert(fangs__version_is_exact("1.2.3"));
	ck_assert(fangs__version_is_exact("1.2.3-rc.1+b"));
	ck_assert(!fangs__version_is_exact("^1.2.3"));
	ck_assert(!fangs__version_is_exact("latest"));
	ck_assert(!fangs__version_is_exact("unknown"));
	ck_assert(!fangs__version_is_exact("1.2"));
}
END_TEST

START_TEST(test_specs)
{
	char *n, *v;
	ck_assert_int_eq(fangs_package_spec_parse("left-pad", &n, &v), 0);
	ck_assert_str_eq(n, "left-pad");
	ck_assert_ptr_null(v);
	free(n);
	ck_assert_int_eq(fangs_package_spec_parse("@scope/pkg@^1.2", &n, &v), 0);
	ck_assert_str_eq(n, "@scope/pkg");
	ck_assert_str_eq(v, "^1.2");
	free(n);
	free(v);
	ck_assert_int_eq(fangs_package_spec_parse("@scope/pkg", &n, &v), 0);
	ck_assert_str_eq(n, "@scope/pkg");
	ck_assert_ptr_null(v);
	free(n);
	static const char *const bad[] = {"left-pad@../../x",
					  "left-pad@file:../x",
					  "-x",
					  "-x@1.0.0",
					  "../../etc",
					  "./dir",
					  "/abs/x.tgz",
					  "user/repo",
					  "git+https://example.invalid/x",
					  "a@npm:b@1",
					  "x@",
					  "@scope/pkg@",
					  "banner@@@",
					  "e\x1b[31m@1"};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(bad); i++) {
		n = v = (char *)"untouched";
		ck_assert_msg(fangs_package_spec_parse(bad[i], &n, &v) == FANGS_EINVAL, "%s accepted", bad[i]);
		ck_assert_ptr_null(n);
		ck_assert_ptr_null(v);
		ck_assert_ptr_null(strchr(fangs_error_last(), 0x1b));
	}
	ck_assert(fangs_package_spec_is_path("/x"));
	ck_assert(fangs_package_spec_is_path("./x"));
	ck_assert(fangs_package_spec_is_path("../x"));
	ck_assert(fangs_package_spec_is_path("."));
	ck_assert(!fangs_package_spec_is_path("left-pad@../../x"));
	ck_assert(!fangs_package_spec_is_path("file:../x"));
	ck_assert(!fangs_package_spec_is_path("x/y"));
}
END_TEST

static void escapes_to(const char *in, size_t len, const char *want)
{
	char buf[256];
	size_t n = fangs_text_escape(buf, sizeof(buf), in, len);
	ck_assert_msg(strcmp(buf, want) == 0, "escaped to '%s', want '%s'", buf, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(test_escape)
{
	escapes_to("plain text", 10, "plain text");
	escapes_to("\x1b[31mred\x1b[0m", 12, "\\x1b[31mred\\x1b[0m");
	escapes_to("a\nb\tc\rd", 7, "a\\nb\\tc\\rd");
	escapes_to("back\\slash", 10, "back\\\\slash");
	escapes_to("del\x7f bell\a nul", 14, "del\\x7f bell\\x07 nul");
	escapes_to("nul\0in", 6, "nul\\x00in");
	escapes_to("caf\xc3\xa9 \xe2\x9c\x93", 9, "caf\xc3\xa9 \xe2\x9c\x93"); /* UTF-8 stays */
	escapes_to("bad\xff\xc3", 5, "bad\\xff\\xc3");                         /* invalid UTF-8 */
	escapes_to("\xc2\x9b"
		   "31m",
		   5, "\\u{009b}31m"); /* C1 CSI */
	escapes_to("abc\xe2\x80\xae"
		   "fdp.exe",
		   13, "abc\\u{202e}fdp.exe");                             /* RLO */
	escapes_to("\xe2\x81\xa6x\xe2\x81\xa9", 7, "\\u{2066}x\\u{2069}"); /* isolates */
	escapes_to("line\xe2\x80\xa8sep", 10, "line\\u{2028}sep");
	escapes_to("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* a surrogate */
	escapes_to("\xc0\xaf", 2, "\\xc0\\xaf");          /* overlong '/' */
}
END_TEST

START_TEST(test_escape_bounds)
{
	char small[8], *d;
	/* the size needed, as snprintf */
	ck_assert_uint_eq(fangs_text_escape(NULL, 0, "\x1b\x1b", 2), 8);
	ck_assert_uint_eq(fangs_text_escape(small, sizeof(small), "abcdefghijkl", 12), 12);
	ck_assert_str_eq(small, "abcdefg");
	/* an escape is never cut in the middle */
	ck_assert_uint_eq(fangs_text_escape(small, sizeof(small), "abcde\x1b", 6), 9);
	ck_assert_str_eq(small, "abcde");
	d = fangs_text_escape_dup("\x1b]0;title\a");
	ck_assert_str_eq(d, "\\x1b]0;title\\x07");
	free(d);
	d = fangs_text_escape_dup(NULL);
	ck_assert_str_eq(d, "(null)");
	free(d);
}
END_TEST

START_TEST(test_clean_text)
{
	ck_assert(fangs_text_is_clean("runner-1.example.invalid", 24, 255));
	ck_assert(fangs_text_is_clean("h\xc3\xb4te", 5, 255));
	ck_assert(!fangs_text_is_clean("host\x1b[2J", 8, 255));
	ck_assert(!fangs_text_is_clean("host\n", 5, 255));
	ck_assert(!fangs_text_is_clean("a\xe2\x80\xae", 4, 255));
	ck_assert(!fangs_text_is_clean("a\xff", 2, 255));
	ck_assert(!fangs_text_is_clean("aaaa", 4, 3));
}
END_TEST

START_TEST(test_utf8)
{
	size_t n;
	char *s;
	ck_assert(fangs_utf8_valid("caf\xc3\xa9", 5));
	ck_assert(fangs_utf8_valid("\xf0\x9f\x98\x80", 4));
	ck_assert(!fangs_utf8_valid("\xff", 1));
	ck_assert(!fangs_utf8_valid("\xc3", 1));
	ck_assert(!fangs_utf8_valid("\xed\xa0\x80", 3));
	ck_assert(!fangs_utf8_valid("\xf4\x90\x80\x80", 4));
	s = fangs_utf8_clean("a\xff"
			     "b\xc3\xa9\xc3",
			     6, &n);
	ck_assert_str_eq(s, "a\xef\xbf\xbd"
			    "b\xc3\xa9\xef\xbf\xbd");
	ck_assert_uint_eq(n, 10);
	ck_assert(fangs_utf8_valid(s, n));
	free(s);
	s = fangs_utf8_clean("{\"k\":\"\xfe\"}", 9, &n);
	ck_assert_str_eq(s, "{\"k\":\"\xef\xbf\xbd\"}");
	free(s);
}
END_TEST

/* json-c passes a string's bytes through: the one serializer libfangs
 * uses (notifier payloads, wire messages, stored headers) repairs them. */
START_TEST(test_json_text)
{
	json_object *o = json_object_new_object();
	char *s;
	json_object_object_add(o, "path", json_object_new_string("/tmp/\xff\x1b[2J\xc3\xa9"));
	ck_assert(!fangs_utf8_valid(json_object_to_json_string(o), strlen(json_object_to_json_string(o))));
	s = fangs__json_text(o, JSON_C_TO_STRING_PLAIN);
	ck_assert_str_eq(s, "{\"path\":\"\\/tmp\\/\xef\xbf\xbd\\u001b[2J\xc3\xa9\"}");
	free(s);
	json_object_put(o);
}
END_TEST

/* What the orchestrator decodes (and a runner, for its jobs). */
START_TEST(test_wire)
{
	fangs_wire_scan scan;
	fangs_wire_register reg;
	fangs_wire_result res = {0};
	char *json;
	static const char *const bad_scans[] = {
		"{\"package\":\"-x\",\"version\":\"1.0.0\"}",
		"{\"package\":\"../../etc\",\"version\":\"1.0.0\"}",
		"{\"package\":\"e\\u001b[31m\",\"version\":\"1.0.0\"}",
		"{\"package\":\"left-pad\",\"version\":\"../../x\"}",
		"{\"package\":\"left-pad\",\"version\":\"file:x\"}",
		"{\"package\":\"left-pad\",\"version\":\"1.0.0\\u202e\"}",
		"{\"package\":\"left-pad\xff\",\"version\":\"1.0.0\"}",
	};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(bad_scans); i++) {
		ck_assert_msg(fangs_wire_scan_decode(&scan, bad_scans[i], strlen(bad_scans[i])) < 0, "%s accepted",
			      bad_scans[i]);
		ck_assert_ptr_null(scan.package);
	}
	json = (char *)"{\"package\":\"@scope/pkg\",\"version\":\"^1.2\"}";
	ck_assert_int_eq(fangs_wire_scan_decode(&scan, json, strlen(json)), 0);
	ck_assert_str_eq(scan.package, "@scope/pkg");
	fangs_wire_scan_clear(&scan);

	json = (char *)"{\"runner_id\":\"r1\",\"hostname\":\"h\\u001b]0;x\\u0007\"}";
	ck_assert_int_eq(fangs_wire_register_decode(&reg, json, strlen(json)), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "hostname"));
	json = (char *)"{\"runner_id\":\"r1\",\"hostname\":\"h\xc3\xb4te\"}";
	ck_assert_int_eq(fangs_wire_register_decode(&reg, json, strlen(json)), 0);
	ck_assert_str_eq(reg.hostname, "h\xc3\xb4te");
	fangs_wire_register_clear(&reg);

	/* an install's output cut inside a character still makes valid JSON */
	res.state = FANGS_RUN_SUCCEEDED;
	res.install_output = (char *)"done \xe2\x9c";
	ck_assert_int_eq(fangs_wire_result_encode(&res, &json), 0);
	ck_assert(fangs_utf8_valid(json, strlen(json)));
	ck_assert_ptr_nonnull(strstr(json, "done \xef\xbf\xbd\xef\xbf\xbd\"")); /* one U+FFFD a byte */
	ck_assert_int_eq(fangs_wire_result_decode(&res, json, strlen(json)), 0);
	ck_assert_str_eq(res.install_output, "done \xef\xbf\xbd\xef\xbf\xbd");
	fangs_wire_result_clear(&res);
	free(json);
}
END_TEST

/* A result's strings are decoded as the encoder writes them: an overlong
 * form json-c lets through becomes U+FFFD, and the bound holds after that. */
START_TEST(test_wire_decodes_utf8)
{
	fangs_wire_result res, again;
	char *json = NULL, *body;
	size_t n = FANGS_WIRE_MAX_ERROR - 10, head;
	const char *overlong = "{\"state\":\"failed\",\"error\":\"a\xc0\xa3z\"}";

	ck_assert_int_eq(fangs_wire_result_decode(&res, overlong, strlen(overlong)), 0);
	ck_assert_str_eq(res.error, "a\xef\xbf\xbd\xef\xbf\xbdz");
	ck_assert_int_eq(fangs_wire_result_encode(&res, &json), 0);
	ck_assert_int_eq(fangs_wire_result_decode(&again, json, strlen(json)), 0);
	ck_assert_str_eq(again.error, res.error);
	fangs_wire_result_clear(&res);
	fangs_wire_result_clear(&again);
	free(json);

	/* within the bound as sent, over it once made UTF-8: refused */
	body = malloc(n + 64);
	ck_assert_ptr_nonnull(body);
	strcpy(body, "{\"state\":\"failed\",\"error\":\"");
	head = strlen(body);
	memset(body + head, 'x', n);
	memcpy(body + head, "\xc0\xa3\xc0\xa3\xc0\xa3", 6); /* 6 bytes, 18 once made UTF-8 */
	strcpy(body + head + n, "\"}");
	ck_assert_int_eq(fangs_wire_result_decode(&res, body, strlen(body)), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "once made UTF-8"));
	free(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");
	SRunner *sr;
	int failed;
	tcase_add_test(tc, test_package_names);
	tcase_add_test(tc, test_package_name_length);
	tcase_add_test(tc, test_error_message_escaped);
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_specs);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_escape_bounds);
	tcase_add_test(tc, test_clean_text);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_wire);
	tcase_add_test(tc, test_wire_decodes_utf8);
	tcase_add_test(tc, test_json_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
