/*
 * storage/storage.c - the user API: validates arguments, then calls the
 * backend. Backends may rely on what is checked here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "core/internal.h"
#include "storage/internal.h"

struct fangs_storage {
	fangs_storage_backend *b;
	int in_tx; /* a user transaction is open (they do not nest) */
};

static int nonempty(const char *s)
{
	return s && *s;
}

int fangs_storage_code_schema_version(void)
{
	return FANGS__STORAGE_SCHEMA_VERSION;
}

int fangs_storage_wrap(fangs_storage **out, fangs_storage_backend *backend)
{
	fangs_storage *st;

	if (!out || !backend)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_wrap: NULL argument");
	*out = NULL;
	if (backend->version == 0 || backend->version > FANGS_STORAGE_BACKEND_VERSION)
		return fangs_error_set(FANGS_EVERSION,
				       "fangs_storage_wrap: backend interface version %u, this library knows 1..%d",
				       backend->version, FANGS_STORAGE_BACKEND_VERSION);
	if (!backend->name || !backend->free || !backend->schema_version || !backend->begin || !backend->commit ||
	    !backend->rollback)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_wrap: backend lacks a mandatory member "
						     "(name, free, schema_version, begin, commit, rollback)");
	st = calloc(1, sizeof(*st));
	if (!st)
		return fangs__error_oom();
	st->b = backend;
	*out = st;
	return 0;
}

/* The one list of backend names: fangs_storage_open(), the configuration,
 * the CLI and the Python binding check against it. */
static const char *const backend_names[] = {"sqlite", "postgres", NULL};

const char *const *fangs_storage_backend_names(void)
{
	return backend_names;
}

int fangs_storage_backend_check(const char *name)
{
	for (size_t i = 0; name && backend_names[i]; i++)
		if (strcmp(name, backend_names[i]) == 0)
			return 0;
	return fangs_error_set(FANGS_EINVAL, "unknown storage backend '%s' (expected sqlite or postgres)",
			       name ? name : "(null)");
}

static const size_t storage_sizes[] = {0, sizeof(fangs_storage_options)};
FANGS__OPTS_SIZES_ASSERT(storage_sizes, FANGS_STORAGE_OPTIONS_VERSION);
static const fangs_storage_options storage_defaults = FANGS_STORAGE_OPTIONS_INIT;

int fangs_storage_options_init(fangs_storage_options *opts, unsigned int version)
{
	return fangs__opts_init(opts, version, &storage_defaults, storage_sizes, FANGS_STORAGE_OPTIONS_VERSION,
				"fangs_storage_options");
}

int fangs_storage_open(fangs_storage **out, const fangs_storage_options *opts)
{
	fangs_storage_options def = FANGS_STORAGE_OPTIONS_INIT, o;
	fangs_storage_backend *b = NULL;
	const char *name;
	int rc;

	if (!out)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_open: out is NULL");
	*out = NULL;
	if (!opts)
		opts = &def;
	if ((rc = fangs__opts_copy(&o, opts, &storage_defaults, storage_sizes, FANGS_STORAGE_OPTIONS_VERSION,
				   "fangs_storage_options")) < 0)
		return rc;
	opts = &o;
	if (opts->busy_timeout_ms < 0)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_open: busy_timeout_ms is negative");
	name = nonempty(opts->backend) ? opts->backend : "sqlite";
	/* "postgresql" is an alias fangs_storage_open() has always taken */
	if (strcmp(name, "postgresql") && fangs_storage_backend_check(name))
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_open: %s", fangs_error_last());
	if (strcmp(name, "sqlite") == 0)
		rc = fangs_storage_backend_sqlite_new(&b, opts);
	else
		rc = fangs_storage_backend_postgres_new(&b, opts);
	if (rc)
		return rc;
	if ((rc = fangs_storage_wrap(out, b))) {
		b->free(b);
		return rc;
	}
	return 0;
}

void fangs_storage_free(fangs_storage *st)
{
	if (!st)
		return;
	if (st->in_tx) {
		fangs_warn("storage closed with an open transaction: rolling it back");
		st->b->rollback(st->b);
	}
	st->b->free(st->b);
	free(st);
}

