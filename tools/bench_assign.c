/*
 * niyanta-bench assign: assignments per second end to end, through the log.
 *
 * It starts a private niyantad (the cluster helpers of bench_recovery.h,
 * with no worker processes) and plays W workers in this process: each
 * registers with the join token (capabilities sleep and exec, a tenth
 * gpu=true, five regions, three compliance classes, --slots slots), keeps
 * one long poll in flight, acknowledges each assignment with START,
 * reports COMPLETE (SUCCEEDED) at once or after --work-ms, and heartbeats
 * at the interval the coordinator gave it.  N workloads go in through
 * POST /v1/workloads/batch, 1000 a request, as fast as the API takes them:
 * by default the queue (of every ten, three hard-affine, four
 * preferring a region, one anti-affine to its own type), or plain sleeps
 * with --plain.  By default the whole queue is submitted before any worker
 * registers, and the clock runs from the first registration to the last
 * START acknowledged: the time to place a backlog of N on a fleet of W.
 * With --stream the workers come first and the clock runs from the first
 * submission.  Every workload goes through SUBMIT, ASSIGN, START and
 * COMPLETE in the Raft log on the way.  Each worker checks what it is
 * given against the rules (hard affinity, anti-affinity) and counts where
 * the preferring ones landed.
 *
 * The simulated workers speak the worker protocol (net/wire_worker.h) over
 * nng req/rep as niyanta-worker does, each on a req0 socket of its own (one
 * TCP connection, as a real worker has) with one context per request in
 * flight: a control lane (REGISTER, HEARTBEAT), a poll lane, a report lane,
 * and one job lane per slot (START then COMPLETE, as a real worker's
 * executor threads do).  A job lane does not send on its own: like
 * niyanta-worker, the worker sends its jobs' reports in REPORTS messages,
 * one in flight, those queued meanwhile in the next.
 * net/bus.h offers only a blocking call, and a thousand held polls would
 * need a thousand threads; so this file drives nng's aio itself.  An aio
 * callback (on nng's threads) only turns a sent request into a receive or
 * hands the finished lane to its driver thread; --threads driver threads
 * decode the replies, keep the workers' state and send the next requests.
 * A worker and all its lanes belong to one driver thread, so a worker's
 * state needs no lock.  Pauses (heartbeat interval, backoff, --work-ms) are
 * the driver's own timers, not nng_sleep_aio: in nng 1.5.2 an aio that once
 * slept reports a later operation's timeout as success (a_expire_ok is
 * never reset), so a request aio must never sleep.
 *
 * Submit-to-START latency runs from each workload's created_at (the batch
 * reply carries it: the coordinator's clock) to the arrival here of its
 * START's acknowledgement (this host's wall clock, the same clock).
 *
 * The CPU time of niyantad's threads (from /proc) is read when the clock
 * starts and after the last START, so the report can say where the
 * coordinator's time went; this process's own CPU time is printed beside
 * it, since both share the machine.
 */
#include "tools/bench_util.h"
#include "tools/bench_assign.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "net/http_client.h"
#include "net/wire_worker.h"
#include "src/clock.h"
#include "src/cmd.h"		/* enum outcome */
#include "src/err.h"
#include "src/strs.h"
#include "tools/bench_recovery.h"

#define BENCH_PROG		"niyanta-bench"

#define BA_BATCH		1000	/* the server's limit per batch */
#define BA_WORKERS_MAX		10000
#define BA_WORKLOADS_MAX	2000000
#define BA_SLOTS_MAX		1000
#define BA_LANES_MAX		1000000	/* workers x slots */
#define BA_THREADS_MAX		256
#define BA_CONNS_MAX		64
#define BA_COORD_ARGS_MAX	32
#define BA_TARGET_PER_S		20000.0
#define BA_CALL_MS		5000	/* a request's deadline, as niyanta-worker */
#define BA_POLL_SLACK_MS	2000	/* a poll's deadline beyond wait_ms */
#define BA_BACKOFF_MIN_MS	200
#define BA_BACKOFF_MAX_MS	5000
#define BA_DEFAULT_HEARTBEAT_MS	1000
#define BA_DEFAULT_POLL_WAIT_MS	5000
#define BA_RESEND_MS		NNG_DURATION_INFINITE	/* as niyanta-worker */
#define BA_MSG_MAX		((size_t)64 << 20)
#define BA_RECONN_MIN_MS	100
#define BA_RECONN_MAX_MS	2000
#define BA_HTTP_MS		60000	/* one batch POST under load */
#define BA_RETRY_AFTER_MAX_MS	5000
#define BA_STRIPES		256	/* locks of the workload table */
#define BA_PROGRESS_S		5.0
#define BA_WAIT_TICK_MS		20
#define BA_LOG_WAIT_S		10.0	/* for niyantad's STARTED line */
#define BA_FD_SPARE		256
#define BA_THREAD_TOP		10	/* niyantad thread groups printed */
#define BA_CLOSE_MS		10000	/* longest wait for nng to close */

enum { BA_EXIT_OK = 0, BA_EXIT_FAIL = 1, BA_EXIT_USAGE = 2 };

static const char *const ba_regions[] = {
	"us-east", "us-west", "eu-west", "eu-central", "ap-south",
};
#define BA_N_REGIONS	(sizeof ba_regions / sizeof ba_regions[0])
static const char *const ba_compliance[] = { "pci", "hipaa", "none" };
#define BA_N_COMPLIANCE	(sizeof ba_compliance / sizeof ba_compliance[0])
#define BA_ANTI_TYPE	"exec"		/* the anti-affine workloads' type */

/*
 * What a workload asks of its worker (--mix, the queue): of every
 * ten, one hard gpu=true, one hard region, one hard compliance class, four
 * a preferred region, one anti-affine to its own type, two nothing.
 */
enum ba_kind {
	BA_KIND_UNKNOWN,	/* assigned before its batch reply was read */
	BA_KIND_PLAIN,
	BA_KIND_HARD_GPU,
	BA_KIND_HARD_REGION,
	BA_KIND_HARD_COMPLIANCE,
	BA_KIND_SOFT_REGION,
	BA_KIND_ANTI,
};

struct ba_opts {
	long long	 workers;
	long long	 workloads;
	long long	 slots;
	long long	 threads;
	long long	 conns;		/* submission connections */
	long long	 work_ms;	/* START to COMPLETE */
	long long	 timeout_s;	/* longest wait of each phase */
	const char	*niyantad;
	const char	*coord_args[BA_COORD_ARGS_MAX + 1];
	size_t		 n_coord_args;
	bool		 stream;	/* submit while the workers run */
	bool		 plain;		/* no affinity rules */
	bool		 json;
};

/* ---------------------------------------------------------------- state */

/* One workload, by id: what the batch reply and the simulated workers saw. */
struct ba_entry {
	struct ba_entry	*next;		/* hash chain */
	char		 id[WMSG_ID_LEN + 1];
	uint32_t	 attempt;	/* the last one claimed */
	uint8_t		 kind;		/* enum ba_kind */
	uint8_t		 want;		/* its region or compliance index */
	bool		 claimed;	/* an assignment of it was taken */
	bool		 started;	/* a START of it was acknowledged */
	int64_t		 created_ms;	/* created_at; -1 until the reply */
	int64_t		 started_ms;	/* wall clock of the acknowledgement */
	uint64_t	 started_us;	/* monotonic, likewise */
};

struct ba_table {
	struct ba_entry	**buckets;
	size_t		  mask;
	pthread_mutex_t	  locks[BA_STRIPES];	/* bucket % BA_STRIPES */
};

enum ba_lane_kind { BA_LANE_CONTROL, BA_LANE_POLL, BA_LANE_JOB, BA_LANE_REPORT };

/* What a lane's aio is doing. */
enum ba_io { BA_IO_IDLE, BA_IO_SEND, BA_IO_RECV };

/* Where a job lane is with its attempt. */
enum ba_step { BA_STEP_FREE, BA_STEP_START, BA_STEP_WORK, BA_STEP_COMPLETE };

struct ba_worker;

/*
 * One request at a time on its own nng context (a job lane has neither
 * context nor aio: only its timers).  While its aio is busy the lane
 * belongs to nng and the callback; once queued to the driver thread, to
 * that thread alone.
 */
struct ba_lane {
	struct ba_worker	*w;
	struct ba_lane		*qnext;		/* in the driver's queue */
	enum ba_lane_kind	 kind;
	nng_aio			*aio;
	nng_ctx			 ctx;
	bool			 ctx_open;
	enum ba_io		 io;
	enum wmsg_type		 sent;		/* request in flight */
	uint64_t		 gen;		/* generation it was sent under */
	unsigned		 recv_ms;	/* the reply's deadline */
	int			 result;	/* nng result of what finished */
	nng_msg			*reply;		/* received, until handled */
	uint64_t		 reply_us;	/* monotonic, on arrival */
	int64_t			 reply_ms;	/* wall clock, on arrival */
	uint64_t		 backoff_ms;
	bool			 sleeping;	/* a driver timer runs; driver's */
	uint64_t		 timer_seq;	/* the current timer's number */
	/* Job lanes: a job's requests travel in REPORTS on the report lane. */
	enum ba_step		 step;
	enum wmsg_type		 report;	/* START or COMPLETE, queued or sent */
	char			 workload_id[WMSG_ID_LEN + 1];
	uint32_t		 attempt;
	bool			 dropped;	/* told to stop while working */
	bool			 anti;		/* holds a BA_KIND_ANTI workload */
};

struct ba_thread;
struct ba;

struct ba_worker {
	struct ba		*b;
	struct ba_thread	*t;		/* its driver */
	char			 id[32];
	nng_socket		 sock;
	bool			 sock_open;
	struct tagset		 tags;
	uint8_t			 region;	/* index in ba_regions */
	uint8_t			 compliance;	/* index in ba_compliance */
	bool			 gpu;
	unsigned		 anti_held;	/* BA_KIND_ANTI claimed, not done */
	uint64_t		 generation;
	uint32_t		 heartbeat_ms;
	uint32_t		 poll_wait_ms;
	bool			 joined;	/* registered at least once */
	bool			 need_register;
	bool			 poll_idle;	/* waits for a registration */
	struct ba_lane		 control;
	struct ba_lane		 poll;
	struct ba_lane		 reports;	/* REPORTS: the jobs' STARTs, COMPLETEs */
	struct ba_lane		**rq;		/* job lanes with a report to send */
	size_t			 rq_n, rq_cap;
	struct ba_lane		**rsent;	/* job lanes in the REPORTS in flight */
	size_t			 rsent_n;
	bool			 ranswering;	/* rsent being answered: hold sends */
	struct ba_lane		*jobs;		/* one per slot */
	size_t			 njobs;		/* initialised */
	size_t			*free_jobs;	/* stack of free job lanes */
	size_t			 nfree;
	struct wmsg_attempt	*queue;		/* ring: waiting for a lane */
	size_t			 qhead, qlen, qcap;
};

/* A pause of a lane; stale if the lane's timer_seq moved on. */
struct ba_timer {
	uint64_t		 due_us;	/* monotonic */
	uint64_t		 seq;
	struct ba_lane		*l;
};

struct ba_thread {
	struct ba		*b;
	pthread_t		 tid;
	bool			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* on CLOCK_MONOTONIC */
	bool			 waiting;	/* asleep on cv */
	struct ba_lane		*head, *tail;	/* finished lanes */
	/* The driver's alone (no lock): a min-heap of timers. */
	struct ba_timer		*timers;
	size_t			 ntimers, timers_cap;
};

struct ba_submitter {
	struct ba		*b;
	pthread_t		 tid;
	bool			 started;
	struct http_client	*http;
	uint64_t		 done_us;	/* its last batch acknowledged */
};

struct ba {
	const struct ba_opts	*o;
	char			*url;		/* the worker endpoint */
	char			*token;		/* join token */
	struct ba_worker	*workers;
	size_t			 nworkers;	/* set up */
	struct ba_thread	*threads;
	size_t			 nthreads;	/* initialised */
	atomic_bool		 stopping;
	atomic_bool		 fatal;		/* the run cannot go on */
	struct ba_table		 tab;

