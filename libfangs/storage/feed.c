/*
 * storage/feed.c - what lets several processes share one database:
 * leadership (one of them runs the work that must run once) and the
 * positions of followed change feeds. Argument checks in front of the
 * backends.
 */
#include <stdlib.h>

#include "core/internal.h"
#include "storage/internal.h"

static int nonempty(const char *s)
{
	return s && *s;
}

int fangs_storage_leader_try(fangs_storage *st, int *leader)
{
	fangs_storage_backend *b;
	NEED(st, "leader_try", "storage handle is NULL");
	NEED(leader, "leader_try", "leader is NULL");
	*leader = 0;
	b = fangs__storage_backend_of(st);
	/* a backend without the notion serves one process: it leads */
	if (b->version < 3 || !b->leader_try) {
		*leader = 1;
		return 0;
	}
	FANGS__STORAGE_RETRY(st, b, "leader_try", b->leader_try(b, leader));
}

int fangs_storage_leader_release(fangs_storage *st)
{
	fangs_storage_backend *b;
	NEED(st, "leader_release", "storage handle is NULL");
	b = fangs__storage_backend_of(st);
	if (b->version < 3 || !b->leader_release)
		return 0;
	return b->leader_release(b);
}

int fangs_storage_feed_get(fangs_storage *st, const char *feed, char **seq)
{
	fangs_storage_backend *b;
	NEED(nonempty(feed), "feed_get", "feed name is NULL or empty");
	NEED(seq, "feed_get", "seq is NULL");
	*seq = NULL;
	NEED(st, "feed_get", "storage handle is NULL");
	b = fangs__storage_backend_of(st);
	if (b->version < 3)
		return fangs_error_set(FANGS_EUNSUPPORTED, "fangs_storage_feed_get: the %s backend does not support it",
				       b->name);
	CALL(st, feed_get, "feed_get", feed, seq);
}

int fangs_storage_feed_advance(fangs_storage *st, const char *feed, const char *from, const char *to)
{
	fangs_storage_backend *b;
	NEED(nonempty(feed), "feed_advance", "feed name is NULL or empty");
	NEED(nonempty(to), "feed_advance", "the new position is NULL or empty");
	NEED(st, "feed_advance", "storage handle is NULL");
	b = fangs__storage_backend_of(st);
	if (b->version < 3)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_feed_advance: the %s backend does not support it", b->name);
	CALL(st, feed_advance, "feed_advance", feed, from, to);
}
