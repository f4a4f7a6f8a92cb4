/*
 * The worker's table of workload types: the built-in ones (sleep, exec)
 * and those loaded from shared objects in the plugin directory.  Built
 * once at start-up, read-only afterwards (so lookups need no lock).
 */
#ifndef SRC_PLUGIN_REGISTRY_H
#define SRC_PLUGIN_REGISTRY_H

#include <stddef.h>

#include "niyanta/plugin.h"

struct errbuf;
struct strlist;

struct plugin_registry;

/* The built-in types; static descriptions, never freed. */
const struct niyanta_plugin	*plugin_sleep_get(void);
const struct niyanta_plugin	*plugin_exec_get(void);

/* New registry holding the built-in types.  0, ERR_NOMEM. */
int	plugin_registry_new(struct plugin_registry **out, struct errbuf *eb);
/* Unloads the shared objects and frees.  Accepts NULL. */
void	plugin_registry_free(struct plugin_registry *r);

/* Adds p (borrowed: must outlive the registry), naming origin in errors.
 * ERR_INVAL for a wrong ABI version, a bad type name or missing functions;
 * ERR_EXISTS if the type is already registered. */
int	plugin_registry_add(struct plugin_registry *r, const struct niyanta_plugin *p,
	    const char *origin, struct errbuf *eb);

/* Loads every "*.so" file of dir (in name order): dlopen, look up
 * niyanta_plugin_entry, add.  The first failure stops the load and is
 * returned (ERR_IO for an unreadable directory or object, or add's code),
 * eb naming the file. */
int	plugin_registry_load_dir(struct plugin_registry *r, const char *dir,
	    struct errbuf *eb);

/* The type named name, or NULL.  Borrowed; valid until the registry is
 * freed. */
const struct niyanta_plugin	*plugin_registry_find(const struct plugin_registry *r,
				    const char *name);
/* Appends every type name to out (the worker's capabilities). 0, ERR_NOMEM. */
int	plugin_registry_names(const struct plugin_registry *r, struct strlist *out);

#endif /* SRC_PLUGIN_REGISTRY_H */
