/*
 * sensor/proctab.c - a small chained hash table of processes keyed by pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/proctab.h"

static size_t bucket(int32_t pid)
{
	return ((uint32_t)pid * 2654435761u) % FANGS__PROCTAB_BUCKETS;
}

fangs__proc *fangs__proctab_get(fangs__proctab *t, int32_t pid)
{
	for (fangs__proc *p = t->buckets[bucket(pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

fangs__proc *fangs__proctab_put(fangs__proctab *t, int32_t pid)
{
	fangs__proc *p = fangs__proctab_get(t, pid);
	size_t b;
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	b = bucket(pid);
	p->pid = pid;
	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->count++;
	return p;
}

void fangs__proctab_del(fangs__proctab *t, int32_t pid)
{
	fangs__proc **pp = &t->buckets[bucket(pid)];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			fangs__proc *p = *pp;
			*pp = p->next;
			free(p);
			t->count--;
			return;
		}
	}
}

void fangs__proctab_clear(fangs__proctab *t)
{
	for (size_t i = 0; i < FANGS__PROCTAB_BUCKETS; i++) {
		fangs__proc *p = t->buckets[i];
		while (p) {
			fangs__proc *n = p->next;
			free(p);
			p = n;
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}

void fangs__proctab_prune_external(fangs__proctab *t)
{
	for (size_t i = 0; i < FANGS__PROCTAB_BUCKETS; i++) {
		fangs__proc **pp = &t->buckets[i];
		while (*pp) {
			fangs__proc *p = *pp;
			if (p->external && kill(p->pid, 0) < 0 && errno == ESRCH) {
				*pp = p->next;
				free(p);
				t->count--;
			} else {
				pp = &p->next;
			}
		}
	}
}
