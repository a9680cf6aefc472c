/*
 * sensor/sensor.c - loads the BPF object, attaches what it can, watches
 * cgroups and drains the ring buffer.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/cgroup.h"
#include "sensor.skel.h"
#include "syscall_nr.h"
#include "core/cgroup.h"
#include "sensor/sensor_internal.h"

#define DEFAULT_RINGBUF (16u << 20)
#define DEFAULT_WAKEUP_MS 20u

/* Where each program belongs; the uprobe gets one probe per binary. */
static const struct {
	const char *prog;
	const char *group;
	unsigned int bit;
} prog_groups[] = {
	{"sys_enter_openat", "files", FANGS_SENSOR_PROBE_FILES},
	{"sys_enter_openat2", "files", FANGS_SENSOR_PROBE_FILES},
	{"sys_enter_open", "files", FANGS_SENSOR_PROBE_FILES},
	{"sys_enter_creat", "files", FANGS_SENSOR_PROBE_FILES},
	{"sys_exit_open_any", "files_retry", FANGS_SENSOR_PROBE_FILES_RETRY},
	{"sched_process_exec", "process", FANGS_SENSOR_PROBE_PROCESS},
	{"sched_process_fork", "process", FANGS_SENSOR_PROBE_PROCESS},
	{"sched_process_exit", "process", FANGS_SENSOR_PROBE_PROCESS},
	{"sys_enter_connect", "net", FANGS_SENSOR_PROBE_NET},
	{"sys_enter_sendto", "net", FANGS_SENSOR_PROBE_NET},
	{"sys_enter_sendmsg", "net", FANGS_SENSOR_PROBE_NET},
	{"sys_enter_sendmmsg", "net", FANGS_SENSOR_PROBE_NET},
	{"sys_enter_write", "payload", FANGS_SENSOR_PROBE_PAYLOAD},
	{"sys_enter_writev", "payload", FANGS_SENSOR_PROBE_PAYLOAD},
	{"io_uring_submit_req", "io_uring", FANGS_SENSOR_PROBE_IO_URING},
	{"io_uring_complete", "io_uring", FANGS_SENSOR_PROBE_IO_URING},
	{"ssl_ctrl", "tls_lib", FANGS_SENSOR_PROBE_TLS_LIB},
	{"sys_enter_ptrace", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_mount", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_umount", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_fsopen", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_fsmount", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_move_mount", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_open_tree", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_unshare", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_setns", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_clone", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_clone3", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_init_module", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_finit_module", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"raw_enter_modules", "privileged", FANGS_SENSOR_PROBE_MODULES_RAW}, /* opt-in */
	{"sys_enter_bpf", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"sys_enter_perf_event_open", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
	{"signal_generate", "privileged", FANGS_SENSOR_PROBE_PRIVILEGED},
};

/* Where sys_exit_open_any attaches. */
static const char *const open_exits[] = {"sys_exit_openat", "sys_exit_openat2", "sys_exit_open", "sys_exit_creat"};

/* The system calls with a handler: its tracepoint program sys_enter_<name>,
 * its raw_tp twin rt_<name>, its number on the target (-1: none). */
static const struct {
	const char *name;
	int nr;
} syscalls[] = {
	{"openat", FS_NR_openat},
	{"openat2", FS_NR_openat2},
	{"open", FS_NR_open},
	{"creat", FS_NR_creat},
	{"connect", FS_NR_connect},
	{"sendto", FS_NR_sendto},
	{"sendmsg", FS_NR_sendmsg},
	{"sendmmsg", FS_NR_sendmmsg},
	{"write", FS_NR_write},
	{"writev", FS_NR_writev},
	{"ptrace", FS_NR_ptrace},
	{"mount", FS_NR_mount},
	{"umount", FS_NR_umount},
	{"fsopen", FS_NR_fsopen},
	{"fsmount", FS_NR_fsmount},
	{"move_mount", FS_NR_move_mount},
	{"open_tree", FS_NR_open_tree},
	{"unshare", FS_NR_unshare},
	{"setns", FS_NR_setns},
	{"clone", FS_NR_clone},
	{"clone3", FS_NR_clone3},
	{"init_module", FS_NR_init_module},
	{"finit_module", FS_NR_finit_module},
	{"bpf", FS_NR_bpf},
	{"perf_event_open", FS_NR_perf_event_open},
};

static const char *const default_tls_binaries[] = {
	"/usr/lib/x86_64-linux-gnu/libssl.so.3",
	"/usr/lib/x86_64-linux-gnu/libssl.so.1.1",
	"/usr/lib64/libssl.so.3",
	"/usr/lib/libssl.so.3",
	"/usr/bin/node",
	"/usr/local/bin/node",
	NULL,
};

/* The loaded object, shared by the handles of this process that asked for
 * the same load-time options. Kept for the life of the process: loading
 * and attaching cost more than a scan should, and detaching a tracepoint
 * waits for an RCU grace period. */
struct fangs__core {
	struct fangs__core *next;
	pid_t pid;            /* a forked child does not share its parent's */
	pthread_mutex_t lock; /* recursive: a callback may unwatch */
	/* the options it was loaded with */
	size_t rbsize;
	unsigned int want; /* FANGS_SENSOR_PROBE_* bits asked for */
	unsigned int wakeup_ms;
	uint64_t max_events;
	unsigned int syscalls; /* asked for: FANGS_SENSOR_SYSCALLS_* */
	char *tls_key;         /* the TLS binaries asked for, joined; NULL = defaults */
	/* what it is */
	struct sensor *skel;
	struct ring_buffer *rb;
	/* the ring buffer's consumer and producer positions, mapped read-only
	 * (fangs_sensor_drain); NULL when the mapping failed */
	const volatile unsigned long *cons_pos, *prod_pos;
	struct bpf_link *enter_link, *exit_link; /* raw_tp mode */
	int raw;                                 /* raw_tp mode in use */
	char mode_why[300];
	fangs__probe *probes;
	fangs_sensor_probe *probe_list;
	size_t n_probes;
	char v2root[PATH_MAX];
	/* the runs: which handle owns each slot of the kernel's maps */
	fangs_sensor *owner[FS_MAX_RUNS];
	uint64_t cgroup[FS_MAX_RUNS];
	int level[FS_MAX_RUNS];
	int active[FS_MAX_RUNS];
	int next_slot;          /* slots are reused round-robin, so late events of an
			* unwatched run are unlikely to be read under a new run id */
	int loading;            /* a thread is loading it; the others wait (cores_cond) */
	fangs_sensor *consumer; /* the handle reading the ring buffer now */
	int consumed;           /* its records seen by this read */
	unsigned int handles;
};

static pthread_mutex_t cores_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cores_cond = PTHREAD_COND_INITIALIZER;
static fangs__core *cores;

/* libbpf's messages are printf formats of its own, passed on as such */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap) FANGS_PRINTF(2, 0);
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;
	fangs_log_level l = level == LIBBPF_WARN ? FANGS_LOG_WARN : FANGS_LOG_DEBUG;

	if (!fangs__log_enabled(l))
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fangs__log(l, "libbpf: %s", msg);
	return 0;
}

