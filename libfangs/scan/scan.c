/*
 * scan/scan.c - one run end to end: prefetch on the host, install in the
 * sandbox under the sensor, store, analyze.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/fsutil.h"
#include "fangs/cgroup.h"
#include "fangs/proxy.h"
#include "fangs/registry.h"
#include "fangs/sandbox.h"
#include "fangs/scan.h"
#include "fangs/sensor.h"
#include "fangs/sys/storage_backend.h"
#include "fangs/text.h"
#include "scan/internal.h"
#include "scan/project.h"

/* its path shows in the sandbox's mount table (a bind of its _cacache): a
 * neutral one */
#define DEFAULT_CACHE "/var/cache/npm"
#define DEFAULT_PREFETCH_ROOT "/var/lib/fangs/prefetch"

const char *fangs_scan_phase_name(fangs_scan_phase phase)
{
	static const char *const names[] = {"prefetch", "prepare", "install", "store", "analyze", "done"};
	_Static_assert(FANGS_ARRAY_SIZE(names) == FANGS_SCAN_DONE + 1, "a name per scan phase");
	if ((unsigned)phase >= FANGS_ARRAY_SIZE(names))
		return "unknown";
	return names[phase];
}

void fangs_scan_result_clear(fangs_scan_result *r)
{
	if (!r)
		return;
	free(r->package);
	free(r->version);
	free(r->install_output);
	free(r->reason);
	fangs_analysis_clear(&r->analysis);
	memset(r, 0, sizeof(*r));
}

/* Who connected to the sandbox's proxy, as the sensor saw it: the
 * attribution (ancestry, package, script) that proxy_request events of
 * that process take on. */
typedef struct proxy_client {
	int32_t pid;
	fangs_event connect;
} proxy_client;

typedef struct scan_state {
	const fangs_scan_options *opts;
	const char *run_id;
	/* network proxy */
	const char *proxy_addr;
	uint16_t proxy_port;
	proxy_client *clients;
	size_t n_clients;
	fangs_event_list events;
	uint64_t n_events;
	int oom;
	int sink_rc;                                 /* what the event sink answered, when it asked to stop */
	const fangs_sandbox_decoy_file *decoy_files; /* the run's bait, by identity */
	size_t n_decoy_files;
	/* the waiter thread */
	pthread_t waiter;
	fangs_sandbox_run *run;
	fangs_sandbox_result result;
	int wait_rc;
	/* the backend's set-up runs in the run's cgroup (fangs_sandbox_setup_in_cgroup,
	 * docker) and the command's entry point has not been exec'ed yet */
	int before_entry;
	uint64_t n_setup;           /* the set-up's events before it, left out */
	fangs_error_state wait_err; /* the waiter's error, for the scanning thread */
	volatile int done;
	/* the import phase */
	fangs__import_tracker import;
	const char *package, *version; /* the scanned package: the origin of import events */
	char *import_command;
} scan_state;

static void progress(const scan_state *s, fangs_scan_phase phase, const char *detail)
{
	if (s->opts->progress)
		s->opts->progress(phase, s->n_events, detail, s->opts->user);
}

static void remember_proxy_client(scan_state *s, const fangs_event *ev)
{
	proxy_client *grown;
	for (size_t i = 0; i < s->n_clients; i++)
		if (s->clients[i].pid == ev->pid) {
			fangs_event_clear(&s->clients[i].connect);
			if (fangs_event_copy(&s->clients[i].connect, ev) < 0)
				s->clients[i].pid = 0;
			return;
		}
	if (!(grown = realloc(s->clients, (s->n_clients + 1) * sizeof(*grown))))
		return; /* the event keeps the proxy's own attribution */
	s->clients = grown;
	if (fangs_event_copy(&grown[s->n_clients].connect, ev) == 0)
		grown[s->n_clients++].pid = ev->pid;
}

/* The decoy a file open reached, by the file's identity: whatever path the
 * caller wrote (a link, a relative path, /proc/self/root...), it read the
 * bait. */
static const char *decoy_of(const scan_state *s, const fangs_event *ev)
{
	if (ev->kind != FANGS_EV_FILE_OPEN || !ev->ino || ev->decoy)
		return NULL;
	for (size_t i = 0; i < s->n_decoy_files; i++)
		if (s->decoy_files[i].ino == ev->ino && s->decoy_files[i].dev == ev->dev)
			return s->decoy_files[i].place;
	return NULL;
}

