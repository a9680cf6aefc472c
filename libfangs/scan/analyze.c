/*
 * scan/analyze.c - differ + baseline policy over a stored run.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/analyze.h"
#include "fangs/errors.h"
#include "scan/internal.h"

const char *fangs_baseline_action_name(fangs_baseline_action a)
{
	switch (a) {
	case FANGS_BASELINE_NONE:
		return "none";
	case FANGS_BASELINE_SEEDED:
		return "seeded";
	case FANGS_BASELINE_JOINED:
		return "joined";
	case FANGS_BASELINE_PENDING:
		return "pending";
	case FANGS_BASELINE_EXCLUDED:
		return "excluded";
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

/* A run whose install ran to its end can take part in the baseline policy;
 * a failed or timed-out install did only part of what the release does. */
static bool usable(const fangs_run *r)
{
	return r->state == FANGS_RUN_SUCCEEDED;
}

/*
 * The clean streak before `run`: earlier usable runs of the package, newest
 * first, up to the first one with a finding at or above the review
 * threshold. Indices into `prev` go to `idx`.
 */
static size_t clean_streak(const fangs_run_list *prev, const fangs_run *run, fangs_severity threshold, size_t max,
			   size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < prev->count && n < max; i++) {
		const fangs_run *r = &prev->items[i];
		if (!strcmp(r->id, run->id) || r->created_ns > run->created_ns || !usable(r))
			continue;
		/* info findings (a release's content) are shown, not held */
		if (r->deviation_count > 0 && r->max_severity > FANGS_SEV_INFO && r->max_severity >= threshold)
			break;
		idx[n++] = i;
	}
	return n;
}

static int join_streak(fangs_storage *st, const fangs_run *run, const fangs_run_list *prev, const size_t *idx, size_t n)
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

/* Rule hits for the run, appended to `out`. */
static int run_rules(const fangs_config *cfg, const fangs_analyze_options *opts, const fangs_run *run,
		     const fangs_event_list *events, fangs_deviation_list *out)
{
	fangs_rules_options ro = FANGS_RULES_OPTIONS_INIT;
	fangs_rules_input in = FANGS_RULES_INPUT_INIT;
	fangs_rules *own = NULL;
	char host[256];
	char **addrs = NULL;
	size_t n_addrs = 0;
	int rc;

	if (!opts->rules) {
		ro.config = cfg;
		if ((rc = fangs_rules_new(&own, &ro)))
			return rc;
	}
	in.run_id = run->id;
	in.package = run->package;
	in.version = run->version;
	in.events = events->items;
	in.n_events = events->count;
	in.processes_left = opts->processes_left;
	in.infra = opts->infra;
	in.n_infra = opts->n_infra;
	in.events_lost = run->events_dropped;
	in.registry_host = opts->registry_host;
	if (!in.registry_host && cfg && cfg->registry && fangs_registry_host(cfg->registry, host, sizeof(host)) == 0)
		in.registry_host = host;
	if (opts->registry_addrs) {
		in.registry_addrs = opts->registry_addrs;
		in.n_registry_addrs = opts->n_registry_addrs;
	} else if (in.registry_host) {
		/* a registry that does not resolve here has no address a
		 * script could reach it by: every connection counts */
		if ((rc = fangs_registry_addrs(in.registry_host, &addrs, &n_addrs)) == FANGS_ENOMEM) {
			fangs_rules_free(own);
			return rc;
		}
		in.registry_addrs = (const char *const *)addrs;
		in.n_registry_addrs = n_addrs;
	}
	rc = fangs_rules_evaluate(opts->rules ? opts->rules : own, &in, out);
	fangs_registry_addrs_free(addrs, n_addrs);
	fangs_rules_free(own);
	return rc;
}

