/*
 * sensor/check.c - can this machine run the sensor? Each missing piece is
 * named, so an operator knows what to fix instead of seeing a bare EPERM.
 */
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/cgroup.h"
#include "sensor/sensor_internal.h"

#define TRACEFS "/sys/kernel/tracing"

static int fail(char *why, size_t why_len, int code, const char *fmt, ...) FANGS_PRINTF(4, 5);

static int fail(char *why, size_t why_len, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (why && why_len)
		snprintf(why, why_len, "%s", msg);
	return fangs_error_set(code, "%s", msg);
}

int fangs__sensor_ensure_tracefs(char *why, size_t why_len)
{
	if (access(TRACEFS "/events", F_OK) == 0 || access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) < 0) {
		int e = errno;
		return fail(why, why_len, e == EPERM ? FANGS_EPERM : FANGS_EUNSUPPORTED,
			    "tracefs is not mounted and mounting it at " TRACEFS " failed: %s "
			    "(tracepoints cannot attach without it)",
			    strerror(e));
	}
	fangs_info("mounted tracefs at " TRACEFS);
	return 0;
}

/* Creating a ring buffer map tests privilege and ring buffer support at once. */
static int try_ringbuf(char *why, size_t why_len)
{
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_RINGBUF;
	attr.max_entries = (unsigned)sysconf(_SC_PAGESIZE);
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	if (errno == EPERM || errno == EACCES)
		return fail(why, why_len, FANGS_EPERM,
			    "creating a BPF map was refused: the sensor needs root "
			    "(CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)");
	return fail(why, why_len, FANGS_EUNSUPPORTED, "the kernel has no BPF ring buffer: %s (needs Linux >= 5.8)",
		    strerror(errno));
}

int fangs_sensor_check(char *why, size_t why_len)
{
	char root[PATH_MAX];
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return fail(why, why_len, errno == EACCES ? FANGS_EPERM : FANGS_EUNSUPPORTED,
			    "kernel BTF (/sys/kernel/btf/vmlinux) is missing: %s (needs CONFIG_DEBUG_INFO_BTF)",
			    strerror(errno));
	if ((rc = try_ringbuf(why, why_len)))
		return rc;
	if ((rc = fangs__sensor_ensure_tracefs(why, why_len)))
		return rc;
	if (fangs_cgroup_v2_root(root, sizeof(root)))
		return fail(why, why_len, FANGS_EUNSUPPORTED,
			    "no cgroup2 file system is mounted (runs are scoped by cgroup v2)");
	return 0;
}
