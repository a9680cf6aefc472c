/*
 * test_npm.c - host-side prefetch and the offline install in the sandbox,
 * with lifecycle scripts and no network. Everything stays on this machine:
 * the fixture is a local package, the "registries" listen on loopback.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fangs/fangs.h"
#include "fangs-build-config.h"
#include "probe.h"

static char dir[256], cache[300], project[300], work[300];

static void setup(void)
{
	sb_tmpdir(dir, sizeof(dir), "npmtest");
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(project, sizeof(project), "%s/project", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
}

static void teardown(void)
{
	sb_rm_rf(dir);
}

static void docker_setup(void)
{
	sb_require_docker();
	setup();
}

static void fixture(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/tests/fixtures/packages/%s", FANGS_SOURCE_ROOT, name);
}

static int prefetch(const char *spec, const char *registry, fangs_prefetch_result *res)
{
	fangs_prefetch_options o = FANGS_PREFETCH_OPTIONS_INIT;
	const char *specs[] = {spec};
	o.specs = specs;
	o.nspecs = 1;
	o.registry = registry;
	o.cache_dir = cache;
	o.project_dir = project;
	o.fetch_retries = -1;
	return fangs_prefetch(&o, res);
}

/* Runs the spec in a sandbox with no network and checks that the fixture's
 * postinstall script ran inside. */
static void install_and_check(fangs_sandbox_spec *s, const char *tag)
{
	fangs_sandbox_options o = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox *sb = NULL;
	fangs_sandbox_run *run = NULL;
	fangs_sandbox_result r;
	char path[4096], id[64];

	sb_apply_backend(&o);
	o.work_root = work;
	o.duration_ms = 60000;
	o.grace_ms = 200;
	ck_assert_int_eq(o.network, FANGS_SANDBOX_NET_NONE);
	ck_assert_msg(fangs_sandbox_new(&sb, &o) == 0, "%s", fangs_error_last());
	snprintf(id, sizeof(id), "t-npm-%s-%d", tag, (int)getpid());
	s->run_id = id;
	ck_assert_msg(fangs_sandbox_prepare(sb, s, &run) == 0, "%s", fangs_error_last());
	ck_assert_msg(fangs_sandbox_start(run) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sandbox_wait(run, &r), 0);
	ck_assert_msg(r.exit_code == 0, "npm failed (%d):\n%s", r.exit_code, r.output);
	ck_assert_int_eq(r.timed_out, 0);
	ck_assert_msg(strstr(r.output, "added 1 package"), "%s", r.output);

	snprintf(path, sizeof(path), "%s/node_modules/benign/postinstall-ran.txt", fangs_sandbox_project_dir(run));
	char *ran = sb_read(path);
	ck_assert_str_eq(ran, "postinstall\n");
	free(ran);
	fangs_sandbox_result_clear(&r);
	fangs_sandbox_run_free(run);
	fangs_sandbox_free(sb);
	s->run_id = NULL; /* id is this frame's */
}

/* prefetch on the host, then npm install --offline inside a sandbox with no network */
static void install_offline(const char *spec, const char *tag)
{
	fangs_prefetch_result pre;
	fangs_sandbox_spec s = FANGS_SANDBOX_SPEC_INIT;
	char path[4096];

	ck_assert_msg(prefetch(spec, NULL, &pre) == 0, "prefetch: %s\n%s", fangs_error_last(), pre.output);
	fangs_prefetch_result_clear(&pre);
	snprintf(path, sizeof(path), "%s/package-lock.json", project);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/node_modules", project);
	ck_assert_msg(access(path, F_OK) != 0, "nothing installed on the host");
	s.project_dir = project;
	s.cache_dir = cache;
	install_and_check(&s, tag);
}

/* npm pack of the fixture, scripts off, into the test's directory. */
static void pack_fixture(char *tgz, size_t cap)
{
	char pkg[4096], cmd[8192];
	fixture(pkg, sizeof(pkg), "benign-1.0.0");
	snprintf(cmd, sizeof(cmd), "cd '%s' && npm pack --ignore-scripts '%s' >/dev/null 2>&1", dir, pkg);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(tgz, cap, "%s/benign-1.0.0.tgz", dir);
	ck_assert_int_eq(access(tgz, F_OK), 0);
}

