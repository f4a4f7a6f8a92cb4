/*
 * Shared between the web/api_*.c files (and t/unit/routes_test.c, which
 * checks the route table against web/openapi.json).  NB: these details are
 * entirely private to the HTTP API; nothing else outside web/ includes this.
 *
 * A request is handled on one civetweb thread from start to end: api.c
 * builds a struct api_req, finds its route in api_routes, checks
 * readiness (a follower forwards the request to the leader instead:
 * api_forward.c), the bearer key and the caller's rate limit, calls one
 * handler, and logs it.  A handler answers exactly once, through
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

struct errbuf;
struct http_response;
struct mg_connection;
struct mg_context;
struct mg_request_info;
struct ratelimit;

#define API_REQUEST_ID_MAX	128	/* longest X-Request-Id honoured */
#define API_HEADERS_MAX		10	/* extra response headers per reply */
#define API_HEADER_VALUE_MAX	256
#define API_PARAM_MAX		64	/* longest {name} path segment kept */
#define API_PARAMS_MAX		2	/* {name} segments in one route */
#define API_IDEMPOTENCY_KEY_MAX	128	/* longest Idempotency-Key */

/* Forwarding to the leader (api_forward.c). */
#define API_FORWARDED_BY	"X-Niyanta-Forwarded-By"	/* node id of the forwarder */
#define API_FORWARD_CONNECT_MS	1000	/* connecting to the leader */
#define API_FORWARD_MARGIN_MS	2000	/* beyond the propose timeout */
#define API_FORWARD_URL_MAX	256	/* longest leader URL */

struct api {
	struct mg_context	*ctx;
	struct coord		*coord;		/* borrowed */
	char			*listen;
	char			*web_dir;
	size_t			 max_body;
	unsigned		 threads;
	unsigned		 request_timeout_ms;
	unsigned		 forward_timeout_ms;	/* a whole forwarded request */
	bool			 lib_inited;	/* mg_init_library succeeded */
	bool			 curl_inited;	/* http_global_init succeeded */

	/* Tenancy settings (see struct api_config). */
	uint32_t		 rate_by_tier[TIER__COUNT];
	uint32_t		 queue_by_tier[TIER__COUNT];
	uint32_t		 admin_rate;
	uint32_t		 global_max_pending;
	struct queue_policy	 queue;		/* tier weights and aging */
	struct ratelimit	*rl;		/* per-customer token buckets */

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
	char		*customer_id;		/* owned; "admin" for admin keys */
	enum key_role	 role;
	struct customer	 customer;		/* a customer key's record, read at
						 * authentication; zeroed for admin */
};

struct api_header {
	const char	*name;			/* static string */
	char		 value[API_HEADER_VALUE_MAX];
};

struct api_route;

struct api_req {
	struct api			*api;
	const struct api_route		*route;		/* the matched route */
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	const char			*method;
	const char			*path;		/* decoded, without the query */
	/* The route's {name} segments in order; "" if too long to be an id. */
	char				 params[API_PARAMS_MAX][API_PARAM_MAX];
	char				 request_id[API_REQUEST_ID_MAX + 1];
	struct api_principal		 who;		/* valid once authenticated */
	int				 status;	/* status sent; 0 until the reply */
	bool				 must_close;	/* close the connection after the reply */
	uint64_t			 started_ms;	/* monotonic */
	struct api_header		 headers[API_HEADERS_MAX];
	size_t				 n_headers;
};

typedef void (*api_handler_cb)(struct api_req *r);

#define API_R_PUBLIC	0x1	/* no readiness check, no key, no rate limit */
#define API_R_ADMIN	0x2	/* admin keys only: others get 403 */

/* One route: the only place the server's paths are listed (api.c). */
struct api_route {
	const char	*method;	/* "GET", "POST", "PATCH" or "DELETE" */
	const char	*pattern;	/* OpenAPI style: "{name}" matches one
					 * non-empty path segment */
	unsigned	 flags;		/* API_R_* */
	api_handler_cb	 handler;
};

extern const struct api_route	api_routes[];
extern const size_t		api_routes_count;

/* The route for method and path: the first in table order whose pattern
 * matches and whose method is method, with the {name} segments copied into
 * params.  NULL if none; then allow holds the methods the path does take
 * ("GET, POST"), or "" if no pattern matches the path at all. */
const struct api_route *api_route_find(const char *method, const char *path,
	    char params[API_PARAMS_MAX][API_PARAM_MAX], char *allow, size_t allow_size);

