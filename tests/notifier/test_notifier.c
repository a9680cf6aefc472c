/*
 * tests/notifier/test_notifier.c - delivery to real receivers on loopback:
 * HTTPS with a test CA, plain http, scripted answers (503, 400, 429 with
 * Retry-After), an untrusted certificate, and a notifier restarted in the
 * middle of its retries.
 */
#include <check.h>
#include <gnutls/crypto.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#include "notifier/internal.h"
#include "receiver.h"

#define SECRET "s3cr3t-for-tests"

#define OK(call) \
	do { \
		int ok_rc_ = (call); \
		ck_assert_msg(ok_rc_ == 0, "%s -> %d: %s", #call, ok_rc_, fangs_error_last()); \
	} while (0)

/* ---- fixture: a database with one run and its findings, a CA ---- */

static char db_path[64];
static test_pki pki;
static char *ca_file;
static fangs_storage *st;
static char run_id[FANGS_RUN_ID_MAX];

static char *xs(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	ck_assert(!s || d);
	return d;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void set_origin(fangs_origin *o)
{
	o->package = xs("left-pad");
	o->version = xs("1.3.1");
	o->script = xs("postinstall");
	o->command = xs("node steal.js");
}

static void add_deviation(fangs_deviation_list *devs, const char *kind, fangs_severity sev, const char *value,
			  int64_t evidence)
{
	fangs_deviation *d = fangs_deviation_list_push(devs);
	ck_assert_ptr_nonnull(d);
	d->run_id = xs(run_id);
	d->package = xs("left-pad");
	d->kind = xs(kind);
	d->severity = sev;
	d->value = xs(value);
	d->actor = FANGS_ACTOR_SCRIPT;
	set_origin(&d->origin);
	d->command = xs("node steal.js");
	d->evidence = malloc(sizeof(int64_t));
	d->evidence[0] = evidence;
	d->n_evidence = 1;
}

/* left-pad@1.3.1: a DNS query (high), a credential read (critical), an exec
 * (low, below the targets' minimum of medium). */
static void seed(void)
{
	fangs_run run = {0};
	fangs_event evs[3];
	fangs_deviation_list devs = {0};

	memset(evs, 0, sizeof(evs));
	run.package = xs("left-pad");
	run.version = xs("1.3.1");
	run.state = FANGS_RUN_SUCCEEDED;
	OK(fangs_storage_run_create(st, &run));
	snprintf(run_id, sizeof(run_id), "%s", run.id);
	fangs_run_clear(&run);

	for (int i = 0; i < 3; i++) {
		evs[i].pid = 77 + i;
		evs[i].ppid = 1;
		evs[i].ts_ns = 1000 + (uint64_t)i;
		evs[i].comm = xs("node");
		set_origin(&evs[i].origin);
	}
	evs[0].kind = FANGS_EV_DNS_QUERY;
	evs[0].qname = xs("evil.example");
	evs[0].qtype = 1;
	evs[1].kind = FANGS_EV_FILE_OPEN;
	evs[1].path = xs("/root/.npmrc");
	evs[1].flags = FANGS_OPEN_READ;
	evs[2].kind = FANGS_EV_EXEC;
	evs[2].path = xs("/bin/sh");
	OK(fangs_storage_events_append(st, run_id, evs, 3));

	add_deviation(&devs, "net_new_dns", FANGS_SEV_HIGH, "evil.example", evs[0].id);
	add_deviation(&devs, "fs_cred_read", FANGS_SEV_CRITICAL, "/root/.npmrc", evs[1].id);
	add_deviation(&devs, "proc_new_exec", FANGS_SEV_LOW, "/bin/sh", evs[2].id);
	OK(fangs_storage_deviations_put(st, devs.items, devs.count));
	fangs_deviation_list_free(&devs);
	for (int i = 0; i < 3; i++)
		fangs_event_clear(&evs[i]);
}

/* Another release of left-pad with one finding; its run id goes to `id`. */
static void add_run_with_finding(const char *version, const char *kind, char id[FANGS_RUN_ID_MAX])
{
	fangs_run run = {0};
	fangs_deviation_list devs = {0};
	fangs_deviation *d;
	run.package = xs("left-pad");
	run.version = xs(version);
	OK(fangs_storage_run_create(st, &run));
	d = fangs_deviation_list_push(&devs);
	d->run_id = xs(run.id);
	d->package = xs("left-pad");
	d->kind = xs(kind);
	d->severity = FANGS_SEV_HIGH;
	d->value = xs("x.example");
	OK(fangs_storage_deviations_put(st, devs.items, devs.count));
	snprintf(id, FANGS_RUN_ID_MAX, "%s", run.id);
	fangs_deviation_list_free(&devs);
	fangs_run_clear(&run);
}

static void setup(void)
{
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	int fd;
	snprintf(db_path, sizeof(db_path), "/tmp/fangs-notifier-XXXXXX");
	fd = mkstemp(db_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	o.sqlite_path = db_path;
	OK(fangs_storage_open(&st, &o));
	ck_assert_int_eq(test_pki_make(&pki), 0);
	ck_assert_ptr_nonnull(ca_file = test_pki_write_ca(&pki));
	setenv("FANGS_TEST_HOOK_SECRET", SECRET, 1);
	seed();
}

static void teardown(void)
{
	char p[96];
	fangs_storage_free(st);
	st = NULL;
	unlink(db_path);
	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
	if (ca_file)
		unlink(ca_file);
	free(ca_file);
	ca_file = NULL;
	test_pki_free(&pki);
}

/* ---- helpers ---- */

static void add_target(const char *name, const char *url, const char *tpl, const char *secret_env)
{
	fangs_notifier_target t = {0};
	t.name = xs(name);
	t.url = xs(url);
	t.template_name = xs(tpl);
	t.enabled = 1;
	t.min_severity = FANGS_SEV_MEDIUM;
	t.secret_env = xs(secret_env);
	OK(fangs_notifier_target_add_header(&t, "X-Team", "supply-chain"));
	OK(fangs_notifier_target_check(&t));
	OK(fangs_storage_notifier_add(st, &t));
	fangs_notifier_target_clear(&t);
}

static fangs_notifier *new_notifier(fangs_storage *handle)
{
	fangs_notifier_options o = FANGS_NOTIFIER_OPTIONS_INIT;
	fangs_notifier *n = NULL;
	o.storage = handle;
	o.public_url = "https://fangs.example/ui/";
	o.ca_file = ca_file;
	o.base_delay_ms = 100;
	o.max_delay_ms = 400;
	o.max_attempts = 4;
	o.timeout_ms = 5000;
	OK(fangs_notifier_new(&n, &o));
	return n;
}

static void history(const char *name, fangs_notification_list *out)
{
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	f.run_id = run_id;
	f.notifier = name;
	memset(out, 0, sizeof(*out));
	OK(fangs_storage_notification_list(st, &f, out));
}

/* Delivers until nothing is scheduled any more (or `ms` passed). */
static void deliver_all(fangs_notifier *n, int ms)
{
	int64_t until = now_ns() + (int64_t)ms * 1000000LL, due;
	for (;;) {
		OK(fangs_notifier_deliver_due(n, 0, NULL));
		OK(fangs_notifier_next_due(n, &due));
		if (!due || now_ns() > until)
			break;
		usleep(20000);
	}
}

/* Adds target "hook", schedules the run for it and delivers until done. */
static fangs_notifier *deliver_run_to(const char *url, const char *secret_env, int ms)
{
	fangs_notifier *n;
	add_target("hook", url, "generic", secret_env);
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	deliver_all(n, ms);
	return n;
}

static json_object *parse(const received *x)
{
	json_object *o = json_tokener_parse(x->body);
	ck_assert_msg(o && json_object_is_type(o, json_type_object), "not a JSON object: %s", x->body);
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	ck_assert_msg(json_object_object_get_ex(o, key, &v), "key '%s' missing in %s", key,
		      json_object_to_json_string(o));
	return v;
}

static const char *gets(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	ck_assert_msg(json_object_is_type(v, json_type_string), "'%s' is not a string", key);
	return json_object_get_string(v);
}

/* ---- tests ---- */

START_TEST(test_generic_signed_over_https)
{
	receiver *r = receiver_start(&pki, NULL, 0);
	fangs_notifier *n;
	fangs_notification_list h;
	fangs_notifier_stats stats;
	received x;
	json_object *o, *devs, *d0, *og, *ev;
	unsigned char mac[32];
	char hex[65];
	size_t queued = 99;
	int64_t before = now_ns();

	ck_assert_ptr_nonnull(r);
	add_target("hook", receiver_url(r), "generic", "FANGS_TEST_HOOK_SECRET");
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, &queued));
	ck_assert_uint_eq(queued, 1);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.attempted, 1);
	ck_assert_uint_eq(stats.sent, 1);
	ck_assert_uint_eq(receiver_count(r), 1);

	x = receiver_get(r, 0);
	/* the signature is HMAC-SHA256 of the exact body with the secret */
	ck_assert_int_eq(gnutls_hmac_fast(GNUTLS_MAC_SHA256, SECRET, strlen(SECRET), x.body, x.len, mac), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	ck_assert_ptr_nonnull(x.signature);
	ck_assert_str_eq(x.signature + 7, hex);
	ck_assert(strncmp(x.signature, "sha256=", 7) == 0);
	ck_assert_ptr_nonnull(x.timestamp);
	ck_assert_int_ge(atoll(x.timestamp), before / 1000000000LL);
	ck_assert_int_le(atoll(x.timestamp), now_ns() / 1000000000LL);
	ck_assert_str_eq(x.content_type, "application/json");
	ck_assert_str_eq(x.extra, "supply-chain");

	/* the documented schema */
	o = parse(&x);
	ck_assert_str_eq(gets(o, "source"), "fangs");
	ck_assert_str_eq(gets(o, "run_id"), run_id);
	ck_assert_str_eq(gets(o, "package_name"), "left-pad");
	ck_assert_str_eq(gets(o, "version"), "1.3.1");
	ck_assert_str_eq(gets(o, "max_severity"), "critical");
	ck_assert_int_eq(json_object_get_int64(get(o, "deviation_count")), 2); /* the low one is below medium */
	{
		char url[256];
		snprintf(url, sizeof(url), "https://fangs.example/ui/runs/%s", run_id);
		ck_assert_str_eq(gets(o, "url"), url);
	}
	ck_assert_int_ge(json_object_get_int64(get(o, "time_unix_nano")), before);
	ck_assert_int_le(json_object_get_int64(get(o, "time_unix_nano")), now_ns());
	ck_assert_int_eq(json_object_get_int64(get(o, "time_unix_nano")) / 1000000000LL, atoll(x.timestamp));
	devs = get(o, "deviations");
	ck_assert_uint_eq(json_object_array_length(devs), 2);
	d0 = json_object_array_get_idx(devs, 0); /* most severe first */
	ck_assert_str_eq(gets(d0, "kind"), "fs_cred_read");
	ck_assert_str_eq(gets(d0, "severity"), "critical");
	ck_assert_str_eq(gets(d0, "value"), "/root/.npmrc");
	og = get(d0, "origin");
	ck_assert_str_eq(gets(og, "package"), "left-pad");
	ck_assert_str_eq(gets(og, "version"), "1.3.1");
	ck_assert_str_eq(gets(og, "script"), "postinstall");
	ck_assert_str_eq(gets(og, "command"), "node steal.js");
	ev = get(d0, "evidence");
	ck_assert_uint_eq(json_object_array_length(ev), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(ev, 0)), "pid 78 node: open(r) /root/.npmrc");
	ck_assert_str_eq(gets(json_object_array_get_idx(devs, 1), "kind"), "net_new_dns");
	json_object_put(o);
	received_clear(&x);

	history("hook", &h);
	ck_assert_uint_eq(h.count, 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_SENT);
	ck_assert_int_eq(h.items[0].http_status, 200);
	ck_assert_int_eq(h.items[0].attempt, 1);
	ck_assert_ptr_null(h.items[0].error);
	fangs_notification_list_free(&h);

	/* one message per run and target, however often it is enqueued */
	OK(fangs_notifier_enqueue_run(n, run_id, &queued));
	ck_assert_uint_eq(queued, 0);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.attempted, 0);
	ck_assert_uint_eq(receiver_count(r), 1);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_min_severity_and_disabled)
{
	receiver *r = receiver_start(NULL, NULL, 0);
	fangs_notifier_target t = {0};
	fangs_notifier *n;
	size_t queued;

	t.name = xs("critical-only");
	t.url = xs(receiver_url(r));
	t.template_name = xs("generic");
	t.enabled = 1;
	t.min_severity = FANGS_SEV_CRITICAL;
	OK(fangs_storage_notifier_add(st, &t));
	fangs_notifier_target_clear(&t);
	t.name = xs("off");
	t.url = xs(receiver_url(r));
	t.template_name = xs("generic");
	t.enabled = 0;
	OK(fangs_storage_notifier_add(st, &t));
	fangs_notifier_target_clear(&t);
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, &queued));
	ck_assert_uint_eq(queued, 1); /* not the disabled one */
	deliver_all(n, 3000);
	ck_assert_uint_eq(receiver_count(r), 1);
	{
		received x = receiver_get(r, 0);
		json_object *o = parse(&x);
		ck_assert_int_eq(json_object_get_int64(get(o, "deviation_count")), 1);
		ck_assert_str_eq(gets(json_object_array_get_idx(get(o, "deviations"), 0), "kind"), "fs_cred_read");
		ck_assert_ptr_null(x.signature); /* no secret_env: unsigned */
		ck_assert_ptr_nonnull(x.timestamp);
		json_object_put(o);
		received_clear(&x);
	}
	/* a run with nothing at or above the minimum: no message */
	{
		char other[FANGS_RUN_ID_MAX];
		add_run_with_finding("1.3.2", "proc_new_exec", other);
		OK(fangs_notifier_enqueue_run(n, other, &queued));
		ck_assert_uint_eq(queued, 0);
	}
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_slack_and_discord)
{
	receiver *r = receiver_start(NULL, NULL, 0);
	fangs_notifier *n;
	fangs_notifier_stats stats;
	received x;
	json_object *o, *blocks, *embed;
	const char *text;

	add_target("slack", receiver_url(r), "slack", NULL);
	add_target("zdiscord", receiver_url(r), "discord", NULL);
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.sent, 2);
	ck_assert_uint_eq(receiver_count(r), 2);

	/* enqueued in target-name order: slack first */
	x = receiver_get(r, 0);
	ck_assert_ptr_null(x.signature); /* chat messages carry no HMAC */
	o = parse(&x);
	ck_assert_ptr_nonnull(strstr(gets(o, "text"), "left-pad@1.3.1"));
	blocks = get(o, "blocks");
	ck_assert_uint_eq(json_object_array_length(blocks), 2);
	text = gets(get(json_object_array_get_idx(blocks, 1), "text"), "text");
	ck_assert_ptr_nonnull(strstr(text, "*critical* `fs_cred_read` `/root/.npmrc`"));
	ck_assert_ptr_nonnull(strstr(text, "by `postinstall` of `left-pad@1.3.1`: `node steal.js`"));
	ck_assert_ptr_nonnull(strstr(text, "`net_new_dns` `evil.example`"));
	ck_assert_ptr_nonnull(strstr(text, "<https://fangs.example/ui/runs/"));
	ck_assert_ptr_null(strstr(text, "proc_new_exec"));
	json_object_put(o);
	received_clear(&x);

	x = receiver_get(r, 1);
	o = parse(&x);
	ck_assert_ptr_nonnull(strstr(gets(o, "content"), "`left-pad@1.3.1`"));
	ck_assert_uint_eq(json_object_array_length(get(get(o, "allowed_mentions"), "parse")), 0);
	embed = json_object_array_get_idx(get(o, "embeds"), 0);
	ck_assert_str_eq(gets(embed, "title"), "left-pad@1.3.1: new behaviour");
	ck_assert_ptr_nonnull(strstr(gets(embed, "url"), "https://fangs.example/ui/runs/"));
	text = gets(embed, "description");
	ck_assert_ptr_nonnull(strstr(text, "**critical** `fs_cred_read` `/root/.npmrc`"));
	ck_assert_ptr_nonnull(strstr(text, "by `postinstall` of `left-pad@1.3.1`: `node steal.js`"));
	ck_assert_int_eq(json_object_get_int(get(embed, "color")), 0xe74c3c);
	json_object_put(o);
	received_clear(&x);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_chat_escapes_package_strings)
{
	static const char payload[] =
		"{\"source\":\"fangs\",\"run_id\":\"r1\",\"package_name\":\"<!channel>\",\"version\":\"1\","
		"\"max_severity\":\"high\",\"deviation_count\":1,\"deviations\":[{\"kind\":\"net_new_dns\","
		"\"severity\":\"high\",\"value\":\"a`@everyone`<b>&\",\"origin\":{\"package\":null}}]}";
	char *out = NULL;
	json_object *o;
	const char *text;

	OK(fangs__notify_render(FANGS_NOTIFIER_SLACK, payload, 1, &out));
	o = json_tokener_parse(out);
	text = json_object_get_string(json_object_object_get(
		json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "blocks"), 1), "text"),
		"text"));
	ck_assert_ptr_nonnull(strstr(text, "`a'@everyone'&lt;b&gt;&amp;`"));
	ck_assert_ptr_nonnull(strstr(text, "by npm itself"));
	ck_assert_ptr_null(strstr(json_object_get_string(json_object_object_get(o, "text")), "<!channel>"));
	json_object_put(o);
	free(out);
	OK(fangs__notify_render(FANGS_NOTIFIER_DISCORD, payload, 1, &out));
	ck_assert_ptr_null(strstr(out, "`@everyone`"));
	free(out);
	ck_assert_int_eq(fangs__notify_render(FANGS_NOTIFIER_GENERIC, "[1]", 1, &out), FANGS_EPARSE);
}
END_TEST

