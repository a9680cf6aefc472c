/*
 * sandbox/internal.h - what the sandbox's files share.
 */
#ifndef FANGS_SANDBOX_INTERNAL_H
#define FANGS_SANDBOX_INTERNAL_H

#include "fangs/sys/sandbox_backend.h"

/* where the docker backend shows the npm cache (ns: ~/.npm/_cacache) */
#define FANGS__CACHE_INSIDE "/var/cache/npm"
#define FANGS__PATH_INSIDE "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Default outside uid of root inside (ns backend). */
#define FANGS__DEFAULT_HOST_UID 100000

/* npm's major version from `npm --version` on the host; <0 when unknown. */
int fangs__npm_major(const char *npm);

/* Builds the npm command of a run (NULL-terminated, malloc'ed strings in a
 * malloc'ed array). Copies local tarballs / the prefetched project into
 * project_dir. */
int fangs__npm_command(char ***argv_out, const fangs_sandbox_spec *spec, const char *npm, int npm_major,
		       const char *project_dir);

/* Frees a NULL-terminated string array. */
void fangs__strv_free(char **v);

#endif
