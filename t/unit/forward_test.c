/*
 * Unit tests for forwarding API requests to the leader (web/api_forward.c).
 * A civetweb server in this process plays the leader: it records what it
 * receives and answers with the status, headers and body the test chose.
 * First api_forward_send, the seam without civetweb on the caller's side:
 * method, path and query, body and the caller's headers arrive intact with
 * X-Niyanta-Forwarded-By; only the headers a client may see come back; the
 * connection is kept between requests; an unreachable, a silent and a
 * stalled leader end in bounded time with the right error.  Then
 * api_forward itself, behind a second in-process civetweb server playing
 * the follower, as a client sees it.
 *
 * Every exchange is synchronous (the leader records before it answers), so
 * nothing waits on a timer but the timeouts under test.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <civetweb.h>
#include <jansson.h>

#include "net/http_client.h"
#include "src/clock.h"
#include "src/err.h"
#include "t/tap.h"
#include "web/api_internal.h"

#define NODE_ID		7
#define SEEN_HDRS	64

/* What the leader received last (guarded by mu). */
static struct {
	pthread_mutex_t	 mu;
	int		 count;			/* requests received */
	char		 method[16];
	char		 uri[256];		/* decoded, as civetweb routes it */
	char		 query[256];
	bool		 has_query;
	char		 hname[SEEN_HDRS][64];
	char		 hvalue[SEEN_HDRS][256];
	int		 nhdrs;
	char		 body[4096];
	size_t		 body_len;
	int		 remote_port;		/* the connection it came on */
} seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* How the leader answers (set before each request). */
static struct {
	int		 status;
	const char	*headers;		/* "Name: value\r\n" lines */
	const char	*body;
	bool		 chunked;
} answer;

/* Where the follower forwards to (guarded by seen.mu). */
static char	 follower_target[128];
static struct api follower_api;

static const char *
seen_header(const char *name)
{
	int	 i;

	for (i = 0; i < seen.nhdrs; i++)
		if (strcasecmp(seen.hname[i], name) == 0)
			return seen.hvalue[i];
	return NULL;
}

static int
leader_handle(struct mg_connection *conn)
{
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	size_t				 blen;
	int				 i, n;

	pthread_mutex_lock(&seen.mu);
	seen.count++;
	snprintf(seen.method, sizeof seen.method, "%s", ri->request_method);
	snprintf(seen.uri, sizeof seen.uri, "%s", ri->local_uri);
	seen.has_query = ri->query_string != NULL;
	snprintf(seen.query, sizeof seen.query, "%s",
	    ri->query_string != NULL ? ri->query_string : "");
	seen.nhdrs = 0;
	for (i = 0; i < ri->num_headers && i < SEEN_HDRS; i++) {
		snprintf(seen.hname[i], sizeof seen.hname[i], "%s",
		    ri->http_headers[i].name);
		snprintf(seen.hvalue[i], sizeof seen.hvalue[i], "%s",
		    ri->http_headers[i].value);
		seen.nhdrs++;
	}
	seen.body_len = 0;
	while (seen.body_len < sizeof seen.body &&
	    (n = mg_read(conn, seen.body + seen.body_len,
	    sizeof seen.body - seen.body_len)) > 0)
		seen.body_len += (size_t)n;
	seen.remote_port = ri->remote_port;
	pthread_mutex_unlock(&seen.mu);

	blen = strlen(answer.body);
	if (answer.chunked)
		mg_printf(conn, "HTTP/1.1 %d X\r\n%sTransfer-Encoding: chunked\r\n\r\n"
		    "%zx\r\n%s\r\n0\r\n\r\n", answer.status, answer.headers, blen,
		    answer.body);
	else if (answer.status == 204)
		mg_printf(conn, "HTTP/1.1 204 No Content\r\n%s\r\n", answer.headers);
	else
		mg_printf(conn, "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n%s",
		    answer.status, answer.headers, blen, answer.body);
	return answer.status;
}

