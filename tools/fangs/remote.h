/*
 * tools/fangs/remote.h - what the commands that can talk to the orchestrator share.
 */
#ifndef FANGS_CLI_REMOTE_H
#define FANGS_CLI_REMOTE_H

#include <json-c/json.h>

#include "commands.h"

/* The environment variable `name` when set and not empty, else `def`. */
const char *env_or(const char *name, const char *def);
/* The orchestrator options of `runner list` and `run fail`. */
int remote_opts(const cli_args *a, fangs_wire_client_options *wo, const char **token_file, const char *what);
/* One request to the orchestrator; 0 with the answer in `rs`, else 1. */
int remote_call(fangs_wire_client_options *wo, const char *token_file, const char *method, const char *path, long want,
		fangs_wire_response *rs, const char *what);
/* A copy of the string member `key` of `o`, or NULL. */
char *dup_json_str(json_object *o, const char *key);

#endif