START_TEST(test_install_dir_runs_scripts_offline)
{
	char pkg[4096];
	fixture(pkg, sizeof(pkg), "benign-1.0.0");
	install_offline(pkg, "dir");
}
END_TEST

START_TEST(test_install_tarball_runs_scripts_offline)
{
	char tgz[4096];
	pack_fixture(tgz, sizeof(tgz));
	install_offline(tgz, "tgz");
}
END_TEST

/* Without a prefetched project: `npm install ./x.tgz` of a local tarball
 * needs no registry either. */
START_TEST(test_install_spec_tarball_without_prefetch)
{
	fangs_sandbox_spec s = FANGS_SANDBOX_SPEC_INIT;
	char tgz[4096];
	pack_fixture(tgz, sizeof(tgz));
	const char *specs[] = {tgz};
	s.specs = specs;
	s.nspecs = 1;
	install_and_check(&s, "spec");
}
END_TEST

/* npm's cache inside: ~/.npm, writable (prebuild-install keeps downloads
 * there), with the host's _cacache read-only in it; node-gyp gets the
 * headers of the node that runs inside. The host's cache is not written. */
START_TEST(test_npm_cache_and_headers_inside)
{
	fangs_prefetch_result pre;
	fangs_sandbox_options o = FANGS_SANDBOX_OPTIONS_INIT;
	fangs_sandbox_spec s = FANGS_SANDBOX_SPEC_INIT;
	fangs_sandbox *sb = NULL;
	fangs_sandbox_run *run = NULL;
	fangs_sandbox_result r;
	char pkg[4096], path[4096], id[64];
	const char *argv[] = {
		"/bin/sh", "-c",
		"echo \"cache=$(npm config get cache)\"; ls ~/.npm/_cacache/index-v5 >/dev/null && echo cacache=ok;"
		"touch ~/.npm/_cacache/fangs-x 2>/dev/null; echo \"cacache-write=$?\";"
		"mkdir -p ~/.npm/_prebuilds && echo p > ~/.npm/_prebuilds/f && echo prebuilds=ok;"
		"d=$(npm config get nodedir); test -f \"$d/include/node/common.gypi\" && echo \"nodedir=$d\";"
		"echo \"jobs=$(npm config get jobs)\";"
		"for t in cc c++ make python3; do command -v $t >/dev/null && echo \"have-$t\"; done",
		NULL};

	fixture(pkg, sizeof(pkg), "benign-1.0.0");
	ck_assert_msg(prefetch(pkg, NULL, &pre) == 0, "prefetch: %s\n%s", fangs_error_last(), pre.output);
	fangs_prefetch_result_clear(&pre);
	o.work_root = work;
	o.grace_ms = 100;
	o.limits.cpu_millis = 2000; /* two CPUs: node-gyp's make gets two jobs */
	ck_assert_msg(fangs_sandbox_new(&sb, &o) == 0, "%s", fangs_error_last());
	snprintf(id, sizeof(id), "t-npm-cache-%d", (int)getpid());
	s.run_id = id;
	s.project_dir = project;
	s.cache_dir = cache;
	s.argv = argv;
	ck_assert_msg(fangs_sandbox_prepare(sb, &s, &run) == 0, "%s", fangs_error_last());
	ck_assert_msg(fangs_sandbox_start(run) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sandbox_wait(run, &r), 0);
	/* npm's default, ~/.npm, in the run's HOME: no setting in the environment */
	ck_assert_msg(strstr(r.output, "/.npm\ncacache=ok"), "%s", r.output);
	ck_assert_msg(strstr(r.output, "cacache=ok"), "%s", r.output);
	ck_assert_msg(strstr(r.output, "cacache-write=1"), "the host's _cacache is read-only: %s", r.output);
	ck_assert_msg(strstr(r.output, "prebuilds=ok"), "%s", r.output);
	ck_assert_msg(strstr(r.output, "nodedir=/usr"), "node's headers, under /usr: %s", r.output);
	ck_assert_msg(strstr(r.output, "jobs=2\n"), "node-gyp's jobs for two CPUs: %s", r.output);
	ck_assert_msg(strstr(r.output, "have-cc\nhave-c++\nhave-make\nhave-python3"), "%s", r.output);
	fangs_sandbox_result_clear(&r);
	fangs_sandbox_run_free(run);
	fangs_sandbox_free(sb);
	snprintf(path, sizeof(path), "%s/_prebuilds", cache);
	ck_assert_msg(access(path, F_OK) != 0, "the sandbox wrote into the host's cache");
	snprintf(path, sizeof(path), "%s/_cacache/fangs-x", cache);
	ck_assert_msg(access(path, F_OK) != 0, "the sandbox wrote into the host's cache");
}
END_TEST

