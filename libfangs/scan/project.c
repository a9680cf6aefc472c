/*
 * scan/project.c - a project scan: the lockfile's tree in one sandbox run,
 * then one run per judged dependency with what its install scripts did,
 * judged against that dependency's own baseline.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/project.h"
#include "fangs/sys/storage_backend.h"
#include "fangs/text.h"
#include "scan/project.h"

#define NONE ((size_t)-1)

void fangs_project_scan_result_clear(fangs_project_scan_result *r)
{
	if (!r)
		return;
	fangs_scan_result_clear(&r->install);
	fangs_lockfile_clear(&r->lock);
	for (size_t i = 0; i < r->n_deps; i++) {
		free(r->deps[i].name);
		free(r->deps[i].version);
		fangs_analysis_clear(&r->deps[i].analysis);
	}
	free(r->deps);
	memset(r, 0, sizeof(*r));
}

/* The copy's allowScripts becomes exactly the judged releases. */
static int allow_only(const char *project_dir, const fangs_project_scan_options *pj)
{
	char path[4200], *text = NULL;
	size_t len = 0, n = 0;
	json_object *doc;
	int rc;
	snprintf(path, sizeof(path), "%s/package.json", project_dir);
	if ((rc = fangs__read_file(path, &text, &len)))
		return rc;
	doc = json_tokener_parse(text);
	free(text);
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return fangs_error_set(FANGS_EPARSE, "%s: not a JSON object", path);
	}
	json_object_object_del(doc, "allowScripts");
	rc = json_object_to_file_ext(path, doc, JSON_C_TO_STRING_PLAIN) ? fangs_error_set(FANGS_EIO, "writing %s", path)
									: 0;
	json_object_put(doc);
	if (rc == 0 && pj->n_judge)
		rc = fangs_project_approve(project_dir, pj->judge, pj->n_judge, &n);
	return rc;
}

int fangs__project_prepared(const char *project_dir, const fangs_project_scan_options *pj, int resolved,
			    fangs_project_scan_result *out)
{
	char lock[4300];
	int rc;
	if ((rc = fangs_lockfile_find_in(project_dir, lock, sizeof(lock))) ||
	    (rc = fangs_lockfile_load(&out->lock, lock)))
		return rc;
	/* the copy's name means nothing to a reader: the project's own file */
	{
		char *named = fangs__asprintf("%s/%s", pj->dir, strrchr(lock, '/') + 1);
		if (!named)
			return FANGS_ENOMEM;
		free(out->lock.file);
		out->lock.file = named;
	}
	out->resolved = resolved;
	out->install.package = fangs__strdup(out->lock.name ? out->lock.name : "project");
	out->install.version = fangs__strdup(out->lock.version ? out->lock.version : "0.0.0");
	if (!out->install.package || !out->install.version)
		return FANGS_ENOMEM;
	if (pj->judged_scripts_only && (rc = allow_only(project_dir, pj)))
		return rc;
	return 0;
}

static size_t lock_index(const fangs_lockfile *lf, const char *name, const char *version)
{
	for (size_t i = 0; i < lf->count; i++)
		if (!lf->packages[i].link && !strcmp(lf->packages[i].name, name) &&
		    (!version || !strcmp(lf->packages[i].version, version)))
			return i;
	return NONE;
}

static int add_dep(fangs_project_scan_result *out, size_t *cap, const char *name, const char *version)
{
	fangs_scan_dependency *d;
	for (size_t i = 0; i < out->n_deps; i++)
		if (!strcmp(out->deps[i].name, name) && !strcmp(out->deps[i].version, version))
			return 0;
	if (fangs__grow((void **)&out->deps, cap, out->n_deps + 1, sizeof(*out->deps)) < 0)
		return FANGS_ENOMEM;
	d = &out->deps[out->n_deps++];
	memset(d, 0, sizeof(*d));
	d->name = fangs__strdup(name);
	d->version = fangs__strdup(version);
	d->index = lock_index(&out->lock, name, version);
	return d->name && d->version ? 0 : FANGS_ENOMEM;
}

/* Which dependencies are judged: those asked for, else every one the
 * lockfile says has install scripts and every other whose scripts ran. */
