/*
 * tests/sensor/test_shared.c - one BPF object per process, shared by its
 * sensor handles: loaded and attached once (the process's BPF links and
 * programs do not grow with more handles or scans), each handle gets the
 * events of its own cgroups only (two handles read by two threads at
 * once), and the two ways of tracing system calls (raw_tp dispatching by
 * number, one tracepoint per call) give the same events for one workload;
 * a run's last events are drained without waiting for the ring to be quiet.
 * Needs root on a kernel with BTF.
 */
#include <check.h>
#include <dirent.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#ifndef SENSOR_ACTOR
#error SENSOR_ACTOR must name the actor program
#endif

static char TMP[64];

static int collect(const fangs_event *ev, void *user)
{
	fangs_event *slot = fangs_event_list_push(user);
	if (!slot || fangs_event_copy(slot, ev))
		return FANGS_ENOMEM;
	return 0;
}

static void setup(void)
{
	fangs_log_set(fangs_log_stderr, FANGS_LOG_WARN, NULL);
	unsetenv("FANGS_SENSOR_SYSCALLS"); /* the options decide here */
	snprintf(TMP, sizeof(TMP), "/tmp/fangs-shared-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(TMP));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", TMP);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", TMP);
}

/* This process's fds of one kind of anonymous inode: "bpf_link", "bpf-prog". */
static int count_fds(const char *kind)
{
	char want[64], link[PATH_MAX], target[256];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	snprintf(want, sizeof(want), "anon_inode:%s", kind);
	while ((d = readdir(dir))) {
		ssize_t len;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strcmp(target, want) == 0;
	}
	closedir(dir);
	return n;
}

static pid_t spawn_in(const char *cgroup, char *const argv[])
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (fangs_cgroup_attach(cgroup, 0) != 0)
			_exit(120);
		execv(argv[0], argv);
		_exit(121);
	}
	return pid;
}

static int has_exit(const fangs_event_list *l, pid_t pid)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].kind == FANGS_EV_PROC_EXIT && l->items[i].pid == pid)
			return 1;
	return 0;
}

static void poll_until_exit(fangs_sensor *s, const fangs_event_list *l, pid_t pid)
{
	time_t deadline = time(NULL) + 20;
	while (!has_exit(l, pid) && time(NULL) < deadline)
		ck_assert_int_ge(fangs_sensor_poll(s, 100), 0);
	ck_assert_msg(has_exit(l, pid), "no process_exit event for pid %d", (int)pid);
}

/* Loading and attaching happen once: more handles with the same options,
 * watching and unwatching runs, freeing every handle, add no BPF link and
 * no program to the process. */
START_TEST(test_attach_once)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor *first = NULL, *tp = NULL;
	int links0 = count_fds("bpf_link"), progs0 = count_fds("bpf-prog"), links1, progs1, links_tp;
	char run[80], cg[PATH_MAX];
	const char *why = NULL;

	ck_assert_msg(fangs_sensor_new(&first, &o) == 0, "%s", fangs_error_last());
	links1 = count_fds("bpf_link");
	progs1 = count_fds("bpf-prog");
	ck_assert_int_gt(links1, links0);
	ck_assert_int_gt(progs1, progs0);
	/* this machine runs raw_tp: the dispatchers, the process, io_uring and
	 * signal raw tracepoints and the SSL_ctrl uprobes, no syscall tracepoint */
	ck_assert_str_eq(fangs_sensor_syscall_mode(first, &why), "raw_tp");
	ck_assert_str_eq(why, "");
	ck_assert_int_le(links1 - links0, 12);

	snprintf(run, sizeof(run), "ck-once-%d", (int)getpid());
	ck_assert_int_eq(fangs_cgroup_create_run(run, cg, sizeof(cg)), 0);
	for (int i = 0; i < 5; i++) {
		fangs_sensor *s = NULL;
		char r[96];
		snprintf(r, sizeof(r), "%s-%d", run, i);
		ck_assert_msg(fangs_sensor_new(&s, &o) == 0, "%s", fangs_error_last());
		ck_assert_int_eq(fangs_sensor_watch_cgroup(s, cg, r), 0);
		/* one cgroup, one run at a time, whichever handle asks */
		ck_assert_int_eq(fangs_sensor_watch_cgroup(first, cg, "someone-else"), FANGS_EEXISTS);
		ck_assert_int_eq(fangs_sensor_unwatch(s, r), 0);
		fangs_sensor_free(s);
		ck_assert_int_eq(count_fds("bpf_link"), links1);
		ck_assert_int_eq(count_fds("bpf-prog"), progs1);
	}
	fangs_sensor_free(first);
	/* kept for the next handle of the process */
	ck_assert_int_eq(count_fds("bpf_link"), links1);
	ck_assert_int_eq(count_fds("bpf-prog"), progs1);
	ck_assert_msg(fangs_sensor_new(&first, &o) == 0, "%s", fangs_error_last());
	ck_assert_int_eq(count_fds("bpf_link"), links1);
	ck_assert_int_eq(count_fds("bpf-prog"), progs1);
	fangs_sensor_free(first);

	/* the other mode is another object, with a link per system call */
	o.syscalls = FANGS_SENSOR_SYSCALLS_TRACEPOINTS;
	ck_assert_msg(fangs_sensor_new(&tp, &o) == 0, "%s", fangs_error_last());
	ck_assert_str_eq(fangs_sensor_syscall_mode(tp, NULL), "tracepoints");
	links_tp = count_fds("bpf_link") - links1;
	ck_assert_int_ge(links_tp, 25);
	fprintf(stderr, "bpf links of one sensor: raw_tp %d, tracepoints %d\n", links1 - links0, links_tp);
	fangs_sensor_free(tp);
	ck_assert_int_eq(fangs_cgroup_remove(cg), 0);
}
END_TEST

