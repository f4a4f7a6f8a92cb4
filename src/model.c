/*
 * The domain records and their msgpack encodings.  A stored record is a map
 * with short, stable string keys; a decoder ignores keys it does not know
 * (so a newer node's records stay readable), takes an absent or nil key as
 * the zero value, and rejects a present key of the wrong type, an enum out of
 * range, or a missing required key with ERR_PROTO.  Encoders always write
 * every field (NULL strings as nil), so one record has one encoding and every
 * node stores the same bytes for the same state.
 *
 * This file is part of libwire.a, which must not depend on libsodium: ids
 * come from getrandom(2).
 */
#include "src/model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/wire.h"
#include "src/clock.h"
#include "src/err.h"
#include "src/log.h"

static const char *const model_wl_status_names[WL__COUNT] = {
	"PENDING", "SCHEDULED", "RUNNING", "PAUSING", "PAUSED",
	"COMPLETED", "FAILED", "CANCELLED",
};

static const char *const model_tier_names[TIER__COUNT] = {
	"free", "standard", "premium", "enterprise",
};

static const uint64_t model_tier_weights[TIER__COUNT] = { 1, 10, 50, 100 };

static const char *const model_worker_status_names[WORKER__COUNT] = {
	"ALIVE", "DEAD", "DRAINING",
};

