/*
 * differ/differ.c - a run against its baseline.
 *
 * One pass over the events: each is fingerprinted into a stack buffer,
 * hashed once, added to the run's set and looked up in the baseline. Only
 * fingerprints the baseline lacks cost anything more (a copy, evidence ids,
 * an allowlist check), and those are few in a run worth its baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "differ/internal.h"

#define EVIDENCE_MAX FANGS__EVIDENCE_MAX

static int compile_infra(fangs_differ *d, const char *const *infra, size_t n)
{
	int rc;
	if (!infra)
		return fangs_error_set(FANGS_EINVAL, "differ options: %zu sandbox endpoints but no array", n);
	if (!(d->infra = calloc(n, sizeof(*d->infra))))
		return fangs__error_oom();
	for (size_t i = 0; i < n; i++)
		if ((rc = fangs__infra_parse(infra[i], &d->infra[i])) < 0)
			return rc;
	d->n_infra = n;
	return 0;
}

/* Is the connect's peer one of the sandbox's own endpoints? */
static bool infra_peer(const fangs_differ *d, const fangs_event *ev)
{
	return ev->kind == FANGS_EV_NET_CONNECT && ev->family != FANGS_FAMILY_UNIX &&
	       fangs__infra_match(d->infra, d->n_infra, ev->addr, ev->port);
}

static const size_t differ_sizes[] = {
	0, offsetof(fangs_differ_options, infra), /* 1 */
	sizeof(fangs_differ_options),             /* 2: infra, n_infra */
};
FANGS__OPTS_SIZES_ASSERT(differ_sizes, FANGS_DIFFER_OPTIONS_VERSION);
static const fangs_differ_options differ_defaults = FANGS_DIFFER_OPTIONS_INIT;

int fangs_differ_options_init(fangs_differ_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &differ_defaults, differ_sizes, FANGS_DIFFER_OPTIONS_VERSION,
				"fangs_differ_options");
}

