/*
 * scan/internal.h - what scan.c shares with the rest of its folder.
 */
#ifndef FANGS_SCAN_INTERNAL_H
#define FANGS_SCAN_INTERNAL_H

#include <stddef.h>

#include "fangs/sandbox.h"
#include "fangs/storage.h"

/* The sandbox's memory limit for a scan's runs: fangs_sandbox_limits'
 * default, asked for explicitly so that an out-of-memory kill can name it. */
#define FANGS__SCAN_MEMORY_BYTES (512LL << 20)

/* How the install ended: FANGS_RUN_SUCCEEDED, or FANGS_RUN_FAILED (npm
 * exited non-zero, or a signal or the out-of-memory killer ended it) or
 * FANGS_RUN_TIMED_OUT, with the reason in `why` (npm's status and the last
 * lines of its output); `why` is empty for a success. */
fangs_run_state fangs__install_outcome(const fangs_sandbox_result *r, char *why, size_t cap);

#endif
