/*
 * Commands as they travel through the Raft log.  A command is one msgpack
 * map: "t" (the type number), "now" (the proposer's clock), optional "actor"
 * and "rid" (audit), then only the fields its type uses.  Decoding is the
 * FSM's only defence against a corrupt or hostile log entry, so it checks
 * every type, enum and id length, caps the size of every array, and never
 * leaves a half-built command behind: on error the command is finalised.
 */
#include "src/cmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"
#include "src/err.h"


static const char *const cmd_type_names[CMD__END] = {
	[CMD_SUBMIT] = "submit",
	[CMD_ASSIGN] = "assign",
	[CMD_START] = "start",
	[CMD_PROGRESS] = "progress",
	[CMD_CHECKPOINT] = "checkpoint",
	[CMD_COMPLETE] = "complete",
	[CMD_CANCEL] = "cancel",
	[CMD_WORKER_REGISTER] = "worker_register",
	[CMD_WORKER_HEARTBEAT_BATCH] = "worker_heartbeat_batch",
	[CMD_WORKER_DEAD] = "worker_dead",
	[CMD_KEY_CREATE] = "key_create",
	[CMD_SECRET_SET] = "secret_set",
	[CMD_CUSTOMER_CREATE] = "customer_create",
	[CMD_CUSTOMER_UPDATE] = "customer_update",
	[CMD_KEY_REVOKE] = "key_revoke",
	[CMD_PAUSE] = "pause",
	[CMD_RESUME] = "resume",
	[CMD_CANCEL_BATCH] = "cancel_batch",
	[CMD_WORKER_DRAIN] = "worker_drain",
	[CMD_PREEMPT] = "preempt",
	[CMD_REPORT_BATCH] = "report_batch",
	[CMD_NODE_SET] = "node_set",
	[CMD_NODE_REMOVE] = "node_remove",
};

/* Every bit CMD_CUSTOMER_UPDATE knows. */
#define CMD_UPDATE_KNOWN	(CMD_UPDATE_TIER | CMD_UPDATE_MAX_QUEUE_DEPTH | \
	CMD_UPDATE_MAX_CONCURRENT | CMD_UPDATE_RATE_LIMIT | CMD_UPDATE_NAME)

const char *
cmd_type_name(enum cmd_type t)
{
	if ((unsigned)t >= CMD__END || cmd_type_names[t] == NULL)
		return "unknown";
	return cmd_type_names[t];
}

void
cmd_fini(struct cmd *c)
{
	size_t	 i;

	free(c->actor);
	free(c->request_id);
	for (i = 0; i < c->n_workloads; i++)
		workload_fini(&c->workloads[i]);
	free(c->workloads);
	for (i = 0; i < c->n_placements; i++)
		free(c->placements[i].worker_id);
	free(c->placements);
	free(c->worker_id);
	free(c->message);
	free(c->data);
	free(c->result_json);
	free(c->error);
	worker_rec_fini(&c->worker);
	free(c->running);
	for (i = 0; i < c->n_heartbeats; i++)
		free(c->heartbeats[i].worker_id);
	free(c->heartbeats);
	api_key_fini(&c->key);
	free(c->secret_name);
	free(c->idempotency_key);
	customer_fini(&c->customer);
	free(c->ids);
	for (i = 0; i < c->n_reports; i++) {
		free(c->reports[i].message);
		free(c->reports[i].result_json);
		free(c->reports[i].error);
	}
	free(c->reports);
	node_rec_fini(&c->node);
	memset(c, 0, sizeof *c);
}

/* ---- encoding ---- */

static bool
cmd_report_kind_ok(enum cmd_type t)
{
	return t == CMD_START || t == CMD_PROGRESS || t == CMD_COMPLETE;
}

static bool
cmd_hash_is_zero(const uint8_t h[32])
{
	size_t	 i;

	for (i = 0; i < 32; i++)
		if (h[i] != 0)
			return false;
	return true;
}

/* SUBMIT's optional fields are written only when set, so a submission
 * without them costs nothing in the log. */
static uint32_t
cmd_submit_nfields(const struct cmd *c)
{
	return 1 + (c->idempotency_key != NULL) +
	    !cmd_hash_is_zero(c->body_hash) + (c->queue_limit != 0) +
	    (c->global_limit != 0);
}