int fangs_differ_new(fangs_differ **out, const fangs_differ_options *opts)
{
	fangs_differ_options o;
	fangs_differ *d;
	int rc;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "differ: out is NULL");
	*out = NULL;
	if ((rc = fangs__opts_copy(&o, opts, &differ_defaults, differ_sizes, FANGS_DIFFER_OPTIONS_VERSION,
				   "fangs_differ_options")) < 0)
		return rc;
	opts = &o;
	d = calloc(1, sizeof(*d));
	if (!d)
		return fangs__error_oom();
	d->config = opts->config;
	if (d->config &&
	    (rc = fangs__allow_compile(&d->allow, d->config->allow.items, d->config->allow.count, NULL)) < 0) {
		fangs_differ_free(d);
		return rc;
	}
	if (opts->n_infra && (rc = compile_infra(d, opts->infra, opts->n_infra)) < 0) {
		fangs_differ_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void fangs_differ_free(fangs_differ *d)
{
	if (!d)
		return;
	fangs__allow_set_free(&d->allow);
	free(d->infra);
	free(d);
}

/* A fingerprint the baseline lacks, with what is known of it so far. */
typedef struct pending {
	uint64_t hash;
	fangs_fp_kind kind;
	fangs_actor actor;
	char *value;
	size_t len;
	size_t first; /* index of the first evidence event */
	bool cred;
	size_t n_ids;
	int64_t ids[EVIDENCE_MAX];
} pending;

typedef struct pending_set {
	pending *items;
	size_t count;
	size_t capacity;
	uint32_t *index; /* open addressing: position + 1, 0 = empty */
	size_t mask;
} pending_set;

static void pending_free(pending_set *ps)
{
	for (size_t i = 0; i < ps->count; i++)
		free(ps->items[i].value);
	free(ps->items);
	free(ps->index);
}

static int pending_reindex(pending_set *ps, size_t slots)
{
	uint32_t *idx = calloc(slots, sizeof(*idx));
	if (!idx)
		return fangs__error_oom();
	for (size_t i = 0; i < ps->count; i++) {
		size_t j = (size_t)ps->items[i].hash & (slots - 1);
		while (idx[j])
			j = (j + 1) & (slots - 1);
		idx[j] = (uint32_t)(i + 1);
	}
	free(ps->index);
	ps->index = idx;
	ps->mask = slots - 1;
	return 0;
}

/* The pending entry of a fingerprint, created on first sight (*created). */
static pending *pending_get(pending_set *ps, uint64_t h, fangs_fp_kind kind, fangs_actor actor, const char *v,
			    size_t len, bool *created)
{
	size_t j;
	pending *p;
	*created = false;
	if (ps->index) {
		for (j = (size_t)h & ps->mask; ps->index[j]; j = (j + 1) & ps->mask) {
			p = &ps->items[ps->index[j] - 1];
			if (p->hash == h && p->kind == kind && p->actor == actor && p->len == len &&
			    memcmp(p->value, v, len) == 0)
				return p;
		}
	}
	if (ps->count >= UINT32_MAX - 1) {
		fangs_error_set(FANGS_EINVAL, "too many new fingerprints");
		return NULL;
	}
	if ((!ps->index || (ps->count + 1) * 2 > ps->mask + 1) &&
	    pending_reindex(ps, ps->index ? (ps->mask + 1) * 2 : 64) < 0)
		return NULL;
	if (FANGS_GROW(ps))
		return NULL;
	p = &ps->items[ps->count];
	memset(p, 0, offsetof(pending, ids));
	p->value = fangs__strndup(v, len);
	if (!p->value)
		return NULL;
	p->hash = h;
	p->kind = kind;
	p->actor = actor;
	p->len = len;
	for (j = (size_t)h & ps->mask; ps->index[j];)
		j = (j + 1) & ps->mask;
	ps->index[j] = (uint32_t)(++ps->count);
	*created = true;
	return p;
}

static const char *deviation_kind(const pending *p)
{
	switch (p->kind) {
	case FANGS_FP_FS_READ:
		return p->cred ? "fs_cred_read" : "fs_new_path_read";
	case FANGS_FP_FS_WRITE:
		return p->cred ? "fs_cred_read" : "fs_new_path_write";
	case FANGS_FP_EXEC:
		return "proc_new_exec";
	case FANGS_FP_NET:
		return "net_new_destination";
	case FANGS_FP_DNS:
		return "net_new_dns";
	case FANGS_FP_SNI:
		return "net_new_https_host";
	case FANGS_FP_SYSCALL:
		return "proc_new_syscall";
	}
	return "unknown";
}

/* The package's own override wins over a global one, which wins over the default. */
fangs_severity fangs__severity_for(const fangs_config *cfg, const char *package, const char *kind,
				   fangs_severity fallback)
{
	const fangs_severity_override *global = NULL;
	for (size_t i = 0; cfg && i < cfg->n_severity; i++) {
		const fangs_severity_override *s = &cfg->severity[i];
		if (!s->kind || strcmp(s->kind, kind) != 0)
			continue;
		if (!s->package) {
			if (!global)
				global = s;
		} else if (package && strcmp(s->package, package) == 0) {
			return s->severity;
		}
	}
	return global ? global->severity : fallback;
}

char *fangs__join_argv(const fangs_event *ev)
{
	size_t n = 0, off = 0;
	char *s;
	for (size_t i = 0; i < ev->argc; i++)
		n += (ev->argv[i] ? strlen(ev->argv[i]) : 0) + 1;
	s = malloc(n ? n : 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < ev->argc; i++) {
		size_t l = ev->argv[i] ? strlen(ev->argv[i]) : 0;
		if (i)
			s[off++] = ' ';
		memcpy(s + off, ev->argv[i] ? ev->argv[i] : "", l);
		off += l;
	}
	s[off] = '\0';
	return s;
}

#define DUP_OR_FAIL(dst, src) \
	do { \
		if ((src) && !((dst) = strdup(src))) \
			return fangs__error_oom(); \
	} while (0)

static int fill_deviation(const fangs_differ *d, const fangs_differ_input *in, pending *p, fangs_deviation *dev)
{
	const fangs_event *ev = &in->events[p->first];
	const fangs_config *cfg = d->config;

	DUP_OR_FAIL(dev->run_id, in->run_id);
	DUP_OR_FAIL(dev->package, in->package);
	DUP_OR_FAIL(dev->kind, deviation_kind(p));
	dev->severity =
		fangs__severity_for(cfg, in->package, dev->kind, fangs_deviation_kind_default_severity(dev->kind));
	dev->value = p->value; /* moved */
	p->value = NULL;
	dev->actor = p->actor;
	DUP_OR_FAIL(dev->origin.package, ev->origin.package);
	DUP_OR_FAIL(dev->origin.version, ev->origin.version);
	DUP_OR_FAIL(dev->origin.script, ev->origin.script);
	DUP_OR_FAIL(dev->origin.command, ev->origin.command);
	if (ev->kind == FANGS_EV_EXEC && ev->argc > 0 && ev->argv) {
		if (!(dev->command = fangs__join_argv(ev)))
			return fangs__error_oom();
	} else {
		DUP_OR_FAIL(dev->command, ev->origin.command);
	}
	dev->evidence = malloc(p->n_ids * sizeof(*dev->evidence));
	if (!dev->evidence)
		return fangs__error_oom();
	memcpy(dev->evidence, p->ids, p->n_ids * sizeof(*dev->evidence));
	dev->n_evidence = p->n_ids;
	dev->created_ns = fangs__now_ns();
	return 0;
}

/*
 * A file npm wrote into a package directory: the file, and the directories
 * from the package's down to it (as fs_read members, for a script listing
 * them), go to the run's `unpacked` set.
 */
static int note_unpacked(fangs_fpset *set, const char *v, size_t len)
{
	bool inside;
	size_t dir = fangs__content_dir(v, len, &inside);
	int rc;
	if (!dir || !inside)
		return 0;
	rc = fangs__fpset_put(set, fangs__fp_hash(FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, v, len), FANGS_FP_FS_WRITE,
			      FANGS_ACTOR_NPM, v, len);
	/* inner directories first: one already there has its parents too */
	for (size_t k = len; rc >= 0 && k-- > dir;) {
		if (v[k] != '/')
			continue;
		rc = fangs__fpset_put(set, fangs__fp_hash(FANGS_FP_FS_READ, FANGS_ACTOR_NPM, v, k), FANGS_FP_FS_READ,
				      FANGS_ACTOR_NPM, v, k);
		if (rc == 0)
			break;
	}
	return rc < 0 ? rc : 0;
}

static int is_import_fp(const fangs_fingerprint *fp, void *user)
{
	(void)user;
	return fp->actor == FANGS_ACTOR_IMPORT;
}

/* Fingerprints every event; the new ones go to `ps` (when it is non-NULL),
 * what npm unpacked to `unpacked` (likewise).
 * A baseline made before the import phase existed (or with it turned off)
 * has nothing to compare that phase with: like a first run, it seeds. */
static int scan_events(const fangs_differ *d, const fangs_differ_input *in, fangs_fpset *run_fps, pending_set *ps,
		       fangs_fpset *unpacked)
{
	const bool compare_import = ps && fangs_fpset_foreach(in->baseline, is_import_fp, NULL) != 0;
	const fangs_norm_ctx nctx = {in->package, in->version};
	fangs__norm ctx;
	char small[FANGS__FP_BUF];

	fangs__norm_prepare(&ctx, &nctx);

	for (size_t i = 0; i < in->n_events; i++) {
		const fangs_event *ev = &in->events[i];
		fangs_fp_kind kind = FANGS_FP_FS_READ;
		fangs_actor actor;
		fangs__sink o;
		char *heap = NULL;
		const char *v = small;
		size_t len;
		uint64_t h;
		int rc = 0;
		bool created;
		pending *p;

		fangs__sink_init(&o, small, sizeof(small));
		if (!fangs__fp_value(&ctx, ev, &kind, &o))
			continue;
		len = fangs__sink_end(&o);
		if (len >= sizeof(small)) {
			if (!(heap = malloc(len + 1)))
				return fangs__error_oom();
			fangs__sink_init(&o, heap, len + 1);
			fangs__fp_value(&ctx, ev, &kind, &o);
			fangs__sink_end(&o);
			v = heap;
		}
		actor = fangs_event_actor(ev);
		h = fangs__fp_hash(kind, actor, v, len);
		if (run_fps)
			rc = fangs__fpset_put(run_fps, h, kind, actor, v, len);
		if (rc >= 0 && unpacked && actor == FANGS_ACTOR_NPM && kind == FANGS_FP_FS_WRITE)
			rc = note_unpacked(unpacked, v, len);
		if (rc >= 0 && ps && (actor != FANGS_ACTOR_IMPORT || compare_import) &&
		    !fangs__fpset_has(in->baseline, h, kind, actor, v, len)) {
			if (!(p = pending_get(ps, h, kind, actor, v, len, &created))) {
				rc = FANGS_ENOMEM;
			} else {
				if (created)
					p->first = i;
				/* a configured secret place may match one raw path and not
				 * another; an O_RDWR open of a secret reads it as well */
				if (!p->cred && p->n_ids < EVIDENCE_MAX &&
				    (kind == FANGS_FP_FS_READ ||
				     (kind == FANGS_FP_FS_WRITE && (ev->flags & FANGS_OPEN_READ))))
					p->cred = fangs__open_is_cred(d->config, ev, v);
				if (p->n_ids < EVIDENCE_MAX)
					p->ids[p->n_ids++] = ev->id;
			}
		}
		free(heap);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * What a new program or a new lookup brings along is not news of its own:
 * the dynamic loader reads the program's libraries, the C library its
 * locale data, and the resolver its configuration. When the same process
 * also has a new exec (or a new DNS name), those reads are folded into that
 * finding instead of standing as dozens of low ones. Credential places are
 * never folded.
 */
static bool loader_read(const char *p)
{
	static const char *const dirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/"};
	static const char *const data[] = {"/etc/ld.so.cache",         "/etc/ld.so.preload",   "/usr/lib/locale/",
					   "/usr/share/locale/",       "/usr/share/zoneinfo/", "/etc/localtime",
					   "/usr/share/terminfo/",     "/lib/terminfo/",       "/etc/terminfo/",
					   "/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf"};
	const char *base;
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		if (!strncmp(p, data[i], strlen(data[i])))
			return true;
	base = strrchr(p, '/');
	/* iconv's modules and their cache, in any architecture's lib dir */
	if (!strncmp(p, "/usr/lib/", 9) && strstr(p, "/gconv/"))
		return true;
	if (!base || !strstr(base, ".so"))
		return false;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(p, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

static bool resolver_read(const char *p)
{
	static const char *const files[] = {"/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/hosts",
					    "/etc/host.conf",   "/etc/gai.conf",      "/etc/services"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(p, files[i]))
			return true;
	return false;
}

static bool has_new(const pending_set *ps, const fangs_event *events, fangs_fp_kind kind, int32_t pid)
{
	for (size_t i = 0; i < ps->count; i++)
		if (ps->items[i].kind == kind && events[ps->items[i].first].pid == pid)
			return true;
	return false;
}

/* Does process `pid` run the program at `path` (an exec of it in this run)?
 * The run's execs go into a set on first use: a flood of new reads must not
 * cost a pass over every event each. */
static bool runs_program(const fangs_event *events, size_t n, int32_t pid, const char *path, fangs_fpset **execs)
{
	char small[512], *key = small;
	size_t need;
	bool found;

	if (!*execs) {
		if (fangs_fpset_new(execs) < 0)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (events[i].kind != FANGS_EV_EXEC || !events[i].path)
				continue;
			need = strlen(events[i].path) + 16;
			if (need > sizeof(small) && !(key = malloc(need)))
				return false;
			snprintf(key, need > sizeof(small) ? need : sizeof(small), "%d:%s", events[i].pid,
				 events[i].path);
			fangs_fpset_add(*execs, FANGS_FP_EXEC, FANGS_ACTOR_NPM, key);
			if (key != small)
				free(key);
			key = small;
		}
	}
	need = strlen(path) + 16;
	if (need > sizeof(small) && !(key = malloc(need)))
		return false;
	snprintf(key, need > sizeof(small) ? need : sizeof(small), "%d:%s", pid, path);
	found = fangs_fpset_contains(*execs, FANGS_FP_EXEC, FANGS_ACTOR_NPM, key);
	if (key != small)
		free(key);
	return found;
}

/*
 * What a runtime reads to learn about the machine it runs on changes from
 * run to run (how many CPUs are online, load, memory, its own process
 * state) and says nothing of a package. Matched on the normalized value;
 * a process's environment, memory and command line are not in the list.
 */
static bool sysinfo_read(const char *v)
{
	static const char *const files[] = {
		"/proc/stat",
		"/proc/meminfo",
		"/proc/cpuinfo",
		"/proc/loadavg",
		"/proc/uptime",
		"/proc/version",
		"/proc/filesystems",
		"/proc/mounts",
		"/proc/swaps",
		"/proc/zoneinfo",
		"/proc/vmstat",
		"/proc/pressure/cpu",
		"/proc/pressure/memory",
		"/proc/pressure/io",
		"/proc/sys/kernel/osrelease",
		"/proc/sys/kernel/ostype",
		"/proc/sys/kernel/version",
		"/proc/sys/kernel/hostname",
		"/proc/sys/kernel/pid_max",
		"/proc/sys/kernel/threads-max",
		"/proc/sys/kernel/perf_event_paranoid",
		"/proc/sys/vm/overcommit_memory",
		"/proc/sys/vm/max_map_count",
		"/proc/sys/fs/file-max",
		"/proc/sys/fs/nr_open",
		"/sys/kernel/mm/transparent_hugepage/enabled",
		"/sys/kernel/mm/transparent_hugepage/defrag",
		"/sys/kernel/mm/transparent_hugepage/shmem_enabled",
		"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
	};
	static const char *const dirs[] = {"/sys/devices/system/cpu/", "/sys/devices/system/node/", "/sys/fs/cgroup/"};
	/* /proc/<pid>/x and /proc/<pid>/task/<tid>/x */
	static const char *const own[] = {"stat",      "statm",     "status",        "maps",   "smaps", "smaps_rollup",
					  "cgroup",    "mountinfo", "mounts",        "limits", "comm",  "sched",
					  "schedstat", "io",        "oom_score_adj", "auxv"};
	const char *rest;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(files); i++)
		if (!strcmp(v, files[i]))
			return true;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i]);
		if (!strncmp(v, dirs[i], n) || (!strncmp(v, dirs[i], n - 1) && v[n - 1] == '\0'))
			return true;
	}
	if (strncmp(v, "/proc/<pid>/", 12) != 0)
		return false;
	rest = v + 12;
	if (!strncmp(rest, "task/<tid>/", 11))
		rest += 11;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(own); i++)
		if (!strcmp(rest, own[i]))
			return true;
	return false;
}

