/*
 * tools/fangs/cmd_ca.c - `fangs ca`: a small certificate authority for
 * mTLS between the orchestrator and its runners and operators.
 *
 * Everything lives in one directory (--dir, else $FANGS_CA_DIR, else
 * ./fangs-ca): ca.pem and ca-key.pem, NAME.pem and NAME-key.pem per issued
 * certificate, and revoked.txt, the serials the orchestrator refuses. The
 * certificate's common name is the identity the orchestrator records, its
 * subject OU the role (docs/security.md): runner, submitter, operator or
 * reader; a server certificate (--host) has none and is refused as a client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "credentials.h"
#include "output.h"

#define CA_YEARS 10
#define LEAF_YEARS 2
#define MAX_HOSTS 16

static int gtls_fail(const char *what, int rc)
{
	print_error("ca: %s: %s", what, gnutls_strerror(rc));
	return CLI_EXIT_ERROR;
}

/* Certificate names double as runner ids and file names. */
static int valid_name(const char *s)
{
	return fangs_wire_valid_id(s);
}

static int write_file(const char *dir, const char *name, const gnutls_datum_t *d, mode_t mode, int exclusive)
{
	char path[4096];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (exclusive ? O_EXCL : 0), mode);
	if (fd < 0) {
		print_error("ca: %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, d->data, d->size) != (ssize_t)d->size || close(fd)) {
		print_error("ca: writing %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int read_datum(const char *dir, const char *name, gnutls_datum_t *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (gnutls_load_file(path, d) < 0) {
		print_error("ca: cannot read %s (run `fangs ca init` first)", path);
		return -1;
	}
	return 0;
}

static int new_key(gnutls_x509_privkey_t *key)
{
	int rc = gnutls_x509_privkey_init(key);
	if (rc >= 0)
		rc = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
						  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	return rc;
}

/* Fields every certificate here has. */
static int base_fields(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn, const char *role, int years)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int rc;
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] &= 0x7f; /* a positive number */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 300)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)years * 365 * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn))) < 0 ||
	    (role && (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, role,
							 (unsigned)strlen(role))) < 0) ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0)
		return rc;
	return 0;
}

static int export_pair(const char *dir, const char *name, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		       int exclusive)
{
	gnutls_datum_t c = {NULL, 0}, k = {NULL, 0};
	char cf[300], kf[300];
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c);
	if (rc >= 0)
		rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k);
	if (rc < 0) {
		gnutls_free(c.data);
		return gtls_fail("exporting", rc);
	}
	snprintf(cf, sizeof(cf), "%s.pem", name);
	snprintf(kf, sizeof(kf), "%s-key.pem", name);
	rc = write_file(dir, kf, &k, 0600, exclusive) || write_file(dir, cf, &c, 0644, exclusive) ? CLI_EXIT_ERROR : 0;
	gnutls_free(c.data);
	gnutls_free(k.data);
	return rc;
}

static int ca_init(cli_ctx *ctx, const char *dir)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	int rc;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		print_error("ca: %s: %s", dir, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if ((rc = new_key(&key)) < 0 || (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = base_fields(crt, key, "fangs CA", NULL, CA_YEARS)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len)) < 0 ||
	    (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
		rc = gtls_fail("making the CA", rc);
		goto out;
	}
	/* never overwrite a CA: every certificate it signed would be lost */
	if ((rc = export_pair(dir, "ca", crt, key, 1)))
		goto out;
	{
		/* the orchestrator reads the list at every request: it exists from the start */
		static const char head[] = "# revoked certificates: serial:HEX, one a line\n";
		gnutls_datum_t empty = {(unsigned char *)head, sizeof(head) - 1};
		if (write_file(dir, "revoked.txt", &empty, 0644, 1)) {
			rc = CLI_EXIT_ERROR;
			goto out;
		}
	}
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "dir", json_object_new_string(dir));
		json_object_object_add(o, "ca", json_object_new_string("ca.pem"));
		json_print(o);
	} else {
		printf("CA made in %s (ca.pem; keep ca-key.pem private)\n", tx(dir));
	}
out:
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

static int add_host(gnutls_x509_crt_t crt, const char *h)
{
	unsigned char addr[16];
	if (inet_pton(AF_INET, h, addr) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
	if (inet_pton(AF_INET6, h, addr) == 1)
		return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
	return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, h, (unsigned)strlen(h),
						    GNUTLS_FSAN_APPEND);
}

