/*
 * The coordinator's side of the bus over nng: one rep0 socket listening on
 * a tcp:// or ipc:// URL, and a few request threads.  Each thread opens a
 * context, waits for one request on it, decodes it and hands it, with the
 * context, to the callback as a struct bus_call.  From then on the call
 * belongs to the callback, which may answer at once or keep it (a long poll)
 * and answer later from another thread; the request thread meanwhile opens a
 * fresh context for its next request, so held calls never starve the
 * endpoint.
 *
 * Replies are sent synchronously on the call's context; nng's rep0 treats a
 * reply to a peer that has gone away as sent, and any other failure is only
 * logged: the worker's request times out and it retries.
 *
 * Shutdown: every struct bus_call handed to the callback must have been
 * answered (bus_call_reply) or dropped (bus_call_drop) before
 * bus_server_close is called; the coordinator's worker endpoint guarantees
 * it by answering its held long polls first.  bus_server_close then lets
 * the request threads finish their requests and joins them, and closes the
 * socket last.
 */
#include "net/bus.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/wire_worker.h"
#include "src/err.h"
#include "src/log.h"

/* Largest request accepted: a 64 MiB checkpoint plus its envelope. */
#define BUS_SERVER_MSG_MAX	((size_t)72 * 1024 * 1024)
/* Longest a request thread waits before looking at the close flag. */
#define BUS_SERVER_RECV_MS	200
/* How long a reply may wait for room on a busy connection. */
#define BUS_SERVER_SEND_MS	10000
/* Connections the kernel queues before nng accepts them (capped by
 * net.core.somaxconn). */
#define BUS_SERVER_BACKLOG	4096

struct bus_server {
	nng_socket	 sock;
	bool		 sock_open;
	pthread_t	*threads;
	unsigned	 nthreads;		/* started successfully */
	atomic_bool	 closing;
	atomic_uint	 calls;			/* handed out, not yet answered */
	bus_request_cb	 cb;
	void		*arg;
	char		*url;			/* for log lines */
};

struct bus_call {
	nng_socket	 sock;			/* the socket ctx belongs to */
	nng_ctx		 ctx;			/* holds the request's routing */
	struct bus_server *server;
};

static bool
bus_server_url_supported(const char *url)
{
	return strncmp(url, "tcp://", 6) == 0 || strncmp(url, "ipc://", 6) == 0;
}

static void
bus_server_pause(void)
{
	struct timespec	 ts = { 0, 100 * 1000000L };

	nanosleep(&ts, NULL);
}

/* Answers a request that could not be decoded, without the callback. */
static void
bus_server_reply_error(struct bus_call *call, int err, const char *text)
{
	struct wmsg	 m;

	memset(&m, 0, sizeof m);
	m.type = WMSG_ERROR;
	m.err = err;
	m.message = (char *)text;
	bus_call_reply(call, &m);
}

static void *
bus_server_thread(void *arg)
{
	struct bus_server	*s = arg;
	struct bus_call		*call;
	struct wmsg		 req;
	nng_aio			*aio;
	nng_msg			*msg;
	nng_ctx			 ctx;
	int			 rv, rc;

	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		log_error("BUSTHREAD", "%s: request thread cannot start: %s",
		    s->url, nng_strerror(rv));
		return NULL;
	}
	while (!atomic_load(&s->closing)) {
		if ((rv = nng_ctx_open(&ctx, s->sock)) != 0) {
			if (rv == NNG_ECLOSED)
				break;
			log_warn("BUSCTX", "%s: cannot open a context: %s",
			    s->url, nng_strerror(rv));
			bus_server_pause();
			continue;
		}
		/* Receives time out now and then so the thread notices a
		 * close without the socket being closed under it. */
		nng_ctx_set_ms(ctx, NNG_OPT_RECVTIMEO, BUS_SERVER_RECV_MS);
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if ((rv = nng_aio_result(aio)) != 0) {
			nng_ctx_close(ctx);
			if (rv == NNG_ECLOSED || atomic_load(&s->closing))
				break;
			if (rv == NNG_ETIMEDOUT)
				continue;
			log_warn("BUSRECV", "%s: receive failed: %s", s->url,
			    nng_strerror(rv));
			bus_server_pause();
			continue;
		}
		msg = nng_aio_get_msg(aio);
		rc = wmsg_decode(nng_msg_body(msg), nng_msg_len(msg), &req);
		nng_msg_free(msg);
		if ((call = calloc(1, sizeof *call)) == NULL) {
			/* The worker times out and retries. */
			log_error("BUSNOMEM", "%s: out of memory for a request",
			    s->url);
			if (rc == 0)
				wmsg_fini(&req);
			nng_ctx_close(ctx);
			continue;
		}
		call->sock = s->sock;
		call->ctx = ctx;
		call->server = s;
		atomic_fetch_add(&s->calls, 1);
		if (rc != 0) {
			log_debug("BUSBADREQ", "%s: undecodable request (%s)",
			    s->url, err_code_name(rc));
			bus_server_reply_error(call, rc == ERR_NOMEM ?
			    ERR_UNAVAIL : ERR_PROTO, rc == ERR_NOMEM ?
			    "coordinator out of memory" : "malformed request");
			continue;
		}
		s->cb(s->arg, call, &req);
		wmsg_fini(&req);
	}
	nng_aio_free(aio);
	return NULL;
}

