/*
 * sched_place: queue order, hard affinity, anti-affinity, soft scoring,
 * capacity, resources, the spread and binpack strategies, backoff, and no
 * head-of-line blocking; the indexed, memoised scheduler against a naive
 * reference on random fleets and queues.
 */
#include <stdint.h>
#include <stdio.h>
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
		sw[i].free = recs[i].offered;
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

/* Five sleeps; workers a (2 slots) and b (1). */
static void
fx_five_sleeps_three_slots(struct workload w[5], struct worker_rec r[2],
    struct sched_worker sw[2])
{
	size_t	 i;

	for (i = 0; i < 5; i++)
		wl_init(&w[i], "sleep");
	worker_init(&r[0], "a", 2, "sleep");
	worker_init(&r[1], "b", 1, "sleep");
	sw_init(sw, r, 2);
}

static void
test_capacity_and_order(void)
{
	struct workload		 w[5];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[5];
	size_t			 placed;

	fx_five_sleeps_three_slots(w, r, sw);
	placed = sched_place(w, 5, sw, 2, NULL, 0, 1000, 100, res);
	is_int(placed, 3, "three slots, three placements");
	ok(res[0].reason == SCHED_PLACED && res[1].reason == SCHED_PLACED &&
	    res[2].reason == SCHED_PLACED, "the first three in queue order are placed");
	ok(res[3].reason == SCHED_FULL && res[4].reason == SCHED_FULL,
	    "the rest wait for capacity");
	is_int(sw[0].used, 2, "worker a filled to capacity");
	is_int(sw[1].used, 1, "worker b filled to capacity");
	cleanup(w, 5, r, 2, sw);

	fx_five_sleeps_three_slots(w, r, sw);
	placed = sched_place(w, 5, sw, 2, NULL, 0, 1000, 2, res);
	is_int(placed, 2, "at most max_placements");
	ok(res[2].reason == SCHED_DEFERRED && res[3].reason == SCHED_DEFERRED &&
	    res[4].reason == SCHED_DEFERRED,
	    "the rest were not examined: deferred, though a slot is free");
	is_str(sched_reason_name(SCHED_DEFERRED), "deferred", "its name");
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

/* ---- resources and strategies ---- */

static void
test_gpu_request(void)
{
	struct workload		 w[5];
	struct worker_rec	 r[3];
	struct sched_worker	 sw[3];
	struct sched_result	 res[5];
	size_t			 i;

	for (i = 0; i < 4; i++) {
		wl_init(&w[i], "train");
		w[i].requests.gpus = 1;
	}
	wl_init(&w[4], "train");		/* asks for nothing */
	worker_init(&r[0], "cpu-only", 4, "train");
	worker_init(&r[1], "gpu-2", 4, "train");
	r[1].offered.gpus = 2;
	worker_init(&r[2], "gpu-1", 4, "train");
	r[2].offered.gpus = 1;
	sw_init(sw, r, 3);
	is_int(sched_place(w, 5, sw, 3, NULL, 0, 0, 100, res), 4,
	    "three gpus, three gpu workloads placed, and the one asking for nothing");
	ok(res[0].reason == SCHED_PLACED && res[0].worker == 1 &&
	    res[1].reason == SCHED_PLACED && res[1].worker == 2 &&
	    res[2].reason == SCHED_PLACED && res[2].worker == 1,
	    "gpu workloads land only on workers offering gpus (least loaded first)");
	is_int(res[3].reason, SCHED_RESOURCES, "the fourth waits once the gpus are taken");
	is_str(sched_reason_name(res[3].reason), "insufficient_resources",
	    "and says so, though the cpu-only worker has free slots");
	ok(res[4].reason == SCHED_PLACED && res[4].worker == 0,
	    "a workload asking for nothing still goes to the least loaded worker");
	ok(sw[1].free.gpus == 0 && sw[2].free.gpus == 0 && sw[0].free.gpus == 0 &&
	    r[1].offered.gpus == 2 && r[2].offered.gpus == 1,
	    "the gpus taken are gone from the workers' free resources, not their offers");
	cleanup(w, 5, r, 3, sw);
}

static void
test_memory_exhaustion(void)
{
	struct workload		 w[6];
	struct worker_rec	 r[2];
	struct sched_worker	 sw[2];
	struct sched_result	 res[6];
	size_t			 i;

	for (i = 0; i < 3; i++) {
		wl_init(&w[i], "etl");
		w[i].requests.memory_mb = 2048;
	}
	wl_init(&w[3], "etl");
	worker_init(&r[0], "m", 10, "etl");
	r[0].offered.memory_mb = 4096;
	sw_init(sw, r, 1);
	is_int(sched_place(w, 4, sw, 1, NULL, 0, 0, 100, res), 3,
	    "4 GiB: two 2 GiB workloads, and one asking for nothing");
	is_int(res[2].reason, SCHED_RESOURCES, "memory exhausted while slots remain");
	ok(sw[0].used == 3 && sw[0].free.memory_mb == 0, "slots and memory accounted");
	cleanup(w, 4, r, 1, sw);

	/* Precedence: a worker with a slot but no memory makes it RESOURCES
	 * even where another worker has the memory but no slot; with no slot
	 * anywhere it is FULL. */
	wl_init(&w[0], "etl");
	w[0].requests.memory_mb = 1024;
	worker_init(&r[0], "full-roomy", 2, "etl");
	r[0].offered.memory_mb = 8192;
	r[0].used = 2;
	worker_init(&r[1], "free-tight", 2, "etl");
	r[1].offered.memory_mb = 512;
	sw_init(sw, r, 2);
	sched_place(w, 1, sw, 2, NULL, 0, 0, 100, res);
	is_int(res[0].reason, SCHED_RESOURCES, "a free slot without the memory: resources");
	sw[1].used = 2;
	sched_place(w, 1, sw, 2, NULL, 0, 0, 100, res);
	is_int(res[0].reason, SCHED_FULL, "no free slot anywhere: full");
	cleanup(w, 1, r, 2, sw);

	/* The reason follows the fleet within one call: once the worker that
	 * had a slot but not the memory fills up, later ones are FULL. */
	for (i = 0; i < 6; i++) {
		wl_init(&w[i], "etl");
		if (i % 2 == 0)
			w[i].requests.memory_mb = 2048;
	}
	worker_init(&r[0], "only", 2, "etl");
	r[0].offered.memory_mb = 1024;
	sw_init(sw, r, 1);
	sched_place(w, 6, sw, 1, NULL, 0, 0, 100, res);
	ok(res[0].reason == SCHED_RESOURCES && res[1].reason == SCHED_PLACED &&
	    res[2].reason == SCHED_RESOURCES && res[3].reason == SCHED_PLACED &&
	    res[4].reason == SCHED_FULL && res[5].reason == SCHED_FULL,
	    "resources while a slot is free, full once none is");
	cleanup(w, 6, r, 1, sw);
}

static void
test_offers_nothing(void)
{
	struct workload		 w[2];
	struct worker_rec	 r[1];
	struct sched_worker	 sw[1];
	struct sched_result	 res[2];

	wl_init(&w[0], "sleep");
	wl_init(&w[1], "sleep");
	w[1].requests.cpu_millis = 1;
	worker_init(&r[0], "bare", 4, "sleep");
	sw_init(sw, r, 1);
	is_int(sched_place(w, 2, sw, 1, NULL, 0, 0, 100, res), 1, "one placed");
	ok(res[0].reason == SCHED_PLACED, "a worker offering nothing takes request-free work");
	is_int(res[1].reason, SCHED_RESOURCES, "but nothing that asks for cpu");
	cleanup(w, 2, r, 1, sw);
}

static void
test_free_decremented(void)
{
	struct workload		 w[2];
	struct worker_rec	 r[1];
	struct sched_worker	 sw[1];
	struct sched_result	 res[2];

	wl_init(&w[0], "render");
	w[0].requests.cpu_millis = 1500;
	w[0].requests.memory_mb = 1024;
	w[0].requests.gpus = 1;
	wl_init(&w[1], "render");
	w[1].requests.cpu_millis = 2500;
	worker_init(&r[0], "big", 8, "render");
	r[0].offered.cpu_millis = 4000;
	r[0].offered.memory_mb = 8192;
	r[0].offered.gpus = 2;
	sw_init(sw, r, 1);
	sw[0].free.memory_mb = 7000;	/* some held by what it runs */
	is_int(sched_place(w, 2, sw, 1, NULL, 0, 0, 100, res), 2, "both fit");
	ok(sw[0].free.cpu_millis == 0 && sw[0].free.memory_mb == 7000 - 1024 &&
	    sw[0].free.gpus == 1 && sw[0].used == 2,
	    "every kind requested is taken from the worker's free resources");
	ok(r[0].offered.cpu_millis == 4000 && r[0].offered.memory_mb == 8192 &&
	    r[0].offered.gpus == 2, "the worker record's offer is untouched");
	cleanup(w, 2, r, 1, sw);
}

static void
test_spread_and_binpack(void)
{
	struct workload		 w[4];
	struct worker_rec	 r[3];
	struct sched_worker	 sw[3];
	struct sched_result	 res[4];
	struct sched_opts	 o;
	size_t			 i;

	sched_opts_defaults(&o);
	is_int(o.strategy, SCHED_SPREAD, "spread is the default");
	wl_init(&w[0], "sleep");
	worker_init(&r[0], "half", 4, "sleep");
	r[0].used = 2;
	worker_init(&r[1], "empty", 4, "sleep");
	sw_init(sw, r, 2);
	sched_place(w, 1, sw, 2, NULL, 0, 0, 100, res);
	ok(res[0].reason == SCHED_PLACED && res[0].worker == 1, "spread: the empty worker");
	sched_worker_fini(&sw[0]);
	sched_worker_fini(&sw[1]);
	sw_init(sw, r, 2);
	o.strategy = SCHED_BINPACK;
	sched_place_with(w, 1, sw, 2, NULL, 0, 0, 100, &o, NULL, res);
	ok(res[0].reason == SCHED_PLACED && res[0].worker == 0,
	    "binpack: the half-full worker");
	cleanup(w, 1, r, 2, sw);

	/* Binpack fills the most loaded worker that still fits, by fraction
	 * of slots, and leaves whole workers free; the score still comes
	 * first. */
	for (i = 0; i < 4; i++)
		wl_init(&w[i], "sleep");
	tagset_set(&w[3].affinity.soft_tags, "zone", "b");
	worker_init(&r[0], "a", 8, "sleep");
	r[0].used = 4;				/* load 1/2 */
	worker_init(&r[1], "b", 2, "sleep");
	r[1].used = 1;				/* load 1/2, a later index */
	worker_init(&r[2], "c", 8, "sleep");	/* empty */
	tagset_set(&r[2].tags, "zone", "b");
	sw_init(sw, r, 3);
	sched_place_with(w, 4, sw, 3, NULL, 0, 0, 100, &o, NULL, res);
	ok(res[0].worker == 0 && res[1].worker == 0 && res[2].worker == 0,
	    "equal loads: the lower index, then it stays the most loaded");
	ok(res[3].worker == 2 && res[3].score == 10, "a preferred worker beats a fuller one");
	is_int(sw[1].used, 1, "the other half-full worker untouched");
	cleanup(w, 4, r, 3, sw);

	/* Requests bin-pack too: the fullest worker with room for them. */
	for (i = 0; i < 3; i++) {
		wl_init(&w[i], "train");
		w[i].requests.gpus = 1;
	}
	worker_init(&r[0], "g4", 8, "train");
	r[0].offered.gpus = 4;
	worker_init(&r[1], "g2", 8, "train");
	r[1].offered.gpus = 2;
	r[1].used = 1;
	worker_init(&r[2], "g0", 8, "train");
	r[2].used = 7;
	sw_init(sw, r, 3);
	sched_place_with(w, 3, sw, 3, NULL, 0, 0, 100, &o, NULL, res);
	ok(res[0].worker == 1 && res[1].worker == 1 && res[2].worker == 0,
	    "the most loaded worker with a free gpu, until its gpus are gone");
	cleanup(w, 3, r, 3, sw);
}

/* ---- the index against a brute-force reference ---- */

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n == 0 ? 0 : (uint32_t)(rng_state % n);
}

