/*
 * JSON for the REST API: parsing and validating request bodies into domain
 * records, and rendering records as the API's snake_case JSON.  Nothing here
 * touches a socket or the state machine, so every rule can be unit-tested
 * (t/unit/json_test.c).
 *
 * Validation errors are collected, not stopped at the first: a rejected
 * body comes back with a JSON array of details, one {"field", "message"}
 * object per problem, "field" being a path such as
 * "affinity_rules.hard_affinity.worker_tags.zone" or "input_params.argv[1]".
 * The overall code is ERR_INVAL (HTTP 400) when the body does not fit the
 * Submission schema (malformed JSON, nesting, unknown keys, wrong types,
 * missing required fields, values out of range, malformed names), and
 * ERR_UNPROCESSABLE (HTTP 422) when it fits the schema but cannot be run
 * (an unknown workload type, input_params a built-in type rejects).
 */
#ifndef WEB_JSON_H
#define WEB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct affinity;
struct coord_status;
struct errbuf;
struct strlist;
struct workload;
struct worker_rec;

#define JSON_MAX_DEPTH		32		/* deepest accepted nesting of arrays/objects */
#define JSON_DEFAULT_PRIORITY	100
#define JSON_DEFAULT_RETRIES	3
#define JSON_MAX_RETRIES	100
#define JSON_MAX_TIMEOUT_S	2592000		/* 30 days */
#define JSON_SLEEP_MAX_MS	604800000	/* 7 days */
#define JSON_REASON_MAX		1024		/* cancel reason, bytes */

/* Built-in workload types, always known. */
#define JSON_TYPE_SLEEP		"sleep"
#define JSON_TYPE_EXEC		"exec"

/* Parses body[0..len) as one JSON value of any type, refusing nesting deeper
 * than JSON_MAX_DEPTH and duplicate object keys.  On success *out is a new
 * reference.  On failure returns ERR_INVAL with the position in eb and a
 * new details array [{"line", "column", "position", "message"}] in *details
 * (NULL if out of memory), or ERR_NOMEM. */
int	 json_body_parse(const char *body, size_t len, json_t **out, json_t **details,
	     struct errbuf *eb);

/* Parses and validates a workload submission.  known_types lists the types
 * the cluster can run (the caller includes the built-ins).  On success fills
 * the zeroed *out with type, params_json (compact), priority, max_retries,
 * timeout_seconds and affinity, and returns 0; the caller owns it (free with
 * workload_fini) and fills the rest (id, customer, tier, status, times).
 * On failure *out is left zeroed and the return is ERR_INVAL or
 * ERR_UNPROCESSABLE, with a summary in eb and a new details array in
 * *details (see above); or ERR_NOMEM. */
int	 json_submission_parse(const char *body, size_t len, const struct strlist *known_types,
	     struct workload *out, json_t **details, struct errbuf *eb);

/* Parses a cancel body: empty (only whitespace), {} or {"reason": "..."}.
 * *reason is a new string or NULL.  Errors as json_submission_parse
 * (ERR_INVAL only). */
int	 json_cancel_parse(const char *body, size_t len, char **reason, json_t **details,
	     struct errbuf *eb);

/* Renderers: each returns a new reference, or NULL if out of memory. */

/* The API's Workload object. */
json_t	*json_workload(const struct workload *w);
/* The affinity_rules object, omitting empty parts ({} if none). */
json_t	*json_affinity(const struct affinity *a);
/* The API's Worker object. */
json_t	*json_worker(const struct worker_rec *w);
/* The API's Cluster object. */
json_t	*json_cluster(const struct coord_status *s);
/* {"error": {"code", "message", "details"}, "request_id"}; takes the
 * reference to details (NULL: an empty array). */
json_t	*json_error_body(int err, const char *message, json_t *details,
	     const char *request_id);

/* A JSON string of s, or JSON null for NULL.  Bytes that are not valid
 * UTF-8 are replaced with U+FFFD rather than failing. */
json_t	*json_text(const char *s);
/* RFC 3339 text of ms since the epoch, or JSON null for 0. */
json_t	*json_time(uint64_t ms);

#endif /* WEB_JSON_H */
