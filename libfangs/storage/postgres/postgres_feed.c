/*
 * storage/postgres/postgres_feed.c - leadership and change feed positions in
 * PostgreSQL.
 *
 * The leader holds a session advisory lock: the server frees it when the
 * session ends (the process died, the connection was cut, the server
 * restarted), and the next process that tries takes it. Each try checks
 * pg_locks first, so a handle that holds the lock does not stack it, and
 * one whose connection was made again (lock gone) takes it anew if it is
 * free.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/postgres/postgres_internal.h"

/* The lock's two keys: "fang" and 1 (the migration lock is another key). */
#define LEADER_KEY1 "1717661287"
#define LEADER_KEY2 "1"

int fangs__pg_leader_try(fangs_storage_backend *bb, int *leader)
{
	fangs__pg *b = fangs__pg_of(bb);
	PGresult *res = fangs__pg_query(b,
					"SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
					" AND pid = pg_backend_pid() AND classid = " LEADER_KEY1
					"::oid AND objid = " LEADER_KEY2 "::oid"
					" AND objsubid = 2 AND granted) THEN true"
					" ELSE pg_try_advisory_lock(" LEADER_KEY1 ", " LEADER_KEY2 ") END",
					NULL, "trying the leader lock");
	if (!res)
		return fangs_error_last_code();
	*leader = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

int fangs__pg_leader_release(fangs_storage_backend *bb)
{
	fangs__pg *b = fangs__pg_of(bb);
	/* a lost connection took the lock with it */
	if (PQstatus(b->conn) != CONNECTION_OK)
		return 0;
	return fangs__pg_run(b, "SELECT pg_advisory_unlock(" LEADER_KEY1 ", " LEADER_KEY2 ")", NULL,
			     "releasing the leader lock", NULL);
}

int fangs__pg_feed_get(fangs_storage_backend *bb, const char *feed, char **seq)
{
	fangs__pg_params p = {0};
	PGresult *res;
	int rc = 0;
	fangs__pg_str(&p, feed);
	if (!(res = fangs__pg_query(fangs__pg_of(bb), "SELECT seq FROM feeds WHERE name = $1", &p,
				    "reading a feed position")))
		return fangs_error_last_code();
	if (PQntuples(res))
		rc = fangs__pg_col_str(res, 0, 0, seq);
	PQclear(res);
	return rc;
}

int fangs__pg_feed_advance(fangs_storage_backend *bb, const char *feed, const char *from, const char *to)
{
	fangs__pg *b = fangs__pg_of(bb);
	fangs__pg_params p = {0};
	int64_t n = 0;
	int outer, rc;

	if ((rc = fangs__pg_write_begin(b, &outer)))
		return rc;
	fangs__pg_str(&p, feed);
	fangs__pg_str(&p, from);
	fangs__pg_str(&p, to);
	fangs__pg_i64(&p, fangs__now_ns());
	/* a concurrent mover's row lock makes this wait for its outcome, then
	 * see its position: one of the two moves, the other gets EBUSY */
	rc = fangs__pg_run(b,
			   from ? "UPDATE feeds SET seq = $3, updated_ns = $4 WHERE name = $1 AND seq = $2"
				: "INSERT INTO feeds (name, seq, updated_ns) SELECT $1, $3, $4 WHERE $2::text IS NULL"
				  " ON CONFLICT (name) DO NOTHING",
			   &p, "moving a feed position", &n);
	if (rc == 0 && n == 0)
		rc = fangs_error_set(FANGS_EBUSY, "feed %s: its position is no longer %s (moved by another)", feed,
				     from ? from : "unset");
	return fangs__pg_write_end(b, outer, rc);
}
