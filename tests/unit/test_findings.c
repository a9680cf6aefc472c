/*
 * tests/unit/test_findings.c - deviations and rule hits grouped into one
 * finding per behaviour (fangs/findings.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fangs/fangs.h>

static fangs_deviation_list recs;
static fangs_event_list evs;
static fangs_finding_list out;

static void setup(void)
{
	memset(&recs, 0, sizeof(recs));
	memset(&evs, 0, sizeof(evs));
	memset(&out, 0, sizeof(out));
}

static void teardown(void)
{
	/* the records' strings are literals: only the arrays are ours */
	for (size_t i = 0; i < recs.count; i++)
		free(recs.items[i].evidence);
	free(recs.items);
	for (size_t i = 0; i < evs.count; i++) {
		free(evs.items[i].qname);
		free(evs.items[i].sni);
		free(evs.items[i].addr);
	}
	free(evs.items);
	fangs_finding_list_free(&out);
}

/* A record of kind `kind` (a rule hit when it starts with "rule:") citing
 * the events `ids` (0-terminated). */
static fangs_deviation *rec(const char *kind, fangs_severity sev, const char *value, const int64_t *ids)
{
	fangs_deviation *d;
	size_t n = 0;
	if (recs.count == recs.capacity) {
		recs.capacity = recs.capacity ? recs.capacity * 2 : 16;
		recs.items = realloc(recs.items, recs.capacity * sizeof(*recs.items));
		ck_assert_ptr_nonnull(recs.items);
	}
	d = &recs.items[recs.count++];
	memset(d, 0, sizeof(*d));
	d->id = (int64_t)recs.count;
	d->kind = (char *)kind;
	d->severity = sev;
	d->value = (char *)value;
	d->actor = FANGS_ACTOR_SCRIPT;
	d->origin.package = (char *)"banner";
	d->origin.script = (char *)"postinstall";
	while (ids && ids[n])
		n++;
	d->evidence = malloc((n ? n : 1) * sizeof(int64_t));
	ck_assert_ptr_nonnull(d->evidence);
	if (n)
		memcpy(d->evidence, ids, n * sizeof(int64_t));
	d->n_evidence = n;
	return d;
}

static fangs_event *event(int64_t id, fangs_event_kind kind)
{
	fangs_event *ev;
	if (evs.count == evs.capacity) {
		evs.capacity = evs.capacity ? evs.capacity * 2 : 64;
		evs.items = realloc(evs.items, evs.capacity * sizeof(*evs.items));
		ck_assert_ptr_nonnull(evs.items);
	}
	ev = &evs.items[evs.count++];
	memset(ev, 0, sizeof(*ev));
	ev->id = id;
	ev->kind = kind;
	ev->pid = 42;
	return ev;
}

static int group(int with_events)
{
	fangs_findings_options o = FANGS_FINDINGS_OPTIONS_INIT;
	if (with_events) {
		o.events = evs.items;
		o.n_events = evs.count;
	}
	return fangs_findings_group(&recs, &o, &out);
}

static int has(char *const *arr, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(arr[i], s))
			return 1;
	return 0;
}

START_TEST(test_deviation_and_two_rule_hits_are_one)
{
	static const int64_t ev[] = {3770, 0};
	rec("rule:cred-read-by-script", FANGS_SEV_CRITICAL, "~/.npmrc", ev)->description = (char *)"reads secrets";
	rec("rule:npm-token-read", FANGS_SEV_HIGH, "~/.npmrc", ev);
	rec("fs_cred_read", FANGS_SEV_MEDIUM, "~/.npmrc", ev);
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_uint_eq(out.n_deviations, 1);
	ck_assert_uint_eq(out.n_rule_hits, 2);
	ck_assert_int_eq(out.items[0].severity, FANGS_SEV_CRITICAL);
	ck_assert_str_eq(out.items[0].kind, "rule:cred-read-by-script");
	ck_assert_uint_eq(out.items[0].n_labels, 3);
	ck_assert(has(out.items[0].labels, 3, "fs_cred_read"));
	ck_assert(has(out.items[0].labels, 3, "rule:npm-token-read"));
	ck_assert_str_eq(out.items[0].value, "~/.npmrc");
	ck_assert_ptr_null(out.items[0].domain);
	ck_assert_int_eq(out.items[0].network, 0);
	ck_assert_str_eq(out.items[0].description, "reads secrets");
	ck_assert_str_eq(out.items[0].origin.package, "banner");
	ck_assert_uint_eq(out.items[0].n_records, 3);
	ck_assert_uint_eq(out.items[0].n_rule_hits, 2);
	ck_assert_uint_eq(out.items[0].records[0], 0);
	ck_assert_int_eq(out.items[0].record_ids[2], 3);
	ck_assert_uint_eq(out.items[0].n_evidence, 1);
	ck_assert_int_eq(out.items[0].evidence[0], 3770);
	ck_assert_int_eq(fangs_finding_list_find(&out, 2), 0);
	ck_assert_int_eq(fangs_finding_list_find(&out, 3), -1);
}
END_TEST

