/*
 * core/config.c - the YAML configuration file (libyaml document API, so that
 * every error can name the line of the offending key).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/internal.h"
#include "core/rules_check.h"
#include "fangs/config.h"
#include "fangs/proxy.h"
#include "fangs/sandbox.h"
#include "fangs/storage.h"

typedef struct parse_ctx {
	const char *file;
	yaml_document_t *doc;
	fangs_config *cfg;
} parse_ctx;

static int cfg_error(parse_ctx *p, yaml_node_t *node, const char *key, const char *fmt, ...) FANGS_PRINTF(4, 5);

static int cfg_error(parse_ctx *p, yaml_node_t *node, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fangs_error_set(FANGS_ECONFIG, "%s:%lu: %s: %s", p->file,
			       node ? (unsigned long)node->start_mark.line + 1 : 0UL, key, msg);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int want_string(parse_ctx *p, yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);
	if (!s)
		return cfg_error(p, n, key, "expected a string");
	free(*out);
	*out = fangs__strdup(s);
	return *out ? 0 : FANGS_ENOMEM;
}

static int want_bool(parse_ctx *p, yaml_node_t *n, const char *key, int *out)
{
	const char *s = scalar(n);
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))) {
		*out = 1;
		return 0;
	}
	if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))) {
		*out = 0;
		return 0;
	}
	return cfg_error(p, n, key, "expected true or false");
}

static int want_uint(parse_ctx *p, yaml_node_t *n, const char *key, unsigned min, unsigned max, unsigned *out)
{
	const char *s = scalar(n);
	char *end;
	unsigned long v;
	if (!s || !*s || *s == '-')
		return cfg_error(p, n, key, "expected a whole number");
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno)
		return cfg_error(p, n, key, "expected a whole number");
	if (v < min || v > max)
		return cfg_error(p, n, key, "must be between %u and %u", min, max);
	*out = (unsigned)v;
	return 0;
}

static int want_severity(parse_ctx *p, yaml_node_t *n, const char *key, fangs_severity *out)
{
	const char *s = scalar(n);
	if (s && fangs_severity_parse(s, out) == 0)
		return 0;
	/* not `return cfg_error(...)`: the analyzer does not follow variadic
	 * calls, and *out is only written on success */
	cfg_error(p, n, key, "expected info, low, medium, high or critical");
	return FANGS_ECONFIG;
}

/* Iterates a mapping: calls fn(p, keynode, key, valuenode, user) per pair. */
typedef int (*map_fn)(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user);

static int each_pair(parse_ctx *p, yaml_node_t *map, const char *what, map_fn fn, void *user)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return cfg_error(p, map, what, "expected a mapping");
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *key = scalar(k);
		int rc;
		if (!key)
			return cfg_error(p, k, what, "keys must be strings");
		rc = fn(p, k, key, v, user);
		if (rc)
			return rc;
	}
	return 0;
}

static int seq_check(parse_ctx *p, yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return cfg_error(p, n, key, "expected a list");
	return 0;
}

#define SEQ_EACH(p, n, item) \
	for (yaml_node_item_t *it_ = (n)->data.sequence.items.start; \
	     it_ < (n)->data.sequence.items.top && ((item) = yaml_document_get_node((p)->doc, *it_)); it_++)

/* ---- watched_paths ---- */

static int watched_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_watched_path *wp = user;
	if (!strcmp(key, "prefix")) {
		int rc = want_string(p, v, "watched_paths.prefix", &wp->prefix);
		if (rc)
			return rc;
		if (wp->prefix[0] != '/' && strncmp(wp->prefix, "~/", 2) != 0)
			return cfg_error(p, v, "watched_paths.prefix", "must be absolute or start with ~/");
		return 0;
	}
	if (!strcmp(key, "cred"))
		return want_bool(p, v, "watched_paths.cred", &wp->cred);
	return cfg_error(p, k, key, "unknown key in watched_paths entry (expected prefix, cred)");
}

