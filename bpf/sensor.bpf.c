// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/sensor.bpf.c - the kernel side of the sensor.
 *
 * Only tracepoints, raw tracepoints and uprobes: they attach on kernels
 * without kprobes and where fentry/tp_btf are refused. Every program first
 * asks whether the current task belongs to a watched cgroup-v2 subtree and
 * returns at once when it does not, so unwatched processes cost one map
 * lookup per probed syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sensor.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55

/* Keep the verifier's bounds on a length clang would otherwise fold away. */
#define BARRIER_VAR(v) asm volatile("" : "+r"(v))

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* cgroup id -> run slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FS_MAX_RUNS);
	__type(key, __u32);
	__type(value, struct fs_stats);
} stats SEC(".maps");

/* tgid -> exe and attribution; LRU because nothing here must ever fail for
 * lack of room, and user space may still read an entry after the exit.
 * Preallocated: 16K entries are about 13 MiB of kernel memory. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fs_proc);
} procs SEC(".maps");

/* The mark of a lifecycle script's processes (see "task marks" below). */
struct fs_mark {
	struct fs_origin origin; /* package from npm's choice of directory */
	char npm_name[FS_PKG_LEN]; /* npm_package_name as npm set it then */
};

struct scratch {
	struct fs_origin origin; /* what the environment says */
	char str[FS_ENV_STR];
	struct fs_mark mark;     /* a new mark being made */
};

/* npm's variables found in an environment */
#define ENV_PKG 1u
#define ENV_VER 2u
#define ENV_SCRIPT 4u
#define ENV_CMD 8u

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Never written: the source of zeroed process entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fs_proc);
} zero_proc SEC(".maps");

/* Wake the consumer at most this often (0 = for every event), and at once
 * when this much data waits: batching spares the traced process a
 * wake-up per event. */
const volatile __u64 wakeup_interval_ns = 0;
const volatile __u64 wakeup_bytes = 0;
__u64 last_wakeup_ns;

/* Bit per open syscall (FS_OPEN_AT, ...) whose sys_exit program is
 * attached, set by user space once it is: such an open is reported at its
 * exit, with the file it opened; the others at their entry. */
volatile __u32 exit_opens;
/* Set by user space once io_uring_complete is attached: io_uring opens are
 * then reported at their completion, with the file they opened. */
volatile __u32 io_open_exits;

/* Bit L set when some watched cgroup sits at level L of the hierarchy; set
 * by user space so descendants are matched with one lookup per used level. */
volatile __u32 level_mask;

static __always_inline int run_slot(void)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u32 *slot = bpf_map_lookup_elem(&watched, &id);
	__u32 mask;

	if (slot)
		return *slot;
	mask = level_mask;
	if (!mask)
		return -1;
	for (int l = 1; l < FS_MAX_LEVEL; l++) {
		if (!(mask & (1u << l)))
			continue;
		id = bpf_get_current_ancestor_cgroup_id(l);
		slot = bpf_map_lookup_elem(&watched, &id);
		if (slot)
			return *slot;
	}
	return -1;
}

static __always_inline void count(__u32 slot, int dropped)
{
	struct fs_stats *st = bpf_map_lookup_elem(&stats, &slot);
	if (!st)
		return;
	if (dropped)
		st->dropped++;
	else
		st->emitted++;
}

#define RESERVE(type, slot)                                                   \
	({                                                                     \
		type *_e = bpf_ringbuf_reserve(&events, sizeof(type), 0);      \
		if (!_e)                                                       \
			count(slot, 1);                                        \
		_e;                                                            \
	})

static __always_inline void submit(void *e, __u32 slot)
{
	__u64 flags = 0;

	if (wakeup_interval_ns) {
		__u64 now = bpf_ktime_get_ns();
		if (now - last_wakeup_ns >= wakeup_interval_ns ||
		    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
			last_wakeup_ns = now;
			flags = BPF_RB_FORCE_WAKEUP;
		} else {
			flags = BPF_RB_NO_WAKEUP;
		}
	}
	bpf_ringbuf_submit(e, flags);
	count(slot, 0);
}

static __always_inline void fill_hdr(struct fs_hdr *h, __u32 kind, __u32 slot, struct task_struct *task)
{
	struct task_struct *t = task;
	__u32 n = 0;

	h->kind = kind;
	h->run = slot;
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->ts = bpf_ktime_get_ns();
	h->source = FS_SRC_SYSCALL;
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
#pragma unroll
	for (int i = 0; i < FS_ANCESTRY; i++) {
		__u32 pid;
		t = BPF_CORE_READ(t, real_parent);
		if (!t)
			break;
		pid = BPF_CORE_READ(t, tgid);
		if (!pid)
			break;
		h->anc[i] = pid;
		n++;
		if (pid == 1)
			break;
	}
	h->n_anc = n;
}