/* The differ keeps a bounded number of evidence events per fingerprint:
 * a rule hit citing others of the same fingerprint is still the same. */
START_TEST(test_same_value_other_events)
{
	static const int64_t a[] = {10, 11, 0}, b[] = {12, 0}, c[] = {20, 0};
	rec("fs_new_path_write", FANGS_SEV_MEDIUM, "~/.bashrc", a);
	rec("rule:persistence-shell-startup", FANGS_SEV_CRITICAL, "~/.bashrc", b);
	/* two deviations alike are two fingerprints: never merged by value */
	rec("fs_new_path_read", FANGS_SEV_LOW, "/etc/passwd", c);
	rec("fs_new_path_write", FANGS_SEV_MEDIUM, "/etc/passwd", NULL)->actor = FANGS_ACTOR_IMPORT;
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 3);
	ck_assert_int_eq(out.items[0].severity, FANGS_SEV_CRITICAL);
	ck_assert_uint_eq(out.items[0].n_labels, 2);
	ck_assert_uint_eq(out.items[0].n_evidence, 3);
	ck_assert_str_eq(out.items[1].kind, "fs_new_path_write");
	ck_assert_int_eq(out.items[1].actor, FANGS_ACTOR_IMPORT);
	ck_assert_str_eq(out.items[2].kind, "fs_new_path_read");
}
END_TEST

/* One exfiltration over 21 subdomains: 21 DNS names (each a deviation and
 * a rule hit) are one finding that lists the names. */
START_TEST(test_subdomains_are_one)
{
	char names[21][64];
	for (int i = 0; i < 21; i++) {
		int64_t ids[2] = {100 + i, 0};
		fangs_event *ev = event(100 + i, FANGS_EV_DNS_QUERY);
		snprintf(names[i], sizeof(names[i]), "c%02d.Exfil.Evil.example.", i);
		ev->qname = strdup(names[i]);
		ev->addr = strdup("127.0.0.53"); /* the resolver: no part of the name */
		snprintf(names[i], sizeof(names[i]), "c%02d.exfil.evil.example", i);
		rec("net_new_dns", FANGS_SEV_MEDIUM, names[i], ids);
	}
	for (int i = 0; i < 21; i++) {
		int64_t ids[2] = {100 + i, 0};
		rec("rule:script-network-not-registry", FANGS_SEV_HIGH, names[i], ids);
	}
	{
		/* a run-level rule on the lot: its summary is no name */
		static const int64_t some[] = {100, 101, 102, 0};
		rec("rule:dns-many-subdomains", FANGS_SEV_HIGH, "evil.example (21 names)", some);
	}
	ck_assert_int_eq(group(1), 0);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_uint_eq(out.n_deviations, 21);
	ck_assert_uint_eq(out.n_rule_hits, 22);
	ck_assert_int_eq(out.items[0].network, 1);
	ck_assert_int_eq(out.items[0].severity, FANGS_SEV_HIGH);
	ck_assert_str_eq(out.items[0].domain, "evil.example");
	ck_assert_str_eq(out.items[0].value, "evil.example");
	ck_assert_uint_eq(out.items[0].n_values, 21);
	for (int i = 0; i < 21; i++)
		ck_assert_msg(has(out.items[0].values, 21, names[i]), "%s not listed", names[i]);
	ck_assert_uint_eq(out.items[0].n_labels, 3);
	ck_assert_uint_eq(out.items[0].n_records, 43);
	ck_assert_uint_eq(out.items[0].n_evidence, 21);
	fangs_finding_list_free(&out);
	/* the same without the events: the deviations' kinds say it */
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_str_eq(out.items[0].domain, "evil.example");
}
END_TEST

START_TEST(test_two_domains_are_two)
{
	static const int64_t a[] = {1, 0}, b[] = {2, 0}, c[] = {3, 0};
	rec("net_new_dns", FANGS_SEV_MEDIUM, "a.evil.example", a);
	rec("net_new_https_host", FANGS_SEV_HIGH, "cdn.other.example", b);
	rec("net_new_dns", FANGS_SEV_MEDIUM, "b.evil.example", c);
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_str_eq(out.items[0].domain, "other.example");
	ck_assert_str_eq(out.items[0].value, "cdn.other.example");
	ck_assert_str_eq(out.items[1].domain, "evil.example");
	ck_assert_uint_eq(out.items[1].n_values, 2);
	ck_assert_str_eq(out.items[1].kind, "net_new_dns");
	ck_assert_uint_eq(out.items[1].n_labels, 1);
}
END_TEST

