/*
 * Error codes shared by every module.  Libraries' own codes (MDB_*, NNG_E*,
 * SQLITE_*, RAFT_*, errno) are translated into these once, at the module
 * boundary; a caller-supplied struct errbuf carries the context text.
 */
#ifndef SRC_ERR_H
#define SRC_ERR_H

#include <stddef.h>

/* X(name, http_status, "short code used in API errors") */
#define ERR_TABLE(X)                                          \
	X(OK, 200, "ok")                                      \
	X(NOMEM, 500, "out_of_memory")                        \
	X(INVAL, 400, "invalid_argument")                     \
	X(NOTFOUND, 404, "not_found")                         \
	X(CONFLICT, 409, "conflict")                          \
	X(EXISTS, 409, "already_exists")                      \
	X(IO, 500, "io_error")                                \
	X(NOSPACE, 507, "no_space")                           \
	X(CORRUPT, 500, "corrupt")                            \
	X(PROTO, 400, "protocol_error")                       \
	X(AUTH, 401, "unauthenticated")                       \
	X(FORBIDDEN, 403, "forbidden")                        \
	X(TOOBIG, 413, "payload_too_large")                   \
	X(MEDIATYPE, 415, "unsupported_media_type")           \
	X(UNPROCESSABLE, 422, "unprocessable")                \
	X(NOTLEADER, 503, "not_leader")                       \
	X(QUEUEFULL, 503, "customer_queue_full")              \
	X(OVERLOADED, 503, "global_queue_full")               \
	X(RATELIMIT, 429, "rate_limited")                     \
	X(UNAVAIL, 503, "unavailable")                        \
	X(TIMEOUT, 503, "timeout")                            \
	X(METHOD, 405, "method_not_allowed")                  \
	X(SHUTDOWN, 503, "shutting_down")                     \
	X(STALE, 409, "stale_attempt")                        \
	X(INTERNAL, 500, "internal")

enum {
#define ERR_ENUM(name, status, code) ERR_##name,
	ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
	ERR__COUNT
};

#define ERRBUF_LEN 256

/* Context for an error, filled by the function that detected it. */
struct errbuf {
	int	 code;			/* ERR_* of the last err_setf */
	char	 msg[ERRBUF_LEN];	/* human-readable, no trailing newline */
};

/* Short stable name of an ERR_* ("not_found"). Never NULL. */
const char	*err_code_name(int err);

/* HTTP status that best describes an ERR_*. */
int		 err_http_status(int err);

/* Formats into eb (which may be NULL) and returns err, so callers can write
 * "return err_setf(eb, ERR_IO, ...)". */
int		 err_setf(struct errbuf *eb, int err, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));

/* Resets eb to "no error". */
void		 errbuf_clear(struct errbuf *eb);

#endif /* SRC_ERR_H */
