/*
 * tools/fangs/report_formats.c - SARIF 2.1.0, GitLab dependency-scanning
 * and JUnit XML renderings of a report (docs/ci.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fangs/rules.h>

#include "output.h"
#include "report_internal.h"

/* ---- what the kinds mean ---------------------------------------------------- */

/* The differ's deviation kinds (docs/differ-rules.md): a rule's id, what it
 * means in one line and in a paragraph. Rule hits ("rule:<id>") take the
 * rule's own description. */
static const struct kind_text {
	const char *kind;
	const char *brief;
	const char *help;
} kind_texts[] = {
	{"fs_cred_read", "Credential file read by an install",
	 "The install read a credential place (~/.npmrc, cloud or SSH keys, tokens) that no earlier release of the "
	 "package read. Install scripts that read credentials are how npm tokens and keys are stolen."},
	{"net_new_destination", "Connection to a new address",
	 "The install connected to an address and port that no earlier release connected to."},
	{"net_new_https_host", "TLS connection to a new host",
	 "The install opened TLS to (or asked the sandbox's proxy for) a host name no earlier release contacted."},
	{"proc_new_syscall", "New privileged operation",
	 "The install made a privileged operation (ptrace, unshare, mount, kill of another process, bpf...) that no "
	 "earlier release made."},
	{"proc_new_exec", "New program run", "The install ran a program (or inline code) that no earlier release ran."},
	{"net_new_dns", "New DNS name looked up",
	 "The install looked up a name that no earlier release looked up; many names under one domain can be data "
	 "sent out over DNS."},
	{"fs_new_path_write", "New file written", "The install wrote a file that no earlier release wrote."},
	{"fs_new_path_read", "New file read", "The install read a file that no earlier release read."},
	{"content_changed", "Shipped content changed", "What the release ships changed from the releases before it."},
};

#define INSTALL_FAILED_RULE "install-failed"

typedef struct rule_meta {
	char *id;
	char *brief;
	char *help;
	fangs_severity severity; /* default */
} rule_meta;

typedef struct rule_set {
	rule_meta *items;
	size_t count, cap;
	fangs_rules *rules; /* the built-in rules, for rule hits' descriptions; NULL when they cannot load */
} rule_set;

static char *dup_or(const char *s, const char *def)
{
	char *d = strdup(s ? s : def);
	if (!d) {
		perror("fangs");
		exit(1);
	}
	return d;
}

/* The index of the rule of `kind` in `rs`, added when new; `fi` gives a
 * rule hit's description when the rule set does not know it. */
static size_t rule_index(rule_set *rs, const char *kind, const fangs_finding *fi)
{
	rule_meta m = {0};
	for (size_t i = 0; i < rs->count; i++)
		if (!strcmp(rs->items[i].id, kind))
			return i;
	m.id = dup_or(kind, "?");
	if (!strncmp(kind, "rule:", 5)) {
		fangs_rule_info ri;
		const char *desc;
		if (rs->rules && fangs_rules_find(rs->rules, kind + 5, &ri) == 0) {
			desc = ri.description;
			m.severity = ri.severity;
		} else {
			desc = fi ? fi->description : NULL;
			m.severity = fi ? fi->severity : FANGS_SEV_MEDIUM;
		}
		{
			strbuf b = {0};
			/* the short description is the first sentence */
			size_t n = desc ? strcspn(desc, "\n") : 0;
			const char *stop = desc ? strstr(desc, ". ") : NULL;
			if (stop && (size_t)(stop - desc) < n)
				n = (size_t)(stop - desc);
			if (n)
				sb_printf(&b, "%.*s", (int)n, desc);
			else
				sb_printf(&b, "%s", kind);
			m.brief = sb_take(&b);
			sb_printf(&b,
				  "fangs rule %s: %s A rule judges every run, first sight included "
				  "(docs/rules.md).",
				  kind + 5, desc ? desc : kind);
			m.help = sb_take(&b);
		}
	} else if (!strcmp(kind, INSTALL_FAILED_RULE)) {
		m.brief = dup_or("Install failed in the sandbox", NULL);
		m.help = dup_or("The dependency's install failed or timed out in fangs' sandbox: what it did was "
				"recorded and judged, but kept out of its baseline.",
				NULL);
		m.severity = FANGS_SEV_LOW;
	} else {
		const struct kind_text *kt = NULL;
		for (size_t i = 0; i < sizeof(kind_texts) / sizeof(kind_texts[0]); i++)
			if (!strcmp(kind_texts[i].kind, kind))
				kt = &kind_texts[i];
		m.brief = dup_or(kt ? kt->brief : NULL, kind);
		{
			strbuf b = {0};
			sb_printf(&b,
				  "%s A deviation from the package's baseline (what its earlier releases did; "
				  "docs/differ-rules.md).",
				  kt ? kt->help : "A behaviour new to the package.");
			m.help = sb_take(&b);
		}
		m.severity = fangs_deviation_kind_default_severity(kind);
	}
	if (rs->count == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		if (!(rs->items = realloc(rs->items, rs->cap * sizeof(*rs->items)))) {
			perror("fangs");
			exit(1);
		}
	}
	rs->items[rs->count] = m;
	return rs->count++;
}

