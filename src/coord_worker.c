/*
 * The coordinator's side of the worker protocol (net/wire_worker.h).
 *
 * Requests arrive on the bus's threads.  Reports that change state (start,
 * progress, checkpoint, completion, registration) become commands and are
 * answered once applied: START, PROGRESS and COMPLETE (alone, or batched
 * in REPORTS) asynchronously, from the coordinator's callback thread, the
 * rest by the request thread, which waits.  Heartbeats are only noted in memory here; the
 * duty thread commits them in batches (one log entry for the whole fleet),
 * and declares dead the workers that fall silent.
 *
 * Assignments travel on long polls: a worker's POLL is held until the
 * scheduler assigns it work (an FSM_EV_ASSIGNED event wakes it) or the
 * poll's time is up.  An assignment stays SCHEDULED until the worker's START
 * acknowledges it, and is sent again on a later poll if that takes longer
 * than COORD_RESEND_MS, so it is delivered at least once; the worker ignores
 * copies of an attempt it already has.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "net/bus.h"
#include "net/wire_worker.h"
#include "src/clock.h"
#include "src/coord_internal.h"
#include "src/err.h"
#include "src/log.h"
#include "src/secret.h"

#define COORD_RESEND_MS		3000	/* unacknowledged assignment is re-sent after */
#define COORD_JOIN_SECRET	"join_token"
/* Largest checkpoint chunk a worker may send (it sends 1 MiB ones). */
#define COORD_CHUNK_MAX		((size_t)4 << 20)
#define COORD_HASH_BUCKETS	1024

/* An assignment sent to a worker, or an attempt seen started there. */
struct cw_sent {
	char		 workload_id[MODEL_ID_LEN + 1];
	uint32_t	 attempt;
	uint64_t	 at_mono;	/* last sent */
	bool		 started;	/* it needs no more sending */
};

struct cw_worker {
	char			*id;
	uint64_t		 generation;	/* as last seen in a request */
	uint64_t		 last_seen_mono;
	uint64_t		 last_seen_wall;
	bool			 heard;		/* heartbeat not yet batched */
	struct bus_call		*parked;	/* held POLL, or NULL */
	uint64_t		 parked_until;	/* mono ms */
	bool			 wake;		/* something to deliver */
	bool			 draining;	/* said DRAIN: polls are not held */
	struct wmsg_attempt	*stops;		/* attempts to tell it to stop */
	size_t			 n_stops;
	struct cw_sent		*sent;		/* of the workloads on it */
	size_t			 n_sent;
	struct cw_worker	*next;		/* hash chain */
};

struct coord_workers {
	struct coord		*coord;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	bool			 stopping;
	pthread_t		 thread;
	bool			 thread_started;
	struct cw_worker	*buckets[COORD_HASH_BUCKETS];
};

static unsigned
cw_hash(const char *s)
{
	return str_hash(s) % COORD_HASH_BUCKETS;
}

/* The in-memory record of worker id, created if absent. Caller holds mu. */
static struct cw_worker *
cw_get(struct coord_workers *cw, const char *id, bool create)
{
	struct cw_worker	*w;
	unsigned		 h = cw_hash(id);

	for (w = cw->buckets[h]; w != NULL; w = w->next)
		if (strcmp(w->id, id) == 0)
			return w;
	if (!create)
		return NULL;
	w = xcalloc(1, sizeof *w);
	w->id = xstrdup(id);
	w->next = cw->buckets[h];
	cw->buckets[h] = w;
	return w;
}

static void
cw_reply_error(struct bus_call *call, int err, const char *msg, bool reregister)
{
	struct wmsg	 r;

	memset(&r, 0, sizeof r);
	r.type = WMSG_ERROR;
	r.err = err;
	r.message = (char *)msg;
	r.reregister = reregister;
	bus_call_reply(call, &r);
}

static void
cw_reply_ack(struct bus_call *call, bool stop)
{
	struct wmsg	 r;

	memset(&r, 0, sizeof r);
	r.type = WMSG_ACK;
	r.stop_attempt = stop;
	bus_call_reply(call, &r);
}

/* Answers an error for a failed proposal: the worker retries. */
static void
cw_reply_propose_error(struct bus_call *call, int rc, const struct errbuf *eb)
{
	cw_reply_error(call, rc, eb->msg, false);
}

static void
cw_cmd_init(struct cmd *cmd, enum cmd_type type, const struct wmsg *req, char *actor,
    size_t actor_len)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->type = type;
	cmd->now_ms = clock_wall_ms();
	snprintf(actor, actor_len, "worker:%s", req->worker_id);
	cmd->actor = actor;
	cmd->worker_id = req->worker_id;
	memcpy(cmd->workload_id, req->workload_id, sizeof cmd->workload_id);
	cmd->attempt = req->attempt;
}

/* Notes that worker id was heard from now. */
static void
cw_touch(struct coord_workers *cw, const char *id, uint64_t generation)
{
	struct cw_worker	*w;

	pthread_mutex_lock(&cw->mu);
	w = cw_get(cw, id, true);
	w->generation = generation;
	w->last_seen_mono = clock_mono_ms();
	w->last_seen_wall = clock_wall_ms();
	w->heard = true;
	pthread_mutex_unlock(&cw->mu);
}

