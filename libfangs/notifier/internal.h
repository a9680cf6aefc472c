/*
 * notifier/internal.h - what the files of the notifier share (not installed).
 */
#ifndef FANGS_NOTIFIER_INTERNAL_H
#define FANGS_NOTIFIER_INTERNAL_H

#include <json-c/json.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/internal.h"
#include "fangs/notifier.h"

/* ---- payload.c: the stored form of a message ---- */

/* The generic payload of a run for one target, without time_unix_nano
 * (added at each attempt): the findings at or above `min`, most severe
 * first, at most `max_devs` of them. *out NULL when the run has no such
 * finding. */
int fangs__notify_payload(fangs_storage *st, const char *run_id, fangs_severity min, unsigned max_devs,
			  const char *public_url, char **out);
/* The payload of `fangs notifier test`: one made-up finding. */
int fangs__notify_payload_test(const char *public_url, char **out);

/* ---- render.c: what is sent ---- */

/* The body of one attempt from a stored payload: generic adds
 * time_unix_nano; slack and discord are readable messages. */
int fangs__notify_render(fangs_notifier_template tpl, const char *payload, int64_t now_ns, char **out);

/* ---- http.c: one POST ---- */

typedef struct fangs__http_request {
	const char *url;
	const char *body;
	size_t len;
	const fangs_notifier_header *headers; /* the target's extras */
	size_t n_headers;
	const char *signature; /* X-FANGS-Signature value or NULL */
	int64_t now_ns;        /* X-FANGS-Timestamp */
	const char *ca_file;
	long timeout_ms;
	/* A connection cache kept between requests (a curl handle, created on
	 * first use), so that a backlog to one receiver reuses its TLS
	 * connection; NULL: a fresh one each time. One request at a time. */
	void **reuse;
} fangs__http_request;

typedef struct fangs__http_response {
	int status;             /* 0 = no answer */
	int retryable;          /* worth another attempt */
	int64_t retry_after_ns; /* absolute; 0 = the receiver did not say */
	char error[512];        /* why it failed ("" on 2xx) */
	fangs_buf body;         /* the start of the answer */
} fangs__http_response;

/* Never fails for a receiver's reason: those are in `res`. Returns <0 only
 * when the request could not be built. */
int fangs__http_post(const fangs__http_request *req, fangs__http_response *res);
/* target.c: a header's value at send time (env:NAME, file:/path or literal). */
int fangs__notifier_header_resolve(const fangs_notifier_header *h, char **out, char *err, size_t errcap);
void fangs__http_response_free(fangs__http_response *res);
/* Releases what `reuse` kept. NULL-safe. */
void fangs__http_reuse_free(void *reuse);

/* Parses a Retry-After value (seconds or an HTTP date) into an absolute
 * time; 0 when it is not one. */
int64_t fangs__retry_after_parse(const char *value, int64_t now_ns);

/* ---- json helpers (render.c) ---- */

const char *fangs__json_str(json_object *o, const char *key);

#endif
