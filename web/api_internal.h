/*
 * Shared between the web/api_*.c files only.  NB: these details are
 * entirely private to the HTTP API; nothing outside web/ includes this.
 *
 * A request is handled on one civetweb thread from start to end: api.c
 * builds a struct api_req, routes it, checks readiness and the bearer key,
 * calls one handler, and logs it.  A handler answers exactly once, through
 * api_reply_json, api_reply_error or api_reply_raw.
 */
#ifndef WEB_API_INTERNAL_H
#define WEB_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "src/model.h"
#include "web/api.h"

struct mg_connection;
struct mg_context;
struct mg_request_info;

#define API_REQUEST_ID_MAX	128	/* longest X-Request-Id honoured */
#define API_HEADERS_MAX		6	/* extra response headers per reply */
#define API_HEADER_VALUE_MAX	256
#define API_PARAM_MAX		64	/* longest {id} path segment kept */

struct api {
	struct mg_context	*ctx;
	struct coord		*coord;		/* borrowed */
	char			*listen;
	char			*web_dir;
	size_t			 max_body;
	unsigned		 threads;
	unsigned		 request_timeout_ms;
	bool			 lib_inited;	/* mg_init_library succeeded */

	/* Known workload types (built-ins + worker capabilities), cached so a
	 * submission does not read every worker; see api_workloads.c. */
	pthread_mutex_t		 types_mu;
	bool			 types_mu_inited;
	struct strlist		 types;		/* sorted; guarded by types_mu */
	uint64_t		 types_at_ms;	/* monotonic time of the last read, 0: never */
};

/* Who is calling: from the API key that authenticated the request. */
struct api_principal {
	char		 key_id[MODEL_ID_LEN + 1];
	char		*customer_id;		/* owned */
	enum key_role	 role;
};

struct api_header {
	const char	*name;			/* static string */
	char		 value[API_HEADER_VALUE_MAX];
};

struct api_req {
	struct api			*api;
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	const char			*method;
	const char			*path;		/* decoded, without the query */
	char				 param[API_PARAM_MAX];	/* the {id} segment, "" if too long */
	char				 request_id[API_REQUEST_ID_MAX + 1];
	struct api_principal		 who;		/* valid once authenticated */
	int				 status;	/* status sent; 0 until the reply */
	bool				 must_close;	/* close the connection after the reply */
	uint64_t			 started_ms;	/* monotonic */
	struct api_header		 headers[API_HEADERS_MAX];
	size_t				 n_headers;
};

typedef void (*api_handler_cb)(struct api_req *r);

/* Adds a response header to the coming reply (name must be static). */
void	api_header_add(struct api_req *r, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Sends status with body (taking the reference) as JSON.  A NULL body
 * (out of memory while building it) becomes a 500. */
void	api_reply_json(struct api_req *r, int status, json_t *body);

/* Sends the API error err (status from err_http_status; 503 for the
 * "try again" codes, with Retry-After; 401 with WWW-Authenticate) with a
 * formatted message; takes the reference to details (NULL: []). */
void	api_reply_error(struct api_req *r, int err, json_t *details, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Sends len bytes of body with the given Content-Type. */
void	api_reply_raw(struct api_req *r, int status, const char *content_type,
	    const void *body, size_t len);

/* Reads the request body for a JSON route: refuses other content types
 * (415) and bodies over the limit (413).  On 0, *body is a new
 * NUL-terminated buffer (caller frees) of *len bytes; otherwise the error
 * reply has been sent already. */
int	api_body_read(struct api_req *r, char **body, size_t *len);

/* True if the caller may see workloads of customer_id: an admin sees all,
 * a customer its own. */
bool	api_can_see(const struct api_req *r, const char *customer_id);

/* Handlers. */
void	api_workloads_submit(struct api_req *r);	/* POST /v1/workloads */
void	api_workloads_list(struct api_req *r);		/* GET /v1/workloads */
void	api_workload_get(struct api_req *r);		/* GET /v1/workloads/{id} */
void	api_workload_cancel(struct api_req *r);		/* POST /v1/workloads/{id}/cancel */
void	api_workers_list(struct api_req *r);		/* GET /v1/workers */
void	api_cluster_get(struct api_req *r);		/* GET /v1/cluster */
void	api_static_console(struct api_req *r);		/* GET /, /console/{file} */
void	api_static_openapi(struct api_req *r);		/* GET /v1/openapi.json */

#endif /* WEB_API_INTERNAL_H */
