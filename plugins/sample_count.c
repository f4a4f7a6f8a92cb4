/*
 * A sample workload-type plugin, "count": counts from 0 to `to`, one step
 * every `step_ms` milliseconds, reporting progress and resuming from the
 * last checkpoint.  It is the example for plugin authors and the tests'
 * proof that shared objects load and run; it depends only on
 * niyanta/plugin.h and libc.
 *
 * It checkpoints the count reached in the three situations a plugin
 * usually cares about: on its own schedule (every 10 steps); whenever the
 * workload's checkpoint policy asks (host->checkpoint_due, which turns
 * true after the policy's interval or progress step and false again once
 * a checkpoint is stored); and when it is asked to stop (cancel, pause,
 * drain), since that is quick here.  It never checkpoints the same count
 * twice.
 *
 * Parameters: {"to": N, "step_ms": M} (to required, step_ms default 100).
 * Checkpoint: the count reached, as decimal text.
 * Result: {"counted_to": N, "resumed_from": K}.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "niyanta/plugin.h"

#define COUNT_TO_MAX		100000000ull
#define COUNT_STEP_MAX		3600000ull
#define COUNT_CHECKPOINT_EVERY	10

const struct niyanta_plugin *niyanta_plugin_entry(void);

struct sample_count {
	uint64_t	 to;
	uint64_t	 step_ms;
	uint64_t	 resumed_from;
};

static const char *
sample_count_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Parses a JSON unsigned integer (no sign, fraction or exponent). */
static const char *
sample_count_uint(const char *p, uint64_t *out)
{
	uint64_t	 v = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	if (*p == '.' || *p == 'e' || *p == 'E')
		return NULL;
	*out = v;
	return p;
}

/* Parses the flat object {"to": N, "step_ms": M}; keys without escapes. */
static int
sample_count_params(const char *json, struct sample_count *c, char *err,
    size_t errlen)
{
	const char	*p = sample_count_ws(json), *key;
	size_t		 klen;
	uint64_t	 v;
	int		 seen_to = 0, seen_step = 0;

	if (*p++ != '{') {
		snprintf(err, errlen, "params: a JSON object is required");
		return -1;
	}
	p = sample_count_ws(p);
	if (*p == '}')
		goto end;
	for (;;) {
		if (*p++ != '"') {
			snprintf(err, errlen, "params: expected a member name");
			return -1;
		}
		key = p;
		while (*p != '"' && *p != '\\' && *p != '\0')
			p++;
		if (*p != '"') {
			snprintf(err, errlen, "params: unsupported member name");
			return -1;
		}
		klen = (size_t)(p - key);
		p = sample_count_ws(p + 1);
		if (*p++ != ':') {
			snprintf(err, errlen, "params: expected ':'");
			return -1;
		}
		p = sample_count_ws(p);
		if ((p = sample_count_uint(p, &v)) == NULL) {
			snprintf(err, errlen, "params: \"%.*s\" must be a "
			    "non-negative integer", (int)klen, key);
			return -1;
		}
		if (klen == 2 && memcmp(key, "to", 2) == 0 && !seen_to) {
			if (v > COUNT_TO_MAX) {
				snprintf(err, errlen, "params: \"to\" is at most %llu",
				    COUNT_TO_MAX);
				return -1;
			}
			c->to = v;
			seen_to = 1;
		} else if (klen == 7 && memcmp(key, "step_ms", 7) == 0 && !seen_step) {
			if (v > COUNT_STEP_MAX) {
				snprintf(err, errlen, "params: \"step_ms\" is at "
				    "most %llu", COUNT_STEP_MAX);
				return -1;
			}
			c->step_ms = v;
			seen_step = 1;
		} else {
			snprintf(err, errlen, "params: unknown or repeated member "
			    "\"%.*s\" (count takes to and step_ms)", (int)klen, key);
			return -1;
		}
		p = sample_count_ws(p);
		if (*p == ',') {
			p = sample_count_ws(p + 1);
			continue;
		}
		if (*p == '}')
			break;
		snprintf(err, errlen, "params: expected ',' or '}'");
		return -1;
	}
end:
	if (*sample_count_ws(p + 1) != '\0') {
		snprintf(err, errlen, "params: trailing characters");
		return -1;
	}
	if (!seen_to) {
		snprintf(err, errlen, "params: \"to\" is required");
		return -1;
	}
	return 0;
}

