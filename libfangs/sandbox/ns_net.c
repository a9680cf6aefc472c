/*
 * sandbox/ns_net.c - the opt-in bridge network of the ns backend: a veth
 * pair per run with a /30 out of 10.231.0.0/16, NAT through the host. Done
 * with ip(8) and iptables(8), whose rules other tools expect to own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/fsutil.h"
#include "sandbox/ns.h"

#define IF_PREFIX "fangs"
#define SUBNETS 16384 /* /30s in 10.231.0.0/16 */
#define LIST_MAX (256 * 1024)

static int run(const char *const *argv, char *out, size_t cap)
{
	char buf[1024];
	int st = fangs__run_capture(argv, NULL, out ? out : buf, out ? cap : sizeof(buf));
	if (st < 0)
		return st;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fangs_error_set(FANGS_ESANDBOX, "%s %s failed: %s", argv[0], argv[1] ? argv[1] : "",
				       out ? out : buf);
	return 0;
}

static void quad(unsigned idx, unsigned host_part, char *out, size_t cap)
{
	unsigned addr = idx * 4 + host_part;
	snprintf(out, cap, "10.231.%u.%u", addr >> 8, addr & 255);
}

static int pick_subnet(fangs__ns_net *net, const char *run_id)
{
	const char *argv[] = {"ip", "-4", "-o", "addr", "show", NULL};
	unsigned start = (unsigned)(fangs__hash64(run_id, strlen(run_id), 0) % SUBNETS);
	char *addrs = malloc(LIST_MAX);
	int rc;
	if (!addrs)
		return fangs__error_oom();
	if ((rc = run(argv, addrs, LIST_MAX)) < 0) {
		free(addrs);
		return rc;
	}
	for (unsigned i = 0; i < SUBNETS; i++) {
		unsigned idx = (start + i) % SUBNETS;
		char probe[32];
		if (idx == 0)
			continue;
		quad(idx, 1, probe, sizeof(probe));
		strcat(probe, "/");
		if (strstr(addrs, probe))
			continue;
		quad(idx, 1, net->host_ip, sizeof(net->host_ip));
		quad(idx, 2, net->sandbox_ip, sizeof(net->sandbox_ip));
		quad(idx, 0, net->subnet, sizeof(net->subnet));
		strcat(net->subnet, "/30");
		free(addrs);
		return 0;
	}
	free(addrs);
	return fangs_error_set(FANGS_EBUSY, "no free /30 left in 10.231.0.0/16 for a bridge sandbox");
}

static int nat_rule(const fangs__ns_net *net, const char *op)
{
	const char *argv[] = {"iptables", "-w",        "-t",         "nat", op,           "POSTROUTING",
			      "-s",       net->subnet, "!",          "-o",  net->host_if, "-m",
			      "comment",  "--comment", net->comment, "-j",  "MASQUERADE", NULL};
	return run(argv, NULL, 0);
}

static int forward_rules(const fangs__ns_net *net, const char *op)
{
	const char *out[] = {"iptables", "-w",        op,           "FORWARD", "-i",     net->host_if, "-m",
			     "comment",  "--comment", net->comment, "-j",      "ACCEPT", NULL};
	const char *back[] = {"iptables",   "-w",      op,          "FORWARD",    "-o",
			      net->host_if, "-m",      "conntrack", "--ctstate",  "ESTABLISHED,RELATED",
			      "-m",         "comment", "--comment", net->comment, "-j",
			      "ACCEPT",     NULL};
	int rc = run(out, NULL, 0);
	int rc2 = run(back, NULL, 0);
	return rc < 0 ? rc : rc2;
}

/* Names derive from the run id, so that gc finds them again. */
static void names(fangs__ns_net *net, const char *run_id, char *peer, size_t cap)
{
	uint64_t h = fangs__hash64(run_id, strlen(run_id), 0x5eed);
	snprintf(net->host_if, sizeof(net->host_if), IF_PREFIX "%08x", (unsigned)h);
	snprintf(peer, cap, IF_PREFIX "p%08x", (unsigned)h);
	snprintf(net->comment, sizeof(net->comment), "fangs:%s", run_id);
}