/* Every kind fangs reports, in one order: the deviation kinds, the
 * built-in rules, install-failed; a rule from the configuration joins when
 * a finding has it. The same rules and indices in every report. */
static void rule_set_init(rule_set *rs)
{
	memset(rs, 0, sizeof(*rs));
	if (fangs_rules_new(&rs->rules, NULL))
		rs->rules = NULL;
	for (size_t i = 0; i < sizeof(kind_texts) / sizeof(kind_texts[0]); i++)
		rule_index(rs, kind_texts[i].kind, NULL);
	for (size_t i = 0; rs->rules && i < fangs_rules_count(rs->rules); i++) {
		fangs_rule_info ri;
		char id[256];
		if (fangs_rules_get(rs->rules, i, &ri) || !ri.enabled)
			continue;
		snprintf(id, sizeof(id), "rule:%s", ri.id);
		rule_index(rs, id, NULL);
	}
	rule_index(rs, INSTALL_FAILED_RULE, NULL);
}

static void rule_set_free(rule_set *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		free(rs->items[i].id);
		free(rs->items[i].brief);
		free(rs->items[i].help);
	}
	free(rs->items);
	fangs_rules_free(rs->rules);
}

/* ---- fingerprints ------------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	/* a separator, so ("ab", "c") and ("a", "bc") differ */
	h ^= 0xff;
	h *= 0x100000001b3ULL;
	return h;
}

/* What identifies a finding across runs and releases: the dependency's
 * name, the finding's main kind, its value and actor. Not the version, the
 * run or the line: a later scan of the same behaviour is the same alert. */
static uint64_t finding_hash(uint64_t seed, const report_item *it, const char *kind, const char *value,
			     const char *actor)
{
	uint64_t h = fnv1a(seed, it->name);
	h = fnv1a(h, kind);
	h = fnv1a(h, value);
	return fnv1a(h, actor);
}

