/*
 * tools/fangs/cmd_notifier.c - `fangs notifier add|list|remove|test|history|deliver`,
 * and the messages `fangs scan` sends after a run.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

/* The notifier settings of the configuration file. */
static void options_from_config(const cli_ctx *ctx, fangs_storage *st, fangs_notifier_options *o)
{
	fangs_notifier_options def = FANGS_NOTIFIER_OPTIONS_INIT;
	*o = def;
	o->storage = st;
	o->public_url = ctx->config->notifier_public_url;
	o->ca_file = ctx->config->notifier_ca_file;
	o->max_attempts = ctx->config->notifier_max_attempts;
	o->base_delay_ms = ctx->config->notifier_retry_base_ms;
	o->timeout_ms = ctx->config->notifier_timeout_ms;
}

static int add_header_arg(fangs_notifier_target *t, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char *name;
	int rc;
	if (!colon || colon == arg)
		return cli_usage_error("-header needs Name:Value, not '%s'", arg);
	if (!(name = strndup(arg, (size_t)(colon - arg))))
		return cli_fail("header", FANGS_ENOMEM);
	colon++;
	while (*colon == ' ')
		colon++;
	rc = fangs_notifier_target_add_header(t, name, colon);
	free(name);
	return rc ? cli_fail("header", rc) : 0;
}

CLI_HANDLER(cmd_notifier_add)
{
	static const struct {
		const char *opt;
		size_t field;
	} strs[] = {
		{"name", offsetof(fangs_notifier_target, name)},
		{"url", offsetof(fangs_notifier_target, url)},
		{"template", offsetof(fangs_notifier_target, template_name)},
		{"secret-env", offsetof(fangs_notifier_target, secret_env)},
	};
	fangs_notifier_target t = {0};
	fangs_storage *st;
	const char *h;
	int rc = 0, allow_literal = cli_has(a, "allow-literal-secret");

	t.enabled = !cli_has(a, "disabled");
	/* info is what a release ships (content_changed): shown, not pushed */
	t.min_severity = FANGS_SEV_LOW;
	if (cli_get(a, "min-severity"))
		fangs_severity_parse(cli_get(a, "min-severity"), &t.min_severity); /* checked when parsed */
	for (size_t i = 0; rc == 0 && i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *v = cli_get(a, strs[i].opt);
		char **slot = (char **)((char *)&t + strs[i].field);
		if (v && !(*slot = strdup(v)))
			rc = cli_fail("notifier add", FANGS_ENOMEM);
	}
	for (size_t i = 0; rc == 0 && (h = cli_get_nth(a, "header", i)); i++)
		rc = add_header_arg(&t, h);
	if (rc == 0 && (!t.name || !t.url || !t.template_name))
		rc = cli_usage_error("notifier add needs -name, -url and -template");
	if (rc == 0 && fangs_notifier_target_check(&t))
		rc = cli_usage_error("%s", fangs_error_last());
	for (size_t i = 0; rc == 0 && i < t.n_headers; i++) {
		if (!fangs_notifier_header_is_secret(t.headers[i].name, t.headers[i].value))
			continue;
		if (!allow_literal)
			rc = cli_usage_error("header %s looks like a credential: give it as env:VAR or file:/path (read"
					     " when a message is sent, never stored), or -allow-literal-secret to store"
					     " it in the database",
					     t.headers[i].name);
		else
			print_error("WARNING: header %s is stored in clear in the database (-allow-literal-secret)",
				    t.headers[i].name);
	}
	if (rc) {
		fangs_notifier_target_clear(&t);
		return rc;
	}
	if (!(st = cli_open_storage(ctx))) {
		fangs_notifier_target_clear(&t);
		return CLI_EXIT_ERROR;
	}
	if ((rc = fangs_storage_notifier_add(st, &t))) {
		fangs_notifier_target_clear(&t);
		fangs_storage_free(st);
		return cli_fail("notifier add", rc);
	}
	if (ctx->json)
		json_print(fangs_json_notifier(&t));
	else
		printf("notifier %s added: %s (%s, %s and above%s)\n", tx(t.name), tx(t.url), txd(t.template_name, "-"),
		       fangs_severity_name(t.min_severity), t.enabled ? "" : ", disabled");
	if (t.secret_env && !getenv(t.secret_env))
		print_error("note: %s is not set here; the process that delivers needs it", t.secret_env);
	fangs_notifier_target_clear(&t);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_notifier_list)
{
	fangs_notifier_target_list list = {0};
	fangs_storage *st;
	int rc;
	(void)a;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_notifier_list(st, &list))) {
		fangs_storage_free(st);
		return cli_fail("notifier list", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < list.count; i++)
			json_object_array_add(arr, fangs_json_notifier(&list.items[i]));
		json_print(arr);
	} else if (list.count == 0) {
		printf("no notifiers\n");
	} else {
		table *tb = table_new(6, "NAME", "TEMPLATE", "MIN", "ENABLED", "SIGNED", "URL");
		for (size_t i = 0; i < list.count; i++) {
			const fangs_notifier_target *t = &list.items[i];
			table_row(tb, t->name, t->template_name, fangs_severity_name(t->min_severity),
				  t->enabled ? "yes" : "no", t->secret_env ? t->secret_env : "no", t->url);
		}
		table_print(tb, stdout);
	}
	fangs_notifier_target_list_free(&list);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_notifier_remove)
{
	char *const *argv = a->pos - 1; /* argv[1]: NAME */
	fangs_storage *st;
	int rc;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = fangs_storage_notifier_remove(st, argv[1]);
	fangs_storage_free(st);
	if (rc)
		return cli_fail("notifier remove", rc);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "removed", json_object_new_string(argv[1]));
		json_print(o);
	} else {
		printf("notifier %s removed (with its delivery history)\n", tx(argv[1]));
	}
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_notifier_test)
{
	char *const *argv = a->pos - 1; /* argv[1]: NAME */
	fangs_notifier_options o;
	fangs_notifier_result res = {0};
	fangs_notifier *n = NULL;
	fangs_storage *st;
	int rc;

	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	options_from_config(ctx, st, &o);
	if ((rc = fangs_notifier_new(&n, &o))) {
		fangs_storage_free(st);
		return cli_fail("notifier", rc);
	}
	rc = fangs_notifier_send_test(n, argv[1], &res);
	if (rc && rc != FANGS_ENETWORK) {
		cli_fail("notifier test", rc);
	} else if (ctx->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "notifier", json_object_new_string(argv[1]));
		json_object_object_add(j, "ok", json_object_new_boolean(rc == 0));
		json_object_object_add(j, "http_status", res.http_status ? json_object_new_int(res.http_status) : NULL);
		json_object_object_add(j, "error", json_str_or_null(res.error));
		json_object_object_add(j, "body", json_str_or_null(res.body));
		json_print(j);
	} else {
		if (res.http_status)
			printf("HTTP %d%s\n", res.http_status, rc ? "" : " (delivered)");
		/* the receiver's answer, line by line, never its escape sequences */
		if (res.body && *res.body)
			print_lines(stdout, "", "", res.body);
		if (res.error)
			print_error("notifier test: %s", res.error);
	}
	fangs_notifier_result_clear(&res);
	fangs_notifier_free(n);
	fangs_storage_free(st);
	return rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