/*
 * npm's own content cache: whether npm reads an index entry, writes a
 * temporary file or stores content depends on what the cache held before
 * the run (a miss for an optional platform package the registry does not
 * serve, a tarball fetched now), not on the package. Matched on the
 * normalized value, a `_cacache` component followed by cacache's own
 * directories, wherever npm's cache is; only npm's own opens: a script
 * writing into npm's cache is another matter.
 */
static bool npm_cache_infra(const pending *p)
{
	static const char *const dirs[] = {"/_cacache/tmp/", "/_cacache/index-v5/", "/_cacache/content-v2/"};
	if (p->actor != FANGS_ACTOR_NPM || (p->kind != FANGS_FP_FS_READ && p->kind != FANGS_FP_FS_WRITE))
		return false;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(dirs); i++)
		if (strstr(p->value, dirs[i]))
			return true;
	return false;
}

static bool folded(const fangs_differ *d, const pending_set *ps, const fangs_event *events, size_t n_events,
		   const pending *p, fangs_fpset **execs)
{
	const fangs_event *ev = &events[p->first];
	const char *file = fangs__open_path(ev);
	if (p->kind == FANGS_FP_NET)
		return infra_peer(d, ev);
	if (npm_cache_infra(p))
		return !p->cred;
	if (p->kind != FANGS_FP_FS_READ || p->cred || !file)
		return false;
	if (sysinfo_read(p->value))
		return true;
	/* node reads its own binary now and then (from a helper thread, after
	 * /proc/self/maps): a program reading itself is no news */
	if (runs_program(events, n_events, ev->pid, file, execs) ||
	    (ev->path && runs_program(events, n_events, ev->pid, ev->path, execs)))
		return true;
	if (loader_read(file))
		return has_new(ps, events, FANGS_FP_EXEC, ev->pid);
	if (resolver_read(file))
		return has_new(ps, events, FANGS_FP_DNS, ev->pid);
	return false;
}