/* The same for the current task, through its BTF pointer: the loads are
 * direct (fault-checked) instead of one helper call each, which is most of
 * the cost of an event on the hot paths. */
static __always_inline void fill_hdr_current(struct fs_hdr *h, __u32 kind, __u32 slot)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 n = 0;

	h->kind = kind;
	h->run = slot;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->ts = bpf_ktime_get_ns();
	h->source = FS_SRC_SYSCALL;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
#pragma unroll
	for (int i = 0; i < FS_ANCESTRY; i++) {
		__u32 pid;
		t = t->real_parent;
		if (!t)
			break;
		pid = t->tgid;
		if (!pid)
			break;
		h->anc[i] = pid;
		n++;
		if (pid == 1)
			break;
	}
	h->n_anc = n;
}

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* ---- file opens ------------------------------------------------------- */

/* An open record is assembled here and copied into the ring buffer up to
 * the end of its real path: most paths are short, and a fixed-size record
 * of 4 KiB each would fill the ring a dozen times faster. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fs_open);
} open_rec SEC(".maps");

static __always_inline void output_open(struct fs_open *e, __u32 slot)
{
	__u64 size, flags = 0;
	__u32 len = e->real_len;

	if (len > sizeof(e->real))
		len = sizeof(e->real);
	size = __builtin_offsetof(struct fs_open, real) + len;
	BARRIER_VAR(size);
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (wakeup_interval_ns) {
		__u64 now = bpf_ktime_get_ns();
		if (now - last_wakeup_ns >= wakeup_interval_ns ||
		    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
			last_wakeup_ns = now;
			flags = BPF_RB_FORCE_WAKEUP;
		} else {
			flags = BPF_RB_NO_WAKEUP;
		}
	}
	if (bpf_ringbuf_output(&events, e, size, flags) < 0) {
		count(slot, 1);
		return;
	}
	count(slot, 0);
}

/* The open as the caller wrote it, emitted at once: the path of the
 * fallback without the sys_exit probes, and of io_uring's opens. */
static __always_inline int emit_open(const void *path, __u64 flags, int kernel_path, __u32 src)
{
	int slot = run_slot();
	struct fs_open *e;
	__u32 zero = 0;
	long n;

	if (slot < 0)
		return 0;
	e = bpf_map_lookup_elem(&open_rec, &zero);
	if (!e)
		return 0;
	if (kernel_path)
		n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	else
		n = bpf_probe_read_user_str(e->path, sizeof(e->path), path);
	if (n < 0)
		e->path[0] = 0;
	fill_hdr_current(&e->h, FS_EV_OPEN, slot);
	e->h.source = src;
	e->flags = flags;
	e->ino = e->dev = 0;
	e->ret = 0;
	e->real_flags = 0;
	e->real_len = 0;
	output_open(e, slot);
	return 0;
}

/* ---- file identity: the opened file, resolved at syscall exit ---------- */

/* What the caller wrote, kept from the open's entry to its exit. The path
 * is read at entry (the caller may rewrite its buffer while the kernel
 * works) and again at exit when it was not paged in yet. */
struct open_stash {
	const void *upath;
	__u64 flags;
	__u32 have; /* path read at entry */
	__u32 pad;
	char path[FS_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct open_stash);
} open_stash SEC(".maps");

/* Entries put in open_stash and not yet taken: lets the exits of every
 * unwatched open on the host return without a lookup. Only ever too high
 * (an LRU eviction is not counted down), which costs a lookup, never an
 * open. */
__u64 stash_count;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_stash);
} stash_scratch SEC(".maps");

