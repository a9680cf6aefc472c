/*
 * tools/common/log.h - the daemons's own log lines (stderr, with a
 * UTC timestamp) and wall-clock time.
 */
#ifndef FANGS_TOOLS_LOG_H
#define FANGS_TOOLS_LOG_H

#include <stdint.h>

void log_line(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t now_wall_ns(void);
/* Sends the library's messages (warnings, or everything when verbose) here. */
void log_route_library(int verbose);

#define log_info(...) log_line("info", __VA_ARGS__)
#define log_warn(...) log_line("warn", __VA_ARGS__)
#define log_error(...) log_line("error", __VA_ARGS__)

#endif