/* True if req comes from the worker's current, live registration; else
 * answers it with "register again". */
static bool
cw_check_registration(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	struct worker_rec	 rec;
	bool			 ok;

	if (req->worker_id == NULL) {
		cw_reply_error(call, ERR_PROTO, "worker_id is required", false);
		return false;
	}
	memset(&rec, 0, sizeof rec);
	if (fsm_worker_get(coord_fsm(cw->coord), req->worker_id, &rec) != 0) {
		cw_reply_error(call, ERR_NOTFOUND, "unknown worker: register first", true);
		return false;
	}
	ok = rec.status != WORKER_DEAD && rec.generation == req->generation;
	worker_rec_fini(&rec);
	if (!ok) {
		cw_reply_error(call, ERR_STALE,
		    "this registration is no longer current: register again", true);
		return false;
	}
	return true;
}

static bool
cw_require_leader(struct coord_workers *cw, struct bus_call *call)
{
	if (coord_ready(cw->coord))
		return true;
	cw_reply_error(call, ERR_NOTLEADER, "this coordinator is not the ready leader", false);
	return false;
}

/* A REGISTER on its way through the log. */
struct cw_pending_register {
	struct coord_workers	*cw;
	struct bus_call		*call;
	char			*worker_id;
};

/*
 * The registration is applied (or failed): answer it, on the callback
 * thread.  Registrations do not hold a request thread while they commit:
 * after a restart or a failover the whole fleet registers at once, and
 * 1,000 workers through 64 waiting threads took 1.5 s under load.
 */
static void
cw_register_done(void *arg, int rc, const struct errbuf *eb)
{
	struct cw_pending_register	*pr = arg;
	struct coord_workers		*cw = pr->cw;
	const struct coord_config	*cfg = coord_config_get(cw->coord);
	struct worker_rec		 rec;
	struct wmsg			 r;

	memset(&rec, 0, sizeof rec);
	if (rc != 0) {
		cw_reply_propose_error(pr->call, rc, eb);
		goto out;
	}
	if (fsm_worker_get(coord_fsm(cw->coord), pr->worker_id, &rec) != 0) {
		cw_reply_error(pr->call, ERR_INTERNAL, "registration vanished", false);
		goto out;
	}
	log_info("WORKERJOIN", "worker %s registered (generation %llu, %u slots, %zu types)",
	    rec.id, (unsigned long long)rec.generation, rec.capacity,
	    rec.capabilities.n);

	pthread_mutex_lock(&cw->mu);
	{
		struct cw_worker	*w = cw_get(cw, rec.id, true);

		/* A new registration forgets what was sent to the old one:
		 * its SCHEDULED work is re-sent on the next poll. */
		w->n_sent = 0;
		w->n_stops = 0;
		w->draining = false;
		w->generation = rec.generation;
		w->last_seen_mono = clock_mono_ms();
		w->last_seen_wall = clock_wall_ms();
		w->wake = true;
	}
	pthread_cond_signal(&cw->cv);
	pthread_mutex_unlock(&cw->mu);

	memset(&r, 0, sizeof r);
	r.type = WMSG_REGISTERED;
	r.generation = rec.generation;
	r.heartbeat_ms = cfg->worker_heartbeat_ms;
	r.wait_ms = cfg->poll_wait_ms;
	bus_call_reply(pr->call, &r);
	coord_duty_wake(cw->coord);
out:
	worker_rec_fini(&rec);
	free(pr->worker_id);
	free(pr);
}

static void
cw_handle_register(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	struct cw_pending_register	*pr;
	struct errbuf			 eb = { 0 };
	struct cmd			 cmd;
	uint8_t				 want[32], got[32];
	char				 actor[MODEL_NAME_MAX + 16];
	size_t				 i;
	int				 rc;

	if (req->worker_id == NULL || !model_name_valid(req->worker_id)) {
		cw_reply_error(call, ERR_INVAL, "worker id must be 1-128 characters of "
		    "[A-Za-z0-9._:/-]", false);
		return;
	}
	if (fsm_secret_get(coord_fsm(cw->coord), COORD_JOIN_SECRET, want) != 0 ||
	    req->token == NULL) {
		cw_reply_error(call, ERR_AUTH, "join token refused", false);
		return;
	}
	secret_hash(req->token, got);
	if (!secret_hash_equal(want, got)) {
		log_warn("JOINREFUSED", "worker %s presented a wrong join token",
		    req->worker_id);
		cw_reply_error(call, ERR_AUTH, "join token refused", false);
		return;
	}
	if (req->capacity == 0 || req->capacity > 100000) {
		cw_reply_error(call, ERR_INVAL, "capacity must be 1-100000", false);
		return;
	}
	if (req->offered.cpu_millis > RESOURCE_CPU_MAX ||
	    req->offered.memory_mb > RESOURCE_MEMORY_MAX ||
	    req->offered.gpus > RESOURCE_GPUS_MAX) {
		cw_reply_error(call, ERR_INVAL, "resources out of range", false);
		return;
	}
	for (i = 0; i < req->capabilities.n; i++)
		if (!model_name_valid(req->capabilities.v[i])) {
			cw_reply_error(call, ERR_INVAL, "invalid capability name", false);
			return;
		}
	for (i = 0; i < req->tags.n; i++)
		if (!model_name_valid(req->tags.v[i].key) ||
		    !model_name_valid(req->tags.v[i].value)) {
			cw_reply_error(call, ERR_INVAL, "invalid tag", false);
			return;
		}

	cw_cmd_init(&cmd, CMD_WORKER_REGISTER, req, actor, sizeof actor);
	cmd.worker_id = NULL;
	cmd.worker.id = req->worker_id;
	cmd.worker.tags = req->tags;
	cmd.worker.capabilities = req->capabilities;
	cmd.worker.capacity = req->capacity;
	cmd.worker.offered = req->offered;
	cmd.worker.version = req->version;
	if (req->n_running > 0)
		cmd.running = xcalloc(req->n_running, sizeof *cmd.running);
	for (i = 0; i < req->n_running; i++) {
		memcpy(cmd.running[i].workload_id, req->running[i].workload_id,
		    sizeof cmd.running[i].workload_id);
		cmd.running[i].attempt = req->running[i].attempt;
	}
	cmd.n_running = req->n_running;
	pr = xcalloc(1, sizeof *pr);
	pr->cw = cw;
	pr->call = call;
	pr->worker_id = xstrdup(req->worker_id);
	rc = coord_propose_async(cw->coord, &cmd, cw_register_done, pr, &eb);
	free(cmd.running);
	if (rc != 0) {
		cw_reply_propose_error(call, rc, &eb);
		free(pr->worker_id);
		free(pr);
	}
}

