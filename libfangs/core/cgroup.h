/*
 * core/cgroup.h - the run's cgroups on hybrid (v1 controllers + v2 for
 * scoping) and pure v2 hosts, for the sandbox (limits through v1 or v2) and
 * the sensor (scope by the v2 cgroup). Defined in cgroup/: mounts.c (the
 * one detection of the layout), limits.c (a run's cgroups), cgroup.c (also
 * the public fangs/cgroup.h).
 */
#include <stdio.h>
#ifndef FANGS_CORE_CGROUP_H
#define FANGS_CORE_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "fangs/sandbox.h"

typedef enum fangs__cg_layout {
	FANGS__CG_HYBRID = 1, /* v2 without controllers + v1 memory/pids/cpu */
	FANGS__CG_V2 = 2      /* unified hierarchy with controllers */
} fangs__cg_layout;

enum {
	FANGS__CG_V1_MAX = 3
};

/* Where cgroup2 and the v1 controllers are looked for first. */
#define FANGS__CGROUP_ROOT "/sys/fs/cgroup"

/* What /proc/self/mountinfo says of the cgroups: the one answer to "where
 * is cgroup v2 and which layout is this". */
typedef struct fangs__cg_mounts {
	fangs__cg_layout layout;
	char *v2;                   /* the cgroup2 mount point */
	char *v1[FANGS__CG_V1_MAX]; /* hybrid: where memory, pids, cpu (fangs__cgroup_v1_controller())
					 are mounted, NULL when not (always NULL on pure v2) */
	char **v1_all;              /* every cgroup-v1 mount point, NULL-terminated (or NULL) */
} fangs__cg_mounts;

/* The v1 controllers the limits use, by index: "memory", "pids", "cpu";
 * NULL past FANGS__CG_V1_MAX. */
const char *fangs__cgroup_v1_controller(size_t i);

/* Reads mountinfo text (the format of /proc/self/mountinfo). With several
 * cgroup2 mounts the one at `root` (NULL = FANGS__CGROUP_ROOT) wins, then
 * <root>/unified, then one below root, then the first; the same order for
 * each v1 controller (<root>/<controller> first). The layout is hybrid
 * when memory or pids is bound to a v1 hierarchy (v2 cannot have it then),
 * else v2. FANGS_EUNSUPPORTED with a message when no cgroup2 is mounted.
 * On success the caller frees *m with fangs__cgroup_mounts_free(). */
int fangs__cgroup_mounts_parse(FILE *mountinfo, const char *root, fangs__cg_mounts *m);

/* The same over this process's /proc/self/mountinfo. */
int fangs__cgroup_detect(const char *root, fangs__cg_mounts *m);

void fangs__cgroup_mounts_free(fangs__cg_mounts *m);

typedef struct fangs__cgroup {
	fangs__cg_layout layout;
	char *v2;                       /* <v2 mount>/fangs/<run_id> */
	char *v1[FANGS__CG_V1_MAX + 1]; /* hybrid: <ctrl's v1 mount>/fangs/<run_id>, NULL-terminated */
	char **v1_all;                  /* hybrid: every v1 mount point (fangs__cg_mounts.v1_all), where
					   docker's runc makes fangs/<run_id> too */
	uint64_t id;
} fangs__cgroup;

/* Creates fangs/<run_id> everywhere it is needed and sets the limits;
 * the mounts are fangs__cgroup_detect(root)'s. FANGS_EEXISTS when it
 * exists already. */
int fangs__cgroup_create(fangs__cgroup *cg, const char *root, const char *run_id, const fangs_sandbox_limits *limits);

/* Moves `pid` into the v2 cgroup and each v1 one (NULL-terminated). */
int fangs__cgroup_join(const char *v2, const char *const *v1, pid_t pid);

/* Processes in the run's v2 cgroup (and below), or <0. */
int fangs__cgroup_count(const fangs__cgroup *cg);

/* Kills everything in the run's cgroups and waits until they are empty:
 * with cgroup.kill where the kernel has it (5.14+), else by freezing and
 * SIGKILLing every pid until none is left. */
int fangs__cgroup_kill(const fangs__cgroup *cg);
/* The same with the method chosen by the caller (1 = cgroup.kill). */
int fangs__cgroup_kill_with(const fangs__cgroup *cg, int use_cgroup_kill);

/* Processes the memory limit killed so far. */
int64_t fangs__cgroup_oom_kills(const fangs__cgroup *cg);

/* Kills, then removes the cgroups (and cgroups below them); frees. */
void fangs__cgroup_destroy(fangs__cgroup *cg);

/* Kills and removes the cgroups fangs/<run_id> of a run whose scanner is
 * gone; counts them in *removed. */
int fangs__cgroup_gc(const char *root, const char *run_id, int *removed);

/* Depth of `path` below the cgroup-v2 mount `root` (root itself = 0), as
 * bpf_get_current_ancestor_cgroup_id() counts it; -1 when outside. */
int fangs__cgroup_level(const char *root, const char *path);

#endif
