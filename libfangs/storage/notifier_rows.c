/*
 * storage/notifier_rows.c - lifetime of notifier targets and notification
 * rows, status names, and the JSON form of a target's extra headers (shared
 * by every backend).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/json.h"
#include "storage/internal.h"

void fangs_notifier_target_clear(fangs_notifier_target *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->url);
	free(t->template_name);
	for (size_t i = 0; i < t->n_headers; i++) {
		free(t->headers[i].name);
		free(t->headers[i].value);
	}
	free(t->headers);
	free(t->secret_env);
	memset(t, 0, sizeof(*t));
}

void fangs_notifier_target_list_free(fangs_notifier_target_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_notifier_target_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

int fangs_notifier_target_add_header(fangs_notifier_target *t, const char *name, const char *value)
{
	fangs_notifier_header *h;
	if (!t || !name || !value)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_target_add_header: NULL argument");
	h = realloc(t->headers, (t->n_headers + 1) * sizeof(*h));
	if (!h)
		return fangs__error_oom();
	t->headers = h;
	h = &t->headers[t->n_headers];
	h->name = fangs__strdup(name);
	h->value = fangs__strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return FANGS_ENOMEM;
	}
	t->n_headers++;
	return 0;
}

void fangs_notification_clear(fangs_notification *n)
{
	if (!n)
		return;
	free(n->notifier_name);
	free(n->run_id);
	free(n->error);
	free(n->body);
	memset(n, 0, sizeof(*n));
}

void fangs_notification_list_free(fangs_notification_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_notification_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static const char *const status_names[] = {"pending", "sending", "sent", "retry", "failed"};
_Static_assert(FANGS_ARRAY_SIZE(status_names) == FANGS_NOTIFICATION_FAILED + 1, "a name per notification status");

const char *fangs_notification_status_name(fangs_notification_status s)
{
	return (unsigned)s < FANGS_ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

int fangs_notification_status_parse(const char *name, fangs_notification_status *out)
{
	for (size_t i = 0; name && i < FANGS_ARRAY_SIZE(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			if (out)
				*out = (fangs_notification_status)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL, "unknown notification status '%s'", name ? name : "(null)");
}

int fangs__storage_headers_encode(const fangs_notifier_target *t, char **out)
{
	json_object *o;
	*out = NULL;
	if (!t->n_headers)
		return 0;
	if (!(o = json_object_new_object()))
		return fangs__error_oom();
	for (size_t i = 0; i < t->n_headers; i++)
		json_object_object_add(o, t->headers[i].name, json_object_new_string(t->headers[i].value));
	*out = fangs__json_text(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	return *out ? 0 : FANGS_ENOMEM;
}

int fangs__storage_headers_decode(const char *json, fangs_notifier_target *t)
{
	json_object *o;
	int rc = 0;
	if (!json || !*json)
		return 0;
	o = json_tokener_parse(json);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return fangs_error_set(FANGS_EPARSE, "notifier '%s': stored headers are not a JSON object",
				       t->name ? t->name : "?");
	}
	json_object_object_foreach(o, k, v)
	{
		if (rc == 0)
			rc = fangs_notifier_target_add_header(t, k, json_object_get_string(v));
	}
	json_object_put(o);
	return rc;
}
