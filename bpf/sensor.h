/*
 * bpf/sensor.h - the records the kernel side writes into the ring buffer and
 * the map values both sides read. Plain fixed-size fields only: this file is
 * compiled by clang for BPF (types from vmlinux.h) and by the host compiler
 * (types from <linux/types.h>), and both must agree on every offset.
 */
#ifndef FANGS_BPF_SENSOR_H
#define FANGS_BPF_SENSOR_H

#define FS_COMM_LEN 16
#define FS_PATH_LEN 256
#define FS_ARGS_LEN 4096 /* raw argv block: NUL-separated, split in user space */
#define FS_ANCESTRY 5
#define FS_PAYLOAD_LEN 1024 /* power of two: used as a mask */
#define FS_ADDR_LEN 108     /* sun_path; large enough for an IPv6 address too */
#define FS_MAX_RUNS 64
#define FS_MAX_LEVEL 32
#define FS_ENV_STR 256 /* longest environment string looked at */

#define FS_PKG_LEN 128
#define FS_VER_LEN 64
#define FS_SCRIPT_LEN 64
#define FS_CMD_LEN 256

/* The opened file's real path, resolved in the kernel: components leaf
 * first, each ending with a NUL (user space puts them in order). */
#define FS_RPATH_LEN 4096  /* power of two: used as a mask */
#define FS_NAME_MAX 256    /* longest component read (NAME_MAX + NUL) */
#define FS_RPATH_DEPTH 256 /* components walked at most */

/* fs_open.real_flags */
#define FS_RP_RESOLVED 1u /* the open succeeded and its file was found */
#define FS_RP_ROOT 2u     /* the walk reached the caller's root: the path is whole */
#define FS_RP_TRUNC 4u    /* out of room or depth: the leading part is missing */

/* exit_opens bits: the open syscalls reported at their exit */
#define FS_OPEN_AT 1u
#define FS_OPEN_AT2 2u
#define FS_OPEN_LEGACY 4u
#define FS_OPEN_CREAT 8u

/* fs_exec.env_state: what the new image's environment says of the package,
 * beside the name npm gave it when the script started */
#define FS_ENV_NONE 0u  /* no npm_package_name */
#define FS_ENV_SAME 1u  /* the name npm gave */
#define FS_ENV_OTHER 2u /* another name (env_pkg, maybe empty) */

enum fs_kind {
	FS_EV_OPEN = 1,
	FS_EV_EXEC = 2,
	FS_EV_CONNECT = 3,
	FS_EV_PAYLOAD = 4,
	FS_EV_SNI = 5,
	FS_EV_FORK = 6,
	FS_EV_EXIT = 7,
	FS_EV_SYSOP = 8, /* struct fs_sysop: a privileged or cross-process syscall */
};

/* What a FS_EV_PAYLOAD carries, so user space knows how to parse it. */
enum fs_payload_kind {
	FS_PL_DNS = 1,     /* a DNS message as sent on UDP */
	FS_PL_DNS_TCP = 2, /* a DNS message with its 2-byte TCP length prefix */
	FS_PL_TLS = 3,     /* the start of a TLS record holding a ClientHello */
};

/* Where an open or connect was seen (for diagnostics and tests). */
enum fs_source {
	FS_SRC_SYSCALL = 0,
	FS_SRC_IO_URING = 1,
	FS_SRC_SEND = 2,     /* a UDP datagram sent with an explicit destination */
	FS_SRC_FASTOPEN = 3, /* a TCP sendto(MSG_FASTOPEN) with a destination: a connect */
};

enum fs_proto {
	FS_PROTO_NONE = 0,
	FS_PROTO_TCP = 1,
	FS_PROTO_UDP = 2,
};

struct fs_hdr {
	__u32 kind;
	__u32 run; /* slot of the watched cgroup */
	__u32 pid; /* thread-group id */
	__u32 tid;
	__u32 uid;
	__u32 n_anc;
	__u64 ts;               /* bpf_ktime_get_ns() */
	__u32 anc[FS_ANCESTRY]; /* parent first */
	__u32 source;
	char comm[FS_COMM_LEN];
};

struct fs_origin {
	char pkg[FS_PKG_LEN];
	char ver[FS_VER_LEN];
	char script[FS_SCRIPT_LEN];
	char cmd[FS_CMD_LEN];
};

