/*
 * tests/differ/helpers.c - event builders for the differ suite.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *dup(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	ck_assert(!s || d);
	return d;
}

static fangs_event *base(fangs_event_list *l, fangs_event_kind kind, const char *script)
{
	fangs_event *ev = fangs_event_list_push(l);
	ck_assert_ptr_nonnull(ev);
	ev->kind = kind;
	ev->id = (int64_t)l->count + 999;
	ev->pid = 4000 + (int32_t)l->count;
	ev->ppid = 4000;
	if (script) {
		ev->origin.package = dup(script);
		ev->origin.version = dup("1.0.0");
		ev->origin.script = dup("postinstall");
		ev->origin.command = dup("node install.js");
	}
	return ev;
}

fangs_event *t_open(fangs_event_list *l, const char *script, const char *path, unsigned flags)
{
	fangs_event *ev = base(l, FANGS_EV_FILE_OPEN, script);
	ev->path = dup(path);
	ev->flags = flags;
	return ev;
}

fangs_event *t_exec(fangs_event_list *l, const char *script, const char *path, ...)
{
	fangs_event *ev = base(l, FANGS_EV_EXEC, script);
	va_list ap;
	const char *a;
	ev->path = dup(path);
	ev->argv = calloc(16, sizeof(char *));
	ck_assert_ptr_nonnull(ev->argv);
	va_start(ap, path);
	while ((a = va_arg(ap, const char *)) && ev->argc < 16)
		ev->argv[ev->argc++] = dup(a);
	va_end(ap);
	return ev;
}

fangs_event *t_connect(fangs_event_list *l, const char *script, const char *addr, uint16_t port, fangs_proto p)
{
	fangs_event *ev = base(l, FANGS_EV_NET_CONNECT, script);
	ev->addr = dup(addr);
	ev->family = strchr(addr, ':') ? FANGS_FAMILY_IPV6 : FANGS_FAMILY_IPV4;
	ev->port = port;
	ev->proto = p;
	return ev;
}

fangs_event *t_dns(fangs_event_list *l, const char *script, const char *qname)
{
	fangs_event *ev = base(l, FANGS_EV_DNS_QUERY, script);
	ev->qname = dup(qname);
	ev->qtype = 1;
	ev->addr = dup("127.0.0.53");
	ev->port = 53;
	ev->family = FANGS_FAMILY_IPV4;
	ev->proto = FANGS_PROTO_UDP;
	return ev;
}

fangs_event *t_sni(fangs_event_list *l, const char *script, const char *sni)
{
	fangs_event *ev = base(l, FANGS_EV_TLS_SNI, script);
	ev->sni = dup(sni);
	return ev;
}

const char *t_norm(const char *path, const char *version)
{
	static char buf[8192];
	fangs_norm_ctx ctx = {"foo", version};
	int n = fangs_normalize_path(&ctx, path, buf, sizeof(buf));
	ck_assert_msg(n >= 0, "normalize '%s': %s", path, fangs_error_last());
	ck_assert_uint_eq((size_t)n, strlen(buf));
	return buf;
}

int t_analyze(const fangs_differ *d, const fangs_event_list *run, const fangs_fpset *base_set, const char *package,
	      const char *version, const fangs_allow_entry *allow, size_t n_allow, fangs_fpset *run_fps,
	      fangs_deviation_list *out)
{
	fangs_differ_input in = {0};
	in.run_id = "run-1";
	in.package = package;
	in.version = version;
	in.events = run->items;
	in.n_events = run->count;
	in.baseline = base_set;
	in.allow = allow;
	in.n_allow = n_allow;
	return fangs_differ_analyze(d, &in, run_fps, out);
}

const fangs_deviation *t_find(const fangs_deviation_list *l, const char *value)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].value, value) == 0)
			return &l->items[i];
	return NULL;
}
