/*
 * tests/notifier/receiver.h - a webhook receiver on loopback for the
 * notifier tests (libmicrohttpd, plain HTTP or HTTPS), and the test
 * certificates it serves (made with the GnuTLS API).
 */
#ifndef FANGS_TESTS_NOTIFIER_RECEIVER_H
#define FANGS_TESTS_NOTIFIER_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

/* A CA, and a server certificate it signed for 127.0.0.1 and localhost.
 * PEM strings (malloc'd). */
typedef struct test_pki {
	char *ca_cert;
	char *server_cert;
	char *server_key;
} test_pki;

int test_pki_make(test_pki *out);
void test_pki_free(test_pki *p);
/* Writes the CA certificate to a temporary file; returns its path (malloc'd). */
char *test_pki_write_ca(const test_pki *p);

#define RECEIVER_MAX 128

typedef struct received {
	char *body;
	size_t len;
	char *signature; /* X-FANGS-Signature or NULL */
	char *timestamp; /* X-FANGS-Timestamp or NULL */
	char *content_type;
	char *extra;   /* X-Team or NULL */
	int64_t at_ns; /* CLOCK_REALTIME on arrival */
} received;

/* One scripted answer; after the script runs out, 200 "ok". */
typedef struct answer {
	unsigned status;
	const char *retry_after; /* Retry-After value or NULL */
	const char *body;
} answer;

typedef struct receiver receiver;

/* Starts on 127.0.0.1 (an ephemeral port); HTTPS when `pki` is given. */
receiver *receiver_start(const test_pki *pki, const answer *script, size_t n_script);
void receiver_stop(receiver *r);
/* "http(s)://127.0.0.1:PORT/hook" */
const char *receiver_url(const receiver *r);
size_t receiver_count(receiver *r);
/* Copy of request i (caller frees with received_clear). */
received receiver_get(receiver *r, size_t i);
void received_clear(received *x);
/* Waits until `n` requests arrived or `ms` passed; returns the count. */
size_t receiver_wait(receiver *r, size_t n, int ms);

#endif
