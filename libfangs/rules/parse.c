/*
 * rules/parse.c - rule definitions from YAML (libyaml document API, so
 * every error can name the file, the line and the rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/rules_check.h"
#include "rules/internal.h"

typedef struct rctx {
	const char *file;
	yaml_document_t *doc;
	const char *rule; /* id, or "#N" until the id is known */
	fangs__rule *r;
	fangs_buf text;
} rctx;

static int rerr(rctx *c, yaml_node_t *n, const char *fmt, ...) FANGS_PRINTF(3, 4);

static int rerr(rctx *c, yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fangs_error_set(FANGS_ECONFIG, "%s:%lu: rule %s: %s", c->file,
			       n ? (unsigned long)n->start_mark.line + 1 : 0UL, c->rule, msg);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(rctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static int want_bool(rctx *c, yaml_node_t *n, const char *key, int *out)
{
	const char *s = scalar(n);
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes"))) {
		*out = 1;
		return 0;
	}
	if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no"))) {
		*out = 0;
		return 0;
	}
	return rerr(c, n, "%s: expected true or false", key);
}

static int want_number(rctx *c, yaml_node_t *n, const char *key, double min, double max, double *out)
{
	const char *s = scalar(n);
	char *end;
	double v;
	if (!s || !*s)
		return rerr(c, n, "%s: expected a number", key);
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno)
		return rerr(c, n, "%s: expected a number", key);
	if (v < min || v > max)
		return rerr(c, n, "%s: must be between %g and %g", key, min, max);
	*out = v;
	return 0;
}

/* A scalar or a list of scalars, each handed to `fn`. */
typedef int (*item_fn)(rctx *c, yaml_node_t *n, const char *key, const char *value, void *dst);

static int each_item(rctx *c, yaml_node_t *n, const char *key, item_fn fn, void *dst)
{
	int rc;
	if (n && n->type == YAML_SCALAR_NODE)
		return fn(c, n, key, scalar(n), dst);
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return rerr(c, n, "%s: expected a string or a list of strings", key);
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		return rerr(c, n, "%s: empty list", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node(c, *it);
		if (!scalar(item))
			return rerr(c, item, "%s: expected a list of strings", key);
		if ((rc = fn(c, item, key, scalar(item), dst)))
			return rc;
	}
	return 0;
}

static int strv_push(fangs__strv *v, const char *s)
{
	char *d = fangs__strdup(s);
	if (!d || FANGS_GROW(v)) {
		free(d);
		return FANGS_ENOMEM;
	}
	v->items[v->count++] = d;
	return 0;
}

static int add_string(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	(void)c;
	(void)n;
	(void)key;
	return strv_push(dst, v);
}

static int add_path(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	if (v[0] != '/' && strncmp(v, "~/", 2) != 0)
		return rerr(c, n, "%s: '%s' must be absolute or start with ~/", key, v);
	return strv_push(dst, v);
}

