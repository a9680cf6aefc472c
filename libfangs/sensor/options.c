/*
 * sensor/options.c - sensor options, the same with or without eBPF support.
 */
#include <stddef.h>
#include <string.h>

#include "core/opts.h"
#include "core/internal.h"
#include "fangs/sensor.h"
#include "sensor/sensor_internal.h"

static const size_t sensor_sizes[] = {
	0, offsetof(fangs_sensor_options, max_events_per_run), /* 1 */
	offsetof(fangs_sensor_options, syscalls),              /* 2: max_events_per_run */
	sizeof(fangs_sensor_options),                          /* 3: syscalls */
};
FANGS__OPTS_SIZES_ASSERT(sensor_sizes, FANGS_SENSOR_OPTIONS_VERSION);
static const fangs_sensor_options sensor_defaults = FANGS_SENSOR_OPTIONS_INIT;

int fangs_sensor_options_init(fangs_sensor_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &sensor_defaults, sensor_sizes, FANGS_SENSOR_OPTIONS_VERSION,
				"fangs_sensor_options");
}

int fangs__sensor_options_copy(fangs_sensor_options *out, const fangs_sensor_options *in)
{
	return fangs__opts_copy(out, in, &sensor_defaults, sensor_sizes, FANGS_SENSOR_OPTIONS_VERSION,
				"fangs_sensor_options");
}
