/*
 * proxy/proxy.c - the recording forward proxy: a listening socket made in
 * the sandbox's network namespace, served from the host by one acceptor
 * thread and a thread per connection; upstream connections are made in the
 * host's namespace. One proxy_request event per request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/opts.h"
#include "core/buf.h"
#include "core/internal.h"
#include "proxy/internal.h"

#define HEAD_MAX (16 * 1024)
#define SNIFF_MAX (16 * 1024 + 5)
#define RELAY_BUF (64 * 1024)
#define HEAD_TIMEOUT_MS 30000
#define PATH_MAX_KEPT 2048
/* bounds on what a package can make the scanner hold */
#define CONN_MAX 256
#define EVENTS_MAX 65536

struct fangs_proxy {
	fangs__policy policy;
	int64_t connect_timeout_ms, idle_timeout_ms;
	int listen_fd;
	int wake[2]; /* written once at stop: every poll of every thread sees it */
	uint16_t port;
	int netns_pid;
	char *cgroup_v2;
	pthread_t acceptor;
	int acceptor_started, stopped;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int active; /* connection threads running */
	fangs_event_list events;
	uint64_t events_dropped, conns_refused;
};

typedef struct conn {
	fangs_proxy *px;
	int cfd, ufd;
	uint16_t client_port;
	fangs_event ev;
	char head[HEAD_MAX + 1];
	size_t head_len, have; /* the head's length; bytes read into head[] */
	unsigned char sniff[SNIFF_MAX];
	size_t sniff_len;
	int sniff_done, status_done;
} conn;

static const size_t proxy_sizes[] = {0, sizeof(fangs_proxy_options)};
FANGS__OPTS_SIZES_ASSERT(proxy_sizes, FANGS_PROXY_OPTIONS_VERSION);
static const fangs_proxy_options proxy_defaults = FANGS_PROXY_OPTIONS_INIT;

int fangs_proxy_options_init(fangs_proxy_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &proxy_defaults, proxy_sizes, FANGS_PROXY_OPTIONS_VERSION,
				"fangs_proxy_options");
}

int fangs_proxy_new(fangs_proxy **out, const fangs_proxy_options *opts)
{
	fangs_proxy_options o;
	fangs_proxy *px;
	int rc = 0;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "out is NULL");
	*out = NULL;
	if ((rc = fangs__opts_copy(&o, opts, &proxy_defaults, proxy_sizes, FANGS_PROXY_OPTIONS_VERSION,
				   "fangs_proxy_options")) < 0)
		return rc;
	if (!(px = calloc(1, sizeof(*px))))
		return fangs__error_oom();
	px->listen_fd = px->wake[0] = px->wake[1] = -1;
	pthread_mutex_init(&px->lock, NULL);
	pthread_cond_init(&px->idle, NULL);
	px->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 10000;
	px->idle_timeout_ms = o.idle_timeout_ms > 0 ? o.idle_timeout_ms : 60000;
	if (!o.no_builtin_hosts)
		rc = fangs__policy_add_text(&px->policy, fangs_proxy_builtin_hosts(), "download_hosts.txt");
	for (size_t i = 0; rc == 0 && o.allow_hosts && o.allow_hosts[i]; i++)
		rc = fangs__policy_add(&px->policy, o.allow_hosts[i], "proxy allow_hosts");
	if (rc == 0 && o.registry)
		rc = fangs__policy_add_url(&px->policy, o.registry);
	if (rc == 0 && pipe2(px->wake, O_CLOEXEC) < 0)
		rc = fangs__error_errno(FANGS_EIO, "pipe");
	if (rc < 0) {
		fangs_proxy_free(px);
		return rc;
	}
	*out = px;
	return 0;
}

int fangs_proxy_allows(const fangs_proxy *px, const char *host, uint16_t port)
{
	return px && fangs__policy_allows(&px->policy, host, port);
}

uint16_t fangs_proxy_port(const fangs_proxy *px)
{
	return px ? px->port : 0;
}

/* ---- small I/O helpers ---- */

