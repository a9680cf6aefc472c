/*
 * sandbox/internal.h - what the sandbox's files share.
 */
#ifndef FANGS_SANDBOX_INTERNAL_H
#define FANGS_SANDBOX_INTERNAL_H

#include "fangs/sys/sandbox_backend.h"

/* Paths inside the sandbox; the same for every backend. */
#define FANGS__HOME_INSIDE "/root"
#define FANGS__PROJECT_INSIDE "/root/app"
/* npm's cache is ~/.npm as on a developer's machine, writable (tools such as
 * prebuild-install keep their downloads there); only the host's prefetched
 * _cacache is mounted in it, read-only */
#define FANGS__NPM_CACHE_INSIDE FANGS__HOME_INSIDE "/.npm"
#define FANGS__CACHE_INSIDE FANGS__NPM_CACHE_INSIDE "/_cacache"
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

/* The prefix (`<prefix>/include/node`) of the headers of the node that the
 * sandbox runs, for node-gyp's nodedir; looked up once per process.
 * FANGS_ENOTFOUND (out empty) when this host has none. */
int fangs__node_headers(char *out, size_t cap);

/* Frees a NULL-terminated string array. */
void fangs__strv_free(char **v);

#endif
