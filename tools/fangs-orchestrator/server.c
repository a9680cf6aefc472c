/*
 * fangs-orchestrator/server.c - HTTP on libmicrohttpd: a fixed pool of
 * worker threads on epoll; a long poll is a suspended connection (no
 * thread held). Before any body is read a request passes, in this order:
 * who is calling (the client certificate under mTLS) and, for a write,
 * that no page of another site forged it (auth.c), the route's own
 * checks (an event batch's or result's run exists and is the caller's),
 * the route's body limit (by Content-Length, and again while reading),
 * and the global budget of body bytes held in memory (503 beyond it).
 * Slow clients are bounded by short idle timeouts while headers or a TLS
 * handshake are awaited, and by per-address and global connection limits.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "orchestrator.h"
#include "server.h"
#include "ui.h"

typedef struct conn_ctx {
	char *buf;
	size_t len, cap, limit;
	size_t expect;    /* Content-Length + 1, or 0 */
	size_t held;      /* bytes of the body budget taken (cap of buf) */
	unsigned discard; /* the body is read and dropped, then this status */
	int parked;
	waiter w;
	int refused; /* answered on the first call: nothing more is read */
	auth_identity who;
	struct timespec start;
} conn_ctx;

static unsigned header_timeout_s = SERVER_HEADER_TIMEOUT_S, body_timeout_s = SERVER_BODY_TIMEOUT_S;

/* Every open connection, for the header deadline: MHD's timeout counts
 * silence, so a client trickling a byte now and then would never be
 * dropped. A connection whose request headers (or TLS handshake) are not
 * in `header_timeout_s` after it opened or after its last answer is shut
 * down by server_reap(). Unlinked (under the lock) before MHD closes the
 * descriptor, so a descriptor here is always the connection's own. */
typedef struct conn_slot {
	int fd;
	int in_request; /* headers in, until the answer is queued */
	int64_t since_ms;
	struct conn_slot *prev, *next;
} conn_slot;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static conn_slot *slots;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	conn_slot *sl = *socket_context;
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(sl = calloc(1, sizeof(*sl))))
			return;
		sl->fd = ci->connect_fd;
		sl->since_ms = mono_ms();
		pthread_mutex_lock(&slots_lock);
		sl->next = slots;
		if (slots)
			slots->prev = sl;
		slots = sl;
		pthread_mutex_unlock(&slots_lock);
		*socket_context = sl;
	} else if (sl) {
		pthread_mutex_lock(&slots_lock);
		if (sl->prev)
			sl->prev->next = sl->next;
		else
			slots = sl->next;
		if (sl->next)
			sl->next->prev = sl->prev;
		pthread_mutex_unlock(&slots_lock);
		free(sl);
		*socket_context = NULL;
	}
}

/* Headers in (1) or the answer queued (0): the header clock stops or starts. */
static void slot_mark(struct MHD_Connection *c, int in_request)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_slot *sl = ci ? ci->socket_context : NULL;
	if (!sl)
		return;
	pthread_mutex_lock(&slots_lock);
	sl->in_request = in_request;
	sl->since_ms = mono_ms();
	pthread_mutex_unlock(&slots_lock);
}

unsigned server_reap(void)
{
	int64_t cutoff = mono_ms() - (int64_t)header_timeout_s * 1000;
	unsigned n = 0;
	pthread_mutex_lock(&slots_lock);
	for (conn_slot *sl = slots; sl; sl = sl->next)
		if (!sl->in_request && sl->since_ms < cutoff && sl->fd >= 0) {
			/* MHD sees the end of the stream and closes it */
			shutdown(sl->fd, SHUT_RDWR);
			sl->fd = -1;
			n++;
		}
	pthread_mutex_unlock(&slots_lock);
	return n;
}