/* CUSTOMER_UPDATE writes the id, the mask and only the masked fields. */
static uint32_t
cmd_update_nfields(const struct cmd *c)
{
	uint32_t	 m = c->update_mask;

	return 2 + !!(m & CMD_UPDATE_TIER) + !!(m & CMD_UPDATE_MAX_QUEUE_DEPTH) +
	    !!(m & CMD_UPDATE_MAX_CONCURRENT) + !!(m & CMD_UPDATE_RATE_LIMIT) +
	    !!(m & CMD_UPDATE_NAME);
}

/* Number of type-specific fields written after t/now/actor/rid. */
static uint32_t
cmd_encode_nfields(const struct cmd *c)
{
	switch (c->type) {
	case CMD_SUBMIT:
		return cmd_submit_nfields(c);
	case CMD_CUSTOMER_UPDATE:
		return cmd_update_nfields(c);
	case CMD_KEY_REVOKE:
		return 1 + (c->key.customer_id != NULL);
	case CMD_ASSIGN:
	case CMD_WORKER_HEARTBEAT_BATCH:
	case CMD_KEY_CREATE:
	case CMD_PAUSE:
	case CMD_RESUME:
	case CMD_NODE_SET:
	case CMD_NODE_REMOVE:
		return 1;
	case CMD_CANCEL:
	case CMD_WORKER_REGISTER:
	case CMD_WORKER_DEAD:
	case CMD_WORKER_DRAIN:
	case CMD_SECRET_SET:
	case CMD_CUSTOMER_CREATE:
	case CMD_CANCEL_BATCH:
	case CMD_REPORT_BATCH:
		return 2;
	case CMD_START:
		return 3;
	case CMD_PREEMPT:
		return 4;
	case CMD_PROGRESS:
		return 5;
	case CMD_CHECKPOINT:
		return 11;
	case CMD_COMPLETE:
		return 6;
	default:
		return 0;
	}
}

static void
cmd_put_attempt_ref(struct wire_writer *w, const struct cmd *c)
{
	wire_put_str(w, "wl");
	wire_put_str(w, c->workload_id);
	wire_put_str(w, "att");
	wire_put_uint(w, c->attempt);
	wire_put_str(w, "wk");
	wire_put_str(w, c->worker_id);
}

static void
cmd_encode_submit(struct wire_writer *w, const struct cmd *c)
{
	size_t	 i;

	wire_put_str(w, "wls");
	wire_put_array(w, (uint32_t)c->n_workloads);
	for (i = 0; i < c->n_workloads; i++)
		model_workload_encode(w, &c->workloads[i]);
	if (c->idempotency_key != NULL) {
		wire_put_str(w, "idk");
		wire_put_str(w, c->idempotency_key);
	}
	if (!cmd_hash_is_zero(c->body_hash)) {
		wire_put_str(w, "bh");
		wire_put_bin(w, c->body_hash, sizeof c->body_hash);
	}
	if (c->queue_limit != 0) {
		wire_put_str(w, "ql");
		wire_put_uint(w, c->queue_limit);
	}
	if (c->global_limit != 0) {
		wire_put_str(w, "gl");
		wire_put_uint(w, c->global_limit);
	}
}

static void
cmd_encode_update(struct wire_writer *w, const struct cmd *c)
{
	uint32_t	 m = c->update_mask;

	wire_put_str(w, "cid");
	wire_put_str(w, c->customer.id);
	wire_put_str(w, "mask");
	wire_put_uint(w, m);
	if (m & CMD_UPDATE_TIER) {
		wire_put_str(w, "tier");
		wire_put_uint(w, (uint64_t)c->customer.tier);
	}
	if (m & CMD_UPDATE_MAX_QUEUE_DEPTH) {
		wire_put_str(w, "mqd");
		wire_put_uint(w, c->customer.max_queue_depth);
	}
	if (m & CMD_UPDATE_MAX_CONCURRENT) {
		wire_put_str(w, "mc");
		wire_put_uint(w, c->customer.max_concurrent);
	}
	if (m & CMD_UPDATE_RATE_LIMIT) {
		wire_put_str(w, "rps");
		wire_put_uint(w, c->customer.rate_limit_rps);
	}
	if (m & CMD_UPDATE_NAME) {
		wire_put_str(w, "name");
		wire_put_str(w, c->customer.name);
	}
}

