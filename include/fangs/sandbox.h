/*
 * fangs/sandbox.h - run `npm install` of an untrusted package, every
 * lifecycle script allowed, inside an unprivileged sandbox that lives in its
 * own cgroup.
 *
 * One API over two backends (see fangs/sys/sandbox_backend.h):
 *  - "ns" (default, no daemon): Linux namespaces (user, pid, mount, net,
 *    uts, ipc, cgroup), a read-only view of the host's /usr and /etc, a
 *    writable HOME with the project, a fresh /proc, a minimal /dev and a
 *    noexec /tmp.
 *  - "docker": a container made through the Docker Engine API.
 *
 * Either way, every process of the run is in the cgroup `fangs/<run_id>`
 * (cgroup v2, created before anything runs, so that an eBPF sensor can be
 * scoped to it), all capabilities are dropped, no_new_privs is set, and the
 * limits below apply. The flow:
 *
 *     fangs_sandbox *sb;
 *     fangs_sandbox_options opts = FANGS_SANDBOX_OPTIONS_INIT;
 *     fangs_sandbox_new(&sb, &opts);
 *     fangs_sandbox_gc(sb);                      // leftovers of killed scanners
 *
 *     fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
 *     spec.run_id = "r123"; spec.project_dir = prefetched; spec.cache_dir = cache;
 *     fangs_sandbox_run *run;
 *     fangs_sandbox_prepare(sb, &spec, &run);    // work dir + cgroup exist now
 *     sensor_watch(fangs_sandbox_cgroup_id(run));
 *     fangs_sandbox_start(run);
 *     fangs_sandbox_result res;
 *     fangs_sandbox_wait(run, &res);
 *     fangs_sandbox_result_clear(&res);
 *     fangs_sandbox_run_free(run);               // kills, unmounts, removes
 *     fangs_sandbox_free(sb);
 *
 * The sandbox needs root (or CAP_SYS_ADMIN) on the host to make cgroups.
 */
#ifndef FANGS_SANDBOX_H
#define FANGS_SANDBOX_H

#include "common.h"
#include "proxy.h"
#include "decoy.h"

FANGS_BEGIN_DECL

typedef struct fangs_sandbox fangs_sandbox;
typedef struct fangs_sandbox_run fangs_sandbox_run;

typedef enum fangs_sandbox_network {
	FANGS_SANDBOX_NET_NONE = 0,   /**< own network namespace with only lo up (default) */
	FANGS_SANDBOX_NET_BRIDGE = 1, /**< a veth pair and NAT: real egress (opt-in) */
	/** as none, plus a recording HTTP(S) proxy served from the host
	 * (fangs/proxy.h, spec.proxy): allowed download hosts only (ns backend) */
	FANGS_SANDBOX_NET_PROXY = 2
} fangs_sandbox_network;

/** "none", "bridge", "proxy". */
FANGS_EXTERN(const char *) fangs_sandbox_network_name(fangs_sandbox_network net);
/** Parses "none" / "bridge" / "proxy". 0 or FANGS_EINVAL. */
FANGS_EXTERN(int) fangs_sandbox_network_parse(const char *name, fangs_sandbox_network *out);

/** Resource limits. 0 in any field means the default shown. */
typedef struct fangs_sandbox_limits {
	int64_t memory_bytes; /**< 512 MiB for the processes; the run's cgroup memory limit is this
			           plus disk_bytes (HOME's files are in memory too) */
	int64_t pids;         /**< 256 (cgroup pids limit) */
	int64_t cpu_millis;   /**< 1000 = one CPU (CFS quota) */
	int64_t nofile;       /**< 1024 (RLIMIT_NOFILE) */
	int64_t nproc;        /**< 256 (RLIMIT_NPROC) */
	int64_t fsize_bytes;  /**< 256 MiB (RLIMIT_FSIZE) */
	int64_t tmp_bytes;    /**< 256 MiB (size of the /tmp tmpfs) */
} fangs_sandbox_limits;

