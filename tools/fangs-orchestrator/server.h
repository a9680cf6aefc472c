/*
 * fangs-orchestrator/server.h - the HTTP server.
 */
#ifndef FANGS_ORCHESTRATOR_SERVER_H
#define FANGS_ORCHESTRATOR_SERVER_H

#include "orchestrator.h"

struct MHD_Daemon;

typedef struct server_options {
	const char *listen;   /* HOST:PORT */
	const char *cert_pem; /* NULL = plain HTTP */
	const char *key_pem;
	int allow_insecure_remote; /* plain HTTP on a non-loopback address */
	unsigned threads;          /* worker threads (epoll each) */
	unsigned max_connections;  /* all clients together */
	unsigned max_per_ip;       /* one client address */
	unsigned header_timeout_s; /* idle: headers, TLS handshake, keep-alive */
	unsigned body_timeout_s;   /* idle while a body is read */
} server_options;

#define SERVER_THREADS 4
#define SERVER_MAX_CONNECTIONS 1000
#define SERVER_MAX_PER_IP 64
#define SERVER_HEADER_TIMEOUT_S 5
#define SERVER_BODY_TIMEOUT_S 60
#define SERVER_BODY_BUDGET_MB 64

/* 0, or -1 after logging why. */
int server_start(orch *o, const server_options *so, struct MHD_Daemon **out);
/* Shuts the connections that have not sent their request headers (or
 * finished their TLS handshake) within the header timeout since they
 * opened or since their last answer; how many. Called periodically. */
unsigned server_reap(void);
/* Stops accepting, lets running requests finish, returns when all have. */
void server_stop(orch *o, struct MHD_Daemon *d);

#endif
