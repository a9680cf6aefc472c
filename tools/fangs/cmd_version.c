/*
 * tools/fangs/cmd_version.c - `fangs version`.
 */
#include <stdio.h>

#include "commands.h"

CLI_HANDLER(cmd_version)
{
	(void)ctx;
	(void)a;
	printf("fangs %s\n", fangs_version());
	return CLI_EXIT_OK;
}
