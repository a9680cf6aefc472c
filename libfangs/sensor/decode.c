/*
 * sensor/decode.c - turns ring buffer records into fangs_event values,
 * adding ancestry and attribution from the process table.
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/internal.h"
#include "sensor.skel.h"
#include "sensor/parse.h"
#include "sensor/sensor_internal.h"

/* External processes (outside watched cgroups) may exec without us seeing
 * it: their /proc view is refreshed after this long. */
#define EXTERNAL_TTL_NS 1000000000LL

static void read_proc_file(int32_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	if (strcmp(what, "exe") == 0) {
		n = readlink(path, buf, len - 1);
		if (n > 0)
			buf[n] = '\0';
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
}

static int32_t proc_ppid(int32_t pid)
{
	char stat[512], *p;
	int ppid = 0;
	read_proc_file(pid, "stat", stat, sizeof(stat));
	p = strrchr(stat, ')'); /* comm may hold spaces and parentheses */
	if (p && sscanf(p + 1, " %*c %d", &ppid) == 1)
		return ppid;
	return 0;
}

static void terminate_proc(fangs__proc *p)
{
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->exe[sizeof(p->exe) - 1] = '\0';
	p->origin.pkg[sizeof(p->origin.pkg) - 1] = '\0';
	p->origin.ver[sizeof(p->origin.ver) - 1] = '\0';
	p->origin.script[sizeof(p->origin.script) - 1] = '\0';
	p->origin.cmd[sizeof(p->origin.cmd) - 1] = '\0';
}

/* Fills `p` from the kernel's table (exe and attribution of a watched
 * process) or, for processes never watched, from /proc. */
static void proc_fill(fangs_sensor *s, fangs__proc *p)
{
	struct fs_proc kp;
	__u32 key = (__u32)p->pid;

	if (bpf_map__lookup_elem(s->skel->maps.procs, &key, sizeof(key), &kp, sizeof(kp), 0) == 0) {
		memcpy(p->exe, kp.exe, sizeof(p->exe));
		p->exe[sizeof(p->exe) - 1] = '\0';
		p->origin = kp.origin;
		p->has_origin = (int)kp.has_origin;
		p->external = 0;
	} else {
		read_proc_file(p->pid, "exe", p->exe, sizeof(p->exe));
		p->external = 1;
		p->fetched = fangs__monotonic_ns();
	}
	if (!p->comm[0])
		read_proc_file(p->pid, "comm", p->comm, sizeof(p->comm));
	if (!p->ppid)
		p->ppid = proc_ppid(p->pid);
	terminate_proc(p);
}

static fangs__proc *proc_lookup(fangs_sensor *s, int32_t pid)
{
	fangs__proc *p = fangs__proctab_get(&s->procs, pid);
	if (p && !(p->external && fangs__monotonic_ns() - p->fetched > EXTERNAL_TTL_NS))
		return p;
	if (!p && !(p = fangs__proctab_put(&s->procs, pid)))
		return NULL;
	p->comm[0] = '\0';
	p->ppid = 0;
	proc_fill(s, p);
	return p;
}

/* Copies a fixed-size field that may lack its NUL; NULL when empty. */
static char *borrow(char *dst, size_t dst_len, const char *src, size_t src_max)
{
	size_t n = strnlen(src, src_max);
	if (n >= dst_len)
		n = dst_len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n ? dst : NULL;
}

/* A string of the process table (NUL-terminated on entry); NULL when empty. */
static char *nz(char *s)
{
	return *s ? s : NULL;
}

static void set_origin(fangs_event *ev, fangs__proc *p)
{
	if (!p->origin.pkg[0] && !p->origin.script[0])
		return;
	ev->origin.package = nz(p->origin.pkg);
	ev->origin.version = nz(p->origin.ver);
	ev->origin.script = nz(p->origin.script);
	ev->origin.command = nz(p->origin.cmd);
}

static int set_addr(fangs_event *ev, const struct fs_addr *a, char *buf, size_t buf_len)
{
	ev->port = a->port;
	if (a->family == AF_INET) {
		ev->family = FANGS_FAMILY_IPV4;
		inet_ntop(AF_INET, a->addr, buf, (socklen_t)buf_len);
	} else if (a->family == AF_INET6) {
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		/* an IPv4 peer reached through an IPv6 socket is an IPv4 destination */
		if (memcmp(a->addr, v4mapped, sizeof(v4mapped)) == 0) {
			ev->family = FANGS_FAMILY_IPV4;
			inet_ntop(AF_INET, a->addr + 12, buf, (socklen_t)buf_len);
		} else {
			ev->family = FANGS_FAMILY_IPV6;
			inet_ntop(AF_INET6, a->addr, buf, (socklen_t)buf_len);
		}
	} else if (a->family == AF_UNIX) {
		size_t n = a->len < FS_ADDR_LEN ? a->len : FS_ADDR_LEN;
		ev->family = FANGS_FAMILY_UNIX;
		ev->port = 0;
		if (n && a->addr[0] == '\0') { /* abstract socket: shown as @name */
			buf[0] = '@';
			memcpy(buf + 1, a->addr + 1, n - 1);
			buf[n] = '\0';
		} else {
			/* a path ends at its NUL: callers often pass sizeof(sockaddr_un) */
			n = strnlen((const char *)a->addr, n);
			memcpy(buf, a->addr, n);
			buf[n] = '\0';
		}
		for (size_t i = 1; i < n; i++) {
			if (buf[i] == '\0')
				buf[i] = '@';
			else if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
				buf[i] = '?';
		}
	} else {
		return 1;
	}
	ev->addr = buf;
	return 0;
}

static uint32_t open_intent(uint64_t flags)
{
	uint32_t f = 0;
	switch (flags & 3) {
	case 0:
		f = FANGS_OPEN_READ;
		break;
	case 1:
		f = FANGS_OPEN_WRITE;
		break;
	default:
		f = FANGS_OPEN_READ | FANGS_OPEN_WRITE;
		break;
	}
	if (flags & (O_CREAT | O_TRUNC))
		f |= FANGS_OPEN_WRITE;
	return f;
}

/* The kernel writes the components leaf first, each ending with a NUL:
 * put them in order. A walk that did not reach the root (too deep, too
 * long) starts with ".../"; a walk that reached it is absolute. */
static char *real_path(const struct fs_open *e, fangs__scratch *sc)
{
	size_t len = e->real_len < sizeof(e->real) ? e->real_len : sizeof(e->real);
	size_t ends[FS_RPATH_DEPTH + 1], n = 0, pos = 0, o = 0;
	char *out = sc->real;

	if (!(e->real_flags & FS_RP_RESOLVED))
		return NULL;
	while (pos < len && n < FANGS_ARRAY_SIZE(ends)) {
		size_t l = strnlen(e->real + pos, len - pos);
		ends[n++] = pos;
		pos += l + 1;
	}
	if (!(e->real_flags & FS_RP_ROOT) || (e->real_flags & FS_RP_TRUNC)) {
		memcpy(out, "...", 3);
		o = 3;
	}
	for (size_t i = n; i-- > 0;) {
		const char *c = e->real + ends[i];
		size_t l = strnlen(c, len - ends[i]);
		if (o + l + 2 > sizeof(sc->real))
			break;
		out[o++] = '/';
		memcpy(out + o, c, l);
		o += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static void split_args(fangs_event *ev, const struct fs_exec *e, fangs__scratch *sc)
{
	size_t len = e->args_len < FS_ARGS_LEN ? e->args_len : FS_ARGS_LEN;
	size_t pos = 0;

	memcpy(sc->args, e->args, len);
	sc->args[len] = '\0'; /* ends a truncated last argument */
	ev->argv = sc->argv;
	while (pos < len && ev->argc < FANGS_ARRAY_SIZE(sc->argv)) {
		size_t l = strlen(sc->args + pos);
		ev->argv[ev->argc++] = sc->args + pos;
		pos += l + 1;
	}
}

static int decode_payload(fangs_event *ev, const struct fs_payload *e, fangs__scratch *sc)
{
	size_t len = e->len < FS_PAYLOAD_LEN ? e->len : FS_PAYLOAD_LEN;
	char *name = sc->name;
	int rc;

	ev->proto = e->proto == FS_PROTO_UDP ? FANGS_PROTO_UDP : FANGS_PROTO_TCP;
	if (e->what == FS_PL_TLS) {
		if (fangs__tls_find_sni(e->data, len, name, sizeof(sc->name)))
			return 1;
		ev->kind = FANGS_EV_TLS_SNI;
		ev->sni = name;
	} else {
		if (e->what == FS_PL_DNS_TCP ? fangs__dns_parse_tcp(e->data, len, name, sizeof(sc->name), &ev->qtype)
					     : fangs__dns_parse_query(e->data, len, name, sizeof(sc->name), &ev->qtype))
			return 1;
		ev->kind = FANGS_EV_DNS_QUERY;
		ev->qname = name;
	}
	rc = set_addr(ev, &e->dst, sc->addr, sizeof(sc->addr));
	return rc < 0 ? rc : 0;
}

/* ---- privileged operations ---- */

static const char *const op_names[] = {
	NULL,      "ptrace", "mount", "umount", "fsopen",      "fsmount",      "move_mount", "open_tree",
	"unshare", "setns",  "clone", "kill",   "init_module", "finit_module", "bpf",        "perf_event_open",
};
_Static_assert(sizeof(op_names) / sizeof(op_names[0]) == FS_OP_PERF_EVENT_OPEN + 1, "a name for every fs_op");

static const char *ptrace_request(uint64_t r)
{
	switch (r) {
	case 0:
		return "traceme";
	case 1:
	case 2:
	case 3:
		return "peek";
	case 4:
	case 5:
	case 6:
		return "poke";
	case 7:
	case 9:
	case 24:
	case 31:
		return "continue";
	case 8:
		return "kill";
	case 12:
	case 13:
	case 14:
	case 15:
		return "regs";
	case 16:
		return "attach";
	case 17:
		return "detach";
	case 0x4206:
		return "seize";
	case 0x4207:
		return "interrupt";
	}
	return "other";
}

static void ns_names(uint64_t flags, char *out, size_t cap)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} ns[] = {
		{0x10000000, "user"}, {0x00020000, "mnt"}, {0x20000000, "pid"},    {0x40000000, "net"},
		{0x04000000, "uts"},  {0x08000000, "ipc"}, {0x02000000, "cgroup"}, {0x00000080, "time"},
	};
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(ns); i++)
		if ((flags & ns[i].bit) && n + strlen(ns[i].name) + 2 < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", ns[i].name);
	if (!n)
		snprintf(out, cap, "any");
}

static const char *bpf_command(uint64_t c)
{
	static const char *const names[] = {"map_create", "map_lookup", "map_update", "map_delete",  "map_next_key",
					    "prog_load",  "obj_pin",    "obj_get",    "prog_attach", "prog_detach"};
	if (c < FANGS_ARRAY_SIZE(names))
		return names[c];
	if (c == 17)
		return "raw_tracepoint_open";
	if (c == 18)
		return "btf_load";
	if (c == 28)
		return "link_create";
	return "other";
}

static const char *perf_type(uint64_t t)
{
	static const char *const names[] = {"hardware", "software", "tracepoint", "hw_cache", "raw", "breakpoint"};
	return t < FANGS_ARRAY_SIZE(names) ? names[t] : "other";
}

static const char *signal_name(uint64_t sig, char *buf, size_t cap)
{
	static const char *const names[] = {NULL,      "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",    "SIGTRAP",
					    "SIGABRT", "SIGBUS",  "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV",
					    "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
					    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"};
	if (sig && sig < FANGS_ARRAY_SIZE(names))
		return names[sig];
	snprintf(buf, cap, "SIG%llu", (unsigned long long)sig);
	return buf;
}

/* Printable text of a fixed-size kernel string (NULL when empty). */
static char *clean(char *dst, size_t dst_len, const char *src, size_t src_max)
{
	char *r = borrow(dst, dst_len, src, src_max);
	for (char *p = dst; r && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}

static int decode_sysop(fangs_event *ev, const struct fs_sysop *e, fangs__scratch *sc)
{
	char *d = sc->name, sig[16], tcomm[FS_COMM_LEN + 1], fstype[FS_STR2_LEN + 1];
	size_t cap = sizeof(sc->name);

	if (e->op == 0 || e->op >= FANGS_ARRAY_SIZE(op_names))
		return 1;
	ev->kind = FANGS_EV_SYSCALL;
	ev->op = (char *)op_names[e->op];
	ev->arg = e->arg;
	ev->target = e->target;
	d[0] = '\0';
	switch ((enum fs_op)e->op) {
	case FS_OP_PTRACE:
		snprintf(d, cap, "%s", ptrace_request(e->arg));
		break;
	case FS_OP_MOUNT:
	case FS_OP_FSOPEN:
		snprintf(d, cap, "%s",
			 clean(fstype, sizeof(fstype), e->str2, sizeof(e->str2)) ? fstype
			 : (e->arg & 0x1000)                                     ? "bind"
										 : "none");
		break;
	case FS_OP_UMOUNT:
	case FS_OP_FSMOUNT:
	case FS_OP_MOVE_MOUNT:
	case FS_OP_OPEN_TREE:
	case FS_OP_INIT_MODULE:
	case FS_OP_FINIT_MODULE:
		break;
	case FS_OP_UNSHARE:
	case FS_OP_SETNS:
	case FS_OP_CLONE:
		ns_names(e->arg, d, cap);
		break;
	case FS_OP_KILL:
		snprintf(d, cap, "%s %s (%s)", signal_name(e->arg, sig, sizeof(sig)),
			 clean(tcomm, sizeof(tcomm), e->target_comm, sizeof(e->target_comm)) ? tcomm : "?",
			 e->arg2 ? "run" : "outside");
		break;
	case FS_OP_BPF:
		snprintf(d, cap, "%s", bpf_command(e->arg));
		break;
	case FS_OP_PERF_EVENT_OPEN:
		snprintf(d, cap, "%s", perf_type(e->arg));
		break;
	}
	ev->detail = d[0] ? d : NULL;
	ev->path = clean(sc->path, sizeof(sc->path), e->str, sizeof(e->str));
	return 0;
}

/* Keeps the user-space table in step with fork, exec and exit. */
static void track(fangs_sensor *s, const struct fs_hdr *h, const void *data)
{
	fangs__proc *p;

	if (h->kind == FS_EV_FORK) {
		fangs__proc *parent = h->n_anc ? fangs__proctab_get(&s->procs, (int32_t)h->anc[0]) : NULL;
		struct fangs__proc copy;
		if (parent)
			copy = *parent;
		if (!(p = fangs__proctab_put(&s->procs, (int32_t)h->pid)))
			return;
		if (parent && !parent->external) {
			memcpy(p->exe, copy.exe, sizeof(p->exe));
			p->origin = copy.origin;
			p->has_origin = copy.has_origin;
			p->external = 0;
		} else {
			/* parent unknown to us: the kernel's table has what it inherited */
			p->comm[0] = '\0';
			proc_fill(s, p);
		}
		memcpy(p->comm, h->comm, sizeof(p->comm));
		p->ppid = h->n_anc ? (int32_t)h->anc[0] : 0;
		terminate_proc(p);
	} else if (h->kind == FS_EV_EXEC) {
		const struct fs_exec *e = data;
		if (!(p = fangs__proctab_put(&s->procs, (int32_t)h->pid)))
			return;
		memcpy(p->comm, h->comm, sizeof(p->comm));
		memcpy(p->exe, e->path, sizeof(p->exe));
		p->exe[sizeof(p->exe) - 1] = '\0';
		p->origin = e->origin;
		p->has_origin = (int)e->has_origin;
		p->ppid = h->n_anc ? (int32_t)h->anc[0] : 0;
		p->external = 0;
		terminate_proc(p);
	}
}

static size_t record_size(uint32_t kind)
{
	switch (kind) {
	case FS_EV_OPEN:
		return offsetof(struct fs_open, real); /* then real_len bytes */
	case FS_EV_EXEC:
		return sizeof(struct fs_exec);
	case FS_EV_CONNECT:
		return sizeof(struct fs_connect);
	case FS_EV_PAYLOAD:
		return sizeof(struct fs_payload);
	case FS_EV_SNI:
		return sizeof(struct fs_sni);
	case FS_EV_FORK:
		return sizeof(struct fs_fork);
	case FS_EV_EXIT:
		return sizeof(struct fs_exit);
	case FS_EV_SYSOP:
		return sizeof(struct fs_sysop);
	}
	return 0;
}

/* 0 = deliver, 1 = nothing to deliver, < 0 = error. */
static int decode(fangs_sensor *s, const struct fs_hdr *h, const void *data, fangs_event *ev)
{
	fangs__scratch *sc = &s->scratch;
	fangs__proc *self;
	int rc = 0;

	ev->ts_ns = h->ts + (uint64_t)s->mono_to_real;
	ev->pid = (int32_t)h->pid;
	ev->ppid = h->n_anc ? (int32_t)h->anc[0] : 0;
	ev->uid = h->uid;
	if (h->run < FS_MAX_RUNS)
		ev->run_id = s->runs[h->run].run_id;
	ev->comm = borrow(sc->comm, sizeof(sc->comm), h->comm, sizeof(h->comm));

	switch (h->kind) {
	case FS_EV_OPEN: {
		const struct fs_open *e = data;
		ev->kind = FANGS_EV_FILE_OPEN;
		ev->flags = open_intent(e->flags);
		ev->path = borrow(sc->path, sizeof(sc->path), e->path, sizeof(e->path));
		ev->real_path = real_path(e, sc);
		if (ev->real_path) {
			ev->ino = e->ino;
			ev->dev = makedev((unsigned)(e->dev >> 20), (unsigned)(e->dev & 0xfffff));
		}
		/* an open through a path the caller's memory no longer held is
		 * still the open of a known file */
		if (!ev->path && ev->real_path)
			ev->path = ev->real_path;
		/* unreadable even after the call (the kernel could not read it
		 * either, so nothing was opened), or not paged in at entry with
		 * the retry probes off: an open of no known file says nothing */
		if (!ev->path) {
			fangs_debug("sensor: pid %d opened a path that could not be read", ev->pid);
			return 1;
		}
		break;
	}
	case FS_EV_EXEC: {
		const struct fs_exec *e = data;
		ev->kind = FANGS_EV_EXEC;
		ev->path = borrow(sc->path, sizeof(sc->path), e->path, sizeof(e->path));
		/* fexecve and relative paths: the binary's own path, while the
		 * process still runs it */
		if (!ev->path || ev->path[0] != '/' || strncmp(ev->path, "/dev/fd/", 8) == 0) {
			char exe[FS_PATH_LEN];
			read_proc_file(ev->pid, "exe", exe, sizeof(exe));
			if (exe[0] == '/')
				ev->path = strcpy(sc->path, exe);
		}
		if (!ev->path)
			ev->path = "";
		split_args(ev, e, sc);
		/* the environment's claim, when it contradicts the kernel's mark:
		 * another name, or none */
		if (e->has_origin && e->env_state == FS_ENV_OTHER)
			ev->env_package = borrow(sc->env_pkg, sizeof(sc->env_pkg), e->env_pkg, sizeof(e->env_pkg));
		if (e->has_origin && e->env_state != FS_ENV_SAME && !ev->env_package)
			ev->env_package = "";
		break;
	}
	case FS_EV_CONNECT: {
		const struct fs_connect *e = data;
		ev->kind = FANGS_EV_NET_CONNECT;
		ev->proto = e->proto == FS_PROTO_UDP ? FANGS_PROTO_UDP : FANGS_PROTO_TCP;
		if (e->dst.family == AF_UNIX)
			ev->proto = FANGS_PROTO_NONE;
		if ((rc = set_addr(ev, &e->dst, sc->addr, sizeof(sc->addr))))
			return rc;
		break;
	}
	case FS_EV_PAYLOAD:
		if ((rc = decode_payload(ev, data, sc)))
			return rc;
		break;
	case FS_EV_SNI: {
		const struct fs_sni *e = data;
		ev->kind = FANGS_EV_TLS_SNI;
		ev->sni = borrow(sc->name, sizeof(sc->name), e->name, sizeof(e->name));
		if (!ev->sni)
			return 1;
		break;
	}
	case FS_EV_FORK:
		ev->kind = FANGS_EV_PROC_FORK;
		break;
	case FS_EV_EXIT:
		ev->kind = FANGS_EV_PROC_EXIT;
		ev->exit_code = ((const struct fs_exit *)data)->exit_code;
		break;
	case FS_EV_SYSOP:
		if ((rc = decode_sysop(ev, data, sc)))
			return rc;
		break;
	default:
		return 1;
	}

	for (uint32_t i = 0; i < h->n_anc && i < FS_ANCESTRY; i++) {
		fangs__proc *a = proc_lookup(s, (int32_t)h->anc[i]);
		fangs_ancestor *out = &ev->ancestry[ev->n_ancestry++];
		out->pid = (int32_t)h->anc[i];
		if (!a)
			continue;
		out->comm = nz(a->comm);
		out->exe = nz(a->exe);
	}
	self = proc_lookup(s, (int32_t)h->pid);
	if (self && self->has_origin)
		set_origin(ev, self);
	return 0;
}

int fangs__sensor_record(void *ctx, void *data, size_t size)
{
	fangs_sensor *s = ctx;
	const struct fs_hdr *h = data;
	fangs_event ev;
	int rc;

	if (size < sizeof(*h) || size < record_size(h->kind) || !record_size(h->kind))
		return 0;
	if (h->kind == FS_EV_OPEN && size < offsetof(struct fs_open, real) + ((const struct fs_open *)data)->real_len)
		return 0;
	track(s, h, data);
	memset(&ev, 0, sizeof(ev));
	rc = decode(s, h, data, &ev);
	if (rc == 0) {
		s->delivered++;
		rc = s->on_event ? s->on_event(&ev, s->user) : 0;
	} else if (rc < 0) {
		fangs_warn("sensor: dropping an event: %s", fangs_error_last());
		rc = 0;
	} else {
		rc = 0;
	}
	/* every string of ev is borrowed: nothing to free */
	if (h->kind == FS_EV_EXIT)
		fangs__proctab_del(&s->procs, (int32_t)h->pid);
	if (rc < 0) {
		s->cb_rc = rc;
		return rc;
	}
	return 0;
}
