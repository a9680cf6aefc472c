/*
 * tools/fangs/project_scan.h - what `fangs scan --project` and `fangs review`
 * share (project_scan.c).
 */
#ifndef FANGS_CLI_PROJECT_SCAN_H
#define FANGS_CLI_PROJECT_SCAN_H

#include <json-c/json.h>

#include <fangs/project.h>
#include <fangs/scan.h>
#include <fangs/sensor.h>

#include "commands.h"
#include "report.h"

/* Scanner set-up shared by scan --project and review: scanner_open() reads
 * --sandbox, --network, --duration, --registry, --image, --fail-on, --quiet,
 * opens the storage and starts the sensor; scanner_close() ends both. */
typedef struct scanner {
	fangs_scan_options so;
	fangs_storage *st;
	fangs_sensor *sensor;
	fangs_severity fail_on;
} scanner;

int scanner_open(cli_ctx *ctx, const cli_args *a, scanner *sc, const char *dir);
void scanner_close(scanner *sc);

/* --format and --output: 1 = the report is written instead of fangs' own
 * output; -1 = a usage error (printed). */
int report_wanted(cli_ctx *ctx, const cli_args *a, report_format *fmt);
/* A report of `command` ("scan", "review") on the project in dir. */
void report_start(report *rp, const char *command, const char *dir, const char *lockpath, fangs_storage *st,
		  fangs_severity fail_on);

/* A dependency (d: its run, NULL when none ran; index: its place in lf,
 * (size_t)-1 when not there) has findings at or above `at`; as JSON; as
 * text; as the report's item (approval -1 unknown, 0 no, 1 yes). */
int dep_has_findings(const fangs_scan_dependency *d, fangs_severity at);
json_object *json_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d, const char *name,
		      const char *version, size_t index, int has_scripts);
void print_dep(fangs_storage *st, const fangs_lockfile *lf, const fangs_scan_dependency *d, const char *name,
	       const char *version, size_t index, int has_scripts, fangs_severity fail_on);
void report_dep(report *rp, fangs_storage *st, const fangs_project_scan_result *r, const fangs_lockfile *lf,
		const fangs_scan_dependency *d, const char *name, const char *version, const char *previous,
		size_t index, int has_scripts, int approval);

/* A project error (print_error and the exit code: a project's own fault,
 * with parse_is_usage also one that does not parse, is a usage error). */
int project_error(const char *what, int rc, int parse_is_usage);
/* The exit code of a project scan: findings, else a failed install, else ok. */
int install_exit(const fangs_project_scan_result *r, int findings_fail);
/* The project install: its lines, its JSON, the project's JSON. */
void print_install(const fangs_project_scan_result *r, const char *dir);
json_object *json_install(const fangs_project_scan_result *r);
json_object *json_project(const fangs_project_scan_result *r);

#endif
