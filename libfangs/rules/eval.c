/*
 * rules/eval.c - judging one run with a rule set.
 *
 * Three passes: the first learns the run's processes (which one is a
 * lifecycle script's own, which host names each talked to, who exited
 * when); the second matches every event against every rule, keeping what
 * scripts wrote so that a later exec of it can be seen; the third applies
 * the run-level conditions (many subdomains, processes left behind).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/norm.h"
#include "fangs/findings.h"
#include "fangs/proxy.h"
#include "rules/internal.h"

#define EVIDENCE_MAX 32
#define VALUE_MAX 512

/* ---- the run's processes ---- */

typedef struct proc {
	int32_t pid;
	bool used;
	bool has_origin;
	bool script_root; /* the process npm started for a lifecycle script */
	bool by_script;   /* started by a script (fork or exec with an origin) */
	bool exited;
	bool lister; /* runs the system's ps, which shows no environment */
	uint64_t exit_ts;
	int32_t exit_code; /* 128+N: killed by signal N */
	size_t first;      /* index of its first event with an origin */
} proc;

typedef struct proctab {
	proc *slots;
	size_t mask;
	size_t count;
} proctab;

static proc *proc_get(proctab *t, int32_t pid, bool create)
{
	size_t j;
	if (!t->slots)
		return NULL;
	for (j = (size_t)(uint32_t)pid * 2654435761u & t->mask; t->slots[j].used; j = (j + 1) & t->mask)
		if (t->slots[j].pid == pid)
			return &t->slots[j];
	if (!create || (t->count + 1) * 2 > t->mask + 1)
		return NULL;
	t->slots[j].used = true;
	t->slots[j].pid = pid;
	t->count++;
	return &t->slots[j];
}

/* ---- hits, one per rule and value ---- */

typedef struct hit {
	size_t rule;
	char *value;
	uint64_t hash;
	size_t first;
	size_t n_ids;
	int64_t ids[EVIDENCE_MAX];
} hit;

typedef struct hitset {
	hit *items;
	size_t count;
	size_t capacity;
} hitset;

/* Subdomain groups of a rule with `subdomains:`. */
typedef struct group {
	size_t rule;
	char *domain;
	fangs_fpset *names;
	size_t first;
	size_t n_ids;
	int64_t ids[EVIDENCE_MAX];
} group;

typedef struct groupset {
	group *items;
	size_t count;
	size_t capacity;
} groupset;

/* A package's directory, learnt from npm unpacking its package.json: the
 * working directory npm gives the package's lifecycle scripts. */
typedef struct pkgdir {
	char *name;
	char *dir;
} pkgdir;

typedef struct pkgdirs {
	pkgdir *items;
	size_t count;
	size_t capacity;
} pkgdirs;

typedef struct raddr {
	int family; /* 4 or 6 */
	unsigned char b[16];
} raddr;

typedef struct ectx {
	const fangs_rules *rs;
	const fangs_rules_input *in;
	proctab procs;
	fangs__norm norm;
	raddr *registry; /* the registry's addresses as the host resolved them */
	size_t n_registry;
	/* exec_written: all keyed FANGS_FP_FS_WRITE / FANGS_ACTOR_SCRIPT */
	fangs_fpset *written;      /* paths scripts wrote (relative ones resolved when possible) */
	fangs_fpset *written_base; /* basenames of what scripts wrote through an unresolved relative path */
	fangs_fpset *written_any;  /* basenames of everything scripts wrote */
	fangs_fpset *script_dirs;  /* directories scripts wrote into, and package roots they wrote under */
	fangs_fpset *shipped;      /* files npm unpacked into node_modules: whole paths and their tails
				    * below node_modules/ (to compare a relative path with) */
	pkgdirs dirs;
	/* where the node and npm that run the install live (learnt from npm's
	 * start, before any script ran): not a drop place */
	char toolchain[4][256];
	size_t n_toolchain;
	hitset hits;
	groupset groups;
	bool need_written;
	fangs__infra *infra; /* the sandbox's own endpoints, parsed */
	size_t n_infra;
} ectx;

static bool is_loopback(const char *addr)
{
	unsigned char b[16];
	int fam = addr ? fangs__parse_addr(addr, b) : 0;
	if (fam == 4)
		return b[0] == 127;
	if (fam == 6) {
		static const unsigned char lo[16] = {[15] = 1};
		static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
		return !memcmp(b, lo, 16) || (!memcmp(b, mapped, 12) && b[12] == 127);
	}
	return false;
}

/* The host name an event names: a lookup's, a TLS server name, or what a
 * client asked the sandbox's proxy for. NULL for other kinds. */
static const char *named_host(const fangs_event *ev)
{
	switch (ev->kind) {
	case FANGS_EV_DNS_QUERY:
		return ev->qname;
	case FANGS_EV_TLS_SNI:
		return ev->sni;
	case FANGS_EV_PROXY_REQUEST:
		return ev->host;
	case FANGS_EV_NONE:
	case FANGS_EV_FILE_OPEN:
	case FANGS_EV_EXEC:
	case FANGS_EV_NET_CONNECT:
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_SYSCALL:
		break;
	}
	return NULL;
}

static void lower_host(const char *in, char *out, size_t cap)
{
	fangs__sink o;
	fangs__sink_init(&o, out, cap);
	fangs__norm_host(in ? in : "", &o);
	fangs__sink_end(&o);
}

static bool local_name(const char *h)
{
	return !strcmp(h, "localhost") || fangs__str_has_suffix(h, ".localhost");
}

static bool is_registry(const ectx *c, const char *host)
{
	return c->in->registry_host && *c->in->registry_host && !strcmp(host, c->in->registry_host);
}

static bool is_npm_exec(const fangs_event *ev);

static void add_toolchain(ectx *c, const char *p)
{
	char root[256];
	const char *cut;
	size_t n;
	if (!p || p[0] != '/' || c->n_toolchain >= FANGS_ARRAY_SIZE(c->toolchain))
		return;
	/* .../lib/node_modules/npm/bin/npm-cli.js, .../bin/node: the prefix */
	if ((cut = strstr(p, "/lib/node_modules/npm/")) || (cut = strstr(p, "/node_modules/npm/"))) {
		n = (size_t)(cut - p);
	} else {
		const char *b = strrchr(p, '/');
		n = (size_t)(b - p);
		while (n > 0 && p[n - 1] != '/')
			n--;
		if (n > 0)
			n--;
	}
	if (n <= 1 || n >= sizeof(root))
		return;
	memcpy(root, p, n);
	root[n] = '\0';
	for (size_t i = 0; i < c->n_toolchain; i++)
		if (!strcmp(c->toolchain[i], root))
			return;
	memcpy(c->toolchain[c->n_toolchain++], root, n + 1);
}

