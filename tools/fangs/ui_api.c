/*
 * tools/fangs/ui_api.c - `fangs ui`'s /v1 API.
 */
#include <stdlib.h>
#include <string.h>

#include "ui_api.h"

void ui_api_answer(fangs_storage *st, const fangs_config *cfg, struct MHD_Connection *c, const char *method,
		   const char *url, const char *body, size_t len, unsigned *status, char **json)
{
	(void)st;
	(void)cfg;
	(void)c;
	(void)method;
	(void)url;
	(void)body;
	(void)len;
	*status = 404;
	*json = strdup("{\"error\":\"no such endpoint\"}");
}
