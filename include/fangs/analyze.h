/*
 * fangs/analyze.h - judging a stored run: differ + baseline policy.
 *
 * Glue between storage and the (pure) differ, shared by `fangs events
 * import`, `fangs scan`, the orchestrator and the binding: load the run's
 * events, the package baseline and allowlists, diff, store fingerprints and
 * deviations, and apply the baseline policy:
 *  - the first run of a package seeds the baseline (with
 *    promote_after_clean_runs K = 1, the default); with K > 1 a package
 *    without a baseline is seeded only once K consecutive runs agreed with
 *    each other (each compared with the union of the earlier ones);
 *  - a run whose findings are all below the review threshold
 *    (differ.review_threshold, default medium) joins the baseline once it
 *    is the K-th consecutive such run; its low findings are still stored;
 *  - a run with a finding at or above the threshold waits as pending for a
 *    person (fangs_baseline_promote() adds it to the baseline);
 *  - a run whose install failed or timed out is judged (its events are
 *    stored, the rules and the differ run) but never seeds nor joins the
 *    baseline (FANGS_BASELINE_EXCLUDED).
 *    Findings at info (content_changed: what a release ships) are stored
 *    and shown but hold no run and end no clean streak, whatever the
 *    threshold.
 * Behaviour rules (fangs/rules.h) judge every run, the first one too; their
 * hits are stored with the deviations (kind "rule:<id>"). A rule hit at or
 * above the threshold makes the run wait as pending, so a first run that
 * steals does not quietly become the baseline. A rule hit is dropped only
 * when every one of its evidence events does what a run promoted by a person
 * did: what the baseline took in by itself never hides a rule hit.
 */
#ifndef FANGS_ANALYZE_H
#define FANGS_ANALYZE_H

#include "common.h"
#include "config.h"
#include "decoy.h"
#include "differ.h"
#include "rules.h"
#include "storage.h"

FANGS_BEGIN_DECL

/** What happened to a run's review and the baseline. */
typedef enum fangs_baseline_action {
	FANGS_BASELINE_NONE = 0,    /**< clean, but not (yet) in the baseline */
	FANGS_BASELINE_SEEDED = 1,  /**< the package had no baseline: this run (and its cold-start peers) made it */
	FANGS_BASELINE_JOINED = 2,  /**< clean run added to the existing baseline */
	FANGS_BASELINE_PENDING = 3, /**< findings, or cold start waiting: a person decides */
	FANGS_BASELINE_EXCLUDED = 4 /**< the install failed or timed out: judged, kept out of the baseline */
} fangs_baseline_action;

FANGS_EXTERN(const char *) fangs_baseline_action_name(fangs_baseline_action a);

typedef struct fangs_analysis {
	fangs_deviation_list deviations; /**< stored, with ids */
	fangs_baseline_action action;
	size_t n_events;
	size_t n_fingerprints;
	size_t baseline_size; /**< baseline fingerprints the run was compared with */
	int64_t elapsed_ns;   /**< time spent in the differ itself */
} fangs_analysis;

FANGS_EXTERN(void) fangs_analysis_clear(fangs_analysis *a);

/**
 * Analyzes a stored run (its events must be stored) and records the outcome
 * in one transaction. `cfg` NULL = defaults. Running it again on the same run
 * replaces its fingerprints and deviations.
 */
FANGS_EXTERN(int) fangs_analyze_run(fangs_storage *st, const fangs_differ *d, const fangs_config *cfg,
				    const char *run_id, fangs_analysis *out);

/** What the rules need that the stored run does not say. */
typedef struct fangs_analyze_options {
	unsigned int version;
	const fangs_rules *rules;  /**< NULL = built from `cfg` (built-ins + its rules: section) */
	const char *registry_host; /**< NULL = the host of cfg->registry, when set */
	int processes_left;        /**< processes alive when the install ended; -1 = unknown */
	/** Since version 2: the sandbox's own endpoints, for the rules (the differ
	 * takes them in fangs_differ_options.infra); fangs_sandbox_infra(). */
	const char *const *infra;
	size_t n_infra;
	/** Since version 2: the run's decoy secrets (fangs_sandbox_decoys()); any of
	 * them in what left the sandbox is a critical finding
	 * (FANGS_DECOY_FINDING_KIND). NULL = none known (a run stored earlier). */
	const fangs_decoy *decoys;
	size_t n_decoys;
	/** Since version 2: the registry's addresses as the host resolved them
	 * (fangs_rules_input.registry_addrs); NULL = resolve the registry host
	 * here with fangs_registry_addrs() (none when it does not resolve). */
	const char *const *registry_addrs;
	size_t n_registry_addrs;
} fangs_analyze_options;

#define FANGS_ANALYZE_OPTIONS_VERSION 2
#define FANGS_ANALYZE_OPTIONS_INIT {FANGS_ANALYZE_OPTIONS_VERSION, NULL, NULL, -1, NULL, 0, NULL, 0, NULL, 0}

/** Fills `opts` with the defaults of `version`. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_analyze_options_init(fangs_analyze_options *opts, unsigned int version);

/** fangs_analyze_run() with options; `opts` NULL = FANGS_ANALYZE_OPTIONS_INIT. */
FANGS_EXTERN(int) fangs_analyze_run_opts(fangs_storage *st, const fangs_differ *d, const fangs_config *cfg,
					 const char *run_id, const fangs_analyze_options *opts, fangs_analysis *out);

/** fangs_baseline_promote() flags. */
#define FANGS_PROMOTE_REPLACE 1u    /**< replace the baseline with the run (default: add the run to it) */
#define FANGS_PROMOTE_UNFINISHED 2u /**< accept a run whose install failed or timed out */

/**
 * A person accepts a run: its fingerprints join its package's baseline (with
 * FANGS_PROMOTE_REPLACE they become the whole baseline and every other run
 * leaves it), its findings are cleared and it is marked promoted, so that
 * later rule hits doing only what it did are not reported again. One
 * transaction. FANGS_EINVAL for a run that has not finished, or whose
 * install failed or timed out unless FANGS_PROMOTE_UNFINISHED is given;
 * FANGS_ENOTFOUND for an unknown run.
 */
FANGS_EXTERN(int) fangs_baseline_promote(fangs_storage *st, const char *run_id, unsigned int flags);

FANGS_END_DECL

#endif