/* co.uk is a public suffix: evil.co.uk and other.co.uk are two owners. */
START_TEST(test_public_suffixes)
{
	static const int64_t a[] = {1, 0}, b[] = {2, 0}, c[] = {3, 0};
	char dom[256];
	rec("net_new_dns", FANGS_SEV_MEDIUM, "a.evil.co.uk", a);
	rec("net_new_dns", FANGS_SEV_MEDIUM, "x.y.evil.co.uk", b);
	rec("net_new_dns", FANGS_SEV_MEDIUM, "b.other.co.uk", c);
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_str_eq(out.items[0].domain, "evil.co.uk");
	ck_assert_uint_eq(out.items[0].n_values, 2);
	ck_assert_str_eq(out.items[1].domain, "other.co.uk");
	ck_assert_str_eq(out.items[1].value, "b.other.co.uk");

	ck_assert_int_eq(fangs_registrable_domain("A.B.Evil.CO.UK.", NULL, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "evil.co.uk");
	ck_assert_int_eq(fangs_registrable_domain("x.exfil.evil.invalid", NULL, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "evil.invalid");
	ck_assert_int_eq(fangs_registrable_domain("foo.s3.amazonaws.com", NULL, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "foo.s3.amazonaws.com");
	ck_assert_int_eq(fangs_registrable_domain("co.uk", NULL, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "co.uk");
	ck_assert_int_eq(fangs_registrable_domain("localhost", NULL, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "localhost");
	ck_assert_int_eq(fangs_registrable_domain("203.0.113.7", NULL, dom, sizeof(dom)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_registrable_domain("[2001:db8::1]", NULL, dom, sizeof(dom)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_registrable_domain("", NULL, dom, sizeof(dom)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_registrable_domain("a.evil.co.uk", NULL, dom, 5), FANGS_EINVAL);
	/* no list: the last two labels */
	ck_assert_int_eq(fangs_registrable_domain("a.evil.co.uk", "", dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "co.uk");
	ck_assert_int_eq(fangs_registrable_domain("a.evil.co.uk", "/nonexistent/psl.dat", dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "co.uk");
}
END_TEST

/* Wildcards and exceptions, from a list of our own. */
START_TEST(test_wildcards_and_exceptions)
{
	char path[] = "/tmp/fangs-psl-XXXXXX", dom[256];
	static const char list[] = "// comment\n\nuk\nco.uk\n*.ck\n!www.ck\n\n// ===BEGIN PRIVATE DOMAINS===\n"
				   "Blogspot.COM  trailing words\n";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, list, sizeof(list) - 1), (ssize_t)sizeof(list) - 1);
	close(fd);
	ck_assert_int_eq(fangs_registrable_domain("a.b.foo.ck", path, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "b.foo.ck");
	ck_assert_int_eq(fangs_registrable_domain("a.www.ck", path, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "www.ck");
	ck_assert_int_eq(fangs_registrable_domain("x.me.blogspot.com", path, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "me.blogspot.com");
	ck_assert_int_eq(fangs_registrable_domain("x.evil.co.uk", path, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "evil.co.uk");
	/* no rule: the last label is the suffix */
	ck_assert_int_eq(fangs_registrable_domain("x.evil.example", path, dom, sizeof(dom)), 0);
	ck_assert_str_eq(dom, "evil.example");
	unlink(path);
}
END_TEST

/* A connection joins the name its TLS handshake gave; without the events
 * it cannot be told. Ports of one address are one finding. */
START_TEST(test_connections)
{
	static const int64_t sni[] = {5, 0}, conn[] = {4, 0}, p1[] = {7, 0}, p2[] = {8, 0};
	fangs_event *ev = event(4, FANGS_EV_NET_CONNECT);
	ev->addr = strdup("::ffff:203.0.113.10");
	ev->family = FANGS_FAMILY_IPV6;
	ev = event(5, FANGS_EV_TLS_SNI);
	ev->sni = strdup("c2.evil.example");
	ev->addr = strdup("203.0.113.10");
	ev->family = FANGS_FAMILY_IPV4;
	rec("net_new_https_host", FANGS_SEV_HIGH, "c2.evil.example", sni);
	rec("net_new_destination", FANGS_SEV_HIGH, "203.0.113.10:443/tcp", conn);
	rec("rule:script-network-not-registry", FANGS_SEV_HIGH, "203.0.113.10:443/tcp", conn);
	rec("net_new_destination", FANGS_SEV_HIGH, "[2001:db8::1]:8443/tcp", p1);
	rec("net_new_destination", FANGS_SEV_HIGH, "[2001:db8::1]:8444/tcp", p2);
	ck_assert_int_eq(group(1), 0);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_str_eq(out.items[0].domain, "evil.example");
	ck_assert_str_eq(out.items[0].value, "evil.example");
	ck_assert_uint_eq(out.items[0].n_values, 2);
	ck_assert_uint_eq(out.items[0].n_labels, 3);
	ck_assert_ptr_null(out.items[1].domain);
	ck_assert_str_eq(out.items[1].value, "2001:db8::1");
	ck_assert_uint_eq(out.items[1].n_values, 2);
	fangs_finding_list_free(&out);
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 3);
}
END_TEST

/* Two names served from one address (a CDN) are two owners: the address
 * ties a connection to a name only when one name went there. */
START_TEST(test_shared_address_keeps_domains_apart)
{
	static const int64_t s1[] = {1, 0}, s2[] = {2, 0}, c[] = {3, 0};
	fangs_event *ev = event(1, FANGS_EV_TLS_SNI);
	ev->sni = strdup("a.evil.example");
	ev->addr = strdup("192.0.2.80");
	ev->family = FANGS_FAMILY_IPV4;
	ev = event(2, FANGS_EV_TLS_SNI);
	ev->sni = strdup("b.other.example");
	ev->addr = strdup("192.0.2.80");
	ev->family = FANGS_FAMILY_IPV4;
	ev = event(3, FANGS_EV_NET_CONNECT);
	ev->addr = strdup("192.0.2.80");
	ev->family = FANGS_FAMILY_IPV4;
	rec("net_new_https_host", FANGS_SEV_HIGH, "a.evil.example", s1);
	rec("net_new_https_host", FANGS_SEV_HIGH, "b.other.example", s2);
	rec("net_new_destination", FANGS_SEV_HIGH, "192.0.2.80:443/tcp", c);
	ck_assert_int_eq(group(1), 0);
	ck_assert_uint_eq(out.count, 3);
}
END_TEST

/* What a release ships stays its own finding, whatever cites its events;
 * nothing at all groups to nothing. */
START_TEST(test_content_and_empty)
{
	static const int64_t a[] = {1, 2, 0}, b[] = {2, 0};
	fangs_findings_options bad = FANGS_FINDINGS_OPTIONS_INIT;
	rec("content_changed", FANGS_SEV_INFO, "node_modules/banner", a);
	rec("rule:binary-dropped", FANGS_SEV_HIGH, "node_modules/banner/x", b);
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_str_eq(out.items[0].kind, "rule:binary-dropped");
	ck_assert_str_eq(out.items[1].kind, "content_changed");
	fangs_finding_list_free(&out);
	for (size_t i = 0; i < recs.count; i++)
		free(recs.items[i].evidence);
	recs.count = 0;
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 0);
	ck_assert_int_eq(fangs_findings_group(NULL, NULL, &out), FANGS_EINVAL);
	bad.version = FANGS_FINDINGS_OPTIONS_VERSION + 1;
	ck_assert_int_eq(fangs_findings_group(&recs, &bad, &out), FANGS_EVERSION);
}
END_TEST

/* Records as storage gives them: no evidence is a NULL array, no records
 * a NULL list (the sanitizers flag a NULL given to memcpy or qsort). */
START_TEST(test_null_arrays)
{
	fangs_deviation_list none = {0};
	fangs_deviation *d = rec("rule:sensor-blinded", FANGS_SEV_HIGH, NULL, NULL);
	free(d->evidence);
	d->evidence = NULL;
	ck_assert_int_eq(group(0), 0);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_uint_eq(out.items[0].n_evidence, 0);
	fangs_finding_list_free(&out);
	ck_assert_int_eq(fangs_findings_group(&none, NULL, &out), 0);
	ck_assert_uint_eq(out.count, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("findings");
	TCase *tc = tcase_create("group");
	SRunner *sr;
	int failed;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_deviation_and_two_rule_hits_are_one);
	tcase_add_test(tc, test_same_value_other_events);
	tcase_add_test(tc, test_subdomains_are_one);
	tcase_add_test(tc, test_two_domains_are_two);
	tcase_add_test(tc, test_public_suffixes);
	tcase_add_test(tc, test_wildcards_and_exceptions);
	tcase_add_test(tc, test_connections);
	tcase_add_test(tc, test_shared_address_keeps_domains_apart);
	tcase_add_test(tc, test_content_and_empty);
	tcase_add_test(tc, test_null_arrays);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
