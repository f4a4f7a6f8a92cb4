/*
 * The HTTP client of the tools and of the API forwarder (web/api_forward.c).
 * Each client owns one libcurl easy handle and reuses it for every request,
 * so libcurl keeps the connection open between calls (the server runs with
 * keep-alive and TCP_NODELAY); a benchmark that opened a connection per
 * request would measure the TCP handshake instead of the server, and a
 * follower forwarding thousands of requests per second would spend its time
 * in handshakes.  Only the final response's headers are kept: a "100
 * Continue" or any other interim response resets them.
 *
 * The header lists of the common requests (the client's own headers, with
 * or without a JSON body) are built once; a request with extra headers or
 * another Content-Type gets a list of its own, freed when it ends.
 */
#include "net/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "src/err.h"

#ifndef NIYANTA_VERSION
#define NIYANTA_VERSION		"dev"
#endif

#define HTTP_KEY_MAX		4096
#define HTTP_BODY_MAX		(256u * 1024 * 1024)	/* refuse absurd replies */

struct http_client {
	CURL			*easy;
	char			*base;		/* without trailing '/' */
	struct curl_slist	*hdr_own;	/* auth + accept + "Expect:" */
	struct curl_slist	*hdr_bare;	/* "Expect:" alone */
	struct curl_slist	*hdr_plain;	/* hdr_own + no content type */
	struct curl_slist	*hdr_json;	/* hdr_own + JSON content type */
	long			 timeout_ms;
	long			 connect_timeout_ms;
	char			 cerr[CURL_ERROR_SIZE];	/* libcurl's detail text */
};

/* Where the callbacks put what libcurl hands them during one transfer. */
struct http_sink {
	struct http_response	*resp;
	size_t			 cap;		/* allocated bytes of resp->body */
	bool			 oom;		/* an allocation failed */
	bool			 toobig;	/* the body passed HTTP_BODY_MAX */
};

static int	http_header_list_copy(const struct curl_slist *, const char *,
		    struct curl_slist **);

int
http_global_init(struct errbuf *eb)
{
	CURLcode	 rc;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		return err_setf(eb, ERR_INTERNAL, "libcurl init: %s",
		    curl_easy_strerror(rc));
	return 0;
}

void
http_global_fini(void)
{
	curl_global_cleanup();
}

static size_t
http_sink_body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink	*s = arg;
	struct http_response	*r = s->resp;
	size_t			 n = size * nmemb, want;
	char			*nb;

	if (n == 0)
		return 0;
	if (r->len + n + 1 > HTTP_BODY_MAX) {
		s->toobig = true;
		return 0;	/* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > s->cap) {
		want = s->cap == 0 ? 1024 : s->cap;
		while (want < r->len + n + 1)
			want *= 2;
		if ((nb = realloc(r->body, want)) == NULL) {
			s->oom = true;
			return 0;
		}
		r->body = nb;
		s->cap = want;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
http_response_headers_clear(struct http_response *r)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

static size_t
http_sink_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink	*s = arg;
	struct http_response	*r = s->resp;
	size_t			 n = size * nmemb, nlen, vstart, vend;
	struct http_header	*nh;
	const char		*colon;

	/* A status line starts a new response (after "100 Continue"). */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		http_response_headers_clear(r);
		return n;
	}
	if (n == 0 || data[0] == ' ' || data[0] == '\t' ||
	    (colon = memchr(data, ':', n)) == NULL)
		return n;	/* blank line, obsolete folding, or junk */
	nlen = (size_t)(colon - data);
	vstart = nlen + 1;
	vend = n;
	while (vstart < vend && (data[vstart] == ' ' || data[vstart] == '\t'))
		vstart++;
	while (vend > vstart && (data[vend - 1] == '\r' || data[vend - 1] == '\n' ||
	    data[vend - 1] == ' ' || data[vend - 1] == '\t'))
		vend--;
	nh = realloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
	if (nh == NULL) {
		s->oom = true;
		return 0;
	}
	r->headers = nh;
	nh = &r->headers[r->nheaders];
	nh->name = strndup(data, nlen);
	nh->value = strndup(data + vstart, vend - vstart);
	if (nh->name == NULL || nh->value == NULL) {
		free(nh->name);
		free(nh->value);
		s->oom = true;
		return 0;
	}
	r->nheaders++;
	return n;
}

