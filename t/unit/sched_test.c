/*
 * sched_place: queue order, hard affinity, anti-affinity, soft scoring,
 * capacity, backoff, and no head-of-line blocking.
 */
#include <stdlib.h>
#include <string.h>

#include "src/sched.h"
#include "t/tap.h"

static void
wl_init(struct workload *w, const char *type)
{
	memset(w, 0, sizeof *w);
	model_id_generate(w->id);
	w->type = strdup(type);
	w->priority = 100;
}

static void
worker_init(struct worker_rec *r, const char *id, uint32_t capacity, const char *caps)
{
	char	*copy, *tok, *save = NULL;

	memset(r, 0, sizeof *r);
	r->id = strdup(id);
	r->capacity = capacity;
	r->status = WORKER_ALIVE;
	copy = strdup(caps);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		strlist_add(&r->capabilities, tok);
	free(copy);
}

static void
sw_init(struct sched_worker *sw, struct worker_rec *recs, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		memset(&sw[i], 0, sizeof sw[i]);
		sw[i].rec = &recs[i];
		sw[i].used = recs[i].used;
	}
}

static void
cleanup(struct workload *w, size_t nw, struct worker_rec *r, size_t nr,
    struct sched_worker *sw)
{
	size_t	 i;

	for (i = 0; i < nw; i++)
		workload_fini(&w[i]);
	for (i = 0; i < nr; i++) {
		worker_rec_fini(&r[i]);
		sched_worker_fini(&sw[i]);
	}
}

static void
test_capacity_and_order(void)
{
	struct workload		 w[5];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[5];
	size_t			 i, placed;

	for (i = 0; i < 5; i++)
		wl_init(&w[i], "sleep");
	worker_init(&r[0], "a", 2, "sleep");
	worker_init(&r[1], "b", 1, "sleep");
	sw_init(sw, r, 2);
	placed = sched_place(w, 5, sw, 2, NULL, 0, 1000, 100, res);
	is_int(placed, 3, "three slots, three placements");
	ok(res[0].reason == SCHED_PLACED && res[1].reason == SCHED_PLACED &&
	    res[2].reason == SCHED_PLACED, "the first three in queue order are placed");
	ok(res[3].reason == SCHED_FULL && res[4].reason == SCHED_FULL,
	    "the rest wait for capacity");
	is_int(sw[0].used, 2, "worker a filled to capacity");
	is_int(sw[1].used, 1, "worker b filled to capacity");
	cleanup(w, 5, r, 2, sw);
}

static void
test_hard_affinity(void)
{
	struct workload		 w[4];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[4];

	wl_init(&w[0], "sleep");
	tagset_set(&w[0].affinity.hard_tags, "gpu", "true");
	wl_init(&w[1], "sleep");
	w[1].affinity.hard_worker_id = strdup("a");
	wl_init(&w[2], "exec");		/* no worker runs exec */
	wl_init(&w[3], "sleep");
	tagset_set(&w[3].affinity.hard_tags, "region", "mars");
	worker_init(&r[0], "a", 4, "sleep");
	worker_init(&r[1], "b", 4, "sleep");
	tagset_set(&r[1].tags, "gpu", "true");
	sw_init(sw, r, 2);
	sched_place(w, 4, sw, 2, NULL, 0, 0, 100, res);
	ok(res[0].reason == SCHED_PLACED && res[0].worker == 1, "gpu workload on the gpu worker");
	ok(res[1].reason == SCHED_PLACED && res[1].worker == 0, "worker_id pin honoured");
	is_str(sched_reason_name(res[2].reason), "no_worker_for_type", "unknown type explained");
	is_str(sched_reason_name(res[3].reason), "no_worker_matches_hard_affinity",
	    "unsatisfiable tag explained");
	ok(sched_hard_ok(&w[0], &r[1]) && !sched_hard_ok(&w[0], &r[0]), "sched_hard_ok");
	cleanup(w, 4, r, 2, sw);
}

static void
test_no_head_of_line_blocking(void)
{
	struct workload		 w[3];
	struct worker_rec	 r[1];
	struct sched_worker	 sw[1];
	struct sched_result	 res[3];

	wl_init(&w[0], "sleep");
	tagset_set(&w[0].affinity.hard_tags, "gpu", "true");
	wl_init(&w[1], "sleep");
	wl_init(&w[2], "sleep");
	worker_init(&r[0], "a", 8, "sleep");
	sw_init(sw, r, 1);
	is_int(sched_place(w, 3, sw, 1, NULL, 0, 0, 100, res), 2,
	    "workloads behind an unplaceable one are placed");
	ok(res[0].reason != SCHED_PLACED && res[1].reason == SCHED_PLACED &&
	    res[2].reason == SCHED_PLACED, "head waits, the rest go");
	cleanup(w, 3, r, 1, sw);
}