	atomic_size_t		 joined;	/* workers registered */
	atomic_size_t		 started;	/* workloads START acknowledged */
	atomic_size_t		 completed;	/* COMPLETE acknowledged */
	atomic_long		 polls;
	atomic_long		 report_msgs;	/* REPORTS messages sent */
	atomic_long		 works;		/* WORK replies with assignments */
	atomic_long		 assigned;	/* assignments received */
	atomic_long		 dups;		/* copies of ones already taken */
	atomic_long		 fenced;	/* the coordinator said stop */
	atomic_long		 reregs;
	atomic_long		 heartbeats;
	atomic_long		 errors;	/* failed calls, timeouts too */
	atomic_long		 timeouts;	/* calls with no reply in time */
	/* The rules, checked by each worker as it takes an assignment. */
	atomic_long		 hard_taken;
	atomic_long		 hard_broken;	/* on a worker that fails them */
	atomic_long		 soft_taken;
	atomic_long		 soft_preferred; /* on a worker of its region */
	atomic_long		 anti_taken;
	atomic_long		 anti_shared;	/* with another of its type */
	pthread_mutex_t		 err_mu;
	char			 first_error[ERRBUF_LEN + 64];

	/* Submission. */
	char			*body;		/* --plain: a batch of BA_BATCH */
	char			*last_body;	/* the smaller last one, or NULL */
	size_t			 nbatches;
	size_t			 last_n;
	atomic_size_t		 next_batch;
	atomic_size_t		 submitted;
	atomic_long		 submit_retries;

	/* Closing the sockets (ba_fleet_stop). */
	pthread_t		 close_tid;
	bool			 closing;	/* close_tid runs or is unjoined */
	pthread_mutex_t		 close_mu;
	pthread_cond_t		 close_cv;
	bool			 closed;	/* close_tid is done */
};

/* One thread of niyantad, as /proc shows it. */
struct ba_cpu_thread {
	int		 tid;
	char		 name[32];
	uint64_t	 ticks;		/* utime + stime */
};

struct ba_cpu {
	struct ba_cpu_thread	*v;
	size_t			 n;
};

/* CPU time of the threads of one name between the two readings. */
struct ba_cpu_group {
	char		 name[32];
	size_t		 threads;
	double		 pct;		/* of one core */
};

/* What one run measured. */
struct ba_result {
	double			 up_s;		/* niyantad ready */
	double			 join_s;	/* every worker registered */
	size_t			 submitted;
	double			 submit_s;	/* first POST to last 201 */
	long			 submit_retries;
	size_t			 started;
	size_t			 completed;
	double			 window_s;	/* first POST to last START */
	double			 rate;		/* STARTs/s over the window */
	double			 steady_rate;	/* in the middle 80% */
	size_t			 nlat;
	double			 lat_p50, lat_p99, lat_max;	/* ms */
	double			 cpu_s;		/* between the CPU readings */
	double			 client_cpu_s;
	double			 coord_cpu_s;
	struct ba_cpu_group	*groups;
	size_t			 ngroups;
	bool			 complete;	/* every workload started */
	bool			 rules_kept;	/* no hard or anti rule broken */
	bool			 met;
};

static const char ba_synopsis[] =
"usage: niyanta-bench assign [--workers W] [--workloads N] [--slots S]\n"
"                            [--threads T] [--connections C] [--work-ms D]\n"
"                            [--niyantad PATH] [--coord-arg ARG]...\n"
"                            [--timeout S] [--stream] [--plain] [--json]\n";

static int
ba_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ba_usage(const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = bench_usage_fail("assign", ba_synopsis, BA_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

static void
ba_error(struct ba *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Counts an error of the run and keeps the first one's text. */
static void
ba_error(struct ba *b, const char *fmt, ...)
{
	va_list	 ap;

	if (atomic_fetch_add(&b->errors, 1) != 0)
		return;
	pthread_mutex_lock(&b->err_mu);
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof b->first_error, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&b->err_mu);
}

/* The first error's text into buf ("" if none). */
static void
ba_first_error(struct ba *b, char *buf, size_t len)
{
	pthread_mutex_lock(&b->err_mu);
	snprintf(buf, len, "%s", b->first_error);
	pthread_mutex_unlock(&b->err_mu);
}



static int
ba_u64_cmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}


/* ---------------------------------------------------------------- table */

static void
ba_table_init(struct ba_table *t, size_t n)
{
	size_t	 size = 1024, i;

	while (size < 2 * n)
		size *= 2;
	t->buckets = xcalloc(size, sizeof *t->buckets);
	t->mask = size - 1;
	for (i = 0; i < BA_STRIPES; i++)
		pthread_mutex_init(&t->locks[i], NULL);
}

static void
ba_table_fini(struct ba_table *t)
{
	struct ba_entry	*e, *next;
	size_t		 i;

	if (t->buckets == NULL)
		return;
	for (i = 0; i <= t->mask; i++)
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t->buckets);
	t->buckets = NULL;
	for (i = 0; i < BA_STRIPES; i++)
		pthread_mutex_destroy(&t->locks[i]);
}

static size_t
ba_table_bucket(const struct ba_table *t, const char *id)
{
	return str_hash(id) & t->mask;
}

/* The entry of id, made if absent.  Caller holds its stripe's lock. */
static struct ba_entry *
ba_table_get(struct ba_table *t, size_t bucket, const char *id)
{
	struct ba_entry	*e;

	for (e = t->buckets[bucket]; e != NULL; e = e->next)
		if (strcmp(e->id, id) == 0)
			return e;
	e = xcalloc(1, sizeof *e);
	snprintf(e->id, sizeof e->id, "%s", id);
	e->created_ms = -1;
	e->started_ms = -1;
	e->next = t->buckets[bucket];
	t->buckets[bucket] = e;
	return e;
}

static void
ba_table_created(struct ba_table *t, const char *id, int64_t created_ms,
    enum ba_kind kind, unsigned want)
{
	struct ba_entry	*e;
	size_t		 bk = ba_table_bucket(t, id);

	pthread_mutex_lock(&t->locks[bk % BA_STRIPES]);
	e = ba_table_get(t, bk, id);
	e->created_ms = created_ms;
	e->kind = (uint8_t)kind;
	e->want = (uint8_t)want;
	pthread_mutex_unlock(&t->locks[bk % BA_STRIPES]);
}

/* True if (id, attempt) is new: not taken yet, or a later attempt.  The
 * coordinator re-sends an assignment not acknowledged within 3 s, and a
 * worker must ignore the copy.  *kind and *want: what it asks of its
 * worker, as far as known. */
static bool
ba_table_claim(struct ba_table *t, const char *id, uint32_t attempt,
    enum ba_kind *kind, unsigned *want)
{
	struct ba_entry	*e;
	size_t		 bk = ba_table_bucket(t, id);
	bool		 fresh;

	pthread_mutex_lock(&t->locks[bk % BA_STRIPES]);
	e = ba_table_get(t, bk, id);
	fresh = !e->claimed || attempt > e->attempt;
	if (fresh) {
		e->claimed = true;
		e->attempt = attempt;
	}
	*kind = (enum ba_kind)e->kind;
	*want = e->want;
	pthread_mutex_unlock(&t->locks[bk % BA_STRIPES]);
	return fresh;
}

/* What id asks of its worker (BA_KIND_UNKNOWN if not known). */
static enum ba_kind
ba_table_kind(struct ba_table *t, const char *id)
{
	size_t		 bk = ba_table_bucket(t, id);
	enum ba_kind	 kind;

	pthread_mutex_lock(&t->locks[bk % BA_STRIPES]);
	kind = (enum ba_kind)ba_table_get(t, bk, id)->kind;
	pthread_mutex_unlock(&t->locks[bk % BA_STRIPES]);
	return kind;
}

/* Notes id's START acknowledged; true the first time. */
static bool
ba_table_started(struct ba_table *t, const char *id, int64_t wall_ms,
    uint64_t mono_us)
{
	struct ba_entry	*e;
	size_t		 bk = ba_table_bucket(t, id);
	bool		 first;

	pthread_mutex_lock(&t->locks[bk % BA_STRIPES]);
	e = ba_table_get(t, bk, id);
	first = !e->started;
	if (first) {
		e->started = true;
		e->started_ms = wall_ms;
		e->started_us = mono_us;
	}
	pthread_mutex_unlock(&t->locks[bk % BA_STRIPES]);
	return first;
}

/* ---------------------------------------------------------------- lanes */

static void
ba_thread_push(struct ba_thread *t, struct ba_lane *l)
{
	bool	 wake;

	pthread_mutex_lock(&t->mu);
	l->qnext = NULL;
	if (t->tail != NULL)
		t->tail->qnext = l;
	else
		t->head = l;
	t->tail = l;
	wake = t->waiting;
	t->waiting = false;
	pthread_mutex_unlock(&t->mu);
	if (wake)
		pthread_cond_signal(&t->cv);
}

/*
 * The aio callback, on one of nng's threads.  A request is a send then a
 * receive on the lane's context; everything else is the driver's.
 */
static void
ba_lane_cb(void *arg)
{
	struct ba_lane	*l = arg;
	nng_msg		*msg;
	int		 rv = nng_aio_result(l->aio);

	if (l->io == BA_IO_SEND) {
		if (rv != 0) {
			/* A failed send leaves the message with us. */
			if ((msg = nng_aio_get_msg(l->aio)) != NULL)
				nng_msg_free(msg);
			nng_aio_set_msg(l->aio, NULL);
		} else if (!atomic_load(&l->w->b->stopping)) {
			l->io = BA_IO_RECV;
			nng_aio_set_timeout(l->aio, (nng_duration)l->recv_ms);
			nng_ctx_recv(l->ctx, l->aio);
			return;
		} else {
			rv = NNG_ECANCELED;
		}
	} else if (l->io == BA_IO_RECV && rv == 0) {
		l->reply = nng_aio_get_msg(l->aio);
		nng_aio_set_msg(l->aio, NULL);
		l->reply_us = clock_mono_us();
		l->reply_ms = (int64_t)clock_wall_ms();
		/* Success without a message is an expiry nng misreported. */
		if (l->reply == NULL)
			rv = NNG_ETIMEDOUT;
	}
	l->result = rv;
	ba_thread_push(l->w->t, l);
}

static int
ba_lane_init(struct ba_lane *l, struct ba_worker *w, enum ba_lane_kind kind,
    struct errbuf *eb)
{
	int	 rv;

	memset(l, 0, sizeof *l);
	l->w = w;
	l->kind = kind;
	l->backoff_ms = BA_BACKOFF_MIN_MS;
	/* A job lane never sends: its reports travel on the report lane. */
	if (kind == BA_LANE_JOB)
		return 0;
	if ((rv = nng_aio_alloc(&l->aio, ba_lane_cb, l)) != 0)
		return err_setf(eb, ERR_NOMEM, "worker %s: aio: %s", w->id,
		    nng_strerror(rv));
	if ((rv = nng_ctx_open(&l->ctx, w->sock)) != 0)
		return err_setf(eb, ERR_NOMEM, "worker %s: context: %s", w->id,
		    nng_strerror(rv));
	l->ctx_open = true;
	return 0;
}

/* Sends req (stamped with the worker's id and generation) on l. */
static void
ba_lane_send(struct ba_lane *l, struct wmsg *req, unsigned timeout_ms)
{
	struct ba_worker	*w = l->w;
	nng_msg			*msg = NULL;
	void			*buf = NULL;
	size_t			 len = 0;

	req->worker_id = w->id;
	req->generation = w->generation;
	l->sent = req->type;
	l->gen = w->generation;
	l->recv_ms = timeout_ms;
	l->io = BA_IO_SEND;
	if (wmsg_encode(req, &buf, &len) != 0 || nng_msg_alloc(&msg, len) != 0) {
		/* Handled as a failed call: retried after a pause. */
		free(buf);
		l->result = NNG_ENOMEM;
		ba_thread_push(w->t, l);
		return;
	}
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	nng_aio_set_msg(l->aio, msg);
	nng_aio_set_timeout(l->aio, (nng_duration)timeout_ms);
	nng_ctx_send(l->ctx, l->aio);
}

static void
ba_timer_push(struct ba_thread *t, struct ba_lane *l, uint64_t due_us)
{
	struct ba_timer	 x;
	size_t		 i, up;

	if (t->ntimers == t->timers_cap) {
		t->timers_cap = t->timers_cap > 0 ? t->timers_cap * 2 : 256;
		t->timers = xrealloc(t->timers, t->timers_cap * sizeof *t->timers);
	}
	l->sleeping = true;
	x.due_us = due_us;
	x.seq = ++l->timer_seq;
	x.l = l;
	for (i = t->ntimers++; i > 0; i = up) {
		up = (i - 1) / 2;
		if (t->timers[up].due_us <= due_us)
			break;
		t->timers[i] = t->timers[up];
	}
	t->timers[i] = x;
}