/* Index of name in names[0..n), or -1. */
static int
model_name_index(const char *const *names, int n, const char *name)
{
	int	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
wl_status_name(enum wl_status s)
{
	if ((unsigned)s >= WL__COUNT)
		return "UNKNOWN";
	return model_wl_status_names[s];
}

int
wl_status_parse(const char *name, enum wl_status *out)
{
	int	 i = model_name_index(model_wl_status_names, WL__COUNT, name);

	if (i < 0)
		return ERR_INVAL;
	*out = (enum wl_status)i;
	return 0;
}

bool
wl_status_is_terminal(enum wl_status s)
{
	return s == WL_COMPLETED || s == WL_FAILED || s == WL_CANCELLED;
}

bool
wl_status_holds_slot(enum wl_status s)
{
	return s == WL_SCHEDULED || s == WL_RUNNING || s == WL_PAUSING;
}

const char *
tier_name(enum tier t)
{
	if ((unsigned)t >= TIER__COUNT)
		return "unknown";
	return model_tier_names[t];
}

int
tier_parse(const char *name, enum tier *out)
{
	int	 i = model_name_index(model_tier_names, TIER__COUNT, name);

	if (i < 0)
		return ERR_INVAL;
	*out = (enum tier)i;
	return 0;
}

const char *
worker_status_name(enum worker_status s)
{
	if ((unsigned)s >= WORKER__COUNT)
		return "UNKNOWN";
	return model_worker_status_names[s];
}

void
queue_policy_defaults(struct queue_policy *p)
{
	size_t	 i;

	for (i = 0; i < TIER__COUNT; i++)
		p->tier_weight[i] = (uint32_t)model_tier_weights[i];
	p->aging_per_min = 5;
}

uint64_t
workload_base_priority(const struct workload *w, const struct queue_policy *p)
{
	uint64_t	 weight = 1;

	if ((unsigned)w->tier < TIER__COUNT)
		weight = p != NULL ? p->tier_weight[w->tier] :
		    model_tier_weights[w->tier];
	return (uint64_t)w->priority * weight;
}

uint64_t
workload_effective_priority(const struct workload *w,
    const struct queue_policy *p, uint64_t now_ms)
{
	uint64_t	 aging = p != NULL ? p->aging_per_min : 5;
	uint64_t	 waited = now_ms > w->created_ms ? now_ms - w->created_ms : 0;

	return workload_base_priority(w, p) + aging * waited / 60000;
}

int64_t
workload_queue_key(const struct workload *w, const struct queue_policy *p)
{
	int64_t		 aging = p != NULL ? (int64_t)p->aging_per_min : 5;

	/* Bounded: base <= 1000 × QUEUE_WEIGHT_MAX, times 60000 is 6e12;
	 * aging × created_ms <= 1e5 × 1e13 fits in 63 bits for centuries. */
	return (int64_t)workload_base_priority(w, p) * 60000 -
	    aging * (int64_t)w->created_ms;
}

/* ---- records: fini and dup ---- */

void
affinity_fini(struct affinity *a)
{
	free(a->hard_worker_id);
	tagset_fini(&a->hard_tags);
	strlist_fini(&a->hard_types);
	free(a->soft_worker_id);
	tagset_fini(&a->soft_tags);
	strlist_fini(&a->anti_types);
	memset(a, 0, sizeof *a);
}

/* Copies src into *dst (NULL stays NULL); 0 or ERR_NOMEM. */
static int
model_str_copy(char **dst, const char *src)
{
	if (src == NULL) {
		*dst = NULL;
		return 0;
	}
	if ((*dst = strdup(src)) == NULL)
		return ERR_NOMEM;
	return 0;
}

int
affinity_dup(struct affinity *dst, const struct affinity *src)
{
	memset(dst, 0, sizeof *dst);
	if (model_str_copy(&dst->hard_worker_id, src->hard_worker_id) != 0 ||
	    tagset_dup(&dst->hard_tags, &src->hard_tags) != 0 ||
	    strlist_dup(&dst->hard_types, &src->hard_types) != 0 ||
	    model_str_copy(&dst->soft_worker_id, src->soft_worker_id) != 0 ||
	    tagset_dup(&dst->soft_tags, &src->soft_tags) != 0 ||
	    strlist_dup(&dst->anti_types, &src->anti_types) != 0) {
		affinity_fini(dst);
		return ERR_NOMEM;
	}
	return 0;
}

void
workload_fini(struct workload *w)
{
	free(w->customer_id);
	free(w->type);
	free(w->params_json);
	affinity_fini(&w->affinity);
	free(w->worker_id);
	free(w->progress_message);
	free(w->result_json);
	free(w->error);
	free(w->request_id);
	memset(w, 0, sizeof *w);
}

int
workload_dup(struct workload *dst, const struct workload *src)
{
	/* Start from a shallow copy so every scalar comes along, then replace
	 * each owned pointer; clear them first so a failure part-way leaves
	 * only our own copies for workload_fini to free. */
	*dst = *src;
	dst->customer_id = dst->type = dst->params_json = NULL;
	dst->worker_id = dst->progress_message = dst->result_json = NULL;
	dst->error = dst->request_id = NULL;
	memset(&dst->affinity, 0, sizeof dst->affinity);

	if (model_str_copy(&dst->customer_id, src->customer_id) != 0 ||
	    model_str_copy(&dst->type, src->type) != 0 ||
	    model_str_copy(&dst->params_json, src->params_json) != 0 ||
	    affinity_dup(&dst->affinity, &src->affinity) != 0 ||
	    model_str_copy(&dst->worker_id, src->worker_id) != 0 ||
	    model_str_copy(&dst->progress_message, src->progress_message) != 0 ||
	    model_str_copy(&dst->result_json, src->result_json) != 0 ||
	    model_str_copy(&dst->error, src->error) != 0 ||
	    model_str_copy(&dst->request_id, src->request_id) != 0) {
		workload_fini(dst);
		return ERR_NOMEM;
	}
	return 0;
}

void
worker_rec_fini(struct worker_rec *w)
{
	free(w->id);
	tagset_fini(&w->tags);
	strlist_fini(&w->capabilities);
	free(w->version);
	memset(w, 0, sizeof *w);
}

int
worker_rec_dup(struct worker_rec *dst, const struct worker_rec *src)
{
	*dst = *src;
	dst->id = dst->version = NULL;
	memset(&dst->tags, 0, sizeof dst->tags);
	memset(&dst->capabilities, 0, sizeof dst->capabilities);

	if (model_str_copy(&dst->id, src->id) != 0 ||
	    tagset_dup(&dst->tags, &src->tags) != 0 ||
	    strlist_dup(&dst->capabilities, &src->capabilities) != 0 ||
	    model_str_copy(&dst->version, src->version) != 0) {
		worker_rec_fini(dst);
		return ERR_NOMEM;
	}
	return 0;
}

void
api_key_fini(struct api_key *k)
{
	free(k->customer_id);
	memset(k, 0, sizeof *k);
}

void
customer_fini(struct customer *c)
{
	free(c->name);
	memset(c, 0, sizeof *c);
}

void
node_rec_fini(struct node_rec *n)
{
	free(n->raft_address);
	free(n->http_url);
	free(n->worker_url);
	memset(n, 0, sizeof *n);
}

/* An address or URL as announced: printable, no blanks, not too long. */
static bool
model_address_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= MODEL_ADDRESS_MAX || s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

bool
node_rec_valid(const struct node_rec *n)
{
	return n->id >= 1 && model_address_valid(n->raft_address) &&
	    model_address_valid(n->http_url) && model_address_valid(n->worker_url);
}

/* ---- decoding helpers ----
 *
 * The hot records (workloads, their affinities, workers) are decoded in one
 * pass: wire_map_collect sorts a map's values by key into an array, then the
 * fields are checked in a fixed order, so the first error found does not
 * depend on the order of the keys.  The rarer records look each key up with
 * wire_map_get.  Both go through the same value-level checks (model_val_*),
 * which take NULL as an absent (or nil) key.
 */

/* A fixed-size id (exactly MODEL_ID_LEN bytes, no NUL) into out.  Absent
 * leaves out empty, and is an error if required. */
static int
model_val_id(const struct wire_val *v, bool required,
    char out[MODEL_ID_LEN + 1])
{
	if (v == NULL)
		return required ? ERR_PROTO : 0;
	return wire_get_fixed_str(v, out, MODEL_ID_LEN);
}

/* An enum stored as an unsigned integer below count. */
static int
model_val_enum(const struct wire_val *v, bool required, unsigned count,
    unsigned *out)
{
	uint64_t	 u;

	if (v == NULL)
		return required ? ERR_PROTO : 0;
	if (wire_get_uint(v, &u) != 0 || u >= count)
		return ERR_PROTO;
	*out = (unsigned)u;
	return 0;
}

/* A double that must be finite (NaN would break comparisons and ordering). */
static int
model_val_finite(const struct wire_val *v, double *out)
{
	int	 rc;

	if (v == NULL)
		return 0;
	if ((rc = wire_get_double(v, out)) != 0)
		return rc;
	return isfinite(*out) ? 0 : ERR_PROTO;
}

/* Optional plain fields: absent leaves *out alone (the decoders zero the
 * record first), any other type than the field's is ERR_PROTO. */

static int
model_val_u32(const struct wire_val *v, uint32_t *out)
{
	return v == NULL ? 0 : wire_get_u32(v, out);
}

static int
model_val_uint(const struct wire_val *v, uint64_t *out)
{
	return v == NULL ? 0 : wire_get_uint(v, out);
}

static int
model_val_bool(const struct wire_val *v, bool *out)
{
	return v == NULL ? 0 : wire_get_bool(v, out);
}

/* *out must be NULL: a copy is made only if the key is present. */
static int
model_val_strdup(const struct wire_val *v, char **out)
{
	return v == NULL ? 0 : wire_get_strdup(v, out);
}

/* *out must be empty. */
static int
model_val_tagset(const struct wire_val *v, struct tagset *out)
{
	return v == NULL ? 0 : wire_get_tagset(v, out);
}

/* *out must be empty. */
static int
model_val_strlist(const struct wire_val *v, struct strlist *out)
{
	return v == NULL ? 0 : wire_get_strlist(v, out);
}

/* The same by key, for the records still decoded with wire_map_get. */
static int
model_field_id(const struct wire_val *map, const char *key, bool required,
    char out[MODEL_ID_LEN + 1])
{
	return model_val_id(wire_map_get(map, key), required, out);
}

static int
model_field_enum(const struct wire_val *map, const char *key, bool required,
    unsigned count, unsigned *out)
{
	return model_val_enum(wire_map_get(map, key), required, count, out);
}

/* ---- affinity ---- */

/* The affinity map's keys, the one spelling of them: model_affinity_encode
 * writes them in this order, and the decoder looks for them. */
enum model_aff_key {
	AFFK_HW, AFFK_HTAG, AFFK_HTYPE, AFFK_SW, AFFK_STAG, AFFK_ANTI, AFFK__COUNT
};

static const struct wire_key model_aff_keys[AFFK__COUNT] = {
	[AFFK_HW] = WIRE_KEY("hw"),
	[AFFK_HTAG] = WIRE_KEY("htag"),
	[AFFK_HTYPE] = WIRE_KEY("htype"),
	[AFFK_SW] = WIRE_KEY("sw"),
	[AFFK_STAG] = WIRE_KEY("stag"),
	[AFFK_ANTI] = WIRE_KEY("anti"),
};

void
model_affinity_encode(struct wire_writer *w, const struct affinity *a)
{
	wire_put_map(w, AFFK__COUNT);
	wire_put_key(w, &model_aff_keys[AFFK_HW]);
	wire_put_str(w, a->hard_worker_id);
	wire_put_key(w, &model_aff_keys[AFFK_HTAG]);
	wire_put_tagset(w, &a->hard_tags);
	wire_put_key(w, &model_aff_keys[AFFK_HTYPE]);
	wire_put_strlist(w, &a->hard_types);
	wire_put_key(w, &model_aff_keys[AFFK_SW]);
	wire_put_str(w, a->soft_worker_id);
	wire_put_key(w, &model_aff_keys[AFFK_STAG]);
	wire_put_tagset(w, &a->soft_tags);
	wire_put_key(w, &model_aff_keys[AFFK_ANTI]);
	wire_put_strlist(w, &a->anti_types);
}

int
model_affinity_decode(const struct wire_val *v, struct affinity *out)
{
	const struct wire_val	*f[AFFK__COUNT];
	int			 rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_map_collect(v, model_aff_keys, AFFK__COUNT, f)) != 0 ||
	    (rc = model_val_strdup(f[AFFK_HW], &out->hard_worker_id)) != 0 ||
	    (rc = model_val_tagset(f[AFFK_HTAG], &out->hard_tags)) != 0 ||
	    (rc = model_val_strlist(f[AFFK_HTYPE], &out->hard_types)) != 0 ||
	    (rc = model_val_strdup(f[AFFK_SW], &out->soft_worker_id)) != 0 ||
	    (rc = model_val_tagset(f[AFFK_STAG], &out->soft_tags)) != 0 ||
	    (rc = model_val_strlist(f[AFFK_ANTI], &out->anti_types)) != 0) {
		affinity_fini(out);
		return rc;
	}
	return 0;
}

