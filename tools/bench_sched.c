/*
 * The scheduler micro-benchmark.  From a seed it builds, deterministically,
 * a fleet and a queue shaped like a production one: workers with gpu,
 * region, zone and compliance tags, a mix of capabilities and 4..32 slots;
 * workloads of several types from a few hundred customers (some with a
 * max_concurrent quota), with hard affinity, soft affinity, anti-affinity or
 * none, a few in retry backoff, sorted in queue order.  It then calls
 * sched_place as the coordinator's duty loop does: the still-pending
 * workloads in queue order, at most --batch placements a call, the workers'
 * slots and running types rebuilt before each call, until a call places
 * nothing; placed workloads leave the queue between calls.  Only the time
 * inside sched_place is measured; there is no I/O in it.
 *
 * Every placement is checked on the way against the rules, with this
 * file's own accounting (slots, running types with counts, customers'
 * holdings), not the scheduler's: hard affinity (sched_hard_ok), capacity,
 * anti-affinity, quotas, backoff and the reported score.  A second phase,
 * the steady state, finishes a random tenth of the running workloads,
 * queues as many new ones behind the rest and places again.
 */
#include "tools/bench_util.h"
#include "tools/bench_sched.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "src/clock.h"
#include "src/model.h"
#include "src/sched.h"
#include "src/strs.h"

#define BS_PROG			"niyanta-bench sched"
#define BS_TARGET_PER_S		100000	/* issue 5: placements/s in-process */
#define BS_VIOLATIONS_SHOWN	20	/* printed; the rest are only counted */
#define BS_NOW_MS		UINT64_C(1795000000000)	/* virtual clock, 2026 */
#define BS_STEADY_MS		60000	/* virtual time between the phases */
#define BS_QUEUE_SPAN_MS	3600000	/* the first queue was submitted over an hour */
#define BS_N_CUSTOMERS		300
#define BS_WORKERS_MAX		100000
#define BS_PENDING_MAX		5000000
#define BS_BATCH_MAX		1000000
#define BS_N_REASONS		SCHED__COUNT
#define BS_WINDOW_COORD		(-1)	/* --window coord */

#define BS_USAGE							\
"usage: niyanta-bench sched [--workers N] [--pending M] [--batch K]\n"	\
"                           [--window W|coord] [--seed S] [--json]\n"

enum bs_type { BS_SLEEP, BS_EXEC, BS_TRAIN, BS_ETL, BS_RENDER, BS_VIDEO, BS_N_TYPES };

/* Workload types; no worker runs "video" (a type nobody registered). */
static const char *const bs_type_names[BS_N_TYPES] = {
	"sleep", "exec", "train", "etl", "render", "video",
};
static const char *const bs_regions[] = {
	"us-east", "us-west", "eu-west", "eu-central", "ap-south",
};
#define BS_N_REGIONS	(sizeof bs_regions / sizeof bs_regions[0])
static const char *const bs_compliance[] = { "pci", "hipaa", "none" };
#define BS_N_COMPLIANCE	(sizeof bs_compliance / sizeof bs_compliance[0])

struct bs_opts {
	long long	 workers;
	long long	 pending;
	long long	 batch;
	long long	 window;	/* 0: whole queue; BS_WINDOW_COORD */
	long long	 seed;
	bool		 json;
};

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
struct bs_rng {
	uint64_t	 s;
};

struct bs_customer {
	char		 id[32];		/* "cust-0042": numbered, so sorted */
	enum tier	 tier;
	uint32_t	 max_concurrent;	/* 0: no limit */
	uint32_t	 held;			/* slots held, by this file's count */
};

/* What the generated queue holds, for the record. */
struct bs_mix {
	size_t		 hard, soft, anti, plain, backoff;
};

struct bs_phase {
	const char	*name;
	size_t		 calls;
	size_t		 placed;
	uint64_t	 total_us;	/* inside sched_place */
	double		*call_us;	/* each call's time; sorted at the end */
	size_t		 cap_calls;
	size_t		 unplaced[BS_N_REASONS];	/* the last call's reasons */
	size_t		 last_given;	/* workloads given to the last call */
	size_t		 still_pending;
	size_t		 freed;		/* steady: running workloads finished */
	size_t		 added;		/* steady: new workloads queued */
};

struct bs_run {
	const struct bs_opts	*o;
	struct bs_rng		 rng;
	uint64_t		 now_ms;	/* virtual clock given to sched_place */
	uint64_t		 seq;		/* last submission order handed out */

	struct worker_rec	*recs;		/* the fleet, all ALIVE */
	struct sched_worker	*sw;		/* rebuilt before each call */
	size_t			 n_workers;
	size_t			 n_gpu;
	size_t			 slots;		/* capacity of the fleet */
	uint32_t		*used;		/* per worker: slots held */
	uint32_t		(*types)[BS_N_TYPES];	/* per worker: running, by type */

