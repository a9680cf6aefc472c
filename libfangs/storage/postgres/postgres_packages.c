/*
 * storage/postgres/postgres_packages.c - packages and releases in PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

static int read_packages(PGresult *res, fangs_package_list *list, fangs_package *one)
{
	for (int i = 0; i < PQntuples(res); i++) {
		fangs_package *p;
		int rc;
		if (one) {
			p = one;
		} else {
			if (FANGS_GROW(list))
				return FANGS_ENOMEM;
			p = &list->items[list->count];
		}
		memset(p, 0, sizeof(*p));
		if ((rc = fangs__pg_col_str(res, i, 0, &p->name)) ||
		    (rc = fangs__pg_col_str(res, i, 2, &p->last_seen_version))) {
			fangs_package_clear(p);
			return rc;
		}
		p->watched = (int)fangs__pg_col_i64(res, i, 1);
		p->created_ns = fangs__pg_col_i64(res, i, 3);
		p->run_count = fangs__pg_col_i64(res, i, 4);
		p->baseline_size = fangs__pg_col_i64(res, i, 5);
		if (one)
			return 0;
		list->count++;
	}
	return 0;
}

int fangs__pg_package_upsert(fangs_storage_backend *bb, const char *name, int watched)
{
	fangs__pg_params p = {0};
	fangs__pg_str(&p, name);
	fangs__pg_i64(&p, watched);
	fangs__pg_i64(&p, fangs__now_ns());
	return fangs__pg_run(fangs__pg_of(bb),
			     "INSERT INTO packages (name, watched, created_ns) VALUES ($1, GREATEST($2::int, 0), $3)"
			     " ON CONFLICT (name) DO UPDATE SET"
			     " watched = CASE WHEN $2::int >= 0 THEN $2::int ELSE packages.watched END",
			     &p, "upserting a package", NULL);
}

int fangs__pg_package_get(fangs_storage_backend *bb, const char *name, fangs_package *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_str(&p, name);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " FANGS__STORAGE_PACKAGE_COLS " FROM packages p WHERE p.name = $1", &p,
			      "reading a package");
	if (!res)
		return fangs_error_last_code();
	rc = PQntuples(res) ? read_packages(res, NULL, out)
			    : fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
	PQclear(res);
	return rc;
}

int fangs__pg_package_list(fangs_storage_backend *bb, int watched_only, fangs_package_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc;
	fangs__pg_i64(&p, watched_only ? 1 : 0);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT " FANGS__STORAGE_PACKAGE_COLS
			      " FROM packages p WHERE $1::int = 0 OR p.watched = 1 ORDER BY p.name",
			      &p, "listing packages");
	if (!res)
		return fangs_error_last_code();
	rc = read_packages(res, out, NULL);
	PQclear(res);
	return rc;
}

int fangs__pg_package_set_last_seen(fangs_storage_backend *bb, const char *name, const char *version)
{
	fangs__pg_params p = {0};
	int64_t n = 0;
	int rc;
	fangs__pg_str(&p, name);
	fangs__pg_str(&p, version);
	if ((rc = fangs__pg_run(fangs__pg_of(bb), "UPDATE packages SET last_seen_version = $2 WHERE name = $1", &p,
				"setting the last seen version", &n)))
		return rc;
	return n ? 0 : fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
}

/* Children before parents, so that the foreign keys hold at every step. */
static const char *const reset_sql[] = {
	("DELETE FROM deviation_evidence WHERE deviation_id IN"
	 " (SELECT d.id FROM deviations d JOIN runs r ON r.id = d.run_id WHERE r.package = $1)"),
	"DELETE FROM deviations WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM notifications WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM run_fingerprints WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM events WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM run_processes WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM evidence_events WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM event_batches WHERE run_id IN (SELECT id FROM runs WHERE package = $1)",
	"DELETE FROM jobs WHERE package = $1",
	"DELETE FROM runs WHERE package = $1",
	"DELETE FROM baseline_fingerprints WHERE package = $1",
	"DELETE FROM releases WHERE package = $1",
};

