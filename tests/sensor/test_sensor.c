/*
 * tests/sensor/test_sensor.c - the eBPF sensor, live: the actor performs
 * each behaviour inside a watched cgroup and the events must say exactly
 * what it did, who its ancestors were and which package it ran for.
 * Needs root on a kernel with BTF.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#ifndef SENSOR_ACTOR
#error SENSOR_ACTOR must name the actor program
#endif

static fangs_sensor *S;
static fangs_event_list EV;
static char RUN[64], CG[PATH_MAX], TMP[64], SELF_EXE[PATH_MAX];

static int collect(const fangs_event *ev, void *user)
{
	fangs_event *slot = fangs_event_list_push(&EV);
	(void)user;
	if (!slot || fangs_event_copy(slot, ev))
		return FANGS_ENOMEM;
	return 0;
}

static void setup(void)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	ssize_t n;
	int rc;

	fangs_log_set(fangs_log_stderr, FANGS_LOG_WARN, NULL);
	o.on_event = collect;
	o.probes = FANGS_SENSOR_PROBE_ALL | FANGS_SENSOR_PROBE_MODULES_RAW;
	rc = fangs_sensor_new(&S, &o);
	ck_assert_msg(rc == 0, "fangs_sensor_new: %s", fangs_error_last());
	snprintf(RUN, sizeof(RUN), "ck-%d", (int)getpid());
	rc = fangs_cgroup_create_run(RUN, CG, sizeof(CG));
	ck_assert_msg(rc == 0, "create cgroup: %s", fangs_error_last());
	rc = fangs_sensor_watch_cgroup(S, CG, RUN);
	ck_assert_msg(rc == 0, "watch: %s", fangs_error_last());
	snprintf(TMP, sizeof(TMP), "/tmp/fangs-sensor-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(TMP));
	n = readlink("/proc/self/exe", SELF_EXE, sizeof(SELF_EXE) - 1);
	ck_assert_int_gt(n, 0);
	SELF_EXE[n] = '\0';
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	fangs_sensor_unwatch(S, RUN);
	fangs_sensor_free(S);
	S = NULL;
	fangs_event_list_free(&EV);
	fangs_cgroup_remove(CG);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", TMP);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", TMP);
}

/* Runs argv in the watched cgroup (inside = 1) or where the test runs. */
static pid_t spawn(int inside, const char *cgroup, char *const argv[])
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (inside && fangs_cgroup_attach(cgroup, 0) != 0)
			_exit(120);
		execv(argv[0], argv);
		_exit(121);
	}
	return pid;
}

static const fangs_event *find_exit(pid_t pid)
{
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_PROC_EXIT && EV.items[i].pid == pid)
			return &EV.items[i];
	return NULL;
}

/* Every event of a process is in the ring buffer before its exit event, so
 * waiting for the exit is waiting for all of them. */
static void wait_exit_event(pid_t pid)
{
	time_t deadline = time(NULL) + 15;
	while (!find_exit(pid) && time(NULL) < deadline)
		ck_assert_int_ge(fangs_sensor_poll(S, 100), 0);
	ck_assert_msg(find_exit(pid) != NULL, "no process_exit event for pid %d", (int)pid);
}

static pid_t run_in(const char *cgroup, char *const argv[], int expect_status)
{
	int status;
	pid_t pid = spawn(1, cgroup, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == expect_status, "%s %s exited with status %d", argv[0],
		      argv[1] ? argv[1] : "", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	wait_exit_event(pid);
	return pid;
}

static pid_t actor(const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {SENSOR_ACTOR, (char *)a1, (char *)a2, (char *)a3, NULL};
	return run_in(CG, argv, 0);
}

static const fangs_event *find(fangs_event_kind kind, pid_t pid, const char *text)
{
	for (size_t i = 0; i < EV.count; i++) {
		const fangs_event *e = &EV.items[i];
		const char *t = NULL;
		if (e->kind != kind || (pid && e->pid != pid))
			continue;
		switch (kind) {
		case FANGS_EV_FILE_OPEN:
		case FANGS_EV_EXEC:
			t = e->path;
			break;
		case FANGS_EV_DNS_QUERY:
			t = e->qname;
			break;
		case FANGS_EV_TLS_SNI:
			t = e->sni;
			break;
		default:
			t = e->addr;
			break;
		}
		if (!text || (t && strcmp(t, text) == 0))
			return e;
	}
	return NULL;
}

static const fangs_event *must_find(fangs_event_kind kind, pid_t pid, const char *text)
{
	const fangs_event *e = find(kind, pid, text);
	ck_assert_msg(e != NULL, "no %s event of pid %d for \"%s\" among %zu events", fangs_event_kind_name(kind),
		      (int)pid, text ? text : "", EV.count);
	return e;
}

/* The acting process is the actor; its parent is this test program. */
static void assert_common(const fangs_event *e, pid_t pid)
{
	ck_assert_int_eq(e->pid, pid);
	ck_assert_int_eq(e->ppid, getpid());
	ck_assert_str_eq(e->run_id, RUN);
	ck_assert_str_eq(e->comm, "sensor-actor");
	ck_assert_uint_eq(e->uid, getuid());
	ck_assert_uint_ge(e->n_ancestry, 2);
	ck_assert_int_eq(e->ancestry[0].pid, getpid());
	ck_assert_str_eq(e->ancestry[0].exe, SELF_EXE);
	ck_assert_int_eq(e->ancestry[1].pid, getppid());
	ck_assert_ptr_null(e->origin.package);
}

static int listen_on(int family, const char *addr, int type, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd = socket(family, type, 0);

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)*port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)*port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	ck_assert_msg(bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %s:%d: %s", addr, *port, strerror(errno));
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 16), 0);
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

START_TEST(test_probes_all_live)
{
	static const char *const expected[] = {
		"tracepoint/syscalls/sys_enter_openat",
		"tracepoint/syscalls/sys_enter_openat2",
		"tracepoint/syscalls/sys_enter_open",
		"tracepoint/syscalls/sys_enter_creat",
		"raw_tp/sched_process_exec",
		"raw_tp/sched_process_fork",
		"raw_tp/sched_process_exit",
		"tracepoint/syscalls/sys_enter_connect",
		"tracepoint/syscalls/sys_enter_sendto",
		"tracepoint/syscalls/sys_enter_sendmmsg",
		"tracepoint/syscalls/sys_enter_write",
		"raw_tp/io_uring_submit_req",
		"raw_tp/io_uring_complete",
		"uprobe/SSL_ctrl:/usr/bin/node",
		"tracepoint/syscalls/sys_enter_sendmsg",
		"tracepoint/syscalls/sys_enter_writev",
		"tracepoint/syscalls/sys_enter_ptrace",
		"tracepoint/syscalls/sys_enter_mount",
		"tracepoint/syscalls/sys_enter_umount",
		"tracepoint/syscalls/sys_enter_fsopen",
		"tracepoint/syscalls/sys_enter_unshare",
		"tracepoint/syscalls/sys_enter_setns",
		"tracepoint/syscalls/sys_enter_clone",
		"tracepoint/syscalls/sys_enter_clone3",
		"tracepoint/syscalls/sys_enter_bpf",
		"tracepoint/syscalls/sys_enter_perf_event_open",
		"raw_tp/signal_generate",
	};
	const fangs_sensor_probe *p;
	size_t n;

	ck_assert_int_eq(fangs_sensor_probes(S, &p, &n), 0);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		int found = 0;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(p[j].name, expected[i]) == 0) {
				found = 1;
				ck_assert_msg(p[j].live, "%s not live: %s", p[j].name, p[j].reason);
			}
		}
		ck_assert_msg(found, "probe %s not listed", expected[i]);
	}
	/* module loading: its own tracepoints, or the raw_syscalls fallback when the
	 * kernel has none (built without modules); one of the two is live */
	{
		int modules = 0, fallback = 0;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(p[j].name, "tracepoint/syscalls/sys_enter_finit_module") == 0)
				modules = p[j].live;
			if (strcmp(p[j].name, "tracepoint/raw_syscalls/sys_enter") == 0)
				fallback = p[j].live;
		}
		ck_assert_msg(modules != fallback, "module probes: tracepoint live %d, fallback live %d", modules,
			      fallback);
	}
}
END_TEST