static int parse_watched(parse_ctx *p, yaml_node_t *n)
{
	yaml_node_t *item;
	size_t count;
	int rc = seq_check(p, n, "watched_paths");
	if (rc)
		return rc;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	p->cfg->watched_paths = calloc(count ? count : 1, sizeof(fangs_watched_path));
	if (!p->cfg->watched_paths)
		return fangs__error_oom();
	SEQ_EACH(p, n, item)
	{
		fangs_watched_path *wp = &p->cfg->watched_paths[p->cfg->n_watched_paths++];
		if ((rc = each_pair(p, item, "watched_paths", watched_pair, wp)))
			return rc;
		if (!wp->prefix)
			return cfg_error(p, item, "watched_paths", "entry without a prefix");
	}
	return 0;
}

/* ---- allow ---- */

static int allow_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_allow_kind kind;
	yaml_node_t *item;
	char name[64];
	int rc;
	(void)user;
	if (fangs_allow_kind_parse(key, &kind))
		return cfg_error(p, k, key, "unknown allow list (expected paths, cidrs, snis, dns, execs)");
	snprintf(name, sizeof(name), "allow.%s", key);
	if ((rc = seq_check(p, v, name)))
		return rc;
	SEQ_EACH(p, v, item)
	{
		const char *s = scalar(item);
		if (!s)
			return cfg_error(p, item, name, "expected a list of strings");
		if (fangs_allow_entry_validate(kind, s))
			return cfg_error(p, item, name, "%s", fangs_error_last());
		if (fangs_allow_list_add(&p->cfg->allow, kind, s, NULL, "config"))
			return FANGS_ENOMEM;
	}
	return 0;
}

/* ---- severity ---- */

static int add_override(parse_ctx *p, const char *kind, const char *package, fangs_severity sev)
{
	fangs_severity_override *n = realloc(p->cfg->severity, (p->cfg->n_severity + 1) * sizeof(*p->cfg->severity));
	fangs_severity_override *o;
	if (!n)
		return fangs__error_oom();
	p->cfg->severity = n;
	o = &n[p->cfg->n_severity];
	memset(o, 0, sizeof(*o));
	o->severity = sev;
	o->kind = fangs__strdup(kind);
	o->package = package ? fangs__strdup(package) : NULL;
	p->cfg->n_severity++;
	if (!o->kind || (package && !o->package))
		return FANGS_ENOMEM;
	return 0;
}

static bool valid_kind_name(const char *k)
{
	if (!*k)
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == ':' || *c == '-' ||
		      *c == '.'))
			return false;
	return true;
}

static int pkg_sev_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	const char *package = user;
	fangs_severity sev;
	int rc;
	if (!valid_kind_name(key))
		return cfg_error(p, k, key, "not a finding kind");
	if ((rc = want_severity(p, v, key, &sev)))
		return rc;
	return add_override(p, key, package, sev);
}

static int pkg_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	(void)k;
	return each_pair(p, v, key, pkg_sev_pair, (void *)key);
}

static int severity_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_severity sev;
	int rc;
	(void)user;
	if (!strcmp(key, "packages"))
		return each_pair(p, v, "severity.packages", pkg_pair, NULL);
	if (!valid_kind_name(key))
		return cfg_error(p, k, key, "not a finding kind");
	if ((rc = want_severity(p, v, key, &sev)))
		return rc;
	return add_override(p, key, NULL, sev);
}

/* ---- differ, storage ---- */

static int differ_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "promote_after_clean_runs"))
		return want_uint(p, v, "differ.promote_after_clean_runs", 1, 1000, &p->cfg->promote_after_clean_runs);
	if (!strcmp(key, "builtin_cred_paths"))
		return want_bool(p, v, "differ.builtin_cred_paths", &p->cfg->builtin_cred_paths);
	if (!strcmp(key, "review_threshold"))
		return want_severity(p, v, "differ.review_threshold", &p->cfg->review_threshold);
	return cfg_error(p, k, key,
			 "unknown key in differ (expected promote_after_clean_runs, review_threshold, "
			 "builtin_cred_paths)");
}

