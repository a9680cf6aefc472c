/*
 * fangs/fingerprint.h - fingerprints, fingerprint sets and deviations: the
 * records the differ makes, storage keeps and every front-end shows. A
 * module that stores or reads them includes this header, not fangs/differ.h.
 */
#ifndef FANGS_FINGERPRINT_H
#define FANGS_FINGERPRINT_H

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
	int64_t id; /**< storage id; 0 until stored */
	char *run_id;
	char *package; /**< the scanned package */
	char *kind;    /**< "net_new_dns", "fs_cred_read", ... or "rule:<id>" */
	fangs_severity severity;
	char *value; /**< normalized value */
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

FANGS_END_DECL

#endif