static struct ba_timer
ba_timer_pop(struct ba_thread *t)
{
	struct ba_timer	 top = t->timers[0], last;
	size_t		 i = 0, c;

	last = t->timers[--t->ntimers];
	for (;;) {
		c = 2 * i + 1;
		if (c >= t->ntimers)
			break;
		if (c + 1 < t->ntimers && t->timers[c + 1].due_us <
		    t->timers[c].due_us)
			c++;
		if (last.due_us <= t->timers[c].due_us)
			break;
		t->timers[i] = t->timers[c];
		i = c;
	}
	if (t->ntimers > 0)
		t->timers[i] = last;
	return top;
}

/* Pauses l for ms; then its handler runs as for a finished pause. */
static void
ba_lane_sleep(struct ba_lane *l, uint64_t ms)
{
	l->sent = 0;
	ba_timer_push(l->w->t, l, clock_mono_us() + ms * 1000);
}

/* Pauses l for its backoff, and doubles the next one. */
static void
ba_lane_backoff(struct ba_lane *l)
{
	uint64_t	 ms = l->backoff_ms;

	l->backoff_ms = ms * 2 > BA_BACKOFF_MAX_MS ? BA_BACKOFF_MAX_MS : ms * 2;
	ba_lane_sleep(l, ms);
}

/* ---------------------------------------------------------------- workers */

static bool
ba_err_retryable(int err)
{
	return err == ERR_NOTLEADER || err == ERR_UNAVAIL || err == ERR_TIMEOUT ||
	    err == ERR_SHUTDOWN || err == ERR_NOMEM;
}

/* The coordinator does not know the registration l's request was sent
 * under: register again, unless that already happened since. */
static void
ba_worker_reregister(struct ba_worker *w, const struct ba_lane *l)
{
	if (w->need_register || l->gen != w->generation)
		return;
	w->need_register = true;
	atomic_fetch_add(&w->b->reregs, 1);
	/* Cut the control lane's pause or heartbeat short: it registers as
	 * soon as it comes back.  (A heartbeat already answered and queued
	 * is not cut: the cancel finds nothing to do.) */
	if (l == &w->control)
		return;
	if (w->control.sleeping)
		ba_timer_push(w->t, &w->control, 0);
	else
		nng_aio_cancel(w->control.aio);
}

/* Counts a failed call of w's, by what it got. */
static void
ba_worker_call_error(struct ba_worker *w, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	if (rc == ERR_TIMEOUT)
		atomic_fetch_add(&w->b->timeouts, 1);
	if (rc != 0)
		ba_error(w->b, "worker %s: %s: %s", w->id, wmsg_type_name(sent),
		    rc == ERR_TIMEOUT ? "no reply in time" : rc == ERR_PROTO ?
		    "undecodable reply" : "no coordinator reachable");
	else if (r->type == WMSG_ERROR)
		ba_error(w->b, "worker %s: %s refused: %s%s%s", w->id,
		    wmsg_type_name(sent), err_code_name(r->err),
		    r->message != NULL ? ": " : "",
		    r->message != NULL ? r->message : "");
	else
		ba_error(w->b, "worker %s: %s: unexpected %s reply", w->id,
		    wmsg_type_name(sent), wmsg_type_name(r->type));
}

/* True if r is a refusal that no retry will change. */
static bool
ba_reply_final(const struct wmsg *r)
{
	return r->type == WMSG_ERROR && !r->reregister &&
	    !ba_err_retryable(r->err);
}

static void
ba_worker_stops(struct ba_worker *w, const struct wmsg_attempt *v, size_t n)
{
	struct ba_lane	*l;
	size_t		 i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < w->njobs; j++) {
			l = &w->jobs[j];
			if (l->step == BA_STEP_WORK && l->attempt == v[i].attempt &&
			    strcmp(l->workload_id, v[i].workload_id) == 0)
				l->dropped = true;
		}
}

/* Sends the queued reports (up to WMSG_REPORTS_MAX) in one REPORTS
 * message, unless one is in flight: then they go when it is answered, as
 * niyanta-worker's executor threads combine theirs. */
static void
ba_reports_flush(struct ba_worker *w)
{
	struct ba_lane		*l = &w->reports, *j;
	struct wmsg_report	*reps;
	struct wmsg		 req;
	size_t			 n, i;

	if (w->rq_n == 0 || l->io != BA_IO_IDLE || l->sleeping || w->ranswering ||
	    atomic_load(&w->b->stopping))
		return;
	n = w->rq_n < WMSG_REPORTS_MAX ? w->rq_n : WMSG_REPORTS_MAX;
	reps = xcalloc(n, sizeof *reps);
	w->rsent = xrealloc(w->rsent, n * sizeof *w->rsent);
	for (i = 0; i < n; i++) {
		j = w->rq[i];
		w->rsent[i] = j;
		reps[i].type = j->report;
		memcpy(reps[i].workload_id, j->workload_id, sizeof reps[i].workload_id);
		reps[i].attempt = j->attempt;
		if (j->report == WMSG_COMPLETE) {
			reps[i].outcome = OUTCOME_SUCCEEDED;
			reps[i].result_json = "{}";
		}
	}
	w->rsent_n = n;
	memmove(w->rq, w->rq + n, (w->rq_n - n) * sizeof *w->rq);
	w->rq_n -= n;
	memset(&req, 0, sizeof req);
	req.type = WMSG_REPORTS;
	req.reports = reps;
	req.n_reports = n;
	atomic_fetch_add(&w->b->report_msgs, 1);
	ba_lane_send(l, &req, BA_CALL_MS);
	free(reps);
}

/* Job lane l is done with its workload, or about to report it done. */
static void
ba_worker_anti_release(struct ba_lane *l)
{
	struct ba_worker	*w = l->w;

	if (l->anti) {
		l->anti = false;
		w->anti_held--;
	}
}

/* Queues job lane l's START or COMPLETE for the next REPORTS. */
static void
ba_job_send(struct ba_lane *l, enum wmsg_type type)
{
	struct ba_worker	*w = l->w;

	if (type == WMSG_COMPLETE)
		ba_worker_anti_release(l);
	l->report = type;
	if (w->rq_n == w->rq_cap) {
		w->rq_cap = w->rq_cap > 0 ? w->rq_cap * 2 : 16;
		w->rq = xrealloc(w->rq, w->rq_cap * sizeof *w->rq);
	}
	w->rq[w->rq_n++] = l;
	ba_reports_flush(w);
}

/* Gives queued assignments to free job lanes: START each. */
static void
ba_worker_dispatch(struct ba_worker *w)
{
	struct wmsg_attempt	*a;
	struct ba_lane		*l;

	while (w->qlen > 0 && w->nfree > 0) {
		a = &w->queue[w->qhead];
		l = &w->jobs[w->free_jobs[--w->nfree]];
		memcpy(l->workload_id, a->workload_id, sizeof l->workload_id);
		l->attempt = a->attempt;
		l->dropped = false;
		l->anti = !w->b->o->plain && ba_table_kind(&w->b->tab,
		    a->workload_id) == BA_KIND_ANTI;
		l->backoff_ms = BA_BACKOFF_MIN_MS;
		l->step = BA_STEP_START;
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
		ba_job_send(l, WMSG_START);
	}
}

static void
ba_job_free(struct ba_lane *l)
{
	struct ba_worker	*w = l->w;

	ba_worker_anti_release(l);
	l->step = BA_STEP_FREE;
	w->free_jobs[w->nfree++] = (size_t)(l - w->jobs);
	ba_worker_dispatch(w);
}

static void
ba_worker_enqueue(struct ba_worker *w, const char *id, uint32_t attempt)
{
	struct wmsg_attempt	*q;
	size_t			 cap, i;

	if (w->qlen == w->qcap) {
		cap = w->qcap > 0 ? w->qcap * 2 : 64;
		q = xcalloc(cap, sizeof *q);
		for (i = 0; i < w->qlen; i++)
			q[i] = w->queue[(w->qhead + i) % w->qcap];
		free(w->queue);
		w->queue = q;
		w->qcap = cap;
		w->qhead = 0;
	}
	q = &w->queue[(w->qhead + w->qlen) % w->qcap];
	memcpy(q->workload_id, id, sizeof q->workload_id);
	q->attempt = attempt;
	w->qlen++;
}

/*
 * Counts an assignment of a workload of kind (and want) taken by w, and
 * whether w satisfies it.  An anti-affine workload is held from here until
 * its COMPLETE is queued (the coordinator may place the next one as soon
 * as it applies the COMPLETE, before this worker reads the answer), so a
 * second one taken meanwhile shared the worker.
 */
static void
ba_worker_rules_check(struct ba_worker *w, enum ba_kind kind, unsigned want)
{
	struct ba	*b = w->b;
	bool		 ok = true;

	switch (kind) {
	case BA_KIND_HARD_GPU:
		ok = w->gpu;
		break;
	case BA_KIND_HARD_REGION:
		ok = w->region == want;
		break;
	case BA_KIND_HARD_COMPLIANCE:
		ok = w->compliance == want;
		break;
	case BA_KIND_SOFT_REGION:
		atomic_fetch_add(&b->soft_taken, 1);
		if (w->region == want)
			atomic_fetch_add(&b->soft_preferred, 1);
		return;
	case BA_KIND_ANTI:
		atomic_fetch_add(&b->anti_taken, 1);
		if (++w->anti_held > 1) {
			atomic_fetch_add(&b->anti_shared, 1);
			fprintf(stderr, "%s: assign: worker %s took a second %s "
			    "workload while one ran there (anti-affinity)\n",
			    BENCH_PROG, w->id, BA_ANTI_TYPE);
		}
		return;
	default:
		return;
	}
	atomic_fetch_add(&b->hard_taken, 1);
	if (!ok) {
		atomic_fetch_add(&b->hard_broken, 1);
		fprintf(stderr, "%s: assign: worker %s took a workload whose "
		    "hard affinity it fails\n", BENCH_PROG, w->id);
	}
}

/* WORK: takes the new assignments and applies the stop notices. */
static void
ba_worker_work_take(struct ba_worker *w, const struct wmsg *r)
{
	struct ba	*b = w->b;
	enum ba_kind	 kind;
	unsigned	 want;
	size_t		 i;

	if (r->n_assignments > 0) {
		atomic_fetch_add(&b->works, 1);
		atomic_fetch_add(&b->assigned, (long)r->n_assignments);
	}
	for (i = 0; i < r->n_assignments; i++) {
		if (!ba_table_claim(&b->tab, r->assignments[i].workload_id,
		    r->assignments[i].attempt, &kind, &want)) {
			atomic_fetch_add(&b->dups, 1);
			continue;
		}
		ba_worker_rules_check(w, kind, want);
		ba_worker_enqueue(w, r->assignments[i].workload_id,
		    r->assignments[i].attempt);
	}
	ba_worker_stops(w, r->stop, r->n_stop);
	ba_worker_dispatch(w);
}

static void
ba_poll_send(struct ba_lane *l)
{
	struct wmsg	 req;

	memset(&req, 0, sizeof req);
	req.type = WMSG_POLL;
	req.wait_ms = l->w->poll_wait_ms;
	ba_lane_send(l, &req, l->w->poll_wait_ms + BA_POLL_SLACK_MS);
}

/* The attempts w holds, in lanes or queued, into req->running (the
 * caller frees it), as REGISTER and HEARTBEAT carry them. */
static void
ba_worker_running(const struct ba_worker *w, struct wmsg *req)
{
	size_t	 i, busy = w->njobs - w->nfree;

	req->running = NULL;
	req->n_running = 0;
	if (busy + w->qlen > 0)
		req->running = xcalloc(busy + w->qlen, sizeof *req->running);
	for (i = 0; i < w->njobs; i++) {
		if (w->jobs[i].step == BA_STEP_FREE)
			continue;
		memcpy(req->running[req->n_running].workload_id,
		    w->jobs[i].workload_id, sizeof req->running[0].workload_id);
		req->running[req->n_running++].attempt = w->jobs[i].attempt;
	}
	for (i = 0; i < w->qlen; i++)
		req->running[req->n_running++] =
		    w->queue[(w->qhead + i) % w->qcap];
	req->free_slots = (uint32_t)(w->njobs > busy + w->qlen ?
	    w->njobs - busy - w->qlen : 0);
}

