/*
 * libraft glue.  The FSM adapter translates libraft's callbacks into the
 * cluster_fsm ones; proposals wrap raft_apply/raft_barrier requests so the
 * caller sees one done callback with an ERR_* status.
 *
 * libraft 0.15 does not tell apply() which index it is applying; it applies
 * entries in order and sets last_applied after each, so the entry being
 * applied is always last_applied + 1.
 *
 * libraft's uv backend requires every entry's length to be a multiple of 8
 * (an assert that release builds compile out: a shorter entry is written
 * with a checksum the loader cannot verify, and the log is truncated there
 * on restart).  So each entry is framed: an 8-byte header holding the
 * payload's length, the payload, and zero padding to a multiple of 8.
 */
#include "net/cluster.h"

#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "src/clock.h"
#include "src/err.h"
#include "src/log.h"

struct cluster {
	struct raft			 raft;
	struct raft_io			 io;
	struct raft_uv_transport	 transport;	/* libraft's TCP transport */
	struct raft_uv_transport	 nodelay;	/* it, without Nagle */
	raft_uv_accept_cb		 accept_cb;	/* libraft's, for nodelay */
	raft_uv_transport_close_cb	 close_cb;
	struct raft_fsm			 rfsm;
	struct raft_tracer		 tracer;
	struct cluster_fsm		 fsm;
	bool				 io_ready;	/* io initialised */
	bool				 transport_ready;
	bool				 raft_ready;	/* raft_init done */
	uint64_t			 snapshot_index; /* being taken */
	unsigned			 snapshot_threshold; /* configured */
	uint64_t			 snapshot_bytes;	/* configured */
	uint64_t			 log_bytes;	/* applied since the last snapshot */
	bool				 snapshot_due;	/* threshold lowered for bytes */
	cluster_closed_cb		 closed_cb;
	void				*closed_arg;
};

#define CLUSTER_FRAME_HEADER	8

/* Payload of a framed entry, or NULL if the frame is malformed. */
static const void *
cluster_frame_payload(const struct raft_buffer *buf, size_t *len)
{
	const uint8_t	*p = buf->base;
	uint64_t	 n = 0;
	int		 i;

	if (buf->len < CLUSTER_FRAME_HEADER || buf->len % 8 != 0)
		return NULL;
	for (i = 7; i >= 0; i--)
		n = (n << 8) | p[i];
	if (n > buf->len - CLUSTER_FRAME_HEADER ||
	    buf->len - CLUSTER_FRAME_HEADER - n >= 8)
		return NULL;
	*len = (size_t)n;
	return p + CLUSTER_FRAME_HEADER;
}

struct cluster_req {
	union {
		struct raft_apply	 apply;
		struct raft_barrier	 barrier;
		struct raft_change	 change;
		struct raft_transfer	 transfer;
	} u;
	cluster_done_cb			 done;
	void				*arg;
	struct cluster			*cluster;	/* membership changes */
	uint64_t			 id;		/*   the server changed */
	bool				 promote;	/*   add: then make it a voter */
};

static int
cluster_status_err(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case RAFT_NOTLEADER:
	case RAFT_LEADERSHIPLOST:
		return ERR_NOTLEADER;
	case RAFT_NOMEM:
		return ERR_NOMEM;
	case RAFT_SHUTDOWN:
	case RAFT_CANCELED:
		return ERR_SHUTDOWN;
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
		return ERR_EXISTS;
	case RAFT_BADID:
	case RAFT_NOTFOUND:
		return ERR_NOTFOUND;
	case RAFT_CANTCHANGE:
		return ERR_CONFLICT;
	default:
		return ERR_UNAVAIL;
	}
}

