/*
 * tools/common/webapi.h - the /v1 read and review API of docs/api.md
 * (overview, packages, runs, events, process trees, baselines,
 * allowlists, notifiers, runners, jobs; promote, allowlist and watch
 * writes) over one storage handle. The orchestrator serves it behind its
 * credentials and limits; `fangs ui` serves it on a local database.
 *
 * The caller authenticates, decides the role, checks CSRF (webapi_csrf_*)
 * and serialises storage use; this code only reads the request, calls
 * storage and writes JSON. A server on libmicrohttpd, per request:
 *
 *     if (webapi_route(method, url) == WEBAPI_NONE) -> its own routes or 404
 *     if (WEBAPI_WRITE && !webapi_csrf_check(Cookie, X-Fangs-CSRF, Origin, Host, &why)) -> 403 why
 *     webapi_request rq = {method, url, arg_of_connection, connection, body, len, may_write, actor};
 *     webapi_handle(st, &rq, &rs);      (storage lock held, if shared)
 *     answer rs.status with rs.body (application/json), free(rs.body);
 *     rs.csrf[0]: add "Set-Cookie: <webapi_csrf_cookie(rs.csrf, tls)>"
 */
#ifndef FANGS_TOOLS_WEBAPI_H
#define FANGS_TOOLS_WEBAPI_H

#include <stddef.h>

#include <fangs/fangs.h>

/* What a route needs of its caller (webapi_route). */
enum webapi_access {
	WEBAPI_NONE = 0, /* not a route of this API */
	WEBAPI_OPEN = 1, /* GET /v1/csrf: anyone */
	WEBAPI_READ = 2, /* a reader (or more) */
	WEBAPI_WRITE = 3 /* an operator; from a browser, with the CSRF token */
};

typedef struct webapi_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;   /* decoded, without the query: "/v1/runs/r1/events" */
	/* a query parameter's value (decoded), or NULL when absent */
	const char *(*arg)(void *arg_ctx, const char *name);
	void *arg_ctx;
	const char *body; /* the request body (JSON), or NULL */
	size_t len;
	int may_write;     /* the caller may use WEBAPI_WRITE routes (operator) */
	const char *actor; /* who writes, for the log ("token alice"); may be NULL */
} webapi_request;

typedef struct webapi_response {
	unsigned status;
	char *body; /* JSON text (valid UTF-8), malloc'd: the caller frees it */
	size_t len;
	/* GET /v1/csrf: the token to set as the `fangs_csrf` cookie (the
	 * caller writes the Set-Cookie header, see webapi_csrf_cookie) */
	char csrf[65];
	/* a write that changed something: what, in words, for the caller's
	 * log ("run r1 (a@1.0.0) promoted by token alice"); else "" */
	char change[512];
} webapi_response;

/* The access the route (method, path) needs; WEBAPI_NONE when it is none
 * of this API's (the caller answers it itself, or 404). A path of this
 * API with a method it does not take is WEBAPI_READ (answered 405). */
enum webapi_access webapi_route(const char *method, const char *path);

/* Answers one request; `rs` is always filled (status and JSON body, an
 * {"error": "..."} for 4xx and 5xx). A WEBAPI_WRITE route without
 * rq->may_write is answered 403. `st` is used by one thread at a time:
 * the caller holds its lock for the whole call. */
void webapi_handle(fangs_storage *st, const webapi_request *rq, webapi_response *rs);

/* The Set-Cookie value for a token: "fangs_csrf=TOKEN; Path=/;
 * SameSite=Strict" (+ "; Secure" when `secure`) into buf. */
void webapi_csrf_cookie(const char *token, int secure, char *buf, size_t cap);

/* Double-submit check of a browser write: the X-Fangs-CSRF header equals
 * the `fangs_csrf` cookie (constant-time compare), and an Origin header,
 * when present, names the host of the Host header. 1 when it passes, 0
 * with the reason in *why. Any argument may be NULL (absent header). */
int webapi_csrf_check(const char *cookie_header, const char *csrf_header, const char *origin, const char *host,
		      const char **why);

/* Only the Origin half of webapi_csrf_check (for writes that need no
 * token: a present Origin must name the Host). */
int webapi_origin_check(const char *origin, const char *host, const char **why);

#endif
