/*
 * registry/prefetch.c - resolve and download on the host, scripts disabled,
 * so that the sandbox installs offline.
 */
#include <errno.h>
#include <gnutls/crypto.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/opts.h"
#include "core/internal.h"
#include "fangs/project.h"
#include "fangs/registry.h"
#include "core/fsutil.h"

#define OUTPUT_MAX (16 * 1024)
#define ARGS_MAX 64

typedef struct npm_call {
	const char *argv[ARGS_MAX + 16];
	size_t n;
} npm_call;

/* npm's own account of an error: its first "npm error" line that is not the
 * code or the pointer to its log file. */
static const char *npm_reason(const char *out, int *len)
{
	const char *p = out;
	while ((p = strstr(p, "npm error "))) {
		p += 10;
		if (strncmp(p, "code ", 5) && strncmp(p, "A complete log", 14) && *p != '\n') {
			*len = (int)strcspn(p, "\n");
			return p;
		}
	}
	*len = 0;
	return NULL;
}

/* Why npm failed, from its own error codes. */
static int classify(const char *out, const char *what, const char *registry)
{
	static const struct {
		const char *needle;
		int code;
		const char *why;
	} rules[] = {
		{"code EINVALIDPACKAGENAME", FANGS_EINVAL, "not a valid package spec"},
		{"code EINVALIDTAGNAME", FANGS_EINVAL, "not a valid package spec"},
		{"code EUNSUPPORTEDPROTOCOL", FANGS_EINVAL, "not a valid package spec"},
		{"code E404", FANGS_ENOTFOUND, "not found in the registry"},
		{"code ETARGET", FANGS_ENOTFOUND, "no such version in the registry"},
		{"code ENOENT", FANGS_ENOTFOUND, "a local package path does not exist"},
		{"code EINTEGRITY", FANGS_EPARSE, "corrupt tarball (integrity check failed)"},
		{"TAR_BAD_ARCHIVE", FANGS_EPARSE, "corrupt tarball (not a tar archive)"},
		{"TAR_ENTRY", FANGS_EPARSE, "corrupt tarball"},
		{"code Z_DATA_ERROR", FANGS_EPARSE, "corrupt tarball (bad gzip data)"},
		{"code Z_BUF_ERROR", FANGS_EPARSE, "corrupt tarball (truncated)"},
		{"code ECONNREFUSED", FANGS_ENETWORK, "registry unreachable (connection refused)"},
		{"code ENOTFOUND", FANGS_ENETWORK, "registry unreachable (name does not resolve)"},
		{"code EAI_AGAIN", FANGS_ENETWORK, "registry unreachable (DNS failure)"},
		{"code ETIMEDOUT", FANGS_ENETWORK, "registry unreachable (timed out)"},
		{"code ENETUNREACH", FANGS_ENETWORK, "registry unreachable (no route)"},
		{"code ECONNRESET", FANGS_ENETWORK, "registry unreachable (connection reset)"},
		{"code EHOSTUNREACH", FANGS_ENETWORK, "registry unreachable (host unreachable)"},
	};
	int len;
	const char *reason = npm_reason(out, &len);
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(rules); i++) {
		if (!strstr(out, rules[i].needle))
			continue;
		if (rules[i].code == FANGS_ENETWORK)
			return fangs_error_set(rules[i].code, "prefetch %s: %s: %s", what, rules[i].why, registry);
		/* for a bad spec, npm's words say what is wrong with it */
		if (rules[i].code == FANGS_EINVAL && reason)
			return fangs_error_set(rules[i].code, "prefetch %s: %s (%.*s)", what, rules[i].why, len,
					       reason);
		return fangs_error_set(rules[i].code, "prefetch %s: %s", what, rules[i].why);
	}
	return fangs_error_set(FANGS_ERROR, "prefetch %s: npm failed%s%.*s", what, reason ? ": " : "", len,
			       reason ? reason : "");
}

static void push(npm_call *c, const char *arg)
{
	if (c->n < FANGS_ARRAY_SIZE(c->argv) - 1)
		c->argv[c->n++] = arg;
	c->argv[c->n] = NULL;
}

