/*
 * notifier/http.c - one POST of a message with libcurl: TLS verified,
 * no redirects, bounded time, the answer's status, Retry-After and the
 * start of its body kept.
 */
#include <curl/curl.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notifier/internal.h"

/* Bytes of the receiver's answer kept for the history and `notifier test`. */
#define BODY_KEEP 4096

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t fangs__retry_after_parse(const char *value, int64_t now_ns)
{
	char *end;
	long long secs;
	time_t t;

	while (value && (*value == ' ' || *value == '\t'))
		value++;
	if (!value || !*value)
		return 0;
	if (isdigit((unsigned char)*value)) {
		secs = strtoll(value, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end || secs < 0)
			return 0;
		/* A day is as long as any receiver can reasonably ask for. */
		if (secs > 86400)
			secs = 86400;
		return now_ns + secs * 1000000000LL;
	}
	t = curl_getdate(value, NULL);
	if (t <= 0)
		return 0;
	return (int64_t)t * 1000000000LL;
}

typedef struct exchange {
	fangs__http_response *res;
	int64_t now_ns;
} exchange;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	fangs__http_response *res = user;
	size_t n = size * nmemb, room = res->body.len < BODY_KEEP ? BODY_KEEP - res->body.len : 0;
	fangs_buf_put(&res->body, data, n < room ? n : room);
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	exchange *x = user;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && n < 256 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char v[256];
		memcpy(v, data + sizeof(name) - 1, n - (sizeof(name) - 1));
		v[n - (sizeof(name) - 1)] = '\0';
		x->res->retry_after_ns = fangs__retry_after_parse(v, x->now_ns);
	}
	/* Only the final answer's header counts, not a 100 Continue's. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		x->res->retry_after_ns = 0;
	return n;
}

/* Failures that will not go away by trying again: the receiver's
 * certificate, our own TLS set-up, a URL curl cannot use. */
static int curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 0;
	default:
		return 1;
	}
}

static int status_retryable(int status)
{
	return status == 408 || status == 429 || status >= 500;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value, int *oom)
{
	char *line = fangs__asprintf("%s: %s", name, value);
	struct curl_slist *l = line ? curl_slist_append(list, line) : NULL;
	free(line);
	if (!l) {
		*oom = 1;
		return list;
	}
	return l;
}

int fangs__http_post(const fangs__http_request *req, fangs__http_response *res)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", ts[32];
	exchange x = {res, req->now_ns};
	CURL *c;
	CURLcode cc;
	long status = 0;
	int oom = 0;

	memset(res, 0, sizeof(*res));
	if (fangs_notifier_url_check(req->url)) {
		snprintf(res->error, sizeof(res->error), "not retried: %s", fangs_error_last());
		return 0;
	}
	pthread_once(&curl_once, curl_init_once);
	if (req->reuse && *req->reuse) {
		c = *req->reuse;
		/* Options back to defaults; live connections and caches stay. */
		curl_easy_reset(c);
	} else if (!(c = curl_easy_init())) {
		return fangs_error_set(FANGS_ENOMEM, "notifier: cannot create a curl handle");
	}
	if (req->reuse)
		*req->reuse = c;

	snprintf(ts, sizeof(ts), "%lld", (long long)(req->now_ns / 1000000000LL));
	hdrs = add_header(hdrs, "Content-Type", "application/json", &oom);
	hdrs = add_header(hdrs, "User-Agent", "fangs/" FANGS_VERSION_STRING, &oom);
	hdrs = add_header(hdrs, "X-FANGS-Timestamp", ts, &oom);
	if (req->signature)
		hdrs = add_header(hdrs, "X-FANGS-Signature", req->signature, &oom);
	/* An empty header removes curl's own "Expect: 100-continue", which
	 * would make large bodies wait for the receiver's go-ahead. */
	{
		struct curl_slist *l = curl_slist_append(hdrs, "Expect:");
		oom |= !l;
		hdrs = l ? l : hdrs;
	}
	for (size_t i = 0; i < req->n_headers; i++)
		hdrs = add_header(hdrs, req->headers[i].name, req->headers[i].value, &oom);
	if (oom) {
		curl_slist_free_all(hdrs);
		if (!req->reuse)
			curl_easy_cleanup(c);
		return fangs__error_oom();
	}

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	res->status = (int)status;
	if (cc != CURLE_OK) {
		res->status = 0;
		res->retryable = curl_retryable(cc);
		if (cc == CURLE_PEER_FAILED_VERIFICATION)
			snprintf(res->error, sizeof(res->error),
				 "not retried: the receiver's TLS certificate did not verify (%s); "
				 "for a private CA set the notifier's ca_file",
				 *errbuf ? errbuf : curl_easy_strerror(cc));
		else
			snprintf(res->error, sizeof(res->error), "%s%s: %s",
				 curl_retryable(cc) ? "" : "not retried: ", curl_easy_strerror(cc),
				 *errbuf ? errbuf : req->url);
	} else if (status < 200 || status > 299) {
		res->retryable = status_retryable(res->status);
		snprintf(res->error, sizeof(res->error), "the receiver answered HTTP %ld%s", status,
			 res->retryable ? "" : " (not retried)");
	}
	curl_slist_free_all(hdrs);
	if (!req->reuse)
		curl_easy_cleanup(c);
	return res->body.oom ? fangs__error_oom() : 0;
}

void fangs__http_reuse_free(void *reuse)
{
	if (reuse)
		curl_easy_cleanup(reuse);
}

void fangs__http_response_free(fangs__http_response *res)
{
	if (res)
		fangs_buf_free(&res->body);
}
