/*
 * tests/storage/backends.c - the backends the contract suite runs against.
 * A new backend adds its factory file and one line here.
 */
#include "backends.h"
#include "fangs-build-config.h"

const test_backend *const test_backends[] = {
	&test_backend_sqlite,
#if FANGS_HAVE_POSTGRES
	&test_backend_postgres,
#endif
};

const size_t n_test_backends = sizeof(test_backends) / sizeof(test_backends[0]);