START_TEST(test_file_opens)
{
	/* actor command, file name, expected intent; the opens of missing
	 * files fail, and their intent is reported all the same */
	static const struct {
		const char *cmd, *file;
		uint32_t flags;
	} cases[] = {
		{"open", "read-openat", FANGS_OPEN_READ},       {"openat2", "read-openat2", FANGS_OPEN_READ},
		{"open-legacy", "read-open", FANGS_OPEN_READ},  {"creat", "creat", FANGS_OPEN_WRITE},
		{"write-open", "write-open", FANGS_OPEN_WRITE}, {"open-unpaged", "unpaged", FANGS_OPEN_READ},
	};
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/read-openat", TMP);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const fangs_event *e;
		pid_t pid;
		snprintf(path, sizeof(path), "%s/%s", TMP, cases[i].file);
		pid = actor(cases[i].cmd, path, NULL);
		e = must_find(FANGS_EV_FILE_OPEN, pid, path);
		assert_common(e, pid);
		ck_assert_uint_eq(e->flags, cases[i].flags);
	}
}
END_TEST

START_TEST(test_exec_argv)
{
	char script[1200];
	char *argv[] = {SENSOR_ACTOR, "exec", "/bin/sh", "-c", script, NULL};
	const fangs_event *e;
	pid_t pid;

	/* a long script survives whole: argv is read as one block */
	memset(script, ' ', sizeof(script));
	memcpy(script, "echo fangs > /dev/null;", 23);
	memcpy(script + sizeof(script) - 8, " exit 0", 8);
	pid = run_in(CG, argv, 0);

	e = must_find(FANGS_EV_EXEC, pid, SENSOR_ACTOR);
	assert_common(e, pid);
	ck_assert_uint_eq(e->argc, 5);
	ck_assert_str_eq(e->argv[1], "exec");

	e = must_find(FANGS_EV_EXEC, pid, "/bin/sh");
	ck_assert_str_eq(e->comm, "sh");
	ck_assert_int_eq(e->ppid, getpid());
	ck_assert_uint_eq(e->argc, 3);
	ck_assert_str_eq(e->argv[0], "/bin/sh");
	ck_assert_str_eq(e->argv[1], "-c");
	ck_assert_str_eq(e->argv[2], script);
	ck_assert_int_eq(find_exit(pid)->exit_code, 0);

	/* a relative path is reported as the binary's absolute path, read
	 * while the process still runs it (it sleeps long enough) */
	{
		char *rel[] = {"/bin/sh", "-c", "cd /bin && exec ./sleep 20", NULL};
		time_t deadline = time(NULL) + 15;
		const char *t;
		int status;
		pid = spawn(1, CG, rel);
		e = NULL;
		while (!e && time(NULL) < deadline) {
			ck_assert_int_ge(fangs_sensor_poll(S, 100), 0);
			for (size_t i = 0; i < EV.count && !e; i++)
				if (EV.items[i].kind == FANGS_EV_EXEC && EV.items[i].pid == pid && EV.items[i].argc &&
				    strcmp(EV.items[i].argv[0], "./sleep") == 0)
					e = &EV.items[i];
		}
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_ptr_nonnull(e);
		t = strrchr(e->path, '/');
		ck_assert_msg(e->path[0] == '/' && t && strcmp(t, "/sleep") == 0, "path %s", e->path);
		wait_exit_event(pid);
	}

	pid = actor("execveat", "/bin/true", "one-arg");
	e = must_find(FANGS_EV_EXEC, pid, "/bin/true");
	ck_assert_uint_eq(e->argc, 2);
	ck_assert_str_eq(e->argv[0], "/bin/true");
	ck_assert_str_eq(e->argv[1], "one-arg");
	ck_assert_str_eq(e->ancestry[0].exe, SELF_EXE);
}
END_TEST

START_TEST(test_fork_exit_code)
{
	char *argv[] = {"/bin/sh", "-c", "/bin/true & wait; exit 7", NULL};
	const fangs_event *fork_ev = NULL, *ex;
	pid_t pid = run_in(CG, argv, 7);

	ck_assert_int_eq(find_exit(pid)->exit_code, 7);
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_PROC_FORK && EV.items[i].ppid == pid)
			fork_ev = &EV.items[i];
	ck_assert_ptr_nonnull(fork_ev);
	ck_assert_str_eq(fork_ev->run_id, RUN);
	ck_assert_int_eq(fork_ev->ancestry[0].pid, pid);
	ck_assert_str_eq(fork_ev->ancestry[0].exe, "/bin/sh");
	ex = must_find(FANGS_EV_EXEC, fork_ev->pid, "/bin/true");
	ck_assert_int_eq(ex->ppid, pid);
	ck_assert_int_eq(ex->ancestry[1].pid, getpid());
}
END_TEST

START_TEST(test_connect)
{
	int p4 = 0, p6 = 0;
	int l4 = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &p4);
	int l6 = listen_on(AF_INET6, "::", SOCK_STREAM, &p6);
	char s4[16], s6[16];
	const fangs_event *e;
	pid_t pid;

	snprintf(s4, sizeof(s4), "%d", p4);
	snprintf(s6, sizeof(s6), "%d", p6);

	pid = actor("connect4", s4, NULL);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "127.0.0.1");
	assert_common(e, pid);
	ck_assert_int_eq(e->family, FANGS_FAMILY_IPV4);
	ck_assert_uint_eq(e->port, p4);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);

	pid = actor("connect6", s6, NULL);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "::1");
	ck_assert_int_eq(e->family, FANGS_FAMILY_IPV6);
	ck_assert_uint_eq(e->port, p6);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);

	/* an IPv4 peer through an IPv6 socket is reported as the IPv4 peer */
	pid = actor("connect4m", s6, NULL);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "127.0.0.1");
	ck_assert_int_eq(e->family, FANGS_FAMILY_IPV4);
	ck_assert_uint_eq(e->port, p6);

	{
		char sock[128];
		snprintf(sock, sizeof(sock), "%s/listener.sock", TMP);
		pid = actor("connect-unix", sock, NULL);
		e = must_find(FANGS_EV_NET_CONNECT, pid, sock);
		ck_assert_int_eq(e->family, FANGS_FAMILY_UNIX);
		ck_assert_uint_eq(e->port, 0);
		ck_assert_int_eq(e->proto, FANGS_PROTO_NONE);
		pid = actor("connect-unix", "@fangs-abstract", NULL);
		e = must_find(FANGS_EV_NET_CONNECT, pid, "@fangs-abstract");
		ck_assert_int_eq(e->family, FANGS_FAMILY_UNIX);
	}

	close(l4);
	close(l6);
}
END_TEST

