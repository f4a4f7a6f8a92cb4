/*
 * Unit tests for web/ratelimit.c: burst, refill, the Retry-After and Reset
 * values, isolation between customers, a rate change, dropping idle
 * buckets, and many threads on one bucket.  Time is a variable the test
 * moves by hand.
 */
#include "web/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "t/tap.h"

struct fake_clock {
	_Atomic uint64_t	 ms;
};

static uint64_t
fake_now(void *arg)
{
	struct fake_clock	*c = arg;

	return atomic_load(&c->ms);
}

/* Takes n tokens; returns how many were allowed, the last result in *last. */
static unsigned
take_n(struct ratelimit *rl, const char *key, uint32_t rate, unsigned n,
    struct ratelimit_result *last)
{
	unsigned	 i, allowed = 0;

	for (i = 0; i < n; i++) {
		ratelimit_take(rl, key, rate, last);
		if (last->allowed)
			allowed++;
	}
	return allowed;
}

static void
test_burst_and_refill(void)
{
	struct fake_clock	 clk = { 1000000 };
	struct ratelimit	*rl;
	struct ratelimit_result	 r;

	if (!ok(ratelimit_new(&rl, fake_now, &clk) == 0, "new"))
		return;
	ratelimit_take(rl, "acme", 10, &r);
	ok(r.allowed, "first request allowed");
	is_int(r.limit, 10, "limit is the rate");
	is_int(r.remaining, 9, "a fresh bucket is full: 9 left after one");
	is_int(r.reset_s, 1, "reset: one token takes 0.1 s, rounded up to 1 s");
	is_int(r.retry_after_s, 0, "no Retry-After when allowed");

	is_int(take_n(rl, "acme", 10, 9, &r), 9, "the rest of the burst of 10");
	is_int(r.remaining, 0, "none left");
	ratelimit_take(rl, "acme", 10, &r);
	ok(!r.allowed, "11th request in the same instant refused");
	is_int(r.retry_after_s, 1, "Retry-After at least 1 s");
	is_int(r.remaining, 0, "remaining 0 when refused");
	is_int(r.reset_s, 1, "reset: 10 tokens at 10/s is 1 s");

	clk.ms += 99;
	ratelimit_take(rl, "acme", 10, &r);
	ok(!r.allowed, "99 ms later: still under one token");
	clk.ms += 1;
	ratelimit_take(rl, "acme", 10, &r);
	ok(r.allowed, "100 ms later: one token earned");
	is_int(r.remaining, 0, "and spent");

	clk.ms += 350;
	is_int(take_n(rl, "acme", 10, 5, &r), 3, "350 ms earn 3.5 tokens: 3 allowed");

	clk.ms += 60000;
	is_int(take_n(rl, "acme", 10, 20, &r), 10, "a long idle time refills only the burst");
	ratelimit_free(rl);
}

static void
test_slow_rate(void)
{
	struct fake_clock	 clk = { 5 };
	struct ratelimit	*rl;
	struct ratelimit_result	 r;

	if (ratelimit_new(&rl, fake_now, &clk) != 0)
		return;
	ratelimit_take(rl, "slow", 1, &r);
	ok(r.allowed && r.remaining == 0, "rate 1: burst of 1");
	is_int(r.reset_s, 1, "rate 1: full again in 1 s");
	ratelimit_take(rl, "slow", 1, &r);
	ok(!r.allowed, "rate 1: second request refused");
	is_int(r.retry_after_s, 1, "rate 1: Retry-After 1");
	clk.ms += 400;
	ratelimit_take(rl, "slow", 1, &r);
	ok(!r.allowed, "rate 1: 0.4 s later still refused");
	is_int(r.retry_after_s, 1, "Retry-After rounds 0.6 s up to 1");
	clk.ms += 600;
	ratelimit_take(rl, "slow", 1, &r);
	ok(r.allowed, "rate 1: after 1 s allowed");

	ratelimit_take(rl, "zero", 0, &r);
	ok(r.allowed && r.limit == 1, "rate 0 is taken as 1");
	ratelimit_take(rl, "zero", 0, &r);
	ok(!r.allowed, "rate 0: one per second");

	/* Reset with many seconds to go. */
	is_int(take_n(rl, "big", 2000, 2000, &r), 2000, "rate 2000: burst of 2000");
	is_int(r.reset_s, 1, "2000 tokens at 2000/s: 1 s");
	clk.ms = 5;		/* the clock going back earns nothing, breaks nothing */
	ratelimit_take(rl, "big", 2000, &r);
	ok(!r.allowed, "a clock that goes back earns nothing");
	ratelimit_free(rl);
}

