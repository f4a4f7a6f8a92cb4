/*
 * A small HTTP client on libcurl, for the command-line tools and for a
 * follower coordinator forwarding API requests to the leader
 * (web/api_forward.c).  One client holds a base URL, an optional bearer key
 * and one easy handle, so calls made one after another reuse the same
 * keep-alive connection.  A client is not thread-safe: give each thread its
 * own (niyanta-bench does; the forwarder keeps one per HTTP thread).
 */
#ifndef NET_HTTP_CLIENT_H
#define NET_HTTP_CLIENT_H

#include <stddef.h>

struct errbuf;
struct http_client;

struct http_header {
	char	*name;			/* owned, as the server spelled it */
	char	*value;			/* owned, surrounding blanks removed */
};

/* One response.  A zeroed struct is empty; http_response_fini frees it and
 * leaves it zeroed, so a response can be reused for the next request. */
struct http_response {
	long			 status;	/* HTTP status code */
	char			*body;		/* owned, NUL-terminated (may hold NULs) */
	size_t			 len;		/* body length in bytes */
	struct http_header	*headers;	/* owned; the final response's only */
	size_t			 nheaders;
	double			 seconds;	/* total time of the transfer */
};

/* One request in full, for http_client_send. */
struct http_request {
	const char		*method;	/* "GET", "POST", ... */
	const char		*path;		/* starts with '/', URL-encoded; may
						 * end with "?query" */
	const void		*body;		/* body_len bytes; NULL: none */
	size_t			 body_len;
	const char		*content_type;	/* of the body; NULL: no Content-Type */
	const char *const	*hdrs;		/* NULL-terminated "Name: value"
						 * lines, or NULL */
	unsigned		 flags;		/* HTTP_REQ_* */
};

/* Send none of the client's own headers (its Authorization and Accept):
 * hdrs carries everything, e.g. a caller's own Authorization passed on. */
#define HTTP_REQ_NO_CLIENT_HEADERS	0x1

/* Once per process.  libcurl >= 7.84 (Debian 12 has 7.88) makes this
 * thread-safe and reference-counted: pair every successful call with one
 * http_global_fini.  0 or ERR_INTERNAL. */
int		 http_global_init(struct errbuf *eb);
void		 http_global_fini(void);

/* Creates a client for base_url ("http://127.0.0.1:8080", a trailing '/'
 * is dropped).  key may be NULL (no Authorization header); it is copied.
 * Returns 0, ERR_INVAL for a URL that is not http:// or https://, or
 * ERR_NOMEM/ERR_INTERNAL. */
int		 http_client_new(struct http_client **out, const char *base_url,
		     const char *key, struct errbuf *eb);
/* Closes the connection and frees the client.  Accepts NULL. */
void		 http_client_free(struct http_client *c);

/* Whole-request deadline (default 30,000 ms; 0 means none). */
void		 http_client_set_timeout_ms(struct http_client *c, long ms);
/* Deadline for setting up a connection (default 5,000 ms), within the
 * whole-request one. */
void		 http_client_set_connect_timeout_ms(struct http_client *c, long ms);

/* Borrowed; valid until the client is freed. */
const char	*http_client_base_url(const struct http_client *c);

/* Sends method ("GET", "POST", ...) to base URL + path (which starts with
 * '/' and is already URL-encoded).  A non-NULL body is sent as
 * application/json.  On return 0 *resp holds the response, whatever its
 * status; the caller finalises it.  Transport failures return ERR_UNAVAIL
 * (nothing was sent: cannot connect, or connecting timed out), ERR_TIMEOUT
 * (sent, but no whole answer before the deadline), ERR_TOOBIG (an answer
 * over 256 MiB), ERR_NOMEM or ERR_IO (e.g. the connection broke after the
 * request was sent), with eb saying why. */
int		 http_client_request(struct http_client *c, const char *method,
		     const char *path, const char *body, struct http_response *resp,
		     struct errbuf *eb);

/* As http_client_request, with extra request headers: hdrs is a
 * NULL-terminated array of "Name: value" lines (NULL: none), sent besides
 * the client's own; "Name;" sends Name with an empty value.  A line that
 * is neither, or that holds a CR, LF or other control character, is
 * refused with ERR_INVAL (eb names the header, never its value) before
 * anything is sent. */
int		 http_client_request_hdrs(struct http_client *c, const char *method,
		     const char *path, const char *body, const char *const *hdrs,
		     struct http_response *resp, struct errbuf *eb);

/* The general form of the two above: req's body of an explicit length
 * (it may hold NULs) with its own Content-Type, its header lines (checked
 * as for http_client_request_hdrs), and with HTTP_REQ_NO_CLIENT_HEADERS
 * without the client's Authorization and Accept.  POST, PUT and PATCH
 * always send a body (empty if req->body is NULL).  Returns as
 * http_client_request; req and what it points to are only read. */
int		 http_client_send(struct http_client *c, const struct http_request *req,
		     struct http_response *resp, struct errbuf *eb);

/* Value of the first header called name (any case).  Borrowed, valid until
 * the response is finalised; NULL if absent. */
const char	*http_response_header(const struct http_response *r, const char *name);
void		 http_response_fini(struct http_response *r);

/* Percent-encodes s for use in a path segment or query value.  Caller owns
 * the result (free()); NULL on OOM. */
char		*http_url_escape(const char *s);

/* Reads an API key from path: the first line, surrounding blanks removed.
 * Refuses an empty key, control characters and files over 4 KiB, so the
 * key cannot smuggle extra header lines.  *out is owned by the caller. */
int		 http_key_file_read(const char *path, char **out, struct errbuf *eb);

#endif /* NET_HTTP_CLIENT_H */
