/*
 * fangs/sys/sandbox_backend.h - the API for sandbox implementers.
 *
 * The generic layer (fangs/sandbox.h) owns what every backend shares: the
 * run's work directory, its cgroups and limits, the command line, the
 * duration and grace clocks, the output tail and the final kill through the
 * cgroup. A backend only launches the command so that every process of it
 * is inside the run's cgroups before the command runs, says when the
 * command exited, and releases what it made.
 *
 * Every function returns 0 or a negative FANGS_E* code and sets the last
 * error (fangs_error_set) on failure. New members are only ever appended; a
 * backend built against an older version leaves them NULL.
 */
#ifndef FANGS_SYS_SANDBOX_BACKEND_H
#define FANGS_SYS_SANDBOX_BACKEND_H

#include "../sandbox.h"

FANGS_BEGIN_DECL

/* 2: the job carries the recording proxy of network mode proxy, which a
 * backend of version 2 starts or refuses (FANGS_EUNSUPPORTED), and the
 * import step (runs_import).
 * 3: the backend says where its own set-up ends (setup_in_cgroup) and
 * whether the run sees the host's file system (host_root). */
#define FANGS_SANDBOX_BACKEND_VERSION 3

/** Receives the command's stdout and stderr, in order, as it comes. */
typedef void (*fangs_sandbox_output_fn)(const char *data, size_t len, void *user);

/** One run, as the generic layer hands it to a backend. Paths are on the host
 * unless named "inside". Valid from start() to release(). */
typedef struct fangs_sandbox_job {
	unsigned int version;
	const char *run_id;
	const fangs_sandbox_options *opts; /**< every default already filled in */
	const char *work_dir;              /**< the run's directory, the backend may add to it */
	const char *home_dir;              /**< becomes HOME inside (holds the project) */
	const char *cache_dir;             /**< npm cache to mount read-only, or NULL */
	const char *home_inside;           /**< "/home/<user>" (ns), "/root" (docker) */
	const char *project_inside;        /**< "<home_inside>/app": the command's working directory */
	const char *cache_inside;          /**< where cache_dir appears inside */
	const char *const *argv;           /**< command, argv[0] looked up in PATH inside */
	const char *const *envp;           /**< the whole environment inside */
	const char *cgroup_v2;             /**< the run's cgroup-v2 directory */
	const char *const *cgroup_v1;      /**< cgroup-v1 directories to join too (hybrid hosts), NULL-terminated */
	const char *resolv_conf;           /**< file to show as /etc/resolv.conf */
	const char *hosts;                 /**< file to show as /etc/hosts */
	fangs_sandbox_output_fn output;
	void *output_user;
	/* version 2 */
	/** network proxy: the backend calls fangs_proxy_listen(proxy, <a pid
	 * in the run's network namespace>, proxy_addr, proxy_port, cgroup_v2)
	 * once that namespace exists, before the command runs. NULL otherwise. */
	fangs_proxy *proxy;
	const char *proxy_addr;
	uint16_t proxy_port;
	const char *hostname;           /**< the run's host name (opts->hostname or a random one) */
	const char *user;               /**< the account the command runs as; "root" = uid 0 */
	const char *etc_dir;            /**< host directory whose files (hostname, hosts, resolv.conf,
					        passwd, group) are shown over /etc's */
	const char *const *import_argv; /**< run after the command exits 0 (see fangs_sandbox_spec), or NULL */
	int64_t import_timeout_ms;      /**< its time limit, default already applied */
	int64_t start_ns;               /**< CLOCK_MONOTONIC when the run started: the duration limit counts from it */
} fangs_sandbox_job;

#define FANGS_SANDBOX_JOB_VERSION 2

typedef struct fangs_sandbox_backend fangs_sandbox_backend;

struct fangs_sandbox_backend {
	unsigned int version;
	const char *name;

	/** mandatory */
	void (*free)(fangs_sandbox_backend *b);

	/** mandatory: launches job->argv. Every process must be in job->cgroup_v2
	 * and each of job->cgroup_v1 before the command runs. `*handle` is the
	 * backend's state of this run. */
	int (*start)(fangs_sandbox_backend *b, const fangs_sandbox_job *job, void **handle);

	/** mandatory: does not block (beyond a few ms). Delivers pending output,
	 * then returns 1 and sets *wait_status (as waitpid(2) does) once the
	 * command has exited, 0 while it runs. Processes the command left behind
	 * are not its business: the generic layer watches the cgroup. */
	int (*poll)(fangs_sandbox_backend *b, void *handle, int *wait_status);

	/** mandatory: called after the generic layer killed everything in the
	 * cgroup; delivers the last output and frees what the backend made for
	 * the run (processes, mounts, network, containers) and the handle. */
	void (*release)(fangs_sandbox_backend *b, void *handle);

	/** optional: removes what the backend made for run_id (containers,
	 * network devices) when the scanner of that run was killed; adds the
	 * number of things removed to *removed. */
	int (*gc)(fangs_sandbox_backend *b, const char *run_id, int *removed);

	/** optional: processes the memory limit killed that the run's cgroup
	 * does not count (e.g. in a container's own cgroup, gone by now).
	 * Called after the kill, before release(). */
	int64_t (*oom_kills)(fangs_sandbox_backend *b, void *handle);

	/** version 2: nonzero when start() runs job->import_argv after the
	 * command; otherwise the generic layer says in the output that the
	 * import step was not run. */
	int runs_import;

	/** version 3: where the backend's own set-up ends, as the sensor sees
	 * the run. 0: every process enters job->cgroup_v2 (the cgroup the
	 * sensor watches) only once the backend's set-up is done, so whatever
	 * the sensor sees of the run is the command's (ns). Nonzero: the
	 * set-up runs inside job->cgroup_v2 before the command (docker: runc
	 * sets the container up there, re-executing itself through /dev/fd/N
	 * or /proc/self/exe, before the container's pid 1 execs the entry
	 * point); it then ends at the run's first exec of a program that is
	 * not such a re-exec (a path under /dev/fd/ or /proc/self/), and what
	 * comes before that exec is the backend's, not the command's: a scan
	 * neither stores nor counts it (fangs_sandbox_setup_in_cgroup()). */
	int setup_in_cgroup;

	/** version 3: nonzero when the run sees the host's own file system
	 * (its /usr with node, compilers and node's headers; ns), 0 when it
	 * runs in an image of its own (docker). Nonzero: the generic layer
	 * writes the run's passwd and group, points node-gyp at the host
	 * node's headers, shows the npm cache at npm's default place (~/.npm)
	 * and leaves npm's settings at their defaults. 0: the image's user
	 * (root) is the run's, the cache is mounted at a fixed place and npm
	 * is told where it and its logs are. */
	int host_root;
};

/** The namespace backend ("ns"). */
FANGS_EXTERN(int) fangs_sandbox_backend_ns_new(fangs_sandbox_backend **out, const fangs_sandbox_options *opts);

/** The Docker Engine API backend ("docker"): needs a daemon with the
 * cgroupfs cgroup driver and the image of scripts/build-sandbox-image. */
FANGS_EXTERN(int) fangs_sandbox_backend_docker_new(fangs_sandbox_backend **out, const fangs_sandbox_options *opts);

/** Makes a sandbox over a backend of one's own; the sandbox owns it (calls
 * b->free). `opts` NULL = defaults; opts->backend is ignored. */
FANGS_EXTERN(int) fangs_sandbox_wrap(fangs_sandbox **out, fangs_sandbox_backend *backend,
				     const fangs_sandbox_options *opts);

FANGS_END_DECL

#endif
