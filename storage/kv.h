/*
 * A thin layer over LMDB: one environment file holding a fixed set of named
 * sub-databases, write transactions (optionally nested), read transactions,
 * cursors, and a compacting copy.  No LMDB type appears here; every MDB_*
 * code is translated into an ERR_* once, inside kv.c.
 *
 * The environment runs with MDB_NOSYNC: the Raft log is the durable record,
 * so a crash may lose the most recent transactions of this file, and the
 * caller rebuilds them from the log (see src/fsm.h).  kv_sync forces them
 * to disk when that matters (snapshots, shutdown).
 */
#ifndef STORAGE_KV_H
#define STORAGE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errbuf;
struct kv;
struct kv_txn;
struct kv_cursor;

/* The named sub-databases.  Keys and values are opaque bytes; the layouts
 * are the caller's (src/fsm.c documents them). */
enum kv_db {
	KV_DB_META,		/* counters: applied index, next seq, status counts */
	KV_DB_WORKLOADS,	/* workload id -> record */
	KV_DB_PENDING,		/* queue order -> workload id */
	KV_DB_BY_STATUS,	/* status, seq -> workload id */
	KV_DB_BY_CUSTOMER,	/* customer, status, seq -> workload id */
	KV_DB_BY_CREATED,	/* seq -> workload id */
	KV_DB_BY_WORKER,	/* worker id, workload id -> empty */
	KV_DB_CHECKPOINTS,	/* workload id, checkpoint seq -> checkpoint */
	KV_DB_WORKERS,		/* worker id -> record */
	KV_DB_KEYS,		/* key hash -> api key record */
	KV_DB_KEY_IDS,		/* key id -> key hash */
	KV_DB_SECRETS,		/* secret name -> hash */
	KV_DB_AUDIT,		/* audit seq -> event */
	KV_DB_AUDIT_BY_WORKLOAD,/* workload id, audit seq -> empty */
	KV_DB_AUDIT_BY_CUSTOMER,/* customer, audit seq -> empty */
	KV_DB_USAGE,		/* customer -> pending and slot-holding counts */
	KV_DB_CUSTOMERS,	/* customer id -> record */
	KV_DB_CUSTOMER_NAMES,	/* customer name -> customer id */
	KV_DB_CUSTOMERS_BY_CREATED, /* creation seq -> customer id */
	KV_DB_IDEMPOTENCY,	/* customer, idempotency key -> submission */
	KV_DB_IDEMPOTENCY_BY_TIME, /* time, customer, key -> empty */
	KV_DB_CKPT_CHUNKS,	/* workload id, checkpoint seq, chunk -> chunk */
	KV_DB_NODES,		/* coordinator id -> its announced addresses */
	KV_DB__COUNT
};

#define KV_MAP_SIZE_DEFAULT	((uint64_t)1 << 30)	/* 1 GiB */

/* A key or value: borrowed bytes. */
struct kv_val {
	const void	*data;
	size_t		 len;
};

/* "meta", "workloads", ...; never NULL. */
const char	*kv_db_name(enum kv_db db);

/* Opens (creating) the environment file `path` (not a directory; its lock
 * file is "<path>-lock") with room for map_size bytes (0: the default), and
 * every database of enum kv_db.  0, ERR_IO, ERR_NOSPACE, ERR_NOMEM. */
int	kv_open(struct kv **out, const char *path, uint64_t map_size, struct errbuf *eb);
/* Closes the environment.  Every transaction must have ended.  Accepts NULL
 * and a half-opened kv. */
void	kv_close(struct kv *kv);
/* Flushes written transactions to disk.  0 or ERR_IO. */
int	kv_sync(struct kv *kv, struct errbuf *eb);
/* Writes a compacted copy of the whole environment to the file `path`
 * (replaced if it exists; its directory must exist).  0, ERR_IO. */
