/*
 * /v1/workloads: submit (one, or a batch), list, get, list checkpoints,
 * cancel (one, or a batch), pause and resume.
 *
 * Writes are commands proposed through coord_propose, which returns only
 * once the command is committed and applied (or its fate is unknown); the
 * answer is then read back from the state machine, so a client sees the
 * record exactly as stored.  A customer key sees only its own customer's
 * workloads: another customer's workload answers 404, the same as one that
 * does not exist, so ids cannot be probed.
 *
 * Submissions carry the customer's current tier and its queue limits; the
 * state machine is the authority on those limits (ERR_QUEUEFULL,
 * ERR_OVERLOADED, nothing stored), and a cheap read before proposing turns
 * most refusals away without a log entry.  An Idempotency-Key makes a
 * retried submission answer with the workload the first one created.
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "src/secret.h"
#include "src/strs.h"
#include "web/api_internal.h"
#include "web/json.h"

#define API_TYPES_TTL_MS	1000	/* known types cache lifetime */

static int
api_workloads_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The workload types this cluster can run: the built-ins and every
 * capability of a registered worker, sorted. */
static int
api_workloads_types_read(struct fsm *f, struct strlist *known)
{
	struct worker_rec	*ws = NULL;
	size_t			 nw = 0, i, j;
	int			 rc;

	if ((rc = strlist_add(known, JSON_TYPE_EXEC)) != 0 ||
	    (rc = strlist_add(known, JSON_TYPE_SLEEP)) != 0)
		return rc;
	if ((rc = fsm_worker_list(f, &ws, &nw)) != 0)
		return rc;
	for (i = 0; i < nw && rc == 0; i++)
		for (j = 0; j < ws[i].capabilities.n && rc == 0; j++)
			if (!strlist_contains(known, ws[i].capabilities.v[j]))
				rc = strlist_add(known, ws[i].capabilities.v[j]);
	for (i = 0; i < nw; i++)
		worker_rec_fini(&ws[i]);
	free(ws);
	if (rc == 0)
		qsort(known->v, known->n, sizeof known->v[0], api_workloads_name_cmp);
	return rc;
}

/* A copy of the known types into the empty *out.  The list is cached for
 * API_TYPES_TTL_MS, so a burst of submissions reads the workers once; with
 * fresh, it is read again now (a submission naming a type the cache does
 * not know is checked against a fresh list before it is refused, so a
 * worker that has just registered is never missed). */
static int
api_workloads_types_get(struct api_req *r, bool fresh, struct strlist *out)
{
	struct api	*a = r->api;
	struct strlist	 known = { 0 };
	uint64_t	 now = clock_mono_ms();
	int		 rc = 0;

	pthread_mutex_lock(&a->types_mu);
	if (fresh || a->types_at_ms == 0 || now - a->types_at_ms > API_TYPES_TTL_MS) {
		if ((rc = api_workloads_types_read(coord_fsm(a->coord), &known)) == 0) {
			strlist_fini(&a->types);
			a->types = known;
			a->types_at_ms = now;
		} else
			strlist_fini(&known);
	}
	if (rc == 0)
		rc = strlist_dup(out, &a->types);
	pthread_mutex_unlock(&a->types_mu);
	return rc;
}

/* True if a refusal may be due to a stale list of types: one item names a
 * type the cache does not know, or only "unprocessable" problems remain. */
static bool
api_workloads_type_unknown(int rc, json_t *details)
{
	json_t	*d;
	size_t	 i;

	if (rc == ERR_UNPROCESSABLE)
		return true;
	json_array_foreach(details, i, d)
		if (json_object_get(d, "known_types") != NULL)
			return true;
	return false;
}

/* ---- admission: queue limits ---- */