/* One report: its kind and attempt, then only the fields of that kind. */
static void
cmd_encode_report(struct wire_writer *w, const struct cmd_report *r)
{
	wire_put_map(w, r->type == CMD_PROGRESS ? 5 : r->type == CMD_COMPLETE ?
	    6 : 3);
	wire_put_str(w, "k");
	wire_put_uint(w, (uint64_t)r->type);
	wire_put_str(w, "wl");
	wire_put_str(w, r->workload_id);
	wire_put_str(w, "att");
	wire_put_uint(w, r->attempt);
	if (r->type == CMD_PROGRESS) {
		wire_put_str(w, "prog");
		wire_put_double(w, r->progress);
		wire_put_str(w, "msg");
		wire_put_str(w, r->message);
	} else if (r->type == CMD_COMPLETE) {
		wire_put_str(w, "out");
		wire_put_uint(w, (uint64_t)r->outcome);
		wire_put_str(w, "res");
		wire_put_str(w, r->result_json);
		wire_put_str(w, "err");
		wire_put_str(w, r->error);
	}
}

static void
cmd_encode_body(struct wire_writer *w, const struct cmd *c)
{
	size_t	 i;

	switch (c->type) {
	case CMD_SUBMIT:
		cmd_encode_submit(w, c);
		break;
	case CMD_ASSIGN:
		wire_put_str(w, "pl");
		wire_put_array(w, (uint32_t)c->n_placements);
		for (i = 0; i < c->n_placements; i++) {
			wire_put_map(w, 3);
			wire_put_str(w, "wl");
			wire_put_str(w, c->placements[i].workload_id);
			wire_put_str(w, "wk");
			wire_put_str(w, c->placements[i].worker_id);
			wire_put_str(w, "att");
			wire_put_uint(w, c->placements[i].attempt);
		}
		break;
	case CMD_START:
		cmd_put_attempt_ref(w, c);
		break;
	case CMD_PROGRESS:
		cmd_put_attempt_ref(w, c);
		wire_put_str(w, "prog");
		wire_put_double(w, c->progress);
		wire_put_str(w, "msg");
		wire_put_str(w, c->message);
		break;
	case CMD_CHECKPOINT:
		cmd_put_attempt_ref(w, c);
		wire_put_str(w, "cps");
		wire_put_uint(w, c->checkpoint_seq);
		wire_put_str(w, "data");
		/* Never hand msgpack a NULL source, even for zero bytes. */
		wire_put_bin(w, c->data_len != 0 ? c->data : "", c->data_len);
		wire_put_str(w, "raw");
		wire_put_uint(w, c->raw_len);
		wire_put_str(w, "ci");
		wire_put_uint(w, c->chunk_index);
		wire_put_str(w, "cn");
		wire_put_uint(w, c->chunk_count);
		wire_put_str(w, "tl");
		wire_put_uint(w, c->total_len);
		wire_put_str(w, "bh");
		wire_put_bin(w, c->blob_hash, sizeof c->blob_hash);
		wire_put_str(w, "keep");
		wire_put_uint(w, c->checkpoint_keep);
		break;
	case CMD_COMPLETE:
		cmd_put_attempt_ref(w, c);
		wire_put_str(w, "out");
		wire_put_uint(w, (uint64_t)c->outcome);
		wire_put_str(w, "res");
		wire_put_str(w, c->result_json);
		wire_put_str(w, "err");
		wire_put_str(w, c->error);
		break;
	case CMD_CANCEL:
		wire_put_str(w, "wl");
		wire_put_str(w, c->workload_id);
		wire_put_str(w, "msg");
		wire_put_str(w, c->message);
		break;
	case CMD_WORKER_REGISTER:
		wire_put_str(w, "wkr");
		model_worker_encode(w, &c->worker);
		wire_put_str(w, "run");
		wire_put_array(w, (uint32_t)c->n_running);
		for (i = 0; i < c->n_running; i++) {
			wire_put_map(w, 2);
			wire_put_str(w, "wl");
			wire_put_str(w, c->running[i].workload_id);
			wire_put_str(w, "att");
			wire_put_uint(w, c->running[i].attempt);
		}
		break;
	case CMD_WORKER_HEARTBEAT_BATCH:
		wire_put_str(w, "hb");
		wire_put_array(w, (uint32_t)c->n_heartbeats);
		for (i = 0; i < c->n_heartbeats; i++) {
			wire_put_map(w, 2);
			wire_put_str(w, "wk");
			wire_put_str(w, c->heartbeats[i].worker_id);
			wire_put_str(w, "at");
			wire_put_uint(w, c->heartbeats[i].at_ms);
		}
		break;
	case CMD_WORKER_DEAD:
	case CMD_WORKER_DRAIN:
		wire_put_str(w, "wk");
		wire_put_str(w, c->worker_id);
		wire_put_str(w, "gen");
		wire_put_uint(w, c->generation);
		break;
	case CMD_KEY_CREATE:
		wire_put_str(w, "key");
		model_api_key_encode(w, &c->key);
		break;
	case CMD_SECRET_SET:
		wire_put_str(w, "name");
		wire_put_str(w, c->secret_name);
		wire_put_str(w, "hash");
		wire_put_bin(w, c->secret_hash, sizeof c->secret_hash);
		break;
	case CMD_CUSTOMER_CREATE:
		wire_put_str(w, "cus");
		model_customer_encode(w, &c->customer);
		wire_put_str(w, "key");
		model_api_key_encode(w, &c->key);
		break;
	case CMD_CUSTOMER_UPDATE:
		cmd_encode_update(w, c);
		break;
	case CMD_KEY_REVOKE:
		wire_put_str(w, "kid");
		wire_put_str(w, c->key.id);
		if (c->key.customer_id != NULL) {
			wire_put_str(w, "cust");
			wire_put_str(w, c->key.customer_id);
		}
		break;
	case CMD_PAUSE:
	case CMD_RESUME:
		wire_put_str(w, "wl");
		wire_put_str(w, c->workload_id);
		break;
	case CMD_PREEMPT:
		cmd_put_attempt_ref(w, c);
		wire_put_str(w, "lim");
		wire_put_uint(w, c->preempt_limit);
		break;
	case CMD_CANCEL_BATCH:
		wire_put_str(w, "ids");
		wire_put_array(w, (uint32_t)c->n_ids);
		for (i = 0; i < c->n_ids; i++)
			wire_put_strn(w, c->ids[i], strnlen(c->ids[i],
			    MODEL_ID_LEN));
		wire_put_str(w, "msg");
		wire_put_str(w, c->message);
		break;
	case CMD_REPORT_BATCH:
		wire_put_str(w, "wk");
		wire_put_str(w, c->worker_id);
		wire_put_str(w, "rep");
		wire_put_array(w, (uint32_t)c->n_reports);
		for (i = 0; i < c->n_reports; i++)
			cmd_encode_report(w, &c->reports[i]);
		break;
	case CMD_NODE_SET:
		wire_put_str(w, "node");
		model_node_encode(w, &c->node);
		break;
	case CMD_NODE_REMOVE:
		wire_put_str(w, "id");
		wire_put_uint(w, c->node.id);
		break;
	default:
		break;
	}
}

