// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/sensor.bpf.c - the kernel side of the sensor.
 *
 * Only tracepoints, raw tracepoints and uprobes: they attach on kernels
 * without kprobes and where fentry/tp_btf are refused. Every program first
 * asks whether the current task belongs to a watched cgroup-v2 subtree and
 * returns at once when it does not, so unwatched processes cost one map
 * lookup per probed syscall. System calls come either through one raw_tp
 * on raw_syscalls/sys_enter and sys_exit, dispatching by number, or through
 * one tracepoint per call (the end of this file).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sensor.h"
#include "syscall_nr.h"
#define FS_INLINE static __always_inline
#include "payload.h"

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
	struct fs_origin origin;   /* package from npm's choice of directory */
	char npm_name[FS_PKG_LEN]; /* npm_package_name as npm set it then */
};

struct scratch {
	struct fs_origin origin; /* what the environment says */
	char str[FS_ENV_STR];
	struct fs_mark mark; /* a new mark being made */
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

#define RESERVE(type, slot) \
	({ \
		type *_e = bpf_ringbuf_reserve(&events, sizeof(type), 0); \
		if (!_e) \
			count(slot, 1); \
		_e; \
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

/* ---- flood bounds --------------------------------------------------------
 *
 * A package can repeat one action in a loop to fill the ring buffer and
 * hide what comes next, or to swamp the scanner. Two bounds, per run:
 * identical events (same process, kind and value hash) are kept
 * FS_REPEAT_KEEP times and then only counted (stats.folded), and once a
 * run has emitted run_event_cap events, the rest are counted as lost
 * (stats.capped). Process events (fork, exec, exit) are exempt from both:
 * the process table needs them, and the sandbox's pids limit bounds them.
 */

struct fold_key {
	__u32 tgid;
	__u32 kind;
	__u64 hash;
};

/* 16K keys: about 1.3 MiB of kernel memory. An evicted key only means a
 * value is kept FS_REPEAT_KEEP more times. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fold_key);
	__type(value, __u32);
} folds SEC(".maps");

/* Events emitted by each run slot, across CPUs (reset by watch). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FS_MAX_RUNS);
	__type(key, __u32);
	__type(value, __u64);
} run_total SEC(".maps");

/* 0 = no budget. */
const volatile __u64 run_event_cap = 0;

#define FNV_OFFSET 0xcbf29ce484222325ULL

static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* A string of at most FS_PATH_LEN bytes, `n` of them read (with the NUL). */
static __always_inline __u64 hash_str(const char *str, long n)
{
	const __u64 *words = __builtin_assume_aligned(str, 8); /* every caller's string is 8-aligned */
	__u64 h = FNV_OFFSET;

#pragma unroll
	for (int i = 0; i < FS_PATH_LEN / 8; i++) {
		__u64 w;
		long left = n - i * 8;
		if (left <= 0)
			break;
		w = words[i];
		if (left < 8)
			w &= (1ULL << (left * 8)) - 1;
		h = mix(h, w);
	}
	return mix(h, n);
}

/* A payload, its first 16 bytes (DNS id and header) left out. */
static __always_inline __u64 hash_bytes(const __u8 *b, __u32 len)
{
	const __u64 *words = __builtin_assume_aligned(b, 8);
	__u64 h = FNV_OFFSET;

#pragma unroll
	for (int i = 2; i < 34; i++) {
		if ((i + 1) * 8 > len)
			break;
		h = mix(h, words[i]);
	}
	return mix(h, len);
}

static __always_inline __u64 hash_addr(const struct fs_addr *a, __u32 proto)
{
	const __u32 *words = __builtin_assume_aligned(a->addr, 4);
	__u64 h = mix(FNV_OFFSET, ((__u64)a->family << 32) | ((__u64)a->port << 8) | proto);
#pragma unroll
	for (int i = 0; i < FS_ADDR_LEN / 4; i++)
		h = mix(h, words[i]);
	return h;
}

static __always_inline void count_flood(__u32 slot, int capped)
{
	struct fs_stats *st = bpf_map_lookup_elem(&stats, &slot);
	if (!st)
		return;
	if (capped)
		st->capped++;
	else
		st->folded++;
}

/* 1 when the event must not be emitted: a repeat past FS_REPEAT_KEEP
 * (counted as folded) or past the run's budget (counted as capped). */
static __noinline int flood_guard(int slot, __u32 kind, __u64 hash)
{
	struct fold_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .kind = kind, .hash = hash};
	__u32 one = 1, *n;
	__u32 uslot = slot;
	__u64 *total;

	n = bpf_map_lookup_elem(&folds, &k);
	if (!n) {
		bpf_map_update_elem(&folds, &k, &one, BPF_NOEXIST);
	} else if (*n >= FS_REPEAT_KEEP) {
		count_flood(uslot, 0);
		return 1;
	} else {
		__sync_fetch_and_add(n, 1);
	}
	if (!run_event_cap)
		return 0;
	total = bpf_map_lookup_elem(&run_total, &uslot);
	if (!total)
		return 0;
	if (__sync_fetch_and_add(total, 1) < run_event_cap)
		return 0;
	count_flood(uslot, 1);
	return 1;
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
	if (flood_guard(slot, FS_EV_OPEN, hash_str(e->path, n < 0 ? 0 : n) ^ flags))
		return 0;
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
	__s32 nr;   /* the system call's number, checked at a raw_tp exit */
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

static __always_inline int stash_open(const void *upath, __u64 flags, int nr)
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
	st->nr = nr;
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

#if defined(__TARGET_ARCH_x86)
#define FS_SYSCALL_NR_CORE(x) ((long)BPF_CORE_READ((const struct pt_regs *)(x), orig_ax))
#elif defined(__TARGET_ARCH_arm64)
#define FS_SYSCALL_NR_CORE(x) ((long)BPF_CORE_READ((const struct pt_regs *)(x), syscallno))
#elif defined(__TARGET_ARCH_riscv)
#define FS_SYSCALL_NR_CORE(x) ((long)BPF_CORE_READ((const struct pt_regs *)(x), a7))
#else
#error "sensor.bpf.c: no syscall register layout for this architecture"
#endif

/* regs: the exiting call's registers at a raw_tp/sys_exit, whose number
 * must be the stashed open's; NULL when only the opens' exits come here */
static __always_inline int open_exit(long ret, const void *regs)
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
	if (regs && st->nr != FS_SYSCALL_NR_CORE(regs)) {
		/* an exit that is not the open's: the open's own never came */
		take_stash(id);
		return 0;
	}
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
	/* repeats of one open: the file's identity when there is one, else
	 * the path written (a failed open) */
	if (flood_guard(slot, FS_EV_OPEN,
			(e->ino ? e->ino ^ (e->dev << 40) : hash_str(e->path, FS_PATH_LEN)) ^ e->flags ^
				((__u64)(ret < 0) << 63)))
		return 0;
	output_open(e, slot);
	return 0;
}

FS_INLINE int h_openat(const unsigned long *args)
{
	if (exit_opens & FS_OPEN_AT)
		return stash_open((const void *)args[1], args[2], FS_NR_openat);
	return emit_open((const void *)args[1], args[2], 0, FS_SRC_SYSCALL);
}

FS_INLINE int h_openat2(const unsigned long *args)
{
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (const void *)args[2]);
	if (exit_opens & FS_OPEN_AT2)
		return stash_open((const void *)args[1], flags, FS_NR_openat2);
	return emit_open((const void *)args[1], flags, 0, FS_SRC_SYSCALL);
}

FS_INLINE int h_open(const unsigned long *args)
{
	if (exit_opens & FS_OPEN_LEGACY)
		return stash_open((const void *)args[0], args[1], FS_NR_open);
	return emit_open((const void *)args[0], args[1], 0, FS_SRC_SYSCALL);
}

FS_INLINE int h_creat(const unsigned long *args)
{
	if (exit_opens & FS_OPEN_CREAT)
		return stash_open((const void *)args[0], O_CREAT | O_WRONLY | O_TRUNC, FS_NR_creat);
	return emit_open((const void *)args[0], O_CREAT | O_WRONLY | O_TRUNC, 0, FS_SRC_SYSCALL);
}

/* One program for the four exits; user space attaches it to each. */
SEC("tracepoint")
int sys_exit_open_any(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret, 0);
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

#define ENV_MATCH(c, name, field, bit) \
	do { \
		if (starts_with((c)->s->str, name, sizeof(name) - 1)) { \
			bpf_probe_read_kernel_str((c)->s->origin.field, sizeof((c)->s->origin.field), \
						  (c)->s->str + sizeof(name) - 1); \
			(c)->found |= (bit); \
			return 0; \
		} \
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
static __always_inline struct fs_mark *mark_exec(struct task_struct *task, __u32 tgid, struct scratch *sc, __u32 env)
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
	__builtin_memset(&e->dst, 0, sizeof(e->dst));
	if (read_sockaddr(&e->dst, uaddr, alen) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->proto = proto_hint ? proto_hint : sock_proto(fd_socket(fd));
	if (flood_guard(slot, FS_EV_CONNECT, hash_addr(&e->dst, e->proto))) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	fill_hdr_current(&e->h, FS_EV_CONNECT, slot);
	e->h.source = src;
	submit(e, slot);
	return 0;
}

FS_INLINE int h_connect(const unsigned long *args)
{
	return emit_connect((int)args[0], (const void *)args[1], (__u32)args[2], FS_SRC_SYSCALL, 0);
}

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

/* ---- network: every send path ------------------------------------------
 *
 * sendto, sendmsg, sendmmsg (the first FS_MMSG_MAX messages), write and
 * writev on sockets, and io_uring's SEND, SENDMSG, their zero-copy forms,
 * WRITE and WRITEV all come to do_send(). It gathers the first
 * FS_PAYLOAD_LEN bytes of the buffers (up to FS_IOV_MAX iovecs) into a
 * per-CPU scratch buffer, joins the first FS_REASM_PARTS writes of a TCP
 * socket that begin a TLS record or a DNS length prefix, and looks at the
 * result whatever the port: a DNS query (UDP, or TCP with its 2-byte length
 * prefix) or a TLS ClientHello goes to user space to be parsed.
 * A destination given with the send is a connection attempt of its own:
 * a UDP datagram's, and a TCP sendto(MSG_FASTOPEN) (a connect and its first
 * data in one call).
 */

#define MSG_FASTOPEN 0x20000000
#define REASM_TTL_NS 5000000000ULL

struct send_args {
	const void *buf;         /* one buffer, or */
	const struct iovec *vec; /* an iovec array (when set) */
	__u64 len;               /* bytes of buf, or iovecs of vec */
	const void *uaddr;       /* destination given with the send */
	__u32 alen;
	__u32 addr_kernel; /* uaddr is kernel memory (io_uring copied it) */
	__u32 flags;       /* MSG_* */
	__u32 src;         /* enum fs_source of a connect it implies */
	int fd;
};

/* The gathered payload; its layout is also the value of `reasm`. Twice
 * the payload size, so that an offset below FS_PAYLOAD_LEN plus a length
 * of at most FS_PAYLOAD_LEN stays inside it for the verifier. */
struct send_buf {
	__u32 len;
	__u32 parts;
	__u64 ts;
	struct fs_addr dst; /* scratch only: off the BPF stack */
	__u8 buf[2 * FS_PAYLOAD_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct send_buf);
} send_scratch SEC(".maps");

/* struct sock * -> the first writes of a TCP connection that began a TLS
 * record or a DNS length prefix and did not hold all of it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, __u64);
	__type(value, struct send_buf);
} reasm SEC(".maps");

static __noinline int read_sockaddr_any(struct fs_addr *a, const void *ptr, __u32 alen, int kernel)
{
	struct sockaddr_in6 sin6 = {};
	__u16 family;

	if (!ptr || alen < 2)
		return -1;
	if (!kernel)
		return read_sockaddr(a, ptr, alen);
	if (bpf_probe_read_kernel(&sin6, sizeof(sin6), ptr) < 0)
		return -1;
	family = sin6.sin6_family;
	a->family = family;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sin6;
		a->port = bpf_ntohs(sin->sin_port);
		__builtin_memcpy(a->addr, &sin->sin_addr, 4);
		a->len = 4;
		return 0;
	}
	if (family == AF_INET6) {
		a->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(a->addr, &sin6.sin6_addr, 16);
		a->len = 16;
		return 0;
	}
	return -1;
}

/* A connection attempt implied by a send: its destination is known. */
static __noinline void emit_dst_connect(int slot, const struct fs_addr *dst, __u32 proto, __u32 src)
{
	struct fs_connect *e;

	if (flood_guard(slot, FS_EV_CONNECT, hash_addr(dst, proto)))
		return;
	e = RESERVE(struct fs_connect, slot);
	if (!e)
		return;
	fill_hdr_current(&e->h, FS_EV_CONNECT, slot);
	e->h.source = src;
	e->proto = proto;
	e->pad = 0;
	__builtin_memcpy(&e->dst, dst, sizeof(*dst));
	submit(e, slot);
}

struct gather_ctx {
	const struct iovec *vec;
	__u64 vlen;
	struct send_buf *s;
};

static long gather_step(__u32 i, void *data)
{
	struct gather_ctx *g = data;
	struct send_buf *s = g->s;
	struct iovec iov = {};
	__u32 off;
	__u64 n;

	if (i >= g->vlen)
		return 1;
	off = s->len;
	if (off >= FS_PAYLOAD_LEN)
		return 1;
	if (bpf_probe_read_user(&iov, sizeof(iov), &g->vec[i]) < 0)
		return 1;
	n = iov.iov_len;
	if (n > FS_PAYLOAD_LEN - off)
		n = FS_PAYLOAD_LEN - off;
	BARRIER_VAR(n);
	if (n > FS_PAYLOAD_LEN)
		return 1;
	if (bpf_probe_read_user(&s->buf[off], n, iov.iov_base) < 0)
		return 1;
	s->len = off + n;
	return 0;
}

/* The first FS_PAYLOAD_LEN bytes a send carries, into s->buf. */
static __always_inline __u32 gather(const struct send_args *a, struct send_buf *s)
{
	s->len = 0;
	if (!a->vec) {
		__u64 n = a->len;
		if (n > FS_PAYLOAD_LEN)
			n = FS_PAYLOAD_LEN;
		BARRIER_VAR(n);
		if (n > FS_PAYLOAD_LEN)
			return 0;
		if (!a->buf || bpf_probe_read_user(s->buf, n, a->buf) < 0)
			return 0;
		s->len = n;
	} else {
		struct gather_ctx g = {.vec = a->vec, .vlen = a->len, .s = s};
		bpf_loop(FS_IOV_MAX, gather_step, &g, 0);
	}
	return s->len;
}

/* Joins this write to the earlier ones of the same TCP connection.
 * Returns 1 when s->buf holds something to look at, 0 to wait. */
static __always_inline int reassemble(struct sock *sk, struct send_buf *s)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct send_buf *r = bpf_map_lookup_elem(&reasm, &key);
	__u32 off, n;

	if (r && now - r->ts > REASM_TTL_NS) { /* a closed socket's, at a reused address */
		bpf_map_delete_elem(&reasm, &key);
		r = 0;
	}
	s->parts = 0;
	if (!r) {
		if (!fs_partial_start(s->buf, s->len))
			return 1;
		s->parts = 1;
		s->ts = now;
		bpf_map_update_elem(&reasm, &key, s, BPF_ANY);
		return 0;
	}
	off = r->len;
	n = s->len;
	if (off >= FS_PAYLOAD_LEN)
		off = FS_PAYLOAD_LEN - 1;
	if (n > FS_PAYLOAD_LEN - off)
		n = FS_PAYLOAD_LEN - off;
	BARRIER_VAR(n);
	if (n > FS_PAYLOAD_LEN)
		n = 0;
	if (bpf_probe_read_kernel(&r->buf[off], n, s->buf) == 0)
		r->len = off + n;
	r->parts++;
	/* a write that is a ClientHello of its own ends the wait: what came
	 * before it may be a decoy announcing a record that never comes */
	if (!fs_complete(r->buf, r->len) && r->parts < FS_REASM_PARTS && !fs_tls_hello(s->buf, s->len))
		return 0;
	if (bpf_probe_read_kernel(s->buf, FS_PAYLOAD_LEN, r->buf) < 0)
		return 0;
	s->len = r->len;
	s->parts = r->parts;
	bpf_map_delete_elem(&reasm, &key);
	return 1;
}

static __noinline int do_send(struct send_args *a)
{
	int slot = run_slot();
	struct fs_payload *e;
	struct send_buf *s;
	struct fs_addr *dst;
	struct socket *sock;
	struct sock *sk;
	__u32 proto, what, len, zero = 0;
	__u16 family;
	int explicit = 0;

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
	s = bpf_map_lookup_elem(&send_scratch, &zero);
	if (!s)
		return 0;
	dst = &s->dst;
	__builtin_memset(dst, 0, sizeof(*dst));
	if (a->uaddr && a->alen && read_sockaddr_any(dst, a->uaddr, a->alen, a->addr_kernel) == 0 &&
	    (dst->family == AF_INET || dst->family == AF_INET6)) {
		explicit = 1;
		if (proto == FS_PROTO_UDP)
			emit_dst_connect(slot, dst, FS_PROTO_UDP, a->src);
		else if (a->flags & MSG_FASTOPEN)
			emit_dst_connect(slot, dst, FS_PROTO_TCP, a->src == FS_SRC_SEND ? FS_SRC_FASTOPEN : a->src);
	}
	if (!explicit) {
		__builtin_memset(dst, 0, sizeof(*dst));
		sk_peer(sk, family, dst);
	}
	if (!gather(a, s))
		return 0;
	if (proto == FS_PROTO_TCP && !reassemble(sk, s))
		return 0;
	len = s->len;
	if (len > FS_PAYLOAD_LEN)
		return 0;
	what = fs_classify(s->buf, len, proto, dst->port);
	/* joined writes that began like a TLS record and do not read as one:
	 * a decoy header before the real one; user space looks further in */
	if (!what && s->parts > 1 && s->buf[0] == 0x16)
		what = FS_PL_TLS;
	if (!what)
		return 0;
	if (flood_guard(slot, FS_EV_PAYLOAD, hash_bytes(s->buf, len) ^ hash_addr(dst, proto)))
		return 0;
	e = RESERVE(struct fs_payload, slot);
	if (!e)
		return 0;
	fill_hdr_current(&e->h, FS_EV_PAYLOAD, slot);
	e->h.source = a->src == FS_SRC_IO_URING ? FS_SRC_IO_URING : FS_SRC_SYSCALL;
	e->proto = proto;
	e->what = what;
	e->pad = 0;
	if (bpf_probe_read_kernel(&e->dst, sizeof(e->dst), dst) < 0)
		__builtin_memset(&e->dst, 0, sizeof(e->dst));
	if (bpf_probe_read_kernel(e->data, FS_PAYLOAD_LEN, s->buf) < 0)
		len = 0;
	e->len = len;
	submit(e, slot);
	return 0;
}

static __always_inline int send_buf(int fd, const void *buf, __u64 len, const void *uaddr, __u32 alen, __u32 flags)
{
	struct send_args a = {};
	a.fd = fd;
	a.buf = buf;
	a.len = len;
	a.uaddr = uaddr;
	a.alen = alen;
	a.flags = flags;
	a.src = FS_SRC_SEND;
	return do_send(&a);
}

FS_INLINE int h_sendto(const unsigned long *args)
{
	return send_buf((int)args[0], (const void *)args[1], args[2], (const void *)args[4], (__u32)args[5],
			(__u32)args[3]);
}

static __always_inline int send_iov(int fd, const struct iovec *vec, __u64 vlen, const void *uaddr, __u32 alen,
				    __u32 flags, __u32 src)
{
	struct send_args a = {};

	a.fd = fd;
	a.vec = vec;
	a.len = vlen;
	a.uaddr = uaddr;
	a.alen = alen;
	a.flags = flags;
	a.src = src;
	return do_send(&a);
}

static __always_inline int send_msghdr(int fd, const struct user_msghdr *um, __u32 flags, __u32 src)
{
	struct user_msghdr m = {};

	if (bpf_probe_read_user(&m, sizeof(m), um) < 0)
		return 0;
	if (!m.msg_iov)
		return 0;
	return send_iov(fd, m.msg_iov, m.msg_iovlen, m.msg_name, m.msg_namelen, flags, src);
}

FS_INLINE int h_sendmsg(const unsigned long *args)
{
	return send_msghdr((int)args[0], (const struct user_msghdr *)args[1], (__u32)args[2], FS_SRC_SEND);
}

struct mmsg_ctx {
	const struct mmsghdr *v;
	__u32 vlen;
	__u32 flags;
	int fd;
};

static long mmsg_step(__u32 i, void *data)
{
	struct mmsg_ctx *c = data;

	if (i >= c->vlen)
		return 1;
	send_msghdr(c->fd, (const struct user_msghdr *)&c->v[i].msg_hdr, c->flags, FS_SRC_SEND);
	return 0;
}

/* Resolvers send the A and AAAA queries together; a payload may hide
 * behind many harmless messages: the first FS_MMSG_MAX are looked at. */
FS_INLINE int h_sendmmsg(const unsigned long *args)
{
	struct mmsg_ctx c = {
		.v = (const struct mmsghdr *)args[1],
		.vlen = (__u32)args[2],
		.flags = (__u32)args[3],
		.fd = (int)args[0],
	};

	if (run_slot() < 0)
		return 0;
	bpf_loop(FS_MMSG_MAX, mmsg_step, &c, 0);
	return 0;
}

FS_INLINE int h_write(const unsigned long *args)
{
	return send_buf((int)args[0], (const void *)args[1], args[2], 0, 0, 0);
}

FS_INLINE int h_writev(const unsigned long *args)
{
	return send_iov((int)args[0], (const struct iovec *)args[1], args[2], 0, 0, 0, FS_SRC_SEND);
}

/* io_uring's sends, after their preparation (see io_uring_submit_req). */
static __noinline int io_uring_send(struct io_kiocb *req, __u8 op)
{
	struct send_args a = {};

	if (BPF_CORE_READ(req, flags) & REQ_F_FIXED_FILE) /* an index, not an fd */
		return 0;
	a.fd = BPF_CORE_READ(req, cqe.fd);
	a.src = FS_SRC_IO_URING;
	if (op == IORING_OP_SEND || op == IORING_OP_SEND_ZC || op == IORING_OP_SENDMSG || op == IORING_OP_SENDMSG_ZC) {
		struct io_sr_msg *sr = (struct io_sr_msg *)__builtin_preserve_access_index(&req->cmd);
		a.flags = BPF_CORE_READ(sr, msg_flags);
		if (op == IORING_OP_SENDMSG || op == IORING_OP_SENDMSG_ZC) {
			struct user_msghdr m = {};
			if (bpf_probe_read_user(&m, sizeof(m), BPF_CORE_READ(sr, umsg)) < 0 || !m.msg_iov)
				return 0;
			a.vec = m.msg_iov;
			a.len = m.msg_iovlen;
			a.uaddr = m.msg_name;
			a.alen = m.msg_namelen;
		} else {
			struct io_async_msghdr *km = BPF_CORE_READ(req, async_data);
			a.buf = BPF_CORE_READ(sr, buf);
			a.len = (__u32)BPF_CORE_READ(sr, len);
			if (km) {
				/* the destination of a send with an address (sqe->addr2) was copied in */
				a.uaddr = BPF_CORE_READ(km, msg.msg_name);
				a.alen = BPF_CORE_READ(km, msg.msg_namelen);
				a.addr_kernel = 1;
			}
		}
		return do_send(&a);
	}
	if (op == IORING_OP_WRITE || op == IORING_OP_WRITEV) {
		struct io_rw *rw = (struct io_rw *)__builtin_preserve_access_index(&req->cmd);
		__u64 addr = BPF_CORE_READ(rw, addr);
		if (op == IORING_OP_WRITE)
			a.buf = (const void *)addr;
		else
			a.vec = (const struct iovec *)addr;
		a.len = BPF_CORE_READ(rw, len);
		return do_send(&a);
	}
	return 0;
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

/* The task that submitted an io_uring request: req->tctx->task in newer
 * kernels, req->task in older ones (Linux 6.1). Both flavours compile
 * against any architecture's vmlinux.h; libbpf relocates to the one the
 * running kernel has. */
struct io_uring_task___tctx {
	struct task_struct *task;
} __attribute__((preserve_access_index));
struct io_kiocb___tctx {
	struct io_uring_task___tctx *tctx;
} __attribute__((preserve_access_index));
struct io_kiocb___task {
	struct task_struct *task;
} __attribute__((preserve_access_index));

static __always_inline struct task_struct *io_req_task(void *req)
{
	struct io_kiocb___tctx *n = req;
	struct io_kiocb___task *o = req;

	if (bpf_core_field_exists(n->tctx))
		return BPF_CORE_READ(n, tctx, task);
	return BPF_CORE_READ(o, task);
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
	task = io_req_task(req);
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
	/* repeats of one open: the file's identity when there is one, else
	 * the path written (a failed open) */
	if (flood_guard(slot, FS_EV_OPEN,
			(e->ino ? e->ino ^ (e->dev << 40) : hash_str(e->path, FS_PATH_LEN)) ^ e->flags ^
				((__u64)(res < 0) << 63)))
		return 0;
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
	return io_uring_send(req, op);
}

/* ---- TLS libraries ------------------------------------------------------ */

SEC("uprobe")
int BPF_KPROBE(ssl_ctrl, void *ssl, int cmd, long larg, const char *parg)
{
	struct fs_sni *e;
	long n;
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
	n = bpf_probe_read_user_str(e->name, sizeof(e->name), parg);
	if (n <= 0 || flood_guard(slot, FS_EV_SNI, hash_str(e->name, n))) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	submit(e, slot);
	return 0;
}

/* ---- privileged and cross-process operations ----------------------------
 *
 * Nothing an install needs: tracing another process, mounting, entering or
 * making namespaces, signalling a process outside the caller's own tree,
 * loading kernel modules or BPF programs, opening perf events. Each is a
 * FS_EV_SYSOP at syscall entry (an attempt is what matters, allowed or
 * not), except signals: those are seen where the kernel generates them
 * (signal_generate), which names the target task whatever pid namespace
 * the caller lives in.
 */

#define CLONE_NEW_ANY \
	(0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | \
	 0x40000000)  /* TIME NS CGROUP UTS IPC USER PID NET */
#define SI_USER_MAX 0 /* si_code of signals sent by a process: SI_USER (0) and below */

static __always_inline struct fs_sysop *sysop_begin(int *slotp, __u32 op)
{
	int slot = run_slot();
	struct fs_sysop *e;

	*slotp = slot;
	if (slot < 0)
		return 0;
	e = RESERVE(struct fs_sysop, slot);
	if (!e)
		return 0;
	e->op = op;
	e->target = 0;
	e->arg = 0;
	e->arg2 = 0;
	e->target_comm[0] = 0;
	e->str[0] = 0;
	e->str2[0] = 0;
	return e;
}

/* Emits `e` unless it repeats (n_str: bytes read into str, 0 if none). */
static __always_inline int sysop_end(int slot, struct fs_sysop *e, long n_str)
{
	__u64 h = mix(mix(mix(FNV_OFFSET, e->op), e->arg), (__u32)e->target);

	if (n_str < 0)
		n_str = 0;
	h ^= hash_str(e->str, n_str);
	if (flood_guard(slot, FS_EV_SYSOP, h)) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	fill_hdr_current(&e->h, FS_EV_SYSOP, slot);
	submit(e, slot);
	return 0;
}

FS_INLINE int h_ptrace(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_PTRACE);

	if (!e)
		return 0;
	e->arg = args[0];
	e->target = (__s32)args[1];
	return sysop_end(slot, e, 0);
}

FS_INLINE int h_mount(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_MOUNT);
	long n;

