/*
 * Placement.  For each pending workload in queue order, filter the workers
 * by the hard rules, score the survivors by soft affinity, and take the best
 * (then, by the strategy, the least loaded (spread) or the most loaded
 * (binpack), then the lowest index, so the outcome is deterministic).  Load
 * is used slots over capacity; a strategy other than SCHED_BINPACK is
 * taken as spread.  A worker takes a workload only if it has a
 * free slot and, for every resource kind the workload requests (> 0), at
 * least that much of it free; placing subtracts the requests from the
 * worker's free resources, as it takes a slot.
 *
 * The reason recorded for an unplaced workload is the furthest stage it got
 * through, which is what an operator needs to see: "no worker can run exec"
 * is more useful than "all full".  Precisely, over the live workers:
 *  - NO_TYPE: none can run its type (and its required capabilities);
 *  - NO_MATCH: some can, but none also satisfies the hard affinity;
 *  - ANTI: some satisfy that, but every one of them runs an anti-affine type;
 *  - RESOURCES: some pass all of that and have a free slot, but none of
 *    those has the requested resources free;
 *  - FULL: some pass all of that, but none has a free slot.
 * (BACKOFF and QUOTA are decided first, from the workload alone.)
 *
 * A call does not scan the fleet for every workload.  It first indexes the
 * live workers, in O(workers): capability -> workers, tag pair -> workers,
 * worker id -> worker, each list in index order.  A workload's candidates
 * are then the smallest of the lists its hard rules name (its type, each
 * required capability and tag, its pinned worker); only those are checked.
 *
 * Pending queues repeat themselves: thousands of workloads share a shape
 * (type, hard rules, anti-affinity, requests).  The call memoises per shape,
 * and all of it rests on one fact: within a call a worker's used slots and
 * running types only grow, and its free resources only shrink.  So
 *  - once no worker can take a workload of some shape, none can take a later
 *    workload of that shape either: the shape is marked dead, and later ones
 *    are answered without a scan (this is also how a full fleet is answered:
 *    each shape costs one short scan, which stops at the first worker
 *    proving FULL, then none).  NO_TYPE, NO_MATCH, ANTI and FULL never
 *    change once true (a full worker never changes again within the call).
 *    RESOURCES can: the worker that had a slot but not the resources may
 *    fill up or take an anti-affine type.  So the memo keeps that worker as
 *    its proof and checks it is still one; if not, it scans again;
 *  - a shape's candidates are cached in a heap, at its first workload (at
 *    its second when it requests resources: such shapes are more varied).
 *    A worker that is full, runs an anti-affine type or lacks the shape's
 *    requests leaves it for good.  For spread the heap is a min-heap by
 *    (load, worker index); keys only grow, so it is repaired lazily at its
 *    top: a worker whose load changed is re-keyed.  For binpack it is a
 *    max-heap by load (then min by index), where growing keys must rise: the
 *    call logs every placement, and a heap, when next used, applies the
 *    entries logged since: a logged worker that still qualifies gets a fresh
 *    entry (or its entry is re-keyed if at the top), and an entry whose key
 *    is stale is dropped when it reaches the top, since a fresh one exists.
 *    If more was logged than the heap holds, the heap is re-keyed whole.
 *    Either way the top is exactly the worker the scan would have chosen
 *    among equal scores.
 * Soft preferences change the order.  Preferences that name few workers (a
 * preferred worker, a rare tag) are resolved through the index: the best
 * preferred worker that can take the workload, else the top of the shape's
 * heap, whose workers all score 0.  Preferences that name many workers get,
 * once they repeat, heaps of their own, one per soft score.
 * The reasons stay exact: a shape records when a worker that passed the
 * hard and anti-affinity rules left a heap because it was full (FULL rather
 * than ANTI).  Heaps do not keep the workers that lacked resources, so when
 * a shape with requests runs out of candidates a scan settles the reason.
 * The cached heaps are bounded (sched_opts.heap_budget); past that, scans.
 *
 * If memory for the index runs out the call scans the whole fleet instead,
 * which is slower but gives the same answers.
 */
#include "src/sched.h"

#include <stdlib.h>
#include <string.h>

#include "src/err.h"

#define SCHED_NONE		UINT32_MAX
#define SCHED_SCORE_MAX		100

const char *
sched_reason_name(enum sched_reason r)
{
	switch (r) {
	case SCHED_PLACED:
		return "placed";
	case SCHED_BACKOFF:
		return "retry_backoff";
	case SCHED_NO_TYPE:
		return "no_worker_for_type";
	case SCHED_NO_MATCH:
		return "no_worker_matches_hard_affinity";
	case SCHED_ANTI:
		return "excluded_by_anti_affinity";
	case SCHED_FULL:
		return "no_free_capacity";
	case SCHED_QUOTA:
		return "customer_max_concurrent";
	case SCHED_RESOURCES:
		return "insufficient_resources";
	case SCHED_DEFERRED:
		return "deferred";
	case SCHED__COUNT:
		break;
	}
	return "unknown";
}

/* ---- the rules ---- */

static bool
sched_can_run_type(const struct workload *w, const struct worker_rec *rec)
{
	size_t	 i;

	if (w->type == NULL || !strlist_contains(&rec->capabilities, w->type))
		return false;
	for (i = 0; i < w->affinity.hard_types.n; i++)
		if (!strlist_contains(&rec->capabilities, w->affinity.hard_types.v[i]))
			return false;
	return true;
}

bool
sched_hard_ok(const struct workload *w, const struct worker_rec *rec)
{
	const struct affinity	*a = &w->affinity;

	if (a->hard_worker_id != NULL && !str_eq(a->hard_worker_id, rec->id))
		return false;
	if (!tagset_matches(&rec->tags, &a->hard_tags))
		return false;
	return sched_can_run_type(w, rec);
}

static bool
sched_anti_ok(const struct workload *w, const struct sched_worker *sw)
{
	const struct strlist	*anti = &w->affinity.anti_types;
	size_t			 i;

	for (i = 0; i < anti->n; i++)
		if (strlist_contains(&sw->running_types, anti->v[i]))
			return false;
	return true;
}

uint32_t
sched_soft_score(const struct workload *w, const struct worker_rec *rec)
{
	const struct affinity	*a = &w->affinity;
	const char		*v;
	uint32_t		 score = 0;
	size_t			 i;

	if (a->soft_worker_id != NULL && str_eq(a->soft_worker_id, rec->id))
		score += 60;
	for (i = 0; i < a->soft_tags.n; i++) {
		v = tagset_get(&rec->tags, a->soft_tags.v[i].key);
		if (v != NULL && strcmp(v, a->soft_tags.v[i].value) == 0)
			score += 10;
	}
	return score > SCHED_SCORE_MAX ? SCHED_SCORE_MAX : score;
}

static bool
sched_worker_full(const struct sched_worker *sw)
{
	return sw->used >= sw->rec->capacity;
}

