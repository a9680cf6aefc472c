/*
 * fangs-orchestrator/orchestrator.h - what the parts of the orchestrator
 * share: the storage handle (one, behind a lock), the dispatcher's view of
 * waiting runners, counters for /metrics, and the settings.
 */
#ifndef FANGS_ORCHESTRATOR_H
#define FANGS_ORCHESTRATOR_H

#include <curl/curl.h>
#include <json-c/json.h>
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
	ROUTE_UI,
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
	uint64_t busy; /* 503: the body budget was spent */
	uint64_t batches_duplicate;
	uint64_t storage_retries;
	uint64_t analysis_failed;
	uint64_t analysis_rejudged;
	uint64_t leader_changes;   /* became or stopped being the leader */
	uint64_t follow_changes;   /* changes read from the feed */
	uint64_t follow_skipped;   /* changed packages the filters left out */
	uint64_t follow_queued;    /* scans queued by the follower */
	uint64_t follow_duplicate; /* versions already scanned or queued */
	uint64_t follow_errors;    /* feed or packument requests that failed */
} metrics;

struct MHD_Connection;

/* A runner's GET /jobs parked (its connection suspended) until the
 * dispatcher hands it a job or its deadline passes. Lives in the
 * connection's context; only the dispatcher thread unlinks it. */
typedef struct waiter {
	char id[FANGS_WIRE_MAX_NAME + 1];
	struct MHD_Connection *conn;
	int64_t deadline_ms; /* monotonic */
	int fresh;           /* not looked at yet: one claim attempt for it */
	int done;            /* answered: `job` filled when got_job, else rc */
	int got_job;
	int rc;
	fangs_job job;
	struct waiter *next;
} waiter;

/* A job queued since the dispatcher's last pass: who may take it. */
typedef struct job_hint {
	int open;
	char target[FANGS_WIRE_MAX_NAME + 1];
	struct job_hint *next;
} job_hint;
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
	int64_t seq; /* the runner's number for the batch; 0 = none */
	int attempt; /* the attempt it was sent for; 0 = not said */
	int stored;
	int duplicate; /* seq was stored before: acknowledged, not stored again */
	int done;
	struct ingest_item *next;
} ingest_item;

