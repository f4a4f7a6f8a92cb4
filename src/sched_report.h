/*
 * What the scheduler did, for operators: why each workload it looked at in
 * its last pass could not be placed (shown on the workload), and metrics
 * over its passes: pass latency histogram, placements per second over the
 * last minute, unschedulable counts by reason, and how long placed
 * workloads had waited, by tier.  Kept in memory by the leader only; a new
 * leader starts empty.  Thread-safe.
 */
#ifndef SRC_SCHED_REPORT_H
#define SRC_SCHED_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "src/model.h"
#include "src/sched.h"

/* Upper bounds (µs) of the pass latency histogram's buckets; the last
 * bucket counts everything above the last bound. */
#define SCHED_REPORT_LATENCY_BUCKETS	12
extern const uint64_t sched_report_latency_bounds_us[SCHED_REPORT_LATENCY_BUCKETS - 1];

#define SCHED_REPORT_REASONS	SCHED_DEFERRED	/* deferred is no reason to wait */

struct sched_metrics {
	uint64_t	 passes;
	uint64_t	 placements;			/* since this node led */
	double		 placements_per_s;		/* over the last minute */
	uint64_t	 latency_us[SCHED_REPORT_LATENCY_BUCKETS]; /* pass counts */
	uint64_t	 last_pass_us;
	uint64_t	 unschedulable[SCHED_REPORT_REASONS];	/* last pass, by reason */
	struct {
		uint64_t	 placed;		/* workloads placed */
		uint64_t	 wait_ms_sum;		/* created to placed */
		uint64_t	 wait_ms_max;
	} wait_by_tier[TIER__COUNT];
};

struct sched_report;

/* 0 or ERR_NOMEM. */
int	 sched_report_new(struct sched_report **out);
void	 sched_report_free(struct sched_report *s);

/* Records a pass over pending[0..n) with results res, which took
 * duration_us, at now_ms (wall clock).  The workloads not placed (other
 * than in retry backoff, or deferred: not examined) are remembered with
 * their reason until the next pass.  A pass that looked at nothing records its latency only. */
void	 sched_report_pass(struct sched_report *s, const struct workload *pending,
	    const struct sched_result *res, size_t n, uint64_t duration_us,
	    uint64_t now_ms);

/* Why the last pass could not place workload id: a sched_reason_name, or
 * NULL if it placed it or did not look at it. */
const char *sched_report_reason(struct sched_report *s, const char *id);

/* A copy of the metrics as of now_ms. */
void	 sched_report_get(struct sched_report *s, uint64_t now_ms,
	    struct sched_metrics *out);

/* Forgets everything (on losing or gaining leadership). */
void	 sched_report_reset(struct sched_report *s);

#endif /* SRC_SCHED_REPORT_H */
