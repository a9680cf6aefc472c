/*
 * rules/rules.c - rule sets: the built-in rules, rule files, the config's
 * `rules:` section; and the small matchers rules share.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <math.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "rules/internal.h"

/* Generated at build time from libfangs/rules/builtin.yaml. */
extern const char fangs__builtin_rules_yaml[];

const char *fangs_rules_builtin_yaml(void)
{
	return fangs__builtin_rules_yaml;
}

static void strv_free(fangs__strv *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->items[i]);
	free(v->items);
}

static void regexv_free(fangs__regexv *v)
{
	for (size_t i = 0; i < v->count; i++)
		regfree(&v->items[i]);
	free(v->items);
}

void fangs__rule_clear(fangs__rule *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->description);
	free(r->source);
	free(r->match_text);
	strv_free(&r->path);
	strv_free(&r->path_not);
	strv_free(&r->exe);
	strv_free(&r->comm);
	strv_free(&r->parent_comm);
	strv_free(&r->ancestor_comm);
	regexv_free(&r->argv);
	regexv_free(&r->argv_not);
	strv_free(&r->host);
	strv_free(&r->host_not);
	strv_free(&r->op);
	strv_free(&r->detail);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

void fangs__rule_list_free(fangs__rule_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		fangs__rule_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int fangs__rule_list_put(fangs__rule_list *l, fangs__rule *r)
{
	for (size_t i = 0; i < l->count; i++) {
		if (!strcmp(l->items[i].id, r->id)) {
			fangs__rule_clear(&l->items[i]);
			l->items[i] = *r;
			memset(r, 0, sizeof(*r));
			return 0;
		}
	}
	if (FANGS_GROW(l))
		return FANGS_ENOMEM;
	l->items[l->count++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

bool fangs__rule_glob(const char *pattern, const char *s)
{
	const char *rest;
	if (strncmp(pattern, "~/", 2) != 0)
		return fnmatch(pattern, s, 0) == 0;
	/* ~/ is /root/ or /home/<user>/ */
	if (!strncmp(s, "/root/", 6))
		return fnmatch(pattern + 2, s + 6, 0) == 0;
	if (strncmp(s, "/home/", 6) || !(rest = strchr(s + 6, '/')))
		return false;
	return fnmatch(pattern + 2, rest + 1, 0) == 0;
}

bool fangs__rule_host(const char *pattern, const char *host)
{
	size_t pl, hl = strlen(host);
	bool below_only = !strncmp(pattern, "*.", 2);
	if (below_only)
		pattern += 2;
	pl = strlen(pattern);
	if (hl == pl)
		return !below_only && !strcmp(host, pattern);
	return hl > pl && host[hl - pl - 1] == '.' && !strcmp(host + hl - pl, pattern);
}

double fangs__entropy(const char *s, size_t n)
{
	unsigned counts[256] = {0};
	double h = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		counts[(unsigned char)s[i]]++;
	for (size_t i = 0; i < 256; i++) {
		if (counts[i]) {
			double p = (double)counts[i] / (double)n;
			h -= p * log2(p);
		}
	}
	return h;
}

int fangs_registry_host(const char *url, char *out, size_t cap)
{
	const char *p, *end;
	size_t n;
	if (!url || !out || !cap)
		return fangs_error_set(FANGS_EINVAL, "registry host: missing argument");
	p = strstr(url, "://");
	if (!p)
		return fangs_error_set(FANGS_EINVAL, "registry '%s' is not a URL", url);
	p += 3;
	if (strchr(p, '@') && strchr(p, '@') < p + strcspn(p, "/"))
		p = strchr(p, '@') + 1;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return fangs_error_set(FANGS_EINVAL, "registry '%s' is not a URL", url);
		p++;
	} else {
		end = p + strcspn(p, ":/?#");
	}
	n = (size_t)(end - p);
	if (!n || n >= cap)
		return fangs_error_set(FANGS_EINVAL, "registry '%s' has no usable host", url);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
	out[n] = '\0';
	return 0;
}

void fangs_registry_addrs_free(char **addrs, size_t n)
{
	for (size_t i = 0; addrs && i < n; i++)
		free(addrs[i]);
	free(addrs);
}

int fangs_registry_addrs(const char *host, char ***out, size_t *n)
{
	struct addrinfo hints, *res = NULL;
	size_t count = 0, cap = 0;
	char **v = NULL;
	int rc;
	if (!host || !*host || !out || !n)
		return fangs_error_set(FANGS_EINVAL, "registry addresses: missing argument");
	*out = NULL;
	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return fangs_error_set(rc == EAI_MEMORY ? FANGS_ENOMEM : FANGS_ENOTFOUND,
				       "registry host %s does not resolve: %s", host, gai_strerror(rc));
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		char txt[INET6_ADDRSTRLEN];
		const void *bytes;
		bool seen = false;
		if (a->ai_family == AF_INET)
			bytes = &((const struct sockaddr_in *)(const void *)a->ai_addr)->sin_addr;
		else if (a->ai_family == AF_INET6)
			bytes = &((const struct sockaddr_in6 *)(const void *)a->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(a->ai_family, bytes, txt, sizeof(txt)))
			continue;
		for (size_t i = 0; i < count && !seen; i++)
			seen = !strcmp(v[i], txt);
		if (seen)
			continue;
		if (count == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 4) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[count] = fangs__strdup(txt)))
			goto oom;
		count++;
	}
	freeaddrinfo(res);
	*out = v;
	*n = count;
	return 0;
