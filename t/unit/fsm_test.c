/*
 * Unit tests of the state machine: commands are built, encoded with
 * cmd_encode and applied through fsm_apply with increasing indexes exactly
 * as the Raft loop does, then the reads are checked.  Time is a variable
 * (now) carried in each command; nothing here sleeps.
 */
#include "src/fsm.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "net/wire.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/model.h"
#include "t/tap.h"

#define NIDS	200

static struct fsm	*F;		/* the store under test */
static uint64_t		 idx;		/* last Raft index applied to F */
static uint64_t		 now = 1700000000000ULL;
static char		 ids[NIDS][MODEL_ID_LEN + 1];
static struct fsm_event	*ev;		/* events of the last command */
static size_t		 nev;
static char		 tdir[512];

/* ---- helpers ---- */

static void
rmtree(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[1100];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			rmtree(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Applies c to f at the next index, flushes, and keeps its events.
 * Returns the command's result, or -1 if the store failed. */
static int
run_on(struct fsm *f, uint64_t *index, struct cmd *c)
{
	struct errbuf	 eb;
	void		*buf;
	size_t		 len;
	int		 res = -1, rc;

	c->now_ms = now;
	if (c->actor == NULL)
		c->actor = "tester";
	if (c->request_id == NULL)
		c->request_id = "req-test";
	if (cmd_encode(c, &buf, &len) != 0) {
		tap_diag("cmd_encode failed");
		return -1;
	}
	rc = fsm_apply(f, ++*index, buf, len, &res);
	free(buf);
	if (rc != 0 || fsm_flush(f, &eb) != 0) {
		tap_diag("store failed: %s", err_code_name(rc));
		return -1;
	}
	fsm_events_free(ev, nev);
	nev = fsm_events_take(f, &ev);
	return res;
}

static int
run(struct cmd *c)
{
	return run_on(F, &idx, c);
}

/* How many events of the last command match (NULL: any). */
static int
evcount(enum fsm_event_type t, const char *wl, const char *worker)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < nev; i++) {
		if (ev[i].type != t)
			continue;
		if (wl != NULL && strcmp(ev[i].workload_id, wl) != 0)
			continue;
		if (worker != NULL && !str_eq(ev[i].worker_id, worker))
			continue;
		n++;
	}
	return n;
}

static void
wl_init(struct workload *w, int n, const char *cust, const char *type,
    uint32_t prio, enum tier tier)
{
	memset(w, 0, sizeof *w);
	memcpy(w->id, ids[n], sizeof w->id);
	w->customer_id = (char *)cust;
	w->type = (char *)type;
	w->params_json = "{}";
	w->priority = prio;
	w->tier = tier;
	w->status = WL_PENDING;
}

static int
submit_v(struct workload *w, size_t n)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_SUBMIT;
	c.workloads = w;
	c.n_workloads = n;
	return run(&c);
}

static int
submit1(int n, const char *type, uint32_t prio, enum tier tier,
    uint32_t max_retries)
{
	struct workload	 w;

	wl_init(&w, n, "acme", type, prio, tier);
	w.max_retries = max_retries;
	return submit_v(&w, 1);
}

static int
assign(int n, const char *worker, uint32_t attempt)
{
	struct cmd_placement	 p;
	struct cmd		 c;

	memset(&p, 0, sizeof p);
	memcpy(p.workload_id, ids[n], sizeof p.workload_id);
	p.worker_id = (char *)worker;
	p.attempt = attempt;
	memset(&c, 0, sizeof c);
	c.type = CMD_ASSIGN;
	c.placements = &p;
	c.n_placements = 1;
	return run(&c);
}

static void
ref(struct cmd *c, enum cmd_type t, int n, uint32_t attempt, const char *worker)
{
	memset(c, 0, sizeof *c);
	c->type = t;
	memcpy(c->workload_id, ids[n], sizeof c->workload_id);
	c->attempt = attempt;
	c->worker_id = (char *)worker;
}

static int
start(int n, uint32_t attempt, const char *worker)
{
	struct cmd	 c;

	ref(&c, CMD_START, n, attempt, worker);
	return run(&c);
}

static int
progress(int n, uint32_t attempt, const char *worker, double p, const char *msg)
{
	struct cmd	 c;

	ref(&c, CMD_PROGRESS, n, attempt, worker);
	c.progress = p;
	c.message = (char *)msg;
	return run(&c);
}

static int
complete(int n, uint32_t attempt, const char *worker, enum outcome o,
    const char *err)
{
	struct cmd	 c;

	ref(&c, CMD_COMPLETE, n, attempt, worker);
	c.outcome = o;
	c.error = (char *)err;
	c.result_json = o == OUTCOME_SUCCEEDED ? "{\"ok\":1}" : NULL;
	return run(&c);
}

static int
cancel(int n)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_CANCEL;
	memcpy(c.workload_id, ids[n], sizeof c.workload_id);
	c.message = "user asked";
	return run(&c);
}

static int
checkpoint(int n, uint32_t attempt, const char *worker, uint64_t seq,
    const char *text)
{
	struct cmd	 c;
	size_t		 bound = ZSTD_compressBound(strlen(text)), clen;
	int		 res;

	ref(&c, CMD_CHECKPOINT, n, attempt, worker);
	c.checkpoint_seq = seq;
	c.raw_len = strlen(text);
	if ((c.data = malloc(bound)) == NULL)
		return -1;
	clen = ZSTD_compress(c.data, bound, text, strlen(text), 1);
	c.data_len = clen;
	res = run(&c);
	free(c.data);
	return res;
}

/* Registers worker id with comma-separated caps and tags ("k=v,k=v"). */
static int
reg(const char *id, const char *caps, uint32_t capacity, const char *tags,
    const struct cmd_attempt *running, size_t nrunning)
{
	struct cmd	 c;
	char		 buf[256], *s, *save;
	int		 res;

	memset(&c, 0, sizeof c);
	c.type = CMD_WORKER_REGISTER;
	c.worker.id = strdup(id);
	c.worker.capacity = capacity;
	c.worker.version = strdup("1.0");
	snprintf(buf, sizeof buf, "%s", caps);
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		strlist_add(&c.worker.capabilities, s);
	snprintf(buf, sizeof buf, "%s", tags);
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		tagset_set_pair(&c.worker.tags, s);
	c.running = (struct cmd_attempt *)running;
	c.n_running = nrunning;
	res = run(&c);
	worker_rec_fini(&c.worker);
	return res;
}

static int
dead(const char *id, uint64_t gen)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_WORKER_DEAD;
	c.worker_id = (char *)id;
	c.generation = gen;
	return run(&c);
}

static int
st(int n)
{
	struct workload	 w;
	int		 s;

	if (fsm_workload_get(F, ids[n], &w) != 0)
		return -1;
	s = (int)w.status;
	workload_fini(&w);
	return s;
}

