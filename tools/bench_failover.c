/*
 * niyanta-bench failover: how soon a three-node coordinator cluster takes
 * writes again after its leader dies, whether it loses any it acknowledged,
 * and what replication costs in submissions per second.
 *
 * It starts a private cluster with the helpers of bench_recovery.h: three
 * niyantad nodes sharing their secrets and --peers, and N niyanta-worker
 * given all three worker endpoints.  First it measures submissions per
 * second for S seconds, C connections (one thread each) POSTing one short
 * sleep workload at a time as fast as they are acknowledged: through the
 * leader, then to the three nodes in turn (a follower forwards to the
 * leader).  Then a paced load of R submissions per second goes to the
 * nodes in turn while the leader is killed K times: find the ready leader
 * (GET /ready on each node), SIGKILL it, and wait for the first 201 to a
 * request sent after it died; the new leader took a write, directly or
 * through a follower.  The killed node is started again on its data
 * directory, and the next kill waits until it has caught up (its own
 * /health applied_index at the leader's commit_index), so the cluster
 * always has three members.
 *
 * Every submission carries an Idempotency-Key of its own.  A request that
 * fails (refused by the dead node, 503 while there is no leader, a
 * timeout) is not acknowledged, and its thread sends it again with the
 * same key to the next node: a write applied before its answer was lost
 * comes back as a 200 replay of the same workload, which then counts as
 * its acknowledgement.  After the last kill the load stops, the benchmark
 * waits until nothing is pending, scheduled or running, and checks every
 * workload the cluster acknowledged: it must exist (else it is
 * "acknowledged but lost", which must never happen) and be terminal, and
 * the audit trail must show it COMPLETED at most once.  Last, one niyantad
 * with the same workers is started and measured as the cluster was, and
 * the ratio of the two rates printed.
 */
#include "tools/bench_failover.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/http_client.h"
#include "src/clock.h"
#include "src/err.h"
#include "src/strs.h"
#include "tools/bench_recovery.h"
#include "tools/bench_util.h"

#define BENCH_PROG		"niyanta-bench"

#define BF_NODES		3
#define BF_KILLS_MAX		1000
#define BF_CONNS_MAX		64
#define BF_RATE_MAX		100000
#define BF_SECONDS_MAX		600
#define BF_CAPACITY		16	/* slots of each worker */
#define BF_ID_LEN		36	/* a workload id (a UUID) */
#define BF_SUBMIT_MS		5000	/* one submission's deadline */
#define BF_CONNECT_MS		1000
#define BF_PROBE_MS		1000	/* one GET /ready or /health */
#define BF_RETRY_PAUSE_MS	10	/* after a submission that failed */
#define BF_PACE_SLICE_MS	50	/* longest sleep before checking stop */
#define BF_TICK_MS		5	/* waiting for a recovery */
#define BF_POLL_MS		50	/* other waits */
#define BF_DRAIN_POLL_MS	250
#define BF_PAGE			1000	/* the server's largest page */
#define BF_PAGES_MAX		100000
#define BF_CURSOR_MAX		256
#define BF_TARGET_P50_S		2.0

enum { BF_EXIT_OK = 0, BF_EXIT_FAIL = 1, BF_EXIT_USAGE = 2 };

/* What every submission carries: 10 ms of work, no retries, so that a
 * second completion could only come from a failover. */
static const char bf_body[] = "{\"workload_type\":\"sleep\","
    "\"input_params\":{\"duration_ms\":10},\"max_retries\":0}";

struct bf_opts {
	long long	 kills;
	long long	 conns;
	long long	 rate;		/* submissions/s during the kills; 0: unpaced */
	long long	 seconds;	/* each throughput measurement */
	long long	 workers;
	long long	 timeout_s;	/* longest wait of each phase */
	const char	*niyantad;
	const char	*worker;
	bool		 json;
};

/* One acknowledged workload. */
struct bf_ack {
	char		 id[BF_ID_LEN + 1];
	char		 status[12];	/* as read at the end; "" until then */
	double		 at;		/* bench_now_s() of the acknowledgement */
	bool		 replay;	/* by a 200 replay of its key */
	unsigned	 completions;	/* audit events of it to COMPLETED */
};

struct bf_acks {
	struct bf_ack	*v;
	size_t		 n, cap;
};

struct bf_load;

/* One submitting connection. */
struct bf_thread {
	struct bf_load		*ld;
	size_t			 n;		/* thread number */
	pthread_t		 tid;
	bool			 started;
	struct http_client	*http[BENCH_CLUSTER_NODES_MAX];	/* per node */
	struct bf_acks		 acks;
	long			 failed;	/* requests not acknowledged */
};

/* C threads submitting to the target nodes in turn until stopped. */
struct bf_load {
	const char		*tag;		/* in the keys: the phase */
	size_t			 targets[BENCH_CLUSTER_NODES_MAX];	/* nodes */
	size_t			 ntargets;
	double			 interval_s;	/* one thread's pace; 0: none */
	atomic_bool		 stop;
	atomic_bool		 fatal;		/* an answer retrying cannot fix */
	_Atomic uint64_t	 armed_us;	/* 201s to requests sent from then
						 * on count as a recovery; 0: off */
	_Atomic uint64_t	 recovered_us;	/* the first of them; 0: none yet */
	_Atomic uint64_t	 last_ack_us;
	struct bf_thread	*th;
	size_t			 nth;
	pthread_mutex_t		 mu;		/* guards first_error */
	char			 first_error[ERRBUF_LEN + 64];
};

/* What the run measured. */
struct bf_result {
	double		 up_s;			/* the cluster's start */
	size_t		 leader0;		/* who led the measurement */
	double		 rate_leader, rate_any, rate_single;
	double		*rec_s;			/* kill to first write, per kill */
	double		*catch_s;		/* restart to caught up, per kill */
	size_t		 kills;			/* done */
	long		 failed_reqs;		/* during the kills */
	size_t		 acked, replayed;
	size_t		 lost, unfinished, completed, failed, cancelled;
	size_t		 twice;			/* COMPLETED more than once */
	bool		 drained;
	double		 drain_s;
	double		 check_s;		/* reading the records and audit */
	bool		 checked;		/* the counts above are known */
	bool		 met;
};

