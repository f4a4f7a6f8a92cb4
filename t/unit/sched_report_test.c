/*
 * The scheduler's report: reasons of the last pass, latency histogram,
 * placements per second over the last minute, waits by tier, reset.
 */
#include <string.h>

#include "src/sched_report.h"
#include "t/tap.h"

static void
wl(struct workload *w, char c, enum tier t, uint64_t created)
{
	memset(w, 0, sizeof *w);
	memset(w->id, c, MODEL_ID_LEN);
	w->id[MODEL_ID_LEN] = '\0';
	w->tier = t;
	w->created_ms = created;
}

int
main(void)
{
	struct sched_report	*s = NULL;
	struct sched_metrics	 m;
	struct workload		 p[4];
	struct sched_result	 r[4];
	char			 id[MODEL_ID_LEN + 1];
	uint64_t		 now = 1700000000000ULL;

	ok(sched_report_new(&s) == 0 && s != NULL, "new");
	wl(&p[0], 'a', TIER_FREE, now - 3000);
	wl(&p[1], 'b', TIER_ENTERPRISE, now - 1000);
	wl(&p[2], 'c', TIER_FREE, now);
	wl(&p[3], 'd', TIER_FREE, now);
	memset(r, 0, sizeof r);
	r[0].reason = SCHED_PLACED;
	r[1].reason = SCHED_PLACED;
	r[2].reason = SCHED_NO_MATCH;
	r[3].reason = SCHED_BACKOFF;
	sched_report_pass(s, p, r, 4, 700, now);

	is_str(sched_report_reason(s, p[2].id), "no_worker_matches_hard_affinity",
	    "the reason of an unplaced workload");
	ok(sched_report_reason(s, p[0].id) == NULL, "none for a placed one");
	ok(sched_report_reason(s, p[3].id) == NULL,
	    "none for one in backoff (its not_before says why)");
	memset(id, 'z', MODEL_ID_LEN);
	id[MODEL_ID_LEN] = '\0';
	ok(sched_report_reason(s, id) == NULL, "none for one not looked at");
	ok(sched_report_reason(s, "short") == NULL, "none for a malformed id");

	sched_report_get(s, now, &m);
	is_int(m.passes, 1, "one pass");
	is_int(m.placements, 2, "two placements");
	is_int(m.last_pass_us, 700, "last pass latency");
	is_int(m.latency_us[3], 1, "700 us falls in the <= 1000 us bucket");
	is_int(m.unschedulable[SCHED_NO_MATCH], 1, "one no-match");
	is_int(m.unschedulable[SCHED_BACKOFF], 1, "one in backoff");
	is_int(m.wait_by_tier[TIER_FREE].placed, 1, "one free placed");
	is_int(m.wait_by_tier[TIER_FREE].wait_ms_max, 3000, "it waited 3 s");
	is_int(m.wait_by_tier[TIER_ENTERPRISE].wait_ms_sum, 1000,
	    "the enterprise one waited 1 s");
	ok(m.placements_per_s > 0.033 && m.placements_per_s < 0.034,
	    "2 placements over the last minute: 2/60 per second");
	sched_report_get(s, now + 61000, &m);
	ok(m.placements_per_s == 0, "a minute later the window is empty");

	/* The next pass replaces the reasons; an empty one keeps them. */
	r[2].reason = SCHED_PLACED;
	sched_report_pass(s, p + 2, r + 2, 1, 5000000, now + 1000);
	ok(sched_report_reason(s, p[2].id) == NULL, "placed in the next pass");
	sched_report_get(s, now + 1000, &m);
	is_int(m.latency_us[SCHED_REPORT_LATENCY_BUCKETS - 1], 1,
	    "5 s falls in the last bucket");
	is_int(m.unschedulable[SCHED_NO_MATCH], 0, "the counts are the last pass's");
	r[0].reason = SCHED_FULL;
	sched_report_pass(s, p, r, 1, 10, now + 2000);
	sched_report_pass(s, p, r, 0, 10, now + 3000);
	is_str(sched_report_reason(s, p[0].id), "no_free_capacity",
	    "a pass that looked at nothing keeps the last reasons");
	r[0].reason = SCHED_DEFERRED;
	sched_report_pass(s, p, r, 1, 10, now + 4000);
	sched_report_get(s, now + 4000, &m);
	ok(sched_report_reason(s, p[0].id) == NULL &&
	    m.unschedulable[SCHED_FULL] == 0,
	    "a workload the pass did not get to shows no reason and counts nowhere");

	sched_report_reset(s);
	sched_report_get(s, now + 3000, &m);
	ok(m.passes == 0 && m.placements == 0 &&
	    sched_report_reason(s, p[0].id) == NULL, "reset forgets everything");
	sched_report_free(s);
	sched_report_free(NULL);
	return tap_done();
}
