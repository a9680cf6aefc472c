/*
 * findings/findings.c - a run's deviations and rule hits grouped into one
 * finding per behaviour (include/fangs/findings.h).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "core/internal.h"
#include "fangs/findings.h"
#include "fangs/rules.h"
#include "findings/internal.h"

#define CONTENT_KIND "content_changed"

/* A key two records share when they are one behaviour. */
typedef struct key_ref {
	char *key; /* "e:<event id>", "v:<actor>:<value>", "d:<domain>", "a:<address>",
		    * "l:<address>" (an address a name went to) */
	size_t rec;
	bool rule; /* for "v:" keys: the record is a rule hit */
} key_ref;

typedef struct keys {
	key_ref *items;
	size_t count;
	size_t capacity;
} keys;

typedef struct grouping {
	const fangs_deviation_list *recs;
	const fangs__psl *psl;
	const fangs_event **events; /* known evidence events, by id */
	size_t n_events;
	size_t *parent; /* union-find over the records */
	char **domain;  /* per record: its registrable domain, when a network record has a name */
	char **address; /* per record: its address, when a network record has one and no name */
	keys k;
} grouping;

static size_t find_root(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static void unite(size_t *parent, size_t a, size_t b)
{
	a = find_root(parent, a);
	b = find_root(parent, b);
	/* the lower index is the root: groups keep the list's order */
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

static int key_add(grouping *g, size_t rec, bool rule, char *key)
{
	if (!key)
		return fangs__error_oom();
	if (FANGS_GROW(&g->k)) {
		free(key);
		return FANGS_ENOMEM;
	}
	g->k.items[g->k.count++] = (key_ref){key, rec, rule};
	return 0;
}

static int by_event_id(const void *a, const void *b)
{
	const fangs_event *x = *(const fangs_event *const *)a, *y = *(const fangs_event *const *)b;
	return (x->id > y->id) - (x->id < y->id);
}

static const fangs_event *event_get(const grouping *g, int64_t id)
{
	fangs_event probe = {0};
	const fangs_event *pp = &probe, *const * hit;
	if (!g->n_events)
		return NULL;
	probe.id = id;
	hit = bsearch(&pp, g->events, g->n_events, sizeof(*g->events), by_event_id);
	return hit ? *hit : NULL;
}

static bool is_content(const fangs_deviation *d)
{
	return d->kind && !strcmp(d->kind, CONTENT_KIND);
}

static bool is_net_kind(const char *kind)
{
	return kind && (!strcmp(kind, "net_new_dns") || !strcmp(kind, "net_new_https_host") ||
			!strcmp(kind, "net_new_destination"));
}

static bool is_net_event(const fangs_event *ev)
{
	switch (ev->kind) {
	case FANGS_EV_NET_CONNECT:
	case FANGS_EV_DNS_QUERY:
	case FANGS_EV_TLS_SNI:
	case FANGS_EV_PROXY_REQUEST:
		return true;
	case FANGS_EV_NONE:
	case FANGS_EV_FILE_OPEN:
	case FANGS_EV_EXEC:
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_SYSCALL:
		return false;
	}
	return false;
}

/* The address of a "203.0.113.7:443/tcp" or "[2001:db8::1]:53/udp" value. */
static bool value_address(const char *v, char *out, size_t cap)
{
	size_t len = strcspn(v, "/");
	const char *colon;
	if (len && v[0] == '[') {
		const char *close = memchr(v, ']', len);
		return close && fangs__addr_canon(v, (size_t)(close - v) + 1, out, cap);
	}
	colon = memchr(v, ':', len);
	if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - v)))
		len = (size_t)(colon - v);
	return fangs__addr_canon(v, len, out, cap);
}

static int addr_key(grouping *g, size_t rec, const char *addr)
{
	if (!g->address[rec] && !(g->address[rec] = fangs__strdup(addr)))
		return FANGS_ENOMEM;
	return key_add(g, rec, false, fangs__asprintf("a:%s", addr));
}

/* A name's key: its registrable domain ("d:"), or its address ("a:") when
 * it is one. The record's first domain or address is remembered. */
static int name_key(grouping *g, size_t rec, const char *name)
{
	char dom[256], addr[64];
	if (!name || !*name)
		return 0;
	if (fangs__addr_canon(name, strlen(name), addr, sizeof(addr)))
		return addr_key(g, rec, addr);
	if (fangs__psl_registrable(g->psl, name, dom, sizeof(dom)))
		return 0;
	if (!g->domain[rec] && !(g->domain[rec] = fangs__strdup(dom)))
		return FANGS_ENOMEM;
	return key_add(g, rec, false, fangs__asprintf("d:%s", dom));
}