static int on_event(const fangs_event *in, void *user)
{
	scan_state *s = user;
	fangs_event *slot, marked;
	const fangs_event *ev = in;
	const char *decoy;
	if (!in->run_id || strcmp(in->run_id, s->run_id) != 0)
		return 0;
	/* A backend whose set-up runs inside the run's cgroup (docker: runc
	 * sets the container up there, and may re-exec itself through
	 * /dev/fd/N, depending on when it joins the cgroup) says so
	 * (fangs_sandbox_setup_in_cgroup). Nothing of the package can run
	 * before the entry point's exec, so what comes before it is the
	 * backend's; the first exec that is not a process re-executing itself
	 * ends the set-up. */
	if (s->before_entry) {
		if (in->kind != FANGS_EV_EXEC || !in->path || !strncmp(in->path, "/dev/fd/", 8) ||
		    !strncmp(in->path, "/proc/self/", 11)) {
			s->n_setup++;
			return 0;
		}
		s->before_entry = 0;
	}
	if (s->proxy_addr && ev->kind == FANGS_EV_NET_CONNECT && ev->port == s->proxy_port && ev->addr &&
	    strcmp(ev->addr, s->proxy_addr) == 0)
		remember_proxy_client(s, ev);
	s->n_events++;
	if ((decoy = decoy_of(s, in))) {
		marked = *in; /* a shallow copy: its strings stay borrowed */
		marked.decoy = (char *)decoy;
		ev = &marked;
	}
	if (s->package && fangs__import_phase(&s->import, ev) == FANGS_PHASE_IMPORT) {
		/* the package's own code, run by requiring it */
		if (ev != &marked)
			marked = *ev;
		marked.phase = FANGS_PHASE_IMPORT;
		if (!marked.origin.package && !marked.origin.script) {
			marked.origin.package = (char *)s->package;
			marked.origin.version = (char *)s->version;
			marked.origin.script = (char *)"import";
			marked.origin.command = s->import_command;
		}
		ev = &marked;
	}
	if (s->opts->on_event) {
		int rc = s->opts->on_event(ev, s->opts->event_user);
		if (rc && !s->sink_rc)
			s->sink_rc = rc;
		return rc;
	}
	slot = fangs_event_list_push(&s->events);
	if (!slot || fangs_event_copy(slot, ev)) {
		if (slot)
			s->events.count--;
		s->oom = 1;
		return FANGS_ENOMEM;
	}
	return 0;
}

static int dup_into(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? fangs__strdup(src) : NULL;
	return src && !*dst ? FANGS_ENOMEM : 0;
}

/* A proxy_request takes the attribution the sensor gave its process. */
static int adopt_attribution(fangs_event *ev, const fangs_event *from)
{
	int rc = 0;
	ev->ppid = from->ppid;
	ev->uid = from->uid;
	rc |= dup_into(&ev->comm, from->comm);
	for (size_t i = 0; i < ev->n_ancestry; i++) {
		free(ev->ancestry[i].comm);
		free(ev->ancestry[i].exe);
	}
	memset(ev->ancestry, 0, sizeof(ev->ancestry));
	ev->n_ancestry = 0;
	for (size_t i = 0; i < from->n_ancestry && i < FANGS_ANCESTRY_MAX; i++) {
		ev->ancestry[i].pid = from->ancestry[i].pid;
		rc |= dup_into(&ev->ancestry[i].comm, from->ancestry[i].comm);
		rc |= dup_into(&ev->ancestry[i].exe, from->ancestry[i].exe);
		ev->n_ancestry = i + 1;
	}
	rc |= dup_into(&ev->origin.package, from->origin.package);
	rc |= dup_into(&ev->origin.version, from->origin.version);
	rc |= dup_into(&ev->origin.script, from->origin.script);
	rc |= dup_into(&ev->origin.command, from->origin.command);
	return rc ? FANGS_ENOMEM : 0;
}

/* The proxy's requests join the run's events, after the sensor's (the
 * sensor saw each client's connect to the proxy by then). */
static int add_proxy_events(scan_state *s, fangs_proxy *px)
{
	fangs_event_list got = {0};
	int rc = fangs_proxy_take_events(px, &got);
	for (size_t i = 0; rc == 0 && i < got.count; i++) {
		fangs_event *ev = &got.items[i];
		for (size_t c = 0; c < s->n_clients; c++)
			if (s->clients[c].pid && s->clients[c].pid == ev->pid) {
				rc = adopt_attribution(ev, &s->clients[c].connect);
				break;
			}
		if (rc == 0 && !(ev->run_id = fangs__strdup(s->run_id)))
			rc = FANGS_ENOMEM;
		if (rc == 0 && (rc = on_event(ev, s)) != 0 && !s->sink_rc && !s->oom)
			rc = 0; /* the sink's answer is handled as for the sensor's events */
	}
	fangs_event_list_free(&got);
	return rc;
}

/* The proxy of a run in network mode proxy, its policy from the
 * configuration: the built-in download hosts, proxy.allow_hosts, the
 * package's proxy.packages entry, and the registry (its URL; NULL =
 * unknown). */
static int make_proxy(fangs_proxy **out, const fangs_config *cfg, const char *reg, const char *package)
{
	fangs_proxy_options o = FANGS_PROXY_OPTIONS_INIT;
	const char **hosts;
	size_t n = 0, cap = 1;
	int rc;
	if (cfg) {
		cap += cfg->n_proxy_allow_hosts;
		for (size_t i = 0; i < cfg->n_proxy_packages; i++)
			cap += cfg->proxy_packages[i].n_hosts;
	}
	if (!(hosts = calloc(cap, sizeof(*hosts))))
		return fangs__error_oom();
	if (cfg) {
		for (size_t i = 0; i < cfg->n_proxy_allow_hosts; i++)
			hosts[n++] = cfg->proxy_allow_hosts[i];
		for (size_t i = 0; i < cfg->n_proxy_packages; i++)
			if (package && strcmp(cfg->proxy_packages[i].package, package) == 0)
				for (size_t h = 0; h < cfg->proxy_packages[i].n_hosts; h++)
					hosts[n++] = cfg->proxy_packages[i].hosts[h];
		o.no_builtin_hosts = !cfg->proxy_builtin_hosts;
	}
	o.allow_hosts = hosts;
	o.registry = reg;
	if (!reg)
		fangs_warn("proxy: the registry is unknown: the sandbox cannot reach it through the proxy");
	rc = fangs_proxy_new(out, &o);
	free(hosts);
	return rc;
}