static const char bf_synopsis[] =
"usage: niyanta-bench failover [--kills K] [--connections C] [--rate R]\n"
"                              [--seconds S] [--workers N] [--niyantad PATH]\n"
"                              [--worker PATH] [--timeout S] [--json]\n";

static int
bf_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bf_usage(const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = bench_usage_fail("failover", bf_synopsis, BF_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

static void
bf_load_error(struct bf_load *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the text of the load's first error. */
static void
bf_load_error(struct bf_load *ld, const char *fmt, ...)
{
	va_list	 ap;

	pthread_mutex_lock(&ld->mu);
	if (ld->first_error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ld->first_error, sizeof ld->first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&ld->mu);
}

/* ---------------------------------------------------------------- acks */

static int
bf_ack_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bf_ack *)a)->id,
	    ((const struct bf_ack *)b)->id);
}

/* A new zeroed entry at the end of l; NULL on OOM. */
static struct bf_ack *
bf_acks_push(struct bf_acks *l)
{
	struct bf_ack	*v;
	size_t		 cap;

	if (l->n == l->cap) {
		cap = l->cap > 0 ? l->cap * 2 : 1024;
		if ((v = realloc(l->v, cap * sizeof *v)) == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof l->v[0]);
	return &l->v[l->n++];
}

/* The entry of l (sorted) for id, or NULL. */
static struct bf_ack *
bf_acks_find(const struct bf_acks *l, const char *id)
{
	struct bf_ack	 key;

	if (id == NULL || strlen(id) != BF_ID_LEN)
		return NULL;
	memcpy(key.id, id, BF_ID_LEN + 1);
	return bsearch(&key, l->v, l->n, sizeof *l->v, bf_ack_cmp);
}

/* ---------------------------------------------------------------- load */

/* A 4xx that says the request itself is wrong: sending it again to another
 * node cannot help.  409 (the key is in use by a request still in flight),
 * 408 and 429 can. */
static bool
bf_status_fatal(long status)
{
	return status >= 400 && status < 500 && status != 408 && status != 409 &&
	    status != 429;
}

/* Notes the workload of a 201 or 200 reply; false if it names none. */
static bool
bf_ack_take(struct bf_thread *t, const struct http_response *resp, double at)
{
	struct bf_ack	*a;
	json_t		*root;
	const char	*id;
	bool		 ok = false;

	root = json_loadb(resp->body, resp->len, 0, NULL);
	id = json_string_value(json_object_get(root, "id"));
	if (id == NULL || strlen(id) != BF_ID_LEN)
		bf_load_error(t->ld, "POST /v1/workloads: the %ld reply has no "
		    "workload id", resp->status);
	else if ((a = bf_acks_push(&t->acks)) == NULL)
		bf_load_error(t->ld, "out of memory");
	else {
		memcpy(a->id, id, BF_ID_LEN + 1);
		a->at = at;
		a->replay = resp->status == 200;
		ok = true;
	}
	json_decref(root);
	return ok;
}

/* Sleeps until the monotonic time until, or until the load stops. */
static void
bf_pace(struct bf_load *ld, double until)
{
	double	 now, ms;

	while (!atomic_load(&ld->stop) && (now = bench_now_s()) < until) {
		ms = (until - now) * 1000.0 + 1;
		bench_sleep_ms(ms > BF_PACE_SLICE_MS ? BF_PACE_SLICE_MS :
		    (unsigned)ms);
	}
}

static void *
bf_thread_main(void *arg)
{
	struct bf_thread	*t = arg;
	struct bf_load		*ld = t->ld;
	struct http_response	 resp = { 0 };
	struct errbuf		 eb;
	char			 hdr[128];
	const char		*hdrs[2] = { hdr, NULL };
	unsigned long long	 seq = 0;
	uint64_t		 sent_us, armed, none;
	double			 next, now;
	size_t			 turn = t->n, node;
	bool			 pending = false;
	int			 rc;

	/* Spread the threads over one interval, and over the nodes. */
	next = bench_now_s() + ld->interval_s * (double)t->n / (double)ld->nth;
	while (!atomic_load(&ld->stop) && !atomic_load(&ld->fatal) &&
	    !bench_cluster_interrupted()) {
		if (!pending) {
			if (ld->interval_s > 0) {
				bf_pace(ld, next);
				if (atomic_load(&ld->stop))
					break;
			}
			snprintf(hdr, sizeof hdr, "Idempotency-Key: bf-%ld-%s-%zu-%llu",
			    (long)getpid(), ld->tag, t->n, ++seq);
			pending = true;
		}
		node = ld->targets[turn++ % ld->ntargets];
		sent_us = clock_mono_us();
		errbuf_clear(&eb);
		rc = http_client_request_hdrs(t->http[node], "POST",
		    "/v1/workloads", bf_body, hdrs, &resp, &eb);
		if (rc == 0 && (resp.status == 201 || resp.status == 200)) {
			now = bench_now_s();
			if (!bf_ack_take(t, &resp, now)) {
				atomic_store(&ld->fatal, true);
				break;
			}
			pending = false;
			atomic_store(&ld->last_ack_us, clock_mono_us());
			/* The first 201 to a request sent after the kill: a
			 * write the new leader took. */
			armed = atomic_load(&ld->armed_us);
			if (resp.status == 201 && armed != 0 && sent_us >= armed) {
				none = 0;
				atomic_compare_exchange_strong(&ld->recovered_us,
				    &none, clock_mono_us());
			}
			if (ld->interval_s > 0) {
				next += ld->interval_s;
				if (next < now - ld->interval_s)
					next = now;	/* no burst after a stall */
			}
			continue;
		}
		t->failed++;
		if (rc == 0 && bf_status_fatal(resp.status)) {
			bf_load_error(ld, "POST /v1/workloads to node %zu: HTTP "
			    "%ld: %.200s", node + 1, resp.status,
			    resp.body != NULL ? resp.body : "");
			atomic_store(&ld->fatal, true);
			break;
		}
		bench_sleep_ms(BF_RETRY_PAUSE_MS);
	}
	http_response_fini(&resp);
	return NULL;
}

/* A load of conns threads sending to targets in turn, rate submissions per
 * second in all (0: as fast as they are acknowledged). */
static void
bf_load_init(struct bf_load *ld, const char *tag, const size_t *targets,
    size_t ntargets, long long conns, long long rate)
{
	memset(ld, 0, sizeof *ld);
	ld->tag = tag;
	memcpy(ld->targets, targets, ntargets * sizeof *targets);
	ld->ntargets = ntargets;
	ld->nth = (size_t)conns;
	ld->interval_s = rate > 0 ? (double)conns / (double)rate : 0;
	pthread_mutex_init(&ld->mu, NULL);
}

/* Opens one client per node for each thread and starts the threads. */
static int
bf_load_start(struct bf_load *ld, struct bench_cluster *cl, struct errbuf *eb)
{
	struct bf_thread	*t;
	char			*key = NULL;
	size_t			 i, k;
	int			 rc;

	if ((ld->th = calloc(ld->nth, sizeof *ld->th)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	if ((rc = http_key_file_read(bench_cluster_key_file(cl), &key, eb)) != 0)
		return rc;
	for (i = 0; i < ld->nth && rc == 0; i++) {
		t = &ld->th[i];
		t->ld = ld;
		t->n = i;
		for (k = 0; k < bench_cluster_nnodes(cl) && rc == 0; k++) {
			if ((rc = http_client_new(&t->http[k],
			    bench_cluster_node_url(cl, k), key, eb)) != 0)
				break;
			http_client_set_timeout_ms(t->http[k], BF_SUBMIT_MS);
			http_client_set_connect_timeout_ms(t->http[k],
			    BF_CONNECT_MS);
		}
	}
	explicit_bzero(key, strlen(key));
	free(key);
	for (i = 0; i < ld->nth && rc == 0; i++) {
		if ((errno = pthread_create(&ld->th[i].tid, NULL, bf_thread_main,
		    &ld->th[i])) != 0) {
			rc = err_setf(eb, ERR_INTERNAL, "cannot start a thread: %s",
			    strerror(errno));
			break;
		}
		ld->th[i].started = true;
	}
	return rc;
}

/* Stops the threads and waits for them (each ends its request first). */
static void
bf_load_stop(struct bf_load *ld)
{
	size_t	 i;

	atomic_store(&ld->stop, true);
	for (i = 0; ld->th != NULL && i < ld->nth; i++) {
		if (ld->th[i].started)
			pthread_join(ld->th[i].tid, NULL);
		ld->th[i].started = false;
	}
}

/*
 * Once stopped: copies the threads' acknowledgements to keep (unless it is
 * NULL) and counts those acknowledged within [t0, t1] into *in_window and
 * the failed requests into *failed.
 */
static int
bf_load_collect(struct bf_load *ld, struct bf_acks *keep, double t0, double t1,
    size_t *in_window, long *failed, struct errbuf *eb)
{
	struct bf_thread	*t;
	struct bf_ack		*a;
	size_t			 i, j;

	*in_window = 0;
	*failed = 0;
	for (i = 0; ld->th != NULL && i < ld->nth; i++) {
		t = &ld->th[i];
		*failed += t->failed;
		for (j = 0; j < t->acks.n; j++) {
			if (t->acks.v[j].at >= t0 && t->acks.v[j].at <= t1)
				(*in_window)++;
			if (keep == NULL)
				continue;
			if ((a = bf_acks_push(keep)) == NULL)
				return err_setf(eb, ERR_NOMEM, "out of memory");
			*a = t->acks.v[j];
		}
	}
	return 0;
}

static void
bf_load_fini(struct bf_load *ld)
{
	size_t	 i, k;

	bf_load_stop(ld);
	for (i = 0; ld->th != NULL && i < ld->nth; i++) {
		for (k = 0; k < BENCH_CLUSTER_NODES_MAX; k++)
			http_client_free(ld->th[i].http[k]);
		free(ld->th[i].acks.v);
	}
	free(ld->th);
	ld->th = NULL;
	pthread_mutex_destroy(&ld->mu);
}

/* 0, or why the load or the cluster cannot go on. */
static int
bf_load_check(struct bf_load *ld, struct bench_cluster *cl, struct errbuf *eb)
{
	int	 rc;

	if ((rc = bench_cluster_check(cl, eb)) != 0)
		return rc;
	if (atomic_load(&ld->fatal)) {
		pthread_mutex_lock(&ld->mu);
		rc = err_setf(eb, ERR_PROTO, "%s", ld->first_error);
		pthread_mutex_unlock(&ld->mu);
	}
	return rc;
}

/*
 * Submissions per second to targets in turn, as fast as they are
 * acknowledged, over o->seconds: those acknowledged from the start of the
 * load to its stop, over that time.  The acknowledgements go to keep.
 */
static int
bf_throughput(struct bench_cluster *cl, const struct bf_opts *o,
    const char *tag, const size_t *targets, size_t ntargets,
    struct bf_acks *keep, double *rate, struct errbuf *eb)
{
	struct bf_load	 ld;
	double		 t0, t1;
	size_t		 n = 0;
	long		 failed;
	int		 rc;

	bf_load_init(&ld, tag, targets, ntargets, o->conns, 0);
	t0 = bench_now_s();
	if ((rc = bf_load_start(&ld, cl, eb)) == 0) {
		while ((rc = bf_load_check(&ld, cl, eb)) == 0 &&
		    bench_now_s() < t0 + (double)o->seconds)
			bench_sleep_ms(BF_POLL_MS);
	}
	t1 = bench_now_s();
	bf_load_stop(&ld);
	if (rc == 0)
		rc = bf_load_check(&ld, cl, eb);
	if (rc == 0)
		rc = bf_load_collect(&ld, keep, t0, t1, &n, &failed, eb);
	*rate = t1 > t0 ? (double)n / (t1 - t0) : 0;
	bf_load_fini(&ld);
	return rc;
}

/* ---------------------------------------------------------------- nodes */

/* GET path without a key (/ready, /health); 0 with *status set and, if out
 * is not NULL, the parsed body (NULL if it is not JSON), or a transport
 * error. */
static int
bf_probe(struct http_client *h, const char *path, long *status, json_t **out)
{
	struct http_response	 resp = { 0 };
	struct errbuf		 eb;
	int			 rc;

	errbuf_clear(&eb);
	if (out != NULL)
		*out = NULL;
	if ((rc = http_client_request(h, "GET", path, NULL, &resp, &eb)) == 0) {
		*status = resp.status;
		if (out != NULL)
			*out = json_loadb(resp.body, resp.len, 0, NULL);
	}
	http_response_fini(&resp);
	return rc;
}

/* A node's own view from GET /health; false if it did not answer. */
static bool
bf_health(struct http_client *h, bool *leader, long long *commit,
    long long *applied)
{
	json_t	*root;
	long	 status;
	bool	 ok;

	if (bf_probe(h, "/health", &status, &root) != 0 || status != 200) {
		json_decref(root);
		return false;
	}
	ok = json_is_integer(json_object_get(root, "commit_index")) &&
	    json_is_integer(json_object_get(root, "applied_index"));
	*leader = json_is_true(json_object_get(root, "leader"));
	*commit = json_integer_value(json_object_get(root, "commit_index"));
	*applied = json_integer_value(json_object_get(root, "applied_index"));
	json_decref(root);
	return ok;
}

/* The index of the node answering GET /ready with 200. */
static int
bf_leader_find(struct bench_cluster *cl, struct http_client **probe,
    double deadline, size_t *leader, struct errbuf *eb)
{
	size_t	 i;
	long	 status;
	int	 rc;

	for (;;) {
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			return rc;
		for (i = 0; i < bench_cluster_nnodes(cl); i++) {
			if (bench_cluster_node_running(cl, i) &&
			    bf_probe(probe[i], "/ready", &status, NULL) == 0 &&
			    status == 200) {
				*leader = i;
				return 0;
			}
		}
		if (bench_now_s() >= deadline)
			return err_setf(eb, ERR_TIMEOUT, "no node answered GET "
			    "/ready with 200 in time");
		bench_sleep_ms(BF_POLL_MS);
	}
}

/* Waits until node's applied index reaches the leader's commit index, as
 * each reports it on GET /health. */
static int
bf_catch_up(struct bench_cluster *cl, struct bf_load *ld,
    struct http_client **probe, size_t node, double deadline,
    struct errbuf *eb)
{
	long long	 commit, c, applied = -1;
	size_t		 i;
	bool		 lead;
	int		 rc;

	for (;;) {
		if ((rc = bf_load_check(ld, cl, eb)) != 0)
			return rc;
		/* The leader's commit index first, so the node chases a
		 * value it can reach under load. */
		commit = -1;
		for (i = 0; i < bench_cluster_nnodes(cl) && commit < 0; i++)
			if (i != node && bench_cluster_node_running(cl, i) &&
			    bf_health(probe[i], &lead, &c, &applied) && lead)
				commit = c;
		applied = -1;
		if (bf_health(probe[node], &lead, &c, &applied) &&
		    (lead || (commit >= 0 && applied >= commit)))
			return 0;
		if (bench_now_s() >= deadline)
			return err_setf(eb, ERR_TIMEOUT, "node %zu had not caught "
			    "up in time (applied index %lld, the leader's commit "
			    "index %lld)", node + 1, applied, commit);
		bench_sleep_ms(BF_POLL_MS);
	}
}

/* ---------------------------------------------------------------- kills */

/*
 * The kills, under ld's load.  Before each: a ready leader, and a write
 * acknowledged since the last restarted node caught up.  The recovery is
 * the time from kill() to the acknowledgement of the first 201 to a
 * request sent once the leader was reaped, so no answer of the old leader
 * can count.
 */
static int
bf_kills(struct bench_cluster *cl, const struct bf_opts *o,
    struct bf_load *ld, struct http_client **probe, struct bf_result *res,
    struct errbuf *eb)
{
	double		 timeout = (double)o->timeout_s, t0;
	uint64_t	 since_us = 0, kill_us, rec_us;
	size_t		 k, victim, leader;
	long		 pid;
	int		 rc;

	for (k = 0; k < (size_t)o->kills; k++) {
		t0 = bench_now_s();
		while (atomic_load(&ld->last_ack_us) <= since_us) {
			if ((rc = bf_load_check(ld, cl, eb)) != 0)
				return rc;
			if (bench_now_s() >= t0 + timeout)
				return err_setf(eb, ERR_TIMEOUT, "no submission was "
				    "acknowledged in %lld s before kill %zu",
				    o->timeout_s, k + 1);
			bench_sleep_ms(BF_TICK_MS);
		}
		if ((rc = bf_leader_find(cl, probe, bench_now_s() + timeout,
		    &victim, eb)) != 0)
			return rc;
		pid = bench_cluster_node_pid(cl, victim);
		atomic_store(&ld->armed_us, 0);
		atomic_store(&ld->recovered_us, 0);
		kill_us = clock_mono_us();
		if ((rc = bench_cluster_node_kill(cl, victim, eb)) != 0)
			return rc;
		atomic_store(&ld->armed_us, clock_mono_us());
		t0 = bench_now_s();
		while ((rec_us = atomic_load(&ld->recovered_us)) == 0) {
			if ((rc = bf_load_check(ld, cl, eb)) != 0)
				return rc;
			if (bench_now_s() >= t0 + timeout)
				return err_setf(eb, ERR_TIMEOUT, "no write was "
				    "acknowledged within %lld s of killing node %zu "
				    "(kill %zu)", o->timeout_s, victim + 1, k + 1);
			bench_sleep_ms(BF_TICK_MS);
		}
		res->rec_s[k] = (double)(rec_us - kill_us) / 1e6;
		if ((rc = bf_leader_find(cl, probe, bench_now_s() + timeout,
		    &leader, eb)) != 0)
			return rc;

		t0 = bench_now_s();
		if ((rc = bench_cluster_node_restart(cl, victim, eb)) != 0 ||
		    (rc = bf_catch_up(cl, ld, probe, victim, t0 + timeout,
		    eb)) != 0)
			return rc;
		res->catch_s[k] = bench_now_s() - t0;
		since_us = clock_mono_us();
		res->kills = k + 1;
		if (!o->json) {
			printf("failover: kill %zu of %lld: node %zu (the leader, "
			    "pid %ld) SIGKILLed; first write acknowledged after "
			    "%.3f s, node %zu leads; node %zu restarted, caught up "
			    "in %.2f s\n", k + 1, o->kills, victim + 1, pid,
			    res->rec_s[k], leader + 1, victim + 1, res->catch_s[k]);
			fflush(stdout);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- checks */

typedef void	bf_item_cb(void *arg, const json_t *item);

/* Calls cb on each element of the array called key in every page of GET
 * path (which has a query already), following next_cursor. */
static int
bf_pages_walk(struct bench_cluster *cl, const char *path, const char *key,
    bf_item_cb *cb, void *arg, struct errbuf *eb)
{
	json_t		*root, *arr, *v;
	const char	*next;
	char		*full, cursor[BF_CURSOR_MAX], *esc;
	size_t		 i, pages;
	int		 rc = 0, n;

	cursor[0] = '\0';
	for (pages = 0; rc == 0; pages++) {
		if (pages >= BF_PAGES_MAX)
			return err_setf(eb, ERR_PROTO, "GET %s: more than %d pages",
			    path, BF_PAGES_MAX);
		esc = cursor[0] != '\0' ? http_url_escape(cursor) : NULL;
		if (cursor[0] != '\0' && esc == NULL)
			return err_setf(eb, ERR_NOMEM, "out of memory");
		n = esc != NULL ? asprintf(&full, "%s&cursor=%s", path, esc) :
		    asprintf(&full, "%s", path);
		free(esc);
		if (n < 0)
			return err_setf(eb, ERR_NOMEM, "out of memory");
		rc = bench_cluster_api(cl, "GET", full, NULL, 200, &root, eb);
		free(full);
		if (rc != 0)
			break;
		if (!json_is_array(arr = json_object_get(root, key))) {
			json_decref(root);
			return err_setf(eb, ERR_PROTO, "GET %s: no %s array in the "
			    "reply", path, key);
		}
		json_array_foreach(arr, i, v)
			cb(arg, v);
		next = json_string_value(json_object_get(root, "next_cursor"));
		if (next != NULL && strlen(next) >= sizeof cursor)
			rc = err_setf(eb, ERR_PROTO, "GET %s: next_cursor is too "
			    "long", path);
		else if (next != NULL)
			memcpy(cursor, next, strlen(next) + 1);
		json_decref(root);
		if (next == NULL)
			break;
	}
	return rc;
}

/* Waits until no workload is pending, scheduled, running or pausing;
 * *drained says whether that happened before the deadline. */
static int
bf_drain(struct bench_cluster *cl, double deadline, bool *drained,
    struct errbuf *eb)
{
	static const char *const busy[] = { "PENDING", "SCHEDULED", "RUNNING",
	    "PAUSING" };
	json_t	*root;
	char	 path[96];
	size_t	 i, n;
	int	 rc;

	*drained = false;
	for (;;) {
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			return rc;
		for (i = 0, n = 0; i < sizeof busy / sizeof busy[0]; i++) {
			snprintf(path, sizeof path, "/v1/workloads?status=%s&limit=1",
			    busy[i]);
			if ((rc = bench_cluster_api(cl, "GET", path, NULL, 200,
			    &root, eb)) != 0)
				return rc;
			n += json_array_size(json_object_get(root, "workloads"));
			json_decref(root);
		}
		if (n == 0) {
			*drained = true;
			return 0;
		}
		if (bench_now_s() >= deadline)
			return 0;
		bench_sleep_ms(BF_DRAIN_POLL_MS);
	}
}

/* A listed workload: note the status of an acknowledged one. */
static void
bf_record_cb(void *arg, const json_t *item)
{
	struct bf_ack	*a;
	const char	*st;

	a = bf_acks_find(arg, json_string_value(json_object_get(item, "id")));
	st = json_string_value(json_object_get(item, "status"));
	if (a != NULL && st != NULL)
		snprintf(a->status, sizeof a->status, "%s", st);
}

/* An audit event: count an acknowledged workload's moves to COMPLETED. */
static void
bf_audit_cb(void *arg, const json_t *item)
{
	struct bf_ack	*a;

	if (!json_is_string(json_object_get(item, "kind")) ||
	    strcmp(json_string_value(json_object_get(item, "kind")), "status") != 0 ||
	    !json_is_string(json_object_get(item, "to")) ||
	    strcmp(json_string_value(json_object_get(item, "to")), "COMPLETED") != 0)
		return;
	a = bf_acks_find(arg, json_string_value(json_object_get(item,
	    "workload_id")));
	if (a != NULL)
		a->completions++;
}

/* GET /v1/workloads/{id} of a workload the list did not show: its status
 * into a->status, left "" if the answer is 404 (the workload is lost). */
static int
bf_record_get(struct bench_cluster *cl, struct bf_ack *a, struct errbuf *eb)
{
	struct http_response	 resp = { 0 };
	json_t			*root;
	const char		*st;
	char			 path[96];
	int			 rc;

	snprintf(path, sizeof path, "/v1/workloads/%s", a->id);
	if ((rc = http_client_request(bench_cluster_http(cl), "GET", path, NULL,
	    &resp, eb)) != 0) {
		http_response_fini(&resp);
		return rc;
	}
	if (resp.status == 200) {
		root = json_loadb(resp.body, resp.len, 0, NULL);
		st = json_string_value(json_object_get(root, "status"));
		snprintf(a->status, sizeof a->status, "%s", st != NULL ? st : "?");
		json_decref(root);
	} else if (resp.status != 404) {
		rc = err_setf(eb, ERR_PROTO, "GET %s: HTTP %ld", path, resp.status);
	}
	http_response_fini(&resp);
	return rc;
}

/*
 * Reads every workload record and the whole audit trail once, and counts
 * the acknowledged workloads (acks, sorted by id here) that are missing,
 * in each terminal status, not terminal, or COMPLETED more than once.  A
 * workload the list did not show is asked for by id: only a 404 makes it
 * lost.
 */
static int
bf_check(struct bench_cluster *cl, struct bf_acks *acks, struct bf_result *res,
    struct errbuf *eb)
{
	struct bf_ack	*a;
	size_t		 i;
	int		 rc;

	qsort(acks->v, acks->n, sizeof *acks->v, bf_ack_cmp);
	if ((rc = bf_pages_walk(cl, "/v1/workloads?limit=1000", "workloads",
	    bf_record_cb, acks, eb)) != 0 ||
	    (rc = bf_pages_walk(cl, "/v1/audit-events?limit=1000", "events",
	    bf_audit_cb, acks, eb)) != 0)
		return rc;
	for (i = 0; i < acks->n; i++) {
		a = &acks->v[i];
		if (i > 0 && strcmp(a->id, acks->v[i - 1].id) == 0)
			continue;	/* one workload, acknowledged again */
		res->acked++;
		if (a->replay)
			res->replayed++;
		if (a->completions > 1)
			res->twice++;
		if (a->status[0] == '\0') {
			if ((rc = bf_record_get(cl, a, eb)) != 0)
				return rc;
			if (a->status[0] == '\0') {
				res->lost++;
				continue;
			}
		}
		if (strcmp(a->status, "COMPLETED") == 0)
			res->completed++;
		else if (strcmp(a->status, "FAILED") == 0)
			res->failed++;
		else if (strcmp(a->status, "CANCELLED") == 0)
			res->cancelled++;
		else
			res->unfinished++;
	}
	return 0;
}

/* ---------------------------------------------------------------- report */

static void
bf_print(const struct bf_opts *o, const struct bf_result *r)
{
	double	*v, p50 = 0, p90 = 0, max = 0, cmax = 0;
	double	 ratio, ratio_any;
	size_t	 i;

	if ((v = calloc(r->kills > 0 ? r->kills : 1, sizeof *v)) != NULL) {
		memcpy(v, r->rec_s, r->kills * sizeof *v);
		bench_sort_doubles(v, r->kills);
		p50 = bench_percentile(v, r->kills, 50);
		p90 = bench_percentile(v, r->kills, 90);
		max = r->kills > 0 ? v[r->kills - 1] : 0;
		free(v);
	}
	for (i = 0; i < r->kills; i++)
		if (r->catch_s[i] > cmax)
			cmax = r->catch_s[i];
	ratio = r->rate_single > 0 ? r->rate_leader / r->rate_single : 0;
	ratio_any = r->rate_single > 0 ? r->rate_any / r->rate_single : 0;
	if (o->json) {
		printf("{\"mode\":\"failover\",\"nodes\":%d,\"workers\":%lld,"
		    "\"connections\":%lld,\"kills\":%zu,\"rate_per_s\":%lld,"
		    "\"seconds\":%lld,\"cluster_start_s\":%.3f,\"recovery_s\":[",
		    BF_NODES, o->workers, o->conns, r->kills, o->rate, o->seconds,
		    r->up_s);
		for (i = 0; i < r->kills; i++)
			printf("%s%.3f", i > 0 ? "," : "", r->rec_s[i]);
		printf("],\"recovery_p50_s\":%.3f,\"recovery_p90_s\":%.3f,"
		    "\"recovery_max_s\":%.3f,\"catch_up_max_s\":%.3f,"
		    "\"target_p50_s\":%.1f,\"target_met\":%s,"
		    "\"failed_requests\":%ld,\"acknowledged\":%zu,\"replayed\":%zu,"
		    "\"drained\":%s,\"drain_s\":%.3f,\"lost\":%zu,"
		    "\"unfinished\":%zu,\"completed\":%zu,\"failed\":%zu,"
		    "\"cancelled\":%zu,\"completed_twice\":%zu,"
		    "\"three_node_per_s\":%.1f,\"three_node_any_per_s\":%.1f,"
		    "\"single_node_per_s\":%.1f,\"ratio\":%.3f,"
		    "\"ratio_any\":%.3f}\n", p50, p90, max, cmax, BF_TARGET_P50_S,
		    r->met ? "true" : "false", r->failed_reqs, r->acked,
		    r->replayed, r->drained ? "true" : "false", r->drain_s,
		    r->lost, r->unfinished, r->completed, r->failed, r->cancelled,
		    r->twice, r->rate_leader, r->rate_any, r->rate_single, ratio,
		    ratio_any);
		return;
	}
	printf("failover: kill to the first write acknowledged by the new "
	    "leader over %zu kills: p50 %.3f s, p90 %.3f s, max %.3f s; "
	    "restarted node caught up within %.2f s\n", r->kills, p50, p90, max,
	    cmax);
	printf("target: p50 under %.0f s: %s\n", BF_TARGET_P50_S,
	    r->met ? "met" : "NOT met");
	printf("failover: %zu workloads acknowledged by the cluster (%zu of them "
	    "by a 200 replay of their key), %ld submissions refused or failed "
	    "during the kills and sent again; %s %.2f s after the load "
	    "stopped\n", r->acked, r->replayed, r->failed_reqs,
	    r->drained ? "all terminal" : "gave up waiting for the rest",
	    r->drain_s);
	printf("failover: acknowledged but lost: %zu (must be 0); COMPLETED %zu, "
	    "FAILED %zu, CANCELLED %zu, unfinished %zu; COMPLETED more than "
	    "once (audit trail of all %zu): %zu\n", r->lost, r->completed,
	    r->failed, r->cancelled, r->unfinished, r->acked, r->twice);
	printf("failover: submissions/s over %lld connections, %lld s each: "
	    "three nodes %.0f through the leader, %.0f to the three in turn; "
	    "one node %.0f\n", o->conns, o->seconds, r->rate_leader, r->rate_any,
	    r->rate_single);
	printf("failover: ratio three-node / single-node: %.2f (through the "
	    "leader), %.2f (to every node in turn)\n", ratio, ratio_any);
}

/* ---------------------------------------------------------------- run */

/* Starts nodes niyantad nodes and the workers. */
static int
bf_cluster_start(struct bench_cluster **cl, const struct bf_opts *o,
    size_t nodes, struct errbuf *eb)
{
	struct bench_cluster_opts	 co;
	int				 rc;

	memset(&co, 0, sizeof co);
	co.niyantad = o->niyantad;
	co.worker = o->worker;
	co.nodes = nodes;
	co.nworkers = (size_t)o->workers;
	co.capacity = BF_CAPACITY;
	co.timeout_ms = o->timeout_s * 1000;
	if ((rc = bench_cluster_start(cl, &co, eb)) == 0)
		return 0;
	fprintf(stderr, "%s: failover: cannot start %s: %s\n", BENCH_PROG,
	    nodes > 1 ? "the cluster" : "the single node", eb->msg);
	if (rc != ERR_SHUTDOWN)
		bench_cluster_logs_print(*cl, stderr);
	return rc;
}

/* Stops and removes it; a process that needed SIGKILL is only reported. */
static void
bf_cluster_stop(struct bench_cluster *cl)
{
	struct errbuf	 eb;

	errbuf_clear(&eb);
	if (bench_cluster_stop(cl, &eb) != 0)
		fprintf(stderr, "%s: failover: stopping the cluster: %s\n",
		    BENCH_PROG, eb.msg);
}

/* The three-node part: throughput, kills, checks. */
static int
bf_run_cluster(const struct bf_opts *o, struct bf_result *res,
    struct errbuf *eb)
{
	struct bench_cluster	*cl = NULL;
	struct http_client	*probe[BENCH_CLUSTER_NODES_MAX] = { NULL };
	struct bf_acks		 acks = { 0 };
	struct bf_load		 ld;
	size_t			 all[BF_NODES], i, n;
	double			 t0, timeout = (double)o->timeout_s;
	bool			 loaded = false;
	int			 rc;

	t0 = bench_now_s();
	if ((rc = bf_cluster_start(&cl, o, BF_NODES, eb)) != 0)
		goto out;
	res->up_s = bench_now_s() - t0;
	if (!o->json) {
		printf("failover: %d niyantad nodes and %lld workers (%d slots "
		    "each) up in %.2f s (%s)\n", BF_NODES, o->workers, BF_CAPACITY,
		    res->up_s, bench_cluster_dir(cl));
		fflush(stdout);
	}
	for (i = 0; i < BF_NODES && rc == 0; i++) {
		all[i] = i;
		if ((rc = http_client_new(&probe[i], bench_cluster_node_url(cl, i),
		    NULL, eb)) == 0) {
			http_client_set_timeout_ms(probe[i], BF_PROBE_MS);
			http_client_set_connect_timeout_ms(probe[i], BF_PROBE_MS);
		}
	}
	if (rc != 0)
		goto fail;

	if ((rc = bf_leader_find(cl, probe, bench_now_s() + timeout,
	    &res->leader0, eb)) != 0 ||
	    (rc = bf_throughput(cl, o, "leader", &res->leader0, 1, &acks,
	    &res->rate_leader, eb)) != 0 ||
	    (rc = bf_throughput(cl, o, "any", all, BF_NODES, &acks,
	    &res->rate_any, eb)) != 0)
		goto fail;
	if (!o->json) {
		printf("failover: three nodes: %.0f submissions/s through the "
		    "leader (node %zu), %.0f/s to the three in turn (%lld "
		    "connections, %lld s each)\n", res->rate_leader,
		    res->leader0 + 1, res->rate_any, o->conns, o->seconds);
		if (o->rate > 0)
			printf("failover: a load of %lld submissions/s to the three "
			    "nodes in turn during the kills\n", o->rate);
		else
			printf("failover: a load as fast as it is acknowledged to "
			    "the three nodes in turn during the kills\n");
		fflush(stdout);
	}

	bf_load_init(&ld, "kills", all, BF_NODES, o->conns, o->rate);
	loaded = true;
	if ((rc = bf_load_start(&ld, cl, eb)) != 0 ||
	    (rc = bf_kills(cl, o, &ld, probe, res, eb)) != 0)
		goto fail;
	bf_load_stop(&ld);
	if ((rc = bf_load_check(&ld, cl, eb)) != 0 ||
	    (rc = bf_load_collect(&ld, &acks, 0, 0, &n,
	    &res->failed_reqs, eb)) != 0)
		goto fail;

	t0 = bench_now_s();
	if ((rc = bf_drain(cl, t0 + timeout, &res->drained, eb)) != 0)
		goto fail;
	res->drain_s = bench_now_s() - t0;
	t0 = bench_now_s();
	if ((rc = bf_check(cl, &acks, res, eb)) != 0)
		goto fail;
	res->check_s = bench_now_s() - t0;
	res->checked = true;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "%s: failover: %s\n", BENCH_PROG, eb->msg);
	if (rc != ERR_SHUTDOWN)
		bench_cluster_logs_print(cl, stderr);
out:
	if (loaded)
		bf_load_fini(&ld);
	for (i = 0; i < BENCH_CLUSTER_NODES_MAX; i++)
		http_client_free(probe[i]);
	free(acks.v);
	bf_cluster_stop(cl);
	return rc;
}

/* The single node, measured as the cluster was through its leader. */
static int
bf_run_single(const struct bf_opts *o, struct bf_result *res, struct errbuf *eb)
{
	struct bench_cluster	*cl = NULL;
	size_t			 only = 0;
	int			 rc;

	if ((rc = bf_cluster_start(&cl, o, 1, eb)) == 0 &&
	    (rc = bf_throughput(cl, o, "single", &only, 1, NULL,
	    &res->rate_single, eb)) != 0) {
		fflush(stdout);
		fprintf(stderr, "%s: failover: %s\n", BENCH_PROG, eb->msg);
		if (rc != ERR_SHUTDOWN)
			bench_cluster_logs_print(cl, stderr);
	}
	if (rc == 0 && !o->json) {
		printf("failover: one node: %.0f submissions/s (%lld connections, "
		    "%lld s)\n", res->rate_single, o->conns, o->seconds);
		fflush(stdout);
	}
	bf_cluster_stop(cl);
	return rc;
}

static int
bf_run(const struct bf_opts *o)
{
	struct bf_result	 res;
	struct errbuf		 eb;
	double			*v;
	bool			 ok;
	int			 rc;

	memset(&res, 0, sizeof res);
	res.rec_s = calloc((size_t)o->kills, sizeof *res.rec_s);
	res.catch_s = calloc((size_t)o->kills, sizeof *res.catch_s);
	v = calloc((size_t)o->kills, sizeof *v);
	if (res.rec_s == NULL || res.catch_s == NULL || v == NULL) {
		fprintf(stderr, "%s: failover: out of memory\n", BENCH_PROG);
		rc = ERR_NOMEM;
		goto out;
	}
	errbuf_clear(&eb);
	if ((rc = bf_run_cluster(o, &res, &eb)) != 0 ||
	    (rc = bf_run_single(o, &res, &eb)) != 0)
		goto out;
	memcpy(v, res.rec_s, res.kills * sizeof *v);
	bench_sort_doubles(v, res.kills);
	res.met = res.kills == (size_t)o->kills &&
	    bench_percentile(v, res.kills, 50) < BF_TARGET_P50_S;
	bf_print(o, &res);
	fflush(stdout);
out:
	ok = rc == 0 && res.checked && res.lost == 0 && res.unfinished == 0 &&
	    res.twice == 0 && res.met;
	free(v);
	free(res.rec_s);
	free(res.catch_s);
	return ok ? BF_EXIT_OK : BF_EXIT_FAIL;
}

static int
bf_run_cb(void *arg)
{
	return bf_run(arg);
}

int
bench_failover_main(int argc, char **argv)
{
	enum { OPT_KILLS = 256, OPT_CONNECTIONS, OPT_RATE, OPT_SECONDS,
	    OPT_WORKERS, OPT_NIYANTAD, OPT_WORKER, OPT_TIMEOUT, OPT_JSON };
	static const struct option longopts[] = {
		{ "kills", required_argument, NULL, OPT_KILLS },
		{ "connections", required_argument, NULL, OPT_CONNECTIONS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "niyantad", required_argument, NULL, OPT_NIYANTAD },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_opts	 o = {
		.kills = 20, .conns = 4, .rate = 200, .seconds = 5, .workers = 2,
		.timeout_s = 60,
	};
	const char	*bad;
	char		*def_coord = NULL, *def_worker = NULL;
	int		 c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KILLS:
			if (!str_parse_ll(optarg, 1, BF_KILLS_MAX, &o.kills))
				return bf_usage("--kills wants 1..%d, not '%s'",
				    BF_KILLS_MAX, optarg);
			break;
		case OPT_CONNECTIONS:
			if (!str_parse_ll(optarg, 1, BF_CONNS_MAX, &o.conns))
				return bf_usage("--connections wants 1..%d, not "
				    "'%s'", BF_CONNS_MAX, optarg);
			break;
		case OPT_RATE:
			if (!str_parse_ll(optarg, 0, BF_RATE_MAX, &o.rate))
				return bf_usage("--rate wants 0..%d submissions/s "
				    "(0: unpaced), not '%s'", BF_RATE_MAX, optarg);
			break;
		case OPT_SECONDS:
			if (!str_parse_ll(optarg, 1, BF_SECONDS_MAX, &o.seconds))
				return bf_usage("--seconds wants 1..%d, not '%s'",
				    BF_SECONDS_MAX, optarg);
			break;
		case OPT_WORKERS:
			if (!str_parse_ll(optarg, 1, BENCH_CLUSTER_WORKERS_MAX,
			    &o.workers))
				return bf_usage("--workers wants 1..%d, not '%s'",
				    BENCH_CLUSTER_WORKERS_MAX, optarg);
			break;
		case OPT_NIYANTAD:
		case OPT_WORKER:
			if (optarg[0] == '\0')
				return bf_usage("--%s wants a path",
				    c == OPT_WORKER ? "worker" : "niyantad");
			if (c == OPT_WORKER)
				o.worker = optarg;
			else
				o.niyantad = optarg;
			break;
		case OPT_TIMEOUT:
			if (!str_parse_ll(optarg, 1, 3600, &o.timeout_s))
				return bf_usage("--timeout wants 1..3600 seconds, "
				    "not '%s'", optarg);
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			fputs(bf_synopsis, stdout);
			printf("See '%s --help' for the whole manual.\n", BENCH_PROG);
			return BF_EXIT_OK;
		default:
			return bf_usage("bad option");
		}
	}
	if (optind < argc)
		return bf_usage("unexpected argument '%s'", argv[optind]);
	switch (bench_cluster_programs("failover", &o.niyantad, &o.worker,
	    &def_coord, &def_worker, &bad)) {
	case 0:
		break;
	case 1:
		return bf_usage("%s: %s (give --niyantad and --worker)", bad,
		    strerror(errno));
	default:
		return BF_EXIT_FAIL;
	}
	rc = bench_cluster_run("failover", bf_run_cb, &o, BF_EXIT_FAIL);
	free(def_coord);
	free(def_worker);
	return rc;
}
