/*
 * String list and tag set.  Tag sets stay sorted by key so that encoding is
 * canonical (the same set always encodes to the same bytes) and lookups can
 * bisect.
 */
#include "src/strs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"

int
strlist_addn(struct strlist *l, const char *s, size_t len)
{
	char	**v, *copy;

	if ((copy = strndup(s, len)) == NULL)
		return ERR_NOMEM;
	if ((v = realloc(l->v, (l->n + 1) * sizeof *v)) == NULL) {
		free(copy);
		return ERR_NOMEM;
	}
	v[l->n++] = copy;
	l->v = v;
	return 0;
}

int
strlist_add(struct strlist *l, const char *s)
{
	return strlist_addn(l, s, strlen(s));
}

bool
strlist_contains(const struct strlist *l, const char *s)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

int
strlist_dup(struct strlist *dst, const struct strlist *src)
{
	size_t	 i;

	for (i = 0; i < src->n; i++) {
		if (strlist_add(dst, src->v[i]) != 0) {
			strlist_fini(dst);
			return ERR_NOMEM;
		}
	}
	return 0;
}

void
strlist_fini(struct strlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static size_t
tagset_find(const struct tagset *t, const char *key, bool *found)
{
	size_t	 lo = 0, hi = t->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(t->v[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int
tagset_set(struct tagset *t, const char *key, const char *value)
{
	struct tag	*v;
	char		*k, *val;
	size_t		 at;
	bool		 found;

	at = tagset_find(t, key, &found);
	if ((val = strdup(value)) == NULL)
		return ERR_NOMEM;
	if (found) {
		free(t->v[at].value);
		t->v[at].value = val;
		return 0;
	}
	if ((k = strdup(key)) == NULL) {
		free(val);
		return ERR_NOMEM;
	}
	if ((v = realloc(t->v, (t->n + 1) * sizeof *v)) == NULL) {
		free(k);
		free(val);
		return ERR_NOMEM;
	}
	memmove(&v[at + 1], &v[at], (t->n - at) * sizeof *v);
	v[at].key = k;
	v[at].value = val;
	t->v = v;
	t->n++;
	return 0;
}

int
tagset_set_pair(struct tagset *t, const char *pair)
{
	const char	*eq = strchr(pair, '=');
	char		*key;
	int		 rc;

	if (eq == NULL || eq == pair)
		return ERR_INVAL;
	if ((key = strndup(pair, (size_t)(eq - pair))) == NULL)
		return ERR_NOMEM;
	rc = tagset_set(t, key, eq + 1);
	free(key);
	return rc;
}

const char *
tagset_get(const struct tagset *t, const char *key)
{
	size_t	 at;
	bool	 found;

	at = tagset_find(t, key, &found);
	return found ? t->v[at].value : NULL;
}

bool
tagset_matches(const struct tagset *have, const struct tagset *want)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < want->n; i++) {
		v = tagset_get(have, want->v[i].key);
		if (v == NULL || strcmp(v, want->v[i].value) != 0)
			return false;
	}
	return true;
}

int
tagset_dup(struct tagset *dst, const struct tagset *src)
{
	size_t	 i;

	for (i = 0; i < src->n; i++) {
		if (tagset_set(dst, src->v[i].key, src->v[i].value) != 0) {
			tagset_fini(dst);
			return ERR_NOMEM;
		}
	}
	return 0;
}

void
tagset_fini(struct tagset *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

char *
str_dup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

int
str_set(char **p, const char *s)
{
	char	*copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return ERR_NOMEM;
	free(*p);
	*p = copy;
	return 0;
}

bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

uint32_t
str_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

bool
str_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	/* strtoll would skip leading blanks and take a '+'. */
	if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9'))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void
x_oom(void)
{
	static const char msg[] = "niyanta: out of memory\n";

	fwrite(msg, 1, sizeof msg - 1, stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		x_oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		x_oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL)
		x_oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		x_oom();
	return p;
}

bool
strlist_eq(const struct strlist *a, const struct strlist *b)
{
	size_t	 i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

bool
tagset_eq(const struct tagset *a, const struct tagset *b)
{
	size_t	 i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			return false;
	return true;
}
