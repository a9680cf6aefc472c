/*
 * tools/fangs/cmd_trace.c - `fangs trace`: run a command under the eBPF
 * sensor and print every event of it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"

typedef struct trace_state {
	int json;
	FILE *out;
} trace_state;

static void print_endpoint(FILE *f, const fangs_event *ev)
{
	if (!ev->addr)
		return;
	if (ev->family == FANGS_FAMILY_UNIX)
		fprintf(f, "unix:%s", tx(ev->addr));
	else if (ev->family == FANGS_FAMILY_IPV6)
		fprintf(f, "[%s]:%u", tx(ev->addr), ev->port);
	else
		fprintf(f, "%s:%u", tx(ev->addr), ev->port);
	if (ev->proto == FANGS_PROTO_TCP)
		fputs("/tcp", f);
	else if (ev->proto == FANGS_PROTO_UDP)
		fputs("/udp", f);
}

static void print_human(FILE *f, const fangs_event *ev)
{
	const char *qt;

	/* every string of an event is what the sandbox chose: shown escaped */
	fprintf(f, "%d %-15s %-12s ", ev->pid, txd(ev->comm, "?"), fangs_event_kind_name(ev->kind));
	switch (ev->kind) {
	case FANGS_EV_FILE_OPEN:
		fprintf(f, "%s %s", txd(ev->path, "?"),
			(ev->flags & FANGS_OPEN_WRITE) ? ((ev->flags & FANGS_OPEN_READ) ? "rw" : "w") : "r");
		/* an alias: the file it reached */
		if (ev->real_path && strcmp(ev->real_path, ev->path) != 0)
			fprintf(f, " -> %s", tx(ev->real_path));
		break;
	case FANGS_EV_EXEC:
		fprintf(f, "%s [", txd(ev->path, "?"));
		for (size_t i = 0; i < ev->argc; i++)
			fprintf(f, i ? " %s" : "%s", txd(ev->argv[i], ""));
		fputc(']', f);
		break;
	case FANGS_EV_NET_CONNECT:
		print_endpoint(f, ev);
		break;
	case FANGS_EV_DNS_QUERY:
		qt = fangs_dns_qtype_name(ev->qtype);
		if (qt)
			fprintf(f, "%s %s", txd(ev->qname, "?"), qt);
		else
			fprintf(f, "%s type%u", txd(ev->qname, "?"), ev->qtype);
		if (ev->addr) {
			fputs(" via ", f);
			print_endpoint(f, ev);
		}
		break;
	case FANGS_EV_TLS_SNI:
		fputs(txd(ev->sni, "?"), f);
		if (ev->addr) {
			fputs(" to ", f);
			print_endpoint(f, ev);
		}
		break;
	case FANGS_EV_PROC_FORK:
		fprintf(f, "parent %d", ev->ppid);
		break;
	case FANGS_EV_PROC_EXIT:
		fprintf(f, "code %d", ev->exit_code);
		break;
	case FANGS_EV_PROXY_REQUEST:
		fprintf(f, "%s %s:%u%s%s%s%s %s %d out %llu in %llu", txd(ev->method, "?"), txd(ev->host, "?"),
			ev->port, ev->path ? " " : "", txd(ev->path, ""), ev->sni ? " sni " : "", txd(ev->sni, ""),
			ev->allowed ? "allowed" : "refused", ev->status, (unsigned long long)ev->bytes_out,
			(unsigned long long)ev->bytes_in);
		break;
	case FANGS_EV_SYSCALL:
		fprintf(f, "%s", txd(ev->op, "?"));
		if (ev->detail)
			fprintf(f, " %s", tx(ev->detail));
		if (ev->path)
			fprintf(f, " %s", tx(ev->path));
		if (ev->target)
			fprintf(f, " target %d", ev->target);
		break;
	case FANGS_EV_NONE:
		break;
	}
	if (ev->origin.package || ev->origin.script)
		fprintf(f, "  (%s@%s %s)", txd(ev->origin.package, ""), txd(ev->origin.version, ""),
			txd(ev->origin.script, ""));
	fputc('\n', f);
}

