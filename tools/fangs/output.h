/*
 * tools/fangs/output.h - aligned tables and JSON renderings of records.
 */
#ifndef FANGS_TOOLS_OUTPUT_H
#define FANGS_TOOLS_OUTPUT_H

#include <fangs/analyze.h>
#include <fangs/fangs.h>
#include <fangs/findings.h>
#include <json-c/json.h>
#include <stdio.h>

/* Text from outside (names, versions, paths, command lines, output,
 * hostnames...) as it may be shown on a terminal: control characters,
 * escape sequences, bidirectional overrides and invalid UTF-8 shown as
 * \xNN / \u{NNNN} (fangs_text_escape), never acted on. NULL stays NULL.
 * The result lives until 32 more calls on this thread: use it in one print. */
const char *tx(const char *s);
/* tx() of `s`, or `def` (not escaped) when s is NULL. */
const char *txd(const char *s, const char *def);
/* Prints text of several lines, each escaped, the first after `first`, the
 * others after `indent`. */
void print_lines(FILE *f, const char *first, const char *indent, const char *text);
/* Prints "fangs: <message>" to stderr with the message escaped. */
void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct table table;

table *table_new(size_t ncols, ...); /* column headers */
void table_row(table *t, ...);       /* ncols strings (NULL prints "-"), shown escaped (tx) */
void table_print(table *t, FILE *f); /* prints and frees */

/* Prints a JSON value followed by a newline and releases it. */
void json_print(json_object *obj);

/* Records as JSON: fangs/encode.h (fangs_json_run, fangs_json_event...). */
json_object *json_str_or_null(const char *s);

/* "2026-11-23 15:04:05" (UTC) into buf. */
const char *fmt_time(int64_t ns, char *buf, size_t cap);
/* "1.234s" / "12ms" */
const char *fmt_duration(int64_t ns, char *buf, size_t cap);
/* "postinstall of left-pad@1.3.0" style origin; "npm" when none; escaped (tx). */
const char *fmt_origin(const fangs_origin *o, char *buf, size_t cap);
/* A one-line summary of an event (what it did), escaped (tx). */
const char *fmt_event(const fangs_event *ev, char *buf, size_t cap);

/* Groups `devs` into findings (fangs/findings.h), their evidence events from
 * `st`, or from `mem` when st is NULL (or none). */
int group_findings(fangs_storage *st, const fangs_event_list *mem, const fangs_deviation_list *devs,
		   fangs_finding_list *out);
/* The findings of `devs` (grouped by group_findings), most severe first,
 * under a count line; evidence from `st`, or from `mem` when st is NULL. */
void print_findings(FILE *f, fangs_storage *st, const fangs_event_list *mem, const fangs_deviation_list *devs,
		    const fangs_finding_list *fl);
fangs_severity findings_max_severity(const fangs_finding_list *fl);
/* "2 findings (1 deviation, 3 rule hits)" into buf. */
void fmt_counts(const fangs_finding_list *fl, char *buf, size_t cap);

#endif
