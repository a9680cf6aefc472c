/*
 * scan/options.c - the versions of fangs_scan_options,
 * fangs_project_scan_options and fangs_analyze_options (core/opts.h).
 */
#include <stddef.h>

#include "core/internal.h"
#include "core/opts.h"
#include "fangs/scan.h"
#include "scan/internal.h"

static const size_t scan_sizes[] = {
	0,
	offsetof(fangs_scan_options, docker_socket), /* 1 */
	offsetof(fangs_scan_options, on_event),      /* 2: docker_socket */
	offsetof(fangs_scan_options, on_decoys),     /* 3: on_event, event_user, run_id */
	sizeof(fangs_scan_options),                  /* 4: on_decoys, decoys_user, no_import, import_timeout_ms */
};
FANGS__OPTS_SIZES_ASSERT(scan_sizes, FANGS_SCAN_OPTIONS_VERSION);

static const size_t project_sizes[] = {0, sizeof(fangs_project_scan_options)};
FANGS__OPTS_SIZES_ASSERT(project_sizes, FANGS_PROJECT_SCAN_OPTIONS_VERSION);

static const size_t analyze_sizes[] = {
	0, offsetof(fangs_analyze_options, infra), /* 1 */
	sizeof(fangs_analyze_options),             /* 2: infra, decoys, registry_addrs */
};
FANGS__OPTS_SIZES_ASSERT(analyze_sizes, FANGS_ANALYZE_OPTIONS_VERSION);

static const fangs_scan_options scan_defaults = FANGS_SCAN_OPTIONS_INIT;
static const fangs_project_scan_options project_defaults = FANGS_PROJECT_SCAN_OPTIONS_INIT;
static const fangs_analyze_options analyze_defaults = FANGS_ANALYZE_OPTIONS_INIT;

int fangs_scan_options_init(fangs_scan_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &scan_defaults, scan_sizes, FANGS_SCAN_OPTIONS_VERSION,
				"fangs_scan_options");
}

int fangs_project_scan_options_init(fangs_project_scan_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &project_defaults, project_sizes, FANGS_PROJECT_SCAN_OPTIONS_VERSION,
				"fangs_project_scan_options");
}

int fangs_analyze_options_init(fangs_analyze_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &analyze_defaults, analyze_sizes, FANGS_ANALYZE_OPTIONS_VERSION,
				"fangs_analyze_options");
}

int fangs__scan_options_copy(fangs_scan_options *out, const fangs_scan_options *in)
{
	return fangs__opts_copy(out, in, &scan_defaults, scan_sizes, FANGS_SCAN_OPTIONS_VERSION, "fangs_scan_options");
}

int fangs__project_scan_options_copy(fangs_project_scan_options *out, const fangs_project_scan_options *in)
{
	return fangs__opts_copy(out, in, &project_defaults, project_sizes, FANGS_PROJECT_SCAN_OPTIONS_VERSION,
				"fangs_project_scan_options");
}

int fangs__analyze_options_copy(fangs_analyze_options *out, const fangs_analyze_options *in)
{
	return fangs__opts_copy(out, in, &analyze_defaults, analyze_sizes, FANGS_ANALYZE_OPTIONS_VERSION,
				"fangs_analyze_options");
}
