/*
 * differ/norm_tokens.c - noise inside one path component or word: dates,
 * time stamps, hex runs, uuids, and the scanned package's own version.
 *
 * A "token" is a maximal run of ASCII letters and digits. Replacements never
 * make text longer, and running the pass over its own output changes
 * nothing, which the fuzz target checks.
 */
#include <stdlib.h>
#include <string.h>

#include "differ/chars.h"
#include "differ/internal.h"

const uint8_t fangs__cclass[256] = {
	['0' ... '9'] = C_DIGIT | C_HEX, ['a' ... 'f'] = C_LOWER | C_HEX, ['g' ... 'z'] = C_LOWER,
	['A' ... 'F'] = C_UPPER | C_HEX, ['G' ... 'Z'] = C_UPPER,
};

static bool two_digits_in(const char *p, int lo, int hi)
{
	int v;
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return false;
	v = (p[0] - '0') * 10 + (p[1] - '0');
	return v >= lo && v <= hi;
}

static bool is_yyyymmdd(const char *p)
{
	return digits_n(p, 4) && (p[0] == '1' || p[0] == '2') && two_digits_in(p + 4, 1, 12) &&
	       two_digits_in(p + 6, 1, 31);
}

/* ISO-8601-ish date with an optional time, in the spellings file names use:
 * 2024-05-01, 2024-05-01T10:22:33.123Z, 2024-05-01T10_22_33_123Z,
 * 2024-05-01_10-22-33. Returns the length matched, 0 if none. A match may
 * not run into a digit, so each optional part that fits is a place the
 * match may end; the longest of those wins. */
size_t fangs__match_iso_date(const char *p, size_t n)
{
	size_t ends[5], n_ends = 0, k;
	if (n < 10 || !digits_n(p, 4) || p[4] != '-' || !two_digits_in(p + 5, 1, 12) || p[7] != '-' ||
	    !two_digits_in(p + 8, 1, 31))
		return 0;
	k = 10;
	ends[n_ends++] = k;
	if (k + 6 <= n && (p[k] == 'T' || p[k] == '_' || p[k] == ' ') && two_digits_in(p + k + 1, 0, 23) &&
	    (p[k + 3] == ':' || p[k + 3] == '-' || p[k + 3] == '_') && two_digits_in(p + k + 4, 0, 59)) {
		k += 6;
		ends[n_ends++] = k;
		if (k + 3 <= n && (p[k] == ':' || p[k] == '-' || p[k] == '_') && two_digits_in(p + k + 1, 0, 60)) {
			k += 3;
			ends[n_ends++] = k;
		}
		if (k + 2 <= n && (p[k] == '.' || p[k] == '_' || p[k] == ',') && is_digit(p[k + 1])) {
			size_t f = k + 1;
			while (f < n && f - k <= 9 && is_digit(p[f]))
				f++;
			k = f;
			ends[n_ends++] = k;
		}
		if (k < n && p[k] == 'Z')
			ends[n_ends++] = ++k;
	}
	while (n_ends > 0) {
		k = ends[--n_ends];
		if (k >= n || !is_digit(p[k]))
			return k;
	}
	return 0;
}

static size_t match_uuid(const char *p, size_t n)
{
	static const uint8_t groups[] = {8, 4, 4, 4, 12};
	size_t k = 0;
	if (n < 36)
		return 0;
	for (size_t g = 0; g < FANGS_ARRAY_SIZE(groups); g++) {
		if (g && p[k++] != '-')
			return 0;
		for (size_t j = 0; j < groups[g]; j++)
			if (!is_hex(p[k++]))
				return 0;
	}
	if (k < n && is_alnum(p[k]))
		return 0;
	return k;
}

/* What a whole alnum token stands for, or NULL to keep it. */
static const char *classify_token(const char *t, size_t m)
{
	unsigned any = 0, all = C_DIGIT | C_HEX;
	for (size_t i = 0; i < m; i++) {
		any |= CC(t[i]);
		all &= CC(t[i]);
	}
	bool digits = all & C_DIGIT, hex = all & C_HEX, dig = any & C_DIGIT, alpha = any & (C_LOWER | C_UPPER);
	if (digits) {
		/* epoch seconds/ms/us/ns; a pid never has this many digits */
		if (m >= 9)
			return "<ts>";
		if (m == 8 && is_yyyymmdd(t))
			return "<date>";
		return NULL;
	}
	/* 20240501T102233Z */
	if ((m == 15 || (m == 16 && t[15] == 'Z')) && is_yyyymmdd(t) && t[8] == 'T' && digits_n(t + 9, 6))
		return "<date>";
	if (hex && m >= 8 && dig && alpha)
		return "<hex>";
	return NULL;
}

/*
 * esbuild names chunks and assets [name]-[hash]: eight characters of its
 * base32 alphabet (A-Z, 2-7), chunk-3UKL5HUI.js. One such hash in five has
 * no digit, so the token must stand where a bundler puts its hash: after a
 * '-', before a '.' or the end, upper case with at least one letter.
 */