	if (!e)
		return 0;
	n = bpf_probe_read_user_str(e->str, sizeof(e->str), (const void *)args[1]);
	if (args[2] && bpf_probe_read_user_str(e->str2, sizeof(e->str2), (const void *)args[2]) < 0)
		e->str2[0] = 0;
	e->arg = args[3];
	return sysop_end(slot, e, n);
}

FS_INLINE int h_umount(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_UMOUNT);
	long n;

	if (!e)
		return 0;
	n = bpf_probe_read_user_str(e->str, sizeof(e->str), (const void *)args[0]);
	e->arg = args[1];
	return sysop_end(slot, e, n);
}

FS_INLINE int h_fsopen(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_FSOPEN);

	if (!e)
		return 0;
	if (bpf_probe_read_user_str(e->str2, sizeof(e->str2), (const void *)args[0]) < 0)
		e->str2[0] = 0;
	e->arg = args[1];
	return sysop_end(slot, e, 0);
}

FS_INLINE int h_fsmount(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_FSMOUNT);

	if (!e)
		return 0;
	e->arg = args[1];
	return sysop_end(slot, e, 0);
}

FS_INLINE int h_move_mount(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_MOVE_MOUNT);
	long n;

	if (!e)
		return 0;
	n = bpf_probe_read_user_str(e->str, sizeof(e->str), (const void *)args[3]);
	e->arg = args[4];
	return sysop_end(slot, e, n);
}