/* REPORT_BATCH: a worker, 1.. reports, each of a reportable kind. */
static bool
cmd_reports_valid(const struct cmd *c)
{
	size_t	 i;

	if (c->worker_id == NULL || c->n_reports == 0 || c->reports == NULL)
		return false;
	for (i = 0; i < c->n_reports; i++)
		if (!cmd_report_kind_ok(c->reports[i].type) ||
		    (unsigned)c->reports[i].outcome >= OUTCOME__COUNT)
			return false;
	return true;
}

int
cmd_encode(const struct cmd *c, void **buf, size_t *len)
{
	struct wire_writer	*w;
	uint32_t		 n;
	int			 rc;

	/* Refuse what cmd_decode would refuse, so a bad command fails at the
	 * proposer instead of being committed and then skipped by every FSM. */
	if (c->type < CMD_SUBMIT || c->type >= CMD__END)
		return ERR_INVAL;
	if (c->n_workloads > CMD_MAX_ITEMS || c->n_placements > CMD_MAX_ITEMS ||
	    c->n_running > CMD_MAX_ITEMS || c->n_heartbeats > CMD_MAX_ITEMS ||
	    c->n_ids > CMD_MAX_ITEMS || c->n_reports > CMD_MAX_ITEMS ||
	    c->data_len > UINT32_MAX)
		return ERR_TOOBIG;
	if (c->type == CMD_CANCEL_BATCH && (c->n_ids == 0 || c->ids == NULL))
		return ERR_INVAL;
	if (c->type == CMD_REPORT_BATCH && !cmd_reports_valid(c))
		return ERR_INVAL;
	if ((c->type == CMD_NODE_SET && !node_rec_valid(&c->node)) ||
	    (c->type == CMD_NODE_REMOVE && c->node.id == 0))
		return ERR_INVAL;
	if (c->type == CMD_CUSTOMER_UPDATE && (c->update_mask == 0 ||
	    (c->update_mask & ~(uint32_t)CMD_UPDATE_KNOWN) != 0))
		return ERR_INVAL;

	if ((w = wire_writer_new()) == NULL)
		return ERR_NOMEM;
	n = 2 + (c->actor != NULL) + (c->request_id != NULL) +
	    cmd_encode_nfields(c);
	wire_put_map(w, n);
	wire_put_str(w, "t");
	wire_put_uint(w, (uint64_t)c->type);
	wire_put_str(w, "now");
	wire_put_uint(w, c->now_ms);
	if (c->actor != NULL) {
		wire_put_str(w, "actor");
		wire_put_str(w, c->actor);
	}
	if (c->request_id != NULL) {
		wire_put_str(w, "rid");
		wire_put_str(w, c->request_id);
	}
	cmd_encode_body(w, c);
	rc = wire_writer_take(w, buf, len);
	wire_writer_free(w);
	return rc;
}

