/*
 * differ/norm_cmd.c - command lines of interpreters running inline code.
 *
 * Every lifecycle script runs as `sh -c <script>`, so `/bin/sh` is in every
 * baseline; a new `sh -c "curl ...|sh"` must not hide behind it. For shells
 * and script interpreters given code on the command line the fingerprint
 * keeps that code, with whitespace collapsed and the same noise removed as
 * in paths.
 *
 * That noise pass folds hex runs, long numbers and uuids, which is also
 * where an obfuscated payload lives (eval(Buffer.from('68747470...','hex'))):
 * so the literal payload-like runs of inline code, outside its paths, are
 * kept as a digest next to the normalized text (fangs__code_digest).
 */
#include <string.h>

#include "differ/internal.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Characters after which a '/' starts a path ("--prefix=/tmp/x", "2>/dev/null",
 * "'/tmp/x'"); ':' is not one of them so that URLs stay whole. */
static bool path_may_start_after(char c)
{
	return c == '=' || c == '<' || c == '>' || c == '\'' || c == '"' || c == '(' || c == '`' || c == ',' ||
	       c == '|' || c == ';' || c == '&';
}

static bool path_ends_at(char c)
{
	return c == '\'' || c == '"' || c == '`' || c == ';' || c == '|' || c == '&' || c == '<' || c == '>' ||
	       c == '(' || c == ')' || c == '{' || c == '}' || c == ',';
}

static bool has_prefix_at(const char *w, size_t m, size_t p, const char *lit)
{
	size_t n = strlen(lit);
	return p + n <= m && memcmp(w + p, lit, n) == 0;
}

/*
 * Does a path start at w[p] ('/' or "~/")? At the start of the word or
 * after a character that ends a name (=, quotes, redirections...); after a
 * ':' that does not begin "//" (a search path, a:/b, not a URL); and
 * wherever a user's home begins (-I/home/u, cmd_/home/u, .deps//home/u),
 * unless the word is a URL: the home's owner is a name the sandbox picks
 * anew for every run, so it must fold wherever a build tool writes it.
 */
static bool path_starts(const char *w, size_t m, size_t p)
{
	if (w[p] != '/' && !(w[p] == '~' && p + 1 < m && w[p + 1] == '/'))
		return false;
	if (p == 0 || path_may_start_after(w[p - 1]))
		return true;
	if (w[p - 1] == ':' && w[p] == '/' && !(p + 1 < m && w[p + 1] == '/'))
		return true;
	if (!has_prefix_at(w, m, p, "/home/"))
		return false;
	for (size_t k = 0; k + 2 < p; k++)
		if (w[k] == ':' && w[k + 1] == '/' && w[k + 2] == '/')
			return false;
	return true;
}

/* Where the path that starts at w[p] ends: at a character that ends a
 * name, or at a ':' that starts another path (a search path, a:/b). */
static size_t path_end(const char *w, size_t m, size_t p)
{
	size_t e = p;
	while (e < m && !path_ends_at(w[e]) &&
	       !(w[e] == ':' && e + 1 < m && w[e + 1] == '/' && !(e + 2 < m && w[e + 2] == '/')))
		e++;
	return e;
}

static void norm_word(const fangs__norm *ctx, const char *w, size_t m, fangs__sink *o)
{
	size_t lit = 0, p = 0;
	while (p < m) {
		if (path_starts(w, m, p)) {
			size_t e = path_end(w, m, p);
			fangs__norm_tokens(ctx, w + lit, p - lit, o);
			fangs__norm_path(ctx, w + p, e - p, o);
			p = lit = e;
		} else {
			p++;
		}
	}
	fangs__norm_tokens(ctx, w + lit, m - lit, o);
}

void fangs__norm_words(const fangs__norm *ctx, const char *s, size_t n, fangs__sink *o)
{
	size_t i = 0;
	bool first = true;
	while (i < n) {
		size_t j;
		while (i < n && is_space(s[i]))
			i++;
		if (i >= n)
			break;
		for (j = i; j < n && !is_space(s[j]);)
			j++;
		if (!first)
			fangs__sink_putc(o, ' ');
		first = false;
		norm_word(ctx, s + i, j - i, o);
		i = j;
	}
}

static bool run_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
	       c == '=' || c == '_' || c == '-';
}

/*
 * A run of [A-Za-z0-9+/=_-] that can carry data the noise pass would fold:
 * 16+ characters mixing digits, upper and lower case (base64), or holding a
 * hex token of 8+ characters with digits and letters, or a number of 20+
 * digits (longer than any time stamp). Dates and version numbers are none
 * of these.
 */
