/*
 * notifier/render.c - what an attempt sends, rendered from the stored
 * payload: the generic JSON with its time, or a message for people.
 *
 * Every string of a finding comes from the package under watch, so in chat
 * messages each one is put in a code span (no markup of its own survives
 * there) and Discord is told to resolve no mentions.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "notifier/internal.h"

/* Findings shown in a chat message; the link leads to the rest. */
#define CHAT_SHOWN 10
/* Longest value or command shown in a chat message. */
#define CHAT_VALUE_MAX 200
/* Room for findings in one Slack section (3000 at most) and one Discord
 * embed description (4096), leaving room for the last lines and a link. */
#define CHAT_SLACK_MAX 2400
#define CHAT_DISCORD_MAX 3500

typedef struct chat_style {
	const char *bold; /* "*" (Slack mrkdwn) or "**" (Discord markdown) */
	int escape_angle; /* Slack: & < > are control characters even in code */
} chat_style;

static const chat_style slack_style = {"*", 1};
static const chat_style discord_style = {"**", 0};

const char *fangs__json_str(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t json_i64(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* `s` as a code span: backticks cannot be escaped inside one, so they
 * become quotes; long values are cut (on a UTF-8 boundary). */
static void code_span(fangs_buf *b, const chat_style *st, const char *s)
{
	size_t n = strlen(s), cut = n;
	if (cut > CHAT_VALUE_MAX) {
		cut = CHAT_VALUE_MAX;
		while (cut && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	fangs_buf_putc(b, '`');
	for (size_t i = 0; i < cut; i++) {
		char c = s[i];
		if (c == '`')
			fangs_buf_putc(b, '\'');
		else if ((unsigned char)c < 0x20)
			fangs_buf_putc(b, ' ');
		else if (st->escape_angle && c == '&')
			fangs_buf_puts(b, "&amp;");
		else if (st->escape_angle && c == '<')
			fangs_buf_puts(b, "&lt;");
		else if (st->escape_angle && c == '>')
			fangs_buf_puts(b, "&gt;");
		else
			fangs_buf_putc(b, c);
	}
	if (cut < n)
		fangs_buf_puts(b, "...");
	fangs_buf_putc(b, '`');
}

/* Messages stored before findings were grouped have only deviations. */
static bool has_findings(json_object *p)
{
	json_object *f;
	return json_object_object_get_ex(p, "findings", &f) && json_object_is_type(f, json_type_array);
}

static void headline(fangs_buf *b, const chat_style *st, json_object *p)
{
	int64_t count = json_i64(p, has_findings(p) ? "finding_count" : "deviation_count");
	char spec[512];
	snprintf(spec, sizeof(spec), "%s@%s", fangs__json_str(p, "package_name"), fangs__json_str(p, "version"));
	fangs_buf_printf(b, "%sfangs%s: ", st->bold, st->bold);
	code_span(b, st, spec);
	fangs_buf_printf(b, " did %lld new thing%s (highest severity: %s%s%s)", (long long)count, count == 1 ? "" : "s",
			 st->bold, fangs__json_str(p, "max_severity"), st->bold);
}

/* One finding: severity, kind and value; then who did it. */
static void finding_lines(fangs_buf *b, const chat_style *st, json_object *d)
{
	json_object *og = NULL;
	const char *sev = fangs__json_str(d, "severity"), *value = fangs__json_str(d, "value");
	const char *pkg, *ver, *script, *cmd;

	json_object *labels = NULL, *values = NULL;
	size_t n_labels, n_values;

	fangs_buf_printf(b, "%s%s%s ", st->bold, sev ? sev : "?", st->bold);
	json_object_object_get_ex(d, "labels", &labels);
	n_labels = labels && json_object_is_type(labels, json_type_array) ? json_object_array_length(labels) : 0;
	if (!n_labels)
		code_span(b, st, fangs__json_str(d, "kind") ? fangs__json_str(d, "kind") : "?");
	for (size_t i = 0; i < n_labels; i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(labels, i));
		if (i)
			fangs_buf_puts(b, " + ");
		code_span(b, st, l ? l : "?");
	}
	if (value) {
		fangs_buf_putc(b, ' ');
		code_span(b, st, value);
	}
	json_object_object_get_ex(d, "values", &values);
	n_values = values && json_object_is_type(values, json_type_array) ? json_object_array_length(values) : 0;
	if (fangs__json_str(d, "domain") && n_values > 1)
		fangs_buf_printf(b, " (%zu names)", n_values);
	json_object_object_get_ex(d, "origin", &og);
	pkg = fangs__json_str(og, "package");
	ver = fangs__json_str(og, "version");
	script = fangs__json_str(og, "script");
	cmd = fangs__json_str(og, "command");
	if (!cmd)
		cmd = fangs__json_str(d, "command");
	fangs_buf_puts(b, "\n    by ");
	if (!pkg && !script) {
		fangs_buf_puts(b, "npm itself");
	} else {
		char who[512];
		snprintf(who, sizeof(who), "%s%s%s", pkg ? pkg : "?", ver ? "@" : "", ver ? ver : "");
		code_span(b, st, script ? script : "script");
		fangs_buf_puts(b, " of ");
		code_span(b, st, who);
	}
	if (cmd) {
		fangs_buf_puts(b, ": ");
		code_span(b, st, cmd);
	}
	fangs_buf_putc(b, '\n');
}

/* The findings part of a chat message, and the line about the rest,
 * within `max_len` bytes: the services refuse longer texts (Slack: 3000
 * characters per section, Discord: 4096 per embed description). */
static void findings_text(fangs_buf *b, const chat_style *st, json_object *p, size_t max_len)
{
	json_object *devs = NULL;
	fangs_buf one = FANGS_BUF_INIT;
	size_t n, shown = 0;
	int grouped = has_findings(p);
	int64_t total = json_i64(p, grouped ? "finding_count" : "deviation_count");

	json_object_object_get_ex(p, grouped ? "findings" : "deviations", &devs);
	n = devs ? json_object_array_length(devs) : 0;
	for (size_t i = 0; i < n && i < CHAT_SHOWN; i++) {
		fangs_buf_reset(&one);
		finding_lines(&one, st, json_object_array_get_idx(devs, i));
		if (b->len + one.len > max_len)
			break;
		fangs_buf_put(b, one.data, one.len);
		shown++;
	}
	fangs_buf_free(&one);
	if (total > (int64_t)shown)
		fangs_buf_printf(b, "... and %lld more\n", (long long)(total - (int64_t)shown));
}

static json_object *text_obj(const char *type, const char *text)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "text", json_object_new_string(text));
	return o;
}

static json_object *section(const char *mrkdwn)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("section"));
	json_object_object_add(o, "text", text_obj("mrkdwn", mrkdwn));
	return o;
}

