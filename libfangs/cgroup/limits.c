/*
 * cgroup/limits.c - creating, filling, killing and removing a run's cgroups.
 *
 * The sensor scopes to a cgroup-v2 directory, so that one always exists. On
 * hybrid hosts the v2 hierarchy has no controllers; the limits then live in
 * v1 directories of the same name and the sandbox joins both.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/internal.h"

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int write_str(const char *dir, const char *file, const char *value)
{
	char path[4096];
	int fd, e;
	ssize_t n;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int write_i64(const char *dir, const char *file, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return write_str(dir, file, buf);
}

static int set_limit(const char *dir, const char *file, int64_t v, const char *what)
{
	int e = write_i64(dir, file, v);
	if (e < 0)
		return fangs_error_set(FANGS_ESANDBOX, "cgroup %s: cannot set %s (%s/%s): %s", dir, what, dir, file,
				       strerror(-e));
	return 0;
}

static int mkdir_run(const char *parent, const char *run_id, char **out)
{
	char *fangs_dir = fangs__asprintf("%s/fangs", parent);
	if (!fangs_dir)
		return FANGS_ENOMEM;
	if (mkdir(fangs_dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		fangs_error_set(e == EACCES || e == EPERM ? FANGS_EPERM : FANGS_ESANDBOX, "mkdir %s: %s", fangs_dir,
				strerror(e));
		free(fangs_dir);
		return fangs_error_last_code();
	}
	*out = fangs__asprintf("%s/%s", fangs_dir, run_id);
	free(fangs_dir);
	if (!*out)
		return FANGS_ENOMEM;
	if (mkdir(*out, 0755) < 0) {
		int e = errno;
		int rc = fangs_error_set(e == EEXIST ? FANGS_EEXISTS : FANGS_ESANDBOX, "mkdir %s: %s", *out,
					 strerror(e));
		free(*out);
		*out = NULL;
		return rc;
	}
	return 0;
}

static uint64_t cgroup_id_of(const char *path)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[16];
	} h;
	int mount_id;
	struct stat st;

	/* The kernfs node id is what bpf_get_current_cgroup_id() returns; the file
	 * handle carries it exactly, the inode number only on 64-bit. */
	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(h.bytes);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) == 0 && h.fh.handle_bytes >= 8) {
		uint64_t id;
		memcpy(&id, h.fh.f_handle, sizeof(id));
		return id;
	}
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int limits_v2(const char *root, const char *dir, const fangs_sandbox_limits *l)
{
	char *fangs_dir = fangs__asprintf("%s/fangs", root);
	char cpu[64];
	int rc;
	if (!fangs_dir)
		return FANGS_ENOMEM;
	/* Controllers must be enabled on every level above the run. */
	write_str(root, "cgroup.subtree_control", "+memory +pids +cpu");
	rc = write_str(fangs_dir, "cgroup.subtree_control", "+memory +pids +cpu");
	free(fangs_dir);
	if (rc < 0)
		return fangs_error_set(FANGS_ESANDBOX, "cgroup %s/fangs: cannot enable memory, pids, cpu: %s", root,
				       strerror(-rc));
	if ((rc = set_limit(dir, "memory.max", l->memory_bytes, "the memory limit")) < 0 ||
	    (rc = set_limit(dir, "pids.max", l->pids, "the pids limit")) < 0)
		return rc;
	write_i64(dir, "memory.swap.max", 0);
	snprintf(cpu, sizeof(cpu), "%lld 100000", (long long)(l->cpu_millis * 100));
	if ((rc = write_str(dir, "cpu.max", cpu)) < 0)
		return fangs_error_set(FANGS_ESANDBOX, "cgroup %s: cannot set cpu.max: %s", dir, strerror(-rc));
	return 0;
}