static struct workload
wget(int n)
{
	struct workload	 w;

	if (fsm_workload_get(F, ids[n], &w) != 0)
		memset(&w, 0, sizeof w);
	return w;
}

static struct worker_rec
worker(struct fsm *f, const char *id)
{
	struct worker_rec	 wr;

	if (fsm_worker_get(f, id, &wr) != 0)
		memset(&wr, 0, sizeof wr);
	return wr;
}

static uint32_t
used(const char *id)
{
	struct worker_rec	 wr = worker(F, id);
	uint32_t		 u = wr.used;

	worker_rec_fini(&wr);
	return u;
}

static void
wl_list_free(struct workload *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		workload_fini(&v[i]);
	free(v);
}

/* Everything a reader can see of workloads and workers, as bytes. */
static int
dump(struct fsm *f, void **buf, size_t *len)
{
	struct fsm_list_filter	 flt;
	struct wire_writer	*w = wire_writer_new();
	struct workload		*v;
	struct worker_rec	*wr;
	uint64_t		 counts[WL__COUNT];
	char			 cur[FSM_CURSOR_LEN] = "", prev[FSM_CURSOR_LEN];
	size_t			 n, i;
	int			 rc, s;

	if (w == NULL)
		return -1;
	do {
		memset(&flt, 0, sizeof flt);
		flt.limit = 50;
		memcpy(prev, cur, sizeof prev);
		flt.cursor = prev;
		if ((rc = fsm_workload_list(f, &flt, &v, &n, cur)) != 0)
			goto fail;
		for (i = 0; i < n; i++)
			model_workload_encode(w, &v[i]);
		wl_list_free(v, n);
	} while (cur[0] != '\0');
	if ((rc = fsm_worker_list(f, &wr, &n)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		model_worker_encode(w, &wr[i]);
		worker_rec_fini(&wr[i]);
	}
	free(wr);
	if ((rc = fsm_status_counts(f, counts)) != 0)
		goto fail;
	for (s = 0; s < WL__COUNT; s++)
		wire_put_uint(w, counts[s]);
	rc = wire_writer_take(w, buf, len);
fail:
	wire_writer_free(w);
	return rc;
}

static void *snap_before;
static size_t snap_before_len;

static void
mark(void)
{
	free(snap_before);
	snap_before = NULL;
	if (dump(F, &snap_before, &snap_before_len) != 0)
		tap_diag("dump failed");
}

static int
unchanged(void)
{
	void	*b;
	size_t	 len;
	int	 same;

	if (dump(F, &b, &len) != 0)
		return 0;
	same = len == snap_before_len && memcmp(b, snap_before, len) == 0;
	free(b);
	return same;
}

static size_t
audit_count(struct fsm *f, int n)
{
	struct audit_event	*a;
	size_t			 cnt, i;

	if (fsm_audit_list(f, ids[n], 0, &a, &cnt) != 0)
		return (size_t)-1;
	for (i = 0; i < cnt; i++)
		audit_event_fini(&a[i]);
	free(a);
	return cnt;
}

/* ---- tests ---- */

static void
test_keys(void)
{
	struct api_key	 k;
	struct cmd	 c;
	uint8_t		 h[32], other[32];

	memset(h, 0xab, sizeof h);
	memset(other, 0xcd, sizeof other);
	ok(!fsm_has_admin_key(F), "no admin key at first");
	memset(&c, 0, sizeof c);
	c.type = CMD_KEY_CREATE;
	memcpy(c.key.id, ids[190], sizeof c.key.id);
	c.key.customer_id = MODEL_CUSTOMER_ADMIN;
	c.key.role = KEY_ROLE_ADMIN;
	memcpy(c.key.hash, h, 32);
	is_int(run(&c), 0, "KEY_CREATE");
	ok(fsm_has_admin_key(F), "admin key exists");
	if (is_int(fsm_key_lookup(F, h, &k), 0, "key found by hash")) {
		is_str(k.id, ids[190], "key id");
		is_str(k.customer_id, "admin", "key customer");
		is_int(k.created_ms, now, "created_ms from the command");
		api_key_fini(&k);
	}
	is_int(fsm_key_lookup(F, other, &k), ERR_NOTFOUND, "unknown hash");
	memcpy(c.key.hash, other, 32);
	is_int(run(&c), ERR_EXISTS, "same key id: ERR_EXISTS");
	memcpy(c.key.id, ids[191], sizeof c.key.id);
	memcpy(c.key.hash, h, 32);
	is_int(run(&c), ERR_EXISTS, "same hash: ERR_EXISTS");
	c.key.customer_id = "acme";
	c.key.role = KEY_ROLE_CUSTOMER;
	memcpy(c.key.hash, other, 32);
	is_int(run(&c), 0, "customer key");
	if (is_int(fsm_key_lookup(F, other, &k), 0, "customer key found")) {
		is_int(k.role, KEY_ROLE_CUSTOMER, "customer role");
		api_key_fini(&k);
	}

	memset(&c, 0, sizeof c);
	c.type = CMD_SECRET_SET;
	c.secret_name = "join_token";
	memset(c.secret_hash, 0x11, 32);
	is_int(run(&c), 0, "SECRET_SET");
	memset(c.secret_hash, 0x22, 32);
	is_int(run(&c), 0, "SECRET_SET replaces");
	memset(other, 0, sizeof other);
	is_int(fsm_secret_get(F, "join_token", other), 0, "secret read");
	memset(h, 0x22, sizeof h);
	ok(memcmp(other, h, 32) == 0, "latest hash stored");
	is_int(fsm_secret_get(F, "nope", other), ERR_NOTFOUND, "unknown secret");
	c.secret_name = "bad name";
	is_int(run(&c), ERR_INVAL, "bad secret name: ERR_INVAL");
}

static void
test_workers(void)
{
	struct worker_rec	 wr;

	is_int(reg("w1", "sleep", 2, "zone=a", NULL, 0), 0, "register w1");
	is_int(nev, 1, "one event");
	is_int(evcount(FSM_EV_WORKER, NULL, "w1"), 1, "FSM_EV_WORKER for w1");
	wr = worker(F, "w1");
	is_int(wr.generation, 1, "generation 1");
	is_int(wr.status, WORKER_ALIVE, "ALIVE");
	is_int(wr.capacity, 2, "capacity");
	is_int(wr.registered_ms, now, "registered_ms");
	is_int(wr.last_heartbeat_ms, now, "last_heartbeat_ms");
	is_str(tagset_get(&wr.tags, "zone"), "a", "tags stored");
	worker_rec_fini(&wr);
	is_int(reg("w2", "sleep,exec", 1, "zone=b", NULL, 0), 0, "register w2");
	is_int(reg("bad id!", "sleep", 1, "", NULL, 0), ERR_INVAL,
	    "bad worker id: ERR_INVAL");
}

static void
test_submit(void)
{
	struct workload	 w[4], *v;
	size_t		 n;
	uint64_t	 counts[WL__COUNT];
	struct workload	 one;

	wl_init(&w[0], 1, "acme", "sleep", 10, TIER_FREE);		/* 10 */
	wl_init(&w[1], 2, "acme", "sleep", 10, TIER_ENTERPRISE);	/* 1000 */
	wl_init(&w[2], 3, "beta", "sleep", 5, TIER_STANDARD);		/* 50 */
	w[2].max_retries = 1;
	wl_init(&w[3], 4, "beta", "sleep", 20, TIER_PREMIUM);		/* 1000 */
	is_int(submit_v(w, 4), 0, "SUBMIT of four");
	is_int(nev, 1, "one event per command");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	one = wget(1);
	is_int(one.status, WL_PENDING, "PENDING");
	is_int(one.seq, 1, "seq 1");
	is_int(one.created_ms, now, "created_ms");
	is_int(one.updated_ms, now, "updated_ms");
	is_int(one.attempt, 0, "attempt 0");
	workload_fini(&one);
	one = wget(4);
	is_int(one.seq, 4, "seq follows submission order");
	workload_fini(&one);

	is_int(fsm_pending_scan(F, 10, &v, &n), 0, "pending scan");
	ok(n == 4 && strcmp(v[0].id, ids[2]) == 0 &&
	    strcmp(v[1].id, ids[4]) == 0 && strcmp(v[2].id, ids[3]) == 0 &&
	    strcmp(v[3].id, ids[1]) == 0,
	    "queue order: priority x tier, then FIFO");
	wl_list_free(v, n);
	is_int(fsm_pending_scan(F, 2, &v, &n), 0, "pending scan, max 2");
	is_int(n, 2, "at most max");
	wl_list_free(v, n);
	is_int(fsm_status_counts(F, counts), 0, "status counts");
	is_int(counts[WL_PENDING], 4, "4 PENDING");

	/* Rejections are all-or-nothing and change nothing. */
	mark();
	wl_init(&w[0], 5, "acme", "sleep", 1, TIER_FREE);
	wl_init(&w[1], 1, "acme", "sleep", 1, TIER_FREE);
	is_int(submit_v(w, 2), ERR_EXISTS, "an existing id: ERR_EXISTS");
	is_int(st(5), -1, "the new one of that command was not stored");
	wl_init(&w[1], 5, "acme", "sleep", 1, TIER_FREE);
	is_int(submit_v(w, 2), ERR_EXISTS, "an id twice: ERR_EXISTS");
	wl_init(&w[0], 5, "acme", "sleep", 1001, TIER_FREE);
	is_int(submit_v(w, 1), ERR_INVAL, "priority 1001: ERR_INVAL");
	wl_init(&w[0], 5, "acme", "", 1, TIER_FREE);
	is_int(submit_v(w, 1), ERR_INVAL, "empty type: ERR_INVAL");
	is_int(submit_v(w, 0), ERR_INVAL, "no workloads: ERR_INVAL");
	is_int(nev, 0, "no events from a rejection");
	ok(unchanged(), "rejected submits changed nothing");
	is_int(audit_count(F, 1), 1, "audit: only the submission");
}

static void
test_assign(void)
{
	struct cmd_placement	 p[6];
	struct workload		 w[4], *v;
	struct cmd		 c;
	size_t			 n;

	wl_init(&w[0], 7, "acme", "exec", 1, TIER_FREE);
	wl_init(&w[1], 8, "acme", "sleep", 1, TIER_FREE);
	tagset_set(&w[1].affinity.hard_tags, "zone", "b");
	wl_init(&w[2], 9, "acme", "sleep", 1, TIER_FREE);
	w[2].affinity.hard_worker_id = "w1";
	wl_init(&w[3], 10, "acme", "sleep", 1, TIER_FREE);
	strlist_add(&w[3].affinity.hard_types, "gpu");
	is_int(submit_v(w, 4), 0, "submit workloads with hard affinity");
	tagset_fini(&w[1].affinity.hard_tags);
	strlist_fini(&w[3].affinity.hard_types);

	mark();
	memset(p, 0, sizeof p);
	memcpy(p[0].workload_id, ids[1], MODEL_ID_LEN + 1);
	p[0].worker_id = "w1";
	p[0].attempt = 2;			/* must be attempt + 1 */
	memcpy(p[1].workload_id, ids[1], MODEL_ID_LEN + 1);
	p[1].worker_id = "nope";		/* unknown worker */
	p[1].attempt = 1;
	memcpy(p[2].workload_id, ids[7], MODEL_ID_LEN + 1);
	p[2].worker_id = "w1";			/* lacks the exec capability */
	p[2].attempt = 1;
	memcpy(p[3].workload_id, ids[8], MODEL_ID_LEN + 1);
	p[3].worker_id = "w1";			/* zone=a, wants zone=b */
	p[3].attempt = 1;
	memcpy(p[4].workload_id, ids[9], MODEL_ID_LEN + 1);
	p[4].worker_id = "w2";			/* hard worker is w1 */
	p[4].attempt = 1;
	memcpy(p[5].workload_id, ids[10], MODEL_ID_LEN + 1);
	p[5].worker_id = "w2";			/* no gpu capability */
	p[5].attempt = 1;
	memset(&c, 0, sizeof c);
	c.type = CMD_ASSIGN;
	c.placements = p;
	c.n_placements = 6;
	is_int(run(&c), 0, "ASSIGN of invalid placements: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "every invalid placement skipped");

	is_int(assign(8, "w2", 1), 0, "hard tags satisfied");
	is_int(st(8), WL_SCHEDULED, "SCHEDULED");
	is_int(evcount(FSM_EV_ASSIGNED, ids[8], "w2"), 1, "FSM_EV_ASSIGNED");
	is_int(ev[0].attempt, 1, "event carries the attempt");
	is_int(used("w2"), 1, "w2 used 1");
	is_int(assign(7, "w2", 1), 0, "w2 is full");
	is_int(st(7), WL_PENDING, "placement on a full worker skipped");

	memset(p, 0, sizeof p);
	memcpy(p[0].workload_id, ids[2], MODEL_ID_LEN + 1);
	memcpy(p[1].workload_id, ids[4], MODEL_ID_LEN + 1);
	memcpy(p[2].workload_id, ids[1], MODEL_ID_LEN + 1);
	p[0].worker_id = p[1].worker_id = p[2].worker_id = "w1";
	p[0].attempt = p[1].attempt = p[2].attempt = 1;
	c.n_placements = 3;
	is_int(run(&c), 0, "three placements on w1 (capacity 2)");
	is_int(evcount(FSM_EV_ASSIGNED, NULL, "w1"), 2, "two assigned");
	ok(st(2) == WL_SCHEDULED && st(4) == WL_SCHEDULED && st(1) == WL_PENDING,
	    "the third did not fit");
	is_int(used("w1"), 2, "w1 used 2");
	is_int(assign(2, "w1", 1), 0, "assigning a SCHEDULED one again");
	is_int(nev, 0, "skipped");
	is_int(fsm_worker_workloads(F, "w1", &v, &n), 0, "worker workloads");
	ok(n == 2 && ((strcmp(v[0].id, ids[2]) == 0 && strcmp(v[1].id, ids[4]) == 0) ||
	    (strcmp(v[0].id, ids[4]) == 0 && strcmp(v[1].id, ids[2]) == 0)),
	    "w1 holds 2 and 4");
	wl_list_free(v, n);
	{
		struct workload x = wget(2);

		is_int(x.attempt, 1, "attempt set");
		is_str(x.worker_id, "w1", "worker set");
		is_int(x.scheduled_ms, now, "scheduled_ms");
		workload_fini(&x);
	}
}

static void
test_start_progress(void)
{
	struct workload	 w;

	now += 100;
	mark();
	is_int(start(2, 1, "w2"), ERR_STALE, "START from another worker: stale");
	is_int(start(2, 2, "w1"), ERR_STALE, "START of another attempt: stale");
	is_int(start(2, 0, "w1"), ERR_STALE, "START of an old attempt: stale");
	ok(unchanged(), "stale starts changed nothing");
	is_int(start(2, 1, "w1"), 0, "START");
	w = wget(2);
	is_int(w.status, WL_RUNNING, "RUNNING");
	is_int(w.started_ms, now, "started_ms");
	is_int(w.updated_ms, now, "updated_ms");
	workload_fini(&w);
	now += 1;
	mark();
	is_int(start(2, 1, "w1"), 0, "START again: idempotent");
	ok(unchanged(), "re-ack changed nothing");
	is_int(start(1, 0, "w1"), ERR_STALE, "START of a never placed one: stale");

	is_int(progress(4, 1, "w1", 10, "x"), ERR_CONFLICT,
	    "PROGRESS on SCHEDULED: conflict");
	is_int(progress(2, 1, "w1", 150, "half"), 0, "PROGRESS 150");
	w = wget(2);
	ok(w.progress == 100, "clamped to 100");
	is_str(w.progress_message, "half", "message");
	workload_fini(&w);
	is_int(progress(2, 1, "w1", -5, NULL), 0, "PROGRESS -5");
	w = wget(2);
	ok(w.progress == 0, "clamped to 0");
	ok(w.progress_message == NULL, "message replaced");
	workload_fini(&w);
	is_int(progress(2, 1, "w1", 42.5, "going"), 0, "PROGRESS 42.5");
	w = wget(2);
	ok(w.progress == 42.5, "progress stored");
	workload_fini(&w);
	is_int(nev, 0, "no events from progress");
	is_int(progress(2, 2, "w1", 50, NULL), ERR_STALE, "stale PROGRESS");
}

static void
test_checkpoint(void)
{
	struct workload	 w;
	struct cmd	 c;
	void		*data;
	size_t		 len;
	uint64_t	 seq;
	uint32_t	 att;
	char		 text[32];
	int		 i, good = 1;

	for (i = 1; i <= 4; i++) {
		snprintf(text, sizeof text, "state-%d", i);
		if (checkpoint(2, 1, "w1", (uint64_t)i, text) != 0)
			good = 0;
	}
	ok(good, "four checkpoints stored");
	w = wget(2);
	is_int(w.checkpoint_seq, 4, "workload checkpoint_seq");
	workload_fini(&w);
	is_int(fsm_checkpoint_get(F, ids[2], 0, &data, &len, &seq, &att), 0,
	    "latest checkpoint");
	ok(len == 7 && memcmp(data, "state-4", 7) == 0, "latest data round trip");
	is_int(seq, 4, "latest seq");
	is_int(att, 1, "attempt recorded");
	free(data);
	is_int(fsm_checkpoint_get(F, ids[2], 2, &data, &len, &seq, &att), 0,
	    "checkpoint 2 kept");
	ok(len == 7 && memcmp(data, "state-2", 7) == 0, "checkpoint 2 data");
	free(data);
	is_int(fsm_checkpoint_get(F, ids[2], 1, &data, &len, &seq, &att),
	    ERR_NOTFOUND, "checkpoint 1 pruned (newest 3 kept)");
	is_int(fsm_checkpoint_get(F, ids[4], 0, &data, &len, &seq, &att),
	    ERR_NOTFOUND, "none for another workload");

	mark();
	is_int(checkpoint(2, 1, "w1", 4, "state-4"), 0, "duplicate: result 0");
	ok(unchanged(), "duplicate changed nothing");
	is_int(checkpoint(2, 1, "w1", 3, "state-3"), ERR_STALE, "older: stale");
	is_int(checkpoint(2, 2, "w1", 9, "x"), ERR_STALE, "stale attempt");
	is_int(checkpoint(4, 1, "w1", 1, "x"), ERR_CONFLICT,
	    "on SCHEDULED: conflict");
	ref(&c, CMD_CHECKPOINT, 2, 1, "w1");
	c.checkpoint_seq = 5;
	c.data = "not zstd at all";
	c.data_len = 15;
	c.raw_len = 15;
	is_int(run(&c), ERR_INVAL, "garbage data: ERR_INVAL");
	ok(unchanged(), "refused checkpoints changed nothing");
}

static void
test_complete_success(void)
{
	struct workload	 w;

	now += 1000;
	is_int(complete(2, 1, "w1", OUTCOME_SUCCEEDED, NULL), 0, "COMPLETE ok");
	w = wget(2);
	is_int(w.status, WL_COMPLETED, "COMPLETED");
	ok(w.progress == 100, "progress 100");
	is_str(w.result_json, "{\"ok\":1}", "result kept");
	is_int(w.finished_ms, now, "finished_ms");
	workload_fini(&w);
	is_int(used("w1"), 1, "slot released");
	is_int(evcount(FSM_EV_FREED, NULL, "w1"), 1, "FSM_EV_FREED");
	is_int(complete(2, 1, "w1", OUTCOME_SUCCEEDED, NULL), ERR_STALE,
	    "COMPLETE again: stale");
	is_int(start(2, 1, "w1"), ERR_STALE, "START of a terminal one: stale");
	is_int(complete(4, 2, "w1", OUTCOME_SUCCEEDED, NULL), ERR_STALE,
	    "COMPLETE of another attempt: stale");
}

static void
test_retry(void)
{
	struct workload	 w;
	uint64_t	 nb, t0;

	/* 3 has max_retries 1. */
	is_int(assign(3, "w1", 1), 0, "assign 3");
	is_int(start(3, 1, "w1"), 0, "start 3");
	now += 10;
	t0 = now;
	is_int(complete(3, 1, "w1", OUTCOME_FAILED, "boom"), 0, "fails once");
	w = wget(3);
	is_int(w.status, WL_PENDING, "back to PENDING");
	is_int(w.failures, 1, "failures 1");
	is_str(w.error, "boom", "error kept");
	nb = w.not_before_ms;
	ok(nb >= t0 + 1000 && nb <= t0 + 1250, "backoff 1s + jitter (%llu)",
	    (unsigned long long)(nb - t0));
	workload_fini(&w);
	is_int(evcount(FSM_EV_FREED, NULL, "w1"), 1, "FSM_EV_FREED");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	is_int(used("w1"), 1, "slot released");

	is_int(assign(3, "w1", 2), 0, "assign during backoff");
	is_int(st(3), WL_PENDING, "not placed before not_before");
	now = nb;
	is_int(assign(3, "w1", 2), 0, "assign after backoff");
	is_int(st(3), WL_SCHEDULED, "placed");
	is_int(start(3, 2, "w1"), 0, "start attempt 2");
	is_int(complete(3, 1, "w1", OUTCOME_SUCCEEDED, NULL), ERR_STALE,
	    "old attempt cannot complete it");
	now += 5;
	is_int(complete(3, 2, "w1", OUTCOME_FAILED, "boom2"), 0, "fails again");
	w = wget(3);
	is_int(w.status, WL_FAILED, "FAILED: retries exhausted");
	is_int(w.failures, 2, "failures 2");
	is_str(w.error, "boom2", "last error");
	is_int(w.finished_ms, now, "finished_ms");
	workload_fini(&w);
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 0, "no FSM_EV_PENDING");
}

static void
test_cancel(void)
{
	struct workload	 w;

	now += 10;
	is_int(cancel(1), 0, "cancel PENDING");
	w = wget(1);
	is_int(w.status, WL_CANCELLED, "CANCELLED");
	is_int(w.finished_ms, now, "finished_ms");
	workload_fini(&w);
	is_int(cancel(1), ERR_CONFLICT, "cancel CANCELLED: conflict");
	is_int(cancel(2), ERR_CONFLICT, "cancel COMPLETED: conflict");
	is_int(cancel(150), ERR_NOTFOUND, "cancel unknown: not found");

	/* 4 is SCHEDULED on w1 (attempt 1). */
	is_int(cancel(4), 0, "cancel SCHEDULED");
	is_int(st(4), WL_CANCELLED, "CANCELLED at once");
	is_int(evcount(FSM_EV_STOP, ids[4], "w1"), 1, "FSM_EV_STOP");
	is_int(evcount(FSM_EV_FREED, NULL, "w1"), 1, "FSM_EV_FREED");
	is_int(used("w1"), 0, "slot released");

	/* 8 is SCHEDULED on w2: run it, then cancel. */
	is_int(start(8, 1, "w2"), 0, "start 8");
	is_int(cancel(8), 0, "cancel RUNNING");
	w = wget(8);
	is_int(w.status, WL_RUNNING, "still RUNNING");
	ok(w.cancel_requested, "cancel requested");
	workload_fini(&w);
	is_int(evcount(FSM_EV_STOP, ids[8], "w2"), 1, "FSM_EV_STOP to w2");
	mark();
	is_int(cancel(8), 0, "cancel again: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing changed");
	is_int(assign(8, "w2", 2), 0, "assign while cancel requested");
	is_int(st(8), WL_RUNNING, "not assignable");
	is_int(complete(8, 1, "w2", OUTCOME_FAILED, "killed"), 0,
	    "worker reports failure");
	w = wget(8);
	is_int(w.status, WL_CANCELLED, "FAILED with cancel requested: CANCELLED");
	is_int(w.failures, 0, "no failure counted");
	workload_fini(&w);
	is_int(used("w2"), 0, "w2 slot released");

	/* OUTCOME_CANCELLED and OUTCOME_ABANDONED. */
	is_int(submit1(11, "sleep", 1, TIER_FREE, 0), 0, "submit 11");
	is_int(assign(11, "w2", 1), 0, "assign 11");
	is_int(start(11, 1, "w2"), 0, "start 11");
	is_int(complete(11, 1, "w2", OUTCOME_ABANDONED, NULL), 0, "abandoned");
	w = wget(11);
	is_int(w.status, WL_PENDING, "ABANDONED: back to PENDING");
	is_int(w.failures, 0, "no failure counted");
	ok(w.not_before_ms <= now, "no backoff");
	workload_fini(&w);
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	is_int(assign(11, "w2", 2), 0, "assign 11 again");
	is_int(start(11, 2, "w2"), 0, "start 11 again");
	is_int(cancel(11), 0, "cancel 11");
	is_int(complete(11, 2, "w2", OUTCOME_CANCELLED, NULL), 0, "cancelled");
	is_int(st(11), WL_CANCELLED, "CANCELLED");
	is_int(used("w2"), 0, "w2 slot released");
}

static void
test_worker_dead(void)
{
	struct worker_rec	 wr;
	struct workload		 w;
	struct cmd		 c;
	struct cmd_heartbeat	 hb[3];
	uint64_t		 w1hb;
	int			 i;

	is_int(reg("w3", "sleep", 3, "", NULL, 0), 0, "register w3");
	for (i = 20; i <= 22; i++)
		submit1(i, "sleep", 1, TIER_FREE, 0);
	for (i = 20; i <= 22; i++)
		assign(i, "w3", 1);
	start(21, 1, "w3");
	start(22, 1, "w3");
	cancel(22);
	is_int(used("w3"), 3, "w3 holds 3");

	memset(hb, 0, sizeof hb);
	hb[0].worker_id = "w3";
	hb[0].at_ms = now + 10;
	hb[1].worker_id = "ghost";
	hb[1].at_ms = now + 10;
	wr = worker(F, "w1");
	w1hb = wr.last_heartbeat_ms;
	worker_rec_fini(&wr);
	hb[2].worker_id = "w1";
	hb[2].at_ms = w1hb - 1;			/* older than the last one */
	memset(&c, 0, sizeof c);
	c.type = CMD_WORKER_HEARTBEAT_BATCH;
	c.heartbeats = hb;
	c.n_heartbeats = 3;
	is_int(run(&c), 0, "heartbeat batch");
	is_int(nev, 0, "no events");
	wr = worker(F, "w3");
	is_int(wr.last_heartbeat_ms, now + 10, "w3 heartbeat recorded");
	worker_rec_fini(&wr);
	wr = worker(F, "w1");
	is_int(wr.last_heartbeat_ms, w1hb, "older heartbeat ignored");
	worker_rec_fini(&wr);

	now += 30000;
	mark();
	is_int(dead("w3", 2), ERR_STALE, "WORKER_DEAD of another generation");
	is_int(dead("ghost", 1), ERR_NOTFOUND, "WORKER_DEAD unknown");
	ok(unchanged(), "nothing changed");
	is_int(dead("w3", 1), 0, "WORKER_DEAD");
	is_int(evcount(FSM_EV_WORKER, NULL, "w3"), 1, "FSM_EV_WORKER");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	ok(st(20) == WL_PENDING && st(21) == WL_PENDING, "its work requeued");
	is_int(st(22), WL_CANCELLED, "cancel-requested one cancelled");
	w = wget(21);
	is_int(w.failures, 0, "no failure counted");
	is_int(w.attempt, 1, "attempt unchanged until reassigned");
	workload_fini(&w);
	wr = worker(F, "w3");
	is_int(wr.status, WORKER_DEAD, "DEAD");
	is_int(wr.used, 0, "used 0");
	worker_rec_fini(&wr);
	mark();
	is_int(dead("w3", 1), 0, "dead again: result 0");
	ok(unchanged(), "nothing changed");
	hb[0].at_ms = now + 99;
	c.n_heartbeats = 1;
	is_int(run(&c), 0, "heartbeat from a dead worker");
	ok(unchanged(), "ignored");
	is_int(assign(20, "w3", 2), 0, "assign to a dead worker");
	is_int(st(20), WL_PENDING, "skipped");
	is_int(start(21, 1, "w3"), ERR_CONFLICT, "START of a requeued attempt");
}

static void
test_register_requeue(void)
{
	struct cmd_attempt	 keep;
	struct worker_rec	 wr;
	struct workload		 w;

	is_int(reg("w3", "sleep", 3, "", NULL, 0), 0, "w3 registers again");
	wr = worker(F, "w3");
	is_int(wr.generation, 2, "generation 2");
	is_int(wr.status, WORKER_ALIVE, "ALIVE again");
	worker_rec_fini(&wr);
	is_int(assign(20, "w3", 2), 0, "assign 20");
	is_int(assign(21, "w3", 2), 0, "assign 21");
	is_int(start(21, 2, "w3"), 0, "start 21");
	is_int(submit1(23, "sleep", 1, TIER_FREE, 0), 0, "submit 23");
	is_int(assign(23, "w3", 1), 0, "assign 23");
	is_int(start(23, 1, "w3"), 0, "start 23");
	is_int(used("w3"), 3, "w3 holds 3");

	memset(&keep, 0, sizeof keep);
	memcpy(keep.workload_id, ids[21], sizeof keep.workload_id);
	keep.attempt = 2;
	is_int(reg("w3", "sleep", 3, "", &keep, 1), 0,
	    "w3 restarts, still running 21");
	is_int(st(21), WL_RUNNING, "reported one keeps running");
	is_int(st(20), WL_SCHEDULED, "SCHEDULED one stays (re-sent)");
	w = wget(23);
	is_int(w.status, WL_PENDING, "lost one requeued");
	is_int(w.failures, 0, "no failure counted");
	workload_fini(&w);
	wr = worker(F, "w3");
	is_int(wr.generation, 3, "generation 3");
	is_int(wr.used, 2, "used recomputed");
	worker_rec_fini(&wr);
	is_int(evcount(FSM_EV_WORKER, NULL, "w3"), 1, "FSM_EV_WORKER");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	is_int(reg("w3", "sleep", 3, "", &keep, 1), 0, "registers once more");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 0,
	    "no FSM_EV_PENDING when nothing requeued");
}

