/*
 * sandbox/decoy.c - fake credentials planted where stealers look, so that a
 * package going for secrets shows it (the sensor sees the reads, the differ
 * flags them). None of them is valid anywhere.
 */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "sandbox/fsutil.h"
#include "sandbox/internal.h"

static void hex(char *out, size_t n)
{
	unsigned char raw[32];
	static const char digits[] = "0123456789abcdef";
	if (fangs__random(raw, sizeof(raw)) < 0)
		memset(raw, 0x5a, sizeof(raw));
	for (size_t i = 0; i + 1 < n && i / 2 < sizeof(raw); i++)
		out[i] = digits[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[n - 1] = '\0';
}

int fangs__plant_decoys(const char *home, const char *project)
{
	char token[37], aws[41], npmrc[256], creds[256], env[512], dir[4096];
	int rc;

	hex(token, sizeof(token));
	hex(aws, sizeof(aws));
	snprintf(npmrc, sizeof(npmrc), "//registry.example/:_authToken=npm_FAKE%s\n", token);
	snprintf(creds, sizeof(creds),
		 "[default]\naws_access_key_id = AKIAFAKE%.12s\naws_secret_access_key = FAKE%s\n", aws, aws);
	snprintf(env, sizeof(env),
		 "DATABASE_URL=postgres://app:FAKE%.16s@db.internal.example:5432/app\n"
		 "NPM_TOKEN=npm_FAKE%s\nAWS_SECRET_ACCESS_KEY=FAKE%s\n",
		 token, token, aws);

	if ((rc = fangs__write_at(home, ".npmrc", npmrc, 0600)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	if ((rc = fangs__mkdir_p(dir, 0700)) < 0)
		return rc;
	if ((rc = fangs__write_at(dir, "id_rsa",
				  "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
				  "QyNTUxOQAAACBGQUtFLUtFWS1GT1ItVEhFLVNBTkRCT1gtT05MWS0tLS0tLQAAAJhGQUtF\n"
				  "RkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRU\n"
				  "-----END OPENSSH PRIVATE KEY-----\n",
				  0600)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/.aws", home);
	if ((rc = fangs__mkdir_p(dir, 0700)) < 0)
		return rc;
	if ((rc = fangs__write_at(dir, "credentials", creds, 0600)) < 0)
		return rc;
	return fangs__write_at(project, ".env", env, 0600);
}
