/*
 * core/codec.h - the event encoder for other modules of libfangs (defined in
 * event/json.c; declared in the shared layer so storage need not reach into event/).
 */
#ifndef FANGS_CORE_CODEC_H
#define FANGS_CORE_CODEC_H

#include "core/buf.h"
#include "fangs/event.h"

/* Appends the JSON object of `ev` (no newline) to `b`. 0 or FANGS_ENOMEM. */
int fangs__event_encode(fangs_buf *b, const fangs_event *ev);

#endif
