/*
 * notifier/notifier.c - scheduling and making delivery attempts: enqueue a
 * run, deliver what is due, back off, record every attempt.
 *
 * Rows move pending -> sending (claimed, with a lease) -> sent | retry |
 * failed; a retry inserts the next attempt as a new pending row. The claim
 * is a compare-and-set in storage, so several notifiers over one database
 * never send the same attempt twice, and one that dies mid-attempt leaves
 * a lease that runs out and makes the attempt due again (at least once).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/opts.h"
#include "notifier/internal.h"

#define NS_PER_MS 1000000LL
/* How long past its HTTP timeout a claimed attempt stays claimed. */
#define LEASE_SLACK_NS (60LL * 1000000000LL)
/* The worker looks at storage at least this often: other processes may
 * schedule attempts, and leases of dead senders run out. */
#define WORKER_POLL_NS (30LL * 1000000000LL)
/* The worker's pause after a failed round. */
#define WORKER_ERROR_PAUSE_NS (1000000000LL)
/* Due rows taken per storage query. */
#define DUE_BATCH 64

struct fangs_notifier {
	fangs_storage *st;
	int owns_st;
	char *public_url;
	char *ca_file;
	unsigned max_attempts;
	int64_t base_delay_ns;
	int64_t max_delay_ns;
	long timeout_ms;
	unsigned max_devs;

	pthread_mutex_t send_lock; /* the connection cache */
	void *conn;

	pthread_mutex_t lock; /* the storage handle, and the fields below */
	pthread_cond_t wake;
	pthread_t thread;
	int running;
	int stopping;
	int kicked;
};

static const size_t notifier_sizes[] = {
	0,
	sizeof(fangs_notifier_options),
};
FANGS__OPTS_SIZES_ASSERT(notifier_sizes, FANGS_NOTIFIER_OPTIONS_VERSION);
static const fangs_notifier_options notifier_defaults = FANGS_NOTIFIER_OPTIONS_INIT;

int fangs_notifier_options_init(fangs_notifier_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &notifier_defaults, notifier_sizes, FANGS_NOTIFIER_OPTIONS_VERSION,
				"fangs_notifier_options");
}

int fangs_notifier_new(fangs_notifier **out, const fangs_notifier_options *opts)
{
	fangs_notifier_options o;
	fangs_notifier *n;
	int rc;

	if (!out || !opts)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_new: NULL argument");
	*out = NULL;
	if ((rc = fangs__opts_copy(&o, opts, &notifier_defaults, notifier_sizes, FANGS_NOTIFIER_OPTIONS_VERSION,
				   "fangs_notifier_options")) < 0)
		return rc;
	opts = &o;
	if (!opts->storage == !opts->storage_options)
		return fangs_error_set(FANGS_EINVAL,
				       "fangs_notifier_new: give either a storage handle or storage options");
	if (opts->base_delay_ms < 0 || opts->max_delay_ms < 0 || opts->timeout_ms < 0)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_new: negative delay or timeout");
	if (!(n = calloc(1, sizeof(*n))))
		return fangs__error_oom();
	n->max_attempts = opts->max_attempts ? opts->max_attempts : 8;
	n->base_delay_ns = (opts->base_delay_ms ? opts->base_delay_ms : 30000) * NS_PER_MS;
	n->max_delay_ns = (opts->max_delay_ms ? opts->max_delay_ms : 3600000) * NS_PER_MS;
	n->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
	n->max_devs = opts->max_deviations ? opts->max_deviations : 25;
	pthread_mutex_init(&n->send_lock, NULL);
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	if ((opts->public_url && !(n->public_url = fangs__strdup(opts->public_url))) ||
	    (opts->ca_file && !(n->ca_file = fangs__strdup(opts->ca_file)))) {
		fangs_notifier_free(n);
		return FANGS_ENOMEM;
	}
	if (opts->storage) {
		n->st = opts->storage;
	} else {
		if ((rc = fangs_storage_open(&n->st, opts->storage_options))) {
			fangs_notifier_free(n);
			return rc;
		}
		n->owns_st = 1;
	}
	*out = n;
	return 0;
}

