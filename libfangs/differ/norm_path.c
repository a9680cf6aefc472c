/*
 * differ/norm_path.c - path normalization: the rule table.
 *
 * Two installs of the same release never touch exactly the same paths: pids,
 * mkdtemp names, cache hashes, log time stamps and the version itself change
 * from run to run. A path is split into components; at each component the
 * rules below are tried in order, and the first whose anchor (the components
 * just before) and matcher fit replaces the component(s) it covers. A
 * component no rule takes still goes through the token pass, which rewrites
 * dates, time stamps, hex runs, uuids and the package's version inside it.
 *
 * Adding a rule is one entry in `rules[]` (plus a matcher when none of the
 * existing ones fits). docs/differ-rules.md lists them all.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "differ/chars.h"
#include "differ/internal.h"

typedef struct comp {
	uint16_t off;
	uint16_t len;
} comp;

typedef struct nstate {
	const fangs__norm *ctx;
	const char *s;
	const comp *c;
	size_t n;
	bool abs;
} nstate;

/* How many components from `i` on the matcher covers (0: no match);
 * `*stem` is how many bytes of component i a "%s" in the replacement keeps. */
typedef size_t (*norm_match)(const nstate *st, size_t i, size_t *stem);

/* An anchor component: a literal, "*" (any), or "x*" (starts with x). */
typedef struct anchor {
	const char *s;
	uint8_t len;
} anchor;

#define A(lit) {lit, (uint8_t)(sizeof(lit) - 1)}
#define ROOTED true
#define ANYWHERE false

typedef struct norm_rule {
	const char *name;
	bool rooted; /* anchor starts at "/" (else: anywhere in the path) */
	uint8_t n_before;
	anchor before[3]; /* components right before the matched one */
	norm_match match;
	const char *repl; /* "~" at the start of an absolute path drops the "/" */
} norm_rule;

static bool eq(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(s, lit, l) == 0;
}

/* A random name part (mkdtemp, tmp, unique-filename): mixed letters and
 * digits, mixed case, or a long run of digits (pid, time). A lower-case
 * word is left alone so that real names stay readable. */
static bool looks_random(const char *t, size_t n)
{
	bool dig = false, up = false, lo = false;
	for (size_t i = 0; i < n; i++) {
		dig |= is_digit(t[i]);
		up |= is_upper(t[i]);
		lo |= is_lower(t[i]);
	}
	if (dig && !up && !lo)
		return n >= 5;
	return (dig && (up || lo)) || (up && lo);
}

/* The alnum run after the last '-', '_' or '.' is at least 6 long and random. */
static bool random_tail(const char *c, size_t n)
{
	size_t j = n;
	while (j > 0 && is_alnum(c[j - 1]))
		j--;
	if (j == 0 || (c[j - 1] != '-' && c[j - 1] != '_' && c[j - 1] != '.'))
		return false;
	return n - j >= 6 && looks_random(c + j, n - j);
}

/* ---- matchers ---- */

#define COMP(st, i) ((st)->s + (st)->c[i].off)
#define CLEN(st, i) ((size_t)(st)->c[i].len)

static size_t m_pid(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i);
	(void)stem;
	return (n <= 10 && digits_n(c, n)) || eq(c, n, "self") || eq(c, n, "thread-self");
}

static size_t m_number(const nstate *st, size_t i, size_t *stem)
{
	(void)stem;
	return CLEN(st, i) <= 10 && digits_n(COMP(st, i), CLEN(st, i));
}

static size_t m_root_home(const nstate *st, size_t i, size_t *stem)
{
	(void)stem;
	return eq(COMP(st, i), CLEN(st, i), "root");
}

static size_t m_home_user(const nstate *st, size_t i, size_t *stem)
{
	(void)stem;
	return eq(COMP(st, i), CLEN(st, i), "home") && i + 1 < st->n ? 2 : 0;
}

/* Names that mkdtemp(3), Node's fs.mkdtemp, the tmp package, npm 6,
 * gcc and Python's tempfile give to scratch files and directories. */