static int add_host(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	char low[256];
	size_t l = strlen(v);
	const char *h = strncmp(v, "*.", 2) == 0 ? v + 2 : v;
	if (!*h || l >= sizeof(low) || strchr(h, '*') || strchr(h, '/'))
		return rerr(c, n, "%s: '%s' is not a host name or *.domain", key, v);
	for (size_t i = 0; i <= l; i++)
		low[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
	return strv_push(dst, low);
}

static int add_regex(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	fangs__regexv *rv = dst;
	int e;
	if (FANGS_GROW(rv))
		return FANGS_ENOMEM;
	e = regcomp(&rv->items[rv->count], v, REG_EXTENDED | REG_NOSUB);
	if (e) {
		char msg[200];
		regerror(e, &rv->items[rv->count], msg, sizeof(msg));
		return rerr(c, n, "%s: bad regular expression '%s': %s", key, v, msg);
	}
	rv->count++;
	return 0;
}

static int add_kind(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	fangs_event_kind k = fangs_event_kind_parse(v);
	if (k == FANGS_EV_NONE)
		return rerr(c, n,
			    "%s: unknown event kind '%s' (expected file_open, exec, net_connect, dns_query, "
			    "tls_sni, process_fork, process_exit, proxy_request, syscall)",
			    key, v);
	_Static_assert(FANGS_EV_KIND_MAX < 32, "a rule's kinds are the bits of a uint32_t");
	*(uint32_t *)dst |= 1u << k;
	return 0;
}

static int add_port(rctx *c, yaml_node_t *n, const char *key, const char *v, void *dst)
{
	fangs__rule *r = dst;
	char *end;
	unsigned long p = strtoul(v, &end, 10);
	uint16_t *np;
	if (!*v || *end || p > 65535)
		return rerr(c, n, "%s: '%s' is not a port number", key, v);
	np = realloc(r->ports, (r->n_ports + 1) * sizeof(*np));
	if (!np)
		return fangs__error_oom();
	r->ports = np;
	r->ports[r->n_ports++] = (uint16_t)p;
	return 0;
}

/* Nested mappings of numbers (dns_label, subdomains). */
typedef struct num_key {
	const char *name;
	double min, max;
	double *out;
} num_key;

static int parse_numbers(rctx *c, yaml_node_t *n, const char *key, num_key *keys, size_t nkeys)
{
	int rc;
	if (!n || n->type != YAML_MAPPING_NODE)
		return rerr(c, n, "%s: expected a mapping", key);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(c, p->key));
		size_t i;
		for (i = 0; k && i < nkeys; i++)
			if (!strcmp(k, keys[i].name))
				break;
		if (!k || i == nkeys)
			return rerr(c, node(c, p->key), "%s: unknown key '%s'", key, k ? k : "?");
		if ((rc = want_number(c, node(c, p->value), keys[i].name, keys[i].min, keys[i].max, keys[i].out)))
			return rc;
	}
	return 0;
}

/* The match as a person reads it: "key: value" or "key: [a, b]". */
static void text_node(rctx *c, yaml_node_t *n)
{
	if (scalar(n)) {
		fangs_buf_puts(&c->text, scalar(n));
	} else if (n && n->type == YAML_SEQUENCE_NODE) {
		fangs_buf_puts(&c->text, "[");
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			if (it != n->data.sequence.items.start)
				fangs_buf_puts(&c->text, ", ");
			text_node(c, node(c, *it));
		}
		fangs_buf_puts(&c->text, "]");
	} else if (n && n->type == YAML_MAPPING_NODE) {
		fangs_buf_puts(&c->text, "{");
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			if (p != n->data.mapping.pairs.start)
				fangs_buf_puts(&c->text, ", ");
			text_node(c, node(c, p->key));
			fangs_buf_puts(&c->text, ": ");
			text_node(c, node(c, p->value));
		}
		fangs_buf_puts(&c->text, "}");
	}
}

static int match_flag(rctx *c, yaml_node_t *v, const char *key, int *out)
{
	int rc = want_bool(c, v, key, out);
	if (!rc && !*out)
		return rerr(c, v, "%s: only 'true' has a meaning here (leave the key out instead)", key);
	return rc;
}

