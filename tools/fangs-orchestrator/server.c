/*
 * fangs-orchestrator/server.c - HTTP on libmicrohttpd: one thread per
 * connection (a long poll just waits in its thread), bodies read up to the
 * route's limit, client certificates checked on every request under mTLS.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "orchestrator.h"
#include "server.h"

typedef struct conn_ctx {
	char *buf;
	size_t len, cap, limit;
	int too_large;
	struct timespec start;
} conn_ctx;

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result send_response(orch *o, struct MHD_Connection *c, conn_ctx *cx, response *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	if (!rs->body && rs->status != 204) {
		rs->status = 500;
		rs->body = strdup("{\"error\":\"out of memory\"}");
		rs->len = rs->body ? strlen(rs->body) : 0;
		rs->content_type = "application/json";
	}
	r = MHD_create_response_from_buffer(rs->len, rs->body ? rs->body : (char *)"", 
					    rs->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(rs->body);
		return MHD_NO;
	}
	if (rs->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	ret = MHD_queue_response(c, rs->status, r);
	MHD_destroy_response(r);
	metrics_observe(&o->m, rs->route, rs->status, elapsed_s(&cx->start));
	return ret;
}

static enum MHD_Result refuse(orch *o, struct MHD_Connection *c, conn_ctx *cx, unsigned status, const char *msg)
{
	response rs = {0};
	fangs_wire_error_encode(msg, &rs.body);
	rs.len = rs.body ? strlen(rs.body) : 0;
	rs.status = status;
	rs.content_type = "application/json";
	rs.route = ROUTE_OTHER;
	return send_response(o, c, cx, &rs);
}

/* The common name of a verified client certificate, or a refusal text. */
static int peer_name(orch *o, struct MHD_Connection *c, char *cn, size_t cap, const char **why)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned int n = 0, status = 0;
	gnutls_x509_crt_t crt;
	size_t len = cap;
	int rc;

	if (!ci || !(s = (gnutls_session_t)ci->tls_session)) {
		*why = "no TLS session";
		return -1;
	}
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0) {
		*why = "a client certificate is required";
		return -1;
	}
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0) {
		*why = "the client certificate is not signed by this orchestrator's CA";
		return -1;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		*why = "out of memory";
		return -1;
	}
	rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0 || !fangs_wire_valid_id(cn)) {
		*why = "the client certificate has no usable common name";
		return -1;
	}
	if (tls_name_revoked(o, cn)) {
		*why = "the client certificate's name is revoked";
		return -1;
	}
	return 0;
}

static const char *query_arg(const request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	orch *o = cls;
	conn_ctx *cx = *con_cls;
	request rq = {0};
	response rs = {0};
	char cn[256];

	(void)version;
	if (!cx) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(cx = calloc(1, sizeof(*cx))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &cx->start);
		cx->limit = api_body_limit(method, url);
		*con_cls = cx;
		/* a body announced too large is refused before it is read */
		if (cl && strtoull(cl, NULL, 10) > cx->limit) {
			cx->too_large = 1;
			return refuse(o, c, cx, 413, "request body too large");
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cx->too_large || cx->len + n > cx->limit) {
			cx->too_large = 1;
			return MHD_YES;
		}
		if (cx->len + n + 1 > cx->cap) {
			size_t cap = cx->cap ? cx->cap : 4096;
			char *nb;
			while (cap < cx->len + n + 1)
				cap *= 2;
			if (!(nb = realloc(cx->buf, cap)))
				return MHD_NO;
			cx->buf = nb;
			cx->cap = cap;
		}
		memcpy(cx->buf + cx->len, upload_data, n);
		cx->len += n;
		cx->buf[cx->len] = '\0';
		return MHD_YES;
	}
	if (cx->too_large)
		return refuse(o, c, cx, 413, "request body too large");
	if (o->mtls) {
		const char *why = NULL;
		if (peer_name(o, c, cn, sizeof(cn), &why)) {
			log_warn("refused %s %s: %s", method, url, why);
			return refuse(o, c, cx, 403, why);
		}
		rq.peer_cn = cn;
	}
	rq.method = method;
	rq.url = url;
	rq.body = cx->buf;
	rq.len = cx->len;
	rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.runner_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Fangs-Runner");
	rq.arg = query_arg;
	rq.conn = c;
	api_handle(o, &rq, &rs);
	return send_response(o, c, cx, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	conn_ctx *cx = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (cx) {
		free(cx->buf);
		free(cx);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into an address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = {0}, *ai = NULL;
	size_t hl;
	if (!colon || colon == listen || !colon[1])
		return -1;
	hl = (size_t)(colon - listen);
	if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	hints.ai_flags = AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai)
		return -1;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

int server_start(orch *o, const server_options *so, struct MHD_Daemon **out)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[12];
	int n = 0, tls = so->cert_pem != NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	if (parse_listen(so->listen, &ss)) {
		log_error("--listen %s: expected HOST:PORT", so->listen);
		return -1;
	}
	if (!tls && !is_loopback(&ss) && !so->allow_insecure_remote) {
		log_error("refusing to serve plain HTTP on %s, which is not a loopback address: give --tls-cert and"
			  " --tls-key (and --client-ca), or --allow-insecure-remote",
			  so->listen);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 1000, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
	if (tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)so->cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)so->key_pem};
		if (o->mtls)
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, o->client_ca_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, o, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d) {
		log_error("cannot listen on %s (address in use, or a bad TLS certificate or key)", so->listen);
		return -1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!tls)
		log_info("listening on http://%s (port %u): plain HTTP, %s", so->listen, info ? info->port : 0,
			 is_loopback(&ss) ? "loopback only" : "NOT ENCRYPTED, reachable from the network");
	else
		log_info("listening on https://%s (port %u)%s", so->listen, info ? info->port : 0,
			 o->mtls ? ": clients must present a certificate of the configured CA" : "");
	*out = d;
	return 0;
}

void server_stop(orch *o, struct MHD_Daemon *d)
{
	if (!d)
		return;
	/* no new connections; the running requests finish (long polls end at once) */
	MHD_quiesce_daemon(d);
	o->stopping = 1;
	dispatch_notify(o);
	MHD_stop_daemon(d);
}
