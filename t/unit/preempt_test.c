/*
 * preempt_pick: the policy (on/off, tiers, max_in_a_row), taken and
 * non-running candidates, hard affinity, anti-affinity against what still
 * runs on the worker, resources freed by the victim, the order among
 * victims, and over-full, dead or unknown workers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/preempt.h"
#include "t/tap.h"

#define FX_WL		8
#define FX_WK		3

/* A small fleet: the preemptor, running workloads, workers, candidates. */
struct fx {
	struct workload		 w;		/* the one that could not be placed */
	struct workload		 run[FX_WL];	/* running ones */
	struct worker_rec	 rec[FX_WK];
	struct sched_worker	 sw[FX_WK];
	struct preempt_candidate cand[FX_WL];
	size_t			 n_run;
	size_t			 n_wk;
	struct preempt_policy	 pol;
};

static void
fx_wl_init(struct workload *w, const char *type, enum tier tier, uint32_t prio)
{
	memset(w, 0, sizeof *w);
	model_id_generate(w->id);
	w->type = strdup(type);
	w->tier = tier;
	w->priority = prio;
}

static void
fx_init(struct fx *f, enum tier tier)
{
	memset(f, 0, sizeof *f);
	fx_wl_init(&f->w, "sleep", tier, 100);
	f->w.status = WL_PENDING;
	preempt_policy_defaults(&f->pol);
}

/* Adds worker id with capacity slots, all used, running "sleep" and caps. */
static size_t
fx_worker(struct fx *f, const char *id, uint32_t capacity, const char *caps)
{
	struct worker_rec	*r = &f->rec[f->n_wk];
	struct sched_worker	*sw = &f->sw[f->n_wk];
	char			*copy, *tok, *save = NULL;

	r->id = strdup(id);
	r->capacity = capacity;
	r->used = capacity;
	r->status = WORKER_ALIVE;
	copy = strdup(caps);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		strlist_add(&r->capabilities, tok);
	free(copy);
	sw->rec = r;
	sw->used = r->used;
	return f->n_wk++;
}

/* Adds a running workload on worker k as a candidate; its type joins the
 * worker's running types. */
static struct workload *
fx_run(struct fx *f, size_t k, const char *type, enum tier tier, uint32_t prio,
    uint64_t started_ms)
{
	struct workload		*v = &f->run[f->n_run];

	fx_wl_init(v, type, tier, prio);
	v->status = WL_RUNNING;
	v->started_ms = started_ms;
	v->worker_id = strdup(f->rec[k].id);
	if (!strlist_contains(&f->sw[k].running_types, type))
		strlist_add(&f->sw[k].running_types, type);
	f->cand[f->n_run].w = v;
	f->cand[f->n_run].worker = k;
	f->cand[f->n_run].taken = false;
	f->n_run++;
	return v;
}

static size_t
fx_pick(const struct fx *f)
{
	return preempt_pick(&f->w, f->sw, f->n_wk, f->cand, f->n_run, &f->pol);
}

static void
fx_fini(struct fx *f)
{
	size_t	 i;

	workload_fini(&f->w);
	for (i = 0; i < FX_WL; i++)	/* tests shrink n_run; all were zeroed */
		workload_fini(&f->run[i]);
	for (i = 0; i < f->n_wk; i++) {
		worker_rec_fini(&f->rec[i]);
		sched_worker_fini(&f->sw[i]);
	}
}

static void
test_defaults(void)
{
	struct preempt_policy	 p;

	memset(&p, 0xa5, sizeof p);
	preempt_policy_defaults(&p);
	ok(p.enabled, "defaults: enabled");
	is_int(p.min_preemptor, TIER_ENTERPRISE, "defaults: enterprise preempts");
	is_int(p.max_victim, TIER_FREE, "defaults: free yields");
	is_int(p.max_in_a_row, 3, "defaults: at most 3 in a row");
}

