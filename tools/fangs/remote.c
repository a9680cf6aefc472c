/*
 * tools/fangs/remote.c - what the commands that can talk to the orchestrator
 * share (`scan submit`, `runner list`, `run fail`): its options and one request.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "remote.h"

const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* The orchestrator options of `runner list` and `run fail`: --orchestrator
 * URL, --tls-cert, --tls-key, --ca, --token-file. 0, or a usage error's
 * exit code; `wo->url` stays NULL without --orchestrator. */
int remote_opts(const cli_args *a, fangs_wire_client_options *wo, const char **token_file, const char *what)
{
	wo->url = cli_get(a, "orchestrator");
	wo->tls_cert = cli_get(a, "tls-cert");
	wo->tls_key = cli_get(a, "tls-key");
	wo->ca = cli_get(a, "ca");
	*token_file = cli_get(a, "token-file");
	if (!wo->url && (wo->tls_cert || wo->tls_key || wo->ca || *token_file))
		return cli_usage_error("%s: credentials go with --orchestrator URL", what);
	return 0;
}

/* One request to the orchestrator with the credentials of the options and
 * environment; the answer in `rs` when it has status `want`, else 1 after
 * saying why. */
int remote_call(fangs_wire_client_options *wo, const char *token_file, const char *method, const char *path, long want,
		fangs_wire_response *rs, const char *what)
{
	fangs_wire_client *c = NULL;
	char *token = NULL;
	int rc;
	if (!wo->tls_cert)
		wo->tls_cert = env_or("FANGS_TLS_CERT", NULL);
	if (!wo->tls_key)
		wo->tls_key = env_or("FANGS_TLS_KEY", NULL);
	if (!wo->ca)
		wo->ca = env_or("FANGS_CA", NULL);
	if (!(rc = fangs_wire_token_load(token_file ? token_file : env_or("FANGS_TOKEN_FILE", NULL), "FANGS_TOKEN",
					 &token))) {
		wo->token = token;
		if (!(rc = fangs_wire_client_new(&c, wo)))
			rc = fangs_wire_request(c, method, path, "application/json",
						strcmp(method, "POST") ? NULL : "{}", strcmp(method, "POST") ? 0 : 2,
						30000, rs);
	}
	fangs_wire_client_free(c);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	wo->token = NULL;
	if (rc) {
		cli_fail(what, rc);
		return 1;
	}
	if (rs->status != want) {
		print_error("%s: %s (HTTP %ld)", what, fangs_wire_response_error(rs), rs->status);
		fangs_wire_response_clear(rs);
		return 1;
	}
	return 0;
}

char *dup_json_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? strdup(json_object_get_string(v))
		       : NULL;
}
