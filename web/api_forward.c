/*
 * A follower's way to answer any request: it forwards the request to the
 * leader and relays the answer, so a client may talk to any node and still
 * reads its own writes (the leader serves reads too).  The leader
 * authenticates and rate-limits the caller itself: the caller's
 * Authorization is passed on, never replaced by this node's identity, and
 * nothing of the request is judged here beyond the body's size and type
 * (api_body_read, as the leader's handlers would).
 *
 * One hop at most: the forwarded request carries X-Niyanta-Forwarded-By
 * with this node's id, and a node that is not the ready leader answers
 * such a request with 503 instead of forwarding it again (api_not_ready in
 * api.c), so a node that has just lost leadership cannot bounce requests
 * around.
 *
 * Each civetweb thread keeps one HTTP client (one libcurl handle) for the
 * current leader URL in thread-local storage, so consecutive forwards from
 * a thread reuse one keep-alive connection instead of a handshake per
 * request; a new leader URL replaces it, and civetweb's exit_thread
 * callback frees it when the thread ends (mg_stop in api_close).  Nothing
 * is shared between threads.
 *
 * Nothing waits unboundedly: connecting gives up after
 * API_FORWARD_CONNECT_MS, the whole exchange after the coordinator's
 * propose timeout plus API_FORWARD_MARGIN_MS (the leader answers a write
 * within its propose timeout).  A request that could not be delivered is
 * answered 503 "unavailable" (not applied, retry); one that was delivered
 * but got no answer is, for a write, 503 "timeout": it may or may not have
 * been applied, and the client retries it with its Idempotency-Key.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "net/http_client.h"
#include "src/err.h"
#include "src/log.h"
#include "web/api_internal.h"
#include "web/json.h"

#define API_FWD_LINES_MAX	8	/* request header lines passed on */

/* The caller's request headers passed to the leader, besides Content-Type
 * (sent with the body).  These are what the handlers read (grep
 * mg_get_header in web/): the identity, the submission's idempotency, and
 * what the caller accepts.  X-Request-Id is sent as this node settled it.
 * Connection, Keep-Alive, Transfer-Encoding, Content-Length, Host and the
 * rest belong to the hop and are not passed. */
static const char *const api_fwd_passed[] = {
	"Authorization", "Idempotency-Key", "Accept",
};

/* The leader's response headers relayed to the caller, besides
 * Content-Type: those api.c and the handlers set with api_header_add.
 * What api_send writes for every answer (Date, Cache-Control,
 * X-Content-Type-Options, X-Request-Id, Connection, Content-Length) is
 * this node's own, and hop-by-hop headers are never relayed. */
static const char *const api_fwd_relayed[] = {
	"Retry-After", "Location", "X-RateLimit-Limit", "X-RateLimit-Remaining",
	"X-RateLimit-Reset", "Idempotent-Replayed", "WWW-Authenticate", "Allow",
};

#define API_FWD_N(a)	(sizeof (a) / sizeof (a)[0])

/* The passed headers, X-Request-Id and X-Niyanta-Forwarded-By. */
_Static_assert(API_FWD_N(api_fwd_passed) + 2 <= API_FWD_LINES_MAX,
    "API_FWD_LINES_MAX too small");

/* This thread's client for the current leader URL; NULL until the first
 * forward. */
static _Thread_local struct http_client	*api_fwd_client;

void
api_forward_thread_fini(void)
{
	http_client_free(api_fwd_client);
	api_fwd_client = NULL;
}

/* True if URLs a and b are the same but for trailing '/'. */
static bool
api_forward_url_same(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b);

	while (na > 0 && a[na - 1] == '/')
		na--;
	while (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

/* This thread's client for url, kept or new.  0, ERR_NOMEM, or ERR_UNAVAIL
 * (url cannot be used). */
static int
api_forward_client_get(const char *url, struct http_client **out,
    struct errbuf *eb)
{
	char	 why[ERRBUF_LEN];
	int	 rc;

	if (api_fwd_client != NULL &&
	    api_forward_url_same(http_client_base_url(api_fwd_client), url)) {
		*out = api_fwd_client;
		return 0;
	}
	/* The leader changed: the old connection is of no more use. */
	api_forward_thread_fini();
	if ((rc = http_client_new(&api_fwd_client, url, NULL, eb)) != 0) {
		if (rc == ERR_NOMEM)
			return rc;
		snprintf(why, sizeof why, "%s", eb != NULL ? eb->msg : "");
		return err_setf(eb, ERR_UNAVAIL, "the leader's URL cannot be used: %s",
		    why);
	}
	http_client_set_connect_timeout_ms(api_fwd_client, API_FORWARD_CONNECT_MS);
	*out = api_fwd_client;
	return 0;
}

/* Appends s to the URL being built at *o, percent-encoding every byte not
 * in keep (and every byte outside printable ASCII). */
static void
api_forward_encode(char *dst, size_t *o, const char *s, const char *keep)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || (*p > 0x20 && *p < 0x7f &&
		    strchr(keep, *p) != NULL)) {
			dst[(*o)++] = (char)*p;
		} else {
			dst[(*o)++] = '%';
			dst[(*o)++] = hex[*p >> 4];
			dst[(*o)++] = hex[*p & 0xf];
		}
	}
}

