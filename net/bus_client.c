/*
 * The worker's side of the bus over nng: one req0 socket per coordinator
 * URL, each dialing in the background (nng keeps redialling a coordinator
 * that is down), and one nng context per request so any number of threads
 * can have requests in flight.
 *
 * Following the leader.  Only the Raft leader serves workers; a follower
 * answers every request with WMSG_ERROR/ERR_NOTLEADER.  The client
 * remembers the endpoint that last gave a real answer (the "current" one)
 * and sends each call there first.  If that endpoint is not connected, its
 * connection drops while the call waits (a coordinator killed with -9), or
 * it answers NOTLEADER, the same request goes to the next endpoint, in
 * order, until one gives a real answer; that one becomes current (one INFO
 * line per switch).  Resending is safe because every worker request is
 * idempotent on the coordinator, and a resent request is no more than the
 * worker's own retry after a lost reply, which the protocol survives
 * already: a re-registration replaces the old one, heartbeats and polls
 * have no one-off effect (assignments are at-least-once, and the worker
 * ignores a repeated one), and reports are fenced by attempt number and
 * checkpoint sequence, so one applied twice changes nothing the second
 * time.  A request that reached a leader which then died may have been
 * committed there; the new leader sees it in the replicated log.
 *
 * Rounds.  One pass over every endpoint is a round.  When a round gives no
 * real answer the call waits before the next one: while no endpoint is
 * connected, until a connection comes up; otherwise (coordinators that
 * answered NOTLEADER during an election, or a connection that dropped)
 * BUS_CLIENT_PAUSE_MIN_MS, doubling up to BUS_CLIENT_PAUSE_MAX_MS, cut
 * short when a connection comes up (a restarted coordinator may be the new
 * leader).  Everything stays within the caller's timeout_ms; when it runs
 * out the call fails with ERR_TIMEOUT if a coordinator had the request and
 * did not answer, else ERR_NOTLEADER if a coordinator said so, else
 * ERR_UNAVAIL.  A coordinator that keeps a request past the deadline (hung,
 * or cut off by a partition) stops being the first one tried: the next call
 * starts at the endpoint after it, so a stuck old leader cannot hold the
 * worker forever.
 *
 * nng's own resending is off (NNG_OPT_REQ_RESENDTIME infinite): with it on,
 * a request whose connection dropped would wait, unseen, for that same
 * coordinator to come back.  Off, nng 1.5 fails the pending receive with
 * NNG_ECONNRESET as soon as the connection is gone, and the loop above
 * decides where the request goes next.  Pipe notifications keep track of
 * which endpoints are connected, so a round skips a coordinator that is
 * down instead of waiting on it; with several URLs, a connected one that
 * does not take the request within BUS_CLIENT_SEND_MS is passed over too.
 *
 * With a single URL this is what it always was: a request waits for the
 * connection within the timeout, is resent when the connection drops and
 * comes back, and a NOTLEADER reply is handed to the caller like any other
 * reply.  A reply that cannot be decoded ends the call with ERR_PROTO.
 */
#include "net/bus.h"

#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/wire_worker.h"
#include "src/clock.h"
#include "src/err.h"
#include "src/log.h"

/* Replies can carry several assignments, each with a checkpoint. */
#define BUS_CLIENT_MSG_MAX	((size_t)512 * 1024 * 1024)
#define BUS_CLIENT_RECONN_MIN_MS 100
#define BUS_CLIENT_RECONN_MAX_MS 2000
/* With several coordinators, how long a connected one may take to accept
 * a request before the next one is tried (the connection is busy or has
 * just gone); with one, the whole timeout. */
#define BUS_CLIENT_SEND_MS	2000
/* Pause between rounds in which nobody gave a real answer. */
#define BUS_CLIENT_PAUSE_MIN_MS	20
#define BUS_CLIENT_PAUSE_MAX_MS	500
/* current before any endpoint has answered. */
#define BUS_CLIENT_NONE		UINT_MAX

struct bus_client_ep {
	struct bus_client *c;		/* for the pipe callback */
	nng_socket	 sock;
	bool		 sock_open;
	char		*url;
	uint32_t	 pipe;		/* connected pipe's id, 0: none (c->mu) */
	uint32_t	 dead_pipe;	/* pipe a call saw drop, until it is
					 * removed (c->mu) */
};

