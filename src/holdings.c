/*
 * Holdings (src/holdings.h): a hash of workers, each with a short list of
 * (type, count) and summed requests.  A worker holds at most its slots'
 * worth of workloads and usually a handful of types, so the list is
 * searched linearly.
 */
#include "src/holdings.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"

#define HOLDINGS_BUCKETS	1024

struct holdings_type {
	char		*type;
	uint32_t	 n;
};

struct holdings_worker {
	struct holdings_worker	*next;		/* hash chain */
	char			*id;
	unsigned		 held;
	uint64_t		 cpu_millis, memory_mb, gpus;
	struct holdings_type	*types;
	size_t			 n_types, cap_types;
};

struct holdings {
	pthread_mutex_t		 mu;
	struct holdings_worker	*buckets[HOLDINGS_BUCKETS];
};

static unsigned
holdings_hash(const char *s)
{
	return str_hash(s) % HOLDINGS_BUCKETS;
}

static void
holdings_worker_free(struct holdings_worker *w)
{
	size_t	 i;

	for (i = 0; i < w->n_types; i++)
		free(w->types[i].type);
	free(w->types);
	free(w->id);
	free(w);
}

int
holdings_new(struct holdings **out)
{
	struct holdings	*h;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return ERR_NOMEM;
	pthread_mutex_init(&h->mu, NULL);
	*out = h;
	return 0;
}

static void
holdings_clear_locked(struct holdings *h)
{
	struct holdings_worker	*w, *next;
	unsigned		 b;

	for (b = 0; b < HOLDINGS_BUCKETS; b++) {
		for (w = h->buckets[b]; w != NULL; w = next) {
			next = w->next;
			holdings_worker_free(w);
		}
		h->buckets[b] = NULL;
	}
}

void
holdings_free(struct holdings *h)
{
	if (h == NULL)
		return;
	holdings_clear_locked(h);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void
holdings_clear(struct holdings *h)
{
	pthread_mutex_lock(&h->mu);
	holdings_clear_locked(h);
	pthread_mutex_unlock(&h->mu);
}

/* The worker's entry (its chain link in *link), or NULL. Caller holds mu. */
static struct holdings_worker *
holdings_find(struct holdings *h, const char *id, struct holdings_worker ***link)
{
	struct holdings_worker	**pp, *w;

	for (pp = &h->buckets[holdings_hash(id)]; (w = *pp) != NULL;
	    pp = &w->next)
		if (strcmp(w->id, id) == 0)
			break;
	*link = pp;
	return w;
}

static uint64_t
holdings_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Takes one workload of type off w; false if w holds none of that type. */
static bool
holdings_worker_drop(struct holdings_worker *w, const char *type,
    const struct resources *req)
{
	size_t	 i;

	for (i = 0; i < w->n_types; i++)
		if (strcmp(w->types[i].type, type) == 0)
			break;
	if (i == w->n_types || w->held == 0)
		return false;
	if (--w->types[i].n == 0) {
		free(w->types[i].type);
		w->types[i] = w->types[--w->n_types];
	}
	w->held--;
	w->cpu_millis = holdings_sub(w->cpu_millis, req->cpu_millis);
	w->memory_mb = holdings_sub(w->memory_mb, req->memory_mb);
	w->gpus = holdings_sub(w->gpus, req->gpus);
	return true;
}

/* Adds one workload of type to w: 0 or ERR_NOMEM (w unchanged). */
static int
holdings_worker_add(struct holdings_worker *w, const char *type,
    const struct resources *req)
{
	struct holdings_type	*v;
	size_t			 i;

	for (i = 0; i < w->n_types; i++)
		if (strcmp(w->types[i].type, type) == 0)
			break;
	if (i == w->n_types) {
		if (w->n_types == w->cap_types) {
			if ((v = realloc(w->types, (w->cap_types ? w->cap_types * 2 :
			    4) * sizeof *v)) == NULL)
				return ERR_NOMEM;
			w->types = v;
			w->cap_types = w->cap_types ? w->cap_types * 2 : 4;
		}
		if ((w->types[i].type = strdup(type)) == NULL)
			return ERR_NOMEM;
		w->types[i].n = 0;
		w->n_types++;
	}
	w->types[i].n++;
	w->held++;
	w->cpu_millis += req->cpu_millis;
	w->memory_mb += req->memory_mb;
	w->gpus += req->gpus;
	return 0;
}

int
holdings_change(struct holdings *h, const char *worker_id, const char *type,
    const struct resources *req, int sign)
{
	struct holdings_worker	*w, **link;
	int			 rc = 0;

	if (worker_id == NULL || type == NULL || sign == 0)
		return 0;
	pthread_mutex_lock(&h->mu);
	w = holdings_find(h, worker_id, &link);
	if (sign < 0) {
		if (w != NULL && holdings_worker_drop(w, type, req) && w->held == 0) {
			*link = w->next;
			holdings_worker_free(w);
		}
		goto out;
	}
	if (w == NULL) {
		if ((w = calloc(1, sizeof *w)) == NULL ||
		    (w->id = strdup(worker_id)) == NULL) {
			free(w);
			rc = ERR_NOMEM;
			goto out;
		}
		*link = w;
	}
	if ((rc = holdings_worker_add(w, type, req)) != 0 && w->held == 0) {
		*link = w->next;
		holdings_worker_free(w);
	}
out:
	pthread_mutex_unlock(&h->mu);
	return rc;
}

static uint32_t
holdings_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

unsigned
holdings_get(struct holdings *h, const char *worker_id, struct strlist *types,
    struct resources *req)
{
	struct holdings_worker	*w, **link;
	unsigned		 held = 0;
	size_t			 i;

	memset(req, 0, sizeof *req);
	pthread_mutex_lock(&h->mu);
	if ((w = holdings_find(h, worker_id, &link)) != NULL) {
		held = w->held;
		for (i = 0; i < w->n_types; i++)
			if (!strlist_contains(types, w->types[i].type))
				strlist_add(types, w->types[i].type);
		req->cpu_millis = holdings_u32(w->cpu_millis);
		req->memory_mb = holdings_u32(w->memory_mb);
		req->gpus = holdings_u32(w->gpus);
	}
	pthread_mutex_unlock(&h->mu);
	return held;
}
