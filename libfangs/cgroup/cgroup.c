/*
 * cgroup/cgroup.c - cgroup-v2 directories for runs (the public fangs/cgroup.h)
 * and the depth of a cgroup for the sensor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/internal.h"
#include "fangs/cgroup.h"

int fangs_cgroup_v2_root(char *buf, size_t len)
{
	fangs__cg_mounts m;
	int rc;

	if (!buf)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_v2_root: NULL buffer");
	/* the sandbox's answer too (fangs__cgroup_detect with its default root) */
	if ((rc = fangs__cgroup_detect(NULL, &m)))
		return rc;
	if (strlen(m.v2) >= len)
		rc = fangs_error_set(FANGS_EINVAL, "cgroup2 mount path longer than the buffer");
	else
		strcpy(buf, m.v2);
	fangs__cgroup_mounts_free(&m);
	return rc;
}

static int valid_run_id(const char *run_id)
{
	return run_id && *run_id && run_id[0] != '.' && !strchr(run_id, '/') && strlen(run_id) < 200;
}

int fangs_cgroup_create_run(const char *run_id, char *path, size_t len)
{
	char root[PATH_MAX], dir[PATH_MAX + 256];
	int rc;

	if (!valid_run_id(run_id))
		return fangs_error_set(FANGS_EINVAL, "invalid run id \"%s\"", run_id ? run_id : "(null)");
	if ((rc = fangs_cgroup_v2_root(root, sizeof(root))))
		return rc;
	snprintf(dir, sizeof(dir), "%s/fangs", root);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fangs__error_errno(errno == EACCES || errno == EPERM ? FANGS_EPERM : FANGS_EIO, dir);
	snprintf(dir, sizeof(dir), "%s/fangs/%s", root, run_id);
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return fangs_error_set(FANGS_EEXISTS, "%s: cgroup exists already", dir);
		return fangs__error_errno(errno == EACCES || errno == EPERM ? FANGS_EPERM : FANGS_EIO, dir);
	}
	if (path) {
		if (strlen(dir) >= len) {
			rmdir(dir);
			return fangs_error_set(FANGS_EINVAL, "cgroup path longer than the buffer");
		}
		strcpy(path, dir);
	}
	return 0;
}

int fangs_cgroup_remove(const char *path)
{
	if (!path)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_remove: NULL path");
	if (rmdir(path) < 0)
		return fangs__error_errno(errno == EBUSY ? FANGS_EBUSY : FANGS_EIO, path);
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0)
		return fangs__error_errno(FANGS_EIO, path);
	n = write(fd, text, strlen(text));
	if (n < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return fangs__error_errno(FANGS_EIO, path);
	}
	close(fd);
	return 0;
}

int fangs_cgroup_attach(const char *path, int pid)
{
	char file[PATH_MAX + 32], num[32];
	if (!path)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_attach: NULL path");
	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(num, sizeof(num), "%d", pid);
	return write_file(file, num);
}

int fangs_cgroup_kill(const char *path)
{
	char file[PATH_MAX + 32];
	if (!path)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_kill: NULL path");
	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	if (access(file, F_OK) < 0)
		return fangs_error_set(FANGS_EUNSUPPORTED, "%s: no cgroup.kill (needs Linux >= 5.14)", path);
	return write_file(file, "1");
}

int fangs_cgroup_populated(const char *path)
{
	char file[PATH_MAX + 32];
	char *data = NULL, *p;
	size_t len;
	int rc;

	if (!path)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_populated: NULL path");
	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	if ((rc = fangs__read_file(file, &data, &len)))
		return rc;
	p = strstr(data, "populated ");
	rc = p ? (p[10] == '1') : fangs_error_set(FANGS_EPARSE, "%s: no \"populated\" line", file);
	free(data);
	return rc;
}

int fangs_cgroup_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	int mount_id;

	if (!path || !id)
		return fangs_error_set(FANGS_EINVAL, "fangs_cgroup_id: NULL argument");
	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return fangs__error_errno(errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO, path);
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return fangs_error_set(FANGS_EUNSUPPORTED, "%s: not a cgroup-v2 directory", path);
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int fangs__cgroup_level(const char *root, const char *path)
{
	size_t rl = strlen(root);
	int level = 0;
	const char *p;

	if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
		return -1;
	for (p = path + rl; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	return level;
}