static int learn_processes(ectx *c)
{
	const fangs_rules_input *in = c->in;
	bool scripts_started = false;
	size_t slots = 64;
	while (slots < in->n_events * 2 + 2)
		slots *= 2;
	if (!(c->procs.slots = calloc(slots, sizeof(proc))))
		return fangs__error_oom();
	c->procs.mask = slots - 1;
	for (size_t i = 0; i < in->n_events; i++) {
		const fangs_event *ev = &in->events[i];
		proc *p = proc_get(&c->procs, ev->pid, true), *parent;
		if (!p)
			return fangs__error_oom();
		if (!scripts_started && !ev->origin.package && !ev->origin.script && ev->kind == FANGS_EV_EXEC &&
		    is_npm_exec(ev)) {
			add_toolchain(c, ev->path);
			for (size_t a = 0; a < 3 && a < ev->argc; a++)
				if (ev->argv[a] && ev->argv[a][0] == '/')
					add_toolchain(c, ev->argv[a]);
		}
		/* the import phase runs after the install by design: its
		 * processes are not a script's leftovers */
		if ((ev->origin.package || ev->origin.script) && ev->phase != FANGS_PHASE_IMPORT) {
			scripts_started = true;
			if (!p->has_origin)
				p->first = i;
			if (ev->kind == FANGS_EV_EXEC && !p->has_origin) {
				parent = proc_get(&c->procs, ev->ppid, false);
				if (!parent || !parent->has_origin)
					p->script_root = true;
			}
			p->has_origin = true;
			p->by_script = true;
		}
		if (ev->kind == FANGS_EV_PROC_EXIT) {
			p->exited = true;
			p->exit_ts = ev->ts_ns;
			p->exit_code = ev->exit_code;
		}
	}
	return 0;
}

/* ---- matching one event ---- */

static bool any_glob(const fangs__strv *v, const char *s)
{
	for (size_t i = 0; s && i < v->count; i++)
		if (fangs__rule_glob(v->items[i], s))
			return true;
	return false;
}

static bool any_host(const fangs__strv *v, const char *h)
{
	for (size_t i = 0; i < v->count; i++)
		if (fangs__rule_host(v->items[i], h))
			return true;
	return false;
}

static bool any_regex(const fangs__regexv *v, const char *s)
{
	for (size_t i = 0; i < v->count; i++)
		if (regexec(&v->items[i], s, 0, NULL, 0) == 0)
			return true;
	return false;
}

/* /proc/<n>/environ (or /proc/<n>/task/<t>/environ) of a process other than
 * the reader, by a process that is not the system's ps listing processes. */
static bool other_environ(const ectx *c, const fangs_event *ev)
{
	const char *p = ev->path, *q;
	const proc *reader;
	long pid = 0;
	if (!p || strncmp(p, "/proc/", 6) || !fangs__str_has_suffix(p, "/environ"))
		return false;
	if ((reader = proc_get((proctab *)&c->procs, ev->pid, false)) && reader->lister)
		return false;
	p += 6;
	if (*p < '0' || *p > '9')
		return false; /* self, thread-self */
	for (q = p; *q >= '0' && *q <= '9'; q++)
		pid = pid * 10 + (*q - '0');
	if (strcmp(q, "/environ") && strncmp(q, "/task/", 6))
		return false;
	return pid != ev->pid;
}

static bool tunnel_label(const fangs__rule *r, const char *qname)
{
	const char *s = qname;
	while (s && *s) {
		size_t n = strcspn(s, ".");
		if (n >= r->label_min_len) {
			size_t digits = 0;
			for (size_t i = 0; i < n; i++)
				digits += s[i] >= '0' && s[i] <= '9';
			if (fangs__entropy(s, n) >= r->label_min_entropy &&
			    (double)digits >= r->label_min_digits * (double)n)
				return true;
		}
		s += n;
		if (*s == '.')
			s++;
	}
	return false;
}

/* An address as 4 or 16 bytes; an IPv4-mapped IPv6 address is its IPv4. */
static int addr_bytes(const char *addr, unsigned char b[16])
{
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	int fam = addr ? fangs__parse_addr(addr, b) : 0;
	if (fam == 6 && !memcmp(b, mapped, 12)) {
		memmove(b, b + 12, 4);
		fam = 4;
	}
	return fam;
}

static bool registry_addr(const ectx *c, const char *addr)
{
	unsigned char b[16];
	int fam = addr_bytes(addr, b);
	for (size_t i = 0; fam && i < c->n_registry; i++)
		if (c->registry[i].family == fam && !memcmp(c->registry[i].b, b, fam == 4 ? 4 : 16))
			return true;
	return false;
}

/* Does host pattern `pat` cover the name an event asked for? A proxy
 * request has a port the pattern must allow; a lookup or a server name has
 * none. A bad pattern covers nothing (the configuration's are checked when
 * it loads). */
static bool pattern_covers(const char *pat, const fangs_event *ev, const char *host)
{
	int port = ev->kind == FANGS_EV_PROXY_REQUEST ? (int)ev->port : -1;
	return fangs_proxy_host_pattern_match(pat, host, port) == 1;
}

/*
 * A name of a well-known download host: the proxy's built-in list (unless
 * the configuration turned it off), the configuration's proxy.allow_hosts,
 * and the package's own proxy.packages entry. Names only: a connection is
 * judged by its address.
 */
static bool download_host(const ectx *c, const fangs_event *ev, const char *host)
{
	const fangs_config *cfg = c->rs->config;
	if (!host || !*host || !named_host(ev))
		return false;
	if (!cfg || cfg->proxy_builtin_hosts) {
		const char *line = fangs_proxy_builtin_hosts();
		while (line && *line) {
			size_t len = strcspn(line, "\n"), a = 0, b;
			char pat[256];
			b = strcspn(line, "#\n");
			while (a < b && (line[a] == ' ' || line[a] == '\t'))
				a++;
			while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r'))
				b--;
			if (b > a && b - a < sizeof(pat)) {
				memcpy(pat, line + a, b - a);
				pat[b - a] = '\0';
				if (pattern_covers(pat, ev, host))
					return true;
			}
			line += len;
			if (*line == '\n')
				line++;
		}
	}
	for (size_t i = 0; cfg && i < cfg->n_proxy_allow_hosts; i++)
		if (pattern_covers(cfg->proxy_allow_hosts[i], ev, host))
			return true;
	for (size_t i = 0; cfg && c->in->package && i < cfg->n_proxy_packages; i++) {
		const fangs_proxy_package_hosts *ph = &cfg->proxy_packages[i];
		if (!ph->package || strcmp(ph->package, c->in->package) != 0)
			continue;
		for (size_t h = 0; h < ph->n_hosts; h++)
			if (pattern_covers(ph->hosts[h], ev, host))
				return true;
	}
	return false;
}

/*
 * A connection is the registry's only by its address, as the host resolved
 * the registry's name: a name asked for inside the sandbox proves nothing
 * (the script chooses what it resolves to, and what it connects to after).
 */
static bool not_registry(const ectx *c, const fangs_event *ev, const char *host)
{
	if (ev->kind == FANGS_EV_NET_CONNECT) {
		if (ev->family == FANGS_FAMILY_UNIX || !ev->addr)
			return false;
		/* loopback stays in the sandbox; DNS to a loopback resolver
		 * counts through its dns_query events, and so does DNS to the
		 * sandbox's resolvers elsewhere (its own endpoints) */
		if (is_loopback(ev->addr) || fangs__infra_match(c->infra, c->n_infra, ev->addr, ev->port))
			return false;
		return !registry_addr(c, ev->addr);
	}
	/* a name: the registry's, or a download host's (its own rule says so) */
	return !local_name(host) && !is_registry(c, host) && !download_host(c, ev, host);
}