START_TEST(test_dns)
{
	int port = 53, tport = 53;
	int u = listen_on(AF_INET, "127.0.0.77", SOCK_DGRAM, &port);
	int t = listen_on(AF_INET, "127.0.0.77", SOCK_STREAM, &tport);
	const fangs_event *e;
	pid_t pid;

	pid = actor("dns-sendto", "127.0.0.77", "a.fangs.test");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "a.fangs.test");
	assert_common(e, pid);
	ck_assert_uint_eq(e->qtype, 1);
	ck_assert_str_eq(e->addr, "127.0.0.77");
	ck_assert_uint_eq(e->port, 53);
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "127.0.0.77");
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);

	/* the resolver way: connect() then send with no address */
	pid = actor("dns-connect", "127.0.0.77", "b.fangs.test");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "b.fangs.test");
	ck_assert_uint_eq(e->qtype, 1);
	ck_assert_str_eq(e->addr, "127.0.0.77");
	ck_assert_uint_eq(e->port, 53);

	pid = actor("dns-sendmsg", "127.0.0.77", "d.fangs.test");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "d.fangs.test");
	ck_assert_uint_eq(e->qtype, 1);
	ck_assert_str_eq(e->addr, "127.0.0.77");
	e = must_find(FANGS_EV_NET_CONNECT, pid, "127.0.0.77");
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);
	ck_assert_uint_eq(e->port, 53);

	pid = actor("dns-sendmmsg", "127.0.0.77", "e.fangs.test");
	{
		int a = 0, aaaa = 0;
		for (size_t i = 0; i < EV.count; i++) {
			const fangs_event *q = &EV.items[i];
			if (q->kind != FANGS_EV_DNS_QUERY || q->pid != pid)
				continue;
			ck_assert_str_eq(q->qname, "e.fangs.test");
			ck_assert_str_eq(q->addr, "127.0.0.77");
			a += q->qtype == 1;
			aaaa += q->qtype == 28;
		}
		ck_assert_int_eq(a, 1);
		ck_assert_int_eq(aaaa, 1);
	}

	{
		int p6 = 53, u6 = listen_on(AF_INET6, "::1", SOCK_DGRAM, &p6);
		pid = actor("dns6-connect", "::1", "f.fangs.test");
		e = must_find(FANGS_EV_DNS_QUERY, pid, "f.fangs.test");
		ck_assert_uint_eq(e->qtype, 28);
		ck_assert_int_eq(e->family, FANGS_FAMILY_IPV6);
		ck_assert_str_eq(e->addr, "::1");
		ck_assert_uint_eq(e->port, 53);
		e = must_find(FANGS_EV_NET_CONNECT, pid, "::1");
		ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);
		close(u6);
	}

	pid = actor("dns-tcp", "127.0.0.77", "c.fangs.test");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "c.fangs.test");
	ck_assert_uint_eq(e->qtype, 28);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);
	ck_assert_str_eq(e->addr, "127.0.0.77");

	close(u);
	close(t);
}
END_TEST

START_TEST(test_tls_client_hello)
{
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	char sp[16];
	const fangs_event *e;
	pid_t pid;

	snprintf(sp, sizeof(sp), "%d", port);
	pid = actor("tls", sp, "hello.fangs.test");
	e = must_find(FANGS_EV_TLS_SNI, pid, "hello.fangs.test");
	assert_common(e, pid);
	ck_assert_str_eq(e->addr, "127.0.0.1");
	ck_assert_uint_eq(e->port, port);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);
	close(l);
}
END_TEST

START_TEST(test_node_ssl_ctrl)
{
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	char script[512];
	char *argv[] = {"/usr/bin/node", "-e", script, NULL};
	const fangs_event *e = NULL;
	pid_t pid;

	snprintf(script, sizeof(script),
		 "const s=require('tls').connect({servername:'sni.test',host:'127.0.0.1',port:%d});"
		 "s.on('error',()=>{});setTimeout(()=>process.exit(0),300);",
		 port);
	pid = run_in(CG, argv, 0);
	/* the uprobe's event carries no address: SSL_ctrl knows only the name */
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_TLS_SNI && EV.items[i].pid == pid && !EV.items[i].addr &&
		    strcmp(EV.items[i].sni, "sni.test") == 0)
			e = &EV.items[i];
	ck_assert_msg(e != NULL, "no tls_sni from the SSL_ctrl uprobe in node");
	ck_assert_str_eq(e->comm, "node");
	ck_assert_str_eq(e->run_id, RUN);
	close(l);
}
END_TEST

START_TEST(test_io_uring)
{
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	char path[PATH_MAX], sp[16];
	const fangs_event *e;
	pid_t pid;

	char real_tmp[PATH_MAX], link_path[PATH_MAX + 32], want[PATH_MAX + 32];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/uring-file", TMP);
	snprintf(sp, sizeof(sp), "%d", port);
	pid = actor("uring-open", path, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, path);
	assert_common(e, pid);
	ck_assert_uint_eq(e->flags, FANGS_OPEN_READ);
	ck_assert_ptr_null(e->real_path); /* it does not exist */

	/* reported at completion with the file it opened: here through a link */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_ptr_nonnull(realpath(TMP, real_tmp));
	snprintf(link_path, sizeof(link_path), "%s/uring-link", TMP);
	ck_assert_int_eq(symlink(path, link_path), 0);
	pid = actor("uring-open", link_path, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, link_path);
	assert_common(e, pid);
	snprintf(want, sizeof(want), "%s/uring-file", real_tmp);
	ck_assert_pstr_eq(e->real_path, want);
	ck_assert_uint_eq(e->ino, st.st_ino);
	ck_assert_uint_eq(e->dev, st.st_dev);

	pid = actor("uring-connect", sp, NULL);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "127.0.0.1");
	assert_common(e, pid);
	ck_assert_uint_eq(e->port, port);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);
	close(l);
}
END_TEST

