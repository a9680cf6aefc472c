/*
 * tests/notifier/receiver.c - a scripted webhook receiver on loopback
 * (libmicrohttpd) and a throw-away PKI (GnuTLS).
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "receiver.h"

/* ---- PKI ---- */

static char *export_crt(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = {NULL, 0};
	char *s = NULL;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) == 0)
		s = strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static char *export_key(gnutls_x509_privkey_t key)
{
	gnutls_datum_t d = {NULL, 0};
	char *s = NULL;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d) == 0)
		s = strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static int new_key(gnutls_x509_privkey_t *key)
{
	if (gnutls_x509_privkey_init(key) < 0)
		return -1;
	return gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
					    0) < 0
		       ? -1
		       : 0;
}

static int new_crt(gnutls_x509_crt_t *crt, gnutls_x509_privkey_t key, const char *cn, unsigned serial)
{
	unsigned char ser[4] = {(unsigned char)(serial >> 24), (unsigned char)(serial >> 16),
				(unsigned char)(serial >> 8), (unsigned char)serial};
	time_t now = time(NULL);
	if (gnutls_x509_crt_init(crt) < 0)
		return -1;
	return gnutls_x509_crt_set_version(*crt, 3) < 0 || gnutls_x509_crt_set_serial(*crt, ser, sizeof(ser)) < 0 ||
			       gnutls_x509_crt_set_activation_time(*crt, now - 3600) < 0 ||
			       gnutls_x509_crt_set_expiration_time(*crt, now + 86400) < 0 ||
			       gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
							     (unsigned)strlen(cn)) < 0 ||
			       gnutls_x509_crt_set_key(*crt, key) < 0
		       ? -1
		       : 0;
}

