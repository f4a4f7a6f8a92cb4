/*
 * The state machine (see fsm.h for the contract).  Committed commands are
 * applied to LMDB through storage/kv: fsm_apply opens one write transaction
 * per batch lazily and fsm_flush commits it; each command runs in a nested
 * transaction that is aborted when the command is rejected, so a rejection
 * changes nothing.  Everything a command does is a function of the store and
 * the command alone (time is cmd.now_ms, jitter is a hash), which is what
 * keeps every node's store identical.
 *
 * Layout (integers are big-endian so LMDB's byte order is numeric order;
 * "‖" is concatenation):
 *
 *	meta		"applied", "next_seq", "next_audit", "next_customer",
 *			"layout" -> be64;
 *			"counts" -> be64 × WL__COUNT (workloads per status);
 *			"tier_pending" -> be64 × TIER__COUNT (PENDING per tier)
 *	workloads	id -> workload (msgpack, model_workload_encode)
 *	pending		be64(highest queue key first) ‖ be64(seq) -> id
 *			(see fsm_pending_key)
 *	by_status	status byte ‖ be64(seq) -> id
 *	by_customer	customer ‖ 0 ‖ status byte ‖ be64(seq) -> id
 *	by_created	be64(seq) -> id
 *	by_worker	worker id ‖ 0 ‖ workload id -> empty (slot holders only)
 *	checkpoints	workload id ‖ be64(checkpoint seq) ->
 *			{attempt, raw_len, at, data (one whole zstd frame)}
 *	checkpoint_chunks  workload id ‖ be64(checkpoint seq) ‖ be32(chunk) ->
 *			{attempt, count, total, raw_len, hash, data}: the chunks
 *			of a checkpoint not yet whole; never read for resume
 *	workers		worker id -> worker record
 *	keys		sha-256 hash -> api key; key_ids: key id -> hash
 *	secrets		name -> 32-byte hash
 *	audit		be64(audit seq) -> event; audit_by_workload:
 *			workload id ‖ be64(audit seq) -> empty; audit_by_customer:
 *			customer ‖ 0 ‖ be64(audit seq) -> empty
 *	usage		customer -> be64(PENDING) ‖ be64(SCHEDULED+RUNNING+PAUSING),
 *			absent when both are 0
 *	customers	customer id -> customer (msgpack, model_customer_encode);
 *			customer_names: name -> id; customers_by_created:
 *			be64(creation seq) -> id
 *	idempotency	customer ‖ 0 ‖ key -> first workload id ‖ body hash ‖
 *			be64(at); idempotency_by_time: be64(at) ‖ customer ‖ 0 ‖
 *			key -> empty (finds the expired ones, oldest first)
 *	nodes		be64(coordinator id) -> node (msgpack, model_node_encode)
 *
 * The per-status, per-tier and per-customer counters change in
 * fsm_wl_index, the one place a workload's index entries move, so they are
 * exact whatever command moved it, and they travel in snapshots with the
 * rest of the file.
 *
 * The meta counters are kept in memory for the open batch (struct
 * fsm_meta) and written into the batch transaction by fsm_flush, together
 * with the applied index: the index and the changes it covers always commit
 * together.
 *
 * Readers take the rwlock in read mode around their read transaction;
 * fsm_restore takes it in write mode while it swaps the environment file.
 */
#include "src/fsm.h"
#include "src/holdings.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <zstd.h>

#include "net/wire.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/strs.h"
#include "storage/kv.h"

#define FSM_CKPT_KEEP		3			/* checkpoints kept per workload, by default */
#define FSM_CKPT_MAX		((uint64_t)256 << 20)	/* largest decompressed checkpoint */
#define FSM_CKPT_CHUNK_MAX	((uint64_t)4 << 20)	/* largest chunk of one */
#define FSM_BACKOFF_BASE_MS	1000
#define FSM_BACKOFF_MAX_MS	300000
#define FSM_SNAP_MAGIC		"NYSNAP1"		/* 8 bytes with its NUL */
#define FSM_SNAP_HDR		16			/* magic + be64 raw size */
/* zstd level 1: on a 190 MB store of 100,000 workloads it compressed in
 * 0.31 s to 27.9 MB, level 3 in 0.6-0.8 s to 28.5 MB. */
#define FSM_SNAP_LEVEL		1
#define FSM_KEY_MAX		480
#define FSM_LIST_MAX		1000
#define FSM_IO_CHUNK		((size_t)1 << 20)
#define FSM_LAYOUT		3	/* 2: usage counters, customers, idempotency;
					 * 3: pending keyed by queue key (aging) */
#define FSM_USAGE_LEN		16	/* be64 pending ‖ be64 slot holders */
#define FSM_IDEM_VAL_LEN	(MODEL_ID_LEN + 32 + 8)
#define FSM_IDEM_KEY_MAX	255	/* longest Idempotency-Key accepted */
#define FSM_IDEM_PURGE		16	/* expired records dropped per SUBMIT */
#define FSM_DETAIL_MAX		512

struct fsm_meta {
	uint64_t	 next_seq;		/* seq of the next submitted workload */
	uint64_t	 next_audit;		/* seq of the next audit event */
	uint64_t	 next_customer;		/* creation seq of the next customer */
	uint64_t	 counts[WL__COUNT];	/* workloads per status */
	uint64_t	 tier_pending[TIER__COUNT]; /* PENDING workloads per tier */
};

struct fsm {
	char			*dir;
	char			*path;		/* <dir>/state.mdb */
	char			*lock_path;	/* <dir>/state.mdb-lock */
	char			*snap_path;	/* where older versions copied the store */
	char			*restore_path;	/* fsm_restore's incoming file */
	char			*old_path;	/* the replaced file during a restore */
	uint64_t		 map_size;
	struct kv		*kv;		/* NULL only if a restore failed badly */
	pthread_rwlock_t	 lock;		/* read: readers; write: restore */
	bool			 lock_init;
	struct kv_txn		*batch;		/* open batch, or NULL */
	_Atomic uint64_t	 applied;	/* last applied index (batch included) */
	struct fsm_meta		 meta;		/* as of the open batch */
	int			 failed;	/* sticky fatal store error */
	char			 fail_msg[ERRBUF_LEN];
	struct fsm_event	*ev;		/* events since the last take */
	size_t			 n_ev;
	size_t			 cap_ev;
	struct holdings		*holdings;	/* what each worker holds, in memory */
};

/* What one command's application sees. */
struct fsm_ctx {
	struct fsm		*f;
	struct kv_txn		*txn;		/* the command's nested txn */
	struct cmd		*c;		/* fsm_apply's: records may be moved out */
	struct fsm_meta		 meta;		/* working copy */
	struct errbuf		*eb;
	struct fsm_usage_delta	*ud;		/* usage changes, written once at the end */
	size_t			 n_ud;
	struct fsm_hold_delta	*hd;		/* holdings changes, made on commit */
	size_t			 n_hd;
	/* The stored status and worker of the workload this command last
	 * loaded or wrote: fsm_wl_put moves its index entries without
	 * reading the record again. */
	bool			 seen_valid;
	char			 seen_id[MODEL_ID_LEN + 1];
	enum wl_status		 seen_status;
	char			*seen_worker;	/* owned, or NULL */
	/* The batch commands (fsm_cmd_checks_first) keep each worker record
	 * they read here, change it in place and write it once at the end:
	 * a batch placing or finishing many workloads on one worker decodes
	 * and encodes its record once. */
	struct fsm_kept_worker	*kept;
	size_t			 n_kept, cap_kept;
	/* Open addressing over kept, by id: an ASSIGN of thousands of
	 * placements over a thousand workers looks one up per placement. */
	uint32_t		*kept_hash;	/* index + 1; 0: empty */
	size_t			 cap_hash;	/* a power of 2, or 0 */
};

/* A worker record a batch command keeps (rec first: fsm_worker_changed
 * finds the entry from a pointer to it). */
struct fsm_kept_worker {
	struct worker_rec	 rec;
	bool			 dirty;
};

/* A workload starting (sign +1) or ending (-1) its hold on a worker's
 * slot: given to f->holdings only once the command's transaction commits,
 * so that a rejected command leaves the in-memory view as it was. */
struct fsm_hold_delta {
	char			*worker_id;	/* owned */
	char			*type;		/* owned */
	struct resources	 req;
	int			 sign;
};

/* A change to one customer's usage counters, summed over a command: a
 * batch of 1000 submissions writes the counter once, not 1000 times. */
struct fsm_usage_delta {
	char		*customer_id;	/* owned */
	int64_t		 pending;
	int64_t		 active;
};

/* A key under construction; an overflow is reported once, at use. */
struct fsm_key {
	uint8_t		 b[FSM_KEY_MAX];
	size_t		 len;
	bool		 over;
};

/* Room for element n of an array of capacity *cap, growing it by doubling:
 * the array (moved, perhaps), or NULL on OOM with the old one untouched. */
static void *
fsm_array_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t	 ncap;
	void	*p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if ((p = realloc(arr, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return p;
}


static const char *const fsm_outcome_names[OUTCOME__COUNT] = {
	[OUTCOME_SUCCEEDED] = "succeeded",
	[OUTCOME_FAILED] = "failed",
	[OUTCOME_CANCELLED] = "cancelled",
	[OUTCOME_ABANDONED] = "abandoned",
};

/* ---- small helpers ---- */

static void
fsm_be64_put(uint8_t *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
fsm_be64_get(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
fsm_key_bytes(struct fsm_key *k, const void *p, size_t n)
{
	if (k->over || n > sizeof k->b - k->len) {
		k->over = true;
		return;
	}
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

static void
fsm_key_str(struct fsm_key *k, const char *s)
{
	fsm_key_bytes(k, s, strlen(s));
}

static void
fsm_key_u8(struct fsm_key *k, uint8_t v)
{
	fsm_key_bytes(k, &v, 1);
}

static void
fsm_key_u64(struct fsm_key *k, uint64_t v)
{
	uint8_t	 b[8];

	fsm_be64_put(b, v);
	fsm_key_bytes(k, b, sizeof b);
}

static void
fsm_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
fsm_key_u32(struct fsm_key *k, uint32_t v)
{
	uint8_t	 b[4];

	fsm_be32_put(b, v);
	fsm_key_bytes(k, b, sizeof b);
}

static uint32_t
fsm_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static bool
fsm_rejection(int rc)
{
	return rc == ERR_NOTFOUND || rc == ERR_CONFLICT || rc == ERR_STALE ||
	    rc == ERR_INVAL || rc == ERR_EXISTS || rc == ERR_QUEUEFULL ||
	    rc == ERR_OVERLOADED;
}

/* A customer id as the indexes accept it: 1..MODEL_NAME_MAX bytes ("admin",
 * a customer's UUID, or an older free-form name). */
static bool
fsm_cust_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= MODEL_NAME_MAX;
}

static char *
fsm_path_join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 2;
	char	*p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s%s", a, b);
	return p;
}

static int
fsm_unlink(const char *path, struct errbuf *eb)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return err_setf(eb, ERR_IO, "remove %s: %s", path, strerror(errno));
	return 0;
}

/* ---- record encoding ---- */

static int
fsm_doc_open(const struct kv_val *v, struct wire_doc **d, const char *what,
    struct errbuf *eb)
{
	int	 rc;

	if ((rc = wire_doc_decode(d, v->data, v->len)) == ERR_NOMEM)
		return err_setf(eb, ERR_NOMEM, "decode %s: out of memory", what);
	if (rc != 0)
		return err_setf(eb, ERR_CORRUPT, "stored %s is not valid msgpack",
		    what);
	return 0;
}

static int
fsm_decoded(int rc, const char *what, struct errbuf *eb)
{
	if (rc == 0)
		return 0;
	if (rc == ERR_NOMEM)
		return err_setf(eb, ERR_NOMEM, "decode %s: out of memory", what);
	return err_setf(eb, ERR_CORRUPT, "stored %s is malformed", what);
}

/* Stores the writer's bytes under key (replacing, or as kv_insert's mode
 * says when insert is non-NULL) and frees the writer. */
static int
fsm_store_writer(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    struct wire_writer *w, const enum kv_insert_mode *insert, struct errbuf *eb)
{
	const void	*p;
	size_t		 len;
	int		 rc;

	if (wire_writer_error(w) != 0) {
		wire_writer_free(w);
		return err_setf(eb, ERR_NOMEM, "encode: out of memory");
	}
	p = wire_writer_data(w, &len);
	rc = insert == NULL ? kv_put(t, db, key, klen, p, len, eb) :
	    kv_insert(t, db, key, klen, p, len, *insert, eb);
	wire_writer_free(w);
	return rc;
}

/* Puts the writer's bytes under key, replacing, and frees the writer. */
static int
fsm_put_writer(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    struct wire_writer *w, struct errbuf *eb)
{
	return fsm_store_writer(t, db, key, klen, w, NULL, eb);
}

/* Decodes a stored record of one kind into out (a zeroed record). */
typedef int (*fsm_decode_cb)(const struct wire_val *v, void *out);

/* Reads the record under key in db and decodes it.  ERR_NOTFOUND (naming
 * what and the key) if absent; ERR_CORRUPT if it does not decode. */
static int
fsm_record_read(struct kv_txn *t, enum kv_db db, const char *key, size_t klen,
    const char *what, fsm_decode_cb decode, void *out, struct errbuf *eb)
{
	struct wire_doc	*d;
	struct kv_val	 v;
	int		 rc;

	if ((rc = kv_get(t, db, key, klen, &v, eb)) != 0) {
		if (rc == ERR_NOTFOUND)
			return err_setf(eb, ERR_NOTFOUND, "no %s %s", what, key);
		return rc;
	}
	if ((rc = fsm_doc_open(&v, &d, what, eb)) != 0)
		return rc;
	rc = decode(wire_doc_root(d), out);
	wire_doc_free(d);
	return fsm_decoded(rc, what, eb);
}

static int
fsm_decode_workload(const struct wire_val *v, void *out)
{
	return model_workload_decode(v, out);
}

static int
fsm_decode_worker(const struct wire_val *v, void *out)
{
	return model_worker_decode(v, out);
}

static int
fsm_decode_customer(const struct wire_val *v, void *out)
{
	return model_customer_decode(v, out);
}

/* The directory's record of node id (its key is binary, which
 * fsm_record_read's message cannot show). */
static int
fsm_node_read(struct kv_txn *t, uint64_t id, struct node_rec *out,
    struct errbuf *eb)
{
	struct wire_doc	*d;
	struct kv_val	 v;
	uint8_t		 key[8];
	int		 rc;

	fsm_be64_put(key, id);
	if ((rc = kv_get(t, KV_DB_NODES, key, sizeof key, &v, eb)) != 0)
		return rc == ERR_NOTFOUND ? err_setf(eb, ERR_NOTFOUND,
		    "no node %" PRIu64, id) : rc;
	if ((rc = fsm_doc_open(&v, &d, "node", eb)) != 0)
		return rc;
	rc = model_node_decode(wire_doc_root(d), out);
	wire_doc_free(d);
	return fsm_decoded(rc, "node", eb);
}

static int
fsm_wl_read(struct kv_txn *t, const char *id, struct workload *out,
    struct errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (id == NULL || !model_id_valid(id))
		return err_setf(eb, ERR_NOTFOUND, "no workload %s", id ? id : "");
	return fsm_record_read(t, KV_DB_WORKLOADS, id, MODEL_ID_LEN, "workload",
	    fsm_decode_workload, out, eb);
}

static int
fsm_worker_read(struct kv_txn *t, const char *id, struct worker_rec *out,
    struct errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (id == NULL || !model_name_valid(id))
		return err_setf(eb, ERR_NOTFOUND, "no worker %s", id ? id : "");
	return fsm_record_read(t, KV_DB_WORKERS, id, strlen(id), "worker",
	    fsm_decode_worker, out, eb);
}

static int
fsm_worker_write(struct kv_txn *t, const struct worker_rec *wr, struct errbuf *eb)
{
	struct wire_writer	*w;

	if ((w = wire_writer_new()) == NULL)
		return err_setf(eb, ERR_NOMEM, "encode worker: out of memory");
	model_worker_encode(w, wr);
	return fsm_put_writer(t, KV_DB_WORKERS, wr->id, strlen(wr->id), w, eb);
}

static int
fsm_key_decode(const struct kv_val *v, struct api_key *out, struct errbuf *eb)
{
	struct wire_doc	*d;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_doc_open(v, &d, "api key", eb)) != 0)
		return rc;
	rc = model_api_key_decode(wire_doc_root(d), out);
	wire_doc_free(d);
	return fsm_decoded(rc, "api key", eb);
}

/* ---- meta ---- */

static int
fsm_meta_get_u64(struct kv_txn *t, const char *name, uint64_t def,
    uint64_t *out, struct errbuf *eb)
{
	struct kv_val	 v;
	int		 rc;

	if ((rc = kv_get(t, KV_DB_META, name, strlen(name), &v, eb)) != 0) {
		if (rc != ERR_NOTFOUND)
			return rc;
		*out = def;
		return 0;
	}
	if (v.len != 8)
		return err_setf(eb, ERR_CORRUPT, "meta %s: %zu bytes", name, v.len);
	*out = fsm_be64_get(v.data);
	return 0;
}

/* An array of n be64 counters under name; absent means all zero. */
static int
fsm_meta_get_vec(struct kv_txn *t, const char *name, uint64_t *out, size_t n,
    struct errbuf *eb)
{
	struct kv_val	 v;
	size_t		 i;
	int		 rc;

	if ((rc = kv_get(t, KV_DB_META, name, strlen(name), &v, eb)) != 0) {
		if (rc != ERR_NOTFOUND)
			return rc;
		memset(out, 0, n * sizeof out[0]);
		return 0;
	}
	if (v.len != n * 8)
		return err_setf(eb, ERR_CORRUPT, "meta %s: %zu bytes", name, v.len);
	for (i = 0; i < n; i++)
		out[i] = fsm_be64_get((const uint8_t *)v.data + 8 * i);
	return 0;
}

static int
fsm_meta_put_vec(struct kv_txn *t, const char *name, const uint64_t *v,
    size_t n, struct errbuf *eb)
{
	uint8_t	 b[8 * WL__COUNT];	/* the longest vector */
	size_t	 i;

	_Static_assert((int)TIER__COUNT <= (int)WL__COUNT, "meta vector room");

	for (i = 0; i < n; i++)
		fsm_be64_put(b + 8 * i, v[i]);
	return kv_put(t, KV_DB_META, name, strlen(name), b, 8 * n, eb);
}

static int
fsm_meta_get_counts(struct kv_txn *t, uint64_t counts[WL__COUNT],
    struct errbuf *eb)
{
	return fsm_meta_get_vec(t, "counts", counts, WL__COUNT, eb);
}

static int
fsm_meta_load(struct kv_txn *t, struct fsm_meta *m, uint64_t *applied,
    struct errbuf *eb)
{
	int	 rc;

	if ((rc = fsm_meta_get_u64(t, "applied", 0, applied, eb)) != 0 ||
	    (rc = fsm_meta_get_u64(t, "next_seq", 1, &m->next_seq, eb)) != 0 ||
	    (rc = fsm_meta_get_u64(t, "next_audit", 1, &m->next_audit, eb)) != 0 ||
	    (rc = fsm_meta_get_u64(t, "next_customer", 1, &m->next_customer,
	    eb)) != 0 ||
	    (rc = fsm_meta_get_vec(t, "tier_pending", m->tier_pending,
	    TIER__COUNT, eb)) != 0)
		return rc;
	return fsm_meta_get_counts(t, m->counts, eb);
}

static int
fsm_meta_put_u64(struct kv_txn *t, const char *name, uint64_t v,
    struct errbuf *eb)
{
	uint8_t	 b[8];

	fsm_be64_put(b, v);
	return kv_put(t, KV_DB_META, name, strlen(name), b, sizeof b, eb);
}

static int
fsm_meta_save(struct kv_txn *t, const struct fsm_meta *m, uint64_t applied,
    struct errbuf *eb)
{
	int	 rc;

	if ((rc = fsm_meta_put_u64(t, "applied", applied, eb)) != 0 ||
	    (rc = fsm_meta_put_u64(t, "next_seq", m->next_seq, eb)) != 0 ||
	    (rc = fsm_meta_put_u64(t, "next_audit", m->next_audit, eb)) != 0 ||
	    (rc = fsm_meta_put_u64(t, "next_customer", m->next_customer,
	    eb)) != 0 ||
	    (rc = fsm_meta_put_u64(t, "layout", FSM_LAYOUT, eb)) != 0 ||
	    (rc = fsm_meta_put_vec(t, "tier_pending", m->tier_pending,
	    TIER__COUNT, eb)) != 0)
		return rc;
	return fsm_meta_put_vec(t, "counts", m->counts, WL__COUNT, eb);
}

/* ---- per-customer usage ---- */

/* PENDING and slot-holding workloads of cust; zero if it has none. */
static int
fsm_usage_get(struct kv_txn *t, const char *cust, uint64_t *pending,
    uint64_t *active, struct errbuf *eb)
{
	struct kv_val	 v;
	int		 rc;

	*pending = *active = 0;
	if (!fsm_cust_ok(cust))
		return 0;
	if ((rc = kv_get(t, KV_DB_USAGE, cust, strlen(cust), &v, eb)) != 0)
		return rc == ERR_NOTFOUND ? 0 : rc;
	if (v.len != FSM_USAGE_LEN)
		return err_setf(eb, ERR_CORRUPT, "usage of %s: %zu bytes", cust,
		    v.len);
	*pending = fsm_be64_get(v.data);
	*active = fsm_be64_get((const uint8_t *)v.data + 8);
	return 0;
}

/* Adds dp to cust's PENDING count and da to its slot holders (each -1, 0
 * or +1); a record that drops to zero is deleted, so the usage database
 * lists exactly the customers with live work. */
static int
fsm_usage_add(struct kv_txn *t, const char *cust, int dp, int da,
    struct errbuf *eb)
{
	uint64_t	 p, a;
	uint8_t		 b[FSM_USAGE_LEN];
	int		 rc;

	if (!fsm_cust_ok(cust))
		return err_setf(eb, ERR_CORRUPT, "workload without a customer");
	if ((rc = fsm_usage_get(t, cust, &p, &a, eb)) != 0)
		return rc;
	if (dp > 0)
		p++;
	else if (dp < 0 && p > 0)
		p--;
	if (da > 0)
		a++;
	else if (da < 0 && a > 0)
		a--;
	if (p == 0 && a == 0) {
		rc = kv_del(t, KV_DB_USAGE, cust, strlen(cust), eb);
		return rc == ERR_NOTFOUND ? 0 : rc;
	}
	fsm_be64_put(b, p);
	fsm_be64_put(b + 8, a);
	return kv_put(t, KV_DB_USAGE, cust, strlen(cust), b, sizeof b, eb);
}

