/*
 * Placement.  For each pending workload in queue order, filter the workers
 * by the hard rules, score the survivors by soft affinity, and take the best
 * (then the least loaded, then the lowest index, so the outcome is
 * deterministic).  The reason recorded for an unplaced workload is the
 * furthest stage it got through, which is what an operator needs to see:
 * "no worker can run exec" is more useful than "all full".
 *
 * This is O(pending × workers) per batch; the scheduler issue replaces the
 * scan with tag and capability indexes.
 */
#include "src/sched.h"

#include <string.h>

const char *
sched_reason_name(enum sched_reason r)
{
	switch (r) {
	case SCHED_PLACED:
		return "placed";
	case SCHED_BACKOFF:
		return "retry_backoff";
	case SCHED_NO_TYPE:
		return "no_worker_for_type";
	case SCHED_NO_MATCH:
		return "no_worker_matches_hard_affinity";
	case SCHED_ANTI:
		return "excluded_by_anti_affinity";
	case SCHED_FULL:
		return "no_free_capacity";
	case SCHED_QUOTA:
		return "customer_max_concurrent";
	}
	return "unknown";
}

static bool
sched_can_run_type(const struct workload *w, const struct worker_rec *rec)
{
	size_t	 i;

	if (!strlist_contains(&rec->capabilities, w->type))
		return false;
	for (i = 0; i < w->affinity.hard_types.n; i++)
		if (!strlist_contains(&rec->capabilities, w->affinity.hard_types.v[i]))
			return false;
	return true;
}

bool
sched_hard_ok(const struct workload *w, const struct worker_rec *rec)
{
	const struct affinity	*a = &w->affinity;

	if (a->hard_worker_id != NULL && !str_eq(a->hard_worker_id, rec->id))
		return false;
	if (!tagset_matches(&rec->tags, &a->hard_tags))
		return false;
	return sched_can_run_type(w, rec);
}

static bool
sched_anti_ok(const struct workload *w, const struct sched_worker *sw)
{
	const struct strlist	*anti = &w->affinity.anti_types;
	size_t			 i;

	for (i = 0; i < anti->n; i++)
		if (strlist_contains(&sw->running_types, anti->v[i]))
			return false;
	return true;
}

uint32_t
sched_soft_score(const struct workload *w, const struct worker_rec *rec)
{
	const struct affinity	*a = &w->affinity;
	const char		*v;
	uint32_t		 score = 0;
	size_t			 i;

	if (a->soft_worker_id != NULL && str_eq(a->soft_worker_id, rec->id))
		score += 60;
	for (i = 0; i < a->soft_tags.n; i++) {
		v = tagset_get(&rec->tags, a->soft_tags.v[i].key);
		if (v != NULL && strcmp(v, a->soft_tags.v[i].value) == 0)
			score += 10;
	}
	return score > 100 ? 100 : score;
}

/* True if worker a is less loaded than b (by fraction of slots used). */
static bool
sched_less_loaded(const struct sched_worker *a, const struct sched_worker *b)
{
	uint64_t	 la = (uint64_t)a->used * b->rec->capacity;
	uint64_t	 lb = (uint64_t)b->used * a->rec->capacity;

	return la < lb;
}

/* The quota of customer_id, or NULL if it is not limited. */
static struct sched_quota *
sched_quota_find(struct sched_quota *quotas, size_t n, const char *customer_id)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	if (customer_id == NULL)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(quotas[mid].customer_id, customer_id);
		if (c == 0)
			return &quotas[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
sched_place(const struct workload *pending, size_t n_pending,
    struct sched_worker *workers, size_t n_workers,
    struct sched_quota *quotas, size_t n_quotas, uint64_t now_ms,
    size_t max_placements, struct sched_result *results)
{
	const struct workload	*w;
	struct sched_worker	*sw;
	struct sched_quota	*quota;
	enum sched_reason	 stage;
	size_t			 i, j, best, placed = 0;
	uint32_t		 score, best_score;

	for (i = 0; i < n_pending; i++) {
		w = &pending[i];
		results[i].reason = SCHED_FULL;
		results[i].worker = 0;
		results[i].score = 0;
		if (placed >= max_placements) {
			results[i].reason = SCHED_FULL;
			continue;
		}
		if (w->not_before_ms > now_ms) {
			results[i].reason = SCHED_BACKOFF;
			continue;
		}
		quota = sched_quota_find(quotas, n_quotas, w->customer_id);
		if (quota != NULL && quota->remaining == 0) {
			results[i].reason = SCHED_QUOTA;
			continue;
		}
		stage = SCHED_NO_TYPE;
		best = n_workers;
		best_score = 0;
		for (j = 0; j < n_workers; j++) {
			sw = &workers[j];
			if (sw->rec->status != WORKER_ALIVE || !sched_can_run_type(w, sw->rec))
				continue;
			if (stage < SCHED_NO_MATCH)
				stage = SCHED_NO_MATCH;
			if (!sched_hard_ok(w, sw->rec))
				continue;
			if (stage < SCHED_ANTI)
				stage = SCHED_ANTI;
			if (!sched_anti_ok(w, sw))
				continue;
			stage = SCHED_FULL;
			if (sw->used >= sw->rec->capacity)
				continue;
			score = sched_soft_score(w, sw->rec);
			if (best == n_workers || score > best_score ||
			    (score == best_score && sched_less_loaded(sw, &workers[best]))) {
				best = j;
				best_score = score;
			}
		}
		if (best == n_workers) {
			results[i].reason = stage;
			continue;
		}
		sw = &workers[best];
		sw->used++;
		if (!strlist_contains(&sw->running_types, w->type) &&
		    strlist_add(&sw->running_types, w->type) != 0) {
			/* Out of memory: anti-affinity could no longer be
			 * checked for this worker, so stop placing. */
			sw->used--;
			results[i].reason = SCHED_FULL;
			break;
		}
		if (quota != NULL)
			quota->remaining--;
		results[i].reason = SCHED_PLACED;
		results[i].worker = best;
		results[i].score = best_score;
		placed++;
	}
	for (i++; i < n_pending; i++)
		results[i].reason = SCHED_FULL;
	return placed;
}

void
sched_worker_fini(struct sched_worker *sw)
{
	strlist_fini(&sw->running_types);
}
