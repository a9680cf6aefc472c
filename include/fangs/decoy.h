/*
 * fangs/decoy.h - decoy credentials and the search for their bytes in what
 * leaves a sandbox.
 *
 * The sandbox plants credentials that look real and differ on every run
 * (fangs_sandbox_decoys() lists them). Reading one is seen as a file open;
 * sending one out is seen here: the matcher looks for any stretch of
 * FANGS_DECOY_WINDOW bytes of a decoy's secret in a string that left the
 * sandbox (a DNS query name, a TLS server name, a proxied request's path or
 * body...), plain or encoded: hex (either case), base64 (standard or
 * URL-safe, at any alignment, with or without padding), percent-encoded,
 * and split across the labels of a DNS name; plain and base64 also when
 * the text was lower-cased on its way (Node's resolver functions lower-case
 * names: 16 characters then). Pure functions: no I/O.
 */
#ifndef FANGS_DECOY_H
#define FANGS_DECOY_H

#include "common.h"
#include "differ.h"
#include "event.h"

FANGS_BEGIN_DECL

/** One planted secret. Strings are owned by whoever made the list. */
typedef struct fangs_decoy {
	const char *place; /**< where it lies, as a person names it: "~/.npmrc", "~/app/.env" */
	const char *what;  /**< what it is: "npm token", "AWS secret access key" */
	const char *value; /**< the secret itself (at least FANGS_DECOY_WINDOW bytes to be found) */
} fangs_decoy;

/** The shortest stretch of a secret that counts as that secret. */
#define FANGS_DECOY_WINDOW 12

/** The finding kind of a decoy that left the sandbox (severity critical). */
#define FANGS_DECOY_FINDING_KIND "rule:decoy-exfiltrated"

typedef struct fangs_decoy_matcher fangs_decoy_matcher;

/** Compiles the decoys (copied: the list may go after this call). Secrets
 * shorter than FANGS_DECOY_WINDOW are ignored. 0 or FANGS_ENOMEM/EINVAL. */
FANGS_EXTERN(int) fangs_decoy_matcher_new(fangs_decoy_matcher **out, const fangs_decoy *decoys, size_t n);
FANGS_EXTERN(void) fangs_decoy_matcher_free(fangs_decoy_matcher *m);

/** Where a decoy was found. */
typedef struct fangs_decoy_hit {
	size_t decoy;     /**< index into the list given to fangs_decoy_matcher_new() */
	const char *form; /**< static text: "plain", "hex", "base64", "base64url", "url-encoded",
			       "base64 in url-encoding"..., ", lower-cased" when the case was
			       lost, ", split across DNS labels" when the labels had to be joined */
} fangs_decoy_hit;

/**
 * Looks for a decoy in `data` (any bytes, `len` of them). 1 and `*hit` when
 * one is there, 0 when none is, FANGS_ENOMEM.
 */
FANGS_EXTERN(int) fangs_decoy_find(const fangs_decoy_matcher *m, const char *data, size_t len, fangs_decoy_hit *hit);

/**
 * Looks through the strings of a run's events that leave the sandbox (DNS
 * query names, TLS server names) and appends one finding per decoy and
 * form: kind FANGS_DECOY_FINDING_KIND, severity critical, value
 * "<place> (<form>)", a description naming the secret, and every event that
 * carried it as evidence. `run_id` and `package` label the findings.
 */
FANGS_EXTERN(int) fangs_decoy_findings(const fangs_decoy_matcher *m, const char *run_id, const char *package,
				       const fangs_event *events, size_t n_events, fangs_deviation_list *out);

FANGS_END_DECL

#endif
