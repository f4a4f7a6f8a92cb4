/*
 * The state machine: applies committed commands to LMDB, and answers reads.
 *
 * Writes happen only on the Raft loop thread, through fsm_apply; the
 * commands of one batch of committed entries share one LMDB write
 * transaction, committed by fsm_flush (the loop calls it before telling any
 * waiter that its command was applied).  Each command applies inside a
 * nested transaction, so a command that is rejected (an illegal transition,
 * a stale attempt) changes nothing, deterministically, on every node.
 *
 * Reads may come from any thread; each read opens its own read-only
 * transaction and returns owned copies.
 *
 * On open the store starts empty: the Raft log and snapshots are the durable
 * record, and libraft restores the last snapshot (fsm_restore) and replays
 * the log tail through fsm_apply.  LMDB therefore runs without a sync per
 * transaction.
 */
#ifndef SRC_FSM_H
#define SRC_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/model.h"

struct errbuf;
struct fsm;

#define FSM_CURSOR_LEN	32	/* room for a list cursor, with NUL */

/* Opens (creating) <dir>/state.mdb with the given map size in bytes and
 * empties it.  0, ERR_IO, ERR_NOMEM. */
int	fsm_open(struct fsm **out, const char *dir, uint64_t map_size, struct errbuf *eb);
/* Commits anything pending, syncs and closes. Accepts NULL. */
void	fsm_close(struct fsm *f);

/* Applies the committed command buf[0..len) at Raft index `index`.
 * *result is 0 if the command took effect, or the ERR_* code of its
 * deterministic rejection (ERR_NOTFOUND, ERR_CONFLICT, ERR_STALE, ERR_INVAL,
 * ERR_EXISTS, and for SUBMIT ERR_QUEUEFULL or ERR_OVERLOADED).  Returns 0, or ERR_IO/ERR_NOSPACE/ERR_NOMEM if the store
 * failed (fatal for this node). Loop thread only. */
int	fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len, int *result);
/* Commits the open batch transaction, if any. Loop thread only. */
int	fsm_flush(struct fsm *f, struct errbuf *eb);
/* Index of the last applied command (0 if none). */
uint64_t fsm_applied_index(struct fsm *f);

enum fsm_event_type {
	FSM_EV_ASSIGNED,	/* workload_id/attempt now SCHEDULED on worker_id */
	FSM_EV_STOP,		/* worker_id must stop workload_id/attempt (cancel) */
	FSM_EV_PENDING,		/* new placeable work exists (submit, requeue) */
	FSM_EV_FREED,		/* a slot on worker_id was freed */
	FSM_EV_WORKER,		/* worker_id registered, died or changed */
};

struct fsm_event {
	enum fsm_event_type	 type;
	char			 workload_id[MODEL_ID_LEN + 1];	/* "" if none */
	uint32_t		 attempt;
	char			*worker_id;			/* owned, or NULL */
};

/* Takes the events produced by the commands applied so far (in order) and
 * resets the list; call after fsm_flush.  *out is owned by the caller and
 * freed with fsm_events_free.  Returns the count. Loop thread only. */
size_t	fsm_events_take(struct fsm *f, struct fsm_event **out);
void	fsm_events_free(struct fsm_event *ev, size_t n);

/* A compact copy of the whole store as fsm_flush last committed it,
 * zstd-compressed, in a new malloc'd buffer.  It reads through an LMDB
 * read transaction of its own, so it may run on any thread, beside
 * fsm_apply (one snapshot at a time, never beside fsm_restore). */
int	fsm_snapshot(struct fsm *f, void **buf, size_t *len, struct errbuf *eb);
/* Replaces the whole store with a snapshot made by fsm_snapshot.  Readers
 * are held off while the files are swapped. Loop thread only. */
int	fsm_restore(struct fsm *f, const void *buf, size_t len, struct errbuf *eb);

/* ---- reads (any thread) ---- */

int	fsm_workload_get(struct fsm *f, const char *id, struct workload *out);
/* What holds worker_id's slots (SCHEDULED, RUNNING, PAUSING), from the
 * state machine's in-memory view (src/holdings.h), read without touching
 * the store: their types are appended to *types (each once), their summed
 * requests set in *requested.  Returns how many there are.  The view may
 * be a few entries ahead of a read transaction begun earlier, never
 * behind the last flush. */
unsigned fsm_worker_holdings(struct fsm *f, const char *worker_id, struct strlist *types,
	    struct resources *requested);

