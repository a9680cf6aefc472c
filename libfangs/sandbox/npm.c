/*
 * sandbox/npm.c - the install command line, which depends on npm's version:
 * npm 11 skips dependency lifecycle scripts unless told to run them all.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/fsutil.h"
#include "sandbox/internal.h"

/* The major version a node_version.h declares, or -1. */
static int header_major(const char *prefix)
{
	char path[4096], buf[8192];
	FILE *f;
	size_t n;
	const char *p;
	snprintf(path, sizeof(path), "%s/include/node/common.gypi", prefix);
	if (access(path, R_OK) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/include/node/node_version.h", prefix);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strstr(buf, "#define NODE_MAJOR_VERSION ")))
		return -1;
	return atoi(p + strlen("#define NODE_MAJOR_VERSION "));
}

/* Looks for the headers of the node the sandbox runs (the first node in the
 * sandbox's PATH): beside it (<prefix>/bin/node, <prefix>/include/node), else
 * in /usr or /usr/local, of the same major version, under /usr (what the ns
 * sandbox shows of the host). */
static void find_node_headers(char *out, size_t cap)
{
	char node[4096], real[PATH_MAX], prefix[PATH_MAX], ver[64];
	const char *found = NULL;
	int major = -1;

	out[0] = '\0';
	for (const char *p = FANGS__PATH_INSIDE; *p && !found;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(node, sizeof(node), "%.*s/node", (int)len, p);
		if (access(node, X_OK) == 0)
			found = node;
		p += len + (end ? 1 : 0);
	}
	if (!found || !realpath(found, real)) {
		fangs_debug("no node in the sandbox's PATH: node-gyp has no headers");
		return;
	}
	const char *argv[] = {real, "--version", NULL};
	int status = fangs__run_capture(argv, NULL, ver, sizeof(ver));
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || ver[0] != 'v' ||
	    (major = atoi(ver + 1)) <= 0) {
		fangs_warn("cannot run '%s --version': node-gyp has no headers in the sandbox", real);
		return;
	}
	/* <prefix>/bin/node */
	snprintf(prefix, sizeof(prefix), "%s", real);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(prefix, '/');
		if (slash)
			*slash = '\0';
	}
	const char *candidates[] = {prefix, "/usr", "/usr/local"};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(candidates); i++) {
		const char *c = candidates[i];
		if (strncmp(c, "/usr", 4) != 0 || (c[4] != '\0' && c[4] != '/'))
			continue;
		if (header_major(c) == major) {
			snprintf(out, cap, "%s", c);
			return;
		}
	}
	fangs_warn("no headers of node %d (include/node/node_version.h and common.gypi under %s, /usr or "
		   "/usr/local): node-gyp will try to download them, which fails with no network (install "
		   "the headers of this node: Debian's libnode-dev)",
		   major, prefix);
}

static pthread_mutex_t headers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t headers_cond = PTHREAD_COND_INITIALIZER;
static int headers_state; /* 0 not looked for, 1 being looked for, 2 known */
static char headers_prefix[PATH_MAX];

static void *headers_thread(void *arg)
{
	char found[PATH_MAX];
	(void)arg;
	find_node_headers(found, sizeof(found));
	pthread_mutex_lock(&headers_lock);
	memcpy(headers_prefix, found, sizeof(found));
	headers_state = 2;
	pthread_cond_broadcast(&headers_cond);
	pthread_mutex_unlock(&headers_lock);
	return NULL;
}

void fangs__node_headers_start(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_mutex_lock(&headers_lock);
	if (headers_state == 0 && pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, headers_thread, NULL) == 0)
			headers_state = 1;
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&headers_lock);
}

int fangs__node_headers(char *out, size_t cap)
{
	pthread_mutex_lock(&headers_lock);
	while (headers_state == 1)
		pthread_cond_wait(&headers_cond, &headers_lock);
	if (headers_state == 0) {
		find_node_headers(headers_prefix, sizeof(headers_prefix));
		headers_state = 2;
	}
	snprintf(out, cap, "%s", headers_prefix);
	pthread_mutex_unlock(&headers_lock);
	return out[0] ? 0 : FANGS_ENOTFOUND;
}

void fangs__strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

typedef struct strv {
	char **items;
	size_t count;
	size_t capacity;
} strv;

static int push(strv *v, const char *s)
{
	char *d;
	/* keep room for the NULL terminator */
	if (fangs__grow((void **)&v->items, &v->capacity, v->count + 1, sizeof(*v->items)) < 0)
		return FANGS_ENOMEM;
	if (!(d = fangs__strdup(s)))
		return FANGS_ENOMEM;
	v->items[v->count++] = d;
	return 0;
}

/* Copies the top-level regular files of a prefetched project (manifest,
 * lockfile, local tarballs), never its node_modules. */
static int copy_project(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int rc = 0, have_lock = 0;
	if (!d)
		return fangs_error_set(FANGS_ENOTFOUND, "project directory %s: %s", from, strerror(errno));
	while (rc == 0 && (de = readdir(d))) {
		char src[4096], dst[4096];
		struct stat st;
		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (strcmp(de->d_name, "package-lock.json") == 0 || strcmp(de->d_name, "npm-shrinkwrap.json") == 0)
			have_lock = 1;
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		rc = fangs__copy_file(src, dst);
	}
	closedir(d);
	if (rc == 0 && !have_lock)
		rc = fangs_error_set(FANGS_EINVAL,
				     "project directory %s has no package-lock.json: prepare it with fangs_prefetch()",
				     from);
	return rc;
}

