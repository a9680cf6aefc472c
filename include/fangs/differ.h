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

FANGS_BEGIN_DECL

typedef enum fangs_fp_kind {
	FANGS_FP_FS_READ = 0,  /**< "fs_read" */
	FANGS_FP_FS_WRITE = 1, /**< "fs_write" */
	FANGS_FP_EXEC = 2,     /**< "exec" */
	FANGS_FP_NET = 3,      /**< "net": addr:port/proto */
	FANGS_FP_DNS = 4,      /**< "dns": qname */
	FANGS_FP_SNI = 5,      /**< "sni" */
	FANGS_FP_SYSCALL = 6   /**< "syscall": op, detail and path of a privileged operation */
} fangs_fp_kind;

#define FANGS_FP_KIND_COUNT 7

/** Who acted: npm's own work, a package's lifecycle script, or the package's
 * code run when it is required after the install (the import phase). */
typedef enum fangs_actor {
	FANGS_ACTOR_NPM = 0,    /**< "npm" */
	FANGS_ACTOR_SCRIPT = 1, /**< "script" */
	FANGS_ACTOR_IMPORT = 2  /**< "import": an event of the import phase */
} fangs_actor;

#define FANGS_ACTOR_MAX 2

typedef struct fangs_fingerprint {
	fangs_fp_kind kind;
	fangs_actor actor;
	char *value; /**< normalized value */
} fangs_fingerprint;

/** A set of fingerprints (hash set). */
typedef struct fangs_fpset fangs_fpset;

FANGS_EXTERN(int) fangs_fpset_new(fangs_fpset **out);
FANGS_EXTERN(void) fangs_fpset_free(fangs_fpset *set);
/** Adds a copy; returns 1 if added, 0 if already present, <0 on error. */
FANGS_EXTERN(int) fangs_fpset_add(fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor, const char *value);
FANGS_EXTERN(int) fangs_fpset_contains(const fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor,
				       const char *value);
FANGS_EXTERN(size_t) fangs_fpset_size(const fangs_fpset *set);
/** Adds every member of `src` to `dst`. */
FANGS_EXTERN(int) fangs_fpset_merge(fangs_fpset *dst, const fangs_fpset *src);
/** Calls `fn` for each member in an unspecified order; a non-zero return stops
 * the walk and is returned. */
typedef int (*fangs_fpset_fn)(const fangs_fingerprint *fp, void *user);
FANGS_EXTERN(int) fangs_fpset_foreach(const fangs_fpset *set, fangs_fpset_fn fn, void *user);

FANGS_EXTERN(const char *) fangs_fp_kind_name(fangs_fp_kind kind);
FANGS_EXTERN(int) fangs_fp_kind_parse(const char *name, fangs_fp_kind *out);
FANGS_EXTERN(const char *) fangs_actor_name(fangs_actor actor);
FANGS_EXTERN(int) fangs_actor_parse(const char *name, fangs_actor *out);

/** A finding: a deviation from the baseline, or (kind "rule:<id>") a rule hit. */
typedef struct fangs_deviation {
	int64_t id;          /**< storage id; 0 until stored */
	char *run_id;
	char *package;       /**< the scanned package */
	char *kind;          /**< "net_new_dns", "fs_cred_read", ... or "rule:<id>" */
	fangs_severity severity;
	char *value;         /**< normalized value */
	fangs_actor actor;
	char *description;   /**< for rule hits: what the rule means; may be NULL */
	fangs_origin origin; /**< of the first evidence event */
	char *command;       /**< command line of the acting process, when known */
	int64_t *evidence;   /**< event ids (storage ids of the run's events) */
	size_t n_evidence;
	int64_t created_ns;
} fangs_deviation;

typedef struct fangs_deviation_list {
	fangs_deviation *items;
	size_t count;
	size_t capacity;
} fangs_deviation_list;

FANGS_EXTERN(void) fangs_deviation_clear(fangs_deviation *dev);
FANGS_EXTERN(fangs_deviation *) fangs_deviation_list_push(fangs_deviation_list *list);
FANGS_EXTERN(void) fangs_deviation_list_free(fangs_deviation_list *list);
/** Highest severity in the list; FANGS_SEV_INFO when empty (check count). */
FANGS_EXTERN(fangs_severity) fangs_deviation_list_max_severity(const fangs_deviation_list *list);

/** Default severity of a deviation kind (FANGS_SEV_MEDIUM for unknown kinds). */
FANGS_EXTERN(fangs_severity) fangs_deviation_kind_default_severity(const char *kind);

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
FANGS_EXTERN(int) fangs_differ_fingerprint(const fangs_differ *d, const fangs_norm_ctx *ctx,
					   const fangs_event *ev, fangs_fingerprint *out);
FANGS_EXTERN(void) fangs_fingerprint_clear(fangs_fingerprint *fp);

/** Is `path` under a `cred: true` watched path (built-in or configured)? */
FANGS_EXTERN(int) fangs_differ_is_cred_path(const fangs_differ *d, const char *path);

/** Input of one analysis. */
typedef struct fangs_differ_input {
	const char *run_id;
	const char *package;
	const char *version;
	const fangs_event *events;   /**< with storage ids set, so deviations can cite them */
	size_t n_events;
	const fangs_fpset *baseline; /**< NULL or empty: nothing to compare (first run) */
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