static bool payload_run(const char *s, size_t n)
{
	bool d = false, up = false, lo = false;
	for (size_t i = 0; i < n; i++) {
		d |= s[i] >= '0' && s[i] <= '9';
		up |= s[i] >= 'A' && s[i] <= 'Z';
		lo |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (n >= 16 && d && up && lo)
		return true;
	for (size_t i = 0; i < n;) {
		size_t j = i, hex = 0, dig = 0;
		while (j < n &&
		       ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9'))) {
			bool is_d = s[j] >= '0' && s[j] <= '9';
			hex += is_d || (s[j] >= 'a' && s[j] <= 'f') || (s[j] >= 'A' && s[j] <= 'F');
			dig += is_d;
			j++;
		}
		if (j - i >= 8 && hex == j - i && dig && dig < j - i)
			return true;
		if (j - i >= 20 && dig == j - i)
			return true;
		i = j == i ? i + 1 : j;
	}
	return false;
}

static void digest_text(const char *s, size_t n, uint64_t *h, size_t *runs)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && run_char(s[j]))
			j++;
		if (j > i && payload_run(s + i, j - i)) {
			*h = fangs__hash64(s + i, j - i, *h ^ (j - i));
			(*runs)++;
		}
		i = j == i ? i + 1 : j;
	}
}

size_t fangs__code_digest(const char *s, size_t n, uint64_t *h)
{
	size_t i = 0, runs = 0;
	while (i < n) {
		size_t j, lit, p;
		while (i < n && is_space(s[i]))
			i++;
		for (j = i; j < n && !is_space(s[j]);)
			j++;
		/* the same path spans as norm_word: their noise is the path pass's */
		for (lit = p = i; p < j;) {
			if (path_starts(s + i, j - i, p - i)) {
				size_t e = i + path_end(s + i, j - i, p - i);
				digest_text(s + lit, p - lit, h, &runs);
				p = lit = e;
			} else {
				p++;
			}
		}
		digest_text(s + lit, j - lit, h, &runs);
		i = j;
	}
	return runs;
}

/* Interpreters and the one-letter options that hand them code to run. */
static const struct interp {
	const char *name;
	bool versioned; /* python3, python3.11, perl5.36 ... */
	const char *letters;
} interps[] = {
	{"sh", false, "c"},    {"bash", false, "c"},    {"dash", false, "c"}, {"zsh", false, "c"},
	{"ash", false, "c"},   {"ksh", false, "c"},     {"mksh", false, "c"}, {"busybox", false, "c"},
	{"node", false, "ep"}, {"nodejs", false, "ep"}, {"bun", false, "e"},  {"python", true, "c"},
	{"perl", true, "eE"},  {"ruby", true, "e"},     {"php", true, "r"},
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static const struct interp *find_interp(const char *path)
{
	const char *b;
	if (!path)
		return NULL;
	b = base_name(path);
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(interps); i++) {
		size_t n = strlen(interps[i].name);
		if (strncmp(b, interps[i].name, n) != 0)
			continue;
		if (!b[n])
			return &interps[i];
		if (interps[i].versioned && strspn(b + n, "0123456789.") == strlen(b + n))
			return &interps[i];
	}
	return NULL;
}

static bool inline_flag(const struct interp *in, const char *a)
{
	if (strcmp(a, "--eval") == 0 || strcmp(a, "--print") == 0 || strncmp(a, "--eval=", 7) == 0 ||
	    strncmp(a, "--print=", 8) == 0 || strcmp(a, "--command") == 0)
		return true;
	if (a[0] != '-' || a[1] == '-' || !a[1])
		return false;
	/* a cluster of one-letter options such as -c, -lc, -ec, -pe, -ne */
	for (const char *p = a + 1; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	}
	return strpbrk(a + 1, in->letters) != NULL;
}

bool fangs__exec_inline_code(const fangs_event *ev)
{
	const struct interp *in = find_interp(ev->path);
	if (!ev->argv)
		return false;
	/* busybox and multi-call binaries: argv[0] says what runs */
	if ((!in || strcmp(in->name, "busybox") == 0) && ev->argc > 0 && ev->argv[0])
		in = find_interp(ev->argv[0]);
	if (!in)
		return false;
	for (size_t i = 1; i < ev->argc; i++) {
		const char *a = ev->argv[i];
		if (!a || a[0] != '-' || strcmp(a, "--") == 0)
			return false; /* a script file or the end of options: no inline code */
		if (inline_flag(in, a))
			return true;
	}
	return false;
}
