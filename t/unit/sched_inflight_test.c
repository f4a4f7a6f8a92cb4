/*
 * Placements in flight: which workloads they hold, what they take from the
 * pass's workers (slots, resources, running types) and quotas, settling
 * and reaping, and that a pass counting them places nothing on the room
 * they took.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/sched_inflight.h"
#include "t/tap.h"

#define N_WK	2

struct fx {
	struct worker_rec	 rec[N_WK];
	struct sched_worker	 sw[N_WK];
	struct sched_quota	 quotas[1];
};

static void
fx_worker(struct fx *f, size_t i, const char *id, uint32_t capacity,
    uint32_t cpu, uint32_t gpus)
{
	f->rec[i].id = strdup(id);
	f->rec[i].capacity = capacity;
	f->rec[i].status = WORKER_ALIVE;
	f->rec[i].offered.cpu_millis = cpu;
	f->rec[i].offered.gpus = gpus;
	(void)strlist_add(&f->rec[i].capabilities, "sleep");
	(void)strlist_add(&f->rec[i].capabilities, "exec");
	f->sw[i].rec = &f->rec[i];
	f->sw[i].free = f->rec[i].offered;
}

/* Worker "b" is listed before "a": the charge must not count on order. */
static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	fx_worker(f, 0, "worker-b", 4, 0, 1);
	fx_worker(f, 1, "worker-a", 1, 2000, 0);
	f->quotas[0].customer_id = "cust-limited";
	f->quotas[0].remaining = 1;
}

static void
fx_fini(struct fx *f)
{
	size_t	 i;

	for (i = 0; i < N_WK; i++) {
		sched_worker_fini(&f->sw[i]);
		worker_rec_fini(&f->rec[i]);
	}
}

static void
wl_init(struct workload *w, const char *customer, const char *type,
    uint32_t cpu, uint32_t gpus)
{
	memset(w, 0, sizeof *w);
	model_id_generate(w->id);
	w->customer_id = strdup(customer);
	w->type = strdup(type);
	w->status = WL_PENDING;
	w->priority = 100;
	w->requests.cpu_millis = cpu;
	w->requests.gpus = gpus;
}

/* A batch of the given workloads on the given workers. */
static struct inflight_batch *
batch_add(struct inflight *inf, struct workload *w, const char *const *on, size_t n)
{
	struct inflight_placement	*v = calloc(n, sizeof *v);
	size_t				 i;

	for (i = 0; i < n; i++)
		inflight_placement_set(&v[i], &w[i], on[i]);
	return inflight_add(inf, v, n);
}

static void
test_empty(void)
{
	struct inflight	*inf = inflight_new();
	struct fx	 f;

	fx_init(&f);
	tap_ok(!inflight_holds(inf, "0190a0b0-0000-7000-8000-000000000000"),
	    "empty: holds nothing");
	inflight_charge(inf, f.sw, N_WK, f.quotas, 1);
	tap_is_int(f.sw[0].used + f.sw[1].used, 0, "empty: charges no slot");
	tap_is_int(f.quotas[0].remaining, 1, "empty: charges no quota");
	tap_is_int((long long)inflight_reap(inf), 0, "empty: nothing unsettled");
	fx_fini(&f);
	inflight_free(inf);
}

