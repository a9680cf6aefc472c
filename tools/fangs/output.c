/*
 * tools/fangs/output.c - tables and JSON renderings.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"

#define TX_SLOTS 32

static __thread char *tx_slot[TX_SLOTS];
static __thread unsigned tx_next;

static void oom(void)
{
	perror("fangs");
	exit(1);
}

const char *tx(const char *s)
{
	char **slot;
	if (!s)
		return NULL;
	slot = &tx_slot[tx_next++ % TX_SLOTS];
	free(*slot);
	if (!(*slot = fangs_text_escape_dup(s)))
		oom();
	return *slot;
}

const char *txd(const char *s, const char *def)
{
	return s ? tx(s) : def;
}

void print_lines(FILE *f, const char *first, const char *indent, const char *text)
{
	for (const char *l = text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		size_t len, need;
		char *line;
		nl = strchr(l, '\n');
		len = nl ? (size_t)(nl - l) : strlen(l);
		need = fangs_text_escape(NULL, 0, l, len);
		if (!(line = malloc(need + 1)))
			oom();
		fangs_text_escape(line, need + 1, l, len);
		fprintf(f, "%s%s\n", l == text ? first : indent, line);
		free(line);
	}
}

void print_error(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		oom();
	va_end(ap);
	fprintf(stderr, "fangs: %s\n", tx(msg));
	free(msg);
}

struct table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **cells; /* nrows * ncols, row 0 = headers */
};

static char *xstrdup(const char *s)
{
	char *d = s ? fangs_text_escape_dup(s) : strdup("-");
	if (!d)
		oom();
	return d;
}

static void table_add(table *t, va_list ap)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (!t->cells) {
			perror("fangs");
			exit(1);
		}
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(va_arg(ap, const char *));
	t->nrows++;
}

table *table_new(size_t ncols, ...)
{
	table *t = calloc(1, sizeof(*t));
	va_list ap;
	if (!t) {
		perror("fangs");
		exit(1);
	}
	t->ncols = ncols;
	va_start(ap, ncols);
	table_add(t, ap);
	va_end(ap);
	return t;
}

void table_row(table *t, ...)
{
	va_list ap;
	va_start(ap, t);
	table_add(t, ap);
	va_end(ap);
}

void table_print(table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof(size_t));
	if (!w) {
		perror("fangs");
		exit(1);
	}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(w);
	free(t->cells);
	free(t);
}

void json_print(json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	/* json-c copies a string's bytes as they are: made valid UTF-8 here */
	char *clean = fangs_utf8_clean(s, strlen(s), NULL);
	if (!clean)
		oom();
	puts(clean);
	free(clean);
	json_object_put(obj);
}

json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

const char *fmt_time(int64_t ns, char *buf, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	if (ns <= 0) {
		snprintf(buf, cap, "-");
		return buf;
	}
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

const char *fmt_duration(int64_t ns, char *buf, size_t cap)
{
	if (ns <= 0)
		snprintf(buf, cap, "-");
	else if (ns < 1000000)
		snprintf(buf, cap, "%lldus", (long long)(ns / 1000));
	else if (ns < 10000000000LL)
		snprintf(buf, cap, "%.0fms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.1fs", (double)ns / 1e9);
	return buf;
}

const char *fmt_origin(const fangs_origin *o, char *buf, size_t cap)
{
	if (!o->package && !o->script) {
		snprintf(buf, cap, "npm");
		return buf;
	}
	snprintf(buf, cap, "%s%s%s %s%s%s", txd(o->package, "?"), o->version ? "@" : "", txd(o->version, ""),
		 txd(o->script, "script"), o->command ? ": " : "", txd(o->command, ""));
	return buf;
}

const char *fmt_event(const fangs_event *ev, char *buf, size_t cap)
{
	char raw[4096];
	fangs_event_summary(ev, raw, sizeof(raw));
	fangs_text_escape(buf, cap, raw, strlen(raw));
	return buf;
}

/* Evidence events from storage, or from a recording in memory (ids = line numbers). */
static int evidence_get(fangs_storage *st, const fangs_event_list *mem, const int64_t *ids, size_t n,
			fangs_event_list *out)
{
	if (st)
		return fangs_storage_events_get(st, ids, n, out);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < mem->count; j++) {
			fangs_event *e;
			if (mem->items[j].id != ids[i])
				continue;
			if (!(e = fangs_event_list_push(out)) || fangs_event_copy(e, &mem->items[j]))
				return FANGS_ENOMEM;
			break;
		}
	}
	return 0;
}