static void
test_disabled_and_empty(void)
{
	struct fx	 f;
	size_t		 k;

	fx_init(&f, TIER_ENTERPRISE);
	k = fx_worker(&f, "a", 1, "sleep");
	fx_run(&f, k, "sleep", TIER_FREE, 100, 10);
	is_int(fx_pick(&f), 0, "enabled: the free workload yields");
	is_int(fx_pick(&f), 0, "same inputs, same answer");
	f.pol.enabled = false;
	ok(fx_pick(&f) == SIZE_MAX, "disabled: nothing is preempted");
	f.pol.enabled = true;
	ok(preempt_pick(&f.w, f.sw, f.n_wk, f.cand, 0, &f.pol) == SIZE_MAX,
	    "no candidates: SIZE_MAX");
	ok(preempt_pick(&f.w, f.sw, f.n_wk, f.cand, f.n_run, NULL) == SIZE_MAX,
	    "no policy: SIZE_MAX");
	ok(preempt_pick(NULL, f.sw, f.n_wk, f.cand, f.n_run, &f.pol) == SIZE_MAX,
	    "no workload: SIZE_MAX");
	ok(preempt_pick(&f.w, f.sw, 0, f.cand, f.n_run, &f.pol) == SIZE_MAX,
	    "a candidate on a worker out of range is ignored");
	f.cand[0].w = &f.w;
	ok(fx_pick(&f) == SIZE_MAX, "w never preempts itself");
	f.cand[0].w = NULL;
	ok(fx_pick(&f) == SIZE_MAX, "a candidate without a workload is ignored");
	f.cand[0].w = &f.run[0];
	f.run[0].status = WL_SCHEDULED;
	ok(fx_pick(&f) == SIZE_MAX, "a candidate that is not RUNNING is not chosen");
	f.run[0].status = WL_RUNNING;
	f.rec[0].status = WORKER_DRAINING;
	ok(fx_pick(&f) == SIZE_MAX, "a worker that is not ALIVE is not used");
	fx_fini(&f);
}

static void
test_tiers(void)
{
	struct fx	 f;
	size_t		 k;

	fx_init(&f, TIER_ENTERPRISE);
	k = fx_worker(&f, "a", 1, "sleep");
	fx_run(&f, k, "sleep", TIER_FREE, 100, 10);
	is_int(fx_pick(&f), 0, "enterprise preempts free");
	f.w.tier = TIER_PREMIUM;
	ok(fx_pick(&f) == SIZE_MAX, "premium does not preempt free by default");
	f.pol.min_preemptor = TIER_PREMIUM;
	is_int(fx_pick(&f), 0, "premium preempts free when min_preemptor is premium");
	f.w.tier = TIER_STANDARD;
	ok(fx_pick(&f) == SIZE_MAX, "standard is below min_preemptor premium");
	fx_fini(&f);

	fx_init(&f, TIER_ENTERPRISE);
	k = fx_worker(&f, "a", 1, "sleep");
	fx_run(&f, k, "sleep", TIER_STANDARD, 0, 10);
	ok(fx_pick(&f) == SIZE_MAX, "enterprise does not preempt standard by default");
	f.pol.max_victim = TIER_STANDARD;
	is_int(fx_pick(&f), 0, "max_victim standard: enterprise preempts standard");
	f.run[0].tier = TIER_PREMIUM;
	ok(fx_pick(&f) == SIZE_MAX, "premium is above max_victim standard");
	f.run[0].tier = TIER_ENTERPRISE;
	f.pol.max_victim = TIER_ENTERPRISE;
	ok(fx_pick(&f) == SIZE_MAX,
	    "max_victim not below min_preemptor: preemptors never yield");
	f.run[0].tier = TIER_FREE;
	is_int(fx_pick(&f), 0, "... but lower tiers still do");
	fx_fini(&f);
}

static void
test_max_in_a_row(void)
{
	struct fx	 f;
	size_t		 k;

	fx_init(&f, TIER_ENTERPRISE);
	k = fx_worker(&f, "a", 1, "sleep");
	fx_run(&f, k, "sleep", TIER_FREE, 100, 10);
	f.run[0].preemptions = 2;
	is_int(fx_pick(&f), 0, "preempted twice: may be preempted again");
	f.run[0].preemptions = 3;
	ok(fx_pick(&f) == SIZE_MAX, "preempted 3 times in a row: left alone");
	f.pol.max_in_a_row = 4;
	is_int(fx_pick(&f), 0, "max_in_a_row 4: once more");
	f.pol.max_in_a_row = 0;
	f.run[0].preemptions = 0;
	ok(fx_pick(&f) == SIZE_MAX, "max_in_a_row 0: never");
	fx_fini(&f);
}

static void
test_taken(void)
{
	struct fx	 f;
	size_t		 k;

	fx_init(&f, TIER_ENTERPRISE);
	k = fx_worker(&f, "a", 2, "sleep");
	fx_run(&f, k, "sleep", TIER_FREE, 10, 10);
	fx_run(&f, k, "sleep", TIER_FREE, 20, 10);
	is_int(fx_pick(&f), 0, "the lower priority first");
	f.cand[0].taken = true;
	is_int(fx_pick(&f), 1, "a taken candidate is skipped");
	f.cand[1].taken = true;
	ok(fx_pick(&f) == SIZE_MAX, "all taken: none");
	fx_fini(&f);
}