START_TEST(test_chain_origin)
{
	char path[PATH_MAX];
	const fangs_event *e, *fork2, *exec2 = NULL;
	pid_t top;

	snprintf(path, sizeof(path), "%s/from-the-script", TMP);
	{
		char *argv[] = {SENSOR_ACTOR, "chain", "left-pad", "1.3.0", "postinstall", path, NULL};
		top = run_in(CG, argv, 0);
	}
	/* top (chain) -> chain2 -> open, the last with an empty environment */
	e = must_find(FANGS_EV_FILE_OPEN, 0, path);
	ck_assert_str_eq(e->run_id, RUN);
	ck_assert_uint_ge(e->n_ancestry, 3);
	ck_assert_int_eq(e->ancestry[1].pid, top);
	ck_assert_int_eq(e->ancestry[2].pid, getpid());
	ck_assert_str_eq(e->ancestry[0].exe, SENSOR_ACTOR);
	ck_assert_str_eq(e->ancestry[0].comm, "sensor-actor");
	ck_assert_str_eq(e->ancestry[1].exe, SENSOR_ACTOR);
	ck_assert_str_eq(e->ancestry[2].exe, SELF_EXE);
	ck_assert_ptr_nonnull(e->origin.package);
	ck_assert_str_eq(e->origin.package, "left-pad");
	ck_assert_str_eq(e->origin.version, "1.3.0");
	ck_assert_str_eq(e->origin.script, "postinstall");
	ck_assert_str_eq(e->origin.command, "node install.js");

	/* the middle process was forked by the top one (a sanitizer runtime
	 * may fork helpers of its own: look for this one) */
	fork2 = NULL;
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_PROC_FORK && EV.items[i].ppid == top &&
		    EV.items[i].pid == e->ancestry[0].pid)
			fork2 = &EV.items[i];
	ck_assert_ptr_nonnull(fork2);
	ck_assert_str_eq(fork2->ancestry[0].exe, SENSOR_ACTOR);
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_EXEC && EV.items[i].pid == fork2->pid)
			exec2 = &EV.items[i];
	ck_assert_ptr_nonnull(exec2);
	ck_assert_str_eq(exec2->origin.package, "left-pad");
	/* the top process itself ran before the variables were set */
	e = must_find(FANGS_EV_EXEC, top, SENSOR_ACTOR);
	ck_assert_ptr_null(e->origin.package);
}
END_TEST

static const fangs_event *find_open_ino(pid_t pid, uint64_t ino)
{
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_FILE_OPEN && EV.items[i].pid == pid && EV.items[i].ino == ino)
			return &EV.items[i];
	return NULL;
}

/* Every way of naming one file reaches the same inode, and the kernel's
 * path of it: the alias a caller writes is kept beside what it opened. */