FS_INLINE int h_open_tree(const unsigned long *args)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, FS_OP_OPEN_TREE);
	long n;

	if (!e)
		return 0;
	n = bpf_probe_read_user_str(e->str, sizeof(e->str), (const void *)args[1]);
	e->arg = args[2];
	return sysop_end(slot, e, n);
}

static __always_inline int ns_op(__u32 op, __u64 flags, int always)
{
	int slot;
	struct fs_sysop *e;

	if (!always && !(flags & CLONE_NEW_ANY))
		return 0;
	e = sysop_begin(&slot, op);
	if (!e)
		return 0;
	e->arg = always ? flags : flags & CLONE_NEW_ANY;
	return sysop_end(slot, e, 0);
}

FS_INLINE int h_unshare(const unsigned long *args)
{
	return ns_op(FS_OP_UNSHARE, args[0], 0);
}

FS_INLINE int h_setns(const unsigned long *args)
{
	return ns_op(FS_OP_SETNS, args[1], 1);
}

FS_INLINE int h_clone(const unsigned long *args)
{
	return ns_op(FS_OP_CLONE, args[0], 0);
}

FS_INLINE int h_clone3(const unsigned long *args)
{
	__u64 flags = 0;

	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)args[0]) < 0)
		return 0;
	return ns_op(FS_OP_CLONE, flags, 0);
}

