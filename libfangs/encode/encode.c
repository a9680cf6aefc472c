/*
 * encode/encode.c - records as JSON objects (fangs/encode.h). The field
 * names and their order are part of the interface: `fangs ... --json`
 * prints them and the HTTP API answers them.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/encode.h"
#include "fangs/event.h"

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *fangs_json_run(const fangs_run *r)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "package", str_or_null(r->package));
	json_object_object_add(o, "version", str_or_null(r->version));
	json_object_object_add(o, "state", json_object_new_string(fangs_run_state_name(r->state)));
	json_object_object_add(o, "review", json_object_new_string(fangs_review_name(r->review)));
	json_object_object_add(o, "is_baseline", json_object_new_boolean(r->is_baseline));
	json_object_object_add(o, "events_emitted", json_object_new_int64(r->events_emitted));
	json_object_object_add(o, "events_dropped", json_object_new_int64(r->events_dropped));
	json_object_object_add(o, "event_count", json_object_new_int64(r->event_count));
	json_object_object_add(o, "deviation_count", json_object_new_int64(r->deviation_count));
	json_object_object_add(o, "max_severity",
			       r->deviation_count ? json_object_new_string(fangs_severity_name(r->max_severity))
						  : NULL);
	json_object_object_add(o, "duration_ns", json_object_new_int64(r->duration_ns));
	json_object_object_add(o, "exit_code", r->has_exit_code ? json_object_new_int(r->exit_code) : NULL);
	json_object_object_add(o, "runner", str_or_null(r->runner));
	json_object_object_add(o, "sandbox", str_or_null(r->sandbox));
	json_object_object_add(o, "network", str_or_null(r->network));
	json_object_object_add(o, "error", str_or_null(r->error));
	json_object_object_add(o, "created_ns", json_object_new_int64(r->created_ns));
	json_object_object_add(o, "started_ns", json_object_new_int64(r->started_ns));
	json_object_object_add(o, "finished_ns", json_object_new_int64(r->finished_ns));
	/* only when it is so: the run was not judged (fangs run analyze) */
	if (r->analysis_error)
		json_object_object_add(o, "analysis_error", json_object_new_string(r->analysis_error));
	return o;
}

json_object *fangs_json_origin(const fangs_origin *og)
{
	json_object *o;
	if (!og->package && !og->script)
		return NULL;
	if (!(o = json_object_new_object()))
		return NULL;
	json_object_object_add(o, "package", str_or_null(og->package));
	json_object_object_add(o, "version", str_or_null(og->version));
	json_object_object_add(o, "script", str_or_null(og->script));
	json_object_object_add(o, "command", str_or_null(og->command));
	return o;
}

json_object *fangs_json_deviation(const fangs_deviation *d)
{
	json_object *o = json_object_new_object();
	json_object *ev = json_object_new_array();
	if (!o || !ev) {
		json_object_put(o);
		json_object_put(ev);
		return NULL;
	}
	json_object_object_add(o, "id", json_object_new_int64(d->id));
	json_object_object_add(o, "run_id", str_or_null(d->run_id));
	json_object_object_add(o, "package", str_or_null(d->package));
	json_object_object_add(o, "kind", str_or_null(d->kind));
	json_object_object_add(o, "severity", json_object_new_string(fangs_severity_name(d->severity)));
	json_object_object_add(o, "value", str_or_null(d->value));
	json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(d->actor)));
	json_object_object_add(o, "description", str_or_null(d->description));
	json_object_object_add(o, "origin", fangs_json_origin(&d->origin));
	json_object_object_add(o, "command", str_or_null(d->command));
	for (size_t i = 0; i < d->n_evidence; i++)
		json_object_array_add(ev, json_object_new_int64(d->evidence[i]));
	json_object_object_add(o, "evidence", ev);
	json_object_object_add(o, "created_ns", json_object_new_int64(d->created_ns));
	return o;
}

json_object *fangs_json_rule(const fangs_rule_info *r)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "description", str_or_null(r->description));
	json_object_object_add(o, "severity", json_object_new_string(fangs_severity_name(r->severity)));
	json_object_object_add(o, "enabled", json_object_new_boolean(r->enabled));
	json_object_object_add(o, "source", str_or_null(r->source));
	json_object_object_add(o, "line", json_object_new_int64(r->line));
	json_object_object_add(o, "match", str_or_null(r->match));
	return o;
}

json_object *fangs_json_event(const fangs_event *ev)
{
	char *s = NULL;
	json_object *o;
	if (fangs_event_to_json(ev, &s, NULL))
		return NULL;
	o = json_tokener_parse(s);
	free(s);
	return o;
}

