/*
 * fangs-orchestrator/orchestrator.h - what the parts of the orchestrator
 * share: the storage handle (one, behind a lock), the dispatcher's view of
 * waiting runners, counters for /metrics, and the settings.
 */
#ifndef FANGS_ORCHESTRATOR_H
#define FANGS_ORCHESTRATOR_H

#include <pthread.h>
#include <stdint.h>

#include <fangs/fangs.h>

/* Routes, for the latency histograms. */
enum route {
	ROUTE_HEALTH,
	ROUTE_REGISTER,
	ROUTE_HEARTBEAT,
	ROUTE_JOBS,
	ROUTE_SCANS,
	ROUTE_EVENTS,
	ROUTE_RESULT,
	ROUTE_METRICS,
	ROUTE_OTHER,
	ROUTE_COUNT
};

#define LATENCY_BUCKETS 12

typedef struct metrics {
	pthread_mutex_t lock;
	uint64_t requests[ROUTE_COUNT];
	uint64_t errors[ROUTE_COUNT]; /* 4xx and 5xx */
	uint64_t buckets[ROUTE_COUNT][LATENCY_BUCKETS];
	double latency_sum[ROUTE_COUNT];
	uint64_t events_received;
	uint64_t batches_received;
	uint64_t results[5]; /* by fangs_run_state */
	uint64_t runners_evicted;
	uint64_t jobs_requeued;
	uint64_t jobs_failed_lost;
	uint64_t watcher_polls;
	uint64_t watcher_not_modified;
	uint64_t watcher_queued;
	uint64_t batches_duplicate;
	uint64_t storage_retries;
	uint64_t analysis_failed;
	uint64_t analysis_rejudged;
} metrics;

/* A runner blocked in GET /jobs. */
typedef struct waiter {
	char id[FANGS_WIRE_MAX_NAME + 1];
	struct waiter *next;
} waiter;

/* When a runner was last heard from, kept in memory (dispatch.c): a
 * request still waiting for the storage lock is a sign of life already. */
typedef struct seen_entry {
	char id[FANGS_WIRE_MAX_NAME + 1];
	int64_t ns;
	struct seen_entry *next;
} seen_entry;

/* An event batch waiting to be stored (ingest.c). */
typedef struct ingest_item {
	const struct request *rq;
	struct response *rs;
	const char *run_id;
	fangs_event_list *evs;
	int64_t seq;     /* the runner's number for the batch; 0 = none */
	int attempt;     /* the attempt it was sent for; 0 = not said */
	int stored;
	int duplicate;   /* seq was stored before: acknowledged, not stored again */
	int done;
	struct ingest_item *next;
} ingest_item;

typedef struct orch {
	/* settings */
	const fangs_config *cfg;
	int64_t heartbeat_timeout_ms;
	int64_t poll_max_ms;     /* longest long poll */
	int max_attempts;        /* claims of one job before it fails */
	char *registry;          /* watcher's registry base URL (no trailing /) */
	char *registry_token;
	int64_t watch_interval_ms;
	unsigned watch_concurrency;
	int64_t prune_interval_ms;
	int mtls;                /* clients must present a certificate of our CA */
	char *client_ca_pem;
	char *revoked_path;

	/* storage: one handle, one user at a time */
	fangs_storage *st;
	pthread_mutex_t st_lock;
	fangs_differ *differ;

	/* dispatch: queue changes wake the long polls */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	uint64_t q_generation;
	waiter *waiters;

	/* event batches: whoever finds no writer at work stores everything
	 * queued so far in one transaction (group commit) */
	pthread_mutex_t in_lock;
	pthread_cond_t in_cond;
	ingest_item *in_head;
	int in_writer;

	/* runners heard from */
	pthread_mutex_t seen_lock;
	seen_entry *seen;

	int64_t started_ns;
	volatile int stopping;
	metrics m;
} orch;

/* dispatch.c */
void dispatch_notify(orch *o);
/* Waits (at most wait_ms) for a job `runner` should take; 1 with `out`
 * filled, 0 when none came, <0 on error. */
int dispatch_wait_job(orch *o, const char *runner, int64_t wait_ms, fangs_job *out);
/* Evicts runners whose heartbeats stopped and takes back their jobs. */
void dispatch_evict_stale(orch *o);
/* Notes that runner `id` was heard from now (any request of its). */
void seen_note(orch *o, const char *id);
void seen_free(orch *o);

/* api.c: the maintenance pass judges again the runs whose analysis failed
 * (at most `max` of them). */
void api_rejudge_failed(orch *o, size_t max);

/* metrics.c */
void metrics_init(metrics *m);
void metrics_observe(metrics *m, enum route r, unsigned status, double seconds);
void metrics_add(orch *o, uint64_t *counter, uint64_t n);
char *metrics_render(orch *o, size_t *len);
const char *route_name(enum route r);

/* watcher.c */
int watcher_start(orch *o, pthread_t *thread);
/* One pass over the watched packages (also used by the thread). */
void watcher_pass(orch *o);
/* Asks npm for its configured registry; NULL when npm is missing. */
char *npm_registry(void);

/* ingest.c: stores the item's batch (with others' in the same transaction). */
void ingest_submit(orch *o, ingest_item *item);

/* api.c: the answer to one request. */
typedef struct request {
	const char *method;
	const char *url;
	const char *body;
	size_t len;
	const char *content_type;
	const char *peer_cn;     /* mTLS certificate name, NULL without mTLS */
	const char *runner_hdr;  /* Fangs-Runner header */
	/* a query parameter's value (the URL above has none), or NULL */
	const char *(*arg)(const struct request *rq, const char *name);
	void *conn;              /* for arg() */
} request;

typedef struct response {
	unsigned status;
	char *body;
	size_t len;
	const char *content_type;
	enum route route;
} response;

void api_handle(orch *o, const request *rq, response *rs);
/* Stores a group of batches; st_lock held. */
void api_store_batches(orch *o, ingest_item *items);
/* Body size limit of a route, from its method and URL (before the body is read). */
size_t api_body_limit(const char *method, const char *url);

/* tls.c: is this certificate name revoked (in the revocation file)? */
int tls_name_revoked(orch *o, const char *name);

#endif
