/*
 * Placements in flight: the batches the scheduler has proposed (one ASSIGN
 * entry each) whose outcome it has not learnt yet.  The scheduler does not
 * wait for one batch to be committed and applied before computing the
 * next; instead each pass reads the store and then counts these batches
 * on top of it: their workloads are not placed again, and their workers'
 * slots, resources and running types and their customers' quotas are
 * taken as the batches will take them.
 *
 * Owned by one thread (the scheduler's), except inflight_settle, which the
 * thread that learns a batch's outcome calls.  A batch settled while a
 * pass is running is still counted by that pass: the store it read may or
 * may not show the batch, and counting it twice only leaves room unused
 * for one pass, while not counting it could place beyond a worker's room.
 */
#ifndef SRC_SCHED_INFLIGHT_H
#define SRC_SCHED_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "src/model.h"
#include "src/sched.h"

struct inflight;
struct inflight_batch;

/* One placement of a batch: what it takes, and from whom. */
struct inflight_placement {
	char			 workload_id[MODEL_ID_LEN + 1];
	char			*worker_id;	/* owned */
	char			*customer_id;	/* owned */
	char			*type;		/* owned */
	struct resources	 requests;
};

struct inflight	*inflight_new(void);
/* Frees every batch, settled or not: only once no inflight_settle can come
 * any more. */
void		 inflight_free(struct inflight *inf);

/* Sets p to place w on worker_id (copies the strings). */
void		 inflight_placement_set(struct inflight_placement *p,
		    const struct workload *w, const char *worker_id);

/* Records a batch about to be proposed, taking v (n placements, from
 * malloc) and what it owns.  The returned handle stays valid until the
 * batch is settled and then reaped. */
struct inflight_batch *inflight_add(struct inflight *inf,
		    struct inflight_placement *v, size_t n);
/* The batch's entry was applied, or will never be (any thread, once per
 * batch).  The caller must not use the handle afterwards. */
void		 inflight_settle(struct inflight_batch *b);
/* Forgets the settled batches; returns how many are still unsettled. */
size_t		 inflight_reap(struct inflight *inf);
/* Placements in the batches not reaped. */
size_t		 inflight_placements(const struct inflight *inf);

/* True if a batch not reaped places workload_id. */
bool		 inflight_holds(const struct inflight *inf, const char *workload_id);
/* Takes what the batches not reaped place from the pass's workers (used
 * slots, free resources, running types) and quotas, found by id; a
 * placement on a worker not in sw (dead, unknown) counts nowhere. */
void		 inflight_charge(const struct inflight *inf,
		    struct sched_worker *sw, size_t n_sw,
		    struct sched_quota *quotas, size_t n_quotas);

#endif /* SRC_SCHED_INFLIGHT_H */
