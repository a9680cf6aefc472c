/*
 * core/opts.c - versioned options structs: checked, initialised and read
 * by one rule (core/opts.h, docs/abi.md).
 */
#include <string.h>

#include "core/internal.h"
#include "core/opts.h"

int fangs__opts_check(unsigned int version, unsigned int current, const char *name)
{
	if (version >= 1 && version <= current)
		return 0;
	if (current == 1)
		return fangs_error_set(FANGS_EVERSION,
				       "%s version %u is not supported: this libfangs accepts version 1", name,
				       version);
	return fangs_error_set(FANGS_EVERSION, "%s version %u is not supported: this libfangs accepts versions 1 to %u",
			       name, version, current);
}

int fangs__opts_init(void *opts, unsigned int version, const void *defaults, const size_t *sizes, unsigned int current,
		     const char *name)
{
	int rc;
	if (!opts)
		return fangs_error_set(FANGS_EINVAL, "%s_init: options are NULL", name);
	if ((rc = fangs__opts_check(version, current, name)) < 0)
		return rc;
	memcpy(opts, defaults, sizes[version]);
	memcpy(opts, &version, sizeof(version));
	return 0;
}

int fangs__opts_copy(void *out, const void *in, const void *defaults, const size_t *sizes, unsigned int current,
		     const char *name)
{
	unsigned int version;
	int rc;
	memcpy(out, defaults, sizes[current]);
	if (!in)
		return 0;
	memcpy(&version, in, sizeof(version));
	if ((rc = fangs__opts_check(version, current, name)) < 0)
		return rc;
	memcpy(out, in, sizes[version]);
	return 0;
}