	struct bs_customer	*custs;
	size_t			 n_custs;
	struct sched_quota	*quotas;	/* customers with max_concurrent */
	size_t			*quota_cust;	/* index in custs of each quota */
	size_t			 n_quotas;

	struct workload		*pend;		/* the queue, in queue order (owned) */
	struct sched_result	*res;		/* one per pend slot */
	size_t			 n_pend;
	size_t			 cap_pend;
	struct workload		*run;		/* placed and running (owned) */
	size_t			*run_worker;	/* worker index of each run[] */
	size_t			 n_run;
	size_t			 cap_run;

	struct bs_mix		 mix;		/* of every workload generated */
	size_t			 checked;	/* placements checked */
	size_t			 violations;
};

static uint64_t
bs_rng_next(struct bs_rng *r)
{
	uint64_t	 z;

	z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is negligible for our n). */
static size_t
bs_rng_below(struct bs_rng *r, size_t n)
{
	return (size_t)(bs_rng_next(r) % n);
}

static void
bs_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", BS_PROG);
	exit(1);
}

static void
bs_tag(struct tagset *t, const char *key, const char *value)
{
	if (tagset_set(t, key, value) != 0)
		bs_oom();
}

static void
bs_add(struct strlist *l, const char *s)
{
	if (strlist_add(l, s) != 0)
		bs_oom();
}

