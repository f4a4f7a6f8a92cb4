/*
 * Token buckets for the API's per-customer rate limits (see ratelimit.h).
 *
 * Tokens are counted in thousandths, so with a millisecond clock a rate of
 * r tokens per second refills exactly r thousandths per millisecond: the
 * arithmetic is all integer, and a test that moves the clock by hand gets
 * exact values.  The buckets live in one chained hash table under one
 * mutex; the critical section is a lookup and a few additions, far shorter
 * than anything else a request does.
 *
 * A bucket that has filled up again is indistinguishable from a new one,
 * so before the table grows such buckets are dropped: the table holds only
 * the customers that have been busy lately.
 */
#include "web/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"

#define RATELIMIT_MILLI		1000ULL	/* thousandths of a token per token */
#define RATELIMIT_INITIAL	64	/* hash slots at first; a power of two */

struct ratelimit_bucket {
	struct ratelimit_bucket	*next;		/* same hash slot */
	uint64_t		 tokens;	/* thousandths of a token */
	uint64_t		 last_ms;	/* clock at the last refill */
	uint32_t		 rate;		/* tokens per second, >= 1 */
	char			 key[];		/* NUL-terminated */
};

struct ratelimit {
	pthread_mutex_t		  mu;
	ratelimit_clock_cb	  clock;
	void			 *clock_arg;
	struct ratelimit_bucket	**slots;	/* guarded by mu */
	size_t			  n_slots;	/* a power of two */
	size_t			  n;		/* buckets held */
};

/* FNV-1a: short keys, no adversary that can choose them (they are ids of
 * authenticated customers). */
