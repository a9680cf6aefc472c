/*
 * core/opts.h - the one rule for versioned options structs (docs/abi.md).
 *
 * Every public options struct starts with `unsigned int version`. An entry
 * point accepts versions 1..current and reads a field only when the
 * caller's version has it. Each struct has a size table in its module:
 * sizes[v] is the struct's size in version v (the offset of the first field
 * version v+1 added; sizeof for the current one), sizes[0] is 0:
 *
 *     static const size_t scan_sizes[] = {0, offsetof(T, first_v2_field), sizeof(T)};
 *     FANGS__OPTS_SIZES_ASSERT(scan_sizes, FANGS_X_OPTIONS_VERSION);
 */
#ifndef FANGS_CORE_OPTS_H
#define FANGS_CORE_OPTS_H

#include <stddef.h>

/* 0, or FANGS_EVERSION with a message naming `name` and the versions
 * accepted when `version` is 0 or past `current`. */
int fangs__opts_check(unsigned int version, unsigned int current, const char *name);

/* fangs_<x>_options_init(): checks `version`, then writes the first
 * sizes[version] bytes of `defaults` (the struct's _INIT) to `opts` and sets
 * its version. FANGS_EINVAL when opts is NULL. */
int fangs__opts_init(void *opts, unsigned int version, const void *defaults, const size_t *sizes, unsigned int current,
		     const char *name);

/* An entry point's copy of the caller's options: `out` holds `defaults`
 * (the _INIT of the current version), then the caller's first
 * sizes[version] bytes over them; out->version stays the caller's. With
 * `in` NULL, out is the defaults. 0 or FANGS_EVERSION. */
int fangs__opts_copy(void *out, const void *in, const void *defaults, const size_t *sizes, unsigned int current,
		     const char *name);

#define FANGS__OPTS_CHECK(opts, current, name) fangs__opts_check((opts)->version, (current), (name))

/* Does the caller's version of `opts` have `field`? */
#define FANGS__OPTS_HAS(opts, sizes, field) (offsetof(__typeof__(*(opts)), field) < (sizes)[(opts)->version])

#define FANGS__OPTS_SIZES_ASSERT(sizes, current) \
	_Static_assert(sizeof(sizes) / sizeof((sizes)[0]) == (current) + 1, #sizes ": one size per version")

#endif