static size_t m_tmp_random(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i), base = 0;
	(void)stem;
	if (n >= 5 && (memcmp(c, "npm-", 4) == 0 || memcmp(c, "tmp-", 4) == 0) && is_digit(c[4]))
		return 1;
	while (base < n && c[base] != '.')
		base++;
	if (base == 8 && c[0] == 'c' && c[1] == 'c' && all_of(c + 2, 6, is_alnum))
		return 1;
	if (base == 11 && memcmp(c, "tmp", 3) == 0) {
		size_t k = 3;
		while (k < 11 && (is_lower(c[k]) || is_digit(c[k]) || c[k] == '_'))
			k++;
		if (k == 11)
			return 1;
	}
	if (random_tail(c, n) || (base < n && random_tail(c, base)))
		return 1;
	/* fs.mkdtemp and mkdtemp(3) append six characters of [A-Za-z0-9]: one
	 * name in a hundred is all lower case and looks like a word, but a word
	 * of exactly six after a '-' is rare right under a scratch directory */
	return n > 7 && (c[n - 7] == '-' || c[n - 7] == '_') && all_of(c + n - 6, 6, is_alnum);
}

static size_t m_any(const nstate *st, size_t i, size_t *stem)
{
	(void)st;
	(void)i;
	(void)stem;
	return 1;
}

/* cacache fans content out as <2 hex>/<2 hex>/<rest of the digest>. */
static size_t m_hash_fanout(const nstate *st, size_t i, size_t *stem)
{
	size_t k = 0;
	(void)stem;
	while (k < 3 && i + k < st->n && all_of(COMP(st, i + k), CLEN(st, i + k), is_hex))
		k++;
	return k;
}

/* npm 6: 2024-05-01T10_22_33_123Z-debug.log; npm 7+: ...-debug-0.log */
static size_t m_npm_log(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i);
	(void)stem;
	return fangs__match_iso_date(c, n) >= 11 && n > 4 && memcmp(c + n - 4, ".log", 4) == 0;
}

/* npm 5/6 extract into node_modules/.staging/<name>-<slug>. */
static size_t m_staging(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i), j = n;
	if (n == 0 || c[0] == '@')
		return 0;
	while (j > 0 && is_alnum(c[j - 1]))
		j--;
	if (j < 2 || c[j - 1] != '-' || n - j < 6)
		return 0;
	*stem = j - 1;
	return 1;
}

/* npm 7+ (arborist) moves a package aside to node_modules/.<name>-<8 chars>
 * while it replaces it. */
static size_t m_retired(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i);
	if (n < 11 || c[0] != '.' || c[n - 9] != '-' || !all_of(c + n - 8, 8, is_alnum))
		return 0;
	*stem = n - 9;
	return 1;
}

/* write-file-atomic writes <file>.<murmur hash> and renames it over <file>. */
static size_t m_atomic_tmp(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	size_t n = CLEN(st, i), j = n;
	while (j > 0 && is_digit(c[j - 1]))
		j--;
	if (n - j < 5 || n - j > 10 || j < 2 || c[j - 1] != '.')
		return 0;
	*stem = j - 1;
	return 1;
}

/* binutils (ar, strip, objcopy) write an archive or object through a
 * mkstemp file "stXXXXXX" beside it, then rename it: node-gyp's
 * build/Release/obj.target/stA1b2C3. Only below a "build" component,
 * where such a name is a build's scratch file. */
static size_t m_binutils_tmp(const nstate *st, size_t i, size_t *stem)
{
	const char *c = COMP(st, i);
	(void)stem;
	if (CLEN(st, i) != 8 || c[0] != 's' || c[1] != 't' || !all_of(c + 2, 6, is_alnum))
		return 0;
	for (size_t k = 0; k < i; k++)
		if (eq(COMP(st, k), CLEN(st, k), "build"))
			return 1;
	return 0;
}

/* gyp's Makefiles keep the dependencies of a target named by an absolute
 * path under .deps/<that path>: .deps/home/<user>/app/...; the user's home
 * there is as much the run's as at the start of a path. */
static size_t m_deps_home(const nstate *st, size_t i, size_t *stem)
{
	(void)stem;
	return eq(COMP(st, i), CLEN(st, i), "home") && i + 1 < st->n ? 2 : 0;
}

