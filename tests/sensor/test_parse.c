/*
 * tests/sensor/test_parse.c - the DNS and TLS parsers on hostile input,
 * and the cgroup level arithmetic.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "sensor.h"
#include "payload.h"
#include "core/cgroup.h"
#include "sensor/parse.h"

/* www.example.com AAAA, id 0xabcd, RD */
static const uint8_t query[] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x00, 3,    'w',  'w',  'w',  7,    'e',  'x',  'a',  'm',  'p',
				'l',  'e',  3,    'c',  'o',  'm',  0,    0x00, 0x1c, 0x00, 0x01};

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

/* What the kernel side hands over: DNS on any port, by its shape. */
START_TEST(test_classify_dns)
{
	uint8_t m[2 + sizeof(query)], q[sizeof(query)];
	char name[300];
	uint16_t qtype = 0;

	ck_assert_uint_eq(fs_classify(query, sizeof(query), FS_PROTO_UDP, 5353), FS_PL_DNS);
	ck_assert_uint_eq(fs_classify(query, sizeof(query), FS_PROTO_UDP, 53), FS_PL_DNS);
	/* a response, a second question, an answer: not a query of ours */
	memcpy(q, query, sizeof(q));
	q[2] |= 0x80;
	ck_assert_uint_eq(fs_classify(q, sizeof(q), FS_PROTO_UDP, 5353), 0);
	memcpy(q, query, sizeof(q));
	q[5] = 2;
	ck_assert_uint_eq(fs_classify(q, sizeof(q), FS_PROTO_UDP, 5353), 0);
	memcpy(q, query, sizeof(q));
	q[7] = 1;
	ck_assert_uint_eq(fs_classify(q, sizeof(q), FS_PROTO_UDP, 5353), 0);
	/* port 53 is DNS whatever it looks like: the parser judges it */
	ck_assert_uint_eq(fs_classify(q, sizeof(q), FS_PROTO_UDP, 53), FS_PL_DNS);
	ck_assert_int_eq(fangs__dns_parse_query(q, sizeof(q), name, sizeof(name), &qtype), 0);

	/* TCP: the length prefix must announce what follows */
	m[0] = 0, m[1] = sizeof(query);
	memcpy(m + 2, query, sizeof(query));
	ck_assert_uint_eq(fs_classify(m, sizeof(m), FS_PROTO_TCP, 8853), FS_PL_DNS_TCP);
	ck_assert_int_eq(fangs__dns_parse_tcp(m, sizeof(m), name, sizeof(name), &qtype), 0);
	ck_assert_str_eq(name, "www.example.com");
	ck_assert_uint_eq(qtype, 28);
	m[1] = sizeof(query) + 4; /* more announced than sent: not DNS on an odd port */
	ck_assert_uint_eq(fs_classify(m, sizeof(m), FS_PROTO_TCP, 8853), 0);
	ck_assert_int_eq(fangs__dns_parse_tcp(m, sizeof(m), name, sizeof(name), &qtype), 0);
	m[1] = 10; /* shorter than a question */
	ck_assert_int_eq(fangs__dns_parse_tcp(m, sizeof(m), name, sizeof(name), &qtype), -1);
	ck_assert_int_eq(fangs__dns_parse_tcp(m, 1, name, sizeof(name), &qtype), -1);
	/* a plain HTTP request is nothing */
	ck_assert_uint_eq(fs_classify((const uint8_t *)"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, FS_PROTO_TCP, 80), 0);
}
END_TEST

/* The kernel side's join of the first writes of a TCP connection, step by
 * step as bpf/sensor.bpf.c's reassemble() takes them. */
static int join(const uint8_t *const *pieces, const size_t *lens, size_t n, uint8_t *out, uint32_t *out_len)
{
	uint32_t len = 0, parts = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			memcpy(out, pieces[0], lens[0]);
			len = (uint32_t)lens[0];
			if (!fs_partial_start(out, len))
				break;
			parts = 1;
			continue;
		}
		memcpy(out + len, pieces[i], lens[i]);
		len += (uint32_t)lens[i];
		if (fs_complete(out, len) || ++parts >= FS_REASM_PARTS || fs_tls_hello(pieces[i], (uint32_t)lens[i]))
			break;
	}
	*out_len = len;
	return fs_classify(out, len, FS_PROTO_TCP, 443) != 0;
}

