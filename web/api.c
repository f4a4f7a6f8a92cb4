/*
 * The HTTP front of niyantad: starts civetweb, and for every request picks
 * the route from api_routes (the one list of the server's paths, checked
 * against openapi.json by t/unit/routes_test.c), refuses what the route
 * does not allow (405 with Allow, 404), makes sure this node can answer
 * (/v1 routes need the ready leader: a follower forwards them to the
 * leader, api_forward.c, and answers 503 with Retry-After when no leader
 * can be reached), authenticates the bearer API key, takes a token from the caller's rate
 * limit (429 when there is none; every answer to an authenticated caller
 * carries X-RateLimit-*), and hands the request to one handler in
 * api_workloads.c, api_customers.c, api_audit.c, api_workers.c or
 * api_static.c.
 *
 * Every reply goes out through api_send: one buffer with the status line,
 * the headers every answer carries (Cache-Control: no-store, X-Request-Id,
 * Content-Length) and the body, written with a single mg_write so that a
 * small answer leaves in one TCP segment (tcp_nodelay is on).  The
 * Connection header follows the rules civetweb itself applies after the
 * handler returns, so both sides agree on whether the connection stays
 * open.
 *
 * civetweb serves no files of its own (no document_root): the console and
 * the OpenAPI document are answered by api_static.c from a fixed list.
 */
#include "web/api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>

#include "net/http_client.h"
#include "src/clock.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "src/secret.h"
#include "src/strs.h"
#include "web/api_internal.h"
#include "web/json.h"
#include "web/ratelimit.h"

#ifndef NIYANTA_WEBDIR
#define NIYANTA_WEBDIR	"/usr/share/niyanta/web"
#endif

#define API_DEFAULT_LISTEN	"127.0.0.1:8080"
#define API_DEFAULT_THREADS	32
#define API_DEFAULT_MAX_BODY	(1024 * 1024)
#define API_DEFAULT_TIMEOUT_MS	30000
#define API_DEFAULT_PROPOSE_MS	10000	/* coord_config_defaults' */
#define API_MAX_THREADS		1024
#define API_LOG_PATH_MAX	200	/* bytes of the path shown in a log line */
#define API_MAX_RATE		10000000 /* requests per second, any setting */
#define API_MAX_QUEUE		100000000 /* PENDING workloads, any setting */

/* Defaults by tier: free, standard, premium, enterprise. */
static const uint32_t api_default_rate[TIER__COUNT] = { 10, 100, 500, 2000 };
static const uint32_t api_default_queue[TIER__COUNT] = { 100, 10000, 100000, 1000000 };
#define API_DEFAULT_ADMIN_RATE	100000

static void	api_health(struct api_req *);
static void	api_ready(struct api_req *);
static void	api_log_text(char *, size_t, const char *);

/* Every route of the server.  Order matters where two patterns match one
 * path: the literal "/v1/workloads/batch..." routes come before the
 * "/v1/workloads/{id}..." ones, so that "batch" is never taken for an id. */
const struct api_route api_routes[] = {
	{ "GET",	"/health",			API_R_PUBLIC,	api_health },
	{ "GET",	"/ready",			API_R_PUBLIC,	api_ready },
	{ "GET",	"/",				API_R_PUBLIC,	api_static_console },
	{ "GET",	"/console",			API_R_PUBLIC,	api_static_console },
	{ "GET",	"/console/",			API_R_PUBLIC,	api_static_console },
	{ "GET",	"/console/{file}",		API_R_PUBLIC,	api_static_console },
	{ "GET",	"/docs",			API_R_PUBLIC,	api_static_docs },
	{ "GET",	"/docs/",			API_R_PUBLIC,	api_static_docs },
	{ "GET",	"/docs/{file}",			API_R_PUBLIC,	api_static_docs },
	{ "GET",	"/v1/openapi.json",		API_R_PUBLIC,	api_static_openapi },
	{ "GET",	"/v1/workloads",		0,		api_workloads_list },
	{ "POST",	"/v1/workloads",		0,		api_workloads_submit },
	{ "POST",	"/v1/workloads/batch",		0,		api_workloads_batch },
	{ "POST",	"/v1/workloads/batch/cancel",	0,		api_workloads_batch_cancel },
	{ "GET",	"/v1/workloads/{id}",		0,		api_workload_get },
	{ "POST",	"/v1/workloads/{id}/cancel",	0,		api_workload_cancel },
	{ "POST",	"/v1/workloads/{id}/pause",	0,		api_workload_pause },
	{ "POST",	"/v1/workloads/{id}/resume",	0,		api_workload_resume },
	{ "GET",	"/v1/workloads/{id}/checkpoints", 0,		api_workload_checkpoints },
	{ "GET",	"/v1/workers",			API_R_ADMIN,	api_workers_list },
	{ "GET",	"/v1/cluster",			API_R_ADMIN,	api_cluster_get },
	{ "POST",	"/v1/cluster/nodes",		API_R_ADMIN,	api_cluster_node_add },
	{ "DELETE",	"/v1/cluster/nodes/{id}",	API_R_ADMIN,	api_cluster_node_remove },
	{ "PUT",	"/v1/cluster/nodes/{id}",	API_R_ADMIN,	api_cluster_node_announce },
	{ "POST",	"/v1/cluster/transfer-leader",	API_R_ADMIN,	api_cluster_transfer },
	{ "GET",	"/v1/customers",		API_R_ADMIN,	api_customers_list },
	{ "POST",	"/v1/customers",		API_R_ADMIN,	api_customers_create },
	/* A customer may read itself: the handler checks. */
	{ "GET",	"/v1/customers/{id}",		0,		api_customer_get },
	{ "PATCH",	"/v1/customers/{id}",		API_R_ADMIN,	api_customer_update },
	{ "GET",	"/v1/customers/{id}/keys",	API_R_ADMIN,	api_customer_keys_list },
	{ "POST",	"/v1/customers/{id}/keys",	API_R_ADMIN,	api_customer_keys_create },
	{ "DELETE",	"/v1/customers/{id}/keys/{key_id}", API_R_ADMIN, api_customer_key_revoke },
	{ "GET",	"/v1/metrics/queue-depth",	0,		api_queue_depth_get },
	{ "GET",	"/v1/metrics/scheduler",	API_R_ADMIN,	api_sched_metrics_get },
	{ "GET",	"/v1/audit-events",		0,		api_audit_list },
};