static json_object *render_slack(json_object *p)
{
	fangs_buf head = FANGS_BUF_INIT, body = FANGS_BUF_INIT;
	json_object *o = json_object_new_object(), *blocks = json_object_new_array();
	const char *url = fangs__json_str(p, "url");

	headline(&head, &slack_style, p);
	findings_text(&body, &slack_style, p, CHAT_SLACK_MAX);
	if (url)
		fangs_buf_printf(&body, "<%s|Open run %s>", url, fangs__json_str(p, "run_id"));
	else
		fangs_buf_printf(&body, "run `%s`", fangs__json_str(p, "run_id"));
	json_object_object_add(o, "text", json_object_new_string(head.data ? head.data : ""));
	json_object_array_add(blocks, section(head.data ? head.data : ""));
	json_object_array_add(blocks, section(body.data ? body.data : ""));
	json_object_object_add(o, "blocks", blocks);
	fangs_buf_free(&head);
	fangs_buf_free(&body);
	return o;
}

static int severity_color(const char *sev)
{
	fangs_severity s = FANGS_SEV_INFO;
	static const int colors[] = {0x95a5a6, 0x3498db, 0xf1c40f, 0xe67e22, 0xe74c3c};
	fangs_severity_parse(sev ? sev : "info", &s);
	return colors[s];
}

static json_object *render_discord(json_object *p)
{
	fangs_buf head = FANGS_BUF_INIT, body = FANGS_BUF_INIT;
	json_object *o = json_object_new_object(), *embeds = json_object_new_array(), *e = json_object_new_object();
	json_object *mentions = json_object_new_object(), *footer = json_object_new_object();
	const char *url = fangs__json_str(p, "url");
	char title[256];

	headline(&head, &discord_style, p);
	findings_text(&body, &discord_style, p, CHAT_DISCORD_MAX);
	snprintf(title, sizeof(title), "%.100s@%.60s: new behaviour", fangs__json_str(p, "package_name"),
		 fangs__json_str(p, "version"));
	json_object_object_add(o, "username", json_object_new_string("fangs"));
	json_object_object_add(o, "content", json_object_new_string(head.data ? head.data : ""));
	json_object_object_add(mentions, "parse", json_object_new_array());
	json_object_object_add(o, "allowed_mentions", mentions);
	json_object_object_add(e, "title", json_object_new_string(title));
	if (url)
		json_object_object_add(e, "url", json_object_new_string(url));
	json_object_object_add(e, "description", json_object_new_string(body.data ? body.data : ""));
	json_object_object_add(e, "color", json_object_new_int(severity_color(fangs__json_str(p, "max_severity"))));
	snprintf(title, sizeof(title), "run %.64s", fangs__json_str(p, "run_id"));
	json_object_object_add(footer, "text", json_object_new_string(title));
	json_object_object_add(e, "footer", footer);
	json_object_array_add(embeds, e);
	json_object_object_add(o, "embeds", embeds);
	fangs_buf_free(&head);
	fangs_buf_free(&body);
	return o;
}

int fangs__notify_render(fangs_notifier_template tpl, const char *payload, int64_t now_ns, char **out)
{
	json_object *p = json_tokener_parse(payload), *o;

	*out = NULL;
	if (!p || !json_object_is_type(p, json_type_object) || !fangs__json_str(p, "run_id") ||
	    !fangs__json_str(p, "package_name") || !fangs__json_str(p, "version")) {
		json_object_put(p);
		return fangs_error_set(FANGS_EPARSE, "notifier: the stored message is not a fangs payload");
	}
	o = p; /* generic, and an unknown template */
	switch (tpl) {
	case FANGS_NOTIFIER_SLACK:
		o = render_slack(p);
		json_object_put(p);
		break;
	case FANGS_NOTIFIER_DISCORD:
		o = render_discord(p);
		json_object_put(p);
		break;
	case FANGS_NOTIFIER_GENERIC:
		break;
	}
	/* Fresh on every attempt, so that a receiver refusing old messages
	 * still takes a late retry. */
	if (o == p)
		json_object_object_add(p, "time_unix_nano", json_object_new_int64(now_ns));
	*out = fangs__json_text(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	return *out ? 0 : FANGS_ENOMEM;
}