static int storage_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "backend")) {
		int rc = want_string(p, v, "storage.backend", &p->cfg->storage_backend);
		if (rc)
			return rc;
		p->cfg->storage_set |= FANGS_CONFIG_SET_BACKEND;
		if (fangs_storage_backend_check(p->cfg->storage_backend))
			return cfg_error(p, v, "storage.backend", "expected sqlite or postgres");
		return 0;
	}
	if (!strcmp(key, "sqlite_path")) {
		p->cfg->storage_set |= FANGS_CONFIG_SET_SQLITE_PATH;
		return want_string(p, v, "storage.sqlite_path", &p->cfg->sqlite_path);
	}
	if (!strcmp(key, "postgres_dsn")) {
		p->cfg->storage_set |= FANGS_CONFIG_SET_POSTGRES_DSN;
		return want_string(p, v, "storage.postgres_dsn", &p->cfg->postgres_dsn);
	}
	if (!strcmp(key, "retention_days"))
		return want_uint(p, v, "storage.retention_days", 1, 36500, &p->cfg->retention_days);
	return cfg_error(p, k, key,
			 "unknown key in storage (expected backend, sqlite_path, postgres_dsn, retention_days)");
}

/* ---- rules ---- */

static int add_strings(parse_ctx *p, yaml_node_t *n, const char *key, char ***items, size_t *count)
{
	yaml_node_t *item;
	int rc = seq_check(p, n, key);
	if (rc)
		return rc;
	SEQ_EACH(p, n, item)
	{
		const char *s = scalar(item);
		char **grown;
		if (!s || !*s)
			return cfg_error(p, item, key, "expected a list of strings");
		if (!(grown = realloc(*items, (*count + 1) * sizeof(char *))))
			return fangs__error_oom();
		*items = grown;
		if (!(grown[*count] = fangs__strdup(s)))
			return FANGS_ENOMEM;
		(*count)++;
	}
	return 0;
}

static int rule_sev_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_severity sev;
	char kind[128];
	int rc;
	(void)user;
	if (!valid_kind_name(key) || strlen(key) > 64)
		return cfg_error(p, k, key, "not a rule id");
	if ((rc = want_severity(p, v, key, &sev)))
		return rc;
	snprintf(kind, sizeof(kind), "rule:%s", key);
	return add_override(p, kind, NULL, sev);
}

static int rules_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "files")) {
		size_t first = p->cfg->n_rule_files;
		int rc = add_strings(p, v, "rules.files", &p->cfg->rule_files, &p->cfg->n_rule_files);
		for (size_t i = first; !rc && i < p->cfg->n_rule_files; i++)
			if (p->cfg->rule_files[i][0] != '/')
				return cfg_error(p, v, "rules.files", "'%s' must be an absolute path",
						 p->cfg->rule_files[i]);
		return rc;
	}
	if (!strcmp(key, "disable"))
		return add_strings(p, v, "rules.disable", &p->cfg->rules_disabled, &p->cfg->n_rules_disabled);
	if (!strcmp(key, "severity"))
		return each_pair(p, v, "rules.severity", rule_sev_pair, NULL);
	if (!strcmp(key, "add")) {
		/* checked now, so that a bad rule stops the load with its line;
		 * fangs_rules_new() compiles them again from the text */
		return fangs__rules_check_seq(p->file, p->doc, v, &p->cfg->n_rules_inline);
	}
	return cfg_error(p, k, key, "unknown key in rules (expected files, disable, severity, add)");
}

/* ---- notifier ---- */