/* Many long findings: the texts stay within what Slack (3000 per
 * section) and Discord (4096 per description) accept. */
START_TEST(test_chat_within_service_limits)
{
	json_object *p = json_object_new_object(), *devs = json_object_new_array(), *o, *blocks;
	char long_value[400], *out = NULL;
	const char *desc;

	memset(long_value, '<', sizeof(long_value) - 1); /* escaping makes it longer still */
	long_value[sizeof(long_value) - 1] = '\0';
	json_object_object_add(p, "run_id", json_object_new_string("r1"));
	json_object_object_add(p, "package_name", json_object_new_string("big"));
	json_object_object_add(p, "version", json_object_new_string("1.0.0"));
	json_object_object_add(p, "max_severity", json_object_new_string("high"));
	json_object_object_add(p, "deviation_count", json_object_new_int(40));
	json_object_object_add(p, "url", json_object_new_string("https://fangs.example/runs/r1"));
	for (int i = 0; i < 25; i++) {
		json_object *d = json_object_new_object(), *og = json_object_new_object();
		json_object_object_add(d, "kind", json_object_new_string("proc_new_exec"));
		json_object_object_add(d, "severity", json_object_new_string("high"));
		json_object_object_add(d, "value", json_object_new_string(long_value));
		json_object_object_add(og, "package", json_object_new_string("big"));
		json_object_object_add(og, "script", json_object_new_string("install"));
		json_object_object_add(og, "command", json_object_new_string(long_value));
		json_object_object_add(d, "origin", og);
		json_object_array_add(devs, d);
	}
	json_object_object_add(p, "deviations", devs);

	OK(fangs__notify_render(FANGS_NOTIFIER_SLACK, json_object_to_json_string(p), 1, &out));
	o = json_tokener_parse(out);
	blocks = json_object_object_get(o, "blocks");
	for (size_t i = 0; i < json_object_array_length(blocks); i++) {
		const char *t = json_object_get_string(json_object_object_get(
			json_object_object_get(json_object_array_get_idx(blocks, i), "text"), "text"));
		ck_assert_uint_lt(strlen(t), 3000);
	}
	desc = json_object_get_string(
		json_object_object_get(json_object_object_get(json_object_array_get_idx(blocks, 1), "text"), "text"));
	ck_assert_ptr_nonnull(strstr(desc, "more"));
	ck_assert_ptr_nonnull(strstr(desc, "<https://fangs.example/runs/r1|Open run r1>"));
	json_object_put(o);
	free(out);

	OK(fangs__notify_render(FANGS_NOTIFIER_DISCORD, json_object_to_json_string(p), 1, &out));
	o = json_tokener_parse(out);
	desc = json_object_get_string(json_object_object_get(
		json_object_array_get_idx(json_object_object_get(o, "embeds"), 0), "description"));
	ck_assert_uint_lt(strlen(desc), 4096);
	ck_assert_ptr_nonnull(strstr(desc, "more"));
	ck_assert_uint_lt(strlen(json_object_get_string(json_object_object_get(o, "content"))), 2000);
	json_object_put(o);
	free(out);
	json_object_put(p);
}
END_TEST