/* Adds to the command's pending usage change of cust. */
static int
fsm_usage_defer(struct fsm_ctx *x, const char *cust, int dp, int da)
{
	struct fsm_usage_delta	*v;
	size_t			 i;

	if (!fsm_cust_ok(cust))
		return err_setf(x->eb, ERR_CORRUPT, "workload without a customer");
	for (i = 0; i < x->n_ud; i++)
		if (strcmp(x->ud[i].customer_id, cust) == 0)
			break;
	if (i == x->n_ud) {
		if ((v = realloc(x->ud, (x->n_ud + 1) * sizeof *v)) == NULL)
			return err_setf(x->eb, ERR_NOMEM, "usage: out of memory");
		x->ud = v;
		if ((v[i].customer_id = strdup(cust)) == NULL)
			return err_setf(x->eb, ERR_NOMEM, "usage: out of memory");
		v[i].pending = v[i].active = 0;
		x->n_ud++;
	}
	x->ud[i].pending += dp;
	x->ud[i].active += da;
	return 0;
}

/* Writes the command's usage changes into its transaction. */
static int
fsm_usage_flush(struct fsm_ctx *x)
{
	struct fsm_usage_delta	*d;
	uint64_t		 p, a;
	uint8_t			 b[FSM_USAGE_LEN];
	size_t			 i;
	int			 rc;

	for (i = 0; i < x->n_ud; i++) {
		d = &x->ud[i];
		if (d->pending == 0 && d->active == 0)
			continue;
		if ((rc = fsm_usage_get(x->txn, d->customer_id, &p, &a, x->eb)) != 0)
			return rc;
		p = d->pending < 0 && (uint64_t)-d->pending > p ? 0 :
		    (uint64_t)((int64_t)p + d->pending);
		a = d->active < 0 && (uint64_t)-d->active > a ? 0 :
		    (uint64_t)((int64_t)a + d->active);
		if (p == 0 && a == 0) {
			rc = kv_del(x->txn, KV_DB_USAGE, d->customer_id,
			    strlen(d->customer_id), x->eb);
			if (rc != 0 && rc != ERR_NOTFOUND)
				return rc;
			continue;
		}
		fsm_be64_put(b, p);
		fsm_be64_put(b + 8, a);
		if ((rc = kv_put(x->txn, KV_DB_USAGE, d->customer_id,
		    strlen(d->customer_id), b, sizeof b, x->eb)) != 0)
			return rc;
	}
	return 0;
}

static void
fsm_usage_deltas_free(struct fsm_ctx *x)
{
	size_t	 i;

	for (i = 0; i < x->n_ud; i++)
		free(x->ud[i].customer_id);
	free(x->ud);
	x->ud = NULL;
	x->n_ud = 0;
}

/* ---- holdings ---- */

/* Notes that w starts (sign +1) or ends (-1) holding its worker's slot. */
static int
fsm_hold_defer(struct fsm_ctx *x, const struct workload *w, int sign)
{
	struct fsm_hold_delta	*v, *d;

	if (w->type == NULL)
		return 0;
	if ((v = realloc(x->hd, (x->n_hd + 1) * sizeof *v)) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "holdings: out of memory");
	x->hd = v;
	d = &v[x->n_hd];
	d->req = w->requests;
	d->sign = sign;
	if ((d->worker_id = strdup(w->worker_id)) == NULL ||
	    (d->type = strdup(w->type)) == NULL) {
		free(d->worker_id);
		return err_setf(x->eb, ERR_NOMEM, "holdings: out of memory");
	}
	x->n_hd++;
	return 0;
}

static void
fsm_hold_deltas_free(struct fsm_ctx *x)
{
	size_t	 i;

	for (i = 0; i < x->n_hd; i++) {
		free(x->hd[i].worker_id);
		free(x->hd[i].type);
	}
	free(x->hd);
	x->hd = NULL;
	x->n_hd = 0;
}

/* The command committed: its holdings changes take effect. */
static int
fsm_hold_deltas_apply(struct fsm_ctx *x)
{
	const struct fsm_hold_delta	*d;
	size_t				 i;
	int				 rc = 0;

	for (i = 0; i < x->n_hd && rc == 0; i++) {
		d = &x->hd[i];
		rc = holdings_change(x->f->holdings, d->worker_id, d->type, &d->req,
		    d->sign);
	}
	fsm_hold_deltas_free(x);
	return rc;
}

/* ---- events ---- */

static int
fsm_event_add(struct fsm_ctx *x, enum fsm_event_type type, const char *wl_id,
    uint32_t attempt, const char *worker_id)
{
	struct fsm		*f = x->f;
	struct fsm_event	*ev, *e;
	size_t			 cap;

	if (f->n_ev == f->cap_ev) {
		cap = f->cap_ev ? f->cap_ev * 2 : 16;
		if ((ev = realloc(f->ev, cap * sizeof *ev)) == NULL)
			return err_setf(x->eb, ERR_NOMEM, "event: out of memory");
		f->ev = ev;
		f->cap_ev = cap;
	}
	e = &f->ev[f->n_ev];
	memset(e, 0, sizeof *e);
	e->type = type;
	if (wl_id != NULL)
		snprintf(e->workload_id, sizeof e->workload_id, "%s", wl_id);
	e->attempt = attempt;
	if (worker_id != NULL && (e->worker_id = strdup(worker_id)) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "event: out of memory");
	f->n_ev++;
	return 0;
}

/* Drops the events after mark (those of a rejected command). */
static void
fsm_event_truncate(struct fsm *f, size_t mark)
{
	while (f->n_ev > mark)
		free(f->ev[--f->n_ev].worker_id);
}

/* ---- audit ---- */

/* Records one audit event about workload wl_id (or none) and customer cust
 * (or none), indexed under both. */
static int
fsm_audit(struct fsm_ctx *x, const char *wl_id, const char *cust,
    const char *kind, const char *from, const char *to, const char *detail)
{
	struct wire_writer	*w;
	struct fsm_key		 k = { .len = 0 };
	uint8_t			 key[8];
	uint64_t		 seq = x->meta.next_audit++;
	int			 rc;

	if (cust != NULL && !fsm_cust_ok(cust))
		cust = NULL;
	if ((w = wire_writer_new()) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "audit: out of memory");
	wire_put_map(w, 10);
	wire_put_str(w, "seq");
	wire_put_uint(w, seq);
	wire_put_str(w, "at");
	wire_put_uint(w, x->c->now_ms);
	wire_put_str(w, "workload_id");
	wire_put_str(w, wl_id != NULL ? wl_id : "");
	wire_put_str(w, "customer_id");
	wire_put_str(w, cust);
	wire_put_str(w, "kind");
	wire_put_str(w, kind);
	wire_put_str(w, "from");
	wire_put_str(w, from);
	wire_put_str(w, "to");
	wire_put_str(w, to);
	wire_put_str(w, "actor");
	wire_put_str(w, x->c->actor);
	wire_put_str(w, "request_id");
	wire_put_str(w, x->c->request_id);
	wire_put_str(w, "detail");
	wire_put_str(w, detail);
	fsm_be64_put(key, seq);
	if ((rc = fsm_store_writer(x->txn, KV_DB_AUDIT, key, sizeof key, w,
	    &(enum kv_insert_mode){ KV_INSERT_LAST }, x->eb)) != 0)
		return rc;
	if (cust != NULL) {
		fsm_key_str(&k, cust);
		fsm_key_u8(&k, 0);
		fsm_key_u64(&k, seq);
		if ((rc = kv_put(x->txn, KV_DB_AUDIT_BY_CUSTOMER, k.b, k.len, "",
		    0, x->eb)) != 0)
			return rc;
	}
	if (wl_id == NULL || *wl_id == '\0')
		return 0;
	memset(&k, 0, sizeof k);
	fsm_key_str(&k, wl_id);
	fsm_key_u64(&k, seq);
	return kv_put(x->txn, KV_DB_AUDIT_BY_WORKLOAD, k.b, k.len, "", 0, x->eb);
}

/* A status transition of w (from < 0: none, a new workload). */
static int
fsm_audit_status(struct fsm_ctx *x, const struct workload *w, int from,
    const char *detail)
{
	return fsm_audit(x, w->id, w->customer_id, "status",
	    from < 0 ? NULL : wl_status_name((enum wl_status)from),
	    wl_status_name(w->status), detail);
}

/* ---- workload indexes ---- */

static int
fsm_idx(struct fsm_ctx *x, enum kv_db db, const struct fsm_key *k, bool add,
    const void *val, size_t vlen)
{
	int	 rc;

	if (k->over)
		return err_setf(x->eb, ERR_INVAL, "index key for %s too long",
		    kv_db_name(db));
	if (add)
		return kv_put(x->txn, db, k->b, k->len, val, vlen, x->eb);
	rc = kv_del(x->txn, db, k->b, k->len, x->eb);
	if (rc == ERR_NOTFOUND)
		return err_setf(x->eb, ERR_CORRUPT, "index %s lacks an entry",
		    kv_db_name(db));
	return rc;
}

/* The pending index key of w: its queue key (workload_queue_key: priority,
 * tier weight and aging folded into one number fixed at submission),
 * highest first, then submission order. */
static void
fsm_pending_key(struct fsm_key *k, const struct workload *w)
{
	/* Flipping the sign bit maps int64 order onto uint64 order. */
	uint64_t	 order = (uint64_t)w->queue_key ^ ((uint64_t)1 << 63);

	memset(k, 0, sizeof *k);
	fsm_key_u64(k, UINT64_MAX - order);
	fsm_key_u64(k, w->seq);
}

/* Adds or removes the status-dependent index entries of w and counts it;
 * keep_slot leaves its slot-holder entry (and holding) alone, for a move
 * between two statuses that both hold the same slot. */
static int
fsm_wl_index(struct fsm_ctx *x, const struct workload *w, bool add,
    bool keep_slot)
{
	struct fsm_key	 k;
	uint8_t		 att[4];
	int		 rc;

	if ((unsigned)w->status >= WL__COUNT)
		return err_setf(x->eb, ERR_CORRUPT, "workload %s: bad status",
		    w->id);
	memset(&k, 0, sizeof k);
	fsm_key_u8(&k, (uint8_t)w->status);
	fsm_key_u64(&k, w->seq);
	if ((rc = fsm_idx(x, KV_DB_BY_STATUS, &k, add, w->id, MODEL_ID_LEN)) != 0)
		return rc;

	memset(&k, 0, sizeof k);
	fsm_key_str(&k, w->customer_id);
	fsm_key_u8(&k, 0);
	fsm_key_u8(&k, (uint8_t)w->status);
	fsm_key_u64(&k, w->seq);
	if ((rc = fsm_idx(x, KV_DB_BY_CUSTOMER, &k, add, w->id,
	    MODEL_ID_LEN)) != 0)
		return rc;

	if (w->status == WL_PENDING) {
		fsm_pending_key(&k, w);
		if ((rc = fsm_idx(x, KV_DB_PENDING, &k, add, w->id,
		    MODEL_ID_LEN)) != 0)
			return rc;
	}
	if (wl_status_holds_slot(w->status) && w->worker_id != NULL &&
	    !keep_slot) {
		memset(&k, 0, sizeof k);
		fsm_key_str(&k, w->worker_id);
		fsm_key_u8(&k, 0);
		fsm_key_bytes(&k, w->id, MODEL_ID_LEN);
		/* The value is the attempt holding the slot, so that the
		 * delivery of assignments can tell, from the index alone, which
		 * of a worker's workloads it already sent or saw started. */
		fsm_be32_put(att, w->attempt);
		if ((rc = fsm_idx(x, KV_DB_BY_WORKER, &k, add, att,
		    sizeof att)) != 0 ||
		    (rc = fsm_hold_defer(x, w, add ? 1 : -1)) != 0)
			return rc;
	}
	if (w->status == WL_PENDING || wl_status_holds_slot(w->status)) {
		int	 d = add ? 1 : -1;

		if ((rc = fsm_usage_defer(x, w->customer_id,
		    w->status == WL_PENDING ? d : 0,
		    w->status == WL_PENDING ? 0 : d)) != 0)
			return rc;
	}
	if (w->status == WL_PENDING && (unsigned)w->tier < TIER__COUNT) {
		if (add)
			x->meta.tier_pending[w->tier]++;
		else if (x->meta.tier_pending[w->tier] > 0)
			x->meta.tier_pending[w->tier]--;
	}
	if (add)
		x->meta.counts[w->status]++;
	else if (x->meta.counts[w->status] > 0)
		x->meta.counts[w->status]--;
	return 0;
}

static void
fsm_seen_forget(struct fsm_ctx *x)
{
	free(x->seen_worker);
	x->seen_worker = NULL;
	x->seen_valid = false;
}

/* Remembers w's stored status and worker (or forgets, out of memory). */
static void
fsm_seen_note(struct fsm_ctx *x, const struct workload *w)
{
	fsm_seen_forget(x);
	if (w->worker_id != NULL && (x->seen_worker = strdup(w->worker_id)) == NULL)
		return;
	memcpy(x->seen_id, w->id, sizeof x->seen_id);
	x->seen_status = w->status;
	x->seen_valid = true;
}

/* Reads workload id in the command's transaction, remembering what
 * fsm_wl_put needs to know of the stored version. */
static int
fsm_wl_load(struct fsm_ctx *x, const char *id, struct workload *w)
{
	int	 rc;

	if ((rc = fsm_wl_read(x->txn, id, w, x->eb)) == 0)
		fsm_seen_note(x, w);
	return rc;
}

/* Writes w (updated now), moving its index entries if its status or worker
 * changed since the stored version; is_new skips reading a stored version
 * (a submission's existence was checked already). */
static int	fsm_ckpt_chunks_drop(struct fsm_ctx *x, const char *id,
		    uint64_t keep_seq);

static int
fsm_wl_put(struct fsm_ctx *x, struct workload *w, bool is_new)
{
	struct workload		 old;
	struct wire_writer	*wr;
	bool			 exists = false, old_owned = false;
	int			 rc;

	memset(&old, 0, sizeof old);
	if (!is_new && x->seen_valid && strcmp(x->seen_id, w->id) == 0) {
		/* Loaded by this command: of the fields the indexes use, only
		 * the status and the worker ever change. */
		old = *w;
		old.status = x->seen_status;
		old.worker_id = x->seen_worker;
		exists = true;
	} else if (!is_new) {
		rc = fsm_wl_read(x->txn, w->id, &old, x->eb);
		if (rc != 0 && rc != ERR_NOTFOUND)
			return rc;
		exists = rc == 0;
		if (!exists)
			memset(&old, 0, sizeof old);
		old_owned = true;
	}
	w->updated_ms = x->c->now_ms;
	if (!exists || old.status != w->status ||
	    !str_eq(old.worker_id, w->worker_id)) {
		/* SCHEDULED to RUNNING, say: the same slot, still held. */
		bool	 same_slot = exists && old.worker_id != NULL &&
		    wl_status_holds_slot(old.status) &&
		    wl_status_holds_slot(w->status) &&
		    str_eq(old.worker_id, w->worker_id);

		if (exists &&
		    (rc = fsm_wl_index(x, &old, false, same_slot)) != 0)
			goto out;
		if ((rc = fsm_wl_index(x, w, true, same_slot)) != 0)
			goto out;
	}
	if ((wr = wire_writer_new()) == NULL) {
		rc = err_setf(x->eb, ERR_NOMEM, "encode workload: out of memory");
		goto out;
	}
	/* Chunks of a checkpoint never finished are of no use once the
	 * workload has ended. */
	if (exists && !wl_status_is_terminal(old.status) &&
	    wl_status_is_terminal(w->status) &&
	    (rc = fsm_ckpt_chunks_drop(x, w->id, 0)) != 0) {
		wire_writer_free(wr);
		goto out;
	}
	model_workload_encode(wr, w);
	/* A new record is inserted, not put: an id already taken is refused
	 * by the same B-tree descent, with no lookup before it. */
	rc = fsm_store_writer(x->txn, KV_DB_WORKLOADS, w->id, MODEL_ID_LEN, wr,
	    is_new ? &(enum kv_insert_mode){ KV_INSERT_NEW } : NULL, x->eb);
	if (rc == ERR_EXISTS)
		rc = err_setf(x->eb, ERR_EXISTS, "workload %s exists", w->id);
	else if (rc == 0)
		fsm_seen_note(x, w);
out:
	if (old_owned)
		workload_fini(&old);
	return rc;
}

/* Stores w, moving its index entries if its status or worker changed. */
static int
fsm_wl_store(struct fsm_ctx *x, struct workload *w)
{
	return fsm_wl_put(x, w, false);
}

/* Ids of the workloads holding a slot on worker_id, from by_worker; and,
 * if attempts is not NULL, into *attempts (the caller frees it) the
 * attempt holding each (0 where the index predates storing it). */
static int
fsm_worker_slots(struct kv_txn *t, const char *worker_id, struct strlist *ids,
    uint32_t **attempts, struct errbuf *eb)
{
	struct kv_cursor	*cur;
	struct fsm_key		 k = { .len = 0 };
	struct kv_val		 key, val;
	uint32_t		*att;
	int			 rc;

	fsm_key_str(&k, worker_id);
	fsm_key_u8(&k, 0);
	if (k.over)
		return 0;
	if ((rc = kv_cursor_open(t, KV_DB_BY_WORKER, &cur, eb)) != 0)
		return rc;
	for (rc = kv_cursor_seek(cur, k.b, k.len, &key, &val); rc == 0;
	    rc = kv_cursor_next(cur, &key, &val)) {
		if (key.len != k.len + MODEL_ID_LEN ||
		    memcmp(key.data, k.b, k.len) != 0)
			break;
		if ((rc = strlist_addn(ids, (const char *)key.data + k.len,
		    MODEL_ID_LEN)) != 0) {
			kv_cursor_close(cur);
			return err_setf(eb, rc, "out of memory");
		}
		if (attempts == NULL)
			continue;
		if ((att = realloc(*attempts, ids->n * sizeof *att)) == NULL) {
			kv_cursor_close(cur);
			return err_setf(eb, ERR_NOMEM, "out of memory");
		}
		*attempts = att;
		att[ids->n - 1] = val.len == 4 ?
		    fsm_be32_get((const uint8_t *)val.data) : 0;
	}
	kv_cursor_close(cur);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return err_setf(eb, rc, "scan by_worker for %s", worker_id);
	return 0;
}

/*
 * Commands whose every rejection comes before their first change: the
 * batches of placements and of reports, which skip an item that does not
 * hold and otherwise fail only when the store does.  They run straight in
 * the batch transaction; a nested one per entry would copy every page the
 * entry touches (a tenth of the apply thread at 1,000 workers).
 */
static bool
fsm_cmd_checks_first(enum cmd_type type)
{
	return type == CMD_ASSIGN || type == CMD_REPORT_BATCH;
}

