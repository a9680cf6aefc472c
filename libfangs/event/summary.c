/*
 * event/summary.c - one line of text per event, for people (CLI, messages).
 */
#include <stdio.h>
#include <string.h>

#include "fangs/event.h"

const char *fangs_event_summary(const fangs_event *ev, char *buf, size_t cap)
{
	size_t n;
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN: {
		/* an alias says what it reached: "open(r) cfg -> /root/.npmrc" */
		const char *to = ev->decoy ? ev->decoy : ev->real_path;
		if (to && ev->path && strcmp(to, ev->path) == 0)
			to = NULL;
		snprintf(buf, cap, "open(%s) %s%s%s",
			 (ev->flags & FANGS_OPEN_WRITE) ? ((ev->flags & FANGS_OPEN_READ) ? "rw" : "w") : "r",
			 ev->path ? ev->path : "", to ? " -> " : "", to ? to : "");
		break;
	}
	case FANGS_EV_EXEC:
		n = (size_t)snprintf(buf, cap, "exec %s", ev->path ? ev->path : "");
		for (size_t i = 1; i < ev->argc && n < cap; i++)
			n += (size_t)snprintf(buf + n, cap - n, " %s", ev->argv[i]);
		break;
	case FANGS_EV_NET_CONNECT:
		if (ev->family == FANGS_FAMILY_UNIX) {
			snprintf(buf, cap, "connect unix %s", ev->addr ? ev->addr : "");
			break;
		}
		snprintf(buf, cap, "connect %s %s%s%s:%u", ev->proto == FANGS_PROTO_UDP ? "udp" : "tcp",
			 ev->family == FANGS_FAMILY_IPV6 ? "[" : "", ev->addr ? ev->addr : "",
			 ev->family == FANGS_FAMILY_IPV6 ? "]" : "", ev->port);
		break;
	case FANGS_EV_DNS_QUERY: {
		const char *qt = fangs_dns_qtype_name(ev->qtype);
		snprintf(buf, cap, "dns %s %s", qt ? qt : "?", ev->qname ? ev->qname : "");
		break;
	}
	case FANGS_EV_TLS_SNI:
		snprintf(buf, cap, "tls sni %s", ev->sni ? ev->sni : "");
		break;
	case FANGS_EV_PROXY_REQUEST:
		if (ev->method && strcmp(ev->method, "CONNECT") == 0)
			snprintf(buf, cap, "proxy %s CONNECT %s:%u%s%s", ev->allowed ? "allowed" : "refused",
				 ev->host ? ev->host : "", ev->port, ev->sni ? " sni " : "", ev->sni ? ev->sni : "");
		else
			snprintf(buf, cap, "proxy %s %s http://%s:%u%s", ev->allowed ? "allowed" : "refused",
				 ev->method ? ev->method : "?", ev->host ? ev->host : "", ev->port,
				 ev->path ? ev->path : "");
		break;
	case FANGS_EV_PROC_FORK:
		snprintf(buf, cap, "fork %d -> %d", ev->ppid, ev->pid);
		break;
	case FANGS_EV_PROC_EXIT:
		snprintf(buf, cap, "exit %d", ev->exit_code);
		break;
	case FANGS_EV_SYSCALL:
		snprintf(buf, cap, "%s%s%s%s%s", ev->op ? ev->op : "syscall", ev->detail ? " " : "",
			 ev->detail ? ev->detail : "", ev->path ? " " : "", ev->path ? ev->path : "");
		break;
	case FANGS_EV_NONE:
		snprintf(buf, cap, "%s", fangs_event_kind_name(ev->kind));
		break;
	}
	/* Arguments and paths come from the package: keep them on one line. */
	for (char *p = buf; cap && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return buf;
}