static __always_inline int stash_open(const void *upath, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_stash *st;
	__u32 zero = 0;

	if (run_slot() < 0)
		return 0;
	st = bpf_map_lookup_elem(&stash_scratch, &zero);
	if (!st)
		return 0;
	st->upath = upath;
	st->flags = flags;
	st->have = bpf_probe_read_user_str(st->path, sizeof(st->path), upath) > 0;
	if (!st->have)
		st->path[0] = 0;
	if (bpf_map_update_elem(&open_stash, &id, st, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&stash_count, 1);
	else
		bpf_map_update_elem(&open_stash, &id, st, BPF_ANY);
	return 0;
}

static __always_inline void take_stash(__u64 id)
{
	if (bpf_map_delete_elem(&open_stash, &id) == 0 && stash_count)
		__sync_fetch_and_add(&stash_count, -1);
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **arr;
	struct file *f = 0;
	unsigned int max;

	if (fd < 0 || !fdt)
		return 0;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return 0;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline struct mount *real_mount(struct vfsmount *m)
{
	return (struct mount *)((char *)m - bpf_core_field_offset(struct mount, mnt));
}

struct walk {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *root_d;
	struct vfsmount *root_mnt;
	char *buf; /* FS_RPATH_LEN + FS_NAME_MAX bytes */
	__u32 off;
	__u32 flags;
};

/* One step up from c->d: a component written, or a mount crossed. Like the
 * kernel's d_path: stop at the task's root, cross to the mount point at a
 * mount's root, stop at the root of the mount tree. */
static long walk_step(__u32 i, void *data)
{
	struct walk *c = data;
	struct dentry *d = c->d, *parent, *mnt_root;
	struct mount *m = c->mnt;
	struct vfsmount *vmnt = (struct vfsmount *)((char *)m + bpf_core_field_offset(struct mount, mnt));
	const unsigned char *name;
	__u32 off = c->off;
	long n;

	if (d == c->root_d && vmnt == c->root_mnt) {
		c->flags |= FS_RP_ROOT;
		return 1;
	}
	mnt_root = BPF_CORE_READ(vmnt, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (d != mnt_root || mp == m || !mp) {
			/* the top of the tree, or a file outside the caller's root
			 * (a detached mount, another namespace's) */
			c->flags |= FS_RP_ROOT;
			return 1;
		}
		c->d = BPF_CORE_READ(m, mnt_mountpoint);
		c->mnt = mp;
		return 0;
	}
	if (off >= FS_RPATH_LEN) {
		c->flags |= FS_RP_TRUNC;
		return 1;
	}
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(c->buf + (off & (FS_RPATH_LEN - 1)), FS_NAME_MAX, name);
	if (n <= 0) {
		c->flags |= FS_RP_TRUNC;
		return 1;
	}
	c->off = off + (__u32)n;
	c->d = parent;
	return 0;
}

/* Writes the path of (dentry, vfsmount) into buf, leaf first, as seen from
 * task t's root; returns the bytes used, flags in *flags. */
static __always_inline __u32 walk_path(struct task_struct *t, struct dentry *d, struct vfsmount *mnt, char *buf,
				       __u32 *flags)
{
	struct walk c = {};

	c.d = d;
	c.mnt = real_mount(mnt);
	c.root_d = BPF_CORE_READ(t, fs, root.dentry);
	c.root_mnt = BPF_CORE_READ(t, fs, root.mnt);
	c.buf = buf;
	if (bpf_loop(FS_RPATH_DEPTH, walk_step, &c, 0) == FS_RPATH_DEPTH && !(c.flags & FS_RP_ROOT))
		c.flags |= FS_RP_TRUNC;
	*flags |= c.flags;
	return c.off;
}

static __always_inline int open_exit(long ret)
{
	struct task_struct *task;
	__u64 id = bpf_get_current_pid_tgid();
	struct open_stash *st;
	struct fs_open *e;
	struct file *f;
	__u32 zero = 0;
	int slot;

	if (!stash_count)
		return 0;
	st = bpf_map_lookup_elem(&open_stash, &id);
	if (!st)
		return 0;
	slot = run_slot();
	e = bpf_map_lookup_elem(&open_rec, &zero);
	if (slot < 0 || !e) {
		take_stash(id);
		return 0;
	}
	if (st->have)
		__builtin_memcpy(e->path, st->path, sizeof(e->path));
	else if (bpf_probe_read_user_str(e->path, sizeof(e->path), st->upath) <= 0)
		e->path[0] = 0;
	e->flags = st->flags;
	take_stash(id);

	fill_hdr_current(&e->h, FS_EV_OPEN, slot);
	e->ret = ret;
	e->ino = e->dev = 0;
	e->real_flags = 0;
	e->real_len = 0;
	task = current_task();
	f = ret >= 0 ? fd_file(task, ret) : 0;
	if (f) {
		struct inode *ino = BPF_CORE_READ(f, f_inode);
		e->ino = BPF_CORE_READ(ino, i_ino);
		e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		e->real_flags = FS_RP_RESOLVED;
		e->real_len = walk_path(task, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), e->real,
					&e->real_flags);
	}
	output_open(e, slot);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	if (exit_opens & FS_OPEN_AT)
		return stash_open((const void *)ctx->args[1], ctx->args[2]);
	return emit_open((const void *)ctx->args[1], ctx->args[2], 0, FS_SRC_SYSCALL);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (const void *)ctx->args[2]);
	if (exit_opens & FS_OPEN_AT2)
		return stash_open((const void *)ctx->args[1], flags);
	return emit_open((const void *)ctx->args[1], flags, 0, FS_SRC_SYSCALL);
}