struct bus_client {
	struct bus_client_ep *eps;
	unsigned	 n;
	pthread_mutex_t	 mu;		/* the endpoints' pipe state, ups */
	pthread_cond_t	 cv;		/* a connection came up */
	bool		 sync_init;	/* mu and cv initialised */
	uint64_t	 ups;		/* connections made so far (mu) */
	atomic_uint	 current;	/* endpoint of the last real answer */
	atomic_uint	 next;		/* endpoint the next call tries first */
};

static bool
bus_client_url_supported(const char *url)
{
	return strncmp(url, "tcp://", 6) == 0 || strncmp(url, "ipc://", 6) == 0;
}

/* Runs on an nng thread whenever a connection of ep's socket comes up or
 * is gone.  A dialer has at most one pipe at a time. */
static void
bus_client_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct bus_client_ep	*ep = arg;
	struct bus_client	*c = ep->c;
	uint32_t		 id = (uint32_t)nng_pipe_id(p);

	pthread_mutex_lock(&c->mu);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		ep->pipe = id;
		c->ups++;
		pthread_cond_broadcast(&c->cv);
	} else if (ev == NNG_PIPE_EV_REM_POST && ep->pipe == id) {
		ep->pipe = 0;
	}
	pthread_mutex_unlock(&c->mu);
}

/* The id of ep's usable connection, 0 if none. */
static uint32_t
bus_client_ep_pipe(struct bus_client *c, struct bus_client_ep *ep)
{
	uint32_t	 id;

	pthread_mutex_lock(&c->mu);
	id = ep->pipe != ep->dead_pipe ? ep->pipe : 0;
	pthread_mutex_unlock(&c->mu);
	return id;
}

/* Marks pipe id of ep as gone: a receive saw it drop before nng reported
 * its removal. */
static void
bus_client_ep_pipe_dead(struct bus_client *c, struct bus_client_ep *ep, uint32_t id)
{
	pthread_mutex_lock(&c->mu);
	if (ep->pipe == id)
		ep->dead_pipe = id;
	pthread_mutex_unlock(&c->mu);
}

static uint64_t
bus_client_ups(struct bus_client *c)
{
	uint64_t	 ups;

	pthread_mutex_lock(&c->mu);
	ups = c->ups;
	pthread_mutex_unlock(&c->mu);
	return ups;
}

/* Waits up to ms, or until a connection comes up after c->ups was ups. */
static void
bus_client_wait_up(struct bus_client *c, uint64_t ups, uint64_t ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (c->ups == ups &&
	    pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&c->mu);
}

/* Endpoint i gave a real answer: calls go there from now on. */
static void
bus_client_follow(struct bus_client *c, unsigned i)
{
	unsigned	 prev = atomic_load(&c->current);

	atomic_store(&c->next, i);
	if (prev != i && atomic_compare_exchange_strong(&c->current, &prev, i) &&
	    c->n > 1)
		log_info("BUSLEADER", "following coordinator %s", c->eps[i].url);
}

int
bus_client_open(struct bus_client **out, const char *const *urls, unsigned n,
    struct errbuf *eb)
{
	struct bus_client	*c;
	struct bus_client_ep	*ep;
	pthread_condattr_t	 ca;
	unsigned		 i;
	int			 rv, rc;

