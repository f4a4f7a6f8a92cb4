/*
 * The coordinator core.
 *
 * Threads:
 *  - the loop thread runs libuv: libraft's I/O and timers, the proposal
 *    queue (drained on uv_async), the flush of applied batches (uv_check),
 *    and the leadership poll (libraft 0.15 has no state-change callback);
 *  - the duty thread does the leader's periodic work by proposing commands
 *    like any other client: scheduling, heartbeat batches, dead workers,
 *    and creating the admin key and join token on first start;
 *  - HTTP and worker-endpoint threads call coord_propose and block.
 *
 * A proposal is acknowledged only after its entry is committed, applied,
 * and the LMDB transaction holding it is committed (fsm_flush in the check
 * phase of the same loop iteration), so a reader that follows an
 * acknowledgement always sees the write.
 */
#include "src/coord.h"

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "net/bus.h"
#include "net/cluster.h"
#include "net/http_client.h"
#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord_internal.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "src/sched.h"
#include "src/preempt.h"
#include "src/sched_inflight.h"
#include "src/sched_report.h"
#include "src/secret.h"

#define COORD_STATE_POLL_MS	50	/* leadership poll interval */
#define COORD_DEAD_CHECK_MS	200	/* how often silent workers are looked for */
#define COORD_SCHED_WINDOW_MAX	65536	/* most of the queue one pass reads */
#define COORD_SCHED_MARGIN	256	/* read past what the room left can take */
#define COORD_PREEMPT_MAX	64	/* preemptions proposed in one pass */
#define COORD_SCHED_INFLIGHT	3	/* ASSIGN batches proposed, not yet applied */
#define COORD_ADMIN_KEY_FILE	"admin.key"
#define COORD_JOIN_TOKEN_FILE	"join.token"
#define COORD_JOIN_SECRET	"join_token"
#define COORD_ANNOUNCE_RETRY_MS	1000	/* a follower's announcement retries */

struct proposal {
	void			*buf;		/* encoded command, until handed to raft */
	size_t			 len;
	uint64_t		 index;		/* its log entry, once committed */
	int			 status;	/* ERR_* of the log (0: applied) */
	int			 result;	/* the FSM's verdict */
	bool			 done;
	bool			 abandoned;	/* the waiter timed out; loop frees it */
	pthread_cond_t		 cond;
	coord_propose_cb	 cb;		/* asynchronous: called instead of a wait */
	void			*cb_arg;
	struct proposal		*next;		/* submit queue, then waiting list */
};

/* A committed entry on its way to the apply thread. */
struct apply_item {
	struct apply_item	*next;
	uint64_t		 index;
	size_t			 len;
	uint8_t			 buf[];
};

/* The FSM's verdict on one recent entry. */
struct apply_result {
	uint64_t		 index;
	int			 result;
};

/* Results are kept for this many recent entries: a proposal learns its
 * entry's index from libraft right after the entry is queued, so the apply
 * thread can only be a few batches ahead of it. */
#define COORD_RESULTS_RING	65536

/* A membership change or leadership transfer, handed to the loop thread.
 * Two references: the waiter's and the loop's (until libraft calls back,
 * or the loop is gone); whoever drops the last one frees it. */
enum coord_task_kind { COORD_TASK_ADD, COORD_TASK_REMOVE, COORD_TASK_TRANSFER };

struct coord_task {
	enum coord_task_kind	 kind;
	uint64_t		 id;
	char			*address;
	int			 status;
	uint64_t		 leader;	/* transfer: the leader at the end */
	bool			 done;
	int			 refs;		/* under c->mu */
	pthread_cond_t		 cond;
	struct coord		*coord;
	struct coord_task	*next;		/* queue, then in-flight list */
};

struct coord {
	struct coord_config	 cfg;
	char			*data_dir;
	char			*worker_listen;
	char			*raft_listen;
	char			*raft_dir;
	char			*http_url;	/* NULL: not announced */
	char			*worker_url;
	char			*admin_key_path;
	char			*join_token_path;
	struct cluster_peer	*peers;
	size_t			 n_peers;

	struct fsm		*fsm;
	struct cluster		*cluster;
	struct bus_server	*bus;
	struct coord_workers	*workers;

	uv_loop_t		 loop;
	uv_async_t		 async;
	uv_timer_t		 state_timer;
	bool			 loop_ready;
	pthread_t		 loop_thread;
	bool			 loop_started;

	/* The apply thread: every write to the state machine happens on it,
	 * so applying one batch overlaps with the Raft loop writing the
	 * next one to the log. */
	pthread_t		 apply_thread;
	bool			 apply_started;
	pthread_mutex_t		 aq_mu;
	pthread_cond_t		 aq_cv;		/* entries queued, or stop */
	pthread_cond_t		 aq_drained;	/* applied caught up */
	struct apply_item	*aq_head;
	struct apply_item	*aq_tail;
	uint64_t		 aq_queued;	/* last entry queued */
	uint64_t		 aq_applied;	/* last entry applied and committed */
	uint64_t		 snap_need;	/* the snapshot being taken holds it */
	bool			 aq_stop;

	pthread_mutex_t		 mu;
	struct proposal		*queue_head;	/* submitted, not yet given to raft */
	struct proposal		*queue_tail;
	bool			 stopping;
	struct coord_status	 status;	/* snapshot for other threads */
	struct coord_member	 members[COORD_MEMBERS_MAX]; /* likewise */
	size_t			 n_members;
	struct coord_task	*task_head;	/* for the loop thread */
	struct coord_task	*task_tail;
	struct coord_task	*tasks_inflight; /* handed to libraft */

	/* Under mu, written by the apply thread. */
	uint64_t		 applied_index;	/* last entry applied and committed */
	struct proposal		*waiting;	/* committed, not yet applied */
	struct proposal		*async_head;	/* finished, callback not yet run */
	struct proposal		*async_tail;
	pthread_cond_t		 async_cv;	/* async_head set, or async_stop */
	bool			 async_stop;
	pthread_t		 async_thread;	/* runs the callbacks */
	bool			 async_started;
	struct apply_result	*results;	/* ring of COORD_RESULTS_RING */

	/* Loop thread only. */
	bool			 was_leader;
	bool			 barrier_inflight;
	bool			 barrier_done;	/* waiting for barrier_need to apply */
	uint64_t		 barrier_need;	/* last entry queued before the barrier */
	uint64_t		 barrier_term;
	bool			 cluster_closed;

	atomic_bool		 leader_ready;	/* leader with its term's barrier applied */
	atomic_bool		 secrets_ready;	/* admin key and join token committed */

	pthread_t		 duty_thread;
	bool			 duty_started;
	pthread_cond_t		 duty_cv;
	bool			 duty_wake;
	uint64_t		 duty_term;	/* term the duty thread last prepared */
	uint64_t		 announced_term; /* term this node last announced in */
	uint64_t		 announce_next_ms; /* a follower's next try */
	bool			 announce_nokey_logged;
	bool			 http_ready;	/* http_global_init done */
	struct sched_report	*sched_report;	/* what the scheduler did */
	struct inflight		*inflight;	/* duty thread: ASSIGNs not yet applied */
	atomic_bool		 sched_deferred; /* a pass waits for a batch to settle */
	bool			 duty_led;	/* the duty thread's view of leading */
};


void
coord_config_defaults(struct coord_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->node_id = 1;
	cfg->election_timeout_ms = 500;
	cfg->raft_heartbeat_ms = 50;
	cfg->pre_vote = true;
	cfg->snapshot_threshold = 65536;
	cfg->snapshot_bytes = (uint64_t)64 << 20;
	cfg->snapshot_trailing = 2048;
	cfg->lmdb_map_size = (uint64_t)4 << 30;
	cfg->worker_heartbeat_ms = 2000;
	cfg->worker_dead_ms = 10000;
	cfg->sched_interval_ms = 500;
	cfg->sched_batch = 4096;
	cfg->poll_wait_ms = 5000;
	cfg->worker_threads = 64;
	cfg->propose_timeout_ms = 10000;
	cfg->checkpoint_max = (uint64_t)64 << 20;
	cfg->checkpoint_keep = 3;
	cfg->placement_strategy = SCHED_SPREAD;
	preempt_policy_defaults(&cfg->preempt);
}

const struct coord_config *
coord_config_get(struct coord *c)
{
	return &c->cfg;
}

struct fsm *
coord_fsm(struct coord *c)
{
	return c->fsm;
}

struct sched_report *
coord_sched_report(struct coord *c)
{
	return c->sched_report;
}

bool
coord_ready(struct coord *c)
{
	return atomic_load(&c->leader_ready) && atomic_load(&c->secrets_ready);
}

void
coord_status_get(struct coord *c, struct coord_status *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->status;
	pthread_mutex_unlock(&c->mu);
	out->ready = coord_ready(c);
}

char *
coord_data_path(struct coord *c, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->data_dir, name);
	return buf;
}

const char *
coord_http_url(struct coord *c)
{
	return c->http_url;
}

const char *
coord_worker_url(struct coord *c)
{
	return c->worker_url;
}

const char *
coord_raft_address(struct coord *c)
{
	return c->raft_listen;
}

