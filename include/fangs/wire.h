/*
 * fangs/wire.h - the orchestrator <-> runner protocol: HTTP/1.1 + JSON.
 *
 * The messages of docs/api.md as C records, with their JSON decoders (which
 * validate everything the server is handed) and encoders, and a small HTTP
 * client (libcurl; TLS with optional client certificate) that runners and
 * the CLI use to talk to the orchestrator.
 */
#ifndef FANGS_WIRE_H
#define FANGS_WIRE_H

#include "common.h"
#include "decoy.h"
#include "storage.h"

FANGS_BEGIN_DECL

/** Largest JSON request body the orchestrator reads (register, scans, result). */
#define FANGS_WIRE_MAX_JSON_BODY (256 * 1024)
/** Largest NDJSON event batch the orchestrator reads. */
#define FANGS_WIRE_MAX_EVENTS_BODY (8 * 1024 * 1024)
/** Longest runner id, package name or version accepted. */
#define FANGS_WIRE_MAX_NAME 214
/** Longest install output kept from a result. */
#define FANGS_WIRE_MAX_OUTPUT (64 * 1024)
/** Longest error (why a run failed) accepted in a result. */
#define FANGS_WIRE_MAX_ERROR 4096

/** POST /v1/runners/register. */
typedef struct fangs_wire_register {
	char *runner_id; /**< required: [A-Za-z0-9._-]+ */
	char *hostname;  /**< optional */
	int max_scans;   /**< >= 1 (default 1) */
} fangs_wire_register;

/** POST /v1/scans (submit) and GET /v1/runners/{id}/jobs (a job handed out). */
typedef struct fangs_wire_scan {
	char run_id[FANGS_RUN_ID_MAX]; /**< empty in a submission */
	char *package;                 /**< required */
	char *version;                 /**< required */
	char *runner;                  /**< submit: the runner it must run on (optional) */
	int attempt;                   /**< a job handed out: which attempt at the run this is (1, 2, ...);
			     0 = not said. The runner sends it back with the run's event batches. */
} fangs_wire_scan;

/** POST /v1/runs/{run_id}/result. */
typedef struct fangs_wire_result {
	fangs_run_state state; /**< succeeded, failed or timed_out */
	int has_exit_code;
	int exit_code;
	int64_t events_emitted;
	int64_t events_dropped;
	int64_t duration_ns;
	char *install_output; /**< optional, at most FANGS_WIRE_MAX_OUTPUT bytes */
	char *error;          /**< optional: why it failed, at most FANGS_WIRE_MAX_ERROR bytes */
	/** optional: the run's decoy secrets (place, what, value), so that the
	 * orchestrator finds them in what left the sandbox; at most
	 * FANGS_WIRE_MAX_DECOYS. Owned (strings too) after decoding; an encoder
	 * only reads them. */
	fangs_decoy *decoys;
	size_t n_decoys;
} fangs_wire_result;

#define FANGS_WIRE_MAX_DECOYS 64

/* Decoders return 0, or FANGS_EPARSE / FANGS_EINVAL with a message fit to
 * send back to the client; `out` is left cleared on failure. */
FANGS_EXTERN(int) fangs_wire_register_decode(fangs_wire_register *out, const char *body, size_t len);
FANGS_EXTERN(int) fangs_wire_scan_decode(fangs_wire_scan *out, const char *body, size_t len);
FANGS_EXTERN(int) fangs_wire_result_decode(fangs_wire_result *out, const char *body, size_t len);

/* Encoders return a NUL-terminated JSON string in *out (free()). */
FANGS_EXTERN(int) fangs_wire_register_encode(const fangs_wire_register *in, char **out);
FANGS_EXTERN(int) fangs_wire_scan_encode(const fangs_wire_scan *in, char **out);
FANGS_EXTERN(int) fangs_wire_result_encode(const fangs_wire_result *in, char **out);
/** {"error": message}. */
FANGS_EXTERN(int) fangs_wire_error_encode(const char *message, char **out);

