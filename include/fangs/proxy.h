/*
 * fangs/proxy.h - the recording egress proxy of the sandbox's `proxy`
 * network mode.
 *
 * The sandbox has no route out; the proxy's listening socket is made
 * inside the sandbox's network namespace and served from the host, whose
 * network the proxy uses to reach servers. It speaks HTTP/1.1 as a forward
 * proxy: CONNECT host:port (tunnels, TLS in practice; the TLS ClientHello's
 * server name is read on the way) and plain-HTTP requests with an absolute
 * URI. A request to a host that the policy does not allow is answered
 * 403 and nothing leaves. Every request, allowed or not, becomes a
 * `proxy_request` event (fangs/event.h) naming the sandboxed process that
 * made it.
 *
 *     fangs_proxy *px;
 *     fangs_proxy_options o = FANGS_PROXY_OPTIONS_INIT;
 *     const char *mine[] = {"dl.example.com", "*.cdn.example.net", NULL};
 *     o.allow_hosts = mine; o.registry = "https://registry.example/";
 *     fangs_proxy_new(&px, &o);
 *     // the sandbox calls fangs_proxy_listen() once the run's netns exists
 *     ...
 *     fangs_proxy_stop(px);                // ends the tunnels still open
 *     fangs_proxy_take_events(px, &list);  // one event per request
 *     fangs_proxy_free(px);
 *
 * Policy: a host pattern is "name" (ports 80 and 443), "name:PORT" or
 * "name:*" (any port); a name "*.example.com" covers the subdomains of
 * example.com. Names compare without case and without a trailing dot. The
 * built-in list of download hosts (docs/sandbox.md) is compiled in from
 * libfangs/proxy/download_hosts.txt.
 */
#ifndef FANGS_PROXY_H
#define FANGS_PROXY_H

#include "common.h"
#include "event.h"

FANGS_BEGIN_DECL

typedef struct fangs_proxy fangs_proxy;

typedef struct fangs_proxy_options {
	unsigned int version;
	/** Host patterns let through besides the built-in list; NULL-terminated, or NULL. */
	const char *const *allow_hosts;
	/** 1: the built-in download hosts are not allowed (only allow_hosts and the registry). */
	int no_builtin_hosts;
	/** The npm registry's URL: its host and port are allowed. NULL = none. */
	const char *registry;
	int64_t connect_timeout_ms; /**< reaching a server; 0 = 10000 */
	int64_t idle_timeout_ms;    /**< a connection quiet both ways this long is closed; 0 = 60000 */
} fangs_proxy_options;

#define FANGS_PROXY_OPTIONS_VERSION 1
#define FANGS_PROXY_OPTIONS_INIT {FANGS_PROXY_OPTIONS_VERSION, NULL, 0, NULL, 0, 0}

/** Fills `opts` with the defaults of `version`. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_proxy_options_init(fangs_proxy_options *opts, unsigned int version);

/** Makes a proxy with its policy; it serves nothing until fangs_proxy_listen().
 * FANGS_EINVAL names a bad host pattern. */
FANGS_EXTERN(int) fangs_proxy_new(fangs_proxy **out, const fangs_proxy_options *opts);

/** Stops (as fangs_proxy_stop) and frees. NULL-safe. */
FANGS_EXTERN(void) fangs_proxy_free(fangs_proxy *px);

/** Whether the policy lets a request to host:port through: 1 or 0. */
FANGS_EXTERN(int) fangs_proxy_allows(const fangs_proxy *px, const char *host, uint16_t port);

/** Checks one host pattern's syntax. 0 or FANGS_EINVAL with a message. */
FANGS_EXTERN(int) fangs_proxy_host_pattern_validate(const char *pattern);

/** The built-in list of download hosts: the text of the data file, one
 * pattern a line, '#' starts a comment. */
FANGS_EXTERN(const char *) fangs_proxy_builtin_hosts(void);

/**
 * Whether host pattern `pattern` covers `host` (a name as a client asked
 * for it: a DNS query, a TLS server name, a proxy request) at `port`; a
 * negative port is a name with no port yet (a lookup), which any port of
 * the pattern covers. The same comparison as the proxy's policy. 1, 0, or
 * FANGS_EINVAL for a bad pattern.
 */
FANGS_EXTERN(int) fangs_proxy_host_pattern_match(const char *pattern, const char *host, int port);

/**
 * Creates the listening socket on addr:port (an IPv4 address) inside the
 * network namespace of process `netns_pid` (0 = the caller's own) and
 * starts serving it. `cgroup_v2` is the run's cgroup directory: a client
 * is looked for among its processes (NULL = every process of the host).
 * Once per proxy.
 */
FANGS_EXTERN(int) fangs_proxy_listen(fangs_proxy *px, int netns_pid, const char *addr, uint16_t port,
				     const char *cgroup_v2);

/** The port actually listened on (the one asked for, or the kernel's pick
 * when 0 was asked); 0 before fangs_proxy_listen(). */
FANGS_EXTERN(uint16_t) fangs_proxy_port(const fangs_proxy *px);

/** Stops accepting, ends every connection still open and waits for them:
 * their events are then all queued. Idempotent. */
FANGS_EXTERN(void) fangs_proxy_stop(fangs_proxy *px);

/** Moves the events of the requests finished so far to the end of `out`
 * (oldest first). Safe while the proxy serves. 0 or FANGS_ENOMEM. */
FANGS_EXTERN(int) fangs_proxy_take_events(fangs_proxy *px, fangs_event_list *out);

FANGS_END_DECL

#endif
