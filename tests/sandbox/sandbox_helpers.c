/*
 * sandbox_helpers.c - host-side probes shared by the sandbox tests.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox_helpers.h"

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

static const char *v2_parent(void)
{
	return access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup/unified/fangs"
									: "/sys/fs/cgroup/fangs";
}

int sb_procs_in_cgroup(const char *run_id)
{
	char path[512];
	FILE *f;
	long pid;
	int n = 0;
	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", v2_parent(), run_id);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fscanf(f, "%ld", &pid) == 1)
		n++;
	fclose(f);
	return n;
}

int sb_cgroup_exists(const char *run_id)
{
	static const char *const v1[] = {"memory", "pids", "cpu"};
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", v2_parent(), run_id);
	if (access(path, F_OK) == 0)
		return 1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/fangs/%s", v1[i], run_id);
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
	snprintf(out, cap, "/tmp/fangs-%s-XXXXXX", tag);
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