/* The reference: every worker examined for every workload, straight from
 * the rules in sched.h, kept deliberately naive. */
static bool
ref_has_cap(const struct worker_rec *r, const char *cap)
{
	size_t	 i;

	for (i = 0; i < r->capabilities.n; i++)
		if (strcmp(r->capabilities.v[i], cap) == 0)
			return true;
	return false;
}

static bool
ref_has_tag(const struct worker_rec *r, const char *k, const char *v)
{
	size_t	 i;

	for (i = 0; i < r->tags.n; i++)
		if (strcmp(r->tags.v[i].key, k) == 0)
			return strcmp(r->tags.v[i].value, v) == 0;
	return false;
}

static bool
ref_runs(const struct sched_worker *sw, const char *type)
{
	size_t	 i;

	for (i = 0; i < sw->running_types.n; i++)
		if (strcmp(sw->running_types.v[i], type) == 0)
			return true;
	return false;
}

static bool
ref_res_fit(const struct resources *free_, const struct resources *req)
{
	return (req->cpu_millis == 0 || free_->cpu_millis >= req->cpu_millis) &&
	    (req->memory_mb == 0 || free_->memory_mb >= req->memory_mb) &&
	    (req->gpus == 0 || free_->gpus >= req->gpus);
}

static size_t
ref_place(const struct workload *p, size_t np, struct sched_worker *sw, size_t nw,
    struct sched_quota *q, size_t nq, uint64_t now, size_t max, bool pack,
    struct sched_result *res)
{
	const struct affinity	*a;
	const struct worker_rec	*r;
	struct sched_quota	*quota;
	enum sched_reason	 stage;
	size_t			 i, j, k, best, placed = 0;
	uint32_t		 score, best_score = 0;
	uint64_t		 lj, lb;
	bool			 ok_, better;

