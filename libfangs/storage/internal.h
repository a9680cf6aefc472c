/*
 * storage/internal.h - what the storage front-end and its backends share
 * (not installed).
 */
#ifndef FANGS_STORAGE_INTERNAL_H
#define FANGS_STORAGE_INTERNAL_H

#include "fangs/errors.h"
#include "fangs/sys/storage_backend.h"

/* Number of schema migrations. Every backend has exactly this many, in the
 * same order and with the same meaning, so that a version number names the
 * same schema whatever the engine (checked at compile time by each backend). */
#define FANGS__STORAGE_SCHEMA_VERSION 1

/* Default lock wait of the sqlite backend. */
#define FANGS__STORAGE_BUSY_TIMEOUT_MS 5000

#endif