static int judged(const fangs_project_scan_options *pj, fangs_project_scan_result *out, const fangs_event_list *events)
{
	size_t cap = 0;
	int rc = 0;
	if (pj->judge) {
		for (size_t i = 0; i < pj->n_judge && rc == 0; i++) {
			const char *spec = pj->judge[i], *at = spec && spec[0] ? strrchr(spec + 1, '@') : NULL;
			char name[256];
			if (!at || (size_t)(at - spec) >= sizeof(name) || !at[1])
				return fangs_error_set(FANGS_EINVAL, "fangs_scan_project: \"%s\" is not name@version",
						       spec ? spec : "(null)");
			memcpy(name, spec, (size_t)(at - spec));
			name[at - spec] = '\0';
			rc = add_dep(out, &cap, name, at + 1);
		}
		return rc;
	}
	for (size_t i = 0; i < out->lock.count && rc == 0; i++) {
		const fangs_lock_package *p = &out->lock.packages[i];
		if (!p->link && p->has_install_script)
			rc = add_dep(out, &cap, p->name, p->version);
	}
	for (size_t i = 0; i < events->count && rc == 0; i++) {
		const fangs_origin *o = &events->items[i].origin;
		size_t at;
		if (!o->package)
			continue;
		/* a script's origin names a release of the lockfile; the
		 * project's own scripts are not a dependency's */
		at = lock_index(&out->lock, o->package, o->version);
		if (at != NONE)
			rc = add_dep(out, &cap, o->package, out->lock.packages[at].version);
	}
	return rc;
}

/* Is this event caused by a script of name@version? */
static int caused_by(const fangs_event *ev, const fangs_scan_dependency *d)
{
	const fangs_origin *o = &ev->origin;
	return o->package && !strcmp(o->package, d->name) && (!o->version || !strcmp(o->version, d->version));
}

static int store_dep_run(const fangs_scan_options *opts, const fangs_run *whole, fangs_scan_dependency *d,
			 fangs_event *evs, size_t n)
{
	fangs_storage *st = opts->storage;
	fangs_run run = {0};
	int rc;
	if ((rc = fangs_storage_new_run_id(d->run_id, sizeof(d->run_id))))
		return rc;
	memcpy(run.id, d->run_id, sizeof(run.id));
	run.package = fangs__strdup(d->name);
	run.version = fangs__strdup(d->version);
	run.state = FANGS_RUN_RUNNING;
	run.runner = fangs__strdup(whole->runner);
	run.sandbox = fangs__strdup(whole->sandbox);
	run.network = fangs__strdup(whole->network);
	if (!run.package || !run.version || !run.runner || !run.sandbox || !run.network) {
		fangs_run_clear(&run);
		return FANGS_ENOMEM;
	}
	if ((rc = fangs_storage_run_create(st, &run))) {
		fangs_run_clear(&run);
		return rc;
	}
	run.state = whole->state;
	run.error = whole->error ? fangs__strdup(whole->error) : NULL;
	run.install_output = whole->install_output ? fangs__strdup(whole->install_output) : NULL;
	run.events_emitted = (int64_t)n;
	run.events_dropped = whole->events_dropped;
	run.duration_ns = whole->duration_ns;
	run.has_exit_code = whole->has_exit_code;
	run.exit_code = whole->exit_code;
	run.started_ns = whole->started_ns;
	run.finished_ns = whole->finished_ns;
	if ((rc = fangs_storage_begin(st)) == 0) {
		if ((rc = fangs_storage_events_append(st, run.id, evs, n)) ||
		    (rc = fangs_storage_run_update(st, &run)) || (rc = fangs_storage_commit(st)))
			fangs_storage_rollback(st);
	}
	fangs_run_clear(&run);
	return rc;
}

int fangs__project_judge(const fangs_scan_options *opts, const fangs_project_scan_options *pj,
			 fangs_project_scan_result *out, const fangs_run *whole, const fangs_event_list *events,
			 const fangs_differ *differ, const fangs_analyze_options *ao)
{
	fangs_event *subset;
	int rc;
	if ((rc = judged(pj, out, events)))
		return rc;
	if (!(subset = calloc(events->count ? events->count : 1, sizeof(*subset))))
		return fangs__error_oom();
	for (size_t i = 0; i < out->n_deps && rc == 0; i++) {
		fangs_scan_dependency *d = &out->deps[i];
		size_t n = 0;
		/* shallow copies: the events stay the scan's */
		for (size_t e = 0; e < events->count; e++)
			if (caused_by(&events->items[e], d))
				subset[n++] = events->items[e];
		d->n_events = n;
		d->ran = n > 0;
		if (!n)
			continue; /* nothing of it ran: nothing to store or judge */
		if ((rc = store_dep_run(opts, whole, d, subset, n)))
			break;
		/* storage numbered the copies: the scan's events stay unnumbered */
		for (size_t e = 0; e < n; e++)
			subset[e].id = 0;
		rc = fangs_analyze_run_opts(opts->storage, differ, opts->config, d->run_id, ao, &d->analysis);
		d->first_sight = rc == 0 && d->analysis.baseline_size == 0;
	}
	free(subset);
	return rc;
}