static __always_inline int simple_op(__u32 op, __u64 arg, __s32 target)
{
	int slot;
	struct fs_sysop *e = sysop_begin(&slot, op);

	if (!e)
		return 0;
	e->arg = arg;
	e->target = target;
	return sysop_end(slot, e, 0);
}

FS_INLINE int h_init_module(const unsigned long *args)
{
	return simple_op(FS_OP_INIT_MODULE, args[1], 0);
}

FS_INLINE int h_finit_module(const unsigned long *args)
{
	return simple_op(FS_OP_FINIT_MODULE, args[2], 0);
}

/* Kernels built without modules have no tracepoints for their syscalls,
 * which still exist (and fail): an attempt is seen through raw_syscalls,
 * attached only then (it runs for every system call on the host, and
 * returns after one comparison for all but these two). */

SEC("tracepoint/raw_syscalls/sys_enter")
int raw_enter_modules(struct trace_event_raw_sys_enter *ctx)
{
	long id = ctx->id;

	if (id == FS_NR_init_module)
		return simple_op(FS_OP_INIT_MODULE, ctx->args[1], 0);
	if (id == FS_NR_finit_module)
		return simple_op(FS_OP_FINIT_MODULE, ctx->args[2], 0);
	return 0;
}

FS_INLINE int h_bpf(const unsigned long *args)
{
	return simple_op(FS_OP_BPF, args[0], 0);
}

