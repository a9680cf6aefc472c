/*
 * storage/postgres/postgres_allow.c - allowlist entries in PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

int fangs__pg_allow_add(fangs_storage_backend *bb, fangs_allow_entry *entry)
{
	fangs__pg_params p = {0};
	PGresult *res;
	fangs__pg_i64(&p, entry->kind);
	fangs__pg_str(&p, entry->value);
	fangs__pg_str(&p, entry->package);
	fangs__pg_str(&p, entry->note);
	fangs__pg_i64(&p, entry->created_ns);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "INSERT INTO allowlists (kind, value, package, note, created_ns)"
			      " VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      &p, "adding an allowlist entry");
	if (!res)
		return fangs_error_last_code();
	entry->id = fangs__pg_col_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

int fangs__pg_allow_list(fangs_storage_backend *bb, const char *package, fangs_allow_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;
	fangs__pg_str(&p, package);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT id, kind, value, package, note, created_ns FROM allowlists"
			      " WHERE $1::text IS NULL OR package IS NULL OR package = $1 ORDER BY id",
			      &p, "listing allowlist entries");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		fangs_allow_entry *e;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			break;
		}
		e = &out->items[out->count];
		memset(e, 0, sizeof(*e));
		e->id = fangs__pg_col_i64(res, i, 0);
		e->kind = (fangs_allow_kind)fangs__pg_col_i64(res, i, 1);
		e->created_ns = fangs__pg_col_i64(res, i, 5);
		if ((rc = fangs__pg_col_str(res, i, 2, &e->value)) ||
		    (rc = fangs__pg_col_str(res, i, 3, &e->package)) || (rc = fangs__pg_col_str(res, i, 4, &e->note))) {
			free(e->value);
			free(e->package);
			memset(e, 0, sizeof(*e));
			break;
		}
		out->count++;
	}
	PQclear(res);
	return rc;
}

int fangs__pg_allow_remove(fangs_storage_backend *bb, int64_t id)
{
	fangs__pg_params p = {0};
	int64_t n = 0;
	int rc;
	fangs__pg_i64(&p, id);
	if ((rc = fangs__pg_run(fangs__pg_of(bb), "DELETE FROM allowlists WHERE id = $1", &p,
				"removing an allowlist entry", &n)))
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "allowlist entry %lld does not exist", (long long)id);
}