static const char *basename_of(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static bool dotenv_name(const char *n)
{
	return !strcmp(n, ".env") || (!strncmp(n, ".env.", 5) && n[5] && !strchr(n, '/'));
}

/* "/root/app/.env*" or "/home/<user>/app/.env*": the root of the project
 * being installed, as the sandbox lays it out (docs/sandbox.md), and
 * nothing that only looks like it ("/home/../app/.env", "app/.env.x/../..."). */
static bool project_env_place(const char *p)
{
	const char *rest;
	if (!p)
		return false;
	if (!strncmp(p, "/root/", 6)) {
		rest = p + 6;
	} else if (!strncmp(p, "/home/", 6)) {
		const char *u = p + 6, *e = strchr(u, '/');
		if (!e || e == u || (e - u == 1 && u[0] == '.') || (e - u == 2 && u[0] == '.' && u[1] == '.'))
			return false;
		rest = e + 1;
	} else {
		return false;
	}
	return !strncmp(rest, "app/", 4) && dotenv_name(rest + 4);
}

/*
 * A file open whose every name is the project's own .env: the decoy it is
 * (by identity), the kernel's path for it, and the path as written (a
 * relative one by its file name, the kernel's path saying where it is). An
 * alias that is another secret by any of these names is not.
 */
static bool project_env(const fangs_event *ev)
{
	bool known = false;
	if (ev->kind != FANGS_EV_FILE_OPEN || !ev->path || !*ev->path)
		return false;
	if (ev->decoy && *ev->decoy) {
		if (!project_env_place(ev->decoy))
			return false;
		known = true;
	}
	if (ev->real_path && *ev->real_path) {
		if (!project_env_place(ev->real_path))
			return false;
		known = true;
	}
	if (ev->path[0] == '/')
		return project_env_place(ev->path);
	/* a bare .env name that opened nothing (no file reached: none is there,
	 * so nothing was read), as dotenv loaders probe .env.local & co. */
	if (!known && !strchr(ev->path, '/'))
		return dotenv_name(ev->path);
	return known && dotenv_name(basename_of(ev->path));
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

#define PATHBUF 4352

/* Where the last "node_modules/" of a path ends, or NULL. */
static const char *after_node_modules(const char *p)
{
	const char *at = NULL;
	for (const char *q = p; (q = strstr(q, "node_modules/")); q += 13)
		if (q == p || q[-1] == '/')
			at = q + 13;
	return at;
}

/* The end of the package name that starts at `name` ("x/..." or "@s/x/..."). */
static const char *package_name_end(const char *name)
{
	const char *e = name + strcspn(name, "/");
	if (*name == '@' && *e == '/')
		e = e + 1 + strcspn(e + 1, "/");
	return e;
}

/* npm unpacked ".../node_modules/<name>/package.json": <name>'s directory,
 * where npm starts its lifecycle scripts. */
static int learn_pkgdir(ectx *c, const char *p)
{
	const char *name = after_node_modules(p), *end;
	pkgdir *d;
	if (!name || strcmp(end = package_name_end(name), "/package.json") != 0 || end == name)
		return 0;
	for (size_t i = 0; i < c->dirs.count; i++)
		if (strlen(c->dirs.items[i].name) == (size_t)(end - name) &&
		    !strncmp(c->dirs.items[i].name, name, (size_t)(end - name)))
			return 0; /* the first (top-level) copy wins */
	if (FANGS_GROW(&c->dirs))
		return FANGS_ENOMEM;
	d = &c->dirs.items[c->dirs.count];
	d->name = strndup(name, (size_t)(end - name));
	d->dir = strndup(p, (size_t)(end - p));
	if (!d->name || !d->dir) {
		free(d->name);
		free(d->dir);
		return fangs__error_oom();
	}
	c->dirs.count++;
	return 0;
}

/* Appends `s[0..n)` to out as path components, applying "." and "..". */
static bool put_components(char *out, size_t cap, size_t *len, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (*len > 0 && out[*len - 1] != '/')
				(*len)--;
			if (*len > 1)
				(*len)--;
			out[*len] = '\0';
		} else {
			if (*len + n + 2 > cap)
				return false;
			if (*len == 0 || out[*len - 1] != '/')
				out[(*len)++] = '/';
			memcpy(out + *len, s, n);
			*len += n;
			out[*len] = '\0';
		}
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

/*
 * The path an event names, made absolute when it can be: a relative path of
 * a lifecycle script's process is taken from its package's directory (the
 * working directory npm gives the script; a process that changed directory
 * is guessed wrong, which the comparisons by file name below make up for).
 * Returns false when the path stays relative (`out` then holds it ./-less).
 */
static bool resolve(const ectx *c, const fangs_event *ev, const char *path, char *out, size_t cap)
{
	const char *base = NULL;
	size_t len = 0;
	if (path[0] != '/' && ev->origin.package) {
		for (size_t i = 0; i < c->dirs.count && !base; i++)
			if (!strcmp(c->dirs.items[i].name, ev->origin.package))
				base = c->dirs.items[i].dir;
	}
	if (path[0] != '/' && !base) {
		snprintf(out, cap, "%s", strip_dot(path));
		return false;
	}
	out[0] = '\0';
	if ((base && !put_components(out, cap, &len, base)) || !put_components(out, cap, &len, path)) {
		snprintf(out, cap, "%s", path);
		return path[0] == '/';
	}
	if (!len)
		snprintf(out, cap, "/");
	return true;
}

/* The package root a path lies under (".../node_modules/<name>"), as a length. */
static size_t package_root(const char *p)
{
	const char *name = after_node_modules(p), *end;
	if (!name)
		return 0;
	end = package_name_end(name);
	return *end == '/' && end > name ? (size_t)(end - p) : 0;
}

static int add_dir(fangs_fpset *set, fangs_actor actor, const char *p, size_t n)
{
	char dir[PATHBUF];
	int rc;
	if (!n || n >= sizeof(dir))
		return 0;
	memcpy(dir, p, n);
	dir[n] = '\0';
	rc = fangs_fpset_add(set, FANGS_FP_FS_WRITE, actor, dir);
	return rc < 0 ? rc : 0;
}

/*
 * What the run wrote, for exec_written. npm's own writes inside
 * node_modules are the release's content (and tell where each package
 * lives); a script's writes are recorded by path, by file name, by
 * directory and by the package tree they fall under. Compiler and linker
 * output counts like any other write: a native addon is loaded (opened),
 * never executed, so only a compiled program that is then run is a hit.
 */
static int note_write(ectx *c, const fangs_event *ev)
{
	char buf[PATHBUF];
	const char *slash;
	bool abs;
	size_t root;
	int rc;
	if (ev->kind != FANGS_EV_FILE_OPEN || !(ev->flags & FANGS_OPEN_WRITE) || !ev->path || !*ev->path)
		return 0;
	if (fangs_event_actor(ev) == FANGS_ACTOR_NPM) {
		const char *rest;
		if (ev->path[0] != '/')
			return 0;
		if ((rc = fangs_fpset_add(c->shipped, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, ev->path)) < 0)
			return rc;
		if (!(rest = after_node_modules(ev->path)))
			return 0;
		/* its tails, for a relative path on the other side */
		for (const char *t = rest; t; t = strchr(t, '/') ? strchr(t, '/') + 1 : NULL)
			if (*t && (rc = fangs_fpset_add(c->shipped, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, t)) < 0)
				return rc;
		return learn_pkgdir(c, ev->path);
	}
	abs = resolve(c, ev, ev->path, buf, sizeof(buf));
	if ((rc = fangs_fpset_add(c->written, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, buf)) < 0 ||
	    (rc = fangs_fpset_add(c->written_any, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, basename_of(buf))) < 0)
		return rc;
	if (ev->path[0] != '/' &&
	    (rc = fangs_fpset_add(c->written_base, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, basename_of(buf))) < 0)
		return rc;
	if (!abs)
		return 0;
	/* its directory (not the root: that would be every path) */
	slash = strrchr(buf, '/');
	if (slash && slash > buf && (rc = add_dir(c->script_dirs, FANGS_ACTOR_SCRIPT, buf, (size_t)(slash - buf))))
		return rc;
	/* and the package tree it lies in */
	root = package_root(buf);
	return root ? add_dir(c->script_dirs, FANGS_ACTOR_NPM, buf, root) : 0;
}

static bool npm_bin_link(const char *p)
{
	return fangs__str_has_prefix(p, "node_modules/.bin/") || strstr(p, "/node_modules/.bin/");
}

/*
 * Outside the system's read-only places (and the node and npm running the
 * install), a file npm did not unpack can only have been put there during
 * the run: by a script, through a write or a rename the sensor does not
 * see. /opt counts as the system's (container images keep tools there);
 * /proc, /dev and memfds are fileless-exec's.
 */
static bool in_scratch(const ectx *c, const char *p)
{
	static const char *const sys[] = {"/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
					  "/etc/", "/opt/", "/proc/", "/sys/", "/dev/",   "/snap/",  "/nix/"};
	if (p[0] != '/' || fangs__str_has_prefix(p, "/memfd:"))
		return false;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(sys); i++)
		if (fangs__str_has_prefix(p, sys[i]))
			return false;
	for (size_t i = 0; i < c->n_toolchain; i++) {
		size_t n = strlen(c->toolchain[i]);
		if (!strncmp(p, c->toolchain[i], n) && p[n] == '/')
			return false;
	}
	return true;
}

/*
 * Did this run's scripts drop `target`, a file an exec runs? Not if npm
 * unpacked it (the release's own file, also when a script rewrote it in
 * place as esbuild does) or it is npm's .bin link. Yes if a script wrote
 * it; if a script wrote a file of that name through a relative path (or it
 * is relative here, and a script wrote a file of that name); if it lies in a
 * directory a script wrote into; or if it lies in a package tree a script
 * wrote under and npm did not unpack it: renamed, moved or compiled there.
 */
static bool dropped(const ectx *c, const fangs_event *ev, const char *target)
{
	char buf[PATHBUF];
	const char *slash;
	bool abs;
	size_t root;
	if (!target || !*target)
		return false;
	abs = resolve(c, ev, target, buf, sizeof(buf));
	if (npm_bin_link(buf))
		return false;
	/* a relative path's directory is a guess: it proves nothing shipped */
	if (target[0] == '/' && fangs_fpset_contains(c->shipped, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, buf))
		return false;
	if (fangs_fpset_contains(c->written, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, buf))
		return true;
	if (fangs_fpset_contains(target[0] == '/' ? c->written_base : c->written_any, FANGS_FP_FS_WRITE,
				 FANGS_ACTOR_SCRIPT, basename_of(buf)))
		return true;
	/* not written under that name: a relative path that names a file npm
	 * unpacked (from whichever directory) is the package's own */
	if (target[0] != '/' &&
	    (fangs_fpset_contains(c->shipped, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, strip_dot(target)) ||
	     (abs && fangs_fpset_contains(c->shipped, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, buf))))
		return false;
	if (!abs)
		return false;
	slash = strrchr(buf, '/');
	if (slash && slash > buf) {
		char dir[PATHBUF];
		memcpy(dir, buf, (size_t)(slash - buf));
		dir[slash - buf] = '\0';
		if (fangs_fpset_contains(c->script_dirs, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, dir))
			return true;
	}
	if ((root = package_root(buf))) {
		char tree[PATHBUF];
		memcpy(tree, buf, root);
		tree[root] = '\0';
		if (fangs_fpset_contains(c->script_dirs, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, tree))
			return true;
	}
	return in_scratch(c, buf);
}

/* ---- what an exec runs: the binary, or the file a loader or an
 * interpreter is handed ---- */

static bool name_is(const char *b, const char *name, bool versioned)
{
	size_t n = strlen(name);
	if (strncmp(b, name, n))
		return false;
	return !b[n] || (versioned && strspn(b + n, "0123456789.") == strlen(b + n));
}

static bool is_loader(const char *b)
{
	return fangs__str_has_prefix(b, "ld-linux") || fangs__str_has_prefix(b, "ld.so") ||
	       fangs__str_has_prefix(b, "ld64.so") || (fangs__str_has_prefix(b, "ld-") && strstr(b, ".so"));
}

enum interp_kind {
	NOT_INTERP,
	SHELL,
	NODE,
	PYTHON,
	OTHER_INTERP
};

static enum interp_kind interp_of(const char *b)
{
	static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "busybox"};
	static const char *const others[] = {"perl", "ruby", "php", "lua", "luajit", "tclsh", "Rscript"};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(shells); i++)
		if (!strcmp(b, shells[i]))
			return SHELL;
	if (!strcmp(b, "node") || !strcmp(b, "nodejs") || !strcmp(b, "bun") || !strcmp(b, "deno"))
		return NODE;
	if (name_is(b, "python", true) || name_is(b, "pypy", true))
		return PYTHON;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(others); i++)
		if (name_is(b, others[i], true))
			return OTHER_INTERP;
	return NOT_INTERP;
}