/* The address a TLS handshake or proxy request went to. A record with a
 * name only links ("l:") its address to its domain: connections to it
 * join that domain, but two domains on one address (a CDN's) stay two. */
static int event_addr_key(grouping *g, size_t rec, const fangs_event *ev)
{
	char addr[64];
	if (!ev->addr || ev->family == FANGS_FAMILY_UNIX ||
	    !fangs__addr_canon(ev->addr, strlen(ev->addr), addr, sizeof(addr)))
		return 0;
	if (g->domain[rec])
		return key_add(g, rec, false, fangs__asprintf("l:%s", addr));
	return addr_key(g, rec, addr);
}

/* The network keys of one record: from its kind and value, and from its
 * evidence events when they are known. */
static int net_keys(grouping *g, size_t rec)
{
	const fangs_deviation *d = &g->recs->items[rec];
	const fangs_event *first = d->n_evidence ? event_get(g, d->evidence[0]) : NULL;
	char addr[64];
	int rc = 0;

	if (is_net_kind(d->kind)) {
		if (!strcmp(d->kind, "net_new_destination")) {
			if (d->value && value_address(d->value, addr, sizeof(addr)) && (rc = addr_key(g, rec, addr)))
				return rc;
		} else if ((rc = name_key(g, rec, d->value))) {
			return rc;
		}
	} else if (!fangs_deviation_is_rule(d) || !first || !is_net_event(first)) {
		return 0;
	}
	for (size_t i = 0; i < d->n_evidence && rc == 0; i++) {
		const fangs_event *ev = event_get(g, d->evidence[i]);
		if (!ev)
			continue;
		switch (ev->kind) {
		case FANGS_EV_DNS_QUERY:
			/* its address is the resolver's, not the name's */
			rc = name_key(g, rec, ev->qname);
			break;
		case FANGS_EV_TLS_SNI:
			if (!(rc = name_key(g, rec, ev->sni)))
				rc = event_addr_key(g, rec, ev);
			break;
		case FANGS_EV_PROXY_REQUEST:
			if (!(rc = name_key(g, rec, ev->host)))
				rc = event_addr_key(g, rec, ev);
			break;
		case FANGS_EV_NET_CONNECT:
			rc = event_addr_key(g, rec, ev);
			break;
		case FANGS_EV_NONE:
		case FANGS_EV_FILE_OPEN:
		case FANGS_EV_EXEC:
		case FANGS_EV_PROC_FORK:
		case FANGS_EV_PROC_EXIT:
		case FANGS_EV_SYSCALL:
			break;
		}
	}
	return rc;
}

static int by_key(const void *a, const void *b)
{
	const key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return (x->rec > y->rec) - (x->rec < y->rec);
}

/* The first key_ref with this key in the sorted keys; count when none. */
static size_t key_first(const keys *k, const char *key)
{
	size_t lo = 0, hi = k->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(k->items[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->count && !strcmp(k->items[lo].key, key) ? lo : k->count;
}

/* Unites the records that share a key. A value is shared only through a
 * rule hit: two deviations are two fingerprints, however alike. An
 * address linked to one domain only joins that domain's connections. */
static void unite_keys(grouping *g)
{
	if (g->k.count)
		qsort(g->k.items, g->k.count, sizeof(*g->k.items), by_key);
	for (size_t i = 0, j; i < g->k.count; i = j) {
		const key_ref *anchor = NULL;
		const char *key = g->k.items[i].key;
		bool one_domain = true;
		for (j = i; j < g->k.count && !strcmp(g->k.items[j].key, key); j++) {
			if (key[0] == 'l')
				one_domain = one_domain &&
					     !strcmp(g->domain[g->k.items[j].rec], g->domain[g->k.items[i].rec]);
			else if (!anchor && (key[0] != 'v' || g->k.items[j].rule))
				anchor = &g->k.items[j];
		}
		for (size_t m = i; anchor && m < j; m++)
			unite(g->parent, anchor->rec, g->k.items[m].rec);
		if (key[0] == 'l' && one_domain) {
			char akey[80];
			size_t a;
			snprintf(akey, sizeof(akey), "a:%s", key + 2);
			for (a = key_first(&g->k, akey); a < g->k.count && !strcmp(g->k.items[a].key, akey); a++)
				unite(g->parent, g->k.items[i].rec, g->k.items[a].rec);
		}
	}
}

/* ---- building the findings ---- */

static int str_add_once(char ***arr, size_t *n, const char *s)
{
	char **na;
	if (!s)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*arr)[i], s))
			return 0;
	if (!(na = realloc(*arr, (*n + 1) * sizeof(*na))))
		return fangs__error_oom();
	*arr = na;
	if (!(na[*n] = fangs__strdup(s)))
		return FANGS_ENOMEM;
	(*n)++;
	return 0;
}