CLI_HANDLER(cmd_notifier_history)
{
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	fangs_notification_list list = {0};
	fangs_storage *st;
	char id[FANGS_RUN_ID_MAX];
	int rc;

	f.notifier = cli_get(a, "name");
	f.limit = cli_get_num(a, "limit", 0);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if (cli_get(a, "run")) {
		if (cli_resolve_run(st, cli_get(a, "run"), id, sizeof(id))) {
			fangs_storage_free(st);
			return CLI_EXIT_ERROR;
		}
		f.run_id = id;
	}
	if ((rc = fangs_storage_notification_list(st, &f, &list))) {
		fangs_storage_free(st);
		return cli_fail("notifier history", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < list.count; i++)
			json_object_array_add(arr, fangs_json_notification(&list.items[i]));
		json_print(arr);
	} else if (list.count == 0) {
		printf("no notifications\n");
	} else {
		table *tb = table_new(7, "TIME", "NOTIFIER", "RUN", "ATTEMPT", "STATUS", "HTTP", "DETAIL");
		for (size_t i = 0; i < list.count; i++) {
			const fangs_notification *n = &list.items[i];
			char t[32], due[48], att[16], http[16];
			snprintf(att, sizeof(att), "%d", n->attempt);
			snprintf(http, sizeof(http), "%d", n->http_status);
			if (n->status == FANGS_NOTIFICATION_PENDING) {
				char d[32];
				snprintf(due, sizeof(due), "due %s", fmt_time(n->next_attempt_ns, d, sizeof(d)));
			}
			table_row(tb, fmt_time(n->created_ns, t, sizeof(t)), n->notifier_name, n->run_id, att,
				  fangs_notification_status_name(n->status), n->http_status ? http : NULL,
				  n->status == FANGS_NOTIFICATION_PENDING ? due : n->error);
		}
		table_print(tb, stdout);
	}
	fangs_notification_list_free(&list);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

/* Sends what is due; prints a summary. 0 or a storage error. */
static int deliver(cli_ctx *ctx, fangs_storage *st, fangs_notifier_stats *stats)
{
	fangs_notifier_options o;
	fangs_notifier *n = NULL;
	int rc;
	options_from_config(ctx, st, &o);
	if ((rc = fangs_notifier_new(&n, &o)) == 0)
		rc = fangs_notifier_deliver_due(n, 0, stats);
	fangs_notifier_free(n);
	return rc;
}

CLI_HANDLER(cmd_notifier_deliver)
{
	fangs_notifier_stats s = {0};
	fangs_storage *st;
	int rc;
	(void)a;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	rc = deliver(ctx, st, &s);
	fangs_storage_free(st);
	if (rc)
		return cli_fail("notifier deliver", rc);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "attempted", json_object_new_int64((int64_t)s.attempted));
		json_object_object_add(o, "sent", json_object_new_int64((int64_t)s.sent));
		json_object_object_add(o, "retrying", json_object_new_int64((int64_t)s.retrying));
		json_object_object_add(o, "failed", json_object_new_int64((int64_t)s.failed));
		json_print(o);
	} else {
		printf("%zu attempted: %zu sent, %zu to retry, %zu failed\n", s.attempted, s.sent, s.retrying,
		       s.failed);
	}
	return CLI_EXIT_OK;
}

void cli_notify_run(cli_ctx *ctx, fangs_storage *st, const char *run_id)
{
	fangs_notifier_options o;
	fangs_notifier_stats s = {0};
	fangs_notifier *n = NULL;
	size_t queued = 0;

	options_from_config(ctx, st, &o);
	if (fangs_notifier_new(&n, &o) || fangs_notifier_enqueue_run(n, run_id, &queued) ||
	    (queued && fangs_notifier_deliver_due(n, 0, &s)))
		print_error("notifier: %s", fangs_error_last());
	else if (queued && !ctx->json)
		fprintf(stderr, "fangs: notified %zu of %zu target%s%s\n", s.sent, queued, queued == 1 ? "" : "s",
			s.retrying ? " (the rest is retried by `fangs notifier deliver`)" : "");
	fangs_notifier_free(n);
}
