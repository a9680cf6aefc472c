/*
 * proxy/internal.h - what the proxy's files share.
 */
#ifndef FANGS_PROXY_INTERNAL_H
#define FANGS_PROXY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fangs/proxy.h"

/* One allowed host pattern. */
typedef struct fangs__host_rule {
	char *name;   /* lower case, no trailing dot; for a wildcard, the parent domain */
	int wildcard; /* "*.name": subdomains of name */
	int port;     /* 0 = 80 and 443, -1 = any, else this port */
} fangs__host_rule;

typedef struct fangs__policy {
	fangs__host_rule *items;
	size_t count;
	size_t capacity;
} fangs__policy;

/* Parses one pattern into `out`; 0 or FANGS_EINVAL. */
int fangs__host_rule_parse(const char *pattern, fangs__host_rule *out);
/* Adds a pattern; `source` names where it came from in messages. */
int fangs__policy_add(fangs__policy *p, const char *pattern, const char *source);
/* Adds every pattern of a text (one a line, '#' comments). */
int fangs__policy_add_text(fangs__policy *p, const char *text, const char *source);
/* Adds the host and port of an http(s) URL. */
int fangs__policy_add_url(fangs__policy *p, const char *url);
int fangs__policy_allows(const fangs__policy *p, const char *host, uint16_t port);
void fangs__policy_free(fangs__policy *p);

/* The server name of a TLS ClientHello record starting at `data`:
 * 1 and the name in `out`, 0 when there is none, -1 when more bytes are
 * needed to tell (`len` is short of the first record). */
int fangs__tls_sni(const unsigned char *data, size_t len, char *out, size_t cap);

/* The process holding the client end of a connection accepted from the
 * proxy's listening socket: `client_port` is the accepted socket's peer port,
 * `proxy_port` the listening port, `netns_pid` a process of the network
 * namespace (0 = ours), `cgroup_v2` where to look for the holder (NULL =
 * every process). 0 when not found. */
pid_t fangs__proxy_find_client(int netns_pid, uint16_t client_port, uint16_t proxy_port, const char *cgroup_v2);

/* comm and parent pid of a host process; 0 or -1. `comm` gets "" when unknown. */
int fangs__proxy_proc_info(pid_t pid, char *comm, size_t cap, pid_t *ppid);

#endif
