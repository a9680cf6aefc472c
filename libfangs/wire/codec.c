/*
 * wire/codec.c - JSON messages of the protocol.
 *
 * Decoders see bytes from the network: every member is type-checked and
 * bounded, the whole body must be one JSON object, and unknown members are
 * ignored (a newer peer may send more).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/json.h"
#include "fangs/text.h"
#include "fangs/wire.h"

int fangs_wire_valid_id(const char *s)
{
	size_t n = 0;
	if (!s || !*s || *s == '.')
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n <= FANGS_WIRE_MAX_NAME;
}

static int parse_object(const char *body, size_t len, json_object **out)
{
	json_tokener *tok;
	json_object *obj;
	if (!body || len == 0)
		return fangs_error_set(FANGS_EPARSE, "empty body, expected a JSON object");
	if (len > FANGS_WIRE_MAX_JSON_BODY)
		return fangs_error_set(FANGS_EINVAL, "body of %zu bytes is larger than %d", len,
				       FANGS_WIRE_MAX_JSON_BODY);
	if (memchr(body, '\0', len))
		return fangs_error_set(FANGS_EPARSE, "body holds a NUL byte");
	if (!(tok = json_tokener_new()))
		return fangs__error_oom();
	/* json-c takes any bytes in a string unless told: text that is not
	 * UTF-8 is refused here, never stored */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
		int rc = fangs_error_set(FANGS_EPARSE, "malformed JSON: %s",
					 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(obj);
		json_tokener_free(tok);
		return rc;
	}
	/* anything but white space after the object is an error */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", body[i])) {
			json_object_put(obj);
			json_tokener_free(tok);
			return fangs_error_set(FANGS_EPARSE, "trailing data after the JSON object");
		}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return fangs_error_set(FANGS_EPARSE, "expected a JSON object");
	}
	*out = obj;
	return 0;
}

/* A string member: absent = NULL (error when required), bounded by `max`.
 * json-c's UTF-8 check lets overlong forms through; the encoder turns them
 * into U+FFFD, so the decoder does too, and bounds what it keeps: what is
 * decoded encodes and decodes again unchanged. */
static int get_str(json_object *o, const char *key, int required, size_t max, char **out)
{
	json_object *v;
	size_t len;
	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return required ? fangs_error_set(FANGS_EINVAL, "\"%s\" is required", key) : 0;
	if (!json_object_is_type(v, json_type_string))
		return fangs_error_set(FANGS_EINVAL, "\"%s\" must be a string", key);
	if ((size_t)json_object_get_string_len(v) > max)
		return fangs_error_set(FANGS_EINVAL, "\"%s\" is longer than %zu bytes", key, max);
	if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
		return fangs_error_set(FANGS_EINVAL, "\"%s\" holds a NUL byte", key);
	if (!(*out = fangs_utf8_clean(json_object_get_string(v), (size_t)json_object_get_string_len(v), &len)))
		return FANGS_ENOMEM;
	if (len > max) {
		free(*out);
		*out = NULL;
		return fangs_error_set(FANGS_EINVAL, "\"%s\" is longer than %zu bytes once made UTF-8", key, max);
	}
	return 0;
}

/* An integer member in [min, max]; absent = `def`. */
static int get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out, int *present)
{
	json_object *v;
	*out = def;
	if (present)
		*present = 0;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fangs_error_set(FANGS_EINVAL, "\"%s\" must be an integer", key);
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || *out < min || *out > max)
		return fangs_error_set(FANGS_EINVAL, "\"%s\" is out of range [%lld, %lld]", key, (long long)min,
				       (long long)max);
	if (present)
		*present = 1;
	return 0;
}

void fangs_wire_register_clear(fangs_wire_register *r)
{
	if (!r)
		return;
	free(r->runner_id);
	free(r->hostname);
	memset(r, 0, sizeof(*r));
}

void fangs_wire_scan_clear(fangs_wire_scan *s)
{
	if (!s)
		return;
	free(s->package);
	free(s->version);
	free(s->runner);
	memset(s, 0, sizeof(*s));
}

void fangs_wire_result_clear(fangs_wire_result *r)
{
	if (!r)
		return;
	free(r->install_output);
	free(r->error);
	for (size_t i = 0; r->decoys && i < r->n_decoys; i++) {
		free((char *)r->decoys[i].place);
		free((char *)r->decoys[i].what);
		free((char *)r->decoys[i].value);
	}
	free(r->decoys);
	memset(r, 0, sizeof(*r));
}