/* The customer id, tier and queue limit submissions of the caller get. */
static const char *
api_workloads_owner(const struct api_req *r, enum tier *tier, uint32_t *queue_limit)
{
	if (r->who.role == KEY_ROLE_ADMIN) {
		*tier = TIER_STANDARD;		/* the operator's own work */
		*queue_limit = 0;
	} else {
		*tier = r->who.customer.tier;
		*queue_limit = api_customer_queue_limit(r->api, &r->who.customer);
	}
	return r->who.customer_id;
}

/* Answers 503 for a queue limit: err is ERR_QUEUEFULL (the caller's
 * max_queue_depth) or ERR_OVERLOADED (global_max_pending); adding is the
 * number of workloads that did not fit.  The counts are read now, for the
 * details. */
static void
api_workloads_full(struct api_req *r, int err, size_t adding)
{
	struct fsm	*f = coord_fsm(r->api->coord);
	struct fsm_usage u = { 0 };
	uint64_t	 counts[WL__COUNT] = { 0 };
	uint32_t	 limit;
	enum tier	 tier;
	const char	*cust = api_workloads_owner(r, &tier, &limit);
	json_t		*d;

	if (err == ERR_QUEUEFULL) {
		(void)fsm_customer_usage(f, cust, &u);
		d = json_pack("[{s:s,s:I,s:I,s:s,s:I}]", "limit", "max_queue_depth",
		    "value", (json_int_t)limit, "pending", (json_int_t)u.pending,
		    "customer_id", cust, "submitted", (json_int_t)adding);
		api_reply_error(r, ERR_QUEUEFULL, d, "the queue of customer %s is full: "
		    "max_queue_depth is %" PRIu32 " PENDING workloads and %" PRIu64
		    " are pending; it cannot take %zu more, retry later", cust, limit,
		    u.pending, adding);
		return;
	}
	limit = r->api->global_max_pending;
	(void)fsm_status_counts(f, counts);
	d = json_pack("[{s:s,s:I,s:I,s:I}]", "limit", "global_max_pending", "value",
	    (json_int_t)limit, "pending", (json_int_t)counts[WL_PENDING], "submitted",
	    (json_int_t)adding);
	api_reply_error(r, ERR_OVERLOADED, d, "the cluster is at capacity: "
	    "global_max_pending is %" PRIu32 " PENDING workloads and %" PRIu64
	    " are pending; it cannot take %zu more, retry later", limit,
	    counts[WL_PENDING], adding);
}

/* Whether n more PENDING workloads fit the limits, by the counts now: 0,
 * or nonzero having answered 503.  The state machine checks again when it
 * applies the submission; this only spares the log a doomed entry.  A
 * count that cannot be read lets the submission through to that check. */
static int
api_workloads_room(struct api_req *r, size_t n)
{
	struct fsm		*f = coord_fsm(r->api->coord);
	struct fsm_usage	 u;
	uint64_t		 counts[WL__COUNT];
	uint32_t		 limit;
	enum tier		 tier;
	const char		*cust = api_workloads_owner(r, &tier, &limit);

	if (limit != 0 && fsm_customer_usage(f, cust, &u) == 0 &&
	    u.pending + n > limit) {
		api_workloads_full(r, ERR_QUEUEFULL, n);
		return ERR_QUEUEFULL;
	}
	if (r->api->global_max_pending != 0 && fsm_status_counts(f, counts) == 0 &&
	    counts[WL_PENDING] + n > r->api->global_max_pending) {
		api_workloads_full(r, ERR_OVERLOADED, n);
		return ERR_OVERLOADED;
	}
	return 0;
}

/* The Workload object of wl, its effective priority as of now, and, while
 * it waits, why the scheduler's last pass did not place it. */
