/*
 * probe.c - host-side probes shared by the sandbox tests.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fangs-build-config.h"

#include "core/cgroup.h"
#include "fangs/errors.h"
#include "fangs/sandbox.h"
#include "probe.h"

char *sb_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	buf = calloc(1, 1 << 20);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The cgroups a run gets, as the sandbox finds them: <v2>/fangs and, on
 * hybrid hosts, <memory|pids|cpu mount>/fangs. */
static fangs__cg_mounts *mounts(void)
{
	static fangs__cg_mounts m;
	if (!m.v2)
		ck_assert_msg(fangs__cgroup_detect(NULL, &m) == 0, "%s", fangs_error_last());
	return &m;
}

static int count_procs(const char *dir)
{
	char path[1024];
	FILE *f;
	DIR *d;
	struct dirent *de;
	long pid;
	int n = 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fscanf(f, "%ld", &pid) == 1)
		n++;
	fclose(f);
	if (!(d = opendir(dir)))
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += count_procs(path);
	}
	closedir(d);
	return n;
}

int sb_procs_in_cgroup(const char *run_id)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/fangs/%s", mounts()->v2, run_id);
	return count_procs(path);
}

int sb_cgroup_exists(const char *run_id)
{
	char *const *v1 = mounts()->v1_all;
	char path[512];
	snprintf(path, sizeof(path), "%s/fangs/%s", mounts()->v2, run_id);
	if (access(path, F_OK) == 0)
		return 1;
	/* every v1 hierarchy: runc (docker) makes the run's in each */
	for (size_t i = 0; v1 && v1[i]; i++) {
		snprintf(path, sizeof(path), "%s/fangs/%s", v1[i], run_id);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

int sb_host_ipv4(char *out, size_t cap)
{
	struct ifaddrs *ifs, *i;
	int rc = -1;
	if (getifaddrs(&ifs) < 0)
		return -1;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
		if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)cap);
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}

int sb_listen(const char *addr, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int sb_accept_pending(int lfd)
{
	int n = 0, c;
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	while ((c = accept(lfd, NULL, NULL)) >= 0) {
		n++;
		close(c);
	}
	return n;
}

void sb_tmpdir(char *out, size_t cap, const char *tag)
{
	snprintf(out, cap, "/var/tmp/fangs-sandbox-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(out));
	ck_assert_int_eq(chmod(out, 0755), 0);
}

void sb_rm_rf(const char *path)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

const char *sb_docker_socket;
const char *sb_docker_image = "fangs-sandbox:latest";
#define DOCKERD_DIR "/var/tmp/fangs-sandbox-test-dockerd"
#define DOCKERD_SOCK DOCKERD_DIR "/docker.sock"
#define DOCKERD_MARK DOCKERD_DIR "/started-by-tests"

static int socket_answers(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	if (fd < 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

static int docker_cli(const char *args)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "DOCKER_HOST=unix://%s %s", sb_docker_socket, args);
	return system(cmd);
}

static pid_t pidfile_pid(void)
{
	FILE *f = fopen(DOCKERD_DIR "/pid", "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Our own dockerd, detached (double fork), so that it outlives the test
 * process that had to (re)start it; the mark says the tests own it. */
static void spawn_dockerd(void)
{
	pid_t pid;
	int st;
	if (system("mkdir -p " DOCKERD_DIR) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		if (fork() == 0) {
			int log = open(DOCKERD_DIR "/log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (log >= 0) {
				dup2(log, 1);
				dup2(log, 2);
			}
			setsid();
			execlp("dockerd", "dockerd", "--data-root", DOCKERD_DIR "/root", "--exec-root",
			       DOCKERD_DIR "/exec", "--pidfile", DOCKERD_DIR "/pid", "-H", "unix://" DOCKERD_SOCK,
			       "--exec-opt", "native.cgroupdriver=cgroupfs", (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(pid, &st, 0);
	close(open(DOCKERD_MARK, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (int i = 0; i < 600 && !socket_answers(DOCKERD_SOCK); i++)
		usleep(100000);
}

/* Test processes that use the daemon hold a shared lock; the last one
 * out stops it (when the tests started it). */
static int users_fd = -1;

void sb_docker_start(void)
{
	const char *env = getenv("FANGS_TEST_DOCKER_SOCKET");
	char cmd[1024];

	if (users_fd < 0 && system("mkdir -p " DOCKERD_DIR) == 0) {
		users_fd = open(DOCKERD_DIR "/users", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (users_fd >= 0)
			flock(users_fd, LOCK_SH);
	}
	if (env && socket_answers(env)) {
		sb_docker_socket = env;
	} else if (socket_answers("/var/run/docker.sock")) {
		sb_docker_socket = "/var/run/docker.sock";
	} else {
		sb_docker_socket = DOCKERD_SOCK;
		if (!socket_answers(DOCKERD_SOCK))
			spawn_dockerd();
	}
	if (!socket_answers(sb_docker_socket)) {
		fprintf(stderr, "no docker daemon (see %s/log)\n", DOCKERD_DIR);
		sb_docker_socket = NULL;
		return;
	}
	snprintf(cmd, sizeof(cmd), "docker image inspect %s >/dev/null 2>&1", sb_docker_image);
	if (docker_cli(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "'%s/scripts/build-sandbox-image' %s >/dev/null", FANGS_SOURCE_ROOT,
			 sb_docker_image);
		if (docker_cli(cmd) != 0) {
			fprintf(stderr, "cannot build the sandbox image\n");
			sb_docker_socket = NULL;
		}
	}
}

void sb_docker_stop(void)
{
	pid_t pid;
	int last;
	if (users_fd < 0)
		return;
	last = flock(users_fd, LOCK_EX | LOCK_NB) == 0;
	close(users_fd);
	users_fd = -1;
	if (!last || access(DOCKERD_MARK, F_OK) != 0)
		return; /* still used, or not ours */
	unlink(DOCKERD_MARK);
	if ((pid = pidfile_pid()) <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(100000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

int sb_use_docker;

void sb_apply_backend(struct fangs_sandbox_options *o)
{
	if (!sb_use_docker)
		return;
	o->backend = "docker";
	o->docker_socket = sb_docker_socket;
	o->image = sb_docker_image;
}

void sb_docker_case_setup(void)
{
	sb_use_docker = 1;
	sb_docker_start();
}

void sb_docker_case_teardown(void)
{
	sb_use_docker = 0;
	sb_docker_stop();
}

void sb_require_docker(void)
{
	/* something else on this machine may have stopped the daemon */
	if (sb_docker_socket && !socket_answers(sb_docker_socket))
		sb_docker_start();
	ck_assert_msg(sb_docker_socket != NULL,
		      "no docker daemon and none could be started (dockerd, see " DOCKERD_DIR "/log)");
}