/*
 * The request target for the leader: the decoded path encoded again, so
 * that the leader decodes it to the very path this node routed, and the
 * raw query as received, with only what cannot stand in a URL encoded.
 * Caller frees; NULL on OOM.
 */
static char *
api_forward_target(const char *path, const char *query)
{
	char	*t;
	size_t	 o = 0, n = strlen(path) + (query != NULL ? strlen(query) : 0);

	if ((t = malloc(n * 3 + 2)) == NULL)
		return NULL;
	api_forward_encode(t, &o, path, "-._~/!$&'()*+,;=:@");
	if (query != NULL && query[0] != '\0') {
		t[o++] = '?';
		api_forward_encode(t, &o, query, "-._~!$&'()*+,;=:@/?%[]");
	}
	t[o] = '\0';
	return t;
}

/* Keeps in r only Content-Type and the api_fwd_relayed headers. */
static void
api_forward_headers_filter(struct http_response *r)
{
	size_t	 i, k, n = 0;
	bool	 keep;

	for (i = 0; i < r->nheaders; i++) {
		keep = strcasecmp(r->headers[i].name, "Content-Type") == 0;
		for (k = 0; !keep && k < API_FWD_N(api_fwd_relayed); k++)
			keep = strcasecmp(r->headers[i].name, api_fwd_relayed[k]) == 0;
		if (keep)
			r->headers[n++] = r->headers[i];
		else {
			free(r->headers[i].name);
			free(r->headers[i].value);
		}
	}
	r->nheaders = n;
}

/* Wipes and frees the header lines built for one request (one holds the
 * caller's key). */
static void
api_forward_lines_free(char **lines, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		explicit_bzero(lines[i], strlen(lines[i]));
		free(lines[i]);
	}
}