static json_t *
api_workload_json(struct api_req *r, const struct workload *wl)
{
	json_t		*o = json_workload(wl, &r->api->queue, clock_wall_ms());
	const char	*why = NULL;

	if (wl->status == WL_PENDING)
		why = sched_report_reason(coord_sched_report(r->api->coord), wl->id);
	if (o != NULL && json_object_set_new(o, "unschedulable_reason",
	    why != NULL ? json_string(why) : json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Fills what the caller does not give of a new record: id, owner, tier,
 * status, times and the request id.  0 or ERR_NOMEM. */
static int
api_workloads_stamp(struct api_req *r, struct workload *wl, uint64_t now)
{
	uint32_t	 limit;
	enum tier	 tier;
	const char	*cust = api_workloads_owner(r, &tier, &limit);

	model_id_generate(wl->id);
	wl->tier = tier;
	wl->status = WL_PENDING;
	wl->created_ms = now;
	wl->updated_ms = now;
	wl->queue_key = workload_queue_key(wl, &r->api->queue);
	if ((wl->customer_id = strdup(cust)) == NULL ||
	    (wl->request_id = strdup(r->request_id)) == NULL)
		return ERR_NOMEM;
	return 0;
}

/* A SUBMIT of wls[0..n) by the caller (borrowing everything: no cmd_fini). */
static void
api_workloads_submit_cmd(struct api_req *r, struct cmd *cmd, struct workload *wls,
    size_t n, uint64_t now)
{
	enum tier	 tier;

	memset(cmd, 0, sizeof *cmd);
	cmd->type = CMD_SUBMIT;
	cmd->now_ms = now;
	cmd->actor = r->who.key_id;
	cmd->request_id = r->request_id;
	cmd->workloads = wls;
	cmd->n_workloads = n;
	(void)api_workloads_owner(r, &tier, &cmd->queue_limit);
	cmd->global_limit = r->api->global_max_pending;
}

/* ---- Idempotency-Key ---- */

/* The request's Idempotency-Key into key (NULL if absent).  0, or nonzero
 * having answered 400. */
static int
api_idempotency_key_get(struct api_req *r, char key[API_IDEMPOTENCY_KEY_MAX + 1],
    bool *present)
{
	const char	*h = mg_get_header(r->conn, "Idempotency-Key");
	size_t		 i;

	*present = false;
	if (h == NULL)
		return 0;
	for (i = 0; h[i] != '\0'; i++)
		if (i >= API_IDEMPOTENCY_KEY_MAX || h[i] < 0x20 || h[i] > 0x7e)
			break;
	if (i == 0 || h[i] != '\0') {
		api_reply_error(r, ERR_INVAL, json_pack("[{s:s,s:s,s:s,s:i}]", "field",
		    "Idempotency-Key", "message", "must be 1..128 printable ASCII "
		    "characters", "limit", "max_idempotency_key_length", "value",
		    API_IDEMPOTENCY_KEY_MAX), "the Idempotency-Key header must be "
		    "1..%d printable ASCII characters", API_IDEMPOTENCY_KEY_MAX);
		return ERR_INVAL;
	}
	memcpy(key, h, i + 1);
	*present = true;
	return 0;
}

/* Answers a submission whose key was seen before: 200 with the workload
 * it created if the body is the same, 409 if it is not.  0 if it answered;
 * ERR_NOTFOUND if the key is not known (nothing sent). */
static int
api_idempotency_answer(struct api_req *r, const char *key, const uint8_t hash[32],
    uint64_t now)
{
	struct fsm		*f = coord_fsm(r->api->coord);
	struct fsm_idempotency	 idem;
	struct workload		 wl;
	int			 rc;

	memset(&idem, 0, sizeof idem);
	rc = fsm_idempotency_get(f, r->who.customer_id, key, now, &idem);
	if (rc == ERR_NOTFOUND)
		return rc;
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot check the Idempotency-Key");
		return 0;
	}
	if (!secret_hash_equal(idem.body_hash, hash)) {
		api_reply_error(r, ERR_CONFLICT, json_pack("[{s:s,s:s,s:s}]", "field",
		    "Idempotency-Key", "idempotency_key", key, "workload_id",
		    idem.workload_id), "Idempotency-Key \"%s\" was already used with a "
		    "different body (it created workload %s); use a new key for a new "
		    "submission", key, idem.workload_id);
		return 0;
	}
	memset(&wl, 0, sizeof wl);
	if ((rc = fsm_workload_get(f, idem.workload_id, &wl)) != 0) {
		api_reply_error(r, rc == ERR_NOTFOUND ? ERR_INTERNAL : rc, NULL,
		    "Idempotency-Key \"%s\" names workload %s, which cannot be read",
		    key, idem.workload_id);
		return 0;
	}
	api_header_add(r, "Location", "/v1/workloads/%s", wl.id);
	api_header_add(r, "Idempotent-Replayed", "true");
	api_reply_json(r, 200, api_workload_json(r, &wl));
	workload_fini(&wl);
	return 0;
}

/* ---- submit ---- */

void
api_workloads_submit(struct api_req *r)
{
	struct fsm	*f = coord_fsm(r->api->coord);
	struct strlist	 known = { 0 };
	struct workload	 wl, back;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL, key[API_IDEMPOTENCY_KEY_MAX + 1];
	uint8_t		 hash[32];
	size_t		 len;
	uint64_t	 now = clock_wall_ms();
	bool		 has_key;
	int		 rc;

	memset(&wl, 0, sizeof wl);
	memset(&back, 0, sizeof back);
	errbuf_clear(&eb);
	if (api_idempotency_key_get(r, key, &has_key) != 0)
		return;
	if (api_body_read(r, &body, &len) != 0)
		return;
	if (has_key) {
		/* The hash covers the raw body; a NUL would end it early, and
		 * no JSON text has one. */
		if (memchr(body, '\0', len) != NULL) {
			api_reply_error(r, ERR_INVAL, api_detail("body",
			    "contains a NUL byte"), "malformed JSON: the body contains a "
			    "NUL byte");
			goto out;
		}
		secret_hash(body, hash);
		if (api_idempotency_answer(r, key, hash, now) == 0)
			goto out;
	}
	if ((rc = api_workloads_types_get(r, false, &known)) != 0) {
		api_reply_error(r, rc, NULL, "cannot list the known workload types");
		goto out;
	}
	rc = json_submission_parse(body, len, &known, &wl, &details, &eb);
	if (rc != 0 && details != NULL && api_workloads_type_unknown(rc, details)) {
		json_decref(details);
		details = NULL;
		strlist_fini(&known);
		if ((rc = api_workloads_types_get(r, true, &known)) != 0) {
			api_reply_error(r, rc, NULL, "cannot list the known workload types");
			goto out;
		}
		rc = json_submission_parse(body, len, &known, &wl, &details, &eb);
	}
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if (api_workloads_stamp(r, &wl, now) != 0) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (api_workloads_room(r, 1) != 0)
		goto out;

	api_workloads_submit_cmd(r, &cmd, &wl, 1, now);
	if (has_key) {
		cmd.idempotency_key = key;
		memcpy(cmd.body_hash, hash, sizeof cmd.body_hash);
	}
	errbuf_clear(&eb);
	rc = coord_propose(r->api->coord, &cmd, &eb);
	if (rc == ERR_EXISTS && has_key) {
		/* Another request with this key got in first: answer as its
		 * retry would be answered. */
		if (api_idempotency_answer(r, key, hash, now) != 0)
			api_reply_error(r, ERR_CONFLICT, NULL, "Idempotency-Key \"%s\" "
			    "is being used by a concurrent request", key);
		goto out;
	}
	if (rc == ERR_QUEUEFULL || rc == ERR_OVERLOADED) {
		api_workloads_full(r, rc, 1);
		goto out;
	}
	if (rc != 0) {
		api_reply_propose_error(r, rc, &eb, "submission");
		goto out;
	}
	api_header_add(r, "Location", "/v1/workloads/%s", wl.id);
	if ((rc = fsm_workload_get(f, wl.id, &back)) == 0)
		api_reply_json(r, 201, api_workload_json(r, &back));
	else {
		/* Applied, so it is stored; answer with what was submitted. */
		log_warn("HTTPREAD", "workload %s applied but not read back: %s rid=%s",
		    wl.id, err_code_name(rc), r->request_id);
		api_reply_json(r, 201, api_workload_json(r, &wl));
	}
out:
	explicit_bzero(hash, sizeof hash);
	workload_fini(&back);
	workload_fini(&wl);
	strlist_fini(&known);
	free(body);
}

void
api_workloads_batch(struct api_req *r)
{
	struct strlist	 known = { 0 };
	struct workload	*wls = NULL;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL, *arr = NULL, *res;
	char		*body = NULL, *text;
	size_t		 len, n = 0, i, text_len;
	uint64_t	 now = clock_wall_ms();
	int		 rc;

	errbuf_clear(&eb);
	if (mg_get_header(r->conn, "Idempotency-Key") != NULL) {
		/* Ignoring it would let a client believe a retry is safe. */
		api_reply_error(r, ERR_INVAL, api_detail("Idempotency-Key",
		    "not supported on batch submissions"), "Idempotency-Key is "
		    "supported on POST /v1/workloads only, not on batches");
		return;
	}
	if (api_body_read(r, &body, &len) != 0)
		return;
	if ((rc = api_workloads_types_get(r, false, &known)) != 0) {
		api_reply_error(r, rc, NULL, "cannot list the known workload types");
		goto out;
	}
	rc = json_batch_parse(body, len, &known, &wls, &n, &details, &eb);
	if (rc != 0 && details != NULL && api_workloads_type_unknown(rc, details)) {
		json_decref(details);
		details = NULL;
		strlist_fini(&known);
		if ((rc = api_workloads_types_get(r, true, &known)) != 0) {
			api_reply_error(r, rc, NULL, "cannot list the known workload types");
			goto out;
		}
		rc = json_batch_parse(body, len, &known, &wls, &n, &details, &eb);
	}
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (api_workloads_stamp(r, &wls[i], now) != 0) {
			api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
	if (api_workloads_room(r, n) != 0)
		goto out;

	/* One command: the whole batch is stored, or none of it. */
	api_workloads_submit_cmd(r, &cmd, wls, n, now);
	errbuf_clear(&eb);
	rc = coord_propose(r->api->coord, &cmd, &eb);
	if (rc == ERR_QUEUEFULL || rc == ERR_OVERLOADED) {
		api_workloads_full(r, rc, n);
		goto out;
	}
	if (rc != 0) {
		api_reply_propose_error(r, rc, &eb, "batch submission");
		goto out;
	}
	/* Summaries of what was stored, not a read-back of every record: a
	 * 1000-item answer stays cheap. */
	if ((text = json_batch_answer(wls, n, &text_len)) != NULL) {
		api_reply_raw(r, 201, "application/json", text, text_len);
		free(text);
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n && arr != NULL; i++)
		if (json_array_append_new(arr, json_workload_summary(&wls[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	res = arr != NULL ? json_pack("{s:o,s:I}", "workloads", arr, "count",
	    (json_int_t)n) : NULL;
	api_reply_json(r, 201, res);
out:
	for (i = 0; i < n; i++)
		workload_fini(&wls[i]);
	free(wls);
	strlist_fini(&known);
	free(body);
}

/* ---- one workload ---- */

/* Reads workload id into *wl, if the caller may see it.  0, or nonzero
 * (ERR_NOTFOUND for unknown, malformed and invisible ids alike) without
 * answering. */
static int
api_workload_read(struct api_req *r, const char *param, struct workload *wl)
{
	char	 id[MODEL_ID_LEN + 1];
	size_t	 i;
	int	 rc;

	memset(wl, 0, sizeof *wl);
	if (!model_id_valid(param))
		return ERR_NOTFOUND;
	for (i = 0; i <= MODEL_ID_LEN; i++)
		id[i] = (char)tolower((unsigned char)param[i]);
	rc = fsm_workload_get(coord_fsm(r->api->coord), id, wl);
	if (rc == 0 && !api_can_see(r, wl->customer_id)) {
		workload_fini(wl);
		rc = ERR_NOTFOUND;
	}
	return rc;
}

/* Reads the workload named by the path into *wl, if the caller may see
 * it.  0, or nonzero after answering (404 or the store's error). */
static int
api_workload_load(struct api_req *r, struct workload *wl)
{
	int	 rc;

	if ((rc = api_workload_read(r, r->params[0], wl)) == ERR_NOTFOUND) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no workload \"%.64s\"",
		    r->params[0]);
		return rc;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read workload %.64s", r->params[0]);
		return rc;
	}
	return 0;
}

void
api_workload_get(struct api_req *r)
{
	struct workload	 wl;

	if (api_workload_load(r, &wl) != 0)
		return;
	api_reply_json(r, 200, api_workload_json(r, &wl));
	workload_fini(&wl);
}

/* The committed checkpoints of the workload, oldest first.  Visibility is
 * the workload's (api_workload_load): another customer's id is a 404. */
void
api_workload_checkpoints(struct api_req *r)
{
	struct checkpoint_info	*list = NULL;
	struct workload		 wl;
	size_t			 n = 0;
	int			 rc;

	if (api_workload_load(r, &wl) != 0)
		return;
	if ((rc = fsm_checkpoint_list(coord_fsm(r->api->coord), wl.id, &list, &n)) != 0)
		api_reply_error(r, rc, NULL, "cannot list the checkpoints of workload %s",
		    wl.id);
	else
		api_reply_json(r, 200, json_checkpoint_list(wl.id, list, n));
	free(list);
	workload_fini(&wl);
}

/* [{"status": "<current>"}] for a 409. */
static json_t *
api_workloads_status_details(enum wl_status s)
{
	return json_pack("[{s:s}]", "status", wl_status_name(s));
}

void
api_workload_cancel(struct api_req *r)
{
	struct workload	 wl;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL, *reason = NULL;
	size_t		 len;
	int		 rc;

	memset(&wl, 0, sizeof wl);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_cancel_parse(body, len, &reason, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if (api_workload_load(r, &wl) != 0)
		goto out;
	if (wl_status_is_terminal(wl.status)) {
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s is already %s", wl.id, wl_status_name(wl.status));
		goto out;
	}

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_CANCEL;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	memcpy(cmd.workload_id, wl.id, sizeof cmd.workload_id);
	cmd.message = reason;
	errbuf_clear(&eb);
	rc = coord_propose(r->api->coord, &cmd, &eb);
	if (rc != 0 && rc != ERR_CONFLICT) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "no workload %s", wl.id);
		else
			api_reply_propose_error(r, rc, &eb, "cancel");
		goto out;
	}

	/* Read back: what the state machine did is the answer. */
	workload_fini(&wl);
	if (api_workload_load(r, &wl) != 0)
		goto out;
	if (rc == ERR_CONFLICT)
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s cannot be cancelled now: it is %s%s%s%s", wl.id,
		    wl_status_name(wl.status), eb.msg[0] != '\0' ? " (" : "", eb.msg,
		    eb.msg[0] != '\0' ? ")" : "");
	else if (wl.status == WL_CANCELLED)
		api_reply_json(r, 200, api_workload_json(r, &wl));
	else
		api_reply_json(r, 202, api_workload_json(r, &wl));
out:
	workload_fini(&wl);
	free(reason);
	free(body);
}

/* Pause or resume the workload of the path: type is CMD_PAUSE or
 * CMD_RESUME.  A pause of a running workload is only asked for (PAUSING,
 * 202) until its worker checkpoints and stops; anything else is done at
 * once (200). */
static void
api_workload_transition(struct api_req *r, enum cmd_type type)
{
	const char	*verb = type == CMD_PAUSE ? "paused" : "resumed";
	struct workload	 wl;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL;
	size_t		 len;
	bool		 legal;
	int		 rc;

	memset(&wl, 0, sizeof wl);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_empty_parse(body, len, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if (api_workload_load(r, &wl) != 0)
		goto out;
	/* The obvious refusals cost no log entry; the state machine decides
	 * the rest. */
	if (type == CMD_PAUSE)
		legal = !wl_status_is_terminal(wl.status) && wl.status != WL_PAUSING &&
		    wl.status != WL_PAUSED;
	else
		legal = wl.status == WL_PAUSED;
	if (!legal) {
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s cannot be %s: it is %s", wl.id, verb,
		    wl_status_name(wl.status));
		goto out;
	}

	memset(&cmd, 0, sizeof cmd);
	cmd.type = type;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	memcpy(cmd.workload_id, wl.id, sizeof cmd.workload_id);
	errbuf_clear(&eb);
	rc = coord_propose(r->api->coord, &cmd, &eb);
	if (rc != 0 && rc != ERR_CONFLICT) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "no workload %s", wl.id);
		else
			api_reply_propose_error(r, rc, &eb, type == CMD_PAUSE ? "pause" :
			    "resume");
		goto out;
	}
	workload_fini(&wl);
	if (api_workload_load(r, &wl) != 0)
		goto out;
	if (rc == ERR_CONFLICT)
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s cannot be %s now: it is %s%s%s%s", wl.id, verb,
		    wl_status_name(wl.status), eb.msg[0] != '\0' ? " (" : "", eb.msg,
		    eb.msg[0] != '\0' ? ")" : "");
	else if (type == CMD_PAUSE && wl.status == WL_PAUSING)
		api_reply_json(r, 202, api_workload_json(r, &wl));
	else
		api_reply_json(r, 200, api_workload_json(r, &wl));
out:
	workload_fini(&wl);
	free(body);
}