START_TEST(test_503_twice_then_200)
{
	static const answer script[] = {{503, NULL, "busy"}, {503, NULL, "busy"}, {200, NULL, "ok"}};
	receiver *r = receiver_start(&pki, script, 3);
	fangs_notifier *n;
	fangs_notification_list h;

	n = deliver_run_to(receiver_url(r), "FANGS_TEST_HOOK_SECRET", 5000);
	ck_assert_uint_eq(receiver_count(r), 3);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(h.items[i].attempt, i + 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_RETRY);
	ck_assert_int_eq(h.items[0].http_status, 503);
	ck_assert_ptr_nonnull(strstr(h.items[0].error, "503"));
	ck_assert_int_eq(h.items[1].status, FANGS_NOTIFICATION_RETRY);
	ck_assert_int_eq(h.items[2].status, FANGS_NOTIFICATION_SENT);
	ck_assert_int_eq(h.items[2].http_status, 200);
	/* backoff: the second attempt waited at least half the base delay */
	ck_assert_int_ge(h.items[1].created_ns - h.items[0].created_ns, 50 * 1000000LL);
	fangs_notification_list_free(&h);
	{
		/* every attempt is signed afresh, with its own time */
		received a = receiver_get(r, 0), b = receiver_get(r, 2);
		ck_assert_str_ne(a.signature, b.signature);
		received_clear(&a);
		received_clear(&b);
	}
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_400_fails_at_once)
{
	static const answer script[] = {{400, NULL, "bad request: no such channel"}};
	receiver *r = receiver_start(&pki, script, 1);
	fangs_notifier *n;
	fangs_notification_list h;
	int64_t due = -1;

	n = deliver_run_to(receiver_url(r), NULL, 3000);
	ck_assert_uint_eq(receiver_count(r), 1);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_FAILED);
	ck_assert_int_eq(h.items[0].http_status, 400);
	ck_assert_ptr_nonnull(strstr(h.items[0].error, "not retried"));
	fangs_notification_list_free(&h);
	OK(fangs_notifier_next_due(n, &due));
	ck_assert_int_eq(due, 0);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_gives_up_after_max_attempts)
{
	static const answer script[] = {{500, NULL, ""}, {502, NULL, ""}, {503, NULL, ""}, {504, NULL, ""}};
	receiver *r = receiver_start(NULL, script, 4);
	fangs_notifier *n;
	fangs_notification_list h;

	n = deliver_run_to(receiver_url(r), NULL, 8000);
	ck_assert_uint_eq(receiver_count(r), 4);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 4);
	ck_assert_int_eq(h.items[3].status, FANGS_NOTIFICATION_FAILED);
	ck_assert_int_eq(h.items[3].http_status, 504);
	ck_assert_ptr_nonnull(strstr(h.items[3].error, "gave up after 4 attempts"));
	fangs_notification_list_free(&h);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_429_retry_after_honoured)
{
	static const answer script[] = {{429, "2", "slow down"}, {200, NULL, "ok"}};
	receiver *r = receiver_start(NULL, script, 2);
	fangs_notifier *n;
	fangs_notification_list h;
	fangs_notifier_stats stats;
	int64_t due = 0;
	received a, b;

	add_target("hook", receiver_url(r), "generic", NULL);
	n = new_notifier(st); /* base delay 100 ms, max 400 ms: only Retry-After can make it 2 s */
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.retrying, 1);
	a = receiver_get(r, 0);
	OK(fangs_notifier_next_due(n, &due));
	ck_assert_int_ge(due, a.at_ns + 1900 * 1000000LL);
	/* not sent before it is due */
	usleep(500000);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.attempted, 0);
	deliver_all(n, 5000);
	ck_assert_uint_eq(receiver_count(r), 2);
	b = receiver_get(r, 1);
	ck_assert_int_ge(b.at_ns - a.at_ns, 1900 * 1000000LL);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 2);
	ck_assert_int_eq(h.items[0].http_status, 429);
	ck_assert_int_eq(h.items[1].status, FANGS_NOTIFICATION_SENT);
	fangs_notification_list_free(&h);
	received_clear(&a);
	received_clear(&b);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_retry_after_forms)
{
	int64_t now = 1700000000LL * 1000000000LL;
	ck_assert_int_eq(fangs__retry_after_parse("120", now), now + 120 * 1000000000LL);
	ck_assert_int_eq(fangs__retry_after_parse(" 0\r\n", now), now);
	/* Tue, 14 Nov 2023 22:13:20 GMT = 1700000000 */
	ck_assert_int_eq(fangs__retry_after_parse("Tue, 14 Nov 2023 22:15:00 GMT", now),
			 (1700000000LL + 100) * 1000000000LL);
	ck_assert_int_eq(fangs__retry_after_parse("soon", now), 0);
	ck_assert_int_eq(fangs__retry_after_parse("12abc", now), 0);
	ck_assert_int_eq(fangs__retry_after_parse("", now), 0);
	ck_assert_int_eq(fangs__retry_after_parse("999999999", now), now + 86400LL * 1000000000LL);
}
END_TEST