/* True if sw has, of every kind r asks for, at least that much free. */
static bool
sched_res_ok(const struct sched_worker *sw, const struct resources *r)
{
	return sw->free.cpu_millis >= r->cpu_millis &&
	    sw->free.memory_mb >= r->memory_mb && sw->free.gpus >= r->gpus;
}

static bool
sched_has_requests(const struct workload *w)
{
	return w->requests.cpu_millis > 0 || w->requests.memory_mb > 0 ||
	    w->requests.gpus > 0;
}

/* True if load ua/ca goes before load ub/cb: is lower (spread) or higher
 * (pack); for equal loads, ia < ib (the lower worker index). */
static bool
sched_load_before(uint32_t ua, uint32_t ca, size_t ia, uint32_t ub, uint32_t cb,
    size_t ib, bool pack)
{
	uint64_t	 la = (uint64_t)ua * cb;
	uint64_t	 lb = (uint64_t)ub * ca;

	if (la == lb)
		return ia < ib;
	return (la < lb) != pack;
}

struct sched_quota *
sched_quota_find(struct sched_quota *quotas, size_t n, const char *customer_id)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	if (customer_id == NULL)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(quotas[mid].customer_id, customer_id);
		if (c == 0)
			return &quotas[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- hashing and a small open-addressing table ---- */

#define SCHED_FNV_OFFSET	0xcbf29ce484222325ULL
#define SCHED_FNV_PRIME		0x100000001b3ULL

static uint64_t
sched_hash_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * SCHED_FNV_PRIME;
}

/* Mixes s, its terminator included, into h; NULL differs from "". */
static uint64_t
sched_hash_str(uint64_t h, const char *s)
{
	if (s == NULL)
		return sched_hash_byte(sched_hash_byte(h, 0xff), 0);
	for (; *s != '\0'; s++)
		h = sched_hash_byte(h, (unsigned char)*s);
	return sched_hash_byte(h, 0);
}

static uint64_t
sched_hash_size(uint64_t h, size_t n)
{
	int	 i;

	for (i = 0; i < 4; i++)
		h = sched_hash_byte(h, (unsigned char)(n >> (8 * i)));
	return h;
}

static uint64_t
sched_hash_strlist(uint64_t h, const struct strlist *l)
{
	size_t	 i;

	h = sched_hash_size(h, l->n);
	for (i = 0; i < l->n; i++)
		h = sched_hash_str(h, l->v[i]);
	return h;
}

static uint64_t
sched_hash_tagset(uint64_t h, const struct tagset *t)
{
	size_t	 i;

	h = sched_hash_size(h, t->n);
	for (i = 0; i < t->n; i++) {
		h = sched_hash_str(h, t->v[i].key);
		h = sched_hash_str(h, t->v[i].value);
	}
	return h;
}

/*
 * Entries of one size, numbered from 0, found by hash.  The caller probes
 * (sched_tab_probe, then compares the candidates it is handed) and adds at
 * the empty slot the probe ended on.
 */
struct sched_tab {
	uint32_t	*slot;		/* entry number + 1; 0: empty */
	size_t		 mask;		/* slots - 1 */
	uint64_t	*hash;		/* hash of each entry */
	unsigned char	*ent;		/* the entries */
	size_t		 ent_size;
	size_t		 n, cap;	/* entries used, allocated */
};

static int
sched_tab_init(struct sched_tab *t, size_t ent_size, size_t cap)
{
	size_t	 slots = 16;

	memset(t, 0, sizeof *t);
	t->ent_size = ent_size;
	if (cap < 8)
		cap = 8;
	while (slots < cap * 2)
		slots *= 2;
	t->slot = calloc(slots, sizeof *t->slot);
	t->hash = calloc(cap, sizeof *t->hash);
	t->ent = calloc(cap, ent_size);
	if (t->slot == NULL || t->hash == NULL || t->ent == NULL)
		return ERR_NOMEM;
	t->mask = slots - 1;
	t->cap = cap;
	return 0;
}

static void
sched_tab_fini(struct sched_tab *t)
{
	free(t->slot);
	free(t->hash);
	free(t->ent);
	memset(t, 0, sizeof *t);
}

static void *
sched_tab_at(const struct sched_tab *t, size_t i)
{
	return t->ent + i * t->ent_size;
}

/* Walks the probe sequence of h from *pos: returns the next entry number
 * whose hash is h, or SCHED_NONE with *pos on the empty slot that ends the
 * sequence.  Start with *pos = h & t->mask. */
static uint32_t
sched_tab_probe(const struct sched_tab *t, uint64_t h, size_t *pos)
{
	uint32_t	 e;

	while ((e = t->slot[*pos]) != 0) {
		*pos = (*pos + 1) & t->mask;
		if (t->hash[e - 1] == h)
			return e - 1;
	}
	return SCHED_NONE;
}