void
api_workload_pause(struct api_req *r)
{
	api_workload_transition(r, CMD_PAUSE);
}

void
api_workload_resume(struct api_req *r)
{
	api_workload_transition(r, CMD_RESUME);
}

/* ---- batch cancel ---- */

enum api_cancel_result {
	API_CANCEL_SEND,		/* visible and not finished: in the command */
	API_CANCEL_NOTFOUND,
	API_CANCEL_CONFLICT,		/* already finished before the request */
};

void
api_workloads_batch_cancel(struct api_req *r)
{
	char			(*ids)[MODEL_ID_LEN + 1] = NULL, (*send)[MODEL_ID_LEN + 1] = NULL;
	enum api_cancel_result	*pre = NULL;
	struct workload		 wl;
	struct errbuf		 eb;
	struct cmd		 cmd;
	json_t			*details = NULL, *arr = NULL, *o;
	const char		*result;
	char			*body = NULL, *reason = NULL;
	size_t			 len, n = 0, n_send = 0, i;
	int			 rc;

	memset(&wl, 0, sizeof wl);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_cancel_batch_parse(body, len, &ids, &n, &reason, &details,
	    &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if ((pre = calloc(n, sizeof *pre)) == NULL ||
	    (send = calloc(n, sizeof *send)) == NULL) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	/* Only what the caller may see goes into the command, so a customer
	 * cannot even try to touch another's workloads. */
	for (i = 0; i < n; i++) {
		rc = api_workload_read(r, ids[i], &wl);
		if (rc == ERR_NOTFOUND)
			pre[i] = API_CANCEL_NOTFOUND;
		else if (rc != 0) {
			api_reply_error(r, rc, NULL, "cannot read workload %s", ids[i]);
			goto out;
		} else if (wl_status_is_terminal(wl.status))
			pre[i] = API_CANCEL_CONFLICT;
		else {
			pre[i] = API_CANCEL_SEND;
			memcpy(send[n_send++], ids[i], sizeof send[0]);
		}
		workload_fini(&wl);
	}
	if (n_send > 0) {
		memset(&cmd, 0, sizeof cmd);
		cmd.type = CMD_CANCEL_BATCH;
		cmd.now_ms = clock_wall_ms();
		cmd.actor = r->who.key_id;
		cmd.request_id = r->request_id;
		cmd.message = reason;
		cmd.ids = send;
		cmd.n_ids = n_send;
		errbuf_clear(&eb);
		rc = coord_propose(r->api->coord, &cmd, &eb);
		/* Each id is applied on its own: a rejection of some is read
		 * back below, per id. */
		if (rc != 0 && rc != ERR_CONFLICT && rc != ERR_NOTFOUND) {
			api_reply_propose_error(r, rc, &eb, "batch cancel");
			goto out;
		}
	}
	if ((arr = json_array()) == NULL) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = pre[i] == API_CANCEL_NOTFOUND ? ERR_NOTFOUND :
		    api_workload_read(r, ids[i], &wl);
		if (rc != 0)
			result = "not_found";
		else if (pre[i] == API_CANCEL_CONFLICT)
			result = "conflict";
		else if (wl.status == WL_CANCELLED)
			result = "cancelled";
		else if (wl.cancel_requested && !wl_status_is_terminal(wl.status))
			result = "cancel_requested";
		else
			result = "conflict";	/* finished meanwhile, or refused */
		o = json_pack("{s:s,s:s,s:o}", "id", ids[i], "result", result, "status",
		    rc == 0 ? json_string(wl_status_name(wl.status)) : json_null());
		workload_fini(&wl);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
	}
	api_reply_json(r, 200, json_pack("{s:O}", "results", arr));
out:
	json_decref(arr);
	free(pre);
	free(send);
	free(ids);
	free(reason);
	free(body);
}

