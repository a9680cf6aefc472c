/*
 * differ/chars.h - character classes of the normalizers (locale-free:
 * paths are bytes, whatever the process's locale says).
 */
#ifndef FANGS_DIFFER_CHARS_H
#define FANGS_DIFFER_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	C_DIGIT = 1,
	C_LOWER = 2,
	C_UPPER = 4,
	C_HEX = 8
};

/* hidden: read through a GOT entry on every byte otherwise */
extern __attribute__((visibility("hidden"))) const uint8_t fangs__cclass[256];

#define CC(c) fangs__cclass[(unsigned char)(c)]

static inline bool is_digit(char c)
{
	return CC(c) & C_DIGIT;
}

static inline bool is_lower(char c)
{
	return CC(c) & C_LOWER;
}

static inline bool is_upper(char c)
{
	return CC(c) & C_UPPER;
}

static inline bool is_alnum(char c)
{
	return CC(c) & (C_DIGIT | C_LOWER | C_UPPER);
}

static inline bool is_hex(char c)
{
	return CC(c) & C_HEX;
}

static inline bool all_of(const char *s, size_t n, bool (*cls)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!cls(s[i]))
			return false;
	return n > 0;
}

static inline bool digits_n(const char *s, size_t n)
{
	return all_of(s, n, is_digit);
}

/* ISO-8601-ish date (and time) at p; its length, 0 if none (norm_tokens.c). */
size_t fangs__match_iso_date(const char *p, size_t n);

#endif
