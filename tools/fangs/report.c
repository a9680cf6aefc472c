/*
 * tools/fangs/report.c - the report model, where its findings point in the
 * project's files, and the human, JSON and GitHub Actions writers (the
 * SARIF, GitLab and JUnit ones are in report_formats.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "output.h"
#include "report.h"
#include "report_internal.h"

static void oom(void)
{
	perror("fangs");
	exit(1);
}

static char *xstrdup_or_null(const char *s)
{
	char *d;
	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		oom();
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	if (!(p = realloc(p, n ? n : 1)))
		oom();
	return p;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void report_init(report *r)
{
	memset(r, 0, sizeof(*r));
	r->tool_version = xstrdup_or_null(fangs_version());
	r->manifest = xstrdup_or_null("package.json");
	r->command = xstrdup_or_null("scan");
	r->fail_on = FANGS_SEV_HIGH;
	r->started_ns = now_ns();
}

void report_set(char **field, const char *value)
{
	char *v = xstrdup_or_null(value);
	free(*field);
	*field = v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void item_clear(report_item *it)
{
	free(it->name);
	free(it->version);
	free(it->previous_version);
	free_strv(it->path, it->n_path);
	free(it->lock_key);
	free_strv(it->scripts, it->n_scripts);
	free(it->run_id);
	free(it->reason);
	fangs_finding_list_free(&it->findings);
}

void report_clear(report *r)
{
	for (size_t i = 0; i < r->count; i++)
		item_clear(&r->items[i]);
	free(r->items);
	free(r->tool_version);
	free(r->project_dir);
	free(r->manifest);
	free(r->lockfile);
	free(r->command);
	memset(r, 0, sizeof(*r));
}

report_item *report_add(report *r, const char *name, const char *version)
{
	report_item *it;
	if (r->count == r->capacity) {
		r->capacity = r->capacity ? r->capacity * 2 : 8;
		r->items = xrealloc(r->items, r->capacity * sizeof(*r->items));
	}
	it = &r->items[r->count++];
	memset(it, 0, sizeof(*it));
	it->name = xstrdup_or_null(name);
	it->version = xstrdup_or_null(version);
	return it;
}

void report_item_set_path(report_item *it, const char *const *names, size_t n)
{
	free_strv(it->path, it->n_path);
	it->path = n ? xrealloc(NULL, n * sizeof(char *)) : NULL;
	for (size_t i = 0; i < n; i++)
		it->path[i] = xstrdup_or_null(names[i] ? names[i] : "?");
	it->n_path = n;
}

void report_item_add_script(report_item *it, const char *script)
{
	it->scripts = xrealloc(it->scripts, (it->n_scripts + 1) * sizeof(char *));
	it->scripts[it->n_scripts++] = xstrdup_or_null(script ? script : "?");
}

void report_item_take_findings(report_item *it, fangs_finding_list *fl)
{
	fangs_finding_list_free(&it->findings);
	it->findings = *fl;
	memset(fl, 0, sizeof(*fl));
}

report_item *report_add_run(report *r, const char *name, const char *version, const char *run_id,
			    fangs_baseline_action action, const char *reason, fangs_finding_list *fl)
{
	report_item *it = report_add(r, name, version);
	const char *path[1] = {name};
	report_item_set_path(it, path, 1);
	report_set(&it->run_id, run_id);
	report_set(&it->reason, reason);
	switch (action) {
	case FANGS_BASELINE_SEEDED:
		it->status = REPORT_FIRST_SIGHT;
		break;
	case FANGS_BASELINE_EXCLUDED:
		it->status = REPORT_INSTALL_FAILED;
		break;
	case FANGS_BASELINE_PENDING:
		it->status = fl->n_deviations ? REPORT_NEW_BEHAVIOUR : REPORT_SCANNED;
		break;
	case FANGS_BASELINE_NONE:
	case FANGS_BASELINE_JOINED:
		it->status = fl->count ? REPORT_SCANNED : REPORT_UNCHANGED;
		break;
	}
	/* the lifecycle scripts seen acting, each once */
	for (size_t i = 0; i < fl->count; i++) {
		const fangs_origin *o = &fl->items[i].origin;
		int seen = 0;
		if (!o->script || (o->package && name && strcmp(o->package, name)))
			continue;
		for (size_t j = 0; j < it->n_scripts; j++)
			seen |= !strcmp(it->scripts[j], o->script);
		if (!seen)
			report_item_add_script(it, o->script);
	}
	report_item_take_findings(it, fl);
	return it;
}