/* A directory is packed into the project, scripts disabled; a tarball is
 * copied there; either way npm then names it relative to the project. */
static int local_spec(const fangs_prefetch_options *o, const char *spec, char *out, size_t cap, char *log,
		      size_t logcap)
{
	struct stat st;
	char dst[4096];
	const char *base;
	int rc;

	if (stat(spec, &st) < 0 || !(spec[0] == '/' || spec[0] == '.')) {
		snprintf(out, cap, "%s", spec);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		base = strrchr(spec, '/');
		base = base ? base + 1 : spec;
		snprintf(dst, sizeof(dst), "%s/%s", o->project_dir, base);
		if ((rc = fangs__copy_file(spec, dst)) < 0)
			return rc;
		snprintf(out, cap, "./%s", base);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return fangs_error_set(FANGS_EINVAL, "prefetch %s: neither a file nor a directory", spec);
	const char *pack[] = {o->npm ? o->npm : "npm",
			      "pack",
			      "--ignore-scripts",
			      "--pack-destination",
			      o->project_dir,
			      "--",
			      spec,
			      NULL};
	int status = fangs__run_capture(pack, NULL, log, logcap);
	if (status < 0)
		return status;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return classify(log, spec, "");
	/* the tarball's name is npm pack's last line */
	char *end = log + strlen(log);
	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	char *line = strrchr(log, '\n');
	line = line ? line + 1 : log;
	if (!fangs__str_has_suffix(line, ".tgz"))
		return fangs_error_set(FANGS_ERROR, "prefetch %s: npm pack named no tarball", spec);
	snprintf(out, cap, "./%s", line);
	return 0;
}

static int npm_run(const fangs_prefetch_options *o, npm_call *c, const char *what, char *log, size_t cap)
{
	int status = fangs__run_capture(c->argv, o->project_dir, log, cap);
	if (status < 0)
		return status;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return classify(log, what, o->registry ? o->registry : "npm's configured registry");
}

static void common_args(const fangs_prefetch_options *o, npm_call *c, char *reg, size_t regcap, char *retries,
			size_t rcap)
{
	push(c, "--ignore-scripts");
	/* the host's npmrc may drop `resolved`, which breaks the offline install */
	push(c, "--omit-lockfile-registry-resolved=false");
	push(c, "--no-audit");
	push(c, "--no-fund");
	push(c, "--update-notifier=false");
	/* npm waits 10 s, then up to 60 s between retries: a dead registry or a
	 * corrupt tarball would hold a scan for more than a minute */
	push(c, "--fetch-retry-mintimeout=1000");
	push(c, "--fetch-retry-maxtimeout=4000");
	push(c, "--cache");
	push(c, o->cache_dir);
	if (o->registry) {
		snprintf(reg, regcap, "--registry=%s", o->registry);
		push(c, reg);
	}
	if (o->fetch_retries != 0) {
		snprintf(retries, rcap, "--fetch-retries=%d", o->fetch_retries < 0 ? 0 : o->fetch_retries);
		push(c, retries);
	}
}

static int prefetch_project(const fangs_prefetch_options *o, fangs_prefetch_result *result, char *log);

static const size_t prefetch_sizes[] = {
	0, offsetof(fangs_prefetch_options, project), /* 1 */
	sizeof(fangs_prefetch_options),               /* 2: project, resolve */
};
FANGS__OPTS_SIZES_ASSERT(prefetch_sizes, FANGS_PREFETCH_OPTIONS_VERSION);
static const fangs_prefetch_options prefetch_defaults = FANGS_PREFETCH_OPTIONS_INIT;

int fangs_prefetch_options_init(fangs_prefetch_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &prefetch_defaults, prefetch_sizes, FANGS_PREFETCH_OPTIONS_VERSION,
				"fangs_prefetch_options");
}

