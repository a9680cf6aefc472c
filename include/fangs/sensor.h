/*
 * fangs/sensor.h - the eBPF sensor: observes what processes inside watched
 * cgroup-v2 subtrees do, from the host kernel.
 *
 * The sensor loads one BPF object (tracepoints, raw tracepoints and uprobes;
 * no kprobes), attaches every probe it can, and reports by name which ones
 * are live. Processes are reported only while they sit inside a cgroup
 * watched with fangs_sensor_watch_cgroup(); every event carries the run id
 * the cgroup was watched under, the 5 nearest ancestors of the acting
 * process and, when known, the npm package and lifecycle script it runs for.
 *
 * Needs root (CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN for uprobes), kernel BTF
 * (/sys/kernel/btf/vmlinux), tracefs (mounted at /sys/kernel/tracing when
 * missing) and cgroup v2. fangs_sensor_check() says which is missing.
 *
 * How the sensor fills fangs_event: ts_ns is wall-clock time; pid, ppid and
 * the ancestry are host pids (thread-group ids); file_open is reported at
 * syscall entry (intent: the open may fail); exec after it succeeded, with
 * the argv of the new image; exit_code is the exit status, or 128 + signal
 * number when killed; an IPv4-mapped IPv6 destination is reported as IPv4;
 * a unix socket's addr is its path ("@name" for abstract ones); tls_sni
 * events from the SSL_ctrl uprobe carry no address, those parsed from a
 * ClientHello do.
 *
 * A sensor handle is used from one thread at a time; handles are cheap.
 * The BPF object behind them is loaded and attached once per process and
 * set of load-time options (ring buffer size, probes, TLS binaries,
 * wake-up period, event budget, system call mode) and kept until the
 * process exits: fangs_sensor_new() with the same options in the same
 * process (concurrent scans of a runner, successive scans of `fangs scan`)
 * shares it, and fangs_sensor_free() only lets go of the handle. Each
 * handle gets the events of the cgroups it watches, and only those: the
 * ring buffer's records are routed to their handle by the watched cgroup
 * they came from, whichever thread reads the ring buffer.
 */
#ifndef FANGS_SENSOR_H
#define FANGS_SENSOR_H

#include "common.h"
#include "event.h"

FANGS_BEGIN_DECL

typedef struct fangs_sensor fangs_sensor;

/** Probe groups (fangs_sensor_options.probes). */
#define FANGS_SENSOR_PROBE_FILES 0x01u    /**< openat, openat2, open, creat */
#define FANGS_SENSOR_PROBE_PROCESS 0x02u  /**< exec, fork, exit (the process table) */
#define FANGS_SENSOR_PROBE_NET 0x04u      /**< connect; sendto/sendmsg/sendmmsg (UDP destinations, DNS, TLS) */
#define FANGS_SENSOR_PROBE_PAYLOAD 0x08u  /**< DNS and TLS ClientHello in write/writev */
#define FANGS_SENSOR_PROBE_IO_URING 0x10u /**< io_uring openat/openat2/connect (opens at completion, resolved) */
#define FANGS_SENSOR_PROBE_TLS_LIB 0x20u  /**< uprobes on SSL_ctrl (libssl, node) */
/** sys_exit of the open calls: an open is then reported at its exit with
 * the file it opened (real_path, ino, dev; an alias of a decoy is known by
 * its inode), and a path not paged in at entry is read again. Without it,
 * opens are reported at entry as written, with no identity, and such paths
 * are lost. The name stays for compatibility. */
#define FANGS_SENSOR_PROBE_FILES_RETRY 0x40u
/** ptrace, mount family, unshare/setns/clone with namespaces, signals to
 * processes outside the sender's tree, module and BPF loading, perf events. */
#define FANGS_SENSOR_PROBE_PRIVILEGED 0x80u
#define FANGS_SENSOR_PROBE_ALL 0xffu
/** Not in FANGS_SENSOR_PROBE_ALL: on kernels built without module support
 * (no tracepoints for init_module/finit_module), see those calls through
 * raw_syscalls/sys_enter, which runs for every system call of the host. */
#define FANGS_SENSOR_PROBE_MODULES_RAW 0x100u

/**
 * Called for every decoded event. `ev` and its strings are valid during the
 * call only (copy with fangs_event_copy() to keep it). Return 0 to go on; a
 * negative value stops fangs_sensor_poll(), which returns it.
 */
typedef int (*fangs_sensor_event_fn)(const fangs_event *ev, void *user);