int
coord_leader_http(struct coord *c, char *buf, size_t len)
{
	struct coord_status	 st;
	struct node_rec		 n;
	int			 rc;

	coord_status_get(c, &st);
	if (st.leader || st.leader_id == 0)
		return ERR_NOTFOUND;
	if ((rc = fsm_node_get(c->fsm, st.leader_id, &n)) != 0)
		return ERR_NOTFOUND;
	/* The directory may be behind a change of address: trust it only
	 * while its Raft address is the one libraft reports for the leader. */
	if (strcmp(n.raft_address, st.leader_address) != 0 ||
	    strlen(n.http_url) >= len) {
		node_rec_fini(&n);
		return ERR_NOTFOUND;
	}
	memcpy(buf, n.http_url, strlen(n.http_url) + 1);
	node_rec_fini(&n);
	return 0;
}

size_t
coord_members(struct coord *c, struct coord_member *out, size_t max)
{
	size_t	 n;

	pthread_mutex_lock(&c->mu);
	n = c->n_members < max ? c->n_members : max;
	memcpy(out, c->members, n * sizeof *out);
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* ---- membership tasks ---- */

/* Drops one reference of t; caller holds c->mu. */
static void
coord_task_unref_locked(struct coord_task *t)
{
	if (--t->refs > 0)
		return;
	pthread_cond_destroy(&t->cond);
	free(t->address);
	free(t);
}

/* Loop thread: libraft finished the task (or refused it). */
static void
coord_task_done(void *arg, int status, uint64_t index)
{
	struct coord_task	*t = arg, **pp;
	struct coord		*c = t->coord;

	pthread_mutex_lock(&c->mu);
	t->leader = index;
	for (pp = &c->tasks_inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->status = status;
	t->done = true;
	pthread_cond_signal(&t->cond);
	coord_task_unref_locked(t);
	pthread_mutex_unlock(&c->mu);
}

/* Loop thread: starts the queued tasks. */
static void
coord_loop_tasks(struct coord *c)
{
	struct coord_task	*list, *t, *next;
	int			 rc;

	pthread_mutex_lock(&c->mu);
	list = c->task_head;
	c->task_head = c->task_tail = NULL;
	pthread_mutex_unlock(&c->mu);
	for (t = list; t != NULL; t = next) {
		next = t->next;
		pthread_mutex_lock(&c->mu);
		t->next = c->tasks_inflight;
		c->tasks_inflight = t;
		pthread_mutex_unlock(&c->mu);
		if (c->cluster == NULL)
			rc = ERR_SHUTDOWN;
		else if (t->kind == COORD_TASK_TRANSFER)
			rc = cluster_transfer(c->cluster, t->id, coord_task_done, t);
		else
			rc = cluster_change(c->cluster, t->kind == COORD_TASK_ADD ?
			    CLUSTER_ADD : CLUSTER_REMOVE, t->id, t->address,
			    coord_task_done, t);
		if (rc != 0)
			coord_task_done(t, rc, 0);
	}
}

/* Hands a task to the loop thread and waits for it. */
static int
coord_task_run(struct coord *c, enum coord_task_kind kind, uint64_t id,
    const char *address, unsigned timeout_ms, uint64_t *leader,
    struct errbuf *eb)
{
	static const char *const what[] = { "adding node", "removing node",
	    "transferring leadership to node" };
	struct coord_task	*t;
	struct timespec		 deadline;
	uint64_t		 ns;
	int			 status;

	if ((t = calloc(1, sizeof *t)) == NULL ||
	    (address != NULL && (t->address = strdup(address)) == NULL)) {
		free(t);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	t->kind = kind;
	t->id = id;
	t->coord = c;
	t->refs = 2;
	pthread_cond_init(&t->cond, NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	ns = (uint64_t)deadline.tv_nsec + (uint64_t)timeout_ms * 1000000;
	deadline.tv_sec += (time_t)(ns / 1000000000);
	deadline.tv_nsec = (long)(ns % 1000000000);

	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mu);
		pthread_cond_destroy(&t->cond);
		free(t->address);
		free(t);
		return err_setf(eb, ERR_SHUTDOWN, "the coordinator is shutting down");
	}
	if (c->task_tail != NULL)
		c->task_tail->next = t;
	else
		c->task_head = t;
	c->task_tail = t;
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->async);

	pthread_mutex_lock(&c->mu);
	while (!t->done && pthread_cond_timedwait(&t->cond, &c->mu,
	    &deadline) != ETIMEDOUT)
		;
	status = t->done ? t->status : ERR_TIMEOUT;
	if (leader != NULL)
		*leader = t->done ? t->leader : 0;
	coord_task_unref_locked(t);
	pthread_mutex_unlock(&c->mu);

	switch (status) {
	case 0:
		return 0;
	case ERR_TIMEOUT:
		return err_setf(eb, status, "%s %" PRIu64 " did not finish within "
		    "%u ms%s", what[kind], id, timeout_ms, kind == COORD_TASK_ADD ?
		    " (it may still catch up and join)" : "");
	case ERR_NOTLEADER:
		return err_setf(eb, status, "%s %" PRIu64 ": this node is not the "
		    "leader (any more)", what[kind], id);
	case ERR_EXISTS:
		return err_setf(eb, status, "%s %" PRIu64 ": that id or address is "
		    "already in the cluster", what[kind], id);
	case ERR_NOTFOUND:
		return err_setf(eb, status, "%s %" PRIu64 ": no such %s", what[kind],
		    id, kind == COORD_TASK_TRANSFER ? "voter other than the leader" :
		    "node in the cluster");
	case ERR_CONFLICT:
		return err_setf(eb, status, "%s %" PRIu64 ": another membership "
		    "change is under way; retry when it is done", what[kind], id);
	default:
		return err_setf(eb, status, "%s %" PRIu64 ": %s", what[kind], id,
		    err_code_name(status));
	}
}

int
coord_member_add(struct coord *c, uint64_t id, const char *raft_address,
    unsigned timeout_ms, struct errbuf *eb)
{
	if (id == 0 || raft_address == NULL || raft_address[0] == '\0')
		return err_setf(eb, ERR_INVAL, "a node needs an id >= 1 and a "
		    "Raft address");
	return coord_task_run(c, COORD_TASK_ADD, id, raft_address, timeout_ms,
	    NULL, eb);
}

int
coord_member_remove(struct coord *c, uint64_t id, unsigned timeout_ms,
    struct errbuf *eb)
{
	struct cmd	 cmd;
	int		 rc;

	if (id == 0)
		return err_setf(eb, ERR_INVAL, "node ids start at 1");
	if ((rc = coord_task_run(c, COORD_TASK_REMOVE, id, NULL, timeout_ms,
	    NULL, eb)) != 0)
		return rc;
	/* Out of the configuration: out of the directory too, so that no
	 * follower forwards to its old address. */
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_NODE_REMOVE;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = (char *)"coordinator";
	cmd.node.id = id;
	rc = coord_propose(c, &cmd, eb);
	/* It never announced itself; or it was this node, which no longer
	 * leads (coord_leader_http checks the leader's Raft address, so the
	 * stale record is never used). */
	if (rc == ERR_NOTFOUND || (id == c->cfg.node_id && rc == ERR_NOTLEADER))
		rc = 0;
	return rc;
}

int
coord_leader_transfer(struct coord *c, uint64_t id, unsigned timeout_ms,
    uint64_t *new_leader, struct errbuf *eb)
{
	return coord_task_run(c, COORD_TASK_TRANSFER, id, NULL, timeout_ms,
	    new_leader, eb);
}

/* ---- proposals ---- */

static void
proposal_free(struct proposal *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* Marks p finished and wakes (or frees) its waiter; an asynchronous one
 * goes to the callback thread.  Caller holds c->mu. */
static void
coord_proposal_finish_locked(struct coord *c, struct proposal *p, int status,
    int result)
{
	p->status = status;
	p->result = result;
	p->done = true;
	if (p->cb != NULL) {
		p->next = NULL;
		if (c->async_tail != NULL)
			c->async_tail->next = p;
		else
			c->async_head = p;
		c->async_tail = p;
		pthread_cond_signal(&c->async_cv);
	} else if (p->abandoned)
		proposal_free(p);
	else
		pthread_cond_signal(&p->cond);
}

/* The outcome of a finished proposal, as coord_propose returns it. */
static int
coord_verdict(int status, int result, struct errbuf *eb)
{
	if (status != 0) {
		if (status == ERR_NOTLEADER)
			return err_setf(eb, status, "this node is not the leader");
		return err_setf(eb, status, "the command was not applied: %s",
		    err_code_name(status));
	}
	if (result != 0)
		return err_setf(eb, result, "rejected by the state machine: %s",
		    err_code_name(result));
	return 0;
}

/*
 * The callback thread: asynchronous proposals are answered here, in the
 * order they finished, so that neither the loop thread (libraft) nor the
 * apply thread ever waits for a callback (which may send on the network).
 * On stop it runs what is queued, then returns.
 */
static void *
coord_async_main(void *arg)
{
	struct coord	*c = arg;
	struct proposal	*list, *p;
	struct errbuf	 eb;
	int		 rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->async_head == NULL && !c->async_stop)
			pthread_cond_wait(&c->async_cv, &c->mu);
		if (c->async_head == NULL)
			break;
		list = c->async_head;
		c->async_head = c->async_tail = NULL;
		pthread_mutex_unlock(&c->mu);
		while ((p = list) != NULL) {
			list = p->next;
			errbuf_clear(&eb);
			rc = coord_verdict(p->status, p->result, &eb);
			p->cb(p->cb_arg, rc, &eb);
			proposal_free(p);
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The FSM's verdict on entry index, from the ring. Caller holds mu. */
static int
coord_result_locked(struct coord *c, uint64_t index, int *result)
{
	const struct apply_result	*r = &c->results[index % COORD_RESULTS_RING];

	if (r->index != index)
		return ERR_INTERNAL;
	*result = r->result;
	return 0;
}

static void
coord_proposal_done(void *arg, int status, uint64_t index)
{
	struct proposal	*p = arg;
	struct coord	*c;
	int		 result = 0, rc;

	/* The coord pointer travels in p->buf's place once raft owns the
	 * buffer: see coord_loop_drain. */
	c = (struct coord *)p->buf;
	p->buf = NULL;
	pthread_mutex_lock(&c->mu);
	if (status != 0)
		coord_proposal_finish_locked(c, p, status, 0);
	else if (index <= c->applied_index) {
		/* The apply thread got there first. */
		if ((rc = coord_result_locked(c, index, &result)) != 0)
			log_error("APPLYRESULT", "no result kept for entry %llu",
			    (unsigned long long)index);
		coord_proposal_finish_locked(c, p, rc, result);
	} else {
		p->index = index;
		p->next = c->waiting;
		c->waiting = p;
	}
	pthread_mutex_unlock(&c->mu);
}

static void
coord_loop_drain(struct coord *c)
{
	struct proposal	*list, *p, *next;
	void		*buf;
	size_t		 len;
	int		 rc;

	pthread_mutex_lock(&c->mu);
	list = c->queue_head;
	c->queue_head = c->queue_tail = NULL;
	pthread_mutex_unlock(&c->mu);

	for (p = list; p != NULL; p = next) {
		next = p->next;
		p->next = NULL;
		buf = p->buf;
		len = p->len;
		/* raft owns the buffer from here; p->buf carries the coord
		 * back to the done callback. */
		p->buf = c;
		rc = c->cluster == NULL ? ERR_UNAVAIL :
		    cluster_propose(c->cluster, buf, len, coord_proposal_done, p);
		if (rc != 0) {
			p->buf = NULL;
			pthread_mutex_lock(&c->mu);
			coord_proposal_finish_locked(c, p, rc, 0);
			pthread_mutex_unlock(&c->mu);
		}
	}
}

/* A new proposal holding cmd's encoding, or NULL with eb set. */
static struct proposal *
coord_proposal_new(const struct cmd *cmd, struct errbuf *eb)
{
	struct proposal	*p;
	int		 rc;

	if ((p = calloc(1, sizeof *p)) == NULL) {
		err_setf(eb, ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_cond_init(&p->cond, NULL);
	if ((rc = cmd_encode(cmd, &p->buf, &p->len)) != 0) {
		proposal_free(p);
		err_setf(eb, rc, "cannot encode command");
		return NULL;
	}
	return p;
}

/* Queues p for the loop thread: 0, or ERR_SHUTDOWN (p freed). */
static int
coord_proposal_queue(struct coord *c, struct proposal *p, struct errbuf *eb)
{
	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mu);
		proposal_free(p);
		return err_setf(eb, ERR_SHUTDOWN, "the coordinator is shutting down");
	}
	if (c->queue_tail != NULL)
		c->queue_tail->next = p;
	else
		c->queue_head = p;
	c->queue_tail = p;
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->async);
	return 0;
}

int
coord_propose(struct coord *c, const struct cmd *cmd, struct errbuf *eb)
{
	struct proposal	*p;
	struct timespec	 deadline;
	uint64_t	 ns;
	int		 rc, status, result;

	if ((p = coord_proposal_new(cmd, eb)) == NULL)
		return eb->code;
	clock_gettime(CLOCK_REALTIME, &deadline);
	ns = (uint64_t)deadline.tv_nsec + (uint64_t)c->cfg.propose_timeout_ms * 1000000;
	deadline.tv_sec += (time_t)(ns / 1000000000);
	deadline.tv_nsec = (long)(ns % 1000000000);
	if ((rc = coord_proposal_queue(c, p, eb)) != 0)
		return rc;

	pthread_mutex_lock(&c->mu);
	while (!p->done) {
		if (pthread_cond_timedwait(&p->cond, &c->mu, &deadline) == ETIMEDOUT &&
		    !p->done) {
			p->abandoned = true;
			pthread_mutex_unlock(&c->mu);
			return err_setf(eb, ERR_TIMEOUT,
			    "the command was not applied within %u ms",
			    c->cfg.propose_timeout_ms);
		}
	}
	status = p->status;
	result = p->result;
	pthread_mutex_unlock(&c->mu);
	proposal_free(p);
	return coord_verdict(status, result, eb);
}

int
coord_propose_async(struct coord *c, const struct cmd *cmd, coord_propose_cb cb,
    void *arg, struct errbuf *eb)
{
	struct proposal	*p;

	if ((p = coord_proposal_new(cmd, eb)) == NULL)
		return eb->code;
	p->cb = cb;
	p->cb_arg = arg;
	return coord_proposal_queue(c, p, eb);
}

/* ---- the apply thread ---- */

/* Waits, with aq_mu held, until entry index is applied and committed. */
static void
coord_apply_wait_locked(struct coord *c, uint64_t index)
{
	while (c->aq_applied < index && c->apply_started)
		pthread_cond_wait(&c->aq_drained, &c->aq_mu);
}

/* Waits until every entry queued so far is applied and committed. */
static void
coord_apply_drain(struct coord *c)
{
	pthread_mutex_lock(&c->aq_mu);
	coord_apply_wait_locked(c, c->aq_queued);
	pthread_mutex_unlock(&c->aq_mu);
}

/* Records the verdicts of one batch, then tells the waiting proposals. */
static void
coord_apply_publish(struct coord *c, const struct apply_result *done, size_t n,
    uint64_t last)
{
	struct proposal	**pp, *p;
	size_t		 i;
	int		 result = 0, rc;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < n; i++)
		c->results[done[i].index % COORD_RESULTS_RING] = done[i];
	c->applied_index = last;
	for (pp = &c->waiting; (p = *pp) != NULL;) {
		if (p->index > last) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = NULL;
		if ((rc = coord_result_locked(c, p->index, &result)) != 0)
			log_error("APPLYRESULT", "no result kept for entry %llu",
			    (unsigned long long)p->index);
		coord_proposal_finish_locked(c, p, rc, result);
	}
	pthread_mutex_unlock(&c->mu);
}

static void
coord_apply_events(struct coord *c)
{
	struct fsm_event	*ev;
	size_t			 i, n;

	bool			 wake = false;

	n = fsm_events_take(c->fsm, &ev);
	/* c->workers goes away under mu at shutdown. */
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < n; i++) {
		if (c->workers != NULL && atomic_load(&c->leader_ready))
			coord_workers_event(c->workers, &ev[i]);
		if (ev[i].type == FSM_EV_PENDING || ev[i].type == FSM_EV_FREED ||
		    ev[i].type == FSM_EV_WORKER)
			wake = true;
	}
	pthread_mutex_unlock(&c->mu);
	fsm_events_free(ev, n);
	if (wake)
		coord_duty_wake(c);
}

