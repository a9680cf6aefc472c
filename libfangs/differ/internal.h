/*
 * differ/internal.h - pieces the differ's files share (not installed).
 */
#ifndef FANGS_DIFFER_INTERNAL_H
#define FANGS_DIFFER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "core/internal.h"
#include "core/norm.h"
#include "fangs/differ.h"

/* The kernel refuses longer paths (ENAMETOOLONG), so anything past this
 * cannot name a real file: the normalizer cuts there and says so. */
#define FANGS__PATH_IN_MAX PATH_MAX

/* Stack buffer for one fingerprint value. Placeholders can make a value
 * longer than its input ("/proc/1" -> "/proc/<pid>"); values that still do
 * not fit go through the heap. */
#define FANGS__FP_BUF (2 * PATH_MAX)

/* Command lines kept in exec fingerprints are cut here and end with a
 * hash of the whole normalized text, so long inline scripts still differ. */
#define FANGS__CMD_MAX 1024

/* New values of one fingerprint kind reported one by one in a run; past it
 * one more deviation counts the rest (a flood must not become a flood of
 * findings). Secret reads are always reported one by one. */
#define FANGS__DEVIATIONS_PER_KIND 200

/* Fingerprint value of `ev` into `o`; false when the event has none. */
bool fangs__fp_value(const fangs__norm *ctx, const fangs_event *ev, fangs_fp_kind *kind, fangs__sink *o);

/* Hash-aware set access, so a value is hashed once per event. */
uint64_t fangs__fp_hash(fangs_fp_kind kind, fangs_actor actor, const char *value, size_t len);
bool fangs__fpset_has(const fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value,
		      size_t len);
int fangs__fpset_put(fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value,
		     size_t len);

/* Evidence event ids kept per finding. */
#define FANGS__EVIDENCE_MAX 32

/* Content (content.c): what npm unpacks into node_modules/<pkg>/. */

/* Length of the prefix of `v` that names the innermost package directory
 * (.../node_modules/<name> or .../node_modules/@scope/<name>), 0 if none;
 * `*inside`: something below that directory follows. */
size_t fangs__content_dir(const char *v, size_t len, bool *inside);

typedef enum fangs__content_what {
	FANGS__CONTENT_ADDED = 0,       /* npm wrote a file the baseline lacks */
	FANGS__CONTENT_NPM_READ = 1,    /* npm read a file of the package */
	FANGS__CONTENT_SCRIPT_READ = 2, /* a script read a file npm unpacked in this run */
	FANGS__CONTENT_REMOVED = 3      /* in the baseline, not unpacked this time */
} fangs__content_what;
#define FANGS__CONTENT_WHAT_COUNT 4

typedef struct fangs__content_item {
	fangs__content_what what;
	const char *path; /* borrowed normalized value */
	size_t first;
} fangs__content_item;

/* One package directory's summary. */
typedef struct fangs__content_sum {
	char *dir;
	size_t dlen;
	size_t first; /* index of its first evidence event */
	size_t n[FANGS__CONTENT_WHAT_COUNT];
	fangs__content_item *items;
	size_t count;
	size_t capacity;
	struct {
		char **items;
		size_t count;
		size_t capacity;
	} removed;
	size_t n_ids;
	int64_t ids[FANGS__EVIDENCE_MAX];
	bool emitted;
} fangs__content_sum;

typedef struct fangs__content_list {
	fangs__content_sum *items;
	size_t count;
	size_t capacity;
} fangs__content_list;

fangs__content_sum *fangs__content_get(fangs__content_list *l, const char *dir, size_t dlen, size_t first);
int fangs__content_add(fangs__content_sum *s, fangs__content_what what, const char *value, size_t first,
		       const int64_t *ids, size_t n_ids);
/* Files of the summarised directories that the baseline has npm writing
 * and this run's `unpacked` set lacks. */
int fangs__content_removed(fangs__content_list *l, const fangs_fpset *baseline, const fangs_fpset *unpacked);
/* The summary's text (malloc'd), a count line then one line a file. */
char *fangs__content_describe(fangs__content_sum *s);
void fangs__content_list_free(fangs__content_list *l);

/* Compiled allowlist entries (allow_match.c). */
typedef struct fangs__allow_rule {
	fangs_allow_kind kind;
	char *value; /* owned: path/exec as given; sni/dns normalized */
	size_t len;
	int family; /* cidr: 4 or 6 */
	unsigned prefix;
	unsigned char net[16];
} fangs__allow_rule;

typedef struct fangs__allow_set {
	fangs__allow_rule *items;
	size_t count;
	size_t capacity;
} fangs__allow_set;

/* Adds the entries that apply to `package` (global ones, or that package's);
 * invalid entries are skipped with a warning. */
int fangs__allow_compile(fangs__allow_set *set, const fangs_allow_entry *e, size_t n, const char *package);
void fangs__allow_set_free(fangs__allow_set *set);
/* Does an entry cover this fingerprint? `ev` is an evidence event (raw fields). */
bool fangs__allow_covers(const fangs__allow_set *set, fangs_fp_kind kind, const char *value, const fangs_event *ev);

struct fangs_differ {
	const fangs_config *config; /* borrowed: must outlive the differ */
	fangs__allow_set allow;     /* the configuration's global entries, compiled */
	fangs__infra *infra;
	size_t n_infra;
};

#endif