/* Waits for `events` on fd, or the stop; 1 ready, 0 timeout, -1 stopping. */
static int wait_fd(const fangs_proxy *px, int fd, short events, int64_t timeout_ms)
{
	struct pollfd p[2] = {{fd, events, 0}, {px->wake[0], POLLIN, 0}};
	int n;
	do
		n = poll(p, 2, (int)timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0 || p[1].revents)
		return -1;
	return n > 0 ? 1 : 0;
}

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void reply(conn *c, int status, const char *reason, const char *body)
{
	char msg[1024];
	int n = snprintf(
		msg, sizeof(msg),
		"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		status, reason, strlen(body), body);
	c->ev.status = status;
	if (n > 0)
		send_all(c->cfd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* Reads until the end of the request head; its length, or -1. */
static int read_head(conn *c)
{
	int64_t deadline = fangs__monotonic_ns() + HEAD_TIMEOUT_MS * 1000000LL;
	for (;;) {
		char *end;
		ssize_t n;
		int64_t left;
		c->head[c->have] = '\0';
		/* a body may follow in the same read, NULs and all: only the head must be text */
		if ((end = memmem(c->head, c->have, "\r\n\r\n", 4))) {
			c->head_len = (size_t)(end - c->head) + 4;
			return memchr(c->head, '\0', c->head_len) ? -1 : 0;
		}
		if (c->have >= HEAD_MAX)
			return -1;
		left = (deadline - fangs__monotonic_ns()) / 1000000LL;
		if (left <= 0 || wait_fd(c->px, c->cfd, POLLIN, left) != 1)
			return -1;
		n = recv(c->cfd, c->head + c->have, HEAD_MAX - c->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->have += (size_t)n;
	}
}

/* Splits "host:port" / "[v6]:port"; the port is `def` when absent (def 0:
 * required). 0 or -1. */
static int split_host_port(const char *s, size_t len, char *host, size_t cap, uint16_t *port, uint16_t def)
{
	const char *end = s + len, *h = s, *hend, *pstart = NULL;
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb)
			return -1;
		h = s + 1;
		hend = rb;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -1;
			pstart = rb + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		hend = colon ? colon : end;
		if (colon)
			pstart = colon + 1;
	}
	if (hend == h || (size_t)(hend - h) >= cap)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (pstart) {
		char pbuf[8], *e;
		size_t pl = (size_t)(end - pstart);
		long v;
		if (pl == 0 || pl >= sizeof(pbuf))
			return -1;
		memcpy(pbuf, pstart, pl);
		pbuf[pl] = '\0';
		v = strtol(pbuf, &e, 10);
		if (*e || v < 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	} else {
		if (!def)
			return -1;
		*port = def;
	}
	return 0;
}

/* The value of header `name` in the head (first line excluded), or NULL. */
static const char *header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *line = strstr(head, "\r\n");
	while (line) {
		line += 2;
		if (line[0] == '\r')
			break;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			*len = e ? (size_t)(e - v) : strlen(v);
			return v;
		}
		line = strstr(line, "\r\n");
	}
	return NULL;
}

/* ---- upstream ---- */

static int connect_upstream(conn *c, const char *host, uint16_t port)
{
	struct addrinfo hints, *res = NULL;
	char pstr[8];
	int rc, fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(pstr, sizeof(pstr), "%u", port);
	if ((rc = getaddrinfo(host, pstr, &hints, &res)) != 0) {
		fangs_debug("proxy: %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		int err = 0;
		socklen_t el = sizeof(err);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    (errno != EINPROGRESS || wait_fd(c->px, fd, POLLOUT, c->px->connect_timeout_ms) != 1 ||
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)) {
			close(fd);
			fd = -1;
			continue;
		}
		{
			char a[INET6_ADDRSTRLEN] = "";
			const void *src = ai->ai_family == AF_INET6
						  ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
						  : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
			if (inet_ntop(ai->ai_family, src, a, sizeof(a))) {
				c->ev.addr = fangs__strdup(a);
				c->ev.family = ai->ai_family == AF_INET6 ? FANGS_FAMILY_IPV6 : FANGS_FAMILY_IPV4;
			}
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	/* blocking sends with a bound: a stalled server cannot hold us forever */
	{
		struct timeval tv = {(time_t)(c->px->idle_timeout_ms / 1000),
				     (suseconds_t)(c->px->idle_timeout_ms % 1000) * 1000};
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	c->ufd = fd;
	return 0;
}

/* What the client sends first through a tunnel: a TLS ClientHello names its server. */
static void sniff_client(conn *c, const char *data, size_t n)
{
	char name[256];
	int r;
	if (c->sniff_done)
		return;
	if (n > SNIFF_MAX - c->sniff_len)
		n = SNIFF_MAX - c->sniff_len;
	memcpy(c->sniff + c->sniff_len, data, n);
	c->sniff_len += n;
	r = fangs__tls_sni(c->sniff, c->sniff_len, name, sizeof(name));
	if (r == 1)
		c->ev.sni = fangs__strdup(name);
	if (r >= 0 || c->sniff_len >= SNIFF_MAX)
		c->sniff_done = 1;
}

/* The status line of a plain-HTTP answer. */
static void sniff_status(conn *c, const char *data, size_t n)
{
	int code;
	char line[32];
	if (c->status_done)
		return;
	c->status_done = 1;
	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = '\0';
	if (sscanf(line, "HTTP/%*d.%*d %d", &code) == 1 && code >= 100 && code <= 999)
		c->ev.status = code;
}

static int to_upstream(conn *c, const char *data, size_t n, int tunnel)
{
	if (tunnel)
		sniff_client(c, data, n);
	if (send_all(c->ufd, data, n) < 0)
		return -1;
	c->ev.bytes_out += n;
	return 0;
}

/* Copies both ways until both sides are done, the connection is idle too
 * long, or the proxy stops. */
static void relay(conn *c, int tunnel)
{
	char *buf = malloc(RELAY_BUF);
	int c_open = 1, u_open = 1;
	if (!buf)
		return;
	while (c_open || u_open) {
		struct pollfd p[3] = {{c_open ? c->cfd : -1, POLLIN, 0},
				      {u_open ? c->ufd : -1, POLLIN, 0},
				      {c->px->wake[0], POLLIN, 0}};
		int n;
		do
			n = poll(p, 3, (int)c->px->idle_timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n <= 0 || p[2].revents)
			break;
		if (p[0].revents) {
			ssize_t k = recv(c->cfd, buf, RELAY_BUF, 0);
			if (k <= 0) {
				c_open = 0;
				shutdown(c->ufd, SHUT_WR);
			} else if (to_upstream(c, buf, (size_t)k, tunnel) < 0) {
				break;
			}
		}
		if (p[1].revents) {
			ssize_t k = recv(c->ufd, buf, RELAY_BUF, 0);
			if (k <= 0) {
				u_open = 0;
				shutdown(c->cfd, SHUT_WR);
				/* the server is done: a client that keeps its end open has nothing to wait for */
				if (!tunnel)
					break;
			} else {
				if (!tunnel)
					sniff_status(c, buf, (size_t)k);
				if (send_all(c->cfd, buf, (size_t)k) < 0)
					break;
				c->ev.bytes_in += (uint64_t)k;
			}
		}
	}
	free(buf);
}

/* ---- one request ---- */

static int refuse(conn *c)
{
	char body[600];
	snprintf(body, sizeof(body), "fangs: %.255s:%u is not an allowed download host of this sandbox\n", c->ev.host,
		 c->ev.port);
	c->ev.allowed = 0;
	reply(c, 403, "Forbidden", body);
	return 0;
}

static void serve_connect(conn *c, const char *target, size_t tlen)
{
	char host[256];
	uint16_t port = 0;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (split_host_port(target, tlen, host, sizeof(host), &port, 0) < 0) {
		reply(c, 400, "Bad Request", "fangs: CONNECT wants host:port\n");
		return;
	}
	c->ev.host = fangs__strdup(host);
	c->ev.port = port;
	if (!c->ev.host)
		return;
	if (!fangs__policy_allows(&c->px->policy, host, port)) {
		refuse(c);
		return;
	}
	c->ev.allowed = 1;
	if (connect_upstream(c, host, port) < 0) {
		reply(c, 502, "Bad Gateway", "fangs: the server cannot be reached\n");
		return;
	}
	if (send_all(c->cfd, ok, sizeof(ok) - 1) < 0)
		return;
	c->ev.status = 200;
	/* what the client sent after its head already */
	if (c->have > c->head_len && to_upstream(c, c->head + c->head_len, c->have - c->head_len, 1) < 0)
		return;
	relay(c, 1);
}

static int header_dropped(const char *line, size_t len)
{
	static const char *const hop[] = {"proxy-connection:", "proxy-authorization:", "connection:", "keep-alive:"};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(hop); i++)
		if (len >= strlen(hop[i]) && strncasecmp(line, hop[i], strlen(hop[i])) == 0)
			return 1;
	return 0;
}

static void serve_http(conn *c, const char *method, const char *target, size_t tlen, const char *version, size_t vlen)
{
	const char *auth = target + 7, *path, *at, *line;
	char host[256];
	uint16_t port = 80;
	fangs_buf out = FANGS_BUF_INIT;
	size_t alen, plen;

	path = memchr(auth, '/', tlen - 7);
	alen = path ? (size_t)(path - auth) : tlen - 7;
	plen = path ? tlen - 7 - alen : 0;
	/* user:password@ is not the host, and is not recorded */
	for (at = auth; at < auth + alen; at++)
		if (*at == '@') {
			alen -= (size_t)(at + 1 - auth);
			auth = at + 1;
			at = auth - 1;
		}
	if (split_host_port(auth, alen, host, sizeof(host), &port, 80) < 0) {
		reply(c, 400, "Bad Request", "fangs: bad URL\n");
		return;
	}
	c->ev.host = fangs__strdup(host);
	c->ev.port = port;
	c->ev.path = path ? fangs__strndup(path, plen < PATH_MAX_KEPT ? plen : PATH_MAX_KEPT) : fangs__strdup("/");
	if (!c->ev.host || !c->ev.path)
		return;
	if (!fangs__policy_allows(&c->px->policy, host, port)) {
		refuse(c);
		return;
	}
	c->ev.allowed = 1;
	if (connect_upstream(c, host, port) < 0) {
		reply(c, 502, "Bad Gateway", "fangs: the server cannot be reached\n");
		return;
	}
	/* origin form, hop-by-hop headers out, one request per connection */
	fangs_buf_puts(&out, method);
	fangs_buf_putc(&out, ' ');
	if (path)
		fangs_buf_put(&out, path, plen);
	else
		fangs_buf_putc(&out, '/');
	fangs_buf_putc(&out, ' ');
	fangs_buf_put(&out, version, vlen);
	fangs_buf_puts(&out, "\r\n");
	line = strstr(c->head, "\r\n") + 2;
	while (line < c->head + c->head_len - 2) {
		const char *e = strstr(line, "\r\n");
		size_t len = (size_t)(e - line);
		if (!header_dropped(line, len)) {
			fangs_buf_put(&out, line, len);
			fangs_buf_puts(&out, "\r\n");
		}
		line = e + 2;
	}
	fangs_buf_puts(&out, "Connection: close\r\n\r\n");
	if (out.oom || to_upstream(c, out.data, out.len, 0) < 0) {
		fangs_buf_free(&out);
		return;
	}
	fangs_buf_free(&out);
	if (c->have > c->head_len && to_upstream(c, c->head + c->head_len, c->have - c->head_len, 0) < 0)
		return;
	relay(c, 0);
}

/* Returns 1 when the request deserves an event. */
static int serve(conn *c)
{
	const char *sp1, *sp2, *eol;
	char method[32];
	size_t mlen;

	if (read_head(c) < 0)
		return 0;
	eol = strstr(c->head, "\r\n");
	sp1 = memchr(c->head, ' ', (size_t)(eol - c->head));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || (mlen = (size_t)(sp1 - c->head)) == 0 || mlen >= sizeof(method) ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		reply(c, 400, "Bad Request", "fangs: not an HTTP/1 request\n");
		return 0;
	}
	memcpy(method, c->head, mlen);
	method[mlen] = '\0';
	for (size_t i = 0; i < mlen; i++)
		if (method[i] < 'A' || method[i] > 'Z') {
			reply(c, 400, "Bad Request", "fangs: bad method\n");
			return 0;
		}
	if (!(c->ev.method = fangs__strdup(method)))
		return 0;
	if (strcmp(method, "CONNECT") == 0) {
		serve_connect(c, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	} else if ((size_t)(sp2 - sp1 - 1) > 7 && strncasecmp(sp1 + 1, "http://", 7) == 0) {
		serve_http(c, method, sp1 + 1, (size_t)(sp2 - sp1 - 1), sp2 + 1, (size_t)(eol - sp2 - 1));
	} else {
		/* asked as if we were the server, or an https:// URL: no forwarding */
		size_t hl;
		const char *h = header(c->head, "Host", &hl);
		char host[256];
		uint16_t port = 80;
		reply(c, 400, "Bad Request", "fangs: a proxy wants CONNECT host:port or an http:// URL\n");
		if (!h || split_host_port(h, hl, host, sizeof(host), &port, 80) < 0)
			return 0;
		c->ev.host = fangs__strdup(host);
		c->ev.port = port;
		c->ev.path = fangs__strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1) < PATH_MAX_KEPT ? (size_t)(sp2 - sp1 - 1)
											     : PATH_MAX_KEPT);
	}
	return c->ev.host != NULL;
}

static void *conn_main(void *arg)
{
	conn *c = arg;
	fangs_proxy *px = c->px;
	pid_t pid;

	/* the client is connected and waits for us: its socket names it */
	pid = fangs__proxy_find_client(px->netns_pid, c->client_port, px->port, px->cgroup_v2);
	if (pid > 0) {
		char comm[64];
		pid_t ppid;
		c->ev.pid = (int32_t)pid;
		if (fangs__proxy_proc_info(pid, comm, sizeof(comm), &ppid) == 0) {
			c->ev.ppid = (int32_t)ppid;
			if (comm[0])
				c->ev.comm = fangs__strdup(comm);
		}
	}
	if (serve(c)) {
		char sum[512];
		fangs_debug("proxy: pid %d %s (%llu out, %llu in)", c->ev.pid,
			    fangs_event_summary(&c->ev, sum, sizeof(sum)), (unsigned long long)c->ev.bytes_out,
			    (unsigned long long)c->ev.bytes_in);
		pthread_mutex_lock(&px->lock);
		if (px->events.count >= EVENTS_MAX || fangs_event_list_append(&px->events, &c->ev) < 0)
			px->events_dropped++;
		pthread_mutex_unlock(&px->lock);
	}
	fangs_event_clear(&c->ev);
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c);
	pthread_mutex_lock(&px->lock);
	if (--px->active == 0)
		pthread_cond_broadcast(&px->idle);
	pthread_mutex_unlock(&px->lock);
	return NULL;
}

