/*
 * The bus: how workers and coordinators exchange worker-protocol messages.
 * This implementation is nng request/reply (tcp:// or ipc://); the NATS
 * transport of the compatibility adapter will sit behind the same calls.
 * No nng type appears here.
 */
#ifndef NET_BUS_H
#define NET_BUS_H

#include <stdint.h>

struct errbuf;
struct wmsg;

/* ---- coordinator side ---- */

struct bus_server;
struct bus_call;	/* one received request, to be answered exactly once */

/* Called on one of the server's own threads for each decoded request.  It
 * may block (e.g. while a command commits) and must eventually answer with
 * bus_call_reply, now or later from any thread (a long poll keeps the call
 * and answers when work arrives).  req is borrowed for the call only. */
typedef void (*bus_request_cb)(void *arg, struct bus_call *call, const struct wmsg *req);

/* Listens on url with nthreads request threads.  Undecodable requests are
 * answered with WMSG_ERROR/ERR_PROTO without reaching cb. */
int	bus_server_open(struct bus_server **out, const char *url, unsigned nthreads,
	    bus_request_cb cb, void *arg, struct errbuf *eb);
/* Stops listening and joins the threads.  Calls not yet answered are
 * dropped (their workers retry).  Accepts NULL. */
void	bus_server_close(struct bus_server *s);
/* Sends reply and frees the call.  Thread-safe. */
void	bus_call_reply(struct bus_call *call, const struct wmsg *reply);
/* Frees the call without answering (shutdown). */
void	bus_call_drop(struct bus_call *call);

/* ---- worker side ---- */

struct bus_client;

/* Dials every url (one per coordinator), each on a connection of its own.
 * Returns at once: dialing continues in the background, so a coordinator
 * that is down now is connected when it comes up. */
int	bus_client_open(struct bus_client **out, const char *const *urls, unsigned n,
	    struct errbuf *eb);
/* Closes every connection.  No call may be in flight.  Accepts NULL. */
void	bus_client_close(struct bus_client *c);
/* Sends req and waits up to timeout_ms for the reply, decoded into a zeroed
 * *reply (caller finalises with wmsg_fini).  Thread-safe: each call uses its
 * own nng context.
 * With several urls the call follows the leader: it goes to the coordinator
 * that last gave a real answer, and moves on to the next, resending the
 * same (idempotent) request, when that one is not connected, its connection
 * drops, or it answers WMSG_ERROR/ERR_NOTLEADER; the caller sees the first
 * real answer.  With one url a NOTLEADER reply is returned like any other.
 * 0 (with a reply, possibly WMSG_ERROR); after timeout_ms without a real
 * answer ERR_TIMEOUT (a coordinator had the request and did not answer),
 * ERR_NOTLEADER (several urls: only followers answered), ERR_UNAVAIL (none
 * reachable); ERR_PROTO (undecodable reply), ERR_NOMEM. */
int	bus_client_call(struct bus_client *c, const struct wmsg *req, struct wmsg *reply,
	    unsigned timeout_ms, struct errbuf *eb);

#endif /* NET_BUS_H */
