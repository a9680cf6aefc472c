/*
 * fangs/log.h - logging through a caller-supplied callback.
 *
 * The library never prints to stdout. Until a callback is set it prints
 * nothing at all; the tools install one that writes to stderr.
 */
#ifndef FANGS_LOG_H
#define FANGS_LOG_H

#include "common.h"

FANGS_BEGIN_DECL

typedef enum fangs_log_level {
	FANGS_LOG_ERROR = 0,
	FANGS_LOG_WARN = 1,
	FANGS_LOG_INFO = 2,
	FANGS_LOG_DEBUG = 3
} fangs_log_level;

typedef void (*fangs_log_fn)(fangs_log_level level, const char *msg, void *user);

/**
 * Installs the process-wide log callback. Messages above `max_level` are not
 * formatted at all. `fn` NULL turns logging off. Thread-safe.
 */
FANGS_EXTERN(void) fangs_log_set(fangs_log_fn fn, fangs_log_level max_level, void *user);

/** "error", "warn", "info", "debug". */
FANGS_EXTERN(const char *) fangs_log_level_name(fangs_log_level level);

/** A ready-made callback that writes "fangs: level: msg\n" to stderr, the
 * message escaped by fangs_text_escape() (one line, no control characters). */
FANGS_EXTERN(void) fangs_log_stderr(fangs_log_level level, const char *msg, void *user);

FANGS_END_DECL

#endif