int report_max_severity(const report *r)
{
	int max = -1;
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].findings.count && (int)r->items[i].findings.items[0].severity > max)
			max = (int)r->items[i].findings.items[0].severity; /* most severe first */
	return max;
}

int report_fails(const report *r)
{
	return report_max_severity(r) >= (int)r->fail_on;
}

static const char *const format_names[] = {"human", "json", "sarif", "gitlab", "junit", "github"};
_Static_assert(sizeof(format_names) / sizeof(format_names[0]) == REPORT_FORMAT_COUNT, "a name per format");

static const char *const status_names[] = {"scanned", "unchanged", "new_behaviour", "first_sight", "install_failed"};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == REPORT_STATUS_COUNT, "a name per status");

static const char *const approval_names[] = {"unknown", "approved", "not_approved"};
_Static_assert(sizeof(approval_names) / sizeof(approval_names[0]) == REPORT_NOT_APPROVED + 1, "a name per approval");

const char *report_format_name(report_format f)
{
	return (unsigned)f < REPORT_FORMAT_COUNT ? format_names[f] : "unknown";
}

int report_format_parse(const char *name, report_format *out)
{
	for (size_t i = 0; name && i < REPORT_FORMAT_COUNT; i++)
		if (!strcmp(name, format_names[i])) {
			*out = (report_format)i;
			return 0;
		}
	return -1;
}

const char *report_status_name(report_status s)
{
	return (unsigned)s < REPORT_STATUS_COUNT ? status_names[s] : "unknown";
}

const char *report_approval_name(report_approval a)
{
	return (unsigned)a <= REPORT_NOT_APPROVED ? approval_names[a] : "unknown";
}

/* ---- text ------------------------------------------------------------------ */

void sb_printf(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->cap ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			oom();
		if ((size_t)n < room)
			break;
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	b->len += (size_t)n;
}

char *sb_take(strbuf *b)
{
	char *s = b->s ? b->s : xstrdup_or_null("");
	memset(b, 0, sizeof(*b));
	return s;
}

const char *severity_title(fangs_severity s)
{
	static const char *const t[] = {"Info", "Low", "Medium", "High", "Critical"};
	return (unsigned)s <= FANGS_SEV_CRITICAL ? t[s] : "Unknown";
}

/* "app > left > palette", the dependency path as shown (escaped). */
static void put_path(strbuf *b, const report_item *it)
{
	for (size_t i = 0; i < it->n_path; i++)
		sb_printf(b, "%s%s", i ? " > " : "", tx(it->path[i]));
}

char *item_title(const report_item *it)
{
	strbuf b = {0};
	sb_printf(&b, "%s@%s", txd(it->name, "?"), txd(it->version, "?"));
	if (it->previous_version)
		sb_printf(&b, " (was %s)", tx(it->previous_version));
	return sb_take(&b);
}

char *item_context(const report_item *it)
{
	strbuf b = {0};
	sb_printf(&b, "%s@%s", txd(it->name, "?"), txd(it->version, "?"));
	if (it->previous_version)
		sb_printf(&b, " (was %s)", tx(it->previous_version));
	if (it->n_path > 1) {
		sb_printf(&b, ", dependency path ");
		put_path(&b, it);
	} else if (it->n_path == 1) {
		sb_printf(&b, ", a direct dependency");
	}
	if (it->n_scripts) {
		sb_printf(&b, ", scripts ");
		for (size_t i = 0; i < it->n_scripts; i++)
			sb_printf(&b, "%s%s", i ? ", " : "", tx(it->scripts[i]));
	}
	return sb_take(&b);
}

char *finding_labels(const fangs_finding *fi)
{
	strbuf b = {0};
	for (size_t i = 0; i < fi->n_labels; i++)
		sb_printf(&b, "%s%s", i ? " + " : "", tx(fi->labels[i]));
	if (!fi->n_labels)
		sb_printf(&b, "%s", txd(fi->kind, "?"));
	return sb_take(&b);
}

