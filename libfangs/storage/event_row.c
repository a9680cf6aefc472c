/*
 * storage/event_row.c - how an event becomes a row, for every backend.
 */
#include "core/codec.h"
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