/* What becomes of a new fingerprint. */
enum {
	FATE_REPORT = 0,
	FATE_DROP = 1,
	FATE_CONTENT = 2
};

static bool unpacked_has(const fangs_fpset *set, fangs_fp_kind kind, const char *v, size_t len)
{
	return fangs__fpset_has(set, fangs__fp_hash(kind, FANGS_ACTOR_NPM, v, len), kind, FANGS_ACTOR_NPM, v, len);
}

/*
 * The package directory a new fingerprint is content of (its length in the
 * value), or 0: npm's own writes and reads in a package directory npm
 * unpacked in this run, and a script's reads of what npm unpacked (a file,
 * or a directory on the way to one). Secrets never are content, nor is
 * anything a script writes.
 */
static size_t content_of(const pending *p, const fangs_fpset *unpacked, fangs__content_what *what)
{
	bool inside;
	size_t dir;
	if (p->cred || (p->kind != FANGS_FP_FS_READ && p->kind != FANGS_FP_FS_WRITE) ||
	    !(dir = fangs__content_dir(p->value, p->len, &inside)))
		return 0;
	if (p->actor == FANGS_ACTOR_NPM) {
		if ((p->kind == FANGS_FP_FS_WRITE && !inside) ||
		    !unpacked_has(unpacked, FANGS_FP_FS_READ, p->value, dir))
			return 0;
		*what = p->kind == FANGS_FP_FS_WRITE ? FANGS__CONTENT_ADDED : FANGS__CONTENT_NPM_READ;
		return dir;
	}
	if (p->kind != FANGS_FP_FS_READ || (!unpacked_has(unpacked, FANGS_FP_FS_WRITE, p->value, p->len) &&
					    !unpacked_has(unpacked, FANGS_FP_FS_READ, p->value, p->len)))
		return 0;
	*what = FANGS__CONTENT_SCRIPT_READ;
	return dir;
}