/* ---- workload ---- */

/* The workload map's keys, the one spelling of them: model_workload_encode
 * writes them in this order, and the decoder looks for them. */
enum model_wl_key {
	WLK_ID, WLK_CUST, WLK_TYPE, WLK_PARAMS, WLK_PRIO, WLK_TIER, WLK_ST,
	WLK_AFF, WLK_MAXR, WLK_TMO, WLK_CPI, WLK_CPP, WLK_SEQ, WLK_CT, WLK_UT,
	WLK_SCT, WLK_STT, WLK_FT, WLK_WK, WLK_ATT, WLK_PROG, WLK_PMSG, WLK_RES,
	WLK_ERR, WLK_CPS, WLK_FAILS, WLK_NB, WLK_CXL, WLK_RID, WLK_QK, WLK_RQC,
	WLK_RQM, WLK_RQG, WLK_PRE, WLK_PREN, WLK__COUNT
};

static const struct wire_key model_wl_keys[WLK__COUNT] = {
	[WLK_ID] = WIRE_KEY("id"),
	[WLK_CUST] = WIRE_KEY("cust"),
	[WLK_TYPE] = WIRE_KEY("type"),
	[WLK_PARAMS] = WIRE_KEY("params"),
	[WLK_PRIO] = WIRE_KEY("prio"),
	[WLK_TIER] = WIRE_KEY("tier"),
	[WLK_ST] = WIRE_KEY("st"),
	[WLK_AFF] = WIRE_KEY("aff"),
	[WLK_MAXR] = WIRE_KEY("maxr"),
	[WLK_TMO] = WIRE_KEY("tmo"),
	[WLK_CPI] = WIRE_KEY("cpi"),
	[WLK_CPP] = WIRE_KEY("cpp"),
	[WLK_SEQ] = WIRE_KEY("seq"),
	[WLK_CT] = WIRE_KEY("ct"),
	[WLK_UT] = WIRE_KEY("ut"),
	[WLK_SCT] = WIRE_KEY("sct"),
	[WLK_STT] = WIRE_KEY("stt"),
	[WLK_FT] = WIRE_KEY("ft"),
	[WLK_WK] = WIRE_KEY("wk"),
	[WLK_ATT] = WIRE_KEY("att"),
	[WLK_PROG] = WIRE_KEY("prog"),
	[WLK_PMSG] = WIRE_KEY("pmsg"),
	[WLK_RES] = WIRE_KEY("res"),
	[WLK_ERR] = WIRE_KEY("err"),
	[WLK_CPS] = WIRE_KEY("cps"),
	[WLK_FAILS] = WIRE_KEY("fails"),
	[WLK_NB] = WIRE_KEY("nb"),
	[WLK_CXL] = WIRE_KEY("cxl"),
	[WLK_RID] = WIRE_KEY("rid"),
	[WLK_QK] = WIRE_KEY("qk"),
	[WLK_RQC] = WIRE_KEY("rqc"),
	[WLK_RQM] = WIRE_KEY("rqm"),
	[WLK_RQG] = WIRE_KEY("rqg"),
	[WLK_PRE] = WIRE_KEY("pre"),
	[WLK_PREN] = WIRE_KEY("pren"),
};

