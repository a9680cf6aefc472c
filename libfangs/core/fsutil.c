/*
 * sandbox/fsutil.c - file functions for preparing and removing run directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/fsutil.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fangs__write_at(const char *dir, const char *name, const char *data, mode_t mode)
{
	char path[4096];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return fangs__error_errno(FANGS_EIO, path);
	if (write_all(fd, data, strlen(data)) < 0 || fchmod(fd, mode) < 0) {
		int rc = fangs__error_errno(FANGS_EIO, path);
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

int fangs__mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return fangs_error_set(FANGS_EINVAL, "bad directory path '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return fangs__error_errno(FANGS_EIO, buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return fangs__error_errno(FANGS_EIO, buf);
	return 0;
}

int fangs__copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return fangs__error_errno(errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO, from);
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
		rc = fangs__error_errno(FANGS_EIO, to);
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = fangs__error_errno(FANGS_EIO, from);
			break;
		}
		if (write_all(out, buf, (size_t)n) < 0) {
			rc = fangs__error_errno(FANGS_EIO, to);
			break;
		}
	}
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = fangs__error_errno(FANGS_EIO, to);
	return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR) {
		if (rmdir(path) < 0 && errno != ENOENT)
			fangs_warn("cannot remove %s: %s", path, strerror(errno));
	} else if (unlink(path) < 0 && errno != ENOENT) {
		fangs_warn("cannot remove %s: %s", path, strerror(errno));
	}
	return 0;
}

static int unlock_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	/* a sandboxed package may leave directories without permissions; root
	 * reads them anyway unless its capabilities are restricted */
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

int fangs__rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : fangs__error_errno(FANGS_EIO, path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? fangs__error_errno(FANGS_EIO, path) : 0;
	nftw(path, unlock_one, 32, FTW_PHYS | FTW_MOUNT);
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return fangs__error_errno(FANGS_EIO, path);
	if (lstat(path, &st) == 0)
		return fangs_error_set(FANGS_EIO, "%s: could not be removed entirely", path);
	return 0;
}

/* nftw passes no user pointer; runs may be prepared on several threads */
static _Thread_local uid_t chown_uid;
static _Thread_local gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

int fangs__chown_r(const char *path, uid_t uid, gid_t gid)
{
	chown_uid = uid;
	chown_gid = gid;
	if (nftw(path, chown_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
		return fangs__error_errno(FANGS_EIO, path);
	return 0;
}

int fangs__run_capture(const char *const *argv, const char *cwd, char *out, size_t cap)
{
	int pfd[2], status = 0;
	size_t len = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fangs__error_errno(FANGS_EIO, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fangs__error_errno(FANGS_EIO, "fork");
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && cap > 1) {
			/* keep the tail: errors come last */
			size_t add = (size_t)n;
			if (add >= cap - 1) {
				memcpy(out, buf + add - (cap - 1), cap - 1);
				len = cap - 1;
			} else {
				if (len + add > cap - 1) {
					size_t drop = len + add - (cap - 1);
					memmove(out, out + drop, len - drop);
					len -= drop;
				}
				memcpy(out + len, buf, add);
				len += add;
			}
		}
	}
	close(pfd[0]);
	if (out && cap > 0)
		out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fangs__error_errno(FANGS_EIO, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return fangs_error_set(FANGS_ENOTFOUND, "%s: command not found", argv[0]);
	return status;
}

/* npm's major version from the package.json beside the npm-cli.js that
 * `npm` resolves to (what `npm --version` prints), found through PATH as
 * execvp would; <0 when `npm` is anything else (a wrapper script, a shim). */
static int npm_major_from_package(const char *npm)
{
	char path[PATH_MAX], real[PATH_MAX], *slash, *text = NULL;
	const char *found = NULL, *env;
	json_object *doc, *name, *version;
	size_t len = 0;
	int major = -1;

	if (strchr(npm, '/')) {
		found = npm;
	} else if ((env = getenv("PATH"))) {
		for (const char *p = env; *p && !found;) {
			size_t n = strcspn(p, ":");
			snprintf(path, sizeof(path), "%.*s/%s", (int)n, n ? p : ".", npm);
			if (access(path, X_OK) == 0)
				found = path;
			p += n + (p[n] == ':');
		}
	}
	if (!found || !realpath(found, real) || !(slash = strrchr(real, '/')) || strcmp(slash, "/npm-cli.js"))
		return -1;
	*slash = '\0';
	if (!(slash = strrchr(real, '/')) || strcmp(slash, "/bin"))
		return -1;
	snprintf(slash, sizeof(real) - (size_t)(slash - real), "/package.json");
	if (fangs__read_file(real, &text, &len))
		return -1;
	if ((doc = json_tokener_parse(text))) {
		if (json_object_object_get_ex(doc, "name", &name) && json_object_is_type(name, json_type_string) &&
		    !strcmp(json_object_get_string(name), "npm") &&
		    json_object_object_get_ex(doc, "version", &version) &&
		    json_object_is_type(version, json_type_string))
			major = atoi(json_object_get_string(version));
		json_object_put(doc);
	}
	free(text);
	return major > 0 ? major : -1;
}

int fangs__npm_major(const char *npm)
{
	const char *argv[] = {npm, "--version", NULL};
	char out[256];
	/* reading npm's package.json spares a node start-up (0.2 s and more) */
	int major = npm_major_from_package(npm);
	if (major > 0)
		return major;
	int status = fangs__run_capture(argv, NULL, out, sizeof(out));
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fangs_warn("cannot run '%s --version' to tell npm's version", npm);
		return -1;
	}
	/* the last line is the version; warnings come before it */
	char *line = out, *nl;
	while ((nl = strchr(line, '\n')) && nl[1])
		line = nl + 1;
	major = atoi(line);
	return major > 0 ? major : -1;
}
