/*
 * ns_child.c - the sandbox's init: builds the new root, drops every
 * privilege, starts the command, reaps orphans and reports the command's
 * exit. It runs between clone and exec in a copy of a possibly threaded
 * process, so it allocates nothing and reports errors through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/internal.h"
#include "sandbox/ns.h"

static const fangs__ns_child_args *args;

static void die(const char *what, int err) __attribute__((noreturn));
static void die(const char *what, int err)
{
	char msg[512];
	/* root inside is an unprivileged uid outside: it must reach what is mounted */
	int n = snprintf(msg, sizeof(msg), "sandbox setup: %s: %s%s", what, strerror(err),
			 err == EACCES ? " (the sandbox's uid must be able to reach it: are its parent "
					 "directories searchable by others?)"
				       : "");
	if (n > 0 && write(args->err_fd, msg, (size_t)n) < 0) {
		/* nobody to tell */
	}
	_exit(127);
}

static void path_in(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s%s", args->rootfs, rel);
}

static void set_attr(const char *path, uint64_t attrs, unsigned int flags)
{
	struct mount_attr a;
	memset(&a, 0, sizeof(a));
	a.attr_set = attrs;
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof(a)) < 0)
		die(path, errno);
}

/* Binds a host path; mount_setattr only adds flags, so the flags the host
 * locked on the source mount stay as they are. */