typedef struct fangs_sandbox_options {
	unsigned int version;
	const char *backend; /**< "ns" (default) or "docker" */
	fangs_sandbox_network network;
	fangs_sandbox_limits limits;
	int64_t duration_ms;       /**< hard limit of a run; 0 = 180000. Then everything is killed. */
	int64_t grace_ms;          /**< after the install exits, how long to linger for stragglers
				           before ending a run whose cgroup is empty; 0 = 2000, <0 = none */
	const char *work_root;     /**< where run directories go; NULL = /var/lib/fangs/sandbox */
	const char *npm;           /**< npm command inside the sandbox; NULL = "npm" */
	int npm_major;             /**< npm's major version; 0 = ask the host's `npm --version` */
	const char *hostname;      /**< inside the sandbox; NULL = a plausible one, new every run */
	int64_t host_uid;          /**< ns: outside uid/gid of root inside; 0 = 100000 */
	const char *docker_socket; /**< docker: NULL = /var/run/docker.sock */
	const char *image;         /**< docker: image id or tag; NULL = "fangs-sandbox:latest" */
	const char *cgroup_root;   /**< NULL = /sys/fs/cgroup: where cgroup2 (or <root>/unified) and the
				           v1 controllers are looked for first among the mounts (layout
				           detected at run time, docs/sandbox.md) */
	/** Since version 2: size of the filesystem that holds HOME and the project (a
	 * tmpfs made on the host for the run); 0 = 1 GiB. Writing past it is
	 * ENOSPC; the cgroup memory limit grows by as much (files on a tmpfs
	 * are memory). */
	int64_t disk_bytes;
} fangs_sandbox_options;

#define FANGS_SANDBOX_OPTIONS_VERSION 2
#define FANGS_SANDBOX_OPTIONS_INIT \
	{FANGS_SANDBOX_OPTIONS_VERSION, \
	 NULL, \
	 FANGS_SANDBOX_NET_NONE, \
	 {0, 0, 0, 0, 0, 0, 0}, \
	 0, \
	 0, \
	 NULL, \
	 NULL, \
	 0, \
	 NULL, \
	 0, \
	 NULL, \
	 NULL, \
	 NULL, \
	 0}

/** Fills `opts` with the defaults of `version`. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_sandbox_options_init(fangs_sandbox_options *opts, unsigned int version);

/**
 * Makes a sandbox: checks the backend can work here (cgroup layout, user
 * namespaces or the docker socket, npm's version) and fails with a message
 * naming what is missing (FANGS_EUNSUPPORTED, FANGS_EPERM, FANGS_ESANDBOX).
 * `opts` NULL = defaults.
 */
FANGS_EXTERN(int) fangs_sandbox_new(fangs_sandbox **out, const fangs_sandbox_options *opts);
FANGS_EXTERN(void) fangs_sandbox_free(fangs_sandbox *sb);

/** "ns" or "docker". */
FANGS_EXTERN(const char *) fangs_sandbox_backend_name(const fangs_sandbox *sb);

/** Nonzero when the backend's own set-up runs inside the run's cgroup
 * before the command (fangs_sandbox_backend.setup_in_cgroup, docker):
 * what the sensor sees of a run before its first exec of a program that is
 * not a process re-executing itself (a path under /dev/fd/ or /proc/self/)
 * is then the backend's, not the command's. 0 when the sensor sees only
 * the command (ns, and backends older than version 3). */
FANGS_EXTERN(int) fangs_sandbox_setup_in_cgroup(const fangs_sandbox *sb);

/** The sandbox backend names fangs_sandbox_new() knows ("ns", "docker"),
 * NULL-terminated: what a command line, a configuration or a binding offers. */
FANGS_EXTERN(const char *const *) fangs_sandbox_backend_names(void);

/** 0 when `name` is a sandbox backend (fangs_sandbox_backend_names()), else
 * FANGS_EINVAL with "unknown sandbox backend 'x' (ns, docker)". */
FANGS_EXTERN(int) fangs_sandbox_backend_check(const char *name);

/**
 * Removes what runs of earlier, killed scanners left behind: for every run
 * directory under work_root that no live run holds (each run holds a lock
 * on its directory), its cgroups fangs/<run_id> (killing what is in them),
 * its container or network devices, and the directory. Runs of other work
 * roots are left alone. Call it at start. `removed` (may be NULL) counts
 * the things removed.
 */
FANGS_EXTERN(int) fangs_sandbox_gc(fangs_sandbox *sb, int *removed);

