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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/cgroup.h"
#include "sensor.skel.h"
#include "sensor/cgroup_internal.h"
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

static const char *const default_tls_binaries[] = {
	"/usr/lib/x86_64-linux-gnu/libssl.so.3",
	"/usr/lib/x86_64-linux-gnu/libssl.so.1.1",
	"/usr/lib64/libssl.so.3",
	"/usr/lib/libssl.so.3",
	"/usr/bin/node",
	"/usr/local/bin/node",
	NULL,
};

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

static fangs__probe *add_probe(fangs_sensor *s, struct bpf_program *prog, const char *name, const char *group,
			       const char *why)
{
	fangs__probe *p, *np = realloc(s->probes, (s->n_probes + 1) * sizeof(*s->probes));
	if (!np)
		return NULL;
	s->probes = np;
	p = &s->probes[s->n_probes++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->reason, sizeof(p->reason), "%s", why);
	p->pub.group = group;
	p->prog = prog;
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

static int collect_tls_binaries(const fangs_sensor_options *o, char ***out, size_t *n)
{
	const char *const *list = o->tls_binaries ? o->tls_binaries : default_tls_binaries;
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
		if (!o->tls_binaries && strstr(list[i], "libssl")) {
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
static int program_probes(fangs_sensor *s, struct bpf_program *prog, const char *group, const char *why,
			  const struct btf *vmlinux, char **tls, size_t n_tls)
{
	const char *pname = bpf_program__name(prog);
	char name[PATH_MAX + 32], reason[256];
	int any = 0;
	fangs__probe *p;

	if (strcmp(pname, "ssl_ctrl") == 0) {
		if (n_tls == 0)
			return add_probe(s, prog, "uprobe/SSL_ctrl", group, *why ? why : "no libssl or node binary found")
				       ? 0
				       : FANGS_ENOMEM;
		for (size_t i = 0; i < n_tls; i++) {
			snprintf(name, sizeof(name), "uprobe/SSL_ctrl:%s", tls[i]);
			if (!(p = add_probe(s, prog, name, group, why)))
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
			if (!*reason) /* fills reason when the tracepoint is missing */
				attach_point_exists(name, vmlinux, reason, sizeof(reason));
			if (!(p = add_probe(s, prog, name, group, reason)))
				return FANGS_ENOMEM;
			p->how = FANGS__ATTACH_TRACEPOINT;
			snprintf(p->target, sizeof(p->target), "%s", open_exits[i]);
			any |= !*reason;
		}
		return any;
	}
	snprintf(reason, sizeof(reason), "%s", why);
	if (!*reason && strcmp(pname, "raw_enter_modules") == 0 &&
	    attach_point_exists("tracepoint/syscalls/sys_enter_init_module", vmlinux, name, sizeof(name)))
		snprintf(reason, sizeof(reason), "not needed: the module system calls have tracepoints");
	if (!*reason)
		attach_point_exists(bpf_program__section_name(prog), vmlinux, reason, sizeof(reason));
	if (*reason && strcmp(reason, "not requested") != 0 &&
	    (strcmp(pname, "sys_enter_init_module") == 0 || strcmp(pname, "sys_enter_finit_module") == 0)) {
		char missing[sizeof(reason)];
		snprintf(missing, sizeof(missing), "%s", reason);
		if (s->want & FANGS_SENSOR_PROBE_MODULES_RAW)
			snprintf(reason, sizeof(reason), "not needed: %.160s; seen through raw_syscalls/sys_enter",
				 missing);
		else
			snprintf(reason, sizeof(reason),
				 "not needed: %.100s (no module support: the calls fail); "
				 "FANGS_SENSOR_PROBE_MODULES_RAW reports the attempts", missing);
	}
	if (!add_probe(s, prog, bpf_program__section_name(prog), group, reason))
		return FANGS_ENOMEM;
	return !*reason;
}

static int prepare_programs(fangs_sensor *s, unsigned int want, char **tls, size_t n_tls)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	int rc = 0;

	if (!vmlinux)
		fangs_warn("cannot read kernel BTF to check raw tracepoints: %s", strerror(errno));
	s->want = want;
	bpf_object__for_each_program(prog, s->skel->obj) {
		const char *group = "other";
		unsigned int bit = 0;
		int ok;

		group_of(bpf_program__name(prog), &group, &bit);
		ok = program_probes(s, prog, group, (want & bit) ? "" : "not requested", vmlinux, tls, n_tls);
		if (ok < 0) {
			rc = fangs__error_oom();
			break;
		}
		bpf_program__set_autoload(prog, ok);
	}
	btf__free(vmlinux);
	return rc;
}

static uint32_t prog_live(const fangs_sensor *s, const struct bpf_program *prog)
{
	for (size_t i = 0; i < s->n_probes; i++)
		if (s->probes[i].prog == prog && s->probes[i].pub.live)
			return 1;
	return 0;
}

/* The opens whose sys_exit probe is attached: those are reported at their
 * exit with the file they opened, the others at their entry. */
static uint32_t exit_open_bits(const fangs_sensor *s)
{
	static const uint32_t bits[] = {FS_OPEN_AT, FS_OPEN_AT2, FS_OPEN_LEGACY, FS_OPEN_CREAT};
	uint32_t v = 0;

	_Static_assert(FANGS_ARRAY_SIZE(bits) == FANGS_ARRAY_SIZE(open_exits), "one bit per open exit");
	for (size_t i = 0; i < s->n_probes; i++) {
		const fangs__probe *p = &s->probes[i];
		if (p->how != FANGS__ATTACH_TRACEPOINT || !p->pub.live || p->prog != s->skel->progs.sys_exit_open_any)
			continue;
		for (size_t j = 0; j < FANGS_ARRAY_SIZE(open_exits); j++)
			if (!strcmp(p->target, open_exits[j]))
				v |= bits[j];
	}
	return v;
}

static void attach_programs(fangs_sensor *s)
{
	for (size_t i = 0; i < s->n_probes; i++) {
		fangs__probe *p = &s->probes[i];
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
		}
		if (!p->link)
			probe_failed(p, "attach failed: %s", strerror(errno));
		else
			p->pub.live = 1;
	}
}

static void publish_probes(fangs_sensor *s)
{
	s->probe_list = calloc(s->n_probes ? s->n_probes : 1, sizeof(*s->probe_list));
	for (size_t i = 0; s->probe_list && i < s->n_probes; i++) {
		fangs__probe *p = &s->probes[i];
		p->pub.name = p->name;
		p->pub.reason = p->reason;
		s->probe_list[i] = p->pub;
		if (!p->pub.live && strcmp(p->reason, "not requested") != 0 && strncmp(p->reason, "not needed", 10) != 0)
			fangs_warn("sensor probe %s is not live: %s", p->name, p->reason);
	}
}

int fangs_sensor_new(fangs_sensor **out, const fangs_sensor_options *opts)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor *s;
	char why[512];
	char **tls = NULL;
	size_t n_tls = 0, rbsize;
	int rc, err;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_new: NULL out");
	*out = NULL;
	if (opts) {
		if (opts->version < 1 || opts->version > FANGS_SENSOR_OPTIONS_VERSION)
			return fangs_error_set(FANGS_EVERSION, "sensor options version %u is not 1..%u", opts->version,
					       FANGS_SENSOR_OPTIONS_VERSION);
		if (opts->version == 1)
			memcpy(&o, opts, offsetof(fangs_sensor_options, max_events_per_run));
		else
			o = *opts;
	}
	rbsize = o.ringbuf_size ? o.ringbuf_size : DEFAULT_RINGBUF;
	if (o.max_events_per_run == 0)
		o.max_events_per_run = FANGS_SENSOR_DEFAULT_MAX_EVENTS;
	else if (o.max_events_per_run == FANGS_SENSOR_UNLIMITED)
		o.max_events_per_run = 0;
	if (rbsize < (size_t)sysconf(_SC_PAGESIZE) || (rbsize & (rbsize - 1)) || rbsize > (1u << 30))
		return fangs_error_set(FANGS_EINVAL, "ring buffer size %zu is not a power of two between a page and 1 GiB",
				       rbsize);
	if ((rc = fangs_sensor_check(why, sizeof(why))))
		return rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return fangs__error_oom();
	s->on_event = o.on_event;
	s->user = o.user;
	s->mono_to_real = fangs__now_ns() - fangs__monotonic_ns();
	if ((rc = fangs_cgroup_v2_root(s->v2root, sizeof(s->v2root))))
		goto fail;

	libbpf_set_print(libbpf_log);
	s->skel = sensor__open();
	if (!s->skel) {
		rc = fangs_error_set(FANGS_ESENSOR, "opening the BPF object failed: %s", strerror(errno));
		goto fail;
	}
	if (o.wakeup_ms != FANGS_SENSOR_WAKEUP_EACH) {
		s->wakeup_ms = o.wakeup_ms ? o.wakeup_ms : DEFAULT_WAKEUP_MS;
		s->skel->rodata->wakeup_interval_ns = (uint64_t)s->wakeup_ms * 1000000u;
		s->skel->rodata->wakeup_bytes = rbsize / 4;
	}
	s->skel->rodata->run_event_cap = o.max_events_per_run;
	if ((err = bpf_map__set_max_entries(s->skel->maps.events, (__u32)rbsize))) {
		rc = fangs_error_set(FANGS_ESENSOR, "setting the ring buffer size: %s", strerror(-err));
		goto fail;
	}
	if (o.probes & FANGS_SENSOR_PROBE_TLS_LIB || !o.probes)
		collect_tls_binaries(&o, &tls, &n_tls);
	if ((rc = prepare_programs(s, o.probes ? o.probes : FANGS_SENSOR_PROBE_ALL, tls, n_tls)))
		goto fail;
	if ((err = sensor__load(s->skel))) {
		rc = fangs_error_set(err == -EPERM ? FANGS_EPERM : FANGS_ESENSOR,
				     "loading the BPF programs failed: %s (the verifier log was logged as warnings)",
				     strerror(-err));
		goto fail;
	}
	attach_programs(s);
	s->skel->bss->exit_opens = exit_open_bits(s);
	s->skel->bss->io_open_exits = prog_live(s, s->skel->progs.io_uring_complete);
	publish_probes(s);
	if (!s->probe_list) {
		rc = fangs__error_oom();
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), fangs__sensor_record, s, NULL);
	if (!s->rb) {
		rc = fangs_error_set(FANGS_ESENSOR, "ring buffer setup failed: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < n_tls; i++)
		free(tls[i]);
	free(tls);
	*out = s;
	return 0;
fail:
	for (size_t i = 0; i < n_tls; i++)
		free(tls[i]);
	free(tls);
	fangs_sensor_free(s);
	return rc;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/* Detaching a tracepoint waits for an RCU grace period (about 0.1 s here):
 * one after the other, the probes held every `fangs scan` for more than a
 * second at exit. Side by side the waits overlap. */
static void destroy_links(fangs_sensor *s)
{
	pthread_t *threads = s->n_probes ? calloc(s->n_probes, sizeof(*threads)) : NULL;
	unsigned char *started = s->n_probes ? calloc(s->n_probes, 1) : NULL;
	for (size_t i = 0; i < s->n_probes; i++) {
		struct bpf_link *link = s->probes[i].link;
		if (!link)
			continue;
		if (threads && started && pthread_create(&threads[i], NULL, destroy_link, link) == 0)
			started[i] = 1;
		else
			bpf_link__destroy(link);
	}
	for (size_t i = 0; i < s->n_probes; i++)
		if (started && started[i])
			pthread_join(threads[i], NULL);
	free(threads);
	free(started);
}

void fangs_sensor_free(fangs_sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	destroy_links(s);
	sensor__destroy(s->skel);
	for (size_t i = 0; i < FS_MAX_RUNS; i++)
		free(s->runs[i].run_id);
	fangs__proctab_clear(&s->procs);
	free(s->probes);
	free(s->probe_list);
	free(s);
}

/* Numeric ids are turned into paths (for their level) through the cgroup
 * file system's file handles. */
static int cgroup_path_of_id(fangs_sensor *s, uint64_t id, char *path, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char link[64];
	int mfd, fd;
	ssize_t n;

	mfd = open(s->v2root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return fangs__error_errno(FANGS_EIO, s->v2root);
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
	if (path[0] == '/' && strncmp(path, s->v2root, strlen(s->v2root)) != 0) {
		size_t rl = strlen(s->v2root), pl = strlen(path);
		if (rl + pl + 1 > len)
			return fangs_error_set(FANGS_EINVAL, "cgroup path too long");
		memmove(path + rl, path, pl + 1);
		memcpy(path, s->v2root, rl);
	}
	return 0;
}

static int resolve_cgroup(fangs_sensor *s, const char *spec, uint64_t *id, int *level)
{
	char path[PATH_MAX * 2], *real;
	int rc, numeric = *spec != '\0';

	for (const char *c = spec; *c; c++)
		numeric &= isdigit((unsigned char)*c) != 0;
	if (numeric) {
		*id = strtoull(spec, NULL, 10);
		if ((rc = cgroup_path_of_id(s, *id, path, sizeof(path))))
			return rc;
	} else if (spec[0] == '/') {
		snprintf(path, sizeof(path), "%s", spec);
	} else {
		snprintf(path, sizeof(path), "%s/%s", s->v2root, spec);
	}
	real = realpath(path, NULL);
	if (!real)
		return fangs__error_errno(errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO, path);
	*level = fangs__cgroup_level(s->v2root, real);
	if (*level < 0 || *level >= FS_MAX_LEVEL) {
		rc = fangs_error_set(FANGS_EINVAL, "%s is not a cgroup-v2 directory under %s", real, s->v2root);
		free(real);
		return rc;
	}
	rc = numeric ? 0 : fangs_cgroup_id(real, id);
	free(real);
	return rc;
}

static void update_level_mask(fangs_sensor *s)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < FS_MAX_RUNS; i++)
		if (s->runs[i].active)
			mask |= 1u << s->runs[i].level;
	s->skel->bss->level_mask = mask;
}

static int find_run(const fangs_sensor *s, const char *run_id)
{
	for (int i = 0; i < FS_MAX_RUNS; i++)
		if (s->runs[i].run_id && strcmp(s->runs[i].run_id, run_id) == 0)
			return i;
	return -1;
}

int fangs_sensor_watch_cgroup(fangs_sensor *s, const char *cgroup, const char *run_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fs_stats *zero;
	uint64_t id = 0;
	int level = 0, slot, rc;
	__u32 uslot;

	if (!s || !cgroup || !run_id || !*run_id || !*cgroup)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_watch_cgroup: NULL or empty argument");
	slot = find_run(s, run_id);
	if (slot >= 0 && s->runs[slot].active)
		return fangs_error_set(FANGS_EEXISTS, "run %s is already watched", run_id);
	if ((rc = resolve_cgroup(s, cgroup, &id, &level)))
		return rc;
	for (int i = 0; i < FS_MAX_RUNS && slot < 0; i++) {
		int k = (s->next_slot + i) % FS_MAX_RUNS;
		if (!s->runs[k].active)
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
	rc = bpf_map__update_elem(s->skel->maps.stats, &uslot, sizeof(uslot), zero, sizeof(*zero) * (size_t)ncpu, 0);
	free(zero);
	if (!rc) {
		uint64_t none = 0;
		rc = bpf_map__update_elem(s->skel->maps.run_total, &uslot, sizeof(uslot), &none, sizeof(none), 0);
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
	rc = bpf_map__update_elem(s->skel->maps.watched, &id, sizeof(id), &uslot, sizeof(uslot), 0);
	if (rc)
		return fangs_error_set(rc == -E2BIG ? FANGS_EBUSY : FANGS_ESENSOR, "watching cgroup %s: %s", cgroup,
				       strerror(-rc));
	s->runs[slot].cgroup_id = id;
	s->runs[slot].level = level;
	s->runs[slot].active = 1;
	s->next_slot = (slot + 1) % FS_MAX_RUNS;
	update_level_mask(s);
	fangs_debug("watching cgroup %s (id %llu, level %d) as run %s", cgroup, (unsigned long long)id, level,
		    run_id);
	return 0;
}

int fangs_sensor_unwatch(fangs_sensor *s, const char *run_id)
{
	int slot;
	if (!s || !run_id)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_unwatch: NULL argument");
	slot = find_run(s, run_id);
	if (slot < 0 || !s->runs[slot].active)
		return fangs_error_set(FANGS_ENOTFOUND, "run %s is not watched", run_id);
	bpf_map__delete_elem(s->skel->maps.watched, &s->runs[slot].cgroup_id, sizeof(uint64_t), 0);
	s->runs[slot].active = 0;
	update_level_mask(s);
	/* a run's launchers outside the cgroup are known from /proc only */
	fangs__proctab_prune_external(&s->procs);
	return 0;
}

int fangs_sensor_fd(const fangs_sensor *s)
{
	if (!s)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_fd: NULL sensor");
	return ring_buffer__epoll_fd(s->rb);
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
		int wait_ms;

		n = ring_buffer__consume(s->rb);
		if (n != 0 || s->cb_rc < 0 || timeout_ms == 0 || (timeout_ms > 0 && left <= 0))
			break;
		wait_ms = s->wakeup_ms ? (int)s->wakeup_ms : -1;
		if (timeout_ms > 0 && (wait_ms < 0 || left / 1000000 < wait_ms))
			wait_ms = (int)(left / 1000000) + 1;
		n = ring_buffer__poll(s->rb, wait_ms);
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

int fangs_sensor_stats(const fangs_sensor *s, const char *run_id, fangs_sensor_run_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fs_stats *v;
	int slot, rc;
	__u32 uslot;

	if (!s || !run_id || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_stats: NULL argument");
	slot = find_run(s, run_id);
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
	free(v);
	return 0;
}

int fangs_sensor_probes(const fangs_sensor *s, const fangs_sensor_probe **out, size_t *count)
{
	if (!s || !out || !count)
		return fangs_error_set(FANGS_EINVAL, "fangs_sensor_probes: NULL argument");
	*out = s->probe_list;
	*count = s->n_probes;
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
