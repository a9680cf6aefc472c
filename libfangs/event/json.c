/*
 * event/json.c - the NDJSON codec of events (format: docs/events.md).
 *
 * Decoding goes through json-c and validates every field's type; encoding is
 * written by hand into a growable buffer (this is on the ingest hot path).
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/codec.h"
#include "fangs/event.h"

#define FIELD_ERR(field, what) fangs_error_set(FANGS_EPARSE, "field \"%s\": %s", field, what)

static int get_string(json_object *obj, const char *field, char **out, int required)
{
	json_object *v;
	const char *s;
	int len;
	if (!json_object_object_get_ex(obj, field, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return FIELD_ERR(field, "missing");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return FIELD_ERR(field, "must be a string");
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (memchr(s, '\0', (size_t)len))
		return FIELD_ERR(field, "contains a NUL character");
	if (required && len == 0)
		return FIELD_ERR(field, "must not be empty");
	*out = fangs__strndup(s, (size_t)len);
	return *out ? 0 : FANGS_ENOMEM;
}

static int get_int(json_object *obj, const char *field, int64_t min, int64_t max, int64_t *out, int required)
{
	json_object *v;
	int64_t x;
	if (!json_object_object_get_ex(obj, field, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return FIELD_ERR(field, "missing");
		return 1;
	}
	if (!json_object_is_type(v, json_type_int))
		return FIELD_ERR(field, "must be an integer");
	errno = 0;
	x = json_object_get_int64(v);
	if (errno == EINVAL)
		return FIELD_ERR(field, "must be an integer");
	/* json-c saturates values beyond int64; uint64 beyond INT64_MAX is out of range too */
	if (x < min || x > max || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX))
		return fangs_error_set(FANGS_EPARSE, "field \"%s\": out of range", field);
	*out = x;
	return 0;
}

static int get_i32(json_object *obj, const char *field, int32_t *out, int required)
{
	int64_t v;
	int rc = get_int(obj, field, INT32_MIN, INT32_MAX, &v, required);
	if (rc == 0)
		*out = (int32_t)v;
	return rc < 0 ? rc : 0;
}

static int decode_flags(json_object *obj, uint32_t *flags)
{
	char *s = NULL;
	int rc = get_string(obj, "flags", &s, 0);
	if (rc)
		return rc;
	if (!s) {
		*flags = FANGS_OPEN_READ;
		return 0;
	}
	if (strcmp(s, "r") == 0)
		*flags = FANGS_OPEN_READ;
	else if (strcmp(s, "w") == 0)
		*flags = FANGS_OPEN_WRITE;
	else if (strcmp(s, "rw") == 0)
		*flags = FANGS_OPEN_READ | FANGS_OPEN_WRITE;
	else
		rc = FIELD_ERR("flags", "must be \"r\", \"w\" or \"rw\"");
	free(s);
	return rc;
}

