/*
 * tools/ui/ui.c - answers for the UI's paths from the embedded assets.
 * Every answer carries a strict Content-Security-Policy: scripts and
 * styles only from this origin, no inline code, no frames, so that text
 * from the database that reached the DOM by mistake still could not run.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "ui.h"

#define UI_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

int ui_is_path(const char *url)
{
	if (url && !strncmp(url, "/runs/", 6))
		return 1;
	return url && !strncmp(url, "/ui", 3) && (url[3] == '\0' || url[3] == '/' || url[3] == '?');
}

const ui_asset *ui_asset_named(const char *name)
{
	for (const ui_asset *a = ui_assets; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static void common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
}

static struct MHD_Response *text(const char *msg)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		common_headers(r);
	}
	return r;
}

struct MHD_Response *ui_response(struct MHD_Connection *c, const char *method, const char *url, unsigned *status)
{
	const ui_asset *a;
	const char *inm;
	struct MHD_Response *r;
	size_t len = strcspn(url, "?");

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		*status = MHD_HTTP_METHOD_NOT_ALLOWED;
		if ((r = text("the UI's pages are read with GET\n")))
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		return r;
	}
	if (!strncmp(url, "/runs/", 6)) {
		/* a notifier's link when notifier.public_url names the server,
		 * not its /ui/: <public_url>/runs/<id> */
		char loc[512];
		*status = MHD_HTTP_FOUND;
		if ((size_t)snprintf(loc, sizeof(loc), "/ui%.*s", (int)len, url) >= sizeof(loc))
			return (*status = MHD_HTTP_NOT_FOUND, text("no such run\n"));
		if ((r = text("see the run's page\n")))
			MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
		return r;
	}
	if (len == 3) {
		*status = MHD_HTTP_MOVED_PERMANENTLY;
		if ((r = text("see /ui/\n")))
			MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/ui/");
		return r;
	}
	if (!strncmp(url, "/ui/assets/", 11)) {
		char name[128];
		size_t n = len - 11;
		a = NULL;
		if (n < sizeof(name)) {
			memcpy(name, url + 11, n);
			name[n] = '\0';
			a = ui_asset_named(name);
		}
		if (!a) {
			*status = MHD_HTTP_NOT_FOUND;
			return text("no such asset\n");
		}
	} else {
		a = ui_asset_named("index.html");
	}
	inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm && strstr(inm, a->etag)) {
		*status = MHD_HTTP_NOT_MODIFIED;
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		*status = MHD_HTTP_OK;
		r = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	}
	if (!r)
		return NULL;
	/* small files: always asked again, answered 304 while unchanged */
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	common_headers(r);
	return r;
}