static int group_of(const char *prog, const char **group, unsigned int *bit)
{
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(prog_groups); i++) {
		if (strcmp(prog_groups[i].prog, prog) == 0) {
			*group = prog_groups[i].group;
			*bit = prog_groups[i].bit;
			return 0;
		}
	}
	return -1;
}

/* The index in syscalls[] of a tracepoint program sys_enter_<name>, or -1. */
static int syscall_of(const char *prog)
{
	if (strncmp(prog, "sys_enter_", 10) != 0)
		return -1;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(syscalls); i++)
		if (strcmp(prog + 10, syscalls[i].name) == 0)
			return (int)i;
	return -1;
}

/* Whether the kernel has what a program attaches to; when not, the program
 * is left out of the load so one missing tracepoint costs only itself. */
static int attach_point_exists(const char *sec, const struct btf *vmlinux, char *why, size_t len)
{
	char path[PATH_MAX];

	if (strncmp(sec, "tracepoint/", 11) == 0) {
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", sec + 11);
		if (access(path, F_OK) == 0)
			return 1;
		snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s/id", sec + 11);
		if (access(path, F_OK) == 0)
			return 1;
		snprintf(why, len, "tracepoint %s does not exist on this kernel", sec + 11);
		return 0;
	}
	if (strncmp(sec, "raw_tp/", 7) == 0) {
		snprintf(path, sizeof(path), "btf_trace_%s", sec + 7);
		if (!vmlinux || btf__find_by_name_kind(vmlinux, path, BTF_KIND_TYPEDEF) > 0)
			return 1;
		snprintf(why, len, "raw tracepoint %s does not exist on this kernel", sec + 7);
		return 0;
	}
	return 1;
}

static fangs__probe *add_probe(fangs__core *c, struct bpf_program *prog, const char *name, const char *group,
			       const char *why)
{
	fangs__probe *p, *np = realloc(c->probes, (c->n_probes + 1) * sizeof(*c->probes));
	if (!np)
		return NULL;
	c->probes = np;
	p = &c->probes[c->n_probes++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->reason, sizeof(p->reason), "%s", why);
	p->pub.group = group;
	p->prog = prog;
	p->nr = -1;
	return p;
}

static void probe_failed(fangs__probe *p, const char *fmt, ...) FANGS_PRINTF(2, 3);

static void probe_failed(fangs__probe *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	p->pub.live = 0;
}

static int collect_tls_binaries(const char *const *asked, char ***out, size_t *n)
{
	const char *const *list = asked ? asked : default_tls_binaries;
	int have_libssl = 0;
	char **v = NULL;

	*n = 0;
	for (size_t i = 0; list[i]; i++) {
		char *real = realpath(list[i], NULL);
		char **nv;
		int dup = 0;
		if (!real)
			continue;
		/* the defaults name several places of one libssl: take the first */
		if (!asked && strstr(list[i], "libssl")) {
			if (have_libssl) {
				free(real);
				continue;
			}
			have_libssl = 1;
		}
		for (size_t j = 0; j < *n; j++)
			dup |= strcmp(v[j], real) == 0;
		if (dup) {
			free(real);
			continue;
		}
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv) {
			free(real);
			break;
		}
		v = nv;
		v[(*n)++] = real;
	}
	*out = v;
	return 0;
}

/* Lists the probes of one program (several for those attached to more
 * than one place); returns whether any of them can attach. */
static int program_probes(fangs__core *c, struct bpf_program *prog, const char *group, const char *why,
			  const struct btf *vmlinux, char **tls, size_t n_tls)
{
	const char *pname = bpf_program__name(prog);
	char name[PATH_MAX + 32], reason[256];
	int any = 0, sc;
	fangs__probe *p;

	if (strcmp(pname, "ssl_ctrl") == 0) {
		if (n_tls == 0)
			return add_probe(c, prog, "uprobe/SSL_ctrl", group,
					 *why ? why : "no libssl or node binary found")
				       ? 0
				       : FANGS_ENOMEM;
		for (size_t i = 0; i < n_tls; i++) {
			snprintf(name, sizeof(name), "uprobe/SSL_ctrl:%s", tls[i]);
			if (!(p = add_probe(c, prog, name, group, why)))
				return FANGS_ENOMEM;
			p->how = FANGS__ATTACH_UPROBE;
			snprintf(p->target, sizeof(p->target), "%s", tls[i]);
		}
		return !*why;
	}
	if (strcmp(pname, "sys_exit_open_any") == 0) {
		for (size_t i = 0; i < FANGS_ARRAY_SIZE(open_exits); i++) {
			snprintf(name, sizeof(name), "tracepoint/syscalls/%s", open_exits[i]);
			snprintf(reason, sizeof(reason), "%s", why);
			if (!*reason && c->raw && syscalls[i].nr < 0) /* openat, openat2, open, creat */
				snprintf(reason, sizeof(reason), "no such system call on this architecture");
			else if (!*reason && !c->raw) /* fills reason when the tracepoint is missing */
				attach_point_exists(name, vmlinux, reason, sizeof(reason));
			if (!(p = add_probe(c, prog, name, group, reason)))
				return FANGS_ENOMEM;
			p->how = c->raw ? FANGS__ATTACH_EXIT : FANGS__ATTACH_TRACEPOINT;
			snprintf(p->target, sizeof(p->target), "%s", open_exits[i]);
			any |= !*reason;
		}
		return c->raw ? 0 : any; /* raw_tp: raw_sys_exit runs them */
	}
	snprintf(reason, sizeof(reason), "%s", why);
	sc = syscall_of(pname);
	if (c->raw && sc >= 0) {
		/* served by raw_tp/sys_enter: the call must exist, not its tracepoint */
		if (!*reason && syscalls[sc].nr < 0)
			snprintf(reason, sizeof(reason), "no such system call on this architecture");
		if (!(p = add_probe(c, prog, bpf_program__section_name(prog), group, reason)))
			return FANGS_ENOMEM;
		p->how = FANGS__ATTACH_DISPATCH;
		p->nr = syscalls[sc].nr;
		snprintf(name, sizeof(name), "rt_%s", syscalls[sc].name);
		p->raw = bpf_object__find_program_by_name(c->skel->obj, name);
		if (!p->raw && !*reason)
			probe_failed(p, "no program %s in the BPF object", name);
		if (p->raw)
			bpf_program__set_autoload(p->raw, !*p->reason);
		return 0;
	}
	if (!*reason && strcmp(pname, "raw_enter_modules") == 0) {
		if (c->raw)
			snprintf(reason, sizeof(reason),
				 "not needed: the module system calls are dispatched from raw_tp/sys_enter");
		else if (attach_point_exists("tracepoint/syscalls/sys_enter_init_module", vmlinux, name, sizeof(name)))
			snprintf(reason, sizeof(reason), "not needed: the module system calls have tracepoints");
	}
	if (!*reason)
		attach_point_exists(bpf_program__section_name(prog), vmlinux, reason, sizeof(reason));
	if (*reason && strcmp(reason, "not requested") != 0 &&
	    (strcmp(pname, "sys_enter_init_module") == 0 || strcmp(pname, "sys_enter_finit_module") == 0)) {
		char missing[sizeof(reason)];
		snprintf(missing, sizeof(missing), "%s", reason);
		if (c->want & FANGS_SENSOR_PROBE_MODULES_RAW)
			snprintf(reason, sizeof(reason), "not needed: %.160s; seen through raw_syscalls/sys_enter",
				 missing);
		else
			snprintf(reason, sizeof(reason),
				 "not needed: %.100s (no module support: the calls fail); "
				 "FANGS_SENSOR_PROBE_MODULES_RAW reports the attempts",
				 missing);
	}
	if (!add_probe(c, prog, bpf_program__section_name(prog), group, reason))
		return FANGS_ENOMEM;
	return !*reason;
}

