/*
 * sandbox/ns.c - the namespace backend, host side: clone the sandbox's init
 * into new namespaces, map its root to an unprivileged uid, put it in the
 * run's cgroups, release it, and watch it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/cgroup.h"
#include "core/fsutil.h"
#include "sandbox/internal.h"
#include "sandbox/ns.h"

typedef struct ns_run {
	pid_t pid; /* the sandbox's init, on the host */
	int reaped;
	int out_fd;    /* read end of the command's output */
	int status_fd; /* read end: the command's wait status */
	int exited;
	int status;
	char *rootfs;
	fangs__ns_net net;
	fangs_sandbox_output_fn output;
	void *output_user;
} ns_run;

static int write_proc(pid_t pid, const char *file, const char *value)
{
	char path[64];
	int fd, rc = 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return fangs__error_errno(FANGS_ESANDBOX, path);
	if (write(fd, value, strlen(value)) < 0)
		rc = fangs_error_set(FANGS_ESANDBOX, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* The user the command runs as is host_uid outside (it owns HOME); root
 * inside, which only the sandbox's init is, is the next uid. */
static int map_ids(pid_t pid, int64_t host_uid, int user_uid)
{
	char map[128];
	int rc;
	if (user_uid > 0)
		snprintf(map, sizeof(map), "0 %lld 1\n%d %lld 1\n", (long long)host_uid + 1, user_uid,
			 (long long)host_uid);
	else
		snprintf(map, sizeof(map), "0 %lld 1\n", (long long)host_uid);
	if ((rc = write_proc(pid, "setgroups", "deny")) < 0 || (rc = write_proc(pid, "uid_map", map)) < 0 ||
	    (rc = write_proc(pid, "gid_map", map)) < 0)
		return rc;
	return 0;
}

/* What pid 1 seems to be: the host's init when it has one. */
static void init_look(fangs__ns_child_args *a)
{
	if (access("/lib/systemd/systemd", X_OK) == 0 || access("/usr/lib/systemd/systemd", X_OK) == 0) {
		a->title = "/sbin/init";
		a->comm = "systemd";
	} else if (access("/sbin/init", X_OK) == 0) {
		a->title = "/sbin/init";
		a->comm = "init";
	} else {
		a->title = "/bin/bash";
		a->comm = "bash";
	}
}

/* A machine that has been up for a while: 3 hours to 12 days. */
static long long random_uptime(void)
{
	uint32_t r = 0;
	fangs__random(&r, sizeof(r));
	return 3 * 3600LL + (long long)(r % (12u * 86400u - 3u * 3600u));
}

/* The host's /usr and /etc, read-only, as mounts idmapped through the
 * sandbox's user namespace: the host's root owns their files, and inside
 * they show as root's, not nobody's. Sent to the sandbox's init, which
 * mounts them in place of plain binds. Best effort: a kernel or file
 * system without idmapped mounts sends none (the files show as nobody's). */
static void send_trees(int sock, pid_t pid)
{
	static const char *const trees[] = {"/usr", "/etc"};
	int fds[2] = {-1, -1}, n = 0, ufd;
	char path[64], byte = 'm';
	struct mount_attr attr;
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {&byte, 1};
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if ((ufd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		attr.userns_fd = (uint64_t)ufd;
		for (n = 0; n < 2; n++) {
			fds[n] = (int)syscall(SYS_open_tree, AT_FDCWD, trees[n],
					      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
			if (fds[n] < 0 || syscall(SYS_mount_setattr, fds[n], "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
						  sizeof(attr)) < 0) {
				fangs_debug("no idmapped %s for the sandbox (%s): its files show as nobody's", trees[n],
					    strerror(errno));
				break;
			}
		}
		close(ufd);
	}
	if (n == 2) {
		struct cmsghdr *c;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		fangs_debug("sending the sandbox its trees: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static pid_t clone_child(void)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;
	ca.exit_signal = SIGCHLD;
	return (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
}

static void reap(ns_run *r)
{
	int st;
	if (r->reaped || r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
		;
	r->reaped = 1;
}

static void drain(ns_run *r)
{
	char buf[16384];
	ssize_t n;
	if (r->out_fd < 0)
		return;
	while ((n = read(r->out_fd, buf, sizeof(buf))) > 0)
		if (r->output)
			r->output(buf, (size_t)n, r->output_user);
}

static void run_free(ns_run *r)
{
	reap(r);
	drain(r);
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->status_fd >= 0)
		close(r->status_fd);
	fangs__ns_net_down(&r->net);
	if (r->rootfs)
		rmdir(r->rootfs);
	free(r->rootfs);
	free(r);
}

static int ns_start(fangs_sandbox_backend *b, const fangs_sandbox_job *job, void **handle)
{
	int sync_p[2] = {-1, -1}, err_p[2] = {-1, -1}, st_p[2] = {-1, -1}, out_p[2] = {-1, -1};
	int tree_s[2] = {-1, -1};
	int64_t uid = job->opts->host_uid;
	fangs__ns_child_args a;
	char msg[600];
	ssize_t n;
	ns_run *r;
	int rc;

	(void)b;
	*handle = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return fangs__error_oom();
	r->out_fd = r->status_fd = -1;
	r->output = job->output;
	r->output_user = job->output_user;
	if (!(r->rootfs = fangs__asprintf("%s/rootfs", job->work_dir))) {
		free(r);
		return FANGS_ENOMEM;
	}
	if (mkdir(r->rootfs, 0755) < 0) {
		rc = fangs__error_errno(FANGS_ESANDBOX, r->rootfs);
		free(r->rootfs);
		r->rootfs = NULL;
		goto fail;
	}
	/* root inside is host_uid outside: it owns HOME and nothing else */
	if ((rc = fangs__chown_r(job->home_dir, (uid_t)uid, (gid_t)uid)) < 0)
		goto fail;
	/* the files shown over /etc's are root's inside, as the rest of /etc */
	if (job->version >= 2 && job->etc_dir && job->user && strcmp(job->user, "root") != 0 &&
	    (rc = fangs__chown_r(job->etc_dir, (uid_t)uid + 1, (gid_t)uid + 1)) < 0)
		goto fail;
	if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 || pipe2(st_p, O_CLOEXEC) < 0 ||
	    pipe2(out_p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tree_s) < 0) {
		rc = fangs__error_errno(FANGS_ESANDBOX, "pipe");
		goto fail;
	}
	/* room for a burst of output between two polls */
	fcntl(out_p[0], F_SETPIPE_SZ, 1 << 20);
	memset(&a, 0, sizeof(a));
	a.job = job;
	a.rootfs = r->rootfs;
	a.sync_fd = sync_p[0];
	a.err_fd = err_p[1];
	a.status_fd = st_p[1];
	a.out_fd = out_p[1];
	a.tree_fd = tree_s[1];
	init_look(&a);
	a.uptime_s = random_uptime();
	a.user_uid = job->version >= 2 && job->user && strcmp(job->user, "root") != 0 ? FANGS__USER_UID : 0;

	r->pid = clone_child();
	if (r->pid < 0) {
		int e = errno;
		rc = fangs_error_set(e == EPERM || e == ENOSPC ? FANGS_EUNSUPPORTED : FANGS_ESANDBOX,
				     "cannot create the sandbox's namespaces: %s%s", strerror(e),
				     e == EPERM || e == ENOSPC ? " (user namespaces disabled? see "
								 "/proc/sys/user/max_user_namespaces)"
							       : "");
		r->pid = 0;
		goto fail;
	}
	if (r->pid == 0)
		fangs__ns_child(&a);

	close(sync_p[0]);
	close(err_p[1]);
	close(st_p[1]);
	close(out_p[1]);
	close(tree_s[1]);
	sync_p[0] = err_p[1] = st_p[1] = out_p[1] = tree_s[1] = -1;
	r->status_fd = st_p[0];
	r->out_fd = out_p[0];
	st_p[0] = out_p[0] = -1;

	/* the limits apply from the start; the sensor's cgroup comes after set-up */
	if ((rc = fangs__cgroup_join(NULL, job->cgroup_v1, r->pid)) < 0 || (rc = map_ids(r->pid, uid, a.user_uid)) < 0)
		goto fail;
	if (job->opts->network == FANGS_SANDBOX_NET_BRIDGE && (rc = fangs__ns_net_up(&r->net, job->run_id, r->pid)) < 0)
		goto fail;
	/* after the id maps: the idmapping is the sandbox's user namespace */
	send_trees(tree_s[0], r->pid);
	close(tree_s[0]);
	tree_s[0] = -1;
	/* the proxy's socket is made in the run's netns, served from here */
	if (job->opts->network == FANGS_SANDBOX_NET_PROXY && job->version >= 2 &&
	    (rc = fangs_proxy_listen(job->proxy, r->pid, job->proxy_addr, job->proxy_port, job->cgroup_v2)) < 0)
		goto fail;
	if (write(sync_p[1], "x", 1) != 1) {
		rc = fangs__error_errno(FANGS_ESANDBOX, "release the sandbox");
		goto fail;
	}
	/* one NUL byte: set-up done, waiting to be moved into the watched cgroup */
	do
		n = read(err_p[0], msg, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && msg[0] == '\0') {
		if ((rc = fangs__cgroup_join(job->cgroup_v2, NULL, r->pid)) < 0)
			goto fail;
		if (write(sync_p[1], "x", 1) != 1) {
			rc = fangs__error_errno(FANGS_ESANDBOX, "release the sandbox");
			goto fail;
		}
		n = 0;
	} else {
		n = n == 1 ? 1 : 0;
	}
	close(sync_p[1]);
	sync_p[1] = -1;
	/* EOF once the command is exec'd; a message if the setup failed */
	for (;;) {
		ssize_t k = read(err_p[0], msg + n, sizeof(msg) - 1 - (size_t)n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (n += k) >= (ssize_t)sizeof(msg) - 1)
			break;
	}
	msg[n] = '\0';
	close(err_p[0]);
	err_p[0] = -1;
	if (n > 0) {
		rc = fangs_error_set(FANGS_ESANDBOX, "%s", msg);
		goto fail;
	}
	fcntl(r->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(r->status_fd, F_SETFL, O_NONBLOCK);
	*handle = r;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (sync_p[i] >= 0)
			close(sync_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
		if (st_p[i] >= 0)
			close(st_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (tree_s[i] >= 0)
			close(tree_s[i]);
	}
	{
		fangs_error_state keep;
		fangs_error_state_capture(&keep, rc);
		run_free(r);
		fangs_error_state_restore(&keep);
	}
	return rc;
}

static int ns_poll(fangs_sandbox_backend *b, void *handle, int *wait_status)
{
	ns_run *r = handle;
	int st;
	(void)b;
	drain(r);
	if (!r->exited) {
		ssize_t n = read(r->status_fd, &st, sizeof(st));
		if (n == (ssize_t)sizeof(st)) {
			r->exited = 1;
			r->status = st;
		}
	}
	/* init gone without a word: it was killed, and the command with it */
	if (!r->exited && !r->reaped && waitpid(r->pid, &st, WNOHANG) == r->pid) {
		r->reaped = 1;
		if (read(r->status_fd, &r->status, sizeof(r->status)) != (ssize_t)sizeof(r->status))
			r->status = st;
		r->exited = 1;
	}
	if (!r->reaped && waitpid(r->pid, &st, WNOHANG) == r->pid)
		r->reaped = 1;
	if (r->exited)
		*wait_status = r->status;
	return r->exited;
}

static void ns_release(fangs_sandbox_backend *b, void *handle)
{
	(void)b;
	if (handle)
		run_free(handle);
}

static int ns_gc(fangs_sandbox_backend *b, const char *run_id, int *removed)
{
	(void)b;
	return fangs__ns_net_gc(run_id, removed);
}

/* What the sandbox's setup asks of the kernel, tried once in a throwaway
 * child: new user, pid and mount namespaces, a proc mount in them and
 * pivot_root. A container may allow the namespaces and still refuse the
 * rest: the kernel refuses a new proc mount in a user namespace while parts
 * of the container's /proc are hidden by other mounts (masked paths), and a
 * seccomp profile may refuse pivot_root. Every scan would then fail; this
 * says why before the first one. */
enum {
	TRIAL_CLONE = 1,
	TRIAL_PRIVATE,
	TRIAL_PROC,
	TRIAL_TMPFS,
	TRIAL_PIVOT
};

static void trial_child(int fd)
{
	int res[2] = {0, 0};
	/* only system calls from here: the caller may have threads */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		res[0] = TRIAL_PRIVATE;
	else if (mount("proc", "/tmp", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		res[0] = TRIAL_PROC;
	else if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0)
		res[0] = TRIAL_TMPFS;
	else if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		res[0] = TRIAL_PIVOT;
	res[1] = res[0] ? errno : 0;
	if (write(fd, res, sizeof(res)) < 0)
		_exit(2);
	_exit(0);
}

static int trial_run(void)
{
	struct clone_args ca;
	int p[2], res[2] = {0, 0}, st, e;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return fangs__error_errno(FANGS_ESANDBOX, "pipe");
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(p[0]);
		trial_child(p[1]);
	}
	e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return fangs_error_set(e == EPERM || e == ENOSPC || e == ENOSYS ? FANGS_EUNSUPPORTED : FANGS_ESANDBOX,
				       "cannot create the sandbox's namespaces: %s%s", strerror(e),
				       e == EPERM || e == ENOSPC ? " (user namespaces disabled? see "
								   "/proc/sys/user/max_user_namespaces)"
				       : e == ENOSYS             ? " (clone3 refused: a seccomp profile?)"
								 : "");
	}
	while ((n = read(p[0], res, sizeof(res))) < 0 && errno == EINTR)
		;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res))
		return fangs_error_set(FANGS_ESANDBOX, "the sandbox trial child died before it reported");
	switch (res[0]) {
	case 0:
		return 0;
	case TRIAL_PROC:
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "a user namespace made here may not mount /proc (%s): the kernel refuses it "
				       "while parts of this /proc are hidden by other mounts, as in a container with "
				       "masked paths (docker: --security-opt systempaths=unconfined; Kubernetes: "
				       "privileged: true)",
				       strerror(res[1]));
	case TRIAL_PIVOT:
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "pivot_root is refused here (%s): a seccomp profile? (docker: --security-opt "
				       "seccomp=unconfined)",
				       strerror(res[1]));
	case TRIAL_PRIVATE:
	case TRIAL_TMPFS:
		return fangs_error_set(FANGS_EUNSUPPORTED, "a mount namespace made here may not mount: %s",
				       strerror(res[1]));
	}
	return fangs_error_set(FANGS_ESANDBOX, "the sandbox trial child reported step %d", res[0]);
}

/* Once per process when it works; tried again after a failure. */
static int trial_once(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int passed;
	int rc = 0;
	pthread_mutex_lock(&lock);
	if (!passed && (rc = trial_run()) == 0)
		passed = 1;
	pthread_mutex_unlock(&lock);
	return rc;
}

static void ns_free(fangs_sandbox_backend *b)
{
	free(b);
}

int fangs_sandbox_backend_ns_new(fangs_sandbox_backend **out, const fangs_sandbox_options *opts)
{
	fangs_sandbox_backend *b;
	char buf[32];
	FILE *f;
	int rc;

	(void)opts;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "out is NULL");
	*out = NULL;
	if ((f = fopen("/proc/sys/user/max_user_namespaces", "re"))) {
		if (fgets(buf, sizeof(buf), f) && atoi(buf) == 0) {
			fclose(f);
			return fangs_error_set(FANGS_EUNSUPPORTED,
					       "user namespaces are disabled (user.max_user_namespaces = 0): the ns "
					       "sandbox cannot run here; use the docker backend");
		}
		fclose(f);
	}
	if ((rc = trial_once()) < 0)
		return rc;
	if (!(b = calloc(1, sizeof(*b))))
		return fangs__error_oom();
	b->version = FANGS_SANDBOX_BACKEND_VERSION;
	b->name = "ns";
	b->free = ns_free;
	b->start = ns_start;
	b->poll = ns_poll;
	b->release = ns_release;
	b->gc = ns_gc;
	b->runs_import = 1;
	b->setup_in_cgroup = 0; /* the child joins the watched cgroup after its set-up */
	b->host_root = 1;
	*out = b;
	return 0;
}
