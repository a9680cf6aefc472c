/*
 * tests/sensor/test_parse.c - the DNS and TLS parsers on hostile input,
 * and the cgroup level arithmetic.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/cgroup_internal.h"
#include "sensor/parse.h"

/* www.example.com AAAA, id 0xabcd, RD */
static const uint8_t query[] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				3,    'w',  'w',  'w',  7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',
				3,    'c',  'o',  'm',  0,    0x00, 0x1c, 0x00, 0x01};

START_TEST(test_dns_query)
{
	char name[300];
	uint16_t qtype = 0;
	ck_assert_int_eq(fangs__dns_parse_query(query, sizeof(query), name, sizeof(name), &qtype), 0);
	ck_assert_str_eq(name, "www.example.com");
	ck_assert_uint_eq(qtype, 28);
}
END_TEST

START_TEST(test_dns_rejects)
{
	uint8_t m[sizeof(query)];
	char name[300];
	uint16_t qtype;

	/* every truncation is refused */
	for (size_t n = 0; n < sizeof(query); n++)
		ck_assert_int_eq(fangs__dns_parse_query(query, n, name, sizeof(name), &qtype), -1);
	memcpy(m, query, sizeof(m));
	m[2] |= 0x80; /* a response */
	ck_assert_int_eq(fangs__dns_parse_query(m, sizeof(m), name, sizeof(name), &qtype), -1);
	memcpy(m, query, sizeof(m));
	m[12] = 0xc0; /* a compression pointer */
	ck_assert_int_eq(fangs__dns_parse_query(m, sizeof(m), name, sizeof(name), &qtype), -1);
	memcpy(m, query, sizeof(m));
	m[12] = 60; /* label running past the end */
	ck_assert_int_eq(fangs__dns_parse_query(m, sizeof(m), name, sizeof(name), &qtype), -1);
	/* name too long for the caller's buffer */
	ck_assert_int_eq(fangs__dns_parse_query(query, sizeof(query), name, 8, &qtype), -1);
}
END_TEST

START_TEST(test_dns_escapes)
{
	uint8_t m[sizeof(query)];
	char name[300];
	uint16_t qtype;
	memcpy(m, query, sizeof(m));
	m[13] = '.';
	m[14] = 0;
	ck_assert_int_eq(fangs__dns_parse_query(m, sizeof(m), name, sizeof(name), &qtype), 0);
	ck_assert_str_eq(name, "\\046\\000w.example.com");
}
END_TEST

static size_t hello(uint8_t *b, const char *sni)
{
	size_t sl = strlen(sni), p = 0;
	b[p++] = 0x16, b[p++] = 3, b[p++] = 1, b[p++] = 0, b[p++] = 0;
	b[p++] = 1, b[p++] = 0, b[p++] = 0, b[p++] = 0;
	b[p++] = 3, b[p++] = 3;
	memset(b + p, 1, 32), p += 32;
	b[p++] = 32, memset(b + p, 2, 32), p += 32; /* session id */
	b[p++] = 0, b[p++] = 2, b[p++] = 0x13, b[p++] = 0x01;
	b[p++] = 1, b[p++] = 0;
	b[p++] = 0, b[p++] = (uint8_t)(4 + 4 + 5 + sl);
	b[p++] = 0xff, b[p++] = 0x01, b[p++] = 0, b[p++] = 0; /* renegotiation_info, empty */
	b[p++] = 0, b[p++] = 0, b[p++] = 0, b[p++] = (uint8_t)(5 + sl);
	b[p++] = 0, b[p++] = (uint8_t)(3 + sl), b[p++] = 0, b[p++] = 0, b[p++] = (uint8_t)sl;
	memcpy(b + p, sni, sl), p += sl;
	b[3] = (uint8_t)((p - 5) >> 8), b[4] = (uint8_t)(p - 5);
	b[7] = (uint8_t)((p - 9) >> 8), b[8] = (uint8_t)(p - 9);
	return p;
}

START_TEST(test_tls_sni)
{
	uint8_t b[512];
	char sni[256];
	size_t n = hello(b, "registry.example.org");
	ck_assert_int_eq(fangs__tls_parse_sni(b, n, sni, sizeof(sni)), 0);
	ck_assert_str_eq(sni, "registry.example.org");
	/* every prefix that cuts the name off is refused, never half-read */
	for (size_t k = 0; k < n; k++)
		ck_assert_int_eq(fangs__tls_parse_sni(b, k, sni, sizeof(sni)), -1);
	b[5] = 2; /* ServerHello */
	ck_assert_int_eq(fangs__tls_parse_sni(b, n, sni, sizeof(sni)), -1);
}
END_TEST

START_TEST(test_cgroup_level)
{
	ck_assert_int_eq(fangs__cgroup_level("/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified"), 0);
	ck_assert_int_eq(fangs__cgroup_level("/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/fangs/r1"), 2);
	ck_assert_int_eq(fangs__cgroup_level("/sys/fs/cgroup", "/sys/fs/cgroup/fangs/r1/"), 2);
	ck_assert_int_eq(fangs__cgroup_level("/sys/fs/cgroup", "/sys/fs/cgroupx/a"), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sensor-parse");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_dns_query);
	tcase_add_test(tc, test_dns_rejects);
	tcase_add_test(tc, test_dns_escapes);
	tcase_add_test(tc, test_tls_sni);
	tcase_add_test(tc, test_cgroup_level);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