static void
test_hard_affinity(void)
{
	struct fx	 f;
	size_t		 a, b;

	fx_init(&f, TIER_ENTERPRISE);
	tagset_set(&f.w.affinity.hard_tags, "gpu", "true");
	a = fx_worker(&f, "a", 1, "sleep");
	b = fx_worker(&f, "b", 1, "sleep");
	tagset_set(&f.rec[b].tags, "gpu", "true");
	fx_run(&f, a, "sleep", TIER_FREE, 1, 10);	/* the better victim */
	fx_run(&f, b, "sleep", TIER_FREE, 500, 10);
	is_int(fx_pick(&f), 1, "a GPU-only workload preempts on the GPU worker");
	f.n_run = 1;
	ok(fx_pick(&f) == SIZE_MAX, "not on a worker without the GPU tag");
	f.n_run = 2;
	free(f.w.affinity.hard_worker_id);
	f.w.affinity.hard_worker_id = strdup("a");
	ok(fx_pick(&f) == SIZE_MAX, "pinned to a, which lacks the tag: none");
	fx_fini(&f);

	fx_init(&f, TIER_ENTERPRISE);
	free(f.w.type);
	f.w.type = strdup("exec");
	a = fx_worker(&f, "a", 1, "sleep");
	b = fx_worker(&f, "b", 1, "sleep,exec");
	fx_run(&f, a, "sleep", TIER_FREE, 1, 10);
	fx_run(&f, b, "sleep", TIER_FREE, 500, 10);
	is_int(fx_pick(&f), 1, "only a worker that runs the type");
	fx_fini(&f);
}

static void
test_anti_affinity(void)
{
	struct fx	 f;
	size_t		 a, b;

	/* A render workload (standard: not a victim) stays on a. */
	fx_init(&f, TIER_ENTERPRISE);
	strlist_add(&f.w.affinity.anti_types, "render");
	a = fx_worker(&f, "a", 2, "sleep,render");
	fx_run(&f, a, "sleep", TIER_FREE, 10, 10);
	fx_run(&f, a, "render", TIER_STANDARD, 10, 10);
	ok(fx_pick(&f) == SIZE_MAX, "a type still running from another candidate blocks");
	f.run[1].tier = TIER_FREE;
	f.run[1].priority = 50;
	is_int(fx_pick(&f), 1, "the victim's own type does not block");
	f.cand[1].taken = true;
	is_int(fx_pick(&f), 0, "a taken candidate's type is leaving too");
	fx_fini(&f);

	/* Two workers: the better victim is next to a render workload. */
	fx_init(&f, TIER_ENTERPRISE);
	strlist_add(&f.w.affinity.anti_types, "render");
	a = fx_worker(&f, "a", 2, "sleep,render");
	b = fx_worker(&f, "b", 1, "sleep,render");
	fx_run(&f, a, "sleep", TIER_FREE, 1, 10);
	fx_run(&f, a, "render", TIER_STANDARD, 10, 10);
	fx_run(&f, b, "sleep", TIER_FREE, 900, 10);
	is_int(fx_pick(&f), 2, "the worker without render is chosen");
	fx_fini(&f);

	/* running_types names a type no candidate has: another holder. */
	fx_init(&f, TIER_ENTERPRISE);
	strlist_add(&f.w.affinity.anti_types, "render");
	a = fx_worker(&f, "a", 1, "sleep,render");
	fx_run(&f, a, "sleep", TIER_FREE, 10, 10);
	strlist_add(&f.sw[a].running_types, "render");
	ok(fx_pick(&f) == SIZE_MAX, "a running type held by no candidate blocks");
	fx_fini(&f);

	/* More slots used than candidates: holders of unknown type. */
	fx_init(&f, TIER_ENTERPRISE);
	strlist_add(&f.w.affinity.anti_types, "render");
	a = fx_worker(&f, "a", 2, "sleep,render");
	fx_run(&f, a, "render", TIER_FREE, 10, 10);
	ok(fx_pick(&f) == SIZE_MAX,
	    "a SCHEDULED holder may run the victim's type too: blocked");
	f.sw[a].used = 1;
	f.rec[a].used = 1;
	is_int(fx_pick(&f), 0, "once every holder is a candidate: allowed");
	strlist_fini(&f.w.affinity.anti_types);
	f.sw[a].used = 2;
	is_int(fx_pick(&f), 0, "no anti-affinity: allowed");
	fx_fini(&f);
}

