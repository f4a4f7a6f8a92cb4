/*
 * Unit tests of the state machine: commands are built, encoded with
 * cmd_encode and applied through fsm_apply with increasing indexes exactly
 * as the Raft loop does, then the reads are checked.  Time is a variable
 * (now) carried in each command; nothing here sleeps.  The multi-tenant
 * rules (customers, keys, limits, idempotency, pause/resume, batch cancel,
 * audit queries) are checked the same way, and after every group of them
 * the counters are compared with a full listing of the workloads.
 */
#include "src/fsm.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>
#include <zstd.h>

#include "net/wire.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/model.h"
#include "storage/kv.h"
#include "t/tap.h"

#define CUST_A	"c0000000-0000-4000-8000-00000000000a"
#define CUST_B	"c0000000-0000-4000-8000-00000000000b"
#define CUST_C	"c0000000-0000-4000-8000-00000000000c"
#define CUST_X	"c0000000-0000-4000-8000-0000000000ff"	/* never created */

#define NIDS	400
#define FSM_TEST_BACKOFF_MAX	300000	/* fsm.c's longest retry delay */

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
	/* As a proposer does: created now, queue key by the default policy. */
	w->created_ms = now;
	w->queue_key = workload_queue_key(w, NULL);
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

/* Sends chunk `index` of checkpoint seq: text compressed, cut into
 * nchunks pieces, described by its hash (corrupted if corrupt) and kept
 * newest `keep`. */
static int
checkpoint_chunk(int n, uint32_t attempt, const char *worker, uint64_t seq,
    const char *text, uint32_t nchunks, uint32_t index, bool corrupt,
    uint32_t keep)
{
	struct cmd	 c;
	size_t		 bound = ZSTD_compressBound(strlen(text)), clen, per, off;
	uint8_t		*frame;
	int		 res;

	ref(&c, CMD_CHECKPOINT, n, attempt, worker);
	c.checkpoint_seq = seq;
	c.raw_len = strlen(text);
	c.checkpoint_keep = keep;
	if ((frame = malloc(bound)) == NULL)
		return -1;
	clen = ZSTD_compress(frame, bound, text, strlen(text), 1);
	crypto_generichash(c.blob_hash, sizeof c.blob_hash, frame, clen, NULL, 0);
	if (corrupt)
		frame[clen / 2] ^= 0x5a;
	per = (clen + nchunks - 1) / nchunks;
	off = per * index;
	c.chunk_index = index;
	c.chunk_count = nchunks;
	c.total_len = clen;
	c.data = frame + off;
	c.data_len = index + 1 < nchunks ? per : clen - off;
	res = run(&c);
	free(frame);
	return res;
}

static int
checkpoint(int n, uint32_t attempt, const char *worker, uint64_t seq,
    const char *text)
{
	return checkpoint_chunk(n, attempt, worker, seq, text, 1, 0, false, 0);
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

/* WORKER_DEAD or WORKER_DRAIN of worker id's registration gen. */
static int
worker_cmd(enum cmd_type type, const char *id, uint64_t gen)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = type;
	c.worker_id = (char *)id;
	c.generation = gen;
	return run(&c);
}

