/*
 * libFuzzer target: the NDJSON event decoder and encoder must never crash,
 * leak or loop on any input, and whatever they accept must re-encode to
 * something they accept again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fangs_event_list list = {0};
	fangs_events_parse_ndjson(&list, (const char *)data, size, "fuzz");
	for (size_t i = 0; i < list.count; i++) {
		char *out = NULL;
		size_t len = 0;
		fangs_event again = {0};
		if (fangs_event_to_json(&list.items[i], &out, &len) == 0) {
			if (fangs_event_from_json(&again, out, len) != 0)
				abort();
			fangs_event_clear(&again);
		}
		free(out);
	}
	fangs_event_list_free(&list);
	return 0;
}
