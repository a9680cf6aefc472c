/*
 * core/allow.c - allowlist entries: kind names, validation, lists.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/config.h"

static const char *const kind_names[] = {"path", "cidr", "sni", "dns", "exec"};
/* The YAML `allow:` keys. */
static const char *const kind_plurals[] = {"paths", "cidrs", "snis", "dns", "execs"};

const char *fangs_allow_kind_name(fangs_allow_kind kind)
{
	if ((unsigned)kind >= FANGS_ARRAY_SIZE(kind_names))
		return "unknown";
	return kind_names[kind];
}

int fangs_allow_kind_parse(const char *name, fangs_allow_kind *out)
{
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "allowlist kind: missing value");
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(kind_names); i++) {
		if (fangs__strcasecmp_eq(name, kind_names[i]) || fangs__strcasecmp_eq(name, kind_plurals[i])) {
			*out = (fangs_allow_kind)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL, "unknown allowlist kind '%s' (expected path, cidr, sni, dns or exec)",
			       name);
}

static int validate_cidr(const char *value)
{
	unsigned char addr[16];
	char host[64];
	const char *slash = strchr(value, '/');
	size_t hlen = slash ? (size_t)(slash - value) : strlen(value);
	int v6, max;

	if (hlen == 0 || hlen >= sizeof(host))
		return fangs_error_set(FANGS_EINVAL, "allowlist cidr '%s': not an address range", value);
	memcpy(host, value, hlen);
	host[hlen] = '\0';
	v6 = strchr(host, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return fangs_error_set(FANGS_EINVAL, "allowlist cidr '%s': '%s' is not an IPv%d address", value, host,
				       v6 ? 6 : 4);
	max = v6 ? 128 : 32;
	if (slash) {
		const char *p = slash + 1;
		int len = 0;
		if (!*p)
			return fangs_error_set(FANGS_EINVAL, "allowlist cidr '%s': missing prefix length", value);
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || len > max)
				return fangs_error_set(FANGS_EINVAL, "allowlist cidr '%s': bad prefix length", value);
			len = len * 10 + (*p - '0');
		}
		if (len > max)
			return fangs_error_set(FANGS_EINVAL, "allowlist cidr '%s': prefix length %d exceeds %d", value,
					       len, max);
	}
	return 0;
}

/* Host names as they appear in DNS queries and SNI: letters, digits, '-'
 * and '_' in labels of 1..63 bytes, at most 253 bytes. A DNS suffix may
 * start with a dot. */
static int validate_host(const char *what, const char *value, int leading_dot)
{
	const char *p = value;
	size_t len = strlen(value), label = 0;

	if (leading_dot && *p == '.')
		p++;
	if (!*p || len > 253)
		return fangs_error_set(FANGS_EINVAL, "allowlist %s '%s': not a host name", what, value);
	for (; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0)
				return fangs_error_set(FANGS_EINVAL, "allowlist %s '%s': empty label", what, value);
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return fangs_error_set(FANGS_EINVAL, "allowlist %s '%s': invalid character '%c'", what, value,
					       c);
		if (++label > 63)
			return fangs_error_set(FANGS_EINVAL, "allowlist %s '%s': label longer than 63 bytes", what,
					       value);
	}
	return 0;
}

int fangs_allow_entry_validate(fangs_allow_kind kind, const char *value)
{
	if (!value || !*value)
		return fangs_error_set(FANGS_EINVAL, "allowlist %s: empty value", fangs_allow_kind_name(kind));
	switch (kind) {
	case FANGS_ALLOW_PATH:
	case FANGS_ALLOW_EXEC:
		if (value[0] != '/')
			return fangs_error_set(FANGS_EINVAL, "allowlist %s '%s': must be an absolute path",
					       kind_names[kind], value);
		return 0;
	case FANGS_ALLOW_CIDR:
		return validate_cidr(value);
	case FANGS_ALLOW_SNI:
		return validate_host("sni", value, 0);
	case FANGS_ALLOW_DNS:
		return validate_host("dns", value, 1);
	}
	return fangs_error_set(FANGS_EINVAL, "allowlist kind %d is out of range", (int)kind);
}

int fangs_allow_list_add(fangs_allow_list *list, fangs_allow_kind kind, const char *value, const char *package,
			 const char *note)
{
	fangs_allow_entry *e;
	if (!list || !value)
		return fangs_error_set(FANGS_EINVAL, "fangs_allow_list_add: NULL argument");
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
	memset(list, 0, sizeof(*list));
}
