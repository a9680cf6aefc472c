/*
 * notifier/target.c - what makes a target acceptable (URL, headers, names),
 * template names, and the signature.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <strings.h>

#include "notifier/internal.h"

static const char *const template_names[] = {"generic", "slack", "discord"};
_Static_assert(FANGS_ARRAY_SIZE(template_names) == FANGS_NOTIFIER_DISCORD + 1, "a name per template");

const char *fangs_notifier_template_name(fangs_notifier_template t)
{
	return (unsigned)t < FANGS_ARRAY_SIZE(template_names) ? template_names[t] : "unknown";
}

int fangs_notifier_template_parse(const char *name, fangs_notifier_template *out)
{
	for (size_t i = 0; name && i < FANGS_ARRAY_SIZE(template_names); i++) {
		if (strcasecmp(name, template_names[i]) == 0) {
			if (out)
				*out = (fangs_notifier_template)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL, "unknown notifier template '%s' (expected generic, slack or discord)",
			       name ? name : "(null)");
}

/* 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and the name localhost, which
 * curl resolves to loopback itself without asking DNS. */
static int is_loopback_host(const char *host)
{
	char buf[64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	}
	return 0;
}

int fangs_notifier_url_check(const char *url)
{
	CURLU *u;
	char *host = NULL, *scheme = NULL;
	int rc = 0, https;

	if (!url || !*url)
		return fangs_error_set(FANGS_EINVAL, "notifier URL is empty");
	https = strncasecmp(url, "https://", 8) == 0;
	if (!https && strncasecmp(url, "http://", 7) != 0)
		return fangs_error_set(FANGS_EINVAL,
				       "notifier URL '%s': the scheme must be https:// "
				       "(or http:// to a loopback host for local testing)",
				       url);
	if (strpbrk(url, " \t\r\n"))
		return fangs_error_set(FANGS_EINVAL, "notifier URL '%s': contains white space", url);
	if (!(u = curl_url()))
		return fangs__error_oom();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
		rc = fangs_error_set(FANGS_EINVAL, "notifier URL '%s': not a valid URL with a host", url);
	else if (!https && !is_loopback_host(host))
		rc = fangs_error_set(FANGS_EINVAL,
				     "notifier URL '%s': http:// is only allowed to loopback hosts "
				     "(127.0.0.0/8, ::1, localhost); use https:// for '%s'",
				     url, host);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static int env_name_ok(const char *p)
{
	int ok = *p && !(*p >= '0' && *p <= '9');
	for (; ok && *p; p++)
		ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
	return ok;
}

static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int fangs_notifier_header_check(const char *name, const char *value)
{
	/* Set by the notifier or by HTTP itself: an override would break the
	 * signature or the framing. */
	static const char *const reserved[] = {"Content-Type",      "Content-Length", "Host",
					       "Transfer-Encoding", "Connection",     "X-FANGS-Signature",
					       "X-FANGS-Timestamp"};
	if (!name || !*name || !value)
		return fangs_error_set(FANGS_EINVAL, "header: a name and a value are required (Name:Value)");
	for (const char *p = name; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return fangs_error_set(FANGS_EINVAL, "header '%s': invalid character in the name", name);
	for (const char *p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return fangs_error_set(FANGS_EINVAL, "header '%s': the value contains a line break", name);
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return fangs_error_set(FANGS_EINVAL, "header '%s' is set by fangs and cannot be overridden",
					       name);
	if (!strncmp(value, "env:", 4) && !env_name_ok(value + 4))
		return fangs_error_set(FANGS_EINVAL, "header '%s': env:%s is not an environment variable name", name,
				       value + 4);
	if (!strncmp(value, "file:", 5) && value[5] != '/')
		return fangs_error_set(FANGS_EINVAL, "header '%s': file: takes an absolute path", name);
	return 0;
}

int fangs_notifier_header_is_secret(const char *name, const char *value)
{
	static const char *const words[] = {"auth",   "token",     "secret",     "key",    "password",
					    "cookie", "signature", "credential", "session"};
	if (!name || !value || !strncmp(value, "env:", 4) || !strncmp(value, "file:", 5))
		return 0;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(words); i++)
		if (strcasestr(name, words[i]))
			return 1;
	return !strncasecmp(value, "Bearer ", 7) || !strncasecmp(value, "Basic ", 6);
}

/* The value a header is sent with: a literal, the variable of env:NAME, or
 * the first line of file:/path; 0, or <0 with why in err (naming where,
 * never the value). *out is free()d by the caller. */
int fangs__notifier_header_resolve(const fangs_notifier_header *h, char **out, char *err, size_t errcap)
{
	const char *v = h->value;
	char line[8192];
	FILE *f;
	*out = NULL;
	if (!strncmp(v, "env:", 4)) {
		const char *e = getenv(v + 4);
		if (!e || !*e) {
			snprintf(err, errcap, "header %s: the variable %s is not set in this process's environment",
				 h->name, v + 4);
			return FANGS_ENOTFOUND;
		}
		v = e;
	} else if (!strncmp(v, "file:", 5)) {
		if (!(f = fopen(v + 5, "re"))) {
			snprintf(err, errcap, "header %s: cannot read %s: %s", h->name, v + 5, strerror(errno));
			return FANGS_EIO;
		}
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0]) {
			snprintf(err, errcap, "header %s: %s is empty", h->name, v + 5);
			return FANGS_EIO;
		}
		v = line;
	}
	if (strpbrk(v, "\r\n")) {
		snprintf(err, errcap, "header %s: the value holds a line break", h->name);
		return FANGS_EINVAL;
	}
	*out = fangs__strdup(v);
	explicit_bzero(line, sizeof(line));
	return *out ? 0 : FANGS_ENOMEM;
}

