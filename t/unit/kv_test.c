/*
 * Unit tests of storage/kv: open, put/get/del, insert-only and append-only
 * puts, cursor order over big-endian keys, nested transactions, read isolation, the map-full error with a tiny
 * map, and the compacting copy.
 */
#include "storage/kv.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/err.h"
#include "t/tap.h"

static char	 tdir[512];

static void
be64(uint8_t *p, uint64_t v)
{
	int	 i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
unbe64(const void *vp)
{
	const uint8_t	*p = vp;
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
rmtree(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[1024];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
put_str(struct kv_txn *t, enum kv_db db, const char *k, const char *v)
{
	return kv_put(t, db, k, strlen(k), v, strlen(v), NULL);
}

static int
get_is(struct kv_txn *t, enum kv_db db, const char *k, const char *want)
{
	struct kv_val	 v;

	if (kv_get(t, db, k, strlen(k), &v, NULL) != 0)
		return want == NULL;
	return want != NULL && v.len == strlen(want) &&
	    memcmp(v.data, want, v.len) == 0;
}

static void
test_insert(struct kv *kv)
{
	struct kv_txn	*t = NULL;
	struct errbuf	 eb;
	struct kv_val	 v;
	uint8_t		 k[8];
	uint64_t	 i;
	bool		 all = true;

	if (!ok(kv_txn_begin(kv, NULL, false, &t, &eb) == 0, "begin for inserts"))
		return;
	is_int(kv_insert(t, KV_DB_META, "ins", 3, "a", 1, KV_INSERT_NEW, &eb), 0,
	    "insert of a new key");
	is_int(kv_insert(t, KV_DB_META, "ins", 3, "b", 1, KV_INSERT_NEW, &eb),
	    ERR_EXISTS, "insert of a present key: ERR_EXISTS");
	ok(get_is(t, KV_DB_META, "ins", "a"), "the first value is kept");

	/* Sequence keys go in with KV_INSERT_LAST, past several page splits. */
	for (i = 1; i <= 2000 && all; i++) {
		be64(k, i * 2);
		all = kv_insert(t, KV_DB_AUDIT, k, sizeof k, "e", 1,
		    KV_INSERT_LAST, &eb) == 0;
	}
	ok(all, "2000 increasing keys appended");
	be64(k, 7);
	is_int(kv_insert(t, KV_DB_AUDIT, k, sizeof k, "x", 1, KV_INSERT_LAST,
	    &eb), ERR_EXISTS, "a key that does not sort last: ERR_EXISTS");
	ok(kv_get(t, KV_DB_AUDIT, k, sizeof k, &v, &eb) == ERR_NOTFOUND,
	    "and nothing was written");
	be64(k, 1000);
	ok(kv_get(t, KV_DB_AUDIT, k, sizeof k, &v, &eb) == 0 && v.len == 1,
	    "an appended key is found by search");
	is_int(kv_insert(t, KV_DB_AUDIT, k, sizeof k, "x", 1, 99, &eb), ERR_INVAL,
	    "an unknown mode: ERR_INVAL");
	kv_txn_abort(t);
}

static void
test_basic(struct kv *kv)
{
	struct kv_txn	*t, *r;
	struct kv_val	 v;
	struct errbuf	 eb;
	uint8_t		 big[1024];

	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "write txn begins");
	is_int(put_str(t, KV_DB_WORKLOADS, "a", "alpha"), 0, "put a");
	is_int(put_str(t, KV_DB_WORKERS, "a", "worker-a"), 0, "put a in another db");
	is_int(kv_put(t, KV_DB_BY_WORKER, "empty", 5, "", 0, NULL), 0,
	    "put an empty value");
	ok(get_is(t, KV_DB_WORKLOADS, "a", "alpha"), "txn sees its own write");
	is_int(kv_put(t, KV_DB_META, "", 0, "x", 1, &eb), ERR_INVAL,
	    "empty key refused");
	memset(big, 'k', sizeof big);
	is_int(kv_put(t, KV_DB_META, big, sizeof big, "x", 1, &eb), ERR_INVAL,
	    "oversized key refused");
	ok(kv_key_max(kv) >= 400, "key max is %zu", kv_key_max(kv));

	/* Readers see only committed data. */
	is_int(kv_txn_begin(kv, NULL, true, &r, &eb), 0, "read txn begins");
	is_int(kv_get(r, KV_DB_WORKLOADS, "a", 1, &v, &eb), ERR_NOTFOUND,
	    "reader does not see an uncommitted write");
	is_int(kv_put(r, KV_DB_META, "x", 1, "y", 1, &eb), ERR_INVAL,
	    "put in a read txn refused");
	kv_txn_abort(r);
	is_int(kv_txn_commit(t, &eb), 0, "commit");

	is_int(kv_txn_begin(kv, NULL, true, &r, &eb), 0, "read txn begins");
	ok(get_is(r, KV_DB_WORKLOADS, "a", "alpha"), "committed value read");
	ok(get_is(r, KV_DB_WORKERS, "a", "worker-a"), "databases are separate");
	is_int(kv_get(r, KV_DB_BY_WORKER, "empty", 5, &v, &eb), 0,
	    "empty value read");
	is_int(v.len, 0, "empty value has length 0");
	is_int(kv_get(r, KV_DB_WORKLOADS, "zz", 2, &v, &eb), ERR_NOTFOUND,
	    "missing key: ERR_NOTFOUND");
	kv_txn_abort(r);

	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "write txn begins");
	is_int(kv_del(t, KV_DB_WORKERS, "a", 1, &eb), 0, "delete");
	is_int(kv_del(t, KV_DB_WORKERS, "a", 1, &eb), ERR_NOTFOUND,
	    "delete of a missing key: ERR_NOTFOUND");
	is_int(kv_txn_commit(t, &eb), 0, "commit delete");
	is_int(kv_txn_begin(kv, NULL, true, &r, &eb), 0, "read txn begins");
	ok(get_is(r, KV_DB_WORKERS, "a", NULL), "deleted key gone");
	kv_txn_abort(r);
	is_int(kv_sync(kv, &eb), 0, "sync");
	is_str(kv_db_name(KV_DB_AUDIT_BY_WORKLOAD), "audit_by_workload",
	    "database names");
}

static void
test_cursor(struct kv *kv)
{
	static const uint64_t vals[] = { 300, 1, 70000, 256, 5, UINT64_MAX, 0 };
	static const uint64_t sorted[] = { 0, 1, 5, 256, 300, 70000, UINT64_MAX };
	struct kv_cursor	*c;
	struct kv_txn		*t;
	struct kv_val		 k, v;
	struct errbuf		 eb;
	uint8_t			 key[8];
	size_t			 i, n;
	int			 rc, good;

	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "write txn begins");
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		be64(key, vals[i]);
		if (kv_put(t, KV_DB_BY_CREATED, key, 8, &vals[i], 8, &eb) != 0)
			break;
	}
	is_int(i, 7, "seven be64 keys put");
	is_int(kv_txn_commit(t, &eb), 0, "commit");

	is_int(kv_txn_begin(kv, NULL, true, &t, &eb), 0, "read txn begins");
	is_int(kv_cursor_open(t, KV_DB_BY_CREATED, &c, &eb), 0, "cursor opens");
	good = 1;
	n = 0;
	for (rc = kv_cursor_first(c, &k, &v); rc == 0;
	    rc = kv_cursor_next(c, &k, &v)) {
		if (k.len != 8 || n >= 7 || unbe64(k.data) != sorted[n] ||
		    v.len != 8 || memcmp(v.data, &sorted[n], 8) != 0)
			good = 0;
		n++;
	}
	ok(good && n == 7 && rc == ERR_NOTFOUND, "forward walk is numeric order");
	good = 1;
	n = 7;
	for (rc = kv_cursor_last(c, &k, NULL); rc == 0;
	    rc = kv_cursor_prev(c, &k, NULL)) {
		if (n == 0 || unbe64(k.data) != sorted[--n])
			good = 0;
	}
	ok(good && n == 0, "backward walk is reverse numeric order");

	be64(key, 257);
	is_int(kv_cursor_seek(c, key, 8, &k, NULL), 0, "seek >= 257");
	is_int(unbe64(k.data), 300, "lands on 300");
	is_int(kv_cursor_prev(c, &k, NULL), 0, "prev");
	is_int(unbe64(k.data), 256, "prev is 256");
	be64(key, 300);
	is_int(kv_cursor_seek(c, key, 8, &k, NULL), 0, "seek exact");
	is_int(unbe64(k.data), 300, "exact match found");
	is_int(kv_cursor_seek(c, "\xff\xff\xff\xff\xff\xff\xff\xff\x01", 9, &k,
	    NULL), ERR_NOTFOUND, "seek past the end: ERR_NOTFOUND");
	kv_cursor_close(c);

	/* An empty database. */
	is_int(kv_cursor_open(t, KV_DB_CHECKPOINTS, &c, &eb), 0, "cursor opens");
	is_int(kv_cursor_first(c, &k, &v), ERR_NOTFOUND, "empty db: first");
	is_int(kv_cursor_last(c, &k, &v), ERR_NOTFOUND, "empty db: last");
	kv_cursor_close(c);
	kv_txn_abort(t);
}