static void
test_anti_affinity_and_soft(void)
{
	struct workload		 w[3];
	struct worker_rec	 r[3];
	struct sched_worker	 sw[3];
	struct sched_result	 res[3];

	wl_init(&w[0], "db");
	strlist_add(&w[0].affinity.anti_types, "db");
	wl_init(&w[1], "db");
	strlist_add(&w[1].affinity.anti_types, "db");
	wl_init(&w[2], "db");
	strlist_add(&w[2].affinity.anti_types, "db");
	tagset_set(&w[2].affinity.soft_tags, "region", "eu");
	worker_init(&r[0], "a", 4, "db");
	worker_init(&r[1], "b", 4, "db");
	worker_init(&r[2], "c", 4, "db");
	tagset_set(&r[2].tags, "region", "eu");
	sw_init(sw, r, 3);
	strlist_add(&sw[0].running_types, "db");	/* a already runs one */
	sched_place(w, 3, sw, 3, NULL, 0, 0, 100, res);
	ok(res[0].reason == SCHED_PLACED && res[0].worker != 0,
	    "anti-affinity keeps it off the worker running the same type");
	ok(res[1].reason == SCHED_PLACED && res[1].worker != 0 &&
	    res[1].worker != res[0].worker, "and off the one just given a db");
	is_str(sched_reason_name(res[2].reason), "excluded_by_anti_affinity",
	    "third db has nowhere to go");
	cleanup(w, 3, r, 3, sw);

	wl_init(&w[0], "sleep");
	tagset_set(&w[0].affinity.soft_tags, "region", "eu");
	wl_init(&w[1], "sleep");
	w[1].affinity.soft_worker_id = strdup("a");
	worker_init(&r[0], "a", 4, "sleep");
	worker_init(&r[1], "b", 4, "sleep");
	tagset_set(&r[1].tags, "region", "eu");
	sw_init(sw, r, 2);
	sched_place(w, 2, sw, 2, NULL, 0, 0, 100, res);
	ok(res[0].worker == 1 && res[0].score == 10, "preferred region wins");
	ok(res[1].worker == 0 && res[1].score == 60, "preferred worker wins");
	cleanup(w, 2, r, 2, sw);
}

static void
test_least_loaded_and_backoff(void)
{
	struct workload		 w[2];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[2];

	wl_init(&w[0], "sleep");
	wl_init(&w[1], "sleep");
	w[1].not_before_ms = 5000;
	worker_init(&r[0], "a", 4, "sleep");
	r[0].used = 3;
	worker_init(&r[1], "b", 4, "sleep");
	r[1].used = 1;
	sw_init(sw, r, 2);
	sched_place(w, 2, sw, 2, NULL, 0, 1000, 100, res);
	ok(res[0].reason == SCHED_PLACED && res[0].worker == 1, "tie goes to the least loaded");
	is_str(sched_reason_name(res[1].reason), "retry_backoff", "backoff respected");
	sched_place(&w[1], 1, sw, 2, NULL, 0, 6000, 100, res);
	ok(res[0].reason == SCHED_PLACED, "placed once the backoff elapsed");
	cleanup(w, 2, r, 2, sw);
}

static void
test_batch_limit_and_dead(void)
{
	struct workload		 w[3];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[3];
	size_t			 i;

	for (i = 0; i < 3; i++)
		wl_init(&w[i], "sleep");
	worker_init(&r[0], "a", 10, "sleep");
	r[0].status = WORKER_DEAD;
	worker_init(&r[1], "b", 10, "sleep");
	sw_init(sw, r, 2);
	is_int(sched_place(w, 3, sw, 2, NULL, 0, 0, 2, res), 2, "batch limit caps placements");
	ok(res[0].worker == 1 && res[1].worker == 1, "dead worker never chosen");
	cleanup(w, 3, r, 2, sw);
}

static void
test_customer_quota(void)
{
	struct workload		 w[4];
	struct worker_rec	 r[1];
	struct sched_worker	 sw[1];
	struct sched_result	 res[4];
	struct sched_quota	 q[2] = { { "a", 1 }, { "c", 0 } };
	size_t			 i;

	for (i = 0; i < 4; i++)
		wl_init(&w[i], "sleep");
	w[0].customer_id = strdup("a");
	w[1].customer_id = strdup("a");
	w[2].customer_id = strdup("b");
	w[3].customer_id = strdup("c");
	worker_init(&r[0], "x", 10, "sleep");
	sw_init(sw, r, 1);
	is_int(sched_place(w, 4, sw, 1, q, 2, 0, 100, res), 2,
	    "quota-limited customers get no more than their remaining slots");
	ok(res[0].reason == SCHED_PLACED, "a's first workload fits its quota of 1");
	is_str(sched_reason_name(res[1].reason), "customer_max_concurrent",
	    "a's second waits for its quota");
	ok(res[2].reason == SCHED_PLACED, "unlimited customer b is placed");
	ok(res[3].reason == SCHED_QUOTA, "customer c at its limit waits");
	is_int(q[0].remaining, 0, "the quota was used up");
	cleanup(w, 4, r, 1, sw);
}

int
main(void)
{
	test_capacity_and_order();
	test_hard_affinity();
	test_no_head_of_line_blocking();
	test_anti_affinity_and_soft();
	test_least_loaded_and_backoff();
	test_batch_limit_and_dead();
	test_customer_quota();
	return tap_done();
}
