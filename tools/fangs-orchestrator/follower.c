/*
 * fangs-orchestrator/follower.c - follows the registry's change feed (the
 * CouchDB-style `_changes` of npm's replication endpoint) and queues a
 * scan of what each changed package published, through filters.
 *
 * One page at a time: GET <feed>/_changes?since=SEQ&limit=N answers
 * {"results":[{"seq":..,"id":NAME,"changes":[..]}],"last_seq":..}. Every
 * changed name is taken once per page (deduplicated), kept when the
 * filters let it through (scopes, name patterns, a popularity list; then,
 * from its packument, only versions with install scripts), and what its
 * packument shows as new since the last version seen is queued, unless a
 * run of that release exists already. The new position is stored in the
 * transaction that queues the jobs and only if the stored one is still
 * the page's start (compare and set): a page is queued at least once
 * (a crash before the commit reads it again) and never twice (a second
 * follower that read the same page finds the position moved).
 *
 * Only the leader follows (is_leader()).
 */
#include <curl/curl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "orchestrator.h"

/* GET url as JSON: the document (an object), or NULL with *status the
 * HTTP status (0: no answer) and the reason logged. */
static json_object *get_json(orch *o, CURL *curl, const char *url, const char *token, long *status)
{
	struct curl_slist *hdrs = NULL;
	http_body f = {0};
	json_object *doc = NULL;
	char hdr[1200];
	CURLcode cc;

	*status = 0;
	registry_get_setup(curl, url, &f);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(curl);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		log_warn("follower: %s: %s", url, curl_easy_strerror(cc));
		metrics_add(o, &o->m.follow_errors, 1);
		free(f.data);
		return NULL;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	if (*status == 200) {
		doc = f.data ? json_tokener_parse(f.data) : NULL;
		if (doc && !json_object_is_type(doc, json_type_object)) {
			json_object_put(doc);
			doc = NULL;
		}
		if (!doc) {
			log_warn("follower: %s: the answer is not a JSON object", url);
			*status = 0;
		}
	}
	if (!doc && *status != 404) {
		if (*status)
			log_warn("follower: %s: HTTP %ld", url, *status);
		metrics_add(o, &o->m.follow_errors, 1);
	}
	free(f.data);
	return doc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int follower_load_popular(orch *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t cap = 0;
	if (!f) {
		log_error("--follow-popular %s: cannot read it", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, " \t\r\n#");
		*e = '\0';
		if (!*s)
			continue;
		if (o->n_popular == cap) {
			char **nl = realloc(o->popular, (cap = cap ? cap * 2 : 64) * sizeof(*nl));
			if (!nl)
				break;
			o->popular = nl;
		}
		if (!(o->popular[o->n_popular] = strdup(s)))
			break;
		o->n_popular++;
	}
	fclose(f);
	if (!o->popular && !(o->popular = calloc(1, sizeof(char *))))
		return -1;
	qsort(o->popular, o->n_popular, sizeof(char *), by_name);
	return 0;
}

static void free_list(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

void follower_free(orch *o)
{
	for (size_t i = 0; i < o->n_popular; i++)
		free(o->popular[i]);
	free(o->popular);
	free_list(o->follow_scopes);
	free_list(o->follow_names);
	free(o->follow_url);
	o->popular = o->follow_scopes = o->follow_names = NULL;
	o->follow_url = NULL;
	o->n_popular = 0;
}

/* Do the name filters keep `name`? Scopes and patterns together are one
 * list (any of them), the popularity list is a second condition. */
static int name_kept(const orch *o, const char *name)
{
	int listed = !o->follow_scopes && !o->follow_names;
	for (size_t i = 0; !listed && o->follow_scopes && o->follow_scopes[i]; i++) {
		size_t n = strlen(o->follow_scopes[i]);
		listed = !strncmp(name, o->follow_scopes[i], n) && name[n] == '/';
	}
	for (size_t i = 0; !listed && o->follow_names && o->follow_names[i]; i++)
		listed = fnmatch(o->follow_names[i], name, 0) == 0;
	if (!listed)
		return 0;
	return !o->popular || bsearch(&name, o->popular, o->n_popular, sizeof(char *), by_name) != NULL;
}

/* Does this version of the packument run anything at install? */
static int has_install_scripts(json_object *doc, const char *version)
{
	static const char *const hooks[] = {"preinstall", "install", "postinstall"};
	json_object *versions, *m, *scripts, *v;
	if (!json_object_object_get_ex(doc, "versions", &versions) || !json_object_object_get_ex(versions, version, &m))
		return 0;
	/* npm runs node-gyp for a binding.gyp without a script saying so */
	if (json_object_object_get_ex(m, "gypfile", &v) && json_object_get_boolean(v))
		return 1;
	if (!json_object_object_get_ex(m, "scripts", &scripts) || !json_object_is_type(scripts, json_type_object))
		return 0;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (json_object_object_get_ex(scripts, hooks[i], &v) && json_object_is_type(v, json_type_string) &&
		    *json_object_get_string(v))
			return 1;
	return 0;
}

/* What one changed package brings: the versions to queue, and the newest
 * version to remember as seen. */
typedef struct change {
	char *name;
	json_object *doc;
	newver *nv;
	size_t n;
	const char *last; /* the new last seen version (NULL: none) */
} change;

static void change_clear(change *c)
{
	free(c->name);
	free(c->nv);
	json_object_put(c->doc);
	memset(c, 0, sizeof(*c));
}

/* The seq as text (numbers and strings both occur), or NULL. */
static char *seq_text(json_object *v)
{
	if (!v || json_object_is_type(v, json_type_null))
		return NULL;
	if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
		return strdup(json_object_get_string(v));
	return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* A value for the query string. */
static char *escape(CURL *curl, const char *s)
{
	char *e = curl_easy_escape(curl, s, 0), *out;
	out = e ? strdup(e) : NULL;
	curl_free(e);
	return out;
}

/* Looks at one changed package: fetches its packument and decides. 0 =
 * decided (maybe nothing to queue), -1 = the packument could not be had
 * (the page is read again later). */
static int examine(orch *o, CURL *curl, change *c)
{
	fangs_package pkg = {0};
	char *url;
	long status;
	int rc;

	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_package_get(o->st, c->name, &pkg);
	pthread_mutex_unlock(&o->st_lock);
	if (rc && rc != FANGS_ENOTFOUND) {
		log_warn("follower: %s: %s", c->name, fangs_error_last());
		return -1;
	}
	if (!(url = packument_url(o, c->name))) {
		fangs_package_clear(&pkg);
		return -1;
	}
	c->doc = get_json(o, curl, url, o->registry_token, &status);
	free(url);
	if (!c->doc) {
		fangs_package_clear(&pkg);
		/* gone (unpublished) is an answer; anything else is asked again */
		return status == 404 ? 0 : -1;
	}
	c->nv = watcher_new_versions(c->name, pkg.last_seen_version, c->doc, &c->n);
	fangs_package_clear(&pkg);
	if (c->n)
		c->last = c->nv[c->n - 1].version;
	if (o->follow_install_scripts) {
		size_t k = 0;
		for (size_t i = 0; i < c->n; i++)
			if (has_install_scripts(c->doc, c->nv[i].version))
				c->nv[k++] = c->nv[i];
			else
				metrics_add(o, &o->m.follow_skipped, 1);
		c->n = k;
	}
	return 0;
}

/* Queues what the page brought and moves the position, together. */
static int commit_page(orch *o, const char *from, const char *to, change *cs, size_t n, size_t *queued)
{
	int rc;
	*queued = 0;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_begin(o->st);
	if (rc == 0)
		rc = fangs_storage_feed_advance(o->st, o->follow_url, from, to);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		for (size_t v = 0; rc == 0 && v < cs[i].n; v++) {
			fangs_job job = {0};
			job.package = cs[i].name;
			job.version = (char *)cs[i].nv[v].version;
			/* the watcher (here or on another orchestrator) or a hand may
			 * have queued it already: then it is queued once */
			rc = fangs_storage_job_enqueue_release(o->st, &job);
			if (rc == FANGS_EEXISTS) {
				metrics_add(o, &o->m.follow_duplicate, 1);
				rc = 0;
			} else if (rc == 0) {
				log_info("follower: %s@%s is new: queued run %s", cs[i].name, cs[i].nv[v].version,
					 job.run_id);
				(*queued)++;
			}
		}
		/* the package row exists once one of its runs does */
		if (rc == 0 && cs[i].last) {
			rc = fangs_storage_package_set_last_seen(o->st, cs[i].name, cs[i].last);
			if (rc == FANGS_ENOTFOUND)
				rc = 0;
		}
	}
	if (rc == 0)
		rc = fangs_storage_commit(o->st);
	else
		fangs_storage_rollback(o->st);
	pthread_mutex_unlock(&o->st_lock);
	return rc;
}

/* One page of the feed: its result count, or -1 after an error. */
static int follow_page(orch *o, CURL *curl)
{
	json_object *doc = NULL, *results = NULL, *last = NULL;
	char *from = NULL, *since = NULL, *to = NULL, *url = NULL;
	change *cs = NULL;
	size_t n = 0, count = 0, queued = 0;
	long status;
	int rc = -1;

	pthread_mutex_lock(&o->st_lock);
	if (fangs_storage_feed_get(o->st, o->follow_url, &from))
		log_warn("follower: reading the feed position: %s", fangs_error_last());
	else
		rc = 0;
	pthread_mutex_unlock(&o->st_lock);
	if (rc)
		return -1;
	rc = -1;
	if (!(since = escape(curl, from ? from : o->follow_since)) ||
	    asprintf(&url, "%s/_changes?since=%s&limit=%d", o->follow_url, since, o->follow_limit) < 0) {
		url = NULL;
		goto out;
	}
	if (!(doc = get_json(o, curl, url, NULL, &status)))
		goto out;
	if (!json_object_object_get_ex(doc, "results", &results) || !json_object_is_type(results, json_type_array) ||
	    !json_object_object_get_ex(doc, "last_seq", &last) || !(to = seq_text(last))) {
		log_warn("follower: %s: no \"results\" array or \"last_seq\"", url);
		metrics_add(o, &o->m.follow_errors, 1);
		goto out;
	}
	count = json_object_array_length(results);
	metrics_add(o, &o->m.follow_changes, count);
	if (count && !(cs = calloc(count, sizeof(*cs))))
		goto out;
	for (size_t i = 0; i < count; i++) {
		json_object *r = json_object_array_get_idx(results, i), *id, *del;
		const char *name;
		int seen = 0;
		if (!json_object_object_get_ex(r, "id", &id) || !json_object_is_type(id, json_type_string))
			continue;
		name = json_object_get_string(id);
		if (json_object_object_get_ex(r, "deleted", &del) && json_object_get_boolean(del))
			continue;
		/* design documents and names npm would refuse are not packages */
		if (!strncmp(name, "_design/", 8) || fangs_package_name_check(name, NULL))
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(cs[k].name, name);
		if (seen)
			continue;
		if (!name_kept(o, name)) {
			metrics_add(o, &o->m.follow_skipped, 1);
			continue;
		}
		if (!(cs[n].name = strdup(name)))
			goto out;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (o->stopping || !is_leader(o) || examine(o, curl, &cs[i]))
			goto out; /* the page is read again */
	/* nothing new on a first look from "now": the position is set there */
	if (from && !strcmp(from, to)) {
		rc = 0;
		goto out;
	}
	if (commit_page(o, from, to, cs, n, &queued)) {
		if (fangs_error_last_code() == FANGS_EBUSY)
			log_info("follower: %s", fangs_error_last());
		else
			log_warn("follower: cannot queue a page of changes: %s", fangs_error_last());
		goto out;
	}
	if (queued) {
		metrics_add(o, &o->m.follow_queued, queued);
		dispatch_notify(o);
	}
	if (!from)
		log_info("follower: %s: starting at %s", o->follow_url, to);
	rc = (int)count;
out:
	for (size_t i = 0; i < n; i++)
		change_clear(&cs[i]);
	free(cs);
	json_object_put(doc);
	free(from);
	free(since);
	free(to);
	free(url);
	return rc;
}

static void *follower_thread(void *arg)
{
	orch *o = arg;
	CURL *curl = curl_easy_init();
	if (!curl) {
		log_error("follower: cannot make a curl handle");
		return NULL;
	}
	while (!o->stopping) {
		int led = is_leader(o), got = 0;
		int64_t until;
		if (led)
			got = follow_page(o, curl);
		/* a full page: more is waiting */
		if (got >= o->follow_limit)
			continue;
		until = now_wall_ns() + (led ? o->follow_interval_ms : 100) * 1000000LL;
		while (!o->stopping && now_wall_ns() < until && (led || !is_leader(o)))
			usleep(50 * 1000);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

int follower_start(orch *o, pthread_t *thread)
{
	return pthread_create(thread, NULL, follower_thread, o) ? -1 : 0;
}