static int match_pair(rctx *c, yaml_node_t *k, const char *key, yaml_node_t *v)
{
	fangs__rule *r = c->r;
	const char *s = scalar(v);
	if (!strcmp(key, "kind"))
		return each_item(c, v, key, add_kind, &r->kinds);
	if (!strcmp(key, "actor")) {
		fangs_actor a;
		if (!s || fangs_actor_parse(s, &a))
			return rerr(c, v, "actor: expected npm, script or import");
		r->actor = (int)a;
		return 0;
	}
	if (!strcmp(key, "open")) {
		if (s && !strcmp(s, "read"))
			r->open = FANGS_OPEN_READ;
		else if (s && !strcmp(s, "write"))
			r->open = FANGS_OPEN_WRITE;
		else
			return rerr(c, v, "open: expected read or write");
		return 0;
	}
	if (!strcmp(key, "path"))
		return each_item(c, v, key, add_path, &r->path);
	if (!strcmp(key, "path_not"))
		return each_item(c, v, key, add_path, &r->path_not);
	if (!strcmp(key, "exe"))
		return each_item(c, v, key, add_path, &r->exe);
	if (!strcmp(key, "comm"))
		return each_item(c, v, key, add_string, &r->comm);
	if (!strcmp(key, "parent_comm"))
		return each_item(c, v, key, add_string, &r->parent_comm);
	if (!strcmp(key, "ancestor_comm"))
		return each_item(c, v, key, add_string, &r->ancestor_comm);
	if (!strcmp(key, "argv"))
		return each_item(c, v, key, add_regex, &r->argv);
	if (!strcmp(key, "argv_not"))
		return each_item(c, v, key, add_regex, &r->argv_not);
	if (!strcmp(key, "host"))
		return each_item(c, v, key, add_host, &r->host);
	if (!strcmp(key, "host_not"))
		return each_item(c, v, key, add_host, &r->host_not);
	if (!strcmp(key, "port"))
		return each_item(c, v, key, add_port, r);
	if (!strcmp(key, "cred_path"))
		return match_flag(c, v, key, &r->cred_path);
	if (!strcmp(key, "not_registry"))
		return match_flag(c, v, key, &r->not_registry);
	if (!strcmp(key, "download_host"))
		return match_flag(c, v, key, &r->download_host);
	if (!strcmp(key, "project_env")) {
		int on = 0, rc = want_bool(c, v, key, &on);
		r->project_env = on ? 1 : -1;
		return rc;
	}
	if (!strcmp(key, "parent_is_script"))
		return match_flag(c, v, key, &r->parent_is_script);
	if (!strcmp(key, "proc_environ_other"))
		return match_flag(c, v, key, &r->proc_environ_other);
	if (!strcmp(key, "exec_written"))
		return match_flag(c, v, key, &r->exec_written);
	if (!strcmp(key, "exec_fileless"))
		return match_flag(c, v, key, &r->exec_fileless);
	if (!strcmp(key, "alive_after_install"))
		return match_flag(c, v, key, &r->alive_after_install);
	if (!strcmp(key, "origin_env")) {
		if (s && !strcmp(s, "forged"))
			r->origin_env = FANGS__ORIGIN_ENV_FORGED;
		else if (s && !strcmp(s, "cleared"))
			r->origin_env = FANGS__ORIGIN_ENV_CLEARED;
		else
			return rerr(c, v, "%s: expected forged or cleared", key);
		return 0;
	}
	if (!strcmp(key, "op"))
		return each_item(c, v, key, add_string, &r->op);
	if (!strcmp(key, "detail"))
		return each_item(c, v, key, add_string, &r->detail);
	if (!strcmp(key, "events_lost"))
		return match_flag(c, v, key, &r->events_lost);
	if (!strcmp(key, "dns_label")) {
		double len = 30, ent = 0, dig = 0;
		num_key keys[] = {
			{"min_length", 1, 63, &len}, {"min_entropy", 0, 8, &ent}, {"min_digit_share", 0, 1, &dig}};
		int rc = parse_numbers(c, v, key, keys, FANGS_ARRAY_SIZE(keys));
		r->label_min_len = (unsigned)len;
		r->label_min_entropy = ent;
		r->label_min_digits = dig;
		return rc;
	}
	if (!strcmp(key, "subdomains")) {
		double min = 0;
		num_key keys[] = {{"min", 2, 100000, &min}};
		int rc = parse_numbers(c, v, key, keys, 1);
		if (!rc && min < 2)
			return rerr(c, v, "subdomains: needs min");
		r->subdomains_min = (unsigned)min;
		return rc;
	}
	return rerr(
		c, k,
		"unknown match key '%s' (expected kind, actor, open, path, path_not, exe, comm, parent_comm, "
		"ancestor_comm, argv, argv_not, host, host_not, port, cred_path, not_registry, download_host, "
		"project_env, "
		"parent_is_script, proc_environ_other, exec_written, exec_fileless, alive_after_install, origin_env, "
		"dns_label, subdomains, op, detail, events_lost)",
		key);
}