static int ca_issue(cli_ctx *ctx, const char *dir, const char *name, const char *role, const char **hosts, int n_hosts)
{
	gnutls_datum_t cad = {NULL, 0}, cakd = {NULL, 0};
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_x509_privkey_t cakey = NULL, key = NULL;
	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	int rc;

	if (read_datum(dir, "ca.pem", &cad) || read_datum(dir, "ca-key.pem", &cakd)) {
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	if ((rc = gnutls_x509_crt_init(&ca)) < 0 || (rc = gnutls_x509_crt_import(ca, &cad, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (rc = gnutls_x509_privkey_init(&cakey)) < 0 ||
	    (rc = gnutls_x509_privkey_import(cakey, &cakd, GNUTLS_X509_FMT_PEM)) < 0) {
		rc = gtls_fail("reading the CA", rc);
		goto out;
	}
	if ((rc = new_key(&key)) < 0 || (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = base_fields(crt, key, name, role, LEAF_YEARS)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT)) < 0 ||
	    (role && (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) ||
	    (n_hosts && (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) ||
	    (rc = gnutls_x509_crt_get_key_id(ca, 0, kid, &kid_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len)) < 0) {
		rc = gtls_fail("making the certificate", rc);
		goto out;
	}
	for (int i = 0; i < n_hosts; i++)
		if ((rc = add_host(crt, hosts[i])) < 0) {
			rc = gtls_fail(hosts[i], rc);
			goto out;
		}
	if ((rc = gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0)) < 0) {
		rc = gtls_fail("signing", rc);
		goto out;
	}
	if ((rc = export_pair(dir, name, crt, key, 0)))
		goto out;
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "role", role ? json_object_new_string(role) : NULL);
		json_object_object_add(o, "dir", json_object_new_string(dir));
		json_print(o);
	} else {
		printf("issued %s (%s%s): %s/%s.pem, key %s/%s-key.pem\n", tx(name), role ? "role " : "server",
		       role ? role : "", tx(dir), tx(name), tx(dir), tx(name));
	}
out:
	gnutls_free(cad.data);
	gnutls_free(cakd.data);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(cakey);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

/* The serial of NAME.pem in lower-case hex; 0, or -1 after saying why. */
static int serial_of(const char *dir, const char *name, char *hex, size_t cap)
{
	char file[300];
	gnutls_datum_t d = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[64];
	size_t len = sizeof(serial);
	int rc;

	snprintf(file, sizeof(file), "%s.pem", name);
	if (read_datum(dir, file, &d))
		return -1;
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (rc = gnutls_x509_crt_get_serial(crt, serial, &len)) < 0 || 2 * len + 1 > cap) {
		gnutls_x509_crt_deinit(crt);
		gnutls_free(d.data);
		gtls_fail(file, rc < 0 ? rc : GNUTLS_E_SHORT_MEMORY_BUFFER);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", serial[i]);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
	return 0;
}

static int ca_revoke(cli_ctx *ctx, const char *dir, const char *name, const char *serial_arg)
{
	char path[4096], line[512], hex[160], want[170];
	int already = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if (access(path, F_OK)) {
		print_error("ca: %s: no CA there", dir);
		return CLI_EXIT_ERROR;
	}
	if (serial_arg) {
		size_t n = 0;
		for (const char *p = serial_arg; *p; p++) {
			if (*p == ':')
				continue;
			if (!strchr("0123456789abcdefABCDEF", *p) || n + 1 >= sizeof(hex))
				return cli_usage_error("ca revoke: --serial takes hex digits (':' allowed)");
			hex[n++] = (char)(*p | 0x20);
		}
		hex[n] = '\0';
		if (!n)
			return cli_usage_error("ca revoke: --serial takes hex digits (':' allowed)");
	} else if (serial_of(dir, name, hex, sizeof(hex))) {
		return CLI_EXIT_ERROR;
	}
	snprintf(want, sizeof(want), "serial:%s", hex);
	snprintf(path, sizeof(path), "%s/revoked.txt", dir);
	if ((f = fopen(path, "r"))) {
		while (!already && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "# \t\r\n")] = '\0';
			already = !strcmp(line, want);
		}
		fclose(f);
	}
	if (!already) {
		time_t now = time(NULL);
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
		if (!(f = fopen(path, "a")) || fprintf(f, "%s # %s, revoked %s\n", want, name ? name : "-", when) < 0 ||
		    fclose(f)) {
			print_error("ca: %s: %s", path, strerror(errno));
			return CLI_EXIT_ERROR;
		}
	}
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "revoked", name ? json_object_new_string(name) : NULL);
		json_object_object_add(o, "serial", json_object_new_string(hex));
		json_print(o);
	} else {
		printf("revoked %s (serial %s) in %s\n", name ? tx(name) : "certificate", hex, tx(path));
	}
	return CLI_EXIT_OK;
}

/* --dir, else $FANGS_CA_DIR, else ./fangs-ca */
static const char *ca_dir(const cli_args *a)
{
	const char *dir = cli_get(a, "dir");
	if (!dir || !*dir)
		dir = getenv("FANGS_CA_DIR");
	return dir && *dir ? dir : "fangs-ca";
}

/* Certificate names double as runner ids and file names. */
static int check_name(const cli_args *a, const char *name)
{
	if (!name || !valid_name(name) || !strcmp(name, "ca"))
		return cli_usage_error("ca %s: NAME must be letters, digits, '.', '_' or '-' (and not 'ca')",
				       a->cmd->sub);
	return 0;
}

CLI_HANDLER(cmd_ca_init)
{
	return ca_init(ctx, ca_dir(a));
}

CLI_HANDLER(cmd_ca_issue)
{
	const char *hosts[MAX_HOSTS], *role = cli_get(a, "role");
	int n_hosts = 0, rc;
	if ((rc = check_name(a, a->pos[0])))
		return rc;
	for (const char *h; (h = cli_get_nth(a, "host", (size_t)n_hosts));) {
		if (n_hosts == MAX_HOSTS)
			return cli_usage_error("ca issue: at most %d --host", MAX_HOSTS);
		hosts[n_hosts++] = h;
	}
	if (role && role_parse(role) == ROLE_NONE)
		return cli_usage_error("ca issue: --role must be runner, submitter, operator or reader");
	if (!role && !n_hosts)
		return cli_usage_error("ca issue: give --role R (runner, submitter, operator, reader) for a client,"
				       " or --host H for the orchestrator's server certificate");
	return ca_issue(ctx, ca_dir(a), a->pos[0], role, hosts, n_hosts);
}

CLI_HANDLER(cmd_ca_revoke)
{
	const char *name = a->npos ? a->pos[0] : NULL, *serial = cli_get(a, "serial");
	int rc;
	if (!name && !serial)
		return cli_usage_error("ca revoke: give NAME, or --serial HEX");
	if (name && (rc = check_name(a, name)))
		return rc;
	return ca_revoke(ctx, ca_dir(a), name, serial);
}