START_TEST(test_untrusted_certificate_refused)
{
	test_pki other;
	receiver *r;
	fangs_notifier *n;
	fangs_notification_list h;

	/* a server whose certificate a different CA signed */
	ck_assert_int_eq(test_pki_make(&other), 0);
	r = receiver_start(&other, NULL, 0);
	n = deliver_run_to(receiver_url(r), NULL, 3000);
	ck_assert_uint_eq(receiver_count(r), 0);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_FAILED);
	ck_assert_int_eq(h.items[0].http_status, 0);
	ck_assert_msg(strstr(h.items[0].error, "certificate"), "error: %s", h.items[0].error);
	ck_assert_ptr_nonnull(strstr(h.items[0].error, "not retried"));
	fangs_notification_list_free(&h);
	fangs_notifier_free(n);
	receiver_stop(r);
	test_pki_free(&other);
}
END_TEST

START_TEST(test_url_rules)
{
	static const char *const good[] = {"https://hooks.slack.com/services/T/B/x",
					   "https://[2001:db8::1]:8443/h",
					   "http://127.0.0.1:8080/hook",
					   "http://127.9.9.9/",
					   "http://localhost/x",
					   "http://LOCALHOST:1/",
					   "http://[::1]:9000/h"};
	static const char *const bad[] = {"http://example.com/hook",
					  "http://10.0.0.1/",
					  "http://[2001:db8::1]/",
					  "http://127.0.0.1.example.com/",
					  "http://localhost.example/",
					  "ftp://127.0.0.1/",
					  "https://",
					  "hooks.example/x",
					  "",
					  "https://a b/"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(fangs_notifier_url_check(good[i]) == 0, "%s: %s", good[i], fangs_error_last());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fangs_notifier_url_check(bad[i]) == FANGS_EINVAL, "%s accepted", bad[i]);
	ck_assert_int_eq(fangs_notifier_url_check("http://example.com/hook"), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "only allowed to loopback"));
	ck_assert_int_eq(fangs_notifier_header_check("X-FANGS-Signature", "x"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_notifier_header_check("X-Ok", "a\r\nInjected: 1"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_notifier_header_check("Bad Name", "v"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_notifier_header_check("Authorization", "Bearer x"), 0);
}
END_TEST

START_TEST(test_restart_mid_retry)
{
	static const answer script[] = {{503, NULL, ""}, {200, NULL, "ok"}};
	receiver *r = receiver_start(&pki, script, 2);
	fangs_notifier *n;
	fangs_storage *st2;
	fangs_storage_options o = FANGS_STORAGE_OPTIONS_INIT;
	fangs_notifier_stats stats;
	fangs_notification_list h;

	add_target("hook", receiver_url(r), "generic", "FANGS_TEST_HOOK_SECRET");
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.retrying, 1);
	fangs_notifier_free(n);

	/* a new process: another handle on the same database, a new notifier */
	o.sqlite_path = db_path;
	OK(fangs_storage_open(&st2, &o));
	n = new_notifier(st2);
	deliver_all(n, 5000);
	fangs_notifier_free(n);
	fangs_storage_free(st2);
	ck_assert_uint_eq(receiver_count(r), 2);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 2);
	ck_assert_int_eq(h.items[1].status, FANGS_NOTIFICATION_SENT);
	ck_assert_int_eq(h.items[1].attempt, 2);
	fangs_notification_list_free(&h);
	receiver_stop(r);
}
END_TEST