static int
dead(const char *id, uint64_t gen)
{
	return worker_cmd(CMD_WORKER_DEAD, id, gen);
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

/* fsm_id_skip_cb passing by the one id arg points at. */
static bool
skip_id(const char *id, void *arg)
{
	return strcmp(id, arg) == 0;
}

static void
wl_list_free(struct workload *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		workload_fini(&v[i]);
	free(v);
}

static void
audit_free(struct audit_event *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		audit_event_fini(&v[i]);
	free(v);
}

/* Every event matching flt, through pages of flt->limit events; *pages
 * counts the calls. */
static int
audit_all(struct fsm *f, struct fsm_audit_filter *flt, struct audit_event **out,
    size_t *n, int *pages)
{
	struct audit_event	*v, *all = NULL, *p;
	char			 cur[FSM_CURSOR_LEN] = "", prev[FSM_CURSOR_LEN];
	size_t			 m, total = 0, i;
	int			 rc;

	*pages = 0;
	do {
		memcpy(prev, cur, sizeof prev);
		flt->cursor = prev;
		if ((rc = fsm_audit_query(f, flt, &v, &m, cur)) != 0)
			break;
		(*pages)++;
		if ((p = realloc(all, (total + m + 1) * sizeof *p)) == NULL) {
			audit_free(v, m);
			rc = ERR_NOMEM;
			break;
		}
		all = p;
		for (i = 0; i < m; i++)
			all[total++] = v[i];
		free(v);
	} while (cur[0] != '\0');
	flt->cursor = NULL;
	*out = all;
	*n = total;
	return rc;
}

/* Customers, their keys, usage, queue depth and the whole audit trail. */
static int
dump_tenancy(struct fsm *f, struct wire_writer *w)
{
	struct fsm_audit_filter	 aflt;
	struct fsm_queue_depth	 q;
	struct fsm_usage	 u;
	struct audit_event	*a;
	struct customer		*cv;
	struct api_key		*kv;
	size_t			 n, nk, i, j;
	int			 rc, pages;

	if ((rc = fsm_customer_list(f, &cv, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		model_customer_encode(w, &cv[i]);
		if (fsm_customer_keys(f, cv[i].id, &kv, &nk) == 0) {
			for (j = 0; j < nk; j++) {
				model_api_key_encode(w, &kv[j]);
				api_key_fini(&kv[j]);
			}
			free(kv);
		}
		if (fsm_customer_usage(f, cv[i].id, &u) == 0) {
			wire_put_uint(w, u.pending);
			wire_put_uint(w, u.active);
		}
		customer_fini(&cv[i]);
	}
	free(cv);
	if ((rc = fsm_queue_depth_get(f, &q)) != 0)
		return rc;
	wire_put_uint(w, q.total);
	for (i = 0; i < TIER__COUNT; i++)
		wire_put_uint(w, q.by_tier[i]);
	for (i = 0; i < q.n_customers; i++) {
		wire_put_str(w, q.by_customer[i].customer_id);
		wire_put_uint(w, q.by_customer[i].pending);
	}
	fsm_queue_depth_fini(&q);
	memset(&aflt, 0, sizeof aflt);
	aflt.limit = 1000;
	if ((rc = audit_all(f, &aflt, &a, &n, &pages)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		wire_put_uint(w, a[i].seq);
		wire_put_uint(w, a[i].at_ms);
		wire_put_str(w, a[i].workload_id);
		wire_put_str(w, a[i].customer_id);
		wire_put_str(w, a[i].kind);
		wire_put_str(w, a[i].from);
		wire_put_str(w, a[i].to);
		wire_put_str(w, a[i].detail);
	}
	audit_free(a, n);
	return 0;
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
	if ((rc = dump_tenancy(f, w)) != 0)
		goto fail;
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

/* Recomputes every counter from a full listing of the workloads and
 * compares: per-customer usage, queue depth (total, by tier, by customer,
 * sorted) and the PENDING status count. */
/* The in-memory holdings of every worker equal what its workloads in the
 * store say: count, types, summed requests. */
static int
holdings_exact(struct fsm *f)
{
	struct worker_rec	*recs;
	struct workload		*on;
	struct strlist		 got, want;
	struct resources	 greq, wreq;
	size_t			 n, n_on, i, j;
	unsigned		 held;
	int			 good = 1;

	if (fsm_worker_list(f, &recs, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		memset(&got, 0, sizeof got);
		memset(&want, 0, sizeof want);
		memset(&wreq, 0, sizeof wreq);
		held = fsm_worker_holdings(f, recs[i].id, &got, &greq);
		if (fsm_worker_workloads(f, recs[i].id, &on, &n_on) != 0) {
			good = 0;
			n_on = 0;
			on = NULL;
		}
		for (j = 0; j < n_on; j++) {
			if (!strlist_contains(&want, on[j].type))
				strlist_add(&want, on[j].type);
			wreq.cpu_millis += on[j].requests.cpu_millis;
			wreq.memory_mb += on[j].requests.memory_mb;
			wreq.gpus += on[j].requests.gpus;
		}
		if (held != n_on || got.n != want.n ||
		    memcmp(&greq, &wreq, sizeof greq) != 0) {
			tap_diag("holdings of %s: %u held, %zu types; the store "
			    "says %zu, %zu", recs[i].id, held, got.n, n_on, want.n);
			good = 0;
		}
		for (j = 0; j < want.n; j++)
			if (!strlist_contains(&got, want.v[j]))
				good = 0;
		strlist_fini(&got);
		strlist_fini(&want);
		wl_list_free(on, n_on);
		worker_rec_fini(&recs[i]);
	}
	free(recs);
	return good;
}

static int
counters_exact(struct fsm *f)
{
	struct fsm_list_filter	 flt;
	struct fsm_queue_depth	 q;
	struct fsm_usage	 u;
	struct strlist		 custs = { NULL, 0 };
	struct workload		*v;
	uint64_t		 pend[NIDS], act[NIDS], tiers[TIER__COUNT];
	uint64_t		 total = 0, counts[WL__COUNT];
	char			 cur[FSM_CURSOR_LEN] = "", prev[FSM_CURSOR_LEN];
	size_t			 n, i, j, withp = 0;
	int			 good = 1;

	memset(pend, 0, sizeof pend);
	memset(act, 0, sizeof act);
	memset(tiers, 0, sizeof tiers);
	do {
		memset(&flt, 0, sizeof flt);
		flt.limit = 100;
		memcpy(prev, cur, sizeof prev);
		flt.cursor = prev;
		if (fsm_workload_list(f, &flt, &v, &n, cur) != 0) {
			strlist_fini(&custs);
			return 0;
		}
		for (i = 0; i < n; i++) {
			for (j = 0; j < custs.n; j++)
				if (strcmp(custs.v[j], v[i].customer_id) == 0)
					break;
			if (j == custs.n)
				strlist_add(&custs, v[i].customer_id);
			if (j >= NIDS)
				continue;
			if (v[i].status == WL_PENDING) {
				pend[j]++;
				tiers[v[i].tier]++;
				total++;
			} else if (wl_status_holds_slot(v[i].status))
				act[j]++;
		}
		wl_list_free(v, n);
	} while (cur[0] != '\0');

	for (j = 0; j < custs.n; j++) {
		if (fsm_customer_usage(f, custs.v[j], &u) != 0 ||
		    u.pending != pend[j] || u.active != act[j]) {
			tap_diag("usage of %s: %llu/%llu, want %llu/%llu",
			    custs.v[j], (unsigned long long)u.pending,
			    (unsigned long long)u.active,
			    (unsigned long long)pend[j], (unsigned long long)act[j]);
			good = 0;
		}
		if (pend[j] > 0)
			withp++;
	}
	if (fsm_customer_usage(f, "nobody-at-all", &u) != 0 || u.pending != 0 ||
	    u.active != 0)
		good = 0;
	if (fsm_queue_depth_get(f, &q) != 0) {
		strlist_fini(&custs);
		return 0;
	}
	if (q.total != total || q.n_customers != withp) {
		tap_diag("queue depth %llu over %zu customers, want %llu over %zu",
		    (unsigned long long)q.total, q.n_customers,
		    (unsigned long long)total, withp);
		good = 0;
	}
	for (i = 0; i < TIER__COUNT; i++)
		if (q.by_tier[i] != tiers[i]) {
			tap_diag("tier %s: %llu, want %llu", tier_name((enum tier)i),
			    (unsigned long long)q.by_tier[i],
			    (unsigned long long)tiers[i]);
			good = 0;
		}
	for (i = 0; i < q.n_customers; i++) {
		if (i > 0 && strcmp(q.by_customer[i - 1].customer_id,
		    q.by_customer[i].customer_id) >= 0)
			good = 0;
		for (j = 0; j < custs.n; j++)
			if (strcmp(custs.v[j], q.by_customer[i].customer_id) == 0)
				break;
		if (j == custs.n || q.by_customer[i].pending != pend[j]) {
			tap_diag("depth of %s wrong", q.by_customer[i].customer_id);
			good = 0;
		}
	}
	fsm_queue_depth_fini(&q);
	if (fsm_status_counts(f, counts) != 0 || counts[WL_PENDING] != total)
		good = 0;
	strlist_fini(&custs);
	return good && holdings_exact(f);
}

static int
cust_create(const char *id, const char *name, enum tier tier, uint32_t mqd,
    int key_n, uint8_t hash_byte)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_CUSTOMER_CREATE;
	snprintf(c.customer.id, sizeof c.customer.id, "%s", id);
	c.customer.name = (char *)name;
	c.customer.tier = tier;
	c.customer.max_queue_depth = mqd;
	c.customer.max_concurrent = 2;
	c.customer.rate_limit_rps = 5;
	memcpy(c.key.id, ids[key_n], sizeof c.key.id);
	c.key.customer_id = (char *)id;
	c.key.role = KEY_ROLE_CUSTOMER;
	memset(c.key.hash, hash_byte, sizeof c.key.hash);
	return run(&c);
}

static int
cust_update(const char *id, uint32_t mask, const struct customer *v)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_CUSTOMER_UPDATE;
	c.customer = *v;
	snprintf(c.customer.id, sizeof c.customer.id, "%s", id);
	c.update_mask = mask;
	return run(&c);
}

static struct customer
cget(const char *id)
{
	struct customer	 cu;

	if (fsm_customer_get(F, id, &cu) != 0)
		memset(&cu, 0, sizeof cu);
	return cu;
}

static int
key_create(int n, const char *cust, enum key_role role, uint8_t hash_byte)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_KEY_CREATE;
	memcpy(c.key.id, ids[n], sizeof c.key.id);
	c.key.customer_id = (char *)cust;
	c.key.role = role;
	memset(c.key.hash, hash_byte, sizeof c.key.hash);
	return run(&c);
}

/* Revokes key ids[n] on behalf of customer by (NULL: an admin). */
static int
key_revoke(int n, const char *by)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = CMD_KEY_REVOKE;
	memcpy(c.key.id, ids[n], sizeof c.key.id);
	c.key.customer_id = (char *)by;
	return run(&c);
}

/* Submits ids[first .. first+count) for cust in one command. */
static int
submit_x(int first, size_t count, const char *cust, enum tier tier,
    const char *idk, uint8_t hash_byte, uint32_t ql, uint32_t gl)
{
	struct workload	 w[32];
	struct cmd	 c;
	size_t		 i;

	for (i = 0; i < count && i < 32; i++)
		wl_init(&w[i], first + (int)i, cust, "sleep", 1, tier);
	memset(&c, 0, sizeof c);
	c.type = CMD_SUBMIT;
	c.workloads = w;
	c.n_workloads = count;
	c.idempotency_key = (char *)idk;
	memset(c.body_hash, hash_byte, sizeof c.body_hash);
	c.queue_limit = ql;
	c.global_limit = gl;
	return run(&c);
}

static int
wl_cmd(enum cmd_type t, int n)
{
	struct cmd	 c;

	memset(&c, 0, sizeof c);
	c.type = t;
	memcpy(c.workload_id, ids[n], sizeof c.workload_id);
	return run(&c);
}

static uint64_t
pending_of(const char *cust)
{
	struct fsm_usage	 u;

	if (fsm_customer_usage(F, cust, &u) != 0)
		return (uint64_t)-1;
	return u.pending;
}

static uint64_t
active_of(const char *cust)
{
	struct fsm_usage	 u;

	if (fsm_customer_usage(F, cust, &u) != 0)
		return (uint64_t)-1;
	return u.active;
}

static uint64_t
total_pending(void)
{
	uint64_t	 counts[WL__COUNT];

	if (fsm_status_counts(F, counts) != 0)
		return (uint64_t)-1;
	return counts[WL_PENDING];
}

/* Audit events of customer cust (all pages of 1000). */
static size_t
audit_count_cust(struct fsm *f, const char *cust)
{
	struct fsm_audit_filter	 flt;
	struct audit_event	*a;
	size_t			 n;
	int			 pages;

	memset(&flt, 0, sizeof flt);
	flt.customer_id = cust;
	flt.limit = 1000;
	if (audit_all(f, &flt, &a, &n, &pages) != 0)
		return (size_t)-1;
	audit_free(a, n);
	return n;
}

/* The newest audit event of customer cust, or a zeroed one. */
static struct audit_event
audit_last_cust(const char *cust)
{
	struct fsm_audit_filter	 flt;
	struct audit_event	*a, last;
	size_t			 n;
	int			 pages;

	memset(&last, 0, sizeof last);
	memset(&flt, 0, sizeof flt);
	flt.customer_id = cust;
	flt.limit = 1000;
	if (audit_all(F, &flt, &a, &n, &pages) != 0)
		return last;
	if (n > 0) {
		last = a[n - 1];
		memset(&a[n - 1], 0, sizeof a[n - 1]);
	}
	audit_free(a, n);
	return last;
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
	is_int(run(&c), ERR_NOTFOUND, "key of a customer that does not exist: "
	    "ERR_NOTFOUND");
	c.key.customer_id = "c0000000-0000-4000-8000-0000000000ff";
	is_int(run(&c), ERR_NOTFOUND, "  nor for a well-formed unknown id");
	c.key.customer_id = MODEL_CUSTOMER_ADMIN;
	is_int(run(&c), ERR_INVAL, "admin key with the customer role: ERR_INVAL");
	c.key.customer_id = "acme";
	c.key.role = KEY_ROLE_ADMIN;
	is_int(run(&c), ERR_INVAL, "customer key with the admin role: ERR_INVAL");
	is_int(fsm_key_lookup(F, other, &k), ERR_NOTFOUND, "none stored");

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

/* Counts the audit events of kind in the whole trail. */
static size_t
audit_count_kind(struct fsm *f, const char *kind)
{
	struct fsm_audit_filter	 flt = { .limit = 1000 };
	struct audit_event	*v = NULL;
	size_t			 n = 0, i, hits = 0;
	int			 pages;

	if (audit_all(f, &flt, &v, &n, &pages) != 0)
		tap_diag("audit query failed");
	for (i = 0; i < n; i++)
		if (v[i].kind != NULL && strcmp(v[i].kind, kind) == 0)
			hits++;
	audit_free(v, n);
	return hits;
}

/* NODE_SET / NODE_REMOVE: the directory followers read the leader's
 * address from. */
static void
test_nodes(void)
{
	struct node_rec	*v = NULL, got;
	struct cmd	 c;
	size_t		 n = 0, i, audits;

	memset(&c, 0, sizeof c);
	c.type = CMD_NODE_SET;
	c.node.id = 2;
	c.node.raft_address = "127.0.0.1:7171";
	c.node.http_url = "http://127.0.0.1:8180";
	c.node.worker_url = "tcp://127.0.0.1:7170";
	c.node.updated_ms = 5;
	is_int(run(&c), 0, "NODE_SET node 2");
	c.node.id = 1;
	c.node.raft_address = "127.0.0.1:7071";
	c.node.http_url = "http://127.0.0.1:8080";
	c.node.worker_url = "tcp://127.0.0.1:7070";
	is_int(run(&c), 0, "NODE_SET node 1");
	audits = audit_count_kind(F, "node");
	is_int((int)audits, 2, "two announcements audited");
	c.node.updated_ms = 9;
	is_int(run(&c), 0, "the same addresses again");
	is_int((int)audit_count_kind(F, "node"), (int)audits,
	    "an unchanged announcement leaves no audit event");
	is_int(fsm_node_list(F, &v, &n), 0, "node list");
	is_int((int)n, 2, "two nodes");
	ok(n == 2 && v[0].id == 1 && v[1].id == 2, "listed by id");
	ok(n == 2 && strcmp(v[1].http_url, "http://127.0.0.1:8180") == 0 &&
	    strcmp(v[1].worker_url, "tcp://127.0.0.1:7170") == 0 &&
	    strcmp(v[1].raft_address, "127.0.0.1:7171") == 0,
	    "addresses kept");
	for (i = 0; i < n; i++)
		node_rec_fini(&v[i]);
	free(v);

	c.node.http_url = "http://10.1.1.1:8080";
	is_int(run(&c), 0, "node 1 moves");
	is_int(fsm_node_get(F, 1, &got), 0, "node 1 read");
	ok(got.http_url != NULL && strcmp(got.http_url, "http://10.1.1.1:8080") == 0,
	    "the new address replaces the old");
	node_rec_fini(&got);
	is_int(fsm_node_get(F, 7, &got), ERR_NOTFOUND, "unknown node: ERR_NOTFOUND");

	memset(&c, 0, sizeof c);
	c.type = CMD_NODE_REMOVE;
	c.node.id = 2;
	is_int(run(&c), 0, "NODE_REMOVE node 2");
	is_int(fsm_node_get(F, 2, &got), ERR_NOTFOUND, "node 2 gone");
	is_int(run(&c), ERR_NOTFOUND, "removing it again: ERR_NOTFOUND");
	is_int(fsm_node_list(F, &v, &n), 0, "node list after removal");
	is_int((int)n, 1, "one node left");
	for (i = 0; i < n; i++)
		node_rec_fini(&v[i]);
	free(v);
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
	is_int(submit_v(w, 4), ERR_INVAL, "SUBMIT for two customers: ERR_INVAL");
	is_int(st(1), -1, "  nothing stored");
	is_int(submit_v(w, 2), 0, "SUBMIT of two for acme");
	is_int(nev, 1, "one event per command");
	is_int(submit_v(w + 2, 2), 0, "SUBMIT of two for beta");
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

	is_int(fsm_pending_scan(F, 10, NULL, NULL, &v, &n), 0, "pending scan");
	ok(n == 4 && strcmp(v[0].id, ids[2]) == 0 &&
	    strcmp(v[1].id, ids[4]) == 0 && strcmp(v[2].id, ids[3]) == 0 &&
	    strcmp(v[3].id, ids[1]) == 0,
	    "queue order: priority x tier, then FIFO");
	wl_list_free(v, n);
	is_int(fsm_pending_scan(F, 2, NULL, NULL, &v, &n), 0, "pending scan, max 2");
	is_int(n, 2, "at most max");
	wl_list_free(v, n);
	is_int(fsm_pending_scan(F, 2, skip_id, ids[4], &v, &n), 0,
	    "pending scan, max 2, passing one by");
	ok(n == 2 && strcmp(v[0].id, ids[2]) == 0 && strcmp(v[1].id, ids[3]) == 0,
	    "the one passed by is not returned and does not count toward max");
	wl_list_free(v, n);
	{
		struct fsm_pending_read	*r;

		v = NULL;
		n = 0;
		is_int(fsm_pending_read_open(F, NULL, NULL, &r), 0,
		    "pending read in steps: open");
		is_int(fsm_pending_read_more(r, 1, &v, &n), 0, "  step of 1");
		is_int(n, 1, "  one read");
		is_int(fsm_pending_read_more(r, 2, &v, &n), 0, "  step of 2");
		is_int(fsm_pending_read_more(r, 10, &v, &n), 0, "  step of 10");
		ok(n == 4 && strcmp(v[0].id, ids[2]) == 0 &&
		    strcmp(v[1].id, ids[4]) == 0 && strcmp(v[2].id, ids[3]) == 0 &&
		    strcmp(v[3].id, ids[1]) == 0,
		    "  the steps read the queue in order, each entry once");
		is_int(fsm_pending_read_more(r, 10, &v, &n), 0, "  past the end");
		is_int(n, 4, "  nothing more");
		fsm_pending_read_close(r);
		wl_list_free(v, n);
	}
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
		struct fsm_slot	*sl;
		size_t		 ns;

		is_int(fsm_worker_slot_list(F, "w1", &sl, &ns), 0,
		    "slot list of w1");
		ok(ns == 2 && sl[0].attempt == 1 && sl[1].attempt == 1 &&
		    ((strcmp(sl[0].id, ids[2]) == 0 && strcmp(sl[1].id, ids[4]) == 0) ||
		    (strcmp(sl[0].id, ids[4]) == 0 && strcmp(sl[1].id, ids[2]) == 0)),
		    "the index alone names 2 and 4, each with attempt 1");
		free(sl);
		is_int(fsm_worker_slot_list(F, "nope", &sl, &ns), 0,
		    "slot list of an unknown worker");
		is_int(ns, 0, "is empty");
		free(sl);
	}
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

/* Checkpoints of several chunks: staged, committed only when whole and
 * matching their hash; run on workload 2 (RUNNING, attempt 1, on w1) whose
 * latest checkpoint is 4. */
static void
test_checkpoint_chunks(void)
{
	static const char	 big[] = "chunked state: 0123456789abcdefghij"
	    "klmnopqrstuvwxyz, more than a few bytes so that it cuts in three";
	void			*data;
	size_t			 len;
	uint64_t		 seq;
	uint32_t		 att;
	struct checkpoint_info	*list;
	size_t			 n;

	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 3, 2, false, 0), 0,
	    "chunk 2 of 3 staged");
	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 3, 0, false, 0), 0,
	    "chunk 0 of 3 staged");
	is_int(fsm_checkpoint_get(F, ids[2], 0, &data, &len, &seq, &att), 0,
	    "latest still readable");
	is_int(seq, 4, "a partial checkpoint is never offered");
	free(data);
	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 4, 1, false, 0), ERR_INVAL,
	    "a chunk disagreeing about the chunk count: ERR_INVAL");
	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 100000, 1, false, 0),
	    ERR_INVAL, "more chunks than bytes: ERR_INVAL");
	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 3, 1, true, 0), ERR_INVAL,
	    "the last chunk of a corrupt frame: ERR_INVAL");
	is_int(fsm_checkpoint_get(F, ids[2], 0, &data, &len, &seq, &att), 0,
	    "latest readable after the corrupt one");
	is_int(seq, 4, "the corrupt checkpoint was not committed");
	free(data);
	is_int(checkpoint_chunk(2, 1, "w1", 5, big, 3, 1, false, 0), 0,
	    "the good last chunk commits");
	is_int(fsm_checkpoint_get(F, ids[2], 0, &data, &len, &seq, &att), 0,
	    "latest after the commit");
	ok(seq == 5 && len == strlen(big) && memcmp(data, big, len) == 0,
	    "the whole checkpoint comes back, in order");
	free(data);

	is_int(checkpoint_chunk(2, 1, "w1", 6, "six", 1, 0, false, 2), 0,
	    "a checkpoint kept with keep 2");
	is_int(fsm_checkpoint_list(F, ids[2], &list, &n), 0, "list");
	ok(n == 2 && list[0].seq == 5 && list[1].seq == 6,
	    "only the newest 2 remain, oldest first");
	ok(n == 2 && list[1].attempt == 1 && list[1].size == 3 &&
	    list[1].compressed_size > 0 && list[1].at_ms == now,
	    "listing fields");
	free(list);
	is_int(fsm_checkpoint_list(F, ids[4], &list, &n), 0, "list of another");
	ok(n == 0 && list == NULL, "which has none");
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
	test_checkpoint_chunks();
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