static int origin_copy(fangs_origin *dst, const fangs_origin *src)
{
	if ((src->package && !(dst->package = fangs__strdup(src->package))) ||
	    (src->version && !(dst->version = fangs__strdup(src->version))) ||
	    (src->script && !(dst->script = fangs__strdup(src->script))) ||
	    (src->command && !(dst->command = fangs__strdup(src->command))))
		return FANGS_ENOMEM;
	return 0;
}

static int by_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The order of a finding's records: most severe first, a rule hit (it says
 * what it means) before a deviation, then the list's order. */
typedef struct weight {
	fangs_severity severity;
	int rule;
	size_t index;
} weight;

static int by_weight(const void *a, const void *b)
{
	const weight *x = a, *y = b;
	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static int sort_members(const fangs_deviation_list *recs, size_t *members, size_t n)
{
	weight *w = malloc(n * sizeof(*w));
	if (!w)
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		const fangs_deviation *d = &recs->items[members[i]];
		w[i] = (weight){d->severity, fangs_deviation_is_rule(d) != 0, members[i]};
	}
	qsort(w, n, sizeof(*w), by_weight);
	for (size_t i = 0; i < n; i++)
		members[i] = w[i].index;
	free(w);
	return 0;
}

static int finding_fill(const grouping *g, fangs_finding *f)
{
	const fangs_deviation_list *recs = g->recs;
	size_t *members = f->records, n = f->n_records;
	const fangs_deviation *main, *rule = NULL;
	const char *domain = NULL, *address = NULL, *desc;
	size_t n_ev = 0;
	int rc;

	if ((rc = sort_members(recs, members, n)))
		return rc;
	main = &recs->items[members[0]];
	f->severity = main->severity;
	f->actor = main->actor;
	if (!(f->record_ids = calloc(n, sizeof(*f->record_ids))) || !(f->kind = fangs__strdup(main->kind)))
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		const fangs_deviation *d = &recs->items[members[i]];
		f->record_ids[i] = d->id;
		n_ev += d->n_evidence;
		if (fangs_deviation_is_rule(d)) {
			f->n_rule_hits++;
			if (!rule)
				rule = d;
		}
		if (!domain)
			domain = g->domain[members[i]];
		if (!address)
			address = g->address[members[i]];
		if ((rc = str_add_once(&f->labels, &f->n_labels, d->kind)))
			return rc;
	}
	f->network = domain || address;
	for (size_t i = 0; i < n; i++) {
		const char *v = recs->items[members[i]].value;
		/* a network finding lists names and addresses, not what a rule
		 * says of them ("evil.example (21 names)") */
		if (v && f->network && strpbrk(v, " \t"))
			continue;
		if ((rc = str_add_once(&f->values, &f->n_values, v)))
			return rc;
	}
	if (n_ev) {
		size_t w = 0;
		if (!(f->evidence = malloc(n_ev * sizeof(*f->evidence))))
			return fangs__error_oom();
		for (size_t i = 0; i < n; i++) {
			const fangs_deviation *d = &recs->items[members[i]];
			if (d->n_evidence)
				memcpy(f->evidence + w, d->evidence, d->n_evidence * sizeof(*d->evidence));
			w += d->n_evidence;
		}
		qsort(f->evidence, n_ev, sizeof(*f->evidence), by_i64);
		for (size_t i = 0; i < n_ev; i++)
			if (!f->n_evidence || f->evidence[f->n_evidence - 1] != f->evidence[i])
				f->evidence[f->n_evidence++] = f->evidence[i];
	}
	if (domain && !(f->domain = fangs__strdup(domain)))
		return FANGS_ENOMEM;
	if (f->n_values == 1)
		f->value = fangs__strdup(f->values[0]);
	else if (!domain && !address)
		f->value = fangs__strdup(main->value);
	else
		f->value = fangs__strdup(domain ? domain : address);
	if ((main->value || domain || address) && !f->value)
		return FANGS_ENOMEM;
	desc = rule && rule->description ? rule->description : main->description;
	if (desc && !(f->description = fangs__strdup(desc)))
		return FANGS_ENOMEM;
	if (main->command && !(f->command = fangs__strdup(main->command)))
		return FANGS_ENOMEM;
	return origin_copy(&f->origin, &main->origin);
}