static int prepare_programs(fangs__core *c, char **tls, size_t n_tls)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	int rc = 0;

	if (!vmlinux)
		fangs_warn("cannot read kernel BTF to check raw tracepoints: %s", strerror(errno));
	bpf_object__for_each_program(prog, c->skel->obj)
	{
		const char *pname = bpf_program__name(prog), *group = "other";
		unsigned int bit = 0;
		int ok;

		/* the raw_tp twins and the dispatchers are decided below */
		if (strncmp(pname, "rt_", 3) == 0 || strcmp(pname, "raw_sys_enter") == 0 ||
		    strcmp(pname, "raw_sys_exit") == 0)
			continue;
		group_of(pname, &group, &bit);
		ok = program_probes(c, prog, group, (c->want & bit) ? "" : "not requested", vmlinux, tls, n_tls);
		if (ok < 0) {
			rc = fangs__error_oom();
			break;
		}
		bpf_program__set_autoload(prog, ok);
	}
	btf__free(vmlinux);
	if (rc)
		return rc;
	/* the dispatchers load in raw_tp mode when some handler needs them */
	{
		int enter = 0, exit_ = 0;
		for (size_t i = 0; i < c->n_probes; i++) {
			enter |= c->probes[i].how == FANGS__ATTACH_DISPATCH && !*c->probes[i].reason;
			exit_ |= c->probes[i].how == FANGS__ATTACH_EXIT && !*c->probes[i].reason;
		}
		bpf_object__for_each_program(prog, c->skel->obj)
		{
			const char *pname = bpf_program__name(prog);
			if (strncmp(pname, "rt_", 3) == 0) {
				int used = 0;
				for (size_t i = 0; i < c->n_probes; i++)
					used |= c->probes[i].raw == prog && !*c->probes[i].reason;
				bpf_program__set_autoload(prog, used);
			} else if (strcmp(pname, "raw_sys_enter") == 0) {
				bpf_program__set_autoload(prog, enter);
			} else if (strcmp(pname, "raw_sys_exit") == 0) {
				bpf_program__set_autoload(prog, exit_);
			}
		}
	}
	return 0;
}

static uint32_t prog_live(const fangs__core *c, const struct bpf_program *prog)
{
	for (size_t i = 0; i < c->n_probes; i++)
		if (c->probes[i].prog == prog && c->probes[i].pub.live)
			return 1;
	return 0;
}

/* The opens whose exit probe is live: those are reported at their exit
 * with the file they opened, the others at their entry. */
static uint32_t exit_open_bits(const fangs__core *c)
{
	static const uint32_t bits[] = {FS_OPEN_AT, FS_OPEN_AT2, FS_OPEN_LEGACY, FS_OPEN_CREAT};
	uint32_t v = 0;

	_Static_assert(FANGS_ARRAY_SIZE(bits) == FANGS_ARRAY_SIZE(open_exits), "one bit per open exit");
	for (size_t i = 0; i < c->n_probes; i++) {
		const fangs__probe *p = &c->probes[i];
		if ((p->how != FANGS__ATTACH_TRACEPOINT && p->how != FANGS__ATTACH_EXIT) || !p->pub.live ||
		    p->prog != c->skel->progs.sys_exit_open_any)
			continue;
		for (size_t j = 0; j < FANGS_ARRAY_SIZE(open_exits); j++)
			if (!strcmp(p->target, open_exits[j]))
				v |= bits[j];
	}
	return v;
}

/* raw_tp mode: the two dispatchers first (a failure here is the mode's),
 * then a handler per system call in the program array. */
