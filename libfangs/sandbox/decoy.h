/*
 * sandbox/decoy.h - the person a run's sandbox belongs to, and the decoys
 * planted in their home.
 */
#ifndef FANGS_SANDBOX_DECOY_H
#define FANGS_SANDBOX_DECOY_H

#include <stddef.h>

#include "fangs/decoy.h"

/* Who the sandbox's user seems to be; picked at random for every run. */
typedef struct fangs__persona {
	char user[32];  /* the person's usual login name */
	char login[32]; /* the account the install runs as ("root" where HOME is /root) */
	char full_name[64];
	char email[96];
	char company[32];
	char hostname[64];
	char home[64]; /* HOME inside */
} fangs__persona;

/* `hostname` NULL = a random plausible one; root_home: the account is root
 * with HOME=/root (backends that run the install as root). */
void fangs__persona_pick(fangs__persona *p, const char *hostname, int root_home);

#define FANGS__DECOYS_MAX 16

/* The planted secrets: place and what are static, value is owned. */
typedef struct fangs__decoys {
	fangs_decoy items[FANGS__DECOYS_MAX];
	size_t count;
} fangs__decoys;

/* Writes a lived-in home (dotfiles, history, projects) with credentials
 * into `home`, and a .env into `project`; `registry` (the registry's URL,
 * may be NULL) is where ~/.npmrc's token is for. Fills `d`. */
int fangs__plant_decoys(fangs__decoys *d, const fangs__persona *p, const char *home, const char *project,
			const char *registry);
void fangs__decoys_clear(fangs__decoys *d);

#endif