/* Adds a response header to the coming reply (name must be static). */
void	api_header_add(struct api_req *r, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Sends status with body (taking the reference) as JSON.  A NULL body
 * (out of memory while building it) becomes a 500. */
void	api_reply_json(struct api_req *r, int status, json_t *body);

/* Sends the API error err (status from err_http_status; 503 for the
 * "try again" codes, with Retry-After unless one was added; 401 with
 * WWW-Authenticate) with a formatted message; takes the reference to
 * details (NULL: []). */
void	api_reply_error(struct api_req *r, int err, json_t *details, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Answers the failure rc of coord_propose for the write named by what:
 * 503 for the outcomes a client may retry, rc's own status otherwise. */
void	api_reply_propose_error(struct api_req *r, int rc, const struct errbuf *eb,
	    const char *what);

/* Sends len bytes of body with the given Content-Type (NULL for none, as
 * a 204 has). */
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

/* The tier defaults applied: a customer's max PENDING workloads (0: no
 * limit) and API requests per second. */
uint32_t api_customer_queue_limit(const struct api *a, const struct customer *c);
uint32_t api_customer_rate(const struct api *a, const struct customer *c);

/* [{"field", "message"}] with one entry, for a single bad input. */
json_t	*api_detail(const char *field, const char *message);

/* ---- forwarding to the leader (api_forward.c) ---- */

/* A request header of the caller by name (any case), or NULL. */
typedef const char *(*api_fwd_header_cb)(void *arg, const char *name);

/* One request to forward, independent of civetweb (api_forward wraps a
 * connection in it; t/unit/forward_test.c drives it directly). */
struct api_fwd_req {
	const char		*method;	/* "GET", "POST", ... */
	const char		*path;		/* decoded, as api_req.path */
	const char		*query;		/* raw, after '?'; NULL: none */
	const char		*body;		/* body_len bytes; NULL: none */
	size_t			 body_len;
	api_fwd_header_cb	 header;	/* the caller's headers; NULL: none */
	void			*header_arg;
	const char		*request_id;	/* sent as X-Request-Id; NULL: none */
	uint64_t		 node_id;	/* sent as X-Niyanta-Forwarded-By */
};

/* Sends fr to the leader at leader_url ("http://HOST:PORT") over this
 * thread's kept connection to it, connecting within API_FORWARD_CONNECT_MS
 * and giving up after timeout_ms in all.  Passes the caller's
 * Authorization, Content-Type, Idempotency-Key and Accept, fr's request id
 * and node id; nothing else.  On 0, *resp (caller finalises) holds the
 * leader's answer with only the headers a client may be given (Content-Type
 * and those api_forward relays).  Else ERR_UNAVAIL (nothing was sent:
 * the request was not applied), ERR_TIMEOUT or ERR_IO (sent: a write may
 * have been applied), ERR_INVAL (a caller's header cannot be passed on),
 * ERR_TOOBIG or ERR_NOMEM, with eb saying why. */
int	api_forward_send(const char *leader_url, const struct api_fwd_req *fr,
	    unsigned timeout_ms, struct http_response *resp, struct errbuf *eb);

/* Forwards r (body included, read and bounded as api_body_read does) to
 * the leader at leader_url on behalf of node node_id and relays its answer;
 * if the leader cannot be reached, answers 503 with Retry-After, saying
 * whether a write may have been applied.  Always answers r. */
void	api_forward(struct api_req *r, const char *leader_url, uint64_t node_id);

/* Frees this thread's kept connection to the leader (civetweb's
 * exit_thread callback; tests call it on their own threads). */
void	api_forward_thread_fini(void);

/* Handlers. */
void	api_workloads_submit(struct api_req *r);	/* POST /v1/workloads */
void	api_workloads_list(struct api_req *r);		/* GET /v1/workloads */
void	api_workloads_batch(struct api_req *r);		/* POST /v1/workloads/batch */
void	api_workloads_batch_cancel(struct api_req *r);	/* POST /v1/workloads/batch/cancel */
void	api_workload_get(struct api_req *r);		/* GET /v1/workloads/{id} */
void	api_workload_cancel(struct api_req *r);		/* POST /v1/workloads/{id}/cancel */
void	api_workload_pause(struct api_req *r);		/* POST /v1/workloads/{id}/pause */
void	api_workload_resume(struct api_req *r);		/* POST /v1/workloads/{id}/resume */
void	api_workload_checkpoints(struct api_req *r);	/* GET /v1/workloads/{id}/checkpoints */
void	api_workers_list(struct api_req *r);		/* GET /v1/workers */
void	api_cluster_get(struct api_req *r);		/* GET /v1/cluster */
void	api_cluster_node_add(struct api_req *r);	/* POST /v1/cluster/nodes */
void	api_cluster_node_remove(struct api_req *r);	/* DELETE /v1/cluster/nodes/{id} */
void	api_cluster_node_announce(struct api_req *r);	/* PUT /v1/cluster/nodes/{id} */
void	api_cluster_transfer(struct api_req *r);	/* POST /v1/cluster/transfer-leader */
void	api_customers_list(struct api_req *r);		/* GET /v1/customers */
void	api_customers_create(struct api_req *r);	/* POST /v1/customers */
void	api_customer_get(struct api_req *r);		/* GET /v1/customers/{id} */
void	api_customer_update(struct api_req *r);		/* PATCH /v1/customers/{id} */
void	api_customer_keys_list(struct api_req *r);	/* GET /v1/customers/{id}/keys */
void	api_customer_keys_create(struct api_req *r);	/* POST /v1/customers/{id}/keys */
void	api_customer_key_revoke(struct api_req *r);	/* DELETE .../keys/{key_id} */
void	api_queue_depth_get(struct api_req *r);		/* GET /v1/metrics/queue-depth */
void	api_sched_metrics_get(struct api_req *r);	/* GET /v1/metrics/scheduler */
void	api_audit_list(struct api_req *r);		/* GET /v1/audit-events */
void	api_static_console(struct api_req *r);		/* GET /, /console, /console/{file} */
void	api_static_docs(struct api_req *r);		/* GET /docs, /docs/{file} */
void	api_static_openapi(struct api_req *r);		/* GET /v1/openapi.json */

#endif /* WEB_API_INTERNAL_H */
