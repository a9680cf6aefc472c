/*
 * registry/configured.c - the registry npm itself is configured with on
 * this host, asked of npm (its configuration files, its environment).
 */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/registry.h"
#include "core/fsutil.h" /* fangs__run_capture, as prefetch.c */

int fangs_registry_configured(const char *npm, char *out, size_t cap)
{
	const char *argv[] = {npm ? npm : "npm", "config", "get", "registry", NULL};
	char said[1024], *line, *save = NULL;
	if (!out || cap == 0)
		return fangs_error_set(FANGS_EINVAL, "fangs_registry_configured: no output buffer");
	out[0] = '\0';
	if (fangs__run_capture(argv, NULL, said, sizeof(said)) != 0)
		return fangs_error_set(FANGS_ENOTFOUND, "cannot run '%s config get registry'", argv[0]);
	/* the last line that is a URL: npm may warn before it */
	for (line = strtok_r(said, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
		if (!strncmp(line, "https://", 8) || !strncmp(line, "http://", 7)) {
			snprintf(out, cap, "%s", line);
			return 0;
		}
	return fangs_error_set(FANGS_ENOTFOUND, "npm names no registry URL");
}
