/*
 * tools/ui/ui.h - the web UI's files, compiled into the binary (embed.py
 * makes the table from tools/ui/assets), and their answers over HTTP.
 * Served under /ui/ by fangs-orchestrator and by `fangs ui`; the pages
 * read everything else through the /v1 API with its own credentials.
 */
#ifndef FANGS_TOOLS_UI_H
#define FANGS_TOOLS_UI_H

#include <stddef.h>

typedef struct ui_asset {
	const char *name; /* "app.js": served as /ui/assets/app.js */
	const char *type; /* Content-Type */
	const char *etag; /* quoted, from the content's hash */
	const unsigned char *data;
	size_t len;
} ui_asset;

/* Every asset; the last entry's name is NULL. */
extern const ui_asset ui_assets[];

/* 1 when `url` is the UI's: /ui, anything under /ui/, and /runs/ID (a
 * run's link in notifier messages, <notifier.public_url>/runs/ID). */
int ui_is_path(const char *url);
/* The asset named NAME (no directory), or NULL. */
const ui_asset *ui_asset_named(const char *name);

struct MHD_Connection;
struct MHD_Response;

/* The answer to a request for a UI path: /ui/assets/NAME is that asset
 * (404 when there is none), /ui is a redirect to /ui/, /runs/ID to
 * /ui/runs/ID, and every other
 * path under /ui/ is index.html, so that a page's address can be pasted
 * (the page's script reads the path). GET and HEAD only (else 405).
 * Answers 304 to a matching If-None-Match. Sets *status; NULL when out of
 * memory. */
struct MHD_Response *ui_response(struct MHD_Connection *c, const char *method, const char *url, unsigned *status);

#endif
