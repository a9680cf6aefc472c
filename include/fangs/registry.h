/*
 * fangs/registry.h - the npm registry side of a run.
 *
 * fangs_prefetch() resolves and downloads a package's whole dependency tree
 * on the host with scripts disabled (only npm's own code runs), so that the
 * sandbox can install it offline (fangs_sandbox_spec.project_dir and
 * .cache_dir) with no network at all.
 */
#ifndef FANGS_REGISTRY_H
#define FANGS_REGISTRY_H

#include "common.h"

FANGS_BEGIN_DECL

typedef struct fangs_prefetch_options {
	unsigned int version;
	/** What to install: "name@version", "name", the path of a .tgz, or the
	 * path of a package directory (packed on the host, scripts disabled). */
	const char *const *specs;
	size_t nspecs;
	/** Registry URL; NULL = npm's own configuration (`npm config get registry`). */
	const char *registry;
	/** npm cache to fill (created when missing); required. */
	const char *cache_dir;
	/** Receives package.json, package-lock.json and local tarballs; created
	 * when missing, must not hold a package.json yet; required. */
	const char *project_dir;
	/** npm command; NULL = "npm". */
	const char *npm;
	/** Retries of a failed fetch; 0 = npm's default, <0 = none. */
	int fetch_retries;
	/** Since version 2: an npm project directory instead of specs: its
	 * package.json and lockfile (npm-shrinkwrap.json, else
	 * package-lock.json) are copied into project_dir and exactly what the
	 * lockfile pins is fetched (`npm ci --ignore-scripts`), each tarball
	 * checked against the lockfile's integrity (SRI sha512 / sha1) before
	 * it enters the cache. No lockfile is FANGS_ENOTFOUND, one out of sync
	 * with package.json FANGS_EINVAL, unless `resolve`. */
	const char *project;
	/** Since version 2: with `project`, a missing or stale lockfile is resolved
	 * anew (`npm install --package-lock-only --ignore-scripts`) instead
	 * (fangs_prefetch_result.resolved says so). */
	int resolve;
} fangs_prefetch_options;

#define FANGS_PREFETCH_OPTIONS_VERSION 2
#define FANGS_PREFETCH_OPTIONS_INIT {FANGS_PREFETCH_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_prefetch_options_init(fangs_prefetch_options *opts, unsigned int version);
typedef struct fangs_prefetch_result {
	char *output; /**< the tail of npm's output (NUL-terminated), also on failure */
	/** With options version 2 (written only then: a caller of version 1
	 * may pass a result without it) and options.project: 1 when the
	 * lockfile was resolved anew (missing or out of sync, and
	 * options.resolve). */
	int resolved;
} fangs_prefetch_result;

/**
 * Prefetches. Fails with FANGS_ENOTFOUND when a package or version does not
 * exist, FANGS_ENETWORK when the registry cannot be reached, FANGS_EPARSE for
 * a corrupt tarball, FANGS_ERROR for other npm failures; the message names
 * the cause and result->output holds npm's own words. `result` may be NULL.
 */
FANGS_EXTERN(int) fangs_prefetch(const fangs_prefetch_options *opts, fangs_prefetch_result *result);

FANGS_EXTERN(void) fangs_prefetch_result_clear(fangs_prefetch_result *result);

/**
 * The registry URL npm is configured with on this host (`npm config get
 * registry`; `npm` NULL = the one on PATH) into `out`. 0, or
 * FANGS_ENOTFOUND (out empty) when npm cannot be run or names none.
 */
FANGS_EXTERN(int) fangs_registry_configured(const char *npm, char *out, size_t cap);

/**
 * Does `package` have `version` (or a dist-tag of that name) in the
 * registry at URL `registry`? One GET of the package's document. 0 yes;
 * FANGS_ENOTFOUND (the message says whether the package or the version is
 * missing), FANGS_ENETWORK (unreachable, or an HTTP status other than 200
 * and 404), FANGS_EPARSE (not an npm package document), FANGS_EINVAL.
 */
FANGS_EXTERN(int) fangs_registry_release_exists(const char *registry, const char *package, const char *version);

FANGS_END_DECL

#endif