char *finding_message(const report_item *it, const fangs_finding *fi)
{
	strbuf b = {0};
	char *ctx = item_context(it), *labels = finding_labels(fi);
	sb_printf(&b, "[%s] %s: %s", fangs_severity_name(fi->severity), labels, txd(fi->value, "-"));
	if (fi->network && fi->n_values > 1) {
		sb_printf(&b, " (");
		for (size_t j = 0; j < fi->n_values && j < 8; j++)
			sb_printf(&b, "%s%s", j ? ", " : "", tx(fi->values[j]));
		if (fi->n_values > 8)
			sb_printf(&b, ", +%zu more", fi->n_values - 8);
		sb_printf(&b, ")");
	}
	sb_printf(&b, " in %s", ctx);
	if (fi->origin.script || fi->origin.package) {
		char ob[1024];
		sb_printf(&b, "; by %s", fmt_origin(&fi->origin, ob, sizeof(ob)));
	}
	sb_printf(&b, " (%s)", fangs_actor_name(fi->actor));
	if (fi->description) {
		/* a content summary's description has a line a file: one line here */
		char *d = fangs_text_escape_dup(fi->description);
		if (!d)
			oom();
		sb_printf(&b, ". %s", d);
		free(d);
	}
	if (it->run_id)
		sb_printf(&b, " (run %s)", tx(it->run_id));
	free(ctx);
	free(labels);
	return sb_take(&b);
}

/* ---- locations ------------------------------------------------------------- */

char *report_file_path(const report *r, const char *file)
{
	const char *dir = r->project_dir;
	char cwd[PATH_MAX];
	strbuf b = {0};
	size_t n;
	/* CI tools want paths relative to the checkout: an absolute project
	 * directory under this one is shown relative to it */
	if (dir && dir[0] == '/' && getcwd(cwd, sizeof(cwd)) && (n = strlen(cwd)) > 1 && !strncmp(dir, cwd, n) &&
	    (dir[n] == '/' || !dir[n])) {
		dir += n;
		while (*dir == '/')
			dir++;
	}
	while (dir && dir[0] == '.' && dir[1] == '/')
		for (dir += 2; *dir == '/';)
			dir++;
	if (!dir || !*dir || !strcmp(dir, "."))
		return xstrdup_or_null(file);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	sb_printf(&b, "%.*s/%s", (int)n, dir, file);
	return sb_take(&b);
}

/* The file's text; NULL when it cannot be read (or is over 64 MiB). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if (cap > (64u << 20)) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = xrealloc(buf, cap + 1);
		}
		if (!(n = fread(buf + len, 1, cap - len, f)))
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The 1-based number of the first line, at or after line `from`, holding
 * "KEY" followed (after blanks) by ':'; 0 when none. */
static int key_line(const char *text, const char *key, int from)
{
	size_t kl = strlen(key);
	int line = 1;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			continue;
		}
		if (line < from || *p != '"' || strncmp(p + 1, key, kl) || p[1 + kl] != '"')
			continue;
		{
			const char *q = p + 2 + kl;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == ':')
				return line;
		}
	}
	return 0;
}

/* The first line after `from` that holds `needle`; 0 when none. */
static int line_of(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle);
	int line = 1;
	if (!hit)
		return 0;
	for (const char *p = text; p < hit; p++)
		line += *p == '\n';
	return line;
}

void report_locate(const report *r, const report_item *it, report_location *out)
{
	char *text;
	memset(out, 0, sizeof(*out));
	out->line = 1;
	if (r->lockfile && it->n_path) {
		char *path = report_file_path(r, r->lockfile), *key = NULL;
		int line = 0;
		if ((text = slurp(path))) {
			if (!it->lock_key) {
				strbuf b = {0};
				sb_printf(&b, "node_modules/%s", it->name ? it->name : "");
				key = sb_take(&b);
			}
			line = key_line(text, it->lock_key ? it->lock_key : key, 1);
			free(text);
			free(key);
		}
		if (line > 0) {
			out->path = path;
			out->line = line;
			out->in_lockfile = 1;
			return;
		}
		free(path);
	}
	if (r->manifest) {
		out->path = report_file_path(r, r->manifest);
		if ((text = slurp(out->path))) {
			int line = 0;
			if (it->n_path) {
				/* the top-level dependency, in a dependencies block */
				int from = line_of(text, "ependencies\"");
				if (from > 0)
					line = key_line(text, it->path[0], from);
			} else {
				line = key_line(text, "name", 1);
			}
			if (line > 0)
				out->line = line;
			free(text);
		}
		return;
	}
	out->path = report_file_path(r, r->lockfile ? r->lockfile : "package.json");
}

/* ---- human ----------------------------------------------------------------- */