const char *fangs_storage_backend_name(const fangs_storage *st)
{
	return st ? st->b->name : NULL;
}

int fangs_storage_schema_version(fangs_storage *st, int *db_version, int *code_version)
{
	int v = 0, rc;
	NEED(st, "schema_version", "storage handle is NULL");
	if ((rc = st->b->schema_version(st->b, &v)))
		return rc;
	if (db_version)
		*db_version = v;
	if (code_version)
		*code_version = FANGS__STORAGE_SCHEMA_VERSION;
	return 0;
}

int fangs_storage_ping(fangs_storage *st)
{
	NEED(st, "ping", "storage handle is NULL");
	if (st->b->version < 2 || !st->b->ping)
		return 0;
	FANGS__STORAGE_RETRY(st, st->b, "ping", st->b->ping(st->b));
}

int fangs_storage_begin(fangs_storage *st)
{
	int rc;
	NEED(st, "begin", "storage handle is NULL");
	if (st->in_tx)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_begin: a transaction is already open "
						     "(transactions do not nest)");
	rc = st->b->begin(st->b);
	if (rc == FANGS_ENETWORK) {
		/* nothing was begun: a new connection may take it */
		fangs_debug("storage: fangs_storage_begin: %s; trying again", fangs_error_last());
		rc = st->b->begin(st->b);
	}
	if (rc)
		return rc;
	st->in_tx = 1;
	return 0;
}

int fangs_storage_commit(fangs_storage *st)
{
	int rc;
	NEED(st, "commit", "storage handle is NULL");
	NEED(st->in_tx, "commit", "no transaction is open");
	rc = st->b->commit(st->b);
	/* A failed COMMIT leaves the transaction open in both engines; the caller
	 * can still roll back. */
	if (rc == 0)
		st->in_tx = 0;
	return rc;
}

int fangs_storage_rollback(fangs_storage *st)
{
	NEED(st, "rollback", "storage handle is NULL");
	NEED(st->in_tx, "rollback", "no transaction is open");
	st->in_tx = 0;
	return st->b->rollback(st->b);
}

/* ---- packages and releases ---- */

int fangs_storage_package_upsert(fangs_storage *st, const char *name, int watched)
{
	NEED(nonempty(name), "package_upsert", "package name is NULL or empty");
	NEED_PACKAGE(name, "package_upsert");
	CALL(st, package_upsert, "package_upsert", name, watched < 0 ? -1 : watched ? 1 : 0);
}

int fangs_storage_package_get(fangs_storage *st, const char *name, fangs_package *out)
{
	NEED(nonempty(name), "package_get", "package name is NULL or empty");
	NEED(out, "package_get", "out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, package_get, "package_get", name, out);
}

int fangs_storage_package_list(fangs_storage *st, int watched_only, fangs_package_list *out)
{
	NEED(out, "package_list", "out is NULL");
	CALL(st, package_list, "package_list", watched_only, out);
}

int fangs_storage_package_set_last_seen(fangs_storage *st, const char *name, const char *version)
{
	NEED(nonempty(name), "package_set_last_seen", "package name is NULL or empty");
	NEED(nonempty(version), "package_set_last_seen", "version is NULL or empty");
	NEED_PACKAGE(name, "package_set_last_seen");
	NEED_VERSION(version, "package_set_last_seen");
	CALL(st, package_set_last_seen, "package_set_last_seen", name, version);
}

int fangs_storage_package_remove(fangs_storage *st, const char *name)
{
	NEED(nonempty(name), "package_remove", "package name is NULL or empty");
	CALL(st, package_remove, "package_remove", name);
}

int fangs_storage_package_reset(fangs_storage *st, const char *name)
{
	NEED(nonempty(name), "package_reset", "package name is NULL or empty");
	CALL(st, package_reset, "package_reset", name);
}

int fangs_storage_release_add(fangs_storage *st, const char *package, const char *version)
{
	NEED(nonempty(package), "release_add", "package name is NULL or empty");
	NEED(nonempty(version), "release_add", "version is NULL or empty");
	NEED_PACKAGE(package, "release_add");
	NEED_VERSION(version, "release_add");
	CALL(st, release_add, "release_add", package, version);
}

int fangs_storage_release_list(fangs_storage *st, const char *package, fangs_release_list *out)
{
	NEED(out, "release_list", "out is NULL");
	CALL(st, release_list, "release_list", package, out);
}

/* ---- runs ---- */

static int check_run(const fangs_run *run, const char *fn, int need_id)
{
	if (!run)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: run is NULL", fn);
	if (!memchr(run->id, '\0', sizeof(run->id)))
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: run id is not NUL-terminated", fn);
	if (need_id && !run->id[0])
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: run id is empty", fn);
	if ((unsigned)run->state > FANGS_RUN_TIMED_OUT)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: run state %d is out of range", fn,
				       (int)run->state);
	if ((unsigned)run->review > FANGS_REVIEW_PROMOTED)
		return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: review state %d is out of range", fn,
				       (int)run->review);
	return 0;
}

