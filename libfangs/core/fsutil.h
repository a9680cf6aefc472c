/*
 * core/fsutil.h - file functions every module may use: run directories,
 * copies, removal, running a helper program with its output captured.
 */
#ifndef FANGS_CORE_FSUTIL_H
#define FANGS_CORE_FSUTIL_H

#include <sys/types.h>

/* Writes `data` to dir/name (created, mode), replacing it. */
int fangs__write_at(const char *dir, const char *name, const char *data, mode_t mode);
/* mkdir -p with mode for the directories it creates. */
int fangs__mkdir_p(const char *path, mode_t mode);
/* Copies a regular file. */
int fangs__copy_file(const char *from, const char *to);
/* rm -rf that never follows symlinks nor crosses into other mounts. */
int fangs__rm_rf(const char *path);
/* chown -R (symlinks themselves, not their targets). */
int fangs__chown_r(const char *path, uid_t uid, gid_t gid);
/* Runs argv (no shell), output captured (both streams, at most cap-1 bytes
 * kept, NUL-terminated) into out when out is not NULL. Returns the wait
 * status, or a negative FANGS_E* code when it could not run. */
int fangs__run_capture(const char *const *argv, const char *cwd, char *out, size_t cap);
/* npm's major version from `npm --version` on the host; <0 when unknown. */
int fangs__npm_major(const char *npm);

#endif
