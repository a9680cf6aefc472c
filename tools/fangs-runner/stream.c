/*
 * fangs-runner/stream.c - batching and sending a run's events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stream.h"

#define FLUSH_BYTES (512 * 1024)
#define FLUSH_MS 200
/* Kept while the orchestrator is away; beyond it events are dropped (and counted). */
#define MAX_PENDING (64 * 1024 * 1024)

struct stream {
	runner *r;
	char path[128];
	uint64_t seq; /* the last batch's number */
	fangs_wire_client *client;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *buf;
	size_t len, cap;
	int closing;
	int lost;
	uint64_t dropped;
};

static int append(stream *s, const char *line, size_t n)
{
	if (s->len + n + 1 > MAX_PENDING)
		return -1;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;
		char *nb;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (!(nb = realloc(s->buf, cap)))
			return -1;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, line, n);
	s->buf[s->len + n] = '\n';
	s->len += n + 1;
	return 0;
}

int stream_sink(const fangs_event *ev, void *user)
{
	stream *s = user;
	char *json = NULL;
	size_t n = 0;
	int lost;

	if (fangs_event_to_json(ev, &json, &n))
		return FANGS_ENOMEM;
	pthread_mutex_lock(&s->lock);
	if (append(s, json, n))
		s->dropped++;
	if (s->len >= FLUSH_BYTES)
		pthread_cond_signal(&s->cond);
	lost = s->lost;
	pthread_mutex_unlock(&s->lock);
	free(json);
	/* the run went elsewhere: no use going on */
	return lost ? FANGS_ECANCELED : 0;
}

/* Posts one batch until it is taken or refused for good, always with the
 * same number: the orchestrator stores a batch once, however often it is
 * sent (its answer may be lost, or it may restart after storing it). 0
 * sent, 1 the run is not ours, 2 refused for good (its events count as
 * dropped), -1 given up (stopping). */
static int send_batch(stream *s, const char *data, size_t len)
{
	int64_t delay = 100;
	char path[200];
	snprintf(path, sizeof(path), "%s%cseq=%llu", s->path, strchr(s->path, '?') ? '&' : '?',
		 (unsigned long long)++s->seq);
	for (;;) {
		fangs_wire_response rs;
		int rc = fangs_wire_request(s->client, "POST", path, "application/x-ndjson", data, len, 60000, &rs);
		if (rc == 0 && rs.status == 200) {
			fangs_wire_response_clear(&rs);
			return 0;
		}
		if (rc == 0 && (rs.status == 404 || rs.status == 409)) {
			log_warn("%s: %s", s->path, fangs_wire_response_error(&rs));
			fangs_wire_response_clear(&rs);
			return 1;
		}
		if (rc == 0 && rs.status >= 400 && rs.status < 500) {
			/* a batch the orchestrator will never take: not worth blocking the rest */
			log_warn("%s: batch refused: %s", s->path, fangs_wire_response_error(&rs));
			fangs_wire_response_clear(&rs);
			return 2;
		}
		log_warn("%s: %s; retrying", s->path, rc ? fangs_error_last() : fangs_wire_response_error(&rs));
		fangs_wire_response_clear(&rs);
		if (s->r->stopping > 1)
			return -1;
		nap(s->r, delay);
		delay = backoff_next(delay);
	}
}

/* What piled up while the orchestrator was away is sent in batches it
 * takes (it refuses a body over FANGS_WIRE_MAX_EVENTS_BODY): whole lines,
 * at most BATCH_BYTES unless one line is longer. */
#define BATCH_BYTES (2 * 1024 * 1024)
_Static_assert(BATCH_BYTES <= FANGS_WIRE_MAX_EVENTS_BODY / 2, "a batch the orchestrator takes");

/* Takes the next batch out of s->buf (lock held): 0, or -1 when out of
 * memory (the batch's lines are counted as dropped). */
static int take(stream *s, char **data, size_t *len)
{
	size_t cut;
	const char *nl;
	if (s->len <= BATCH_BYTES) {
		*data = s->buf;
		*len = s->len;
		s->buf = NULL;
		s->len = s->cap = 0;
		return 0;
	}
	cut = BATCH_BYTES;
	while (cut > 0 && s->buf[cut - 1] != '\n')
		cut--;
	if (cut == 0) /* one line longer than a batch: it goes alone */
		cut = (size_t)((nl = memchr(s->buf, '\n', s->len)) ? nl - s->buf + 1 : (ptrdiff_t)s->len);
	*len = cut;
	if (!(*data = malloc(cut))) {
		for (size_t i = 0; i < cut; i++)
			s->dropped += s->buf[i] == '\n';
	} else {
		memcpy(*data, s->buf, cut);
	}
	memmove(s->buf, s->buf + cut, s->len - cut);
	s->len -= cut;
	return *data ? 0 : -1;
}

static void *sender(void *arg)
{
	stream *s = arg;
	for (;;) {
		char *data;
		size_t len;
		int rc;
		pthread_mutex_lock(&s->lock);
		if (s->len < FLUSH_BYTES && !s->closing) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += FLUSH_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
		if (s->len == 0 && s->closing) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (take(s, &data, &len) < 0) {
			/* out of memory: these events are lost, and counted */
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		if (!len || s->lost) {
			free(data);
			continue;
		}
		rc = send_batch(s, data, len);
		if (rc == 2) {
			/* the run's result says how many events it lacks */
			uint64_t lines = 0;
			for (size_t i = 0; i < len; i++)
				lines += data[i] == '\n';
			pthread_mutex_lock(&s->lock);
			s->dropped += lines;
			pthread_mutex_unlock(&s->lock);
			rc = 0;
		}
		free(data);
		if (rc) {
			pthread_mutex_lock(&s->lock);
			s->lost = 1;
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

int stream_open(stream **out, runner *r, const char *run_id, int attempt)
{
	stream *s = calloc(1, sizeof(*s));
	if (!s)
		return FANGS_ENOMEM;
	s->r = r;
	if (attempt > 0)
		snprintf(s->path, sizeof(s->path), "/v1/runs/%s/events?attempt=%d", run_id, attempt);
	else
		snprintf(s->path, sizeof(s->path), "/v1/runs/%s/events", run_id);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (fangs_wire_client_new(&s->client, &r->wire) || pthread_create(&s->thread, NULL, sender, s)) {
		fangs_wire_client_free(s->client);
		free(s);
		return FANGS_ERROR;
	}
	*out = s;
	return 0;
}

int stream_close(stream *s, uint64_t *dropped)
{
	pthread_mutex_lock(&s->lock);
	s->closing = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->thread = 0;
	if (dropped)
		*dropped = s->dropped;
	return s->lost;
}

void stream_free(stream *s)
{
	if (!s)
		return;
	fangs_wire_client_free(s->client);
	free(s->buf);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