int fangs_storage_run_create(fangs_storage *st, fangs_run *run)
{
	int rc;
	NEED(st, "run_create", "storage handle is NULL");
	if ((rc = check_run(run, "run_create", 0)))
		return rc;
	NEED(nonempty(run->package), "run_create", "run has no package");
	NEED(nonempty(run->version), "run_create", "run has no version");
	NEED_PACKAGE(run->package, "run_create");
	NEED_VERSION(run->version, "run_create");
	if (!run->id[0] && (rc = fangs_storage_new_run_id(run->id, sizeof(run->id))))
		return rc;
	if (!run->created_ns)
		run->created_ns = fangs__now_ns();
	CALL(st, run_create, "run_create", run);
}

int fangs_storage_run_update(fangs_storage *st, const fangs_run *run)
{
	int rc;
	NEED(st, "run_update", "storage handle is NULL");
	if ((rc = check_run(run, "run_update", 1)))
		return rc;
	CALL(st, run_update, "run_update", run);
}

int fangs_storage_run_get(fangs_storage *st, const char *id, fangs_run *out)
{
	NEED(nonempty(id), "run_get", "run id is NULL or empty");
	NEED(out, "run_get", "out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, run_get, "run_get", id, out);
}

int fangs_storage_run_list(fangs_storage *st, const fangs_run_filter *f, fangs_run_list *out)
{
	fangs_run_filter def = FANGS_RUN_FILTER_INIT;
	NEED(out, "run_list", "out is NULL");
	if (!f)
		f = &def;
	NEED(f->state >= -1 && f->state <= FANGS_RUN_TIMED_OUT, "run_list", "filter state is out of range");
	CALL(st, run_list, "run_list", f, out);
}

/* ---- events ---- */

int fangs_storage_events_append(fangs_storage *st, const char *run_id, fangs_event *events, size_t n)
{
	int rc;
	NEED(nonempty(run_id), "events_append", "run id is NULL or empty");
	NEED(events || n == 0, "events_append", "events is NULL");
	for (size_t i = 0; i < n; i++) {
		if (events[i].kind <= FANGS_EV_NONE || events[i].kind > FANGS_EV_KIND_MAX)
			return fangs_error_set(FANGS_EINVAL, "fangs_storage_events_append: event %zu has no valid kind",
					       i);
		if (events[i].n_ancestry > FANGS_ANCESTRY_MAX)
			return fangs_error_set(FANGS_EINVAL,
					       "fangs_storage_events_append: event %zu has %zu ancestors (max %d)", i,
					       events[i].n_ancestry, FANGS_ANCESTRY_MAX);
	}
	NEED(st, "events_append", "storage handle is NULL");
	if (n == 0)
		return 0;
	if (!st->b->events_append)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_events_append: the %s backend does not support it", st->b->name);
	rc = st->b->events_append(st->b, run_id, events, n);
	if (rc == FANGS_ENETWORK && !st->in_tx) {
		fangs_debug("storage: fangs_storage_events_append: %s; trying again", fangs_error_last());
		rc = st->b->events_append(st->b, run_id, events, n);
	}
	/* nothing was stored: no event keeps an id */
	for (size_t i = 0; rc && i < n; i++)
		events[i].id = 0;
	return rc;
}

static int check_events(const fangs_event *events, size_t n, const char *fn)
{
	for (size_t i = 0; i < n; i++) {
		if (events[i].kind <= FANGS_EV_NONE || events[i].kind > FANGS_EV_KIND_MAX)
			return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: event %zu has no valid kind", fn, i);
		if (events[i].n_ancestry > FANGS_ANCESTRY_MAX)
			return fangs_error_set(FANGS_EINVAL, "fangs_storage_%s: event %zu has %zu ancestors (max %d)",
					       fn, i, events[i].n_ancestry, FANGS_ANCESTRY_MAX);
	}
	return 0;
}

int fangs_storage_events_append_batch(fangs_storage *st, const char *run_id, int64_t seq, fangs_event *events, size_t n,
				      int *duplicate)
{
	int rc, dummy;
	NEED(nonempty(run_id), "events_append_batch", "run id is NULL or empty");
	NEED(events || n == 0, "events_append_batch", "events is NULL");
	NEED(seq >= 1, "events_append_batch", "batch number must be at least 1");
	NEED(st, "events_append_batch", "storage handle is NULL");
	if ((rc = check_events(events, n, "events_append_batch")))
		return rc;
	if (!duplicate)
		duplicate = &dummy;
	*duplicate = 0;
	if (st->b->version < 2 || !st->b->events_append_batch)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_events_append_batch: the %s backend does not support it",
				       st->b->name);
	rc = st->b->events_append_batch(st->b, run_id, seq, events, n, duplicate);
	if (rc == FANGS_ENETWORK && !st->in_tx) {
		fangs_debug("storage: fangs_storage_events_append_batch: %s; trying again", fangs_error_last());
		*duplicate = 0;
		rc = st->b->events_append_batch(st->b, run_id, seq, events, n, duplicate);
	}
	for (size_t i = 0; (rc || *duplicate) && i < n; i++)
		events[i].id = 0;
	return rc;
}

