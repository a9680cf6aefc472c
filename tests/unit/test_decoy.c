/*
 * test_decoy.c - the decoy matcher: every form a secret can leave in, and
 * no finding on what merely looks random.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

static const char *const NPM = "npm_Qh7T2kWm9XbL4cVz0pR8sDfG1nYjA3e5uKiO";
static const char *const AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq5tQ8Lw2v";

static fangs_decoy_matcher *m;

static void setup(void)
{
	const fangs_decoy d[] = {
		{"~/.npmrc", "npm token", NPM},
		{"~/.aws/credentials", "AWS secret access key", AWS},
		{"~/.short", "too short", "abc123"},
	};
	ck_assert_int_eq(fangs_decoy_matcher_new(&m, d, 3), 0);
}

static void teardown(void)
{
	fangs_decoy_matcher_free(m);
	m = NULL;
}

static void b64(const unsigned char *in, size_t n, char *out, int url, int pad)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t k = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[k++] = a[v >> 18 & 63];
		out[k++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[k++] = a[v >> 6 & 63];
		else if (pad)
			out[k++] = '=';
		if (i + 2 < n)
			out[k++] = a[v & 63];
		else if (pad)
			out[k++] = '=';
	}
	out[k] = '\0';
}

static void hex(const char *in, char *out, int upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		out[k++] = d[*p >> 4];
		out[k++] = d[*p & 15];
	}
	out[k] = '\0';
}

static int find(const char *s, fangs_decoy_hit *hit)
{
	int rc = fangs_decoy_find(m, s, strlen(s), hit);
	ck_assert_int_ge(rc, 0);
	return rc;
}

static void expect(const char *s, size_t decoy, const char *form)
{
	fangs_decoy_hit hit;
	ck_assert_msg(find(s, &hit) == 1, "not found in %s", s);
	ck_assert_uint_eq(hit.decoy, decoy);
	ck_assert_str_eq(hit.form, form);
}

static void expect_none(const char *s)
{
	fangs_decoy_hit hit;
	ck_assert_msg(find(s, &hit) == 0, "found decoy %zu (%s) in %s", hit.decoy, hit.form, s);
}

START_TEST(test_plain)
{
	char s[512];
	snprintf(s, sizeof(s), "GET /collect?t=%s HTTP/1.1", NPM);
	expect(s, 0, "plain");
	/* a stretch of the window's length is enough, a shorter one is not */
	snprintf(s, sizeof(s), "x%.12sx", NPM + 20);
	expect(s, 0, "plain");
	snprintf(s, sizeof(s), "x%.11sx", NPM + 20);
	expect_none(s);
	snprintf(s, sizeof(s), "%s", AWS);
	expect(s, 1, "plain");
	/* secrets shorter than a window are never looked for */
	expect_none("abc123abc123abc123");
}
END_TEST

START_TEST(test_hex_both_cases_and_alignment)
{
	char h[200], s[512];
	hex(NPM, h, 0);
	snprintf(s, sizeof(s), "%s.evil.invalid", h + 10); /* starts mid-token, on a byte */
	expect(s, 0, "hex");
	hex(NPM, h, 1);
	snprintf(s, sizeof(s), "Z%s", h);
	expect(s, 0, "hex");
	/* an odd number of digits before it: the other nibble alignment */
	hex(NPM, h, 0);
	snprintf(s, sizeof(s), "a%s", h);
	expect(s, 0, "hex");
}
END_TEST

START_TEST(test_base64_all_alignments)
{
	unsigned char buf[256];
	char enc[400], s[512];
	for (int prefix = 0; prefix < 3; prefix++) {
		for (int url = 0; url < 2; url++) {
			for (int pad = 0; pad < 2; pad++) {
				size_t n = 0;
				for (int i = 0; i < prefix; i++)
					buf[n++] = (unsigned char)("tok"[i]);
				memcpy(buf + n, AWS, strlen(AWS));
				n += strlen(AWS);
				b64(buf, n, enc, url, pad);
				snprintf(s, sizeof(s), "data=%s&x=1", enc);
				/* AWS's secret has '/' in it: its standard encoding may or
				 * may not use the alphabets' differing characters */
				fangs_decoy_hit hit;
				ck_assert_msg(find(s, &hit) == 1, "prefix %d url %d: %s", prefix, url, s);
				ck_assert_uint_eq(hit.decoy, 1);
				ck_assert_msg(!strncmp(hit.form, "base64", 6), "%s", hit.form);
				if (url && strpbrk(enc, "-_"))
					ck_assert_str_eq(hit.form, "base64url");
				if (!url && strpbrk(enc, "+/"))
					ck_assert_str_eq(hit.form, "base64");
			}
		}
	}
}
END_TEST

