/*
 * storage/sqlite/sqlite_feed.c - change feed positions in SQLite. One process
 * uses a database file, so it is always the leader (no leader_try).
 */
#include <stdlib.h>

#include "storage/sqlite/sqlite_internal.h"

int fangs__sq_feed_get(fangs_storage_backend *bb, const char *feed, char **seq)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st = fangs__sq_stmt(b, "SELECT seq FROM feeds WHERE name = ?1");
	int rc;
	if (!st)
		return fangs_error_last_code();
	sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = fangs__sq_col_str(st, 0, seq);
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = fangs__sq_fail(b, rc, "reading a feed position");
	sqlite3_reset(st);
	return rc;
}

int fangs__sq_feed_advance(fangs_storage_backend *bb, const char *feed, const char *from, const char *to)
{
	fangs__sq *b = fangs__sq_of(bb);
	sqlite3_stmt *st;
	int outer, rc;

	if ((rc = fangs__sq_write_begin(b, &outer)))
		return rc;
	st = fangs__sq_stmt(b, from ? "UPDATE feeds SET seq = ?3, updated_ns = ?4 WHERE name = ?1 AND seq = ?2"
				    : "INSERT INTO feeds (name, seq, updated_ns) VALUES (?1, ?3, ?4)"
				      " ON CONFLICT (name) DO NOTHING");
	if (!st) {
		rc = fangs_error_last_code();
	} else {
		sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
		if (from)
			sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, fangs__now_ns());
		if (!(rc = fangs__sq_step_done(b, st, "moving a feed position")) && sqlite3_changes64(b->db) == 0)
			rc = fangs_error_set(FANGS_EBUSY, "feed %s: its position is no longer %s (moved by another)",
					     feed, from ? from : "unset");
	}
	return fangs__sq_write_end(b, outer, rc);
}