/* ---- list ---- */

void
api_workloads_list(struct api_req *r)
{
	struct json_list_query	 q;
	struct fsm_list_filter	 flt;
	struct workload		*out = NULL;
	struct errbuf		 eb;
	json_t			*details = NULL, *arr = NULL, *body;
	char			 next[FSM_CURSOR_LEN];
	size_t			 n = 0, i;
	int			 rc;

	_Static_assert(JSON_CURSOR_MAX <= FSM_CURSOR_LEN, "cursor sizes");
	errbuf_clear(&eb);
	if ((rc = json_list_query_parse(r->ri->query_string, &q, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "bad query: %s", eb.msg);
		return;
	}
	memset(&flt, 0, sizeof flt);
	flt.has_status = q.has_status;
	flt.status = q.status;
	flt.type = q.type[0] != '\0' ? q.type : NULL;
	flt.cursor = q.cursor[0] != '\0' ? q.cursor : NULL;
	flt.customer_id = r->who.role == KEY_ROLE_ADMIN ? NULL : r->who.customer_id;
	flt.limit = q.limit;
	next[0] = '\0';
	rc = fsm_workload_list(coord_fsm(r->api->coord), &flt, &out, &n, next);
	if (rc == ERR_INVAL) {
		api_reply_error(r, ERR_INVAL, api_detail("cursor", "malformed cursor"),
		    "bad query: malformed cursor");
		return;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot list workloads");
		return;
	}
	body = json_object();
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, api_workload_json(r, &out[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		workload_fini(&out[i]);
	}
	free(out);
	if (body != NULL && (arr == NULL || json_object_set_new(body, "workloads", arr) != 0 ||
	    json_object_set_new(body, "next_cursor",
	    next[0] != '\0' ? json_string(next) : json_null()) != 0)) {
		json_decref(body);
		body = NULL;
	} else if (body == NULL)
		json_decref(arr);
	api_reply_json(r, 200, body);
}