static int fill_content(const fangs_differ *d, const fangs_differ_input *in, fangs__content_sum *s,
			fangs_deviation *dev)
{
	const fangs_event *ev = &in->events[s->first];

	DUP_OR_FAIL(dev->run_id, in->run_id);
	DUP_OR_FAIL(dev->package, in->package);
	DUP_OR_FAIL(dev->kind, "content_changed");
	dev->severity = fangs__severity_for(d->config, in->package, dev->kind,
					    fangs_deviation_kind_default_severity(dev->kind));
	if (!(dev->value = fangs__strndup(s->dir, s->dlen)) || !(dev->description = fangs__content_describe(s)))
		return fangs__error_oom();
	dev->actor = FANGS_ACTOR_NPM;
	DUP_OR_FAIL(dev->origin.package, ev->origin.package);
	DUP_OR_FAIL(dev->origin.version, ev->origin.version);
	DUP_OR_FAIL(dev->origin.script, ev->origin.script);
	DUP_OR_FAIL(dev->origin.command, ev->origin.command);
	DUP_OR_FAIL(dev->command, ev->origin.command);
	dev->evidence = malloc((s->n_ids ? s->n_ids : 1) * sizeof(*dev->evidence));
	if (!dev->evidence)
		return fangs__error_oom();
	memcpy(dev->evidence, s->ids, s->n_ids * sizeof(*dev->evidence));
	dev->n_evidence = s->n_ids;
	dev->created_ns = fangs__now_ns();
	return 0;
}