static void *
coord_apply_main(void *arg)
{
	struct coord		*c = arg;
	struct apply_item	*list, *it, *next;
	struct apply_result	*done = NULL;
	struct errbuf		 eb = { 0 };
	size_t			 n, cap = 0;
	uint64_t		 last = 0;
	int			 result, rc;

	for (;;) {
		pthread_mutex_lock(&c->aq_mu);
		while (c->aq_head == NULL && !c->aq_stop)
			pthread_cond_wait(&c->aq_cv, &c->aq_mu);
		list = c->aq_head;
		c->aq_head = c->aq_tail = NULL;
		pthread_mutex_unlock(&c->aq_mu);
		if (list == NULL)
			break;	/* stopping, and nothing left */

		for (n = 0, it = list; it != NULL; it = next) {
			next = it->next;
			result = 0;
			if ((rc = fsm_apply(c->fsm, it->index, it->buf, it->len,
			    &result)) != 0)
				log_fatal("FSMAPPLY", "applying entry %llu failed: %s",
				    (unsigned long long)it->index, err_code_name(rc));
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				done = xrealloc(done, cap * sizeof *done);
			}
			done[n].index = it->index;
			done[n].result = result;
			n++;
			last = it->index;
			free(it);
		}
		/* One LMDB transaction for the batch; only once it is
		 * committed are its proposers told, so a read that follows an
		 * acknowledgement sees the write. */
		if ((rc = fsm_flush(c->fsm, &eb)) != 0) {
			/* The Raft log still holds the batch, and a restart
			 * replays it; nothing can be acknowledged meanwhile. */
			log_fatal("FSMFLUSH", "committing applied entries failed: %s",
			    eb.msg);
		}
		coord_apply_publish(c, done, n, last);
		coord_apply_events(c);
		pthread_mutex_lock(&c->aq_mu);
		c->aq_applied = last;
		pthread_cond_broadcast(&c->aq_drained);
		pthread_mutex_unlock(&c->aq_mu);
	}
	free(done);
	return NULL;
}

/* ---- the loop thread ---- */