json_object *fangs_json_package(const fangs_package *p)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "watched", json_object_new_boolean(p->watched));
	json_object_object_add(o, "last_seen_version", str_or_null(p->last_seen_version));
	json_object_object_add(o, "run_count", json_object_new_int64(p->run_count));
	json_object_object_add(o, "baseline_size", json_object_new_int64(p->baseline_size));
	json_object_object_add(o, "created_ns", json_object_new_int64(p->created_ns));
	return o;
}

json_object *fangs_json_release(const fangs_release *r)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "package", json_object_new_string(r->package));
	json_object_object_add(o, "version", json_object_new_string(r->version));
	json_object_object_add(o, "first_seen_ns", json_object_new_int64(r->first_seen_ns));
	json_object_object_add(o, "run_count", json_object_new_int64(r->run_count));
	return o;
}

json_object *fangs_json_allow(const fangs_allow_entry *a)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "kind", json_object_new_string(fangs_allow_kind_name(a->kind)));
	json_object_object_add(o, "value", str_or_null(a->value));
	json_object_object_add(o, "package", str_or_null(a->package));
	json_object_object_add(o, "note", str_or_null(a->note));
	json_object_object_add(o, "created_ns", json_object_new_int64(a->created_ns));
	return o;
}

json_object *fangs_json_finding(const fangs_finding *fi)
{
	json_object *o = json_object_new_object(), *a;
	if (!o)
		return NULL;
	json_object_object_add(o, "kind", str_or_null(fi->kind));
	a = json_object_new_array();
	for (size_t i = 0; i < fi->n_labels; i++)
		json_object_array_add(a, json_object_new_string(fi->labels[i]));
	json_object_object_add(o, "labels", a);
	json_object_object_add(o, "severity", json_object_new_string(fangs_severity_name(fi->severity)));
	json_object_object_add(o, "value", str_or_null(fi->value));
	json_object_object_add(o, "domain", str_or_null(fi->domain));
	json_object_object_add(o, "network", json_object_new_boolean(fi->network));
	a = json_object_new_array();
	for (size_t i = 0; i < fi->n_values; i++)
		json_object_array_add(a, json_object_new_string(fi->values[i]));
	json_object_object_add(o, "values", a);
	json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(fi->actor)));
	json_object_object_add(o, "description", str_or_null(fi->description));
	json_object_object_add(o, "origin", fangs_json_origin(&fi->origin));
	json_object_object_add(o, "command", str_or_null(fi->command));
	a = json_object_new_array();
	for (size_t i = 0; i < fi->n_records; i++)
		json_object_array_add(a, json_object_new_int64(fi->record_ids[i]));
	json_object_object_add(o, "deviation_ids", a);
	json_object_object_add(o, "rule_hits", json_object_new_int64((int64_t)fi->n_rule_hits));
	a = json_object_new_array();
	for (size_t i = 0; i < fi->n_evidence; i++)
		json_object_array_add(a, json_object_new_int64(fi->evidence[i]));
	json_object_object_add(o, "evidence", a);
	return o;
}

void fangs_json_add_findings(json_object *o, const fangs_finding_list *fl)
{
	json_object *arr = json_object_new_array(), *counts = json_object_new_object();
	for (size_t i = 0; i < fl->count; i++)
		json_object_array_add(arr, fangs_json_finding(&fl->items[i]));
	json_object_object_add(o, "findings", arr);
	json_object_object_add(counts, "findings", json_object_new_int64((int64_t)fl->count));
	json_object_object_add(counts, "deviations", json_object_new_int64((int64_t)fl->n_deviations));
	json_object_object_add(counts, "rule_hits", json_object_new_int64((int64_t)fl->n_rule_hits));
	json_object_object_add(o, "counts", counts);
}

json_object *fangs_json_runner(const fangs_runner *r)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "state", str_or_null(r->state));
	json_object_object_add(o, "hostname", str_or_null(r->hostname));
	json_object_object_add(o, "cn", str_or_null(r->cn));
	json_object_object_add(o, "max_scans", json_object_new_int(r->max_scans));
	json_object_object_add(o, "running", json_object_new_int64(r->running));
	json_object_object_add(o, "registered_ns", json_object_new_int64(r->registered_ns));
	json_object_object_add(o, "last_heartbeat_ns", json_object_new_int64(r->last_heartbeat_ns));
	return o;
}