static void bind_host(const char *src, const char *rel, int writable)
{
	char dst[4096];
	path_in(dst, sizeof(dst), rel);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(src, errno);
	set_attr(dst, (writable ? 0 : MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, AT_RECURSIVE);
}

static void mkdir_in(const char *rel, mode_t mode)
{
	char p[4096];
	path_in(p, sizeof(p), rel);
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		die(p, errno);
}

static void touch_in(const char *rel)
{
	char p[4096];
	int fd;
	path_in(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die(p, errno);
	close(fd);
}

static void tmpfs_in(const char *rel, const char *data, unsigned long flags)
{
	char p[4096];
	path_in(p, sizeof(p), rel);
	if (mount("tmpfs", p, "tmpfs", flags, data) < 0)
		die(p, errno);
}

/* /bin, /lib... are directories on some systems and symlinks into /usr on others. */
static void system_dir(const char *dir)
{
	char target[4096], p[4096];
	struct stat st;
	ssize_t n;
	if (lstat(dir, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(dir, target, sizeof(target) - 1);
		if (n < 0)
			die(dir, errno);
		target[n] = '\0';
		path_in(p, sizeof(p), dir);
		if (symlink(target, p) < 0)
			die(p, errno);
	} else if (S_ISDIR(st.st_mode)) {
		mkdir_in(dir, 0755);
		bind_host(dir, dir, 0);
	}
}

/* ---- looking like a developer's machine -------------------------------------
 * A package that can tell it runs in a sandbox may keep quiet. These hide
 * what gave this one away: pid 1 being the scanner (its command line named
 * the database), a fixed host name, an uptime of seconds, a root of 1 MiB,
 * host paths of ours in the mount table, root as the user. */

/* Field `want` (1-based, as proc(5) counts) of /proc/self/stat as a number. */
static unsigned long stat_field(const char *stat, int want)
{
	const char *p = strrchr(stat, ')');
	int field = 2;
	if (!p)
		return 0;
	p++;
	while (*p && field < want) {
		while (*p == ' ')
			p++;
		if (++field == want)
			break;
		while (*p && *p != ' ')
			p++;
	}
	return strtoul(p, NULL, 10);
}

/* pid 1 is a copy of the scanner: its command line and environment would
 * show through /proc/1. Overwrite both in our copy of its memory: the
 * command line becomes args->title (the end byte left non-zero makes the
 * kernel read it up to its first NUL), the environment zeros; and the name. */
static void look_real_init(void)
{
	char stat[2048];
	unsigned long as, ae, es, ee;
	size_t tl = strlen(args->title);
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("/proc/self/stat", errno);
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		die("/proc/self/stat", EIO);
	stat[n] = '\0';
	as = stat_field(stat, 48);
	ae = stat_field(stat, 49);
	es = stat_field(stat, 50);
	ee = stat_field(stat, 51);
	if (es && ee > es)
		memset((void *)es, 0, ee - es);
	if (as && ae > as) {
		size_t len = ae - as;
		char *a = (char *)as;
		memset(a, 0, len);
		memcpy(a, args->title, tl < len - 1 ? tl : len - 1);
		if (len > tl + 1)
			a[len - 1] = ' ';
	}
	prctl(PR_SET_NAME, args->comm, 0, 0, 0);
}

/* The host's /usr and /etc as idmapped mounts, from the parent (see
 * ns.c's send_trees): files of the host's root show as root's. */
static int trees[2] = {-1, -1};

static void look_real_receive_trees(void)
{
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(trees))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {&byte, 1};
	struct msghdr msg;
	struct cmsghdr *c;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	if (recvmsg(args->tree_fd, &msg, MSG_CMSG_CLOEXEC) > 0 && (c = CMSG_FIRSTHDR(&msg)) &&
	    c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(trees)))
		memcpy(trees, CMSG_DATA(c), sizeof(trees));
	close(args->tree_fd);
}

/* Mounts the idmapped tree `which` (0 /usr, 1 /etc) at rel; 0 when there is none. */
static int look_real_tree(int which, const char *rel)
{
	char p[4096];
	if (trees[which] < 0)
		return 0;
	path_in(p, sizeof(p), rel);
	if (syscall(SYS_move_mount, trees[which], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die(rel, errno);
	close(trees[which]);
	trees[which] = -1;
	return 1;
}

/* The root's size is what df shows for /: a laptop's disk, not 1 MiB. */
static const char *look_real_root_size(void)
{
	static const char *const sizes[] = {"mode=0755,size=238g", "mode=0755,size=476g", "mode=0755,size=931g"};
	return sizes[(unsigned long long)args->uptime_s % 3];
}

/* The host name, users and groups of the run's person (files on a tmpfs of
 * the run: the mount table shows no host path of ours). */
static void look_real_etc(void)
{
	static const char *const files[] = {"hostname", "passwd", "group"};
	const fangs_sandbox_job *j = args->job;
	char src[4096], dst[4096], rel[64];
	if (j->version < 2 || !j->etc_dir)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", j->etc_dir, files[i]);
		snprintf(rel, sizeof(rel), "/etc/%s", files[i]);
		path_in(dst, sizeof(dst), rel);
		if (access(src, F_OK) != 0 || access(dst, F_OK) != 0)
			continue;
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			die(rel, errno);
	}
}

/* /var/tmp is writable on every machine; here it is bounded like /tmp. */
static void look_real_var_tmp(const char *data)
{
	tmpfs_in("/var/tmp", data, MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

/* The command's clocks: a machine booted hours or days ago. A new time
 * namespace for our children, its boot and monotonic clocks moved forward. */
static void look_real_uptime(void)
{
	char offs[96];
	int fd, n;
	if (args->uptime_s <= 0)
		return;
	if (unshare(CLONE_NEWTIME) < 0) {
		if (errno == EINVAL)
			return; /* a kernel without time namespaces */
		die("time namespace", errno);
	}
	/* the id change made us non-dumpable, and our /proc files the host's
	 * root's; as on a real machine, pid 1's files are root's, and the
	 * user's processes cannot trace it (another uid) */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	n = snprintf(offs, sizeof(offs), "monotonic %lld 0\nboottime %lld 0\n", args->uptime_s, args->uptime_s);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, offs, (size_t)n) != n)
		die("/proc/self/timens_offsets", errno);
	close(fd);
}

/* In the command's child, before exec: become the person (uid and gid
 * FANGS__USER_UID), which clears the last capabilities. */
static void look_real_user(void)
{
	long id = args->user_uid;
	if (id <= 0)
		return;
	if (syscall(SYS_setresgid, id, id, id) < 0 || syscall(SYS_setresuid, id, id, id) < 0)
		die("become the sandbox's user", errno);
}

/* The init's capabilities that make the user, once no child needs them
 * any more; it keeps the one that ends the import step (the user's) at its
 * time limit. All of them hold in the sandbox's user namespace only. */
static void drop_last_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct caps[2];
	if (args->user_uid <= 0)
		return;
	memset(caps, 0, sizeof(caps));
	caps[0].permitted = caps[0].effective = 1u << CAP_KILL;
	syscall(SYS_capset, &hdr, caps);
}

static void make_dev(void)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	char host[64], rel[64], p[4096];
	mkdir_in("/dev", 0755);
	tmpfs_in("/dev", "mode=0755,size=64k", MS_NOSUID | MS_NOEXEC);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		snprintf(rel, sizeof(rel), "/dev/%s", nodes[i]);
		if (access(host, F_OK) != 0)
			continue;
		touch_in(rel);
		path_in(p, sizeof(p), rel);
		if (mount(host, p, NULL, MS_BIND, NULL) < 0)
			die(host, errno);
		set_attr(p, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0);
	}
	static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
					       {"/proc/self/fd/0", "/dev/stdin"},
					       {"/proc/self/fd/1", "/dev/stdout"},
					       {"/proc/self/fd/2", "/dev/stderr"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		path_in(p, sizeof(p), links[i][1]);
		if (symlink(links[i][0], p) < 0)
			die(p, errno);
	}
	mkdir_in("/dev/shm", 01777);
	tmpfs_in("/dev/shm", "mode=1777,size=64m", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	path_in(p, sizeof(p), "/dev");
	set_attr(p, MOUNT_ATTR_RDONLY, 0);
}

