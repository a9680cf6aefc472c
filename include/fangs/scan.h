/*
 * fangs/scan.h - one scan end to end on this machine: prefetch, sandbox,
 * sensor, storage, differ.
 *
 * fangs_scan() resolves and downloads the package's dependency tree on the
 * host (scripts disabled), installs it inside the sandbox with every
 * lifecycle script allowed while the eBPF sensor watches the sandbox's
 * cgroup, stores the run and its events, and judges it (fangs_analyze_run).
 * A scan that fails before the install starts (bad spec, missing package,
 * unreachable registry, corrupt tarball) leaves nothing in storage. An
 * install that fails inside the sandbox is not an error of fangs_scan(): it
 * returns 0 with the result's state FANGS_RUN_FAILED and its reason, and the
 * run is stored and judged (a failing install can still steal).
 */
#ifndef FANGS_SCAN_H
#define FANGS_SCAN_H

#include "analyze.h"
#include "common.h"
#include "config.h"
#include "project.h"
#include "storage.h"

FANGS_BEGIN_DECL

typedef enum fangs_scan_phase {
	FANGS_SCAN_PREFETCH = 0, /**< resolving and downloading on the host */
	FANGS_SCAN_PREPARE = 1,  /**< making the sandbox and attaching the sensor */
	FANGS_SCAN_INSTALL = 2,  /**< the install runs; events arrive */
	FANGS_SCAN_STORE = 3,    /**< storing the run and its events */
	FANGS_SCAN_ANALYZE = 4,  /**< diffing against the baseline */
	FANGS_SCAN_DONE = 5
} fangs_scan_phase;

FANGS_EXTERN(const char *) fangs_scan_phase_name(fangs_scan_phase phase);

/** Progress callback: called at each phase change and about every 250 ms
 * during the install with the number of events seen so far. */
typedef void (*fangs_scan_progress_fn)(fangs_scan_phase phase, uint64_t events, const char *detail, void *user);

/** Event sink: receives each event of the run while the install goes on
 * (on the thread that called fangs_scan). A nonzero return ends the scan
 * with that error. */
typedef int (*fangs_scan_event_fn)(const fangs_event *ev, void *user);

/** Options of fangs_scan(); `version` first (docs/abi.md): a field marked
 * "since version N" is read only from callers of version N or later. */
typedef struct fangs_scan_options {
	unsigned int version;
	fangs_storage *storage;      /**< required */
	const fangs_config *config;  /**< NULL = defaults */
	const char *sandbox;         /**< "ns" (default) or "docker" */
	const char *network;         /**< "none" (default), "proxy" (ns only; policy: config->proxy_*) or "bridge" */
	int64_t duration_ms;         /**< 0 = 180000 (the sandbox's default) */
	int64_t grace_ms;            /**< linger at least this long after the install exits; 0 = no
	                                    minimum: the run ends once no process is left in it */
	const char *registry;        /**< NULL = config, else npm's own configuration */
	const char *work_root;       /**< NULL = the sandbox's default */
	const char *image;           /**< docker image; NULL = the sandbox's default */
	const char *runner;          /**< recorded with the run; NULL = "local" */
	const char *cache_dir;       /**< host npm cache for prefetch; NULL = /var/cache/npm */
	struct fangs_sensor *sensor; /**< a loaded sensor to share across scans; NULL = load one */
	fangs_scan_progress_fn progress;
	void *user;
	const char *docker_socket; /**< since version 2: docker daemon socket; NULL = /var/run/docker.sock */
	/** Since version 3: streams the events to this sink instead of storing
	 * them: the run is then neither stored nor analysed here (storage may
	 * be NULL), and the result tells how it went (a remote orchestrator
	 * stores and judges). */
	fangs_scan_event_fn on_event;
	void *event_user;   /**< since version 3 */
	const char *run_id; /**< since version 3: the run's id (e.g. given by an orchestrator); NULL = a new one */
	/** Since version 4: called once, when the sandbox is prepared, with the run's
	 * decoy secrets (fangs_sandbox_decoys; borrowed for the call): a
	 * receiver of the events (on_event) judges what left the sandbox with
	 * them. A stored run is judged with them here. */
	void (*on_decoys)(const fangs_decoy *decoys, size_t n, void *user);
	void *decoys_user; /**< since version 4 */
	/** Since version 4: 1 = no import phase. Otherwise, when the configuration's
	 * scan.import allows it (the default), once the install succeeded the
	 * package is required (or import()ed) by node in the same sandbox and
	 * what that does is recorded as the run's import phase (events with
	 * phase "import", fingerprints with actor "import"). */
	int no_import;
	int64_t import_timeout_ms; /**< since version 4: the import step's limit; 0 = config, else 15000 */
} fangs_scan_options;

#define FANGS_SCAN_OPTIONS_VERSION 4
#define FANGS_SCAN_OPTIONS_INIT \
	{FANGS_SCAN_OPTIONS_VERSION, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 0, \
	 0, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 NULL, \
	 0, \
	 0}