static void
test_changes(struct kv *kv)
{
	struct kv_txn	*t, *child;
	struct errbuf	 eb;

	if (!ok(kv_txn_begin(kv, NULL, false, &t, &eb) == 0, "begin"))
		return;
	is_int((int)kv_txn_changes(t), 0, "a new transaction: no changes");
	is_int(put_str(t, KV_DB_META, "chg", "1"), 0, "a put");
	is_int((int)kv_txn_changes(t), 1, "counts one change");
	is_int(kv_insert(t, KV_DB_META, "chg", 3, "2", 1, KV_INSERT_NEW, &eb),
	    ERR_EXISTS, "a refused insert");
	is_int(kv_del(t, KV_DB_META, "none", 4, &eb), ERR_NOTFOUND,
	    "a delete of a missing key");
	is_int((int)kv_txn_changes(t), 1, "neither counts");
	is_int(kv_txn_begin(kv, t, false, &child, &eb), 0, "a child");
	is_int(put_str(child, KV_DB_META, "chg2", "3"), 0, "the child puts");
	is_int((int)kv_txn_changes(child), 1, "the child counts its own");
	is_int((int)kv_txn_changes(t), 1, "the parent does not count it");
	kv_txn_abort(child);
	is_int(kv_del(t, KV_DB_META, "chg", 3, &eb), 0, "a delete");
	is_int((int)kv_txn_changes(t), 2, "counts as a change");
	kv_txn_abort(t);
}