int
http_client_new(struct http_client **out, const char *base_url, const char *key,
    struct errbuf *eb)
{
	struct http_client	*c;
	struct curl_slist	*l;
	char			*auth = NULL;
	size_t			 blen;
	int			 rc = ERR_NOMEM;

	*out = NULL;
	if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 &&
	    strncmp(base_url, "https://", 8) != 0) ||
	    base_url[strcspn(base_url, " \t\r\n")] != '\0')
		return err_setf(eb, ERR_INVAL, "server URL must start with "
		    "http:// or https:// and have no blanks: \"%s\"",
		    base_url == NULL ? "" : base_url);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	c->timeout_ms = 30000;
	c->connect_timeout_ms = 5000;
	if ((c->base = strdup(base_url)) == NULL)
		goto fail;
	blen = strlen(c->base);
	while (blen > 0 && c->base[blen - 1] == '/')
		c->base[--blen] = '\0';

	if (key != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", key) < 0) {
			auth = NULL;
			goto fail;
		}
		if ((l = curl_slist_append(c->hdr_own, auth)) == NULL)
			goto fail;
		c->hdr_own = l;
	}
	/*
	 * "Expect:" stops libcurl waiting for "100 Continue" on large bodies;
	 * "Content-Type:" stops it labelling a body-less POST (a cancel) as a
	 * form, which a strict server would refuse with 415.
	 */
	if ((l = curl_slist_append(c->hdr_own, "Accept: application/json")) == NULL)
		goto fail;
	c->hdr_own = l;
	if ((l = curl_slist_append(c->hdr_own, "Expect:")) == NULL)
		goto fail;
	c->hdr_own = l;
	if ((c->hdr_bare = curl_slist_append(NULL, "Expect:")) == NULL ||
	    http_header_list_copy(c->hdr_own, "Content-Type:", &c->hdr_plain) != 0 ||
	    http_header_list_copy(c->hdr_own, "Content-Type: application/json",
	    &c->hdr_json) != 0)
		goto fail;

	rc = ERR_INTERNAL;
	if ((c->easy = curl_easy_init()) == NULL)
		goto fail;
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);	/* threads */
	curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->cerr);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "niyanta/" NIYANTA_VERSION);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, http_sink_body_cb);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, http_sink_header_cb);
	if (auth != NULL) {
		/* Wipe the copy we made; libcurl keeps its own in the list. */
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	*out = c;
	return 0;
fail:
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	http_client_free(c);
	return err_setf(eb, rc, rc == ERR_NOMEM ? "out of memory" :
	    "cannot create a libcurl handle");
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->hdr_own);
	curl_slist_free_all(c->hdr_bare);
	curl_slist_free_all(c->hdr_plain);
	curl_slist_free_all(c->hdr_json);
	free(c->base);
	free(c);
}

void
http_client_set_timeout_ms(struct http_client *c, long ms)
{
	c->timeout_ms = ms < 0 ? 0 : ms;
}

void
http_client_set_connect_timeout_ms(struct http_client *c, long ms)
{
	c->connect_timeout_ms = ms < 0 ? 0 : ms;
}

const char *
http_client_base_url(const struct http_client *c)
{
	return c->base;
}

/* Maps a libcurl failure of the transfer just made on easy to our codes. */
static int
http_client_curl_err(CURL *easy, CURLcode cc)
{
	long	 sent = -1;

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return ERR_UNAVAIL;
	case CURLE_OPERATION_TIMEDOUT:
		/*
		 * Out of time before any of the request went out (connecting):
		 * the server cannot have acted on it, which a caller retrying
		 * a write needs to know.
		 */
		if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
		    sent == 0)
			return ERR_UNAVAIL;
		return ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return ERR_NOMEM;
	case CURLE_URL_MALFORMAT:
		return ERR_INVAL;
	default:
		return ERR_IO;
	}
}

int
http_client_request(struct http_client *c, const char *method, const char *path,
    const char *body, struct http_response *resp, struct errbuf *eb)
{
	return http_client_request_hdrs(c, method, path, body, NULL, resp, eb);
}

