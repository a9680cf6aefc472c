/*
 * fangs/project.h - npm projects: what a lockfile pins, how each package is
 * reached from the project, what changed between two lockfiles, and npm's
 * install-script approvals (allowScripts).
 *
 * Lockfiles are package-lock.json or npm-shrinkwrap.json of lockfileVersion
 * 2 or 3 (npm 7 and later): their "packages" map, keyed by install location
 * ("node_modules/a/node_modules/b"). Everything read is checked; a bad file
 * is FANGS_EPARSE with a message naming the file and the key.
 */
#ifndef FANGS_PROJECT_H
#define FANGS_PROJECT_H

#include "common.h"

FANGS_BEGIN_DECL

/** One installed package of a lockfile. */
typedef struct fangs_lock_package {
	char *path;             /**< install location: "node_modules/a/node_modules/b" */
	char *name;             /**< the package's name (its "name", else the location's last part) */
	char *version;          /**< exact version */
	char *resolved;         /**< where npm fetches it; NULL when absent */
	char *integrity;        /**< SRI ("sha512-..." / "sha1-..."); NULL when absent */
	int has_install_script; /**< the lock's hasInstallScript */
	int dev;                /**< only needed by devDependencies */
	int optional;           /**< only needed by optionalDependencies */
	int link;               /**< a link to a folder of the project (workspace): not a registry package */
	char **deps;            /**< names it depends on: dependencies, optionalDependencies, peerDependencies */
	size_t n_deps;
} fangs_lock_package;

typedef struct fangs_lockfile {
	char *file;    /**< the file it was read from (as given) */
	char *name;    /**< the root package's name; NULL when absent */
	char *version; /**< the root package's version; NULL when absent */
	int lockfile_version;
	char **root_deps; /**< the root's dependencies, devDependencies, optionalDependencies */
	size_t n_root_deps;
	fangs_lock_package *packages; /**< every package but the root, in the file's order */
	size_t count;
} fangs_lockfile;

/**
 * Parses a lockfile's text. `file` names it in error messages (and is kept
 * in out->file); NULL = "lockfile". FANGS_EPARSE for anything that is not a
 * lockfile of version 2 or 3, naming the file and the key at fault.
 */
FANGS_EXTERN(int) fangs_lockfile_parse(fangs_lockfile *out, const char *text, size_t len, const char *file);

/** Reads and parses the lockfile at `path`: FANGS_ENOTFOUND when missing. */
FANGS_EXTERN(int) fangs_lockfile_load(fangs_lockfile *out, const char *path);

/**
 * The lockfile of the project in `dir`: npm-shrinkwrap.json when present (npm
 * prefers it), else package-lock.json. `path_out` (may be NULL) receives the
 * file's path. FANGS_ENOTFOUND when the project has none.
 */
FANGS_EXTERN(int) fangs_lockfile_find_in(const char *dir, char *path_out, size_t cap);

FANGS_EXTERN(void) fangs_lockfile_clear(fangs_lockfile *lf);

/** The package installed at `path` ("node_modules/a"), or NULL. */
FANGS_EXTERN(const fangs_lock_package *) fangs_lockfile_at(const fangs_lockfile *lf, const char *path);

/**
 * The shortest dependency paths from the project to package `index` (an
 * index into lf->packages), at most `max` of them (0 = 8): each path is a
 * list of indexes into lf->packages from a dependency of the project down to
 * the package itself, terminated by (size_t)-1. A dependency is found where
 * npm's require() finds it: in the depending package's own node_modules,
 * else in each enclosing node_modules up to the project's. Free with
 * fangs_lock_paths_free(). *n = 0 when nothing reaches it (an extraneous
 * entry).
 */
FANGS_EXTERN(int) fangs_lockfile_paths(const fangs_lockfile *lf, size_t index, size_t max, size_t ***paths, size_t *n);
FANGS_EXTERN(void) fangs_lock_paths_free(size_t **paths, size_t n);

/**
 * A dependency path as text: "a@1.0.0 > b@2.0.0 > c@3.0.0" (the shortest
 * one; "" when none), into out. Returns the length it needed (as
 * snprintf), or a negative FANGS_E* code.
 */
FANGS_EXTERN(int) fangs_lockfile_path_text(const fangs_lockfile *lf, size_t index, char *out, size_t cap);

typedef enum fangs_lock_change_kind {
	FANGS_LOCK_ADDED = 0,   /**< a package the old lockfile did not have at all */
	FANGS_LOCK_CHANGED = 1, /**< a version the old lockfile did not have, or the same version with other bytes
				     (integrity) */
	FANGS_LOCK_REMOVED = 2  /**< a package the new lockfile no longer has */
} fangs_lock_change_kind;

FANGS_EXTERN(const char *) fangs_lock_change_kind_name(fangs_lock_change_kind k);

typedef struct fangs_lock_change {
	fangs_lock_change_kind kind;
	char *name;
	char *old_version;      /**< CHANGED, REMOVED: the old lockfile's version(s), comma-separated; NULL for ADDED */
	char *new_version;      /**< ADDED, CHANGED: the new version; NULL for REMOVED */
	size_t index;           /**< ADDED, CHANGED: an index into the new lockfile's packages (its first location) */
	int has_install_script; /**< ADDED, CHANGED: the new release has install scripts */
} fangs_lock_change;

typedef struct fangs_lock_diff {
	fangs_lock_change *items; /**< by name, then version */
	size_t count;
} fangs_lock_diff;

/**
 * What changed from `old` to `new`, by release (name@version): one change per
 * release of the new lockfile that the old one lacks (ADDED when the name is
 * new, CHANGED otherwise, or when the same version has another integrity),
 * and one per name the new lockfile no longer has (REMOVED). Links are
 * skipped.
 */
FANGS_EXTERN(int) fangs_lockfile_diff(const fangs_lockfile *old_lf, const fangs_lockfile *new_lf, fangs_lock_diff *out);
FANGS_EXTERN(void) fangs_lock_diff_clear(fangs_lock_diff *d);

/**
 * npm's install-script approvals of the project in `dir`: the allowScripts
 * object of its package.json ({"name": true|false, "name@1.2.3": true|false})
 * and the allow-scripts setting of its .npmrc (a comma-separated list of
 * names or name@version). Is `name`@`version` approved? 1 approved, 0 not
 * (no entry, or an entry false: a denial wins), or a negative FANGS_E*
 * (FANGS_EPARSE: a package.json that is not JSON, or an allowScripts that is
 * not an object). A range entry (name@^1) approves only a version it names
 * exactly.
 */
FANGS_EXTERN(int) fangs_project_script_approved(const char *dir, const char *name, const char *version);

/**
 * Writes pinned approvals "name@version": true into the allowScripts object
 * of `dir`/package.json, as `npm install-scripts approve` does, keeping the
 * rest of the file; a package the project denies (an entry false, by name or
 * for this version) is left denied and not approved. `specs` are
 * "name@version". `approved` (may be NULL) counts the entries written.
 */
FANGS_EXTERN(int) fangs_project_approve(const char *dir, const char *const *specs, size_t n, size_t *approved);

FANGS_END_DECL

#endif
