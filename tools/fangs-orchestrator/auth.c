/*
 * fangs-orchestrator/auth.c - the credential of every request, checked on
 * the first call of the request handler (before its body is read): who is
 * calling (certificate or bearer token), with which role, and whether that
 * role may use the route. The table is docs/security.md's.
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "auth.h"
#include "log.h"
#include "orchestrator.h"
#include "webapi.h"

/* What a route needs of its caller. */
enum need {
	NEED_NOTHING, /* GET /v1/health */
	NEED_RUNNER,  /* runner endpoints: role runner, acting as itself */
	NEED_SUBMIT,  /* queue a scan: submitter or operator */
	NEED_READ,    /* metrics, runner list: reader, submitter or operator */
	NEED_OPERATE, /* fail a run: operator */
	NEED_ANY,     /* anything else (404, 405): any credential */
	NEED_COUNT
};

static const char *const need_text[NEED_COUNT] = {
	"nothing",
	"the runner role",
	"the submitter or operator role",
	"the reader, submitter or operator role",
	"the operator role",
	"a credential",
};
_Static_assert(sizeof(need_text) / sizeof(need_text[0]) == NEED_COUNT, "a text for each need");

/* The route's need; `path_runner` gets the {id} of /v1/runners/{id}/... */
static enum need route_need(orch *o, const char *method, const char *url, char *path_runner, size_t cap)
{
	char buf[1024], *seg[6], *p, *save = NULL;
	size_t len = strcspn(url, "?");
	int n = 0;

	path_runner[0] = '\0';
	/* the read and review API (webapi.h): reads for readers (or anyone
	 * with --public-reads), writes for operators */
	switch (webapi_route(method, url)) {
	case WEBAPI_NONE:
		break;
	case WEBAPI_OPEN:
		return NEED_NOTHING;
	case WEBAPI_READ:
		return o->public_reads ? NEED_NOTHING : NEED_READ;
	case WEBAPI_WRITE:
		return NEED_OPERATE;
	}
	if (len >= sizeof(buf))
		return NEED_ANY;
	memcpy(buf, url, len);
	buf[len] = '\0';
	for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == 6)
			return NEED_ANY;
		seg[n++] = p;
	}
	if (n == 1 && !strcmp(seg[0], "metrics"))
		return NEED_READ;
	if (n < 2 || strcmp(seg[0], "v1"))
		return NEED_ANY;
	if (n == 2 && !strcmp(seg[1], "health"))
		return !strcmp(method, "GET") ? NEED_NOTHING : NEED_ANY;
	if (n == 2 && !strcmp(seg[1], "scans"))
		return NEED_SUBMIT;
	if (n == 4 && !strcmp(seg[1], "runs") && !strcmp(seg[3], "fail"))
		return NEED_OPERATE;
	if (n == 3 && !strcmp(seg[1], "runners") && !strcmp(seg[2], "register"))
		return NEED_RUNNER;
	if (n == 4 && !strcmp(seg[1], "runners") && (!strcmp(seg[3], "heartbeat") || !strcmp(seg[3], "jobs"))) {
		snprintf(path_runner, cap, "%s", seg[2]);
		return NEED_RUNNER;
	}
	if (n == 4 && !strcmp(seg[1], "runs") && (!strcmp(seg[3], "events") || !strcmp(seg[3], "result")))
		return NEED_RUNNER;
	return NEED_ANY;
}

static int role_may(enum role r, enum need need)
{
	switch (need) {
	case NEED_NOTHING:
		return 1;
	case NEED_RUNNER:
		return r == ROLE_RUNNER || r == ROLE_ALL;
	case NEED_SUBMIT:
		return r == ROLE_SUBMITTER || r == ROLE_OPERATOR || r == ROLE_ALL;
	case NEED_READ:
		return r == ROLE_READER || r == ROLE_SUBMITTER || r == ROLE_OPERATOR || r == ROLE_ALL;
	case NEED_OPERATE:
		return r == ROLE_OPERATOR || r == ROLE_ALL;
	case NEED_ANY:
		return r != ROLE_NONE;
	case NEED_COUNT:
		break;
	}
	return 0;
}

/* The verified client certificate: its name, role and serial; else the
 * status and reason. */
static unsigned from_certificate(orch *o, struct MHD_Connection *c, auth_identity *out, const char **why)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned int n = 0, status = 0;
	gnutls_x509_crt_t crt;
	unsigned char serial[64];
	char ou[64] = "", hex[2 * sizeof(serial) + 1];
	size_t len = sizeof(out->name), oulen = sizeof(ou), slen = sizeof(serial);
	int rc, revoked;

	if (!ci || !(s = (gnutls_session_t)ci->tls_session)) {
		*why = "no TLS session";
		return 403;
	}
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0) {
		*why = o->tokens_path ? "a client certificate or a token (Authorization: Bearer) is required"
				      : "a client certificate is required";
		return o->tokens_path ? 401 : 403;
	}
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0) {
		*why = "the client certificate is not signed by this orchestrator's CA";
		return 403;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		*why = "out of memory";
		return 500;
	}
	rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out->name, &len);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_serial(crt, serial, &slen);
	if (rc >= 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, 0, ou, &oulen) < 0)
		ou[0] = '\0';
	gnutls_x509_crt_deinit(crt);
	if (rc < 0 || !fangs_wire_valid_id(out->name)) {
		*why = "the client certificate has no usable common name";
		return 403;
	}
	for (size_t i = 0; i < slen; i++)
		snprintf(hex + 2 * i, 3, "%02x", serial[i]);
	hex[2 * slen] = '\0';
	if ((revoked = tls_revoked(o, out->name, hex)) != 0) {
		*why = revoked < 0 ? "the revocation list cannot be read: no certificate is accepted"
				   : "the client certificate is revoked";
		return revoked < 0 ? 503 : 403;
	}
	if ((out->role = role_parse(ou)) == ROLE_NONE) {
		*why = "the client certificate carries no fangs role (a server certificate, or one issued without"
		       " --role: issue it again with `fangs ca issue NAME --role R`)";
		return 403;
	}
	if (out->role == ROLE_RUNNER)
		memcpy(out->runner, out->name, strlen(out->name) + 1); /* a valid id: it fits */
	out->via = "certificate";
	return 0;
}

