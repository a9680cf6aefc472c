/*
 * core/allow.c - allowlist entries: kinds, validation, lists.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "fangs/config.h"

static const struct {
	const char *name;
	const char *plural; /* the YAML key under allow: */
} allow_kinds[] = {
	{"path", "paths"}, {"cidr", "cidrs"}, {"sni", "snis"}, {"dns", "dns"}, {"exec", "execs"},
};
_Static_assert(FANGS_ARRAY_SIZE(allow_kinds) == FANGS_ALLOW_EXEC + 1, "a name per allow kind");

const char *fangs_allow_kind_name(fangs_allow_kind kind)
{
	if ((unsigned)kind >= FANGS_ARRAY_SIZE(allow_kinds))
		return "unknown";
	return allow_kinds[kind].name;
}

int fangs_allow_kind_parse(const char *name, fangs_allow_kind *out)
{
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "allow kind: missing value");
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(allow_kinds); i++) {
		if (strcasecmp(name, allow_kinds[i].name) == 0 || strcasecmp(name, allow_kinds[i].plural) == 0) {
			*out = (fangs_allow_kind)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL, "unknown allow kind '%s' (expected path, cidr, sni, dns or exec)", name);
}

static int validate_cidr(const char *value)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bytes[16];
	const char *slash = strchr(value, '/');
	size_t alen = slash ? (size_t)(slash - value) : strlen(value);
	unsigned max, prefix = 0;

	if (alen == 0 || alen >= sizeof(addr))
		return fangs_error_set(FANGS_EINVAL, "cidr '%s': not an IP address", value);
	memcpy(addr, value, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bytes) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bytes) == 1)
		max = 128;
	else
		return fangs_error_set(FANGS_EINVAL, "cidr '%s': '%s' is not an IP address", value, addr);
	if (!slash)
		return 0;
	if (!slash[1] || strlen(slash + 1) > 3 || strspn(slash + 1, "0123456789") != strlen(slash + 1))
		return fangs_error_set(FANGS_EINVAL, "cidr '%s': prefix length must be a number", value);
	for (const char *p = slash + 1; *p; p++)
		prefix = prefix * 10 + (unsigned)(*p - '0');
	if (prefix > max)
		return fangs_error_set(FANGS_EINVAL, "cidr '%s': prefix length %u is more than %u", value, prefix, max);
	return 0;
}

/* RFC 1123 labels; '_' is allowed because real names use it (_dmarc, SRV). */
static int validate_host(const char *what, const char *value, bool suffix)
{
	const char *p = value;
	size_t total = strlen(value), label = 0;

	if (suffix && strncmp(p, "*.", 2) == 0)
		p += 2;
	else if (suffix && *p == '.')
		p++;
	if (!*p || *p == '.')
		return fangs_error_set(FANGS_EINVAL, "%s '%s': empty host name", what, value);
	if (total > 254 || (total == 254 && value[253] != '.'))
		return fangs_error_set(FANGS_EINVAL, "%s '%s': longer than 253 characters", what, value);
	for (; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0)
				return fangs_error_set(FANGS_EINVAL, "%s '%s': empty label", what, value);
			if (p[-1] == '-')
				return fangs_error_set(FANGS_EINVAL, "%s '%s': a label ends with '-'", what, value);
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return fangs_error_set(FANGS_EINVAL, "%s '%s': character '%c' not allowed in a host name", what,
					       value, c >= 0x20 && c < 0x7f ? c : '?');
		if (c == '-' && label == 0)
			return fangs_error_set(FANGS_EINVAL, "%s '%s': a label starts with '-'", what, value);
		if (++label > 63)
			return fangs_error_set(FANGS_EINVAL, "%s '%s': label longer than 63 characters", what, value);
	}
	if (label > 0 && p[-1] == '-')
		return fangs_error_set(FANGS_EINVAL, "%s '%s': a label ends with '-'", what, value);
	return 0;
}

int fangs_allow_entry_validate(fangs_allow_kind kind, const char *value)
{
	if (!value || !*value)
		return fangs_error_set(FANGS_EINVAL, "allow %s: empty value", fangs_allow_kind_name(kind));
	switch (kind) {
	case FANGS_ALLOW_PATH:
	case FANGS_ALLOW_EXEC:
		if (value[0] != '/')
			return fangs_error_set(FANGS_EINVAL, "allow %s '%s': must be an absolute path",
					       fangs_allow_kind_name(kind), value);
		return 0;
	case FANGS_ALLOW_CIDR:
		return validate_cidr(value);
	case FANGS_ALLOW_SNI:
		return validate_host("sni", value, false);
	case FANGS_ALLOW_DNS:
		return validate_host("dns", value, true);
	}
	return fangs_error_set(FANGS_EINVAL, "unknown allow kind %d", (int)kind);
}

int fangs_allow_list_add(fangs_allow_list *list, fangs_allow_kind kind, const char *value, const char *package,
			 const char *note)
{
	fangs_allow_entry *e;
	if (!list || !value)
		return fangs_error_set(FANGS_EINVAL, "allow list add: missing list or value");
	if (FANGS_GROW(list))
		return FANGS_ENOMEM;
	e = &list->items[list->count];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->value = fangs__strdup(value);
	e->package = fangs__strdup(package);
	e->note = fangs__strdup(note);
	if (!e->value || (package && !e->package) || (note && !e->note)) {
		free(e->value);
		free(e->package);
		free(e->note);
		memset(e, 0, sizeof(*e));
		return FANGS_ENOMEM;
	}
	e->created_ns = fangs__now_ns();
	list->count++;
	return 0;
}

void fangs_allow_list_free(fangs_allow_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].value);
		free(list->items[i].package);
		free(list->items[i].note);
	}
	free(list->items);
	list->items = NULL;
	list->count = list->capacity = 0;
}