/* True if fd is a listening TCP socket bound to the address sa names. */
static bool
bus_server_fd_is(int fd, const nng_sockaddr *sa)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss, alen;
	int			 listening = 0;

	alen = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &alen) != 0 ||
	    !listening ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (sa->s_family == NNG_AF_INET && ss.ss_family == AF_INET) {
		const struct sockaddr_in	*in = (const void *)&ss;

		return in->sin_port == sa->s_in.sa_port &&
		    in->sin_addr.s_addr == sa->s_in.sa_addr;
	}
	if (sa->s_family == NNG_AF_INET6 && ss.ss_family == AF_INET6) {
		const struct sockaddr_in6	*in6 = (const void *)&ss;

		return in6->sin6_port == sa->s_in6.sa_port &&
		    memcmp(&in6->sin6_addr, sa->s_in6.sa_addr, 16) == 0;
	}
	return false;
}

/*
 * nng 1.5.2 listens with a backlog of 128 and offers no option to change
 * it.  When a whole fleet connects at once (a coordinator restarted or
 * elected), the connections past the backlog are dropped by the kernel and
 * their workers' TCP retries them one second later, then two: with 1,000
 * workers about half registered only after that second.  Calling listen()
 * again on a listening socket only changes its backlog, so the socket nng
 * listens on is found among this process's descriptors by its address and
 * given a larger one.  Best effort: not finding it changes nothing else.
 */
static void
bus_server_backlog_raise(nng_listener l)
{
	nng_sockaddr	 sa;
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) != 0 ||
	    (sa.s_family != NNG_AF_INET && sa.s_family != NNG_AF_INET6) ||
	    (d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd <= 2 || fd == dirfd(d) || !bus_server_fd_is(fd, &sa))
			continue;
		if (listen(fd, BUS_SERVER_BACKLOG) != 0)
			log_warn("BUSBACKLOG", "raising the listen backlog: %s",
			    strerror(errno));
		break;
	}
	closedir(d);
}

