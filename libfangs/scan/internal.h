/*
 * scan/internal.h - what scan.c shares with the rest of its folder.
 */
#ifndef FANGS_SCAN_INTERNAL_H
#define FANGS_SCAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fangs/event.h"

#include "fangs/sandbox.h"
#include "fangs/storage.h"
#include "fangs/analyze.h"
#include "fangs/scan.h"

/* The sandbox's memory limit for a scan's runs: fangs_sandbox_limits'
 * default, asked for explicitly so that an out-of-memory kill can name it. */
#define FANGS__SCAN_MEMORY_BYTES (512LL << 20)

/* How the install ended: FANGS_RUN_SUCCEEDED, or FANGS_RUN_FAILED (npm
 * exited non-zero, or a signal or the out-of-memory killer ended it) or
 * FANGS_RUN_TIMED_OUT, with the reason in `why` (npm's status and the last
 * lines of its output); `why` is empty for a success. */
fangs_run_state fangs__install_outcome(const fangs_sandbox_result *r, char *why, size_t cap);

/* ---- the import phase (import.c) ---- */

/* How the import script starts: the scan tells the import's node by it. */
#define FANGS__IMPORT_MARK "/*fangs:import*/"

/* The node script that requires (or imports) the package named in argv[1]. */
const char *fangs__import_script(void);
/* argv of the import step: node -e <script> -- <package>, NULL-terminated. */
void fangs__import_argv(const char *argv[6], const char *package);

/* Which events are the import's: the exec of the import script (with no
 * lifecycle origin; the first only) and then every process it forks. */
typedef struct fangs__import_tracker {
	int32_t *items; /* live pids of the import */
	size_t count;
	size_t capacity;
	bool started;
	bool oom;
} fangs__import_tracker;

/* The phase of the next event of the run, in the order they come. */
fangs_event_phase fangs__import_phase(fangs__import_tracker *t, const fangs_event *ev);
void fangs__import_tracker_free(fangs__import_tracker *t);

/* How the import step ended, from the run's output (the last
 * "[fangs] import: " line, without that prefix); empty when none. */
void fangs__import_outcome(const char *output, char *out, size_t cap);

/* The caller's options over the current version's defaults (core/opts.h):
 * a field the caller's version lacks reads as its default. 0 or
 * FANGS_EVERSION; `in` NULL = the defaults. */
int fangs__scan_options_copy(fangs_scan_options *out, const fangs_scan_options *in);
int fangs__project_scan_options_copy(fangs_project_scan_options *out, const fangs_project_scan_options *in);
int fangs__analyze_options_copy(fangs_analyze_options *out, const fangs_analyze_options *in);

#endif