static int attach_dispatch(fangs__core *c)
{
	int map = bpf_map__fd(c->skel->maps.sys_enter_calls);

	if (bpf_program__autoload(c->skel->progs.raw_sys_enter)) {
		c->enter_link = bpf_program__attach_raw_tracepoint(c->skel->progs.raw_sys_enter, "sys_enter");
		if (!c->enter_link) {
			snprintf(c->mode_why, sizeof(c->mode_why), "attaching raw_tp/sys_enter failed: %s",
				 strerror(errno));
			return -1;
		}
	}
	if (bpf_program__autoload(c->skel->progs.raw_sys_exit)) {
		c->exit_link = bpf_program__attach_raw_tracepoint(c->skel->progs.raw_sys_exit, "sys_exit");
		if (!c->exit_link) {
			snprintf(c->mode_why, sizeof(c->mode_why), "attaching raw_tp/sys_exit failed: %s",
				 strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < c->n_probes; i++) {
		fangs__probe *p = &c->probes[i];
		__u32 key;
		int fd;

		if (*p->reason)
			continue;
		if (p->how == FANGS__ATTACH_EXIT) {
			p->pub.live = c->exit_link != NULL;
			continue;
		}
		if (p->how != FANGS__ATTACH_DISPATCH)
			continue;
		key = (__u32)p->nr;
		fd = bpf_program__fd(p->raw);
		if (fd < 0 || bpf_map_update_elem(map, &key, &fd, BPF_ANY) < 0)
			probe_failed(p, "adding the handler of system call %d: %s", p->nr, strerror(errno));
		else
			p->pub.live = 1;
	}
	return 0;
}

static void attach_programs(fangs__core *c)
{
	for (size_t i = 0; i < c->n_probes; i++) {
		fangs__probe *p = &c->probes[i];
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "SSL_ctrl", .retprobe = false);

		if (*p->reason || !bpf_program__autoload(p->prog))
			continue;
		switch (p->how) {
		case FANGS__ATTACH_UPROBE:
			p->link = bpf_program__attach_uprobe_opts(p->prog, -1, p->target, 0, &uo);
			break;
		case FANGS__ATTACH_TRACEPOINT:
			p->link = bpf_program__attach_tracepoint(p->prog, "syscalls", p->target);
			break;
		case FANGS__ATTACH_AUTO:
			p->link = bpf_program__attach(p->prog);
			break;
		case FANGS__ATTACH_DISPATCH:
		case FANGS__ATTACH_EXIT:
			continue; /* attach_dispatch() */
		}
		if (!p->link)
			probe_failed(p, "attach failed: %s", strerror(errno));
		else
			p->pub.live = 1;
	}
}

static void publish_probes(fangs__core *c)
{
	c->probe_list = calloc(c->n_probes ? c->n_probes : 1, sizeof(*c->probe_list));
	for (size_t i = 0; c->probe_list && i < c->n_probes; i++) {
		fangs__probe *p = &c->probes[i];
		p->pub.name = p->name;
		p->pub.reason = p->reason;
		c->probe_list[i] = p->pub;
		if (!p->pub.live && strcmp(p->reason, "not requested") != 0 &&
		    strncmp(p->reason, "not needed", 10) != 0)
			fangs_warn("sensor probe %s is not live: %s", p->name, p->reason);
	}
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/* Detaching a tracepoint waits for an RCU grace period (about 0.1 s here):
 * one after the other, the probes held every `fangs scan` for more than a
 * second at exit. Side by side the waits overlap. */
static void destroy_links(fangs__core *c)
{
	size_t n = c->n_probes + 2;
	pthread_t *threads = calloc(n, sizeof(*threads));
	unsigned char *started = calloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		struct bpf_link *link = i < c->n_probes    ? c->probes[i].link
					: i == c->n_probes ? c->enter_link
							   : c->exit_link;
		if (!link)
			continue;
		if (threads && started && pthread_create(&threads[i], NULL, destroy_link, link) == 0)
			started[i] = 1;
		else
			bpf_link__destroy(link);
	}
	for (size_t i = 0; i < n; i++)
		if (started && started[i])
			pthread_join(threads[i], NULL);
	free(threads);
	free(started);
	for (size_t i = 0; i < c->n_probes; i++)
		c->probes[i].link = NULL;
	c->enter_link = c->exit_link = NULL;
}

/* The ring buffer's first page holds the consumer's position, the second
 * the producer's (the kernel's layout, as libbpf maps them). */
static void map_positions(fangs__core *c)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(c->skel->maps.events);
	void *cons = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	void *prod = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	if (cons == MAP_FAILED || prod == MAP_FAILED) {
		fangs_debug("sensor: mapping the ring buffer's positions: %s (a drain waits for quiet)",
			    strerror(errno));
		if (cons != MAP_FAILED)
			munmap(cons, (size_t)page);
		if (prod != MAP_FAILED)
			munmap(prod, (size_t)page);
		return;
	}
	c->cons_pos = cons;
	c->prod_pos = prod;
}

static void unmap_positions(fangs__core *c)
{
	long page = sysconf(_SC_PAGESIZE);
	if (c->cons_pos)
		munmap((void *)(uintptr_t)c->cons_pos, (size_t)page);
	if (c->prod_pos)
		munmap((void *)(uintptr_t)c->prod_pos, (size_t)page);
	c->cons_pos = c->prod_pos = NULL;
}

/* Unloads what one attempt at loading made (for the fallback, or a failure). */
static void core_unload(fangs__core *c)
{
	unmap_positions(c);
	ring_buffer__free(c->rb);
	c->rb = NULL;
	destroy_links(c);
	sensor__destroy(c->skel);
	c->skel = NULL;
	free(c->probes);
	c->probes = NULL;
	free(c->probe_list);
	c->probe_list = NULL;
	c->n_probes = 0;
}

static void core_free(fangs__core *c)
{
	if (!c)
		return;
	core_unload(c);
	pthread_mutex_destroy(&c->lock);
	free(c->tls_key);
	free(c);
}

static int core_record(void *ctx, void *data, size_t size);

/* One attempt at loading and attaching, in the mode c->raw says. */
static int core_load(fangs__core *c, char **tls, size_t n_tls)
{
	int err;

	c->skel = sensor__open();
	if (!c->skel)
		return fangs_error_set(FANGS_ESENSOR, "opening the BPF object failed: %s", strerror(errno));
	if (c->wakeup_ms) {
		c->skel->rodata->wakeup_interval_ns = (uint64_t)c->wakeup_ms * 1000000u;
		c->skel->rodata->wakeup_bytes = c->rbsize / 4;
	}
	c->skel->rodata->run_event_cap = c->max_events;
	if ((err = bpf_map__set_max_entries(c->skel->maps.events, (__u32)c->rbsize)))
		return fangs_error_set(FANGS_ESENSOR, "setting the ring buffer size: %s", strerror(-err));
	if ((err = prepare_programs(c, tls, n_tls)))
		return err;
	if ((err = sensor__load(c->skel))) {
		if (c->raw)
			snprintf(c->mode_why, sizeof(c->mode_why), "loading the raw_tp programs failed: %s",
				 strerror(-err));
		return fangs_error_set(err == -EPERM ? FANGS_EPERM : FANGS_ESENSOR,
				       "loading the BPF programs failed: %s (the verifier log was logged as warnings)",
				       strerror(-err));
	}
	if (c->raw && attach_dispatch(c))
		return fangs_error_set(FANGS_ESENSOR, "%s", c->mode_why);
	attach_programs(c);
	c->skel->bss->exit_opens = exit_open_bits(c);
	c->skel->bss->io_open_exits = prog_live(c, c->skel->progs.io_uring_complete);
	publish_probes(c);
	if (!c->probe_list)
		return fangs__error_oom();
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), core_record, c, NULL);
	if (!c->rb)
		return fangs_error_set(FANGS_ESENSOR, "ring buffer setup failed: %s", strerror(errno));
	map_positions(c);
	return 0;
}

static char *tls_key_of(const fangs_sensor_options *o)
{
	size_t len = 1;
	char *k;

	if (!o->tls_binaries)
		return NULL;
	for (size_t i = 0; o->tls_binaries[i]; i++)
		len += strlen(o->tls_binaries[i]) + 1;
	if (!(k = calloc(1, len)))
		return NULL;
	for (size_t i = 0; o->tls_binaries[i]; i++) {
		strcat(k, o->tls_binaries[i]);
		strcat(k, "\n");
	}
	return k;
}