json_object *fangs_json_job(const fangs_job *j)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(j->id));
	json_object_object_add(o, "run_id", json_object_new_string(j->run_id));
	json_object_object_add(o, "package", str_or_null(j->package));
	json_object_object_add(o, "version", str_or_null(j->version));
	json_object_object_add(o, "state", json_object_new_string(fangs_job_state_name(j->state)));
	json_object_object_add(o, "target_runner", str_or_null(j->target_runner));
	json_object_object_add(o, "runner", str_or_null(j->runner));
	json_object_object_add(o, "attempts", json_object_new_int(j->attempts));
	json_object_object_add(o, "created_ns", json_object_new_int64(j->created_ns));
	json_object_object_add(o, "updated_ns", json_object_new_int64(j->updated_ns));
	return o;
}

json_object *fangs_json_notifier(const fangs_notifier_target *t)
{
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	if (!o || !h) {
		json_object_put(o);
		json_object_put(h);
		return NULL;
	}
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "url", json_object_new_string(t->url));
	json_object_object_add(o, "template", json_object_new_string(t->template_name));
	json_object_object_add(o, "enabled", json_object_new_boolean(t->enabled));
	json_object_object_add(o, "min_severity", json_object_new_string(fangs_severity_name(t->min_severity)));
	json_object_object_add(o, "secret_env", str_or_null(t->secret_env));
	/* values may be credentials: names only */
	for (size_t i = 0; i < t->n_headers; i++)
		json_object_object_add(h, t->headers[i].name, json_object_new_string("(hidden)"));
	json_object_object_add(o, "headers", h);
	json_object_object_add(o, "created_ns", json_object_new_int64(t->created_ns));
	return o;
}

json_object *fangs_json_notification(const fangs_notification *n)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "notifier", str_or_null(n->notifier_name));
	json_object_object_add(o, "run_id", str_or_null(n->run_id));
	json_object_object_add(o, "attempt", json_object_new_int(n->attempt));
	json_object_object_add(o, "status", json_object_new_string(fangs_notification_status_name(n->status)));
	json_object_object_add(o, "http_status", n->http_status ? json_object_new_int(n->http_status) : NULL);
	json_object_object_add(o, "error", str_or_null(n->error));
	json_object_object_add(o, "next_attempt_ns",
			       n->next_attempt_ns ? json_object_new_int64(n->next_attempt_ns) : NULL);
	json_object_object_add(o, "time_ns", json_object_new_int64(n->created_ns));
	return o;
}

json_object *fangs_json_proc_node(const fangs_proc_node *n)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object(), *ch = json_object_new_array();
	if (!o || !c || !ch) {
		json_object_put(o);
		json_object_put(c);
		json_object_put(ch);
		return NULL;
	}
	json_object_object_add(o, "pid", json_object_new_int(n->pid));
	json_object_object_add(o, "ppid", json_object_new_int(n->ppid));
	json_object_object_add(o, "comm", str_or_null(n->comm));
	json_object_object_add(o, "exe", str_or_null(n->exe));
	json_object_object_add(o, "cmdline", str_or_null(n->cmdline));
	json_object_object_add(o, "origin", fangs_json_origin(&n->origin));
	json_object_object_add(o, "start_ns", json_object_new_int64(n->start_ns));
	json_object_object_add(o, "exit_ns", n->has_exit ? json_object_new_int64(n->exit_ns) : NULL);
	json_object_object_add(o, "exit_code", n->has_exit ? json_object_new_int(n->exit_code) : NULL);
	for (int k = 1; k <= FANGS_EV_KIND_MAX; k++)
		if (n->counts[k])
			json_object_object_add(c, fangs_event_kind_name((fangs_event_kind)k),
					       json_object_new_int64(n->counts[k]));
	json_object_object_add(o, "counts", c);
	json_object_object_add(o, "events", json_object_new_int64(n->events));
	json_object_object_add(o, "deviations", json_object_new_int64(n->deviating));
	json_object_object_add(o, "deviates", json_object_new_boolean(n->deviating > 0));
	json_object_object_add(o, "matched", json_object_new_int64(n->matched));
	json_object_object_add(o, "first_event_id", json_object_new_int64(n->first_event_id));
	for (size_t i = 0; i < n->n_children; i++)
		json_object_array_add(ch, json_object_new_int(n->children[i]));
	json_object_object_add(o, "children", ch);
	return o;
}

json_object *fangs_json_fingerprint(const fangs_fingerprint *fp)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "kind", json_object_new_string(fangs_fp_kind_name(fp->kind)));
	json_object_object_add(o, "actor", json_object_new_string(fangs_actor_name(fp->actor)));
	json_object_object_add(o, "value", json_object_new_string(fp->value));
	return o;
}