static int decode_argv(json_object *obj, fangs_event *ev)
{
	json_object *v;
	size_t n;
	if (!json_object_object_get_ex(obj, "argv", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return FIELD_ERR("argv", "must be an array of strings");
	n = json_object_array_length(v);
	if (n == 0)
		return 0;
	if (n > 4096)
		return FIELD_ERR("argv", "more than 4096 arguments");
	ev->argv = calloc(n, sizeof(char *));
	if (!ev->argv)
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(v, i);
		int len;
		const char *s;
		if (!json_object_is_type(a, json_type_string))
			return FIELD_ERR("argv", "must be an array of strings");
		s = json_object_get_string(a);
		len = json_object_get_string_len(a);
		if (memchr(s, '\0', (size_t)len))
			return FIELD_ERR("argv", "contains a NUL character");
		ev->argv[i] = fangs__strndup(s, (size_t)len);
		if (!ev->argv[i])
			return FANGS_ENOMEM;
		ev->argc = i + 1;
	}
	return 0;
}

static int decode_ancestry(json_object *obj, fangs_event *ev)
{
	json_object *v;
	size_t n;
	if (!json_object_object_get_ex(obj, "ancestry", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return FIELD_ERR("ancestry", "must be an array of objects");
	n = json_object_array_length(v);
	if (n > FANGS_ANCESTRY_MAX)
		return fangs_error_set(FANGS_EPARSE, "field \"ancestry\": more than %d entries", FANGS_ANCESTRY_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(v, i);
		fangs_ancestor *anc = &ev->ancestry[i];
		int rc;
		if (!json_object_is_type(a, json_type_object))
			return FIELD_ERR("ancestry", "must be an array of objects");
		ev->n_ancestry = i + 1;
		if ((rc = get_i32(a, "pid", &anc->pid, 0)) || (rc = get_string(a, "comm", &anc->comm, 0)) ||
		    (rc = get_string(a, "exe", &anc->exe, 0)))
			return fangs_error_set(rc, "ancestry[%zu]: %s", i, fangs_error_last());
	}
	return 0;
}

static int decode_origin(json_object *obj, fangs_event *ev)
{
	json_object *v;
	int rc;
	if (!json_object_object_get_ex(obj, "origin", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return FIELD_ERR("origin", "must be an object");
	if ((rc = get_string(v, "package", &ev->origin.package, 0)) ||
	    (rc = get_string(v, "version", &ev->origin.version, 0)) ||
	    (rc = get_string(v, "script", &ev->origin.script, 0)) ||
	    (rc = get_string(v, "command", &ev->origin.command, 0)))
		return fangs_error_set(rc, "origin: %s", fangs_error_last());
	return 0;
}

/* Recordings from before the import phase have no "phase": install. */
static int decode_phase(json_object *obj, fangs_event *ev)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, "phase", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return FIELD_ERR("phase", "must be a string");
	if (fangs_event_phase_parse(json_object_get_string(v), &ev->phase))
		return fangs_error_set(FANGS_EPARSE, "field \"phase\": unknown phase \"%.32s\" (install, import)",
				       json_object_get_string(v));
	return 0;
}

static int decode_family(json_object *obj, fangs_event *ev)
{
	char *s = NULL;
	int rc = get_string(obj, "family", &s, 0);
	if (rc)
		return rc;
	if (!s) {
		if (ev->addr)
			ev->family = strchr(ev->addr, ':') ? FANGS_FAMILY_IPV6 : FANGS_FAMILY_IPV4;
		return 0;
	}
	if (strcmp(s, "ipv4") == 0)
		ev->family = FANGS_FAMILY_IPV4;
	else if (strcmp(s, "ipv6") == 0)
		ev->family = FANGS_FAMILY_IPV6;
	else if (strcmp(s, "unix") == 0)
		ev->family = FANGS_FAMILY_UNIX;
	else
		rc = FIELD_ERR("family", "must be \"ipv4\", \"ipv6\" or \"unix\"");
	free(s);
	return rc;
}

static int decode_proto(json_object *obj, fangs_event *ev)
{
	char *s = NULL;
	int rc = get_string(obj, "proto", &s, 0);
	if (rc)
		return rc;
	if (!s)
		return 0;
	if (strcmp(s, "tcp") == 0)
		ev->proto = FANGS_PROTO_TCP;
	else if (strcmp(s, "udp") == 0)
		ev->proto = FANGS_PROTO_UDP;
	else
		rc = FIELD_ERR("proto", "must be \"tcp\" or \"udp\"");
	free(s);
	return rc;
}

static int decode_qtype(json_object *obj, fangs_event *ev)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, "qtype", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x < 0 || x > 65535)
			return FIELD_ERR("qtype", "out of range");
		ev->qtype = (uint16_t)x;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return FIELD_ERR("qtype", "must be a name (\"A\") or a number");
	ev->qtype = fangs_dns_qtype_parse(json_object_get_string(v));
	if (!ev->qtype)
		return FIELD_ERR("qtype", "unknown DNS type");
	return 0;
}

static int decode_net(json_object *obj, fangs_event *ev, int addr_required)
{
	int64_t port = 0;
	int rc;
	if ((rc = get_string(obj, "addr", &ev->addr, addr_required)))
		return rc;
	rc = get_int(obj, "port", 0, 65535, &port, addr_required);
	if (rc < 0)
		return rc;
	ev->port = (uint16_t)port;
	if ((rc = decode_family(obj, ev)) || (rc = decode_proto(obj, ev)))
		return rc;
	return 0;
}

static int decode_proxy(json_object *obj, fangs_event *ev)
{
	json_object *v;
	int64_t x = 0;
	int rc;
	if ((rc = get_string(obj, "host", &ev->host, 1)) || (rc = get_string(obj, "method", &ev->method, 1)) ||
	    (rc = get_string(obj, "path", &ev->path, 0)) || (rc = get_string(obj, "sni", &ev->sni, 0)) ||
	    (rc = get_string(obj, "addr", &ev->addr, 0)) || (rc = decode_family(obj, ev)))
		return rc;
	if ((rc = get_int(obj, "port", 0, 65535, &x, 1)) < 0)
		return rc;
	ev->port = (uint16_t)x;
	ev->proto = FANGS_PROTO_TCP;
	if ((rc = get_int(obj, "bytes_out", 0, INT64_MAX, &x, 0)) < 0)
		return rc;
	ev->bytes_out = rc == 0 ? (uint64_t)x : 0;
	if ((rc = get_int(obj, "bytes_in", 0, INT64_MAX, &x, 0)) < 0)
		return rc;
	ev->bytes_in = rc == 0 ? (uint64_t)x : 0;
	if ((rc = get_int(obj, "status", 0, 999, &x, 0)) < 0)
		return rc;
	ev->status = rc == 0 ? (int32_t)x : 0;
	if (!json_object_object_get_ex(obj, "allowed", &v) || !json_object_is_type(v, json_type_boolean))
		return FIELD_ERR("allowed", "missing or not a boolean");
	ev->allowed = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

static int decode_object(json_object *obj, fangs_event *ev)
{
	char *kind = NULL;
	int64_t v;
	int rc;

	if (!json_object_is_type(obj, json_type_object))
		return fangs_error_set(FANGS_EPARSE, "not a JSON object");
	if ((rc = get_string(obj, "kind", &kind, 1)))
		return rc;
	ev->kind = fangs_event_kind_parse(kind);
	if (ev->kind == FANGS_EV_NONE) {
		rc = fangs_error_set(FANGS_EPARSE, "field \"kind\": unknown kind \"%.64s\"", kind);
		free(kind);
		return rc;
	}
	free(kind);

	if ((rc = get_int(obj, "id", 0, INT64_MAX, &v, 0)) < 0)
		return rc;
	if (rc == 0)
		ev->id = v;
	if ((rc = get_int(obj, "ts_ns", 0, INT64_MAX, &v, 0)) < 0)
		return rc;
	if (rc == 0)
		ev->ts_ns = (uint64_t)v;
	if ((rc = get_i32(obj, "pid", &ev->pid, 0)) || (rc = get_i32(obj, "ppid", &ev->ppid, 0)))
		return rc;
	if ((rc = get_int(obj, "uid", 0, UINT32_MAX, &v, 0)) < 0)
		return rc;
	if (rc == 0)
		ev->uid = (uint32_t)v;
	if ((rc = get_string(obj, "comm", &ev->comm, 0)) || (rc = get_string(obj, "run", &ev->run_id, 0)))
		return rc;

	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
		if ((rc = get_string(obj, "path", &ev->path, 1)) || (rc = decode_flags(obj, &ev->flags)) ||
		    (rc = get_string(obj, "real_path", &ev->real_path, 0)) ||
		    (rc = get_string(obj, "decoy", &ev->decoy, 0)))
			return rc;
		if ((rc = get_int(obj, "ino", 0, INT64_MAX, &v, 0)) < 0)
			return rc;
		if (rc == 0)
			ev->ino = (uint64_t)v;
		if ((rc = get_int(obj, "dev", 0, INT64_MAX, &v, 0)) < 0)
			return rc;
		if (rc == 0)
			ev->dev = (uint64_t)v;
		break;
	case FANGS_EV_EXEC:
		if ((rc = get_string(obj, "path", &ev->path, 1)) || (rc = decode_argv(obj, ev)) ||
		    (rc = get_string(obj, "env_package", &ev->env_package, 0)))
			return rc;
		break;
	case FANGS_EV_NET_CONNECT:
		if ((rc = decode_net(obj, ev, 1)))
			return rc;
		if (ev->proto == FANGS_PROTO_NONE)
			ev->proto = FANGS_PROTO_TCP;
		break;
	case FANGS_EV_DNS_QUERY:
		if ((rc = get_string(obj, "qname", &ev->qname, 1)) || (rc = decode_qtype(obj, ev)) ||
		    (rc = decode_net(obj, ev, 0)))
			return rc;
		break;
	case FANGS_EV_TLS_SNI:
		if ((rc = get_string(obj, "sni", &ev->sni, 1)) || (rc = decode_net(obj, ev, 0)))
			return rc;
		break;
	case FANGS_EV_PROC_FORK:
		break;
	case FANGS_EV_PROC_EXIT:
		if ((rc = get_i32(obj, "exit_code", &ev->exit_code, 0)))
			return rc;
		break;
	case FANGS_EV_PROXY_REQUEST:
		if ((rc = decode_proxy(obj, ev)))
			return rc;
		break;
	case FANGS_EV_SYSCALL:
		if ((rc = get_string(obj, "op", &ev->op, 1)) || (rc = get_string(obj, "detail", &ev->detail, 0)) ||
		    (rc = get_string(obj, "path", &ev->path, 0)) || (rc = get_i32(obj, "target", &ev->target, 0)))
			return rc;
		if ((rc = get_int(obj, "arg", 0, INT64_MAX, &v, 0)) < 0)
			return rc;
		if (rc == 0)
			ev->arg = (uint64_t)v;
		break;
	case FANGS_EV_NONE:
		break;
	}
	if ((rc = decode_ancestry(obj, ev)) || (rc = decode_origin(obj, ev)) || (rc = decode_phase(obj, ev)))
		return rc;
	return 0;
}

int fangs_event_from_json(fangs_event *ev, const char *json, size_t len)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t end;
	int rc;

	if (!ev || !json)
		return fangs_error_set(FANGS_EINVAL, "fangs_event_from_json: NULL argument");
	fangs_event_clear(ev);
	if (len > INT_MAX)
		return fangs_error_set(FANGS_EPARSE, "line too long");
	tok = json_tokener_new_ex(16);
	if (!tok)
		return fangs__error_oom();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!obj && jerr == json_tokener_continue) {
		json_tokener_free(tok);
		return fangs_error_set(FANGS_EPARSE, "truncated JSON");
	}
	if (!obj || jerr != json_tokener_success) {
		rc = fangs_error_set(FANGS_EPARSE, "invalid JSON: %s", json_tokener_error_desc(jerr));
		json_object_put(obj);
		json_tokener_free(tok);
		return rc;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && (json[end] == ' ' || json[end] == '\t' || json[end] == '\r' || json[end] == '\n'))
		end++;
	if (end != len) {
		json_object_put(obj);
		return fangs_error_set(FANGS_EPARSE, "trailing data after the JSON object");
	}
	rc = decode_object(obj, ev);
	json_object_put(obj);
	if (rc)
		fangs_event_clear(ev);
	return rc;
}