static void
coord_barrier_done(void *arg, int status, uint64_t index)
{
	struct coord	*c = arg;

	(void)index;
	c->barrier_inflight = false;
	if (status == 0) {
		/* Every entry before the barrier has been queued to the apply
		 * thread: the node is ready once those are applied. */
		pthread_mutex_lock(&c->aq_mu);
		c->barrier_need = c->aq_queued;
		pthread_mutex_unlock(&c->aq_mu);
		c->barrier_done = true;
	}
}

static void
coord_state_timer_cb(uv_timer_t *h)
{
	struct coord		*c = h->data;
	struct cluster_state	 st;
	int			 rc;

	struct cluster_member	 cm[COORD_MEMBERS_MAX];
	size_t			 i, ncm;

	if (c->cluster == NULL)
		return;
	cluster_state_get(c->cluster, &st);
	ncm = cluster_members(c->cluster, cm, COORD_MEMBERS_MAX);
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < ncm; i++) {
		struct coord_member	*m = &c->members[i];

		memset(m, 0, sizeof *m);
		m->id = cm[i].id;
		snprintf(m->raft_address, sizeof m->raft_address, "%s",
		    cm[i].address);
		snprintf(m->role, sizeof m->role, "%s", cm[i].role);
		m->leader = cm[i].id == st.leader_id;
		m->progress_known = cm[i].progress_known;
		m->match_index = cm[i].match_index;
		m->recent_contact = cm[i].recent_contact;
		m->since_send_ms = cm[i].since_send_ms;
	}
	c->n_members = ncm;
	c->status.node_id = c->cfg.node_id;
	c->status.leader = st.leader;
	c->status.term = st.term;
	c->status.commit_index = st.commit_index;
	c->status.applied_index = st.applied_index;
	c->status.leader_id = st.leader_id;
	snprintf(c->status.leader_address, sizeof c->status.leader_address, "%s",
	    st.leader_address);
	snprintf(c->status.role, sizeof c->status.role, "%s", st.role);
	c->status.last_contact_ms = st.last_contact_ms;
	pthread_mutex_unlock(&c->mu);

	if (!st.leader) {
		if (c->was_leader)
			log_info("LEADLOST", "no longer leader (term %llu)",
			    (unsigned long long)st.term);
		c->was_leader = false;
		atomic_store(&c->leader_ready, false);
		return;
	}
	if (!c->was_leader || c->barrier_term != st.term) {
		/* A new leader does not know which entries of earlier terms
		 * are committed until one of its own term commits: the
		 * barrier is that entry.  Until it applies, reads could miss
		 * acknowledged writes, so the node is not ready. */
		c->was_leader = true;
		c->barrier_term = st.term;
		atomic_store(&c->leader_ready, false);
		c->barrier_inflight = false;
		c->barrier_done = false;
	}
	if (c->barrier_done) {
		uint64_t	 applied;

		pthread_mutex_lock(&c->aq_mu);
		applied = c->aq_applied;
		pthread_mutex_unlock(&c->aq_mu);
		if (applied >= c->barrier_need) {
			c->barrier_done = false;
			atomic_store(&c->leader_ready, true);
			log_info("LEADREADY", "leader for term %llu, state up to date",
			    (unsigned long long)c->barrier_term);
			pthread_mutex_lock(&c->mu);
			if (c->workers != NULL)
				coord_workers_leader_start(c->workers);
			pthread_mutex_unlock(&c->mu);
			coord_duty_wake(c);
		}
		return;
	}
	if (!atomic_load(&c->leader_ready) && !c->barrier_inflight) {
		if ((rc = cluster_barrier(c->cluster, coord_barrier_done, c)) == 0)
			c->barrier_inflight = true;
		else
			log_warn("LEADBARRIER", "barrier failed: %s", err_code_name(rc));
	}
}

static void
coord_handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void
coord_cluster_closed(void *arg)
{
	struct coord	*c = arg;

	c->cluster_closed = true;
	uv_close((uv_handle_t *)&c->async, coord_handle_closed);
	uv_close((uv_handle_t *)&c->state_timer, coord_handle_closed);
}

static void
coord_async_cb(uv_async_t *h)
{
	struct coord	*c = h->data;
	bool		 stopping;

	pthread_mutex_lock(&c->mu);
	stopping = c->stopping;
	pthread_mutex_unlock(&c->mu);
	coord_loop_drain(c);
	coord_loop_tasks(c);
	if (stopping && c->cluster != NULL) {
		struct cluster	*cl = c->cluster;

		c->cluster = NULL;
		atomic_store(&c->leader_ready, false);
		cluster_close(cl, coord_cluster_closed, c);
	}
}

