/*
 * fangs-orchestrator/watcher.c - polls the registry for the watched
 * packages and queues a scan of every version published since the last one
 * seen, oldest first (by the packument's "time").
 *
 * Requests are conditional (If-None-Match with the ETag of the previous
 * answer), several at once (watch_concurrency threads, each with its own
 * connection). Queuing the new versions and moving last_seen_version are
 * one transaction, so a version is queued once even across restarts.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "orchestrator.h"

/* Packuments of popular packages run to tens of MB. */
#define MAX_PACKUMENT (64 * 1024 * 1024)

typedef struct etag {
	char *name;
	char *etag;
	struct etag *next;
} etag;

static pthread_mutex_t etag_lock = PTHREAD_MUTEX_INITIALIZER;
static etag *etags;

static char *etag_get(const char *name)
{
	char *v = NULL;
	pthread_mutex_lock(&etag_lock);
	for (etag *e = etags; e; e = e->next)
		if (!strcmp(e->name, name)) {
			v = strdup(e->etag);
			break;
		}
	pthread_mutex_unlock(&etag_lock);
	return v;
}

static void etag_put(const char *name, const char *value)
{
	etag *e;
	pthread_mutex_lock(&etag_lock);
	for (e = etags; e; e = e->next)
		if (!strcmp(e->name, name))
			break;
	if (!e && (e = calloc(1, sizeof(*e)))) {
		e->name = strdup(name);
		e->next = etags;
		etags = e;
	}
	if (e) {
		free(e->etag);
		e->etag = strdup(value);
	}
	pthread_mutex_unlock(&etag_lock);
}

static void etags_free(void)
{
	pthread_mutex_lock(&etag_lock);
	while (etags) {
		etag *e = etags;
		etags = e->next;
		free(e->name);
		free(e->etag);
		free(e);
	}
	pthread_mutex_unlock(&etag_lock);
}

char *npm_registry(void)
{
	char line[1024];
	FILE *p = popen("npm config get registry 2>/dev/null", "r");
	size_t n;
	int ok;
	if (!p)
		return NULL;
	ok = fgets(line, sizeof(line), p) != NULL;
	pclose(p);
	if (!ok)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	n = strlen(line);
	while (n && line[n - 1] == '/')
		line[--n] = '\0';
	if (strncmp(line, "http://", 7) && strncmp(line, "https://", 8))
		return NULL;
	return strdup(line);
}

typedef struct fetch {
	http_body b;
	char *etag;
} fetch;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
	http_body *f = user;
	size_t n = size * nmemb;
	char *nd;
	if (f->len + n > MAX_PACKUMENT || !(nd = realloc(f->data, f->len + n + 1)))
		return 0;
	f->data = nd;
	memcpy(f->data + f->len, ptr, n);
	f->len += n;
	f->data[f->len] = '\0';
	return n;
}

void registry_get_setup(CURL *curl, const char *url, http_body *body)
{
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *user)
{
	fetch *f = user;
	size_t n = size * nitems;
	if (n > 5 && !strncasecmp(buf, "etag:", 5)) {
		size_t a = 5, b = n;
		while (a < b && (buf[a] == ' ' || buf[a] == '\t'))
			a++;
		while (b > a && (buf[b - 1] == '\r' || buf[b - 1] == '\n' || buf[b - 1] == ' '))
			b--;
		free(f->etag);
		f->etag = strndup(buf + a, b - a);
	}
	return n;
}

/* The registry path of a package: a scope's slash is encoded. */
char *packument_url(const orch *o, const char *name)
{
	char *esc = malloc(strlen(name) * 3 + 1), *url = NULL;
	size_t j = 0;
	if (!esc)
		return NULL;
	for (const char *p = name; *p; p++) {
		if (*p == '/') {
			memcpy(esc + j, "%2f", 3);
			j += 3;
		} else {
			esc[j++] = *p;
		}
	}
	esc[j] = '\0';
	if (asprintf(&url, "%s/%s", o->registry, esc) < 0)
		url = NULL;
	free(esc);
	return url;
}

