/*
 * The LMDB layer.  One environment file (MDB_NOSUBDIR) holds every named
 * database of enum kv_db; their handles are opened once, at kv_open, in a
 * write transaction, so later transactions never open a handle (LMDB asks
 * that handles be opened by one thread before others use them).
 *
 * Flags: MDB_NOTLS lets a read transaction be used by whatever thread holds
 * it rather than tying a reader slot to a thread, which HTTP handler threads
 * need; MDB_NOSYNC because the Raft log, not this file, is what survives a
 * crash.  MDB_* codes stop here: kv_err translates them.
 */
#include "storage/kv.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/err.h"

#define KV_MAX_READERS	1024	/* concurrent read transactions */

struct kv {
	MDB_env		*env;
	MDB_dbi		 dbi[KV_DB__COUNT];
	char		*path;		/* for messages */
	size_t		 key_max;
};

struct kv_txn {
	struct kv	*kv;
	MDB_txn		*txn;
	bool		 rdonly;
	uint64_t	 changes;	/* puts and deletes that took effect */
};

struct kv_cursor {
	MDB_cursor	*cur;
};

static const char *const kv_db_names[KV_DB__COUNT] = {
	[KV_DB_META] = "meta",
	[KV_DB_WORKLOADS] = "workloads",
	[KV_DB_PENDING] = "pending",
	[KV_DB_BY_STATUS] = "by_status",
	[KV_DB_BY_CUSTOMER] = "by_customer",
	[KV_DB_BY_CREATED] = "by_created",
	[KV_DB_BY_WORKER] = "by_worker",
	[KV_DB_CHECKPOINTS] = "checkpoints",
	[KV_DB_WORKERS] = "workers",
	[KV_DB_KEYS] = "keys",
	[KV_DB_KEY_IDS] = "key_ids",
	[KV_DB_SECRETS] = "secrets",
	[KV_DB_AUDIT] = "audit",
	[KV_DB_AUDIT_BY_WORKLOAD] = "audit_by_workload",
	[KV_DB_AUDIT_BY_CUSTOMER] = "audit_by_customer",
	[KV_DB_USAGE] = "usage",
	[KV_DB_CUSTOMERS] = "customers",
	[KV_DB_CUSTOMER_NAMES] = "customer_names",
	[KV_DB_CUSTOMERS_BY_CREATED] = "customers_by_created",
	[KV_DB_IDEMPOTENCY] = "idempotency",
	[KV_DB_IDEMPOTENCY_BY_TIME] = "idempotency_by_time",
	[KV_DB_CKPT_CHUNKS] = "checkpoint_chunks",
	[KV_DB_NODES] = "nodes",
};

const char *
kv_db_name(enum kv_db db)
{
	if ((unsigned)db >= KV_DB__COUNT)
		return "unknown";
	return kv_db_names[db];
}

/* The one place MDB_* codes become ERR_* codes. */
static int
kv_err(struct errbuf *eb, int rc, const char *what, const char *name)
{
	switch (rc) {
	case MDB_NOTFOUND:
		/* Expected on every miss, some on every write: no formatting. */
		if (eb != NULL) {
			eb->code = ERR_NOTFOUND;
			snprintf(eb->msg, sizeof eb->msg, "not found");
		}
		return ERR_NOTFOUND;
	case MDB_MAP_FULL:
		return err_setf(eb, ERR_NOSPACE, "%s %s: the LMDB map is full; "
		    "raise the state map size and restart", what, name);
	case ENOMEM:
		return err_setf(eb, ERR_NOMEM, "%s %s: out of memory", what, name);
	case MDB_BAD_VALSIZE:
		return err_setf(eb, ERR_INVAL, "%s %s: key or value size not "
		    "accepted", what, name);
	default:
		return err_setf(eb, ERR_IO, "%s %s: %s", what, name,
		    mdb_strerror(rc));
	}
}

static int
kv_open_dbs(struct kv *kv, struct errbuf *eb)
{
	MDB_txn	*txn;
	int	 rc, i;

	if ((rc = mdb_txn_begin(kv->env, NULL, 0, &txn)) != 0)
		return kv_err(eb, rc, "lmdb begin", kv->path);
	for (i = 0; i < KV_DB__COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, kv_db_names[i], MDB_CREATE,
		    &kv->dbi[i])) != 0) {
			mdb_txn_abort(txn);
			return kv_err(eb, rc, "lmdb open database", kv_db_names[i]);
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return kv_err(eb, rc, "lmdb commit", kv->path);
	return 0;
}

