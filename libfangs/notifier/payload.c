/*
 * notifier/payload.c - the message of a run as stored when it is
 * scheduled: the generic JSON payload (docs/notifier.md) without its
 * time, from which every template renders what it sends.
 */
#include <stdlib.h>
#include <string.h>

#include "fangs/findings.h"
#include "core/json.h"
#include "notifier/internal.h"

/* Evidence events summarised per finding: enough to see what happened
 * without turning a message into an event log. */
#define EVIDENCE_SHOWN 3

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *origin_json(const fangs_origin *og)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "package", str_or_null(og->package));
	json_object_object_add(o, "version", str_or_null(og->version));
	json_object_object_add(o, "script", str_or_null(og->script));
	json_object_object_add(o, "command", str_or_null(og->command));
	return o;
}

/* Evidence events as one line each: "pid N comm: what it did". */
static json_object *evidence_json(const fangs_event_list *evs)
{
	json_object *ev = json_object_new_array();
	char line[512], what[400];
	for (size_t i = 0; evs && i < evs->count; i++) {
		const fangs_event *e = &evs->items[i];
		snprintf(line, sizeof(line), "pid %d %s: %s", e->pid, e->comm ? e->comm : "?",
			 fangs_event_summary(e, what, sizeof(what)));
		json_object_array_add(ev, json_object_new_string(line));
	}
	return ev;
}

static json_object *deviation_json(const fangs_deviation *d, const fangs_event_list *evs)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(d->kind ? d->kind : ""));
	json_object_object_add(o, "severity", json_object_new_string(fangs_severity_name(d->severity)));
	json_object_object_add(o, "value", str_or_null(d->value));
	json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(d->actor)));
	json_object_object_add(o, "description", str_or_null(d->description));
	json_object_object_add(o, "origin", origin_json(&d->origin));
	json_object_object_add(o, "command", str_or_null(d->command));
	json_object_object_add(o, "evidence", evidence_json(evs));
	json_object_object_add(o, "evidence_count", json_object_new_int64((int64_t)d->n_evidence));
	return o;
}

static json_object *strings_json(char *const *items, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(items[i]));
	return a;
}

/* One behaviour: its labels (deviation kinds and rule ids), the names of a
 * network finding, and evidence as for a deviation. */
static json_object *finding_json(const fangs_finding *f, const fangs_event_list *evs)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(f->kind ? f->kind : ""));
	json_object_object_add(o, "labels", strings_json(f->labels, f->n_labels));
	json_object_object_add(o, "severity", json_object_new_string(fangs_severity_name(f->severity)));
	json_object_object_add(o, "value", str_or_null(f->value));
	json_object_object_add(o, "domain", str_or_null(f->domain));
	json_object_object_add(o, "values", strings_json(f->values, f->n_values));
	json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(f->actor)));
	json_object_object_add(o, "description", str_or_null(f->description));
	json_object_object_add(o, "origin", origin_json(&f->origin));
	json_object_object_add(o, "command", str_or_null(f->command));
	json_object_object_add(o, "evidence", evidence_json(evs));
	json_object_object_add(o, "evidence_count", json_object_new_int64((int64_t)f->n_evidence));
	json_object_object_add(o, "deviation_count", json_object_new_int64((int64_t)f->n_records));
	return o;
}

/* The findings part of a payload: "finding_count", "findings_omitted",
 * "findings" (most severe first, at most `max`). */
static void add_findings(json_object *o, const fangs_finding_list *fl, json_object *arr)
{
	json_object_object_add(o, "finding_count", json_object_new_int64((int64_t)fl->count));
	json_object_object_add(o, "findings_omitted",
			       json_object_new_int64((int64_t)fl->count - (int64_t)json_object_array_length(arr)));
	json_object_object_add(o, "findings", arr);
}

static json_object *link_json(const char *public_url, const char *run_id)
{
	size_t n;
	char *s;
	json_object *o;
	if (!public_url || !*public_url)
		return NULL;
	n = strlen(public_url);
	while (n && public_url[n - 1] == '/')
		n--;
	if (!(s = fangs__asprintf("%.*s/runs/%s", (int)n, public_url, run_id)))
		return NULL;
	o = json_object_new_string(s);
	free(s);
	return o;
}

static json_object *payload_json(const char *run_id, const char *pkg, const char *ver, fangs_severity max, size_t count,
				 const char *public_url, json_object *devs)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "source", json_object_new_string("fangs"));
	json_object_object_add(o, "run_id", json_object_new_string(run_id));
	json_object_object_add(o, "package_name", json_object_new_string(pkg ? pkg : ""));
	json_object_object_add(o, "version", json_object_new_string(ver ? ver : ""));
	json_object_object_add(o, "max_severity", json_object_new_string(fangs_severity_name(max)));
	json_object_object_add(o, "deviation_count", json_object_new_int64((int64_t)count));
	json_object_object_add(o, "deviations_omitted",
			       json_object_new_int64((int64_t)count - (int64_t)json_object_array_length(devs)));
	json_object_object_add(o, "url", link_json(public_url, run_id));
	json_object_object_add(o, "deviations", devs);
	return o;
}