int fangs_prefetch(const fangs_prefetch_options *in, fangs_prefetch_result *result)
{
	fangs_prefetch_options copy;
	const fangs_prefetch_options *o = in ? &copy : NULL;
	char reg[1024], retries[32], manifest[4096], what[512];
	char(*local)[4096] = NULL;
	char *log = NULL;
	npm_call c;
	int rc;

	/* `resolved` came with options version 2: an older caller's result
	 * ends before it */
	if (result) {
		result->output = NULL;
		if (in && in->version >= 2)
			result->resolved = 0;
	}
	if (!in)
		return fangs_error_set(FANGS_EINVAL, "prefetch options missing");
	if ((rc = fangs__opts_copy(&copy, in, &prefetch_defaults, prefetch_sizes, FANGS_PREFETCH_OPTIONS_VERSION,
				   "fangs_prefetch_options")) < 0)
		return rc;
	if (o->version >= 2 && o->project) {
		if (!o->cache_dir || !o->project_dir)
			return fangs_error_set(FANGS_EINVAL, "prefetch needs cache_dir and project_dir");
		if (!(log = calloc(1, OUTPUT_MAX)))
			return fangs__error_oom();
		rc = prefetch_project(o, result, log);
		if (result)
			result->output = fangs__strdup(log);
		free(log);
		return rc;
	}
	if (!o->cache_dir || !o->project_dir || o->nspecs == 0 || !o->specs)
		return fangs_error_set(FANGS_EINVAL, "prefetch needs specs, cache_dir and project_dir");
	if (o->nspecs > ARGS_MAX)
		return fangs_error_set(FANGS_EINVAL, "prefetch takes at most %d specs", ARGS_MAX);
	snprintf(what, sizeof(what), "%s%s", o->specs[0], o->nspecs > 1 ? " ..." : "");
	if ((rc = fangs__mkdir_p(o->cache_dir, 0755)) < 0 || (rc = fangs__mkdir_p(o->project_dir, 0755)) < 0)
		return rc;
	snprintf(manifest, sizeof(manifest), "%s/package.json", o->project_dir);
	if (access(manifest, F_OK) == 0)
		return fangs_error_set(FANGS_EEXISTS, "prefetch: %s exists; give an empty project directory", manifest);
	if ((rc = fangs__write_at(o->project_dir, "package.json", "{\"name\":\"app\",\"private\":true}\n", 0644)) < 0)
		return rc;
	log = calloc(1, OUTPUT_MAX);
	local = calloc(o->nspecs, sizeof(*local));
	if (!log || !local) {
		rc = fangs__error_oom();
		goto out;
	}
	for (size_t i = 0; i < o->nspecs; i++) {
		if (!o->specs[i] || !o->specs[i][0]) {
			rc = fangs_error_set(FANGS_EINVAL, "prefetch: empty spec");
			goto out;
		}
		if ((rc = local_spec(o, o->specs[i], local[i], sizeof(local[i]), log, OUTPUT_MAX)) < 0)
			goto out;
	}

	/* Resolve the tree into a lockfile and fetch every tarball of it into
	 * the cache, in one npm run (a second one, resolve then `npm ci`, cost
	 * half a second of node start-up and tree building per scan). */
	memset(&c, 0, sizeof(c));
	push(&c, o->npm ? o->npm : "npm");
	push(&c, "install");
	common_args(o, &c, reg, sizeof(reg), retries, sizeof(retries));
	/* whatever a spec starts with, npm reads it as a spec, not an option */
	push(&c, "--");
	for (size_t i = 0; i < o->nspecs; i++)
		push(&c, local[i]);
	rc = npm_run(o, &c, what, log, OUTPUT_MAX);
	if (rc == 0) {
		/* the host's copy is not needed: the sandbox installs its own */
		char nm[4096];
		snprintf(nm, sizeof(nm), "%s/node_modules", o->project_dir);
		fangs__rm_rf(nm);
	}
out:
	if (result && log)
		result->output = fangs__strdup(log);
	free(log);
	free(local);
	return rc;
}

/* The integrity npm's cache recorded for a tarball it fetched from `url`
 * (the cacache index entry of its HTTP cache: index-v5/<sha256 of the key>,
 * lines "<sha1>\t<json>", the last one wins), into out. */