/* True if the attempt is no longer this worker's to run. */
static bool
cw_attempt_stale(struct coord_workers *cw, const char *worker_id,
    const char *workload_id, uint32_t attempt)
{
	struct workload	 wl;
	bool		 stale;

	memset(&wl, 0, sizeof wl);
	if (fsm_workload_get(coord_fsm(cw->coord), workload_id, &wl) != 0)
		return true;
	stale = wl.attempt != attempt || !str_eq(wl.worker_id, worker_id) ||
	    !wl_status_holds_slot(wl.status) || wl.cancel_requested;
	workload_fini(&wl);
	return stale;
}

static void
cw_handle_heartbeat(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	struct wmsg	 r;
	size_t		 i;

	if (!cw_check_registration(cw, call, req))
		return;
	cw_touch(cw, req->worker_id, req->generation);
	memset(&r, 0, sizeof r);
	r.type = WMSG_HEARTBEAT_ACK;
	if (req->n_running > 0)
		r.stop = xcalloc(req->n_running, sizeof *r.stop);
	for (i = 0; i < req->n_running; i++)
		if (cw_attempt_stale(cw, req->worker_id, req->running[i].workload_id,
		    req->running[i].attempt))
			r.stop[r.n_stop++] = req->running[i];
	bus_call_reply(call, &r);
	free(r.stop);
}

/* w's entry for workload_id, or NULL. */
static struct cw_sent *
cw_sent_find(struct cw_worker *w, const char *workload_id)
{
	size_t	 j;

	for (j = 0; j < w->n_sent; j++)
		if (strcmp(w->sent[j].workload_id, workload_id) == 0)
			return &w->sent[j];
	return NULL;
}

/* True if entry e (or NULL) says attempt needs no sending at now: seen
 * started, or sent less than COORD_RESEND_MS ago. */
static bool
cw_sent_covers(const struct cw_sent *e, uint32_t attempt, uint64_t now)
{
	return e != NULL && e->attempt == attempt &&
	    (e->started || now - e->at_mono < COORD_RESEND_MS);
}

/* Notes (workload_id, attempt) sent at now, or seen started. */
static void
cw_sent_note(struct cw_worker *w, const char *workload_id, uint32_t attempt,
    uint64_t now, bool started)
{
	struct cw_sent	*e;

	if ((e = cw_sent_find(w, workload_id)) == NULL) {
		w->sent = xrealloc(w->sent, (w->n_sent + 1) * sizeof *w->sent);
		e = &w->sent[w->n_sent++];
		memcpy(e->workload_id, workload_id, sizeof e->workload_id);
	}
	e->attempt = attempt;
	e->at_mono = now;
	e->started = started;
}

/* Forgets the entries of workloads that no longer hold a slot on w. */
static void
cw_sent_prune(struct cw_worker *w, const struct fsm_slot *slots, size_t n)
{
	size_t	 j = 0, i;

	while (j < w->n_sent) {
		for (i = 0; i < n; i++)
			if (strcmp(slots[i].id, w->sent[j].workload_id) == 0)
				break;
		if (i < n)
			j++;
		else
			w->sent[j] = w->sent[--w->n_sent];
	}
}

/* The assignment of wl into a. */
static void
cw_assignment_fill(struct coord_workers *cw, const struct workload *wl,
    struct wmsg_assignment *a)
{
	memcpy(a->workload_id, wl->id, sizeof a->workload_id);
	a->attempt = wl->attempt;
	a->type = xstrdup(wl->type);
	a->params_json = xstrdup(wl->params_json ? wl->params_json : "{}");
	a->timeout_seconds = wl->timeout_seconds;
	a->checkpoint_interval_s = wl->ckpt_policy.interval_seconds;
	a->checkpoint_progress_pct = wl->ckpt_policy.on_progress_percent;
	if (wl->checkpoint_seq > 0 &&
	    fsm_checkpoint_get(coord_fsm(cw->coord), wl->id, 0, &a->checkpoint,
	    &a->checkpoint_len, &a->checkpoint_seq, NULL) != 0) {
		a->checkpoint = NULL;
		a->checkpoint_len = 0;
		a->checkpoint_seq = 0;
	}
}

