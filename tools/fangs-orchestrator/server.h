/*
 * fangs-orchestrator/server.h - the HTTP server.
 */
#ifndef FANGS_ORCHESTRATOR_SERVER_H
#define FANGS_ORCHESTRATOR_SERVER_H

#include "orchestrator.h"

struct MHD_Daemon;

typedef struct server_options {
	const char *listen;        /* HOST:PORT */
	const char *cert_pem;      /* NULL = plain HTTP */
	const char *key_pem;
	int allow_insecure_remote; /* plain HTTP on a non-loopback address */
} server_options;

/* 0, or -1 after logging why. */
int server_start(orch *o, const server_options *so, struct MHD_Daemon **out);
/* Stops accepting, lets running requests finish, returns when all have. */
void server_stop(orch *o, struct MHD_Daemon *d);

#endif