void
model_workload_encode(struct wire_writer *w, const struct workload *wl)
{
	wire_put_map(w, WLK__COUNT);
	wire_put_key(w, &model_wl_keys[WLK_ID]);
	wire_put_str(w, wl->id);
	wire_put_key(w, &model_wl_keys[WLK_CUST]);
	wire_put_str(w, wl->customer_id);
	wire_put_key(w, &model_wl_keys[WLK_TYPE]);
	wire_put_str(w, wl->type);
	wire_put_key(w, &model_wl_keys[WLK_PARAMS]);
	wire_put_str(w, wl->params_json);
	wire_put_key(w, &model_wl_keys[WLK_PRIO]);
	wire_put_uint(w, wl->priority);
	wire_put_key(w, &model_wl_keys[WLK_TIER]);
	wire_put_uint(w, (uint64_t)wl->tier);
	wire_put_key(w, &model_wl_keys[WLK_ST]);
	wire_put_uint(w, (uint64_t)wl->status);
	wire_put_key(w, &model_wl_keys[WLK_AFF]);
	model_affinity_encode(w, &wl->affinity);
	wire_put_key(w, &model_wl_keys[WLK_MAXR]);
	wire_put_uint(w, wl->max_retries);
	wire_put_key(w, &model_wl_keys[WLK_TMO]);
	wire_put_uint(w, wl->timeout_seconds);
	wire_put_key(w, &model_wl_keys[WLK_CPI]);
	wire_put_uint(w, wl->ckpt_policy.interval_seconds);
	wire_put_key(w, &model_wl_keys[WLK_CPP]);
	wire_put_uint(w, wl->ckpt_policy.on_progress_percent);
	wire_put_key(w, &model_wl_keys[WLK_SEQ]);
	wire_put_uint(w, wl->seq);
	wire_put_key(w, &model_wl_keys[WLK_CT]);
	wire_put_uint(w, wl->created_ms);
	wire_put_key(w, &model_wl_keys[WLK_UT]);
	wire_put_uint(w, wl->updated_ms);
	wire_put_key(w, &model_wl_keys[WLK_SCT]);
	wire_put_uint(w, wl->scheduled_ms);
	wire_put_key(w, &model_wl_keys[WLK_STT]);
	wire_put_uint(w, wl->started_ms);
	wire_put_key(w, &model_wl_keys[WLK_FT]);
	wire_put_uint(w, wl->finished_ms);
	wire_put_key(w, &model_wl_keys[WLK_WK]);
	wire_put_str(w, wl->worker_id);
	wire_put_key(w, &model_wl_keys[WLK_ATT]);
	wire_put_uint(w, wl->attempt);
	wire_put_key(w, &model_wl_keys[WLK_PROG]);
	wire_put_double(w, wl->progress);
	wire_put_key(w, &model_wl_keys[WLK_PMSG]);
	wire_put_str(w, wl->progress_message);
	wire_put_key(w, &model_wl_keys[WLK_RES]);
	wire_put_str(w, wl->result_json);
	wire_put_key(w, &model_wl_keys[WLK_ERR]);
	wire_put_str(w, wl->error);
	wire_put_key(w, &model_wl_keys[WLK_CPS]);
	wire_put_uint(w, wl->checkpoint_seq);
	wire_put_key(w, &model_wl_keys[WLK_FAILS]);
	wire_put_uint(w, wl->failures);
	wire_put_key(w, &model_wl_keys[WLK_NB]);
	wire_put_uint(w, wl->not_before_ms);
	wire_put_key(w, &model_wl_keys[WLK_CXL]);
	wire_put_bool(w, wl->cancel_requested);
	wire_put_key(w, &model_wl_keys[WLK_RID]);
	wire_put_str(w, wl->request_id);
	wire_put_key(w, &model_wl_keys[WLK_QK]);
	wire_put_int(w, wl->queue_key);
	wire_put_key(w, &model_wl_keys[WLK_RQC]);
	wire_put_uint(w, wl->requests.cpu_millis);
	wire_put_key(w, &model_wl_keys[WLK_RQM]);
	wire_put_uint(w, wl->requests.memory_mb);
	wire_put_key(w, &model_wl_keys[WLK_RQG]);
	wire_put_uint(w, wl->requests.gpus);
	wire_put_key(w, &model_wl_keys[WLK_PRE]);
	wire_put_bool(w, wl->preempting);
	wire_put_key(w, &model_wl_keys[WLK_PREN]);
	wire_put_uint(w, wl->preemptions);
}