/* The follower: what api_handle does for a node that is not the leader. */
static int
follower_handle(struct mg_connection *conn)
{
	struct api_req	 r;
	const char	*rid;
	char		 target[sizeof follower_target];

	memset(&r, 0, sizeof r);
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.api = &follower_api;
	r.method = r.ri->request_method;
	r.path = r.ri->local_uri;
	rid = mg_get_header(conn, "X-Request-Id");
	snprintf(r.request_id, sizeof r.request_id, "%s", rid != NULL ? rid :
	    "rid-follower");
	pthread_mutex_lock(&seen.mu);
	memcpy(target, follower_target, sizeof target);
	pthread_mutex_unlock(&seen.mu);
	api_forward(&r, target, NODE_ID);
	return r.status > 0 ? r.status : 500;
}

static int	 follower_threads_ended;

static void
follower_exit_thread(const struct mg_context *ctx, int type, void *p)
{
	(void)ctx;
	(void)type;
	(void)p;
	api_forward_thread_fini();
	__atomic_add_fetch(&follower_threads_ended, 1, __ATOMIC_SEQ_CST);
}

/* Starts a civetweb server on a free loopback port; its URL into url. */
static struct mg_context *
server_start(int (*handler)(struct mg_connection *), bool exit_cb, char *url,
    size_t len)
{
	struct mg_callbacks	 cb;
	struct mg_server_port	 port;
	struct mg_context	*ctx;
	const char		*opts[] = { "listening_ports", "127.0.0.1:0",
	    "num_threads", "4", "enable_keep_alive", "yes", "tcp_nodelay", "1",
	    "decode_url", "yes", NULL };

	memset(&cb, 0, sizeof cb);
	cb.begin_request = handler;
	if (exit_cb)
		cb.exit_thread = follower_exit_thread;
	if ((ctx = mg_start(&cb, NULL, opts)) == NULL)
		return NULL;
	if (mg_get_server_ports(ctx, 1, &port) != 1) {
		mg_stop(ctx);
		return NULL;
	}
	snprintf(url, len, "http://127.0.0.1:%d", port.port);
	return ctx;
}

/* A loopback TCP socket bound to a free port, listening with backlog
 * (or not listening if backlog < 0); its URL into url. */
static int
socket_bound(int backlog, char *url, size_t len)
{
	struct sockaddr_in	 a;
	socklen_t		 al = sizeof a;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
	    (backlog >= 0 && listen(fd, backlog) != 0)) {
		close(fd);
		return -1;
	}
	snprintf(url, len, "http://127.0.0.1:%d", ntohs(a.sin_port));
	return fd;
}