FS_INLINE int h_perf_event_open(const unsigned long *args)
{
	__u32 type = 0;

	bpf_probe_read_user(&type, sizeof(type), (const void *)args[0]);
	return simple_op(FS_OP_PERF_EVENT_OPEN, type, (__s32)args[1]);
}

/* Whether `t` is the run slot's: its cgroup or one of its first ancestors
 * is watched as that slot. */
static __always_inline int task_in_slot(struct task_struct *t, int slot)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);

#pragma unroll
	for (int i = 0; i < 8; i++) {
		__u64 id;
		__u32 *s;
		if (!cg)
			return 0;
		id = BPF_CORE_READ(cg, kn, id);
		s = bpf_map_lookup_elem(&watched, &id);
		if (s)
			return *s == (__u32)slot;
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
	}
	return 0;
}

SEC("raw_tp/signal_generate")
int signal_generate(struct bpf_raw_tracepoint_args *ctx)
{
	int sig = (int)ctx->args[0];
	struct kernel_siginfo *info = (struct kernel_siginfo *)ctx->args[1];
	struct task_struct *target = (struct task_struct *)ctx->args[2];
	__u32 self = bpf_get_current_pid_tgid() >> 32, ttgid;
	struct task_struct *t = target;
	struct fs_sysop *e;
	int slot;

	/* SEND_SIG_NOINFO and SEND_SIG_PRIV are the kernel's own */
	if ((unsigned long)info <= 1 || BPF_CORE_READ(info, si_code) > SI_USER_MAX)
		return 0;
	ttgid = BPF_CORE_READ(target, tgid);
	if (ttgid == self)
		return 0;
	/* the caller's own tree: its descendants */
#pragma unroll
	for (int i = 0; i < 8; i++) {
		t = BPF_CORE_READ(t, real_parent);
		if (!t)
			break;
		if (BPF_CORE_READ(t, tgid) == self)
			return 0;
	}
	e = sysop_begin(&slot, FS_OP_KILL);
	if (!e)
		return 0;
	e->arg = sig;
	e->target = ttgid;
	e->arg2 = task_in_slot(target, slot);
	BPF_CORE_READ_STR_INTO(&e->target_comm, target, comm);
	return sysop_end(slot, e, 0);
}