static const fangs_event *event_by_id(const fangs_event_list *events, int64_t id)
{
	/* stored events come back in id order */
	size_t lo = 0, hi = events->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (events->items[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < events->count && events->items[lo].id == id)
		return &events->items[lo];
	for (size_t i = 0; i < events->count; i++)
		if (events->items[i].id == id)
			return &events->items[i];
	return NULL;
}

static int has_actor(const fangs_fingerprint *fp, void *user)
{
	return fp->actor == *(const fangs_actor *)user;
}

/* A baseline of scripts alone (every run of it came from project scans,
 * which record what a dependency's scripts did and nothing of npm's own
 * work): npm's work and the import phase are then nothing it could say is
 * new. The differ is given the run's script events only. */
static int scripts_only_baseline(const fangs_fpset *baseline)
{
	fangs_actor npm = FANGS_ACTOR_NPM, imp = FANGS_ACTOR_IMPORT;
	return fangs_fpset_size(baseline) > 0 && fangs_fpset_foreach(baseline, has_actor, &npm) == 0 &&
	       fangs_fpset_foreach(baseline, has_actor, &imp) == 0;
}

/* What people accepted: the fingerprints of the package's baseline runs that
 * a person promoted (not those the baseline took in by itself). */
static int promoted_fingerprints(fangs_storage *st, const fangs_run_list *prev, const fangs_run *run, fangs_fpset *out)
{
	for (size_t i = 0; i < prev->count; i++) {
		const fangs_run *r = &prev->items[i];
		int rc;
		if (!r->is_baseline || r->review != FANGS_REVIEW_PROMOTED || !strcmp(r->id, run->id))
			continue;
		if ((rc = fangs_storage_run_fingerprints_get(st, r->id, out)))
			return rc;
	}
	return 0;
}

/* A hit whose every evidence event does what a promoted run did was seen
 * and accepted by a person: it is not reported again. */
static int accepted(const fangs_differ *d, const fangs_fpset *baseline, const fangs_run *run,
		    const fangs_event_list *events, const fangs_deviation *hit)
{
	const fangs_norm_ctx ctx = {run->package, run->version};
	if (!hit->n_evidence)
		return 0;
	for (size_t i = 0; i < hit->n_evidence; i++) {
		const fangs_event *ev = event_by_id(events, hit->evidence[i]);
		fangs_fingerprint fp = {0};
		int rc, in_base;
		if (!ev)
			return 0;
		rc = fangs_differ_fingerprint(d, &ctx, ev, &fp);
		if (rc < 0)
			return rc;
		in_base = rc == 1 && fangs_fpset_contains(baseline, fp.kind, fp.actor, fp.value);
		fangs_fingerprint_clear(&fp);
		if (!in_base)
			return 0;
	}
	return 1;
}

/* Moves the hits a person has not accepted yet into `out`. */
static int keep_new_hits(const fangs_differ *d, const fangs_fpset *baseline, const fangs_run *run,
			 const fangs_event_list *events, fangs_deviation_list *hits, fangs_deviation_list *out)
{
	for (size_t i = 0; i < hits->count; i++) {
		fangs_deviation *dst;
		int rc = baseline ? accepted(d, baseline, run, events, &hits->items[i]) : 0;
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (!(dst = fangs_deviation_list_push(out)))
			return FANGS_ENOMEM;
		*dst = hits->items[i];
		memset(&hits->items[i], 0, sizeof(hits->items[i]));
	}
	return 0;
}

/* A decoy's bytes in what left the sandbox. Never "accepted" by a baseline:
 * the decoys are new every run, and sending one out is never normal. */
static int decoy_hits(const fangs_analyze_options *opts, const fangs_run *run, const fangs_event_list *events,
		      fangs_deviation_list *out)
{
	fangs_decoy_matcher *m = NULL;
	int rc;
	if (!opts->decoys || !opts->n_decoys)
		return 0;
	if ((rc = fangs_decoy_matcher_new(&m, opts->decoys, opts->n_decoys)))
		return rc;
	rc = fangs_decoy_findings(m, run->id, run->package, events->items, events->count, out);
	fangs_decoy_matcher_free(m);
	return rc;
}

/* Findings below the threshold are worth showing but not worth holding a
 * run for; nor is anything at info (what a release ships: content_changed). */
static bool holds_for_review(const fangs_deviation_list *l, fangs_severity threshold)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].severity > FANGS_SEV_INFO && l->items[i].severity >= threshold)
			return true;
	return false;
}

int fangs_analyze_run(fangs_storage *st, const fangs_differ *d, const fangs_config *cfg, const char *run_id,
		      fangs_analysis *out)
{
	return fangs_analyze_run_opts(st, d, cfg, run_id, NULL, out);
}

