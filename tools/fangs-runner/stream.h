/*
 * fangs-runner/stream.h - a run's events on their way to the orchestrator:
 * the scan's sensor thread appends NDJSON lines, a sender thread posts them
 * in batches (every 200 ms, or sooner when 512 KiB are waiting) and keeps
 * them while the orchestrator cannot be reached.
 */
#ifndef FANGS_RUNNER_STREAM_H
#define FANGS_RUNNER_STREAM_H

#include "runner.h"

typedef struct stream stream;

/* `attempt` (0 = not said) goes with every batch: the orchestrator refuses
 * batches of an attempt that is over. Batches are numbered 1, 2, ... */
int stream_open(stream **out, runner *r, const char *run_id, int attempt);
/* The scan's event sink. */
int stream_sink(const fangs_event *ev, void *user);
/* Sends what is left, stops the sender. Returns 1 when the orchestrator said
 * the run is no longer ours (it went to another runner or was failed). */
int stream_close(stream *s, uint64_t *dropped);
void stream_free(stream *s);

#endif