static int
cluster_fsm_apply(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
	struct cluster	*c = rf->data;
	uint64_t	 index = raft_last_applied(&c->raft) + 1;
	const void	*payload;
	size_t		 len;
	int		 rc;

	if ((payload = cluster_frame_payload(buf, &len)) == NULL) {
		log_error("RAFTAPPLY", "entry %llu is not a framed command",
		    (unsigned long long)index);
		return RAFT_MALFORMED;
	}
	rc = c->fsm.apply(c->fsm.arg, index, payload, len);
	if (rc != 0) {
		log_error("RAFTAPPLY", "applying entry %llu failed: %s",
		    (unsigned long long)index, err_code_name(rc));
		return RAFT_IOERR;
	}
	/* libraft snapshots by entry count alone, and keeps every entry since
	 * the last snapshot in memory; entries range from a heartbeat batch to
	 * thousands of submissions.  Past snapshot_bytes, a threshold of 1
	 * makes libraft take one once this batch of entries is applied. */
	c->log_bytes += buf->len;
	if (c->snapshot_bytes > 0 && c->log_bytes >= c->snapshot_bytes &&
	    !c->snapshot_due) {
		raft_set_snapshot_threshold(&c->raft, 1);
		c->snapshot_due = true;
	}
	*result = NULL;	/* verdicts are kept by the FSM's side, not passed here */
	return 0;
}

/* A snapshot begins, or one is installed: the log bytes count from it. */
static void
cluster_log_bytes_reset(struct cluster *c)
{
	c->log_bytes = 0;
	if (c->snapshot_due) {
		raft_set_snapshot_threshold(&c->raft, c->snapshot_threshold);
		c->snapshot_due = false;
	}
}

/*
 * Snapshots are asynchronous (libraft's FSM version 3): the loop thread
 * only marks the index, and the copy and compression of the whole store,
 * which take seconds on a large one, run on a pool thread.  While one is
 * being taken libraft neither starts another nor installs one from a
 * leader.
 */
static int
cluster_fsm_snapshot_mark(struct raft_fsm *rf, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	struct cluster	*c = rf->data;

	*bufs = NULL;
	*n_bufs = 0;
	c->snapshot_index = raft_last_applied(&c->raft);
	c->fsm.snapshot_mark(c->fsm.arg, c->snapshot_index);
	cluster_log_bytes_reset(c);
	return 0;
}

static int
cluster_fsm_snapshot_take(struct raft_fsm *rf, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	struct cluster	*c = rf->data;
	void		*data;
	size_t		 len;
	uint64_t	 t0 = clock_mono_ms();
	int		 rc;

	if ((rc = c->fsm.snapshot(c->fsm.arg, &data, &len)) != 0) {
		log_error("RAFTSNAP", "snapshot failed: %s", err_code_name(rc));
		return RAFT_IOERR;
	}
	if ((*bufs = malloc(sizeof **bufs)) == NULL) {
		free(data);
		return RAFT_NOMEM;
	}
	(*bufs)[0].base = data;
	(*bufs)[0].len = len;
	*n_bufs = 1;
	log_info("RAFTSNAP", "snapshot at entry %llu: %zu bytes in %llu ms",
	    (unsigned long long)c->snapshot_index, len,
	    (unsigned long long)(clock_mono_ms() - t0));
	return 0;
}

/* With snapshot_finalize set, the buffers stay ours: libraft calls it once
 * the snapshot is on disk, or has failed. */
static int
cluster_fsm_snapshot_finalize(struct raft_fsm *rf, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	unsigned	 i;

	(void)rf;
	if (*bufs != NULL) {
		for (i = 0; i < *n_bufs; i++)
			free((*bufs)[i].base);
		free(*bufs);
	}
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

static int
cluster_fsm_restore(struct raft_fsm *rf, struct raft_buffer *buf)
{
	struct cluster	*c = rf->data;
	int		 rc;

	rc = c->fsm.restore(c->fsm.arg, buf->base, buf->len);
	if (rc != 0) {
		log_error("RAFTRESTORE", "restoring snapshot failed: %s",
		    err_code_name(rc));
		return RAFT_IOERR;
	}
	/* On success restore owns the buffer. */
	raft_free(buf->base);
	cluster_log_bytes_reset(c);
	log_info("RAFTRESTORE", "restored snapshot of %zu bytes", (size_t)buf->len);
	return 0;
}

static void
cluster_trace_emit(struct raft_tracer *t, const char *file, int line, const char *message)
{
	(void)t;
	log_debug("RAFTTRACE", "%s:%d %s", file, line, message);
}

/* ---- the transport, without Nagle ----
 *
 * libraft's TCP transport leaves Nagle's algorithm on.  A leader with more
 * than one AppendEntries in flight then holds each small message back until
 * the previous one is acknowledged, and the follower delays that ACK: about
 * 40 ms per round trip on Linux, which caps a cluster's write rate far
 * below a single node's.  The wrapper below hands every connection to
 * libraft with TCP_NODELAY set and otherwise passes each call through. */

struct cluster_connect {
	struct raft_uv_connect	 inner;
	struct raft_uv_connect	*outer;
	raft_uv_connect_cb	 outer_cb;
};

static void
cluster_stream_nodelay(struct uv_stream_s *stream)
{
	if (stream != NULL && stream->type == UV_TCP)
		uv_tcp_nodelay((uv_tcp_t *)stream, 1);
}

static int
cluster_nodelay_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	struct cluster	*c = t->impl;
	int		 rv;

	if ((rv = c->transport.init(&c->transport, id, address)) != 0)
		memcpy(t->errmsg, c->transport.errmsg, sizeof t->errmsg);
	return rv;
}

