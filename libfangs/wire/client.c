/*
 * wire/client.c - HTTP client of the protocol (libcurl).
 *
 * One easy handle per client so that the connection (and its TLS session)
 * is reused between a runner's requests.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "core/buf.h"
#include "core/internal.h"
#include "fangs/wire.h"

/* Responses larger than this are cut off: the orchestrator never sends one. */
#define MAX_RESPONSE (16 * 1024 * 1024)

struct fangs_wire_client {
	CURL *curl;
	char *url;
	char *cert, *key, *ca;
	char *runner_hdr;
	char *auth_hdr;
	/* without a token, every write carries a CSRF value of this client's
	 * own as cookie and header (docs/security.md): made once, at random */
	char csrf_cookie[96], csrf_hdr[96];
	const volatile int *cancel;
	long connect_timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const size_t client_sizes[] = {
	0, offsetof(fangs_wire_client_options, token), /* 1 */
	sizeof(fangs_wire_client_options),             /* 2: token */
};
FANGS__OPTS_SIZES_ASSERT(client_sizes, FANGS_WIRE_CLIENT_OPTIONS_VERSION);
static const fangs_wire_client_options client_defaults = FANGS_WIRE_CLIENT_OPTIONS_INIT;

int fangs_wire_client_options_init(fangs_wire_client_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &client_defaults, client_sizes, FANGS_WIRE_CLIENT_OPTIONS_VERSION,
				"fangs_wire_client_options");
}

int fangs_wire_client_new(fangs_wire_client **out, const fangs_wire_client_options *in)
{
	fangs_wire_client_options copy;
	const fangs_wire_client_options *opts = &copy;
	fangs_wire_client *c;
	size_t n;
	int rc;

	if (!out || !in)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_client_new: NULL argument");
	if ((rc = fangs__opts_copy(&copy, in, &client_defaults, client_sizes, FANGS_WIRE_CLIENT_OPTIONS_VERSION,
				   "fangs_wire_client_options")) < 0)
		return rc;
	if (!opts->url || !*opts->url)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_client_new: the orchestrator URL is required");
	if (strncmp(opts->url, "http://", 7) && strncmp(opts->url, "https://", 8))
		return fangs_error_set(FANGS_EINVAL, "orchestrator URL '%s' must start with http:// or https://",
				       opts->url);
	if (!opts->tls_cert != !opts->tls_key)
		return fangs_error_set(FANGS_EINVAL, "a client certificate needs its key and a key its certificate");
	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (!(c = calloc(1, sizeof(*c))))
		return fangs__error_oom();
	c->url = fangs__strdup(opts->url);
	n = c->url ? strlen(c->url) : 0;
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	c->cert = opts->tls_cert ? fangs__strdup(opts->tls_cert) : NULL;
	c->key = opts->tls_key ? fangs__strdup(opts->tls_key) : NULL;
	c->ca = opts->ca ? fangs__strdup(opts->ca) : NULL;
	if (opts->runner_id) {
		if (!fangs_wire_valid_id(opts->runner_id)) {
			fangs_wire_client_free(c);
			return fangs_error_set(FANGS_EINVAL, "runner id '%s' must be letters, digits, '.', '_' or '-'",
					       opts->runner_id);
		}
		if (!(c->runner_hdr = fangs__asprintf("Fangs-Runner: %s", opts->runner_id))) {
			fangs_wire_client_free(c);
			return fangs__error_oom();
		}
	}
	if (opts->version >= 2 && opts->token) {
		if (!*opts->token || strpbrk(opts->token, "\r\n")) {
			fangs_wire_client_free(c);
			return fangs_error_set(FANGS_EINVAL, "the token is empty or holds a line break");
		}
		if (!(c->auth_hdr = fangs__asprintf("Authorization: Bearer %s", opts->token))) {
			fangs_wire_client_free(c);
			return fangs__error_oom();
		}
	}
	if (!c->auth_hdr) {
		unsigned char rnd[32];
		char hex[2 * sizeof(rnd) + 1];
		if (fangs__random(rnd, sizeof(rnd))) {
			fangs_wire_client_free(c);
			return fangs_error_last_code();
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		snprintf(c->csrf_cookie, sizeof(c->csrf_cookie), "Cookie: fangs_csrf=%s", hex);
		snprintf(c->csrf_hdr, sizeof(c->csrf_hdr), "X-Fangs-CSRF: %s", hex);
	}
	c->cancel = opts->cancel;
	c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	c->curl = curl_easy_init();
	if (!c->url || !c->curl || (opts->tls_cert && (!c->cert || !c->key)) || (opts->ca && !c->ca)) {
		fangs_wire_client_free(c);
		return fangs__error_oom();
	}
	*out = c;
	return 0;
}

void fangs_wire_client_free(fangs_wire_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c->cert);
	free(c->key);
	free(c->ca);
	free(c->runner_hdr);
	if (c->auth_hdr) {
		explicit_bzero(c->auth_hdr, strlen(c->auth_hdr));
		free(c->auth_hdr);
	}
	free(c);
}