/* Lists with flt into a newly allocated array of all pages of size limit. */
static int
list_all(struct fsm_list_filter *flt, struct workload **out, size_t *n,
    int *pages)
{
	struct workload	*v, *all = NULL, *p;
	char		 cur[FSM_CURSOR_LEN] = "", prev[FSM_CURSOR_LEN];
	size_t		 m, total = 0, i;
	int		 rc;

	*pages = 0;
	do {
		memcpy(prev, cur, sizeof prev);
		flt->cursor = prev;
		if ((rc = fsm_workload_list(F, flt, &v, &m, cur)) != 0)
			break;
		(*pages)++;
		p = realloc(all, (total + m + 1) * sizeof *p);
		if (p == NULL) {
			wl_list_free(v, m);
			rc = ERR_NOMEM;
			break;
		}
		all = p;
		for (i = 0; i < m; i++)
			all[total++] = v[i];
		free(v);
	} while (cur[0] != '\0');
	*out = all;
	*n = total;
	return rc;
}

static int
descending(const struct workload *v, size_t n)
{
	size_t	 i;

	for (i = 1; i < n; i++)
		if (v[i].seq >= v[i - 1].seq)
			return 0;
	return 1;
}

static void
test_list(void)
{
	struct fsm_list_filter	 flt;
	struct workload		 w[25], *v, *all;
	uint64_t		 counts[WL__COUNT], seen[WL__COUNT];
	char			 cur[FSM_CURSOR_LEN];
	size_t			 n, i, nall, total;
	int			 pages, good, s;

	for (i = 0; i < 25; i++)
		wl_init(&w[i], 100 + (int)i, "gamma", i % 2 ? "exec" : "sleep",
		    1, TIER_FREE);
	is_int(submit_v(w, 25), 0, "submit 25 for gamma");
	cancel(100);

	memset(&flt, 0, sizeof flt);
	flt.customer_id = "gamma";
	flt.limit = 10;
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), 0, "first page");
	ok(n == 10 && strcmp(v[0].id, ids[124]) == 0 &&
	    strcmp(v[9].id, ids[115]) == 0, "newest first");
	ok(cur[0] != '\0', "a cursor for the next page (%s)", cur);
	wl_list_free(v, n);
	flt.cursor = cur;
	char c2[FSM_CURSOR_LEN];
	is_int(fsm_workload_list(F, &flt, &v, &n, c2), 0, "second page");
	ok(n == 10 && strcmp(v[0].id, ids[114]) == 0 &&
	    strcmp(v[9].id, ids[105]) == 0, "continues after the cursor");
	wl_list_free(v, n);
	flt.cursor = c2;
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), 0, "third page");
	ok(n == 5 && strcmp(v[0].id, ids[104]) == 0 &&
	    strcmp(v[4].id, ids[100]) == 0, "the rest, across statuses");
	is_str(cur, "", "no cursor on the last page");
	wl_list_free(v, n);

	flt.limit = 5;
	is_int(list_all(&flt, &all, &nall, &pages), 0, "pages of exactly 5");
	ok(nall == 25 && pages == 5 && descending(all, nall),
	    "5 full pages, no empty sixth (%d pages)", pages);
	wl_list_free(all, nall);

	flt.type = "exec";
	flt.limit = 100;
	is_int(list_all(&flt, &all, &nall, &pages), 0, "type filter");
	good = nall == 12 && descending(all, nall);
	for (i = 0; i < nall; i++)
		if (strcmp(all[i].type, "exec") != 0)
			good = 0;
	ok(good, "12 exec, newest first");
	wl_list_free(all, nall);
	flt.type = NULL;
	flt.limit = 3;
	flt.type = "exec";
	is_int(list_all(&flt, &all, &nall, &pages), 0, "type filter, small pages");
	ok(nall == 12 && pages == 4 && descending(all, nall),
	    "filtered pagination");
	wl_list_free(all, nall);
	flt.type = NULL;

	flt.has_status = true;
	flt.status = WL_CANCELLED;
	flt.limit = 100;
	is_int(list_all(&flt, &all, &nall, &pages), 0, "customer + status");
	ok(nall == 1 && strcmp(all[0].id, ids[100]) == 0, "gamma's one CANCELLED");
	wl_list_free(all, nall);

	memset(&flt, 0, sizeof flt);
	flt.has_status = true;
	flt.status = WL_CANCELLED;
	flt.limit = 2;
	is_int(fsm_status_counts(F, counts), 0, "counts");
	is_int(list_all(&flt, &all, &nall, &pages), 0, "status filter");
	good = nall == counts[WL_CANCELLED] && descending(all, nall);
	for (i = 0; i < nall; i++)
		if (all[i].status != WL_CANCELLED)
			good = 0;
	ok(good, "all %zu CANCELLED", nall);
	wl_list_free(all, nall);

	memset(&flt, 0, sizeof flt);
	flt.worker_id = "w3";
	flt.limit = 4;
	is_int(list_all(&flt, &all, &nall, &pages), 0, "worker filter");
	good = nall >= 4 && descending(all, nall);
	for (i = 0; i < nall; i++)
		if (!str_eq(all[i].worker_id, "w3"))
			good = 0;
	ok(good, "%zu on w3", nall);
	wl_list_free(all, nall);

	memset(&flt, 0, sizeof flt);
	flt.limit = 7;
	is_int(list_all(&flt, &all, &nall, &pages), 0, "no filter");
	memset(seen, 0, sizeof seen);
	for (i = 0; i < nall; i++)
		seen[all[i].status]++;
	total = 0;
	good = 1;
	for (s = 0; s < WL__COUNT; s++) {
		total += counts[s];
		if (seen[s] != counts[s])
			good = 0;
	}
	ok(good && total == nall && descending(all, nall),
	    "status counts match a full listing (%zu workloads)", nall);
	wl_list_free(all, nall);

	memset(&flt, 0, sizeof flt);
	flt.limit = 10;
	flt.cursor = "abc";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "cursor abc");
	flt.cursor = "12x";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "cursor 12x");
	flt.cursor = "0";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "cursor 0");
	flt.cursor = "99999999999999999999999";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL,
	    "cursor overflow");
	flt.cursor = "-1";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "cursor -1");
	flt.cursor = NULL;
	flt.limit = 0;
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "limit 0");
	flt.limit = 1001;
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), ERR_INVAL, "limit 1001");
	flt.limit = 1000;
	flt.customer_id = "nobody";
	is_int(fsm_workload_list(F, &flt, &v, &n, cur), 0, "unknown customer");
	ok(n == 0 && cur[0] == '\0', "empty result");
	wl_list_free(v, n);
}