/* ---- decoding ---- */

/* A fixed-size id: exactly MODEL_ID_LEN bytes, no NUL. */
static int
cmd_get_id(const struct wire_val *v, char out[MODEL_ID_LEN + 1])
{
	return wire_get_fixed_str(v, out, MODEL_ID_LEN);
}

static int
cmd_field_id(const struct wire_val *map, const char *key,
    char out[MODEL_ID_LEN + 1])
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? ERR_PROTO : cmd_get_id(v, out);
}

/* The array under key: absent means empty; more than CMD_MAX_ITEMS entries
 * or a non-array is ERR_PROTO.  Sets *arr (NULL when empty) and *n. */
static int
cmd_field_array(const struct wire_val *map, const char *key,
    const struct wire_val **arr, uint32_t *n)
{
	const struct wire_val	*v = wire_map_get(map, key);

	*arr = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (wire_val_type(v) != WIRE_ARRAY || wire_len(v) > CMD_MAX_ITEMS)
		return ERR_PROTO;
	*arr = v;
	*n = wire_len(v);
	return 0;
}

static int
cmd_decode_workloads(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = cmd_field_array(root, "wls", &arr, &n)) != 0 || n == 0)
		return rc;
	if ((c->workloads = calloc(n, sizeof *c->workloads)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((rc = model_workload_decode(wire_array_at(arr, i),
		    &c->workloads[i])) != 0)
			return rc;
		c->n_workloads++;
	}
	return 0;
}

static int
cmd_decode_placements(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr, *e;
	struct cmd_placement	*p;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = cmd_field_array(root, "pl", &arr, &n)) != 0 || n == 0)
		return rc;
	if ((c->placements = calloc(n, sizeof *c->placements)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		e = wire_array_at(arr, i);
		/* Count the entry first: cmd_fini frees its worker_id even if
		 * decoding it fails half-way. */
		p = &c->placements[c->n_placements++];
		if (wire_val_type(e) != WIRE_MAP)
			return ERR_PROTO;
		if ((rc = cmd_field_id(e, "wl", p->workload_id)) != 0 ||
		    (rc = wire_field_str_req(e, "wk", &p->worker_id)) != 0 ||
		    (rc = wire_field_u32(e, "att", &p->attempt)) != 0)
			return rc;
	}
	return 0;
}

static int
cmd_decode_running(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr, *e;
	struct cmd_attempt	*a;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = cmd_field_array(root, "run", &arr, &n)) != 0 || n == 0)
		return rc;
	if ((c->running = calloc(n, sizeof *c->running)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		e = wire_array_at(arr, i);
		a = &c->running[c->n_running++];
		if (wire_val_type(e) != WIRE_MAP)
			return ERR_PROTO;
		if ((rc = cmd_field_id(e, "wl", a->workload_id)) != 0 ||
		    (rc = wire_field_u32(e, "att", &a->attempt)) != 0)
			return rc;
	}
	return 0;
}

static int
cmd_decode_heartbeats(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr, *e;
	struct cmd_heartbeat	*h;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = cmd_field_array(root, "hb", &arr, &n)) != 0 || n == 0)
		return rc;
	if ((c->heartbeats = calloc(n, sizeof *c->heartbeats)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		e = wire_array_at(arr, i);
		h = &c->heartbeats[c->n_heartbeats++];
		if (wire_val_type(e) != WIRE_MAP)
			return ERR_PROTO;
		if ((rc = wire_field_str_req(e, "wk", &h->worker_id)) != 0 ||
		    (rc = wire_field_uint(e, "at", &h->at_ms)) != 0)
			return rc;
	}
	return 0;
}

/* workload_id (required), attempt and worker_id (optional). */
static int
cmd_decode_attempt_ref(const struct wire_val *root, struct cmd *c)
{
	int	 rc;

	if ((rc = cmd_field_id(root, "wl", c->workload_id)) != 0 ||
	    (rc = wire_field_u32(root, "att", &c->attempt)) != 0 ||
	    (rc = wire_field_strdup(root, "wk", &c->worker_id)) != 0)
		return rc;
	return 0;
}

