/*
 * storage/event_row.c - how an event becomes a row, for every backend.
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/internal.h"
#include "storage/internal.h"

const char *fangs__storage_event_value(const fangs_event *ev)
{
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
	case FANGS_EV_EXEC:
		return ev->path;
	case FANGS_EV_NET_CONNECT:
		return ev->addr;
	case FANGS_EV_DNS_QUERY:
		return ev->qname;
	case FANGS_EV_TLS_SNI:
		return ev->sni;
	case FANGS_EV_PROXY_REQUEST:
		return ev->host;
	case FANGS_EV_SYSCALL:
		return ev->op;
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_NONE:
		break;
	}
	return NULL;
}

int fangs__storage_event_encode(fangs_buf *b, const fangs_event *ev)
{
	fangs_event bare = *ev;
	/* id and run are columns; keeping them out of the JSON keeps one truth */
	bare.id = 0;
	bare.run_id = NULL;
	fangs_buf_reset(b);
	return fangs__event_encode(b, &bare);
}

static int cmp_group(const void *a, const void *b)
{
	const fangs_proc_group *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->first_id < y->first_id ? -1 : x->first_id > y->first_id;
}

int fangs__storage_proc_summary(const fangs_event *events, size_t n, fangs_proc_group_list *out)
{
	fangs_proc_group *g = calloc(n ? n : 1, sizeof(*g));
	size_t w = 0;

	free(out->items);
	memset(out, 0, sizeof(*out));
	if (!g)
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		g[i].pid = events[i].pid;
		g[i].ppid = events[i].ppid;
		g[i].kind = (int)events[i].kind;
		g[i].count = 1;
		g[i].first_id = g[i].last_id = events[i].id;
	}
	qsort(g, n, sizeof(*g), cmp_group);
	for (size_t i = 0; i < n; i++) {
		if (w && g[w - 1].pid == g[i].pid && g[w - 1].ppid == g[i].ppid && g[w - 1].kind == g[i].kind) {
			g[w - 1].count++;
			g[w - 1].last_id = g[i].last_id; /* sorted by id within the group */
			continue;
		}
		g[w++] = g[i];
	}
	out->items = g;
	out->count = w;
	out->capacity = n ? n : 1;
	return 0;
}
