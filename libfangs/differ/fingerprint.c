/*
 * differ/fingerprint.c - one event, one fingerprint.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

fangs_actor fangs_event_actor(const fangs_event *ev)
{
	if (ev && ev->phase == FANGS_PHASE_IMPORT)
		return FANGS_ACTOR_IMPORT;
	if (ev && (ev->origin.package || ev->origin.script))
		return FANGS_ACTOR_SCRIPT;
	return FANGS_ACTOR_NPM;
}

/* Appends the normalized arguments; a command line longer than
 * FANGS__CMD_MAX is cut and ends with a hash of all of it. */
/*
 * The name service's own plumbing is not a destination: glibc asks nscd over
 * its unix socket, and a lookup goes to the resolver on loopback port 53 (the
 * sandbox's own resolver). What was looked up is the dns_query's fingerprint; a
 * resolver anywhere else (a hard-coded 8.8.8.8:53) still counts.
 */
static bool resolver_plumbing(const fangs_event *ev)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (ev->family == FANGS_FAMILY_UNIX)
		return !strcmp(ev->addr, "/var/run/nscd/socket") || !strcmp(ev->addr, "/run/nscd/socket");
	if (ev->port != 53)
		return false;
	if (inet_pton(AF_INET, ev->addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, ev->addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static void put_command(const fangs__norm *ctx, const fangs_event *ev, fangs__sink *o)
{
	char small[FANGS__CMD_MAX + 1];
	char *buf = small;
	fangs__sink c;
	size_t need = 0;
	char tail[32];
	uint64_t digest = 0x636f6465; /* "code" */
	size_t runs = 0;

	for (size_t i = 1; i < ev->argc; i++)
		if (ev->argv[i])
			runs += fangs__code_digest(ev->argv[i], strlen(ev->argv[i]), &digest);
	for (int pass = 0; pass < 2; pass++) {
		fangs__sink_init(&c, buf, pass ? need + 1 : sizeof(small));
		for (size_t i = 1; i < ev->argc; i++) {
			size_t before = c.len;
			if (!ev->argv[i])
				continue;
			if (before)
				fangs__sink_putc(&c, ' ');
			fangs__norm_words(ctx, ev->argv[i], strlen(ev->argv[i]), &c);
			if (c.len == before + 1 && before) /* an empty argument */
				c.len = before;
		}
		need = fangs__sink_end(&c);
		if (need <= FANGS__CMD_MAX || pass)
			break;
		/* rare: an inline script of more than a kilobyte */
		buf = malloc(need + 1);
		if (!buf) {
			buf = small;
			break;
		}
	}
	fangs__sink_putc(o, ' ');
	if (need <= FANGS__CMD_MAX) {
		fangs__sink_put(o, buf, need);
	} else {
		fangs__sink_put(o, buf, FANGS__CMD_MAX);
		if (buf != small) {
			snprintf(tail, sizeof(tail), "...#%016llx",
				 (unsigned long long)fangs__hash64(buf, need, FANGS__CMD_MAX));
			free(buf);
		} else {
			snprintf(tail, sizeof(tail), "...#oom");
		}
		fangs__sink_puts(o, tail);
	}
	/* what the noise pass folded out of the code (<hex>, <ts>) is where
	 * an encoded payload lives: a new payload is a new fingerprint */
	if (runs) {
		snprintf(tail, sizeof(tail), " code#%012llx", (unsigned long long)(digest & 0xffffffffffffull));
		fangs__sink_puts(o, tail);
	}
}

static const char *proto_name(fangs_proto p)
{
	switch (p) {
	case FANGS_PROTO_TCP:
		return "tcp";
	case FANGS_PROTO_UDP:
		return "udp";
	case FANGS_PROTO_NONE:
		break;
	}
	return "ip";
}

static void put_endpoint(const fangs_event *ev, fangs__sink *o)
{
	unsigned char b[16];
	char txt[INET6_ADDRSTRLEN];
	char tail[16];
	int fam = fangs__parse_addr(ev->addr, b);

	if (fam && inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, txt, sizeof(txt))) {
		if (fam == 6)
			fangs__sink_putc(o, '[');
		fangs__sink_puts(o, txt);
		if (fam == 6)
			fangs__sink_putc(o, ']');
	} else {
		/* not an address: keep what the sensor saw, in one canonical case */
		fangs__norm_host(ev->addr, o);
	}
	snprintf(tail, sizeof(tail), ":%u/%s", (unsigned)ev->port, proto_name(ev->proto));
	fangs__sink_puts(o, tail);
}

/* Devices that hold nothing and lead nowhere: opening them says nothing of a
 * package (spawn with stdio 'ignore' opens /dev/null, and whether a run
 * does so varies with the backend), so they make no fingerprint. */
static bool inert_device(const char *path)
{
	static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
	if (strncmp(path, "/dev/", 5) != 0)
		return false;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(devices); i++)
		if (strcmp(path, devices[i]) == 0)
			return true;
	return false;
}

