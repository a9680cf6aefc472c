/*
 * tests/bench/bench_ingest.c - events ingested end to end by a real
 * fangs-orchestrator: N simulated runners, each holding a claimed run,
 * stream NDJSON batches over loopback HTTP; the orchestrator decodes them
 * and stores them (SQLite). Prints events/s and batch latency percentiles.
 *
 *   bench-ingest [-r RUNNERS] [-b BATCH] [-n EVENTS] [-d DIR] [-o ORCHESTRATOR]
 *
 * Defaults: 4 runners, 1000 events a batch, 400000 events in all, files in
 * /tmp, the orchestrator of this build. The runners send pre-encoded
 * batches so that what is measured is the orchestrator's work.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <fangs/fangs.h>

#include "fangs-build-config.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-ingest: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &len))
		die("no free port: %s", strerror(errno));
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A plausible batch: mostly file opens, some execs and connects. */
static char *make_batch(int n, size_t *len)
{
	fangs_event_list evs = {0};
	char *out = NULL, *line;
	size_t cap = 0, used = 0, ll;
	for (int i = 0; i < n; i++) {
		fangs_event *e = fangs_event_list_push(&evs);
		char path[128];
		int k = i % 20;
		e->ts_ns = 1700000000000000000ULL + (uint64_t)i * 1000;
		e->pid = 1000 + i % 50;
		e->ppid = 999;
		e->comm = strdup(k < 14 ? "node" : "sh");
		if (k < 14) {
			e->kind = FANGS_EV_FILE_OPEN;
			snprintf(path, sizeof(path), "/tmp/project/node_modules/pkg%d/lib/file%d.js", i % 37, i % 101);
			e->path = strdup(path);
		} else if (k < 18) {
			e->kind = FANGS_EV_EXEC;
			e->path = strdup("/usr/bin/node");
		} else {
			e->kind = FANGS_EV_NET_CONNECT;
			e->addr = strdup("10.0.0.1");
			e->port = 443;
		}
	}
	for (size_t i = 0; i < evs.count; i++) {
		if (fangs_event_to_json(&evs.items[i], &line, &ll))
			die("encoding: %s", fangs_error_last());
		if (used + ll + 2 > cap) {
			cap = (used + ll + 2) * 2;
			out = realloc(out, cap);
		}
		memcpy(out + used, line, ll);
		used += ll;
		out[used++] = '\n';
		free(line);
	}
	fangs_event_list_free(&evs);
	*len = used;
	return out;
}

typedef struct sim {
	char id[32];
	char run_id[FANGS_RUN_ID_MAX];
	const char *url;
	const char *batch;
	size_t batch_len;
	int batches;
	double *lat;
	int sent;
	int failed;
	pthread_t th;
} sim;

static fangs_wire_client *client(const char *url, const char *id)
{
	fangs_wire_client_options o = FANGS_WIRE_CLIENT_OPTIONS_INIT;
	fangs_wire_client *c;
	o.url = url;
	o.runner_id = id;
	if (fangs_wire_client_new(&c, &o))
		die("client: %s", fangs_error_last());
	return c;
}

static long call(fangs_wire_client *c, const char *method, const char *path, const char *body, fangs_wire_response *rs)
{
	if (fangs_wire_request(c, method, path, "application/json", body, body ? strlen(body) : 0, 30000, rs))
		die("%s %s: %s", method, path, fangs_error_last());
	return rs->status;
}

/* Registers, queues a run for itself and claims it. */
static void prepare(sim *s)
{
	fangs_wire_client *c = client(s->url, s->id);
	fangs_wire_response rs;
	fangs_wire_scan scan = {0};
	char body[256], path[128];

	snprintf(body, sizeof(body), "{\"runner_id\":\"%s\",\"max_scans\":1}", s->id);
	if (call(c, "POST", "/v1/runners/register", body, &rs) != 200)
		die("register: HTTP %ld", rs.status);
	fangs_wire_response_clear(&rs);
	snprintf(body, sizeof(body), "{\"package\":\"bench\",\"version\":\"1.0.%s\",\"runner\":\"%s\"}", s->id + 1,
		 s->id);
	if (call(c, "POST", "/v1/scans", body, &rs) != 201)
		die("submit: HTTP %ld", rs.status);
	fangs_wire_response_clear(&rs);
	snprintf(path, sizeof(path), "/v1/runners/%s/jobs?wait_ms=5000", s->id);
	if (call(c, "GET", path, NULL, &rs) != 200 || fangs_wire_scan_decode(&scan, rs.body, rs.len))
		die("claim: HTTP %ld", rs.status);
	memcpy(s->run_id, scan.run_id, sizeof(s->run_id));
	fangs_wire_scan_clear(&scan);
	fangs_wire_response_clear(&rs);
	fangs_wire_client_free(c);
}

