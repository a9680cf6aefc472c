/*
 * proxy/policy.c - which hosts the sandbox's proxy lets through: the
 * built-in download hosts, the configuration's, the registry's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "proxy/internal.h"

extern const char fangs__download_hosts_txt[];

const char *fangs_proxy_builtin_hosts(void)
{
	return fangs__download_hosts_txt;
}

/* lower case, without a trailing dot; 0 or -1 when not a host name/address */
static int norm_name(const char *in, size_t len, char *out, size_t cap)
{
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && c != ':')
			return -1;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return 0;
}

int fangs__host_rule_parse(const char *pattern, fangs__host_rule *out)
{
	char name[256];
	const char *p = pattern, *name_end, *port = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!p)
		return fangs_error_set(FANGS_EINVAL, "host pattern is NULL");
	len = strlen(p);
	if (p[0] == '[') {
		/* [v6]:port */
		name_end = strchr(p, ']');
		if (!name_end)
			return fangs_error_set(FANGS_EINVAL, "host pattern '%s': no ']'", pattern);
		p++;
		if (name_end[1] == ':')
			port = name_end + 2;
		else if (name_end[1])
			return fangs_error_set(FANGS_EINVAL, "host pattern '%s': junk after ']'", pattern);
	} else {
		const char *colon = strrchr(p, ':');
		/* a bare IPv6 address has several colons and no port */
		if (colon && memchr(p, ':', (size_t)(colon - p)) == NULL) {
			name_end = colon;
			port = colon + 1;
		} else {
			name_end = p + len;
		}
	}
	if (strncmp(p, "*.", 2) == 0) {
		out->wildcard = 1;
		p += 2;
	}
	if (norm_name(p, (size_t)(name_end - p), name, sizeof(name)) < 0 || strchr(name, '*'))
		return fangs_error_set(
			FANGS_EINVAL,
			"host pattern '%s': expected a host name or address, '*.domain', with an optional "
			":PORT or :*",
			pattern);
	if (!port) {
		out->port = 0;
	} else if (strcmp(port, "*") == 0) {
		out->port = -1;
	} else {
		char *end;
		long v = strtol(port, &end, 10);
		if (!*port || *end || v < 1 || v > 65535)
			return fangs_error_set(FANGS_EINVAL, "host pattern '%s': bad port '%s'", pattern, port);
		out->port = (int)v;
	}
	if (!(out->name = fangs__strdup(name)))
		return fangs__error_oom();
	return 0;
}

int fangs_proxy_host_pattern_validate(const char *pattern)
{
	fangs__host_rule r;
	int rc = fangs__host_rule_parse(pattern, &r);
	free(r.name);
	return rc;
}

int fangs__policy_add(fangs__policy *p, const char *pattern, const char *source)
{
	fangs__host_rule r;
	int rc = fangs__host_rule_parse(pattern, &r);
	if (rc < 0)
		return source ? fangs_error_set(rc, "%s: %s", source, fangs_error_last()) : rc;
	if (FANGS_GROW(p)) {
		free(r.name);
		return fangs__error_oom();
	}
	p->items[p->count++] = r;
	return 0;
}

int fangs__policy_add_text(fangs__policy *p, const char *text, const char *source)
{
	const char *line = text;
	int lineno = 0;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512], where[256];
		size_t a = 0, b = len;
		lineno++;
		while (a < b && isspace((unsigned char)line[a]))
			a++;
		for (size_t i = a; i < b; i++)
			if (line[i] == '#') {
				b = i;
				break;
			}
		while (b > a && isspace((unsigned char)line[b - 1]))
			b--;
		if (b > a) {
			int rc;
			if (b - a >= sizeof(buf))
				return fangs_error_set(FANGS_EINVAL, "%s:%d: line too long", source, lineno);
			memcpy(buf, line + a, b - a);
			buf[b - a] = '\0';
			snprintf(where, sizeof(where), "%s:%d", source, lineno);
			if ((rc = fangs__policy_add(p, buf, where)) < 0)
				return rc;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

int fangs__policy_add_url(fangs__policy *p, const char *url)
{
	const char *h, *end;
	char pat[300];
	size_t n;
	if (!strncmp(url, "https://", 8))
		h = url + 8;
	else if (!strncmp(url, "http://", 7))
		h = url + 7;
	else
		return fangs_error_set(FANGS_EINVAL, "registry '%s' is not an http(s) URL", url);
	end = h + strcspn(h, "/?#");
	/* user:password@ is not part of the host */
	for (const char *at = h; at < end; at++)
		if (*at == '@')
			h = at + 1;
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(pat))
		return fangs_error_set(FANGS_EINVAL, "registry '%s' has no host", url);
	memcpy(pat, h, n);
	pat[n] = '\0';
	return fangs__policy_add(p, pat, "registry");
}

static int port_ok(const fangs__host_rule *r, uint16_t port)
{
	if (r->port < 0)
		return 1;
	if (r->port == 0)
		return port == 80 || port == 443;
	return port == r->port;
}

/* `h` is normalized (norm_name) */
static int name_ok(const fangs__host_rule *r, const char *h)
{
	size_t hl = strlen(h), nl = strlen(r->name);
	if (!r->wildcard)
		return strcmp(h, r->name) == 0;
	return hl > nl + 1 && h[hl - nl - 1] == '.' && strcmp(h + hl - nl, r->name) == 0;
}

int fangs__policy_allows(const fangs__policy *p, const char *host, uint16_t port)
{
	char h[256];
	if (!host || norm_name(host, strlen(host), h, sizeof(h)) < 0)
		return 0;
	for (size_t i = 0; i < p->count; i++)
		if (port_ok(&p->items[i], port) && name_ok(&p->items[i], h))
			return 1;
	return 0;
}

int fangs_proxy_host_pattern_match(const char *pattern, const char *host, int port)
{
	fangs__host_rule r;
	char h[256];
	int rc = fangs__host_rule_parse(pattern, &r);
	if (rc < 0)
		return rc;
	rc = host && norm_name(host, strlen(host), h, sizeof(h)) == 0 &&
	     (port < 0 || (port <= 65535 && port_ok(&r, (uint16_t)port))) && name_ok(&r, h);
	free(r.name);
	return rc;
}

void fangs__policy_free(fangs__policy *p)
{
	for (size_t i = 0; i < p->count; i++)
		free(p->items[i].name);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