static void make_root(void)
{
	const fangs_sandbox_job *j = args->job;
	char data[64], p[4096];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / private", errno);
	if (mount("tmpfs", args->rootfs, "tmpfs", MS_NOSUID | MS_NODEV, look_real_root_size()) < 0)
		die(args->rootfs, errno);

	static const char *const dirs[] = {"/usr",     "/etc", "/proc", "/tmp", "/root", "/var", "/var/cache",
					   "/var/tmp", "/run", "/home", "/mnt", "/opt",  "/srv"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		mkdir_in(dirs[i], 0755);
	/* what node, npm and the shells that scripts use need, read-only */
	if (!look_real_tree(0, "/usr") &&
	    mount("/usr", (path_in(p, sizeof(p), "/usr"), p), NULL, MS_BIND | MS_REC, NULL) < 0)
		die("/usr", errno);
	path_in(p, sizeof(p), "/usr");
	set_attr(p, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, AT_RECURSIVE);
	path_in(p, sizeof(p), "/etc");
	if (!look_real_tree(1, "/etc") && mount("/etc", p, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("/etc", errno);
	/* the sandbox's own resolver and hosts, over the host's */
	path_in(p, sizeof(p), "/etc/resolv.conf");
	if (access(p, F_OK) == 0 && mount(j->resolv_conf, p, NULL, MS_BIND, NULL) < 0)
		die("/etc/resolv.conf", errno);
	path_in(p, sizeof(p), "/etc/hosts");
	if (access(p, F_OK) == 0 && mount(j->hosts, p, NULL, MS_BIND, NULL) < 0)
		die("/etc/hosts", errno);
	look_real_etc();
	path_in(p, sizeof(p), "/etc");
	set_attr(p, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, AT_RECURSIVE);

	static const char *const sys_dirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};
	for (size_t i = 0; i < sizeof(sys_dirs) / sizeof(sys_dirs[0]); i++)
		system_dir(sys_dirs[i]);

	mkdir_in(j->home_inside, 0755);
	bind_host(j->home_dir, j->home_inside, 1);
	if (j->cache_dir) {
		mkdir_in(j->cache_inside, 0755);
		bind_host(j->cache_dir, j->cache_inside, 0);
	}
	path_in(p, sizeof(p), "/proc");
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount /proc", errno);
	make_dev();
	snprintf(data, sizeof(data), "mode=1777,size=%lld", (long long)j->opts->limits.tmp_bytes);
	tmpfs_in("/tmp", data, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	look_real_var_tmp(data);

	if (chdir(args->rootfs) < 0)
		die(args->rootfs, errno);
	/* pivot onto itself, then drop the old root stacked underneath */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", errno);
	if (umount2(".", MNT_DETACH) < 0)
		die("detach the old root", errno);
	if (chdir("/") < 0)
		die("chdir /", errno);
	set_attr("/", MOUNT_ATTR_RDONLY, 0);
}

static void loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket", errno);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("lo flags", errno);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("lo up", errno);
	close(s);
}

static void set_rlimit(int res, int64_t v, const char *what)
{
	struct rlimit cur, rl;
	if (getrlimit(res, &cur) < 0)
		die(what, errno);
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	/* never above what the host allows us */
	if (cur.rlim_max != RLIM_INFINITY && rl.rlim_max > cur.rlim_max)
		rl.rlim_cur = rl.rlim_max = cur.rlim_max;
	if (setrlimit(res, &rl) < 0)
		die(what, errno);
}

static void drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	const fangs_sandbox_limits *l = &args->job->opts->limits;

	set_rlimit(RLIMIT_NOFILE, l->nofile, "RLIMIT_NOFILE");
	set_rlimit(RLIMIT_NPROC, l->nproc, "RLIMIT_NPROC");
	set_rlimit(RLIMIT_FSIZE, l->fsize_bytes, "RLIMIT_FSIZE");
	set_rlimit(RLIMIT_CORE, 0, "RLIMIT_CORE");

	/* an empty bounding set: exec as uid 0 then grants nothing */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die("drop the capability bounding set", errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("clear ambient capabilities", errno);
	memset(data, 0, sizeof(data));
	/* only what the command's child needs to become the user (gone then),
	 * and what the init needs to end the import step, which runs as the
	 * user too */
	if (args->user_uid > 0)
		data[0].permitted = data[0].effective = (1u << CAP_SETUID) | (1u << CAP_SETGID) | (1u << CAP_KILL);
	if (syscall(SYS_capset, &hdr, data) < 0)
		die("capset", errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs", errno);
}

static const char *env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* execvpe with the sandbox's PATH, not the scanner's. */
static void exec_argv(const char *const *argv)
{
	const fangs_sandbox_job *j = args->job;
	const char *cmd = argv[0], *path = env_get(j->envp, "PATH");
	char full[4096];
	int err = ENOENT;

	if (strchr(cmd, '/')) {
		execve(cmd, (char *const *)argv, (char *const *)j->envp);
		die(cmd, errno);
	}
	for (const char *p = path ? path : FANGS__PATH_INSIDE; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(full, sizeof(full), "%.*s/%s", (int)len, p, cmd);
		execve(full, (char *const *)argv, (char *const *)j->envp);
		if (errno != ENOENT)
			err = errno;
		p += len + (end ? 1 : 0);
	}
	die(cmd, err);
}

/* The scanner's descriptors (databases, sockets, the sensor's maps, run
 * locks) must not reach the sandbox: init never execs, so O_CLOEXEC does not
 * help. Keep the four pipes, point 0-2 at /dev/null, close the rest. */
static void keep_only_own_fds(const fangs__ns_child_args *a)
{
	int keep[5] = {a->sync_fd, a->err_fd, a->status_fd, a->out_fd, a->tree_fd};
	unsigned int from = 3;
	int null = open("/dev/null", O_RDWR);
	if (null < 0)
		die("/dev/null", errno);
	for (int i = 0; i < 3; i++)
		if (null != i && dup2(null, i) < 0)
			die("dup2", errno);
	/* sort the five, then close the gaps between them */
	for (int i = 0; i < 5; i++)
		for (int k = i + 1; k < 5; k++)
			if (keep[k] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[k];
				keep[k] = t;
			}
	for (int i = 0; i < 5; i++) {
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* ---- the import step: after a successful install, same sandbox ---- */

static volatile sig_atomic_t import_alarm;

static void on_alarm(int sig)
{
	(void)sig;
	import_alarm = 1;
}

/* A line of the import step's own into the run's output. */
#define say(fd, ...) \
	do { \
		char line_[160]; \
		int n_ = snprintf(line_, sizeof(line_), __VA_ARGS__); \
		if (n_ > 0 && write((fd), line_, (size_t)n_) < 0) { \
			/* the host went away */ \
		} \
	} while (0)

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time the step may take: its own limit, or what is left of the run's
 * duration less a second for the host to see it end; 0 = none left. */
static int64_t import_budget_ms(const fangs_sandbox_job *j)
{
	int64_t left = j->start_ns / 1000000 + j->opts->duration_ms - mono_ms() - 1000;
	int64_t ms = j->import_timeout_ms < left ? j->import_timeout_ms : left;
	return ms > 0 ? ms : 0;
}

/* Starts the import step (its own process group, output to out_fd) and arms
 * its time limit. Returns its pid, or 0 when it does not run. */
static pid_t start_import(const fangs_sandbox_job *j, int out_fd, int64_t *budget_ms)
{
	struct sigaction sa;
	struct itimerval it;
	sigset_t none, alrm;
	pid_t pid;

	*budget_ms = import_budget_ms(j);
	if (*budget_ms <= 0) {
		say(out_fd, "\n[fangs] import: not run: no time left in the run\n");
		return 0;
	}
	say(out_fd, "\n[fangs] import: started (time limit %lld ms)\n", (long long)*budget_ms);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&none);
	pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		say(out_fd, "[fangs] import: not run: fork failed (errno %d)\n", errno);
		return 0;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		if (devnull > 2)
			close(devnull);
		close(out_fd);
		close(args->status_fd);
		sigaction(SIGALRM, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		look_real_user();
		if (args->user_uid > 0 && chdir(j->project_inside) < 0)
			_exit(127);
		exec_argv(j->import_argv);
	}
	setpgid(pid, pid);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)(*budget_ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(*budget_ms % 1000) * 1000;
	/* again and again once due: a signal that lands just before waitpid()
	 * blocks is not lost, the next one interrupts it */
	it.it_interval.tv_usec = 100000;
	setitimer(ITIMER_REAL, &it, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	return pid;
}

static void import_ended(int out_fd, int st, int killed, int64_t budget_ms)
{
	struct itimerval off;
	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_REAL, &off, NULL);
	if (killed)
		say(out_fd, "[fangs] import: killed at its time limit (%lld ms)\n", (long long)budget_ms);
	else if (WIFEXITED(st))
		say(out_fd, "[fangs] import: exited with status %d\n", WEXITSTATUS(st));
	else
		say(out_fd, "[fangs] import: killed by signal %d\n", WTERMSIG(st));
}

void fangs__ns_child(const fangs__ns_child_args *a)
{
	const fangs_sandbox_job *j = a->job;
	char c;
	pid_t cmd, import_pid = 0;
	int status = 0, import_killed = 0;
	int has_import = j->version >= 2 && j->import_argv && j->import_argv[0];
	int64_t import_budget = 0;
	sigset_t none;

	args = a;
	keep_only_own_fds(a);
	look_real_init();
	/* the parent dies or fails: nothing to do */
	if (read(a->sync_fd, &c, 1) != 1)
		_exit(127);
	look_real_receive_trees();

	/* Raw syscalls, not glibc's wrappers: those make every thread of the
	 * process change ids (taking the thread-stack lock and signalling each
	 * thread), and this clone of a threaded scanner has one thread left but
	 * glibc's copy of the lock may be held by a thread that is not here:
	 * a runner's sandbox hung for good in that futex. */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		die("become root of the user namespace", errno);
	/* after the id change, which clears it: a scanner killed from here on
	 * takes the sandbox with it (before, the sync pipe's EOF tells) */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	{
		const char *host = j->version >= 2 && j->hostname ? j->hostname : j->opts->hostname;
		if (sethostname(host, strlen(host)) < 0)
			die("sethostname", errno);
	}
	make_root();
	loopback_up();
	look_real_uptime();
	/* Our own set-up is done. Only now does the parent move us into the
	 * cgroup the sensor watches, so that what the sensor reports is the
	 * command's doing, not the sandbox's mounts. */
	if (write(a->err_fd, "", 1) != 1 || read(a->sync_fd, &c, 1) != 1)
		_exit(127);
	close(a->sync_fd);
	/* now inside the run's cgroup: make it the root of what we can see */
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("cgroup namespace", errno);
	drop_privileges();
	/* HOME is the user's (0700): the user's process goes there */
	if (a->user_uid == 0 && chdir(j->project_inside) < 0)
		die(j->project_inside, errno);

	sigemptyset(&none);
	/* raw clone, not fork(): glibc's fork takes the malloc and stdio locks,
	 * which a thread of the scanner may have held when we were cloned */
	cmd = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
	if (cmd < 0)
		die("fork", errno);
	if (cmd == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(a->out_fd, 1) < 0 || dup2(a->out_fd, 2) < 0)
			die("stdio", errno);
		if (devnull > 2)
			close(devnull);
		close(a->out_fd);
		close(a->status_fd);
		sigprocmask(SIG_SETMASK, &none, NULL);
		look_real_user();
		if (a->user_uid > 0 && chdir(j->project_inside) < 0)
			die(j->project_inside, errno);
		exec_argv(j->argv);
	}
	/* the import step's child becomes the user too: the init keeps the
	 * means to make it so until it has started */
	if (!has_import)
		drop_last_caps();
	close(a->err_fd);
	/* the import step writes there too, after the install */
	if (!has_import)
		close(a->out_fd);
	/* pid 1: every orphan of the run becomes ours; leave when none is left */
	for (;;) {
		int st;
		pid_t p;
		if (import_alarm && import_pid > 0 && !import_killed) {
			import_killed = 1;
			kill(-import_pid, SIGKILL);
			kill(import_pid, SIGKILL);
		}
		p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p == cmd) {
			status = st;
			if (write(a->status_fd, &st, sizeof(st)) < 0) {
				/* the host went away; keep reaping */
			}
			/* a failed install has nothing to import, and its
			 * output's last lines say why it failed */
			if (has_import && WIFEXITED(st) && WEXITSTATUS(st) == 0)
				import_pid = start_import(j, a->out_fd, &import_budget);
			if (has_import)
				drop_last_caps();
			if (has_import && import_pid <= 0) {
				close(a->out_fd);
				has_import = 0;
			}
		} else if (p == import_pid) {
			import_ended(a->out_fd, st, import_killed, import_budget);
			close(a->out_fd);
			import_pid = 0;
			has_import = 0;
		}
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
