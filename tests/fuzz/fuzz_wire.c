/*
 * libFuzzer target: the orchestrator's request decoders (register, scan
 * submission, result) must never crash, leak or loop on any body, and what
 * they accept must encode to a body they accept again, unchanged.
 * The first byte picks the decoder; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_register(const char *body, size_t len)
{
	fangs_wire_register a, b;
	char *out = NULL;
	if (fangs_wire_register_decode(&a, body, len))
		return;
	if (fangs_wire_register_encode(&a, &out) || fangs_wire_register_decode(&b, out, strlen(out)))
		abort();
	if (!same(a.runner_id, b.runner_id) || !same(a.hostname, b.hostname) || a.max_scans != b.max_scans)
		abort();
	fangs_wire_register_clear(&a);
	fangs_wire_register_clear(&b);
	free(out);
}

static void check_scan(const char *body, size_t len)
{
	fangs_wire_scan a, b;
	char *out = NULL;
	if (fangs_wire_scan_decode(&a, body, len))
		return;
	if (fangs_wire_scan_encode(&a, &out) || fangs_wire_scan_decode(&b, out, strlen(out)))
		abort();
	if (strcmp(a.run_id, b.run_id) || !same(a.package, b.package) || !same(a.version, b.version) ||
	    !same(a.runner, b.runner))
		abort();
	fangs_wire_scan_clear(&a);
	fangs_wire_scan_clear(&b);
	free(out);
}

static void check_result(const char *body, size_t len)
{
	fangs_wire_result a, b;
	char *out = NULL;
	if (fangs_wire_result_decode(&a, body, len))
		return;
	if (fangs_wire_result_encode(&a, &out) || fangs_wire_result_decode(&b, out, strlen(out)))
		abort();
	if (a.state != b.state || a.has_exit_code != b.has_exit_code || a.exit_code != b.exit_code ||
	    a.events_emitted != b.events_emitted || a.events_dropped != b.events_dropped ||
	    a.duration_ns != b.duration_ns || !same(a.install_output, b.install_output) || !same(a.error, b.error))
		abort();
	fangs_wire_result_clear(&a);
	fangs_wire_result_clear(&b);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_register(body, size - 1);
		break;
	case 1:
		check_scan(body, size - 1);
		break;
	default:
		check_result(body, size - 1);
		break;
	}
	return 0;
}