int fangs_storage_events_list(fangs_storage *st, const char *run_id, fangs_event_list *out)
{
	NEED(nonempty(run_id), "events_list", "run id is NULL or empty");
	NEED(out, "events_list", "out is NULL");
	CALL(st, events_list, "events_list", run_id, out);
}

int fangs_storage_events_get(fangs_storage *st, const int64_t *ids, size_t n, fangs_event_list *out)
{
	NEED(ids || n == 0, "events_get", "ids is NULL");
	NEED(out, "events_get", "out is NULL");
	CALL(st, events_get, "events_get", ids, n, out);
}

/* ---- fingerprints and baselines ---- */

int fangs_storage_run_fingerprints_put(fangs_storage *st, const char *run_id, const fangs_fpset *fps)
{
	NEED(nonempty(run_id), "run_fingerprints_put", "run id is NULL or empty");
	NEED(fps, "run_fingerprints_put", "fingerprint set is NULL");
	CALL(st, run_fingerprints_put, "run_fingerprints_put", run_id, fps);
}

int fangs_storage_run_fingerprints_get(fangs_storage *st, const char *run_id, fangs_fpset *out)
{
	NEED(nonempty(run_id), "run_fingerprints_get", "run id is NULL or empty");
	NEED(out, "run_fingerprints_get", "out is NULL");
	CALL(st, run_fingerprints_get, "run_fingerprints_get", run_id, out);
}

int fangs_storage_baseline_get(fangs_storage *st, const char *package, fangs_fpset *out)
{
	NEED(nonempty(package), "baseline_get", "package name is NULL or empty");
	NEED(out, "baseline_get", "out is NULL");
	CALL(st, baseline_get, "baseline_get", package, out);
}

int fangs_storage_baseline_add_run(fangs_storage *st, const char *package, const char *run_id)
{
	NEED(nonempty(package), "baseline_add_run", "package name is NULL or empty");
	NEED(nonempty(run_id), "baseline_add_run", "run id is NULL or empty");
	CALL(st, baseline_add_run, "baseline_add_run", package, run_id);
}