static int
cmd_decode_checkpoint(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*v;
	const void		*p;
	size_t			 len;
	int			 rc;

	if ((rc = cmd_decode_attempt_ref(root, c)) != 0 ||
	    (rc = wire_field_uint(root, "cps", &c->checkpoint_seq)) != 0 ||
	    (rc = wire_field_uint(root, "raw", &c->raw_len)) != 0 ||
	    (rc = wire_field_u32(root, "ci", &c->chunk_index)) != 0 ||
	    (rc = wire_field_u32(root, "cn", &c->chunk_count)) != 0 ||
	    (rc = wire_field_uint(root, "tl", &c->total_len)) != 0 ||
	    (rc = wire_field_u32(root, "keep", &c->checkpoint_keep)) != 0)
		return rc;
	if ((v = wire_map_get(root, "bh")) != NULL) {
		if (wire_get_bin(v, &p, &len) != 0 || len != sizeof c->blob_hash)
			return ERR_PROTO;
		memcpy(c->blob_hash, p, len);
	}
	if ((v = wire_map_get(root, "data")) == NULL)
		return 0;
	if (wire_get_bin(v, &p, &len) != 0)
		return ERR_PROTO;
	if (len == 0)
		return 0;
	if ((c->data = malloc(len)) == NULL)
		return ERR_NOMEM;
	memcpy(c->data, p, len);
	c->data_len = len;
	return 0;
}

static int
cmd_decode_complete(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*v;
	uint64_t		 u;
	int			 rc;

	if ((rc = cmd_decode_attempt_ref(root, c)) != 0 ||
	    (rc = wire_field_strdup(root, "res", &c->result_json)) != 0 ||
	    (rc = wire_field_strdup(root, "err", &c->error)) != 0)
		return rc;
	if ((v = wire_map_get(root, "out")) == NULL)
		return ERR_PROTO;
	if (wire_get_uint(v, &u) != 0 || u >= OUTCOME__COUNT)
		return ERR_PROTO;
	c->outcome = (enum outcome)u;
	return 0;
}

static int
cmd_decode_secret(const struct wire_val *root, struct cmd *c)
{
	const void	*p;
	size_t		 len;
	int		 rc;

	if ((rc = wire_field_str_req(root, "name", &c->secret_name)) != 0)
		return rc;
	if (wire_get_bin(wire_map_get(root, "hash"), &p, &len) != 0 ||
	    len != sizeof c->secret_hash)
		return ERR_PROTO;
	memcpy(c->secret_hash, p, len);
	return 0;
}

/* SUBMIT: the workloads, then the optional idempotency and limit fields. */
static int
cmd_decode_submit(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*v;
	const void		*p;
	size_t			 len;
	int			 rc;

	if ((rc = cmd_decode_workloads(root, c)) != 0 ||
	    (rc = wire_field_strdup(root, "idk", &c->idempotency_key)) != 0 ||
	    (rc = wire_field_u32(root, "ql", &c->queue_limit)) != 0 ||
	    (rc = wire_field_u32(root, "gl", &c->global_limit)) != 0)
		return rc;
	if ((v = wire_map_get(root, "bh")) == NULL)
		return 0;
	if (wire_get_bin(v, &p, &len) != 0 || len != sizeof c->body_hash)
		return ERR_PROTO;
	memcpy(c->body_hash, p, len);
	return 0;
}

static int
cmd_decode_customer_create(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*v;
	int			 rc;

	if ((v = wire_map_get(root, "cus")) == NULL)
		return ERR_PROTO;
	if ((rc = model_customer_decode(v, &c->customer)) != 0)
		return rc;
	if ((v = wire_map_get(root, "key")) == NULL)
		return ERR_PROTO;
	return model_api_key_decode(v, &c->key);
}

/* Reads an enum stored as an unsigned integer below count; required. */
static int
cmd_field_enum(const struct wire_val *map, const char *key, unsigned count,
    unsigned *out)
{
	const struct wire_val	*v = wire_map_get(map, key);
	uint64_t		 u;

	if (v == NULL || wire_get_uint(v, &u) != 0 || u >= count)
		return ERR_PROTO;
	*out = (unsigned)u;
	return 0;
}

/* A required unsigned 32-bit field. */
static int
cmd_field_u32_req(const struct wire_val *map, const char *key, uint32_t *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? ERR_PROTO : wire_get_u32(v, out);
}

