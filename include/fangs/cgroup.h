/*
 * fangs/cgroup.h - the cgroup-v2 directories runs are scoped by.
 *
 * A run lives in <v2 root>/fangs/<run_id>. The v2 root is /sys/fs/cgroup on
 * pure-v2 hosts and /sys/fs/cgroup/unified on hybrid ones; it is detected
 * from /proc/self/mountinfo, as the sandbox's run cgroups and the sensor's
 * scope find it. With several cgroup2 mounts, /sys/fs/cgroup wins, then
 * /sys/fs/cgroup/unified, then one below /sys/fs/cgroup, then the first.
 */
#ifndef FANGS_CGROUP_H
#define FANGS_CGROUP_H

#include "common.h"

FANGS_BEGIN_DECL

/** Copies the cgroup-v2 mount point into `buf`. FANGS_EUNSUPPORTED when none
 * is mounted, FANGS_EINVAL when `buf` is too small. */
FANGS_EXTERN(int) fangs_cgroup_v2_root(char *buf, size_t len);

/**
 * Creates <v2 root>/fangs/<run_id> (and fangs/ when missing) and copies its
 * path into `path` (may be NULL). FANGS_EEXISTS when it exists already;
 * FANGS_EINVAL when run_id is empty or holds '/' or starts with '.'.
 */
FANGS_EXTERN(int) fangs_cgroup_create_run(const char *run_id, char *path, size_t len);

/** Removes a cgroup directory (it must hold no process). */
FANGS_EXTERN(int) fangs_cgroup_remove(const char *path);

/** Moves process `pid` (0 = the caller) into the cgroup at `path`. */
FANGS_EXTERN(int) fangs_cgroup_attach(const char *path, int pid);

/** Kills every process of the cgroup and its descendants (cgroup.kill,
 * Linux >= 5.14). Returns at once; wait for fangs_cgroup_populated() == 0. */
FANGS_EXTERN(int) fangs_cgroup_kill(const char *path);

/** 1 when the cgroup or a descendant holds a process, 0 when empty, < 0 on error. */
FANGS_EXTERN(int) fangs_cgroup_populated(const char *path);

/** The cgroup's id (what bpf_get_current_cgroup_id() returns for its tasks). */
FANGS_EXTERN(int) fangs_cgroup_id(const char *path, uint64_t *id);

FANGS_END_DECL

#endif