static int by_time(const void *a, const void *b)
{
	const newver *x = a, *y = b;
	int c = strcmp(x->time, y->time);
	return c ? c : strcmp(x->version, y->version);
}

static const char *time_of(json_object *times, const char *version)
{
	json_object *t;
	if (times && json_object_object_get_ex(times, version, &t) && json_object_is_type(t, json_type_string))
		return json_object_get_string(t);
	return NULL;
}

newver *watcher_new_versions(const char *name, const char *last_seen, json_object *doc, size_t *np)
{
	json_object *versions = NULL, *times = NULL, *tags = NULL, *latest = NULL;
	newver *nv = NULL;
	size_t n = 0, cap;
	const char *since;

	*np = 0;
	if (!json_object_object_get_ex(doc, "versions", &versions) ||
	    !json_object_is_type(versions, json_type_object)) {
		log_warn("watcher: %s: the packument has no versions", name);
		return NULL;
	}
	json_object_object_get_ex(doc, "time", &times);
	if (times && !json_object_is_type(times, json_type_object))
		times = NULL;
	if (json_object_object_get_ex(doc, "dist-tags", &tags))
		json_object_object_get_ex(tags, "latest", &latest);
	cap = (size_t)json_object_object_length(versions) + 1;
	if (!(nv = calloc(cap, sizeof(*nv))))
		return NULL;
	if (!last_seen) {
		/* newly watched: its current release is the starting point */
		if (latest && json_object_is_type(latest, json_type_string) &&
		    json_object_object_get_ex(versions, json_object_get_string(latest), NULL)) {
			nv[n].version = json_object_get_string(latest);
			nv[n++].time = "";
		}
	} else if ((since = time_of(times, last_seen))) {
		json_object_object_foreach(versions, v, val)
		{
			const char *t = time_of(times, v);
			(void)val;
			if (t && strcmp(t, since) > 0 && n < cap) {
				nv[n].version = v;
				nv[n++].time = t;
			}
		}
		qsort(nv, n, sizeof(*nv), by_time);
	} else if (latest && json_object_is_type(latest, json_type_string) &&
		   strcmp(json_object_get_string(latest), last_seen) != 0) {
		/* no publication times to order by: the latest is what is new */
		nv[n].version = json_object_get_string(latest);
		nv[n++].time = "";
	}
	/* the registry's words are checked as a user's would be: a version
	 * that is no version is never queued nor handed to npm */
	for (size_t i = 0; i < n;) {
		if (fangs_package_version_check(nv[i].version, NULL) == 0) {
			i++;
			continue;
		}
		log_warn("watcher: %s: skipping a version from the registry: %s", name, fangs_error_last());
		memmove(nv + i, nv + i + 1, (n - i - 1) * sizeof(*nv));
		n--;
	}
	if (n == 0) {
		free(nv);
		return NULL;
	}
	*np = n;
	return nv;
}

/* Queues what a packument shows as new for `pkg`. */
static void consider(orch *o, const fangs_package *pkg, json_object *doc)
{
	size_t n;
	newver *nv = watcher_new_versions(pkg->name, pkg->last_seen_version, doc, &n);
	size_t queued = 0;
	int rc;

	if (!nv)
		return;
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_begin(o->st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		fangs_job job = {0};
		job.package = pkg->name;
		job.version = (char *)nv[i].version;
		/* the follower, a hand, or the watcher of another orchestrator
		 * that was the leader a moment ago may have queued it already:
		 * storage queues a release once, however many race for it */
		rc = fangs_storage_job_enqueue_release(o->st, &job);
		if (rc == FANGS_EEXISTS) {
			rc = 0;
		} else if (rc == 0) {
			log_info("watcher: %s@%s is new: queued run %s", pkg->name, nv[i].version, job.run_id);
			queued++;
		}
	}
	if (rc == 0)
		rc = fangs_storage_package_set_last_seen(o->st, pkg->name, nv[n - 1].version);
	if (rc == 0)
		rc = fangs_storage_commit(o->st);
	else
		fangs_storage_rollback(o->st);
	pthread_mutex_unlock(&o->st_lock);
	if (rc)
		log_warn("watcher: %s: cannot queue its new versions: %s", pkg->name, fangs_error_last());
	else {
		metrics_add(o, &o->m.watcher_queued, queued);
		dispatch_notify(o);
	}
	free(nv);
}