static void
test_audit(void)
{
	static const char *const want[][2] = {
		{ NULL, "PENDING" }, { "PENDING", "SCHEDULED" },
		{ "SCHEDULED", "RUNNING" }, { "RUNNING", "PENDING" },
		{ "PENDING", "SCHEDULED" }, { "SCHEDULED", "RUNNING" },
		{ "RUNNING", "FAILED" },
	};
	struct audit_event	*a;
	size_t			 n, i;
	int			 good = 1;

	is_int(fsm_audit_list(F, ids[3], 100, &a, &n), 0, "audit of 3");
	is_int(n, 7, "its whole life");
	for (i = 0; i < n && i < 7; i++) {
		if (!str_eq(a[i].kind, "status") ||
		    !str_eq(a[i].from, want[i][0]) ||
		    !str_eq(a[i].to, want[i][1]) ||
		    !str_eq(a[i].actor, "tester") ||
		    !str_eq(a[i].request_id, "req-test") ||
		    strcmp(a[i].workload_id, ids[3]) != 0 ||
		    (i > 0 && a[i].seq <= a[i - 1].seq) ||
		    (i > 0 && a[i].at_ms < a[i - 1].at_ms)) {
			tap_diag("event %zu: %s %s -> %s", i, a[i].kind,
			    a[i].from ? a[i].from : "null",
			    a[i].to ? a[i].to : "null");
			good = 0;
		}
	}
	ok(good, "transitions in order, with actor and request id");
	ok(n == 7 && a[6].detail != NULL && strstr(a[6].detail, "boom2"),
	    "failure detail recorded");
	for (i = 0; i < n; i++)
		audit_event_fini(&a[i]);
	free(a);
	is_int(fsm_audit_list(F, ids[3], 2, &a, &n), 0, "limited");
	is_int(n, 2, "limit honoured");
	for (i = 0; i < n; i++)
		audit_event_fini(&a[i]);
	free(a);

	is_int(fsm_audit_list(F, ids[8], 0, &a, &n), 0, "audit of 8");
	good = 0;
	for (i = 0; i < n; i++) {
		if (str_eq(a[i].kind, "cancel") &&
		    str_eq(a[i].detail, "user asked"))
			good = 1;
		audit_event_fini(&a[i]);
	}
	free(a);
	ok(good, "the cancel request is audited");
	is_int(fsm_audit_list(F, ids[199], 0, &a, &n), 0, "unknown workload");
	is_int(n, 0, "no events");
	free(a);
}

