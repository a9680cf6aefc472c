/*
 * project/lockfile.c - package-lock.json / npm-shrinkwrap.json (lockfileVersion
 * 2 and 3): the packages, their dependency paths, the diff of two lockfiles.
 */
#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/project.h"
#include "fangs/text.h"

#define NONE ((size_t)-1)
#define PATHS_DEFAULT 8
#define MAX_DEPTH 64

/* The error for a key of the file; the key comes from the file: escaped. */
static int bad(const char *file, const char *key, const char *what)
{
	char k[300];
	fangs_text_escape(k, sizeof(k), key, strlen(key));
	return fangs_error_set(FANGS_EPARSE, "%s: \"%s\": %s", file, k, what);
}

static void package_clear(fangs_lock_package *p)
{
	free(p->path);
	free(p->name);
	free(p->version);
	free(p->resolved);
	free(p->integrity);
	for (size_t i = 0; i < p->n_deps; i++)
		free(p->deps[i]);
	free(p->deps);
	memset(p, 0, sizeof(*p));
}

void fangs_lockfile_clear(fangs_lockfile *lf)
{
	if (!lf)
		return;
	for (size_t i = 0; i < lf->count; i++)
		package_clear(&lf->packages[i]);
	free(lf->packages);
	for (size_t i = 0; i < lf->n_root_deps; i++)
		free(lf->root_deps[i]);
	free(lf->root_deps);
	free(lf->file);
	free(lf->name);
	free(lf->version);
	memset(lf, 0, sizeof(*lf));
}

/* An SRI string: one or more "algo-base64" separated by spaces. */
static int integrity_ok(const char *s)
{
	static const char *const algos[] = {"sha512-", "sha384-", "sha256-", "sha1-"};
	const char *p = s;
	if (!*p)
		return 0;
	while (*p) {
		size_t i, n = strcspn(p, " ");
		for (i = 0; i < FANGS_ARRAY_SIZE(algos); i++)
			if (!strncmp(p, algos[i], strlen(algos[i])))
				break;
		if (i == FANGS_ARRAY_SIZE(algos) || n <= strlen(algos[i]))
			return 0;
		for (size_t j = strlen(algos[i]); j < n; j++) {
			char c = p[j];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			      c == '/' || c == '=' || c == '?' || c == '-' || c == '_'))
				return 0;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 1;
}

/* Appends the names of `obj`'s `field` (an object of name: range) to a list. */
static int add_dep_names(const char *file, const char *key, json_object *obj, const char *field, char ***list,
			 size_t *n)
{
	json_object *deps;
	size_t cap = *n;
	if (!json_object_object_get_ex(obj, field, &deps))
		return 0;
	if (!json_object_is_type(deps, json_type_object)) {
		char where[512];
		snprintf(where, sizeof(where), "%s.%s", key, field);
		return bad(file, where, "not an object");
	}
	json_object_object_foreach(deps, dname, dval)
	{
		(void)dval;
		const char *why = NULL;
		int dup = 0;
		if (fangs_package_name_check(dname, &why)) {
			char where[512];
			snprintf(where, sizeof(where), "%s.%s.%s", key, field, dname);
			return bad(file, where, "not a package name");
		}
		for (size_t i = 0; i < *n && !dup; i++)
			dup = !strcmp((*list)[i], dname);
		if (dup)
			continue;
		if (fangs__grow((void **)list, &cap, *n + 1, sizeof(**list)) < 0)
			return FANGS_ENOMEM;
		if (!((*list)[*n] = fangs__strdup(dname)))
			return FANGS_ENOMEM;
		(*n)++;
	}
	return 0;
}

static int get_str(json_object *obj, const char *field, const char *file, const char *key, char **out)
{
	json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(obj, field, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		char where[512];
		snprintf(where, sizeof(where), "%s.%s", key, field);
		return bad(file, where, "not a string");
	}
	if (!(*out = fangs__strdup(json_object_get_string(v))))
		return FANGS_ENOMEM;
	return 0;
}