void fangs_notifier_free(fangs_notifier *n)
{
	if (!n)
		return;
	fangs_notifier_stop(n);
	if (n->owns_st)
		fangs_storage_free(n->st);
	fangs__http_reuse_free(n->conn);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->send_lock);
	free(n->public_url);
	free(n->ca_file);
	free(n);
}

void fangs_notifier_result_clear(fangs_notifier_result *r)
{
	if (!r)
		return;
	free(r->error);
	free(r->body);
	free(r->request);
	memset(r, 0, sizeof(*r));
}

/* ---- enqueue ---- */

/* Schedules the first attempt for one target unless it has one for this
 * run already. 1 scheduled, 0 nothing to send, <0 error. */
static int enqueue_target(fangs_notifier *n, const fangs_notifier_target *t, const char *run_id)
{
	fangs_notification_filter f = FANGS_NOTIFICATION_FILTER_INIT;
	fangs_notification_list have = {0};
	fangs_notification row = {0};
	char *payload = NULL;
	int rc;

	f.run_id = run_id;
	f.notifier_id = t->id;
	f.limit = 1;
	if ((rc = fangs_storage_notification_list(n->st, &f, &have)))
		return rc;
	if (have.count) {
		fangs_notification_list_free(&have);
		return 0;
	}
	if ((rc = fangs__notify_payload(n->st, run_id, t->min_severity, n->max_devs, n->public_url, &payload)) ||
	    !payload)
		return rc;
	row.notifier_id = t->id;
	row.run_id = (char *)run_id;
	row.attempt = 1;
	row.status = FANGS_NOTIFICATION_PENDING;
	row.created_ns = fangs__now_ns();
	row.next_attempt_ns = row.created_ns;
	row.body = payload;
	rc = fangs_storage_notification_insert(n->st, &row);
	free(payload);
	return rc ? rc : 1;
}

int fangs_notifier_enqueue_run(fangs_notifier *n, const char *run_id, size_t *queued)
{
	fangs_notifier_target_list targets = {0};
	size_t count = 0;
	int rc;

	if (queued)
		*queued = 0;
	if (!n || !run_id || !*run_id)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_enqueue_run: NULL notifier or empty run id");
	pthread_mutex_lock(&n->lock);
	rc = fangs_storage_notifier_list(n->st, &targets);
	for (size_t i = 0; rc == 0 && i < targets.count; i++) {
		int r;
		if (!targets.items[i].enabled)
			continue;
		r = enqueue_target(n, &targets.items[i], run_id);
		if (r < 0)
			rc = r;
		else
			count += (size_t)r;
	}
	if (count) {
		n->kicked = 1;
		pthread_cond_signal(&n->wake);
	}
	pthread_mutex_unlock(&n->lock);
	fangs_notifier_target_list_free(&targets);
	if (rc == 0 && count)
		fangs_info("notifier: run %s: %zu message%s scheduled", run_id, count, count == 1 ? "" : "s");
	if (queued)
		*queued = count;
	return rc;
}

/* ---- attempts ---- */

/* Exponential backoff with "equal jitter": half the delay is fixed, so
 * retries never bunch up at zero, half is random, so that many messages
 * failing together do not come back together. */
static int64_t backoff_ns(const fangs_notifier *n, int attempt)
{
	int64_t d = n->base_delay_ns;
	uint64_t r = 0;
	for (int i = 1; i < attempt && d < n->max_delay_ns; i++)
		d *= 2;
	if (d > n->max_delay_ns)
		d = n->max_delay_ns;
	fangs__random(&r, sizeof(r));
	return d / 2 + (int64_t)(r % (uint64_t)(d / 2 + 1));
}

static void free_resolved(fangs_notifier_header *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++)
		if (h[i].value) {
			explicit_bzero(h[i].value, strlen(h[i].value));
			free(h[i].value);
		}
	free(h);
}

