/*
 * Commands: every change of state is one of these, encoded as msgpack,
 * proposed through the Raft log and applied by the FSM.  A command carries
 * everything its application needs, including the time (now_ms) and any ids,
 * so that applying the same log gives the same state on every node.
 *
 * struct cmd is a "fat" record: each type uses the fields its comment names
 * and leaves the rest zeroed.  cmd_fini frees every owned field.
 */
#ifndef SRC_CMD_H
#define SRC_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "src/model.h"

enum cmd_type {
	CMD_SUBMIT = 1,			/* workloads[], idempotency_key, body_hash, queue_limit, global_limit */
	CMD_ASSIGN,			/* placements[] */
	CMD_START,			/* workload_id, attempt, worker_id */
	CMD_PROGRESS,			/* workload_id, attempt, worker_id, progress, message */
	CMD_CHECKPOINT,			/* workload_id, attempt, worker_id, checkpoint_seq, one
					 * chunk: data, raw_len, chunk_index, chunk_count,
					 * total_len, blob_hash; checkpoint_keep */
	CMD_COMPLETE,			/* workload_id, attempt, worker_id, outcome, result_json, error */
	CMD_CANCEL,			/* workload_id, message (reason) */
	CMD_WORKER_REGISTER,		/* worker, running[] */
	CMD_WORKER_HEARTBEAT_BATCH,	/* heartbeats[] */
	CMD_WORKER_DEAD,		/* worker_id, generation */
	CMD_KEY_CREATE,			/* key */
	CMD_SECRET_SET,			/* secret_name, secret_hash */
	CMD_CUSTOMER_CREATE,		/* customer, key (its first API key) */
	CMD_CUSTOMER_UPDATE,		/* customer.id + the fields named in update_mask */
	CMD_KEY_REVOKE,			/* key.id, key.customer_id */
	CMD_PAUSE,			/* workload_id */
	CMD_RESUME,			/* workload_id */
	CMD_CANCEL_BATCH,		/* ids[] (each applied on its own), message */
	CMD_WORKER_DRAIN,		/* worker_id, generation: takes no more work */
	CMD_PREEMPT,			/* workload_id, attempt, preempt_limit */
	CMD_REPORT_BATCH,		/* worker_id, reports[] (each applied on its own) */
	CMD_NODE_SET,			/* node: a coordinator's addresses */
	CMD_NODE_REMOVE,		/* node.id: a coordinator left the cluster */
	CMD__END
};

/* "submit", "assign", ...; never NULL. */
const char	*cmd_type_name(enum cmd_type t);

/* How an attempt ended, as the worker reports it. */
enum outcome {
	OUTCOME_SUCCEEDED,
	OUTCOME_FAILED,
	OUTCOME_CANCELLED,		/* stopped because cancel was requested */
	OUTCOME_ABANDONED,		/* the worker gave it up (drain, stale); requeue */
	OUTCOME__COUNT
};

struct cmd_placement {
	char		 workload_id[MODEL_ID_LEN + 1];
	char		*worker_id;
	uint32_t	 attempt;	/* the new attempt: current attempt + 1 */
};

struct cmd_heartbeat {
	char		*worker_id;
	uint64_t	 at_ms;
};

/* One attempt a worker says it is running. */
struct cmd_attempt {
	char		 workload_id[MODEL_ID_LEN + 1];
	uint32_t	 attempt;
};

/* One worker report in a REPORT_BATCH: applied exactly as the START,
 * PROGRESS or COMPLETE command of the same fields would be. */
struct cmd_report {
	enum cmd_type		 type;		/* CMD_START, CMD_PROGRESS, CMD_COMPLETE */
	char			 workload_id[MODEL_ID_LEN + 1];
	uint32_t		 attempt;
	double			 progress;	/* PROGRESS */
	char			*message;	/* PROGRESS */
	enum outcome		 outcome;	/* COMPLETE */
	char			*result_json;	/* COMPLETE */
	char			*error;		/* COMPLETE */
};

/* CMD_CUSTOMER_UPDATE: which fields of cmd.customer to apply. */
#define CMD_UPDATE_TIER			0x01
#define CMD_UPDATE_MAX_QUEUE_DEPTH	0x02
#define CMD_UPDATE_MAX_CONCURRENT	0x04
#define CMD_UPDATE_RATE_LIMIT		0x08
#define CMD_UPDATE_NAME			0x10