static int
drain(const char *id, uint64_t gen)
{
	return worker_cmd(CMD_WORKER_DRAIN, id, gen);
}

/* The pending index orders by queue key: a free workload that waited long
 * enough ranks above an enterprise one submitted later (aging, 5 per
 * minute by default: (100 × 100 − 100 × 1) / 5 = 1980 minutes). */
static void
test_queue_aging(void)
{
	struct workload	 w, *v = NULL;
	uint64_t	 t0 = now;
	size_t		 n = 0, i, at_free = SIZE_MAX, at_ent = SIZE_MAX;

	wl_init(&w, 390, "acme", "never-runs", 100, TIER_FREE);
	is_int(submit_v(&w, 1), 0, "a free workload");
	now = t0 + 1979ULL * 60000;
	wl_init(&w, 391, "acme", "never-runs", 100, TIER_ENTERPRISE);
	is_int(submit_v(&w, 1), 0, "an enterprise one 1979 minutes later");
	now = t0 + 1981ULL * 60000;
	wl_init(&w, 392, "acme", "never-runs", 100, TIER_ENTERPRISE);
	is_int(submit_v(&w, 1), 0, "and one 1981 minutes later");
	is_int(fsm_pending_scan(F, 1000, NULL, NULL, &v, &n), 0, "pending scan");
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, ids[390]) == 0)
			at_free = i;
		else if (strcmp(v[i].id, ids[391]) == 0)
			at_ent = i;
	}
	ok(at_ent < at_free, "the enterprise one within the bound goes first");
	for (i = 0; i < n && strcmp(v[i].id, ids[392]) != 0; i++)
		;
	ok(i < n && at_free < i, "the free one goes before the one past it");
	for (i = 0; i < n; i++)
		workload_fini(&v[i]);
	free(v);
	for (i = 390; i <= 392; i++)
		cancel((int)i);
	now = t0;
}

static int
preempt(int n, uint32_t attempt, const char *worker, uint32_t limit)
{
	struct cmd	 c;

	ref(&c, CMD_PREEMPT, n, attempt, worker);
	c.preempt_limit = limit;
	return run(&c);
}

/* PREEMPT: RUNNING -> PAUSING; the stop it causes makes it PENDING (not
 * PAUSED) with one more preemption; the limit refuses a further one; a
 * user's pause during a preemption wins. */
static void
test_preempt(void)
{
	struct workload	 w;

	is_int(reg("w8", "sleep", 2, "", NULL, 0), 0, "register w8");
	submit1(385, "sleep", 1, TIER_FREE, 0);
	submit1(386, "sleep", 1, TIER_FREE, 0);
	assign(385, "w8", 1);
	assign(386, "w8", 1);
	start(385, 1, "w8");
	is_int(preempt(386, 1, "w8", 3), ERR_CONFLICT, "a SCHEDULED one: conflict");
	is_int(preempt(385, 2, "w8", 3), ERR_STALE, "another attempt: stale");
	is_int(preempt(385, 1, "w8", 3), 0, "PREEMPT a RUNNING one");
	is_int(st(385), WL_PAUSING, "PAUSING");
	is_int(evcount(FSM_EV_STOP, ids[385], "w8"), 1, "its worker is told to stop");
	is_int(complete(385, 1, "w8", OUTCOME_CANCELLED, NULL), 0,
	    "the worker reports it stopped");
	w = wget(385);
	is_int(w.status, WL_PENDING, "back to PENDING, not PAUSED");
	is_int(w.preemptions, 1, "one preemption counted");
	is_int(w.failures, 0, "not a failure");
	ok(!w.preempting, "no longer preempting");
	workload_fini(&w);
	is_int(used("w8"), 1, "its slot is free");

	assign(385, "w8", 2);
	start(385, 2, "w8");
	is_int(preempt(385, 2, "w8", 1), ERR_CONFLICT,
	    "preempted once already, limit 1: refused");
	is_int(preempt(385, 2, "w8", 3), 0, "limit 3: preempted again");
	is_int(wl_cmd(CMD_PAUSE, 385), 0, "a user's pause meanwhile");
	is_int(complete(385, 2, "w8", OUTCOME_CANCELLED, NULL), 0, "it stops");
	w = wget(385);
	is_int(w.status, WL_PAUSED, "the pause wins: PAUSED");
	is_int(w.preemptions, 1, "the interrupted preemption is not counted");
	workload_fini(&w);
	cancel(385);
	cancel(386);
}

/* A draining worker keeps what it runs, gives back what it has not
 * started, and is placed nothing more. */
static void
test_worker_drain(void)
{
	struct worker_rec	 wr;
	int			 i;

	is_int(reg("w9", "sleep", 3, "", NULL, 0), 0, "register w9");
	for (i = 380; i <= 382; i++)
		submit1(i, "sleep", 1, TIER_FREE, 0);
	assign(380, "w9", 1);
	assign(381, "w9", 1);
	is_int(start(380, 1, "w9"), 0, "380 runs on w9");
	mark();
	is_int(drain("w9", 2), ERR_STALE, "DRAIN of another generation");
	is_int(drain("ghost", 1), ERR_NOTFOUND, "DRAIN of an unknown worker");
	ok(unchanged(), "refused drains changed nothing");
	is_int(drain("w9", 1), 0, "DRAIN");
	is_int(evcount(FSM_EV_WORKER, NULL, "w9"), 1, "FSM_EV_WORKER");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 1, "FSM_EV_PENDING");
	is_int(st(380), WL_RUNNING, "the running one keeps running");
	is_int(st(381), WL_PENDING, "the one not started is requeued");
	wr = worker(F, "w9");
	is_int(wr.status, WORKER_DRAINING, "DRAINING");
	is_int(wr.used, 1, "holds only the running one");
	worker_rec_fini(&wr);
	mark();
	is_int(drain("w9", 1), 0, "DRAIN again: result 0");
	ok(unchanged(), "nothing changed");
	is_int(assign(382, "w9", 1), 0, "assign to a draining worker");
	is_int(st(382), WL_PENDING, "skipped");
	is_int(complete(380, 1, "w9", OUTCOME_ABANDONED, NULL), 0,
	    "the running one is handed back");
	is_int(st(380), WL_PENDING, "and requeued");
	is_int(used("w9"), 0, "w9 holds nothing");
	is_int(dead("w9", 1), 0, "then it goes away");
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