/* One attempt at what `t` is to receive, rendered from `payload`. */
static int attempt_send(fangs_notifier *n, const fangs_notifier_target *t, const char *payload,
			fangs__http_response *res, char **sent)
{
	fangs__http_request req = {0};
	fangs_notifier_template tpl;
	char sig[FANGS_NOTIFIER_SIGNATURE_SIZE];
	fangs_notifier_header *hdrs = NULL;
	char *body = NULL;
	int rc;

	*sent = NULL;
	memset(res, 0, sizeof(*res));
	req.now_ns = fangs__now_ns();
	if ((rc = fangs_notifier_template_parse(t->template_name, &tpl)) ||
	    (rc = fangs__notify_render(tpl, payload, req.now_ns, &body))) {
		snprintf(res->error, sizeof(res->error), "not retried: %s", fangs_error_last());
		return rc == FANGS_ENOMEM ? rc : 0;
	}
	if (t->secret_env && tpl == FANGS_NOTIFIER_GENERIC) {
		const char *secret = getenv(t->secret_env);
		if (!secret || !*secret) {
			/* Retried: the variable may be set when the process restarts. */
			snprintf(res->error, sizeof(res->error),
				 "the signing secret variable %s is not set in this process's environment",
				 t->secret_env);
			res->retryable = 1;
			free(body);
			return 0;
		}
		if ((rc = fangs_notifier_sign(secret, strlen(secret), body, strlen(body), sig))) {
			free(body);
			return rc;
		}
		req.signature = sig;
	}
	/* env: and file: header values are read now, never stored */
	if (t->n_headers && !(hdrs = calloc(t->n_headers, sizeof(*hdrs)))) {
		free(body);
		return fangs__error_oom();
	}
	for (size_t i = 0; i < t->n_headers; i++) {
		hdrs[i].name = t->headers[i].name;
		if ((rc = fangs__notifier_header_resolve(&t->headers[i], &hdrs[i].value, res->error,
							 sizeof(res->error)))) {
			free_resolved(hdrs, i);
			free(body);
			if (rc == FANGS_ENOMEM)
				return rc;
			/* Retried: the variable or file may be there on a later attempt. */
			res->retryable = 1;
			return 0;
		}
	}
	req.url = t->url;
	req.body = body;
	req.len = strlen(body);
	req.headers = hdrs;
	req.n_headers = t->n_headers;
	req.ca_file = n->ca_file;
	req.timeout_ms = n->timeout_ms;
	req.reuse = &n->conn;
	pthread_mutex_lock(&n->send_lock);
	rc = fangs__http_post(&req, res);
	pthread_mutex_unlock(&n->send_lock);
	free_resolved(hdrs, t->n_headers);
	*sent = body;
	return rc;
}

static fangs_notification_status outcome(fangs_notifier *n, const fangs_notification *row,
					 const fangs__http_response *res)
{
	if (!res->error[0])
		return FANGS_NOTIFICATION_SENT;
	if (res->retryable && (unsigned)row->attempt < n->max_attempts)
		return FANGS_NOTIFICATION_RETRY;
	return FANGS_NOTIFICATION_FAILED;
}

/* Writes the outcome of an attempt and, for a retry, schedules the next. */
static int record(fangs_notifier *n, fangs_notification *row, const fangs__http_response *res,
		  fangs_notification_status st, int64_t attempt_ns)
{
	fangs_notification next = {0};
	char err[640];
	int rc;

	row->status = st;
	row->http_status = res->status;
	row->created_ns = attempt_ns;
	row->next_attempt_ns = 0;
	free(row->error);
	row->error = NULL;
	if (res->error[0]) {
		if (st == FANGS_NOTIFICATION_FAILED && res->retryable)
			snprintf(err, sizeof(err), "%s; gave up after %d attempts", res->error, row->attempt);
		else
			snprintf(err, sizeof(err), "%s", res->error);
		if (!(row->error = fangs__strdup(err)))
			return FANGS_ENOMEM;
	}
	if (st == FANGS_NOTIFICATION_RETRY) {
		int64_t due = fangs__now_ns() + backoff_ns(n, row->attempt);
		if (res->retry_after_ns > due)
			due = res->retry_after_ns;
		next.notifier_id = row->notifier_id;
		next.run_id = row->run_id;
		next.attempt = row->attempt + 1;
		next.status = FANGS_NOTIFICATION_PENDING;
		next.next_attempt_ns = due;
		next.body = row->body;
		next.created_ns = fangs__now_ns();
	}
	if ((rc = fangs_storage_begin(n->st)))
		return rc;
	if ((rc = fangs_storage_notification_update(n->st, row)) ||
	    (st == FANGS_NOTIFICATION_RETRY && (rc = fangs_storage_notification_insert(n->st, &next)))) {
		fangs_storage_rollback(n->st);
		return rc;
	}
	return fangs_storage_commit(n->st);
}

