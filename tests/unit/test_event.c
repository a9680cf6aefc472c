/*
 * Event model: the NDJSON codec round-trips every field, and rejects bad
 * input with a message that names the field or the line.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

static fangs_event decode_ok(const char *line)
{
	fangs_event ev = {0};
	int rc = fangs_event_from_json(&ev, line, strlen(line));
	ck_assert_msg(rc == 0, "decode failed: %s (%s)", fangs_error_last(), line);
	return ev;
}

static void decode_bad(const char *line, const char *needle)
{
	fangs_event ev = {0};
	int rc = fangs_event_from_json(&ev, line, strlen(line));
	ck_assert_msg(rc == FANGS_EPARSE, "accepted bad input: %s", line);
	ck_assert_msg(strstr(fangs_error_last(), needle), "message '%s' lacks '%s'", fangs_error_last(), needle);
	ck_assert_int_eq(ev.kind, FANGS_EV_NONE);
}

START_TEST(test_documented_examples)
{
	fangs_event ev;

	ev = decode_ok("{\"kind\":\"file_open\",\"ts_ns\":1,\"pid\":10,\"ppid\":1,\"comm\":\"node\","
		       "\"path\":\"/root/.npmrc\",\"flags\":\"r\"}");
	ck_assert_int_eq(ev.kind, FANGS_EV_FILE_OPEN);
	ck_assert_uint_eq(ev.ts_ns, 1);
	ck_assert_int_eq(ev.pid, 10);
	ck_assert_int_eq(ev.ppid, 1);
	ck_assert_str_eq(ev.comm, "node");
	ck_assert_str_eq(ev.path, "/root/.npmrc");
	ck_assert_uint_eq(ev.flags, FANGS_OPEN_READ);
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"exec\",\"pid\":11,\"ppid\":10,\"comm\":\"sh\",\"path\":\"/bin/sh\","
		       "\"argv\":[\"sh\",\"-c\",\"curl x|sh\"]}");
	ck_assert_int_eq(ev.kind, FANGS_EV_EXEC);
	ck_assert_uint_eq(ev.argc, 3);
	ck_assert_str_eq(ev.argv[2], "curl x|sh");
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"net_connect\",\"pid\":12,\"family\":\"ipv4\",\"addr\":\"203.0.113.7\","
		       "\"port\":443,\"proto\":\"tcp\"}");
	ck_assert_int_eq(ev.family, FANGS_FAMILY_IPV4);
	ck_assert_str_eq(ev.addr, "203.0.113.7");
	ck_assert_uint_eq(ev.port, 443);
	ck_assert_int_eq(ev.proto, FANGS_PROTO_TCP);
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"dns_query\",\"pid\":12,\"qname\":\"evil.example\",\"qtype\":\"A\"}");
	ck_assert_str_eq(ev.qname, "evil.example");
	ck_assert_uint_eq(ev.qtype, 1);
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"tls_sni\",\"pid\":12,\"sni\":\"evil.example\"}");
	ck_assert_str_eq(ev.sni, "evil.example");
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"syscall\",\"pid\":12,\"op\":\"kill\",\"detail\":\"SIGKILL sshd (outside)\","
		       "\"target\":812,\"arg\":9}");
	ck_assert_int_eq(ev.kind, FANGS_EV_SYSCALL);
	ck_assert_str_eq(ev.op, "kill");
	ck_assert_str_eq(ev.detail, "SIGKILL sshd (outside)");
	ck_assert_int_eq(ev.target, 812);
	ck_assert_uint_eq(ev.arg, 9);
	fangs_event_clear(&ev);
}
END_TEST

START_TEST(test_syscall_round_trip)
{
	fangs_event ev = {0}, back = {0}, copy = {0};
	char op[] = "mount", detail[] = "tmpfs", path[] = "/home/u/.ssh", *json = NULL, buf[128];

	ev.kind = FANGS_EV_SYSCALL;
	ev.pid = 5;
	ev.op = op;
	ev.detail = detail;
	ev.path = path;
	ev.arg = 0x1000;
	ck_assert_int_eq(fangs_event_to_json(&ev, &json, NULL), 0);
	ck_assert_int_eq(fangs_event_from_json(&back, json, strlen(json)), 0);
	ck_assert_str_eq(back.op, "mount");
	ck_assert_str_eq(back.detail, "tmpfs");
	ck_assert_str_eq(back.path, "/home/u/.ssh");
	ck_assert_uint_eq(back.arg, 0x1000);
	ck_assert_int_eq(back.target, 0);
	ck_assert_int_eq(fangs_event_copy(&copy, &back), 0);
	ck_assert_str_eq(copy.op, "mount");
	ck_assert_str_eq(copy.detail, "tmpfs");
	ck_assert_str_eq(fangs_event_summary(&copy, buf, sizeof(buf)), "mount tmpfs /home/u/.ssh");
	free(json);
	fangs_event_clear(&back);
	fangs_event_clear(&copy);
	/* op is what the event is: required */
	ck_assert_int_eq(fangs_event_from_json(&back, "{\"kind\":\"syscall\",\"pid\":1}", 28), FANGS_EPARSE);
}
END_TEST