/* CUSTOMER_UPDATE: every field the mask names must be present. */
static int
cmd_decode_customer_update(const struct wire_val *root, struct cmd *c)
{
	struct customer	*cu = &c->customer;
	unsigned	 tier;
	uint32_t	 m;
	int		 rc;

	if ((rc = cmd_field_id(root, "cid", cu->id)) != 0 ||
	    (rc = cmd_field_u32_req(root, "mask", &c->update_mask)) != 0)
		return rc;
	m = c->update_mask;
	if (m == 0 || (m & ~(uint32_t)CMD_UPDATE_KNOWN) != 0)
		return ERR_PROTO;
	if (m & CMD_UPDATE_TIER) {
		if ((rc = cmd_field_enum(root, "tier", TIER__COUNT, &tier)) != 0)
			return rc;
		cu->tier = (enum tier)tier;
	}
	if (((m & CMD_UPDATE_MAX_QUEUE_DEPTH) &&
	    (rc = cmd_field_u32_req(root, "mqd", &cu->max_queue_depth)) != 0) ||
	    ((m & CMD_UPDATE_MAX_CONCURRENT) &&
	    (rc = cmd_field_u32_req(root, "mc", &cu->max_concurrent)) != 0) ||
	    ((m & CMD_UPDATE_RATE_LIMIT) &&
	    (rc = cmd_field_u32_req(root, "rps", &cu->rate_limit_rps)) != 0) ||
	    ((m & CMD_UPDATE_NAME) &&
	    (rc = wire_field_str_req(root, "name", &cu->name)) != 0))
		return rc;
	return 0;
}

static int
cmd_decode_key_revoke(const struct wire_val *root, struct cmd *c)
{
	int	 rc;

	if ((rc = cmd_field_id(root, "kid", c->key.id)) != 0)
		return rc;
	/* The revoking customer, if the request came from one: optional, but
	 * never empty (that would read as "any customer"). */
	if (wire_map_get(root, "cust") == NULL)
		return 0;
	return wire_field_str_req(root, "cust", &c->key.customer_id);
}

/* CANCEL_BATCH: 1..CMD_MAX_ITEMS ids, each exactly MODEL_ID_LEN bytes. */
static int
cmd_decode_ids(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = cmd_field_array(root, "ids", &arr, &n)) != 0)
		return rc;
	if (n == 0)
		return ERR_PROTO;
	if ((c->ids = calloc(n, sizeof *c->ids)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++)
		if ((rc = cmd_get_id(wire_array_at(arr, i), c->ids[i])) != 0)
			return rc;
	c->n_ids = n;
	return wire_field_strdup(root, "msg", &c->message);
}

/* REPORT_BATCH: the worker and 1..CMD_MAX_ITEMS reports. */
static int
cmd_decode_reports(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*arr, *e;
	struct cmd_report	*r;
	unsigned		 kind, out;
	uint32_t		 n, i;
	int			 rc;

	if ((rc = wire_field_str_req(root, "wk", &c->worker_id)) != 0 ||
	    (rc = cmd_field_array(root, "rep", &arr, &n)) != 0)
		return rc;
	if (n == 0)
		return ERR_PROTO;
	if ((c->reports = calloc(n, sizeof *c->reports)) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		e = wire_array_at(arr, i);
		/* Counted first: cmd_fini frees what a half-decoded one holds. */
		r = &c->reports[c->n_reports++];
		if (wire_val_type(e) != WIRE_MAP)
			return ERR_PROTO;
		if ((rc = cmd_field_enum(e, "k", CMD__END, &kind)) != 0 ||
		    (rc = cmd_field_id(e, "wl", r->workload_id)) != 0 ||
		    (rc = wire_field_u32(e, "att", &r->attempt)) != 0)
			return rc;
		r->type = (enum cmd_type)kind;
		if (!cmd_report_kind_ok(r->type))
			return ERR_PROTO;
		if (r->type == CMD_PROGRESS) {
			if ((rc = wire_field_double(e, "prog", &r->progress)) != 0 ||
			    (rc = wire_field_strdup(e, "msg", &r->message)) != 0)
				return rc;
			if (!isfinite(r->progress))
				return ERR_PROTO;
		} else if (r->type == CMD_COMPLETE) {
			if ((rc = cmd_field_enum(e, "out", OUTCOME__COUNT, &out)) != 0 ||
			    (rc = wire_field_strdup(e, "res", &r->result_json)) != 0 ||
			    (rc = wire_field_strdup(e, "err", &r->error)) != 0)
				return rc;
			r->outcome = (enum outcome)out;
		}
	}
	return 0;
}