static const char *status_words(report_status s)
{
	switch (s) {
	case REPORT_SCANNED:
		return "scanned";
	case REPORT_UNCHANGED:
		return "unchanged behaviour";
	case REPORT_NEW_BEHAVIOUR:
		return "new behaviour";
	case REPORT_FIRST_SIGHT:
		return "first sight";
	case REPORT_INSTALL_FAILED:
		return "install failed";
	}
	return "?";
}

static int write_human(FILE *f, const report *r)
{
	size_t nfind = 0;
	int max = report_max_severity(r);
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		char *title = item_title(it);
		nfind += it->findings.count;
		fprintf(f, "%s  %s", title, status_words(it->status));
		if (it->approval != REPORT_APPROVAL_UNKNOWN)
			fprintf(f, ", scripts %s", it->approval == REPORT_APPROVED ? "approved" : "not approved");
		if (it->run_id)
			fprintf(f, "  (run %s)", tx(it->run_id));
		fputc('\n', f);
		free(title);
		if (it->n_path > 1) {
			strbuf b = {0};
			put_path(&b, it);
			fprintf(f, "  path: %s\n", b.s);
			free(b.s);
		}
		if (it->n_scripts) {
			fprintf(f, "  scripts:");
			for (size_t j = 0; j < it->n_scripts; j++)
				fprintf(f, " %s", tx(it->scripts[j]));
			fputc('\n', f);
		}
		if (it->reason)
			print_lines(f, "  note: ", "        ", it->reason);
		print_findings(f, r->storage, NULL, NULL, &it->findings);
	}
	fprintf(f, "%zu dependenc%s, %zu finding%s", r->count, r->count == 1 ? "y" : "ies", nfind,
		nfind == 1 ? "" : "s");
	if (max >= 0)
		fprintf(f, ", highest %s%s", fangs_severity_name((fangs_severity)max),
			report_fails(r) ? " (fails)" : "");
	fputc('\n', f);
	return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_object *strv_json(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int report_json_out(FILE *f, json_object *doc)
{
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	/* json-c copies a string's bytes as they are: made valid UTF-8 here */
	char *clean = fangs_utf8_clean(s, strlen(s), NULL);
	int rc;
	if (!clean)
		oom();
	rc = fprintf(f, "%s\n", clean) < 0 ? -1 : 0;
	free(clean);
	json_object_put(doc);
	return rc;
}

static int write_json(FILE *f, const report *r)
{
	json_object *o = json_object_new_object(), *items = json_object_new_array();
	int max = report_max_severity(r);
	json_object_object_add(o, "tool", json_object_new_string("fangs"));
	json_object_object_add(o, "version", json_str_or_null(r->tool_version));
	json_object_object_add(o, "command", json_str_or_null(r->command));
	json_object_object_add(o, "project", json_str_or_null(r->project_dir));
	json_object_object_add(o, "manifest", json_str_or_null(r->manifest));
	json_object_object_add(o, "lockfile", json_str_or_null(r->lockfile));
	json_object_object_add(o, "fail_on", json_object_new_string(fangs_severity_name(r->fail_on)));
	json_object_object_add(o, "max_severity",
			       max >= 0 ? json_object_new_string(fangs_severity_name((fangs_severity)max)) : NULL);
	json_object_object_add(o, "fails", json_object_new_boolean(report_fails(r)));
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		json_object *io = json_object_new_object();
		report_location loc;
		json_object_object_add(io, "name", json_str_or_null(it->name));
		json_object_object_add(io, "version", json_str_or_null(it->version));
		json_object_object_add(io, "previous_version", json_str_or_null(it->previous_version));
		json_object_object_add(io, "path", strv_json(it->path, it->n_path));
		json_object_object_add(io, "lock_key", json_str_or_null(it->lock_key));
		json_object_object_add(io, "scripts", strv_json(it->scripts, it->n_scripts));
		json_object_object_add(io, "run_id", json_str_or_null(it->run_id));
		json_object_object_add(io, "status", json_object_new_string(report_status_name(it->status)));
		json_object_object_add(io, "scripts_approved",
				       json_object_new_string(report_approval_name(it->approval)));
		json_object_object_add(io, "reason", json_str_or_null(it->reason));
		report_locate(r, it, &loc);
		{
			json_object *lo = json_object_new_object();
			json_object_object_add(lo, "file", json_object_new_string(loc.path));
			json_object_object_add(lo, "line", json_object_new_int(loc.line));
			json_object_object_add(io, "location", lo);
		}
		free(loc.path);
		fangs_json_add_findings(io, &it->findings);
		json_object_array_add(items, io);
	}
	json_object_object_add(o, "items", items);
	return report_json_out(f, o);
}