int
model_workload_decode(const struct wire_val *v, struct workload *out)
{
	const struct wire_val	*f[WLK__COUNT];
	unsigned		 tier = TIER_FREE, status = WL_PENDING;
	int			 rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_map_collect(v, model_wl_keys, WLK__COUNT, f)) != 0 ||
	    (rc = model_val_id(f[WLK_ID], true, out->id)) != 0 ||
	    (rc = model_val_strdup(f[WLK_CUST], &out->customer_id)) != 0 ||
	    (rc = wire_get_strdup_req(f[WLK_TYPE], &out->type)) != 0 ||
	    (rc = model_val_strdup(f[WLK_PARAMS], &out->params_json)) != 0 ||
	    (rc = model_val_u32(f[WLK_PRIO], &out->priority)) != 0 ||
	    (rc = model_val_enum(f[WLK_TIER], false, TIER__COUNT, &tier)) != 0 ||
	    (rc = model_val_enum(f[WLK_ST], true, WL__COUNT, &status)) != 0)
		goto fail;
	if (out->priority > MODEL_PRIORITY_MAX) {
		rc = ERR_PROTO;
		goto fail;
	}
	out->tier = (enum tier)tier;
	out->status = (enum wl_status)status;
	if (f[WLK_AFF] != NULL &&
	    (rc = model_affinity_decode(f[WLK_AFF], &out->affinity)) != 0)
		goto fail;
	if ((rc = model_val_u32(f[WLK_MAXR], &out->max_retries)) != 0 ||
	    (rc = model_val_u32(f[WLK_TMO], &out->timeout_seconds)) != 0 ||
	    (rc = model_val_u32(f[WLK_CPI],
	    &out->ckpt_policy.interval_seconds)) != 0 ||
	    (rc = model_val_u32(f[WLK_CPP],
	    &out->ckpt_policy.on_progress_percent)) != 0 ||
	    (rc = model_val_uint(f[WLK_SEQ], &out->seq)) != 0 ||
	    (rc = model_val_uint(f[WLK_CT], &out->created_ms)) != 0 ||
	    (rc = model_val_uint(f[WLK_UT], &out->updated_ms)) != 0 ||
	    (rc = model_val_uint(f[WLK_SCT], &out->scheduled_ms)) != 0 ||
	    (rc = model_val_uint(f[WLK_STT], &out->started_ms)) != 0 ||
	    (rc = model_val_uint(f[WLK_FT], &out->finished_ms)) != 0 ||
	    (rc = model_val_strdup(f[WLK_WK], &out->worker_id)) != 0 ||
	    (rc = model_val_u32(f[WLK_ATT], &out->attempt)) != 0 ||
	    (rc = model_val_finite(f[WLK_PROG], &out->progress)) != 0 ||
	    (rc = model_val_strdup(f[WLK_PMSG], &out->progress_message)) != 0 ||
	    (rc = model_val_strdup(f[WLK_RES], &out->result_json)) != 0 ||
	    (rc = model_val_strdup(f[WLK_ERR], &out->error)) != 0 ||
	    (rc = model_val_uint(f[WLK_CPS], &out->checkpoint_seq)) != 0 ||
	    (rc = model_val_u32(f[WLK_FAILS], &out->failures)) != 0 ||
	    (rc = model_val_uint(f[WLK_NB], &out->not_before_ms)) != 0 ||
	    (rc = model_val_bool(f[WLK_CXL], &out->cancel_requested)) != 0 ||
	    (rc = model_val_strdup(f[WLK_RID], &out->request_id)) != 0 ||
	    (rc = model_val_u32(f[WLK_RQC], &out->requests.cpu_millis)) != 0 ||
	    (rc = model_val_u32(f[WLK_RQM], &out->requests.memory_mb)) != 0 ||
	    (rc = model_val_u32(f[WLK_RQG], &out->requests.gpus)) != 0 ||
	    (rc = model_val_bool(f[WLK_PRE], &out->preempting)) != 0 ||
	    (rc = model_val_u32(f[WLK_PREN], &out->preemptions)) != 0)
		goto fail;
	/* Records from before queue keys get theirs from the defaults, which
	 * read priority, tier and created_ms: hence last. */
	if (f[WLK_QK] == NULL)
		out->queue_key = workload_queue_key(out, NULL);
	else if (wire_get_int(f[WLK_QK], &out->queue_key) != 0) {
		rc = ERR_PROTO;
		goto fail;
	}
	return 0;