/* Keys are literals: their quoting is done by the compiler, and each key
 * costs one append (this encoder runs for every stored event). */
#define put_key(b, key) fangs_buf_put((b), ",\"" key "\":", sizeof(",\"" key "\":") - 1)

static void put_str_value(fangs_buf *b, const char *keyq, size_t keylen, const char *v)
{
	if (!v)
		return;
	fangs_buf_put(b, keyq, keylen);
	fangs_buf_json_str(b, v);
}

#define put_str_field(b, key, v) put_str_value((b), ",\"" key "\":", sizeof(",\"" key "\":") - 1, (v))

static const char *family_name(fangs_family f)
{
	switch (f) {
	case FANGS_FAMILY_IPV4:
		return "ipv4";
	case FANGS_FAMILY_IPV6:
		return "ipv6";
	case FANGS_FAMILY_UNIX:
		return "unix";
	case FANGS_FAMILY_NONE:
		break;
	}
	return NULL;
}

static void put_net(fangs_buf *b, const fangs_event *ev, int always)
{
	const char *fam = family_name(ev->family);
	if (!always && !ev->addr)
		return;
	if (fam)
		put_str_field(b, "family", fam);
	put_str_field(b, "addr", ev->addr ? ev->addr : "");
	put_key(b, "port");
	fangs_buf_u64(b, ev->port);
	if (ev->proto == FANGS_PROTO_TCP)
		put_str_field(b, "proto", "tcp");
	else if (ev->proto == FANGS_PROTO_UDP)
		put_str_field(b, "proto", "udp");
}

