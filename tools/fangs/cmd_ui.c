/*
 * tools/fangs/cmd_ui.c - `fangs ui`: the web UI and the /v1 read API on the
 * local database, for the one user at this machine. It listens on loopback
 * only, makes a one-time operator token at start and prints the address
 * that carries it (in the URL's fragment, which the browser never sends);
 * every API request needs that token, reads too, so another local user or
 * a web page that finds the port learns nothing. The UI's own files need
 * none (they hold no data). Ends on SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "commands.h"
#include "credentials.h"
#include "output.h"
#include "ui.h"
#include "ui_api.h"

#define UI_BODY_MAX (64 * 1024)

typedef struct ui_server {
	fangs_storage *st;
	cli_ctx *ctx;
	unsigned char token_hash[TOKEN_HASH_LEN];
} ui_server;

typedef struct ui_req {
	char *body;
	size_t len;
	int too_large;
} ui_req;

/* The bearer token of the request is ours: compared by hash, in time that
 * does not depend on where it differs. */
static int token_ok(const ui_server *s, struct MHD_Connection *c)
{
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char h[TOKEN_HASH_LEN];
	if (!hdr || strncasecmp(hdr, "Bearer ", 7))
		return 0;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	if (token_hash(hdr, strlen(hdr), h))
		return 0;
	return token_hash_equal(h, s->token_hash);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, char *body, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	json_object *o = json_object_new_object();
	char *body;
	json_object_object_add(o, "error", json_object_new_string(msg));
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return answer(c, status, body, "application/json");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	ui_server *s = cls;
	ui_req *rq = *con_cls;
	unsigned status = 500;
	char *body = NULL;

	(void)version;
	if (!rq) {
		if (ui_is_path(url)) {
			struct MHD_Response *r = ui_response(c, method, url, &status);
			enum MHD_Result ret;
			if (!r)
				return MHD_NO;
			ret = MHD_queue_response(c, status, r);
			MHD_destroy_response(r);
			return ret;
		}
		if (!strcmp(url, "/") && !strcmp(method, "GET")) {
			struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
			enum MHD_Result ret;
			if (!r)
				return MHD_NO;
			MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/ui/");
			ret = MHD_queue_response(c, MHD_HTTP_FOUND, r);
			MHD_destroy_response(r);
			return ret;
		}
		if (strncmp(url, "/v1/", 4))
			return error(c, 404, "no such page: the UI is under /ui/, the API under /v1/");
		if (!token_ok(s, c))
			return error(c, 401,
				     "this fangs ui wants the token it printed at start (Authorization: Bearer)");
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_large && rq->len + *upload_size <= UI_BODY_MAX) {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_large = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_large)
		return error(c, 413, "request body too large");
	/* one user, one thread: the storage handle is never shared */
	ui_api_answer(s->st, s->ctx->config, c, method, url, rq->body, rq->len, &status, &body);
	return answer(c, status, body, "application/json");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	ui_req *rq = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

/* HOST:PORT of a loopback address into `sa`: 0, or a usage error. */
static int parse_listen(const char *spec, struct sockaddr_storage *sa, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	char *end;
	unsigned long port;
	size_t hl;

	memset(sa, 0, sizeof(*sa));
	if (!colon || colon == spec)
		return cli_usage_error("ui: --listen wants HOST:PORT (127.0.0.1:8080, [::1]:8080)");
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port > 65535)
		return cli_usage_error("ui: bad port in --listen %s", spec);
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return cli_usage_error("ui: bad host in --listen");
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
			return cli_usage_error("ui: %s is not a loopback address: fangs ui serves this machine's user "
					       "only (fangs-orchestrator serves a team, with credentials)",
					       host);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
			return cli_usage_error("ui: %s is not a loopback address: fangs ui serves this machine's user "
					       "only (fangs-orchestrator serves a team, with credentials)",
					       host);
	} else {
		return cli_usage_error("ui: --listen wants a numeric loopback address (127.0.0.1, [::1])");
	}
	return 0;
}

/* libmicrohttpd's messages are printf formats of its own */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("fangs ui: ", stderr);
	vfprintf(stderr, fmt, ap);
}

CLI_HANDLER(cmd_ui)
{
	const char *listen = cli_get(a, "listen") ? cli_get(a, "listen") : "127.0.0.1:0";
	const char *db = cli_get(a, "db");
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	ui_server s = {0};
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	char token[96], url[256], host[INET6_ADDRSTRLEN];
	sigset_t set;
	int sig = 0, rc;

	if ((rc = parse_listen(listen, &sa, &salen)))
		return rc;
	if (db) {
		if (ctx->sqlite_path && strcmp(ctx->sqlite_path, db))
			return cli_usage_error("ui: --db and --sqlite-path name two databases: give one");
		if (ctx->postgres_dsn)
			return cli_usage_error("ui: --db and --postgres-dsn name two databases: give one");
		ctx->sqlite_path = db;
	}
	if (token_generate(token, sizeof(token)) || token_hash(token, strlen(token), s.token_hash)) {
		print_error("ui: cannot make a token");
		return CLI_EXIT_ERROR;
	}
	/* a read command: a missing database is an error, never created */
	if (!(s.st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	s.ctx = ctx;

	/* the server's thread inherits the mask: the signals come here */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
				     (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
			     &s, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d) {
		print_error("ui: cannot listen on %s: %s", listen, strerror(errno));
		fangs_storage_free(s.st);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return CLI_EXIT_ERROR;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (sa.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
		snprintf(url, sizeof(url), "http://[%s]:%u/ui/", host, di ? di->port : 0);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
		snprintf(url, sizeof(url), "http://%s:%u/ui/", host, di ? di->port : 0);
	}
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "url", json_object_new_string(url));
		json_object_object_add(o, "token", json_object_new_string(token));
		json_print(o);
	} else {
		printf("fangs ui: open %s#token=%s\n", url, token);
		printf("(the token is valid until this stops; Ctrl-C stops it)\n");
	}
	fflush(stdout);
	memset(token, 0, sizeof(token));
	while (sigwait(&set, &sig) == EINTR)
		;
	MHD_stop_daemon(d);
	fangs_storage_free(s.st);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return CLI_EXIT_OK;
}