START_TEST(test_sender_died_mid_attempt)
{
	receiver *r = receiver_start(NULL, NULL, 0);
	fangs_notifier *n;
	fangs_notification_list due = {0}, h;
	fangs_notifier_stats stats;

	add_target("hook", receiver_url(r), "generic", NULL);
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	/* another sender claims the attempt and dies: its lease runs out */
	OK(fangs_storage_notification_due(st, now_ns(), 0, &due));
	ck_assert_uint_eq(due.count, 1);
	OK(fangs_storage_notification_claim(st, due.items[0].id, due.items[0].status, due.items[0].next_attempt_ns,
					    now_ns() + 300 * 1000000LL));
	fangs_notification_list_free(&due);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.attempted, 0); /* still leased */
	usleep(350000);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.sent, 1);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_SENT);
	fangs_notification_list_free(&h);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_missing_secret_is_retried)
{
	receiver *r = receiver_start(NULL, NULL, 0);
	fangs_notifier *n;
	fangs_notifier_stats stats;
	fangs_notification_list h;

	unsetenv("FANGS_TEST_UNSET_SECRET");
	add_target("hook", receiver_url(r), "generic", "FANGS_TEST_UNSET_SECRET");
	n = new_notifier(st);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.retrying, 1);
	ck_assert_uint_eq(receiver_count(r), 0); /* never sent unsigned */
	history("hook", &h);
	ck_assert_ptr_nonnull(strstr(h.items[0].error, "FANGS_TEST_UNSET_SECRET"));
	fangs_notification_list_free(&h);
	/* set it, as a restarted service would have it: the retry goes out signed */
	setenv("FANGS_TEST_UNSET_SECRET", "later", 1);
	deliver_all(n, 3000);
	ck_assert_uint_eq(receiver_count(r), 1);
	{
		received x = receiver_get(r, 0);
		char sig[FANGS_NOTIFIER_SIGNATURE_SIZE];
		OK(fangs_notifier_sign("later", 5, x.body, x.len, sig));
		ck_assert_str_eq(x.signature, sig);
		received_clear(&x);
	}
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_worker_thread)
{
	receiver *r = receiver_start(&pki, NULL, 0);
	fangs_storage_options so = FANGS_STORAGE_OPTIONS_INIT;
	fangs_notifier_options o = FANGS_NOTIFIER_OPTIONS_INIT;
	fangs_notifier *n = NULL;
	fangs_notification_list h;

	add_target("hook", receiver_url(r), "generic", "FANGS_TEST_HOOK_SECRET");
	so.sqlite_path = db_path;
	o.storage_options = &so;
	o.ca_file = ca_file;
	OK(fangs_notifier_new(&n, &o));
	OK(fangs_notifier_start(n));
	ck_assert_int_eq(fangs_notifier_start(n), FANGS_EBUSY);
	OK(fangs_notifier_enqueue_run(n, run_id, NULL));
	ck_assert_uint_eq(receiver_wait(r, 1, 5000), 1);
	OK(fangs_notifier_stop(n));
	OK(fangs_notifier_stop(n));
	fangs_notifier_free(n);
	history("hook", &h);
	ck_assert_uint_eq(h.count, 1);
	ck_assert_int_eq(h.items[0].status, FANGS_NOTIFICATION_SENT);
	fangs_notification_list_free(&h);

	/* a borrowed handle cannot be shared with a thread */
	n = new_notifier(st);
	ck_assert_int_eq(fangs_notifier_start(n), FANGS_EINVAL);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_send_test_shows_answer)
{
	static const answer script[] = {{201, NULL, "{\"accepted\":true}"}, {500, NULL, "receiver broke"}};
	receiver *r = receiver_start(&pki, script, 2);
	fangs_notifier *n;
	fangs_notifier_result res;
	fangs_notification_list h;

	add_target("hook", receiver_url(r), "generic", "FANGS_TEST_HOOK_SECRET");
	n = new_notifier(st);
	OK(fangs_notifier_send_test(n, "hook", &res));
	ck_assert_int_eq(res.http_status, 201);
	ck_assert_str_eq(res.body, "{\"accepted\":true}");
	ck_assert_ptr_null(res.error);
	ck_assert_ptr_nonnull(strstr(res.request, "\"test\":true"));
	fangs_notifier_result_clear(&res);
	ck_assert_int_eq(fangs_notifier_send_test(n, "hook", &res), FANGS_ENETWORK);
	ck_assert_int_eq(res.http_status, 500);
	ck_assert_str_eq(res.body, "receiver broke");
	fangs_notifier_result_clear(&res);
	ck_assert_int_eq(fangs_notifier_send_test(n, "nope", &res), FANGS_ENOTFOUND);
	/* tests are not part of the history */
	history(NULL, &h);
	ck_assert_uint_eq(h.count, 0);
	fangs_notification_list_free(&h);
	{
		received x = receiver_get(r, 0);
		char sig[FANGS_NOTIFIER_SIGNATURE_SIZE];
		OK(fangs_notifier_sign(SECRET, strlen(SECRET), x.body, x.len, sig));
		ck_assert_str_eq(x.signature, sig);
		received_clear(&x);
	}
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

START_TEST(test_config_keys)
{
	static const char yaml[] = "notifier:\n"
				   "  public_url: https://fangs.example/\n"
				   "  ca_file: /etc/fangs/ca.pem\n"
				   "  max_attempts: 5\n"
				   "  retry_base_ms: 250\n"
				   "  timeout_ms: 3000\n";
	fangs_config *cfg = NULL;
	OK(fangs_config_load_string(&cfg, yaml, strlen(yaml), "t.yaml"));
	ck_assert_str_eq(cfg->notifier_public_url, "https://fangs.example/");
	ck_assert_str_eq(cfg->notifier_ca_file, "/etc/fangs/ca.pem");
	ck_assert_uint_eq(cfg->notifier_max_attempts, 5);
	ck_assert_uint_eq(cfg->notifier_retry_base_ms, 250);
	ck_assert_uint_eq(cfg->notifier_timeout_ms, 3000);
	fangs_config_free(cfg);
	ck_assert_int_eq(fangs_config_load_string(&cfg, "notifier: {retries: 3}\n", 23, "t.yaml"), FANGS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "t.yaml:1: retries"));
	ck_assert_int_eq(fangs_config_load_string(&cfg, "notifier: {public_url: x}\n", 26, "t.yaml"), FANGS_ECONFIG);
	ck_assert_int_eq(fangs_config_load_string(&cfg, "notifier: {max_attempts: 0}\n", 28, "t.yaml"), FANGS_ECONFIG);
}
END_TEST

