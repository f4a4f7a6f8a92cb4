/*
 * Per-customer request rate limits: one token bucket per key (a customer
 * id), refilled continuously at `rate` tokens per second and holding at
 * most max(rate, 1) tokens.  Thread-safe; the clock is a callback so tests
 * can drive time by hand.
 */
#ifndef WEB_RATELIMIT_H
#define WEB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* Monotonic milliseconds (clock_mono_ms in the daemon). */
typedef uint64_t (*ratelimit_clock_cb)(void *arg);

/* What one request found in its bucket: the X-RateLimit-* values. */
struct ratelimit_result {
	bool		 allowed;	/* a token was taken */
	uint32_t	 limit;		/* the rate, requests per second */
	uint32_t	 remaining;	/* whole tokens left after this request */
	uint32_t	 reset_s;	/* seconds until the bucket is full again */
	uint32_t	 retry_after_s;	/* if !allowed: seconds until a token, >= 1; else 0 */
};

/* A new, empty set of buckets reading time from clock(arg).  0 or
 * ERR_NOMEM.  Free with ratelimit_free. */
int	ratelimit_new(struct ratelimit **out, ratelimit_clock_cb clock, void *arg);
/* Frees every bucket. Accepts NULL. */
void	ratelimit_free(struct ratelimit *rl);

/* Takes one token from key's bucket at `rate` per second (0 is taken as 1),
 * creating it full if it is new.  A rate different from the bucket's last
 * one applies from now on: the tokens already there are kept, up to the new
 * burst.  Fills *out either way.  0, or ERR_NOMEM (creating a bucket), with
 * *out saying "allowed" so a failure here never refuses a request. */
int	ratelimit_take(struct ratelimit *rl, const char *key, uint32_t rate,
	    struct ratelimit_result *out);

/* Number of buckets held (idle full buckets are dropped as new ones come). */
unsigned ratelimit_count(struct ratelimit *rl);

#endif /* WEB_RATELIMIT_H */
