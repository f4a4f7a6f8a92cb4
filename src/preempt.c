/*
 * Choosing a preemption victim; see preempt.h.  A pure function of its
 * arguments (no I/O, no clock, no allocation), so the coordinator's choice
 * is deterministic and the same on every node.
 *
 * One pass over the candidates.  The cheap tests come first (the policy,
 * then the order against the best so far, then the worker's slot and
 * resources and w's hard affinity); anti-affinity, which looks at the other
 * candidates on the same worker, is checked only for a candidate that would
 * become the new best.  So a call costs O(candidates), plus O(candidates ×
 * anti_types) for each candidate that improves on the best and passes the
 * rest: with candidates in no particular order that is a few times, in the
 * worst order (best last) every time.
 *
 * Anti-affinity must hold against what will still run on the worker once
 * the victim has gone.  The candidates are the running workloads, but the
 * worker may also hold workloads that are not among them (SCHEDULED ones,
 * or ones placed by this tick's sched_place), and sched_worker.running_types
 * is a set of type names, not a count.  So a type w avoids blocks the
 * candidate when
 *  - another candidate on that worker has that type and is not taken (a
 *    taken one is leaving in this pass too), or
 *  - the type is in running_types and either no candidate on the worker has
 *    it (some other holder runs it) or the candidates on the worker are
 *    fewer than its used slots (there are holders whose types are unknown,
 *    so any type in running_types may belong to one of them).
 *
 * Beyond the header's rules, and to keep the decision safe on inputs the
 * coordinator should not produce: a victim's tier must also be below
 * min_preemptor, so a policy whose max_victim is not below it (which the
 * header rules out) never lets preemptors preempt each other back and
 * forth; a candidate that is not RUNNING, has no workload, is w itself or
 * names a worker out of range is never chosen; a worker that is not ALIVE
 * or has no slots is never used.
 */
#include "src/preempt.h"

#include <string.h>

void
preempt_policy_defaults(struct preempt_policy *p)
{
	memset(p, 0, sizeof *p);
	p->enabled = true;
	p->min_preemptor = TIER_ENTERPRISE;
	p->max_victim = TIER_FREE;
	p->max_in_a_row = 3;
}

/* True if the policy lets w preempt at all. */
static bool
preempt_policy_allows(const struct workload *w, const struct preempt_policy *p)
{
	return p->enabled && w->tier >= p->min_preemptor && p->max_in_a_row > 0;
}

/* True if the policy lets v yield its slot (RUNNING, a low enough tier, not
 * preempted too often in a row). */
static bool
preempt_victim_allowed(const struct workload *v, const struct preempt_policy *p)
{
	return v->status == WL_RUNNING && v->tier <= p->max_victim &&
	    v->tier < p->min_preemptor && v->preemptions < p->max_in_a_row;
}

/* True if a goes before b in the order of victims: the lower tier, then the
 * lower priority, then the later start (the least work to redo).  Equal
 * keys are false: the lower index, seen first, stays. */
static bool
preempt_victim_before(const struct workload *a, const struct workload *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->started_ms > b->started_ms;
}

/* True if, with v gone, sw has a slot for w: v's slot is reused, so the
 * worker must not be over-full already. */
static bool
preempt_slot_ok(const struct sched_worker *sw)
{
	return sw->rec->capacity > 0 && sw->used <= sw->rec->capacity;
}

/* True if one kind's request fits in what is free plus what v holds. */
static bool
preempt_kind_ok(uint32_t want, uint32_t free, uint32_t held)
{
	return want == 0 || (uint64_t)free + held >= want;
}

/* True if, with v gone, sw has every kind of resource w requests. */
static bool
preempt_res_ok(const struct workload *w, const struct sched_worker *sw,
    const struct workload *v)
{
	const struct resources	*want = &w->requests;

	return preempt_kind_ok(want->cpu_millis, sw->free.cpu_millis,
	    v->requests.cpu_millis) &&
	    preempt_kind_ok(want->memory_mb, sw->free.memory_mb,
	    v->requests.memory_mb) &&
	    preempt_kind_ok(want->gpus, sw->free.gpus, v->requests.gpus);
}

/* True if type is the type of candidate c. */
static bool
preempt_cand_is_type(const struct preempt_candidate *c, const char *type)
{
	return c->w != NULL && c->w->type != NULL && strcmp(c->w->type, type) == 0;
}

/* True if no type w avoids would still run on worker k (sw) once
 * cands[ci] has gone; see the top of the file. */
static bool
preempt_anti_ok(const struct workload *w, const struct sched_worker *sw,
    size_t k, const struct preempt_candidate *cands, size_t n_cands, size_t ci)
{
	const struct strlist	*anti = &w->affinity.anti_types;
	const char		*a;
	size_t			 i, j, n_on = 0;
	bool			 seen, unknown;

	if (anti->n == 0)
		return true;
	for (j = 0; j < n_cands; j++)
		if (cands[j].worker == k && cands[j].w != NULL)
			n_on++;
	unknown = n_on < sw->used;
	for (i = 0; i < anti->n; i++) {
		a = anti->v[i];
		if (a == NULL)
			continue;
		seen = false;
		for (j = 0; j < n_cands; j++) {
			if (cands[j].worker != k || !preempt_cand_is_type(&cands[j], a))
				continue;
			if (j != ci && !cands[j].taken)
				return false;	/* stays, and runs a */
			seen = true;
		}
		if (strlist_contains(&sw->running_types, a) && (!seen || unknown))
			return false;
	}
	return true;
}

size_t
preempt_pick(const struct workload *w, const struct sched_worker *workers,
    size_t n_workers, const struct preempt_candidate *cands, size_t n_cands,
    const struct preempt_policy *p)
{
	const struct preempt_candidate	*c;
	const struct sched_worker	*sw;
	const struct workload		*best = NULL;
	size_t				 i, pick = SIZE_MAX;

	if (w == NULL || p == NULL || workers == NULL || cands == NULL ||
	    !preempt_policy_allows(w, p))
		return SIZE_MAX;
	for (i = 0; i < n_cands; i++) {
		c = &cands[i];
		if (c->taken || c->w == NULL || c->w == w || c->worker >= n_workers)
			continue;
		if (!preempt_victim_allowed(c->w, p))
			continue;
		if (best != NULL && !preempt_victim_before(c->w, best))
			continue;
		sw = &workers[c->worker];
		if (sw->rec == NULL || sw->rec->status != WORKER_ALIVE)
			continue;
		if (!preempt_slot_ok(sw) || !preempt_res_ok(w, sw, c->w) ||
		    !sched_hard_ok(w, sw->rec) ||
		    !preempt_anti_ok(w, sw, c->worker, cands, n_cands, i))
			continue;
		best = c->w;
		pick = i;
	}
	return pick;
}