START_TEST(test_file_identity)
{
	char real_tmp[PATH_MAX], target[PATH_MAX + 32], alias[PATH_MAX + 64], deep[PATH_MAX], want[PATH_MAX + 32];
	char comp[101];
	struct stat st, dst;
	const fangs_event *e;
	pid_t pid;
	int fd;

	ck_assert_ptr_nonnull(realpath(TMP, real_tmp));
	snprintf(target, sizeof(target), "%s/target", real_tmp);
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(stat(target, &st), 0);

	/* symlink: the real path is the target's */
	snprintf(alias, sizeof(alias), "%s/alias-sym", TMP);
	ck_assert_int_eq(symlink(target, alias), 0);
	pid = actor("open", alias, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, alias);
	assert_common(e, pid);
	ck_assert_pstr_eq(e->real_path, target);
	ck_assert_uint_eq(e->ino, st.st_ino);
	ck_assert_uint_eq(e->dev, st.st_dev);

	/* hard link: a name of its own, the same inode */
	snprintf(alias, sizeof(alias), "%s/alias-hard", TMP);
	ck_assert_int_eq(link(target, alias), 0);
	pid = actor("open", alias, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, alias);
	snprintf(want, sizeof(want), "%s/alias-hard", real_tmp);
	ck_assert_pstr_eq(e->real_path, want);
	ck_assert_uint_eq(e->ino, st.st_ino);
	ck_assert_uint_eq(e->dev, st.st_dev);

	/* relative to the working directory */
	pid = actor("open-chdir", TMP, "target");
	e = must_find(FANGS_EV_FILE_OPEN, pid, "target");
	ck_assert_pstr_eq(e->real_path, target);
	ck_assert_uint_eq(e->ino, st.st_ino);

	/* relative to a directory fd */
	pid = actor("open-dirfd", TMP, "target");
	e = must_find(FANGS_EV_FILE_OPEN, pid, "target");
	ck_assert_pstr_eq(e->real_path, target);
	ck_assert_uint_eq(e->ino, st.st_ino);

	/* through /proc/self/root and /proc/self/cwd */
	snprintf(alias, sizeof(alias), "/proc/self/root%s", target);
	pid = actor("open", alias, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, alias);
	ck_assert_pstr_eq(e->real_path, target);
	ck_assert_uint_eq(e->ino, st.st_ino);
	pid = actor("open-chdir", TMP, "/proc/self/cwd/target");
	e = must_find(FANGS_EV_FILE_OPEN, pid, "/proc/self/cwd/target");
	ck_assert_pstr_eq(e->real_path, target);
	ck_assert_uint_eq(e->ino, st.st_ino);

	/* a path longer than the caller's copy (FS_PATH_LEN): the written path is
	 * cut, the real one is whole */
	memset(comp, 'd', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	snprintf(deep, sizeof(deep), "%s", real_tmp);
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(deep);
		snprintf(deep + n, sizeof(deep) - n, "/%s", comp);
		ck_assert_int_eq(mkdir(deep, 0755), 0);
	}
	strncat(deep, "/deep-file", sizeof(deep) - strlen(deep) - 1);
	ck_assert_uint_gt(strlen(deep), 256);
	fd = open(deep, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(stat(deep, &dst), 0);
	pid = actor("open", deep, NULL);
	e = find_open_ino(pid, dst.st_ino);
	ck_assert_msg(e != NULL, "no open of inode %llu by pid %d", (unsigned long long)dst.st_ino, (int)pid);
	ck_assert_str_ne(e->path, deep);
	ck_assert_pstr_eq(e->real_path, deep);
	ck_assert_uint_eq(e->dev, dst.st_dev);

	/* deeper than the walk goes (FS_RPATH_DEPTH components): the real path
	 * keeps its last components and says it was cut */
	{
		char sub[PATH_MAX];
		size_t n;
		snprintf(sub, sizeof(sub), "%s", real_tmp);
		for (int i = 0; i < 300; i++) {
			n = strlen(sub);
			snprintf(sub + n, sizeof(sub) - n, "/a");
			ck_assert_int_eq(mkdir(sub, 0755), 0);
		}
		n = strlen(sub);
		snprintf(sub + n, sizeof(sub) - n, "/deep-file");
		fd = open(sub, O_CREAT | O_WRONLY, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
		ck_assert_int_eq(stat(sub, &dst), 0);
		pid = actor("open", sub, NULL);
		e = find_open_ino(pid, dst.st_ino);
		ck_assert_msg(e != NULL, "no open of the deep file by pid %d", (int)pid);
		ck_assert_ptr_nonnull(e->real_path);
		ck_assert_msg(strncmp(e->real_path, ".../a/a/", 8) == 0, "%s", e->real_path);
		n = strlen(e->real_path);
		ck_assert_msg(n > 20 && strcmp(e->real_path + n - 12, "/a/deep-file") == 0, "%s", e->real_path);
	}

	/* a failed open has no file */
	snprintf(alias, sizeof(alias), "%s/missing", TMP);
	pid = actor("open", alias, NULL);
	e = must_find(FANGS_EV_FILE_OPEN, pid, alias);
	ck_assert_ptr_null(e->real_path);
	ck_assert_uint_eq(e->ino, 0);
}
END_TEST

/* Which package a process works for comes from the kernel's mark, set when
 * npm starts the script (package from the directory npm chose), and not
 * from what the process's environment says later. */
START_TEST(test_attribution_marks)
{
	static const struct {
		const char *dir; /* under TMP */
		const char *env_name, *claim, *want_pkg, *want_env;
	} cases[] = {
		{"node_modules/@acme/widget", "@acme/widget", "-", "@acme/widget", NULL},
		/* the package's package.json may say any name: the folder is npm's,
		 * and the name npm set is no contradiction */
		{"node_modules/@acme/widget", "liar", "-", "@acme/widget", NULL},
		{"app/node_modules/plain", "plain", "", "plain", ""},
		{"app/node_modules/plain", "plain", "left-pad", "plain", "left-pad"},
		/* the project's own script: npm names it */
		{"app", "the-app", "-", "the-app", NULL},
	};
	char dir[PATH_MAX], path[PATH_MAX + 32], cmd[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const fangs_event *open_ev, *exec_ev = NULL;
		char *argv[] = {SENSOR_ACTOR,           "script", dir, (char *)cases[i].env_name, "postinstall",
				(char *)cases[i].claim, path,     NULL};
		snprintf(dir, sizeof(dir), "%s/%s", TMP, cases[i].dir);
		snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
		ck_assert_int_eq(system(cmd), 0);
		snprintf(path, sizeof(path), "%s/opened-%zu", TMP, i);
		run_in(CG, argv, 0);
		open_ev = must_find(FANGS_EV_FILE_OPEN, 0, path);
		ck_assert_msg(open_ev->origin.package != NULL, "case %zu: no origin", i);
		ck_assert_str_eq(open_ev->origin.package, cases[i].want_pkg);
		ck_assert_pstr_eq(open_ev->origin.script, "postinstall");
		ck_assert_pstr_eq(open_ev->origin.version, "1.0.0");
		for (size_t j = 0; j < EV.count; j++)
			if (EV.items[j].kind == FANGS_EV_EXEC && EV.items[j].pid == open_ev->pid)
				exec_ev = &EV.items[j];
		ck_assert_ptr_nonnull(exec_ev);
		ck_assert_pstr_eq(exec_ev->origin.package, cases[i].want_pkg);
		ck_assert_pstr_eq(exec_ev->env_package, cases[i].want_env);
	}
}
END_TEST

/* npm itself sets the variables for a lifecycle script: the script's
 * descendants are attributed to the package (offline, no update check). */
START_TEST(test_npm_run_script)
{
	char dir[PATH_MAX], pkg[PATH_MAX + 16], script[PATH_MAX + 64];
	char *argv[] = {"/usr/bin/env",
			"npm_config_update_notifier=false",
			"npm_config_offline=true",
			"npm_config_cache=/nonexistent",
			"/usr/bin/npm",
			"--prefix",
			dir,
			"run",
			"postinstall",
			NULL};
	const fangs_event *e;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/npm-project", TMP);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(pkg, sizeof(pkg), "%s/package.json", dir);
	snprintf(script, sizeof(script), "cat %s/package.json > /dev/null", dir);
	f = fopen(pkg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"name\":\"demo-pkg\",\"version\":\"2.0.1\",\"scripts\":{\"postinstall\":\"%s\"}}\n", script);
	fclose(f);

	run_in(CG, argv, 0);
	e = NULL;
	for (size_t i = 0; i < EV.count; i++)
		if (EV.items[i].kind == FANGS_EV_FILE_OPEN && strcmp(EV.items[i].path, pkg) == 0 && EV.items[i].comm &&
		    strcmp(EV.items[i].comm, "cat") == 0)
			e = &EV.items[i];
	ck_assert_msg(e != NULL, "cat's open of package.json not seen");
	ck_assert_ptr_nonnull(e->origin.package);
	ck_assert_str_eq(e->origin.package, "demo-pkg");
	ck_assert_str_eq(e->origin.version, "2.0.1");
	ck_assert_str_eq(e->origin.script, "postinstall");
	ck_assert_str_eq(e->origin.command, script);
	ck_assert_str_eq(e->ancestry[0].comm, "sh");
}
END_TEST

START_TEST(test_outside_not_reported)
{
	char path[128], marker[128], script[2048];
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	int uport = 53, u = listen_on(AF_INET, "127.0.0.78", SOCK_DGRAM, &uport);
	int status;
	pid_t outside, inside;

	snprintf(path, sizeof(path), "%s/outside", TMP);
	snprintf(marker, sizeof(marker), "%s/marker", TMP);
	/* everything the inside tests see, done from outside the cgroup */
	snprintf(script, sizeof(script),
		 "A=%s; $A open %s && $A write-open %s.w && $A connect4 %d && $A dns-sendto 127.0.0.78 out.fangs.test"
		 " && $A tls %d out-sni.fangs.test && $A uring-open %s && $A chain out-pkg 1.0.0 install %s",
		 SENSOR_ACTOR, path, path, port, port, path, path);
	outside = spawn(0, NULL, argv);
	ck_assert_int_eq(waitpid(outside, &status, 0), outside);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* once the marker's exit is read, anything the outside run emitted
	 * would have been read before it */
	inside = actor("open", marker, NULL);
	must_find(FANGS_EV_FILE_OPEN, inside, marker);
	for (size_t i = 0; i < EV.count; i++) {
		const fangs_event *e = &EV.items[i];
		ck_assert_int_ne(e->pid, outside);
		ck_assert_int_ne(e->ppid, outside);
		ck_assert(!e->path || strncmp(e->path, path, strlen(path)) != 0);
		ck_assert(!e->qname || strcmp(e->qname, "out.fangs.test") != 0);
		ck_assert(!e->sni || strcmp(e->sni, "out-sni.fangs.test") != 0);
		ck_assert(!e->addr || strcmp(e->addr, "127.0.0.78") != 0);
		ck_assert(!e->origin.package || strcmp(e->origin.package, "out-pkg") != 0);
		ck_assert(e->kind != FANGS_EV_NET_CONNECT || e->port != port);
	}
	close(l);
	close(u);
}
END_TEST

START_TEST(test_two_runs_and_stats)
{
	char run2[80], cg2[PATH_MAX], idbuf[32], path[PATH_MAX];
	char *argv[] = {SENSOR_ACTOR, "open", path, NULL};
	fangs_sensor_run_stats st;
	uint64_t id;
	const fangs_event *e;
	pid_t pid;

	snprintf(run2, sizeof(run2), "%s-b", RUN);
	snprintf(path, sizeof(path), "%s/second-run", TMP);
	ck_assert_int_eq(fangs_cgroup_create_run(run2, cg2, sizeof(cg2)), 0);
	ck_assert_int_eq(fangs_cgroup_id(cg2, &id), 0);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	/* watched by numeric id this time */
	ck_assert_msg(fangs_sensor_watch_cgroup(S, idbuf, run2) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sensor_watch_cgroup(S, cg2, run2), FANGS_EEXISTS);

	pid = run_in(cg2, argv, 0);
	e = must_find(FANGS_EV_FILE_OPEN, pid, path);
	ck_assert_str_eq(e->run_id, run2);

	ck_assert_int_eq(fangs_sensor_stats(S, run2, &st), 0);
	ck_assert_uint_ge(st.emitted, 3); /* exec, open, exit at least */
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_int_eq(fangs_sensor_unwatch(S, run2), 0);
	ck_assert_int_eq(fangs_sensor_unwatch(S, run2), FANGS_ENOTFOUND);
	ck_assert_int_eq(fangs_sensor_stats(S, run2, &st), 0);
	ck_assert_int_eq(fangs_sensor_stats(S, "never-watched", &st), FANGS_ENOTFOUND);

	/* a process left in the cgroup is ended by fangs_cgroup_kill */
	{
		char *sleeper[] = {"/bin/sleep", "100", NULL};
		time_t deadline = time(NULL) + 10;
		int status;
		pid = spawn(1, cg2, sleeper);
		while (fangs_cgroup_populated(cg2) != 1 && time(NULL) < deadline)
			usleep(10000);
		ck_assert_int_eq(fangs_cgroup_populated(cg2), 1);
		ck_assert_int_eq(fangs_cgroup_remove(cg2), FANGS_EBUSY);
		ck_assert_int_eq(fangs_cgroup_kill(cg2), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		while (fangs_cgroup_populated(cg2) != 0 && time(NULL) < deadline)
			usleep(10000);
		ck_assert_int_eq(fangs_cgroup_populated(cg2), 0);
	}
	ck_assert_int_eq(fangs_cgroup_remove(cg2), 0);

	ck_assert_int_eq(fangs_sensor_watch_cgroup(S, "/nonexistent/cgroup", "x"), FANGS_ENOTFOUND);
}
END_TEST

static int abort_cb(const fangs_event *ev, void *user)
{
	(void)ev;
	++*(int *)user;
	return FANGS_EUSER;
}

/* A second sensor with only the file probes; its callback stops polling. */
START_TEST(test_groups_and_abort)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	const fangs_sensor_probe *p;
	fangs_sensor *s2 = NULL;
	char run2[80], cg2[PATH_MAX], path[PATH_MAX];
	char *argv[] = {SENSOR_ACTOR, "open", path, NULL};
	int calls = 0, rc = 0, status;
	time_t deadline;
	size_t n;
	pid_t pid;

	o.ringbuf_size = 3000;
	ck_assert_int_eq(fangs_sensor_new(&s2, &o), FANGS_EINVAL);
	ck_assert_ptr_null(s2);

	o.ringbuf_size = 1 << 20;
	o.probes = FANGS_SENSOR_PROBE_FILES;
	o.on_event = abort_cb;
	o.user = &calls;
	ck_assert_msg(fangs_sensor_new(&s2, &o) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sensor_probes(s2, &p, &n), 0);
	for (size_t i = 0; i < n; i++) {
		int is_file = strcmp(p[i].group, "files") == 0;
		ck_assert_msg(p[i].live == is_file, "%s live=%d", p[i].name, p[i].live);
		if (!is_file)
			ck_assert_str_eq(p[i].reason, "not requested");
	}

	snprintf(run2, sizeof(run2), "%s-files", RUN);
	snprintf(path, sizeof(path), "%s/files-only", TMP);
	ck_assert_int_eq(fangs_cgroup_create_run(run2, cg2, sizeof(cg2)), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(s2, cg2, run2), 0);
	ck_assert_int_ge(fangs_sensor_fd(s2), 0);
	pid = spawn(1, cg2, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* the actor opens several files: the first event aborts the poll */
	deadline = time(NULL) + 15;
	while (rc == 0 && time(NULL) < deadline)
		rc = fangs_sensor_poll(s2, 100);
	ck_assert_int_eq(rc, FANGS_EUSER);
	ck_assert_int_eq(calls, 1);
	fangs_sensor_free(s2);
	ck_assert_int_eq(fangs_cgroup_remove(cg2), 0);
}
END_TEST

/* Without the sys_exit retry, a path not paged in at entry cannot be read
 * and the open is lost (with it, test_file_opens sees the path): this is
 * what the files_retry probes are for. */
START_TEST(test_unpaged_without_retry)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor *main_sensor = S;
	char run2[80], cg2[PATH_MAX], path[PATH_MAX];
	char *argv[] = {SENSOR_ACTOR, "open-unpaged", path, NULL};
	int opens = 0;
	pid_t pid;

	o.probes = FANGS_SENSOR_PROBE_FILES | FANGS_SENSOR_PROBE_PROCESS;
	o.on_event = collect;
	ck_assert_msg(fangs_sensor_new(&S, &o) == 0, "%s", fangs_error_last());
	snprintf(run2, sizeof(run2), "%s-noretry", RUN);
	snprintf(path, sizeof(path), "%s/unpaged-noretry", TMP);
	ck_assert_int_eq(fangs_cgroup_create_run(run2, cg2, sizeof(cg2)), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(S, cg2, run2), 0);
	pid = run_in(cg2, argv, 0);
	for (size_t i = 0; i < EV.count; i++) {
		const fangs_event *e = &EV.items[i];
		if (e->kind != FANGS_EV_FILE_OPEN || e->pid != pid)
			continue;
		ck_assert_str_ne(e->path, path);
		ck_assert_str_ne(e->path, "");
		opens++;
	}
	ck_assert_int_gt(opens, 0); /* the loader's opens are there */
	fangs_sensor_free(S);
	S = main_sensor;
	ck_assert_int_eq(fangs_cgroup_remove(cg2), 0);
}
END_TEST

/* poll(-1) returns once events came, even when no wake-up was sent for
 * them (batching) */
START_TEST(test_poll_forever)
{
	char path[128];
	char *argv[] = {SENSOR_ACTOR, "open", path, NULL};
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/poll-forever", TMP);
	while (fangs_sensor_poll(S, 0) > 0) /* earlier tests' stragglers */
		;
	pid = spawn(1, CG, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_gt(fangs_sensor_poll(S, -1), 0);
	wait_exit_event(pid);
	must_find(FANGS_EV_FILE_OPEN, pid, path);
}
END_TEST

/* A probe that cannot attach is listed with the reason; the others run. */
START_TEST(test_failed_probe_reported)
{
	static const char *const bins[] = {"/bin/true", NULL};
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	const fangs_sensor_probe *p;
	fangs_sensor *s2 = NULL;
	int seen = 0;
	size_t n;

	o.probes = FANGS_SENSOR_PROBE_TLS_LIB | FANGS_SENSOR_PROBE_FILES;
	o.tls_binaries = bins; /* no SSL_ctrl in there */
	ck_assert_msg(fangs_sensor_new(&s2, &o) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sensor_probes(s2, &p, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(p[i].name, "uprobe/SSL_ctrl:", 16) == 0) {
			ck_assert_str_eq(p[i].name, "uprobe/SSL_ctrl:/usr/bin/true");
			ck_assert_int_eq(p[i].live, 0);
			ck_assert_msg(strstr(p[i].reason, "attach failed") != NULL, "reason: %s", p[i].reason);
			seen++;
		} else if (strcmp(p[i].name, "tracepoint/syscalls/sys_enter_openat") == 0) {
			ck_assert_int_eq(p[i].live, 1);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 2);
	fangs_sensor_free(s2);
}
END_TEST

START_TEST(test_check)
{
	char why[256] = "unchanged";
	ck_assert_int_eq(fangs_sensor_check(why, sizeof(why)), 0);
	ck_assert_str_eq(why, "");
}
END_TEST

/* ---- every send path -------------------------------------------------------- */

static const fangs_event *find_syscall(pid_t pid, const char *op)
{
	for (size_t i = 0; i < EV.count; i++) {
		const fangs_event *e = &EV.items[i];
		if (e->kind == FANGS_EV_SYSCALL && (!pid || e->pid == pid) && e->op && strcmp(e->op, op) == 0)
			return e;
	}
	return NULL;
}

static size_t count_kind(fangs_event_kind kind, pid_t pid, const char *text)
{
	size_t n = 0;
	for (size_t i = 0; i < EV.count; i++) {
		const fangs_event *e = &EV.items[i];
		if (e->kind != kind || e->pid != pid)
			continue;
		if (!text || (kind == FANGS_EV_FILE_OPEN && e->path && strcmp(e->path, text) == 0))
			n++;
	}
	return n;
}

START_TEST(test_send_paths)
{
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	char sp[16];
	const fangs_event *e;
	pid_t pid;

	snprintf(sp, sizeof(sp), "%d", port);

	/* DNS to a port other than 53: the name is seen with its address */
	{
		char *argv[] = {SENSOR_ACTOR, "udp-any", "192.0.2.1", "5353", "odd-port.invalid", NULL};
		pid = run_in(CG, argv, 0);
	}
	e = must_find(FANGS_EV_DNS_QUERY, pid, "odd-port.invalid");
	assert_common(e, pid);
	ck_assert_str_eq(e->addr, "192.0.2.1");
	ck_assert_uint_eq(e->port, 5353);
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);

	/* a question spread over three iovecs, to a non-DNS port */
	{
		char *argv[] = {SENSOR_ACTOR, "dns-iov", "198.51.100.7", "8053", "split-iov.invalid", NULL};
		pid = run_in(CG, argv, 0);
	}
	e = must_find(FANGS_EV_DNS_QUERY, pid, "split-iov.invalid");
	ck_assert_uint_eq(e->qtype, 16);
	ck_assert_str_eq(e->addr, "198.51.100.7");
	ck_assert_uint_eq(e->port, 8053);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "198.51.100.7");
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);

	/* sendmmsg: the query is the fifth message */
	pid = actor("dns-mmsg-late", "203.0.113.5", "fifth.invalid");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "fifth.invalid");
	ck_assert_str_eq(e->addr, "203.0.113.5");
	ck_assert_uint_eq(e->port, 53);

	/* TCP DNS on any port, its length prefix in a write of its own */
	pid = actor("dns-tcp-split", sp, "tcp-split.invalid");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "tcp-split.invalid");
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);
	ck_assert_uint_eq(e->qtype, 16);
	ck_assert_str_eq(e->addr, "127.0.0.1");
	ck_assert_uint_eq(e->port, port);

	/* a ClientHello in three writes */
	pid = actor("tls-split", sp, "split-hello.invalid");
	e = must_find(FANGS_EV_TLS_SNI, pid, "split-hello.invalid");
	assert_common(e, pid);
	ck_assert_str_eq(e->addr, "127.0.0.1");
	ck_assert_uint_eq(e->port, port);

	/* a decoy header before the real ClientHello */
	pid = actor("tls-decoy", sp, "behind-decoy.invalid");
	e = must_find(FANGS_EV_TLS_SNI, pid, "behind-decoy.invalid");
	ck_assert_uint_eq(e->port, port);

	/* TCP Fast Open: a connect and its ClientHello in one sendto, no connect() */
	{
		char *argv[] = {SENSOR_ACTOR, "fastopen", "203.0.113.9", "443", "fast-open.invalid", NULL};
		pid = run_in(CG, argv, 0);
	}
	e = must_find(FANGS_EV_NET_CONNECT, pid, "203.0.113.9");
	assert_common(e, pid);
	ck_assert_uint_eq(e->port, 443);
	ck_assert_int_eq(e->proto, FANGS_PROTO_TCP);
	e = must_find(FANGS_EV_TLS_SNI, pid, "fast-open.invalid");
	ck_assert_str_eq(e->addr, "203.0.113.9");
	ck_assert_uint_eq(e->port, 443);
	close(l);
}
END_TEST