START_TEST(test_split_client_hello)
{
	uint8_t b[512], joined[2048];
	char sni[256];
	size_t n = hello(b, "split.example.invalid");
	uint32_t len = 0;

	/* whole: nothing to join */
	ck_assert(!fs_partial_start(b, (uint32_t)n));
	ck_assert_uint_eq(fs_classify(b, (uint32_t)n, FS_PROTO_TCP, 443), FS_PL_TLS);
	/* cut after every byte of the header and inside the extensions */
	for (size_t cut = 1; cut < n; cut++) {
		const uint8_t *pieces[2] = {b, b + cut};
		size_t lens[2] = {cut, n - cut};
		ck_assert_msg(fs_partial_start(b, (uint32_t)cut), "cut %zu not taken as a start", cut);
		ck_assert_msg(join(pieces, lens, 2, joined, &len), "cut %zu not joined", cut);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(fangs__tls_parse_sni(joined, len, sni, sizeof(sni)), 0);
		ck_assert_str_eq(sni, "split.example.invalid");
	}
	/* three pieces, as a package would write it */
	{
		const uint8_t *pieces[3] = {b, b + 3, b + 50};
		size_t lens[3] = {3, 47, n - 50};
		ck_assert(join(pieces, lens, 3, joined, &len));
		ck_assert_int_eq(fangs__tls_parse_sni(joined, len, sni, sizeof(sni)), 0);
	}
	/* more pieces than the kernel joins: what it has is handed over, and
	 * the name, not yet there, is not invented */
	{
		const uint8_t *pieces[6] = {b, b + 1, b + 2, b + 3, b + 4, b + 5};
		size_t lens[6] = {1, 1, 1, 1, 1, n - 5};
		join(pieces, lens, 6, joined, &len);
		ck_assert_uint_eq(len, FS_REASM_PARTS);
		ck_assert_int_eq(fangs__tls_parse_sni(joined, len, sni, sizeof(sni)), -1);
	}
	/* a DNS length prefix written alone, then the message */
	{
		uint8_t prefix[2] = {0, sizeof(query)};
		const uint8_t *pieces[2] = {prefix, query};
		size_t lens[2] = {2, sizeof(query)};
		uint16_t qtype;
		ck_assert(join(pieces, lens, 2, joined, &len));
		ck_assert_uint_eq(fs_classify(joined, len, FS_PROTO_TCP, 9053), FS_PL_DNS_TCP);
		ck_assert_int_eq(fangs__dns_parse_tcp(joined, len, sni, sizeof(sni), &qtype), 0);
		ck_assert_str_eq(sni, "www.example.com");
	}
	/* a decoy header announcing a long record, then the real hello: the
	 * join never reads as one record; the name is found further in */
	{
		uint8_t decoy[5] = {0x16, 3, 1, 0xff, 0xff};
		const uint8_t *pieces[2] = {decoy, b};
		size_t lens[2] = {5, n};
		ck_assert(fs_partial_start(decoy, 5));
		join(pieces, lens, 2, joined, &len);
		ck_assert_uint_eq(fs_classify(joined, len, FS_PROTO_TCP, 443), 0);
		ck_assert_int_eq(fangs__tls_parse_sni(joined, len, sni, sizeof(sni)), -1);
		ck_assert_int_eq(fangs__tls_find_sni(joined, len, sni, sizeof(sni)), 0);
		ck_assert_str_eq(sni, "split.example.invalid");
		ck_assert_int_eq(fangs__tls_find_sni(decoy, 5, sni, sizeof(sni)), -1);
	}
	/* not a start: an HTTP request, a TLS record that is not a hello */
	ck_assert(!fs_partial_start((const uint8_t *)"GET ", 4));
	b[5] = 2;
	ck_assert(!fs_partial_start(b, 10));
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
	tcase_add_test(tc, test_classify_dns);
	tcase_add_test(tc, test_split_client_hello);
	tcase_add_test(tc, test_cgroup_level);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