typedef struct fangs_sensor_options {
	unsigned int version;
	/** Ring buffer size in bytes: a power of two, at least one page;
	 * 0 = 16 MiB. */
	size_t ringbuf_size;
	fangs_sensor_event_fn on_event;
	void *user;
	/** FANGS_SENSOR_PROBE_* bits; 0 = FANGS_SENSOR_PROBE_ALL. */
	unsigned int probes;
	/** NULL-terminated list of binaries whose SSL_ctrl gets a uprobe;
	 * NULL = the system's libssl and /usr/bin/node when present. */
	const char *const *tls_binaries;
	/**
	 * Wake-up batching: the kernel signals fangs_sensor_fd() at most once
	 * per `wakeup_ms` (and at once when a quarter of the ring buffer is
	 * full), so the observed processes do not pay a wake-up per event.
	 * Events of a burst may then wait unsignalled: fangs_sensor_poll()
	 * handles this itself, but an event loop waiting on fangs_sensor_fd()
	 * must wake at least every `wakeup_ms` and call fangs_sensor_poll(s, 0).
	 * 0 = 20 ms; FANGS_SENSOR_WAKEUP_EACH = signal every event.
	 */
	unsigned int wakeup_ms;
	/**
	 * Since version 2: event budget of one run: past it the kernel side counts
	 * events (fangs_sensor_run_stats.capped, included in `dropped`)
	 * instead of writing them. Process events (fork, exec, exit) are not
	 * counted against it. 0 = FANGS_SENSOR_DEFAULT_MAX_EVENTS;
	 * FANGS_SENSOR_UNLIMITED = no budget.
	 */
	uint64_t max_events_per_run;
	/**
	 * Since version 3: how system calls are traced (FANGS_SENSOR_SYSCALLS_*).
	 * FANGS_SENSOR_SYSCALLS_AUTO: the environment variable
	 * FANGS_SENSOR_SYSCALLS ("raw_tp", "tracepoints" or "auto") decides,
	 * else raw_tp with a fallback to the tracepoints when it does not load
	 * or attach. A forced mode that cannot run fails fangs_sensor_new().
	 * Both modes give the same events.
	 */
	unsigned int syscalls;
} fangs_sensor_options;

/** fangs_sensor_options.syscalls */
#define FANGS_SENSOR_SYSCALLS_AUTO 0u
/** One raw tracepoint on raw_syscalls/sys_enter and one on sys_exit,
 * dispatching by system call number: a handful of links per process. */
#define FANGS_SENSOR_SYSCALLS_RAW_TP 1u
/** One tracepoint per system call (syscalls/sys_enter_<name>, ...). */
#define FANGS_SENSOR_SYSCALLS_TRACEPOINTS 2u

#define FANGS_SENSOR_WAKEUP_EACH 0xffffffffu
#define FANGS_SENSOR_DEFAULT_MAX_EVENTS 200000u
#define FANGS_SENSOR_UNLIMITED UINT64_MAX

#define FANGS_SENSOR_OPTIONS_VERSION 3
#define FANGS_SENSOR_OPTIONS_INIT {FANGS_SENSOR_OPTIONS_VERSION, 0, NULL, NULL, 0, NULL, 0, 0, 0}

/** Initialises `opts` like FANGS_SENSOR_OPTIONS_INIT. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_sensor_options_init(fangs_sensor_options *opts, unsigned int version);

/** One probe and whether it is attached. */
typedef struct fangs_sensor_probe {
	const char *name; /**< "tracepoint/syscalls/sys_enter_openat", "uprobe/SSL_ctrl:/usr/bin/node" */
	const char
		*group; /**< "files", "files_retry", "process", "net", "payload", "io_uring", "tls_lib", "privileged" */
	int live;       /**< 1 attached, 0 not */
	const char *reason; /**< why not live ("" when live or not requested) */
} fangs_sensor_probe;

/** Per-run counters of the kernel side. */
typedef struct fangs_sensor_run_stats {
	uint64_t emitted; /**< events written to the ring buffer */
	uint64_t dropped; /**< events lost: the ring buffer was full, or the run's budget spent (`capped`) */
	/** Repeats of an identical event (same process, kind and value) past
	 * the first 8, counted and not written: nothing is lost but the count. */
	uint64_t folded;
	uint64_t capped; /**< of `dropped`: past the run's event budget */
} fangs_sensor_run_stats;

/**
 * Checks that this machine can run the sensor: privileges, kernel BTF,
 * tracefs (mounting it if needed), cgroup v2 and BPF ring buffers. Returns 0,
 * or FANGS_EPERM / FANGS_EUNSUPPORTED with a message in `why` (and in
 * fangs_error_last()) naming what is missing. `why` may be NULL.
 */
FANGS_EXTERN(int) fangs_sensor_check(char *why, size_t why_len);