fail:
	workload_fini(out);
	return rc;
}

/* ---- worker ---- */

/* The worker map's keys, the one spelling of them: model_worker_encode
 * writes them in this order, and the decoder looks for them. */
enum model_worker_key {
	WRK_ID, WRK_TAGS, WRK_CAPS, WRK_CAP, WRK_USED, WRK_VER, WRK_ST,
	WRK_REG, WRK_HB, WRK_OCPU, WRK_OMEM, WRK_OGPU, WRK_GEN, WRK__COUNT
};

static const struct wire_key model_worker_keys[WRK__COUNT] = {
	[WRK_ID] = WIRE_KEY("id"),
	[WRK_TAGS] = WIRE_KEY("tags"),
	[WRK_CAPS] = WIRE_KEY("caps"),
	[WRK_CAP] = WIRE_KEY("cap"),
	[WRK_USED] = WIRE_KEY("used"),
	[WRK_VER] = WIRE_KEY("ver"),
	[WRK_ST] = WIRE_KEY("st"),
	[WRK_REG] = WIRE_KEY("reg"),
	[WRK_HB] = WIRE_KEY("hb"),
	[WRK_OCPU] = WIRE_KEY("ocpu"),
	[WRK_OMEM] = WIRE_KEY("omem"),
	[WRK_OGPU] = WIRE_KEY("ogpu"),
	[WRK_GEN] = WIRE_KEY("gen"),
};

void
model_worker_encode(struct wire_writer *w, const struct worker_rec *wr)
{
	wire_put_map(w, WRK__COUNT);
	wire_put_key(w, &model_worker_keys[WRK_ID]);
	wire_put_str(w, wr->id);
	wire_put_key(w, &model_worker_keys[WRK_TAGS]);
	wire_put_tagset(w, &wr->tags);
	wire_put_key(w, &model_worker_keys[WRK_CAPS]);
	wire_put_strlist(w, &wr->capabilities);
	wire_put_key(w, &model_worker_keys[WRK_CAP]);
	wire_put_uint(w, wr->capacity);
	wire_put_key(w, &model_worker_keys[WRK_USED]);
	wire_put_uint(w, wr->used);
	wire_put_key(w, &model_worker_keys[WRK_VER]);
	wire_put_str(w, wr->version);
	wire_put_key(w, &model_worker_keys[WRK_ST]);
	wire_put_uint(w, (uint64_t)wr->status);
	wire_put_key(w, &model_worker_keys[WRK_REG]);
	wire_put_uint(w, wr->registered_ms);
	wire_put_key(w, &model_worker_keys[WRK_HB]);
	wire_put_uint(w, wr->last_heartbeat_ms);
	wire_put_key(w, &model_worker_keys[WRK_OCPU]);
	wire_put_uint(w, wr->offered.cpu_millis);
	wire_put_key(w, &model_worker_keys[WRK_OMEM]);
	wire_put_uint(w, wr->offered.memory_mb);
	wire_put_key(w, &model_worker_keys[WRK_OGPU]);
	wire_put_uint(w, wr->offered.gpus);
	wire_put_key(w, &model_worker_keys[WRK_GEN]);
	wire_put_uint(w, wr->generation);
}

