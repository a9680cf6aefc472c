/*
 * rules/decoy.c - finds the sandbox's decoy secrets in strings that left it.
 *
 * Every FANGS_DECOY_WINDOW-byte stretch of every secret goes into a hash
 * set. A string is then looked at in several views, each decoded back to
 * bytes: as it is, with the dots of a DNS name removed (labels joined), and
 * percent-decoded; each of those plain, hex-decoded (every run of hex
 * digits, at both nibble alignments) and base64-decoded (every run of base64
 * characters of either alphabet, at the four character alignments, so that
 * a secret at any byte offset of the encoded blob shows). A view holds a
 * decoy when any of its windows is in the set.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/decoy.h"

#define W FANGS_DECOY_WINDOW

/* Case-folded text (DNS names are often lower-cased on the way: Node's
 * resolver functions do, through IDNA) is matched by its own set: every
 * WF-character stretch of each secret and of its base64 encodings (both
 * alphabets, the 3 byte alignments), lower-cased. */
#define WF 16

typedef struct slot {
	uint64_t hash;
	const unsigned char *bytes; /* wlen bytes inside an owned string */
	size_t decoy;
	int used;
} slot;

typedef struct wset {
	slot *slots;
	size_t cap; /* power of two */
	size_t wlen;
} wset;

struct fangs_decoy_matcher {
	wset exact, folded;
	fangs_decoy *decoys; /* owned copies */
	size_t n;
	char **texts; /* owned: the folded strings the folded set points into */
	size_t n_texts;
};

static uint64_t hash_window(const unsigned char *p, size_t wlen)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < wlen; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void put(wset *w, const unsigned char *p, size_t decoy)
{
	uint64_t h = hash_window(p, w->wlen);
	size_t i = (size_t)h & (w->cap - 1);
	while (w->slots[i].used) {
		if (w->slots[i].hash == h && memcmp(w->slots[i].bytes, p, w->wlen) == 0)
			return;
		i = (i + 1) & (w->cap - 1);
	}
	w->slots[i].used = 1;
	w->slots[i].hash = h;
	w->slots[i].bytes = p;
	w->slots[i].decoy = decoy;
}

/* The decoy one of whose windows starts at p, or -1. */
static long lookup(const wset *w, const unsigned char *p)
{
	uint64_t h = hash_window(p, w->wlen);
	size_t i = (size_t)h & (w->cap - 1);
	while (w->slots[i].used) {
		if (w->slots[i].hash == h && memcmp(w->slots[i].bytes, p, w->wlen) == 0)
			return (long)w->slots[i].decoy;
		i = (i + 1) & (w->cap - 1);
	}
	return -1;
}

static int wset_init(wset *w, size_t windows, size_t wlen)
{
	w->wlen = wlen;
	for (w->cap = 16; w->cap < windows * 2; w->cap *= 2)
		;
	return (w->slots = calloc(w->cap, sizeof(slot))) ? 0 : fangs__error_oom();
}

static void fold(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The characters of base64(prefix + secret) that only the secret's bytes
 * determine, lower-cased; `pre` is 0..2 bytes of prefix. */
static char *folded_b64(const char *secret, int pre, int url)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(secret), total = (size_t)pre + n, k = 0;
	size_t from = ((size_t)pre * 4 + 2) / 3, to = total * 4 / 3; /* chars [from, to) */
	unsigned char *in = calloc(total + 3, 1);
	char *out = malloc(total / 3 * 4 + 8);
	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in + pre, secret, n);
	for (size_t i = 0, c = 0; i < total; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		for (int q = 0; q < 4; q++, c++)
			if (c >= from && c < to)
				out[k++] = a[v >> (18 - 6 * q) & 63];
	}
	out[k] = '\0';
	free(in);
	fold(out);
	return out;
}