int
http_client_request_hdrs(struct http_client *c, const char *method,
    const char *path, const char *body, const char *const *hdrs,
    struct http_response *resp, struct errbuf *eb)
{
	struct http_request	 req;

	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.content_type = body != NULL ? "application/json" : NULL;
	req.hdrs = hdrs;
	return http_client_send(c, &req, resp, eb);
}

/* True if line is "Name: value" (an RFC 9110 token, ':', optional blanks
 * and a non-empty value of printable characters and tabs) or "Name;"
 * (libcurl's way of sending Name with an empty value). */
static bool
http_header_line_valid(const char *line)
{
	static const char	 tchar[] = "!#$%&'*+-.^_`|~";
	const char		*p = line;

	for (; *p != '\0' && *p != ':' && *p != ';'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr(tchar, *p) != NULL))
			return false;
	if (p == line)
		return false;
	if (*p == ';')
		return p[1] == '\0';
	if (*p != ':')
		return false;
	for (p++; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

/* A new list: a copy of base followed by line.  0 or ERR_NOMEM. */
static int
http_header_list_copy(const struct curl_slist *base, const char *line,
    struct curl_slist **out)
{
	struct curl_slist	*l = NULL, *nl;
	const struct curl_slist	*b;

	*out = NULL;
	for (b = base; b != NULL; b = b->next) {
		if ((nl = curl_slist_append(l, b->data)) == NULL)
			goto oom;
		l = nl;
	}
	if (line != NULL) {
		if ((nl = curl_slist_append(l, line)) == NULL)
			goto oom;
		l = nl;
	}
	*out = l;
	return 0;
oom:
	curl_slist_free_all(l);
	return ERR_NOMEM;
}

/* The header list of req: base (the client's own or only "Expect:"), its
 * Content-Type line, then req->hdrs.  0, ERR_INVAL (a malformed line,
 * named in eb by its header name only: the value may be a secret) or
 * ERR_NOMEM. */
static int
http_header_list_build(const struct curl_slist *base, const struct http_request *req,
    struct curl_slist **out, struct errbuf *eb)
{
	struct curl_slist	*l, *nl;
	char			*ct = NULL;
	size_t			 i;

	*out = NULL;
	for (i = 0; req->hdrs != NULL && req->hdrs[i] != NULL; i++)
		if (!http_header_line_valid(req->hdrs[i]))
			return err_setf(eb, ERR_INVAL, "malformed request header "
			    "\"%.*s\": want \"Name: value\" in printable characters",
			    (int)strcspn(req->hdrs[i], ":;\r\n") > 64 ? 64 :
			    (int)strcspn(req->hdrs[i], ":;\r\n"), req->hdrs[i]);
	/* "Content-Type:" alone stops libcurl inventing a form type. */
	if (req->content_type != NULL) {
		if (asprintf(&ct, "Content-Type: %s", req->content_type) < 0)
			return err_setf(eb, ERR_NOMEM, "out of memory");
		if (!http_header_line_valid(ct)) {
			free(ct);
			return err_setf(eb, ERR_INVAL, "malformed Content-Type: "
			    "want printable characters");
		}
	}
	if (http_header_list_copy(base, ct != NULL ? ct : "Content-Type:", &l) != 0)
		goto oom;
	for (i = 0; req->hdrs != NULL && req->hdrs[i] != NULL; i++) {
		if ((nl = curl_slist_append(l, req->hdrs[i])) == NULL) {
			curl_slist_free_all(l);
			goto oom;
		}
		l = nl;
	}
	free(ct);
	*out = l;
	return 0;
oom:
	free(ct);
	return err_setf(eb, ERR_NOMEM, "out of memory");
}

/* Wipes and frees a list that may hold a caller's Authorization line. */
static void
http_header_list_free(struct curl_slist *l)
{
	struct curl_slist	*p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

int
http_client_send(struct http_client *c, const struct http_request *req,
    struct http_response *resp, struct errbuf *eb)
{
	struct http_sink	 sink;
	struct curl_slist	*hdrs, *extra = NULL;
	const char		*method = req->method;
	CURLcode		 cc;
	char			*url;
	double			 secs = 0;
	bool			 has_body, own;
	int			 rc;

	http_response_fini(resp);
	if (method == NULL || method[0] == '\0')
		return err_setf(eb, ERR_INVAL, "request has no method");
	if (req->path == NULL || req->path[0] != '/')
		return err_setf(eb, ERR_INVAL, "request path must start with '/'");
	own = !(req->flags & HTTP_REQ_NO_CLIENT_HEADERS);
	/* The common requests use the lists built once in http_client_new. */
	if (own && (req->hdrs == NULL || req->hdrs[0] == NULL) &&
	    req->content_type == NULL)
		hdrs = c->hdr_plain;
	else if (own && (req->hdrs == NULL || req->hdrs[0] == NULL) &&
	    strcmp(req->content_type, "application/json") == 0)
		hdrs = c->hdr_json;
	else {
		if ((rc = http_header_list_build(own ? c->hdr_own : c->hdr_bare,
		    req, &extra, eb)) != 0)
			return rc;
		hdrs = extra;
	}
	if (asprintf(&url, "%s%s", c->base, req->path) < 0) {
		http_header_list_free(extra);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}

	memset(&sink, 0, sizeof sink);
	sink.resp = resp;
	c->cerr[0] = '\0';
	has_body = req->body != NULL || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;

	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, &sink);
	/* The handle is reused: reset every method-related option each time. */
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	} else if (has_body) {
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body == NULL ? 0 : req->body_len));
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS,
		    req->body == NULL ? "" : (const char *)req->body);
		curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "POST") == 0 ? NULL : method);
	} else {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "GET") == 0 ? NULL : method);
	}
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c->easy);
	if (extra != NULL) {
		/* The handle must not keep pointing at a list about to be freed. */
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdr_plain);
		http_header_list_free(extra);
	}
	if (cc != CURLE_OK) {
		if (sink.toobig)
			rc = err_setf(eb, ERR_TOOBIG, "%s %s: reply larger than %u bytes",
			    method, url, HTTP_BODY_MAX);
		else if (sink.oom)
			rc = err_setf(eb, ERR_NOMEM, "out of memory reading the reply");
		else
			rc = err_setf(eb, http_client_curl_err(c->easy, cc), "%s %s: %s",
			    method, url, c->cerr[0] != '\0' ? c->cerr :
			    curl_easy_strerror(cc));
		http_response_fini(resp);
		free(url);
		return rc;
	}
	free(url);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &secs);
	resp->seconds = secs;
	if (resp->body == NULL && (resp->body = strdup("")) == NULL) {
		http_response_fini(resp);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	return 0;
}