int
model_worker_decode(const struct wire_val *v, struct worker_rec *out)
{
	const struct wire_val	*f[WRK__COUNT];
	unsigned		 status = WORKER_ALIVE;
	int			 rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_map_collect(v, model_worker_keys, WRK__COUNT, f)) != 0 ||
	    (rc = wire_get_strdup_req(f[WRK_ID], &out->id)) != 0 ||
	    (rc = model_val_tagset(f[WRK_TAGS], &out->tags)) != 0 ||
	    (rc = model_val_strlist(f[WRK_CAPS], &out->capabilities)) != 0 ||
	    (rc = model_val_u32(f[WRK_CAP], &out->capacity)) != 0 ||
	    (rc = model_val_u32(f[WRK_USED], &out->used)) != 0 ||
	    (rc = model_val_u32(f[WRK_OCPU], &out->offered.cpu_millis)) != 0 ||
	    (rc = model_val_u32(f[WRK_OMEM], &out->offered.memory_mb)) != 0 ||
	    (rc = model_val_u32(f[WRK_OGPU], &out->offered.gpus)) != 0 ||
	    (rc = model_val_strdup(f[WRK_VER], &out->version)) != 0 ||
	    (rc = model_val_enum(f[WRK_ST], false, WORKER__COUNT,
	    &status)) != 0 ||
	    (rc = model_val_uint(f[WRK_REG], &out->registered_ms)) != 0 ||
	    (rc = model_val_uint(f[WRK_HB], &out->last_heartbeat_ms)) != 0 ||
	    (rc = model_val_uint(f[WRK_GEN], &out->generation)) != 0)
		goto fail;
	out->status = (enum worker_status)status;
	return 0;
fail:
	worker_rec_fini(out);
	return rc;
}

/* ---- api key ---- */

#define MODEL_API_KEY_FIELDS	6

void
model_api_key_encode(struct wire_writer *w, const struct api_key *k)
{
	wire_put_map(w, MODEL_API_KEY_FIELDS);
	wire_put_str(w, "id");
	wire_put_str(w, k->id);
	wire_put_str(w, "cust");
	wire_put_str(w, k->customer_id);
	wire_put_str(w, "role");
	wire_put_uint(w, (uint64_t)k->role);
	wire_put_str(w, "hash");
	wire_put_bin(w, k->hash, sizeof k->hash);
	wire_put_str(w, "ct");
	wire_put_uint(w, k->created_ms);
	wire_put_str(w, "rev");
	wire_put_bool(w, k->revoked);
}

int
model_api_key_decode(const struct wire_val *v, struct api_key *out)
{
	const void	*p;
	size_t		 len;
	unsigned	 role = KEY_ROLE_ADMIN;
	int		 rc;

	memset(out, 0, sizeof *out);
	if (wire_val_type(v) != WIRE_MAP)
		return ERR_PROTO;
	if ((rc = model_field_id(v, "id", true, out->id)) != 0 ||
	    (rc = wire_field_strdup(v, "cust", &out->customer_id)) != 0 ||
	    (rc = model_field_enum(v, "role", false, KEY_ROLE_CUSTOMER + 1,
	    &role)) != 0 ||
	    (rc = wire_field_uint(v, "ct", &out->created_ms)) != 0 ||
	    (rc = wire_field_bool(v, "rev", &out->revoked)) != 0)
		goto fail;
	out->role = (enum key_role)role;
	if (wire_get_bin(wire_map_get(v, "hash"), &p, &len) != 0 ||
	    len != sizeof out->hash) {
		rc = ERR_PROTO;
		goto fail;
	}
	memcpy(out->hash, p, len);
	return 0;
fail:
	api_key_fini(out);
	return rc;
}

/* ---- customer ---- */

#define MODEL_CUSTOMER_FIELDS	8

void
model_customer_encode(struct wire_writer *w, const struct customer *c)
{
	wire_put_map(w, MODEL_CUSTOMER_FIELDS);
	wire_put_str(w, "id");
	wire_put_str(w, c->id);
	wire_put_str(w, "name");
	wire_put_str(w, c->name);
	wire_put_str(w, "tier");
	wire_put_uint(w, (uint64_t)c->tier);
	wire_put_str(w, "mqd");
	wire_put_uint(w, c->max_queue_depth);
	wire_put_str(w, "mc");
	wire_put_uint(w, c->max_concurrent);
	wire_put_str(w, "rps");
	wire_put_uint(w, c->rate_limit_rps);
	wire_put_str(w, "ct");
	wire_put_uint(w, c->created_ms);
	wire_put_str(w, "ut");
	wire_put_uint(w, c->updated_ms);
}

int
model_customer_decode(const struct wire_val *v, struct customer *out)
{
	unsigned	 tier = TIER_FREE;
	int		 rc;

	memset(out, 0, sizeof *out);
	if (wire_val_type(v) != WIRE_MAP)
		return ERR_PROTO;
	/* A customer without a tier would silently become "free": the tier
	 * decides its priority weight, so it is required. */
	if ((rc = model_field_id(v, "id", true, out->id)) != 0 ||
	    (rc = wire_field_str_req(v, "name", &out->name)) != 0 ||
	    (rc = model_field_enum(v, "tier", true, TIER__COUNT, &tier)) != 0 ||
	    (rc = wire_field_u32(v, "mqd", &out->max_queue_depth)) != 0 ||
	    (rc = wire_field_u32(v, "mc", &out->max_concurrent)) != 0 ||
	    (rc = wire_field_u32(v, "rps", &out->rate_limit_rps)) != 0 ||
	    (rc = wire_field_uint(v, "ct", &out->created_ms)) != 0 ||
	    (rc = wire_field_uint(v, "ut", &out->updated_ms)) != 0)
		goto fail;
	out->tier = (enum tier)tier;
	return 0;
fail:
	customer_fini(out);
	return rc;
}

