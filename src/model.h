/*
 * The domain records: workloads, workers, API keys.  These are what the
 * state machine stores (msgpack, through model_*_encode/decode), what the
 * scheduler places, and what the API renders as JSON.  Every string field is
 * owned by its record; _fini frees them all and tolerates a zeroed record.
 */
#ifndef SRC_MODEL_H
#define SRC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/strs.h"

struct wire_writer;
struct wire_val;

#define MODEL_ID_LEN		36	/* canonical UUID text, without NUL */
#define MODEL_NAME_MAX		128	/* worker ids, tag keys/values, type names */
#define MODEL_PRIORITY_MAX	1000
#define MODEL_CUSTOMER_ADMIN	"admin"	/* the operator's own customer id */

enum wl_status {
	WL_PENDING,
	WL_SCHEDULED,
	WL_RUNNING,
	WL_PAUSING,
	WL_PAUSED,
	WL_COMPLETED,
	WL_FAILED,
	WL_CANCELLED,
	WL__COUNT
};

/* "PENDING", ... ; never NULL. */
const char	*wl_status_name(enum wl_status s);
/* 0, or ERR_INVAL for an unknown name (exact, upper case). */
int		 wl_status_parse(const char *name, enum wl_status *out);
/* COMPLETED, FAILED or CANCELLED: nothing more will happen. */
bool		 wl_status_is_terminal(enum wl_status s);
/* SCHEDULED, RUNNING or PAUSING: the workload holds a slot on its worker. */
bool		 wl_status_holds_slot(enum wl_status s);

enum tier { TIER_FREE, TIER_STANDARD, TIER_PREMIUM, TIER_ENTERPRISE, TIER__COUNT };

const char	*tier_name(enum tier t);
int		 tier_parse(const char *name, enum tier *out);

/* Placement rules of a workload (see DESIGN.md, Scheduling). */
struct affinity {
	char		*hard_worker_id;	/* NULL: any worker */
	struct tagset	 hard_tags;		/* every pair must match */
	struct strlist	 hard_types;		/* worker must have all these capabilities */
	char		*soft_worker_id;	/* preferred worker */
	struct tagset	 soft_tags;		/* preferred tags */
	struct strlist	 anti_types;		/* avoid workers running these types */
};

/* Resources a worker offers or a workload asks for.  A workload asking for
 * some of a kind (> 0) is placed only on a worker with that much of it not
 * taken by the workloads it holds; a worker offering none of a kind takes
 * no workload that asks for it.  0 in a request: no need. */
struct resources {
	uint32_t	 cpu_millis;
	uint32_t	 memory_mb;
	uint32_t	 gpus;
};

/* Takes req out of *free_r, each kind at most down to 0 (a worker that
 * shrank between registrations may hold more than it now offers). */
void	resources_take(struct resources *free_r, const struct resources *req);

#define RESOURCE_CPU_MAX	(1024u * 1000)		/* 1024 cores */
#define RESOURCE_MEMORY_MAX	(64u * 1024 * 1024)	/* 64 TiB in MiB */
#define RESOURCE_GPUS_MAX	1024u

/* When a running attempt is asked to checkpoint (0: not on that ground).
 * The workload's own policy, else the worker's default for its type. */
struct checkpoint_policy {
	uint32_t	 interval_seconds;	/* every N seconds of running */
	uint32_t	 on_progress_percent;	/* every N points of progress */
};