static unsigned int syscalls_wanted(unsigned int asked)
{
	const char *env = getenv("FANGS_SENSOR_SYSCALLS");

	if (asked != FANGS_SENSOR_SYSCALLS_AUTO || !env)
		return asked;
	if (!strcmp(env, "raw_tp"))
		return FANGS_SENSOR_SYSCALLS_RAW_TP;
	if (!strcmp(env, "tracepoints"))
		return FANGS_SENSOR_SYSCALLS_TRACEPOINTS;
	if (*env && strcmp(env, "auto") != 0)
		fangs_warn("FANGS_SENSOR_SYSCALLS=%s is not raw_tp, tracepoints or auto: auto", env);
	return FANGS_SENSOR_SYSCALLS_AUTO;
}

/* The load-time options of a core, checked and with their defaults. */
typedef struct core_key {
	size_t rbsize;
	unsigned int want, wakeup_ms, syscalls;
	uint64_t max_events;
	char *tls_key; /* owned */
} core_key;

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int key_of(const fangs_sensor_options *opts, fangs_sensor_options *o, core_key *k)
{
	memset(k, 0, sizeof(*k));
	int rc;
	if ((rc = fangs__sensor_options_copy(o, opts)) < 0)
		return rc;
	o->version = FANGS_SENSOR_OPTIONS_VERSION;
	k->rbsize = o->ringbuf_size ? o->ringbuf_size : DEFAULT_RINGBUF;
	k->max_events = o->max_events_per_run == 0                        ? FANGS_SENSOR_DEFAULT_MAX_EVENTS
			: o->max_events_per_run == FANGS_SENSOR_UNLIMITED ? 0
									  : o->max_events_per_run;
	if (k->rbsize < (size_t)sysconf(_SC_PAGESIZE) || (k->rbsize & (k->rbsize - 1)) || k->rbsize > (1u << 30))
		return fangs_error_set(
			FANGS_EINVAL, "ring buffer size %zu is not a power of two between a page and 1 GiB", k->rbsize);
	if (o->syscalls > FANGS_SENSOR_SYSCALLS_TRACEPOINTS)
		return fangs_error_set(FANGS_EINVAL, "unknown system call mode %u", o->syscalls);
	k->syscalls = o->syscalls;
	k->want = o->probes ? o->probes : FANGS_SENSOR_PROBE_ALL;
	k->wakeup_ms = o->wakeup_ms == FANGS_SENSOR_WAKEUP_EACH ? 0 : o->wakeup_ms ? o->wakeup_ms : DEFAULT_WAKEUP_MS;
	k->tls_key = tls_key_of(o);
	if (o->tls_binaries && !k->tls_key)
		return fangs__error_oom();
	return 0;
}

static int key_matches(const fangs__core *c, const core_key *k)
{
	return c->pid == getpid() && c->rbsize == k->rbsize && c->want == k->want && c->wakeup_ms == k->wakeup_ms &&
	       c->max_events == k->max_events && c->syscalls == k->syscalls && same_str(c->tls_key, k->tls_key);
}