	*out = NULL;
	if (n == 0)
		return err_setf(eb, ERR_INVAL, "bus client: no coordinator URL");
	for (i = 0; i < n; i++)
		if (!bus_client_url_supported(urls[i]))
			return err_setf(eb, ERR_INVAL, "bus client: unsupported "
			    "URL %s (tcp:// or ipc://)", urls[i]);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return err_setf(eb, ERR_NOMEM, "bus client: out of memory");
	atomic_init(&c->current, BUS_CLIENT_NONE);
	atomic_init(&c->next, 0);
	if ((c->eps = calloc(n, sizeof *c->eps)) == NULL) {
		free(c);
		return err_setf(eb, ERR_NOMEM, "bus client: out of memory");
	}
	c->n = n;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->sync_init = true;
	for (i = 0; i < n; i++) {
		ep = &c->eps[i];
		ep->c = c;
		if ((ep->url = strdup(urls[i])) == NULL) {
			rc = err_setf(eb, ERR_NOMEM, "bus client: out of memory");
			goto fail;
		}
		if ((rv = nng_req0_open(&ep->sock)) != 0) {
			rc = err_setf(eb, ERR_INTERNAL, "bus client: req0 socket: %s",
			    nng_strerror(rv));
			goto fail;
		}
		ep->sock_open = true;
		/* No resending by nng: see the top of this file. */
		if ((rv = nng_socket_set_ms(ep->sock, NNG_OPT_REQ_RESENDTIME,
		    NNG_DURATION_INFINITE)) != 0 ||
		    (rv = nng_socket_set_size(ep->sock, NNG_OPT_RECVMAXSZ,
		    BUS_CLIENT_MSG_MAX)) != 0 ||
		    (rv = nng_socket_set_ms(ep->sock, NNG_OPT_RECONNMINT,
		    BUS_CLIENT_RECONN_MIN_MS)) != 0 ||
		    (rv = nng_socket_set_ms(ep->sock, NNG_OPT_RECONNMAXT,
		    BUS_CLIENT_RECONN_MAX_MS)) != 0 ||
		    (rv = nng_pipe_notify(ep->sock, NNG_PIPE_EV_ADD_POST,
		    bus_client_pipe_cb, ep)) != 0 ||
		    (rv = nng_pipe_notify(ep->sock, NNG_PIPE_EV_REM_POST,
		    bus_client_pipe_cb, ep)) != 0) {
			rc = err_setf(eb, ERR_INTERNAL, "bus client: socket "
			    "option: %s", nng_strerror(rv));
			goto fail;
		}
		/* Non-blocking: a coordinator that is down now is redialled
		 * until it comes up. */
		if ((rv = nng_dial(ep->sock, urls[i], NULL,
		    NNG_FLAG_NONBLOCK)) != 0) {
			rc = err_setf(eb, ERR_INVAL, "bus client: dial %s: %s",
			    urls[i], nng_strerror(rv));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	bus_client_close(c);
	return rc;
}

void
bus_client_close(struct bus_client *c)
{
	unsigned	 i;

	if (c == NULL)
		return;
	/* nng_close returns after the socket's pipe callbacks have run. */
	for (i = 0; i < c->n; i++) {
		if (c->eps[i].sock_open)
			nng_close(c->eps[i].sock);
		free(c->eps[i].url);
	}
	if (c->sync_init) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
	}
	free(c->eps);
	free(c);
}

/*
 * Sends the encoded request buf to endpoint i and waits for the reply
 * until deadline.  0 with *reply decoded (any reply, NOTLEADER included);
 * ERR_UNAVAIL if the request was not taken in time or the connection
 * dropped before the reply; ERR_TIMEOUT if the deadline passed while the
 * coordinator had the request; ERR_PROTO, ERR_NOMEM.
 */
static int
bus_client_try(struct bus_client *c, unsigned i, const void *buf, size_t len,
    uint64_t deadline, struct wmsg *reply, struct errbuf *eb)
{
	struct bus_client_ep	*ep = &c->eps[i];
	nng_aio			*aio = NULL;
	nng_msg			*msg = NULL;
	nng_ctx			 ctx;
	bool			 ctx_open = false;
	uint64_t		 now, budget;
	uint32_t		 pipe;
	int			 rv, rc;

	pipe = bus_client_ep_pipe(c, ep);
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_append(msg, buf, len)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "%s", nng_strerror(rv));
		goto done;
	}
	if ((rv = nng_ctx_open(&ctx, ep->sock)) != 0) {
		rc = err_setf(eb, ERR_UNAVAIL, "%s: %s", ep->url,
		    nng_strerror(rv));
		goto done;
	}
	ctx_open = true;

	now = clock_mono_ms();
	budget = now < deadline ? deadline - now : 1;
	if (c->n > 1 && budget > BUS_CLIENT_SEND_MS)
		budget = BUS_CLIENT_SEND_MS;
	nng_aio_set_timeout(aio, (nng_duration)budget);
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		/* req0 completes the send once a connection took it: failing
		 * here means the coordinator could not be reached. */
		rc = err_setf(eb, ERR_UNAVAIL, "%s unreachable: %s", ep->url,
		    nng_strerror(rv));
		goto done;
	}
	msg = NULL;

	now = clock_mono_ms();
	nng_aio_set_timeout(aio, (nng_duration)(now < deadline ?
	    deadline - now : 1));
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			rc = err_setf(eb, ERR_TIMEOUT, "no reply from %s",
			    ep->url);
		} else {
			/* NNG_ECONNRESET: the connection dropped with the
			 * request on it (resending is off). */
			if (rv == NNG_ECONNRESET && pipe != 0)
				bus_client_ep_pipe_dead(c, ep, pipe);
			rc = err_setf(eb, ERR_UNAVAIL, "%s: %s", ep->url,
			    nng_strerror(rv));
		}
		goto done;
	}
	msg = nng_aio_get_msg(aio);
	if ((rc = wmsg_decode(nng_msg_body(msg), nng_msg_len(msg), reply)) != 0)
		err_setf(eb, rc, "undecodable reply from %s (%s)", ep->url,
		    err_code_name(rc));