static void
test_customers(void)
{
	struct customer		 cu, up;
	struct customer		*cv;
	struct api_key		 k, *kv;
	struct audit_event	 a;
	struct cmd		 c;
	uint8_t			 h[32];
	char			 longname[MODEL_NAME_MAX + 2];
	size_t			 n, na;
	uint64_t		 t_a;

	now += 1000;
	t_a = now;
	is_int(cust_create(CUST_A, "Acme Corp.", TIER_PREMIUM, 10, 300, 0xa1), 0,
	    "CUSTOMER_CREATE");
	is_int(nev, 0, "no events");
	cu = cget(CUST_A);
	is_str(cu.name, "Acme Corp.", "name stored");
	is_int(cu.tier, TIER_PREMIUM, "tier");
	ok(cu.max_queue_depth == 10 && cu.max_concurrent == 2 &&
	    cu.rate_limit_rps == 5, "limits");
	ok(cu.created_ms == now && cu.updated_ms == now, "created_ms = updated_ms = now");
	customer_fini(&cu);
	memset(h, 0xa1, sizeof h);
	if (is_int(fsm_key_lookup(F, h, &k), 0, "its first key authenticates")) {
		is_str(k.customer_id, CUST_A, "  for the customer");
		is_int(k.role, KEY_ROLE_CUSTOMER, "  with the customer role");
		api_key_fini(&k);
	}
	if (is_int(fsm_key_get(F, ids[300], &k), 0, "key by id")) {
		ok(!k.revoked && k.created_ms == now, "  not revoked, created now");
		api_key_fini(&k);
	}
	is_int(audit_count_cust(F, CUST_A), 2, "two audit events for the customer");
	a = audit_last_cust(CUST_A);
	ok(str_eq(a.kind, "key") && str_eq(a.customer_id, CUST_A),
	    "  the key's, with the customer id");
	audit_event_fini(&a);
	{
		struct fsm_audit_filter	 flt;
		struct audit_event	*v;
		char			 cur[FSM_CURSOR_LEN];

		memset(&flt, 0, sizeof flt);
		flt.customer_id = CUST_A;
		flt.limit = 1;
		if (is_int(fsm_audit_query(F, &flt, &v, &na, cur), 0,
		    "first audit event") && na == 1) {
			ok(str_eq(v[0].kind, "customer") && str_eq(v[0].to, "created") &&
			    str_eq(v[0].customer_id, CUST_A) && v[0].workload_id[0] == '\0',
			    "  kind customer, to created");
			ok(v[0].detail && strstr(v[0].detail, "premium") &&
			    strstr(v[0].detail, "max_queue_depth 10") &&
			    strstr(v[0].detail, "rate_limit_rps 5"),
			    "  detail names tier and limits (%s)", v[0].detail);
			audit_free(v, na);
		}
	}

	/* Every refusal changes nothing. */
	mark();
	is_int(cust_create(CUST_A, "Other", TIER_FREE, 0, 301, 0xa2), ERR_EXISTS,
	    "same id: ERR_EXISTS");
	is_int(cust_create(CUST_B, "Acme Corp.", TIER_FREE, 0, 301, 0xa2),
	    ERR_EXISTS, "same name: ERR_EXISTS");
	is_int(cust_create(CUST_B, "Beta", TIER_FREE, 0, 300, 0xa2), ERR_EXISTS,
	    "key id taken: ERR_EXISTS");
	is_int(cust_create(CUST_B, "Beta", TIER_FREE, 0, 301, 0xa1), ERR_EXISTS,
	    "key hash taken: ERR_EXISTS");
	is_int(cust_create("admin", "Beta", TIER_FREE, 0, 301, 0xa2), ERR_INVAL,
	    "id that is not a UUID: ERR_INVAL");
	is_int(cust_create("zzzzzzzz-0000-4000-8000-00000000000b", "Beta",
	    TIER_FREE, 0, 301, 0xa2), ERR_INVAL, "36 chars, not hex: ERR_INVAL");
	is_int(cust_create(CUST_B, "tab\there", TIER_FREE, 0, 301, 0xa2),
	    ERR_INVAL, "control character in the name: ERR_INVAL");
	is_int(cust_create(CUST_B, "caf\xc3\xa9", TIER_FREE, 0, 301, 0xa2),
	    ERR_INVAL, "non-ASCII name: ERR_INVAL");
	memset(longname, 'n', MODEL_NAME_MAX + 1);
	longname[MODEL_NAME_MAX + 1] = '\0';
	is_int(cust_create(CUST_B, longname, TIER_FREE, 0, 301, 0xa2), ERR_INVAL,
	    "129-char name: ERR_INVAL");
	memset(&c, 0, sizeof c);
	c.type = CMD_CUSTOMER_CREATE;
	memcpy(c.customer.id, CUST_B, sizeof c.customer.id);
	c.customer.name = "Beta";
	memcpy(c.key.id, ids[301], sizeof c.key.id);
	c.key.customer_id = CUST_A;
	c.key.role = KEY_ROLE_CUSTOMER;
	memset(c.key.hash, 0xa2, sizeof c.key.hash);
	is_int(run(&c), ERR_INVAL, "first key of another customer: ERR_INVAL");
	c.key.customer_id = CUST_B;
	c.key.role = KEY_ROLE_ADMIN;
	is_int(run(&c), ERR_INVAL, "first key with the admin role: ERR_INVAL");
	is_int(nev, 0, "no events");
	ok(unchanged(), "refused creations changed nothing");
	is_int(fsm_customer_get(F, CUST_B, &cu), ERR_NOTFOUND, "B not created");
	is_int(fsm_key_get(F, ids[301], &k), ERR_NOTFOUND, "nor its key");
	is_int(audit_count_cust(F, CUST_B), 0, "nor audited");

	/* The name is free again once the first one was taken... under its
	 * exact spelling only. */
	now += 1;
	longname[MODEL_NAME_MAX] = '\0';
	is_int(cust_create(CUST_B, longname, TIER_FREE, 0, 301, 0xa2), 0,
	    "128-char name accepted");
	now += 1;
	is_int(cust_create(CUST_C, "acme corp.", TIER_STANDARD, 0, 302, 0xa3), 0,
	    "names are case-sensitive");
	is_int(fsm_customer_list(F, &cv, &n), 0, "customer list");
	ok(n == 3 && strcmp(cv[0].id, CUST_A) == 0 && strcmp(cv[1].id, CUST_B) == 0 &&
	    strcmp(cv[2].id, CUST_C) == 0, "oldest first");
	while (n > 0)
		customer_fini(&cv[--n]);
	free(cv);
	is_int(fsm_customer_get(F, CUST_X, &cu), ERR_NOTFOUND, "unknown customer");
	is_int(fsm_customer_get(F, "admin", &cu), ERR_NOTFOUND, "malformed id");
	is_int(fsm_customer_get(F, NULL, &cu), ERR_NOTFOUND, "NULL id");

	/* CUSTOMER_UPDATE applies only the masked fields. */
	now += 100;
	memset(&up, 0, sizeof up);
	up.tier = TIER_ENTERPRISE;
	up.max_queue_depth = 20;
	up.max_concurrent = 99;			/* not in the mask */
	up.name = "ignored";			/* not in the mask */
	is_int(cust_update(CUST_A, CMD_UPDATE_TIER | CMD_UPDATE_MAX_QUEUE_DEPTH,
	    &up), 0, "CUSTOMER_UPDATE of tier and queue depth");
	cu = cget(CUST_A);
	ok(cu.tier == TIER_ENTERPRISE && cu.max_queue_depth == 20,
	    "masked fields applied");
	ok(cu.max_concurrent == 2 && str_eq(cu.name, "Acme Corp.") &&
	    cu.rate_limit_rps == 5, "others kept");
	ok(cu.updated_ms == now && cu.created_ms == t_a, "updated_ms moved, "
	    "created_ms kept");
	customer_fini(&cu);
	a = audit_last_cust(CUST_A);
	ok(str_eq(a.kind, "customer") && str_eq(a.to, "updated") && a.detail &&
	    strstr(a.detail, "tier premium->enterprise") &&
	    strstr(a.detail, "max_queue_depth 10->20") &&
	    !strstr(a.detail, "max_concurrent"), "audit lists old->new (%s)",
	    a.detail ? a.detail : "null");
	audit_event_fini(&a);
	up.max_concurrent = 0;
	up.rate_limit_rps = 1000;
	is_int(cust_update(CUST_A, CMD_UPDATE_MAX_CONCURRENT |
	    CMD_UPDATE_RATE_LIMIT, &up), 0, "update concurrency and rate");
	cu = cget(CUST_A);
	ok(cu.max_concurrent == 0 && cu.rate_limit_rps == 1000 &&
	    cu.max_queue_depth == 20, "applied");
	customer_fini(&cu);

	mark();
	up.name = "acme corp.";
	is_int(cust_update(CUST_A, CMD_UPDATE_NAME, &up), ERR_EXISTS,
	    "rename to a taken name: ERR_EXISTS");
	up.name = "bad\x01name";
	is_int(cust_update(CUST_A, CMD_UPDATE_NAME, &up), ERR_INVAL,
	    "rename to a bad name: ERR_INVAL");
	up.name = "Whatever";
	is_int(cust_update(CUST_X, CMD_UPDATE_NAME, &up), ERR_NOTFOUND,
	    "update of an unknown customer: ERR_NOTFOUND");
	ok(unchanged(), "refused updates changed nothing");
	up.name = "Acme Corp.";
	is_int(cust_update(CUST_A, CMD_UPDATE_NAME, &up), 0,
	    "rename to its own name");
	a = audit_last_cust(CUST_A);
	is_str(a.detail, "no change", "  audited as no change");
	audit_event_fini(&a);
	up.name = "Acme Two";
	is_int(cust_update(CUST_A, CMD_UPDATE_NAME, &up), 0, "rename");
	cu = cget(CUST_A);
	is_str(cu.name, "Acme Two", "new name");
	customer_fini(&cu);
	a = audit_last_cust(CUST_A);
	ok(a.detail && strstr(a.detail, "name \"Acme Corp.\"->\"Acme Two\""),
	    "rename audited (%s)", a.detail ? a.detail : "null");
	audit_event_fini(&a);
	now += 1;
	is_int(cust_create(CUST_X, "Acme Corp.", TIER_FREE, 0, 303, 0xa4), 0,
	    "the old name is free again");
	up.name = "Acme Two";
	is_int(cust_update(CUST_X, CMD_UPDATE_NAME, &up), ERR_EXISTS,
	    "the new name is taken");

	/* KEY_CREATE for customers: rotation. */
	now += 10;
	is_int(key_create(304, CUST_A, KEY_ROLE_ADMIN, 0xa5), ERR_INVAL,
	    "admin role for a customer: ERR_INVAL");
	is_int(key_create(304, "c0000000-0000-4000-8000-0000000000ee",
	    KEY_ROLE_CUSTOMER, 0xa5), ERR_NOTFOUND, "unknown customer: ERR_NOTFOUND");
	na = audit_count_cust(F, CUST_A);
	is_int(key_create(304, CUST_A, KEY_ROLE_CUSTOMER, 0xa5), 0,
	    "second key for A");
	is_int(audit_count_cust(F, CUST_A), na + 1, "audited for A");
	is_int(fsm_customer_keys(F, CUST_A, &kv, &n), 0, "keys of A");
	ok(n == 2 && strcmp(kv[0].id, ids[300]) == 0 &&
	    strcmp(kv[1].id, ids[304]) == 0, "both, oldest first");
	while (n > 0)
		api_key_fini(&kv[--n]);
	free(kv);
	is_int(fsm_customer_keys(F, CUST_X, &kv, &n), 0, "keys of X");
	ok(n == 1 && strcmp(kv[0].id, ids[303]) == 0, "its one key");
	while (n > 0)
		api_key_fini(&kv[--n]);
	free(kv);
	is_int(fsm_customer_keys(F, "c0000000-0000-4000-8000-0000000000ee", &kv,
	    &n), 0, "keys of nobody");
	is_int(n, 0, "none");
	free(kv);
	is_int(fsm_customer_keys(F, MODEL_CUSTOMER_ADMIN, &kv, &n), 0,
	    "keys of admin");
	ok(n == 1 && kv[0].role == KEY_ROLE_ADMIN, "the admin key");
	while (n > 0)
		api_key_fini(&kv[--n]);
	free(kv);

	/* KEY_REVOKE. */
	mark();
	is_int(key_revoke(300, CUST_B), ERR_NOTFOUND,
	    "revoke by another customer: ERR_NOTFOUND");
	is_int(key_revoke(305, NULL), ERR_NOTFOUND, "revoke of an unknown key");
	ok(unchanged(), "refused revocations changed nothing");
	na = audit_count_cust(F, CUST_A);
	is_int(key_revoke(300, CUST_A), 0, "A revokes its first key");
	memset(h, 0xa1, sizeof h);
	is_int(fsm_key_lookup(F, h, &k), ERR_NOTFOUND,
	    "it no longer authenticates");
	if (is_int(fsm_key_get(F, ids[300], &k), 0, "still readable by id")) {
		ok(k.revoked, "  revoked");
		api_key_fini(&k);
	}
	memset(h, 0xa5, sizeof h);
	is_int(fsm_key_lookup(F, h, &k), 0, "the rotated key still works");
	api_key_fini(&k);
	is_int(audit_count_cust(F, CUST_A), na + 1, "revocation audited");
	a = audit_last_cust(CUST_A);
	ok(str_eq(a.kind, "key") && str_eq(a.to, "revoked") && a.detail &&
	    strstr(a.detail, "revoked") && strstr(a.detail, ids[300]),
	    "  kind key, revoked");
	audit_event_fini(&a);
	mark();
	is_int(key_revoke(300, CUST_A), 0, "revoke again: result 0");
	ok(unchanged(), "  nothing changed");
	is_int(audit_count_cust(F, CUST_A), na + 1, "  nor audited");
	is_int(key_revoke(303, NULL), 0, "an admin revokes X's key");
	is_int(fsm_customer_keys(F, CUST_A, &kv, &n), 0, "keys of A");
	ok(n == 2 && kv[0].revoked && !kv[1].revoked, "revoked ones listed too");
	while (n > 0)
		api_key_fini(&kv[--n]);
	free(kv);
	ok(fsm_has_admin_key(F), "admin key untouched");
	is_int(fsm_key_get(F, "nope", &k), ERR_NOTFOUND, "key_get of a bad id");
	ok(counters_exact(F), "counters exact");
}

