/*
 * Holdings: for each worker, what the workloads holding one of its slots
 * (SCHEDULED, RUNNING, PAUSING) are: how many of each type, and the
 * resources they asked for in total.  The state machine keeps this in
 * memory as commands apply (and rebuilds it from the store after a
 * snapshot is installed), so that a scheduling pass learns each worker's
 * running types (anti-affinity) and free resources without reading a
 * single workload record.
 *
 * Thread-safe: the apply thread changes it while the scheduler reads.
 */
#ifndef SRC_HOLDINGS_H
#define SRC_HOLDINGS_H

#include <stdbool.h>

#include "src/model.h"
#include "src/strs.h"

struct holdings;

/* 0 or ERR_NOMEM. */
int	holdings_new(struct holdings **out);
void	holdings_free(struct holdings *h);
/* Forgets every worker. */
void	holdings_clear(struct holdings *h);

/* One workload of type, asking for req, starts (sign > 0) or stops
 * (sign < 0) holding a slot on worker_id.  A stop that was never started
 * is ignored.  0 or ERR_NOMEM (nothing changed). */
int	holdings_change(struct holdings *h, const char *worker_id, const char *type,
	    const struct resources *req, int sign);

/* Appends the types held on worker_id (each once) to *types and sets *req
 * to their summed requests.  The count of workloads held (0: nothing,
 * *types untouched, *req zeroed). */
unsigned holdings_get(struct holdings *h, const char *worker_id, struct strlist *types,
	    struct resources *req);

#endif /* SRC_HOLDINGS_H */