static void finding_ids(const report_item *it, const char *kind, const char *value, const char *actor, char *hex,
			size_t hcap, char *uuid, size_t ucap)
{
	uint64_t a = finding_hash(0xcbf29ce484222325ULL, it, kind, value, actor);
	uint64_t b = finding_hash(0x84222325cbf29ce4ULL, it, kind, value, actor);
	snprintf(hex, hcap, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
	/* a version-4-shaped UUID made of the same bits, as GitLab recommends a UUID */
	snprintf(uuid, ucap, "%08llx-%04llx-4%03llx-%04llx-%012llx", (unsigned long long)(a >> 32),
		 (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xfff),
		 (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
}

/* ---- SARIF -------------------------------------------------------------------- */

static const char *sarif_level(const report *r, fangs_severity s)
{
	if (s >= r->fail_on)
		return "error";
	return s >= FANGS_SEV_MEDIUM ? "warning" : "note";
}

/* GitHub reads security-severity as a CVSS-like score: > 9 critical,
 * 7-8.9 high, 4-6.9 medium, 0.1-3.9 low. */
static const char *security_severity(fangs_severity s)
{
	static const char *const score[] = {"1.0", "3.5", "5.5", "8.0", "9.5"};
	return (unsigned)s <= FANGS_SEV_CRITICAL ? score[s] : "5.5";
}

static json_object *jtext(const char *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "text", json_object_new_string(s ? s : ""));
	return o;
}

/* A relative reference as RFC 3986 allows it: unreserved characters and
 * '/' as they are, every other byte %XX. */
static char *uri_encode(const char *path)
{
	strbuf b = {0};
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			sb_printf(&b, "%c", *p);
		else
			sb_printf(&b, "%%%02X", *p);
	}
	return sb_take(&b);
}

static json_object *sarif_location(const report_location *loc, const report_item *it)
{
	json_object *l = json_object_new_object(), *pl = json_object_new_object(), *al = json_object_new_object(),
		    *rg = json_object_new_object(), *arr = json_object_new_array(), *logical, *lo;
	char *uri = uri_encode(loc->path), *fq;
	strbuf b = {0};
	json_object_object_add(al, "uri", json_object_new_string(uri));
	free(uri);
	json_object_object_add(pl, "artifactLocation", al);
	json_object_object_add(rg, "startLine", json_object_new_int(loc->line));
	json_object_object_add(pl, "region", rg);
	json_object_object_add(l, "physicalLocation", pl);
	/* the dependency, by its path, as a logical location */
	for (size_t i = 0; i < it->n_path; i++)
		sb_printf(&b, "%s%s", i ? ">" : "", it->path[i]);
	if (!it->n_path)
		sb_printf(&b, "%s", it->name ? it->name : "?");
	fq = sb_take(&b);
	logical = json_object_new_array();
	lo = json_object_new_object();
	json_object_object_add(lo, "name", json_object_new_string(it->name ? it->name : "?"));
	json_object_object_add(lo, "fullyQualifiedName", json_object_new_string(fq));
	json_object_object_add(lo, "kind", json_object_new_string("package"));
	json_object_array_add(logical, lo);
	json_object_object_add(l, "logicalLocations", logical);
	free(fq);
	json_object_array_add(arr, l);
	return arr;
}

static json_object *sarif_item_props(const report_item *it)
{
	json_object *p = json_object_new_object(), *a = json_object_new_array(), *s = json_object_new_array();
	json_object_object_add(p, "package", json_object_new_string(it->name ? it->name : "?"));
	json_object_object_add(p, "version", json_object_new_string(it->version ? it->version : "?"));
	if (it->previous_version)
		json_object_object_add(p, "previousVersion", json_object_new_string(it->previous_version));
	for (size_t i = 0; i < it->n_path; i++)
		json_object_array_add(a, json_object_new_string(it->path[i]));
	json_object_object_add(p, "dependencyPath", a);
	for (size_t i = 0; i < it->n_scripts; i++)
		json_object_array_add(s, json_object_new_string(it->scripts[i]));
	json_object_object_add(p, "scripts", s);
	json_object_object_add(p, "status", json_object_new_string(report_status_name(it->status)));
	json_object_object_add(p, "scriptsApproved", json_object_new_string(report_approval_name(it->approval)));
	if (it->run_id)
		json_object_object_add(p, "runId", json_object_new_string(it->run_id));
	return p;
}

int report_write_sarif(FILE *f, const report *r)
{
	json_object *doc = json_object_new_object(), *runs = json_object_new_array(), *run = json_object_new_object();
	json_object *tool = json_object_new_object(), *driver = json_object_new_object(), *rules;
	json_object *results = json_object_new_array(), *inv = json_object_new_array(), *io, *ad;
	rule_set rs;
	strbuf b = {0};
	char *s;
	rule_set_init(&rs);
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		report_location loc;
		report_locate(r, it, &loc);
		for (size_t j = 0; j < it->findings.count; j++) {
			const fangs_finding *fi = &it->findings.items[j];
			const char *kind = fi->kind ? fi->kind : "?";
			json_object *res = json_object_new_object(), *pf = json_object_new_object(), *props;
			char hex[40], uuid[40], *msg = finding_message(it, fi);
			size_t ri = rule_index(&rs, kind, fi);
			finding_ids(it, kind, fi->value, fangs_actor_name(fi->actor), hex, sizeof(hex), uuid,
				    sizeof(uuid));
			json_object_object_add(res, "ruleId", json_object_new_string(kind));
			json_object_object_add(res, "ruleIndex", json_object_new_int((int)ri));
			json_object_object_add(res, "level", json_object_new_string(sarif_level(r, fi->severity)));
			json_object_object_add(res, "message", jtext(msg));
			json_object_object_add(res, "locations", sarif_location(&loc, it));
			json_object_object_add(pf, "fangsFinding/v1", json_object_new_string(hex));
			json_object_object_add(res, "partialFingerprints", pf);
			props = sarif_item_props(it);
			json_object_object_add(props, "severity",
					       json_object_new_string(fangs_severity_name(fi->severity)));
			json_object_object_add(props, "security-severity",
					       json_object_new_string(security_severity(fi->severity)));
			{
				json_object *labels = json_object_new_array(), *values = json_object_new_array();
				for (size_t k = 0; k < fi->n_labels; k++)
					json_object_array_add(labels, json_object_new_string(fi->labels[k]));
				for (size_t k = 0; k < fi->n_values; k++)
					json_object_array_add(values, json_object_new_string(fi->values[k]));
				json_object_object_add(props, "labels", labels);
				json_object_object_add(props, "values", values);
			}
			json_object_object_add(props, "actor", json_object_new_string(fangs_actor_name(fi->actor)));
			if (fi->origin.script)
				json_object_object_add(props, "script", json_object_new_string(fi->origin.script));
			json_object_object_add(res, "properties", props);
			json_object_array_add(results, res);
			free(msg);
		}
		if (it->status == REPORT_INSTALL_FAILED) {
			json_object *res = json_object_new_object(), *pf = json_object_new_object();
			char hex[40], uuid[40], *ctx = item_context(it);
			size_t ri = rule_index(&rs, INSTALL_FAILED_RULE, NULL);
			finding_ids(it, INSTALL_FAILED_RULE, it->version, "", hex, sizeof(hex), uuid, sizeof(uuid));
			sb_printf(&b, "The install of %s failed: %s", ctx, txd(it->reason, "-"));
			s = sb_take(&b);
			json_object_object_add(res, "ruleId", json_object_new_string(INSTALL_FAILED_RULE));
			json_object_object_add(res, "ruleIndex", json_object_new_int((int)ri));
			json_object_object_add(res, "level", json_object_new_string("warning"));
			json_object_object_add(res, "message", jtext(s));
			json_object_object_add(res, "locations", sarif_location(&loc, it));
			json_object_object_add(pf, "fangsFinding/v1", json_object_new_string(hex));
			json_object_object_add(res, "partialFingerprints", pf);
			json_object_object_add(res, "properties", sarif_item_props(it));
			json_object_array_add(results, res);
			free(s);
			free(ctx);
		}
		free(loc.path);
	}
	rules = json_object_new_array();
	for (size_t i = 0; i < rs.count; i++) {
		const rule_meta *m = &rs.items[i];
		json_object *ro = json_object_new_object(), *dc = json_object_new_object(),
			    *props = json_object_new_object();
		json_object *tags = json_object_new_array(), *help = json_object_new_object();
		json_object_object_add(ro, "id", json_object_new_string(m->id));
		json_object_object_add(ro, "shortDescription", jtext(m->brief));
		json_object_object_add(ro, "fullDescription", jtext(m->help));
		json_object_object_add(help, "text", json_object_new_string(m->help));
		sb_printf(&b,
			  "**%s** (default severity %s)\n\n%s\n\nSee `fangs run show` for the run and its evidence "
			  "events.",
			  m->brief, fangs_severity_name(m->severity), m->help);
		s = sb_take(&b);
		json_object_object_add(help, "markdown", json_object_new_string(s));
		free(s);
		json_object_object_add(ro, "help", help);
		json_object_object_add(dc, "level", json_object_new_string(sarif_level(r, m->severity)));
		json_object_object_add(ro, "defaultConfiguration", dc);
		json_object_array_add(tags, json_object_new_string("security"));
		json_object_array_add(tags, json_object_new_string("supply-chain"));
		json_object_object_add(props, "tags", tags);
		json_object_object_add(props, "security-severity",
				       json_object_new_string(security_severity(m->severity)));
		json_object_object_add(props, "severity", json_object_new_string(fangs_severity_name(m->severity)));
		json_object_object_add(ro, "properties", props);
		json_object_array_add(rules, ro);
	}
	json_object_object_add(driver, "name", json_object_new_string("fangs"));
	json_object_object_add(driver, "version", json_object_new_string(r->tool_version ? r->tool_version : "?"));
	json_object_object_add(driver, "rules", rules);
	json_object_object_add(tool, "driver", driver);
	json_object_object_add(run, "tool", tool);
	/* one category per command: a scan's alerts and a review's do not close each other */
	sb_printf(&b, "fangs/%s/", r->command ? r->command : "scan");
	s = sb_take(&b);
	ad = json_object_new_object();
	json_object_object_add(ad, "id", json_object_new_string(s));
	free(s);
	json_object_object_add(run, "automationDetails", ad);
	io = json_object_new_object();
	json_object_object_add(io, "executionSuccessful", json_object_new_boolean(1));
	json_object_array_add(inv, io);
	json_object_object_add(run, "invocations", inv);
	json_object_object_add(run, "results", results);
	json_object_array_add(runs, run);
	json_object_object_add(doc, "$schema", json_object_new_string("https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_object_add(doc, "version", json_object_new_string("2.1.0"));
	json_object_object_add(doc, "runs", runs);
	rule_set_free(&rs);
	return report_json_out(f, doc);
}

/* ---- GitLab dependency scanning ---------------------------------------------- */

/* The version of GitLab's security-report-schemas that the reports follow
 * (tests/ci/schemas/ holds that schema). */
#define GITLAB_SCHEMA_VERSION "14.0.3"

static json_object *gl_time(int64_t ns)
{
	char buf[32];
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_object_new_string(buf);
}

static json_object *gl_tool(const report *r)
{
	json_object *o = json_object_new_object(), *v = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string("fangs"));
	json_object_object_add(o, "name", json_object_new_string("fangs"));
	json_object_object_add(o, "version", json_object_new_string(r->tool_version ? r->tool_version : "unknown"));
	json_object_object_add(v, "name", json_object_new_string("fangs"));
	json_object_object_add(o, "vendor", v);
	return o;
}

static json_object *gl_dependency(const report_item *it, size_t iid)
{
	json_object *d = json_object_new_object(), *p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(it->name ? it->name : "?"));
	json_object_object_add(d, "package", p);
	json_object_object_add(d, "version", json_object_new_string(it->version ? it->version : "?"));
	json_object_object_add(d, "iid", json_object_new_int64((int64_t)iid));
	json_object_object_add(d, "direct", json_object_new_boolean(it->n_path <= 1));
	return d;
}