/* The caller's headers, as name/value pairs ending with NULL. */
static const char *
table_header(void *arg, const char *name)
{
	const char *const	*p;

	for (p = arg; p[0] != NULL; p += 2)
		if (strcasecmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static void
answer_set(int status, const char *headers, const char *body, bool chunked)
{
	answer.status = status;
	answer.headers = headers;
	answer.body = body;
	answer.chunked = chunked;
}

/* The "error.code" of a JSON error body, into buf. */
static const char *
error_code(const struct http_response *resp, char *buf, size_t len)
{
	json_t	*doc = json_loadb(resp->body, resp->len, 0, NULL);
	const char *code = json_string_value(json_object_get(json_object_get(doc,
	    "error"), "code"));

	snprintf(buf, len, "%s", code != NULL ? code : "(none)");
	json_decref(doc);
	return buf;
}

static void
test_send(const char *leader)
{
	static const char	 body[] = "{\"a\":1}\0tail";
	static const char *const hdrs[] = {
		"Authorization", "Bearer sekrit-key",
		"Idempotency-Key", "idem-1",
		"Accept", "application/json",
		"Content-Type", "application/json; charset=utf-8",
		"Connection", "close",
		"X-Evil", "1",
		"Cookie", "c=1",
		"Transfer-Encoding", "chunked",
		NULL,
	};
	static const char *const hdrs_empty_key[] = {
		"Authorization", "Bearer sekrit-key", "Idempotency-Key", "", NULL,
	};
	static const char *const hdrs_bad[] = {
		"Authorization", "Bearer sek\x01rit-key", NULL,
	};
	struct api_fwd_req	 fr;
	struct http_response	 resp;
	struct errbuf		 eb;
	const char		*v;
	int			 rc, port1;

	memset(&resp, 0, sizeof resp);
	memset(&fr, 0, sizeof fr);
	fr.method = "POST";
	fr.path = "/v1/workloads/a b/\xc3\xa9%";
	fr.query = "limit=5&cursor=a%2Fb&q=%C3%A9";
	fr.body = body;
	fr.body_len = sizeof body - 1;
	fr.header = table_header;
	fr.header_arg = (void *)hdrs;
	fr.request_id = "rid-1";
	fr.node_id = NODE_ID;
	answer_set(201, "Location: /v1/workloads/abc\r\nRetry-After: 7\r\n"
	    "X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 99\r\n"
	    "X-RateLimit-Reset: 1\r\nIdempotent-Replayed: true\r\n"
	    "Content-Type: application/json\r\nConnection: keep-alive\r\n"
	    "Keep-Alive: timeout=5\r\nX-Leader-Private: 1\r\n"
	    "X-Request-Id: rid-leader\r\n", "{\"id\":\"abc\"}", true);
	rc = api_forward_send(leader, &fr, 5000, &resp, &eb);
	if (!is_int(rc, 0, "POST forwarded"))
		tap_diag("%s", eb.msg);

	pthread_mutex_lock(&seen.mu);
	is_str(seen.method, "POST", "the leader got the method");
	is_str(seen.uri, "/v1/workloads/a b/\xc3\xa9%", "... the path, decoded "
	    "there as it was here");
	is_str(seen.query, "limit=5&cursor=a%2Fb&q=%C3%A9", "... the raw query");
	ok(seen.body_len == sizeof body - 1 && memcmp(seen.body, body,
	    sizeof body - 1) == 0, "... the body, byte for byte (%zu bytes)",
	    seen.body_len);
	is_str(seen_header("Authorization"), "Bearer sekrit-key",
	    "... the caller's Authorization");
	is_str(seen_header("Idempotency-Key"), "idem-1", "... Idempotency-Key");
	is_str(seen_header("Accept"), "application/json", "... Accept");
	is_str(seen_header("Content-Type"), "application/json; charset=utf-8",
	    "... Content-Type");
	is_str(seen_header("X-Request-Id"), "rid-1", "... the request id");
	is_str(seen_header(API_FORWARDED_BY), "7", "... X-Niyanta-Forwarded-By "
	    "with this node's id");
	ok(seen_header("X-Evil") == NULL && seen_header("Cookie") == NULL,
	    "... and no other header of the caller's");
	v = seen_header("Connection");
	ok(v == NULL || strcasecmp(v, "close") != 0, "... nor its hop-by-hop "
	    "Connection (%s)", v != NULL ? v : "absent");
	v = seen_header("Transfer-Encoding");
	ok(v == NULL, "... nor its Transfer-Encoding");
	port1 = seen.remote_port;
	pthread_mutex_unlock(&seen.mu);

	is_int(resp.status, 201, "the leader's status comes back");
	ok(resp.len == 12 && strcmp(resp.body, "{\"id\":\"abc\"}") == 0,
	    "... its body (sent chunked)");
	is_str(http_response_header(&resp, "Location"), "/v1/workloads/abc",
	    "... Location");
	is_str(http_response_header(&resp, "Retry-After"), "7", "... Retry-After");
	is_str(http_response_header(&resp, "X-RateLimit-Remaining"), "99",
	    "... X-RateLimit-Remaining");
	is_str(http_response_header(&resp, "Idempotent-Replayed"), "true",
	    "... Idempotent-Replayed");
	is_str(http_response_header(&resp, "Content-Type"), "application/json",
	    "... Content-Type");
	ok(http_response_header(&resp, "Connection") == NULL &&
	    http_response_header(&resp, "Keep-Alive") == NULL &&
	    http_response_header(&resp, "Transfer-Encoding") == NULL &&
	    http_response_header(&resp, "Content-Length") == NULL,
	    "hop-by-hop headers are not relayed");
	ok(http_response_header(&resp, "X-Leader-Private") == NULL &&
	    http_response_header(&resp, "X-Request-Id") == NULL,
	    "nor headers a follower sets itself or does not know");
	is_int(resp.nheaders, 7, "exactly the 7 relayable headers are left");

	/* A read with an empty header value, on the kept connection. */
	memset(&fr, 0, sizeof fr);
	fr.method = "GET";
	fr.path = "/v1/workloads";
	fr.header = table_header;
	fr.header_arg = (void *)hdrs_empty_key;
	fr.node_id = NODE_ID;
	answer_set(200, "Content-Type: application/json\r\n", "[]", false);
	rc = api_forward_send(leader, &fr, 5000, &resp, &eb);
	if (!is_int(rc, 0, "GET forwarded"))
		tap_diag("%s", eb.msg);
	pthread_mutex_lock(&seen.mu);
	is_str(seen.method, "GET", "the leader got a GET");
	ok(!seen.has_query && seen.body_len == 0, "... without query or body");
	is_str(seen_header("Idempotency-Key"), "", "... an empty header as empty");
	ok(seen_header("X-Request-Id") == NULL, "... no request id when none");
	is_int(seen.remote_port, port1, "... on the same connection: the thread's "
	    "handle is kept");
	pthread_mutex_unlock(&seen.mu);
	ok(resp.status == 200 && strcmp(resp.body, "[]") == 0, "... and its answer "
	    "came back");

	memset(&fr, 0, sizeof fr);
	fr.method = "DELETE";
	fr.path = "/v1/customers/c1/keys/k1";
	fr.node_id = NODE_ID;
	answer_set(204, "", "", false);
	rc = api_forward_send(leader, &fr, 5000, &resp, &eb);
	pthread_mutex_lock(&seen.mu);
	ok(rc == 0 && strcmp(seen.method, "DELETE") == 0 &&
	    strcmp(seen.uri, "/v1/customers/c1/keys/k1") == 0,
	    "a DELETE is forwarded as a DELETE");
	pthread_mutex_unlock(&seen.mu);
	ok(resp.status == 204 && resp.len == 0, "... and its 204 comes back");

	/* A caller's header that cannot be sent on: refused, key not echoed. */
	fr.header = table_header;
	fr.header_arg = (void *)hdrs_bad;
	rc = api_forward_send(leader, &fr, 5000, &resp, &eb);
	is_int(rc, ERR_INVAL, "a header with a control character is refused");
	ok(strstr(eb.msg, "rit-key") == NULL && strstr(eb.msg, "Authorization") !=
	    NULL, "... the error names the header, not its value: %s", eb.msg);
	http_response_fini(&resp);
}

static void
test_send_failures(const char *leader)
{
	struct api_fwd_req	 fr;
	struct http_response	 resp;
	struct errbuf		 eb;
	char			 url[64], furl[64];
	uint64_t		 t0, ms;
	int			 fd, fill, rc;
	struct sockaddr_in	 a;

	memset(&resp, 0, sizeof resp);
	memset(&fr, 0, sizeof fr);
	fr.method = "POST";
	fr.path = "/v1/workloads";
	fr.body = "{}";
	fr.body_len = 2;
	fr.node_id = NODE_ID;

	/* A port nobody listens on (kept bound, so nobody else takes it). */
	if ((fd = socket_bound(-1, url, sizeof url)) == -1)
		tap_diag("cannot bind a socket");
	t0 = clock_mono_ms();
	rc = api_forward_send(url, &fr, 20000, &resp, &eb);
	ms = clock_mono_ms() - t0;
	is_int(rc, ERR_UNAVAIL, "an unreachable leader: ERR_UNAVAIL (not sent)");
	ok(ms < 2000, "... at once (%llu ms)", (unsigned long long)ms);
	ok(strstr(eb.msg, url) != NULL, "... saying where: %s", eb.msg);
	close(fd);

	/*
	 * A leader whose accept queue is full: its kernel drops our SYN, as
	 * for a host that is down.  Connecting is given up after
	 * API_FORWARD_CONNECT_MS though the whole request may take 20 s.
	 */
	fd = socket_bound(0, furl, sizeof furl);
	fill = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)atoi(strrchr(furl, ':') + 1));
	if (fd == -1 || fill == -1 || connect(fill, (struct sockaddr *)&a,
	    sizeof a) != 0)
		tap_diag("cannot fill an accept queue");
	t0 = clock_mono_ms();
	rc = api_forward_send(furl, &fr, 20000, &resp, &eb);
	ms = clock_mono_ms() - t0;
	is_int(rc, ERR_UNAVAIL, "a leader that never completes the handshake: "
	    "ERR_UNAVAIL (not sent)");
	ok(ms >= API_FORWARD_CONNECT_MS - 100 && ms < 5000, "... after the "
	    "connect timeout (%llu ms)", (unsigned long long)ms);
	close(fill);
	close(fd);

	/* A leader that accepts (its kernel does) and never answers. */
	fd = socket_bound(16, url, sizeof url);
	t0 = clock_mono_ms();
	rc = api_forward_send(url, &fr, 500, &resp, &eb);
	ms = clock_mono_ms() - t0;
	is_int(rc, ERR_TIMEOUT, "a stalled leader: ERR_TIMEOUT (sent, fate unknown)");
	ok(ms >= 450 && ms < 5000, "... bounded by the timeout (%llu ms)",
	    (unsigned long long)ms);
	close(fd);

	/* Back to the real leader: the thread's handle follows the URL. */
	answer_set(200, "", "ok", false);
	rc = api_forward_send(leader, &fr, 5000, &resp, &eb);
	ok(rc == 0 && resp.status == 200, "the leader again after failures");
	http_response_fini(&resp);
}

