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

	ev = decode_ok("{\"kind\":\"proxy_request\",\"pid\":13,\"comm\":\"node\",\"host\":\"github.com\","
		       "\"port\":443,\"method\":\"CONNECT\",\"sni\":\"github.com\",\"family\":\"ipv4\","
		       "\"addr\":\"140.82.121.4\",\"bytes_out\":517,\"bytes_in\":7340032,\"status\":200,"
		       "\"allowed\":true}");
	ck_assert_int_eq(ev.kind, FANGS_EV_PROXY_REQUEST);
	ck_assert_str_eq(ev.host, "github.com");
	ck_assert_uint_eq(ev.port, 443);
	ck_assert_str_eq(ev.method, "CONNECT");
	ck_assert_str_eq(ev.sni, "github.com");
	ck_assert_str_eq(ev.addr, "140.82.121.4");
	ck_assert_int_eq(ev.family, FANGS_FAMILY_IPV4);
	ck_assert_uint_eq(ev.bytes_out, 517);
	ck_assert_uint_eq(ev.bytes_in, 7340032);
	ck_assert_int_eq(ev.status, 200);
	ck_assert_int_eq(ev.allowed, 1);
	ck_assert_ptr_null(ev.path);
	fangs_event_clear(&ev);
}
END_TEST

