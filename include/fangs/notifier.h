/*
 * fangs/notifier.h - signed, reliable delivery of findings to webhooks,
 * Slack and Discord.
 *
 * Targets live in storage (fangs_storage_notifier_add). When a run's
 * deviations are stored, fangs_notifier_enqueue_run() schedules one message
 * per enabled target that has findings at or above its minimum severity;
 * fangs_notifier_deliver_due() sends what is due. Failed attempts that may
 * succeed later (408, 429, 5xx, network errors) are scheduled again with
 * exponential backoff and jitter; each attempt is a row of the delivery
 * history. The schedule lives in storage, so a new notifier over the same
 * database goes on where an earlier one stopped.
 *
 * The notifier opens its own storage transactions: do not call it while a
 * transaction of a borrowed handle is open. Enqueueing is idempotent per
 * run and target within one database handle's view; two processes
 * enqueueing the same run at the same instant over PostgreSQL may both
 * schedule it (receivers see delivery as at least once anyway).
 *
 * Either drive it from a timer (enqueue, then deliver_due whenever
 * fangs_notifier_next_due says), or let it run its own worker thread
 * (fangs_notifier_start/stop), which needs a storage handle of its own
 * (options.storage_options).
 *
 * Messages go to https:// URLs with certificate verification; http:// is
 * accepted only for loopback hosts (127.0.0.0/8, ::1, localhost). The
 * payloads and the signature are described in docs/notifier.md.
 */
#ifndef FANGS_NOTIFIER_H
#define FANGS_NOTIFIER_H

#include "common.h"
#include "storage.h"

FANGS_BEGIN_DECL

typedef enum fangs_notifier_template {
	FANGS_NOTIFIER_GENERIC = 0, /**< signed JSON for programs */
	FANGS_NOTIFIER_SLACK = 1,   /**< Slack incoming webhook */
	FANGS_NOTIFIER_DISCORD = 2  /**< Discord webhook */
} fangs_notifier_template;

/** "generic", "slack", "discord". */
FANGS_EXTERN(const char *) fangs_notifier_template_name(fangs_notifier_template t);
FANGS_EXTERN(int) fangs_notifier_template_parse(const char *name, fangs_notifier_template *out);

/** Checks a target URL: https:// with a host, or http:// to a loopback
 * host. FANGS_EINVAL with a message saying what is wrong. */
FANGS_EXTERN(int) fangs_notifier_url_check(const char *url);

/** Checks an extra header: a token name, no line breaks, and not one of the
 * headers the notifier sets itself. A value `env:NAME` or `file:/path` is a
 * reference, resolved at each send (the variable, the file's first line):
 * the secret itself is not stored. */
FANGS_EXTERN(int) fangs_notifier_header_check(const char *name, const char *value);

/** Does this header look like it carries a secret in clear (a name such as
 * Authorization, *-Token, *-Key, or a `Bearer`/`Basic` value) rather than an
 * env:/file: reference? 1 or 0. */
FANGS_EXTERN(int) fangs_notifier_header_is_secret(const char *name, const char *value);

/** Checks a whole target (name, URL, template, headers, secret_env name)
 * before it is stored. */
FANGS_EXTERN(int) fangs_notifier_target_check(const fangs_notifier_target *t);

/** Length of a signature header value: "sha256=" + 64 hex digits + NUL. */
#define FANGS_NOTIFIER_SIGNATURE_SIZE 72

/** Writes "sha256=<hex>", the HMAC-SHA256 of `body` keyed with `secret`, as
 * sent in X-FANGS-Signature. */
FANGS_EXTERN(int) fangs_notifier_sign(const char *secret, size_t secret_len, const char *body, size_t body_len,
				      char out[FANGS_NOTIFIER_SIGNATURE_SIZE]);

typedef struct fangs_notifier fangs_notifier;

typedef struct fangs_notifier_options {
	unsigned int version;
	/** A storage handle the notifier borrows (used only from the calling
	 * thread); or NULL and `storage_options`, to open one of its own. */
	fangs_storage *storage;
	const fangs_storage_options *storage_options;
	const char *public_url;  /**< base of run links (<public_url>/runs/<id>); NULL = no links */
	const char *ca_file;     /**< PEM bundle of trusted CAs; NULL = the system's */
	unsigned max_attempts;   /**< attempts per message; 0 = 8 */
	int64_t base_delay_ms;   /**< delay after the first failure, doubled each time; 0 = 30000 */
	int64_t max_delay_ms;    /**< ceiling of one delay; 0 = 3600000 */
	long timeout_ms;         /**< one HTTP exchange; 0 = 10000 */
	unsigned max_deviations; /**< findings listed in one message (the most severe); 0 = 25 */
} fangs_notifier_options;

#define FANGS_NOTIFIER_OPTIONS_VERSION 1
#define FANGS_NOTIFIER_OPTIONS_INIT {FANGS_NOTIFIER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_notifier_options_init(fangs_notifier_options *opts, unsigned int version);
FANGS_EXTERN(int) fangs_notifier_new(fangs_notifier **out, const fangs_notifier_options *opts);
/** Stops the worker if running. NULL-safe. */
FANGS_EXTERN(void) fangs_notifier_free(fangs_notifier *n);

/**
 * Schedules the messages of a run: one per enabled target with at least one
 * finding at or above its minimum severity, unless that target already has
 * one for this run (so calling it twice sends once). The message content is
 * fixed now; `queued` (optional) gets how many were scheduled. Wakes the
 * worker when it runs.
 */
FANGS_EXTERN(int) fangs_notifier_enqueue_run(fangs_notifier *n, const char *run_id, size_t *queued);

typedef struct fangs_notifier_stats {
	size_t attempted; /**< attempts made */
	size_t sent;      /**< of which delivered */
	size_t retrying;  /**< of which failed and were scheduled again */
	size_t failed;    /**< of which failed for good */
} fangs_notifier_stats;

/** Makes every attempt due at `now_ns` (0 = the current time). `stats`
 * optional. A failed delivery is not an error of this call: it is in the
 * history; errors are storage failures. */
FANGS_EXTERN(int) fangs_notifier_deliver_due(fangs_notifier *n, int64_t now_ns, fangs_notifier_stats *stats);

/** When the next attempt is due (ns since the epoch), for a timer. 0 and
 * *due_ns = 0 when nothing is scheduled. */
FANGS_EXTERN(int) fangs_notifier_next_due(fangs_notifier *n, int64_t *due_ns);

/** Starts a worker thread that delivers whatever becomes due (needs
 * options.storage_options). FANGS_EBUSY when already running. */
FANGS_EXTERN(int) fangs_notifier_start(fangs_notifier *n);
/** Stops the worker after its current attempt; 0 when none runs. */
FANGS_EXTERN(int) fangs_notifier_stop(fangs_notifier *n);

/** What a receiver answered. */
typedef struct fangs_notifier_result {
	int http_status; /**< 0 when no answer came */
	char *error;     /**< NULL on 2xx */
	char *body;      /**< the start of the answer's body (at most 4 KiB) */
	char *request;   /**< the message sent */
} fangs_notifier_result;

FANGS_EXTERN(void) fangs_notifier_result_clear(fangs_notifier_result *r);

/** Sends a synthetic finding to a stored target now (enabled or not), once,
 * without recording it; fills `out` with the answer. Returns 0 when the
 * receiver answered 2xx, FANGS_ENETWORK otherwise (out still filled). */
FANGS_EXTERN(int) fangs_notifier_send_test(fangs_notifier *n, const char *target_name, fangs_notifier_result *out);

FANGS_END_DECL

#endif