START_TEST(test_round_trip_all_fields)
{
	const char *line =
		"{\"kind\":\"exec\",\"id\":7,\"ts_ns\":1700000000123456789,\"run\":\"r1\",\"pid\":42,\"ppid\":41,"
		"\"uid\":1000,\"comm\":\"sh\",\"path\":\"/bin/sh\",\"argv\":[\"sh\",\"-c\",\"echo \\\"h\\u00e9\\\" \\\\ \\n\"],"
		"\"ancestry\":[{\"pid\":41,\"comm\":\"node\",\"exe\":\"/usr/bin/node\"},{\"pid\":40,\"comm\":\"npm\"}],"
		"\"origin\":{\"package\":\"evil\",\"version\":\"1.0.0\",\"script\":\"postinstall\","
		"\"command\":\"node x.js\"}}";
	fangs_event ev = decode_ok(line), back = {0}, copy = {0};
	char *out = NULL, *out2 = NULL;
	size_t len;

	ck_assert_int_eq(fangs_event_to_json(&ev, &out, &len), 0);
	ck_assert_uint_eq(len, strlen(out));
	back = decode_ok(out);
	ck_assert_int_eq(fangs_event_to_json(&back, &out2, NULL), 0);
	ck_assert_str_eq(out, out2);
	ck_assert_int_eq(back.id, 7);
	ck_assert_uint_eq(back.ts_ns, 1700000000123456789ULL);
	ck_assert_str_eq(back.run_id, "r1");
	ck_assert_uint_eq(back.uid, 1000);
	ck_assert_str_eq(back.argv[2], "echo \"h\xc3\xa9\" \\ \n");
	ck_assert_uint_eq(back.n_ancestry, 2);
	ck_assert_str_eq(back.ancestry[0].exe, "/usr/bin/node");
	ck_assert_ptr_null(back.ancestry[1].exe);
	ck_assert_str_eq(back.origin.package, "evil");
	ck_assert_str_eq(back.origin.script, "postinstall");
	ck_assert_str_eq(back.origin.command, "node x.js");

	ck_assert_int_eq(fangs_event_copy(&copy, &back), 0);
	ck_assert_str_eq(copy.argv[1], "-c");
	ck_assert_str_eq(copy.ancestry[1].comm, "npm");
	ck_assert_ptr_ne(copy.argv, back.argv);

	free(out);
	free(out2);
	fangs_event_clear(&ev);
	fangs_event_clear(&back);
	fangs_event_clear(&copy);
}
END_TEST

START_TEST(test_flags_and_defaults)
{
	fangs_event ev = decode_ok("{\"kind\":\"file_open\",\"pid\":1,\"path\":\"/a\",\"flags\":\"rw\"}");
	char *out;
	ck_assert_uint_eq(ev.flags, FANGS_OPEN_READ | FANGS_OPEN_WRITE);
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"flags\":\"rw\""));
	free(out);
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"net_connect\",\"pid\":1,\"addr\":\"::ffff:10.0.0.1\",\"port\":53,\"proto\":\"udp\"}");
	ck_assert_int_eq(ev.family, FANGS_FAMILY_IPV6);
	ck_assert_int_eq(ev.proto, FANGS_PROTO_UDP);
	fangs_event_clear(&ev);

	ev = decode_ok("{\"kind\":\"dns_query\",\"pid\":1,\"qname\":\"x.test\",\"qtype\":28}");
	ck_assert_uint_eq(ev.qtype, 28);
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"qtype\":\"AAAA\""));
	free(out);
	fangs_event_clear(&ev);

	ev = decode_ok("  {\"kind\":\"process_exit\",\"pid\":5,\"exit_code\":-9,\"extra\":{\"future\":1}}  ");
	ck_assert_int_eq(ev.exit_code, -9);
	fangs_event_clear(&ev);
}
END_TEST

