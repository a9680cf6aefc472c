/*
 * tools/fangs/cmd_notifier.c - `fangs notifier add|list|remove|test|history|deliver`,
 * and the messages `fangs scan` sends after a run.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static const char notifier_usage[] =
	"usage: fangs notifier add -name N -url URL -template generic|slack|discord\n"
	"                          [-min-severity S (default low)] [-secret-env VAR] [-header Name:Value]...\n"
	"                          [-disabled] [-allow-literal-secret]\n"
	"       fangs notifier list\n"
	"       fangs notifier remove NAME\n"
	"       fangs notifier test NAME          send a made-up finding, show the receiver's answer\n"
	"       fangs notifier history [-run RUN] [-name NAME] [-limit N]\n"
	"       fangs notifier deliver            send what is due now (retries included)\n"
	"URLs must be https://, or http:// to a loopback host. The HMAC secret of a generic\n"
	"target is read at delivery time from the environment variable named by -secret-env.\n"
	"A header value env:NAME or file:/path is read at delivery time too and never stored;\n"
	"a credential-looking header (Authorization, *-Token, *-Key...) given in clear is refused\n"
	"unless -allow-literal-secret (it would be stored in the database).\n";

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

static json_object *json_target(const fangs_notifier_target *t)
{
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "url", json_object_new_string(t->url));
	json_object_object_add(o, "template", json_object_new_string(t->template_name));
	json_object_object_add(o, "enabled", json_object_new_boolean(t->enabled));
	json_object_object_add(o, "min_severity", json_object_new_string(fangs_severity_name(t->min_severity)));
	json_object_object_add(o, "secret_env", json_str_or_null(t->secret_env));
	/* Header values are often credentials: only their names are shown. */
	for (size_t i = 0; i < t->n_headers; i++)
		json_object_object_add(h, t->headers[i].name, json_object_new_string("(hidden)"));
	json_object_object_add(o, "headers", h);
	json_object_object_add(o, "created_ns", json_object_new_int64(t->created_ns));
	return o;
}

static json_object *json_notification(const fangs_notification *n)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "notifier", json_str_or_null(n->notifier_name));
	json_object_object_add(o, "run_id", json_str_or_null(n->run_id));
	json_object_object_add(o, "attempt", json_object_new_int(n->attempt));
	json_object_object_add(o, "status", json_object_new_string(fangs_notification_status_name(n->status)));
	json_object_object_add(o, "http_status", n->http_status ? json_object_new_int(n->http_status) : NULL);
	json_object_object_add(o, "error", json_str_or_null(n->error));
	json_object_object_add(o, "next_attempt_ns", n->next_attempt_ns ? json_object_new_int64(n->next_attempt_ns) : NULL);
	json_object_object_add(o, "time_ns", json_object_new_int64(n->created_ns));
	return o;
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