static void
test_misc(void)
{
	struct workload	 w;
	int		 res = 123;
	uint64_t	 before = fsm_applied_index(F);

	is_int(before, idx, "applied index tracks the last apply");
	mark();
	is_int(fsm_apply(F, ++idx, "\xc1\x00", 2, &res), 0, "garbage command");
	is_int(res, ERR_INVAL, "rejected with ERR_INVAL");
	is_int(fsm_apply(F, idx - 5, "\xc1", 1, &res), 0, "an old index");
	is_int(res, 0, "skipped, result 0");
	is_int(fsm_applied_index(F), idx, "applied index");
	ok(fsm_flush(F, NULL) == 0 && unchanged(), "nothing changed");
	is_int(fsm_workload_get(F, "not-an-id", &w), ERR_NOTFOUND,
	    "get of a malformed id");
}

/* A reader thread hammering a store while it is restored. */
struct reader {
	struct fsm	*f;
	atomic_int	*stop;
	long		 reads;
	long		 bad;
};

static void *
reader_main(void *arg)
{
	struct reader	*r = arg;
	struct workload	 w;

	while (!atomic_load(r->stop)) {
		if (fsm_workload_get(r->f, ids[2], &w) != 0 ||
		    w.status != WL_COMPLETED)
			r->bad++;
		workload_fini(&w);
		r->reads++;
	}
	return NULL;
}