FANGS_EXTERN(void) fangs_wire_register_clear(fangs_wire_register *r);
FANGS_EXTERN(void) fangs_wire_scan_clear(fangs_wire_scan *s);
FANGS_EXTERN(void) fangs_wire_result_clear(fangs_wire_result *r);

/** Is `s` a name the protocol accepts for a runner id (and a URL path part)? */
FANGS_EXTERN(int) fangs_wire_valid_id(const char *s);

/* ---- client ---- */

typedef struct fangs_wire_client fangs_wire_client;

typedef struct fangs_wire_client_options {
	unsigned int version;
	const char *url;            /**< orchestrator base URL, "http://host:port" or "https://..." (required) */
	const char *tls_cert;       /**< client certificate (PEM) for mTLS; NULL = none */
	const char *tls_key;        /**< its key (PEM) */
	const char *ca;             /**< CA file the server's certificate must chain to; NULL = system */
	long connect_timeout_ms;    /**< 0 = 5000 */
	const char *runner_id;      /**< sent as the Fangs-Runner header (who posts events and results) */
	const volatile int *cancel; /**< when it points at a nonzero value, a request in flight ends
				       (FANGS_ECANCELED): e.g. a long poll at shutdown */
	const char *
		token; /**< since version 2: bearer token sent as `Authorization: Bearer` (docs/security.md); NULL = none */
} fangs_wire_client_options;

#define FANGS_WIRE_CLIENT_OPTIONS_VERSION 2
#define FANGS_WIRE_CLIENT_OPTIONS_INIT {FANGS_WIRE_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_wire_client_options_init(fangs_wire_client_options *opts, unsigned int version);
/**
 * The bearer token of a client: the contents of `path` when given (its
 * first line, surrounding blanks dropped), else the environment variable
 * `env` (e.g. "FANGS_TOKEN"), else none (*out NULL). A token never comes
 * from the command line, where other users see it. 0, or FANGS_EIO /
 * FANGS_EINVAL (an empty file). *out is free()d by the caller.
 */
FANGS_EXTERN(int) fangs_wire_token_load(const char *path, const char *env, char **out);

/** A client; one thread at a time (keeps its connection alive between requests). */
FANGS_EXTERN(int) fangs_wire_client_new(fangs_wire_client **out, const fangs_wire_client_options *opts);
FANGS_EXTERN(void) fangs_wire_client_free(fangs_wire_client *c);

typedef struct fangs_wire_response {
	long status; /**< HTTP status */
	char *body;  /**< NUL-terminated (may hold NULs before it) */
	size_t len;
} fangs_wire_response;

FANGS_EXTERN(void) fangs_wire_response_clear(fangs_wire_response *r);

/**
 * One request: `method` "GET" or "POST", `path` from the base URL
 * ("/v1/health"), body NULL for none. Any HTTP answer is 0 with its status
 * in `out`; FANGS_ENETWORK when none came (refused, TLS refused, timed out
 * after `timeout_ms`, 0 = 30000). The message of a 4xx/5xx is the
 * "error" member of its JSON body: see fangs_wire_response_error().
 * Without a token, a request other than GET and HEAD carries the CSRF
 * value the orchestrator asks of a write made on a client certificate or
 * without authentication (the `fangs_csrf` cookie and the same value in
 * `X-Fangs-CSRF`, docs/security.md).
 */
FANGS_EXTERN(int) fangs_wire_request(fangs_wire_client *c, const char *method, const char *path,
				     const char *content_type, const char *body, size_t len, long timeout_ms,
				     fangs_wire_response *out);

/** The "error" of a JSON error body, or a text naming the status. Valid
 * until the next call in this thread. */
FANGS_EXTERN(const char *) fangs_wire_response_error(fangs_wire_response *r);

FANGS_END_DECL

#endif