static void *
coord_loop_main(void *arg)
{
	struct coord	*c = arg;

	uv_run(&c->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- the duty thread ---- */

void
coord_duty_wake(struct coord *c)
{
	pthread_mutex_lock(&c->mu);
	c->duty_wake = true;
	pthread_cond_signal(&c->duty_cv);
	pthread_mutex_unlock(&c->mu);
}

static void
coord_cmd_init(struct cmd *cmd, enum cmd_type type)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->type = type;
	cmd->now_ms = clock_wall_ms();
	cmd->actor = (char *)"coordinator";
}

/* Reads the secret file, or creates it with a new secret. */
static int
coord_secret_file(const char *path, const char *prefix,
    char text[SECRET_TEXT_MAX], struct errbuf *eb)
{
	int	 rc;

	rc = secret_file_read(path, text, eb);
	if (rc != ERR_NOTFOUND)
		return rc;
	secret_generate(text, prefix);
	if ((rc = secret_file_write(path, text, eb)) != 0)
		return rc;
	log_info("SECRETNEW", "created %s (mode 0600)", path);
	return 0;
}

/* On first start: the admin key and the join token.  The file is written
 * before its hash is committed, so a crash in between reuses the file. */
static int
coord_secrets_ensure(struct coord *c)
{
	struct errbuf	 eb = { 0 };
	struct cmd	 cmd;
	char		 text[SECRET_TEXT_MAX];
	uint8_t		 hash[32];
	int		 rc;

	if (!fsm_has_admin_key(c->fsm)) {
		if ((rc = coord_secret_file(c->admin_key_path, SECRET_PREFIX_KEY,
		    text, &eb)) != 0) {
			log_error("SECRETFILE", "%s", eb.msg);
			return rc;
		}
		coord_cmd_init(&cmd, CMD_KEY_CREATE);
		model_id_generate(cmd.key.id);
		cmd.key.customer_id = (char *)MODEL_CUSTOMER_ADMIN;
		cmd.key.role = KEY_ROLE_ADMIN;
		cmd.key.created_ms = cmd.now_ms;
		secret_hash(text, cmd.key.hash);
		if ((rc = coord_propose(c, &cmd, &eb)) != 0 && rc != ERR_EXISTS) {
			log_warn("SECRETKEY", "recording the admin key: %s", eb.msg);
			return rc;
		}
		log_info("SECRETKEY", "admin API key ready in %s",
		    c->admin_key_path);
	}
	if (fsm_secret_get(c->fsm, COORD_JOIN_SECRET, hash) == ERR_NOTFOUND) {
		if ((rc = coord_secret_file(c->join_token_path, SECRET_PREFIX_JOIN,
		    text, &eb)) != 0) {
			log_error("SECRETFILE", "%s", eb.msg);
			return rc;
		}
		coord_cmd_init(&cmd, CMD_SECRET_SET);
		cmd.secret_name = (char *)COORD_JOIN_SECRET;
		secret_hash(text, cmd.secret_hash);
		if ((rc = coord_propose(c, &cmd, &eb)) != 0) {
			log_warn("SECRETJOIN", "recording the join token: %s", eb.msg);
			return rc;
		}
		log_info("SECRETJOIN", "worker join token ready in %s",
		    c->join_token_path);
	}
	atomic_store(&c->secrets_ready, true);
	return 0;
}

static void
coord_duty_heartbeats(struct coord *c)
{
	struct errbuf		 eb = { 0 };
	struct cmd		 cmd;
	struct cmd_heartbeat	*hb;
	size_t			 i, n;
	int			 rc;

	if ((n = coord_workers_heard(c->workers, &hb)) == 0)
		return;
	coord_cmd_init(&cmd, CMD_WORKER_HEARTBEAT_BATCH);
	cmd.heartbeats = hb;
	cmd.n_heartbeats = n;
	if ((rc = coord_propose(c, &cmd, &eb)) != 0)
		log_debug("HBBATCH", "heartbeat batch of %zu: %s", n, eb.msg);
	for (i = 0; i < n; i++)
		free(hb[i].worker_id);
	free(hb);
}

static void
coord_duty_dead_workers(struct coord *c)
{
	struct errbuf	 eb = { 0 };
	struct cmd	 cmd;
	char		**ids;
	uint64_t	*gens;
	size_t		 i, n;
	int		 rc;

	n = coord_workers_expired(c->workers, clock_mono_ms(), c->cfg.worker_dead_ms,
	    &ids, &gens);
	for (i = 0; i < n; i++) {
		coord_cmd_init(&cmd, CMD_WORKER_DEAD);
		cmd.worker_id = ids[i];
		cmd.generation = gens[i];
		rc = coord_propose(c, &cmd, &eb);
		if (rc == 0)
			log_warn("WORKERDEAD", "worker %s missed its heartbeats for %u ms: "
			    "declared dead, its workloads are requeued", ids[i],
			    c->cfg.worker_dead_ms);
		else if (rc != ERR_STALE)
			log_warn("WORKERDEAD", "declaring %s dead: %s", ids[i], eb.msg);
		free(ids[i]);
	}
	free(ids);
	free(gens);
}

static int
coord_quota_cmp(const void *a, const void *b)
{
	const struct sched_quota	*qa = a, *qb = b;

	return strcmp(qa->customer_id, qb->customer_id);
}

/* Quotas of the customers that have a max_concurrent, sorted by id; the
 * ids are borrowed from *custs, which the caller frees. */
static size_t
coord_quotas(struct coord *c, struct customer **custs, size_t *n_custs,
    struct sched_quota **out)
{
	struct fsm_usage	 u;
	size_t			 i, n = 0;

	*out = NULL;
	*custs = NULL;
	*n_custs = 0;
	if (fsm_customer_list(c->fsm, custs, n_custs) != 0 || *n_custs == 0)
		return 0;
	*out = xcalloc(*n_custs, sizeof **out);
	for (i = 0; i < *n_custs; i++) {
		if ((*custs)[i].max_concurrent == 0 ||
		    fsm_customer_usage(c->fsm, (*custs)[i].id, &u) != 0)
			continue;
		(*out)[n].customer_id = (*custs)[i].id;
		(*out)[n].remaining = u.active >= (*custs)[i].max_concurrent ? 0 :
		    (uint32_t)((*custs)[i].max_concurrent - u.active);
		n++;
	}
	qsort(*out, n, sizeof **out, coord_quota_cmp);
	return n;
}

/* A RUNNING workload read during a pass, and the index of its worker. */
struct coord_held {
	struct workload	 w;
	size_t		 worker;
};

/* Moves *w into the growing array *v (0), or leaves it (ERR_NOMEM). */
static int
coord_held_add(struct coord_held **v, size_t *n, struct workload *w,
    size_t worker)
{
	struct coord_held	*p;

	if ((p = realloc(*v, (*n + 1) * sizeof **v)) == NULL)
		return ERR_NOMEM;
	*v = p;
	p[*n].w = *w;
	p[*n].worker = worker;
	(*n)++;
	memset(w, 0, sizeof *w);
	return 0;
}

/* True if some workload the pass left for lack of room may preempt. */
static bool
coord_preempt_wanted(const struct coord *c, const struct workload *pending,
    const struct sched_result *res, size_t n_pending)
{
	size_t	 i;

	if (!c->cfg.preempt.enabled)
		return false;
	for (i = 0; i < n_pending; i++)
		if ((res[i].reason == SCHED_FULL || res[i].reason == SCHED_RESOURCES) &&
		    pending[i].tier >= c->cfg.preempt.min_preemptor)
			return true;
	return false;
}

/* The RUNNING workloads of the pass's workers, each with the index of its
 * worker: the candidates to yield.  Read from the store, and only when a
 * preemption may happen. */
static size_t
coord_running_read(struct coord *c, const struct sched_worker *sw, size_t n_sw,
    struct coord_held **held)
{
	struct workload	*on = NULL;
	size_t		 i, j, n_on, n_held = 0;

	*held = NULL;
	for (i = 0; i < n_sw; i++) {
		if (sw[i].used == 0 ||
		    fsm_worker_workloads(c->fsm, sw[i].rec->id, &on, &n_on) != 0)
			continue;
		for (j = 0; j < n_on; j++)
			if (on[j].status != WL_RUNNING ||
			    coord_held_add(held, &n_held, &on[j], i) != 0)
				workload_fini(&on[j]);
		free(on);
		on = NULL;
	}
	return n_held;
}

/*
 * Preemption: for each workload the pass could not place for lack of room
 * (in queue order, so the most urgent first), asks preempt_pick for a
 * running workload of a lower tier whose worker it would fit once that one
 * is gone, and proposes PREEMPT for it: its worker checkpoints and stops
 * it, it goes back to PENDING, and a later pass places the waiting one.
 * At most COORD_PREEMPT_MAX a pass; a workload already PAUSING for one is
 * not RUNNING, so it is not chosen again.
 */
static void
coord_duty_preempt(struct coord *c, const struct workload *pending,
    const struct sched_result *res, size_t n_pending,
    const struct sched_worker *sw, size_t n_sw)
{
	struct preempt_candidate	*cands = NULL;
	struct coord_held		*held = NULL;
	struct errbuf			 eb = { 0 };
	struct cmd			 cmd;
	size_t				 i, j, k, done = 0, n_held = 0;
	int				 rc;

	if (!coord_preempt_wanted(c, pending, res, n_pending) ||
	    (n_held = coord_running_read(c, sw, n_sw, &held)) == 0 ||
	    (cands = calloc(n_held, sizeof *cands)) == NULL)
		goto out;
	for (k = 0; k < n_held; k++) {
		cands[k].w = &held[k].w;
		cands[k].worker = held[k].worker;
	}
	for (i = 0; i < n_pending && done < COORD_PREEMPT_MAX; i++) {
		if (res[i].reason != SCHED_FULL && res[i].reason != SCHED_RESOURCES)
			continue;
		k = preempt_pick(&pending[i], sw, n_sw, cands, n_held,
		    &c->cfg.preempt);
		if (k == SIZE_MAX)
			continue;
		/* One preemption per worker per pass: the pick counts on the
		 * worker's room as it is, so a second one there might count on
		 * the same room.  The next pass sees the new state. */
		for (j = 0; j < n_held; j++)
			if (cands[j].worker == cands[k].worker)
				cands[j].taken = true;
		coord_cmd_init(&cmd, CMD_PREEMPT);
		memcpy(cmd.workload_id, held[k].w.id, sizeof cmd.workload_id);
		cmd.attempt = held[k].w.attempt;
		cmd.worker_id = held[k].w.worker_id;
		cmd.preempt_limit = c->cfg.preempt.max_in_a_row;
		rc = coord_propose(c, &cmd, &eb);
		if (rc == 0)
			log_info("PREEMPT", "workload %s (%s) preempted on %s for "
			    "%s (%s)", held[k].w.id, tier_name(held[k].w.tier),
			    held[k].w.worker_id, pending[i].id,
			    tier_name(pending[i].tier));
		else
			log_warn("PREEMPT", "preempting %s: %s", held[k].w.id,
			    eb.msg);
		done++;
	}
out:
	free(cands);
	for (k = 0; held != NULL && k < n_held; k++)
		workload_fini(&held[k].w);
	free(held);
}

/* An ASSIGN batch on its way through the log. */
struct coord_assign_wait {
	struct coord		*c;
	struct inflight_batch	*batch;
	size_t			 n;
};

/* The batch is applied (or never will be): the scheduler stops counting it
 * on top of the store, and may send the next one.  The duty thread is
 * woken only if a pass was put off for want of room in the pipeline: a
 * wake per batch would make a placement the state machine keeps skipping
 * (it checks again) a loop of passes and entries. */
static void
coord_assign_done(void *arg, int rc, const struct errbuf *eb)
{
	struct coord_assign_wait	*aw = arg;
	struct coord			*c = aw->c;

	if (rc != 0)
		log_warn("SCHEDASSIGN", "assigning %zu workloads: %s", aw->n,
		    eb->msg);
	inflight_settle(aw->batch);
	free(aw);
	if (atomic_exchange(&c->sched_deferred, false))
		coord_duty_wake(c);
}

static bool
coord_inflight_skip(const char *id, void *arg)
{
	return inflight_holds(arg, id);
}

/* Proposes the pass's placements as one ASSIGN and counts them in flight
 * until it is applied; returns how many were proposed. */
static size_t
coord_assign_propose(struct coord *c, const struct workload *pending,
    const struct sched_result *res, size_t n_pending,
    const struct sched_worker *sw, size_t placed)
{
	struct coord_assign_wait	*aw;
	struct inflight_placement	*flight;
	struct errbuf			 eb = { 0 };
	struct cmd			 cmd;
	size_t				 i, k;

	coord_cmd_init(&cmd, CMD_ASSIGN);
	cmd.placements = xcalloc(placed, sizeof *cmd.placements);
	flight = xcalloc(placed, sizeof *flight);
	for (i = 0, k = 0; i < n_pending && k < placed; i++) {
		if (res[i].reason != SCHED_PLACED)
			continue;
		memcpy(cmd.placements[k].workload_id, pending[i].id, sizeof pending[i].id);
		cmd.placements[k].worker_id = sw[res[i].worker].rec->id;
		cmd.placements[k].attempt = pending[i].attempt + 1;
		inflight_placement_set(&flight[k], &pending[i],
		    sw[res[i].worker].rec->id);
		k++;
	}
	cmd.n_placements = k;
	aw = xcalloc(1, sizeof *aw);
	aw->c = c;
	aw->n = k;
	/* Counted before it is proposed: the callback may come first. */
	aw->batch = inflight_add(c->inflight, flight, k);
	if (coord_propose_async(c, &cmd, coord_assign_done, aw, &eb) != 0) {
		log_warn("SCHEDASSIGN", "assigning %zu workloads: %s", k, eb.msg);
		inflight_settle(aw->batch);
		free(aw);
		k = 0;
	} else
		log_debug("SCHEDASSIGN", "proposed %zu of %zu pending", k,
		    n_pending);
	free(cmd.placements);
	return k;
}

/*
 * Reads the queue in steps and places as it goes: each step reads what the
 * room left can take plus COORD_SCHED_MARGIN, until the batch or the room
 * is used up, the queue ends, or window workloads were read.  A head of
 * the queue that cannot be placed (quotas, affinity, anti-affinity,
 * backoff) must not block what is behind it: while nothing could be
 * placed, the window grows, up to COORD_SCHED_WINDOW_MAX.  Reading a fixed
 * window of four times the batch decoded about 16,000 workloads to place
 * 4,096.  Returns the number placed; *pending and *res (grown with
 * realloc) hold every workload read and what became of it.
 */
static size_t
coord_place_from_queue(struct coord *c, struct sched_worker *sw, size_t n_sw,
    struct sched_quota *quotas, size_t n_quotas, size_t free_slots,
    size_t window, const struct sched_opts *opts, struct workload **pending,
    size_t *n_pending, struct sched_result **res)
{
	struct fsm_pending_read	*r;
	uint64_t		 now = clock_wall_ms();
	size_t			 batch = c->cfg.sched_batch, placed = 0;
	size_t			 room, want, before, i;

	if (fsm_pending_read_open(c->fsm, coord_inflight_skip, c->inflight,
	    &r) != 0)
		return 0;
	for (;;) {
		room = free_slots < batch ? free_slots - placed : batch - placed;
		want = room + COORD_SCHED_MARGIN;
		if (*n_pending + want > window)
			want = window - *n_pending;
		before = *n_pending;
		if (fsm_pending_read_more(r, want, pending, n_pending) != 0) {
			for (i = before; i < *n_pending; i++)
				workload_fini(&(*pending)[i]);
			*n_pending = before;
			break;
		}
		if (*n_pending == before)
			break;
		*res = xrealloc(*res, *n_pending * sizeof **res);
		placed += sched_place_with(*pending + before, *n_pending - before,
		    sw, n_sw, quotas, n_quotas, now, batch - placed, opts, NULL,
		    *res + before);
		if (placed >= batch || placed >= free_slots ||
		    *n_pending - before < want)
			break;
		if (*n_pending >= window) {
			if (placed > 0 || window >= COORD_SCHED_WINDOW_MAX)
				break;
			window = window * 4 < COORD_SCHED_WINDOW_MAX ? window * 4 :
			    COORD_SCHED_WINDOW_MAX;
		}
	}
	fsm_pending_read_close(r);
	return placed;
}

/* One scheduling round (woken: something changed, rather than the timer):
 * returns the number of placements proposed.  It does not wait for them:
 * up to COORD_SCHED_INFLIGHT batches go through the log while the next
 * passes are computed on the store plus the batches in flight
 * (src/sched_inflight.h).  With that many in flight it returns 0 at once;
 * the first to settle wakes the duty thread again. */
static size_t
coord_duty_schedule(struct coord *c, bool woken)
{
	struct workload		*pending = NULL;
	struct resources	 requested;
	struct worker_rec	*recs = NULL;
	struct sched_worker	*sw = NULL;
	struct sched_result	*res = NULL;
	struct sched_quota	*quotas = NULL;
	struct customer		*custs = NULL;
	size_t			 n_pending = 0, n_recs = 0, n_sw = 0, i, placed = 0;
	size_t			 free_slots = 0, window, n_quotas, n_custs = 0;
	struct sched_opts	 opts;
	uint64_t		 t0 = clock_mono_us();

	/* Settled batches are visible in the store from here on: a batch
	 * settles only once its LMDB transaction is committed. */
	if (inflight_reap(c->inflight) >= COORD_SCHED_INFLIGHT) {
		atomic_store(&c->sched_deferred, true);
		/* A batch may have settled before the flag was up. */
		if (inflight_reap(c->inflight) >= COORD_SCHED_INFLIGHT)
			return 0;
		atomic_store(&c->sched_deferred, false);
	}
	sched_opts_defaults(&opts);
	opts.strategy = c->cfg.placement_strategy;
	if (fsm_worker_list(c->fsm, &recs, &n_recs) != 0)
		goto out;
	if ((sw = calloc(n_recs + 1, sizeof *sw)) == NULL)
		goto out;
	for (i = 0; i < n_recs; i++) {
		if (recs[i].status != WORKER_ALIVE)
			continue;
		sw[n_sw].rec = &recs[i];
		sw[n_sw].used = recs[i].used;
		sw[n_sw].free = recs[i].offered;
		/* What runs there and what it asked for, from the state
		 * machine's memory: no workload is read. */
		if (recs[i].used > 0) {
			fsm_worker_holdings(c->fsm, recs[i].id,
			    &sw[n_sw].running_types, &requested);
			resources_take(&sw[n_sw].free, &requested);
		}
		n_sw++;
	}
	n_quotas = coord_quotas(c, &custs, &n_custs, &quotas);
	inflight_charge(c->inflight, sw, n_sw, quotas, n_quotas);
	for (i = 0; i < n_sw; i++)
		if (sw[i].used < sw[i].rec->capacity)
			free_slots += sw[i].rec->capacity - sw[i].used;
	/* Read only as much of the queue as the free slots can take, plus a
	 * margin so that workloads no worker can take right now (affinity,
	 * backoff) do not hide the placeable ones behind them.  With no room
	 * at all, a pass on the timer still looks at the head of the queue,
	 * so that the workloads there show why they wait. */
	if (free_slots == 0 && woken)
		goto out;
	window = free_slots * 4 + COORD_SCHED_MARGIN;
	if (window > (size_t)c->cfg.sched_batch * 4)
		window = (size_t)c->cfg.sched_batch * 4;
	placed = coord_place_from_queue(c, sw, n_sw, quotas, n_quotas,
	    free_slots, window, &opts, &pending, &n_pending, &res);
	if (n_pending == 0)
		goto out;
	sched_report_pass(c->sched_report, pending, res, n_pending,
	    clock_mono_us() - t0, clock_wall_ms());
	coord_duty_preempt(c, pending, res, n_pending, sw, n_sw);
	if (placed == 0)
		goto out;

	placed = coord_assign_propose(c, pending, res, n_pending, sw, placed);
out:
	free(quotas);
	for (i = 0; i < n_custs; i++)
		customer_fini(&custs[i]);
	free(custs);
	for (i = 0; i < n_sw; i++)
		sched_worker_fini(&sw[i]);
	free(sw);
	free(res);
	for (i = 0; i < n_pending; i++)
		workload_fini(&pending[i]);
	free(pending);
	for (i = 0; i < n_recs; i++)
		worker_rec_fini(&recs[i]);
	free(recs);
	return placed;
}

/* True if the node directory already holds this node's addresses. */
static bool
coord_announced(struct coord *c)
{
	struct node_rec	 cur;
	bool		 same;

	if (fsm_node_get(c->fsm, c->cfg.node_id, &cur) != 0)
		return false;
	same = strcmp(cur.raft_address, c->raft_listen) == 0 &&
	    strcmp(cur.http_url, c->http_url) == 0 &&
	    strcmp(cur.worker_url, c->worker_url) == 0;
	node_rec_fini(&cur);
	return same;
}

/* A follower cannot propose: it announces itself through the leader's API
 * (PUT /v1/cluster/nodes/{id}) with the cluster's admin key, when it has
 * the key file.  Tried at most every COORD_ANNOUNCE_RETRY_MS until it
 * succeeds once in the current term. */
static void
coord_duty_follower_announce(struct coord *c)
{
	struct http_response	 resp = { 0 };
	struct http_client	*hc = NULL;
	struct coord_status	 st;
	struct errbuf		 eb = { 0 };
	json_t			*doc;
	char			 leader[256], key[SECRET_TEXT_MAX], path[64];
	char			*body = NULL;
	uint64_t		 now = clock_mono_ms();
	int			 rc;

	coord_status_get(c, &st);
	if (c->http_url == NULL || st.leader || st.leader_id == 0 ||
	    c->announced_term == st.term || now < c->announce_next_ms)
		return;
	c->announce_next_ms = now + COORD_ANNOUNCE_RETRY_MS;
	if (coord_announced(c)) {
		c->announced_term = st.term;
		return;
	}
	if (coord_leader_http(c, leader, sizeof leader) != 0)
		return;
	if ((rc = secret_file_read(c->admin_key_path, key, &eb)) != 0) {
		if (!c->announce_nokey_logged)
			log_info("NODEANNOUNCE", "not in the node directory, and no "
			    "admin key to announce this node with (%s): give every "
			    "node the cluster's --admin-key-file", eb.msg);
		c->announce_nokey_logged = true;
		return;
	}
	if ((doc = json_pack("{s:s,s:s,s:s}", "raft_address", c->raft_listen,
	    "http_url", c->http_url, "worker_url", c->worker_url)) != NULL)
		body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	snprintf(path, sizeof path, "/v1/cluster/nodes/%" PRIu64, c->cfg.node_id);
	if (body == NULL || http_client_new(&hc, leader, key, &eb) != 0)
		goto out;
	http_client_set_connect_timeout_ms(hc, 1000);
	http_client_set_timeout_ms(hc, (long)c->cfg.propose_timeout_ms + 1000);
	if (http_client_request(hc, "PUT", path, body, &resp, &eb) != 0)
		log_debug("NODEANNOUNCE", "announcing to %s: %s", leader, eb.msg);
	else if (resp.status == 200) {
		c->announced_term = st.term;
		log_info("NODEANNOUNCE", "node %" PRIu64 " announced to the leader "
		    "at %s: http %s, workers %s", c->cfg.node_id, leader,
		    c->http_url, c->worker_url);
	} else
		log_warn("NODEANNOUNCE", "the leader at %s refused this node's "
		    "announcement: HTTP %ld %.200s", leader, resp.status,
		    resp.body != NULL ? resp.body : "");
out:
	explicit_bzero(key, sizeof key);
	http_response_fini(&resp);
	http_client_free(hc);
	free(body);
}

/* Once per term of leading: puts this node's addresses in the node
 * directory if they are not there already, so followers can forward to
 * it and workers and operators can find it. */
static void
coord_duty_announce(struct coord *c)
{
	struct coord_status	 st;
	struct errbuf		 eb = { 0 };
	struct cmd		 cmd;
	int			 rc;

	coord_status_get(c, &st);
	if (c->http_url == NULL || c->announced_term == st.term)
		return;
	if (coord_announced(c)) {
		c->announced_term = st.term;
		return;
	}
	coord_cmd_init(&cmd, CMD_NODE_SET);
	cmd.node.id = c->cfg.node_id;
	cmd.node.raft_address = c->raft_listen;
	cmd.node.http_url = c->http_url;
	cmd.node.worker_url = c->worker_url;
	cmd.node.updated_ms = cmd.now_ms;
	if ((rc = coord_propose(c, &cmd, &eb)) != 0) {
		log_warn("NODEANNOUNCE", "announcing this node: %s", eb.msg);
		return;
	}
	c->announced_term = st.term;
	log_info("NODEANNOUNCE", "node %" PRIu64 ": http %s, workers %s, raft %s",
	    c->cfg.node_id, c->http_url, c->worker_url, c->raft_listen);
}

static void *
coord_duty_main(void *arg)
{
	struct coord	*c = arg;
	struct timespec	 deadline;
	uint64_t	 next_hb = 0, next_dead = 0, next_sched = 0, now, ns, wait_ms;
	size_t		 placed;
	bool		 woken;

	for (;;) {
		wait_ms = c->cfg.sched_interval_ms;
		if (wait_ms > c->cfg.worker_heartbeat_ms)
			wait_ms = c->cfg.worker_heartbeat_ms;
		if (wait_ms > COORD_DEAD_CHECK_MS)
			wait_ms = COORD_DEAD_CHECK_MS;
		clock_gettime(CLOCK_REALTIME, &deadline);
		ns = (uint64_t)deadline.tv_nsec + wait_ms * 1000000;
		deadline.tv_sec += (time_t)(ns / 1000000000);
		deadline.tv_nsec = (long)(ns % 1000000000);
		pthread_mutex_lock(&c->mu);
		while (!c->duty_wake && !c->stopping &&
		    pthread_cond_timedwait(&c->duty_cv, &c->mu, &deadline) != ETIMEDOUT)
			;
		woken = c->duty_wake;
		c->duty_wake = false;
		if (c->stopping) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_unlock(&c->mu);

		if (!atomic_load(&c->leader_ready)) {
			c->duty_led = false;
			coord_duty_follower_announce(c);
			continue;
		}
		if (!c->duty_led) {
			/* A new term of leading starts its metrics afresh. */
			sched_report_reset(c->sched_report);
			c->duty_led = true;
		}
		if (!atomic_load(&c->secrets_ready) && coord_secrets_ensure(c) != 0)
			continue;
		coord_duty_announce(c);
		now = clock_mono_ms();
		if (now >= next_hb) {
			coord_duty_heartbeats(c);
			next_hb = now + c->cfg.worker_heartbeat_ms / 2;
		}
		/* Looked for often (it reads memory only), so that a worker is
		 * declared dead within COORD_DEAD_CHECK_MS of its timeout. */
		if (now >= next_dead) {
			coord_duty_dead_workers(c);
			next_dead = now + COORD_DEAD_CHECK_MS;
		}
		/* A pass when something changed (a wake-up) or every
		 * sched_interval_ms; then keep placing while full batches go
		 * out, so a backlog drains without waiting. */
		if (!woken && now < next_sched)
			continue;
		next_sched = now + c->cfg.sched_interval_ms;
		do {
			placed = coord_duty_schedule(c, woken);
		} while (placed >= c->cfg.sched_batch && atomic_load(&c->leader_ready));
	}
	return NULL;
}

/* ---- open and close ---- */

static void
coord_peers_free(struct cluster_peer *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free((char *)v[i].address);
	free(v);
}

/* The configuration coord_open keeps beyond the caller's: the peers, the
 * announced addresses and the secret paths. */
static int
coord_open_copies(struct coord *c, const struct coord_config *cfg,
    struct errbuf *eb)
{
	char	 path[4096];
	size_t	 i;
	bool	 self = false;

	c->cfg.peers = NULL;
	c->cfg.http_url = c->cfg.worker_url = NULL;
	c->cfg.admin_key_file = c->cfg.join_token_file = NULL;
	if (cfg->n_peers > 0) {
		if ((c->peers = calloc(cfg->n_peers, sizeof *c->peers)) == NULL)
			return err_setf(eb, ERR_NOMEM, "out of memory");
		c->n_peers = cfg->n_peers;
		for (i = 0; i < cfg->n_peers; i++) {
			c->peers[i].id = cfg->peers[i].id;
			if ((c->peers[i].address = strdup(cfg->peers[i].address)) ==
			    NULL)
				return err_setf(eb, ERR_NOMEM, "out of memory");
			if (cfg->peers[i].id == cfg->node_id) {
				self = true;
				if (strcmp(cfg->peers[i].address, cfg->raft_listen) != 0)
					return err_setf(eb, ERR_INVAL, "the peer list "
					    "gives node %" PRIu64 " the address %s, but "
					    "it listens on %s", cfg->node_id,
					    cfg->peers[i].address, cfg->raft_listen);
			}
		}
		if (!self)
			return err_setf(eb, ERR_INVAL, "the peer list does not name "
			    "this node (%" PRIu64 ")", cfg->node_id);
	}
	if (cfg->http_url != NULL && (c->http_url = strdup(cfg->http_url)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	c->worker_url = strdup(cfg->worker_url != NULL ? cfg->worker_url :
	    cfg->worker_listen);
	if (cfg->admin_key_file != NULL)
		c->admin_key_path = strdup(cfg->admin_key_file);
	else
		c->admin_key_path = strdup(coord_data_path(c, COORD_ADMIN_KEY_FILE,
		    path, sizeof path));
	if (cfg->join_token_file != NULL)
		c->join_token_path = strdup(cfg->join_token_file);
	else
		c->join_token_path = strdup(coord_data_path(c, COORD_JOIN_TOKEN_FILE,
		    path, sizeof path));
	if (c->worker_url == NULL || c->admin_key_path == NULL ||
	    c->join_token_path == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	return 0;
}

static int
coord_fsm_apply(void *arg, uint64_t index, const void *buf, size_t len)
{
	struct coord		*c = arg;
	struct apply_item	*it;

	/* libraft's buffer is borrowed for this call only: copy it. */
	if ((it = malloc(sizeof *it + len)) == NULL)
		return ERR_NOMEM;
	it->next = NULL;
	it->index = index;
	it->len = len;
	memcpy(it->buf, buf, len);
	pthread_mutex_lock(&c->aq_mu);
	if (c->aq_tail != NULL)
		c->aq_tail->next = it;
	else
		c->aq_head = it;
	c->aq_tail = it;
	c->aq_queued = index;
	pthread_cond_signal(&c->aq_cv);
	pthread_mutex_unlock(&c->aq_mu);
	return 0;
}

/* Loop thread: every entry up to index has been queued to the apply
 * thread; the snapshot taken next must hold them. */
static void
coord_fsm_snapshot_mark(void *arg, uint64_t index)
{
	struct coord	*c = arg;

	pthread_mutex_lock(&c->aq_mu);
	c->snap_need = index;
	pthread_mutex_unlock(&c->aq_mu);
}

/* A pool thread, beside the apply thread: waits for the marked entries to
 * be committed to LMDB, then copies the store as it is then (perhaps with
 * later entries in it, which fsm_apply skips on replay). */
static int
coord_fsm_snapshot(void *arg, void **buf, size_t *len)
{
	struct coord	*c = arg;
	struct errbuf	 eb = { 0 };
	int		 rc;

	pthread_mutex_lock(&c->aq_mu);
	coord_apply_wait_locked(c, c->snap_need);
	pthread_mutex_unlock(&c->aq_mu);
	if ((rc = fsm_snapshot(c->fsm, buf, len, &eb)) != 0)
		log_error("FSMSNAP", "%s", eb.msg);
	return rc;
}

static int
coord_fsm_restore(void *arg, const void *buf, size_t len)
{
	struct coord	*c = arg;
	struct errbuf	 eb = { 0 };
	int		 rc;

	coord_apply_drain(c);
	if ((rc = fsm_restore(c->fsm, buf, len, &eb)) != 0)
		log_error("FSMRESTORE", "%s", eb.msg);
	return rc;
}

static int
coord_mkdir(const char *path, struct errbuf *eb)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_setf(eb, ERR_IO, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

int
coord_open(struct coord **out, const struct coord_config *cfg, struct errbuf *eb)
{
	struct cluster_config	 ccfg;
	struct cluster_fsm	 cfsm;
	struct coord_workers	*cw;
	struct coord		*c;
	char			 path[4096];
	int			 rc;

	if (cfg->data_dir == NULL || cfg->worker_listen == NULL || cfg->raft_listen == NULL)
		return err_setf(eb, ERR_INVAL, "data dir, worker and raft listen addresses are required");
	if ((c = calloc(1, sizeof *c)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	c->cfg = *cfg;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->duty_cv, NULL);
	pthread_mutex_init(&c->aq_mu, NULL);
	pthread_cond_init(&c->aq_cv, NULL);
	pthread_cond_init(&c->aq_drained, NULL);
	pthread_cond_init(&c->async_cv, NULL);
	if ((c->results = calloc(COORD_RESULTS_RING, sizeof *c->results)) == NULL) {
		free(c);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	c->data_dir = strdup(cfg->data_dir);
	c->worker_listen = strdup(cfg->worker_listen);
	c->raft_listen = strdup(cfg->raft_listen);
	if (c->data_dir == NULL || c->worker_listen == NULL || c->raft_listen == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
		goto fail;
	}
	c->cfg.data_dir = c->data_dir;
	c->cfg.worker_listen = c->worker_listen;
	c->cfg.raft_listen = c->raft_listen;
	if ((rc = coord_open_copies(c, cfg, eb)) != 0)
		goto fail;
	/* Followers announce themselves to the leader over HTTP. */
	if ((rc = http_global_init(eb)) != 0)
		goto fail;
	c->http_ready = true;

	if ((rc = coord_mkdir(c->data_dir, eb)) != 0)
		goto fail;
	coord_data_path(c, "raft", path, sizeof path);
	if ((rc = coord_mkdir(path, eb)) != 0)
		goto fail;
	if ((c->raft_dir = strdup(path)) == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = fsm_open(&c->fsm, c->data_dir, cfg->lmdb_map_size, eb)) != 0)
		goto fail;
	c->inflight = inflight_new();
	if (sched_report_new(&c->sched_report) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
		goto fail;
	}

	if (uv_loop_init(&c->loop) != 0) {
		rc = err_setf(eb, ERR_IO, "cannot create the event loop");
		goto fail;
	}
	c->loop_ready = true;
	uv_async_init(&c->loop, &c->async, coord_async_cb);
	c->async.data = c;
	uv_timer_init(&c->loop, &c->state_timer);
	c->state_timer.data = c;
	uv_timer_start(&c->state_timer, coord_state_timer_cb, 0, COORD_STATE_POLL_MS);

	memset(&ccfg, 0, sizeof ccfg);
	ccfg.id = cfg->node_id;
	ccfg.address = c->raft_listen;
	ccfg.dir = c->raft_dir;
	ccfg.election_timeout_ms = cfg->election_timeout_ms;
	ccfg.heartbeat_ms = cfg->raft_heartbeat_ms;
	ccfg.pre_vote = cfg->pre_vote;
	ccfg.snapshot_threshold = cfg->snapshot_threshold;
	ccfg.snapshot_bytes = cfg->snapshot_bytes;
	ccfg.snapshot_trailing = cfg->snapshot_trailing;
	ccfg.trace = getenv("LIBRAFT_TRACE") != NULL;
	ccfg.peers = c->peers;
	ccfg.n_peers = c->n_peers;
	ccfg.join = cfg->join;
	cfsm.arg = c;
	cfsm.apply = coord_fsm_apply;
	cfsm.snapshot_mark = coord_fsm_snapshot_mark;
	cfsm.snapshot = coord_fsm_snapshot;
	cfsm.restore = coord_fsm_restore;
	/* The apply thread first: libraft restores the snapshot and replays
	 * the log tail inside raft_start, right here on this thread (still
	 * the only one touching libraft), and the replayed entries go to it.
	 * Every LMDB write stays on that one thread, as LMDB's writer lock
	 * requires. */
	if (pthread_create(&c->apply_thread, NULL, coord_apply_main, c) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "cannot start the apply thread");
		goto fail;
	}
	c->apply_started = true;
	/* Named so that `top -H` and debuggers tell the stages apart. */
	pthread_setname_np(c->apply_thread, "niyanta-apply");
	if ((rc = cluster_open(&c->cluster, &c->loop, &ccfg, &cfsm, eb)) != 0)
		goto fail;
	coord_apply_drain(c);
	if (pthread_create(&c->async_thread, NULL, coord_async_main, c) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "cannot start the callback thread");
		goto fail;
	}
	c->async_started = true;
	pthread_setname_np(c->async_thread, "niyanta-answer");

	if ((rc = coord_workers_open(&cw, c, eb)) != 0)
		goto fail;
	pthread_mutex_lock(&c->mu);
	c->workers = cw;
	pthread_mutex_unlock(&c->mu);
	if ((rc = bus_server_open(&c->bus, c->worker_listen, cfg->worker_threads,
	    coord_workers_request, cw, eb)) != 0)
		goto fail;

	if (pthread_create(&c->loop_thread, NULL, coord_loop_main, c) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "cannot start the loop thread");
		goto fail;
	}
	c->loop_started = true;
	pthread_setname_np(c->loop_thread, "niyanta-raft");
	if (pthread_create(&c->duty_thread, NULL, coord_duty_main, c) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "cannot start the duty thread");
		goto fail;
	}
	c->duty_started = true;
	pthread_setname_np(c->duty_thread, "niyanta-duty");
	*out = c;
	return 0;
fail:
	coord_close(c);
	return rc;
}

void
coord_close(struct coord *c)
{
	struct coord_workers	*cw;
	struct proposal		*p, *next;
	struct coord_task	*t;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->duty_cv);
	pthread_mutex_unlock(&c->mu);

	/* Order matters.  The duty thread goes first (it proposes and waits);
	 * then the worker endpoint stops holding polls.  Then libraft and the
	 * apply thread stop, and every proposal still open is finished, so
	 * that each worker request in hand, waiting or asynchronous, has its
	 * answer before the bus closes. */
	if (c->duty_started)
		pthread_join(c->duty_thread, NULL);
	pthread_mutex_lock(&c->mu);
	cw = c->workers;
	c->workers = NULL;
	pthread_mutex_unlock(&c->mu);
	coord_workers_stop(cw);

	if (c->loop_started) {
		uv_async_send(&c->async);
		pthread_join(c->loop_thread, NULL);
	} else if (c->loop_ready) {
		/* Never started: close libraft and the handles on this
		 * thread, running the loop until they are gone. */
		if (c->cluster != NULL) {
			struct cluster	*cl = c->cluster;

			c->cluster = NULL;
			cluster_close(cl, coord_cluster_closed, c);
		} else
			coord_cluster_closed(c);
		uv_run(&c->loop, UV_RUN_DEFAULT);
	}
	if (c->loop_ready)
		uv_loop_close(&c->loop);

	/* libraft is gone: apply what it handed over, then stop. */
	if (c->apply_started) {
		pthread_mutex_lock(&c->aq_mu);
		c->aq_stop = true;
		pthread_cond_signal(&c->aq_cv);
		pthread_mutex_unlock(&c->aq_mu);
		pthread_join(c->apply_thread, NULL);
		c->apply_started = false;
	}

	/* Whatever is still queued was never proposed. */
	pthread_mutex_lock(&c->mu);
	for (p = c->queue_head; p != NULL; p = next) {
		next = p->next;
		coord_proposal_finish_locked(c, p, ERR_SHUTDOWN, 0);
	}
	c->queue_head = c->queue_tail = NULL;
	/* Committed entries that were never applied (the loop stopped). */
	for (p = c->waiting; p != NULL; p = next) {
		next = p->next;
		coord_proposal_finish_locked(c, p, ERR_SHUTDOWN, 0);
	}
	c->waiting = NULL;
	/* Tasks libraft never called back for (the loop is gone). */
	while ((t = c->tasks_inflight) != NULL) {
		c->tasks_inflight = t->next;
		t->status = ERR_SHUTDOWN;
		t->done = true;
		pthread_cond_signal(&t->cond);
		coord_task_unref_locked(t);
	}
	while ((t = c->task_head) != NULL) {
		c->task_head = t->next;
		t->status = ERR_SHUTDOWN;
		t->done = true;
		pthread_cond_signal(&t->cond);
		coord_task_unref_locked(t);
	}
	c->task_tail = NULL;
	c->async_stop = true;
	pthread_cond_signal(&c->async_cv);
	pthread_mutex_unlock(&c->mu);
	if (c->async_started) {
		pthread_join(c->async_thread, NULL);
		c->async_started = false;
	}

	bus_server_close(c->bus);
	c->bus = NULL;
	coord_workers_close(cw);

	fsm_close(c->fsm);
	sched_report_free(c->sched_report);
	/* Every proposal has had its callback: no batch settles any more. */
	inflight_free(c->inflight);
	free(c->results);
	pthread_cond_destroy(&c->aq_drained);
	pthread_cond_destroy(&c->aq_cv);
	pthread_mutex_destroy(&c->aq_mu);
	pthread_cond_destroy(&c->async_cv);
	free(c->data_dir);
	free(c->worker_listen);
	free(c->raft_listen);
	free(c->raft_dir);
	free(c->http_url);
	free(c->worker_url);
	free(c->admin_key_path);
	free(c->join_token_path);
	coord_peers_free(c->peers, c->n_peers);
	if (c->http_ready)
		http_global_fini();
	pthread_cond_destroy(&c->duty_cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