int fangs_decoy_matcher_new(fangs_decoy_matcher **out, const fangs_decoy *decoys, size_t n)
{
	fangs_decoy_matcher *m;
	size_t windows = 0, fwindows = 0;
	int rc;

	if (!out || (n && !decoys))
		return fangs_error_set(FANGS_EINVAL, "fangs_decoy_matcher_new: NULL argument");
	*out = NULL;
	if (!(m = calloc(1, sizeof(*m))) || (n && !(m->decoys = calloc(n, sizeof(*m->decoys)))) ||
	    (n && !(m->texts = calloc(n * 7, sizeof(char *))))) {
		fangs_decoy_matcher_free(m);
		return fangs__error_oom();
	}
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		size_t len = decoys[i].value ? strlen(decoys[i].value) : 0;
		fangs_decoy *d = &m->decoys[i];
		if (!(d->value = fangs__strdup(decoys[i].value ? decoys[i].value : "")) ||
		    !(d->place = fangs__strdup(decoys[i].place ? decoys[i].place : "a decoy")) ||
		    !(d->what = fangs__strdup(decoys[i].what ? decoys[i].what : "secret"))) {
			fangs_decoy_matcher_free(m);
			return fangs__error_oom();
		}
		if (len < W)
			continue;
		windows += len - W + 1;
		/* the secret, then its 6 base64 encodings, folded */
		for (int t = 0; t < 7; t++) {
			char *f = t == 0 ? fangs__strdup(d->value) : folded_b64(d->value, (t - 1) % 3, t > 3);
			if (!f) {
				fangs_decoy_matcher_free(m);
				return fangs__error_oom();
			}
			if (t == 0)
				fold(f);
			m->texts[m->n_texts++] = f;
			if (strlen(f) >= WF)
				fwindows += strlen(f) - WF + 1;
		}
	}
	if ((rc = wset_init(&m->exact, windows, W)) < 0 || (rc = wset_init(&m->folded, fwindows, WF)) < 0) {
		fangs_decoy_matcher_free(m);
		return rc;
	}
	for (size_t i = 0, t = 0; i < n; i++) {
		size_t len = strlen(m->decoys[i].value);
		if (len < W)
			continue;
		for (size_t k = 0; k + W <= len; k++)
			put(&m->exact, (const unsigned char *)m->decoys[i].value + k, i);
		/* the folded set's slots say the decoy and the text's kind:
		 * decoy * 4 + (0 plain, 1 base64, 2 base64url) */
		for (int j = 0; j < 7; j++, t++) {
			const char *f = m->texts[t];
			assert(f); /* made above, in this order */
			for (size_t k = 0; strlen(f) >= WF && k + WF <= strlen(f); k++)
				put(&m->folded, (const unsigned char *)f + k, i * 4 + (j == 0 ? 0 : j < 4 ? 1 : 2));
		}
	}
	*out = m;
	return 0;
}

void fangs_decoy_matcher_free(fangs_decoy_matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->decoys && i < m->n; i++) {
		free((char *)m->decoys[i].value);
		free((char *)m->decoys[i].place);
		free((char *)m->decoys[i].what);
	}
	free(m->decoys);
	for (size_t i = 0; i < m->n_texts; i++)
		free(m->texts[i]);
	free(m->texts);
	free(m->exact.slots);
	free(m->folded.slots);
	free(m);
}

/* The decoy with the longest run of consecutive windows in p (its extent
 * in windows goes to *best), or -1. */
static long scan_set(const wset *w, const unsigned char *p, size_t len, size_t *best)
{
	long found = -1, cur = -1;
	size_t run = 0;
	*best = 0;
	for (size_t i = 0; i + w->wlen <= len; i++) {
		long d = lookup(w, p + i);
		run = d >= 0 && d == cur ? run + 1 : d >= 0 ? 1 : 0;
		cur = d;
		if (run > *best) {
			*best = run;
			found = d;
		}
	}
	return found;
}

