/*
 * tools/fangs/cmd_sensor.c - `fangs sensor probes`.
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

static void put_json_str(FILE *f, const char *s)
{
	/* made valid UTF-8 first, as every JSON fangs writes */
	char *clean = s ? fangs_utf8_clean(s, strlen(s), NULL) : NULL;
	fputc('"', f);
	for (const char *p = clean; p && *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
	free(clean);
}

static int print_probes(cli_ctx *ctx, int json)
{
	fangs_sensor *s = NULL;
	const fangs_sensor_probe *p;
	size_t n, live = 0;
	int rc = fangs_sensor_new(&s, NULL);

	if (rc)
		return cli_fail("loading the sensor", rc);
	fangs_sensor_probes(s, &p, &n);
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
			put_json_str(stdout, p[i].name);
			fputs(",\"group\":", stdout);
			put_json_str(stdout, p[i].group);
			printf(",\"live\":%s,\"reason\":", p[i].live ? "true" : "false");
			put_json_str(stdout, p[i].reason);
			fputc('}', stdout);
		}
		fputs("]\n", stdout);
	} else {
		for (size_t i = 0; i < n; i++) {
			printf("%-6s %-11s %s%s%s\n", p[i].live ? "live" : "FAILED", txd(p[i].group, "?"),
			       txd(p[i].name, "?"), p[i].live ? "" : ": ", p[i].live ? "" : txd(p[i].reason, ""));
			live += p[i].live != 0;
		}
		printf("%zu of %zu probes live\n", live, n);
		{
			const char *why, *mode = fangs_sensor_syscall_mode(s, &why);
			printf("system calls traced through %s%s%s\n",
			       !strcmp(mode, "raw_tp") ? "raw_tp/sys_enter and raw_tp/sys_exit, dispatching by number"
						       : "one tracepoint each",
			       *why ? ": " : "", why);
		}
	}
	(void)ctx;
	fangs_sensor_free(s);
	return CLI_EXIT_OK;
}

CLI_HANDLER(cmd_sensor_probes)
{
	(void)a;
	return print_probes(ctx, ctx->json);
}
