/*
 * findings/internal.h - what the files of the findings module share.
 */
#ifndef FANGS_FINDINGS_INTERNAL_H
#define FANGS_FINDINGS_INTERNAL_H

#include <stddef.h>

/* A loaded Public Suffix List: its rules ("uk", "*.ck", "!www.ck"), sorted. */
typedef struct fangs__psl {
	char *text;   /* the file, its rules NUL-terminated in place */
	char **rules; /* into text, sorted (strcmp) */
	size_t n;
} fangs__psl;

/* The list at `path` (NULL = FANGS_PUBLIC_SUFFIX_LIST, loaded once per
 * process and kept; "" = none). NULL when it cannot be read (a warning is
 * logged once): names then fall back on their last two labels. `*owned`
 * is set when the caller must release the result with fangs__psl_free. */
const fangs__psl *fangs__psl_get(const char *path, int *owned);
void fangs__psl_free(const fangs__psl *psl);

/* The registrable domain of `name` into out (lower-cased, no trailing dot);
 * 0, or FANGS_EINVAL (empty, an address, too long for cap). Sets no error
 * message: a probe. */
int fangs__psl_registrable(const fangs__psl *psl, const char *name, char *out, size_t cap);

/* Is `s` an IPv4 or IPv6 address (brackets allowed)? Its canonical form
 * into out (IPv4-mapped IPv6 as IPv4) when it is. */
int fangs__addr_canon(const char *s, size_t len, char *out, size_t cap);

#endif