static int limits_v1(const char *ctrl, const char *dir, const fangs_sandbox_limits *l)
{
	int rc = 0;
	if (strcmp(ctrl, "memory") == 0) {
		rc = set_limit(dir, "memory.limit_in_bytes", l->memory_bytes, "the memory limit");
		/* without swap accounting the file is missing; there is nothing to cap then */
		if (rc == 0)
			write_i64(dir, "memory.memsw.limit_in_bytes", l->memory_bytes);
	} else if (strcmp(ctrl, "pids") == 0) {
		rc = set_limit(dir, "pids.max", l->pids, "the pids limit");
	} else if (strcmp(ctrl, "cpu") == 0) {
		if ((rc = set_limit(dir, "cpu.cfs_period_us", 100000, "the CPU period")) == 0)
			rc = set_limit(dir, "cpu.cfs_quota_us", l->cpu_millis * 100, "the CPU quota");
	}
	return rc;
}

int fangs__cgroup_create(fangs__cgroup *cg, const char *root, const char *run_id, const fangs_sandbox_limits *limits)
{
	fangs__cg_mounts m;
	size_t n = 0;
	int rc;

	memset(cg, 0, sizeof(*cg));
	if ((rc = fangs__cgroup_detect(root, &m)) < 0)
		return rc;
	cg->layout = m.layout;
	rc = mkdir_run(m.v2, run_id, &cg->v2);
	if (rc < 0)
		goto out;
	cg->id = cgroup_id_of(cg->v2);
	if (cg->layout == FANGS__CG_V2) {
		rc = limits_v2(m.v2, cg->v2, limits);
		goto out;
	}
	cg->v1_all = m.v1_all;
	m.v1_all = NULL;
	/* memory first: v1[0] is the memory controller's (oom_kills) */
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++) {
		const char *ctrl = fangs__cgroup_v1_controller(i);
		if (!m.v1[i]) {
			if (strcmp(ctrl, "cpu") == 0) {
				fangs_warn("no cgroup-v1 cpu controller is mounted: the run has no CPU limit");
				continue;
			}
			rc = fangs_error_set(FANGS_EUNSUPPORTED,
					     "hybrid cgroups without the v1 %s controller (none is mounted): cannot "
					     "enforce the %s limit",
					     ctrl, ctrl);
			goto out;
		}
		rc = mkdir_run(m.v1[i], run_id, &cg->v1[n]);
		if (rc < 0)
			goto out;
		if ((rc = limits_v1(ctrl, cg->v1[n++], limits)) < 0)
			goto out;
	}
out:
	fangs__cgroup_mounts_free(&m);
	if (rc < 0 && rc != FANGS_EEXISTS) {
		fangs_error_state keep;
		fangs_error_state_capture(&keep, fangs_error_last_code());
		fangs__cgroup_destroy(cg);
		fangs_error_state_restore(&keep);
	} else if (rc == FANGS_EEXISTS) {
		/* someone else's run: leave its directories alone */
		free(cg->v2);
		for (size_t i = 0; i < n; i++)
			free(cg->v1[i]);
		free_strv(cg->v1_all);
		memset(cg, 0, sizeof(*cg));
	}
	return rc;
}

int fangs__cgroup_join(const char *v2, const char *const *v1, pid_t pid)
{
	char buf[32];
	int e;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (v2 && (e = write_str(v2, "cgroup.procs", buf)) < 0)
		return fangs_error_set(FANGS_ESANDBOX, "cannot move pid %d into %s: %s", (int)pid, v2, strerror(-e));
	for (size_t i = 0; v1 && v1[i]; i++)
		if ((e = write_str(v1[i], "cgroup.procs", buf)) < 0)
			return fangs_error_set(FANGS_ESANDBOX, "cannot move pid %d into %s: %s", (int)pid, v1[i],
					       strerror(-e));
	return 0;
}

/* Calls fn(path of a child cgroup, user) for every cgroup directly below dir. */
static void for_each_child(const char *dir, void (*fn)(const char *path, void *user), void *user)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fn(path, user);
	}
	closedir(d);
}

