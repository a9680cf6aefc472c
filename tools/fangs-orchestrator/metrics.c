/*
 * fangs-orchestrator/metrics.c - counters and the Prometheus text of
 * GET /metrics. Queue and runner figures are read from storage at scrape
 * time (the truth is there, whoever changed it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator.h"

static const double bucket_le[LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
						  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

const char *route_name(enum route r)
{
	static const char *const names[ROUTE_COUNT] = {"health", "register", "heartbeat", "jobs", "scans",
						       "events", "result",   "metrics",   "ui",   "other"};
	return (unsigned)r < ROUTE_COUNT ? names[r] : "other";
}

void metrics_init(metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
}

void metrics_observe(metrics *m, enum route r, unsigned status, double seconds)
{
	pthread_mutex_lock(&m->lock);
	m->requests[r]++;
	if (status >= 400)
		m->errors[r]++;
	for (int i = 0; i < LATENCY_BUCKETS; i++)
		if (seconds <= bucket_le[i]) {
			m->buckets[r][i]++;
			break;
		}
	m->latency_sum[r] += seconds;
	pthread_mutex_unlock(&m->lock);
}

void metrics_add(orch *o, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&o->m.lock);
	*counter += n;
	pthread_mutex_unlock(&o->m.lock);
}

static void header(FILE *b, const char *name, const char *type, const char *help)
{
	fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One metric of a single unsigned value, with its help and type. */
static void value(FILE *b, const char *name, const char *type, const char *help, unsigned long long v)
{
	header(b, name, type, help);
	fprintf(b, "%s %llu\n", name, v);
}