SEC("tracepoint/syscalls/sys_enter_open")
int sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	if (exit_opens & FS_OPEN_LEGACY)
		return stash_open((const void *)ctx->args[0], ctx->args[1]);
	return emit_open((const void *)ctx->args[0], ctx->args[1], 0, FS_SRC_SYSCALL);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int sys_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	if (exit_opens & FS_OPEN_CREAT)
		return stash_open((const void *)ctx->args[0], O_CREAT | O_WRONLY | O_TRUNC);
	return emit_open((const void *)ctx->args[0], O_CREAT | O_WRONLY | O_TRUNC, 0, FS_SRC_SYSCALL);
}

/* One program for the four exits; user space attaches it to each. */
SEC("tracepoint")
int sys_exit_open_any(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

/* ---- process table: fork, exec, exit --------------------------------- */

static __always_inline struct fs_proc *proc_get_or_create(__u32 tgid)
{
	struct fs_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	__u32 zero = 0;
	struct fs_proc *z;

	if (p)
		return p;
	z = bpf_map_lookup_elem(&zero_proc, &zero);
	if (!z)
		return 0;
	bpf_map_update_elem(&procs, &tgid, z, BPF_NOEXIST);
	return bpf_map_lookup_elem(&procs, &tgid);
}

struct env_ctx {
	__u64 p;
	__u64 end;
	struct scratch *s;
	__u32 skip;
	__u32 found;
};

static __always_inline int starts_with(const char *s, const char *pre, int n)
{
#pragma unroll
	for (int i = 0; i < n; i++)
		if (s[i] != pre[i])
			return 0;
	return 1;
}

#define ENV_MATCH(c, name, field, bit)                                                           \
	do {                                                                                   \
		if (starts_with((c)->s->str, name, sizeof(name) - 1)) {                        \
			bpf_probe_read_kernel_str((c)->s->origin.field, sizeof((c)->s->origin.field), \
						  (c)->s->str + sizeof(name) - 1);              \
			(c)->found |= (bit);                                                   \
			return 0;                                                              \
		}                                                                              \
	} while (0)

static long env_step(__u32 i, void *data)
{
	struct env_ctx *c = data;
	long n;
	int skipping;

	if (c->p >= c->end)
		return 1;
	n = bpf_probe_read_user_str(c->s->str, FS_ENV_STR, (const void *)c->p);
	if (n <= 0)
		return 1;
	skipping = c->skip;
	/* A string longer than the buffer: step to its end without reading it
	 * as a new variable. */
	if (n == FS_ENV_STR) {
		c->p += n - 1;
		c->skip = 1;
	} else {
		c->p += n;
		c->skip = 0;
	}
	if (skipping || !starts_with(c->s->str, "npm_", 4))
		return 0;
	ENV_MATCH(c, "npm_package_name=", pkg, ENV_PKG);
	ENV_MATCH(c, "npm_package_version=", ver, ENV_VER);
	ENV_MATCH(c, "npm_lifecycle_event=", script, ENV_SCRIPT);
	ENV_MATCH(c, "npm_lifecycle_script=", cmd, ENV_CMD);
	return 0;
}

/* Reads npm's variables from the new image's environment into the
 * scratch origin; returns the ENV_* bits of those present. */
static __always_inline __u32 scan_env(struct task_struct *task, struct scratch **out)
{
	__u32 zero = 0;
	struct env_ctx c = {};

	c.s = bpf_map_lookup_elem(&scratch, &zero);
	*out = c.s;
	if (!c.s)
		return 0;
	__builtin_memset(&c.s->origin, 0, sizeof(c.s->origin));
	c.p = BPF_CORE_READ(task, mm, env_start);
	c.end = BPF_CORE_READ(task, mm, env_end);
	bpf_loop(4096, env_step, &c, 0);
	return c.found;
}

/* ---- task marks: the lifecycle script a process descends from --------- */

/* tgid -> the mark, set once when npm starts a lifecycle script, copied to
 * every child at fork, removed at exit. What the environment says later is
 * only a hint checked against it: a package can rewrite its environment,
 * not its ancestry. A plain hash, not an LRU: a mark must never be evicted
 * (a process pushed out would look like npm itself); the live entries are
 * bounded by the runs' pids limits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct fs_mark);
} marks SEC(".maps");

static __always_inline int is_node_modules(struct dentry *d)
{
	char n[16] = {};
	bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(d, d_name.name));
	return starts_with(n, "node_modules", 13);
}

/* The package whose directory the task works in, as npm chose it for a
 * lifecycle script: .../node_modules/<pkg> or .../node_modules/@scope/<pkg>.
 * The folder name is what npm installed; the package's own package.json
 * (and so npm_package_name) says whatever its author wrote. */
static __always_inline int cwd_package(struct task_struct *task, char *out)
{
	struct dentry *d = BPF_CORE_READ(task, fs, pwd.dentry);
	struct dentry *p1 = BPF_CORE_READ(d, d_parent);
	struct dentry *p2 = BPF_CORE_READ(p1, d_parent);
	long n;

	if (!d || p1 == d)
		return 0;
	if (is_node_modules(p1))
		return bpf_probe_read_kernel_str(out, FS_PKG_LEN, BPF_CORE_READ(d, d_name.name)) > 1;
	if (p2 == p1 || !is_node_modules(p2))
		return 0;
	n = bpf_probe_read_kernel_str(out, FS_PKG_LEN / 2, BPF_CORE_READ(p1, d_name.name));
	if (n < 2 || out[0] != '@')
		return 0;
	out[(n - 1) & (FS_PKG_LEN / 2 - 1)] = '/';
	return bpf_probe_read_kernel_str(out + (n & (FS_PKG_LEN / 2 - 1)), FS_PKG_LEN / 2,
					 BPF_CORE_READ(d, d_name.name)) > 1;
}

/* At an exec: a process with no mark whose new image npm gave a lifecycle
 * event is a script npm starts (only npm and its own helpers run unmarked;
 * whatever a script starts inherits the script's mark before it can exec
 * anything). Returns the process's mark, or NULL. */
static __always_inline struct fs_mark *mark_exec(struct task_struct *task, __u32 tgid, struct scratch *sc,
						 __u32 env)
{
	struct fs_mark *m = bpf_map_lookup_elem(&marks, &tgid);
	struct fs_mark *o;

	if (m || !sc || !(env & ENV_SCRIPT) || !sc->origin.script[0])
		return m;
	o = &sc->mark;
	__builtin_memcpy(&o->origin, &sc->origin, sizeof(o->origin));
	__builtin_memcpy(o->npm_name, sc->origin.pkg, sizeof(o->npm_name));
	if (!cwd_package(task, o->origin.pkg))
		/* not in node_modules: the project's own script, named by npm */
		__builtin_memcpy(o->origin.pkg, sc->origin.pkg, sizeof(o->origin.pkg));
	bpf_map_update_elem(&marks, &tgid, o, BPF_NOEXIST);
	return bpf_map_lookup_elem(&marks, &tgid);
}

/* What the environment says of the package, beside what npm said. */
static __always_inline __u32 env_claim(const struct fs_mark *m, const struct scratch *sc, __u32 env)
{
	if (!m || !sc || !(env & ENV_PKG))
		return FS_ENV_NONE;
	for (int i = 0; i < FS_PKG_LEN; i++) {
		if (sc->origin.pkg[i] != m->npm_name[i])
			return FS_ENV_OTHER;
		if (!sc->origin.pkg[i])
			break;
	}
	return FS_ENV_SAME;
}

static __always_inline void mark_fork(__u32 ptgid, __u32 ctgid)
{
	struct fs_mark *m = bpf_map_lookup_elem(&marks, &ptgid);
	if (m)
		bpf_map_update_elem(&marks, &ctgid, m, BPF_ANY);
	else
		bpf_map_delete_elem(&marks, &ctgid);
}

SEC("raw_tp/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	int slot = run_slot();
	struct fs_proc *p;
	struct fs_mark *mark;
	struct scratch *sc;
	struct fs_exec *e;
	__u64 start, end, len;
	__u32 tgid, env;

	if (slot < 0)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	p = proc_get_or_create(tgid);
	if (!p)
		return 0;
	bpf_probe_read_kernel_str(p->exe, sizeof(p->exe), BPF_CORE_READ(bprm, filename));
	env = scan_env(task, &sc);
	mark = mark_exec(task, tgid, sc, env);
	if (mark)
		__builtin_memcpy(&p->origin, &mark->origin, sizeof(p->origin));
	else
		__builtin_memset(&p->origin, 0, sizeof(p->origin));
	p->has_origin = mark != 0;

	e = RESERVE(struct fs_exec, slot);
	if (!e)
		return 0;
	fill_hdr(&e->h, FS_EV_EXEC, slot, task);
	__builtin_memcpy(e->path, p->exe, sizeof(e->path));
	__builtin_memcpy(&e->origin, &p->origin, sizeof(e->origin));
	e->has_origin = p->has_origin;
	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > FS_ARGS_LEN - 1)
		len = FS_ARGS_LEN - 1;
	BARRIER_VAR(len);
	len &= FS_ARGS_LEN - 1;
	if (bpf_probe_read_user(e->args, len, (const void *)start) < 0)
		len = 0;
	e->args_len = len;
	e->env_state = env_claim(mark, sc, env);
	if (sc && e->env_state == FS_ENV_OTHER)
		__builtin_memcpy(e->env_pkg, sc->origin.pkg, sizeof(e->env_pkg));
	else
		e->env_pkg[0] = 0;
	submit(e, slot);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 cpid = BPF_CORE_READ(child, pid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	struct fs_proc *pp;
	struct fs_fork *e;
	int slot;

	if (cpid != ctgid) /* a new thread, not a process */
		return 0;
	slot = run_slot();
	if (slot < 0)
		return 0;
	mark_fork(ptgid, ctgid);
	pp = bpf_map_lookup_elem(&procs, &ptgid);
	if (pp)
		bpf_map_update_elem(&procs, &ctgid, pp, BPF_ANY);
	else
		bpf_map_delete_elem(&procs, &ctgid);

	e = RESERVE(struct fs_fork, slot);
	if (!e)
		return 0;
	fill_hdr(&e->h, FS_EV_FORK, slot, child);
	submit(e, slot);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct fs_exit *e;
	int slot, code;
	__u32 tgid;

	if (!ctx->args[1]) /* group_dead: the last thread of the process */
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_delete_elem(&marks, &tgid);
	slot = run_slot();
	if (slot < 0)
		return 0;
	e = RESERVE(struct fs_exit, slot);
	if (!e)
		return 0;
	fill_hdr(&e->h, FS_EV_EXIT, slot, task);
	code = BPF_CORE_READ(task, exit_code);
	e->exit_code = (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff;
	submit(e, slot);
	return 0;
}

/* ---- network ---------------------------------------------------------- */

static __always_inline int read_sockaddr(struct fs_addr *a, const void *uaddr, __u32 alen)
{
	__u16 family = 0;

	if (!uaddr || alen < 2)
		return -1;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	a->family = family;
	if (family == AF_INET) {
		struct sockaddr_in sin = {};
		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		a->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(a->addr, &sin.sin_addr, 4);
		a->len = 4;
		return 0;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		a->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(a->addr, &sin6.sin6_addr, 16);
		a->len = 16;
		return 0;
	}
	if (family == AF_UNIX) {
		__u32 n = alen - 2;
		if (n > FS_ADDR_LEN)
			n = FS_ADDR_LEN;
		BARRIER_VAR(n);
		n &= 0x7f;
		if (n > FS_ADDR_LEN)
			return -1;
		bpf_probe_read_user(a->addr, n, (const char *)uaddr + 2);
		a->len = n;
		return 0;
	}
	return -1;
}

static __always_inline struct socket *fd_socket(int fd)
{
	struct task_struct *t = current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **arr;
	struct file *f = 0;
	unsigned int max;
	umode_t mode;

	if (fd < 0 || !fdt)
		return 0;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	return BPF_CORE_READ(f, private_data);
}

static __always_inline __u32 sock_proto(struct socket *sock)
{
	short type;
	if (!sock)
		return FS_PROTO_NONE;
	type = BPF_CORE_READ(sock, type);
	if (type == SOCK_STREAM)
		return FS_PROTO_TCP;
	if (type == SOCK_DGRAM)
		return FS_PROTO_UDP;
	return FS_PROTO_NONE;
}

static __always_inline int emit_connect(int fd, const void *uaddr, __u32 alen, __u32 src, __u32 proto_hint)
{
	int slot = run_slot();
	struct fs_connect *e;

	if (slot < 0)
		return 0;
	e = RESERVE(struct fs_connect, slot);
	if (!e)
		return 0;
	if (read_sockaddr(&e->dst, uaddr, alen) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	fill_hdr_current(&e->h, FS_EV_CONNECT, slot);
	e->h.source = src;
	e->proto = proto_hint ? proto_hint : sock_proto(fd_socket(fd));
	submit(e, slot);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return emit_connect((int)ctx->args[0], (const void *)ctx->args[1], (__u32)ctx->args[2], FS_SRC_SYSCALL, 0);
}

struct send_args {
	const void *buf;
	__u64 len;
	const void *buf2; /* the second iovec, for a DNS-over-TCP length prefix sent apart */
	__u64 len2;
	const void *uaddr;
	__u32 alen;
	int fd;
};

static __always_inline void sk_peer(struct sock *sk, __u16 family, struct fs_addr *a)
{
	a->family = family;
	a->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(a->addr, &d, 4);
		a->len = 4;
	} else {
		struct in6_addr d6 = {};
		BPF_CORE_READ_INTO(&d6, sk, __sk_common.skc_v6_daddr);
		__builtin_memcpy(a->addr, &d6, sizeof(d6));
		a->len = 16;
	}
}

/* Looks at one outgoing buffer on a socket: a UDP datagram with an explicit
 * destination is a connection attempt of its own; DNS (port 53) and TLS
 * ClientHellos are copied for user space to parse. */
static __noinline int do_send(struct send_args *a)
{
	int slot = run_slot();
	struct fs_addr dst = {};
	struct fs_payload *e;
	struct socket *sock;
	struct sock *sk;
	__u32 proto, what = 0;
	__u16 family;
	const void *buf = a->buf;
	__u64 len = a->len, n;

	if (slot < 0)
		return 0;
	sock = fd_socket(a->fd);
	if (!sock)
		return 0;
	proto = sock_proto(sock);
	if (proto == FS_PROTO_NONE)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (a->uaddr && a->alen) {
		if (read_sockaddr(&dst, a->uaddr, a->alen) < 0)
			return 0;
		if (proto == FS_PROTO_UDP)
			emit_connect(a->fd, a->uaddr, a->alen, FS_SRC_SEND, FS_PROTO_UDP);
	} else {
		sk_peer(sk, family, &dst);
	}

	if (dst.port == 53) {
		if (proto == FS_PROTO_UDP) {
			what = FS_PL_DNS;
		} else if (len == 2 && a->buf2) {
			what = FS_PL_DNS;
			buf = a->buf2;
			len = a->len2;
		} else {
			what = FS_PL_DNS_TCP;
		}
	} else if (proto == FS_PROTO_TCP && len >= 6) {
		__u8 h[6] = {};
		bpf_probe_read_user(h, sizeof(h), buf);
		/* handshake record, TLS major version 3, ClientHello */
		if (h[0] == 0x16 && h[1] == 3 && h[5] == 1)
			what = FS_PL_TLS;
	}
	if (!what || !buf)
		return 0;

	e = RESERVE(struct fs_payload, slot);
	if (!e)
		return 0;
	fill_hdr_current(&e->h, FS_EV_PAYLOAD, slot);
	e->proto = proto;
	e->what = what;
	__builtin_memcpy(&e->dst, &dst, sizeof(dst));
	n = len;
	if (n > FS_PAYLOAD_LEN - 1)
		n = FS_PAYLOAD_LEN - 1;
	BARRIER_VAR(n);
	n &= FS_PAYLOAD_LEN - 1;
	if (bpf_probe_read_user(e->data, n, buf) < 0)
		n = 0;
	e->len = n;
	submit(e, slot);
	return 0;
}

static __always_inline int send_buf(int fd, const void *buf, __u64 len, const void *uaddr, __u32 alen)
{
	struct send_args a = {};
	a.fd = fd;
	a.buf = buf;
	a.len = len;
	a.uaddr = uaddr;
	a.alen = alen;
	return do_send(&a);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sys_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return send_buf((int)ctx->args[0], (const void *)ctx->args[1], ctx->args[2], (const void *)ctx->args[4],
			(__u32)ctx->args[5]);
}

/* The first two buffers of an iovec array (a DNS-over-TCP length prefix
 * comes in its own). */
static __always_inline int send_iov(int fd, const struct iovec *vec, __u64 vlen, const void *uaddr, __u32 alen)
{
	struct iovec iov[2] = {};
	struct send_args a = {};

	if (vlen >= 1)
		bpf_probe_read_user(&iov[0], sizeof(iov[0]), vec);
	if (vlen >= 2)
		bpf_probe_read_user(&iov[1], sizeof(iov[1]), vec + 1);
	a.fd = fd;
	a.buf = iov[0].iov_base;
	a.len = iov[0].iov_len;
	a.buf2 = iov[1].iov_base;
	a.len2 = iov[1].iov_len;
	a.uaddr = uaddr;
	a.alen = alen;
	return do_send(&a);
}

static __always_inline int send_msghdr(int fd, const struct user_msghdr *um)
{
	struct user_msghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), um) < 0)
		return 0;
	return send_iov(fd, m.msg_iov, m.msg_iovlen, m.msg_name, m.msg_namelen);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return send_msghdr((int)ctx->args[0], (const struct user_msghdr *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int sys_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	const struct mmsghdr *v = (const struct mmsghdr *)ctx->args[1];
	__u32 vlen = (__u32)ctx->args[2];

	/* resolvers send the A and AAAA queries together: look at both */
	if (vlen >= 1)
		send_msghdr((int)ctx->args[0], (const struct user_msghdr *)&v[0].msg_hdr);
	if (vlen >= 2)
		send_msghdr((int)ctx->args[0], (const struct user_msghdr *)&v[1].msg_hdr);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sys_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return send_buf((int)ctx->args[0], (const void *)ctx->args[1], ctx->args[2], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int sys_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return send_iov((int)ctx->args[0], (const struct iovec *)ctx->args[1], ctx->args[2], 0, 0);
}

/* ---- file identity: io_uring opens, resolved at completion ------------- */

/* An io_uring open is stashed at submission (its file name is freed before
 * the request completes) and reported at its completion, where the result
 * is the fd, with the file it opened. Keyed by the request. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct open_stash);
} io_open_stash SEC(".maps");

static __always_inline int stash_io_open(void *req, const char *name, __u64 flags)
{
	__u64 key = (__u64)req;
	struct open_stash *st;
	__u32 zero = 0;

	if (run_slot() < 0)
		return 0;
	st = bpf_map_lookup_elem(&stash_scratch, &zero);
	if (!st)
		return 0;
	st->upath = 0;
	st->flags = flags;
	st->have = bpf_probe_read_kernel_str(st->path, sizeof(st->path), name) > 0;
	if (!st->have)
		st->path[0] = 0;
	bpf_map_update_elem(&io_open_stash, &key, st, BPF_ANY);
	return 0;
}

SEC("raw_tp/io_uring_complete")
int io_uring_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[1];
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)ctx->args[2];
	struct task_struct *task;
	__u64 key = (__u64)req;
	struct open_stash *st;
	struct io_open *o;
	struct fs_open *e;
	struct file *f = 0;
	__u32 zero = 0;
	__u8 op;
	int slot;
	long res;

	op = BPF_CORE_READ(req, opcode);
	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return 0;
	st = bpf_map_lookup_elem(&io_open_stash, &key);
	if (!st)
		return 0;
	slot = run_slot();
	e = bpf_map_lookup_elem(&open_rec, &zero);
	if (slot < 0 || !e) {
		bpf_map_delete_elem(&io_open_stash, &key);
		return 0;
	}
	__builtin_memcpy(e->path, st->path, sizeof(e->path));
	e->flags = st->flags;
	bpf_map_delete_elem(&io_open_stash, &key);
	/* an io-wq worker may post the completion: the submitter is the actor */
	task = BPF_CORE_READ(req, tctx, task);
	if (!task)
		task = current_task();
	fill_hdr(&e->h, FS_EV_OPEN, slot, task);
	e->h.source = FS_SRC_IO_URING;
	res = BPF_CORE_READ(cqe, res);
	e->ret = res;
	e->ino = e->dev = 0;
	e->real_flags = 0;
	e->real_len = 0;
	o = (struct io_open *)__builtin_preserve_access_index(&req->cmd);
	/* a direct descriptor (file_slot) is not in the task's table */
	if (res >= 0 && !BPF_CORE_READ(o, file_slot))
		f = fd_file(task, res);
	if (f) {
		struct inode *ino = BPF_CORE_READ(f, f_inode);
		e->ino = BPF_CORE_READ(ino, i_ino);
		e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		e->real_flags = FS_RP_RESOLVED;
		e->real_len = walk_path(task, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), e->real,
					&e->real_flags);
	}
	output_open(e, slot);
	return 0;
}

