/*
 * sandbox/sandbox.c - the generic layer: options, run directories, cgroups,
 * the duration and grace clocks, the output tail; backends only launch.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"
#include "core/internal.h"
#include "fangs/registry.h"
#include "fangs/sys/sandbox_backend.h"
#include "core/cgroup.h"
#include "sandbox/decoy.h"
#include "core/fsutil.h"
#include "sandbox/internal.h"

#define RUN_MARKER ".fangs-run"

struct fangs_sandbox {
	fangs_sandbox_options opts; /* defaults filled; strings owned below */
	char *work_root, *npm, *hostname, *docker_socket, *image, *cgroup_root, *backend_name;
	char *registry; /* npm's registry, asked once when a spec does not say */
	int registry_asked;
	fangs_sandbox_backend *backend;
	int npm_major;
};

struct fangs_sandbox_run {
	fangs_sandbox *sb;
	char *run_id;
	char *work_dir, *home_dir, *project_dir, *cache_dir;
	char *etc_dir; /* hostname, hosts, resolv.conf, passwd, group shown over /etc's */
	char *home_inside, *project_inside, *cache_inside, *cache_mount;
	int home_mounted, etc_mounted;
	fangs__persona who;
	fangs__decoys decoys;
	int lock_fd; /* flock on the marker: gc leaves live runs alone */
	fangs__cgroup cg;
	char **argv, **envp, **import_argv;
	int64_t import_timeout_ms;
	fangs_proxy *proxy; /* network proxy: the caller's */
	fangs__decoy_list decoy_files;
	fangs_sandbox_job job;
	void *handle;
	int started, finished;
	int64_t start_ns;
	/* output tail: a ring of FANGS_SANDBOX_OUTPUT_MAX bytes */
	char *ring;
	size_t ring_pos;
	uint64_t ring_total;
	/* the sandbox's own endpoints ("addr:port"): its resolvers */
	char **infra;
	size_t n_infra;
};

const char *fangs_sandbox_network_name(fangs_sandbox_network net)
{
	switch (net) {
	case FANGS_SANDBOX_NET_NONE:
		return "none";
	case FANGS_SANDBOX_NET_BRIDGE:
		return "bridge";
	case FANGS_SANDBOX_NET_PROXY:
		return "proxy";
	}
	return "unknown";
}

int fangs_sandbox_network_parse(const char *name, fangs_sandbox_network *out)
{
	if (fangs__strcasecmp_eq(name, "none"))
		*out = FANGS_SANDBOX_NET_NONE;
	else if (fangs__strcasecmp_eq(name, "bridge"))
		*out = FANGS_SANDBOX_NET_BRIDGE;
	else if (fangs__strcasecmp_eq(name, "proxy"))
		*out = FANGS_SANDBOX_NET_PROXY;
	else
		return fangs_error_set(FANGS_EINVAL, "unknown sandbox network '%s' (none, bridge, proxy)",
				       name ? name : "(null)");
	return 0;
}

static const size_t options_sizes[] = {
	0, offsetof(fangs_sandbox_options, disk_bytes), /* 1 */
	sizeof(fangs_sandbox_options),                  /* 2: disk_bytes */
};
FANGS__OPTS_SIZES_ASSERT(options_sizes, FANGS_SANDBOX_OPTIONS_VERSION);
static const fangs_sandbox_options options_defaults = FANGS_SANDBOX_OPTIONS_INIT;

static const size_t spec_sizes[] = {
	0, offsetof(fangs_sandbox_spec, proxy),       /* 1 */
	offsetof(fangs_sandbox_spec, lockfile_exact), /* 2: proxy, registry, import_argv, import_timeout_ms */
	sizeof(fangs_sandbox_spec),                   /* 3: lockfile_exact, approved_scripts_only */
};
FANGS__OPTS_SIZES_ASSERT(spec_sizes, FANGS_SANDBOX_SPEC_VERSION);
static const fangs_sandbox_spec spec_defaults = FANGS_SANDBOX_SPEC_INIT;

int fangs_sandbox_options_init(fangs_sandbox_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &options_defaults, options_sizes, FANGS_SANDBOX_OPTIONS_VERSION,
				"fangs_sandbox_options");
}

int fangs_sandbox_spec_init(fangs_sandbox_spec *spec, unsigned int version)
{
	return fangs__opts_init(spec, version, &spec_defaults, spec_sizes, FANGS_SANDBOX_SPEC_VERSION,
				"fangs_sandbox_spec");
}

