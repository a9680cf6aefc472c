/*
 * sensor/sensor_internal.h - the sensor handle, shared by the loader and the
 * record decoder.
 */
#ifndef FANGS_SENSOR_INTERNAL_H
#define FANGS_SENSOR_INTERNAL_H

#include <limits.h>
#include <linux/types.h>

#include "fangs/sensor.h"
#include "sensor.h"
#include "sensor/proctab.h"

struct sensor;
struct ring_buffer;
struct bpf_link;

struct bpf_program;

/* How a probe attaches its program. */
enum fangs__attach {
	FANGS__ATTACH_AUTO,       /* from the program's section name */
	FANGS__ATTACH_UPROBE,     /* SSL_ctrl in the binary `target` */
	FANGS__ATTACH_TRACEPOINT, /* syscalls/`target` */
};

typedef struct fangs__probe {
	fangs_sensor_probe pub;
	char name[PATH_MAX + 32];
	char reason[256];
	struct bpf_program *prog;
	enum fangs__attach how;
	char target[PATH_MAX];
	struct bpf_link *link;
} fangs__probe;

typedef struct fangs__run {
	char *run_id; /* kept after unwatch so counters stay readable */
	uint64_t cgroup_id;
	int level;
	int active;
} fangs__run;

/* Where a record's strings are copied while its event is delivered: events
 * borrow from here and from the process table, so decoding allocates
 * nothing. */
typedef struct fangs__scratch {
	char comm[FS_COMM_LEN + 1];
	char path[FS_PATH_LEN + 1];
	char args[FS_ARGS_LEN + 1];
	char *argv[FS_ARGS_LEN / 2 + 1];
	char addr[FS_ADDR_LEN + 64];
	char name[1024];
	char real[FS_RPATH_LEN + FS_NAME_MAX + 8];
	char env_pkg[FS_PKG_LEN + 1];
} fangs__scratch;

struct fangs_sensor {
	struct sensor *skel;
	struct ring_buffer *rb;
	fangs_sensor_event_fn on_event;
	void *user;
	int64_t mono_to_real; /* add to bpf_ktime_get_ns() for wall-clock ns */
	unsigned int wakeup_ms; /* batching period; 0 = a wake-up per event */
	char v2root[PATH_MAX];
	fangs__run runs[FS_MAX_RUNS];
	int next_slot; /* slots are reused round-robin, so late events of an
			* unwatched run are unlikely to be read under a new run id */
	fangs__probe *probes;
	fangs_sensor_probe *probe_list;
	size_t n_probes;
	fangs__proctab procs;
	int cb_rc;
	unsigned int want; /* FANGS_SENSOR_PROBE_* bits asked for */
	int delivered;
	fangs__scratch scratch;
};

/* Ring buffer callback: decodes one record and hands it to on_event. */
int fangs__sensor_record(void *ctx, void *data, size_t size);

/* Mounts tracefs at /sys/kernel/tracing when no tracefs is reachable. */
int fangs__sensor_ensure_tracefs(char *why, size_t why_len);

#endif