static const char *const remove_sql[] = {
	"DELETE FROM allowlists WHERE package = $1",
	"DELETE FROM packages WHERE name = $1",
};

static int reset_or_remove(fangs__pg *b, const char *name, int remove)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int outer, rc;

	fangs__pg_str(&p, name);
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	/* FOR UPDATE: a concurrent scan of this package waits until we are done */
	res = fangs__pg_query(b, "SELECT 1 FROM packages WHERE name = $1 FOR UPDATE", &p, "looking up a package");
	if (!res)
		rc = fangs_error_last_code();
	else if (PQntuples(res) == 0)
		rc = fangs_error_set(FANGS_ENOTFOUND, "package '%s' is not known", name);
	PQclear(res);
	for (size_t i = 0; rc == 0 && i < FANGS_ARRAY_SIZE(reset_sql); i++)
		rc = fangs__pg_run(b, reset_sql[i], &p, "resetting a package", NULL);
	for (size_t i = 0; rc == 0 && remove && i < FANGS_ARRAY_SIZE(remove_sql); i++)
		rc = fangs__pg_run(b, remove_sql[i], &p, "removing a package", NULL);
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_package_reset(fangs_storage_backend *bb, const char *name)
{
	return reset_or_remove(fangs__pg_of(bb), name, 0);
}

int fangs__pg_package_remove(fangs_storage_backend *bb, const char *name)
{
	return reset_or_remove(fangs__pg_of(bb), name, 1);
}

int fangs__pg_release_ensure(fangs__pg *b, const char *package, const char *version)
{
	fangs__pg_params p = {0}, k = {0};
	int64_t now = fangs__now_ns();
	int rc;
	fangs__pg_str(&k, package);
	fangs__pg_i64(&k, now);
	fangs__pg_str(&p, package);
	fangs__pg_str(&p, version);
	fangs__pg_i64(&p, now);
	if ((rc = fangs__pg_run(b,
				"INSERT INTO packages (name, watched, created_ns) VALUES ($1, 0, $2)"
				" ON CONFLICT (name) DO NOTHING",
				&k, "adding a package", NULL)))
		return rc;
	return fangs__pg_run(b,
			     "INSERT INTO releases (package, version, first_seen_ns) VALUES ($1, $2, $3)"
			     " ON CONFLICT (package, version) DO NOTHING",
			     &p, "adding a release", NULL);
}

int fangs__pg_release_add(fangs_storage_backend *bb, const char *package, const char *version)
{
	fangs__pg *b = fangs__pg_of(bb);
	int outer, rc;
	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	rc = fangs__pg_release_ensure(b, package, version);
	return fangs__pg_write_end(b, outer, rc);
}

int fangs__pg_release_list(fangs_storage_backend *bb, const char *package, fangs_release_list *out)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;

	fangs__pg_str(&p, package);
	res = fangs__pg_query(fangs__pg_of(bb),
			      "SELECT l.package, l.version, l.first_seen_ns,"
			      " (SELECT COUNT(*) FROM runs r WHERE r.package = l.package AND r.version = l.version)"
			      " FROM releases l WHERE $1::text IS NULL OR l.package = $1"
			      " ORDER BY l.first_seen_ns DESC, l.package, l.version DESC",
			      &p, "listing releases");
	if (!res)
		return fangs_error_last_code();
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		fangs_release *r;
		if (FANGS_GROW(out)) {
			rc = FANGS_ENOMEM;
			break;
		}
		r = &out->items[out->count];
		memset(r, 0, sizeof(*r));
		if ((rc = fangs__pg_col_str(res, i, 0, &r->package)) ||
		    (rc = fangs__pg_col_str(res, i, 1, &r->version))) {
			free(r->package);
			r->package = NULL;
			break;
		}
		r->first_seen_ns = fangs__pg_col_i64(res, i, 2);
		r->run_count = fangs__pg_col_i64(res, i, 3);
		out->count++;
	}
	PQclear(res);
	return rc;
}