static void *wait_thread(void *arg)
{
	scan_state *s = arg;
	s->wait_rc = fangs_sandbox_wait(s->run, &s->result);
	if (s->wait_rc)
		fangs_error_state_capture(&s->wait_err, s->wait_rc);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The registry the prefetch used, as a URL: the one given, else npm's own
 * setting. Unknown leaves `out` empty. */
static void registry_url(const char *registry, char *out, size_t cap)
{
	if (registry)
		snprintf(out, cap, "%s", registry);
	else
		fangs_registry_configured(NULL, out, cap);
}

static int resolved_package(const char *project_dir, char **name, char **version)
{
	char path[4300];
	json_object *lock, *pkgs, *root, *deps, *entry, *ver;
	struct json_object_iterator it, end;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/package-lock.json", project_dir);
	lock = json_object_from_file(path);
	if (!lock)
		return fangs_error_set(FANGS_EPARSE, "%s: cannot read the lockfile npm wrote", path);
	if (!json_object_object_get_ex(lock, "packages", &pkgs) || !json_object_object_get_ex(pkgs, "", &root) ||
	    !json_object_object_get_ex(root, "dependencies", &deps) || json_object_object_length(deps) < 1) {
		json_object_put(lock);
		return fangs_error_set(FANGS_EPARSE, "%s: no top-level dependency", path);
	}
	it = json_object_iter_begin(deps);
	end = json_object_iter_end(deps);
	if (!json_object_iter_equal(&it, &end)) {
		const char *n = json_object_iter_peek_name(&it);
		char key[1024];
		snprintf(key, sizeof(key), "node_modules/%s", n);
		/* a local package names itself: its name and version are checked
		 * as a registry's would be before they are stored or shown */
		if (fangs_package_name_check(n, NULL)) {
			rc = fangs_error_set(FANGS_EINVAL, "the package npm installed: %s", fangs_error_last());
		} else if (!json_object_object_get_ex(pkgs, key, &entry) ||
			   !json_object_object_get_ex(entry, "version", &ver) ||
			   !json_object_is_type(ver, json_type_string) ||
			   !fangs__version_is_exact(json_object_get_string(ver))) {
			char q[300];
			fangs_text_escape(q, sizeof(q), n, strlen(n));
			rc = fangs_error_set(FANGS_EINVAL, "npm resolved no semver version for %s", q);
		} else {
			*name = fangs__strdup(n);
			*version = fangs__strdup(json_object_get_string(ver));
			if (!*name || !*version)
				rc = FANGS_ENOMEM;
		}
	}
	json_object_put(lock);
	if (rc) {
		free(*name);
		free(*version);
		*name = *version = NULL;
	}
	return rc;
}

/* npm's major version, asked once per process: `npm --version` costs a
 * node start-up (0.2 s) and the sandbox needs it for every run. */
static pthread_mutex_t prefetch_lock = PTHREAD_MUTEX_INITIALIZER;

static int npm_major_cached(void)
{
	static int major;
	int m = __atomic_load_n(&major, __ATOMIC_RELAXED);
	if (m <= 0) {
		m = fangs__npm_major("npm");
		__atomic_store_n(&major, m, __ATOMIC_RELAXED);
	}
	return m > 0 ? m : 0;
}

/* The import phase runs unless the caller or the configuration turned it off. */
static bool import_wanted(const fangs_scan_options *opts)
{
	if (opts->no_import)
		return false;
	return !opts->config || opts->config->scan_import;
}

static int store_failed_run(fangs_storage *st, fangs_run *run, const char *why)
{
	run->state = FANGS_RUN_FAILED;
	free(run->error);
	run->error = fangs__strdup(why);
	return fangs_storage_run_update(st, run);
}

/* One scan's state across its phases (scan_impl). */
typedef struct scan_job {
	const fangs_scan_options *opts;
	const char *spec;
	const fangs_project_scan_options *pj;
	fangs_project_scan_result *pout;
	fangs_scan_result *out;
	scan_state s;
	fangs_prefetch_options po;
	fangs_prefetch_result pr;
	fangs_sandbox_options so;
	fangs_sandbox_spec ss;
	fangs_sensor_options seo;
	fangs_sandbox *sb;
	fangs_proxy *proxy;
	fangs_sensor *sensor, *own_sensor;
	fangs_differ *differ;
	fangs_differ_options dopts;
	fangs_analyze_options ao;
	char host[256], registry[1024];
	const fangs_decoy *decoys;
	size_t n_decoys;
	char **reg_addrs;
	size_t n_reg_addrs;
	fangs_sensor_run_stats stats;
	fangs_run run;
	char prefetch_dir[4096], project_dir[4200], detail[512], reason[1400];
	const char *specs[1], *import_argv[6];
	char import_end[256];
	char sandbox_id[64]; /* the run id and a suffix new every attempt */
	int prefetch_fd;
	char abs_spec[4096];
	char *want_name, *want_version, *canonical;
	int watching, thread_started, run_stored;
	int64_t started_ns, last_progress;
	pthread_t registry_asker; /* `npm config get registry`, beside the prefetch */
	int registry_asking;
} scan_job;

static void *ask_registry(void *arg)
{
	scan_job *j = arg;
	registry_url(j->po.registry, j->registry, sizeof(j->registry));
	return NULL;
}

/* The registry the run's decoy ~/.npmrc and its rules name. Unless given,
 * npm is asked (`npm config get registry`, a node start-up) while the
 * prefetch runs, not after it. */
static void registry_ask(scan_job *j)
{
	if (j->po.registry)
		registry_url(j->po.registry, j->registry, sizeof(j->registry));
	else if (pthread_create(&j->registry_asker, NULL, ask_registry, j) == 0)
		j->registry_asking = 1;
	else
		registry_url(NULL, j->registry, sizeof(j->registry));
}

static void registry_known(scan_job *j)
{
	if (j->registry_asking) {
		pthread_join(j->registry_asker, NULL);
		j->registry_asking = 0;
	}
}

/* 1. Prefetch on the host into a locked directory of its own: nothing is
 * stored if this fails. */
static int scan_prefetch(scan_job *j)
{
	int rc;

	/* 1. prefetch on the host: nothing is stored if this fails */
	snprintf(j->detail, sizeof(j->detail), "resolving %s", j->spec);
	progress(&j->s, FANGS_SCAN_PREFETCH, j->detail);
	/* unique per attempt: a run given again (its first runner lost) may find
	 * the first attempt's directory on this host */
	if ((rc = fangs__mkdir_p(DEFAULT_PREFETCH_ROOT, 0755)) < 0 ||
	    (rc = fangs__mkdir_p(j->opts->cache_dir ? j->opts->cache_dir : DEFAULT_CACHE, 0755)) < 0)
		return rc;
	/* made under a hidden name and locked before it gets its own: a gc
	 * (fangs_scan_gc) removes only unlocked ones, those of killed scans */
	snprintf(j->prefetch_dir, sizeof(j->prefetch_dir), "%s/.%s.XXXXXX", DEFAULT_PREFETCH_ROOT, j->out->run_id);
	if (!mkdtemp(j->prefetch_dir)) {
		rc = fangs__error_errno(FANGS_EIO, "creating the prefetch directory");
		j->prefetch_dir[0] = '\0';
		return rc;
	}
	{
		char named[sizeof(j->prefetch_dir)];
		char *base = strrchr(j->prefetch_dir, '/') + 1;
		snprintf(named, sizeof(named), "%.*s%s", (int)(base - j->prefetch_dir), j->prefetch_dir, base + 1);
		if ((j->prefetch_fd = open(j->prefetch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    flock(j->prefetch_fd, LOCK_EX) < 0 || rename(j->prefetch_dir, named) < 0) {
			rc = fangs__error_errno(FANGS_EIO, "locking the prefetch directory");
			return rc;
		}
		memcpy(j->prefetch_dir, named, sizeof(named));
	}
	chmod(j->prefetch_dir, 0755);
	snprintf(j->project_dir, sizeof(j->project_dir), "%s/project", j->prefetch_dir);
	/* npm runs in another directory: a relative path is made absolute */
	if (j->canonical)
		j->specs[0] = j->canonical;
	else if (j->spec[0] != '/' && realpath(j->spec, j->abs_spec))
		j->specs[0] = j->abs_spec;
	else
		j->specs[0] = j->spec;
	j->po.specs = j->specs;
	j->po.nspecs = 1;
	if (j->pj) {
		j->po.specs = NULL;
		j->po.nspecs = 0;
		j->po.project = j->pj->dir;
		j->po.resolve = j->pj->resolve;
	}
	j->po.registry = j->opts->registry ? j->opts->registry : (j->opts->config ? j->opts->config->registry : NULL);
	j->po.cache_dir = j->opts->cache_dir ? j->opts->cache_dir : DEFAULT_CACHE;
	j->po.project_dir = j->project_dir;
	registry_ask(j);
	/* one npm at a time on the shared host cache: scans of one process
	 * (a runner's) may run side by side, their prefetches need not */
	pthread_mutex_lock(&prefetch_lock);
	rc = fangs_prefetch(&j->po, &j->pr);
	pthread_mutex_unlock(&prefetch_lock);
	if (rc)
		return rc;
	if (j->pj) {
		if ((rc = fangs__project_prepared(j->project_dir, j->pj, j->pr.resolved, j->pout)))
			return rc;
	} else if ((rc = resolved_package(j->project_dir, &j->out->package, &j->out->version)))
		return rc;
	if (j->want_name && strcmp(j->want_name, j->out->package) != 0) {
		rc = fangs_error_set(FANGS_EINVAL, "npm installed %s, not the package asked for", j->out->package);
		return rc;
	}
	return 0;
}

/* 2. The sandbox, the sensor (and the proxy), the decoys; the run row
 * exists from here on, and the sensor watches the run's cgroup. */
static int scan_prepare(scan_job *j)
{
	int rc;

	/* 2. sandbox + sensor */
	snprintf(j->detail, sizeof(j->detail), "%s@%s", j->out->package, j->out->version);
	progress(&j->s, FANGS_SCAN_PREPARE, j->detail);
	j->so.backend = j->opts->sandbox;
	if (j->opts->network && (rc = fangs_sandbox_network_parse(j->opts->network, &j->so.network)))
		return rc;
	j->so.duration_ms = j->opts->duration_ms;
	j->so.limits.memory_bytes = FANGS__SCAN_MEMORY_BYTES;
	/* The run ends when the install has exited and its cgroup is empty: a
	 * process it left behind keeps the cgroup, and the run, open until the
	 * duration limit. Lingering past an empty cgroup can see nothing more
	 * and cost every scan two seconds. */
	j->so.grace_ms = j->opts->grace_ms ? j->opts->grace_ms : -1;
	j->so.npm_major = npm_major_cached();
	j->so.work_root = j->opts->work_root;
	j->so.image = j->opts->image;
	j->so.docker_socket = j->opts->docker_socket;
	if ((rc = fangs_sandbox_new(&j->sb, &j->so)))
		return rc;
	j->s.before_entry = fangs_sandbox_setup_in_cgroup(j->sb);
	if (j->opts->sensor) {
		j->sensor = j->opts->sensor;
		fangs_sensor_set_callback(j->sensor, on_event, &j->s);
	} else {
		j->seo.on_event = on_event;
		j->seo.user = &j->s;
		if ((rc = fangs_sensor_new(&j->own_sensor, &j->seo)))
			return rc;
		j->sensor = j->own_sensor;
	}
	fangs_debug("sensor: system calls through %s", fangs_sensor_syscall_mode(j->sensor, NULL));
	/* a sandbox of its own per attempt: a run given again (its first
	 * runner was killed) may find the first attempt's directory and
	 * cgroups on this host, until fangs_sandbox_gc() removes them */
	{
		unsigned char rnd[4];
		size_t keep = strlen(j->out->run_id);
		if ((rc = fangs__random(rnd, sizeof(rnd))))
			return rc;
		if (keep > sizeof(j->sandbox_id) - 10)
			keep = sizeof(j->sandbox_id) - 10;
		snprintf(j->sandbox_id, sizeof(j->sandbox_id), "%.*s.%02x%02x%02x%02x", (int)keep, j->out->run_id,
			 rnd[0], rnd[1], rnd[2], rnd[3]);
	}
	j->ss.run_id = j->sandbox_id;
	j->ss.project_dir = j->project_dir;
	j->ss.cache_dir = j->po.cache_dir;
	j->ss.lockfile_exact = j->pj != NULL;
	j->ss.approved_scripts_only = j->pj && j->pj->judged_scripts_only;
	if (!j->pj && import_wanted(j->opts)) {
		fangs__import_argv(j->import_argv, j->out->package);
		j->ss.import_argv = j->import_argv;
		j->ss.import_timeout_ms = j->opts->import_timeout_ms > 0 ? j->opts->import_timeout_ms
					  : j->opts->config && j->opts->config->scan_import_timeout_s
						  ? (int64_t)j->opts->config->scan_import_timeout_s * 1000
						  : 0;
		j->s.package = j->out->package;
		j->s.version = j->out->version;
		if (!(j->s.import_command = fangs__asprintf("require('%s')", j->out->package))) {
			rc = FANGS_ENOMEM;
			return rc;
		}
	}
	/* the registry the decoy ~/.npmrc holds a token for, the proxy's and the rules' */
	registry_known(j);
	j->ss.registry = j->registry[0] ? j->registry : NULL;
	if (j->so.network == FANGS_SANDBOX_NET_PROXY) {
		if ((rc = make_proxy(&j->proxy, j->opts->config, j->ss.registry, j->pj ? NULL : j->out->package)))
			return rc;
		j->ss.proxy = j->proxy;
	}
	if ((rc = fangs_sandbox_prepare(j->sb, &j->ss, &j->s.run)) ||
	    (rc = fangs_sandbox_decoy_files(j->s.run, &j->s.decoy_files, &j->s.n_decoy_files)) ||
	    (rc = fangs_sandbox_decoys(j->s.run, &j->decoys, &j->n_decoys)))
		return rc;
	if (j->proxy && (rc = fangs_sandbox_proxy_endpoint(j->s.run, &j->s.proxy_addr, &j->s.proxy_port)))
		return rc;
	if (j->opts->on_decoys)
		j->opts->on_decoys(j->decoys, j->n_decoys, j->opts->decoys_user);

	/* the run row exists from here on: a failure is recorded, not lost */
	memcpy(j->run.id, j->out->run_id, sizeof(j->run.id));
	j->run.package = fangs__strdup(j->out->package);
	j->run.version = fangs__strdup(j->out->version);
	j->run.state = FANGS_RUN_RUNNING;
	j->run.runner = fangs__strdup(j->opts->runner ? j->opts->runner : "local");
	j->run.sandbox = fangs__strdup(fangs_sandbox_backend_name(j->sb));
	j->run.network = fangs__strdup(j->opts->network ? j->opts->network : "none");
	if (!j->run.package || !j->run.version || !j->run.runner || !j->run.sandbox || !j->run.network) {
		rc = FANGS_ENOMEM;
		return rc;
	}
	if (!j->opts->on_event && !j->pj) {
		if ((rc = fangs_storage_run_create(j->opts->storage, &j->run)))
			return rc;
		j->run_stored = 1;
	}

	/* the sensor's callback is per sensor: a shared one needs ours for this run */
	if ((rc = fangs_sensor_watch_cgroup(j->sensor, fangs_sandbox_cgroup_path(j->s.run), j->out->run_id)))
		return rc;
	j->watching = 1;
	return 0;
}

/* 3. The install (and the import step) with the sensor's events collected
 * until the sandbox's cgroup is empty; the proxy's requests join them. */
static int scan_install(scan_job *j)
{
	int rc;

	/* 3. install */
	progress(&j->s, FANGS_SCAN_INSTALL, j->pj ? "npm ci" : "npm install");
	j->started_ns = fangs__now_ns();
	if ((rc = fangs_sandbox_start(j->s.run)))
		return rc;
	if (pthread_create(&j->s.waiter, NULL, wait_thread, &j->s)) {
		rc = fangs_error_set(FANGS_EIO, "cannot start a thread");
		return rc;
	}
	j->thread_started = 1;
	/* the waiter's end is seen within 10 ms (a poll of 100 ms, with no
	 * event to end it, held each scan 50 ms on average past the install) */
	while (!__atomic_load_n(&j->s.done, __ATOMIC_ACQUIRE)) {
		int n = fangs_sensor_poll(j->sensor, 10);
		if (n < 0 && n != FANGS_ENOMEM) {
			rc = n;
			return rc;
		}
		if (fangs__monotonic_ns() - j->last_progress > 250000000LL) {
			j->last_progress = fangs__monotonic_ns();
			progress(&j->s, FANGS_SCAN_INSTALL, j->pj ? "npm ci" : "npm install");
		}
	}
	pthread_join(j->s.waiter, NULL);
	j->thread_started = 0;
	/* what the kernel wrote before the cgroup emptied is still in the ring:
	 * read up to where the kernel had written (not until 50 ms of quiet) */
	(void)fangs_sensor_drain(j->sensor, 50);
	if (j->proxy) {
		/* every client is gone: this ends what is left and waits */
		fangs_proxy_stop(j->proxy);
		if ((rc = add_proxy_events(&j->s, j->proxy)) && !j->s.sink_rc && !j->s.oom)
			return rc;
	}
	if (j->s.oom || j->s.import.oom)
		return fangs_error_set(FANGS_ENOMEM, "out of memory while collecting events");
	if (j->s.sink_rc)
		return fangs_error_set(j->s.sink_rc, "the event sink stopped the scan");
	if (j->s.wait_rc)
		return fangs_error_state_restore(&j->s.wait_err);
	fangs_sensor_stats(j->sensor, j->out->run_id, &j->stats);
	/* the backend's set-up is not the run's: neither stored nor counted */
	j->stats.emitted = j->stats.emitted > j->s.n_setup ? j->stats.emitted - j->s.n_setup : 0;
	fangs_sensor_unwatch(j->sensor, j->out->run_id);
	j->watching = 0;
	return 0;
}

/* 4. The run's outcome and its events, stored (or, streamed, only the
 * result). */
static int scan_store(scan_job *j)
{
	int rc;

	/* 4. store */
	progress(&j->s, FANGS_SCAN_STORE, NULL);
	j->run.state = fangs__install_outcome(&j->s.result, j->reason, sizeof(j->reason));
	if (j->reason[0] && !(j->run.error = fangs__strdup(j->reason))) {
		rc = FANGS_ENOMEM;
		return rc;
	}
	/* a failing import is the package's business, not the install's: its
	 * lines stay in the output, the run's state is the install's */
	fangs__import_outcome(j->s.result.output, j->import_end, sizeof(j->import_end));
	if (j->s.package && j->import_end[0])
		fangs_info("%s@%s: import: %s", j->out->package, j->out->version, j->import_end);
	j->run.events_emitted = (int64_t)j->stats.emitted;
	j->run.events_dropped = (int64_t)j->stats.dropped;
	j->run.duration_ns = j->s.result.duration_ns;
	j->run.has_exit_code = 1;
	j->run.exit_code = j->s.result.exit_code;
	j->run.install_output = j->s.result.output ? fangs__strdup(j->s.result.output) : NULL;
	j->run.started_ns = j->started_ns;
	j->run.finished_ns = fangs__now_ns();
	for (size_t i = 0; i < j->s.events.count; i++) {
		free(j->s.events.items[i].run_id);
		j->s.events.items[i].run_id = NULL;
	}
	if (j->run_stored && (rc = fangs_storage_begin(j->opts->storage)))
		return rc;
	if (j->run_stored &&
	    ((rc = fangs_storage_events_append(j->opts->storage, j->run.id, j->s.events.items, j->s.events.count)) ||
	     (rc = fangs_storage_run_update(j->opts->storage, &j->run)) ||
	     (rc = fangs_storage_commit(j->opts->storage)))) {
		fangs_storage_rollback(j->opts->storage);
		return rc;
	}
	j->out->events_emitted = j->stats.emitted;
	j->out->events_dropped = j->stats.dropped;
	j->out->exit_code = j->s.result.exit_code;
	j->out->timed_out = j->s.result.timed_out;
	j->out->duration_ns = j->s.result.duration_ns;
	j->out->state = j->run.state;
	if (j->run.error && !(j->out->reason = fangs__strdup(j->run.error))) {
		rc = FANGS_ENOMEM;
		return rc;
	}
	if (j->run.install_output && !(j->out->install_output = fangs__strdup(j->run.install_output))) {
		rc = FANGS_ENOMEM;
		return rc;
	}
	return 0;
}

/* 5. The rules and the differ over the stored run (a project scan: one
 * judged run a dependency). */
static int scan_analyze(scan_job *j)
{
	int rc;

	/* 5. analyze */
	progress(&j->s, FANGS_SCAN_ANALYZE, NULL);
	j->dopts.config = j->opts->config;
	/* the sandbox's resolvers (and proxy) are its plumbing, not destinations */
	j->dopts.n_infra = fangs_sandbox_infra(j->s.run, &j->dopts.infra);
	j->ao.infra = j->dopts.infra;
	j->ao.n_infra = j->dopts.n_infra;
	j->ao.processes_left = j->s.result.processes_left;
	if (!j->registry[0] || fangs_registry_host(j->registry, j->host, sizeof(j->host)) != 0)
		j->host[0] = '\0';
	j->ao.registry_host = j->host[0] ? j->host : NULL;
	j->ao.decoys = j->decoys;
	j->ao.n_decoys = j->n_decoys;
	/* the registry is known by the addresses this host resolves its name
	 * to, never by what a name resolves to inside the sandbox */
	if (j->host[0] && (rc = fangs_registry_addrs(j->host, &j->reg_addrs, &j->n_reg_addrs)) == FANGS_ENOMEM)
		return rc;
	j->ao.registry_addrs = (const char *const *)j->reg_addrs;
	j->ao.n_registry_addrs = j->n_reg_addrs;
	fangs_debug("rules: the registry is %s (%zu address%s)",
		    j->host[0] ? j->host : "unknown (every destination counts)", j->n_reg_addrs,
		    j->n_reg_addrs == 1 ? "" : "es");
	if ((rc = fangs_differ_new(&j->differ, &j->dopts)))
		return rc;
	if (j->pj)
		rc = fangs__project_judge(j->opts, j->pj, j->pout, &j->run, &j->s.events, j->differ, &j->ao);
	else
		rc = fangs_analyze_run_opts(j->opts->storage, j->differ, j->opts->config, j->run.id, &j->ao,
					    &j->out->analysis);
	if (rc)
		return rc;
	progress(&j->s, FANGS_SCAN_DONE, NULL);
	return 0;
}

/* Ends what the phases left running and frees what they made; on failure
 * a stored run is marked failed and the result keeps only the run id. */
static void scan_cleanup(scan_job *j, int rc)
{
	registry_known(j);
	if (j->thread_started) {
		/* An error while the install runs: end it, let the waiter see it
		 * end, and only then free the run (the waiter is still using it;
		 * without cgroup.kill the duration limit ends it all the same). */
		fangs_error_state keep;
		fangs_error_state_capture(&keep, rc);
		fangs_cgroup_kill(fangs_sandbox_cgroup_path(j->s.run));
		pthread_join(j->s.waiter, NULL);
		fangs_error_state_restore(&keep);
	}
	if (j->watching)
		fangs_sensor_unwatch(j->sensor, j->out->run_id);
	if (rc && j->run_stored) {
		fangs_error_state why;
		fangs_error_state_capture(&why, rc);
		store_failed_run(j->opts->storage, &j->run, why.message);
		fangs_error_state_restore(&why);
	}
	if (rc && j->pr.output && *j->pr.output)
		fangs_debug("npm said: %s", j->pr.output);
	fangs_sandbox_result_clear(&j->s.result);
	fangs_sandbox_run_free(j->s.run);
	fangs_sandbox_free(j->sb);
	fangs_proxy_free(j->proxy);
	for (size_t i = 0; i < j->s.n_clients; i++)
		fangs_event_clear(&j->s.clients[i].connect);
	free(j->s.clients);
	fangs_sensor_free(j->own_sensor);
	fangs_differ_free(j->differ);
	fangs_registry_addrs_free(j->reg_addrs, j->n_reg_addrs);
	fangs_event_list_free(&j->s.events);
	fangs__import_tracker_free(&j->s.import);
	free(j->s.import_command);
	fangs_prefetch_result_clear(&j->pr);
	fangs_run_clear(&j->run);
	free(j->want_name);
	free(j->want_version);
	free(j->canonical);
	if (j->prefetch_dir[0])
		fangs__rm_rf(j->prefetch_dir);
	if (j->prefetch_fd >= 0)
		close(j->prefetch_fd);
	if (rc) {
		char keep[64];
		memcpy(keep, j->out->run_id, sizeof(keep));
		fangs_scan_result_clear(j->out);
		memcpy(j->out->run_id, keep, sizeof(keep));
	}
}

static int scan_impl(const fangs_scan_options *opts, const char *spec, const fangs_project_scan_options *pj,
		     fangs_project_scan_result *pout, fangs_scan_result *out)
{
	scan_job job = {.opts = opts,
			.pj = pj,
			.pout = pout,
			.out = out,
			.po = FANGS_PREFETCH_OPTIONS_INIT,
			.so = FANGS_SANDBOX_OPTIONS_INIT,
			.ss = FANGS_SANDBOX_SPEC_INIT,
			.seo = FANGS_SENSOR_OPTIONS_INIT,
			.dopts = FANGS_DIFFER_OPTIONS_INIT,
			.ao = FANGS_ANALYZE_OPTIONS_INIT,
			.prefetch_fd = -1};
	scan_job *j = &job;
	int rc;

	if (!opts || (!opts->storage && !opts->on_event) || (!pj && (!spec || !*spec)) || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan: missing storage (or event sink) or spec");
	if (pj && (!opts->storage || opts->on_event))
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: needs storage (and no event sink)");
	memset(out, 0, sizeof(*out));
	if (opts->run_id &&
	    (!*opts->run_id || strlen(opts->run_id) >= sizeof(out->run_id) || strchr(opts->run_id, '/')))
		return fangs_error_set(FANGS_EINVAL, "fangs_scan: run id '%s' is empty, too long or has a '/'",
				       opts->run_id);
	if (opts->run_id)
		snprintf(out->run_id, sizeof(out->run_id), "%s", opts->run_id);
	else if ((rc = fangs_storage_new_run_id(out->run_id, sizeof(out->run_id))))
		return rc;
	j->s.opts = opts;
	j->s.run_id = out->run_id;
	/* A local directory or tarball only when the spec says so ("/x",
	 * "./x", "../x"); anything else is a registry spec checked by npm's
	 * rules, handed to npm as name@version (never read as an option, a
	 * path, a URL or a git spec): "left-pad@../../x" is refused here. */
	if (pj) {
		spec = pj->dir;
	} else if (!fangs_package_spec_is_path(spec)) {
		if ((rc = fangs_package_spec_parse(spec, &j->want_name, &j->want_version)))
			return rc;
		j->canonical = fangs__asprintf("%s@%s", j->want_name, j->want_version ? j->want_version : "latest");
		if (!j->canonical) {
			free(j->want_name);
			free(j->want_version);
			return FANGS_ENOMEM;
		}
	}

	j->spec = spec;
	if (!(rc = scan_prefetch(j)) && !(rc = scan_prepare(j)) && !(rc = scan_install(j)) && !(rc = scan_store(j))) {
		if (opts->on_event)
			/* streamed: storing and judging are the receiver's */
			progress(&j->s, FANGS_SCAN_DONE, NULL);
		else
			rc = scan_analyze(j);
	}
	scan_cleanup(j, rc);
	return rc;
}

int fangs_scan(const fangs_scan_options *opts, const char *spec, fangs_scan_result *out)
{
	fangs_scan_options o;
	int rc;
	if (opts && (rc = fangs__scan_options_copy(&o, opts)) < 0)
		return rc;
	return scan_impl(opts ? &o : NULL, spec, NULL, NULL, out);
}

int fangs_scan_project(const fangs_scan_options *opts, const fangs_project_scan_options *popts,
		       fangs_project_scan_result *out)
{
	fangs_scan_options o;
	fangs_project_scan_options po;
	int rc;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: no result");
	memset(out, 0, sizeof(*out));
	if (!popts)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: options missing");
	if ((rc = fangs__project_scan_options_copy(&po, popts)) < 0 ||
	    (opts && (rc = fangs__scan_options_copy(&o, opts)) < 0))
		return rc;
	popts = &po;
	if (opts)
		opts = &o;
	if (!popts->dir)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: options without a project directory");
	if (popts->n_judge && !popts->judge)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: n_judge without judge");
	rc = scan_impl(opts, NULL, popts, out, &out->install);
	if (rc) {
		char keep[64];
		memcpy(keep, out->install.run_id, sizeof(keep));
		fangs_project_scan_result_clear(out);
		memcpy(out->install.run_id, keep, sizeof(keep));
	}
	return rc;
}

/* Prefetch directories no scan holds (each locks its own) and that nothing
 * touched for a while (a scanner of an older fangs did not lock them):
 * those of killed scans. Returns how many were removed. */
#define PREFETCH_GC_AGE_S 600
static int prefetch_gc(void)
{
	DIR *d = opendir(DEFAULT_PREFETCH_ROOT);
	struct dirent *de;
	int n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[4096];
		int fd, free_now;
		if (de->d_name[0] == '.' || !strchr(de->d_name, '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", DEFAULT_PREFETCH_ROOT, de->d_name);
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		{
			struct stat sb;
			free_now = fstat(fd, &sb) == 0 && time(NULL) - sb.st_mtime > PREFETCH_GC_AGE_S &&
				   flock(fd, LOCK_EX | LOCK_NB) == 0;
		}
		if (free_now) {
			fangs_info("removing leftover prefetch directory %s", path);
			if (fangs__rm_rf(path) == 0)
				n++;
		}
		close(fd);
	}
	closedir(d);
	return n;
}

int fangs_scan_gc(const fangs_scan_options *opts, int *removed)
{
	fangs_scan_options o;
	fangs_sandbox_options so = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox *sb = NULL;
	int rc, n = 0;

	if (removed)
		*removed = 0;
	if ((rc = fangs__scan_options_copy(&o, opts)) < 0)
		return rc;
	opts = &o;
	so.backend = opts->sandbox;
	so.work_root = opts->work_root;
	so.image = opts->image;
	so.docker_socket = opts->docker_socket;
	so.npm_major = npm_major_cached();
	if ((rc = fangs_sandbox_new(&sb, &so)))
		return rc;
	rc = fangs_sandbox_gc(sb, &n);
	fangs_sandbox_free(sb);
	if (rc == 0)
		n += prefetch_gc();
	if (removed)
		*removed = n;
	return rc;
}