static void
test_resources(void)
{
	struct fx		 f;
	struct workload		*v;
	size_t			 a, b;

	/* a: its one GPU held by the victim.  b: its GPU held by a workload
	 * that is not a candidate; the victim there holds none. */
	fx_init(&f, TIER_ENTERPRISE);
	f.w.requests.gpus = 1;
	a = fx_worker(&f, "a", 4, "sleep");
	b = fx_worker(&f, "b", 4, "sleep");
	f.rec[a].offered.gpus = 1;
	f.rec[b].offered.gpus = 1;
	f.sw[a].used = f.rec[a].used = 1;
	f.sw[b].used = f.rec[b].used = 2;
	fx_run(&f, b, "sleep", TIER_FREE, 1, 10);	/* the better victim */
	v = fx_run(&f, a, "sleep", TIER_FREE, 500, 10);
	v->requests.gpus = 1;
	is_int(fx_pick(&f), 1, "the victim's GPU makes room");
	f.n_run = 1;
	ok(fx_pick(&f) == SIZE_MAX, "a victim holding no GPU does not help");
	f.sw[b].free.gpus = 1;
	is_int(fx_pick(&f), 0, "... unless a GPU is free there already");
	fx_fini(&f);

	fx_init(&f, TIER_ENTERPRISE);
	f.w.requests.cpu_millis = 1000;
	f.w.requests.memory_mb = 512;
	a = fx_worker(&f, "a", 1, "sleep");
	f.sw[a].free.cpu_millis = 500;
	f.sw[a].free.memory_mb = 4096;
	v = fx_run(&f, a, "sleep", TIER_FREE, 10, 10);
	v->requests.cpu_millis = 500;
	is_int(fx_pick(&f), 0, "free 500 + held 500 covers 1000 millis");
	f.sw[a].free.cpu_millis = 400;
	ok(fx_pick(&f) == SIZE_MAX, "free 400 + held 500 does not");
	f.sw[a].free.cpu_millis = UINT32_MAX;
	v->requests.cpu_millis = UINT32_MAX;
	f.w.requests.cpu_millis = UINT32_MAX;
	is_int(fx_pick(&f), 0, "the sum does not wrap around");
	f.sw[a].free.memory_mb = 0;
	ok(fx_pick(&f) == SIZE_MAX, "every kind requested must fit");
	fx_fini(&f);
}

static void
test_order(void)
{
	struct fx	 f;
	size_t		 a, b;

	fx_init(&f, TIER_ENTERPRISE);
	f.pol.max_victim = TIER_STANDARD;
	a = fx_worker(&f, "a", 3, "sleep");
	b = fx_worker(&f, "b", 3, "sleep");
	fx_run(&f, a, "sleep", TIER_STANDARD, 0, 900);		/* 0 */
	fx_run(&f, b, "sleep", TIER_FREE, 500, 100);		/* 1 */
	is_int(fx_pick(&f), 1, "the lower tier first, whatever its priority");
	fx_run(&f, a, "sleep", TIER_FREE, 200, 50);		/* 2 */
	is_int(fx_pick(&f), 2, "then the lower priority");
	fx_run(&f, b, "sleep", TIER_FREE, 200, 300);		/* 3 */
	is_int(fx_pick(&f), 3, "then the one started last");
	fx_run(&f, a, "sleep", TIER_FREE, 200, 300);		/* 4 */
	is_int(fx_pick(&f), 3, "then the lower index");
	f.cand[3].taken = true;
	is_int(fx_pick(&f), 4, "the next in order once it is taken");
	f.cand[4].taken = true;
	is_int(fx_pick(&f), 2, "and the next");
	f.cand[2].taken = true;
	is_int(fx_pick(&f), 1, "and the next");
	f.cand[1].taken = true;
	is_int(fx_pick(&f), 0, "and the standard one last");
	fx_fini(&f);
}

static void
test_overfull(void)
{
	struct fx	 f;
	size_t		 a, b;

	fx_init(&f, TIER_ENTERPRISE);
	a = fx_worker(&f, "a", 2, "sleep");
	b = fx_worker(&f, "b", 2, "sleep");
	f.sw[a].used = f.rec[a].used = 3;	/* capacity lowered under it */
	fx_run(&f, a, "sleep", TIER_FREE, 1, 10);
	fx_run(&f, b, "sleep", TIER_FREE, 900, 10);
	is_int(fx_pick(&f), 1, "an over-full worker is not chosen");
	f.n_run = 1;
	ok(fx_pick(&f) == SIZE_MAX, "only an over-full worker: none");
	f.rec[a].capacity = 0;
	f.sw[a].used = f.rec[a].used = 0;
	ok(fx_pick(&f) == SIZE_MAX, "a worker without slots: none");
	fx_fini(&f);
}

int
main(void)
{
	test_defaults();
	test_disabled_and_empty();
	test_tiers();
	test_max_in_a_row();
	test_taken();
	test_hard_affinity();
	test_anti_affinity();
	test_resources();
	test_order();
	test_overfull();
	return tap_done();
}
