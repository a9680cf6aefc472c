/*
 * tests/bench/bench_throughput.c - how many events per second the sensor
 * delivers, and where it starts dropping, against the ring buffer size.
 * A generator in a watched cgroup opens missing files (or connects a UDP
 * socket) as fast as it can; this process decodes events meanwhile. Each
 * call names another file (port): the sensor folds identical repeats, and
 * this measures the ring buffer, with no event budget.
 *
 *   bench-throughput [--count N] [--kind open|open-file|connect] [--entry-only]
 *
 * open: a missing file (the open fails: no file to resolve); open-file: an
 * existing one, opened and closed (the sensor resolves it at the exit: a
 * dentry walk of 4 components). --entry-only loads the open probes without
 * their exits (opens reported at entry, as written, the old way).
 *
 * "gen us/call" is the generator's own CPU time per call (probe cost
 * included), which other load on the machine disturbs less than its rate.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

static unsigned long long delivered;

static int count_event(const fangs_event *ev, void *user)
{
	(void)user;
	if (ev->kind == FANGS_EV_FILE_OPEN || ev->kind == FANGS_EV_NET_CONNECT)
		delivered++;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ru_cpu(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
	       (double)ru->ru_stime.tv_usec / 1e6;
}

static int burst(const char *kind, long n)
{
	if (strcmp(kind, "open") == 0) {
		char path[64];
		for (long i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/nonexistent/fangs-burst-%ld", i);
			openat(AT_FDCWD, path, O_RDONLY);
		}
	} else if (strcmp(kind, "open-file") == 0) {
		for (long i = 0; i < n; i++) {
			int fd = openat(AT_FDCWD, "/usr/lib/os-release", O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (long i = 0; i < n; i++) {
			sin.sin_port = htons((uint16_t)(1 + i % 65000));
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)(i / 65000));
			connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {256u << 10, 1u << 20, 4u << 20, 16u << 20, 64u << 20};
	const char *kind = "open";
	long count = 2000000;
	int entry_only = 0, opens;
	char cg[4096], run_id[64], nbuf[32];
	struct rusage ru;

	if (argc == 4 && strcmp(argv[1], "burst") == 0)
		return burst(argv[2], atol(argv[3]));
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--count") == 0)
			count = atol(argv[++i]);
		else if (strcmp(argv[i], "--kind") == 0)
			kind = argv[++i];
	}
	for (int i = 1; i < argc; i++)
		entry_only |= strcmp(argv[i], "--entry-only") == 0;
	opens = strncmp(kind, "open", 4) == 0;
	fangs_log_set(fangs_log_stderr, FANGS_LOG_WARN, NULL);
	snprintf(nbuf, sizeof(nbuf), "%ld", count);
	printf("burst of %ld %s calls per row, %ld CPUs%s\n", count, kind, sysconf(_SC_NPROCESSORS_ONLN),
	       opens ? (entry_only ? ", opens reported at entry" : ", opens reported at exit") : "");
	{
		double t0 = now();
		pid_t pid = fork();
		int status;
		if (pid == 0) {
			execl("/proc/self/exe", argv[0], "burst", kind, nbuf, (char *)NULL);
			_exit(127);
		}
		wait4(pid, &status, 0, &ru);
		printf("without the sensor: %.3f s, %.0f calls/s, cpu %.2f us/call\n", now() - t0,
		       (double)count / (now() - t0), ru_cpu(&ru) * 1e6 / (double)count);
	}
	printf("%10s %10s %12s %12s %12s %10s %8s %14s\n", "ringbuf", "gen s", "gen calls/s", "gen us/call",
	       "delivered", "dropped", "drop %", "delivered/s");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		fangs_sensor_options o = FANGS_SENSOR_OPTIONS_INIT;
		fangs_sensor_run_stats st = {0, 0, 0, 0};
		fangs_sensor *s = NULL;
		double t0, t_gen = 0, t_end;
		int status, reaped = 0;
		pid_t pid;

		snprintf(run_id, sizeof(run_id), "bench-tp-%d-%zu", (int)getpid(), k);
		if (fangs_cgroup_create_run(run_id, cg, sizeof(cg)))
			goto fail;
		o.ringbuf_size = sizes[k];
		o.max_events_per_run = FANGS_SENSOR_UNLIMITED;
		o.on_event = count_event;
		o.probes = FANGS_SENSOR_PROBE_PROCESS | (opens ? FANGS_SENSOR_PROBE_FILES : FANGS_SENSOR_PROBE_NET) |
			   (opens && !entry_only ? FANGS_SENSOR_PROBE_FILES_RETRY : 0);
		if (fangs_sensor_new(&s, &o) || fangs_sensor_watch_cgroup(s, cg, run_id))
			goto fail;
		delivered = 0;
		t0 = now();
		pid = fork();
		if (pid == 0) {
			if (fangs_cgroup_attach(cg, 0))
				_exit(120);
			execl("/proc/self/exe", argv[0], "burst", kind, nbuf, (char *)NULL);
			_exit(127);
		}
		for (;;) {
			int n = fangs_sensor_poll(s, 20);
			if (!reaped && wait4(pid, &status, WNOHANG, &ru) == pid) {
				reaped = 1;
				t_gen = now() - t0;
			}
			if (reaped && n == 0)
				break;
		}
		t_end = now() - t0;
		fangs_sensor_stats(s, run_id, &st);
		printf("%9zuK %10.3f %12.0f %12.2f %12llu %10llu %7.2f%% %14.0f\n", sizes[k] >> 10, t_gen,
		       (double)count / t_gen, ru_cpu(&ru) * 1e6 / (double)count, delivered,
		       (unsigned long long)st.dropped, 100.0 * (double)st.dropped / (double)(st.emitted + st.dropped),
		       (double)delivered / t_end);
		fflush(stdout);
		fangs_sensor_free(s);
		fangs_cgroup_remove(cg);
	}
	return 0;
fail:
	fprintf(stderr, "bench: %s\n", fangs_error_last());
	return 1;
}
