/*
 * sensor/sensor_none.c - the sensor API of a build without libbpf, clang or
 * bpftool: every entry point says so instead of failing obscurely.
 */
#include "core/internal.h"
#include "fangs/sensor.h"

#define NO_SENSOR() \
	fangs_error_set(FANGS_EUNSUPPORTED, "libfangs was built without the eBPF sensor (libbpf, clang, bpftool)")

int fangs_sensor_check(char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	return NO_SENSOR();
}

int fangs_sensor_new(fangs_sensor **out, const fangs_sensor_options *opts)
{
	(void)opts;
	if (out)
		*out = NULL;
	return NO_SENSOR();
}

void fangs_sensor_free(fangs_sensor *s)
{
	(void)s;
}

int fangs_sensor_watch_cgroup(fangs_sensor *s, const char *cgroup, const char *run_id)
{
	return NO_SENSOR();
}

int fangs_sensor_unwatch(fangs_sensor *s, const char *run_id)
{
	return NO_SENSOR();
}

int fangs_sensor_fd(const fangs_sensor *s)
{
	return NO_SENSOR();
}

int fangs_sensor_poll(fangs_sensor *s, int timeout_ms)
{
	return NO_SENSOR();
}

int fangs_sensor_drain(fangs_sensor *s, int quiet_ms)
{
	return NO_SENSOR();
}

int fangs_sensor_stats(const fangs_sensor *s, const char *run_id, fangs_sensor_run_stats *out)
{
	return NO_SENSOR();
}

int fangs_sensor_probes(const fangs_sensor *s, const fangs_sensor_probe **out, size_t *count)
{
	return NO_SENSOR();
}

int fangs_sensor_set_callback(fangs_sensor *s, fangs_sensor_event_fn on_event, void *user)
{
	(void)s;
	(void)on_event;
	(void)user;
	return NO_SENSOR();
}

const char *fangs_sensor_syscall_mode(const fangs_sensor *s, const char **why)
{
	(void)s;
	if (why)
		*why = "libfangs was built without the eBPF sensor";
	return "none";
}

int fangs_sensor_preload(const fangs_sensor_options *opts)
{
	(void)opts;
	return NO_SENSOR();
}

int fangs_sensor_unload_idle(void)
{
	return 0;
}