/** Fills `opts` with the defaults of `version` (1..FANGS_SCAN_OPTIONS_VERSION),
 * writing only the fields that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_scan_options_init(fangs_scan_options *opts, unsigned int version);

typedef struct fangs_scan_result {
	char run_id[64];
	char *package; /**< the scanned package (from the spec) */
	char *version; /**< its resolved version */
	fangs_analysis analysis;
	uint64_t events_emitted;
	uint64_t events_dropped;
	int exit_code; /**< the install's exit status */
	int timed_out;
	int64_t duration_ns;
	char *install_output; /**< bounded tail of the install's output */
	/** How the install ended: FANGS_RUN_SUCCEEDED, FANGS_RUN_FAILED (npm
	 * exited non-zero, or was killed: a signal, the out-of-memory killer) or
	 * FANGS_RUN_TIMED_OUT. The run is stored and judged either way; a failed
	 * or timed-out one is kept out of the baseline. */
	fangs_run_state state;
	char *reason; /**< why it failed or timed out, e.g. "npm exited with status 1: <its last
	                             lines>"; NULL when it succeeded */
} fangs_scan_result;

FANGS_EXTERN(void) fangs_scan_result_clear(fangs_scan_result *r);

/**
 * Scans one package. `spec` is a registry spec, "name@version",
 * "name@range", "name@tag" or "name" (latest), checked by npm's rules
 * (fangs_package_spec_parse(): paths, URLs, git, file: and npm: specs are
 * refused with FANGS_EINVAL before anything runs); or an explicit local
 * path (fangs_package_spec_is_path(): "/...", "./...", "../...") of a .tgz
 * or of a package directory. The package npm installed must have a valid
 * name and a semver version, and be the one a registry spec named.
 */
FANGS_EXTERN(int) fangs_scan(const fangs_scan_options *opts, const char *spec, fangs_scan_result *out);

/**
 * Removes what scans killed on this host left behind (fangs_sandbox_gc:
 * their sandboxes' run directories, mounts, cgroups and containers), under
 * the work root and with the sandbox backend of `opts` (storage is not
 * used; opts NULL = the defaults). Live scans, of this process or another,
 * are left alone. `removed` (may be NULL) counts what was removed. Needs
 * root, as scans do.
 */
FANGS_EXTERN(int) fangs_scan_gc(const fangs_scan_options *opts, int *removed);

/* ---- npm projects ---------------------------------------------------------- */

typedef struct fangs_project_scan_options {
	unsigned int version;
	const char *dir; /**< the project: package.json and its lockfile; required */
	/** 1 = a missing or stale lockfile is resolved anew (npm install
	 * --package-lock-only) instead of failing (FANGS_ENOTFOUND / FANGS_EINVAL). */
	int resolve;
	/** The dependencies to judge, "name@version"; NULL = every dependency
	 * the lockfile says has install scripts (and any other whose scripts
	 * ran). */
	const char *const *judge;
	size_t n_judge;
	/** 1 = run only the install scripts of `judge` (npm 11's allowScripts
	 * in the sandbox's copy of package.json); 0 = every script runs
	 * (--dangerously-allow-all-scripts). */
	int judged_scripts_only;
} fangs_project_scan_options;

#define FANGS_PROJECT_SCAN_OPTIONS_VERSION 1
#define FANGS_PROJECT_SCAN_OPTIONS_INIT {FANGS_PROJECT_SCAN_OPTIONS_VERSION, NULL, 0, NULL, 0, 0}

/** Fills `opts` with the defaults of `version`. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_project_scan_options_init(fangs_project_scan_options *opts, unsigned int version);

/** One judged dependency of a project scan. */
typedef struct fangs_scan_dependency {
	char *name;
	char *version;
	size_t index;    /**< into fangs_project_scan_result.lock.packages; (size_t)-1 when not in it */
	char run_id[64]; /**< its run (package = name, version): what its scripts did */
	size_t n_events; /**< events its scripts caused */
	int ran;         /**< 1 = a script of it ran in the sandbox */
	int first_sight; /**< 1 = it had no baseline before this run */
	fangs_analysis analysis;
} fangs_scan_dependency;

typedef struct fangs_project_scan_result {
	/** The install as a whole: run_id names the sandbox run (not stored:
	 * each judged dependency has a run of its own), package and version
	 * are the project's (package.json; "project" and "0.0.0" when absent). */
	fangs_scan_result install;
	fangs_lockfile lock; /**< the lockfile installed */
	int resolved;        /**< 1 = the lockfile was resolved anew (resolve) */
	fangs_scan_dependency *deps;
	size_t n_deps;
} fangs_project_scan_result;

FANGS_EXTERN(void) fangs_project_scan_result_clear(fangs_project_scan_result *r);

/**
 * Scans an npm project as its lockfile pins it: the exact tarballs are
 * fetched on the host and checked against the lockfile's integrity (no
 * script runs there), then `npm ci --offline` installs them in one sandbox
 * run under the sensor. The events each dependency's install scripts
 * caused (the kernel's attribution: fangs_event.origin) are stored as a run
 * of that dependency (package = its name, version = its version) and judged
 * against its own baseline, the one single-package scans of it build and
 * use (fangs_analyze_run). `opts` as for fangs_scan() (no import phase).
 */
FANGS_EXTERN(int) fangs_scan_project(const fangs_scan_options *opts, const fangs_project_scan_options *popts,
				     fangs_project_scan_result *out);

FANGS_END_DECL

#endif