	for (i = 0; i < np; i++) {
		res[i].reason = SCHED_DEFERRED;
		res[i].worker = 0;
		res[i].score = 0;
	}
	for (i = 0; i < np && placed < max; i++) {
		a = &p[i].affinity;
		if (p[i].not_before_ms > now) {
			res[i].reason = SCHED_BACKOFF;
			continue;
		}
		quota = NULL;
		for (k = 0; k < nq && p[i].customer_id != NULL; k++)
			if (strcmp(q[k].customer_id, p[i].customer_id) == 0)
				quota = &q[k];
		if (quota != NULL && quota->remaining == 0) {
			res[i].reason = SCHED_QUOTA;
			continue;
		}
		/* The furthest stage any worker got to: NO_TYPE, NO_MATCH,
		 * ANTI, FULL (passed anti-affinity), RESOURCES (and had a
		 * free slot). */
		stage = SCHED_NO_TYPE;
		best = nw;
		for (j = 0; j < nw; j++) {
			r = sw[j].rec;
			if (r->status != WORKER_ALIVE || !ref_has_cap(r, p[i].type))
				continue;
			for (ok_ = true, k = 0; k < a->hard_types.n; k++)
				ok_ = ok_ && ref_has_cap(r, a->hard_types.v[k]);
			if (!ok_)
				continue;
			if (stage == SCHED_NO_TYPE)
				stage = SCHED_NO_MATCH;
			if (a->hard_worker_id != NULL && strcmp(a->hard_worker_id, r->id) != 0)
				continue;
			for (k = 0; k < a->hard_tags.n; k++)
				ok_ = ok_ && ref_has_tag(r, a->hard_tags.v[k].key,
				    a->hard_tags.v[k].value);
			if (!ok_)
				continue;
			if (stage == SCHED_NO_MATCH)
				stage = SCHED_ANTI;
			for (k = 0; k < a->anti_types.n; k++)
				ok_ = ok_ && !ref_runs(&sw[j], a->anti_types.v[k]);
			if (!ok_)
				continue;
			if (stage == SCHED_ANTI)
				stage = SCHED_FULL;
			if (sw[j].used >= r->capacity)
				continue;
			stage = SCHED_RESOURCES;
			if (!ref_res_fit(&sw[j].free, &p[i].requests))
				continue;
			score = 0;
			if (a->soft_worker_id != NULL && strcmp(a->soft_worker_id, r->id) == 0)
				score += 60;
			for (k = 0; k < a->soft_tags.n; k++)
				if (ref_has_tag(r, a->soft_tags.v[k].key, a->soft_tags.v[k].value))
					score += 10;
			if (score > 100)
				score = 100;
			/* Higher score; then lower (spread) or higher (binpack)
			 * used/capacity; then lower index. */
			better = best == nw || score > best_score;
			if (!better && score == best_score) {
				lj = (uint64_t)sw[j].used * sw[best].rec->capacity;
				lb = (uint64_t)sw[best].used * r->capacity;
				better = pack ? lj > lb : lj < lb;
			}
			if (better) {
				best = j;
				best_score = score;
			}
		}
		if (best == nw) {
			res[i].reason = stage;
			continue;
		}
		sw[best].used++;
		sw[best].free.cpu_millis -= p[i].requests.cpu_millis;
		sw[best].free.memory_mb -= p[i].requests.memory_mb;
		sw[best].free.gpus -= p[i].requests.gpus;
		if (!ref_runs(&sw[best], p[i].type))
			strlist_add(&sw[best].running_types, p[i].type);
		if (quota != NULL)
			quota->remaining--;
		res[i].reason = SCHED_PLACED;
		res[i].worker = best;
		res[i].score = best_score;
		placed++;
	}
	return placed;
}