static int finish(json_object *o, char **out)
{
	*out = fangs__json_text(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(o);
	return *out ? 0 : FANGS_ENOMEM;
}

/* Most severe first; among equals, the first found first. */
static int by_severity(const void *a, const void *b)
{
	const fangs_deviation *x = a, *y = b;
	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

int fangs__notify_payload(fangs_storage *st, const char *run_id, fangs_severity min, unsigned max_devs,
			  const char *public_url, char **out)
{
	fangs_deviation_filter f = FANGS_DEVIATION_FILTER_INIT;
	fangs_deviation_list devs = {0};
	fangs_finding_list fl = {0};
	fangs_run run = {0};
	json_object *arr, *farr, *o;
	int rc;

	*out = NULL;
	f.run_id = run_id;
	f.min_severity = min;
	if ((rc = fangs_storage_deviations_list(st, &f, &devs)))
		return rc;
	if (devs.count == 0) {
		fangs_deviation_list_free(&devs);
		return 0;
	}
	if ((rc = fangs_storage_run_get(st, run_id, &run))) {
		fangs_deviation_list_free(&devs);
		return rc;
	}
	qsort(devs.items, devs.count, sizeof(*devs.items), by_severity);
	if ((rc = fangs_findings_load(st, &devs, NULL, &fl))) {
		fangs_run_clear(&run);
		fangs_deviation_list_free(&devs);
		return rc;
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < devs.count && i < max_devs && rc == 0; i++) {
		const fangs_deviation *d = &devs.items[i];
		fangs_event_list evs = {0};
		size_t shown = d->n_evidence < EVIDENCE_SHOWN ? d->n_evidence : EVIDENCE_SHOWN;
		/* Pruned evidence leaves the finding without its events, not unsent. */
		if (shown && fangs_storage_events_get(st, d->evidence, shown, &evs))
			fangs_warn("notifier: run %s: evidence of a finding unreadable: %s", run_id,
				   fangs_error_last());
		json_object_array_add(arr, deviation_json(d, &evs));
		fangs_event_list_free(&evs);
	}
	farr = json_object_new_array();
	for (size_t i = 0; i < fl.count && i < max_devs; i++) {
		const fangs_finding *fi = &fl.items[i];
		fangs_event_list evs = {0};
		size_t shown = fi->n_evidence < EVIDENCE_SHOWN ? fi->n_evidence : EVIDENCE_SHOWN;
		if (shown && fangs_storage_events_get(st, fi->evidence, shown, &evs))
			fangs_warn("notifier: run %s: evidence of a finding unreadable: %s", run_id,
				   fangs_error_last());
		json_object_array_add(farr, finding_json(fi, &evs));
		fangs_event_list_free(&evs);
	}
	o = payload_json(run_id, run.package, run.version, devs.items[0].severity, devs.count, public_url, arr);
	add_findings(o, &fl, farr);
	rc = finish(o, out);
	fangs_finding_list_free(&fl);
	fangs_run_clear(&run);
	fangs_deviation_list_free(&devs);
	return rc;
}

int fangs__notify_payload_test(const char *public_url, char **out)
{
	fangs_deviation d = {0};
	int64_t ev_id = 1;
	fangs_event ev = {0};
	fangs_event_list evs = {&ev, 1, 1};
	json_object *arr = json_object_new_array(), *o;

	d.kind = "net_new_dns";
	d.severity = FANGS_SEV_HIGH;
	d.value = "notifier-test.invalid";
	d.actor = FANGS_ACTOR_SCRIPT;
	d.description = "A test message from `fangs notifier test`: nothing was found.";
	d.origin.package = "fangs-notifier-test";
	d.origin.version = "0.0.0";
	d.origin.script = "postinstall";
	d.origin.command = "node -e \"require('dns').lookup('notifier-test.invalid')\"";
	d.evidence = &ev_id;
	d.n_evidence = 1;
	ev.kind = FANGS_EV_DNS_QUERY;
	ev.pid = 4242;
	ev.comm = "node";
	ev.qname = "notifier-test.invalid";
	ev.qtype = 1;
	json_object_array_add(arr, deviation_json(&d, &evs));
	o = payload_json("test", "fangs-notifier-test", "0.0.0", d.severity, 1, public_url, arr);
	{
		/* the same made-up finding as a finding of one record */
		fangs_deviation_list one = {&d, 1, 1};
		fangs_finding_list fl = {0};
		json_object *farr = json_object_new_array();
		int rc = fangs_findings_group(&one, NULL, &fl);
		if (rc) {
			json_object_put(farr);
			json_object_put(o);
			return rc;
		}
		json_object_array_add(farr, finding_json(&fl.items[0], &evs));
		add_findings(o, &fl, farr);
		fangs_finding_list_free(&fl);
	}
	json_object_object_add(o, "test", json_object_new_boolean(1));
	return finish(o, out);
}