int fangs_wire_register_decode(fangs_wire_register *out, const char *body, size_t len)
{
	json_object *o = NULL;
	int64_t n;
	int rc;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_register_decode: out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(body, len, &o)))
		return rc;
	if ((rc = get_str(o, "runner_id", 1, FANGS_WIRE_MAX_NAME, &out->runner_id)) ||
	    (rc = get_str(o, "hostname", 0, 255, &out->hostname)) ||
	    (rc = get_int(o, "max_scans", 1, 256, 1, &n, NULL)))
		goto out;
	out->max_scans = (int)n;
	if (!fangs_wire_valid_id(out->runner_id))
		rc = fangs_error_set(FANGS_EINVAL, "\"runner_id\" must be letters, digits, '.', '_' or '-'");
	/* shown by `fangs runner list` and logged: printable, one line */
	else if (out->hostname &&
		 (!out->hostname[0] || !fangs_text_is_clean(out->hostname, strlen(out->hostname), 255)))
		rc = fangs_error_set(FANGS_EINVAL, "\"hostname\" must be printable text (no control characters, "
						   "no bidirectional overrides), 1 to 255 bytes");
out:
	json_object_put(o);
	if (rc)
		fangs_wire_register_clear(out);
	return rc;
}

int fangs_wire_scan_decode(fangs_wire_scan *out, const char *body, size_t len)
{
	json_object *o = NULL;
	char *run_id = NULL;
	int rc;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_scan_decode: out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(body, len, &o)))
		return rc;
	if ((rc = get_str(o, "package", 1, FANGS_WIRE_MAX_NAME, &out->package)) ||
	    (rc = get_str(o, "version", 1, FANGS_PACKAGE_VERSION_MAX, &out->version)) ||
	    (rc = get_str(o, "runner", 0, FANGS_WIRE_MAX_NAME, &out->runner)) ||
	    (rc = get_str(o, "run_id", 0, FANGS_RUN_ID_MAX - 1, &run_id)))
		goto out;
	if ((rc = fangs_package_name_check(out->package, NULL)))
		rc = fangs_error_set(rc, "\"package\": %s", fangs_error_last());
	else if ((rc = fangs_package_version_check(out->version, NULL)))
		rc = fangs_error_set(rc, "\"version\": %s", fangs_error_last());
	else if (out->runner && !fangs_wire_valid_id(out->runner))
		rc = fangs_error_set(FANGS_EINVAL, "\"runner\" is not a valid runner id");
	else if (run_id && !fangs_wire_valid_id(run_id))
		rc = fangs_error_set(FANGS_EINVAL, "\"run_id\" is not a valid run id");
	else if (run_id)
		snprintf(out->run_id, sizeof(out->run_id), "%s", run_id);
	if (rc == 0) {
		int64_t attempt;
		if ((rc = get_int(o, "attempt", 1, INT32_MAX, 0, &attempt, NULL)) == 0)
			out->attempt = (int)attempt;
	}
out:
	free(run_id);
	json_object_put(o);
	if (rc)
		fangs_wire_scan_clear(out);
	return rc;
}

/* "decoys": [{"place": ..., "what": ..., "value": ...}, ...], optional. */
static int get_decoys(json_object *o, fangs_wire_result *out)
{
	json_object *arr;
	size_t n;
	int rc;
	if (!json_object_object_get_ex(o, "decoys", &arr) || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return fangs_error_set(FANGS_EINVAL, "\"decoys\" must be an array");
	n = json_object_array_length(arr);
	if (n > FANGS_WIRE_MAX_DECOYS)
		return fangs_error_set(FANGS_EINVAL, "\"decoys\" has more than %d entries", FANGS_WIRE_MAX_DECOYS);
	if (n == 0)
		return 0;
	if (!(out->decoys = calloc(n, sizeof(*out->decoys))))
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		char *place = NULL, *what = NULL, *value = NULL;
		if (!json_object_is_type(d, json_type_object))
			return fangs_error_set(FANGS_EINVAL, "\"decoys\"[%zu] must be an object", i);
		rc = get_str(d, "place", 1, 256, &place);
		if (!rc)
			rc = get_str(d, "what", 1, 256, &what);
		if (!rc)
			rc = get_str(d, "value", 1, 1024, &value);
		out->decoys[i].place = place;
		out->decoys[i].what = what;
		out->decoys[i].value = value;
		out->n_decoys = i + 1;
		if (rc)
			return rc;
	}
	return 0;
}