/* ---- system calls: per-syscall tracepoints, or one raw_tp dispatching --
 *
 * Each system call above has one handler, h_<name>(args), and two ways in:
 *
 * - tracepoint/syscalls/sys_enter_<name>: one tracepoint per call, one
 *   perf event and link each (the fallback: detaching one waits for an RCU
 *   grace period, and a sensor has some thirty of them);
 * - raw_tp/sys_enter (raw_syscalls), attached once, tail-calling
 *   rt_<name> through sys_enter_calls, a program array indexed by the
 *   call's number (filled by user space with the requested handlers only):
 *   a call nobody handles costs a bounds check and a missing slot, and each
 *   handler asks the cgroup filter first, before reading an argument.
 *   The arguments are read from the caller's pt_regs (CO-RE).
 *
 * The open calls' exits come to raw_tp/sys_exit the same way (open_exit
 * checks that the exiting call is the stashed open's).
 */

#define FS_SYSCALL_SLOTS 1024

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, FS_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} sys_enter_calls SEC(".maps");

#if defined(__TARGET_ARCH_x86)
#define FS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct pt_regs *)(x), r9)
#elif defined(__TARGET_ARCH_arm64)
#define FS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct user_pt_regs *)(x), regs[5])
#elif defined(__TARGET_ARCH_riscv)
#define FS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct pt_regs *)(x), a5)
#else
#error "sensor.bpf.c: no syscall register layout for this architecture"
#endif

