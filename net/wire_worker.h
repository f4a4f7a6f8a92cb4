/*
 * The worker protocol: messages between niyanta-worker and a coordinator's
 * worker endpoint, msgpack-encoded, carried over nng request/reply.
 *
 * Every exchange is a request from the worker and one reply:
 *
 *   REGISTER   -> REGISTERED | ERROR     join with id, tags, capabilities
 *   HEARTBEAT  -> HEARTBEAT_ACK | ERROR  liveness + what runs; reply lists
 *                                        attempts to stop
 *   POLL       -> WORK | ERROR           long poll: held until there are
 *                                        assignments/stops or wait_ms passes
 *   START      -> ACK | ERROR            acknowledges an assignment: RUNNING
 *   PROGRESS   -> ACK | ERROR
 *   CHECKPOINT -> ACK | ERROR
 *   COMPLETE   -> ACK | ERROR            outcome of an attempt
 *   REPORTS    -> REPORTS_ACK | ERROR    several STARTs, PROGRESSes and
 *                                        COMPLETEs in one message (one log
 *                                        entry); the reply lists the
 *                                        reported attempts to stop
 *
 * ACK.stop tells the worker to stop that attempt (cancelled, or fenced by
 * a newer attempt).  ERROR.reregister tells it the coordinator does not know
 * it (or declared it dead): register again.  Assignments are at-least-once:
 * the same (workload_id, attempt) may arrive twice and the worker must
 * ignore the copy.
 *
 * struct wmsg is a "fat" record: each type uses the fields its comment names.
 */
#ifndef NET_WIRE_WORKER_H
#define NET_WIRE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model.h"
#include "src/strs.h"

#define WMSG_ID_LEN	36

enum wmsg_type {
	WMSG_REGISTER = 1,	/* worker_id, token, tags, capabilities, capacity, version, running[] */
	WMSG_REGISTERED,	/* heartbeat_ms, poll_wait_ms, generation */
	WMSG_HEARTBEAT,		/* worker_id, generation, running[], free_slots */
	WMSG_HEARTBEAT_ACK,	/* stop[] */
	WMSG_POLL,		/* worker_id, generation, wait_ms */
	WMSG_WORK,		/* assignments[], stop[] */
	WMSG_START,		/* worker_id, workload_id, attempt */
	WMSG_PROGRESS,		/* worker_id, workload_id, attempt, progress, message */
	WMSG_CHECKPOINT,	/* worker_id, workload_id, attempt, checkpoint_seq, one chunk:
				 * blob (zstd bytes), chunk_index, chunk_count, total_len,
				 * raw_len, blob_hash, chunk_hash */
	WMSG_COMPLETE,		/* worker_id, workload_id, attempt, outcome, result_json, error */
	WMSG_ACK,		/* stop */
	WMSG_ERROR,		/* err (ERR_*), message, reregister */
	WMSG_DRAIN,		/* worker_id, generation: stopping, send no more work */
	WMSG_REPORTS,		/* worker_id, generation, reports[] */
	WMSG_REPORTS_ACK,	/* stop[]: reported attempts no longer the worker's */
	WMSG__END
};

/* A reference to one attempt of one workload. */
struct wmsg_attempt {
	char		 workload_id[WMSG_ID_LEN + 1];
	uint32_t	 attempt;
};

/* One report in REPORTS: the fields of the START, PROGRESS or COMPLETE
 * message of the same type. */
struct wmsg_report {
	enum wmsg_type	 type;			/* WMSG_START, _PROGRESS, _COMPLETE */
	char		 workload_id[WMSG_ID_LEN + 1];
	uint32_t	 attempt;
	double		 progress;		/* PROGRESS */
	char		*message;		/* PROGRESS */
	int		 outcome;		/* COMPLETE: enum outcome */
	char		*result_json;		/* COMPLETE */
	char		*error;			/* COMPLETE */
};

/* Most reports in one REPORTS message. */
#define WMSG_REPORTS_MAX	1000

struct wmsg_assignment {
	char		 workload_id[WMSG_ID_LEN + 1];
	uint32_t	 attempt;
	char		*type;			/* workload type */
	char		*params_json;		/* input_params, JSON text */
	uint32_t	 timeout_seconds;	/* 0: none */
	uint32_t	 checkpoint_interval_s;	/* the workload's policy; 0 and 0: */
	uint32_t	 checkpoint_progress_pct; /* the worker's default */
	uint64_t	 checkpoint_seq;	/* 0: start fresh */
	void		*checkpoint;		/* raw (uncompressed) bytes, or NULL */
	size_t		 checkpoint_len;
};

struct wmsg {
	enum wmsg_type		 type;
	char			*worker_id;
	uint64_t		 generation;	/* registration the worker holds */

	char			*token;		/* REGISTER: join token text */
	struct tagset		 tags;
	struct strlist		 capabilities;
	uint32_t		 capacity;
	char			*version;
	struct resources	 offered;	/* REGISTER: beyond slots */

	struct wmsg_attempt	*running;	/* REGISTER, HEARTBEAT */
	size_t			 n_running;
	uint32_t		 free_slots;

	uint32_t		 heartbeat_ms;	/* REGISTERED */
	uint32_t		 wait_ms;	/* POLL; REGISTERED: poll_wait_ms */

	struct wmsg_assignment	*assignments;	/* WORK */
	size_t			 n_assignments;
	struct wmsg_attempt	*stop;		/* WORK, HEARTBEAT_ACK, REPORTS_ACK */
	size_t			 n_stop;
	struct wmsg_report	*reports;	/* REPORTS */
	size_t			 n_reports;

	char			 workload_id[WMSG_ID_LEN + 1];
	uint32_t		 attempt;
	double			 progress;
	char			*message;	/* PROGRESS, ERROR */
	uint64_t		 checkpoint_seq;
	void			*blob;		/* CHECKPOINT: this chunk */
	size_t			 blob_len;
	uint32_t		 chunk_index;	/* CHECKPOINT */
	uint32_t		 chunk_count;
	uint64_t		 total_len;	/* the whole zstd frame */
	uint64_t		 raw_len;	/* the checkpoint, uncompressed */
	uint8_t			 blob_hash[32];	/* BLAKE2b-256 of the frame */
	uint8_t			 chunk_hash[16]; /* BLAKE2b-128 of this chunk */
	int			 outcome;	/* COMPLETE: enum outcome of src/cmd.h */
	char			*result_json;
	char			*error;

	bool			 stop_attempt;	/* ACK */
	int			 err;		/* ERROR: ERR_* */
	bool			 reregister;	/* ERROR */
};

const char	*wmsg_type_name(enum wmsg_type t);
/* Encodes m into a new malloc'd buffer. 0 or ERR_NOMEM. */
int		 wmsg_encode(const struct wmsg *m, void **buf, size_t *len);
/* Decodes into a zeroed *out: 0, ERR_PROTO, ERR_NOMEM (*out finalised on
 * error).  Rejects unknown types and fields of the wrong type. */
int		 wmsg_decode(const void *buf, size_t len, struct wmsg *out);
void		 wmsg_fini(struct wmsg *m);
void		 wmsg_assignment_fini(struct wmsg_assignment *a);
void		 wmsg_report_fini(struct wmsg_report *r);
/* True if attempt (id, attempt) is one of the n in v (a stop list). */
bool		 wmsg_attempts_contain(const struct wmsg_attempt *v, size_t n,
		    const char *id, uint32_t attempt);

#endif /* NET_WIRE_WORKER_H */