static void
test_restore_concurrent(struct fsm *g, const void *buf, size_t len)
{
	struct reader	 r[2];
	pthread_t	 th[2];
	struct errbuf	 eb;
	atomic_int	 stop = 0;
	int		 i, good = 1;

	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].f = g;
		r[i].stop = &stop;
		pthread_create(&th[i], NULL, reader_main, &r[i]);
	}
	for (i = 0; i < 5; i++)
		if (fsm_restore(g, buf, len, &eb) != 0)
			good = 0;
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok(good, "five restores while readers run");
	ok(r[0].bad == 0 && r[1].bad == 0,
	    "readers never saw a missing store (%ld reads)",
	    r[0].reads + r[1].reads);
}

static void
test_snapshot(const char *dir2)
{
	struct fsm		*g = NULL;
	struct errbuf		 eb;
	struct api_key		 k;
	void			*buf, *d1, *d2, *data;
	size_t			 len, l1, l2, dlen;
	uint64_t		 seq, gidx;
	uint32_t		 att;
	uint8_t			 h[32];
	uint64_t		 counts[WL__COUNT], total = 0;
	int			 res, s;

	is_int(fsm_snapshot(F, &buf, &len, &eb), 0, "snapshot");
	ok(len > 16 && memcmp(buf, "NYSNAP1", 8) == 0, "snapshot header");
	if (!ok(fsm_open(&g, dir2, 64 << 20, &eb) == 0, "second store opens")) {
		free(buf);
		return;
	}
	is_int(fsm_restore(g, buf, len, &eb), 0, "restore into it");
	is_int(fsm_applied_index(g), idx, "applied index restored");
	test_restore_concurrent(g, buf, len);
	ok(dump(F, &d1, &l1) == 0 && dump(g, &d2, &l2) == 0 && l1 == l2 &&
	    memcmp(d1, d2, l1) == 0, "identical listings, workers, counts");
	free(d1);
	free(d2);
	is_int(fsm_checkpoint_get(g, ids[2], 0, &data, &dlen, &seq, &att), 0,
	    "checkpoint in the copy");
	ok(dlen == 7 && memcmp(data, "state-4", 7) == 0 && seq == 4,
	    "same checkpoint");
	free(data);
	is_int(audit_count(g, 3), 7, "audit in the copy");
	memset(h, 0xab, sizeof h);
	is_int(fsm_key_lookup(g, h, &k), 0, "key in the copy");
	api_key_fini(&k);
	ok(fsm_has_admin_key(g), "admin key in the copy");

	/* The copy keeps applying after the snapshot's index. */
	fsm_status_counts(g, counts);
	for (s = 0; s < WL__COUNT; s++)
		total += counts[s];
	gidx = idx;
	{
		struct cmd	 c;
		struct workload	 w;

		wl_init(&w, 150, "acme", "sleep", 1, TIER_FREE);
		memset(&c, 0, sizeof c);
		c.type = CMD_SUBMIT;
		c.workloads = &w;
		c.n_workloads = 1;
		res = run_on(g, &gidx, &c);
	}
	is_int(res, 0, "apply on the restored store");
	{
		struct workload	 w;

		is_int(fsm_workload_get(g, ids[150], &w), 0, "new one readable");
		is_int(w.seq, total + 1, "seq continues from the snapshot");
		workload_fini(&w);
	}

	/* Bad snapshots leave the store as it was. */
	is_int(fsm_restore(g, "garbage-garbage-garbage", 23, &eb), ERR_CORRUPT,
	    "garbage refused");
	is_int(fsm_restore(g, buf, len / 2, &eb), ERR_CORRUPT,
	    "truncated snapshot refused");
	{
		uint8_t	*bad = malloc(len);

		memcpy(bad, buf, len);
		bad[15] ^= 1;			/* raw size */
		is_int(fsm_restore(g, bad, len, &eb), ERR_CORRUPT,
		    "size mismatch refused");
		free(bad);
	}
	{
		struct workload	 w;

		is_int(fsm_workload_get(g, ids[150], &w), 0,
		    "store still usable after failed restores");
		workload_fini(&w);
	}
	is_int(fsm_applied_index(g), gidx, "applied index kept");
	fsm_close(g);
	free(buf);

	/* A reopened store starts empty: the log is the durable record. */
	is_int(fsm_open(&g, dir2, 64 << 20, &eb), 0, "reopen");
	{
		struct workload	 w;

		is_int(fsm_applied_index(g), 0, "applied index 0");
		is_int(fsm_workload_get(g, ids[150], &w), ERR_NOTFOUND, "empty");
		ok(fsm_status_counts(g, counts) == 0 && counts[WL_PENDING] == 0,
		    "counts zero");
	}
	fsm_close(g);
}