oom:
	freeaddrinfo(res);
	fangs_registry_addrs_free(v, count);
	return fangs__error_oom();
}

int fangs_deviation_is_rule(const fangs_deviation *dev)
{
	return dev && dev->kind && !strncmp(dev->kind, "rule:", 5);
}

int fangs_rules_load_string(fangs_rules *rules, const char *yaml, size_t len, const char *name)
{
	if (!rules || (!yaml && len))
		return fangs_error_set(FANGS_EINVAL, "fangs_rules_load_string: NULL argument");
	return fangs__rules_parse_text(name ? name : "<rules>", yaml, len, &rules->rules);
}

int fangs_rules_load_file(fangs_rules *rules, const char *path)
{
	char *data;
	size_t len;
	int rc;
	if (!rules || !path)
		return fangs_error_set(FANGS_EINVAL, "fangs_rules_load_file: NULL argument");
	if (fangs__read_file(path, &data, &len))
		return fangs_error_set(FANGS_ECONFIG, "rules: %s", fangs_error_last());
	rc = fangs__rules_parse_text(path, data, len, &rules->rules);
	free(data);
	return rc;
}

static const size_t rules_sizes[] = {
	0,
	sizeof(fangs_rules_options),
};
FANGS__OPTS_SIZES_ASSERT(rules_sizes, FANGS_RULES_OPTIONS_VERSION);
static const fangs_rules_options rules_defaults = FANGS_RULES_OPTIONS_INIT;

int fangs_rules_options_init(fangs_rules_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &rules_defaults, rules_sizes, FANGS_RULES_OPTIONS_VERSION,
				"fangs_rules_options");
}

int fangs_rules_new(fangs_rules **out, const fangs_rules_options *opts)
{
	fangs_rules_options o;
	fangs_rules *rs;
	const fangs_config *cfg;
	int rc = 0;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_rules_new: out is NULL");
	*out = NULL;
	if ((rc = fangs__opts_copy(&o, opts, &rules_defaults, rules_sizes, FANGS_RULES_OPTIONS_VERSION,
				   "fangs_rules_options")) < 0)
		return rc;
	opts = &o;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return fangs__error_oom();
	cfg = rs->config = opts ? opts->config : NULL;
	if (!(opts && opts->no_builtin))
		rc = fangs__rules_parse_text("builtin", fangs__builtin_rules_yaml, strlen(fangs__builtin_rules_yaml),
					     &rs->rules);
	for (size_t i = 0; !rc && cfg && i < cfg->n_rule_files; i++)
		rc = fangs_rules_load_file(rs, cfg->rule_files[i]);
	if (!rc && cfg && cfg->n_rules_inline && cfg->rules_inline_text)
		rc = fangs__rules_parse_config(cfg->source ? cfg->source : "<config>", cfg->rules_inline_text,
					       strlen(cfg->rules_inline_text), &rs->rules);
	for (size_t i = 0; !rc && cfg && i < cfg->n_rules_disabled; i++) {
		size_t j;
		for (j = 0; j < rs->rules.count; j++)
			if (!strcmp(rs->rules.items[j].id, cfg->rules_disabled[i]))
				break;
		if (j == rs->rules.count)
			rc = fangs_error_set(FANGS_ECONFIG, "%s: rules.disable: no rule '%s'",
					     cfg->source ? cfg->source : "<config>", cfg->rules_disabled[i]);
		else
			rs->rules.items[j].enabled = 0;
	}
	if (rc) {
		fangs_rules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

void fangs_rules_free(fangs_rules *rules)
{
	if (!rules)
		return;
	fangs__rule_list_free(&rules->rules);
	free(rules);
}

size_t fangs_rules_count(const fangs_rules *rules)
{
	return rules ? rules->rules.count : 0;
}

int fangs_rules_get(const fangs_rules *rules, size_t i, fangs_rule_info *out)
{
	const fangs__rule *r;
	if (!rules || !out || i >= rules->rules.count)
		return fangs_error_set(FANGS_ENOTFOUND, "no rule #%zu", i);
	r = &rules->rules.items[i];
	out->id = r->id;
	out->description = r->description;
	out->severity = r->severity;
	out->enabled = r->enabled;
	out->source = r->source;
	out->line = r->line;
	out->match = r->match_text;
	return 0;
}

int fangs_rules_find(const fangs_rules *rules, const char *id, fangs_rule_info *out)
{
	for (size_t i = 0; rules && id && i < rules->rules.count; i++)
		if (!strcmp(rules->rules.items[i].id, id))
			return fangs_rules_get(rules, i, out);
	return fangs_error_set(FANGS_ENOTFOUND, "no rule '%s'", id ? id : "");
}