START_TEST(test_proxy_request_round_trip)
{
	const char *line = "{\"kind\":\"proxy_request\",\"ts_ns\":5,\"pid\":9,\"comm\":\"curl\","
			   "\"host\":\"exfil.evil.invalid\",\"port\":80,\"method\":\"POST\",\"path\":\"/c?k=v\","
			   "\"bytes_out\":0,\"bytes_in\":0,\"status\":403,\"allowed\":false,"
			   "\"origin\":{\"package\":\"evil\",\"script\":\"postinstall\"}}";
	fangs_event ev = decode_ok(line), copy = {0};
	char *out = NULL;
	char buf[256];
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_str_eq(out, line);
	ck_assert_int_eq(fangs_event_copy(&copy, &ev), 0);
	ck_assert_str_eq(copy.host, "exfil.evil.invalid");
	ck_assert_str_eq(copy.method, "POST");
	ck_assert_ptr_ne(copy.host, ev.host);
	ck_assert_int_eq(copy.allowed, 0);
	ck_assert_str_eq(fangs_event_summary(&copy, buf, sizeof(buf)),
			 "proxy refused POST http://exfil.evil.invalid:80/c?k=v");
	free(out);
	fangs_event_clear(&ev);
	fangs_event_clear(&copy);
	decode_bad("{\"kind\":\"proxy_request\",\"port\":443,\"method\":\"CONNECT\",\"allowed\":true}",
		   "\"host\": missing");
	decode_bad("{\"kind\":\"proxy_request\",\"host\":\"a\",\"port\":443,\"method\":\"GET\"}", "allowed");
	decode_bad("{\"kind\":\"proxy_request\",\"host\":\"a\",\"port\":443,\"method\":\"GET\",\"allowed\":1}",
		   "allowed");
	decode_bad("{\"kind\":\"proxy_request\",\"host\":\"a\",\"method\":\"GET\",\"allowed\":true}",
		   "\"port\": missing");
	decode_bad("{\"kind\":\"proxy_request\",\"host\":\"a\",\"port\":1,\"method\":\"GET\",\"allowed\":true,"
		   "\"bytes_in\":-1}",
		   "bytes_in");
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
		"\"uid\":1000,\"comm\":\"sh\",\"path\":\"/bin/sh\",\"argv\":[\"sh\",\"-c\",\"echo \\\"h\\u00e9\\\" "
		"\\\\ \\n\"],"
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

/* The file identity of an open and the environment's claim of an exec
 * survive the codec and a copy. */
START_TEST(test_round_trip_identity)
{
	const char *open_line = "{\"kind\":\"file_open\",\"pid\":9,\"path\":\"cfg\",\"flags\":\"r\","
				"\"real_path\":\"/root/app/node_modules/x/cfg\",\"ino\":1234567,\"dev\":2049,"
				"\"decoy\":\"/root/.npmrc\"}";
	const char *exec_line = "{\"kind\":\"exec\",\"pid\":9,\"path\":\"/usr/bin/node\",\"env_package\":\"\","
				"\"origin\":{\"package\":\"x\",\"script\":\"postinstall\"}}";
	fangs_event ev = decode_ok(open_line), copy = {0}, back;
	char *out = NULL;

	ck_assert_str_eq(ev.path, "cfg");
	ck_assert_str_eq(ev.real_path, "/root/app/node_modules/x/cfg");
	ck_assert_uint_eq(ev.ino, 1234567);
	ck_assert_uint_eq(ev.dev, 2049);
	ck_assert_str_eq(ev.decoy, "/root/.npmrc");
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_str_eq(out, open_line);
	ck_assert_int_eq(fangs_event_copy(&copy, &ev), 0);
	ck_assert_ptr_ne(copy.real_path, ev.real_path);
	ck_assert_str_eq(copy.decoy, "/root/.npmrc");
	{
		char line[128];
		ck_assert_str_eq(fangs_event_summary(&ev, line, sizeof(line)), "open(r) cfg -> /root/.npmrc");
		free(copy.decoy);
		copy.decoy = NULL;
		ck_assert_str_eq(fangs_event_summary(&copy, line, sizeof(line)),
				 "open(r) cfg -> /root/app/node_modules/x/cfg");
	}
	free(out);
	fangs_event_clear(&ev);
	fangs_event_clear(&copy);

	ev = decode_ok(exec_line);
	ck_assert_ptr_nonnull(ev.env_package);
	ck_assert_str_eq(ev.env_package, "");
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	back = decode_ok(out);
	ck_assert_str_eq(back.env_package, "");
	ck_assert_int_eq(fangs_event_copy(&copy, &back), 0);
	ck_assert_str_eq(copy.env_package, "");
	free(out);
	fangs_event_clear(&ev);
	fangs_event_clear(&back);
	fangs_event_clear(&copy);

	decode_bad("{\"kind\":\"file_open\",\"path\":\"/x\",\"ino\":\"12\"}", "ino");
	decode_bad("{\"kind\":\"file_open\",\"path\":\"/x\",\"dev\":-1}", "dev");
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

	ev = decode_ok(
		"{\"kind\":\"net_connect\",\"pid\":1,\"addr\":\"::ffff:10.0.0.1\",\"port\":53,\"proto\":\"udp\"}");
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

/* The import phase: "phase" round-trips, a recording without it is the
 * install's, the install's own events do not write it, and a phase that is
 * not one is refused. */
START_TEST(test_phase)
{
	static const char with[] = "{\"kind\":\"file_open\",\"pid\":7,\"comm\":\"node\",\"phase\":\"import\","
				   "\"path\":\"/root/.npmrc\",\"flags\":\"r\",\"origin\":{\"package\":\"greeter\","
				   "\"version\":\"1.1.0\",\"script\":\"import\",\"command\":\"require('greeter')\"}}";
	fangs_event ev = decode_ok(with), back = {0}, copy = {0};
	fangs_event_phase ph;
	char *out = NULL;

	ck_assert_int_eq(ev.phase, FANGS_PHASE_IMPORT);
	ck_assert_str_eq(ev.origin.script, "import");
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"phase\":\"import\""));
	back = decode_ok(out);
	ck_assert_int_eq(back.phase, FANGS_PHASE_IMPORT);
	ck_assert_int_eq(fangs_event_copy(&copy, &ev), 0);
	ck_assert_int_eq(copy.phase, FANGS_PHASE_IMPORT);
	free(out);
	fangs_event_clear(&ev);
	fangs_event_clear(&back);
	fangs_event_clear(&copy);

	/* omitted (every recording made before the import phase): install */
	ev = decode_ok("{\"kind\":\"file_open\",\"pid\":7,\"path\":\"/root/.npmrc\",\"flags\":\"r\"}");
	ck_assert_int_eq(ev.phase, FANGS_PHASE_INSTALL);
	ck_assert_int_eq(fangs_event_to_json(&ev, &out, NULL), 0);
	ck_assert_ptr_null(strstr(out, "phase"));
	free(out);
	fangs_event_clear(&ev);
	ev = decode_ok("{\"kind\":\"exec\",\"pid\":7,\"path\":\"/bin/sh\",\"phase\":\"install\"}");
	ck_assert_int_eq(ev.phase, FANGS_PHASE_INSTALL);
	fangs_event_clear(&ev);
	ev = decode_ok("{\"kind\":\"exec\",\"pid\":7,\"path\":\"/bin/sh\",\"phase\":null}");
	ck_assert_int_eq(ev.phase, FANGS_PHASE_INSTALL);
	fangs_event_clear(&ev);

	decode_bad("{\"kind\":\"exec\",\"pid\":7,\"path\":\"/bin/sh\",\"phase\":\"runtime\"}", "\"phase\"");
	decode_bad("{\"kind\":\"exec\",\"pid\":7,\"path\":\"/bin/sh\",\"phase\":1}", "\"phase\"");

	ck_assert_str_eq(fangs_event_phase_name(FANGS_PHASE_INSTALL), "install");
	ck_assert_str_eq(fangs_event_phase_name(FANGS_PHASE_IMPORT), "import");
	ck_assert_str_eq(fangs_event_phase_name((fangs_event_phase)9), "unknown");
	ck_assert_int_eq(fangs_event_phase_parse("import", &ph), 0);
	ck_assert_int_eq(ph, FANGS_PHASE_IMPORT);
	ck_assert_int_eq(fangs_event_phase_parse("Import", &ph), FANGS_EINVAL);
	ck_assert_int_eq(fangs_event_phase_parse(NULL, &ph), FANGS_EINVAL);
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
	tcase_add_test(tc, test_proxy_request_round_trip);
	tcase_add_test(tc, test_round_trip_identity);
	tcase_add_test(tc, test_flags_and_defaults);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_ndjson_lines);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_phase);
	tcase_add_test(tc, test_syscall_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
