/*
 * core/error.c - error strings and the thread-local last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

static _Thread_local char last_msg[FANGS_ERROR_MESSAGE_MAX];
static _Thread_local int last_code;

static const char *const messages[] = {
	"success",             /* 0 */
	"error",               /* -1 */
	"out of memory",       /* -2 */
	"invalid argument",    /* -3 */
	"not found",           /* -4 */
	"already exists",      /* -5 */
	"I/O error",           /* -6 */
	"parse error",         /* -7 */
	"storage error",       /* -8 */
	"version mismatch",    /* -9 */
	"permission denied",   /* -10 */
	"not supported",       /* -11 */
	"timed out",           /* -12 */
	"busy",                /* -13 */
	"network error",       /* -14 */
	"sandbox error",       /* -15 */
	"sensor error",        /* -16 */
	"stopped by callback", /* -17 */
	"configuration error", /* -18 */
	"canceled",            /* -19 */
};
/* a code appended to fangs_error_code needs its message here */
_Static_assert(FANGS_ARRAY_SIZE(messages) == -FANGS_ECANCELED + 1, "a message per error code");

const char *fangs_strerror(int code)
{
	if (code > 0 || (size_t)-code >= FANGS_ARRAY_SIZE(messages))
		return "unknown error";
	return messages[-code];
}

const char *fangs_error_last(void)
{
	return last_msg;
}

int fangs_error_last_code(void)
{
	return last_code;
}

/* (name): never the analyzer's model of it in core/internal.h */
int(fangs_error_set)(int code, const char *fmt, ...)
{
	va_list ap;
	last_code = code;
	if (!fmt) {
		snprintf(last_msg, sizeof(last_msg), "%s", fangs_strerror(code));
		return code;
	}
	/* format aside first: callers may pass fangs_error_last() as an argument */
	char tmp[sizeof(last_msg)];
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_msg, tmp, sizeof(last_msg));
	return code;
}

void fangs_error_clear(void)
{
	last_code = 0;
	last_msg[0] = '\0';
}

int(fangs__error_oom)(void)
{
	return fangs_error_set(FANGS_ENOMEM, "out of memory");
}

int fangs__error_errno(int code, const char *what)
{
	return fangs_error_set(code, "%s: %s", what, strerror(errno));
}

int fangs_error_state_capture(fangs_error_state *state, int code)
{
	if (!state)
		return code;
	state->code = code ? code : last_code;
	memcpy(state->message, last_msg, sizeof(state->message));
	return state->code;
}

int fangs_error_state_restore(const fangs_error_state *state)
{
	if (!state)
		return 0;
	last_code = state->code;
	memcpy(last_msg, state->message, sizeof(last_msg));
	last_msg[sizeof(last_msg) - 1] = '\0';
	return state->code;
}