#define TARGETS_MAX 4

/* The files an exec runs: its binary, then what a loader runs or the
 * script file (and node's preloaded modules) an interpreter runs. */
static size_t exec_targets(const fangs_event *ev, const char *out[TARGETS_MAX])
{
	const char *b;
	enum interp_kind k;
	size_t n = 0, i = 1;
	if (ev->path && *ev->path)
		out[n++] = ev->path;
	if (!ev->argv || ev->argc < 2)
		return n;
	b = basename_of(ev->path && *ev->path ? ev->path : (ev->argv[0] ? ev->argv[0] : ""));
	if (!strcmp(b, "busybox") && ev->argv[0])
		b = basename_of(ev->argv[0]);
	if (is_loader(b)) {
		for (; i < ev->argc && ev->argv[i]; i++) {
			const char *a = ev->argv[i];
			if (!strcmp(a, "--library-path") || !strcmp(a, "--preload") || !strcmp(a, "--argv0") ||
			    !strcmp(a, "--audit") || !strcmp(a, "--inhibit-rpath") ||
			    !strcmp(a, "--glibc-hwcaps-mask") || !strcmp(a, "--glibc-hwcaps-prepend")) {
				i++;
				continue;
			}
			if (!strcmp(a, "--")) {
				i++;
				break;
			}
			if (a[0] != '-')
				break;
		}
		if (i < ev->argc && ev->argv[i])
			out[n++] = ev->argv[i];
		return n;
	}
	if ((k = interp_of(b)) == NOT_INTERP || fangs__exec_inline_code(ev))
		return n;
	for (; i < ev->argc && ev->argv[i] && n < TARGETS_MAX; i++) {
		const char *a = ev->argv[i];
		if (!strcmp(a, "--")) {
			if (i + 1 < ev->argc && ev->argv[i + 1])
				out[n++] = ev->argv[i + 1];
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (a[0] != '-')
				out[n++] = a;
			break;
		}
		if (k == NODE && (!strcmp(a, "-r") || !strcmp(a, "--require") || !strcmp(a, "--import") ||
				  !strcmp(a, "--loader") || !strcmp(a, "--experimental-loader"))) {
			if (++i < ev->argc && ev->argv[i])
				out[n++] = ev->argv[i];
			continue;
		}
		if (k == PYTHON && !strcmp(a, "-m"))
			break; /* a module, found on the path */
		if ((k == PYTHON && (!strcmp(a, "-W") || !strcmp(a, "-X"))) ||
		    (k == SHELL && (!strcmp(a, "-o") || !strcmp(a, "+o"))))
			i++;
	}
	return n;
}