/* The slot of id in kept_hash: its entry, or the empty slot it would take. */
static size_t
fsm_kept_slot(const struct fsm_ctx *x, const char *id)
{
	size_t	 mask = x->cap_hash - 1, i = str_hash(id) & mask;

	while (x->kept_hash[i] != 0 &&
	    strcmp(x->kept[x->kept_hash[i] - 1].rec.id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Room for one more kept record (and its hash slot): 0 or ERR_NOMEM. */
static int
fsm_kept_grow(struct fsm_ctx *x)
{
	struct fsm_kept_worker	*v;
	uint32_t		*h;
	size_t			 cap, i;

	if (x->n_kept == x->cap_kept) {
		cap = x->cap_kept ? x->cap_kept * 2 : 16;
		if ((v = realloc(x->kept, cap * sizeof *v)) == NULL)
			return ERR_NOMEM;
		x->kept = v;
		x->cap_kept = cap;
	}
	if ((x->n_kept + 1) * 2 <= x->cap_hash)
		return 0;
	cap = x->cap_hash ? x->cap_hash * 2 : 32;
	if ((h = calloc(cap, sizeof *h)) == NULL)
		return ERR_NOMEM;
	free(x->kept_hash);
	x->kept_hash = h;
	x->cap_hash = cap;
	for (i = 0; i < x->n_kept; i++)
		x->kept_hash[fsm_kept_slot(x, x->kept[i].rec.id)] = (uint32_t)i + 1;
	return 0;
}

/*
 * The record of worker id for a change: *out points at the command's kept
 * copy (a batch command), or at wr, read from the store; the caller finis
 * wr either way.  fsm_worker_changed then stores the change (now, or at
 * the end of the command).  A pointer into the kept copies is valid until
 * the next call.
 */
static int
fsm_worker_use(struct fsm_ctx *x, const char *id, struct worker_rec *wr,
    struct worker_rec **out)
{
	size_t	 slot;
	int	 rc;

	memset(wr, 0, sizeof *wr);
	*out = NULL;
	if (x->cap_hash > 0 && x->kept_hash[slot = fsm_kept_slot(x, id)] != 0) {
		*out = &x->kept[x->kept_hash[slot] - 1].rec;
		return 0;
	}
	if ((rc = fsm_worker_read(x->txn, id, wr, x->eb)) != 0)
		return rc;
	if (!fsm_cmd_checks_first(x->c->type)) {
		*out = wr;
		return 0;
	}
	if (fsm_kept_grow(x) != 0) {
		worker_rec_fini(wr);
		return err_setf(x->eb, ERR_NOMEM, "worker %s: out of memory", id);
	}
	x->kept[x->n_kept].rec = *wr;	/* moved: the kept copy owns it now */
	x->kept[x->n_kept].dirty = false;
	memset(wr, 0, sizeof *wr);
	x->kept_hash[fsm_kept_slot(x, id)] = (uint32_t)x->n_kept + 1;
	*out = &x->kept[x->n_kept++].rec;
	return 0;
}

/* wr (from fsm_worker_use) was changed: stores it, or marks the kept copy
 * for fsm_workers_flush. */
static int
fsm_worker_changed(struct fsm_ctx *x, struct worker_rec *wr)
{
	if (!fsm_cmd_checks_first(x->c->type))
		return fsm_worker_write(x->txn, wr, x->eb);
	((struct fsm_kept_worker *)(void *)wr)->dirty = true;
	return 0;
}

/* Writes the kept worker records that changed. */
static int
fsm_workers_flush(struct fsm_ctx *x)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < x->n_kept; i++)
		if (x->kept[i].dirty &&
		    (rc = fsm_worker_write(x->txn, &x->kept[i].rec, x->eb)) != 0)
			return rc;
	return 0;
}

static void
fsm_workers_forget(struct fsm_ctx *x)
{
	size_t	 i;

	for (i = 0; i < x->n_kept; i++)
		worker_rec_fini(&x->kept[i].rec);
	free(x->kept);
	free(x->kept_hash);
	x->kept = NULL;
	x->kept_hash = NULL;
	x->n_kept = x->cap_kept = x->cap_hash = 0;
}

/* Frees one slot on worker_id (the workload leaving it is stored by the
 * caller) and says so. */
static int
fsm_slot_release(struct fsm_ctx *x, const char *worker_id)
{
	struct worker_rec	 own, *wr;
	int			 rc;

	if (worker_id == NULL)
		return 0;
	rc = fsm_worker_use(x, worker_id, &own, &wr);
	if (rc == ERR_NOTFOUND)
		return 0;		/* workers are never deleted; nothing to free */
	if (rc != 0)
		return rc;
	if (wr->used > 0)
		wr->used--;
	rc = fsm_worker_changed(x, wr);
	worker_rec_fini(&own);
	if (rc != 0)
		return rc;
	return fsm_event_add(x, FSM_EV_FREED, NULL, 0, worker_id);
}

/* The worker lost w's attempt without it failing: back to PENDING (PAUSED
 * if it was being paused), or CANCELLED if a cancel was asked for.  Returns
 * whether it is PENDING. */
static bool
fsm_wl_requeue(struct fsm_ctx *x, struct workload *w)
{
	if (w->cancel_requested) {
		w->status = WL_CANCELLED;
		w->finished_ms = x->c->now_ms;
		return false;
	}
	if (w->status == WL_PAUSING && !w->preempting) {
		w->status = WL_PAUSED;
		return false;
	}
	if (w->preempting) {
		w->preempting = false;
		if (w->preemptions < UINT32_MAX)
			w->preemptions++;
	}
	w->status = WL_PENDING;
	return true;
}

/* Deterministic retry delay: exponential, capped, plus 0..25% jitter from a
 * hash of (id, attempt) so that every node computes the same time. */
static uint64_t
fsm_backoff_ms(const struct workload *w)
{
	uint64_t	 base, h = 14695981039346656037ULL;
	uint32_t	 f = w->failures > 0 ? w->failures - 1 : 0;
	size_t		 i;

	base = f >= 20 ? FSM_BACKOFF_MAX_MS :
	    (uint64_t)FSM_BACKOFF_BASE_MS << f;
	if (base > FSM_BACKOFF_MAX_MS)
		base = FSM_BACKOFF_MAX_MS;
	for (i = 0; i < MODEL_ID_LEN && w->id[i] != '\0'; i++) {
		h ^= (uint8_t)w->id[i];
		h *= 1099511628211ULL;
	}
	for (i = 0; i < 4; i++) {
		h ^= (w->attempt >> (8 * i)) & 0xff;
		h *= 1099511628211ULL;
	}
	return base + h % (base / 4 + 1);
}

/* ---- idempotency records ---- */

/* The oldest at_ms still remembered at now. */
static uint64_t
fsm_idem_cutoff(uint64_t now)
{
	return now > CMD_IDEMPOTENCY_TTL_MS ? now - CMD_IDEMPOTENCY_TTL_MS : 0;
}

/* customer ‖ 0 ‖ key: the record's key, and the tail of its time entry. */
static void
fsm_idem_key(struct fsm_key *k, const char *cust, const char *key)
{
	memset(k, 0, sizeof *k);
	fsm_key_str(k, cust);
	fsm_key_u8(k, 0);
	fsm_key_str(k, key);
}

/* The record stored under k, expired or not: 0, ERR_NOTFOUND, a store
 * error. */
static int
fsm_idem_read(struct kv_txn *t, const struct fsm_key *k,
    struct fsm_idempotency *out, struct errbuf *eb)
{
	struct kv_val	 v;
	const uint8_t	*p;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = kv_get(t, KV_DB_IDEMPOTENCY, k->b, k->len, &v, eb)) != 0)
		return rc;
	if (v.len != FSM_IDEM_VAL_LEN)
		return err_setf(eb, ERR_CORRUPT, "idempotency record: %zu bytes",
		    v.len);
	p = v.data;
	memcpy(out->workload_id, p, MODEL_ID_LEN);
	out->workload_id[MODEL_ID_LEN] = '\0';
	memcpy(out->body_hash, p + MODEL_ID_LEN, 32);
	out->at_ms = fsm_be64_get(p + MODEL_ID_LEN + 32);
	return 0;
}

/* Drops up to FSM_IDEM_PURGE records that expired before now, oldest
 * first: a bounded amount of work per SUBMIT keeps the table from growing
 * without a timer (the FSM has none; time only comes with commands). */
static int
fsm_idem_purge(struct fsm_ctx *x)
{
	struct fsm_key		 dead[FSM_IDEM_PURGE];
	struct fsm_idempotency	 rec;
	struct kv_cursor	*cur;
	struct kv_val		 key;
	struct fsm_key		 rk;
	uint64_t		 cutoff = fsm_idem_cutoff(x->c->now_ms), at;
	size_t			 n = 0, i;
	int			 rc;

	if ((rc = kv_cursor_open(x->txn, KV_DB_IDEMPOTENCY_BY_TIME, &cur,
	    x->eb)) != 0)
		return rc;
	for (rc = kv_cursor_first(cur, &key, NULL); rc == 0 && n < FSM_IDEM_PURGE;
	    rc = kv_cursor_next(cur, &key, NULL)) {
		if (key.len <= 8 || key.len > FSM_KEY_MAX) {
			kv_cursor_close(cur);
			return err_setf(x->eb, ERR_CORRUPT, "idempotency time "
			    "index: %zu-byte key", key.len);
		}
		if (fsm_be64_get(key.data) >= cutoff)
			break;
		memset(&dead[n], 0, sizeof dead[n]);
		fsm_key_bytes(&dead[n], key.data, key.len);
		n++;
	}
	kv_cursor_close(cur);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = kv_del(x->txn, KV_DB_IDEMPOTENCY_BY_TIME, dead[i].b,
		    dead[i].len, x->eb)) != 0)
			return rc;
		memset(&rk, 0, sizeof rk);
		fsm_key_bytes(&rk, dead[i].b + 8, dead[i].len - 8);
		at = fsm_be64_get(dead[i].b);
		rc = fsm_idem_read(x->txn, &rk, &rec, x->eb);
		if (rc == ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		/* A record rewritten since has a newer time entry of its own. */
		if (rec.at_ms == at && (rc = kv_del(x->txn, KV_DB_IDEMPOTENCY,
		    rk.b, rk.len, x->eb)) != 0)
			return rc;
	}
	return 0;
}

/* Remembers this submission under k, replacing an expired record. */
static int
fsm_idem_store(struct fsm_ctx *x, const struct fsm_key *k,
    const struct fsm_idempotency *old, bool have_old)
{
	const struct cmd	*c = x->c;
	struct fsm_key		 tk = { .len = 0 };
	uint8_t			 v[FSM_IDEM_VAL_LEN];
	int			 rc;

	if (have_old) {
		fsm_key_u64(&tk, old->at_ms);
		fsm_key_bytes(&tk, k->b, k->len);
		rc = kv_del(x->txn, KV_DB_IDEMPOTENCY_BY_TIME, tk.b, tk.len,
		    x->eb);
		if (rc != 0 && rc != ERR_NOTFOUND)
			return rc;
		memset(&tk, 0, sizeof tk);
	}
	memcpy(v, c->workloads[0].id, MODEL_ID_LEN);
	memcpy(v + MODEL_ID_LEN, c->body_hash, 32);
	fsm_be64_put(v + MODEL_ID_LEN + 32, c->now_ms);
	fsm_key_u64(&tk, c->now_ms);
	fsm_key_bytes(&tk, k->b, k->len);
	if (tk.over)
		return err_setf(x->eb, ERR_INVAL, "idempotency key too long");
	if ((rc = kv_put(x->txn, KV_DB_IDEMPOTENCY, k->b, k->len, v, sizeof v,
	    x->eb)) != 0)
		return rc;
	return kv_put(x->txn, KV_DB_IDEMPOTENCY_BY_TIME, tk.b, tk.len, "", 0,
	    x->eb);
}

/* ---- commands ---- */

/* The checks of one submitted workload that need no store access. */
static int
fsm_submit_check(struct fsm_ctx *x, const struct workload *in,
    const char *cust)
{
	if (!model_id_valid(in->id))
		return err_setf(x->eb, ERR_INVAL, "submit: bad id");
	if (in->type == NULL || !model_name_valid(in->type))
		return err_setf(x->eb, ERR_INVAL, "submit %s: bad type", in->id);
	if (!fsm_cust_ok(in->customer_id))
		return err_setf(x->eb, ERR_INVAL, "submit %s: bad customer",
		    in->id);
	if (strcmp(in->customer_id, cust) != 0)
		return err_setf(x->eb, ERR_INVAL, "submit %s: customer %s in a "
		    "submission for %s", in->id, in->customer_id, cust);
	if (in->priority > MODEL_PRIORITY_MAX)
		return err_setf(x->eb, ERR_INVAL, "submit %s: priority "
		    "%" PRIu32 " over %d", in->id, in->priority,
		    MODEL_PRIORITY_MAX);
	if ((unsigned)in->tier >= TIER__COUNT)
		return err_setf(x->eb, ERR_INVAL, "submit %s: bad tier", in->id);
	return 0;
}

/* Stores one new workload, PENDING. */
static int
fsm_submit_one(struct fsm_ctx *x, struct workload *in)
{
	const struct cmd	*c = x->c;
	struct workload		 w;
	uint8_t			 key[8];
	int			 rc;

	/* Take the record out of the command rather than copy it: the
	 * command is dropped after it is applied. */
	w = *in;
	memset(in, 0, sizeof *in);
	/* The FSM owns these fields, whatever the proposer sent. */
	w.status = WL_PENDING;
	w.seq = x->meta.next_seq++;
	w.created_ms = c->now_ms;
	w.scheduled_ms = w.started_ms = w.finished_ms = 0;
	free(w.worker_id);
	w.worker_id = NULL;
	w.attempt = 0;
	w.progress = 0;
	free(w.progress_message);
	free(w.result_json);
	free(w.error);
	w.progress_message = w.result_json = w.error = NULL;
	w.checkpoint_seq = 0;
	w.failures = 0;
	w.cancel_requested = false;

	fsm_be64_put(key, w.seq);
	if ((rc = kv_insert(x->txn, KV_DB_BY_CREATED, key, sizeof key, w.id,
	    MODEL_ID_LEN, KV_INSERT_LAST, x->eb)) == 0 &&
	    (rc = fsm_wl_put(x, &w, true)) == 0)
		rc = fsm_audit_status(x, &w, -1, NULL);
	workload_fini(&w);
	return rc;
}

/* SUBMIT: all or nothing.  The order matters: a repeated Idempotency-Key
 * is refused first (whatever the limits say now), then the limits, and
 * only then is the key remembered, so a submission refused for a full
 * queue can be retried under the same key. */
static int
fsm_cmd_submit(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct fsm_idempotency	 old;
	struct fsm_key		 ik;
	const char		*cust;
	uint64_t		 pending, active;
	size_t			 i, klen;
	bool			 have_old = false;
	int			 rc;

	if (c->n_workloads == 0)
		return err_setf(x->eb, ERR_INVAL, "submit: no workloads");
	cust = c->workloads[0].customer_id;
	for (i = 0; i < c->n_workloads; i++)
		if ((rc = fsm_submit_check(x, &c->workloads[i], cust)) != 0)
			return rc;
	if (c->idempotency_key != NULL) {
		klen = strlen(c->idempotency_key);
		if (klen == 0 || klen > FSM_IDEM_KEY_MAX)
			return err_setf(x->eb, ERR_INVAL, "submit: idempotency "
			    "key must be 1..%d bytes", FSM_IDEM_KEY_MAX);
		fsm_idem_key(&ik, cust, c->idempotency_key);
	}
	if ((rc = fsm_idem_purge(x)) != 0)
		return rc;
	if (c->idempotency_key != NULL) {
		rc = fsm_idem_read(x->txn, &ik, &old, x->eb);
		if (rc == 0 && old.at_ms >= fsm_idem_cutoff(c->now_ms))
			return err_setf(x->eb, ERR_EXISTS, "idempotency key "
			    "already used for workload %s", old.workload_id);
		if (rc != 0 && rc != ERR_NOTFOUND)
			return rc;
		have_old = rc == 0;
	}
	if (c->queue_limit > 0) {
		if ((rc = fsm_usage_get(x->txn, cust, &pending, &active,
		    x->eb)) != 0)
			return rc;
		if (pending + c->n_workloads > c->queue_limit)
			return err_setf(x->eb, ERR_QUEUEFULL, "customer %s has "
			    "%" PRIu64 " pending workloads; %zu more would pass "
			    "its limit of %" PRIu32, cust, pending,
			    c->n_workloads, c->queue_limit);
	}
	if (c->global_limit > 0 &&
	    x->meta.counts[WL_PENDING] + c->n_workloads > c->global_limit)
		return err_setf(x->eb, ERR_OVERLOADED, "%" PRIu64 " workloads "
		    "pending; %zu more would pass the limit of %" PRIu32,
		    x->meta.counts[WL_PENDING], c->n_workloads, c->global_limit);
	if (c->idempotency_key != NULL &&
	    (rc = fsm_idem_store(x, &ik, &old, have_old)) != 0)
		return rc;
	for (i = 0; i < c->n_workloads; i++)
		if ((rc = fsm_submit_one(x, &x->c->workloads[i])) != 0)
			return rc;
	return fsm_event_add(x, FSM_EV_PENDING, NULL, 0, NULL);
}

/* Hard affinity and room: may w be placed on wr? */
static bool
fsm_worker_fits(const struct worker_rec *wr, const struct workload *w)
{
	const struct affinity	*a = &w->affinity;
	size_t			 i;

	if (wr->status != WORKER_ALIVE || wr->used >= wr->capacity)
		return false;
	if (a->hard_worker_id != NULL && strcmp(a->hard_worker_id, wr->id) != 0)
		return false;
	if (!tagset_matches(&wr->tags, &a->hard_tags))
		return false;
	if (!strlist_contains(&wr->capabilities, w->type))
		return false;
	for (i = 0; i < a->hard_types.n; i++)
		if (!strlist_contains(&wr->capabilities, a->hard_types.v[i]))
			return false;
	return true;
}

static int
fsm_assign_one(struct fsm_ctx *x, const struct cmd_placement *p)
{
	struct workload		 w;
	struct worker_rec	 own, *wr;
	char			 detail[MODEL_NAME_MAX + 64];
	int			 rc;

	memset(&own, 0, sizeof own);
	if ((rc = fsm_wl_load(x, p->workload_id, &w)) != 0)
		return rc == ERR_NOTFOUND ? 0 : rc;
	if (w.status != WL_PENDING || w.cancel_requested ||
	    w.attempt == UINT32_MAX || p->attempt != w.attempt + 1 ||
	    w.not_before_ms > x->c->now_ms)
		goto skip;
	if ((rc = fsm_worker_use(x, p->worker_id, &own, &wr)) != 0) {
		if (rc == ERR_NOTFOUND)
			goto skip;
		goto out;
	}
	if (!fsm_worker_fits(wr, &w))
		goto skip;

	w.status = WL_SCHEDULED;
	w.attempt = p->attempt;
	if ((rc = str_set(&w.worker_id, wr->id)) != 0) {
		rc = err_setf(x->eb, ERR_NOMEM, "assign: out of memory");
		goto out;
	}
	w.scheduled_ms = x->c->now_ms;
	wr->used++;
	snprintf(detail, sizeof detail, "worker %s attempt %" PRIu32, wr->id,
	    w.attempt);
	if ((rc = fsm_wl_store(x, &w)) != 0 ||
	    (rc = fsm_worker_changed(x, wr)) != 0 ||
	    (rc = fsm_audit_status(x, &w, WL_PENDING, detail)) != 0 ||
	    (rc = fsm_event_add(x, FSM_EV_ASSIGNED, w.id, w.attempt,
	    wr->id)) != 0)
		goto out;
skip:
	rc = 0;
out:
	workload_fini(&w);
	worker_rec_fini(&own);
	return rc;
}

static int
fsm_cmd_assign(struct fsm_ctx *x)
{
	size_t	 i;
	int	 rc;

	/* Each placement stands alone: an invalid one (the scheduler raced
	 * with another command) is skipped, not the whole batch. */
	for (i = 0; i < x->c->n_placements; i++)
		if ((rc = fsm_assign_one(x, &x->c->placements[i])) != 0)
			return rc;
	return 0;
}

/* Loads the workload a worker report is about and checks its fencing
 * token: a report about any other attempt, or from another worker, is
 * stale. */
static int
fsm_wl_fenced(struct fsm_ctx *x, struct workload *w)
{
	const struct cmd	*c = x->c;
	int			 rc;

	if ((rc = fsm_wl_load(x, c->workload_id, w)) != 0)
		return rc;
	if (w->attempt != c->attempt || c->worker_id == NULL ||
	    !str_eq(w->worker_id, c->worker_id))
		return err_setf(x->eb, ERR_STALE, "workload %s: attempt %" PRIu32
		    " from %s is not the current one", w->id, c->attempt,
		    c->worker_id ? c->worker_id : "(none)");
	return 0;
}

/*
 * The worker reports (START, PROGRESS, COMPLETE) each come in two halves:
 * a check that loads the workload and makes every rejection, writing
 * nothing, and an apply that makes the change and rejects nothing.  A
 * report batch therefore needs no transaction per report: a rejected
 * report has left no trace by the time it is rejected.
 */

/* A START is for the current attempt of a SCHEDULED (or, re-sent,
 * RUNNING) workload. */
static int
fsm_start_check(struct fsm_ctx *x, struct workload *w)
{
	int	 rc;

	if ((rc = fsm_wl_fenced(x, w)) != 0)
		return rc;
	if (w->status == WL_SCHEDULED || w->status == WL_RUNNING)
		return 0;
	return err_setf(x->eb, wl_status_is_terminal(w->status) ? ERR_STALE :
	    ERR_CONFLICT, "workload %s is %s", w->id, wl_status_name(w->status));
}

static int
fsm_start_apply(struct fsm_ctx *x, struct workload *w)
{
	int	 rc;

	if (w->status == WL_RUNNING)
		return 0;	/* a re-sent acknowledgement */
	w->status = WL_RUNNING;
	w->started_ms = x->c->now_ms;
	if ((rc = fsm_wl_store(x, w)) != 0)
		return rc;
	return fsm_audit_status(x, w, WL_SCHEDULED, NULL);
}

static int
fsm_progress_check(struct fsm_ctx *x, struct workload *w)
{
	int	 rc;

	if ((rc = fsm_wl_fenced(x, w)) != 0)
		return rc;
	if (w->status != WL_RUNNING && w->status != WL_PAUSING)
		return err_setf(x->eb, ERR_CONFLICT, "workload %s is %s", w->id,
		    wl_status_name(w->status));
	return 0;
}

static int
fsm_progress_apply(struct fsm_ctx *x, struct workload *w)
{
	double	 p = x->c->progress;

	if (!(p >= 0))		/* also NaN */
		p = 0;
	if (p > 100)
		p = 100;
	w->progress = p;
	if (str_set(&w->progress_message, x->c->message) != 0)
		return err_setf(x->eb, ERR_NOMEM, "progress: out of memory");
	return fsm_wl_store(x, w);
}

/* Keeps the newest keep (0: FSM_CKPT_KEEP) checkpoints of workload id. */
static int
fsm_ckpt_prune(struct fsm_ctx *x, const char *id, uint32_t keep)
{
	struct kv_cursor	*cur;
	struct kv_val		 key;
	struct fsm_key		 k;
	uint64_t		*seqs = NULL, *p;
	size_t			 n = 0, cap = 0, i;
	int			 rc;

	if (keep == 0)
		keep = FSM_CKPT_KEEP;
	if ((rc = kv_cursor_open(x->txn, KV_DB_CHECKPOINTS, &cur, x->eb)) != 0)
		return rc;
	for (rc = kv_cursor_seek(cur, id, MODEL_ID_LEN, &key, NULL); rc == 0;
	    rc = kv_cursor_next(cur, &key, NULL)) {
		if (key.len != MODEL_ID_LEN + 8 ||
		    memcmp(key.data, id, MODEL_ID_LEN) != 0)
			break;
		if ((p = fsm_array_grow(seqs, &cap, n, sizeof *p)) == NULL) {
			rc = err_setf(x->eb, ERR_NOMEM, "out of memory");
			goto out;
		}
		seqs = p;
		seqs[n++] = fsm_be64_get((const uint8_t *)key.data + MODEL_ID_LEN);
	}
	if (rc != 0 && rc != ERR_NOTFOUND) {
		rc = err_setf(x->eb, rc, "scan checkpoints of %s", id);
		goto out;
	}
	kv_cursor_close(cur);
	cur = NULL;
	rc = 0;
	/* seqs ascend: the oldest come first. */
	for (i = 0; i + keep < n; i++) {
		memset(&k, 0, sizeof k);
		fsm_key_bytes(&k, id, MODEL_ID_LEN);
		fsm_key_u64(&k, seqs[i]);
		if ((rc = kv_del(x->txn, KV_DB_CHECKPOINTS, k.b, k.len,
		    x->eb)) != 0)
			break;
	}
out:
	kv_cursor_close(cur);
	free(seqs);
	return rc;
}

/* Deletes the staged chunks of workload id, all of them (keep_seq 0) or
 * those of every checkpoint but keep_seq. */
static int
fsm_ckpt_chunks_drop(struct fsm_ctx *x, const char *id, uint64_t keep_seq)
{
	struct kv_cursor	*cur;
	struct kv_val		 key;
	int			 rc;

	if ((rc = kv_cursor_open(x->txn, KV_DB_CKPT_CHUNKS, &cur, x->eb)) != 0)
		return rc;
	rc = kv_cursor_seek(cur, id, MODEL_ID_LEN, &key, NULL);
	while (rc == 0) {
		if (key.len != MODEL_ID_LEN + 12 ||
		    memcmp(key.data, id, MODEL_ID_LEN) != 0)
			break;
		if (keep_seq != 0 && fsm_be64_get((const uint8_t *)key.data +
		    MODEL_ID_LEN) == keep_seq) {
			rc = kv_cursor_next(cur, &key, NULL);
			continue;
		}
		/* Deleting under the cursor: seek past the deleted key. */
		{
			uint8_t	 k[MODEL_ID_LEN + 12];

			memcpy(k, key.data, sizeof k);
			if ((rc = kv_del(x->txn, KV_DB_CKPT_CHUNKS, k, sizeof k,
			    x->eb)) != 0)
				break;
			rc = kv_cursor_seek(cur, k, sizeof k, &key, NULL);
		}
	}
	kv_cursor_close(cur);
	return rc == ERR_NOTFOUND ? 0 : rc;
}