static const char *const rt_types[] = { "a", "b", "c", "d", "e" };
static const char *const rt_keys[] = { "r", "z", "g" };
static const char *const rt_vals[] = { "1", "2", "3" };

struct rcase {
	struct worker_rec	*recs;
	size_t			 nw;
	struct workload		*wl;
	size_t			 np;
	struct strlist		*running;	/* per worker, at the start */
	struct resources	*free0;		/* per worker, at the start */
	uint32_t		 quota[2];
	size_t			 max;
};

static const char *
rt_pick(const char *const *v, size_t n)
{
	return v[rng((uint32_t)n)];
}

static void
rcase_tag(struct tagset *t, uint32_t vals)
{
	tagset_set(t, rt_pick(rt_keys, 3), rt_vals[rng(vals)]);
}

static const uint32_t rt_cpu[] = { 0, 500, 1000, 2000, 4000 };
static const uint32_t rt_mem[] = { 0, 512, 1024, 4096, 8192 };

/* Some resources, of some kinds, from small sets so that they collide. */
static void
rcase_resources(struct resources *r, uint32_t scale)
{
	r->cpu_millis = rng(2) ? rt_cpu[rng(5)] * scale : 0;
	r->memory_mb = rng(2) ? rt_mem[rng(5)] * scale : 0;
	r->gpus = rng(3) == 0 ? rng(3) * scale : 0;
}

static void
rcase_make(struct rcase *c)
{
	struct workload	*w;
	char		 id[16];
	uint32_t	 vals = 1 + rng(3), ntypes = 1 + rng(5), k;
	size_t		 i;

	memset(c, 0, sizeof *c);
	c->nw = 1 + rng(rng(4) == 0 ? 120 : 50);
	c->np = 1 + rng(300);
	c->recs = calloc(c->nw, sizeof *c->recs);
	c->running = calloc(c->nw, sizeof *c->running);
	c->free0 = calloc(c->nw, sizeof *c->free0);
	c->wl = calloc(c->np, sizeof *c->wl);
	for (i = 0; i < c->nw; i++) {
		snprintf(id, sizeof id, "w%u", rng(4) == 0 ? rng((uint32_t)c->nw) : (uint32_t)i);
		c->recs[i].id = strdup(id);
		c->recs[i].capacity = rng(5);
		c->recs[i].status = rng(8) == 0 ? (rng(2) ? WORKER_DEAD : WORKER_DRAINING) :
		    WORKER_ALIVE;
		for (k = 0; k < 3; k++)
			if (rng(2))
				strlist_add(&c->recs[i].capabilities, rt_types[rng(ntypes)]);
		for (k = rng(4); k > 0; k--)
			rcase_tag(&c->recs[i].tags, vals);
		if (rng(3) == 0)
			strlist_add(&c->running[i], rt_types[rng(ntypes)]);
		c->recs[i].used = rng(3) == 0 ? rng(c->recs[i].capacity + 2) : 0;
		if (rng(2) == 0) {
			rcase_resources(&c->recs[i].offered, 2);
			/* What the workloads it holds asked for is taken. */
			c->free0[i] = c->recs[i].offered;
			if (rng(3) == 0) {
				c->free0[i].cpu_millis -= rng(c->free0[i].cpu_millis + 1);
				c->free0[i].memory_mb -= rng(c->free0[i].memory_mb + 1);
				c->free0[i].gpus -= rng(c->free0[i].gpus + 1);
			}
		}
	}
	for (i = 0; i < c->np; i++) {
		w = &c->wl[i];
		if (i > 0 && rng(2) == 0) {	/* shapes repeat, as in real queues */
			workload_dup(w, &c->wl[rng((uint32_t)i)]);
			if (rng(4) == 0)
				w->not_before_ms = rng(3) == 0 ? 2000 : 0;
			continue;
		}
		w->type = strdup(rng(12) == 0 ? "x" : rt_types[rng(ntypes)]);
		w->priority = 100;
		if (rng(6) == 0)
			strlist_add(&w->affinity.hard_types, rt_types[rng(ntypes)]);
		for (k = rng(3) == 0 ? 1 + rng(2) : 0; k > 0; k--)
			rcase_tag(&w->affinity.hard_tags, vals);
		if (rng(10) == 0) {
			snprintf(id, sizeof id, "w%u", rng((uint32_t)c->nw + 2));
			w->affinity.hard_worker_id = strdup(id);
		}
		if (rng(4) == 0) {
			snprintf(id, sizeof id, "w%u", rng((uint32_t)c->nw + 2));
			w->affinity.soft_worker_id = strdup(id);
		}
		for (k = rng(2) == 0 ? rng(4) : 0; k > 0; k--)
			rcase_tag(&w->affinity.soft_tags, vals);
		for (k = rng(4) == 0 ? 1 + rng(2) : 0; k > 0; k--)
			strlist_add(&w->affinity.anti_types, rt_types[rng(ntypes)]);
		if (rng(3) == 0)
			rcase_resources(&w->requests, 1);
		if (rng(3) != 0)
			w->customer_id = strdup(rng(3) == 0 ? "c0" : rng(2) ? "c1" : "c2");
		w->not_before_ms = rng(10) == 0 ? 2000 : 0;
	}
	c->quota[0] = rng(20);
	c->quota[1] = rng(3) == 0 ? 0 : rng(200);
	c->max = rng(5) == 0 ? rng(40) : c->np;
}