static void
test_limits(void)
{
	struct fsm_queue_depth	 q;
	uint64_t		 tp;
	size_t			 i;

	now += 1000;
	is_int(pending_of(CUST_A), 0, "A has nothing pending");
	is_int(submit_x(200, 3, CUST_A, TIER_PREMIUM, NULL, 0, 3, 0), 0,
	    "3 for A, limit 3: exactly at the limit");
	is_int(pending_of(CUST_A), 3, "A: 3 pending");
	mark();
	is_int(submit_x(203, 1, CUST_A, TIER_PREMIUM, NULL, 0, 3, 0),
	    ERR_QUEUEFULL, "one more, limit 3: ERR_QUEUEFULL");
	is_int(submit_x(203, 2, CUST_A, TIER_PREMIUM, NULL, 0, 4, 0),
	    ERR_QUEUEFULL, "two more, limit 4: ERR_QUEUEFULL");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing stored");
	is_int(st(203), -1, "the refused one does not exist");
	is_int(submit_x(203, 1, CUST_A, TIER_PREMIUM, NULL, 0, 4, 0), 0,
	    "one more, limit 4");
	is_int(pending_of(CUST_A), 4, "A: 4 pending");
	is_int(submit_x(204, 1, CUST_B, TIER_FREE, NULL, 0, 1, 0), 0,
	    "limits are per customer");
	is_int(pending_of(CUST_B), 1, "B: 1 pending");

	tp = total_pending();
	mark();
	is_int(submit_x(205, 2, CUST_B, TIER_FREE, NULL, 0, 0, (uint32_t)tp + 1),
	    ERR_OVERLOADED, "global limit total + 1, two more: ERR_OVERLOADED");
	is_int(submit_x(205, 2, CUST_B, TIER_FREE, NULL, 0, 1, (uint32_t)tp + 100),
	    ERR_QUEUEFULL, "customer limit checked too");
	ok(unchanged(), "nothing stored");
	is_int(submit_x(205, 2, CUST_B, TIER_FREE, NULL, 0, 0, (uint32_t)tp + 2),
	    0, "global limit total + 2, two more: accepted");
	is_int(total_pending(), tp + 2, "total pending");

	/* Workloads of one command must share a customer. */
	{
		struct workload	 w[2];

		mark();
		wl_init(&w[0], 207, CUST_A, "sleep", 1, TIER_FREE);
		wl_init(&w[1], 208, CUST_B, "sleep", 1, TIER_FREE);
		is_int(submit_v(w, 2), ERR_INVAL, "mixed customers: ERR_INVAL");
		ok(unchanged(), "nothing stored");
	}

	/* Queue depth by tier and customer. */
	is_int(fsm_queue_depth_get(F, &q), 0, "queue depth");
	is_int(q.total, total_pending(), "total");
	{
		int	 seen_a = 0, seen_b = 0;

		for (i = 0; i < q.n_customers; i++) {
			if (strcmp(q.by_customer[i].customer_id, CUST_A) == 0)
				seen_a = q.by_customer[i].pending == 4;
			if (strcmp(q.by_customer[i].customer_id, CUST_B) == 0)
				seen_b = q.by_customer[i].pending == 3;
		}
		ok(seen_a && seen_b, "A 4, B 3");
	}
	tp = q.by_tier[TIER_PREMIUM];
	fsm_queue_depth_fini(&q);
	is_int(submit_x(209, 2, "tier-co", TIER_PREMIUM, NULL, 0, 0, 0), 0,
	    "two premium more");
	is_int(fsm_queue_depth_get(F, &q), 0, "queue depth");
	is_int(q.by_tier[TIER_PREMIUM], tp + 2, "premium grew by 2");
	fsm_queue_depth_fini(&q);
	is_int(cancel(209), 0, "cancel one");
	is_int(fsm_queue_depth_get(F, &q), 0, "queue depth");
	is_int(q.by_tier[TIER_PREMIUM], tp + 1, "premium shrank by 1");
	fsm_queue_depth_fini(&q);
	ok(counters_exact(F), "counters exact");
	{
		struct fsm_usage	 u;

		is_int(fsm_customer_usage(F, NULL, &u), ERR_INVAL, "usage of NULL");
		is_int(fsm_customer_usage(F, MODEL_CUSTOMER_ADMIN, &u), 0,
		    "usage of admin");
		ok(u.pending == 0 && u.active == 0, "  nothing");
	}
}

static void
test_idempotency(void)
{
	struct fsm_idempotency	 r;
	struct workload		 w;
	uint64_t		 t0;
	char			 key[FSM_CURSOR_LEN + 300];
	int			 i, found;

	now += 1000;
	t0 = now;
	is_int(submit_x(320, 1, CUST_A, TIER_FREE, "order-1", 0x11, 0, 0), 0,
	    "SUBMIT with an idempotency key");
	if (is_int(fsm_idempotency_get(F, CUST_A, "order-1", now, &r), 0,
	    "remembered")) {
		is_str(r.workload_id, ids[320], "  its workload");
		ok(r.body_hash[0] == 0x11 && r.body_hash[31] == 0x11, "  body hash");
		is_int(r.at_ms, t0, "  at now");
	}
	is_int(fsm_idempotency_get(F, CUST_B, "order-1", now, &r), ERR_NOTFOUND,
	    "keys are per customer");
	is_int(fsm_idempotency_get(F, CUST_A, "order-2", now, &r), ERR_NOTFOUND,
	    "unknown key");

	now = t0 + CMD_IDEMPOTENCY_TTL_MS;	/* the last moment it holds */
	mark();
	is_int(submit_x(321, 1, CUST_A, TIER_FREE, "order-1", 0x22, 0, 0),
	    ERR_EXISTS, "same key, other body, within the TTL: ERR_EXISTS");
	is_int(submit_x(321, 1, CUST_A, TIER_FREE, "order-1", 0x11, 0, 0),
	    ERR_EXISTS, "same key, same body: ERR_EXISTS too");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing stored");
	is_int(st(321), -1, "the repeat was not stored");
	is_int(fsm_idempotency_get(F, CUST_A, "order-1", now, &r), 0,
	    "still readable at the TTL's edge");
	is_int(submit_x(321, 1, CUST_B, TIER_FREE, "order-1", 0x22, 0, 0), 0,
	    "the same key for another customer");

	now = t0 + CMD_IDEMPOTENCY_TTL_MS + 1;
	is_int(fsm_idempotency_get(F, CUST_A, "order-1", now, &r), ERR_NOTFOUND,
	    "expired after the TTL");
	is_int(submit_x(322, 1, CUST_A, TIER_FREE, "order-1", 0x33, 0, 0), 0,
	    "after the TTL the key is new again");
	if (is_int(fsm_idempotency_get(F, CUST_A, "order-1", now, &r), 0,
	    "remembered anew")) {
		is_str(r.workload_id, ids[322], "  the new workload");
		is_int(r.body_hash[0], 0x33, "  the new body");
		is_int(r.at_ms, now, "  the new time");
	}

	/* A refused submission does not use the key up. */
	mark();
	is_int(submit_x(323, 2, CUST_C, TIER_FREE, "order-9", 0x44, 1, 0),
	    ERR_QUEUEFULL, "refused for the queue limit");
	is_int(submit_x(323, 2, CUST_C, TIER_FREE, "order-9", 0x44, 0, 1),
	    ERR_OVERLOADED, "refused for the global limit");
	ok(unchanged(), "nothing stored");
	is_int(fsm_idempotency_get(F, CUST_C, "order-9", now, &r), ERR_NOTFOUND,
	    "key not remembered");
	is_int(submit_x(323, 2, CUST_C, TIER_FREE, "order-9", 0x44, 2, 0), 0,
	    "the retry under the same key is accepted");
	if (is_int(fsm_idempotency_get(F, CUST_C, "order-9", now, &r), 0,
	    "remembered"))
		is_str(r.workload_id, ids[323], "  its first workload");
	is_int(submit_x(325, 1, CUST_C, TIER_FREE, "order-9", 0x44, 0, 0),
	    ERR_EXISTS, "then it is a repeat");
	w = wget(324);
	is_int(w.status, WL_PENDING, "both workloads stored");
	workload_fini(&w);

	/* Key sizes. */
	memset(key, 'k', sizeof key);
	key[255] = '\0';
	is_int(submit_x(326, 1, CUST_C, TIER_FREE, key, 0, 0, 0), 0,
	    "255-byte key accepted");
	ok(fsm_idempotency_get(F, CUST_C, key, now, &r) == 0 &&
	    strcmp(r.workload_id, ids[326]) == 0, "  and readable");
	key[255] = 'k';
	key[256] = '\0';
	is_int(submit_x(327, 1, CUST_C, TIER_FREE, key, 0, 0, 0), ERR_INVAL,
	    "256-byte key: ERR_INVAL");
	is_int(fsm_idempotency_get(F, CUST_C, key, now, &r), ERR_NOTFOUND,
	    "  never found");
	is_int(submit_x(327, 1, CUST_C, TIER_FREE, "", 0, 0, 0), ERR_INVAL,
	    "empty key: ERR_INVAL");

	/* Expired records go, 16 per SUBMIT, oldest first.  First clear out
	 * everything older, then make 20 at one time and expire them. */
	now += 3 * CMD_IDEMPOTENCY_TTL_MS;
	for (i = 0; i < 4; i++)
		submit_x(230 + i, 1, "purge-co", TIER_FREE, NULL, 0, 0, 0);
	t0 = now;
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof key, "p-%02d", i);
		if (submit_x(240 + i, 1, "purge-co", TIER_FREE, key, 0, 0, 0) != 0)
			break;
	}
	is_int(i, 20, "20 keyed submissions");
	now = t0 + CMD_IDEMPOTENCY_TTL_MS + 1;
	is_int(submit_x(260, 1, "purge-co", TIER_FREE, NULL, 0, 0, 0), 0,
	    "a SUBMIT after they expired");
	for (i = found = 0; i < 20; i++) {
		snprintf(key, sizeof key, "p-%02d", i);
		if (fsm_idempotency_get(F, "purge-co", key, t0, &r) == 0)
			found++;
	}
	is_int(found, 4, "16 of 20 expired records dropped");
	snprintf(key, sizeof key, "p-%02d", 19);
	is_int(fsm_idempotency_get(F, "purge-co", key, t0, &r), 0,
	    "the last ones remain");
	is_int(submit_x(261, 1, "purge-co", TIER_FREE, NULL, 0, 0, 0), 0,
	    "another SUBMIT");
	for (i = found = 0; i < 20; i++) {
		snprintf(key, sizeof key, "p-%02d", i);
		if (fsm_idempotency_get(F, "purge-co", key, t0, &r) == 0)
			found++;
	}
	is_int(found, 0, "the rest dropped");
	ok(counters_exact(F), "counters exact");
}