static bool base32_hash(const char *s, size_t n, size_t i, size_t m)
{
	bool letter = false;
	if (m != 8 || i == 0 || s[i - 1] != '-' || (i + m < n && s[i + m] != '.'))
		return false;
	for (size_t k = i; k < i + m; k++) {
		if (is_upper(s[k]))
			letter = true;
		else if (s[k] < '2' || s[k] > '7')
			return false;
	}
	return letter;
}

static void tokens_plain(const char *s, size_t n, fangs__sink *o)
{
	size_t i = 0, lit = 0;
	while (i < n) {
		size_t m, j;
		const char *repl;
		if (!is_alnum(s[i])) {
			i++;
			continue;
		}
		if ((m = fangs__match_iso_date(s + i, n - i)))
			repl = "<date>";
		else if ((m = match_uuid(s + i, n - i)))
			repl = "<hex>";
		else {
			for (j = i; j < n && is_alnum(s[j]);)
				j++;
			m = j - i;
			repl = classify_token(s + i, m);
			if (!repl && base32_hash(s, n, i, m))
				repl = "<hash>";
		}
		if (repl) {
			fangs__sink_put(o, s + lit, i - lit);
			fangs__sink_puts(o, repl);
			lit = i + m;
		}
		i += m;
	}
	fangs__sink_put(o, s + lit, n - lit);
}

static bool version_usable(const char *v, size_t vlen)
{
	bool dig = false, dot = false;
	if (vlen < 3 || vlen > FANGS__VERSION_MAX)
		return false;
	for (size_t i = 0; i < vlen; i++) {
		dig |= is_digit(v[i]);
		dot |= v[i] == '.';
	}
	return dig && dot;
}

/* The version must stand alone, between separators (or after a "v"): not
 * the tail of 11.2.3 or abc1.2.3, not the head of 1.2.30, 1.2.3.4 or
 * 1.2.3abc. Only then does rewriting it leave the tokens around it as they
 * were. A neighbour that is itself the version counts as a separator, as
 * it will once replaced. */
static bool version_at(const char *s, size_t n, size_t i, const char *v, size_t vlen, size_t last_end)
{
	size_t j = i + vlen;
	if (j > n || memcmp(s + i, v, vlen) != 0)
		return false;
	if (i > 0 && i != last_end) {
		char c = s[i - 1];
		if (c == 'v' || c == 'V') {
			if (i >= 2 && i - 1 != last_end && (is_alnum(s[i - 2]) || s[i - 2] == '.'))
				return false;
		} else if (is_alnum(c) || c == '.') {
			return false;
		}
	}
	if (j < n && !(j + vlen <= n && memcmp(s + j, v, vlen) == 0)) {
		if (is_alnum(s[j]) || (s[j] == '.' && j + 1 < n && is_digit(s[j + 1])))
			return false;
	}
	return true;
}

void fangs__norm_prepare(fangs__norm *nz, const fangs_norm_ctx *ctx)
{
	const char *v = ctx ? ctx->version : NULL;
	size_t vlen = v ? strlen(v) : 0;
	fangs__sink o;

	nz->vlen = 0;
	nz->version[0] = '\0';
	if (!v || !version_usable(v, vlen))
		return;
	fangs__sink_init(&o, nz->version, sizeof(nz->version));
	tokens_plain(v, vlen, &o);
	nz->vlen = fangs__sink_end(&o);
}

static void replace_version(const fangs__norm *ctx, const char *s, size_t n, fangs__sink *o)
{
	const char *v = ctx->version;
	size_t vlen = ctx->vlen, start = 0, i = 0, last_end = SIZE_MAX;
	while (i + vlen <= n) {
		const char *hit = memchr(s + i, v[0], n - vlen + 1 - i);
		if (!hit)
			break;
		i = (size_t)(hit - s);
		if (version_at(s, n, i, v, vlen, last_end)) {
			fangs__sink_put(o, s + start, i - start);
			fangs__sink_puts(o, "<version>");
			i += vlen;
			start = last_end = i;
		} else {
			i++;
		}
	}
	fangs__sink_put(o, s + start, n - start);
}

/* Tokens first, then the version in what they left: deciding where the
 * version stands alone on the raw text would give a different answer once
 * a neighbouring time stamp has become <ts>, and normalizing a normalized
 * path must change nothing. */
void fangs__norm_tokens(const fangs__norm *ctx, const char *s, size_t n, fangs__sink *o)
{
	char local[1024];
	char *buf = local;
	fangs__sink t;
	size_t m;
	char v0 = ctx ? ctx->version[0] : '\0';

	/* fast path: a digit or symbol the version starts with is not in the text
	 * (placeholders only bring in '<', '>' and lower-case letters) */
	if (!ctx || !ctx->vlen || n < ctx->vlen || (v0 != '<' && v0 != '>' && !is_lower(v0) && !memchr(s, v0, n))) {
		tokens_plain(s, n, o);
		return;
	}
	/* the token pass never makes text longer */
	if (n + 1 > sizeof(local) && !(buf = malloc(n + 1))) {
		tokens_plain(s, n, o);
		return;
	}
	fangs__sink_init(&t, buf, n + 1);
	tokens_plain(s, n, &t);
	m = fangs__sink_end(&t);
	replace_version(ctx, buf, m < n ? m : n, o);
	if (buf != local)
		free(buf);
}