/* How long an Idempotency-Key is remembered. */
#define CMD_IDEMPOTENCY_TTL_MS		(24ULL * 3600 * 1000)

struct cmd {
	enum cmd_type		 type;
	uint64_t		 now_ms;	/* proposer's wall clock */
	char			*actor;		/* audit: key id, "coordinator", "worker:<id>" */
	char			*request_id;	/* audit: the HTTP request id, or NULL */

	struct workload		*workloads;	/* SUBMIT: complete records, status PENDING */
	size_t			 n_workloads;
	char			*idempotency_key; /* SUBMIT: client's key, or NULL */
	uint8_t			 body_hash[32];	/* SUBMIT: SHA-256 of the request body */
	uint32_t		 queue_limit;	/* SUBMIT: the customer's max PENDING, 0: none */
	uint32_t		 global_limit;	/* SUBMIT: max PENDING overall, 0: none */

	struct cmd_placement	*placements;	/* ASSIGN */
	size_t			 n_placements;

	char			 workload_id[MODEL_ID_LEN + 1];
	uint32_t		 attempt;
	char			*worker_id;
	double			 progress;
	char			*message;
	uint64_t		 checkpoint_seq;
	/* CHECKPOINT: one chunk of a zstd frame of raw_len bytes.  The frame
	 * is total_len bytes in chunk_count chunks, its BLAKE2b-256 is
	 * blob_hash; it is committed when the last chunk is in. */
	void			*data;		/* CHECKPOINT: this chunk's bytes */
	size_t			 data_len;
	uint64_t		 raw_len;	/* CHECKPOINT: uncompressed size */
	uint32_t		 chunk_index;	/* CHECKPOINT: 0..chunk_count-1 */
	uint32_t		 chunk_count;	/* CHECKPOINT: 1.. */
	uint64_t		 total_len;	/* CHECKPOINT: compressed size */
	uint8_t			 blob_hash[32];	/* CHECKPOINT: of the whole frame */
	uint32_t		 checkpoint_keep; /* CHECKPOINT: committed ones kept */
	uint32_t		 preempt_limit;	/* PREEMPT: max_in_a_row of the policy */
	enum outcome		 outcome;
	char			*result_json;
	char			*error;

	struct worker_rec	 worker;	/* WORKER_REGISTER */
	struct cmd_attempt	*running;	/* WORKER_REGISTER */
	size_t			 n_running;

	struct cmd_heartbeat	*heartbeats;	/* WORKER_HEARTBEAT_BATCH */
	size_t			 n_heartbeats;

	uint64_t		 generation;	/* WORKER_DEAD: the registration declared dead */

	struct api_key		 key;		/* KEY_CREATE */

	char			*secret_name;	/* SECRET_SET: e.g. "join_token" */
	uint8_t			 secret_hash[32];

	struct customer		 customer;	/* CUSTOMER_CREATE, CUSTOMER_UPDATE */
	uint32_t		 update_mask;	/* CUSTOMER_UPDATE: CMD_UPDATE_* */

	char			(*ids)[MODEL_ID_LEN + 1]; /* CANCEL_BATCH */
	size_t			 n_ids;

	struct cmd_report	*reports;	/* REPORT_BATCH */
	size_t			 n_reports;

	struct node_rec		 node;		/* NODE_SET; NODE_REMOVE: id only */
};

/* At most this many workloads, placements, heartbeats, running attempts
 * or reports in one command: a bound on what one log entry can make a node allocate. */
#define CMD_MAX_ITEMS	10000

/* Encodes c into a new malloc'd buffer.  0, ERR_NOMEM, ERR_INVAL (unknown
 * type) or ERR_TOOBIG (more than CMD_MAX_ITEMS items, or data over 4 GiB):
 * nothing is proposed that every node would then fail to decode. */
int	cmd_encode(const struct cmd *c, void **buf, size_t *len);
/* Decodes buf into a zeroed *out. 0, ERR_PROTO (malformed or unknown type),
 * or ERR_NOMEM; on error *out is finalised. */
int	cmd_decode(const void *buf, size_t len, struct cmd *out);
void	cmd_fini(struct cmd *c);

#endif /* SRC_CMD_H */