static void
cluster_nodelay_accepted(struct raft_uv_transport *inner, raft_id id,
    const char *address, struct uv_stream_s *stream)
{
	struct cluster	*c = inner->data;

	cluster_stream_nodelay(stream);
	c->accept_cb(&c->nodelay, id, address, stream);
}

static int
cluster_nodelay_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct cluster	*c = t->impl;

	int		 rv;

	c->accept_cb = cb;
	c->transport.data = c;
	if ((rv = c->transport.listen(&c->transport, cluster_nodelay_accepted)) != 0)
		memcpy(t->errmsg, c->transport.errmsg, sizeof t->errmsg);
	return rv;
}

static void
cluster_nodelay_connected(struct raft_uv_connect *req, struct uv_stream_s *stream,
    int status)
{
	struct cluster_connect	*w = req->data;
	struct raft_uv_connect	*outer = w->outer;
	raft_uv_connect_cb	 cb = w->outer_cb;

	free(w);
	if (status == 0)
		cluster_stream_nodelay(stream);
	cb(outer, stream, status);
}

static int
cluster_nodelay_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
    raft_id id, const char *address, raft_uv_connect_cb cb)
{
	struct cluster		*c = t->impl;
	struct cluster_connect	*w;
	int			 rv;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return RAFT_NOMEM;
	w->inner.data = w;
	w->outer = req;
	w->outer_cb = cb;
	req->cb = cb;
	if ((rv = c->transport.connect(&c->transport, &w->inner, id, address,
	    cluster_nodelay_connected)) != 0)
		free(w);
	return rv;
}

static void
cluster_nodelay_closed(struct raft_uv_transport *inner)
{
	struct cluster	*c = inner->data;

	if (c->close_cb != NULL)
		c->close_cb(&c->nodelay);
}

static void
cluster_nodelay_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct cluster	*c = t->impl;

	c->close_cb = cb;
	c->transport.data = c;
	c->transport.close(&c->transport, cluster_nodelay_closed);
}

int
cluster_open(struct cluster **out, struct uv_loop_s *loop,
    const struct cluster_config *cfg, const struct cluster_fsm *fsm,
    struct errbuf *eb)
{
	struct raft_configuration	 conf;
	struct cluster			*c;
	size_t				 i;
	int				 rv;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	c->fsm = *fsm;
	c->rfsm.version = 3;
	c->rfsm.data = c;
	c->rfsm.apply = cluster_fsm_apply;
	c->rfsm.snapshot = cluster_fsm_snapshot_mark;
	c->rfsm.snapshot_async = cluster_fsm_snapshot_take;
	c->rfsm.snapshot_finalize = cluster_fsm_snapshot_finalize;
	c->rfsm.restore = cluster_fsm_restore;

