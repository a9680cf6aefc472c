/*
 * storage/internal.h - what the storage front-end and its backends share
 * (not installed).
 */
#ifndef FANGS_STORAGE_INTERNAL_H
#define FANGS_STORAGE_INTERNAL_H

#include "core/buf.h"
#include "fangs/errors.h"
#include "fangs/text.h"
#include "fangs/sys/storage_backend.h"

/* Number of schema migrations. Every backend has exactly this many, in the
 * same order and with the same meaning, so that a version number names the
 * same schema whatever the engine (checked at compile time by each backend). */
#define FANGS__STORAGE_SCHEMA_VERSION 6

/* Default lock wait of the sqlite backend. */
#define FANGS__STORAGE_BUSY_TIMEOUT_MS 5000

/* The column a query on events filters by: the path, address, query
 * name or server name (NULL for kinds without one). */
const char *fangs__storage_event_value(const fangs_event *ev);
/* Replaces `b` with the stored JSON of `ev`: the event without its id and
 * run, which are columns of their own. */
int fangs__storage_event_encode(fangs_buf *b, const fangs_event *ev);

/* Groups events (their ids set) by (pid, ppid, kind) into `out` (emptied
 * first): count, first_id, last_id; the rows run_processes adds them to. */
int fangs__storage_proc_summary(const fangs_event *events, size_t n, fangs_proc_group_list *out);

/* Column lists in plain SQL, shared by the backends' reads. */
#define FANGS__STORAGE_PACKAGE_COLS \
	"p.name, p.watched, p.last_seen_version, p.created_ns," \
	" (SELECT COUNT(*) FROM runs r WHERE r.package = p.name)," \
	" (SELECT COUNT(*) FROM baseline_fingerprints f WHERE f.package = p.name)"

#define FANGS__STORAGE_RUN_COLS \
	"r.id, r.package, r.version, r.state, r.is_baseline, r.review, r.events_emitted," \
	" r.events_dropped, r.duration_ns, r.runner, r.exit_code, r.error, r.install_output," \
	" r.sandbox, r.network, r.created_ns, r.started_ns, r.finished_ns," \
	" r.event_count," \
	" (SELECT COUNT(*) FROM deviations d WHERE d.run_id = r.id)," \
	" (SELECT COALESCE(MAX(d.severity), 0) FROM deviations d WHERE d.run_id = r.id)," \
	" r.analysis_error"

/* Notifier targets' extra headers travel as one JSON object column
 * (notifier_rows.c). */
int fangs__storage_headers_encode(const fangs_notifier_target *t, char **out);
int fangs__storage_headers_decode(const char *json, fangs_notifier_target *t);

#define FANGS__STORAGE_NOTIFIER_COLS "id, name, url, template, enabled, min_severity, headers, secret_env, created_ns"

#define FANGS__STORAGE_NOTIFICATION_COLS \
	"n.id, n.notifier_id, t.name, n.run_id, n.attempt, n.status, n.http_status, n.error," \
	" n.next_attempt_ns, n.body, n.created_ns"

/* The backend behind a handle (for the front-end files). */
fangs_storage_backend *fangs__storage_backend_of(fangs_storage *st);
/* Is a user transaction open on the handle? */
int fangs__storage_in_tx(const fangs_storage *st);

/* A call lost with its connection (FANGS_ENETWORK) outside a user
 * transaction is made once more: the backend reconnects first, and what it
 * had begun was rolled back by the server with the connection. */
#define FANGS__STORAGE_RETRY(st, b_, fn, call) \
	do { \
		int rc_ = (call); \
		if (rc_ == FANGS_ENETWORK && !fangs__storage_in_tx(st)) { \
			fangs_debug("storage: fangs_storage_" fn ": %s; trying again", fangs_error_last()); \
			rc_ = (call); \
		} \
		return rc_; \
	} while (0)

/* Front-end argument checks: FANGS_EINVAL naming the function. */
#define NEED(cond, fn, what) \
	do { \
		if (!(cond)) \
			return fangs_error_set(FANGS_EINVAL, "fangs_storage_" fn ": " what); \
	} while (0)

/* A package name or version from outside is checked by npm's rules
 * (fangs/text.h) before anything is stored. */
#define NEED_TEXT(check, value, fn) \
	do { \
		int rc_ = check(value, NULL); \
		if (rc_) \
			return fangs_error_set(rc_, "fangs_storage_" fn ": %s", fangs_error_last()); \
	} while (0)
#define NEED_PACKAGE(name, fn) NEED_TEXT(fangs_package_name_check, name, fn)
#define NEED_VERSION(version, fn) NEED_TEXT(fangs_package_version_check, version, fn)

/* A handle and the backend member it needs, or FANGS_EINVAL / FANGS_EUNSUPPORTED. */
#define CALL(st, member, fn, ...) \
	do { \
		fangs_storage_backend *b_; \
		NEED(st, fn, "storage handle is NULL"); \
		b_ = fangs__storage_backend_of(st); \
		if (!b_->member) \
			return fangs_error_set(FANGS_EUNSUPPORTED, \
					       "fangs_storage_" fn ": the %s backend does not support it", b_->name); \
		FANGS__STORAGE_RETRY(st, b_, fn, b_->member(b_, __VA_ARGS__)); \
	} while (0)

/* The queued run a new job comes with (its strings borrowed from the job). */
void fangs__job_run(const fangs_job *job, fangs_run *run);

/* Job states are stored by name; 0 or FANGS_EPARSE. */
int fangs__job_state_parse(const char *name, fangs_job_state *out);

/* Column list of job reads, shared by the backends. */
#define FANGS__STORAGE_JOB_COLS \
	"j.id, j.run_id, j.package, j.version, j.target_runner, j.state, j.attempts, j.runner, j.created_ns, " \
	"j.updated_ns"

/* Column list of runner reads; the last one counts the jobs it holds. */
#define FANGS__STORAGE_RUNNER_COLS \
	"w.id, w.cn, w.hostname, w.max_scans, w.state, w.registered_ns, w.last_heartbeat_ns," \
	" (SELECT COUNT(*) FROM jobs j WHERE j.runner = w.id AND j.state = 'running')"

#endif