int	kv_copy_compact(struct kv *kv, const char *path, struct errbuf *eb);
/* The same copy written to fd (a pipe will do: it is written in order,
 * with no seeks), through a read transaction of its own, so it may run
 * beside a writer.  0, ERR_IO. */
int	kv_copy_compact_fd(struct kv *kv, int fd, struct errbuf *eb);

/* Begins a transaction.  A write transaction may have a parent write
 * transaction (nested: its changes reach the parent only on commit, and the
 * parent must not be used until the child ends).  Only one top-level write
 * transaction exists at a time: a second one waits.  Read transactions may
 * be used from any thread.  0, ERR_IO, ERR_NOMEM. */
int	kv_txn_begin(struct kv *kv, struct kv_txn *parent, bool rdonly,
	    struct kv_txn **out, struct errbuf *eb);
/* Commits and frees t, even on error.  0, ERR_IO, ERR_NOSPACE. */
int	kv_txn_commit(struct kv_txn *t, struct errbuf *eb);
/* Discards and frees t. Accepts NULL. */
void	kv_txn_abort(struct kv_txn *t);
/* How many puts and deletes have taken effect through t itself (those of
 * its nested children are not counted): how a caller knows that a step
 * which failed changed nothing. */
uint64_t kv_txn_changes(const struct kv_txn *t);

/* Looks key up in db.  val is borrowed: valid until the transaction ends or
 * its next write.  0, ERR_NOTFOUND, ERR_INVAL (bad key size), ERR_IO. */
int	kv_get(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
	    struct kv_val *val, struct errbuf *eb);
/* Stores key -> val (len may be 0), replacing any value.  0, ERR_INVAL (key
 * empty or over kv_key_max bytes), ERR_NOSPACE (map full: the transaction
 * must then be aborted), ERR_IO. */
int	kv_put(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
	    const void *val, size_t vlen, struct errbuf *eb);
/* How kv_insert treats the keys already in the database. */
enum kv_insert_mode {
	KV_INSERT_NEW,		/* the key must be absent */
	KV_INSERT_LAST,		/* the key must sort after every key there:
				 * no search, and full pages on split (for
				 * sequence-numbered keys) */
};
/* Stores key -> val as kv_put does, but never replaces: ERR_EXISTS, with
 * nothing written, when the key is present (KV_INSERT_NEW) or does not sort
 * last (KV_INSERT_LAST). */
int	kv_insert(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
	    const void *val, size_t vlen, enum kv_insert_mode mode,
	    struct errbuf *eb);
/* Deletes key.  0, ERR_NOTFOUND, ERR_INVAL, ERR_IO. */
int	kv_del(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
	    struct errbuf *eb);
/* Largest key size this LMDB accepts (511 by default). */
size_t	kv_key_max(struct kv *kv);

/* A cursor over one database of a transaction; close it before the
 * transaction ends.  0, ERR_IO, ERR_NOMEM. */
int	kv_cursor_open(struct kv_txn *t, enum kv_db db, struct kv_cursor **out,
	    struct errbuf *eb);
/* Accepts NULL. */
void	kv_cursor_close(struct kv_cursor *c);
/* Positioning: each fills key and val (borrowed, as for kv_get) and returns
 * 0, ERR_NOTFOUND when there is no such entry, ERR_IO.  key or val may be
 * NULL when not wanted. */
int	kv_cursor_first(struct kv_cursor *c, struct kv_val *key, struct kv_val *val);
int	kv_cursor_last(struct kv_cursor *c, struct kv_val *key, struct kv_val *val);
/* The first entry whose key is >= seek. */
int	kv_cursor_seek(struct kv_cursor *c, const void *seek, size_t len,
	    struct kv_val *key, struct kv_val *val);
int	kv_cursor_next(struct kv_cursor *c, struct kv_val *key, struct kv_val *val);
int	kv_cursor_prev(struct kv_cursor *c, struct kv_val *key, struct kv_val *val);

#endif /* STORAGE_KV_H */
