/*
 * probe.h - host-side probes shared by the sandbox tests.
 */
#ifndef FANGS_TEST_SANDBOX_PROBE_H
#define FANGS_TEST_SANDBOX_PROBE_H

#include <stddef.h>

/* Whole file, NUL-terminated (fails the test when unreadable). */
char *sb_read(const char *path);
/* Processes in the run's cgroup-v2 directory and below; 0 when it does not exist. */
int sb_procs_in_cgroup(const char *run_id);
/* 1 when any of the run's cgroup directories exists. */
int sb_cgroup_exists(const char *run_id);
/* First non-loopback IPv4 address of this host; 0 or -1. */
int sb_host_ipv4(char *out, size_t cap);
/* A TCP listener on addr, port chosen by the kernel. */
int sb_listen(const char *addr, int *port);
/* Connections waiting on a listener, without blocking. */
int sb_accept_pending(int lfd);
/* mkdtemp under /var/tmp, reachable by the sandbox's unprivileged uid. */
void sb_tmpdir(char *out, size_t cap, const char *tag);
/* The docker daemon for the docker backend's tests: the one at
 * FANGS_TEST_DOCKER_SOCKET or /var/run/docker.sock, or one started here
 * (stopped by sb_docker_stop). Builds the sandbox image when missing.
 * Fails the test when neither works. */
void sb_docker_start(void);
void sb_docker_stop(void);
extern const char *sb_docker_socket;
extern const char *sb_docker_image;

/* Set by the docker test cases' fixture: base options then use docker. */
extern int sb_use_docker;
struct fangs_sandbox_options;
void sb_apply_backend(struct fangs_sandbox_options *o);
void sb_docker_case_setup(void);    /* unchecked: starts dockerd, sets sb_use_docker */
void sb_docker_case_teardown(void); /* unchecked */
void sb_require_docker(void);       /* checked: fails the test without a daemon */

/* rm -rf */
void sb_rm_rf(const char *path);

#endif