static int cached_integrity(const char *cache_dir, const char *url, char *out, size_t cap)
{
	unsigned char digest[32];
	char key[4300], hex[65], path[4600], *text = NULL;
	size_t len = 0;
	int found = 0;
	snprintf(key, sizeof(key), "make-fetch-happen:request-cache:%s", url);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key, strlen(key), digest) < 0)
		return 0;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	snprintf(path, sizeof(path), "%s/_cacache/index-v5/%.2s/%.2s/%s", cache_dir, hex, hex + 2, hex + 4);
	if (fangs__read_file(path, &text, &len))
		return 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');
		json_object *e, *k, *in;
		if (!tab || !(e = json_tokener_parse(tab + 1)))
			continue;
		if (json_object_object_get_ex(e, "key", &k) && !strcmp(json_object_get_string(k), key) &&
		    json_object_object_get_ex(e, "integrity", &in) && json_object_is_type(in, json_type_string)) {
			snprintf(out, cap, "%s", json_object_get_string(in));
			found = 1;
		}
		json_object_put(e);
	}
	free(text);
	return found;
}

/* A lockfile may name no `resolved` or `integrity` (npm's
 * omit-lockfile-registry-resolved, older lockfiles): npm then asks the
 * registry's package document, which the sandbox's npm cannot take from
 * the cache (it sends the decoy ~/.npmrc's token, and the cache keeps no
 * answer to an authenticated request). The sandbox's copy gets both, from
 * what the host's `npm ci` fetched: the tarball's URL npm derives from the
 * registry, and the integrity of the bytes the cache holds for it. */
static int complete_lock(const fangs_prefetch_options *o)
{
	char lock[4300], reg[1024], integrity[1024];
	json_object *doc, *pkgs;
	int changed = 0, rc = 0;
	if (fangs_lockfile_find_in(o->project_dir, lock, sizeof(lock)))
		return 0;
	if (o->registry)
		snprintf(reg, sizeof(reg), "%s", o->registry);
	else if (fangs_registry_configured(o->npm, reg, sizeof(reg)))
		return 0;
	if (!(doc = json_object_from_file(lock)))
		return fangs_error_set(FANGS_EPARSE, "%s: cannot read the lockfile", lock);
	if (json_object_object_get_ex(doc, "packages", &pkgs) && json_object_is_type(pkgs, json_type_object)) {
		json_object_object_foreach(pkgs, key, val)
		{
			json_object *v, *name = NULL, *link = NULL;
			const char *n = strstr(key, "node_modules/"), *base;
			char url[2600];
			if (!n || !json_object_is_type(val, json_type_object) ||
			    (json_object_object_get_ex(val, "link", &link) && json_object_get_boolean(link)) ||
			    !json_object_object_get_ex(val, "version", &v) || !json_object_is_type(v, json_type_string))
				continue;
			if (json_object_object_get_ex(val, "resolved", NULL) &&
			    json_object_object_get_ex(val, "integrity", NULL))
				continue;
			/* the name a location installs: after its last node_modules/ */
			for (const char *p = n; (p = strstr(p, "node_modules/")); p += 13)
				n = p + 13;
			if (json_object_object_get_ex(val, "name", &name) &&
			    json_object_is_type(name, json_type_string))
				n = json_object_get_string(name);
			base = strrchr(n, '/') ? strrchr(n, '/') + 1 : n;
			snprintf(url, sizeof(url), "%s%s%s/-/%s-%s.tgz", reg,
				 reg[0] && reg[strlen(reg) - 1] == '/' ? "" : "/", n, base, json_object_get_string(v));
			if (!cached_integrity(o->cache_dir, url, integrity, sizeof(integrity)))
				continue;
			if (!json_object_object_get_ex(val, "resolved", NULL))
				json_object_object_add(val, "resolved", json_object_new_string(url));
			if (!json_object_object_get_ex(val, "integrity", NULL))
				json_object_object_add(val, "integrity", json_object_new_string(integrity));
			changed = 1;
		}
	}
	if (changed && json_object_to_file_ext(lock, doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE))
		rc = fangs_error_set(FANGS_EIO, "writing %s", lock);
	json_object_put(doc);
	return rc;
}