	if ((rv = raft_uv_tcp_init(&c->transport, loop)) != 0) {
		err_setf(eb, ERR_IO, "raft transport: %s", raft_strerror(rv));
		goto fail;
	}
	c->transport_ready = true;
	c->nodelay.impl = c;
	c->nodelay.init = cluster_nodelay_init;
	c->nodelay.listen = cluster_nodelay_listen;
	c->nodelay.connect = cluster_nodelay_connect;
	c->nodelay.close = cluster_nodelay_close;
	if ((rv = raft_uv_init(&c->io, loop, cfg->dir, &c->nodelay)) != 0) {
		err_setf(eb, ERR_IO, "raft log in %s: %s", cfg->dir, raft_strerror(rv));
		goto fail;
	}
	c->io_ready = true;
	/* The uv backend of 0.15 implements async_work (used for snapshots)
	 * but still reports version 1, and raft_init refuses an FSM of
	 * version 3 on an io of version 1; later releases report 2. */
	if (c->io.version < 2 && c->io.async_work != NULL)
		c->io.version = 2;
	/* Our snapshots are zstd-compressed already. */
	raft_uv_set_snapshot_compression(&c->io, false);
	if (cfg->trace) {
		c->tracer.enabled = true;
		c->tracer.emit = cluster_trace_emit;
		raft_uv_set_tracer(&c->io, &c->tracer);
	}
	if ((rv = raft_init(&c->raft, &c->io, &c->rfsm, cfg->id, cfg->address)) != 0) {
		err_setf(eb, ERR_IO, "raft init: %s", raft_strerror(rv));
		goto fail;
	}
	c->raft_ready = true;
	raft_set_election_timeout(&c->raft, cfg->election_timeout_ms);
	raft_set_heartbeat_timeout(&c->raft, cfg->heartbeat_ms);
	raft_set_pre_vote(&c->raft, cfg->pre_vote);
	c->snapshot_threshold = cfg->snapshot_threshold;
	c->snapshot_bytes = cfg->snapshot_bytes;
	raft_set_snapshot_threshold(&c->raft, cfg->snapshot_threshold);
	raft_set_snapshot_trailing(&c->raft, cfg->snapshot_trailing);