/* ---- GitHub Actions workflow commands -------------------------------------- */

/* A workflow command's message ("data") or property value, escaped as the
 * runner unescapes it: '%', CR and LF always, and in a property ':' and ','
 * too. The text went through fangs_text_escape before (no control
 * characters, valid UTF-8); this keeps it on its line and in its field. */
static void gh_put(FILE *f, const char *s, int property)
{
	for (; *s; s++) {
		switch (*s) {
		case '%':
			fputs("%25", f);
			break;
		case '\r':
			fputs("%0D", f);
			break;
		case '\n':
			fputs("%0A", f);
			break;
		case ':':
			fputs(property ? "%3A" : ":", f);
			break;
		case ',':
			fputs(property ? "%2C" : ",", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* error at or above --fail-on, warning from medium, notice below. */
static const char *gh_level(const report *r, fangs_severity s)
{
	if (s >= r->fail_on)
		return "error";
	return s >= FANGS_SEV_MEDIUM ? "warning" : "notice";
}

static void gh_command(FILE *f, const char *level, const report_location *loc, const char *title, const char *msg)
{
	fprintf(f, "::%s file=", level);
	gh_put(f, loc->path, 1);
	fprintf(f, ",line=%d,title=", loc->line);
	gh_put(f, title, 1);
	fputs("::", f);
	gh_put(f, msg, 0);
	fputc('\n', f);
}

static int write_github(FILE *f, const report *r)
{
	size_t nfind = 0;
	for (size_t i = 0; i < r->count; i++) {
		const report_item *it = &r->items[i];
		report_location loc;
		char *title = item_title(it);
		report_locate(r, it, &loc);
		for (size_t j = 0; j < it->findings.count; j++) {
			const fangs_finding *fi = &it->findings.items[j];
			char *msg = finding_message(it, fi), *labels = finding_labels(fi);
			strbuf t = {0};
			sb_printf(&t, "fangs %s: %s %s", fangs_severity_name(fi->severity), title, labels);
			gh_command(f, gh_level(r, fi->severity), &loc, t.s, msg);
			free(t.s);
			free(msg);
			free(labels);
			nfind++;
		}
		if (it->status == REPORT_INSTALL_FAILED) {
			strbuf t = {0}, m = {0};
			char *ctx = item_context(it);
			sb_printf(&t, "fangs: %s install failed", title);
			sb_printf(&m, "The install of %s failed: %s", ctx, txd(it->reason, "-"));
			gh_command(f, "warning", &loc, t.s, m.s);
			free(t.s);
			free(m.s);
			free(ctx);
		}
		free(title);
		free(loc.path);
	}
	/* a closing notice: what was judged, even when nothing was found */
	{
		int max = report_max_severity(r);
		fprintf(f, "::notice title=fangs::fangs %s: %zu dependenc%s, %zu finding%s", txd(r->command, "scan"),
			r->count, r->count == 1 ? "y" : "ies", nfind, nfind == 1 ? "" : "s");
		if (max >= 0)
			fprintf(f, ", highest %s%s", fangs_severity_name((fangs_severity)max),
				report_fails(r) ? " (fails)" : "");
		fputc('\n', f);
	}
	return 0;
}

int report_write(FILE *f, report_format fmt, const report *r)
{
	int rc = -1;
	switch (fmt) {
	case REPORT_HUMAN:
		rc = write_human(f, r);
		break;
	case REPORT_JSON:
		rc = write_json(f, r);
		break;
	case REPORT_SARIF:
		rc = report_write_sarif(f, r);
		break;
	case REPORT_GITLAB:
		rc = report_write_gitlab(f, r);
		break;
	case REPORT_JUNIT:
		rc = report_write_junit(f, r);
		break;
	case REPORT_GITHUB:
		rc = write_github(f, r);
		break;
	}
	if (rc == 0 && (fflush(f) || ferror(f)))
		rc = -1;
	if (rc && !errno)
		errno = EIO;
	return rc;
}

int report_emit(const char *path, report_format fmt, const report *r)
{
	FILE *f = stdout;
	int rc;
	if (path && strcmp(path, "-") && !(f = fopen(path, "w"))) {
		print_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	rc = report_write(f, fmt, r);
	if (f != stdout && fclose(f) && !rc)
		rc = -1;
	if (rc)
		print_error("cannot write the report%s%s: %s", path ? " to " : "", path ? path : "", strerror(errno));
	return rc;
}
