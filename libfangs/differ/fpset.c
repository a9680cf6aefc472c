/*
 * differ/fpset.c - a set of fingerprints: open addressing, linear probing,
 * keyed by (kind, actor, value).
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/differ.h"

typedef struct fp_slot {
	uint64_t hash; /* 0 = empty */
	fangs_fingerprint fp;
} fp_slot;

struct fangs_fpset {
	fp_slot *slots;
	size_t cap; /* power of two */
	size_t count;
};

static uint64_t fp_hash(fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	uint64_t seed = ((uint64_t)(unsigned)kind << 8) | (uint64_t)(unsigned)actor;
	uint64_t h = fangs__hash64(value, strlen(value), seed);
	return h ? h : 1;
}

int fangs_fpset_new(fangs_fpset **out)
{
	fangs_fpset *s;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_fpset_new: out is NULL");
	s = calloc(1, sizeof(*s));
	if (!s)
		return fangs__error_oom();
	s->cap = 64;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return fangs__error_oom();
	}
	*out = s;
	return 0;
}

void fangs_fpset_free(fangs_fpset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].fp.value);
	free(set->slots);
	free(set);
}

static fp_slot *find_slot(fp_slot *slots, size_t cap, uint64_t h, fangs_fp_kind kind, fangs_actor actor,
			  const char *value)
{
	size_t i = (size_t)h & (cap - 1);
	for (;;) {
		fp_slot *s = &slots[i];
		if (s->hash == 0)
			return s;
		if (s->hash == h && s->fp.kind == kind && s->fp.actor == actor && strcmp(s->fp.value, value) == 0)
			return s;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(fangs_fpset *set)
{
	size_t ncap = set->cap * 2;
	fp_slot *n = calloc(ncap, sizeof(*n));
	if (!n)
		return fangs__error_oom();
	for (size_t i = 0; i < set->cap; i++) {
		fp_slot *o = &set->slots[i];
		if (o->hash)
			*find_slot(n, ncap, o->hash, o->fp.kind, o->fp.actor, o->fp.value) = *o;
	}
	free(set->slots);
	set->slots = n;
	set->cap = ncap;
	return 0;
}

int fangs_fpset_add(fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	uint64_t h;
	fp_slot *s;
	if (!set || !value)
		return fangs_error_set(FANGS_EINVAL, "fangs_fpset_add: NULL argument");
	h = fp_hash(kind, actor, value);
	s = find_slot(set->slots, set->cap, h, kind, actor, value);
	if (s->hash)
		return 0;
	/* keep the load under 3/4 so probes stay short */
	if ((set->count + 1) * 4 > set->cap * 3) {
		if (grow(set))
			return FANGS_ENOMEM;
		s = find_slot(set->slots, set->cap, h, kind, actor, value);
	}
	s->fp.value = fangs__strdup(value);
	if (!s->fp.value)
		return FANGS_ENOMEM;
	s->hash = h;
	s->fp.kind = kind;
	s->fp.actor = actor;
	set->count++;
	return 1;
}

int fangs_fpset_contains(const fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	if (!set || !value)
		return 0;
	return find_slot(set->slots, set->cap, fp_hash(kind, actor, value), kind, actor, value)->hash != 0;
}

size_t fangs_fpset_size(const fangs_fpset *set)
{
	return set ? set->count : 0;
}

int fangs_fpset_merge(fangs_fpset *dst, const fangs_fpset *src)
{
	if (!dst || !src)
		return fangs_error_set(FANGS_EINVAL, "fangs_fpset_merge: NULL argument");
	for (size_t i = 0; i < src->cap; i++) {
		const fp_slot *s = &src->slots[i];
		if (s->hash) {
			int rc = fangs_fpset_add(dst, s->fp.kind, s->fp.actor, s->fp.value);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int fangs_fpset_foreach(const fangs_fpset *set, fangs_fpset_fn fn, void *user)
{
	if (!set || !fn)
		return fangs_error_set(FANGS_EINVAL, "fangs_fpset_foreach: NULL argument");
	for (size_t i = 0; i < set->cap; i++) {
		if (set->slots[i].hash) {
			int rc = fn(&set->slots[i].fp, user);
			if (rc)
				return rc;
		}
	}
	return 0;
}