/* Appends the JSON object of `ev` to `b` (used by the storage and wire layers). */
int fangs__event_encode(fangs_buf *b, const fangs_event *ev)
{
	fangs_buf_puts(b, "{\"kind\":\"");
	fangs_buf_puts(b, fangs_event_kind_name(ev->kind));
	fangs_buf_putc(b, '"');
	if (ev->id) {
		put_key(b, "id");
		fangs_buf_i64(b, ev->id);
	}
	if (ev->ts_ns) {
		put_key(b, "ts_ns");
		fangs_buf_u64(b, ev->ts_ns);
	}
	put_str_field(b, "run", ev->run_id);
	put_key(b, "pid");
	fangs_buf_i64(b, ev->pid);
	if (ev->ppid) {
		put_key(b, "ppid");
		fangs_buf_i64(b, ev->ppid);
	}
	if (ev->uid) {
		put_key(b, "uid");
		fangs_buf_u64(b, ev->uid);
	}
	put_str_field(b, "comm", ev->comm);
	if (ev->phase != FANGS_PHASE_INSTALL)
		put_str_field(b, "phase", fangs_event_phase_name(ev->phase));
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
		put_str_field(b, "path", ev->path ? ev->path : "");
		put_str_field(b, "flags",
			      (ev->flags & FANGS_OPEN_WRITE) ? ((ev->flags & FANGS_OPEN_READ) ? "rw" : "w") : "r");
		put_str_field(b, "real_path", ev->real_path);
		if (ev->ino) {
			put_key(b, "ino");
			fangs_buf_u64(b, ev->ino);
		}
		if (ev->dev) {
			put_key(b, "dev");
			fangs_buf_u64(b, ev->dev);
		}
		put_str_field(b, "decoy", ev->decoy);
		break;
	case FANGS_EV_EXEC:
		put_str_field(b, "path", ev->path ? ev->path : "");
		if (ev->argc) {
			put_key(b, "argv");
			fangs_buf_putc(b, '[');
			for (size_t i = 0; i < ev->argc; i++) {
				if (i)
					fangs_buf_putc(b, ',');
				fangs_buf_json_str(b, ev->argv[i] ? ev->argv[i] : "");
			}
			fangs_buf_putc(b, ']');
		}
		put_str_field(b, "env_package", ev->env_package);
		break;
	case FANGS_EV_NET_CONNECT:
		put_net(b, ev, 1);
		break;
	case FANGS_EV_DNS_QUERY: {
		const char *qt = fangs_dns_qtype_name(ev->qtype);
		put_str_field(b, "qname", ev->qname ? ev->qname : "");
		if (qt) {
			put_str_field(b, "qtype", qt);
		} else if (ev->qtype) {
			put_key(b, "qtype");
			fangs_buf_u64(b, ev->qtype);
		}
		put_net(b, ev, 0);
		break;
	}
	case FANGS_EV_TLS_SNI:
		put_str_field(b, "sni", ev->sni ? ev->sni : "");
		put_net(b, ev, 0);
		break;
	case FANGS_EV_PROC_EXIT:
		put_key(b, "exit_code");
		fangs_buf_i64(b, ev->exit_code);
		break;
	case FANGS_EV_PROXY_REQUEST:
		put_str_field(b, "host", ev->host ? ev->host : "");
		put_key(b, "port");
		fangs_buf_u64(b, ev->port);
		put_str_field(b, "method", ev->method ? ev->method : "");
		put_str_field(b, "path", ev->path);
		put_str_field(b, "sni", ev->sni);
		if (ev->addr) {
			const char *fam = family_name(ev->family);
			if (fam)
				put_str_field(b, "family", fam);
			put_str_field(b, "addr", ev->addr);
		}
		put_key(b, "bytes_out");
		fangs_buf_u64(b, ev->bytes_out);
		put_key(b, "bytes_in");
		fangs_buf_u64(b, ev->bytes_in);
		if (ev->status) {
			put_key(b, "status");
			fangs_buf_i64(b, ev->status);
		}
		put_key(b, "allowed");
		fangs_buf_puts(b, ev->allowed ? "true" : "false");
		break;
	case FANGS_EV_SYSCALL:
		put_str_field(b, "op", ev->op ? ev->op : "");
		put_str_field(b, "detail", ev->detail);
		put_str_field(b, "path", ev->path);
		if (ev->target) {
			put_key(b, "target");
			fangs_buf_i64(b, ev->target);
		}
		if (ev->arg) {
			put_key(b, "arg");
			fangs_buf_u64(b, ev->arg & (uint64_t)INT64_MAX);
		}
		break;
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_NONE:
		break;
	}
	if (ev->n_ancestry) {
		put_key(b, "ancestry");
		fangs_buf_putc(b, '[');
		for (size_t i = 0; i < ev->n_ancestry && i < FANGS_ANCESTRY_MAX; i++) {
			if (i)
				fangs_buf_putc(b, ',');
			fangs_buf_puts(b, "{\"pid\":");
			fangs_buf_i64(b, ev->ancestry[i].pid);
			put_str_field(b, "comm", ev->ancestry[i].comm);
			put_str_field(b, "exe", ev->ancestry[i].exe);
			fangs_buf_putc(b, '}');
		}
		fangs_buf_putc(b, ']');
	}
	if (ev->origin.package || ev->origin.script) {
		put_key(b, "origin");
		fangs_buf_putc(b, '{');
		fangs_buf_puts(b, "\"package\":");
		fangs_buf_json_str(b, ev->origin.package ? ev->origin.package : "");
		put_str_field(b, "version", ev->origin.version);
		put_str_field(b, "script", ev->origin.script);
		put_str_field(b, "command", ev->origin.command);
		fangs_buf_putc(b, '}');
	}
	fangs_buf_putc(b, '}');
	return b->oom ? FANGS_ENOMEM : 0;
}

