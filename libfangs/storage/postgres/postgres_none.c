/*
 * storage/postgres/postgres_none.c - the PostgreSQL backend of a build without libpq.
 */
#include "storage/internal.h"

int fangs_storage_backend_postgres_new(fangs_storage_backend **out, const fangs_storage_options *opts)
{
	(void)opts;
	if (out)
		*out = NULL;
	return fangs_error_set(FANGS_EUNSUPPORTED,
			       "postgres storage: this fangs was built without PostgreSQL support (libpq); "
			       "rebuild with -Dpostgres=enabled or use the sqlite backend");
}