static int notifier_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "public_url")) {
		int rc = want_string(p, v, "notifier.public_url", &p->cfg->notifier_public_url);
		if (rc == 0 && strncmp(p->cfg->notifier_public_url, "http://", 7) &&
		    strncmp(p->cfg->notifier_public_url, "https://", 8))
			return cfg_error(p, v, "notifier.public_url", "must be an http:// or https:// URL");
		return rc;
	}
	if (!strcmp(key, "ca_file"))
		return want_string(p, v, "notifier.ca_file", &p->cfg->notifier_ca_file);
	if (!strcmp(key, "max_attempts"))
		return want_uint(p, v, "notifier.max_attempts", 1, 100, &p->cfg->notifier_max_attempts);
	if (!strcmp(key, "retry_base_ms"))
		return want_uint(p, v, "notifier.retry_base_ms", 1, 86400000, &p->cfg->notifier_retry_base_ms);
	if (!strcmp(key, "timeout_ms"))
		return want_uint(p, v, "notifier.timeout_ms", 100, 600000, &p->cfg->notifier_timeout_ms);
	return cfg_error(
		p, k, key,
		"unknown key in notifier (expected public_url, ca_file, max_attempts, retry_base_ms, timeout_ms)");
}

/* ---- proxy ---- */

static int add_hosts(parse_ctx *p, yaml_node_t *n, const char *key, char ***items, size_t *count)
{
	size_t first = *count;
	int rc = add_strings(p, n, key, items, count);
	for (size_t i = first; !rc && i < *count; i++)
		if (fangs_proxy_host_pattern_validate((*items)[i]) < 0)
			return cfg_error(p, n, key, "%s", fangs_error_last());
	return rc;
}

static int proxy_pkg_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_proxy_package_hosts *grown, *ph;
	char name[300];
	(void)user;
	(void)k;
	if (!(grown = realloc(p->cfg->proxy_packages, (p->cfg->n_proxy_packages + 1) * sizeof(*grown))))
		return fangs__error_oom();
	p->cfg->proxy_packages = grown;
	ph = &grown[p->cfg->n_proxy_packages++];
	memset(ph, 0, sizeof(*ph));
	if (!(ph->package = fangs__strdup(key)))
		return FANGS_ENOMEM;
	snprintf(name, sizeof(name), "proxy.packages.%s", key);
	return add_hosts(p, v, name, &ph->hosts, &ph->n_hosts);
}

static int proxy_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "allow_hosts"))
		return add_hosts(p, v, "proxy.allow_hosts", &p->cfg->proxy_allow_hosts, &p->cfg->n_proxy_allow_hosts);
	if (!strcmp(key, "builtin_hosts"))
		return want_bool(p, v, "proxy.builtin_hosts", &p->cfg->proxy_builtin_hosts);
	if (!strcmp(key, "packages"))
		return each_pair(p, v, "proxy.packages", proxy_pkg_pair, NULL);
	return cfg_error(p, k, key, "unknown key in proxy (expected allow_hosts, builtin_hosts, packages)");
}

/* ---- orchestrator, runner ---- */

