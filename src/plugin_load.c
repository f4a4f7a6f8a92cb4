/*
 * The table of workload types and the loader of plugin shared objects.
 * Every "*.so" of the plugin directory is opened with dlopen, must export
 * niyanta_plugin_entry, and must describe a type built against the same
 * NIYANTA_PLUGIN_ABI_VERSION whose name no other type uses.  Any failure
 * stops the worker's start-up with the file named: a half-loaded set of
 * types would advertise capabilities the operator did not intend.
 */
#include "src/plugin_registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/strs.h"
#include "src/worker.h"

struct plugin_entry {
	const struct niyanta_plugin	*plugin;	/* borrowed */
	void				*handle;	/* dlopen handle, NULL for built-ins */
	char				*origin;	/* "built-in" or the file */
};

struct plugin_registry {
	struct plugin_entry	*v;
	size_t			 n;
};

int
plugin_registry_new(struct plugin_registry **out, struct errbuf *eb)
{
	struct plugin_registry	*r;
	int			 rc;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return err_setf(eb, ERR_NOMEM, "plugin registry: out of memory");
	if ((rc = plugin_registry_add(r, plugin_sleep_get(), "built-in", eb)) != 0 ||
	    (rc = plugin_registry_add(r, plugin_exec_get(), "built-in", eb)) != 0) {
		plugin_registry_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
plugin_registry_free(struct plugin_registry *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		if (r->v[i].handle != NULL)
			dlclose(r->v[i].handle);
		free(r->v[i].origin);
	}
	free(r->v);
	free(r);
}

/* Adds p, taking handle (closed by the registry) only on success. */
static int
plugin_registry_add_handle(struct plugin_registry *r, const struct niyanta_plugin *p,
    void *handle, const char *origin, struct errbuf *eb)
{
	struct plugin_entry	*v;
	char			*copy;
	size_t			 i;

	if (p == NULL)
		return err_setf(eb, ERR_INVAL, "%s: no plugin description", origin);
	if (p->abi_version != NIYANTA_PLUGIN_ABI_VERSION)
		return err_setf(eb, ERR_INVAL, "%s: plugin ABI version %u, this "
		    "worker needs %u (rebuild the plugin against this "
		    "niyanta/plugin.h)", origin, (unsigned)p->abi_version,
		    (unsigned)NIYANTA_PLUGIN_ABI_VERSION);
	if (p->type_name == NULL || !worker_name_valid(p->type_name))
		return err_setf(eb, ERR_INVAL, "%s: invalid type name (1 to 128 "
		    "characters from A-Z a-z 0-9 . _ : / -)", origin);
	if (p->init == NULL || p->execute == NULL || p->close == NULL)
		return err_setf(eb, ERR_INVAL, "%s: type \"%s\" lacks init, "
		    "execute or close", origin, p->type_name);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].plugin->type_name, p->type_name) == 0)
			return err_setf(eb, ERR_EXISTS, "%s: workload type \"%s\" "
			    "is already provided by %s", origin, p->type_name,
			    r->v[i].origin);
	if ((copy = strdup(origin)) == NULL)
		return err_setf(eb, ERR_NOMEM, "plugin registry: out of memory");
	if ((v = realloc(r->v, (r->n + 1) * sizeof *v)) == NULL) {
		free(copy);
		return err_setf(eb, ERR_NOMEM, "plugin registry: out of memory");
	}
	v[r->n].plugin = p;
	v[r->n].handle = handle;
	v[r->n].origin = copy;
	r->v = v;
	r->n++;
	return 0;
}

int
plugin_registry_add(struct plugin_registry *r, const struct niyanta_plugin *p,
    const char *origin, struct errbuf *eb)
{
	return plugin_registry_add_handle(r, p, NULL, origin, eb);
}

static int
plugin_load_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
plugin_load_one(struct plugin_registry *r, const char *path, struct errbuf *eb)
{
	niyanta_plugin_entry_cb	 entry;
	void			*handle, *sym;
	int			 rc;

	/* RTLD_LOCAL: plugins cannot see each other's symbols. */
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return err_setf(eb, ERR_IO, "cannot load plugin: %s", dlerror());
	if ((sym = dlsym(handle, NIYANTA_PLUGIN_ENTRY)) == NULL) {
		dlclose(handle);
		return err_setf(eb, ERR_INVAL, "plugin %s: no %s function",
		    path, NIYANTA_PLUGIN_ENTRY);
	}
	/* POSIX guarantees a function pointer round-trips through void *. */
	memcpy(&entry, &sym, sizeof entry);
	if ((rc = plugin_registry_add_handle(r, entry(), handle, path, eb)) != 0)
		dlclose(handle);
	return rc;
}

int
plugin_registry_load_dir(struct plugin_registry *r, const char *dir,
    struct errbuf *eb)
{
	struct strlist	 paths = { NULL, 0 };
	struct dirent	*de;
	DIR		*d;
	char		*path;
	size_t		 i, len;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL)
		return err_setf(eb, ERR_IO, "plugin directory %s: %s", dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 3 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			rc = err_setf(eb, ERR_NOMEM, "plugin directory: out of memory");
			break;
		}
		rc = strlist_add(&paths, path);
		free(path);
		if (rc != 0) {
			rc = err_setf(eb, ERR_NOMEM, "plugin directory: out of memory");
			break;
		}
	}
	closedir(d);
	if (rc == 0 && paths.n > 1)
		qsort(paths.v, paths.n, sizeof *paths.v, plugin_load_cmp);
	for (i = 0; rc == 0 && i < paths.n; i++)
		rc = plugin_load_one(r, paths.v[i], eb);
	strlist_fini(&paths);
	return rc;
}

const struct niyanta_plugin *
plugin_registry_find(const struct plugin_registry *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].plugin->type_name, name) == 0)
			return r->v[i].plugin;
	return NULL;
}

int
plugin_registry_names(const struct plugin_registry *r, struct strlist *out)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (strlist_add(out, r->v[i].plugin->type_name) != 0)
			return ERR_NOMEM;
	return 0;
}
