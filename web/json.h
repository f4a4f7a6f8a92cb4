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
 * (an unknown workload type, input_params a built-in type rejects).  A
 * detail about an item of a batch also has its "index"; one about a size
 * limit names it, {"limit": "max_batch_items", "value": 1000}; at most 100
 * details are listed, and the summary counts them all.
 */
#ifndef WEB_JSON_H
#define WEB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "src/model.h"
#include "src/sched_report.h"

struct affinity;
struct audit_event;
struct checkpoint_info;
struct coord_status;
struct errbuf;
struct fsm_queue_depth;
struct fsm_usage;
struct node_rec;
struct strlist;

#define JSON_MAX_DEPTH		32		/* deepest accepted nesting of arrays/objects */
#define JSON_DEFAULT_PRIORITY	100
#define JSON_DEFAULT_RETRIES	3
#define JSON_MAX_RETRIES	100
#define JSON_MAX_TIMEOUT_S	2592000		/* 30 days */
#define JSON_SLEEP_MAX_MS	604800000	/* 7 days */
#define JSON_CKPT_INTERVAL_MAX	604800		/* checkpoint_policy.interval_seconds: 7 days */
#define JSON_CKPT_PERCENT_MAX	100		/* checkpoint_policy.on_progress_percent */
#define JSON_REASON_MAX		1024		/* cancel reason, bytes */
#define JSON_BATCH_MAX		1000		/* submissions in a batch, ids in a batch cancel */
#define JSON_CUSTOMER_QUEUE_MAX	100000000	/* max_queue_depth */
#define JSON_CUSTOMER_CONCURRENT_MAX 1000000	/* max_concurrent */
#define JSON_CUSTOMER_RATE_MAX	1000000		/* rate_limit_rps */
#define JSON_QUERY_VALUE_MAX	256		/* longest query value, with NUL */
#define JSON_CURSOR_MAX		32		/* longest cursor, with NUL */
#define JSON_LIST_LIMIT_DEFAULT	50		/* page size of GET /v1/workloads */
#define JSON_AUDIT_LIMIT_DEFAULT 100		/* page size of GET /v1/audit-events */
#define JSON_LIST_LIMIT_MAX	1000		/* largest page */

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
 * timeout_seconds, affinity and ckpt_policy (from the optional
 * "checkpoint_policy": {"interval_seconds": 0..JSON_CKPT_INTERVAL_MAX,
 * "on_progress_percent": 0..JSON_CKPT_PERCENT_MAX}; absent members are 0,
 * "the worker's default"), and returns 0; the caller owns it (free with
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

#define JSON_RAFT_ADDRESS_MAX	127	/* longest Raft HOST:PORT */

/* Parses POST /v1/cluster/nodes: {"id": 1..2^32-1, "raft_address":
 * "HOST:PORT"}, both required.  address gets the Raft address.  Errors as
 * json_cancel_parse. */
int	 json_node_add_parse(const char *body, size_t len, uint64_t *id,
	     char address[JSON_RAFT_ADDRESS_MAX + 1], json_t **details,
	     struct errbuf *eb);
/* Parses PUT /v1/cluster/nodes/{id}, a node announcing its addresses:
 * {"raft_address": "HOST:PORT", "http_url": "http://HOST:PORT",
 * "worker_url": "tcp://HOST:PORT"}, all required.  Fills the address
 * strings of the zeroed *out (the caller finalises it, also on error).
 * Errors as json_cancel_parse. */
int	 json_node_announce_parse(const char *body, size_t len, struct node_rec *out,
	     json_t **details, struct errbuf *eb);
/* Parses POST /v1/cluster/transfer-leader: empty, {} or {"id": N}; *id is
 * 0 when absent ("any voter").  Errors as json_cancel_parse. */
int	 json_transfer_parse(const char *body, size_t len, uint64_t *id,
	     json_t **details, struct errbuf *eb);

/* Parses a body that must be empty (only whitespace) or {}: pause, resume,
 * a new key.  0 or ERR_INVAL with details, or ERR_NOMEM. */
int	 json_empty_parse(const char *body, size_t len, json_t **details, struct errbuf *eb);

/* Parses {"workloads": [submission, ...]}: 1..JSON_BATCH_MAX items, each
 * validated as json_submission_parse does.  On success *out is a new array
 * of *n records (caller frees each with workload_fini, then the array).
 * Any problem rejects the whole batch: ERR_INVAL or ERR_UNPROCESSABLE with
 * details whose "index" names the item and "field" the member within it;
 * ERR_INVAL for 0 items and ERR_TOOBIG for more than JSON_BATCH_MAX, with
 * a detail {"field": "workloads", "limit": "max_batch_items", "value",
 * "count"}; or ERR_NOMEM. */
int	 json_batch_parse(const char *body, size_t len, const struct strlist *known_types,
	     struct workload **out, size_t *n, json_t **details, struct errbuf *eb);

/* Parses {"ids": ["<workload id>", ...], "reason": "..."}: 1..JSON_BATCH_MAX
 * well-formed ids, none repeated, returned in lower case in the new array
 * *ids (caller frees) of *n; *reason a new string or NULL.  Errors as
 * json_batch_parse (fields "ids" or "ids[i]"). */
int	 json_cancel_batch_parse(const char *body, size_t len,
	     char (**ids)[MODEL_ID_LEN + 1], size_t *n, char **reason, json_t **details,
	     struct errbuf *eb);

/* Parses a customer body: {"name", "tier", "max_queue_depth",
 * "max_concurrent", "rate_limit_rps"}.  Creating (patch false), name and
 * tier are required; patching, any non-empty subset.  Fills the zeroed
 * *out with the fields given (caller frees with customer_fini) and sets
 * *mask to their CMD_UPDATE_* bits.  Errors as json_submission_parse
 * (ERR_INVAL only). */
int	 json_customer_parse(const char *body, size_t len, bool patch, struct customer *out,
	     uint32_t *mask, json_t **details, struct errbuf *eb);

/* The query of GET /v1/workloads. */
struct json_list_query {
	bool		 has_status;
	enum wl_status	 status;
	char		 type[MODEL_NAME_MAX + 1];	/* "": any */
	uint32_t	 limit;				/* 1..JSON_LIST_LIMIT_MAX */
	char		 cursor[JSON_CURSOR_MAX];	/* "": first page */
};

/* Parses status (any case), workload_type, limit and cursor.  Unknown,
 * repeated or bad parameters: ERR_INVAL with a detail each. */
int	 json_list_query_parse(const char *qs, struct json_list_query *out,
	     json_t **details, struct errbuf *eb);

/* The query of GET /v1/audit-events. */
struct json_audit_query {
	char		 workload_id[MODEL_ID_LEN + 1];	/* "": any; lower case */
	char		 customer_id[MODEL_NAME_MAX + 1]; /* "": any */
	uint64_t	 since_ms;			/* 0: no lower bound */
	uint64_t	 until_ms;			/* 0: no upper bound */
	uint32_t	 limit;				/* 1..JSON_LIST_LIMIT_MAX */
	char		 cursor[JSON_CURSOR_MAX];	/* "": first page */
};

/* Parses workload_id, customer_id, since, until (RFC 3339; until later
 * than since), limit and cursor.  Errors as json_list_query_parse. */
int	 json_audit_query_parse(const char *qs, struct json_audit_query *out,
	     json_t **details, struct errbuf *eb);

/* Parses an RFC 3339 date-time ("2026-01-31T12:00:00.250+01:00") into ms
 * since the epoch.  0, or ERR_INVAL (malformed, or before the epoch). */
int	 json_time_parse(const char *s, uint64_t *ms);

/* Renderers: each returns a new reference, or NULL if out of memory. */

/* The API's Workload object; effective_priority is computed with the queue
 * policy (NULL: the defaults) at now_ms while the workload waits, and is
 * its base priority otherwise. */
json_t	*json_workload(const struct workload *w, const struct queue_policy *queue,
	    uint64_t now_ms);
/* The affinity_rules object, omitting empty parts ({} if none). */
json_t	*json_affinity(const struct affinity *a);
/* {"cpu_millis", "memory_mb", "gpus"}. */
json_t	*json_resources(const struct resources *r);
/* {"interval_seconds", "on_progress_percent"}: both always present, 0
 * meaning "the worker's default for the type". */
json_t	*json_checkpoint_policy(const struct checkpoint_policy *p);
/* The API's Checkpoint object: {"sequence", "attempt", "size",
 * "compressed_size", "created_at"}. */
json_t	*json_checkpoint(const struct checkpoint_info *c);
/* The answer of GET /v1/workloads/{id}/checkpoints: {"workload_id",
 * "checkpoints": [Checkpoint, ...] in the order given, "count"}. */
json_t	*json_checkpoint_list(const char *workload_id, const struct checkpoint_info *v,
	     size_t n);
/* The API's Worker object. */
json_t	*json_worker(const struct worker_rec *w);
/* The API's Cluster object. */
json_t	*json_cluster(const struct coord_status *s);
/* {"error": {"code", "message", "details"}, "request_id"}; takes the
 * reference to details (NULL: an empty array). */
json_t	*json_error_body(int err, const char *message, json_t *details,
	     const char *request_id);

/* {"id", "status", "workload_type", "priority", "created_at"}: what a
 * batch submission answers per workload. */
json_t	*json_workload_summary(const struct workload *w);
/* The answer to a batch submission, {"workloads": [summary, ...], "count":
 * n}, as compact JSON text written directly (no jansson objects: a batch is
 * 1000 of them), NUL-terminated; *len excludes the NUL.  Caller frees.  NULL on OOM, or if a value would need
 * escaping (it cannot: ids, statuses and type names are validated), so the
 * caller can fall back to json_workload_summary. */
char	*json_batch_answer(const struct workload *wls, size_t n, size_t *len);
/* The API's Customer object: its own settings, "effective_limits" (the
 * tier defaults given applied; null for "no limit"), "usage" (omitted if
 * usage is NULL) and times. */
json_t	*json_customer(const struct customer *c, uint32_t queue_default,
	     uint32_t rate_default, const struct fsm_usage *usage);
/* The API's ApiKey object: never the secret, which is not stored. */
json_t	*json_api_key(const struct api_key *k);
/* The API's AuditEvent object. */
json_t	*json_audit_event(const struct audit_event *e);
/* {"total", "by_tier": {tier: n}, "by_customer": {id: n}}. */
json_t	*json_queue_depth(const struct fsm_queue_depth *q);
/* The scheduler's metrics (GET /v1/metrics/scheduler). */
json_t	*json_sched_metrics(const struct sched_metrics *m);

/* A JSON string of s, or JSON null for NULL.  Bytes that are not valid
 * UTF-8 are replaced with U+FFFD rather than failing. */
json_t	*json_text(const char *s);
/* RFC 3339 text of ms since the epoch, or JSON null for 0. */
json_t	*json_time(uint64_t ms);

#endif /* WEB_JSON_H */