static int64_t or_default(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

static int fill_options(fangs_sandbox *sb, const fangs_sandbox_options *in)
{
	fangs_sandbox_options o;
	fangs_sandbox_limits *l;
	int rc;
	if ((rc = fangs__opts_copy(&o, in, &options_defaults, options_sizes, FANGS_SANDBOX_OPTIONS_VERSION,
				   "fangs_sandbox_options")) < 0)
		return rc;
	if (o.network != FANGS_SANDBOX_NET_NONE && o.network != FANGS_SANDBOX_NET_BRIDGE &&
	    o.network != FANGS_SANDBOX_NET_PROXY)
		return fangs_error_set(FANGS_EINVAL, "unknown sandbox network %d", (int)o.network);
	l = &o.limits;
	l->memory_bytes = or_default(l->memory_bytes, 512LL << 20);
	l->pids = or_default(l->pids, 256);
	l->cpu_millis = or_default(l->cpu_millis, 1000);
	l->nofile = or_default(l->nofile, 1024);
	l->nproc = or_default(l->nproc, 256);
	l->fsize_bytes = or_default(l->fsize_bytes, 256LL << 20);
	l->tmp_bytes = or_default(l->tmp_bytes, 256LL << 20);
	o.duration_ms = or_default(o.duration_ms, FANGS__DEFAULT_DURATION_MS);
	if (o.grace_ms == 0)
		o.grace_ms = 2000;
	else if (o.grace_ms < 0)
		o.grace_ms = 0;
	o.host_uid = or_default(o.host_uid, FANGS__DEFAULT_HOST_UID);
	o.disk_bytes = or_default(o.disk_bytes, 1LL << 30);
	/* HOME is a tmpfs: its files are memory charged to the run, so the
	 * run's memory limit holds the processes' memory and the disk both */
	l->memory_bytes += o.disk_bytes;
	o.version = FANGS_SANDBOX_OPTIONS_VERSION;

	sb->backend_name = fangs__strdup(o.backend ? o.backend : "ns");
	sb->work_root = fangs__strdup(o.work_root ? o.work_root : "/var/lib/fangs/sandbox");
	sb->npm = fangs__strdup(o.npm ? o.npm : "npm");
	sb->hostname = o.hostname ? fangs__strdup(o.hostname) : NULL;
	sb->docker_socket = fangs__strdup(o.docker_socket ? o.docker_socket : "/var/run/docker.sock");
	sb->image = fangs__strdup(o.image ? o.image : "fangs-sandbox:latest");
	sb->cgroup_root = fangs__strdup(o.cgroup_root ? o.cgroup_root : FANGS__CGROUP_ROOT);
	if (!sb->backend_name || !sb->work_root || !sb->npm || (o.hostname && !sb->hostname) || !sb->docker_socket ||
	    !sb->image || !sb->cgroup_root)
		return FANGS_ENOMEM;
	if (sb->work_root[0] != '/')
		return fangs_error_set(FANGS_EINVAL, "work_root must be absolute: %s", sb->work_root);
	o.backend = sb->backend_name;
	o.work_root = sb->work_root;
	o.npm = sb->npm;
	o.hostname = sb->hostname;
	o.docker_socket = sb->docker_socket;
	o.image = sb->image;
	o.cgroup_root = sb->cgroup_root;
	sb->opts = o;
	return 0;
}

/* The backend's word (version 3 on) that the run sees the host's file
 * system; a backend of an older version is taken to bring an image. */
static int host_root(const fangs_sandbox_backend *b)
{
	return b->version >= 3 && b->host_root;
}

static int sandbox_init(fangs_sandbox **out, fangs_sandbox_backend *backend, const fangs_sandbox_options *opts)
{
	fangs_sandbox *sb;
	fangs__cg_mounts mounts;
	int rc;

	*out = NULL;
	if (!(sb = calloc(1, sizeof(*sb))))
		return fangs__error_oom();
	if ((rc = fill_options(sb, opts)) < 0)
		goto fail;
	if ((rc = fangs__cgroup_detect(sb->cgroup_root, &mounts)) < 0)
		goto fail;
	fangs__cgroup_mounts_free(&mounts);
	if (geteuid() != 0) {
		rc = fangs_error_set(FANGS_EPERM, "the sandbox needs root on the host to create cgroups");
		goto fail;
	}
	if ((rc = fangs__mkdir_p(sb->work_root, 0711)) < 0)
		goto fail;
	sb->npm_major = sb->opts.npm_major > 0 ? sb->opts.npm_major : fangs__npm_major(sb->npm);
	sb->backend = backend;
	/* only the ns sandbox shows the host's /usr, compilers and headers:
	 * found while the scan prefetches, taken when a run is prepared */
	if (host_root(backend))
		fangs__node_headers_start();
	*out = sb;
	return 0;
fail:
	sb->backend = NULL;
	fangs_sandbox_free(sb);
	return rc;
}

int fangs_sandbox_wrap(fangs_sandbox **out, fangs_sandbox_backend *backend, const fangs_sandbox_options *opts)
{
	int rc;
	if (!out || !backend)
		return fangs_error_set(FANGS_EINVAL, "out and backend are required");
	if (backend->version == 0 || backend->version > FANGS_SANDBOX_BACKEND_VERSION || !backend->free ||
	    !backend->start || !backend->poll || !backend->release)
		return fangs_error_set(FANGS_EINVAL, "sandbox backend '%s' is incomplete or of unknown version",
				       backend->name ? backend->name : "?");
	if ((rc = sandbox_init(out, backend, opts)) < 0)
		backend->free(backend);
	return rc;
}

/* The one list of backend names: fangs_sandbox_new() below, the
 * configuration, the CLI and the Python binding check against it. */
static const char *const backend_names[] = {"ns", "docker", NULL};

const char *const *fangs_sandbox_backend_names(void)
{
	return backend_names;
}

int fangs_sandbox_backend_check(const char *name)
{
	for (size_t i = 0; name && backend_names[i]; i++)
		if (strcmp(name, backend_names[i]) == 0)
			return 0;
	return fangs_error_set(FANGS_EINVAL, "unknown sandbox backend '%s' (ns, docker)", name ? name : "(null)");
}

int fangs_sandbox_new(fangs_sandbox **out, const fangs_sandbox_options *opts)
{
	fangs_sandbox_backend *b = NULL;
	const char *name = opts && opts->backend ? opts->backend : "ns";
	int rc;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "out is NULL");
	*out = NULL;
	if ((rc = fangs_sandbox_backend_check(name)))
		return rc;
	if (strcmp(name, "ns") == 0)
		rc = fangs_sandbox_backend_ns_new(&b, opts);
	else if (strcmp(name, "docker") == 0 && opts->network == FANGS_SANDBOX_NET_PROXY)
		return fangs_error_set(FANGS_EUNSUPPORTED, "network proxy works with the ns sandbox only");
	else
		rc = fangs_sandbox_backend_docker_new(&b, opts);
	if (rc < 0)
		return rc;
	return fangs_sandbox_wrap(out, b, opts);
}

