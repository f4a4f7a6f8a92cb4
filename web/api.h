/*
 * The REST API and web console of niyantad, served by civetweb.  Handlers
 * reach the rest of the system only through src/coord.h (proposals and
 * readiness) and src/fsm.h (reads); see web/openapi.json for the routes.
 */
#ifndef WEB_API_H
#define WEB_API_H

#include <stddef.h>
#include <stdint.h>

#include "src/model.h"

struct api;
struct coord;
struct errbuf;

struct api_config {
	const char	*listen;		/* "127.0.0.1:8080"; [host:]port[,...], no TLS */
	unsigned	 threads;		/* civetweb threads = concurrent connections */
	size_t		 max_body_bytes;	/* largest accepted request body; default 1 MiB */
	const char	*web_dir;		/* console files + openapi.json */
	unsigned	 request_timeout_ms;	/* civetweb's per-request I/O timeout */
	unsigned	 propose_timeout_ms;	/* the coordinator's; a request forwarded
						 * to the leader waits this plus a margin */

	/* Tenancy: what a customer gets when its own record says 0. */
	uint32_t	 rate_by_tier[TIER__COUNT];	/* API requests per second, >= 1 */
	uint32_t	 queue_by_tier[TIER__COUNT];	/* max PENDING workloads; 0: no limit */
	uint32_t	 admin_rate;		/* requests per second of the admin keys */
	uint32_t	 global_max_pending;	/* PENDING workloads in all; 0: no limit */
	struct queue_policy queue;		/* queue order: tier weights, aging */
};

/* Fills cfg with the defaults: 127.0.0.1:8080, 32 threads, 1 MiB bodies,
 * the installed web directory, 30 s request timeout, 10 s propose timeout
 * (coord_config_defaults'); rates free 10,
 * standard 100, premium 500, enterprise 2000 per second; queue depths
 * 100, 10000, 100000, 1000000; admin 100000 per second; no global limit;
 * the default queue policy (queue_policy_defaults). */
void	api_config_defaults(struct api_config *cfg);

/* Starts the HTTP server on cfg->listen, serving the API over c (borrowed;
 * it must outlive the api).  cfg's strings are copied.  0, or ERR_INVAL (a
 * bad setting, e.g. an HTTPS port), ERR_IO (cannot bind or start) or
 * ERR_NOMEM, with the reason in eb. */
int	api_open(struct api **out, struct coord *c, const struct api_config *cfg,
	    struct errbuf *eb);

/* Stops the server (waiting for requests in progress) and frees it.
 * Accepts NULL. */
void	api_close(struct api *a);

#endif /* WEB_API_H */