static int on_trace_event(const fangs_event *ev, void *user)
{
	trace_state *st = user;
	if (st->json) {
		char *line = NULL;
		size_t len = 0;
		if (fangs_event_to_json(ev, &line, &len) == 0) {
			fwrite(line, 1, len, st->out);
			fputc('\n', st->out);
		}
		free(line);
	} else {
		print_human(st->out, ev);
	}
	return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Child side: join the cgroup, then become CMD. */
static void run_child(const char *cgroup, char **cmd) __attribute__((noreturn));

static void run_child(const char *cgroup, char **cmd)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (fangs_cgroup_attach(cgroup, 0)) {
		char msg[1024]; /* no malloc between fork and exec */
		fangs_text_escape(msg, sizeof(msg), fangs_error_last(), strlen(fangs_error_last()));
		fprintf(stderr, "fangs trace: %s\n", msg);
		_exit(127);
	}
	execvp(cmd[0], cmd);
	int e = errno;
	char what[1024];
	fangs_text_escape(what, sizeof(what), cmd[0], strlen(cmd[0]));
	fprintf(stderr, "fangs trace: %s: %s\n", what, strerror(e));
	_exit(127);
}

static int drain(fangs_sensor *s)
{
	int n;
	do {
		n = fangs_sensor_poll(s, 0);
	} while (n > 0);
	return n;
}

CLI_HANDLER(cmd_trace)
{
	fangs_sensor_options so = FANGS_SENSOR_OPTIONS_INIT;
	trace_state st = {ctx->json, stdout};
	fangs_sensor_run_stats stats = {0, 0, 0, 0};
	fangs_sensor *s = NULL;
	char run_id[64], cgroup[PATH_MAX];
	const char *output = cli_get(a, "output");
	int rc, status = 0, reaped = 0, exit_code = CLI_EXIT_ERROR;
	struct sigaction sa;
	pid_t child;

	so.ringbuf_size = cli_get_num(a, "ringbuf-size", 0);
	if (output && !(st.out = fopen(output, "we"))) {
		int e = errno;
		fprintf(stderr, "fangs trace: %s: %s\n", tx(output), strerror(e));
		return CLI_EXIT_ERROR;
	}
	/* CMD writes to the same stdout: whole lines keep the two apart */
	if (!output)
		setvbuf(stdout, NULL, _IOLBF, 0);

	so.on_event = on_trace_event;
	so.user = &st;
	if ((rc = fangs_sensor_new(&s, &so))) {
		if (output)
			fclose(st.out);
		return cli_fail("loading the sensor", rc);
	}
	snprintf(run_id, sizeof(run_id), "trace-%d-%lld", (int)getpid(), (long long)time(NULL));
	if ((rc = fangs_cgroup_create_run(run_id, cgroup, sizeof(cgroup)))) {
		fangs_sensor_free(s);
		if (output)
			fclose(st.out);
		return cli_fail("creating the cgroup", rc);
	}
	if ((rc = fangs_sensor_watch_cgroup(s, cgroup, run_id))) {
		exit_code = cli_fail("watching the cgroup", rc);
		goto out;
	}

	/* Ctrl-C goes to the traced command; we stay to report what it did. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		exit_code = cli_fail("fork", FANGS_EIO);
		goto out;
	}
	if (child == 0)
		run_child(cgroup, a->pos); /* CMD ARGS..., NULL-terminated by main's argv */

	rc = 0;
	for (;;) {
		int populated;
		int n = fangs_sensor_poll(s, 100);
		if (n < 0 && rc >= 0) {
			rc = n;
			exit_code = cli_fail("reading events", rc);
			kill(child, SIGKILL);
		}
		if (!reaped && waitpid(child, &status, WNOHANG) == child)
			reaped = 1;
		populated = fangs_cgroup_populated(cgroup);
		if (reaped && populated <= 0)
			break;
		/* interrupted, CMD gone, descendants left behind: end them */
		if (got_signal && reaped && populated > 0) {
			fangs_cgroup_kill(cgroup);
			got_signal = 0;
		}
	}
	drain(s);
	fflush(stdout);
	if (fangs_sensor_stats(s, run_id, &stats) == 0)
		fprintf(stderr,
			"fangs trace: %llu events emitted, %llu dropped (%llu past the budget), %llu repeats folded; "
			"system calls through %s\n",
			(unsigned long long)stats.emitted, (unsigned long long)stats.dropped,
			(unsigned long long)stats.capped, (unsigned long long)stats.folded,
			fangs_sensor_syscall_mode(s, NULL));
	if (rc >= 0)
		exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	fflush(stdout);
	if (output && fclose(st.out) != 0)
		exit_code = cli_fail("writing the output", FANGS_EIO);
	fangs_sensor_unwatch(s, run_id);
	fangs_cgroup_remove(cgroup);
	fangs_sensor_free(s);
	return exit_code;
}