static void *stream(void *arg)
{
	sim *s = arg;
	fangs_wire_client *c = client(s->url, s->id);
	char path[160];
	snprintf(path, sizeof(path), "/v1/runs/%s/events", s->run_id);
	for (int i = 0; i < s->batches; i++) {
		fangs_wire_response rs;
		double t0 = now_s();
		if (fangs_wire_request(c, "POST", path, "application/x-ndjson", s->batch, s->batch_len, 60000, &rs) ||
		    rs.status != 200) {
			s->failed++;
		} else {
			s->lat[s->sent++] = now_s() - t0;
		}
		fangs_wire_response_clear(&rs);
	}
	fangs_wire_client_free(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A counter from the orchestrator's /metrics. */
static double metric(const char *url, const char *name)
{
	fangs_wire_client *c = client(url, NULL);
	fangs_wire_response rs;
	double v = -1;
	const char *p;
	size_t n = strlen(name);
	if (call(c, "GET", "/metrics", NULL, &rs) == 200)
		for (p = rs.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, name, n) && p[n] == ' ')
				v = atof(p + n + 1);
	fangs_wire_response_clear(&rs);
	fangs_wire_client_free(c);
	return v;
}

int main(int argc, char **argv)
{
	int runners = 4, batch = 1000, opt, port = free_port(), total_batches = 0, sent = 0, failed = 0;
	long events = 400000;
	const char *dir = "/tmp", *orch = FANGS_BUILD_ROOT "/tools/fangs-orchestrator/fangs-orchestrator";
	char db[512], listen[64], url[96], *payload;
	size_t payload_len;
	double *lat, t0, elapsed, stored;
	sim *sims;
	pid_t pid;

	while ((opt = getopt(argc, argv, "r:b:n:d:o:")) != -1) {
		switch (opt) {
		case 'r':
			runners = atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'n':
			events = atol(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'o':
			orch = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: bench-ingest [-r RUNNERS] [-b BATCH] [-n EVENTS] [-d DIR] [-o ORCHESTRATOR]\n");
			return 2;
		}
	}
	if (runners < 1 || runners > 256 || batch < 1 || events < batch)
		die("bad arguments");
	snprintf(db, sizeof(db), "%s/bench-ingest-%d.db", dir, (int)getpid());
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "http://%s", listen);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(orch, orch, "--listen", listen, "--sqlite-path", db, "--no-watch", "--insecure-no-auth",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		fangs_wire_client *c = client(url, NULL);
		fangs_wire_response rs;
		int up = fangs_wire_request(c, "GET", "/v1/health", NULL, NULL, 0, 1000, &rs) == 0 && rs.status == 200;
		if (up)
			fangs_wire_response_clear(&rs);
		fangs_wire_client_free(c);
		if (up)
			break;
		if (i == 99)
			die("%s did not come up on %s", orch, listen);
		usleep(50000);
	}

	payload = make_batch(batch, &payload_len);
	sims = calloc((size_t)runners, sizeof(*sims));
	total_batches = (int)(events / batch);
	for (int i = 0; i < runners; i++) {
		sim *s = &sims[i];
		snprintf(s->id, sizeof(s->id), "b%d", i);
		s->url = url;
		s->batch = payload;
		s->batch_len = payload_len;
		s->batches = total_batches / runners + (i < total_batches % runners);
		s->lat = calloc((size_t)s->batches + 1, sizeof(double));
		prepare(s);
	}
	t0 = now_s();
	for (int i = 0; i < runners; i++)
		pthread_create(&sims[i].th, NULL, stream, &sims[i]);
	for (int i = 0; i < runners; i++)
		pthread_join(sims[i].th, NULL);
	elapsed = now_s() - t0;
	stored = metric(url, "fangs_events_received_total");

	lat = calloc((size_t)total_batches + 1, sizeof(double));
	for (int i = 0; i < runners; i++) {
		memcpy(lat + sent, sims[i].lat, (size_t)sims[i].sent * sizeof(double));
		sent += sims[i].sent;
		failed += sims[i].failed;
	}
	qsort(lat, (size_t)sent, sizeof(double), cmp_double);
	printf("runners:                 %d (threads, one keep-alive connection each)\n", runners);
	printf("batch:                   %d events, %zu bytes of NDJSON\n", batch, payload_len);
	printf("events stored:           %.0f of %ld sent (%d batches failed)\n", stored, (long)sent * batch, failed);
	printf("elapsed:                 %.3f s\n", elapsed);
	printf("ingest rate:             %.0f events/s (HTTP + decode + SQLite, end to end)\n", stored / elapsed);
	if (sent) {
		printf("batch latency p50:       %.2f ms\n", lat[(size_t)(sent * 0.50)] * 1e3);
		printf("batch latency p99:       %.2f ms\n",
		       lat[(size_t)(sent * 0.99) < (size_t)sent ? (size_t)(sent * 0.99) : (size_t)sent - 1] * 1e3);
		printf("batch latency max:       %.2f ms\n", lat[sent - 1] * 1e3);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < runners; i++)
		free(sims[i].lat);
	free(sims);
	free(lat);
	free(payload);
	unlink(db);
	{
		char side[600];
		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
	}
	return failed || stored != (double)sent * batch;
}
