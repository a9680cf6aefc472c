/*
 * fangs-runner/runner.h - what the parts of the runner share.
 */
#ifndef FANGS_RUNNER_H
#define FANGS_RUNNER_H

#include <pthread.h>

#include <fangs/fangs.h>

typedef struct runner {
	/* settings */
	fangs_wire_client_options wire; /* template for each thread's client */
	const char *id;
	const char *hostname;
	int max_scans;
	const fangs_config *cfg;
	const char *registry;
	const char *sandbox;
	const char *network;
	const char *work_root;
	const char *cache_dir;
	int64_t duration_ms;
	int64_t grace_ms;

	/* state */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int active;        /* scans running */
	int need_register; /* the orchestrator forgot us */
	int64_t heartbeat_ms;
	volatile int stopping;
} runner;

/* A job handed out by the orchestrator, run on its own thread. */
typedef struct job {
	runner *r;
	fangs_wire_scan scan;
	pthread_t thread;
} job;

/* job.c: runs the scan, streams its events, posts its result; frees `j`. */
void *job_thread(void *j);

/* Sleeps `ms` unless the runner is stopping (then returns at once). */
void nap(runner *r, int64_t ms);

/* Next retry delay: doubles up to 5 s. */
int64_t backoff_next(int64_t ms);

#endif