static int parse_match(rctx *c, yaml_node_t *m)
{
	int rc;
	if (!m || m->type != YAML_MAPPING_NODE)
		return rerr(c, m, "match: expected a mapping of conditions");
	if (m->data.mapping.pairs.top == m->data.mapping.pairs.start)
		return rerr(c, m, "match: no conditions (a rule would hit every event)");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(k);
		if (!key)
			return rerr(c, k, "match: keys must be strings");
		if ((rc = match_pair(c, k, key, v)))
			return rc;
		if (c->text.len)
			fangs_buf_puts(&c->text, "\n");
		fangs_buf_printf(&c->text, "%s: ", key);
		text_node(c, v);
	}
	if (c->text.oom)
		return fangs__error_oom();
	return 0;
}

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int parse_rule(rctx *c, yaml_node_t *m, size_t index, fangs__rule_list *out)
{
	fangs__rule r = {0};
	char label[80];
	yaml_node_t *match = NULL;
	int rc = 0, have_sev = 0;

	snprintf(label, sizeof(label), "#%zu", index + 1);
	c->rule = label;
	if (!m || m->type != YAML_MAPPING_NODE)
		return rerr(c, m, "expected a mapping (id, description, severity, match)");
	/* the id first, so that every later error can name the rule */
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(c, p->key)), *v = scalar(node(c, p->value));
		if (k && !strcmp(k, "id")) {
			if (!v || !valid_id(v))
				return rerr(c, node(c, p->value),
					    "id: expected lower-case letters, digits, '-', '_', '.'");
			snprintf(label, sizeof(label), "%s", v);
		}
	}
	r.actor = -1;
	r.enabled = 1;
	r.line = (unsigned)m->start_mark.line + 1;
	c->r = &r;
	memset(&c->text, 0, sizeof(c->text));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top && !rc; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *key = scalar(k);
		if (!key) {
			rc = rerr(c, k, "keys must be strings");
		} else if (!strcmp(key, "id")) {
			rc = (r.id = fangs__strdup(scalar(v))) ? 0 : FANGS_ENOMEM;
		} else if (!strcmp(key, "description")) {
			if (!scalar(v) || !*scalar(v))
				rc = rerr(c, v, "description: expected text");
			else
				rc = (r.description = fangs__strdup(scalar(v))) ? 0 : FANGS_ENOMEM;
		} else if (!strcmp(key, "severity")) {
			if (!scalar(v) || fangs_severity_parse(scalar(v), &r.severity))
				rc = rerr(c, v, "severity: expected info, low, medium, high or critical");
			have_sev = 1;
		} else if (!strcmp(key, "enabled")) {
			rc = want_bool(c, v, "enabled", &r.enabled);
		} else if (!strcmp(key, "match")) {
			match = v;
		} else {
			rc = rerr(c, k, "unknown key '%s' (expected id, description, severity, enabled, match)", key);
		}
	}
	if (!rc && !r.id)
		rc = rerr(c, m, "no id");
	if (!rc && !r.description)
		rc = rerr(c, m, "no description");
	if (!rc && !have_sev)
		rc = rerr(c, m, "no severity");
	if (!rc && !match)
		rc = rerr(c, m, "no match");
	if (!rc)
		rc = parse_match(c, match);
	if (!rc && (r.label_min_len || r.subdomains_min) && r.kinds != 1u << FANGS_EV_DNS_QUERY)
		rc = rerr(c, match, "dns_label and subdomains apply to dns_query events only (add kind: dns_query)");
	if (!rc && r.alive_after_install && (r.kinds || r.path.count || r.argv.count || r.host.count))
		rc = rerr(c, match, "alive_after_install is a run condition: it takes no event conditions");
	if (!rc && r.events_lost &&
	    (r.kinds || r.path.count || r.argv.count || r.host.count || r.op.count || r.alive_after_install))
		rc = rerr(c, match, "events_lost is a run condition: it takes no event conditions");
	if (!rc && (r.op.count || r.detail.count) && r.kinds != 1u << FANGS_EV_SYSCALL)
		rc = rerr(c, match, "op and detail apply to syscall events only (add kind: syscall)");
	if (!rc && !(r.source = fangs__strdup(c->file)))
		rc = FANGS_ENOMEM;
	if (!rc && !(r.match_text = fangs_buf_steal(&c->text, NULL)))
		rc = FANGS_ENOMEM;
	fangs_buf_free(&c->text);
	if (!rc)
		rc = fangs__rule_list_put(out, &r);
	fangs__rule_clear(&r);
	return rc;
}