void fangs_wire_response_clear(fangs_wire_response *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	fangs_buf *b = user;
	size_t n = size * nmemb;
	if (b->len + n > MAX_RESPONSE)
		return 0;
	fangs_buf_put(b, ptr, n);
	return b->oom ? 0 : n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const fangs_wire_client *c = user;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return *c->cancel ? 1 : 0;
}

int fangs_wire_request(fangs_wire_client *c, const char *method, const char *path, const char *content_type,
		       const char *body, size_t len, long timeout_ms, fangs_wire_response *out)
{
	struct curl_slist *headers = NULL;
	fangs_buf buf = FANGS_BUF_INIT;
	char *url, ctype[128];
	CURLcode cc;
	int rc = 0;

	if (!c || !method || !path || path[0] != '/' || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_request: missing client, method, path or out");
	memset(out, 0, sizeof(*out));
	if (!(url = fangs__asprintf("%s%s", c->url, path)))
		return fangs__error_oom();
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &buf);
	/* the orchestrator is named explicitly: never through a proxy */
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	if (c->cancel) {
		curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
		curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	}
	if (c->cert) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key);
	}
	if (c->ca)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca);
	headers = curl_slist_append(headers, "Expect:");
	if (c->runner_hdr)
		headers = curl_slist_append(headers, c->runner_hdr);
	if (c->auth_hdr)
		headers = curl_slist_append(headers, c->auth_hdr);
	else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		headers = curl_slist_append(headers, c->csrf_cookie);
		headers = curl_slist_append(headers, c->csrf_hdr);
	}
	if (body) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type ? content_type : "application/json");
		headers = curl_slist_append(headers, ctype);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (strcmp(method, "GET") == 0 && !body)
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		rc = fangs_error_set(cc == CURLE_ABORTED_BY_CALLBACK  ? FANGS_ECANCELED
				     : cc == CURLE_OPERATION_TIMEDOUT ? FANGS_ETIMEOUT
								      : FANGS_ENETWORK,
				     "%s %s: %s", method, url, curl_easy_strerror(cc));
	} else if (!(out->body = fangs_buf_steal(&buf, &out->len))) {
		rc = fangs__error_oom();
	} else {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
	}
	fangs_buf_free(&buf);
	curl_slist_free_all(headers);
	free(url);
	return rc;
}

int fangs_wire_token_load(const char *path, const char *env, char **out)
{
	char line[4096];
	const char *v;
	FILE *f;
	size_t n;
	char *s;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_token_load: out is NULL");
	*out = NULL;
	if (path && *path) {
		if (!(f = fopen(path, "re")))
			return fangs_error_set(FANGS_EIO, "cannot read the token file %s: %s", path, strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	} else if (env && (v = getenv(env)) && *v) {
		snprintf(line, sizeof(line), "%s", v);
	} else {
		return 0;
	}
	s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strcspn(s, "\r\n");
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	if (!*s) {
		explicit_bzero(line, sizeof(line));
		return fangs_error_set(FANGS_EINVAL, "the token %s%s is empty", path && *path ? "file " : "in $",
				       path && *path ? path : env);
	}
	*out = fangs__strdup(s);
	explicit_bzero(line, sizeof(line));
	return *out ? 0 : fangs__error_oom();
}

const char *fangs_wire_response_error(fangs_wire_response *r)
{
	static __thread char msg[512];
	json_object *o = NULL, *e;

	if (r && r->body && r->len)
		o = json_tokener_parse(r->body);
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(e));
	else
		snprintf(msg, sizeof(msg), "HTTP status %ld", r ? r->status : 0L);
	json_object_put(o);
	return msg;
}
