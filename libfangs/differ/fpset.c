/*
 * differ/fpset.c - the fingerprint set: open addressing, linear probing.
 *
 * A baseline holds thousands of fingerprints and every event of a run is
 * looked up once, so a slot keeps the full 64-bit hash (probes compare it
 * before touching the string) and values live in a bump arena: adding a
 * member costs no malloc of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

typedef struct fp_slot {
	uint64_t hash; /* 0 = empty */
	const char *value;
	uint32_t len;
	uint8_t kind;
	uint8_t actor;
} fp_slot;

typedef struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t cap;
	char data[];
} arena_block;

#define ARENA_BLOCK 65536
#define INITIAL_SLOTS 64

struct fangs_fpset {
	fp_slot *slots;
	size_t mask; /* slot count - 1; the count is a power of two */
	size_t count;
	arena_block *arena;
};

uint64_t fangs__fp_hash(fangs_fp_kind kind, fangs_actor actor, const char *value, size_t len)
{
	uint64_t h = fangs__hash64(value, len, ((uint64_t)kind << 8) | (uint64_t)actor);
	return h ? h : 1;
}

int fangs_fpset_new(fangs_fpset **out)
{
	fangs_fpset *s;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fpset: out is NULL");
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return fangs__error_oom();
	s->slots = calloc(INITIAL_SLOTS, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return fangs__error_oom();
	}
	s->mask = INITIAL_SLOTS - 1;
	*out = s;
	return 0;
}

void fangs_fpset_free(fangs_fpset *set)
{
	arena_block *b, *next;
	if (!set)
		return;
	for (b = set->arena; b; b = next) {
		next = b->next;
		free(b);
	}
	free(set->slots);
	free(set);
}

static const char *arena_copy(fangs_fpset *s, const char *value, size_t len)
{
	arena_block *b = s->arena;
	char *dst;
	if (!b || b->cap - b->used < len + 1) {
		/* a value larger than a quarter block gets a block of its own, kept
		 * behind the current one so the current one's free room is not lost */
		size_t cap = len + 1 > ARENA_BLOCK / 4 ? len + 1 : ARENA_BLOCK;
		arena_block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (b && cap != ARENA_BLOCK) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			s->arena = nb;
		}
		b = nb;
	}
	dst = b->data + b->used;
	memcpy(dst, value, len);
	dst[len] = '\0';
	b->used += len + 1;
	return dst;
}

static fp_slot *find_slot(const fangs_fpset *s, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value,
			  size_t len)
{
	size_t i = (size_t)h & s->mask;
	for (;;) {
		fp_slot *sl = &s->slots[i];
		if (!sl->hash)
			return sl;
		if (sl->hash == h && sl->len == len && sl->kind == (uint8_t)kind && sl->actor == (uint8_t)actor &&
		    memcmp(sl->value, value, len) == 0)
			return sl;
		i = (i + 1) & s->mask;
	}
}

static int grow(fangs_fpset *s)
{
	size_t ncount = (s->mask + 1) * 2;
	fp_slot *ns = calloc(ncount, sizeof(*ns));
	if (!ns)
		return fangs__error_oom();
	for (size_t i = 0; i <= s->mask; i++) {
		fp_slot *sl = &s->slots[i];
		size_t j;
		if (!sl->hash)
			continue;
		j = (size_t)sl->hash & (ncount - 1);
		while (ns[j].hash)
			j = (j + 1) & (ncount - 1);
		ns[j] = *sl;
	}
	free(s->slots);
	s->slots = ns;
	s->mask = ncount - 1;
	return 0;
}

bool fangs__fpset_has(const fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value,
		      size_t len)
{
	if (!set || !set->count)
		return false;
	return find_slot(set, h, kind, actor, value, len)->hash != 0;
}

int fangs__fpset_put(fangs_fpset *set, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *value, size_t len)
{
	fp_slot *sl;
	const char *copy;
	int rc;
	if (len > UINT32_MAX)
		return fangs_error_set(FANGS_EINVAL, "fingerprint value too long");
	sl = find_slot(set, h, kind, actor, value, len);
	if (sl->hash)
		return 0;
	/* keep the load under 3/4 so probe runs stay short */
	if ((set->count + 1) * 4 > (set->mask + 1) * 3) {
		if ((rc = grow(set)) < 0)
			return rc;
		sl = find_slot(set, h, kind, actor, value, len);
	}
	copy = arena_copy(set, value, len);
	if (!copy)
		return fangs__error_oom();
	sl->hash = h;
	sl->value = copy;
	sl->len = (uint32_t)len;
	sl->kind = (uint8_t)kind;
	sl->actor = (uint8_t)actor;
	set->count++;
	return 1;
}

static int check_args(const void *set, fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	if (!set || !value)
		return fangs_error_set(FANGS_EINVAL, "fpset: missing set or value");
	if ((unsigned)kind >= FANGS_FP_KIND_COUNT)
		return fangs_error_set(FANGS_EINVAL, "fpset: unknown fingerprint kind %d", (int)kind);
	if ((unsigned)actor > FANGS_ACTOR_MAX)
		return fangs_error_set(FANGS_EINVAL, "fpset: unknown actor %d", (int)actor);
	return 0;
}

int fangs_fpset_add(fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	size_t len;
	int rc;
	if ((rc = check_args(set, kind, actor, value)) < 0)
		return rc;
	len = strlen(value);
	return fangs__fpset_put(set, fangs__fp_hash(kind, actor, value, len), kind, actor, value, len);
}

int fangs_fpset_contains(const fangs_fpset *set, fangs_fp_kind kind, fangs_actor actor, const char *value)
{
	size_t len;
	if (!set || !value)
		return 0;
	len = strlen(value);
	return fangs__fpset_has(set, fangs__fp_hash(kind, actor, value, len), kind, actor, value, len);
}

size_t fangs_fpset_size(const fangs_fpset *set)
{
	return set ? set->count : 0;
}

int fangs_fpset_merge(fangs_fpset *dst, const fangs_fpset *src)
{
	if (!dst)
		return fangs_error_set(FANGS_EINVAL, "fpset merge: dst is NULL");
	if (!src || src == dst)
		return 0;
	for (size_t i = 0; i <= src->mask; i++) {
		const fp_slot *sl = &src->slots[i];
		int rc;
		if (!sl->hash)
			continue;
		rc = fangs__fpset_put(dst, sl->hash, (fangs_fp_kind)sl->kind, (fangs_actor)sl->actor, sl->value,
				      sl->len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int fangs_fpset_foreach(const fangs_fpset *set, fangs_fpset_fn fn, void *user)
{
	if (!set || !fn)
		return 0;
	for (size_t i = 0; i <= set->mask; i++) {
		const fp_slot *sl = &set->slots[i];
		fangs_fingerprint fp;
		int rc;
		if (!sl->hash)
			continue;
		fp.kind = (fangs_fp_kind)sl->kind;
		fp.actor = (fangs_actor)sl->actor;
		fp.value = (char *)sl->value;
		if ((rc = fn(&fp, user)) != 0)
			return rc;
	}
	return 0;
}