/* npm ci's words for a lockfile that does not match package.json */
static int out_of_sync(const char *log)
{
	return strstr(log, "can only install packages when your package.json and package-lock.json") ||
	       strstr(log, "are in sync") || strstr(log, "Missing: ") || strstr(log, "Invalid: lock file");
}

static int prefetch_project(const fangs_prefetch_options *o, fangs_prefetch_result *result, char *log)
{
	char reg[1024], retries[32], src[4096], dst[4096], lock[4096], lockname[64] = "";
	npm_call c;
	int rc, have_lock;

	if ((rc = fangs__mkdir_p(o->cache_dir, 0755)) < 0 || (rc = fangs__mkdir_p(o->project_dir, 0755)) < 0)
		return rc;
	snprintf(src, sizeof(src), "%s/package.json", o->project);
	if (access(src, R_OK) != 0)
		return fangs_error_set(FANGS_ENOTFOUND, "%s: no package.json (not an npm project)", o->project);
	snprintf(dst, sizeof(dst), "%s/package.json", o->project_dir);
	if (access(dst, F_OK) == 0)
		return fangs_error_set(FANGS_EEXISTS, "prefetch: %s exists; give an empty project directory", dst);
	if ((rc = fangs__copy_file(src, dst)) < 0)
		return rc;
	have_lock = fangs_lockfile_find_in(o->project, lock, sizeof(lock)) == 0;
	if (have_lock) {
		const char *base = strrchr(lock, '/') + 1;
		snprintf(lockname, sizeof(lockname), "%s", base);
		snprintf(dst, sizeof(dst), "%s/%s", o->project_dir, base);
		if ((rc = fangs__copy_file(lock, dst)) < 0)
			return rc;
	} else if (!o->resolve) {
		return fangs_error_set(FANGS_ENOTFOUND,
				       "%s has no package-lock.json nor npm-shrinkwrap.json: nothing pins what it "
				       "installs (create one with `npm install --package-lock-only`, or scan with "
				       "--resolve to let npm resolve the tree now)",
				       o->project);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!have_lock || attempt == 1) {
			/* resolution, as a developer's `npm install` would */
			memset(&c, 0, sizeof(c));
			push(&c, o->npm ? o->npm : "npm");
			push(&c, "install");
			push(&c, "--package-lock-only");
			common_args(o, &c, reg, sizeof(reg), retries, sizeof(retries));
			if ((rc = npm_run(o, &c, o->project, log, OUTPUT_MAX)))
				return rc;
			if (result)
				result->resolved = 1;
			have_lock = 1;
		}
		/* exactly what the lockfile pins, each tarball checked against
		 * its integrity; no script runs */
		memset(&c, 0, sizeof(c));
		push(&c, o->npm ? o->npm : "npm");
		push(&c, "ci");
		common_args(o, &c, reg, sizeof(reg), retries, sizeof(retries));
		int status = fangs__run_capture(c.argv, o->project_dir, log, OUTPUT_MAX);
		if (status < 0)
			return status;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			break;
		if (!out_of_sync(log))
			return classify(log, o->project, o->registry ? o->registry : "npm's configured registry");
		if (!o->resolve || attempt == 1) {
			int len;
			const char *why = npm_reason(log, &len);
			return fangs_error_set(
				FANGS_EINVAL,
				"%s/%s is out of sync with package.json%s%.*s%s: update it (`npm install "
				"--package-lock-only`), or scan with --resolve to let npm resolve the "
				"tree now",
				o->project, lockname[0] ? lockname : "package-lock.json", why ? " (" : "",
				why ? len : 0, why ? why : "", why ? ")" : "");
		}
	}
	snprintf(dst, sizeof(dst), "%s/node_modules", o->project_dir);
	fangs__rm_rf(dst);
	return complete_lock(o);
}

void fangs_prefetch_result_clear(fangs_prefetch_result *r)
{
	if (!r)
		return;
	free(r->output);
	r->output = NULL;
}