int fangs__ns_net_up(fangs__ns_net *net, const char *run_id, int pid)
{
	char peer[16], pidbuf[16], host_cidr[32], sb_cidr[32], nsarg[64];
	int rc;

	memset(net, 0, sizeof(*net));
	names(net, run_id, peer, sizeof(peer));
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	snprintf(nsarg, sizeof(nsarg), "--net=/proc/%d/ns/net", pid);
	if ((rc = pick_subnet(net, run_id)) < 0)
		return rc;
	snprintf(host_cidr, sizeof(host_cidr), "%s/30", net->host_ip);
	snprintf(sb_cidr, sizeof(sb_cidr), "%s/30", net->sandbox_ip);

	const char *add[] = {"ip", "link", "add", net->host_if, "type", "veth", "peer", "name", peer, NULL};
	if ((rc = run(add, NULL, 0)) < 0)
		return rc;
	net->active = 1;
	const char *const cmds[][12] = {
		{"ip", "link", "set", peer, "netns", pidbuf, NULL},
		{"ip", "addr", "add", host_cidr, "dev", net->host_if, NULL},
		{"ip", "link", "set", net->host_if, "up", NULL},
		{"nsenter", nsarg, "ip", "link", "set", peer, "name", "eth0", NULL},
		{"nsenter", nsarg, "ip", "addr", "add", sb_cidr, "dev", "eth0", NULL},
		{"nsenter", nsarg, "ip", "link", "set", "eth0", "up", NULL},
		{"nsenter", nsarg, "ip", "route", "add", "default", "via", net->host_ip, NULL},
	};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(cmds); i++)
		if ((rc = run(cmds[i], NULL, 0)) < 0)
			goto fail;
	if ((rc = nat_rule(net, "-A")) < 0)
		goto fail;
	net->masquerade = 1;
	if ((rc = forward_rules(net, "-I")) < 0)
		goto fail;
	if (fangs__write_at("/proc/sys/net/ipv4", "ip_forward", "1", 0644) < 0)
		fangs_warn("cannot enable IPv4 forwarding: the bridge sandbox reaches only this host");
	return 0;
fail:
	fangs__ns_net_down(net);
	return rc;
}

void fangs__ns_net_down(fangs__ns_net *net)
{
	if (!net->active)
		return;
	if (net->masquerade) {
		nat_rule(net, "-D");
		forward_rules(net, "-D");
	}
	const char *del[] = {"ip", "link", "del", net->host_if, NULL};
	if (run(del, NULL, 0) < 0)
		fangs_debug("%s", fangs_error_last());
	net->active = 0;
}

/* Deletes every rule of `table` `chain` that carries the run's comment. */
static void gc_rules(const char *table, const char *chain, const char *comment, int *removed)
{
	const char *list[] = {"iptables", "-w", "-t", table, "-S", chain, NULL};
	char *line, *save = NULL, *rules = malloc(LIST_MAX), needle[128];
	if (!rules)
		return;
	if (run(list, rules, LIST_MAX) < 0) {
		free(rules);
		return; /* no iptables: nothing was ever added */
	}
	/* iptables -S quotes the comment */
	snprintf(needle, sizeof(needle), "--comment \"%s\"", comment);
	for (line = strtok_r(rules, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *argv[48] = {"iptables", "-w", "-t", table};
		size_t n = 4;
		char *tok, *s2 = NULL;
		if (!strstr(line, needle) || strncmp(line, "-A ", 3) != 0)
			continue;
		for (tok = strtok_r(line, " ", &s2); tok && n < FANGS_ARRAY_SIZE(argv) - 1;
		     tok = strtok_r(NULL, " ", &s2)) {
			size_t len = strlen(tok);
			if (len >= 2 && tok[0] == '"' && tok[len - 1] == '"') {
				tok[len - 1] = '\0';
				tok++;
			}
			argv[n++] = strcmp(tok, "-A") == 0 ? "-D" : tok;
		}
		argv[n] = NULL;
		if (run(argv, NULL, 0) == 0)
			(*removed)++;
	}
	free(rules);
}

int fangs__ns_net_gc(const char *run_id, int *removed)
{
	fangs__ns_net net;
	char peer[16], path[64];
	memset(&net, 0, sizeof(net));
	names(&net, run_id, peer, sizeof(peer));
	snprintf(path, sizeof(path), "/sys/class/net/%s", net.host_if);
	if (access(path, F_OK) == 0) {
		const char *del[] = {"ip", "link", "del", net.host_if, NULL};
		if (run(del, NULL, 0) == 0)
			(*removed)++;
	}
	gc_rules("nat", "POSTROUTING", net.comment, removed);
	gc_rules("filter", "FORWARD", net.comment, removed);
	return 0;
}