static void
test_nested(struct kv *kv)
{
	struct kv_txn	*t, *child, *r;
	struct errbuf	 eb;

	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "parent begins");
	is_int(put_str(t, KV_DB_META, "p", "parent"), 0, "parent writes");
	is_int(kv_txn_begin(kv, t, false, &child, &eb), 0, "child begins");
	is_int(put_str(child, KV_DB_META, "c1", "child1"), 0, "child writes");
	is_int(put_str(child, KV_DB_META, "p", "overwritten"), 0,
	    "child overwrites the parent's key");
	ok(get_is(child, KV_DB_META, "p", "overwritten"), "child sees its write");
	kv_txn_abort(child);
	ok(get_is(t, KV_DB_META, "c1", NULL), "aborted child's write is gone");
	ok(get_is(t, KV_DB_META, "p", "parent"), "parent's value restored");

	is_int(kv_txn_begin(kv, t, false, &child, &eb), 0, "second child");
	is_int(put_str(child, KV_DB_META, "c2", "child2"), 0, "child writes");
	is_int(kv_txn_commit(child, &eb), 0, "child commits");
	ok(get_is(t, KV_DB_META, "c2", "child2"), "parent sees committed child");
	is_int(kv_txn_begin(kv, t, true, &child, &eb), ERR_INVAL,
	    "read-only child refused");
	is_int(kv_txn_commit(t, &eb), 0, "parent commits");

	is_int(kv_txn_begin(kv, NULL, true, &r, &eb), 0, "reader");
	ok(get_is(r, KV_DB_META, "c2", "child2") &&
	    get_is(r, KV_DB_META, "p", "parent") &&
	    get_is(r, KV_DB_META, "c1", NULL), "committed state is as expected");
	kv_txn_abort(r);
}

