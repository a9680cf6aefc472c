/*
 * fangs-orchestrator/tls.c - the revocation list: one certificate a line,
 * `serial:HEX` (what `fangs ca revoke` writes) or `name:NAME` (a bare NAME
 * is a name too); '#' starts a comment. Read at every check so that a
 * revocation takes effect without a restart; a list that cannot be read
 * refuses every certificate.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "orchestrator.h"

/* Lower-case hex without ':' and leading zero bytes. */
static void norm_serial(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (; *in && n + 1 < cap; in++)
		if (*in != ':')
			out[n++] = (char)tolower((unsigned char)*in);
	out[n] = '\0';
	while (n >= 2 && out[0] == '0' && out[1] == '0') {
		memmove(out, out + 2, n - 1);
		n -= 2;
	}
}

int tls_revoked(orch *o, const char *name, const char *serial_hex)
{
	char line[512], want[256], have[256];
	FILE *f;
	int revoked = 0;

	if (!o->revoked_path)
		return 0;
	if (!(f = fopen(o->revoked_path, "re"))) {
		/* a CA that never revoked anything has no list yet */
		if (errno == ENOENT && !o->revoked_required)
			return 0;
		log_error("the revocation list %s cannot be read (%s): refusing every certificate", o->revoked_path,
			  strerror(errno));
		return -1;
	}
	norm_serial(serial_hex, want, sizeof(want));
	while (!revoked && fgets(line, sizeof(line), f)) {
		char *s = line;
		line[strcspn(line, "#\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		for (char *e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!*s)
			continue;
		if (!strncmp(s, "serial:", 7)) {
			norm_serial(s + 7, have, sizeof(have));
			revoked = have[0] && strcmp(have, want) == 0;
		} else {
			revoked = strcmp(!strncmp(s, "name:", 5) ? s + 5 : s, name) == 0;
		}
	}
	if (!revoked && ferror(f)) {
		log_error("the revocation list %s cannot be read (%s): refusing every certificate", o->revoked_path,
			  strerror(errno));
		revoked = -1;
	}
	fclose(f);
	return revoked;
}