/* ---- two handles, two threads, one ring buffer -------------------------- */

#define ROUNDS 12

typedef struct side {
	fangs_sensor *s;
	fangs_event_list ev;
	char run[80], cg[PATH_MAX], marker[PATH_MAX];
	pid_t pids[ROUNDS];
	int done; /* every actor of this side has exited (atomic) */
	int failed;
} side;

static void *reader(void *arg)
{
	side *x = arg;
	time_t deadline = time(NULL) + 60;

	while (time(NULL) < deadline) {
		int all = 1;
		if (fangs_sensor_poll(x->s, 50) < 0) {
			x->failed = 1;
			return NULL;
		}
		if (!__atomic_load_n(&x->done, __ATOMIC_ACQUIRE))
			continue;
		for (int i = 0; i < ROUNDS; i++)
			all &= has_exit(&x->ev, x->pids[i]);
		if (all)
			return NULL;
	}
	x->failed = 2;
	return NULL;
}

static int own_pid(const side *x, pid_t pid)
{
	for (int i = 0; i < ROUNDS; i++)
		if (x->pids[i] == pid)
			return 1;
	return 0;
}

static void check_side(const side *x, const side *other)
{
	int opens[ROUNDS] = {0};

	ck_assert_int_eq(x->failed, 0);
	for (size_t i = 0; i < x->ev.count; i++) {
		const fangs_event *e = &x->ev.items[i];
		ck_assert_msg(e->run_id && strcmp(e->run_id, x->run) == 0, "%s got an event of run %s", x->run,
			      e->run_id ? e->run_id : "(none)");
		/* the actors, or what they started (under ASan, LeakSanitizer's
		 * tracer at their exit), never the other run's */
		ck_assert_msg(own_pid(x, e->pid) || own_pid(x, e->ppid),
			      "%s got an event of pid %d (parent %d): %s by %s", x->run, (int)e->pid, (int)e->ppid,
			      fangs_event_kind_name(e->kind), e->comm ? e->comm : "?");
		for (size_t j = 0; j < other->ev.count; j++)
			ck_assert_msg(other->ev.items[j].pid != e->pid, "pid %d in both %s and %s", (int)e->pid, x->run,
				      other->run);
		if (e->kind == FANGS_EV_FILE_OPEN && e->path) {
			ck_assert_msg(strstr(e->path, other->marker) == NULL, "%s saw %s", x->run, e->path);
			if (strcmp(e->path, x->marker) == 0)
				for (int j = 0; j < ROUNDS; j++)
					opens[j] += x->pids[j] == e->pid;
		}
	}
	for (int j = 0; j < ROUNDS; j++)
		ck_assert_msg(opens[j] == 1, "%s: pid %d opened %s %d times, seen", x->run, (int)x->pids[j], x->marker,
			      opens[j]);
}