/* A core for `k` (which it takes), not loaded yet. */
static fangs__core *core_alloc(core_key *k)
{
	pthread_mutexattr_t ma;
	fangs__core *c = calloc(1, sizeof(*c));

	if (!c) {
		free(k->tls_key);
		k->tls_key = NULL;
		return NULL;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	c->pid = getpid();
	c->rbsize = k->rbsize;
	c->want = k->want;
	c->wakeup_ms = k->wakeup_ms;
	c->max_events = k->max_events;
	c->syscalls = k->syscalls;
	c->tls_key = k->tls_key;
	k->tls_key = NULL;
	return c;
}

/* Loads `c`: raw_tp unless told otherwise, the tracepoints when raw_tp
 * cannot run and the mode was not forced. */
static int core_fill(fangs__core *c)
{
	char why[512];
	char **tls = NULL, **asked = NULL;
	size_t n_tls = 0;
	int rc;

	if ((rc = fangs_sensor_check(why, sizeof(why))))
		return rc;
	if ((rc = fangs_cgroup_v2_root(c->v2root, sizeof(c->v2root))))
		return rc;
	libbpf_set_print(libbpf_log);
	if (c->tls_key) { /* the list asked for, from its "a\nb\n" key */
		size_t n = 0;
		char *dup = fangs__strdup(c->tls_key), *save = NULL;
		for (const char *p = c->tls_key; *p; p++)
			n += *p == '\n';
		asked = calloc(n + 1, sizeof(*asked));
		if (!dup || !asked) {
			free(dup);
			free(asked);
			return fangs__error_oom();
		}
		n = 0;
		for (char *t = strtok_r(dup, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
			asked[n++] = t;
		if (c->want & FANGS_SENSOR_PROBE_TLS_LIB)
			collect_tls_binaries((const char *const *)asked, &tls, &n_tls);
		free(dup);
		free(asked);
	} else if (c->want & FANGS_SENSOR_PROBE_TLS_LIB) {
		collect_tls_binaries(NULL, &tls, &n_tls);
	}
	c->raw = syscalls_wanted(c->syscalls) != FANGS_SENSOR_SYSCALLS_TRACEPOINTS;
	if (!c->raw)
		snprintf(c->mode_why, sizeof(c->mode_why), "asked for");
	rc = core_load(c, tls, n_tls);
	if (rc && c->raw && syscalls_wanted(c->syscalls) == FANGS_SENSOR_SYSCALLS_AUTO && c->mode_why[0]) {
		fangs_warn("sensor: %s; tracing system calls with one tracepoint each", c->mode_why);
		core_unload(c);
		c->raw = 0;
		rc = core_load(c, tls, n_tls);
	}
	if (!rc)
		fangs_debug("sensor loaded: system calls through %s%s%s", c->raw ? "raw_tp" : "tracepoints",
			    c->mode_why[0] ? ": " : "", c->mode_why);
	for (size_t i = 0; i < n_tls; i++)
		free(tls[i]);
	free(tls);
	return rc;
}

/* The process's core for `k`: found, waited for while another thread
 * loads it, or loaded here. Takes k->tls_key. */
static int core_get(core_key *k, fangs__core **out)
{
	fangs__core *c;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&cores_lock);
	for (;;) {
		for (c = cores; c; c = c->next)
			if (key_matches(c, k))
				break;
		if (!c || !c->loading)
			break;
		pthread_cond_wait(&cores_cond, &cores_lock);
	}
	if (c) {
		free(k->tls_key);
		k->tls_key = NULL;
		pthread_mutex_lock(&c->lock);
		c->handles++;
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&cores_lock);
		*out = c;
		return 0;
	}
	if (!(c = core_alloc(k))) {
		pthread_mutex_unlock(&cores_lock);
		return fangs__error_oom();
	}
	/* listed while it loads: others with these options wait for it */
	c->loading = 1;
	c->next = cores;
	cores = c;
	pthread_mutex_unlock(&cores_lock);
	rc = core_fill(c);
	pthread_mutex_lock(&cores_lock);
	c->loading = 0;
	if (rc) {
		fangs__core **pp = &cores;
		while (*pp != c)
			pp = &(*pp)->next;
		*pp = c->next;
	} else {
		c->handles++;
	}
	pthread_cond_broadcast(&cores_cond);
	pthread_mutex_unlock(&cores_lock);
	if (rc) {
		core_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void *preload_thread(void *arg)
{
	core_key *k = arg;
	fangs__core *c = NULL;

	if (core_get(k, &c) == 0) {
		pthread_mutex_lock(&c->lock);
		c->handles--;
		pthread_mutex_unlock(&c->lock);
	} else {
		fangs_debug("sensor: loading ahead failed: %s", fangs_error_last());
	}
	free(k->tls_key);
	free(k);
	return NULL;
}

int fangs_sensor_unload_idle(void)
{
	fangs__core **pp, *idle = NULL;
	int n = 0;

	pthread_mutex_lock(&cores_lock);
	for (pp = &cores; *pp;) {
		fangs__core *c = *pp;
		int unused;
		pthread_mutex_lock(&c->lock);
		unused = c->pid == getpid() && !c->loading && c->handles == 0;
		pthread_mutex_unlock(&c->lock);
		if (unused) {
			*pp = c->next;
			c->next = idle;
			idle = c;
			n++;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&cores_lock);
	while (idle) {
		fangs__core *next = idle->next;
		core_free(idle);
		idle = next;
	}
	return n;
}

int fangs_sensor_preload(const fangs_sensor_options *opts)
{
	fangs_sensor_options o;
	pthread_attr_t attr;
	pthread_t t;
	core_key *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return fangs__error_oom();
	if ((rc = key_of(opts, &o, k)) || (rc = fangs_sensor_check(NULL, 0))) {
		free(k->tls_key);
		free(k);
		return rc;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, preload_thread, k);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(k->tls_key);
		free(k);
		return fangs_error_set(FANGS_EIO, "cannot start a thread to load the sensor: %s", strerror(rc));
	}
	return 0;
}

int fangs_sensor_new(fangs_sensor **out, const fangs_sensor_options *opts)
{
	fangs_sensor_options o;
	struct epoll_event ev;
	core_key k;
	fangs__core *c;
	fangs_sensor *s;
	int rc;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_new: NULL out");
	*out = NULL;
	if ((rc = key_of(opts, &o, &k))) {
		free(k.tls_key);
		return rc;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(k.tls_key);
		return fangs__error_oom();
	}
	s->epfd = s->evfd = -1;
	s->on_event = o.on_event;
	s->user = o.user;
	s->mono_to_real = fangs__now_ns() - fangs__monotonic_ns();
	s->wakeup_ms = k.wakeup_ms;
	/* the process's object for these options, loaded on first use */
	if ((rc = core_get(&k, &c))) {
		free(s);
		return rc;
	}
	s->core = c;
	s->skel = c->skel;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (s->epfd < 0 || s->evfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, bpf_map__fd(c->skel->maps.events), &ev) < 0) {
		rc = fangs__error_errno(FANGS_ESENSOR, "setting up the sensor's epoll fd");
		fangs_sensor_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void fangs_sensor_free(fangs_sensor *s)
{
	fangs__record *q;

	if (!s)
		return;
	if (s->core) {
		fangs__core *c = s->core;
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < FS_MAX_RUNS; i++) {
			if (c->owner[i] != s)
				continue;
			if (c->active[i])
				bpf_map__delete_elem(c->skel->maps.watched, &c->cgroup[i], sizeof(uint64_t), 0);
			c->active[i] = 0;
			c->owner[i] = NULL;
		}
		{
			uint32_t mask = 0;
			for (size_t i = 0; i < FS_MAX_RUNS; i++)
				if (c->active[i])
					mask |= 1u << c->level[i];
			c->skel->bss->level_mask = mask;
		}
		q = s->qhead;
		s->qhead = s->qtail = NULL;
		c->handles--;
		pthread_mutex_unlock(&c->lock);
		while (q) {
			fangs__record *next = q->next;
			free(q);
			q = next;
		}
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->evfd >= 0)
		close(s->evfd);
	for (size_t i = 0; i < FS_MAX_RUNS; i++)
		free(s->runs[i].run_id);
	fangs__proctab_clear(&s->procs);
	free(s);
}

/* Numeric ids are turned into paths (for their level) through the cgroup
 * file system's file handles. */
static int cgroup_path_of_id(const char *v2root, uint64_t id, char *path, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char link[64];
	int mfd, fd;
	ssize_t n;

	mfd = open(v2root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return fangs__error_errno(FANGS_EIO, v2root);
	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = 0xfe; /* FILEID_KERNFS */
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return fangs_error_set(errno == ESTALE || errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO,
				       "cgroup id %llu: %s", (unsigned long long)id, strerror(errno));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, len - 1);
	close(fd);
	if (n < 0)
		return fangs__error_errno(FANGS_EIO, link);
	path[n] = '\0';
	/* the link is relative to the mount when the handle's mount is not ours */
	if (path[0] == '/' && strncmp(path, v2root, strlen(v2root)) != 0) {
		size_t rl = strlen(v2root), pl = strlen(path);
		if (rl + pl + 1 > len)
			return fangs_error_set(FANGS_EINVAL, "cgroup path too long");
		memmove(path + rl, path, pl + 1);
		memcpy(path, v2root, rl);
	}
	return 0;
}

static int resolve_cgroup(const char *v2root, const char *spec, uint64_t *id, int *level)
{
	char path[PATH_MAX * 2], *real;
	int rc, numeric = *spec != '\0';

	for (const char *c = spec; *c; c++)
		numeric &= isdigit((unsigned char)*c) != 0;
	if (numeric) {
		*id = strtoull(spec, NULL, 10);
		if ((rc = cgroup_path_of_id(v2root, *id, path, sizeof(path))))
			return rc;
	} else if (spec[0] == '/') {
		snprintf(path, sizeof(path), "%s", spec);
	} else {
		snprintf(path, sizeof(path), "%s/%s", v2root, spec);
	}
	real = realpath(path, NULL);
	if (!real)
		return fangs__error_errno(errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO, path);
	*level = fangs__cgroup_level(v2root, real);
	if (*level < 0 || *level >= FS_MAX_LEVEL) {
		rc = fangs_error_set(FANGS_EINVAL, "%s is not a cgroup-v2 directory under %s", real, v2root);
		free(real);
		return rc;
	}
	rc = numeric ? 0 : fangs_cgroup_id(real, id);
	free(real);
	return rc;
}

/* Under the core's lock. */
static void update_level_mask(fangs__core *c)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < FS_MAX_RUNS; i++)
		if (c->active[i])
			mask |= 1u << c->level[i];
	c->skel->bss->level_mask = mask;
}

static int find_run(const fangs_sensor *s, const char *run_id)
{
	for (int i = 0; i < FS_MAX_RUNS; i++)
		if (s->runs[i].run_id && s->core->owner[i] == s && strcmp(s->runs[i].run_id, run_id) == 0)
			return i;
	return -1;
}

static int watch_locked(fangs_sensor *s, const char *cgroup, const char *run_id)
{
	fangs__core *c = s->core;
	int ncpu = libbpf_num_possible_cpus();
	struct fs_stats *zero;
	uint64_t id = 0;
	int level = 0, slot, rc;
	__u32 uslot;

	slot = find_run(s, run_id);
	if (slot >= 0 && c->active[slot])
		return fangs_error_set(FANGS_EEXISTS, "run %s is already watched", run_id);
	if ((rc = resolve_cgroup(c->v2root, cgroup, &id, &level)))
		return rc;
	for (int i = 0; i < FS_MAX_RUNS; i++)
		if (c->active[i] && c->cgroup[i] == id)
			return fangs_error_set(FANGS_EEXISTS, "cgroup %s is already watched (run %s)", cgroup,
					       c->owner[i] && c->owner[i]->runs[i].run_id ? c->owner[i]->runs[i].run_id
											  : "?");
	for (int i = 0; i < FS_MAX_RUNS && slot < 0; i++) {
		int k = (c->next_slot + i) % FS_MAX_RUNS;
		if (!c->active[k])
			slot = k;
	}
	if (slot < 0)
		return fangs_error_set(FANGS_EBUSY, "%d runs are watched already", FS_MAX_RUNS);
	if (ncpu <= 0)
		return fangs_error_set(FANGS_ESENSOR, "cannot count CPUs: %s", strerror(-ncpu));
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return fangs__error_oom();
	uslot = (__u32)slot;
	rc = bpf_map__update_elem(c->skel->maps.stats, &uslot, sizeof(uslot), zero, sizeof(*zero) * (size_t)ncpu, 0);
	free(zero);
	if (!rc) {
		uint64_t none = 0;
		rc = bpf_map__update_elem(c->skel->maps.run_total, &uslot, sizeof(uslot), &none, sizeof(none), 0);
	}
	if (rc)
		return fangs_error_set(FANGS_ESENSOR, "resetting counters: %s", strerror(-rc));
	if (!s->runs[slot].run_id || strcmp(s->runs[slot].run_id, run_id) != 0) {
		char *dup = fangs__strdup(run_id);
		if (!dup)
			return FANGS_ENOMEM;
		free(s->runs[slot].run_id);
		s->runs[slot].run_id = dup;
	}
	/* the slot's earlier owner gets no more of its records (its own copy of
	 * the run id stays its own: it may be decoding a queued record) */
	c->owner[slot] = s;
	rc = bpf_map__update_elem(c->skel->maps.watched, &id, sizeof(id), &uslot, sizeof(uslot), 0);
	if (rc)
		return fangs_error_set(rc == -E2BIG ? FANGS_EBUSY : FANGS_ESENSOR, "watching cgroup %s: %s", cgroup,
				       strerror(-rc));
	s->runs[slot].cgroup_id = id;
	s->runs[slot].level = level;
	s->runs[slot].active = 1;
	c->cgroup[slot] = id;
	c->level[slot] = level;
	c->active[slot] = 1;
	c->next_slot = (slot + 1) % FS_MAX_RUNS;
	update_level_mask(c);
	fangs_debug("watching cgroup %s (id %llu, level %d) as run %s", cgroup, (unsigned long long)id, level, run_id);
	return 0;
}

int fangs_sensor_watch_cgroup(fangs_sensor *s, const char *cgroup, const char *run_id)
{
	int rc;

	if (!s || !cgroup || !run_id || !*run_id || !*cgroup)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_watch_cgroup: NULL or empty argument");
	pthread_mutex_lock(&s->core->lock);
	rc = watch_locked(s, cgroup, run_id);
	pthread_mutex_unlock(&s->core->lock);
	return rc;
}

int fangs_sensor_unwatch(fangs_sensor *s, const char *run_id)
{
	fangs__core *c;
	int slot;

	if (!s || !run_id)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_unwatch: NULL argument");
	c = s->core;
	pthread_mutex_lock(&c->lock);
	slot = find_run(s, run_id);
	if (slot < 0 || !c->active[slot]) {
		pthread_mutex_unlock(&c->lock);
		return fangs_error_set(FANGS_ENOTFOUND, "run %s is not watched", run_id);
	}
	bpf_map__delete_elem(c->skel->maps.watched, &c->cgroup[slot], sizeof(uint64_t), 0);
	c->active[slot] = 0;
	s->runs[slot].active = 0;
	update_level_mask(c);
	pthread_mutex_unlock(&c->lock);
	/* a run's launchers outside the cgroup are known from /proc only */
	fangs__proctab_prune_external(&s->procs);
	return 0;
}

int fangs_sensor_fd(const fangs_sensor *s)
{
	if (!s)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_fd: NULL sensor");
	return s->epfd;
}

/* The ring buffer's callback: a record goes to the handle whose run it
 * is, decoded at once when that is the reader and nothing of its own
 * waits before it, else queued for that handle's thread. */
static int core_record(void *ctx, void *data, size_t size)
{
	fangs__core *c = ctx;
	const struct fs_hdr *h = data;
	fangs_sensor *to;
	fangs__record *r;

	if (size < sizeof(*h) || h->run >= FS_MAX_RUNS || !(to = c->owner[h->run]))
		return 0; /* a handle freed since */
	if (to == c->consumer) {
		c->consumed++;
		if (!to->qhead)
			return fangs__sensor_record(to, data, size);
	}
	r = malloc(sizeof(*r) + size);
	if (!r) {
		if (to->lost++ == 0)
			fangs_warn("sensor: out of memory queueing an event for another scan: events lost");
		return 0;
	}
	r->next = NULL;
	r->size = size;
	memcpy(r->data, data, size);
	if (to->qtail)
		to->qtail->next = r;
	else
		to->qhead = r;
	to->qtail = r;
	if (to != c->consumer) {
		uint64_t one = 1;
		if (write(to->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			fangs_debug("sensor: waking a handle: %s", strerror(errno));
	}
	return 0;
}

/* Delivers what other threads queued for `s`; the number of records. */
static int drain_queue(fangs_sensor *s)
{
	fangs__core *c = s->core;
	fangs__record *q;
	int n = 0;

	pthread_mutex_lock(&c->lock);
	q = s->qhead;
	s->qhead = s->qtail = NULL;
	pthread_mutex_unlock(&c->lock);
	while (q) {
		fangs__record *next = q->next;
		int rc = fangs__sensor_record(s, q->data, q->size);
		free(q);
		q = next;
		n++;
		if (rc < 0)
			break;
	}
	if (q) {
		/* the callback stopped: the rest goes back in front */
		fangs__record *last = q;
		while (last->next)
			last = last->next;
		pthread_mutex_lock(&c->lock);
		last->next = s->qhead;
		if (!s->qhead)
			s->qtail = last;
		s->qhead = q;
		pthread_mutex_unlock(&c->lock);
	}
	return n;
}

/* Reads what waits for `s`: its queue, then the ring buffer (routing the
 * other handles' records to them). The number of records of `s`, or a
 * negative error. */
static int pump(fangs_sensor *s)
{
	fangs__core *c = s->core;
	int n = drain_queue(s), r;

	if (s->cb_rc < 0)
		return n;
	pthread_mutex_lock(&c->lock);
	c->consumer = s;
	c->consumed = 0;
	r = ring_buffer__consume(c->rb);
	n += c->consumed;
	c->consumer = NULL;
	pthread_mutex_unlock(&c->lock);
	if (r < 0 && s->cb_rc >= 0)
		return r;
	if (s->cb_rc >= 0)
		n += drain_queue(s);
	return n;
}

int fangs_sensor_poll(fangs_sensor *s, int timeout_ms)
{
	int64_t deadline;
	int n;

	if (!s)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_poll: NULL sensor");
	s->cb_rc = 0;
	s->delivered = 0;
	deadline = fangs__monotonic_ns() + (int64_t)timeout_ms * 1000000;
	/* With batched wake-ups an event may come without one: what is there is
	 * read first, and a wait never lasts longer than the batching period. */
	for (;;) {
		int64_t left = deadline - fangs__monotonic_ns();
		struct epoll_event evs[2];
		uint64_t v;
		int wait_ms;

		n = pump(s);
		if (n != 0 || s->cb_rc < 0 || timeout_ms == 0 || (timeout_ms > 0 && left <= 0))
			break;
		wait_ms = s->wakeup_ms ? (int)s->wakeup_ms : -1;
		if (timeout_ms > 0 && (wait_ms < 0 || left / 1000000 < wait_ms))
			wait_ms = (int)(left / 1000000) + 1;
		n = epoll_wait(s->epfd, evs, 2, wait_ms);
		if (n < 0) {
			n = -errno;
			break;
		}
		if (read(s->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			fangs_debug("sensor: reading the wake-up: %s", strerror(errno));
		n = pump(s);
		if (n != 0 || s->cb_rc < 0)
			break;
	}
	if (s->cb_rc < 0)
		return s->cb_rc;
	if (n == -EINTR)
		return s->delivered;
	if (n < 0)
		return fangs_error_set(FANGS_EIO, "reading the ring buffer: %s", strerror(-n));
	return s->delivered;
}

/* Whether the consumer has passed `until`, a producer position: every
 * record reserved before it was read (and routed). Under the core's lock,
 * so no other handle is between reading a record and routing it. */
static int read_past(fangs__core *c, unsigned long until)
{
	unsigned long cons;
	pthread_mutex_lock(&c->lock);
	cons = __atomic_load_n(c->cons_pos, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&c->lock);
	return (long)(cons - until) >= 0;
}

int fangs_sensor_drain(fangs_sensor *s, int quiet_ms)
{
	unsigned long until;
	int total = 0, n;

	if (!s)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_drain: NULL sensor");
	if (!s->core->cons_pos || !s->core->prod_pos) {
		/* the positions are unknown: until nothing comes for quiet_ms */
		while ((n = fangs_sensor_poll(s, quiet_ms)) > 0)
			total += n;
		return n < 0 ? n : total;
	}
	/* everything reserved so far; what other runs write later is theirs */
	until = __atomic_load_n(s->core->prod_pos, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((n = fangs_sensor_poll(s, 0)) < 0)
			return n;
		total += n;
		if (n > 0)
			continue;
		if (read_past(s->core, until)) {
			/* and what another handle routed here meanwhile */
			if ((n = fangs_sensor_poll(s, 0)) < 0)
				return n;
			return total + n;
		}
		/* a record reserved and not yet written holds up the ones after
		 * it: its writer is still in its BPF program */
		if ((n = fangs_sensor_poll(s, 1)) < 0)
			return n;
		total += n;
	}
}

int fangs_sensor_stats(const fangs_sensor *s, const char *run_id, fangs_sensor_run_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fs_stats *v;
	int slot, rc;
	__u32 uslot;

	if (!s || !run_id || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_stats: NULL argument");
	pthread_mutex_lock(&s->core->lock);
	slot = find_run(s, run_id);
	pthread_mutex_unlock(&s->core->lock);
	if (slot < 0)
		return fangs_error_set(FANGS_ENOTFOUND, "run %s was never watched", run_id);
	if (ncpu <= 0)
		return fangs_error_set(FANGS_ESENSOR, "cannot count CPUs");
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return fangs__error_oom();
	uslot = (__u32)slot;
	rc = bpf_map__lookup_elem(s->skel->maps.stats, &uslot, sizeof(uslot), v, sizeof(*v) * (size_t)ncpu, 0);
	if (rc) {
		free(v);
		return fangs_error_set(FANGS_ESENSOR, "reading counters: %s", strerror(-rc));
	}
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ncpu; i++) {
		out->emitted += v[i].emitted;
		out->dropped += v[i].dropped + v[i].capped;
		out->folded += v[i].folded;
		out->capped += v[i].capped;
	}
	/* records another thread read for us and could not queue (no memory) */
	out->dropped += s->lost;
	free(v);
	return 0;
}

int fangs_sensor_probes(const fangs_sensor *s, const fangs_sensor_probe **out, size_t *count)
{
	if (!s || !out || !count)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_probes: NULL argument");
	*out = s->core->probe_list;
	*count = s->core->n_probes;
	return 0;
}

int fangs_sensor_set_callback(fangs_sensor *s, fangs_sensor_event_fn on_event, void *user)
{
	if (!s)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_set_callback: NULL sensor");
	s->on_event = on_event;
	s->user = user;
	return 0;
}

const char *fangs_sensor_syscall_mode(const fangs_sensor *s, const char **why)
{
	if (!s || !s->core) {
		if (why)
			*why = "no sensor";
		return "none";
	}
	if (why)
		*why = s->core->mode_why;
	return s->core->raw ? "raw_tp" : "tracepoints";
}
