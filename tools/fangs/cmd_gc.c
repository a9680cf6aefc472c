/*
 * tools/fangs/cmd_gc.c - `fangs gc`: remove what killed scans left (run
 * directories, cgroups, containers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fangs/scan.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_gc)
{
	fangs_scan_options so = FANGS_SCAN_OPTIONS_INIT;
	const char *docker_host;
	int rc, removed = 0;

	if (cli_get(a, "sandbox"))
		so.sandbox = cli_get(a, "sandbox"); /* checked when parsed */
	if (cli_get(a, "work-root")) {
		so.work_root = cli_get(a, "work-root");
		if (so.work_root[0] != '/')
			return cli_usage_error("--work-root must be an absolute path");
	}
	if ((docker_host = getenv("DOCKER_HOST")) && *docker_host && !strncmp(docker_host, "unix://", 7))
		so.docker_socket = docker_host + 7;
	if ((rc = fangs_scan_gc(&so, &removed)))
		return cli_fail("gc", rc);
	if (ctx->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "removed", json_object_new_int(removed));
		json_print(o);
	} else {
		printf("%d leftover%s of killed scans removed\n", removed, removed == 1 ? "" : "s");
	}
	return CLI_EXIT_OK;
}