struct workload {
	char		 id[MODEL_ID_LEN + 1];
	char		*customer_id;
	char		*type;			/* workload type, e.g. "sleep" */
	char		*params_json;		/* input_params as compact JSON text */
	uint32_t	 priority;		/* 0..MODEL_PRIORITY_MAX */
	enum tier	 tier;			/* the customer's tier at submission */
	enum wl_status	 status;
	struct affinity	 affinity;
	uint32_t	 max_retries;
	uint32_t	 timeout_seconds;	/* 0: no limit */
	struct checkpoint_policy ckpt_policy;	/* all 0: the worker's default */
	struct resources requests;		/* all 0: a slot is all it needs */
	uint64_t	 seq;			/* submission order, assigned by the FSM */
	uint64_t	 created_ms;
	uint64_t	 updated_ms;
	uint64_t	 scheduled_ms;		/* last assignment, 0 if never */
	uint64_t	 started_ms;		/* last start, 0 if never */
	uint64_t	 finished_ms;		/* terminal time, 0 if not terminal */
	char		*worker_id;		/* current or last worker, NULL if never placed */
	uint32_t	 attempt;		/* fencing token; 0 before the first assignment */
	double		 progress;		/* 0..100 */
	char		*progress_message;
	char		*result_json;		/* outcome payload as JSON text, or NULL */
	char		*error;			/* failure text, or NULL */
	uint64_t	 checkpoint_seq;	/* latest checkpoint, 0 if none */
	uint32_t	 failures;		/* failed attempts so far */
	uint64_t	 not_before_ms;		/* retry backoff: not placed before this */
	bool		 cancel_requested;
	bool		 preempting;		/* PAUSING for a preemption: back to
						 * PENDING, not PAUSED, when it stops */
	uint32_t	 preemptions;		/* preempted since it last ran to its end */
	char		*request_id;		/* X-Request-Id of the submission */
	int64_t		 queue_key;		/* queue order, higher first: see
						 * workload_queue_key */
};

void	workload_fini(struct workload *w);
/* Deep copy into dst (zeroed by the callee first). 0 or ERR_NOMEM. */
int	workload_dup(struct workload *dst, const struct workload *src);
/*
 * How waiting workloads are ordered.  The effective priority of a workload
 * at time t is priority × tier_weight[tier] + aging_per_min × minutes waited
 * (since created_ms).  The aging term grows at the same rate for everyone,
 * so the order at any one time is the order of a key fixed at submission:
 * priority × weight × 60000 − aging_per_min × created_ms (see
 * workload_queue_key).  That is the starvation guarantee: a workload that
 * has waited longer than (Pmax × Wmax − its own priority × weight) /
 * aging_per_min minutes ranks above every workload submitted after that.
 */
struct queue_policy {
	uint32_t	 tier_weight[TIER__COUNT];	/* free 1, standard 10,
							 * premium 50, enterprise 100 */
	uint32_t	 aging_per_min;			/* default 5 */
};

#define QUEUE_WEIGHT_MAX	100000	/* largest tier weight accepted */
#define QUEUE_AGING_MAX		100000	/* largest aging_per_min accepted */

void	queue_policy_defaults(struct queue_policy *p);
/* Priority × the tier's weight (the policy's; NULL: the defaults). */
uint64_t workload_base_priority(const struct workload *w,
	    const struct queue_policy *p);
/* The effective priority of w at now_ms (never less than the base). */
uint64_t workload_effective_priority(const struct workload *w,
	    const struct queue_policy *p, uint64_t now_ms);
/* The queue key of w (from priority, tier and created_ms): sorting by it,
 * highest first, is sorting by effective priority at any time t. */
int64_t	workload_queue_key(const struct workload *w, const struct queue_policy *p);

enum worker_status { WORKER_ALIVE, WORKER_DEAD, WORKER_DRAINING, WORKER__COUNT };

const char	*worker_status_name(enum worker_status s);

struct worker_rec {
	char			*id;
	struct tagset		 tags;
	struct strlist		 capabilities;	/* workload types it can run */
	uint32_t		 capacity;	/* concurrent slots */
	uint32_t		 used;		/* slots held (SCHEDULED/RUNNING/PAUSING) */
	struct resources	 offered;	/* beyond slots; 0: none of a kind */
	char			*version;
	enum worker_status	 status;
	uint64_t		 registered_ms;
	uint64_t		 last_heartbeat_ms;
	uint64_t		 generation;	/* bumps at every registration */
};

