/*
 * fangs-orchestrator/auth.h - who is calling, and may they (docs/security.md).
 */
#ifndef FANGS_ORCHESTRATOR_AUTH_H
#define FANGS_ORCHESTRATOR_AUTH_H

#include "credentials.h"

struct MHD_Connection;
struct orch;

typedef struct auth_identity {
	enum role role;
	char name[256];                       /* certificate common name or token name */
	char runner[FANGS_WIRE_MAX_NAME + 1]; /* role runner: the only runner it acts as */
	const char *via;                      /* "certificate", "token" or "none" */
} auth_identity;

/*
 * Checks the credential of a request before anything of it is read: the
 * mTLS client certificate (its role in the subject's OU, its serial not
 * revoked) or an `Authorization: Bearer` token of the tokens file, then the
 * role the route needs and, on /v1/runners/{id}/..., that a runner acts as
 * itself; then, for every request that changes something, that it is no
 * cross-site forgery (a foreign Origin; on a certificate or without
 * authentication, the CSRF token or, on a runner route, the Fangs-Runner
 * header). 0 with `out` filled, else the HTTP status (401, 403, 500) with
 * the reason in `why`.
 */
unsigned auth_check(struct orch *o, struct MHD_Connection *c, const char *method, const char *url, auth_identity *out,
		    const char **why);

/* At start: the revocation list and tokens file as configured are
 * readable. 0, or -1 after logging why. */
int auth_preflight(struct orch *o);
/* Frees what auth_check keeps between requests (the tokens as read). */
void auth_cleanup(void);

#endif