static int
sample_count_init(const struct niyanta_task *task, void **state, char *err,
    size_t errlen)
{
	struct sample_count	*c;
	char			 buf[32];
	const char		*end;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->step_ms = 100;
	if (sample_count_params(task->params_json, c, err, errlen) != 0) {
		free(c);
		return -1;
	}
	if (task->checkpoint != NULL) {
		if (task->checkpoint_len == 0 || task->checkpoint_len >= sizeof buf)
			goto bad_checkpoint;
		memcpy(buf, task->checkpoint, task->checkpoint_len);
		buf[task->checkpoint_len] = '\0';
		if ((end = sample_count_uint(buf, &c->resumed_from)) == NULL ||
		    *end != '\0')
			goto bad_checkpoint;
		if (c->resumed_from > c->to)
			c->resumed_from = c->to;
	}
	*state = c;
	return 0;
bad_checkpoint:
	snprintf(err, errlen, "checkpoint: not a count");
	free(c);
	return -1;
}

static void
sample_count_sleep(uint64_t ms)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/* Whether the workload's checkpoint policy asks for a checkpoint now.
 * checkpoint_due arrived in version 2 of the interface; a host may leave
 * it NULL, which means it never asks. */
static bool
sample_count_due(struct niyanta_ctx *ctx, const struct niyanta_host *host)
{
	return host->checkpoint_due != NULL && host->checkpoint_due(ctx);
}

/* Stores count n as the checkpoint, unless *last (the count last
 * checkpointed) is n already.  A failure is not fatal: the host has
 * retried already, so the work goes on and the next count is tried. */
static void
sample_count_checkpoint(struct niyanta_ctx *ctx, const struct niyanta_host *host,
    uint64_t n, uint64_t *last)
{
	char	 buf[32];
	int	 len;

	if (n == *last)
		return;
	*last = n;
	len = snprintf(buf, sizeof buf, "%llu", (unsigned long long)n);
	if (host->checkpoint(ctx, buf, (size_t)len) != 0)
		host->log(ctx, "checkpoint not stored");
}

static int
sample_count_execute(void *state, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct sample_count	*c = state;
	uint64_t		 n, left, slice, last;
	char			 buf[128];

	if (c->resumed_from > 0) {
		snprintf(buf, sizeof buf, "resuming from %llu",
		    (unsigned long long)c->resumed_from);
		host->log(ctx, buf);
	}
	/* What we resumed from is what the coordinator holds already. */
	last = c->resumed_from;
	for (n = c->resumed_from; n < c->to;) {
		/* Sleep the step in slices so a stop is seen within 100 ms;
		 * the policy is polled as often. */
		for (left = c->step_ms; left > 0; left -= slice) {
			if (host->should_stop(ctx))
				goto stop;
			if (sample_count_due(ctx, host))
				sample_count_checkpoint(ctx, host, n, &last);
			slice = left < 100 ? left : 100;
			sample_count_sleep(slice);
		}
		if (host->should_stop(ctx))
			goto stop;
		n++;
		snprintf(buf, sizeof buf, "counted %llu of %llu",
		    (unsigned long long)n, (unsigned long long)c->to);
		host->progress(ctx, 100.0 * (double)n / (double)c->to, buf);
		/* After the progress report, so that a progress step the
		 * policy checkpoints on is seen at once. */
		if (n < c->to && (n % COUNT_CHECKPOINT_EVERY == 0 ||
		    sample_count_due(ctx, host)))
			sample_count_checkpoint(ctx, host, n, &last);
	}
	snprintf(buf, sizeof buf, "{\"counted_to\": %llu, \"resumed_from\": %llu}",
	    (unsigned long long)c->to, (unsigned long long)c->resumed_from);
	host->progress(ctx, 100.0, "done");
	host->set_result(ctx, buf);
	return NIYANTA_SUCCEEDED;
stop:
	/* Quick here, so the next attempt loses nothing. */
	sample_count_checkpoint(ctx, host, n, &last);
	return NIYANTA_STOPPED;
}

static void
sample_count_close(void *state)
{
	free(state);
}

static const struct niyanta_plugin sample_count = {
	.abi_version = NIYANTA_PLUGIN_ABI_VERSION,
	.type_name = "count",
	.init = sample_count_init,
	.execute = sample_count_execute,
	.close = sample_count_close,
};

const struct niyanta_plugin *
niyanta_plugin_entry(void)
{
	return &sample_count;
}