typedef struct orch {
	/* settings */
	const fangs_config *cfg;
	int64_t heartbeat_timeout_ms;
	int64_t poll_max_ms; /* longest long poll */
	int max_attempts;    /* claims of one job before it fails */
	char *registry;      /* watcher's registry base URL (no trailing /) */
	char *registry_token;
	int64_t watch_interval_ms;
	unsigned watch_concurrency;
	int64_t prune_interval_ms;
	int mtls; /* clients must present a certificate of our CA */
	char *client_ca_pem;
	char *revoked_path;
	int revoked_required; /* named by --revoked: a missing list is an error too */
	char *tokens_path;    /* bearer tokens (credentials.h); NULL = none */
	int no_auth;          /* --insecure-no-auth: nothing is checked */
	int public_reads;     /* --public-reads: the API's reads need no credential */
	int tls;              /* served over TLS (cookies are Secure) */

	/* leadership: one orchestrator of those sharing the database runs the
	 * watcher, the follower, eviction, retention and the rejudging pass */
	fangs_storage *leader_st; /* its own session (PostgreSQL); NULL = always leader */
	int leader;               /* atomic: 1 while this one leads */
	int64_t leader_interval_ms;
	int64_t leader_since_ns;

	/* the registry change feed follower (follower.c); NULL url = off */
	char *follow_url;         /* GET <url>/_changes?since=SEQ&limit=N */
	int follow_on;            /* its thread runs */
	const char *follow_since; /* where to start with no stored position: "now" or a seq */
	int64_t follow_interval_ms;
	int follow_limit;
	char **follow_scopes; /* "@scope", NULL-terminated or NULL */
	char **follow_names;  /* fnmatch patterns, NULL-terminated or NULL */
	int follow_install_scripts;
	char **popular; /* sorted names of --follow-popular; NULL = any */
	size_t n_popular;

	/* storage: one handle, one user at a time */
	fangs_storage *st;
	pthread_mutex_t st_lock;
	fangs_differ *differ;

	/* dispatch: one thread hands queued jobs to parked long polls */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	waiter *waiters; /* parked */
	job_hint *hints, **hints_tail;
	int q_full; /* room may have changed: look at every waiter */
	int q_exit;
	pthread_t q_thread;
	int q_thread_on;

	/* bytes of request bodies held in memory, and the most allowed */
	size_t body_held;
	size_t body_budget;

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
int dispatch_start(orch *o);
/* Answers every parked poll (204) and ends the dispatcher thread. */
void dispatch_stop(orch *o);
/* Runners or room changed (registered, result, eviction, several jobs
 * queued): every parked runner with room is considered again. */
void dispatch_notify(orch *o);
/* One job was queued, for `target` (NULL: any runner): the dispatcher
 * picks the parked runner that takes it. */
void dispatch_job_queued(orch *o, const char *target);
/* Parks `w` for `runner` (at most wait_ms) and suspends `c`, which the
 * dispatcher resumes once `w->done`. -1 when stopping (nothing parked). */
int dispatch_park(orch *o, waiter *w, struct MHD_Connection *c, const char *runner, int64_t wait_ms);
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

/* Is this orchestrator the leader now? */
static inline int is_leader(orch *o)
{
	return __atomic_load_n(&o->leader, __ATOMIC_ACQUIRE);
}

/* A version a packument shows as new, with its publication time. */
typedef struct newver {
	const char *version;
	const char *time;
} newver;

/* watcher.c */
/* A GET of the registry (packuments, the change feed) into memory: at most
 * 64 MiB, NUL-terminated; the caller frees data. */
typedef struct http_body {
	char *data;
	size_t len;
} http_body;
void registry_get_setup(CURL *curl, const char *url, http_body *body);
int watcher_start(orch *o, pthread_t *thread);
/* What the packument `doc` shows as new after `last_seen` (NULL: never
 * seen: its latest), oldest first, checked as versions; strings borrowed
 * from doc. Count in *n; NULL with *n 0 when nothing (or out of memory). */
newver *watcher_new_versions(const char *name, const char *last_seen, json_object *doc, size_t *n);
/* The registry URL of a package's packument. */
char *packument_url(const orch *o, const char *name);

/* follower.c: follows the registry's change feed while leader. */
int follower_start(orch *o, pthread_t *thread);
/* Loads --follow-popular; -1 when it cannot be read. */
int follower_load_popular(orch *o, const char *path);
void follower_free(orch *o);
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
	const struct auth_identity *who; /* the caller (auth.c) */
	const char *runner_hdr;          /* Fangs-Runner header (counts only under --insecure-no-auth) */
	/* a query parameter's value (the URL above has none), or NULL */
	const char *(*arg)(const struct request *rq, const char *name);
	/* a request header's value, or NULL */
	const char *(*header)(const struct request *rq, const char *name);
	void *conn; /* for arg() */
} request;

typedef struct response {
	unsigned status;
	char *body;
	size_t len;
	const char *content_type;
	enum route route;
	unsigned retry_after; /* seconds, with 503 */
	char set_cookie[160]; /* a Set-Cookie header to send, or "" */
	/* GET /jobs: no answer yet, park the poll for this runner */
	int park;
	int64_t park_ms;
	char park_runner[FANGS_WIRE_MAX_NAME + 1];
} response;

/* The checks a request passes before its body is read (the run of an
 * event batch or result exists and is the caller's): 1 to go on, else 0
 * with the refusal in `rs`. rq->body is NULL. */
int api_precheck(orch *o, const request *rq, response *rs);
void api_handle(orch *o, const request *rq, response *rs);
/* The answer to a parked poll that the dispatcher ended. */
void api_jobs_answer(orch *o, waiter *w, response *rs);
/* Stores a group of batches; st_lock held. */
void api_store_batches(orch *o, ingest_item *items);
/* Body size limit of a route, from its method and URL (before the body is read). */
size_t api_body_limit(const char *method, const char *url);

/* tls.c: is this certificate (name, serial in hex) revoked? 1, 0, or -1
 * when the revocation list cannot be read (logged). */
int tls_revoked(orch *o, const char *name, const char *serial_hex);

#endif