static const norm_rule rules[] = {
	/* name                where     n  anchor (components before)                 matcher         replacement */
	{"proc-pid", ROOTED, 1, {A("proc")}, m_pid, "<pid>"},
	{"proc-task", ROOTED, 3, {A("proc"), A("*"), A("task")}, m_number, "<tid>"},
	{"proc-fd", ROOTED, 3, {A("proc"), A("*"), A("fd")}, m_number, "<fd>"},
	{"proc-fdinfo", ROOTED, 3, {A("proc"), A("*"), A("fdinfo")}, m_number, "<fd>"},
	{"dev-fd", ROOTED, 2, {A("dev"), A("fd")}, m_number, "<fd>"},
	{"dev-pts", ROOTED, 2, {A("dev"), A("pts")}, m_number, "<pty>"},
	{"home-root", ROOTED, 0, {{NULL, 0}}, m_root_home, "~"},
	{"home-user", ROOTED, 0, {{NULL, 0}}, m_home_user, "~"},
	{"tmp-random", ROOTED, 1, {A("tmp")}, m_tmp_random, "<tmp>"},
	{"var-tmp-random", ROOTED, 2, {A("var"), A("tmp")}, m_tmp_random, "<tmp>"},
	{"dev-shm-random", ROOTED, 2, {A("dev"), A("shm")}, m_tmp_random, "<tmp>"},
	{"cacache-content", ANYWHERE, 3, {A("_cacache"), A("content-v2"), A("*")}, m_hash_fanout, "<hash>"},
	{"cacache-index", ANYWHERE, 2, {A("_cacache"), A("index-v5")}, m_hash_fanout, "<hash>"},
	{"cacache-tmp", ANYWHERE, 2, {A("_cacache"), A("tmp")}, m_any, "<tmp>"},
	{"npm-log", ANYWHERE, 1, {A("_logs")}, m_npm_log, "<npm-log>"},
	{"npm-staging", ANYWHERE, 2, {A("node_modules"), A(".staging")}, m_staging, "%s-<stage>"},
	{"npm-staging-scoped", ANYWHERE, 3, {A("node_modules"), A(".staging"), A("@*")}, m_staging, "%s-<stage>"},
	{"npm-retired", ANYWHERE, 1, {A("node_modules")}, m_retired, "%s-<stage>"},
	{"npm-retired-scoped", ANYWHERE, 2, {A("node_modules"), A("@*")}, m_retired, "%s-<stage>"},
	{"atomic-write", ANYWHERE, 0, {{NULL, 0}}, m_atomic_tmp, "%s.<tmp>"},
	{"binutils-tmp", ANYWHERE, 0, {{NULL, 0}}, m_binutils_tmp, "st<tmp>"},
	{"gyp-deps-home", ANYWHERE, 1, {A(".deps")}, m_deps_home, "~"},
};

/* Which rules can fit a component, by the first byte of the component
 * before it (most rules are anchored on their nearest component); built
 * once from rules[], in table order, so the table stays the only place a
 * rule is written. */
#define N_RULES FANGS_ARRAY_SIZE(rules)

static struct {
	uint8_t n;
	uint8_t idx[N_RULES];
} by_prev[256], at_first;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	for (size_t r = 0; r < N_RULES; r++) {
		const norm_rule *rule = &rules[r];
		if (rule->n_before == 0) {
			at_first.idx[at_first.n++] = (uint8_t)r;
			for (size_t ch = 0; ch < 256; ch++)
				by_prev[ch].idx[by_prev[ch].n++] = (uint8_t)r;
			continue;
		}
		const anchor *a = &rule->before[rule->n_before - 1];
		for (size_t ch = 0; ch < 256; ch++) {
			if (a->s[0] == '*' || (unsigned char)a->s[0] == ch)
				by_prev[ch].idx[by_prev[ch].n++] = (uint8_t)r;
		}
	}
}

static bool bytes_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static bool anchor_fits(const nstate *st, const norm_rule *r, size_t i)
{
	size_t k = r->n_before;
	if (r->rooted ? (!st->abs || i != k) : i < k)
		return false;
	/* from the nearest component back: most rules fail on the first compare */
	for (size_t j = k; j-- > 0;) {
		const anchor *a = &r->before[j];
		const char *c = COMP(st, i - k + j);
		size_t n = CLEN(st, i - k + j);
		if (a->s[a->len - 1] == '*') {
			if (n < a->len - 1u || !bytes_eq(c, a->s, a->len - 1u))
				return false;
		} else if (n != a->len || !bytes_eq(c, a->s, n)) {
			return false;
		}
	}
	return true;
}