/** What to run. */
typedef struct fangs_sandbox_spec {
	unsigned int version;
	const char *run_id; /**< required; [A-Za-z0-9._-], at most 63 chars */
	/** npm install arguments (name@version, name, path of a .tgz) when there
	 * is no project_dir; the install then needs the network (bridge) unless
	 * every spec is a local tarball. */
	const char *const *specs;
	size_t nspecs;
	/** A project prepared by fangs_prefetch() (package.json, package-lock.json
	 * and local tarballs): the sandbox runs `npm install --offline` on a
	 * copy, which installs what the lockfile holds. */
	const char *project_dir;
	/** npm cache filled on the host (fangs_prefetch): its _cacache is
	 * mounted read-only in the sandbox's own, writable ~/.npm. */
	const char *cache_dir;
	/** Runs this command instead of npm (argv[0] looked up in PATH inside);
	 * NULL-terminated. For diagnostics and tests. */
	const char *const *argv;
	/** Extra environment, "NAME=value", NULL-terminated, or NULL. */
	const char *const *env;
	/** Since version 2. Network proxy: the proxy that serves the run (required
	 * then, ignored otherwise). The sandbox makes it listen inside the
	 * run's network namespace at start; the caller owns it, stops it
	 * after fangs_sandbox_wait() and takes its events. */
	fangs_proxy *proxy;
	/** Since version 2: the registry's URL, for the decoy ~/.npmrc (a token for
	 * that registry); NULL = npm's own configuration on the host. */
	const char *registry;
	/** Since version 2: the import step, run once the install exited with status
	 * 0, in the same sandbox (cgroup, HOME, network, environment) from the
	 * project directory: e.g. node requiring the installed package, as the
	 * code that depends on it would. NULL-terminated; NULL = none. Its
	 * output follows the install's between lines starting "[fangs] import:",
	 * the last of which tells how it ended; it never changes the run's exit
	 * status. A backend that cannot run it says so in the output. */
	const char *const *import_argv;
	/** Since version 2: the import step's time limit; 0 = 15000. The run's
	 * duration limit still applies: the step gets what is left of it, less
	 * a second, or is not run. */
	int64_t import_timeout_ms;
	/** Since version 3: with project_dir, `npm ci --offline` instead of `npm
	 * install --offline`: exactly what the lockfile pins, and an error when
	 * it is out of sync with package.json. */
	int lockfile_exact;
	/** Since version 3: run only the dependency install scripts that the
	 * project's package.json approves (allowScripts, npm 11's own rule):
	 * no --dangerously-allow-all-scripts. npm before 11 runs them all. */
	int approved_scripts_only;
} fangs_sandbox_spec;

