/*
 * core/log.c - the process-wide log callback.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"
#include "fangs/text.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static fangs_log_fn log_fn;
static void *log_user;
static volatile int log_max = -1;

void fangs_log_set(fangs_log_fn fn, fangs_log_level max_level, void *user)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_user = user;
	log_max = fn ? (int)max_level : -1;
	pthread_mutex_unlock(&log_lock);
}

const char *fangs_log_level_name(fangs_log_level level)
{
	switch (level) {
	case FANGS_LOG_ERROR:
		return "error";
	case FANGS_LOG_WARN:
		return "warn";
	case FANGS_LOG_INFO:
		return "info";
	case FANGS_LOG_DEBUG:
		return "debug";
	}
	return "log";
}

void fangs_log_stderr(fangs_log_level level, const char *msg, void *user)
{
	/* messages hold names, paths and output from outside: one escaped line */
	char *line = fangs_text_escape_dup(msg);
	(void)user;
	fprintf(stderr, "fangs: %s: %s\n", fangs_log_level_name(level), line ? line : "(out of memory)");
	free(line);
}

bool fangs__log_enabled(fangs_log_level level)
{
	return (int)level <= log_max;
}

void fangs__log(fangs_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	fangs_log_fn fn;
	void *user;

	if (!fangs__log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	user = log_user;
	if (fn)
		fn(level, msg, user);
	pthread_mutex_unlock(&log_lock);
}