START_TEST(test_io_uring_sends)
{
	int port = 0, l = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM, &port);
	char sp[16];
	const fangs_event *e;
	pid_t pid;

	snprintf(sp, sizeof(sp), "%d", port);
	pid = actor("uring-sendmsg", "192.0.2.53", "uring-msg.invalid");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "uring-msg.invalid");
	assert_common(e, pid);
	ck_assert_str_eq(e->addr, "192.0.2.53");
	ck_assert_uint_eq(e->port, 53);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "192.0.2.53");
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);

	pid = actor("uring-sendto", "198.51.100.53", "uring-to.invalid");
	e = must_find(FANGS_EV_DNS_QUERY, pid, "uring-to.invalid");
	ck_assert_str_eq(e->addr, "198.51.100.53");
	ck_assert_uint_eq(e->port, 53);
	e = must_find(FANGS_EV_NET_CONNECT, pid, "198.51.100.53");
	ck_assert_int_eq(e->proto, FANGS_PROTO_UDP);

	pid = actor("uring-send", sp, "uring-send.invalid");
	e = must_find(FANGS_EV_TLS_SNI, pid, "uring-send.invalid");
	ck_assert_str_eq(e->addr, "127.0.0.1");
	ck_assert_uint_eq(e->port, port);

	pid = actor("uring-write", sp, "uring-write.invalid");
	e = must_find(FANGS_EV_TLS_SNI, pid, "uring-write.invalid");
	ck_assert_uint_eq(e->port, port);
	close(l);
}
END_TEST

