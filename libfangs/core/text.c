/*
 * core/text.c - npm package names and version specs by npm's rules,
 * escaping for terminals and logs, UTF-8 repair (fangs/text.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "fangs/text.h"

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes) with its code
 * point, or 0 when the byte at p starts none. */
size_t fangs__utf8_seq(const unsigned char *p, size_t n, uint32_t *cp_out)
{
	unsigned char c = p[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80) {
		*cp_out = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		len = 2;
		cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*cp_out = cp;
	return len;
}

int fangs_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;
	if (!s)
		return len == 0;
	while (i < len) {
		size_t l;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (!(l = fangs__utf8_seq(p + i, len - i, &cp)))
			return 0;
		i += l;
	}
	return 1;
}

char *fangs_utf8_clean(const char *s, size_t len, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, bad = 0;
	uint32_t cp;
	char *d;
	if (!s)
		len = 0;
	for (i = 0; i < len;) {
		size_t l = p[i] < 0x80 ? 1 : fangs__utf8_seq(p + i, len - i, &cp);
		if (!l) {
			bad++;
			l = 1;
		}
		i += l;
	}
	if (bad > (SIZE_MAX - len - 1) / 2 || !(d = malloc(len + 2 * bad + 1))) {
		fangs__error_oom();
		return NULL;
	}
	for (i = 0; i < len;) {
		size_t l = p[i] < 0x80 ? 1 : fangs__utf8_seq(p + i, len - i, &cp);
		if (!l) {
			d[o++] = (char)0xEF;
			d[o++] = (char)0xBF;
			d[o++] = (char)0xBD;
			i++;
			continue;
		}
		memcpy(d + o, p + i, l);
		o += l;
		i += l;
	}
	d[o] = '\0';
	if (out_len)
		*out_len = o;
	return d;
}

/* ---- escaping ---- */

/* Code points above ASCII that a terminal acts on or that reorder text. */
static int cp_is_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200E || cp == 0x200F || cp == 0x061C || cp == 0x2028 || cp == 0x2029;
}

typedef struct writer {
	char *dst;
	size_t cap;
	size_t need; /* what the whole text needs */
	size_t end;  /* what was written */
	int full;
} writer;

/* whole escapes only: a truncated one would be a lie */
static void put(writer *w, const char *s, size_t n)
{
	if (!w->full && w->need + n < w->cap) {
		memcpy(w->dst + w->need, s, n);
		w->end = w->need + n;
	} else {
		w->full = 1;
	}
	w->need += n;
}

/* plain text may be cut anywhere */
static void put_plain(writer *w, const char *s, size_t n)
{
	if (!w->full && w->need + n >= w->cap) {
		size_t fit = w->cap > w->need + 1 ? w->cap - w->need - 1 : 0;
		if (fit) {
			memcpy(w->dst + w->need, s, fit);
			w->end = w->need + fit;
		}
		w->full = 1;
	}
	put(w, s, n);
}

size_t fangs_text_escape(char *dst, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	writer w = {dst, dst ? cap : 0, 0, 0, 0};
	size_t i = 0;
	uint32_t cp;

	if (!s)
		len = 0;
	while (i < len) {
		unsigned char c = p[i];
		char e[16];
		size_t l, n;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			/* the common case: a run of plain ASCII */
			size_t run = i;
			while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '\\')
				run++;
			put_plain(&w, s + i, run - i);
			i = run;
		} else if (c == '\\') {
			put(&w, "\\\\", 2);
			i++;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			put(&w, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r", 2);
			i++;
		} else if (c < 0x80 || !(l = fangs__utf8_seq(p + i, len - i, &cp))) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			put(&w, e, 4);
			i++;
		} else if (cp_is_hidden(cp)) {
			n = (size_t)snprintf(e, sizeof(e), "\\u{%04x}", (unsigned)cp);
			put(&w, e, n);
			i += l;
		} else {
			put(&w, s + i, l);
			i += l;
		}
	}
	if (w.cap)
		dst[w.end] = '\0';
	return w.need;
}

char *fangs_text_escape_dup(const char *s)
{
	size_t len, need;
	char *d;
	if (!s)
		s = "(null)";
	len = strlen(s);
	need = fangs_text_escape(NULL, 0, s, len);
	if (!(d = malloc(need + 1))) {
		fangs__error_oom();
		return NULL;
	}
	fangs_text_escape(d, need + 1, s, len);
	return d;
}

int fangs_text_is_clean(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	if (!s || len > max)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t l;
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			i++;
			continue;
		}
		if (p[i] < 0x80 || !(l = fangs__utf8_seq(p + i, len - i, &cp)) || cp_is_hidden(cp))
			return 0;
		i += l;
	}
	return 1;
}