static long scan_bytes(const fangs_decoy_matcher *m, const unsigned char *p, size_t len, size_t *best)
{
	return scan_set(&m->exact, p, len, best);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Every run of hex digits long enough to hold a window, at both alignments. */
static long scan_hex(const fangs_decoy_matcher *m, const unsigned char *s, size_t len, unsigned char *tmp, size_t *best)
{
	long found = -1;
	size_t i = 0;
	*best = 0;
	while (i < len) {
		size_t start = i, n;
		long d;
		while (i < len && hexval(s[i]) >= 0)
			i++;
		n = i - start;
		for (size_t off = 0; off < 2 && n >= 2 * W + off; off++) {
			size_t k = 0;
			size_t ext;
			for (size_t j = start + off; j + 1 < i; j += 2)
				tmp[k++] = (unsigned char)(hexval(s[j]) << 4 | hexval(s[j + 1]));
			if ((d = scan_bytes(m, tmp, k, &ext)) >= 0 && ext > *best) {
				*best = ext;
				found = d;
			}
		}
		if (i == start)
			i++;
	}
	return found;
}

/* Value of a base64 character of either alphabet, or -1. */
static int b64val(unsigned char c, int *url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '/')
		return c == '+' ? 62 : 63;
	if (c == '-' || c == '_') {
		*url = 1;
		return c == '-' ? 62 : 63;
	}
	return -1;
}

/* Every run of base64 characters long enough to hold a window, decoded from
 * each of the four character positions (the secret may start at any byte
 * of the encoded data). *url says whether the run used the URL-safe
 * alphabet. */
static long scan_b64(const fangs_decoy_matcher *m, const unsigned char *s, size_t len, unsigned char *tmp, int *url,
		     size_t *best)
{
	long found = -1;
	size_t i = 0;
	*best = 0;
	while (i < len) {
		size_t start = i, n;
		int is_url = 0;
		long d;
		while (i < len && b64val(s[i], &is_url) >= 0)
			i++;
		n = i - start;
		for (size_t off = 0; off < 4 && n >= off + (W * 4 + 2) / 3; off++) {
			size_t k = 0;
			uint32_t acc = 0;
			int bits = 0, dummy = 0;
			for (size_t j = start + off; j < i; j++) {
				acc = (acc << 6) | (uint32_t)b64val(s[j], &dummy);
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					tmp[k++] = (unsigned char)(acc >> bits);
				}
			}
			size_t ext;
			if ((d = scan_bytes(m, tmp, k, &ext)) >= 0 && ext > *best) {
				*best = ext;
				*url = is_url;
				found = d;
			}
		}
		if (i == start)
			i++;
	}
	return found;
}

enum {
	SRC_RAW,
	SRC_JOINED,
	SRC_URL,
	N_SRC
};
enum {
	CODE_PLAIN,
	CODE_HEX,
	CODE_B64,
	CODE_B64URL,
	N_CODE
};

static const char *const forms[N_SRC][N_CODE] = {
	{"plain", "hex", "base64", "base64url"},
	{"plain, split across DNS labels", "hex, split across DNS labels", "base64, split across DNS labels",
	 "base64url, split across DNS labels"},
	{"url-encoded", "hex in url-encoding", "base64 in url-encoding", "base64url in url-encoding"},
};

/* Forms of a match in case-folded text: a folded base64 window of a
 * secret holds a lower-case letter where the secret's encoding has an
 * upper-case one, so which alphabet it is shows only through - _ + /. */
static const char *const folded_forms[2][3] = {
	{"plain, lower-cased", "base64, lower-cased", "base64url, lower-cased"},
	{"plain, lower-cased, split across DNS labels", "base64, lower-cased, split across DNS labels",
	 "base64url, lower-cased, split across DNS labels"},
};

static size_t join_labels(const char *s, size_t len, unsigned char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '.')
			out[k++] = (unsigned char)s[i];
	return k;
}

