/*
 * fangs/common.h - export macros, version, and the types every module shares.
 */
#ifndef FANGS_COMMON_H
#define FANGS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define FANGS_BEGIN_DECL extern "C" {
#define FANGS_END_DECL }
#else
#define FANGS_BEGIN_DECL
#define FANGS_END_DECL
#endif

/* Every exported function is declared through FANGS_EXTERN; the library is
 * built with -fvisibility=hidden so nothing else leaks. */
#if defined(__GNUC__) || defined(__clang__)
#define FANGS_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define FANGS_EXTERN(type) extern type
#endif

#define FANGS_VERSION_MAJOR 0
#define FANGS_VERSION_MINOR 1
#define FANGS_VERSION_PATCH 0
#define FANGS_VERSION_STRING "0.1.0"

FANGS_BEGIN_DECL

/** The library's version string ("0.1.0"); may differ from the header's. */
FANGS_EXTERN(const char *) fangs_version(void);

/**
 * Severity: one scale everywhere (differ, storage, notifier, CLI).
 * info < low < medium < high < critical.
 */
typedef enum fangs_severity {
	FANGS_SEV_INFO = 0,
	FANGS_SEV_LOW = 1,
	FANGS_SEV_MEDIUM = 2,
	FANGS_SEV_HIGH = 3,
	FANGS_SEV_CRITICAL = 4
} fangs_severity;

/** "info", "low", "medium", "high", "critical" ("unknown" out of range). */
FANGS_EXTERN(const char *) fangs_severity_name(fangs_severity sev);

/** Parses a severity name (case-insensitive). 0 or FANGS_EINVAL. */
FANGS_EXTERN(int) fangs_severity_parse(const char *name, fangs_severity *out);

FANGS_END_DECL

#endif