static void
rcase_free(struct rcase *c)
{
	size_t	 i;

	for (i = 0; i < c->nw; i++) {
		worker_rec_fini(&c->recs[i]);
		strlist_fini(&c->running[i]);
	}
	for (i = 0; i < c->np; i++)
		workload_fini(&c->wl[i]);
	free(c->recs);
	free(c->running);
	free(c->free0);
	free(c->wl);
}

/* Fresh per-run state: workers and quotas as at the start of the case. */
static void
rcase_state(const struct rcase *c, struct sched_worker *sw, struct sched_quota *q)
{
	size_t	 i;

	for (i = 0; i < c->nw; i++) {
		memset(&sw[i], 0, sizeof sw[i]);
		sw[i].rec = &c->recs[i];
		sw[i].used = c->recs[i].used;
		sw[i].free = c->free0[i];
		strlist_dup(&sw[i].running_types, &c->running[i]);
	}
	q[0].customer_id = "c0";
	q[0].remaining = c->quota[0];
	q[1].customer_id = "c1";
	q[1].remaining = c->quota[1];
}

/* Runs case c with opts and the reference; the first difference goes to
 * diag.  Returns true if they agree on every result and on the state. */
static bool
rcase_check(const struct rcase *c, int num, const char *label,
    const struct sched_opts *opts, struct sched_stats *stats)
{
	struct sched_worker	*sw = calloc(c->nw, sizeof *sw);
	struct sched_worker	*rw = calloc(c->nw, sizeof *rw);
	struct sched_result	*res = calloc(c->np, sizeof *res);
	struct sched_result	*ref = calloc(c->np, sizeof *ref);
	struct sched_quota	 q[2], rq[2];
	size_t			 i, k, n, rn;
	bool			 same = true;

	rcase_state(c, sw, q);
	rcase_state(c, rw, rq);
	n = sched_place_with(c->wl, c->np, sw, c->nw, q, 2, 1000, c->max, opts, stats, res);
	rn = ref_place(c->wl, c->np, rw, c->nw, rq, 2, 1000, c->max,
	    opts->strategy == SCHED_BINPACK, ref);
	if (n != rn) {
		tap_diag("%s case %d: %zu placed, reference %zu", label, num, n, rn);
		same = false;
	}
	for (i = 0; i < c->np && same; i++) {
		if (res[i].reason != ref[i].reason ||
		    (ref[i].reason == SCHED_PLACED && (res[i].worker != ref[i].worker ||
		    res[i].score != ref[i].score))) {
			tap_diag("%s case %d, workload %zu: %s worker %zu score %u, "
			    "reference %s worker %zu score %u", label, num, i,
			    sched_reason_name(res[i].reason), res[i].worker, res[i].score,
			    sched_reason_name(ref[i].reason), ref[i].worker, ref[i].score);
			same = false;
		}
	}
	for (i = 0; i < c->nw && same; i++) {
		if (sw[i].used != rw[i].used ||
		    sw[i].running_types.n != rw[i].running_types.n ||
		    memcmp(&sw[i].free, &rw[i].free, sizeof sw[i].free) != 0) {
			tap_diag("%s case %d: worker %zu state differs", label, num, i);
			same = false;
		}
		for (k = 0; k < rw[i].running_types.n && same; k++)
			same = strcmp(sw[i].running_types.v[k], rw[i].running_types.v[k]) == 0;
	}
	if (same && (q[0].remaining != rq[0].remaining || q[1].remaining != rq[1].remaining)) {
		tap_diag("%s case %d: quotas differ", label, num);
		same = false;
	}
	for (i = 0; i < c->nw; i++) {
		sched_worker_fini(&sw[i]);
		sched_worker_fini(&rw[i]);
	}
	free(sw);
	free(rw);
	free(res);
	free(ref);
	return same;
}

/* Counts the outcomes of case c into unplaced[]; returns the placements. */
static size_t
rcase_tally(const struct rcase *c, int *unplaced)
{
	struct sched_worker	*sw = calloc(c->nw, sizeof *sw);
	struct sched_result	*res = calloc(c->np, sizeof *res);
	struct sched_quota	 q[2];
	size_t			 k, placed;

	rcase_state(c, sw, q);
	placed = sched_place(c->wl, c->np, sw, c->nw, q, 2, 1000, c->max, res);
	for (k = 0; k < c->np; k++)
		unplaced[res[k].reason]++;
	for (k = 0; k < c->nw; k++)
		sched_worker_fini(&sw[k]);
	free(sw);
	free(res);
	return placed;
}