START_TEST(test_two_handles_disjoint)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	const fangs_sensor_probe *pa, *pb;
	side a, b;
	side *sides[2] = {&a, &b};
	pthread_t t[2];
	size_t na, nb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (int k = 0; k < 2; k++) {
		side *x = sides[k];
		o.on_event = collect;
		o.user = &x->ev;
		ck_assert_msg(fangs_sensor_new(&x->s, &o) == 0, "%s", fangs_error_last());
		snprintf(x->run, sizeof(x->run), "ck-%c-%d", 'a' + k, (int)getpid());
		snprintf(x->marker, sizeof(x->marker), "%s/marker-%c", TMP, 'a' + k);
		ck_assert_int_eq(fangs_cgroup_create_run(x->run, x->cg, sizeof(x->cg)), 0);
		ck_assert_int_eq(fangs_sensor_watch_cgroup(x->s, x->cg, x->run), 0);
	}
	/* one object behind both */
	ck_assert_int_eq(fangs_sensor_probes(a.s, &pa, &na), 0);
	ck_assert_int_eq(fangs_sensor_probes(b.s, &pb, &nb), 0);
	ck_assert_ptr_eq(pa, pb);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, reader, sides[k]), 0);
	/* the actors of both runs, interleaved, while both threads read */
	for (int i = 0; i < ROUNDS; i++) {
		for (int k = 0; k < 2; k++) {
			side *x = sides[k];
			char *argv[] = {SENSOR_ACTOR, "open", x->marker, NULL};
			int status;
			x->pids[i] = spawn_in(x->cg, argv);
			ck_assert_int_eq(waitpid(x->pids[i], &status, 0), x->pids[i]);
		}
	}
	for (int k = 0; k < 2; k++)
		__atomic_store_n(&sides[k]->done, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	check_side(&a, &b);
	check_side(&b, &a);
	for (int k = 0; k < 2; k++) {
		side *x = sides[k];
		fangs_sensor_run_stats st;
		ck_assert_int_eq(fangs_sensor_stats(x->s, x->run, &st), 0);
		ck_assert_uint_eq(st.dropped, 0);
		ck_assert_uint_ge(st.emitted, (uint64_t)x->ev.count);
		/* a handle knows only its own runs */
		ck_assert_int_eq(fangs_sensor_stats(x->s, sides[1 - k]->run, &st), FANGS_ENOTFOUND);
		ck_assert_int_eq(fangs_sensor_unwatch(x->s, sides[1 - k]->run), FANGS_ENOTFOUND);
		ck_assert_int_eq(fangs_sensor_unwatch(x->s, x->run), 0);
	}
	for (int k = 0; k < 2; k++) {
		fangs_sensor_free(sides[k]->s);
		fangs_event_list_free(&sides[k]->ev);
		ck_assert_int_eq(fangs_cgroup_remove(sides[k]->cg), 0);
	}
}
END_TEST

/* ---- the last events of a run, read without a quiet period --------------- */

static int opened_by(const fangs_event_list *l, const char *path, pid_t pid)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].kind == FANGS_EV_FILE_OPEN && l->items[i].pid == pid && l->items[i].path &&
		    strcmp(l->items[i].path, path) == 0)
			return 1;
	return 0;
}

/* A run whose process has exited, never polled before: fangs_sensor_drain()
 * delivers its open and its exit, and returns although another run of the
 * process keeps writing events all the while (it reads up to where the
 * kernel had written when called, not until the ring is quiet). */