int fangs_event_to_json(const fangs_event *ev, char **out, size_t *out_len)
{
	fangs_buf b = FANGS_BUF_INIT;
	int rc;
	if (!ev || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_event_to_json: NULL argument");
	rc = fangs__event_encode(&b, ev);
	if (rc) {
		fangs_buf_free(&b);
		return rc;
	}
	*out = fangs_buf_steal(&b, out_len);
	return *out ? 0 : FANGS_ENOMEM;
}

int fangs_events_parse_ndjson(fangs_event_list *out, const char *data, size_t len, const char *source)
{
	size_t pos = 0, line = 0;
	if (!out || (!data && len))
		return fangs_error_set(FANGS_EINVAL, "fangs_events_parse_ndjson: NULL argument");
	while (pos < len) {
		const char *start = data + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - start) : len - pos;
		size_t i;
		fangs_event ev = {0};
		int rc;

		line++;
		pos += llen + (nl ? 1 : 0);
		for (i = 0; i < llen && (start[i] == ' ' || start[i] == '\t' || start[i] == '\r'); i++)
			;
		if (i == llen)
			continue;
		rc = fangs_event_from_json(&ev, start, llen);
		if (rc)
			return fangs_error_set(rc, "%s%sline %zu: %s", source ? source : "", source ? ":" : "", line,
					       fangs_error_last());
		if (fangs_event_list_append(out, &ev)) {
			fangs_event_clear(&ev);
			return FANGS_ENOMEM;
		}
	}
	return 0;
}

int fangs_events_read_file(fangs_event_list *out, const char *path)
{
	char *data;
	size_t len;
	int rc;
	if (!out || !path)
		return fangs_error_set(FANGS_EINVAL, "fangs_events_read_file: NULL argument");
	rc = fangs__read_file(path, &data, &len);
	if (rc)
		return rc;
	rc = fangs_events_parse_ndjson(out, data, len, strcmp(path, "-") == 0 ? "stdin" : path);
	free(data);
	return rc;
}