int fangs_storage_baseline_rebuild(fangs_storage *st, const char *package, const char *run_id)
{
	NEED(nonempty(package), "baseline_rebuild", "package name is NULL or empty");
	NEED(nonempty(run_id), "baseline_rebuild", "run id is NULL or empty");
	CALL(st, baseline_rebuild, "baseline_rebuild", package, run_id);
}

/* ---- deviations ---- */

int fangs_storage_deviations_put(fangs_storage *st, fangs_deviation *devs, size_t n)
{
	int rc;
	NEED(devs || n == 0, "deviations_put", "deviations is NULL");
	for (size_t i = 0; i < n; i++) {
		const fangs_deviation *d = &devs[i];
		if (!nonempty(d->run_id) || !nonempty(d->package) || !nonempty(d->kind))
			return fangs_error_set(FANGS_EINVAL,
					       "fangs_storage_deviations_put: deviation %zu lacks its run id, "
					       "package or kind",
					       i);
		if ((unsigned)d->severity > FANGS_SEV_CRITICAL)
			return fangs_error_set(
				FANGS_EINVAL,
				"fangs_storage_deviations_put: deviation %zu has severity %d out of range", i,
				(int)d->severity);
		if ((unsigned)d->actor > FANGS_ACTOR_MAX)
			return fangs_error_set(FANGS_EINVAL,
					       "fangs_storage_deviations_put: deviation %zu has actor %d out of range",
					       i, (int)d->actor);
		if (d->n_evidence && !d->evidence)
			return fangs_error_set(FANGS_EINVAL,
					       "fangs_storage_deviations_put: deviation %zu has n_evidence but no ids",
					       i);
	}
	NEED(st, "deviations_put", "storage handle is NULL");
	if (n == 0)
		return 0;
	if (!st->b->deviations_put)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_deviations_put: the %s backend does not support it", st->b->name);
	for (size_t i = 0; i < n; i++)
		if (!devs[i].created_ns)
			devs[i].created_ns = fangs__now_ns();
	rc = st->b->deviations_put(st->b, devs, n);
	/* nothing was stored: no deviation keeps an id */
	for (size_t i = 0; rc && i < n; i++)
		devs[i].id = 0;
	return rc;
}

int fangs_storage_deviations_list(fangs_storage *st, const fangs_deviation_filter *f, fangs_deviation_list *out)
{
	fangs_deviation_filter def = FANGS_DEVIATION_FILTER_INIT;
	NEED(out, "deviations_list", "out is NULL");
	if (!f)
		f = &def;
	NEED((unsigned)f->min_severity <= FANGS_SEV_CRITICAL, "deviations_list", "min_severity is out of range");
	CALL(st, deviations_list, "deviations_list", f, out);
}