/* Requiring a package reads its files and those of its dependencies, and
 * every package.json on the way: that is what require does, and a release
 * that adds a file would otherwise show it as new. */
static bool module_read(const fangs_event *ev)
{
	/* the file reached, not the alias written: a link in node_modules to a
	 * decoy is a credential read */
	const char *file = fangs__open_path(ev), *base;
	if (ev->phase != FANGS_PHASE_IMPORT || (ev->flags & FANGS_OPEN_WRITE) || ev->decoy || !file)
		return false;
	if (strstr(file, "/node_modules/"))
		return true;
	base = strrchr(file, '/');
	return base && strcmp(base + 1, "package.json") == 0;
}

bool fangs__fp_value(const fangs__norm *ctx, const fangs_event *ev, fangs_fp_kind *kind, fangs__sink *o)
{
	const char *bin, *file;
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
		/* the file it was, not the alias written: a link swapped in for a
		 * file the baseline reads is another fingerprint */
		file = fangs__open_path(ev);
		if (!file || inert_device(file) || module_read(ev))
			return false;
		*kind = (ev->flags & FANGS_OPEN_WRITE) ? FANGS_FP_FS_WRITE : FANGS_FP_FS_READ;
		fangs__norm_path(ctx, file, strlen(file), o);
		return true;
	case FANGS_EV_EXEC:
		bin = ev->path ? ev->path : (ev->argc > 0 && ev->argv ? ev->argv[0] : NULL);
		if (!bin)
			return false;
		*kind = FANGS_FP_EXEC;
		fangs__norm_path(ctx, bin, strlen(bin), o);
		if (fangs__exec_inline_code(ev))
			put_command(ctx, ev, o);
		return true;
	case FANGS_EV_NET_CONNECT:
		if (!ev->addr || resolver_plumbing(ev))
			return false;
		*kind = FANGS_FP_NET;
		if (ev->family == FANGS_FAMILY_UNIX) {
			fangs__sink_puts(o, "unix:");
			fangs__norm_path(ctx, ev->addr, strlen(ev->addr), o);
		} else {
			put_endpoint(ev, o);
		}
		return true;
	case FANGS_EV_DNS_QUERY:
		if (!ev->qname)
			return false;
		*kind = FANGS_FP_DNS;
		fangs__norm_host(ev->qname, o);
		return true;
	case FANGS_EV_TLS_SNI:
		if (!ev->sni)
			return false;
		*kind = FANGS_FP_SNI;
		fangs__norm_host(ev->sni, o);
		return true;
	case FANGS_EV_PROXY_REQUEST:
		/* a host asked of the sandbox's proxy is a server name the
		 * package reaches, refused or not: one with the TLS names */
		if (!ev->host)
			return false;
		*kind = FANGS_FP_SNI;
		fangs__norm_host(ev->host, o);
		return true;
	case FANGS_EV_SYSCALL:
		if (!ev->op)
			return false;
		*kind = FANGS_FP_SYSCALL;
		fangs__sink_puts(o, ev->op);
		if (ev->detail) {
			fangs__sink_putc(o, ' ');
			fangs__sink_puts(o, ev->detail);
		}
		if (ev->path) {
			fangs__sink_putc(o, ' ');
			fangs__norm_path(ctx, ev->path, strlen(ev->path), o);
		}
		return true;
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_NONE:
		return false;
	}
	return false;
}

int fangs_differ_fingerprint(const fangs_differ *d, const fangs_norm_ctx *ctx, const fangs_event *ev,
			     fangs_fingerprint *out)
{
	char small[FANGS__FP_BUF];
	fangs__sink o;
	fangs_fp_kind kind = FANGS_FP_FS_READ;
	fangs__norm nz;
	size_t n;
	char *value;

	(void)d; /* fingerprints do not depend on configuration */
	if (!ev || !out)
		return fangs_error_set(FANGS_EINVAL, "fingerprint: missing event or output");
	memset(out, 0, sizeof(*out));
	fangs__norm_prepare(&nz, ctx);
	fangs__sink_init(&o, small, sizeof(small));
	if (!fangs__fp_value(&nz, ev, &kind, &o))
		return 0;
	n = fangs__sink_end(&o);
	value = malloc(n + 1);
	if (!value)
		return fangs__error_oom();
	if (n < sizeof(small)) {
		memcpy(value, small, n + 1);
	} else {
		fangs__sink_init(&o, value, n + 1);
		fangs__fp_value(&nz, ev, &kind, &o);
		fangs__sink_end(&o);
	}
	out->kind = kind;
	out->actor = fangs_event_actor(ev);
	out->value = value;
	return 1;
}

void fangs_fingerprint_clear(fangs_fingerprint *fp)
{
	if (!fp)
		return;
	free(fp->value);
	memset(fp, 0, sizeof(*fp));
}