char *metrics_render(orch *o, size_t *len)
{
	FILE *b;
	char *text = NULL;
	fangs_runner_list rl = {0};
	int64_t by_job_state[4];
	size_t runners_up = 0, parked = 0;
	metrics m;
	int rc;

	pthread_mutex_lock(&o->st_lock);
	rc = fangs_storage_job_counts(o->st, by_job_state);
	if (rc == 0)
		rc = fangs_storage_runner_list(o->st, &rl);
	pthread_mutex_unlock(&o->st_lock);
	if (rc) {
		fangs_runner_list_free(&rl);
		return NULL;
	}
	if (!(b = open_memstream(&text, len))) {
		fangs_runner_list_free(&rl);
		return NULL;
	}
	for (size_t i = 0; i < rl.count; i++)
		runners_up += rl.items[i].state && !strcmp(rl.items[i].state, "up");
	pthread_mutex_lock(&o->m.lock);
	m = o->m;
	pthread_mutex_unlock(&o->m.lock);
	pthread_mutex_lock(&o->q_lock);
	for (const waiter *w = o->waiters; w; w = w->next)
		parked++;
	pthread_mutex_unlock(&o->q_lock);

	header(b, "fangs_runs", "gauge", "Runs of the job queue by state.");
	for (int s = 0; s < 4; s++)
		fprintf(b, "fangs_runs{state=\"%s\"} %lld\n", fangs_job_state_name((fangs_job_state)s),
			(long long)by_job_state[s]);
	header(b, "fangs_queue_depth", "gauge", "Jobs waiting for a runner.");
	fprintf(b, "fangs_queue_depth %lld\n", (long long)by_job_state[FANGS_JOB_QUEUED]);
	header(b, "fangs_runners", "gauge", "Registered runners by state.");
	fprintf(b, "fangs_runners{state=\"up\"} %zu\nfangs_runners{state=\"evicted\"} %zu\n", runners_up,
		rl.count - runners_up);
	header(b, "fangs_run_results_total", "counter", "Results received since start, by run state.");
	for (int s = FANGS_RUN_SUCCEEDED; s <= FANGS_RUN_TIMED_OUT; s++)
		fprintf(b, "fangs_run_results_total{state=\"%s\"} %llu\n", fangs_run_state_name((fangs_run_state)s),
			(unsigned long long)m.results[s]);
	value(b, "fangs_events_received_total", "counter", "Events stored from runner batches.", m.events_received);
	value(b, "fangs_event_batches_received_total", "counter", "Event batches stored.", m.batches_received);
	value(b, "fangs_runners_evicted_total", "counter", "Runners evicted for missed heartbeats.", m.runners_evicted);
	value(b, "fangs_jobs_requeued_total", "counter", "Jobs queued again after their runner was lost.",
	      m.jobs_requeued);
	value(b, "fangs_jobs_lost_total", "counter", "Jobs failed because their runners were lost too often.",
	      m.jobs_failed_lost);
	value(b, "fangs_watcher_polls_total", "counter", "Registry requests of the watcher.", m.watcher_polls);
	value(b, "fangs_watcher_not_modified_total", "counter", "Registry answers 304 Not Modified.",
	      m.watcher_not_modified);
	value(b, "fangs_watcher_queued_total", "counter", "Scans queued by the watcher.", m.watcher_queued);
	header(b, "fangs_leader", "gauge",
	       "1 when this orchestrator is the leader (runs the watcher, follower, eviction and retention).");
	fprintf(b, "fangs_leader %d\n", is_leader(o));
	value(b, "fangs_leader_changes_total", "counter", "Times this orchestrator became or stopped being the leader.",
	      m.leader_changes);
	value(b, "fangs_follow_changes_total", "counter", "Changes read from the registry's change feed.",
	      m.follow_changes);
	value(b, "fangs_follow_skipped_total", "counter",
	      "Changed packages or versions the follower's filters left out.", m.follow_skipped);
	value(b, "fangs_follow_queued_total", "counter", "Scans queued by the follower.", m.follow_queued);
	value(b, "fangs_follow_duplicate_total", "counter",
	      "New versions the follower found already queued or scanned.", m.follow_duplicate);
	value(b, "fangs_follow_errors_total", "counter", "Feed or packument requests of the follower that failed.",
	      m.follow_errors);
	value(b, "fangs_event_batches_duplicate_total", "counter",
	      "Event batches sent again after their first copy was stored: acknowledged, not stored twice.",
	      m.batches_duplicate);
	value(b, "fangs_storage_retries_total", "counter", "Storage transactions run again after a lost connection.",
	      m.storage_retries);
	value(b, "fangs_analysis_failed_total", "counter",
	      "Analyses of finished runs that failed (the runs wait to be judged again).", m.analysis_failed);
	value(b, "fangs_analysis_rejudged_total", "counter", "Runs judged again after a failed analysis.",
	      m.analysis_rejudged);

	header(b, "fangs_parked_polls", "gauge", "Runners' long polls waiting for a job.");
	fprintf(b, "fangs_parked_polls %zu\n", parked);
	header(b, "fangs_http_body_bytes_held", "gauge", "Bytes of request bodies held in memory.");
	fprintf(b, "fangs_http_body_bytes_held %zu\n", __atomic_load_n(&o->body_held, __ATOMIC_RELAXED));
	value(b, "fangs_http_busy_total", "counter", "Requests refused 503 because too many bodies were held.", m.busy);

	header(b, "fangs_http_request_duration_seconds", "histogram", "Request latency by endpoint.");
	for (int r = 0; r < ROUTE_COUNT; r++) {
		uint64_t cum = 0;
		for (int i = 0; i < LATENCY_BUCKETS; i++) {
			cum += m.buckets[r][i];
			fprintf(b, "fangs_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				route_name((enum route)r), bucket_le[i], (unsigned long long)cum);
		}
		fprintf(b, "fangs_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
			route_name((enum route)r), (unsigned long long)m.requests[r]);
		fprintf(b, "fangs_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_name((enum route)r),
			m.latency_sum[r]);
		fprintf(b, "fangs_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_name((enum route)r),
			(unsigned long long)m.requests[r]);
	}
	header(b, "fangs_http_errors_total", "counter", "Requests answered 4xx or 5xx, by endpoint.");
	for (int r = 0; r < ROUTE_COUNT; r++)
		fprintf(b, "fangs_http_errors_total{route=\"%s\"} %llu\n", route_name((enum route)r),
			(unsigned long long)m.errors[r]);
	fangs_runner_list_free(&rl);
	if (fclose(b)) {
		free(text);
		return NULL;
	}
	return text;
}
