/*
 * The built-in "sleep" workload type: waits duration_ms milliseconds,
 * which makes it the probe for scheduling, progress, cancellation,
 * draining and failover without any real work.
 *
 * Parameters: {"duration_ms": N, "checkpoint_ms": M}.  M (default 1000,
 * 0 for never) is how often the elapsed time is checkpointed; it is also
 * checkpointed whenever the workload's checkpoint policy asks for it (the
 * host's checkpoint_due: an interval, or a progress step) and when the
 * attempt is asked to stop.  A checkpoint is the elapsed milliseconds as
 * decimal text, and a new attempt resumes from it.
 * Result: {"slept_ms": N, "resumed_from_ms": M}.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "niyanta/plugin.h"
#include "src/clock.h"
#include "src/plugin_registry.h"

#define SLEEP_MAX_MS		(31ull * 24 * 3600 * 1000)	/* 31 days */
#define SLEEP_SLICE_MS		100
#define SLEEP_PROGRESS_MS	250
#define SLEEP_CHECKPOINT_MS	1000

struct plugin_sleep {
	uint64_t	 duration_ms;
	uint64_t	 checkpoint_ms;		/* 0: only when stopping */
	uint64_t	 resumed_from_ms;
};

/* Reads an optional non-negative integer member; -1 on a bad value. */
static int
plugin_sleep_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out,
    char *err, size_t errlen)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, errlen, "params: \"%s\" must be an integer from "
		    "0 to %" PRIu64, key, max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
plugin_sleep_init(const struct niyanta_task *task, void **state, char *err,
    size_t errlen)
{
	struct plugin_sleep	*s;
	json_error_t		 jerr;
	json_t			*params, *v;
	const char		*key;
	char			 buf[32];

	params = json_loads(task->params_json != NULL ? task->params_json : "{}",
	    JSON_REJECT_DUPLICATES, &jerr);
	if (params == NULL || !json_is_object(params)) {
		snprintf(err, errlen, "params: a JSON object is required%s%s",
		    params == NULL ? ": " : "", params == NULL ? jerr.text : "");
		json_decref(params);
		return -1;
	}
	json_object_foreach(params, key, v) {
		if (strcmp(key, "duration_ms") != 0 && strcmp(key, "checkpoint_ms") != 0) {
			snprintf(err, errlen, "params: unknown member \"%s\" "
			    "(sleep takes duration_ms and checkpoint_ms)", key);
			json_decref(params);
			return -1;
		}
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(params);
		return -1;
	}
	s->checkpoint_ms = SLEEP_CHECKPOINT_MS;
	if (json_object_get(params, "duration_ms") == NULL) {
		snprintf(err, errlen, "params: \"duration_ms\" is required");
		goto fail;
	}
	if (plugin_sleep_uint(params, "duration_ms", SLEEP_MAX_MS,
	    &s->duration_ms, err, errlen) != 0 ||
	    plugin_sleep_uint(params, "checkpoint_ms", SLEEP_MAX_MS,
	    &s->checkpoint_ms, err, errlen) != 0)
		goto fail;
	json_decref(params);
	params = NULL;

	if (task->checkpoint != NULL) {
		if (task->checkpoint_len == 0 || task->checkpoint_len >= sizeof buf) {
			snprintf(err, errlen, "checkpoint: not a millisecond count");
			goto fail;
		}
		memcpy(buf, task->checkpoint, task->checkpoint_len);
		buf[task->checkpoint_len] = '\0';
		if (strspn(buf, "0123456789") != task->checkpoint_len) {
			snprintf(err, errlen, "checkpoint: not a millisecond count");
			goto fail;
		}
		s->resumed_from_ms = strtoull(buf, NULL, 10);
		if (s->resumed_from_ms > s->duration_ms)
			s->resumed_from_ms = s->duration_ms;
	}
	*state = s;
	return 0;
fail:
	json_decref(params);
	free(s);
	return -1;
}

static void
plugin_sleep_ms(uint64_t ms)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

static void
plugin_sleep_checkpoint(struct niyanta_ctx *ctx, const struct niyanta_host *host,
    uint64_t elapsed)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof buf, "%" PRIu64, elapsed);
	if (host->checkpoint(ctx, buf, (size_t)n) != 0)
		host->log(ctx, "checkpoint not stored; carrying on");
}

/* Whether the workload's checkpoint policy asks for a checkpoint now; a
 * host without checkpoint_due never does. */
static bool
plugin_sleep_due(struct niyanta_ctx *ctx, const struct niyanta_host *host)
{
	return host->checkpoint_due != NULL && host->checkpoint_due(ctx);
}

static double
plugin_sleep_percent(const struct plugin_sleep *s, uint64_t elapsed)
{
	if (s->duration_ms == 0)
		return 100.0;
	return 100.0 * (double)elapsed / (double)s->duration_ms;
}

static int
plugin_sleep_execute(void *state, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct plugin_sleep	*s = state;
	uint64_t		 t0, now, elapsed, last_progress, last_ckpt, left;
	char			 msg[96], result[96];

	t0 = clock_mono_ms();
	elapsed = s->resumed_from_ms;
	last_progress = last_ckpt = elapsed;
	while (elapsed < s->duration_ms) {
		if (host->should_stop(ctx)) {
			if (elapsed > last_ckpt)
				plugin_sleep_checkpoint(ctx, host, elapsed);
			return NIYANTA_STOPPED;
		}
		left = s->duration_ms - elapsed;
		plugin_sleep_ms(left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS);
		now = clock_mono_ms();
		elapsed = s->resumed_from_ms + (now - t0);
		if (elapsed > s->duration_ms)
			elapsed = s->duration_ms;
		if (elapsed < s->duration_ms &&
		    elapsed - last_progress >= SLEEP_PROGRESS_MS) {
			snprintf(msg, sizeof msg, "slept %" PRIu64 " of %" PRIu64 " ms",
			    elapsed, s->duration_ms);
			host->progress(ctx, plugin_sleep_percent(s, elapsed), msg);
			last_progress = elapsed;
		}
		/* After the progress report, so that a progress step the
		 * policy checkpoints on is seen at once. */
		if (elapsed < s->duration_ms && elapsed > last_ckpt &&
		    ((s->checkpoint_ms > 0 &&
		    elapsed - last_ckpt >= s->checkpoint_ms) ||
		    plugin_sleep_due(ctx, host))) {
			plugin_sleep_checkpoint(ctx, host, elapsed);
			last_ckpt = elapsed;
		}
	}
	snprintf(msg, sizeof msg, "slept %" PRIu64 " ms", s->duration_ms);
	host->progress(ctx, 100.0, msg);
	snprintf(result, sizeof result,
	    "{\"slept_ms\": %" PRIu64 ", \"resumed_from_ms\": %" PRIu64 "}",
	    s->duration_ms, s->resumed_from_ms);
	host->set_result(ctx, result);
	return NIYANTA_SUCCEEDED;
}

static void
plugin_sleep_close(void *state)
{
	free(state);
}

static const struct niyanta_plugin plugin_sleep = {
	.abi_version = NIYANTA_PLUGIN_ABI_VERSION,
	.type_name = "sleep",
	.init = plugin_sleep_init,
	.execute = plugin_sleep_execute,
	.close = plugin_sleep_close,
};

const struct niyanta_plugin *
plugin_sleep_get(void)
{
	return &plugin_sleep;
}