static int orchestrator_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_orchestrator_config *o = &p->cfg->orchestrator;
	(void)user;
	if (!strcmp(key, "listen"))
		return want_string(p, v, "orchestrator.listen", &o->listen);
	if (!strcmp(key, "tls_cert"))
		return want_string(p, v, "orchestrator.tls_cert", &o->tls_cert);
	if (!strcmp(key, "tls_key"))
		return want_string(p, v, "orchestrator.tls_key", &o->tls_key);
	if (!strcmp(key, "client_ca"))
		return want_string(p, v, "orchestrator.client_ca", &o->client_ca);
	if (!strcmp(key, "revoked"))
		return want_string(p, v, "orchestrator.revoked", &o->revoked);
	if (!strcmp(key, "registry_token_env"))
		return want_string(p, v, "orchestrator.registry_token_env", &o->registry_token_env);
	if (!strcmp(key, "heartbeat_timeout_s"))
		return want_uint(p, v, "orchestrator.heartbeat_timeout_s", 1, 86400, &o->heartbeat_timeout_s);
	if (!strcmp(key, "watch_interval_s"))
		return want_uint(p, v, "orchestrator.watch_interval_s", 1, 86400, &o->watch_interval_s);
	if (!strcmp(key, "watch_concurrency"))
		return want_uint(p, v, "orchestrator.watch_concurrency", 1, 64, &o->watch_concurrency);
	if (!strcmp(key, "prune_interval_s"))
		return want_uint(p, v, "orchestrator.prune_interval_s", 1, 864000, &o->prune_interval_s);
	if (!strcmp(key, "public_reads"))
		return want_bool(p, v, "orchestrator.public_reads", &p->cfg->orchestrator_public_reads);
	if (!strcmp(key, "follow_url")) {
		int rc = want_string(p, v, "orchestrator.follow_url", &o->follow_url);
		if (rc == 0 && strncmp(o->follow_url, "http://", 7) && strncmp(o->follow_url, "https://", 8))
			return cfg_error(p, v, "orchestrator.follow_url", "must be an http:// or https:// URL");
		return rc;
	}
	if (!strcmp(key, "follow_since"))
		return want_string(p, v, "orchestrator.follow_since", &o->follow_since);
	if (!strcmp(key, "follow_interval_s"))
		return want_uint(p, v, "orchestrator.follow_interval_s", 1, 86400, &o->follow_interval_s);
	if (!strcmp(key, "follow_limit"))
		return want_uint(p, v, "orchestrator.follow_limit", 1, 10000, &o->follow_limit);
	if (!strcmp(key, "follow_scopes")) {
		int rc = add_strings(p, v, "orchestrator.follow_scopes", &o->follow_scopes, &o->n_follow_scopes);
		for (size_t i = 0; rc == 0 && i < o->n_follow_scopes; i++)
			if (o->follow_scopes[i][0] != '@' || !o->follow_scopes[i][1] ||
			    strchr(o->follow_scopes[i], '/'))
				return cfg_error(p, v, "orchestrator.follow_scopes", "a scope is @name");
		return rc;
	}
	if (!strcmp(key, "follow_names"))
		return add_strings(p, v, "orchestrator.follow_names", &o->follow_names, &o->n_follow_names);
	if (!strcmp(key, "follow_install_scripts"))
		return want_bool(p, v, "orchestrator.follow_install_scripts", &o->follow_install_scripts);
	if (!strcmp(key, "follow_popular"))
		return want_string(p, v, "orchestrator.follow_popular", &o->follow_popular);
	return cfg_error(
		p, k, key,
		"unknown key in orchestrator (expected listen, tls_cert, tls_key, client_ca, revoked,"
		" heartbeat_timeout_s, watch_interval_s, watch_concurrency, registry_token_env, prune_interval_s,"
		" follow_url, follow_since, follow_interval_s, follow_limit, follow_scopes, follow_names,"
		" follow_install_scripts, follow_popular, public_reads)");
}

static int runner_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	fangs_runner_config *r = &p->cfg->runner;
	(void)user;
	if (!strcmp(key, "orchestrator"))
		return want_string(p, v, "runner.orchestrator", &r->orchestrator);
	if (!strcmp(key, "id"))
		return want_string(p, v, "runner.id", &r->id);
	if (!strcmp(key, "max_scans"))
		return want_uint(p, v, "runner.max_scans", 1, 256, &r->max_scans);
	if (!strcmp(key, "tls_cert"))
		return want_string(p, v, "runner.tls_cert", &r->tls_cert);
	if (!strcmp(key, "tls_key"))
		return want_string(p, v, "runner.tls_key", &r->tls_key);
	if (!strcmp(key, "ca"))
		return want_string(p, v, "runner.ca", &r->ca);
	if (!strcmp(key, "sandbox")) {
		int rc = want_string(p, v, "runner.sandbox", &r->sandbox);
		if (!rc && fangs_sandbox_backend_check(r->sandbox))
			return cfg_error(p, v, "runner.sandbox", "expected ns or docker");
		return rc;
	}
	if (!strcmp(key, "duration_s"))
		return want_uint(p, v, "runner.duration_s", 1, 86400, &r->duration_s);
	return cfg_error(p, k, key,
			 "unknown key in runner (expected orchestrator, id, max_scans, tls_cert, tls_key, ca,"
			 " sandbox, duration_s)");
}