static void
test_pause(void)
{
	struct workload		 w;
	struct worker_rec	 wr;
	struct cmd_attempt	 keep;
	struct cmd		 c;
	void			*data;
	size_t			 len;
	uint64_t		 cseq;
	uint32_t		 att;
	int			 i;

	now += 1000;
	is_int(reg("wp", "sleep", 4, "", NULL, 0), 0, "register wp");
	for (i = 270; i <= 285; i++)
		submit_x(i, 1, "pz", TIER_STANDARD, NULL, 0, 0, 0);
	is_int(pending_of("pz"), 16, "16 pending for pz");

	/* PENDING. */
	is_int(wl_cmd(CMD_PAUSE, 270), 0, "PAUSE of PENDING");
	is_int(st(270), WL_PAUSED, "PAUSED");
	is_int(nev, 0, "no events");
	is_int(pending_of("pz"), 15, "left the queue");
	is_int(audit_count(F, 270), 2, "audited");
	mark();
	is_int(wl_cmd(CMD_PAUSE, 270), 0, "PAUSE again: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing changed");
	is_int(audit_count(F, 270), 2, "not audited again");
	is_int(assign(270, "wp", 1), 0, "assign a PAUSED one");
	is_int(st(270), WL_PAUSED, "skipped");
	is_int(wl_cmd(CMD_RESUME, 270), 0, "RESUME");
	is_int(st(270), WL_PENDING, "PENDING again");
	is_int(evcount(FSM_EV_PENDING, ids[270], NULL), 1, "FSM_EV_PENDING");
	is_int(pending_of("pz"), 16, "back in the queue");
	mark();
	is_int(wl_cmd(CMD_RESUME, 270), ERR_CONFLICT,
	    "RESUME of PENDING: ERR_CONFLICT");
	ok(unchanged(), "nothing changed");
	is_int(wl_cmd(CMD_PAUSE, 399), ERR_NOTFOUND, "PAUSE unknown: ERR_NOTFOUND");
	is_int(wl_cmd(CMD_RESUME, 399), ERR_NOTFOUND, "RESUME unknown");

	/* SCHEDULED: paused at once, the slot freed. */
	is_int(assign(271, "wp", 1), 0, "assign 271");
	is_int(used("wp"), 1, "wp used 1");
	is_int(wl_cmd(CMD_PAUSE, 271), 0, "PAUSE of SCHEDULED");
	is_int(st(271), WL_PAUSED, "PAUSED");
	is_int(evcount(FSM_EV_STOP, ids[271], "wp"), 1, "FSM_EV_STOP to wp");
	ok(nev > 0 && ev[0].type == FSM_EV_STOP && ev[0].attempt == 1,
	    "  for attempt 1");
	is_int(evcount(FSM_EV_FREED, NULL, "wp"), 1, "FSM_EV_FREED");
	is_int(used("wp"), 0, "slot released");
	is_int(active_of("pz"), 0, "no slot held by pz");
	is_int(start(271, 1, "wp"), ERR_CONFLICT, "START of it: ERR_CONFLICT");
	is_int(wl_cmd(CMD_RESUME, 271), 0, "RESUME");
	w = wget(271);
	ok(w.status == WL_PENDING && w.attempt == 1, "PENDING, attempt kept");
	workload_fini(&w);
	is_int(assign(271, "wp", 2), 0, "next attempt assigned");
	is_int(st(271), WL_SCHEDULED, "SCHEDULED");

	/* RUNNING: PAUSING, then every outcome. */
	is_int(assign(272, "wp", 1), 0, "assign 272");
	is_int(start(272, 1, "wp"), 0, "start 272");
	is_int(checkpoint(272, 1, "wp", 1, "ck-1"), 0, "checkpoint 1");
	is_int(wl_cmd(CMD_PAUSE, 272), 0, "PAUSE of RUNNING");
	is_int(st(272), WL_PAUSING, "PAUSING");
	is_int(evcount(FSM_EV_STOP, ids[272], "wp"), 1, "FSM_EV_STOP");
	is_int(evcount(FSM_EV_FREED, NULL, NULL), 0, "slot still held");
	is_int(used("wp"), 2, "wp used 2");
	is_int(active_of("pz"), 2, "pz holds 2 slots");
	mark();
	is_int(wl_cmd(CMD_PAUSE, 272), 0, "PAUSE of PAUSING: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing changed");
	is_int(wl_cmd(CMD_RESUME, 272), ERR_CONFLICT,
	    "RESUME of PAUSING: ERR_CONFLICT");
	is_int(progress(272, 1, "wp", 60, "stopping"), 0, "progress while PAUSING");
	is_int(checkpoint(272, 1, "wp", 2, "ck-2"), 0, "checkpoint while PAUSING");
	is_int(complete(272, 1, "wp", OUTCOME_CANCELLED, NULL), 0,
	    "worker stopped it");
	w = wget(272);
	ok(w.status == WL_PAUSED && w.checkpoint_seq == 2 && w.attempt == 1 &&
	    w.failures == 0, "PAUSED, checkpoint and attempt kept");
	workload_fini(&w);
	is_int(evcount(FSM_EV_FREED, NULL, "wp"), 1, "FSM_EV_FREED");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 0, "no FSM_EV_PENDING");
	is_int(used("wp"), 1, "slot released");
	is_int(wl_cmd(CMD_RESUME, 272), 0, "RESUME");
	is_int(assign(272, "wp", 2), 0, "attempt 2");
	is_int(start(272, 2, "wp"), 0, "started");
	ok(fsm_checkpoint_get(F, ids[272], 0, &data, &len, &cseq, &att) == 0 &&
	    cseq == 2 && len == 4 && memcmp(data, "ck-2", 4) == 0,
	    "it resumes from the latest checkpoint");
	free(data);

	is_int(wl_cmd(CMD_PAUSE, 272), 0, "PAUSE again");
	is_int(complete(272, 2, "wp", OUTCOME_SUCCEEDED, NULL), 0,
	    "finished before stopping");
	is_int(st(272), WL_COMPLETED, "PAUSING + SUCCEEDED: COMPLETED");
	is_int(wl_cmd(CMD_PAUSE, 272), ERR_CONFLICT, "PAUSE of COMPLETED: ERR_CONFLICT");
	is_int(wl_cmd(CMD_RESUME, 272), ERR_CONFLICT, "RESUME of COMPLETED");

	is_int(assign(273, "wp", 1), 0, "assign 273");
	is_int(start(273, 1, "wp"), 0, "start 273");
	is_int(wl_cmd(CMD_PAUSE, 273), 0, "PAUSE");
	is_int(complete(273, 1, "wp", OUTCOME_ABANDONED, NULL), 0, "abandoned");
	is_int(st(273), WL_PAUSED, "PAUSING + ABANDONED: PAUSED");
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 0, "no FSM_EV_PENDING");

	/* FAILED: a failure counted, PAUSED while retries remain. */
	memset(&c, 0, sizeof c);
	{
		struct workload	 x[1];

		wl_init(&x[0], 286, "pz", "sleep", 1, TIER_STANDARD);
		x[0].max_retries = 1;
		is_int(submit_v(x, 1), 0, "submit 286 with one retry");
	}
	is_int(assign(286, "wp", 1), 0, "assign 286");
	is_int(start(286, 1, "wp"), 0, "start");
	is_int(wl_cmd(CMD_PAUSE, 286), 0, "PAUSE");
	is_int(complete(286, 1, "wp", OUTCOME_FAILED, "oops"), 0, "it failed");
	w = wget(286);
	ok(w.status == WL_PAUSED && w.failures == 1 && str_eq(w.error, "oops"),
	    "PAUSING + FAILED with a retry left: PAUSED, failure counted");
	workload_fini(&w);
	is_int(evcount(FSM_EV_PENDING, NULL, NULL), 0, "no FSM_EV_PENDING");
	is_int(wl_cmd(CMD_RESUME, 286), 0, "RESUME");
	now += 10 * FSM_TEST_BACKOFF_MAX;
	is_int(assign(286, "wp", 2), 0, "attempt 2");
	is_int(start(286, 2, "wp"), 0, "start");
	is_int(wl_cmd(CMD_PAUSE, 286), 0, "PAUSE");
	is_int(complete(286, 2, "wp", OUTCOME_FAILED, "oops again"), 0,
	    "failed again");
	w = wget(286);
	ok(w.status == WL_FAILED && w.failures == 2 && w.finished_ms == now,
	    "retries exhausted: FAILED");
	workload_fini(&w);

	/* Cancel while PAUSING. */
	is_int(assign(274, "wp", 1), 0, "assign 274");
	is_int(start(274, 1, "wp"), 0, "start");
	is_int(wl_cmd(CMD_PAUSE, 274), 0, "PAUSE");
	is_int(cancel(274), 0, "CANCEL of PAUSING");
	w = wget(274);
	ok(w.status == WL_PAUSING && w.cancel_requested, "cancel requested");
	workload_fini(&w);
	is_int(evcount(FSM_EV_STOP, ids[274], "wp"), 1, "FSM_EV_STOP");
	is_int(complete(274, 1, "wp", OUTCOME_CANCELLED, NULL), 0, "stopped");
	is_int(st(274), WL_CANCELLED, "PAUSING + cancel + CANCELLED: CANCELLED");
	is_int(assign(275, "wp", 1), 0, "assign 275");
	is_int(start(275, 1, "wp"), 0, "start");
	is_int(wl_cmd(CMD_PAUSE, 275), 0, "PAUSE");
	is_int(cancel(275), 0, "CANCEL");
	is_int(complete(275, 1, "wp", OUTCOME_ABANDONED, NULL), 0, "abandoned");
	is_int(st(275), WL_CANCELLED, "PAUSING + cancel + ABANDONED: CANCELLED");
	is_int(cancel(273), 0, "CANCEL of PAUSED");
	is_int(st(273), WL_CANCELLED, "CANCELLED at once");
	is_int(used("wp"), 1, "only 271 holds a slot on wp");
	ok(counters_exact(F), "counters exact");

	/* Worker death and restart while PAUSING. */
	is_int(reg("wq", "sleep", 4, "", NULL, 0), 0, "register wq");
	for (i = 276; i <= 279; i++) {
		assign(i, "wq", 1);
		start(i, 1, "wq");
	}
	wl_cmd(CMD_PAUSE, 276);
	wl_cmd(CMD_PAUSE, 277);
	cancel(277);
	wl_cmd(CMD_PAUSE, 279);
	ok(st(276) == WL_PAUSING && st(277) == WL_PAUSING &&
	    st(278) == WL_RUNNING && st(279) == WL_PAUSING, "set up on wq");
	memset(&keep, 0, sizeof keep);
	memcpy(keep.workload_id, ids[279], sizeof keep.workload_id);
	keep.attempt = 1;
	is_int(reg("wq", "sleep", 4, "", &keep, 1), 0,
	    "wq restarts, still running 279");
	ok(st(276) == WL_PAUSED && st(277) == WL_CANCELLED &&
	    st(278) == WL_PENDING && st(279) == WL_PAUSING,
	    "lost: PAUSING->PAUSED, cancelled->CANCELLED, RUNNING->PENDING; "
	    "kept: PAUSING");
	wr = worker(F, "wq");
	is_int(wr.used, 1, "wq holds 1");
	worker_rec_fini(&wr);
	is_int(dead("wq", 2), 0, "wq dies");
	is_int(st(279), WL_PAUSED, "PAUSING on a dead worker: PAUSED");
	w = wget(279);
	ok(w.failures == 0 && w.attempt == 1, "no failure, attempt kept");
	workload_fini(&w);
	is_int(active_of("pz"), 1, "pz holds one slot (271)");
	ok(counters_exact(F), "counters exact");
}