/* Decides each new fingerprint's fate; content goes to its package's summary. */
static int judge(const fangs_differ *d, const fangs_differ_input *in, const fangs__allow_set *local, pending_set *ps,
		 const fangs_fpset *unpacked, uint8_t *fate, fangs__content_list *content, fangs_fpset **execs)
{
	for (size_t i = 0; i < ps->count; i++) {
		pending *p = &ps->items[i];
		const fangs_event *ev = &in->events[p->first];
		fangs__content_what what = FANGS__CONTENT_ADDED;
		fangs__content_sum *sum;
		size_t dir;
		if (fangs__allow_covers(&d->allow, p->kind, p->value, ev) ||
		    fangs__allow_covers(local, p->kind, p->value, ev)) {
			fate[i] = FATE_DROP;
		} else if ((dir = content_of(p, unpacked, &what))) {
			if (!(sum = fangs__content_get(content, p->value, dir, p->first)) ||
			    fangs__content_add(sum, what, p->value, p->first, p->ids, p->n_ids) < 0)
				return fangs__error_oom();
			fate[i] = FATE_CONTENT;
		} else if (folded(d, ps, in->events, in->n_events, p, execs)) {
			fate[i] = FATE_DROP;
		}
	}
	return fangs__content_removed(content, in->baseline, unpacked);
}