	raft_configuration_init(&conf);
	if (cfg->join)
		rv = 0;	/* the leader sends the configuration when it adds us */
	else if (cfg->n_peers == 0)
		rv = raft_configuration_add(&conf, cfg->id, cfg->address, RAFT_VOTER);
	else
		for (i = 0, rv = 0; i < cfg->n_peers && rv == 0; i++)
			rv = raft_configuration_add(&conf, cfg->peers[i].id,
			    cfg->peers[i].address, RAFT_VOTER);
	if (rv == 0 && !cfg->join) {
		rv = raft_bootstrap(&c->raft, &conf);
		/* A node that already has state cannot be bootstrapped again:
		 * that is the normal restart. */
		if (rv == RAFT_CANTBOOTSTRAP)
			rv = 0;
	}
	raft_configuration_close(&conf);
	if (rv != 0) {
		err_setf(eb, ERR_IO, "raft bootstrap: %s", raft_strerror(rv));
		goto fail;
	}
	if ((rv = raft_start(&c->raft)) != 0) {
		err_setf(eb, ERR_IO, "raft start: %s (%s)", raft_strerror(rv),
		    raft_errmsg(&c->raft));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	/* A half-initialised libraft cannot be closed synchronously; the
	 * daemon exits on this error, so only what is safe is released. */
	if (!c->raft_ready) {
		if (c->io_ready)
			raft_uv_close(&c->io);
		if (c->transport_ready)
			raft_uv_tcp_close(&c->transport);
		if (!c->io_ready && !c->transport_ready)
			free(c);
	}
	return eb != NULL && eb->code != 0 ? eb->code : ERR_IO;
}

static void
cluster_raft_closed(struct raft *r)
{
	struct cluster	*c = r->data;

	raft_uv_close(&c->io);
	raft_uv_tcp_close(&c->transport);
	if (c->closed_cb != NULL)
		c->closed_cb(c->closed_arg);
	free(c);
}

void
cluster_close(struct cluster *c, cluster_closed_cb closed_cb, void *arg)
{
	if (c == NULL) {
		if (closed_cb != NULL)
			closed_cb(arg);
		return;
	}
	c->closed_cb = closed_cb;
	c->closed_arg = arg;
	c->raft.data = c;
	raft_close(&c->raft, cluster_raft_closed);
}

static void
cluster_apply_cb(struct raft_apply *req, int status, void *result)
{
	struct cluster_req	*r = req->data;

	(void)result;	/* the FSM applies on its own thread and keeps results */
	r->done(r->arg, cluster_status_err(status), req->index);
	free(r);
}

int
cluster_propose(struct cluster *c, void *buf, size_t len, cluster_done_cb done, void *arg)
{
	struct cluster_req	*r;
	struct raft_buffer	 rb;
	uint8_t			*framed;
	size_t			 padded = (len + 7) & ~(size_t)7;
	int			 rv, i;

	if (raft_state(&c->raft) != RAFT_LEADER) {
		free(buf);
		return ERR_NOTLEADER;
	}
	framed = raft_calloc(1, CLUSTER_FRAME_HEADER + padded);
	if (framed == NULL || (r = calloc(1, sizeof *r)) == NULL) {
		raft_free(framed);
		free(buf);
		return ERR_NOMEM;
	}
	for (i = 0; i < 8; i++)
		framed[i] = (uint8_t)((uint64_t)len >> (8 * i));
	memcpy(framed + CLUSTER_FRAME_HEADER, buf, len);
	free(buf);
	buf = framed;
	len = CLUSTER_FRAME_HEADER + padded;
	r->done = done;
	r->arg = arg;
	r->u.apply.data = r;
	rb.base = buf;
	rb.len = len;
	if ((rv = raft_apply(&c->raft, &r->u.apply, &rb, 1, cluster_apply_cb)) != 0) {
		raft_free(buf);
		free(r);
		return cluster_status_err(rv) != 0 ? cluster_status_err(rv) : ERR_UNAVAIL;
	}
	return 0;
}

static void
cluster_barrier_cb(struct raft_barrier *req, int status)
{
	struct cluster_req	*r = req->data;

	r->done(r->arg, cluster_status_err(status), req->index);
	free(r);
}

int
cluster_barrier(struct cluster *c, cluster_done_cb done, void *arg)
{
	struct cluster_req	*r;
	int			 rv;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return ERR_NOMEM;
	r->done = done;
	r->arg = arg;
	r->u.barrier.data = r;
	if ((rv = raft_barrier(&c->raft, &r->u.barrier, cluster_barrier_cb)) != 0) {
		free(r);
		return cluster_status_err(rv) != 0 ? cluster_status_err(rv) : ERR_UNAVAIL;
	}
	return 0;
}

void
cluster_state_get(struct cluster *c, struct cluster_state *out)
{
	raft_id		 lid = 0;
	const char	*laddr = NULL;
	int		 st = raft_state(&c->raft);
	raft_time	 now;

	memset(out, 0, sizeof *out);
	out->leader = st == RAFT_LEADER;
	out->term = c->raft.current_term;
	out->commit_index = c->raft.commit_index;
	out->applied_index = raft_last_applied(&c->raft);
	out->last_index = raft_last_index(&c->raft);
	raft_leader(&c->raft, &lid, &laddr);
	out->leader_id = lid;
	if (laddr != NULL)
		snprintf(out->leader_address, sizeof out->leader_address, "%s", laddr);
	switch (st) {
	case RAFT_LEADER:
		out->role = "leader";
		break;
	case RAFT_FOLLOWER:
		out->role = "follower";
		/* A follower restarts its election timer whenever the leader
		 * is heard from. */
		now = c->raft.io->time(c->raft.io);
		out->last_contact_ms = now > c->raft.election_timer_start ?
		    now - c->raft.election_timer_start : 0;
		break;
	case RAFT_CANDIDATE:
		out->role = "candidate";
		break;
	default:
		out->role = "unavailable";
		break;
	}
}

/* ---- membership ---- */

/* A request about server id, or NULL when out of memory. */
static struct cluster_req *
cluster_req_new(struct cluster *c, uint64_t id, cluster_done_cb done, void *arg)
{
	struct cluster_req	*r;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->done = done;
	r->arg = arg;
	r->cluster = c;
	r->id = id;
	return r;
}

static void
cluster_change_cb(struct raft_change *req, int status)
{
	struct cluster_req	*r = req->data;
	int			 rv;

	if (status == 0 && r->promote) {
		/* Added as a spare; as a voter only once it has caught up,
		 * which raft_assign waits for before it commits the change. */
		r->promote = false;
		rv = raft_assign(&r->cluster->raft, &r->u.change, r->id, RAFT_VOTER,
		    cluster_change_cb);
		if (rv == 0)
			return;
		status = rv;
	}
	r->done(r->arg, cluster_status_err(status), 0);
	free(r);
}

int
cluster_change(struct cluster *c, enum cluster_change_op op, uint64_t id,
    const char *address, cluster_done_cb done, void *arg)
{
	struct cluster_req	*r;
	int			 rv;

	if (raft_state(&c->raft) != RAFT_LEADER)
		return ERR_NOTLEADER;
	if (id == 0 || (op == CLUSTER_ADD && (address == NULL || address[0] == '\0')))
		return ERR_INVAL;
	if ((r = cluster_req_new(c, id, done, arg)) == NULL)
		return ERR_NOMEM;
	r->u.change.data = r;
	switch (op) {
	case CLUSTER_ADD:
		r->promote = true;
		rv = raft_add(&c->raft, &r->u.change, id, address, cluster_change_cb);
		break;
	case CLUSTER_REMOVE:
		rv = raft_remove(&c->raft, &r->u.change, id, cluster_change_cb);
		break;
	default:
		rv = RAFT_INVALID;
		break;
	}
	if (rv != 0) {
		free(r);
		return rv == RAFT_INVALID ? ERR_INVAL : cluster_status_err(rv);
	}
	return 0;
}

static void
cluster_transfer_cb(struct raft_transfer *req)
{
	struct cluster_req	*r = req->data;
	raft_id			 lid = 0;
	const char		*laddr = NULL;

	/* libraft calls back when the target leads or the election timeout
	 * passed: only the outcome tells which. */
	raft_leader(&r->cluster->raft, &lid, &laddr);
	if (r->id != 0 ? lid == r->id : lid != 0 && lid != r->cluster->raft.id)
		r->done(r->arg, 0, lid);
	else
		r->done(r->arg, ERR_TIMEOUT, lid);
	free(r);
}

int
cluster_transfer(struct cluster *c, uint64_t id, cluster_done_cb done, void *arg)
{
	struct cluster_req	*r;
	int			 rv;

	if (raft_state(&c->raft) != RAFT_LEADER)
		return ERR_NOTLEADER;
	if ((r = cluster_req_new(c, id, done, arg)) == NULL)
		return ERR_NOMEM;
	r->u.transfer.data = r;
	if ((rv = raft_transfer(&c->raft, &r->u.transfer, id,
	    cluster_transfer_cb)) != 0) {
		free(r);
		return cluster_status_err(rv);
	}
	return 0;
}

size_t
cluster_members(struct cluster *c, struct cluster_member *out, size_t max)
{
	const struct raft_configuration	*conf = &c->raft.configuration;
	bool				 leader = raft_state(&c->raft) == RAFT_LEADER;
	raft_time			 now = c->raft.io->time(c->raft.io);
	size_t				 i, n = 0;

	for (i = 0; i < conf->n && n < max; i++, n++) {
		const struct raft_server	*s = &conf->servers[i];
		struct cluster_member		*m = &out[n];

		memset(m, 0, sizeof *m);
		m->id = s->id;
		snprintf(m->address, sizeof m->address, "%s",
		    s->address != NULL ? s->address : "");
		m->voter = s->role == RAFT_VOTER;
		m->role = s->role == RAFT_VOTER ? "voter" :
		    s->role == RAFT_STANDBY ? "standby" : "spare";
		if (leader && c->raft.leader_state.progress != NULL &&
		    s->id != c->raft.id) {
			const struct raft_progress	*p =
			    &c->raft.leader_state.progress[i];

			m->progress_known = true;
			m->match_index = p->match_index;
			m->recent_contact = p->recent_recv;
			m->since_send_ms = now >= p->last_send ? now - p->last_send : 0;
		}
	}
	return n;
}
