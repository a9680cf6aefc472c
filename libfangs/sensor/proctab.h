/*
 * sensor/proctab.h - user space's view of the watched processes, kept in
 * ring-buffer order so an event is described as things were when it
 * happened (the kernel's table may already have moved on).
 */
#ifndef FANGS_SENSOR_PROCTAB_H
#define FANGS_SENSOR_PROCTAB_H

#include <linux/types.h>
#include <stdint.h>

#include "sensor.h"

typedef struct fangs__proc {
	struct fangs__proc *next;
	int32_t pid;
	int32_t ppid;
	int has_origin;
	int external;    /* read from /proc: outside any watched cgroup */
	int64_t fetched; /* monotonic ns when an external entry was read */
	char comm[FS_COMM_LEN];
	char exe[FS_PATH_LEN];
	struct fs_origin origin;
} fangs__proc;

#define FANGS__PROCTAB_BUCKETS 4096

typedef struct fangs__proctab {
	fangs__proc *buckets[FANGS__PROCTAB_BUCKETS];
	size_t count;
} fangs__proctab;

fangs__proc *fangs__proctab_get(fangs__proctab *t, int32_t pid);
/* The entry of `pid`, created zeroed when missing; NULL on ENOMEM. */
fangs__proc *fangs__proctab_put(fangs__proctab *t, int32_t pid);
void fangs__proctab_del(fangs__proctab *t, int32_t pid);
void fangs__proctab_clear(fangs__proctab *t);
/* Drops the entries read from /proc whose process is gone (no exit event
 * ever comes for those). */
void fangs__proctab_prune_external(fangs__proctab *t);

#endif