int fangs_notifier_target_check(const fangs_notifier_target *t)
{
	int rc;
	if (!t || !t->name || !*t->name)
		return fangs_error_set(FANGS_EINVAL, "notifier: a name is required");
	for (const char *p = t->name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
			return fangs_error_set(FANGS_EINVAL,
					       "notifier name '%s': use letters, digits, '.', '_' and '-' only",
					       t->name);
	if ((rc = fangs_notifier_url_check(t->url)) || (rc = fangs_notifier_template_parse(t->template_name, NULL)))
		return rc;
	if (t->min_severity < FANGS_SEV_INFO || t->min_severity > FANGS_SEV_CRITICAL)
		return fangs_error_set(FANGS_EINVAL, "notifier '%s': minimum severity out of range", t->name);
	for (size_t i = 0; i < t->n_headers; i++)
		if ((rc = fangs_notifier_header_check(t->headers[i].name, t->headers[i].value)))
			return rc;
	if (t->secret_env && strcasecmp(t->template_name, "generic") != 0)
		return fangs_error_set(
			FANGS_EINVAL,
			"notifier '%s': a secret applies to generic targets only (%s messages are not signed)", t->name,
			t->template_name);
	if (t->secret_env) {
		const char *p = t->secret_env;
		int ok = *p && !(*p >= '0' && *p <= '9');
		for (; ok && *p; p++)
			ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9');
		if (!ok)
			return fangs_error_set(FANGS_EINVAL,
					       "notifier '%s': secret_env '%s' is not an environment variable name",
					       t->name, t->secret_env);
	}
	return 0;
}

int fangs_notifier_sign(const char *secret, size_t secret_len, const char *body, size_t body_len,
			char out[FANGS_NOTIFIER_SIGNATURE_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	int rc;

	if (!secret || !out || (!body && body_len))
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_sign: NULL argument");
	rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, secret_len, body ? body : "", body_len, mac);
	if (rc < 0)
		return fangs_error_set(FANGS_ERROR, "HMAC-SHA256: %s", gnutls_strerror(rc));
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < sizeof(mac); i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[8 + 2 * i] = hex[mac[i] & 15];
	}
	out[7 + 2 * sizeof(mac)] = '\0';
	return 0;
}