int fangs_analyze_run_opts(fangs_storage *st, const fangs_differ *d, const fangs_config *cfg, const char *run_id,
			   const fangs_analyze_options *opts, fangs_analysis *out)
{
	fangs_analyze_options o;
	fangs_deviation_list hits = {0};

	fangs_run run = {0};
	fangs_event_list events = {0};
	fangs_allow_list allow = {0};
	fangs_run_list prev = {0};
	fangs_run_filter filter = FANGS_RUN_FILTER_INIT;
	fangs_fpset *baseline = NULL, *run_fps = NULL, *promoted = NULL;
	fangs_event *scripts = NULL;
	fangs_differ_input in = {0};
	size_t *streak_idx = NULL, streak = 0;
	unsigned k = cfg && cfg->promote_after_clean_runs ? cfg->promote_after_clean_runs : 1;
	fangs_severity threshold = cfg ? cfg->review_threshold : FANGS_SEV_MEDIUM;
	int rc, in_tx = 0, had_baseline;
	int64_t t0;

	if (!st || !d || !run_id || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_analyze_run: NULL argument");
	if ((rc = fangs__analyze_options_copy(&o, opts)) < 0)
		return rc;
	opts = &o;
	memset(out, 0, sizeof(*out));

	if ((rc = fangs_storage_run_get(st, run_id, &run)) || (rc = fangs_storage_events_list(st, run_id, &events)) ||
	    (rc = fangs_storage_allow_list(st, run.package, &allow)) || (rc = fangs_fpset_new(&baseline)) ||
	    (rc = fangs_fpset_new(&run_fps)) || (rc = fangs_fpset_new(&promoted)) ||
	    (rc = fangs_storage_baseline_get(st, run.package, baseline)))
		goto out;
	filter.package = run.package;
	if ((rc = fangs_storage_run_list(st, &filter, &prev)) ||
	    (rc = promoted_fingerprints(st, &prev, &run, promoted)))
		goto out;
	streak_idx = calloc(k, sizeof(size_t));
	if (!streak_idx) {
		rc = fangs__error_oom();
		goto out;
	}
	streak = clean_streak(&prev, &run, threshold, k, streak_idx);

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
	if (scripts_only_baseline(baseline)) {
		size_t n = 0;
		if (!(scripts = calloc(events.count ? events.count : 1, sizeof(*scripts)))) {
			rc = fangs__error_oom();
			goto out;
		}
		for (size_t i = 0; i < events.count; i++)
			if (fangs_event_actor(&events.items[i]) == FANGS_ACTOR_SCRIPT)
				scripts[n++] = events.items[i]; /* shallow: the list keeps them */
		in.events = scripts;
		in.n_events = n;
	}
	in.baseline = baseline;
	in.allow = allow.items;
	in.n_allow = allow.count;
	/* rule hits first: they are what a person should read first */
	if ((rc = run_rules(cfg, opts, &run, &events, &hits)) ||
	    (rc = keep_new_hits(d, fangs_fpset_size(promoted) ? promoted : NULL, &run, &events, &hits,
				&out->deviations)) ||
	    (rc = decoy_hits(opts, &run, &events, &out->deviations)))
		goto out;
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

	if (!usable(&run)) {
		/* judged all the same (a failing install can still steal), but
		 * what it did is not what the release does */
		out->action = FANGS_BASELINE_EXCLUDED;
	} else if (holds_for_review(&out->deviations, threshold)) {
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
	run.review = out->action == FANGS_BASELINE_PENDING || (out->action == FANGS_BASELINE_EXCLUDED &&
							       holds_for_review(&out->deviations, threshold))
			     ? FANGS_REVIEW_PENDING
			     : FANGS_REVIEW_NONE;
	if (out->action == FANGS_BASELINE_SEEDED || out->action == FANGS_BASELINE_JOINED)
		run.is_baseline = 1;
	/* judged now, whatever stopped an earlier analysis */
	free(run.analysis_error);
	run.analysis_error = NULL;
	if ((rc = fangs_storage_run_update(st, &run)) || (rc = fangs_storage_commit(st)))
		goto out;
	in_tx = 0;
out:
	if (rc && in_tx)
		fangs_storage_rollback(st);
	free(streak_idx);
	fangs_deviation_list_free(&hits);
	fangs_fpset_free(baseline);
	fangs_fpset_free(run_fps);
	fangs_fpset_free(promoted);
	free(scripts);
	fangs_run_list_free(&prev);
	fangs_allow_list_free(&allow);
	fangs_event_list_free(&events);
	fangs_run_clear(&run);
	if (rc)
		fangs_analysis_clear(out);
	return rc;
}

int fangs_baseline_promote(fangs_storage *st, const char *run_id, unsigned int flags)
{
	fangs_run run = {0};
	int rc;

	if (!st || !run_id || !*run_id)
		return fangs_error_set(FANGS_EINVAL, "fangs_baseline_promote: NULL argument");
	if (flags & ~(FANGS_PROMOTE_REPLACE | FANGS_PROMOTE_UNFINISHED))
		return fangs_error_set(FANGS_EINVAL, "fangs_baseline_promote: unknown flags 0x%x", flags);
	if ((rc = fangs_storage_run_get(st, run_id, &run)))
		return rc;
	if (run.state == FANGS_RUN_QUEUED || run.state == FANGS_RUN_RUNNING) {
		rc = fangs_error_set(FANGS_EINVAL, "run %s is %s: only a finished run can be promoted", run.id,
				     fangs_run_state_name(run.state));
		goto out;
	}
	if (!usable(&run) && !(flags & FANGS_PROMOTE_UNFINISHED)) {
		rc = fangs_error_set(FANGS_EINVAL,
				     "the install of run %s %s%s%s%s: it did only part of what %s@%s does "
				     "(promote it anyway to accept that)",
				     run.id, run.state == FANGS_RUN_TIMED_OUT ? "timed out" : "failed",
				     run.error ? " (" : "", run.error ? run.error : "", run.error ? ")" : "",
				     run.package, run.version);
		goto out;
	}
	if (flags & FANGS_PROMOTE_REPLACE) {
		rc = fangs_storage_baseline_rebuild(st, run.package, run.id);
		goto out;
	}
	if ((rc = fangs_storage_begin(st)))
		goto out;
	run.is_baseline = 1;
	run.review = FANGS_REVIEW_PROMOTED;
	if ((rc = fangs_storage_baseline_add_run(st, run.package, run.id)) ||
	    (rc = fangs_storage_deviations_clear(st, run.id)) || (rc = fangs_storage_run_update(st, &run)) ||
	    (rc = fangs_storage_commit(st)))
		fangs_storage_rollback(st);
out:
	fangs_run_clear(&run);
	return rc;
}