static void
test_charge(void)
{
	static const char *const on[] = { "worker-a", "worker-b", "worker-gone" };
	struct inflight		*inf = inflight_new();
	struct workload		 w[3], other;
	struct fx		 f;
	size_t			 i;

	fx_init(&f);
	wl_init(&w[0], "cust-limited", "sleep", 500, 0);
	wl_init(&w[1], "cust-free", "exec", 0, 3);
	wl_init(&w[2], "cust-limited", "exec", 0, 0);
	wl_init(&other, "cust-free", "sleep", 0, 0);
	(void)strlist_add(&f.sw[1].running_types, "sleep");
	batch_add(inf, w, on, 3);

	for (i = 0; i < 3; i++)
		tap_ok(inflight_holds(inf, w[i].id), "holds placement %zu", i);
	tap_ok(!inflight_holds(inf, other.id), "does not hold another workload");
	tap_is_int((long long)inflight_placements(inf), 3, "three placements");

	inflight_charge(inf, f.sw, N_WK, f.quotas, 1);
	tap_is_int(f.sw[1].used, 1, "worker-a: one slot taken");
	tap_is_int(f.sw[1].free.cpu_millis, 1500, "worker-a: its cpu taken");
	tap_is_int((long long)f.sw[1].running_types.n, 1,
	    "worker-a: a type it already runs is not listed twice");
	tap_is_int(f.sw[0].used, 1, "worker-b: one slot taken");
	tap_is_int(f.sw[0].free.gpus, 0,
	    "worker-b: asking more gpus than free takes them all, no wrap");
	tap_ok(strlist_contains(&f.sw[0].running_types, "exec"),
	    "worker-b: now runs exec (anti-affinity sees it)");
	tap_is_int(f.quotas[0].remaining, 0,
	    "quota: two placements of a customer with one left end at 0");

	for (i = 0; i < 3; i++)
		workload_fini(&w[i]);
	workload_fini(&other);
	fx_fini(&f);
	inflight_free(inf);
}

static void
test_settle(void)
{
	static const char *const on[] = { "worker-a", "worker-b" };
	struct inflight		*inf = inflight_new();
	struct inflight_batch	*first, *second;
	struct workload		 w[2], v[2];
	size_t			 i;

	for (i = 0; i < 2; i++) {
		wl_init(&w[i], "cust-free", "sleep", 0, 0);
		wl_init(&v[i], "cust-free", "sleep", 0, 0);
	}
	first = batch_add(inf, w, on, 2);
	second = batch_add(inf, v, on, 2);
	tap_is_int((long long)inflight_reap(inf), 2, "two batches unsettled");
	inflight_settle(first);
	tap_ok(inflight_holds(inf, w[0].id),
	    "a settled batch still counts until reaped (the pass may not see it)");
	tap_is_int((long long)inflight_reap(inf), 1, "one left after reaping");
	tap_ok(!inflight_holds(inf, w[0].id) && !inflight_holds(inf, w[1].id),
	    "the reaped batch's workloads are no longer held");
	tap_ok(inflight_holds(inf, v[1].id), "the other batch's still are");
	tap_is_int((long long)inflight_placements(inf), 2, "two placements left");
	inflight_settle(second);
	tap_is_int((long long)inflight_reap(inf), 0, "none left");
	tap_is_int((long long)inflight_placements(inf), 0, "no placements left");
	for (i = 0; i < 2; i++) {
		workload_fini(&w[i]);
		workload_fini(&v[i]);
	}
	inflight_free(inf);
}

/* A pass that counts the batch in flight does not place on the slot it
 * took: worker-a has one slot, in flight; the next sleep goes to b. */
static void
test_pass(void)
{
	static const char *const on[] = { "worker-a" };
	struct inflight		*inf = inflight_new();
	struct sched_result	 res[1];
	struct workload		 w, next;
	struct fx		 f;

	fx_init(&f);
	wl_init(&w, "cust-free", "sleep", 0, 0);
	wl_init(&next, "cust-free", "sleep", 0, 0);
	next.affinity.soft_worker_id = strdup("worker-a");
	batch_add(inf, &w, on, 1);
	inflight_charge(inf, f.sw, N_WK, f.quotas, 1);
	tap_is_int((long long)sched_place(&next, 1, f.sw, N_WK, f.quotas, 1,
	    1000, 10, res), 1, "the next workload is placed");
	tap_is_str(f.sw[res[0].worker].rec->id, "worker-b",
	    "not on the slot in flight, though it prefers that worker");
	inflight_free(inf);
	workload_fini(&w);
	workload_fini(&next);
	fx_fini(&f);
}

int
main(void)
{
	test_empty();
	test_charge();
	test_settle();
	test_pass();
	return tap_done();
}