const char *
http_response_header(const struct http_response *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void
http_response_fini(struct http_response *r)
{
	if (r == NULL)
		return;
	http_response_headers_clear(r);
	free(r->body);
	memset(r, 0, sizeof *r);
}

char *
http_url_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;

	if ((out = malloc(strlen(s) * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		}
	}
	*o = '\0';
	return out;
}

int
http_key_file_read(const char *path, char **out, struct errbuf *eb)
{
	char		 buf[HTTP_KEY_MAX + 2];
	size_t		 len = 0, start, end, i;
	ssize_t		 n;
	int		 fd, rc = 0, saved;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_setf(eb, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "key file %s: %s", path, strerror(errno));
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			rc = err_setf(eb, ERR_IO, "key file %s: %s", path,
			    strerror(saved));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (rc != 0)
		goto out;
	if (len > HTTP_KEY_MAX) {
		rc = err_setf(eb, ERR_INVAL, "key file %s: larger than %d bytes",
		    path, HTTP_KEY_MAX);
		goto out;
	}
	buf[len] = '\0';
	end = strcspn(buf, "\r\n");
	start = 0;
	while (start < end && (buf[start] == ' ' || buf[start] == '\t'))
		start++;
	while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
		end--;
	if (start == end) {
		rc = err_setf(eb, ERR_INVAL, "key file %s: no key on its first line",
		    path);
		goto out;
	}
	for (i = start; i < end; i++) {
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) {
			rc = err_setf(eb, ERR_INVAL, "key file %s: the key has a "
			    "blank or control character", path);
			goto out;
		}
	}
	if ((*out = strndup(buf + start, end - start)) == NULL)
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
out:
	/* The key is a secret: leave no copy on the stack. */
	explicit_bzero(buf, sizeof buf);
	return rc;
}