/* ---- io_uring ----------------------------------------------------------- */

/* Runs in the submitting task after the request was prepared, so the open's
 * filename is already copied into the kernel and the connect's address is
 * the caller's pointer. */
SEC("raw_tp/io_uring_submit_req")
int io_uring_submit_req(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[0];
	__u8 op = BPF_CORE_READ(req, opcode);

	if (op == IORING_OP_OPENAT || op == IORING_OP_OPENAT2) {
		struct io_open *o = (struct io_open *)__builtin_preserve_access_index(&req->cmd);
		const char *name = BPF_CORE_READ(o, filename, name);
		if (io_open_exits)
			return stash_io_open(req, name, BPF_CORE_READ(o, how.flags));
		return emit_open(name, BPF_CORE_READ(o, how.flags), 1, FS_SRC_IO_URING);
	}
	if (op == IORING_OP_CONNECT) {
		struct io_connect *c = (struct io_connect *)__builtin_preserve_access_index(&req->cmd);
		return emit_connect(BPF_CORE_READ(req, cqe.fd), BPF_CORE_READ(c, addr), BPF_CORE_READ(c, addr_len),
				    FS_SRC_IO_URING, 0);
	}
	return 0;
}

/* ---- TLS libraries ------------------------------------------------------ */

SEC("uprobe")
int BPF_KPROBE(ssl_ctrl, void *ssl, int cmd, long larg, const char *parg)
{
	struct fs_sni *e;
	int slot;

	if (cmd != SSL_CTRL_SET_TLSEXT_HOSTNAME || !parg)
		return 0;
	slot = run_slot();
	if (slot < 0)
		return 0;
	e = RESERVE(struct fs_sni, slot);
	if (!e)
		return 0;
	fill_hdr_current(&e->h, FS_EV_SNI, slot);
	if (bpf_probe_read_user_str(e->name, sizeof(e->name), parg) <= 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	submit(e, slot);
	return 0;
}