static size_t url_decode(const char *s, size_t len, unsigned char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			out[k++] =
				(unsigned char)(hexval((unsigned char)s[i + 1]) << 4 | hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[k++] = (unsigned char)s[i];
		}
	}
	return k;
}

int fangs_decoy_find(const fangs_decoy_matcher *m, const char *data, size_t len, fangs_decoy_hit *hit)
{
	unsigned char *view = NULL, *tmp = NULL;
	size_t best = 0, ext, fbest = 0;
	long fd = -1;
	int rc = 0;

	if (!m || (!data && len) || !hit)
		return fangs_error_set(FANGS_EINVAL, "fangs_decoy_find: NULL argument");
	if (len < W || m->n == 0)
		return 0;
	if (!(view = malloc(len)) || !(tmp = malloc(len))) {
		rc = fangs__error_oom();
		goto out;
	}
	for (int src = 0; src < N_SRC; src++) {
		const unsigned char *s = (const unsigned char *)data;
		size_t n = len;
		long d;
		int url = 0;
		if (src == SRC_JOINED) {
			if (!memchr(data, '.', len))
				continue;
			n = join_labels(data, len, view);
			s = view;
		} else if (src == SRC_URL) {
			if (!memchr(data, '%', len))
				continue;
			n = url_decode(data, len, view);
			s = view;
		}
		/* the view that shows the most of a secret names the form */
		if ((d = scan_bytes(m, s, n, &ext)) >= 0 && ext > best) {
			best = ext;
			hit->decoy = (size_t)d;
			hit->form = forms[src][CODE_PLAIN];
			rc = 1;
		}
		if ((d = scan_hex(m, s, n, tmp, &ext)) >= 0 && ext > best) {
			best = ext;
			hit->decoy = (size_t)d;
			hit->form = forms[src][CODE_HEX];
			rc = 1;
		}
		if ((d = scan_b64(m, s, n, tmp, &url, &ext)) >= 0 && ext > best) {
			best = ext;
			hit->decoy = (size_t)d;
			hit->form = forms[src][url ? CODE_B64URL : CODE_B64];
			rc = 1;
		}
		/* the same text lower-cased: a name whose case was lost */
		if (rc == 0 && src != SRC_URL && n >= WF) {
			long f;
			memcpy(tmp, s, n);
			for (size_t i = 0; i < n; i++)
				if (tmp[i] >= 'A' && tmp[i] <= 'Z')
					tmp[i] = (unsigned char)(tmp[i] - 'A' + 'a');
			if ((f = scan_set(&m->folded, tmp, n, &ext)) >= 0 && ext > fbest) {
				fbest = ext;
				fd = f / 4;
				hit->form = folded_forms[src == SRC_JOINED][f % 4];
			}
		}
	}
	if (rc == 0 && fd >= 0) {
		hit->decoy = (size_t)fd;
		rc = 1;
	}
out:
	free(view);
	free(tmp);
	return rc;
}

/* One finding being gathered: a decoy in one form. */
typedef struct gathered {
	size_t decoy;
	const char *form;
	const fangs_event *first;
	int64_t *ids;
	size_t n_ids, cap_ids;
} gathered;

static const char *channel(const fangs_event *ev)
{
	return ev->kind == FANGS_EV_DNS_QUERY ? "a DNS query name" : "a TLS server name";
}

