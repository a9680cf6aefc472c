/*
 * tests/bench/bench_overhead.c - what the sensor costs the observed
 * workload: the same workload bare, under the sensor (watched cgroup, events
 * decoded by a consumer thread) and under strace -f on the same system
 * calls, interleaved rep by rep. Prints medians and ratios to bare.
 *
 *   bench-overhead [--reps N] [--probes MASK] [--npm] [-- CMD ARGS...]
 *   default workload: node tests/bench/workload.js; --npm: `npm ci --offline`
 *   of tests/fixtures/npm-tiny (two local packages with install scripts),
 *   copied to a temporary directory first
 *   MASK: FANGS_SENSOR_PROBE_* bits, default all
 *   FANGS_SENSOR_SYSCALLS=raw_tp|tracepoints: how system calls are traced
 *   (tests/bench/bench_npm_project runs both on a generated project)
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <fangs/fangs.h>

#define STRACE_SET \
	"trace=openat,openat2,open,creat,execve,execveat,connect,sendto,sendmsg,sendmmsg,write,writev,clone,clone3," \
	"fork,vfork,exit_group"

static volatile int stop_polling;
static const char *sc_mode = "?"; /* how the sensor traced system calls */
static unsigned long long delivered;

static int count_event(const fangs_event *ev, void *user)
{
	(void)ev;
	(void)user;
	delivered++;
	return 0;
}

static double consumer_cpu;

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *poller(void *arg)
{
	fangs_sensor *s = arg;
	double c0 = thread_cpu();
	while (!stop_polling)
		fangs_sensor_poll(s, 50);
	while (fangs_sensor_poll(s, 0) > 0)
		;
	consumer_cpu = thread_cpu() - c0;
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Total run time of the BPF programs with ids above `first_id` (the
 * sensor's, loaded after it was noted), from the kernel's own counters. */
static unsigned long long bpf_run_ns(unsigned int first_id, unsigned long long *calls)
{
	unsigned long long ns = 0;
	__u32 id = first_id;

	*calls = 0;
	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			ns += info.run_time_ns;
			*calls += info.run_cnt;
		}
		close(fd);
	}
	return ns;
}

static unsigned int last_prog_id(void)
{
	__u32 id = 0;
	while (bpf_prog_get_next_id(id, &id) == 0)
		;
	return id;
}

static double last_cpu;

/* Runs argv inside `cgroup` (may be NULL) and returns the wall time; the
 * CPU time of the process and its descendants is left in last_cpu. */
static double run(const char *cgroup, char **argv)
{
	double t0 = now();
	struct rusage ru;
	int status;
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (cgroup && fangs_cgroup_attach(cgroup, 0))
			_exit(120);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(121);
		execvp(argv[0], argv);
		_exit(127);
	}
	wait4(pid, &status, 0, &ru);
	last_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		   (double)ru.ru_stime.tv_usec / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: workload failed (status %d)\n", status);
		exit(1);
	}
	return now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const char *mode, double wall, double wall_bare, double cpu, double cpu_bare)
{
	printf("  %-34s wall %7.3f s x%.3f (%+6.1f%%)   cpu %7.3f s x%.3f (%+6.1f%%)\n", mode, wall, wall / wall_bare,
	       (wall / wall_bare - 1) * 100, cpu, cpu / cpu_bare, (cpu / cpu_bare - 1) * 100);
}