START_TEST(test_url_encoded)
{
	char s[512];
	/* every '/' of the AWS secret percent-encoded */
	snprintf(s, sizeof(s), "/p?k=wJalrXUtnFEMI%%2FK7MDENG%%2FbPxRfiCYzq5tQ8Lw2v");
	expect(s, 1, "url-encoded");
	/* base64 whose + / = are percent-encoded */
	unsigned char raw[64];
	char enc[128], pct[400];
	size_t k = 0;
	memcpy(raw, NPM, strlen(NPM));
	b64(raw, strlen(NPM), enc, 0, 1);
	for (const char *p = enc; *p; p++)
		k += (size_t)(strchr("+/=", *p) ? sprintf(pct + k, "%%%02X", *p) : sprintf(pct + k, "%c", *p));
	snprintf(s, sizeof(s), "POST body=%s", pct);
	fangs_decoy_hit hit;
	ck_assert_int_eq(find(s, &hit), 1);
	ck_assert_uint_eq(hit.decoy, 0);
}
END_TEST

START_TEST(test_split_across_dns_labels)
{
	char enc[128], s[512];
	b64((const unsigned char *)NPM, strlen(NPM), enc, 1, 0);
	/* labels of 10: no label holds a whole window's encoding */
	char labels[256];
	size_t k = 0, n = strlen(enc);
	for (size_t i = 0; i < n; i += 10)
		k += (size_t)snprintf(labels + k, sizeof(labels) - k, "%.10s.", enc + i);
	snprintf(s, sizeof(s), "x1.%sexfil.invalid", labels);
	/* named base64url only when the URL-safe characters show */
	expect(s, 0, strpbrk(enc, "-_") ? "base64url, split across DNS labels" : "base64, split across DNS labels");

	char h[200];
	hex(NPM, h, 0);
	snprintf(s, sizeof(s), "%.30s.%.30s.%s.t.invalid", h, h + 30, h + 60);
	expect(s, 0, "hex, split across DNS labels");

	snprintf(s, sizeof(s), "%.8s.%.8s.%s.invalid", NPM, NPM + 8, NPM + 16);
	expect(s, 0, "plain, split across DNS labels");
}
END_TEST

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

START_TEST(test_lower_cased)
{
	char enc[128], s[512], labels[256];
	size_t k = 0;
	/* a resolver lower-cased the name: base64 of the token, at a byte offset */
	unsigned char raw[64];
	memcpy(raw, "t=", 2);
	memcpy(raw + 2, NPM, strlen(NPM));
	b64(raw, strlen(NPM) + 2, enc, 1, 0);
	lower(enc);
	for (size_t i = 0; i < strlen(enc); i += 20)
		k += (size_t)snprintf(labels + k, sizeof(labels) - k, "%.20s.", enc + i);
	snprintf(s, sizeof(s), "%sx.invalid", labels);
	fangs_decoy_hit hit;
	ck_assert_int_eq(find(s, &hit), 1);
	ck_assert_uint_eq(hit.decoy, 0);
	ck_assert_msg(!strcmp(hit.form, "base64, lower-cased, split across DNS labels") ||
			      !strcmp(hit.form, "base64url, lower-cased, split across DNS labels"),
		      "%s", hit.form);
	/* the token itself, lower-cased, in one label */
	snprintf(s, sizeof(s), "%s.invalid", NPM);
	lower(s);
	expect(s, 0, "plain, lower-cased");
	/* 15 characters of it are not enough once the case is gone */
	snprintf(s, sizeof(s), "%.15s.invalid", NPM + 4);
	lower(s);
	expect_none(s);
}
END_TEST

