/*
 * fangs/encode.h - records as JSON objects: the one shape of every record
 * that `fangs ... --json` prints and the HTTP API answers.
 *
 * Each function returns a new json-c object (json_object_put() releases
 * it), or NULL when out of memory. The header does not include json-c:
 * a caller that uses these includes <json-c/json.h> itself. Text from
 * outside is copied as it is; the caller makes the serialized form valid
 * UTF-8 (fangs_utf8_clean) before it leaves the process.
 */
#ifndef FANGS_ENCODE_H
#define FANGS_ENCODE_H

#include "common.h"
#include "findings.h"
#include "rules.h"
#include "storage.h"

FANGS_BEGIN_DECL

struct json_object;

/** A run: id, package, version, state, review, counts, times... */
FANGS_EXTERN(struct json_object *) fangs_json_run(const fangs_run *r);
FANGS_EXTERN(struct json_object *) fangs_json_deviation(const fangs_deviation *d);
/** An event as docs/events.md describes it (with id and run when set). */
FANGS_EXTERN(struct json_object *) fangs_json_event(const fangs_event *ev);
FANGS_EXTERN(struct json_object *) fangs_json_package(const fangs_package *p);
FANGS_EXTERN(struct json_object *) fangs_json_release(const fangs_release *r);
FANGS_EXTERN(struct json_object *) fangs_json_allow(const fangs_allow_entry *a);
FANGS_EXTERN(struct json_object *) fangs_json_finding(const fangs_finding *fi);
/** Adds "findings" (an array of fangs_json_finding) and "counts"
 * ({findings, deviations, rule_hits}) to the object `o`. */
FANGS_EXTERN(void) fangs_json_add_findings(struct json_object *o, const fangs_finding_list *fl);
FANGS_EXTERN(struct json_object *) fangs_json_rule(const fangs_rule_info *r);
FANGS_EXTERN(struct json_object *) fangs_json_runner(const fangs_runner *r);
FANGS_EXTERN(struct json_object *) fangs_json_job(const fangs_job *j);
/** A notifier target; its headers' values are never shown ("(hidden)"). */
FANGS_EXTERN(struct json_object *) fangs_json_notifier(const fangs_notifier_target *t);
FANGS_EXTERN(struct json_object *) fangs_json_notification(const fangs_notification *n);
/** A process of a run's tree: pid, ppid, comm, exe, cmdline, origin,
 * counts by kind (only kinds it has), deviations, children... */
FANGS_EXTERN(struct json_object *) fangs_json_proc_node(const fangs_proc_node *n);
/** A baseline or run fingerprint: kind, actor, value. */
FANGS_EXTERN(struct json_object *) fangs_json_fingerprint(const fangs_fingerprint *fp);
/** An origin (package, version, script, command); NULL when it has none. */
FANGS_EXTERN(struct json_object *) fangs_json_origin(const fangs_origin *og);

FANGS_END_DECL

#endif