/* Stores a whole checkpoint frame as committed, keeps the newest ones. */
static int
fsm_ckpt_commit(struct fsm_ctx *x, struct workload *w, const void *frame,
    size_t len)
{
	const struct cmd	*c = x->c;
	struct wire_writer	*wr;
	struct fsm_key		 k = { .len = 0 };
	uint8_t			 hash[32];
	unsigned long long	 sz;
	int			 rc;

	/* Checked here, cheaply (a hash and the frame header), so that a
	 * checkpoint that could never be read back is refused up front. */
	if (len != c->total_len)
		return err_setf(x->eb, ERR_INVAL, "checkpoint %" PRIu64 ": %zu "
		    "bytes, not the %" PRIu64 " announced", c->checkpoint_seq,
		    len, c->total_len);
	crypto_generichash(hash, sizeof hash, frame, len, NULL, 0);
	if (sodium_memcmp(hash, c->blob_hash, sizeof hash) != 0)
		return err_setf(x->eb, ERR_INVAL, "checkpoint %" PRIu64 ": the "
		    "frame's hash does not match: corrupt chunk",
		    c->checkpoint_seq);
	sz = ZSTD_getFrameContentSize(frame, len);
	if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN ||
	    sz != c->raw_len || sz > FSM_CKPT_MAX)
		return err_setf(x->eb, ERR_INVAL, "checkpoint: not a zstd frame "
		    "of %" PRIu64 " bytes (at most %" PRIu64 ")", c->raw_len,
		    FSM_CKPT_MAX);
	if ((wr = wire_writer_new()) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "checkpoint: out of memory");
	wire_put_map(wr, 4);
	wire_put_str(wr, "attempt");
	wire_put_uint(wr, w->attempt);
	wire_put_str(wr, "raw_len");
	wire_put_uint(wr, c->raw_len);
	wire_put_str(wr, "at");
	wire_put_uint(wr, c->now_ms);
	wire_put_str(wr, "data");
	wire_put_bin(wr, frame, len);
	fsm_key_bytes(&k, w->id, MODEL_ID_LEN);
	fsm_key_u64(&k, c->checkpoint_seq);
	if ((rc = fsm_put_writer(x->txn, KV_DB_CHECKPOINTS, k.b, k.len, wr,
	    x->eb)) != 0 ||
	    (rc = fsm_ckpt_chunks_drop(x, w->id, 0)) != 0 ||
	    (rc = fsm_ckpt_prune(x, w->id, c->checkpoint_keep)) != 0)
		return rc;
	w->checkpoint_seq = c->checkpoint_seq;
	return fsm_wl_store(x, w);
}

/* Stages one chunk of a checkpoint of several; commits it once every chunk
 * is in.  The chunks all carry the same description of the whole (count,
 * size, hash); one that disagrees with those already staged is refused. */
static int
fsm_ckpt_stage(struct fsm_ctx *x, struct workload *w)
{
	const struct cmd	*c = x->c;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 key, val;
	struct wire_writer	*wr;
	struct wire_doc		*d;
	const struct wire_val	*root, *v;
	struct fsm_key		 k = { .len = 0 };
	uint8_t			*frame = NULL;
	const void		*p;
	size_t			 plen, got = 0;
	uint64_t		 total, raw;
	uint32_t		 count, n = 0;
	bool			 same;
	int			 rc;

	if ((rc = fsm_ckpt_chunks_drop(x, w->id, c->checkpoint_seq)) != 0)
		return rc;
	if ((wr = wire_writer_new()) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "checkpoint: out of memory");
	wire_put_map(wr, 6);
	wire_put_str(wr, "attempt");
	wire_put_uint(wr, w->attempt);
	wire_put_str(wr, "count");
	wire_put_uint(wr, c->chunk_count);
	wire_put_str(wr, "total");
	wire_put_uint(wr, c->total_len);
	wire_put_str(wr, "raw_len");
	wire_put_uint(wr, c->raw_len);
	wire_put_str(wr, "hash");
	wire_put_bin(wr, c->blob_hash, sizeof c->blob_hash);
	wire_put_str(wr, "data");
	wire_put_bin(wr, c->data, c->data_len);
	fsm_key_bytes(&k, w->id, MODEL_ID_LEN);
	fsm_key_u64(&k, c->checkpoint_seq);
	fsm_key_u32(&k, c->chunk_index);
	if ((rc = fsm_put_writer(x->txn, KV_DB_CKPT_CHUNKS, k.b, k.len, wr,
	    x->eb)) != 0)
		return rc;

	/* Whole yet?  Walk this checkpoint's chunks in order. */
	if ((frame = malloc(c->total_len > 0 ? (size_t)c->total_len : 1)) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "checkpoint: out of memory");
	if ((rc = kv_cursor_open(x->txn, KV_DB_CKPT_CHUNKS, &cur, x->eb)) != 0)
		goto out;
	k.len = MODEL_ID_LEN + 8;
	for (rc = kv_cursor_seek(cur, k.b, k.len, &key, &val); rc == 0;
	    rc = kv_cursor_next(cur, &key, &val)) {
		if (key.len != MODEL_ID_LEN + 12 || memcmp(key.data, k.b, k.len) != 0)
			break;
		if (fsm_be32_get((const uint8_t *)key.data + k.len) != n)
			break;		/* a gap: not whole yet */
		if ((rc = fsm_doc_open(&val, &d, "checkpoint chunk", x->eb)) != 0)
			goto out;
		root = wire_doc_root(d);
		count = 0;
		total = raw = 0;
		v = wire_map_get(root, "hash");
		same = wire_field_u32(root, "count", &count) == 0 &&
		    wire_field_uint(root, "total", &total) == 0 &&
		    wire_field_uint(root, "raw_len", &raw) == 0 &&
		    count == c->chunk_count && total == c->total_len &&
		    raw == c->raw_len && v != NULL &&
		    wire_get_bin(v, &p, &plen) == 0 && plen == 32 &&
		    memcmp(p, c->blob_hash, 32) == 0 &&
		    (v = wire_map_get(root, "data")) != NULL &&
		    wire_get_bin(v, &p, &plen) == 0 && plen <= total - got;
		if (same) {
			memcpy(frame + got, p, plen);
			got += plen;
		}
		wire_doc_free(d);
		if (!same) {
			rc = err_setf(x->eb, ERR_INVAL, "checkpoint %" PRIu64
			    " chunk %" PRIu32 " disagrees with chunk %" PRIu32
			    " about the whole", c->checkpoint_seq,
			    c->chunk_index, n);
			goto out;
		}
		n++;
	}
	if (rc != 0 && rc != ERR_NOTFOUND)
		goto out;
	kv_cursor_close(cur);
	cur = NULL;
	rc = n == c->chunk_count ? fsm_ckpt_commit(x, w, frame, got) : 0;
out:
	kv_cursor_close(cur);
	free(frame);
	return rc;
}

/*
 * CHECKPOINT: one chunk of checkpoint checkpoint_seq.  A checkpoint of one
 * chunk is committed at once; a longer one is staged chunk by chunk and
 * committed (hash and frame checked) when its last missing chunk arrives.
 * Only committed checkpoints are ever offered for resume.
 */
static int
fsm_cmd_checkpoint(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct workload		 w;
	int			 rc;

	if ((rc = fsm_wl_fenced(x, &w)) != 0)
		goto out;
	if (w.status != WL_RUNNING && w.status != WL_PAUSING) {
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s is %s", w.id,
		    wl_status_name(w.status));
		goto out;
	}
	if (c->checkpoint_seq == w.checkpoint_seq) {
		rc = 0;		/* a duplicate of the one we hold */
		goto out;
	}
	if (c->checkpoint_seq < w.checkpoint_seq) {
		rc = err_setf(x->eb, ERR_STALE, "workload %s: checkpoint %"
		    PRIu64 " is older than %" PRIu64, w.id, c->checkpoint_seq,
		    w.checkpoint_seq);
		goto out;
	}
	if (c->data == NULL || c->data_len == 0) {
		rc = err_setf(x->eb, ERR_INVAL, "checkpoint: no data");
		goto out;
	}
	/* Every chunk holds at least a byte: no more chunks than bytes. */
	if (c->chunk_count == 0 || c->chunk_index >= c->chunk_count ||
	    c->chunk_count > c->total_len ||
	    c->data_len > FSM_CKPT_CHUNK_MAX || c->data_len > c->total_len ||
	    c->total_len > FSM_CKPT_MAX + (FSM_CKPT_MAX >> 6) ||
	    c->total_len > (uint64_t)c->chunk_count * FSM_CKPT_CHUNK_MAX) {
		rc = err_setf(x->eb, ERR_INVAL, "checkpoint: bad chunk %" PRIu32
		    " of %" PRIu32 " (%zu of %" PRIu64 " bytes)", c->chunk_index,
		    c->chunk_count, c->data_len, c->total_len);
		goto out;
	}
	rc = c->chunk_count == 1 ? fsm_ckpt_commit(x, &w, c->data, c->data_len) :
	    fsm_ckpt_stage(x, &w);
out:
	workload_fini(&w);
	return rc;
}

/* A COMPLETE is for the current attempt of a workload holding a slot. */
static int
fsm_complete_check(struct fsm_ctx *x, struct workload *w)
{
	const struct cmd	*c = x->c;
	int			 rc;

	if ((unsigned)c->outcome >= OUTCOME__COUNT)
		return err_setf(x->eb, ERR_INVAL, "complete: bad outcome %d",
		    (int)c->outcome);
	if ((rc = fsm_wl_fenced(x, w)) != 0)
		return rc;
	if (!wl_status_holds_slot(w->status))
		return err_setf(x->eb, wl_status_is_terminal(w->status) ?
		    ERR_STALE : ERR_CONFLICT, "workload %s is %s", w->id,
		    wl_status_name(w->status));
	return 0;
}

static int
fsm_complete_apply(struct fsm_ctx *x, struct workload *w)
{
	const struct cmd	*c = x->c;
	enum wl_status		 from = w->status;
	char			 detail[ERRBUF_LEN];
	bool			 pending = false;
	int			 rc;

	if ((rc = fsm_slot_release(x, w->worker_id)) != 0)
		return rc;
	switch (c->outcome) {
	case OUTCOME_SUCCEEDED:
		w->status = WL_COMPLETED;
		w->progress = 100;
		if (str_set(&w->result_json, c->result_json) != 0)
			goto nomem;
		w->finished_ms = c->now_ms;
		break;
	case OUTCOME_FAILED:
		if (w->cancel_requested) {
			w->status = WL_CANCELLED;
			w->finished_ms = c->now_ms;
			break;
		}
		if (w->failures < UINT32_MAX)
			w->failures++;
		if (str_set(&w->error, c->error) != 0 ||
		    str_set(&w->result_json, c->result_json) != 0)
			goto nomem;
		/* The attempt ran to its end: preemptions start over. */
		w->preemptions = 0;
		if (w->failures <= w->max_retries) {
			/* A pause asked for before the failure still holds: the
			 * retry waits for RESUME (a preemption does not). */
			w->not_before_ms = c->now_ms + fsm_backoff_ms(w);
			if (from == WL_PAUSING && !w->preempting)
				w->status = WL_PAUSED;
			else {
				w->status = WL_PENDING;
				pending = true;
			}
		} else {
			w->status = WL_FAILED;
			w->finished_ms = c->now_ms;
		}
		break;
	case OUTCOME_CANCELLED:
		/* Stopped for a pause (PAUSED), unless a cancel came too. */
		if (from == WL_PAUSING) {
			pending = fsm_wl_requeue(x, w);
			break;
		}
		w->status = WL_CANCELLED;
		w->finished_ms = c->now_ms;
		break;
	default:	/* OUTCOME_ABANDONED: not the workload's fault */
		pending = fsm_wl_requeue(x, w);
		break;
	}
	w->preempting = false;
	snprintf(detail, sizeof detail, "%s%s%s", fsm_outcome_names[c->outcome],
	    c->outcome == OUTCOME_FAILED && c->error ? ": " : "",
	    c->outcome == OUTCOME_FAILED && c->error ? c->error : "");
	if ((rc = fsm_wl_store(x, w)) != 0 ||
	    (rc = fsm_audit_status(x, w, from, detail)) != 0)
		return rc;
	if (pending)
		return fsm_event_add(x, FSM_EV_PENDING, w->id, 0, NULL);
	return 0;
nomem:
	return err_setf(x->eb, ERR_NOMEM, "complete: out of memory");
}

/* Runs the report x->c of kind type: its check, then its apply.
 * *applying says whether the check passed (an error after that is not a
 * rejection that left nothing behind). */
static int
fsm_report_run(struct fsm_ctx *x, enum cmd_type type, bool *applying)
{
	struct workload	 w;
	int		 rc;

	*applying = false;
	memset(&w, 0, sizeof w);
	switch (type) {
	case CMD_START:
		rc = fsm_start_check(x, &w);
		break;
	case CMD_PROGRESS:
		rc = fsm_progress_check(x, &w);
		break;
	case CMD_COMPLETE:
		rc = fsm_complete_check(x, &w);
		break;
	default:
		rc = err_setf(x->eb, ERR_INVAL, "report of kind %d", (int)type);
		break;
	}
	if (rc == 0) {
		*applying = true;
		if (type == CMD_START)
			rc = fsm_start_apply(x, &w);
		else if (type == CMD_PROGRESS)
			rc = fsm_progress_apply(x, &w);
		else
			rc = fsm_complete_apply(x, &w);
	}
	workload_fini(&w);
	return rc;
}

static int
fsm_cmd_report(struct fsm_ctx *x)
{
	bool	 applying;

	return fsm_report_run(x, x->c->type, &applying);
}

/* Cancels workload id: CANCEL, and each id of CANCEL_BATCH.  Its only
 * rejections (ERR_NOTFOUND, ERR_CONFLICT) come before any change. */
static int
fsm_cancel_one(struct fsm_ctx *x, const char *id, const char *message)
{
	const struct cmd	*c = x->c;
	struct workload		 w;
	enum wl_status		 from;
	int			 rc;

	if ((rc = fsm_wl_read(x->txn, id, &w, x->eb)) != 0)
		goto out;
	if (wl_status_is_terminal(w.status)) {
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s is already %s",
		    w.id, wl_status_name(w.status));
		goto out;
	}
	if (w.cancel_requested)
		goto out;		/* asked before: nothing new */
	from = w.status;
	if ((rc = fsm_audit(x, w.id, w.customer_id, "cancel",
	    wl_status_name(from), NULL, message)) != 0)
		goto out;
	switch (from) {
	case WL_SCHEDULED:
		/* Not started yet: cancel now, and tell the worker not to. */
		if ((rc = fsm_event_add(x, FSM_EV_STOP, w.id, w.attempt,
		    w.worker_id)) != 0 ||
		    (rc = fsm_slot_release(x, w.worker_id)) != 0)
			goto out;
		/* FALLTHROUGH */
	case WL_PENDING:
	case WL_PAUSED:
		w.status = WL_CANCELLED;
		w.finished_ms = c->now_ms;
		if ((rc = fsm_wl_store(x, &w)) != 0)
			goto out;
		rc = fsm_audit_status(x, &w, from, message);
		break;
	default:	/* RUNNING, PAUSING: the worker must stop it first */
		w.cancel_requested = true;
		if ((rc = fsm_wl_store(x, &w)) != 0)
			goto out;
		rc = fsm_event_add(x, FSM_EV_STOP, w.id, w.attempt, w.worker_id);
		break;
	}
out:
	workload_fini(&w);
	return rc;
}

static int
fsm_cmd_cancel(struct fsm_ctx *x)
{
	return fsm_cancel_one(x, x->c->workload_id, x->c->message);
}

static int
fsm_cmd_cancel_batch(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	size_t			 i;
	int			 rc;

	/* Each id stands alone: an unknown or finished one is skipped (it
	 * changed nothing), and the batch as a whole never fails. */
	for (i = 0; i < c->n_ids; i++) {
		rc = fsm_cancel_one(x, c->ids[i], c->message);
		if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_CONFLICT)
			return rc;
	}
	return 0;
}

static int
fsm_cmd_pause(struct fsm_ctx *x)
{
	struct workload	 w;
	enum wl_status	 from;
	int		 rc;

	if ((rc = fsm_wl_read(x->txn, x->c->workload_id, &w, x->eb)) != 0)
		goto out;
	from = w.status;
	switch (from) {
	case WL_PENDING:
		w.status = WL_PAUSED;
		break;
	case WL_SCHEDULED:
		/* Not started: paused at once, and the worker told not to. */
		if ((rc = fsm_event_add(x, FSM_EV_STOP, w.id, w.attempt,
		    w.worker_id)) != 0 ||
		    (rc = fsm_slot_release(x, w.worker_id)) != 0)
			goto out;
		w.status = WL_PAUSED;
		break;
	case WL_RUNNING:
		/* The worker stops it (its checkpoint kept); the outcome it
		 * reports then moves PAUSING to PAUSED. */
		if ((rc = fsm_event_add(x, FSM_EV_STOP, w.id, w.attempt,
		    w.worker_id)) != 0)
			goto out;
		w.status = WL_PAUSING;
		break;
	case WL_PAUSING:
		if (!w.preempting)
			goto out;	/* asked before: nothing new */
		/* Stopping for a preemption: it will be PAUSED instead. */
		w.preempting = false;
		break;
	case WL_PAUSED:
		goto out;		/* asked before: nothing new */
	default:
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s is already %s",
		    w.id, wl_status_name(from));
		goto out;
	}
	if ((rc = fsm_wl_store(x, &w)) == 0)
		rc = fsm_audit_status(x, &w, from, NULL);
out:
	workload_fini(&w);
	return rc;
}

/* PREEMPT: a RUNNING workload makes room for a higher tier.  Its worker is
 * told to stop (it checkpoints as for a pause); the stop makes it PENDING
 * again, resuming from the checkpoint.  Refused for a workload preempted
 * preempt_limit times already, or not RUNNING in that attempt. */
static int
fsm_cmd_preempt(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct workload		 w;
	char			 detail[64];
	int			 rc;

	if ((rc = fsm_wl_fenced(x, &w)) != 0)
		goto out;
	if (w.status != WL_RUNNING) {
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s is %s", w.id,
		    wl_status_name(w.status));
		goto out;
	}
	if (w.preemptions >= c->preempt_limit) {
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s was preempted "
		    "%" PRIu32 " times in a row already", w.id, w.preemptions);
		goto out;
	}
	if ((rc = fsm_event_add(x, FSM_EV_STOP, w.id, w.attempt,
	    w.worker_id)) != 0)
		goto out;
	w.status = WL_PAUSING;
	w.preempting = true;
	snprintf(detail, sizeof detail, "preempted (%" PRIu32 " before)",
	    w.preemptions);
	if ((rc = fsm_wl_store(x, &w)) == 0)
		rc = fsm_audit_status(x, &w, WL_RUNNING, detail);
out:
	workload_fini(&w);
	return rc;
}

static int
fsm_cmd_resume(struct fsm_ctx *x)
{
	struct workload	 w;
	int		 rc;

	if ((rc = fsm_wl_read(x->txn, x->c->workload_id, &w, x->eb)) != 0)
		goto out;
	if (w.status != WL_PAUSED) {
		rc = err_setf(x->eb, ERR_CONFLICT, "workload %s is %s, not PAUSED",
		    w.id, wl_status_name(w.status));
		goto out;
	}
	/* attempt and checkpoint_seq stay: the next assignment is attempt + 1
	 * and starts from the latest checkpoint. */
	w.status = WL_PENDING;
	if ((rc = fsm_wl_store(x, &w)) != 0 ||
	    (rc = fsm_audit_status(x, &w, WL_PAUSED, NULL)) != 0)
		goto out;
	rc = fsm_event_add(x, FSM_EV_PENDING, w.id, 0, NULL);
out:
	workload_fini(&w);
	return rc;
}

static bool
fsm_attempt_listed(const struct cmd *c, const struct workload *w)
{
	size_t	 i;

	for (i = 0; i < c->n_running; i++)
		if (c->running[i].attempt == w->attempt &&
		    strncmp(c->running[i].workload_id, w->id, MODEL_ID_LEN) == 0)
			return true;
	return false;
}

/* Which slot holders of a worker fsm_worker_requeue puts back. */
enum fsm_requeue {
	FSM_REQUEUE_ALL,	/* the worker is dead */
	FSM_REQUEUE_UNLISTED,	/* RUNNING/PAUSING ones it no longer runs */
	FSM_REQUEUE_SCHEDULED,	/* not started yet: it is draining */
};

/* Requeues the slot holders of worker_id that `which` names.  *kept counts
 * the ones still holding a slot; *pending whether any went back to
 * PENDING. */
static int
fsm_worker_requeue(struct fsm_ctx *x, const char *worker_id,
    enum fsm_requeue which, const char *why, uint32_t *kept, bool *pending)
{
	struct strlist	 ids = { NULL, 0 };
	struct workload	 w;
	enum wl_status	 from;
	size_t		 i;
	int		 rc;

