/*
 * tools/fangs/cmd_prune.c - `fangs prune`.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

CLI_HANDLER(cmd_prune)
{
	unsigned long days = cli_get_num(a, "days", ctx->config->retention_days);
	fangs_prune_stats stats = {0};
	fangs_storage *st;
	int rc;
	if (days == 0)
		return cli_usage_error("--days needs a positive number");
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		rc = fangs_storage_prune(st, now - (int64_t)days * 86400LL * 1000000000LL, &stats);
	}
	fangs_storage_free(st);
	if (rc)
		return cli_fail("prune", rc);
	if (ctx->json)
		printf("{\"runs_deleted\": %lld, \"events_deleted\": %lld, \"events_kept_as_evidence\": %lld}\n",
		       (long long)stats.runs_deleted, (long long)stats.events_deleted,
		       (long long)stats.events_kept_as_evidence);
	else
		printf("pruned older than %lu days: %lld runs, %lld events deleted; %lld events kept as evidence\n",
		       days, (long long)stats.runs_deleted, (long long)stats.events_deleted,
		       (long long)stats.events_kept_as_evidence);
	return CLI_EXIT_OK;
}
