/*
 * The worker runtime (see worker.h for the threads).
 *
 * Protocol duties, in the order an attempt meets them:
 *
 * - Assignments are at-least-once: the poll thread ignores an (id, attempt)
 *   it already holds (queued or running) or finished recently (a bounded
 *   ring of the last WORKER_RECENT_MAX).
 * - START is the acknowledgement.  A reply of ACK with stop, or ERROR
 *   stale, means the attempt is no longer ours: it is dropped unrun and
 *   unreported.
 * - PROGRESS goes out at most every WORKER_PROGRESS_MS, plus the last
 *   report.  A checkpoint is compressed and cut here (src/ckpt.h) and sent
 *   as CHECKPOINT chunks under the next checkpoint_seq; the coordinator
 *   commits it when the last chunk is in.
 *   Any ACK with stop, or ERROR stale, sets the attempt's stop flag, which
 *   the plugin sees through should_stop.
 * - COMPLETE is retried with backoff until a coordinator answers (ACK or a
 *   final ERROR) or the worker closes: an outcome must not be lost while
 *   it can still be delivered.
 * - Any ERROR with reregister makes the control thread register again
 *   (the coordinator bumps the generation); running attempts carry on and
 *   are listed in REGISTER's running[] so the coordinator keeps them.
 *
 * Locking: one mutex (w->mu) guards the worker's shared state; a job's
 * stop flag is atomic because plugins poll it without the lock.  No lock is
 * held across a bus call or a plugin call.
 */
#include "src/worker.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "net/bus.h"
#include "net/wire_worker.h"
#include "niyanta/plugin.h"
#include "src/ckpt.h"
#include "src/clock.h"
#include "src/cmd.h"		/* enum outcome only */
#include "src/err.h"
#include "src/log.h"
#include "src/plugin_registry.h"
#include "src/strs.h"

#define WORKER_CALL_MS			5000	/* ordinary request timeout */
#define WORKER_DRAIN_CALL_MS		2000	/* DRAIN: shutdown is waiting */
#define WORKER_POLL_SLACK_MS		2000	/* poll timeout beyond wait_ms */
#define WORKER_RECENT_MAX		1024	/* finished attempts remembered */
#define WORKER_PROGRESS_MS		500
#define WORKER_BACKOFF_MIN_MS		200
#define WORKER_BACKOFF_MAX_MS		5000
#define WORKER_DEFAULT_HEARTBEAT_MS	1000
#define WORKER_DEFAULT_POLL_WAIT_MS	5000
#define WORKER_CHECKPOINT_MAX		((uint64_t)64 << 20)
#define WORKER_CHECKPOINT_TRIES		3	/* per chunk */
#define WORKER_NAME_MAX			128
#define WORKER_TOKEN_MAX		1024

/* Why an attempt was asked to stop. */
enum worker_stop_reason {
	WORKER_STOP_NONE,
	WORKER_STOP_CANCEL,	/* the coordinator said stop (cancel, pause, fenced) */
	WORKER_STOP_DRAIN,	/* this worker is shutting down */
	WORKER_STOP_TIMEOUT,	/* timeout_seconds passed */
};

struct worker_job {
	struct worker_job	*qnext;		/* executor queue */
	struct worker_job	*anext;		/* w->active */
	struct wmsg_assignment	 a;		/* owned */
	atomic_int		 stop;		/* enum worker_stop_reason */
	uint64_t		 ckpt_seq;	/* last checkpoint_seq used */
	uint32_t		 ckpt_interval_s; /* the policy in force */
	uint32_t		 ckpt_progress_pct;
	uint64_t		 ckpt_last_ms;	/* monotonic: start or last stored */
	double			 ckpt_last_progress;
	uint64_t		 deadline_ms;	/* monotonic; 0: no timeout */
	/* Progress, result, error: touched only by the executing thread. */
	uint64_t		 progress_sent_ms;
	double			 progress;
	char			*progress_msg;
	bool			 progress_pending;
	char			*result;
	bool			 result_invalid;
	char			*error;
};

struct niyanta_ctx {
	struct worker		*w;
	struct worker_job	*job;
};

/* One report waiting to go out in a REPORTS message (worker_report). */
struct worker_report_req {
	struct worker_report_req *next;
	const struct wmsg_report *rep;		/* borrowed from the caller */
	bool			 done;
	int			 rc;		/* of the call that carried it */
	struct errbuf		 eb;
	struct wmsg		 reply;		/* ACK (stop flag) or the ERROR */
};

struct worker {
	/* Configuration (owned copies). */
	struct strlist		 urls;
	char			*token;
	char			*id;
	struct tagset		 tags;
	unsigned		 capacity;
	unsigned		 drain_timeout_ms;
	char			*version;
	struct worker_ckpt_default *ckpt_defaults; /* owned, types too */
	unsigned		 n_ckpt_defaults;
	uint64_t		 checkpoint_max;
	struct resources	 offered;

	struct plugin_registry	*reg;
	struct strlist		 caps;		/* type names */
	struct bus_client	*bus;

	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* any change below */
	bool			 sync_init;

	/* Guarded by mu. */
	bool			 stopping;	/* draining: no more polling */
	bool			 closing;	/* threads exit */
	int			 failure;	/* ERR_AUTH once refused */
	bool			 registered;
	bool			 need_register;
	uint64_t		 generation;
	uint32_t		 heartbeat_ms;
	uint32_t		 poll_wait_ms;
	struct worker_job	*qhead, *qtail;	/* waiting for an executor */
	struct worker_job	*active;	/* queued or executing */
	unsigned		 n_active;
	unsigned		 n_executing;
	bool			 poll_done;
	struct wmsg_attempt	 recent[WORKER_RECENT_MAX];
	size_t			 recent_n, recent_next;

	/* Reports from the executor threads, combined: while one REPORTS
	 * message is on its way, the reports that arrive wait and go in the
	 * next one (guarded by rep_mu). */
	pthread_mutex_t		 rep_mu;
	pthread_cond_t		 rep_cv;	/* a REPORTS call finished */
	struct worker_report_req *rep_head, *rep_tail;
	bool			 rep_sending;

	pthread_t		 control, poller;
	bool			 control_started, poller_started;
	pthread_t		*exec;
	unsigned		 n_exec;
};

/* ---- small helpers ---- */

bool
worker_name_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= WORKER_NAME_MAX)
			return false;
		if (!isalnum((unsigned char)s[i]) && strchr("._:/-", s[i]) == NULL)
			return false;
	}
	return i > 0;
}