const size_t api_routes_count = sizeof api_routes / sizeof api_routes[0];

/* ---- replies ---- */

/* True if the coming reply already has a header called name. */
static bool
api_header_has(const struct api_req *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

void
api_header_add(struct api_req *r, const char *name, const char *fmt, ...)
{
	struct api_header	*h;
	va_list			 ap;

	if (r->n_headers >= API_HEADERS_MAX) {
		log_warn("HTTPHDRS", "too many response headers, %s dropped rid=%s",
		    name, r->request_id);
		return;
	}
	h = &r->headers[r->n_headers++];
	h->name = name;
	va_start(ap, fmt);
	vsnprintf(h->value, sizeof h->value, fmt, ap);
	va_end(ap);
}

/* Reason phrase of a status we send (civetweb's table has typos). */
static const char *
api_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

/* Whether civetweb will keep the connection open after this request: the
 * same test it makes (keep-alive is enabled in api_open). */
static bool
api_keep_alive(const struct api_req *r)
{
	const char	*h;

	if (r->must_close || r->ri->http_version == NULL)
		return false;
	if ((h = mg_get_header(r->conn, "Connection")) != NULL)
		return strcasestr(h, "keep-alive") != NULL;
	return strcmp(r->ri->http_version, "1.1") == 0;
}

/* Writes the whole reply: status line, headers, body. */
static void
api_send(struct api_req *r, int status, const char *content_type, const void *body,
    size_t len)
{
	char		 head[2048], date[64], *buf;
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i, n;
	int		 m;

	if (r->status != 0) {
		char	 lp[API_LOG_PATH_MAX + 1];

		api_log_text(lp, sizeof lp, r->path);
		log_error("HTTPTWICE", "%s %s: second reply %d after %d rid=%s",
		    r->method, lp, status, r->status, r->request_id);
		return;
	}
	r->status = status;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	m = snprintf(head, sizeof head,
	    "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Request-Id: %s\r\n"
	    "Connection: %s\r\n",
	    status, api_status_text(status), date, r->request_id,
	    api_keep_alive(r) ? "keep-alive" : "close");
	n = m > 0 && (size_t)m < sizeof head ? (size_t)m : 0;
	/* A 204 has neither a body nor a length (RFC 9110, 8.6). */
	if (status == 204)
		len = 0;
	else {
		m = snprintf(head + n, sizeof head - n, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", content_type != NULL ? content_type :
		    "application/octet-stream", len);
		if (m > 0 && (size_t)m < sizeof head - n)
			n += (size_t)m;
	}
	for (i = 0; i < r->n_headers; i++) {
		m = snprintf(head + n, sizeof head - n, "%s: %s\r\n",
		    r->headers[i].name, r->headers[i].value);
		if (m > 0 && (size_t)m < sizeof head - n)
			n += (size_t)m;
	}
	m = snprintf(head + n, sizeof head - n, "\r\n");
	if (m > 0 && (size_t)m < sizeof head - n)
		n += (size_t)m;
	if (strcmp(r->method, "HEAD") == 0)
		len = 0;		/* the headers describe the body not sent */

	/* One write for small replies (one segment with TCP_NODELAY). */
	if (len <= 65536 && (buf = malloc(n + len)) != NULL) {
		memcpy(buf, head, n);
		if (len > 0)
			memcpy(buf + n, body, len);
		mg_write(r->conn, buf, n + len);
		free(buf);
		return;
	}
	mg_write(r->conn, head, n);
	if (len > 0)
		mg_write(r->conn, body, len);
}

void
api_reply_raw(struct api_req *r, int status, const char *content_type,
    const void *body, size_t len)
{
	api_send(r, status, content_type, body, len);
}

/* The error body written by hand, for when building it with jansson ran
 * out of memory. */
static void
api_reply_nomem(struct api_req *r)
{
	char	 buf[512], rid[2 * API_REQUEST_ID_MAX + 1];
	size_t	 i, o = 0;
	int	 n;

	/* A request id is printable ASCII: only " and \ need escaping. */
	for (i = 0; r->request_id[i] != '\0' && o + 2 < sizeof rid; i++) {
		if (r->request_id[i] == '"' || r->request_id[i] == '\\')
			rid[o++] = '\\';
		rid[o++] = r->request_id[i];
	}
	rid[o] = '\0';
	n = snprintf(buf, sizeof buf, "{\"error\":{\"code\":\"%s\",\"message\":"
	    "\"out of memory\",\"details\":[]},\"request_id\":\"%s\"}",
	    err_code_name(ERR_NOMEM), rid);
	api_send(r, err_http_status(ERR_NOMEM), "application/json", buf,
	    n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
}

void
api_reply_json(struct api_req *r, int status, json_t *body)
{
	char	*s;

	if (body == NULL) {
		api_reply_nomem(r);
		return;
	}
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL) {
		api_reply_nomem(r);
		return;
	}
	api_send(r, status, "application/json", s, strlen(s));
	free(s);
}

void
api_reply_error(struct api_req *r, int err, json_t *details, const char *fmt, ...)
{
	char	 msg[ERRBUF_LEN * 2];
	va_list	 ap;
	int	 status = err_http_status(err);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	switch (err) {
	case ERR_NOTLEADER:
	case ERR_UNAVAIL:
	case ERR_TIMEOUT:
	case ERR_SHUTDOWN:
		/* Nothing is known to have happened: the client may retry. */
		status = 503;
		break;
	default:
		break;
	}
	if (status == 503 && !api_header_has(r, "Retry-After"))
		api_header_add(r, "Retry-After", "1");
	if (status == 401)
		api_header_add(r, "WWW-Authenticate", "Bearer");
	/* 503s are the expected "retry" answers (backpressure, elections);
	 * the access log has them.  Anything else from the server is a fault. */
	if (status >= 500 && status != 503) {
		char	 lp[API_LOG_PATH_MAX + 1];

		api_log_text(lp, sizeof lp, r->path);
		log_warn("HTTPERR", "%s %s: %d %s: %.200s rid=%s", r->method, lp, status,
		    err_code_name(err), msg, r->request_id);
	}
	api_reply_json(r, status, json_error_body(err, msg, details, r->request_id));
}

void
api_reply_propose_error(struct api_req *r, int rc, const struct errbuf *eb,
    const char *what)
{
	const char	*why = eb->msg[0] != '\0' ? eb->msg : err_code_name(rc);

	switch (rc) {
	case ERR_TIMEOUT:
		api_reply_error(r, rc, NULL, "%s: not confirmed in time, it may or "
		    "may not have been applied (%s)", what, why);
		break;
	case ERR_NOTLEADER:
	case ERR_UNAVAIL:
	case ERR_SHUTDOWN:
		api_reply_error(r, rc, NULL, "%s: not applied, retry (%s)", what, why);
		break;
	default:
		api_reply_error(r, rc, NULL, "%s: %s", what, why);
		break;
	}
}

json_t *
api_detail(const char *field, const char *message)
{
	return json_pack("[{s:o,s:o}]", "field", json_text(field), "message",
	    json_text(message));
}

/* [{"limit": name, "value": v}] */
static json_t *
api_limit_detail(const char *name, uint64_t value)
{
	return json_pack("[{s:s,s:I}]", "limit", name, "value", (json_int_t)value);
}

/* ---- request bodies ---- */

/* The connection closes after this reply (its body was not fully read). */
static void
api_close_after(struct api_req *r)
{
	r->must_close = true;
	mg_disable_keep_alive(r->conn);
}

/* True for "application/json", with any parameters ("; charset=utf-8"). */
static bool
api_is_json_type(const char *ct)
{
	static const char	 want[] = "application/json";
	size_t			 n = sizeof want - 1;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
api_body_read(struct api_req *r, char **body, size_t *len)
{
	const char	*ct = mg_get_header(r->conn, "Content-Type");
	size_t		 max = r->api->max_body, cap, got = 0;
	long long	 cl = r->ri->content_length;
	char		*buf, *nb;
	int		 n;

	*body = NULL;
	*len = 0;
	if (ct != NULL && !api_is_json_type(ct)) {
		api_reply_error(r, ERR_MEDIATYPE, NULL,
		    "Content-Type must be application/json, not \"%.64s\"", ct);
		return ERR_MEDIATYPE;
	}
	if (cl > (long long)max) {
		/* Unread, the body would be drained by civetweb: close instead. */
		api_close_after(r);
		api_reply_error(r, ERR_TOOBIG, api_limit_detail("max_body_bytes", max),
		    "request body of %lld bytes is over the limit of %zu bytes "
		    "(max_body_bytes)", cl, max);
		return ERR_TOOBIG;
	}
	/* A known length is allocated at once; a chunked body grows, and is
	 * read up to one byte past the limit to detect an excess. */
	cap = cl >= 0 ? (size_t)cl + 1 : 4096;
	if ((buf = malloc(cap)) == NULL) {
		api_reply_nomem(r);
		return ERR_NOMEM;
	}
	for (;;) {
		if (got + 1 >= cap) {
			if (cl >= 0 || cap > max + 1)
				break;
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				api_reply_nomem(r);
				return ERR_NOMEM;
			}
			buf = nb;
		}
		n = mg_read(r->conn, buf + got, cap - 1 - got);
		if (n < 0) {
			free(buf);
			api_close_after(r);
			api_reply_error(r, ERR_INVAL, NULL,
			    "could not read the request body");
			return ERR_INVAL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			free(buf);
			api_close_after(r);
			api_reply_error(r, ERR_TOOBIG, api_limit_detail("max_body_bytes",
			    max), "request body is over the limit of %zu bytes "
			    "(max_body_bytes)", max);
			return ERR_TOOBIG;
		}
	}
	if (cl >= 0 && got < (size_t)cl) {
		free(buf);
		api_close_after(r);
		api_reply_error(r, ERR_INVAL, NULL,
		    "request body ended after %zu of %lld bytes", got, cl);
		return ERR_INVAL;
	}
	buf[got] = '\0';
	*body = buf;
	*len = got;
	return 0;
}

bool
api_can_see(const struct api_req *r, const char *customer_id)
{
	if (r->who.role == KEY_ROLE_ADMIN)
		return true;
	return customer_id != NULL && r->who.customer_id != NULL &&
	    strcmp(customer_id, r->who.customer_id) == 0;
}

uint32_t
api_customer_queue_limit(const struct api *a, const struct customer *c)
{
	if (c->max_queue_depth != 0)
		return c->max_queue_depth;
	return c->tier < TIER__COUNT ? a->queue_by_tier[c->tier] : 0;
}

uint32_t
api_customer_rate(const struct api *a, const struct customer *c)
{
	if (c->rate_limit_rps != 0)
		return c->rate_limit_rps;
	return c->tier < TIER__COUNT ? a->rate_by_tier[c->tier] : 1;
}

/* ---- built-in routes ---- */

/* Public and local: the process is up, and this node's own Raft view
 * (never forwarded, so an operator or a peer can ask each node). */
static void
api_health(struct api_req *r)
{
	struct coord_status	 st;
	json_t			*body;

	coord_status_get(r->api->coord, &st);
	body = json_cluster(&st);
	if (body != NULL && (json_object_set_new(body, "status", json_text("ok")) != 0 ||
	    json_object_set_new(body, "role", json_text(st.role)) != 0 ||
	    json_object_set_new(body, "last_contact_ms",
	    json_integer((json_int_t)(st.leader ? 0 : st.last_contact_ms))) != 0)) {
		json_decref(body);
		body = NULL;
	}
	api_reply_json(r, 200, body);
}

/* A 503 that tells the client where the leader is, when known. */
static void
api_reply_not_ready(struct api_req *r)
{
	struct coord_status	 st;
	json_t			*details;

	coord_status_get(r->api->coord, &st);
	details = json_array();
	if (details != NULL && st.leader_id != 0 && !st.leader)
		json_array_append_new(details, json_pack("{s:I,s:o}", "leader_id",
		    (json_int_t)st.leader_id, "leader_address",
		    st.leader_address[0] != '\0' ? json_text(st.leader_address) :
		    json_null()));
	if (st.leader)
		api_reply_error(r, ERR_UNAVAIL, details,
		    "this node leads but has not caught up yet; retry shortly");
	else if (st.leader_id != 0)
		api_reply_error(r, ERR_UNAVAIL, details,
		    "this node is not the leader; node %" PRIu64 " (%s) is",
		    st.leader_id, st.leader_address[0] != '\0' ?
		    st.leader_address : "address unknown");
	else
		api_reply_error(r, ERR_UNAVAIL, details,
		    "no leader is known yet; retry shortly");
}

static void
api_ready(struct api_req *r)
{
	if (coord_ready(r->api->coord))
		api_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
	else
		api_reply_not_ready(r);
}

/*
 * A request for the leader on a node that is not the ready leader: it is
 * forwarded to the leader when one has announced its URL, with the
 * caller's own credentials (api_forward.c); else 503 with Retry-After.  A
 * request that was forwarded here already is answered 503 too, never sent
 * on a second hop: this node is no better placed than the one that sent
 * it, whose view of the leader was stale (a node that just lost
 * leadership must not bounce requests around).
 */
static void
api_not_ready(struct api_req *r)
{
	struct coord_status	 st;
	char			 url[API_FORWARD_URL_MAX];

	if (mg_get_header(r->conn, API_FORWARDED_BY) != NULL ||
	    coord_leader_http(r->api->coord, url, sizeof url) != 0 || url[0] == '\0') {
		api_reply_not_ready(r);
		return;
	}
	coord_status_get(r->api->coord, &st);
	api_forward(r, url, st.node_id);
}

/* ---- authentication ---- */

/* Authenticates the bearer key of r into r->who.  0, or nonzero after
 * sending the error (401, or the store's error). */
static int
api_auth(struct api_req *r)
{
	const char	*h = mg_get_header(r->conn, "Authorization");
	struct api_key	 k;
	uint8_t		 hash[32];
	char		 key[SECRET_TEXT_MAX];
	size_t		 len;
	int		 rc;

	if (h == NULL) {
		api_reply_error(r, ERR_AUTH, NULL,
		    "missing \"Authorization: Bearer <API key>\" header");
		return ERR_AUTH;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		api_reply_error(r, ERR_AUTH, NULL,
		    "the Authorization header must use the Bearer scheme");
		return ERR_AUTH;
	}
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof key) {
		api_reply_error(r, ERR_AUTH, NULL, "malformed API key");
		return ERR_AUTH;
	}
	memcpy(key, h, len);
	key[len] = '\0';
	secret_hash(key, hash);
	explicit_bzero(key, sizeof key);

	memset(&k, 0, sizeof k);
	rc = fsm_key_lookup(coord_fsm(r->api->coord), hash, &k);
	if (rc == ERR_NOTFOUND || (rc == 0 && k.revoked)) {
		api_key_fini(&k);
		api_reply_error(r, ERR_AUTH, NULL, "unknown or revoked API key");
		return ERR_AUTH;
	}
	if (rc != 0) {
		api_key_fini(&k);
		api_reply_error(r, rc, NULL, "cannot check the API key");
		return rc;
	}
	memcpy(r->who.key_id, k.id, sizeof r->who.key_id);
	r->who.role = k.role;
	r->who.customer_id = k.customer_id;
	k.customer_id = NULL;
	api_key_fini(&k);
	if (r->who.customer_id == NULL && r->who.role == KEY_ROLE_ADMIN &&
	    (r->who.customer_id = strdup(MODEL_CUSTOMER_ADMIN)) == NULL) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		return ERR_NOMEM;
	}
	if (r->who.customer_id == NULL) {
		api_reply_error(r, ERR_INTERNAL, NULL, "API key has no customer");
		return ERR_INTERNAL;
	}
	if (r->who.role == KEY_ROLE_ADMIN)
		return 0;
	/* The customer's current record: its tier and limits apply to this
	 * request (a PATCH takes effect on the next one). */
	rc = fsm_customer_get(coord_fsm(r->api->coord), r->who.customer_id,
	    &r->who.customer);
	if (rc == ERR_NOTFOUND) {
		api_reply_error(r, ERR_FORBIDDEN, NULL,
		    "the customer of this API key does not exist");
		return ERR_FORBIDDEN;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read the customer of this API key");
		return rc;
	}
	return 0;
}