START_TEST(test_more_due_than_one_batch)
{
	receiver *r = receiver_start(NULL, NULL, 0);
	fangs_notifier *n;
	fangs_notifier_stats stats;
	size_t queued, total = 0;
	const int runs = 70; /* more than one storage batch */

	add_target("hook", receiver_url(r), "generic", NULL);
	n = new_notifier(st);
	for (int i = 0; i < runs; i++) {
		char ver[16], id[FANGS_RUN_ID_MAX];
		snprintf(ver, sizeof(ver), "2.0.%d", i);
		add_run_with_finding(ver, "net_new_dns", id);
		OK(fangs_notifier_enqueue_run(n, id, &queued));
		total += queued;
	}
	ck_assert_uint_eq(total, (size_t)runs);
	OK(fangs_notifier_deliver_due(n, 0, &stats));
	ck_assert_uint_eq(stats.sent, (size_t)runs);
	ck_assert_uint_eq(receiver_count(r), (size_t)runs);
	fangs_notifier_free(n);
	receiver_stop(r);
}
END_TEST

static Suite *notifier_suite(void)
{
	Suite *s = suite_create("notifier");
	TCase *c = tcase_create("delivery");
	TCase *u = tcase_create("rules");

	tcase_set_timeout(c, 60);
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_generic_signed_over_https);
	tcase_add_test(c, test_min_severity_and_disabled);
	tcase_add_test(c, test_slack_and_discord);
	tcase_add_test(c, test_503_twice_then_200);
	tcase_add_test(c, test_400_fails_at_once);
	tcase_add_test(c, test_gives_up_after_max_attempts);
	tcase_add_test(c, test_429_retry_after_honoured);
	tcase_add_test(c, test_untrusted_certificate_refused);
	tcase_add_test(c, test_restart_mid_retry);
	tcase_add_test(c, test_sender_died_mid_attempt);
	tcase_add_test(c, test_missing_secret_is_retried);
	tcase_add_test(c, test_worker_thread);
	tcase_add_test(c, test_send_test_shows_answer);
	tcase_add_test(c, test_more_due_than_one_batch);
	suite_add_tcase(s, c);

	tcase_add_test(u, test_url_rules);
	tcase_add_test(u, test_retry_after_forms);
	tcase_add_test(u, test_chat_escapes_package_strings);
	tcase_add_test(u, test_chat_within_service_limits);
	tcase_add_test(u, test_config_keys);
	suite_add_tcase(s, u);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notifier_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