/* Takes `n` bytes of the body budget; 0 when it would go beyond. */
static int budget_take(orch *o, size_t n)
{
	size_t cur = __atomic_load_n(&o->body_held, __ATOMIC_RELAXED);
	do {
		if (n > o->body_budget || cur > o->body_budget - n)
			return 0;
	} while (!__atomic_compare_exchange_n(&o->body_held, &cur, cur + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

static void budget_give(orch *o, size_t n)
{
	__atomic_fetch_sub(&o->body_held, n, __ATOMIC_RELAXED);
}

static void body_drop(orch *o, conn_ctx *cx)
{
	free(cx->buf);
	cx->buf = NULL;
	cx->len = cx->cap = 0;
	budget_give(o, cx->held);
	cx->held = 0;
}

/* Room for `want` bytes in the body buffer, within the budget: the buffer
 * grows with what arrived, so a slow sender holds only what it sent. 0, or
 * the status to answer. */
static int body_grow(orch *o, conn_ctx *cx, size_t want)
{
	size_t cap = cx->cap ? cx->cap : 4096, most = cx->expect ? cx->expect : cx->limit + 1;
	char *nb;
	if (want <= cx->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > most)
		cap = most > want ? most : want;
	if (!budget_take(o, cap - cx->held))
		return 503;
	if (!(nb = realloc(cx->buf, cap))) {
		budget_give(o, cap - cx->held);
		return 503;
	}
	cx->held = cap;
	cx->buf = nb;
	cx->cap = cap;
	return 0;
}

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
	if (rs->status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (rs->set_cookie[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rs->set_cookie);
	if (rs->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", rs->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	/* a kept-alive connection idles as briefly as one that sends headers */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, header_timeout_s);
	slot_mark(c, 0);
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
	if (status == 503) {
		rs.retry_after = 1;
		metrics_add(o, &o->m.busy, 1);
	}
	return send_response(o, c, cx, &rs);
}

/* The credential check (auth.c), once per request before anything else
 * is read: 0, or the refusal's status with its reason. */
static unsigned authenticate(orch *o, struct MHD_Connection *c, conn_ctx *cx, const char *method, const char *url,
			     const char **why)
{
	return auth_check(o, c, method, url, &cx->who, why);
}

/* A query parameter of the request, or NULL. */
static const char *query_arg(const request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A request header, or NULL. */
static const char *header_arg(const request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static void fill_request(struct MHD_Connection *c, conn_ctx *cx, const char *method, const char *url, request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->url = url;
	rq->who = &cx->who;
	rq->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq->runner_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Fangs-Runner");
	rq->arg = query_arg;
	rq->header = header_arg;
	rq->conn = c;
}

/* The web UI's files: no credential (they hold no data; the pages read
 * it through the API with theirs), no body. */
static enum MHD_Result serve_ui(orch *o, struct MHD_Connection *c, conn_ctx *cx, const char *url, const char *method)
{
	unsigned status = 500;
	struct MHD_Response *r = ui_response(c, method, url, &status);
	enum MHD_Result ret;
	cx->refused = 1; /* a body sent anyway is read and dropped */
	if (!r)
		return MHD_NO;
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, header_timeout_s);
	slot_mark(c, 0);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	metrics_observe(&o->m, ROUTE_UI, status, elapsed_s(&cx->start));
	return ret;
}

/* The first call, headers read and no body yet: every check that needs no
 * body. MHD_YES with nothing queued to go on and read the body. */
static enum MHD_Result on_headers(orch *o, struct MHD_Connection *c, conn_ctx *cx, const char *url, const char *method)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *why = NULL;
	unsigned long long announced = 0;
	request rq;
	response rs;
	unsigned status;

	if ((status = authenticate(o, c, cx, method, url, &why))) {
		log_warn("refused %s %s: %s", method, url, why);
		cx->refused = 1;
		return refuse(o, c, cx, status, why);
	}
	fill_request(c, cx, method, url, &rq);
	if (!api_precheck(o, &rq, &rs))
		return send_response(o, c, cx, &rs);
	cx->limit = api_body_limit(method, url);
	if (cl) {
		char *end;
		announced = strtoull(cl, &end, 10);
		if (end == cl || *end)
			return refuse(o, c, cx, 400, "bad Content-Length");
	}
	/* a body announced too large is refused before it is read */
	if (announced > cx->limit)
		return refuse(o, c, cx, 413, "request body too large");
	if (announced) {
		size_t held = __atomic_load_n(&o->body_held, __ATOMIC_RELAXED);
		/* refused now rather than after it was sent, when it cannot fit */
		if (held > o->body_budget || announced + 1 > o->body_budget - held) {
			log_warn("refused %s %s: %zu bytes of bodies already held", method, url, held);
			return refuse(o, c, cx, 503, "too many request bodies at once: retry later");
		}
		cx->expect = (size_t)announced + 1;
	}
	if (cx->limit)
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, body_timeout_s);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	orch *o = cls;
	conn_ctx *cx = *con_cls;
	request rq;
	response rs = {0};

	(void)version;
	if (!cx) {
		if (!(cx = calloc(1, sizeof(*cx))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &cx->start);
		*con_cls = cx;
		slot_mark(c, 1);
		if (ui_is_path(url))
			return serve_ui(o, c, cx, url, method);
		return on_headers(o, c, cx, url, method);
	}
	if (cx->refused) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (cx->parked) {
		/* resumed by the dispatcher: a job, or nothing in time */
		cx->parked = 0;
		api_jobs_answer(o, &cx->w, &rs);
		return send_response(o, c, cx, &rs);
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cx->discard)
			return MHD_YES;
		if (cx->len + n > cx->limit) {
			cx->discard = 413;
			body_drop(o, cx);
			return MHD_YES;
		}
		if ((cx->discard = (unsigned)body_grow(o, cx, cx->len + n + 1))) {
			body_drop(o, cx);
			return MHD_YES;
		}
		memcpy(cx->buf + cx->len, upload_data, n);
		cx->len += n;
		cx->buf[cx->len] = '\0';
		return MHD_YES;
	}
	if (cx->discard == 413)
		return refuse(o, c, cx, 413, "request body too large");
	if (cx->discard)
		return refuse(o, c, cx, cx->discard, "too many request bodies at once: retry later");
	fill_request(c, cx, method, url, &rq);
	rq.body = cx->buf;
	rq.len = cx->len;
	api_handle(o, &rq, &rs);
	body_drop(o, cx); /* answered: the body's bytes go back to the budget now */
	if (rs.park) {
		/* no thread waits: the connection does, until its deadline */
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)(rs.park_ms / 1000) + header_timeout_s + 1);
		cx->parked = 1;
		if (dispatch_park(o, &cx->w, c, rs.park_runner, rs.park_ms) == 0)
			return MHD_YES;
		cx->parked = 0;
		memset(&rs, 0, sizeof(rs));
		rs.status = 204;
		rs.route = ROUTE_JOBS;
	}
	return send_response(o, c, cx, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	conn_ctx *cx = *con_cls;
	(void)c;
	(void)toe;
	if (cx) {
		body_drop(cls, cx);
		fangs_job_clear(&cx->w.job);
		free(cx);
	}
	*con_cls = NULL;
}

/* libmicrohttpd's messages are printf formats of its own */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
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
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[20];
	int n = 0, tls = so->cert_pem != NULL;
	unsigned threads = so->threads ? so->threads : SERVER_THREADS;
	unsigned max_conn = so->max_connections ? so->max_connections : SERVER_MAX_CONNECTIONS;
	unsigned per_ip = so->max_per_ip ? so->max_per_ip : SERVER_MAX_PER_IP;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	if (parse_listen(so->listen, &ss)) {
		log_error("--listen %s: expected HOST:PORT", so->listen);
		return -1;
	}
	if (!o->mtls && !o->tokens_path && !o->no_auth) {
		log_error("no client authentication: give --client-ca (client certificates) or --tokens FILE"
			  " (bearer tokens), or --insecure-no-auth to let anyone who can connect do anything");
		return -1;
	}
	if (o->no_auth && !is_loopback(&ss) && !so->allow_insecure_remote) {
		log_error("refusing --insecure-no-auth on %s, which is not a loopback address: anyone on the network"
			  " could take jobs, forge results and queue scans (add --allow-insecure-remote to insist)",
			  so->listen);
		return -1;
	}
	if (!tls && !is_loopback(&ss) && !so->allow_insecure_remote) {
		log_error("refusing to serve plain HTTP on %s, which is not a loopback address: give --tls-cert and"
			  " --tls-key (and --client-ca), or --allow-insecure-remote",
			  so->listen);
		return -1;
	}
	if (so->header_timeout_s)
		header_timeout_s = so->header_timeout_s;
	if (so->body_timeout_s)
		body_timeout_s = so->body_timeout_s;
	if (max_conn < threads)
		max_conn = threads;
	if (per_ip >= max_conn)
		log_warn("--max-connections-per-ip %u is not below --max-connections %u: one client address can take"
			 " every connection",
			 per_ip, max_conn);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, o};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
	/* idle timeout: until the headers (or the TLS handshake) are in, and
	 * between requests; a request with a body gets body_timeout_s */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, header_timeout_s, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, max_conn, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
	if (tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)so->cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)so->key_pem};
		if (o->mtls)
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, o->client_ca_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (dispatch_start(o))
		return -1;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, o, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d) {
		log_error("cannot listen on %s (address in use, or a bad TLS certificate or key)", so->listen);
		dispatch_stop(o);
		return -1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!tls)
		log_info("listening on http://%s (port %u): plain HTTP, %s", so->listen, info ? info->port : 0,
			 is_loopback(&ss) ? "loopback only" : "NOT ENCRYPTED, reachable from the network");
	else
		log_info("listening on https://%s (port %u)%s", so->listen, info ? info->port : 0,
			 o->mtls ? ": clients must present a certificate of the configured CA" : "");
	log_info("http: %u worker threads; at most %u connections, %u per client address; %u s to send headers,"
		 " %u s idle in a body; %zu MiB of bodies held at once",
		 threads, max_conn, per_ip, header_timeout_s, body_timeout_s, o->body_budget >> 20);
	if (o->public_reads)
		log_warn("--public-reads: anyone who can connect to %s may read packages, runs, events and findings",
			 so->listen);
	if (o->no_auth)
		log_warn("WARNING: --insecure-no-auth: no credential is checked; anyone who can connect to %s may"
			 " register as any runner, post events and results, and queue scans",
			 so->listen);
	else
		log_info("clients authenticate with %s%s%s", o->mtls ? "a certificate of the client CA" : "",
			 o->mtls && o->tokens_path ? " or " : "", o->tokens_path ? "a bearer token" : "");
	*out = d;
	return 0;
}

void server_stop(orch *o, struct MHD_Daemon *d)
{
	if (!d)
		return;
	/* no new connections; parked long polls answer 204 at once, the
	 * running requests finish */
	MHD_quiesce_daemon(d);
	dispatch_stop(o);
	MHD_stop_daemon(d);
}