/* One request to the follower, as a client. */
static int
client_do(struct http_client *c, const char *method, const char *path,
    const char *body, size_t len, struct http_response *resp, struct errbuf *eb)
{
	static const char *const hdrs[] = { "Authorization: Bearer k-e2e",
	    "X-Request-Id: rid-e2e", "Idempotency-Key: idem-e2e", NULL };
	struct http_request	 req;

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	req.body = body;
	req.body_len = len;
	req.content_type = body != NULL ? "application/json" : NULL;
	req.hdrs = hdrs;
	req.flags = HTTP_REQ_NO_CLIENT_HEADERS;
	return http_client_send(c, &req, resp, eb);
}

static void
test_follower(const char *leader)
{
	struct mg_context	*fctx;
	struct http_client	*c = NULL;
	struct http_response	 resp;
	struct errbuf		 eb;
	char			 furl[64], url[64], code[64], big[2000];
	uint64_t		 t0, ms;
	int			 rc, port1, count, fd;

	memset(&resp, 0, sizeof resp);
	follower_api.max_body = 1024;
	follower_api.forward_timeout_ms = 5000;
	pthread_mutex_lock(&seen.mu);
	snprintf(follower_target, sizeof follower_target, "%s", leader);
	pthread_mutex_unlock(&seen.mu);
	if ((fctx = server_start(follower_handle, true, furl, sizeof furl)) == NULL ||
	    http_client_new(&c, furl, NULL, &eb) != 0) {
		ok(0, "cannot start the follower");
		mg_stop(fctx);
		return;
	}

	answer_set(201, "Location: /v1/workloads/w1\r\nX-RateLimit-Limit: 100\r\n"
	    "Content-Type: application/json\r\nKeep-Alive: timeout=5\r\n"
	    "X-Leader-Private: 1\r\n", "{\"id\":\"w1\"}", true);
	rc = client_do(c, "POST", "/v1/workloads?dry=1", "{\"type\":\"sleep\"}", 16,
	    &resp, &eb);
	if (!is_int(rc, 0, "through a follower: answered"))
		tap_diag("%s", eb.msg);
	pthread_mutex_lock(&seen.mu);
	ok(strcmp(seen.method, "POST") == 0 && strcmp(seen.uri, "/v1/workloads") == 0 &&
	    strcmp(seen.query, "dry=1") == 0, "the leader got POST /v1/workloads?dry=1");
	ok(seen.body_len == 16 && memcmp(seen.body, "{\"type\":\"sleep\"}", 16) == 0,
	    "... the body the follower read");
	is_str(seen_header("Authorization"), "Bearer k-e2e", "... the caller's key");
	is_str(seen_header("Idempotency-Key"), "idem-e2e", "... its Idempotency-Key");
	is_str(seen_header("X-Request-Id"), "rid-e2e", "... its request id");
	is_str(seen_header(API_FORWARDED_BY), "7", "... the follower's id");
	port1 = seen.remote_port;
	pthread_mutex_unlock(&seen.mu);
	is_int(resp.status, 201, "the client gets the leader's status");
	is_str(resp.body, "{\"id\":\"w1\"}", "... its body");
	is_str(http_response_header(&resp, "Location"), "/v1/workloads/w1",
	    "... Location");
	is_str(http_response_header(&resp, "X-RateLimit-Limit"), "100",
	    "... X-RateLimit-Limit");
	is_str(http_response_header(&resp, "Content-Type"), "application/json",
	    "... Content-Type");
	is_str(http_response_header(&resp, "X-Request-Id"), "rid-e2e",
	    "... its own request id");
	ok(http_response_header(&resp, "Keep-Alive") == NULL &&
	    http_response_header(&resp, "Transfer-Encoding") == NULL &&
	    http_response_header(&resp, "X-Leader-Private") == NULL,
	    "... and none of the leader's hop-by-hop or private headers");

	answer_set(200, "Content-Type: application/json\r\n", "{}", false);
	rc = client_do(c, "GET", "/v1/workloads/w1", NULL, 0, &resp, &eb);
	pthread_mutex_lock(&seen.mu);
	ok(rc == 0 && resp.status == 200 && strcmp(seen.method, "GET") == 0,
	    "a read through the follower");
	is_int(seen.remote_port, port1, "... on the follower thread's kept "
	    "connection to the leader");
	count = seen.count;
	pthread_mutex_unlock(&seen.mu);

	memset(big, 'x', sizeof big);
	rc = client_do(c, "POST", "/v1/workloads", big, sizeof big, &resp, &eb);
	pthread_mutex_lock(&seen.mu);
	ok(rc == 0 && resp.status == 413 && seen.count == count,
	    "a body over max_body_bytes: 413 from the follower, never sent on");
	pthread_mutex_unlock(&seen.mu);

	fd = socket_bound(-1, url, sizeof url);
	pthread_mutex_lock(&seen.mu);
	snprintf(follower_target, sizeof follower_target, "%s", url);
	pthread_mutex_unlock(&seen.mu);
	rc = client_do(c, "POST", "/v1/workloads", "{}", 2, &resp, &eb);
	ok(rc == 0 && resp.status == 503, "an unreachable leader: 503");
	ok(http_response_header(&resp, "Retry-After") != NULL, "... with Retry-After");
	is_str(error_code(&resp, code, sizeof code), "unavailable", "... unavailable");
	ok(resp.body != NULL && strstr(resp.body, url) != NULL &&
	    strstr(resp.body, "not applied") != NULL, "... naming the leader, not "
	    "applied: %s", resp.body != NULL ? resp.body : "");
	close(fd);

	fd = socket_bound(16, url, sizeof url);
	follower_api.forward_timeout_ms = 500;
	pthread_mutex_lock(&seen.mu);
	snprintf(follower_target, sizeof follower_target, "%s", url);
	pthread_mutex_unlock(&seen.mu);
	t0 = clock_mono_ms();
	rc = client_do(c, "POST", "/v1/workloads", "{}", 2, &resp, &eb);
	ms = clock_mono_ms() - t0;
	ok(rc == 0 && resp.status == 503 && ms < 5000, "a stalled leader: 503 "
	    "in bounded time (%llu ms)", (unsigned long long)ms);
	ok(http_response_header(&resp, "Retry-After") != NULL, "... with Retry-After");
	is_str(error_code(&resp, code, sizeof code), "timeout", "... a write's fate "
	    "is unknown: timeout");
	ok(resp.body != NULL && strstr(resp.body, "may or may not have been applied") !=
	    NULL && strstr(resp.body, "Idempotency-Key") != NULL, "... and it says so");
	rc = client_do(c, "GET", "/v1/workloads", NULL, 0, &resp, &eb);
	ok(rc == 0 && resp.status == 503, "a stalled leader, a read: 503");
	is_str(error_code(&resp, code, sizeof code), "unavailable", "... unavailable");
	close(fd);

	http_client_free(c);
	http_response_fini(&resp);
	mg_stop(fctx);
	ok(__atomic_load_n(&follower_threads_ended, __ATOMIC_SEQ_CST) > 0,
	    "the follower's threads freed their handles as they ended");
}

int
main(void)
{
	struct mg_context	*lctx;
	struct errbuf		 eb;
	char			 leader[64];

	if (http_global_init(&eb) != 0) {
		printf("Bail out! %s\n", eb.msg);
		return 1;
	}
	mg_init_library(0);
	if ((lctx = server_start(leader_handle, false, leader, sizeof leader)) == NULL) {
		printf("Bail out! cannot start the leader server\n");
		return 1;
	}
	test_send(leader);
	test_send_failures(leader);
	test_follower(leader);
	mg_stop(lctx);
	api_forward_thread_fini();
	mg_exit_library();
	http_global_fini();
	return tap_done();
}
