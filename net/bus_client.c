/*
 * The worker's side of the bus over nng: one req0 socket dialing every
 * coordinator URL in the background (nng keeps redialling), and one nng
 * context per call so any number of threads can have requests in flight.
 *
 * A request is re-sent by nng if no reply came within 30 s; long polls are
 * held only a few seconds, so a re-send means the reply was lost, and the
 * coordinator's handlers are idempotent.  Failures map to: no connection
 * took the request in time -> ERR_UNAVAIL; sent but no reply in time ->
 * ERR_TIMEOUT; a reply we cannot decode -> ERR_PROTO.
 */
#include "net/bus.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire_worker.h"
#include "src/clock.h"
#include "src/err.h"

#define BUS_CLIENT_RESEND_MS	30000
/* Replies can carry several assignments, each with a checkpoint. */
#define BUS_CLIENT_MSG_MAX	((size_t)512 * 1024 * 1024)
#define BUS_CLIENT_RECONN_MIN_MS 100
#define BUS_CLIENT_RECONN_MAX_MS 2000

struct bus_client {
	nng_socket	 sock;
	bool		 sock_open;
};

static bool
bus_client_url_supported(const char *url)
{
	return strncmp(url, "tcp://", 6) == 0 || strncmp(url, "ipc://", 6) == 0;
}

int
bus_client_open(struct bus_client **out, const char *const *urls, unsigned n,
    struct errbuf *eb)
{
	struct bus_client	*c;
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
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "bus client: req0 socket: %s",
		    nng_strerror(rv));
		goto fail;
	}
	c->sock_open = true;
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	    BUS_CLIENT_RESEND_MS)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	    BUS_CLIENT_MSG_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT,
	    BUS_CLIENT_RECONN_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT,
	    BUS_CLIENT_RECONN_MAX_MS)) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "bus client: socket option: %s",
		    nng_strerror(rv));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		/* Non-blocking: a coordinator that is down now is redialled
		 * until it comes up. */
		if ((rv = nng_dial(c->sock, urls[i], NULL,
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
	if (c == NULL)
		return;
	if (c->sock_open)
		nng_close(c->sock);
	free(c);
}

int
bus_client_call(struct bus_client *c, const struct wmsg *req, struct wmsg *reply,
    unsigned timeout_ms, struct errbuf *eb)
{
	nng_aio		*aio = NULL;
	nng_msg		*msg = NULL;
	nng_ctx		 ctx;
	bool		 ctx_open = false;
	void		*buf = NULL;
	size_t		 len;
	uint64_t	 deadline, now;
	int		 rv, rc;

	memset(reply, 0, sizeof *reply);
	if (timeout_ms == 0)
		timeout_ms = 1;
	deadline = clock_mono_ms() + timeout_ms;
	if ((rc = wmsg_encode(req, &buf, &len)) != 0)
		return err_setf(eb, rc, "cannot encode %s: %s",
		    wmsg_type_name(req->type), err_code_name(rc));
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_append(msg, buf, len)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "%s: %s", wmsg_type_name(req->type),
		    nng_strerror(rv));
		goto done;
	}
	free(buf);
	buf = NULL;
	if ((rv = nng_ctx_open(&ctx, c->sock)) != 0) {
		rc = err_setf(eb, ERR_UNAVAIL, "%s: %s", wmsg_type_name(req->type),
		    nng_strerror(rv));
		goto done;
	}
	ctx_open = true;

	nng_ctx_set_ms(ctx, NNG_OPT_SENDTIMEO, (nng_duration)timeout_ms);
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		/* req0 completes the send once a connection took it: failing
		 * here means no coordinator could be reached. */
		rc = err_setf(eb, ERR_UNAVAIL, "%s: no coordinator reachable: %s",
		    wmsg_type_name(req->type), nng_strerror(rv));
		goto done;
	}
	msg = NULL;

	now = clock_mono_ms();
	nng_ctx_set_ms(ctx, NNG_OPT_RECVTIMEO,
	    (nng_duration)(now < deadline ? deadline - now : 1));
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		if (rv == NNG_ETIMEDOUT)
			rc = err_setf(eb, ERR_TIMEOUT, "%s: no reply within %u ms",
			    wmsg_type_name(req->type), timeout_ms);
		else
			rc = err_setf(eb, ERR_UNAVAIL, "%s: %s",
			    wmsg_type_name(req->type), nng_strerror(rv));
		goto done;
	}
	msg = nng_aio_get_msg(aio);
	if ((rc = wmsg_decode(nng_msg_body(msg), nng_msg_len(msg), reply)) != 0)
		err_setf(eb, rc, "%s: undecodable reply (%s)",
		    wmsg_type_name(req->type), err_code_name(rc));
done:
	if (msg != NULL)
		nng_msg_free(msg);
	if (ctx_open)
		nng_ctx_close(ctx);
	nng_aio_free(aio);
	free(buf);
	return rc;
}
