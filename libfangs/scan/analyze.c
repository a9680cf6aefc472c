/*
 * scan/analyze.c - differ + baseline policy over a stored run.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/analyze.h"
#include "fangs/errors.h"

const char *fangs_baseline_action_name(fangs_baseline_action a)
{
	switch (a) {
	case FANGS_BASELINE_NONE: return "none";
	case FANGS_BASELINE_SEEDED: return "seeded";
	case FANGS_BASELINE_JOINED: return "joined";
	case FANGS_BASELINE_PENDING: return "pending";
	}
	return "unknown";
}

void fangs_analysis_clear(fangs_analysis *a)
{
	if (!a)
		return;
	fangs_deviation_list_free(&a->deviations);
	memset(a, 0, sizeof(*a));
}

/* A finished run that can take part in the baseline policy. */
static bool usable(const fangs_run *r)
{
	return r->state == FANGS_RUN_SUCCEEDED || r->state == FANGS_RUN_TIMED_OUT;
}

/*
 * The clean streak before `run`: earlier usable runs of the package, newest
 * first, up to the first one with findings. Indices into `prev` go to `idx`.
 */
static size_t clean_streak(const fangs_run_list *prev, const fangs_run *run, size_t max, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < prev->count && n < max; i++) {
		const fangs_run *r = &prev->items[i];
		if (!strcmp(r->id, run->id) || r->created_ns > run->created_ns || !usable(r))
			continue;
		if (r->deviation_count > 0)
			break;
		idx[n++] = i;
	}
	return n;
}

static int join_streak(fangs_storage *st, const fangs_run *run, const fangs_run_list *prev, const size_t *idx,
		       size_t n)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		const fangs_run *r = &prev->items[idx[i]];
		if (r->is_baseline)
			continue;
		if ((rc = fangs_storage_baseline_add_run(st, run->package, r->id)))
			return rc;
	}
	return fangs_storage_baseline_add_run(st, run->package, run->id);
}

int fangs_analyze_run(fangs_storage *st, const fangs_differ *d, const fangs_config *cfg, const char *run_id,
		      fangs_analysis *out)
{
	fangs_run run = {0};
	fangs_event_list events = {0};
	fangs_allow_list allow = {0};
	fangs_run_list prev = {0};
	fangs_run_filter filter = FANGS_RUN_FILTER_INIT;
	fangs_fpset *baseline = NULL, *run_fps = NULL;
	fangs_differ_input in = {0};
	size_t *streak_idx = NULL, streak = 0;
	unsigned k = cfg && cfg->promote_after_clean_runs ? cfg->promote_after_clean_runs : 1;
	int rc, in_tx = 0, had_baseline;
	int64_t t0;

	if (!st || !d || !run_id || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_analyze_run: NULL argument");
	memset(out, 0, sizeof(*out));

	if ((rc = fangs_storage_run_get(st, run_id, &run)) || (rc = fangs_storage_events_list(st, run_id, &events)) ||
	    (rc = fangs_storage_allow_list(st, run.package, &allow)) || (rc = fangs_fpset_new(&baseline)) ||
	    (rc = fangs_fpset_new(&run_fps)) || (rc = fangs_storage_baseline_get(st, run.package, baseline)))
		goto out;
	filter.package = run.package;
	if ((rc = fangs_storage_run_list(st, &filter, &prev)))
		goto out;
	streak_idx = calloc(k, sizeof(size_t));
	if (!streak_idx) {
		rc = fangs__error_oom();
		goto out;
	}
	streak = clean_streak(&prev, &run, k, streak_idx);

	had_baseline = fangs_fpset_size(baseline) > 0;
	/* Cold start with K > 1: compare with what the streak's runs did. */
	if (!had_baseline && k > 1) {
		for (size_t i = 0; i < streak; i++)
			if ((rc = fangs_storage_run_fingerprints_get(st, prev.items[streak_idx[i]].id, baseline)))
				goto out;
	}

	in.run_id = run.id;
	in.package = run.package;
	in.version = run.version;
	in.events = events.items;
	in.n_events = events.count;
	in.baseline = baseline;
	in.allow = allow.items;
	in.n_allow = allow.count;
	t0 = fangs__monotonic_ns();
	rc = fangs_differ_analyze(d, &in, run_fps, &out->deviations);
	out->elapsed_ns = fangs__monotonic_ns() - t0;
	if (rc)
		goto out;
	out->n_events = events.count;
	out->n_fingerprints = fangs_fpset_size(run_fps);
	out->baseline_size = fangs_fpset_size(baseline);

	if ((rc = fangs_storage_begin(st)))
		goto out;
	in_tx = 1;
	if ((rc = fangs_storage_run_fingerprints_put(st, run.id, run_fps)) ||
	    (rc = fangs_storage_deviations_clear(st, run.id)) ||
	    (rc = fangs_storage_deviations_put(st, out->deviations.items, out->deviations.count)))
		goto out;

	if (out->deviations.count > 0) {
		out->action = FANGS_BASELINE_PENDING;
	} else if (streak + 1 >= k) {
		if ((rc = join_streak(st, &run, &prev, streak_idx, streak)))
			goto out;
		out->action = had_baseline ? FANGS_BASELINE_JOINED : FANGS_BASELINE_SEEDED;
	} else {
		/* clean, but the streak is not long enough yet; a package with
		 * no baseline waits for a person or for more agreeing runs */
		out->action = had_baseline ? FANGS_BASELINE_NONE : FANGS_BASELINE_PENDING;
	}
	run.review = out->action == FANGS_BASELINE_PENDING ? FANGS_REVIEW_PENDING : FANGS_REVIEW_NONE;
	if (out->action == FANGS_BASELINE_SEEDED || out->action == FANGS_BASELINE_JOINED)
		run.is_baseline = 1;
	if ((rc = fangs_storage_run_update(st, &run)) || (rc = fangs_storage_commit(st)))
		goto out;
	in_tx = 0;
out:
	if (rc && in_tx)
		fangs_storage_rollback(st);
	free(streak_idx);
	fangs_fpset_free(baseline);
	fangs_fpset_free(run_fps);
	fangs_run_list_free(&prev);
	fangs_allow_list_free(&allow);
	fangs_event_list_free(&events);
	fangs_run_clear(&run);
	if (rc)
		fangs_analysis_clear(out);
	return rc;
}