static int scan_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "import"))
		return want_bool(p, v, "scan.import", &p->cfg->scan_import);
	if (!strcmp(key, "import_timeout_s"))
		return want_uint(p, v, "scan.import_timeout_s", 1, 3600, &p->cfg->scan_import_timeout_s);
	return cfg_error(p, k, key, "unknown key in scan (expected import, import_timeout_s)");
}

static int top_pair(parse_ctx *p, yaml_node_t *k, const char *key, yaml_node_t *v, void *user)
{
	(void)user;
	if (!strcmp(key, "watched_paths"))
		return parse_watched(p, v);
	if (!strcmp(key, "allow"))
		return each_pair(p, v, "allow", allow_pair, NULL);
	if (!strcmp(key, "severity"))
		return each_pair(p, v, "severity", severity_pair, NULL);
	if (!strcmp(key, "differ"))
		return each_pair(p, v, "differ", differ_pair, NULL);
	if (!strcmp(key, "storage"))
		return each_pair(p, v, "storage", storage_pair, NULL);
	if (!strcmp(key, "notifier"))
		return each_pair(p, v, "notifier", notifier_pair, NULL);
	if (!strcmp(key, "orchestrator"))
		return each_pair(p, v, "orchestrator", orchestrator_pair, NULL);
	if (!strcmp(key, "runner"))
		return each_pair(p, v, "runner", runner_pair, NULL);
	if (!strcmp(key, "registry")) {
		int rc = want_string(p, v, "registry", &p->cfg->registry);
		if (rc)
			return rc;
		if (strncmp(p->cfg->registry, "http://", 7) && strncmp(p->cfg->registry, "https://", 8))
			return cfg_error(p, v, "registry", "must be an http:// or https:// URL");
		return 0;
	}
	if (!strcmp(key, "rules"))
		return each_pair(p, v, "rules", rules_pair, NULL);
	if (!strcmp(key, "proxy"))
		return each_pair(p, v, "proxy", proxy_pair, NULL);
	if (!strcmp(key, "scan"))
		return each_pair(p, v, "scan", scan_pair, NULL);
	return cfg_error(p, k, key,
			 "unknown key (expected watched_paths, allow, severity, differ, storage, registry, rules,"
			 " proxy, notifier, orchestrator, runner, scan)");
}

int fangs_config_new(fangs_config **out)
{
	fangs_config *cfg;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_config_new: NULL argument");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return fangs__error_oom();
	cfg->builtin_cred_paths = 1;
	cfg->promote_after_clean_runs = 1;
	cfg->review_threshold = FANGS_SEV_MEDIUM;
	cfg->retention_days = 90;
	cfg->storage_backend = fangs__strdup("sqlite");
	cfg->sqlite_path = fangs__strdup("fangs.db");
	cfg->orchestrator.listen = fangs__strdup("127.0.0.1:8480");
	cfg->orchestrator.heartbeat_timeout_s = 90;
	cfg->orchestrator.watch_interval_s = 300;
	cfg->orchestrator.watch_concurrency = 4;
	cfg->orchestrator.registry_token_env = fangs__strdup("FANGS_REGISTRY_TOKEN");
	cfg->orchestrator.prune_interval_s = 3600;
	cfg->runner.max_scans = 1;
	cfg->proxy_builtin_hosts = 1;
	cfg->scan_import = 1;
	if (!cfg->storage_backend || !cfg->sqlite_path || !cfg->orchestrator.listen ||
	    !cfg->orchestrator.registry_token_env) {
		fangs_config_free(cfg);
		return FANGS_ENOMEM;
	}
	*out = cfg;
	return 0;
}