static void
test_index_matches_reference(void)
{
	static const struct {
		const char	*label;
		bool		 scan_all, memo;
		size_t		 budget;
	} modes[] = {
		{ "defaults", false, true, SCHED_HEAP_BUDGET },
		{ "tight heap budget", false, true, 40 },
		{ "memo, no heaps", false, true, 0 },
		{ "index only", false, false, 0 },
		{ "whole-fleet scan", true, false, 0 },
	};
	static const struct {
		const char		*label;
		enum sched_strategy	 strategy;
	} strategies[] = {
		{ "spread", SCHED_SPREAD },
		{ "binpack", SCHED_BINPACK },
	};
	struct sched_opts	 o;
	struct sched_stats	 st;
	struct rcase		 c;
	char			 label[64];
	size_t			 m, g, placed = 0, heaps[2] = { 0 }, memo[2] = { 0 };
	size_t			 picks[2] = { 0 }, differ = 0;
	int			 i, bad[2][5] = { { 0 } }, unplaced[SCHED__COUNT] = { 0 };
	struct sched_worker	*sw[2];
	struct sched_result	*res[2];
	struct sched_quota	 q[2][2];

	for (i = 0; i < 200; i++) {
		rcase_make(&c);
		for (g = 0; g < 2; g++) {
			for (m = 0; m < 5; m++) {
				sched_opts_defaults(&o);
				o.strategy = strategies[g].strategy;
				o.scan_all = modes[m].scan_all;
				o.memo = modes[m].memo;
				o.heap_budget = modes[m].budget;
				snprintf(label, sizeof label, "%s, %s", strategies[g].label,
				    modes[m].label);
				if (!rcase_check(&c, i, label, &o, &st))
					bad[g][m]++;
				if (m == 0) {
					heaps[g] += st.heaps_built;
					memo[g] += st.memo_hits;
					picks[g] += st.heap_picks;
				}
			}
		}
		placed += rcase_tally(&c, unplaced);
		/* Do the strategies ever choose differently? */
		for (g = 0; g < 2; g++) {
			sw[g] = calloc(c.nw, sizeof *sw[g]);
			res[g] = calloc(c.np, sizeof *res[g]);
			rcase_state(&c, sw[g], q[g]);
			sched_opts_defaults(&o);
			o.strategy = strategies[g].strategy;
			sched_place_with(c.wl, c.np, sw[g], c.nw, q[g], 2, 1000, c.max, &o,
			    NULL, res[g]);
		}
		for (m = 0; m < c.np; m++)
			differ += res[0][m].reason == SCHED_PLACED &&
			    res[1][m].reason == SCHED_PLACED && res[0][m].worker != res[1][m].worker;
		for (g = 0; g < 2; g++) {
			for (m = 0; m < c.nw; m++)
				sched_worker_fini(&sw[g][m]);
			free(sw[g]);
			free(res[g]);
		}
		rcase_free(&c);
	}
	for (g = 0; g < 2; g++)
		for (m = 0; m < 5; m++)
			ok(bad[g][m] == 0, "200 random fleets and queues: %s, %s agrees with "
			    "the brute-force reference (%d cases differ)", strategies[g].label,
			    modes[m].label, bad[g][m]);
	tap_diag("placed %zu; backoff %d no_type %d no_match %d anti %d full %d quota %d "
	    "resources %d; heaps %zu/%zu, heap picks %zu/%zu, memo hits %zu/%zu "
	    "(spread/binpack); %zu placements differ by strategy", placed,
	    unplaced[SCHED_BACKOFF], unplaced[SCHED_NO_TYPE], unplaced[SCHED_NO_MATCH],
	    unplaced[SCHED_ANTI], unplaced[SCHED_FULL], unplaced[SCHED_QUOTA],
	    unplaced[SCHED_RESOURCES], heaps[0], heaps[1], picks[0], picks[1], memo[0],
	    memo[1], differ);
	ok(placed > 1000 && unplaced[SCHED_NO_TYPE] > 0 && unplaced[SCHED_NO_MATCH] > 0 &&
	    unplaced[SCHED_ANTI] > 0 && unplaced[SCHED_FULL] > 0 && unplaced[SCHED_QUOTA] > 0 &&
	    unplaced[SCHED_BACKOFF] > 0 && unplaced[SCHED_RESOURCES] > 0,
	    "the random cases reach every outcome");
	ok(heaps[0] > 0 && picks[0] > 0 && memo[0] > 0 && heaps[1] > 0 && picks[1] > 0 &&
	    memo[1] > 0, "and the cached paths were taken, for both strategies");
	ok(differ > 100, "and the strategies do choose differently (%zu placements)", differ);
}

/* One slot for ten thousand workloads: after the first placement the rest
 * are answered from the memo, not by scanning. */
static void
test_full_fast_path(void)
{
	struct workload		 w[3];
	struct workload		*many;
	struct worker_rec	 r[100];
	struct sched_worker	 sw[100];
	struct sched_result	*res;
	struct sched_stats	 st;
	size_t			 i, n = 10000, full = 0;
	char			 id[16];

	many = calloc(n, sizeof *many);
	res = calloc(n, sizeof *res);
	for (i = 0; i < n; i++)
		wl_init(&many[i], "sleep");
	worker_init(&r[0], "a", 1, "sleep");
	sw_init(sw, r, 1);
	is_int(sched_place_with(many, n, sw, 1, NULL, 0, 0, n, NULL, &st, res), 1,
	    "one slot, one placement");
	for (i = 1; i < n; i++)
		full += res[i].reason == SCHED_FULL;
	is_int(full, n - 1, "everyone else: no free capacity");
	ok(st.examined <= 4 && st.memo_hits == n - 2,
	    "answered from the memo without scanning (%zu examined, %zu memo hits)",
	    st.examined, st.memo_hits);
	for (i = 0; i < n; i++)
		workload_fini(&many[i]);
	cleanup(NULL, 0, r, 1, sw);

	/* A full fleet: the exact reasons still come out, each shape costing
	 * one short scan. */
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "w%zu", i);
		worker_init(&r[i], id, 2, "sleep,db");
		r[i].used = 2;
	}
	sw_init(sw, r, 100);
	for (i = 0; i < 100; i++)
		strlist_add(&sw[i].running_types, "db");
	wl_init(&w[0], "sleep");
	wl_init(&w[1], "exec");
	wl_init(&w[2], "db");
	strlist_add(&w[2].affinity.anti_types, "db");
	for (i = 0; i < n; i++)
		workload_dup(&many[i], &w[i % 3]);
	sched_place_with(many, n, sw, 100, NULL, 0, 0, n, NULL, &st, res);
	ok(res[0].reason == SCHED_FULL && res[1].reason == SCHED_NO_TYPE &&
	    res[2].reason == SCHED_ANTI && res[n - 1].reason == res[(n - 1) % 3].reason,
	    "a full fleet keeps the exact reasons");
	ok(st.examined <= 102 && st.memo_hits == n - 3,
	    "at one scan per shape (%zu examined, %zu memo hits)", st.examined, st.memo_hits);
	for (i = 0; i < n; i++)
		workload_fini(&many[i]);
	free(many);
	free(res);
	cleanup(w, 3, r, 100, sw);
}

