/*
 * The placement decision, as a pure function: pending workloads (in queue
 * order), workers with their free slots and what they run, and the time in;
 * placements and the reasons for what could not be placed out.  No I/O, no
 * clock, no randomness, so it is tested deterministically; the coordinator
 * turns its output into one ASSIGN command per batch.
 *
 * Rules: queue order (effective priority, then submission order); hard
 * affinity (worker id, tags, capabilities) and anti-affinity filter; soft
 * affinity scores 0..100; ties go to the least loaded worker (spread) or
 * the most loaded that fits (binpack); slots and requested resources are
 * never exceeded; a workload that cannot be placed does not block the ones
 * behind it.
 */
#ifndef SRC_SCHED_H
#define SRC_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model.h"

struct sched_worker {
	const struct worker_rec	*rec;		/* borrowed; status must be ALIVE */
	uint32_t		 used;		/* slots held, updated as placements are made */
	struct strlist		 running_types;	/* types running there (owned) */
	struct resources	 free;		/* rec->offered less what the workloads
						 * it holds asked for; updated as
						 * placements are made */
};

/* How many more slots one customer may take (its max_concurrent less what
 * it holds).  Customers without an entry are not limited. */
struct sched_quota {
	const char	*customer_id;	/* borrowed */
	uint32_t	 remaining;	/* decremented as placements are made */
};

enum sched_reason {
	SCHED_PLACED,
	SCHED_BACKOFF,		/* retry backoff has not elapsed */
	SCHED_NO_TYPE,		/* no live worker can run this workload type */
	SCHED_NO_MATCH,		/* no live worker satisfies the hard affinity */
	SCHED_ANTI,		/* every matching worker is excluded by anti-affinity */
	SCHED_FULL,		/* every eligible worker is at capacity */
	SCHED_QUOTA,		/* the customer holds its max_concurrent slots */
	SCHED_RESOURCES,	/* no eligible worker with a free slot has the
				 * requested resources free */
	SCHED_DEFERRED,		/* not examined: the call had made its
				 * max_placements (not a reason to wait) */
	SCHED__COUNT
};

/* Among the workers that fit equally well (same soft score): */
enum sched_strategy {
	SCHED_SPREAD,		/* the least loaded (by slots): the default */
	SCHED_BINPACK,		/* the most loaded that still fits, so whole
				 * workers stay free for big workloads */
};

/* "placed", "retry_backoff", ...; never NULL. */
const char	*sched_reason_name(enum sched_reason r);

struct sched_result {
	enum sched_reason	 reason;
	size_t			 worker;	/* index into workers when PLACED */
	uint32_t		 score;		/* soft-affinity score of the choice */
};

/* Decides placements for pending[0..n_pending) over workers[0..n_workers).
 * results[i] tells what happened to pending[i]; workers[].used, free,
 * running_types and quotas[].remaining are updated to include the
 * placements.  quotas (sorted by customer_id, may be NULL) limit customers.
 * At most max_placements are made.  Returns the number placed.
 * Cost: O(workers) to index the fleet, then per workload about the size of
 * its smallest candidate set (its type's workers, a hard tag's, its pinned
 * worker), or O(log) once its shape has been seen; nothing is kept between
 * calls. */
size_t	sched_place(const struct workload *pending, size_t n_pending,
	    struct sched_worker *workers, size_t n_workers,
	    struct sched_quota *quotas, size_t n_quotas, uint64_t now_ms,
	    size_t max_placements, struct sched_result *results);

/* How sched_place_with works; sched_place uses sched_opts_defaults.  Every
 * setting but strategy gives the same results, only the work done differs. */
struct sched_opts {
	enum sched_strategy strategy;	/* tie-break between equal scores */
	bool		 scan_all;	/* no index: examine every worker for
					 * every workload (the reference) */
	bool		 memo;		/* remember per workload shape that
					 * nothing fits, and cache candidates */
	size_t		 heap_budget;	/* candidate entries cached at most,
					 * over all shapes (0: none) */
};

#define SCHED_HEAP_BUDGET	(1u << 20)	/* default heap_budget: 12 MiB */

/* What one call did, for tests and benchmarks. */
struct sched_stats {
	bool		 indexed;	/* the fleet index was built */
	size_t		 examined;	/* workers examined by scans */
	size_t		 memo_hits;	/* decided by a "nothing fits" memo */
	size_t		 heaps_built;	/* shapes whose candidates were cached */
	size_t		 heap_picks;	/* placements taken from those caches */
};

/* The quota of customer_id in quotas (sorted by customer id, as every
 * caller passes them), or NULL if that customer is not limited. */
struct sched_quota *sched_quota_find(struct sched_quota *quotas, size_t n,
	    const char *customer_id);

/* Fills o with the defaults: SCHED_SPREAD, index, memo, SCHED_HEAP_BUDGET. */
void	sched_opts_defaults(struct sched_opts *o);

/* sched_place with explicit options (NULL: the defaults); stats (may be
 * NULL) is filled with what the call did.  Same results as sched_place. */
size_t	sched_place_with(const struct workload *pending, size_t n_pending,
	    struct sched_worker *workers, size_t n_workers,
	    struct sched_quota *quotas, size_t n_quotas, uint64_t now_ms,
	    size_t max_placements, const struct sched_opts *opts,
	    struct sched_stats *stats, struct sched_result *results);

/* Soft-affinity score of placing w on worker rec: 60 for the preferred
 * worker id, 10 per matching preferred tag, capped at 100. */
uint32_t	sched_soft_score(const struct workload *w, const struct worker_rec *rec);

/* True if rec satisfies w's hard affinity and can run its type. */
bool		sched_hard_ok(const struct workload *w, const struct worker_rec *rec);

void	sched_worker_fini(struct sched_worker *sw);

#endif /* SRC_SCHED_H */