int test_pki_make(test_pki *out)
{
	gnutls_x509_privkey_t ca_key = NULL, srv_key = NULL;
	gnutls_x509_crt_t ca = NULL, srv = NULL;
	unsigned char ip[4] = {127, 0, 0, 1}, kid[64];
	size_t kid_len = sizeof(kid);
	static unsigned serial = 1;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (new_key(&ca_key) || new_key(&srv_key) || new_crt(&ca, ca_key, "fangs test CA", serial++) ||
	    gnutls_x509_crt_set_basic_constraints(ca, 1, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) < 0 ||
	    gnutls_x509_crt_get_key_id(ca, 0, kid, &kid_len) < 0 ||
	    gnutls_x509_crt_set_subject_key_id(ca, kid, kid_len) < 0 ||
	    gnutls_x509_crt_sign2(ca, ca, ca_key, GNUTLS_DIG_SHA256, 0) < 0)
		goto out;
	if (new_crt(&srv, srv_key, "127.0.0.1", serial++) || gnutls_x509_crt_set_basic_constraints(srv, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(srv, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(srv, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(srv, GNUTLS_SAN_IPADDRESS, ip, sizeof(ip), GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(srv, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_authority_key_id(srv, kid, kid_len) < 0 ||
	    gnutls_x509_crt_sign2(srv, ca, ca_key, GNUTLS_DIG_SHA256, 0) < 0)
		goto out;
	out->ca_cert = export_crt(ca);
	out->server_cert = export_crt(srv);
	out->server_key = export_key(srv_key);
	rc = out->ca_cert && out->server_cert && out->server_key ? 0 : -1;
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (srv)
		gnutls_x509_crt_deinit(srv);
	if (ca_key)
		gnutls_x509_privkey_deinit(ca_key);
	if (srv_key)
		gnutls_x509_privkey_deinit(srv_key);
	if (rc)
		test_pki_free(out);
	return rc;
}

void test_pki_free(test_pki *p)
{
	free(p->ca_cert);
	free(p->server_cert);
	free(p->server_key);
	memset(p, 0, sizeof(*p));
}

char *test_pki_write_ca(const test_pki *p)
{
	char path[] = "/tmp/fangs-test-ca-XXXXXX";
	int fd = mkstemp(path);
	size_t n = strlen(p->ca_cert);
	if (fd < 0)
		return NULL;
	if (write(fd, p->ca_cert, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return strdup(path);
}

/* ---- receiver ---- */

struct receiver {
	struct MHD_Daemon *d;
	char url[96];
	const answer *script;
	size_t n_script;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	received got[RECEIVER_MAX];
	size_t count;
};

typedef struct upload {
	char *data;
	size_t len;
} upload;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *header(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	return v ? strdup(v) : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **con_cls)
{
	receiver *r = cls;
	upload *u = *con_cls;
	struct MHD_Response *resp;
	answer a = {200, NULL, "ok"};
	enum MHD_Result ret;
	size_t idx;

	(void)url;
	(void)method;
	(void)version;
	if (!u) {
		*con_cls = calloc(1, sizeof(upload));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*size) {
		char *p = realloc(u->data, u->len + *size + 1);
		if (!p)
			return MHD_NO;
		memcpy(p + u->len, data, *size);
		u->data = p;
		u->len += *size;
		u->data[u->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&r->lock);
	idx = r->count;
	if (idx < RECEIVER_MAX) {
		received *x = &r->got[idx];
		x->body = u->data ? u->data : strdup("");
		x->len = u->len;
		u->data = NULL;
		x->signature = header(c, "X-FANGS-Signature");
		x->timestamp = header(c, "X-FANGS-Timestamp");
		x->content_type = header(c, "Content-Type");
		x->extra = header(c, "X-Team");
		x->at_ns = now_ns();
		r->count++;
	}
	if (idx < r->n_script)
		a = r->script[idx];
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);

	resp = MHD_create_response_from_buffer(strlen(a.body ? a.body : ""), (void *)(a.body ? a.body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (a.retry_after)
		MHD_add_response_header(resp, "Retry-After", a.retry_after);
	ret = MHD_queue_response(c, a.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	upload *u = *con_cls;
	(void)cls;
	(void)c;
	(void)t;
	if (u) {
		free(u->data);
		free(u);
		*con_cls = NULL;
	}
}

receiver *receiver_start(const test_pki *pki, const answer *script, size_t n_script)
{
	receiver *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (!r)
		return NULL;
	r->script = script;
	r->n_script = n_script;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pki)
		r->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR, &sa,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, r, MHD_OPTION_HTTPS_MEM_KEY,
					pki->server_key, MHD_OPTION_HTTPS_MEM_CERT, pki->server_cert, MHD_OPTION_END);
	else
		r->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR, &sa,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, r, MHD_OPTION_END);
	if (!r->d || !(info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT))) {
		receiver_stop(r);
		return NULL;
	}
	snprintf(r->url, sizeof(r->url), "%s://127.0.0.1:%u/hook", pki ? "https" : "http", (unsigned)info->port);
	return r;
}

void receiver_stop(receiver *r)
{
	if (!r)
		return;
	if (r->d)
		MHD_stop_daemon(r->d);
	for (size_t i = 0; i < r->count; i++)
		received_clear(&r->got[i]);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const char *receiver_url(const receiver *r)
{
	return r->url;
}

size_t receiver_count(receiver *r)
{
	size_t n;
	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

received receiver_get(receiver *r, size_t i)
{
	received x = {0};
	pthread_mutex_lock(&r->lock);
	if (i < r->count) {
		x = r->got[i];
		x.body = malloc(x.len + 1);
		memcpy(x.body, r->got[i].body, x.len + 1);
		x.signature = dup_or_null(x.signature);
		x.timestamp = dup_or_null(x.timestamp);
		x.content_type = dup_or_null(x.content_type);
		x.extra = dup_or_null(x.extra);
	}
	pthread_mutex_unlock(&r->lock);
	return x;
}

void received_clear(received *x)
{
	free(x->body);
	free(x->signature);
	free(x->timestamp);
	free(x->content_type);
	free(x->extra);
	memset(x, 0, sizeof(*x));
}

size_t receiver_wait(receiver *r, size_t n, int ms)
{
	struct timespec until;
	size_t got;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (r->count < n && pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
		;
	got = r->count;
	pthread_mutex_unlock(&r->lock);
	return got;
}
