/*
 * event/event.c - event kinds, lifetime and lists.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "fangs/event.h"

/* A switch, not a table: a kind added to the enum and not named here fails
 * the build (-Wswitch); tests/unit/test_event.c checks that the names end at
 * FANGS_EV_KIND_MAX. */
static const char *kind_name(fangs_event_kind kind)
{
	switch (kind) {
	case FANGS_EV_NONE:
		return "none";
	case FANGS_EV_FILE_OPEN:
		return "file_open";
	case FANGS_EV_EXEC:
		return "exec";
	case FANGS_EV_NET_CONNECT:
		return "net_connect";
	case FANGS_EV_DNS_QUERY:
		return "dns_query";
	case FANGS_EV_TLS_SNI:
		return "tls_sni";
	case FANGS_EV_PROC_FORK:
		return "process_fork";
	case FANGS_EV_PROC_EXIT:
		return "process_exit";
	case FANGS_EV_PROXY_REQUEST:
		return "proxy_request";
	case FANGS_EV_SYSCALL:
		return "syscall";
	}
	return NULL;
}

const char *fangs_event_kind_name(fangs_event_kind kind)
{
	const char *n = kind_name(kind);
	return n ? n : "none";
}

fangs_event_kind fangs_event_kind_parse(const char *name)
{
	if (!name)
		return FANGS_EV_NONE;
	for (int i = 1; i <= FANGS_EV_KIND_MAX; i++)
		if (strcmp(name, kind_name((fangs_event_kind)i)) == 0)
			return (fangs_event_kind)i;
	return FANGS_EV_NONE;
}

static const char *const phase_names[] = {"install", "import"};
_Static_assert(FANGS_ARRAY_SIZE(phase_names) == FANGS_PHASE_MAX + 1, "a name per phase");

const char *fangs_event_phase_name(fangs_event_phase phase)
{
	if ((unsigned)phase >= FANGS_ARRAY_SIZE(phase_names))
		return "unknown";
	return phase_names[phase];
}

int fangs_event_phase_parse(const char *name, fangs_event_phase *out)
{
	for (size_t i = 0; name && i < FANGS_ARRAY_SIZE(phase_names); i++)
		if (strcmp(name, phase_names[i]) == 0) {
			*out = (fangs_event_phase)i;
			return 0;
		}
	return fangs_error_set(FANGS_EINVAL, "unknown phase '%s' (install, import)", name ? name : "(null)");
}

static const struct {
	uint16_t code;
	const char *name;
} qtypes[] = {
	{1, "A"},     {2, "NS"},     {5, "CNAME"}, {6, "SOA"},    {12, "PTR"},  {15, "MX"},
	{16, "TXT"},  {28, "AAAA"},  {33, "SRV"},  {35, "NAPTR"}, {43, "DS"},   {48, "DNSKEY"},
	{64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},  {252, "AXFR"}, {255, "ANY"}, {257, "CAA"},
};

const char *fangs_dns_qtype_name(uint16_t qtype)
{
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(qtypes); i++)
		if (qtypes[i].code == qtype)
			return qtypes[i].name;
	return NULL;
}

uint16_t fangs_dns_qtype_parse(const char *name)
{
	char *end;
	unsigned long v;
	if (!name || !*name)
		return 0;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(qtypes); i++)
		if (strcasecmp(qtypes[i].name, name) == 0)
			return qtypes[i].code;
	v = strtoul(name, &end, 10);
	if (*end || v == 0 || v > 65535)
		return 0;
	return (uint16_t)v;
}

void fangs_event_clear(fangs_event *ev)
{
	if (!ev)
		return;
	free(ev->comm);
	free(ev->path);
	for (size_t i = 0; i < ev->argc; i++)
		free(ev->argv[i]);
	free(ev->argv);
	free(ev->addr);
	free(ev->qname);
	free(ev->sni);
	for (size_t i = 0; i < ev->n_ancestry && i < FANGS_ANCESTRY_MAX; i++) {
		free(ev->ancestry[i].comm);
		free(ev->ancestry[i].exe);
	}
	free(ev->origin.package);
	free(ev->origin.version);
	free(ev->origin.script);
	free(ev->origin.command);
	free(ev->run_id);
	free(ev->host);
	free(ev->method);
	free(ev->real_path);
	free(ev->decoy);
	free(ev->env_package);
	free(ev->op);
	free(ev->detail);
	memset(ev, 0, sizeof(*ev));
}

#define DUP(field) \
	do { \
		if (src->field && !(dst->field = strdup(src->field))) \
			goto oom; \
	} while (0)

int fangs_event_copy(fangs_event *dst, const fangs_event *src)
{
	*dst = *src;
	dst->comm = dst->path = dst->addr = dst->qname = dst->sni = dst->run_id = NULL;
	dst->host = dst->method = NULL;
	dst->real_path = dst->decoy = dst->env_package = NULL;
	dst->op = dst->detail = NULL;
	dst->argv = NULL;
	dst->argc = 0;
	for (size_t i = 0; i < FANGS_ANCESTRY_MAX; i++)
		dst->ancestry[i].comm = dst->ancestry[i].exe = NULL;
	memset(&dst->origin, 0, sizeof(dst->origin));
	dst->n_ancestry = 0;

	DUP(comm);
	DUP(path);
	DUP(addr);
	DUP(qname);
	DUP(sni);
	DUP(run_id);
	DUP(host);
	DUP(method);
	DUP(real_path);
	DUP(decoy);
	DUP(env_package);
	DUP(op);
	DUP(detail);
	DUP(origin.package);
	DUP(origin.version);
	DUP(origin.script);
	DUP(origin.command);
	if (src->argc) {
		dst->argv = calloc(src->argc, sizeof(char *));
		if (!dst->argv)
			goto oom;
		for (size_t i = 0; i < src->argc; i++) {
			dst->argv[i] = strdup(src->argv[i] ? src->argv[i] : "");
			if (!dst->argv[i])
				goto oom;
			dst->argc = i + 1;
		}
	}
	for (size_t i = 0; i < src->n_ancestry && i < FANGS_ANCESTRY_MAX; i++) {
		dst->n_ancestry = i + 1;
		DUP(ancestry[i].comm);
		DUP(ancestry[i].exe);
	}
	return 0;
oom:
	fangs_event_clear(dst);
	return fangs__error_oom();
}

fangs_event *fangs_event_list_push(fangs_event_list *list)
{
	fangs_event *ev;
	if (FANGS_GROW(list))
		return NULL;
	ev = &list->items[list->count++];
	memset(ev, 0, sizeof(*ev));
	return ev;
}

int fangs_event_list_append(fangs_event_list *list, fangs_event *ev)
{
	fangs_event *slot = fangs_event_list_push(list);
	if (!slot)
		return FANGS_ENOMEM;
	*slot = *ev;
	memset(ev, 0, sizeof(*ev));
	return 0;
}

void fangs_event_list_free(fangs_event_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_event_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = list->capacity = 0;
}
