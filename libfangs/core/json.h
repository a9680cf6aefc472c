/*
 * core/json.h - the one way libfangs serializes a json-c document.
 */
#ifndef FANGS_CORE_JSON_H
#define FANGS_CORE_JSON_H

#include <json-c/json.h>

/* `o` serialized with json-c `flags` (JSON_C_TO_STRING_*), made valid
 * UTF-8: json-c copies a string's bytes as they are, so a byte that is
 * not UTF-8 (an install's output cut anywhere, a file name) becomes
 * U+FFFD. malloc'd; NULL (FANGS_ENOMEM set) when out of memory. */
char *fangs__json_text(json_object *o, int flags);

#endif