static void
bs_violation(struct bs_run *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Counts a broken rule; the first few are printed. */
static void
bs_violation(struct bs_run *b, const char *fmt, ...)
{
	va_list	 ap;

	if (b->violations++ >= BS_VIOLATIONS_SHOWN) {
		if (b->violations == BS_VIOLATIONS_SHOWN + 1)
			fprintf(stderr, "%s: violation: (further ones counted, "
			    "not shown)\n", BS_PROG);
		return;
	}
	fprintf(stderr, "%s: violation: ", BS_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Index of a type name in bs_type_names, or -1. */
static int
bs_type_index(const char *name)
{
	int	 t;

	for (t = 0; t < BS_N_TYPES; t++)
		if (name != NULL && strcmp(name, bs_type_names[t]) == 0)
			return t;
	return -1;
}

static int
bs_customer_cmp(const void *key, const void *elem)
{
	const struct bs_customer	*c = elem;

	return strcmp(key, c->id);
}

/* The customer with this id, or NULL. */
static struct bs_customer *
bs_customer_find(struct bs_run *b, const char *id)
{
	if (id == NULL)
		return NULL;
	return bsearch(id, b->custs, b->n_custs, sizeof *b->custs, bs_customer_cmp);
}

/*
 * The fleet: exactly a tenth of the workers (rounded down) have gpu=true
 * and run "train"; every worker runs sleep and exec, half run etl, and
 * render runs on half of the GPU workers and 30% of the others.  Each has
 * a region of five, a zone in it, a compliance class of three and 4..32
 * slots.
 */
static void
bs_fleet_build(struct bs_run *b)
{
	struct worker_rec	*r;
	const char		*region;
	bool			*gpu, swap;
	size_t			 i, j, n = b->n_workers;
	char			 buf[64];

	b->recs = xcalloc(n, sizeof *b->recs);
	b->sw = xcalloc(n, sizeof *b->sw);
	b->used = xcalloc(n, sizeof *b->used);
	b->types = xcalloc(n, sizeof *b->types);
	gpu = xcalloc(n, sizeof *gpu);
	b->n_gpu = n / 10;
	for (i = 0; i < b->n_gpu; i++)
		gpu[i] = true;
	for (i = n; i > 1; i--) {
		j = bs_rng_below(&b->rng, i);
		swap = gpu[i - 1];
		gpu[i - 1] = gpu[j];
		gpu[j] = swap;
	}
	for (i = 0; i < n; i++) {
		r = &b->recs[i];
		snprintf(buf, sizeof buf, "w-%05zu", i);
		r->id = xstrdup(buf);
		region = bs_regions[bs_rng_below(&b->rng, BS_N_REGIONS)];
		bs_tag(&r->tags, "gpu", gpu[i] ? "true" : "false");
		bs_tag(&r->tags, "region", region);
		snprintf(buf, sizeof buf, "%s-%c", region,
		    'a' + (int)bs_rng_below(&b->rng, 3));
		bs_tag(&r->tags, "zone", buf);
		bs_tag(&r->tags, "compliance",
		    bs_compliance[bs_rng_below(&b->rng, BS_N_COMPLIANCE)]);
		bs_add(&r->capabilities, "sleep");
		bs_add(&r->capabilities, "exec");
		if (gpu[i])
			bs_add(&r->capabilities, "train");
		if (bs_rng_below(&b->rng, 2) == 0)
			bs_add(&r->capabilities, "etl");
		if (bs_rng_below(&b->rng, 100) < (gpu[i] ? 50u : 30u))
			bs_add(&r->capabilities, "render");
		r->capacity = 4 + (uint32_t)bs_rng_below(&b->rng, 29);
		r->version = xstrdup("bench");
		r->status = WORKER_ALIVE;
		r->registered_ms = b->now_ms - 86400000 +
		    bs_rng_below(&b->rng, 3600000);
		r->last_heartbeat_ms = b->now_ms - bs_rng_below(&b->rng, 2000);
		r->generation = 1;
		b->slots += r->capacity;
		b->sw[i].rec = r;
	}
	free(gpu);
}

/* BS_N_CUSTOMERS customers: tiers 40/30/20/10% free to enterprise, a
 * fifth with a max_concurrent of 5..100.  Their ids are numbered with
 * zeros in front, so custs and quotas are sorted by id as made. */
static void
bs_customers_build(struct bs_run *b)
{
	struct bs_customer	*c;
	size_t			 i, roll;

	b->n_custs = BS_N_CUSTOMERS;
	b->custs = xcalloc(b->n_custs, sizeof *b->custs);
	b->quotas = xcalloc(b->n_custs, sizeof *b->quotas);
	b->quota_cust = xcalloc(b->n_custs, sizeof *b->quota_cust);
	for (i = 0; i < b->n_custs; i++) {
		c = &b->custs[i];
		snprintf(c->id, sizeof c->id, "cust-%04zu", i);
		roll = bs_rng_below(&b->rng, 100);
		c->tier = roll < 40 ? TIER_FREE : roll < 70 ? TIER_STANDARD :
		    roll < 90 ? TIER_PREMIUM : TIER_ENTERPRISE;
		if (bs_rng_below(&b->rng, 100) < 20) {
			c->max_concurrent = 5 + (uint32_t)bs_rng_below(&b->rng, 96);
			b->quotas[b->n_quotas].customer_id = c->id;
			b->quota_cust[b->n_quotas++] = i;
		}
	}
}

/* A customer, skewed: the lowest-numbered ones submit the most. */
static struct bs_customer *
bs_customer_pick(struct bs_run *b)
{
	double	 u = (double)(bs_rng_next(&b->rng) >> 11) / 9007199254740992.0;
	size_t	 i = (size_t)(u * u * (double)b->n_custs);

	return &b->custs[i < b->n_custs ? i : b->n_custs - 1];
}

/* A random worker's id, as a copy. */
static char *
bs_worker_id_dup(struct bs_run *b)
{
	return xstrdup(b->recs[bs_rng_below(&b->rng, b->n_workers)].id);
}

/*
 * One pending workload submitted at created_ms into *w.  Types: sleep 25%,
 * exec 30%, etl 20%, render 12%, train 12.5%, video (nobody runs it) 0.5%.
 * Rules: 30% hard affinity (a third of those gpu=true train, a third a
 * compliance class, a third a region, some pinned to a worker, a few a
 * region the fleet lacks), 40% soft (region, often zone, sometimes a
 * worker), 10% anti-affinity against their own type (render or etl), 20%
 * none.  3% are in retry backoff for 5..120 s.
 */
static void
bs_workload_make(struct bs_run *b, struct workload *w, uint64_t created_ms)
{
	struct affinity		*a = &w->affinity;
	struct bs_customer	*c;
	const char		*region;
	uint64_t		 x, y;
	size_t			 roll;
	enum bs_type		 t;
	char			 buf[64];

	memset(w, 0, sizeof *w);
	x = bs_rng_next(&b->rng);
	y = bs_rng_next(&b->rng);
	snprintf(w->id, sizeof w->id, "%08" PRIx32 "-%04" PRIx32 "-7%03" PRIx32
	    "-%04" PRIx32 "-%012" PRIx64, (uint32_t)(x >> 32),
	    (uint32_t)(x >> 16) & 0xffff, (uint32_t)x & 0xfff,
	    0x8000 | ((uint32_t)(y >> 48) & 0x3fff), y & UINT64_C(0xffffffffffff));
	c = bs_customer_pick(b);
	w->customer_id = xstrdup(c->id);
	w->tier = c->tier;
	w->priority = (uint32_t)bs_rng_below(&b->rng, MODEL_PRIORITY_MAX + 1);
	roll = bs_rng_below(&b->rng, 1000);
	t = roll < 250 ? BS_SLEEP : roll < 550 ? BS_EXEC : roll < 750 ? BS_ETL :
	    roll < 870 ? BS_RENDER : roll < 995 ? BS_TRAIN : BS_VIDEO;
	region = bs_regions[bs_rng_below(&b->rng, BS_N_REGIONS)];
	roll = bs_rng_below(&b->rng, 100);
	if (roll < 30) {
		b->mix.hard++;
		roll = bs_rng_below(&b->rng, 100);
		if (roll < 30) {
			t = BS_TRAIN;
			bs_tag(&a->hard_tags, "gpu", "true");
		} else if (roll < 60) {
			bs_tag(&a->hard_tags, "compliance",
			    bs_compliance[bs_rng_below(&b->rng, 2)]);
		} else if (roll < 90) {
			bs_tag(&a->hard_tags, "region", region);
			if (bs_rng_below(&b->rng, 100) < 30)
				bs_tag(&a->hard_tags, "compliance",
				    bs_compliance[bs_rng_below(&b->rng, 2)]);
		} else if (roll < 95) {
			a->hard_worker_id = bs_worker_id_dup(b);
		} else {
			bs_tag(&a->hard_tags, "region", "sa-east");
		}
	} else if (roll < 70) {
		b->mix.soft++;
		bs_tag(&a->soft_tags, "region", region);
		if (bs_rng_below(&b->rng, 2) == 0) {
			snprintf(buf, sizeof buf, "%s-%c", region,
			    'a' + (int)bs_rng_below(&b->rng, 3));
			bs_tag(&a->soft_tags, "zone", buf);
		}
		if (bs_rng_below(&b->rng, 4) == 0)
			a->soft_worker_id = bs_worker_id_dup(b);
	} else if (roll < 80) {
		b->mix.anti++;
		t = bs_rng_below(&b->rng, 10) < 7 ? BS_RENDER : BS_ETL;
		bs_add(&a->anti_types, bs_type_names[t]);
	} else {
		b->mix.plain++;
	}
	w->type = xstrdup(bs_type_names[t]);
	w->params_json = xstrdup("{}");
	w->status = WL_PENDING;
	w->max_retries = 3;
	w->seq = ++b->seq;
	w->created_ms = w->updated_ms = created_ms;
	if (bs_rng_below(&b->rng, 100) < 3) {
		b->mix.backoff++;
		w->failures = 1 + (uint32_t)bs_rng_below(&b->rng, 3);
		w->attempt = w->failures;
		w->not_before_ms = b->now_ms + 5000 + bs_rng_below(&b->rng, 115000);
	}
	w->queue_key = workload_queue_key(w, NULL);
}

/* Queue order: queue key highest first, then submission order. */
static int
bs_queue_cmp(const void *pa, const void *pb)
{
	const struct workload	*a = pa, *b = pb;

	if (a->queue_key != b->queue_key)
		return a->queue_key > b->queue_key ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
bs_pend_reserve(struct bs_run *b, size_t n)
{
	if (n <= b->cap_pend)
		return;
	b->pend = xrealloc(b->pend, n * sizeof *b->pend);
	b->res = xrealloc(b->res, n * sizeof *b->res);
	b->cap_pend = n;
}

/* Moves *w (ownership included) to the running set, on worker wk. */
static void
bs_run_take(struct bs_run *b, struct workload *w, size_t wk)
{
	if (b->n_run == b->cap_run) {
		b->cap_run = b->cap_run == 0 ? 1024 : b->cap_run * 2;
		b->run = xrealloc(b->run, b->cap_run * sizeof *b->run);
		b->run_worker = xrealloc(b->run_worker,
		    b->cap_run * sizeof *b->run_worker);
	}
	b->run[b->n_run] = *w;
	b->run_worker[b->n_run++] = wk;
	memset(w, 0, sizeof *w);
}

/*
 * What the coordinator does before each call: each worker's slots held and
 * the types running there (from the workloads it holds: here, the counts),
 * and each limited customer's remaining slots.
 */
static void
bs_workers_sync(struct bs_run *b)
{
	struct bs_customer	*c;
	size_t			 j;
	int			 t;

	for (j = 0; j < b->n_workers; j++) {
		b->recs[j].used = b->used[j];
		b->sw[j].used = b->used[j];
		strlist_fini(&b->sw[j].running_types);
		for (t = 0; t < BS_N_TYPES; t++)
			if (b->types[j][t] > 0)
				bs_add(&b->sw[j].running_types, bs_type_names[t]);
	}
	for (j = 0; j < b->n_quotas; j++) {
		c = &b->custs[b->quota_cust[j]];
		b->quotas[j].remaining = c->held >= c->max_concurrent ? 0 :
		    c->max_concurrent - c->held;
	}
}

/* How many of the queue's head the next call gets (--window). */
static size_t
bs_window(const struct bs_run *b)
{
	size_t	 j, n, free_slots = 0;

	if (b->o->window == 0)
		return b->n_pend;
	if (b->o->window > 0) {
		n = (size_t)b->o->window;
	} else {
		/* coord.c's rule: what the free slots can take, with a margin
		 * for workloads that cannot go anywhere now, within 4 batches. */
		for (j = 0; j < b->n_workers; j++)
			if (b->used[j] < b->recs[j].capacity)
				free_slots += b->recs[j].capacity - b->used[j];
		n = free_slots * 4 + 256;
		if (n > (size_t)b->o->batch * 4)
			n = (size_t)b->o->batch * 4;
	}
	return n < b->n_pend ? n : b->n_pend;
}

/* Checks one placement against the rules, then books it. */
static void
bs_check(struct bs_run *b, const struct workload *w, const struct sched_result *r)
{
	const struct worker_rec	*rec;
	const struct strlist	*anti = &w->affinity.anti_types;
	struct bs_customer	*c;
	size_t			 i, wk = r->worker;
	uint32_t		 score;
	int			 t;

	b->checked++;
	rec = &b->recs[wk];
	if (!sched_hard_ok(w, rec))
		bs_violation(b, "%s (%s): placed on %s, which fails its hard "
		    "affinity", w->id, w->type, rec->id);
	if (w->not_before_ms > b->now_ms)
		bs_violation(b, "%s: placed %" PRIu64 " ms before its retry "
		    "backoff ends", w->id, w->not_before_ms - b->now_ms);
	for (i = 0; i < anti->n; i++)
		if ((t = bs_type_index(anti->v[i])) >= 0 && b->types[wk][t] > 0)
			bs_violation(b, "%s: placed on %s, which runs %" PRIu32
			    " %s (anti-affinity)", w->id, rec->id,
			    b->types[wk][t], anti->v[i]);
	if (b->used[wk] >= rec->capacity)
		bs_violation(b, "%s: placed on %s, which already holds %" PRIu32
		    " of %" PRIu32 " slots", w->id, rec->id, b->used[wk],
		    rec->capacity);
	c = bs_customer_find(b, w->customer_id);
	if (c != NULL && c->max_concurrent > 0 && c->held >= c->max_concurrent)
		bs_violation(b, "%s: customer %s already holds %" PRIu32 " slots, "
		    "its max_concurrent", w->id, c->id, c->held);
	if ((score = sched_soft_score(w, rec)) != r->score)
		bs_violation(b, "%s: reported score %" PRIu32 " on %s, its soft "
		    "affinity scores %" PRIu32, w->id, r->score, rec->id, score);
	b->used[wk]++;
	if ((t = bs_type_index(w->type)) >= 0)
		b->types[wk][t]++;
	if (c != NULL)
		c->held++;
}

/* After a call: the scheduler's own books must match this file's. */
static void
bs_books_check(struct bs_run *b)
{
	const struct strlist	*rt;
	struct bs_customer	*c;
	size_t			 j, distinct;
	uint32_t		 want;
	int			 t;

	for (j = 0; j < b->n_workers; j++) {
		if (b->sw[j].used != b->used[j])
			bs_violation(b, "worker %s: the scheduler counts %" PRIu32
			    " slots used, its placements make %" PRIu32,
			    b->recs[j].id, b->sw[j].used, b->used[j]);
		rt = &b->sw[j].running_types;
		distinct = 0;
		for (t = 0; t < BS_N_TYPES; t++) {
			if (b->types[j][t] == 0)
				continue;
			distinct++;
			if (!strlist_contains(rt, bs_type_names[t]))
				bs_violation(b, "worker %s: running_types lacks %s",
				    b->recs[j].id, bs_type_names[t]);
		}
		if (rt->n != distinct)
			bs_violation(b, "worker %s: running_types has %zu types, "
			    "%zu are running", b->recs[j].id, rt->n, distinct);
	}
	for (j = 0; j < b->n_quotas; j++) {
		c = &b->custs[b->quota_cust[j]];
		want = c->held >= c->max_concurrent ? 0 : c->max_concurrent - c->held;
		if (b->quotas[j].remaining != want)
			bs_violation(b, "customer %s: quota remaining %" PRIu32
			    " after the call, %" PRIu32 " by its holdings",
			    c->id, b->quotas[j].remaining, want);
	}
}

static void
bs_phase_time(struct bs_phase *ph, uint64_t us)
{
	if (ph->calls == ph->cap_calls) {
		ph->cap_calls = ph->cap_calls == 0 ? 64 : ph->cap_calls * 2;
		ph->call_us = xrealloc(ph->call_us, ph->cap_calls * sizeof *ph->call_us);
	}
	ph->call_us[ph->calls++] = (double)us;
	ph->total_us += us;
}

/*
 * One sched_place call over the head of the queue, timed; checks and books
 * its placements and takes them out of the queue.  Returns how many left
 * the queue.
 */
static size_t
bs_call(struct bs_run *b, struct bs_phase *ph)
{
	struct sched_result	*r;
	size_t			 n, placed, got = 0, moved = 0, i, k;
	uint64_t		 t0, t1;

	n = bs_window(b);
	bs_workers_sync(b);
	t0 = clock_mono_us();
	placed = sched_place(b->pend, n, b->sw, b->n_workers, b->quotas,
	    b->n_quotas, b->now_ms, (size_t)b->o->batch, b->res);
	t1 = clock_mono_us();
	bs_phase_time(ph, t1 - t0);

	memset(ph->unplaced, 0, sizeof ph->unplaced);
	ph->last_given = n;
	for (i = 0; i < n; i++) {
		r = &b->res[i];
		if ((unsigned)r->reason >= BS_N_REASONS) {
			bs_violation(b, "%s: unknown reason %d", b->pend[i].id,
			    (int)r->reason);
			continue;
		}
		if (r->reason != SCHED_PLACED) {
			ph->unplaced[r->reason]++;
			continue;
		}
		got++;
		if (r->worker >= b->n_workers) {
			bs_violation(b, "%s: placed on worker %zu of %zu",
			    b->pend[i].id, r->worker, b->n_workers);
			r->reason = SCHED_FULL;	/* keep it queued */
			continue;
		}
		bs_check(b, &b->pend[i], r);
	}
	if (got != placed)
		bs_violation(b, "sched_place returned %zu, its results place %zu",
		    placed, got);
	if (got > (size_t)b->o->batch)
		bs_violation(b, "%zu placed in one call, more than the batch of "
		    "%lld", got, b->o->batch);
	bs_books_check(b);

	/* The coordinator re-reads the queue: the placed ones are gone. */
	for (i = 0, k = 0; i < b->n_pend; i++) {
		if (i < n && b->res[i].reason == SCHED_PLACED) {
			bs_run_take(b, &b->pend[i], b->res[i].worker);
			moved++;
		} else {
			b->pend[k++] = b->pend[i];
		}
	}
	b->n_pend = k;
	ph->placed += moved;
	return moved;
}

/* Calls until one places nothing (none on an empty queue, as the
 * coordinator does not call then either). */
static void
bs_phase_run(struct bs_run *b, struct bs_phase *ph)
{
	while (b->n_pend > 0 && bs_call(b, ph) > 0)
		;
	ph->still_pending = b->n_pend;
}

/*
 * Between the phases: a random tenth of the running workloads finish (their
 * slots, types and customers' holdings are released), a minute passes, and
 * as many new workloads join the back of the queue.
 */
static void
bs_steady_prepare(struct bs_run *b, struct bs_phase *ph)
{
	struct bs_customer	*c;
	struct workload		 tw;
	size_t			 k = b->n_run / 10, i, j, wk, tk;
	int			 t;

	for (i = 0; i < k; i++) {
		j = i + bs_rng_below(&b->rng, b->n_run - i);
		tw = b->run[i];
		b->run[i] = b->run[j];
		b->run[j] = tw;
		tk = b->run_worker[i];
		b->run_worker[i] = b->run_worker[j];
		b->run_worker[j] = tk;
	}
	for (i = 0; i < k; i++) {
		wk = b->run_worker[i];
		b->used[wk]--;
		if ((t = bs_type_index(b->run[i].type)) >= 0)
			b->types[wk][t]--;
		if ((c = bs_customer_find(b, b->run[i].customer_id)) != NULL)
			c->held--;
		workload_fini(&b->run[i]);
	}
	if (k > 0) {
		memmove(b->run, b->run + k, (b->n_run - k) * sizeof *b->run);
		memmove(b->run_worker, b->run_worker + k,
		    (b->n_run - k) * sizeof *b->run_worker);
		b->n_run -= k;
	}

	b->now_ms += BS_STEADY_MS;
	bs_pend_reserve(b, b->n_pend + k);
	for (i = 0; i < k; i++)
		bs_workload_make(b, &b->pend[b->n_pend++],
		    b->now_ms - BS_STEADY_MS + (BS_STEADY_MS * i) / k);
	ph->freed = ph->added = k;
}



static double
bs_per_s(const struct bs_phase *ph)
{
	return ph->total_us > 0 ? (double)ph->placed * 1e6 / (double)ph->total_us : 0;
}

static double
bs_us_per_placement(const struct bs_phase *ph)
{
	return ph->placed > 0 ? (double)ph->total_us / (double)ph->placed : 0;
}

static void
bs_phase_print(const struct bs_phase *ph)
{
	int	 r;

	printf("sched: %s: %zu calls, %zu placements, %.1f ms in sched_place: "
	    "%.0f placements/s, %.2f us per placement; per call p50 %.0f us, "
	    "p99 %.0f us, max %.0f us\n", ph->name, ph->calls, ph->placed,
	    (double)ph->total_us / 1e3, bs_per_s(ph), bs_us_per_placement(ph),
	    bench_percentile(ph->call_us, ph->calls, 50), bench_percentile(ph->call_us, ph->calls, 99),
	    ph->calls > 0 ? ph->call_us[ph->calls - 1] : 0);
	printf("sched: %s: %zu still pending; unplaced by the last call (of %zu "
	    "given):", ph->name, ph->still_pending, ph->last_given);
	for (r = SCHED_PLACED + 1; r < BS_N_REASONS; r++)
		printf("%s %s %zu", r == SCHED_PLACED + 1 ? "" : ",",
		    sched_reason_name((enum sched_reason)r), ph->unplaced[r]);
	printf("\n");
}

static void
bs_phase_json(const struct bs_phase *ph)
{
	int	 r;

	printf("\"%s\":{\"calls\":%zu,\"placements\":%zu,\"seconds\":%.6f,"
	    "\"placements_per_s\":%.1f,\"us_per_placement\":%.3f,"
	    "\"call_us\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
	    "\"still_pending\":%zu,\"last_call_given\":%zu,\"unplaced\":{",
	    ph->name, ph->calls, ph->placed, (double)ph->total_us / 1e6,
	    bs_per_s(ph), bs_us_per_placement(ph),
	    bench_percentile(ph->call_us, ph->calls, 50), bench_percentile(ph->call_us, ph->calls, 99),
	    ph->calls > 0 ? ph->call_us[ph->calls - 1] : 0, ph->still_pending,
	    ph->last_given);
	for (r = SCHED_PLACED + 1; r < BS_N_REASONS; r++)
		printf("%s\"%s\":%zu", r == SCHED_PLACED + 1 ? "" : ",",
		    sched_reason_name((enum sched_reason)r), ph->unplaced[r]);
	printf("}");
	if (ph->freed > 0 || ph->added > 0)
		printf(",\"finished\":%zu,\"queued\":%zu", ph->freed, ph->added);
	printf("}");
}

static void
bs_report(const struct bs_run *b, const struct bs_mix *mix, struct bs_phase *fill,
    struct bs_phase *steady)
{
	struct rusage	 ru;
	long		 rss_kib = 0;
	char		 window[64];
	bool		 met;

	if (fill->calls > 0)
		bench_sort_doubles(fill->call_us, fill->calls);
	if (steady->calls > 0)
		bench_sort_doubles(steady->call_us, steady->calls);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		rss_kib = ru.ru_maxrss;
	met = bs_per_s(fill) >= BS_TARGET_PER_S;
	if (b->o->window == 0)
		snprintf(window, sizeof window, "whole queue");
	else if (b->o->window == BS_WINDOW_COORD)
		snprintf(window, sizeof window, "coord");
	else
		snprintf(window, sizeof window, "%lld", b->o->window);

	if (b->o->json) {
		printf("{\"mode\":\"sched\",\"workers\":%zu,\"gpu_workers\":%zu,"
		    "\"slots\":%zu,\"pending\":%lld,\"customers\":%zu,"
		    "\"customers_with_max_concurrent\":%zu,\"batch\":%lld,"
		    "\"window\":\"%s\",\"seed\":%lld,\"mix\":{\"hard\":%zu,"
		    "\"soft\":%zu,\"anti\":%zu,\"plain\":%zu,\"backoff\":%zu},",
		    b->n_workers, b->n_gpu, b->slots, b->o->pending, b->n_custs,
		    b->n_quotas, b->o->batch, window, b->o->seed, mix->hard,
		    mix->soft, mix->anti, mix->plain, mix->backoff);
		bs_phase_json(fill);
		printf(",");
		bs_phase_json(steady);
		printf(",\"checked\":%zu,\"violations\":%zu,\"target_per_s\":%d,"
		    "\"target_met\":%s,\"max_rss_kib\":%ld}\n", b->checked,
		    b->violations, BS_TARGET_PER_S, met ? "true" : "false",
		    rss_kib);
		return;
	}
	printf("sched: %zu workers (%zu with gpu=true, %zu slots), %lld pending "
	    "(hard affinity %zu, soft %zu, anti %zu, none %zu; %zu in retry "
	    "backoff), %zu customers (%zu with max_concurrent), batch %lld, "
	    "window %s, seed %lld\n", b->n_workers, b->n_gpu, b->slots,
	    b->o->pending, mix->hard, mix->soft, mix->anti, mix->plain,
	    mix->backoff, b->n_custs, b->n_quotas, b->o->batch, window,
	    b->o->seed);
	bs_phase_print(fill);
	printf("sched: steady: %zu running workloads finished, %zu new ones "
	    "queued at the back, clock +%d s\n", steady->freed, steady->added,
	    BS_STEADY_MS / 1000);
	bs_phase_print(steady);
	printf("sched: %zu placements checked, %zu violations; max RSS %.1f MiB\n",
	    b->checked, b->violations, (double)rss_kib / 1024.0);
	printf("target: 100,000 placements/s in-process: %s (fill: %.0f/s)\n",
	    met ? "met" : "NOT met", bs_per_s(fill));
}

static void
bs_run_fini(struct bs_run *b)
{
	size_t	 i;

	for (i = 0; i < b->n_pend; i++)
		workload_fini(&b->pend[i]);
	for (i = 0; i < b->n_run; i++)
		workload_fini(&b->run[i]);
	for (i = 0; i < b->n_workers; i++) {
		if (b->sw != NULL)
			sched_worker_fini(&b->sw[i]);
		if (b->recs != NULL)
			worker_rec_fini(&b->recs[i]);
	}
	free(b->pend);
	free(b->res);
	free(b->run);
	free(b->run_worker);
	free(b->recs);
	free(b->sw);
	free(b->used);
	free(b->types);
	free(b->custs);
	free(b->quotas);
	free(b->quota_cust);
}

static int
bs_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bs_usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", BS_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", BS_USAGE);
	return 2;
}

int
bench_sched_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "pending", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'b' },
		{ "window", required_argument, NULL, 'W' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bs_opts		 o = {
		.workers = 1000, .pending = 100000, .batch = 1024, .seed = 1,
	};
	struct bs_phase		 fill = { .name = "fill" }, steady = { .name = "steady" };
	struct bs_run		 b;
	struct bs_mix		 mix;
	size_t			 i;
	int			 c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (!str_parse_ll(optarg, 1, BS_WORKERS_MAX, &o.workers))
				return bs_usage_error("--workers wants 1..%d, not '%s'",
				    BS_WORKERS_MAX, optarg);
			break;
		case 'p':
			if (!str_parse_ll(optarg, 1, BS_PENDING_MAX, &o.pending))
				return bs_usage_error("--pending wants 1..%d, not '%s'",
				    BS_PENDING_MAX, optarg);
			break;
		case 'b':
			if (!str_parse_ll(optarg, 1, BS_BATCH_MAX, &o.batch))
				return bs_usage_error("--batch wants 1..%d, not '%s'",
				    BS_BATCH_MAX, optarg);
			break;
		case 'W':
			if (strcmp(optarg, "coord") == 0)
				o.window = BS_WINDOW_COORD;
			else if (!str_parse_ll(optarg, 0, 2 * (long long)BS_PENDING_MAX,
			    &o.window))
				return bs_usage_error("--window wants 0..%lld or "
				    "'coord', not '%s'", 2 * (long long)BS_PENDING_MAX,
				    optarg);
			break;
		case 's':
			if (!str_parse_ll(optarg, 0, LLONG_MAX, &o.seed))
				return bs_usage_error("--seed wants 0..%lld, not '%s'",
				    LLONG_MAX, optarg);
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			fputs(BS_USAGE, stdout);
			return 0;
		default:
			fputs(BS_USAGE, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bs_usage_error("unexpected argument '%s'", argv[optind]);

	memset(&b, 0, sizeof b);
	b.o = &o;
	b.rng.s = (uint64_t)o.seed;
	b.now_ms = BS_NOW_MS;
	b.n_workers = (size_t)o.workers;
	bs_fleet_build(&b);
	bs_customers_build(&b);
	bs_pend_reserve(&b, (size_t)o.pending);
	for (i = 0; i < (size_t)o.pending; i++)
		bs_workload_make(&b, &b.pend[i], b.now_ms - BS_QUEUE_SPAN_MS +
		    (uint64_t)BS_QUEUE_SPAN_MS * i / (size_t)o.pending);
	b.n_pend = (size_t)o.pending;
	qsort(b.pend, b.n_pend, sizeof *b.pend, bs_queue_cmp);
	mix = b.mix;

	bs_phase_run(&b, &fill);
	bs_steady_prepare(&b, &steady);
	bs_phase_run(&b, &steady);
	bs_report(&b, &mix, &fill, &steady);

	free(fill.call_us);
	free(steady.call_us);
	bs_run_fini(&b);
	return b.violations > 0 ? 1 : 0;
}
