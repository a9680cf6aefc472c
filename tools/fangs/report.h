/*
 * tools/fangs/report.h - what a scan or a review of a project found, one
 * item per dependency, written in the formats CI tools read.
 *
 * A command fills a report (report_init, report_add, the item's fields,
 * its findings moved in) and writes it with report_write() in the format
 * --format names:
 *  - human:  the terminal summary, one block per dependency;
 *  - json:   fangs' own JSON (docs/ci.md);
 *  - sarif:  SARIF 2.1.0 (GitHub code scanning, and any SARIF viewer);
 *  - gitlab: a GitLab dependency-scanning report;
 *  - junit:  JUnit XML, one test case per dependency;
 *  - github: GitHub Actions workflow commands (::error file=...::...).
 * Every string of a report is copied in (report_add, report_set,
 * report_item_*): a report owns everything it holds, and report_clear()
 * releases it. Text from packages (names, versions, scripts, findings) is
 * attacker text: each writer escapes it for its format and repairs invalid
 * UTF-8; none trusts it.
 *
 * Locations: findings point at the lockfile, at the line of the
 * dependency's "node_modules/..." key (item.lock_key, else
 * "node_modules/<name>"), else at the manifest, at the line naming the
 * dependency (its "name" field for the project itself), else at the
 * manifest's first line. Paths are shown as report.project_dir joined with
 * the manifest or lockfile path ("package-lock.json" when the project is
 * "." or NULL), as CI tools expect paths relative to the checkout.
 */
#ifndef FANGS_TOOLS_REPORT_H
#define FANGS_TOOLS_REPORT_H

#include <stdio.h>

#include <fangs/analyze.h>
#include <fangs/findings.h>
#include <fangs/storage.h>

typedef enum report_format {
	REPORT_HUMAN = 0,
	REPORT_JSON,
	REPORT_SARIF,
	REPORT_GITLAB,
	REPORT_JUNIT,
	REPORT_GITHUB,
} report_format;
#define REPORT_FORMAT_COUNT 6
/* "human|json|sarif|gitlab|junit|github": the --format choices */
#define REPORT_FORMATS "human|json|sarif|gitlab|junit|github"

/* What became of a dependency. */
typedef enum report_status {
	REPORT_SCANNED = 0,    /* scanned and judged (a single scan: no earlier release compared) */
	REPORT_UNCHANGED,      /* behaves as its baseline: nothing new */
	REPORT_NEW_BEHAVIOUR,  /* did what its earlier releases never did (the findings say what) */
	REPORT_FIRST_SIGHT,    /* no history: its baseline was seeded; the rules' verdict stands */
	REPORT_INSTALL_FAILED, /* its install failed or timed out in the sandbox (item.reason) */
} report_status;
#define REPORT_STATUS_COUNT 5

/* Whether npm would run its install scripts (allowScripts). */
typedef enum report_approval {
	REPORT_APPROVAL_UNKNOWN = 0, /* not asked (a single scan), or no scripts */
	REPORT_APPROVED,
	REPORT_NOT_APPROVED,
} report_approval;

typedef struct report_item {
	char *name; /* the dependency */
	char *version;
	char *previous_version; /* the version the base had; NULL: new, or not a review */
	char **path;            /* top-level dependency -> ... -> this one (names); n_path 0: the project itself */
	size_t n_path;
	char *lock_key; /* its key in the lockfile ("node_modules/a/node_modules/b"); NULL: "node_modules/<name>" */
	char **scripts; /* the lifecycle scripts it has ("preinstall", "postinstall"...) */
	size_t n_scripts;
	char *run_id; /* the run that judged it; NULL: none (unchanged, not scanned) */
	report_status status;
	report_approval approval;
	char *reason;                /* why its install failed, or a note on its status; may be NULL */
	fangs_finding_list findings; /* grouped (group_findings), most severe first; owned */
} report_item;

typedef struct report {
	char *tool_version;     /* fangs' version (report_init sets it) */
	char *project_dir;      /* as given on the command line; NULL or "." = the current directory */
	char *manifest;         /* relative to project_dir: "package.json" (report_init); NULL: none */
	char *lockfile;         /* relative to project_dir: "package-lock.json"; NULL: none */
	char *command;          /* what ran: "scan", "review" (names the JUnit suite and SARIF automation) */
	fangs_severity fail_on; /* a finding at or above it fails (JUnit failure, SARIF/GitHub error) */
	int64_t started_ns;     /* wall clock, 0 = unknown (GitLab's scan times; report_init sets it) */
	int64_t finished_ns;    /* 0 = when written */
	report_item *items;
	size_t count;
	size_t capacity;
	/* Optional, borrowed: where a finding's evidence events are read for
	 * the human format. NULL: no evidence lines. */
	fangs_storage *storage;
} report;

/* An empty report: fail_on high, manifest "package.json", this fangs'
 * version, started now. */
void report_init(report *r);
/* Releases everything the report holds (not report.storage). */
void report_clear(report *r);
/* Replaces a string field of the report (or of an item) with a copy of
 * `value` (NULL allowed). */
void report_set(char **field, const char *value);
/* A new item at the end, its name and version copied, status scanned,
 * approval unknown, no findings. Exits the process when out of memory (as
 * the CLI's other allocations do). The pointer lives until the next
 * report_add. */
report_item *report_add(report *r, const char *name, const char *version);
/* Copies the dependency path (top -> ... -> this), replacing any. */
void report_item_set_path(report_item *it, const char *const *names, size_t n);
void report_item_add_script(report_item *it, const char *script);
/* Moves `fl` into the item (replacing its findings); `fl` is left empty. */
void report_item_take_findings(report_item *it, fangs_finding_list *fl);

/* An item for a package's judged run (fangs scan, fangs events import):
 * status from the baseline's action (seeded: first sight; excluded: install
 * failed; pending with deviations: new behaviour; clean: unchanged; else
 * scanned), scripts from its findings' origins, `fl` moved in. The path
 * is [name] (a direct dependency); set n_path 0 for the project itself. */
report_item *report_add_run(report *r, const char *name, const char *version, const char *run_id,
			    fangs_baseline_action action, const char *reason, fangs_finding_list *fl);

/* The highest severity among the report's findings; -1 when none. */
int report_max_severity(const report *r);
/* 1 when a finding reaches report.fail_on. */
int report_fails(const report *r);

const char *report_format_name(report_format f);
/* 0, or -1 for an unknown name. */
int report_format_parse(const char *name, report_format *out);
/* "scanned", "unchanged", "new_behaviour", "first_sight", "install_failed" */
const char *report_status_name(report_status s);
/* "unknown", "approved", "not_approved" */
const char *report_approval_name(report_approval a);

/* Writes the report in `fmt` to `f`. 0, or -1 with errno set (a write
 * error). Locations are looked up in the project's files (see above); a
 * file that cannot be read gives line 1. */
int report_write(FILE *f, report_format fmt, const report *r);

/* report_write() to `path` (created or truncated), or to stdout when path
 * is NULL or "-". Prints the error and returns nonzero on failure. */
int report_emit(const char *path, report_format fmt, const report *r);

#endif