static void
test_cancel_batch(void)
{
	struct cmd	 c;
	char		 bids[7][MODEL_ID_LEN + 1];
	uint64_t	 before;
	struct workload	 w;

	now += 1000;
	/* 278 PENDING, 280 SCHEDULED, 281 RUNNING, 272 COMPLETED, 399
	 * unknown, 278 twice, 276 PAUSED. */
	is_int(assign(280, "wp", 1), 0, "assign 280");
	is_int(assign(281, "wp", 1), 0, "assign 281");
	is_int(start(281, 1, "wp"), 0, "start 281");
	memcpy(bids[0], ids[278], sizeof bids[0]);
	memcpy(bids[1], ids[280], sizeof bids[1]);
	memcpy(bids[2], ids[281], sizeof bids[2]);
	memcpy(bids[3], ids[272], sizeof bids[3]);
	memcpy(bids[4], ids[399], sizeof bids[4]);
	memcpy(bids[5], ids[278], sizeof bids[5]);
	memcpy(bids[6], ids[276], sizeof bids[6]);
	memset(&c, 0, sizeof c);
	c.type = CMD_CANCEL_BATCH;
	c.ids = bids;
	c.n_ids = 7;
	c.message = "tidy up";
	before = idx;
	is_int(run(&c), 0, "CANCEL_BATCH of mixed ids: result 0");
	is_int(idx, before + 1, "one log entry");
	ok(st(278) == WL_CANCELLED && st(280) == WL_CANCELLED &&
	    st(276) == WL_CANCELLED, "PENDING, SCHEDULED, PAUSED: CANCELLED");
	w = wget(281);
	ok(w.status == WL_RUNNING && w.cancel_requested, "RUNNING: cancel requested");
	workload_fini(&w);
	is_int(st(272), WL_COMPLETED, "COMPLETED untouched");
	is_int(st(399), -1, "unknown still unknown");
	is_int(evcount(FSM_EV_STOP, ids[280], "wp"), 1, "FSM_EV_STOP for 280");
	is_int(evcount(FSM_EV_FREED, NULL, "wp"), 1, "FSM_EV_FREED for its slot");
	is_int(evcount(FSM_EV_STOP, ids[281], "wp"), 1, "FSM_EV_STOP for 281");
	is_int(nev, 3, "nothing else");
	{
		struct audit_event	*a;
		size_t			 n, i;
		int			 good = 0;

		is_int(fsm_audit_list(F, ids[280], 0, &a, &n), 0, "audit of 280");
		for (i = 0; i < n; i++)
			if (str_eq(a[i].kind, "cancel") && str_eq(a[i].detail,
			    "tidy up") && str_eq(a[i].customer_id, "pz"))
				good++;
		audit_free(a, n);
		is_int(good, 1, "the cancel audited once, with its reason");
	}
	mark();
	memcpy(bids[0], ids[398], sizeof bids[0]);
	memcpy(bids[1], ids[272], sizeof bids[1]);
	c.n_ids = 2;
	is_int(run(&c), 0, "a batch of unknown and finished ids: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing changed");
	ok(counters_exact(F), "counters exact");
}

/* One REPORT_BATCH entry: several reports of one worker, each standing
 * alone, so that a fenced one changes nothing while the rest apply. */
static void
test_report_batch(void)
{
	struct cmd_report	 r[5];
	struct cmd		 c;
	struct workload		 w;
	uint64_t		 before, active0;

	now += 1000;
	is_int(reg("wr", "sleep", 4, "", NULL, 0), 0, "register wr");
	is_int(submit_x(360, 4, "rb", TIER_FREE, NULL, 0, 0, 0), 0, "submit 360-363");
	is_int(assign(360, "wr", 1), 0, "assign 360");
	is_int(assign(361, "wr", 1), 0, "assign 361");
	is_int(assign(362, "wr", 1), 0, "assign 362");
	is_int(used("wr"), 3, "three slots used");
	active0 = active_of("rb");

	memset(r, 0, sizeof r);
	r[0].type = CMD_START;		/* 360 starts */
	memcpy(r[0].workload_id, ids[360], sizeof r[0].workload_id);
	r[0].attempt = 1;
	r[1].type = CMD_START;		/* 361 starts... */
	memcpy(r[1].workload_id, ids[361], sizeof r[1].workload_id);
	r[1].attempt = 1;
	r[2].type = CMD_COMPLETE;	/* ...and ends in the same entry */
	memcpy(r[2].workload_id, ids[361], sizeof r[2].workload_id);
	r[2].attempt = 1;
	r[2].outcome = OUTCOME_SUCCEEDED;
	r[2].result_json = "{\"n\":361}";
	r[3].type = CMD_START;		/* fenced: another attempt */
	memcpy(r[3].workload_id, ids[362], sizeof r[3].workload_id);
	r[3].attempt = 7;
	r[4].type = CMD_PROGRESS;	/* 363 was never placed: refused */
	memcpy(r[4].workload_id, ids[363], sizeof r[4].workload_id);
	r[4].attempt = 1;
	r[4].progress = 50;
	memset(&c, 0, sizeof c);
	c.type = CMD_REPORT_BATCH;
	c.worker_id = "wr";
	c.reports = r;
	c.n_reports = 5;
	before = idx;
	is_int(run(&c), 0, "REPORT_BATCH with fenced reports: result 0");
	is_int(idx, before + 1, "one log entry");
	is_int(st(360), WL_RUNNING, "360 RUNNING");
	w = wget(361);
	ok(w.status == WL_COMPLETED && str_eq(w.result_json, "{\"n\":361}"),
	    "361 started and COMPLETED in one entry, with its result");
	workload_fini(&w);
	w = wget(362);
	ok(w.status == WL_SCHEDULED && w.attempt == 1,
	    "362 untouched by the fenced START");
	workload_fini(&w);
	is_int(st(363), WL_PENDING, "363 untouched by the refused PROGRESS");
	is_int(used("wr"), 2, "361's slot freed");
	is_int(evcount(FSM_EV_FREED, NULL, "wr"), 1, "one FSM_EV_FREED");
	is_int(active_of("rb"), active0 - 1, "active usage down by one");
	ok(counters_exact(F), "counters exact");
	{
		struct audit_event	*a;
		size_t			 n, i;
		int			 done = 0;

		is_int(fsm_audit_list(F, ids[361], 0, &a, &n), 0, "audit of 361");
		for (i = 0; i < n; i++)
			if (str_eq(a[i].to, "COMPLETED") &&
			    str_eq(a[i].actor, "tester"))
				done++;
		audit_free(a, n);
		is_int(done, 1, "its completion audited once");
	}

	/* A batch in which nothing applies changes nothing at all. */
	mark();
	r[0].attempt = 9;
	c.reports = &r[0];
	c.n_reports = 1;
	is_int(run(&c), 0, "a batch of one fenced report: result 0");
	is_int(nev, 0, "no events");
	ok(unchanged(), "nothing changed");
	c.worker_id = "someone-else";
	r[0].attempt = 1;
	is_int(run(&c), 0, "a report from the wrong worker: result 0");
	ok(unchanged(), "nothing changed");

	/* One entry freeing two slots of one worker: its record is kept
	 * through the batch and written once, with both. */
	memset(r, 0, sizeof r);
	r[0].type = CMD_START;
	memcpy(r[0].workload_id, ids[362], sizeof r[0].workload_id);
	r[0].attempt = 1;
	r[1].type = CMD_COMPLETE;
	memcpy(r[1].workload_id, ids[362], sizeof r[1].workload_id);
	r[1].attempt = 1;
	r[1].outcome = OUTCOME_SUCCEEDED;
	r[2].type = CMD_COMPLETE;
	memcpy(r[2].workload_id, ids[360], sizeof r[2].workload_id);
	r[2].attempt = 1;
	r[2].outcome = OUTCOME_SUCCEEDED;
	c.worker_id = "wr";
	c.reports = r;
	c.n_reports = 3;
	is_int(used("wr"), 2, "two slots used before");
	is_int(run(&c), 0, "REPORT_BATCH finishing two on one worker");
	ok(st(360) == WL_COMPLETED && st(362) == WL_COMPLETED, "both COMPLETED");
	is_int(used("wr"), 0, "both slots freed in the stored record");
	is_int(evcount(FSM_EV_FREED, NULL, "wr"), 2, "two FSM_EV_FREED");
	ok(counters_exact(F), "counters exact");
}

static void
test_audit_query(void)
{
	struct fsm_audit_filter	 flt;
	struct audit_event	*all, *v, *pg;
	char			 cur[FSM_CURSOR_LEN];
	size_t			 nall, n, npg, i, want;
	uint64_t		 since, until;
	int			 pages, good;

	memset(&flt, 0, sizeof flt);
	flt.limit = 1000;
	is_int(audit_all(F, &flt, &all, &nall, &pages), 0, "whole audit trail");
	good = nall > 100;
	for (i = 1; i < nall; i++)
		if (all[i].seq <= all[i - 1].seq)
			good = 0;
	ok(good, "oldest first, %zu events", nall);
	good = 0;
	for (i = 0; i < nall; i++)
		if (str_eq(all[i].kind, "worker") && all[i].customer_id == NULL)
			good = 1;
	ok(good, "worker events have no customer");

	/* Small pages give the same sequence, with no empty last page. */
	flt.limit = 7;
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "pages of 7");
	good = npg == nall && pages == (int)((nall + 6) / 7);
	for (i = 0; good && i < npg; i++)
		if (pg[i].seq != all[i].seq)
			good = 0;
	ok(good, "same events, %d pages", pages);
	audit_free(pg, npg);
	flt.limit = (uint32_t)nall;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), 0, "a page of exactly all");
	ok(n == nall && cur[0] == '\0', "  and no cursor");
	audit_free(v, n);

	/* Customer filter. */
	memset(&flt, 0, sizeof flt);
	flt.customer_id = "pz";
	flt.limit = 3;
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "customer pz");
	for (i = want = 0; i < nall; i++)
		if (str_eq(all[i].customer_id, "pz"))
			want++;
	good = npg == want && want > 20;
	for (i = 0; good && i < npg; i++)
		if (!str_eq(pg[i].customer_id, "pz") ||
		    (i > 0 && pg[i].seq <= pg[i - 1].seq))
			good = 0;
	ok(good, "all %zu of pz's, in order, across pages", want);
	audit_free(pg, npg);

	/* Workload filter, alone and with a customer. */
	memset(&flt, 0, sizeof flt);
	flt.workload_id = ids[272];
	flt.limit = 2;
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "workload 272");
	ok(npg == audit_count(F, 272) && npg > 5, "as many as its audit list (%zu)",
	    npg);
	good = 1;
	for (i = 0; i < npg; i++)
		if (strcmp(pg[i].workload_id, ids[272]) != 0 ||
		    !str_eq(pg[i].customer_id, "pz"))
			good = 0;
	ok(good, "each about it and its customer");
	audit_free(pg, npg);
	flt.customer_id = "pz";
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "workload + its customer");
	ok(npg == audit_count(F, 272), "same events");
	audit_free(pg, npg);
	flt.customer_id = CUST_A;
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "workload + another customer");
	is_int(npg, 0, "none");
	audit_free(pg, npg);

	/* Time window: since inclusive, until exclusive. */
	since = all[nall / 3].at_ms;
	until = all[2 * nall / 3].at_ms;
	memset(&flt, 0, sizeof flt);
	flt.since_ms = since;
	flt.until_ms = until;
	flt.limit = 5;
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "since/until");
	for (i = want = 0; i < nall; i++)
		if (all[i].at_ms >= since && all[i].at_ms < until)
			want++;
	good = npg == want && want > 0;
	for (i = 0; good && i < npg; i++)
		if (pg[i].at_ms < since || pg[i].at_ms >= until)
			good = 0;
	ok(good, "%zu events in [since, until)", want);
	audit_free(pg, npg);
	flt.customer_id = "pz";
	is_int(audit_all(F, &flt, &pg, &npg, &pages), 0, "since/until + customer");
	for (i = want = 0; i < nall; i++)
		if (all[i].at_ms >= since && all[i].at_ms < until &&
		    str_eq(all[i].customer_id, "pz"))
			want++;
	is_int(npg, want, "the intersection");
	audit_free(pg, npg);

	/* The cursor is the last seq returned. */
	memset(&flt, 0, sizeof flt);
	flt.limit = 4;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), 0, "first page of 4");
	ok(n == 4 && cur[0] != '\0' && strtoull(cur, NULL, 10) == v[3].seq,
	    "cursor = last seq (%s)", cur);
	audit_free(v, n);
	flt.cursor = cur;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), 0, "next page");
	ok(n == 4 && v[0].seq == all[4].seq, "continues after it");
	audit_free(v, n);
	snprintf(cur, sizeof cur, "%llu", (unsigned long long)all[nall - 1].seq);
	flt.cursor = cur;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), 0, "after the last");
	ok(n == 0 && cur[0] == '\0', "empty, no cursor");
	audit_free(v, n);

	/* Bad filters. */
	memset(&flt, 0, sizeof flt);
	flt.limit = 0;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "limit 0");
	flt.limit = 1001;
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "limit 1001");
	flt.limit = 10;
	flt.cursor = "12a";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "cursor 12a");
	flt.cursor = "-3";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "cursor -3");
	flt.cursor = "99999999999999999999999";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "cursor overflow");
	flt.cursor = NULL;
	flt.workload_id = "not-an-id";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "bad workload id");
	flt.workload_id = NULL;
	flt.customer_id = "";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), ERR_INVAL, "empty customer");
	is_int(fsm_audit_query(F, NULL, &v, &n, cur), ERR_INVAL, "NULL filter");
	flt.customer_id = "nobody";
	is_int(fsm_audit_query(F, &flt, &v, &n, cur), 0, "unknown customer");
	ok(n == 0 && cur[0] == '\0', "no events");
	audit_free(v, n);
	audit_free(all, nall);
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

