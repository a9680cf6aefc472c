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
#include "sandbox/fsutil.h"
#include "sandbox/internal.h"
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
#include "sandbox/fsutil.h"

/* its path shows in the sandbox's mount table (a bind of its _cacache): a
 * neutral one */
#define DEFAULT_CACHE "/var/cache/npm"
#define DEFAULT_PREFETCH_ROOT "/var/lib/fangs/prefetch"

const char *fangs_scan_phase_name(fangs_scan_phase phase)
{
	static const char *const names[] = {"prefetch", "prepare", "install", "store", "analyze", "done"};
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
	int sink_rc; /* what the event sink answered, when it asked to stop */
	const fangs_sandbox_decoy_file *decoy_files; /* the run's bait, by identity */
	size_t n_decoy_files;
	/* the waiter thread */
	pthread_t waiter;
	fangs_sandbox_run *run;
	fangs_sandbox_result result;
	int wait_rc;
	char wait_err[512];
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
		snprintf(s->wait_err, sizeof(s->wait_err), "%s", fangs_error_last());
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

static int scan_impl(const fangs_scan_options *opts, const char *spec, const fangs_project_scan_options *pj,
		     fangs_project_scan_result *pout, fangs_scan_result *out)
{
	scan_state s = {0};
	fangs_prefetch_options po = FANGS_PREFETCH_OPTIONS_INIT;
	fangs_prefetch_result pr = {0};
	fangs_sandbox_options so = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox_spec ss = FANGS_SANDBOX_SPEC_INIT;
	fangs_sensor_options seo = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sandbox *sb = NULL;
	fangs_proxy *proxy = NULL;
	fangs_sensor *sensor = NULL, *own_sensor = NULL;
	fangs_differ *differ = NULL;
	fangs_differ_options dopts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_analyze_options ao = FANGS_ANALYZE_OPTIONS_INIT;
	char host[256], registry[1024];
	const fangs_decoy *decoys = NULL;
	size_t n_decoys = 0;
	char **reg_addrs = NULL;
	size_t n_reg_addrs = 0;
	fangs_sensor_run_stats stats = {0};
	fangs_run run = {0};
	char prefetch_dir[4096] = "", project_dir[4200], detail[512], reason[1400];
	const char *specs[1], *import_argv[6];
	char import_end[256];
	char sandbox_id[64]; /* the run id and a suffix new every attempt */
	int prefetch_fd = -1;
	char abs_spec[4096];
	char *want_name = NULL, *want_version = NULL, *canonical = NULL;
	int rc, watching = 0, thread_started = 0, run_stored = 0;
	int64_t started_ns, last_progress = 0;

	if (!opts || (!opts->storage && !opts->on_event) || (!pj && (!spec || !*spec)) || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_scan: missing storage (or event sink) or spec");
	if (pj && (!opts->storage || opts->on_event))
		return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: needs storage (and no event sink)");
	memset(out, 0, sizeof(*out));
	if (opts->run_id && (!*opts->run_id || strlen(opts->run_id) >= sizeof(out->run_id) || strchr(opts->run_id, '/')))
		return fangs_error_set(FANGS_EINVAL, "fangs_scan: run id '%s' is empty, too long or has a '/'", opts->run_id);
	if (opts->run_id)
		snprintf(out->run_id, sizeof(out->run_id), "%s", opts->run_id);
	else if ((rc = fangs_storage_new_run_id(out->run_id, sizeof(out->run_id))))
		return rc;
	s.opts = opts;
	s.run_id = out->run_id;
	/* A local directory or tarball only when the spec says so ("/x",
	 * "./x", "../x"); anything else is a registry spec checked by npm's
	 * rules, handed to npm as name@version (never read as an option, a
	 * path, a URL or a git spec): "left-pad@../../x" is refused here. */
	if (pj) {
		spec = pj->dir;
	} else if (!fangs_package_spec_is_path(spec)) {
		if ((rc = fangs_package_spec_parse(spec, &want_name, &want_version)))
			return rc;
		canonical = fangs__asprintf("%s@%s", want_name, want_version ? want_version : "latest");
		if (!canonical) {
			free(want_name);
			free(want_version);
			return FANGS_ENOMEM;
		}
	}

	/* 1. prefetch on the host: nothing is stored if this fails */
	snprintf(detail, sizeof(detail), "resolving %s", spec);
	progress(&s, FANGS_SCAN_PREFETCH, detail);
	/* unique per attempt: a run given again (its first runner lost) may find
	 * the first attempt's directory on this host */
	if ((rc = fangs__mkdir_p(DEFAULT_PREFETCH_ROOT, 0755)) < 0 ||
	    (rc = fangs__mkdir_p(opts->cache_dir ? opts->cache_dir : DEFAULT_CACHE, 0755)) < 0)
		goto out;
	/* made under a hidden name and locked before it gets its own: a gc
	 * (fangs_scan_gc) removes only unlocked ones, those of killed scans */
	snprintf(prefetch_dir, sizeof(prefetch_dir), "%s/.%s.XXXXXX", DEFAULT_PREFETCH_ROOT, out->run_id);
	if (!mkdtemp(prefetch_dir)) {
		rc = fangs__error_errno(FANGS_EIO, "creating the prefetch directory");
		prefetch_dir[0] = '\0';
		goto out;
	}
	{
		char named[sizeof(prefetch_dir)];
		char *base = strrchr(prefetch_dir, '/') + 1;
		snprintf(named, sizeof(named), "%.*s%s", (int)(base - prefetch_dir), prefetch_dir, base + 1);
		if ((prefetch_fd = open(prefetch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    flock(prefetch_fd, LOCK_EX) < 0 || rename(prefetch_dir, named) < 0) {
			rc = fangs__error_errno(FANGS_EIO, "locking the prefetch directory");
			goto out;
		}
		memcpy(prefetch_dir, named, sizeof(named));
	}
	chmod(prefetch_dir, 0755);
	snprintf(project_dir, sizeof(project_dir), "%s/project", prefetch_dir);
	/* npm runs in another directory: a relative path is made absolute */
	if (canonical)
		specs[0] = canonical;
	else if (spec[0] != '/' && realpath(spec, abs_spec))
		specs[0] = abs_spec;
	else
		specs[0] = spec;
	po.specs = specs;
	po.nspecs = 1;
	if (pj) {
		po.specs = NULL;
		po.nspecs = 0;
		po.project = pj->dir;
		po.resolve = pj->resolve;
	}
	po.registry = opts->registry ? opts->registry : (opts->config ? opts->config->registry : NULL);
	po.cache_dir = opts->cache_dir ? opts->cache_dir : DEFAULT_CACHE;
	po.project_dir = project_dir;
	/* one npm at a time on the shared host cache: scans of one process
	 * (a runner's) may run side by side, their prefetches need not */
	pthread_mutex_lock(&prefetch_lock);
	rc = fangs_prefetch(&po, &pr);
	pthread_mutex_unlock(&prefetch_lock);
	if (rc)
		goto out;
	if (pj) {
		if ((rc = fangs__project_prepared(project_dir, pj, pr.resolved, pout)))
			goto out;
	} else if ((rc = resolved_package(project_dir, &out->package, &out->version)))
		goto out;
	if (want_name && strcmp(want_name, out->package) != 0) {
		rc = fangs_error_set(FANGS_EINVAL, "npm installed %s, not the package asked for", out->package);
		goto out;
	}

	/* 2. sandbox + sensor */
	snprintf(detail, sizeof(detail), "%s@%s", out->package, out->version);
	progress(&s, FANGS_SCAN_PREPARE, detail);
	so.backend = opts->sandbox;
	if (opts->network && (rc = fangs_sandbox_network_parse(opts->network, &so.network)))
		goto out;
	so.duration_ms = opts->duration_ms;
	so.limits.memory_bytes = FANGS__SCAN_MEMORY_BYTES;
	/* The run ends when the install has exited and its cgroup is empty: a
	 * process it left behind keeps the cgroup, and the run, open until the
	 * duration limit. Lingering past an empty cgroup can see nothing more
	 * and cost every scan two seconds. */
	so.grace_ms = opts->grace_ms ? opts->grace_ms : -1;
	so.npm_major = npm_major_cached();
	so.work_root = opts->work_root;
	so.image = opts->image;
	so.docker_socket = opts->docker_socket;
	if ((rc = fangs_sandbox_new(&sb, &so)))
		goto out;
	if (opts->sensor) {
		sensor = opts->sensor;
		fangs_sensor_set_callback(sensor, on_event, &s);
	} else {
		seo.on_event = on_event;
		seo.user = &s;
		if ((rc = fangs_sensor_new(&own_sensor, &seo)))
			goto out;
		sensor = own_sensor;
	}
	fangs_debug("sensor: system calls through %s", fangs_sensor_syscall_mode(sensor, NULL));
	/* a sandbox of its own per attempt: a run given again (its first
	 * runner was killed) may find the first attempt's directory and
	 * cgroups on this host, until fangs_sandbox_gc() removes them */
	{
		unsigned char rnd[4];
		size_t keep = strlen(out->run_id);
		if ((rc = fangs__random(rnd, sizeof(rnd))))
			goto out;
		if (keep > sizeof(sandbox_id) - 10)
			keep = sizeof(sandbox_id) - 10;
		snprintf(sandbox_id, sizeof(sandbox_id), "%.*s.%02x%02x%02x%02x", (int)keep, out->run_id, rnd[0], rnd[1],
			 rnd[2], rnd[3]);
	}
	ss.run_id = sandbox_id;
	ss.project_dir = project_dir;
	ss.cache_dir = po.cache_dir;
	ss.lockfile_exact = pj != NULL;
	ss.approved_scripts_only = pj && pj->judged_scripts_only;
	if (!pj && import_wanted(opts)) {
		fangs__import_argv(import_argv, out->package);
		ss.import_argv = import_argv;
		ss.import_timeout_ms = opts->import_timeout_ms > 0 ? opts->import_timeout_ms
			: opts->config && opts->config->scan_import_timeout_s
				? (int64_t)opts->config->scan_import_timeout_s * 1000
				: 0;
		s.package = out->package;
		s.version = out->version;
		if (!(s.import_command = fangs__asprintf("require('%s')", out->package))) {
			rc = FANGS_ENOMEM;
			goto out;
		}
	}
	/* the registry the decoy ~/.npmrc holds a token for, the proxy's and the rules' */
	registry_url(po.registry, registry, sizeof(registry));
	ss.registry = registry[0] ? registry : NULL;
	if (so.network == FANGS_SANDBOX_NET_PROXY) {
		if ((rc = make_proxy(&proxy, opts->config, ss.registry, pj ? NULL : out->package)))
			goto out;
		ss.proxy = proxy;
	}
	if ((rc = fangs_sandbox_prepare(sb, &ss, &s.run)) ||
	    (rc = fangs_sandbox_decoy_files(s.run, &s.decoy_files, &s.n_decoy_files)) ||
	    (rc = fangs_sandbox_decoys(s.run, &decoys, &n_decoys)))
		goto out;
	if (proxy && (rc = fangs_sandbox_proxy_endpoint(s.run, &s.proxy_addr, &s.proxy_port)))
		goto out;
	if (opts->on_decoys)
		opts->on_decoys(decoys, n_decoys, opts->decoys_user);

	/* the run row exists from here on: a failure is recorded, not lost */
	memcpy(run.id, out->run_id, sizeof(run.id));
	run.package = fangs__strdup(out->package);
	run.version = fangs__strdup(out->version);
	run.state = FANGS_RUN_RUNNING;
	run.runner = fangs__strdup(opts->runner ? opts->runner : "local");
	run.sandbox = fangs__strdup(fangs_sandbox_backend_name(sb));
	run.network = fangs__strdup(opts->network ? opts->network : "none");
	if (!run.package || !run.version || !run.runner || !run.sandbox || !run.network) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	if (!opts->on_event && !pj) {
		if ((rc = fangs_storage_run_create(opts->storage, &run)))
			goto out;
		run_stored = 1;
	}

	/* the sensor's callback is per sensor: a shared one needs ours for this run */
	if ((rc = fangs_sensor_watch_cgroup(sensor, fangs_sandbox_cgroup_path(s.run), out->run_id)))
		goto out;
	watching = 1;

	/* 3. install */
	progress(&s, FANGS_SCAN_INSTALL, pj ? "npm ci" : "npm install");
	started_ns = fangs__now_ns();
	if ((rc = fangs_sandbox_start(s.run)))
		goto out;
	if (pthread_create(&s.waiter, NULL, wait_thread, &s)) {
		rc = fangs_error_set(FANGS_EIO, "cannot start a thread");
		goto out;
	}
	thread_started = 1;
	while (!__atomic_load_n(&s.done, __ATOMIC_ACQUIRE)) {
		int n = fangs_sensor_poll(sensor, 100);
		if (n < 0 && n != FANGS_ENOMEM) {
			rc = n;
			goto out;
		}
		if (fangs__monotonic_ns() - last_progress > 250000000LL) {
			last_progress = fangs__monotonic_ns();
			progress(&s, FANGS_SCAN_INSTALL, pj ? "npm ci" : "npm install");
		}
	}
	pthread_join(s.waiter, NULL);
	thread_started = 0;
	/* what the kernel wrote before the cgroup emptied is still in the ring */
	while (fangs_sensor_poll(sensor, 50) > 0)
		;
	if (proxy) {
		/* every client is gone: this ends what is left and waits */
		fangs_proxy_stop(proxy);
		if ((rc = add_proxy_events(&s, proxy)) && !s.sink_rc && !s.oom)
			goto out;
		rc = 0;
	}
	if (s.oom || s.import.oom) {
		rc = fangs_error_set(FANGS_ENOMEM, "out of memory while collecting events");
		goto out;
	}
	if (s.sink_rc) {
		rc = fangs_error_set(s.sink_rc, "the event sink stopped the scan");
		goto out;
	}
	if (s.wait_rc) {
		rc = fangs_error_set(s.wait_rc, "%s", s.wait_err);
		goto out;
	}
	fangs_sensor_stats(sensor, out->run_id, &stats);
	fangs_sensor_unwatch(sensor, out->run_id);
	watching = 0;

	/* 4. store */
	progress(&s, FANGS_SCAN_STORE, NULL);
	run.state = fangs__install_outcome(&s.result, reason, sizeof(reason));
	if (reason[0] && !(run.error = fangs__strdup(reason))) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	/* a failing import is the package's business, not the install's: its
	 * lines stay in the output, the run's state is the install's */
	fangs__import_outcome(s.result.output, import_end, sizeof(import_end));
	if (s.package && import_end[0])
		fangs_info("%s@%s: import: %s", out->package, out->version, import_end);
	run.events_emitted = (int64_t)stats.emitted;
	run.events_dropped = (int64_t)stats.dropped;
	run.duration_ns = s.result.duration_ns;
	run.has_exit_code = 1;
	run.exit_code = s.result.exit_code;
	run.install_output = s.result.output ? fangs__strdup(s.result.output) : NULL;
	run.started_ns = started_ns;
	run.finished_ns = fangs__now_ns();
	for (size_t i = 0; i < s.events.count; i++) {
		free(s.events.items[i].run_id);
		s.events.items[i].run_id = NULL;
	}
	if (run_stored && (rc = fangs_storage_begin(opts->storage)))
		goto out;
	if (run_stored &&
	    ((rc = fangs_storage_events_append(opts->storage, run.id, s.events.items, s.events.count)) ||
	     (rc = fangs_storage_run_update(opts->storage, &run)) || (rc = fangs_storage_commit(opts->storage)))) {
		fangs_storage_rollback(opts->storage);
		goto out;
	}
	out->events_emitted = stats.emitted;
	out->events_dropped = stats.dropped;
	out->exit_code = s.result.exit_code;
	out->timed_out = s.result.timed_out;
	out->duration_ns = s.result.duration_ns;
	out->state = run.state;
	if (run.error && !(out->reason = fangs__strdup(run.error))) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	if (run.install_output && !(out->install_output = fangs__strdup(run.install_output))) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	if (opts->on_event) {
		/* streamed: storing and judging are the receiver's */
		progress(&s, FANGS_SCAN_DONE, NULL);
		goto out;
	}

	/* 5. analyze */
	progress(&s, FANGS_SCAN_ANALYZE, NULL);
	dopts.config = opts->config;
	/* the sandbox's resolvers (and proxy) are its plumbing, not destinations */
	dopts.n_infra = fangs_sandbox_infra(s.run, &dopts.infra);
	ao.infra = dopts.infra;
	ao.n_infra = dopts.n_infra;
	ao.processes_left = s.result.processes_left;
	if (!registry[0] || fangs_registry_host(registry, host, sizeof(host)) != 0)
		host[0] = '\0';
	ao.registry_host = host[0] ? host : NULL;
	ao.decoys = decoys;
	ao.n_decoys = n_decoys;
	/* the registry is known by the addresses this host resolves its name
	 * to, never by what a name resolves to inside the sandbox */
	if (host[0] && (rc = fangs_registry_addrs(host, &reg_addrs, &n_reg_addrs)) == FANGS_ENOMEM)
		goto out;
	ao.registry_addrs = (const char *const *)reg_addrs;
	ao.n_registry_addrs = n_reg_addrs;
	fangs_debug("rules: the registry is %s (%zu address%s)", host[0] ? host : "unknown (every destination counts)",
		    n_reg_addrs, n_reg_addrs == 1 ? "" : "es");
	if ((rc = fangs_differ_new(&differ, &dopts)))
		goto out;
	if (pj)
		rc = fangs__project_judge(opts, pj, pout, &run, &s.events, differ, &ao);
	else
		rc = fangs_analyze_run_opts(opts->storage, differ, opts->config, run.id, &ao, &out->analysis);
	if (rc)
		goto out;
	progress(&s, FANGS_SCAN_DONE, NULL);

out:
	if (thread_started) {
		/* An error while the install runs: end it, let the waiter see it
		 * end, and only then free the run (the waiter is still using it;
		 * without cgroup.kill the duration limit ends it all the same). */
		char keep[600];
		snprintf(keep, sizeof(keep), "%s", fangs_error_last());
		fangs_cgroup_kill(fangs_sandbox_cgroup_path(s.run));
		pthread_join(s.waiter, NULL);
		fangs_error_set(rc, "%s", keep);
	}
	if (watching)
		fangs_sensor_unwatch(sensor, out->run_id);
	if (rc && run_stored) {
		char why[600];
		snprintf(why, sizeof(why), "%s", fangs_error_last());
		store_failed_run(opts->storage, &run, why);
		fangs_error_set(rc, "%s", why);
	}
	if (rc && pr.output && *pr.output)
		fangs_debug("npm said: %s", pr.output);
	fangs_sandbox_result_clear(&s.result);
	fangs_sandbox_run_free(s.run);
	fangs_sandbox_free(sb);
	fangs_proxy_free(proxy);
	for (size_t i = 0; i < s.n_clients; i++)
		fangs_event_clear(&s.clients[i].connect);
	free(s.clients);
	fangs_sensor_free(own_sensor);
	fangs_differ_free(differ);
	fangs_registry_addrs_free(reg_addrs, n_reg_addrs);
	fangs_event_list_free(&s.events);
	fangs__import_tracker_free(&s.import);
	free(s.import_command);
	fangs_prefetch_result_clear(&pr);
	fangs_run_clear(&run);
	free(want_name);
	free(want_version);
	free(canonical);
	if (prefetch_dir[0])
		fangs__rm_rf(prefetch_dir);
	if (prefetch_fd >= 0)
		close(prefetch_fd);
	if (rc) {
		char keep[64];
		memcpy(keep, out->run_id, sizeof(keep));
		fangs_scan_result_clear(out);
		memcpy(out->run_id, keep, sizeof(keep));
	}
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