/**
 * Loads and attaches the sensor. Fails with FANGS_EPERM / FANGS_EUNSUPPORTED
 * when the machine cannot run it (see fangs_sensor_check()), FANGS_ESENSOR
 * when the BPF object does not load. Probes that cannot attach do not make
 * it fail: they are listed by fangs_sensor_probes() with the reason, and
 * logged as warnings.
 */
FANGS_EXTERN(int) fangs_sensor_new(fangs_sensor **out, const fangs_sensor_options *opts);

/**
 * Starts loading the process's shared BPF object for these options in a
 * background thread and returns at once: a later fangs_sensor_new() with
 * the same load-time options waits for that load and shares it (and
 * reports its error, trying again, if it failed). Lets a front-end load
 * the sensor while it does other work (`fangs scan` during the prefetch).
 * 0, FANGS_EINVAL / FANGS_EVERSION for bad options, or what
 * fangs_sensor_check() says when this machine cannot run the sensor.
 */
FANGS_EXTERN(int) fangs_sensor_preload(const fangs_sensor_options *opts);

/**
 * Detaches and unloads this process's BPF objects that no handle uses any
 * more (they are otherwise kept until the process exits); the next
 * fangs_sensor_new() loads again. Returns how many were unloaded.
 */
FANGS_EXTERN(int) fangs_sensor_unload_idle(void);

/** Replaces the event callback (e.g. a sensor shared by successive scans). */
FANGS_EXTERN(int) fangs_sensor_set_callback(fangs_sensor *s, fangs_sensor_event_fn on_event, void *user);

/** Frees the handle: stops watching its runs. The shared BPF object stays
 * loaded and attached for the next handle of this process. NULL-safe. */
FANGS_EXTERN(void) fangs_sensor_free(fangs_sensor *s);

/**
 * Starts reporting the tasks of a cgroup-v2 directory and of its
 * descendants, tagging their events with `run_id`. `cgroup` is a path
 * (absolute, or relative to the cgroup-v2 mount) or a decimal cgroup id.
 * FANGS_EEXISTS if `run_id` is already watched, FANGS_EBUSY when 64 runs are
 * watched at once.
 */
FANGS_EXTERN(int) fangs_sensor_watch_cgroup(fangs_sensor *s, const char *cgroup, const char *run_id);

/** Stops reporting `run_id`; its counters stay readable. FANGS_ENOTFOUND if unknown. */
FANGS_EXTERN(int) fangs_sensor_unwatch(fangs_sensor *s, const char *run_id);

/** An fd that becomes readable when events wait (an epoll fd of this handle:
 * the shared ring buffer and the records routed to this handle by others);
 * for event loops. */
FANGS_EXTERN(int) fangs_sensor_fd(const fangs_sensor *s);

/**
 * Delivers the events already waiting; when there are none, waits up to
 * `timeout_ms` (0 = do not wait, -1 = until an event comes) and delivers
 * what came. Returns the number of events
 * delivered, or a negative code (the callback's, or FANGS_EIO; an EINTR wait
 * returns 0).
 */
FANGS_EXTERN(int) fangs_sensor_poll(fangs_sensor *s, int timeout_ms);

/**
 * Delivers every event the kernel had written when it was called (for a
 * run whose processes are all gone: the run's last events), without
 * waiting for a quiet period: it returns once the ring buffer's reader has
 * passed what was written then. Where the ring buffer's positions cannot
 * be read, it delivers until no event comes for `quiet_ms`. Returns the
 * number of events delivered, or a negative code as fangs_sensor_poll().
 */
FANGS_EXTERN(int) fangs_sensor_drain(fangs_sensor *s, int quiet_ms);

/** Counters of `run_id` (summed over CPUs). FANGS_ENOTFOUND if never watched. */
FANGS_EXTERN(int) fangs_sensor_stats(const fangs_sensor *s, const char *run_id, fangs_sensor_run_stats *out);

/**
 * The probes the sensor knows, requested or not: `*out` points to `*count`
 * entries owned by the sensor, valid until fangs_sensor_free().
 */
FANGS_EXTERN(int) fangs_sensor_probes(const fangs_sensor *s, const fangs_sensor_probe **out, size_t *count);

/**
 * How system calls are traced by `s`: "raw_tp" (raw_syscalls/sys_enter and
 * sys_exit, dispatching by number) or "tracepoints" (one per call). When
 * `why` is not NULL it gets why raw_tp is not in use ("" when it is). The
 * strings stay valid for the life of the process.
 */
FANGS_EXTERN(const char *) fangs_sensor_syscall_mode(const fangs_sensor *s, const char **why);

FANGS_END_DECL

#endif
