/*
 * core/json.c - serializing json-c documents as valid UTF-8.
 */
#include <string.h>

#include "core/internal.h"
#include "core/json.h"
#include "fangs/text.h"

char *fangs__json_text(json_object *o, int flags)
{
	const char *s = o ? json_object_to_json_string_ext(o, flags) : NULL;
	if (!s) {
		fangs__error_oom();
		return NULL;
	}
	return fangs_utf8_clean(s, strlen(s), NULL);
}