/* The process table (LRU hash keyed by tgid), inherited at fork. */
struct fs_proc {
	__u32 has_origin;
	__u32 pad;
	char exe[FS_PATH_LEN];
	struct fs_origin origin;
};

struct fs_addr {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX */
	__u16 port;   /* host order */
	__u32 len;    /* bytes of addr used (sun_path length for AF_UNIX) */
	__u8 addr[FS_ADDR_LEN];
};

struct fs_open {
	struct fs_hdr h;
	__u64 flags; /* open(2) flags as passed */
	char path[FS_PATH_LEN];
	/* file identity, filled at syscall exit (FS_RP_RESOLVED) */
	__u64 ino;
	__u64 dev; /* the kernel's dev_t: major << 20 | minor */
	__s64 ret; /* the open's result: an fd or -errno */
	__u32 real_flags;
	__u32 real_len; /* bytes of real used; the record ends there */
	char real[FS_RPATH_LEN + FS_NAME_MAX];
};

struct fs_exec {
	struct fs_hdr h;
	__u32 args_len;
	__u32 has_origin;
	char path[FS_PATH_LEN];
	struct fs_origin origin;
	char args[FS_ARGS_LEN];
	/* the environment's claim, checked against the kernel's mark (origin) */
	__u32 env_state;
	__u32 pad2;
	char env_pkg[FS_PKG_LEN];
};

struct fs_connect {
	struct fs_hdr h;
	__u32 proto;
	__u32 pad;
	struct fs_addr dst;
};

struct fs_payload {
	struct fs_hdr h;
	__u32 proto;
	__u32 what; /* enum fs_payload_kind */
	__u32 len;  /* bytes of data copied */
	__u32 pad;
	struct fs_addr dst;
	__u8 data[FS_PAYLOAD_LEN];
};

struct fs_sni {
	struct fs_hdr h;
	char name[FS_PATH_LEN];
};

struct fs_fork {
	struct fs_hdr h; /* h.pid is the child, h.anc[0] its parent */
};

struct fs_exit {
	struct fs_hdr h;
	__s32 exit_code; /* status for a normal exit, 128+signal when killed */
	__u32 pad;
};

struct fs_stats {
	__u64 emitted;
	__u64 dropped; /* lost: the ring buffer was full */
	__u64 folded;  /* repeats of an identical event past FS_REPEAT_KEEP, counted only */
	__u64 capped;  /* lost: the run's event budget was spent */
};

/* ---- network send paths, privileged operations, flood bounds ---------- */

#define FS_IOV_MAX 8     /* iovecs of one send gathered for a payload */
#define FS_MMSG_MAX 16   /* messages of one sendmmsg looked at */
#define FS_REASM_PARTS 4 /* writes of one TCP socket joined to find a ClientHello */
#define FS_REPEAT_KEEP 8 /* identical events per process kept before folding */
#define FS_STR2_LEN 64

/* What a FS_EV_SYSOP is. */
enum fs_op {
	FS_OP_PTRACE = 1,     /* arg = request, target = pid as the caller names it */
	FS_OP_MOUNT = 2,      /* str = target dir, str2 = fs type, arg = flags */
	FS_OP_UMOUNT = 3,     /* str = target, arg = flags */
	FS_OP_FSOPEN = 4,     /* str2 = fs type */
	FS_OP_FSMOUNT = 5,    /* arg = flags */
	FS_OP_MOVE_MOUNT = 6, /* str = destination */
	FS_OP_OPEN_TREE = 7,  /* str = path, arg = flags */
	FS_OP_UNSHARE = 8,    /* arg = CLONE_NEW* flags */
	FS_OP_SETNS = 9,      /* arg = nstype */
	FS_OP_CLONE = 10,     /* arg = CLONE_NEW* flags (clone, clone3) */
	FS_OP_KILL = 11,      /* arg = signal, target = host tgid, arg2 = 1 when the target is in the run */
	FS_OP_INIT_MODULE = 12,
	FS_OP_FINIT_MODULE = 13,
	FS_OP_BPF = 14,             /* arg = command */
	FS_OP_PERF_EVENT_OPEN = 15, /* arg = perf type, target = pid */
};

struct fs_sysop {
	struct fs_hdr h;
	__u32 op;
	__s32 target;
	__u64 arg;
	__u64 arg2;
	char target_comm[FS_COMM_LEN];
	char str[FS_PATH_LEN];
	char str2[FS_STR2_LEN];
};

#endif