static void poll_one(orch *o, CURL *curl, const fangs_package *pkg)
{
	struct curl_slist *hdrs = NULL;
	char *url = packument_url(o, pkg->name), *old = etag_get(pkg->name), hdr[1200];
	fetch f = {0};
	long status = 0;
	CURLcode cc;

	if (!url)
		goto out;
	/* a name stored before names were checked is not asked for */
	if (fangs_package_name_check(pkg->name, NULL)) {
		log_warn("watcher: not polling: %s", fangs_error_last());
		goto out;
	}
	registry_get_setup(curl, url, &f.b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (old) {
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s", old);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (o->registry_token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", o->registry_token);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(curl);
	metrics_add(o, &o->m.watcher_polls, 1);
	if (cc != CURLE_OK) {
		log_warn("watcher: %s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 304) {
		metrics_add(o, &o->m.watcher_not_modified, 1);
		goto out;
	}
	if (status != 200) {
		log_warn("watcher: %s: HTTP %ld", url, status);
		goto out;
	}
	{
		json_object *doc = f.b.data ? json_tokener_parse(f.b.data) : NULL;
		if (!doc || !json_object_is_type(doc, json_type_object))
			log_warn("watcher: %s: the answer is not a JSON object", url);
		else
			consider(o, pkg, doc);
		json_object_put(doc);
	}
	/* the ETag is kept only once the answer was acted on */
	if (f.etag)
		etag_put(pkg->name, f.etag);
out:
	curl_slist_free_all(hdrs);
	free(f.b.data);
	free(f.etag);
	free(old);
	free(url);
}

typedef struct pass {
	orch *o;
	fangs_package_list list;
	size_t next;
	pthread_mutex_t lock;
} pass;

static void *pass_worker(void *arg)
{
	pass *p = arg;
	CURL *curl = curl_easy_init();
	if (!curl)
		return NULL;
	for (;;) {
		size_t i;
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->list.count || p->o->stopping)
			break;
		poll_one(p->o, curl, &p->list.items[i]);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

void watcher_pass(orch *o)
{
	pass p = {0};
	pthread_t th[64];
	unsigned n = o->watch_concurrency ? o->watch_concurrency : 1, started = 0;
	int rc;

	p.o = o;
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_package_list(o->st, 1, &p.list);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		log_warn("watcher: listing watched packages: %s", fangs_error_last());
		goto out;
	}
	if (n > p.list.count)
		n = (unsigned)p.list.count;
	if (n > 64)
		n = 64;
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, pass_worker, &p))
			break;
	if (started == 0 && p.list.count)
		pass_worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
out:
	fangs_package_list_free(&p.list);
	pthread_mutex_destroy(&p.lock);
}

static void *watcher_thread(void *arg)
{
	orch *o = arg;
	while (!o->stopping) {
		int64_t until;
		/* one orchestrator of those sharing the database polls; a
		 * standby starts as soon as it becomes the leader */
		int led = is_leader(o);
		if (led)
			watcher_pass(o);
		until = now_wall_ns() + o->watch_interval_ms * 1000000LL;
		while (!o->stopping && now_wall_ns() < until && (led || !is_leader(o)))
			usleep(100 * 1000);
	}
	etags_free();
	return NULL;
}

int watcher_start(orch *o, pthread_t *thread)
{
	return pthread_create(thread, NULL, watcher_thread, o) ? -1 : 0;
}
