/*
 * The console's files, the API documentation page and the OpenAPI
 * document.  Only the names in api_static_files are ever opened, and the
 * path is built from web_dir and that fixed name, never from the request,
 * so no request can reach another file.
 *
 * Two layouts are served: the installed one, where every file sits flat
 * in web_dir (automake's dist_web_DATA), and the source tree's, where the
 * console lives in web_dir/console/ and the documentation page in
 * web_dir/docs/, next to web_dir/openapi.json.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/err.h"
#include "src/log.h"
#include "web/api_internal.h"

#define API_STATIC_MAX	(4 * 1024 * 1024)	/* largest file served */

/* The pages refuse to be framed and load only their own files; the
 * documentation page keeps its styles inline, to be one file. */
#define API_STATIC_CSP	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
			"form-action 'self'"
#define API_DOCS_CSP	"default-src 'self'; style-src 'self' 'unsafe-inline'; " \
			"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

enum api_static_area { API_AREA_CONSOLE, API_AREA_DOCS, API_AREA_API };

struct api_static_file {
	const char		*name;
	const char		*type;
	enum api_static_area	 area;	/* the route family that serves it */
	const char		*subdir; /* its folder in the source tree */
	const char		*csp;	/* Content-Security-Policy, or NULL */
};

static const struct api_static_file api_static_files[] = {
	{ "index.html",	"text/html; charset=utf-8",	  API_AREA_CONSOLE, "console",
	    API_STATIC_CSP },
	{ "app.js",	"text/javascript; charset=utf-8", API_AREA_CONSOLE, "console", NULL },
	{ "style.css",	"text/css; charset=utf-8",	  API_AREA_CONSOLE, "console", NULL },
	{ "docs.html",	"text/html; charset=utf-8",	  API_AREA_DOCS, "docs",
	    API_DOCS_CSP },
	{ "docs.js",	"text/javascript; charset=utf-8", API_AREA_DOCS, "docs", NULL },
	{ "openapi.json", "application/json",		  API_AREA_API, ".", NULL },
};

/* Reads web_dir/name, else web_dir/subdir/name, into a new buffer.
 * 0, ERR_NOTFOUND, ERR_IO, ERR_TOOBIG or ERR_NOMEM. */
static int
api_static_load(struct api_req *r, const char *subdir, const char *name, char **out,
    size_t *len)
{
	const char	*subdirs[] = { ".", subdir };
	const char	*web_dir = r->api->web_dir;
	struct stat	 st;
	char		 path[4096], *buf;
	FILE		*fp = NULL;
	size_t		 i, got;

	for (i = 0; i < sizeof subdirs / sizeof subdirs[0] && fp == NULL; i++) {
		snprintf(path, sizeof path, "%s/%s/%s", web_dir, subdirs[i], name);
		fp = fopen(path, "rb");
		if (fp == NULL && errno != ENOENT && errno != ENOTDIR) {
			log_warn("HTTPFILE", "%s: %s rid=%s", path, strerror(errno),
			    r->request_id);
			return ERR_IO;
		}
	}
	if (fp == NULL)
		return ERR_NOTFOUND;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return ERR_NOTFOUND;
	}
	if (st.st_size > API_STATIC_MAX) {
		fclose(fp);
		return ERR_TOOBIG;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(fp);
		return ERR_NOMEM;
	}
	got = fread(buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		log_warn("HTTPFILE", "%s: read error rid=%s", path, r->request_id);
		fclose(fp);
		free(buf);
		return ERR_IO;
	}
	fclose(fp);
	*out = buf;
	*len = got;
	return 0;
}

/* Serves one of api_static_files by name (only those of area), or 404. */
static void
api_static_serve(struct api_req *r, const char *name, enum api_static_area area)
{
	const struct api_static_file	*f = NULL;
	char				*buf = NULL;
	size_t				 len = 0, i;
	int				 rc;

	for (i = 0; i < sizeof api_static_files / sizeof api_static_files[0]; i++)
		if (strcmp(name, api_static_files[i].name) == 0)
			f = &api_static_files[i];
	if (f == NULL || f->area != area) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no such file: %.64s", name);
		return;
	}
	if ((rc = api_static_load(r, f->subdir, f->name, &buf, &len)) != 0) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "%s is not installed in %s",
			    f->name, r->api->web_dir);
		else
			api_reply_error(r, rc, NULL, "cannot read %s", f->name);
		return;
	}
	if (f->csp != NULL)
		api_header_add(r, "Content-Security-Policy", "%s", f->csp);
	api_reply_raw(r, 200, f->type, buf, len);
	free(buf);
}

/* The file the request names: its {file} segment (NULL if too long to be
 * one), or def on the routes without one ("/console/", "/docs"). */
static const char *
api_static_name(const struct api_req *r, const char *def)
{
	if (r->route == NULL || strchr(r->route->pattern, '{') == NULL)
		return def;
	return r->params[0][0] != '\0' ? r->params[0] : NULL;
}

void
api_static_console(struct api_req *r)
{
	const char	*name = api_static_name(r, "index.html");

	if (name == NULL)
		api_reply_error(r, ERR_NOTFOUND, NULL, "no such file");
	else
		api_static_serve(r, name, API_AREA_CONSOLE);
}

void
api_static_docs(struct api_req *r)
{
	const char	*name = api_static_name(r, "docs.html");

	if (name == NULL)
		api_reply_error(r, ERR_NOTFOUND, NULL, "no such file");
	else
		api_static_serve(r, name, API_AREA_DOCS);
}

void
api_static_openapi(struct api_req *r)
{
	api_static_serve(r, "openapi.json", API_AREA_API);
}