START_TEST(test_rejects)
{
	decode_bad("", "truncated");
	decode_bad("{", "truncated");
	decode_bad("[1,2]", "not a JSON object");
	decode_bad("{\"pid\":1}", "\"kind\": missing");
	decode_bad("{\"kind\":\"teleport\"}", "unknown kind");
	decode_bad("{\"kind\":3}", "\"kind\": must be a string");
	decode_bad("{\"kind\":\"file_open\",\"pid\":1}", "\"path\": missing");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\",\"flags\":\"x\"}", "\"flags\"");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\",\"pid\":\"1\"}", "\"pid\": must be an integer");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\",\"pid\":99999999999}", "\"pid\": out of range");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\",\"ts_ns\":-1}", "\"ts_ns\": out of range");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\",\"ts_ns\":99999999999999999999}", "ts_ns");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/a\\u0000b\"}", "NUL");
	decode_bad("{\"kind\":\"net_connect\",\"addr\":\"1.2.3.4\",\"port\":70000}", "\"port\": out of range");
	decode_bad("{\"kind\":\"net_connect\",\"addr\":\"1.2.3.4\"}", "\"port\": missing");
	decode_bad("{\"kind\":\"exec\",\"path\":\"/bin/sh\",\"argv\":[\"sh\",1]}", "argv");
	decode_bad("{\"kind\":\"exec\",\"path\":\"/bin/sh\",\"argv\":\"sh\"}", "argv");
	decode_bad("{\"kind\":\"dns_query\",\"qname\":\"a\",\"qtype\":\"BOGUS\"}", "qtype");
	decode_bad("{\"kind\":\"tls_sni\",\"sni\":\"a\",\"ancestry\":[1,2,3,4,5,6]}", "more than 5");
	decode_bad("{\"kind\":\"tls_sni\",\"sni\":\"a\",\"ancestry\":[{\"pid\":\"x\"}]}", "ancestry[0]");
	decode_bad("{\"kind\":\"tls_sni\",\"sni\":\"a\",\"origin\":{\"package\":5}}", "origin");
	decode_bad("{\"kind\":\"tls_sni\",\"sni\":\"a\"} trailing", "invalid JSON");
	decode_bad("{\"kind\":\"tls_sni\",\"sni\":\"\xff\"}", "invalid JSON");
}
END_TEST

START_TEST(test_ndjson_lines)
{
	const char *good = "{\"kind\":\"tls_sni\",\"pid\":1,\"sni\":\"a\"}\n\n   \n"
			   "{\"kind\":\"dns_query\",\"pid\":1,\"qname\":\"b\"}\r\n"
			   "{\"kind\":\"exec\",\"pid\":2,\"path\":\"/bin/true\"}";
	const char *bad = "{\"kind\":\"tls_sni\",\"pid\":1,\"sni\":\"a\"}\n"
			  "{\"kind\":\"tls_sni\",\"pid\":1,\"sni\":\"b\"}\n"
			  "\n"
			  "{\"kind\":\"tls_sni\",\"pid\":1,\"sni\":7}\n";
	fangs_event_list l = {0};
	ck_assert_int_eq(fangs_events_parse_ndjson(&l, good, strlen(good), "good.ndjson"), 0);
	ck_assert_uint_eq(l.count, 3);
	ck_assert_str_eq(l.items[2].path, "/bin/true");
	fangs_event_list_free(&l);

	ck_assert_int_eq(fangs_events_parse_ndjson(&l, bad, strlen(bad), "rec.ndjson"), FANGS_EPARSE);
	ck_assert_msg(strstr(fangs_error_last(), "rec.ndjson:line 4: field \"sni\""), "got: %s", fangs_error_last());
	ck_assert_uint_eq(l.count, 2);
	fangs_event_list_free(&l);

	ck_assert_int_eq(fangs_events_read_file(&l, "/nonexistent/x.ndjson"), FANGS_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "/nonexistent/x.ndjson"));
}
END_TEST

START_TEST(test_kind_names)
{
	for (int k = 1; k <= FANGS_EV_KIND_MAX; k++)
		ck_assert_int_eq(fangs_event_kind_parse(fangs_event_kind_name((fangs_event_kind)k)), k);
	ck_assert_int_eq(fangs_dns_qtype_parse("aaaa"), 28);
	ck_assert_int_eq(fangs_dns_qtype_parse("65"), 65);
	ck_assert_int_eq(fangs_dns_qtype_parse("70000"), 0);
	ck_assert_str_eq(fangs_dns_qtype_name(16), "TXT");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;
	tcase_add_test(tc, test_documented_examples);
	tcase_add_test(tc, test_round_trip_all_fields);
	tcase_add_test(tc, test_flags_and_defaults);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_ndjson_lines);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_syscall_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