/* A script file a script wrote under exactly that name (seen). */
static bool written_as(const ectx *c, const fangs_event *ev, const char *target)
{
	char buf[PATHBUF];
	resolve(c, ev, target, buf, sizeof(buf));
	return fangs_fpset_contains(c->written, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, buf) ||
	       fangs_fpset_contains(target[0] == '/' ? c->written_base : c->written_any, FANGS_FP_FS_WRITE,
				    FANGS_ACTOR_SCRIPT, basename_of(buf));
}

static bool ends_with(const char *s, const char *tail, const char *ext)
{
	size_t n = strlen(s), t = strlen(tail), e = strlen(ext);
	if (n < t + e + 1 || strcmp(s + n - e, ext) || strncmp(s + n - e - t, tail, t))
		return false;
	return s[n - e - t - 1] == '/';
}

/*
 * `node lib/x` runs lib/x.js (or .cjs, .mjs, lib/x/index.js) when there is
 * no file lib/x: node's module resolution. Which file it ran is the one
 * that node process opened after its exec; when that file is the
 * package's own (not dropped) and no script wrote lib/x itself, the exec
 * runs shipped code. The open must have succeeded (the kernel's path), so a
 * dropped extension-less file that node really ran is never excused.
 */
static bool node_resolved_shipped(const ectx *c, const fangs_event *ev, const char *target)
{
	static const char *const exts[] = {".js", ".cjs", ".mjs", "/index.js"};
	const char *tail = strip_dot(target), *b = basename_of(tail);
	const fangs_event *end = c->in->events + c->in->n_events;
	if (strchr(b, '.') || written_as(c, ev, target))
		return false;
	for (const fangs_event *o = ev + 1; o < end; o++) {
		if (o->pid != ev->pid)
			continue;
		if (o->kind == FANGS_EV_EXEC)
			break;
		if (o->kind != FANGS_EV_FILE_OPEN || !o->real_path || (o->flags & FANGS_OPEN_WRITE))
			continue;
		for (size_t e = 0; e < FANGS_ARRAY_SIZE(exts); e++) {
			char cand[PATHBUF];
			if (!ends_with(o->real_path, tail, exts[e]))
				continue;
			snprintf(cand, sizeof(cand), "%s%s", target, exts[e]);
			if (!dropped(c, ev, cand) && !dropped(c, o, o->real_path))
				return true;
		}
	}
	return false;
}

static bool exec_dropped(const ectx *c, const fangs_event *ev)
{
	const char *t[TARGETS_MAX];
	size_t n = exec_targets(ev, t);
	bool node = ev->path && interp_of(basename_of(ev->path)) == NODE;
	for (size_t i = 0; i < n; i++) {
		if (!dropped(c, ev, t[i]))
			continue;
		if (node && i > 0 && node_resolved_shipped(c, ev, t[i]))
			continue;
		return true;
	}
	return false;
}

/* A file with no name: a memfd, or a file run through a descriptor. */
static bool fileless(const char *p)
{
	const char *q;
	if (!p)
		return false;
	if (fangs__str_has_prefix(p, "/memfd:") || fangs__str_has_prefix(p, "/dev/fd/") ||
	    fangs__str_has_prefix(p, "/proc/self/fd/") || fangs__str_has_prefix(p, "/proc/thread-self/fd/"))
		return true;
	if (!fangs__str_has_prefix(p, "/proc/"))
		return false;
	q = p + 6;
	if (*q < '0' || *q > '9')
		return false;
	q += strspn(q, "0123456789");
	if (fangs__str_has_prefix(q, "/task/")) {
		q += 6 + strspn(q + 6, "0123456789");
	}
	return fangs__str_has_prefix(q, "/fd/");
}

static bool exec_fileless(const fangs_event *ev)
{
	const char *t[TARGETS_MAX];
	size_t n = exec_targets(ev, t);
	for (size_t i = 0; i < n; i++)
		if (fileless(t[i]))
			return true;
	return false;
}

/*
 * The system's ps lists processes: procps-ng 4 opens /proc/<n>/environ of
 * every process it lists whenever its format shows the command (plain `ps`,
 * `ps aux`, `ps -o comm`; not `ps -o pid,ppid`) and prints none of it
 * unless asked with the BSD option `e`. Running it (pstree.remy does, when
 * nodemon is required, to learn whether `ps` exists) is no theft. It is
 * one only when it is /usr/bin/ps or /bin/ps, not a file the run dropped,
 * with no word of its command line that is not a `-` option holding an `e`
 * (which may show the environment, `ps eww`, or be a format list, `-o
 * etime`: either keeps the rule on), and only until the process opens a
 * file outside the system's read-only places (a library preloaded into it
 * from /tmp, HOME, /dev/shm or a memfd).
 */
static bool lists_without_environ(const ectx *c, const fangs_event *ev)
{
	if (!ev->path || (strcmp(ev->path, "/usr/bin/ps") && strcmp(ev->path, "/bin/ps")) || exec_dropped(c, ev))
		return false;
	for (size_t i = 1; i < ev->argc; i++)
		if (!ev->argv[i] || (ev->argv[i][0] != '-' && strchr(ev->argv[i], 'e')))
			return false;
	return true;
}

/* What ps opens: the loader's libraries, locale data, /proc. Not a
 * writable place (/tmp, HOME, /dev/shm) nor a memfd. */
