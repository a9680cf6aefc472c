/*
 * core/severity.c - the one severity scale, and the library version.
 */
#include <strings.h>

#include "core/internal.h"
#include "fangs/common.h"

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};
_Static_assert(FANGS_ARRAY_SIZE(sev_names) == FANGS_SEV_CRITICAL + 1, "a name per severity");

const char *fangs_version(void)
{
	return FANGS_VERSION_STRING;
}

const char *fangs_severity_name(fangs_severity sev)
{
	if ((unsigned)sev >= FANGS_ARRAY_SIZE(sev_names))
		return "unknown";
	return sev_names[sev];
}

int fangs_severity_parse(const char *name, fangs_severity *out)
{
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "severity: missing value");
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(sev_names); i++) {
		if (strcasecmp(name, sev_names[i]) == 0) {
			*out = (fangs_severity)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL, "unknown severity '%s' (expected info, low, medium, high or critical)",
			       name);
}
