/*
 * sandbox/internal.h - what the sandbox's files share.
 */
#ifndef FANGS_SANDBOX_INTERNAL_H
#define FANGS_SANDBOX_INTERNAL_H

#include "fangs/sys/sandbox_backend.h"

/* Paths inside the sandbox; the same for every backend. */
#define FANGS__HOME_INSIDE "/root"
#define FANGS__PROJECT_INSIDE "/root/app"
#define FANGS__CACHE_INSIDE "/var/cache/npm"
#define FANGS__PATH_INSIDE "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Default outside uid of root inside (ns backend). */
#define FANGS__DEFAULT_HOST_UID 100000

/* Writes fake credentials into home (~/.npmrc, ~/.ssh/id_rsa,
 * ~/.aws/credentials) and project (.env). */
int fangs__plant_decoys(const char *home, const char *project);

/* npm's major version from `npm --version` on the host; <0 when unknown. */
int fangs__npm_major(const char *npm);

/* Builds the npm command of a run (NULL-terminated, malloc'ed strings in a
 * malloc'ed array). Copies local tarballs / the prefetched project into
 * project_dir. */
int fangs__npm_command(char ***argv_out, const fangs_sandbox_spec *spec, const char *npm, int npm_major,
		       const char *project_dir);

/* Copies the import step of a spec (version >= 2): *argv_out NULL when it
 * has none; the time limit with its default applied. */
int fangs__import_step(char ***argv_out, int64_t *timeout_ms, const fangs_sandbox_spec *spec);

/* Frees a NULL-terminated string array. */
void fangs__strv_free(char **v);

#endif