int fangs__rules_parse_seq(const char *file, yaml_document_t *doc, yaml_node_t *seq, fangs__rule_list *out)
{
	rctx c = {0};
	size_t i = 0;
	int rc;
	c.file = file ? file : "<rules>";
	c.doc = doc;
	c.rule = "list";
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return rerr(&c, seq, "expected a list of rules");
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++)
		if ((rc = parse_rule(&c, node(&c, *it), i, out)))
			return rc;
	return 0;
}

int fangs__rules_check_seq(const char *file, yaml_document_t *doc, yaml_node_t *seq, size_t *count)
{
	fangs__rule_list defs = {0};
	int rc = fangs__rules_parse_seq(file, doc, seq, &defs);
	*count += defs.count;
	fangs__rule_list_free(&defs);
	return rc;
}

/* Loads a document; `fn` finds the rule list in it (NULL: nothing to do). */
typedef yaml_node_t *(*find_fn)(const char *file, yaml_document_t *doc, int *rc);

static int parse_doc(const char *file, const char *yaml, size_t len, find_fn find, fangs__rule_list *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *seq;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return fangs__error_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = fangs_error_set(FANGS_ECONFIG, "%s:%lu: %s", file, (unsigned long)parser.problem_mark.line + 1,
				     parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return rc;
	}
	seq = find(file, &doc, &rc);
	if (!rc && seq)
		rc = fangs__rules_parse_seq(file, &doc, seq, out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));
		if (k && !strcmp(k, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static yaml_node_t *find_config_add(const char *file, yaml_document_t *doc, int *rc)
{
	(void)file;
	*rc = 0;
	return map_get(doc, map_get(doc, yaml_document_get_root_node(doc), "rules"), "add");
}

int fangs__rules_parse_config(const char *file, const char *yaml, size_t len, fangs__rule_list *out)
{
	return parse_doc(file, yaml, len, find_config_add, out);
}

static yaml_node_t *find_rule_file(const char *file, yaml_document_t *doc, int *rc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *seq = NULL;
	*rc = 0;
	if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		return NULL;
	if (root->type == YAML_SEQUENCE_NODE)
		return root;
	if (root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (scalar(k) && !strcmp(scalar(k), "rules")) {
				seq = yaml_document_get_node(doc, p->value);
				continue;
			}
			*rc = fangs_error_set(FANGS_ECONFIG, "%s:%lu: unknown key '%s' (expected rules)", file,
					      (unsigned long)(k ? k->start_mark.line + 1 : 0),
					      scalar(k) ? scalar(k) : "?");
			return NULL;
		}
	}
	if (!seq)
		*rc = fangs_error_set(FANGS_ECONFIG, "%s:%lu: expected 'rules:' with a list of rules", file,
				      (unsigned long)root->start_mark.line + 1);
	return seq;
}

int fangs__rules_parse_text(const char *file, const char *yaml, size_t len, fangs__rule_list *out)
{
	return parse_doc(file, yaml, len, find_rule_file, out);
}