static void
test_map_full(void)
{
	struct kv	*kv;
	struct kv_txn	*t;
	struct errbuf	 eb;
	char		 path[600], val[2000];
	uint8_t		 key[8];
	uint64_t	 i;
	int		 rc = 0;

	snprintf(path, sizeof path, "%s/tiny.mdb", tdir);
	is_int(kv_open(&kv, path, 256 * 1024, &eb), 0, "tiny map opens");
	memset(val, 'v', sizeof val);
	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "write txn begins");
	errbuf_clear(&eb);
	for (i = 0; i < 10000; i++) {
		be64(key, i);
		if ((rc = kv_put(t, KV_DB_AUDIT, key, 8, val, sizeof val,
		    &eb)) != 0)
			break;
	}
	is_int(rc, ERR_NOSPACE, "filling the map gives ERR_NOSPACE");
	ok(strstr(eb.msg, "map is full") != NULL, "message says so: %s", eb.msg);
	kv_txn_abort(t);

	/* Recoverable: the environment still works for small writes. */
	is_int(kv_txn_begin(kv, NULL, false, &t, &eb), 0, "new txn after abort");
	is_int(put_str(t, KV_DB_META, "k", "v"), 0, "small put works");
	is_int(kv_txn_commit(t, &eb), 0, "commit works");
	kv_close(kv);
	unlink(path);
	snprintf(path, sizeof path, "%s/tiny.mdb-lock", tdir);
	unlink(path);
}

static void
test_copy(struct kv *kv)
{
	struct kv	*cp;
	struct kv_txn	*t;
	struct errbuf	 eb;
	char		 path[600];
	int		 fd;

	snprintf(path, sizeof path, "%s/copy.mdb", tdir);
	is_int(kv_copy_compact(kv, path, &eb), 0, "compact copy written");
	ok(access(path, F_OK) == 0, "copy is a file");
	is_int(kv_copy_compact(kv, path, &eb), 0, "copy over an existing file");
	is_int(kv_open(&cp, path, 0, &eb), 0, "copy opens as an environment");
	is_int(kv_txn_begin(cp, NULL, true, &t, &eb), 0, "read txn on copy");
	ok(get_is(t, KV_DB_WORKLOADS, "a", "alpha") &&
	    get_is(t, KV_DB_META, "c2", "child2"), "copy holds the data");
	kv_txn_abort(t);
	kv_close(cp);
	snprintf(path, sizeof path, "%s/nodir/copy.mdb", tdir);
	is_int(kv_copy_compact(kv, path, &eb), ERR_IO,
	    "copy into a missing directory: ERR_IO");

	snprintf(path, sizeof path, "%s/copyfd.mdb", tdir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		ok(0, "create %s", path);
		return;
	}
	is_int(kv_copy_compact_fd(kv, fd, &eb), 0, "copy written to a descriptor");
	close(fd);
	is_int(kv_open(&cp, path, 0, &eb), 0, "it opens as an environment");
	is_int(kv_txn_begin(cp, NULL, true, &t, &eb), 0, "read txn on it");
	ok(get_is(t, KV_DB_WORKLOADS, "a", "alpha") &&
	    get_is(t, KV_DB_META, "c2", "child2"), "it holds the data");
	kv_txn_abort(t);
	kv_close(cp);
	is_int(kv_copy_compact_fd(kv, -1, &eb), ERR_IO,
	    "a bad descriptor: ERR_IO");
}

int
main(void)
{
	struct kv	*kv = NULL;
	struct errbuf	 eb;
	const char	*base = getenv("TMPDIR");
	char		 path[600];

	snprintf(tdir, sizeof tdir, "%s/kv_test.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tdir) == NULL) {
		ok(0, "mkdtemp %s", tdir);
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/nodir/state.mdb", tdir);
	is_int(kv_open(&kv, path, 0, &eb), ERR_IO, "open in a missing dir: ERR_IO");
	ok(kv == NULL, "nothing returned on failure");
	kv_close(NULL);

	snprintf(path, sizeof path, "%s/state.mdb", tdir);
	if (!ok(kv_open(&kv, path, 64 << 20, &eb) == 0, "open %s", path)) {
		tap_diag("%s", eb.msg);
		rmtree(tdir);
		return tap_done();
	}
	ok(access(path, F_OK) == 0, "environment is a single file");
	test_basic(kv);
	test_insert(kv);
	test_cursor(kv);
	test_nested(kv);
	test_changes(kv);
	test_copy(kv);
	kv_close(kv);
	test_map_full();
	rmtree(tdir);
	return tap_done();
}