/* Takes a token from the caller's bucket and adds the X-RateLimit-*
 * headers.  0, or ERR_RATELIMIT after answering 429. */
static int
api_rate_check(struct api_req *r)
{
	struct ratelimit_result	 res;
	uint32_t		 rate;

	rate = r->who.role == KEY_ROLE_ADMIN ? r->api->admin_rate :
	    api_customer_rate(r->api, &r->who.customer);
	if (ratelimit_take(r->api->rl, r->who.customer_id, rate, &res) != 0)
		log_warn("HTTPRATE", "rate limit bucket for %s: out of memory rid=%s",
		    r->who.customer_id, r->request_id);
	api_header_add(r, "X-RateLimit-Limit", "%" PRIu32, res.limit);
	api_header_add(r, "X-RateLimit-Remaining", "%" PRIu32, res.remaining);
	api_header_add(r, "X-RateLimit-Reset", "%" PRIu32, res.reset_s);
	if (res.allowed)
		return 0;
	api_header_add(r, "Retry-After", "%" PRIu32, res.retry_after_s);
	api_reply_error(r, ERR_RATELIMIT, api_limit_detail("rate_limit_rps", rate),
	    "rate limit of %" PRIu32 " requests per second exceeded (rate_limit_rps); "
	    "retry in %" PRIu32 " s", rate, res.retry_after_s);
	return ERR_RATELIMIT;
}