typedef struct walk_ctx {
	void (*fn)(pid_t pid);
	int count;
} walk_ctx;

static int walk_procs(const char *dir, void (*fn)(pid_t pid));

static void walk_child(const char *path, void *user)
{
	walk_ctx *w = user;
	int n = walk_procs(path, w->fn);
	if (n > 0)
		w->count += n;
}

/* Calls fn on every pid in dir and the cgroups below it; returns how many. */
static int walk_procs(const char *dir, void (*fn)(pid_t pid))
{
	char path[4096];
	walk_ctx w = {fn, 0};
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fscanf(f, "%ld", &pid) == 1) {
		w.count++;
		if (fn)
			fn((pid_t)pid);
	}
	fclose(f);
	for_each_child(dir, walk_child, &w);
	return w.count;
}

int fangs__cgroup_count(const fangs__cgroup *cg)
{
	return cg->v2 ? walk_procs(cg->v2, NULL) : 0;
}

static void sigkill(pid_t pid)
{
	kill(pid, SIGKILL);
}

static int count_all(const fangs__cgroup *cg)
{
	int n = 0;
	if (cg->v2)
		n += walk_procs(cg->v2, NULL) > 0;
	for (size_t i = 0; cg->v1[i]; i++)
		n += walk_procs(cg->v1[i], NULL) > 0;
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int fangs__cgroup_kill(const fangs__cgroup *cg)
{
	char path[4096];
	int has_kill = 0;
	if (cg->v2) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg->v2);
		has_kill = access(path, W_OK) == 0;
	}
	return fangs__cgroup_kill_with(cg, has_kill);
}

int fangs__cgroup_kill_with(const fangs__cgroup *cg, int use_cgroup_kill)
{
	char path[4096];
	int has_kill = use_cgroup_kill && cg->v2, has_freeze = 0;

	if (cg->v2) {
		snprintf(path, sizeof(path), "%s/cgroup.freeze", cg->v2);
		has_freeze = access(path, W_OK) == 0;
	}
	/* A fork bomb can outrun one pass of SIGKILLs: freeze first, repeat until empty. */
	for (int round = 0; round < 500; round++) {
		if (count_all(cg) == 0) {
			if (has_freeze && !has_kill)
				write_str(cg->v2, "cgroup.freeze", "0");
			return 0;
		}
		if (has_kill) {
			write_str(cg->v2, "cgroup.kill", "1");
		} else {
			if (has_freeze)
				write_str(cg->v2, "cgroup.freeze", "1");
			if (cg->v2)
				walk_procs(cg->v2, sigkill);
		}
		for (size_t i = 0; cg->v1[i]; i++)
			walk_procs(cg->v1[i], sigkill);
		sleep_ms(round < 10 ? 1 : 10);
	}
	return fangs_error_set(FANGS_EBUSY, "cgroup %s: processes survive SIGKILL", cg->v2 ? cg->v2 : "?");
}

static int64_t read_key(const char *dir, const char *file, const char *key)
{
	char path[4096], name[64];
	long long v;
	int64_t out = 0;
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (strcmp(name, key) == 0)
			out = v;
	fclose(f);
	return out;
}

typedef struct sum_ctx {
	const char *file, *key;
	int64_t sum;
} sum_ctx;

static void sum_child(const char *path, void *user)
{
	sum_ctx *c = user;
	c->sum += read_key(path, c->file, c->key);
	for_each_child(path, sum_child, c);
}

/* Sums `key` of `file` over dir and the cgroups below it: on v1 an OOM kill
 * counts in the victim's own cgroup, e.g. a container's below the run's. */
static int64_t sum_key(const char *dir, const char *file, const char *key)
{
	sum_ctx c = {file, key, 0};
	sum_child(dir, &c);
	return c.sum;
}

