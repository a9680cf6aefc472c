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

#include "differ/internal.h"
#include "rules/internal.h"

#define EVIDENCE_MAX 32
#define VALUE_MAX 512

/* ---- the run's processes ---- */

typedef struct proc {
	int32_t pid;
	bool used;
	bool has_origin;
	bool script_root;   /* the process npm started for a lifecycle script */
	bool by_script;     /* started by a script (fork or exec with an origin) */
	bool named_registry; /* asked for / sent SNI of the registry host */
	bool named_other;
	bool exited;
	uint64_t exit_ts;
	size_t first;       /* index of its first event with an origin */
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

typedef struct ectx {
	const fangs_rules *rs;
	const fangs_rules_input *in;
	proctab procs;
	fangs__norm norm;
	fangs_fpset *written;      /* absolute or ./-less paths a script wrote */
	fangs_fpset *written_base; /* fs_write: their basenames (actor npm = written relative);
				    * exec: basenames of files npm unpacked into node_modules */
	hitset hits;
	groupset groups;
	bool need_written;
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

static int learn_processes(ectx *c)
{
	const fangs_rules_input *in = c->in;
	size_t slots = 64;
	while (slots < in->n_events * 2 + 2)
		slots *= 2;
	if (!(c->procs.slots = calloc(slots, sizeof(proc))))
		return fangs__error_oom();
	c->procs.mask = slots - 1;
	for (size_t i = 0; i < in->n_events; i++) {
		const fangs_event *ev = &in->events[i];
		proc *p = proc_get(&c->procs, ev->pid, true), *parent;
		char host[256];
		if (!p)
			return fangs__error_oom();
		if (ev->origin.package || ev->origin.script) {
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
		switch (ev->kind) {
		case FANGS_EV_PROC_EXIT:
			p->exited = true;
			p->exit_ts = ev->ts_ns;
			break;
		case FANGS_EV_DNS_QUERY:
		case FANGS_EV_TLS_SNI:
			lower_host(ev->kind == FANGS_EV_DNS_QUERY ? ev->qname : ev->sni, host, sizeof(host));
			if (is_registry(c, host))
				p->named_registry = true;
			else if (!local_name(host))
				p->named_other = true;
			break;
		default:
			break;
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

/* /proc/<n>/environ (or /proc/<n>/task/<t>/environ) of a process other than the reader. */
static bool other_environ(const fangs_event *ev)
{
	const char *p = ev->path, *q;
	long pid = 0;
	if (!p || strncmp(p, "/proc/", 6) || !fangs__str_has_suffix(p, "/environ"))
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

static bool not_registry(const ectx *c, const fangs_event *ev, const char *host)
{
	if (ev->kind == FANGS_EV_NET_CONNECT) {
		const proc *p;
		if (ev->family == FANGS_FAMILY_UNIX || !ev->addr)
			return false;
		/* loopback stays in the sandbox; DNS to a loopback resolver
		 * counts through its dns_query events */
		if (is_loopback(ev->addr))
			return false;
		p = proc_get((proctab *)&c->procs, ev->pid, false);
		/* a process that only ever named the registry talks to the registry */
		return !(p && p->named_registry && !p->named_other);
	}
	return !local_name(host) && !is_registry(c, host);
}

static const char *basename_of(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static bool was_written(const ectx *c, const char *path)
{
	const char *p = strip_dot(path);
	if (!c->written || fangs__str_has_prefix(p, "node_modules/.bin/") || strstr(p, "/node_modules/.bin/"))
		return false;
	if (fangs_fpset_contains(c->written, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, p))
		return true;
	/* one side relative: the other by its file name */
	return fangs_fpset_contains(c->written_base, FANGS_FP_FS_WRITE, p[0] == '/' ? FANGS_ACTOR_NPM : FANGS_ACTOR_SCRIPT,
				    basename_of(p));
}

static bool compiler(const char *comm)
{
	static const char *const names[] = {"cc1", "cc1plus", "as", "ld", "ld.bfd", "ld.gold", "collect2",
					    "gcc", "g++", "cc", "c++", "clang", "clang++", "lld", "ar"};
	for (size_t i = 0; comm && i < FANGS_ARRAY_SIZE(names); i++)
		if (!strcmp(comm, names[i]))
			return true;
	return false;
}

/* What scripts wrote, for exec_written. Compiler and linker output inside
 * node_modules is a native addon being built (node-gyp), not a drop. */
static int note_write(ectx *c, const fangs_event *ev)
{
	const char *p;
	int rc;
	if (ev->kind != FANGS_EV_FILE_OPEN || !(ev->flags & FANGS_OPEN_WRITE) || !ev->path)
		return 0;
	p = strip_dot(ev->path);
	if (fangs_event_actor(ev) == FANGS_ACTOR_NPM) {
		/* what npm unpacked: a script may put one of these binaries in
		 * place (esbuild swaps its JS shim for the platform binary) */
		if (!strstr(p, "node_modules/"))
			return 0;
		rc = fangs_fpset_add(c->written_base, FANGS_FP_EXEC, FANGS_ACTOR_NPM, basename_of(p));
		return rc < 0 ? rc : 0;
	}
	if (strstr(p, "node_modules/") &&
	    (compiler(ev->comm) || fangs_fpset_contains(c->written_base, FANGS_FP_EXEC, FANGS_ACTOR_NPM, basename_of(p))))
		return 0;
	if ((rc = fangs_fpset_add(c->written, FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, p)) < 0)
		return rc;
	rc = fangs_fpset_add(c->written_base, FANGS_FP_FS_WRITE, p[0] == '/' ? FANGS_ACTOR_SCRIPT : FANGS_ACTOR_NPM,
			     basename_of(p));
	return rc < 0 ? rc : 0;
}

static bool match_event(const ectx *c, const fangs__rule *r, const fangs_event *ev, const char *host,
			const char *argv)
{
	if (r->kinds && !(r->kinds & (1u << ev->kind)))
		return false;
	if (r->alive_after_install || r->events_lost)
		return false;
	if (r->op.count && (ev->kind != FANGS_EV_SYSCALL || !any_glob(&r->op, ev->op)))
		return false;
	if (r->detail.count && (ev->kind != FANGS_EV_SYSCALL || !any_glob(&r->detail, ev->detail)))
		return false;
	if (r->actor >= 0 && (int)fangs_event_actor(ev) != r->actor)
		return false;
	if (r->open && (ev->kind != FANGS_EV_FILE_OPEN || !(ev->flags & r->open)))
		return false;
	if (r->path.count && !any_glob(&r->path, ev->path))
		return false;
	if (r->path_not.count && any_glob(&r->path_not, ev->path))
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
	if (r->proc_environ_other && (ev->kind != FANGS_EV_FILE_OPEN || !other_environ(ev)))
		return false;
	if (r->label_min_len && (!host || !tunnel_label(r, host)))
		return false;
	if (r->exec_written && (ev->kind != FANGS_EV_EXEC || !ev->path || !was_written(c, ev->path)))
		return false;
	if (r->cred_path && (!ev->path || ev->kind != FANGS_EV_FILE_OPEN ||
			     !fangs__is_cred(c->rs->config, ev->path, NULL)))
		return false;
	return true;
}

/* The finding's value: what a person recognises, normalized so that one
 * behaviour repeated over pids and temp names is one finding. */
static void event_value(const ectx *c, const fangs_event *ev, const char *host, const char *argv, char *out,
			size_t cap)
{
	fangs__sink o;
	fangs__sink_init(&o, out, cap);
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
		fangs__norm_path(&c->norm, ev->path ? ev->path : "", ev->path ? strlen(ev->path) : 0, &o);
		break;
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
		if (c->hits.items[i].hash == h && c->hits.items[i].rule == rule && !strcmp(c->hits.items[i].value, value)) {
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

/* The registrable part of a name, roughly: its last two labels. */
static const char *parent_domain(const char *host)
{
	const char *last = strrchr(host, '.'), *p;
	if (!last)
		return host;
	for (p = last - 1; p > host && *p != '.'; p--)
		;
	return p > host ? p + 1 : host;
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
		if (ev->kind == FANGS_EV_DNS_QUERY || ev->kind == FANGS_EV_TLS_SNI) {
			lower_host(ev->kind == FANGS_EV_DNS_QUERY ? ev->qname : ev->sni, host, sizeof(host));
			h = host;
		}
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
				rc = add_to_group(c, r, h, i);
				continue;
			}
			if (!argv && ev->kind == FANGS_EV_EXEC && !(argv = fangs__join_argv(ev)))
				return fangs__error_oom();
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
static bool install_end(const ectx *c, uint64_t *end)
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
	return true;
}

static int alive_hits(ectx *c, size_t rule)
{
	char value[VALUE_MAX];
	uint64_t end = 0;
	size_t found = 0;
	int rc;
	if (install_end(c, &end)) {
		for (size_t s = 0; s <= c->procs.mask; s++) {
			const proc *p = &c->procs.slots[s];
			const fangs_event *ev;
			char *argv = NULL;
			if (!p->used || !p->by_script || (p->exited && p->exit_ts <= end))
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
	if (!found && c->in->processes_left > 0) {
		snprintf(value, sizeof(value), "%d process%s left in the sandbox", c->in->processes_left,
			 c->in->processes_left == 1 ? "" : "es");
		return add_hit(c, rule, value, SIZE_MAX, NULL, 0);
	}
	return 0;
}

/* ---- findings ---- */

#define DUP(dst, src)                                      \
	do {                                               \
		if ((src) && !((dst) = fangs__strdup(src))) \
			return FANGS_ENOMEM;               \
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
		if (rs->rules.items[r].enabled && rs->rules.items[r].exec_written)
			c.need_written = true;
	if (c.need_written && ((rc = fangs_fpset_new(&c.written)) || (rc = fangs_fpset_new(&c.written_base))))
		goto out;
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
