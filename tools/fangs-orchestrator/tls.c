/*
 * fangs-orchestrator/tls.c - the revocation list: certificate names, one a
 * line ('#' starts a comment). Read at every check so that `fangs ca
 * revoke` takes effect without a restart.
 */
#include <stdio.h>
#include <string.h>

#include "orchestrator.h"

int tls_name_revoked(orch *o, const char *name)
{
	char line[512];
	FILE *f;
	int revoked = 0;

	if (!o->revoked_path || !(f = fopen(o->revoked_path, "r")))
		return 0;
	while (!revoked && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\r\n")] = '\0';
		for (char *e = line + strlen(line); e > line && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		revoked = line[0] && strcmp(line, name) == 0;
	}
	fclose(f);
	return revoked;
}