/* ---- privileged and cross-process operations ---------------------------------- */

START_TEST(test_privileged_ops)
{
	char dir[PATH_MAX], spid[16], *sleeper[] = {"/bin/sleep", "30", NULL};
	const fangs_event *e;
	pid_t pid, victim;
	int status;

	pid = actor("ptrace", NULL, NULL);
	e = find_syscall(pid, "ptrace");
	ck_assert_msg(e != NULL, "no ptrace event");
	assert_common(e, pid);
	ck_assert_str_eq(e->detail, "attach");
	ck_assert_uint_eq(e->arg, 16);
	ck_assert_int_gt(e->target, 0);

	snprintf(dir, sizeof(dir), "%s/mnt", TMP);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	pid = actor("mount", dir, NULL);
	e = find_syscall(pid, "mount");
	ck_assert_msg(e != NULL, "no mount event");
	ck_assert_str_eq(e->detail, "fangs-nofs");
	ck_assert_str_eq(e->path, dir);
	e = find_syscall(pid, "umount");
	ck_assert_msg(e != NULL, "no umount event");
	ck_assert_str_eq(e->path, dir);
	e = find_syscall(pid, "fsopen");
	ck_assert_msg(e != NULL, "no fsopen event");
	ck_assert_str_eq(e->detail, "fangs-nofs");

	pid = actor("unshare", NULL, NULL);
	e = find_syscall(pid, "unshare");
	ck_assert_msg(e != NULL, "no unshare event");
	ck_assert_str_eq(e->detail, "uts");
	e = find_syscall(pid, "setns");
	ck_assert_msg(e != NULL, "no setns event");
	ck_assert_str_eq(e->detail, "uts");
	e = find_syscall(pid, "clone");
	ck_assert_msg(e != NULL, "no clone event");
	ck_assert_str_eq(e->detail, "ipc");

	/* a process outside the run, and one of the actor's own children */
	victim = spawn(0, NULL, sleeper);
	snprintf(spid, sizeof(spid), "%d", (int)victim);
	pid = actor("kill", spid, "15");
	ck_assert_int_eq(waitpid(victim, &status, 0), victim);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	e = find_syscall(pid, "kill");
	ck_assert_msg(e != NULL, "no kill event");
	assert_common(e, pid);
	ck_assert_int_eq(e->target, victim);
	ck_assert_uint_eq(e->arg, 15);
	ck_assert_str_eq(e->detail, "SIGTERM sleep (outside)");
	for (size_t i = 0; i < EV.count; i++) /* the signal to its own child is not reported */
		if (EV.items[i].kind == FANGS_EV_SYSCALL && EV.items[i].pid == pid && EV.items[i].target != victim)
			ck_abort_msg("signal inside the actor's tree reported: target %d", EV.items[i].target);

	pid = actor("kernel-load", NULL, NULL);
	ck_assert_msg(find_syscall(pid, "init_module") != NULL, "no init_module event");
	ck_assert_msg(find_syscall(pid, "finit_module") != NULL, "no finit_module event");
	e = find_syscall(pid, "bpf");
	ck_assert_msg(e != NULL, "no bpf event");
	ck_assert_str_eq(e->detail, "prog_load");
	e = find_syscall(pid, "perf_event_open");
	ck_assert_msg(e != NULL, "no perf_event_open event");
	ck_assert_str_eq(e->detail, "software");
}
END_TEST