/* "%s" keeps the matcher's stem; the kept text and the literal around it
 * go through the token pass together, as they will when the result is
 * normalized again. */
static void put_repl(const nstate *st, const char *repl, const char *c, size_t stem, fangs__sink *o)
{
	char buf[FANGS__PATH_IN_MAX + 64];
	fangs__sink t;
	size_t n;
	const char *pct = strstr(repl, "%s");
	if (!pct) {
		fangs__sink_puts(o, repl);
		return;
	}
	fangs__sink_init(&t, buf, sizeof(buf));
	fangs__sink_put(&t, repl, (size_t)(pct - repl));
	fangs__sink_put(&t, c, stem);
	fangs__sink_puts(&t, pct + 2);
	n = fangs__sink_end(&t);
	fangs__norm_tokens(st->ctx, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, o);
}

/* Splits into components, dropping "" and "." and resolving ".." lexically
 * (an absolute path cannot climb above "/"; a relative one keeps its ".."). */
static size_t split(const char *s, size_t len, comp *c, size_t max)
{
	size_t n = 0, i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && s[j] != '/')
			j++;
		if (j - i == 0 || (j - i == 1 && s[i] == '.')) {
			/* skip */
		} else if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (n > 0 && !(c[n - 1].len == 2 && s[c[n - 1].off] == '.' && s[c[n - 1].off + 1] == '.'))
				n--;
			else if (s[0] != '/' && n < max)
				c[n++] = (comp){(uint16_t)i, 2};
		} else if (n < max) {
			c[n++] = (comp){(uint16_t)i, (uint16_t)(j - i)};
		}
		i = j + 1;
	}
	return n;
}

void fangs__norm_path(const fangs__norm *ctx, const char *path, size_t len, fangs__sink *o)
{
	comp c[FANGS__PATH_IN_MAX / 2 + 1];
	nstate st;
	bool cut = false;
	size_t emitted = 0;

	if (len > FANGS__PATH_IN_MAX - 1) {
		len = FANGS__PATH_IN_MAX - 1;
		cut = true;
	}
	st.ctx = ctx;
	st.s = path;
	st.c = c;
	st.abs = len > 0 && path[0] == '/';
	st.n = split(path, len, c, FANGS_ARRAY_SIZE(c));

	pthread_once(&index_once, build_index);
	for (size_t i = 0; i < st.n;) {
		const norm_rule *hit = NULL;
		size_t span = 0, stem = 0;
		const uint8_t *cand = i ? by_prev[(unsigned char)COMP(&st, i - 1)[0]].idx : at_first.idx;
		size_t n_cand = i ? by_prev[(unsigned char)COMP(&st, i - 1)[0]].n : at_first.n;
		for (size_t k = 0; k < n_cand; k++) {
			const norm_rule *r = &rules[cand[k]];
			if (!anchor_fits(&st, r, i))
				continue;
			if ((span = r->match(&st, i, &stem)) > 0) {
				hit = r;
				break;
			}
		}
		if (emitted > 0 || (st.abs && !(hit && hit->repl[0] == '~')))
			fangs__sink_putc(o, '/');
		if (hit) {
			put_repl(&st, hit->repl, COMP(&st, i), stem, o);
			i += span;
		} else {
			fangs__norm_tokens(ctx, COMP(&st, i), CLEN(&st, i), o);
			i++;
		}
		emitted++;
	}
	if (emitted == 0 && st.abs)
		fangs__sink_putc(o, '/');
	if (cut)
		fangs__sink_puts(o, "/<cut>");
}

int fangs_normalize_path(const fangs_norm_ctx *ctx, const char *path, char *out, size_t cap)
{
	fangs__sink o;
	fangs__norm nz;
	size_t n;
	if (!path || !out || cap == 0)
		return fangs_error_set(FANGS_EINVAL, "normalize path: missing path or buffer");
	fangs__norm_prepare(&nz, ctx);
	fangs__sink_init(&o, out, cap);
	fangs__norm_path(&nz, path, strlen(path), &o);
	n = fangs__sink_end(&o);
	if (n >= cap)
		return fangs_error_set(FANGS_EINVAL, "normalized path needs %zu bytes, buffer has %zu", n + 1, cap);
	if (n > INT32_MAX)
		return fangs_error_set(FANGS_EINVAL, "normalized path too long");
	return (int)n;
}