/*
 * Builds the WORK reply for w: SCHEDULED work not sent recently, and stop
 * notices.  Caller holds mu; the fsm reads do not take it.  The by_worker
 * index names each slot's attempt, so a workload already seen started, or
 * sent less than COORD_RESEND_MS ago, is skipped without being read: a
 * reply reads only what it may send.
 */
static void
cw_build_work(struct coord_workers *cw, struct cw_worker *w, struct wmsg *r)
{
	struct fsm_slot	*slots = NULL;
	struct cw_sent	*e;
	struct workload	 wl;
	size_t		 n_slots = 0, i;
	uint64_t	 now = clock_mono_ms();

	memset(r, 0, sizeof *r);
	r->type = WMSG_WORK;
	r->stop = w->stops;
	r->n_stop = w->n_stops;
	w->stops = NULL;
	w->n_stops = 0;
	w->wake = false;
	if (fsm_worker_slot_list(coord_fsm(cw->coord), w->id, &slots,
	    &n_slots) != 0)
		return;
	cw_sent_prune(w, slots, n_slots);
	r->assignments = xcalloc(n_slots ? n_slots : 1, sizeof *r->assignments);
	for (i = 0; i < n_slots; i++) {
		/* Attempt 0: an index written before it named attempts. */
		e = cw_sent_find(w, slots[i].id);
		if (slots[i].attempt != 0 &&
		    cw_sent_covers(e, slots[i].attempt, now))
			continue;
		memset(&wl, 0, sizeof wl);
		if (fsm_workload_get(coord_fsm(cw->coord), slots[i].id, &wl) != 0)
			continue;
		if (wl.status != WL_SCHEDULED) {
			/* Started there: this attempt needs no more reading. */
			if (str_eq(wl.worker_id, w->id))
				cw_sent_note(w, wl.id, wl.attempt, now, true);
		} else if (!wl.cancel_requested &&
		    !cw_sent_covers(e, wl.attempt, now)) {
			cw_assignment_fill(cw, &wl,
			    &r->assignments[r->n_assignments++]);
			cw_sent_note(w, wl.id, wl.attempt, now, false);
		}
		workload_fini(&wl);
	}
	free(slots);
}

static void
cw_work_fini(struct wmsg *r)
{
	size_t	 i;

	for (i = 0; i < r->n_assignments; i++)
		wmsg_assignment_fini(&r->assignments[i]);
	free(r->assignments);
	free(r->stop);
}

static void
cw_handle_poll(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	const struct coord_config	*cfg = coord_config_get(cw->coord);
	struct cw_worker		*w;
	struct bus_call			*old = NULL;
	struct wmsg			 r;
	uint32_t			 wait = req->wait_ms;

	if (!cw_check_registration(cw, call, req))
		return;
	cw_touch(cw, req->worker_id, req->generation);
	if (wait > cfg->poll_wait_ms)
		wait = cfg->poll_wait_ms;

	pthread_mutex_lock(&cw->mu);
	w = cw_get(cw, req->worker_id, true);
	cw_build_work(cw, w, &r);
	if (r.n_assignments > 0 || r.n_stop > 0 || wait == 0 || cw->stopping ||
	    w->draining) {
		pthread_mutex_unlock(&cw->mu);
		bus_call_reply(call, &r);
		cw_work_fini(&r);
		return;
	}
	cw_work_fini(&r);
	/* Nothing yet: hold the poll.  A worker has one poll in flight; an
	 * older one still held is answered empty so it is not left hanging. */
	old = w->parked;
	w->parked = call;
	w->parked_until = clock_mono_ms() + wait;
	pthread_cond_signal(&cw->cv);
	pthread_mutex_unlock(&cw->mu);
	if (old != NULL) {
		memset(&r, 0, sizeof r);
		r.type = WMSG_WORK;
		bus_call_reply(old, &r);
	}
}

/*
 * DRAIN: the worker is shutting down.  It is marked draining through the
 * log (no more placements; what it was given but has not started goes back
 * to PENDING), and its held poll is answered now, so that an idle worker
 * exits at once instead of when the poll would have timed out.
 */