/* Claims, sends and records one due row. */
static int deliver_one(fangs_notifier *n, fangs_notification *row, fangs_notifier_stats *stats)
{
	fangs_notifier_target t = {0};
	fangs__http_response res;
	fangs_notification_status st;
	char *sent = NULL;
	int64_t attempt_ns;
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = fangs_storage_notification_claim(n->st, row->id, row->status, row->next_attempt_ns,
					      fangs__now_ns() + n->timeout_ms * NS_PER_MS + LEASE_SLACK_NS);
	if (rc == 0)
		rc = fangs_storage_notifier_get(n->st, row->notifier_name, &t);
	pthread_mutex_unlock(&n->lock);
	if (rc == FANGS_EBUSY)
		return 0;
	if (rc)
		return rc;

	attempt_ns = fangs__now_ns();
	if (!t.enabled) {
		memset(&res, 0, sizeof(res));
		snprintf(res.error, sizeof(res.error), "not sent: the notifier was disabled");
	} else if ((rc = attempt_send(n, &t, row->body, &res, &sent))) {
		fangs__http_response_free(&res);
		fangs_notifier_target_clear(&t);
		return rc;
	}
	st = outcome(n, row, &res);
	if (st == FANGS_NOTIFICATION_SENT)
		fangs_info("notifier %s: run %s delivered (attempt %d, HTTP %d)", t.name, row->run_id, row->attempt,
			   res.status);
	else
		fangs_warn("notifier %s: run %s attempt %d failed: %s%s", t.name, row->run_id, row->attempt, res.error,
			   st == FANGS_NOTIFICATION_RETRY ? " (will retry)" : "");
	pthread_mutex_lock(&n->lock);
	rc = record(n, row, &res, st, attempt_ns);
	pthread_mutex_unlock(&n->lock);
	if (stats) {
		stats->attempted++;
		stats->sent += st == FANGS_NOTIFICATION_SENT;
		stats->retrying += st == FANGS_NOTIFICATION_RETRY;
		stats->failed += st == FANGS_NOTIFICATION_FAILED;
	}
	free(sent);
	fangs__http_response_free(&res);
	fangs_notifier_target_clear(&t);
	return rc;
}

int fangs_notifier_deliver_due(fangs_notifier *n, int64_t now_ns, fangs_notifier_stats *stats)
{
	size_t batch;
	int rc = 0;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!n)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_deliver_due: notifier is NULL");
	if (!now_ns)
		now_ns = fangs__now_ns();
	/* Batches until one comes back short: attempts made move their rows
	 * out of the due set (sent, failed, or rescheduled later). */
	do {
		fangs_notification_list due = {0};
		pthread_mutex_lock(&n->lock);
		rc = fangs_storage_notification_due(n->st, now_ns, DUE_BATCH, &due);
		pthread_mutex_unlock(&n->lock);
		batch = due.count;
		for (size_t i = 0; rc == 0 && i < due.count; i++) {
			pthread_mutex_lock(&n->lock);
			rc = n->stopping ? FANGS_ECANCELED : 0;
			pthread_mutex_unlock(&n->lock);
			if (rc == 0)
				rc = deliver_one(n, &due.items[i], stats);
		}
		fangs_notification_list_free(&due);
	} while (rc == 0 && batch == DUE_BATCH);
	return rc == FANGS_ECANCELED ? 0 : rc;
}

