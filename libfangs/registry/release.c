/*
 * registry/release.c - does a release exist? One GET of the package's
 * document (the packument) and a look at its versions.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/registry.h"

#define PACKUMENT_MAX (64u << 20) /* the largest packuments are tens of MB */

typedef struct body {
	char *data;
	size_t len;
	int too_big;
} body;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	body *b = user;
	size_t n = size * nmemb;
	char *grown;
	if (b->len + n > PACKUMENT_MAX) {
		b->too_big = 1;
		return 0;
	}
	if (!(grown = realloc(b->data, b->len + n + 1)))
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int fangs_registry_release_exists(const char *registry, const char *package, const char *version)
{
	body b = {NULL, 0, 0};
	json_object *doc = NULL, *versions = NULL, *tags = NULL, *v = NULL;
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *escaped = NULL;
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	int rc;

	if (!registry || !package || !*package || !version || !*version)
		return fangs_error_set(FANGS_EINVAL, "fangs_registry_release_exists: NULL or empty argument");
	if (strncmp(registry, "http://", 7) && strncmp(registry, "https://", 8))
		return fangs_error_set(FANGS_EINVAL, "registry '%s' is not an http(s) URL", registry);
	if (!(c = curl_easy_init()))
		return fangs__error_oom();
	/* @scope/name travels as @scope%2fname, as npm sends it */
	if (!(escaped = curl_easy_escape(c, package, 0)) ||
	    !(url = fangs__asprintf("%s%s%s", registry, registry[strlen(registry) - 1] == '/' ? "" : "/",
				    package[0] == '@' ? escaped + 2 : escaped))) {
		rc = fangs__error_oom();
		goto out;
	}
	if (package[0] == '@') { /* keep the leading @ unescaped */
		char *full = fangs__asprintf("%.*s@%s", (int)(strstr(url, escaped + 2) - url), url, escaped + 3);
		free(url);
		if (!(url = full)) {
			rc = fangs__error_oom();
			goto out;
		}
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !b.too_big) {
		rc = fangs_error_set(FANGS_ENETWORK, "%s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	if (b.too_big) {
		rc = fangs_error_set(FANGS_EPARSE, "%s: the package document is larger than %u MB", url,
				     PACKUMENT_MAX >> 20);
		goto out;
	}
	if (status == 404) {
		rc = fangs_error_set(FANGS_ENOTFOUND, "no package %s in the registry %s", package, registry);
		goto out;
	}
	if (status != 200) {
		rc = fangs_error_set(FANGS_ENETWORK, "%s: HTTP %ld", url, status);
		goto out;
	}
	if (!b.data || !(doc = json_tokener_parse(b.data)) || !json_object_object_get_ex(doc, "versions", &versions) ||
	    !json_object_is_type(versions, json_type_object)) {
		rc = fangs_error_set(FANGS_EPARSE, "%s: not an npm package document", url);
		goto out;
	}
	/* a dist-tag (latest) names a version too */
	if (json_object_object_get_ex(doc, "dist-tags", &tags) && json_object_object_get_ex(tags, version, &v) &&
	    json_object_is_type(v, json_type_string))
		version = json_object_get_string(v);
	rc = json_object_object_get_ex(versions, version, NULL)
		     ? 0
		     : fangs_error_set(FANGS_ENOTFOUND, "%s has no version %s in the registry %s", package, version,
				       registry);
out:
	json_object_put(doc);
	curl_slist_free_all(hdrs);
	curl_free(escaped);
	free(url);
	free(b.data);
	curl_easy_cleanup(c);
	return rc;
}
