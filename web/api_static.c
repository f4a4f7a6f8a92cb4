/*
 * The console's files and the OpenAPI document.  Only the names in
 * api_static_files are ever opened, and the path is built from web_dir and
 * that fixed name, never from the request, so no request can reach another
 * file.
 *
 * Two layouts are served: the installed one, where every file sits flat
 * in web_dir (automake's dist_web_DATA), and the source tree's, where the
 * console lives in web_dir/console/ next to web_dir/openapi.json.
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

/* The console's page refuses to be framed and loads only its own files. */
#define API_STATIC_CSP	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
			"form-action 'self'"

struct api_static_file {
	const char	*name;
	const char	*type;
	bool		 console;	/* served under /console/ */
};

static const struct api_static_file api_static_files[] = {
	{ "index.html",		"text/html; charset=utf-8",		true },
	{ "app.js",		"text/javascript; charset=utf-8",	true },
	{ "style.css",		"text/css; charset=utf-8",		true },
	{ "openapi.json",	"application/json",			false },
};

/* Reads web_dir/name, else web_dir/console/name, into a new buffer.
 * 0, ERR_NOTFOUND, ERR_IO, ERR_TOOBIG or ERR_NOMEM. */
static int
api_static_load(const char *web_dir, const char *name, char **out, size_t *len)
{
	static const char *const subdirs[] = { "", "console/" };
	struct stat	 st;
	char		 path[4096], *buf;
	FILE		*fp = NULL;
	size_t		 i, got;

	for (i = 0; i < sizeof subdirs / sizeof subdirs[0] && fp == NULL; i++) {
		snprintf(path, sizeof path, "%s/%s%s", web_dir, subdirs[i], name);
		fp = fopen(path, "rb");
		if (fp == NULL && errno != ENOENT && errno != ENOTDIR) {
			log_warn("HTTPFILE", "%s: %s", path, strerror(errno));
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
		log_warn("HTTPFILE", "%s: read error", path);
		fclose(fp);
		free(buf);
		return ERR_IO;
	}
	fclose(fp);
	*out = buf;
	*len = got;
	return 0;
}

/* Serves one of api_static_files by name (only console files if console),
 * or 404. */
static void
api_static_serve(struct api_req *r, const char *name, bool console)
{
	const struct api_static_file	*f = NULL;
	char				*buf = NULL;
	size_t				 len = 0, i;
	int				 rc;

	for (i = 0; i < sizeof api_static_files / sizeof api_static_files[0]; i++)
		if (strcmp(name, api_static_files[i].name) == 0)
			f = &api_static_files[i];
	if (f == NULL || f->console != console) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no such file: %.64s", name);
		return;
	}
	if ((rc = api_static_load(r->api->web_dir, f->name, &buf, &len)) != 0) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "%s is not installed in %s",
			    f->name, r->api->web_dir);
		else
			api_reply_error(r, rc, NULL, "cannot read %s", f->name);
		return;
	}
	if (strcmp(f->name, "index.html") == 0)
		api_header_add(r, "Content-Security-Policy", "%s", API_STATIC_CSP);
	api_reply_raw(r, 200, f->type, buf, len);
	free(buf);
}

void
api_static_console(struct api_req *r)
{
	api_static_serve(r, r->param[0] != '\0' ? r->param : "index.html", true);
}

void
api_static_openapi(struct api_req *r)
{
	api_static_serve(r, "openapi.json", false);
}
