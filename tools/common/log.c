/*
 * tools/common/log.c - log lines of the daemons; the library's own
 * messages are routed here too (log_route_library).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fangs/fangs.h>

#include "log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t now_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void vlog_line(const char *level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vlog_line(const char *level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32], *msg = NULL, *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* A log line holds names, versions, hostnames and messages others
	 * chose: escaped whole, it stays one line that a terminal or a log
	 * reader shows and never acts on (docs/threat-model.md). */
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	line = msg ? fangs_text_escape_dup(msg) : NULL;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, ts.tv_nsec / 1000000, level,
		line ? line : "(out of memory formatting a log line)");
	pthread_mutex_unlock(&log_lock);
	free(line);
	free(msg);
}

void log_line(const char *level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(level, fmt, ap);
	va_end(ap);
}

static void from_library(fangs_log_level level, const char *msg, void *user)
{
	(void)user;
	log_line(fangs_log_level_name(level), "%s", msg);
}

void log_route_library(int verbose)
{
	fangs_log_set(from_library, verbose ? FANGS_LOG_DEBUG : FANGS_LOG_WARN, NULL);
}