#define FANGS_SANDBOX_SPEC_VERSION 3
#define FANGS_SANDBOX_SPEC_INIT \
	{FANGS_SANDBOX_SPEC_VERSION, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_sandbox_spec_init(fangs_sandbox_spec *opts, unsigned int version);

/** Default time limit of the import step. */
#define FANGS_SANDBOX_IMPORT_TIMEOUT_MS 15000

/**
 * Prepares a run: creates its work directory (HOME, a size-limited tmpfs,
 * with a lived-in developer's dotfiles and decoy credentials, the project),
 * and its cgroup fangs/<run_id> with the limits. Nothing runs
 * yet: hand fangs_sandbox_cgroup_path()/_id() to the sensor, then call
 * fangs_sandbox_start(). FANGS_EEXISTS when a run with this id exists.
 */
FANGS_EXTERN(int) fangs_sandbox_prepare(fangs_sandbox *sb, const fangs_sandbox_spec *spec, fangs_sandbox_run **out);

/**
 * The run's own network endpoints, as the differ takes them
 * (fangs_differ_options.infra): the resolvers its resolv.conf names
 * ("127.0.0.53:53" with no network; the host's with a bridge). Valid from
 * fangs_sandbox_prepare() until the run is freed; owned by the run.
 * Returns how many; `*out` (may be NULL) gets the array.
 */
FANGS_EXTERN(size_t) fangs_sandbox_infra(const fangs_sandbox_run *run, const char *const **out);

/** The run's cgroup-v2 directory (/sys/fs/cgroup[/unified]/fangs/<run_id>). */
FANGS_EXTERN(const char *) fangs_sandbox_cgroup_path(const fangs_sandbox_run *run);
/** The run's cgroup-v2 id, as bpf_get_current_cgroup_id() reports it. */
FANGS_EXTERN(uint64_t) fangs_sandbox_cgroup_id(const fangs_sandbox_run *run);
/** The run's host work directory. */
FANGS_EXTERN(const char *) fangs_sandbox_work_dir(const fangs_sandbox_run *run);
/** The host directory that is the project npm installs into. */
FANGS_EXTERN(const char *) fangs_sandbox_project_dir(const fangs_sandbox_run *run);

/**
 * Where the sandbox's processes reach the recording proxy of a run in
 * network mode proxy: an address inside the run's network namespace
 * (`*addr`, static storage) and a port, the same for every run. A connect
 * there is the sandbox's plumbing, not a destination of the package.
 * 0, or FANGS_ENOTFOUND when the run's network is not proxy.
 */
FANGS_EXTERN(int) fangs_sandbox_proxy_endpoint(const fangs_sandbox_run *run, const char **addr, uint16_t *port);

/**
 * A decoy credential's file: a file the sandbox planted in the run's HOME (and
 * the project's .env) before anything runs, for a package that goes for
 * secrets to show it. The sensor names a file by (dev, ino) as well as by
 * path, so every alias of a decoy (symlink, hard link, relative path,
 * /proc/self/root, a directory fd) is known to be it.
 */
typedef struct fangs_sandbox_decoy_file {
	const char *place; /**< its path as the sandbox's processes see it ("/root/.npmrc") */
	uint64_t dev;      /**< stat(2)'s st_dev */
	uint64_t ino;      /**< stat(2)'s st_ino */
} fangs_sandbox_decoy_file;

/**
 * The files of a prepared run's decoys (those fangs_sandbox_decoys() lists),
 * by identity, whatever their names and content. The array belongs to the run and lives
 * until fangs_sandbox_run_free(). 0 or a FANGS_E* code.
 */
FANGS_EXTERN(int) fangs_sandbox_decoy_files(const fangs_sandbox_run *run, const fangs_sandbox_decoy_file **out,
					    size_t *count);

/**
 * The decoy secrets planted for this run (new every run): where each lies
 * and its value, for fangs_decoy_matcher_new(). The list belongs to the run
 * and lives until fangs_sandbox_run_free(). 0 or FANGS_EINVAL.
 */
FANGS_EXTERN(int) fangs_sandbox_decoys(const fangs_sandbox_run *run, const fangs_decoy **decoys, size_t *n);

/** Starts the install. Once per run. */
FANGS_EXTERN(int) fangs_sandbox_start(fangs_sandbox_run *run);

/** How a run ended. Release with fangs_sandbox_result_clear(). */
typedef struct fangs_sandbox_result {
	int exited;          /**< the install command ended (not killed at the duration limit) */
	int exit_code;       /**< its exit status, 128+signal when killed by a signal, -1 if it never ended */
	int term_signal;     /**< the signal that ended it, or 0 */
	int timed_out;       /**< the duration limit was reached with processes still running */
	int64_t duration_ns; /**< from start to the end of the run */
	int processes_left;  /**< processes that were still in the cgroup when the run ended (then killed) */
	int64_t oom_kills;   /**< processes the memory limit killed */
	char *output;        /**< the last bytes of the install's stdout+stderr (NUL-terminated; a NUL
				  byte in the output is written as U+2400, three bytes) */
	size_t output_len;
	int output_truncated; /**< earlier output was dropped */
} fangs_sandbox_result;

/** Largest output tail kept in fangs_sandbox_result. */
#define FANGS_SANDBOX_OUTPUT_MAX (64 * 1024)

/**
 * Waits for the run to end: the install exited and, after the grace period,
 * no process is left in the cgroup; or the duration limit passed, and then
 * everything in the cgroup is killed (timed_out). Fills `result`.
 */
FANGS_EXTERN(int) fangs_sandbox_wait(fangs_sandbox_run *run, fangs_sandbox_result *result);

FANGS_EXTERN(void) fangs_sandbox_result_clear(fangs_sandbox_result *result);

/** Kills whatever is left in the run's cgroup and removes the cgroup, the
 * mounts, the work directory and the container. NULL-safe. */
FANGS_EXTERN(void) fangs_sandbox_run_free(fangs_sandbox_run *run);

FANGS_END_DECL

#endif
