/*
 * libFuzzer target: the lockfile reader must never crash, leak or loop on
 * any file; what it accepts has a dependency path computation and a diff
 * against itself that find nothing out of place.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fangs_lockfile lf;
	fangs_lock_diff d;
	if (fangs_lockfile_parse(&lf, (const char *)data, size, "fuzz.json"))
		return 0;
	for (size_t i = 0; i < lf.count && i < 64; i++) {
		size_t **paths = NULL, n = 0;
		char text[512];
		if (fangs_lockfile_paths(&lf, i, 4, &paths, &n) == 0) {
			for (size_t p = 0; p < n; p++) {
				size_t k = 0;
				while (paths[p][k] != (size_t)-1) {
					if (paths[p][k] >= lf.count)
						abort();
					k++;
				}
				if (k == 0 || paths[p][k - 1] != i)
					abort();
			}
			fangs_lock_paths_free(paths, n);
		}
		if (fangs_lockfile_path_text(&lf, i, text, sizeof(text)) < 0)
			abort();
	}
	if (fangs_lockfile_diff(&lf, &lf, &d) == 0) {
		if (d.count)
			abort();
		fangs_lock_diff_clear(&d);
	}
	fangs_lockfile_clear(&lf);
	return 0;
}