struct fsm_list_filter {
	bool		 has_status;
	enum wl_status	 status;
	const char	*type;		/* NULL: any */
	const char	*customer_id;	/* NULL: any (admin) */
	const char	*worker_id;	/* NULL: any */
	const char	*cursor;	/* NULL or "" for the first page */
	uint32_t	 limit;		/* 1..1000 */
};

/* Workloads matching the filter, newest first.  *out (caller frees each with
 * workload_fini, then the array) holds up to limit records; next_cursor is
 * "" when there are no more.  ERR_INVAL for a malformed cursor. */
int	fsm_workload_list(struct fsm *f, const struct fsm_list_filter *flt,
	    struct workload **out, size_t *n, char next_cursor[FSM_CURSOR_LEN]);

/* Asked about a workload id before its record is read: true to pass it by. */
typedef bool (*fsm_id_skip_cb)(const char *id, void *arg);
/* Up to max PENDING workloads in queue order: effective priority descending,
 * then submission order.  Those skip (may be NULL) passes by are neither
 * read nor counted. */
int	fsm_pending_scan(struct fsm *f, size_t max, fsm_id_skip_cb skip,
	    void *skip_arg, struct workload **out, size_t *n);
/* The same queue read in steps, so that a scheduling pass reads only as far
 * as it places.  The read holds one read transaction from open to close:
 * close it within the pass. */
struct fsm_pending_read;
int	fsm_pending_read_open(struct fsm *f, fsm_id_skip_cb skip,
	    void *skip_arg, struct fsm_pending_read **out);
/* Reads up to max more workloads (those skip passes by are neither read
 * nor counted) and appends them to *v, which has *n entries and grows
 * with realloc (the caller finis and frees them, also after an error).
 * Fewer than max: the queue's end.  0 or an ERR_*. */
int	fsm_pending_read_more(struct fsm_pending_read *r, size_t max,
	    struct workload **v, size_t *n);
void	fsm_pending_read_close(struct fsm_pending_read *r);
/* Workloads holding a slot (SCHEDULED/RUNNING/PAUSING) on worker_id. */
int	fsm_worker_workloads(struct fsm *f, const char *worker_id,
	    struct workload **out, size_t *n);
/* A slot held on a worker: the workload and the attempt holding it (0 if
 * the store was written before the index kept attempts). */
struct fsm_slot {
	char		 id[MODEL_ID_LEN + 1];
	uint32_t	 attempt;
};
/* The slots held on worker_id into *out (the caller frees it), from the
 * index alone: no workload is read. */
int	fsm_worker_slot_list(struct fsm *f, const char *worker_id,
	    struct fsm_slot **out, size_t *n);
/* Counts of workloads by status. */
int	fsm_status_counts(struct fsm *f, uint64_t counts[WL__COUNT]);

int	fsm_worker_get(struct fsm *f, const char *id, struct worker_rec *out);
/* Every worker, sorted by id. Caller frees each with worker_rec_fini. */
int	fsm_worker_list(struct fsm *f, struct worker_rec **out, size_t *n);

/* The key whose hash is `hash`. ERR_NOTFOUND if none (or revoked). */
int	fsm_key_lookup(struct fsm *f, const uint8_t hash[32], struct api_key *out);
/* True if at least one unrevoked admin key exists. */
bool	fsm_has_admin_key(struct fsm *f);
/* The coordinators that announced their addresses (NODE_SET), by id.
 * Caller frees each with node_rec_fini, then the array. */
int	fsm_node_list(struct fsm *f, struct node_rec **out, size_t *n);
/* The announced addresses of coordinator id.  ERR_NOTFOUND if none. */
int	fsm_node_get(struct fsm *f, uint64_t id, struct node_rec *out);

/* The hash stored under name by SECRET_SET. ERR_NOTFOUND if none. */
int	fsm_secret_get(struct fsm *f, const char *name, uint8_t hash[32]);

/* The checkpoint of workload_id with sequence seq (0: the latest that
 * decompresses whole), decompressed into a new malloc'd buffer.
 * ERR_NOTFOUND if none, ERR_CORRUPT if seq names a damaged one. */
int	fsm_checkpoint_get(struct fsm *f, const char *workload_id, uint64_t seq,
	    void **data, size_t *len, uint64_t *seq_out, uint32_t *attempt_out);

