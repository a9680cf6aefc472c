/*
 * scan/outcome.c - how an install in the sandbox ended, in words a person
 * reads in `fangs run show`.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "scan/internal.h"

/* Lines of npm's output kept in a failed run's reason. */
#define REASON_LINES 5

/* The last `max` non-empty lines of `out`, joined by " | " into buf. npm's
 * pointer at its debug log (a file of the sandbox, gone now) is left out. */
static void last_lines(const char *out, int max, char *buf, size_t cap)
{
	const char *starts[REASON_LINES];
	size_t lens[REASON_LINES];
	int n = 0;
	size_t used = 0;
	const char *end = out ? out + strlen(out) : NULL;

	buf[0] = '\0';
	if (!out)
		return;
	while (end > out && n < max) {
		const char *e = end, *b;
		while (e > out && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		b = e;
		while (b > out && b[-1] != '\n')
			b--;
		end = b;
		if (e == b || memmem(b, (size_t)(e - b), "A complete log of this run", 26))
			continue;
		starts[n] = b;
		lens[n] = (size_t)(e - b);
		n++;
	}
	for (int i = n - 1; i >= 0 && used + 1 < cap; i--) {
		int w = snprintf(buf + used, cap - used, "%s%.*s", used ? " | " : "", (int)lens[i], starts[i]);
		if (w < 0)
			break;
		used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
	}
}

fangs_run_state fangs__install_outcome(const fangs_sandbox_result *r, char *why, size_t cap)
{
	char lines[1024], oom[160] = "";
	why[0] = '\0';
	last_lines(r->output, REASON_LINES, lines, sizeof(lines));
	if (r->oom_kills > 0)
		snprintf(oom, sizeof(oom), "the out-of-memory killer ended %lld process%s (memory limit %lld MiB)",
			 (long long)r->oom_kills, r->oom_kills == 1 ? "" : "es",
			 (long long)(FANGS__SCAN_MEMORY_BYTES >> 20));
	if (r->timed_out) {
		if (!r->exited)
			snprintf(why, cap, "the install was still running at the duration limit: killed%s%s",
				 oom[0] ? "; " : "", oom);
		else
			snprintf(why, cap,
				 "npm exited with status %d, but %d process%s still ran at the duration "
				 "limit: killed",
				 r->exit_code, r->processes_left, r->processes_left == 1 ? "" : "es");
		return FANGS_RUN_TIMED_OUT;
	}
	if (r->term_signal) {
		if (r->oom_kills > 0)
			snprintf(why, cap, "install killed by the out-of-memory killer (memory limit %lld MiB)%s%s",
				 (long long)(FANGS__SCAN_MEMORY_BYTES >> 20), lines[0] ? ": " : "", lines);
		else
			snprintf(why, cap, "npm killed by signal %d (%s)%s%s", r->term_signal,
				 strsignal(r->term_signal), lines[0] ? ": " : "", lines);
		return FANGS_RUN_FAILED;
	}
	if (r->exit_code != 0) {
		snprintf(why, cap, "npm exited with status %d%s%s%s%s", r->exit_code, oom[0] ? " after " : "", oom,
			 lines[0] ? ": " : "", lines);
		return FANGS_RUN_FAILED;
	}
	return FANGS_RUN_SUCCEEDED;
}