int fangs_storage_deviation_get(fangs_storage *st, int64_t id, fangs_deviation *out)
{
	NEED(id > 0, "deviation_get", "deviation id must be positive");
	NEED(out, "deviation_get", "out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, deviation_get, "deviation_get", id, out);
}

int fangs_storage_deviations_clear(fangs_storage *st, const char *run_id)
{
	NEED(nonempty(run_id), "deviations_clear", "run id is NULL or empty");
	CALL(st, deviations_clear, "deviations_clear", run_id);
}

/* ---- allowlists ---- */

int fangs_storage_allow_add(fangs_storage *st, fangs_allow_entry *entry)
{
	int rc;
	NEED(st, "allow_add", "storage handle is NULL");
	NEED(entry, "allow_add", "entry is NULL");
	NEED(!entry->package || *entry->package, "allow_add", "entry package is empty (use NULL for global)");
	if ((rc = fangs_allow_entry_validate(entry->kind, entry->value)))
		return rc;
	if (!entry->created_ns)
		entry->created_ns = fangs__now_ns();
	CALL(st, allow_add, "allow_add", entry);
}

int fangs_storage_allow_list(fangs_storage *st, const char *package, fangs_allow_list *out)
{
	NEED(out, "allow_list", "out is NULL");
	CALL(st, allow_list, "allow_list", package, out);
}

int fangs_storage_allow_remove(fangs_storage *st, int64_t id)
{
	NEED(id > 0, "allow_remove", "entry id must be positive");
	CALL(st, allow_remove, "allow_remove", id);
}

/* ---- retention ---- */

int fangs_storage_prune(fangs_storage *st, int64_t older_than_ns, fangs_prune_stats *out)
{
	fangs_prune_stats dummy;
	NEED(older_than_ns >= 0, "prune", "cutoff is negative");
	if (!out)
		out = &dummy;
	memset(out, 0, sizeof(*out));
	CALL(st, prune, "prune", older_than_ns, out);
}

/* ---- notifier targets and delivery history ---- */

int fangs_storage_notifier_add(fangs_storage *st, fangs_notifier_target *t)
{
	NEED(t, "notifier_add", "target is NULL");
	NEED(nonempty(t->name) && nonempty(t->url) && nonempty(t->template_name), "notifier_add",
	     "target name, url and template are required");
	NEED(t->min_severity >= FANGS_SEV_INFO && t->min_severity <= FANGS_SEV_CRITICAL, "notifier_add",
	     "minimum severity out of range");
	for (size_t i = 0; i < t->n_headers; i++)
		NEED(nonempty(t->headers[i].name) && t->headers[i].value, "notifier_add",
		     "header without a name or value");
	if (!t->created_ns)
		t->created_ns = fangs__now_ns();
	CALL(st, notifier_add, "notifier_add", t);
}

int fangs_storage_notifier_list(fangs_storage *st, fangs_notifier_target_list *out)
{
	NEED(out, "notifier_list", "out is NULL");
	CALL(st, notifier_list, "notifier_list", out);
}

int fangs_storage_notifier_get(fangs_storage *st, const char *name, fangs_notifier_target *out)
{
	NEED(nonempty(name) && out, "notifier_get", "name or out is NULL");
	memset(out, 0, sizeof(*out));
	CALL(st, notifier_get, "notifier_get", name, out);
}

int fangs_storage_notifier_remove(fangs_storage *st, const char *name)
{
	NEED(nonempty(name), "notifier_remove", "name is NULL or empty");
	CALL(st, notifier_remove, "notifier_remove", name);
}

int fangs_storage_notification_insert(fangs_storage *st, fangs_notification *n)
{
	NEED(n && n->notifier_id > 0 && nonempty(n->run_id) && n->attempt >= 1, "notification_insert",
	     "notification needs a notifier id, a run id and an attempt number >= 1");
	if (!n->created_ns)
		n->created_ns = fangs__now_ns();
	CALL(st, notification_insert, "notification_insert", n);
}

int fangs_storage_notification_update(fangs_storage *st, const fangs_notification *n)
{
	NEED(n && n->id > 0, "notification_update", "notification id must be positive");
	CALL(st, notification_update, "notification_update", n);
}

int fangs_storage_notification_list(fangs_storage *st, const fangs_notification_filter *f, fangs_notification_list *out)
{
	fangs_notification_filter all = FANGS_NOTIFICATION_FILTER_INIT;
	NEED(out, "notification_list", "out is NULL");
	CALL(st, notification_list, "notification_list", f ? f : &all, out);
}

int fangs_storage_notification_due(fangs_storage *st, int64_t now_ns, size_t limit, fangs_notification_list *out)
{
	NEED(out, "notification_due", "out is NULL");
	CALL(st, notification_due, "notification_due", now_ns, limit, out);
}

int fangs_storage_notification_claim(fangs_storage *st, int64_t id, fangs_notification_status status,
				     int64_t next_attempt_ns, int64_t lease_until_ns)
{
	NEED(id > 0, "notification_claim", "notification id must be positive");
	CALL(st, notification_claim, "notification_claim", id, status, next_attempt_ns, lease_until_ns);
}

fangs_storage_backend *fangs__storage_backend_of(fangs_storage *st)
{
	return st->b;
}

int fangs__storage_in_tx(const fangs_storage *st)
{
	return st->in_tx;
}