done:
	if (msg != NULL)
		nng_msg_free(msg);
	if (ctx_open)
		nng_ctx_close(ctx);
	nng_aio_free(aio);
	return rc;
}

static bool
bus_client_reply_notleader(const struct wmsg *reply)
{
	return reply->type == WMSG_ERROR && reply->err == ERR_NOTLEADER;
}

int
bus_client_call(struct bus_client *c, const struct wmsg *req, struct wmsg *reply,
    unsigned timeout_ms, struct errbuf *eb)
{
	struct errbuf	 last;
	const char	*what = wmsg_type_name(req->type);
	void		*buf = NULL;
	size_t		 len;
	uint64_t	 deadline, now, ups, pause = BUS_CLIENT_PAUSE_MIN_MS;
	unsigned	 start, i, k, tried, late = 0, asked = 0;
	bool		 timed_out = false, notleader = false;
	int		 rc;

	memset(reply, 0, sizeof *reply);
	errbuf_clear(&last);
	if (timeout_ms == 0)
		timeout_ms = 1;
	deadline = clock_mono_ms() + timeout_ms;
	if ((rc = wmsg_encode(req, &buf, &len)) != 0)
		return err_setf(eb, rc, "cannot encode %s: %s", what,
		    err_code_name(rc));
	start = atomic_load(&c->next) % c->n;
	for (;;) {
		ups = bus_client_ups(c);
		tried = 0;
		for (k = 0; k < c->n; k++) {
			i = (start + k) % c->n;
			if (clock_mono_ms() >= deadline)
				goto expired;
			if (bus_client_ep_pipe(c, &c->eps[i]) == 0) {
				err_setf(&last, ERR_UNAVAIL, "%s not connected",
				    c->eps[i].url);
				continue;
			}
			tried++;
			asked++;
			rc = bus_client_try(c, i, buf, len, deadline, reply,
			    &last);
			if (rc == 0 && (c->n == 1 ||
			    !bus_client_reply_notleader(reply))) {
				bus_client_follow(c, i);
				goto done;
			}
			if (rc == 0) {
				/* A follower: the same request goes on to the
				 * next coordinator (it is idempotent). */
				wmsg_fini(reply);
				memset(reply, 0, sizeof *reply);
				notleader = true;
				continue;
			}
			if (rc == ERR_NOMEM || rc == ERR_PROTO) {
				err_setf(eb, rc, "%s: %s", what, last.msg);
				goto done;
			}
			if (rc == ERR_TIMEOUT) {
				/* It kept the request to the end: let the next
				 * call try the others first. */
				timed_out = true;
				late = i;
				if (c->n > 1)
					atomic_compare_exchange_strong(&c->next,
					    &i, (i + 1) % c->n);
				goto expired;
			}
			/* ERR_UNAVAIL: not taken, or the connection dropped;
			 * on to the next coordinator. */
		}
		now = clock_mono_ms();
		if (now >= deadline)
			goto expired;
		if (tried == 0) {
			/* Nobody connected: wait for a connection. */
			bus_client_wait_up(c, ups, deadline - now);
		} else {
			bus_client_wait_up(c, ups, pause < deadline - now ?
			    pause : deadline - now);
			pause = pause * 2 < BUS_CLIENT_PAUSE_MAX_MS ? pause * 2 :
			    BUS_CLIENT_PAUSE_MAX_MS;
		}
	}
expired:
	if (timed_out)
		rc = err_setf(eb, ERR_TIMEOUT, "%s: no reply within %u ms (%s)",
		    what, timeout_ms, c->eps[late].url);
	else if (notleader)
		rc = err_setf(eb, ERR_NOTLEADER, "%s: no coordinator was the "
		    "leader within %u ms (%u requests sent to %u coordinators)",
		    what, timeout_ms, asked, c->n);
	else
		rc = err_setf(eb, ERR_UNAVAIL, "%s: no coordinator reachable "
		    "within %u ms (%s)", what, timeout_ms, last.msg[0] != '\0' ?
		    last.msg : "no connection yet");
done:
	free(buf);
	return rc;
}
