/*
 * Small owned containers used across modules: a list of strings and a set of
 * key=value tags.  Both own their strings; _fini frees them and leaves an
 * empty, reusable container.  A zeroed struct is a valid empty container.
 */
#ifndef SRC_STRS_H
#define SRC_STRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strlist {
	char	**v;		/* owned strings */
	size_t	  n;
};

struct tag {
	char	*key;		/* owned */
	char	*value;		/* owned */
};

struct tagset {
	struct tag	*v;	/* owned, kept sorted by key */
	size_t		 n;
};

/* Appends a copy of s. Returns 0 or ERR_NOMEM. */
int		 strlist_add(struct strlist *l, const char *s);
/* Appends a copy of the first len bytes of s. */
int		 strlist_addn(struct strlist *l, const char *s, size_t len);
bool		 strlist_contains(const struct strlist *l, const char *s);
/* Deep copy into dst (which must be empty). */
int		 strlist_dup(struct strlist *dst, const struct strlist *src);
/* True if a and b hold the same strings in the same order. */
bool		 strlist_eq(const struct strlist *a, const struct strlist *b);
void		 strlist_fini(struct strlist *l);

/* Sets key to value, replacing an existing value. Returns 0 or ERR_NOMEM. */
int		 tagset_set(struct tagset *t, const char *key, const char *value);
/* Parses "key=value"; ERR_INVAL if there is no '=' or the key is empty. */
int		 tagset_set_pair(struct tagset *t, const char *pair);
/* Borrowed; valid until the set changes. NULL if absent. */
const char	*tagset_get(const struct tagset *t, const char *key);
/* True if every tag of want is in have with an equal value. */
bool		 tagset_matches(const struct tagset *have, const struct tagset *want);
int		 tagset_dup(struct tagset *dst, const struct tagset *src);
/* True if a and b hold the same pairs (both are kept sorted by key). */
bool		 tagset_eq(const struct tagset *a, const struct tagset *b);
void		 tagset_fini(struct tagset *t);

/* strdup that returns NULL for NULL. */
char		*str_dup(const char *s);
/* Frees *p and sets it to a copy of s (NULL stays NULL). 0 or ERR_NOMEM. */
int		 str_set(char **p, const char *s);
/* Equal strings, NULL equal only to NULL. */
bool		 str_eq(const char *a, const char *b);
/* A hash of s for in-memory tables (FNV-1a, 32 bits). */
uint32_t	 str_hash(const char *s);

/* Strict decimal integer: the whole of s, within [min, max]. */
bool		 str_parse_ll(const char *s, long long min, long long max, long long *out);

/* Daemon-only allocators: die on OOM (tmux's xmalloc). */
void		*xmalloc(size_t n);
void		*xcalloc(size_t n, size_t size);
void		*xrealloc(void *p, size_t n);
char		*xstrdup(const char *s);

#endif /* SRC_STRS_H */
