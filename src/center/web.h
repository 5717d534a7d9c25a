/*
 * web.h — the web client's static files, served by seam-center.
 *
 * The web client (web/ in the repository) is plain HTML, CSS and JavaScript
 * modules: the center only hands out its files. GET / is web/index.html and
 * GET /ui/PATH is web/PATH. These routes are public — the page must load
 * before anyone has signed in — and everything the page then asks of the
 * API carries the operator's token like any other client. The files are
 * read from one directory (web_init): --web-dir, or the web/ directory of
 * the source tree when the binary runs from its build tree
 * (dirname(binary)/../web).
 */
#ifndef SEAM_CENTER_WEB_H
#define SEAM_CENTER_WEB_H

#include "err.h"
#include "httpd.h"

/* Choose the directory (NULL: next to the binary). A missing default is
 * not an error: the pages then answer 404 saying so. */
int web_init(const char *dir, struct seam_err *e);
/* The directory in use ("" when none). */
const char *web_dir(void);

void web_serve(struct httpd_req *req);

/* The routes, for the center's routing table (public, GET only; up to
 * four directory levels under /ui/). */
#define WEB_ROUTES                                                             \
	{"GET", "/", web_serve, NULL, HTTPD_ROUTE_PUBLIC, 0},                     \
	    {"GET", "/ui/{p1}", web_serve, NULL, HTTPD_ROUTE_PUBLIC, 0},          \
	    {"GET", "/ui/{p1}/{p2}", web_serve, NULL, HTTPD_ROUTE_PUBLIC, 0},     \
	    {"GET", "/ui/{p1}/{p2}/{p3}", web_serve, NULL,                     \
	     HTTPD_ROUTE_PUBLIC, 0},                                              \
	{                                                                      \
		"GET", "/ui/{p1}/{p2}/{p3}/{p4}", web_serve, NULL,             \
		    HTTPD_ROUTE_PUBLIC, 0 \
	}

#endif