/* Repeating shapes with and without requests, under both strategies: the
 * same answers as the reference, mostly from the cached heaps. */
static void
test_cached_at_scale(void)
{
	static const char *const zones[] = { "a", "b", "c" };
	struct workload		*w;
	struct worker_rec	*r;
	struct sched_worker	*sw, *rw;
	struct sched_result	*res, *ref;
	struct sched_stats	 st;
	struct sched_opts	 o;
	size_t			 nw = 300, np = 6000, i, g, placed, same, k;
	char			 id[16];

	w = calloc(np, sizeof *w);
	r = calloc(nw, sizeof *r);
	sw = calloc(nw, sizeof *sw);
	rw = calloc(nw, sizeof *rw);
	res = calloc(np, sizeof *res);
	ref = calloc(np, sizeof *ref);
	for (i = 0; i < nw; i++) {
		snprintf(id, sizeof id, "w%zu", i);
		worker_init(&r[i], id, 4 + (uint32_t)(i % 5) * 2, "sleep,train");
		tagset_set(&r[i].tags, "zone", zones[i % 3]);
		r[i].used = (uint32_t)(i % 4);
		if (i % 2 == 0)
			r[i].offered.memory_mb = 16384;
		if (i % 7 == 0)
			r[i].offered.gpus = 2;
	}
	for (i = 0; i < np; i++) {
		switch (i % 6) {
		case 0:
			wl_init(&w[i], "sleep");
			break;
		case 1:
			wl_init(&w[i], "sleep");
			w[i].requests.memory_mb = 2048;
			break;
		case 2:
			wl_init(&w[i], "train");
			w[i].requests.gpus = 1;
			w[i].requests.memory_mb = 4096;
			break;
		case 3:
			wl_init(&w[i], "sleep");
			tagset_set(&w[i].affinity.soft_tags, "zone", "b");
			w[i].requests.memory_mb = 1024;
			break;
		case 4:
			wl_init(&w[i], "train");
			strlist_add(&w[i].affinity.anti_types, "train");
			break;
		default:
			wl_init(&w[i], "sleep");
			tagset_set(&w[i].affinity.soft_tags, "zone", zones[i % 2]);
			break;
		}
	}
	for (g = 0; g < 2; g++) {
		sched_opts_defaults(&o);
		o.strategy = g == 0 ? SCHED_SPREAD : SCHED_BINPACK;
		sw_init(sw, r, nw);
		sw_init(rw, r, nw);
		placed = sched_place_with(w, np, sw, nw, NULL, 0, 0, np, &o, &st, res);
		same = placed == ref_place(w, np, rw, nw, NULL, 0, 0, np, g == 1, ref);
		for (i = 0; i < np && same; i++)
			same = res[i].reason == ref[i].reason && res[i].worker == ref[i].worker &&
			    res[i].score == ref[i].score;
		for (i = 0; i < nw && same; i++)
			same = sw[i].used == rw[i].used &&
			    memcmp(&sw[i].free, &rw[i].free, sizeof sw[i].free) == 0;
		for (i = 0, k = 0; i < np; i++)
			k += res[i].reason == SCHED_RESOURCES;
		ok(same && k > 0, "%s, %zu placed, %zu for want of resources: as the reference",
		    g == 0 ? "spread" : "binpack", placed, k);
		ok(st.heap_picks * 2 > placed && st.examined < np * nw / 20,
		    "%s: mostly from the heaps (%zu of %zu placements, %zu workers examined, "
		    "%zu memo hits)", g == 0 ? "spread" : "binpack", st.heap_picks, placed,
		    st.examined, st.memo_hits);
		for (i = 0; i < nw; i++) {
			sched_worker_fini(&sw[i]);
			sched_worker_fini(&rw[i]);
		}
	}
	for (i = 0; i < np; i++)
		workload_fini(&w[i]);
	for (i = 0; i < nw; i++)
		worker_rec_fini(&r[i]);
	free(w);
	free(r);
	free(sw);
	free(rw);
	free(res);
	free(ref);
}

/* ---- aging ---- */

/* Ranks waiting[0..n) as the coordinator's pending index does: queue key,
 * highest first, then submission order. */