int64_t fangs__cgroup_oom_kills(const fangs__cgroup *cg)
{
	/* v2 memory.events is hierarchical already */
	if (cg->layout == FANGS__CG_V2)
		return cg->v2 ? read_key(cg->v2, "memory.events", "oom_kill") : 0;
	/* hybrid: fangs__cgroup_create() makes the memory controller's first */
	return cg->v1[0] ? sum_key(cg->v1[0], "memory.oom_control", "oom_kill") : 0;
}

static int rmdir_tree(const char *dir);

static void rmdir_child(const char *path, void *user)
{
	(void)user;
	rmdir_tree(path);
}

/* Removes dir and the cgroups below it, children first. */
static int rmdir_tree(const char *dir)
{
	if (access(dir, F_OK) != 0)
		return 0;
	for_each_child(dir, rmdir_child, NULL);
	/* a killed task leaves its cgroup a moment after SIGKILL */
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(5);
	}
	int e = errno;
	fangs_warn("cannot remove cgroup %s: %s", dir, strerror(e));
	return -e;
}

/* fangs/<run_id> in the v1 hierarchies the sandbox did not make itself:
 * runc (docker's cgroupfs driver) makes the container's cgroups below the
 * cgroup parent in every hierarchy and removes only its own. */
static int remove_other_v1(char *const *v1_all, const char *run_id)
{
	int found = 0;
	for (size_t i = 0; v1_all && v1_all[i]; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/fangs/%s", v1_all[i], run_id);
		if (access(path, F_OK) == 0) {
			rmdir_tree(path);
			found++;
		}
	}
	return found;
}

/* The same for a run's cgroup, named after its v2 directory <v2>/fangs/<run_id>. */
static void remove_other_v1_of(const fangs__cgroup *cg)
{
	const char *slash;
	if (cg->layout != FANGS__CG_HYBRID || !cg->v2 || !(slash = strrchr(cg->v2, '/')))
		return;
	remove_other_v1(cg->v1_all, slash + 1);
}

void fangs__cgroup_destroy(fangs__cgroup *cg)
{
	if (!cg)
		return;
	fangs__cgroup_kill(cg);
	remove_other_v1_of(cg);
	if (cg->v2)
		rmdir_tree(cg->v2);
	free(cg->v2);
	for (size_t i = 0; cg->v1[i]; i++) {
		rmdir_tree(cg->v1[i]);
		free(cg->v1[i]);
	}
	free_strv(cg->v1_all);
	memset(cg, 0, sizeof(*cg));
}

int fangs__cgroup_gc(const char *root, const char *run_id, int *removed)
{
	fangs__cg_mounts m;
	fangs__cgroup cg;
	size_t n = 0;
	int rc;

	if ((rc = fangs__cgroup_detect(root, &m)) < 0)
		return rc;
	memset(&cg, 0, sizeof(cg));
	cg.layout = m.layout;
	cg.v2 = fangs__asprintf("%s/fangs/%s", m.v2, run_id);
	if (!cg.v2) {
		fangs__cgroup_mounts_free(&m);
		return fangs__error_oom();
	}
	if (access(cg.v2, F_OK) != 0) {
		free(cg.v2);
		cg.v2 = NULL;
	}
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++) {
		char *p = m.v1[i] ? fangs__asprintf("%s/fangs/%s", m.v1[i], run_id) : NULL;
		if (p && access(p, F_OK) == 0)
			cg.v1[n++] = p;
		else
			free(p);
	}
	if (m.layout == FANGS__CG_HYBRID && !cg.v2)
		n += (size_t)remove_other_v1(m.v1_all, run_id);
	/* destroy removes the rest of runc's, named after the v2 directory */
	cg.v1_all = m.v1_all;
	m.v1_all = NULL;
	fangs__cgroup_mounts_free(&m);
	if (cg.v2 || n > 0) {
		fangs_info("removing leftover cgroup fangs/%s", run_id);
		(*removed)++;
	}
	fangs__cgroup_destroy(&cg);
	return 0;
}