int main(int argc, char **argv)
{
	char script[PATH_MAX], cg[PATH_MAX], run_id[64];
	char *dflt[] = {"node", script, NULL};
	char **cmd = dflt;
	char *strace_argv[64];
	int reps = 5, i;
	unsigned probes = 0;
	int npm = 0;
	char fixture[PATH_MAX], copy_cmd[2 * PATH_MAX + 64], cache[PATH_MAX + 16];
	char *npm_argv[] = {"/usr/bin/env",
			    "npm_config_update_notifier=false",
			    "npm",
			    "ci",
			    "--offline",
			    "--no-audit",
			    "--no-fund",
			    "--dangerously-allow-all-scripts",
			    "--prefix",
			    fixture,
			    "--cache",
			    cache,
			    NULL};
	double bare[64], sens[64], strc[64], unw[64];
	double cbare[64], csens[64], cstrc[64], cunw[64], ccons[64], bpfns[64], bpfcalls[64];
	int stats_fd;
	unsigned long long events_total = 0, dropped_total = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (strcmp(argv[i], "--npm") == 0)
			npm = 1;
		else if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc)
			probes = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
			cmd = argv + i + 1;
			break;
		}
	}
	if (reps < 1 || reps > 64)
		reps = 5;
	if (!cmd[0]) /* never with a conforming argv; execvp wants a name */
		cmd = dflt;
	snprintf(script, sizeof(script), "%s/tests/bench/workload.js",
		 getenv("FANGS_SOURCE_ROOT") ? getenv("FANGS_SOURCE_ROOT") : FANGS_SRC);
	fangs_log_set(fangs_log_stderr, FANGS_LOG_WARN, NULL);
	if (npm) {
		snprintf(fixture, sizeof(fixture), "/tmp/fangs-bench-npm-%d", (int)getpid());
		snprintf(cache, sizeof(cache), "%s/.cache", fixture);
		snprintf(copy_cmd, sizeof(copy_cmd), "cp -r %s/tests/fixtures/npm-tiny %s",
			 getenv("FANGS_SOURCE_ROOT") ? getenv("FANGS_SOURCE_ROOT") : FANGS_SRC, fixture);
		if (system(copy_cmd) != 0) {
			fprintf(stderr, "bench: %s failed\n", copy_cmd);
			return 1;
		}
		cmd = npm_argv;
	}

	snprintf(run_id, sizeof(run_id), "bench-overhead-%d", (int)getpid());
	if (fangs_cgroup_create_run(run_id, cg, sizeof(cg))) {
		fprintf(stderr, "bench: %s\n", fangs_error_last());
		return 1;
	}
	i = 0;
	strace_argv[i++] = "strace";
	strace_argv[i++] = "-f";
	strace_argv[i++] = "-qq";
	strace_argv[i++] = "-o";
	strace_argv[i++] = "/dev/null";
	strace_argv[i++] = "-e";
	strace_argv[i++] = STRACE_SET;
	for (char **c = cmd; *c && i < 62; c++)
		strace_argv[i++] = *c;
	strace_argv[i] = NULL;

	/* the kernel counts BPF run time while this fd is open */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "bench: BPF run-time statistics unavailable\n");
	run(cg, cmd); /* warm the page cache */
	for (int r = 0; r < reps; r++) {
		fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
		fangs_sensor_run_stats st;
		fangs_sensor *s = NULL;
		unsigned long long ns0, calls0, calls1;
		unsigned int first_id;
		pthread_t th;

		bare[r] = run(cg, cmd);
		cbare[r] = last_cpu;

		o.on_event = count_event;
		o.probes = probes;
		first_id = last_prog_id();
		if (fangs_sensor_new(&s, &o)) {
			fprintf(stderr, "bench: sensor: %s\n", fangs_error_last());
			return 1;
		}
		sc_mode = fangs_sensor_syscall_mode(s, NULL);
		/* loaded, but the workload is outside every watched cgroup */
		unw[r] = run(cg, cmd);
		cunw[r] = last_cpu;
		if (fangs_sensor_watch_cgroup(s, cg, run_id)) {
			fprintf(stderr, "bench: sensor: %s\n", fangs_error_last());
			return 1;
		}
		stop_polling = 0;
		delivered = 0;
		pthread_create(&th, NULL, poller, s);
		ns0 = bpf_run_ns(first_id, &calls0);
		sens[r] = run(cg, cmd);
		bpfns[r] = (double)(bpf_run_ns(first_id, &calls1) - ns0) / 1e9;
		bpfcalls[r] = (double)(calls1 - calls0);
		csens[r] = last_cpu;
		stop_polling = 1;
		pthread_join(th, NULL);
		csens[r] += consumer_cpu;
		ccons[r] = consumer_cpu;
		fangs_sensor_stats(s, run_id, &st);
		events_total += delivered;
		dropped_total += st.dropped;
		fangs_sensor_free(s);
		/* the process keeps its BPF object loaded: unloaded here, so that
		 * the next rep's bare run is bare */
		fangs_sensor_unload_idle();

		strc[r] = run(cg, strace_argv);
		cstrc[r] = last_cpu;
	}
	fangs_cgroup_remove(cg);
	if (stats_fd >= 0)
		close(stats_fd);
	if (npm) {
		snprintf(copy_cmd, sizeof(copy_cmd), "rm -rf %s", fixture);
		if (system(copy_cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", fixture);
	}

	printf("workload: %s, %d reps, medians (wall clock; CPU = workload + tracer/consumer); "
	       "sensor's system calls through %s\n",
	       npm           ? "npm ci --offline of tests/fixtures/npm-tiny"
	       : cmd == dflt ? script
			     : cmd[0],
	       reps, sc_mode);
	report("bare", median(bare, reps), median(bare, reps), median(cbare, reps), median(cbare, reps));
	report("sensor loaded, workload unwatched", median(unw, reps), median(bare, reps), median(cunw, reps),
	       median(cbare, reps));
	report("sensor", median(sens, reps), median(bare, reps), median(csens, reps), median(cbare, reps));
	printf("    %llu events/run, %llu dropped in all; consumer thread cpu %.3f s/run\n",
	       events_total / (unsigned long long)reps, dropped_total, median(ccons, reps));
	printf("    BPF programs ran %.0f times for %.4f s per run (all processes of the machine): %.1f%% of the "
	       "bare workload's cpu\n",
	       median(bpfcalls, reps), median(bpfns, reps), 100 * median(bpfns, reps) / median(cbare, reps));
	report("strace -f", median(strc, reps), median(bare, reps), median(cstrc, reps), median(cbare, reps));
	return 0;
}
