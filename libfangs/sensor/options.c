/*
 * sensor/options.c - sensor options, the same with or without eBPF support.
 */
#include <stddef.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/sensor.h"

int fangs_sensor_options_init(fangs_sensor_options *opts, unsigned int version)
{
	fangs_sensor_options init = FANGS_SENSOR_OPTIONS_INIT;
	if (!opts)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_options_init: NULL options");
	if (version < 1 || version > FANGS_SENSOR_OPTIONS_VERSION)
		return fangs_error_set(FANGS_EVERSION, "sensor options version %u is not 1..%u", version,
				       FANGS_SENSOR_OPTIONS_VERSION);
	if (version == 1) {
		init.version = 1;
		memcpy(opts, &init, offsetof(fangs_sensor_options, max_events_per_run));
		return 0;
	}
	if (version == 2) {
		init.version = 2;
		memcpy(opts, &init, offsetof(fangs_sensor_options, syscalls));
		return 0;
	}
	*opts = init;
	return 0;
}