static uint64_t
ratelimit_hash(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Capacity of a bucket of this rate, in thousandths. */
static uint64_t
ratelimit_capacity(uint32_t rate)
{
	return (uint64_t)(rate > 0 ? rate : 1) * RATELIMIT_MILLI;
}

/* Adds the tokens earned since b->last_ms, up to the capacity. */
static void
ratelimit_refill(struct ratelimit_bucket *b, uint64_t now)
{
	uint64_t	 cap = ratelimit_capacity(b->rate), elapsed;

	if (now <= b->last_ms)
		return;			/* a clock that stands still earns nothing */
	elapsed = now - b->last_ms;
	b->last_ms = now;
	if (b->tokens >= cap)
		return;
	/* elapsed × rate can overflow only after a very long idle time, when
	 * the bucket is full anyway. */
	if (elapsed >= (cap - b->tokens + b->rate - 1) / b->rate)
		b->tokens = cap;
	else
		b->tokens += elapsed * b->rate;
}

static uint32_t
ratelimit_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Seconds, rounded up, that `need` thousandths take at rate. */
static uint64_t
ratelimit_seconds_for(uint64_t need, uint32_t rate)
{
	uint64_t	 ms = (need + rate - 1) / rate;

	return (ms + 999) / 1000;
}

int
ratelimit_new(struct ratelimit **out, ratelimit_clock_cb clock, void *arg)
{
	struct ratelimit	*rl;

	*out = NULL;
	if ((rl = calloc(1, sizeof *rl)) == NULL)
		return ERR_NOMEM;
	if ((rl->slots = calloc(RATELIMIT_INITIAL, sizeof *rl->slots)) == NULL) {
		free(rl);
		return ERR_NOMEM;
	}
	if (pthread_mutex_init(&rl->mu, NULL) != 0) {
		free(rl->slots);
		free(rl);
		return ERR_NOMEM;
	}
	rl->n_slots = RATELIMIT_INITIAL;
	rl->clock = clock;
	rl->clock_arg = arg;
	*out = rl;
	return 0;
}

void
ratelimit_free(struct ratelimit *rl)
{
	struct ratelimit_bucket	*b, *next;
	size_t			 i;

	if (rl == NULL)
		return;
	for (i = 0; i < rl->n_slots; i++)
		for (b = rl->slots[i]; b != NULL; b = next) {
			next = b->next;
			free(b);
		}
	free(rl->slots);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

/* Drops every bucket that is full at now. */
static void
ratelimit_sweep(struct ratelimit *rl, uint64_t now)
{
	struct ratelimit_bucket	**pp, *b;
	size_t			  i;

	for (i = 0; i < rl->n_slots; i++) {
		pp = &rl->slots[i];
		while ((b = *pp) != NULL) {
			ratelimit_refill(b, now);
			if (b->tokens >= ratelimit_capacity(b->rate)) {
				*pp = b->next;
				free(b);
				rl->n--;
			} else
				pp = &b->next;
		}
	}
}

/* Doubles the table; on failure keeps the old one (chains just get
 * longer). */
static void
ratelimit_grow(struct ratelimit *rl)
{
	struct ratelimit_bucket	**slots, *b, *next;
	size_t			  n = rl->n_slots * 2, i, j;

	if ((slots = calloc(n, sizeof *slots)) == NULL)
		return;
	for (i = 0; i < rl->n_slots; i++)
		for (b = rl->slots[i]; b != NULL; b = next) {
			next = b->next;
			j = (size_t)(ratelimit_hash(b->key) & (n - 1));
			b->next = slots[j];
			slots[j] = b;
		}
	free(rl->slots);
	rl->slots = slots;
	rl->n_slots = n;
}

/* The bucket of key, created full if new; NULL if out of memory. */
static struct ratelimit_bucket *
ratelimit_bucket_get(struct ratelimit *rl, const char *key, uint32_t rate,
    uint64_t now)
{
	struct ratelimit_bucket	*b;
	size_t			 len, slot;

	slot = (size_t)(ratelimit_hash(key) & (rl->n_slots - 1));
	for (b = rl->slots[slot]; b != NULL; b = b->next)
		if (strcmp(b->key, key) == 0)
			return b;
	if (rl->n >= rl->n_slots) {
		ratelimit_sweep(rl, now);
		if (rl->n >= rl->n_slots / 2)
			ratelimit_grow(rl);
		slot = (size_t)(ratelimit_hash(key) & (rl->n_slots - 1));
	}
	len = strlen(key);
	if ((b = malloc(sizeof *b + len + 1)) == NULL)
		return NULL;
	memcpy(b->key, key, len + 1);
	b->rate = rate;
	b->tokens = ratelimit_capacity(rate);
	b->last_ms = now;
	b->next = rl->slots[slot];
	rl->slots[slot] = b;
	rl->n++;
	return b;
}

int
ratelimit_take(struct ratelimit *rl, const char *key, uint32_t rate,
    struct ratelimit_result *out)
{
	struct ratelimit_bucket	*b;
	uint64_t		 now, cap;

	if (rate == 0)
		rate = 1;
	memset(out, 0, sizeof *out);
	out->limit = rate;
	pthread_mutex_lock(&rl->mu);
	now = rl->clock(rl->clock_arg);
	if ((b = ratelimit_bucket_get(rl, key, rate, now)) == NULL) {
		pthread_mutex_unlock(&rl->mu);
		out->allowed = true;
		out->remaining = rate;
		return ERR_NOMEM;
	}
	ratelimit_refill(b, now);
	if (b->rate != rate) {
		/* Tokens earned so far were earned at the old rate; from now on
		 * the new one applies, and the bucket holds the new burst. */
		b->rate = rate;
		if (b->tokens > ratelimit_capacity(rate))
			b->tokens = ratelimit_capacity(rate);
	}
	cap = ratelimit_capacity(rate);
	if (b->tokens >= RATELIMIT_MILLI) {
		b->tokens -= RATELIMIT_MILLI;
		out->allowed = true;
	} else {
		out->allowed = false;
		out->retry_after_s = ratelimit_u32(ratelimit_seconds_for(RATELIMIT_MILLI -
		    b->tokens, rate));
		if (out->retry_after_s < 1)
			out->retry_after_s = 1;
	}
	out->remaining = ratelimit_u32(b->tokens / RATELIMIT_MILLI);
	out->reset_s = ratelimit_u32(ratelimit_seconds_for(cap - b->tokens, rate));
	pthread_mutex_unlock(&rl->mu);
	return 0;
}

unsigned
ratelimit_count(struct ratelimit *rl)
{
	size_t	 n;

	pthread_mutex_lock(&rl->mu);
	n = rl->n;
	pthread_mutex_unlock(&rl->mu);
	return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}
