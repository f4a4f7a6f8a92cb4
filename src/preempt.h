/*
 * Preemption, as a pure decision: when a workload of a high tier cannot be
 * placed for lack of room (every eligible worker full, or short of the
 * resources it asks for), which running workload of a low tier should be
 * checkpointed and requeued so that it fits.  No I/O; the coordinator
 * proposes a PREEMPT for the workload chosen, its worker checkpoints and
 * stops it, and it goes back to PENDING (never killed, never counted as a
 * failure).
 */
#ifndef SRC_PREEMPT_H
#define SRC_PREEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model.h"
#include "src/sched.h"

struct preempt_policy {
	bool		 enabled;
	enum tier	 min_preemptor;	/* workloads of this tier or above preempt */
	enum tier	 max_victim;	/* running ones of this tier or below yield;
					 * always below min_preemptor */
	uint32_t	 max_in_a_row;	/* a workload preempted this many times
					 * since it last ran to its end is not
					 * preempted again */
};

/* On; enterprise preempts free; at most 3 times in a row. */
void	preempt_policy_defaults(struct preempt_policy *p);

/* A running workload that could yield its slot. */
struct preempt_candidate {
	const struct workload	*w;	/* RUNNING; borrowed */
	size_t			 worker;	/* index into the workers given */
	bool			 taken;	/* chosen already in this pass */
};

/*
 * For w, which the scheduler could not place with reason SCHED_FULL or
 * SCHED_RESOURCES, the index into cands of the running workload to preempt,
 * or SIZE_MAX if none may or would help.  A candidate qualifies when the
 * policy allows it (tiers, w->tier >= min_preemptor, candidate tier <=
 * max_victim, its preemptions < max_in_a_row, not taken) and, once it is
 * gone, w would fit on its worker: hard affinity and type (sched_hard_ok),
 * anti-affinity against the types still running there, a slot, and the
 * resources w asks for (the worker's free plus what the candidate holds).
 * Among those: the lowest tier, then the lowest priority, then the one
 * started last (the least work to redo), then the lowest index.
 */
size_t	preempt_pick(const struct workload *w, const struct sched_worker *workers,
	    size_t n_workers, const struct preempt_candidate *cands,
	    size_t n_cands, const struct preempt_policy *p);

#endif /* SRC_PREEMPT_H */