int
api_forward_send(const char *leader_url, const struct api_fwd_req *fr,
    unsigned timeout_ms, struct http_response *resp, struct errbuf *eb)
{
	struct http_request	 req;
	struct http_client	*c = NULL;
	const char		*hdrs[API_FWD_LINES_MAX + 1], *v, *ct = NULL;
	char			*lines[API_FWD_LINES_MAX], *target = NULL;
	size_t			 n = 0, i;
	int			 rc, m;

	http_response_fini(resp);
	if ((rc = api_forward_client_get(leader_url, &c, eb)) != 0)
		return rc;
	http_client_set_timeout_ms(c, (long)timeout_ms);
	if ((target = api_forward_target(fr->path, fr->query)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");

	for (i = 0; fr->header != NULL && i < API_FWD_N(api_fwd_passed); i++) {
		if ((v = fr->header(fr->header_arg, api_fwd_passed[i])) == NULL)
			continue;
		/* "Name;" is libcurl's spelling of an empty value. */
		m = v[0] == '\0' ? asprintf(&lines[n], "%s;", api_fwd_passed[i]) :
		    asprintf(&lines[n], "%s: %s", api_fwd_passed[i], v);
		if (m < 0)
			goto oom;
		n++;
	}
	if (fr->header != NULL && (ct = fr->header(fr->header_arg,
	    "Content-Type")) != NULL && ct[0] == '\0')
		ct = NULL;
	if (fr->request_id != NULL && fr->request_id[0] != '\0') {
		if (asprintf(&lines[n], "X-Request-Id: %s", fr->request_id) < 0)
			goto oom;
		n++;
	}
	if (asprintf(&lines[n], "%s: %" PRIu64, API_FORWARDED_BY, fr->node_id) < 0)
		goto oom;
	n++;
	for (i = 0; i < n; i++)
		hdrs[i] = lines[i];
	hdrs[n] = NULL;

	memset(&req, 0, sizeof req);
	req.method = fr->method;
	req.path = target;
	req.body = fr->body;
	req.body_len = fr->body_len;
	req.content_type = ct;
	req.hdrs = hdrs;
	req.flags = HTTP_REQ_NO_CLIENT_HEADERS;
	rc = http_client_send(c, &req, resp, eb);
	api_forward_lines_free(lines, n);
	free(target);
	if (rc == 0)
		api_forward_headers_filter(resp);
	return rc;
oom:
	api_forward_lines_free(lines, n);
	free(target);
	return err_setf(eb, ERR_NOMEM, "out of memory");
}

static const char *
api_forward_conn_header(void *arg, const char *name)
{
	return mg_get_header(arg, name);
}

/* Sends the leader's answer on to the caller. */
static void
api_forward_relay(struct api_req *r, const struct http_response *resp)
{
	size_t	 i, k;

	for (i = 0; i < resp->nheaders; i++)
		for (k = 0; k < API_FWD_N(api_fwd_relayed); k++)
			if (strcasecmp(resp->headers[i].name, api_fwd_relayed[k]) == 0)
				api_header_add(r, api_fwd_relayed[k], "%s",
				    resp->headers[i].value);
	api_reply_raw(r, (int)resp->status, http_response_header(resp, "Content-Type"),
	    resp->body, resp->len);
}

/* Answers r when forwarding failed with rc. */
static void
api_forward_fail(struct api_req *r, const char *url, bool is_write, int rc,
    const struct errbuf *eb)
{
	json_t	*details = json_pack("[{s:o}]", "leader_url", json_text(url));

	switch (rc) {
	case ERR_NOMEM:
		api_reply_error(r, rc, details, "out of memory forwarding the "
		    "request to the leader at %s", url);
		break;
	case ERR_INVAL:
		/* A header of the caller's that cannot be passed on. */
		api_reply_error(r, rc, details, "cannot forward the request to the "
		    "leader: %s", eb->msg);
		break;
	case ERR_UNAVAIL:
		api_reply_error(r, ERR_UNAVAIL, details, "this node is not the "
		    "leader and the leader at %s could not be reached, so the "
		    "request was not applied; retry shortly (%s)", url, eb->msg);
		break;
	default:
		if (is_write)
			api_reply_error(r, ERR_TIMEOUT, details, "the request was "
			    "forwarded to the leader at %s but no answer came back: "
			    "it may or may not have been applied; retry it with the "
			    "same Idempotency-Key (%s)", url, eb->msg);
		else
			api_reply_error(r, ERR_UNAVAIL, details, "the leader at %s "
			    "did not answer; retry shortly (%s)", url, eb->msg);
		break;
	}
}

void
api_forward(struct api_req *r, const char *leader_url, uint64_t node_id)
{
	struct api_fwd_req	 fr;
	struct http_response	 resp;
	struct errbuf		 eb;
	const char		*te;
	char			*body = NULL;
	size_t			 len = 0;
	long long		 cl = r->ri->content_length;
	bool			 is_write;
	int			 rc;

	is_write = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
	/*
	 * A body is read, bounded and checked here, as the leader's handler
	 * would: one over max_body_bytes is refused before it crosses the
	 * network.  Without a length or chunked coding a request has no body
	 * (RFC 9112, 6.3).
	 */
	te = mg_get_header(r->conn, "Transfer-Encoding");
	if ((cl > 0 || (te != NULL && strcasestr(te, "chunked") != NULL)) &&
	    api_body_read(r, &body, &len) != 0)
		return;

	memset(&fr, 0, sizeof fr);
	fr.method = r->method;
	fr.path = r->path;
	fr.query = r->ri->query_string;
	fr.body = body;
	fr.body_len = len;
	fr.header = api_forward_conn_header;
	fr.header_arg = r->conn;
	fr.request_id = r->request_id;
	fr.node_id = node_id;
	memset(&resp, 0, sizeof resp);
	errbuf_clear(&eb);
	rc = api_forward_send(leader_url, &fr, r->api->forward_timeout_ms, &resp, &eb);
	free(body);
	if (rc == 0 && (resp.status < 100 || resp.status > 599)) {
		rc = err_setf(&eb, ERR_IO, "the leader answered with status %ld",
		    resp.status);
		http_response_fini(&resp);
	}
	if (rc == 0) {
		log_debug("HTTPFWD", "%s forwarded to %s: %ld in %.0fms rid=%s",
		    r->method, leader_url, resp.status, resp.seconds * 1000,
		    r->request_id);
		api_forward_relay(r, &resp);
	} else {
		log_debug("HTTPFWD", "%s to leader %s failed: %s: %s rid=%s",
		    r->method, leader_url, err_code_name(rc), eb.msg, r->request_id);
		api_forward_fail(r, leader_url, is_write, rc, &eb);
	}
	http_response_fini(&resp);
}