/* A registration keeps what the worker still holds: the coordinator
 * requeues only what it does not list. */
static void
ba_register_send(struct ba_lane *l)
{
	struct ba_worker	*w = l->w;
	struct wmsg		 req;
	struct strlist		 caps;
	char			*cap_names[] = { "sleep", BA_ANTI_TYPE };

	memset(&req, 0, sizeof req);
	caps.v = cap_names;
	caps.n = 2;
	req.type = WMSG_REGISTER;
	req.token = w->b->token;
	req.tags = w->tags;			/* borrowed */
	req.capabilities = caps;
	req.capacity = (uint32_t)w->b->o->slots;
	req.version = "niyanta-bench";
	ba_worker_running(w, &req);
	ba_lane_send(l, &req, BA_CALL_MS);
	free(req.running);
}

static void
ba_heartbeat_send(struct ba_lane *l)
{
	struct wmsg	 req;

	memset(&req, 0, sizeof req);
	req.type = WMSG_HEARTBEAT;
	ba_worker_running(l->w, &req);
	ba_lane_send(l, &req, BA_CALL_MS);
	free(req.running);
}

/* REGISTER and HEARTBEAT, and the pauses between them. */
static void
ba_control_done(struct ba_lane *l, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	struct ba_worker	*w = l->w;
	struct ba		*b = w->b;
	bool			 failed = false;

	if (sent == WMSG_REGISTER) {
		if (rc == 0 && r->type == WMSG_REGISTERED) {
			w->generation = r->generation;
			w->heartbeat_ms = r->heartbeat_ms != 0 ? r->heartbeat_ms :
			    BA_DEFAULT_HEARTBEAT_MS;
			w->poll_wait_ms = r->wait_ms != 0 ? r->wait_ms :
			    BA_DEFAULT_POLL_WAIT_MS;
			w->need_register = false;
			l->backoff_ms = BA_BACKOFF_MIN_MS;
			if (!w->joined) {
				w->joined = true;
				atomic_fetch_add(&b->joined, 1);
			}
			if (w->poll_idle) {
				w->poll_idle = false;
				ba_poll_send(&w->poll);
			}
		} else {
			ba_worker_call_error(w, sent, rc, r);
			if (rc == 0 && r->type == WMSG_ERROR && r->err == ERR_AUTH) {
				/* The token is refused: nothing will change. */
				atomic_store(&b->fatal, true);
				return;
			}
			failed = true;
		}
	} else if (sent == WMSG_HEARTBEAT) {
		atomic_fetch_add(&b->heartbeats, 1);
		if (rc == 0 && r->type == WMSG_HEARTBEAT_ACK)
			ba_worker_stops(w, r->stop, r->n_stop);
		else if (rc == 0 && r->type == WMSG_ERROR && r->reregister)
			ba_worker_reregister(w, l);
		else if (rc != ERR_UNAVAIL || !w->need_register)
			ba_worker_call_error(w, sent, rc, r);
	}
	if (atomic_load(&b->stopping))
		return;
	if (w->need_register) {
		if (failed)
			ba_lane_backoff(l);
		else
			ba_register_send(l);
	} else if (sent == 0) {
		ba_heartbeat_send(l);
	} else {
		ba_lane_sleep(l, w->heartbeat_ms);
	}
}

/* The long poll: one in flight while the worker is registered. */
static void
ba_poll_done(struct ba_lane *l, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	struct ba_worker	*w = l->w;

	if (atomic_load(&w->b->stopping))
		return;
	if (sent == WMSG_POLL) {
		atomic_fetch_add(&w->b->polls, 1);
		if (rc == 0 && r->type == WMSG_WORK) {
			l->backoff_ms = BA_BACKOFF_MIN_MS;
			ba_worker_work_take(w, r);
		} else if (rc == 0 && r->type == WMSG_ERROR && r->reregister) {
			ba_worker_reregister(w, l);
		} else if (rc != ERR_TIMEOUT) {
			/* A timeout only means the poll was held too long. */
			ba_worker_call_error(w, sent, rc, r);
			ba_lane_backoff(l);
			return;
		}
	}
	if (w->need_register) {
		w->poll_idle = true;
		return;
	}
	ba_poll_send(l);
}

/* START, then COMPLETE (at once, or after --work-ms), then the next. */
static void
ba_job_done(struct ba_lane *l, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	struct ba_worker	*w = l->w;
	struct ba		*b = w->b;

	if (atomic_load(&b->stopping))
		return;
	switch (sent) {
	case WMSG_START:
		if (rc == 0 && r->type == WMSG_ACK && r->stop_attempt) {
			atomic_fetch_add(&b->fenced, 1);
			ba_job_free(l);
			return;
		}
		if (rc == 0 && r->type == WMSG_ACK) {
			if (ba_table_started(&b->tab, l->workload_id, l->reply_ms,
			    l->reply_us))
				atomic_fetch_add(&b->started, 1);
			l->backoff_ms = BA_BACKOFF_MIN_MS;
			if (b->o->work_ms > 0) {
				l->step = BA_STEP_WORK;
				ba_lane_sleep(l, (uint64_t)b->o->work_ms);
			} else {
				l->step = BA_STEP_COMPLETE;
				ba_job_send(l, WMSG_COMPLETE);
			}
			return;
		}
		break;
	case WMSG_COMPLETE:
		if (rc == 0 && r->type == WMSG_ACK) {
			atomic_fetch_add(&b->completed, 1);
			ba_job_free(l);
			return;
		}
		break;
	default:
		/* A pause ended: the work is done, or a retry is due. */
		if (l->step == BA_STEP_WORK && l->dropped) {
			atomic_fetch_add(&b->fenced, 1);
			ba_job_free(l);
			return;
		}
		if (l->step == BA_STEP_WORK)
			l->step = BA_STEP_COMPLETE;
		ba_job_send(l, l->step == BA_STEP_START ? WMSG_START :
		    WMSG_COMPLETE);
		return;
	}
	/* The call failed. */
	if (rc == 0 && ba_reply_final(r)) {
		/* Fenced or refused: the attempt is not ours any more. */
		atomic_fetch_add(&b->fenced, 1);
		ba_job_free(l);
		return;
	}
	if (rc == 0 && r->type == WMSG_ERROR && r->reregister)
		ba_worker_reregister(w, l);
	else
		ba_worker_call_error(w, sent, rc, r);
	ba_lane_backoff(l);
}

static void ba_job_done(struct ba_lane *, enum wmsg_type, int, const struct wmsg *);

/* A REPORTS call finished: each job lane in it gets the answer its own
 * START or COMPLETE would have had (ACK with its stop flag, or the error),
 * then the reports queued meanwhile go out. */
static void
ba_reports_done(struct ba_lane *l, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	struct ba_worker	*w = l->w;
	struct ba_lane		*j;
	struct wmsg		 one;
	size_t			 i;

	if (sent == 0 || atomic_load(&w->b->stopping)) {
		ba_reports_flush(w);	/* a pause ended */
		return;
	}
	w->ranswering = true;
	for (i = 0; i < w->rsent_n; i++) {
		j = w->rsent[i];
		j->reply_ms = l->reply_ms;
		j->reply_us = l->reply_us;
		j->gen = l->gen;
		memset(&one, 0, sizeof one);
		if (rc == 0 && r->type == WMSG_REPORTS_ACK) {
			one.type = WMSG_ACK;
			one.stop_attempt = wmsg_attempts_contain(r->stop, r->n_stop,
			    j->workload_id, j->attempt);
		} else if (rc == 0) {
			one = *r;	/* the ERROR (or an unexpected reply), borrowed */
		}
		ba_job_done(j, j->report, rc, &one);
	}
	w->rsent_n = 0;
	w->ranswering = false;
	ba_reports_flush(w);
}

/* Runs l's handler: sent is the request that finished with rc and r, or
 * 0 for a pause that ended. */
static void
ba_lane_done(struct ba_lane *l, enum wmsg_type sent, int rc,
    const struct wmsg *r)
{
	switch (l->kind) {
	case BA_LANE_CONTROL:
		ba_control_done(l, sent, rc, r);
		break;
	case BA_LANE_POLL:
		ba_poll_done(l, sent, rc, r);
		break;
	case BA_LANE_JOB:
		ba_job_done(l, sent, rc, r);
		break;
	case BA_LANE_REPORT:
		ba_reports_done(l, sent, rc, r);
		break;
	}
}

/* Driver thread: one lane whose request finished. */
static void
ba_lane_handle(struct ba_lane *l)
{
	struct wmsg	 r;
	enum wmsg_type	 sent = l->sent;
	bool		 decoded;
	int		 rc;

	memset(&r, 0, sizeof r);
	if (l->result == NNG_ETIMEDOUT)
		rc = ERR_TIMEOUT;
	else if (l->result != 0)
		rc = ERR_UNAVAIL;
	else if (wmsg_decode(nng_msg_body(l->reply), nng_msg_len(l->reply),
	    &r) != 0)
		rc = ERR_PROTO;
	else
		rc = 0;
	decoded = rc == 0;
	if (l->reply != NULL) {
		nng_msg_free(l->reply);
		l->reply = NULL;
	}
	l->io = BA_IO_IDLE;
	l->sent = 0;
	ba_lane_done(l, sent, rc, &r);
	if (decoded)
		wmsg_fini(&r);
}

/* Driver thread: the timers that are due. */
static void
ba_timers_run(struct ba_thread *t)
{
	struct ba_timer	 x;
	struct wmsg	 none;
	uint64_t	 now = clock_mono_us();

	memset(&none, 0, sizeof none);
	while (t->ntimers > 0 && t->timers[0].due_us <= now &&
	    !atomic_load(&t->b->stopping)) {
		x = ba_timer_pop(t);
		if (!x.l->sleeping || x.seq != x.l->timer_seq)
			continue;		/* cut short earlier */
		x.l->sleeping = false;
		ba_lane_done(x.l, 0, 0, &none);
	}
}

/* Timed waits are on the monotonic clock, as the timers are. */
static void
ba_thread_wait(struct ba_thread *t)
{
	struct timespec	 ts;
	uint64_t	 due;

	t->waiting = true;
	if (t->ntimers == 0) {
		pthread_cond_wait(&t->cv, &t->mu);
		return;
	}
	due = t->timers[0].due_us;
	ts.tv_sec = (time_t)(due / 1000000);
	ts.tv_nsec = (long)(due % 1000000) * 1000;
	pthread_cond_timedwait(&t->cv, &t->mu, &ts);
}

/*
 * A driver: handles the lanes nng finished and the timers that fell due,
 * until the fleet stops.  Handling may start a lane again, and its callback
 * may queue it before this loop moves on, hence next is read first.
 */
