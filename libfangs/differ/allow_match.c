/*
 * differ/allow_match.c - does an allowlist entry cover a fingerprint?
 *
 * Each kind of entry covers one kind of fingerprint and nothing else:
 * path -> fs_read/fs_write (prefix), exec -> exec (exact binary),
 * cidr -> net (address range), sni -> sni (exact name),
 * dns -> dns (the name or any name below it).
 */
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

static int compile_one(fangs__allow_rule *r, const fangs_allow_entry *e)
{
	char buf[512];
	fangs__sink o;
	const char *v = e->value;

	memset(r, 0, sizeof(*r));
	r->kind = e->kind;
	switch (e->kind) {
	case FANGS_ALLOW_CIDR: {
		const char *slash = strchr(v, '/');
		char addr[64];
		size_t alen = slash ? (size_t)(slash - v) : strlen(v);
		if (alen >= sizeof(addr))
			return FANGS_EINVAL;
		memcpy(addr, v, alen);
		addr[alen] = '\0';
		r->family = fangs__parse_addr(addr, r->net);
		if (!r->family)
			return FANGS_EINVAL;
		r->prefix = slash ? (unsigned)atoi(slash + 1) : (r->family == 4 ? 32u : 128u);
		/* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
		if (r->family == 4 && r->prefix > 32)
			r->prefix = r->prefix >= 96 ? r->prefix - 96 : 0;
		r->value = fangs__strdup(v);
		break;
	}
	case FANGS_ALLOW_SNI:
	case FANGS_ALLOW_DNS:
		if (e->kind == FANGS_ALLOW_DNS && strncmp(v, "*.", 2) == 0)
			v += 2;
		else if (e->kind == FANGS_ALLOW_DNS && v[0] == '.')
			v++;
		fangs__sink_init(&o, buf, sizeof(buf));
		fangs__norm_host(v, &o);
		if (fangs__sink_end(&o) >= sizeof(buf))
			return FANGS_EINVAL;
		r->value = fangs__strdup(buf);
		break;
	case FANGS_ALLOW_PATH:
	case FANGS_ALLOW_EXEC:
		r->value = fangs__strdup(v);
		break;
	}
	if (!r->value)
		return FANGS_ENOMEM;
	r->len = strlen(r->value);
	return 0;
}

int fangs__allow_compile(fangs__allow_set *set, const fangs_allow_entry *e, size_t n, const char *package)
{
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (!e[i].value)
			continue;
		if (e[i].package && (!package || strcmp(e[i].package, package) != 0))
			continue;
		if (fangs_allow_entry_validate(e[i].kind, e[i].value) < 0) {
			fangs_warn("allowlist: ignoring %s", fangs_error_last());
			continue;
		}
		if ((rc = FANGS_GROW(set)) < 0)
			return rc;
		rc = compile_one(&set->items[set->count], &e[i]);
		if (rc == FANGS_ENOMEM)
			return fangs__error_oom();
		if (rc < 0) {
			free(set->items[set->count].value);
			fangs_warn("allowlist: ignoring %s '%s'", fangs_allow_kind_name(e[i].kind), e[i].value);
			continue;
		}
		set->count++;
	}
	return 0;
}

void fangs__allow_set_free(fangs__allow_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		free(set->items[i].value);
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/* "/usr/share/zoneinfo/" covers what is below it; "/etc/hosts" covers the
 * file itself and, were it a directory, what is below it. */
static bool path_covers(const fangs__allow_rule *r, const char *path)
{
	if (!path || strncmp(path, r->value, r->len) != 0)
		return false;
	return r->value[r->len - 1] == '/' || path[r->len] == '\0' || path[r->len] == '/';
}

static bool cidr_covers(const fangs__allow_rule *r, int fam, const unsigned char *a)
{
	unsigned full, rest;
	if (fam != r->family)
		return false;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	if (memcmp(a, r->net, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xffu << (8 - rest));
		return (a[full] & mask) == (r->net[full] & mask);
	}
	return true;
}

static bool dns_covers(const fangs__allow_rule *r, const char *name)
{
	size_t n = strlen(name);
	if (n == r->len)
		return memcmp(name, r->value, n) == 0;
	return n > r->len && name[n - r->len - 1] == '.' && memcmp(name + n - r->len, r->value, r->len) == 0;
}

static bool exec_covers(const fangs__allow_rule *r, const fangs_event *ev)
{
	const char *bin = ev->path ? ev->path : (ev->argc > 0 && ev->argv ? ev->argv[0] : NULL);
	char buf[FANGS__FP_BUF];
	fangs__sink o;
	if (!bin)
		return false;
	if (strcmp(bin, r->value) == 0)
		return true;
	fangs__sink_init(&o, buf, sizeof(buf));
	fangs__norm_path(NULL, bin, strlen(bin), &o);
	return fangs__sink_end(&o) < sizeof(buf) && strcmp(buf, r->value) == 0;
}

bool fangs__allow_covers(const fangs__allow_set *set, fangs_fp_kind kind, const char *value, const fangs_event *ev)
{
	unsigned char addr[16];
	int fam = -1;

	for (size_t i = 0; set && i < set->count; i++) {
		const fangs__allow_rule *r = &set->items[i];
		switch (r->kind) {
		case FANGS_ALLOW_PATH:
			if ((kind == FANGS_FP_FS_READ || kind == FANGS_FP_FS_WRITE) &&
			    (path_covers(r, fangs__open_path(ev)) || path_covers(r, value)))
				return true;
			break;
		case FANGS_ALLOW_EXEC:
			if (kind == FANGS_FP_EXEC && exec_covers(r, ev))
				return true;
			break;
		case FANGS_ALLOW_CIDR:
			if (kind != FANGS_FP_NET || ev->family == FANGS_FAMILY_UNIX)
				break;
			if (fam < 0)
				fam = fangs__parse_addr(ev->addr, addr);
			if (fam > 0 && cidr_covers(r, fam, addr))
				return true;
			break;
		case FANGS_ALLOW_SNI:
			if (kind == FANGS_FP_SNI && strcmp(value, r->value) == 0)
				return true;
			break;
		case FANGS_ALLOW_DNS:
			if (kind == FANGS_FP_DNS && dns_covers(r, value))
				return true;
			break;
		}
	}
	return false;
}