/* A 32-bit (compat) system call: its numbers are another table's. The
 * syscall tracepoints ignore those calls too (ftrace skips compat calls on
 * x86), so both modes see the same. */
static __always_inline int compat_syscall(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = bpf_get_current_task_btf();
	return (t->thread_info.status & 0x0002 /* TS_COMPAT */) != 0;
#else
	return 0;
#endif
}

static __always_inline int regs_args(struct bpf_raw_tracepoint_args *ctx, unsigned long *a)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	if (run_slot() < 0 || compat_syscall())
		return -1;
	a[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	a[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	a[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	a[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	a[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
	a[5] = FS_PARM6_CORE_SYSCALL(regs);
	return 0;
}

/* The tracepoint's arguments are copied out first: the handlers index
 * them, and the verifier refuses loads through a moved context pointer. */
#define SYSCALL_ENTER(name) \
	SEC("tracepoint/syscalls/sys_enter_" #name) \
	int sys_enter_##name(struct trace_event_raw_sys_enter *ctx) \
	{ \
		unsigned long a[6] = {ctx->args[0], ctx->args[1], ctx->args[2], \
				      ctx->args[3], ctx->args[4], ctx->args[5]}; \
		return h_##name(a); \
	} \
	SEC("raw_tp") \
	int rt_##name(struct bpf_raw_tracepoint_args *ctx) \
	{ \
		unsigned long a[6]; \
		if (regs_args(ctx, a)) \
			return 0; \
		return h_##name(a); \
	}

SYSCALL_ENTER(openat)
SYSCALL_ENTER(openat2)
SYSCALL_ENTER(open)
SYSCALL_ENTER(creat)
SYSCALL_ENTER(connect)
SYSCALL_ENTER(sendto)
SYSCALL_ENTER(sendmsg)
SYSCALL_ENTER(sendmmsg)
SYSCALL_ENTER(write)
SYSCALL_ENTER(writev)
SYSCALL_ENTER(ptrace)
SYSCALL_ENTER(mount)
SYSCALL_ENTER(umount)
SYSCALL_ENTER(fsopen)
SYSCALL_ENTER(fsmount)
SYSCALL_ENTER(move_mount)
SYSCALL_ENTER(open_tree)
SYSCALL_ENTER(unshare)
SYSCALL_ENTER(setns)
SYSCALL_ENTER(clone)
SYSCALL_ENTER(clone3)
SYSCALL_ENTER(init_module)
SYSCALL_ENTER(finit_module)
SYSCALL_ENTER(bpf)
SYSCALL_ENTER(perf_event_open)

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	bpf_tail_call(ctx, &sys_enter_calls, (__u32)ctx->args[1]);
	return 0;
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	if (!stash_count)
		return 0;
	return open_exit(ctx->args[1], (const void *)ctx->args[0]);
}