static int notifier_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},         {"url", required_argument, NULL, 'u'},
		{"template", required_argument, NULL, 't'},     {"min-severity", required_argument, NULL, 's'},
		{"secret-env", required_argument, NULL, 'e'},   {"header", required_argument, NULL, 'H'},
		{"disabled", no_argument, NULL, 'd'},           {"help", no_argument, NULL, 'h'},
		{"allow-literal-secret", no_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	fangs_notifier_target t = {0};
	fangs_storage *st;
	int c, rc = 0, allow_literal = 0;

	t.enabled = 1;
	/* info is what a release ships (content_changed): shown, not pushed */
	t.min_severity = FANGS_SEV_LOW;
	while (rc == 0 && (c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		char **slot = NULL;
		switch (c) {
		case 'n': slot = &t.name; break;
		case 'u': slot = &t.url; break;
		case 't': slot = &t.template_name; break;
		case 'e': slot = &t.secret_env; break;
		case 's':
			if (fangs_severity_parse(optarg, &t.min_severity))
				rc = cli_usage_error("-min-severity: %s", fangs_error_last());
			break;
		case 'H': rc = add_header_arg(&t, optarg); break;
		case 'd': t.enabled = 0; break;
		case 'L': allow_literal = 1; break;
		case 'h': fputs(notifier_usage, stdout); fangs_notifier_target_clear(&t); return CLI_EXIT_OK;
		default: rc = CLI_EXIT_USAGE; fputs(notifier_usage, stderr); break;
		}
		if (slot) {
			free(*slot);
			if (!(*slot = strdup(optarg)))
				rc = cli_fail("notifier add", FANGS_ENOMEM);
		}
	}
	if (rc == 0 && optind != argc)
		rc = cli_usage_error("unexpected argument '%s'", argv[optind]);
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
			fprintf(stderr, "fangs: WARNING: header %s is stored in clear in the database"
					" (-allow-literal-secret)\n",
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
		json_print(json_target(&t));
	else
		printf("notifier %s added: %s (%s, %s and above%s)\n", tx(t.name), tx(t.url), txd(t.template_name, "-"),
		       fangs_severity_name(t.min_severity), t.enabled ? "" : ", disabled");
	if (t.secret_env && !getenv(t.secret_env))
		print_error("note: %s is not set here; the process that delivers needs it", t.secret_env);
	fangs_notifier_target_clear(&t);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}

static int notifier_list(cli_ctx *ctx, int argc, char **argv)
{
	fangs_notifier_target_list list = {0};
	fangs_storage *st;
	int rc;
	if (argc != 1)
		return cli_usage_error("usage: fangs notifier list");
	(void)argv;
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_notifier_list(st, &list))) {
		fangs_storage_free(st);
		return cli_fail("notifier list", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < list.count; i++)
			json_object_array_add(arr, json_target(&list.items[i]));
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

static int notifier_remove(cli_ctx *ctx, int argc, char **argv)
{
	fangs_storage *st;
	int rc;
	if (argc != 2 || cli_is_help(argv[1]))
		return cli_usage_error("usage: fangs notifier remove NAME");
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

static int notifier_test(cli_ctx *ctx, int argc, char **argv)
{
	fangs_notifier_options o;
	fangs_notifier_result res = {0};
	fangs_notifier *n = NULL;
	fangs_storage *st;
	int rc;

	if (argc != 2 || cli_is_help(argv[1]))
		return cli_usage_error("usage: fangs notifier test NAME");
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

static int notifier_history(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"run", required_argument, NULL, 'r'},   {"name", required_argument, NULL, 'n'},
		{"limit", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	fangs_notification_list list = {0};
	fangs_storage *st;
	char *end;
	int c, rc;

	while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': f.run_id = optarg; break;
		case 'n': f.notifier = optarg; break;
		case 'l':
			f.limit = strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				return cli_usage_error("-limit needs a number");
			break;
		case 'h': fputs(notifier_usage, stdout); return CLI_EXIT_OK;
		default: fputs(notifier_usage, stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_storage_notification_list(st, &f, &list))) {
		fangs_storage_free(st);
		return cli_fail("notifier history", rc);
	}
	if (ctx->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < list.count; i++)
			json_object_array_add(arr, json_notification(&list.items[i]));
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

static int notifier_deliver(cli_ctx *ctx, int argc, char **argv)
{
	fangs_notifier_stats s = {0};
	fangs_storage *st;
	int rc;
	if (argc != 1)
		return cli_usage_error("usage: fangs notifier deliver");
	(void)argv;
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
		printf("%zu attempted: %zu sent, %zu to retry, %zu failed\n", s.attempted, s.sent, s.retrying, s.failed);
	}
	return CLI_EXIT_OK;
}

void cli_notify_run(cli_ctx *ctx, fangs_storage *st, const char *run_id)
{
	fangs_notifier_options o;
	fangs_notifier_stats s = {0};
	fangs_notifier *n = NULL;
	size_t queued = 0;
	int rc;

	options_from_config(ctx, st, &o);
	if ((rc = fangs_notifier_new(&n, &o)) || (rc = fangs_notifier_enqueue_run(n, run_id, &queued)) ||
	    (queued && (rc = fangs_notifier_deliver_due(n, 0, &s))))
		print_error("notifier: %s", fangs_error_last());
	else if (queued && !ctx->json)
		fprintf(stderr, "fangs: notified %zu of %zu target%s%s\n", s.sent, queued, queued == 1 ? "" : "s",
			s.retrying ? " (the rest is retried by `fangs notifier deliver`)" : "");
	fangs_notifier_free(n);
}

int cmd_notifier(cli_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		cli_cmd_fn fn;
	} subs[] = {
		{"add", notifier_add},         {"list", notifier_list},       {"remove", notifier_remove},
		{"test", notifier_test},       {"history", notifier_history}, {"deliver", notifier_deliver},
	};
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(notifier_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(ctx, argc - 1, argv + 1);
	return cli_usage_error("unknown notifier command '%s' (see fangs notifier --help)", argv[1]);
}