static bool ps_place(const char *p)
{
	static const char *const sys[] = {"/usr",    "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					  "/libx32", "/etc", "/proc", "/sys", "/dev"};
	if (fangs__str_has_prefix(p, "/dev/shm/") || fangs__str_has_prefix(p, "/dev/mqueue/"))
		return false;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(sys); i++) {
		size_t n = strlen(sys[i]);
		if (!strncmp(p, sys[i], n) && (p[n] == '/' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void track_lister(ectx *c, const fangs_event *ev)
{
	proc *p;
	const char *file;
	if ((ev->kind != FANGS_EV_EXEC && ev->kind != FANGS_EV_FILE_OPEN) || !(p = proc_get(&c->procs, ev->pid, false)))
		return;
	if (ev->kind == FANGS_EV_EXEC) {
		p->lister = lists_without_environ(c, ev);
		return;
	}
	/* the file it was (a link in /proc/self/fd to a memfd or a file in
	 * /tmp is that), else the name written */
	file = ev->real_path ? ev->real_path : ev->path;
	if (p->lister && (!file || !ps_place(file)))
		p->lister = false;
}

/* An exec whose environment contradicts the kernel's mark: npm gave every
 * process of a script its package's name, so a process of package X that
 * says Y (or nothing) was made to say so, to pass for npm or another
 * package. */
static bool origin_env_is(int which, const fangs_event *ev)
{
	const char *pkg = ev->origin.package;
	if (ev->kind != FANGS_EV_EXEC || !pkg || !*pkg || !ev->env_package)
		return false;
	if (which == FANGS__ORIGIN_ENV_CLEARED)
		return !*ev->env_package;
	return *ev->env_package && strcmp(ev->env_package, pkg) != 0;
}

/* `actor: script` is the package's own code: what it runs when required (the
 * import phase) as much as its lifecycle scripts. */
static bool actor_fits(int wanted, fangs_actor actor)
{
	return (int)actor == wanted || (wanted == FANGS_ACTOR_SCRIPT && actor == FANGS_ACTOR_IMPORT);
}

static bool match_event(const ectx *c, const fangs__rule *r, const fangs_event *ev, const char *host, const char *argv)
{
	if (r->kinds && !(r->kinds & (1u << ev->kind)))
		return false;
	if (r->alive_after_install || r->events_lost)
		return false;
	if (r->op.count && (ev->kind != FANGS_EV_SYSCALL || !any_glob(&r->op, ev->op)))
		return false;
	if (r->detail.count && (ev->kind != FANGS_EV_SYSCALL || !any_glob(&r->detail, ev->detail)))
		return false;
	if (r->actor >= 0 && !actor_fits(r->actor, fangs_event_actor(ev)))
		return false;
	if (r->open && (ev->kind != FANGS_EV_FILE_OPEN || !(ev->flags & r->open)))
		return false;
	if (r->path.count && !any_glob(&r->path, ev->path) &&
	    (ev->kind != FANGS_EV_FILE_OPEN || !any_glob(&r->path, fangs__open_path(ev))))
		return false;
	if (r->path_not.count &&
	    any_glob(&r->path_not, ev->kind == FANGS_EV_FILE_OPEN ? fangs__open_path(ev) : ev->path))
		return false;
	if (r->exe.count && (ev->kind != FANGS_EV_EXEC || !any_glob(&r->exe, ev->path)))
		return false;
	if (r->comm.count && !any_glob(&r->comm, ev->comm))
		return false;
	if (r->parent_comm.count && (!ev->n_ancestry || !any_glob(&r->parent_comm, ev->ancestry[0].comm)))
		return false;
	if (r->ancestor_comm.count) {
		size_t i;
		for (i = 0; i < ev->n_ancestry; i++)
			if (any_glob(&r->ancestor_comm, ev->ancestry[i].comm))
				break;
		if (i == ev->n_ancestry)
			return false;
	}
	if ((r->argv.count || r->argv_not.count) && !argv)
		return false;
	if (r->argv.count && !any_regex(&r->argv, argv))
		return false;
	if (r->argv_not.count && any_regex(&r->argv_not, argv))
		return false;
	if ((r->host.count || r->host_not.count) && !host)
		return false;
	if (r->host.count && !any_host(&r->host, host))
		return false;
	if (r->host_not.count && any_host(&r->host_not, host))
		return false;
	if (r->n_ports) {
		size_t i;
		for (i = 0; i < r->n_ports; i++)
			if (r->ports[i] == ev->port)
				break;
		if (i == r->n_ports || ev->kind == FANGS_EV_PROC_FORK || ev->kind == FANGS_EV_FILE_OPEN)
			return false;
	}
	if (r->not_registry && !not_registry(c, ev, host ? host : ""))
		return false;
	if (r->parent_is_script) {
		const proc *pp = proc_get((proctab *)&c->procs, ev->ppid, false);
		if (!pp || !pp->script_root)
			return false;
	}
	if (r->proc_environ_other && (ev->kind != FANGS_EV_FILE_OPEN || !other_environ(c, ev)))
		return false;
	if (r->label_min_len && (!host || !tunnel_label(r, host)))
		return false;
	if (r->exec_written && (ev->kind != FANGS_EV_EXEC || !exec_dropped(c, ev)))
		return false;
	if (r->exec_fileless && (ev->kind != FANGS_EV_EXEC || !exec_fileless(ev)))
		return false;
	if (r->cred_path && !fangs__open_is_cred(c->rs->config, ev, NULL))
		return false;
	if (r->project_env && project_env(ev) != (r->project_env > 0))
		return false;
	if (r->download_host && !download_host(c, ev, host))
		return false;
	if (r->origin_env && !origin_env_is(r->origin_env, ev))
		return false;
	return true;
}

/* The finding's value: what a person recognises, normalized so that one
 * behaviour repeated over pids and temp names is one finding. */
static void event_value(const ectx *c, const fangs_event *ev, const char *host, const char *argv, char *out, size_t cap)
{
	fangs__sink o;
	fangs__sink_init(&o, out, cap);
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN: {
		const char *file = fangs__open_path(ev);
		fangs__norm_path(&c->norm, file ? file : "", file ? strlen(file) : 0, &o);
		break;
	}
	case FANGS_EV_EXEC:
		fangs__sink_puts(&o, argv && *argv ? argv : (ev->path ? ev->path : ""));
		break;
	case FANGS_EV_NET_CONNECT: {
		char a[64];
		if (fangs_normalize_addr(ev->addr ? ev->addr : "", a, sizeof(a)) < 0)
			snprintf(a, sizeof(a), "%s", ev->addr ? ev->addr : "");
		if (strchr(a, ':'))
			fangs__sink_putc(&o, '[');
		fangs__sink_puts(&o, a);
		if (strchr(a, ':'))
			fangs__sink_putc(&o, ']');
		fangs__sink_putc(&o, ':');
		{
			char port[16];
			snprintf(port, sizeof(port), "%u/%s", ev->port, ev->proto == FANGS_PROTO_UDP ? "udp" : "tcp");
			fangs__sink_puts(&o, port);
		}
		break;
	}
	case FANGS_EV_DNS_QUERY:
	case FANGS_EV_TLS_SNI:
	case FANGS_EV_PROXY_REQUEST:
		fangs__sink_puts(&o, host ? host : "");
		break;
	case FANGS_EV_SYSCALL:
		fangs__sink_puts(&o, ev->op ? ev->op : "syscall");
		if (ev->detail) {
			fangs__sink_putc(&o, ' ');
			fangs__sink_puts(&o, ev->detail);
		}
		if (ev->path) {
			fangs__sink_putc(&o, ' ');
			fangs__norm_path(&c->norm, ev->path, strlen(ev->path), &o);
		}
		break;
	case FANGS_EV_PROC_FORK:
	case FANGS_EV_PROC_EXIT:
	case FANGS_EV_NONE:
		fangs__sink_puts(&o, fangs_event_kind_name(ev->kind));
		break;
	}
	fangs__sink_end(&o);
}

static int add_hit(ectx *c, size_t rule, const char *value, size_t first, const int64_t *ids, size_t n_ids)
{
	uint64_t h = fangs__hash64(value, strlen(value), rule);
	hit *x = NULL;
	for (size_t i = c->hits.count; i-- > 0;) {
		if (c->hits.items[i].hash == h && c->hits.items[i].rule == rule &&
		    !strcmp(c->hits.items[i].value, value)) {
			x = &c->hits.items[i];
			break;
		}
	}
	if (!x) {
		if (FANGS_GROW(&c->hits))
			return FANGS_ENOMEM;
		x = &c->hits.items[c->hits.count];
		memset(x, 0, offsetof(hit, ids));
		if (!(x->value = fangs__strdup(value)))
			return FANGS_ENOMEM;
		x->rule = rule;
		x->hash = h;
		x->first = first;
		c->hits.count++;
	}
	for (size_t i = 0; i < n_ids && x->n_ids < EVIDENCE_MAX; i++)
		x->ids[x->n_ids++] = ids[i];
	return 0;
}

/* The registrable part of a name (the Public Suffix List's, as findings
 * are grouped: "x.evil.co.uk" -> "evil.co.uk"), within `host`; `host`
 * itself when it is no subdomain. */
static const char *parent_domain(const char *host)
{
	char dom[256];
	size_t hl = strlen(host), dl;
	if (fangs_registrable_domain(host, NULL, dom, sizeof(dom)))
		return host;
	dl = strlen(dom);
	if (dl > hl || strcasecmp(host + hl - dl, dom) || (dl < hl && host[hl - dl - 1] != '.'))
		return host;
	return host + hl - dl;
}

static int add_to_group(ectx *c, size_t rule, const char *host, size_t idx)
{
	const char *dom = parent_domain(host);
	group *g = NULL;
	int rc;
	if (dom == host)
		return 0; /* the domain itself is not a subdomain */
	for (size_t i = 0; i < c->groups.count; i++)
		if (c->groups.items[i].rule == rule && !strcmp(c->groups.items[i].domain, dom))
			g = &c->groups.items[i];
	if (!g) {
		if (FANGS_GROW(&c->groups))
			return FANGS_ENOMEM;
		g = &c->groups.items[c->groups.count];
		memset(g, 0, offsetof(group, ids));
		g->rule = rule;
		g->first = idx;
		if (!(g->domain = fangs__strdup(dom)) || fangs_fpset_new(&g->names)) {
			free(g->domain);
			return FANGS_ENOMEM;
		}
		c->groups.count++;
	}
	if ((rc = fangs_fpset_add(g->names, FANGS_FP_DNS, FANGS_ACTOR_SCRIPT, host)) < 0)
		return rc;
	if (rc == 1 && g->n_ids < EVIDENCE_MAX)
		g->ids[g->n_ids++] = c->in->events[idx].id;
	return 0;
}

static int match_all(ectx *c)
{
	const fangs__rule_list *rules = &c->rs->rules;
	char value[VALUE_MAX];
	for (size_t i = 0; i < c->in->n_events; i++) {
		const fangs_event *ev = &c->in->events[i];
		char host[256];
		const char *h = NULL;
		char *argv = NULL;
		int rc = 0;
		if (named_host(ev)) {
			lower_host(named_host(ev), host, sizeof(host));
			h = host;
		}
		track_lister(c, ev);
		for (size_t r = 0; r < rules->count && rc == 0; r++) {
			const fangs__rule *rule = &rules->items[r];
			if (!rule->enabled)
				continue;
			if (!argv && ev->kind == FANGS_EV_EXEC && (rule->argv.count || rule->argv_not.count) &&
			    !(argv = fangs__join_argv(ev)))
				return fangs__error_oom();
			if (!match_event(c, rule, ev, h, argv))
				continue;
			if (rule->subdomains_min) {
				/* grouped by domain: only events that name a host */
				if (h)
					rc = add_to_group(c, r, h, i);
				continue;
			}
			if (!argv && ev->kind == FANGS_EV_EXEC && !(argv = fangs__join_argv(ev)))
				return fangs__error_oom();
			if (rule->origin_env)
				snprintf(value, sizeof(value), "%s (%s) as npm_package_name=\"%s\"", ev->origin.package,
					 ev->origin.script ? ev->origin.script : "?", ev->env_package);
			else if (rule->exec_fileless && ev->path && argv && strncmp(argv, ev->path, strlen(ev->path)))
				/* the name it ran as says little: say what it was */
				snprintf(value, sizeof(value), "%s: %s", ev->path, argv);
			else
				event_value(c, ev, h, argv, value, sizeof(value));
			rc = add_hit(c, r, value, i, &ev->id, 1);
		}
		free(argv);
		if (rc == 0 && c->need_written)
			rc = note_write(c, ev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- run-level conditions ---- */

static int groups_to_hits(ectx *c)
{
	char value[VALUE_MAX];
	for (size_t i = 0; i < c->groups.count; i++) {
		const group *g = &c->groups.items[i];
		size_t n = fangs_fpset_size(g->names);
		int rc;
		if (n < c->rs->rules.items[g->rule].subdomains_min)
			continue;
		snprintf(value, sizeof(value), "%s (%zu names)", g->domain, n);
		if ((rc = add_hit(c, g->rule, value, g->first, g->ids, g->n_ids)))
			return rc;
	}
	return 0;
}

static bool is_npm_exec(const fangs_event *ev)
{
	const char *names[3] = {ev->path, ev->argc > 0 ? ev->argv[0] : NULL, ev->argc > 1 ? ev->argv[1] : NULL};
	for (size_t i = 0; i < 3; i++) {
		const char *base;
		if (!names[i])
			continue;
		base = strrchr(names[i], '/');
		base = base ? base + 1 : names[i];
		if (!strcmp(base, "npm") || !strcmp(base, "npm-cli.js"))
			return true;
	}
	return false;
}

/*
 * The install ends when npm exits: the first process that exec'd npm (a
 * sandbox may run helpers before it, so the first process seen is not
 * necessarily npm). Without such an exec, the first process of the run.
 */
/* A sandbox that ends a run kills all its processes at once; their exits
 * come in over this long after npm's. */
#define KILL_SPREAD_NS 2000000000ULL

/* When the install (npm) ended; *killed when npm was killed (the run's
 * time limit, the OOM killer), not when it exited by itself. */
static bool install_end(const ectx *c, uint64_t *end, bool *killed)
{
	const fangs_event *first = NULL;
	const proc *p;
	for (size_t i = 0; i < c->in->n_events; i++) {
		const fangs_event *ev = &c->in->events[i];
		if (ev->origin.package || ev->origin.script)
			continue;
		if (!first)
			first = ev;
		if (ev->kind == FANGS_EV_EXEC && is_npm_exec(ev)) {
			first = ev;
			break;
		}
	}
	if (!first)
		return false;
	p = proc_get((proctab *)&c->procs, first->pid, false);
	if (!p || !p->exited)
		return false;
	*end = p->exit_ts;
	*killed = p->exit_code == 128 + 9;
	return true;
}

static int alive_hits(ectx *c, size_t rule)
{
	char value[VALUE_MAX];
	uint64_t end = 0;
	size_t found = 0;
	bool killed = false;
	int rc;
	if (install_end(c, &end, &killed)) {
		/* npm killed, not done: what died with it did not outlive an
		 * install that never finished */
		uint64_t until = killed ? end + KILL_SPREAD_NS : end;
		for (size_t s = 0; s <= c->procs.mask; s++) {
			const proc *p = &c->procs.slots[s];
			const fangs_event *ev;
			char *argv = NULL;
			if (!p->used || !p->by_script || (p->exited && p->exit_ts <= until))
				continue;
			ev = &c->in->events[p->first];
			/* the exec says best what it is; a fork only names the parent */
			for (size_t i = p->first; i < c->in->n_events; i++) {
				if (c->in->events[i].pid == p->pid && c->in->events[i].kind == FANGS_EV_EXEC) {
					ev = &c->in->events[i];
					break;
				}
			}
			if (ev->kind == FANGS_EV_EXEC && !(argv = fangs__join_argv(ev)))
				return fangs__error_oom();
			snprintf(value, sizeof(value), "%s%s", argv ? argv : (ev->comm ? ev->comm : "?"),
				 p->exited ? " (exited after the install)" : " (still running at the end)");
			free(argv);
			if ((rc = add_hit(c, rule, value, (size_t)(ev - c->in->events), &ev->id, 1)))
				return rc;
			found++;
		}
	}
	/* a count taken when the time limit hit includes the install itself */
	if (!found && !killed && c->in->processes_left > 0) {
		snprintf(value, sizeof(value), "%d process%s left in the sandbox", c->in->processes_left,
			 c->in->processes_left == 1 ? "" : "es");
		return add_hit(c, rule, value, SIZE_MAX, NULL, 0);
	}
	return 0;
}

/* ---- findings ---- */

#define DUP(dst, src) \
	do { \
		if ((src) && !((dst) = fangs__strdup(src))) \
			return FANGS_ENOMEM; \
	} while (0)

static int fill(const ectx *c, hit *x, fangs_deviation *dev)
{
	const fangs__rule *r = &c->rs->rules.items[x->rule];
	const fangs_event *ev = x->first < c->in->n_events ? &c->in->events[x->first] : NULL;
	char kind[80];

	snprintf(kind, sizeof(kind), "rule:%s", r->id);
	DUP(dev->run_id, c->in->run_id);
	DUP(dev->package, c->in->package);
	if (!(dev->kind = fangs__strdup(kind)))
		return FANGS_ENOMEM;
	DUP(dev->description, r->description);
	dev->severity = fangs__severity_for(c->rs->config, c->in->package, kind, r->severity);
	dev->value = x->value;
	x->value = NULL;
	dev->actor = ev ? fangs_event_actor(ev) : FANGS_ACTOR_SCRIPT;
	if (ev) {
		DUP(dev->origin.package, ev->origin.package);
		DUP(dev->origin.version, ev->origin.version);
		DUP(dev->origin.script, ev->origin.script);
		DUP(dev->origin.command, ev->origin.command);
		if (ev->kind == FANGS_EV_EXEC && ev->argc) {
			if (!(dev->command = fangs__join_argv(ev)))
				return fangs__error_oom();
		} else {
			DUP(dev->command, ev->origin.command);
		}
	}
	if (x->n_ids) {
		if (!(dev->evidence = malloc(x->n_ids * sizeof(int64_t))))
			return fangs__error_oom();
		memcpy(dev->evidence, x->ids, x->n_ids * sizeof(int64_t));
		dev->n_evidence = x->n_ids;
	}
	dev->created_ns = fangs__now_ns();
	return 0;
}

static void ectx_free(ectx *c)
{
	for (size_t i = 0; i < c->hits.count; i++)
		free(c->hits.items[i].value);
	free(c->hits.items);
	for (size_t i = 0; i < c->groups.count; i++) {
		free(c->groups.items[i].domain);
		fangs_fpset_free(c->groups.items[i].names);
	}
	free(c->groups.items);
	fangs_fpset_free(c->written);
	fangs_fpset_free(c->written_base);
	free(c->infra);
	fangs_fpset_free(c->written_any);
	fangs_fpset_free(c->script_dirs);
	fangs_fpset_free(c->shipped);
	for (size_t i = 0; i < c->dirs.count; i++) {
		free(c->dirs.items[i].name);
		free(c->dirs.items[i].dir);
	}
	free(c->dirs.items);
	free(c->registry);
	free(c->procs.slots);
}

int fangs_rules_evaluate(const fangs_rules *rs, const fangs_rules_input *in, fangs_deviation_list *out)
{
	ectx c;
	const fangs_norm_ctx nctx = {in ? in->package : NULL, in ? in->version : NULL};
	size_t start;
	int rc = 0;

	if (!rs || !in || !out)
		return fangs_error_set(FANGS_EINVAL, "rules evaluate: missing rules, input or output");
	if (in->n_events && !in->events)
		return fangs_error_set(FANGS_EINVAL, "rules evaluate: %zu events but no array", in->n_events);
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.in = in;
	start = out->count;
	fangs__norm_prepare(&c.norm, &nctx);
	for (size_t r = 0; r < rs->rules.count; r++)
		if (rs->rules.items[r].enabled &&
		    (rs->rules.items[r].exec_written || rs->rules.items[r].proc_environ_other))
			c.need_written = true; /* proc_environ_other: is ps the system's */
	if (c.need_written && ((rc = fangs_fpset_new(&c.written)) || (rc = fangs_fpset_new(&c.written_base)) ||
			       (rc = fangs_fpset_new(&c.written_any)) || (rc = fangs_fpset_new(&c.script_dirs)) ||
			       (rc = fangs_fpset_new(&c.shipped))))
		goto out;
	if (in->n_infra) {
		if (!in->infra || !(c.infra = calloc(in->n_infra, sizeof(*c.infra)))) {
			rc = in->infra ? fangs__error_oom()
				       : fangs_error_set(FANGS_EINVAL, "rules evaluate: %zu endpoints but no array",
							 in->n_infra);
			goto out;
		}
		for (size_t i = 0; i < in->n_infra; i++)
			if ((rc = fangs__infra_parse(in->infra[i], &c.infra[i])) < 0)
				goto out;
		c.n_infra = in->n_infra;
	}
	if (in->n_registry_addrs && in->registry_addrs) {
		if (!(c.registry = calloc(in->n_registry_addrs, sizeof(raddr)))) {
			rc = fangs__error_oom();
			goto out;
		}
		for (size_t i = 0; i < in->n_registry_addrs; i++) {
			raddr *a = &c.registry[c.n_registry];
			if ((a->family = addr_bytes(in->registry_addrs[i], a->b)))
				c.n_registry++;
		}
	}
	if ((rc = learn_processes(&c)) || (rc = match_all(&c)) || (rc = groups_to_hits(&c)))
		goto out;
	for (size_t r = 0; r < rs->rules.count; r++)
		if (rs->rules.items[r].enabled && rs->rules.items[r].alive_after_install && (rc = alive_hits(&c, r)))
			goto out;
	for (size_t r = 0; r < rs->rules.count; r++) {
		char value[VALUE_MAX];
		if (!rs->rules.items[r].enabled || !rs->rules.items[r].events_lost || in->events_lost <= 0)
			continue;
		snprintf(value, sizeof(value), "sensor blinded: %lld event%s lost", (long long)in->events_lost,
			 in->events_lost == 1 ? "" : "s");
		if ((rc = add_hit(&c, r, value, SIZE_MAX, NULL, 0)))
			goto out;
	}
	for (size_t i = 0; i < c.hits.count; i++) {
		fangs_deviation *dev = fangs_deviation_list_push(out);
		if (!dev) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		if ((rc = fill(&c, &c.hits.items[i], dev)))
			goto out;
	}
out:
	if (rc < 0)
		while (out->count > start)
			fangs_deviation_clear(&out->items[--out->count]);
	ectx_free(&c);
	return rc < 0 ? rc : 0;
}