static void finding_clear(fangs_finding *f)
{
	free(f->kind);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->value);
	free(f->domain);
	for (size_t i = 0; i < f->n_values; i++)
		free(f->values[i]);
	free(f->values);
	free(f->description);
	free(f->origin.package);
	free(f->origin.version);
	free(f->origin.script);
	free(f->origin.command);
	free(f->command);
	free(f->records);
	free(f->record_ids);
	free(f->evidence);
	memset(f, 0, sizeof(*f));
}

void fangs_finding_list_free(fangs_finding_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		finding_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

long fangs_finding_list_find(const fangs_finding_list *list, size_t index)
{
	for (size_t i = 0; list && i < list->count; i++)
		for (size_t j = 0; j < list->items[i].n_records; j++)
			if (list->items[i].records[j] == index)
				return (long)i;
	return -1;
}

/* Most severe first; among equals, the one whose first record comes first. */
static int by_finding(const void *a, const void *b)
{
	const fangs_finding *x = a, *y = b;
	size_t fx = x->records[0], fy = y->records[0];
	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	for (size_t i = 1; i < x->n_records; i++)
		fx = x->records[i] < fx ? x->records[i] : fx;
	for (size_t i = 1; i < y->n_records; i++)
		fy = y->records[i] < fy ? y->records[i] : fy;
	return (fx > fy) - (fx < fy);
}

static int build(grouping *g, fangs_finding_list *out)
{
	const size_t n = g->recs->count;
	size_t *sizes = calloc(n ? n : 1, sizeof(*sizes));
	/* set for every root before it is read below; zeroed all the same,
	 * the analyzer cannot tell that find_root() only returns roots */
	long *slot = calloc(n ? n : 1, sizeof(*slot));
	int rc = 0;

	if (!sizes || !slot) {
		free(sizes);
		free(slot);
		return fangs__error_oom();
	}
	for (size_t i = 0; i < n; i++)
		sizes[find_root(g->parent, i)]++;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t root = find_root(g->parent, i), *members;
		fangs_finding *f;
		if (root != i) {
			slot[i] = -1;
			continue;
		}
		if (FANGS_GROW(out) || !(members = malloc(sizes[i] * sizeof(*members)))) {
			rc = fangs__error_oom();
			break;
		}
		f = &out->items[out->count++];
		memset(f, 0, sizeof(*f));
		f->records = members;
		slot[i] = (long)(out->count - 1);
	}
	/* members in list order, then each finding sorted and filled */
	for (size_t i = 0; i < n && rc == 0; i++) {
		fangs_finding *f = &out->items[slot[find_root(g->parent, i)]];
		f->records[f->n_records++] = i;
	}
	for (size_t i = 0; i < out->count && rc == 0; i++) {
		fangs_finding *f = &out->items[i];
		rc = finding_fill(g, f);
	}
	if (rc == 0 && out->count)
		qsort(out->items, out->count, sizeof(*out->items), by_finding);
	free(sizes);
	free(slot);
	return rc;
}

static const size_t findings_sizes[] = {
	0,
	sizeof(fangs_findings_options),
};
FANGS__OPTS_SIZES_ASSERT(findings_sizes, FANGS_FINDINGS_OPTIONS_VERSION);
static const fangs_findings_options findings_defaults = FANGS_FINDINGS_OPTIONS_INIT;

int fangs_findings_options_init(fangs_findings_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &findings_defaults, findings_sizes, FANGS_FINDINGS_OPTIONS_VERSION,
				"fangs_findings_options");
}