int
worker_token_read(const char *path, char **out, struct errbuf *eb)
{
	char	 buf[WORKER_TOKEN_MAX + 2];
	char	*p, *e;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_setf(eb, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "join token file %s: %s", path, strerror(errno));
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return err_setf(eb, ERR_IO, "join token file %s: %s", path,
			    strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
		return err_setf(eb, ERR_INVAL, "join token file %s: binary content",
		    path);
	for (p = buf; isspace((unsigned char)*p); p++)
		continue;
	for (e = buf + len; e > p && isspace((unsigned char)e[-1]); e--)
		continue;
	*e = '\0';
	if (*p == '\0')
		return err_setf(eb, ERR_INVAL, "join token file %s is empty", path);
	if ((size_t)(e - p) > WORKER_TOKEN_MAX)
		return err_setf(eb, ERR_INVAL, "join token file %s: token longer "
		    "than %d bytes", path, WORKER_TOKEN_MAX);
	for (e = p; *e != '\0'; e++)
		if (isspace((unsigned char)*e) || iscntrl((unsigned char)*e))
			return err_setf(eb, ERR_INVAL, "join token file %s: the "
			    "token contains whitespace or control characters", path);
	if ((*out = strdup(p)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	return 0;
}

/* Waits on w->cv (mu held) for at most ms milliseconds. */
static void
worker_wait_ms(struct worker *w, uint64_t ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* Sleeps ms unless the worker closes first; false if it is closing. */
static bool
worker_pause(struct worker *w, uint64_t ms)
{
	uint64_t	 until = clock_mono_ms() + ms, now;
	bool		 open;

	pthread_mutex_lock(&w->mu);
	while (!w->closing && (now = clock_mono_ms()) < until)
		worker_wait_ms(w, until - now);
	open = !w->closing;
	pthread_mutex_unlock(&w->mu);
	return open;
}

static uint64_t
worker_backoff_next(uint64_t ms)
{
	ms *= 2;
	return ms > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : ms;
}

/* Errors after which the same request may succeed on a retry. */
static bool
worker_err_retryable(int err)
{
	return err == ERR_NOTLEADER || err == ERR_UNAVAIL || err == ERR_TIMEOUT ||
	    err == ERR_SHUTDOWN || err == ERR_NOMEM;
}

static const char *
worker_outcome_name(int outcome)
{
	switch (outcome) {
	case OUTCOME_SUCCEEDED:
		return "SUCCEEDED";
	case OUTCOME_FAILED:
		return "FAILED";
	case OUTCOME_CANCELLED:
		return "CANCELLED";
	case OUTCOME_ABANDONED:
		return "ABANDONED";
	default:
		return "?";
	}
}

/* Sets a job's stop reason unless one is already set. */
static void
worker_job_stop_set(struct worker_job *job, enum worker_stop_reason why)
{
	int	 none = WORKER_STOP_NONE;

	atomic_compare_exchange_strong(&job->stop, &none, (int)why);
}

static void
worker_job_free(struct worker_job *job)
{
	if (job == NULL)
		return;
	wmsg_assignment_fini(&job->a);
	free(job->progress_msg);
	free(job->result);
	free(job->error);
	free(job);
}

/* Sends req (stamped with our id and generation) and flags a re-register
 * when the reply asks for it.  req's pointers stay borrowed. */
static int
worker_call(struct worker *w, struct wmsg *req, struct wmsg *reply,
    unsigned timeout_ms, struct errbuf *eb)
{
	uint64_t	 gen;
	int		 rc;

	pthread_mutex_lock(&w->mu);
	gen = w->generation;
	pthread_mutex_unlock(&w->mu);
	req->worker_id = w->id;
	req->generation = gen;
	rc = bus_client_call(w->bus, req, reply, timeout_ms, eb);
	if (rc == 0 && reply->type == WMSG_ERROR && reply->reregister) {
		pthread_mutex_lock(&w->mu);
		if (w->generation == gen && !w->need_register) {
			log_info("REREGISTER", "coordinator asked for a new "
			    "registration: %s", reply->message != NULL ?
			    reply->message : err_code_name(reply->err));
			w->need_register = true;
			pthread_cond_broadcast(&w->cv);
		}
		pthread_mutex_unlock(&w->mu);
	}
	return rc;
}

/* Sends the n reports of list as one REPORTS message and gives each its
 * own answer: the call's error, an ACK (stop if the reply lists it), or a
 * copy of the ERROR reply. */
static void
worker_report_send(struct worker *w, struct worker_report_req *list, size_t n)
{
	struct worker_report_req	*q;
	struct errbuf			 eb;
	struct wmsg			 req, reply;
	size_t				 i;
	int				 rc;

	memset(&req, 0, sizeof req);
	req.type = WMSG_REPORTS;
	req.reports = xcalloc(n, sizeof *req.reports);
	for (q = list, i = 0; i < n; q = q->next, i++)
		req.reports[i] = *q->rep;
	req.n_reports = n;
	errbuf_clear(&eb);
	rc = worker_call(w, &req, &reply, WORKER_CALL_MS, &eb);
	free(req.reports);
	for (q = list, i = 0; i < n; q = q->next, i++) {
		memset(&q->reply, 0, sizeof q->reply);
		q->rc = rc;
		q->eb = eb;
		if (rc != 0)
			continue;
		q->reply.type = reply.type;
		if (reply.type == WMSG_REPORTS_ACK) {
			q->reply.type = WMSG_ACK;
			q->reply.stop_attempt = wmsg_attempts_contain(reply.stop,
			    reply.n_stop, q->rep->workload_id, q->rep->attempt);
		} else if (reply.type == WMSG_ERROR) {
			q->reply.err = reply.err;
			q->reply.reregister = reply.reregister;
			if (reply.message != NULL)
				q->reply.message = xstrdup(reply.message);
		}
	}
	if (rc == 0)
		wmsg_fini(&reply);
}

/*
 * Sends one START, PROGRESS or COMPLETE and waits for its answer, as
 * worker_call would.  Reports from many executor threads are combined:
 * the first caller with nobody sending sends everything queued (up to
 * WMSG_REPORTS_MAX) in one REPORTS message, and the reports that arrive
 * meanwhile go together in the next.  Alone, a report goes at once; under
 * load, one message and one log entry carry many.
 */
static int
worker_report(struct worker *w, const struct wmsg_report *rep, struct wmsg *reply,
    struct errbuf *eb)
{
	struct worker_report_req	 me, *list, *q;
	size_t				 n;

	memset(&me, 0, sizeof me);
	me.rep = rep;
	pthread_mutex_lock(&w->rep_mu);
	if (w->rep_tail != NULL)
		w->rep_tail->next = &me;
	else
		w->rep_head = &me;
	w->rep_tail = &me;
	while (!me.done) {
		if (w->rep_sending) {
			pthread_cond_wait(&w->rep_cv, &w->rep_mu);
			continue;
		}
		list = w->rep_head;
		for (q = list, n = 1; n < WMSG_REPORTS_MAX && q->next != NULL; n++)
			q = q->next;
		w->rep_head = q->next;
		if (w->rep_head == NULL)
			w->rep_tail = NULL;
		q->next = NULL;
		w->rep_sending = true;
		pthread_mutex_unlock(&w->rep_mu);
		worker_report_send(w, list, n);
		pthread_mutex_lock(&w->rep_mu);
		for (q = list; q != NULL; q = q->next)
			q->done = true;
		w->rep_sending = false;
		pthread_cond_broadcast(&w->rep_cv);
	}
	pthread_mutex_unlock(&w->rep_mu);
	*reply = me.reply;
	if (me.rc != 0)
		*eb = me.eb;
	return me.rc;
}

/* Snapshot of what this worker holds, for REGISTER and HEARTBEAT (mu held).
 * Returns a malloc'd array (NULL when empty or out of memory). */
static struct wmsg_attempt *
worker_running_locked(struct worker *w, size_t *n)
{
	struct wmsg_attempt	*v;
	struct worker_job	*job;
	size_t			 i = 0;

	*n = 0;
	if (w->n_active == 0 ||
	    (v = calloc(w->n_active, sizeof *v)) == NULL)
		return NULL;
	for (job = w->active; job != NULL && i < w->n_active; job = job->anext) {
		memcpy(v[i].workload_id, job->a.workload_id,
		    sizeof v[i].workload_id);
		v[i].attempt = job->a.attempt;
		i++;
	}
	*n = i;
	return v;
}

static struct worker_job *
worker_find_locked(struct worker *w, const char *id, uint32_t attempt)
{
	struct worker_job	*job;

	for (job = w->active; job != NULL; job = job->anext)
		if (job->a.attempt == attempt &&
		    strcmp(job->a.workload_id, id) == 0)
			return job;
	return NULL;
}

static bool
worker_recent_locked(struct worker *w, const char *id, uint32_t attempt)
{
	size_t	 i;

	for (i = 0; i < w->recent_n; i++)
		if (w->recent[i].attempt == attempt &&
		    strcmp(w->recent[i].workload_id, id) == 0)
			return true;
	return false;
}

/* The coordinator asked to stop (id, attempt); unknown ones are ignored. */
static void
worker_stop_attempts_locked(struct worker *w, const struct wmsg_attempt *v, size_t n)
{
	struct worker_job	*job;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if ((job = worker_find_locked(w, v[i].workload_id, v[i].attempt)) == NULL)
			continue;
		log_info("STOPREQ", "%s#%" PRIu32 ": stop requested",
		    v[i].workload_id, v[i].attempt);
		worker_job_stop_set(job, WORKER_STOP_CANCEL);
	}
}

/* ---- control thread: register and heartbeat ---- */

static int
worker_register(struct worker *w, bool quiet)
{
	struct errbuf	 eb;
	struct wmsg	 req, reply;
	int		 rc;

	memset(&req, 0, sizeof req);
	req.type = WMSG_REGISTER;
	req.token = w->token;
	req.tags = w->tags;			/* borrowed, not finalised */
	req.capabilities = w->caps;
	req.capacity = w->capacity;
	req.version = w->version;
	req.offered = w->offered;
	pthread_mutex_lock(&w->mu);
	req.running = worker_running_locked(w, &req.n_running);
	pthread_mutex_unlock(&w->mu);

	rc = worker_call(w, &req, &reply, WORKER_CALL_MS, &eb);
	free(req.running);
	if (rc != 0) {
		if (quiet)
			log_debug("REGRETRY", "register: %s", eb.msg);
		else
			log_warn("REGRETRY", "cannot register yet: %s; retrying",
			    eb.msg);
		return ERR_UNAVAIL;
	}
	if (reply.type == WMSG_ERROR) {
		rc = reply.err != 0 ? reply.err : ERR_INTERNAL;
		if (rc == ERR_AUTH)
			log_error("JOINREFUSED", "the coordinator refused this "
			    "worker's join token (%s): check --join-token-file "
			    "against the cluster's join token",
			    reply.message != NULL ? reply.message : "unauthenticated");
		else
			log_warn("REGERROR", "register refused: %s%s%s",
			    err_code_name(rc), reply.message != NULL ? ": " : "",
			    reply.message != NULL ? reply.message : "");
		wmsg_fini(&reply);
		return rc;
	}
	if (reply.type != WMSG_REGISTERED) {
		log_warn("REGERROR", "register: unexpected %s reply",
		    wmsg_type_name(reply.type));
		wmsg_fini(&reply);
		return ERR_PROTO;
	}
	pthread_mutex_lock(&w->mu);
	w->generation = reply.generation;
	w->heartbeat_ms = reply.heartbeat_ms != 0 ? reply.heartbeat_ms :
	    WORKER_DEFAULT_HEARTBEAT_MS;
	w->poll_wait_ms = reply.wait_ms != 0 ? reply.wait_ms :
	    WORKER_DEFAULT_POLL_WAIT_MS;
	w->registered = true;
	w->need_register = false;
	pthread_cond_broadcast(&w->cv);
	log_info("REGISTERED", "registered as %s (generation %" PRIu64
	    ", heartbeat %" PRIu32 " ms, %u slots, %zu attempts held)",
	    w->id, w->generation, w->heartbeat_ms, w->capacity, req.n_running);
	pthread_mutex_unlock(&w->mu);
	wmsg_fini(&reply);
	return 0;
}

/* Returns false if no coordinator answered; quiet logs that at debug. */
static bool
worker_heartbeat(struct worker *w, bool quiet)
{
	struct errbuf	 eb;
	struct wmsg	 req, reply;
	int		 rc;

	memset(&req, 0, sizeof req);
	req.type = WMSG_HEARTBEAT;
	pthread_mutex_lock(&w->mu);
	req.running = worker_running_locked(w, &req.n_running);
	req.free_slots = w->capacity > w->n_active ? w->capacity - w->n_active : 0;
	pthread_mutex_unlock(&w->mu);

	rc = worker_call(w, &req, &reply, WORKER_CALL_MS, &eb);
	free(req.running);
	if (rc != 0) {
		if (quiet)
			log_debug("HBFAIL", "heartbeat: %s", eb.msg);
		else
			log_warn("HBFAIL", "heartbeat: %s", eb.msg);
		return false;
	}
	if (reply.type == WMSG_HEARTBEAT_ACK) {
		pthread_mutex_lock(&w->mu);
		worker_stop_attempts_locked(w, reply.stop, reply.n_stop);
		pthread_mutex_unlock(&w->mu);
	} else if (reply.type == WMSG_ERROR && !reply.reregister) {
		log_warn("HBFAIL", "heartbeat refused: %s%s%s",
		    err_code_name(reply.err), reply.message != NULL ? ": " : "",
		    reply.message != NULL ? reply.message : "");
	} else if (reply.type != WMSG_ERROR) {
		log_warn("HBFAIL", "heartbeat: unexpected %s reply",
		    wmsg_type_name(reply.type));
	}
	wmsg_fini(&reply);
	return true;
}

static void *
worker_control_main(void *arg)
{
	struct worker	*w = arg;
	uint64_t	 backoff = WORKER_BACKOFF_MIN_MS, next_hb = 0, now;
	unsigned	 failures = 0, hb_failures = 0;
	int		 rc;

	pthread_mutex_lock(&w->mu);
	while (!w->closing) {
		if (!w->registered || w->need_register) {
			pthread_mutex_unlock(&w->mu);
			rc = worker_register(w, failures > 0);
			pthread_mutex_lock(&w->mu);
			if (rc == 0) {
				backoff = WORKER_BACKOFF_MIN_MS;
				failures = 0;
				next_hb = clock_mono_ms() + w->heartbeat_ms;
				continue;
			}
			if (rc == ERR_AUTH) {
				w->failure = ERR_AUTH;
				w->stopping = true;
				pthread_cond_broadcast(&w->cv);
				break;
			}
			failures++;
			if (!w->closing)
				worker_wait_ms(w, backoff);
			backoff = worker_backoff_next(backoff);
			continue;
		}
		now = clock_mono_ms();
		if (now < next_hb) {
			worker_wait_ms(w, next_hb - now);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		if (worker_heartbeat(w, hb_failures > 0))
			hb_failures = 0;
		else
			hb_failures++;
		pthread_mutex_lock(&w->mu);
		next_hb = clock_mono_ms() + w->heartbeat_ms;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- poll thread ---- */

/* Takes WORK's assignments into jobs and applies its stops (mu held). */
static void
worker_work_take_locked(struct worker *w, struct wmsg *work)
{
	struct wmsg_assignment	*a;
	struct worker_job	*job;
	size_t			 i;

	for (i = 0; i < work->n_assignments; i++) {
		a = &work->assignments[i];
		if (worker_find_locked(w, a->workload_id, a->attempt) != NULL ||
		    worker_recent_locked(w, a->workload_id, a->attempt)) {
			log_debug("DUPASSIGN", "%s#%" PRIu32 ": duplicate "
			    "assignment ignored", a->workload_id, a->attempt);
			continue;
		}
		if ((job = calloc(1, sizeof *job)) == NULL) {
			/* Not acknowledged: the coordinator sends it again. */
			log_error("NOMEM", "%s#%" PRIu32 ": no memory to take the "
			    "assignment", a->workload_id, a->attempt);
			continue;
		}
		job->a = *a;			/* moves the owned fields */
		memset(a, 0, sizeof *a);
		atomic_init(&job->stop, w->stopping ? WORKER_STOP_DRAIN :
		    WORKER_STOP_NONE);
		job->ckpt_seq = job->a.checkpoint_seq;
		job->anext = w->active;
		w->active = job;
		w->n_active++;
		if (w->qtail != NULL)
			w->qtail->qnext = job;
		else
			w->qhead = job;
		w->qtail = job;
		log_info("ASSIGNED", "%s#%" PRIu32 ": %s assigned%s",
		    job->a.workload_id, job->a.attempt, job->a.type,
		    job->a.checkpoint != NULL ? " (resuming from a checkpoint)" : "");
	}
	worker_stop_attempts_locked(w, work->stop, work->n_stop);
	pthread_cond_broadcast(&w->cv);
}

static void *
worker_poll_main(void *arg)
{
	struct worker	*w = arg;
	struct errbuf	 eb;
	struct wmsg	 req, reply;
	uint64_t	 backoff = WORKER_BACKOFF_MIN_MS;
	uint32_t	 wait;
	int		 rc;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping && !w->closing) {
		if (!w->registered || w->need_register) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		wait = w->poll_wait_ms;
		pthread_mutex_unlock(&w->mu);

		memset(&req, 0, sizeof req);
		req.type = WMSG_POLL;
		req.wait_ms = wait;
		rc = worker_call(w, &req, &reply, wait + WORKER_POLL_SLACK_MS, &eb);

		pthread_mutex_lock(&w->mu);
		if (rc == 0 && reply.type == WMSG_WORK) {
			worker_work_take_locked(w, &reply);
			backoff = WORKER_BACKOFF_MIN_MS;
		} else if (rc == ERR_TIMEOUT) {
			/* The coordinator held the poll too long: poll again. */
		} else {
			if (rc != 0)
				log_debug("POLLFAIL", "poll: %s", eb.msg);
			else if (reply.type == WMSG_ERROR && !reply.reregister)
				log_warn("POLLFAIL", "poll refused: %s%s%s",
				    err_code_name(reply.err),
				    reply.message != NULL ? ": " : "",
				    reply.message != NULL ? reply.message : "");
			else if (reply.type != WMSG_ERROR)
				log_warn("POLLFAIL", "poll: unexpected %s reply",
				    wmsg_type_name(reply.type));
			if (!w->stopping && !w->closing)
				worker_wait_ms(w, backoff);
			backoff = worker_backoff_next(backoff);
		}
		if (rc == 0)
			wmsg_fini(&reply);
	}
	w->poll_done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- executing one attempt ---- */

/* START: returns 1 to run, 0 to drop unrun, -1 to report the stop reason
 * without running (a stop arrived while START could not get through). */
static int
worker_job_start(struct worker *w, struct worker_job *job)
{
	struct errbuf	 eb;
	struct wmsg_report	 rep;
	struct wmsg	 reply;
	uint64_t	 backoff = WORKER_BACKOFF_MIN_MS;
	int		 rc, err;

	for (;;) {
		if (atomic_load(&job->stop) != WORKER_STOP_NONE)
			return -1;
		memset(&rep, 0, sizeof rep);
		rep.type = WMSG_START;
		memcpy(rep.workload_id, job->a.workload_id, sizeof rep.workload_id);
		rep.attempt = job->a.attempt;
		rc = worker_report(w, &rep, &reply, &eb);
		if (rc == 0 && reply.type == WMSG_ACK) {
			rc = reply.stop_attempt ? 0 : 1;
			wmsg_fini(&reply);
			if (rc == 0)
				log_info("STARTSTOP", "%s#%" PRIu32 ": the "
				    "coordinator no longer wants it; dropped",
				    job->a.workload_id, job->a.attempt);
			return rc;
		}
		if (rc == 0 && reply.type == WMSG_ERROR) {
			err = reply.err;
			if (!reply.reregister && !worker_err_retryable(err)) {
				log_info("STARTSTALE", "%s#%" PRIu32 ": start "
				    "refused (%s%s%s); dropped",
				    job->a.workload_id, job->a.attempt,
				    err_code_name(err), reply.message != NULL ?
				    ": " : "", reply.message != NULL ?
				    reply.message : "");
				wmsg_fini(&reply);
				return 0;
			}
		} else if (rc == 0) {
			log_warn("STARTFAIL", "%s#%" PRIu32 ": unexpected %s reply",
			    job->a.workload_id, job->a.attempt,
			    wmsg_type_name(reply.type));
		} else {
			log_warn("STARTFAIL", "%s#%" PRIu32 ": %s; retrying",
			    job->a.workload_id, job->a.attempt, eb.msg);
		}
		if (rc == 0)
			wmsg_fini(&reply);
		if (!worker_pause(w, backoff))
			return 0;
		backoff = worker_backoff_next(backoff);
	}
}

static void
worker_job_complete(struct worker *w, struct worker_job *job, int outcome,
    const char *result, const char *error)
{
	struct errbuf	 eb;
	struct wmsg_report	 rep;
	struct wmsg	 reply;
	uint64_t	 backoff = WORKER_BACKOFF_MIN_MS;
	int		 rc;

	log_info("COMPLETE", "%s#%" PRIu32 ": %s%s%s", job->a.workload_id,
	    job->a.attempt, worker_outcome_name(outcome),
	    error != NULL ? ": " : "", error != NULL ? error : "");
	for (;;) {
		memset(&rep, 0, sizeof rep);
		rep.type = WMSG_COMPLETE;
		memcpy(rep.workload_id, job->a.workload_id, sizeof rep.workload_id);
		rep.attempt = job->a.attempt;
		rep.outcome = outcome;
		rep.result_json = (char *)result;
		rep.error = (char *)error;
		rc = worker_report(w, &rep, &reply, &eb);
		if (rc == 0 && reply.type == WMSG_ACK) {
			wmsg_fini(&reply);
			return;
		}
		if (rc == 0 && reply.type == WMSG_ERROR && !reply.reregister &&
		    !worker_err_retryable(reply.err)) {
			log_info("COMPLETEREF", "%s#%" PRIu32 ": outcome not "
			    "taken (%s%s%s)", job->a.workload_id,
			    job->a.attempt, err_code_name(reply.err),
			    reply.message != NULL ? ": " : "",
			    reply.message != NULL ? reply.message : "");
			wmsg_fini(&reply);
			return;
		}
		if (rc != 0)
			log_warn("COMPLETEFAIL", "%s#%" PRIu32 ": %s; retrying",
			    job->a.workload_id, job->a.attempt, eb.msg);
		else
			wmsg_fini(&reply);
		if (!worker_pause(w, backoff)) {
			log_warn("COMPLETELOST", "%s#%" PRIu32 ": shutting down "
			    "before the outcome was delivered",
			    job->a.workload_id, job->a.attempt);
			return;
		}
		backoff = worker_backoff_next(backoff);
	}
}

/* Reads a reply to PROGRESS or CHECKPOINT: stop requests and fencing set
 * the stop flag.  Returns 0 if the coordinator took the report. */
static int
worker_job_report_reply(struct worker_job *job, const struct wmsg *reply)
{
	if (reply->type == WMSG_ACK) {
		if (reply->stop_attempt)
			worker_job_stop_set(job, WORKER_STOP_CANCEL);
		return 0;
	}
	/* ERR_STALE with reregister is about our registration, not the
	 * attempt: the attempt carries on under the next generation. */
	if (reply->type == WMSG_ERROR && reply->err == ERR_STALE &&
	    !reply->reregister)
		worker_job_stop_set(job, WORKER_STOP_CANCEL);
	return -1;
}

static void
worker_job_progress_send(struct worker *w, struct worker_job *job)
{
	struct errbuf	 eb;
	struct wmsg_report	 rep;
	struct wmsg	 reply;

	memset(&rep, 0, sizeof rep);
	rep.type = WMSG_PROGRESS;
	memcpy(rep.workload_id, job->a.workload_id, sizeof rep.workload_id);
	rep.attempt = job->a.attempt;
	rep.progress = job->progress;
	rep.message = job->progress_msg;
	job->progress_pending = false;
	job->progress_sent_ms = clock_mono_ms();
	if (worker_report(w, &rep, &reply, &eb) != 0) {
		log_debug("PROGRESSFAIL", "%s#%" PRIu32 ": %s",
		    job->a.workload_id, job->a.attempt, eb.msg);
		return;
	}
	worker_job_report_reply(job, &reply);
	wmsg_fini(&reply);
}

static void
worker_host_progress(struct niyanta_ctx *ctx, double percent, const char *message)
{
	struct worker_job	*job = ctx->job;

	if (!isfinite(percent) || percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	job->progress = percent;
	if (str_set(&job->progress_msg, message) != 0)
		return;
	job->progress_pending = true;
	if (clock_mono_ms() - job->progress_sent_ms >= WORKER_PROGRESS_MS)
		worker_job_progress_send(ctx->w, job);
}

/* Sends one chunk of checkpoint job->ckpt_seq, retrying what may pass on
 * a second try (a coordinator away, a chunk damaged on the way).  0 once
 * the coordinator took it. */
static int
worker_ckpt_chunk_send(struct worker *w, struct worker_job *job,
    struct wmsg *req)
{
	struct errbuf	 eb;
	struct wmsg	 reply;
	uint64_t	 backoff = WORKER_BACKOFF_MIN_MS;
	int		 tries, rc;

	for (tries = 0; tries < WORKER_CHECKPOINT_TRIES; tries++) {
		rc = worker_call(w, req, &reply, WORKER_CALL_MS, &eb);
		if (rc == 0) {
			rc = worker_job_report_reply(job, &reply);
			if (rc != 0 && reply.type == WMSG_ERROR &&
			    (reply.reregister || reply.err == ERR_INVAL ||
			    worker_err_retryable(reply.err)))
				rc = ERR_UNAVAIL;
			else if (rc != 0)
				log_warn("CKPTREF", "%s#%" PRIu32 ": checkpoint "
				    "%" PRIu64 " refused: %s: %s",
				    job->a.workload_id, job->a.attempt,
				    job->ckpt_seq, err_code_name(reply.err),
				    reply.message != NULL ? reply.message : "");
			wmsg_fini(&reply);
			if (rc == 0)
				return 0;
			if (rc != ERR_UNAVAIL)
				return -1;
		} else {
			log_warn("CKPTFAIL", "%s#%" PRIu32 ": checkpoint: %s",
			    job->a.workload_id, job->a.attempt, eb.msg);
		}
		if (tries + 1 < WORKER_CHECKPOINT_TRIES && !worker_pause(w, backoff))
			break;
		backoff = worker_backoff_next(backoff);
	}
	return -1;
}

static int
worker_host_checkpoint(struct niyanta_ctx *ctx, const void *data, size_t len)
{
	struct worker_job	*job = ctx->job;
	struct wmsg		 req;
	uint8_t			*frame;
	size_t			 flen, off;
	uint32_t		 i, count;

	if (len > ctx->w->checkpoint_max || (data == NULL && len > 0)) {
		log_warn("CKPTBIG", "%s#%" PRIu32 ": checkpoint of %zu bytes "
		    "refused (limit %" PRIu64 ")", job->a.workload_id,
		    job->a.attempt, len, ctx->w->checkpoint_max);
		return -1;
	}
	memset(&req, 0, sizeof req);
	if (ckpt_frame_build(data, len, &frame, &flen, req.blob_hash) != 0) {
		log_warn("CKPTFAIL", "%s#%" PRIu32 ": checkpoint: cannot "
		    "compress %zu bytes", job->a.workload_id, job->a.attempt, len);
		return -1;
	}
	/* A new sequence number per checkpoint, kept across retries of its
	 * chunks: a chunk sent twice is staged once. */
	job->ckpt_seq++;
	count = ckpt_chunk_count(flen);
	req.type = WMSG_CHECKPOINT;
	memcpy(req.workload_id, job->a.workload_id, sizeof req.workload_id);
	req.attempt = job->a.attempt;
	req.checkpoint_seq = job->ckpt_seq;
	req.chunk_count = count;
	req.total_len = flen;
	req.raw_len = len;
	for (i = 0; i < count; i++) {
		ckpt_chunk_span(flen, i, &off, &req.blob_len);
		req.chunk_index = i;
		req.blob = frame + off;
		ckpt_chunk_hash(req.blob, req.blob_len, req.chunk_hash);
		if (worker_ckpt_chunk_send(ctx->w, job, &req) != 0) {
			free(frame);
			return -1;
		}
	}
	free(frame);
	job->ckpt_last_ms = clock_mono_ms();
	job->ckpt_last_progress = job->progress;
	return 0;
}

/* The checkpoint policy: the workload's own, else the worker's default for
 * its type (the last matching entry), else none. */
static void
worker_job_policy(const struct worker *w, struct worker_job *job)
{
	unsigned	 i;

	job->ckpt_interval_s = job->a.checkpoint_interval_s;
	job->ckpt_progress_pct = job->a.checkpoint_progress_pct;
	if (job->ckpt_interval_s != 0 || job->ckpt_progress_pct != 0)
		return;
	for (i = 0; i < w->n_ckpt_defaults; i++) {
		const struct worker_ckpt_default *d = &w->ckpt_defaults[i];

		if (d->type == NULL || strcmp(d->type, job->a.type) == 0) {
			job->ckpt_interval_s = d->interval_seconds;
			job->ckpt_progress_pct = d->on_progress_percent;
		}
	}
}

static bool
worker_host_checkpoint_due(struct niyanta_ctx *ctx)
{
	const struct worker_job	*job = ctx->job;

	if (job->ckpt_interval_s != 0 && clock_mono_ms() - job->ckpt_last_ms >=
	    (uint64_t)job->ckpt_interval_s * 1000)
		return true;
	return job->ckpt_progress_pct != 0 &&
	    job->progress >= job->ckpt_last_progress + job->ckpt_progress_pct;
}

static bool
worker_host_should_stop(struct niyanta_ctx *ctx)
{
	struct worker_job	*job = ctx->job;

	if (atomic_load(&job->stop) != WORKER_STOP_NONE)
		return true;
	if (job->deadline_ms != 0 && clock_mono_ms() >= job->deadline_ms) {
		worker_job_stop_set(job, WORKER_STOP_TIMEOUT);
		return true;
	}
	return false;
}

static void
worker_host_set_result(struct niyanta_ctx *ctx, const char *json_text)
{
	struct worker_job	*job = ctx->job;
	json_error_t		 jerr;
	json_t			*j;

	if (json_text == NULL ||
	    (j = json_loads(json_text, JSON_DECODE_ANY, &jerr)) == NULL) {
		log_warn("BADRESULT", "%s#%" PRIu32 ": plugin result is not "
		    "JSON%s%s", job->a.workload_id, job->a.attempt,
		    json_text != NULL ? ": " : "", json_text != NULL ? jerr.text : "");
		free(job->result);
		job->result = NULL;
		job->result_invalid = true;
		return;
	}
	json_decref(j);
	if (str_set(&job->result, json_text) == 0)
		job->result_invalid = false;
}

static void
worker_host_set_error(struct niyanta_ctx *ctx, const char *message)
{
	str_set(&ctx->job->error, message);
}

static void
worker_host_log(struct niyanta_ctx *ctx, const char *message)
{
	log_info("PLUGINLOG", "%s#%" PRIu32 ": %s", ctx->job->a.workload_id,
	    ctx->job->a.attempt, message != NULL ? message : "");
}

static const struct niyanta_host worker_host = {
	.progress = worker_host_progress,
	.checkpoint = worker_host_checkpoint,
	.should_stop = worker_host_should_stop,
	.set_result = worker_host_set_result,
	.set_error = worker_host_set_error,
	.log = worker_host_log,
	.checkpoint_due = worker_host_checkpoint_due,
};

/* The outcome to report for an attempt ended by a stop request. */
static int
worker_stop_outcome(const struct worker_job *job, int why, char *err, size_t errlen)
{
	switch (why) {
	case WORKER_STOP_CANCEL:
		snprintf(err, errlen, "stopped at the coordinator's request");
		return OUTCOME_CANCELLED;
	case WORKER_STOP_DRAIN:
		snprintf(err, errlen, "worker shutting down");
		return OUTCOME_ABANDONED;
	case WORKER_STOP_TIMEOUT:
		snprintf(err, errlen, "timed out after %" PRIu32 " s",
		    job->a.timeout_seconds);
		return OUTCOME_FAILED;
	default:
		snprintf(err, errlen, "plugin stopped without being asked to");
		return OUTCOME_FAILED;
	}
}

static void
worker_job_run(struct worker *w, struct worker_job *job)
{
	const struct niyanta_plugin	*p;
	struct niyanta_task		 task;
	struct niyanta_ctx		 ctx = { w, job };
	void				*state = NULL;
	char				 err[512];
	int				 r, why, outcome, st;

	if ((p = plugin_registry_find(w->reg, job->a.type)) == NULL) {
		snprintf(err, sizeof err, "unknown workload type \"%s\"",
		    job->a.type);
		worker_job_complete(w, job, OUTCOME_FAILED, NULL, err);
		return;
	}
	if ((why = atomic_load(&job->stop)) != WORKER_STOP_NONE) {
		outcome = worker_stop_outcome(job, why, err, sizeof err);
		worker_job_complete(w, job, outcome, NULL, err);
		return;
	}
	memset(&task, 0, sizeof task);
	task.workload_id = job->a.workload_id;
	task.attempt = job->a.attempt;
	task.type_name = job->a.type;
	task.params_json = job->a.params_json != NULL ? job->a.params_json : "{}";
	task.checkpoint = job->a.checkpoint;
	task.checkpoint_len = job->a.checkpoint_len;
	task.timeout_seconds = job->a.timeout_seconds;
	err[0] = '\0';
	if (p->init(&task, &state, err, sizeof err) != 0) {
		err[sizeof err - 1] = '\0';
		worker_job_complete(w, job, OUTCOME_FAILED, NULL,
		    err[0] != '\0' ? err : "plugin init failed");
		return;
	}
	if ((st = worker_job_start(w, job)) <= 0) {
		p->close(state);
		if (st < 0) {
			outcome = worker_stop_outcome(job, atomic_load(&job->stop),
			    err, sizeof err);
			worker_job_complete(w, job, outcome, NULL, err);
		}
		return;
	}
	log_info("STARTED", "%s#%" PRIu32 ": running %s", job->a.workload_id,
	    job->a.attempt, job->a.type);
	if (job->a.timeout_seconds > 0)
		job->deadline_ms = clock_mono_ms() +
		    (uint64_t)job->a.timeout_seconds * 1000;
	worker_job_policy(w, job);
	job->ckpt_last_ms = clock_mono_ms();
	r = p->execute(state, &ctx, &worker_host);
	if (job->progress_pending)
		worker_job_progress_send(w, job);
	p->close(state);

	why = atomic_load(&job->stop);
	switch (r) {
	case NIYANTA_SUCCEEDED:
		if (job->result_invalid) {
			worker_job_complete(w, job, OUTCOME_FAILED, NULL,
			    "plugin produced an invalid JSON result");
			return;
		}
		worker_job_complete(w, job, OUTCOME_SUCCEEDED, job->result, NULL);
		return;
	case NIYANTA_FAILED:
		/* A failure while a cancel or drain was under way is taken
		 * as the stop's doing. */
		if (why == WORKER_STOP_CANCEL || why == WORKER_STOP_DRAIN ||
		    why == WORKER_STOP_TIMEOUT) {
			outcome = worker_stop_outcome(job, why, err, sizeof err);
			worker_job_complete(w, job, outcome, job->result,
			    why == WORKER_STOP_TIMEOUT || job->error == NULL ?
			    err : job->error);
			return;
		}
		worker_job_complete(w, job, OUTCOME_FAILED, job->result,
		    job->error != NULL ? job->error : "workload failed");
		return;
	case NIYANTA_STOPPED:
		outcome = worker_stop_outcome(job, why, err, sizeof err);
		worker_job_complete(w, job, outcome, job->result, err);
		return;
	default:
		snprintf(err, sizeof err, "plugin returned an unknown outcome %d", r);
		worker_job_complete(w, job, OUTCOME_FAILED, NULL, err);
		return;
	}
}

static void *
worker_exec_main(void *arg)
{
	struct worker		*w = arg;
	struct worker_job	*job, **pp;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->qhead == NULL && !w->closing)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->closing)
			break;
		job = w->qhead;
		if ((w->qhead = job->qnext) == NULL)
			w->qtail = NULL;
		job->qnext = NULL;
		w->n_executing++;
		pthread_mutex_unlock(&w->mu);

		worker_job_run(w, job);

		pthread_mutex_lock(&w->mu);
		w->n_executing--;
		for (pp = &w->active; *pp != NULL; pp = &(*pp)->anext) {
			if (*pp == job) {
				*pp = job->anext;
				break;
			}
		}
		w->n_active--;
		memcpy(w->recent[w->recent_next].workload_id, job->a.workload_id,
		    sizeof w->recent[0].workload_id);
		w->recent[w->recent_next].attempt = job->a.attempt;
		w->recent_next = (w->recent_next + 1) % WORKER_RECENT_MAX;
		if (w->recent_n < WORKER_RECENT_MAX)
			w->recent_n++;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		worker_job_free(job);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- life cycle ---- */

int
worker_open(struct worker **out, const struct worker_config *cfg,
    struct errbuf *eb)
{
	struct worker		*w;
	pthread_condattr_t	 ca;
	unsigned		 i;
	int			 rc;

	*out = NULL;
	if (cfg->n_coordinators == 0)
		return err_setf(eb, ERR_INVAL, "no coordinator URL given");
	if (cfg->join_token == NULL || cfg->join_token[0] == '\0')
		return err_setf(eb, ERR_INVAL, "no join token given");
	if (cfg->worker_id == NULL || !worker_name_valid(cfg->worker_id))
		return err_setf(eb, ERR_INVAL, "invalid worker id \"%s\" (1 to 128 "
		    "characters from A-Z a-z 0-9 . _ : / -)",
		    cfg->worker_id != NULL ? cfg->worker_id : "");
	if (cfg->capacity == 0)
		return err_setf(eb, ERR_INVAL, "capacity must be at least 1");
	/* Checkpoint hashes are BLAKE2b (libsodium); idempotent. */
	if (sodium_init() < 0)
		return err_setf(eb, ERR_INTERNAL, "libsodium failed to start");
	if ((w = calloc(1, sizeof *w)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	w->capacity = cfg->capacity;
	w->offered = cfg->offered;
	w->drain_timeout_ms = cfg->drain_timeout_ms;
	w->checkpoint_max = cfg->checkpoint_max != 0 ? cfg->checkpoint_max :
	    WORKER_CHECKPOINT_MAX;
	if (cfg->n_ckpt_defaults > 0) {
		if ((w->ckpt_defaults = calloc(cfg->n_ckpt_defaults,
		    sizeof *w->ckpt_defaults)) == NULL)
			goto nomem;
		for (; w->n_ckpt_defaults < cfg->n_ckpt_defaults;
		    w->n_ckpt_defaults++) {
			struct worker_ckpt_default *d =
			    &w->ckpt_defaults[w->n_ckpt_defaults];

			*d = cfg->ckpt_defaults[w->n_ckpt_defaults];
			if (d->type != NULL && (d->type = strdup(d->type)) == NULL)
				goto nomem;
		}
	}
	for (i = 0; i < cfg->n_coordinators; i++)
		if (strlist_add(&w->urls, cfg->coordinators[i]) != 0)
			goto nomem;
	if ((w->token = strdup(cfg->join_token)) == NULL ||
	    (w->id = strdup(cfg->worker_id)) == NULL ||
	    (w->version = strdup(cfg->version != NULL ? cfg->version : "")) == NULL ||
	    (cfg->tags != NULL && tagset_dup(&w->tags, cfg->tags) != 0))
		goto nomem;

	if (pthread_condattr_init(&ca) != 0)
		goto nomem;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		goto nomem;
	}
	if (pthread_cond_init(&w->cv, &ca) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_condattr_destroy(&ca);
		goto nomem;
	}
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->rep_mu, NULL);
	pthread_cond_init(&w->rep_cv, NULL);
	w->sync_init = true;

	if ((rc = plugin_registry_new(&w->reg, eb)) != 0)
		goto fail;
	if (cfg->plugin_dir != NULL &&
	    (rc = plugin_registry_load_dir(w->reg, cfg->plugin_dir, eb)) != 0)
		goto fail;
	if (plugin_registry_names(w->reg, &w->caps) != 0)
		goto nomem;
	if ((rc = bus_client_open(&w->bus, (const char *const *)w->urls.v,
	    (unsigned)w->urls.n, eb)) != 0)
		goto fail;

	if ((w->exec = calloc(w->capacity, sizeof *w->exec)) == NULL)
		goto nomem;
	for (; w->n_exec < w->capacity; w->n_exec++)
		if (pthread_create(&w->exec[w->n_exec], NULL, worker_exec_main, w) != 0)
			goto nothread;
	if (pthread_create(&w->control, NULL, worker_control_main, w) != 0)
		goto nothread;
	w->control_started = true;
	if (pthread_create(&w->poller, NULL, worker_poll_main, w) != 0)
		goto nothread;
	w->poller_started = true;
	*out = w;
	return 0;
nothread:
	rc = err_setf(eb, ERR_INTERNAL, "cannot start worker threads");
	goto fail;
nomem:
	rc = err_setf(eb, ERR_NOMEM, "out of memory");
fail:
	worker_close(w);
	return rc;
}

int
worker_failure(struct worker *w)
{
	int	 rc;

	pthread_mutex_lock(&w->mu);
	rc = w->failure;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* Tells the coordinator this worker is stopping: it is sent no more work,
 * what it was given but has not started is placed elsewhere at once, and
 * its held poll is answered so that the poll thread can end.  One try: if
 * no coordinator answers, the dead timeout does the same later. */
static void
worker_drain_announce(struct worker *w)
{
	struct errbuf	 eb;
	struct wmsg	 req, reply;

	memset(&req, 0, sizeof req);
	req.type = WMSG_DRAIN;
	if (worker_call(w, &req, &reply, WORKER_DRAIN_CALL_MS, &eb) != 0) {
		log_warn("DRAINMSG", "could not tell a coordinator about the "
		    "drain: %s", eb.msg);
		return;
	}
	if (reply.type == WMSG_ERROR)
		log_warn("DRAINMSG", "coordinator refused the drain: %s: %s",
		    err_code_name(reply.err),
		    reply.message != NULL ? reply.message : "");
	wmsg_fini(&reply);
}

void
worker_stop(struct worker *w)
{
	struct worker_job	*job;
	uint64_t		 deadline, now;
	bool			 registered;

	pthread_mutex_lock(&w->mu);
	if (w->closing) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	log_info("DRAIN", "draining: %u attempts held, waiting up to %u ms",
	    w->n_active, w->drain_timeout_ms);
	w->stopping = true;
	for (job = w->active; job != NULL; job = job->anext)
		worker_job_stop_set(job, WORKER_STOP_DRAIN);
	pthread_cond_broadcast(&w->cv);
	registered = w->registered;
	pthread_mutex_unlock(&w->mu);
	if (registered)
		worker_drain_announce(w);
	pthread_mutex_lock(&w->mu);
	/* Wait for the last poll too: what it brings is handed back as
	 * ABANDONED rather than left for the coordinator to time out. */
	deadline = clock_mono_ms() + w->drain_timeout_ms;
	while ((w->n_active > 0 || (w->poller_started && !w->poll_done)) &&
	    (now = clock_mono_ms()) < deadline) {
		for (job = w->active; job != NULL; job = job->anext)
			worker_job_stop_set(job, WORKER_STOP_DRAIN);
		worker_wait_ms(w, deadline - now);
	}
	if (w->n_active > 0)
		log_warn("DRAINLATE", "%u attempts still held after %u ms; "
		    "leaving them", w->n_active, w->drain_timeout_ms);
	w->closing = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
worker_close(struct worker *w)
{
	struct worker_job	*job;
	unsigned		 i;

	if (w == NULL)
		return;
	if (w->poller_started)
		worker_stop(w);
	if (w->sync_init) {
		pthread_mutex_lock(&w->mu);
		w->stopping = w->closing = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	if (w->control_started)
		pthread_join(w->control, NULL);
	if (w->poller_started)
		pthread_join(w->poller, NULL);
	if (w->sync_init) {
		pthread_mutex_lock(&w->mu);
		i = w->n_executing;
		pthread_mutex_unlock(&w->mu);
		if (i > 0) {
			/* A plugin ignores its stop: its thread still uses the
			 * worker, so leave everything to the process exit. */
			log_warn("CLOSELATE", "%u attempts ignore the stop; not "
			    "waiting for them", i);
			return;
		}
	}
	for (i = 0; i < w->n_exec; i++)
		pthread_join(w->exec[i], NULL);
	free(w->exec);
	while ((job = w->active) != NULL) {
		w->active = job->anext;
		worker_job_free(job);
	}
	bus_client_close(w->bus);
	plugin_registry_free(w->reg);
	strlist_fini(&w->caps);
	if (w->sync_init) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->rep_cv);
		pthread_mutex_destroy(&w->rep_mu);
	}
	strlist_fini(&w->urls);
	free(w->token);
	free(w->id);
	free(w->version);
	for (i = 0; i < w->n_ckpt_defaults; i++)
		free((char *)w->ckpt_defaults[i].type);
	free(w->ckpt_defaults);
	tagset_fini(&w->tags);
	free(w);
}