static void
cw_handle_drain(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	struct errbuf		 eb = { 0 };
	struct cw_worker	*w;
	struct bus_call		*held;
	struct wmsg		 r;
	struct cmd		 cmd;
	char			 actor[MODEL_NAME_MAX + 16];
	int			 rc;

	if (!cw_check_registration(cw, call, req))
		return;
	cw_touch(cw, req->worker_id, req->generation);
	pthread_mutex_lock(&cw->mu);
	w = cw_get(cw, req->worker_id, true);
	w->draining = true;
	held = w->parked;
	w->parked = NULL;
	pthread_mutex_unlock(&cw->mu);
	if (held != NULL) {
		memset(&r, 0, sizeof r);
		r.type = WMSG_WORK;
		bus_call_reply(held, &r);
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_WORKER_DRAIN;
	cmd.now_ms = clock_wall_ms();
	snprintf(actor, sizeof actor, "worker:%s", req->worker_id);
	cmd.actor = actor;
	cmd.worker_id = req->worker_id;
	cmd.generation = req->generation;
	rc = coord_propose(cw->coord, &cmd, &eb);
	if (rc == 0 || rc == ERR_STALE)
		cw_reply_ack(call, false);
	else
		cw_reply_propose_error(call, rc, &eb);
}

/* After a report of (workload_id, attempt) from worker_id: a running
 * attempt is noted started (no more sending, nor reading to decide it),
 * anything else forgotten. */
static void
cw_sent_reported(struct coord_workers *cw, const char *worker_id,
    const struct wmsg_attempt *a, bool running)
{
	struct cw_worker	*w;
	struct cw_sent		*e;

	pthread_mutex_lock(&cw->mu);
	if ((w = cw_get(cw, worker_id, false)) != NULL) {
		if (running)
			cw_sent_note(w, a->workload_id, a->attempt,
			    clock_mono_ms(), true);
		else if ((e = cw_sent_find(w, a->workload_id)) != NULL)
			*e = w->sent[--w->n_sent];
	}
	pthread_mutex_unlock(&cw->mu);
}

/*
 * A checkpoint chunk is checked before it goes into the log: its own hash
 * (a chunk damaged on the way is refused here and sent again), and sizes
 * within the configured maximum.  Answers the refusal itself.
 */
static bool
cw_checkpoint_chunk_ok(struct coord_workers *cw, struct bus_call *call,
    const struct wmsg *req)
{
	const struct coord_config	*cfg = coord_config_get(cw->coord);
	uint8_t				 h[16];
	char				 msg[160];

	if (req->raw_len > cfg->checkpoint_max) {
		snprintf(msg, sizeof msg, "checkpoint of %" PRIu64 " bytes is over "
		    "the limit of %" PRIu64, req->raw_len, cfg->checkpoint_max);
		cw_reply_error(call, ERR_TOOBIG, msg, false);
		return false;
	}
	if (req->chunk_count == 0 || req->chunk_index >= req->chunk_count ||
	    req->chunk_count > req->total_len ||
	    req->blob_len == 0 || req->blob_len > COORD_CHUNK_MAX ||
	    req->blob_len > req->total_len ||
	    req->total_len > ZSTD_compressBound(cfg->checkpoint_max)) {
		cw_reply_error(call, ERR_PROTO, "malformed checkpoint chunk", false);
		return false;
	}
	crypto_generichash(h, sizeof h, req->blob, req->blob_len, NULL, 0);
	if (sodium_memcmp(h, req->chunk_hash, sizeof h) != 0) {
		snprintf(msg, sizeof msg, "checkpoint %" PRIu64 " chunk %" PRIu32
		    ": hash mismatch, corrupt in transit", req->checkpoint_seq,
		    req->chunk_index);
		log_warn("CKPTCORRUPT", "%s#%" PRIu32 " from %s: %s",
		    req->workload_id, req->attempt, req->worker_id, msg);
		cw_reply_error(call, ERR_INVAL, msg, false);
		return false;
	}
	return true;
}

/* Reports on their way through the log: what the answer needs. */
struct cw_pending_reports {
	struct coord_workers	*cw;
	struct bus_call		*call;
	char			*worker_id;
	bool			 single;	/* answer ACK (one report), not REPORTS_ACK */
	size_t			 n;
	struct wmsg_attempt	*attempts;
	enum wmsg_type		*types;
};

static void
cw_pending_reports_free(struct cw_pending_reports *pr)
{
	free(pr->worker_id);
	free(pr->attempts);
	free(pr->types);
	free(pr);
}

/*
 * The reports are applied (or not): answered from the coordinator's
 * callback thread.  Each report in the batch stood alone in the state
 * machine, so a fenced or finished one changed nothing; the answer tells
 * the worker to stop every reported attempt that is no longer its own.
 */
static void
cw_reports_done(void *arg, int rc, const struct errbuf *eb)
{
	struct cw_pending_reports	*pr = arg;
	struct coord_workers		*cw = pr->cw;
	struct wmsg			 r;
	size_t				 i;
	bool				 stale;

	if (rc != 0) {
		cw_reply_propose_error(pr->call, rc, eb);
		cw_pending_reports_free(pr);
		return;
	}
	memset(&r, 0, sizeof r);
	r.type = pr->single ? WMSG_ACK : WMSG_REPORTS_ACK;
	r.stop = xcalloc(pr->n, sizeof *r.stop);
	for (i = 0; i < pr->n; i++) {
		/* A cancel may have been requested meanwhile; a completed
		 * attempt needs no stop. */
		stale = pr->types[i] != WMSG_COMPLETE &&
		    cw_attempt_stale(cw, pr->worker_id,
		    pr->attempts[i].workload_id, pr->attempts[i].attempt);
		if (stale)
			r.stop[r.n_stop++] = pr->attempts[i];
		if (pr->types[i] == WMSG_START || pr->types[i] == WMSG_COMPLETE)
			cw_sent_reported(cw, pr->worker_id, &pr->attempts[i],
			    pr->types[i] == WMSG_START && !stale);
	}
	if (pr->single)
		r.stop_attempt = r.n_stop > 0;
	bus_call_reply(pr->call, &r);
	free(r.stop);
	cw_pending_reports_free(pr);
}

static enum cmd_type
cw_report_cmd_type(enum wmsg_type t)
{
	return t == WMSG_START ? CMD_START : t == WMSG_PROGRESS ? CMD_PROGRESS :
	    CMD_COMPLETE;
}

/*
 * START, PROGRESS and COMPLETE, alone or several in one REPORTS message,
 * become one REPORT_BATCH command.  The request thread does not wait for
 * it: the answer goes out when the entry is applied (cw_reports_done), so
 * a thousand workers' reports need no thousand threads.
 */
static void
cw_propose_reports(struct coord_workers *cw, struct bus_call *call,
    const struct wmsg *req, const struct wmsg_report *reps, size_t n, bool single)
{
	struct cw_pending_reports	*pr;
	struct errbuf			 eb = { 0 };
	struct cmd			 cmd;
	char				 actor[MODEL_NAME_MAX + 16];
	size_t				 i;
	int				 rc;

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_REPORT_BATCH;
	cmd.now_ms = clock_wall_ms();
	snprintf(actor, sizeof actor, "worker:%s", req->worker_id);
	cmd.actor = actor;
	cmd.worker_id = req->worker_id;
	cmd.reports = xcalloc(n, sizeof *cmd.reports);
	cmd.n_reports = n;
	pr = xcalloc(1, sizeof *pr);
	pr->cw = cw;
	pr->call = call;
	pr->worker_id = xstrdup(req->worker_id);
	pr->single = single;
	pr->n = n;
	pr->attempts = xcalloc(n, sizeof *pr->attempts);
	pr->types = xcalloc(n, sizeof *pr->types);
	for (i = 0; i < n; i++) {
		struct cmd_report	*r = &cmd.reports[i];

		r->type = cw_report_cmd_type(reps[i].type);
		memcpy(r->workload_id, reps[i].workload_id, sizeof r->workload_id);
		r->attempt = reps[i].attempt;
		r->progress = reps[i].progress;
		r->message = reps[i].message;
		r->outcome = (enum outcome)reps[i].outcome;
		r->result_json = reps[i].result_json;
		r->error = reps[i].error;
		memcpy(pr->attempts[i].workload_id, reps[i].workload_id,
		    sizeof pr->attempts[i].workload_id);
		pr->attempts[i].attempt = reps[i].attempt;
		pr->types[i] = reps[i].type;
	}
	rc = coord_propose_async(cw->coord, &cmd, cw_reports_done, pr, &eb);
	free(cmd.reports);
	if (rc != 0) {
		cw_reply_propose_error(call, rc, &eb);
		cw_pending_reports_free(pr);
	}
}

/* True if there are 1..WMSG_REPORTS_MAX reports, each naming a well-formed
 * workload id; otherwise answers the request with ERR_PROTO.  (Their
 * types and outcomes were checked when the message was decoded.) */
static bool
cw_reports_ok(struct bus_call *call, const struct wmsg_report *reps, size_t n)
{
	char	 msg[64];
	size_t	 i;

	if (n == 0 || n > WMSG_REPORTS_MAX) {
		snprintf(msg, sizeof msg, "REPORTS needs 1-%d reports",
		    WMSG_REPORTS_MAX);
		cw_reply_error(call, ERR_PROTO, msg, false);
		return false;
	}
	for (i = 0; i < n; i++)
		if (!model_id_valid(reps[i].workload_id)) {
			cw_reply_error(call, ERR_PROTO, "malformed workload id", false);
			return false;
		}
	return true;
}

static void
cw_handle_reports(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	if (!cw_check_registration(cw, call, req) ||
	    !cw_reports_ok(call, req->reports, req->n_reports))
		return;
	cw_touch(cw, req->worker_id, req->generation);
	cw_propose_reports(cw, call, req, req->reports, req->n_reports, false);
}

/* CHECKPOINT: one chunk, one command, answered once applied. */
static void
cw_handle_checkpoint(struct coord_workers *cw, struct bus_call *call,
    const struct wmsg *req)
{
	struct errbuf	 eb = { 0 };
	struct cmd	 cmd;
	char		 actor[MODEL_NAME_MAX + 16];
	int		 rc;

	if (!cw_check_registration(cw, call, req))
		return;
	if (!model_id_valid(req->workload_id)) {
		cw_reply_error(call, ERR_PROTO, "malformed workload id", false);
		return;
	}
	cw_touch(cw, req->worker_id, req->generation);
	if (!cw_checkpoint_chunk_ok(cw, call, req))
		return;
	cw_cmd_init(&cmd, CMD_CHECKPOINT, req, actor, sizeof actor);
	cmd.checkpoint_seq = req->checkpoint_seq;
	cmd.data = req->blob;
	cmd.data_len = req->blob_len;
	cmd.raw_len = req->raw_len;
	cmd.chunk_index = req->chunk_index;
	cmd.chunk_count = req->chunk_count;
	cmd.total_len = req->total_len;
	memcpy(cmd.blob_hash, req->blob_hash, sizeof cmd.blob_hash);
	cmd.checkpoint_keep = coord_config_get(cw->coord)->checkpoint_keep;
	rc = coord_propose(cw->coord, &cmd, &eb);
	switch (rc) {
	case 0:
		/* A cancel may have been requested meanwhile. */
		cw_reply_ack(call, cw_attempt_stale(cw, req->worker_id,
		    req->workload_id, req->attempt));
		break;
	case ERR_STALE:
	case ERR_NOTFOUND:
	case ERR_CONFLICT:
		/* Fenced: this attempt is not the worker's any more. */
		cw_reply_ack(call, true);
		break;
	default:
		cw_reply_propose_error(call, rc, &eb);
		break;
	}
}

/* START, PROGRESS, COMPLETE sent on their own: a batch of one. */
static void
cw_handle_report(struct coord_workers *cw, struct bus_call *call, const struct wmsg *req)
{
	struct wmsg_report	 one;

	if (!cw_check_registration(cw, call, req))
		return;
	memset(&one, 0, sizeof one);
	one.type = req->type;
	memcpy(one.workload_id, req->workload_id, sizeof one.workload_id);
	one.attempt = req->attempt;
	one.progress = req->progress;
	one.message = req->message;
	one.outcome = req->outcome;
	one.result_json = req->result_json;
	one.error = req->error;
	if (!cw_reports_ok(call, &one, 1))
		return;
	cw_touch(cw, req->worker_id, req->generation);
	cw_propose_reports(cw, call, req, &one, 1, true);
}

void
coord_workers_request(void *arg, struct bus_call *call, const struct wmsg *req)
{
	struct coord_workers	*cw = arg;

	if (req->type != WMSG_REGISTER && !cw_require_leader(cw, call))
		return;
	switch (req->type) {
	case WMSG_REGISTER:
		if (!cw_require_leader(cw, call))
			return;
		cw_handle_register(cw, call, req);
		break;
	case WMSG_HEARTBEAT:
		cw_handle_heartbeat(cw, call, req);
		break;
	case WMSG_POLL:
		cw_handle_poll(cw, call, req);
		break;
	case WMSG_DRAIN:
		cw_handle_drain(cw, call, req);
		break;
	case WMSG_START:
	case WMSG_PROGRESS:
	case WMSG_COMPLETE:
		cw_handle_report(cw, call, req);
		break;
	case WMSG_REPORTS:
		cw_handle_reports(cw, call, req);
		break;
	case WMSG_CHECKPOINT:
		cw_handle_checkpoint(cw, call, req);
		break;
	default:
		cw_reply_error(call, ERR_PROTO, "not a request", false);
		break;
	}
}

void
coord_workers_event(struct coord_workers *cw, const struct fsm_event *ev)
{
	struct cw_worker	*w;

	if (ev->worker_id == NULL)
		return;
	if (ev->type != FSM_EV_ASSIGNED && ev->type != FSM_EV_STOP)
		return;
	pthread_mutex_lock(&cw->mu);
	w = cw_get(cw, ev->worker_id, true);
	if (ev->type == FSM_EV_STOP) {
		w->stops = xrealloc(w->stops, (w->n_stops + 1) * sizeof *w->stops);
		memcpy(w->stops[w->n_stops].workload_id, ev->workload_id,
		    sizeof w->stops[w->n_stops].workload_id);
		w->stops[w->n_stops].attempt = ev->attempt;
		w->n_stops++;
	}
	w->wake = true;
	pthread_cond_signal(&cw->cv);
	pthread_mutex_unlock(&cw->mu);
}

/* Answers held polls that have work or whose time is up. */
static void *
cw_delivery_main(void *arg)
{
	struct coord_workers	*cw = arg;
	struct cw_worker	*w;
	struct bus_call		*call;
	struct timespec		 ts;
	struct wmsg		 r;
	uint64_t		 now, next, ns;
	unsigned		 b;
	bool			 again;

	pthread_mutex_lock(&cw->mu);
	while (!cw->stopping) {
		now = clock_mono_ms();
		next = now + 1000;
		again = false;
		for (b = 0; b < COORD_HASH_BUCKETS && !again; b++) {
			for (w = cw->buckets[b]; w != NULL; w = w->next) {
				if (w->parked == NULL)
					continue;
				if (!w->wake && w->parked_until > now) {
					if (w->parked_until < next)
						next = w->parked_until;
					continue;
				}
				call = w->parked;
				w->parked = NULL;
				cw_build_work(cw, w, &r);
				/* Reply outside the lock: sending may block. */
				pthread_mutex_unlock(&cw->mu);
				bus_call_reply(call, &r);
				cw_work_fini(&r);
				pthread_mutex_lock(&cw->mu);
				again = true;	/* the table may have changed */
				break;
			}
		}
		if (again)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (uint64_t)ts.tv_nsec + (next - now) * 1000000;
		ts.tv_sec += (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		pthread_cond_timedwait(&cw->cv, &cw->mu, &ts);
	}
	pthread_mutex_unlock(&cw->mu);
	return NULL;
}

int
coord_workers_open(struct coord_workers **out, struct coord *c, struct errbuf *eb)
{
	struct coord_workers	*cw;

	if ((cw = calloc(1, sizeof *cw)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	cw->coord = c;
	pthread_mutex_init(&cw->mu, NULL);
	pthread_cond_init(&cw->cv, NULL);
	if (pthread_create(&cw->thread, NULL, cw_delivery_main, cw) != 0) {
		coord_workers_close(cw);
		return err_setf(eb, ERR_INTERNAL, "cannot start the delivery thread");
	}
	cw->thread_started = true;
	pthread_setname_np(cw->thread, "niyanta-deliver");
	*out = cw;
	return 0;
}

void
coord_workers_stop(struct coord_workers *cw)
{
	struct cw_worker	*w;
	struct bus_call		*call;
	struct wmsg		 r;
	unsigned		 b;

	if (cw == NULL)
		return;
	pthread_mutex_lock(&cw->mu);
	cw->stopping = true;
	pthread_cond_broadcast(&cw->cv);
	pthread_mutex_unlock(&cw->mu);
	if (cw->thread_started) {
		pthread_join(cw->thread, NULL);
		cw->thread_started = false;
	}
	memset(&r, 0, sizeof r);
	r.type = WMSG_WORK;
	pthread_mutex_lock(&cw->mu);
	for (b = 0; b < COORD_HASH_BUCKETS; b++)
		for (w = cw->buckets[b]; w != NULL; w = w->next)
			if ((call = w->parked) != NULL) {
				w->parked = NULL;
				bus_call_reply(call, &r);
			}
	pthread_mutex_unlock(&cw->mu);
}

void
coord_workers_close(struct coord_workers *cw)
{
	struct cw_worker	*w, *next;
	unsigned		 b;

	if (cw == NULL)
		return;
	coord_workers_stop(cw);
	for (b = 0; b < COORD_HASH_BUCKETS; b++)
		for (w = cw->buckets[b]; w != NULL; w = next) {
			next = w->next;
			if (w->parked != NULL)
				bus_call_drop(w->parked);
			free(w->id);
			free(w->stops);
			free(w->sent);
			free(w);
		}
	pthread_cond_destroy(&cw->cv);
	pthread_mutex_destroy(&cw->mu);
	free(cw);
}

void
coord_workers_leader_start(struct coord_workers *cw)
{
	struct worker_rec	*recs = NULL;
	struct cw_worker	*w;
	size_t			 i, n = 0;
	uint64_t		 now = clock_mono_ms();

	if (fsm_worker_list(coord_fsm(cw->coord), &recs, &n) != 0)
		return;
	pthread_mutex_lock(&cw->mu);
	for (i = 0; i < n; i++) {
		if (recs[i].status == WORKER_DEAD)
			continue;
		w = cw_get(cw, recs[i].id, true);
		w->generation = recs[i].generation;
		w->last_seen_mono = now;
	}
	pthread_mutex_unlock(&cw->mu);
	for (i = 0; i < n; i++)
		worker_rec_fini(&recs[i]);
	free(recs);
}

size_t
coord_workers_heard(struct coord_workers *cw, struct cmd_heartbeat **out)
{
	struct cw_worker	*w;
	size_t			 n = 0, cap = 0;
	unsigned		 b;

	*out = NULL;
	pthread_mutex_lock(&cw->mu);
	for (b = 0; b < COORD_HASH_BUCKETS; b++)
		for (w = cw->buckets[b]; w != NULL; w = w->next) {
			if (!w->heard)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = xrealloc(*out, cap * sizeof **out);
			}
			(*out)[n].worker_id = xstrdup(w->id);
			(*out)[n].at_ms = w->last_seen_wall;
			n++;
			w->heard = false;
		}
	pthread_mutex_unlock(&cw->mu);
	return n;
}

size_t
coord_workers_expired(struct coord_workers *cw, uint64_t now_mono_ms, uint64_t dead_ms,
    char ***ids, uint64_t **generations)
{
	struct worker_rec	*recs = NULL;
	struct cw_worker	*w;
	size_t			 i, n = 0, count = 0;
	uint64_t		 seen;

	*ids = NULL;
	*generations = NULL;
	if (fsm_worker_list(coord_fsm(cw->coord), &recs, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (recs[i].status == WORKER_DEAD)
			continue;
		pthread_mutex_lock(&cw->mu);
		w = cw_get(cw, recs[i].id, true);
		if (w->last_seen_mono == 0)
			w->last_seen_mono = now_mono_ms;	/* first sight: start its window */
		seen = w->last_seen_mono;
		pthread_mutex_unlock(&cw->mu);
		/* Heard from after now was read (a request on another thread
		 * while the fleet was listed): alive, not 2^64 ms silent. */
		if (seen >= now_mono_ms || now_mono_ms - seen <= dead_ms)
			continue;
		*ids = xrealloc(*ids, (count + 1) * sizeof **ids);
		*generations = xrealloc(*generations, (count + 1) * sizeof **generations);
		(*ids)[count] = xstrdup(recs[i].id);
		(*generations)[count] = recs[i].generation;
		count++;
	}
	for (i = 0; i < n; i++)
		worker_rec_fini(&recs[i]);
	free(recs);
	return count;
}