START_TEST(test_prefetch_corrupt_tarball)
{
	fangs_prefetch_result res;
	char tgz[512];
	int fd;
	snprintf(tgz, sizeof(tgz), "%s/broken-1.0.0.tgz", dir);
	fd = open(tgz, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "this is not a gzip'd tar archive at all.......", 46), 46);
	close(fd);
	ck_assert_int_eq(prefetch(tgz, NULL, &res), FANGS_EPARSE);
	ck_assert_msg(strstr(fangs_error_last(), "corrupt tarball"), "%s", fangs_error_last());
	ck_assert_ptr_nonnull(res.output);
	fangs_prefetch_result_clear(&res);
}
END_TEST

START_TEST(test_prefetch_unreachable_registry)
{
	fangs_prefetch_result res;
	char url[64];
	int port, fd = sb_listen("127.0.0.1", &port);
	/* a port that was just free and is closed again: connection refused */
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	ck_assert_int_eq(prefetch("left-pad@1.3.0", url, &res), FANGS_ENETWORK);
	ck_assert_msg(strstr(fangs_error_last(), "unreachable") && strstr(fangs_error_last(), url), "%s",
		      fangs_error_last());
	fangs_prefetch_result_clear(&res);
}
END_TEST

/* A registry on loopback that has no package at all. */
static void *empty_registry(void *arg)
{
	int lfd = *(int *)arg, c;
	while ((c = accept(lfd, NULL, NULL)) >= 0) {
		char buf[8192];
		static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
					   "Content-Length: 21\r\nConnection: close\r\n\r\n{\"error\":\"Not found\"}";
		if (read(c, buf, sizeof(buf)) > 0 && write(c, resp, sizeof(resp) - 1) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

START_TEST(test_prefetch_missing_package)
{
	fangs_prefetch_result res;
	pthread_t t;
	char url[64];
	int port, lfd = sb_listen("127.0.0.1", &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	ck_assert_int_eq(pthread_create(&t, NULL, empty_registry, &lfd), 0);
	ck_assert_int_eq(prefetch("no-such-package-fangs@1.0.0", url, &res), FANGS_ENOTFOUND);
	ck_assert_msg(strstr(fangs_error_last(), "no-such-package-fangs") && strstr(fangs_error_last(), "not found"),
		      "%s", fangs_error_last());
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
	fangs_prefetch_result_clear(&res);
}
END_TEST

START_TEST(test_prefetch_bad_input)
{
	fangs_prefetch_options o = FANGS_PREFETCH_OPTIONS_INIT;
	ck_assert_int_eq(fangs_prefetch(&o, NULL), FANGS_EINVAL);
	ck_assert_int_eq(fangs_prefetch(NULL, NULL), FANGS_EINVAL);
	/* a project that exists already is not overwritten */
	ck_assert_int_eq(mkdir(project, 0755), 0);
	int fd = open(strcat(strcpy((char[512]){0}, project), "/package.json"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	ck_assert_int_eq(prefetch("left-pad@1.3.0", "http://127.0.0.1:9/", NULL), FANGS_EEXISTS);
}
END_TEST

Suite *npm_suite(void);
Suite *npm_suite(void)
{
	Suite *s = suite_create("npm");
	TCase *tc = tcase_create("prefetch+install");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_install_dir_runs_scripts_offline);
	tcase_add_test(tc, test_install_tarball_runs_scripts_offline);
	tcase_add_test(tc, test_install_spec_tarball_without_prefetch);
	tcase_add_test(tc, test_npm_cache_and_headers_inside);
	tcase_add_test(tc, test_prefetch_corrupt_tarball);
	tcase_add_test(tc, test_prefetch_unreachable_registry);
	tcase_add_test(tc, test_prefetch_missing_package);
	tcase_add_test(tc, test_prefetch_bad_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("docker");
	tcase_add_unchecked_fixture(tc, sb_docker_case_setup, sb_docker_case_teardown);
	tcase_add_checked_fixture(tc, docker_setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_install_dir_runs_scripts_offline);
	suite_add_tcase(s, tc);
	return s;
}
