/*
 * tools/fangs/dev_main.c - a minimal `fangs` front for the sensor
 * subcommands, used while the full CLI is assembled elsewhere.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_sensor(cli_ctx *ctx, int argc, char **argv);
int cmd_trace(cli_ctx *ctx, int argc, char **argv);

int cli_fail(const char *what, int rc)
{
	fprintf(stderr, "fangs: %s: %s\n", what, fangs_error_last_code() == rc ? fangs_error_last() : fangs_strerror(rc));
	return CLI_EXIT_ERROR;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("fangs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	cli_ctx ctx;
	int i = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.prog = "fangs";
	fangs_log_set(fangs_log_stderr, FANGS_LOG_WARN, NULL);
	if (i < argc && strcmp(argv[i], "--json") == 0) {
		ctx.json = 1;
		i++;
	}
	if (i < argc && strcmp(argv[i], "sensor") == 0)
		return cmd_sensor(&ctx, argc - i, argv + i);
	if (i < argc && strcmp(argv[i], "trace") == 0)
		return cmd_trace(&ctx, argc - i, argv + i);
	fprintf(stderr, "usage: fangs-sensor-dev [--json] sensor|trace ...\n");
	return CLI_EXIT_USAGE;
}