int fangs_findings_group(const fangs_deviation_list *records, const fangs_findings_options *opts,
			 fangs_finding_list *out)
{
	fangs_findings_options o;
	grouping g = {0};
	size_t n;
	int rc = 0, owned = 0;

	if (!records || !out || (records->count && !records->items))
		return fangs_error_set(FANGS_EINVAL, "fangs_findings_group: NULL argument");
	if ((rc = fangs__opts_copy(&o, opts, &findings_defaults, findings_sizes, FANGS_FINDINGS_OPTIONS_VERSION,
				   "fangs_findings_options")) < 0)
		return rc;
	opts = &o;
	memset(out, 0, sizeof(*out));
	n = records->count;
	for (size_t i = 0; i < n; i++) {
		if (fangs_deviation_is_rule(&records->items[i]))
			out->n_rule_hits++;
		else
			out->n_deviations++;
	}
	if (!n)
		return 0;
	g.recs = records;
	g.psl = fangs__psl_get(opts->suffix_list, &owned);
	g.parent = malloc(n * sizeof(*g.parent));
	g.domain = calloc(n, sizeof(*g.domain));
	g.address = calloc(n, sizeof(*g.address));
	if (opts->events && opts->n_events)
		g.events = malloc(opts->n_events * sizeof(*g.events));
	if (!g.parent || !g.domain || !g.address || (opts->events && opts->n_events && !g.events)) {
		rc = fangs__error_oom();
		goto out;
	}
	if (g.events) {
		for (size_t i = 0; i < opts->n_events; i++)
			g.events[i] = &opts->events[i];
		g.n_events = opts->n_events;
		if (g.n_events)
			qsort(g.events, g.n_events, sizeof(*g.events), by_event_id);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const fangs_deviation *d = &records->items[i];
		bool rule = fangs_deviation_is_rule(d) != 0;
		g.parent[i] = i;
		/* what a release ships is its own finding */
		if (is_content(d))
			continue;
		for (size_t e = 0; e < d->n_evidence && rc == 0; e++)
			rc = key_add(&g, i, rule, fangs__asprintf("e:%lld", (long long)d->evidence[e]));
		if (rc == 0 && d->value && *d->value)
			rc = key_add(&g, i, rule, fangs__asprintf("v:%d:%s", (int)d->actor, d->value));
		if (rc == 0)
			rc = net_keys(&g, i);
	}
	if (rc == 0) {
		unite_keys(&g);
		rc = build(&g, out);
	}
out:
	for (size_t i = 0; i < g.k.count; i++)
		free(g.k.items[i].key);
	free(g.k.items);
	for (size_t i = 0; g.domain && i < n; i++)
		free(g.domain[i]);
	for (size_t i = 0; g.address && i < n; i++)
		free(g.address[i]);
	free(g.domain);
	free(g.address);
	free(g.parent);
	free(g.events);
	if (owned)
		fangs__psl_free(g.psl);
	if (rc) {
		fangs_finding_list_free(out);
		if (rc == FANGS_ENOMEM)
			fangs__error_oom();
	}
	return rc;
}

int fangs_findings_load(fangs_storage *st, const fangs_deviation_list *records, const fangs_findings_options *opts,
			fangs_finding_list *out)
{
	fangs_findings_options o = FANGS_FINDINGS_OPTIONS_INIT;
	fangs_event_list evs = {0};
	int64_t *ids = NULL;
	size_t n = 0, total = 0;
	int rc;

	if (!st || !records || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_findings_load: NULL argument");
	if (opts && (rc = FANGS__OPTS_CHECK(opts, FANGS_FINDINGS_OPTIONS_VERSION, "fangs_findings_options")) < 0)
		return rc;
	if (opts)
		o.suffix_list = opts->suffix_list;
	for (size_t i = 0; i < records->count; i++)
		total += records->items[i].n_evidence;
	if (total) {
		if (!(ids = malloc(total * sizeof(*ids))))
			return fangs__error_oom();
		for (size_t i = 0; i < records->count; i++) {
			if (records->items[i].n_evidence)
				memcpy(ids + n, records->items[i].evidence,
				       records->items[i].n_evidence * sizeof(*ids));
			n += records->items[i].n_evidence;
		}
		qsort(ids, n, sizeof(*ids), by_i64);
		total = n;
		n = 0;
		for (size_t i = 0; i < total; i++)
			if (!n || ids[n - 1] != ids[i])
				ids[n++] = ids[i];
		if ((rc = fangs_storage_events_get(st, ids, n, &evs))) {
			free(ids);
			fangs_event_list_free(&evs);
			return rc;
		}
		o.events = evs.items;
		o.n_events = evs.count;
	}
	rc = fangs_findings_group(records, &o, out);
	free(ids);
	fangs_event_list_free(&evs);
	return rc;
}
