/*
 * tools/fangs/cmd_token.c - `fangs token`: the orchestrator's bearer tokens
 * (docs/security.md). The file (--file, else $FANGS_TOKENS_FILE, else
 * ./fangs-tokens) keeps each token's name, role, runner and SHA-256, never
 * the token: `create` prints it once. The orchestrator reads the file at
 * every request, so a token created or revoked counts at once.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "credentials.h"
#include "output.h"

static int load(const char *path, token_entry **e, size_t *n)
{
	char err[512];
	if (tokens_load(path, 1, e, n, err, sizeof(err))) {
		print_error("token: %s", err);
		return -1;
	}
	return 0;
}

static int save(const char *path, const token_entry *e, size_t n)
{
	char err[512];
	if (tokens_save(path, e, n, err, sizeof(err))) {
		print_error("token: %s", err);
		return -1;
	}
	return 0;
}

static int token_create(cli_ctx *ctx, const char *path, const char *name, const char *role, const char *runner)
{
	token_entry *e = NULL, *ne;
	size_t n = 0;
	char token[96];
	enum role r = role_parse(role);
	int rc = CLI_EXIT_ERROR;

	if (!name || !fangs_wire_valid_id(name) || strlen(name) > TOKEN_MAX_NAME)
		return cli_usage_error("token create: --name N (letters, digits, '.', '_', '-') is required");
	if (r == ROLE_NONE)
		return cli_usage_error("token create: --role must be runner, submitter, operator or reader");
	if (runner && r != ROLE_RUNNER)
		return cli_usage_error("token create: --runner goes with --role runner only");
	if (r == ROLE_RUNNER && !runner)
		runner = name;
	if (runner && !fangs_wire_valid_id(runner))
		return cli_usage_error("token create: --runner must be letters, digits, '.', '_' or '-'");
	if (load(path, &e, &n))
		return CLI_EXIT_ERROR;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name)) {
			print_error("token: '%s' exists (revoke it first, or create another name)", name);
			goto out;
		}
	if (!(ne = realloc(e, (n + 1) * sizeof(*e))))
		goto out;
	e = ne;
	memset(&e[n], 0, sizeof(e[n]));
	snprintf(e[n].name, sizeof(e[n].name), "%s", name);
	e[n].role = r;
	if (runner)
		snprintf(e[n].runner, sizeof(e[n].runner), "%s", runner);
	e[n].created = (int64_t)time(NULL);
	if (token_generate(token, sizeof(token)) || token_hash(token, strlen(token), e[n].hash)) {
		fprintf(stderr, "fangs: token: cannot make a random token\n");
		goto out;
	}
	if (save(path, e, n + 1))
		goto out;
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "role", json_object_new_string(role_name(r)));
		json_object_object_add(o, "runner", runner ? json_object_new_string(runner) : NULL);
		json_object_object_add(o, "token", json_object_new_string(token));
		json_object_object_add(o, "file", json_object_new_string(path));
		json_print(o);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "token '%s' (%s%s%s) added to %s; it is shown only now\n", tx(name), role_name(r),
			runner ? ", runner " : "", txd(runner, ""), tx(path));
	}
	rc = CLI_EXIT_OK;
out:
	memset(token, 0, sizeof(token));
	free(e);
	return rc;
}

static int token_list(cli_ctx *ctx, const char *path)
{
	token_entry *e = NULL;
	size_t n = 0;
	if (load(path, &e, &n))
		return CLI_EXIT_ERROR;
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(e[i].name));
			json_object_object_add(o, "role", json_object_new_string(role_name(e[i].role)));
			json_object_object_add(o, "runner",
					       e[i].runner[0] ? json_object_new_string(e[i].runner) : NULL);
			json_object_object_add(o, "created", json_object_new_int64(e[i].created));
			json_object_array_add(arr, o);
		}
		json_print(arr);
	} else {
		table *t = table_new(4, "NAME", "ROLE", "RUNNER", "CREATED");
		for (size_t i = 0; i < n; i++) {
			char when[64];
			table_row(t, e[i].name, role_name(e[i].role), e[i].runner[0] ? e[i].runner : "-",
				  fmt_time(e[i].created * 1000000000LL, when, sizeof(when)));
		}
		table_print(t, stdout);
	}
	free(e);
	return CLI_EXIT_OK;
}

static int token_revoke(cli_ctx *ctx, const char *path, const char *name)
{
	token_entry *e = NULL;
	size_t n = 0, k = 0;
	int found = 0;
	if (load(path, &e, &n))
		return CLI_EXIT_ERROR;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].name, name))
			found = 1;
		else
			e[k++] = e[i];
	}
	if (!found) {
		print_error("token: no token '%s' in %s", name, path);
		free(e);
		return CLI_EXIT_ERROR;
	}
	if (save(path, e, k)) {
		free(e);
		return CLI_EXIT_ERROR;
	}
	free(e);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "revoked", json_object_new_string(name));
		json_print(o);
	} else {
		printf("revoked token %s (%s)\n", tx(name), tx(path));
	}
	return CLI_EXIT_OK;
}

/* --file, else $FANGS_TOKENS_FILE, else ./fangs-tokens */
static const char *tokens_path(const cli_args *a)
{
	const char *path = cli_get(a, "file");
	if (!path || !*path)
		path = getenv("FANGS_TOKENS_FILE");
	return path && *path ? path : "fangs-tokens";
}

CLI_HANDLER(cmd_token_create)
{
	return token_create(ctx, tokens_path(a), cli_get(a, "name"), cli_get(a, "role"), cli_get(a, "runner"));
}

CLI_HANDLER(cmd_token_list)
{
	return token_list(ctx, tokens_path(a));
}

CLI_HANDLER(cmd_token_revoke)
{
	return token_revoke(ctx, tokens_path(a), a->pos[0]);
}