static void
test_isolation(void)
{
	struct fake_clock	 clk = { 0 };
	struct ratelimit	*rl;
	struct ratelimit_result	 r;

	if (ratelimit_new(&rl, fake_now, &clk) != 0)
		return;
	is_int(take_n(rl, "a", 5, 10, &r), 5, "customer a: 5 of 10");
	ok(!r.allowed, "customer a is limited");
	ratelimit_take(rl, "b", 5, &r);
	ok(r.allowed && r.remaining == 4, "customer b untouched by a");
	ratelimit_take(rl, "admin", 100000, &r);
	ok(r.allowed && r.remaining == 99999 && r.limit == 100000,
	    "the admin's own large bucket");
	is_int(ratelimit_count(rl), 3, "three buckets");
	ratelimit_free(rl);
}

static void
test_rate_change(void)
{
	struct fake_clock	 clk = { 0 };
	struct ratelimit	*rl;
	struct ratelimit_result	 r;

	if (ratelimit_new(&rl, fake_now, &clk) != 0)
		return;
	is_int(take_n(rl, "c", 100, 40, &r), 40, "rate 100: 40 taken");
	is_int(r.remaining, 60, "60 left");
	ratelimit_take(rl, "c", 10, &r);
	ok(r.allowed, "rate lowered to 10: allowed from what is left");
	is_int(r.limit, 10, "limit shows the new rate");
	is_int(r.remaining, 9, "tokens clipped to the new burst of 10");
	is_int(take_n(rl, "c", 10, 20, &r), 9, "then the new burst is all there is");
	clk.ms += 500;
	is_int(take_n(rl, "c", 10, 20, &r), 5, "and it refills at 10/s");

	ratelimit_take(rl, "c", 1000, &r);
	ok(!r.allowed, "rate raised to 1000: the empty bucket is still empty");
	is_int(r.retry_after_s, 1, "Retry-After 1");
	clk.ms += 10;
	is_int(take_n(rl, "c", 1000, 20, &r), 10, "10 ms at 1000/s: 10 tokens");
	is_int(r.reset_s, 1, "reset: 1000 tokens at 1000/s");
	ratelimit_free(rl);
}

static void
test_idle_buckets_dropped(void)
{
	struct fake_clock	 clk = { 0 };
	struct ratelimit	*rl;
	struct ratelimit_result	 r;
	char			 key[32];
	int			 i;

	if (ratelimit_new(&rl, fake_now, &clk) != 0)
		return;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "cust-%d", i);
		ratelimit_take(rl, key, 10, &r);
	}
	is_int(ratelimit_count(rl), 1000, "1000 busy customers, 1000 buckets");
	clk.ms += 1000;		/* every bucket is full again */
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "new-%d", i);
		ratelimit_take(rl, key, 10, &r);
	}
	ok(ratelimit_count(rl) < 2000, "idle full buckets were dropped (%u left)",
	    ratelimit_count(rl));
	ratelimit_take(rl, "new-999", 10, &r);
	ok(r.allowed && r.remaining == 8, "a live bucket kept its state");
	ratelimit_take(rl, "cust-0", 10, &r);
	ok(r.allowed && r.remaining == 9, "a dropped bucket comes back full");
	ratelimit_free(rl);
}

struct thr_arg {
	struct ratelimit	*rl;
	_Atomic unsigned	*allowed;
	const char		*key;
};

static void *
thr_main(void *p)
{
	struct thr_arg		*a = p;
	struct ratelimit_result	 r;
	int			 i;

	for (i = 0; i < 5000; i++) {
		ratelimit_take(a->rl, a->key, 1000, &r);
		if (r.allowed)
			atomic_fetch_add(a->allowed, 1);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct fake_clock	 clk = { 42 };
	struct ratelimit	*rl;
	pthread_t		 t[8];
	struct thr_arg		 a[8];
	_Atomic unsigned	 shared = 0, own[8];
	char			 keys[8][8];
	int			 i, ok_own = 1;

	if (ratelimit_new(&rl, fake_now, &clk) != 0)
		return;
	for (i = 0; i < 8; i++) {
		atomic_init(&own[i], 0);
		a[i].rl = rl;
		a[i].allowed = &shared;
		a[i].key = "shared";
		pthread_create(&t[i], NULL, thr_main, &a[i]);
	}
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	is_int(atomic_load(&shared), 1000,
	    "8 threads x 5000 requests on one bucket: exactly the burst allowed");

	for (i = 0; i < 8; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		a[i].allowed = &own[i];
		a[i].key = keys[i];
		pthread_create(&t[i], NULL, thr_main, &a[i]);
	}
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 8; i++)
		if (atomic_load(&own[i]) != 1000)
			ok_own = 0;
	ok(ok_own, "8 threads on 8 buckets: 1000 each");
	ratelimit_free(rl);
}

int
main(void)
{
	test_burst_and_refill();
	test_slow_rate();
	test_isolation();
	test_rate_change();
	test_idle_buckets_dropped();
	test_threads();
	return tap_done();
}