/* ---- node ---- */

enum { NODEK_ID, NODEK_RAFT, NODEK_HTTP, NODEK_WORKER, NODEK_AT, NODEK__COUNT };

static const struct wire_key model_node_keys[NODEK__COUNT] = {
	[NODEK_ID] = WIRE_KEY("id"),
	[NODEK_RAFT] = WIRE_KEY("raft"),
	[NODEK_HTTP] = WIRE_KEY("http"),
	[NODEK_WORKER] = WIRE_KEY("wrk"),
	[NODEK_AT] = WIRE_KEY("at"),
};

void
model_node_encode(struct wire_writer *w, const struct node_rec *n)
{
	wire_put_map(w, NODEK__COUNT);
	wire_put_key(w, &model_node_keys[NODEK_ID]);
	wire_put_uint(w, n->id);
	wire_put_key(w, &model_node_keys[NODEK_RAFT]);
	wire_put_str(w, n->raft_address);
	wire_put_key(w, &model_node_keys[NODEK_HTTP]);
	wire_put_str(w, n->http_url);
	wire_put_key(w, &model_node_keys[NODEK_WORKER]);
	wire_put_str(w, n->worker_url);
	wire_put_key(w, &model_node_keys[NODEK_AT]);
	wire_put_uint(w, n->updated_ms);
}

int
model_node_decode(const struct wire_val *v, struct node_rec *out)
{
	const struct wire_val	*f[NODEK__COUNT];
	int			 rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_map_collect(v, model_node_keys, NODEK__COUNT, f)) != 0)
		return rc;
	if ((rc = model_val_uint(f[NODEK_ID], &out->id)) != 0 ||
	    (rc = model_val_strdup(f[NODEK_RAFT], &out->raft_address)) != 0 ||
	    (rc = model_val_strdup(f[NODEK_HTTP], &out->http_url)) != 0 ||
	    (rc = model_val_strdup(f[NODEK_WORKER], &out->worker_url)) != 0 ||
	    (rc = model_val_uint(f[NODEK_AT], &out->updated_ms)) != 0)
		goto fail;
	if (!node_rec_valid(out)) {
		rc = ERR_PROTO;
		goto fail;
	}
	return 0;
fail:
	node_rec_fini(out);
	return rc;
}

/* ---- ids and names ---- */

/* Fills buf with len random bytes from the kernel.  getrandom(2) blocks only
 * until the pool is first initialised; /dev/urandom covers kernels without
 * the syscall (ENOSYS, e.g. under old seccomp profiles). */
static void
model_random_bytes(uint8_t *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	while (off < len) {
		n = getrandom(buf + off, len - off, 0);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (off == len)
		return;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) >= 0) {
		while (off < len) {
			n = read(fd, buf + off, len - off);
			if (n > 0)
				off += (size_t)n;
			else if (!(n < 0 && errno == EINTR))
				break;
		}
		close(fd);
	}
	/* An id that might collide would silently merge two workloads;
	 * without any entropy source there is nothing safe to return. */
	if (off < len)
		log_fatal("NORANDOM", "no random source for ids: %s",
		    strerror(errno));
}

void
resources_take(struct resources *free_r, const struct resources *req)
{
	free_r->cpu_millis -= req->cpu_millis < free_r->cpu_millis ?
	    req->cpu_millis : free_r->cpu_millis;
	free_r->memory_mb -= req->memory_mb < free_r->memory_mb ?
	    req->memory_mb : free_r->memory_mb;
	free_r->gpus -= req->gpus < free_r->gpus ? req->gpus : free_r->gpus;
}

void
model_id_generate(char id[MODEL_ID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 b[16];
	size_t			 i, o = 0;

	uint64_t		 ms = clock_wall_ms();

	/* UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74
	 * random bits.  Ids made close in time sort close together, so new
	 * workloads land at the right edge of LMDB's B-trees instead of on a
	 * random leaf each: a batch of 1000 dirties a handful of pages, not
	 * thousands, and the commit that writes them is that much cheaper. */
	model_random_bytes(b, sizeof b);
	for (i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (8 * (5 - i)));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);	/* version 7 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);	/* RFC 9562 variant */
	for (i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			id[o++] = '-';
		id[o++] = hex[b[i] >> 4];
		id[o++] = hex[b[i] & 0x0f];
	}
	id[o] = '\0';
}

bool
model_id_valid(const char *s)
{
	size_t	 i;
	char	 c;

	if (s == NULL)
		return false;
	for (i = 0; i < MODEL_ID_LEN; i++) {
		c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return false;
	}
	return s[MODEL_ID_LEN] == '\0';
}

bool
model_name_valid(const char *s)
{
	size_t	 i;
	char	 c;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= MODEL_NAME_MAX)
			return false;
		c = s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '/' || c == '-')
			continue;
		return false;
	}
	return true;
}