static int get_bool(json_object *obj, const char *field)
{
	json_object *v;
	return json_object_object_get_ex(obj, field, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

/* The name a node_modules location installs: what follows its last
 * "node_modules/" ("@scope/name" or "name"). NULL when it is no such
 * location (a workspace folder). */
static const char *location_name(const char *path)
{
	const char *p = path, *last = NULL;
	while ((p = strstr(p, "node_modules/"))) {
		if (p == path || p[-1] == '/')
			last = p + strlen("node_modules/");
		p += strlen("node_modules/");
	}
	return last && *last ? last : NULL;
}

static int parse_package(const char *file, const char *key, json_object *v, fangs_lock_package *p)
{
	const char *locname = location_name(key);
	const char *why = NULL;
	int rc;

	if (!json_object_is_type(v, json_type_object))
		return bad(file, key, "not an object");
	if (!(p->path = fangs__strdup(key)))
		return FANGS_ENOMEM;
	p->link = get_bool(v, "link") || !locname;
	if ((rc = get_str(v, "name", file, key, &p->name)) || (rc = get_str(v, "version", file, key, &p->version)) ||
	    (rc = get_str(v, "resolved", file, key, &p->resolved)) ||
	    (rc = get_str(v, "integrity", file, key, &p->integrity)))
		return rc;
	if (!p->name && locname && !(p->name = fangs__strdup(locname)))
		return FANGS_ENOMEM;
	if (!p->name && !(p->name = fangs__strdup(key)))
		return FANGS_ENOMEM;
	if (locname && fangs_package_name_check(p->name, &why))
		return bad(file, key, "not a valid package name");
	if (!p->link) {
		if (!p->version)
			return bad(file, key, "no version");
		if (!fangs__version_is_exact(p->version))
			return bad(file, key, "version is not an exact semver version");
	}
	if (p->integrity && !integrity_ok(p->integrity))
		return bad(file, key, "integrity is not a Subresource Integrity string (sha512-..., sha1-...)");
	p->has_install_script = get_bool(v, "hasInstallScript");
	p->dev = get_bool(v, "dev") || get_bool(v, "devOptional");
	p->optional = get_bool(v, "optional") || get_bool(v, "devOptional");
	if ((rc = add_dep_names(file, key, v, "dependencies", &p->deps, &p->n_deps)) ||
	    (rc = add_dep_names(file, key, v, "optionalDependencies", &p->deps, &p->n_deps)) ||
	    (rc = add_dep_names(file, key, v, "peerDependencies", &p->deps, &p->n_deps)))
		return rc;
	return 0;
}

int fangs_lockfile_parse(fangs_lockfile *out, const char *text, size_t len, const char *file)
{
	json_tokener *tok;
	json_object *doc = NULL, *v, *pkgs, *root = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!out || (!text && len))
		return fangs_error_set(FANGS_EINVAL, "fangs_lockfile_parse: no output or text");
	memset(out, 0, sizeof(*out));
	if (!file)
		file = "lockfile";
	if (!(out->file = fangs__strdup(file)))
		return FANGS_ENOMEM;
	if (len > (size_t)INT32_MAX) {
		rc = fangs_error_set(FANGS_EPARSE, "%s: too large", file);
		goto out;
	}
	if (!(tok = json_tokener_new_ex(MAX_DEPTH))) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	doc = json_tokener_parse_ex(tok, text ? text : "", (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) < len) {
		/* trailing white space is fine */
		size_t end = json_tokener_get_parse_end(tok);
		while (doc && end < len && strchr(" \t\r\n", text[end]))
			end++;
		if (!doc || end < len) {
			rc = fangs_error_set(FANGS_EPARSE, "%s: not JSON (%s)", file,
					     doc ? "text after the document"
						 : json_tokener_error_desc(json_tokener_get_error(tok)));
			json_tokener_free(tok);
			goto out;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(doc, json_type_object)) {
		rc = fangs_error_set(FANGS_EPARSE, "%s: not a JSON object", file);
		goto out;
	}
	if (!json_object_object_get_ex(doc, "lockfileVersion", &v) || !json_object_is_type(v, json_type_int)) {
		rc = bad(file, "lockfileVersion", "missing or not a number");
		goto out;
	}
	out->lockfile_version = json_object_get_int(v);
	if (out->lockfile_version < 2 || out->lockfile_version > 3) {
		rc = fangs_error_set(FANGS_EPARSE,
				     "%s: lockfileVersion %d: only versions 2 and 3 (npm 7 and later) are read; "
				     "run `npm install --package-lock-only` with a newer npm",
				     file, out->lockfile_version);
		goto out;
	}
	if (!json_object_object_get_ex(doc, "packages", &pkgs) || !json_object_is_type(pkgs, json_type_object)) {
		rc = bad(file, "packages", "missing or not an object");
		goto out;
	}
	{
		json_object_object_foreach(pkgs, key, val)
		{
			fangs_lock_package *p;
			if (!key[0]) {
				root = val;
				continue;
			}
			if (fangs__grow((void **)&out->packages, &cap, out->count + 1, sizeof(*out->packages)) < 0) {
				rc = FANGS_ENOMEM;
				goto out;
			}
			p = &out->packages[out->count++];
			memset(p, 0, sizeof(*p));
			if ((rc = parse_package(file, key, val, p)))
				goto out;
		}
	}
	if (!root || !json_object_is_type(root, json_type_object)) {
		rc = bad(file, "packages.\"\"", "the project's own entry is missing or not an object");
		goto out;
	}
	if ((rc = get_str(root, "name", file, "packages.\"\"", &out->name)) ||
	    (rc = get_str(root, "version", file, "packages.\"\"", &out->version)) ||
	    (rc = add_dep_names(file, "packages.\"\"", root, "dependencies", &out->root_deps, &out->n_root_deps)) ||
	    (rc = add_dep_names(file, "packages.\"\"", root, "devDependencies", &out->root_deps, &out->n_root_deps)) ||
	    (rc = add_dep_names(file, "packages.\"\"", root, "optionalDependencies", &out->root_deps,
				&out->n_root_deps)) ||
	    (rc = add_dep_names(file, "packages.\"\"", root, "peerDependencies", &out->root_deps, &out->n_root_deps)))
		goto out;
out:
	json_object_put(doc);
	if (rc) {
		fangs_error_state keep;
		fangs_error_state_capture(&keep, rc);
		fangs_lockfile_clear(out);
		fangs_error_state_restore(&keep);
	}
	return rc;
}

int fangs_lockfile_load(fangs_lockfile *out, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;
	if (!out || !path)
		return fangs_error_set(FANGS_EINVAL, "fangs_lockfile_load: no output or path");
	memset(out, 0, sizeof(*out));
	if ((rc = fangs__read_file(path, &text, &len)))
		return rc;
	rc = fangs_lockfile_parse(out, text, len, path);
	free(text);
	return rc;
}

int fangs_lockfile_find_in(const char *dir, char *path_out, size_t cap)
{
	static const char *const names[] = {"npm-shrinkwrap.json", "package-lock.json"};
	char path[4096];
	if (!dir)
		return fangs_error_set(FANGS_EINVAL, "fangs_lockfile_find_in: no directory");
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (access(path, F_OK) == 0) {
			if (path_out && cap)
				snprintf(path_out, cap, "%s", path);
			return 0;
		}
	}
	if (path_out && cap)
		path_out[0] = '\0';
	return fangs_error_set(FANGS_ENOTFOUND, "%s has no package-lock.json nor npm-shrinkwrap.json", dir);
}

const fangs_lock_package *fangs_lockfile_at(const fangs_lockfile *lf, const char *path)
{
	if (!lf || !path)
		return NULL;
	for (size_t i = 0; i < lf->count; i++)
		if (!strcmp(lf->packages[i].path, path))
			return &lf->packages[i];
	return NULL;
}

static size_t index_at(const fangs_lockfile *lf, const char *path)
{
	const fangs_lock_package *p = fangs_lockfile_at(lf, path);
	return p ? (size_t)(p - lf->packages) : NONE;
}

/* Where require(name) from location `from` ("" = the project) lands: its
 * own node_modules, then each enclosing one. */
static size_t resolve(const fangs_lockfile *lf, const char *from, const char *name)
{
	char loc[4096], path[4600];
	snprintf(loc, sizeof(loc), "%s", from);
	for (;;) {
		size_t i;
		snprintf(path, sizeof(path), "%s%snode_modules/%s", loc, loc[0] ? "/" : "", name);
		if ((i = index_at(lf, path)) != NONE)
			return i;
		if (!loc[0])
			return NONE;
		/* up to the enclosing package: cut the last "/node_modules/..." */
		char *cut = NULL, *p = loc;
		while ((p = strstr(p, "/node_modules/"))) {
			cut = p;
			p++;
		}
		if (cut)
			*cut = '\0';
		else
			loc[0] = '\0';
	}
}

typedef struct node {
	size_t dist;
	size_t *parents; /* NONE = the project */
	size_t n_parents, cap_parents;
} node;

static int add_parent(node *n, size_t parent)
{
	for (size_t i = 0; i < n->n_parents; i++)
		if (n->parents[i] == parent)
			return 0;
	if (fangs__grow((void **)&n->parents, &n->cap_parents, n->n_parents + 1, sizeof(*n->parents)) < 0)
		return FANGS_ENOMEM;
	n->parents[n->n_parents++] = parent;
	return 0;
}

/* What a package's dependencies resolve to (a link: its target, the folder
 * entry, whose own dependencies follow). */
static int visit(const fangs_lockfile *lf, node *nodes, size_t *queue, size_t *qn, size_t from, size_t target)
{
	if (target == NONE)
		return 0;
	size_t d = from == NONE ? 0 : nodes[from].dist + 1;
	if (nodes[target].dist == NONE) {
		nodes[target].dist = d;
		queue[(*qn)++] = target;
	}
	if (nodes[target].dist == d)
		return add_parent(&nodes[target], from);
	(void)lf;
	return 0;
}

static void nodes_free(node *nodes, size_t n)
{
	for (size_t i = 0; nodes && i < n; i++)
		free(nodes[i].parents);
	free(nodes);
}

static int bfs(const fangs_lockfile *lf, node **out)
{
	node *nodes = calloc(lf->count ? lf->count : 1, sizeof(*nodes));
	size_t *queue = calloc(lf->count ? lf->count : 1, sizeof(*queue));
	size_t qn = 0;
	int rc = 0;
	if (!nodes || !queue) {
		free(nodes);
		free(queue);
		return fangs__error_oom();
	}
	for (size_t i = 0; i < lf->count; i++)
		nodes[i].dist = NONE;
	for (size_t i = 0; i < lf->n_root_deps && rc == 0; i++)
		rc = visit(lf, nodes, queue, &qn, NONE, resolve(lf, "", lf->root_deps[i]));
	for (size_t q = 0; q < qn && rc == 0; q++) {
		const fangs_lock_package *p = &lf->packages[queue[q]];
		if (p->link && p->resolved && strcmp(p->resolved, p->path)) {
			/* a link reaches its folder, which depends on the rest */
			rc = visit(lf, nodes, queue, &qn, queue[q], index_at(lf, p->resolved));
			continue;
		}
		for (size_t d = 0; d < p->n_deps && rc == 0; d++)
			rc = visit(lf, nodes, queue, &qn, queue[q], resolve(lf, p->path, p->deps[d]));
	}
	free(queue);
	if (rc) {
		nodes_free(nodes, lf->count);
		return rc;
	}
	*out = nodes;
	return 0;
}

typedef struct walk {
	const node *nodes;
	size_t max;
	size_t **paths;
	size_t n;
	size_t stack[MAX_DEPTH * 4];
	size_t depth;
} walk;

/* From the package up its shortest parents to the project; each path is
 * written top first. */
static int walk_up(walk *w, size_t at)
{
	if (w->n >= w->max)
		return 0;
	if (w->depth >= FANGS_ARRAY_SIZE(w->stack))
		return 0;
	w->stack[w->depth++] = at;
	const node *nd = &w->nodes[at];
	for (size_t i = 0; i < nd->n_parents && w->n < w->max; i++) {
		if (nd->parents[i] == NONE) {
			size_t *p;
			/* this call's own entry is on the stack (the calls below pop theirs) */
			assert(w->depth >= 1 && w->depth <= FANGS_ARRAY_SIZE(w->stack));
			p = malloc((w->depth + 1) * sizeof(*p));
			if (!p)
				return FANGS_ENOMEM;
			for (size_t k = 0; k < w->depth; k++)
				p[k] = w->stack[w->depth - 1 - k];
			p[w->depth] = NONE;
			w->paths[w->n++] = p;
		} else {
			int rc = walk_up(w, nd->parents[i]);
			if (rc)
				return rc;
		}
	}
	w->depth--;
	return 0;
}

void fangs_lock_paths_free(size_t **paths, size_t n)
{
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

int fangs_lockfile_paths(const fangs_lockfile *lf, size_t index, size_t max, size_t ***paths, size_t *n)
{
	node *nodes = NULL;
	walk *w;
	int rc;
	if (!lf || !paths || !n || index >= lf->count)
		return fangs_error_set(FANGS_EINVAL, "fangs_lockfile_paths: bad arguments");
	*paths = NULL;
	*n = 0;
	if ((rc = bfs(lf, &nodes)))
		return rc;
	if (!(w = calloc(1, sizeof(*w)))) {
		nodes_free(nodes, lf->count);
		return fangs__error_oom();
	}
	w->nodes = nodes;
	w->max = max ? max : PATHS_DEFAULT;
	if (!(w->paths = calloc(w->max, sizeof(*w->paths))))
		rc = fangs__error_oom();
	else if (nodes[index].dist != NONE)
		rc = walk_up(w, index);
	if (rc) {
		fangs_lock_paths_free(w->paths, w->n);
	} else {
		*paths = w->paths;
		*n = w->n;
	}
	nodes_free(nodes, lf->count);
	free(w);
	return rc;
}

int fangs_lockfile_path_text(const fangs_lockfile *lf, size_t index, char *out, size_t cap)
{
	size_t **paths = NULL, n = 0, len = 0;
	int rc;
	if (out && cap)
		out[0] = '\0';
	if ((rc = fangs_lockfile_paths(lf, index, 1, &paths, &n)))
		return rc;
	for (size_t i = 0; n && paths[0][i] != NONE; i++) {
		const fangs_lock_package *p = &lf->packages[paths[0][i]];
		int w = snprintf(out && len < cap ? out + len : NULL, out && len < cap ? cap - len : 0, "%s%s@%s",
				 i ? " > " : "", p->name, p->version ? p->version : "link");
		if (w > 0)
			len += (size_t)w;
	}
	fangs_lock_paths_free(paths, n);
	return len > INT32_MAX ? INT32_MAX : (int)len;
}

/* ---- the diff ------------------------------------------------------------ */

const char *fangs_lock_change_kind_name(fangs_lock_change_kind k)
{
	static const char *const names[] = {"added", "changed", "removed"};
	_Static_assert(FANGS_ARRAY_SIZE(names) == FANGS_LOCK_REMOVED + 1, "a name for every change kind");
	return (unsigned)k < FANGS_ARRAY_SIZE(names) ? names[k] : "unknown";
}

void fangs_lock_diff_clear(fangs_lock_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->count; i++) {
		free(d->items[i].name);
		free(d->items[i].old_version);
		free(d->items[i].new_version);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static int has_name(const fangs_lockfile *lf, const char *name)
{
	for (size_t i = 0; i < lf->count; i++)
		if (!lf->packages[i].link && !strcmp(lf->packages[i].name, name))
			return 1;
	return 0;
}

static const fangs_lock_package *release(const fangs_lockfile *lf, const char *name, const char *version)
{
	for (size_t i = 0; i < lf->count; i++)
		if (!lf->packages[i].link && !strcmp(lf->packages[i].name, name) &&
		    !strcmp(lf->packages[i].version, version))
			return &lf->packages[i];
	return NULL;
}

/* The versions of `name` in a lockfile, comma-separated, each once. */
static char *versions_of(const fangs_lockfile *lf, const char *name)
{
	char *out = fangs__strdup("");
	for (size_t i = 0; out && i < lf->count; i++) {
		const fangs_lock_package *p = &lf->packages[i];
		if (p->link || strcmp(p->name, name) || release(lf, name, p->version) != p)
			continue;
		char *next = fangs__asprintf("%s%s%s", out, out[0] ? "," : "", p->version);
		free(out);
		out = next;
	}
	return out;
}

static int change_cmp(const void *a, const void *b)
{
	const fangs_lock_change *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return strcmp(x->new_version ? x->new_version : "", y->new_version ? y->new_version : "");
}

static int push_change(fangs_lock_diff *d, size_t *cap, fangs_lock_change_kind kind, const char *name,
		       char *old_version, const char *new_version, size_t index, int scripts)
{
	fangs_lock_change *c;
	if (fangs__grow((void **)&d->items, cap, d->count + 1, sizeof(*d->items)) < 0) {
		free(old_version);
		return FANGS_ENOMEM;
	}
	c = &d->items[d->count];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->name = fangs__strdup(name);
	c->old_version = old_version;
	c->new_version = new_version ? fangs__strdup(new_version) : NULL;
	c->index = index;
	c->has_install_script = scripts;
	d->count++;
	if (!c->name || (new_version && !c->new_version))
		return FANGS_ENOMEM;
	return 0;
}

int fangs_lockfile_diff(const fangs_lockfile *o, const fangs_lockfile *n, fangs_lock_diff *out)
{
	size_t cap = 0;
	int rc = 0;
	if (!o || !n || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_lockfile_diff: bad arguments");
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n->count && rc == 0; i++) {
		const fangs_lock_package *p = &n->packages[i], *was;
		if (p->link || release(n, p->name, p->version) != p)
			continue; /* a release at several places is one change */
		if (!has_name(o, p->name)) {
			rc = push_change(out, &cap, FANGS_LOCK_ADDED, p->name, NULL, p->version, i,
					 p->has_install_script);
		} else if (!(was = release(o, p->name, p->version))) {
			char *old = versions_of(o, p->name);
			rc = old ? push_change(out, &cap, FANGS_LOCK_CHANGED, p->name, old, p->version, i,
					       p->has_install_script)
				 : FANGS_ENOMEM;
		} else if (was->integrity && p->integrity && strcmp(was->integrity, p->integrity)) {
			/* the same version, other bytes */
			char *old = fangs__strdup(p->version);
			rc = old ? push_change(out, &cap, FANGS_LOCK_CHANGED, p->name, old, p->version, i,
					       p->has_install_script)
				 : FANGS_ENOMEM;
		}
	}
	for (size_t i = 0; i < o->count && rc == 0; i++) {
		const fangs_lock_package *p = &o->packages[i];
		if (p->link || has_name(n, p->name) || release(o, p->name, p->version) != p)
			continue;
		/* one REMOVED per name */
		int first = 1;
		for (size_t j = 0; j < i && first; j++)
			first = o->packages[j].link || strcmp(o->packages[j].name, p->name);
		if (!first)
			continue;
		char *old = versions_of(o, p->name);
		rc = old ? push_change(out, &cap, FANGS_LOCK_REMOVED, p->name, old, NULL, NONE, 0) : FANGS_ENOMEM;
	}
	if (rc) {
		fangs_lock_diff_clear(out);
		return rc == FANGS_ENOMEM ? fangs__error_oom() : rc;
	}
	if (out->count > 1)
		qsort(out->items, out->count, sizeof(*out->items), change_cmp);
	return 0;
}