int group_findings(fangs_storage *st, const fangs_event_list *mem, const fangs_deviation_list *devs,
		   fangs_finding_list *out)
{
	fangs_findings_options o = FANGS_FINDINGS_OPTIONS_INIT;
	if (st)
		return fangs_findings_load(st, devs, &o, out);
	if (mem) {
		o.events = mem->items;
		o.n_events = mem->count;
	}
	return fangs_findings_group(devs, &o, out);
}

/* "rule:cred-read-by-script + fs_cred_read" into buf. */
static const char *fmt_labels(const fangs_finding *fi, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < fi->n_labels && used + 1 < cap; i++) {
		int w = snprintf(buf + used, cap - used, "%s%s", i ? " + " : "", tx(fi->labels[i]));
		if (w < 0)
			break;
		used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
	}
	return buf;
}

/* "names" of a domain, "values" when addresses are among them. */
static const char *values_word(const fangs_finding *fi)
{
	if (!fi->domain)
		return "values";
	for (size_t i = 0; i < fi->n_values; i++)
		if (strchr(fi->values[i], ':'))
			return "values";
	return "names";
}

/* Names listed under a finding; the rest are counted. */
#define VALUES_SHOWN 8

void print_findings(FILE *f, fangs_storage *st, const fangs_event_list *mem, const fangs_deviation_list *devs,
		    const fangs_finding_list *fl)
{
	char ob[1024], eb[1024], lb[512];
	if (!fl->count)
		return;
	fprintf(f, "%zu finding%s (%zu deviation%s from the baseline, %zu rule hit%s):\n", fl->count,
		fl->count == 1 ? "" : "s", fl->n_deviations, fl->n_deviations == 1 ? "" : "s", fl->n_rule_hits,
		fl->n_rule_hits == 1 ? "" : "s");
	for (size_t i = 0; i < fl->count; i++) {
		const fangs_finding *fi = &fl->items[i];
		fprintf(f, "  [%-8s] %-20s %s", fangs_severity_name(fi->severity), fmt_labels(fi, lb, sizeof(lb)),
			txd(fi->value, ""));
		if (fi->network && fi->n_values > 1)
			fprintf(f, " (%zu %s)", fi->n_values, values_word(fi));
		fputc('\n', f);
		if (fi->network && fi->n_values > 1) {
			fprintf(f, "             %s: ", values_word(fi));
			for (size_t j = 0; j < fi->n_values && j < VALUES_SHOWN; j++)
				fprintf(f, "%s%s", j ? ", " : "", tx(fi->values[j]));
			if (fi->n_values > VALUES_SHOWN)
				fprintf(f, " (+%zu more)", fi->n_values - VALUES_SHOWN);
			fputc('\n', f);
		}
		/* a content summary's description is a line a file */
		print_lines(f, "             ", "             ", fi->description);
		fprintf(f, "             by %s (%s)\n", fmt_origin(&fi->origin, ob, sizeof(ob)),
			fangs_actor_name(fi->actor));
		if (fi->command && (!fi->origin.command || strcmp(fi->command, fi->origin.command)))
			fprintf(f, "             command: %s\n", tx(fi->command));
		if ((st || mem) && fi->n_evidence) {
			fangs_event_list evs = {0};
			size_t shown = fi->n_evidence < 3 ? fi->n_evidence : 3;
			if (evidence_get(st, mem, fi->evidence, shown, &evs) == 0) {
				for (size_t j = 0; j < evs.count; j++)
					fprintf(f, "             evidence #%lld: pid %d %s: %s\n",
						(long long)evs.items[j].id, evs.items[j].pid,
						txd(evs.items[j].comm, "?"), fmt_event(&evs.items[j], eb, sizeof(eb)));
				if (fi->n_evidence > shown)
					fprintf(f, "             (+%zu more evidence events)\n",
						fi->n_evidence - shown);
			}
			fangs_event_list_free(&evs);
		}
	}
}

fangs_severity findings_max_severity(const fangs_finding_list *fl)
{
	/* most severe first */
	return fl->count ? fl->items[0].severity : FANGS_SEV_INFO;
}

void fmt_counts(const fangs_finding_list *fl, char *buf, size_t cap)
{
	snprintf(buf, cap, "%zu finding%s (%zu deviation%s, %zu rule hit%s)", fl->count, fl->count == 1 ? "" : "s",
		 fl->n_deviations, fl->n_deviations == 1 ? "" : "s", fl->n_rule_hits, fl->n_rule_hits == 1 ? "" : "s");
}