	*kept = 0;
	*pending = false;
	if ((rc = fsm_worker_slots(x->txn, worker_id, &ids, NULL, x->eb)) != 0)
		return rc;
	for (i = 0; i < ids.n; i++) {
		if ((rc = fsm_wl_read(x->txn, ids.v[i], &w, x->eb)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = err_setf(x->eb, ERR_CORRUPT, "by_worker "
				    "names a missing workload %s", ids.v[i]);
			break;
		}
		from = w.status;
		if ((which == FSM_REQUEUE_UNLISTED && (from == WL_SCHEDULED ||
		    fsm_attempt_listed(x->c, &w))) ||
		    (which == FSM_REQUEUE_SCHEDULED && from != WL_SCHEDULED)) {
			(*kept)++;
			workload_fini(&w);
			continue;
		}
		if (fsm_wl_requeue(x, &w))
			*pending = true;
		rc = fsm_wl_store(x, &w);
		if (rc == 0)
			rc = fsm_audit_status(x, &w, from, why);
		workload_fini(&w);
		if (rc != 0)
			break;
	}
	strlist_fini(&ids);
	return rc;
}

static int
fsm_cmd_worker_register(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct worker_rec	 nw, old;
	char			 detail[64];
	bool			 pending;
	int			 rc;

	memset(&nw, 0, sizeof nw);
	if (c->worker.id == NULL || !model_name_valid(c->worker.id))
		return err_setf(x->eb, ERR_INVAL, "register: bad worker id");
	rc = fsm_worker_read(x->txn, c->worker.id, &old, x->eb);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	if ((rc = worker_rec_dup(&nw, &c->worker)) != 0) {
		worker_rec_fini(&old);
		return err_setf(x->eb, ERR_NOMEM, "register: out of memory");
	}
	nw.generation = old.generation + 1;	/* 0 + 1 for a new worker */
	worker_rec_fini(&old);
	nw.status = WORKER_ALIVE;
	nw.registered_ms = nw.last_heartbeat_ms = c->now_ms;

	/* A restarted worker has lost whatever it no longer reports. */
	if ((rc = fsm_worker_requeue(x, nw.id, FSM_REQUEUE_UNLISTED, "worker restarted",
	    &nw.used, &pending)) != 0)
		goto out;
	snprintf(detail, sizeof detail, "registered, generation %" PRIu64,
	    nw.generation);
	if ((rc = fsm_worker_write(x->txn, &nw, x->eb)) != 0 ||
	    (rc = fsm_audit(x, NULL, NULL, "worker", NULL, NULL, detail)) != 0 ||
	    (rc = fsm_event_add(x, FSM_EV_WORKER, NULL, 0, nw.id)) != 0)
		goto out;
	if (pending)
		rc = fsm_event_add(x, FSM_EV_PENDING, NULL, 0, NULL);
out:
	worker_rec_fini(&nw);
	return rc;
}

static int
fsm_cmd_worker_heartbeats(struct fsm_ctx *x)
{
	const struct cmd_heartbeat	*hb;
	struct worker_rec		 wr;
	size_t				 i;
	int				 rc;

	for (i = 0; i < x->c->n_heartbeats; i++) {
		hb = &x->c->heartbeats[i];
		rc = fsm_worker_read(x->txn, hb->worker_id, &wr, x->eb);
		if (rc == ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (wr.status != WORKER_DEAD && hb->at_ms > wr.last_heartbeat_ms) {
			wr.last_heartbeat_ms = hb->at_ms;
			rc = fsm_worker_write(x->txn, &wr, x->eb);
		}
		worker_rec_fini(&wr);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Moves worker wr to status st: requeues the slot holders `which` names,
 * records the worker, and audits it with detail. */
static int
fsm_worker_retire(struct fsm_ctx *x, struct worker_rec *wr,
    enum worker_status st, enum fsm_requeue which, const char *why,
    const char *detail)
{
	uint32_t	 kept;
	bool		 pending;
	int		 rc;

	if ((rc = fsm_worker_requeue(x, wr->id, which, why, &kept,
	    &pending)) != 0)
		return rc;
	wr->status = st;
	wr->used = kept;
	if ((rc = fsm_worker_write(x->txn, wr, x->eb)) != 0 ||
	    (rc = fsm_audit(x, NULL, NULL, "worker", NULL, NULL, detail)) != 0 ||
	    (rc = fsm_event_add(x, FSM_EV_WORKER, NULL, 0, wr->id)) != 0)
		return rc;
	return pending ? fsm_event_add(x, FSM_EV_PENDING, NULL, 0, NULL) : 0;
}

static int
fsm_cmd_worker_dead(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct worker_rec	 wr;
	char			 detail[64];
	int			 rc;

	if ((rc = fsm_worker_read(x->txn, c->worker_id, &wr, x->eb)) != 0)
		return rc;
	if (wr.generation != c->generation) {
		rc = err_setf(x->eb, ERR_STALE, "worker %s: generation %" PRIu64
		    " is not the current %" PRIu64, wr.id, c->generation,
		    wr.generation);
		goto out;
	}
	if (wr.status == WORKER_DEAD)
		goto out;
	snprintf(detail, sizeof detail, "dead, generation %" PRIu64,
	    wr.generation);
	rc = fsm_worker_retire(x, &wr, WORKER_DEAD, FSM_REQUEUE_ALL,
	    "worker dead", detail);
out:
	worker_rec_fini(&wr);
	return rc;
}

/* WORKER_DRAIN: the worker is shutting down.  It is given no more work;
 * what was assigned but not started goes back to PENDING at once (what
 * runs, the worker checkpoints and hands back itself). */
static int
fsm_cmd_worker_drain(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct worker_rec	 wr;
	int			 rc;

	if ((rc = fsm_worker_read(x->txn, c->worker_id, &wr, x->eb)) != 0)
		return rc;
	if (wr.generation != c->generation || wr.status == WORKER_DEAD)
		rc = err_setf(x->eb, ERR_STALE, "worker %s: generation %" PRIu64
		    " is not the current live one", wr.id, c->generation);
	else if (wr.status != WORKER_DRAINING)
		rc = fsm_worker_retire(x, &wr, WORKER_DRAINING,
		    FSM_REQUEUE_SCHEDULED, "worker draining", "draining");
	worker_rec_fini(&wr);
	return rc;
}

/* ---- customers and keys ---- */

static int
fsm_customer_read(struct kv_txn *t, const char *id, struct customer *out,
    struct errbuf *eb)
{
	memset(out, 0, sizeof *out);
	if (id == NULL || !model_id_valid(id))
		return err_setf(eb, ERR_NOTFOUND, "no customer %s", id ? id : "");
	return fsm_record_read(t, KV_DB_CUSTOMERS, id, MODEL_ID_LEN, "customer",
	    fsm_decode_customer, out, eb);
}

static int
fsm_customer_write(struct kv_txn *t, const struct customer *cu,
    struct errbuf *eb)
{
	struct wire_writer	*w;

	if ((w = wire_writer_new()) == NULL)
		return err_setf(eb, ERR_NOMEM, "encode customer: out of memory");
	model_customer_encode(w, cu);
	return fsm_put_writer(t, KV_DB_CUSTOMERS, cu->id, MODEL_ID_LEN, w, eb);
}

/* A customer's display name: 1..MODEL_NAME_MAX printable ASCII characters
 * (what every JSON encoder and terminal shows as it is). */
static bool
fsm_customer_name_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= MODEL_NAME_MAX || s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* 0 if name is free, ERR_EXISTS if a customer holds it. */
static int
fsm_customer_name_free(struct fsm_ctx *x, const char *name)
{
	struct kv_val	 v;
	int		 rc;

	rc = kv_get(x->txn, KV_DB_CUSTOMER_NAMES, name, strlen(name), &v, x->eb);
	if (rc == 0)
		return err_setf(x->eb, ERR_EXISTS, "customer name \"%s\" is "
		    "taken", name);
	return rc == ERR_NOTFOUND ? 0 : rc;
}

/* The checks of a new key: well-formed, its role matching its owner ("admin"
 * keys are admin keys, a customer's are customer keys), the owner existing,
 * and neither its id nor its hash taken. */
static int
fsm_key_check(struct fsm_ctx *x, const struct api_key *in, bool owner_known)
{
	struct kv_val	 v;
	bool		 admin;
	int		 rc;

	if (!model_id_valid(in->id))
		return err_setf(x->eb, ERR_INVAL, "key: bad id");
	if (!fsm_cust_ok(in->customer_id))
		return err_setf(x->eb, ERR_INVAL, "key %s: bad customer", in->id);
	admin = strcmp(in->customer_id, MODEL_CUSTOMER_ADMIN) == 0;
	if (in->role != (admin ? KEY_ROLE_ADMIN : KEY_ROLE_CUSTOMER))
		return err_setf(x->eb, ERR_INVAL, "key %s: role %s does not fit "
		    "customer %s", in->id, in->role == KEY_ROLE_ADMIN ? "admin" :
		    in->role == KEY_ROLE_CUSTOMER ? "customer" : "(bad)",
		    in->customer_id);
	if (!admin && !owner_known) {
		if (!model_id_valid(in->customer_id))
			return err_setf(x->eb, ERR_NOTFOUND, "no customer %s",
			    in->customer_id);
		rc = kv_get(x->txn, KV_DB_CUSTOMERS, in->customer_id,
		    MODEL_ID_LEN, &v, x->eb);
		if (rc == ERR_NOTFOUND)
			return err_setf(x->eb, ERR_NOTFOUND, "no customer %s",
			    in->customer_id);
		if (rc != 0)
			return rc;
	}
	rc = kv_get(x->txn, KV_DB_KEY_IDS, in->id, MODEL_ID_LEN, &v, x->eb);
	if (rc == 0)
		return err_setf(x->eb, ERR_EXISTS, "key %s exists", in->id);
	if (rc != ERR_NOTFOUND)
		return rc;
	rc = kv_get(x->txn, KV_DB_KEYS, in->hash, sizeof in->hash, &v, x->eb);
	if (rc == 0)
		return err_setf(x->eb, ERR_EXISTS, "a key with this hash exists");
	return rc == ERR_NOTFOUND ? 0 : rc;
}

static int
fsm_key_write(struct kv_txn *t, const struct api_key *k, struct errbuf *eb)
{
	struct wire_writer	*w;

	if ((w = wire_writer_new()) == NULL)
		return err_setf(eb, ERR_NOMEM, "key: out of memory");
	model_api_key_encode(w, k);
	return fsm_put_writer(t, KV_DB_KEYS, k->hash, sizeof k->hash, w, eb);
}

/* Stores a key that passed fsm_key_check, and audits it. */
static int
fsm_key_add(struct fsm_ctx *x, const struct api_key *in)
{
	struct api_key	 k;
	char		 detail[MODEL_NAME_MAX + 96];
	int		 rc;

	k = *in;		/* shallow: only the scalars are changed */
	k.created_ms = x->c->now_ms;
	k.revoked = false;
	if ((rc = fsm_key_write(x->txn, &k, x->eb)) != 0 ||
	    (rc = kv_put(x->txn, KV_DB_KEY_IDS, k.id, MODEL_ID_LEN, k.hash,
	    sizeof k.hash, x->eb)) != 0)
		return rc;
	snprintf(detail, sizeof detail, "created key %s for %s (%s)", k.id,
	    k.customer_id, k.role == KEY_ROLE_ADMIN ? "admin" : "customer");
	return fsm_audit(x, NULL, k.customer_id, "key", NULL, "created", detail);
}

static int
fsm_cmd_key_create(struct fsm_ctx *x)
{
	int	 rc;

	/* Also a customer's key rotation: a second key, then a revoke. */
	if ((rc = fsm_key_check(x, &x->c->key, false)) != 0)
		return rc;
	return fsm_key_add(x, &x->c->key);
}

static int
fsm_cmd_key_revoke(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct api_key		 k;
	struct kv_val		 v;
	uint8_t			 hash[32];
	char			 detail[MODEL_ID_LEN + 16];
	int			 rc;

	if (!model_id_valid(c->key.id))
		return err_setf(x->eb, ERR_NOTFOUND, "no key %s", c->key.id);
	rc = kv_get(x->txn, KV_DB_KEY_IDS, c->key.id, MODEL_ID_LEN, &v, x->eb);
	if (rc == ERR_NOTFOUND)
		return err_setf(x->eb, ERR_NOTFOUND, "no key %s", c->key.id);
	if (rc != 0)
		return rc;
	if (v.len != sizeof hash)
		return err_setf(x->eb, ERR_CORRUPT, "key id %s: bad hash",
		    c->key.id);
	memcpy(hash, v.data, sizeof hash);
	if ((rc = kv_get(x->txn, KV_DB_KEYS, hash, sizeof hash, &v,
	    x->eb)) != 0)
		return rc == ERR_NOTFOUND ? err_setf(x->eb, ERR_CORRUPT,
		    "key id %s names a missing key", c->key.id) : rc;
	if ((rc = fsm_key_decode(&v, &k, x->eb)) != 0)
		return rc;
	/* A customer revoking another's key learns nothing: not found. */
	if (c->key.customer_id != NULL && !str_eq(c->key.customer_id,
	    k.customer_id)) {
		rc = err_setf(x->eb, ERR_NOTFOUND, "no key %s", c->key.id);
		goto out;
	}
	if (k.revoked)
		goto out;
	k.revoked = true;
	snprintf(detail, sizeof detail, "revoked key %s", k.id);
	if ((rc = fsm_key_write(x->txn, &k, x->eb)) == 0)
		rc = fsm_audit(x, NULL, k.customer_id, "key", NULL, "revoked",
		    detail);
out:
	api_key_fini(&k);
	return rc;
}

static int
fsm_cmd_customer_create(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	struct customer		 cu;
	struct kv_val		 v;
	char			 detail[FSM_DETAIL_MAX];
	uint8_t			 key[8];
	int			 rc;

	if (!model_id_valid(c->customer.id))
		return err_setf(x->eb, ERR_INVAL, "customer: bad id");
	if (!fsm_customer_name_ok(c->customer.name))
		return err_setf(x->eb, ERR_INVAL, "customer %s: the name must be "
		    "1..%d printable characters", c->customer.id, MODEL_NAME_MAX);
	if ((unsigned)c->customer.tier >= TIER__COUNT)
		return err_setf(x->eb, ERR_INVAL, "customer %s: bad tier",
		    c->customer.id);
	if (!str_eq(c->key.customer_id, c->customer.id) ||
	    c->key.role != KEY_ROLE_CUSTOMER)
		return err_setf(x->eb, ERR_INVAL, "customer %s: its first key "
		    "must be a customer key of its own", c->customer.id);
	rc = kv_get(x->txn, KV_DB_CUSTOMERS, c->customer.id, MODEL_ID_LEN, &v,
	    x->eb);
	if (rc == 0)
		return err_setf(x->eb, ERR_EXISTS, "customer %s exists",
		    c->customer.id);
	if (rc != ERR_NOTFOUND)
		return rc;
	if ((rc = fsm_customer_name_free(x, c->customer.name)) != 0 ||
	    (rc = fsm_key_check(x, &c->key, true)) != 0)
		return rc;

	cu = c->customer;	/* shallow: name stays the command's */
	cu.created_ms = cu.updated_ms = c->now_ms;
	fsm_be64_put(key, x->meta.next_customer++);
	if ((rc = fsm_customer_write(x->txn, &cu, x->eb)) != 0 ||
	    (rc = kv_put(x->txn, KV_DB_CUSTOMER_NAMES, cu.name, strlen(cu.name),
	    cu.id, MODEL_ID_LEN, x->eb)) != 0 ||
	    (rc = kv_put(x->txn, KV_DB_CUSTOMERS_BY_CREATED, key, sizeof key,
	    cu.id, MODEL_ID_LEN, x->eb)) != 0)
		return rc;
	snprintf(detail, sizeof detail, "name \"%s\", tier %s, "
	    "max_queue_depth %" PRIu32 ", max_concurrent %" PRIu32
	    ", rate_limit_rps %" PRIu32, cu.name, tier_name(cu.tier),
	    cu.max_queue_depth, cu.max_concurrent, cu.rate_limit_rps);
	if ((rc = fsm_audit(x, NULL, cu.id, "customer", NULL, "created",
	    detail)) != 0)
		return rc;
	return fsm_key_add(x, &c->key);
}

/* Appends ", <what> <old>-><new>" (or without the comma, first) to buf. */
static void
fsm_detail_add(char *buf, size_t size, const char *what, const char *from,
    const char *to)
{
	size_t	 len = strlen(buf);

	if (len < size)
		snprintf(buf + len, size - len, "%s%s %s->%s", len ? ", " : "",
		    what, from, to);
}

static void
fsm_detail_u32(char *buf, size_t size, const char *what, uint32_t from,
    uint32_t to)
{
	char	 a[16], b[16];

	snprintf(a, sizeof a, "%" PRIu32, from);
	snprintf(b, sizeof b, "%" PRIu32, to);
	fsm_detail_add(buf, size, what, a, b);
}

static int
fsm_cmd_customer_update(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	const struct customer	*in = &c->customer;
	struct customer		 cu;
	char			 detail[FSM_DETAIL_MAX] = "";
	char			 a[MODEL_NAME_MAX + 3], b[MODEL_NAME_MAX + 3];
	uint32_t		 m = c->update_mask;
	int			 rc;

	if (m == 0 || (m & ~(uint32_t)(CMD_UPDATE_TIER |
	    CMD_UPDATE_MAX_QUEUE_DEPTH | CMD_UPDATE_MAX_CONCURRENT |
	    CMD_UPDATE_RATE_LIMIT | CMD_UPDATE_NAME)) != 0)
		return err_setf(x->eb, ERR_INVAL, "customer update: bad mask "
		    "0x%" PRIx32, m);
	if ((m & CMD_UPDATE_TIER) && (unsigned)in->tier >= TIER__COUNT)
		return err_setf(x->eb, ERR_INVAL, "customer update: bad tier");
	if ((m & CMD_UPDATE_NAME) && !fsm_customer_name_ok(in->name))
		return err_setf(x->eb, ERR_INVAL, "customer update: the name "
		    "must be 1..%d printable characters", MODEL_NAME_MAX);
	if ((rc = fsm_customer_read(x->txn, in->id, &cu, x->eb)) != 0)
		return rc;

	if ((m & CMD_UPDATE_NAME) && strcmp(cu.name, in->name) != 0) {
		if ((rc = fsm_customer_name_free(x, in->name)) != 0 ||
		    (rc = kv_del(x->txn, KV_DB_CUSTOMER_NAMES, cu.name,
		    strlen(cu.name), x->eb)) != 0 ||
		    (rc = kv_put(x->txn, KV_DB_CUSTOMER_NAMES, in->name,
		    strlen(in->name), cu.id, MODEL_ID_LEN, x->eb)) != 0)
			goto out;
		snprintf(a, sizeof a, "\"%s\"", cu.name);
		snprintf(b, sizeof b, "\"%s\"", in->name);
		fsm_detail_add(detail, sizeof detail, "name", a, b);
		if ((rc = str_set(&cu.name, in->name)) != 0) {
			rc = err_setf(x->eb, ERR_NOMEM, "customer: out of memory");
			goto out;
		}
	}
	if (m & CMD_UPDATE_TIER) {
		fsm_detail_add(detail, sizeof detail, "tier", tier_name(cu.tier),
		    tier_name(in->tier));
		cu.tier = in->tier;
	}
	if (m & CMD_UPDATE_MAX_QUEUE_DEPTH) {
		fsm_detail_u32(detail, sizeof detail, "max_queue_depth",
		    cu.max_queue_depth, in->max_queue_depth);
		cu.max_queue_depth = in->max_queue_depth;
	}
	if (m & CMD_UPDATE_MAX_CONCURRENT) {
		fsm_detail_u32(detail, sizeof detail, "max_concurrent",
		    cu.max_concurrent, in->max_concurrent);
		cu.max_concurrent = in->max_concurrent;
	}
	if (m & CMD_UPDATE_RATE_LIMIT) {
		fsm_detail_u32(detail, sizeof detail, "rate_limit_rps",
		    cu.rate_limit_rps, in->rate_limit_rps);
		cu.rate_limit_rps = in->rate_limit_rps;
	}
	cu.updated_ms = c->now_ms;
	if (detail[0] == '\0')
		snprintf(detail, sizeof detail, "no change");
	if ((rc = fsm_customer_write(x->txn, &cu, x->eb)) == 0)
		rc = fsm_audit(x, NULL, cu.id, "customer", NULL, "updated",
		    detail);
out:
	customer_fini(&cu);
	return rc;
}

static int
fsm_cmd_secret_set(struct fsm_ctx *x)
{
	const struct cmd	*c = x->c;
	char			 detail[MODEL_NAME_MAX + 16];
	int			 rc;

	if (c->secret_name == NULL || !model_name_valid(c->secret_name))
		return err_setf(x->eb, ERR_INVAL, "secret: bad name");
	if ((rc = kv_put(x->txn, KV_DB_SECRETS, c->secret_name,
	    strlen(c->secret_name), c->secret_hash, sizeof c->secret_hash,
	    x->eb)) != 0)
		return rc;
	snprintf(detail, sizeof detail, "set %s", c->secret_name);
	return fsm_audit(x, NULL, NULL, "secret", NULL, NULL, detail);
}

/* ---- the node directory ---- */

/* Records a coordinator's addresses.  An announcement equal to the stored
 * one (apart from its time) changes nothing, so a node re-announcing at
 * every leadership leaves no trail of identical audit events. */
static int
fsm_cmd_node_set(struct fsm_ctx *x)
{
	const struct node_rec	*n = &x->c->node;
	struct wire_writer	*w;
	struct node_rec		 old;
	uint8_t			 key[8];
	char			 detail[3 * MODEL_ADDRESS_MAX + 64];
	bool			 same;
	int			 rc;

	if (!node_rec_valid(n))
		return err_setf(x->eb, ERR_INVAL, "node: bad id or address");
	fsm_be64_put(key, n->id);
	rc = fsm_node_read(x->txn, n->id, &old, x->eb);
	if (rc != 0 && rc != ERR_NOTFOUND)
		return rc;
	same = rc == 0 && strcmp(old.raft_address, n->raft_address) == 0 &&
	    strcmp(old.http_url, n->http_url) == 0 &&
	    strcmp(old.worker_url, n->worker_url) == 0;
	if (rc == 0)
		node_rec_fini(&old);
	if (same)
		return 0;
	if ((w = wire_writer_new()) == NULL)
		return err_setf(x->eb, ERR_NOMEM, "encode node: out of memory");
	model_node_encode(w, n);
	if ((rc = fsm_put_writer(x->txn, KV_DB_NODES, key, sizeof key, w,
	    x->eb)) != 0)
		return rc;
	snprintf(detail, sizeof detail, "node %" PRIu64 ": raft %s, http %s, "
	    "workers %s", n->id, n->raft_address, n->http_url, n->worker_url);
	return fsm_audit(x, NULL, NULL, "node", NULL, "announced", detail);
}

static int
fsm_cmd_node_remove(struct fsm_ctx *x)
{
	uint8_t		 key[8];
	char		 detail[64];
	int		 rc;

	fsm_be64_put(key, x->c->node.id);
	if ((rc = kv_del(x->txn, KV_DB_NODES, key, sizeof key, x->eb)) != 0)
		return rc == ERR_NOTFOUND ? err_setf(x->eb, ERR_NOTFOUND,
		    "no node %" PRIu64 " in the directory", x->c->node.id) : rc;
	snprintf(detail, sizeof detail, "node %" PRIu64, x->c->node.id);
	return fsm_audit(x, NULL, NULL, "node", NULL, "removed", detail);
}

/* Applies one report of a REPORT_BATCH as the command it stands for.  A
 * rejected report (fenced, finished) is rejected by its check, before it
 * changes anything, and is skipped; the others take effect.  An error
 * from an apply half is the batch's (the entry's transaction is aborted
 * whole). */
static int
fsm_report_one(struct fsm_ctx *x, const struct cmd_report *r)
{
	struct cmd	*batch = x->c;
	struct cmd	 sub;
	bool		 applying;
	int		 rc;

	memset(&sub, 0, sizeof sub);
	sub.type = r->type;
	sub.now_ms = batch->now_ms;
	sub.actor = batch->actor;
	sub.request_id = batch->request_id;
	sub.worker_id = batch->worker_id;
	memcpy(sub.workload_id, r->workload_id, sizeof sub.workload_id);
	sub.attempt = r->attempt;
	sub.progress = r->progress;
	sub.message = r->message;
	sub.outcome = r->outcome;
	sub.result_json = r->result_json;
	sub.error = r->error;

	x->c = &sub;
	rc = fsm_report_run(x, r->type, &applying);
	x->c = batch;
	if (rc != 0 && !applying && fsm_rejection(rc)) {
		errbuf_clear(x->eb);
		rc = 0;
	}
	return rc;
}

/* A worker's reports, in the order it sent them; each stands alone. */
static int
fsm_cmd_report_batch(struct fsm_ctx *x)
{
	size_t	 i;
	int	 rc;

	if (x->c->worker_id == NULL)
		return err_setf(x->eb, ERR_INVAL, "report batch without a worker");
	for (i = 0; i < x->c->n_reports; i++)
		if ((rc = fsm_report_one(x, &x->c->reports[i])) != 0)
			return rc;
	return 0;
}

static int
fsm_cmd_run(struct fsm_ctx *x)
{
	switch (x->c->type) {
	case CMD_SUBMIT:
		return fsm_cmd_submit(x);
	case CMD_ASSIGN:
		return fsm_cmd_assign(x);
	case CMD_START:
	case CMD_PROGRESS:
	case CMD_COMPLETE:
		return fsm_cmd_report(x);
	case CMD_CHECKPOINT:
		return fsm_cmd_checkpoint(x);
	case CMD_CANCEL:
		return fsm_cmd_cancel(x);
	case CMD_WORKER_REGISTER:
		return fsm_cmd_worker_register(x);
	case CMD_WORKER_HEARTBEAT_BATCH:
		return fsm_cmd_worker_heartbeats(x);
	case CMD_WORKER_DEAD:
		return fsm_cmd_worker_dead(x);
	case CMD_WORKER_DRAIN:
		return fsm_cmd_worker_drain(x);
	case CMD_PREEMPT:
		return fsm_cmd_preempt(x);
	case CMD_KEY_CREATE:
		return fsm_cmd_key_create(x);
	case CMD_SECRET_SET:
		return fsm_cmd_secret_set(x);
	case CMD_CUSTOMER_CREATE:
		return fsm_cmd_customer_create(x);
	case CMD_CUSTOMER_UPDATE:
		return fsm_cmd_customer_update(x);
	case CMD_KEY_REVOKE:
		return fsm_cmd_key_revoke(x);
	case CMD_PAUSE:
		return fsm_cmd_pause(x);
	case CMD_RESUME:
		return fsm_cmd_resume(x);
	case CMD_CANCEL_BATCH:
		return fsm_cmd_cancel_batch(x);
	case CMD_REPORT_BATCH:
		return fsm_cmd_report_batch(x);
	case CMD_NODE_SET:
		return fsm_cmd_node_set(x);
	case CMD_NODE_REMOVE:
		return fsm_cmd_node_remove(x);
	default:
		return err_setf(x->eb, ERR_INVAL, "unknown command %d",
		    (int)x->c->type);
	}
}

/* ---- open, apply, flush ---- */

static int
fsm_fail(struct fsm *f, int rc, const struct errbuf *eb)
{
	if (f->failed == 0) {
		f->failed = rc;
		snprintf(f->fail_msg, sizeof f->fail_msg, "%s",
		    eb->msg[0] ? eb->msg : err_code_name(rc));
	}
	kv_txn_abort(f->batch);
	f->batch = NULL;
	return rc;
}

int
fsm_open(struct fsm **out, const char *dir, uint64_t map_size, struct errbuf *eb)
{
	pthread_rwlockattr_t	 attr;
	struct fsm		*f;
	int			 rc;

	*out = NULL;
	/* Checkpoint hashes are BLAKE2b (libsodium); idempotent. */
	if (sodium_init() < 0)
		return err_setf(eb, ERR_INTERNAL, "fsm: libsodium failed to start");
	if ((f = calloc(1, sizeof *f)) == NULL)
		return err_setf(eb, ERR_NOMEM, "fsm: out of memory");
	f->map_size = map_size != 0 ? map_size : KV_MAP_SIZE_DEFAULT;
	f->meta.next_seq = f->meta.next_audit = 1;
	if ((f->dir = strdup(dir)) == NULL ||
	    (f->path = fsm_path_join(dir, "/state.mdb")) == NULL ||
	    (f->lock_path = fsm_path_join(f->path, "-lock")) == NULL ||
	    (f->snap_path = fsm_path_join(f->path, ".snap")) == NULL ||
	    (f->restore_path = fsm_path_join(f->path, ".restore")) == NULL ||
	    (f->old_path = fsm_path_join(f->path, ".old")) == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "fsm: out of memory");
		goto fail;
	}
	/* Writers may not starve behind a stream of readers: a restore must
	 * get in. */
	if (pthread_rwlockattr_init(&attr) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "fsm: lock attributes");
		goto fail;
	}
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&f->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0) {
		rc = err_setf(eb, ERR_NOMEM, "fsm: lock: %s", strerror(rc));
		goto fail;
	}
	f->lock_init = true;

	/* The store starts empty: libraft restores the last snapshot and
	 * replays the log tail into it.  Leftovers of a crash go too. */
	if ((rc = fsm_unlink(f->path, eb)) != 0 ||
	    (rc = fsm_unlink(f->lock_path, eb)) != 0 ||
	    (rc = fsm_unlink(f->snap_path, eb)) != 0 ||
	    (rc = fsm_unlink(f->restore_path, eb)) != 0 ||
	    (rc = fsm_unlink(f->old_path, eb)) != 0)
		goto fail;
	{
		char	*rl = fsm_path_join(f->restore_path, "-lock");

		if (rl == NULL) {
			rc = err_setf(eb, ERR_NOMEM, "fsm: out of memory");
			goto fail;
		}
		rc = fsm_unlink(rl, eb);
		free(rl);
		if (rc != 0)
			goto fail;
	}
	if ((rc = kv_open(&f->kv, f->path, f->map_size, eb)) != 0)
		goto fail;
	if (holdings_new(&f->holdings) != 0) {
		rc = err_setf(eb, ERR_NOMEM, "fsm: out of memory");
		goto fail;
	}
	*out = f;
	return 0;
fail:
	fsm_close(f);
	return rc;
}

void
fsm_close(struct fsm *f)
{
	struct errbuf	 eb;

	if (f == NULL)
		return;
	if (f->kv != NULL) {
		/* Best effort: the Raft log holds whatever this loses. */
		if (fsm_flush(f, &eb) == 0)
			kv_sync(f->kv, &eb);
		kv_txn_abort(f->batch);
		f->batch = NULL;
		kv_close(f->kv);
	}
	fsm_events_free(f->ev, f->n_ev);
	holdings_free(f->holdings);
	if (f->lock_init)
		pthread_rwlock_destroy(&f->lock);
	free(f->dir);
	free(f->path);
	free(f->lock_path);
	free(f->snap_path);
	free(f->restore_path);
	free(f->old_path);
	free(f);
}

/* Runs x's command in x->txn and folds its deltas in.  0, or the error
 * (x->meta and the hold deltas are then to be dropped). */
static int
fsm_cmd_exec(struct fsm_ctx *x)
{
	int	 rc;

	rc = fsm_cmd_run(x);
	if (rc == 0)
		rc = fsm_workers_flush(x);
	if (rc == 0)
		rc = fsm_usage_flush(x);
	fsm_workers_forget(x);
	fsm_usage_deltas_free(x);
	fsm_seen_forget(x);
	return rc;
}

int
fsm_apply(struct fsm *f, uint64_t index, const void *buf, size_t len, int *result)
{
	struct errbuf	 eb;
	struct fsm_ctx	 x;
	struct cmd	 c;
	size_t		 mark = f->n_ev;
	uint64_t	 changes;
	bool		 direct;
	int		 rc;

	*result = 0;
	errbuf_clear(&eb);
	if (f->failed != 0)
		return f->failed;
	if (f->kv == NULL)
		return ERR_IO;
	/* The store already covers this entry (a restored snapshot does):
	 * applying it again would apply it twice. */
	if (index <= atomic_load(&f->applied))
		return 0;
	if (f->batch == NULL &&
	    (rc = kv_txn_begin(f->kv, NULL, false, &f->batch, &eb)) != 0)
		return fsm_fail(f, rc, &eb);

	memset(&c, 0, sizeof c);
	if ((rc = cmd_decode(buf, len, &c)) != 0) {
		if (rc == ERR_NOMEM)
			return fsm_fail(f, rc, &eb);
		/* Committed but undecodable: rejected, the same on every node. */
		*result = ERR_INVAL;
		atomic_store(&f->applied, index);
		return 0;
	}
	memset(&x, 0, sizeof x);
	x.f = f;
	x.c = &c;
	x.meta = f->meta;
	x.eb = &eb;
	direct = fsm_cmd_checks_first(c.type);
	if (direct)
		x.txn = f->batch;
	else if ((rc = kv_txn_begin(f->kv, f->batch, false, &x.txn,
	    &eb)) != 0) {
		cmd_fini(&c);
		return fsm_fail(f, rc, &eb);
	}
	changes = kv_txn_changes(x.txn);
	rc = fsm_cmd_exec(&x);
	if (rc == 0) {
		if (!direct && (rc = kv_txn_commit(x.txn, &eb)) != 0) {
			fsm_hold_deltas_free(&x);
			fsm_event_truncate(f, mark);
			cmd_fini(&c);
			return fsm_fail(f, rc, &eb);
		}
		f->meta = x.meta;
		if ((rc = fsm_hold_deltas_apply(&x)) != 0) {
			cmd_fini(&c);
			return fsm_fail(f, rc, &eb);
		}
	} else {
		fsm_hold_deltas_free(&x);
		fsm_event_truncate(f, mark);
		/* Run without a transaction of its own, a command that fails
		 * after changing the store cannot be undone: the batch (and
		 * the node) must not go on from half of it. */
		if (direct && kv_txn_changes(x.txn) != changes) {
			char	 why[ERRBUF_LEN];

			snprintf(why, sizeof why, "%s", eb.msg);
			if (fsm_rejection(rc))
				rc = err_setf(&eb, ERR_INTERNAL, "%s rejected "
				    "after changing the store: %s",
				    cmd_type_name(c.type), why);
			cmd_fini(&c);
			return fsm_fail(f, rc, &eb);
		}
		if (!direct)
			kv_txn_abort(x.txn);
		if (!fsm_rejection(rc)) {
			cmd_fini(&c);
			return fsm_fail(f, rc, &eb);
		}
		*result = rc;
	}
	cmd_fini(&c);
	atomic_store(&f->applied, index);
	return 0;
}

int
fsm_flush(struct fsm *f, struct errbuf *eb)
{
	struct errbuf	 leb;
	int		 rc;

	if (f->failed != 0)
		return err_setf(eb, f->failed, "state machine failed earlier: %s",
		    f->fail_msg);
	if (f->batch == NULL)
		return 0;
	errbuf_clear(&leb);
	if ((rc = fsm_meta_save(f->batch, &f->meta, atomic_load(&f->applied),
	    &leb)) != 0) {
		fsm_fail(f, rc, &leb);
		return err_setf(eb, rc, "%s", leb.msg);
	}
	rc = kv_txn_commit(f->batch, &leb);
	f->batch = NULL;
	if (rc != 0) {
		fsm_fail(f, rc, &leb);
		return err_setf(eb, rc, "%s", leb.msg);
	}
	return 0;
}

uint64_t
fsm_applied_index(struct fsm *f)
{
	return atomic_load(&f->applied);
}

size_t
fsm_events_take(struct fsm *f, struct fsm_event **out)
{
	size_t	 n = f->n_ev;

	*out = n > 0 ? f->ev : NULL;
	if (n == 0)
		return 0;
	f->ev = NULL;
	f->n_ev = f->cap_ev = 0;
	return n;
}

void
fsm_events_free(struct fsm_event *ev, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(ev[i].worker_id);
	free(ev);
}

/* ---- snapshots ---- */

static int
fsm_write_all(int fd, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 r;

	while (n > 0) {
		r = write(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The compressing half of a snapshot: reads the store's copy from a pipe
 * and compresses it as it comes, so neither a copy on disk nor the whole
 * uncompressed store in memory is ever needed. */
struct fsm_snap_zip {
	int		 fd;		/* the pipe's read end */
	uint8_t		*out;		/* header room, then the frame */
	size_t		 len;
	size_t		 cap;
	uint64_t	 raw_len;
	int		 err;		/* first ERR_*, then the rest is drained */
	const char	*why;
};

/* Room for one more ZSTD output step in z->out. */
static int
fsm_snap_zip_room(struct fsm_snap_zip *z)
{
	size_t	 want = z->len + ZSTD_CStreamOutSize(), cap = z->cap;
	uint8_t	*p;

	if (want <= cap)
		return 0;
	while (cap < want)
		cap = cap < 4096 ? 4096 : cap * 2;
	if ((p = realloc(z->out, cap)) == NULL)
		return ERR_NOMEM;
	z->out = p;
	z->cap = cap;
	return 0;
}

static void *
fsm_snap_zip_main(void *arg)
{
	struct fsm_snap_zip	*z = arg;
	ZSTD_CCtx		*cc;
	ZSTD_inBuffer		 in;
	ZSTD_outBuffer		 ob;
	uint8_t			*chunk;
	ssize_t			 n;
	size_t			 r;
	bool			 end = false;

	z->len = FSM_SNAP_HDR;
	chunk = malloc(FSM_IO_CHUNK);
	cc = ZSTD_createCCtx();
	if (chunk == NULL || cc == NULL || fsm_snap_zip_room(z) != 0 ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
	    FSM_SNAP_LEVEL))) {
		z->err = ERR_NOMEM;
		z->why = "out of memory";
	}
	/* Read to the end whatever happens: the copying side must never be
	 * left writing into a pipe nobody reads. */
	while (!end) {
		if (chunk == NULL) {
			uint8_t	 sink[4096];

			n = read(z->fd, sink, sizeof sink);
		} else
			n = read(z->fd, chunk, FSM_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (z->err == 0) {
				z->err = ERR_IO;
				z->why = "reading the store's copy failed";
			}
			break;
		}
		end = n == 0;
		if (z->err != 0)
			continue;
		z->raw_len += (uint64_t)n;
		in.src = chunk;
		in.size = (size_t)n;
		in.pos = 0;
		do {
			if (fsm_snap_zip_room(z) != 0) {
				z->err = ERR_NOMEM;
				z->why = "out of memory";
				break;
			}
			ob.dst = z->out + z->len;
			ob.size = z->cap - z->len;
			ob.pos = 0;
			r = ZSTD_compressStream2(cc, &ob, &in,
			    end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(r)) {
				z->err = ERR_INTERNAL;
				z->why = ZSTD_getErrorName(r);
				break;
			}
			z->len += ob.pos;
		} while (end ? r != 0 : in.pos < in.size);
	}
	ZSTD_freeCCtx(cc);
	free(chunk);
	return NULL;
}

int
fsm_snapshot(struct fsm *f, void **buf, size_t *len, struct errbuf *eb)
{
	struct fsm_snap_zip	 z;
	pthread_t		 th;
	int			 fds[2], rc;

	*buf = NULL;
	*len = 0;
	if (f->kv == NULL)
		return err_setf(eb, ERR_IO, "fsm: store unavailable");
	if (pipe2(fds, O_CLOEXEC) != 0)
		return err_setf(eb, ERR_IO, "snapshot: pipe: %s",
		    strerror(errno));
	memset(&z, 0, sizeof z);
	z.fd = fds[0];
	if ((rc = pthread_create(&th, NULL, fsm_snap_zip_main, &z)) != 0) {
		close(fds[0]);
		close(fds[1]);
		return err_setf(eb, ERR_NOMEM, "snapshot: thread: %s",
		    strerror(rc));
	}
	rc = kv_copy_compact_fd(f->kv, fds[1], eb);
	close(fds[1]);		/* the end of the copy, for the reader */
	pthread_join(th, NULL);
	close(fds[0]);
	if (rc == 0 && z.err != 0)
		rc = err_setf(eb, z.err, "snapshot: %s", z.why);
	if (rc != 0) {
		free(z.out);
		return rc;
	}
	memcpy(z.out, FSM_SNAP_MAGIC, 8);
	fsm_be64_put(z.out + 8, z.raw_len);
	*buf = z.out;
	*len = z.len;
	return 0;
}

/* Decompresses the snapshot body into path, checking its size. */
static int
fsm_snap_unpack(const void *body, size_t blen, uint64_t raw_len,
    const char *path, struct errbuf *eb)
{
	ZSTD_DStream	*ds = NULL;
	ZSTD_inBuffer	 in = { body, blen, 0 };
	ZSTD_outBuffer	 ob;
	uint64_t	 total = 0;
	size_t		 r = 1;
	void		*chunk = NULL;
	int		 fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return err_setf(eb, ERR_IO, "create %s: %s", path,
		    strerror(errno));
	if ((chunk = malloc(FSM_IO_CHUNK)) == NULL ||
	    (ds = ZSTD_createDStream()) == NULL) {
		rc = err_setf(eb, ERR_NOMEM, "restore: out of memory");
		goto out;
	}
	ZSTD_initDStream(ds);
	for (;;) {
		ob.dst = chunk;
		ob.size = FSM_IO_CHUNK;
		ob.pos = 0;
		r = ZSTD_decompressStream(ds, &ob, &in);
		if (ZSTD_isError(r)) {
			rc = err_setf(eb, ERR_CORRUPT, "restore: zstd: %s",
			    ZSTD_getErrorName(r));
			goto out;
		}
		total += ob.pos;
		if (total > raw_len) {
			rc = err_setf(eb, ERR_CORRUPT, "restore: snapshot larger "
			    "than its header says");
			goto out;
		}
		if (ob.pos > 0 && fsm_write_all(fd, chunk, ob.pos) != 0) {
			rc = err_setf(eb, ERR_IO, "write %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0 && in.pos == in.size)
			break;		/* frame complete, input consumed */
		if (r == 0 || (in.pos == in.size && ob.pos < ob.size)) {
			rc = err_setf(eb, ERR_CORRUPT, "restore: %s",
			    r == 0 ? "trailing bytes after the snapshot" :
			    "truncated snapshot");
			goto out;
		}
	}
	if (total != raw_len)
		rc = err_setf(eb, ERR_CORRUPT, "restore: snapshot is %" PRIu64
		    " bytes, header says %" PRIu64, total, raw_len);
out:
	ZSTD_freeDStream(ds);
	free(chunk);
	if (close(fd) != 0 && rc == 0)
		rc = err_setf(eb, ERR_IO, "close %s: %s", path, strerror(errno));
	return rc;
}

/* Empties the pending index (a layout 2 one is keyed without aging). */
static int
fsm_pending_clear(struct kv_txn *t, struct errbuf *eb)
{
	struct kv_cursor	*cur;
	struct kv_val		 key;
	uint8_t			 k[16];
	int			 rc;

	if ((rc = kv_cursor_open(t, KV_DB_PENDING, &cur, eb)) != 0)
		return rc;
	while ((rc = kv_cursor_first(cur, &key, NULL)) == 0) {
		if (key.len != sizeof k) {
			rc = err_setf(eb, ERR_CORRUPT, "pending index key of "
			    "%zu bytes", key.len);
			break;
		}
		memcpy(k, key.data, sizeof k);
		if ((rc = kv_del(t, KV_DB_PENDING, k, sizeof k, eb)) != 0)
			break;
	}
	kv_cursor_close(cur);
	return rc == ERR_NOTFOUND ? 0 : rc;
}

/*
 * Brings a snapshot of an older layout up to date, so that restoring an
 * older node's snapshot still gives exact counters and queue order:
 * layout 1 gets the per-customer usage and per-tier counters computed from
 * its workloads; layouts 1 and 2 get the pending index keyed by queue key
 * (the records' queue keys come from the default policy, see
 * model_workload_decode).
 */
static int
fsm_layout_upgrade(struct kv *kv, struct errbuf *eb)
{
	struct kv_cursor	*cur = NULL;
	struct kv_txn		*t = NULL;
	struct wire_doc		*d;
	struct workload		 w;
	struct fsm_key		 k;
	struct kv_val		 val;
	uint64_t		 layout = 0, tiers[TIER__COUNT];
	int			 rc;

	if ((rc = kv_txn_begin(kv, NULL, false, &t, eb)) != 0)
		return rc;
	if ((rc = fsm_meta_get_u64(t, "layout", 1, &layout, eb)) != 0 ||
	    layout >= FSM_LAYOUT)
		goto out;
	if ((rc = fsm_pending_clear(t, eb)) != 0)
		goto out;
	memset(tiers, 0, sizeof tiers);
	if ((rc = kv_cursor_open(t, KV_DB_WORKLOADS, &cur, eb)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, NULL, &val); rc == 0;
	    rc = kv_cursor_next(cur, NULL, &val)) {
		if ((rc = fsm_doc_open(&val, &d, "workload", eb)) != 0)
			goto out;
		rc = fsm_decoded(model_workload_decode(wire_doc_root(d), &w),
		    "workload", eb);
		wire_doc_free(d);
		if (rc != 0)
			goto out;
		if (w.status == WL_PENDING && (unsigned)w.tier < TIER__COUNT)
			tiers[w.tier]++;
		if (layout < 2 && (w.status == WL_PENDING ||
		    wl_status_holds_slot(w.status)))
			rc = fsm_usage_add(t, w.customer_id,
			    w.status == WL_PENDING, w.status != WL_PENDING, eb);
		if (rc == 0 && w.status == WL_PENDING) {
			fsm_pending_key(&k, &w);
			rc = kv_put(t, KV_DB_PENDING, k.b, k.len, w.id,
			    MODEL_ID_LEN, eb);
		}
		workload_fini(&w);
		if (rc != 0)
			goto out;
	}
	if (rc != ERR_NOTFOUND)
		goto out;
	kv_cursor_close(cur);
	cur = NULL;
	if ((layout < 2 && (rc = fsm_meta_put_vec(t, "tier_pending", tiers,
	    TIER__COUNT, eb)) != 0) ||
	    (rc = fsm_meta_put_u64(t, "layout", FSM_LAYOUT, eb)) != 0)
		goto out;
	rc = kv_txn_commit(t, eb);
	t = NULL;
out:
	kv_cursor_close(cur);
	kv_txn_abort(t);
	return rc;
}

/* Opens path as a store just to read its meta: proves the file is an LMDB
 * environment with our databases before it replaces the live one (and
 * brings an older layout up to date). */
static int
fsm_snap_check(struct fsm *f, struct fsm_meta *m, uint64_t *applied,
    struct errbuf *eb)
{
	struct kv	*kv = NULL;
	struct kv_txn	*t = NULL;
	char		*lock;
	int		 rc;

	if ((rc = kv_open(&kv, f->restore_path, f->map_size, eb)) == 0 &&
	    (rc = fsm_layout_upgrade(kv, eb)) == 0 &&
	    (rc = kv_txn_begin(kv, NULL, true, &t, eb)) == 0)
		rc = fsm_meta_load(t, m, applied, eb);
	kv_txn_abort(t);
	kv_close(kv);
	if ((lock = fsm_path_join(f->restore_path, "-lock")) != NULL) {
		unlink(lock);
		free(lock);
	}
	return rc;
}

/* After a snapshot replaced the store: the holdings from its by-worker
 * index, each workload read once.  Caller holds the write lock. */
static int
fsm_holdings_rebuild(struct fsm *f, struct errbuf *eb)
{
	struct kv_cursor	*cur = NULL;
	struct kv_txn		*t = NULL;
	struct workload		 w;
	struct kv_val		 k;
	char			 id[MODEL_ID_LEN + 1];
	int			 rc;

	holdings_clear(f->holdings);
	if ((rc = kv_txn_begin(f->kv, NULL, true, &t, eb)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, KV_DB_BY_WORKER, &cur, eb)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, &k, NULL); rc == 0;
	    rc = kv_cursor_next(cur, &k, NULL)) {
		/* worker id, NUL, workload id */
		if (k.len <= MODEL_ID_LEN + 1) {
			rc = err_setf(eb, ERR_CORRUPT, "by-worker key of %zu bytes",
			    k.len);
			goto out;
		}
		memcpy(id, (const char *)k.data + k.len - MODEL_ID_LEN, MODEL_ID_LEN);
		id[MODEL_ID_LEN] = '\0';
		if ((rc = fsm_wl_read(t, id, &w, eb)) != 0)
			goto out;
		rc = wl_status_holds_slot(w.status) && w.worker_id != NULL &&
		    w.type != NULL ? holdings_change(f->holdings, w.worker_id,
		    w.type, &w.requests, 1) : 0;
		workload_fini(&w);
		if (rc != 0) {
			err_setf(eb, rc, "holdings: out of memory");
			goto out;
		}
	}
	if (rc == ERR_NOTFOUND)
		rc = 0;
out:
	kv_cursor_close(cur);
	kv_txn_abort(t);
	return rc;
}

int
fsm_restore(struct fsm *f, const void *buf, size_t len, struct errbuf *eb)
{
	const uint8_t	*b = buf;
	struct fsm_meta	 m;
	struct errbuf	 leb;
	uint64_t	 raw_len, applied = 0;
	int		 rc;

	if (len < FSM_SNAP_HDR || memcmp(b, FSM_SNAP_MAGIC, 8) != 0)
		return err_setf(eb, ERR_CORRUPT, "restore: not a snapshot");
	raw_len = fsm_be64_get(b + 8);
	if (raw_len == 0 || raw_len > f->map_size + ((uint64_t)1 << 30))
		return err_setf(eb, ERR_CORRUPT, "restore: implausible size %"
		    PRIu64, raw_len);
	if ((rc = fsm_flush(f, eb)) != 0)
		return rc;
	if ((rc = fsm_snap_unpack(b + FSM_SNAP_HDR, len - FSM_SNAP_HDR, raw_len,
	    f->restore_path, eb)) != 0 ||
	    (rc = fsm_snap_check(f, &m, &applied, eb)) != 0) {
		unlink(f->restore_path);
		return rc;
	}

	/* The swap: no reader may hold the environment while it is closed. */
	pthread_rwlock_wrlock(&f->lock);
	kv_close(f->kv);
	f->kv = NULL;
	unlink(f->lock_path);
	if (rename(f->path, f->old_path) != 0) {
		rc = err_setf(eb, ERR_IO, "restore: rename %s: %s", f->path,
		    strerror(errno));
		unlink(f->restore_path);
		goto reopen_old;
	}
	if (rename(f->restore_path, f->path) != 0) {
		rc = err_setf(eb, ERR_IO, "restore: rename %s: %s",
		    f->restore_path, strerror(errno));
		unlink(f->restore_path);
		rename(f->old_path, f->path);
		goto reopen_old;
	}
	if ((rc = kv_open(&f->kv, f->path, f->map_size, eb)) != 0) {
		unlink(f->lock_path);
		rename(f->old_path, f->path);
		goto reopen_old;
	}
	unlink(f->old_path);
	f->meta = m;
	atomic_store(&f->applied, applied);
	rc = fsm_holdings_rebuild(f, eb);
	pthread_rwlock_unlock(&f->lock);
	return rc;

reopen_old:
	/* The old file is back in place: reopen it as it was. */
	errbuf_clear(&leb);
	if (kv_open(&f->kv, f->path, f->map_size, &leb) != 0) {
		f->kv = NULL;
		fsm_fail(f, ERR_IO, &leb);
	}
	pthread_rwlock_unlock(&f->lock);
	return rc;
}

/* ---- reads ---- */

static int
fsm_read_begin(struct fsm *f, struct kv_txn **t)
{
	int	 rc;

	pthread_rwlock_rdlock(&f->lock);
	if (f->kv == NULL) {
		pthread_rwlock_unlock(&f->lock);
		return ERR_IO;
	}
	if ((rc = kv_txn_begin(f->kv, NULL, true, t, NULL)) != 0)
		pthread_rwlock_unlock(&f->lock);
	return rc;
}

static void
fsm_read_end(struct fsm *f, struct kv_txn *t)
{
	kv_txn_abort(t);
	pthread_rwlock_unlock(&f->lock);
}

int
fsm_workload_get(struct fsm *f, const char *id, struct workload *out)
{
	struct kv_txn	*t;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_wl_read(t, id, out, NULL);
	fsm_read_end(f, t);
	return rc;
}

/* A growing array of workloads being returned. */
struct fsm_wl_vec {
	struct workload	*v;
	size_t		 n;
	size_t		 cap;
};

static int
fsm_wl_vec_push(struct fsm_wl_vec *vec, struct workload *w)
{
	struct workload	*p;
	size_t		 cap;

	if (vec->n == vec->cap) {
		cap = vec->cap ? vec->cap * 2 : 16;
		if ((p = realloc(vec->v, cap * sizeof *p)) == NULL)
			return ERR_NOMEM;
		vec->v = p;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *w;
	memset(w, 0, sizeof *w);
	return 0;
}

static void
fsm_wl_vec_fini(struct fsm_wl_vec *vec)
{
	size_t	 i;

	for (i = 0; i < vec->n; i++)
		workload_fini(&vec->v[i]);
	free(vec->v);
	memset(vec, 0, sizeof *vec);
}

/* Hands the array over; a zero-length result is still a valid pointer. */
static int
fsm_wl_vec_take(struct fsm_wl_vec *vec, struct workload **out, size_t *n)
{
	if (vec->v == NULL && (vec->v = calloc(1, sizeof *vec->v)) == NULL)
		return ERR_NOMEM;
	*out = vec->v;
	*n = vec->n;
	memset(vec, 0, sizeof *vec);
	return 0;
}

/* One descending stream over the entries prefix ‖ be64(seq) of an index. */
struct fsm_stream {
	struct kv_cursor	*cur;
	struct fsm_key		 prefix;
	bool			 live;		/* head is valid */
	uint64_t		 seq;		/* head's seq */
	char			 id[MODEL_ID_LEN + 1];
};

static int
fsm_stream_head(struct fsm_stream *s, int rc, const struct kv_val *key,
    const struct kv_val *val)
{
	s->live = false;
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (key->len != s->prefix.len + 8 ||
	    memcmp(key->data, s->prefix.b, s->prefix.len) != 0)
		return 0;
	if (val->len != MODEL_ID_LEN)
		return ERR_CORRUPT;
	s->seq = fsm_be64_get((const uint8_t *)key->data + s->prefix.len);
	memcpy(s->id, val->data, MODEL_ID_LEN);
	s->id[MODEL_ID_LEN] = '\0';
	s->live = true;
	return 0;
}

/* Positions s on its newest entry with seq < bound. */
static int
fsm_stream_start(struct fsm_stream *s, struct kv_txn *t, enum kv_db db,
    uint64_t bound)
{
	struct fsm_key	 k = s->prefix;
	struct kv_val	 key, val;
	int		 rc;

	if ((rc = kv_cursor_open(t, db, &s->cur, NULL)) != 0)
		return rc;
	fsm_key_u64(&k, bound);
	rc = kv_cursor_seek(s->cur, k.b, k.len, &key, &val);
	if (rc == 0)
		rc = kv_cursor_prev(s->cur, &key, &val);
	else if (rc == ERR_NOTFOUND)
		rc = kv_cursor_last(s->cur, &key, &val);
	return fsm_stream_head(s, rc, &key, &val);
}

static int
fsm_stream_next(struct fsm_stream *s)
{
	struct kv_val	 key, val;

	return fsm_stream_head(s, kv_cursor_prev(s->cur, &key, &val), &key,
	    &val);
}

static int
fsm_cursor_parse(const char *s, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (s == NULL || *s == '\0') {
		*out = UINT64_MAX;	/* first page */
		return 0;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 20)
			return ERR_INVAL;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return ERR_INVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0)
		return ERR_INVAL;
	*out = v;
	return 0;
}

static bool
fsm_list_match(const struct fsm_list_filter *flt, const struct workload *w)
{
	if (flt->type != NULL && !str_eq(w->type, flt->type))
		return false;
	if (flt->worker_id != NULL && !str_eq(w->worker_id, flt->worker_id))
		return false;
	return true;
}

int
fsm_workload_list(struct fsm *f, const struct fsm_list_filter *flt,
    struct workload **out, size_t *n, char next_cursor[FSM_CURSOR_LEN])
{
	struct fsm_stream	 s[WL__COUNT];
	struct fsm_wl_vec	 vec = { NULL, 0, 0 };
	struct workload		 w;
	struct kv_txn		*t;
	enum kv_db		 db;
	uint64_t		 bound, last_seq = 0;
	size_t			 ns = 0, i, best;
	bool			 more = false;
	int			 rc;

	*out = NULL;
	*n = 0;
	/* Parsed before next_cursor is cleared: a caller may pass one buffer
	 * as both. */
	if (flt == NULL || flt->limit < 1 || flt->limit > FSM_LIST_MAX ||
	    (flt->has_status && (unsigned)flt->status >= WL__COUNT) ||
	    (flt->customer_id != NULL && strlen(flt->customer_id) > MODEL_NAME_MAX) ||
	    fsm_cursor_parse(flt->cursor, &bound) != 0) {
		next_cursor[0] = '\0';
		return ERR_INVAL;
	}
	next_cursor[0] = '\0';

	/* Pick the index that already does most of the filtering; every one
	 * has keys prefix ‖ be64(seq), so newest-first is a descending walk
	 * (a merge of one stream per status for a customer without a status
	 * filter). */
	memset(s, 0, sizeof s);
	if (flt->customer_id != NULL) {
		db = KV_DB_BY_CUSTOMER;
		for (i = 0; i < WL__COUNT; i++) {
			if (flt->has_status && i != (size_t)flt->status)
				continue;
			fsm_key_str(&s[ns].prefix, flt->customer_id);
			fsm_key_u8(&s[ns].prefix, 0);
			fsm_key_u8(&s[ns].prefix, (uint8_t)i);
			ns++;
		}
	} else if (flt->has_status) {
		db = KV_DB_BY_STATUS;
		fsm_key_u8(&s[ns++].prefix, (uint8_t)flt->status);
	} else {
		db = KV_DB_BY_CREATED;
		ns = 1;
	}

	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	for (i = 0; i < ns; i++)
		if ((rc = fsm_stream_start(&s[i], t, db, bound)) != 0)
			goto out;
	for (;;) {
		best = ns;
		for (i = 0; i < ns; i++)
			if (s[i].live && (best == ns || s[i].seq > s[best].seq))
				best = i;
		if (best == ns)
			break;
		if ((rc = fsm_wl_read(t, s[best].id, &w, NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			goto out;
		}
		if (fsm_list_match(flt, &w)) {
			if (vec.n == flt->limit) {
				/* One more match exists: there is a next page. */
				workload_fini(&w);
				more = true;
				break;
			}
			last_seq = w.seq;
			if ((rc = fsm_wl_vec_push(&vec, &w)) != 0) {
				workload_fini(&w);
				goto out;
			}
		} else
			workload_fini(&w);
		if ((rc = fsm_stream_next(&s[best])) != 0)
			goto out;
	}
	if (more)
		snprintf(next_cursor, FSM_CURSOR_LEN, "%" PRIu64, last_seq);
	rc = fsm_wl_vec_take(&vec, out, n);
out:
	for (i = 0; i < ns; i++)
		kv_cursor_close(s[i].cur);
	fsm_read_end(f, t);
	fsm_wl_vec_fini(&vec);
	if (rc != 0)
		next_cursor[0] = '\0';
	return rc;
}

struct fsm_pending_read {
	struct fsm		*f;
	struct kv_txn		*t;
	struct kv_cursor	*cur;
	fsm_id_skip_cb		 skip;
	void			*skip_arg;
	bool			 started;	/* the cursor is on an entry read */
	bool			 ended;		/* the queue's end was reached */
};

int
fsm_pending_read_open(struct fsm *f, fsm_id_skip_cb skip, void *skip_arg,
    struct fsm_pending_read **out)
{
	struct fsm_pending_read	*r;
	int			 rc;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return ERR_NOMEM;
	r->f = f;
	r->skip = skip;
	r->skip_arg = skip_arg;
	if ((rc = fsm_read_begin(f, &r->t)) != 0) {
		free(r);
		return rc;
	}
	if ((rc = kv_cursor_open(r->t, KV_DB_PENDING, &r->cur, NULL)) != 0) {
		fsm_pending_read_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
fsm_pending_read_more(struct fsm_pending_read *r, size_t max,
    struct workload **v, size_t *n)
{
	struct fsm_wl_vec	 vec = { *v, *n, *n };
	struct kv_val		 val;
	struct workload		 w;
	char			 id[MODEL_ID_LEN + 1];
	size_t			 got = 0;
	int			 rc = 0;

	while (got < max && !r->ended) {
		rc = r->started ? kv_cursor_next(r->cur, NULL, &val) :
		    kv_cursor_first(r->cur, NULL, &val);
		r->started = true;
		if (rc == ERR_NOTFOUND) {
			r->ended = true;
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (val.len != MODEL_ID_LEN) {
			rc = ERR_CORRUPT;
			break;
		}
		memcpy(id, val.data, MODEL_ID_LEN);
		id[MODEL_ID_LEN] = '\0';
		if (r->skip != NULL && r->skip(id, r->skip_arg))
			continue;
		if ((rc = fsm_wl_read(r->t, id, &w, NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			break;
		}
		if ((rc = fsm_wl_vec_push(&vec, &w)) != 0) {
			workload_fini(&w);
			break;
		}
		got++;
	}
	*v = vec.v;
	*n = vec.n;
	return rc;
}

void
fsm_pending_read_close(struct fsm_pending_read *r)
{
	if (r == NULL)
		return;
	kv_cursor_close(r->cur);
	fsm_read_end(r->f, r->t);
	free(r);
}

int
fsm_pending_scan(struct fsm *f, size_t max, fsm_id_skip_cb skip, void *skip_arg,
    struct workload **out, size_t *n)
{
	struct fsm_pending_read	*r;
	struct fsm_wl_vec	 vec = { NULL, 0, 0 };
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((rc = fsm_pending_read_open(f, skip, skip_arg, &r)) != 0)
		return rc;
	rc = fsm_pending_read_more(r, max, &vec.v, &vec.n);
	fsm_pending_read_close(r);
	if (rc == 0)
		rc = fsm_wl_vec_take(&vec, out, n);
	fsm_wl_vec_fini(&vec);
	return rc;
}

int
fsm_worker_workloads(struct fsm *f, const char *worker_id,
    struct workload **out, size_t *n)
{
	struct fsm_wl_vec	 vec = { NULL, 0, 0 };
	struct strlist		 ids = { NULL, 0 };
	struct workload		 w;
	struct kv_txn		*t;
	size_t			 i;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (worker_id == NULL)
		return ERR_INVAL;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = fsm_worker_slots(t, worker_id, &ids, NULL, NULL)) != 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((rc = fsm_wl_read(t, ids.v[i], &w, NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			goto out;
		}
		if ((rc = fsm_wl_vec_push(&vec, &w)) != 0) {
			workload_fini(&w);
			goto out;
		}
	}
	rc = fsm_wl_vec_take(&vec, out, n);
out:
	fsm_read_end(f, t);
	strlist_fini(&ids);
	fsm_wl_vec_fini(&vec);
	return rc;
}

int
fsm_worker_slot_list(struct fsm *f, const char *worker_id,
    struct fsm_slot **out, size_t *n)
{
	struct strlist	 ids = { NULL, 0 };
	struct kv_txn	*t;
	uint32_t	*att = NULL;
	size_t		 i;
	int		 rc;

	*out = NULL;
	*n = 0;
	if (worker_id == NULL)
		return ERR_INVAL;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_worker_slots(t, worker_id, &ids, &att, NULL);
	fsm_read_end(f, t);
	if (rc == 0 && ids.n > 0 && (*out = calloc(ids.n, sizeof **out)) == NULL)
		rc = ERR_NOMEM;
	for (i = 0; rc == 0 && i < ids.n; i++) {
		memcpy((*out)[i].id, ids.v[i], MODEL_ID_LEN);
		(*out)[i].attempt = att[i];
	}
	if (rc == 0)
		*n = ids.n;
	strlist_fini(&ids);
	free(att);
	return rc;
}

int
fsm_status_counts(struct fsm *f, uint64_t counts[WL__COUNT])
{
	struct kv_txn	*t;
	int		 rc;

	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_meta_get_counts(t, counts, NULL);
	fsm_read_end(f, t);
	return rc;
}

int
fsm_worker_get(struct fsm *f, const char *id, struct worker_rec *out)
{
	struct kv_txn	*t;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_worker_read(t, id, out, NULL);
	fsm_read_end(f, t);
	return rc;
}

/* Finalises one decoded record. */
typedef void (*fsm_fini_cb)(void *rec);

/* Every record of db, in key order, decoded into a new array of elements
 * of size bytes (*out; an empty table gives a one-element zeroed array, so
 * *out is never NULL on success).  what names the records in errors. */
static int
fsm_table_decode(struct fsm *f, enum kv_db db, const char *what,
    fsm_decode_cb decode, fsm_fini_cb fini, size_t size, void **out, size_t *n)
{
	struct kv_cursor	*cur = NULL;
	struct wire_doc		*d;
	struct kv_val		 val;
	struct kv_txn		*t;
	uint8_t			*v = NULL, *p;
	size_t			 cnt = 0, cap = 0, i;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, db, &cur, NULL)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, NULL, &val); rc == 0;
	    rc = kv_cursor_next(cur, NULL, &val)) {
		if ((p = fsm_array_grow(v, &cap, cnt, size)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		v = p;
		if ((rc = fsm_doc_open(&val, &d, what, NULL)) != 0)
			goto out;
		memset(v + cnt * size, 0, size);
		rc = fsm_decoded(decode(wire_doc_root(d), v + cnt * size), what,
		    NULL);
		wire_doc_free(d);
		if (rc != 0)
			goto out;
		cnt++;
	}
	if (rc != ERR_NOTFOUND)
		goto out;
	if (v == NULL && (v = calloc(1, size)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	for (i = 0; i < cnt; i++)
		fini(v + i * size);
	free(v);
	return rc;
}

static void
fsm_fini_worker(void *rec)
{
	worker_rec_fini(rec);
}

int
fsm_worker_list(struct fsm *f, struct worker_rec **out, size_t *n)
{
	void	*v;
	int	 rc;

	rc = fsm_table_decode(f, KV_DB_WORKERS, "worker", fsm_decode_worker,
	    fsm_fini_worker, sizeof **out, &v, n);
	*out = v;
	return rc;
}

int
fsm_key_lookup(struct fsm *f, const uint8_t hash[32], struct api_key *out)
{
	struct kv_txn	*t;
	struct kv_val	 v;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_get(t, KV_DB_KEYS, hash, 32, &v, NULL)) == 0 &&
	    (rc = fsm_key_decode(&v, out, NULL)) == 0 && out->revoked) {
		api_key_fini(out);
		rc = ERR_NOTFOUND;
	}
	fsm_read_end(f, t);
	return rc;
}

bool
fsm_has_admin_key(struct fsm *f)
{
	struct kv_cursor	*cur = NULL;
	struct api_key		 k;
	struct kv_val		 val;
	struct kv_txn		*t;
	bool			 found = false;
	int			 rc;

	if (fsm_read_begin(f, &t) != 0)
		return false;
	if (kv_cursor_open(t, KV_DB_KEYS, &cur, NULL) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, NULL, &val); rc == 0 && !found;
	    rc = kv_cursor_next(cur, NULL, &val)) {
		if (fsm_key_decode(&val, &k, NULL) != 0)
			continue;
		found = k.role == KEY_ROLE_ADMIN && !k.revoked;
		api_key_fini(&k);
	}
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	return found;
}

static void
fsm_fini_node(void *rec)
{
	node_rec_fini(rec);
}

static int
fsm_decode_node(const struct wire_val *v, void *out)
{
	return model_node_decode(v, out);
}

int
fsm_node_list(struct fsm *f, struct node_rec **out, size_t *n)
{
	void	*v;
	int	 rc;

	rc = fsm_table_decode(f, KV_DB_NODES, "node", fsm_decode_node,
	    fsm_fini_node, sizeof **out, &v, n);
	*out = v;
	return rc;
}

int
fsm_node_get(struct fsm *f, uint64_t id, struct node_rec *out)
{
	struct kv_txn	*t;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_node_read(t, id, out, NULL);
	fsm_read_end(f, t);
	return rc;
}

int
fsm_secret_get(struct fsm *f, const char *name, uint8_t hash[32])
{
	struct kv_txn	*t;
	struct kv_val	 v;
	int		 rc;

	if (name == NULL || !model_name_valid(name))
		return ERR_NOTFOUND;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_get(t, KV_DB_SECRETS, name, strlen(name), &v, NULL)) == 0) {
		if (v.len == 32)
			memcpy(hash, v.data, 32);
		else
			rc = ERR_CORRUPT;
	}
	fsm_read_end(f, t);
	return rc;
}

/* Decompresses a stored checkpoint record into a new buffer. */
static int
fsm_ckpt_decode(const struct kv_val *val, void **data, size_t *len,
    uint32_t *attempt)
{
	struct wire_doc		*d;
	const struct wire_val	*root;
	const void		*z;
	size_t			 zlen, r;
	uint64_t		 raw_len = 0;
	unsigned long long	 sz;
	void			*p;
	int			 rc;

	if ((rc = fsm_doc_open(val, &d, "checkpoint", NULL)) != 0)
		return rc;
	root = wire_doc_root(d);
	*attempt = 0;
	if (wire_field_u32(root, "attempt", attempt) != 0 ||
	    wire_field_uint(root, "raw_len", &raw_len) != 0 ||
	    wire_map_get(root, "data") == NULL ||
	    wire_get_bin(wire_map_get(root, "data"), &z, &zlen) != 0) {
		rc = ERR_CORRUPT;
		goto out;
	}
	sz = ZSTD_getFrameContentSize(z, zlen);
	if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN ||
	    sz != raw_len) {
		rc = ERR_CORRUPT;
		goto out;
	}
	if (sz > FSM_CKPT_MAX) {
		rc = ERR_TOOBIG;
		goto out;
	}
	if ((p = malloc(sz > 0 ? (size_t)sz : 1)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	r = ZSTD_decompress(p, (size_t)sz, z, zlen);
	if (ZSTD_isError(r) || r != sz) {
		free(p);
		rc = ERR_CORRUPT;
		goto out;
	}
	*data = p;
	*len = r;
out:
	wire_doc_free(d);
	return rc;
}

int
fsm_checkpoint_get(struct fsm *f, const char *workload_id, uint64_t seq,
    void **data, size_t *len, uint64_t *seq_out, uint32_t *attempt_out)
{
	struct kv_cursor	*cur = NULL;
	struct kv_val		 key, val;
	struct fsm_key		 k = { .len = 0 };
	struct kv_txn		*t;
	uint32_t		 attempt;
	int			 rc;

	*data = NULL;
	*len = 0;
	if (workload_id == NULL || !model_id_valid(workload_id))
		return ERR_NOTFOUND;
	fsm_key_bytes(&k, workload_id, MODEL_ID_LEN);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if (seq != 0) {
		fsm_key_u64(&k, seq);
		rc = kv_get(t, KV_DB_CHECKPOINTS, k.b, k.len, &val, NULL);
	} else {
		/* The latest: the last entry under this workload's prefix. */
		if ((rc = kv_cursor_open(t, KV_DB_CHECKPOINTS, &cur, NULL)) != 0)
			goto out;
		fsm_key_u64(&k, UINT64_MAX);
		rc = kv_cursor_seek(cur, k.b, k.len, &key, &val);
		if (rc == 0 && !(key.len == k.len &&
		    memcmp(key.data, k.b, k.len) == 0))
			rc = kv_cursor_prev(cur, &key, &val);
		else if (rc == ERR_NOTFOUND)
			rc = kv_cursor_last(cur, &key, &val);
		if (rc == 0 && (key.len != MODEL_ID_LEN + 8 ||
		    memcmp(key.data, workload_id, MODEL_ID_LEN) != 0))
			rc = ERR_NOTFOUND;
		if (rc == 0)
			seq = fsm_be64_get((const uint8_t *)key.data +
			    MODEL_ID_LEN);
	}
	if (rc != 0)
		goto out;
	rc = fsm_ckpt_decode(&val, data, len, &attempt);
	/* The latest one that does not decompress (its frame checksum says
	 * it is damaged) is passed over for the one before it: a corrupt
	 * checkpoint is never offered for resume. */
	while (rc == ERR_CORRUPT && cur != NULL) {
		if ((rc = kv_cursor_prev(cur, &key, &val)) != 0)
			break;
		if (key.len != MODEL_ID_LEN + 8 ||
		    memcmp(key.data, workload_id, MODEL_ID_LEN) != 0) {
			rc = ERR_NOTFOUND;
			break;
		}
		seq = fsm_be64_get((const uint8_t *)key.data + MODEL_ID_LEN);
		rc = fsm_ckpt_decode(&val, data, len, &attempt);
	}
	if (rc != 0)
		goto out;
	if (seq_out != NULL)
		*seq_out = seq;
	if (attempt_out != NULL)
		*attempt_out = attempt;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	return rc;
}

/* The listing fields of one stored checkpoint record. */
static int
fsm_ckpt_info(const struct kv_val *key, const struct kv_val *val,
    struct checkpoint_info *out)
{
	struct wire_doc		*d;
	const struct wire_val	*root, *data;
	const void		*z;
	size_t			 zlen;
	int			 rc;

	memset(out, 0, sizeof *out);
	out->seq = fsm_be64_get((const uint8_t *)key->data + MODEL_ID_LEN);
	if ((rc = fsm_doc_open(val, &d, "checkpoint", NULL)) != 0)
		return rc;
	root = wire_doc_root(d);
	data = wire_map_get(root, "data");
	if (wire_field_u32(root, "attempt", &out->attempt) != 0 ||
	    wire_field_uint(root, "raw_len", &out->size) != 0 ||
	    wire_field_uint(root, "at", &out->at_ms) != 0 ||
	    data == NULL || wire_get_bin(data, &z, &zlen) != 0)
		rc = ERR_CORRUPT;
	else
		out->compressed_size = zlen;
	wire_doc_free(d);
	return rc;
}

int
fsm_checkpoint_list(struct fsm *f, const char *workload_id,
    struct checkpoint_info **out, size_t *n)
{
	struct checkpoint_info	*list = NULL, *p;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 key, val;
	struct kv_txn		*t;
	size_t			 cap = 0, count = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (workload_id == NULL || !model_id_valid(workload_id))
		return 0;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, KV_DB_CHECKPOINTS, &cur, NULL)) != 0)
		goto out;
	for (rc = kv_cursor_seek(cur, workload_id, MODEL_ID_LEN, &key, &val);
	    rc == 0; rc = kv_cursor_next(cur, &key, &val)) {
		if (key.len != MODEL_ID_LEN + 8 ||
		    memcmp(key.data, workload_id, MODEL_ID_LEN) != 0)
			break;
		if ((p = fsm_array_grow(list, &cap, count, sizeof *p)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		list = p;
		if ((rc = fsm_ckpt_info(&key, &val, &list[count])) != 0)
			goto out;
		count++;
	}
	if (rc == ERR_NOTFOUND)
		rc = 0;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	if (rc != 0) {
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

void
audit_event_fini(struct audit_event *e)
{
	free(e->customer_id);
	free(e->kind);
	free(e->from);
	free(e->to);
	free(e->actor);
	free(e->request_id);
	free(e->detail);
	memset(e, 0, sizeof *e);
}

static int
fsm_audit_decode(const struct kv_val *val, struct audit_event *e)
{
	struct wire_doc		*d;
	const struct wire_val	*root;
	char			*wl = NULL;
	int			 rc;

	memset(e, 0, sizeof *e);
	if ((rc = fsm_doc_open(val, &d, "audit event", NULL)) != 0)
		return rc;
	root = wire_doc_root(d);
	if ((rc = wire_field_uint(root, "seq", &e->seq)) != 0 ||
	    (rc = wire_field_uint(root, "at", &e->at_ms)) != 0 ||
	    (rc = wire_field_strdup(root, "workload_id", &wl)) != 0 ||
	    (rc = wire_field_strdup(root, "customer_id", &e->customer_id)) != 0 ||
	    (rc = wire_field_strdup(root, "kind", &e->kind)) != 0 ||
	    (rc = wire_field_strdup(root, "from", &e->from)) != 0 ||
	    (rc = wire_field_strdup(root, "to", &e->to)) != 0 ||
	    (rc = wire_field_strdup(root, "actor", &e->actor)) != 0 ||
	    (rc = wire_field_strdup(root, "request_id", &e->request_id)) != 0 ||
	    (rc = wire_field_strdup(root, "detail", &e->detail)) != 0)
		goto out;
	if (wl != NULL)
		snprintf(e->workload_id, sizeof e->workload_id, "%s", wl);
out:
	wire_doc_free(d);
	free(wl);
	if (rc != 0) {
		audit_event_fini(e);
		return rc == ERR_NOMEM ? ERR_NOMEM : ERR_CORRUPT;
	}
	return 0;
}

int
fsm_audit_list(struct fsm *f, const char *workload_id, uint32_t limit,
    struct audit_event **out, size_t *n)
{
	struct audit_event	*v = NULL, *p;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 key, val;
	struct kv_txn		*t;
	size_t			 cnt = 0, cap = 0, i;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (workload_id == NULL || !model_id_valid(workload_id))
		return ERR_INVAL;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, KV_DB_AUDIT_BY_WORKLOAD, &cur, NULL)) != 0)
		goto out;
	/* limit 0 means no limit. */
	for (rc = kv_cursor_seek(cur, workload_id, MODEL_ID_LEN, &key, NULL);
	    rc == 0 && (limit == 0 || cnt < limit);
	    rc = kv_cursor_next(cur, &key, NULL)) {
		if (key.len != MODEL_ID_LEN + 8 ||
		    memcmp(key.data, workload_id, MODEL_ID_LEN) != 0)
			break;
		if ((rc = kv_get(t, KV_DB_AUDIT, (const uint8_t *)key.data +
		    MODEL_ID_LEN, 8, &val, NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			goto out;
		}
		if ((p = fsm_array_grow(v, &cap, cnt, sizeof *p)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		v = p;
		if ((rc = fsm_audit_decode(&val, &v[cnt])) != 0)
			goto out;
		cnt++;
	}
	if (rc != 0 && rc != ERR_NOTFOUND)
		goto out;
	if (v == NULL && (v = calloc(1, sizeof *v)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	for (i = 0; i < cnt; i++)
		audit_event_fini(&v[i]);
	free(v);
	return rc;
}

/* A growing array of audit events being returned. */
struct fsm_audit_vec {
	struct audit_event	*v;
	size_t			 n;
	size_t			 cap;
};

static int
fsm_audit_vec_push(struct fsm_audit_vec *vec, struct audit_event *e)
{
	struct audit_event	*p;
	size_t			 cap;

	if (vec->n == vec->cap) {
		cap = vec->cap ? vec->cap * 2 : 16;
		if ((p = realloc(vec->v, cap * sizeof *p)) == NULL)
			return ERR_NOMEM;
		vec->v = p;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *e;
	memset(e, 0, sizeof *e);
	return 0;
}

/* Hands the array over; a zero-length result is still a valid pointer. */
static int
fsm_audit_vec_take(struct fsm_audit_vec *vec, struct audit_event **out,
    size_t *n)
{
	if (vec->v == NULL && (vec->v = calloc(1, sizeof *vec->v)) == NULL)
		return ERR_NOMEM;
	*out = vec->v;
	*n = vec->n;
	memset(vec, 0, sizeof *vec);
	return 0;
}

/* An audit cursor: "" is the start (0), else the decimal seq of the last
 * event of the previous page. */
static int
fsm_audit_cursor_parse(const char *s, uint64_t *out)
{
	*out = 0;
	if (s == NULL || *s == '\0')
		return 0;
	return fsm_cursor_parse(s, out);
}

static bool
fsm_audit_match(const struct fsm_audit_filter *flt, const struct audit_event *e)
{
	if (flt->customer_id != NULL && !str_eq(e->customer_id, flt->customer_id))
		return false;
	if (flt->since_ms != 0 && e->at_ms < flt->since_ms)
		return false;
	if (flt->until_ms != 0 && e->at_ms >= flt->until_ms)
		return false;
	return true;
}

int
fsm_audit_query(struct fsm *f, const struct fsm_audit_filter *flt,
    struct audit_event **out, size_t *n, char next_cursor[FSM_CURSOR_LEN])
{
	struct fsm_audit_vec	 vec = { NULL, 0, 0 };
	struct kv_cursor	*cur = NULL;
	struct audit_event	 e;
	struct fsm_key		 pre = { .len = 0 }, k;
	struct kv_val		 key, val;
	struct kv_txn		*t;
	enum kv_db		 db;
	uint64_t		 after, seq, last = 0;
	size_t			 i;
	bool			 more = false;
	int			 rc;

	*out = NULL;
	*n = 0;
	/* Parsed before next_cursor is cleared: a caller may pass one buffer
	 * as both. */
	if (flt == NULL || flt->limit < 1 || flt->limit > FSM_LIST_MAX ||
	    (flt->workload_id != NULL && !model_id_valid(flt->workload_id)) ||
	    (flt->customer_id != NULL && !fsm_cust_ok(flt->customer_id)) ||
	    fsm_audit_cursor_parse(flt->cursor, &after) != 0) {
		next_cursor[0] = '\0';
		return ERR_INVAL;
	}
	next_cursor[0] = '\0';

	/* The narrowest index: one workload's events, one customer's, or all;
	 * each is prefix ‖ be64(seq), so oldest-first is an ascending walk
	 * from just after the cursor. */
	if (flt->workload_id != NULL) {
		db = KV_DB_AUDIT_BY_WORKLOAD;
		fsm_key_bytes(&pre, flt->workload_id, MODEL_ID_LEN);
	} else if (flt->customer_id != NULL) {
		db = KV_DB_AUDIT_BY_CUSTOMER;
		fsm_key_str(&pre, flt->customer_id);
		fsm_key_u8(&pre, 0);
	} else
		db = KV_DB_AUDIT;
	if (after == UINT64_MAX)
		return fsm_audit_vec_take(&vec, out, n);

	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, db, &cur, NULL)) != 0)
		goto out;
	k = pre;
	fsm_key_u64(&k, after + 1);
	for (rc = kv_cursor_seek(cur, k.b, k.len, &key, &val); rc == 0;
	    rc = kv_cursor_next(cur, &key, &val)) {
		if (key.len != pre.len + 8 ||
		    memcmp(key.data, pre.b, pre.len) != 0)
			break;
		seq = fsm_be64_get((const uint8_t *)key.data + pre.len);
		if (db != KV_DB_AUDIT &&
		    (rc = kv_get(t, KV_DB_AUDIT, (const uint8_t *)key.data +
		    pre.len, 8, &val, NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			goto out;
		}
		if ((rc = fsm_audit_decode(&val, &e)) != 0)
			goto out;
		if (!fsm_audit_match(flt, &e)) {
			audit_event_fini(&e);
			continue;
		}
		if (vec.n == flt->limit) {
			/* One more match exists: there is a next page. */
			audit_event_fini(&e);
			more = true;
			break;
		}
		last = seq;
		if ((rc = fsm_audit_vec_push(&vec, &e)) != 0) {
			audit_event_fini(&e);
			goto out;
		}
	}
	if (rc != 0 && rc != ERR_NOTFOUND)
		goto out;
	if (more)
		snprintf(next_cursor, FSM_CURSOR_LEN, "%" PRIu64, last);
	rc = fsm_audit_vec_take(&vec, out, n);
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	for (i = 0; i < vec.n; i++)
		audit_event_fini(&vec.v[i]);
	free(vec.v);
	if (rc != 0)
		next_cursor[0] = '\0';
	return rc;
}

/* ---- customers, keys, usage, idempotency ---- */

int
fsm_customer_get(struct fsm *f, const char *id, struct customer *out)
{
	struct kv_txn	*t;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_customer_read(t, id, out, NULL);
	fsm_read_end(f, t);
	return rc;
}

int
fsm_customer_list(struct fsm *f, struct customer **out, size_t *n)
{
	struct customer		*v = NULL, *p;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 val;
	struct kv_txn		*t;
	char			 id[MODEL_ID_LEN + 1];
	size_t			 cnt = 0, cap = 0, i;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_cursor_open(t, KV_DB_CUSTOMERS_BY_CREATED, &cur, NULL)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, NULL, &val); rc == 0;
	    rc = kv_cursor_next(cur, NULL, &val)) {
		if (val.len != MODEL_ID_LEN) {
			rc = ERR_CORRUPT;
			goto out;
		}
		memcpy(id, val.data, MODEL_ID_LEN);
		id[MODEL_ID_LEN] = '\0';
		if ((p = fsm_array_grow(v, &cap, cnt, sizeof *p)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		v = p;
		if ((rc = fsm_customer_read(t, id, &v[cnt], NULL)) != 0) {
			if (rc == ERR_NOTFOUND)
				rc = ERR_CORRUPT;
			goto out;
		}
		cnt++;
	}
	if (rc != ERR_NOTFOUND)
		goto out;
	if (v == NULL && (v = calloc(1, sizeof *v)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	for (i = 0; i < cnt; i++)
		customer_fini(&v[i]);
	free(v);
	return rc;
}

int
fsm_key_get(struct fsm *f, const char *key_id, struct api_key *out)
{
	struct kv_txn	*t;
	struct kv_val	 v;
	uint8_t		 hash[32];
	int		 rc;

	memset(out, 0, sizeof *out);
	if (key_id == NULL || !model_id_valid(key_id))
		return ERR_NOTFOUND;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = kv_get(t, KV_DB_KEY_IDS, key_id, MODEL_ID_LEN, &v, NULL)) != 0)
		goto out;
	if (v.len != sizeof hash) {
		rc = ERR_CORRUPT;
		goto out;
	}
	memcpy(hash, v.data, sizeof hash);
	if ((rc = kv_get(t, KV_DB_KEYS, hash, sizeof hash, &v, NULL)) != 0) {
		if (rc == ERR_NOTFOUND)
			rc = ERR_CORRUPT;
		goto out;
	}
	rc = fsm_key_decode(&v, out, NULL);
out:
	fsm_read_end(f, t);
	return rc;
}

/* Oldest first; keys of one millisecond by id. */
static int
fsm_key_cmp(const void *a, const void *b)
{
	const struct api_key	*x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
fsm_customer_keys(struct fsm *f, const char *customer_id,
    struct api_key **out, size_t *n)
{
	struct api_key		*v = NULL, *p, k;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 val;
	struct kv_txn		*t;
	size_t			 cnt = 0, cap = 0, i;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (!fsm_cust_ok(customer_id))
		return ERR_INVAL;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	/* Keys are few (a handful per customer): a scan beats keeping one
	 * more index in step. */
	if ((rc = kv_cursor_open(t, KV_DB_KEYS, &cur, NULL)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, NULL, &val); rc == 0;
	    rc = kv_cursor_next(cur, NULL, &val)) {
		if ((rc = fsm_key_decode(&val, &k, NULL)) != 0)
			goto out;
		if (!str_eq(k.customer_id, customer_id)) {
			api_key_fini(&k);
			continue;
		}
		if ((p = fsm_array_grow(v, &cap, cnt, sizeof *p)) == NULL) {
			api_key_fini(&k);
			rc = ERR_NOMEM;
			goto out;
		}
		v = p;
		v[cnt++] = k;
	}
	if (rc != ERR_NOTFOUND)
		goto out;
	if (v == NULL && (v = calloc(1, sizeof *v)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	qsort(v, cnt, sizeof *v, fsm_key_cmp);
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	for (i = 0; i < cnt; i++)
		api_key_fini(&v[i]);
	free(v);
	return rc;
}

int
fsm_customer_usage(struct fsm *f, const char *customer_id, struct fsm_usage *out)
{
	struct kv_txn	*t;
	int		 rc;

	memset(out, 0, sizeof *out);
	if (!fsm_cust_ok(customer_id))
		return ERR_INVAL;
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_usage_get(t, customer_id, &out->pending, &out->active, NULL);
	fsm_read_end(f, t);
	return rc;
}

int
fsm_queue_depth_get(struct fsm *f, struct fsm_queue_depth *out)
{
	struct fsm_customer_depth	*p;
	struct kv_cursor		*cur = NULL;
	struct kv_val			 key, val;
	struct kv_txn			*t;
	uint64_t			 counts[WL__COUNT], pending;
	size_t				 cap = 0;
	int				 rc;

	memset(out, 0, sizeof *out);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	if ((rc = fsm_meta_get_counts(t, counts, NULL)) != 0 ||
	    (rc = fsm_meta_get_vec(t, "tier_pending", out->by_tier, TIER__COUNT,
	    NULL)) != 0)
		goto out;
	out->total = counts[WL_PENDING];
	/* The usage database holds only customers with live work, sorted by
	 * id: those with PENDING ones are the answer. */
	if ((rc = kv_cursor_open(t, KV_DB_USAGE, &cur, NULL)) != 0)
		goto out;
	for (rc = kv_cursor_first(cur, &key, &val); rc == 0;
	    rc = kv_cursor_next(cur, &key, &val)) {
		if (val.len != FSM_USAGE_LEN || key.len == 0) {
			rc = ERR_CORRUPT;
			goto out;
		}
		if ((pending = fsm_be64_get(val.data)) == 0)
			continue;
		if ((p = fsm_array_grow(out->by_customer, &cap, out->n_customers,
		    sizeof *p)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		out->by_customer = p;
		p = &out->by_customer[out->n_customers];
		if ((p->customer_id = strndup(key.data, key.len)) == NULL) {
			rc = ERR_NOMEM;
			goto out;
		}
		p->pending = pending;
		out->n_customers++;
	}
	rc = rc == ERR_NOTFOUND ? 0 : rc;
out:
	kv_cursor_close(cur);
	fsm_read_end(f, t);
	if (rc != 0)
		fsm_queue_depth_fini(out);
	return rc;
}

void
fsm_queue_depth_fini(struct fsm_queue_depth *q)
{
	size_t	 i;

	for (i = 0; i < q->n_customers; i++)
		free(q->by_customer[i].customer_id);
	free(q->by_customer);
	memset(q, 0, sizeof *q);
}

int
fsm_idempotency_get(struct fsm *f, const char *customer_id, const char *key,
    uint64_t now_ms, struct fsm_idempotency *out)
{
	struct kv_txn	*t;
	struct fsm_key	 k;
	int		 rc;

	memset(out, 0, sizeof *out);
	if (!fsm_cust_ok(customer_id) || key == NULL || key[0] == '\0' ||
	    strlen(key) > FSM_IDEM_KEY_MAX)
		return ERR_NOTFOUND;
	fsm_idem_key(&k, customer_id, key);
	if ((rc = fsm_read_begin(f, &t)) != 0)
		return rc;
	rc = fsm_idem_read(t, &k, out, NULL);
	if (rc == 0 && out->at_ms < fsm_idem_cutoff(now_ms)) {
		memset(out, 0, sizeof *out);
		rc = ERR_NOTFOUND;
	}
	fsm_read_end(f, t);
	return rc;
}

unsigned
fsm_worker_holdings(struct fsm *f, const char *worker_id, struct strlist *types,
    struct resources *requested)
{
	return holdings_get(f->holdings, worker_id, types, requested);
}