int fangs_wire_result_decode(fangs_wire_result *out, const char *body, size_t len)
{
	json_object *o = NULL;
	char *state = NULL;
	int64_t v;
	int rc, present;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_result_decode: out is NULL");
	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(body, len, &o)))
		return rc;
	if ((rc = get_str(o, "state", 1, 32, &state)))
		goto out;
	if (fangs_run_state_parse(state, &out->state) ||
	    (out->state != FANGS_RUN_SUCCEEDED && out->state != FANGS_RUN_FAILED &&
	     out->state != FANGS_RUN_TIMED_OUT)) {
		rc = fangs_error_set(FANGS_EINVAL, "\"state\" must be succeeded, failed or timed_out");
		goto out;
	}
	if ((rc = get_int(o, "exit_code", -255, 255, 0, &v, &present)))
		goto out;
	out->has_exit_code = present;
	out->exit_code = (int)v;
	if ((rc = get_int(o, "events_emitted", 0, INT64_MAX, 0, &out->events_emitted, NULL)) ||
	    (rc = get_int(o, "events_dropped", 0, INT64_MAX, 0, &out->events_dropped, NULL)) ||
	    (rc = get_int(o, "duration_ns", 0, INT64_MAX, 0, &out->duration_ns, NULL)) ||
	    (rc = get_str(o, "install_output", 0, FANGS_WIRE_MAX_OUTPUT, &out->install_output)) ||
	    (rc = get_str(o, "error", 0, FANGS_WIRE_MAX_ERROR, &out->error)) || (rc = get_decoys(o, out)))
		goto out;
out:
	free(state);
	json_object_put(o);
	if (rc)
		fangs_wire_result_clear(out);
	return rc;
}

static int finish(json_object *o, char **out)
{
	if (!o)
		return fangs__error_oom();
	*out = fangs__json_text(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	return *out ? 0 : fangs__error_oom();
}

static void put_str(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

int fangs_wire_register_encode(const fangs_wire_register *in, char **out)
{
	json_object *o = json_object_new_object();
	if (!in || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_register_encode: NULL argument");
	put_str(o, "runner_id", in->runner_id);
	put_str(o, "hostname", in->hostname);
	json_object_object_add(o, "max_scans", json_object_new_int(in->max_scans > 0 ? in->max_scans : 1));
	return finish(o, out);
}

int fangs_wire_scan_encode(const fangs_wire_scan *in, char **out)
{
	json_object *o = json_object_new_object();
	if (!in || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_scan_encode: NULL argument");
	if (in->run_id[0])
		put_str(o, "run_id", in->run_id);
	put_str(o, "package", in->package);
	put_str(o, "version", in->version);
	put_str(o, "runner", in->runner);
	if (in->attempt > 0)
		json_object_object_add(o, "attempt", json_object_new_int(in->attempt));
	return finish(o, out);
}

int fangs_wire_result_encode(const fangs_wire_result *in, char **out)
{
	json_object *o = json_object_new_object();
	if (!in || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_result_encode: NULL argument");
	put_str(o, "state", fangs_run_state_name(in->state));
	if (in->has_exit_code)
		json_object_object_add(o, "exit_code", json_object_new_int(in->exit_code));
	json_object_object_add(o, "events_emitted", json_object_new_int64(in->events_emitted));
	json_object_object_add(o, "events_dropped", json_object_new_int64(in->events_dropped));
	json_object_object_add(o, "duration_ns", json_object_new_int64(in->duration_ns));
	put_str(o, "install_output", in->install_output);
	put_str(o, "error", in->error);
	if (in->n_decoys && in->decoys) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < in->n_decoys; i++) {
			json_object *d = json_object_new_object();
			put_str(d, "place", in->decoys[i].place);
			put_str(d, "what", in->decoys[i].what);
			put_str(d, "value", in->decoys[i].value);
			json_object_array_add(arr, d);
		}
		json_object_object_add(o, "decoys", arr);
	}
	return finish(o, out);
}

int fangs_wire_error_encode(const char *message, char **out)
{
	json_object *o = json_object_new_object();
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_wire_error_encode: out is NULL");
	put_str(o, "error", message ? message : "error");
	return finish(o, out);
}