/* A local tarball spec is copied into the project and named relative to it,
 * since the host path does not exist inside. */
static int local_spec(const char *spec, const char *project_dir, char **out)
{
	struct stat st;
	const char *base;
	char dst[4096];
	int rc;
	*out = NULL;
	if (!fangs__str_has_suffix(spec, ".tgz") && !fangs__str_has_suffix(spec, ".tar.gz"))
		return 0;
	if (stat(spec, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	base = strrchr(spec, '/');
	base = base ? base + 1 : spec;
	snprintf(dst, sizeof(dst), "%s/%s", project_dir, base);
	if ((rc = fangs__copy_file(spec, dst)) < 0)
		return rc;
	*out = fangs__asprintf("./%s", base);
	return *out ? 0 : FANGS_ENOMEM;
}

int fangs__npm_command(char ***argv_out, const fangs_sandbox_spec *spec, const char *npm, int npm_major,
		       const char *project_dir)
{
	strv v = {NULL, 0, 0};
	int rc = 0;

	*argv_out = NULL;
	if (spec->argv) {
		for (size_t i = 0; spec->argv[i] && rc == 0; i++)
			rc = push(&v, spec->argv[i]);
		if (rc == 0 && v.count == 0)
			rc = fangs_error_set(FANGS_EINVAL, "spec.argv is empty");
		goto done;
	}
	if (npm_major < 0) {
		rc = fangs_error_set(FANGS_ESANDBOX,
				     "cannot tell npm's version (is '%s' installed?); set options.npm_major", npm);
		goto done;
	}
	if (!spec->project_dir && spec->nspecs == 0) {
		rc = fangs_error_set(FANGS_EINVAL, "nothing to install: give spec.project_dir or spec.specs");
		goto done;
	}
	if (spec->project_dir) {
		if ((rc = copy_project(spec->project_dir, project_dir)) < 0)
			goto done;
		/* `npm install` from the lockfile, not `npm ci`: optional
		 * dependencies the registry does not serve (other platforms'
		 * binaries, unpublished or missing from a mirror) are left out
		 * of the lockfile, and `npm ci` then refuses the whole install
		 * ("Missing: ... from lock file") where `npm install` skips
		 * them, as on a developer's machine. */
		rc = push(&v, npm);
		if (!rc)
			rc = push(&v, spec->version >= 3 && spec->lockfile_exact ? "ci" : "install");
		if (!rc && spec->cache_dir)
			rc = push(&v, "--offline");
	} else {
		if ((rc = fangs__write_at(project_dir, "package.json", "{\"name\":\"app\",\"private\":true}\n", 0644)) <
		    0)
			goto done;
		rc = push(&v, npm);
		if (!rc)
			rc = push(&v, "install");
	}
	/* The host's npmrc may drop `resolved` from lockfiles, which makes an
	 * offline install fail; scripts run in the foreground so that their
	 * output lands in the install's output. */
	static const char *const common[] = {"--omit-lockfile-registry-resolved=false", "--no-audit", "--no-fund",
					     "--update-notifier=false", "--foreground-scripts"};
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(common) && rc == 0; i++)
		rc = push(&v, common[i]);
	/* a lockfile without `resolved` (npm's omit-lockfile-registry-resolved)
	 * names no registry: npm asks its configured one, which must be the one
	 * the host's prefetch filled the cache from */
	if (rc == 0 && spec->version >= 3 && spec->lockfile_exact && spec->registry) {
		char *reg = fangs__asprintf("--registry=%s", spec->registry);
		rc = reg ? push(&v, reg) : FANGS_ENOMEM;
		free(reg);
	}
	if (rc == 0 && npm_major >= 11 && !(spec->version >= 3 && spec->approved_scripts_only))
		rc = push(&v, "--dangerously-allow-all-scripts");
	/* whatever a spec starts with, npm reads it as a spec, not an option */
	if (rc == 0 && !spec->project_dir && spec->nspecs)
		rc = push(&v, "--");
	for (size_t i = 0; i < spec->nspecs && !spec->project_dir && rc == 0; i++) {
		char *local = NULL;
		if (!spec->specs[i] || !spec->specs[i][0]) {
			rc = fangs_error_set(FANGS_EINVAL, "empty install spec");
			break;
		}
		if ((rc = local_spec(spec->specs[i], project_dir, &local)) < 0)
			break;
		rc = push(&v, local ? local : spec->specs[i]);
		free(local);
	}
done:
	if (rc < 0) {
		fangs__strv_free(v.items);
		return rc;
	}
	*argv_out = v.items;
	return 0;
}

int fangs__import_step(char ***argv_out, int64_t *timeout_ms, const fangs_sandbox_spec *spec)
{
	strv v = {NULL, 0, 0};
	int rc = 0;

	*argv_out = NULL;
	*timeout_ms = spec->import_timeout_ms > 0 ? spec->import_timeout_ms : FANGS_SANDBOX_IMPORT_TIMEOUT_MS;
	if (!spec->import_argv)
		return 0;
	for (size_t i = 0; spec->import_argv[i] && rc == 0; i++)
		rc = push(&v, spec->import_argv[i]);
	if (rc == 0 && v.count == 0)
		rc = fangs_error_set(FANGS_EINVAL, "spec.import_argv is empty");
	if (rc < 0) {
		fangs__strv_free(v.items);
		return rc;
	}
	*argv_out = v.items;
	return 0;
}