static int make_finding(const fangs_decoy *d, const char *run_id, const char *package, gathered *g,
			fangs_deviation *dev)
{
	const fangs_event *ev = g->first;
	dev->run_id = fangs__strdup(run_id ? run_id : "");
	dev->package = fangs__strdup(package ? package : "");
	dev->kind = fangs__strdup(FANGS_DECOY_FINDING_KIND);
	dev->severity = FANGS_SEV_CRITICAL;
	dev->value = fangs__asprintf("%s (%s)", d->place, g->form);
	dev->description = fangs__asprintf("the %s planted in %s left the sandbox (%s) in %s: a package sends "
					   "the credentials it finds",
					   d->what, d->place, g->form, channel(ev));
	dev->actor = fangs_event_actor(ev);
	if (!dev->run_id || !dev->package || !dev->kind || !dev->value || !dev->description)
		return fangs__error_oom();
#define DUP(dst, src) \
	do { \
		if ((src) && !((dst) = fangs__strdup(src))) \
			return fangs__error_oom(); \
	} while (0)
	DUP(dev->origin.package, ev->origin.package);
	DUP(dev->origin.version, ev->origin.version);
	DUP(dev->origin.script, ev->origin.script);
	DUP(dev->origin.command, ev->origin.command);
	DUP(dev->command, ev->origin.command);
#undef DUP
	dev->evidence = g->ids;
	dev->n_evidence = g->n_ids;
	g->ids = NULL;
	g->n_ids = 0;
	dev->created_ns = fangs__now_ns();
	return 0;
}

int fangs_decoy_findings(const fangs_decoy_matcher *m, const char *run_id, const char *package,
			 const fangs_event *events, size_t n_events, fangs_deviation_list *out)
{
	gathered *gs = NULL;
	size_t ng = 0, cap = 0, start;
	int rc = 0;

	if (!m || (n_events && !events) || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_decoy_findings: NULL argument");
	start = out->count;
	for (size_t i = 0; i < n_events && rc >= 0; i++) {
		const fangs_event *ev = &events[i];
		const char *s = NULL, *s2 = NULL;
		fangs_decoy_hit hit;
		size_t g;
		switch (ev->kind) {
		case FANGS_EV_DNS_QUERY:
			s = ev->qname;
			break;
		case FANGS_EV_TLS_SNI:
			s = ev->sni;
			break;
		case FANGS_EV_PROXY_REQUEST:
			/* the host asked of the proxy, and the request's path (plain HTTP) */
			s = ev->host;
			s2 = ev->path;
			break;
		case FANGS_EV_NONE:
		case FANGS_EV_FILE_OPEN:
		case FANGS_EV_EXEC:
		case FANGS_EV_NET_CONNECT:
		case FANGS_EV_PROC_FORK:
		case FANGS_EV_PROC_EXIT:
		case FANGS_EV_SYSCALL:
			break;
		}
		rc = s ? fangs_decoy_find(m, s, strlen(s), &hit) : 0;
		if (rc == 0 && s2)
			rc = fangs_decoy_find(m, s2, strlen(s2), &hit);
		if (rc <= 0)
			continue;
		rc = 0;
		for (g = 0; g < ng; g++)
			if (gs[g].decoy == hit.decoy && gs[g].form == hit.form)
				break;
		if (g == ng) {
			if (fangs__grow((void **)&gs, &cap, ng + 1, sizeof(*gs)) < 0) {
				rc = fangs__error_oom();
				break;
			}
			memset(&gs[ng], 0, sizeof(gs[ng]));
			gs[ng].decoy = hit.decoy;
			gs[ng].form = hit.form;
			gs[ng].first = ev;
			ng++;
		}
		if (fangs__grow((void **)&gs[g].ids, &gs[g].cap_ids, gs[g].n_ids + 1, sizeof(int64_t)) < 0) {
			rc = fangs__error_oom();
			break;
		}
		gs[g].ids[gs[g].n_ids++] = ev->id;
	}
	for (size_t g = 0; g < ng && rc >= 0; g++) {
		fangs_deviation *dev = fangs_deviation_list_push(out);
		if (!dev) {
			rc = fangs__error_oom();
			break;
		}
		rc = make_finding(&m->decoys[gs[g].decoy], run_id, package, &gs[g], dev);
	}
	for (size_t g = 0; g < ng; g++)
		free(gs[g].ids);
	free(gs);
	if (rc < 0)
		while (out->count > start)
			fangs_deviation_clear(&out->items[--out->count]);
	return rc < 0 ? rc : 0;
}