/* Rewrites a snapshot as a store of layout 1 would have made it: no usage
 * records, no per-tier counts, no layout mark.  Returns a new snapshot
 * buffer, or NULL. */
static void *
snapshot_as_layout1(const void *buf, size_t len, size_t *out_len)
{
	struct kv		*kv = NULL;
	struct kv_txn		*t = NULL;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 key;
	struct strlist		 keys = { NULL, 0 };
	struct errbuf		 eb;
	unsigned long long	 raw_len;
	char			 path[700];
	uint8_t			*raw = NULL, *out = NULL;
	size_t			 i, bound, clen;
	FILE			*fp;
	long			 flen;

	/* The header holds the size: a streamed frame does not. */
	if (len < 16)
		goto fail;
	for (raw_len = 0, i = 8; i < 16; i++)
		raw_len = raw_len << 8 | ((const uint8_t *)buf)[i];
	if ((raw = malloc(raw_len)) == NULL ||
	    ZSTD_decompress(raw, raw_len, (const uint8_t *)buf + 16,
	    len - 16) != raw_len)
		goto fail;
	snprintf(path, sizeof path, "%s/old.mdb", tdir);
	if ((fp = fopen(path, "wb")) == NULL)
		goto fail;
	fwrite(raw, 1, raw_len, fp);
	fclose(fp);
	if (kv_open(&kv, path, 64 << 20, &eb) != 0 ||
	    kv_txn_begin(kv, NULL, false, &t, &eb) != 0 ||
	    kv_cursor_open(t, KV_DB_USAGE, &cur, &eb) != 0)
		goto fail;
	for (i = kv_cursor_first(cur, &key, NULL); i == 0;
	    i = kv_cursor_next(cur, &key, NULL))
		strlist_addn(&keys, key.data, key.len);
	kv_cursor_close(cur);
	cur = NULL;
	for (i = 0; i < keys.n; i++)
		kv_del(t, KV_DB_USAGE, keys.v[i], strlen(keys.v[i]), &eb);
	kv_del(t, KV_DB_META, "layout", 6, &eb);
	kv_del(t, KV_DB_META, "tier_pending", 12, &eb);
	if (kv_txn_commit(t, &eb) != 0) {
		t = NULL;
		goto fail;
	}
	t = NULL;
	kv_close(kv);
	kv = NULL;
	tap_diag("layout-1 copy without %zu usage records", keys.n);
	free(raw);
	raw = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		goto fail;
	fseek(fp, 0, SEEK_END);
	flen = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	if (flen <= 0 || (raw = malloc((size_t)flen)) == NULL ||
	    fread(raw, 1, (size_t)flen, fp) != (size_t)flen) {
		fclose(fp);
		goto fail;
	}
	fclose(fp);
	bound = ZSTD_compressBound((size_t)flen);
	if ((out = malloc(16 + bound)) == NULL)
		goto fail;
	memcpy(out, "NYSNAP1", 8);
	for (i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)((uint64_t)flen >> (56 - 8 * i));
	clen = ZSTD_compress(out + 16, bound, raw, (size_t)flen, 1);
	if (ZSTD_isError(clen))
		goto fail;
	*out_len = 16 + clen;
	free(raw);
	strlist_fini(&keys);
	unlink(path);
	snprintf(path, sizeof path, "%s/old.mdb-lock", tdir);
	unlink(path);
	return out;
fail:
	kv_cursor_close(cur);
	kv_txn_abort(t);
	kv_close(kv);
	free(raw);
	free(out);
	strlist_fini(&keys);
	return NULL;
}

/* A snapshot from before the usage counters restores with them rebuilt. */
static void
test_snapshot_layout1(struct fsm *g, const void *buf, size_t len)
{
	struct errbuf	 eb;
	void		*old, *d1 = NULL, *d2 = NULL;
	size_t		 olen = 0, l1, l2;

	old = snapshot_as_layout1(buf, len, &olen);
	if (!ok(old != NULL, "a layout-1 snapshot made"))
		return;
	is_int(fsm_restore(g, old, olen, &eb), 0, "restored");
	ok(counters_exact(g), "usage and tier counters rebuilt exactly");
	ok(dump(F, &d1, &l1) == 0 && dump(g, &d2, &l2) == 0 && l1 == l2 &&
	    memcmp(d1, d2, l1) == 0, "same state as the original");
	free(d1);
	free(d2);
	free(old);
	/* Back to the regular snapshot for the rest. */
	is_int(fsm_restore(g, buf, len, &eb), 0, "regular snapshot restored");
}

static void
test_snapshot(const char *dir2)
{
	struct fsm		*g = NULL;
	struct errbuf		 eb;
	struct api_key		 k;
	void			*buf, *d1 = NULL, *d2 = NULL, *data;
	size_t			 len, l1, l2, dlen;
	uint64_t		 seq, gidx;
	uint32_t		 att;
	uint8_t			 h[32];
	uint64_t		 counts[WL__COUNT], total = 0;
	int			 res, s;

	is_int(submit_x(330, 1, CUST_C, TIER_FREE, "snap-key", 0x55, 0, 0), 0,
	    "a keyed submission before the snapshot");
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
	    memcmp(d1, d2, l1) == 0, "identical listings, workers, counts, "
	    "customers, keys, usage, queue depth, audit");
	free(d1);
	free(d2);
	ok(counters_exact(g), "counters exact in the copy");
	is_int(audit_count_cust(g, CUST_A), audit_count_cust(F, CUST_A),
	    "audit by customer in the copy");
	{
		struct fsm_idempotency	 r;

		ok(fsm_idempotency_get(g, CUST_C, "snap-key", now, &r) == 0 &&
		    strcmp(r.workload_id, ids[330]) == 0 && r.body_hash[0] == 0x55,
		    "idempotency records in the copy");
	}
	test_snapshot_layout1(g, buf, len);
	is_int(fsm_checkpoint_get(g, ids[2], 0, &data, &dlen, &seq, &att), 0,
	    "checkpoint in the copy");
	ok(dlen == 3 && memcmp(data, "six", 3) == 0 && seq == 6,
	    "same checkpoint");
	free(data);
	is_int(audit_count(g, 3), 7, "audit in the copy");
	memset(h, 0xab, sizeof h);
	is_int(fsm_key_lookup(g, h, &k), 0, "key in the copy");
	api_key_fini(&k);
	ok(fsm_has_admin_key(g), "admin key in the copy");

	/* A snapshot may hold entries past the index libraft took it at
	 * (it is copied beside the apply thread); those entries, replayed
	 * over it, are skipped. */
	gidx = idx - 1;
	{
		struct cmd	 c;
		struct workload	 w;

		wl_init(&w, 151, "acme", "sleep", 1, TIER_FREE);
		memset(&c, 0, sizeof c);
		c.type = CMD_SUBMIT;
		c.workloads = &w;
		c.n_workloads = 1;
		res = run_on(g, &gidx, &c);
		is_int(res, 0, "an entry the snapshot holds, replayed");
		is_int(fsm_workload_get(g, ids[151], &w), ERR_NOTFOUND,
		    "is skipped");
	}
	is_int(fsm_applied_index(g), idx, "applied index unchanged");

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
	ok(counters_exact(g), "counters exact after applying more");
	{
		struct fsm_usage	 u;

		ok(fsm_customer_usage(g, "acme", &u) == 0 &&
		    u.pending == pending_of("acme") + 1, "acme's usage moved on");
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
	test_nodes();
	ok(holdings_exact(F), "holdings exact after test_keys");
	test_workers();
	ok(holdings_exact(F), "holdings exact after test_workers");
	test_submit();
	ok(holdings_exact(F), "holdings exact after test_submit");
	test_assign();
	ok(holdings_exact(F), "holdings exact after test_assign");
	test_start_progress();
	ok(holdings_exact(F), "holdings exact after test_start_progress");
	test_checkpoint();
	ok(holdings_exact(F), "holdings exact after test_checkpoint");
	test_complete_success();
	ok(holdings_exact(F), "holdings exact after test_complete_success");
	test_retry();
	ok(holdings_exact(F), "holdings exact after test_retry");
	test_cancel();
	ok(holdings_exact(F), "holdings exact after test_cancel");
	test_worker_dead();
	ok(holdings_exact(F), "holdings exact after test_worker_dead");
	test_register_requeue();
	ok(holdings_exact(F), "holdings exact after test_register_requeue");
	test_worker_drain();
	ok(holdings_exact(F), "holdings exact after test_worker_drain");
	test_queue_aging();
	ok(holdings_exact(F), "holdings exact after test_queue_aging");
	test_preempt();
	ok(holdings_exact(F), "holdings exact after test_preempt");
	test_list();
	ok(holdings_exact(F), "holdings exact after test_list");
	test_audit();
	ok(holdings_exact(F), "holdings exact after test_audit");
	test_misc();
	ok(holdings_exact(F), "holdings exact after test_misc");
	test_customers();
	ok(holdings_exact(F), "holdings exact after test_customers");
	test_limits();
	ok(holdings_exact(F), "holdings exact after test_limits");
	test_idempotency();
	ok(holdings_exact(F), "holdings exact after test_idempotency");
	test_pause();
	ok(holdings_exact(F), "holdings exact after test_pause");
	test_cancel_batch();
	ok(holdings_exact(F), "holdings exact after test_cancel_batch");
	test_report_batch();
	ok(holdings_exact(F), "holdings exact after test_report_batch");
	test_audit_query();
	ok(holdings_exact(F), "holdings exact after test_audit_query");
	test_snapshot(dir2);
	fsm_close(F);
	fsm_events_free(ev, nev);
	free(snap_before);
	rmtree(tdir);
	return tap_done();
}
