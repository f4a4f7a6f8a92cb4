/*
 * Scheduler observability; see sched_report.h.
 */
#include "src/sched_report.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"

#define SCHED_REPORT_WINDOW_S	60	/* placements per second over this */

const uint64_t sched_report_latency_bounds_us[SCHED_REPORT_LATENCY_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
};

struct sched_report_miss {
	char		 id[MODEL_ID_LEN + 1];
	uint8_t		 reason;
};

struct sched_report {
	pthread_mutex_t		 mu;
	struct sched_metrics	 m;
	struct sched_report_miss	*miss;		/* last pass, sorted by id */
	size_t			 n_miss;
	size_t			 cap_miss;
	/* Placements in each of the last SCHED_REPORT_WINDOW_S seconds. */
	uint64_t		 per_s[SCHED_REPORT_WINDOW_S];
	uint64_t		 per_s_at[SCHED_REPORT_WINDOW_S];	/* second number */
};

int
sched_report_new(struct sched_report **out)
{
	struct sched_report	*s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return ERR_NOMEM;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

void
sched_report_free(struct sched_report *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->miss);
	free(s);
}

static int
sched_report_miss_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sched_report_miss *)a)->id,
	    ((const struct sched_report_miss *)b)->id);
}

static size_t
sched_report_bucket(uint64_t us)
{
	size_t	 i;

	for (i = 0; i < SCHED_REPORT_LATENCY_BUCKETS - 1; i++)
		if (us <= sched_report_latency_bounds_us[i])
			return i;
	return SCHED_REPORT_LATENCY_BUCKETS - 1;
}

void
sched_report_pass(struct sched_report *s, const struct workload *pending,
    const struct sched_result *res, size_t n, uint64_t duration_us,
    uint64_t now_ms)
{
	struct sched_report_miss	*m;
	uint64_t		 sec = now_ms / 1000, wait, placed = 0;
	size_t			 i, slot = (size_t)(sec % SCHED_REPORT_WINDOW_S);
	unsigned		 t;

	pthread_mutex_lock(&s->mu);
	s->m.passes++;
	s->m.last_pass_us = duration_us;
	s->m.latency_us[sched_report_bucket(duration_us)]++;
	if (n > 0) {
		memset(s->m.unschedulable, 0, sizeof s->m.unschedulable);
		s->n_miss = 0;
		if (n > s->cap_miss) {
			/* Keeps the old array if it cannot grow: reasons are
			 * then only partly known until memory comes back. */
			if ((m = realloc(s->miss, n * sizeof *m)) != NULL) {
				s->miss = m;
				s->cap_miss = n;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (res[i].reason == SCHED_PLACED) {
			placed++;
			t = (unsigned)pending[i].tier;
			if (t >= TIER__COUNT)
				continue;
			wait = now_ms > pending[i].created_ms ?
			    now_ms - pending[i].created_ms : 0;
			s->m.wait_by_tier[t].placed++;
			s->m.wait_by_tier[t].wait_ms_sum += wait;
			if (wait > s->m.wait_by_tier[t].wait_ms_max)
				s->m.wait_by_tier[t].wait_ms_max = wait;
			continue;
		}
		/* A workload the pass did not get to has no reason to show:
		 * its last one is forgotten rather than kept stale. */
		if (res[i].reason == SCHED_DEFERRED)
			continue;
		if ((unsigned)res[i].reason < SCHED_REPORT_REASONS)
			s->m.unschedulable[res[i].reason]++;
		if (res[i].reason == SCHED_BACKOFF || s->n_miss >= s->cap_miss)
			continue;
		memcpy(s->miss[s->n_miss].id, pending[i].id, sizeof s->miss[0].id);
		s->miss[s->n_miss].reason = (uint8_t)res[i].reason;
		s->n_miss++;
	}
	if (n > 0)
		qsort(s->miss, s->n_miss, sizeof *s->miss, sched_report_miss_cmp);
	s->m.placements += placed;
	if (s->per_s_at[slot] != sec) {
		s->per_s_at[slot] = sec;
		s->per_s[slot] = 0;
	}
	s->per_s[slot] += placed;
	pthread_mutex_unlock(&s->mu);
}

const char *
sched_report_reason(struct sched_report *s, const char *id)
{
	struct sched_report_miss	 key, *hit;
	const char		*why = NULL;

	if (id == NULL || strlen(id) != MODEL_ID_LEN)
		return NULL;
	memcpy(key.id, id, sizeof key.id);
	pthread_mutex_lock(&s->mu);
	hit = s->n_miss == 0 ? NULL : bsearch(&key, s->miss, s->n_miss,
	    sizeof *s->miss, sched_report_miss_cmp);
	if (hit != NULL)
		why = sched_reason_name((enum sched_reason)hit->reason);
	pthread_mutex_unlock(&s->mu);
	return why;
}

void
sched_report_get(struct sched_report *s, uint64_t now_ms, struct sched_metrics *out)
{
	uint64_t	 sec = now_ms / 1000, sum = 0;
	size_t		 i;

	pthread_mutex_lock(&s->mu);
	*out = s->m;
	for (i = 0; i < SCHED_REPORT_WINDOW_S; i++)
		if (s->per_s_at[i] + SCHED_REPORT_WINDOW_S > sec &&
		    s->per_s_at[i] <= sec)
			sum += s->per_s[i];
	pthread_mutex_unlock(&s->mu);
	out->placements_per_s = (double)sum / SCHED_REPORT_WINDOW_S;
}

void
sched_report_reset(struct sched_report *s)
{
	pthread_mutex_lock(&s->mu);
	memset(&s->m, 0, sizeof s->m);
	memset(s->per_s, 0, sizeof s->per_s);
	memset(s->per_s_at, 0, sizeof s->per_s_at);
	s->n_miss = 0;
	pthread_mutex_unlock(&s->mu);
}
