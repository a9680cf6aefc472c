/*
 * storage/records.c - lifetime of the records storage hands out, enum
 * names, run ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "storage/internal.h"

void fangs_package_clear(fangs_package *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->last_seen_version);
	memset(p, 0, sizeof(*p));
}

void fangs_package_list_free(fangs_package_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_package_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void fangs_release_list_free(fangs_release_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].package);
		free(list->items[i].version);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void fangs_run_clear(fangs_run *r)
{
	if (!r)
		return;
	free(r->package);
	free(r->version);
	free(r->runner);
	free(r->error);
	free(r->install_output);
	free(r->sandbox);
	free(r->network);
	free(r->analysis_error);
	memset(r, 0, sizeof(*r));
}

void fangs_run_list_free(fangs_run_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_run_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static const char *const run_state_names[] = {"queued", "running", "succeeded", "failed", "timed_out"};
_Static_assert(FANGS_ARRAY_SIZE(run_state_names) == FANGS_RUN_TIMED_OUT + 1, "a name per run state");

const char *fangs_run_state_name(fangs_run_state s)
{
	if ((unsigned)s >= FANGS_ARRAY_SIZE(run_state_names))
		return "unknown";
	return run_state_names[s];
}

int fangs_run_state_parse(const char *name, fangs_run_state *out)
{
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "run state: missing value");
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(run_state_names); i++) {
		if (fangs__strcasecmp_eq(name, run_state_names[i])) {
			*out = (fangs_run_state)i;
			return 0;
		}
	}
	return fangs_error_set(FANGS_EINVAL,
			       "unknown run state '%s' (expected queued, running, succeeded, failed or timed_out)",
			       name);
}

static const char *const review_names[] = {"none", "pending", "promoted"};
_Static_assert(FANGS_ARRAY_SIZE(review_names) == FANGS_REVIEW_PROMOTED + 1, "a name per review state");

const char *fangs_review_name(fangs_review r)
{
	if ((unsigned)r >= FANGS_ARRAY_SIZE(review_names))
		return "unknown";
	return review_names[r];
}

int fangs_storage_new_run_id(char *buf, size_t cap)
{
	unsigned char rnd[6];
	struct tm tm;
	time_t now = time(NULL);
	int rc, n;

	if (!buf)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_new_run_id: buffer is NULL");
	if ((rc = fangs__random(rnd, sizeof(rnd))))
		return rc;
	gmtime_r(&now, &tm);
	/* UTC time first so that ids sort by creation; random tail so that two
	 * runs started in the same second on different machines never collide. */
	n = snprintf(buf, cap, "r%04d%02d%02dT%02d%02d%02d-%02x%02x%02x%02x%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (n < 0 || (size_t)n >= cap)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_new_run_id: buffer of %zu bytes is too small", cap);
	return 0;
}