/* ---- routing ---- */

/* Matches path against pattern, copying each {name} segment into params
 * ("" if it is too long to be an id). */
static bool
api_route_match(const char *pattern, const char *path,
    char params[API_PARAMS_MAX][API_PARAM_MAX])
{
	const char	*p = pattern, *s = path, *seg;
	size_t		 n, k = 0;

	while (*p != '\0') {
		if (*p == '{') {
			while (*p != '\0' && *p != '}')
				p++;
			if (*p == '}')
				p++;
			seg = s;
			while (*s != '\0' && *s != '/')
				s++;
			if (s == seg || k >= API_PARAMS_MAX)
				return false;
			n = (size_t)(s - seg);
			if (n < API_PARAM_MAX) {
				memcpy(params[k], seg, n);
				params[k][n] = '\0';
			} else
				params[k][0] = '\0';
			k++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *s == '\0';
}

const struct api_route *
api_route_find(const char *method, const char *path,
    char params[API_PARAMS_MAX][API_PARAM_MAX], char *allow, size_t allow_size)
{
	char	 tmp[API_PARAMS_MAX][API_PARAM_MAX];
	size_t	 i, j, o = 0;
	int	 n;

	if (allow_size > 0)
		allow[0] = '\0';
	memset(params, 0, sizeof tmp);
	for (i = 0; i < api_routes_count; i++) {
		memset(tmp, 0, sizeof tmp);
		if (!api_route_match(api_routes[i].pattern, path, tmp))
			continue;
		if (strcmp(api_routes[i].method, method) == 0) {
			memcpy(params, tmp, sizeof tmp);
			return &api_routes[i];
		}
		/* Allow: each method once, in table order. */
		for (j = 0; j < i; j++)
			if (strcmp(api_routes[j].method, api_routes[i].method) == 0 &&
			    api_route_match(api_routes[j].pattern, path, tmp))
				break;
		if (j < i)
			continue;
		n = snprintf(allow + o, allow_size - o, "%s%s", o > 0 ? ", " : "",
		    api_routes[i].method);
		if (n > 0 && (size_t)n < allow_size - o)
			o += (size_t)n;
	}
	return NULL;
}

/* X-Request-Id: the client's if it is 1..128 printable ASCII characters
 * without spaces, else a new UUID. */
static void
api_request_id_init(struct api_req *r)
{
	const char	*h = mg_get_header(r->conn, "X-Request-Id");
	size_t		 i;

	if (h != NULL) {
		for (i = 0; h[i] != '\0' && i <= API_REQUEST_ID_MAX; i++)
			if (h[i] < 0x21 || h[i] > 0x7e)
				break;
		if (i >= 1 && i <= API_REQUEST_ID_MAX && h[i] == '\0') {
			memcpy(r->request_id, h, i + 1);
			return;
		}
	}
	model_id_generate(r->request_id);
}

/* A copy of s safe for one log line. */
static void
api_log_text(char *dst, size_t size, const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
}

/* civetweb's begin_request callback: every request, from the moment the
 * server listens (a request handler registered after mg_start2 would leave
 * a window where civetweb answers by itself). */
static int
api_handle(struct mg_connection *conn)
{
	const struct api_route	*rt;
	struct api_req		 r;
	char			 lp[API_LOG_PATH_MAX + 1], allow[64];

	memset(&r, 0, sizeof r);
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.api = r.ri->user_data;
	r.started_ms = clock_mono_ms();
	r.method = r.ri->request_method != NULL ? r.ri->request_method : "";
	r.path = r.ri->local_uri != NULL ? r.ri->local_uri : "";
	api_request_id_init(&r);

	rt = api_route_find(r.method, r.path, r.params, allow, sizeof allow);
	if (rt == NULL && allow[0] == '\0') {
		api_reply_error(&r, ERR_NOTFOUND, NULL, "no such path: %.200s", r.path);
		goto done;
	}
	if (rt == NULL) {
		api_header_add(&r, "Allow", "%s", allow);
		api_reply_error(&r, ERR_METHOD, NULL, "method %.16s is not allowed here; "
		    "allowed: %s", r.method, allow);
		goto done;
	}
	r.route = rt;
	if (!(rt->flags & API_R_PUBLIC)) {
		if (!coord_ready(r.api->coord)) {
			api_not_ready(&r);
			goto done;
		}
		if (api_auth(&r) != 0 || api_rate_check(&r) != 0)
			goto done;
		if ((rt->flags & API_R_ADMIN) && r.who.role != KEY_ROLE_ADMIN) {
			api_reply_error(&r, ERR_FORBIDDEN, NULL,
			    "this route needs an admin API key");
			goto done;
		}
	}
	rt->handler(&r);
	if (r.status == 0)
		api_reply_error(&r, ERR_INTERNAL, NULL, "the handler sent no reply");
done:
	api_log_text(lp, sizeof lp, r.path);
	log_debug("HTTPREQ", "%s %s %d %" PRIu64 "ms key=%s rid=%s", r.method, lp,
	    r.status, clock_mono_ms() - r.started_ms,
	    r.who.key_id[0] != '\0' ? r.who.key_id : "-", r.request_id);
	free(r.who.customer_id);
	customer_fini(&r.who.customer);
	return r.status > 0 ? r.status : 500;
}

/* While api_open runs mg_start2 on this thread, the first message civetweb
 * logs (it says why a bind failed) is kept here for the error returned. */
static _Thread_local bool	 api_start_capture;
static _Thread_local char	 api_start_msg[256];

/* civetweb's own messages (bind failures, bad requests) go to our log. */
static int
api_log_message(const struct mg_connection *conn, const char *message)
{
	char	 buf[512];
	size_t	 n;

	(void)conn;
	api_log_text(buf, sizeof buf, message);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '?' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (api_start_capture && api_start_msg[0] == '\0')
		snprintf(api_start_msg, sizeof api_start_msg, "%.200s", buf);
	log_warn("HTTPLIB", "civetweb: %s", buf);
	return 1;
}

/* civetweb's exit_thread callback: a thread's kept connection to the
 * leader goes with it (mg_stop ends every thread this way). */
static void
api_exit_thread(const struct mg_context *ctx, int thread_type, void *thread_ptr)
{
	(void)ctx;
	(void)thread_type;
	(void)thread_ptr;
	api_forward_thread_fini();
}

/* ---- start and stop ---- */

/* "[host:]port" entries, comma-separated; host may be "[v6]".  civetweb's
 * suffixes ("s" for HTTPS, "r" for redirect) are refused: its TLS does
 * not work as packaged (DEPENDENCIES.md), HTTPS goes through a proxy. */
static int
api_listen_check(const char *listen, struct errbuf *eb)
{
	const char	*p = listen, *port;
	size_t		 digits;
	unsigned long	 num;

	if (listen == NULL || listen[0] == '\0')
		return err_setf(eb, ERR_INVAL, "http listen address is empty");
	for (;;) {
		const char *end = strchr(p, ',');
		const char *colon;

		if (end == NULL)
			end = p + strlen(p);
		/* The port is after the last ':' (after "]" for IPv6). */
		colon = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':' && (q == p || p[0] != '[' || q[-1] == ']'))
				colon = q;
		port = colon != NULL ? colon + 1 : p;
		for (digits = 0, num = 0; port + digits < end &&
		    port[digits] >= '0' && port[digits] <= '9'; digits++)
			num = num * 10 + (unsigned long)(port[digits] - '0');
		if (digits == 0 || port + digits != end || num == 0 || num > 65535)
			return err_setf(eb, ERR_INVAL, "http listen \"%s\": expected "
			    "[host:]port (1..65535) without suffix; HTTPS is served "
			    "by a fronting proxy", listen);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

void
api_config_defaults(struct api_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->listen = API_DEFAULT_LISTEN;
	cfg->threads = API_DEFAULT_THREADS;
	cfg->max_body_bytes = API_DEFAULT_MAX_BODY;
	cfg->web_dir = NIYANTA_WEBDIR;
	cfg->request_timeout_ms = API_DEFAULT_TIMEOUT_MS;
	cfg->propose_timeout_ms = API_DEFAULT_PROPOSE_MS;
	memcpy(cfg->rate_by_tier, api_default_rate, sizeof cfg->rate_by_tier);
	memcpy(cfg->queue_by_tier, api_default_queue, sizeof cfg->queue_by_tier);
	cfg->admin_rate = API_DEFAULT_ADMIN_RATE;
	cfg->global_max_pending = 0;
	queue_policy_defaults(&cfg->queue);
}

/* The tenancy settings of cfg, checked. */
static int
api_tenancy_check(const struct api_config *cfg, struct errbuf *eb)
{
	size_t	 i;

	for (i = 0; i < TIER__COUNT; i++) {
		if (cfg->rate_by_tier[i] < 1 || cfg->rate_by_tier[i] > API_MAX_RATE)
			return err_setf(eb, ERR_INVAL, "rate limit of tier %s: %" PRIu32
			    " requests per second, must be 1..%d",
			    tier_name((enum tier)i), cfg->rate_by_tier[i], API_MAX_RATE);
		if (cfg->queue_by_tier[i] > API_MAX_QUEUE)
			return err_setf(eb, ERR_INVAL, "max queue depth of tier %s: %" PRIu32
			    ", must be 0..%d", tier_name((enum tier)i),
			    cfg->queue_by_tier[i], API_MAX_QUEUE);
	}
	if (cfg->admin_rate < 1 || cfg->admin_rate > API_MAX_RATE)
		return err_setf(eb, ERR_INVAL, "admin rate limit %" PRIu32 ": must be "
		    "1..%d requests per second", cfg->admin_rate, API_MAX_RATE);
	if (cfg->global_max_pending > API_MAX_QUEUE)
		return err_setf(eb, ERR_INVAL, "global max pending %" PRIu32 ": must be "
		    "0..%d", cfg->global_max_pending, API_MAX_QUEUE);
	for (i = 0; i < TIER__COUNT; i++)
		if (cfg->queue.tier_weight[i] < 1 ||
		    cfg->queue.tier_weight[i] > QUEUE_WEIGHT_MAX)
			return err_setf(eb, ERR_INVAL, "weight of tier %s: %" PRIu32
			    ", must be 1..%d", tier_name((enum tier)i),
			    cfg->queue.tier_weight[i], QUEUE_WEIGHT_MAX);
	if (cfg->queue.aging_per_min > QUEUE_AGING_MAX)
		return err_setf(eb, ERR_INVAL, "aging %" PRIu32 " per minute: must "
		    "be 0..%d", cfg->queue.aging_per_min, QUEUE_AGING_MAX);
	return 0;
}

static uint64_t
api_clock(void *arg)
{
	(void)arg;
	return clock_mono_ms();
}

int
api_open(struct api **out, struct coord *c, const struct api_config *cfg,
    struct errbuf *eb)
{
	struct mg_callbacks	 cb;
	struct mg_init_data	 init;
	struct mg_error_data	 err;
	struct api		*a;
	const char		*opts[16];
	char			 threads[16], timeout[16], errtext[256];
	unsigned		 errcode = 0;
	size_t			 o = 0;
	int			 rc;

	*out = NULL;
	if ((rc = api_listen_check(cfg->listen, eb)) != 0)
		return rc;
	if (cfg->threads < 1 || cfg->threads > API_MAX_THREADS)
		return err_setf(eb, ERR_INVAL, "http threads %u: must be 1..%d",
		    cfg->threads, API_MAX_THREADS);
	if (cfg->max_body_bytes < 1024 || cfg->max_body_bytes > 1024u * 1024 * 1024)
		return err_setf(eb, ERR_INVAL,
		    "http max body %zu bytes: must be 1 KiB..1 GiB", cfg->max_body_bytes);
	if (cfg->web_dir == NULL || cfg->web_dir[0] == '\0')
		return err_setf(eb, ERR_INVAL, "web directory is not set");
	if ((rc = api_tenancy_check(cfg, eb)) != 0)
		return rc;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	a->coord = c;
	memcpy(a->rate_by_tier, cfg->rate_by_tier, sizeof a->rate_by_tier);
	memcpy(a->queue_by_tier, cfg->queue_by_tier, sizeof a->queue_by_tier);
	a->queue = cfg->queue;
	a->admin_rate = cfg->admin_rate;
	a->global_max_pending = cfg->global_max_pending;
	if (ratelimit_new(&a->rl, api_clock, NULL) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->threads = cfg->threads;
	a->max_body = cfg->max_body_bytes;
	a->request_timeout_ms = cfg->request_timeout_ms > 0 ?
	    cfg->request_timeout_ms : API_DEFAULT_TIMEOUT_MS;
	a->forward_timeout_ms = (cfg->propose_timeout_ms > 0 ?
	    cfg->propose_timeout_ms : API_DEFAULT_PROPOSE_MS) + API_FORWARD_MARGIN_MS;
	if (pthread_mutex_init(&a->types_mu, NULL) != 0) {
		rc = err_setf(eb, ERR_INTERNAL, "cannot create a mutex");
		goto fail;
	}
	a->types_mu_inited = true;
	if ((a->listen = strdup(cfg->listen)) == NULL ||
	    (a->web_dir = strdup(cfg->web_dir)) == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
		goto fail;
	}

	/* libcurl, for forwarding to the leader; its global init is
	 * thread-safe (>= 7.84), so running after coord_open's threads is fine. */
	if ((rc = http_global_init(eb)) != 0)
		goto fail;
	a->curl_inited = true;
	mg_init_library(0);
	a->lib_inited = true;
	snprintf(threads, sizeof threads, "%u", a->threads);
	snprintf(timeout, sizeof timeout, "%u", a->request_timeout_ms);
	opts[o++] = "listening_ports";
	opts[o++] = a->listen;
	opts[o++] = "num_threads";
	opts[o++] = threads;
	opts[o++] = "tcp_nodelay";
	opts[o++] = "1";
	opts[o++] = "enable_keep_alive";
	opts[o++] = "yes";
	opts[o++] = "request_timeout_ms";
	opts[o++] = timeout;
	opts[o++] = "decode_url";
	opts[o++] = "yes";
	opts[o] = NULL;

	memset(&cb, 0, sizeof cb);
	cb.begin_request = api_handle;
	cb.log_message = api_log_message;
	cb.exit_thread = api_exit_thread;
	memset(&init, 0, sizeof init);
	init.callbacks = &cb;
	init.user_data = a;
	init.configuration_options = opts;
	errtext[0] = '\0';
	err.code = &errcode;
	err.text = errtext;
	err.text_buffer_size = sizeof errtext;
	api_start_msg[0] = '\0';
	api_start_capture = true;
	a->ctx = mg_start2(&init, &err);
	api_start_capture = false;
	if (a->ctx == NULL) {
		rc = err_setf(eb, ERR_IO, "cannot start the HTTP server on %s: %s",
		    a->listen, api_start_msg[0] != '\0' ? api_start_msg :
		    errtext[0] != '\0' ? errtext : "unknown error");
		goto fail;
	}
	log_info("HTTPUP", "HTTP API listening on %s (%u threads); requests/s free %"
	    PRIu32 ", standard %" PRIu32 ", premium %" PRIu32 ", enterprise %" PRIu32
	    ", admin %" PRIu32 "; global max pending %" PRIu32, a->listen, a->threads,
	    a->rate_by_tier[TIER_FREE], a->rate_by_tier[TIER_STANDARD],
	    a->rate_by_tier[TIER_PREMIUM], a->rate_by_tier[TIER_ENTERPRISE], a->admin_rate,
	    a->global_max_pending);
	*out = a;
	return 0;
fail:
	api_close(a);
	return rc;
}

void
api_close(struct api *a)
{
	if (a == NULL)
		return;
	if (a->ctx != NULL)
		mg_stop(a->ctx);
	if (a->lib_inited)
		mg_exit_library();
	/* After mg_stop: every HTTP thread has freed its libcurl handle. */
	if (a->curl_inited)
		http_global_fini();
	if (a->types_mu_inited)
		pthread_mutex_destroy(&a->types_mu);
	strlist_fini(&a->types);
	ratelimit_free(a->rl);
	free(a->listen);
	free(a->web_dir);
	free(a);
}