/* {"name": ..., "type": "text", "value": ...} of a named list */
static void gl_detail_text(json_object *items, const char *key, const char *name, const char *value)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string("text"));
	json_object_object_add(o, "value", json_object_new_string(value ? value : ""));
	json_object_object_add(items, key, o);
}

static void gl_detail_list(json_object *items, const char *key, const char *name, char *const *v, size_t n)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string("list"));
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_new_object();
		json_object_object_add(t, "type", json_object_new_string("text"));
		json_object_object_add(t, "value", json_object_new_string(v[i]));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "items", a);
	json_object_object_add(items, key, o);
}

static json_object *gl_vulnerability(const report *r, const report_item *it, size_t iid, const report_location *loc,
				     rule_set *rs, const char *kind, const fangs_finding *fi, const char *message,
				     const char *description)
{
	json_object *v = json_object_new_object(), *sc = json_object_new_object(), *lo = json_object_new_object();
	json_object *ids = json_object_new_array(), *id = json_object_new_object(), *details = json_object_new_object();
	char hex[40], uuid[40];
	size_t ri = rule_index(rs, kind, fi); /* may move rs->items */
	const rule_meta *m = &rs->items[ri];
	fangs_severity sev = fi ? fi->severity : m->severity;
	finding_ids(it, kind, fi ? fi->value : it->version, fi ? fangs_actor_name(fi->actor) : "", hex, sizeof(hex),
		    uuid, sizeof(uuid));
	(void)r;
	json_object_object_add(v, "id", json_object_new_string(uuid));
	json_object_object_add(v, "category", json_object_new_string("dependency_scanning"));
	json_object_object_add(v, "name", json_object_new_string(m->brief));
	json_object_object_add(v, "message", json_object_new_string(message));
	json_object_object_add(v, "description", json_object_new_string(description));
	json_object_object_add(v, "cve", json_object_new_string(hex));
	json_object_object_add(v, "severity", json_object_new_string(severity_title(sev)));
	/* a rule hit is a known bad pattern; a deviation is only new */
	json_object_object_add(v, "confidence",
			       json_object_new_string(fi && fi->n_rule_hits ? "High"
						      : fi                  ? "Medium"
									    : "Confirmed"));
	json_object_object_add(
		v, "solution",
		json_object_new_string(
			"Look at the run (fangs run show RUN) and its evidence events. If the behaviour is "
			"expected, promote the run into the baseline (fangs baseline promote RUN) or allow "
			"it (fangs allow add); otherwise keep the previous version."));
	json_object_object_add(sc, "id", json_object_new_string("fangs"));
	json_object_object_add(sc, "name", json_object_new_string("fangs"));
	json_object_object_add(v, "scanner", sc);
	json_object_object_add(lo, "file", json_object_new_string(loc->path));
	json_object_object_add(lo, "dependency", gl_dependency(it, iid));
	json_object_object_add(v, "location", lo);
	json_object_object_add(id, "type", json_object_new_string("fangs_kind"));
	json_object_object_add(id, "name", json_object_new_string(kind));
	json_object_object_add(id, "value", json_object_new_string(kind));
	json_object_array_add(ids, id);
	json_object_object_add(v, "identifiers", ids);
	gl_detail_list(details, "dependency_path", "Dependency path", it->path, it->n_path);
	gl_detail_list(details, "scripts", "Install scripts", it->scripts, it->n_scripts);
	gl_detail_text(details, "status", "Status", report_status_name(it->status));
	{
		char line[16];
		snprintf(line, sizeof(line), "%d", loc->line);
		gl_detail_text(details, "line", "Line", line);
	}
	if (it->run_id)
		gl_detail_text(details, "run_id", "fangs run", it->run_id);
	if (fi) {
		gl_detail_text(details, "severity", "fangs severity", fangs_severity_name(fi->severity));
		gl_detail_list(details, "values", "Values", fi->values, fi->n_values);
	}
	json_object_object_add(v, "details", details);
	return v;
}

