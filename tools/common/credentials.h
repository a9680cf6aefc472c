/*
 * tools/common/credentials.h - who may talk to the orchestrator: the roles,
 * and the tokens file (docs/security.md) that the orchestrator reads and
 * `fangs token` writes.
 *
 * A tokens file holds one token a line, never the token itself:
 *     NAME ROLE RUNNER|- sha256:HEX CREATED_UNIX_SECONDS
 * ('#' starts a comment). It is replaced whole (written aside, renamed).
 */
#ifndef FANGS_TOOLS_CREDENTIALS_H
#define FANGS_TOOLS_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include <fangs/fangs.h>

enum role {
	ROLE_NONE,      /* no credential (only /v1/health) */
	ROLE_RUNNER,    /* takes jobs, reports events and results, as its runner only */
	ROLE_SUBMITTER, /* queues scans, reads */
	ROLE_OPERATOR,  /* queues scans, reads, operates the queue */
	ROLE_READER,    /* reads (metrics, runners) */
	ROLE_ALL,       /* --insecure-no-auth: every client may do everything */
	ROLE_COUNT
};

/* "runner", ...; NULL for ROLE_NONE and out of range. */
const char *role_name(enum role r);
/* The role of a name given to --role or found in a certificate; ROLE_NONE
 * when it is none of runner, submitter, operator, reader. */
enum role role_parse(const char *s);

#define TOKEN_HASH_LEN 32
#define TOKEN_MAX_NAME 128
/* Presented tokens: the prefix and 32 random bytes in hex. */
#define TOKEN_PREFIX "fangs_"

typedef struct token_entry {
	char name[TOKEN_MAX_NAME + 1];
	enum role role;
	char runner[FANGS_WIRE_MAX_NAME + 1]; /* the runner it acts as (role runner), else "" */
	unsigned char hash[TOKEN_HASH_LEN];   /* SHA-256 of the token */
	int64_t created;                      /* Unix seconds */
} token_entry;

/* Reads a tokens file: 0, or -1 with the reason in err. A missing file is
 * an empty list only when `missing_ok`. */
int tokens_load(const char *path, int missing_ok, token_entry **out, size_t *n, char *err, size_t errcap);
/* Replaces the file with `n` entries (0600, atomically): 0, or -1. */
int tokens_save(const char *path, const token_entry *e, size_t n, char *err, size_t errcap);
/* SHA-256 of a token (GnuTLS): 0, or -1. */
int token_hash(const char *token, size_t len, unsigned char out[TOKEN_HASH_LEN]);
/* A new token (TOKEN_PREFIX + 64 hex digits from getrandom()) in buf
 * (at least 80 bytes): 0, or -1. */
int token_generate(char *buf, size_t cap);
/* Equal hashes, in time that does not depend on where they differ. */
int token_hash_equal(const unsigned char *a, const unsigned char *b);
/* Which entry `token` is, comparing against every entry: its index, or -1. */
long tokens_find(const token_entry *e, size_t n, const char *token, size_t len);

#endif