static void *
ba_thread_main(void *arg)
{
	struct ba_thread	*t = arg;
	struct ba_lane		*l, *next;

	pthread_mutex_lock(&t->mu);
	while (!atomic_load(&t->b->stopping)) {
		if (t->head == NULL) {
			if (t->ntimers > 0 && t->timers[0].due_us <= clock_mono_us()) {
				pthread_mutex_unlock(&t->mu);
				ba_timers_run(t);
				pthread_mutex_lock(&t->mu);
			} else {
				ba_thread_wait(t);
			}
			continue;
		}
		l = t->head;
		t->head = t->tail = NULL;
		pthread_mutex_unlock(&t->mu);
		for (; l != NULL; l = next) {
			next = l->qnext;
			l->qnext = NULL;
			ba_lane_handle(l);
		}
		ba_timers_run(t);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* ---------------------------------------------------------------- fleet */

static int
ba_worker_open(struct ba *b, size_t i, struct errbuf *eb)
{
	struct ba_worker	*w = &b->workers[i];
	char			 zone[32];
	size_t			 k;
	int			 rv, rc;

	w->b = b;
	w->t = &b->threads[i % b->nthreads];
	w->heartbeat_ms = BA_DEFAULT_HEARTBEAT_MS;
	w->poll_wait_ms = BA_DEFAULT_POLL_WAIT_MS;
	w->need_register = true;
	w->poll_idle = true;
	snprintf(w->id, sizeof w->id, "bench-a%zu", i + 1);
	/* Exactly a tenth gpu=true (every tenth), five regions and three
	 * compliance classes in turn (every pair of the two, as 5 and 3 are
	 * coprime). */
	w->gpu = i % 10 == 9;
	w->region = (uint8_t)(i % BA_N_REGIONS);
	w->compliance = (uint8_t)(i % BA_N_COMPLIANCE);
	snprintf(zone, sizeof zone, "%s-%c", ba_regions[w->region],
	    (int)('a' + (i / BA_N_REGIONS) % 3));
	if (tagset_set(&w->tags, "gpu", w->gpu ? "true" : "false") != 0 ||
	    tagset_set(&w->tags, "region", ba_regions[w->region]) != 0 ||
	    tagset_set(&w->tags, "zone", zone) != 0 ||
	    tagset_set(&w->tags, "compliance",
	    ba_compliance[w->compliance]) != 0)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	if ((rv = nng_req0_open(&w->sock)) != 0)
		return err_setf(eb, ERR_INTERNAL, "worker %s: req0 socket: %s",
		    w->id, nng_strerror(rv));
	w->sock_open = true;
	if ((rv = nng_socket_set_ms(w->sock, NNG_OPT_REQ_RESENDTIME,
	    BA_RESEND_MS)) != 0 ||
	    (rv = nng_socket_set_size(w->sock, NNG_OPT_RECVMAXSZ,
	    BA_MSG_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMINT,
	    BA_RECONN_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMAXT,
	    BA_RECONN_MAX_MS)) != 0)
		return err_setf(eb, ERR_INTERNAL, "worker %s: socket option: %s",
		    w->id, nng_strerror(rv));
	if ((rv = nng_dial(w->sock, b->url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		return err_setf(eb, ERR_IO, "worker %s: dial %s: %s", w->id,
		    b->url, nng_strerror(rv));
	if ((rc = ba_lane_init(&w->control, w, BA_LANE_CONTROL, eb)) != 0 ||
	    (rc = ba_lane_init(&w->poll, w, BA_LANE_POLL, eb)) != 0 ||
	    (rc = ba_lane_init(&w->reports, w, BA_LANE_REPORT, eb)) != 0)
		return rc;
	w->jobs = xcalloc((size_t)b->o->slots, sizeof *w->jobs);
	w->free_jobs = xcalloc((size_t)b->o->slots, sizeof *w->free_jobs);
	for (k = 0; k < (size_t)b->o->slots; k++) {
		if ((rc = ba_lane_init(&w->jobs[k], w, BA_LANE_JOB, eb)) != 0)
			return rc;
		w->njobs++;
		/* Popped from the end: lane 0 first. */
		w->free_jobs[(size_t)b->o->slots - 1 - k] = k;
	}
	w->nfree = w->njobs;
	return 0;
}

static void
ba_lane_fini(struct ba_lane *l)
{
	if (l->reply != NULL) {
		nng_msg_free(l->reply);
		l->reply = NULL;
	}
	if (l->aio != NULL) {
		nng_aio_free(l->aio);
		l->aio = NULL;
	}
}

/* The lanes of w, one by one. */
static struct ba_lane *
ba_worker_lane(struct ba_worker *w, size_t k)
{
	if (k == 0)
		return &w->control;
	if (k == 1)
		return &w->poll;
	if (k == 2)
		return &w->reports;
	return k - 3 < w->njobs ? &w->jobs[k - 3] : NULL;
}

static void *
ba_close_main(void *arg)
{
	struct ba	*b = arg;
	size_t		 i;

	for (i = 0; i < b->nworkers; i++)
		if (b->workers[i].sock_open) {
			nng_close(b->workers[i].sock);
			b->workers[i].sock_open = false;
		}
	pthread_mutex_lock(&b->close_mu);
	b->closed = true;
	pthread_cond_signal(&b->close_cv);
	pthread_mutex_unlock(&b->close_mu);
	return NULL;
}

/* Waits up to ms for the closing thread; true once it is done (joined). */
static bool
ba_sockets_wait(struct ba *b, unsigned ms)
{
	struct timespec	 ts;
	uint64_t	 due = clock_mono_us() + (uint64_t)ms * 1000;
	bool		 done;

	if (!b->closing)
		return true;
	ts.tv_sec = (time_t)(due / 1000000);
	ts.tv_nsec = (long)(due % 1000000) * 1000;
	pthread_mutex_lock(&b->close_mu);
	while (!b->closed && pthread_cond_timedwait(&b->close_cv,
	    &b->close_mu, &ts) != ETIMEDOUT)
		;
	done = b->closed;
	pthread_mutex_unlock(&b->close_mu);
	if (!done)
		return false;
	pthread_join(b->close_tid, NULL);
	pthread_cond_destroy(&b->close_cv);
	pthread_mutex_destroy(&b->close_mu);
	b->closing = false;
	return true;
}

/*
 * Stops the fleet: the drivers first (nothing new is sent), then every
 * context (its request is abandoned) and aio (its callback has finished),
 * then the sockets, on a thread of their own.  nng 1.5.2's nng_close waits
 * for its connections to drain, which never happens while a coordinator
 * that stopped reading holds them (seen after a run left thousands of
 * requests unanswered); so this waits at most BA_CLOSE_MS, and false means
 * the caller should stop niyantad and then call ba_fleet_free.  Accepts a
 * half-built fleet.
 */
static bool
ba_fleet_stop(struct ba *b)
{
	pthread_condattr_t	 ca;
	struct ba_lane		*l;
	size_t			 i, k;

	atomic_store(&b->stopping, true);
	for (i = 0; i < b->nthreads; i++) {
		pthread_mutex_lock(&b->threads[i].mu);
		pthread_cond_broadcast(&b->threads[i].cv);
		pthread_mutex_unlock(&b->threads[i].mu);
		if (b->threads[i].started)
			pthread_join(b->threads[i].tid, NULL);
		b->threads[i].started = false;
	}
	for (i = 0; i < b->nworkers; i++)
		for (k = 0; (l = ba_worker_lane(&b->workers[i], k)) != NULL; k++)
			if (l->ctx_open) {
				nng_ctx_close(l->ctx);
				l->ctx_open = false;
			}
	for (i = 0; i < b->nworkers; i++)
		for (k = 0; (l = ba_worker_lane(&b->workers[i], k)) != NULL; k++)
			if (l->aio != NULL)
				nng_aio_stop(l->aio);
	pthread_mutex_init(&b->close_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->close_cv, &ca);
	pthread_condattr_destroy(&ca);
	b->closing = true;
	if (pthread_create(&b->close_tid, NULL, ba_close_main, b) != 0) {
		b->closing = false;
		ba_close_main(b);
		pthread_cond_destroy(&b->close_cv);
		pthread_mutex_destroy(&b->close_mu);
		return true;
	}
	return ba_sockets_wait(b, BA_CLOSE_MS);
}

/* Waits (up to BA_CLOSE_MS more) for the sockets to close, then frees the
 * fleet.  False if they are still not closed: nothing is freed then, and
 * nng must not be finalised. */
static bool
ba_fleet_free(struct ba *b)
{
	struct ba_worker	*w;
	struct ba_lane		*l;
	size_t			 i, k;

	if (!ba_sockets_wait(b, BA_CLOSE_MS))
		return false;
	/* Every callback is done: the queues and replies are ours now. */
	for (i = 0; i < b->nworkers; i++) {
		w = &b->workers[i];
		for (k = 0; (l = ba_worker_lane(w, k)) != NULL; k++)
			ba_lane_fini(l);
		free(w->jobs);
		free(w->free_jobs);
		free(w->queue);
		free(w->rq);
		free(w->rsent);
		tagset_fini(&w->tags);
	}
	for (i = 0; i < b->nthreads; i++) {
		pthread_cond_destroy(&b->threads[i].cv);
		pthread_mutex_destroy(&b->threads[i].mu);
		free(b->threads[i].timers);
	}
	free(b->workers);
	free(b->threads);
	b->workers = NULL;
	b->threads = NULL;
	b->nworkers = b->nthreads = 0;
	return true;
}

/*
 * Opens W sockets (dialing in the background), their lanes and the driver
 * threads, then starts every worker's registration.  On failure the caller
 * still calls ba_fleet_stop and ba_fleet_free.
 */
static int
ba_fleet_open(struct ba *b, struct errbuf *eb)
{
	const struct ba_opts	*o = b->o;
	struct ba_worker	*w;
	pthread_condattr_t	 ca;
	size_t			 i;
	int			 rc;


	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	b->threads = xcalloc((size_t)o->threads, sizeof *b->threads);
	for (i = 0; i < (size_t)o->threads; i++) {
		b->threads[i].b = b;
		pthread_mutex_init(&b->threads[i].mu, NULL);
		pthread_cond_init(&b->threads[i].cv, &ca);
		b->nthreads++;
	}
	pthread_condattr_destroy(&ca);
	b->workers = xcalloc((size_t)o->workers, sizeof *b->workers);
	for (i = 0; i < (size_t)o->workers; i++) {
		b->nworkers++;
		if ((rc = ba_worker_open(b, i, eb)) != 0)
			return rc;
	}
	/* Each control lane begins as if a pause had ended: it registers.
	 * The timers are set before the drivers run: they own them after. */
	for (i = 0; i < b->nworkers; i++) {
		w = &b->workers[i];
		ba_timer_push(w->t, &w->control, 0);
	}
	for (i = 0; i < b->nthreads; i++) {
		if ((rc = pthread_create(&b->threads[i].tid, NULL, ba_thread_main,
		    &b->threads[i])) != 0)
			return err_setf(eb, ERR_INTERNAL, "cannot start a driver "
			    "thread: %s", strerror(rc));
		b->threads[i].started = true;
	}
	return 0;
}

/* ---------------------------------------------------------------- submit */

/* A batch of n sleeps of 0 ms; dies on OOM. */
static char *
ba_batch_body(size_t n)
{
	char	*text;

	if ((text = bench_batch_body("{\"workload_type\":\"sleep\","
	    "\"input_params\":{\"duration_ms\":0}}", n)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
		exit(1);
	}
	return text;
}

/* What the i-th workload submitted asks of its worker; *want is its
 * region or compliance index. */
static enum ba_kind
ba_mix_kind(const struct ba_opts *o, size_t i, unsigned *want)
{
	*want = 0;
	if (o->plain)
		return BA_KIND_PLAIN;
	switch (i % 10) {
	case 0:
		return BA_KIND_HARD_GPU;
	case 1:
		*want = (unsigned)((i / 10) % BA_N_REGIONS);
		return BA_KIND_HARD_REGION;
	case 2:
		*want = (unsigned)((i / 10) % 2);	/* pci or hipaa */
		return BA_KIND_HARD_COMPLIANCE;
	case 3: case 4: case 5: case 6:
		*want = (unsigned)((i / 10 + i % 10) % BA_N_REGIONS);
		return BA_KIND_SOFT_REGION;
	case 7:
		return BA_KIND_ANTI;
	default:
		return BA_KIND_PLAIN;
	}
}

/* The batch of the n workloads from the first-th on, in the --mix
 * shapes; dies on OOM. */
static char *
ba_mix_body(const struct ba_opts *o, size_t first, size_t n)
{
	size_t		 cap = 32 + n * 256, len = 0, i;
	unsigned	 want;
	char		*text = xcalloc(cap, 1);
	const char	*sleep = "\"workload_type\":\"sleep\","
	    "\"input_params\":{\"duration_ms\":0}";
	const char	*part, *tag, *value;
	enum ba_kind	 kind;
	int		 k;

	len += (size_t)snprintf(text, cap, "{\"workloads\":[");
	for (i = 0; i < n; i++) {
		/* The tag rules differ only in kind, tag and value. */
		kind = ba_mix_kind(o, first + i, &want);
		part = kind == BA_KIND_SOFT_REGION ? "soft_affinity" :
		    "hard_affinity";
		tag = value = NULL;
		if (kind == BA_KIND_HARD_GPU) {
			tag = "gpu";
			value = "true";
		} else if (kind == BA_KIND_HARD_REGION ||
		    kind == BA_KIND_SOFT_REGION) {
			tag = "region";
			value = ba_regions[want];
		} else if (kind == BA_KIND_HARD_COMPLIANCE) {
			tag = "compliance";
			value = ba_compliance[want];
		}
		if (tag != NULL)
			k = snprintf(text + len, cap - len, "{%s,\"affinity_rules\":"
			    "{\"%s\":{\"worker_tags\":{\"%s\":\"%s\"}}}}", sleep,
			    part, tag, value);
		else if (kind == BA_KIND_ANTI)
			k = snprintf(text + len, cap - len, "{\"workload_type\":"
			    "\"%s\",\"input_params\":{\"argv\":[\"true\"]},"
			    "\"affinity_rules\":{\"anti_affinity\":"
			    "{\"workload_types\":[\"%s\"]}}}", BA_ANTI_TYPE,
			    BA_ANTI_TYPE);
		else
			k = snprintf(text + len, cap - len, "{%s}", sleep);
		len += (size_t)k;
		if (i + 1 < n)
			text[len++] = ',';
	}
	snprintf(text + len, cap - len, "]}");
	return text;
}

/* Notes the ids, created_at and kinds of a 201 reply to a batch of the n
 * workloads from the first-th on. */
static int
ba_submit_reply(struct ba *b, const struct http_response *resp, size_t first,
    size_t n, struct errbuf *eb)
{
	enum ba_kind	 kind;
	unsigned	 want;
	json_t		*root, *arr, *v;
	const char	*id;
	int64_t		 created;
	size_t		 i;
	int		 rc = 0;

	if ((root = json_loadb(resp->body, resp->len, 0, NULL)) == NULL)
		return err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: the "
		    "reply is not JSON");
	arr = json_object_get(root, "workloads");
	if (json_array_size(arr) != n)
		rc = err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: sent %zu "
		    "workloads, the reply lists %zu", n, json_array_size(arr));
	json_array_foreach(arr, i, v) {
		if (rc != 0)
			break;
		id = json_string_value(json_object_get(v, "id"));
		if (id == NULL || strlen(id) != WMSG_ID_LEN) {
			rc = err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: a "
			    "reply item has no usable id");
			break;
		}
		if (!bench_rfc3339_parse(json_string_value(json_object_get(v,
		    "created_at")), &created))
			created = -1;
		kind = ba_mix_kind(b->o, first + i, &want);
		ba_table_created(&b->tab, id, created, kind, want);
	}
	json_decref(root);
	return rc;
}

/* POSTs one batch until it is taken; 429 and 503 are waited out. */
static int
ba_submit_one(struct ba_submitter *s, const char *body, size_t first,
    size_t n, struct errbuf *eb)
{
	struct ba		*b = s->b;
	struct http_response	 resp = { 0 };
	struct errbuf		 teb;
	json_t			*root, *err;
	const char		*ra, *code, *msg;
	long long		 secs;
	unsigned		 ms;
	int			 rc;

	for (;;) {
		if (atomic_load(&b->stopping) || atomic_load(&b->fatal))
			return err_setf(eb, ERR_SHUTDOWN, "stopped");
		errbuf_clear(&teb);
		if ((rc = http_client_request(s->http, "POST",
		    "/v1/workloads/batch", body, &resp, &teb)) != 0) {
			http_response_fini(&resp);
			return err_setf(eb, rc, "POST /v1/workloads/batch: %s",
			    teb.msg);
		}
		if (resp.status == 201) {
			rc = ba_submit_reply(b, &resp, first, n, eb);
			http_response_fini(&resp);
			return rc;
		}
		if (resp.status == 429 || resp.status == 503) {
			/* Backpressure is part of "as fast as it takes them". */
			atomic_fetch_add(&b->submit_retries, 1);
			ra = http_response_header(&resp, "Retry-After");
			if (ra == NULL || !str_parse_ll(ra, 0, 3600, &secs))
				secs = 1;
			http_response_fini(&resp);
			ms = secs * 1000 > BA_RETRY_AFTER_MAX_MS ?
			    BA_RETRY_AFTER_MAX_MS : (unsigned)secs * 1000;
			bench_sleep_ms(ms > 0 ? ms : 1);
			continue;
		}
		root = json_loadb(resp.body, resp.len, 0, NULL);
		err = json_object_get(root, "error");
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
		rc = err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: HTTP %ld "
		    "%s%s%s", resp.status, code != NULL ? code : "",
		    msg != NULL ? ": " : "", msg != NULL ? msg : "");
		json_decref(root);
		http_response_fini(&resp);
		return rc;
	}
}

static void *
ba_submit_main(void *arg)
{
	struct ba_submitter	*s = arg;
	struct ba		*b = s->b;
	struct errbuf		 eb;
	char			*mixed;
	size_t			 k, n;
	int			 rc;

	for (;;) {
		k = atomic_fetch_add(&b->next_batch, 1);
		if (k >= b->nbatches)
			break;
		n = k == b->nbatches - 1 && b->last_n > 0 ? b->last_n : BA_BATCH;
		errbuf_clear(&eb);
		if (b->o->plain) {
			rc = ba_submit_one(s, n == BA_BATCH ? b->body :
			    b->last_body, k * BA_BATCH, n, &eb);
		} else {
			mixed = ba_mix_body(b->o, k * BA_BATCH, n);
			rc = ba_submit_one(s, mixed, k * BA_BATCH, n, &eb);
			free(mixed);
		}
		if (rc != 0) {
			if (eb.code != ERR_SHUTDOWN) {
				ba_error(b, "%s", eb.msg);
				atomic_store(&b->fatal, true);
			}
			break;
		}
		atomic_fetch_add(&b->submitted, n);
		s->done_us = clock_mono_us();
	}
	return NULL;
}

/* ---------------------------------------------------------------- CPU */

/* niyantad's pid: our child called niyantad (0 if none is found). */
static pid_t
ba_coord_pid(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], buf[512], *p;
	long long	 pid, ppid;
	pid_t		 found = 0;
	FILE		*fp;
	size_t		 n;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (found == 0 && (de = readdir(d)) != NULL) {
		if (!str_parse_ll(de->d_name, 1, INT_MAX, &pid))
			continue;
		snprintf(path, sizeof path, "/proc/%lld/stat", pid);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		if (strstr(buf, "(niyantad)") == NULL ||
		    (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %lld", &ppid) != 1)
			continue;
		if (ppid == (long long)getpid())
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/* Each thread of pid with its name and CPU ticks so far. */
static void
ba_cpu_read(pid_t pid, struct ba_cpu *out)
{
	DIR			*d;
	struct dirent		*de;
	struct ba_cpu_thread	*t;
	char			 path[96], buf[1024], *lp, *rp;
	unsigned long long	 ut, st;
	long long		 tid;
	size_t			 n, cap = 0;
	FILE			*fp;

	out->v = NULL;
	out->n = 0;
	if (pid <= 0)
		return;
	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!str_parse_ll(de->d_name, 1, INT_MAX, &tid))
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%lld/stat", (long)pid,
		    tid);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		/* "tid (name) state ppid ... utime stime": the name may hold
		 * anything, so it runs to the last ')'; utime is the 12th
		 * field after it. */
		if ((lp = strchr(buf, '(')) == NULL ||
		    (rp = strrchr(buf, ')')) == NULL || rp < lp ||
		    sscanf(rp + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu", &ut, &st) != 2)
			continue;
		if (out->n == cap) {
			cap = cap > 0 ? cap * 2 : 64;
			out->v = xrealloc(out->v, cap * sizeof *out->v);
		}
		t = &out->v[out->n++];
		t->tid = (int)tid;
		n = (size_t)(rp - lp - 1);
		if (n >= sizeof t->name)
			n = sizeof t->name - 1;
		memcpy(t->name, lp + 1, n);
		t->name[n] = '\0';
		t->ticks = (uint64_t)ut + (uint64_t)st;
	}
	closedir(d);
}

static int
ba_cpu_group_cmp(const void *a, const void *b)
{
	double	 x = ((const struct ba_cpu_group *)a)->pct;
	double	 y = ((const struct ba_cpu_group *)b)->pct;

	return x > y ? -1 : x < y;
}

/* Sums each name's threads' CPU between two readings into res->groups,
 * as % of one core over secs, largest first, and the whole into
 * res->coord_cpu_s.  A thread that ended in between is not counted. */
static void
ba_cpu_groups(const struct ba_cpu *t0, const struct ba_cpu *t1, double secs,
    struct ba_result *res)
{
	struct ba_cpu_group	*g;
	double			 tck = (double)sysconf(_SC_CLK_TCK);
	uint64_t		 before, d;
	size_t			 i, j;

	res->groups = NULL;
	res->ngroups = 0;
	res->coord_cpu_s = 0;
	if (t1->n == 0 || secs <= 0 || tck <= 0)
		return;
	res->groups = xcalloc(t1->n, sizeof *res->groups);
	for (i = 0; i < t1->n; i++) {
		before = 0;
		for (j = 0; j < t0->n; j++)
			if (t0->v[j].tid == t1->v[i].tid) {
				before = t0->v[j].ticks;
				break;
			}
		d = t1->v[i].ticks > before ? t1->v[i].ticks - before : 0;
		res->coord_cpu_s += (double)d / tck;
		for (j = 0; j < res->ngroups; j++)
			if (strcmp(res->groups[j].name, t1->v[i].name) == 0)
				break;
		g = &res->groups[j];
		if (j == res->ngroups) {
			snprintf(g->name, sizeof g->name, "%s", t1->v[i].name);
			res->ngroups++;
		}
		g->threads++;
		g->pct += (double)d / tck / secs * 100.0;
	}
	qsort(res->groups, res->ngroups, sizeof *res->groups, ba_cpu_group_cmp);
}

static double
ba_self_cpu_s(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- run */

/* The worker endpoint's URL, from niyantad's STARTED log line ("..., workers
 * tcp://127.0.0.1:P, raft ..."): the cluster chose the port. */
static int
ba_worker_url(struct bench_cluster *cl, char **out, struct errbuf *eb)
{
	char		 path[PATH_MAX], line[2048], *p, *e;
	double		 deadline = bench_now_s() + BA_LOG_WAIT_S;
	FILE		*fp;

	*out = NULL;
	if (snprintf(path, sizeof path, "%s/niyantad.log",
	    bench_cluster_dir(cl)) >= (int)sizeof path)
		return err_setf(eb, ERR_INVAL, "the cluster's path is too long");
	for (;;) {
		if ((fp = fopen(path, "r")) != NULL) {
			while (*out == NULL && fgets(line, sizeof line, fp) != NULL) {
				if (strstr(line, "STARTED") == NULL ||
				    (p = strstr(line, ", workers ")) == NULL)
					continue;
				p += strlen(", workers ");
				if ((e = strstr(p, ", raft ")) == NULL || e == p)
					continue;
				*out = strndup(p, (size_t)(e - p));
				if (*out == NULL) {
					fclose(fp);
					return err_setf(eb, ERR_NOMEM,
					    "out of memory");
				}
			}
			fclose(fp);
		}
		if (*out != NULL)
			return 0;
		if (bench_now_s() >= deadline)
			return err_setf(eb, ERR_PROTO, "%s has no STARTED line "
			    "naming the worker endpoint", path);
		bench_sleep_ms(50);
	}
}

/* Raises the open-file limit (inherited by niyantad) to fit W sockets. */
static int
ba_fd_limit(long long workers, struct errbuf *eb)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)workers + BA_FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return err_setf(eb, ERR_IO, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return err_setf(eb, ERR_INVAL, "%lld workers need %llu open "
		    "files; the hard limit is %llu (ulimit -Hn)", workers,
		    (unsigned long long)want, (unsigned long long)rl.rlim_max);
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return err_setf(eb, ERR_IO, "setrlimit: %s", strerror(errno));
	return 0;
}

/* Figures from the table once the run is over. */
static void
ba_results(struct ba *b, uint64_t t0_us, struct ba_result *res)
{
	struct ba_entry	*e;
	uint64_t	*at;
	double		*lat;
	size_t		 i, n = 0, nl = 0, i10, i90;

	at = xcalloc(b->o->workloads > 0 ? (size_t)b->o->workloads : 1,
	    sizeof *at);
	lat = xcalloc(b->o->workloads > 0 ? (size_t)b->o->workloads : 1,
	    sizeof *lat);
	for (i = 0; i <= b->tab.mask; i++)
		for (e = b->tab.buckets[i]; e != NULL; e = e->next) {
			if (!e->started || n >= (size_t)b->o->workloads)
				continue;
			at[n++] = e->started_us;
			if (e->created_ms >= 0 && e->started_ms >= 0)
				lat[nl++] = (double)(e->started_ms - e->created_ms);
		}
	qsort(at, n, sizeof *at, ba_u64_cmp);
	bench_sort_doubles(lat, nl);
	res->started = n;
	res->window_s = n > 0 && at[n - 1] > t0_us ?
	    (double)(at[n - 1] - t0_us) / 1e6 : 0;
	res->rate = res->window_s > 0 ? (double)n / res->window_s : 0;
	res->steady_rate = res->rate;
	if (n >= 10) {
		i10 = n / 10;
		i90 = n - n / 10 - 1;
		if (at[i90] > at[i10])
			res->steady_rate = (double)(i90 - i10) /
			    ((double)(at[i90] - at[i10]) / 1e6);
	}
	res->nlat = nl;
	res->lat_p50 = bench_percentile(lat, nl, 50);
	res->lat_p99 = bench_percentile(lat, nl, 99);
	res->lat_max = nl > 0 ? lat[nl - 1] : 0;
	free(at);
	free(lat);
}

/* s as a JSON string: a thread's name is whatever the process chose. */
static void
ba_json_string_print(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
ba_print(const struct ba *b, const struct ba_result *r)
{
	const struct ba_opts	*o = b->o;
	const char		*since = o->stream ? "the first submission" :
	    "the workers began to register";
	size_t			 i, top;

	top = r->ngroups < BA_THREAD_TOP ? r->ngroups : BA_THREAD_TOP;
	if (o->json) {
		printf("{\"mode\":\"assign\",\"clock\":\"%s\",\"mix\":\"%s\","
		    "\"hard_taken\":%ld,\"hard_broken\":%ld,\"soft_taken\":%ld,"
		    "\"soft_preferred\":%ld,\"anti_taken\":%ld,"
		    "\"anti_shared\":%ld,", o->stream ? "stream" : "backlog",
		    o->plain ? "plain" : "affinity", atomic_load(&b->hard_taken),
		    atomic_load(&b->hard_broken), atomic_load(&b->soft_taken),
		    atomic_load(&b->soft_preferred), atomic_load(&b->anti_taken),
		    atomic_load(&b->anti_shared));
		printf("\"workers\":%lld,\"workloads\":%lld,"
		    "\"slots\":%lld,\"threads\":%lld,\"connections\":%lld,"
		    "\"work_ms\":%lld,\"coordinator_up_s\":%.3f,"
		    "\"registered_s\":%.3f,\"submitted\":%zu,\"submit_s\":%.3f,"
		    "\"submit_per_s\":%.1f,\"submit_retries\":%ld,"
		    "\"started\":%zu,\"completed\":%zu,\"window_s\":%.3f,"
		    "\"assignments_per_s\":%.1f,\"steady_assignments_per_s\":%.1f,"
		    "\"submit_to_start_ms\":{\"p50\":%.0f,\"p99\":%.0f,"
		    "\"max\":%.0f},\"polls\":%ld,\"work_replies\":%ld,"
		    "\"reports_messages\":%ld,"
		    "\"assignments\":%ld,\"duplicates\":%ld,\"fenced\":%ld,"
		    "\"reregistered\":%ld,\"heartbeats\":%ld,\"failed_calls\":%ld,"
		    "\"timeouts\":%ld,"
		    "\"cpu_s\":%.3f,\"client_cpu_s\":%.2f,\"coordinator_cpu_s\":%.2f,"
		    "\"coordinator_threads\":[", o->workers, o->workloads,
		    o->slots, o->threads, o->conns, o->work_ms, r->up_s,
		    r->join_s, r->submitted, r->submit_s, r->submit_s > 0 ?
		    (double)r->submitted / r->submit_s : 0, r->submit_retries,
		    r->started, r->completed, r->window_s, r->rate,
		    r->steady_rate, r->lat_p50, r->lat_p99, r->lat_max,
		    atomic_load(&b->polls), atomic_load(&b->works),
		    atomic_load(&b->report_msgs),
		    atomic_load(&b->assigned), atomic_load(&b->dups),
		    atomic_load(&b->fenced), atomic_load(&b->reregs),
		    atomic_load(&b->heartbeats), atomic_load(&b->errors),
		    atomic_load(&b->timeouts), r->cpu_s, r->client_cpu_s, r->coord_cpu_s);
		for (i = 0; i < top; i++) {
			printf("%s{\"name\":", i > 0 ? "," : "");
			ba_json_string_print(r->groups[i].name);
			printf(",\"threads\":%zu,\"cpu_pct\":%.1f}",
			    r->groups[i].threads, r->groups[i].pct);
		}
		printf("],\"target_per_s\":%.0f,\"complete\":%s,"
		    "\"rules_kept\":%s,\"target_met\":%s}\n", BA_TARGET_PER_S,
		    r->complete ? "true" : "false",
		    r->rules_kept ? "true" : "false", r->met ? "true" : "false");
		return;
	}
	printf("assign: submitted %zu workloads in %.2f s: %.0f/s (%ld "
	    "retries after 429/503)%s\n", r->submitted, r->submit_s,
	    r->submit_s > 0 ? (double)r->submitted / r->submit_s : 0,
	    r->submit_retries, o->stream ? "" : ", before any worker "
	    "registered");
	if (!o->stream && r->join_s > 0)
		printf("assign: every worker registered %.2f s after the first "
		    "began\n", r->join_s);
	printf("assign: %zu of %lld STARTs acknowledged %.2f s after %s: %.0f "
	    "assignments/s overall, %.0f/s in the steady middle 80%%\n",
	    r->started, o->workloads, r->window_s, since, r->rate,
	    r->steady_rate);
	if (!o->plain)
		printf("assign: rules: %ld hard-affine taken (%ld on a worker that "
		    "fails them), %ld soft (%ld, %.0f%%, on a worker of the "
		    "preferred region), %ld anti-affine (%ld beside another "
		    "%s)\n", atomic_load(&b->hard_taken),
		    atomic_load(&b->hard_broken), atomic_load(&b->soft_taken),
		    atomic_load(&b->soft_preferred),
		    atomic_load(&b->soft_taken) > 0 ? 100.0 *
		    (double)atomic_load(&b->soft_preferred) /
		    (double)atomic_load(&b->soft_taken) : 0,
		    atomic_load(&b->anti_taken), atomic_load(&b->anti_shared),
		    BA_ANTI_TYPE);
	printf("assign: submit-to-START (created_at to the START's "
	    "acknowledgement) p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
	    r->lat_p50, r->lat_p99, r->lat_max);
	printf("assign: %zu COMPLETEs acknowledged; %ld polls, %ld WORK replies "
	    "with %ld assignments (%.1f each), %ld REPORTS messages (%.1f "
	    "reports each), %ld duplicates, %ld fenced, "
	    "%ld re-registrations, %ld heartbeats, %ld failed calls (%ld "
	    "timed out)\n", r->completed,
	    atomic_load(&b->polls), atomic_load(&b->works),
	    atomic_load(&b->assigned), atomic_load(&b->works) > 0 ?
	    (double)atomic_load(&b->assigned) / (double)atomic_load(&b->works) :
	    0, atomic_load(&b->report_msgs), atomic_load(&b->report_msgs) > 0 ?
	    (double)(r->started + r->completed) /
	    (double)atomic_load(&b->report_msgs) : 0, atomic_load(&b->dups), atomic_load(&b->fenced),
	    atomic_load(&b->reregs), atomic_load(&b->heartbeats),
	    atomic_load(&b->errors), atomic_load(&b->timeouts));
	if (r->cpu_s > 0) {
		printf("assign: CPU over %.1f s after %s, in %% of one core: "
		    "niyanta-bench %.0f%%, niyantad %.0f%%", r->cpu_s, since,
		    r->client_cpu_s / r->cpu_s * 100,
		    r->coord_cpu_s / r->cpu_s * 100);
		if (r->ngroups == 0)
			printf(" (its threads could not be read)");
		for (i = 0; i < top; i++) {
			printf("%s %s", i == 0 ? ":" : ",", r->groups[i].name);
			if (r->groups[i].threads > 1)
				printf(" (%zu threads)", r->groups[i].threads);
			printf(" %.0f%%", r->groups[i].pct);
		}
		printf("\n");
	}
	printf("target: 20,000 assignments/s end to end: %s\n",
	    r->met ? "met" : "NOT met");
}

/*
 * Waits until *count reaches want (progress every BA_PROGRESS_S from t0),
 * while niyantad runs, no call failed for good and the deadline is ahead.
 * *all_joined_s, if given, gets the seconds from t0 to the moment every
 * worker was registered.
 */
static int
ba_wait_count(struct ba *b, struct bench_cluster *cl, atomic_size_t *count,
    size_t want, const char *what, double t0, double *all_joined_s,
    struct errbuf *eb)
{
	const struct ba_opts	*o = b->o;
	char			 first[ERRBUF_LEN + 64];
	double			 next_progress = t0 + BA_PROGRESS_S;
	double			 deadline = t0 + (double)o->timeout_s, now;
	int			 rc;

	for (;;) {
		now = bench_now_s();
		if (all_joined_s != NULL && *all_joined_s == 0 &&
		    atomic_load(&b->joined) == b->nworkers && b->nworkers > 0)
			*all_joined_s = now - t0;
		if (atomic_load(count) >= want)
			return 0;
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			return rc;
		if (atomic_load(&b->fatal)) {
			ba_first_error(b, first, sizeof first);
			return err_setf(eb, ERR_IO, "%s", first);
		}
		if (now >= deadline)
			return err_setf(eb, ERR_TIMEOUT, "%zu of %zu %s after "
			    "%lld s", atomic_load(count), want, what,
			    o->timeout_s);
		if (!o->json && now >= next_progress) {
			printf("assign: %.0f s: %zu submitted, %zu registered, "
			    "%zu started, %zu completed\n", now - t0,
			    atomic_load(&b->submitted), atomic_load(&b->joined),
			    atomic_load(&b->started), atomic_load(&b->completed));
			fflush(stdout);
			next_progress += BA_PROGRESS_S;
		}
		bench_sleep_ms(BA_WAIT_TICK_MS);
	}
}

/* Starts the submission threads (stopping the run if one cannot start). */
static int
ba_submitters_start(struct ba *b, struct ba_submitter *subs, size_t n,
    struct errbuf *eb)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (pthread_create(&subs[i].tid, NULL, ba_submit_main,
		    &subs[i]) != 0) {
			atomic_store(&b->fatal, true);
			return err_setf(eb, ERR_INTERNAL, "cannot start a "
			    "submission thread");
		}
		subs[i].started = true;
	}
	return 0;
}

/* Joins the submission threads; the monotonic time of the last batch
 * acknowledged. */
static uint64_t
ba_submitters_join(struct ba_submitter *subs, size_t n)
{
	uint64_t	 done_us = 0;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (!subs[i].started)
			continue;
		pthread_join(subs[i].tid, NULL);
		subs[i].started = false;
		if (subs[i].done_us > done_us)
			done_us = subs[i].done_us;
	}
	return done_us;
}

/*
 * Submits everything and waits for every START, filling res.  With
 * --stream the fleet is up and the clock starts at the first submission;
 * otherwise the whole queue is submitted first (no worker is registered,
 * so nothing is placed) and the clock starts as the fleet registers.
 */
static int
ba_measure(struct ba *b, struct bench_cluster *cl, struct ba_result *res,
    struct errbuf *eb)
{
	const struct ba_opts	*o = b->o;
	struct ba_submitter	*subs;
	struct ba_cpu		 cpu0, cpu1;
	char			 path[PATH_MAX], *key = NULL;
	double			 t0, self0;
	uint64_t		 t0_us, submit0_us, done_us;
	size_t			 i, nsubs = (size_t)o->conns;
	pid_t			 coord;
	int			 rc = 0;

	b->nbatches = ((size_t)o->workloads + BA_BATCH - 1) / BA_BATCH;
	b->last_n = (size_t)o->workloads % BA_BATCH;
	if (o->plain) {
		b->body = ba_batch_body(BA_BATCH);
		if (b->last_n > 0)
			b->last_body = ba_batch_body(b->last_n);
	}
	snprintf(path, sizeof path, "%s/coord/admin.key", bench_cluster_dir(cl));
	if ((rc = http_key_file_read(path, &key, eb)) != 0)
		return rc;
	subs = xcalloc(nsubs, sizeof *subs);
	for (i = 0; i < nsubs && rc == 0; i++) {
		subs[i].b = b;
		if ((rc = http_client_new(&subs[i].http, bench_cluster_url(cl),
		    key, eb)) == 0)
			http_client_set_timeout_ms(subs[i].http, BA_HTTP_MS);
	}
	explicit_bzero(key, strlen(key));
	free(key);
	coord = ba_coord_pid();
	memset(&cpu0, 0, sizeof cpu0);
	memset(&cpu1, 0, sizeof cpu1);

	submit0_us = clock_mono_us();
	if (rc == 0 && !o->stream) {
		if ((rc = ba_submitters_start(b, subs, nsubs, eb)) == 0)
			rc = ba_wait_count(b, cl, &b->submitted,
			    (size_t)o->workloads, "workloads submitted",
			    bench_now_s(), NULL, eb);
		if (rc != 0)
			atomic_store(&b->fatal, true);
		done_us = ba_submitters_join(subs, nsubs);
		res->submit_s = done_us > submit0_us ?
		    (double)(done_us - submit0_us) / 1e6 : 0;
	}

	ba_cpu_read(coord, &cpu0);
	self0 = ba_self_cpu_s();
	t0 = bench_now_s();
	t0_us = clock_mono_us();
	if (rc == 0 && o->stream) {
		submit0_us = t0_us;
		rc = ba_submitters_start(b, subs, nsubs, eb);
	} else if (rc == 0) {
		rc = ba_fleet_open(b, eb);
	}
	if (rc == 0)
		rc = ba_wait_count(b, cl, &b->started, (size_t)o->workloads,
		    "STARTs acknowledged", t0, o->stream ? NULL : &res->join_s,
		    eb);
	ba_cpu_read(coord, &cpu1);
	res->client_cpu_s = ba_self_cpu_s() - self0;
	res->cpu_s = bench_now_s() - t0;
	res->completed = atomic_load(&b->completed);

	/* A failure stops the submitters at their next batch. */
	if (rc != 0)
		atomic_store(&b->fatal, true);
	done_us = ba_submitters_join(subs, nsubs);
	if (o->stream)
		res->submit_s = done_us > submit0_us ?
		    (double)(done_us - submit0_us) / 1e6 : 0;
	for (i = 0; i < nsubs; i++)
		http_client_free(subs[i].http);
	free(subs);
	res->submitted = atomic_load(&b->submitted);
	res->submit_retries = atomic_load(&b->submit_retries);
	ba_results(b, t0_us, res);
	res->complete = res->started == (size_t)o->workloads;
	res->rules_kept = atomic_load(&b->hard_broken) == 0 &&
	    atomic_load(&b->anti_shared) == 0;
	res->met = res->complete && res->rate >= BA_TARGET_PER_S;
	ba_cpu_groups(&cpu0, &cpu1, res->cpu_s, res);
	free(cpu0.v);
	free(cpu1.v);
	return rc;
}

/*
 * One run.  *nng_ok is false if nng could not close the fleet's sockets:
 * the caller must then not finalise nng (the fleet's state is left to the
 * end of the process).
 */
static int
ba_run(const struct ba_opts *o, bool *nng_ok)
{
	struct bench_cluster_opts	 co;
	struct bench_cluster		*cl = NULL;
	struct ba_result		 res;
	struct ba			*b;
	struct errbuf			 eb, seb;
	char				 path[PATH_MAX], first[ERRBUF_LEN + 64];
	double				 t0;
	bool				 failed = true;
	int				 rc;

	*nng_ok = true;
	/* On the heap: if nng keeps its sockets, their callbacks may still
	 * reach it after this returns. */
	b = xcalloc(1, sizeof *b);
	memset(&res, 0, sizeof res);
	b->o = o;
	pthread_mutex_init(&b->err_mu, NULL);
	ba_table_init(&b->tab, (size_t)o->workloads);
	errbuf_clear(&eb);
	if ((rc = ba_fd_limit(o->workers, &eb)) != 0) {
		fprintf(stderr, "%s: assign: %s\n", BENCH_PROG, eb.msg);
		goto out;
	}

	memset(&co, 0, sizeof co);
	co.niyantad = o->niyantad;
	co.nworkers = 0;
	co.capacity = 1;		/* no worker processes */
	co.timeout_ms = o->timeout_s * 1000;
	co.coord_args = o->coord_args;
	t0 = bench_now_s();
	if ((rc = bench_cluster_start(&cl, &co, &eb)) != 0) {
		fprintf(stderr, "%s: assign: cannot start niyantad: %s\n",
		    BENCH_PROG, eb.msg);
		if (rc != ERR_SHUTDOWN)
			bench_cluster_logs_print(cl, stderr);
		goto out;
	}
	res.up_s = bench_now_s() - t0;
	snprintf(path, sizeof path, "%s/coord/join.token", bench_cluster_dir(cl));
	if ((rc = ba_worker_url(cl, &b->url, &eb)) != 0 ||
	    (rc = http_key_file_read(path, &b->token, &eb)) != 0)
		goto fail;

	if (o->stream) {
		t0 = bench_now_s();
		if ((rc = ba_fleet_open(b, &eb)) != 0 ||
		    (rc = ba_wait_count(b, cl, &b->joined, b->nworkers,
		    "workers registered", t0, NULL, &eb)) != 0)
			goto fail;
		res.join_s = bench_now_s() - t0;
		if (!o->json) {
			printf("assign: niyantad up in %.2f s (%s); %lld simulated "
			    "workers (%lld slots each, %lld driver threads) "
			    "registered in %.2f s\n", res.up_s,
			    bench_cluster_dir(cl), o->workers, o->slots,
			    o->threads, res.join_s);
			fflush(stdout);
		}
	} else if (!o->json) {
		printf("assign: niyantad up in %.2f s (%s); submitting %lld "
		    "workloads (%s) before %lld simulated workers (%lld slots "
		    "each, %lld driver threads) register\n", res.up_s,
		    bench_cluster_dir(cl), o->workloads, o->plain ? "plain" :
		    "the affinity mix", o->workers, o->slots, o->threads);
		fflush(stdout);
	}

	/* A failed measurement still prints what it measured, then why. */
	rc = ba_measure(b, cl, &res, &eb);
	ba_print(b, &res);
	fflush(stdout);
	if (atomic_load(&b->errors) > 0) {
		ba_first_error(b, first, sizeof first);
		fprintf(stderr, "%s: assign: %ld failed calls; the first: %s\n",
		    BENCH_PROG, atomic_load(&b->errors), first);
	}
	if (rc != 0)
		goto fail;
	failed = false;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "%s: assign: %s\n", BENCH_PROG, eb.msg);
	if (rc != ERR_SHUTDOWN && rc != ERR_TIMEOUT)
		bench_cluster_logs_print(cl, stderr);
out:
	/* Sockets that will not close while niyantad holds them do once it
	 * is gone. */
	(void)ba_fleet_stop(b);
	errbuf_clear(&seb);
	if (bench_cluster_stop(cl, &seb) != 0)
		fprintf(stderr, "%s: assign: stopping niyantad: %s\n", BENCH_PROG,
		    seb.msg);
	free(res.groups);
	if (!ba_fleet_free(b)) {
		*nng_ok = false;
		fprintf(stderr, "%s: assign: nng did not close the simulated "
		    "workers' sockets; leaving them to the end of the process\n",
		    BENCH_PROG);
		return BA_EXIT_FAIL;
	}
	ba_table_fini(&b->tab);
	free(b->body);
	free(b->last_body);
	free(b->url);
	if (b->token != NULL) {
		explicit_bzero(b->token, strlen(b->token));
		free(b->token);
	}
	pthread_mutex_destroy(&b->err_mu);
	free(b);
	return failed || !res.complete || !res.rules_kept ? BA_EXIT_FAIL :
	    BA_EXIT_OK;
}

/* What bench_cluster_run hands to the mode's run. */
struct ba_run_arg {
	const struct ba_opts	*o;
	bool			 nng_ok;	/* nng was used: nng_fini at the end */
};

static int
ba_run_cb(void *arg)
{
	struct ba_run_arg	*ra = arg;

	return ba_run(ra->o, &ra->nng_ok);
}

int
bench_assign_main(int argc, char **argv)
{
	enum { OPT_WORKERS = 256, OPT_WORKLOADS, OPT_SLOTS, OPT_THREADS,
	    OPT_CONNECTIONS, OPT_WORK_MS, OPT_NIYANTAD, OPT_COORD_ARG,
	    OPT_TIMEOUT, OPT_STREAM, OPT_PLAIN, OPT_JSON };
	static const struct option longopts[] = {
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "workloads", required_argument, NULL, OPT_WORKLOADS },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "connections", required_argument, NULL, OPT_CONNECTIONS },
		{ "work-ms", required_argument, NULL, OPT_WORK_MS },
		{ "niyantad", required_argument, NULL, OPT_NIYANTAD },
		{ "coord-arg", required_argument, NULL, OPT_COORD_ARG },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "stream", no_argument, NULL, OPT_STREAM },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ba_opts	 o = {
		.workers = 1000, .workloads = 100000, .slots = 20, .threads = 8,
		.conns = 2, .work_ms = 0, .timeout_s = 300,
	};
	struct ba_run_arg ra = { .nng_ok = true };
	const char	*bad;
	char		*def_coord = NULL, *def_worker = NULL;
	int		 c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_WORKERS:
			if (!str_parse_ll(optarg, 1, BA_WORKERS_MAX, &o.workers))
				return ba_usage("--workers wants 1..%d, not '%s'",
				    BA_WORKERS_MAX, optarg);
			break;
		case OPT_WORKLOADS:
			if (!str_parse_ll(optarg, 1, BA_WORKLOADS_MAX,
			    &o.workloads))
				return ba_usage("--workloads wants 1..%d, not '%s'",
				    BA_WORKLOADS_MAX, optarg);
			break;
		case OPT_SLOTS:
			if (!str_parse_ll(optarg, 1, BA_SLOTS_MAX, &o.slots))
				return ba_usage("--slots wants 1..%d, not '%s'",
				    BA_SLOTS_MAX, optarg);
			break;
		case OPT_THREADS:
			if (!str_parse_ll(optarg, 1, BA_THREADS_MAX, &o.threads))
				return ba_usage("--threads wants 1..%d, not '%s'",
				    BA_THREADS_MAX, optarg);
			break;
		case OPT_CONNECTIONS:
			if (!str_parse_ll(optarg, 1, BA_CONNS_MAX, &o.conns))
				return ba_usage("--connections wants 1..%d, not "
				    "'%s'", BA_CONNS_MAX, optarg);
			break;
		case OPT_WORK_MS:
			if (!str_parse_ll(optarg, 0, 600000, &o.work_ms))
				return ba_usage("--work-ms wants 0..600000, not "
				    "'%s'", optarg);
			break;
		case OPT_NIYANTAD:
			if (optarg[0] == '\0')
				return ba_usage("--niyantad wants a path");
			o.niyantad = optarg;
			break;
		case OPT_COORD_ARG:
			if (o.n_coord_args == BA_COORD_ARGS_MAX)
				return ba_usage("at most %d --coord-arg",
				    BA_COORD_ARGS_MAX);
			o.coord_args[o.n_coord_args++] = optarg;
			break;
		case OPT_TIMEOUT:
			if (!str_parse_ll(optarg, 1, 86400, &o.timeout_s))
				return ba_usage("--timeout wants 1..86400 seconds, "
				    "not '%s'", optarg);
			break;
		case OPT_STREAM:
			o.stream = true;
			break;
		case OPT_PLAIN:
			o.plain = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			fputs(ba_synopsis, stdout);
			printf("See '%s --help' for the whole manual.\n", BENCH_PROG);
			return BA_EXIT_OK;
		default:
			return ba_usage("bad option");
		}
	}
	if (optind < argc)
		return ba_usage("unexpected argument '%s'", argv[optind]);
	if (o.workers * o.slots > BA_LANES_MAX)
		return ba_usage("%lld workers of %lld slots is more than %d "
		    "requests in flight", o.workers, o.slots, BA_LANES_MAX);
	if (o.threads > o.workers)
		o.threads = o.workers;
	switch (bench_cluster_programs("assign", &o.niyantad, NULL, &def_coord,
	    &def_worker, &bad)) {
	case 0:
		break;
	case 1:
		return ba_usage("%s: %s (give --niyantad)", bad, strerror(errno));
	default:
		return BA_EXIT_FAIL;
	}
	ra.o = &o;
	rc = bench_cluster_run("assign", ba_run_cb, &ra, BA_EXIT_FAIL);
	/* Every socket is closed: let nng free its own state too. */
	if (ra.nng_ok)
		nng_fini();
	free(def_coord);
	return rc;
}
