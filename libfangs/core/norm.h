/*
 * core/norm.h - the differ's normalization, shared with the rules (defined in
 * differ/: norm_*.c, cred.c, differ.c). Modules judging events use these,
 * never differ/internal.h.
 */
#ifndef FANGS_CORE_NORM_H
#define FANGS_CORE_NORM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/differ.h"

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

/* Credential places (cred.c): `raw` as observed, `norm` normalized (either may be NULL). */
bool fangs__is_cred(const fangs_config *cfg, const char *raw, const char *norm);
/* The file a file_open reached, as it is judged: the decoy it is, else the
 * kernel's path of it, else the path as written (a failed open). */
const char *fangs__open_path(const fangs_event *ev);
/* Is the file a file_open reached a credential: a decoy (by identity), a
 * credential place by its real path or by the path written? `norm` is the
 * normalized fangs__open_path() when known (may be NULL). */
bool fangs__open_is_cred(const fangs_config *cfg, const fangs_event *ev, const char *norm);

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

#endif
