/*
 * tools/fangs/ui_api.c - `fangs ui`'s /v1 API: the orchestrator's handlers
 * (tools/common/webapi.c) on the local storage, as the operator (the one
 * user who holds the token). The token is a bearer credential, so writes
 * need no CSRF token (a page of another site cannot send it).
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_api.h"
#include "webapi.h"

static const char *query_arg(void *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

void ui_api_answer(fangs_storage *st, const fangs_config *cfg, struct MHD_Connection *c, const char *method,
		   const char *url, const char *body, size_t len, unsigned *status, char **json)
{
	webapi_request rq = {0};
	webapi_response rs = {0};

	(void)cfg;
	if (webapi_route(method, url) == WEBAPI_NONE) {
		*status = 404;
		*json = strdup("{\"error\":\"no such endpoint\"}");
		return;
	}
	rq.method = method;
	rq.path = url;
	rq.arg = query_arg;
	rq.arg_ctx = c;
	rq.body = body;
	rq.len = len;
	rq.may_write = 1;
	rq.actor = "fangs ui";
	webapi_handle(st, &rq, &rs);
	if (rs.change[0])
		fprintf(stderr, "fangs ui: %s\n", rs.change);
	*status = rs.status;
	*json = rs.body;
}