static int
cmd_decode_body(const struct wire_val *root, struct cmd *c)
{
	const struct wire_val	*v;
	int			 rc;

	switch (c->type) {
	case CMD_SUBMIT:
		return cmd_decode_submit(root, c);
	case CMD_ASSIGN:
		return cmd_decode_placements(root, c);
	case CMD_START:
		return cmd_decode_attempt_ref(root, c);
	case CMD_PROGRESS:
		if ((rc = cmd_decode_attempt_ref(root, c)) != 0 ||
		    (rc = wire_field_double(root, "prog", &c->progress)) != 0 ||
		    (rc = wire_field_strdup(root, "msg", &c->message)) != 0)
			return rc;
		return isfinite(c->progress) ? 0 : ERR_PROTO;
	case CMD_CHECKPOINT:
		return cmd_decode_checkpoint(root, c);
	case CMD_COMPLETE:
		return cmd_decode_complete(root, c);
	case CMD_CANCEL:
		if ((rc = cmd_field_id(root, "wl", c->workload_id)) != 0)
			return rc;
		return wire_field_strdup(root, "msg", &c->message);
	case CMD_WORKER_REGISTER:
		if ((v = wire_map_get(root, "wkr")) == NULL)
			return ERR_PROTO;
		if ((rc = model_worker_decode(v, &c->worker)) != 0)
			return rc;
		return cmd_decode_running(root, c);
	case CMD_WORKER_HEARTBEAT_BATCH:
		return cmd_decode_heartbeats(root, c);
	case CMD_WORKER_DEAD:
	case CMD_WORKER_DRAIN:
		if ((rc = wire_field_str_req(root, "wk", &c->worker_id)) != 0)
			return rc;
		return wire_field_uint(root, "gen", &c->generation);
	case CMD_KEY_CREATE:
		if ((v = wire_map_get(root, "key")) == NULL)
			return ERR_PROTO;
		return model_api_key_decode(v, &c->key);
	case CMD_SECRET_SET:
		return cmd_decode_secret(root, c);
	case CMD_CUSTOMER_CREATE:
		return cmd_decode_customer_create(root, c);
	case CMD_CUSTOMER_UPDATE:
		return cmd_decode_customer_update(root, c);
	case CMD_KEY_REVOKE:
		return cmd_decode_key_revoke(root, c);
	case CMD_PAUSE:
	case CMD_RESUME:
		return cmd_field_id(root, "wl", c->workload_id);
	case CMD_PREEMPT:
		if ((rc = cmd_decode_attempt_ref(root, c)) != 0)
			return rc;
		return wire_field_u32(root, "lim", &c->preempt_limit);
	case CMD_CANCEL_BATCH:
		return cmd_decode_ids(root, c);
	case CMD_REPORT_BATCH:
		return cmd_decode_reports(root, c);
	case CMD_NODE_SET:
		if ((v = wire_map_get(root, "node")) == NULL)
			return ERR_PROTO;
		return model_node_decode(v, &c->node);
	case CMD_NODE_REMOVE:
		if ((rc = wire_field_uint(root, "id", &c->node.id)) != 0)
			return rc;
		return c->node.id >= 1 ? 0 : ERR_PROTO;
	default:
		return ERR_PROTO;
	}
}

int
cmd_decode(const void *buf, size_t len, struct cmd *out)
{
	struct wire_doc		*doc;
	const struct wire_val	*root, *t;
	uint64_t		 type;
	int			 rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_doc_decode(&doc, buf, len)) != 0)
		return rc;
	root = wire_doc_root(doc);
	if (wire_val_type(root) != WIRE_MAP ||
	    (t = wire_map_get(root, "t")) == NULL ||
	    wire_get_uint(t, &type) != 0 ||
	    type < CMD_SUBMIT || type >= CMD__END) {
		rc = ERR_PROTO;
		goto fail;
	}
	out->type = (enum cmd_type)type;
	/* The time is part of the command: the FSM never reads its own clock. */
	if (wire_map_get(root, "now") == NULL) {
		rc = ERR_PROTO;
		goto fail;
	}
	if ((rc = wire_field_uint(root, "now", &out->now_ms)) != 0 ||
	    (rc = wire_field_strdup(root, "actor", &out->actor)) != 0 ||
	    (rc = wire_field_strdup(root, "rid", &out->request_id)) != 0 ||
	    (rc = cmd_decode_body(root, out)) != 0)
		goto fail;
	wire_doc_free(doc);
	return 0;
fail:
	wire_doc_free(doc);
	cmd_fini(out);
	return rc;
}
