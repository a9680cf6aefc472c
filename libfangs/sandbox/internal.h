/*
 * sandbox/internal.h - what the sandbox's files share.
 */
#ifndef FANGS_SANDBOX_INTERNAL_H
#define FANGS_SANDBOX_INTERNAL_H

#include "fangs/sandbox.h"
#include "fangs/sys/sandbox_backend.h"
#include "sandbox/decoy.h"

/* where the docker backend shows the npm cache (ns: ~/.npm/_cacache) */
#define FANGS__CACHE_INSIDE "/var/cache/npm"
#define FANGS__PATH_INSIDE "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The recording proxy inside the sandbox's network namespace (network
 * mode proxy): one place, read through fangs_sandbox_proxy_endpoint(). */
#define FANGS__PROXY_ADDR "127.0.0.3"
#define FANGS__PROXY_PORT 3128
#define FANGS__PROXY_URL "http://127.0.0.3:3128"

/* The default hard limit of a run. A native addon's build with the run's
 * one CPU does not fit in a minute: better-sqlite3 compiles SQLite's
 * amalgamation (one cc1 of about 55 s on a 2-core machine shared with
 * other work) and then its C++ binding. A run that ends sooner costs
 * nothing more; one that leaves a process behind runs to the limit. */
#define FANGS__DEFAULT_DURATION_MS 180000

/* Default outside uid of root inside (ns backend). */
#define FANGS__DEFAULT_HOST_UID 100000

/* A run's decoys, as fangs_sandbox_decoys() hands them out. */
typedef struct fangs__decoy_list {
	fangs_sandbox_decoy_file *items; /* place strings owned */
	size_t count;
	size_t capacity;
} fangs__decoy_list;

/* The files that hold the planted secrets `d` (places "~/..."), by
 * identity; `home_inside` names them as the sandbox sees them. */
int fangs__collect_decoy_files(fangs__decoy_list *out, const fangs__decoys *d, const char *home,
			       const char *home_inside);
void fangs__decoy_list_free(fangs__decoy_list *l);

/* Builds the npm command of a run (NULL-terminated, malloc'ed strings in a
 * malloc'ed array). Copies local tarballs / the prefetched project into
 * project_dir. */
int fangs__npm_command(char ***argv_out, const fangs_sandbox_spec *spec, const char *npm, int npm_major,
		       const char *project_dir);

/* The prefix (`<prefix>/include/node`) of the headers of the node that the
 * sandbox runs, for node-gyp's nodedir; looked up once per process.
 * FANGS_ENOTFOUND (out empty) when this host has none. */
int fangs__node_headers(char *out, size_t cap);
/* Starts that look-up (a `node --version`) in the background, once per
 * process: fangs__node_headers() waits for it. */
void fangs__node_headers_start(void);
/* Copies the import step of a spec (version >= 2): *argv_out NULL when it
 * has none; the time limit with its default applied. */
int fangs__import_step(char ***argv_out, int64_t *timeout_ms, const fangs_sandbox_spec *spec);

/* Frees a NULL-terminated string array. */
void fangs__strv_free(char **v);

#endif