/* Doubles the slots and rehashes; 0 or ERR_NOMEM (the table unchanged). */
static int
sched_tab_grow_slots(struct sched_tab *t)
{
	size_t		 slots = (t->mask + 1) * 2, i, pos;
	uint32_t	*s;

	if ((s = calloc(slots, sizeof *s)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < t->n; i++) {
		for (pos = t->hash[i] & (slots - 1); s[pos] != 0; pos = (pos + 1) & (slots - 1))
			;
		s[pos] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = s;
	t->mask = slots - 1;
	return 0;
}

/* Adds a zeroed entry of hash h at the empty slot pos (from a probe that
 * found no equal entry).  Returns its number, or SCHED_NONE when out of
 * memory.  Entry pointers taken before are invalid afterwards. */
static uint32_t
sched_tab_add(struct sched_tab *t, uint64_t h, size_t pos)
{
	uint64_t	*nh;
	unsigned char	*ne;
	size_t		 cap;

	if (t->n >= SCHED_NONE - 1)
		return SCHED_NONE;
	if (t->n == t->cap) {
		cap = t->cap * 2;
		if ((nh = realloc(t->hash, cap * sizeof *nh)) == NULL)
			return SCHED_NONE;
		t->hash = nh;
		if ((ne = realloc(t->ent, cap * t->ent_size)) == NULL)
			return SCHED_NONE;
		t->ent = ne;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 > t->mask + 1) {
		if (sched_tab_grow_slots(t) != 0)
			return SCHED_NONE;
		for (pos = h & t->mask; t->slot[pos] != 0; pos = (pos + 1) & t->mask)
			;
	}
	memset(sched_tab_at(t, t->n), 0, t->ent_size);
	t->hash[t->n] = h;
	t->slot[pos] = (uint32_t)t->n + 1;
	return (uint32_t)t->n++;
}

/* ---- the fleet index ---- */

enum sched_item_kind { SCHED_ITEM_CAP, SCHED_ITEM_TAG, SCHED_ITEM_ID };

/* One index key (a capability, a tag pair, a worker id) and its workers. */
struct sched_item {
	const char	*a;		/* capability, tag key or worker id (borrowed) */
	const char	*b;		/* tag value, else NULL */
	int		 kind;
	uint32_t	 off;		/* first worker in the postings */
	uint32_t	 n;		/* workers */
	uint32_t	 last;		/* last worker added, plus 1 (duplicates) */
};

/* Candidate workers: v[0..n) in ascending order, or every worker when v is
 * NULL (the scan without an index). */
struct sched_list {
	const uint32_t	*v;
	size_t		 n;
};

static uint64_t
sched_item_hash(int kind, const char *a, const char *b)
{
	uint64_t	 h = sched_hash_byte(SCHED_FNV_OFFSET, (unsigned char)kind);

	h = sched_hash_str(h, a);
	return b != NULL ? sched_hash_str(h, b) : h;
}

/* The item for (kind, a, b), or SCHED_NONE with *pos where it would go. */
static uint32_t
sched_item_find(const struct sched_tab *t, int kind, const char *a, const char *b,
    uint64_t h, size_t *pos)
{
	const struct sched_item	*it;
	uint32_t		 e;

	*pos = h & t->mask;
	while ((e = sched_tab_probe(t, h, pos)) != SCHED_NONE) {
		it = sched_tab_at(t, e);
		if (it->kind == kind && strcmp(it->a, a) == 0 &&
		    (b == NULL || strcmp(it->b, b) == 0))
			return e;
	}
	return SCHED_NONE;
}

/* ---- one call's state ---- */

struct sched_cand {
	uint32_t	 worker;
	uint32_t	 used;		/* the worker's used slots when keyed */
	uint32_t	 capacity;
};

/* Candidates of one score, as a heap in the strategy's order (see
 * sched_cand_before). */
struct sched_bucket {
	uint32_t		 score;
	struct sched_cand	*h;
	uint32_t		 n;
	uint32_t		 cap;	/* entries allocated (binpack adds some) */
};

/* Cached candidates of a shape (one bucket, scores ignored) or of a shape
 * with given soft preferences (one bucket per score, highest first). */
struct sched_heaps {
	struct sched_bucket	*bucket;
	uint32_t		 n_bucket;
	bool			 by_score;	/* buckets by score, not one */
	bool			 built;
	bool			 unbuildable;	/* over budget or out of memory */
	size_t			 charged;	/* entries taken from the budget */
	size_t			 log_at;	/* placements applied (binpack) */
};

/* A workload shape: what decides which workers could ever take it (type,
 * hard rules, anti-affinity, requests), so what decides why none can. */
struct sched_shape {
	const struct workload	*rep;		/* first workload of the shape */
	uint32_t		 seen;		/* workloads of it so far (counted
						 * only if it has requests) */
	bool			 dead;		/* none can be placed in this call */
	enum sched_reason	 reason;	/* why, once dead */
	uint32_t		 witness;	/* when dead for RESOURCES: a worker
						 * with a slot, without the
						 * resources, when last checked */
	bool			 full_seen;	/* a worker passing the hard rules and
						 * anti-affinity left a heap full */
	struct sched_heaps	 base;		/* by load only */
};

/* A shape with soft preferences. */
struct sched_variant {
	const struct workload	*rep;
	uint32_t		 shape;
	uint32_t		 seen;
	struct sched_heaps	 hs;		/* by score, then load */
};

struct sched_ctx {
	const struct sched_opts	*opts;
	struct sched_stats	*stats;
	struct sched_worker	*workers;
	size_t			 n_workers;
	size_t			 n_free;	/* live workers with a free slot */
	bool			 pack;		/* SCHED_BINPACK */
	bool			 indexed;
	struct sched_tab	 items;		/* of struct sched_item */
	uint32_t		*post;		/* postings of every item */
	bool			 memo;
	struct sched_tab	 shapes;	/* of struct sched_shape */
	struct sched_tab	 variants;	/* of struct sched_variant */
	size_t			 budget;	/* heap entries still allowed */
	struct sched_cand	*scratch;	/* n_workers entries for building */
	uint32_t		*scratch_score;
	uint32_t		*stamp;		/* per worker: marks repeats */
	uint32_t		 stamp_gen;	/* the current mark */
	uint32_t		*log;		/* workers placed on, in order
						 * (binpack with heaps only) */
	size_t			 n_log;
};

static bool
sched_alive(const struct sched_worker *sw)
{
	return sw->rec->status == WORKER_ALIVE;
}

/* True if, between equal scores, worker a goes before worker b: the less
 * loaded (spread) or the more loaded (binpack), then the lower index. */
static bool
sched_worker_before(const struct sched_ctx *x, size_t a, size_t b)
{
	const struct sched_worker	*wa = &x->workers[a], *wb = &x->workers[b];

	return sched_load_before(wa->used, wa->rec->capacity, a, wb->used,
	    wb->rec->capacity, b, x->pack);
}

/* A fresh mark for x->stamp (which must exist). */
static uint32_t
sched_stamp_next(struct sched_ctx *x)
{
	if (++x->stamp_gen == 0) {
		memset(x->stamp, 0, x->n_workers * sizeof *x->stamp);
		x->stamp_gen = 1;
	}
	return x->stamp_gen;
}

/* Interns (kind, a, b) and counts worker i in it (fill false), or appends
 * worker i to its postings (fill true).  0 or ERR_NOMEM. */
static int
sched_index_put(struct sched_ctx *x, int kind, const char *a, const char *b,
    uint32_t i, bool fill)
{
	struct sched_item	*it;
	uint64_t		 h = sched_item_hash(kind, a, b);
	uint32_t		 e;
	size_t			 pos;

	e = sched_item_find(&x->items, kind, a, b, h, &pos);
	if (e == SCHED_NONE) {
		if (fill || (e = sched_tab_add(&x->items, h, pos)) == SCHED_NONE)
			return ERR_NOMEM;
		it = sched_tab_at(&x->items, e);
		it->kind = kind;
		it->a = a;
		it->b = b;
	}
	it = sched_tab_at(&x->items, e);
	if (it->last == i + 1)
		return 0;	/* a capability listed twice */
	it->last = i + 1;
	if (fill)
		x->post[it->off + it->n] = i;
	it->n++;
	return 0;
}

static int
sched_index_pass(struct sched_ctx *x, bool fill)
{
	const struct worker_rec	*rec;
	size_t			 i, j;

	for (i = 0; i < x->n_workers; i++) {
		if (!sched_alive(&x->workers[i]))
			continue;
		rec = x->workers[i].rec;
		for (j = 0; j < rec->capabilities.n; j++)
			if (sched_index_put(x, SCHED_ITEM_CAP, rec->capabilities.v[j],
			    NULL, (uint32_t)i, fill) != 0)
				return ERR_NOMEM;
		for (j = 0; j < rec->tags.n; j++)
			if (sched_index_put(x, SCHED_ITEM_TAG, rec->tags.v[j].key,
			    rec->tags.v[j].value, (uint32_t)i, fill) != 0)
				return ERR_NOMEM;
		if (rec->id != NULL && sched_index_put(x, SCHED_ITEM_ID, rec->id,
		    NULL, (uint32_t)i, fill) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* Builds the index of the live workers: count, lay out, fill. */
static int
sched_index_build(struct sched_ctx *x)
{
	const struct worker_rec	*rec;
	struct sched_item	*it;
	size_t			 i, total = 0, off = 0;

	if (x->n_workers >= SCHED_NONE)
		return ERR_NOMEM;
	for (i = 0; i < x->n_workers; i++) {
		rec = x->workers[i].rec;
		if (sched_alive(&x->workers[i]))
			total += rec->capabilities.n + rec->tags.n + 1;
	}
	if (total >= SCHED_NONE || sched_tab_init(&x->items, sizeof *it, total) != 0)
		return ERR_NOMEM;
	if (sched_index_pass(x, false) != 0)
		return ERR_NOMEM;
	for (i = 0; i < x->items.n; i++) {
		it = sched_tab_at(&x->items, i);
		it->off = (uint32_t)off;
		off += it->n;
		it->n = 0;
		it->last = 0;
	}
	if ((x->post = malloc((off > 0 ? off : 1) * sizeof *x->post)) == NULL)
		return ERR_NOMEM;
	return sched_index_pass(x, true);
}

/* The live workers with (kind, a, b); an empty list if none. */
static struct sched_list
sched_index_get(const struct sched_ctx *x, int kind, const char *a, const char *b)
{
	const struct sched_item	*it;
	struct sched_list	 l = { NULL, 0 };
	uint32_t		 e;
	size_t			 pos;

	e = sched_item_find(&x->items, kind, a, b, sched_item_hash(kind, a, b), &pos);
	if (e != SCHED_NONE) {
		it = sched_tab_at(&x->items, e);
		l.v = x->post + it->off;
		l.n = it->n;
	}
	return l;
}

/* Keeps in *best the smaller of *best and l. */
static void
sched_list_min(struct sched_list *best, struct sched_list l)
{
	if (l.n < best->n)
		*best = l;
}

/* The smallest list of workers that holds every worker satisfying w's hard
 * rules (types=false), or every worker able to run its type (types=true).
 * Without an index, every worker. */
static struct sched_list
sched_cands(const struct sched_ctx *x, const struct workload *w, bool types)
{
	const struct affinity	*a = &w->affinity;
	struct sched_list	 l = { NULL, x->n_workers }, empty = { NULL, 0 };
	size_t			 i;

	if (!x->indexed)
		return l;
	if (w->type == NULL)
		return empty;
	l = sched_index_get(x, SCHED_ITEM_CAP, w->type, NULL);
	for (i = 0; i < a->hard_types.n && l.n > 0; i++)
		sched_list_min(&l, sched_index_get(x, SCHED_ITEM_CAP, a->hard_types.v[i], NULL));
	if (types)
		return l;
	for (i = 0; i < a->hard_tags.n && l.n > 0; i++)
		sched_list_min(&l, sched_index_get(x, SCHED_ITEM_TAG, a->hard_tags.v[i].key,
		    a->hard_tags.v[i].value));
	if (a->hard_worker_id != NULL && l.n > 0)
		sched_list_min(&l, sched_index_get(x, SCHED_ITEM_ID, a->hard_worker_id, NULL));
	return l;
}

static size_t
sched_list_at(const struct sched_list *l, size_t k)
{
	return l->v != NULL ? l->v[k] : k;
}

/* Why w cannot go anywhere when no worker satisfies its hard rules. */
static enum sched_reason
sched_type_reason(struct sched_ctx *x, const struct workload *w)
{
	struct sched_list	 l = sched_cands(x, w, true);
	struct sched_worker	*sw;
	size_t			 k;

	for (k = 0; k < l.n; k++) {
		sw = &x->workers[sched_list_at(&l, k)];
		x->stats->examined++;
		if (sched_alive(sw) && sched_can_run_type(w, sw->rec))
			return SCHED_NO_MATCH;
	}
	return SCHED_NO_TYPE;
}

/* Scans w's candidates for the best worker: true with *best and *score, or
 * false with *reason; when that is RESOURCES, *witness (if not NULL) is a
 * worker that proves it.  When the fleet has no free slot left it stops at
 * the first worker that proves FULL. */
static bool
sched_scan(struct sched_ctx *x, const struct workload *w, size_t *best,
    uint32_t *score, enum sched_reason *reason, uint32_t *witness)
{
	struct sched_list	 l = sched_cands(x, w, false);
	struct sched_worker	*sw;
	bool			 hard_seen = false, anti_seen = false, slot_seen = false;
	size_t			 k, j, b = x->n_workers;
	uint32_t		 s, bs = 0;

	for (k = 0; k < l.n; k++) {
		j = sched_list_at(&l, k);
		sw = &x->workers[j];
		x->stats->examined++;
		/* A full worker only matters to the reason, and once some
		 * worker passed the rules the reason is FULL at worst. */
		if (anti_seen && sched_worker_full(sw))
			continue;
		if (!sched_alive(sw) || !sched_hard_ok(w, sw->rec))
			continue;
		hard_seen = true;
		if (!sched_anti_ok(w, sw))
			continue;
		anti_seen = true;
		if (sched_worker_full(sw)) {
			if (x->n_free == 0)
				break;
			continue;
		}
		if (!sched_res_ok(sw, &w->requests)) {
			if (!slot_seen && witness != NULL)
				*witness = (uint32_t)j;
			slot_seen = true;
			continue;
		}
		s = sched_soft_score(w, sw->rec);
		/* The list is in index order, so between equal scores and
		 * loads the earlier worker stays. */
		if (b == x->n_workers || s > bs ||
		    (s == bs && sched_worker_before(x, j, b))) {
			b = j;
			bs = s;
		}
	}
	if (b < x->n_workers) {
		*best = b;
		*score = bs;
		return true;
	}
	if (!hard_seen)
		*reason = sched_type_reason(x, w);
	else if (slot_seen)
		*reason = SCHED_RESOURCES;
	else
		*reason = anti_seen ? SCHED_FULL : SCHED_ANTI;
	return false;
}

/* ---- cached candidates ---- */

/* True if a goes above b in a heap: the less loaded (spread) or the more
 * loaded (pack), then the lower worker index. */
static bool
sched_cand_before(const struct sched_cand *a, const struct sched_cand *b, bool pack)
{
	return sched_load_before(a->used, a->capacity, a->worker, b->used, b->capacity,
	    b->worker, pack);
}

static void
sched_heap_down(struct sched_cand *h, size_t n, size_t i, bool pack)
{
	struct sched_cand	 t;
	size_t			 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && sched_cand_before(&h[c + 1], &h[c], pack))
			c++;
		if (!sched_cand_before(&h[c], &h[i], pack))
			return;
		t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

static void
sched_heap_up(struct sched_cand *h, size_t i, bool pack)
{
	struct sched_cand	 t;
	size_t			 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!sched_cand_before(&h[i], &h[p], pack))
			return;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void
sched_heap_pop(struct sched_cand *h, size_t *n, bool pack)
{
	h[0] = h[--*n];
	sched_heap_down(h, *n, 0, pack);
}

static void
sched_heap_make(struct sched_cand *h, size_t n, bool pack)
{
	size_t	 k;

	for (k = n / 2; k-- > 0;)
		sched_heap_down(h, n, k, pack);
}

static void
sched_heaps_free(struct sched_heaps *hs)
{
	uint32_t	 b;

	for (b = 0; b < hs->n_bucket; b++)
		free(hs->bucket[b].h);
	free(hs->bucket);
	hs->bucket = NULL;
	hs->n_bucket = 0;
	hs->built = false;
}

/* Gives up the cached candidates hs (and their budget) for the rest of the
 * call: its workloads are scanned from now on. */
static void
sched_heaps_drop(struct sched_ctx *x, struct sched_heaps *hs)
{
	sched_heaps_free(hs);
	x->budget += hs->charged;
	hs->charged = 0;
	hs->unbuildable = true;
}

/* Collects w's candidates into hs: one heap per soft score (by_score), or
 * a single one.  They come from the shape's base heaps when given (no hard
 * rule to check again), else from the index.  Returns 0, ERR_NOMEM,
 * ERR_NOSPACE when over the budget (nothing built then), or ERR_NOTFOUND
 * with *reason when there are no candidates at all (for a workload with
 * requests, ANTI or FULL there may really be RESOURCES: the caller sees to
 * it). */
static int
sched_heaps_build(struct sched_ctx *x, struct sched_shape *sh,
    struct sched_heaps *hs, const struct workload *w, bool by_score,
    enum sched_reason *reason)
{
	struct sched_list	 l = { NULL, 0 };
	const struct sched_cand	*from = NULL;
	struct sched_worker	*sw;
	struct sched_bucket	*bk;
	struct sched_cand	*at[SCHED_SCORE_MAX + 1];
	uint32_t		 count[SCHED_SCORE_MAX + 1] = { 0 };
	bool			 hard_seen = false, req = sched_has_requests(w);
	size_t			 k, j, n = 0, avail;
	uint32_t		 s, b, gen;
	int			 i;

	if (hs != &sh->base && sh->base.built) {
		from = sh->base.bucket[0].h;
		avail = sh->base.bucket[0].n;
		hard_seen = true;	/* the base was built, so some worker was */
	} else {
		l = sched_cands(x, w, false);
		avail = l.n;
	}
	if (avail > x->budget)
		return ERR_NOSPACE;
	gen = from != NULL && x->pack ? sched_stamp_next(x) : 0;
	for (k = 0; k < avail; k++) {
		j = from != NULL ? from[k].worker : sched_list_at(&l, k);
		sw = &x->workers[j];
		x->stats->examined++;
		if (from == NULL) {
			if (!sched_alive(sw) || !sched_hard_ok(w, sw->rec))
				continue;
			hard_seen = true;
		} else if (gen != 0) {
			if (x->stamp[j] == gen)
				continue;	/* a binpack heap's stale entry */
			x->stamp[j] = gen;
		}
		if (!sched_anti_ok(w, sw))
			continue;
		if (sched_worker_full(sw)) {
			sh->full_seen = true;
			continue;
		}
		if (req && !sched_res_ok(sw, &w->requests))
			continue;
		s = by_score ? sched_soft_score(w, sw->rec) : 0;
		x->scratch[n].worker = (uint32_t)j;
		x->scratch[n].used = sw->used;
		x->scratch[n].capacity = sw->rec->capacity;
		x->scratch_score[n] = s;
		count[s]++;
		n++;
	}
	if (n == 0) {
		if (!hard_seen)
			*reason = sched_type_reason(x, w);
		else
			*reason = sh->full_seen ? SCHED_FULL : SCHED_ANTI;
		return ERR_NOTFOUND;
	}
	for (i = SCHED_SCORE_MAX; i >= 0; i--)
		if (count[i] > 0)
			hs->n_bucket++;
	if ((hs->bucket = calloc(hs->n_bucket, sizeof *hs->bucket)) == NULL) {
		hs->n_bucket = 0;
		return ERR_NOMEM;
	}
	for (i = SCHED_SCORE_MAX, b = 0; i >= 0; i--) {
		if (count[i] == 0)
			continue;
		bk = &hs->bucket[b++];
		bk->score = (uint32_t)i;
		bk->n = bk->cap = count[i];
		if ((bk->h = malloc(count[i] * sizeof *bk->h)) == NULL) {
			sched_heaps_free(hs);
			return ERR_NOMEM;
		}
		at[i] = bk->h;
	}
	for (k = 0; k < n; k++)
		*at[x->scratch_score[k]]++ = x->scratch[k];
	for (b = 0; b < hs->n_bucket; b++)
		sched_heap_make(hs->bucket[b].h, hs->bucket[b].n, x->pack);
	hs->by_score = by_score;
	hs->built = true;
	hs->charged = n;
	hs->log_at = x->n_log;
	x->budget -= n;
	x->stats->heaps_built++;
	return 0;
}

/* The bucket of hs that holds worker sw, which qualifies for w. */
static struct sched_bucket *
sched_heaps_bucket(struct sched_heaps *hs, const struct workload *w,
    const struct sched_worker *sw)
{
	uint32_t	 b, s;

	if (!hs->by_score)
		return hs->n_bucket > 0 ? &hs->bucket[0] : NULL;
	s = sched_soft_score(w, sw->rec);
	for (b = 0; b < hs->n_bucket; b++)
		if (hs->bucket[b].score == s)
			return &hs->bucket[b];
	return NULL;
}

/* Adds worker j, keyed now, to bk; false when out of memory. */
static bool
sched_bucket_push(struct sched_bucket *bk, uint32_t j, const struct sched_worker *sw,
    bool pack)
{
	struct sched_cand	*h;
	uint32_t		 cap;

	if (bk->n == bk->cap) {
		if (bk->cap > UINT32_MAX / 2)
			return false;
		cap = bk->cap > 0 ? bk->cap * 2 : 4;
		if ((h = realloc(bk->h, cap * sizeof *h)) == NULL)
			return false;
		bk->h = h;
		bk->cap = cap;
	}
	bk->h[bk->n].worker = j;
	bk->h[bk->n].used = sw->used;
	bk->h[bk->n].capacity = sw->rec->capacity;
	sched_heap_up(bk->h, bk->n++, pack);
	return true;
}

/* Re-keys every entry of hs to its worker's load now, keeping one entry
 * per worker, and remakes the heaps. */
static void
sched_heaps_rekey(struct sched_ctx *x, struct sched_heaps *hs)
{
	struct sched_bucket	*bk;
	struct sched_cand	 e;
	uint32_t		 b, k, m, gen = sched_stamp_next(x);

	for (b = 0; b < hs->n_bucket; b++) {
		bk = &hs->bucket[b];
		for (k = 0, m = 0; k < bk->n; k++) {
			e = bk->h[k];
			if (x->stamp[e.worker] == gen)
				continue;
			x->stamp[e.worker] = gen;
			e.used = x->workers[e.worker].used;
			bk->h[m++] = e;
		}
		bk->n = m;
		sched_heap_make(bk->h, bk->n, x->pack);
	}
}

/*
 * Binpack only: applies to hs the placements logged since it was last
 * brought up to date (see the top of the file), for workloads like w.
 * Every worker that still qualifies then has an entry with its load now.
 * False when that needs more entries than the budget or memory allows.
 */
static bool
sched_heaps_sync(struct sched_ctx *x, struct sched_heaps *hs, const struct workload *w)
{
	struct sched_bucket	*bk;
	struct sched_worker	*sw;
	size_t			 k, total = 0;
	uint32_t		 b, j, gen;

	if (!x->pack || hs->log_at == x->n_log)
		return true;
	for (b = 0; b < hs->n_bucket; b++)
		total += hs->bucket[b].n;
	if (x->n_log - hs->log_at > total) {
		/* Cheaper to re-key everything than to go through the log. */
		sched_heaps_rekey(x, hs);
		hs->log_at = x->n_log;
		return true;
	}
	gen = sched_stamp_next(x);
	for (k = hs->log_at; k < x->n_log; k++) {
		j = x->log[k];
		if (x->stamp[j] == gen)
			continue;
		x->stamp[j] = gen;
		sw = &x->workers[j];
		/* Not qualifying now means not ever again: its entries go
		 * when they reach the top.  Qualifying now means it
		 * qualified when hs was built, so it is one of hs's. */
		if (sched_worker_full(sw) || !sched_res_ok(sw, &w->requests) ||
		    !sched_anti_ok(w, sw) || !sched_hard_ok(w, sw->rec) ||
		    (bk = sched_heaps_bucket(hs, w, sw)) == NULL)
			continue;
		/* At the top it is its freshest entry; growing keeps it there. */
		if (bk->n > 0 && bk->h[0].worker == j) {
			bk->h[0].used = sw->used;
			continue;
		}
		if (x->budget == 0 || !sched_bucket_push(bk, j, sw, true))
			return false;
		x->budget--;
		hs->charged++;
	}
	hs->log_at = x->n_log;
	return true;
}

/* The best worker for w among the cached candidates hs, repairing the heaps
 * on the way (see the top of the file).  A single-bucket hs gives score 0:
 * the caller has ruled out every worker w would score higher.  When none is
 * left, *reason is FULL or ANTI (for a workload with requests the caller
 * looks further). */
static bool
sched_heaps_pick(struct sched_ctx *x, struct sched_shape *sh,
    struct sched_heaps *hs, const struct workload *w, size_t *best,
    uint32_t *score, enum sched_reason *reason)
{
	struct sched_bucket	*bk;
	struct sched_cand	*h;
	struct sched_worker	*sw;
	size_t			 b, n;
	bool			 pack = x->pack, req = sched_has_requests(w);

	for (b = 0; b < hs->n_bucket; b++) {
		bk = &hs->bucket[b];
		h = bk->h;
		n = bk->n;
		while (n > 0) {
			sw = &x->workers[h[0].worker];
			if (!sched_anti_ok(w, sw)) {
				sched_heap_pop(h, &n, pack);
			} else if (sched_worker_full(sw)) {
				sh->full_seen = true;
				sched_heap_pop(h, &n, pack);
			} else if (req && !sched_res_ok(sw, &w->requests)) {
				sched_heap_pop(h, &n, pack);
			} else if (sw->used != h[0].used) {
				if (pack) {
					/* Stale: hs was synced, so the worker
					 * has a fresher entry (which ranks
					 * above this one while it qualifies,
					 * so this is belt and braces). */
					sched_heap_pop(h, &n, pack);
				} else {
					h[0].used = sw->used;
					sched_heap_down(h, n, 0, pack);
				}
			} else
				break;
		}
		bk->n = (uint32_t)n;
		if (n > 0) {
			*best = h[0].worker;
			*score = bk->score;
			x->stats->heap_picks++;
			return true;
		}
	}
	*reason = sh->full_seen ? SCHED_FULL : SCHED_ANTI;
	return false;
}

/* ---- soft preferences through the index ---- */

static bool
sched_has_soft(const struct workload *w)
{
	return w->affinity.soft_worker_id != NULL || w->affinity.soft_tags.n > 0;
}

/* How many index entries the workers w prefers span: every worker that
 * would score above 0 is in one of those lists. */
static size_t
sched_soft_span(const struct sched_ctx *x, const struct workload *w)
{
	const struct affinity	*a = &w->affinity;
	size_t			 i, n = 0;

	if (a->soft_worker_id != NULL)
		n += sched_index_get(x, SCHED_ITEM_ID, a->soft_worker_id, NULL).n;
	for (i = 0; i < a->soft_tags.n; i++)
		n += sched_index_get(x, SCHED_ITEM_TAG, a->soft_tags.v[i].key,
		    a->soft_tags.v[i].value).n;
	return n;
}

/* Considers the workers of l for w, keeping the best in *b and *bs (b ==
 * n_workers: none yet).  l is not in index order, so ties on score and
 * load are broken by index explicitly. */
static void
sched_soft_consider(struct sched_ctx *x, const struct workload *w,
    struct sched_list l, size_t *b, uint32_t *bs)
{
	struct sched_worker	*sw;
	size_t			 k, j;
	uint32_t		 s;
	bool			 req = sched_has_requests(w);

	for (k = 0; k < l.n; k++) {
		j = l.v[k];
		sw = &x->workers[j];
		x->stats->examined++;
		if (sched_worker_full(sw) || (req && !sched_res_ok(sw, &w->requests)) ||
		    !sched_hard_ok(w, sw->rec) || !sched_anti_ok(w, sw))
			continue;
		s = sched_soft_score(w, sw->rec);
		if (*b == x->n_workers || s > *bs ||
		    (s == *bs && sched_worker_before(x, j, *b))) {
			*b = j;
			*bs = s;
		}
	}
}

/* The best worker for w when its shape's candidates are cached in base:
 * the preferred workers (found through the index) if any can take it, else
 * the first of the rest by the strategy, who all score 0.  The base must be
 * built and brought up to date (sched_heaps_ready). */
static bool
sched_soft_pick(struct sched_ctx *x, struct sched_shape *sh,
    const struct workload *w, size_t *best, uint32_t *score,
    enum sched_reason *reason)
{
	const struct affinity	*a = &w->affinity;
	size_t			 i, b = x->n_workers;
	uint32_t		 bs = 0;

	if (a->soft_worker_id != NULL)
		sched_soft_consider(x, w, sched_index_get(x, SCHED_ITEM_ID,
		    a->soft_worker_id, NULL), &b, &bs);
	for (i = 0; i < a->soft_tags.n; i++)
		sched_soft_consider(x, w, sched_index_get(x, SCHED_ITEM_TAG,
		    a->soft_tags.v[i].key, a->soft_tags.v[i].value), &b, &bs);
	if (b < x->n_workers) {
		*best = b;
		*score = bs;
		return true;
	}
	return sched_heaps_pick(x, sh, &sh->base, w, best, score, reason);
}

/* ---- memo of shapes and variants ---- */

static uint64_t
sched_shape_hash(const struct workload *w)
{
	const struct affinity	*a = &w->affinity;
	uint64_t		 h = SCHED_FNV_OFFSET;

	h = sched_hash_str(h, w->type);
	h = sched_hash_strlist(h, &a->hard_types);
	h = sched_hash_tagset(h, &a->hard_tags);
	h = sched_hash_str(h, a->hard_worker_id);
	h = sched_hash_strlist(h, &a->anti_types);
	if (sched_has_requests(w)) {
		h = sched_hash_size(h, w->requests.cpu_millis);
		h = sched_hash_size(h, w->requests.memory_mb);
		h = sched_hash_size(h, w->requests.gpus);
	}
	return h;
}

static bool
sched_shape_eq(const struct workload *p, const struct workload *q)
{
	const struct affinity	*a = &p->affinity, *b = &q->affinity;

	return str_eq(p->type, q->type) && strlist_eq(&a->hard_types, &b->hard_types) &&
	    tagset_eq(&a->hard_tags, &b->hard_tags) &&
	    str_eq(a->hard_worker_id, b->hard_worker_id) &&
	    strlist_eq(&a->anti_types, &b->anti_types) &&
	    p->requests.cpu_millis == q->requests.cpu_millis &&
	    p->requests.memory_mb == q->requests.memory_mb &&
	    p->requests.gpus == q->requests.gpus;
}

static uint64_t
sched_soft_hash(uint64_t h, const struct workload *w)
{
	h = sched_hash_str(h, w->affinity.soft_worker_id);
	return sched_hash_tagset(h, &w->affinity.soft_tags);
}

static bool
sched_soft_eq(const struct workload *p, const struct workload *q)
{
	return str_eq(p->affinity.soft_worker_id, q->affinity.soft_worker_id) &&
	    tagset_eq(&p->affinity.soft_tags, &q->affinity.soft_tags);
}

/* w's shape, added if new; NULL when out of memory.  The pointer is valid
 * until the next shape is added. */
static struct sched_shape *
sched_shape_get(struct sched_ctx *x, const struct workload *w, uint64_t h,
    uint32_t *num)
{
	struct sched_shape	*s;
	uint32_t		 e;
	size_t			 pos = h & x->shapes.mask;

	while ((e = sched_tab_probe(&x->shapes, h, &pos)) != SCHED_NONE) {
		s = sched_tab_at(&x->shapes, e);
		if (sched_shape_eq(s->rep, w)) {
			*num = e;
			return s;
		}
	}
	if ((e = sched_tab_add(&x->shapes, h, pos)) == SCHED_NONE)
		return NULL;
	s = sched_tab_at(&x->shapes, e);
	s->rep = w;
	*num = e;
	return s;
}

/* w's variant of shape number shape, added if new; NULL when out of
 * memory.  Valid until the next variant is added. */
static struct sched_variant *
sched_variant_get(struct sched_ctx *x, const struct workload *w, uint32_t shape,
    uint64_t shape_hash)
{
	struct sched_variant	*v;
	uint64_t		 h = sched_soft_hash(shape_hash, w);
	uint32_t		 e;
	size_t			 pos = h & x->variants.mask;

	while ((e = sched_tab_probe(&x->variants, h, &pos)) != SCHED_NONE) {
		v = sched_tab_at(&x->variants, e);
		if (v->shape == shape && sched_soft_eq(v->rep, w))
			return v;
	}
	if ((e = sched_tab_add(&x->variants, h, pos)) == SCHED_NONE)
		return NULL;
	v = sched_tab_at(&x->variants, e);
	v->rep = w;
	v->shape = shape;
	return v;
}

/* Makes sure hs is built and up to date if it can be; false when w's shape
 * turned out to have no candidates at all (then *reason says why). */
static bool
sched_heaps_ready(struct sched_ctx *x, struct sched_shape *sh,
    struct sched_heaps *hs, const struct workload *w, bool by_score,
    enum sched_reason *reason)
{
	int	 rc;

	if (hs->unbuildable)
		return true;
	if (hs->built) {
		if (!sched_heaps_sync(x, hs, w))
			sched_heaps_drop(x, hs);
		return true;
	}
	rc = sched_heaps_build(x, sh, hs, w, by_score, reason);
	if (rc == ERR_NOTFOUND)
		return false;
	hs->unbuildable = rc != 0;
	return true;
}

/* True if the worker that proved a dead shape's RESOURCES still does: it
 * lacks the resources for good, so it needs only a slot and no anti-affine
 * type.  (It passed the hard rules, which do not change.) */
static bool
sched_witness_holds(const struct sched_ctx *x, const struct sched_shape *sh,
    const struct workload *w)
{
	const struct sched_worker	*sw;

	if (sh->witness >= x->n_workers)
		return false;
	sw = &x->workers[sh->witness];
	return !sched_worker_full(sw) && sched_anti_ok(w, sw);
}

/* Soft preferences spanning at most this many index entries are looked up
 * through the index for every workload rather than cached per variant. */
#define SCHED_SOFT_SPAN_SMALL	32

/*
 * Decides where w goes: true with *best and *score, or false with the
 * reason it cannot be placed now.  A shape's candidates are cached at its
 * first workload (its second if it requests resources).  Soft preferences
 * are served from the index while they name few workers or have not
 * repeated yet, then from candidates cached by score.  Whatever cannot be
 * cached is scanned.
 */
static bool
sched_decide(struct sched_ctx *x, const struct workload *w, size_t *best,
    uint32_t *score, enum sched_reason *reason)
{
	struct sched_shape	*s;
	struct sched_variant	*v;
	bool			 found, req, scanned = false;
	uint64_t		 h;
	uint32_t		 num;
	size_t			 span;

	if (!x->memo)
		return sched_scan(x, w, best, score, reason, NULL);
	h = sched_shape_hash(w);
	if ((s = sched_shape_get(x, w, h, &num)) == NULL)
		return sched_scan(x, w, best, score, reason, NULL);
	req = sched_has_requests(w);
	if (s->dead) {
		if (s->reason != SCHED_RESOURCES || sched_witness_holds(x, s, w)) {
			x->stats->memo_hits++;
			*reason = s->reason;
			return false;
		}
		/* Its proof of RESOURCES filled up or took an anti-affine
		 * type: still nothing fits, but the reason may be another. */
		s->dead = false;
		goto scan;
	}
	/* With no free slot anywhere, a scan only looks for the reason and
	 * stops at the first worker that proves it. */
	if (x->n_free == 0)
		goto scan;
	if (req && s->seen++ == 0)
		goto scan;
	if (!sched_heaps_ready(x, s, &s->base, w, false, reason))
		goto dead;
	if (!sched_has_soft(w)) {
		if (!s->base.built)
			goto scan;
		found = sched_heaps_pick(x, s, &s->base, w, best, score, reason);
		goto out;
	}
	span = sched_soft_span(x, w);
	if (s->base.built && span <= SCHED_SOFT_SPAN_SMALL) {
		found = sched_soft_pick(x, s, w, best, score, reason);
		goto out;
	}
	if ((v = sched_variant_get(x, w, num, h)) != NULL && v->seen++ > 0) {
		if (!sched_heaps_ready(x, s, &v->hs, w, true, reason))
			goto dead;
		if (v->hs.built) {
			found = sched_heaps_pick(x, s, &v->hs, w, best, score, reason);
			goto out;
		}
	}
	if (s->base.built && span < sched_cands(x, w, false).n) {
		found = sched_soft_pick(x, s, w, best, score, reason);
		goto out;
	}
scan:
	found = sched_scan(x, w, best, score, reason, &s->witness);
	scanned = true;
out:
	if (found)
		return true;
dead:
	/* The heaps drop workers that lack the requested resources without
	 * a trace; whether one of them still has a slot, a scan tells. */
	if (req && !scanned && *reason != SCHED_NO_TYPE && *reason != SCHED_NO_MATCH &&
	    sched_scan(x, w, best, score, reason, &s->witness))
		return true;
	s->dead = true;
	s->reason = *reason;
	return false;
}

static void
sched_ctx_fini(struct sched_ctx *x)
{
	size_t	 i;

	for (i = 0; i < x->variants.n; i++)
		sched_heaps_free(&((struct sched_variant *)sched_tab_at(&x->variants, i))->hs);
	for (i = 0; i < x->shapes.n; i++)
		sched_heaps_free(&((struct sched_shape *)sched_tab_at(&x->shapes, i))->base);
	sched_tab_fini(&x->variants);
	sched_tab_fini(&x->shapes);
	sched_tab_fini(&x->items);
	free(x->post);
	free(x->scratch);
	free(x->scratch_score);
	free(x->stamp);
	free(x->log);
}

/* Sets up one call.  Whatever cannot be allocated is done without: no
 * index means scanning the fleet, no memo means no shortcuts; the answers
 * are the same. */
static void
sched_ctx_init(struct sched_ctx *x, struct sched_worker *workers, size_t n_workers,
    size_t n_pending, size_t max_placements, const struct sched_opts *opts,
    struct sched_stats *stats)
{
	size_t	 i, guess;

	memset(x, 0, sizeof *x);
	x->opts = opts;
	x->stats = stats;
	x->workers = workers;
	x->n_workers = n_workers;
	x->pack = opts->strategy == SCHED_BINPACK;
	for (i = 0; i < n_workers; i++)
		if (sched_alive(&workers[i]) && !sched_worker_full(&workers[i]))
			x->n_free++;
	if (opts->scan_all)
		return;
	if (sched_index_build(x) != 0) {
		sched_tab_fini(&x->items);
		free(x->post);
		x->post = NULL;
		return;
	}
	x->indexed = true;
	if (!opts->memo)
		return;
	guess = n_pending < 64 ? n_pending : 64;
	if (sched_tab_init(&x->shapes, sizeof(struct sched_shape), guess) != 0 ||
	    sched_tab_init(&x->variants, sizeof(struct sched_variant), guess) != 0) {
		sched_tab_fini(&x->shapes);
		sched_tab_fini(&x->variants);
		return;
	}
	x->memo = true;
	x->budget = n_workers > 0 ? opts->heap_budget : 0;
	if (x->budget == 0)
		return;
	x->scratch = malloc(n_workers * sizeof *x->scratch);
	x->scratch_score = malloc(n_workers * sizeof *x->scratch_score);
	x->stamp = calloc(n_workers, sizeof *x->stamp);
	if (x->pack)	/* one entry per placement */
		x->log = malloc((n_pending < max_placements ? n_pending :
		    max_placements) * sizeof *x->log);
	if (x->scratch == NULL || x->scratch_score == NULL || x->stamp == NULL ||
	    (x->pack && x->log == NULL))
		x->budget = 0;
}

void
sched_opts_defaults(struct sched_opts *o)
{
	memset(o, 0, sizeof *o);
	o->strategy = SCHED_SPREAD;
	o->memo = true;
	o->heap_budget = SCHED_HEAP_BUDGET;
}

size_t
sched_place_with(const struct workload *pending, size_t n_pending,
    struct sched_worker *workers, size_t n_workers,
    struct sched_quota *quotas, size_t n_quotas, uint64_t now_ms,
    size_t max_placements, const struct sched_opts *opts,
    struct sched_stats *stats, struct sched_result *results)
{
	struct sched_opts	 defaults;
	struct sched_stats	 scratch_stats;
	struct sched_ctx	 x;
	const struct workload	*w;
	struct sched_worker	*sw;
	struct sched_quota	*quota;
	enum sched_reason	 reason;
	size_t			 i, best, placed = 0;
	uint32_t		 score;

	if (opts == NULL) {
		sched_opts_defaults(&defaults);
		opts = &defaults;
	}
	if (stats == NULL)
		stats = &scratch_stats;
	memset(stats, 0, sizeof *stats);
	for (i = 0; i < n_pending; i++) {
		results[i].reason = SCHED_DEFERRED;
		results[i].worker = 0;
		results[i].score = 0;
	}
	if (n_pending == 0 || max_placements == 0)
		return 0;
	sched_ctx_init(&x, workers, n_workers, n_pending, max_placements, opts, stats);
	stats->indexed = x.indexed;
	for (i = 0; i < n_pending && placed < max_placements; i++) {
		w = &pending[i];
		if (w->not_before_ms > now_ms) {
			results[i].reason = SCHED_BACKOFF;
			continue;
		}
		quota = sched_quota_find(quotas, n_quotas, w->customer_id);
		if (quota != NULL && quota->remaining == 0) {
			results[i].reason = SCHED_QUOTA;
			continue;
		}
		if (!sched_decide(&x, w, &best, &score, &reason)) {
			results[i].reason = reason;
			continue;
		}
		sw = &workers[best];
		if (!strlist_contains(&sw->running_types, w->type) &&
		    strlist_add(&sw->running_types, w->type) != 0) {
			/* Out of memory: anti-affinity could no longer be
			 * checked for this worker, so stop placing. */
			break;
		}
		sw->used++;
		if (sched_has_requests(w)) {
			sw->free.cpu_millis -= w->requests.cpu_millis;
			sw->free.memory_mb -= w->requests.memory_mb;
			sw->free.gpus -= w->requests.gpus;
		}
		if (x.log != NULL)
			x.log[x.n_log++] = (uint32_t)best;
		if (sched_worker_full(sw))
			x.n_free--;
		if (quota != NULL)
			quota->remaining--;
		results[i].reason = SCHED_PLACED;
		results[i].worker = best;
		results[i].score = score;
		placed++;
	}
	sched_ctx_fini(&x);
	return placed;
}

size_t
sched_place(const struct workload *pending, size_t n_pending,
    struct sched_worker *workers, size_t n_workers,
    struct sched_quota *quotas, size_t n_quotas, uint64_t now_ms,
    size_t max_placements, struct sched_result *results)
{
	return sched_place_with(pending, n_pending, workers, n_workers, quotas,
	    n_quotas, now_ms, max_placements, NULL, NULL, results);
}

void
sched_worker_fini(struct sched_worker *sw)
{
	strlist_fini(&sw->running_types);
}