/* The tokens file as last read, read again when it changed (another inode
 * after `fangs token` replaced it, another size, mtime or ctime). */
static struct {
	pthread_mutex_t lock;
	token_entry *e;
	size_t n;
	struct stat st;
	int loaded;
} tokens = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, {0}, 0};

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The entry of `token` copied into `out`: 1, 0 when none, -1 when the file
 * cannot be read (logged). */
static int tokens_lookup(const char *path, const char *token, token_entry *out)
{
	struct stat st;
	char err[512];
	long i;
	int rc;

	pthread_mutex_lock(&tokens.lock);
	if (stat(path, &st) != 0) {
		snprintf(err, sizeof(err), "cannot read the tokens file %s: %s", path, strerror(errno));
		tokens.loaded = 0;
	} else if (!tokens.loaded || !same_file(&st, &tokens.st)) {
		free(tokens.e);
		tokens.e = NULL;
		tokens.n = 0;
		tokens.loaded = tokens_load(path, 0, &tokens.e, &tokens.n, err, sizeof(err)) == 0;
		tokens.st = st;
	}
	if (!tokens.loaded) {
		pthread_mutex_unlock(&tokens.lock);
		log_error("%s: refusing every token", err);
		return -1;
	}
	i = tokens_find(tokens.e, tokens.n, token, strlen(token));
	if ((rc = i >= 0))
		*out = tokens.e[i];
	pthread_mutex_unlock(&tokens.lock);
	return rc;
}

void auth_cleanup(void)
{
	pthread_mutex_lock(&tokens.lock);
	free(tokens.e);
	tokens.e = NULL;
	tokens.n = 0;
	tokens.loaded = 0;
	pthread_mutex_unlock(&tokens.lock);
}

static unsigned from_token(orch *o, const char *hdr, auth_identity *out, const char **why)
{
	token_entry e;
	int rc;

	if (!o->tokens_path) {
		*why = "this orchestrator takes no tokens (it has no --tokens file)";
		return 401;
	}
	if (strncasecmp(hdr, "Bearer ", 7) != 0) {
		*why = "the Authorization header must be `Bearer TOKEN`";
		return 401;
	}
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	if ((rc = tokens_lookup(o->tokens_path, hdr, &e)) < 0) {
		*why = "the tokens file cannot be read: no token is accepted";
		return 503;
	}
	if (rc == 0) {
		*why = "unknown or revoked token";
		return 401;
	}
	snprintf(out->name, sizeof(out->name), "%s", e.name);
	snprintf(out->runner, sizeof(out->runner), "%s", e.runner);
	out->role = e.role;
	out->via = "token";
	return 0;
}

unsigned auth_check(orch *o, struct MHD_Connection *c, const char *method, const char *url, auth_identity *out,
		    const char **why)
{
	char path_runner[FANGS_WIRE_MAX_NAME + 2];
	enum need need = route_need(o, method, url, path_runner, sizeof(path_runner));
	const char *hdr;
	unsigned status;

	memset(out, 0, sizeof(*out));
	out->via = "none";
	if (need == NEED_NOTHING)
		return 0;
	if (o->no_auth) {
		out->role = ROLE_ALL;
		return 0;
	}
	hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (hdr)
		status = from_token(o, hdr, out, why);
	else if (o->mtls)
		status = from_certificate(o, c, out, why);
	else
		status = (*why = "a token is required (Authorization: Bearer TOKEN)", 401);
	if (status)
		return status;
	if (!role_may(out->role, need)) {
		static __thread char msg[512];
		snprintf(msg, sizeof(msg), "%s '%s' has the %s role; this needs %s", out->via, out->name,
			 role_name(out->role), need < NEED_COUNT ? need_text[need] : "a credential");
		*why = msg;
		return 403;
	}
	if (need == NEED_RUNNER && path_runner[0] && strcmp(path_runner, out->runner) != 0) {
		static __thread char msg[640];
		snprintf(msg, sizeof(msg), "%s '%s' acts as runner '%s' only", out->via, out->name, out->runner);
		*why = msg;
		return 403;
	}
	return 0;
}

int auth_preflight(orch *o)
{
	char err[512];
	token_entry *e = NULL;
	size_t n = 0;

	if (o->revoked_path) {
		FILE *f = fopen(o->revoked_path, "re");
		char line[256];
		int bad = !f && (o->revoked_required || errno != ENOENT);
		if (f) {
			while (fgets(line, sizeof(line), f))
				;
			bad = ferror(f);
			fclose(f);
		}
		if (bad) {
			log_error("the revocation list %s cannot be read: %s", o->revoked_path, strerror(errno));
			return -1;
		}
		if (!f)
			log_info("no revocation list at %s yet: no certificate is revoked", o->revoked_path);
	}
	if (o->tokens_path) {
		if (tokens_load(o->tokens_path, 0, &e, &n, err, sizeof(err))) {
			log_error("%s", err);
			return -1;
		}
		log_info("tokens: %zu in %s", n, o->tokens_path);
		free(e);
	}
	return 0;
}