START_TEST(test_drain_last_events)
{
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor *mine = NULL, *busy = NULL;
	fangs_event_list ev = {0}, other = {0};
	char run[80], cg[PATH_MAX], busy_run[80], busy_cg[PATH_MAX], marker[PATH_MAX];
	char *loop[] = {"/bin/sh", "-c", "while :; do cat /dev/null; done", NULL};
	pid_t pid, looper;
	int status, n;
	struct timespec t0, t1;

	o.on_event = collect;
	o.user = &ev;
	ck_assert_msg(fangs_sensor_new(&mine, &o) == 0, "%s", fangs_error_last());
	o.user = &other;
	ck_assert_msg(fangs_sensor_new(&busy, &o) == 0, "%s", fangs_error_last());
	snprintf(run, sizeof(run), "ck-drain-%d", (int)getpid());
	snprintf(busy_run, sizeof(busy_run), "ck-drain-busy-%d", (int)getpid());
	snprintf(marker, sizeof(marker), "%s/marker-drain", TMP);
	ck_assert_int_eq(fangs_cgroup_create_run(run, cg, sizeof(cg)), 0);
	ck_assert_int_eq(fangs_cgroup_create_run(busy_run, busy_cg, sizeof(busy_cg)), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(mine, cg, run), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(busy, busy_cg, busy_run), 0);
	looper = spawn_in(busy_cg, loop);
	{
		char *argv[] = {SENSOR_ACTOR, "open", marker, NULL};
		pid = spawn_in(cg, argv);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = fangs_sensor_drain(mine, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(n > 0, "drain: %d (%s)", n, fangs_error_last());
	ck_assert_int_eq((int)ev.count, n);
	ck_assert_msg(opened_by(&ev, marker, pid), "the open of %s by pid %d was not delivered", marker, (int)pid);
	ck_assert_msg(has_exit(&ev, pid), "the exit of pid %d was not delivered", (int)pid);
	for (size_t i = 0; i < ev.count; i++)
		ck_assert_str_eq(ev.items[i].run_id, run);
	/* the other run's events kept coming: the drain did not wait for quiet */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 10);
	fprintf(stderr, "drain: %d events in %.1f ms beside a busy run\n", n,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	ck_assert_int_eq(fangs_cgroup_kill(busy_cg), 0);
	ck_assert_int_eq(waitpid(looper, &status, 0), looper);
	ck_assert_int_eq(fangs_sensor_unwatch(mine, run), 0);
	ck_assert_int_eq(fangs_sensor_unwatch(busy, busy_run), 0);
	fangs_sensor_free(mine);
	fangs_sensor_free(busy);
	fangs_event_list_free(&ev);
	fangs_event_list_free(&other);
	ck_assert_int_eq(fangs_cgroup_remove(cg), 0);
	/* the loop's last `cat` may still be dying */
	for (int i = 0; i < 500 && fangs_cgroup_remove(busy_cg) != 0; i++) {
		fangs_cgroup_kill(busy_cg);
		nanosleep(&(struct timespec){0, 10000000L}, NULL);
	}
	ck_assert_int_ne(access(busy_cg, F_OK), 0);
}
END_TEST

/* ---- raw_tp and tracepoints: the same events ----------------------------- */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Each event as JSON without its timestamp, sorted. */
static char **normalized(const fangs_event_list *l)
{
	char **v = calloc(l->count + 1, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < l->count; i++) {
		char *js = NULL;
		size_t len = 0;
		json_object *o;
		ck_assert_int_eq(fangs_event_to_json(&l->items[i], &js, &len), 0);
		o = json_tokener_parse(js);
		ck_assert_ptr_nonnull(o);
		json_object_object_del(o, "ts_ns");
		v[i] = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		ck_assert_ptr_nonnull(v[i]);
		json_object_put(o);
		free(js);
	}
	qsort(v, l->count, sizeof(*v), cmp_str);
	return v;
}

START_TEST(test_modes_same_events)
{
	static const char *const kinds[] = {"file_open", "exec", "net_connect", "dns_query", "syscall", "process_exit"};
	fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
	fangs_sensor *raw = NULL, *tp = NULL;
	fangs_event_list ev_raw = {0}, ev_tp = {0};
	char run[80], cg[PATH_MAX], script[4096];
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	char **nr, **nt;
	int status;
	pid_t pid;

	o.probes = FANGS_SENSOR_PROBE_ALL | FANGS_SENSOR_PROBE_MODULES_RAW;
	o.on_event = collect;
	o.user = &ev_raw;
	o.syscalls = FANGS_SENSOR_SYSCALLS_RAW_TP;
	ck_assert_msg(fangs_sensor_new(&raw, &o) == 0, "%s", fangs_error_last());
	ck_assert_str_eq(fangs_sensor_syscall_mode(raw, NULL), "raw_tp");
	o.user = &ev_tp;
	o.syscalls = FANGS_SENSOR_SYSCALLS_TRACEPOINTS;
	ck_assert_msg(fangs_sensor_new(&tp, &o) == 0, "%s", fangs_error_last());
	ck_assert_str_eq(fangs_sensor_syscall_mode(tp, NULL), "tracepoints");

	/* two objects watch one cgroup: one workload, seen twice */
	snprintf(run, sizeof(run), "ck-modes-%d", (int)getpid());
	ck_assert_int_eq(fangs_cgroup_create_run(run, cg, sizeof(cg)), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(raw, cg, run), 0);
	ck_assert_int_eq(fangs_sensor_watch_cgroup(tp, cg, run), 0);
	snprintf(script, sizeof(script),
		 "A=%s; D=%s; mkdir -p $D/mnt; echo x > $D/a; "
		 "$A open $D/a; $A openat2 $D/b; $A open-legacy $D/c; $A creat $D/d; $A open-dirfd $D a; "
		 "$A open-chdir $D /proc/self/cwd/a; $A open $D/missing; "
		 "$A connect4 9; $A connect6 9; $A connect4m 9; $A connect-unix @fangs-modes; "
		 "$A dns-sendto 127.0.0.77 a.fangs.test; $A dns-connect 127.0.0.77 b.fangs.test; "
		 "$A dns-sendmsg 127.0.0.77 d.fangs.test; $A dns-sendmmsg 127.0.0.77 e.fangs.test; "
		 "$A udp-any 192.0.2.1 5353 odd-port.invalid; $A dns-iov 198.51.100.7 8053 split-iov.invalid; "
		 "$A uring-open $D/a; $A uring-sendto 198.51.100.53 uring-to.invalid; "
		 "$A ptrace; $A mount $D/mnt; $A unshare; $A kernel-load; "
		 "$A flood-same $D/f 40; $A exec /bin/true; exit 0",
		 SENSOR_ACTOR, TMP);
	pid = spawn_in(cg, argv);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	poll_until_exit(raw, &ev_raw, pid);
	poll_until_exit(tp, &ev_tp, pid);
	while (fangs_sensor_poll(raw, 100) > 0)
		;
	while (fangs_sensor_poll(tp, 100) > 0)
		;

	/* the workload did what it says, in both */
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		int in_raw = 0, in_tp = 0;
		for (size_t i = 0; i < ev_raw.count; i++)
			in_raw += strcmp(fangs_event_kind_name(ev_raw.items[i].kind), kinds[k]) == 0;
		for (size_t i = 0; i < ev_tp.count; i++)
			in_tp += strcmp(fangs_event_kind_name(ev_tp.items[i].kind), kinds[k]) == 0;
		ck_assert_msg(in_raw > 0 && in_tp > 0, "%s: %d events through raw_tp, %d through tracepoints", kinds[k],
			      in_raw, in_tp);
	}
	nr = normalized(&ev_raw);
	nt = normalized(&ev_tp);
	for (size_t i = 0, j = 0; i < ev_raw.count || j < ev_tp.count;) {
		int c = i == ev_raw.count ? 1 : j == ev_tp.count ? -1 : strcmp(nr[i], nt[j]);
		if (c < 0)
			fprintf(stderr, "only through raw_tp:      %s\n", nr[i++]);
		else if (c > 0)
			fprintf(stderr, "only through tracepoints: %s\n", nt[j++]);
		else
			i++, j++;
	}
	ck_assert_uint_eq(ev_raw.count, ev_tp.count);
	for (size_t i = 0; i < ev_raw.count; i++)
		ck_assert_str_eq(nr[i], nt[i]);
	fprintf(stderr, "raw_tp and tracepoints: the same %zu events\n", ev_raw.count);
	for (size_t i = 0; i < ev_raw.count; i++) {
		free(nr[i]);
		free(nt[i]);
	}
	free(nr);
	free(nt);
	ck_assert_int_eq(fangs_sensor_unwatch(raw, run), 0);
	ck_assert_int_eq(fangs_sensor_unwatch(tp, run), 0);
	fangs_sensor_free(raw);
	fangs_sensor_free(tp);
	fangs_event_list_free(&ev_raw);
	fangs_event_list_free(&ev_tp);
	ck_assert_int_eq(fangs_cgroup_remove(cg), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sensor-shared");
	TCase *tc = tcase_create("shared");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	/* first: it counts this process's BPF links from none */
	tcase_add_test(tc, test_attach_once);
	tcase_add_test(tc, test_two_handles_disjoint);
	tcase_add_test(tc, test_modes_same_events);
	tcase_add_test(tc, test_drain_last_events);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* one process: the sensor is shared within it */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
