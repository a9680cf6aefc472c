/*
 * tools/fangs/ui_api.h - the /v1 API as `fangs ui` answers it: the
 * orchestrator's read and review endpoints on the local storage, with the
 * operator role (the one user holds the token).
 */
#ifndef FANGS_TOOLS_UI_API_H
#define FANGS_TOOLS_UI_API_H

#include <stddef.h>

#include <fangs/fangs.h>

struct MHD_Connection;

/* The answer to METHOD URL (query parameters read from `c`) with `body`:
 * *status and a JSON document in *json (malloc'd; the caller frees it). */
void ui_api_answer(fangs_storage *st, const fangs_config *cfg, struct MHD_Connection *c, const char *method,
		   const char *url, const char *body, size_t len, unsigned *status, char **json);

#endif