int report_write_gitlab(FILE *f, const report *r)
{
	json_object *doc = json_object_new_object(), *vulns = json_object_new_array(), *scan = json_object_new_object();
	json_object *files = json_object_new_array(), *df = json_object_new_object(), *deps = json_object_new_array();
	json_object *messages = json_object_new_array();
	const char *depfile = r->lockfile ? r->lockfile : r->manifest ? r->manifest : "package.json";
	char *depfile_path = report_file_path(r, depfile);
	rule_set rs;
	rule_set_init(&rs);
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		report_location loc;
		char *ctx = item_context(it);
		report_locate(r, it, &loc);
		json_object_array_add(deps, gl_dependency(it, i + 1));
		for (size_t j = 0; j < it->findings.count; j++) {
			const fangs_finding *fi = &it->findings.items[j];
			char *labels = finding_labels(fi), *desc = finding_message(it, fi);
			strbuf mb = {0};
			char *msg;
			sb_printf(&mb, "%s: %s in %s@%s", labels, txd(fi->value, "-"), txd(it->name, "?"),
				  txd(it->version, "?"));
			msg = sb_take(&mb);
			json_object_array_add(vulns, gl_vulnerability(r, it, i + 1, &loc, &rs,
								      fi->kind ? fi->kind : "?", fi, msg, desc));
			free(msg);
			free(desc);
			free(labels);
		}
		if (it->status == REPORT_INSTALL_FAILED) {
			strbuf mb = {0};
			char *msg;
			json_object *m = json_object_new_object();
			sb_printf(&mb, "The install of %s failed: %s", ctx, txd(it->reason, "-"));
			msg = sb_take(&mb);
			json_object_array_add(
				vulns, gl_vulnerability(r, it, i + 1, &loc, &rs, INSTALL_FAILED_RULE, NULL, msg, msg));
			json_object_object_add(m, "level", json_object_new_string("warn"));
			json_object_object_add(m, "value", json_object_new_string(msg));
			json_object_array_add(messages, m);
			free(msg);
		}
		free(ctx);
		free(loc.path);
	}
	json_object_object_add(df, "path", json_object_new_string(depfile_path));
	json_object_object_add(df, "package_manager", json_object_new_string("npm"));
	json_object_object_add(df, "dependencies", deps);
	json_object_array_add(files, df);
	free(depfile_path);
	json_object_object_add(scan, "analyzer", gl_tool(r));
	json_object_object_add(scan, "scanner", gl_tool(r));
	json_object_object_add(scan, "type", json_object_new_string("dependency_scanning"));
	json_object_object_add(scan, "start_time", gl_time(r->started_ns));
	json_object_object_add(scan, "end_time",
			       gl_time(r->finished_ns ? r->finished_ns : (int64_t)time(NULL) * 1000000000LL));
	json_object_object_add(scan, "status", json_object_new_string("success"));
	json_object_object_add(scan, "messages", messages);
	json_object_object_add(doc, "version", json_object_new_string(GITLAB_SCHEMA_VERSION));
	json_object_object_add(doc, "schema",
			       json_object_new_string("https://gitlab.com/gitlab-org/security-products/security-report-"
						      "schemas/-/raw/v" GITLAB_SCHEMA_VERSION
						      "/dist/dependency-scanning-report-format.json"));
	json_object_object_add(doc, "scan", scan);
	json_object_object_add(doc, "vulnerabilities", vulns);
	json_object_object_add(doc, "remediations", json_object_new_array());
	json_object_object_add(doc, "dependency_files", files);
	rule_set_free(&rs);
	return report_json_out(f, doc);
}

