/*
 * differ/internal.h - pieces the differ's files share (not installed).
 */
#ifndef FANGS_DIFFER_INTERNAL_H
#define FANGS_DIFFER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "core/internal.h"
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

/* A bounded writer: writes what fits (leaving room for the NUL), counts
 * everything, so the caller learns the length it would have needed. */
typedef struct fangs__sink {
	char *p;
	size_t cap;
	size_t len;
} fangs__sink;

static inline void fangs__sink_init(fangs__sink *s, char *p, size_t cap)
{
	s->p = p;
	s->cap = cap;
	s->len = 0;
}

static inline void fangs__sink_put(fangs__sink *s, const char *d, size_t n)
{
	if (s->cap && s->len + 1 < s->cap) {
		size_t room = s->cap - 1 - s->len;
		memcpy(s->p + s->len, d, n < room ? n : room);
	}
	s->len += n;
}

static inline void fangs__sink_putc(fangs__sink *s, char c)
{
	if (s->len + 1 < s->cap)
		s->p[s->len] = c;
	s->len++;
}

static inline void fangs__sink_puts(fangs__sink *s, const char *str)
{
	fangs__sink_put(s, str, strlen(str));
}

/* NUL-terminates what was written; returns the full (needed) length. */
static inline size_t fangs__sink_end(fangs__sink *s)
{
	if (s->cap)
		s->p[s->len < s->cap ? s->len : s->cap - 1] = '\0';
	return s->len;
}

/* A normalization context prepared once per run rather than once per path
 * component. The version is kept as the token pass rewrites it, because it
 * is looked for in text the token pass has already been over. */
#define FANGS__VERSION_MAX 256
typedef struct fangs__norm {
	size_t vlen; /* 0: no version worth collapsing */
	char version[FANGS__VERSION_MAX + 1];
} fangs__norm;

void fangs__norm_prepare(fangs__norm *nz, const fangs_norm_ctx *ctx);

/* Normalization (norm_path.c, norm_cmd.c, norm_net.c); `ctx` may be NULL. */
void fangs__norm_path(const fangs__norm *ctx, const char *path, size_t len, fangs__sink *o);
/* In-component noise: dates, timestamps, hex runs, uuids, the version. */
void fangs__norm_tokens(const fangs__norm *ctx, const char *s, size_t n, fangs__sink *o);
/* A command line's words: whitespace collapsed, paths and tokens normalized. */
void fangs__norm_words(const fangs__norm *ctx, const char *s, size_t n, fangs__sink *o);
void fangs__norm_host(const char *name, fangs__sink *o);
/* 4 or 6 and the raw bytes when `addr` is an IP address, 0 otherwise. */
int fangs__parse_addr(const char *addr, unsigned char bytes[16]);
/* Feeds the literal payload-like runs of a command line's text (outside
 * its paths: base64, hex, long numbers) into *h; returns how many. */
size_t fangs__code_digest(const char *s, size_t n, uint64_t *h);
/* Is the exec an interpreter running inline code (sh -c, node -e, ...)? */
bool fangs__exec_inline_code(const fangs_event *ev);

/* Fingerprint value of `ev` into `o`; false when the event has none. */
bool fangs__fp_value(const fangs__norm *ctx, const fangs_event *ev, fangs_fp_kind *kind, fangs__sink *o);

/* Hash-aware set access, so a value is hashed once per event. */
uint64_t fangs__fp_hash(fangs_fp_kind kind, fangs_actor actor, const char *value, size_t len);
bool fangs__fpset_has(const fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor,
		      const char *value, size_t len);
int fangs__fpset_put(fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value,
		     size_t len);

/* Credential places (cred.c): `raw` as observed, `norm` normalized (either may be NULL). */
bool fangs__is_cred(const fangs_config *cfg, const char *raw, const char *norm);
/* The file a file_open reached, as it is judged: the decoy it is, else the
 * kernel's path of it, else the path as written (a failed open). */
const char *fangs__open_path(const fangs_event *ev);
/* Is the file a file_open reached a credential: a decoy (by identity), a
 * credential place by its real path or by the path written? `norm` is the
 * normalized fangs__open_path() when known (may be NULL). */
bool fangs__open_is_cred(const fangs_config *cfg, const fangs_event *ev, const char *norm);

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
bool fangs__allow_covers(const fangs__allow_set *set, fangs_fp_kind kind, const char *value,
			 const fangs_event *ev);

/* Severity of a finding kind: the package's override, a global one, else `fallback`. */
fangs_severity fangs__severity_for(const fangs_config *cfg, const char *package, const char *kind,
				   fangs_severity fallback);
/* An exec's argv joined by spaces (malloc'd; NULL on ENOMEM). */
char *fangs__join_argv(const fangs_event *ev);

/* A sandbox endpoint (fangs_differ_options.infra). */
typedef struct fangs__infra {
	int family; /* 4 or 6 */
	unsigned char addr[16];
	unsigned port; /* 0: any */
} fangs__infra;

/* "addr", "addr:port", "[v6]" or "[v6]:port" (norm_net.c); 0 or FANGS_EINVAL. */
int fangs__infra_parse(const char *text, fangs__infra *out);
/* Is addr:port one of `x`? */
bool fangs__infra_match(const fangs__infra *x, size_t n, const char *addr, unsigned port);

struct fangs_differ {
	const fangs_config *config; /* borrowed: must outlive the differ */
	fangs__allow_set allow;     /* the configuration's global entries, compiled */
	fangs__infra *infra;
	size_t n_infra;
};

#endif
