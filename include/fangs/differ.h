/*
 * fangs/differ.h - normalization, fingerprints, baseline diff.
 *
 * The differ is a pure function of a run's events, the package's baseline
 * fingerprints and the allowlists: no SQL, no HTTP. It reduces each event to
 * a fingerprint (kind, normalized value, actor) and reports every
 * fingerprint the baseline lacks as a deviation with a severity and its
 * evidence events.
 */
#ifndef FANGS_DIFFER_H
#define FANGS_DIFFER_H

#include "common.h"
#include "config.h"
#include "event.h"
#include "fingerprint.h"

FANGS_BEGIN_DECL

typedef struct fangs_differ fangs_differ;

typedef struct fangs_differ_options {
	unsigned int version;
	const fangs_config *config; /**< watched paths, global allowlists, severity overrides; NULL = defaults */
	/**
	 * Since version 2: the sandbox's own network endpoints (its resolvers, a
	 * recording proxy), as "addr" (any port) or "addr:port" ("[v6]:port").
	 * Connections to them are the sandbox's plumbing: recorded, never a
	 * new destination. fangs_sandbox_infra() gives a run's. Copied.
	 */
	const char *const *infra;
	size_t n_infra;
} fangs_differ_options;

#define FANGS_DIFFER_OPTIONS_VERSION 2
#define FANGS_DIFFER_OPTIONS_INIT {FANGS_DIFFER_OPTIONS_VERSION, NULL, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_differ_options_init(fangs_differ_options *opts, unsigned int version);
FANGS_EXTERN(int) fangs_differ_new(fangs_differ **out, const fangs_differ_options *opts);
FANGS_EXTERN(void) fangs_differ_free(fangs_differ *d);

/** What a normalizer needs to know of the run. */
typedef struct fangs_norm_ctx {
	const char *package; /**< scanned package name (may be NULL) */
	const char *version; /**< scanned version: collapsed inside paths */
} fangs_norm_ctx;

/**
 * Normalizes a path so that benign run-to-run noise collapses: /proc/<PID>,
 * random /tmp names, npm cache hashes, hex components, timestamps, dates,
 * npm debug logs, the package's own version, node_modules staging dirs.
 * Writes at most `cap` bytes (NUL included); returns the length or a
 * negative code.
 */
FANGS_EXTERN(int) fangs_normalize_path(const fangs_norm_ctx *ctx, const char *path, char *out, size_t cap);
/** Lower-case, no trailing dot. */
FANGS_EXTERN(int) fangs_normalize_host(const char *name, char *out, size_t cap);
/** IPv4-mapped IPv6 becomes IPv4; IPv6 is written in canonical form. */
FANGS_EXTERN(int) fangs_normalize_addr(const char *addr, char *out, size_t cap);

/** The actor of an event: import in the import phase, else script when it
 * carries an origin, npm otherwise. */
FANGS_EXTERN(fangs_actor) fangs_event_actor(const fangs_event *ev);

/**
 * The fingerprint of one event. Returns 1 and fills `*out` (value malloc'd;
 * free with fangs_fingerprint_clear) when the event has one, 0 when it does
 * not (fork, exit, ...), <0 on error.
 */
FANGS_EXTERN(int) fangs_differ_fingerprint(const fangs_differ *d, const fangs_norm_ctx *ctx, const fangs_event *ev,
					   fangs_fingerprint *out);
FANGS_EXTERN(void) fangs_fingerprint_clear(fangs_fingerprint *fp);

/** Is `path` under a `cred: true` watched path (built-in or configured)? */
FANGS_EXTERN(int) fangs_differ_is_cred_path(const fangs_differ *d, const char *path);

/** Input of one analysis. */
typedef struct fangs_differ_input {
	const char *run_id;
	const char *package;
	const char *version;
	const fangs_event *events; /**< with storage ids set, so deviations can cite them */
	size_t n_events;
	const fangs_fpset *baseline;    /**< NULL or empty: nothing to compare (first run) */
	const fangs_allow_entry *allow; /**< per-package entries (config's global ones are added) */
	size_t n_allow;
} fangs_differ_input;

/**
 * Diffs a run against a baseline. Fills `run_fps` (if non-NULL) with every
 * fingerprint of the run and appends one deviation per fingerprint that the
 * baseline lacks and no allowlist covers, except what is folded: what npm
 * unpacked into a package directory (and a script's reads of it) becomes
 * one "content_changed" deviation per directory, at info, its description
 * listing the files; the sandbox's own endpoints, system-information reads
 * and a new program's loader reads are not reported (docs/differ-rules.md).
 * With no baseline nothing deviates.
 */
FANGS_EXTERN(int) fangs_differ_analyze(const fangs_differ *d, const fangs_differ_input *in, fangs_fpset *run_fps,
				       fangs_deviation_list *out);

FANGS_END_DECL

#endif
