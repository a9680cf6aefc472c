/*
 * findings/psl.c - registrable domains from the Public Suffix List
 * (https://publicsuffix.org/list/: rules "uk", wildcards "*.ck",
 * exceptions "!www.ck"; a name no rule matches has its last label as its
 * public suffix). Without the file, a name's last two labels.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/findings.h"
#include "findings/internal.h"

/* Labels of a name: DNS allows 127 at most in 253 bytes. */
#define MAX_LABELS 128
#define MAX_NAME 254

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static fangs__psl *psl_load(const char *path)
{
	fangs__psl *p = calloc(1, sizeof(*p));
	size_t len = 0, cap = 0;
	char *line, *save = NULL;

	if (!p)
		return NULL;
	if (fangs__read_file(path, &p->text, &len)) {
		free(p);
		return NULL;
	}
	for (line = strtok_r(p->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || (line[0] == '/' && line[1] == '/'))
			continue;
		n = strcspn(line, " \t\r");
		line[n] = '\0';
		for (char *c = line; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			char **nr = realloc(p->rules, ncap * sizeof(*nr));
			if (!nr) {
				fangs__psl_free(p);
				return NULL;
			}
			p->rules = nr;
			cap = ncap;
		}
		p->rules[p->n++] = line;
	}
	if (p->n == 0) {
		fangs__psl_free(p);
		return NULL;
	}
	qsort(p->rules, p->n, sizeof(*p->rules), by_str);
	return p;
}

void fangs__psl_free(const fangs__psl *psl)
{
	fangs__psl *p = (fangs__psl *)psl;
	if (!p)
		return;
	free(p->rules);
	free(p->text);
	free(p);
}

static fangs__psl *default_psl;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int warned;

static void warn_missing(const char *path)
{
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		fangs_warn("public suffix list %s unreadable: network findings are grouped by the last two labels "
			   "of their names (install Debian's publicsuffix package)",
			   path);
}

static void load_default(void)
{
	default_psl = psl_load(FANGS_PUBLIC_SUFFIX_LIST);
}

const fangs__psl *fangs__psl_get(const char *path, int *owned)
{
	fangs__psl *p;
	*owned = 0;
	if (path && !*path)
		return NULL;
	if (!path || !strcmp(path, FANGS_PUBLIC_SUFFIX_LIST)) {
		pthread_once(&default_once, load_default);
		if (!default_psl)
			warn_missing(FANGS_PUBLIC_SUFFIX_LIST);
		return default_psl;
	}
	if (!(p = psl_load(path))) {
		warn_missing(path);
		return NULL;
	}
	*owned = 1;
	return p;
}

static bool has_rule(const fangs__psl *p, const char *prefix, const char *suffix)
{
	char key[MAX_NAME + 3];
	const char *k = key;
	if (!prefix[0])
		k = suffix;
	else if ((size_t)snprintf(key, sizeof(key), "%s%s", prefix, suffix) >= sizeof(key))
		return false;
	return bsearch(&k, p->rules, p->n, sizeof(*p->rules), by_str) != NULL;
}

int fangs__addr_canon(const char *s, size_t len, char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN + 2];
	unsigned char b[16];
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, b) == 1)
		return inet_ntop(AF_INET, b, out, (socklen_t)cap) != NULL;
	if (inet_pton(AF_INET6, buf, b) != 1)
		return 0;
	/* ::ffff:a.b.c.d is the IPv4 address */
	if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
		return inet_ntop(AF_INET, b + 12, out, (socklen_t)cap) != NULL;
	return inet_ntop(AF_INET6, b, out, (socklen_t)cap) != NULL;
}

int fangs__psl_registrable(const fangs__psl *psl, const char *name, char *out, size_t cap)
{
	char low[MAX_NAME], addr[INET6_ADDRSTRLEN];
	size_t off[MAX_LABELS], n = 0, len, ps, start;

	if (!name)
		return FANGS_EINVAL;
	len = strlen(name);
	while (len && name[len - 1] == '.')
		len--;
	while (len && name[0] == '.') {
		name++;
		len--;
	}
	if (!len || len >= sizeof(low) || fangs__addr_canon(name, len, addr, sizeof(addr)))
		return FANGS_EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		low[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		if (c == '.' && (i + 1 == len || name[i + 1] == '.'))
			return FANGS_EINVAL;
	}
	low[len] = '\0';
	off[n++] = 0;
	for (size_t i = 0; i < len; i++)
		if (low[i] == '.') {
			if (n == MAX_LABELS)
				return FANGS_EINVAL;
			off[n++] = i + 1;
		}
	/* the default rule "*": the last label */
	ps = n - 1;
	if (psl) {
		/* the longest suffix a rule matches; an exception names the
		 * suffix one label shorter, and is longer than its wildcard */
		for (size_t i = 0; i < n; i++) {
			const char *suffix = low + off[i];
			if (has_rule(psl, "!", suffix)) {
				ps = i + 1 < n ? i + 1 : i;
				break;
			}
			if (has_rule(psl, "", suffix) || (i + 1 < n && has_rule(psl, "*.", low + off[i + 1]))) {
				ps = i;
				break;
			}
		}
	}
	start = ps == 0 ? 0 : off[ps - 1];
	if (len - start >= cap)
		return FANGS_EINVAL;
	memcpy(out, low + start, len - start + 1);
	return 0;
}

int fangs_registrable_domain(const char *name, const char *suffix_list, char *out, size_t cap)
{
	int owned = 0, rc;
	const fangs__psl *p;
	if (!name || !out || !cap)
		return fangs_error_set(FANGS_EINVAL, "fangs_registrable_domain: NULL argument");
	p = fangs__psl_get(suffix_list, &owned);
	rc = fangs__psl_registrable(p, name, out, cap);
	if (owned)
		fangs__psl_free(p);
	if (rc)
		return fangs_error_set(FANGS_EINVAL, "'%.80s' is no host name (an address, empty, or longer than %zu)",
				       name, cap - 1);
	return 0;
}
