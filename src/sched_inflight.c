/*
 * Placements in flight (src/sched_inflight.h).  A list of batches, each
 * with its placements sorted by workload id, so that "is this workload in
 * flight" is a binary search per batch: the scheduler keeps a handful of
 * batches in flight at most, and asks once per pending workload it reads.
 */
#include "src/sched_inflight.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "src/strs.h"

struct inflight_batch {
	struct inflight_batch		*next;
	atomic_bool			 settled;
	struct inflight_placement	*v;	/* sorted by workload_id */
	size_t				 n;
};

struct inflight {
	struct inflight_batch	*head;
	size_t			 n_placements;	/* over the batches in the list */
};

/* A worker of the pass, for finding it by id. */
struct inflight_worker_ref {
	const char	*id;
	size_t		 at;	/* its index in the pass's array */
};

static int
inflight_placement_cmp(const void *a, const void *b)
{
	const struct inflight_placement	*pa = a, *pb = b;

	return strcmp(pa->workload_id, pb->workload_id);
}

static int
inflight_worker_ref_cmp(const void *a, const void *b)
{
	const struct inflight_worker_ref	*ra = a, *rb = b;

	return strcmp(ra->id, rb->id);
}

static void
inflight_batch_free(struct inflight_batch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].worker_id);
		free(b->v[i].customer_id);
		free(b->v[i].type);
	}
	free(b->v);
	free(b);
}

struct inflight *
inflight_new(void)
{
	return xcalloc(1, sizeof(struct inflight));
}

void
inflight_free(struct inflight *inf)
{
	struct inflight_batch	*b;

	if (inf == NULL)
		return;
	while ((b = inf->head) != NULL) {
		inf->head = b->next;
		inflight_batch_free(b);
	}
	free(inf);
}

void
inflight_placement_set(struct inflight_placement *p, const struct workload *w,
    const char *worker_id)
{
	memcpy(p->workload_id, w->id, sizeof p->workload_id);
	p->worker_id = xstrdup(worker_id);
	p->customer_id = w->customer_id != NULL ? xstrdup(w->customer_id) : NULL;
	p->type = w->type != NULL ? xstrdup(w->type) : NULL;
	p->requests = w->requests;
}

struct inflight_batch *
inflight_add(struct inflight *inf, struct inflight_placement *v, size_t n)
{
	struct inflight_batch	*b = xcalloc(1, sizeof *b);

	qsort(v, n, sizeof *v, inflight_placement_cmp);
	b->v = v;
	b->n = n;
	atomic_init(&b->settled, false);
	b->next = inf->head;
	inf->head = b;
	inf->n_placements += n;
	return b;
}

void
inflight_settle(struct inflight_batch *b)
{
	atomic_store(&b->settled, true);
}

size_t
inflight_reap(struct inflight *inf)
{
	struct inflight_batch	**bp, *b;
	size_t			 open = 0;

	for (bp = &inf->head; (b = *bp) != NULL;) {
		if (!atomic_load(&b->settled)) {
			open++;
			bp = &b->next;
			continue;
		}
		*bp = b->next;
		inf->n_placements -= b->n;
		inflight_batch_free(b);
	}
	return open;
}

size_t
inflight_placements(const struct inflight *inf)
{
	return inf->n_placements;
}

bool
inflight_holds(const struct inflight *inf, const char *workload_id)
{
	const struct inflight_batch	*b;
	struct inflight_placement	 key;

	if (inf->head == NULL)
		return false;
	memset(&key, 0, sizeof key);
	strncpy(key.workload_id, workload_id, MODEL_ID_LEN);
	for (b = inf->head; b != NULL; b = b->next)
		if (bsearch(&key, b->v, b->n, sizeof *b->v,
		    inflight_placement_cmp) != NULL)
			return true;
	return false;
}

/* One placement in flight, charged to its worker in the pass. */
static void
inflight_charge_worker(struct sched_worker *w, const struct inflight_placement *p)
{
	w->used++;
	resources_take(&w->free, &p->requests);
	/* Anti-affinity looks at the types running there: this one soon
	 * will be.  Out of memory only leaves the type out (xmalloc would
	 * not return). */
	if (p->type != NULL && !strlist_contains(&w->running_types, p->type))
		(void)strlist_add(&w->running_types, p->type);
}

void
inflight_charge(const struct inflight *inf, struct sched_worker *sw,
    size_t n_sw, struct sched_quota *quotas, size_t n_quotas)
{
	const struct inflight_batch	*b;
	struct inflight_worker_ref	*refs, key, *found;
	struct sched_quota		*q;
	size_t				 i;

	if (inf->head == NULL)
		return;
	refs = xcalloc(n_sw + 1, sizeof *refs);
	for (i = 0; i < n_sw; i++) {
		refs[i].id = sw[i].rec->id;
		refs[i].at = i;
	}
	qsort(refs, n_sw, sizeof *refs, inflight_worker_ref_cmp);
	for (b = inf->head; b != NULL; b = b->next) {
		for (i = 0; i < b->n; i++) {
			key.id = b->v[i].worker_id;
			found = bsearch(&key, refs, n_sw, sizeof *refs,
			    inflight_worker_ref_cmp);
			if (found != NULL)
				inflight_charge_worker(&sw[found->at], &b->v[i]);
			q = sched_quota_find(quotas, n_quotas, b->v[i].customer_id);
			if (q != NULL && q->remaining > 0)
				q->remaining--;
		}
	}
	free(refs);
}
