/*
 * differ/norm_net.c - host names and addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

void fangs__norm_host(const char *name, fangs__sink *o)
{
	size_t n = strlen(name), start = o->len;
	while (n > 0 && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		fangs__sink_putc(o, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	/* the root zone */
	if (o->len == start && name[0] == '.')
		fangs__sink_putc(o, '.');
}

int fangs__parse_addr(const char *addr, unsigned char bytes[16])
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n;
	const char *s = addr;
	char *pct;

	if (!addr)
		return 0;
	n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* a zone ("fe80::1%eth0") names an interface of the sandbox, not a peer */
	if ((pct = strchr(tmp, '%')))
		*pct = '\0';
	if (inet_pton(AF_INET, tmp, bytes) == 1)
		return 4;
	if (inet_pton(AF_INET6, tmp, bytes) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)bytes)) {
			memmove(bytes, bytes + 12, 4);
			return 4;
		}
		return 6;
	}
	return 0;
}

int fangs_normalize_host(const char *name, char *out, size_t cap)
{
	fangs__sink o;
	size_t n;
	if (!name || !out || cap == 0)
		return fangs_error_set(FANGS_EINVAL, "normalize host: missing name or buffer");
	fangs__sink_init(&o, out, cap);
	fangs__norm_host(name, &o);
	n = fangs__sink_end(&o);
	if (n >= cap || n > INT32_MAX)
		return fangs_error_set(FANGS_EINVAL, "normalized host needs %zu bytes, buffer has %zu", n + 1, cap);
	return (int)n;
}

int fangs_normalize_addr(const char *addr, char *out, size_t cap)
{
	unsigned char b[16];
	char txt[INET6_ADDRSTRLEN];
	int fam = fangs__parse_addr(addr, b);
	size_t n;
	if (!out || cap == 0)
		return fangs_error_set(FANGS_EINVAL, "normalize addr: missing buffer");
	if (!fam)
		return fangs_error_set(FANGS_EINVAL, "not an IP address: '%.64s'", addr ? addr : "(null)");
	if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, txt, sizeof(txt)))
		return fangs__error_errno(FANGS_EINVAL, "inet_ntop");
	n = strlen(txt);
	if (n >= cap)
		return fangs_error_set(FANGS_EINVAL, "normalized address needs %zu bytes, buffer has %zu", n + 1, cap);
	memcpy(out, txt, n + 1);
	return (int)n;
}

/* "addr", "addr:port", "[v6]" or "[v6]:port". */
int fangs__infra_parse(const char *text, fangs__infra *out)
{
	char host[64];
	const char *colon = NULL;
	size_t n;
	unsigned long port = 0;
	char *end;

	if (!text || !*text)
		return fangs_error_set(FANGS_EINVAL, "sandbox endpoint: empty");
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || (close[1] && close[1] != ':'))
			return fangs_error_set(FANGS_EINVAL, "sandbox endpoint '%s': expected [address]:port", text);
		n = (size_t)(close - text) + 1;
		colon = close[1] ? close + 1 : NULL;
	} else {
		colon = strchr(text, ':');
		/* a bare IPv6 address has more than one colon and no port */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		n = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (n >= sizeof(host))
		return fangs_error_set(FANGS_EINVAL, "sandbox endpoint '%.80s': too long", text);
	memcpy(host, text, n);
	host[n] = '\0';
	if (!(out->family = fangs__parse_addr(host, out->addr)))
		return fangs_error_set(FANGS_EINVAL, "sandbox endpoint '%s': not an IP address", text);
	if (colon) {
		port = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || port == 0 || port > 65535)
			return fangs_error_set(FANGS_EINVAL, "sandbox endpoint '%s': bad port", text);
	}
	out->port = (unsigned)port;
	return 0;
}

bool fangs__infra_match(const fangs__infra *x, size_t n, const char *addr, unsigned port)
{
	unsigned char b[16];
	int fam;
	if (!n || !(fam = fangs__parse_addr(addr, b)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (x[i].family == fam && !memcmp(x[i].addr, b, fam == 4 ? 4 : 16) && (!x[i].port || x[i].port == port))
			return true;
	return false;
}