static int
aging_cmp(const void *a, const void *b)
{
	const struct workload	*x = a, *y = b;

	if (x->queue_key != y->queue_key)
		return x->queue_key > y->queue_key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * One worker with one slot; every minute an enterprise workload arrives and
 * every workload runs exactly one minute, so the enterprise stream alone
 * keeps the worker busy.  A free-tier workload waiting from t=0 starts at
 * the minute it starts, or UINT32_MAX if not within limit minutes.
 */
static uint32_t
aging_run(const struct queue_policy *pol, uint32_t limit)
{
	struct workload		*all, *order;
	struct worker_rec	 r[1];
	struct sched_worker	 sw[1];
	struct sched_result	*res;
	bool			*waiting;
	size_t			 n = 0, nw, i, running = SIZE_MAX;
	uint32_t		 minute, started = UINT32_MAX;

	all = calloc(limit + 2, sizeof *all);
	order = calloc(limit + 2, sizeof *order);
	waiting = calloc(limit + 2, sizeof *waiting);
	res = calloc(limit + 2, sizeof *res);
	worker_init(&r[0], "only", 1, "sleep");
	sw_init(sw, r, 1);
	wl_init(&all[n], "sleep");
	all[n].tier = TIER_FREE;
	all[n].priority = 100;
	all[n].seq = n;
	all[n].queue_key = workload_queue_key(&all[n], pol);
	waiting[n++] = true;
	for (minute = 0; minute < limit && started == UINT32_MAX; minute++) {
		if (running != SIZE_MAX) {	/* the last one ran its minute */
			sw[0].used = 0;
			running = SIZE_MAX;
		}
		wl_init(&all[n], "sleep");
		all[n].tier = TIER_ENTERPRISE;
		all[n].priority = 100;
		all[n].created_ms = (uint64_t)minute * 60000;
		all[n].seq = n;
		all[n].queue_key = workload_queue_key(&all[n], pol);
		waiting[n++] = true;
		for (i = 0, nw = 0; i < n; i++)
			if (waiting[i])
				order[nw++] = all[i];	/* shallow: read only */
		qsort(order, nw, sizeof *order, aging_cmp);
		if (sched_place(order, nw, sw, 1, NULL, 0, (uint64_t)minute * 60000, 1, res) != 1)
			break;
		for (i = 0; i < nw; i++) {
			if (res[i].reason != SCHED_PLACED)
				continue;
			running = (size_t)order[i].seq;
			waiting[running] = false;
			if (running == 0)
				started = minute;
		}
		sched_worker_fini(&sw[0]);	/* running types do not matter here */
	}
	for (i = 0; i < n; i++)
		workload_fini(&all[i]);
	cleanup(NULL, 0, r, 1, sw);
	free(all);
	free(order);
	free(waiting);
	free(res);
	return started;
}

static void
test_aging_bound(void)
{
	struct queue_policy	 pol;
	uint64_t		 bound, general;
	uint32_t		 start;

	queue_policy_defaults(&pol);
	is_int(pol.tier_weight[TIER_FREE], 1, "free tier weight 1");
	is_int(pol.tier_weight[TIER_ENTERPRISE], 100, "enterprise tier weight 100");
	is_int(pol.aging_per_min, 5, "aging 5 per minute");
	/* The documented bound, for this competition: (100 × 100 − 100 × 1) / 5. */
	bound = ((uint64_t)100 * pol.tier_weight[TIER_ENTERPRISE] -
	    (uint64_t)100 * pol.tier_weight[TIER_FREE]) / pol.aging_per_min;
	general = ((uint64_t)MODEL_PRIORITY_MAX * pol.tier_weight[TIER_ENTERPRISE] -
	    (uint64_t)100 * pol.tier_weight[TIER_FREE]) / pol.aging_per_min;
	is_int(bound, 1980, "bound: 1980 minutes");
	start = aging_run(&pol, 5000);
	tap_diag("free-tier workload started at minute %u (bound %llu, general bound %llu)",
	    start, (unsigned long long)bound, (unsigned long long)general);
	ok(start != UINT32_MAX && start <= bound + 1,
	    "a free-tier workload behind an endless enterprise stream starts within the bound");
	ok(start != UINT32_MAX && start >= 1900, "and not much before it: aging let it through");
	ok(start <= general, "within the general bound too");

	pol.aging_per_min = 0;
	ok(aging_run(&pol, 5000) == UINT32_MAX,
	    "without aging it starves: not started in 5000 minutes");
}

/* workload_queue_key orders as workload_effective_priority does at every
 * time: a higher key never has a lower effective priority, and a higher
 * effective priority always has a higher key. */
static void
test_queue_key_order(void)
{
	struct queue_policy	 pol;
	struct workload		 w[40];
	uint64_t		 t, ea, eb;
	int64_t			 ka, kb;
	size_t			 i, j, k, bad = 0, strict = 0;

	queue_policy_defaults(&pol);
	for (i = 0; i < 40; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].priority = rng(MODEL_PRIORITY_MAX + 1);
		w[i].tier = (enum tier)rng(TIER__COUNT);
		w[i].created_ms = 1700000000000ULL + (uint64_t)rng(86400) * 1000 + rng(1000);
	}
	for (k = 0; k < 30; k++) {
		t = 1700000000000ULL + 86400000ULL + (uint64_t)rng(30) * 86400000ULL +
		    rng(3600000);
		for (i = 0; i < 40; i++) {
			for (j = 0; j < 40; j++) {
				ka = workload_queue_key(&w[i], &pol);
				kb = workload_queue_key(&w[j], &pol);
				ea = workload_effective_priority(&w[i], &pol, t);
				eb = workload_effective_priority(&w[j], &pol, t);
				if ((ka > kb && ea < eb) || (ea > eb && ka <= kb))
					bad++;
				strict += ea > eb;
			}
		}
	}
	ok(bad == 0 && strict > 1000,
	    "queue key order is effective priority order at 30 times (%zu disagreements)", bad);
	ok(workload_effective_priority(&w[0], &pol, w[0].created_ms) ==
	    workload_base_priority(&w[0], &pol) &&
	    workload_effective_priority(&w[0], &pol, w[0].created_ms + 60000) ==
	    workload_base_priority(&w[0], &pol) + 5,
	    "five points per minute waited");
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
	test_gpu_request();
	test_memory_exhaustion();
	test_offers_nothing();
	test_free_decremented();
	test_spread_and_binpack();
	test_index_matches_reference();
	test_full_fast_path();
	test_cached_at_scale();
	test_aging_bound();
	test_queue_key_order();
	return tap_done();
}