/* One stored checkpoint, as listed by fsm_checkpoint_list. */
struct checkpoint_info {
	uint64_t	 seq;			/* per workload, increasing */
	uint32_t	 attempt;		/* the attempt that stored it */
	uint64_t	 size;			/* decompressed bytes */
	uint64_t	 compressed_size;	/* stored (zstd) bytes */
	uint64_t	 at_ms;			/* when it was committed */
};

/* The committed checkpoints of workload_id, oldest first, into a new
 * malloc'd array (*out, *n; NULL and 0 when there are none).  Partial
 * (uncommitted) checkpoints are never listed.  0, ERR_NOMEM, ERR_IO,
 * ERR_CORRUPT. */
int	fsm_checkpoint_list(struct fsm *f, const char *workload_id,
	    struct checkpoint_info **out, size_t *n);

struct audit_event {
	uint64_t	 seq;			/* global order */
	uint64_t	 at_ms;
	char		 workload_id[MODEL_ID_LEN + 1];	/* "" for non-workload events */
	char		*customer_id;		/* the customer concerned, or NULL */
	char		*kind;			/* "status", "worker", "key", ... */
	char		*from;			/* previous status, or NULL */
	char		*to;			/* new status, or NULL */
	char		*actor;
	char		*request_id;
	char		*detail;
};

void	audit_event_fini(struct audit_event *e);
/* Audit events of one workload, oldest first (up to limit). */
int	fsm_audit_list(struct fsm *f, const char *workload_id, uint32_t limit,
	    struct audit_event **out, size_t *n);

struct fsm_audit_filter {
	const char	*workload_id;	/* NULL: any */
	const char	*customer_id;	/* NULL: any */
	uint64_t	 since_ms;	/* 0: no lower bound (inclusive) */
	uint64_t	 until_ms;	/* 0: no upper bound (exclusive) */
	const char	*cursor;	/* NULL or "" for the first page */
	uint32_t	 limit;		/* 1..1000 */
};

/* Audit events matching the filter, oldest first; next_cursor is "" when
 * there are no more.  ERR_INVAL for a malformed cursor. */
int	fsm_audit_query(struct fsm *f, const struct fsm_audit_filter *flt,
	    struct audit_event **out, size_t *n, char next_cursor[FSM_CURSOR_LEN]);

/* ---- customers (issue: multi-tenant API) ---- */

int	fsm_customer_get(struct fsm *f, const char *id, struct customer *out);
/* Every customer, oldest first. Caller frees each with customer_fini. */
int	fsm_customer_list(struct fsm *f, struct customer **out, size_t *n);
/* The API key with this public id, revoked or not. ERR_NOTFOUND if none. */
int	fsm_key_get(struct fsm *f, const char *key_id, struct api_key *out);
/* Every key of a customer, revoked included, oldest first. */
int	fsm_customer_keys(struct fsm *f, const char *customer_id,
	    struct api_key **out, size_t *n);

/* Workloads of one customer (any id, "admin" included): PENDING ones, and
 * ones holding a slot (SCHEDULED, RUNNING, PAUSING).  O(1). */
struct fsm_usage {
	uint64_t	 pending;
	uint64_t	 active;
};

int	fsm_customer_usage(struct fsm *f, const char *customer_id, struct fsm_usage *out);

struct fsm_customer_depth {
	char		*customer_id;		/* owned */
	uint64_t	 pending;
};

/* PENDING workloads: in all, by tier, and per customer that has any. */
struct fsm_queue_depth {
	uint64_t			 total;
	uint64_t			 by_tier[TIER__COUNT];
	struct fsm_customer_depth	*by_customer;	/* owned, sorted by id */
	size_t				 n_customers;
};

int	fsm_queue_depth_get(struct fsm *f, struct fsm_queue_depth *out);
void	fsm_queue_depth_fini(struct fsm_queue_depth *q);

/* A submission remembered under an Idempotency-Key. */
struct fsm_idempotency {
	char		 workload_id[MODEL_ID_LEN + 1];	/* its (first) workload */
	uint8_t		 body_hash[32];
	uint64_t	 at_ms;
};

/* The submission made under (customer_id, key) no earlier than
 * now_ms - CMD_IDEMPOTENCY_TTL_MS.  ERR_NOTFOUND if none. */
int	fsm_idempotency_get(struct fsm *f, const char *customer_id, const char *key,
	    uint64_t now_ms, struct fsm_idempotency *out);

#endif /* SRC_FSM_H */