int fangs_notifier_next_due(fangs_notifier *n, int64_t *due_ns)
{
	fangs_notification_list due = {0};
	int rc;
	if (!n || !due_ns)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_next_due: NULL argument");
	pthread_mutex_lock(&n->lock);
	rc = fangs_storage_notification_due(n->st, INT64_MAX, 1, &due);
	pthread_mutex_unlock(&n->lock);
	*due_ns = rc == 0 && due.count ? due.items[0].next_attempt_ns : 0;
	fangs_notification_list_free(&due);
	return rc;
}

/* ---- worker ---- */

static void *worker(void *arg)
{
	fangs_notifier *n = arg;
	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		int64_t next = 0, now, until;
		struct timespec ts;
		int failed;
		n->kicked = 0;
		pthread_mutex_unlock(&n->lock);
		failed = fangs_notifier_deliver_due(n, 0, NULL) || fangs_notifier_next_due(n, &next);
		if (failed)
			fangs_warn("notifier: %s", fangs_error_last());
		now = fangs__now_ns();
		until = now + WORKER_POLL_NS;
		if (next && next < until)
			until = next;
		/* A storage that fails leaves due rows due: do not spin on them. */
		if (failed && until < now + WORKER_ERROR_PAUSE_NS)
			until = now + WORKER_ERROR_PAUSE_NS;
		ts.tv_sec = (time_t)(until / 1000000000LL);
		ts.tv_nsec = (long)(until % 1000000000LL);
		pthread_mutex_lock(&n->lock);
		while (!n->stopping && !n->kicked && until > now) {
			if (pthread_cond_timedwait(&n->wake, &n->lock, &ts) == ETIMEDOUT)
				break;
			now = fangs__now_ns();
		}
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int fangs_notifier_start(fangs_notifier *n)
{
	int rc;
	if (!n)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_start: notifier is NULL");
	if (!n->owns_st)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_start: the worker needs a storage handle of its "
						     "own (create the notifier with storage_options)");
	pthread_mutex_lock(&n->lock);
	if (n->running) {
		pthread_mutex_unlock(&n->lock);
		return fangs_error_set(FANGS_EBUSY, "fangs_notifier_start: the worker is already running");
	}
	n->stopping = 0;
	n->kicked = 1;
	rc = pthread_create(&n->thread, NULL, worker, n);
	if (rc == 0)
		n->running = 1;
	pthread_mutex_unlock(&n->lock);
	return rc ? fangs_error_set(FANGS_EIO, "fangs_notifier_start: cannot start a thread: %s", strerror(rc)) : 0;
}

int fangs_notifier_stop(fangs_notifier *n)
{
	if (!n)
		return 0;
	pthread_mutex_lock(&n->lock);
	if (!n->running) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	n->stopping = 1;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	pthread_mutex_lock(&n->lock);
	n->running = 0;
	n->stopping = 0;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

/* ---- test message ---- */

int fangs_notifier_send_test(fangs_notifier *n, const char *target_name, fangs_notifier_result *out)
{
	fangs_notifier_target t = {0};
	fangs__http_response res;
	char *payload = NULL, *sent = NULL;
	int rc;

	if (!n || !target_name || !out)
		return fangs_error_set(FANGS_EINVAL, "fangs_notifier_send_test: NULL argument");
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	rc = fangs_storage_notifier_get(n->st, target_name, &t);
	pthread_mutex_unlock(&n->lock);
	if (rc)
		return rc;
	if ((rc = fangs__notify_payload_test(n->public_url, &payload)) ||
	    (rc = attempt_send(n, &t, payload, &res, &sent))) {
		free(payload);
		fangs_notifier_target_clear(&t);
		return rc;
	}
	out->http_status = res.status;
	out->request = sent;
	out->body = fangs__strndup(res.body.data ? res.body.data : "", res.body.len);
	if (res.error[0]) {
		out->error = fangs__strdup(res.error);
		rc = fangs_error_set(FANGS_ENETWORK, "notifier %s: %s", t.name, res.error);
	}
	free(payload);
	fangs__http_response_free(&res);
	fangs_notifier_target_clear(&t);
	return rc;
}
