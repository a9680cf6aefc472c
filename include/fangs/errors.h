/*
 * fangs/errors.h - error codes and the thread-local last error.
 *
 * Every function that can fail returns 0 on success or a negative FANGS_E*
 * code, and leaves a human message in fangs_error_last() of the calling
 * thread. The enum is append-only: values never change meaning.
 */
#ifndef FANGS_ERRORS_H
#define FANGS_ERRORS_H

#include "common.h"

FANGS_BEGIN_DECL

typedef enum fangs_error_code {
	FANGS_OK = 0,
	FANGS_ERROR = -1,         /**< generic failure */
	FANGS_ENOMEM = -2,        /**< out of memory */
	FANGS_EINVAL = -3,        /**< invalid argument or input */
	FANGS_ENOTFOUND = -4,     /**< the thing asked for does not exist */
	FANGS_EEXISTS = -5,       /**< the thing to create already exists */
	FANGS_EIO = -6,           /**< I/O or system call failure */
	FANGS_EPARSE = -7,        /**< malformed input (JSON, YAML, NDJSON) */
	FANGS_ESTORAGE = -8,      /**< database failure */
	FANGS_EVERSION = -9,      /**< version mismatch (e.g. database newer than code) */
	FANGS_EPERM = -10,        /**< missing privilege or capability */
	FANGS_EUNSUPPORTED = -11, /**< not available on this system or build */
	FANGS_ETIMEOUT = -12,     /**< an operation ran out of time */
	FANGS_EBUSY = -13,        /**< resource busy or locked */
	FANGS_ENETWORK = -14,     /**< network or HTTP failure */
	FANGS_ESANDBOX = -15,     /**< sandbox could not be set up or run */
	FANGS_ESENSOR = -16,      /**< eBPF sensor failure */
	FANGS_EUSER = -17,        /**< reserved for user callbacks to abort an iteration */
	FANGS_ECONFIG = -18,      /**< configuration error */
	FANGS_ECANCELED = -19     /**< canceled by the caller or a signal */
} fangs_error_code;

/** A static description of a code ("not found"). Never NULL. */
FANGS_EXTERN(const char *) fangs_strerror(int code);

/** The calling thread's last error message, or "" if none. Valid until the
 * next failing call on this thread. */
FANGS_EXTERN(const char *) fangs_error_last(void);

/** The calling thread's last error code (0 if none). */
FANGS_EXTERN(int) fangs_error_last_code(void);

/**
 * Sets the thread's last error; for backends and callbacks that want to
 * report errors the same way as the library. Returns `code` so it can be
 * used as `return fangs_error_set(FANGS_EINVAL, "bad %s", x);`.
 */
FANGS_EXTERN(int) fangs_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/** Clears the thread's last error. */
FANGS_EXTERN(void) fangs_error_clear(void);

/** The longest last-error message kept, terminating NUL included. */
#define FANGS_ERROR_MESSAGE_MAX 1024

/**
 * A last error set aside: cleanup that may itself fail (a rollback, freeing
 * a half-built run) runs between fangs_error_state_capture() and
 * fangs_error_state_restore(), and the caller still sees the first error.
 * Also carries an error from one thread to another.
 */
typedef struct fangs_error_state {
	int code; /**< the code restored; 0 = none was captured */
	char message[FANGS_ERROR_MESSAGE_MAX];
} fangs_error_state;

/**
 * Copies the calling thread's last error message into `state`, with `code`
 * as its code, or the thread's last error code when `code` is 0. Returns the
 * code kept, so that `return fangs_error_state_capture(&st, rc);` reads well.
 */
FANGS_EXTERN(int) fangs_error_state_capture(fangs_error_state *state, int code);

/** Makes `state` the calling thread's last error again; returns its code. */
FANGS_EXTERN(int) fangs_error_state_restore(const fangs_error_state *state);

FANGS_END_DECL

#endif