void fangs_sandbox_free(fangs_sandbox *sb)
{
	if (!sb)
		return;
	if (sb->backend)
		sb->backend->free(sb->backend);
	free(sb->work_root);
	free(sb->npm);
	free(sb->hostname);
	free(sb->docker_socket);
	free(sb->image);
	free(sb->cgroup_root);
	free(sb->backend_name);
	free(sb->registry);
	free(sb);
}

const char *fangs_sandbox_backend_name(const fangs_sandbox *sb)
{
	return sb && sb->backend ? sb->backend->name : NULL;
}

int fangs_sandbox_setup_in_cgroup(const fangs_sandbox *sb)
{
	return sb && sb->backend && sb->backend->version >= 3 && sb->backend->setup_in_cgroup;
}

/* A run directory whose marker is locked belongs to a live run. */
static int run_is_live(const char *work_root, const char *name)
{
	char path[4096];
	int fd, live;
	snprintf(path, sizeof(path), "%s/%s/" RUN_MARKER, work_root, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	live = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return live;
}

static int valid_run_id(const char *id);
static void unmount_run(const char *work_dir);

/* Only runs with a directory under our work_root are ours: other scanners
 * (other work roots) keep theirs. */
int fangs_sandbox_gc(fangs_sandbox *sb, int *removed)
{
	DIR *d;
	struct dirent *de;
	int n = 0, rc = 0;

	if (!sb)
		return fangs_error_set(FANGS_EINVAL, "sb is NULL");
	if (!(d = opendir(sb->work_root)))
		return errno == ENOENT ? 0 : fangs__error_errno(FANGS_EIO, sb->work_root);
	while ((de = readdir(d))) {
		char path[4096];
		if (de->d_name[0] == '.' || !valid_run_id(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/" RUN_MARKER, sb->work_root, de->d_name);
		if (access(path, F_OK) != 0 || run_is_live(sb->work_root, de->d_name))
			continue;
		/* containers first: they hold processes in the cgroups */
		if (sb->backend->gc && (rc = sb->backend->gc(sb->backend, de->d_name, &n)) < 0)
			break;
		if ((rc = fangs__cgroup_gc(sb->cgroup_root, de->d_name, &n)) < 0)
			break;
		snprintf(path, sizeof(path), "%s/%s", sb->work_root, de->d_name);
		unmount_run(path);
		fangs_info("removing leftover run directory %s", path);
		if (fangs__rm_rf(path) == 0)
			n++;
	}
	closedir(d);
	if (removed)
		*removed = n;
	return rc;
}

static int valid_run_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 63 || id[0] == '.' || id[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void on_output(const char *data, size_t len, void *user)
{
	fangs_sandbox_run *run = user;
	if (!run->ring)
		return;
	run->ring_total += len;
	if (len > FANGS_SANDBOX_OUTPUT_MAX) {
		data += len - FANGS_SANDBOX_OUTPUT_MAX;
		len = FANGS_SANDBOX_OUTPUT_MAX;
	}
	while (len > 0) {
		size_t room = FANGS_SANDBOX_OUTPUT_MAX - run->ring_pos;
		size_t n = len < room ? len : room;
		memcpy(run->ring + run->ring_pos, data, n);
		run->ring_pos = (run->ring_pos + n) % FANGS_SANDBOX_OUTPUT_MAX;
		data += n;
		len -= n;
	}
}

/* What a developer's login shell has, and nothing that says sandbox: npm's
 * settings go on its command line or are npm's defaults (the cache in
 * ~/.npm). The docker backend keeps npm's cache where its image expects it. */
/* The ns sandbox shows the host's /usr: node-gyp builds with the headers of
 * the very node that runs it, offline, instead of downloading them (a
 * developer's npm has them, or a copy in its node-gyp cache). The setting
 * goes where a developer keeps theirs, ~/.npmrc, not in the environment. */
/* With more than one CPU allowed, `jobs` (node-gyp's make -j, which is 1
 * unless set) goes beside it: a build uses the CPUs the run has. */
static int set_nodedir(fangs_sandbox_run *run)
{
	char path[4200], nodedir[PATH_MAX];
	FILE *f;
	int64_t cpus = run->sb->opts.limits.cpu_millis / 1000;
	if (!host_root(run->sb->backend))
		return 0;
	if (fangs__node_headers(nodedir, sizeof(nodedir)) != 0)
		nodedir[0] = '\0';
	if (!nodedir[0] && cpus < 2)
		return 0;
	snprintf(path, sizeof(path), "%s/.npmrc", run->home_dir);
	if (!(f = fopen(path, "ae")))
		return fangs__error_errno(FANGS_EIO, path);
	if (nodedir[0])
		fprintf(f, "nodedir=%s\n", nodedir);
	if (cpus >= 2)
		fprintf(f, "jobs=%lld\n", (long long)cpus);
	if (fclose(f) != 0)
		return fangs__error_errno(FANGS_EIO, path);
	return 0;
}

static int build_env(fangs_sandbox_run *run, const fangs_sandbox_spec *spec)
{
	/* Network proxy: what HTTP clients and npm's downloaders read
	 * (docs/sandbox.md). Node's own http module reads none of these
	 * before node 24 (NODE_USE_ENV_PROXY). */
	static const char *const proxied[] = {
		"HTTP_PROXY=" FANGS__PROXY_URL,
		"HTTPS_PROXY=" FANGS__PROXY_URL,
		"http_proxy=" FANGS__PROXY_URL,
		"https_proxy=" FANGS__PROXY_URL,
		"npm_config_proxy=" FANGS__PROXY_URL,
		"npm_config_https_proxy=" FANGS__PROXY_URL,
		"GLOBAL_AGENT_HTTP_PROXY=" FANGS__PROXY_URL,
		"GLOBAL_AGENT_HTTPS_PROXY=" FANGS__PROXY_URL,
		"ELECTRON_GET_USE_PROXY=1",
		"NODE_USE_ENV_PROXY=1",
		"YARN_HTTP_PROXY=" FANGS__PROXY_URL,
		"YARN_HTTPS_PROXY=" FANGS__PROXY_URL,
	};
	const fangs__persona *p = &run->who;
	char *base[12 + FANGS_ARRAY_SIZE(proxied)] = {0};
	size_t n = 0, extra = 0;
	int rc = 0;

	base[n++] = fangs__asprintf("HOME=%s", run->home_inside);
	base[n++] = fangs__strdup("PATH=" FANGS__PATH_INSIDE);
	base[n++] = fangs__asprintf("USER=%s", p->login);
	base[n++] = fangs__asprintf("LOGNAME=%s", p->login);
	base[n++] = fangs__strdup("SHELL=/bin/bash");
	base[n++] = fangs__strdup("LANG=C.UTF-8");
	base[n++] = fangs__strdup("TERM=xterm-256color");
	if (!host_root(run->sb->backend)) {
		base[n++] = run->cache_dir ? fangs__strdup("npm_config_cache=" FANGS__CACHE_INSIDE)
					   : fangs__asprintf("npm_config_cache=%s/.npm", run->home_inside);
		/* npm writes its logs into the cache unless told otherwise; the cache is read-only */
		base[n++] = fangs__asprintf("npm_config_logs_dir=%s/.npm/_logs", run->home_inside);
	}
	if (run->sb->opts.network == FANGS_SANDBOX_NET_PROXY)
		for (size_t i = 0; i < FANGS_ARRAY_SIZE(proxied); i++)
			base[n++] = fangs__strdup(proxied[i]);
	while (spec->env && spec->env[extra])
		extra++;
	for (size_t i = 0; i < n; i++)
		if (!base[i])
			rc = fangs__error_oom();
	if (rc == 0 && !(run->envp = calloc(n + extra + 1, sizeof(char *))))
		rc = fangs__error_oom();
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(base[i]);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		run->envp[i] = base[i];
	for (size_t i = 0; i < extra; i++) {
		if (!strchr(spec->env[i], '='))
			return fangs_error_set(FANGS_EINVAL, "environment entry '%s' has no '='", spec->env[i]);
		if (!(run->envp[n + i] = fangs__strdup(spec->env[i])))
			return FANGS_ENOMEM;
	}
	return 0;
}

/* The resolvers the run's resolv.conf names are the sandbox's own
 * endpoints: a lookup going there is plumbing, what it asks is the news. */
static int collect_infra(fangs_sandbox_run *run)
{
	char path[4096], *text = NULL, *save = NULL;
	size_t len;
	int rc;
	snprintf(path, sizeof(path), "%s/resolv.conf", run->etc_dir);
	if ((rc = fangs__read_file(path, &text, &len)) < 0)
		return rc;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char addr[64], **grown;
		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		if (!(grown = realloc(run->infra, (run->n_infra + 1) * sizeof(*grown)))) {
			free(text);
			return fangs__error_oom();
		}
		run->infra = grown;
		run->infra[run->n_infra] = fangs__asprintf(strchr(addr, ':') ? "[%s]:53" : "%s:53", addr);
		if (!run->infra[run->n_infra]) {
			free(text);
			return fangs__error_oom();
		}
		run->n_infra++;
	}
	free(text);
	/* the recording proxy's endpoint, when the run has one */
	if (run->proxy) {
		char **grown = realloc(run->infra, (run->n_infra + 1) * sizeof(*grown));
		if (!grown)
			return fangs__error_oom();
		run->infra = grown;
		if (!(run->infra[run->n_infra] = fangs__asprintf("%s:%d", FANGS__PROXY_ADDR, FANGS__PROXY_PORT)))
			return fangs__error_oom();
		run->n_infra++;
	}
	return 0;
}

size_t fangs_sandbox_infra(const fangs_sandbox_run *run, const char *const **out)
{
	if (out)
		*out = run ? (const char *const *)run->infra : NULL;
	return run ? run->n_infra : 0;
}

/* The host's passwd or group with the run's person as uid/gid 1000 (in
 * place of whoever has that id on the host). */
static int write_id_file(fangs_sandbox_run *run, const char *name)
{
	char path[64], line[1024], mine[256];
	const fangs__persona *p = &run->who;
	int passwd = strcmp(name, "passwd") == 0;
	size_t cap = 1 << 16, len = 0;
	char *out;
	FILE *f;
	int rc;

	if (passwd)
		snprintf(mine, sizeof(mine), "%s:x:1000:1000:%s,,,:%s:/bin/bash\n", p->user, p->full_name, p->home);
	else
		snprintf(mine, sizeof(mine), "%s:x:1000:\n", p->user);
	if (!(out = malloc(cap)))
		return fangs__error_oom();
	snprintf(path, sizeof(path), "/etc/%s", name);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			const char *c = strchr(line, ':');
			/* name:x:id: ... drop the host's holder of id 1000 and of the name */
			const char *id = c ? strchr(c + 1, ':') : NULL;
			if (id && (!strncmp(id, ":1000:", 6) ||
				   ((size_t)(c - line) == strlen(p->user) && !strncmp(line, p->user, strlen(p->user)))))
				continue;
			if (len + strlen(line) + 1 < cap - sizeof(mine)) {
				memcpy(out + len, line, strlen(line));
				len += strlen(line);
			}
		}
		fclose(f);
	}
	memcpy(out + len, mine, strlen(mine) + 1);
	rc = fangs__write_at(run->etc_dir, name, out, 0644);
	free(out);
	return rc;
}

/* The files shown over the host's /etc ones, on a small tmpfs of the run
 * (so that no host path of ours shows in the sandbox's mount table). */
static int write_etc_files(fangs_sandbox_run *run)
{
	char hosts[512], hostname[80];
	int rc;
	if (mkdir(run->etc_dir, 0755) < 0)
		return fangs__error_errno(FANGS_EIO, run->etc_dir);
	if (mount("tmpfs", run->etc_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") < 0)
		return fangs__error_errno(FANGS_ESANDBOX, run->etc_dir);
	run->etc_mounted = 1;
	/* A resolver on a loopback address inside the sandbox's own network
	 * namespace: the query is sent (and seen) even with no network. With a
	 * real network the host's resolvers are used. */
	if (run->sb->opts.network == FANGS_SANDBOX_NET_BRIDGE) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/resolv.conf", run->etc_dir);
		if (fangs__copy_file("/etc/resolv.conf", path) < 0 &&
		    (rc = fangs__write_at(run->etc_dir, "resolv.conf", "nameserver 1.1.1.1\n", 0644)) < 0)
			return rc;
	} else if ((rc = fangs__write_at(
			    run->etc_dir, "resolv.conf",
			    "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
			    "# Do not edit.\n#\n"
			    "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
			    0644)) < 0) {
		return rc;
	}
	if ((rc = collect_infra(run)) < 0)
		return rc;
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n# The following lines are desirable for IPv6 capable hosts\n"
		 "::1     ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\n"
		 "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
		 run->who.hostname);
	snprintf(hostname, sizeof(hostname), "%s\n", run->who.hostname);
	if ((rc = fangs__write_at(run->etc_dir, "hosts", hosts, 0644)) < 0 ||
	    (rc = fangs__write_at(run->etc_dir, "hostname", hostname, 0644)) < 0)
		return rc;
	if (host_root(run->sb->backend) &&
	    ((rc = write_id_file(run, "passwd")) < 0 || (rc = write_id_file(run, "group")) < 0))
		return rc;
	return 0;
}

/* HOME is a tmpfs of its own, made on the host: a package that fills it
 * gets ENOSPC at opts.disk_bytes and the host's disk is never touched; bound
 * into the sandbox, its mount shows no host path. */
static int make_home(fangs_sandbox_run *run)
{
	char data[64];
	if (mkdir(run->home_dir, 0700) < 0)
		return fangs__error_errno(FANGS_EIO, run->home_dir);
	snprintf(data, sizeof(data), "mode=0700,size=%lld", (long long)run->sb->opts.disk_bytes);
	if (mount("tmpfs", run->home_dir, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
		return fangs__error_errno(FANGS_ESANDBOX, run->home_dir);
	run->home_mounted = 1;
	return 0;
}

static int make_dirs(fangs_sandbox_run *run)
{
	char marker[4096];
	int rc;
	if (mkdir(run->work_dir, 0711) < 0)
		return fangs_error_set(errno == EEXIST ? FANGS_EEXISTS : FANGS_EIO, "%s: %s", run->work_dir,
				       strerror(errno));
	/* the marker is locked before it has its name: a gc (of another
	 * scanner on this host) never finds it unlocked while the run lives */
	snprintf(marker, sizeof(marker), "%s/" RUN_MARKER ".new", run->work_dir);
	run->lock_fd = open(marker, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (run->lock_fd < 0 || flock(run->lock_fd, LOCK_EX) < 0)
		return fangs__error_errno(FANGS_EIO, marker);
	{
		char named[4096];
		snprintf(named, sizeof(named), "%s/" RUN_MARKER, run->work_dir);
		if (rename(marker, named) < 0)
			return fangs__error_errno(FANGS_EIO, named);
	}
	if ((rc = make_home(run)) < 0 || (rc = fangs__mkdir_p(run->project_dir, 0755)) < 0)
		return rc;
	if (chmod(run->home_dir, 0700) < 0)
		return fangs__error_errno(FANGS_EIO, run->home_dir);
	return 0;
}

/* Unmounts what make_dirs() mounted under a run directory (also of runs
 * whose scanner was killed). */
static void unmount_run(const char *work_dir)
{
	static const char *const subs[] = {"home", "etc"};
	char path[4096];
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(subs); i++) {
		snprintf(path, sizeof(path), "%s/%s", work_dir, subs[i]);
		while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			;
	}
}

/* The registry ~/.npmrc names: the spec's, else npm's configuration
 * (asked once per sandbox), else none. */
static const char *registry_for(fangs_sandbox *sb, const fangs_sandbox_spec *spec)
{
	if (spec->version >= 2 && spec->registry)
		return spec->registry;
	if (!sb->registry_asked) {
		char url[1024];
		sb->registry_asked = 1;
		if (fangs_registry_configured(sb->npm, url, sizeof(url)) == 0)
			sb->registry = fangs__strdup(url);
	}
	return sb->registry;
}

int fangs_sandbox_prepare(fangs_sandbox *sb, const fangs_sandbox_spec *in, fangs_sandbox_run **out)
{
	fangs_sandbox_spec copy;
	const fangs_sandbox_spec *spec = &copy;
	fangs_sandbox_run *run;
	int rc;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "out is NULL");
	*out = NULL;
	if (!sb || !in)
		return fangs_error_set(FANGS_EINVAL, "sandbox and spec are required");
	if ((rc = fangs__opts_copy(&copy, in, &spec_defaults, spec_sizes, FANGS_SANDBOX_SPEC_VERSION,
				   "fangs_sandbox_spec")) < 0)
		return rc;
	if (!valid_run_id(spec->run_id))
		return fangs_error_set(FANGS_EINVAL, "run id '%s' must be 1-63 of [A-Za-z0-9._-]",
				       spec->run_id ? spec->run_id : "(null)");
	if (spec->nspecs > 0 && !spec->specs)
		return fangs_error_set(FANGS_EINVAL, "spec.specs is NULL with nspecs %zu", spec->nspecs);
	if (spec->cache_dir && spec->cache_dir[0] != '/')
		return fangs_error_set(FANGS_EINVAL, "cache_dir must be absolute: %s", spec->cache_dir);
	if (spec->cache_dir && access(spec->cache_dir, R_OK | X_OK) != 0)
		return fangs_error_set(FANGS_ENOTFOUND, "npm cache %s: %s", spec->cache_dir, strerror(errno));
	if (sb->opts.network == FANGS_SANDBOX_NET_PROXY && (spec->version < 2 || !spec->proxy))
		return fangs_error_set(FANGS_EINVAL, "network proxy needs a proxy (spec.proxy, fangs_proxy_new)");

	if (!(run = calloc(1, sizeof(*run))))
		return fangs__error_oom();
	run->sb = sb;
	run->lock_fd = -1;
	if (sb->opts.network == FANGS_SANDBOX_NET_PROXY)
		run->proxy = spec->proxy;
	/* a new person on a new machine every run; docker's image runs as root */
	fangs__persona_pick(&run->who, sb->hostname, !host_root(sb->backend));
	run->run_id = fangs__strdup(spec->run_id);
	run->work_dir = fangs__asprintf("%s/%s", sb->work_root, spec->run_id);
	run->home_dir = fangs__asprintf("%s/home", run->work_dir);
	run->project_dir = fangs__asprintf("%s/home/app", run->work_dir);
	run->etc_dir = fangs__asprintf("%s/etc", run->work_dir);
	run->home_inside = fangs__strdup(run->who.home);
	run->project_inside = fangs__asprintf("%s/app", run->who.home);
	run->cache_dir = fangs__strdup(spec->cache_dir);
	/* ns: npm's own default cache place, ~/.npm, holds the host's cache */
	if (host_root(sb->backend)) {
		run->cache_inside = fangs__asprintf("%s/.npm/_cacache", run->who.home);
		run->cache_mount = spec->cache_dir ? fangs__asprintf("%s/_cacache", spec->cache_dir) : NULL;
	} else {
		run->cache_inside = fangs__strdup(FANGS__CACHE_INSIDE);
		run->cache_mount = fangs__strdup(spec->cache_dir);
	}
	run->ring = malloc(FANGS_SANDBOX_OUTPUT_MAX);
	if (!run->run_id || !run->work_dir || !run->home_dir || !run->project_dir || !run->ring || !run->etc_dir ||
	    !run->home_inside || !run->project_inside || !run->cache_inside ||
	    (spec->cache_dir && (!run->cache_dir || !run->cache_mount))) {
		rc = fangs__error_oom();
		goto fail;
	}
	if ((rc = make_dirs(run)) < 0) {
		if (rc == FANGS_EEXISTS) {
			/* not ours: keep it */
			free(run->work_dir);
			run->work_dir = NULL;
		}
		goto fail;
	}
	if ((rc = fangs__npm_command(&run->argv, spec, sb->npm, sb->npm_major, run->project_dir)) < 0 ||
	    (rc = build_env(run, spec)) < 0 ||
	    (rc = fangs__plant_decoys(&run->decoys, &run->who, run->home_dir, run->project_dir,
				      registry_for(sb, spec))) < 0 ||
	    (rc = fangs__collect_decoy_files(&run->decoy_files, &run->decoys, run->home_dir, run->home_inside)) < 0 ||
	    (rc = set_nodedir(run)) < 0 || (rc = write_etc_files(run)) < 0)
		goto fail;
	if (host_root(sb->backend) && run->cache_mount) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/.npm/_cacache", run->home_dir);
		if (access(run->cache_mount, F_OK) != 0) {
			/* an empty cache: nothing to show */
			free(run->cache_mount);
			run->cache_mount = NULL;
		} else if ((rc = fangs__mkdir_p(p, 0755)) < 0) {
			goto fail;
		}
	}
	if (spec->version >= 2 && (rc = fangs__import_step(&run->import_argv, &run->import_timeout_ms, spec)) < 0)
		goto fail;
	/* last, so that a failure above leaves no cgroup behind */
	if ((rc = fangs__cgroup_create(&run->cg, sb->cgroup_root, run->run_id, &sb->opts.limits)) < 0)
		goto fail;
	*out = run;
	return 0;
fail: {
	fangs_error_state keep;
	fangs_error_state_capture(&keep, rc);
	fangs_sandbox_run_free(run);
	return fangs_error_state_restore(&keep);
}
}

int fangs_sandbox_decoys(const fangs_sandbox_run *run, const fangs_decoy **decoys, size_t *n)
{
	if (!run || !decoys || !n)
		return fangs_error_set(FANGS_EINVAL, "fangs_sandbox_decoys: NULL argument");
	*decoys = run->decoys.items;
	*n = run->decoys.count;
	return 0;
}

const char *fangs_sandbox_cgroup_path(const fangs_sandbox_run *run)
{
	return run ? run->cg.v2 : NULL;
}

uint64_t fangs_sandbox_cgroup_id(const fangs_sandbox_run *run)
{
	return run ? run->cg.id : 0;
}

const char *fangs_sandbox_work_dir(const fangs_sandbox_run *run)
{
	return run ? run->work_dir : NULL;
}

const char *fangs_sandbox_project_dir(const fangs_sandbox_run *run)
{
	return run ? run->project_dir : NULL;
}

int fangs_sandbox_proxy_endpoint(const fangs_sandbox_run *run, const char **addr, uint16_t *port)
{
	if (!run || !run->proxy)
		return fangs_error_set(FANGS_ENOTFOUND, "the run's network is not proxy");
	if (addr)
		*addr = FANGS__PROXY_ADDR;
	if (port)
		*port = FANGS__PROXY_PORT;
	return 0;
}

int fangs_sandbox_decoy_files(const fangs_sandbox_run *run, const fangs_sandbox_decoy_file **out, size_t *count)
{
	if (!run || !out || !count)
		return fangs_error_set(FANGS_EINVAL, "fangs_sandbox_decoy_files: NULL argument");
	*out = run->decoy_files.items;
	*count = run->decoy_files.count;
	return 0;
}

int fangs_sandbox_start(fangs_sandbox_run *run)
{
	fangs_sandbox_job *j;
	char res[4200], hosts[4200];
	int rc;
	if (!run)
		return fangs_error_set(FANGS_EINVAL, "run is NULL");
	if (run->started)
		return fangs_error_set(FANGS_EINVAL, "run %s was started already", run->run_id);
	j = &run->job;
	memset(j, 0, sizeof(*j));
	snprintf(res, sizeof(res), "%s/resolv.conf", run->etc_dir);
	snprintf(hosts, sizeof(hosts), "%s/hosts", run->etc_dir);
	j->version = FANGS_SANDBOX_JOB_VERSION;
	j->run_id = run->run_id;
	j->opts = &run->sb->opts;
	j->work_dir = run->work_dir;
	j->home_dir = run->home_dir;
	j->cache_dir = run->cache_mount;
	j->home_inside = run->home_inside;
	j->project_inside = run->project_inside;
	j->cache_inside = run->cache_inside;
	j->hostname = run->who.hostname;
	j->user = run->who.login;
	j->etc_dir = run->etc_dir;
	j->argv = (const char *const *)run->argv;
	j->envp = (const char *const *)run->envp;
	j->cgroup_v2 = run->cg.v2;
	j->cgroup_v1 = (const char *const *)run->cg.v1;
	j->resolv_conf = res;
	j->hosts = hosts;
	j->output = on_output;
	j->output_user = run;
	if (run->proxy) {
		if (run->sb->backend->version < 2)
			return fangs_error_set(FANGS_EUNSUPPORTED, "sandbox backend '%s' predates network proxy",
					       run->sb->backend->name);
		j->proxy = run->proxy;
		j->proxy_addr = FANGS__PROXY_ADDR;
		j->proxy_port = FANGS__PROXY_PORT;
	}
	j->import_argv = (const char *const *)run->import_argv;
	j->import_timeout_ms = run->import_timeout_ms;
	run->start_ns = fangs__monotonic_ns();
	j->start_ns = run->start_ns;
	rc = run->sb->backend->start(run->sb->backend, j, &run->handle);
	/* the job's paths on our stack are read by start() only */
	j->resolv_conf = j->hosts = NULL;
	if (rc < 0) {
		run->handle = NULL;
		return rc;
	}
	run->started = 1;
	if (run->import_argv && !(run->sb->backend->version >= 2 && run->sb->backend->runs_import)) {
		char note[160];
		snprintf(note, sizeof(note), "[fangs] import: not run: the %s sandbox has no import step\n",
			 run->sb->backend->name ? run->sb->backend->name : "?");
		on_output(note, strlen(note), run);
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void take_output(fangs_sandbox_run *run, fangs_sandbox_result *r)
{
	size_t len = run->ring_total < FANGS_SANDBOX_OUTPUT_MAX ? (size_t)run->ring_total : FANGS_SANDBOX_OUTPUT_MAX;
	size_t start = run->ring_total < FANGS_SANDBOX_OUTPUT_MAX ? 0 : run->ring_pos;
	size_t nuls = 0, o = 0;
	for (size_t i = 0; i < len; i++)
		nuls += run->ring[(start + i) % FANGS_SANDBOX_OUTPUT_MAX] == '\0';
	/* a NUL byte would end the text where everything after it (the reason
	 * an install failed) is read: it shows as U+2400 instead */
	r->output = malloc(len + 2 * nuls + 1);
	if (!r->output)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = run->ring[(start + i) % FANGS_SANDBOX_OUTPUT_MAX];
		if (c == '\0') {
			memcpy(r->output + o, "\xe2\x90\x80", 3);
			o += 3;
		} else {
			r->output[o++] = c;
		}
	}
	r->output[o] = '\0';
	r->output_len = o;
	r->output_truncated = run->ring_total > FANGS_SANDBOX_OUTPUT_MAX;
}

int fangs_sandbox_wait(fangs_sandbox_run *run, fangs_sandbox_result *r)
{
	fangs_sandbox_backend *b;
	int64_t deadline, grace_ns, exited_at = 0;
	int status = 0, rc, tick = 0;

	if (!run || !r)
		return fangs_error_set(FANGS_EINVAL, "run and result are required");
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	if (!run->started || run->finished)
		return fangs_error_set(FANGS_EINVAL, "run %s is not running", run->run_id);
	b = run->sb->backend;
	deadline = run->start_ns + run->sb->opts.duration_ms * 1000000LL;
	grace_ns = run->sb->opts.grace_ms * 1000000LL;
	for (;;) {
		int64_t now;
		if (!r->exited) {
			rc = b->poll(b, run->handle, &status);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				r->exited = 1;
				exited_at = fangs__monotonic_ns();
				if (WIFEXITED(status)) {
					r->exit_code = WEXITSTATUS(status);
				} else if (WIFSIGNALED(status)) {
					r->term_signal = WTERMSIG(status);
					r->exit_code = 128 + r->term_signal;
				}
			}
		} else {
			/* keep draining output of what the install left running */
			b->poll(b, run->handle, &status);
		}
		/* sampled: a container's cgroup, which counts its OOM kills on
		 * cgroup v1, goes away with the container */
		if (tick++ % 10 == 0) {
			int64_t oom = fangs__cgroup_oom_kills(&run->cg);
			if (oom > r->oom_kills)
				r->oom_kills = oom;
		}
		now = fangs__monotonic_ns();
		if (r->exited && now >= exited_at + grace_ns && fangs__cgroup_count(&run->cg) == 0)
			break;
		if (now >= deadline) {
			r->processes_left = fangs__cgroup_count(&run->cg);
			r->timed_out = !r->exited || r->processes_left > 0;
			break;
		}
		sleep_ms(10);
	}
	rc = fangs__cgroup_kill(&run->cg);
	r->duration_ns = fangs__monotonic_ns() - run->start_ns;
	int64_t oom = fangs__cgroup_oom_kills(&run->cg);
	if (oom > r->oom_kills)
		r->oom_kills = oom;
	if (b->oom_kills && (oom = b->oom_kills(b, run->handle)) > r->oom_kills)
		r->oom_kills = oom;
	/* the last output, written just before the kill */
	b->poll(b, run->handle, &status);
	run->finished = 1;
	take_output(run, r);
	if (!r->output)
		return fangs__error_oom();
	return rc < 0 ? rc : 0;
}

void fangs_sandbox_result_clear(fangs_sandbox_result *r)
{
	if (!r)
		return;
	free(r->output);
	memset(r, 0, sizeof(*r));
}

void fangs_sandbox_run_free(fangs_sandbox_run *run)
{
	if (!run)
		return;
	if (run->cg.v2)
		fangs__cgroup_kill(&run->cg);
	if (run->handle)
		run->sb->backend->release(run->sb->backend, run->handle);
	fangs__cgroup_destroy(&run->cg);
	if (run->work_dir && (run->home_mounted || run->etc_mounted))
		unmount_run(run->work_dir);
	if (run->work_dir && fangs__rm_rf(run->work_dir) < 0)
		fangs_warn("%s", fangs_error_last());
	if (run->lock_fd >= 0)
		close(run->lock_fd);
	fangs__strv_free(run->argv);
	fangs__strv_free(run->envp);
	fangs__decoy_list_free(&run->decoy_files);
	fangs__strv_free(run->import_argv);
	free(run->run_id);
	free(run->work_dir);
	free(run->home_dir);
	free(run->project_dir);
	free(run->cache_dir);
	free(run->etc_dir);
	free(run->home_inside);
	free(run->project_inside);
	free(run->cache_inside);
	free(run->cache_mount);
	fangs__decoys_clear(&run->decoys);
	free(run->ring);
	for (size_t i = 0; i < run->n_infra; i++)
		free(run->infra[i]);
	free(run->infra);
	free(run);
}
