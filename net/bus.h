/*
 * The bus: how workers and coordinators exchange worker-protocol messages.
 * This implementation is nng request/reply (tcp:// or tls+tcp://); the NATS
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

/* Dials every url (one per coordinator); requests go to whichever answers.
 * Returns at once: dialing continues in the background. */
int	bus_client_open(struct bus_client **out, const char *const *urls, unsigned n,
	    struct errbuf *eb);
void	bus_client_close(struct bus_client *c);
/* Sends req and waits up to timeout_ms for the reply, decoded into a zeroed
 * *reply (caller finalises with wmsg_fini).  Thread-safe: each call uses its
 * own nng context.  0, ERR_TIMEOUT, ERR_UNAVAIL, ERR_PROTO, ERR_NOMEM. */
int	bus_client_call(struct bus_client *c, const struct wmsg *req, struct wmsg *reply,
	    unsigned timeout_ms, struct errbuf *eb);

#endif /* NET_BUS_H */
