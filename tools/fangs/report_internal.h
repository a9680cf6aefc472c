/*
 * tools/fangs/report_internal.h - what the report writers share
 * (report.c, report_formats.c).
 */
#ifndef FANGS_TOOLS_REPORT_INTERNAL_H
#define FANGS_TOOLS_REPORT_INTERNAL_H

#include <json-c/json.h>
#include <stdio.h>

#include "report.h"

/* A growing string; {0} is empty. */
typedef struct strbuf {
	char *s;
	size_t len, cap;
} strbuf;

void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (never NULL; the caller frees it); `b` is left empty. */
char *sb_take(strbuf *b);

/* Where an item's findings point. */
typedef struct report_location {
	char *path;      /* as CI tools show it (report_file_path); owned */
	int line;        /* 1-based */
	int in_lockfile; /* 1: the lockfile's "node_modules/..." key */
} report_location;

/* report.h, "Locations". */
void report_locate(const report *r, const report_item *it, report_location *out);
/* `file` joined to the project directory, as shown. Caller frees. */
char *report_file_path(const report *r, const char *file);

/* Text for people, every piece from outside escaped (fangs_text_escape):
 * no control characters, valid UTF-8. Each returns a string the caller
 * frees. */
char *item_title(const report_item *it);       /* "palette@1.1.0 (was 1.0.0)" */
char *item_context(const report_item *it);     /* title + dependency path + scripts */
char *finding_labels(const fangs_finding *fi); /* "rule:x + fs_cred_read" */
/* "[high] labels: value in <context>; by <origin> (actor). description (run id)" */
char *finding_message(const report_item *it, const fangs_finding *fi);

/* "Info" ... "Critical" */
const char *severity_title(fangs_severity s);

/* Prints `doc` pretty, made valid UTF-8, and releases it. 0 or -1. */
int report_json_out(FILE *f, json_object *doc);

int report_write_sarif(FILE *f, const report *r);
int report_write_gitlab(FILE *f, const report *r);
int report_write_junit(FILE *f, const report *r);

#endif
