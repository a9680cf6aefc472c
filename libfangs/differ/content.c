/*
 * differ/content.c - what npm unpacks is the release's content.
 *
 * npm extracting a release writes every file of every package into
 * node_modules/<name>/; a new release adds, renames and drops files, and
 * none of that is behaviour. What npm itself (actor npm) writes or reads
 * inside a package directory it wrote into in this run, and what a script
 * reads of the files npm unpacked in this run, is summarised: one finding
 * of kind content_changed per package directory, at info, listing the
 * files. A script's writes, its reads of anything npm did not unpack, and
 * any read of a credential place are still reported one by one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

/* Lines of the description past this are counted, not listed. */
#define LIST_MAX 2000

static bool comp_is(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(s, lit, l) == 0;
}

size_t fangs__content_dir(const char *v, size_t len, bool *inside)
{
	size_t dir = 0, i = 0;
	bool in = false;
	/* the innermost node_modules/<name> (or node_modules/@scope/<name>) */
	while (i < len) {
		size_t s = i, e;
		while (s < len && v[s] == '/')
			s++;
		for (e = s; e < len && v[e] != '/';)
			e++;
		if (comp_is(v + s, e - s, "node_modules") && e < len) {
			size_t a = e + 1, b = a;
			while (b < len && v[b] != '/')
				b++;
			/* .bin, .package-lock.json, arborist's .<name>-<stage>: npm's own */
			if (b > a && v[a] != '.') {
				if (v[a] == '@') {
					size_t c = b + 1, d = c;
					if (b >= len)
						goto next;
					while (d < len && v[d] != '/')
						d++;
					if (d == c || v[c] == '.')
						goto next;
					b = d;
				}
				dir = b;
				in = b < len;
				e = b;
			}
		}
next:
		i = e;
	}
	if (inside)
		*inside = in;
	return dir;
}

fangs__content_sum *fangs__content_get(fangs__content_list *l, const char *dir, size_t dlen, size_t first)
{
	fangs__content_sum *s;
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].dlen == dlen && !memcmp(l->items[i].dir, dir, dlen))
			return &l->items[i];
	if (FANGS_GROW(l))
		return NULL;
	s = &l->items[l->count];
	memset(s, 0, sizeof(*s));
	if (!(s->dir = fangs__strndup(dir, dlen)))
		return NULL;
	s->dlen = dlen;
	s->first = first;
	l->count++;
	return s;
}

int fangs__content_add(fangs__content_sum *s, fangs__content_what what, const char *value, size_t first,
		       const int64_t *ids, size_t n_ids)
{
	fangs__content_item *it;
	if (FANGS_GROW(s))
		return FANGS_ENOMEM;
	it = &s->items[s->count];
	it->what = what;
	it->path = value; /* borrowed */
	it->first = first;
	s->count++;
	s->n[what]++;
	if (first < s->first)
		s->first = first;
	for (size_t i = 0; i < n_ids && s->n_ids < FANGS__EVIDENCE_MAX; i++)
		s->ids[s->n_ids++] = ids[i];
	return 0;
}

typedef struct removed_walk {
	fangs__content_list *l;
	const fangs_fpset *unpacked;
	int rc;
} removed_walk;

static int removed_one(const fangs_fingerprint *fp, void *user)
{
	removed_walk *w = user;
	size_t len, dir;
	bool inside;
	if (fp->kind != FANGS_FP_FS_WRITE || fp->actor != FANGS_ACTOR_NPM)
		return 0;
	len = strlen(fp->value);
	if (!(dir = fangs__content_dir(fp->value, len, &inside)) || !inside)
		return 0;
	for (size_t i = 0; i < w->l->count; i++) {
		fangs__content_sum *s = &w->l->items[i];
		uint64_t h;
		char *copy;
		if (s->dlen != dir || memcmp(s->dir, fp->value, dir))
			continue;
		h = fangs__fp_hash(FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, fp->value, len);
		if (fangs__fpset_has(w->unpacked, h, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, fp->value, len))
			return 0;
		if (!(copy = fangs__strndup(fp->value, len)))
			return w->rc = FANGS_ENOMEM;
		if (FANGS_GROW(&s->removed)) {
			free(copy);
			return w->rc = FANGS_ENOMEM;
		}
		s->removed.items[s->removed.count++] = copy;
		s->n[FANGS__CONTENT_REMOVED]++;
		return 0;
	}
	return 0;
}

int fangs__content_removed(fangs__content_list *l, const fangs_fpset *baseline, const fangs_fpset *unpacked)
{
	removed_walk w = {l, unpacked, 0};
	if (!l->count || !baseline)
		return 0;
	fangs_fpset_foreach(baseline, removed_one, &w);
	return w.rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_item(const void *a, const void *b)
{
	const fangs__content_item *x = a, *y = b;
	if (x->what != y->what)
		return x->what < y->what ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void put_counts(FILE *f, const fangs__content_sum *s)
{
	static const char *const what[FANGS__CONTENT_WHAT_COUNT] = {"file added", "file read by npm",
								    "unpacked file read by a script", "file removed"};
	static const char *const whats[FANGS__CONTENT_WHAT_COUNT] = {
		"files added", "files read by npm", "unpacked files read by a script", "files removed"};
	bool first = true;
	for (int k = 0; k < FANGS__CONTENT_WHAT_COUNT; k++) {
		if (!s->n[k])
			continue;
		fprintf(f, "%s%zu %s", first ? "" : ", ", s->n[k], s->n[k] == 1 ? what[k] : whats[k]);
		first = false;
	}
}

/* A path below the package directory; "." for the directory itself (npm
 * and scripts open it to list it). */
static const char *below(const fangs__content_sum *s, const char *path)
{
	return path[s->dlen] == '/' ? path + s->dlen + 1 : ".";
}

char *fangs__content_describe(fangs__content_sum *s)
{
	/* one line a file, its path below the package directory */
	static const char mark[FANGS__CONTENT_WHAT_COUNT] = {'+', 'r', 's', '-'};
	char *text = NULL;
	size_t size = 0, listed = 0, total;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		return NULL;
	if (s->count)
		qsort(s->items, s->count, sizeof(*s->items), cmp_item);
	if (s->removed.count)
		qsort(s->removed.items, s->removed.count, sizeof(*s->removed.items), cmp_str);
	put_counts(f, s);
	for (size_t i = 0; i < s->count && listed < LIST_MAX; i++, listed++)
		fprintf(f, "\n%c %s", mark[s->items[i].what], below(s, s->items[i].path));
	for (size_t i = 0; i < s->removed.count && listed < LIST_MAX; i++, listed++)
		fprintf(f, "\n- %s", below(s, s->removed.items[i]));
	total = s->count + s->removed.count;
	if (total > listed)
		fprintf(f, "\n(%zu more)", total - listed);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

void fangs__content_list_free(fangs__content_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		fangs__content_sum *s = &l->items[i];
		free(s->dir);
		free(s->items);
		for (size_t j = 0; j < s->removed.count; j++)
			free(s->removed.items[j]);
		free(s->removed.items);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