/* ---- floods ------------------------------------------------------------------ */

START_TEST(test_flood_folded_and_capped)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor_run_stats st;
	fangs_sensor *s2 = NULL;
	char path[PATH_MAX], run2[80], cg2[PATH_MAX];
	char *argv[] = {SENSOR_ACTOR, "flood-distinct", TMP, "3000", NULL};
	pid_t pid;
	int status;

	/* one file opened 5000 times: the first FS_REPEAT_KEEP (8) are events */
	snprintf(path, sizeof(path), "%s/opened-often", TMP);
	fclose(fopen(path, "w"));
	pid = actor("flood-same", path, "5000");
	ck_assert_uint_eq(count_kind(FANGS_EV_FILE_OPEN, pid, path), 8);
	ck_assert_int_eq(fangs_sensor_stats(S, RUN, &st), 0);
	ck_assert_uint_ge(st.folded, 5000 - 8);
	ck_assert_uint_eq(st.dropped, 0);

	/* a run with a budget of 500 events */
	o.max_events_per_run = 500;
	ck_assert_msg(fangs_sensor_new(&s2, &o) == 0, "%s", fangs_error_last());
	snprintf(run2, sizeof(run2), "%s-budget", RUN);
	ck_assert_int_eq(fangs_cgroup_create_run(run2, cg2, sizeof(cg2)), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(s2, cg2, run2), 0);
	pid = spawn(1, cg2, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	while (fangs_sensor_poll(s2, 100) > 0)
		;
	ck_assert_int_eq(fangs_sensor_stats(s2, run2, &st), 0);
	ck_assert_uint_ge(st.capped, 3000 - 500);
	ck_assert_uint_ge(st.dropped, st.capped);
	ck_assert_uint_le(st.emitted, 500 + 20); /* the budget, and the process events it spares */
	fangs_sensor_unwatch(s2, run2);
	fangs_sensor_free(s2);

	/* no budget, a ring buffer of 16 KiB nobody reads during the flood:
	 * what does not fit is counted as dropped, not capped */
	o.max_events_per_run = FANGS_SENSOR_UNLIMITED;
	o.ringbuf_size = 16 << 10;
	s2 = NULL;
	ck_assert_msg(fangs_sensor_new(&s2, &o) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(fangs_sensor_watch_cgroup(s2, cg2, run2), 0);
	pid = spawn(1, cg2, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	while (fangs_sensor_poll(s2, 100) > 0)
		;
	ck_assert_int_eq(fangs_sensor_stats(s2, run2, &st), 0);
	ck_assert_uint_eq(st.capped, 0);
	ck_assert_uint_gt(st.dropped, 1000);
	ck_assert_uint_ge(st.emitted + st.dropped, 3000);
	fangs_sensor_free(s2);
	ck_assert_int_eq(fangs_cgroup_remove(cg2), 0);
}
END_TEST

static Suite *sensor_suite(void)
{
	Suite *s = suite_create("sensor");
	TCase *tc = tcase_create("live");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_probes_all_live);
	tcase_add_test(tc, test_file_opens);
	tcase_add_test(tc, test_exec_argv);
	tcase_add_test(tc, test_fork_exit_code);
	tcase_add_test(tc, test_connect);
	tcase_add_test(tc, test_dns);
	tcase_add_test(tc, test_tls_client_hello);
	tcase_add_test(tc, test_node_ssl_ctrl);
	tcase_add_test(tc, test_io_uring);
	tcase_add_test(tc, test_send_paths);
	tcase_add_test(tc, test_io_uring_sends);
	tcase_add_test(tc, test_privileged_ops);
	tcase_add_test(tc, test_flood_folded_and_capped);
	tcase_add_test(tc, test_chain_origin);
	tcase_add_test(tc, test_file_identity);
	tcase_add_test(tc, test_attribution_marks);
	tcase_add_test(tc, test_npm_run_script);
	tcase_add_test(tc, test_outside_not_reported);
	tcase_add_test(tc, test_two_runs_and_stats);
	tcase_add_test(tc, test_groups_and_abort);
	tcase_add_test(tc, test_unpaged_without_retry);
	tcase_add_test(tc, test_poll_forever);
	tcase_add_test(tc, test_failed_probe_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sensor_suite());
	int failed;
	/* one sensor for the suite, and the tests fork processes of their own */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