static void *accept_main(void *arg)
{
	fangs_proxy *px = arg;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		pthread_attr_t attr;
		pthread_t t;
		conn *c;
		int fd;
		if (wait_fd(px, px->listen_fd, POLLIN, -1) != 1)
			break;
		/* accept4() fills what the peer's family needs: the port of
		 * anything else reads 0 */
		memset(&ss, 0, sizeof(ss));
		fd = accept4(px->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&px->lock);
		if (px->active >= CONN_MAX) {
			px->conns_refused++;
			pthread_mutex_unlock(&px->lock);
			close(fd);
			continue;
		}
		pthread_mutex_unlock(&px->lock);
		if (!(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->px = px;
		c->cfd = fd;
		c->ufd = -1;
		c->ev.kind = FANGS_EV_PROXY_REQUEST;
		c->ev.ts_ns = (uint64_t)fangs__now_ns();
		c->ev.proto = FANGS_PROTO_TCP;
		c->client_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
							  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
		{
			struct timeval tv = {(time_t)(px->idle_timeout_ms / 1000),
					     (suseconds_t)(px->idle_timeout_ms % 1000) * 1000};
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		pthread_mutex_lock(&px->lock);
		px->active++;
		pthread_mutex_unlock(&px->lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			close(fd);
			free(c);
			pthread_mutex_lock(&px->lock);
			if (--px->active == 0)
				pthread_cond_broadcast(&px->idle);
			pthread_mutex_unlock(&px->lock);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

/* ---- the listening socket, made in the sandbox's network namespace ---- */

typedef struct listen_job {
	int netns_pid;
	const char *addr;
	uint16_t port;
	int fd;
	uint16_t bound;
	char err[256];
} listen_job;

static void lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* A thread of its own: setns changes the calling thread's namespace, and
 * this one ends right after; a socket stays in the namespace it was made in. */
static void *listen_main(void *arg)
{
	listen_job *j = arg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, fd;

	j->fd = -1;
	if (j->netns_pid > 0) {
		char path[64];
		int ns;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", j->netns_pid);
		if ((ns = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(j->err, sizeof(j->err), "%s: %s", path, strerror(errno));
			return NULL;
		}
		if (setns(ns, CLONE_NEWNET) < 0) {
			snprintf(j->err, sizeof(j->err), "enter the sandbox's network namespace: %s", strerror(errno));
			close(ns);
			return NULL;
		}
		close(ns);
		lo_up();
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(j->port);
	if (inet_pton(AF_INET, j->addr, &sa.sin_addr) != 1) {
		snprintf(j->err, sizeof(j->err), "proxy address '%s' is not an IPv4 address", j->addr);
		return NULL;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(j->err, sizeof(j->err), "socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the sandbox may not have brought its loopback up yet */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		snprintf(j->err, sizeof(j->err), "listen on %s:%u: %s", j->addr, j->port, strerror(errno));
		close(fd);
		return NULL;
	}
	j->bound = ntohs(sa.sin_port);
	j->fd = fd;
	return NULL;
}

int fangs_proxy_listen(fangs_proxy *px, int netns_pid, const char *addr, uint16_t port, const char *cgroup_v2)
{
	listen_job j;
	pthread_t t;
	if (!px || !addr)
		return fangs_error_set(FANGS_EINVAL, "proxy and address are required");
	if (px->listen_fd >= 0 || px->stopped)
		return fangs_error_set(FANGS_EINVAL, "the proxy listens already, or was stopped");
	memset(&j, 0, sizeof(j));
	j.netns_pid = netns_pid;
	j.addr = addr;
	j.port = port;
	if (pthread_create(&t, NULL, listen_main, &j) != 0)
		return fangs_error_set(FANGS_EIO, "cannot start a thread");
	pthread_join(t, NULL);
	if (j.fd < 0)
		return fangs_error_set(FANGS_ESANDBOX, "recording proxy: %s", j.err);
	if (cgroup_v2 && !(px->cgroup_v2 = fangs__strdup(cgroup_v2))) {
		close(j.fd);
		return FANGS_ENOMEM;
	}
	px->listen_fd = j.fd;
	px->port = j.bound;
	px->netns_pid = netns_pid;
	if (pthread_create(&px->acceptor, NULL, accept_main, px) != 0) {
		close(px->listen_fd);
		px->listen_fd = -1;
		return fangs_error_set(FANGS_EIO, "cannot start a thread");
	}
	px->acceptor_started = 1;
	return 0;
}

void fangs_proxy_stop(fangs_proxy *px)
{
	if (!px || px->stopped)
		return;
	px->stopped = 1;
	if (px->wake[1] >= 0 && write(px->wake[1], "x", 1) < 0) {
		/* a full pipe wakes everyone as well */
	}
	if (px->acceptor_started)
		pthread_join(px->acceptor, NULL);
	px->acceptor_started = 0;
	pthread_mutex_lock(&px->lock);
	while (px->active > 0)
		pthread_cond_wait(&px->idle, &px->lock);
	pthread_mutex_unlock(&px->lock);
	if (px->listen_fd >= 0)
		close(px->listen_fd);
	px->listen_fd = -1;
	if (px->events_dropped || px->conns_refused)
		fangs_warn("proxy: %llu requests went unrecorded (more than %d), %llu connections were closed unread "
			   "(more than %d at once)",
			   (unsigned long long)px->events_dropped, EVENTS_MAX, (unsigned long long)px->conns_refused,
			   CONN_MAX);
}

int fangs_proxy_take_events(fangs_proxy *px, fangs_event_list *out)
{
	int rc = 0;
	if (!px || !out)
		return fangs_error_set(FANGS_EINVAL, "proxy and list are required");
	pthread_mutex_lock(&px->lock);
	size_t i = 0;
	for (; i < px->events.count; i++)
		if (fangs_event_list_append(out, &px->events.items[i]) < 0) {
			rc = fangs__error_oom();
			break;
		}
	/* what did not fit stays for the next call */
	memmove(px->events.items, px->events.items + i, (px->events.count - i) * sizeof(fangs_event));
	px->events.count -= i;
	pthread_mutex_unlock(&px->lock);
	return rc;
}

void fangs_proxy_free(fangs_proxy *px)
{
	if (!px)
		return;
	fangs_proxy_stop(px);
	if (px->wake[0] >= 0)
		close(px->wake[0]);
	if (px->wake[1] >= 0)
		close(px->wake[1]);
	fangs_event_list_free(&px->events);
	fangs__policy_free(&px->policy);
	pthread_mutex_destroy(&px->lock);
	pthread_cond_destroy(&px->idle);
	free(px->cgroup_v2);
	free(px);
}