int
kv_open(struct kv **out, const char *path, uint64_t map_size, struct errbuf *eb)
{
	struct kv	*kv;
	int		 rc;

	*out = NULL;
	if (map_size == 0)
		map_size = KV_MAP_SIZE_DEFAULT;
	if (map_size > SIZE_MAX)
		return err_setf(eb, ERR_INVAL, "lmdb %s: map size too large", path);
	if ((kv = calloc(1, sizeof *kv)) == NULL ||
	    (kv->path = strdup(path)) == NULL) {
		free(kv);
		return err_setf(eb, ERR_NOMEM, "lmdb %s: out of memory", path);
	}
	if ((rc = mdb_env_create(&kv->env)) != 0) {
		kv->env = NULL;
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(kv->env, KV_DB__COUNT)) != 0 ||
	    (rc = mdb_env_set_mapsize(kv->env, (size_t)map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(kv->env, KV_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(kv->env, path,
	    MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC, 0600)) != 0)
		goto fail;
	kv->key_max = (size_t)mdb_env_get_maxkeysize(kv->env);
	if ((rc = kv_open_dbs(kv, eb)) != 0) {
		kv_close(kv);
		return rc;
	}
	*out = kv;
	return 0;
fail:
	kv_close(kv);
	return kv_err(eb, rc, "lmdb open", path);
}

void
kv_close(struct kv *kv)
{
	if (kv == NULL)
		return;
	if (kv->env != NULL)
		mdb_env_close(kv->env);	/* also closes the database handles */
	free(kv->path);
	free(kv);
}

int
kv_sync(struct kv *kv, struct errbuf *eb)
{
	int	 rc;

	if ((rc = mdb_env_sync(kv->env, 1)) != 0)
		return kv_err(eb, rc, "lmdb sync", kv->path);
	return 0;
}

int
kv_copy_compact(struct kv *kv, const char *path, struct errbuf *eb)
{
	int	 rc;

	/* The copy is created with O_EXCL: clear a leftover first.  With
	 * MDB_NOSUBDIR on the environment, the destination is a file name. */
	if (unlink(path) != 0 && errno != ENOENT)
		return err_setf(eb, ERR_IO, "lmdb copy %s: %s", path,
		    strerror(errno));
	if ((rc = mdb_env_copy2(kv->env, path, MDB_CP_COMPACT)) != 0) {
		unlink(path);
		return kv_err(eb, rc, "lmdb copy to", path);
	}
	return 0;
}

int
kv_copy_compact_fd(struct kv *kv, int fd, struct errbuf *eb)
{
	int	 rc;

	if ((rc = mdb_env_copyfd2(kv->env, fd, MDB_CP_COMPACT)) != 0)
		return kv_err(eb, rc, "lmdb copy to", "a descriptor");
	return 0;
}

size_t
kv_key_max(struct kv *kv)
{
	return kv->key_max;
}

int
kv_txn_begin(struct kv *kv, struct kv_txn *parent, bool rdonly,
    struct kv_txn **out, struct errbuf *eb)
{
	struct kv_txn	*t;
	int		 rc;

	*out = NULL;
	if (parent != NULL && (rdonly || parent->rdonly))
		return err_setf(eb, ERR_INVAL, "lmdb: only write transactions "
		    "nest");
	if ((t = calloc(1, sizeof *t)) == NULL)
		return err_setf(eb, ERR_NOMEM, "lmdb begin: out of memory");
	t->kv = kv;
	t->rdonly = rdonly;
	if ((rc = mdb_txn_begin(kv->env, parent ? parent->txn : NULL,
	    rdonly ? MDB_RDONLY : 0, &t->txn)) != 0) {
		free(t);
		return kv_err(eb, rc, "lmdb begin", kv->path);
	}
	*out = t;
	return 0;
}

int
kv_txn_commit(struct kv_txn *t, struct errbuf *eb)
{
	struct kv	*kv = t->kv;
	int		 rc;

	rc = mdb_txn_commit(t->txn);	/* frees the txn even on error */
	free(t);
	if (rc != 0)
		return kv_err(eb, rc, "lmdb commit", kv->path);
	return 0;
}

void
kv_txn_abort(struct kv_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

static int
kv_key_check(struct kv_txn *t, enum kv_db db, size_t klen, struct errbuf *eb)
{
	if ((unsigned)db >= KV_DB__COUNT)
		return err_setf(eb, ERR_INVAL, "lmdb: no database %d", (int)db);
	if (klen == 0 || klen > t->kv->key_max)
		return err_setf(eb, ERR_INVAL, "lmdb %s: key of %zu bytes "
		    "(1..%zu allowed)", kv_db_names[db], klen, t->kv->key_max);
	return 0;
}

int
kv_get(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    struct kv_val *val, struct errbuf *eb)
{
	MDB_val	 k, v;
	int	 rc;

	if ((rc = kv_key_check(t, db, klen, eb)) != 0)
		return rc;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	if ((rc = mdb_get(t->txn, t->kv->dbi[db], &k, &v)) != 0)
		return kv_err(eb, rc, "lmdb get in", kv_db_names[db]);
	val->data = v.mv_data;
	val->len = v.mv_size;
	return 0;
}

/* mdb_put with flags, for kv_put and kv_insert. */
static int
kv_put_flags(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags, struct errbuf *eb)
{
	MDB_val	 k, v;
	int	 rc;

	if ((rc = kv_key_check(t, db, klen, eb)) != 0)
		return rc;
	if (t->rdonly)
		return err_setf(eb, ERR_INVAL, "lmdb put in %s: read-only "
		    "transaction", kv_db_names[db]);
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)val;
	v.mv_size = vlen;
	if ((rc = mdb_put(t->txn, t->kv->dbi[db], &k, &v, flags)) == 0) {
		t->changes++;
		return 0;
	}
	if (rc == MDB_KEYEXIST)
		return err_setf(eb, ERR_EXISTS, "lmdb put in %s: %s",
		    kv_db_names[db], (flags & MDB_APPEND) != 0 ?
		    "key does not sort last" : "key exists");
	return kv_err(eb, rc, "lmdb put in", kv_db_names[db]);
}

int
kv_put(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen, struct errbuf *eb)
{
	return kv_put_flags(t, db, key, klen, val, vlen, 0, eb);
}

int
kv_insert(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen, enum kv_insert_mode mode, struct errbuf *eb)
{
	switch (mode) {
	case KV_INSERT_NEW:
		return kv_put_flags(t, db, key, klen, val, vlen,
		    MDB_NOOVERWRITE, eb);
	case KV_INSERT_LAST:
		return kv_put_flags(t, db, key, klen, val, vlen, MDB_APPEND, eb);
	}
	return err_setf(eb, ERR_INVAL, "lmdb put in %s: bad insert mode",
	    kv_db_names[db]);
}

int
kv_del(struct kv_txn *t, enum kv_db db, const void *key, size_t klen,
    struct errbuf *eb)
{
	MDB_val	 k;
	int	 rc;

	if ((rc = kv_key_check(t, db, klen, eb)) != 0)
		return rc;
	if (t->rdonly)
		return err_setf(eb, ERR_INVAL, "lmdb del in %s: read-only "
		    "transaction", kv_db_names[db]);
	k.mv_data = (void *)key;
	k.mv_size = klen;
	if ((rc = mdb_del(t->txn, t->kv->dbi[db], &k, NULL)) != 0)
		return kv_err(eb, rc, "lmdb del in", kv_db_names[db]);
	t->changes++;
	return 0;
}

uint64_t
kv_txn_changes(const struct kv_txn *t)
{
	return t->changes;
}

int
kv_cursor_open(struct kv_txn *t, enum kv_db db, struct kv_cursor **out,
    struct errbuf *eb)
{
	struct kv_cursor	*c;
	int			 rc;

	*out = NULL;
	if ((unsigned)db >= KV_DB__COUNT)
		return err_setf(eb, ERR_INVAL, "lmdb: no database %d", (int)db);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return err_setf(eb, ERR_NOMEM, "lmdb cursor: out of memory");
	if ((rc = mdb_cursor_open(t->txn, t->kv->dbi[db], &c->cur)) != 0) {
		free(c);
		return kv_err(eb, rc, "lmdb cursor on", kv_db_names[db]);
	}
	*out = c;
	return 0;
}

void
kv_cursor_close(struct kv_cursor *c)
{
	if (c == NULL)
		return;
	mdb_cursor_close(c->cur);
	free(c);
}

static int
kv_cursor_op(struct kv_cursor *c, MDB_val *k, MDB_cursor_op op,
    struct kv_val *key, struct kv_val *val)
{
	MDB_val	 v;
	int	 rc;

	if ((rc = mdb_cursor_get(c->cur, k, &v, op)) != 0)
		return rc == MDB_NOTFOUND ? ERR_NOTFOUND :
		    kv_err(NULL, rc, "lmdb cursor", "");
	if (key != NULL) {
		key->data = k->mv_data;
		key->len = k->mv_size;
	}
	if (val != NULL) {
		val->data = v.mv_data;
		val->len = v.mv_size;
	}
	return 0;
}

int
kv_cursor_first(struct kv_cursor *c, struct kv_val *key, struct kv_val *val)
{
	MDB_val	 k = { 0, NULL };

	return kv_cursor_op(c, &k, MDB_FIRST, key, val);
}

int
kv_cursor_last(struct kv_cursor *c, struct kv_val *key, struct kv_val *val)
{
	MDB_val	 k = { 0, NULL };

	return kv_cursor_op(c, &k, MDB_LAST, key, val);
}

int
kv_cursor_seek(struct kv_cursor *c, const void *seek, size_t len,
    struct kv_val *key, struct kv_val *val)
{
	MDB_val	 k;

	if (len == 0)
		return kv_cursor_first(c, key, val);
	k.mv_data = (void *)seek;
	k.mv_size = len;
	return kv_cursor_op(c, &k, MDB_SET_RANGE, key, val);
}

int
kv_cursor_next(struct kv_cursor *c, struct kv_val *key, struct kv_val *val)
{
	MDB_val	 k = { 0, NULL };

	return kv_cursor_op(c, &k, MDB_NEXT, key, val);
}

int
kv_cursor_prev(struct kv_cursor *c, struct kv_val *key, struct kv_val *val)
{
	MDB_val	 k = { 0, NULL };

	return kv_cursor_op(c, &k, MDB_PREV, key, val);
}