/* An escaped, bounded copy for an error message. */
static void quoted(char *out, size_t cap, const char *s)
{
	size_t len = strlen(s), n;
	n = fangs_text_escape(out, cap, s, len > 256 ? 256 : len);
	if (len > 256 && n + 4 < cap)
		strcat(out, "...");
}

/* ---- package names (validate-npm-package-name 7) ---- */

/* encodeURIComponent leaves these alone. */
static int url_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.' || c == '!' || c == '~' || c == '*' || c == '\'' || c == '(' || c == ')';
}

static int all_url_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!url_safe((unsigned char)s[i]))
			return 0;
	return 1;
}

static const char *name_error(const char *name, int new_rules)
{
	size_t len = strlen(name);
	const char *part = name;
	if (len == 0)
		return "name length must be greater than zero";
	if (name[0] == '.')
		return "name cannot start with a period";
	if (name[0] == '-')
		return "name cannot start with a hyphen";
	if (name[0] == '_')
		return "name cannot start with an underscore";
	if (isspace((unsigned char)name[0]) || isspace((unsigned char)name[len - 1]))
		return "name cannot contain leading or trailing spaces";
	if (!strcasecmp(name, "node_modules") || !strcasecmp(name, "favicon.ico"))
		return "name is not a valid package name (node_modules, favicon.ico)";
	if (len > FANGS_PACKAGE_NAME_MAX)
		return "name can no longer contain more than 214 characters";
	if (!all_url_safe(name, len)) {
		/* @scope/name: both parts URL-safe */
		const char *slash = strchr(name, '/');
		if (name[0] != '@' || !slash || slash == name + 1 || !slash[1] || strchr(slash + 1, '/') ||
		    !all_url_safe(name + 1, (size_t)(slash - name - 1)) || !all_url_safe(slash + 1, strlen(slash + 1)))
			return "name can only contain URL-friendly characters";
		if (slash[1] == '.')
			return "name cannot start with a period";
		part = slash + 1;
	}
	if (new_rules) {
		for (const char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				return "name can no longer contain capital letters";
		if (strpbrk(part, "~'!()*"))
			return "name can no longer contain special characters (\"~'!()*\")";
	}
	return NULL;
}

static int name_check(const char *name, int new_rules, const char **why)
{
	const char *w;
	char q[1100];
	if (!name) {
		if (why)
			*why = "name cannot be null";
		return fangs_error_set(FANGS_EINVAL, "package name is missing");
	}
	if (!(w = name_error(name, new_rules))) {
		if (why)
			*why = NULL;
		return 0;
	}
	if (why)
		*why = w;
	quoted(q, sizeof(q), name);
	return fangs_error_set(FANGS_EINVAL, "invalid package name \"%s\": %s", q, w);
}

int fangs_package_name_check(const char *name, const char **why)
{
	return name_check(name, 0, why);
}

int fangs_package_name_check_new(const char *name, const char **why)
{
	return name_check(name, 1, why);
}

/* ---- versions, ranges, dist-tags (node-semver's grammar, loose) ---- */

static void skip_ws(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

/* x, X, * or a number */
static int xr(const char **p)
{
	if (**p == 'x' || **p == 'X' || **p == '*') {
		(*p)++;
		return 1;
	}
	if (!isdigit((unsigned char)**p))
		return 0;
	while (isdigit((unsigned char)**p))
		(*p)++;
	return 1;
}

/* dot-separated identifiers of [0-9A-Za-z-] */
static int idents(const char **p)
{
	for (;;) {
		const char *s = *p;
		while (isalnum((unsigned char)**p) || **p == '-')
			(*p)++;
		if (*p == s)
			return 0;
		if (**p != '.')
			return 1;
		(*p)++;
	}
}

/* v? xr ( . xr ( . xr (-pre)? (+build)? )? )? */
static int partial(const char **p)
{
	if (**p == 'v' || **p == 'V')
		(*p)++;
	if (!xr(p))
		return 0;
	for (int part = 1; part < 3 && **p == '.'; part++) {
		(*p)++;
		if (!xr(p))
			return 0;
	}
	if (**p == '-') {
		(*p)++;
		if (!idents(p))
			return 0;
	}
	if (**p == '+') {
		(*p)++;
		if (!idents(p))
			return 0;
	}
	return 1;
}

/* op? partial, where op is <, <=, >, >=, =, ~, ~>, ^ */
static int simple(const char **p)
{
	if (**p == '<' || **p == '>') {
		(*p)++;
		if (**p == '=')
			(*p)++;
	} else if (**p == '=' || **p == '^') {
		(*p)++;
	} else if (**p == '~') {
		(*p)++;
		if (**p == '>')
			(*p)++;
	}
	skip_ws(p);
	return partial(p);
}

/* range ( || range )*, range = simple ( ws simple )* | partial - partial */
static int is_range(const char *s)
{
	const char *p = s;
	skip_ws(&p);
	for (;;) {
		int n = 0;
		for (;;) {
			const char *save = p;
			if (!simple(&p)) {
				p = save;
				break;
			}
			n++;
			skip_ws(&p);
			if (*p == '-' && p[1] == ' ' && n == 1) {
				p++;
				skip_ws(&p);
				if (!partial(&p))
					return 0;
				skip_ws(&p);
				break;
			}
		}
		if (n == 0 && *p != '|' && *p != '\0')
			return 0;
		if (*p == '\0')
			return 1;
		if (p[0] != '|' || p[1] != '|')
			return 0;
		p += 2;
		skip_ws(&p);
	}
}

/* What may follow "name@": NULL, or why not. */
static const char *version_error(const char *v)
{
	size_t len = strlen(v);
	if (len == 0)
		return "version is empty";
	if (len > FANGS_PACKAGE_VERSION_MAX)
		return "version is longer than 256 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c >= 0x7f)
			return "version holds a control or non-ASCII character";
	}
	if (!strncasecmp(v, "file:", 5))
		return "version is a file: spec, not a version";
	if (!strncasecmp(v, "npm:", 4))
		return "version is an npm: alias, not a version";
	if (!strncasecmp(v, "git", 3) && (v[3] == ':' || v[3] == '+'))
		return "version is a git spec, not a version";
	if (strchr(v, ':'))
		return "version is a URL or a protocol spec, not a version";
	if (strstr(v, ".."))
		return "version holds '..' (a path, not a version)";
	if (strchr(v, '/') || strchr(v, '\\') || v[0] == '.' || (v[0] == '~' && v[1] == '/'))
		return "version is a path, not a version";
	if (strchr(v, '#'))
		return "version names a git commit, not a version";
	if (strchr(v, '@'))
		return "version holds '@' (an alias or a second spec)";
	if (v[0] == '-')
		return "version cannot start with a hyphen";
	if (v[0] == ' ' || v[len - 1] == ' ')
		return "version cannot contain leading or trailing spaces";
	if (is_range(v))
		return NULL;
	if (all_url_safe(v, len))
		return NULL; /* a dist-tag */
	return "version is neither a version, a range nor a dist-tag";
}

int fangs_package_version_check(const char *version, const char **why)
{
	const char *w;
	char q[1100];
	if (!version) {
		if (why)
			*why = "version is missing";
		return fangs_error_set(FANGS_EINVAL, "version is missing");
	}
	if (!(w = version_error(version))) {
		if (why)
			*why = NULL;
		return 0;
	}
	if (why)
		*why = w;
	quoted(q, sizeof(q), version);
	return fangs_error_set(FANGS_EINVAL, "invalid version \"%s\": %s", q, w);
}

int fangs__version_is_exact(const char *v)
{
	const char *p = v;
	if (!v || version_error(v) || !isdigit((unsigned char)*p))
		return 0;
	for (int part = 0; part < 3; part++) {
		if (part && *p++ != '.')
			return 0;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == '-') {
		p++;
		if (!idents(&p))
			return 0;
	}
	if (*p == '+') {
		p++;
		if (!idents(&p))
			return 0;
	}
	return *p == '\0';
}

int fangs_package_spec_is_path(const char *spec)
{
	return spec && (spec[0] == '/' || !strcmp(spec, ".") || !strcmp(spec, "..") || !strncmp(spec, "./", 2) ||
			!strncmp(spec, "../", 3));
}

int fangs_package_spec_parse(const char *spec, char **name, char **version)
{
	const char *at;
	char q[1100];
	int rc;
	if (!spec || !name || !version)
		return fangs_error_set(FANGS_EINVAL, "fangs_package_spec_parse: NULL argument");
	*name = *version = NULL;
	if (fangs_package_spec_is_path(spec)) {
		quoted(q, sizeof(q), spec);
		return fangs_error_set(FANGS_EINVAL, "\"%s\" is a path, not a registry spec (name@version)", q);
	}
	/* the version's '@' is after the scope's */
	at = strchr(spec + (spec[0] == '@'), '@');
	if (!(*name = at ? fangs__strndup(spec, (size_t)(at - spec)) : fangs__strdup(spec)))
		return FANGS_ENOMEM;
	if (at && !(*version = fangs__strdup(at + 1))) {
		free(*name);
		*name = NULL;
		return FANGS_ENOMEM;
	}
	if ((rc = fangs_package_name_check(*name, NULL)) == 0 && *version)
		rc = fangs_package_version_check(*version, NULL);
	if (rc) {
		quoted(q, sizeof(q), spec);
		fangs_error_set(rc, "\"%s\" is not a registry spec (name@version): %s", q, fangs_error_last());
		free(*name);
		free(*version);
		*name = *version = NULL;
	}
	return rc;
}