int fangs_config_load_string(fangs_config **out, const char *yaml, size_t len, const char *name)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	parse_ctx p = {0};
	fangs_config *cfg = NULL;
	yaml_node_t *root;
	int rc;

	if (!out || (!yaml && len))
		return fangs_error_set(FANGS_EINVAL, "fangs_config_load_string: NULL argument");
	*out = NULL;
	if ((rc = fangs_config_new(&cfg)))
		return rc;
	cfg->source = fangs__strdup(name ? name : "<config>");
	if (!cfg->source) {
		fangs_config_free(cfg);
		return FANGS_ENOMEM;
	}
	if (!yaml_parser_initialize(&parser)) {
		fangs_config_free(cfg);
		return fangs__error_oom();
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = fangs_error_set(FANGS_ECONFIG, "%s:%lu: %s", cfg->source,
				     (unsigned long)parser.problem_mark.line + 1,
				     parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		fangs_config_free(cfg);
		return rc;
	}
	p.file = cfg->source;
	p.doc = &doc;
	p.cfg = cfg;
	root = yaml_document_get_root_node(&doc);
	rc = 0;
	if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
		rc = each_pair(&p, root, "top level", top_pair, NULL);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!rc && cfg->n_rules_inline && !(cfg->rules_inline_text = fangs__strndup(yaml, len)))
		rc = FANGS_ENOMEM;
	if (rc) {
		fangs_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int fangs_config_load(fangs_config **out, const char *path)
{
	char *data;
	size_t len;
	int rc;
	if (!out || !path)
		return fangs_error_set(FANGS_EINVAL, "fangs_config_load: NULL argument");
	rc = fangs__read_file(path, &data, &len);
	if (rc)
		return fangs_error_set(rc == FANGS_ENOTFOUND ? FANGS_ECONFIG : rc, "config: %s", fangs_error_last());
	rc = fangs_config_load_string(out, data, len, path);
	free(data);
	return rc;
}

void fangs_config_free(fangs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_watched_paths; i++)
		free(cfg->watched_paths[i].prefix);
	free(cfg->watched_paths);
	fangs_allow_list_free(&cfg->allow);
	for (size_t i = 0; i < cfg->n_severity; i++) {
		free(cfg->severity[i].kind);
		free(cfg->severity[i].package);
	}
	free(cfg->severity);
	free(cfg->storage_backend);
	free(cfg->sqlite_path);
	free(cfg->postgres_dsn);
	free(cfg->registry);
	for (size_t i = 0; i < cfg->n_rule_files; i++)
		free(cfg->rule_files[i]);
	free(cfg->rule_files);
	for (size_t i = 0; i < cfg->n_rules_disabled; i++)
		free(cfg->rules_disabled[i]);
	free(cfg->rules_disabled);
	free(cfg->rules_inline_text);
	free(cfg->notifier_public_url);
	free(cfg->notifier_ca_file);
	free(cfg->orchestrator.listen);
	free(cfg->orchestrator.tls_cert);
	free(cfg->orchestrator.tls_key);
	free(cfg->orchestrator.client_ca);
	free(cfg->orchestrator.revoked);
	free(cfg->orchestrator.registry_token_env);
	free(cfg->orchestrator.follow_url);
	free(cfg->orchestrator.follow_since);
	free(cfg->orchestrator.follow_popular);
	for (size_t i = 0; i < cfg->orchestrator.n_follow_scopes; i++)
		free(cfg->orchestrator.follow_scopes[i]);
	free(cfg->orchestrator.follow_scopes);
	for (size_t i = 0; i < cfg->orchestrator.n_follow_names; i++)
		free(cfg->orchestrator.follow_names[i]);
	free(cfg->orchestrator.follow_names);
	free(cfg->runner.orchestrator);
	free(cfg->runner.id);
	free(cfg->runner.tls_cert);
	free(cfg->runner.tls_key);
	free(cfg->runner.ca);
	free(cfg->runner.sandbox);
	for (size_t i = 0; i < cfg->n_proxy_allow_hosts; i++)
		free(cfg->proxy_allow_hosts[i]);
	free(cfg->proxy_allow_hosts);
	for (size_t i = 0; i < cfg->n_proxy_packages; i++) {
		for (size_t h = 0; h < cfg->proxy_packages[i].n_hosts; h++)
			free(cfg->proxy_packages[i].hosts[h]);
		free(cfg->proxy_packages[i].hosts);
		free(cfg->proxy_packages[i].package);
	}
	free(cfg->proxy_packages);
	free(cfg->source);
	free(cfg);
}