int fangs_differ_analyze(const fangs_differ *d, const fangs_differ_input *in, fangs_fpset *run_fps,
			 fangs_deviation_list *out)
{
	pending_set ps = {0};
	fangs__allow_set local = {0};
	fangs__content_list content = {0};
	fangs_fpset *unpacked = NULL;
	uint8_t *fate = NULL;
	fangs_fpset *execs = NULL;
	size_t kept[FANGS_FP_KIND_COUNT] = {0}, n_over[FANGS_FP_KIND_COUNT] = {0};
	pending *over[FANGS_FP_KIND_COUNT] = {0};
	const fangs_config *cfg;
	bool compare;
	size_t start;
	int rc;

	if (!d || !in || !out)
		return fangs_error_set(FANGS_EINVAL, "differ analyze: missing differ, input or output");
	if (in->n_events && !in->events)
		return fangs_error_set(FANGS_EINVAL, "differ analyze: %zu events but no array", in->n_events);
	cfg = d->config;
	start = out->count;
	/* the first run of a package has nothing to compare with: it seeds */
	compare = in->baseline && fangs_fpset_size(in->baseline) > 0;

	if (compare && (rc = fangs_fpset_new(&unpacked)) < 0)
		goto fail;
	if ((rc = scan_events(d, in, run_fps, compare ? &ps : NULL, unpacked)) < 0)
		goto fail;
	if (ps.count) {
		/* per-package entries: the input's, and the configuration's own */
		if ((rc = fangs__allow_compile(&local, in->allow, in->n_allow, in->package)) < 0)
			goto fail;
		for (size_t i = 0; cfg && i < cfg->allow.count; i++) {
			if (cfg->allow.items[i].package &&
			    (rc = fangs__allow_compile(&local, &cfg->allow.items[i], 1, in->package)) < 0)
				goto fail;
		}
		if (!(fate = calloc(ps.count, 1))) {
			rc = fangs__error_oom();
			goto fail;
		}
		if ((rc = judge(d, in, &local, &ps, unpacked, fate, &content, &execs)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < ps.count; i++) {
		pending *p = &ps.items[i];
		fangs__content_sum *sum = NULL;
		fangs_deviation *dev;
		if (fate[i] == FATE_DROP)
			continue;
		if (fate[i] == FATE_CONTENT) {
			bool inside;
			/* one summary a package, where its first file stands */
			sum = fangs__content_get(&content, p->value, fangs__content_dir(p->value, p->len, &inside),
						 p->first);
			if (!sum || sum->emitted)
				continue;
			sum->emitted = true;
		} else if (!p->cred && ++kept[p->kind] > FANGS__DEVIATIONS_PER_KIND) {
			/* a flood of new values: the first ones are findings, the
			 * rest one more that counts them (a secret read is never
			 * folded) */
			if (!over[p->kind])
				over[p->kind] = p;
			n_over[p->kind]++;
			continue;
		}
		if (!(dev = fangs_deviation_list_push(out))) {
			rc = FANGS_ENOMEM;
			goto fail;
		}
		if ((rc = sum ? fill_content(d, in, sum, dev) : fill_deviation(d, in, p, dev)) < 0)
			goto fail;
	}
	for (size_t k = 0; k < FANGS_FP_KIND_COUNT; k++) {
		fangs_deviation *dev;
		char *value;
		if (!over[k])
			continue;
		if (!(value = fangs__asprintf("%zu more new values, from %s", n_over[k], over[k]->value)) ||
		    !(dev = fangs_deviation_list_push(out))) {
			free(value);
			rc = FANGS_ENOMEM;
			goto fail;
		}
		free(over[k]->value);
		over[k]->value = value;
		if ((rc = fill_deviation(d, in, over[k], dev)) < 0)
			goto fail;
	}
	rc = 0;
	goto done;

fail:
	while (out->count > start)
		fangs_deviation_clear(&out->items[--out->count]);
done:
	free(fate);
	fangs__content_list_free(&content);
	fangs_fpset_free(unpacked);
	fangs_fpset_free(execs);
	pending_free(&ps);
	fangs__allow_set_free(&local);
	return rc;
}
