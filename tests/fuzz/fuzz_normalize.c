/*
 * tests/fuzz/fuzz_normalize.c - libFuzzer target for the differ's normalizers.
 *
 * Input: <version length byte><version><cap byte><text>; the text is also
 * split on 0x01 into an exec's path and argv. Checks that nothing overflows,
 * that reported lengths are true, and that normalizing a normalized path
 * changes nothing (a baseline written by one release stays comparable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

#define MAX_ARGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const fangs_norm_ctx *ctx, const char *text, size_t cap)
{
	static char out[4 * 4096], again[4 * 4096];
	char *small = malloc(cap);
	int n, m;

	if (!small)
		abort();
	n = fangs_normalize_path(ctx, text, small, cap);
	if (n >= 0 && ((size_t)n >= cap || strlen(small) != (size_t)n))
		abort();
	free(small);

	n = fangs_normalize_path(ctx, text, out, sizeof(out));
	if (n < 0 || strlen(out) != (size_t)n)
		abort();
	if (n < 3000) {
		m = fangs_normalize_path(ctx, out, again, sizeof(again));
		if (m != n || strcmp(out, again) != 0)
			abort();
	}
	(void)fangs_differ_is_cred_path(NULL, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char version[32], host[512];
	char *text, *argv[MAX_ARGS], *p;
	size_t vlen, cap;
	fangs_norm_ctx ctx = {"fuzz", NULL};
	fangs_event ev;
	fangs_fingerprint fp;

	if (size < 2)
		return 0;
	vlen = data[0] % sizeof(version);
	if (vlen + 2 > size)
		return 0;
	memcpy(version, data + 1, vlen);
	version[vlen] = '\0';
	ctx.version = version;
	cap = 1 + data[1 + vlen] % 64;
	data += 2 + vlen;
	size -= 2 + vlen;

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	check_path(&ctx, text, cap);
	if (fangs_normalize_host(text, host, sizeof(host)) >= 0 && strlen(host) >= sizeof(host))
		abort();
	(void)fangs_normalize_addr(text, host, sizeof(host));
	for (int k = 0; k <= FANGS_ALLOW_EXEC; k++)
		(void)fangs_allow_entry_validate((fangs_allow_kind)k, text);

	/* the same bytes as an exec: path \x01 argv0 \x01 argv1 ... */
	memset(&ev, 0, sizeof(ev));
	ev.kind = FANGS_EV_EXEC;
	ev.path = text;
	ev.argv = argv;
	for (p = strchr(text, '\x01'); p && ev.argc < MAX_ARGS; p = strchr(p, '\x01')) {
		*p++ = '\0';
		argv[ev.argc++] = p;
	}
	if (fangs_differ_fingerprint(NULL, &ctx, &ev, &fp) == 1) {
		if (!fp.value)
			abort();
		fangs_fingerprint_clear(&fp);
	}
	ev.kind = FANGS_EV_NET_CONNECT;
	ev.addr = text;
	ev.port = 443;
	if (fangs_differ_fingerprint(NULL, &ctx, &ev, &fp) == 1)
		fangs_fingerprint_clear(&fp);
	free(text);
	return 0;
}