int
bus_server_open(struct bus_server **out, const char *url, unsigned nthreads,
    bus_request_cb cb, void *arg, struct errbuf *eb)
{
	struct bus_server	*s;
	nng_listener		 listener;
	int			 rv, rc;

	*out = NULL;
	if (nthreads == 0 || cb == NULL)
		return err_setf(eb, ERR_INVAL, "bus server: needs a callback and "
		    "at least one thread");
	if (!bus_server_url_supported(url))
		return err_setf(eb, ERR_INVAL, "bus server: unsupported URL %s "
		    "(tcp:// or ipc://)", url);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return err_setf(eb, ERR_NOMEM, "bus server: out of memory");
	atomic_init(&s->closing, false);
	s->cb = cb;
	s->arg = arg;
	if ((s->url = strdup(url)) == NULL ||
	    (s->threads = calloc(nthreads, sizeof *s->threads)) == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "bus server: out of memory");
		goto fail;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "bus server: rep0 socket: %s",
		    nng_strerror(rv));
		goto fail;
	}
	s->sock_open = true;
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	    BUS_SERVER_MSG_MAX)) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "bus server: recv-size-max: %s",
		    nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_listen(s->sock, url, &listener, 0)) != 0) {
		rc = err_setf(eb, rv == NNG_EADDRINVAL || rv == NNG_EINVAL ||
		    rv == NNG_ENOTSUP ? ERR_INVAL : ERR_IO,
		    "bus server: listen on %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	bus_server_backlog_raise(listener);
	for (; s->nthreads < nthreads; s->nthreads++) {
		if ((rv = pthread_create(&s->threads[s->nthreads], NULL,
		    bus_server_thread, s)) != 0) {
			rc = err_setf(eb, ERR_INTERNAL, "bus server: thread: %s",
			    strerror(rv));
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	bus_server_close(s);
	return rc;
}

/* nng_close of a rep0 socket listening over tcp sometimes never returns
 * in nng 1.5.2: after a worker's connection was cut (seen when the
 * coordinator restarts after kill -9 and then stops) it waits for a pipe
 * that does not finish closing.  The receives are aborted at the start of
 * nng_close all the same, so closing runs on its own thread and the
 * daemon goes on with its shutdown after BUS_SERVER_CLOSE_MS. */
#define BUS_SERVER_CLOSE_MS	3000

struct bus_closer {
	nng_socket	 sock;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	bool		 done;
	bool		 abandoned;	/* the closer frees this when set */
};

static void *
bus_server_closer_main(void *arg)
{
	struct bus_closer	*cl = arg;
	bool			 abandoned;

	nng_close(cl->sock);
	pthread_mutex_lock(&cl->mu);
	cl->done = true;
	abandoned = cl->abandoned;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	if (abandoned) {
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
	}
	return NULL;
}

/* Closes sock, waiting at most BUS_SERVER_CLOSE_MS. */
static void
bus_server_sock_close(nng_socket sock, const char *url)
{
	struct bus_closer	*cl;
	struct timespec		 deadline;
	pthread_t		 th;
	bool			 done;

	if ((cl = calloc(1, sizeof *cl)) == NULL) {
		nng_close(sock);
		return;
	}
	cl->sock = sock;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->cv, NULL);
	if (pthread_create(&th, NULL, bus_server_closer_main, cl) != 0) {
		nng_close(sock);
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += BUS_SERVER_CLOSE_MS / 1000;
	pthread_mutex_lock(&cl->mu);
	while (!cl->done &&
	    pthread_cond_timedwait(&cl->cv, &cl->mu, &deadline) == 0)
		;
	done = cl->done;
	if (!done)
		cl->abandoned = true;
	pthread_mutex_unlock(&cl->mu);
	if (done) {
		pthread_join(th, NULL);
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
		return;
	}
	pthread_detach(th);
	log_warn("BUSCLOSE", "%s: the socket did not finish closing within %d ms; "
	    "going on without it", url, BUS_SERVER_CLOSE_MS);
}

void
bus_server_close(struct bus_server *s)
{
	unsigned	 i;

	if (s == NULL)
		return;
	atomic_store(&s->closing, true);
	if (atomic_load(&s->calls) != 0)
		log_warn("BUSCLOSE", "%s: %u calls still unanswered at close",
		    s->url, atomic_load(&s->calls));
	/* The request threads finish the request in hand (its handler may be
	 * waiting for a command to commit, and then replies on the socket)
	 * and stop within BUS_SERVER_RECV_MS; only then is the socket closed,
	 * so nothing sends on it after it is gone. */
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	if (s->sock_open)
		bus_server_sock_close(s->sock, s->url);
	free(s->threads);
	free(s->url);
	free(s);
}

void
bus_call_reply(struct bus_call *call, const struct wmsg *reply)
{
	struct wmsg	 fallback;
	nng_aio		*aio = NULL;
	nng_msg		*msg = NULL;
	void		*buf = NULL;
	size_t		 len;
	int		 rv, rc;

	if ((rc = wmsg_encode(reply, &buf, &len)) != 0) {
		log_error("BUSENCODE", "cannot encode %s reply: %s",
		    wmsg_type_name(reply->type), err_code_name(rc));
		memset(&fallback, 0, sizeof fallback);
		fallback.type = WMSG_ERROR;
		fallback.err = ERR_INTERNAL;
		if (wmsg_encode(&fallback, &buf, &len) != 0)
			goto done;
	}
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_append(msg, buf, len)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		log_error("BUSSEND", "cannot build %s reply: %s",
		    wmsg_type_name(reply->type), nng_strerror(rv));
		goto done;
	}
	nng_aio_set_timeout(aio, BUS_SERVER_SEND_MS);
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(call->ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		log_warn("BUSSEND", "%s reply not sent: %s",
		    wmsg_type_name(reply->type), nng_strerror(rv));
		goto done;
	}
	msg = NULL;		/* nng owns it once sent */
done:
	if (msg != NULL)
		nng_msg_free(msg);
	nng_aio_free(aio);
	free(buf);
	nng_ctx_close(call->ctx);
	atomic_fetch_sub(&call->server->calls, 1);
	free(call);
}

void
bus_call_drop(struct bus_call *call)
{
	if (call == NULL)
		return;
	nng_ctx_close(call->ctx);
	atomic_fetch_sub(&call->server->calls, 1);
	free(call);
}