/* ---- JUnit XML ---------------------------------------------------------------- */

/* Text for an XML attribute or element: the markup characters as
 * entities. Control characters and invalid UTF-8 never reach here (the
 * text went through fangs_text_escape, which shows them as \xNN); the
 * two characters XML 1.0 cannot carry that it lets through, U+FFFE and
 * U+FFFF, are shown as \u{fffe} and \u{ffff}. Tab, CR and LF are written
 * as character references so an attribute keeps them. */
static void xml_put(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		const unsigned char *u = (const unsigned char *)s;
		if (u[0] == 0xef && u[1] == 0xbf && (u[2] == 0xbe || u[2] == 0xbf)) {
			fputs(u[2] == 0xbe ? "\\u{fffe}" : "\\u{ffff}", f);
			s += 2;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\n':
			fputs("&#10;", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		case '\t':
			fputs("&#9;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

int report_write_junit(FILE *f, const report *r)
{
	size_t failures = 0, errors = 0;
	char ts[32];
	time_t t = (time_t)(r->started_ns / 1000000000LL);
	struct tm tm;
	struct timespec now;
	int64_t end = r->finished_ns;
	double secs;
	clock_gettime(CLOCK_REALTIME, &now);
	if (!end)
		end = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	secs = end > r->started_ns ? (double)(end - r->started_ns) / 1e9 : 0.0;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		if (it->findings.count && it->findings.items[0].severity >= r->fail_on)
			failures++;
		else if (it->status == REPORT_INSTALL_FAILED)
			errors++;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"fangs\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
		r->count, failures, errors, secs);
	fprintf(f,
		"  <testsuite name=\"fangs %s\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" "
		"time=\"%.3f\" timestamp=\"%s\" hostname=\"localhost\">\n",
		r->command ? r->command : "scan", r->count, failures, errors, secs, ts);
	fputs("    <properties>\n", f);
	fprintf(f, "      <property name=\"fangs.version\" value=\"");
	xml_put(f, tx(r->tool_version));
	fputs("\"/>\n", f);
	fprintf(f, "      <property name=\"fangs.fail_on\" value=\"%s\"/>\n", fangs_severity_name(r->fail_on));
	if (r->lockfile) {
		char *p = report_file_path(r, r->lockfile);
		fputs("      <property name=\"fangs.lockfile\" value=\"", f);
		xml_put(f, tx(p));
		fputs("\"/>\n", f);
		free(p);
	}
	fputs("    </properties>\n", f);
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		char *title = item_title(it), *ctx = item_context(it);
		strbuf cls = {0};
		report_location loc;
		int fails = it->findings.count && it->findings.items[0].severity >= r->fail_on;
		report_locate(r, it, &loc);
		sb_printf(&cls, "fangs.%s", it->n_path > 1 ? "transitive" : "direct");
		fputs("    <testcase name=\"", f);
		xml_put(f, title);
		fprintf(f, "\" classname=\"%s\" time=\"0\" file=\"", cls.s);
		xml_put(f, tx(loc.path));
		fprintf(f, "\" line=\"%d\">\n", loc.line);
		free(cls.s);
		if (fails) {
			const fangs_finding *top = &it->findings.items[0];
			char *labels = finding_labels(top);
			fprintf(f, "      <failure type=\"%s\" message=\"", fangs_severity_name(top->severity));
			strbuf mb = {0};
			sb_printf(&mb, "%zu finding%s, highest %s: %s %s", it->findings.count,
				  it->findings.count == 1 ? "" : "s", fangs_severity_name(top->severity), labels,
				  txd(top->value, "-"));
			xml_put(f, mb.s);
			free(mb.s);
			fputs("\">", f);
			for (size_t j = 0; j < it->findings.count; j++) {
				char *msg = finding_message(it, &it->findings.items[j]);
				xml_put(f, msg);
				fputs("&#10;", f);
				free(msg);
			}
			fputs("</failure>\n", f);
			free(labels);
		} else if (it->status == REPORT_INSTALL_FAILED) {
			fputs("      <error type=\"install_failed\" message=\"", f);
			xml_put(f, txd(it->reason, "install failed"));
			fputs("\">", f);
			xml_put(f, ctx);
			fputs("</error>\n", f);
		}
		/* what passed is said too: the findings below --fail-on, the status */
		fputs("      <system-out>", f);
		xml_put(f, ctx);
		fprintf(f, "&#10;status: %s", report_status_name(it->status));
		if (it->run_id) {
			fputs("&#10;run: ", f);
			xml_put(f, tx(it->run_id));
		}
		if (!fails)
			for (size_t j = 0; j < it->findings.count; j++) {
				char *msg = finding_message(it, &it->findings.items[j]);
				fputs("&#10;", f);
				xml_put(f, msg);
				free(msg);
			}
		fputs("</system-out>\n", f);
		fputs("    </testcase>\n", f);
		free(title);
		free(ctx);
		free(loc.path);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return ferror(f) ? -1 : 0;
}
