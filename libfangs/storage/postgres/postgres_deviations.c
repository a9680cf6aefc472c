/*
 * storage/postgres/postgres_deviations.c - deviations and their evidence in PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

static int put_one(fangs__pg *b, fangs_deviation *d, size_t index)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;

	fangs__pg_str(&p, d->run_id);
	fangs__pg_str(&p, d->package);
	fangs__pg_str(&p, d->kind);
	fangs__pg_i64(&p, d->severity);
	fangs__pg_str(&p, d->value);
	fangs__pg_i64(&p, d->actor);
	fangs__pg_str(&p, d->description);
	fangs__pg_str(&p, d->origin.package);
	fangs__pg_str(&p, d->origin.version);
	fangs__pg_str(&p, d->origin.script);
	fangs__pg_str(&p, d->origin.command);
	fangs__pg_str(&p, d->command);
	fangs__pg_i64(&p, d->created_ns);
	res = fangs__pg_query(b,
			      "INSERT INTO deviations (run_id, package, kind, severity, value, actor, description,"
			      " origin_package, origin_version, origin_script, origin_command, command, created_ns)"
			      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
			      &p, "storing a deviation");
	if (!res) {
		rc = fangs_error_last_code();
		return rc == FANGS_ENOTFOUND
			       ? fangs_error_set(rc, "deviation %zu: run '%s' does not exist", index, d->run_id)
			       : rc;
	}
	d->id = fangs__pg_col_i64(res, 0, 0);
	PQclear(res);

	for (size_t i = 0; i < d->n_evidence; i++) {
		fangs__pg_params e = {0};
		fangs__pg_i64(&e, d->id);
		fangs__pg_i64(&e, (int64_t)i);
		fangs__pg_i64(&e, d->evidence[i]);
		int64_t added = 0;
		/* no foreign key on a partitioned table's id alone: the event is
		 * looked up, among the kept ones too */
		rc = fangs__pg_run(
			b,
			"INSERT INTO deviation_evidence (deviation_id, position, event_id)"
			" SELECT $1, $2, $3::bigint WHERE EXISTS (SELECT 1 FROM events WHERE id = $3::bigint)"
			" OR EXISTS (SELECT 1 FROM evidence_events WHERE id = $3::bigint)",
			&e, "storing evidence", &added);
		if (rc == 0 && added == 0)
			rc = FANGS_ENOTFOUND;
		if (rc == FANGS_ENOTFOUND)
			return fangs_error_set(rc, "deviation %zu: evidence event %lld does not exist", index,
					       (long long)d->evidence[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int fangs__pg_deviations_put(fangs_storage_backend *bb, fangs_deviation *devs, size_t n)
{
	fangs__pg *b = fangs__pg_of(bb);
	int outer, rc;
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_one(b, &devs[i], i);
	return fangs__pg_write_end(b, outer, rc);
}

/* The evidence ids come along as one comma-separated column, in order. */
#define DEV_COLS \
	"d.id, d.run_id, d.package, d.kind, d.severity, d.value, d.actor, d.description," \
	" d.origin_package, d.origin_version, d.origin_script, d.origin_command, d.command," \
	" d.created_ns, (SELECT string_agg(x.event_id::text, ',' ORDER BY x.position)" \
	" FROM deviation_evidence x WHERE x.deviation_id = d.id)"

static int read_evidence(const char *csv, fangs_deviation *d)
{
	size_t cap = 0;
	const char *p = csv;
	while (*p) {
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p)
			break;
		if (fangs__grow((void **)&d->evidence, &cap, d->n_evidence, sizeof(*d->evidence)))
			return FANGS_ENOMEM;
		d->evidence[d->n_evidence++] = v;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int read_deviation(const PGresult *res, int i, fangs_deviation *d)
{
	int rc;
	memset(d, 0, sizeof(*d));
	d->id = fangs__pg_col_i64(res, i, 0);
	d->severity = (fangs_severity)fangs__pg_col_i64(res, i, 4);
	d->actor = (fangs_actor)fangs__pg_col_i64(res, i, 6);
	d->created_ns = fangs__pg_col_i64(res, i, 13);
	if ((rc = fangs__pg_col_str(res, i, 1, &d->run_id)) || (rc = fangs__pg_col_str(res, i, 2, &d->package)) ||
	    (rc = fangs__pg_col_str(res, i, 3, &d->kind)) || (rc = fangs__pg_col_str(res, i, 5, &d->value)) ||
	    (rc = fangs__pg_col_str(res, i, 7, &d->description)) ||
	    (rc = fangs__pg_col_str(res, i, 8, &d->origin.package)) ||
	    (rc = fangs__pg_col_str(res, i, 9, &d->origin.version)) ||
	    (rc = fangs__pg_col_str(res, i, 10, &d->origin.script)) ||
	    (rc = fangs__pg_col_str(res, i, 11, &d->origin.command)) ||
	    (rc = fangs__pg_col_str(res, i, 12, &d->command)) || (rc = read_evidence(PQgetvalue(res, i, 14), d))) {
		fangs_deviation_clear(d);
		return rc;
	}
	return 0;
}

int fangs__pg_deviations_list(fangs_storage_backend *bb, const fangs_deviation_filter *f, fangs_deviation_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;

	fangs__pg_str(&p, f->run_id);
	fangs__pg_str(&p, f->package);
	fangs__pg_i64(&p, f->min_severity);
	if (f->limit)
		fangs__pg_i64(&p, (int64_t)f->limit);
	else
		fangs__pg_str(&p, NULL);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " DEV_COLS " FROM deviations d"
			      " WHERE ($1::text IS NULL OR d.run_id = $1) AND ($2::text IS NULL OR d.package = $2)"
			      " AND d.severity >= $3::int ORDER BY d.id DESC LIMIT $4::bigint",
			      &p, "listing deviations");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		fangs_deviation *d = fangs_deviation_list_push(out);
		if (!d) {
			rc = FANGS_ENOMEM;
			break;
		}
		if ((rc = read_deviation(res, i, d)))
			out->count--;
	}
	PQclear(res);
	return rc;
}

int fangs__pg_deviation_get(fangs_storage_backend *bb, int64_t id, fangs_deviation *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_i64(&p, id);
	res = fangs__pg_query(fangs__pg_of(bb), "SELECT " DEV_COLS " FROM deviations d WHERE d.id = $1", &p,
			      "reading a deviation");
	if (!res)
		return fangs_error_last_code();
	rc = PQntuples(res) ? read_deviation(res, 0, out)
			    : fangs_error_set(FANGS_ENOTFOUND, "deviation %lld does not exist", (long long)id);
	PQclear(res);
	return rc;
}

int fangs__pg_deviations_delete(fangs__pg *b, const char *run_id)
{
	fangs__pg_params p = {0};
	int rc;
	fangs__pg_str(&p, run_id);
	rc = fangs__pg_run(
		b, "DELETE FROM deviation_evidence WHERE deviation_id IN (SELECT id FROM deviations WHERE run_id = $1)",
		&p, "deleting deviations", NULL);
	return rc ? rc : fangs__pg_run(b, "DELETE FROM deviations WHERE run_id = $1", &p, "deleting deviations", NULL);
}

int fangs__pg_deviations_clear(fangs_storage_backend *bb, const char *run_id)
{
	fangs__pg *b = fangs__pg_of(bb);
	int outer, rc;
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	if (!(rc = fangs__pg_run_exists(b, run_id)))
		rc = fangs__pg_deviations_delete(b, run_id);
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_deviation_counts(fangs_storage_backend *bb, int64_t since_ns, int64_t *counts)
{
	fangs__pg_params p = {0};
	PGresult *res;
	fangs__pg_i64(&p, since_ns);
	res = fangs__pg_query(
		fangs__pg_of(bb),
		"SELECT severity, COUNT(*) FROM deviations WHERE created_ns >= $1::bigint GROUP BY severity", &p,
		"counting deviations");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t sev = fangs__pg_col_i64(res, i, 0);
		if (sev >= FANGS_SEV_INFO && sev <= FANGS_SEV_CRITICAL)
			counts[sev] += fangs__pg_col_i64(res, i, 1);
	}
	PQclear(res);
	return 0;
}
