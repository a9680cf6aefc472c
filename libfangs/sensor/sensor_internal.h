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
	FANGS__ATTACH_DISPATCH,   /* `raw` in sys_enter_calls at `nr` (raw_tp mode) */
	FANGS__ATTACH_EXIT,       /* an open's exit, through raw_tp/sys_exit (raw_tp mode) */
};

typedef struct fangs__probe {
	fangs_sensor_probe pub;
	char name[PATH_MAX + 32];
	char reason[256];
	struct bpf_program *prog;
	enum fangs__attach how;
	char target[PATH_MAX];
	struct bpf_link *link;
	struct bpf_program *raw; /* the handler tail-called in raw_tp mode */
	int nr;                  /* its system call number */
} fangs__probe;

typedef struct fangs__run {
	char *run_id; /* kept after unwatch so counters stay readable */
	uint64_t cgroup_id;
	int level;
	int active;
} fangs__run;

/* A record read from the ring buffer by another handle's thread, waiting
 * for its own handle. */
typedef struct fangs__record {
	struct fangs__record *next;
	size_t size;
	unsigned char data[];
} fangs__record;

/* The BPF object, its links and its ring buffer: one per process and set of
 * load-time options, shared by the handles (sensor.c). */
typedef struct fangs__core fangs__core;

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

/* A handle: one consumer of the shared core, with the runs it watches (by
 * the core's slot), its own process table and its own queue. */
struct fangs_sensor {
	fangs__core *core;
	struct sensor *skel; /* the core's */
	fangs_sensor_event_fn on_event;
	void *user;
	int64_t mono_to_real;         /* add to bpf_ktime_get_ns() for wall-clock ns */
	unsigned int wakeup_ms;       /* batching period; 0 = a wake-up per event */
	fangs__run runs[FS_MAX_RUNS]; /* by slot; only this handle's */
	fangs__proctab procs;
	int cb_rc;
	int delivered;
	int epfd;                     /* the ring buffer and evfd */
	int evfd;                     /* signalled when another thread queued a record for us */
	fangs__record *qhead, *qtail; /* under the core's lock */
	uint64_t lost;                /* records that could not be queued (no memory) */
	fangs__scratch scratch;
};

/* Ring buffer callback: decodes one record and hands it to on_event. */
int fangs__sensor_record(void *ctx, void *data, size_t size);

/* Mounts tracefs at /sys/kernel/tracing when no tracefs is reachable. */
int fangs__sensor_ensure_tracefs(char *why, size_t why_len);

/* options.c: the caller's sensor options over the current defaults
 * (core/opts.h); `in` NULL = the defaults. 0 or FANGS_EVERSION. */
int fangs__sensor_options_copy(fangs_sensor_options *out, const fangs_sensor_options *in);

#endif
