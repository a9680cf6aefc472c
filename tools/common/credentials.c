/*
 * tools/common/credentials.c - roles and the tokens file.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"

static const char *const role_names[ROLE_COUNT] = {NULL, "runner", "submitter", "operator", "reader", "all"};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == ROLE_COUNT, "a name for each role");

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE_COUNT ? role_names[r] : NULL;
}

enum role role_parse(const char *s)
{
	/* "all" is never a role a credential carries */
	for (int r = ROLE_RUNNER; r <= ROLE_READER; r++)
		if (s && !strcmp(s, role_names[r]))
			return (enum role)r;
	return ROLE_NONE;
}

int token_hash(const char *token, size_t len, unsigned char out[TOKEN_HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, token, len, out) < 0 ? -1 : 0;
}

int token_hash_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;
	for (size_t i = 0; i < TOKEN_HASH_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

long tokens_find(const token_entry *e, size_t n, const char *token, size_t len)
{
	unsigned char h[TOKEN_HASH_LEN];
	long found = -1;
	if (token_hash(token, len, h))
		return -1;
	/* every entry is compared: how long this takes says nothing of which matched */
	for (size_t i = 0; i < n; i++)
		if (token_hash_equal(e[i].hash, h) & (found < 0))
			found = (long)i;
	return found;
}

int token_generate(char *buf, size_t cap)
{
	unsigned char rnd[32];
	size_t got = 0, p;
	if (cap < sizeof(TOKEN_PREFIX) + 2 * sizeof(rnd))
		return -1;
	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	p = (size_t)snprintf(buf, cap, "%s", TOKEN_PREFIX);
	for (size_t i = 0; i < sizeof(rnd); i++, p += 2)
		snprintf(buf + p, cap - p, "%02x", rnd[i]);
	memset(rnd, 0, sizeof(rnd));
	return 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

int tokens_load(const char *path, int missing_ok, token_entry **out, size_t *n, char *err, size_t errcap)
{
	char line[1024];
	token_entry *v = NULL;
	size_t count = 0, cap = 0;
	int lineno = 0;
	FILE *f = fopen(path, "re");

	*out = NULL;
	*n = 0;
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return 0;
		snprintf(err, errcap, "cannot read the tokens file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[TOKEN_MAX_NAME + 2], role[32], runner[FANGS_WIRE_MAX_NAME + 2], hash[80];
		long long created = 0;
		token_entry e;
		int k;
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		k = sscanf(line, "%129s %31s %215s %79s %lld", name, role, runner, hash, &created);
		if (k <= 0)
			continue;
		memset(&e, 0, sizeof(e));
		if (k < 4 || strlen(name) > TOKEN_MAX_NAME || !fangs_wire_valid_id(name) ||
		    (e.role = role_parse(role)) == ROLE_NONE || strncmp(hash, "sha256:", 7) ||
		    unhex(hash + 7, e.hash, TOKEN_HASH_LEN) || (strcmp(runner, "-") && !fangs_wire_valid_id(runner)) ||
		    (e.role == ROLE_RUNNER) == !strcmp(runner, "-")) {
			snprintf(err, errcap, "%s:%d: expected NAME ROLE RUNNER|- sha256:HEX [CREATED]", path, lineno);
			free(v);
			fclose(f);
			return -1;
		}
		memcpy(e.name, name, strlen(name) + 1);
		if (strcmp(runner, "-"))
			memcpy(e.runner, runner, strlen(runner) + 1); /* a valid id: it fits */
		e.created = created;
		if (count == cap) {
			token_entry *nv;
			cap = cap ? cap * 2 : 8;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				snprintf(err, errcap, "out of memory");
				free(v);
				fclose(f);
				return -1;
			}
			v = nv;
		}
		v[count++] = e;
	}
	if (ferror(f)) {
		snprintf(err, errcap, "reading the tokens file %s: %s", path, strerror(errno));
		free(v);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = v;
	*n = count;
	return 0;
}

int tokens_save(const char *path, const token_entry *e, size_t n, char *err, size_t errcap)
{
	char tmp[4096];
	FILE *f;
	int fd, bad = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		snprintf(err, errcap, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fchmod(fd, 0600);
	fprintf(f, "# fangs tokens: NAME ROLE RUNNER sha256:HASH CREATED (the tokens themselves are not kept)\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s %s %s sha256:", e[i].name, role_name(e[i].role), e[i].runner[0] ? e[i].runner : "-");
		for (size_t k = 0; k < TOKEN_HASH_LEN; k++)
			fprintf(f, "%02x", e[i].hash[k]);
		fprintf(f, " %lld\n", (long long)e[i].created);
	}
	bad = fflush(f) != 0 || fsync(fd) != 0;
	if (fclose(f) || bad || rename(tmp, path)) {
		snprintf(err, errcap, "writing %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
