/*
 * tools/fangs/cmd_pending.c - `fangs pending`: the runs waiting for review.
 */
#include "commands.h"
#include "run_list.h"

CLI_HANDLER(cmd_pending)
{
	return run_list(ctx, a, 1);
}