int
main(void)
{
	struct errbuf	 eb;
	const char	*base = getenv("TMPDIR");
	char		 dir2[600];
	int		 i;

	for (i = 0; i < NIDS; i++)
		snprintf(ids[i], sizeof ids[i], "00000000-0000-4000-8000-%012d", i);
	snprintf(tdir, sizeof tdir, "%s/fsm_test.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tdir) == NULL) {
		ok(0, "mkdtemp %s", tdir);
		return tap_done();
	}
	snprintf(dir2, sizeof dir2, "%s/b", tdir);
	mkdir(dir2, 0700);
	is_int(fsm_open(&F, "/nonexistent/dir", 1 << 20, &eb), ERR_IO,
	    "open in a missing directory: ERR_IO");
	if (!ok(fsm_open(&F, tdir, 64 << 20, &eb) == 0, "open")) {
		tap_diag("%s", eb.msg);
		rmtree(tdir);
		return tap_done();
	}
	test_keys();
	test_workers();
	test_submit();
	test_assign();
	test_start_progress();
	test_checkpoint();
	test_complete_success();
	test_retry();
	test_cancel();
	test_worker_dead();
	test_register_requeue();
	test_list();
	test_audit();
	test_misc();
	test_snapshot(dir2);
	fsm_close(F);
	fsm_events_free(ev, nev);
	free(snap_before);
	rmtree(tdir);
	return tap_done();
}
