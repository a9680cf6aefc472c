/*
 * core/internal.h - helpers shared by every module of libfangs (not installed).
 */
#ifndef FANGS_CORE_INTERNAL_H
#define FANGS_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fangs/errors.h"
#include "fangs/log.h"

#define FANGS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define FANGS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FANGS_PRINTF(a, b)
#endif

/* Logging: formats only when a callback wants this level. */
void fangs__log(fangs_log_level level, const char *fmt, ...) FANGS_PRINTF(2, 3);
bool fangs__log_enabled(fangs_log_level level);
#define fangs_err(...) fangs__log(FANGS_LOG_ERROR, __VA_ARGS__)
#define fangs_warn(...) fangs__log(FANGS_LOG_WARN, __VA_ARGS__)
#define fangs_info(...) fangs__log(FANGS_LOG_INFO, __VA_ARGS__)
#define fangs_debug(...) fangs__log(FANGS_LOG_DEBUG, __VA_ARGS__)

/* Errors. */
int fangs__error_oom(void);
int fangs__error_errno(int code, const char *what);

#ifdef __clang_analyzer__
/* The static analyzer (scripts/analyze) sees one file at a time: these say
 * what error.c guarantees, that the error setters return the code they are
 * given, so that `if ((rc = f())) return rc;` after one of them is known to
 * leave the function. Normal builds call the functions as declared. */
#define fangs_error_set(code, ...) ((void)fangs_error_set((code), __VA_ARGS__), (code))
#define fangs__error_oom() ((void)fangs__error_oom(), FANGS_ENOMEM)
#endif

/* Strings. NULL-safe, set FANGS_ENOMEM on failure. */
char *fangs__strdup(const char *s);
char *fangs__strndup(const char *s, size_t n);
char *fangs__asprintf(const char *fmt, ...) FANGS_PRINTF(1, 2);
int fangs__strcasecmp_eq(const char *a, const char *b);
bool fangs__str_has_prefix(const char *s, const char *prefix);
bool fangs__str_has_suffix(const char *s, const char *suffix);

/* Grows a typed array `(items, count, capacity)` to hold one more; 0 or FANGS_ENOMEM. */
int fangs__grow(void **items, size_t *capacity, size_t count, size_t elem_size);
#define FANGS_GROW(list) fangs__grow((void **)&(list)->items, &(list)->capacity, (list)->count, sizeof(*(list)->items))

/* Time. */
int64_t fangs__now_ns(void);       /* CLOCK_REALTIME */
int64_t fangs__monotonic_ns(void); /* CLOCK_MONOTONIC */

/* Random bytes (getrandom); 0 or FANGS_EIO. */
int fangs__random(void *buf, size_t len);

/* 64-bit FNV-1a, for hash tables. */
uint64_t fangs__hash64(const void *data, size_t len, uint64_t seed);

/* Text (text.c): the valid UTF-8 sequence at p (at most n bytes) and its
 * code point, or 0; an exact semver version ("1.2.3-beta.1+b")? */
size_t fangs__utf8_seq(const unsigned char *p, size_t n, uint32_t *cp);
int fangs__version_is_exact(const char *v);

/* File helpers. */
int fangs__read_file(const char *path, char **out, size_t *out_len);

#endif