START_TEST(test_no_false_positives)
{
	static const char *const names[] = {
		"registry.npmjs.org",
		"d2ifxh4o7e6fau.cloudfront.net",
		"ec2-203-0-113-7.compute-1.amazonaws.com",
		"a1b2c3d4e5f60718293a4b5c6d7e8f90.example.invalid",
		"dGhpcyBpcyBqdXN0IGEgcmFuZG9tIGJhc2U2NCBuYW1l.test.invalid",
		"_http._tcp.deb.debian.org",
		"8f14e45fceea167a5a36dedd4bea2543.b32.invalid",
		"xn--bcher-kva.example",
		"npm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid",
		"wJalrXUtnFE.invalid", /* 11 bytes of the secret: under a window */
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_none(names[i]);
	/* random names of every alphabet: none is a decoy */
	srand(7);
	for (int r = 0; r < 2000; r++) {
		char s[200];
		const char *alpha = r % 4 == 0   ? "0123456789abcdef"
				    : r % 4 == 1 ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				    : r % 4 == 2 ? "abcdefghijklmnopqrstuvwxyz0123456789-_"
						 : "abcdefghijklmnopqrstuvwxyz0123456789.";
		size_t al = strlen(alpha), n = 20 + (size_t)(rand() % 150);
		for (size_t i = 0; i < n; i++)
			s[i] = alpha[rand() % (int)al];
		s[n] = '\0';
		expect_none(s);
	}
}
END_TEST

static fangs_event dns_event(int64_t id, const char *qname)
{
	fangs_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FANGS_EV_DNS_QUERY;
	ev.id = id;
	ev.qname = (char *)qname;
	ev.qtype = 1;
	ev.origin.package = (char *)"courier";
	ev.origin.version = (char *)"1.1.0";
	ev.origin.script = (char *)"postinstall";
	ev.origin.command = (char *)"node postinstall.js";
	return ev;
}

START_TEST(test_findings_from_events)
{
	char enc[128], q1[300], q2[300];
	b64((const unsigned char *)NPM, strlen(NPM), enc, 1, 0);
	snprintf(q1, sizeof(q1), "%.30s.%s.t.invalid", enc, enc + 30);
	snprintf(q2, sizeof(q2), "%.20s.%s.u.invalid", enc, enc + 20);
	fangs_event evs[4] = {dns_event(10, "registry.npmjs.org"), dns_event(11, q1), dns_event(12, q2),
			      dns_event(13, "c2.evil.invalid")};
	fangs_event sni;
	memset(&sni, 0, sizeof(sni));
	fangs_deviation_list out = {0};
	ck_assert_int_eq(fangs_decoy_findings(m, "r1", "courier", evs, 4, &out), 0);
	ck_assert_uint_eq(out.count, 1);
	fangs_deviation *d = &out.items[0];
	ck_assert_str_eq(d->kind, FANGS_DECOY_FINDING_KIND);
	ck_assert_str_eq(d->kind, "rule:decoy-exfiltrated");
	ck_assert_int_eq(d->severity, FANGS_SEV_CRITICAL);
	ck_assert_str_eq(d->value, strpbrk(enc, "-_") ? "~/.npmrc (base64url, split across DNS labels)"
						      : "~/.npmrc (base64, split across DNS labels)");
	ck_assert_msg(strstr(d->description, "npm token") && strstr(d->description, "DNS query"), "%s", d->description);
	ck_assert_uint_eq(d->n_evidence, 2);
	ck_assert_int_eq(d->evidence[0], 11);
	ck_assert_int_eq(d->evidence[1], 12);
	ck_assert_str_eq(d->origin.package, "courier");
	ck_assert_str_eq(d->run_id, "r1");
	ck_assert_int_eq(d->actor, FANGS_ACTOR_SCRIPT);
	fangs_deviation_list_free(&out);

	/* a TLS server name carries it too; nothing found adds nothing */
	sni.kind = FANGS_EV_TLS_SNI;
	sni.id = 3;
	sni.sni = (char *)q1;
	ck_assert_int_eq(fangs_decoy_findings(m, "r1", "courier", &sni, 1, &out), 0);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_msg(strstr(out.items[0].description, "TLS server name"), "%s", out.items[0].description);
	fangs_deviation_list_free(&out);
	ck_assert_int_eq(fangs_decoy_findings(m, "r1", "courier", evs, 1, &out), 0);
	ck_assert_uint_eq(out.count, 0);
	fangs_deviation_list_free(&out);
}
END_TEST

START_TEST(test_bad_arguments)
{
	fangs_decoy_matcher *e = NULL;
	fangs_decoy_hit hit;
	ck_assert_int_eq(fangs_decoy_matcher_new(NULL, NULL, 0), FANGS_EINVAL);
	ck_assert_int_eq(fangs_decoy_matcher_new(&e, NULL, 0), 0);
	ck_assert_int_eq(fangs_decoy_find(e, NPM, strlen(NPM), &hit), 0);
	fangs_decoy_matcher_free(e);
	fangs_decoy_matcher_free(NULL);
	ck_assert_int_eq(fangs_decoy_find(m, NULL, 5, &hit), FANGS_EINVAL);
}
END_TEST

/* A runner hands the decoys to the orchestrator with the run's result. */
START_TEST(test_wire_result_carries_decoys)
{
	const fangs_decoy d[2] = {{"~/.npmrc", "npm token", NPM}, {"~/.aws/credentials", "AWS secret access key", AWS}};
	fangs_wire_result in, out;
	char *json = NULL;
	memset(&in, 0, sizeof(in));
	in.state = FANGS_RUN_SUCCEEDED;
	in.decoys = (fangs_decoy *)d;
	in.n_decoys = 2;
	ck_assert_int_eq(fangs_wire_result_encode(&in, &json), 0);
	ck_assert_int_eq(fangs_wire_result_decode(&out, json, strlen(json)), 0);
	ck_assert_uint_eq(out.n_decoys, 2);
	ck_assert_str_eq(out.decoys[1].place, "~/.aws/credentials");
	ck_assert_str_eq(out.decoys[1].what, "AWS secret access key");
	ck_assert_str_eq(out.decoys[0].value, NPM);
	fangs_wire_result_clear(&out);
	free(json);
	/* no decoys: none decoded */
	in.n_decoys = 0;
	ck_assert_int_eq(fangs_wire_result_encode(&in, &json), 0);
	ck_assert_ptr_null(strstr(json, "decoys"));
	ck_assert_int_eq(fangs_wire_result_decode(&out, json, strlen(json)), 0);
	ck_assert_uint_eq(out.n_decoys, 0);
	fangs_wire_result_clear(&out);
	free(json);
	/* what a runner may not send */
	static const char *const bad[] = {
		"{\"state\":\"succeeded\",\"decoys\":{}}",
		"{\"state\":\"succeeded\",\"decoys\":[1]}",
		"{\"state\":\"succeeded\",\"decoys\":[{\"place\":\"~/.npmrc\",\"what\":\"t\"}]}",
		"{\"state\":\"succeeded\",\"decoys\":[{\"place\":\"~/.npmrc\",\"what\":\"t\",\"value\":7}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(fangs_wire_result_decode(&out, bad[i], strlen(bad[i])) == FANGS_EINVAL, "%s", bad[i]);
		ck_assert_ptr_null(out.decoys);
	}
	char big[8192];
	size_t k = (size_t)snprintf(big, sizeof(big), "{\"state\":\"succeeded\",\"decoys\":[");
	for (int i = 0; i < FANGS_WIRE_MAX_DECOYS + 1; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, "%s{\"place\":\"p\",\"what\":\"w\",\"value\":\"v\"}",
				      i ? "," : "");
	snprintf(big + k, sizeof(big) - k, "]}");
	ck_assert_int_eq(fangs_wire_result_decode(&out, big, strlen(big)), FANGS_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decoy");
	TCase *tc = tcase_create("matcher");
	SRunner *sr;
	int failed;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_hex_both_cases_and_alignment);
	tcase_add_test(tc, test_base64_all_alignments);
	tcase_add_test(tc, test_url_encoded);
	tcase_add_test(tc, test_split_across_dns_labels);
	tcase_add_test(tc, test_lower_cased);
	tcase_add_test(tc, test_no_false_positives);
	tcase_add_test(tc, test_findings_from_events);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_wire_result_carries_decoys);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