void	worker_rec_fini(struct worker_rec *w);
int	worker_rec_dup(struct worker_rec *dst, const struct worker_rec *src);

enum key_role { KEY_ROLE_ADMIN, KEY_ROLE_CUSTOMER };

/* An API key as stored: never the key itself, only its hash. */
struct api_key {
	char		 id[MODEL_ID_LEN + 1];	/* public key id */
	char		*customer_id;
	enum key_role	 role;
	uint8_t		 hash[32];		/* SHA-256 of the secret key text */
	uint64_t	 created_ms;
	bool		 revoked;
};

void	api_key_fini(struct api_key *k);

/* A tenant.  Limits of 0 mean "the tier's default" (rate, queue depth) or
 * "no limit" (max_concurrent); the coordinator's configuration holds the
 * tier defaults, and proposers resolve them into commands, so applying a
 * command never depends on a node's configuration. */
struct customer {
	char		 id[MODEL_ID_LEN + 1];
	char		*name;			/* 1..MODEL_NAME_MAX printable chars */
	enum tier	 tier;
	uint32_t	 max_queue_depth;	/* PENDING workloads at most; 0: tier default */
	uint32_t	 max_concurrent;	/* slots held at most; 0: no limit */
	uint32_t	 rate_limit_rps;	/* API requests per second; 0: tier default */
	uint64_t	 created_ms;
	uint64_t	 updated_ms;
};

void	customer_fini(struct customer *c);

/* A coordinator of the cluster as it announced itself: where its peers,
 * clients and workers reach it.  Followers read the leader's http_url from
 * here to forward requests to it. */
struct node_rec {
	uint64_t	 id;			/* Raft server id, >= 1 */
	char		*raft_address;		/* HOST:PORT */
	char		*http_url;		/* http://HOST:PORT */
	char		*worker_url;		/* tcp://HOST:PORT (nng) */
	uint64_t	 updated_ms;
};

void	node_rec_fini(struct node_rec *n);
/* True if the record's fields are well formed: id >= 1 and each address
 * 1..MODEL_ADDRESS_MAX printable characters without blanks. */
bool	node_rec_valid(const struct node_rec *n);
#define MODEL_ADDRESS_MAX	255

/* msgpack encodings of stored records.  Encoders write one map into w;
 * decoders fill a zeroed record from v and return 0, ERR_PROTO or ERR_NOMEM
 * (on error the record is finalised). */
void	model_workload_encode(struct wire_writer *w, const struct workload *wl);
int	model_workload_decode(const struct wire_val *v, struct workload *out);
void	model_affinity_encode(struct wire_writer *w, const struct affinity *a);
int	model_affinity_decode(const struct wire_val *v, struct affinity *out);
void	affinity_fini(struct affinity *a);
int	affinity_dup(struct affinity *dst, const struct affinity *src);
void	model_worker_encode(struct wire_writer *w, const struct worker_rec *wr);
int	model_worker_decode(const struct wire_val *v, struct worker_rec *out);
void	model_api_key_encode(struct wire_writer *w, const struct api_key *k);
int	model_api_key_decode(const struct wire_val *v, struct api_key *out);
void	model_customer_encode(struct wire_writer *w, const struct customer *c);
int	model_customer_decode(const struct wire_val *v, struct customer *out);
void	model_node_encode(struct wire_writer *w, const struct node_rec *n);
int	model_node_decode(const struct wire_val *v, struct node_rec *out);

/* Fills id with a new UUID (version 7: time-ordered, 74 random bits) as
 * text, NUL-terminated. */
void	model_id_generate(char id[MODEL_ID_LEN + 1]);
/* True if s is a well-formed id (36 chars, hex and dashes). */
bool	model_id_valid(const char *s);
/* True if s is 1..MODEL_NAME_MAX printable characters from [A-Za-z0-9._:/-]. */
bool	model_name_valid(const char *s);

#endif /* SRC_MODEL_H */
